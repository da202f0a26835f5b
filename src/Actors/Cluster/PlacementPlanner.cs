using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// A cluster member as placement sees it. A node missing from the list has been removed; a listed one that is not
/// <paramref name="Available"/> (joining, leaving, unreachable) keeps the agents it has but gets no new one.
/// </summary>
/// <param name="MaxAgents">Most agents placed on it (fleet.yaml <c>cluster.nodes[].max_agents</c>); null = no limit.</param>
public sealed record PlacementMember(string Node, IReadOnlyList<string> Roles, bool Available, int? MaxAgents = null);

/// <summary>
/// Decides agent -> node for a clustered fleet (pure; the placement coordinator runs it on every membership change
/// and fleet reload). Rules, in order:
/// <list type="bullet">
/// <item>an agent stays where it is while its node is a member and still fits its pin (a node joining moves nothing;
///   an unreachable or leaving node keeps its agents until it is removed, so nothing ever runs twice);</item>
/// <item>an agent whose pin a reload changed while its node is a member is handed over: placed on no node (its node
///   stops it) with <see cref="AgentPlacement.MovingFrom"/>, and placed again only once that node confirmed the release
///   (<see cref="PlacementReleased"/>) or was removed (then the rules of node loss), so it never runs on two nodes;</item>
/// <item>an agent whose node was removed follows its failover: <c>move</c> is placed again, <c>stay</c> waits
///   unplaced for that node, <c>never</c> is parked unplaced;</item>
/// <item><c>node: NAME</c> places on that node while it is up (a pin is honoured over max_agents), else unplaced;</item>
/// <item><c>node: role:R</c> places among the up members with role R, the rest among those with role
///   <see cref="AgentsRole"/>: the least loaded within max_agents, ties by node name.</item>
/// </list>
/// The epoch rises by one whenever any agent's place changes.
/// </summary>
public static class PlacementPlanner
{
    /// <summary>The role of the nodes that run agents not pinned anywhere.</summary>
    public const string AgentsRole = "agents";

    public static Placement Plan(Placement previous, IReadOnlyList<PlacementMember> members, IReadOnlyList<PlacementAgent> agents) =>
        Plan(previous, members, agents, new Dictionary<string, long>());

    /// <param name="released">The newest epoch each node confirmed it applied with nothing else running (<see cref="PlacementReleased"/>).</param>
    public static Placement Plan(Placement previous, IReadOnlyList<PlacementMember> members, IReadOnlyList<PlacementAgent> agents, IReadOnlyDictionary<string, long> released)
    {
        var present = members.ToDictionary(m => m.Node, StringComparer.Ordinal);
        var load = members.ToDictionary(m => m.Node, _ => 0, StringComparer.Ordinal);
        var decided = new Dictionary<string, AgentPlacement>(StringComparer.Ordinal);
        var leaving = new Dictionary<string, (string From, long Epoch)>(StringComparer.Ordinal); // handed over: its old node must release it first
        var ordered = agents.OrderBy(Rank).ThenBy(a => a.Name, StringComparer.Ordinal).ToList();

        // 1. what stays as it is: agents on members that still fit them, those being handed over, and those waiting or parked after a loss
        foreach (var agent in ordered)
        {
            if (previous.Of(agent.Name) is not { } before)
            {
                continue;
            }

            if ((before.Node ?? before.MovingFrom) is { } node)
            {
                if (present.TryGetValue(node, out var member))
                {
                    if (Fits(agent, member))
                    {
                        decided[agent.Name] = AgentPlacement.On(agent.Name, node); // kept, or back where it was before its hand-over ended
                        load[node]++;
                    }
                    else if (before.Node is not null)
                    {
                        leaving[agent.Name] = (node, previous.Epoch + 1); // a pin changed by a reload: its node stops it first
                    }
                    else if (released.GetValueOrDefault(node) < before.ReleaseEpoch)
                    {
                        leaving[agent.Name] = (node, before.ReleaseEpoch); // not released yet: no other node starts it
                    }

                    continue; // placed below (released: placed as any free agent)
                }

                // its node was removed (a hand-over in progress too): the rules of node loss
                var failover = agent.Failover;
                if (failover == FailoverPolicy.Never)
                {
                    decided[agent.Name] = Parked(agent.Name, node);
                }
                else if (failover == FailoverPolicy.Stay && agent.PinnedNode is null)
                {
                    decided[agent.Name] = Waiting(agent.Name, node);
                }

                // move, and a pin by name (which waits for its node): placed again below
            }
            else if (before.Parked && agent.Failover == FailoverPolicy.Never)
            {
                decided[agent.Name] = before; // until the fleet file changes its failover
            }
            else if (before.WaitingFor is { } awaited && agent.PinnedNode is null && agent.Failover == FailoverPolicy.Stay)
            {
                if (!present.TryGetValue(awaited, out var back))
                {
                    decided[agent.Name] = Waiting(agent.Name, awaited);
                }
                else if (Fits(agent, back))
                {
                    decided[agent.Name] = back.Available ? AgentPlacement.On(agent.Name, awaited) : Waiting(agent.Name, awaited);
                    load[awaited] += back.Available ? 1 : 0;
                }

                // back without the role it is pinned to: placed again below
            }
        }

        // 2. everything else: pins by name, then by role, then the rest, least loaded first; one being handed over only
        //    reserves its place (placed on no node until its old node released it)
        foreach (var agent in ordered.Where(a => !decided.ContainsKey(a.Name)))
        {
            var place = Place(agent, members, load);
            decided[agent.Name] = leaving.TryGetValue(agent.Name, out var from) ? Moving(place, from.From, from.Epoch) : place;
        }

        var next = ordered.Select(a => decided[a.Name]).OrderBy(p => p.Agent, StringComparer.Ordinal).ToList();
        var same = next.SequenceEqual(previous.Agents.OrderBy(p => p.Agent, StringComparer.Ordinal));
        return new Placement(same ? previous.Epoch : previous.Epoch + 1, next);
    }

