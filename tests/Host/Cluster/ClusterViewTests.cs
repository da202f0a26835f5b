using System.Text.Json;
using DarkFactory.Actors.Cluster;
using DarkFactory.Host.Cluster;
using DarkFactory.Messages;
using DarkFactory.Messages.Cluster;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary>The cluster view (<c>df nodes</c>, <c>GET /api/cluster</c>): members by node name, the agents placed on each, the unplaced ones.</summary>
public sealed class ClusterViewTests
{
    private static readonly Placement Placed = new(4,
    [
        AgentPlacement.On("a", "n2"),
        new AgentPlacement("b", null, "no up node has role gpu"),
        new AgentPlacement("c", null, "node n4 left the cluster; failover: stay waits for it", WaitingFor: "n4"),
        AgentPlacement.On("d", "n2"),
        AgentPlacement.On("e", "n1"),
    ]);

    [Fact]
    public void Members_are_named_by_their_node_role_with_roles_status_and_agents()
    {
        var report = ClusterViewBuilder.Build("n1",
        [
            new MemberFacts("akka.tcp://df@127.0.0.1:4054", ["agents", "node:n2", "dc-default"], "up", true),
            new MemberFacts("akka.tcp://df@127.0.0.1:4053", ["node:n1", "control", "agents"], "up", true),
            new MemberFacts("akka.tcp://df@127.0.0.1:4055", ["agents", "node:n3"], "leaving", true),
        ], Placed);

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
        ], Placed);

        Assert.Equal("unreachable", report.Members.Single(m => m.Node == "n2").Status);
        Assert.Equal("joining", report.Members.Single(m => m.Node == "akka.tcp://df@127.0.0.1:4099").Status);
    }

    [Fact]
    public void The_report_carries_the_placement_epoch_and_the_unplaced_agents_with_their_reasons()
    {
        var report = ClusterViewBuilder.Build("n1", [new MemberFacts("akka.tcp://df@127.0.0.1:4053", ["node:n1"], "up", true)], Placed, new Dictionary<string, string> { ["placement"] = "n1" });

        Assert.Equal(4, report.Epoch);
        Assert.Equal([new UnplacedAgentView("b", "no up node has role gpu"), new UnplacedAgentView("c", "node n4 left the cluster; failover: stay waits for it")], report.Unplaced);
        Assert.Equal("n1", report.Singletons["placement"]);
        Assert.Empty(ClusterViewBuilder.Build("n1", [], Placement.None).Unplaced);

        var moving = new Placement(5, [new AgentPlacement("a", null, "moving from node n1 to node n2: waiting for node n1 to stop it", MovingFrom: "n1", MovingTo: "n2", ReleaseEpoch: 5)]);
        var view = ClusterViewBuilder.Build("n1", [], moving).Unplaced.Single();
        Assert.Equal(("n1", "n2"), (view.MovingFrom, view.MovingTo));
        var json = JsonSerializer.Serialize(view, DarkFactoryJson.Options);
        Assert.Contains("\"moving_from\":\"n1\"", json);
        Assert.Contains("\"moving_to\":\"n2\"", json);
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
