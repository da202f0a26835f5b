using System.Text.Json.Serialization;

namespace DarkFactory.Messages.Fleet;

/// <summary>How a cluster that splits decides which side lives (Akka.NET's split-brain resolver).</summary>
public enum SplitBrainStrategy
{
    /// <summary>The side with more nodes lives; on a tie, the side with the lowest address.</summary>
    KeepMajority,

    /// <summary>The side with the oldest node lives; the oldest node downs itself when it is alone (down-if-alone).</summary>
    KeepOldest,
}

/// <summary>What happens to an agent whose node left the cluster (fleet.yaml <c>agents[].failover</c>).</summary>
public enum FailoverPolicy
{
    /// <summary>Placed on another eligible node once its node is removed (never while it is merely unreachable).</summary>
    Move,

    /// <summary>Waits for its node to come back.</summary>
    Stay,

    /// <summary>Neither moved nor restarted when its node comes back; an operator starts it.</summary>
    Never,
}

/// <summary>
/// fleet.yaml <c>cluster:</c>: one fleet over several <c>df up --node</c> processes that form an Akka.NET cluster
/// (docs/fleet.md). A single-node daemon (no <c>--node</c>) ignores it, and ignores <c>agents[].node</c>.
/// </summary>
public sealed record ClusterSpec
{
    /// <summary>Roles a node gets when it is not listed in <see cref="Nodes"/> or lists no roles.</summary>
    public static readonly IReadOnlyList<string> DefaultRoles = ["control", "agents"];

    /// <summary>The ActorSystem name, the same on every node.</summary>
    public string Name { get; init; } = "dark-factory";

    /// <summary>Seed nodes as HOST:PORT (added to the ones given with <c>df up --seed</c>).</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary>Null: keep-oldest (down-if-alone) for exactly two listed nodes, keep-majority otherwise.</summary>
    public SplitBrainStrategy? SplitBrain { get; init; }

    public IReadOnlyList<ClusterNodeSpec> Nodes { get; init; } = [];

    /// <summary>How fast a lost member is detected, downed and its singletons moved (<c>heartbeat_pause</c>, <c>stable_after</c> ...); read at <c>df up</c> only.</summary>
    public ClusterTimingSpec Timing { get; init; } = ClusterTimingSpec.Default;

    /// <summary>The strategy in force: the declared one, else keep-oldest for two listed nodes and keep-majority otherwise.</summary>
    [JsonIgnore]
    public SplitBrainStrategy EffectiveSplitBrain =>
        SplitBrain ?? (Nodes.Count == 2 ? SplitBrainStrategy.KeepOldest : SplitBrainStrategy.KeepMajority);

    /// <summary>Every role the fleet knows: the default ones and those the listed nodes declare.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> AllRoles =>
        [.. DefaultRoles.Concat(Nodes.SelectMany(n => n.Roles)).Distinct(StringComparer.Ordinal)];

    /// <summary>The roles node <paramref name="name"/> joins with: its listed roles, or every role when it is not listed.</summary>
    public IReadOnlyList<string> RolesOf(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name) is { Roles.Count: > 0 } node ? node.Roles : AllRoles;
}

/// <summary>
/// fleet.yaml <c>cluster:</c>'s timing keys, each an Akka.NET cluster setting (docs/cluster.md, "Failover time"): the
/// failure detector's <c>heartbeat_interval</c> and <c>heartbeat_pause</c> (<c>acceptable-heartbeat-pause</c>), the
/// split-brain resolver's <c>stable_after</c> and <c>down_all_when_unstable</c>, and the singletons'
/// <c>down_removal_margin</c>. A node reads them when it starts (a change takes a restart of each node); a <c>DF_HOCON</c>
/// file goes over them. The defaults put a SIGKILLed node's singletons back in about 9 s.
/// </summary>
public sealed record ClusterTimingSpec
{
    public static readonly ClusterTimingSpec Default = new();

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan HeartbeatPause { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan DownRemovalMargin { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan DownAllWhenUnstable { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>One node of <c>cluster.nodes</c>: its name (given at start, <c>df up --node NAME</c>), roles and capacity.</summary>
public sealed record ClusterNodeSpec
{
    public required string Name { get; init; }

    /// <summary>Empty: <see cref="ClusterSpec.DefaultRoles"/> and every role another node declares.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Most agents placed on this node; null = no limit.</summary>
    public int? MaxAgents { get; init; }

    /// <summary>
    /// The repositories this node has a checkout of (full paths, as <c>compound_review.repo</c> names them); null = not
    /// declared (the node is taken to have every repository the fleet names). <c>df validate</c> refuses a compound review
    /// whose repository a node that can hold the review (the singleton role) declares it lacks.
    /// </summary>
    public IReadOnlyList<string>? Repos { get; init; }

    /// <summary>Whether the node has <paramref name="repo"/>: declared among <see cref="Repos"/>, or nothing declared.</summary>
    public bool Has(string repo) =>
        Repos is null || Repos.Any(r => string.Equals(r.TrimEnd('/'), repo.TrimEnd('/'), StringComparison.Ordinal));
}

/// <summary>An agent's <c>node:</c> pin read as a node name or a role, and its failover in force.</summary>
public static class AgentPins
{
    /// <summary>The role of a <c>node: role:&lt;r&gt;</c> pin, or null.</summary>
    public static string? PinnedRole(this AgentSpec agent) =>
        agent.Node is { } n && n.StartsWith(AgentSpec.RolePrefix, StringComparison.Ordinal) ? n[AgentSpec.RolePrefix.Length..] : null;

    /// <summary>The node of a <c>node: NAME</c> pin, or null.</summary>
    public static string? PinnedNode(this AgentSpec agent) =>
        agent.Node is { } n && !n.StartsWith(AgentSpec.RolePrefix, StringComparison.Ordinal) ? n : null;

    /// <summary>The declared failover, else stay for an agent pinned to a node by name and move for the rest.</summary>
    public static FailoverPolicy EffectiveFailover(this AgentSpec agent) =>
        agent.Failover ?? (agent.PinnedNode() is null ? FailoverPolicy.Move : FailoverPolicy.Stay);
}
