using DarkFactory.Actors.Routing.Admission;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing.Admission;

public sealed class SlidingWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Entries_count_for_one_span_then_fall_out()
    {
        var w = new SlidingWindow(TimeSpan.FromMinutes(1));
        w.Add(T0, 1);
        w.Add(T0.AddSeconds(20), 2);

        Assert.Equal(3, w.Total(T0.AddSeconds(59)));
        Assert.Equal(2, w.Total(T0.AddSeconds(60))); // the first one is exactly a minute old: out
        Assert.Equal(0, w.Total(T0.AddSeconds(80)));
    }

    [Fact]
    public void Below_at_is_when_enough_old_entries_fall_out()
    {
        var w = new SlidingWindow(TimeSpan.FromMinutes(1));
        w.Add(T0, 1);
        w.Add(T0.AddSeconds(10), 1);
        w.Add(T0.AddSeconds(30), 1);

        Assert.Null(w.BelowAt(4, T0.AddSeconds(31))); // 3 < 4: room now
        Assert.Equal(T0.AddSeconds(60), w.BelowAt(3, T0.AddSeconds(31))); // the first one leaves: 2 < 3
        Assert.Equal(T0.AddSeconds(70), w.BelowAt(2, T0.AddSeconds(31)));
        Assert.Equal(T0.AddSeconds(70), w.BelowAt(2, T0.AddSeconds(65))); // the first one is gone already
        Assert.Null(w.BelowAt(2, T0.AddSeconds(70)));
    }

    [Fact]
    public void Tokens_are_summed_and_a_big_report_holds_until_it_falls_out()
    {
        var w = new SlidingWindow(TimeSpan.FromMinutes(1));
        w.Add(T0, 900);
        w.Add(T0.AddSeconds(5), 50);
        w.Add(T0.AddSeconds(6), 0); // nothing recorded

        Assert.Equal(950, w.Total(T0.AddSeconds(6)));
        Assert.Equal(T0.AddSeconds(60), w.BelowAt(1000 - 100, T0.AddSeconds(6)));
        Assert.Null(w.BelowAt(1000, T0.AddSeconds(6)));
    }
}
