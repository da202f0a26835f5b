using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// A cluster node's share of the events across nodes (one per node, <c>/user/lifecycle-relay</c>): publishes each
/// lifecycle event of this node's agents (from the node's topics) to every node on the DistributedPubSub topic
/// <see cref="NodeLifecycle.Topic"/>, stamped with the node, and hands the other nodes' ones to this node's event bridge
/// (never to the topics: this node's history, Nightwatch and status keep to this node's agents). The same for the
/// scheduler's firings (<see cref="SchedulerFired"/>, recorded on the node where the scheduler singleton runs) on
/// <see cref="NodeSchedulerFired.Topic"/>, so <c>scheduler-fired</c> is live on every node. A few events per run: agent
/// output does not cross the network this way, except a project's run's (<see cref="NodeProjectEvent"/>: its output,
/// usage and route, on <see cref="NodeProjectEvent.Topic"/>, for the projects singleton, wherever the run's agent is
/// placed); the relay takes part in the node's output flow, so a flood of such output waits for it like for any consumer.
/// And this node's agents' status changes, drift verdicts, corrections, escalations and routes, for the other nodes'
/// live streams (<see cref="NodeEvent"/> on <see cref="NodeEvent.Topic"/>: each is published on the agent's node only).
/// </summary>
public sealed class LifecycleRelay : ReceiveActor
{
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _mediator;
    private OutputConsumer? _output;

    public LifecycleRelay(string node, IActorRef mediator, IActorRef bridge)
    {
        _mediator = mediator;
        Receive<AgentLifecycle>(l => mediator.Tell(new Publish(NodeLifecycle.Topic, new NodeLifecycle(node, l))));
        Receive<NodeLifecycle>(n =>
        {
            if (n.Node != node)
            {
                bridge.Tell(n);
            }
        });
        Receive<SchedulerFired>(f => mediator.Tell(new Publish(NodeSchedulerFired.Topic, new NodeSchedulerFired(node, f))));
        Receive<NodeSchedulerFired>(n =>
        {
            if (n.Node != node)
            {
                bridge.Tell(n.Fired); // as this node's own firing would reach it: the live stream's scheduler-fired
            }
        });
        Receive<AgentOutput>(o =>
        {
            _output?.Taken(o);
            Cross(node, o);
        });
        Receive<AgentUsage>(u => Cross(node, u));
        Receive<RouteChosen>(r =>
        {
            Cross(node, r);
            Show(node, r);
        });
        Receive<AgentStatus>(s => Show(node, s));
        Receive<DriftVerdict>(v => Show(node, v));
        Receive<DriftCorrection>(c => Show(node, c));
        Receive<Escalation>(e => Show(node, e));
        Receive<NodeEvent>(n =>
        {
            if (n.Node != node)
            {
                bridge.Tell(n); // the live stream only: this node's status, history and Nightwatch keep to its own agents
            }
        });
        Receive<SubscribeAck>(_ => { });
    }

    private void Cross(string node, IDarkFactoryMessage e)
    {
        if (NodeProjectEvent.Of(node, e) is { } crossing)
        {
            _mediator.Tell(new Publish(NodeProjectEvent.Topic, crossing));
        }
    }

    /// <summary>This node's fleet event to the other nodes' live streams.</summary>
    private void Show(string node, IDarkFactoryMessage e)
    {
        if (NodeEvent.Of(node, e) is { } shown)
        {
            _mediator.Tell(new Publish(NodeEvent.Topic, shown));
        }
    }

    public static Props Props(string node, IActorRef mediator, IActorRef bridge) =>
        Akka.Actor.Props.Create(() => new LifecycleRelay(node, mediator, bridge));

    protected override void PreStart()
    {
        _output = OutputFlow.For(Context.System).Join("lifecycle-relay"); // before its first batch
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(SchedulerFired));
        _topics.Subscribe(Self, typeof(AgentOutput));
        _topics.Subscribe(Self, typeof(AgentUsage));
        _topics.Subscribe(Self, typeof(RouteChosen));
        _topics.Subscribe(Self, typeof(AgentStatus));
        _topics.Subscribe(Self, typeof(DriftVerdict));
        _topics.Subscribe(Self, typeof(DriftCorrection));
        _topics.Subscribe(Self, typeof(Escalation));
        _mediator.Tell(new Subscribe(NodeLifecycle.Topic, Self));
        _mediator.Tell(new Subscribe(NodeSchedulerFired.Topic, Self));
        _mediator.Tell(new Subscribe(NodeEvent.Topic, Self));
    }

    protected override void PostStop()
    {
        _output?.Dispose();
        _topics.Unsubscribe(Self);
        _mediator.Tell(new Unsubscribe(NodeLifecycle.Topic, Self));
        _mediator.Tell(new Unsubscribe(NodeSchedulerFired.Topic, Self));
        _mediator.Tell(new Unsubscribe(NodeEvent.Topic, Self));
    }
}
