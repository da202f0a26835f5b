using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Cluster;

public sealed class PlacementPlannerTests
{
    private static PlacementAgent Agent(string name, string? node = null, FailoverPolicy? failover = null) =>
        PlacementAgent.Of(new AgentSpec { Name = name, Cli = "claude", Node = node, Failover = failover });

    private static PlacementMember Up(string node, int? max = null, params string[] roles) =>
        new(node, roles.Length == 0 ? ["control", "agents"] : roles, true, max);

    private static PlacementMember Unreachable(string node, params string[] roles) =>
        new(node, roles.Length == 0 ? ["control", "agents"] : roles, false);

    private static Dictionary<string, string?> Nodes(Placement p) => p.Agents.ToDictionary(a => a.Agent, a => a.Node);

    [Fact]
    public void A_pin_by_name_places_on_that_node_even_past_max_agents()
    {
        var plan = PlacementPlanner.Plan(Placement.None, [Up("n1"), Up("n2", max: 1)], [Agent("a", "n2"), Agent("b", "n2")]);

        Assert.Equal("n2", plan.Of("a")!.Node);
        Assert.Equal("n2", plan.Of("b")!.Node);
        Assert.Equal(1, plan.Epoch);
    }

    [Fact]
    public void An_agent_pinned_to_an_absent_or_unreachable_node_stays_unplaced_with_a_reason_and_is_not_moved()
    {
        var plan = PlacementPlanner.Plan(Placement.None, [Up("n1"), Unreachable("n3")], [Agent("a", "n2"), Agent("b", "n3")]);

        Assert.Null(plan.Of("a")!.Node);
        Assert.Equal("pinned to node n2, which is not up", plan.Of("a")!.Reason);
        Assert.Equal("n2", plan.Of("a")!.WaitingFor);
        Assert.Null(plan.Of("b")!.Node);

        var later = PlacementPlanner.Plan(plan, [Up("n1"), Up("n2"), Up("n3")], [Agent("a", "n2"), Agent("b", "n3")]);
        Assert.Equal("n2", later.Of("a")!.Node);
        Assert.Equal("n3", later.Of("b")!.Node);
        Assert.Equal(2, later.Epoch);
    }

    [Fact]
    public void A_role_pin_chooses_among_the_up_members_with_that_role()
    {
        var members = new[] { Up("n1", null, "control", "agents"), Up("n2", null, "agents", "gpu"), Up("n3", null, "agents", "gpu") };
        var plan = PlacementPlanner.Plan(Placement.None, members, [Agent("a", "role:gpu"), Agent("b", "role:gpu"), Agent("c", "role:review")]);

        Assert.Equal("n2", plan.Of("a")!.Node);
        Assert.Equal("n3", plan.Of("b")!.Node);
        Assert.Null(plan.Of("c")!.Node);
        Assert.Equal("no up node has role review", plan.Of("c")!.Reason);
    }

    [Fact]
    public void Unpinned_agents_spread_least_loaded_over_the_agents_role_within_max_agents()
    {
        var members = new[] { Up("n1", 2), Up("n2", 1), Up("n3", null, "control") };
        var agents = new[] { Agent("a"), Agent("b"), Agent("c"), Agent("d"), Agent("p", "n1") };
        var plan = PlacementPlanner.Plan(Placement.None, members, agents);

        // p is pinned to n1 first; then a -> n2 (0 < 1), b -> n1 (1 of 2), c and d find every agents node full
        Assert.Equal(new Dictionary<string, string?> { ["a"] = "n2", ["b"] = "n1", ["c"] = null, ["d"] = null, ["p"] = "n1" }, Nodes(plan));
        Assert.Equal("every up node with role agents is full (max_agents: n1 2, n2 1)", plan.Of("c")!.Reason);
        Assert.DoesNotContain(plan.Agents, p => p.Node == "n3");
    }

