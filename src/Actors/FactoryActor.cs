using Akka.Actor;
using Akka.Hosting;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Actors;

/// <summary>
/// The factory's gateway (/user/factory): the one port through which the API, the scheduler, the compound
/// review, Nightwatch and the layers reach each other. It owns nothing: each request goes, by its type, to
/// the actor registered for it in the <see cref="ActorRegistry"/> (see <see cref="FactoryTree"/>), sender
/// kept, so the answer comes from that actor. A fleet revision goes to every actor that keeps one. An ask
/// whose actor is not in this system (a tree composed without it) is answered with a failure naming it.
/// In a cluster the registered entries become singleton proxies and node-aware routers; the gateway stays.
/// </summary>
public sealed class FactoryActor : ReceiveActor
{
    private readonly IReadOnlyActorRegistry _registry;

    public FactoryActor(IReadOnlyActorRegistry registry, RouteBoard? routes, Func<string, string?> findExecutable)
    {
        _registry = registry;

        Receive<ApplyFleet>(m =>
        {
            // the layers route the runs this revision starts against its policy, even while the router recovers
            routes?.Publish(new RoutingPolicy(m.Fleet), routes.Board.With(missingClis: BoardBuilder.MissingClis(m.Fleet, findExecutable)));
            Tell<ProviderRouterActor>(m);
            Forward<FleetActor>(m);
            Tell<SchedulerActor>(m);
            Tell<CompoundReviewActor>(m);
            Tell<NightwatchActor>(m);
            Tell<ProjectsActor>(m);
        });
        Receive<DrainFleet>(m =>
        {
            Tell<SchedulerActor>(m); // no firings while the fleet drains
            Tell<CompoundReviewActor>(m); // a review's agent stopped by the drain is started again after the restart
            Tell<ProjectsActor>(m); // so is a project's run
            Forward<FleetActor>(m);
        });

        Route<RouteTask, ProviderRouterActor>();
        Route<GetProviders, ProviderRouterActor>();
        Route<GetCosts, ProviderRouterActor>();
        Route<AddProvider, ProviderRouterActor>(); // df provider add|remove|list
        Route<RemoveProvider, ProviderRouterActor>();
        Route<GetProviderConfigs, ProviderRouterActor>();
        Route<RouteChosen, ProviderRouterActor>(); // layers -> router: each run's route
        Route<AwaitRoute, ProviderRouterActor>(); // layers -> router: an agent waits for a route
        Route<GetProviderBoard, ProviderRouterActor>(); // a node's board subscriber -> router: the board now (a late joiner)
        Route<IAgentCommand, FleetActor>();
        Route<GetAgents, FleetActor>();
        Route<GetFleet, FleetActor>();
        Route<GetSchedule, SchedulerActor>();
        Route<GetDrift, NightwatchActor>();
        Route<GetEscalations, NightwatchActor>();
        Route<GetNightwatchRecords, NightwatchActor>();
        Route<AgentLifecycle, HistoryActor>(); // Nightwatch -> history: a correction or escalation on the agent's record
        Route<FlushHistory, HistoryActor>();
        Route<GetHistory, HistoryActor>();
        Route<SweepRun, ProcessSweeper>();
        Route<RunReview, CompoundReviewActor>();
        Route<GetReviews, ReviewViewsActor>(); // the read model: never behind the review's journal writes
        Route<GetReview, ReviewViewsActor>();
        Route<InitProject, ProjectsActor>();
        Route<StartProject, ProjectsActor>();
        Route<PauseProject, ProjectsActor>();
        Route<ResumeProject, ProjectsActor>();
        Route<GetProjects, ProjectViewsActor>(); // the read model: never behind a project's journal writes
        Route<GetProject, ProjectViewsActor>();
        Route<GetProjectTasks, ProjectViewsActor>();
        Route<GetProjectState, ProjectViewsActor>();
    }

    /// <param name="registry">Where the tree's actors are registered (by <see cref="FactoryTree"/>).</param>
    /// <param name="routes">The node's route board: a fleet revision's policy is published on it before any layer sees the revision.</param>
    /// <param name="findExecutable">A CLI binary's path on PATH (null when missing), for the board's missing CLIs.</param>
    public static Props Props(IReadOnlyActorRegistry registry, RouteBoard? routes, Func<string, string?> findExecutable) =>
        Akka.Actor.Props.Create(() => new FactoryActor(registry, routes, findExecutable));

    private void Route<TMessage, TTarget>() => Receive<TMessage>(m => Forward<TTarget>(m!));

    private void Forward<TTarget>(object message)
    {
        if (_registry.TryGet<TTarget>(out var target))
        {
            target.Forward(message);
        }
        else
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException($"no {typeof(TTarget).Name} in this actor system for {message.GetType().Name}")));
        }
    }

    private void Tell<TTarget>(object message)
    {
        if (_registry.TryGet<TTarget>(out var target))
        {
            target.Tell(message, Self);
        }
    }
}
