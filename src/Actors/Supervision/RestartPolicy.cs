using DarkFactory.Messages.Fleet;

namespace DarkFactory.Actors.Supervision;

/// <summary>
/// OTP restart intensity: at most <c>max</c> restarts within a sliding window of <c>within</c>; one more
/// and the supervisor gives up and escalates. Counts restarts of all children of a layer.
/// </summary>
public sealed class RestartIntensity(int max, TimeSpan within)
{
    private readonly Queue<DateTimeOffset> _restarts = new();

    public int Max { get; private set; } = max;
    public TimeSpan Within { get; private set; } = within;

    public int InWindow(DateTimeOffset now)
    {
        Trim(now);
        return _restarts.Count;
    }

    /// <summary>Records one restart at <paramref name="now"/>; false when that exceeds the intensity.</summary>
    public bool TryRecord(DateTimeOffset now)
    {
        Trim(now);
        if (_restarts.Count >= Max)
        {
            return false;
        }

        _restarts.Enqueue(now);
        return true;
    }

    public void Reconfigure(int max, TimeSpan within)
    {
        Max = max;
        Within = within;
    }

    private void Trim(DateTimeOffset now)
    {
        while (_restarts.Count > 0 && now - _restarts.Peek() >= Within)
        {
            _restarts.Dequeue();
        }
    }
}

/// <summary>Exponential backoff with jitter: min, 2·min, 4·min … capped at max, plus up to jitter·delay.</summary>
public static class Backoff
{
    /// <param name="attempt">1 for the first restart after a crash.</param>
    /// <param name="random">A number in [0,1) (injected so tests are deterministic).</param>
    public static TimeSpan Delay(BackoffSpec spec, int attempt, double random)
    {
        if (spec.Max <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var baseTicks = Math.Min((double)spec.Min.Ticks * Math.Pow(2, exponent), spec.Max.Ticks);
        var jittered = baseTicks * (1 + (spec.Jitter * Math.Clamp(random, 0, 1)));
        return TimeSpan.FromTicks((long)Math.Min(jittered, spec.Max.Ticks * (1 + spec.Jitter)));
    }
}

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
        var stable = uptime >= layer.Backoff.ResetAfter;
        var crashes = abnormal ? (stable ? 1 : consecutiveCrashes + 1) : 0;
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