    [Fact]
    public void A_placed_agent_does_not_move_when_another_node_joins_and_the_epoch_stays()
    {
        var agents = new[] { Agent("a"), Agent("b"), Agent("c") };
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1")], agents);
        Assert.All(first.Agents, p => Assert.Equal("n1", p.Node));

        var joined = PlacementPlanner.Plan(first, [Up("n1"), Up("n2"), new PlacementMember("n3", ["agents"], false)], [.. agents, Agent("d")]);

        Assert.Equal(new Dictionary<string, string?> { ["a"] = "n1", ["b"] = "n1", ["c"] = "n1", ["d"] = "n2" }, Nodes(joined));
        Assert.Equal(2, joined.Epoch);
        var again = PlacementPlanner.Plan(joined, [Up("n1"), Up("n2"), Up("n3")], [.. agents, Agent("d")]);
        Assert.Equal(Nodes(joined), Nodes(again));
        Assert.Equal(2, again.Epoch);
    }

    [Fact]
    public void An_unreachable_node_keeps_its_agents_until_it_is_removed()
    {
        var agents = new[] { Agent("a", failover: FailoverPolicy.Move) };
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1")], agents);

        var unreachable = PlacementPlanner.Plan(first, [Unreachable("n1"), Up("n2")], agents);
        Assert.Equal("n1", unreachable.Of("a")!.Node);
        Assert.Equal(first.Epoch, unreachable.Epoch);

        var removed = PlacementPlanner.Plan(unreachable, [Up("n2")], agents);
        Assert.Equal("n2", removed.Of("a")!.Node);
        Assert.Equal(first.Epoch + 1, removed.Epoch);
    }

    [Fact]
    public void Failover_stay_waits_unplaced_for_its_node_and_goes_back_to_it()
    {
        var agents = new[] { Agent("a", failover: FailoverPolicy.Stay), Agent("p", "n1") };
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1")], agents);

        var lost = PlacementPlanner.Plan(first, [Up("n2")], agents);
        Assert.Null(lost.Of("a")!.Node);
        Assert.Equal("node n1 left the cluster; failover: stay waits for it", lost.Of("a")!.Reason);
        Assert.Equal("n1", lost.Of("a")!.WaitingFor);
        Assert.Null(lost.Of("p")!.Node); // a pin by name stays by default

        var stillLost = PlacementPlanner.Plan(lost, [Up("n2"), Up("n3")], agents);
        Assert.Null(stillLost.Of("a")!.Node);
        Assert.Equal(lost.Epoch, stillLost.Epoch);

        var joining = PlacementPlanner.Plan(stillLost, [Up("n2"), new PlacementMember("n1", ["agents"], false)], agents);
        Assert.Null(joining.Of("a")!.Node);

        var back = PlacementPlanner.Plan(joining, [Up("n2"), Up("n1")], agents);
        Assert.Equal("n1", back.Of("a")!.Node);
        Assert.Equal("n1", back.Of("p")!.Node);
    }

    [Fact]
    public void Failover_never_parks_the_agent_even_when_its_node_comes_back_until_the_fleet_changes_its_failover()
    {
        var agents = new[] { Agent("a", failover: FailoverPolicy.Never) };
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1")], agents);

        var lost = PlacementPlanner.Plan(first, [Up("n2")], agents);
        Assert.Null(lost.Of("a")!.Node);
        Assert.True(lost.Of("a")!.Parked);
        Assert.Equal("node n1 left the cluster; failover: never keeps it stopped", lost.Of("a")!.Reason);

        Assert.Null(PlacementPlanner.Plan(lost, [Up("n2"), Up("n1")], agents).Of("a")!.Node);

        var moved = PlacementPlanner.Plan(lost, [Up("n2"), Up("n1")], [Agent("a", failover: FailoverPolicy.Move)]);
        Assert.Equal("n1", moved.Of("a")!.Node); // least loaded, ties by name
    }

