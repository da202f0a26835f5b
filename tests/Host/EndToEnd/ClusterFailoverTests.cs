using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The failure tier's SIGKILL case on three real <c>df up --node</c> processes sharing one PostgreSQL database: n1 runs
/// the placement coordinator and three agents (failover move, stay, never); SIGKILL it (no shutdown) and its lifeline
/// takes its agents with it, the split-brain resolver downs it (test-tuned failure detection and stable-after), the
/// coordinator comes up on a survivor from its journal, the <c>move</c> agent runs on a survivor and the others are
/// shown placed nowhere with their reason; sampled all along, no agent ever runs on two nodes (run markers in /proc
/// across the three data directories). The times are written to the test output.
/// </summary>
[Collection("daemon")]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents] {"}"}
            - {"{"} name: n3, roles: [agents] {"}"}
        agents:
          - name: mover
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            failover: move
          - name: stayer
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            failover: stay
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            failover: never
        """;

    private static readonly string[] Agents = ["mover", "stayer", "keeper"];

    [PostgresFact]
    public async Task A_node_killed_with_SIGKILL_is_downed_and_its_move_agent_runs_on_a_survivor_never_on_two_nodes()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;

        // n1 alone first: every agent is placed there; the others join after, and a join moves nothing
        await nodes[0].StartAsync();
        await nodes[0].UntilAsync(() => Task.FromResult(Agents.All(a => nodes[0].AgentProcesses(a).Count > 0)), Wait, "the three agents running on n1");
        var forming = Stopwatch.StartNew();
        await Task.WhenAll(nodes[1].StartAsync(), nodes[2].StartAsync());
        await cluster.AllUpAsync(Wait);

        output.WriteLine($"n2 and n3 started and joined: all three up in every df nodes after {forming.Elapsed.TotalSeconds:F1} s");
        var before = await nodes[1].Json("nodes", "--json");
        Assert.Equal("n1", before.GetProperty("singletons").GetProperty("placement").GetString());
        Assert.All(Agents, a => Assert.Equal([0], TestCluster.Holders(nodes, a)));

        // SIGKILL n1: no coordinated shutdown; its lifeline guard kills its runs
        var survivors = nodes.Skip(1).ToList();
        var killed = Stopwatch.StartNew();
        nodes[0].KillHard();
        TimeSpan? orphansGone = null, moved = null;
        await DaemonProcess.Until(() =>
        {
            foreach (var agent in Agents)
            {
                Assert.True(TestCluster.Holders(nodes, agent).Count <= 1, $"{agent} ran on two nodes at once");
            }

            orphansGone ??= nodes[0].AgentProcesses().Count == 0 ? killed.Elapsed : null;
            moved ??= TestCluster.Holders(survivors, "mover").Count == 1 ? killed.Elapsed : null;
            return Task.FromResult(orphansGone is not null && moved is not null);
        }, Wait, "n1's runs gone and the move agent running on a survivor");
        output.WriteLine($"SIGKILL n1: its runs gone after {orphansGone!.Value.TotalSeconds:F2} s; the move agent running on a survivor after {moved!.Value.TotalSeconds:F1} s");
        Assert.True(orphansGone < TimeSpan.FromSeconds(10), $"n1's runs outlived it by {orphansGone}");

        // the coordinator runs on a survivor (from its journal); stay and never are placed nowhere with their reason
        Dictionary<string, JsonElement> listed = [];
        await survivors[0].UntilAsync(async () =>
        {
            foreach (var agent in Agents)
            {
                Assert.True(TestCluster.Holders(nodes, agent).Count <= 1, $"{agent} ran on two nodes at once");
            }

            var view = await survivors[0].Json("nodes", "--json");
            listed = await TestCluster.ListedAgents(survivors[0]);
            return view.GetProperty("singletons").GetProperty("placement").GetString() is "n2" or "n3"
                && TestCluster.Members(view).Select(m => m.Node).SequenceEqual(["n2", "n3"])
                && listed["stayer"].GetProperty("node").ValueKind == JsonValueKind.Null
                && listed["keeper"].GetProperty("node").ValueKind == JsonValueKind.Null;
        }, Wait, "n1 removed, the coordinator on a survivor, stay and never placed nowhere");
        output.WriteLine($"SIGKILL n1: n1 removed and the coordinator answering on a survivor by {killed.Elapsed.TotalSeconds:F1} s");

        var holder = TestCluster.Holders(survivors, "mover").Single();
        Assert.Equal($"n{holder + 2}", listed["mover"].GetProperty("node").GetString());
        Assert.Equal("running", listed["mover"].GetProperty("state").GetString());
        Assert.Equal("placed on no node: node n1 left the cluster; failover: stay waits for it", listed["stayer"].GetProperty("reason").GetString());
        Assert.Equal("placed on no node: node n1 left the cluster; failover: never keeps it stopped", listed["keeper"].GetProperty("reason").GetString());
        Assert.Empty(survivors.SelectMany(n => n.AgentProcesses("stayer").Concat(n.AgentProcesses("keeper"))));
    }
}
