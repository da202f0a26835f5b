using System.Text.Json.Serialization;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Messages.Cluster;

// Where each agent of a clustered fleet runs: the placement coordinator (one cluster singleton) decides it,
// persists it and sends every node its part; a node acts only on an assignment whose epoch is at least the
// last one it accepted (PlacementEpochGate), so a stale command can never start a second copy of an agent.

/// <summary>One agent's place: the node that runs it, or none with the reason.</summary>
/// <param name="Node">The node that runs it; null: unplaced (<paramref name="Reason"/> says why).</param>
/// <param name="WaitingFor">For an unplaced agent with <c>failover: stay</c>: the node it waits for (placed there again when it is back).</param>
/// <param name="Parked">An agent with <c>failover: never</c> whose node left: it stays unplaced (an operator starts it again).</param>
/// <param name="MovingFrom">An agent being handed over: the node it is leaving (still a member), which must stop it and confirm
/// (<see cref="PlacementReleased"/> of an epoch at least <paramref name="ReleaseEpoch"/>) before it is placed anywhere;
/// <see cref="Node"/> is null meanwhile (no node runs it, the old one stops it).</param>
/// <param name="MovingTo">Where it goes once released, as planned now (null: nowhere yet, <paramref name="Reason"/> says why); re-planned at the release.</param>
/// <param name="ReleaseEpoch">The first epoch whose placement took it off <paramref name="MovingFrom"/>.</param>
public sealed record AgentPlacement(string Agent, string? Node, string? Reason = null, string? WaitingFor = null, bool Parked = false, string? MovingFrom = null, string? MovingTo = null, long ReleaseEpoch = 0)
{
    public static AgentPlacement On(string agent, string node) => new(agent, node);
}

/// <summary>
/// The coordinator's decision for the whole fleet: each agent's place, under a monotonic <paramref name="Epoch"/>
/// (raised whenever a place changes). Persisted by the coordinator, so a coordinator that takes over goes on from it.
/// </summary>
[Manifest("placement")]
public sealed record Placement(long Epoch, IReadOnlyList<AgentPlacement> Agents) : IDarkFactoryMessage
{
    public static readonly Placement None = new(0, []);

    public AgentPlacement? Of(string agent) => Agents.FirstOrDefault(a => a.Agent == agent);

    /// <summary>The agents placed on <paramref name="node"/>, by name.</summary>
    public IReadOnlyList<string> On(string node) => [.. Agents.Where(a => a.Node == node).Select(a => a.Agent).Order(StringComparer.Ordinal)];
}

/// <summary>
/// Coordinator -> node: the whole placement, of which <paramref name="Node"/> runs exactly <see cref="Agents"/>; the node
/// ignores an epoch older than the last it accepted. Every node gets the whole map, so any node can say where an agent runs.
/// </summary>
[Manifest("node-assignment")]
public sealed record NodeAssignment(string Node, Placement Placement) : IDarkFactoryMessage
{
    [JsonIgnore]
    public long Epoch => Placement.Epoch;

    /// <summary>The agents this node runs.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Agents => Placement.On(Node);
}

/// <summary>
/// Node -> coordinator: <paramref name="Node"/> applied the placement of <paramref name="Epoch"/> and runs no agent that
/// placement does not place on it (their runs ended and their slots are gone). An agent moving off the node
/// (<see cref="AgentPlacement.MovingFrom"/>) is placed elsewhere only after this, for an epoch at least its
/// <see cref="AgentPlacement.ReleaseEpoch"/>. Sent once the node's fleet shows it, and again with each resent assignment
/// of that epoch (remoting is at most once; a coordinator that took over learns it from the resends).
/// </summary>
[Manifest("placement-released")]
public sealed record PlacementReleased(string Node, long Epoch) : IDarkFactoryMessage;

/// <summary>What placement needs of one agent: its pin (<c>node:</c> a node name or <c>role:R</c>) and its failover in force.</summary>
public sealed record PlacementAgent(string Name, string? Node, FailoverPolicy Failover)
{
    public static PlacementAgent Of(AgentSpec agent) => new(agent.Name, agent.Node, agent.EffectiveFailover());

    /// <summary>The node of a <c>node: NAME</c> pin, or null.</summary>
    [JsonIgnore]
    public string? PinnedNode => Node is { } n && !n.StartsWith(AgentSpec.RolePrefix, StringComparison.Ordinal) ? n : null;

    /// <summary>The role of a <c>node: role:R</c> pin, or null.</summary>
    [JsonIgnore]
    public string? PinnedRole => Node is { } n && n.StartsWith(AgentSpec.RolePrefix, StringComparison.Ordinal) ? n[AgentSpec.RolePrefix.Length..] : null;
}

/// <summary>
/// Node -> coordinator, after the node loaded its fleet file (at start and on every reload): the agents to place and the
/// listed nodes' <c>max_agents</c>. Persisted by the coordinator (the last one received is the fleet it places).
/// </summary>
/// <param name="From">The node whose file this is.</param>
[Manifest("placement-fleet")]
public sealed record PlacementFleet(string From, IReadOnlyList<PlacementAgent> Agents, IReadOnlyDictionary<string, int> MaxAgents) : IDarkFactoryMessage
{
    public static PlacementFleet Of(string from, FleetSpec fleet) => new(
        from,
        [.. fleet.Agents.Select(PlacementAgent.Of)],
        (fleet.Cluster?.Nodes ?? []).Where(n => n.MaxAgents is not null).ToDictionary(n => n.Name, n => n.MaxAgents!.Value, StringComparer.Ordinal));

    /// <summary>The same agents and capacities (whichever node sent them).</summary>
    public bool SameAs(PlacementFleet? other) =>
        other is not null && Agents.SequenceEqual(other.Agents)
        && MaxAgents.Count == other.MaxAgents.Count && MaxAgents.All(kv => other.MaxAgents.TryGetValue(kv.Key, out var v) && v == kv.Value);
}

/// <summary>The placement coordinator's snapshot: its placement and the fleet it places.</summary>
[Manifest("placement-snapshot")]
public sealed record PlacementSnapshot(Placement Placement, PlacementFleet? Fleet) : IDarkFactoryMessage;
