namespace DarkFactory.Messages.Cluster;

// Where each agent of a clustered fleet runs: the placement coordinator (one cluster singleton) decides it,
// persists it and sends every node its part; a node acts only on an assignment whose epoch is at least the
// last one it accepted (PlacementEpochGate), so a stale command can never start a second copy of an agent.

/// <summary>One agent's place: the node that runs it, or none with the reason.</summary>
/// <param name="Node">The node that runs it; null: unplaced (<paramref name="Reason"/> says why).</param>
/// <param name="WaitingFor">For an unplaced agent with <c>failover: stay</c>: the node it waits for (placed there again when it is back).</param>
/// <param name="Parked">An agent with <c>failover: never</c> whose node left: it stays unplaced (an operator starts it again).</param>
public sealed record AgentPlacement(string Agent, string? Node, string? Reason = null, string? WaitingFor = null, bool Parked = false)
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

/// <summary>Coordinator -> node: run exactly these agents (under <paramref name="Epoch"/>); the node ignores an epoch older than the last it accepted.</summary>
[Manifest("node-assignment")]
public sealed record NodeAssignment(long Epoch, string Node, IReadOnlyList<string> Agents) : IDarkFactoryMessage;
