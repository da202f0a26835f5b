using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// One control-plane actor of a cluster (the scheduler) run once per cluster: the child of its
/// <see cref="ClusterSingletonManager"/>, on the oldest member of the singleton role. It keeps the persistent actor under
/// a <see cref="JournalKeeper"/>, asks the node's <see cref="ClusterFactory"/> for the whole fleet when it starts (a
/// singleton that took over from a lost node recovers its journal and then places its timers from that fleet), and
/// hands it the other nodes' <see cref="Messages.Agents.AgentLifecycle"/> events from the DistributedPubSub topic
/// <see cref="NodeLifecycle.Topic"/> (this node's own reach it through the node's topics, as on a single node), so a
/// queued firing starts when a run on another node ends; the projects singleton also the other nodes' project runs'
/// output, usage and routes (<see cref="NodeProjectEvent"/>), so it reads its runs wherever their agents are placed. The manager's termination message
/// <see cref="StopPersistent"/> goes to the keeper, which stops the actor after its journal writes in flight; this
/// actor stops when the keeper has (never PoisonPill: the hand-over waits for them). Everything else is forwarded.
/// </summary>
public sealed class ControlSingleton : ReceiveActor
{
    private readonly IActorRef _factory;
    private readonly IActorRef _mediator;
    private readonly Props _keeper;
    private readonly string _name;
    private readonly bool _projectEvents;
    private IActorRef _child = ActorRefs.Nobody;

    public ControlSingleton(Props keeper, string name, string node, IActorRef factory, IActorRef mediator, bool projectEvents = false)
    {
        (_keeper, _name, _factory, _mediator, _projectEvents) = (keeper, name, factory, mediator, projectEvents);
        Receive<CurrentFleet>(c => _child.Tell(new ApplyFleet(c.Fleet), Self));
        Receive<NodeLifecycle>(n =>
        {
            if (n.Node != node)
            {
                _child.Tell(n.Lifecycle, Self);
            }
        });
        Receive<NodeProjectEvent>(n =>
        {
            if (n.Node != node && n.Event is { } e)
            {
                _child.Tell(e, Self); // this node's own reach it through the node's topics
            }
        });
        Receive<SubscribeAck>(_ => { });
        Receive<StopPersistent>(s => _child.Tell(s, Self));
        Receive<Terminated>(t =>
        {
            if (t.ActorRef.Equals(_child))
            {
                Context.Stop(Self);
            }
        });
        ReceiveAny(m => _child.Forward(m));
    }

    /// <param name="keeper">The persistent actor under its <see cref="JournalKeeper"/>.</param>
    /// <param name="name">The keeper's name (the actor's: scheduler).</param>
    /// <param name="node">This node's name (its own lifecycle events come through its topics).</param>
    /// <param name="factory">This node's <see cref="ClusterFactory"/>.</param>
    /// <param name="mediator">The DistributedPubSub mediator.</param>
    /// <param name="projectEvents">Whether it also hears the other nodes' project runs' events (the projects singleton).</param>
    public static Props Props(Props keeper, string name, string node, IActorRef factory, IActorRef mediator, bool projectEvents = false) =>
        Akka.Actor.Props.Create(() => new ControlSingleton(keeper, name, node, factory, mediator, projectEvents));

    protected override void PreStart()
    {
        _child = Context.Watch(Context.ActorOf(_keeper, _name));
        _factory.Tell(GetFleet.Instance, Self);
        _mediator.Tell(new Subscribe(NodeLifecycle.Topic, Self));
        if (_projectEvents)
        {
            _mediator.Tell(new Subscribe(NodeProjectEvent.Topic, Self));
        }
    }

    protected override void PostStop()
    {
        _mediator.Tell(new Unsubscribe(NodeLifecycle.Topic, Self));
        if (_projectEvents)
        {
            _mediator.Tell(new Unsubscribe(NodeProjectEvent.Topic, Self));
        }
    }
}

