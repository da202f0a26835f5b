namespace DarkFactory.Actors.Scheduling;

/// <summary>Settings of the <see cref="SchedulerActor"/>; tests inject a virtual clock and their own jitter.</summary>
public sealed record SchedulerSettings
{
    /// <summary>Wall-clock time; must move with the actor system's scheduler (tests advance both together).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public string PersistenceId { get; init; } = "scheduler";

    /// <summary>A snapshot (the last firing of each agent) every this many events; older events are deleted.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>How long a start or restart waits for the fleet's answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A timer longer than this is split: the clock is read again when it ends (wall-clock jumps, suspended hosts).</summary>
    public TimeSpan MaxTimerDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Jitter fraction in [0, 1) per agent (default: stable per agent name).</summary>
    public Func<string, double> JitterFraction { get; init; } = Jitter.StableFraction;
}
