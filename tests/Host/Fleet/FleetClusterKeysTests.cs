using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml <c>cluster:</c>, <c>agents[].node</c> and <c>agents[].failover</c>: parsing and <c>df validate</c>'s errors.</summary>
public sealed class FleetClusterKeysTests
{
    private const string ThreeNodes = """
        cluster:
          name: factory-1
          seeds: ["127.0.0.1:4053", "[::1]:4054"]
          split_brain: keep-majority
          nodes:
            - { name: n1, roles: [control, agents], max_agents: 4 }
            - { name: n2, roles: [agents, gpu] }
            - { name: n3 }

        """;

    [Fact]
    public void Cluster_section_is_read_with_every_key()
    {
        var yaml = Agent("node: n2\nfailover: never") + ThreeNodes;
        var result = Load(yaml);

        AssertValid(result);
        var c = result.Fleet!.Cluster!;
        Assert.Equal("factory-1", c.Name);
        Assert.Equal(["127.0.0.1:4053", "[::1]:4054"], c.Seeds);
        Assert.Equal(SplitBrainStrategy.KeepMajority, c.EffectiveSplitBrain);
        Assert.Equal(["n1", "n2", "n3"], c.Nodes.Select(n => n.Name));
        Assert.Equal(["control", "agents"], c.Nodes[0].Roles);
        Assert.Equal(4, c.Nodes[0].MaxAgents);
        Assert.Null(c.Nodes[1].MaxAgents);
        var agent = result.Fleet.Agents[0];
        Assert.Equal("n2", agent.PinnedNode());
        Assert.Null(agent.PinnedRole());
        Assert.Equal(FailoverPolicy.Never, agent.EffectiveFailover());
    }

