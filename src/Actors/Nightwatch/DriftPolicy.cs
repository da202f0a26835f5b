namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// The drift score, its level and the correction it calls for. Pure.
/// <para>Score: each component times its weight (capped at 1) combined as independent evidence,
/// <c>1 - Π(1 - min(1, w·c))</c>: one signal alone can reach every level, several weak ones add up, and the
/// score never leaves [0, 1].</para>
/// <para>Levels: a level is entered as soon as the score reaches its threshold and left only when the score
/// falls <c>hysteresis</c> below it, so a score hovering at a threshold does not flap.</para>
/// </summary>
public static class DriftPolicy
{
    public static double Score(DriftComponents c, NightwatchSpec spec)
    {
        var keep = 1.0;
        foreach (var signal in DriftSignals.All)
        {
            keep *= 1 - Math.Min(1, Weight(spec, signal) * c.Of(signal));
        }

        return Math.Round(Math.Clamp(1 - keep, 0, 1), 4);
    }

    /// <summary>The signal's weight (fleet.yaml <c>nightwatch.weights</c>, 1 when not set).</summary>
    public static double Weight(NightwatchSpec spec, DriftSignal signal) => spec.Weight(signal.Name());

    public static double Threshold(DriftLevel level, NightwatchThresholds t) => level switch
    {
        DriftLevel.Minor => t.Minor,
        DriftLevel.Moderate => t.Moderate,
        DriftLevel.Severe => t.Severe,
        DriftLevel.Critical => t.Critical,
        _ => 0,
    };

    /// <summary>The level a score reaches with no history.</summary>
    public static DriftLevel Raw(double score, NightwatchThresholds t) =>
        score >= t.Critical ? DriftLevel.Critical
        : score >= t.Severe ? DriftLevel.Severe
        : score >= t.Moderate ? DriftLevel.Moderate
        : score >= t.Minor ? DriftLevel.Minor
        : DriftLevel.Normal;

    /// <summary>The level after <paramref name="previous"/>, with hysteresis on the way down.</summary>
    public static DriftLevel Next(DriftLevel previous, double score, NightwatchThresholds t, double hysteresis)
    {
        var raw = Raw(score, t);
        if (raw >= previous)
        {
            return raw;
        }

        var level = previous;
        while (level > raw && score < Threshold(level, t) - hysteresis)
        {
            level--;
        }

        return level;
    }

    public static CorrectionAction? ActionFor(DriftLevel level) => level switch
    {
        DriftLevel.Minor => CorrectionAction.Hint,
        DriftLevel.Moderate => CorrectionAction.Restart,
        DriftLevel.Severe => CorrectionAction.Pause,
        DriftLevel.Critical => CorrectionAction.Stop,
        _ => null,
    };

    /// <summary>
    /// The correction due now, or null: the level's rung, unless the same rung fired for this agent less
    /// than <paramref name="cooldown"/> ago. A level that stays up climbs again after the cooldown.
    /// </summary>
    public static CorrectionAction? Due(DriftLevel level, IReadOnlyDictionary<CorrectionAction, DateTimeOffset> lastFired, DateTimeOffset now, TimeSpan cooldown)
    {
        return ActionFor(level) is { } action ? Due(action, lastFired, now, cooldown) : null;
    }

    /// <summary>Rung <paramref name="action"/>, or null when it fired for this agent less than <paramref name="cooldown"/> ago.</summary>
    public static CorrectionAction? Due(CorrectionAction action, IReadOnlyDictionary<CorrectionAction, DateTimeOffset> lastFired, DateTimeOffset now, TimeSpan cooldown)
    {
        return lastFired.TryGetValue(action, out var last) && now - last < cooldown ? null : action;
    }

