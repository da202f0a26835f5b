using Cronos;

namespace DarkFactory.Actors.Scheduling;

/// <summary>A cron expression or time zone that cannot be used.</summary>
public sealed class CronScheduleException(string message, Exception? inner = null) : FormatException(message, inner);

/// <summary>
/// One agent's cron schedule (pure): a 5-field (minute hour day month weekday) or 6-field (seconds
/// first) Cronos expression evaluated in the agent's time zone. Every time in and out is UTC. DST gaps
/// and repeats follow Cronos: a local time that does not exist on a spring-forward day fires when the
/// gap ends; on a fall-back day a fixed-time expression fires once (the first of the two), an
/// interval expression fires in both repeated hours.
/// </summary>
public sealed class CronSchedule
{
    private readonly CronExpression _cron;

    private CronSchedule(string expression, CronExpression cron, TimeZoneInfo zone)
    {
        Expression = expression;
        _cron = cron;
        Zone = zone;
    }

    public string Expression { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>Parses an expression; <paramref name="timezone"/> is a TimeZoneInfo id (IANA here), null or empty = UTC.</summary>
    /// <exception cref="CronScheduleException">The expression or the time zone is invalid.</exception>
    public static CronSchedule Parse(string expression, string? timezone = null)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var trimmed = expression.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            throw new CronScheduleException($"invalid cron expression '{expression}': expected 5 fields (minute hour day month weekday) or 6 with seconds first, got {fields}");
        }

        CronExpression cron;
        try
        {
            cron = CronExpression.Parse(trimmed, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new CronScheduleException($"invalid cron expression '{expression}': {e.Message}", e);
        }

        return new CronSchedule(trimmed, cron, FindZone(timezone));
    }

    public static bool TryParse(string expression, string? timezone, out CronSchedule? schedule, out string? error)
    {
        try
        {
            schedule = Parse(expression, timezone);
            error = null;
            return true;
        }
        catch (CronScheduleException e)
        {
            schedule = null;
            error = e.Message;
            return false;
        }
    }

    private static TimeZoneInfo FindZone(string? timezone)
    {
        if (string.IsNullOrWhiteSpace(timezone) || timezone == "UTC")
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timezone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new CronScheduleException($"unknown time zone '{timezone}'", e);
        }
    }

    /// <summary>The first firing strictly after <paramref name="after"/>, in UTC; null when there is none.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        var next = _cron.GetNextOccurrence(after.UtcDateTime, Zone, inclusive: false);
        return next is { } n ? new DateTimeOffset(n, TimeSpan.Zero) : null;
    }

    /// <summary>The next <paramref name="count"/> firings strictly after <paramref name="after"/>, in UTC, ascending.</summary>
    public IReadOnlyList<DateTimeOffset> NextN(DateTimeOffset after, int count)
    {
        var result = new List<DateTimeOffset>(Math.Max(0, count));
        var from = after;
        while (result.Count < count && Next(from) is { } next)
        {
            result.Add(next);
            from = next;
        }

        return result;
    }

    /// <summary>The firings in (<paramref name="after"/>, <paramref name="until"/>], in UTC, ascending.</summary>
    public IEnumerable<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset until)
    {
        if (until <= after)
        {
            yield break;
        }

        foreach (var t in _cron.GetOccurrences(after.UtcDateTime, until.UtcDateTime, Zone, fromInclusive: false, toInclusive: true))
        {
            yield return new DateTimeOffset(t, TimeSpan.Zero);
        }
    }

    /// <summary>The local time of a UTC instant in this schedule's zone.</summary>
    public DateTimeOffset ToLocal(DateTimeOffset utc) => TimeZoneInfo.ConvertTime(utc, Zone);
}

/// <summary>
/// Spread of firings so a fleet's agents do not all start in the same second: an offset in
/// [0, jitter) added to each firing. By default the fraction is stable per agent (a hash of its name),
/// so an agent keeps a regular cadence and a daemon restart does not move it; tests inject their own.
/// </summary>
public static class Jitter
{
    /// <summary>A fraction in [0, 1) that depends only on the agent's name (FNV-1a; stable across processes).</summary>
    public static double StableFraction(string agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var hash = 2166136261u;
        foreach (var c in agent)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash / 4294967296.0;
    }

    /// <summary>The offset for a fraction in [0, 1): zero when there is no jitter, always below <paramref name="jitter"/>.</summary>
    public static TimeSpan Offset(TimeSpan jitter, double fraction)
    {
        if (jitter <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var f = double.IsNaN(fraction) ? 0 : Math.Clamp(fraction, 0, 1);
        var ticks = (long)(jitter.Ticks * f);
        return TimeSpan.FromTicks(Math.Min(ticks, jitter.Ticks - 1));
    }
}
