using DarkFactory.Messages.Fleet;

namespace DarkFactory.Host.Cluster;

/// <summary>One member as the cluster's gossip shows it: its address, roles, status and whether this node reaches it.</summary>
public sealed record MemberFacts(string Address, IReadOnlyList<string> Roles, string Status, bool Reachable);

/// <summary>One member of <c>df nodes</c> / <c>GET /api/cluster</c>.</summary>
/// <param name="Status">joining, up, leaving, exiting, down, removed, weakly-up, or unreachable when this node does not reach it.</param>
/// <param name="Agents">The agents placed on it.</param>
public sealed record ClusterMemberView(string Node, string Address, IReadOnlyList<string> Roles, string Status, IReadOnlyList<string> Agents);

/// <summary><c>GET /api/cluster</c>: the members (by node name) and where each cluster singleton runs (node name).</summary>
public sealed record ClusterReport(string Self, IReadOnlyList<ClusterMemberView> Members, IReadOnlyDictionary<string, string> Singletons);

/// <summary>
/// Which agents a node runs. Until the placement coordinator (a cluster singleton) exists, a node runs exactly the
/// agents pinned to it by name (<c>node: NAME</c>): a decision every node takes alike from the same fleet file, so
/// no agent ever runs on two nodes. Agents pinned to a role or not pinned wait for the coordinator (they run nowhere).
/// </summary>
public static class NodePlacement
{
    public static IReadOnlyList<AgentSpec> AgentsOn(FleetSpec fleet, string node) =>
        [.. fleet.Agents.Where(a => a.PinnedNode() == node)];

    /// <summary>The fleet node <paramref name="node"/> applies: only its own agents (and the rest of the file as it is).</summary>
    public static FleetSpec ForNode(FleetSpec fleet, string node) => fleet with { Agents = AgentsOn(fleet, node) };

    /// <summary>The agents no node runs yet (pinned to a role, or not pinned).</summary>
    public static IReadOnlyList<string> Unplaced(FleetSpec fleet) =>
        [.. fleet.Agents.Where(a => a.PinnedNode() is null).Select(a => a.Name)];
}

/// <summary>Builds the cluster view from the members' facts (pure; <see cref="ClusterMembership"/> reads them from Akka).</summary>
public static class ClusterViewBuilder
{
    public static ClusterReport Build(string self, IEnumerable<MemberFacts> members, FleetSpec fleet, IReadOnlyDictionary<string, string>? singletons = null)
    {
        var views = members.Select(m =>
        {
            var node = NodeOf(m.Roles) ?? m.Address;
            var roles = m.Roles.Where(r => !r.StartsWith(ClusterNodeOptions.NodeRolePrefix, StringComparison.Ordinal) && !r.StartsWith("dc-", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
            var status = m.Reachable ? m.Status : "unreachable";
            return new ClusterMemberView(node, m.Address, roles, status, [.. NodePlacement.AgentsOn(fleet, node).Select(a => a.Name)]);
        });
        return new ClusterReport(self, [.. views.OrderBy(v => v.Node, StringComparer.Ordinal)], singletons ?? new Dictionary<string, string>());
    }

    /// <summary>The node name a member carries in its <c>node:NAME</c> role, or null.</summary>
    public static string? NodeOf(IEnumerable<string> roles) =>
        roles.FirstOrDefault(r => r.StartsWith(ClusterNodeOptions.NodeRolePrefix, StringComparison.Ordinal)) is { } role
            ? role[ClusterNodeOptions.NodeRolePrefix.Length..]
            : null;

    /// <summary>Akka's member status as the API spells it.</summary>
    public static string StatusName(Akka.Cluster.MemberStatus status) => status switch
    {
        Akka.Cluster.MemberStatus.WeaklyUp => "weakly-up",
        _ => status.ToString().ToLowerInvariant(),
    };
}
