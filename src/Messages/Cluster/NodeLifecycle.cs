using System.Text.Json.Serialization;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Scheduling;

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

/// <summary>
/// A firing of the cluster's scheduler (a singleton) recorded on <paramref name="Node"/>, as it crosses the cluster
/// (DistributedPubSub topic <see cref="Topic"/>) to every other node's live event stream (<c>scheduler-fired</c> on
/// <c>/api/events</c>). Only for the live view: the record is the scheduler's journal.
/// </summary>
[Manifest("node-scheduler-fired")]
public sealed record NodeSchedulerFired(string Node, SchedulerFired Fired) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The DistributedPubSub topic the scheduler's node publishes its firings on.</summary>
    public const string Topic = "df-scheduler-fired";

    [JsonIgnore]
    public string Agent => Fired.Agent;
}
