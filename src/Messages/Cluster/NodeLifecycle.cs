using System.Text.Json.Serialization;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
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

/// <summary>
/// An event of a project's run on <paramref name="Node"/> — its output, usage or route (exactly one is set) — as it
/// crosses the cluster (DistributedPubSub topic <see cref="Topic"/>) to the projects singleton, which reads its runs'
/// answers, handoffs and costs from them wherever the runs' agents are placed. Only events of a project's run
/// (<c>project_id</c> set) cross; the lifecycle goes as a <see cref="NodeLifecycle"/>.
/// </summary>
[Manifest("node-project-event")]
public sealed record NodeProjectEvent(string Node, AgentOutput? Output = null, AgentUsage? Usage = null, RouteChosen? Route = null) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The DistributedPubSub topic every cluster node publishes its project runs' events on.</summary>
    public const string Topic = "df-project-events";

    [JsonIgnore]
    public string Agent => Output?.Agent ?? Usage?.Agent ?? Route?.Agent ?? string.Empty;

    /// <summary>The event it carries.</summary>
    [JsonIgnore]
    public IDarkFactoryMessage? Event => (IDarkFactoryMessage?)Output ?? (IDarkFactoryMessage?)Usage ?? Route;

    /// <summary>The crossing of a project run's event of <paramref name="node"/>; null for any other event (no project).</summary>
    public static NodeProjectEvent? Of(string node, IDarkFactoryMessage e) => e switch
    {
        AgentOutput { ProjectId: not null } o => new NodeProjectEvent(node, Output: o),
        AgentUsage { ProjectId: not null } u => new NodeProjectEvent(node, Usage: u),
        RouteChosen { ProjectId: not null } r => new NodeProjectEvent(node, Route: r),
        _ => null,
    };
}

/// <summary>
/// One of <paramref name="Node"/>'s fleet events for the live view of the other nodes (DistributedPubSub topic
/// <see cref="Topic"/>): an agent's status change, drift verdict, correction or escalation, or a run's route, each
/// published where it happens (the agent's node), so every node's <c>/api/events</c> shows the cluster's agents as its
/// own (with <c>node</c>). Live only and at most once; never put on the receiving node's topics.
/// </summary>
[Manifest("node-event")]
public sealed record NodeEvent(
    string Node,
    AgentStatus? Status = null,
    DriftVerdict? Verdict = null,
    DriftCorrection? Correction = null,
    Escalation? Escalation = null,
    RouteChosen? Route = null) : IDarkFactoryMessage, IWithAgent
{
    /// <summary>The DistributedPubSub topic every cluster node publishes its fleet events on.</summary>
    public const string Topic = "df-node-events";

    [JsonIgnore]
    public string Agent => Event is IWithAgent a ? a.Agent : string.Empty;

    /// <summary>The event it carries.</summary>
    [JsonIgnore]
    public IDarkFactoryMessage? Event => (IDarkFactoryMessage?)Status ?? (IDarkFactoryMessage?)Verdict ?? (IDarkFactoryMessage?)Correction ?? (IDarkFactoryMessage?)Escalation ?? Route;

    /// <summary>The crossing of <paramref name="node"/>'s event; null for an event that does not cross this way.</summary>
    public static NodeEvent? Of(string node, IDarkFactoryMessage e) => e switch
    {
        AgentStatus s => new NodeEvent(node, Status: s),
        DriftVerdict v => new NodeEvent(node, Verdict: v),
        DriftCorrection c => new NodeEvent(node, Correction: c),
        Escalation x => new NodeEvent(node, Escalation: x),
        RouteChosen r => new NodeEvent(node, Route: r),
        _ => null,
    };
}
