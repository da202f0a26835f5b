using Akka.Actor;
using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// The coordinator and a node's end on a real one-node Akka.NET cluster (Akka.Remote on 127.0.0.1): a declared fleet is
/// placed and reaches the node through its epoch gate; a coordinator started again goes on from the persisted placement.
/// </summary>
public sealed class PlacementCoordinatorSpec : OneNodeClusterSpec
{

    private static readonly FleetSpec Fleet = new()
    {
        Agents =
        [
            new AgentSpec { Name = "pinned", Cli = "claude", Node = "n1" },
            new AgentSpec { Name = "roamer", Cli = "claude" },
            new AgentSpec { Name = "gpu", Cli = "claude", Node = "role:gpu" },
        ],
    };

    public PlacementCoordinatorSpec(ITestOutputHelper output)
        : base(output, "control", "agents", "node:n1")
    {
    }

    [Fact]
    public async Task A_declared_fleet_is_placed_on_the_up_node_and_a_new_coordinator_goes_on_from_the_persisted_epoch()
    {
        await UntilUpAsync();
        var accepted = CreateTestProbe();
        var coordinator = Sys.ActorOf(PlacementCoordinator.Props(TimeProvider.System, "placement-spec"), "coordinator");
        var node = Sys.ActorOf(PlacementNode.Props("n1", coordinator, ActorRefs.Nobody, Accepting(accepted)), PlacementCoordinator.NodeActorName);

        node.Tell(new PlacementNode.Declare(Fleet));

        // (the coordinator's first view may still show the node joining: a placement with nothing on it comes first)
        var first = await accepted.FishForMessageAsync<NodeAssignment>(a => a.Agents.Count > 0, Wait);
        Assert.True(first.Epoch >= 1);
        Assert.Equal(["pinned", "roamer"], first.Agents);
        Assert.Equal("no up node has role gpu", first.Placement.Of("gpu")!.Reason);

        // the coordinator stops by its own message; a new one recovers the placement and places a changed fleet under the
        // next epoch, and not before it knows the members (the fleet is told at once, before the cluster's state reaches it:
        // planning on an empty view would unplace everything first, an extra epoch)
        Watch(coordinator);
        coordinator.Tell(PlacementCoordinator.Stop.Instance);
        await ExpectTerminatedAsync(coordinator);
        var again = Sys.ActorOf(PlacementCoordinator.Props(TimeProvider.System, "placement-spec"), "coordinator-2");
        again.Tell(PlacementFleet.Of("n1", Fleet with { Agents = [.. Fleet.Agents.Take(1)] }));

        var second = await accepted.ExpectMsgAsync<NodeAssignment>(Wait);
        Assert.Equal(first.Epoch + 1, second.Epoch);
        Assert.Equal(["pinned"], second.Agents);
        var recovered = await again.Ask<Placement>(PlacementCoordinator.GetPlacement.Instance, Wait);
        Assert.Equal(second.Epoch, recovered.Epoch);
        Assert.Equal(["pinned"], recovered.On("n1"));
    }

    [Fact]
    public async Task A_node_refuses_a_stale_epoch_and_an_assignment_for_another_node()
    {
        var accepted = CreateTestProbe();
        var node = Sys.ActorOf(PlacementNode.Props("n1", ActorRefs.Nobody, ActorRefs.Nobody, Accepting(accepted)));

        node.Tell(new NodeAssignment("n1", new Placement(5, [AgentPlacement.On("a", "n1")])));
        Assert.Equal(["a"], (await accepted.ExpectMsgAsync<NodeAssignment>(Wait)).Agents);

        node.Tell(new NodeAssignment("n1", new Placement(4, [AgentPlacement.On("a", "n1"), AgentPlacement.On("b", "n1")]))); // stale
        node.Tell(new NodeAssignment("n2", new Placement(9, [AgentPlacement.On("c", "n2")]))); // not this node's
        node.Tell(new NodeAssignment("n1", new Placement(5, [AgentPlacement.On("a", "n1")]))); // the same, resent
        node.Tell(new NodeAssignment("n1", new Placement(6, [AgentPlacement.On("d", "n1")])));

        var next = await accepted.ExpectMsgAsync<NodeAssignment>(Wait);
        Assert.Equal(6, next.Epoch);
        Assert.Equal(["d"], next.Agents);
    }

