using Akka.Cluster.Tools.PublishSubscribe;
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
/// output does not cross the network this way.
/// </summary>
public sealed class LifecycleRelay : ReceiveActor
{
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _mediator;

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
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props(string node, IActorRef mediator, IActorRef bridge) =>
        Akka.Actor.Props.Create(() => new LifecycleRelay(node, mediator, bridge));

    protected override void PreStart()
    {
        _topics.Subscribe(Self, typeof(AgentLifecycle));
        _topics.Subscribe(Self, typeof(SchedulerFired));
        _mediator.Tell(new Subscribe(NodeLifecycle.Topic, Self));
        _mediator.Tell(new Subscribe(NodeSchedulerFired.Topic, Self));
    }

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _mediator.Tell(new Unsubscribe(NodeLifecycle.Topic, Self));
        _mediator.Tell(new Unsubscribe(NodeSchedulerFired.Topic, Self));
    }
}
