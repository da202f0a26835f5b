using DarkFactory.Actors.Cluster;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// <c>df up --node NAME --cluster-port PORT --seed HOST:PORT</c>: this daemon as a member of an Akka.NET cluster
/// over Akka.Remote (bound to <see cref="Host"/>, loopback by default). Without <c>--node</c> there is none of it.
/// </summary>
/// <param name="Node">The node's name (a <c>cluster.nodes</c> name; one not listed joins with every role).</param>
/// <param name="Port">The Akka.Remote port.</param>
/// <param name="Seeds">Seed nodes as HOST:PORT, before the fleet's <c>cluster.seeds</c>; none at all: this node seeds itself.</param>
/// <param name="Host">The address Akka.Remote binds and others reach this node at.</param>
public sealed record ClusterNodeOptions(string Node, int Port, IReadOnlyList<string> Seeds, string Host = ClusterNodeOptions.Loopback)
{
    public const string Loopback = "127.0.0.1";

    /// <summary>Akka.Remote's protocol in the seeds' addresses: <c>akka.ssl.tcp</c> with the cluster's mutual TLS (<see cref="ClusterTls"/>).</summary>
    public string Protocol { get; init; } = "akka.tcp";
    public const int DefaultPort = 4053;

    /// <summary>The role every node carries with its own name, so that members are known by node name.</summary>
    public const string NodeRolePrefix = PlacementCoordinator.NodeRolePrefix;

    /// <summary>The role the control plane's singletons (the placement coordinator) run on.</summary>
    public const string ControlRole = "control";

    /// <summary>Why this node cannot start (null: it can). A cluster shares one journal: PostgreSQL, never a node's SQLite file.</summary>
    public string? Refusal(PersistenceSetup store)
    {
        if (!FleetReader.AgentName().IsMatch(Node))
        {
            return $"--node '{Node}' is not a node name (1-63 lowercase letters, digits and '-', starting with a letter or digit)";
        }

        if (Port is < 1 or > 65535)
        {
            return $"--cluster-port {Port} is not a port (1-65535)";
        }

        if (Seeds.FirstOrDefault(s => !FleetReader.TryParseHostPort(s, out _, out _)) is { } bad)
        {
            return $"--seed '{bad}' is not HOST:PORT (for example 127.0.0.1:{DefaultPort})";
        }

        if (store.IsSqlite || store.IsInMemory)
        {
            return "cluster mode (--node) needs PostgreSQL, one store for every node: pass --postgres CONNECTION-STRING (or set DF_POSTGRES); a node's SQLite file cannot be shared";
        }

        return null;
    }

    /// <summary>Where the singletons run: role <c>control</c> when some node has it (an unlisted node has every role), else any node (null).</summary>
    public static string? SingletonRole(FleetSpec fleet) =>
        fleet.Cluster is { Nodes.Count: > 0 } c && !c.Nodes.Any(n => c.RolesOf(n.Name).Contains(ControlRole, StringComparer.Ordinal)) ? null : ControlRole;

    /// <summary>The ActorSystem name: <c>cluster.name</c>, the same on every node.</summary>
    public static string SystemName(FleetSpec fleet) => (fleet.Cluster ?? new ClusterSpec()).Name;

    /// <summary>The node's roles: its <c>cluster.nodes</c> roles (every role when not listed) and <c>node:NAME</c>.</summary>
    public IReadOnlyList<string> Roles(FleetSpec fleet) => [.. (fleet.Cluster ?? new ClusterSpec()).RolesOf(Node), NodeRolePrefix + Node];

