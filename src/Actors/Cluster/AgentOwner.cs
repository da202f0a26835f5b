using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>One member as the cluster's gossip shows it: its address, roles, status and whether this node reaches it.</summary>
public sealed record MemberFacts(string Address, IReadOnlyList<string> Roles, string Status, bool Reachable)
{
    /// <summary>Every member of <paramref name="state"/> (an immutable snapshot of the gossip: safe from any thread), the unreachable ones included.</summary>
    public static List<MemberFacts> From(Akka.Cluster.ClusterEvent.CurrentClusterState state)
    {
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        return [.. state.Members.Concat(state.Unreachable.Where(u => !state.Members.Contains(u)))
            .Select(m => new MemberFacts(m.Address.ToString(), [.. m.Roles], StatusName(m.Status), !unreachable.Contains(m.Address)))];
    }

    /// <summary>The members of <paramref name="state"/> oldest first (Akka's age ordering: where a singleton runs), the unreachable ones included.</summary>
    public static List<MemberFacts> OldestFirst(Akka.Cluster.ClusterEvent.CurrentClusterState state)
    {
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        return [.. state.Members.Concat(state.Unreachable.Where(u => !state.Members.Contains(u)))
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering)
            .Select(m => new MemberFacts(m.Address.ToString(), [.. m.Roles], StatusName(m.Status), !unreachable.Contains(m.Address)))];
    }

    /// <summary>Akka's member status as the API spells it.</summary>
    public static string StatusName(Akka.Cluster.MemberStatus status) => status switch
    {
        Akka.Cluster.MemberStatus.WeaklyUp => "weakly-up",
        _ => status.ToString().ToLowerInvariant(),
    };
}

/// <summary>Where a request about one agent goes on a cluster node.</summary>
public enum OwnerKind
{
    /// <summary>This node runs it (or this daemon is a single node).</summary>
    Here,

    /// <summary>Another Up member this node reaches runs it: <see cref="AgentOwner.Address"/>.</summary>
    Remote,

    /// <summary>The placement put it on no node (<see cref="AgentOwner.Reason"/> is the planner's).</summary>
    Unplaced,

    /// <summary>It is placed on a node this node does not reach now (unreachable, or not an Up member).</summary>
    Unreachable,
}

/// <summary>The node that runs an agent, as this node knows it; <see cref="Reason"/> for people when it cannot be reached.</summary>
public sealed record AgentOwner(OwnerKind Kind, string? Node = null, string? Address = null, string? Reason = null)
{
    public static readonly AgentOwner Here = new(OwnerKind.Here);

    /// <summary>
    /// Where <paramref name="agent"/> runs (pure): from the last placement this node accepted and the members' facts. No
    /// placement yet, or none for the agent: unplaced; placed on this node: here; on another node that is an Up member
    /// this node reaches: remote at its address; any other member state: unreachable, naming the node and its state.
    /// </summary>
    public static AgentOwner Find(string self, Placement? placement, string agent, IEnumerable<MemberFacts> members)
    {
        if (placement is null || placement.Epoch == 0)
        {
            return new AgentOwner(OwnerKind.Unplaced, Reason: $"agent '{agent}' is placed on no node yet: no placement has reached node {self}");
        }

        if (placement.Of(agent) is not { } placed)
        {
            return new AgentOwner(OwnerKind.Unplaced, Reason: $"agent '{agent}' is not in the placement (epoch {placement.Epoch}) node {self} accepted");
        }

        if (placed.Node is not { } node)
        {
            return new AgentOwner(OwnerKind.Unplaced, Reason: $"agent '{agent}' is placed on no node: {placed.Reason ?? "no reason given"}");
        }

        if (node == self)
        {
            return Here;
        }

        var member = members.FirstOrDefault(m => PlacementCoordinator.NodeOf(m.Roles) == node);
        return member switch
        {
            null => new AgentOwner(OwnerKind.Unreachable, node, Reason: $"agent '{agent}' runs on node {node}, which is not a member now"),
            { Reachable: false } => new AgentOwner(OwnerKind.Unreachable, node, member.Address, $"agent '{agent}' runs on node {node}, which node {self} does not reach (unreachable)"),
            { Status: not "up" } => new AgentOwner(OwnerKind.Unreachable, node, member.Address, $"agent '{agent}' runs on node {node}, which is {member.Status}"),
            _ => new AgentOwner(OwnerKind.Remote, node, member.Address),
        };
    }
}
