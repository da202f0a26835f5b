using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

public sealed class ResetTimesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("You've hit your limit · resets 7pm (America/Los_Angeles)", "2026-11-23T03:00:00Z")] // 19:00 PST = 03:00 UTC
    [InlineData("Claude usage limit reached. Your limit resets at 11:30 (Europe/Berlin)", "2026-11-22T10:30:00Z")]
    [InlineData("limit resets 9am (Europe/London)", "2026-11-23T09:00:00Z")] // 09:00 today has passed
    [InlineData("quota exhausted, resets at 19:30 UTC", "2026-11-22T19:30:00Z")]
    [InlineData("429 Too Many Requests: Please try again in 20s.", "2026-11-22T10:00:20Z")]
    [InlineData("Rate limit reached for gpt-5 in organization org-x. Please try again in 1m30s.", "2026-11-22T10:01:30Z")]
    [InlineData("rate limited; retry after 2 minutes", "2026-11-22T10:02:00Z")]
    [InlineData("usage limit: resets in 2h 13m", "2026-11-22T12:13:00Z")]
    [InlineData("HTTP 429, retry-after: 30", "2026-11-22T10:00:30Z")]
    [InlineData("{\"type\":\"error\",\"error\":{\"data\":{\"statusCode\":429,\"responseHeaders\":{\"retry-after\":\"45\"}}}}", "2026-11-22T10:00:45Z")]
    [InlineData("rate_limit_exceeded: limit resets at 2026-11-22T18:00:00Z", "2026-11-22T18:00:00Z")]
    [InlineData("{\"type\":\"rate_limit_event\",\"rate_limit_info\":{\"status\":\"rejected\",\"resetsAt\":1764036000}}", "2025-11-25T02:00:00Z")]
    public void Reset_time_is_read_with_its_time_zone(string line, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ResetTimes.Parse(line, Now));
    }

    [Theory]
    [InlineData("429 Too Many Requests")]
    [InlineData("insufficient_quota")]
    [InlineData("the build took 7 minutes")]
    public void No_time_named_is_null(string line) => Assert.Null(ResetTimes.Parse(line, Now));

    [Fact]
    public void A_reset_in_a_spring_forward_gap_comes_after_the_jump()
    {
        // 2026-03-08: New York clocks jump from 02:00 to 03:00 EDT (UTC-4)
        var now = new DateTimeOffset(2026, 3, 8, 5, 0, 0, TimeSpan.Zero); // 00:00 EST
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 30, 0, TimeSpan.Zero), ResetTimes.Parse("resets 2:30am (America/New_York)", now));
    }

    [Fact]
    public void Default_patterns_know_the_usual_rate_limit_messages_and_not_ordinary_lines()
    {
        var p = LinePatterns.From(new NightwatchSpec());
        Assert.True(p.IsRateLimit("You've hit your limit · resets 7pm (America/Los_Angeles)"));
        Assert.True(p.IsRateLimit("Error: 429 Too Many Requests"));
        Assert.True(p.IsRateLimit("{\"error\":{\"code\":\"rate_limit_exceeded\"}}"));
        Assert.True(p.IsRateLimit("openai.RateLimitError: insufficient_quota"));
        Assert.True(p.IsRateLimit("Attempt 1 failed: Resource has been exhausted (e.g. check quota)."));
        Assert.False(p.IsRateLimit("running 4290 tests"));
        Assert.False(p.IsRateLimit("compiling crate accelerate v0.3"));

        Assert.True(p.IsError("error: cannot find value `x` in this scope"));
        Assert.True(p.IsError("src/main.c:12:5: error: expected ';'"));
        Assert.True(p.IsError("error[E0382]: borrow of moved value"));
        Assert.True(p.IsError("Traceback (most recent call last):"));
        Assert.True(p.IsError("System.InvalidOperationException: Unhandled exception: boom"));
        Assert.True(p.IsError("FATAL: password authentication failed"));
        Assert.False(p.IsError("0 errors, 2 warnings"));
        Assert.False(p.IsError("checked error handling in parser.rs"));
    }

    [Fact]
    public void Patterns_come_from_the_configuration()
    {
        var p = new LinePatterns(["^BOOM"], ["(?i)slow down"]);
        Assert.True(p.IsError("BOOM at 3"));
        Assert.False(p.IsError("error: x"));
        Assert.True(p.IsRateLimit("please SLOW DOWN"));
        Assert.False(p.IsRateLimit("429 Too Many Requests"));
    }
}
