using DarkFactory.Host.Cluster;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary><c>df agents</c> on a cluster node: every agent of the fleet with its node, from every node's answer.</summary>
public sealed class ClusterAgentsTests
{
    private static readonly IReadOnlyList<AgentSpec> Fleet =
        [.. new[] { "mine", "theirs", "silent", "nowhere", "late" }.Select(n => new AgentSpec { Name = n, Layer = LayerName.Core, Cli = "command", Command = ["true"] })];

    private static readonly Placement Placed = new(3,
    [
        AgentPlacement.On("mine", "n1"),
        AgentPlacement.On("theirs", "n2"),
        AgentPlacement.On("silent", "n3"),
        new AgentPlacement("nowhere", null, "no up node has role gpu"),
        AgentPlacement.On("late", "n2"),
    ]);

    private static AgentStatus Running(string name, int pid) => new() { Agent = name, Layer = LayerName.Core, State = AgentState.Running, Pid = pid };

    [Fact]
    public void Every_agent_of_the_fleet_is_listed_once_with_its_node_and_an_unanswering_node_shows_unknown()
    {
        var others = new Dictionary<string, AgentsSnapshot?>
        {
            ["n2"] = new([Running("theirs", 22), Running("mine", 99)]), // n2 still reports an agent placed elsewhere: not taken
            ["n3"] = null,
        };

        var agents = ClusterAgents.Merge("n1", Fleet, [Running("mine", 11)], others, Placed);

        Assert.Equal(["mine", "theirs", "silent", "nowhere", "late"], agents.Select(a => a.Agent));
        Assert.Equal(["n1", "n2", "n3", null, "n2"], agents.Select(a => a.Node));
        Assert.Equal(11, agents[0].Pid);
        Assert.Equal(22, agents[1].Pid);
        Assert.Equal(AgentState.Unknown, agents[2].State);
        Assert.Equal("node n3 did not answer in time", agents[2].Reason);
        Assert.Equal(AgentState.Stopped, agents[3].State);
        Assert.Equal("placed on no node: no up node has role gpu", agents[3].Reason);
        Assert.Equal(AgentState.Unknown, agents[4].State);
        Assert.Equal("node n2 has not reported it yet", agents[4].Reason);
    }

    [Fact]
    public void An_agent_handed_over_shows_on_its_old_node_while_it_stops_there_then_as_moving_on_no_node()
    {
        const string why = "moving from node n2 to node n1: waiting for node n2 to stop it";
        var placed = new Placement(4, [new AgentPlacement("theirs", null, why, MovingFrom: "n2", MovingTo: "n1", ReleaseEpoch: 4)]);
        var fleet = Fleet.Where(a => a.Name == "theirs").ToList();
        var stopping = Running("theirs", 22) with { State = AgentState.Stopping };

        var leaving = ClusterAgents.Merge("n1", fleet, [], new Dictionary<string, AgentsSnapshot?> { ["n2"] = new([stopping]) }, placed).Single();
        Assert.Equal(("n2", AgentState.Stopping, 22, why), (leaving.Node, leaving.State, leaving.Pid, leaving.Reason));

        var gone = ClusterAgents.Merge("n1", fleet, [], new Dictionary<string, AgentsSnapshot?> { ["n2"] = new([]) }, placed).Single();
        Assert.Equal((null, AgentState.Stopped, why), (gone.Node, gone.State, gone.Reason));
    }

    [Fact]
    public void Before_any_placement_every_agent_is_placed_nowhere_with_that_reason()
    {
        var agents = ClusterAgents.Merge("n1", Fleet, [], new Dictionary<string, AgentsSnapshot?>(), Placement.None);

        Assert.All(agents, a => Assert.Null(a.Node));
        Assert.All(agents, a => Assert.Equal("placed on no node: no placement has reached this node yet", a.Reason));
    }

    [Fact]
    public void The_json_answer_always_names_the_node_null_for_an_agent_placed_nowhere()
    {
        var others = new Dictionary<string, AgentsSnapshot?> { ["n2"] = new([Running("theirs", 22), Running("late", 23)]), ["n3"] = null };

        var json = ClusterAgents.ToJson(ClusterAgents.Merge("n1", Fleet, [Running("mine", 11)], others, Placed));

        var byName = json.ToDictionary(a => (string)a!["name"]!, a => a!.AsObject());
        Assert.Equal("n1", (string?)byName["mine"]["node"]);
        Assert.Equal("running", (string?)byName["mine"]["state"]);
        Assert.Equal("unknown", (string?)byName["silent"]["state"]);
        Assert.Equal("n3", (string?)byName["silent"]["node"]);
        Assert.True(byName["nowhere"].ContainsKey("node"));
        Assert.Null(byName["nowhere"]["node"]);
        Assert.Equal("stopped", (string?)byName["nowhere"]["state"]);
        Assert.Equal("placed on no node: no up node has role gpu", (string?)byName["nowhere"]["reason"]);
    }
}