    [Fact]
    public void Failover_move_places_the_agent_on_another_eligible_node_once_its_node_is_removed()
    {
        var agents = new[] { Agent("a", "role:gpu", FailoverPolicy.Move), Agent("b") };
        var members = new[] { Up("n1", null, "agents", "gpu"), Up("n2", null, "agents"), Up("n3", null, "agents", "gpu") };
        var first = PlacementPlanner.Plan(Placement.None, members, agents);
        Assert.Equal("n1", first.Of("a")!.Node);
        Assert.Equal("n2", first.Of("b")!.Node);

        var moved = PlacementPlanner.Plan(first, [members[1], members[2]], agents);
        Assert.Equal("n3", moved.Of("a")!.Node);
        Assert.Equal("n2", moved.Of("b")!.Node);
    }

    [Fact]
    public void A_reload_that_changes_a_pin_hands_the_agent_over_and_removes_a_dropped_agent()
    {
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1"), Up("n2")], [Agent("a", "n1"), Agent("gone")]);
        var reloaded = PlacementPlanner.Plan(first, [Up("n1"), Up("n2")], [Agent("a", "n2")]);

        // placed on no node (n1 drops it and stops it) until n1 confirms; n2 does not get it yet
        Assert.Equal(new AgentPlacement("a", null, "moving from node n1 to node n2: waiting for node n1 to stop it", MovingFrom: "n1", MovingTo: "n2", ReleaseEpoch: first.Epoch + 1), reloaded.Of("a"));
        Assert.Empty(reloaded.On("n1"));
        Assert.Empty(reloaded.On("n2"));
        Assert.Null(reloaded.Of("gone"));
        Assert.Equal(first.Epoch + 1, reloaded.Epoch);

        var released = PlacementPlanner.Plan(reloaded, [Up("n1"), Up("n2")], [Agent("a", "n2")], new Dictionary<string, long> { ["n1"] = reloaded.Epoch });
        Assert.Equal(AgentPlacement.On("a", "n2"), released.Of("a"));
        Assert.Equal(reloaded.Epoch + 1, released.Epoch);
    }

    [Fact]
    public void A_handed_over_agent_is_not_placed_elsewhere_while_its_old_node_is_a_member_and_has_not_confirmed_that_epoch()
    {
        var agents = new[] { Agent("a", "role:gpu") };
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1", null, "agents", "gpu"), Up("n2", null, "agents")], [Agent("a")]);
        Assert.Equal("n1", first.Of("a")!.Node);
        var moving = PlacementPlanner.Plan(first, [Up("n1", null, "agents"), Up("n2", null, "agents", "gpu")], agents);
        Assert.Equal(("n1", "n2"), (moving.Of("a")!.MovingFrom, moving.Of("a")!.MovingTo));

        // replanned again and again (a resend, a member change, its node silent or unreachable, an older confirmation): still moving, same epoch
        var older = new Dictionary<string, long> { ["n1"] = moving.Epoch - 1, ["n2"] = moving.Epoch };
        foreach (var members in new[]
        {
            new[] { Up("n1", null, "agents"), Up("n2", null, "agents", "gpu") },
            [Unreachable("n1", "agents"), Up("n2", null, "agents", "gpu"), Up("n3", null, "agents", "gpu")],
        })
        {
            var again = PlacementPlanner.Plan(moving, members, agents, older);
            Assert.Equal(moving.Epoch, again.Epoch);
            Assert.Equal(moving.Of("a"), again.Of("a"));
            Assert.All(members, m => Assert.Empty(again.On(m.Node)));
        }

        // its target's place is held: another agent of the role does not take n2's only slot meanwhile
        var full = PlacementPlanner.Plan(first, [Up("n1", null, "agents"), Up("n2", 1, "agents", "gpu")], [.. agents, Agent("b", "role:gpu")]);
        Assert.Equal("n2", full.Of("a")!.MovingTo);
        Assert.Null(full.Of("b")!.Node);
    }

