using System.Text.Json.Nodes;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// <c>GET /api/agents</c> (<c>df agents</c>) on a cluster node: every agent of the fleet with the node it is placed on,
/// from this node's own agents, the answers of the other nodes (null: the node did not answer in time) and the last
/// placement this node accepted (pure).
/// </summary>
public static class ClusterAgents
{
    /// <param name="fleet">The fleet's agents, in the file's order (the order of the answer).</param>
    /// <param name="local">This node's agents.</param>
    /// <param name="others">The other Up members' answers by node; null for a node that did not answer.</param>
    public static IReadOnlyList<AgentStatus> Merge(
        string self,
        IReadOnlyList<AgentSpec> fleet,
        IReadOnlyList<AgentStatus> local,
        IReadOnlyDictionary<string, AgentsSnapshot?> others,
        Placement placement)
    {
        var found = new Dictionary<string, AgentStatus>(StringComparer.Ordinal);
        foreach (var (node, answer) in others.Where(o => o.Value is not null).OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            foreach (var agent in answer!.Agents.Where(a => placement.Of(a.Agent) is { } p && (p.Node == node || p.MovingFrom == node)))
            {
                found[agent.Agent] = On(agent, node, placement);
            }
        }

        foreach (var agent in local)
        {
            found[agent.Agent] = On(agent, self, placement); // this node runs exactly what it was assigned (and what it hands over until it stopped)
        }

        return [.. fleet.Select(spec => found.GetValueOrDefault(spec.Name) ?? Absent(spec, placement.Of(spec.Name), others))];
    }

    /// <summary>The JSON answer: each agent as on a single node, with <c>node</c> always present (null: placed nowhere).</summary>
    public static JsonArray ToJson(IReadOnlyList<AgentStatus> agents)
    {
        var array = JsonSerializer.SerializeToNode(agents, DarkFactoryJson.Options)!.AsArray();
        foreach (var agent in array)
        {
            var fields = agent!.AsObject();
            if (!fields.ContainsKey("node"))
            {
                fields["node"] = null;
            }
        }

        return array;
    }

    /// <summary>An agent as its node reports it; one being handed over from that node says so (its run is being stopped there).</summary>
    private static AgentStatus On(AgentStatus agent, string node, Placement placement) =>
        placement.Of(agent.Agent) is { MovingFrom: { } from } moving && from == node
            ? agent with { Node = node, Reason = moving.Reason }
            : agent with { Node = node };

    private static AgentStatus Absent(AgentSpec spec, AgentPlacement? placed, IReadOnlyDictionary<string, AgentsSnapshot?> others) =>
        placed?.Node is { } node
            ? new AgentStatus
            {
                Agent = spec.Name,
                Layer = spec.Layer,
                Cli = spec.Cli,
                Node = node,
                State = AgentState.Unknown,
                Reason = others.TryGetValue(node, out var answer) && answer is null
                    ? $"node {node} did not answer in time"
                    : $"node {node} has not reported it yet",
            }
            : new AgentStatus
            {
                Agent = spec.Name,
                Layer = spec.Layer,
                Cli = spec.Cli,
                State = AgentState.Stopped,
                Reason = placed?.MovingFrom is not null ? placed.Reason : "placed on no node: " + (placed?.Reason ?? "no placement has reached this node yet"),
            };
}
