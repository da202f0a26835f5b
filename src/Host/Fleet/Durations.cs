using System.Text.RegularExpressions;

namespace DarkFactory.Host.Fleet;

/// <summary>
/// Parses fleet.yaml durations: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, compounds such as
/// <c>1h30m</c>, or a plain number meaning seconds (<c>90</c>, <c>1.5</c>). A leading <c>-</c> is accepted so
/// that validators can say "must not be negative" instead of "not a duration".
/// </summary>
public static partial class Durations
{
    [GeneratedRegex(@"\G([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        var negative = s.StartsWith('-');
        if (negative)
        {
            s = s[1..];
        }

        if (s.Length == 0)
        {
            return false;
        }

        double totalMs;
        if (double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            totalMs = seconds * 1000;
        }
        else
        {
            totalMs = 0;
            var pos = 0;
            while (pos < s.Length)
            {
                var m = Part().Match(s, pos);
                if (!m.Success)
                {
                    return false;
                }

                var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                totalMs += m.Groups[2].Value switch
                {
                    "ms" => n,
                    "s" => n * 1000,
                    "m" => n * 60_000,
                    "h" => n * 3_600_000,
                    _ => n * 86_400_000,
                };
                pos += m.Length;
            }
        }

        if (double.IsNaN(totalMs) || totalMs > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(negative ? -totalMs : totalMs);
        return true;
    }

    /// <summary>Formats a duration the way fleet.yaml writes it (for messages): 1h30m, 500ms, 0s.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var sign = value < TimeSpan.Zero ? "-" : "";
        var t = value.Duration();
        var parts = new List<string>();
        if (t.Days > 0) { parts.Add($"{t.Days}d"); }
        if (t.Hours > 0) { parts.Add($"{t.Hours}h"); }
        if (t.Minutes > 0) { parts.Add($"{t.Minutes}m"); }
        if (t.Seconds > 0) { parts.Add($"{t.Seconds}s"); }
        if (t.Milliseconds > 0) { parts.Add($"{t.Milliseconds}ms"); }
        return sign + string.Concat(parts);
    }
}
