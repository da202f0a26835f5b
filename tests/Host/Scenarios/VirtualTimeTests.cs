using System.Diagnostics;
using DarkFactory.Host.Scenarios;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// Virtual time waits for the actors' background work (a review's or a project's step in a task): the clock does not
/// move while a step's code runs, and a step stuck on something only the clock brings is let go after its hold.
/// </summary>
public sealed class VirtualTimeTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Idle_waits_for_held_background_work()
    {
        // arrange: work in flight for 300 ms of wall time, no mailbox busy
        using var time = new VirtualTime(Start);
        var hold = time.Hold();
        var released = Task.Run(async () =>
        {
            await Task.Delay(300);
            hold.Dispose();
        });

        // act
        await Task.Run(() => time.WaitIdle(TimeSpan.Zero));

        // assert: idle only once the work was done
        Assert.True(released.IsCompleted);
    }

    [Fact]
    public async Task Held_work_that_outlives_its_hold_no_longer_keeps_the_clock_still()
    {
        // arrange: work that never ends (an ask that only a virtual timeout answers)
        using var time = new VirtualTime(Start) { MaxHold = TimeSpan.FromMilliseconds(200) };
        using var stuck = time.Hold();
        var wall = Stopwatch.StartNew();

        // act
        await Task.Run(() => time.WaitIdle(TimeSpan.Zero));
        var first = wall.Elapsed;
        await Task.Run(() => time.WaitIdle(TimeSpan.Zero));

        // assert: held once for its 200 ms, then idle at once
        Assert.InRange(first, TimeSpan.FromMilliseconds(190), TimeSpan.FromSeconds(20));
        Assert.True(wall.Elapsed - first < TimeSpan.FromMilliseconds(190), $"second wait took {wall.Elapsed - first}");
    }
}