    /// <summary>Whether <paramref name="agent"/>'s pin allows <paramref name="member"/> (capacity aside).</summary>
    public static bool Fits(PlacementAgent agent, PlacementMember member) =>
        agent.PinnedNode is { } node ? member.Node == node
        : member.Roles.Contains(agent.PinnedRole ?? AgentsRole, StringComparer.Ordinal);

    private static AgentPlacement Place(PlacementAgent agent, IReadOnlyList<PlacementMember> members, Dictionary<string, int> load)
    {
        if (agent.PinnedNode is { } pinned)
        {
            if (members.FirstOrDefault(m => m.Node == pinned) is { Available: true })
            {
                load[pinned]++;
                return AgentPlacement.On(agent.Name, pinned);
            }

            return new AgentPlacement(agent.Name, null, $"pinned to node {pinned}, which is not up", WaitingFor: pinned);
        }

        var role = agent.PinnedRole ?? AgentsRole;
        var eligible = members.Where(m => m.Available && Fits(agent, m)).ToList();
        var free = eligible.Where(m => m.MaxAgents is not { } max || load[m.Node] < max)
            .OrderBy(m => load[m.Node]).ThenBy(m => m.Node, StringComparer.Ordinal).FirstOrDefault();
        if (free is null)
        {
            return new AgentPlacement(agent.Name, null, eligible.Count == 0
                ? $"no up node has role {role}"
                : $"every up node with role {role} is full (max_agents: {string.Join(", ", eligible.Select(m => $"{m.Node} {m.MaxAgents}"))})");
        }

        load[free.Node]++;
        return AgentPlacement.On(agent.Name, free.Node);
    }

    private static AgentPlacement Moving(AgentPlacement place, string from, long epoch) => new(
        place.Agent,
        null,
        place.Node is { } to
            ? $"moving from node {from} to node {to}: waiting for node {from} to stop it"
            : $"moving off node {from}: waiting for node {from} to stop it; then {place.Reason}",
        MovingFrom: from,
        MovingTo: place.Node,
        ReleaseEpoch: epoch);

    private static AgentPlacement Waiting(string agent, string node) =>
        new(agent, null, $"node {node} left the cluster; failover: stay waits for it", WaitingFor: node);

    private static AgentPlacement Parked(string agent, string node) =>
        new(agent, null, $"node {node} left the cluster; failover: never keeps it stopped", Parked: true);

    private static int Rank(PlacementAgent agent) => agent.PinnedNode is not null ? 0 : agent.PinnedRole is not null ? 1 : 2;
}

/// <summary>
/// A node's fence against stale placement commands: it accepts an assignment whose epoch is at least the last one
/// it accepted (the same epoch again is the same decision, resent), never an older one.
/// </summary>
public sealed record PlacementEpochGate(long Accepted = 0)
{
    public bool Admits(long epoch) => epoch >= Accepted;

    /// <summary>The gate after accepting <paramref name="epoch"/>; this one when it is refused.</summary>
    public PlacementEpochGate Accept(long epoch) => Admits(epoch) ? new PlacementEpochGate(epoch) : this;
}
