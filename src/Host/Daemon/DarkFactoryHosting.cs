using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Hosting;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Host.Cluster;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// The daemon's actor system as Akka.Hosting extensions, one per part, in the order <see cref="DaemonHost"/>
/// calls them. A test or a scenario sandbox composes a fresh system from the same parts with its own clock,
/// launcher and journal. Each actor is registered under its own type (<c>IRequiredActor&lt;SchedulerActor&gt;</c>);
/// the gateway under <see cref="FactoryActor"/>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>WithDarkFactoryPersistence</term><description>the journal and snapshot store (SQLite file or PostgreSQL)</description></item>
/// <item><term>WithDarkFactoryCluster</term><description>cluster mode only (<c>df up --node</c>): provider, remoting, seeds, roles, split-brain resolver</description></item>
/// <item><term>WithDarkFactorySettings</term><description>hocon/darkfactory.conf under the operator's own file; loggers through Microsoft.Extensions.Logging</description></item>
/// <item><term>WithDarkFactoryGateway</term><description>/user/factory, the port every part reaches the others through (first)</description></item>
/// <item><term>WithDarkFactoryFleet</term><description>sweeper, history, fleet with its layers (the worker plane)</description></item>
/// <item><term>WithDarkFactoryControlPlane</term><description>router, scheduler, compound review and its views, Nightwatch, projects and their views (in a cluster the scheduler is a cluster singleton)</description></item>
/// <item><term>WithFleetDrain</term><description>CoordinatedShutdown: drain every agent, sweep, flush the history</description></item>
/// <item><term>WithDarkFactoryControl</term><description>the event bridge (API status view, SSE) and telemetry</description></item>
/// </list>
/// </remarks>
public static class DarkFactoryHosting
{
    /// <summary>The store's connection settings over hocon/persistence.conf (an in-memory store: Akka's in-memory plugins only).</summary>
    public static AkkaConfigurationBuilder WithDarkFactoryPersistence(this AkkaConfigurationBuilder akka, PersistenceSetup store)
    {
        akka.AddHocon(ConfigurationFactory.ParseString(store.Hocon()), HoconAddMode.Prepend);
        if (store.IsInMemory)
        {
            return akka;
        }

        akka.AddHocon(LoadHocon("persistence.conf"), HoconAddMode.Append);
        return akka;
    }

    /// <summary>
    /// Cluster mode (<c>df up --node</c>): the cluster provider, Akka.Remote, seeds, roles and the split-brain resolver
    /// (<see cref="ClusterNodeOptions.Hocon"/>); nothing for a single node. Call it before <see cref="WithDarkFactorySettings"/>,
    /// so that an operator's <c>DF_HOCON</c> goes over it.
    /// </summary>
    /// <param name="tls">Mutual TLS on the cluster port (<see cref="ClusterTls"/>); null: plain TCP.</param>
    public static AkkaConfigurationBuilder WithDarkFactoryCluster(this AkkaConfigurationBuilder akka, ClusterNodeOptions? node, FleetSpec fleet, ClusterTls? tls = null)
    {
        if (node is not null)
        {
            akka.AddHocon(ConfigurationFactory.ParseString(node.Hocon(fleet)), HoconAddMode.Prepend);
            if (tls is not null)
            {
                akka.AddHocon(ConfigurationFactory.ParseString(ClusterTls.Hocon), HoconAddMode.Prepend);
                akka.AddSetup(tls.Setup());
            }
        }

        return akka;
    }

    /// <summary>
    /// hocon/darkfactory.conf (the defaults) and, over everything added before it, the operator's own HOCON file
    /// (<c>DF_HOCON</c>) when there is one: call it after <see cref="WithDarkFactoryPersistence"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithDarkFactorySettings(this AkkaConfigurationBuilder akka, string? operatorHocon = null)
    {
        if (operatorHocon is { Length: > 0 } && File.Exists(operatorHocon))
        {
            akka.AddHocon(ConfigurationFactory.ParseString(File.ReadAllText(operatorHocon)), HoconAddMode.Prepend);
        }

        akka.AddHocon(LoadHocon("darkfactory.conf"), HoconAddMode.Append);
        akka.ConfigureLoggers(l =>
        {
            l.LogLevel = Akka.Event.LogLevel.InfoLevel;
            l.ClearLoggers();
            l.AddLoggerFactory();
        });
        return akka;
    }

    /// <param name="node">The node's services (<see cref="FactoryTree"/>); its route board must be set.</param>
    public static AkkaConfigurationBuilder WithDarkFactoryGateway(this AkkaConfigurationBuilder akka, LayerServices node) =>
        akka.WithActors((system, registry) => FactoryTree.StartGateway(system, registry, node));

    public static AkkaConfigurationBuilder WithDarkFactoryFleet(this AkkaConfigurationBuilder akka, LayerServices node) =>
        akka.WithActors((system, registry) => FactoryTree.StartFleet(system, registry, node));

    /// <param name="cluster">Cluster mode: the scheduler and the compound review run as cluster singletons (<see cref="ControlSingletons"/>, on the
    /// singleton role of <paramref name="fleet"/>) through the node's <see cref="ClusterFactory"/> (compose
    /// <see cref="WithDarkFactoryPlacement"/> first); null: everything on this node.</param>
    public static AkkaConfigurationBuilder WithDarkFactoryControlPlane(this AkkaConfigurationBuilder akka, LayerServices node, ClusterNodeOptions? cluster = null, FleetSpec? fleet = null) =>
        akka.WithActors((system, registry) => FactoryTree.StartControlPlane(system, registry, node, cluster is null
            ? null
            : new ControlSingletons(system, cluster.Node, fleet is null ? null : ClusterNodeOptions.SingletonRole(fleet), registry.Get<ClusterFactory>(), node.Random)));

