using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace DarkFactory.Actors.Nightwatch;

/// <summary>What a plain-text line says, by the fleet's patterns.</summary>
[Flags]
public enum LineFlags
{
    None = 0,
    Error = 1,
    RateLimit = 2,
}

/// <summary>
/// The text patterns of a fleet revision, compiled once: <c>nightwatch.error_patterns</c> and
/// <c>nightwatch.rate_limit_patterns</c>. Most lines match nothing, so a line is first scanned once,
/// vectorised, for the literals every match must contain (<see cref="RegexLiterals"/>, ignoring case);
/// only a line holding one runs the expressions (each list one compiled alternation). A pattern whose
/// literals cannot be told turns the prefilter off for its list. Lines longer than <see cref="MaxScan"/>
/// characters are matched on their first <see cref="MaxScan"/> characters.
/// </summary>
public sealed class LinePatterns
{
    public const int MaxScan = 1024;
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);
    private readonly Regex? _errors;
    private readonly Regex? _limits;
    private readonly SearchValues<string>? _keys;
    private readonly bool _errorsAlways;
    private readonly bool _limitsAlways;

    public LinePatterns(IReadOnlyList<string> errorPatterns, IReadOnlyList<string> rateLimitPatterns)
    {
        _errors = Combine(errorPatterns);
        _limits = Combine(rateLimitPatterns);
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        _errorsAlways = !Collect(errorPatterns, keys);
        _limitsAlways = !Collect(rateLimitPatterns, keys);
        Keys = Cover(keys);
        _keys = Keys.Count == 0 ? null : SearchValues.Create(Keys.ToArray(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The prefilter's literals (for docs and tests).</summary>
    public IReadOnlyList<string> Keys { get; }

    public static LinePatterns From(NightwatchSpec spec) => new(spec.ErrorPatterns, spec.RateLimitPatterns);

    public bool IsError(string line) => (Classify(line) & LineFlags.Error) != 0;

    public bool IsRateLimit(string line) => (Classify(line) & LineFlags.RateLimit) != 0;

    /// <summary>Every line must run the expressions (a list with a pattern whose literals cannot be told): <see cref="Candidate"/> cannot rule a line out.</summary>
    public bool EveryLine => _errorsAlways || _limitsAlways;

    /// <summary>
    /// Where in <paramref name="text"/> (many lines at once) the first line that may match is: the prefilter's first
    /// literal found, -1 when none (0 when <see cref="EveryLine"/>). A line before it classifies as
    /// <see cref="LineFlags.None"/>; the line holding it must still be <see cref="Classify(ReadOnlySpan{char})"/>'d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Candidate(ReadOnlySpan<char> text) => EveryLine ? 0 : _keys is null ? -1 : text.IndexOfAny(_keys);

    /// <summary>A rate limit, an error, or nothing. A rate-limit line is not an error of the agent's ("Error: 429 ...").</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every plain line of every agent: optimized from the first call
    public LineFlags Classify(string line) => Classify(line.AsSpan());

    /// <summary>The same of a line as chars (a <see cref="LineBatch"/>'s line, decoded without a string).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LineFlags Classify(ReadOnlySpan<char> line)
    {
        if (line.Length == 0)
        {
            return LineFlags.None;
        }

        var span = line.Length <= MaxScan ? line : line[..MaxScan];
        var hit = _keys is not null && span.IndexOfAny(_keys) >= 0;
        if ((hit || _limitsAlways) && Matches(_limits, span))
        {
            return LineFlags.RateLimit;
        }

        return (hit || _errorsAlways) && Matches(_errors, span) ? LineFlags.Error : LineFlags.None;
    }

    /// <summary>
    /// Few short keys that still cover every literal (each literal contains one of them): a vectorised
    /// multi-string search slows down with the number of keys far more than with extra candidate lines.
    /// Greedy set cover over the 4-character substrings of the literals (3-character ones match too
    /// much ordinary text).
    /// </summary>
    internal static IReadOnlyList<string> Cover(IEnumerable<string> literals)
    {
        var open = literals.Select(l => l.ToLowerInvariant()).Distinct().ToList();
        var keys = new List<string>();
        while (open.Count > 0)
        {
            var best = open
                .SelectMany(l => l.Length <= 4 ? [l] : Enumerable.Range(0, l.Length - 3).Select(i => l.Substring(i, 4)))
                .Where(k => k.Trim().Length == k.Length)
                .Distinct()
                .Select(k => (Key: k, Covers: open.Count(l => l.Contains(k, StringComparison.Ordinal))))
                .OrderByDescending(x => x.Covers)
                .ThenByDescending(x => x.Key.Length)
                .ThenBy(x => x.Key, StringComparer.Ordinal)
                .FirstOrDefault();
            var key = best.Key ?? open[0];
            keys.Add(key);
            open.RemoveAll(l => l.Contains(key, StringComparison.Ordinal));
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private static bool Collect(IReadOnlyList<string> patterns, HashSet<string> keys)
    {
        var all = true;
        foreach (var p in patterns)
        {
            if (RegexLiterals.Required(p) is { } literals)
            {
                keys.UnionWith(literals);
            }
            else
            {
                all = false;
            }
        }

        return all;
    }

    private static bool Matches(Regex? regex, ReadOnlySpan<char> line)
    {
        if (regex is null)
        {
            return false;
        }

        try
        {
            return regex.IsMatch(line);
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
