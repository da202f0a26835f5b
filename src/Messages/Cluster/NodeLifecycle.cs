using System.Text.Json.Serialization;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Messages.Cluster;

/// <summary>
/// A lifecycle event of an agent run by <paramref name="Node"/>, as it crosses the cluster (DistributedPubSub topic
/// <see cref="Topic"/>) to every node's live event stream (<c>/api/events</c>, <c>df events</c>). Only for the live
/// view: the node that runs the agent persists its history; an event lost on the way is not replayed.
/// </summary>
[Manifest("node-lifecycle")]
public sealed record NodeLifecycle(string Node, AgentLifecycle Lifecycle) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The DistributedPubSub topic every cluster node publishes its agents' lifecycle events on.</summary>
    public const string Topic = "df-agent-lifecycle";

    [JsonIgnore]
    public string Agent => Lifecycle.Agent;
}
