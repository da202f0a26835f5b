using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 17's failure tier beyond the SIGKILL case (<see cref="ClusterFailoverTests"/>), on real <c>df up --node</c>
/// processes sharing one PostgreSQL database, failure detection tuned as there (stable-after 3 s):
/// a node SIGSTOPped past the resolver is fenced (its watchdog kills it, its lifeline its runs) before the others move its
/// agent, so the agent never runs on two nodes; two nodes with keep-oldest survive the loss of the younger, and the
/// younger, restarted on the same address and data directory, sweeps what its killed daemon left and rejoins.
/// </summary>
[Collection("daemon")]
public sealed class ClusterFailureTierTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Ticker(string name, string extra) => $"""
          - name: {name}
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            {extra}

        """;

    [PostgresFact]
    public async Task A_node_stopped_past_the_resolver_is_fenced_before_its_agent_moves_and_the_agent_never_runs_twice()
    {
        var fleet = $"""
            version: 1
            cluster:
              split_brain: keep-majority
              nodes:
                - {"{"} name: n1, roles: [control] {"}"}
                - {"{"} name: n2, roles: [agents] {"}"}
                - {"{"} name: n3, roles: [agents] {"}"}
            agents:

            """ + Ticker("mover", "failover: move");
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;

        // n1 (control only) and n2: the agent is placed on n2; n3 joins after, and a join moves nothing
        await nodes[0].StartAsync();
        await nodes[1].StartAsync();
        await nodes[1].UntilAsync(() => Task.FromResult(nodes[1].AgentProcesses("mover").Count > 0), Wait, "mover running on n2");
        await nodes[2].StartAsync();
        await cluster.AllUpAsync(Wait);
        Assert.Equal([1], TestCluster.Holders(nodes, "mover"));

        // SIGSTOP n2: its runs go on while it is stopped, until its fence (stable-after, 3 s) kills it and its lifeline
        // its runs; the others down it (detection + stable-after) and start the agent on n3; sampled all along
        var stopped = Stopwatch.StartNew();
        var stoppedAt = DateTimeOffset.UtcNow;
        nodes[1].Signal("STOP");
        TimeSpan? fenced = null, runsGone = null, moved = null;
        await DaemonProcess.Until(() =>
        {
            Assert.True(TestCluster.Holders(nodes, "mover").Count <= 1, "mover ran on two nodes at once");
            fenced ??= nodes[1].HasExited ? stopped.Elapsed : null;
            runsGone ??= nodes[1].AgentProcesses().Count == 0 ? stopped.Elapsed : null;
            moved ??= nodes[2].AgentProcesses("mover").Count > 0 ? stopped.Elapsed : null;
            return Task.FromResult(fenced is not null && runsGone is not null && moved is not null);
        }, Wait, "n2 fenced, its runs gone and mover running on n3");
        nodes[1].Signal("CONT"); // nothing left to continue: the fence killed it while it was stopped
        output.WriteLine($"SIGSTOP n2: fenced after {fenced!.Value.TotalSeconds:F1} s, its runs gone after {runsGone!.Value.TotalSeconds:F1} s, mover running on n3 after {moved!.Value.TotalSeconds:F1} s");

        Assert.Equal(137, await nodes[1].ExitedAsync(Wait)); // SIGKILL, from its watchdog
        Assert.Contains("df-fence: daemon", nodes[1].Output, StringComparison.Ordinal);
        Assert.True(runsGone < moved, $"n2's runs were gone after {runsGone}, mover ran on n3 after {moved}");

        // the survivors show n2 gone and the agent on n3
        await nodes[0].UntilAsync(async () => TestCluster.Members(await nodes[0].Json("nodes", "--json")).Select(m => m.Node).SequenceEqual(["n1", "n3"]), Wait, "n2 gone from df nodes");
        var listed = await TestCluster.ListedAgents(nodes[0]);
        Assert.Equal("n3", listed["mover"].GetProperty("node").GetString());
        Assert.Equal([2], TestCluster.Holders(nodes, "mover"));

        // placed once: one run started since the stop, on n3 (its history there)
        var history = await nodes[2].ApiJson("/api/agents/mover/history");
        var starts = history.EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "started" && e.GetProperty("at").GetDateTimeOffset() > stoppedAt).ToList();
        Assert.True(starts.Count == 1, $"mover started {starts.Count} times since n2 was stopped: {history}");
    }

    [PostgresFact]
    public async Task Two_nodes_with_keep_oldest_survive_the_loss_of_the_younger_which_restarted_on_its_address_sweeps_its_leftovers_and_rejoins()
    {
        var fleet = $"""
            version: 1
            cluster:
              split_brain: keep-oldest
              nodes:
                - {"{"} name: n1, roles: [control, agents] {"}"}
                - {"{"} name: n2, roles: [agents] {"}"}
            agents:

            """ + Ticker("elder", "node: n1") + Ticker("young", "node: n2");
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(fleet, database.ConnectionString!, stableAfter: "3s", count: 2);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        await n1.StartAsync();
        await n2.StartAsync();
        await cluster.AllUpAsync(Wait);
        await n2.UntilAsync(() => Task.FromResult(n1.AgentProcesses("elder").Count > 0 && n2.AgentProcesses("young").Count > 0), Wait, "elder on n1 and young on n2");
        var elder = n1.AgentProcesses("elder");

        // the younger dies without its shutdown and without its lifeline (as a kill of its whole group would): its run
        // lives on; the older downs it and stays up (keep-oldest, down-if-alone does not down the survivor of two)
        var leftover = n2.AgentProcesses("young");
        var killed = Stopwatch.StartNew();
        n2.KillHardWithoutLifeline();
        await n1.UntilAsync(async () => TestCluster.Members(await n1.Json("nodes", "--json")).Select(m => m.Node).SequenceEqual(["n1"]), Wait, "n2 removed from n1's df nodes");
        output.WriteLine($"SIGKILL n2 (two nodes, keep-oldest): n2 removed by n1 after {killed.Elapsed.TotalSeconds:F1} s");
        Assert.False(n1.HasExited, "n1 downed itself with n2");
        using (var http = n1.Client())
        {
            var ready = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/health/ready"));
            var check = ready.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cluster");
            Assert.True(check.GetProperty("ok").GetBoolean(), check.GetProperty("detail").GetString());
        }

        Assert.NotEmpty(elder.Intersect(n1.AgentProcesses("elder"))); // its agent's run untouched
        Assert.NotEmpty(leftover.Intersect(n2.AgentProcesses("young"))); // the dead node's run still going

        // n2 again on the same address and data directory: its start sweeps the leftover run, it rejoins, and the
        // agent pinned to it runs there once, as a new run
        var restarted = Stopwatch.StartNew();
        await n2.StartAsync();
        await cluster.AllUpAsync(Wait);
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("young").Count > 0), Wait, "young running on n2 again");
        output.WriteLine($"n2 restarted on its address: both up and young running again after {restarted.Elapsed.TotalSeconds:F1} s");
        Assert.Empty(leftover.Intersect(n2.AgentProcesses("young")));
        Assert.Contains("left by a previous daemon", n2.Output, StringComparison.Ordinal);
        Assert.Equal([1], TestCluster.Holders(cluster.Nodes, "young"));
        Assert.NotEmpty(elder.Intersect(n1.AgentProcesses("elder")));
        Assert.False(n1.HasExited);
    }
}