    [Fact]
    public void The_cluster_timing_keys_are_read_and_default_to_the_daemons_timing()
    {
        var yaml = Agent() + """
            cluster:
              heartbeat_interval: 500ms
              heartbeat_pause: 4s
              stable_after: 7s
              down_removal_margin: 0s
              down_all_when_unstable: 1m
            """;
        var result = Load(yaml);

        AssertValid(result);
        Assert.Equal(new ClusterTimingSpec
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            HeartbeatPause = TimeSpan.FromSeconds(4),
            StableAfter = TimeSpan.FromSeconds(7),
            DownRemovalMargin = TimeSpan.Zero,
            DownAllWhenUnstable = TimeSpan.FromMinutes(1),
        }, result.Fleet!.Cluster!.Timing);
        Assert.Equal(ClusterTimingSpec.Default, Load(Agent() + ThreeNodes).Fleet!.Cluster!.Timing);
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15)),
            (ClusterTimingSpec.Default.HeartbeatInterval, ClusterTimingSpec.Default.HeartbeatPause, ClusterTimingSpec.Default.StableAfter, ClusterTimingSpec.Default.DownRemovalMargin, ClusterTimingSpec.Default.DownAllWhenUnstable));
    }

    [Fact]
    public void A_node_not_listed_or_listing_no_roles_has_every_role()
    {
        var c = Load(Agent() + ThreeNodes).Fleet!.Cluster!;

        Assert.Equal(["control", "agents", "gpu"], c.AllRoles);
        Assert.Equal(["control", "agents", "gpu"], c.RolesOf("n3"));
        Assert.Equal(["control", "agents", "gpu"], c.RolesOf("n9"));
        Assert.Equal(["agents", "gpu"], c.RolesOf("n2"));
    }

    [Fact]
    public void Defaults_without_a_cluster_section_and_without_pins()
    {
        var result = Load(Agent());

        AssertValid(result);
        Assert.Null(result.Fleet!.Cluster);
        Assert.Null(result.Fleet.Agents[0].Node);
        Assert.Equal(FailoverPolicy.Move, result.Fleet.Agents[0].EffectiveFailover());
    }

    [Fact]
    public void Split_brain_defaults_to_keep_oldest_for_two_nodes_and_keep_majority_otherwise()
    {
        var two = Load(Agent() + "cluster:\n  nodes: [{ name: n1 }, { name: n2 }]\n");
        var three = Load(Agent() + "cluster:\n  nodes: [{ name: n1 }, { name: n2 }, { name: n3 }]\n");
        var none = Load(Agent() + "cluster: { name: df }\n");

        AssertValid(two);
        Assert.Equal(SplitBrainStrategy.KeepOldest, two.Fleet!.Cluster!.EffectiveSplitBrain);
        Assert.Equal(SplitBrainStrategy.KeepMajority, three.Fleet!.Cluster!.EffectiveSplitBrain);
        Assert.Equal(SplitBrainStrategy.KeepMajority, none.Fleet!.Cluster!.EffectiveSplitBrain);
        Assert.Equal("dark-factory", three.Fleet.Cluster.Name);
    }

    [Fact]
    public void A_role_pin_is_read_and_moves_by_default_while_a_node_pin_stays()
    {
        var yaml = ThreeNodes + """
            agents:
              - { name: a, layer: core, command: [bash], node: "role:gpu" }
              - { name: b, layer: core, command: [bash], node: n1 }
            """;
        var result = Load(yaml);

        AssertValid(result);
        var (a, b) = (result.Fleet!.Agents[0], result.Fleet.Agents[1]);
        Assert.Equal("gpu", a.PinnedRole());
        Assert.Null(a.PinnedNode());
        Assert.Equal(FailoverPolicy.Move, a.EffectiveFailover());
        Assert.Equal(FailoverPolicy.Stay, b.EffectiveFailover());
    }

    [Fact]
    public void A_single_node_fleet_ignores_node_pins()
    {
        var result = Load(Agent("node: somewhere-else"));

        AssertValid(result);
        Assert.Empty(result.Diagnostics);
    }

    [Theory]
    [InlineData("node: n9", "agents[0].node", "n9", "unknown node 'n9' (did you mean 'n1'?) (cluster.nodes: n1, n2, n3)")]
    [InlineData("node: role:storage", "agents[0].node", "role:storage", "no node has role 'storage' (roles: agents, control, gpu)")]
    [InlineData("node: role:gpx", "agents[0].node", "role:gpx", "no node has role 'gpx' (did you mean 'gpu'?) (roles: agents, control, gpu)")]
    [InlineData("node: N2", "agents[0].node", "N2", "invalid node 'N2': name a cluster node (e.g. n2) or a role as role:<role> (e.g. role:agents)")]
    [InlineData("node: 'role:'", "agents[0].node", "'role:'", "invalid node 'role:': name a cluster node (e.g. n2) or a role as role:<role> (e.g. role:agents)")]
    [InlineData("failover: wander", "agents[0].failover", "wander", "invalid failover 'wander' (expected one of: move, stay, never)")]
    public void Bad_pins_are_errors_with_exact_messages(string agentLine, string field, string marker, string message)
    {
        var yaml = Agent(agentLine) + ThreeNodes;
        var e = AssertError(Load(yaml), yaml, field, marker);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_compound_review_whose_repo_a_node_that_can_hold_it_does_not_list_is_an_error()
    {
        // the review runs on role control (n1, n3): n1 lists its repos without the review's, n2 is not of the role
        const string cluster = """
            cluster:
              nodes:
                - { name: n1, roles: [control, agents], repos: [/srv/other] }
                - { name: n2, roles: [agents], repos: [] }
                - { name: n3, roles: [control], repos: [/srv/app/] }

            """;
        var yaml = Agent() + "compound_review: { repo: /srv/app }\n" + cluster;
        var e = AssertError(Load(yaml), yaml, "cluster.nodes[0].repos", "[/srv/other]");
        Assert.Equal("node n1 can hold the compound review (role control) but its repos do not list compound_review.repo /srv/app; add it to the node's repos, or take role control from the node", e.Message);

        var fleet = Load(Agent() + "compound_review: { repo: /srv/app }\n" + cluster.Replace("[/srv/other]", "[/srv/other, /srv/app]")).Fleet!;
        Assert.Equal(["/srv/other", "/srv/app"], fleet.Cluster!.Nodes[0].Repos);
        Assert.Null(Load(Agent() + ThreeNodes).Fleet!.Cluster!.Nodes[0].Repos); // not declared: every repository
        AssertValid(Load(Agent() + "compound_review: { repo: /srv/app, enabled: false }\n" + cluster)); // no review, nothing to hold
    }

    [Fact]
    public void A_projects_repository_that_a_node_that_can_hold_the_projects_does_not_list_is_an_error()
    {
        // the projects run on role control (n1, n3): n3 lists /srv/app only, n2 is not of the role
        const string cluster = """
            cluster:
              nodes:
                - { name: n1, roles: [control, agents] }
                - { name: n2, roles: [agents], repos: [] }
                - { name: n3, roles: [control], repos: [/srv/app] }
            projects:
              repositories:
                - path: /srv/app
                - path: /srv/lib

            """;
        var yaml = Agent() + cluster;
        var e = AssertError(Load(yaml), yaml, "cluster.nodes[2].repos", "[/srv/app]");
        Assert.Equal("node n3 can hold the projects (role control) but its repos do not list projects.repositories' /srv/lib; add it to the node's repos, or take role control from the node", e.Message);
        AssertValid(Load(Agent() + cluster.Replace("repos: [/srv/app]", "repos: [/srv/app, /srv/lib]")));
    }

    [Fact]
    public void A_pin_to_a_node_when_the_cluster_lists_none_is_an_error()
    {
        var yaml = Agent("node: n2") + "cluster: { name: df }\n";
        var e = AssertError(Load(yaml), yaml, "agents[0].node", "n2");
        Assert.Equal("unknown node 'n2' (cluster.nodes lists none)", e.Message);
    }

    [Theory]
    [InlineData("  nodes: [{ name: n1, max_agents: 0 }]\n", "cluster.nodes[0].max_agents", "0 }", "max_agents must be at least 1")]
    [InlineData("  nodes: [{ name: n1, max_agents: -2 }]\n", "cluster.nodes[0].max_agents", "-2", "max_agents must be at least 1")]
    [InlineData("  nodes: [{ name: n1, max_agents: many }]\n", "cluster.nodes[0].max_agents", "many", "expected an integer, got 'many'")]
    [InlineData("  nodes: [{ roles: [agents] }]\n", "cluster.nodes[0].name", "{ roles", "a cluster node needs a 'name' (the one given to df up --node)")]
    [InlineData("  nodes: [{ name: N1 }]\n", "cluster.nodes[0].name", "N1", "invalid node name 'N1': use 1-63 lowercase letters, digits and '-', starting with a letter or digit")]
    [InlineData("  nodes: [{ name: n1, roles: [Control] }]\n", "cluster.nodes[0].roles[0]", "Control", "invalid role 'Control': use lowercase letters, digits and '-', starting with a letter or digit")]
    [InlineData("  nodes: [{ name: n1, cores: 4 }]\n", "cluster.nodes[0].cores", "cores", "unknown key 'cores' (did you mean 'roles'?)")]
    [InlineData("  split_brain: keep-oldset\n", "cluster.split_brain", "keep-oldset", "invalid split_brain 'keep-oldset' (did you mean 'keep-oldest'?) (expected one of: keep-majority, keep-oldest)")]
    [InlineData("  seeds: [\"127.0.0.1\"]\n", "cluster.seeds[0]", "\"127.0.0.1\"", "invalid seed '127.0.0.1': expected HOST:PORT with a port from 1 to 65535")]
    [InlineData("  seeds: [\"127.0.0.1:70000\"]\n", "cluster.seeds[0]", "\"127.0.0.1:70000\"", "invalid seed '127.0.0.1:70000': expected HOST:PORT with a port from 1 to 65535")]
    [InlineData("  name: \"dark factory\"\n", "cluster.name", "\"dark factory\"", "invalid cluster name 'dark factory': use letters, digits, '-' and '_', starting with a letter or digit")]
    [InlineData("  seed: [\"127.0.0.1:4053\"]\n", "cluster.seed", "seed:", "unknown key 'seed' (did you mean 'seeds'?)")]
    [InlineData("  stable_after: 1s\n", "cluster.stable_after", "1s", "stable_after 1s is shorter than heartbeat_pause 2s: a member whose heartbeat is merely late (a GC pause, a loaded machine) would be downed before the failure detector forgives it; make stable_after at least heartbeat_pause")]
    [InlineData("  heartbeat_pause: 5s\n", "cluster.heartbeat_pause", "5s", "stable_after 3s is shorter than heartbeat_pause 5s: a member whose heartbeat is merely late (a GC pause, a loaded machine) would be downed before the failure detector forgives it; make stable_after at least heartbeat_pause")]
    [InlineData("  heartbeat_interval: 3s\n", "cluster.heartbeat_interval", "3s", "heartbeat_pause 2s is shorter than heartbeat_interval 3s: every heartbeat would arrive late and members would flap unreachable; make the pause at least one interval (the default is two)")]
    [InlineData("  heartbeat_interval: 50ms\n", "cluster.heartbeat_interval", "50ms", "heartbeat_interval 50ms is out of range (100ms to 10s)")]
    [InlineData("  stable_after: 2h\n", "cluster.stable_after", "2h", "stable_after 2h is out of range (1s to 10m)")]
    [InlineData("  down_removal_margin: -1s\n", "cluster.down_removal_margin", "-1s", "down_removal_margin -1s is out of range (0s to 10m)")]
    [InlineData("  stable_after: soon\n", "cluster.stable_after", "soon", "expected a duration such as 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds, got 'soon'")]
    [InlineData("  stable_afer: 5s\n", "cluster.stable_afer", "stable_afer", "unknown key 'stable_afer' (did you mean 'stable_after'?)")]
    public void Bad_cluster_values_are_errors_with_exact_messages(string line, string field, string marker, string message)
    {
        var yaml = Agent() + "cluster:\n" + line;
        var e = AssertError(Load(yaml), yaml, field, marker);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Duplicate_node_names_are_an_error_at_the_second_naming_the_first()
    {
        var yaml = Agent() + """
            cluster:
              nodes:
                - name: n1
                - name: n2
                - name: n1x
                - name: "n1"
            """;
        var e = AssertError(Load(yaml), yaml, "cluster.nodes[3].name", "\"n1\"");
        Assert.Equal("duplicate node name 'n1' (first defined at line 9)", e.Message);
    }

    [Fact]
    public void Two_nodes_with_keep_majority_is_an_error()
    {
        var yaml = Agent() + """
            cluster:
              split_brain: keep-majority
              nodes: [{ name: n1 }, { name: n2 }]
            """;
        var e = AssertError(Load(yaml), yaml, "cluster.split_brain", "keep-majority");
        Assert.Equal("keep-majority with two nodes downs the survivor when the node with the lowest address is lost; "
            + "use split_brain: keep-oldest (down-if-alone) or add a third node", e.Message);
    }

    [Fact]
    public void Two_nodes_with_keep_oldest_is_valid()
    {
        var result = Load(Agent() + "cluster:\n  split_brain: keep-oldest\n  nodes: [{ name: n1 }, { name: n2 }]\n");

        AssertValid(result);
        Assert.Equal(SplitBrainStrategy.KeepOldest, result.Fleet!.Cluster!.EffectiveSplitBrain);
    }

    [Fact]
    public void Failover_move_on_an_agent_pinned_to_a_node_by_name_is_a_warning()
    {
        var yaml = Agent("node: n1\nfailover: move") + ThreeNodes;
        var result = Load(yaml);

        AssertValid(result);
        var w = Assert.Single(result.Diagnostics);
        Assert.Equal("agents[0].failover", w.Field);
        Assert.Equal(Pos(yaml, "move"), (w.Line, w.Column));
        Assert.Equal("failover: move cannot move an agent pinned to node 'n1'; pin it to a role (node: role:<role>) to let it move", w.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:4053", "127.0.0.1", 4053)]
    [InlineData("node-a.local:1", "node-a.local", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    public void Host_port_is_parsed(string value, string host, int port)
    {
        Assert.True(DarkFactory.Host.Fleet.FleetReader.TryParseHostPort(value, out var h, out var p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData(":4053")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:+80")]
    [InlineData("a b:80")]
    [InlineData("akka.tcp://df@host:80")]
    public void Bad_host_port_is_refused(string value) =>
        Assert.False(DarkFactory.Host.Fleet.FleetReader.TryParseHostPort(value, out _, out _));
}
