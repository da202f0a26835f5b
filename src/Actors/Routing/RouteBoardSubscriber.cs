using Akka.Actor;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Providers;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// Keeps the node's <see cref="RouteBoard"/> current: each <see cref="ProviderBoardPublished"/> of the router
/// (on this node or another) replaces the board there, frozen for the run-start path. One router publishes
/// in order and the topics deliver in order, so the last board received is the router's latest.
/// </summary>
public sealed class RouteBoardSubscriber : ReceiveActor
{
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);

    public RouteBoardSubscriber(RouteBoard routes) => Receive<ProviderBoardPublished>(m => routes.Publish(m.Board));

    /// <summary>
    /// Starts the node's subscriber under <paramref name="parent"/>, subscribed before this returns (a board the
    /// router publishes right after is not missed).
    /// </summary>
    /// <param name="parent">The actor system, or an actor's context.</param>
    public static IActorRef Start(IActorRefFactory parent, RouteBoard routes, string name = "route-board")
    {
        var system = parent switch
        {
            ActorSystem s => s,
            IActorContext c => c.System,
            _ => throw new ArgumentException($"an actor system or an actor's context, not {parent.GetType().Name}", nameof(parent)),
        };
        var subscriber = parent.ActorOf(Akka.Actor.Props.Create(() => new RouteBoardSubscriber(routes)), name);
        FleetTopics.For(system).Subscribe(subscriber, typeof(ProviderBoardPublished));
        return subscriber;
    }

    protected override void PostStop() => _topics.Unsubscribe(Self);
}
