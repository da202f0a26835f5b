using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;
using Xunit;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>The other nodes' watch of this node's agents' output: leases per node, withdrawals, and the byte budget.</summary>
public sealed class OutputInterestsTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 22, 0, 0, TimeSpan.Zero);
    private readonly OutputInterests _interests = new(TimeSpan.FromSeconds(15), bytesPerSecond: 1000);

    [Fact]
    public void An_agent_is_watched_while_one_nodes_lease_holds_and_a_node_replaces_what_it_said()
    {
        _interests.Said(new OutputInterest("n2", ["a", "b"]), At);
        _interests.Said(new OutputInterest("n3", ["a"]), At.AddSeconds(10));
        Assert.True(_interests.Watched("b", At.AddSeconds(14)));
        Assert.False(_interests.Watched("b", At.AddSeconds(15))); // n2's lease is over
        Assert.True(_interests.Watched("a", At.AddSeconds(20))); // n3's holds
        Assert.False(_interests.Watched("c", At));

        _interests.Said(new OutputInterest("n3", []), At.AddSeconds(21)); // withdrawn at once
        Assert.False(_interests.Watched("a", At.AddSeconds(21)));
        Assert.Empty(_interests.Agents);
    }

    [Fact]
    public void What_does_not_fit_a_seconds_budget_is_held_back_and_counted_for_the_next_batch_sent()
    {
        _interests.Said(new OutputInterest("n2", ["a"]), At);
        Assert.Equal(0, _interests.Send("a", 600, 6, At));
        Assert.Null(_interests.Send("a", 600, 6, At.AddMilliseconds(100)));
        Assert.Equal(6, _interests.Send("a", 400, 4, At.AddMilliseconds(200))); // still fits this second: goes, telling the 6 held back
        Assert.Null(_interests.Send("a", 1, 1, At.AddMilliseconds(300)));
        Assert.Equal(1, _interests.Send("a", 5000, 50, At.AddSeconds(1))); // a new second: a batch larger than the budget still goes, alone
        Assert.Null(_interests.Send("a", 1, 1, At.AddSeconds(1.5)));
    }
}