/// <summary>
/// A node's entry for a control-plane singleton (registered under the actor's type, so the gateway and the API reach it
/// as on a single node): forwards everything to the singleton's proxy, sender kept, except what is only this node's —
/// the node's part of the fleet (<see cref="ApplyFleet"/>: the singleton gets the whole one from the
/// <see cref="ClusterFactory"/>) and the node's drain (<see cref="DrainFleet"/>: a node shutting down does not stop the
/// cluster's scheduler; its hand-over does) — and the reads (<see cref="ISingletonRead"/>), which are answered within
/// <paramref name="bound"/>: at once with <see cref="SingletonUnavailable"/> when <paramref name="site"/> says the
/// singleton's node is unreachable or downed (the proxy would send the read to a dead node, or hold it until the next
/// oldest member runs the singleton), else the singleton's answer, or <see cref="SingletonUnavailable"/> after the bound.
/// </summary>
public sealed class SingletonFace : ReceiveActor
{
    public SingletonFace(IActorRef proxy, string name, string? role, Func<SingletonSite> site, TimeSpan bound)
    {
        Receive<ApplyFleet>(_ => { });
        Receive<DrainFleet>(_ => { });
        Receive<ISingletonRead>(read =>
        {
            var where = site();
            if (where.Refusal(name, role) is { } refusal)
            {
                Sender.Tell(refusal);
                return;
            }

            proxy.Ask<object>(read, bound).PipeTo(Sender, success: answer => answer, failure: _ => SingletonSite.NoAnswer(name, where.Node, bound));
        });
        ReceiveAny(m => proxy.Forward(m));
    }

    /// <param name="proxy">The singleton's proxy.</param>
    /// <param name="name">The singleton's name (scheduler, compound-review), as the refusals say it.</param>
    /// <param name="role">Its role; null: any member.</param>
    /// <param name="site">Where it runs now, read at each read (the gossip's snapshot: <see cref="SingletonSite.Locate"/>).</param>
    /// <param name="bound">The longest a read waits for the singleton's answer.</param>
    public static Props Props(IActorRef proxy, string name, string? role, Func<SingletonSite> site, TimeSpan bound) =>
        Akka.Actor.Props.Create(() => new SingletonFace(proxy, name, role, site, bound));
}

/// <summary>
/// Runs control-plane actors as cluster singletons (<see cref="IControlSingletons"/>), on role <paramref name="role"/>
/// (any member when null): at <c>/user/NAME-singleton</c> the manager (terminated with <see cref="StopPersistent"/>; only on
/// a node of the role), at
/// <c>/user/NAME-proxy</c> its proxy, at <c>/user/NAME</c> the node's <see cref="SingletonFace"/>, which is returned
/// (its reads bounded by <c>darkfactory.singleton-read-timeout</c>, 5 s when not set).
/// </summary>
public sealed class ControlSingletons(ActorSystem system, string node, string? role, IActorRef factory, Func<double>? random = null) : IControlSingletons
{
    /// <summary>The bound on a read of a singleton when <c>darkfactory.singleton-read-timeout</c> is not set.</summary>
    public static readonly TimeSpan DefaultReadBound = TimeSpan.FromSeconds(5);

    public IActorRef Mediator => DistributedPubSub.Get(system).Mediator;

    public string Node => node;

    public IActorRef Start(string name, Func<IActorRef, Props> persistent, bool projectEvents = false)
    {
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
            // only a node that may hold it runs a manager (Akka refuses one on a node without the role)
            var keeper = JournalKeeper.Props(persistent(factory), name, random: random);
            var mediator = DistributedPubSub.Get(system).Mediator;
            system.ActorOf(ClusterSingletonManager.Props(ControlSingleton.Props(keeper, name, node, factory, mediator, projectEvents), StopPersistent.Instance, manager), name + "-singleton");
        }

        var singleton = system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}-singleton", proxy), name + "-proxy");
        factory.Tell(new ClusterFactory.Follow(singleton));
        var bound = system.Settings.Config.GetTimeSpan("darkfactory.singleton-read-timeout", DefaultReadBound, allowInfinite: false);
        return system.ActorOf(SingletonFace.Props(singleton, name, role, () => SingletonSite.Locate(MemberFacts.OldestFirst(cluster.State), role), bound), name);
    }
}
