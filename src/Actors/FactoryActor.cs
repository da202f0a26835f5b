using Akka.Actor;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Actors;

/// <summary>
/// The guardian at /user/factory and the single entry point of the control plane: it owns the fleet
/// (layers and agents), the per-agent history and the process sweeper, and routes every request to
/// the child that answers it. The scheduler gets every fleet revision and starts agents through it.
/// </summary>
public sealed class FactoryActor : ReceiveActor
{
    public FactoryActor(Func<IActorRef, IActorRef, LayerServices> services)
    {
        var sweeper = Context.ActorOf(ProcessSweeper.Props(), "sweeper");
        var history = Context.ActorOf(HistoryActor.Props(), "history");
        var layerServices = services(sweeper, history);
        var routes = new RouteBoard();

        // persistent children are kept by a JournalKeeper: a failed journal write stops one, the keeper starts it again
        var router = Context.ActorOf(
            JournalKeeper.Props(
                ProviderRouterActor.Props(new RouterSettings { Clock = layerServices.Clock, Board = routes, FindExecutable = layerServices.FindExecutable, Factory = Self }),
                "router"),
            "router");
        layerServices = layerServices with { Routes = routes, Router = router };
        var fleet = Context.ActorOf(FleetActor.Props(layerServices), "fleet");
        var scheduler = Context.ActorOf(JournalKeeper.Props(SchedulerActor.Props(Self, new SchedulerSettings { Clock = layerServices.Clock }), "scheduler"), "scheduler");
        var reviews = Context.ActorOf(ReviewViewsActor.Props(), "compound-review-views");
        var review = Context.ActorOf(JournalKeeper.Props(CompoundReviewActor.Props(Self, ReviewSettingsFor(layerServices) with { Views = reviews }), "compound-review"), "compound-review");
        var nightwatch = Context.ActorOf(JournalKeeper.Props(NightwatchActor.Props(Self, history, new NightwatchSettings { Clock = layerServices.Clock }), "nightwatch"), "nightwatch");

        Receive<ApplyFleet>(m =>
        {
            // the layers route the runs this revision starts against its policy, even while the router recovers
            routes.Publish(new RoutingPolicy(m.Fleet), routes.Board.With(missingClis: ProviderRouterActor.MissingClis(m.Fleet, layerServices.FindExecutable)));
            router.Tell(m);
            fleet.Forward(m);
            scheduler.Tell(m);
            review.Tell(m);
            nightwatch.Tell(m);
        });
        Receive<RouteTask>(m => router.Forward(m));
        Receive<GetProviders>(m => router.Forward(m));
        Receive<GetCosts>(m => router.Forward(m));
        Receive<IAgentCommand>(m => fleet.Forward(m));
        Receive<GetAgents>(m => fleet.Forward(m));
        Receive<GetFleet>(m => fleet.Forward(m));
        Receive<DrainFleet>(m =>
        {
            scheduler.Tell(m); // no firings while the fleet drains
            review.Tell(m); // a review's agent stopped by the drain is started again after the restart
            fleet.Forward(m);
        });
        Receive<GetSchedule>(m => scheduler.Forward(m));
        Receive<GetDrift>(m => nightwatch.Forward(m));
        Receive<GetEscalations>(m => nightwatch.Forward(m));
        Receive<GetNightwatchRecords>(m => nightwatch.Forward(m));
        Receive<FlushHistory>(m => history.Forward(m));
        Receive<GetHistory>(m => history.Forward(m));
        Receive<SweepRun>(m => sweeper.Forward(m));
        Receive<RunReview>(m => review.Forward(m));
        Receive<GetReviews>(m => reviews.Forward(m)); // the read model: never behind the review's journal writes
        Receive<GetReview>(m => reviews.Forward(m));
    }

    /// <summary>Reviews under &lt;data&gt;/reviews; worktrees under $DF_WORKTREES or &lt;data&gt;/worktrees.</summary>
    private static ReviewSettings ReviewSettingsFor(LayerServices services) => new()
    {
        ReviewsDirectory = Path.Combine(services.Daemon.DataDirectory, "reviews"),
        WorktreeRoot = services.Environment.GetValueOrDefault("DF_WORKTREES") is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : Path.Combine(services.Daemon.DataDirectory, "worktrees"),
        MarkerPrefix = services.Daemon.DaemonId + "/",
        Environment = services.Environment,
        Clock = services.Clock,
    };

    /// <param name="services">Builds the layer services once the sweeper and history actors exist.</param>
    public static Props Props(Func<IActorRef, IActorRef, LayerServices> services) =>
        Akka.Actor.Props.Create(() => new FactoryActor(services));
}
