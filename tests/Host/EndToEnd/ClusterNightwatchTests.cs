using System.Text.Json;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Nightwatch split across three real <c>df up --node</c> processes sharing one PostgreSQL database (issue 17): an agent
/// pinned to n3 prints errors; n3's windows judge its lines and send the rung due; the decisions, a singleton on n1,
/// record the correction under the one persistence id <c>nightwatch</c> and carry it out on n3 (the hint goes into the
/// agent's next task there); <c>df drift</c> and <c>df escalations</c> from n2 answer for the cluster, and n3 keeps the
/// correction in the agent's history. A pause recorded while its agent ran on one node holds when the agent moves to
/// another (its node SIGTERMed): the new node's start is stopped by the singleton.
/// </summary>
[Collection("daemon")]
public sealed class ClusterNightwatchTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents] {"}"}
            - {"{"} name: n3, roles: [control, agents] {"}"}
        agents:
          - name: drifter
            layer: safety
            command: ["{DaemonProcess.Agent("drifter.sh")}", "2"]
            node: n3
            grace: 2s
        """;

    [PostgresFact]
    public async Task An_agent_drifting_on_n3_is_corrected_by_the_singleton_on_n1_and_n2_shows_it()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        await cluster.StartAsync(Wait);
        Assert.Equal("n1", (await nodes[1].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("nightwatch").GetString());

        // minor drift on n3: the hint recorded once for the cluster, seen from n2
        var n2 = nodes[1];
        JsonElement drift = default;
        await n2.UntilAsync(
            async () => (drift = await n2.Json("drift", "drifter", "--json")).TryGetProperty("last_correction", out var c) && c.ValueKind == JsonValueKind.Object,
            Wait,
            "drifter's correction in df drift on n2");
        Assert.Equal("hint", drift.GetProperty("last_correction").GetProperty("action").GetString());
        Assert.Equal("minor", drift.GetProperty("level").GetString()); // the level n3 reported
        var hint = drift.GetProperty("pending_hint").GetString()!;
        Assert.Contains("errors", hint);
        Assert.Equal(JsonValueKind.Array, (await n2.Json("escalations", "--json")).ValueKind);

        // recorded under the cluster's one id, nowhere else; n3 wrote it in the agent's history (read from n2)
        Assert.Equal(1, await Rows(database, "nightwatch", "drift-correction"));
        Assert.Equal(0, await Rows(database, "nightwatch@n3", "drift-correction"));
        await n2.UntilAsync(
            async () => (await n2.Json("history", "drifter", "--json")).EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "corrected"),
            Wait,
            "the correction in drifter's history");

        // carried out on n3: the hint goes into the agent's next task there, and is used once
        Assert.Equal(0, (await n2.Df("restart", "drifter")).Exit);
        await n2.UntilAsync(async () => (await n2.Df("logs", "drifter")).Stdout.Contains("task: " + hint), Wait, "the hint in drifter's next task on n3");
        await n2.UntilAsync(async () => await Rows(database, "nightwatch", "drift-hint-used") == 1, Wait, "the hint's use recorded by the singleton");
        output.WriteLine($"drift from n2: {drift}");
    }

    private static string MovingFleet => $"""
        version: 1
        nightwatch:
          pause_for: 150s
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents, drift] {"}"}
            - {"{"} name: n3, roles: [control, agents, drift] {"}"}
        agents:
          - name: wrecker
            layer: safety
            command: ["{DaemonProcess.Agent("drifter.sh")}", "8"]
            node: role:drift
            failover: move
            grace: 2s
        """;

    [PostgresFact]
    public async Task A_pause_recorded_on_one_node_holds_when_its_agent_moves_to_another()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(MovingFleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        await cluster.StartAsync(Wait);
        var n1 = nodes[0];

        // severe drift climbs hint, restart (each run prints its 8 errors again), pause: ~60 s of settle times
        JsonElement drift = default;
        await n1.UntilAsync(
            async () => (drift = await n1.Json("drift", "wrecker", "--json")).GetProperty("paused").GetBoolean(),
            TimeSpan.FromSeconds(240),
            "wrecker paused");
        var pausedAt = DateTimeOffset.UtcNow;
        var from = (await TestCluster.ListedAgents(n1))["wrecker"].GetProperty("node").GetString()!;
        var (holder, other) = from == "n2" ? (nodes[1], nodes[2]) : (nodes[2], nodes[1]);
        var to = from == "n2" ? "n3" : "n2";
        await n1.UntilAsync(async () => (await TestCluster.ListedAgents(n1))["wrecker"].GetProperty("state").GetString() == "stopped", Wait, "wrecker stopped by its pause");

        // its node leaves: the agent is placed on the other drift node, which starts it; the singleton stops it again
        Assert.Equal(0, await holder.StopAsync(Wait));
        var left = DateTimeOffset.UtcNow;
        await n1.UntilAsync(async () => (await TestCluster.ListedAgents(n1))["wrecker"].GetProperty("node").GetString() == to, Wait, $"wrecker placed on {to}");
        await n1.UntilAsync(
            async () => (await other.Json("history", "wrecker", "--json")).EnumerateArray().Any(e =>
                e.GetProperty("kind").GetString() == "stopped" && e.GetProperty("at").GetDateTimeOffset() > left && e.TryGetProperty("by", out var by) && by.GetString() == "nightwatch"),
            Wait,
            $"wrecker's start on {to} stopped by the pause");
        Assert.Contains((await other.Json("history", "wrecker", "--json")).EnumerateArray(), e => e.GetProperty("kind").GetString() == "started" && e.GetProperty("at").GetDateTimeOffset() > left);
        var agent = (await TestCluster.ListedAgents(n1))["wrecker"];
        Assert.Equal("stopped", agent.GetProperty("state").GetString());
        Assert.True((await n1.Json("drift", "wrecker", "--json")).GetProperty("paused").GetBoolean());
        output.WriteLine($"paused on {from} at {pausedAt:HH:mm:ss}; moved to {to} and held there: {string.Join(", ", (await other.Json("history", "wrecker", "--json")).EnumerateArray().Select(e => e.GetProperty("kind").GetString() + " " + (e.TryGetProperty("detail", out var d) ? d.ToString() : "")))}");
    }

    /// <summary>How many events of <paramref name="manifest"/> the journal holds under <paramref name="persistenceId"/>.</summary>
    private static async Task<long> Rows(TestDatabase database, string persistenceId, string manifest)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id = @p AND manifest = @m", connection);
        command.Parameters.AddWithValue("p", persistenceId);
        command.Parameters.AddWithValue("m", manifest);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
