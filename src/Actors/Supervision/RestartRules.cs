using DarkFactory.Messages.Fleet;

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
/// types, crash-loop quarantine, intensity, exponential backoff with jitter.
/// </summary>
public static class RestartRules
{
    /// <param name="abnormal">The run crashed (non-zero exit, signal, limit, failure).</param>
    /// <param name="uptime">How long the run was up.</param>
    /// <param name="consecutiveCrashes">Crashes in a row before this run ended.</param>
    public static RestartDecision Decide(
        RestartType type,
        bool abnormal,
        TimeSpan uptime,
        int consecutiveCrashes,
        LayerSpec layer,
        RestartIntensity intensity,
        DateTimeOffset now,
        double random)
    {
        var crashes = abnormal ? Backoff.Attempt(layer.Backoff, consecutiveCrashes, uptime) : 0;
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
            return new RestartDecision(RestartAction.Quarantine, TimeSpan.Zero, crashes, $"crash loop: {crashes} crashes in a row, none up for {layer.Backoff.ResetAfter}");
        }

        if (!intensity.TryRecord(now))
        {
            return new RestartDecision(RestartAction.Escalate, TimeSpan.Zero, crashes, $"restart intensity exceeded: more than {layer.MaxRestarts} restarts within {layer.Within}");
        }

        var delay = abnormal ? Backoff.Delay(layer.Backoff, crashes, random) : TimeSpan.Zero;
        return new RestartDecision(RestartAction.Restart, delay, crashes, abnormal ? "crashed" : "permanent: restarted after a normal exit");
    }
}
