using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// A node's <see cref="ClusterFactory"/>, the factory of the control-plane singletons: the whole fleet (an ask before it
/// is loaded waits), followers told each fleet, and an agent command routed by the accepted placement — to this node's
/// gateway, to the owning node's placement-node with the asker kept (the "other node" is this test system's own address),
/// or refused with the reason when the agent is placed nowhere or its node is not reached.
/// </summary>
public sealed class ClusterFactorySpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly FleetSpec Fleet = new()
    {
        Agents = [new AgentSpec { Name = "here", Cli = "claude" }, new AgentSpec { Name = "there", Cli = "claude" }, new AgentSpec { Name = "nowhere", Cli = "claude" }],
    };

    private static readonly Placement Placed = new(3, [new AgentPlacement("here", "n1"), new AgentPlacement("there", "n2"), new AgentPlacement("nowhere", null, "pinned to node n9, which is not up")]);

    private List<MemberFacts> _members = [];

    private IActorRef Factory(IActorRef gateway) =>
        Sys.ActorOf(ClusterFactory.Props("n1", gateway, () => _members));

    /// <summary>This node n1 (its gateway a probe) and n2, both up, whose placement-node is a probe (one actor system:
    /// both members have its address).</summary>
    private (Akka.TestKit.TestProbe Gateway, Akka.TestKit.TestProbe Remote, IActorRef Factory) TwoNodes()
    {
        var gateway = CreateTestProbe();
        var remote = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new Relay(remote.Ref)), PlacementCoordinator.NodeActorName); // n2's placement-node
        var self = ((ExtendedActorSystem)Sys).Provider.DefaultAddress.ToString();
        _members = [new MemberFacts(self, ["control", "node:n1"], "up", true), new MemberFacts(self, ["agents", "node:n2"], "up", true)];
        return (gateway, remote, Factory(gateway.Ref));
    }

    [Fact]
    public async Task The_whole_fleet_answers_GetFleet_once_declared_and_reaches_every_follower()
    {
        var factory = Factory(CreateTestProbe().Ref);
        var follower = CreateTestProbe();
        factory.Tell(new ClusterFactory.Follow(follower.Ref));

        var early = factory.Ask<CurrentFleet>(GetFleet.Instance, Wait); // before the daemon loaded its fleet: waits
        await follower.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Assert.False(early.IsCompleted);

        factory.Tell(new PlacementNode.Declare(Fleet));

        Assert.Equal(Fleet, (await early).Fleet);
        Assert.Equal(Fleet, (await follower.ExpectMsgAsync<ApplyFleet>(Wait)).Fleet);
        var reloaded = Fleet with { Agents = [.. Fleet.Agents.Take(1)] };
        factory.Tell(new PlacementNode.Declare(reloaded));
        Assert.Equal(reloaded, (await follower.ExpectMsgAsync<ApplyFleet>(Wait)).Fleet);
        var now = await factory.Ask<CurrentFleet>(GetFleet.Instance, Wait);
        Assert.Equal((reloaded, 2), (now.Fleet, now.Revision));
    }

    [Fact]
    public async Task An_agent_command_goes_to_the_node_that_runs_the_agent_and_its_answer_to_the_asker()
    {
        var (gateway, remote, factory) = TwoNodes();

        // no placement reached this node yet: refused, naming why
        var early = await factory.Ask<CommandResult>(new StartAgent("there"), Wait);
        Assert.Equal((false, CommandOutcome.Unplaced), (early.Ok, early.Outcome));
        factory.Tell(new NodeAssignment("n1", Placed));

        // placed here: this node's gateway, the asker kept
        var here = factory.Ask<CommandResult>(new StartAgent("here", By: Requester.Scheduler), Wait);
        Assert.Equal("here", (await gateway.ExpectMsgAsync<StartAgent>(Wait)).Agent);
        gateway.Reply(CommandResult.Done(CommandOutcome.Started, "started", "r1"));
        Assert.Equal("r1", (await here).RunId);

        // placed on n2: n2's placement-node, the asker kept
        var there = factory.Ask<CommandResult>(new RestartAgent("there", Requester.Scheduler), Wait);
        Assert.Equal("there", (await remote.ExpectMsgAsync<RestartAgent>(Wait)).Agent);
        remote.Reply(CommandResult.Done(CommandOutcome.Restarting, "restarting"));
        Assert.Equal(CommandOutcome.Restarting, (await there).Outcome);

        // a project's instance of an agent (agent@project) goes where its agent is placed: it runs in that agent's layer
        var instance = factory.Ask<CommandResult>(new StartAgent("there@p-7f3a", "plan the work", ProjectId: "p-7f3a"), Wait);
        Assert.Equal("there@p-7f3a", (await remote.ExpectMsgAsync<StartAgent>(Wait)).Agent);
        remote.Reply(CommandResult.Done(CommandOutcome.Started, "started", "r9"));
        Assert.Equal("r9", (await instance).RunId);
        factory.Tell(new StopAgent("here@p-7f3a"));
        Assert.Equal("here@p-7f3a", (await gateway.ExpectMsgAsync<StopAgent>(Wait)).Agent);

        // placed nowhere, or on a node this node does not reach: refused at once with the reason
        var nowhere = await factory.Ask<CommandResult>(new StartAgent("nowhere"), Wait);
        Assert.Equal((CommandOutcome.Unplaced, "agent 'nowhere' is placed on no node: pinned to node n9, which is not up"), (nowhere.Outcome, nowhere.Message));
        _members = [_members[0], _members[1] with { Reachable = false }];
        var unreachable = await factory.Ask<CommandResult>(new StartAgent("there"), Wait);
        Assert.Equal((CommandOutcome.NoAnswer, "agent 'there' runs on node n2, which node n1 does not reach (unreachable)"), (unreachable.Outcome, unreachable.Message));
        await remote.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        // anything else is this node's gateway's
        factory.Tell(GetAgents.Instance);
        await gateway.ExpectMsgAsync<GetAgents>(Wait);
    }

    [Fact]
    public async Task An_agents_history_and_its_run_are_asked_of_the_node_that_runs_it()
    {
        var (gateway, remote, factory) = TwoNodes();
        factory.Tell(new NodeAssignment("n1", Placed));
        var running = new AgentStatus { Agent = "there", State = AgentState.Running, RunId = "r7" };

        // placed on n2: its history and its status from n2 (the status picked out of n2's snapshot)
        var history = factory.Ask<AgentHistory>(new GetHistory("there", 500), Wait);
        Assert.Equal("there", (await remote.ExpectMsgAsync<GetHistory>(Wait)).Agent);
        remote.Reply(new AgentHistory("there", []));
        Assert.Equal("there", (await history).Agent);
        var run = factory.Ask<AgentsSnapshot>(new GetAgentRun("there"), Wait);
        await remote.ExpectMsgAsync<GetAgents>(Wait);
        remote.Reply(new AgentsSnapshot([running, new AgentStatus { Agent = "other", State = AgentState.Running }]));
        Assert.Equal([running], (await run).Agents);

        // placed here: this node's gateway
        factory.Tell(new GetHistory("here"));
        await gateway.ExpectMsgAsync<GetHistory>(Wait);
        var mine = factory.Ask<AgentsSnapshot>(new GetAgentRun("here"), Wait);
        await gateway.ExpectMsgAsync<GetAgents>(Wait);
        gateway.Reply(new AgentsSnapshot([running with { Agent = "here" }]));
        Assert.Equal("here", Assert.Single((await mine).Agents).Agent);

        // placed nowhere: no status at once; the history is this node's (read from the shared store)
        Assert.Empty((await factory.Ask<AgentsSnapshot>(new GetAgentRun("nowhere"), Wait)).Agents);
        factory.Tell(new GetHistory("nowhere"));
        await gateway.ExpectMsgAsync<GetHistory>(Wait);
        await remote.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_runs_output_is_asked_of_the_node_that_runs_the_agent_and_no_answer_is_a_typed_reason()
    {
        var gateway = CreateTestProbe();
        var remote = CreateTestProbe();
        var tails = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new Relay(remote.Ref)), PlacementCoordinator.NodeActorName);
        var self = ((ExtendedActorSystem)Sys).Provider.DefaultAddress.ToString();
        _members = [new MemberFacts(self, ["control", "node:n1"], "up", true), new MemberFacts(self, ["agents", "node:n2"], "up", true)];
        var factory = Sys.ActorOf(ClusterFactory.Props("n1", gateway.Ref, () => _members, tails.Ref));
        factory.Tell(new NodeAssignment("n1", Placed));

        // placed on n2: n2's placement-node, its answer to the asker
        var there = factory.Ask<RunOutput>(new GetRunOutput("there", "r7"), Wait);
        Assert.Equal("r7", (await remote.ExpectMsgAsync<GetRunOutput>(Wait)).RunId);
        remote.Reply(new RunOutput("there", "r7", RunOutputOutcome.Found, "summary: done", "n2"));
        Assert.Equal(("summary: done", "n2"), ((await there).Text, (await there).Node));

        // placed here: this node's tails
        var here = factory.Ask<RunOutput>(new GetRunOutput("here", "r1"), Wait);
        await tails.ExpectMsgAsync<GetRunOutput>(Wait);
        tails.Reply(new RunOutput("here", "r1", RunOutputOutcome.Found, string.Empty, "n1"));
        Assert.Equal(RunOutputOutcome.Found, (await here).Outcome);

        // placed nowhere: no answer at once, with the placement's reason
        var nowhere = await factory.Ask<RunOutput>(new GetRunOutput("nowhere", "r2"), Wait);
        Assert.Equal((RunOutputOutcome.NoAnswer, "agent 'nowhere' is placed on no node: pinned to node n9, which is not up"), (nowhere.Outcome, nowhere.Reason));

        // n2 silent: no answer after the bound, naming the node (never a hang, never an empty summary taken for one)
        var silent = factory.Ask<RunOutput>(new GetRunOutput("there", "r8"), Wait + ClusterFactory.AskTimeout);
        await remote.ExpectMsgAsync<GetRunOutput>(Wait);
        var none = await silent;
        Assert.Equal((RunOutputOutcome.NoAnswer, "node n2 did not answer within 5 s", "n2"), (none.Outcome, none.Reason, none.Node));
    }

    private sealed class Relay : ReceiveActor
    {
        public Relay(IActorRef to) => ReceiveAny(m => to.Forward(m));
    }
}
