namespace DarkFactory.Bench;

/// <summary>One supervised program, as every supervisor can express it.</summary>
/// <param name="Name">Lower-case, [a-z0-9-]: valid for every supervisor.</param>
/// <param name="Argv">argv[0] is the executable (looked up in PATH).</param>
/// <param name="Autostart">Started with the supervisor; false: started on request (<see cref="IRunningTarget.StartProgramAsync"/>).</param>
/// <param name="Restart">Restarted whenever it ends (true), or run once (false).</param>
internal sealed record ProgramSpec(string Name, IReadOnlyList<string> Argv, bool Autostart = true, bool Restart = true);

/// <summary>What a scenario asks of a supervisor: the programs, always restarted, with no backoff.</summary>
/// <param name="Programs">The programs to supervise.</param>
/// <param name="WorkDirectory">A fresh directory the target may use (data dir, config, logs).</param>
/// <param name="Environment">Extra variables every supervised program gets (the run marker).</param>
/// <param name="Grace">How long a program may take to stop after SIGTERM.</param>
/// <param name="Fastest">
/// True: the supervisor's fastest documented restart settings (no backoff, no start grace period) and its
/// give-up limits out of reach. False: its defaults, with only the give-up limits raised (a tool that
/// stops restarting after N crashes could not be measured at all).
/// </param>
internal sealed record TargetFleet(IReadOnlyList<ProgramSpec> Programs, string WorkDirectory, IReadOnlyDictionary<string, string> Environment, TimeSpan Grace, bool Fastest = true);

/// <summary>
/// A process supervisor under test (Dark Factory, supervisord, pm2, runit, s6): started as a real OS
/// process from a config the target writes, observed only from outside (files, API, /proc).
/// </summary>
internal interface ITarget
{
    string Name { get; }

    /// <summary>Null when the supervisor can run here; otherwise why not (e.g. "not installed").</summary>
    string? Unavailable { get; }

    /// <summary>Launches the supervisor; returns as soon as its process exists (not when it is ready).</summary>
    Task<IRunningTarget> LaunchAsync(TargetFleet fleet, CancellationToken cancel);
}

internal interface IRunningTarget : IAsyncDisposable
{
    /// <summary>Stopwatch timestamp taken just before the supervisor process was started.</summary>
    long LaunchedAt { get; }

    /// <summary>Waits until the supervisor says it is up (Dark Factory: daemon.json written); returns that Stopwatch timestamp.</summary>
    Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel);

    /// <summary>The supervisor's own processes (for RSS/PSS/CPU); not the supervised programs.</summary>
    IReadOnlyList<int> SupervisorPids { get; }

    /// <summary>The pid of each program as the supervisor reports it (null: not running).</summary>
    Task<IReadOnlyDictionary<string, int?>> GetProgramPidsAsync(CancellationToken cancel);

    /// <summary>Starts a program declared with Autostart = false.</summary>
    Task StartProgramAsync(string name, CancellationToken cancel);

    /// <summary>Where the supervisor captures a program's output, or null if it does not.</summary>
    string? OutputLogPath(string program);

    /// <summary>Graceful stop of the supervisor itself (SIGTERM); returns at once, the caller times the exit.</summary>
    void SignalStop();

    /// <summary>True once every supervisor process has exited.</summary>
    bool HasExited { get; }

    /// <summary>Kills the supervisor and anything it left (used for cleanup; never part of a measurement).</summary>
    void KillAll();
}