    /// <summary>On shutdown (SIGTERM, Ctrl-C): every agent stopped within its grace period, before persistence goes away.</summary>
    /// <param name="daemonId">The run marker of this daemon's processes: whatever outlived the drain is killed by it.</param>
    /// <param name="grace">The longest grace period of the fleet's agents.</param>
    public static AkkaConfigurationBuilder WithFleetDrain(this AkkaConfigurationBuilder akka, string daemonId, TimeSpan grace, RunCgroups? cgroups = null) =>
        akka.WithActors((system, registry) => FleetDrain.Register(system, registry.Get<FactoryActor>(), daemonId, grace, cgroups));

    /// <summary>
    /// The event bridge (feeds <paramref name="view"/> and the SSE stream) and the telemetry actor; on a cluster node
    /// (<paramref name="clusterNode"/>) the bridge stamps lifecycle events with the node, a <see cref="LifecycleRelay"/>
    /// exchanges them with the other nodes over DistributedPubSub, and an <see cref="OutputRelay"/> sends an agent's output
    /// to the nodes whose clients watch it.
    /// </summary>
    public static AkkaConfigurationBuilder WithDarkFactoryControl(this AkkaConfigurationBuilder akka, FleetStatusView view, FleetTelemetry telemetry, string? clusterNode = null) =>
        akka.WithActors((system, registry) =>
        {
            var bridge = system.ActorOf(EventBridgeActor.Props(registry.Get<FactoryActor>(), new EventBridgeSettings { Node = clusterNode }, view), "events");
            registry.Register<EventBridgeActor>(bridge);
            if (clusterNode is not null)
            {
                system.ActorOf(LifecycleRelay.Props(clusterNode, DistributedPubSub.Get(system).Mediator, bridge), "lifecycle-relay");
                system.ActorOf(OutputRelay.Props(clusterNode, DistributedPubSub.Get(system).Mediator, bridge), "output-relay"); // the bridge tells it what its clients watch
            }

            telemetry.Output = OutputFlow.For(system);
            registry.Register<TelemetryActor>(system.ActorOf(TelemetryActor.Props(telemetry), "telemetry"));
        });

    /// <summary>
    /// Cluster mode only: the placement coordinator as a cluster singleton (on role <c>control</c> when a node has it,
    /// else any; stopped with its own message, never PoisonPill, so a placement being written is written) with its proxy,
    /// and this node's <see cref="PlacementNode"/> (registered under its type), which hands each placement it accepts to
    /// <paramref name="membership"/> and answers other nodes' <c>GetAgents</c> from this node's fleet, and the node's
    /// <see cref="ClusterFactory"/> (registered), which the control-plane singletons talk to. Call it after
    /// <see cref="WithDarkFactoryGateway"/>. Nothing for a single node.
    /// </summary>
    /// <param name="logPathOf">An agent's log file on this node, null for a name that is not one (other nodes' <c>df logs</c> read it through this node's <see cref="LogReaderActor"/>).</param>
    public static AkkaConfigurationBuilder WithDarkFactoryPlacement(this AkkaConfigurationBuilder akka, ClusterNodeOptions? node, FleetSpec fleet, ClusterMembership membership, Func<string, string?>? logPathOf = null)
    {
        if (node is null)
        {
            return akka;
        }

        return akka.WithActors((system, registry) =>
        {
            var role = ClusterNodeOptions.SingletonRole(fleet);
            var manager = ClusterSingletonManagerSettings.Create(system);
            var proxy = ClusterSingletonProxySettings.Create(system);
            if (role is not null)
            {
                manager = manager.WithRole(role);
                proxy = proxy.WithRole(role);
            }

            var cluster = Akka.Cluster.Cluster.Get(system);
            if (role is null || cluster.SelfRoles.Contains(role))
            {
                system.ActorOf(ClusterSingletonManager.Props(PlacementCoordinator.Props(TimeProvider.System), PlacementCoordinator.Stop.Instance, manager), "placement-coordinator");
            }

            var coordinator = system.ActorOf(ClusterSingletonProxy.Props("/user/placement-coordinator", proxy), "placement-coordinator-proxy");
            var logs = logPathOf is null ? null : system.ActorOf(LogReaderActor.Props(logPathOf), "log-reader");
            var tails = system.ActorOf(RunTailsActor.Props(node.Node), RunTailsActor.ActorName); // the review's summary of a run on this node
            var factory = system.ActorOf(ClusterFactory.Props(node.Node, registry.Get<FactoryActor>(), () => MemberFacts.From(cluster.State), tails), ClusterFactory.ActorName);
            registry.Register<ClusterFactory>(factory);
            registry.Register<PlacementNode>(system.ActorOf(PlacementNode.Props(node.Node, coordinator, registry.Get<FactoryActor>(), membership.Accept, logs, factory, tails), PlacementCoordinator.NodeActorName));
        });
    }

    private static Config LoadHocon(string name) =>
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", name)));
}
