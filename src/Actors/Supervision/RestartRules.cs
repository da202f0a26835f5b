using DarkFactory.Actors.Agents;

namespace DarkFactory.Actors.Supervision;

/// <summary>What the layer does after one of its agents' runs ended.</summary>
public enum RestartAction
{
    /// <summary>Leave it ended (completed, or stopped).</summary>
    None,

    /// <summary>Start it again after <see cref="RestartDecision.Delay"/>.</summary>
    Restart,

    /// <summary>It crash-loops: stop restarting it until an operator releases it.</summary>
    Quarantine,

    /// <summary>The layer's restart intensity is exceeded: give up and escalate to the fleet.</summary>
    Escalate,
}

public sealed record RestartDecision(RestartAction Action, TimeSpan Delay, int ConsecutiveCrashes, string Reason);

/// <summary>
/// The layer's restart rules as a pure function of the run's outcome and the counters: OTP restart
/// types, crash-loop quarantine, intensity, exponential backoff with jitter. A run that was up at least
/// its agent's <see cref="AgentSpec.MinUptime"/> is "settled": a crash of it is restarted at once and
/// counts for none of backoff, quarantine and intensity (pm2's <c>min_uptime</c>, runit's 1 s rule); only
/// quick crash loops climb them.
/// </summary>
public static class RestartRules
{
    /// <param name="abnormal">The run crashed (non-zero exit, signal, limit, failure).</param>
    /// <param name="uptime">How long the run was up.</param>
    /// <param name="minUptime">The agent's <see cref="AgentSpec.MinUptime"/>.</param>
    /// <param name="consecutiveCrashes">Quick crashes in a row before this run ended.</param>
    public static RestartDecision Decide(
        RestartType type,
        bool abnormal,
        TimeSpan uptime,
        TimeSpan minUptime,
        int consecutiveCrashes,
        LayerSpec layer,
        RestartIntensity intensity,
        DateTimeOffset now,
        double random)
    {
        var settled = Settled(uptime, minUptime);
        var crashes = abnormal && !settled ? Backoff.Attempt(layer.Backoff, consecutiveCrashes, uptime) : 0;
        var restart = type switch
        {
            RestartType.Permanent => true,
            RestartType.Transient => abnormal,
            _ => false,
        };
        if (!restart)
        {
            return new RestartDecision(RestartAction.None, TimeSpan.Zero, crashes, abnormal ? $"{type.ToString().ToLowerInvariant()}: not restarted" : "completed");
        }

        if (abnormal && crashes >= layer.QuarantineAfter)
        {
            return new RestartDecision(RestartAction.Quarantine, TimeSpan.Zero, crashes, $"crash loop: {crashes} crashes in a row, each within min_uptime {minUptime.TotalSeconds:0.###} s, none up for {layer.Backoff.ResetAfter}");
        }

        if (!settled && !intensity.TryRecord(now))
        {
            return new RestartDecision(RestartAction.Escalate, TimeSpan.Zero, crashes, $"restart intensity exceeded: more than {layer.MaxRestarts} restarts within {layer.Within}");
        }

        var delay = abnormal && !settled ? Backoff.Delay(layer.Backoff, crashes, random) : TimeSpan.Zero;
        var reason = !abnormal ? "permanent: restarted after a normal exit"
            : settled ? $"crashed after {uptime.TotalSeconds:0.###} s up (min_uptime {minUptime.TotalSeconds:0.###} s): restarted at once"
            : "crashed";
        return new RestartDecision(RestartAction.Restart, delay, crashes, reason);
    }

    /// <summary>
    /// A routed run ended on its provider's rate limit (<see cref="RunEnd.Limited"/>): not a crash, so it climbs none
    /// of backoff, quarantine and intensity, and the crash count stays where it was (a limit proves nothing either
    /// way). A permanent or transient agent is started again at once — its route waits for the router's mark of the
    /// limit (<see cref="RunLimitGuard"/>) and then skips the provider, or polls while every candidate is limited, so
    /// this cannot loop; a temporary one is not.
    /// </summary>
    public static RestartDecision AfterLimit(RestartType type, int consecutiveCrashes) =>
        type is RestartType.Permanent or RestartType.Transient
            ? new RestartDecision(RestartAction.Restart, TimeSpan.Zero, consecutiveCrashes, "rate limited: started again on the next route")
            : new RestartDecision(RestartAction.None, TimeSpan.Zero, consecutiveCrashes, "temporary: not restarted after its provider's rate limit");

    /// <summary>
    /// A run that ended by itself (exit, crash, max runtime, rate limit): what its history records (the lifecycle kind
    /// and detail) and what the layer does next (<see cref="AfterLimit"/> for a limit, else <see cref="Decide"/>).
    /// </summary>
    public static (LifecycleKind Kind, string? Detail, RestartDecision Decision) AfterRun(
        RunConclusion run,
        AgentSpec spec,
        int consecutiveCrashes,
        LayerSpec layer,
        RestartIntensity intensity,
        DateTimeOffset now,
        double random)
    {
        var kind = run.End switch { RunEnd.Crashed => LifecycleKind.Crashed, RunEnd.TimedOut => LifecycleKind.Killed, RunEnd.Limited => LifecycleKind.Limited, _ => LifecycleKind.Exited };
        var detail = run.End == RunEnd.Limited ? $"rate limited ({AgentCrashedException.Describe(run.Exit)})" : run.Exit.Reason;
        var type = spec.Restart ?? layer.DefaultRestart;
        var decision = run.End == RunEnd.Limited
            ? AfterLimit(type, consecutiveCrashes)
            : Decide(type, run.Abnormal, run.Uptime, spec.MinUptime, consecutiveCrashes, layer, intensity, now, random);
        return (kind, detail, decision);
    }

    /// <summary>The run was up long enough that its end is not part of a crash loop.</summary>
    public static bool Settled(TimeSpan uptime, TimeSpan minUptime) => uptime >= minUptime;
}
