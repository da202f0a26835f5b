using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Host.Cluster;

/// <summary>One member of <c>df nodes</c> / <c>GET /api/cluster</c>.</summary>
/// <param name="Status">joining, up, leaving, exiting, down, removed, weakly-up, or unreachable when this node does not reach it.</param>
/// <param name="Agents">The agents placed on it.</param>
public sealed record ClusterMemberView(string Node, string Address, IReadOnlyList<string> Roles, string Status, IReadOnlyList<string> Agents);

/// <summary>An agent the placement coordinator did not place, and why; one being handed over names the node it leaves and the one it goes to.</summary>
public sealed record UnplacedAgentView(string Agent, string? Reason, string? MovingFrom = null, string? MovingTo = null);

/// <summary>
/// <c>GET /api/cluster</c>: the members (by node name), where each cluster singleton runs (node name), the placement's
/// epoch (0: no placement reached this node yet) and the agents placed nowhere with the reason.
/// </summary>
public sealed record ClusterReport(string Self, IReadOnlyList<ClusterMemberView> Members, IReadOnlyDictionary<string, string> Singletons)
{
    public long Epoch { get; init; }

    public IReadOnlyList<UnplacedAgentView> Unplaced { get; init; } = [];
}

/// <summary>Builds the cluster view from the members' facts (pure; <see cref="ClusterMembership"/> reads them from Akka).</summary>
public static class ClusterViewBuilder
{
    /// <param name="placement">The last placement this node accepted (<see cref="Placement.None"/> before the first).</param>
    public static ClusterReport Build(string self, IEnumerable<MemberFacts> members, Placement placement, IReadOnlyDictionary<string, string>? singletons = null)
    {
        var views = members.Select(m =>
        {
            var node = NodeOf(m.Roles) ?? m.Address;
            var roles = m.Roles.Where(r => !r.StartsWith(ClusterNodeOptions.NodeRolePrefix, StringComparison.Ordinal) && !r.StartsWith("dc-", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
            var status = m.Reachable ? m.Status : "unreachable";
            return new ClusterMemberView(node, m.Address, roles, status, placement.On(node));
        });
        return new ClusterReport(self, [.. views.OrderBy(v => v.Node, StringComparer.Ordinal)], singletons ?? new Dictionary<string, string>())
        {
            Epoch = placement.Epoch,
            Unplaced = [.. placement.Agents.Where(a => a.Node is null).Select(a => new UnplacedAgentView(a.Agent, a.Reason, a.MovingFrom, a.MovingTo))],
        };
    }

    /// <summary>The node name a member carries in its <c>node:NAME</c> role, or null.</summary>
    public static string? NodeOf(IEnumerable<string> roles) => PlacementCoordinator.NodeOf(roles);

    /// <summary>Akka's member status as the API spells it.</summary>
    public static string StatusName(Akka.Cluster.MemberStatus status) => MemberFacts.StatusName(status);
}
