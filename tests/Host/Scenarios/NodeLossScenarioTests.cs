using DarkFactory.Host.Scenarios;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// Node loss as an injected scenario event (issue 16 on the cluster of issue 17): the virtual cluster places with the
/// daemon's own planner, a lost node goes unreachable then removed after the cluster's timing, and its agents follow
/// their failover; the steps are validated; a changed failover fails the library scenario with exit 1.
/// </summary>
public sealed class NodeLossScenarioTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-node-loss-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static AgentSpec Agent(string name, FailoverPolicy? failover = null, string? node = null) =>
        new() { Name = name, Layer = LayerName.Core, Cli = "command", Command = ["x"], Failover = failover, Node = node };

    private static FleetSpec ClusterFleet(params AgentSpec[] agents) => new()
    {
        Cluster = new ClusterSpec
        {
            Nodes =
            [
                new ClusterNodeSpec { Name = "n1", Roles = ["control"] },
                new ClusterNodeSpec { Name = "n2", Roles = ["agents"] },
                new ClusterNodeSpec { Name = "n3", Roles = ["agents"] },
            ],
        },
        Agents = agents,
    };

    [Fact]
    public void The_default_timing_is_a_cluster_nodes_failure_detection_and_stable_after()
    {
        Assert.Equal(new ClusterTiming(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)), ClusterTiming.Default);
    }

    [Fact]
    public void A_fleet_without_cluster_nodes_has_no_virtual_cluster()
    {
        Assert.Null(VirtualCluster.For(new FleetSpec { Agents = [Agent("a")] }));
        Assert.Null(VirtualCluster.For(new FleetSpec { Cluster = new ClusterSpec(), Agents = [Agent("a")] }));
    }

    [Fact]
    public void A_lost_node_keeps_its_agents_until_removed_then_each_follows_its_failover_and_stay_returns_with_the_node()
    {
        // arrange: two pins on n3 make n2 the least loaded for the three role-placed agents
        var cluster = new VirtualCluster(ClusterFleet(
            Agent("k1", node: "n3"), Agent("k2", node: "n3"),
            Agent("mover", FailoverPolicy.Move), Agent("parked", FailoverPolicy.Never), Agent("waiter", FailoverPolicy.Stay)));
        var first = cluster.Replan(T0);
        Assert.Equal(["k1:n3", "k2:n3", "mover:n2", "parked:n2", "waiter:n2"], first.Select(p => $"{p.Agent}:{p.Node}"));
        Assert.Equal(["k1", "k2", "mover", "parked", "waiter"], cluster.Running().Agents.Select(a => a.Name));

        // act + assert: lost, not yet detected: the placement stands, but n2's daemon runs nothing
        var lost = cluster.Set("n2", VirtualNodeStatus.Lost, T0);
        Assert.Equal(["mover", "parked", "waiter"], lost.Agents);
        Assert.Empty(cluster.Replan(T0));
        Assert.Equal(["k1", "k2"], cluster.Running().Agents.Select(a => a.Name));
        Assert.Equal("n2", cluster.NodeOf("mover"));

        // unreachable: still nothing moves (never twice)
        cluster.Set("n2", VirtualNodeStatus.Unreachable, T0);
        Assert.Empty(cluster.Replan(T0));

        // removed: move to n3, never parked, stay waits for n2
        cluster.Set("n2", VirtualNodeStatus.Removed, T0);
        var removed = cluster.Replan(T0).ToDictionary(p => p.Agent);
        Assert.Equal("n3", removed["mover"].Node);
        Assert.True(removed["parked"] is { Node: null, Parked: true });
        Assert.True(removed["waiter"] is { Node: null, WaitingFor: "n2" });
        Assert.Equal(["k1", "k2", "mover"], cluster.Running().Agents.Select(a => a.Name));

        // back: the waiting agent returns to n2; the moved one stays, the parked one stays down
        cluster.Set("n2", VirtualNodeStatus.Up, T0);
        var back = Assert.Single(cluster.Replan(T0));
        Assert.Equal(("waiter", "n2"), (back.Agent, back.Node));
        Assert.Equal(["k1", "k2", "mover", "waiter"], cluster.Running().Agents.Select(a => a.Name));
        Assert.Equal("n3", cluster.NodeOf("mover"));
    }

    private const string Scenario = """
        until: 1h
        fleet:
          version: 1
          cluster:
            nodes:
              - { name: n1 }
              - { name: n2 }
          agents:
            - { name: worker, layer: core, cli: command, command: ["true"], autostart: true }
        """;

    private static ScenarioLoadResult Parse(string yaml) => ScenarioLoader.Parse(yaml, "s.yaml");

    [Fact]
    public void Node_steps_and_the_cluster_timing_are_read()
    {
        // act
        var result = Parse(Scenario + """

            cluster: { detection: 2s, stable_after: 3s }
            steps:
              - { at: 10m, inject: lose_node, node: n2 }
              - { at: 20m, inject: restore_node, node: n2 }
            expect:
              - { event: node-status, where: { node: n2, status: removed } }
            """);

        // assert
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        var s = result.Scenario!;
        Assert.Equal(new ClusterTiming(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)), s.ClusterTiming);
        Assert.Equal([(StepKind.LoseNode, "n2"), (StepKind.RestoreNode, "n2")], s.Steps.Select(x => (x.Kind, x.Node!)));
    }

    [Fact]
    public void A_node_the_fleet_does_not_list_a_missing_node_a_stray_node_key_and_steps_out_of_order_are_refused_with_their_lines()
    {
        // act
        var bad = Parse(Scenario + """

            cluster: { detection: 0s, settle: 1s }
            steps:
              - { at: 1m, inject: lose_node, node: n9 }
              - { at: 2m, inject: lose_node }
              - { at: 3m, inject: crash, agent: worker, node: n1 }
              - { at: 4m, inject: restore_node, node: n1 }
              - { at: 5m, inject: lose_node, node: n2 }
              - { at: 6m, inject: lose_node, node: n2 }
            expect:
              - { event: node-status }
            """);

        // assert
        var errors = bad.Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(7, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("s.yaml:10:27: error: cluster.settle: unknown key (known: detection, stable_after)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:10:23: error: cluster.detection: must be more than 0s", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:12:40: error: steps[0].node: no node 'n9' in the fleet's cluster.nodes (n1, n2)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:13:5: error: steps[1].node: missing: the cluster node to lose (a name in the fleet's cluster.nodes)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:14:51: error: steps[2].node: only lose_node or restore_node has node", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:15:43: error: steps[3].node: node n1 is not lost at +00:04:00: restore_node follows a lose_node", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:17:40: error: steps[5].node: node n2 is already lost at +00:06:00", StringComparison.Ordinal));
    }

    [Fact]
    public void A_node_step_on_a_fleet_without_cluster_nodes_is_refused()
    {
        // act
        var bad = Parse("""
            until: 1h
            fleet:
              version: 1
              agents:
                - { name: worker, layer: core, cli: command, command: ["true"], autostart: true }
            cluster: { stable_after: 5s }
            steps:
              - { at: 1m, inject: lose_node, node: n2 }
            expect:
              - { event: node-status }
            """);

        // assert
        var errors = bad.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("s.yaml:6:10: error: cluster: s.yaml (inline fleet) lists no cluster.nodes: there is no virtual cluster to time", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:8:23: error: steps[0].inject: lose_node needs a cluster: the fleet lists no cluster.nodes", StringComparison.Ordinal));
    }

    private const string Runner = """
        seed: 3
        start: 2026-12-07T09:00:00Z
        until: 10m
        cluster: { detection: 4s, stable_after: 20s }
        fleet:
          version: 1
          cluster:
            nodes:
              - { name: n2, roles: [agents] }
              - { name: n3, roles: [agents], max_agents: 1 }
          agents:
            - { name: pinned, layer: core, cli: command, command: ["x"], restart: permanent, autostart: true, grace: 30s, node: n2 }
            - { name: stubborn, layer: core, cli: command, command: ["x"], restart: permanent, autostart: true, failover: move, grace: 30s }
        agents:
          pinned: { hang: true, ignore_sigterm: true }
          stubborn: { hang: true, ignore_sigterm: true }

        """;

    private static async Task<ScenarioOutcome> Run(string yaml)
    {
        var loaded = ScenarioLoader.Parse(yaml, "s.yaml");
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors));
        return await ScenarioRunner.RunAsync(loaded.Scenario!);
    }

    private static List<string> Lines(ScenarioOutcome o, params string[] types) =>
        [.. o.Timeline.Where(e => types.Contains(e.Type)).Select(e => $"{TimelineEntry.Format(e.Offset)} {e.Describe().Split(" run_id=")[0].Split(" detail=")[0]}")];

    [Fact]
    public async Task A_lost_nodes_run_that_ignores_sigterm_still_ends_at_once_and_a_pin_by_name_waits_for_its_node()
    {
        // act: pinned (node: n2, ignoring SIGTERM for its 30 s grace) runs on n2, stubborn on n3 (the least loaded)
        var outcome = await Run(Runner + """
            steps:
              - { at: 1m, inject: lose_node, node: n2 }
              - { at: 5m, inject: restore_node, node: n2 }
            expect:
              - { event: node-status, where: { node: n2, status: removed }, after: 1m24s, within: 1m24s }
            """);

        // assert
        Assert.True(outcome.Passed, ScenarioReport.Text(outcome));
        var lines = Lines(outcome, "AgentLifecycle", "NodeStatusChanged", "AgentPlaced");
        Assert.Equal(
            [
                "+00:00:00 AgentLifecycle agent=pinned node=n2 kind=started",
                "+00:00:00 AgentLifecycle agent=stubborn node=n3 kind=started",
                "+00:00:00 AgentPlaced agent=pinned node=n2",
                "+00:00:00 AgentPlaced agent=stubborn node=n3",
            ],
            lines.Take(4).Order(StringComparer.Ordinal));
        Assert.Equal(
            [
                "+00:01:00 NodeStatusChanged node=n2 status=lost",
                "+00:01:00 AgentLifecycle agent=pinned node=n2 kind=stopped exit_code=137 signal=9",
                "+00:01:04 NodeStatusChanged node=n2 status=unreachable",
                "+00:01:24 NodeStatusChanged node=n2 status=removed",
                "+00:01:24 AgentPlaced agent=pinned reason=pinned to node n2, which is not up",
                "+00:05:00 NodeStatusChanged node=n2 status=up",
                "+00:05:00 AgentPlaced agent=pinned node=n2",
                "+00:05:00 AgentLifecycle agent=pinned node=n2 kind=started",
            ],
            lines.Skip(4));
    }

    [Fact]
    public async Task A_node_restored_before_its_removal_is_removed_first_and_a_move_agent_leaves_it_then()
    {
        // act: pinned on n3 fills it (max_agents 1), so stubborn (move, ignoring SIGTERM) runs on n2
        var outcome = await Run(Runner.Replace("node: n2 }", "node: n3 }", StringComparison.Ordinal) + """
            steps:
              - { at: 1m, inject: lose_node, node: n2 }
              - { at: 1m10s, inject: restore_node, node: n2 }
            expect:
              - { event: node-status, where: { node: n2, status: removed }, after: 1m10s, within: 1m10s }
              - { event: node-status, where: { node: n2, status: removed }, count: 1 }
            """);

        // assert
        Assert.True(outcome.Passed, ScenarioReport.Text(outcome));
        Assert.Equal(
            [
                "+00:01:00 NodeStatusChanged node=n2 status=lost",
                "+00:01:00 AgentLifecycle agent=stubborn node=n2 kind=stopped exit_code=137 signal=9",
                "+00:01:04 NodeStatusChanged node=n2 status=unreachable",
                "+00:01:10 NodeStatusChanged node=n2 status=removed",
                "+00:01:10 AgentPlaced agent=stubborn reason=every up node with role agents is full (max_agents: n3 1)",
                "+00:01:10 NodeStatusChanged node=n2 status=up",
                "+00:01:10 AgentPlaced agent=stubborn node=n2",
                "+00:01:10 AgentLifecycle agent=stubborn node=n2 kind=started",
            ],
            Lines(outcome, "AgentLifecycle", "NodeStatusChanged", "AgentPlaced").Where(l => !l.StartsWith("+00:00:00", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_daemon_restart_keeps_the_cluster_a_lost_nodes_agents_stay_off_and_a_fleet_without_cluster_has_no_node()
    {
        // act
        var clustered = await Run(Runner + """
            steps:
              - { at: 1m, inject: lose_node, node: n2 }
              - { at: 2m, inject: daemon_restart, down: 1m }
            expect:
              - { event: AgentLifecycle, where: { agent: pinned, kind: started }, count: 1 }
              - { event: AgentLifecycle, where: { agent: stubborn, kind: started, node: n3 }, count: 2 }
            """);
        var single = await Run("""
            until: 5m
            fleet:
              version: 1
              agents:
                - { name: solo, layer: core, cli: command, command: ["x"], restart: permanent, autostart: true }
            agents:
              solo: { hang: true }
            expect:
              - { event: AgentLifecycle, where: { agent: solo, kind: started }, count: 1 }
            """);

        // assert
        Assert.True(clustered.Passed, ScenarioReport.Text(clustered));
        Assert.True(single.Passed, ScenarioReport.Text(single));
        Assert.DoesNotContain(single.Timeline, e => e.Fields.TryGetProperty("node", out _) || e.Type is "AgentPlaced" or "NodeStatusChanged");
    }

    [Fact]
    public async Task The_library_scenario_passes_and_exits_0()
    {
        var (code, stdout, _) = await ScenarioCliTests.Df("scenario", "run", Path.Combine(ScenarioFiles.Root, "scenarios", "node-loss-failover.yaml"));

        Assert.True(code == 0, stdout);
        Assert.Contains("AgentLifecycle agent=mover node=n3 kind=started", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failover_never_for_the_moving_agent_fails_its_expectation_with_exit_1_and_a_counter_example()
    {
        // act
        var scenario = Path.Combine(ScenarioFiles.Root, "scenarios", "node-loss-failover.yaml");
        var never = Path.Combine(ScenarioFiles.Root, "scenarios", "fleets", "cluster", "node-loss-never.yaml");
        var (code, stdout, _) = await ScenarioCliTests.Df("scenario", "run", scenario, "--fleet", never);

        // assert: the one expectation that needs the move fails, naming what happened instead
        Assert.Equal(1, code);
        var failed = Assert.Single(stdout.Split('\n'), l => l.StartsWith("  FAIL", StringComparison.Ordinal));
        Assert.Contains("AgentLifecycle where agent=mover kind=started node=n3 exactly 1x between +00:07:24 and +00:07:24: none", failed, StringComparison.Ordinal);
        Assert.Contains("AgentPlaced agent=mover reason=node n2 left the cluster; failover: never keeps it stopped", stdout, StringComparison.Ordinal);
        Assert.Contains("1 failed (seed 17", stdout, StringComparison.Ordinal);

        // and df scenario diff names the decision that differs first: mover parked instead of placed on n3
        var (diffCode, diff, _) = await ScenarioCliTests.Df("scenario", "diff", scenario, "--fleet", never);
        Assert.Equal(1, diffCode);
        Assert.Contains("before: +00:07:24 AgentPlaced agent=mover node=n3\n  after:  +00:07:24 AgentPlaced agent=mover reason=node n2 left the cluster; failover: never", diff, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_node_exits_2_with_file_line_and_field()
    {
        // arrange
        var file = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(file, Scenario + """

            steps:
              - { at: 1m, inject: lose_node, node: n7 }
            expect:
              - { event: node-status }
            """);

        // act
        var (code, _, stderr) = await ScenarioCliTests.Df("scenario", "run", file);

        // assert
        Assert.Equal(2, code);
        Assert.Contains($"{file}:11:40: error: steps[0].node: no node 'n7' in the fleet's cluster.nodes (n1, n2)", stderr, StringComparison.Ordinal);
    }
}
