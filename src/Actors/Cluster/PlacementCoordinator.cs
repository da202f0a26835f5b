using Akka.Cluster;
using Akka.Persistence;
using DarkFactory.Actors.Persistence;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// The one placement coordinator of a cluster (run as a cluster singleton): keeps the members from the cluster's
/// events, the fleet the nodes declare (<see cref="PlacementFleet"/>) and the placement, re-plans
/// (<see cref="PlacementPlanner"/>) on every member or reachability change and every declared fleet, persists each
/// new placement (so a coordinator that takes over goes on from its epoch), and sends every Up member the whole
/// placement as its <see cref="NodeAssignment"/> — again every <see cref="ResendEvery"/>, since remoting is at most once.
/// An agent a reload moves off a member is handed over: the placement that takes it off its node places it nowhere
/// (<see cref="AgentPlacement.MovingFrom"/>); the node stops it and confirms with <see cref="PlacementReleased"/>, and only
/// then is it placed on its new node. While the old node is a member and has not confirmed (silent, unreachable, its
/// confirmation lost) the agent stays moving, the assignment resent every 2 s; once the node is removed the rules of node loss apply.
/// </summary>
public sealed class PlacementCoordinator : PersistentActorBase
{
    public const string PersistenceIdOf = "placement";

    /// <summary>Where each node's <see cref="PlacementNode"/> lives (under /user).</summary>
    public const string NodeActorName = "placement-node";

    /// <summary>The role that carries a member's node name (<c>node:NAME</c>).</summary>
    public const string NodeRolePrefix = "node:";

    public static readonly TimeSpan ResendEvery = TimeSpan.FromSeconds(2);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Address, Member> _members = [];
    private readonly HashSet<Address> _unreachable = [];
    private readonly Dictionary<string, long> _released = new(StringComparer.Ordinal); // the newest epoch each node confirmed released (not persisted: the nodes confirm again with each resend)
    private Placement _placement = Placement.None;
    private PlacementFleet? _fleet;
    private bool _membersKnown; // no plan before the cluster's state arrived: an empty view would read as every node removed

