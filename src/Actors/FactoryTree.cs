using Akka.Hosting;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Routing.Admission;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;

namespace DarkFactory.Actors;

/// <summary>
/// Composes the actor tree of one node, in parts, and registers each actor in the <see cref="ActorRegistry"/>
/// under its own type: the Akka.Hosting extensions of the daemon (<c>WithDarkFactoryGateway</c>,
/// <c>WithDarkFactoryFleet</c>, <c>WithDarkFactoryControlPlane</c>) call these, and so can a test or a scenario
/// sandbox with its own clock, launcher and journal. Every part reaches the others only through the gateway
/// (<see cref="FactoryActor"/>), so the parts can be composed in any order after it, or on different nodes.
/// A later composition in the same system (a restarted daemon in a test) replaces the registry's entries.
/// </summary>
/// <remarks>
/// <paramref name="node"/> in each method is the node's <see cref="LayerServices"/>: its daemon id and data
/// directory, log sinks, environment, clock, randomness, CLI lookup and route board. Its sweeper, history
/// and router are filled in here (give <see cref="ActorRefs.Nobody"/>).
/// </remarks>
public static class FactoryTree
{
    /// <summary>The gateway, the sweeper, the history, the fleet and the control plane: the daemon's whole tree.</summary>
    /// <param name="parent">The actor system (top-level actors), or an actor's context (a tree that stops with its parent).</param>
    /// <returns>The gateway.</returns>
    public static IActorRef Start(IActorRefFactory parent, IActorRegistry registry, LayerServices node)
    {
        node = node with { Routes = node.Routes ?? new RouteBoard() };
        var gateway = StartGateway(parent, registry, node);
        StartFleet(parent, registry, node);
        StartControlPlane(parent, registry, node);
        return gateway;
    }

    /// <summary>The gateway at <c>factory</c>, registered as <see cref="FactoryActor"/>: compose it first.</summary>
    public static IActorRef StartGateway(IActorRefFactory parent, IActorRegistry registry, LayerServices node)
    {
        var gateway = parent.ActorOf(FactoryActor.Props((IReadOnlyActorRegistry)registry, node.Routes, node.FindExecutable, node.PausesMayExist), "factory");
        registry.Register<FactoryActor>(gateway, overwrite: true);
        return gateway;
    }

    /// <summary>The worker plane of the node: the process sweeper, the agents' history and the fleet with its layers.</summary>
    public static void StartFleet(IActorRefFactory parent, IActorRegistry registry, LayerServices node)
    {
        var gateway = registry.Get<FactoryActor>();
        var sweeper = Register<ProcessSweeper>(registry, parent.ActorOf(ProcessSweeper.Props(), "sweeper"));
        var history = Register<HistoryActor>(registry, parent.ActorOf(HistoryActor.Props(node.Clock.GetUtcNow()), "history"));
        if (node.Routes is not null)
        {
            // the node's copy of the router's board, which its layers route against (the router may live on another node)
            RouteBoardSubscriber.Start(parent, node.Routes, gateway);
        }

        if (node.Gate is not null)
        {
            // the node's admission gate: token usage for tokens_per_minute, wake-ups when a minute slides
            Register<RunGateKeeper>(registry, parent.ActorOf(RunGateKeeper.Props(node.Gate, node.Clock), "run-gate"));
        }

        // a layer tells the router each run's route through the gateway (in a cluster the router lives on another node)
        var layers = node with { Sweeper = sweeper, History = history, Router = gateway };
        Register<FleetActor>(registry, parent.ActorOf(FleetActor.Props(layers), "fleet"));
    }

