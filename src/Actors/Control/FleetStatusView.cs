using System.Text.Json;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Actors.Control;

/// <summary>
/// The fleet's status as the event bridge last saw it, readable from any thread without asking an actor:
/// the read model behind <c>GET /api/agents</c>, <c>/api/agents/{name}</c>, <c>/api/status</c> and the
/// capability registry. The bridge replaces the whole snapshot (an immutable list) before it publishes the
/// <see cref="AgentStatus"/> changes it found, so a client that has seen an <c>agent-status</c> event on the
/// live stream reads that state (or a newer one) here. The JSON of a snapshot is made once, on first use.
/// </summary>
public sealed class FleetStatusView
{
    private volatile Snapshot? _current;

    /// <summary>The last snapshot; null until the bridge's first status query answered.</summary>
    public Snapshot? Current => _current;

    /// <summary>Called by the event bridge only.</summary>
    internal void Set(IReadOnlyList<AgentStatus> agents) => _current = new Snapshot(agents, DateTimeOffset.UtcNow);

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
