using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Cluster;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// Events across nodes on a real one-node Akka.NET cluster with DistributedPubSub: this node's lifecycle events go out
/// on the topic stamped with the node; another node's reach the event bridge; this node's own, coming back from the
/// topic, do not (they reached the bridge locally already).
/// </summary>
public sealed class LifecycleRelaySpec : OneNodeClusterSpec
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);

    public LifecycleRelaySpec(ITestOutputHelper output)
        : base(output, "node:n1")
    {
    }

    [Fact]
    public async Task This_nodes_lifecycle_goes_out_stamped_and_only_the_other_nodes_reach_the_bridge()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var listener = CreateTestProbe();
        mediator.Tell(new Subscribe(NodeLifecycle.Topic, listener.Ref), listener.Ref);
        await listener.ExpectMsgAsync<SubscribeAck>(Wait);
        var bridge = CreateTestProbe();
        Sys.ActorOf(LifecycleRelay.Props("n1", mediator, bridge.Ref), "lifecycle-relay");

        // another node's event, published on the topic, reaches the bridge (once the relay's subscription is in)
        var far = new NodeLifecycle("n2", new AgentLifecycle("far", LifecycleKind.Started, At, "r2", Pid: 42));
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeLifecycle.Topic, far));
            Assert.Equal(far, await bridge.ExpectMsgAsync<NodeLifecycle>(TimeSpan.FromMilliseconds(500)));
        }, Wait);

        // this node's event goes out stamped n1, and does not come back to the bridge
        bridge.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the retries' extra copies
        listener.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        var near = new AgentLifecycle("near", LifecycleKind.Crashed, At, "r1", ExitCode: 3);
        Sys.EventStream.Publish(near);
        Assert.Equal(new NodeLifecycle("n1", near), await listener.FishForMessageAsync<NodeLifecycle>(n => n.Node == "n1", Wait));
        await bridge.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task The_schedulers_firings_go_out_stamped_and_another_nodes_reach_the_bridge_as_its_own_would()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var listener = CreateTestProbe();
        mediator.Tell(new Subscribe(NodeSchedulerFired.Topic, listener.Ref), listener.Ref);
        await listener.ExpectMsgAsync<SubscribeAck>(Wait);
        var bridge = CreateTestProbe();
        Sys.ActorOf(LifecycleRelay.Props("n1", mediator, bridge.Ref), "lifecycle-relay");

        // a firing of the scheduler running on n2 reaches this node's bridge as a plain SchedulerFired
        var far = new SchedulerFired("nightly", At, At.AddSeconds(1), FiringOutcome.Started, "r2");
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeSchedulerFired.Topic, new NodeSchedulerFired("n2", far)));
            Assert.Equal(far, await bridge.ExpectMsgAsync<SchedulerFired>(TimeSpan.FromMilliseconds(500)));
        }, Wait);

        // one recorded here (the singleton runs on n1) goes out stamped n1, and does not come back to the bridge
        bridge.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        listener.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        var near = new SchedulerFired("hourly", At, At, FiringOutcome.Skipped, Detail: "still running");
        Sys.EventStream.Publish(near);
        Assert.Equal(new NodeSchedulerFired("n1", near), await listener.FishForMessageAsync<NodeSchedulerFired>(n => n.Node == "n1", Wait));
        await bridge.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_project_runs_output_usage_and_route_go_out_stamped_and_no_other_output_does()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var listener = CreateTestProbe();
        mediator.Tell(new Subscribe(NodeProjectEvent.Topic, listener.Ref), listener.Ref);
        await listener.ExpectMsgAsync<SubscribeAck>(Wait);
        Sys.ActorOf(LifecycleRelay.Props("n1", mediator, CreateTestProbe().Ref), "lifecycle-relay");

        // an agent's own run's output stays on its node; a project's run's crosses, in order, stamped n1
        var plain = new AgentOutput("coder", "r1", 0, At, [new OutputLine(OutputStream.Stdout, "private to n1")]);
        var answer = new AgentOutput("engineer@p-1", "r2", 0, At, [new OutputLine(OutputStream.Stdout, "{\"answer\":\"done\"}")], "t1", "p-1");
        var usage = new AgentUsage("engineer@p-1", "r2", "anthropic", "claude-sonnet-4-5", 100, 20, At, TaskId: "t1", ProjectId: "p-1");
        var route = new RouteChosen("engineer@p-1", "r2", "claude", "anthropic", "claude-sonnet-4-5", "declared", At, ProjectId: "p-1");
        await AwaitAssertAsync(async () =>
        {
            Sys.EventStream.Publish(answer); // until the relay's subscriptions are in
            Assert.Equal(new NodeProjectEvent("n1", Output: answer), await listener.ExpectMsgAsync<NodeProjectEvent>(TimeSpan.FromMilliseconds(500)));
        }, Wait);
        listener.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the retries' extra copies
        Sys.EventStream.Publish(plain);
        Sys.EventStream.Publish(new AgentUsage("coder", "r1", "anthropic", null, 1, 1, At));
        Sys.EventStream.Publish(usage);
        Sys.EventStream.Publish(route);
        Assert.Equal(new NodeProjectEvent("n1", Usage: usage), await listener.ExpectMsgAsync<NodeProjectEvent>(Wait));
        var routed = await listener.ExpectMsgAsync<NodeProjectEvent>(Wait);
        Assert.Equal((route, "engineer@p-1"), (routed.Event, routed.Agent));
        await listener.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task This_nodes_status_drift_and_routes_go_out_stamped_and_another_nodes_reach_the_bridge_only()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var listener = CreateTestProbe();
        mediator.Tell(new Subscribe(NodeEvent.Topic, listener.Ref), listener.Ref);
        await listener.ExpectMsgAsync<SubscribeAck>(Wait);
        var bridge = CreateTestProbe();
        Sys.ActorOf(LifecycleRelay.Props("n1", mediator, bridge.Ref), "lifecycle-relay");

        // another node's status change reaches the bridge (once the relay's subscription is in)
        var far = new NodeEvent("n2", Status: new AgentStatus { Agent = "far", State = AgentState.Backoff, Restarts = 2 });
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeEvent.Topic, far));
            Assert.Equal(far, await bridge.ExpectMsgAsync<NodeEvent>(TimeSpan.FromMilliseconds(500)));
        }, Wait);
        bridge.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        listener.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);

        // this node's go out stamped n1, in order, and none comes back to the bridge
        var components = new DriftComponents(Loops: 0.9);
        IDarkFactoryMessage[] near =
        [
            new AgentStatus { Agent = "near", State = AgentState.Running, Pid = 7 },
            new DriftVerdict("near", At, 0.9, DriftLevel.Critical, DriftLevel.Normal, components, "looping"),
            new DriftCorrection("near", At, DriftLevel.Critical, CorrectionAction.Restart, 0.9, "looping", "stop repeating"),
            new Escalation("e1", "near", At, DriftLevel.Critical, 0.9, "looping", components),
            new RouteChosen("near", "r1", "claude", "anthropic", "claude-sonnet-4-5", "declared", At),
        ];
        foreach (var e in near)
        {
            Sys.EventStream.Publish(e);
        }

        foreach (var e in near)
        {
            var shown = await listener.FishForMessageAsync<NodeEvent>(n => n.Node == "n1", Wait);
            Assert.Equal(e, shown.Event);
            Assert.Equal("near", shown.Agent);
        }

        await bridge.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }
}