    [Fact]
    public async Task Another_nodes_command_reaches_the_fleet_only_for_an_agent_placed_here_and_a_log_read_reaches_the_log_reader()
    {
        var fleet = CreateTestProbe();
        fleet.IgnoreMessages<GetAgents>(); // the node's look whether what a placement took off it stopped
        var logs = CreateTestProbe();
        var node = Sys.ActorOf(PlacementNode.Props("n1", ActorRefs.Nobody, fleet.Ref, _ => Task.CompletedTask, logs.Ref));

        // before any placement: refused, nothing reaches the fleet
        var early = await node.Ask<CommandResult>(new StopAgent("a"), Wait);
        Assert.Equal(CommandOutcome.Unplaced, early.Outcome);
        Assert.Equal("agent 'a' is not placed on node n1 (no placement reached it yet)", early.Message);

        node.Tell(new NodeAssignment("n1", new Placement(3, [AgentPlacement.On("a", "n1"), AgentPlacement.On("b", "n2")])));
        node.Tell(new RestartAgent("a", "operator"));
        Assert.Equal(new RestartAgent("a", "operator"), await fleet.ExpectMsgAsync<RestartAgent>(Wait));
        Assert.Equal(TestActor, fleet.LastSender); // forwarded: the fleet answers the asker

        // an agent placed on another node (a command sent on an older placement) never reaches this node's fleet
        var elsewhere = await node.Ask<CommandResult>(new StartAgent("b"), Wait);
        Assert.False(elsewhere.Ok);
        Assert.Equal(CommandOutcome.Unplaced, elsewhere.Outcome);
        Assert.Equal("agent 'b' is not placed on node n1 (placement epoch 3)", elsewhere.Message);

        node.Tell(new ReadLog("a", null, 10));
        Assert.Equal(new ReadLog("a", null, 10), await logs.ExpectMsgAsync<ReadLog>(Wait));
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        var nologs = Sys.ActorOf(PlacementNode.Props("n2", ActorRefs.Nobody, fleet.Ref, _ => Task.CompletedTask));
        Assert.Equal("node n2 does not serve logs", (await nologs.Ask<LogPage>(new ReadLog("a", 0), Wait)).Refused);
    }

    [Fact]
    public async Task A_node_confirms_a_release_only_once_its_placement_is_applied_and_its_fleet_runs_nothing_taken_off_it()
    {
        var coordinator = CreateTestProbe();
        var fleet = new FakeFleet(this);
        var applied = new TaskCompletionSource();
        var node = Sys.ActorOf(PlacementNode.Props("n1", coordinator.Ref, fleet.Ref, _ => applied.Task));

        // epoch 5 places a here: nothing confirmed before the daemon applied it
        fleet.Runs("a");
        node.Tell(new NodeAssignment("n1", new Placement(5, [AgentPlacement.On("a", "n1")])));
        await coordinator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        applied.SetResult();
        Assert.Equal(new PlacementReleased("n1", 5), await coordinator.ExpectMsgAsync<PlacementReleased>(Wait));

        // epoch 6 takes a off n1 (moving to n2): while its run is still stopping the node does not confirm, however often
        // the assignment is resent; once the fleet lists it no more, it does
        var moving = new Placement(6, [new AgentPlacement("a", null, "moving from node n1 to node n2", MovingFrom: "n1", MovingTo: "n2", ReleaseEpoch: 6)]);
        node.Tell(new NodeAssignment("n1", moving));
        node.Tell(new NodeAssignment("n1", moving));
        await coordinator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(800));
        fleet.Runs();
        Assert.Equal(new PlacementReleased("n1", 6), await coordinator.ExpectMsgAsync<PlacementReleased>(Wait));

