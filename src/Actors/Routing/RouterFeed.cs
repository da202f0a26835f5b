using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// A cluster node's share of the one router (the <see cref="ProviderRouterActor"/> as a cluster singleton): registered as
/// the node's router (<c>/user/router-feed</c>), so the gateway's messages for the router (the layers' routes and waits,
/// the reads, <c>df provider</c>) pass through it to the singleton's face, sender kept. Each input of the router that
/// happens on this node goes to the singleton from here, once: the runs' <see cref="AgentUsage"/>, the
/// <see cref="ProviderLimited"/> reports and Nightwatch's <see cref="RouteAvoid"/> (from the node's topics; the router in
/// a cluster does not hear its own node's topics for them), and each run's <see cref="RouteChosen"/> (from the layers),
/// which it also publishes on the node's topics, where a single node's router publishes it after persisting it
/// (the node's Nightwatch, status view and project relay read a run's route where the run is). The run's lifecycle
/// reaches the router as every singleton's does (<see cref="Cluster.ControlSingleton"/>).
/// The other way, the router's board (<see cref="ProviderBoardPublished"/>) and its events (a limit recorded, a switch,
/// a cost: <see cref="IRouterEvent"/>) come from the singleton's node on the DistributedPubSub topic <see cref="Topic"/>
/// and go on this node's topics, where the node's <see cref="RouteBoardSubscriber"/> keeps its board and the layers stop
/// a run on a limit, as on a single node. It keeps the node's agents that wait for a route (<see cref="AwaitRoute"/>, until
/// a route of the agent passes) and sends them again when a router starts (<see cref="RouterStarted"/>: one that took
/// over from a lost node knows no waits). Delivery to the singleton is the proxy's: buffered while the singleton is
/// not located, lost when sent to a node that died before it persisted it (docs/cluster.md).
/// </summary>
public sealed class RouterFeed : ReceiveActor
{
    /// <summary>The DistributedPubSub topic the router singleton publishes its board and its events on.</summary>
    public const string Topic = "df-router";

    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _mediator;
    private readonly Dictionary<string, AwaitRoute> _waits = new(StringComparer.Ordinal); // this node's agents waiting for a route, by agent

    /// <param name="router">The router singleton's face on this node.</param>
    /// <param name="mediator">The DistributedPubSub mediator.</param>
    public RouterFeed(IActorRef router, IActorRef mediator)
    {
        _mediator = mediator;
        Receive<RouteChosen>(r =>
        {
            _waits.Remove(r.Agent); // routed: it waits no more
            _topics.Publish(r);
            router.Forward(r);
        });
        Receive<AwaitRoute>(w =>
        {
            _waits[w.Agent] = w;
            router.Forward(w);
        });
        Receive<RouterStarted>(s =>
        {
            // a router that took over knows no waits (they are not persisted): this node's again (one that meanwhile
            // ended, or was stopped, is harmless: the layer ignores a resume of an agent that does not wait)
            foreach (var w in _waits.Values)
            {
                router.Tell(w, Self);
            }
        });
        Receive<ProviderBoardPublished>(b => _topics.Publish(b));
        Receive<IRouterEvent>(e => _topics.Publish(e)); // (a RouteChosen is never broadcast: the run's node published it)
        Receive<AgentUsage>(u => router.Tell(u, Self)); // from the node's topics
        Receive<ProviderLimited>(l => router.Tell(l, Self));
        Receive<RouteAvoid>(a => router.Tell(a, Self));
        Receive<SubscribeAck>(_ => { });
        ReceiveAny(m => router.Forward(m));
    }

    /// <summary>
    /// Starts the node's feed under <paramref name="parent"/>, subscribed to the node's topics before this returns (a run's
    /// usage published right after is not missed) and to <see cref="Topic"/>.
    /// </summary>
    public static IActorRef Start(IActorRefFactory parent, IActorRef router, IActorRef mediator, string name = "router-feed")
    {
        var system = parent switch
        {
            ActorSystem s => s,
            IActorContext c => c.System,
            _ => throw new ArgumentException($"an actor system or an actor's context, not {parent.GetType().Name}", nameof(parent)),
        };
        var feed = parent.ActorOf(Akka.Actor.Props.Create(() => new RouterFeed(router, mediator)), name);
        var topics = FleetTopics.For(system);
        topics.Subscribe(feed, typeof(AgentUsage));
        topics.Subscribe(feed, typeof(ProviderLimited));
        topics.Subscribe(feed, typeof(RouteAvoid));
        return feed;
    }

    protected override void PreStart() => _mediator.Tell(new Subscribe(Topic, Self));

    protected override void PostStop()
    {
        _topics.Unsubscribe(Self);
        _mediator.Tell(new Unsubscribe(Topic, Self));
    }
}
