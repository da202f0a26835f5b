using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

public sealed class BackoffTests
{
    private static readonly BackoffSpec Spec = new() { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(8), Jitter = 0.5, ResetAfter = TimeSpan.FromSeconds(30) };

    [Fact]
    public void Delays_double_up_to_the_cap_and_jitter_adds_up_to_its_fraction()
    {
        var ladder = Enumerable.Range(1, 6).Select(attempt => Backoff.Delay(Spec, attempt, random: 0).TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 8, 8], ladder);
        Assert.Equal(TimeSpan.FromSeconds(3), Backoff.Delay(Spec, 2, random: 1));
        Assert.Equal(TimeSpan.Zero, Backoff.Delay(Spec with { Max = TimeSpan.Zero }, 3, random: 0.5));
    }

    [Fact]
    public void The_count_starts_again_after_a_run_that_stayed_up_reset_after()
    {
        Assert.Equal((4, TimeSpan.FromSeconds(8)), Backoff.Next(Spec, previous: 3, uptime: TimeSpan.FromSeconds(29), random: 0));
        Assert.Equal((1, TimeSpan.FromSeconds(1)), Backoff.Next(Spec, previous: 3, uptime: TimeSpan.FromSeconds(30), random: 0));
        Assert.Equal(1, Backoff.Attempt(Spec, previous: 0, uptime: TimeSpan.Zero));
    }
}
