using DarkFactory.Host.Daemon;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>The one collection after start-up (issue 18, idle memory): at the first quiet poll, at the latest after the wait, never on the way out.</summary>
public sealed class StartupTrimTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task It_collects_once_at_the_first_poll_that_allocated_little_and_stops_looking()
    {
        long[] seen = [0, 5_000_000, 10_000_000, 10_500_000, 90_000_000, 200_000_000];
        var calls = 0;
        var collections = 0;

        var collected = await StartupTrim.WhenQuietAsync(Poll, 1_000_000, TimeSpan.FromMinutes(1), () => seen[calls++], () => collections++, TimeProvider.System, CancellationToken.None);

        Assert.True(collected);
        Assert.Equal(1, collections);
        Assert.Equal(4, calls); // 0 → 5 MB → 10 MB → 10.5 MB: quiet, and nothing looked at after it
    }

    [Fact]
    public async Task A_daemon_that_never_goes_quiet_is_collected_once_the_wait_is_over()
    {
        long bytes = 0;
        var collections = 0;

        var collected = await StartupTrim.WhenQuietAsync(Poll, 1_000_000, TimeSpan.FromMilliseconds(100), () => bytes += 50_000_000, () => collections++, TimeProvider.System, CancellationToken.None);

        Assert.True(collected);
        Assert.Equal(1, collections);
    }

    [Fact]
    public async Task A_daemon_that_stops_first_is_not_collected()
    {
        using var stopping = new CancellationTokenSource();
        long bytes = 0;
        var collections = 0;
        var polls = 0;

        var watch = StartupTrim.WhenQuietAsync(Poll, 1_000_000, TimeSpan.FromMinutes(1), () => { polls++; return bytes += 50_000_000; }, () => collections++, TimeProvider.System, stopping.Token);
        await WaitUntil(() => Volatile.Read(ref polls) >= 3);
        await stopping.CancelAsync();

        Assert.False(await watch);
        Assert.Equal(0, collections);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(5);
        }
    }
}
