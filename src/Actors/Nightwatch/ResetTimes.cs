using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Reads when a rate limit ends from the text that announced it, with its time zone:
/// "resets 7pm (America/Los_Angeles)", "resets at 19:30 UTC", "try again in 20s", "retry after 2 minutes",
/// "Retry-After: 30", "resets in 2h 13m", an ISO-8601 time, or a Unix time in a JSON field such as
/// <c>"resetsAt":1764000000</c>. Null when the text names no time. Pure: the caller gives "now".
/// </summary>
public static partial class ResetTimes
{
    public static DateTimeOffset? Parse(string text, DateTimeOffset now)
    {
        if (Iso().Match(text) is { Success: true } iso &&
            DateTimeOffset.TryParse(iso.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at.ToUniversalTime();
        }

        if (Epoch().Match(text) is { Success: true } epoch && long.TryParse(epoch.Groups["n"].Value, CultureInfo.InvariantCulture, out var seconds))
        {
            var value = seconds > 100_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds(seconds) : DateTimeOffset.FromUnixTimeSeconds(seconds);
            return value;
        }

        if (ClockTime().Match(text) is { Success: true } clock)
        {
            return NextLocal(clock, now);
        }

        if (Delay().Match(text) is { Success: true } delay)
        {
            return now + Duration(delay.Groups["d"].Value);
        }

        if (RetryAfter().Match(text) is { Success: true } header && double.TryParse(header.Groups["n"].Value, CultureInfo.InvariantCulture, out var s))
        {
            return now + TimeSpan.FromSeconds(s);
        }

        return null;
    }

    /// <summary>The next time the clock in the named zone shows the given time (today, or tomorrow if it has passed).</summary>
    private static DateTimeOffset? NextLocal(Match m, DateTimeOffset now)
    {
        var hour = int.Parse(m.Groups["h"].Value, CultureInfo.InvariantCulture);
        var minute = m.Groups["m"].Success ? int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture) : 0;
        var ampm = m.Groups["ampm"].Value.ToLowerInvariant();
        if (ampm.Length > 0)
        {
            if (hour is < 1 or > 12)
            {
                return null;
            }

            hour = hour % 12 + (ampm.StartsWith('p') ? 12 : 0);
        }

        if (hour > 23 || minute > 59)
        {
            return null;
        }

        var zone = Zone(m.Groups["tz"].Value);
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var candidate = new DateTime(local.Year, local.Month, local.Day, hour, minute, 0, DateTimeKind.Unspecified);
        for (var day = 0; day < 3; day++)
        {
            var c = candidate.AddDays(day);
            if (zone.IsInvalidTime(c))
            {
                c = c.AddHours(1); // a spring-forward gap: the clock jumps past it
            }

            var offset = zone.IsAmbiguousTime(c) ? zone.GetAmbiguousTimeOffsets(c).Max() : zone.GetUtcOffset(c);
            var at = new DateTimeOffset(c, offset);
            if (at > now)
            {
                return at.ToUniversalTime();
            }
        }

        return null;
    }

    private static TimeZoneInfo Zone(string name)
    {
        if (name.Length == 0 || name.Equals("UTC", StringComparison.OrdinalIgnoreCase) || name.Equals("GMT", StringComparison.OrdinalIgnoreCase) || name == "Z")
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    private static TimeSpan Duration(string text)
    {
        var total = TimeSpan.Zero;
        foreach (Match part in DurationPart().Matches(text))
        {
            var n = double.Parse(part.Groups["n"].Value, CultureInfo.InvariantCulture);
            var unit = part.Groups["u"].Value.ToLowerInvariant();
            total += unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                _ when unit.StartsWith('h') => TimeSpan.FromHours(n),
                _ when unit.StartsWith("mi", StringComparison.Ordinal) || unit == "m" => TimeSpan.FromMinutes(n),
                _ when unit.StartsWith('d') => TimeSpan.FromDays(n),
                _ => TimeSpan.FromSeconds(n),
            };
        }

        return total;
    }

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})\b")]
    private static partial Regex Iso();

    [GeneratedRegex(@"(?i)""?reset(s|_at|sAt|At|_time)""?\s*[:=]\s*""?(?<n>\d{10,13})\b")]
    private static partial Regex Epoch();

    [GeneratedRegex(@"(?i)\bresets?\s+(at\s+|on\s+)?(?<h>\d{1,2})(:(?<m>\d{2}))?\s*(?<ampm>[ap]\.?m\.?)?(?![\w:])\s*(\(\s*(?<tz>[A-Za-z_]+(/[A-Za-z_+\-]+)*)\s*\)|(?<tz>UTC|GMT|Z)\b)?")]
    private static partial Regex ClockTime();

    [GeneratedRegex(@"(?i)\b(try again|retry|resets?|available again)\s+(in|after)\s+(?<d>(\d+(\.\d+)?\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)(?![a-z])[\s,and]*)+)")]
    private static partial Regex Delay();

    [GeneratedRegex(@"(?i)\bretry[-_ ]after""?\s*[:=]\s*""?(?<n>\d+(\.\d+)?)")]
    private static partial Regex RetryAfter();

    [GeneratedRegex(@"(?i)(?<n>\d+(\.\d+)?)\s*(?<u>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)(?![a-z])")]
    private static partial Regex DurationPart();
}
