using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// What a control-plane cluster singleton (the scheduler) holds as its factory on the node it runs on (one per cluster
/// node, <c>/user/cluster-factory</c>): the whole fleet where a node's gateway knows only the node's part, and an agent
/// command sent to the node that runs the agent. <see cref="GetFleet"/> is answered with the whole fleet the daemon last
/// loaded (<see cref="PlacementNode.Declare"/>; an ask before the first waits for it); every such fleet is also told to the
/// singletons that <see cref="Follow"/> it, so a reload reaches them. An <see cref="IAgentCommand"/> goes where
/// <see cref="AgentOwner.Find"/> says from the last placement this node accepted: to this node's gateway, or to the
/// owning node's <c>placement-node</c> (which hands it to its fleet only for an agent placed there), the sender kept so
/// the fleet's <see cref="CommandResult"/> answers the asker (a project's instance, <c>agent@p-…</c>, goes where its agent
/// is placed: it runs in that agent's layer); an agent placed nowhere, or on a node this node does not
/// reach, is refused at once (<see cref="CommandOutcome.Unplaced"/>, <see cref="CommandOutcome.NoAnswer"/>) with the reason.
/// <see cref="GetHistory"/> goes to the owning node likewise (this node's record when the agent runs here or nowhere);
/// <see cref="GetAgentRun"/> is answered with the agent's status from its node (none when placed nowhere or not answering),
/// <see cref="GetRunOutput"/> with the run's tail from its node's <see cref="RunTailsActor"/> (<see cref="RunOutputOutcome.NoAnswer"/>
/// naming why when the agent is placed nowhere, its node is not reached, or it does not answer in <see cref="AskTimeout"/>).
/// Anything else goes to this node's gateway.
/// </summary>
public sealed class ClusterFactory : ReceiveActor
{
    public const string ActorName = "cluster-factory";

    private readonly List<IActorRef> _waiting = [];
    private readonly List<IActorRef> _followers = [];
    private FleetSpec? _fleet;
    private int _revision;
    private NodeAssignment? _assignment;

    /// <param name="node">This node's name.</param>
    /// <param name="gateway">This node's gateway (<see cref="FactoryActor"/>).</param>
    /// <param name="members">The members as this node sees them now (the cluster's gossip state).</param>
    /// <param name="tails">This node's <see cref="RunTailsActor"/> (null: this node keeps no run's output).</param>
    public ClusterFactory(string node, IActorRef gateway, Func<IReadOnlyList<MemberFacts>> members, IActorRef? tails = null)
    {
        Receive<PlacementNode.Declare>(d =>
        {
            _fleet = d.Fleet;
            _revision++;
            var current = new CurrentFleet(d.Fleet, _revision);
            _waiting.ForEach(w => w.Tell(current));
            _waiting.Clear();
            _followers.ForEach(f => f.Tell(new ApplyFleet(d.Fleet)));
        });
        Receive<NodeAssignment>(a => _assignment = a);
        Receive<Follow>(f =>
        {
            _followers.Add(f.Singleton);
            if (_fleet is not null)
            {
                f.Singleton.Tell(new ApplyFleet(_fleet));
            }
        });
        Receive<GetFleet>(_ =>
        {
            if (_fleet is null)
            {
                _waiting.Add(Sender);
            }
            else
            {
                Sender.Tell(new CurrentFleet(_fleet, _revision));
            }
        });
        Receive<IAgentCommand>(c =>
        {
            var owner = AgentOwner.Find(node, _assignment?.Placement, AgentInstance.BaseOf(c.Agent), members());
            switch (owner.Kind)
            {
                case OwnerKind.Here:
                    gateway.Forward(c);
                    break;
                case OwnerKind.Remote:
                    NodeActor(owner).Tell(c, Sender);
                    break;
                case OwnerKind.Unplaced:
                    Sender.Tell(CommandResult.Refused(CommandOutcome.Unplaced, owner.Reason!));
                    break;
                default:
                    Sender.Tell(CommandResult.Refused(CommandOutcome.NoAnswer, owner.Reason!));
                    break;
            }
        });
        Receive<GetHistory>(q =>
        {
            // the record of the node that runs the agent (a singleton reads its agents' runs there); else this node's
            var owner = AgentOwner.Find(node, _assignment?.Placement, AgentInstance.BaseOf(q.Agent), members());
            if (owner.Kind == OwnerKind.Remote)
            {
                NodeActor(owner).Tell(q, Sender);
            }
            else
            {
                gateway.Forward(q);
            }
        });
        Receive<GetAgentRun>(q =>
        {
            var owner = AgentOwner.Find(node, _assignment?.Placement, AgentInstance.BaseOf(q.Agent), members());
            var asked = owner.Kind switch
            {
                OwnerKind.Here => gateway.Ask<AgentsSnapshot>(GetAgents.Instance, AskTimeout),
                OwnerKind.Remote => NodeActor(owner).Ask<AgentsSnapshot>(GetAgents.Instance, AskTimeout),
                _ => Task.FromResult(new AgentsSnapshot([])),
            };
            asked.ContinueWith(
                t => new AgentsSnapshot(t.IsCompletedSuccessfully ? [.. t.Result.Agents.Where(a => a.Agent == q.Agent)] : []),
                TaskScheduler.Default).PipeTo(Sender);
        });
        Receive<GetRunOutput>(q =>
        {
            var owner = AgentOwner.Find(node, _assignment?.Placement, q.Agent, members());
            var asked = owner.Kind switch
            {
                OwnerKind.Here when tails is not null => tails.Ask<RunOutput>(q, AskTimeout),
                OwnerKind.Here => Task.FromResult(RunOutput.NoAnswer(q, $"node {node} keeps no run's output", node)),
                OwnerKind.Remote => NodeActor(owner).Ask<RunOutput>(q, AskTimeout),
                _ => Task.FromResult(RunOutput.NoAnswer(q, owner.Reason!, owner.Node)),
            };
            var where = owner.Kind == OwnerKind.Here ? node : owner.Node;
            asked.ContinueWith(
                t => t.IsCompletedSuccessfully ? t.Result : RunOutput.NoAnswer(q, $"node {where} did not answer within {AskTimeout.TotalSeconds:0} s", where),
                TaskScheduler.Default).PipeTo(Sender);
        });
        ReceiveAny(m => gateway.Forward(m));
    }

    /// <summary>How long a <see cref="GetAgentRun"/> or <see cref="GetRunOutput"/> waits for the agent's node.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private static ActorSelection NodeActor(AgentOwner owner) =>
        Context.ActorSelection(new RootActorPath(Address.Parse(owner.Address!)) / "user" / PlacementCoordinator.NodeActorName);

    /// <summary>A singleton (its proxy) to tell every whole fleet this node loads, as an <see cref="ApplyFleet"/>.</summary>
    public sealed record Follow(IActorRef Singleton);

    public static Props Props(string node, IActorRef gateway, Func<IReadOnlyList<MemberFacts>> members, IActorRef? tails = null) =>
        Akka.Actor.Props.Create(() => new ClusterFactory(node, gateway, members, tails));
}
