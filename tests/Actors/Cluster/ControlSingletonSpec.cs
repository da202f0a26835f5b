using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// The scheduler as a cluster singleton on a real one-node Akka.NET cluster (Akka.Remote on 127.0.0.1), started as the
/// daemon starts it (<see cref="ControlSingletons"/>): it learns the whole fleet from the node's <see cref="ClusterFactory"/>,
/// fires through it to the node the placement names, answers through the node's face, ignores the node's part of the
/// fleet and the node's drain, and a run that ends on another node (its lifecycle on the DistributedPubSub topic) starts
/// the firing that was queued behind it.
/// </summary>
public sealed class ControlSingletonSpec : OneNodeClusterSpec
{

    private static readonly AgentSpec Ticker = new()
    {
        Name = "tick",
        Layer = LayerName.Core,
        Command = ["true"],
        Schedule = "* * * * * *",
        Overlap = OverlapPolicy.Queue,
        QueueLimit = 1,
        CatchUp = CatchUpPolicy.Skip,
    };

    public ControlSingletonSpec(ITestOutputHelper output)
        : base(output, "control", "agents", "node:n1")
    {
    }

    [Fact]
    public async Task The_singleton_scheduler_fires_through_the_node_that_runs_the_agent_and_hears_the_other_nodes_runs_end()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        await UntilUpAsync();
        var gateway = CreateTestProbe();
        var fired = CreateTestProbe();
        var starts = CreateTestProbe();
        Sys.EventStream.Subscribe(fired.Ref, typeof(SchedulerFired));
        var running = 0; // 0: a start starts r1, 1: the run goes on (already running), 2: it ended (a start starts r2)
        gateway.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is StartAgent start)
            {
                starts.Ref.Tell(start);
                sender.Tell(Volatile.Read(ref running) switch
                {
                    0 => CommandResult.Done(CommandOutcome.Started, "started", "r1"),
                    1 => CommandResult.Refused(CommandOutcome.AlreadyRunning, "already running"),
                    _ => CommandResult.Done(CommandOutcome.Started, "started", "r2"),
                });
            }

            return AutoPilot.KeepRunning;
        }));
        var factory = Sys.ActorOf(ClusterFactory.Props("n1", gateway.Ref, () => MemberFacts.From(cluster.State)), ClusterFactory.ActorName);
        var face = new ControlSingletons(Sys, "n1", "control", factory).Start(
            "scheduler", f => SchedulerActor.Props(f, new SchedulerSettings { PersistenceId = "scheduler-spec", JitterFraction = _ => 0 }));

        // the daemon declares the whole fleet and accepts a placement that runs the agent here: the singleton fires through this node
        factory.Tell(new NodeAssignment("n1", new Placement(1, [new AgentPlacement("tick", "n1")])));
        factory.Tell(new PlacementNode.Declare(new FleetSpec { Agents = [Ticker] }));
        var first = await starts.ExpectMsgAsync<StartAgent>(Wait);
        Assert.Equal(("tick", Requester.Scheduler), (first.Agent, first.By));
        await fired.FishForMessageAsync<SchedulerFired>(f => f.Outcome == FiringOutcome.Started && f.RunId == "r1", Wait);
        Assert.Equal("tick", Assert.Single((await face.Ask<ScheduleSnapshot>(new GetSchedule(), Wait)).Agents).Agent);

        // the node's own part of the fleet (nothing placed here) and its drain are not the cluster's: it goes on firing;
        // the run is still going, so a firing is queued and the next skipped (the queue holds one)
        Volatile.Write(ref running, 1);
        face.Tell(new ApplyFleet(new FleetSpec()));
        face.Tell(DrainFleet.Instance);
        await fired.FishForMessageAsync<SchedulerFired>(f => f.Outcome == FiringOutcome.Queued, Wait);
        await fired.FishForMessageAsync<SchedulerFired>(f => f.Outcome == FiringOutcome.Skipped, Wait);

        // the run ends on another node: its lifecycle comes over DistributedPubSub, and the queued firing starts
        // (only a run's end starts a queued firing: "was queued" says it was heard)
        Volatile.Write(ref running, 2);
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var queued = fired.FishForMessageAsync<SchedulerFired>(f => f.Outcome == FiringOutcome.Started && f.Detail == "was queued", Wait).AsTask();
        await AwaitConditionAsync(
            () =>
            {
                // (published again until heard: a subscription spreads through the mediator asynchronously)
                mediator.Tell(new Publish(NodeLifecycle.Topic, new NodeLifecycle("n2", new AgentLifecycle("tick", LifecycleKind.Exited, DateTimeOffset.UtcNow, "r1", ExitCode: 0))));
                return Task.FromResult(queued.Wait(TimeSpan.FromSeconds(1)));
            },
            Wait);
        Assert.Equal("r2", (await queued).RunId);
    }
}
