using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>Runs only when DF_TEST_POSTGRES names a PostgreSQL server (.ci/run starts one): a cluster shares one store.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DF_TEST_POSTGRES")))
        {
            Skip = "DF_TEST_POSTGRES is not set (.ci/run starts PostgreSQL and sets it): cluster mode needs PostgreSQL, the cluster test did not run";
        }
    }
}

/// <summary>
/// Three real <c>df up --node</c> processes on 127.0.0.1 sharing one PostgreSQL database form one Akka.NET cluster:
/// every node's <c>df nodes --json</c> lists all three Up with the placement coordinator's node; an agent pinned to n2
/// runs on n2 only and an unpinned one on exactly one node (run markers across the data directories); SIGTERM the node
/// holding the unpinned <c>failover: move</c> agent and it comes up on another node, never on two at once, while the
/// others show the node gone. And what a node refuses: SQLite, cluster flags without --node.
/// </summary>
[Collection("daemon")]
public sealed class ClusterEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [agents] {"}"}
            - {"{"} name: n3, roles: [control, agents] {"}"}
            - {"{"} name: n4, roles: [agents] {"}"}
        agents:
          - name: pinned
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n2
          - name: roamer
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            failover: move
          - name: parked
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            node: n4
        """;

    [PostgresFact]
    public async Task Three_nodes_form_a_cluster_place_each_agent_on_one_node_and_move_it_when_its_node_leaves()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");

        // a SIGSTOPped node is unreachable within seconds and not downed while it is stopped (the leave is graceful)
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "30s");
        var nodes = cluster.Nodes;
        await cluster.StartAsync(Wait);

        // the agent pinned to n2 runs there and on no other node; the unpinned one on exactly one node (run markers)
        await nodes[1].UntilAsync(() => Task.FromResult(nodes[1].AgentProcesses("pinned").Count > 0), Wait, "the pinned agent running on n2");
        await nodes[0].UntilAsync(() => Task.FromResult(TestCluster.Holders(nodes, "roamer").Count == 1), Wait, "the unpinned agent running on one node");
        Assert.Empty(nodes[0].AgentProcesses("pinned"));
        Assert.Empty(nodes[2].AgentProcesses("pinned"));
        var holder = TestCluster.Holders(nodes, "roamer").Single();

        var view = await nodes[0].Json("nodes", "--json");
        var n2 = TestCluster.Members(view).Single(m => m.Node == "n2");
        Assert.Equal(["agents"], n2.Roles);
        Assert.Contains("pinned", n2.Agents);
        Assert.Equal($"akka.ssl.tcp://dark-factory@127.0.0.1:{cluster.Ports[1]}", n2.Address); // mutual TLS by default: no secret given
        Assert.Equal(3, new DarkFactory.Host.Cluster.ClusterKeys(database.ConnectionString!, "dark-factory").Read().Count); // each node's public key in the store
        Assert.Equal(["agents", "control"], TestCluster.Members(view).Single(m => m.Node == "n1").Roles);
        Assert.Equal(["roamer"], TestCluster.Members(view).Single(m => m.Node == $"n{holder + 1}").Agents.Where(a => a == "roamer"));
        Assert.Single(TestCluster.Members(view), m => m.Agents.Contains("roamer"));
        Assert.Equal("n1", view.GetProperty("singletons").GetProperty("placement").GetString()); // the oldest control node
        Assert.True(view.GetProperty("epoch").GetInt64() >= 1);

        // df agents from any node answers for the whole cluster: every agent with its node (the others asked), an
        // agent placed nowhere with node null and the planner's reason
        var listed = await TestCluster.ListedAgents(nodes[0]);
        Assert.Equal(["pinned", "roamer", "parked"], listed.Keys);
        Assert.Equal("n2", listed["pinned"].GetProperty("node").GetString());
        Assert.Equal("running", listed["pinned"].GetProperty("state").GetString());
        Assert.Equal($"n{holder + 1}", listed["roamer"].GetProperty("node").GetString());
        Assert.Equal("running", listed["roamer"].GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, listed["parked"].GetProperty("node").ValueKind);
        Assert.Equal("stopped", listed["parked"].GetProperty("state").GetString());
        Assert.Equal("placed on no node: pinned to node n4, which is not up", listed["parked"].GetProperty("reason").GetString());
        Assert.Empty(nodes.SelectMany(n => n.AgentProcesses("parked")));
        var table = await nodes[1].Df("agents");
        Assert.Equal(0, table.Exit);
        Assert.Contains("NODE", table.Stdout, StringComparison.Ordinal);

        // a node that does not answer (SIGSTOP: unreachable, not yet downed) shows its agents unknown after the
        // bounded ask, never a hang; once it runs again it answers again
        nodes[1].Signal("STOP");
        try
        {
            var asked = Stopwatch.StartNew();
            var frozen = await TestCluster.ListedAgents(nodes[0]);
            asked.Stop();
            Assert.Equal("unknown", frozen["pinned"].GetProperty("state").GetString());
            Assert.Equal("n2", frozen["pinned"].GetProperty("node").GetString());
            Assert.Equal("node n2 did not answer in time", frozen["pinned"].GetProperty("reason").GetString());
            Assert.True(asked.Elapsed < TimeSpan.FromSeconds(30), $"df agents took {asked.Elapsed} with n2 stopped");
        }
        finally
        {
            nodes[1].Signal("CONT");
        }

        await nodes[0].UntilAsync(async () => (await TestCluster.ListedAgents(nodes[0]))["pinned"].GetProperty("state").GetString() == "running", Wait, "n2 answering again");

        // readiness reflects membership, and GET /api/cluster answers the same view
        using (var http = nodes[2].Client())
        {
            var ready = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/health/ready"));
            var check = ready.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cluster");
            Assert.True(check.GetProperty("ok").GetBoolean(), check.GetProperty("detail").GetString());
            var api = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/cluster"));
            Assert.Equal("n3", api.GetProperty("self").GetString());
            Assert.Equal(3, api.GetProperty("members").GetArrayLength());
        }

        // SIGTERM the node holding the unpinned failover: move agent: it leaves, and the agent comes up on another
        // node once that node is removed (sampled all along: never on two nodes at once)
        var survivors = nodes.Where((_, i) => i != holder).ToList();
        var stopping = nodes[holder].StopAsync(Wait);
        await nodes[holder == 0 ? 1 : 0].UntilAsync(() =>
        {
            Assert.True(TestCluster.Holders(nodes, "roamer").Count <= 1, "roamer ran on two nodes at once");
            return Task.FromResult(TestCluster.Holders(survivors, "roamer").Count == 1);
        }, Wait, "the moved agent running on a surviving node");
        Assert.Equal(0, await stopping);
        var names = survivors.Select(n => $"n{nodes.IndexOf(n) + 1}").ToList();
        foreach (var node in survivors)
        {
            await node.UntilAsync(async () => TestCluster.Members(await node.Json("nodes", "--json")).Select(m => m.Node).SequenceEqual(names), Wait, $"n{holder + 1} gone from df nodes");
        }

        var after = await survivors[0].Json("nodes", "--json");
        Assert.Single(TestCluster.Members(after), m => m.Agents.Contains("roamer"));
        Assert.Contains(after.GetProperty("singletons").GetProperty("placement").GetString(), names);

        // the pin holds: the agent pinned to n2 runs there while n2 is up, nowhere else
        Assert.Equal(holder == 1 ? 0 : 1, TestCluster.Holders(survivors, "pinned").Count);
    }

    [Fact]
    public async Task Cluster_mode_without_postgres_is_refused_naming_the_flag()
    {
        await using var daemon = new DaemonProcess(Fleet);
        daemon.Environment["DF_POSTGRES"] = "";
        daemon.Environment["ConnectionStrings__DarkFactory"] = "";
        daemon.UpArguments.AddRange(["--node", "n1", "--cluster-port", TestCluster.FreePorts(1)[0].ToString()]);

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(daemon.StartAsync);

        Assert.Contains("daemon exited with 2", failed.Message, StringComparison.Ordinal);
        Assert.Contains("cluster mode (--node) needs PostgreSQL", failed.Message, StringComparison.Ordinal);
        Assert.Contains("--postgres", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_flags_without_node_are_refused_and_a_single_node_has_no_cluster()
    {
        await using var daemon = new DaemonProcess("version: 1\nagents: []\n");
        var (exit, _, stderr) = await daemon.Df("up", "--fleet", daemon.FleetPath, "--seed", "127.0.0.1:4053");
        Assert.NotEqual(0, exit);
        Assert.Contains("--cluster-port, --cluster-host and --seed need --node NAME", stderr, StringComparison.Ordinal);

        await daemon.StartAsync();
        var (nodesExit, _, nodesErr) = await daemon.Df("nodes", "--json");
        Assert.NotEqual(0, nodesExit);
        Assert.Contains("this daemon is a single node, not a cluster member", nodesErr, StringComparison.Ordinal);
        using var http = daemon.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/cluster")).StatusCode);
    }
}
