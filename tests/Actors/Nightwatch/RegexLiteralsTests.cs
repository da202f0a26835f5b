using System.Text.RegularExpressions;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

public sealed class RegexLiteralsTests
{
    [Theory]
    [InlineData(@"(?i)\brate[ _-]?limit", "limit")]
    [InlineData(@"(?i)\b429\b", "429")]
    [InlineData(@"(?i)too many requests", "too many requests")]
    [InlineData(@"^\s*(?i:error|fatal|panic)\b", "error,fatal,panic")]
    [InlineData(@"(?i)\berror(\[\w+\])?:", "error")]
    [InlineData(@"^Traceback \(most recent call last\)", "Traceback (most recent call last)")]
    [InlineData(@"(?i)usage limit|hit your limit", "usage limit,hit your limit")]
    [InlineData(@"(?<t>resets?) at (?<h>\d+)", "reset")]
    [InlineData(@"colou?r changed", "r changed")]
    [InlineData(@"x{0,3}abcd+e", "abcd")]
    public void Every_match_contains_one_of_the_literals(string pattern, string expected) =>
        Assert.Equal(expected.Split(','), RegexLiterals.Required(pattern));

    [Theory]
    [InlineData(@"\d+ failed")] // " failed" is required
    [InlineData(@"(?=.*oops)oops")]
    public void Literals_are_found_past_classes_and_lookarounds(string pattern) => Assert.NotNull(RegexLiterals.Required(pattern));

    [Theory]
    [InlineData(@"\w+")]
    [InlineData(@"ab|\d{3}")] // one branch has no literal
    [InlineData(@"(abc)?x")]
    [InlineData(@"\p{Lu}{4}")]
    [InlineData(@"a.b.c")]
    public void Unknown_when_a_match_needs_no_literal_of_three_characters(string pattern) => Assert.Null(RegexLiterals.Required(pattern));

    [Fact]
    public void The_prefilter_never_hides_a_match_of_the_default_patterns()
    {
        var spec = new NightwatchSpec();
        var patterns = LinePatterns.From(spec);
        string[] lines =
        [
            "ERROR: x", "  fatal: not a git repository", "panic: runtime error", "error[E0382]: moved", "src/a.c:1:2: error: y",
            "Unhandled exception: boom", "System.IO.IOException: disk", "Exception in thread \"main\"", "Traceback (most recent call last):",
            "Segmentation fault (core dumped)", "RATE-LIMIT hit", "HTTP 429", "Too Many Requests", "quota exceeded", "insufficient_quota",
            "Resource has been exhausted", "usage limit reached", "You've hit your limit", "overloaded_error", "status 529",
        ];
        foreach (var line in lines)
        {
            var expected = spec.ErrorPatterns.Any(p => Regex.IsMatch(line, p)) || spec.RateLimitPatterns.Any(p => Regex.IsMatch(line, p));
            Assert.True(expected, line);
            Assert.NotEqual(LineFlags.None, patterns.Classify(line));
        }

        Assert.True(patterns.Keys.Count <= 16, string.Join(" | ", patterns.Keys));
    }
}
