using DarkFactory.Host.Cluster;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>The cluster view (<c>df nodes</c>, <c>GET /api/cluster</c>) and which agents a node runs before the placement coordinator.</summary>
public sealed class ClusterViewTests
{
    private static AgentSpec Agent(string name, string? node = null) => new() { Name = name, Layer = LayerName.Core, Cli = "command", Command = ["true"], Node = node };

    private static readonly FleetSpec Fleet = new()
    {
        Agents = [Agent("a", "n2"), Agent("b", "role:gpu"), Agent("c"), Agent("d", "n2"), Agent("e", "n1")],
    };

    [Fact]
    public void Members_are_named_by_their_node_role_with_roles_status_and_agents()
    {
        var report = ClusterViewBuilder.Build("n1",
        [
            new MemberFacts("akka.tcp://df@127.0.0.1:4054", ["agents", "node:n2", "dc-default"], "up", true),
            new MemberFacts("akka.tcp://df@127.0.0.1:4053", ["node:n1", "control", "agents"], "up", true),
            new MemberFacts("akka.tcp://df@127.0.0.1:4055", ["agents", "node:n3"], "leaving", true),
        ], Fleet);

        Assert.Equal("n1", report.Self);
        Assert.Equal(["n1", "n2", "n3"], report.Members.Select(m => m.Node));
        var n2 = report.Members[1];
        Assert.Equal(new[] { "agents" }, n2.Roles);
        Assert.Equal("akka.tcp://df@127.0.0.1:4054", n2.Address);
        Assert.Equal("up", n2.Status);
        Assert.Equal(["a", "d"], n2.Agents);
        Assert.Equal(["agents", "control"], report.Members[0].Roles);
        Assert.Equal(["e"], report.Members[0].Agents);
        Assert.Equal("leaving", report.Members[2].Status);
        Assert.Empty(report.Members[2].Agents);
        Assert.Empty(report.Singletons);
    }

    [Fact]
    public void A_member_this_node_does_not_reach_is_unreachable_and_one_without_a_node_role_is_named_by_address()
    {
        var report = ClusterViewBuilder.Build("n1",
        [
            new MemberFacts("akka.tcp://df@127.0.0.1:4054", ["node:n2"], "up", false),
            new MemberFacts("akka.tcp://df@127.0.0.1:4099", ["agents"], "joining", true),
        ], Fleet);

        Assert.Equal("unreachable", report.Members.Single(m => m.Node == "n2").Status);
        Assert.Equal("joining", report.Members.Single(m => m.Node == "akka.tcp://df@127.0.0.1:4099").Status);
    }

    [Fact]
    public void A_node_runs_only_the_agents_pinned_to_it_by_name_and_the_rest_wait_for_placement()
    {
        Assert.Equal(["a", "d"], NodePlacement.ForNode(Fleet, "n2").Agents.Select(a => a.Name));
        Assert.Equal(["e"], NodePlacement.ForNode(Fleet, "n1").Agents.Select(a => a.Name));
        Assert.Empty(NodePlacement.ForNode(Fleet, "n3").Agents);
        Assert.Equal(["b", "c"], NodePlacement.Unplaced(Fleet));
    }

    [Fact]
    public void No_agent_is_placed_on_two_nodes()
    {
        var nodes = new[] { "n1", "n2", "n3" };
        var placed = nodes.SelectMany(n => NodePlacement.AgentsOn(Fleet, n)).Select(a => a.Name).ToList();

        Assert.Equal(placed.Distinct().Count(), placed.Count);
    }

    [Theory]
    [InlineData(Akka.Cluster.MemberStatus.Up, "up")]
    [InlineData(Akka.Cluster.MemberStatus.WeaklyUp, "weakly-up")]
    [InlineData(Akka.Cluster.MemberStatus.Leaving, "leaving")]
    [InlineData(Akka.Cluster.MemberStatus.Exiting, "exiting")]
    [InlineData(Akka.Cluster.MemberStatus.Removed, "removed")]
    public void Member_status_is_spelled_for_the_api(Akka.Cluster.MemberStatus status, string name) =>
        Assert.Equal(name, ClusterViewBuilder.StatusName(status));
}
