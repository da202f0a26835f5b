using DarkFactory.Actors.Topics;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// Keeps the node's <see cref="RouteBoard"/> current: each <see cref="ProviderBoardPublished"/> of the router
/// (on this node or another) replaces the board there, frozen for the run-start path. One router publishes
/// in order and the topics deliver in order, so the last board received is the router's latest.
/// </summary>
/// <remarks>
/// A subscriber that starts after the router's last publication (a node that joins late, a restarted daemon
/// whose router has nothing new to say) asks the router for its board (<see cref="GetProviderBoard"/>), again
/// every <see cref="AskEvery"/> until a board arrives either way. The answer counts only while no publication
/// has arrived: the router publishes every change, so a publication received is never older than the last change.
/// </remarks>
public sealed class RouteBoardSubscriber : ReceiveActor, IWithTimers
{
    /// <summary>How often a subscriber with no board yet asks again (the router may not be up, or on a node not yet joined).</summary>
    public static readonly TimeSpan AskEvery = TimeSpan.FromSeconds(2);

    private const string AskTimer = "ask";
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef? _router;
    private bool _published;

    public RouteBoardSubscriber(RouteBoard routes, IActorRef? router)
    {
        _router = router;
        Receive<ProviderBoardPublished>(m =>
        {
            _published = true;
            Timers.Cancel(AskTimer);
            routes.Publish(m.Board);
        });
        Receive<CurrentProviderBoard>(m =>
        {
            Timers.Cancel(AskTimer);
            if (!_published)
            {
                routes.Publish(m.Board);
            }
        });
        Receive<AskAgain>(_ => Ask());
        Receive<Status.Failure>(_ => { }); // no router in this system (yet): the timer asks again
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Starts the node's subscriber under <paramref name="parent"/>, subscribed before this returns (a board the
    /// router publishes right after is not missed).
    /// </summary>
    /// <param name="parent">The actor system, or an actor's context.</param>
    /// <param name="router">Where <see cref="GetProviderBoard"/> goes (the gateway); null: publications only.</param>
    public static IActorRef Start(IActorRefFactory parent, RouteBoard routes, IActorRef? router = null, string name = "route-board")
    {
        var system = parent switch
        {
            ActorSystem s => s,
            IActorContext c => c.System,
            _ => throw new ArgumentException($"an actor system or an actor's context, not {parent.GetType().Name}", nameof(parent)),
        };
        var subscriber = parent.ActorOf(Akka.Actor.Props.Create(() => new RouteBoardSubscriber(routes, router)), name);
        FleetTopics.For(system).Subscribe(subscriber, typeof(ProviderBoardPublished));
        return subscriber;
    }

    protected override void PreStart() => Ask();

    protected override void PostStop() => _topics.Unsubscribe(Self);

    private void Ask()
    {
        if (_router is null || _published)
        {
            return;
        }

        _router.Tell(GetProviderBoard.Instance);
        Timers.StartSingleTimer(AskTimer, AskAgain.Instance, AskEvery);
    }

    private sealed record AskAgain : Signal<AskAgain>;
}
