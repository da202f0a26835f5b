using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// Where a cluster singleton runs as this node sees the gossip (pure): on the oldest member of its role that is up,
/// leaving, exiting or down (Akka's singleton manager moves it only once that member is removed); <see cref="Node"/> null
/// when there is none. Whether this node reaches it decides whether a read is worth sending (<see cref="Refusal"/>).
/// </summary>
public sealed record SingletonSite(string? Node, string? Status, bool Reachable)
{
    /// <summary>How long a caller should wait before asking again when the singleton is moving (<c>Retry-After</c>).</summary>
    public const int RetryAfterSeconds = 5;

    private static readonly HashSet<string> Holding = ["up", "leaving", "exiting", "down"];

    /// <param name="oldestFirst">The members oldest first (<see cref="MemberFacts.OldestFirst"/>).</param>
    /// <param name="role">The singleton's role; null: any member.</param>
    public static SingletonSite Locate(IEnumerable<MemberFacts> oldestFirst, string? role)
    {
        var member = oldestFirst.FirstOrDefault(m => Holding.Contains(m.Status) && (role is null || m.Roles.Contains(role)));
        return member is null
            ? new SingletonSite(null, null, false)
            : new SingletonSite(PlacementCoordinator.NodeOf(member.Roles) ?? member.Address, member.Status, member.Reachable);
    }

    /// <summary>
    /// The answer to a read of singleton <paramref name="singleton"/> without asking it (null: ask it): no member of its role
    /// is up, or its node is unreachable from here or downed, i.e. the singleton is moving to the next oldest member.
    /// </summary>
    public SingletonUnavailable? Refusal(string singleton, string? role) => this switch
    {
        { Node: null } => new SingletonUnavailable(singleton, null, $"no node {(role is null ? "" : $"of role {role} ")}is up to run the {singleton} singleton; try again once one has joined", RetryAfterSeconds),
        { Reachable: false } => new SingletonUnavailable(singleton, Node, $"the {singleton} singleton is moving from node {Node}, which this node does not reach; try again in a few seconds", RetryAfterSeconds),
        { Status: "down" } => new SingletonUnavailable(singleton, Node, $"the {singleton} singleton is moving from node {Node}, which was downed; try again in a few seconds", RetryAfterSeconds),
        _ => null,
    };

    /// <summary>The answer to a read that the singleton on <paramref name="node"/> left unanswered for <paramref name="bound"/>.</summary>
    public static SingletonUnavailable NoAnswer(string singleton, string? node, TimeSpan bound) =>
        new(singleton, node, $"the {singleton} singleton{(node is null ? "" : $" on node {node}")} did not answer within {bound.TotalSeconds:0.#} s (it may be moving to another node); try again in a few seconds", RetryAfterSeconds);
}
