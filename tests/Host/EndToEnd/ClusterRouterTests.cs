using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The router as a cluster singleton on three real <c>df up --node</c> processes sharing one PostgreSQL database: a
/// provider's credits ($0.02) are spent by one run on n2 and one on n3 ($0.0125 each, tests/agents/fake-claude.sh),
/// which no node's own router would see ($0.0125 each): the one router on n1 has the provider over budget, n1 says so
/// (<c>/api/providers</c>, <c>/api/costs</c>), and n3's next run waits for a route (its node's board said so). SIGKILL
/// n1: the router recovers its journal on n2 (the same ledger, read from n3), and a provider added from n3 reaches the
/// new router, whose board comes back on every node: n3's waiting agent is resumed on it, and n2's next run takes it.
/// </summary>
[Collection("daemon")]
public sealed class ClusterRouterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents] {"}"}
            - {"{"} name: n3, roles: [control, agents] {"}"}
        providers:
          - name: scarce
            cli: claude
            priority: 1
            limits: {"{"} credits: 0.02 {"}"}
        agents:
          - name: a2
            layer: growth
            cli: claude
            command: ["{DaemonProcess.Agent("fake-claude.sh")}"]
            node: n2
            grace: 2s
          - name: a3
            layer: growth
            cli: claude
            command: ["{DaemonProcess.Agent("fake-claude.sh")}"]
            node: n3
            grace: 2s
        """;

    [PostgresFact]
    public async Task Credits_spent_on_two_nodes_are_one_budget_and_the_router_and_its_board_survive_a_SIGKILL_of_its_node()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        foreach (var node in nodes)
        {
            node.Environment["DF_E2E_SPARE_KEY"] = "sk-spare-cluster-7f2";
            await node.StartAsync(); // n1 first: the oldest, where the singletons run
        }

        await cluster.AllUpAsync(Wait);
        Assert.Equal("n1", (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("router").GetString());

        // one run on n2 and one on n3, each reporting $0.0125: the one router counts both
        await RunAsync(nodes[1], "a2");
        await nodes[0].UntilAsync(async () => await Total(nodes[0]) == 0.0125m, Wait, "n2's run's cost on n1");
        Assert.Equal("ok", State(await nodes[0].ApiJson("/api/providers"), "scarce"));
        await RunAsync(nodes[2], "a3");
        await nodes[0].UntilAsync(async () => await Total(nodes[0]) == 0.025m, Wait, "both runs' costs on n1");
        Assert.Equal("over_budget", State(await nodes[0].ApiJson("/api/providers"), "scarce"));

        // n3's board has it too: a3's next run finds no route and waits
        await nodes[2].UntilAsync(async () => await Ended(nodes[2], "a3"), Wait, "a3's first run to end");
        Assert.Equal(0, (await nodes[2].Df("run", "a3", "--task", "more")).Exit);
        await nodes[2].UntilAsync(async () => (await AgentState(nodes[2], "a3")) == "backoff", Wait, "a3 waiting for a route on n3");

        // SIGKILL n1: the router comes up on n2 from its journal, the same ledger answering on n3
        var killed = Stopwatch.StartNew();
        nodes[0].KillHard();
        await nodes[2].UntilAsync(
            async () => (await nodes[2].ApiJsonOrNull("/api/providers")) is { } p && State(p, "scarce") == "over_budget" && await TotalOrNull(nodes[2]) == 0.025m,
            Wait,
            "the router answering on a survivor with the same ledger");
        var answering = killed.Elapsed;
        Assert.Equal("n2", (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("router").GetString());
        output.WriteLine($"SIGKILL n1 (the router's node): the router answered on n3 with the recovered ledger after {answering.TotalSeconds:F1} s");

        // a provider added from n3 reaches the router on n2; its board comes back on n3, whose waiting a3 is resumed on it
        var added = await nodes[2].Df("provider", "add", "spare", "--cli", "claude", "--model", "claude-mock", "--api-key-env", "DF_E2E_SPARE_KEY", "--credits", "100");
        Assert.True(added.Exit == 0, added.Stderr);
        await nodes[2].UntilAsync(async () => await ProviderTotal(nodes[2], "spare") == 0.0125m, Wait, "a3 resumed on spare, its cost on the router");

        // and on n2's board: a2's next run takes spare at once
        await nodes[1].UntilAsync(async () => await Ended(nodes[1], "a2"), Wait, "a2's first run to end");
        await RunAsync(nodes[1], "a2");
        await nodes[1].UntilAsync(async () => await ProviderTotal(nodes[1], "spare") == 0.025m, Wait, "a2's run on spare");
        Assert.Equal(0.025m, await ProviderTotal(nodes[1], "scarce")); // nothing lost, nothing counted twice across the hand-over
    }

    private static async Task RunAsync(DaemonProcess node, string agent)
    {
        // (retried while the placement reaches the agent's node)
        var last = (Exit: -1, Stdout: string.Empty, Stderr: string.Empty);
        await node.UntilAsync(async () => (last = await node.Df("run", agent, "--task", "spend")).Exit == 0, Wait, $"df run {agent}: {last.Stderr}");
    }

    private static async Task<bool> Ended(DaemonProcess node, string agent) => await AgentState(node, agent) is "stopped" or "exited" or "completed";

    private static async Task<string?> AgentState(DaemonProcess node, string agent) =>
        (await node.ApiJsonOrNull($"/api/agents/{agent}")) is { } a ? a.GetProperty("state").GetString() : null;

    private static async Task<decimal> Total(DaemonProcess node) => await TotalOrNull(node) ?? -1;

    private static async Task<decimal?> TotalOrNull(DaemonProcess node) =>
        (await node.ApiJsonOrNull("/api/costs")) is { } c ? c.GetProperty("total_usd").GetDecimal() : null;

    private static async Task<decimal?> ProviderTotal(DaemonProcess node, string provider) =>
        (await node.ApiJsonOrNull("/api/costs?by=provider")) is { } c
            ? c.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("key").GetString() == provider).Select(r => r.GetProperty("cost_usd").GetDecimal()).Sum()
            : null;

    private static string? State(JsonElement providers, string name) =>
        providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == name).GetProperty("state").GetString();
}
