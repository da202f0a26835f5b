using System.Collections.Immutable;

namespace DarkFactory.Actors.Control;

/// <summary>
/// The fleet's status as the event bridge last saw it, readable from any thread without asking an actor:
/// the read model behind <c>GET /api/agents</c>, <c>/api/agents/{name}</c>, <c>/api/status</c> and the
/// capability registry. The bridge replaces the whole snapshot (an immutable list) before it publishes the
/// <see cref="AgentStatus"/> changes it found, so a client that has seen an <c>agent-status</c> event on the
/// live stream reads that state (or a newer one) here. The JSON of a snapshot is made once, on first use.
/// It also keeps each agent's latest route (<see cref="RouteChosen"/>), so the registry can tell the route
/// of the run going now.
/// </summary>
public sealed class FleetStatusView
{
    private volatile Snapshot? _current;
    private volatile bool _serving;
    private ImmutableDictionary<string, RouteChosen> _routes = ImmutableDictionary.Create<string, RouteChosen>(StringComparer.Ordinal);

    /// <summary>The last snapshot; null until the bridge's first status query answered.</summary>
    public Snapshot? Current => _current;

    /// <summary>
    /// What the API serves: the last snapshot once the fleet was applied and is in it (<see cref="Serve"/>);
    /// null before, when the API asks the fleet itself (a daemon that has just started answers with its
    /// whole fleet, not the empty one the bridge saw before the fleet file was applied).
    /// </summary>
    public Snapshot? Live => _serving ? _current : null;

    /// <summary>The fleet is applied and the view holds it: serve it from now on.</summary>
    public void Serve() => _serving = true;

    /// <summary>The route of the agent's run <paramref name="runId"/>; null when that run was not routed (or is not known).</summary>
    public RouteChosen? RouteOf(string agent, string? runId) =>
        runId is not null && Volatile.Read(ref _routes).TryGetValue(agent, out var route) && route.RunId == runId ? route : null;

    /// <summary>Called by the event bridge only.</summary>
    internal void Set(IReadOnlyList<AgentStatus> agents) => _current = new Snapshot(agents, DateTimeOffset.UtcNow);

    /// <summary>Called by the event bridge only (one writer).</summary>
    internal void SetRoute(RouteChosen route) => Volatile.Write(ref _routes, _routes.SetItem(route.Agent, route));

    /// <summary>Called by the event bridge only: an agent a reload removed.</summary>
    internal void Forget(string agent) => Volatile.Write(ref _routes, _routes.Remove(agent));

    /// <summary>One immutable view of the fleet, in the fleet's order (layer, then fleet.yaml order).</summary>
    public sealed class Snapshot(IReadOnlyList<AgentStatus> agents, DateTimeOffset at)
    {
        private readonly Dictionary<string, AgentStatus> _byName = agents.ToDictionary(a => a.Agent, StringComparer.Ordinal);
        private byte[]? _json;

        public IReadOnlyList<AgentStatus> Agents { get; } = agents;

        /// <summary>When the bridge received it.</summary>
        public DateTimeOffset At { get; } = at;

        public AgentStatus? Find(string name) => _byName.GetValueOrDefault(name);

        /// <summary>The agents as the API's JSON array (UTF-8), serialized once per snapshot.</summary>
        public byte[] Json => _json ??= JsonSerializer.SerializeToUtf8Bytes(Agents, DarkFactoryJson.Options);
    }
}
