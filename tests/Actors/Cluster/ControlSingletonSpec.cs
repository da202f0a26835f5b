using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
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
    private static readonly DateTimeOffset At = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);

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

    [Fact]
    public async Task The_projects_singleton_hears_the_other_nodes_project_runs_events_and_not_its_own_nodes_twice()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        await UntilUpAsync();
        var heard = CreateTestProbe();
        var factory = Sys.ActorOf(ClusterFactory.Props("n1", CreateTestProbe().Ref, () => MemberFacts.From(cluster.State)), ClusterFactory.ActorName);
        new ControlSingletons(Sys, "n1", "control", factory).Start("projects", _ => Props.Create(() => new Relay(heard.Ref)), projectEvents: true);
        var mediator = DistributedPubSub.Get(Sys).Mediator;

        // n3's project run's output reaches the singleton as the plain event (once its subscription is in)
        var far = new AgentOutput("engineer@p-1", "r3", 0, At, [new OutputLine(OutputStream.Stdout, "{\"answer\":\"done\"}")], "t1", "p-1");
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeProjectEvent.Topic, new NodeProjectEvent("n3", Output: far)));
            Assert.Equal(far, await heard.FishForMessageAsync<AgentOutput>(_ => true, TimeSpan.FromMilliseconds(500)));
        }, Wait);
        heard.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the retries' extra copies

        // this node's own (it hears those through the node's topics) is not handed on a second time
        mediator.Tell(new Publish(NodeProjectEvent.Topic, new NodeProjectEvent("n1", Output: far with { RunId = "r1" })));
        var usage = new AgentUsage("engineer@p-1", "r3", "anthropic", null, 10, 2, At, ProjectId: "p-1");
        mediator.Tell(new Publish(NodeProjectEvent.Topic, new NodeProjectEvent("n3", Usage: usage)));
        Assert.Equal(usage, await heard.ExpectMsgAsync<AgentUsage>(Wait)); // published after n1's: n1's would come first
        await heard.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    private sealed class Relay : ReceiveActor
    {
        public Relay(IActorRef to) => ReceiveAny(m =>
        {
            if (m is AgentOutput or AgentUsage)
            {
                to.Tell(m);
            }
        });
    }
}
