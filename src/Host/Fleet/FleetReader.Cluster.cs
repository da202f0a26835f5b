using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>fleet.yaml <c>cluster:</c> and the agents' <c>node:</c> pins (cross-record rules: <see cref="ClusterValidator"/>).</summary>
internal sealed partial class FleetReader
{
    /// <summary>An Akka.NET ActorSystem name.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SystemName();

    private static readonly Dictionary<string, SplitBrainStrategy> SplitBrains = new(StringComparer.Ordinal)
    {
        ["keep-majority"] = SplitBrainStrategy.KeepMajority,
        ["keep-oldest"] = SplitBrainStrategy.KeepOldest,
    };

    private ClusterSpec ReadCluster(YamlNode node, string path) => ReadSection(node, path, FleetKeys.Cluster, new ClusterSpec(), (f, d) =>
    {
        var name = f.String("name");
        if (name is not null && !SystemName().IsMatch(name))
        {
            f.Error("name", $"invalid cluster name '{name}': use letters, digits, '-' and '_', starting with a letter or digit");
        }

        SplitBrainStrategy? splitBrain = null;
        if (f.String("split_brain") is { } sb)
        {
            if (SplitBrains.TryGetValue(sb, out var strategy))
            {
                splitBrain = strategy;
            }
            else
            {
                f.Error("split_brain", $"invalid split_brain '{sb}'{Suggest(sb, SplitBrains.Keys)} (expected one of: {string.Join(", ", SplitBrains.Keys)})");
            }
        }

        var seeds = f.StringList("seeds") ?? [];
        if (f.Node("seeds") is YamlSequenceNode seedNodes)
        {
            for (var i = 0; i < seedNodes.Children.Count && i < seeds.Count; i++)
            {
                if (!TryParseHostPort(seeds[i], out _, out _))
                {
                    Error(seedNodes.Children[i], $"{f.PathOf("seeds")}[{i}]", $"invalid seed '{seeds[i]}': expected HOST:PORT with a port from 1 to 65535");
                }
            }
        }

        var c = new ClusterSpec
        {
            Name = name ?? d.Name,
            Seeds = seeds,
            SplitBrain = splitBrain,
            Nodes = f.Items("nodes", ReadClusterNode),
            Timing = ReadClusterTiming(f),
        };
        map.Bind(c, path);
        return c;
    });

    /// <summary>
    /// <c>cluster.heartbeat_interval</c> ... <c>down_all_when_unstable</c>, each within bounds, and in the order the
    /// failover needs them: a pause of at least one heartbeat interval, a <c>stable_after</c> of at least the pause (a
    /// shorter one would down a member whose heartbeat is merely late, a GC pause or a loaded box, before the failure
    /// detector could forgive it).
    /// </summary>
    private static ClusterTimingSpec ReadClusterTiming(Fields f)
    {
        var d = ClusterTimingSpec.Default;
        TimeSpan Read(string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
        {
            var value = f.Duration(key);
            if (value is { } v && (v < min || v > max))
            {
                f.Error(key, $"{key} {Durations.Format(v)} is out of range ({Durations.Format(min)} to {Durations.Format(max)})");
                return fallback;
            }

            return value ?? fallback;
        }

        var t = new ClusterTimingSpec
        {
            HeartbeatInterval = Read("heartbeat_interval", d.HeartbeatInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10)),
            HeartbeatPause = Read("heartbeat_pause", d.HeartbeatPause, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1)),
            StableAfter = Read("stable_after", d.StableAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            DownRemovalMargin = Read("down_removal_margin", d.DownRemovalMargin, TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            DownAllWhenUnstable = Read("down_all_when_unstable", d.DownAllWhenUnstable, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
        };
        if (t.HeartbeatPause < t.HeartbeatInterval)
        {
            f.Error(f.Has("heartbeat_pause") ? "heartbeat_pause" : "heartbeat_interval",
                $"heartbeat_pause {Durations.Format(t.HeartbeatPause)} is shorter than heartbeat_interval {Durations.Format(t.HeartbeatInterval)}: every heartbeat would arrive late and members would flap unreachable; make the pause at least one interval (the default is two)");
        }

        if (t.StableAfter < t.HeartbeatPause)
        {
            f.Error(f.Has("stable_after") ? "stable_after" : "heartbeat_pause",
                $"stable_after {Durations.Format(t.StableAfter)} is shorter than heartbeat_pause {Durations.Format(t.HeartbeatPause)}: a member whose heartbeat is merely late (a GC pause, a loaded machine) would be downed before the failure detector forgives it; make stable_after at least heartbeat_pause");
        }

        return t;
    }

    private ClusterNodeSpec? ReadClusterNode(YamlNode node, string path)
    {
        if (Section(node, path, FleetKeys.ClusterNode) is not { } f)
        {
            return null;
        }

        var name = RequiredName(
            f,
            n => $"invalid node name '{n}': use 1-63 lowercase letters, digits and '-', starting with a letter or digit",
            "a cluster node needs a 'name' (the one given to df up --node)");

        var roles = f.StringList("roles") ?? [];
        if (f.Node("roles") is YamlSequenceNode roleNodes)
        {
            for (var i = 0; i < roleNodes.Children.Count && i < roles.Count; i++)
            {
                if (!AgentName().IsMatch(roles[i]))
                {
                    Error(roleNodes.Children[i], $"{f.PathOf("roles")}[{i}]", $"invalid role '{roles[i]}': use lowercase letters, digits and '-', starting with a letter or digit");
                }
            }
        }

        var n = new ClusterNodeSpec
        {
            Name = name ?? "",
            Roles = [.. roles.Distinct(StringComparer.Ordinal)],
            MaxAgents = f.Int("max_agents"),
            Repos = f.StringList("repos") is { } repos ? [.. repos.Select(r => Path.GetFullPath(Path.Combine(baseDirectory, r)))] : null,
        };
        f.Require("max_agents", n.MaxAgents is null or >= 1, "max_agents must be at least 1");
        map.Bind(n, path);
        return n;
    }

    /// <summary>agents[].node: a node name, or <c>role:&lt;r&gt;</c>; both must be names (whether they exist is the validator's).</summary>
    private static string? ReadNodePin(Fields f)
    {
        var pin = f.String("node");
        if (pin is null)
        {
            return null;
        }

        var role = pin.StartsWith(AgentSpec.RolePrefix, StringComparison.Ordinal) ? pin[AgentSpec.RolePrefix.Length..] : null;
        if (!AgentName().IsMatch(role ?? pin))
        {
            f.Error("node", $"invalid node '{pin}': name a cluster node (e.g. n2) or a role as role:<role> (e.g. role:agents)");
            return null;
        }

        return pin;
    }

    /// <summary>HOST:PORT (an IPv6 host in brackets), as given to <c>df up --seed</c> and in <c>cluster.seeds</c>.</summary>
    public static bool TryParseHostPort(string value, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            return false;
        }

        host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return host.Length > 0 && !host.Any(char.IsWhiteSpace) && !host.Contains('/')
            && int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;
    }
}
