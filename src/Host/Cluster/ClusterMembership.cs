using Akka.Actor;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// This daemon's place in the cluster, for the API, readiness and fleet application: null options = a single
/// node (no cluster; <see cref="Place"/> keeps every agent). Reads the gossip state Akka keeps (an immutable
/// snapshot, safe from any thread); never asks an actor.
/// </summary>
public sealed class ClusterMembership(ClusterNodeOptions? options, Func<ActorSystem> system)
{
    private FleetSpec _fleet = new();

    public ClusterNodeOptions? Options => options;

    public bool Enabled => options is not null;

    /// <summary>The whole fleet as last loaded (every node's agents), for the view.</summary>
    public FleetSpec Fleet
    {
        get => Volatile.Read(ref _fleet);
        private set => Volatile.Write(ref _fleet, value);
    }

    /// <summary>The part of <paramref name="fleet"/> this node runs (all of it on a single node); remembers the whole.</summary>
    public FleetSpec Place(FleetSpec fleet)
    {
        Fleet = fleet;
        return options is null ? fleet : NodePlacement.ForNode(fleet, options.Node);
    }

    /// <summary>The cluster as this node sees it; null on a single node.</summary>
    public ClusterReport? Report()
    {
        if (options is null)
        {
            return null;
        }

        var state = Akka.Cluster.Cluster.Get(system()).State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.Concat(state.Unreachable.Where(u => !state.Members.Contains(u)))
            .Select(m => new MemberFacts(m.Address.ToString(), [.. m.Roles], ClusterViewBuilder.StatusName(m.Status), !unreachable.Contains(m.Address)));
        return ClusterViewBuilder.Build(options.Node, members, Fleet);
    }

    /// <summary>Readiness: a node is ready only while it is an Up member; null on a single node (no check).</summary>
    public ReadinessCheck? Check()
    {
        if (options is null)
        {
            return null;
        }

        var cluster = Akka.Cluster.Cluster.Get(system());
        var self = cluster.SelfMember;
        var up = cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up);
        return self.Status == Akka.Cluster.MemberStatus.Up
            ? new ReadinessCheck("cluster", true, $"node {options.Node} is up ({up} member(s) up)")
            : new ReadinessCheck("cluster", false, $"node {options.Node} is {ClusterViewBuilder.StatusName(self.Status)}, not up (seeds: {string.Join(", ", options.SeedAddresses(Fleet))})");
    }
}