    [Fact]
    public void A_handed_over_agent_whose_old_node_is_removed_follows_the_rules_of_node_loss()
    {
        var before = PlacementPlanner.Plan(Placement.None, [Up("n1")], [Agent("m"), Agent("s", failover: FailoverPolicy.Stay), Agent("x", failover: FailoverPolicy.Never)]);
        var members = new[] { Up("n1"), Up("n2", null, "agents", "gpu") };
        var agents = new[] { Agent("m", "role:gpu"), Agent("s", "role:gpu", FailoverPolicy.Stay), Agent("x", "role:gpu", FailoverPolicy.Never) };
        var moving = PlacementPlanner.Plan(before, members, agents); // a reload pinned them to a role only n2 has
        Assert.All(moving.Agents, p => Assert.Equal(("n1", "n2", (string?)null), (p.MovingFrom, p.MovingTo, p.Node)));
        var onN1 = new[] { "m", "s", "x" };

        var lost = PlacementPlanner.Plan(moving, [Up("n2", null, "agents", "gpu")], agents); // n1 removed before it confirmed
        foreach (var a in onN1)
        {
            var p = lost.Of(a)!;
            Assert.Null(p.MovingFrom);
            switch (a)
            {
                case "m":
                    Assert.Equal("n2", p.Node);
                    break;
                case "s":
                    Assert.Equal(("n1", (string?)null), (p.WaitingFor, p.Node));
                    break;
                default:
                    Assert.True(p.Parked);
                    break;
            }
        }
    }

    [Fact]
    public void A_reload_undone_before_the_release_puts_the_agent_back_on_its_node_and_a_move_to_no_up_node_waits_for_the_release_too()
    {
        var first = PlacementPlanner.Plan(Placement.None, [Up("n1"), Up("n2")], [Agent("a", "n1")]);
        var moving = PlacementPlanner.Plan(first, [Up("n1"), Up("n2")], [Agent("a", "n3")]);
        Assert.Equal("moving off node n1: waiting for node n1 to stop it; then pinned to node n3, which is not up", moving.Of("a")!.Reason);

        // n3 joins before n1 released it: still not placed there
        var joined = PlacementPlanner.Plan(moving, [Up("n1"), Up("n2"), Up("n3")], [Agent("a", "n3")]);
        Assert.Equal(("n1", "n3", (string?)null), (joined.Of("a")!.MovingFrom, joined.Of("a")!.MovingTo, joined.Of("a")!.Node));

        // the reload undone: back on n1 (n1 starts it again if it had stopped it; no other node ran it)
        var undone = PlacementPlanner.Plan(joined, [Up("n1"), Up("n2"), Up("n3")], [Agent("a", "n1")]);
        Assert.Equal(AgentPlacement.On("a", "n1"), undone.Of("a"));
    }

    [Fact]
    public void Each_agent_is_placed_on_at_most_one_node_and_a_node_lists_its_own()
    {
        var agents = Enumerable.Range(0, 30).Select(i => Agent($"a{i:00}")).ToList();
        var plan = PlacementPlanner.Plan(Placement.None, [Up("n1"), Up("n2"), Up("n3")], agents);

        Assert.Equal(30, plan.Agents.Select(a => a.Agent).Distinct().Count());
        Assert.Equal([10, 10, 10], new[] { "n1", "n2", "n3" }.Select(n => plan.On(n).Count));
        Assert.Equal(30, new[] { "n1", "n2", "n3" }.SelectMany(plan.On).Distinct().Count());
    }

    [Fact]
    public void A_node_accepts_an_assignment_of_the_same_or_a_newer_epoch_never_an_older_one()
    {
        var gate = new PlacementEpochGate();
        Assert.True(gate.Admits(1));
        gate = gate.Accept(3);
        Assert.Equal(3, gate.Accepted);
        Assert.True(gate.Admits(3));
        Assert.False(gate.Admits(2));
        Assert.Equal(3, gate.Accept(2).Accepted);
        Assert.Equal(4, gate.Accept(4).Accepted);
    }
}
