using Akka.Configuration;
using DarkFactory.Host.Cluster;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Cluster;

/// <summary><c>df up --node</c>: what a node refuses to start with, and the HOCON it forms the cluster with.</summary>
public sealed class ClusterNodeOptionsTests
{
    private static readonly PersistenceSetup Postgres = new("PostgreSQL.15", "Host=127.0.0.1;Database=df");

    private static FleetSpec Fleet(params ClusterNodeSpec[] nodes) => new() { Cluster = new ClusterSpec { Nodes = nodes } };

    [Fact]
    public void Cluster_mode_on_sqlite_is_refused_naming_the_flag()
    {
        var sqlite = new PersistenceSetup("SQLite.MS", "Data Source=/tmp/x.db");
        var refusal = new ClusterNodeOptions("n1", 4053, []).Refusal(sqlite);

        Assert.Equal("cluster mode (--node) needs PostgreSQL, one store for every node: pass --postgres CONNECTION-STRING (or set DF_POSTGRES); a node's SQLite file cannot be shared", refusal);
        Assert.NotNull(new ClusterNodeOptions("n1", 4053, []).Refusal(PersistenceSetup.InMemory));
        Assert.Null(new ClusterNodeOptions("n1", 4053, ["127.0.0.1:4053"]).Refusal(Postgres));
    }

    [Theory]
    [InlineData("N1", 4053, "127.0.0.1:4053", "--node 'N1' is not a node name (1-63 lowercase letters, digits and '-', starting with a letter or digit)")]
    [InlineData("n1", 0, "127.0.0.1:4053", "--cluster-port 0 is not a port (1-65535)")]
    [InlineData("n1", 70000, "127.0.0.1:4053", "--cluster-port 70000 is not a port (1-65535)")]
    [InlineData("n1", 4053, "127.0.0.1", "--seed '127.0.0.1' is not HOST:PORT (for example 127.0.0.1:4053)")]
    public void Bad_options_are_refused_with_the_flag_named(string node, int port, string seed, string message) =>
        Assert.Equal(message, new ClusterNodeOptions(node, port, [seed]).Refusal(Postgres));

    [Fact]
    public void Hocon_forms_a_cluster_on_loopback_with_seeds_roles_and_keep_majority()
    {
        var fleet = new FleetSpec
        {
            Cluster = new ClusterSpec
            {
                Name = "factory",
                Seeds = ["10.0.0.9:4060"],
                Nodes = [new ClusterNodeSpec { Name = "n1", Roles = ["control"] }, new ClusterNodeSpec { Name = "n2", Roles = ["agents"] }, new ClusterNodeSpec { Name = "n3" }],
            },
        };
        var config = ConfigurationFactory.ParseString(new ClusterNodeOptions("n2", 4054, ["127.0.0.1:4053"]).Hocon(fleet));

        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4054, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://factory@127.0.0.1:4053", "akka.tcp://factory@10.0.0.9:4060"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(["agents", "node:n2"], config.GetStringList("akka.cluster.roles"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Contains("SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"), StringComparison.Ordinal);
        Assert.True(config.GetBoolean("akka.cluster.run-coordinated-shutdown-when-down"));
    }

    [Fact]
    public void Hocon_acts_on_a_lost_member_in_seconds_and_the_singletons_move_a_second_after_its_removal()
    {
        var config = ConfigurationFactory.ParseString(new ClusterNodeOptions("n1", 4053, []).Hocon(new FleetSpec()));

        // docs/cluster.md, "Failover time": detection ~3.5 s + stable-after 3 s + removal ~1 s + margin 1 s (Akka: 3 s, 20 s, 20 s)
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(15), config.GetTimeSpan("akka.cluster.split-brain-resolver.down-all-when-unstable"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.GetTimeSpan("akka.cluster.leader-actions-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.GetTimeSpan("akka.cluster.unreachable-nodes-reaper-interval"));
    }

    [Fact]
    public void The_fleets_cluster_timing_keys_become_akkas_settings_and_the_fleet_without_them_keeps_the_defaults()
    {
        var timing = new ClusterTimingSpec
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            HeartbeatPause = TimeSpan.FromSeconds(4),
            StableAfter = TimeSpan.FromSeconds(7),
            DownRemovalMargin = TimeSpan.FromMilliseconds(1500),
            DownAllWhenUnstable = TimeSpan.FromSeconds(40),
        };
        var config = ConfigurationFactory.ParseString(new ClusterNodeOptions("n1", 4053, []).Hocon(new FleetSpec { Cluster = new ClusterSpec { Timing = timing } }));

        Assert.Equal(TimeSpan.FromMilliseconds(500), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(TimeSpan.FromSeconds(4), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), config.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(40), config.GetTimeSpan("akka.cluster.split-brain-resolver.down-all-when-unstable"));
        Assert.Equal(ClusterNodeOptions.Timing, ClusterNodeOptions.TimingHocon(new ClusterSpec().Timing)); // no keys: the defaults above
    }

    [Fact]
    public void A_reload_that_changes_the_timing_warns_per_key_that_it_takes_a_restart_naming_file_line_and_field()
    {
        const string text = "version: 1\ncluster:\n  stable_after: 5s\n  heartbeat_pause: 2s\n";
        var loaded = ClusterTimingSpec.Default with { StableAfter = TimeSpan.FromSeconds(5) };

        var notes = ClusterTimingNote.Of(ClusterTimingSpec.Default, loaded, "/srv/fleet.yaml", text);

        var note = Assert.Single(notes);
        Assert.Equal((DiagnosticSeverity.Warning, "/srv/fleet.yaml", 3, 3, "cluster.stable_after"), (note.Severity, note.File, note.Line, note.Column, note.Field));
        Assert.Equal("changed from 3s to 5s: the cluster's timing is read when a node starts, so this node keeps 3s until it is restarted (restart the nodes one at a time, df up with the new file)", note.Message);
        Assert.Empty(ClusterTimingNote.Of(loaded, loaded, "/srv/fleet.yaml", text));
    }

    [Fact]
    public void Two_listed_nodes_run_keep_oldest_with_down_if_alone()
    {
        var config = ConfigurationFactory.ParseString(new ClusterNodeOptions("n1", 4053, []).Hocon(Fleet(new ClusterNodeSpec { Name = "n1" }, new ClusterNodeSpec { Name = "n2" })));

        Assert.Equal("keep-oldest", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.True(config.GetBoolean("akka.cluster.split-brain-resolver.keep-oldest.down-if-alone"));
    }

    [Fact]
    public void A_node_without_seeds_seeds_itself_and_an_unlisted_node_has_every_role()
    {
        var options = new ClusterNodeOptions("n9", 4070, []);
        var fleet = Fleet(new ClusterNodeSpec { Name = "n1", Roles = ["gpu"] });

        Assert.Equal(["akka.tcp://dark-factory@127.0.0.1:4070"], options.SeedAddresses(fleet));
        Assert.Equal(["akka.ssl.tcp://dark-factory@127.0.0.1:4070"], (options with { Protocol = "akka.ssl.tcp" }).SeedAddresses(fleet)); // with the cluster's TLS
        Assert.Equal(["control", "agents", "gpu", "node:n9"], options.Roles(fleet));
        Assert.Equal(["control", "agents", "node:n9"], options.Roles(new FleetSpec()));
    }

    [Fact]
    public void An_ipv6_host_is_written_in_brackets()
    {
        var options = new ClusterNodeOptions("n1", 4053, ["[::1]:4053"], "::1");

        Assert.Equal(["akka.tcp://dark-factory@[::1]:4053"], options.SeedAddresses(new FleetSpec()));
    }
}
