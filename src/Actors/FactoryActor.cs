using Akka.Hosting;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors;

/// <summary>
/// The factory's gateway (/user/factory): the one port through which the API, the scheduler, the compound
/// review, Nightwatch and the layers reach each other. It owns nothing: each request goes, by its type, to
/// the actor registered for it in the <see cref="ActorRegistry"/> (see <see cref="FactoryTree"/>), sender
/// kept, so the answer comes from that actor. A fleet revision goes to every actor that keeps one. An ask
/// whose actor is not in this system (a tree composed without it) is answered with a failure naming it.
/// In a cluster the registered entries become singleton proxies and node-aware routers; the gateway stays.
/// <para>The first fleet revision waits (at most <see cref="PausesTimeout"/>) for Nightwatch's pauses that outlived
/// the last daemon (<see cref="GetPauses"/>): it carries them as <see cref="ApplyFleet.Held"/>, so no paused agent
/// starts at boot. Whatever arrives meanwhile is stashed and follows it in order, as it would have followed it
/// without the wait. A store that holds nothing of Nightwatch's (a new data directory, or one whose Nightwatch never
/// recorded anything: <see cref="LayerServices.PausesMayExist"/>) has no such pause: there the first revision goes at
/// once, and a cold start's agents do not wait for the journal's recovery (seconds on a loaded machine).</para>
/// </summary>
public sealed class FactoryActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>How long the first revision waits for Nightwatch's pauses; then it goes without (Nightwatch stops a paused agent's first start instead).</summary>
    public static readonly TimeSpan PausesTimeout = TimeSpan.FromSeconds(5);

    private const string PausesTimer = "pauses";
    private readonly IReadOnlyActorRegistry _registry;
    private readonly RouteBoard? _routes;
    private readonly Func<string, string?> _findExecutable;
    private readonly bool _waitForPauses;
    private (ApplyFleet Apply, IActorRef ReplyTo)? _first;
    private bool _pausesAsked;

    public FactoryActor(IReadOnlyActorRegistry registry, RouteBoard? routes, Func<string, string?> findExecutable, bool waitForPauses)
    {
        _registry = registry;
        _routes = routes;
        _findExecutable = findExecutable;
        _waitForPauses = waitForPauses;
        Routing();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    private void Routing()
    {
        Receive<ApplyFleet>(OnApply);
        Receive<PausesInForce>(_ => { }); // an answer after the first revision went without it
        Receive<SingletonUnavailable>(_ => { }); // likewise, from a cluster's Nightwatch that was moving
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
    /// <param name="waitForPauses">The first revision waits for Nightwatch's pauses; false: the store holds none (<see cref="LayerServices.PausesMayExist"/>).</param>
    public static Props Props(IReadOnlyActorRegistry registry, RouteBoard? routes, Func<string, string?> findExecutable, bool waitForPauses = true) =>
        Akka.Actor.Props.Create(() => new FactoryActor(registry, routes, findExecutable, waitForPauses));

    private void Route<TMessage, TTarget>() => Receive<TMessage>(m => Forward<TTarget>(m!));

    private void OnApply(ApplyFleet apply)
    {
        if (_waitForPauses && !_pausesAsked && _registry.TryGet<NightwatchActor>(out var nightwatch))
        {
            _pausesAsked = true;
            _first = (apply, Sender);
            nightwatch.Tell(new GetPauses(apply.Fleet.Nightwatch.PauseFor), Self);
            Timers.StartSingleTimer(PausesTimer, PausesTimedOut.Instance, PausesTimeout);
            Become(WaitingForPauses);
            return;
        }

        Apply(apply, Sender);
    }

    /// <summary>The first revision waits for Nightwatch's pauses; everything else waits behind it.</summary>
    private void WaitingForPauses()
    {
        Receive<PausesInForce>(p => ApplyFirst(p.Until));
        Receive<SingletonUnavailable>(_ => ApplyFirst(null)); // a cluster's Nightwatch is moving: its decisions stop a paused agent's start
        Receive<PausesTimedOut>(_ => ApplyFirst(null));
        ReceiveAny(_ => Stash.Stash());
    }

    private void ApplyFirst(IReadOnlyDictionary<string, DateTimeOffset>? held)
    {
        Timers.Cancel(PausesTimer);
        var (apply, replyTo) = _first!.Value;
        _first = null;
        Apply(held is { Count: > 0 } ? apply with { Held = held } : apply, replyTo);
        Become(Routing);
        Stash.UnstashAll();
    }

    private void Apply(ApplyFleet apply, IActorRef replyTo)
    {
        // the layers route the runs this revision starts against its policy, even while the router recovers
        _routes?.Publish(new RoutingPolicy(apply.Fleet), _routes.Board.With(missingClis: BoardBuilder.MissingClis(apply.Fleet, _findExecutable)));
        Tell<ProviderRouterActor>(apply);
        if (_registry.TryGet<FleetActor>(out var fleet))
        {
            fleet.Tell(apply, replyTo);
        }
        else
        {
            replyTo.Tell(new Status.Failure(new InvalidOperationException("no FleetActor in this actor system for ApplyFleet")));
        }

        Tell<SchedulerActor>(apply);
        Tell<CompoundReviewActor>(apply);
        Tell<NightwatchActor>(apply);
        Tell<NightwatchWindows>(apply); // a cluster node's windows: its agents (the decisions take the whole fleet)
        Tell<ProjectsActor>(apply);
    }

    private sealed record PausesTimedOut : Signal<PausesTimedOut>;

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