    /// <summary>
    /// The control plane: the router, the scheduler, the compound review with its read model, Nightwatch, and the
    /// projects with theirs.
    /// Each persistent actor is kept by a <see cref="JournalKeeper"/> (a failed journal write stops it; the keeper
    /// starts it again) and registered as its own type, the keeper standing in for it.
    /// </summary>
    /// <param name="singletons">In a cluster: runs the cluster-wide actors (the router, the scheduler, the compound review, Nightwatch's decisions, the projects) once per cluster under one persistence id; null: here.</param>
    public static void StartControlPlane(IActorRefFactory parent, IActorRegistry registry, LayerServices node, IControlSingletons? singletons = null)
    {
        var gateway = registry.Get<FactoryActor>();
        var router = new RouterSettings { PersistenceId = Scoped(node, "router"), Clock = node.Clock, FindExecutable = node.FindExecutable, Factory = gateway };
        if (singletons is null)
        {
            Keep<ProviderRouterActor>(registry, parent, "router", ProviderRouterActor.Props(router), node);
        }
        else
        {
            // one router for the cluster (one ledger, budgets and provider health); the node's feed takes its runs' inputs
            // to it and its board and events to the node's topics
            var face = singletons.Start("router", factory => ProviderRouterActor.Props(router with { PersistenceId = "router", Factory = factory, Cluster = true, Node = singletons.Node }));
            Register<ProviderRouterActor>(registry, RouterFeed.Start(parent, face, singletons.Mediator));
        }

        var scheduler = new SchedulerSettings { PersistenceId = Scoped(node, "scheduler"), Clock = node.Clock };
        if (singletons is null)
        {
            Keep<SchedulerActor>(registry, parent, "scheduler", SchedulerActor.Props(gateway, scheduler), node);
        }
        else
        {
            Register<SchedulerActor>(registry, singletons.Start("scheduler", factory => SchedulerActor.Props(factory, scheduler with { PersistenceId = "scheduler" })));
        }

        var review = new ReviewDependencies { Clock = node.Clock, Environment = node.Environment, Ports = node.ReviewPorts };
        if (singletons is null)
        {
            var views = Register<ReviewViewsActor>(registry, parent.ActorOf(ReviewViewsActor.Props(), "compound-review-views"));
            Keep<CompoundReviewActor>(registry, parent, "compound-review", CompoundReviewActor.Props(gateway, ReviewSettingsFor(node), review with { Views = views }), node);
        }
        else
        {
            // one review for the cluster, with its read model as its child: every node's queries reach it through the singleton
            var settings = ReviewSettingsFor(node) with { PersistenceId = "compound-review", RunsOutliveTheReview = true };
            var face = Register<CompoundReviewActor>(registry, singletons.Start("compound-review", factory => CompoundReviewActor.Props(factory, settings, review)));
            Register<ReviewViewsActor>(registry, face);
        }

        var nightwatch = new NightwatchSettings { PersistenceId = Scoped(node, "nightwatch"), Clock = node.Clock };
        if (singletons is null)
        {
            Keep<NightwatchActor>(registry, parent, "nightwatch", NightwatchActor.Props(gateway, gateway, nightwatch), node);
        }
        else
        {
            // the decisions once per cluster (corrections, escalations, pauses and hints under one id, carried out on the
            // agent's node); the windows beside this node's agents, which read every line and send only what they judged
            var decisions = Register<NightwatchActor>(registry, singletons.Start("nightwatch", factory => NightwatchActor.Props(factory, factory, nightwatch with { PersistenceId = "nightwatch", Part = NightwatchPart.Decisions })));
            var windows = nightwatch with { Part = NightwatchPart.Windows, Decider = decisions, Node = node.Daemon.PersistenceScope.TrimStart('@') };
            Keep<NightwatchWindows>(registry, parent, "nightwatch-windows", NightwatchActor.Props(gateway, gateway, windows), node);
        }

        if (singletons is null)
        {
            var projectViews = Register<ProjectViewsActor>(registry, parent.ActorOf(ProjectViewsActor.Props(node.Clock), "project-views"));
            Keep<ProjectsActor>(registry, parent, "projects", ProjectsActor.Props(gateway, ProjectSettingsFor(node) with { Views = projectViews }), node);
        }
        else
        {
            // one registry of projects for the cluster, with its read model as its child; its runs start on the nodes
            // their agents are placed on (the factory it is given sends each there) and their events come back to it
            var settings = ProjectSettingsFor(node) with { PersistenceId = "projects" };
            var face = Register<ProjectsActor>(registry, singletons.Start("projects", factory => ProjectsActor.Props(factory, settings), projectEvents: true));
            Register<ProjectViewsActor>(registry, face);
        }
    }

    /// <summary>Reviews under &lt;data&gt;/reviews; worktrees under $DF_WORKTREES or &lt;data&gt;/worktrees.</summary>
    private static ReviewSettings ReviewSettingsFor(LayerServices node) => new()
    {
        PersistenceId = Scoped(node, "compound-review"),
        ReviewsDirectory = Path.Combine(node.Daemon.DataDirectory, "reviews"),
        WorktreeRoot = node.WorktreeRoot,
        MarkerPrefix = node.Daemon.DaemonId + "/",
        GateSandbox = GateSandbox.For(node.Daemon),
        GateCgroups = node.Daemon.Cgroups,
    };

    /// <summary>Projects' files under &lt;data&gt;/projects (so a backup of the data directory has them); worktrees under the worktree root's projects/.</summary>
    private static ProjectSettings ProjectSettingsFor(LayerServices node) => new()
    {
        PersistenceId = Scoped(node, "projects"),
        ProjectsDirectory = Path.Combine(node.Daemon.DataDirectory, "projects"),
        WorktreeRoot = Path.Combine(node.WorktreeRoot, "projects"),
        MarkerPrefix = node.Daemon.DaemonId + "/",
        GateSandbox = GateSandbox.For(node.Daemon),
        GateCgroups = node.Daemon.Cgroups,
        Environment = node.Environment,
        Clock = node.Clock,
        Ports = node.ProjectPorts ?? ProjectPorts.Real,
        Random = new Random((int)(node.Random() * int.MaxValue)).Next, // seeded from the node's: a scenario's project ids follow its seed
    };

    /// <summary>A control-plane persistence id in the node's scope (<see cref="DaemonContext.PersistenceScope"/>).</summary>
    private static string Scoped(LayerServices node, string id) => id + node.Daemon.PersistenceScope;

    /// <summary>A persistent actor under its <see cref="JournalKeeper"/>, whose backoff jitter draws on the node's randomness (a scenario's is seeded).</summary>
    private static void Keep<TKey>(IActorRegistry registry, IActorRefFactory parent, string name, Props persistent, LayerServices node) =>
        Register<TKey>(registry, parent.ActorOf(JournalKeeper.Props(persistent, name, random: node.Random), name));

    private static IActorRef Register<TKey>(IActorRegistry registry, IActorRef actor)
    {
        registry.Register<TKey>(actor, overwrite: true);
        return actor;
    }
}

/// <summary>Runs a control-plane actor once per cluster (a cluster singleton) instead of on every node.</summary>
public interface IControlSingletons
{
    /// <param name="name">The actor's name (<c>scheduler</c>).</param>
    /// <param name="persistent">Its props, given the factory it talks to on the node where it runs.</param>
    /// <param name="projectEvents">Whether it hears every node's project runs' output, usage and routes (the projects).</param>
    /// <returns>What this node registers for it: every message sent to it reaches the one instance.</returns>
    IActorRef Start(string name, Func<IActorRef, Props> persistent, bool projectEvents = false);

    /// <summary>The cluster's DistributedPubSub mediator (the router's board and events reach every node through it).</summary>
    IActorRef Mediator { get; }

    /// <summary>This node's name.</summary>
    string Node { get; }
}