    public PlacementCoordinator(string persistenceId, TimeProvider clock)
        : base(persistenceId, snapshotEvery: 50, clock)
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is PlacementSnapshot s)
            {
                (_placement, _fleet) = (s.Placement, s.Fleet);
            }
        });
        Recover<Placement>(p => _placement = p);
        Recover<PlacementFleet>(f => _fleet = f);

        Command<ClusterEvent.CurrentClusterState>(state =>
        {
            _members.Clear();
            _unreachable.Clear();
            foreach (var m in state.Members.Where(m => m.Status != MemberStatus.Removed))
            {
                _members[m.Address] = m;
            }

            _unreachable.UnionWith(state.Unreachable.Select(m => m.Address));
            _membersKnown = true;
            Replan();
        });
        Command<ClusterEvent.IMemberEvent>(e =>
        {
            if (e is ClusterEvent.MemberRemoved)
            {
                _members.Remove(e.Member.Address);
                _unreachable.Remove(e.Member.Address);
            }
            else
            {
                _members[e.Member.Address] = e.Member;
            }

            Replan();
        });
        Command<ClusterEvent.UnreachableMember>(e =>
        {
            _unreachable.Add(e.Member.Address);
            Replan();
        });
        Command<ClusterEvent.ReachableMember>(e =>
        {
            _unreachable.Remove(e.Member.Address);
            Replan();
        });
        Command<ClusterEvent.IClusterDomainEvent>(_ => { });
        Command<PlacementFleet>(fleet =>
        {
            if (fleet.SameAs(_fleet))
            {
                Replan();
                return;
            }

            Persist(fleet, f =>
            {
                _fleet = f;
                _log.Info("Placing the fleet node {0} declared: {1} agent(s)", f.From, f.Agents.Count);
                SnapshotWhenDue(() => new PlacementSnapshot(_placement, _fleet));
                Replan();
            });
        });
        Command<PlacementReleased>(r =>
        {
            if (r.Epoch > _released.GetValueOrDefault(r.Node))
            {
                _released[r.Node] = r.Epoch;
                Replan(); // an agent moving off that node is placed now
            }
        });
        Command<Resend>(_ => Send());
        Command<GetPlacement>(_ => Sender.Tell(_placement));
        Command<Stop>(_ => Context.Stop(Self)); // after any Persist in flight: commands wait for its handler
    }

    /// <summary>The singleton's termination message: stop once the journal writes in flight are done (never PoisonPill).</summary>
    public sealed record Stop : Signal<Stop>;

    /// <summary>Asks for the current <see cref="Placement"/> (tests, diagnostics).</summary>
    public sealed record GetPlacement : Signal<GetPlacement>;

    private sealed record Resend : Signal<Resend>;

    public static Props Props(TimeProvider clock, string persistenceId = PersistenceIdOf) =>
        Akka.Actor.Props.Create(() => new PlacementCoordinator(persistenceId, clock));

    /// <summary>The node name a member carries in its <c>node:NAME</c> role, or null.</summary>
    public static string? NodeOf(IEnumerable<string> roles) =>
        roles.FirstOrDefault(r => r.StartsWith(NodeRolePrefix, StringComparison.Ordinal)) is { } role ? role[NodeRolePrefix.Length..] : null;

    protected override void OnReplaySuccess()
    {
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer("resend", Resend.Instance, ResendEvery);
        _log.Info("Placement coordinator up at epoch {0}", _placement.Epoch);
    }

    protected override void PostStop()
    {
        Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    private void Replan()
    {
        if (_fleet is null || !_membersKnown)
        {
            return; // nothing to place until a node declares its fleet and the members are known
        }

        var members = _members.Values
            .Select(m => (Node: NodeOf(m.Roles), Member: m))
            .Where(x => x.Node is not null)
            .Select(x => new PlacementMember(
                x.Node!,
                [.. x.Member.Roles],
                x.Member.Status == MemberStatus.Up && !_unreachable.Contains(x.Member.Address),
                _fleet.MaxAgents.TryGetValue(x.Node!, out var max) ? max : null))
            .ToList();
        var next = PlacementPlanner.Plan(_placement, members, _fleet.Agents, _released);
        if (next.Epoch == _placement.Epoch)
        {
            return;
        }

        Persist(next, p =>
        {
            _placement = p;
            _log.Info("Placement epoch {0}: {1}", p.Epoch, string.Join(", ", p.Agents.Select(a => $"{a.Agent}->{a.Node ?? "none"}")));
            SnapshotWhenDue(() => new PlacementSnapshot(_placement, _fleet));
            Send();
        });
    }

    private void Send()
    {
        if (_placement.Epoch == 0)
        {
            return;
        }

        foreach (var (address, member) in _members)
        {
            if (member.Status == MemberStatus.Up && NodeOf(member.Roles) is { } node)
            {
                Context.ActorSelection(new RootActorPath(address) / "user" / NodeActorName).Tell(new NodeAssignment(node, _placement));
            }
        }
    }
}

