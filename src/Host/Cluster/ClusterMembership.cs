using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// This daemon's place in the cluster, for the API, readiness and fleet application: null options = a single
/// node (no cluster; <see cref="Place"/> keeps every agent). Holds the last placement this node accepted (from its
/// PlacementNode, which checks the epoch) and reads the gossip state Akka keeps (an immutable snapshot, safe from any
/// thread); never asks an actor.
/// </summary>
public sealed class ClusterMembership(ClusterNodeOptions? options, Func<ActorSystem> system)
{
    private FleetSpec _fleet = new();
    private NodeAssignment? _assignment;

    public ClusterNodeOptions? Options => options;

    public bool Enabled => options is not null;

    /// <summary>The whole fleet as last loaded (every node's agents), for the view.</summary>
    public FleetSpec Fleet
    {
        get => Volatile.Read(ref _fleet);
        private set => Volatile.Write(ref _fleet, value);
    }

    /// <summary>The cluster singletons, all on the singleton role (<see cref="ClusterNodeOptions.SingletonRole"/>): the placement coordinator, the scheduler, the router, the compound review, the projects and Nightwatch's decisions.</summary>
    public static readonly IReadOnlyList<string> Singletons = ["placement", "scheduler", "router", "compound-review", "projects", "nightwatch"];

    /// <summary>The last placement this node accepted; null before the first.</summary>
    public NodeAssignment? Assignment => Volatile.Read(ref _assignment);

    /// <summary>Called when this node accepted a new placement (the daemon applies its part of the fleet again); completes once applied.</summary>
    public Func<Task>? Reassigned { get; set; }

    /// <summary>The part of <paramref name="fleet"/> this node runs (all of it on a single node; in a cluster, the agents
    /// the coordinator placed here, none before its first placement); remembers the whole.</summary>
    public FleetSpec Place(FleetSpec fleet)
    {
        Fleet = fleet;
        if (options is null)
        {
            return fleet;
        }

        var mine = (Assignment?.Agents ?? []).ToHashSet(StringComparer.Ordinal);
        return fleet with { Agents = [.. fleet.Agents.Where(a => mine.Contains(a.Name))] };
    }

    /// <summary>This node's PlacementNode accepted <paramref name="assignment"/> (its epoch passed the gate); completes once the
    /// daemon applied this node's part of it (or a newer one), faulted when that failed.</summary>
    public Task Accept(NodeAssignment assignment)
    {
        Volatile.Write(ref _assignment, assignment);
        return Reassigned?.Invoke() ?? Task.CompletedTask;
    }

    /// <summary>Where <paramref name="agent"/> is placed (null: nowhere, or no placement yet) and why not.</summary>
    public AgentPlacement? PlacementOf(string agent) => Assignment?.Placement.Of(agent);

    /// <summary>The cluster as this node sees it; null on a single node.</summary>
    public ClusterReport? Report()
    {
        if (options is null)
        {
            return null;
        }

        var state = Akka.Cluster.Cluster.Get(system()).State;
        var members = Members(state);
        var role = ClusterNodeOptions.SingletonRole(Fleet);
        var oldest = state.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && (role is null || m.HasRole(role)))
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering)
            .FirstOrDefault();
        var singletons = new Dictionary<string, string>();
        if (oldest is not null)
        {
            var at = ClusterViewBuilder.NodeOf(oldest.Roles) ?? oldest.Address.ToString(); // a singleton runs on the oldest member of its role
            foreach (var singleton in Singletons)
            {
                singletons[singleton] = at;
            }
        }

        return ClusterViewBuilder.Build(options.Node, members, Assignment?.Placement ?? Placement.None, singletons);
    }

    private static List<MemberFacts> Members(Akka.Cluster.ClusterEvent.CurrentClusterState state) => MemberFacts.From(state);

    /// <summary>The node that runs <paramref name="agent"/> (a declared agent's name), as this node knows it now; here on a single node.</summary>
    public AgentOwner OwnerOf(string agent) =>
        options is null
            ? AgentOwner.Here
            : AgentOwner.Find(options.Node, Assignment?.Placement, agent, Members(Akka.Cluster.Cluster.Get(system()).State));

    /// <summary>
    /// Asks the node that runs the agent (<paramref name="owner"/>, <see cref="OwnerKind.Remote"/>) through its placement-node,
    /// which hands <paramref name="message"/> to its fleet (a command) or its log reader (<see cref="ReadLog"/>); the
    /// answer, or a <see cref="AskTimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public Task<T> AskOwnerAsync<T>(AgentOwner owner, object message, TimeSpan timeout, CancellationToken ct)
    {
        var path = new RootActorPath(Address.Parse(owner.Address!)) / "user" / PlacementCoordinator.NodeActorName;
        return system().ActorSelection(path).Ask<T>(message, timeout, ct);
    }

    /// <summary>How long <see cref="OtherNodesAgentsAsync"/> waits for a node's answer.</summary>
    public static readonly TimeSpan AskOthersTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The agents of every other Up member, asked at once (each node's PlacementNode hands the typed <see cref="GetAgents"/>
    /// to its own fleet); a node that does not answer within <paramref name="timeout"/> is null, never a hang.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, AgentsSnapshot?>> OtherNodesAgentsAsync(TimeSpan timeout)
    {
        if (options is null)
        {
            return new Dictionary<string, AgentsSnapshot?>();
        }

        var sys = system();
        var others = Akka.Cluster.Cluster.Get(sys).State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up)
            .Select(m => (Node: ClusterViewBuilder.NodeOf(m.Roles), m.Address))
            .Where(x => x.Node is not null && x.Node != options.Node)
            .ToList();
        var asks = others.Select(async x =>
        {
            try
            {
                var path = new RootActorPath(x.Address) / "user" / PlacementCoordinator.NodeActorName;
                return (x.Node!, await sys.ActorSelection(path).Ask<AgentsSnapshot>(GetAgents.Instance, timeout));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or ActorNotFoundException)
            {
                return (x.Node!, (AgentsSnapshot?)null);
            }
        });
        return (await Task.WhenAll(asks)).ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);
    }

    /// <summary>Readiness: a node is ready only while it is an Up member; null on a single node (no check).</summary>
    public ReadinessCheck? Check()
    {
        if (options is null)
        {
            return null;
        }

        var cluster = Akka.Cluster.Cluster.Get(system());
        var self = cluster.SelfMember;
        var up = cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up);
        return self.Status == Akka.Cluster.MemberStatus.Up
            ? new ReadinessCheck("cluster", true, $"node {options.Node} is up ({up} member(s) up)")
            : new ReadinessCheck("cluster", false, $"node {options.Node} is {ClusterViewBuilder.StatusName(self.Status)}, not up (seeds: {string.Join(", ", options.SeedAddresses(Fleet))})");
    }
}
