using System.Text.RegularExpressions;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// The text patterns of a fleet revision, compiled once: <c>nightwatch.error_patterns</c> and
/// <c>nightwatch.rate_limit_patterns</c>. Each list becomes one compiled alternation, so a line is scanned
/// once per list whatever the number of patterns. Lines longer than <see cref="MaxScan"/> characters are
/// matched on their first <see cref="MaxScan"/> characters (a log line that long is data, not a message).
/// </summary>
public sealed class LinePatterns
{
    public const int MaxScan = 1024;
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);
    private readonly Regex? _errors;
    private readonly Regex? _limits;

    public LinePatterns(IReadOnlyList<string> errorPatterns, IReadOnlyList<string> rateLimitPatterns)
    {
        _errors = Combine(errorPatterns);
        _limits = Combine(rateLimitPatterns);
    }

    public static LinePatterns From(NightwatchSpec spec) => new(spec.ErrorPatterns, spec.RateLimitPatterns);

    public bool IsError(string line) => Matches(_errors, line);

    public bool IsRateLimit(string line) => Matches(_limits, line);

    private static bool Matches(Regex? regex, string line)
    {
        if (regex is null || line.Length == 0)
        {
            return false;
        }

        try
        {
            return regex.IsMatch(line.Length <= MaxScan ? line.AsSpan() : line.AsSpan(0, MaxScan));
        }
        catch (RegexMatchTimeoutException)
        {
            return false; // a pathological line is not worth a stalled Nightwatch
        }
    }

    private static Regex? Combine(IReadOnlyList<string> patterns) =>
        patterns.Count == 0
            ? null
            : new Regex(
                string.Join('|', patterns.Select(p => $"(?:{p})")),
                RegexOptions.Compiled | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture,
                MatchTimeout);
}
