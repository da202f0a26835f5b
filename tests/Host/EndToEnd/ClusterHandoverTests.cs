using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A reload that moves an agent between two up nodes hands it over (three real <c>df up --node</c> processes sharing one
/// PostgreSQL database): the agent, pinned to n2, runs long and ignores SIGTERM (its 6 s grace ends in SIGKILL); the
/// fleet file pins it to n3 on every node and each reloads. The coordinator takes it off n2 first (<c>df nodes</c> shows
/// it moving from n2 to n3), n2 stops it and confirms, and only then does n3 start it: sampled all along through the run
/// markers in /proc across the three data directories, it never runs on two nodes. An agent the reload leaves where it
/// is keeps its run. Then n3 leaves: the agent is placed on no node and <c>df history</c> on n1 reads it from the store,
/// both nodes' runs.
/// </summary>
[Collection("daemon")]
public sealed class ClusterHandoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Fleet(string moverNode) => $"""
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
            command: ["{DaemonProcess.Agent("ignore-term.sh")}"]
            restart: permanent
            autostart: true
            grace: 6s
            node: {moverNode}
          - name: steady
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n1
        """;

    [PostgresFact]
    public async Task A_reload_that_moves_an_agent_to_another_up_node_stops_it_there_first_never_running_it_on_two_nodes()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet("n2"), database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        await nodes[0].StartAsync();
        await Task.WhenAll(nodes[1].StartAsync(), nodes[2].StartAsync());
        await cluster.AllUpAsync(Wait);
        await nodes[0].UntilAsync(() => Task.FromResult(TestCluster.Holders(nodes, "mover").SequenceEqual([1]) && TestCluster.Holders(nodes, "steady").SequenceEqual([0])), Wait, "mover running on n2, steady on n1");
        var steady = nodes[0].AgentProcesses("steady").Min();

        // /proc sampled on its own, every 50 ms, all along the move; df nodes on n1 likewise, as fast as it answers (a df
        // call can take a second on a loaded machine)
        using var stop = new CancellationTokenSource();
        var twice = 0;
        string? seen = null;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (TestCluster.Holders(nodes, "mover").Count > 1)
                {
                    Interlocked.Increment(ref twice);
                }

                await Task.Delay(50);
            }
        });
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && Volatile.Read(ref seen) is null)
            {
                JsonElement view;
                try
                {
                    view = await nodes[0].Json("nodes", "--json");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    continue; // a df call that failed on the loaded machine: ask again
                }

                foreach (var agent in view.GetProperty("unplaced").EnumerateArray())
                {
                    if (agent.GetProperty("agent").GetString() == "mover" && agent.TryGetProperty("moving_from", out var from) && from.GetString() == "n2")
                    {
                        Volatile.Write(ref seen, agent.GetProperty("reason").GetString());
                    }
                }
            }
        });

        try
        {
            foreach (var node in nodes)
            {
                File.WriteAllText(node.FleetPath, Fleet("n3"));
            }

            // every node reloads (each declares its file to the coordinator: the last one received is placed)
            var moving = Stopwatch.StartNew();
            foreach (var (exit, _, stderr) in await Task.WhenAll(nodes.Select(n => n.Df("reload"))))
            {
                Assert.True(exit == 0, stderr);
            }

            // moving: placed on no node, named as leaving n2 for n3, until n2's run (6 s of ignored SIGTERM) ended; then on n3
            await nodes[0].UntilAsync(() =>
            {
                Assert.Equal(0, Volatile.Read(ref twice));
                return Task.FromResult(TestCluster.Holders(nodes, "mover").SequenceEqual([2]));
            }, Wait, "mover running on n3");
            output.WriteLine($"reload moved mover from n2 to n3 in {moving.Elapsed.TotalSeconds:F1} s (its stop on n2 takes its 6 s grace)");
            Assert.True(moving.Elapsed >= TimeSpan.FromSeconds(6), $"mover started on n3 after {moving.Elapsed}, before n2's 6 s grace could end its run there");
            Assert.Equal("moving from node n2 to node n3: waiting for node n2 to stop it", Volatile.Read(ref seen));

            var listed = await TestCluster.ListedAgents(nodes[1]);
            Assert.Equal("n3", listed["mover"].GetProperty("node").GetString());
            Assert.Equal("running", listed["mover"].GetProperty("state").GetString());
            Assert.DoesNotContain((await nodes[2].Json("nodes", "--json")).GetProperty("unplaced").EnumerateArray(), a => a.GetProperty("agent").GetString() == "mover");
        }
        finally
        {
            stop.Cancel();
            await sampler;
            await watcher;
            foreach (var (node, i) in nodes.Select((n, i) => (n, i)))
            {
                output.WriteLine($"n{i + 1}: " + string.Join("\n    ", node.Output.Split('\n').Where(l => l.Contains("Placement epoch", StringComparison.Ordinal) || l.Contains("Agent [mover]", StringComparison.Ordinal))));
            }
        }

        Assert.Equal(0, twice);
        Assert.Equal(steady, nodes[0].AgentProcesses("steady").Min()); // the reload left it where it was: the same run

        // n3 leaves (SIGTERM: it drains mover and writes its history): mover, pinned to n3, is placed on no node, and its
        // df history on n1 is read from the store: the runs on n2 and on n3, each ended
        Assert.Equal(0, await nodes[2].StopAsync(Wait));
        await nodes[0].UntilAsync(async () => (await TestCluster.ListedAgents(nodes[0]))["mover"].GetProperty("node").ValueKind == JsonValueKind.Null, Wait, "mover placed on no node once n3 left");
        var history = (await nodes[0].Json("history", "mover", "--json", "--limit", "500")).EnumerateArray().ToList();
        var started = history.Where(e => e.GetProperty("kind").GetString() == "started").Select(e => e.GetProperty("run_id").GetString()).ToList();
        Assert.True(started.Distinct().Count() >= 2, $"df history mover on n1: {string.Join(", ", history.Select(e => e.GetRawText()))}");
        Assert.All(started, run => Assert.Contains(history, e => e.GetProperty("run_id").GetString() == run && e.GetProperty("kind").GetString() != "started"));
    }
}
