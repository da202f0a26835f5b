using System.Text.Json.Serialization;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Messages.Cluster;

/// <summary>
/// The agents whose output <paramref name="Node"/>'s live clients are watching (<c>/api/events?output=…</c>, the
/// dashboard's live log), as it crosses the cluster on the DistributedPubSub topic <see cref="Topic"/> when the set
/// changes and again every few seconds while it is not empty: the node that runs such an agent sends its output across
/// while the interest is fresh, and stops when it lapses. An empty set withdraws the node's interest at once.
/// </summary>
[Manifest("output-interest")]
public sealed record OutputInterest(string Node, IReadOnlyList<string> Agents) : IDarkFactoryMessage
{
    /// <summary>The DistributedPubSub topic of the nodes' interests.</summary>
    public const string Topic = "df-output-interest";
}

/// <summary>
/// A batch of an agent's output on <paramref name="Node"/>, sent across to the nodes watching that agent (topic
/// <see cref="TopicOf"/>): live view only, at most once, and within a byte budget per agent and second; the lines the
/// budget held back since the last batch sent are counted in <paramref name="Skipped"/>.
/// </summary>
[Manifest("node-output")]
public sealed record NodeOutput(string Node, AgentOutput Output, long Skipped = 0) : IDarkFactoryMessage, IWithAgent
{
    [JsonIgnore]
    public string Agent => Output.Agent;

    /// <summary>The DistributedPubSub topic of one agent's output across nodes.</summary>
    public static string TopicOf(string agent) => "df-output/" + agent;
}

/// <summary>The agents whose output this node's live clients watch now (the event bridge to the node's output relay).</summary>
[Manifest("watch-output")]
public sealed record WatchOutput(IReadOnlyList<string> Agents) : IDarkFactoryMessage;
