using DarkFactory.Actors.Cluster;
using DarkFactory.Host.Cluster;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Scenarios;

/// <summary>A virtual node of a scenario's cluster as the other members come to see it after a loss.</summary>
public enum VirtualNodeStatus
{
    /// <summary>Its daemon runs and it is an Up member.</summary>
    Up,

    /// <summary>Its daemon died with its runs (<c>lose_node</c>); the others do not know yet (failure detection pending): still an Up, reachable member to them.</summary>
    Lost,

    /// <summary>The failure detector marked it unreachable: it keeps its agents, gets no new one.</summary>
    Unreachable,

    /// <summary>Downed by the split-brain resolver after <c>stable_after</c> and removed: its agents follow their failover.</summary>
    Removed,
}

/// <summary>A virtual node changed status (on the timeline as <c>node-status</c>), with the agents placed on it then.</summary>
public sealed record NodeStatusChanged(string Node, VirtualNodeStatus Status, DateTimeOffset At, IReadOnlyList<string> Agents);

/// <summary>The placement of one agent changed (on the timeline as <c>agent-placed</c>): the planner's decision, as the coordinator persists it.</summary>
/// <param name="Node">The node that runs it now; null: placed nowhere (<paramref name="Reason"/>).</param>
public sealed record AgentPlaced(string Agent, string? Node, long Epoch, DateTimeOffset At, string? Reason = null, string? WaitingFor = null, bool Parked = false);

/// <summary>
/// How long the real cluster takes to act on a lost node (scenario key <c>cluster:</c>): failure detection (last
/// heartbeat → unreachable) and the split-brain resolver's <c>stable-after</c> (unreachable → downed and removed, when
/// its agents are placed again). The defaults are the fleet's own (fleet.yaml <c>cluster:</c> timing keys, <see cref="ClusterTimingSpec"/>).
/// </summary>
public sealed record ClusterTiming(TimeSpan Detection, TimeSpan StableAfter)
{
    /// <summary>A <c>df up --node</c>'s without timing keys: <c>heartbeat_pause</c> + one <c>heartbeat_interval</c> (2 s + 1 s), and <c>stable_after</c> (3 s).</summary>
    public static ClusterTiming Default { get; } = Of(ClusterTimingSpec.Default);

    /// <summary>The fleet's <c>cluster:</c> timing as the virtual cluster counts it: detection after the pause and one interval, removal after <c>stable_after</c>.</summary>
    public static ClusterTiming Of(ClusterTimingSpec t) => new(t.HeartbeatPause + t.HeartbeatInterval, t.StableAfter);
}

/// <summary>
/// The cluster of a scenario whose fleet lists <c>cluster.nodes</c> (pure): one virtual member per listed node, with its
/// roles and <c>max_agents</c>, and the placement the daemon's own <see cref="PlacementPlanner"/> makes of them, re-planned
/// on each change the coordinator re-plans on (a fleet, a member's reachability, its removal or its return). The sandbox
/// runs the agents placed on nodes whose daemon is up (<see cref="Running"/>), as each node runs its own part.
/// </summary>
public sealed class VirtualCluster
{
    private readonly Dictionary<string, VirtualNodeStatus> _status;
    private readonly Dictionary<string, IReadOnlyList<string>> _roles;

    public VirtualCluster(FleetSpec fleet)
    {
        var cluster = fleet.Cluster ?? throw new ArgumentException("the fleet declares no cluster", nameof(fleet));
        _status = cluster.Nodes.ToDictionary(n => n.Name, _ => VirtualNodeStatus.Up, StringComparer.Ordinal);
        _roles = cluster.Nodes.ToDictionary(n => n.Name, n => cluster.RolesOf(n.Name), StringComparer.Ordinal);
        Fleet = fleet;
    }

    /// <summary>A virtual cluster when <paramref name="fleet"/> lists cluster nodes; null: a single node, as today.</summary>
    public static VirtualCluster? For(FleetSpec fleet) => fleet.Cluster is { Nodes.Count: > 0 } ? new VirtualCluster(fleet) : null;

    /// <summary>The whole fleet being placed (the last one applied).</summary>
    public FleetSpec Fleet { get; set; }

    public Placement Placement { get; private set; } = Placement.None;

    public IReadOnlyDictionary<string, VirtualNodeStatus> Nodes => _status;

    public VirtualNodeStatus StatusOf(string node) => _status[node];

    /// <summary>The node <paramref name="agent"/> is placed on (a project's instance <c>agent@p</c> is not placed: null).</summary>
    public string? NodeOf(string agent) => Placement.Of(agent)?.Node;

    /// <summary>The node's status changes; answers the event for the timeline (the agents placed on it as it changed).</summary>
    public NodeStatusChanged Set(string node, VirtualNodeStatus status, DateTimeOffset at)
    {
        _status[node] = status;
        return new NodeStatusChanged(node, status, at, Placement.On(node));
    }

    /// <summary>
    /// Plans again with the members as the coordinator sees them: up and lost (not yet detected) nodes available,
    /// unreachable ones members that take nothing new, removed ones gone. Answers the agents whose place changed.
    /// </summary>
    public IReadOnlyList<AgentPlaced> Replan(DateTimeOffset at)
    {
        var declared = PlacementFleet.Of("scenario", Fleet);
        var members = _status.Where(s => s.Value != VirtualNodeStatus.Removed)
            .Select(s => new PlacementMember(s.Key, _roles[s.Key], s.Value != VirtualNodeStatus.Unreachable, declared.MaxAgents.TryGetValue(s.Key, out var max) ? max : null))
            .ToList();
        var before = Placement;
        Placement = PlacementPlanner.Plan(before, members, declared.Agents);
        return [.. Placement.Agents
            .Where(p => before.Of(p.Agent) != p)
            .Select(p => new AgentPlaced(p.Agent, p.Node, Placement.Epoch, at, p.Reason, p.WaitingFor, p.Parked))];
    }

    /// <summary>The part of the fleet whose nodes' daemons run: the agents placed on an <see cref="VirtualNodeStatus.Up"/> node.</summary>
    public FleetSpec Running()
    {
        var running = Placement.Agents.Where(p => p.Node is { } n && _status.GetValueOrDefault(n) == VirtualNodeStatus.Up).Select(p => p.Agent).ToHashSet(StringComparer.Ordinal);
        return Fleet with { Agents = [.. Fleet.Agents.Where(a => running.Contains(a.Name))] };
    }
}