    /// <summary>Seed addresses: <c>--seed</c>, then <c>cluster.seeds</c>; with none, this node itself (the first node of a cluster).</summary>
    public IReadOnlyList<string> SeedAddresses(FleetSpec fleet)
    {
        var seeds = Seeds.Concat(fleet.Cluster?.Seeds ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (seeds.Count == 0)
        {
            seeds.Add(Address(Host, Port));
        }

        var system = SystemName(fleet);
        return [.. seeds.Select(s =>
        {
            _ = FleetReader.TryParseHostPort(s, out var host, out var port);
            return $"{Protocol}://{system}@{Address(host, port)}";
        })];
    }

    /// <summary>
    /// How fast a cluster node acts on a lost member (docs/cluster.md, "Failover time"), from fleet.yaml <c>cluster:</c>'s
    /// timing keys (<see cref="ClusterTimingSpec"/>): the failure detector's heartbeat interval and pause, the split-brain
    /// resolver's <c>stable-after</c>, the singletons' <c>down-removal-margin</c> after the removal (Akka's resolver makes it
    /// <c>stable-after</c> when not set), how long reachability may flap before the resolver downs every node, and the
    /// leader's and the reaper's ticks (250 ms). Akka's defaults (1 s, 3 s, 20 s, 20 s, 15 s; ticks 1 s) put a SIGKILLed
    /// singleton back 45 s or more after the kill; the fleet's defaults (1 s, 2 s, 3 s, 1 s, 15 s) about 9 s, tolerating
    /// some 6.5 s of silence from a member before it is downed.
    /// </summary>
    public static string TimingHocon(ClusterTimingSpec t) => string.Join('\n',
        $"akka.cluster.failure-detector.heartbeat-interval = {Millis(t.HeartbeatInterval)}",
        $"akka.cluster.failure-detector.acceptable-heartbeat-pause = {Millis(t.HeartbeatPause)}",
        $"akka.cluster.split-brain-resolver.stable-after = {Millis(t.StableAfter)}",
        $"akka.cluster.split-brain-resolver.down-all-when-unstable = {Millis(t.DownAllWhenUnstable)}",
        $"akka.cluster.down-removal-margin = {Millis(t.DownRemovalMargin)}",
        "akka.cluster.leader-actions-interval = 250ms",
        "akka.cluster.unreachable-nodes-reaper-interval = 250ms");

    /// <summary>The timing of a fleet without timing keys.</summary>
    public static string Timing => TimingHocon(ClusterTimingSpec.Default);

    /// <summary>
    /// The HOCON of cluster mode: the cluster provider, Akka.Remote on <see cref="Host"/>:<see cref="Port"/>, seeds, roles,
    /// the split-brain resolver (keep-oldest with down-if-alone for two listed nodes or when declared, else keep-majority)
    /// and the failover <see cref="Timing"/>. An operator's <c>DF_HOCON</c> goes over it.
    /// </summary>
    public string Hocon(FleetSpec fleet)
    {
        var strategy = (fleet.Cluster ?? new ClusterSpec()).EffectiveSplitBrain == SplitBrainStrategy.KeepOldest ? "keep-oldest" : "keep-majority";
        var b = new StringBuilder();
        b.AppendLine("akka.actor.provider = cluster");
        b.AppendLine(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp {{ hostname = {Quote(Host)}, port = {Port} }}");
        b.AppendLine(CultureInfo.InvariantCulture, $"akka.cluster.seed-nodes = [{string.Join(", ", SeedAddresses(fleet).Select(Quote))}]");
        b.AppendLine(CultureInfo.InvariantCulture, $"akka.cluster.roles = [{string.Join(", ", Roles(fleet).Select(Quote))}]");
        b.AppendLine("akka.cluster.downing-provider-class = \"Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster\"");
        b.AppendLine(CultureInfo.InvariantCulture, $"akka.cluster.split-brain-resolver.active-strategy = {strategy}");
        b.AppendLine("akka.cluster.split-brain-resolver.keep-oldest.down-if-alone = on");
        b.AppendLine("akka.cluster.run-coordinated-shutdown-when-down = on");
        b.AppendLine(TimingHocon((fleet.Cluster ?? new ClusterSpec()).Timing));
        return b.ToString();
    }

    private static string Millis(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private static string Address(string host, int port) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
