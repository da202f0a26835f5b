namespace DarkFactory.Actors.Supervision;

/// <summary>
/// Exponential backoff with jitter: min, 2·min, 4·min … capped at max, plus up to jitter·delay; the count
/// starts again at 1 after a run that stayed up <see cref="BackoffSpec.ResetAfter"/>. The one backoff of
/// the house: agent restarts (<see cref="RestartRules"/>), layer escalations (the fleet) and journal
/// failures (<see cref="JournalKeeper"/>).
/// </summary>
public static class Backoff
{
    /// <param name="attempt">1 for the first restart after a failure.</param>
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

    /// <summary>The attempt number of the restart after one more failure.</summary>
    /// <param name="previous">Failures in a row before this one (0: none).</param>
    /// <param name="uptime">How long the failed run (or layer) was up: <see cref="BackoffSpec.ResetAfter"/> or more starts the count again.</param>
    public static int Attempt(BackoffSpec spec, int previous, TimeSpan uptime) => uptime >= spec.ResetAfter ? 1 : previous + 1;

    /// <summary>One more failure after <paramref name="previous"/> in a row: its attempt number and the delay before the restart.</summary>
    public static (int Attempt, TimeSpan Delay) Next(BackoffSpec spec, int previous, TimeSpan uptime, double random)
    {
        var attempt = Attempt(spec, previous, uptime);
        return (attempt, Delay(spec, attempt, random));
    }
}