        // resent again (the confirmation lost, or a new coordinator): confirmed again; an older epoch is not
        node.Tell(new NodeAssignment("n1", moving));
        Assert.Equal(new PlacementReleased("n1", 6), await coordinator.ExpectMsgAsync<PlacementReleased>(Wait));
        node.Tell(new NodeAssignment("n1", new Placement(5, [AgentPlacement.On("a", "n1")])));
        await coordinator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task An_apply_that_failed_confirms_nothing_and_is_applied_again_when_the_placement_is_resent()
    {
        var coordinator = CreateTestProbe();
        var fleet = new FakeFleet(this);
        var attempts = 0;
        var node = Sys.ActorOf(PlacementNode.Props("n1", coordinator.Ref, fleet.Ref, _ =>
            Interlocked.Increment(ref attempts) == 1 ? Task.FromException(new TimeoutException("fleet apply timed out")) : Task.CompletedTask));

        var placement = new NodeAssignment("n1", new Placement(3, [AgentPlacement.On("a", "n2")]));
        node.Tell(placement);
        await coordinator.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        node.Tell(placement); // the coordinator's resend
        Assert.Equal(new PlacementReleased("n1", 3), await coordinator.ExpectMsgAsync<PlacementReleased>(Wait));
        Assert.Equal(2, Volatile.Read(ref attempts));
    }

    [Fact]
    public async Task A_reload_that_moves_an_agent_off_its_node_places_it_nowhere_until_that_node_confirmed_its_run_ended()
    {
        await UntilUpAsync();
        var accepted = CreateTestProbe();
        var fleet = new FakeFleet(this);
        var coordinator = Sys.ActorOf(PlacementCoordinator.Props(TimeProvider.System, "placement-handover"), "coordinator");
        var node = Sys.ActorOf(PlacementNode.Props("n1", coordinator, fleet.Ref, Accepting(accepted)), PlacementCoordinator.NodeActorName);
        var pinned = new FleetSpec { Agents = [new AgentSpec { Name = "a", Cli = "claude", Node = "n1" }] };

        fleet.Runs("a");
        node.Tell(new PlacementNode.Declare(pinned));
        var first = await accepted.FishForMessageAsync<NodeAssignment>(a => a.Agents.Contains("a"), Wait);

        // the reload pins a to a role no up node has: n1 must stop it first; it is not placed while n1 still runs it
        node.Tell(new PlacementNode.Declare(pinned with { Agents = [new AgentSpec { Name = "a", Cli = "claude", Node = "role:gpu" }] }));
        var moving = await accepted.ExpectMsgAsync<NodeAssignment>(Wait);
        Assert.Equal(first.Epoch + 1, moving.Epoch);
        Assert.Empty(moving.Agents);
        var handover = moving.Placement.Of("a")!;
        Assert.Equal(("n1", (string?)null, moving.Epoch), (handover.MovingFrom, handover.MovingTo, handover.ReleaseEpoch));
        Assert.Equal("moving off node n1: waiting for node n1 to stop it; then no up node has role gpu", handover.Reason);
        await accepted.ExpectNoMsgAsync(TimeSpan.FromSeconds(2.5)); // a resend went by: still moving

        fleet.Runs(); // its run ended on n1: the node confirms, the coordinator places it by the rules
        var released = await accepted.ExpectMsgAsync<NodeAssignment>(Wait);
        Assert.Equal(moving.Epoch + 1, released.Epoch);
        Assert.Equal(new AgentPlacement("a", null, "no up node has role gpu"), released.Placement.Of("a"));
    }

    private static Func<NodeAssignment, Task> Accepting(Akka.TestKit.TestProbe probe) => a =>
    {
        probe.Ref.Tell(a);
        return Task.CompletedTask;
    };

    /// <summary>A node's fleet that answers <see cref="GetAgents"/> with the agents it is told run.</summary>
    private sealed class FakeFleet
    {
        private volatile string[] _running = [];

        public FakeFleet(Akka.TestKit.TestKitBase kit)
        {
            var probe = kit.CreateTestProbe();
            probe.SetAutoPilot(new Akka.TestKit.DelegateAutoPilot((sender, message) =>
            {
                if (message is GetAgents)
                {
                    sender.Tell(new AgentsSnapshot([.. _running.Select(a => new AgentStatus { Agent = a, State = AgentState.Running })]));
                }

                return Akka.TestKit.AutoPilot.KeepRunning;
            }));
            Ref = probe.Ref;
        }

        public IActorRef Ref { get; }

        public void Runs(params string[] agents) => _running = agents;
    }
}
