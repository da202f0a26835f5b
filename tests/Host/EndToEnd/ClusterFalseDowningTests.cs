using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The default timing does not down a node that is merely late (issue 17, docs/cluster.md "Failover time"): three real
/// <c>df up --node</c> processes at the fleet's default timing (no DF_HOCON: heartbeat pause 2 s, stable-after 3 s), each
/// daemon in turn SIGSTOPped for less than the heartbeat pause (a GC-like pause) and continued, twice. Nobody is downed:
/// every daemon still runs (its fence did not fire), the three members are up again, the placement's epoch has not moved
/// and the agents' runs are the same processes. (A pause past stable-after is downed and fenced:
/// <see cref="ClusterFailureTierTests"/>.) The pause is the test's stimulus, not a wait.
/// </summary>
[Collection("daemon")]
public sealed class ClusterFalseDowningTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    /// <summary>Less than the default heartbeat pause (2 s) and half the fence's 3 s.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(1500);

    private static string Ticker(string name, string node) => $"""
          - name: {name}
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: {node}
            failover: move

        """;

    [PostgresFact]
    public async Task Pauses_shorter_than_the_heartbeat_pause_down_nobody_at_the_default_timing()
    {
        var fleet = $"""
            version: 1
            cluster:
              split_brain: keep-majority
              nodes:
                - {"{"} name: n1, roles: [control, agents] {"}"}
                - {"{"} name: n2, roles: [agents] {"}"}
                - {"{"} name: n3, roles: [agents] {"}"}
            agents:

            """ + Ticker("a2", "role:agents") + Ticker("a3", "role:agents");
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        foreach (var node in nodes)
        {
            node.Environment.Remove("DF_HOCON"); // the fleet's default timing, as a user gets it
            await node.StartAsync();
        }

        await cluster.AllUpAsync(Wait);
        await nodes[0].UntilAsync(() => Task.FromResult(TestCluster.Holders(nodes, "a2").Count == 1 && TestCluster.Holders(nodes, "a3").Count == 1), Wait, "a2 and a3 running");
        var epoch = await Epoch(nodes[0]);
        var runs = await Runs(nodes[0]);
        var took = Stopwatch.StartNew();

        // each daemon in turn, twice: stopped for 1.5 s, continued, 2 s to catch up
        for (var round = 0; round < 2; round++)
        {
            foreach (var node in nodes)
            {
                node.Signal("STOP");
                await Task.Delay(Pause);
                node.Signal("CONT");
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }

        // all three up again in every node's view (a late heartbeat may have made one unreachable for a moment)
        await cluster.AllUpAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"6 pauses of {Pause.TotalSeconds:F1} s over {took.Elapsed.TotalSeconds:F1} s (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}): nobody downed");
        Assert.All(nodes, n => Assert.False(n.HasExited, $"a daemon exited (downed or fenced):\n{n.Output}"));
        Assert.All(nodes, n => Assert.DoesNotContain("df-fence: daemon", n.Output, StringComparison.Ordinal));
        foreach (var node in nodes)
        {
            Assert.Equal(epoch, await Epoch(node)); // no member removed: nothing placed again
        }

        Assert.Equal(runs, await Runs(nodes[0])); // the same runs on the same nodes: none stopped, moved or restarted
        Assert.Equal([1, 1], new[] { TestCluster.Holders(nodes, "a2").Count, TestCluster.Holders(nodes, "a3").Count });
    }

    /// <summary>Each agent's node and run id, cluster-wide (<c>df agents --json</c>).</summary>
    private static async Task<List<string>> Runs(DaemonProcess node) =>
        [.. (await TestCluster.ListedAgents(node)).Select(a => $"{a.Key} on {a.Value.GetProperty("node").GetString()}: run {a.Value.GetProperty("run_id").GetString()}")];

    private static async Task<long> Epoch(DaemonProcess node) => (await node.ApiJson("/api/cluster")).GetProperty("epoch").GetInt64();
}