/// <summary>
/// A node's end of placement (one per cluster node, at /user/<see cref="PlacementCoordinator.NodeActorName"/>): declares
/// the node's fleet to the coordinator (at start, on reload and again every <see cref="DeclareEvery"/>), and takes the
/// coordinator's <see cref="NodeAssignment"/>s through its <see cref="PlacementEpochGate"/>: a stale epoch is refused
/// (logged), a new one handed to <c>accepted</c> (the daemon applies the node's part of the fleet). Another node's
/// <see cref="GetAgents"/> goes to this node's fleet (<c>factory</c>), which answers the asker directly; so does its
/// agent command (<see cref="IAgentCommand"/>) for an agent placed here (any other is refused as
/// <see cref="CommandOutcome.Unplaced"/>), its <see cref="GetHistory"/> to this node's fleet (its history answers the
/// asker), its <see cref="ReadLog"/> to this node's log reader and its <see cref="GetRunOutput"/> to this node's run tails. The declared fleet and each accepted placement also go
/// to the node's <see cref="ClusterFactory"/>. Once the daemon applied an accepted placement and the node's fleet lists no
/// agent outside the node's part (the runs of the agents taken off it ended), the node confirms with
/// <see cref="PlacementReleased"/> (looking again every <see cref="ReleaseCheckEvery"/> until then, and confirming again with
/// each resent assignment of that epoch): the coordinator places an agent handed over from this node only after it.
/// </summary>
public sealed class PlacementNode : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan DeclareEvery = TimeSpan.FromSeconds(10);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PlacementEpochGate _gate = new();
    private long _applied = -1;
    private PlacementFleet? _declared;
    private NodeAssignment? _assignment;
    private long _released = -1; // the epoch whose release this node confirmed
    private readonly IActorRef _factory;

    public PlacementNode(string node, IActorRef coordinator, IActorRef factory, Func<NodeAssignment, Task> accepted, IActorRef? logs = null, IActorRef? cluster = null, IActorRef? tails = null)
    {
        _factory = factory;
        Receive<GetAgents>(q => factory.Forward(q));
        Receive<GetHistory>(q => factory.Forward(q)); // another node's df history NAME: this node's record, answered to the asker
        Receive<IAgentCommand>(c =>
        {
            // another node's df start/stop/restart/run for an agent it believes placed here: only the agents of the
            // placement this node accepted (a command sent on an older placement never reaches a fleet that moved on)
            if (_assignment?.Agents.Contains(AgentInstance.BaseOf(c.Agent), StringComparer.Ordinal) == true) // a project's instance: its agent's
            {
                factory.Forward(c);
            }
            else
            {
                Sender.Tell(CommandResult.Refused(CommandOutcome.Unplaced, $"agent '{c.Agent}' is not placed on node {node} ({(_assignment is null ? "no placement reached it yet" : $"placement epoch {_assignment.Epoch}")})"));
            }
        });
        Receive<ReadLog>(r =>
        {
            if (logs is null)
            {
                Sender.Tell(LogPage.Refusal(r.Agent, $"node {node} does not serve logs"));
            }
            else
            {
                logs.Forward(r);
            }
        });
        Receive<GetRunOutput>(q =>
        {
            if (tails is null)
            {
                Sender.Tell(RunOutput.NoAnswer(q, $"node {node} keeps no run's output", node));
            }
            else
            {
                tails.Forward(q);
            }
        });
        Receive<Declare>(d =>
        {
            _declared = PlacementFleet.Of(node, d.Fleet);
            coordinator.Tell(_declared);
            cluster?.Tell(d);
            Timers.StartPeriodicTimer("declare", Redeclare.Instance, DeclareEvery);
        });
        Receive<Redeclare>(_ => coordinator.Tell(_declared!));
        Receive<NodeAssignment>(a =>
        {
            if (a.Node != node)
            {
                _log.Warning("Placement for node {0} reached node {1}: ignored", a.Node, node);
                return;
            }

            if (!_gate.Admits(a.Epoch))
            {
                _log.Warning("Stale placement epoch {0} refused (accepted {1}): nothing started or stopped", a.Epoch, _gate.Accepted);
                return;
            }

            _gate = _gate.Accept(a.Epoch);
            if (a.Epoch != _applied)
            {
                _applied = a.Epoch;
                _assignment = a;
                _log.Info("Placement epoch {0}: this node runs {1}", a.Epoch, a.Agents.Count == 0 ? "no agent" : string.Join(", ", a.Agents));
                Timers.Cancel("release");
                var epoch = a.Epoch;
                accepted(a).PipeTo(Self, success: () => new Applied(epoch, null), failure: e => new Applied(epoch, e));
                cluster?.Tell(a);
            }
            else if (_released == a.Epoch)
            {
                coordinator.Tell(new PlacementReleased(node, a.Epoch)); // resent: confirm again (the first may be lost, or the coordinator moved)
            }
        });
        Receive<Applied>(m =>
        {
            if (m.Epoch != _applied)
            {
                return; // a newer placement came meanwhile: its own apply confirms
            }

            if (m.Failure is { } failure)
            {
                _log.Warning("Applying placement epoch {0} failed ({1}): applied again when it is resent", m.Epoch, failure.GetBaseException().Message);
                _applied = -1; // the coordinator's resend of this epoch applies it again
                return;
            }

            CheckReleased(m.Epoch);
        });
        Receive<CheckRelease>(m =>
        {
            if (m.Epoch == _applied)
            {
                CheckReleased(m.Epoch);
            }
        });
        Receive<Running>(r =>
        {
            if (r.Epoch != _applied || _assignment is null)
            {
                return;
            }

            var mine = _assignment.Agents.ToHashSet(StringComparer.Ordinal);
            var others = r.Agents?.Agents.Select(s => s.Agent).Where(name => !mine.Contains(AgentInstance.BaseOf(name))).ToList();
            if (others is null || others.Count > 0)
            {
                // still stopping (or the fleet did not answer): ask again soon; the agents moving off stay placed nowhere meanwhile
                Timers.StartSingleTimer("release", new CheckRelease(r.Epoch), ReleaseCheckEvery);
                return;
            }

            _released = r.Epoch;
            coordinator.Tell(new PlacementReleased(node, r.Epoch));
        });
    }

    /// <summary>How often a node looks again whether the agents a placement took off it have stopped.</summary>
    public static readonly TimeSpan ReleaseCheckEvery = TimeSpan.FromMilliseconds(250);

    private void CheckReleased(long epoch)
    {
        if (_factory.IsNobody())
        {
            Self.Tell(new Running(epoch, new AgentsSnapshot([]))); // no fleet on this node: nothing runs
            return;
        }

        _factory.Ask<AgentsSnapshot>(GetAgents.Instance, ReleaseAskTimeout)
            .PipeTo(Self, success: s => new Running(epoch, s), failure: _ => new Running(epoch, null));
    }

    private static readonly TimeSpan ReleaseAskTimeout = TimeSpan.FromSeconds(5);

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The daemon loaded its fleet file (at start or a reload): tell the coordinator what to place.</summary>
    public sealed record Declare(Messages.Fleet.FleetSpec Fleet);

    private sealed record Redeclare : Signal<Redeclare>;

    /// <summary>The daemon applied the node's part of <paramref name="Epoch"/> (or failed to).</summary>
    private sealed record Applied(long Epoch, Exception? Failure);

    private sealed record CheckRelease(long Epoch);

    /// <summary>What this node's fleet runs (null: it did not answer), asked after applying <paramref name="Epoch"/>.</summary>
    private sealed record Running(long Epoch, AgentsSnapshot? Agents);

    /// <param name="accepted">Applies an accepted placement (the daemon applies the node's part of the fleet); completes once applied.</param>
    /// <param name="logs">This node's <see cref="Output.LogReaderActor"/>: other nodes' <see cref="ReadLog"/> go to it.</param>
    /// <param name="cluster">This node's <see cref="ClusterFactory"/>: told each declared fleet and each accepted placement.</param>
    /// <param name="tails">This node's <see cref="RunTailsActor"/>: other nodes' <see cref="GetRunOutput"/> go to it.</param>
    public static Props Props(string node, IActorRef coordinator, IActorRef factory, Func<NodeAssignment, Task> accepted, IActorRef? logs = null, IActorRef? cluster = null, IActorRef? tails = null) =>
        Akka.Actor.Props.Create(() => new PlacementNode(node, coordinator, factory, accepted, logs, cluster, tails));
}