    /// <summary>Least time between two rungs of one climb: the rung below gets this long to work before the next one.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    /// <summary>Critical drift held this long without a break is overwhelming and lasting: the stop is due whatever rung the climb is on.</summary>
    public static readonly TimeSpan Lasting = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The rung the ladder may take now (before cooldowns): the level's rung, but one rung at a time (issue 15,
    /// finding 8). A climb starts with a hint; the next rung up is allowed only when the rung below fired at
    /// least <see cref="Settle"/> ago. Only evidence that is overwhelming AND lasting — the critical level held for
    /// <see cref="Lasting"/> — goes straight to the stop.
    /// </summary>
    /// <param name="level">The level judged now.</param>
    /// <param name="rung">The highest rung fired in the current climb; null: no climb.</param>
    /// <param name="rungAt">When <paramref name="rung"/> fired.</param>
    /// <param name="criticalSince">Since when the level has been critical without a break; null: it is not.</param>
    /// <param name="recurred">
    /// Since <paramref name="rung"/> fired the level fell below that rung's level and has now risen again: the
    /// correction worked for a while and the drift came back. Drift that comes back at a level calling for a restart
    /// or more takes the next rung up (once settled): a second restart, pause or reroute that did not help the first
    /// time is not tried again in the same climb (a lower rung still answers a lower level: a hint for minor drift).
    /// </param>
    public static CorrectionAction? Climb(DriftLevel level, CorrectionAction? rung, DateTimeOffset rungAt, DateTimeOffset? criticalSince, DateTimeOffset now, bool recurred = false)
    {
        if (ActionFor(level) is not { } wanted)
        {
            return null;
        }

        if (level == DriftLevel.Critical && criticalSince is { } since && now - since >= Lasting)
        {
            return CorrectionAction.Stop;
        }

        if (rung is not { } on)
        {
            return CorrectionAction.Hint;
        }

        var allowed = now - rungAt >= Settle && on < CorrectionAction.Stop ? on + 1 : on;
        if (recurred && wanted >= CorrectionAction.Restart)
        {
            return allowed;
        }

        return wanted < allowed ? wanted : allowed;
    }

    /// <summary>The strongest component, by its weighted value (the first in <see cref="DriftComponents"/> order on a tie).</summary>
    public static (DriftSignal Signal, double Value) Dominant(DriftComponents c, NightwatchSpec spec)
    {
        var (best, value) = (DriftSignal.Errors, double.NegativeInfinity);
        foreach (var signal in DriftSignals.All)
        {
            var v = c.Of(signal) * Weight(spec, signal);
            if (v > value)
            {
                (best, value) = (signal, v);
            }
        }

        return (best, value);
    }

    /// <summary>A one-line account of a verdict: the score, the level and what drove it.</summary>
    public static string Reason(double score, DriftLevel level, DriftComponents c, NightwatchSpec spec)
    {
        var parts = new List<string>();
        foreach (var signal in DriftSignals.All)
        {
            if (c.Of(signal) is var v and > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{signal.Name()} {v:0.00}"));
            }
        }

        var signals = parts.Count == 0 ? "no signal" : string.Join(", ", parts);
        return string.Create(CultureInfo.InvariantCulture, $"{level.ToString().ToLowerInvariant()} drift {score:0.00} ({signals})");
    }

    /// <summary>The corrective hint for the agent's next task, written for the dominant signal.</summary>
    public static string Hint(DriftComponents c, NightwatchSpec spec) => Dominant(c, spec).Signal switch
    {
        DriftSignal.Errors => "Your last run produced repeated errors. Read the first error carefully, fix its cause before anything else, and stop if you cannot make progress.",
        DriftSignal.ToolFailures => "Several of your tool calls failed. Check each tool's arguments and the working directory before calling it again; do not repeat a call that failed.",
        DriftSignal.Health => "Your previous runs crashed or were killed. Work in smaller steps, keep within the time limit, and exit cleanly when done.",
        DriftSignal.Stall => "Your previous run stopped making progress. Report what you are doing as you go, and give up on a step that does not advance.",
        DriftSignal.Loops => "You were repeating the same action. Do not retry the same thing again; try a different approach or stop and summarise what blocks you.",
        DriftSignal.Cost => "Your spend rate was too high. Use fewer and smaller model calls and read only the files you need.",
        _ => "Stay on the task you were given.",
    };
}
