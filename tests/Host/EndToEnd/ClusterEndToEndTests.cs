using System.Net;
using System.Net.Sockets;
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
/// every node's <c>df nodes --json</c> lists all three Up, an agent pinned to n2 runs on n2 only (its run markers),
/// a SIGTERMed node leaves and the others show it gone. And what a node refuses: SQLite, cluster flags without --node.
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
            - {"{"} name: n3, roles: [agents] {"}"}
        agents:
          - name: pinned
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n2
        """;

    [PostgresFact]
    public async Task Three_nodes_form_a_cluster_that_every_node_shows_and_a_SIGTERMed_node_leaves_it()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        var hocon = Path.Combine(Directory.CreateTempSubdirectory("df-cluster-").FullName, "fast.conf");
        File.WriteAllText(hocon, """
            akka.cluster.split-brain-resolver.stable-after = 3s
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 2s
            """);
        var ports = FreePorts(3);
        var seed = $"127.0.0.1:{ports[0]}";
        var nodes = new List<DaemonProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var node = new DaemonProcess(Fleet);
                nodes.Add(node);
                node.Environment["DF_HOCON"] = hocon;
                node.UpArguments.AddRange(["--node", $"n{i + 1}", "--cluster-port", ports[i].ToString(), "--seed", seed, "--postgres", database.ConnectionString!]);
                await node.StartAsync(); // n1 first: a node that starts before its seed listens is gated for 5 s
            }

            foreach (var node in nodes)
            {
                await node.UntilAsync(async () => Members(await node.Json("nodes", "--json")).Count(m => m.Status == "up") == 3, Wait, "three members up in df nodes");
            }

            var view = await nodes[0].Json("nodes", "--json");
            var n2 = Members(view).Single(m => m.Node == "n2");
            Assert.Equal(["agents"], n2.Roles);
            Assert.Equal(["pinned"], n2.Agents);
            Assert.Equal($"akka.tcp://dark-factory@127.0.0.1:{ports[1]}", n2.Address);
            Assert.Equal(["agents", "control"], Members(view).Single(m => m.Node == "n1").Roles);
            Assert.Equal(JsonValueKind.Object, view.GetProperty("singletons").ValueKind);

            // the agent pinned to n2 runs there, and on no other node (run markers of each data directory)
            await nodes[1].UntilAsync(() => Task.FromResult(nodes[1].AgentProcesses().Count > 0), Wait, "the pinned agent running on n2");
            Assert.Empty(nodes[0].AgentProcesses());
            Assert.Empty(nodes[2].AgentProcesses());

            // readiness reflects membership, and GET /api/cluster answers the same view
            using (var http = nodes[2].Client())
            {
                var ready = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/health/ready"));
                var cluster = ready.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cluster");
                Assert.True(cluster.GetProperty("ok").GetBoolean(), cluster.GetProperty("detail").GetString());
                var api = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/cluster"));
                Assert.Equal("n3", api.GetProperty("self").GetString());
                Assert.Equal(3, api.GetProperty("members").GetArrayLength());
            }

            Assert.Equal(0, await nodes[2].StopAsync(Wait));
            foreach (var node in nodes.Take(2))
            {
                await node.UntilAsync(async () => Members(await node.Json("nodes", "--json")).Select(m => m.Node).SequenceEqual(["n1", "n2"]), Wait, "n3 gone from df nodes");
            }

            Assert.NotEmpty(nodes[1].AgentProcesses());
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            Directory.Delete(Path.GetDirectoryName(hocon)!, recursive: true);
        }
    }

    [Fact]
    public async Task Cluster_mode_without_postgres_is_refused_naming_the_flag()
    {
        await using var daemon = new DaemonProcess(Fleet);
        daemon.Environment["DF_POSTGRES"] = "";
        daemon.Environment["ConnectionStrings__DarkFactory"] = "";
        daemon.UpArguments.AddRange(["--node", "n1", "--cluster-port", FreePorts(1)[0].ToString()]);

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

    private sealed record Member(string Node, string Address, string[] Roles, string Status, string[] Agents);

    private static List<Member> Members(JsonElement view) =>
        [.. view.GetProperty("members").EnumerateArray().Select(m => new Member(
            m.GetProperty("node").GetString()!,
            m.GetProperty("address").GetString()!,
            [.. m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!)],
            m.GetProperty("status").GetString()!,
            [.. m.GetProperty("agents").EnumerateArray().Select(a => a.GetString()!)]))];

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
