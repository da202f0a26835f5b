using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

public sealed class ProviderHealthTests
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    private ProviderHealth Health() => new(_clock) { FailuresToOpen = 3, OpenFor = TimeSpan.FromMinutes(2), DefaultLimit = TimeSpan.FromMinutes(1) };

    private static void Apply(ProviderHealth h, BreakerTransitioned? e)
    {
        Assert.NotNull(e);
        h.Apply(e!);
    }

    [Fact]
    public void Consecutive_failures_open_the_breaker_half_open_after_open_for_and_a_successful_probe_closes_it()
    {
        var h = Health();
        Assert.Null(h.Failure("openai", "crashed"));
        Assert.Null(h.Failure("openai", "crashed"));
        var open = h.Failure("openai", "exit 1");
        Assert.Equal(BreakerState.Open, open!.State);
        Assert.Contains("3 consecutive failures; last: exit 1", open.Reason);
        h.Apply(open);

        var c = h.Condition("openai")!;
        Assert.Equal(ProviderState.Open, c.State);
        Assert.False(c.Available);
        Assert.Equal(_clock.Now.AddMinutes(2), c.ResetAt);

        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(BreakerState.HalfOpen, h.BreakerStateOf("openai"));
        Assert.True(h.Condition("openai")!.Available); // one probe may go

        Apply(h, h.RouteTaken("openai"));
        Assert.False(h.Condition("openai")!.Available); // only one probe at a time
        Assert.Null(h.RouteTaken("openai"));

        var closed = h.Success("openai");
        Assert.Equal(BreakerState.Closed, closed!.State);
        h.Apply(closed);
        Assert.Null(h.Condition("openai"));
    }

    [Fact]
    public void A_failed_probe_opens_the_breaker_again()
    {
        var h = Health();
        h.Apply(new BreakerTransitioned("openai", BreakerState.Open, _clock.Now, "3 consecutive failures", 3));
        _clock.Advance(TimeSpan.FromMinutes(3));
        Apply(h, h.RouteTaken("openai"));

        var reopened = h.Failure("openai", "500 from the API");
        Assert.Equal(BreakerState.Open, reopened!.State);
        Assert.Contains("half-open probe failed", reopened.Reason);
        h.Apply(reopened);
        Assert.False(h.Condition("openai")!.Available);
        Assert.Equal(_clock.Now.AddMinutes(2), h.NextChange());
    }

    [Fact]
    public void A_success_resets_the_count_of_consecutive_failures()
    {
        var h = Health();
        h.Failure("openai", "x");
        h.Failure("openai", "x");
        Assert.Null(h.Success("openai"));
        Assert.Null(h.Failure("openai", "x"));
        Assert.Equal(1, h.ConsecutiveFailures("openai"));
    }

    [Fact]
    public void Rate_limits_last_until_their_reset_time_or_the_default_backoff()
    {
        var h = Health();
        var limit = h.Limited("anthropic", _clock.Now.AddMinutes(30), "429");
        h.Apply(limit!);
        Assert.Equal(ProviderState.Limited, h.Condition("anthropic")!.State);
        Assert.Equal(_clock.Now.AddMinutes(30), h.Condition("anthropic")!.ResetAt);
        Assert.Null(h.Limited("anthropic", _clock.Now.AddMinutes(10), "429")); // an earlier reset changes nothing

        var noReset = h.Limited("google", null, "quota");
        Assert.Equal(_clock.Now.AddMinutes(1), noReset!.Until);

        _clock.Advance(TimeSpan.FromMinutes(30));
        Assert.Null(h.Condition("anthropic"));
    }
}
