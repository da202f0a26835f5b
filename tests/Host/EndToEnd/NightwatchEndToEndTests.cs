using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>Nightwatch in the real daemon: drift from real agent output, the hint in the next task, an escalation, `df drift` and `df history`.</summary>
[Collection("daemon")]
public sealed class NightwatchEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>The ladder's climb to the stop: three rungs <see cref="Actors.Nightwatch.DriftPolicy.Settle"/> apart, and room for a loaded machine.</summary>
    private static readonly TimeSpan Climb = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Drift_is_seen_corrected_and_escalated_and_df_shows_it()
    {
        var fleet = $"""
            version: 1
            nightwatch:
              pause_for: 2s
            agents:
              - name: drifter
                layer: safety
                command: ["{DaemonProcess.Agent("drifter.sh")}", "2"]
                grace: 2s
              - name: wrecker
                layer: safety
                command: ["{DaemonProcess.Agent("drifter.sh")}", "14", "Rate limit reached. Please try again in 30s."]
                grace: 2s
            """;
        await using var daemon = new DaemonProcess(fleet);
        await daemon.StartAsync();

        // minor drift: a hint is recorded for the next task
        await DaemonProcess.Until(async () => Level(await daemon.Json("drift", "drifter", "--json")) == "minor", Wait, "drifter minor");
        var drifter = await daemon.Json("drift", "drifter", "--json");
        Assert.Equal("hint", drifter.GetProperty("last_correction").GetProperty("action").GetString());
        var hint = drifter.GetProperty("pending_hint").GetString()!;
        Assert.Contains("errors", hint);

        // the hint goes before the task of the next run
        Assert.Equal(0, (await daemon.Df("restart", "drifter")).Exit);
        await DaemonProcess.Until(async () => (await daemon.Df("logs", "drifter")).Stdout.Contains("task: " + hint), Wait, "hint in the next task");

        // critical drift climbs the ladder one rung at a time (hint, restart, a short pause; each run prints the
        // errors again), then it is stopped and escalated; the rate-limit line did not count as drift
        await DaemonProcess.Until(async () => (await daemon.Json("escalations", "--json")).GetArrayLength() == 1, Climb, "an escalation");
        var rungs = (await daemon.Json("history", "wrecker", "--json")).EnumerateArray().Where(e => e.GetProperty("kind").GetString() is "corrected" or "escalated")
            .Select(e => e.GetProperty("detail").GetString()!.Split(':')[0]).ToList();
        string[] ladder = ["hint for the next task", "restart with fresh context and a hint", "paused; asking for another provider or model", "stopped and escalated to a human"];
        Assert.Equal(ladder.Order(StringComparer.Ordinal), rungs.Order(StringComparer.Ordinal)); // every rung once: none skipped
        var escalation = (await daemon.Json("escalations", "--json"))[0].GetProperty("escalation");
        Assert.Equal("wrecker", escalation.GetProperty("agent").GetString());
        Assert.Equal("critical", escalation.GetProperty("level").GetString());
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("wrecker")).GetProperty("state").GetString() == "stopped", Wait, "wrecker stopped");
        var history = await daemon.Json("history", "wrecker", "--json");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("kind").GetString() == "escalated" && e.GetProperty("detail").GetString()!.Contains("critical drift"));

        var (exit, table, _) = await daemon.Df("drift");
        Assert.Equal(0, exit);
        Assert.Contains("wrecker", table);
        Assert.Contains("stop at", table);
        var (escExit, escTable, _) = await daemon.Df("escalations");
        Assert.Equal(0, escExit);
        Assert.Contains(escalation.GetProperty("id").GetString()!, escTable);

        // the API: unknown agent is a 404 with problem details, a bad limit a 400
        using var client = daemon.Client();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.GetAsync("/api/drift/nobody")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await client.GetAsync("/api/escalations?limit=0")).StatusCode);
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    [Fact]
    public async Task Healthy_agents_are_left_alone_a_heartbeat_yes_a_silent_command_and_crashes_the_layer_tolerates()
    {
        // issue 15, finding 8: each of these was corrected before (the heartbeat and `yes` stopped as a critical loop
        // within 3 s, the silent command restarted for a stall, the crasher paused after 3 crashes)
        var fleet = $"""
            version: 1
            nightwatch:
              stall_after: 2s
            layers:
              core:
                quarantine_after: 1000
                max_restarts: 1000
                backoff: {"{"} min: 100ms, max: 200ms, jitter: 0 {"}"}
            agents:
              - name: heartbeat
                layer: safety
                command: ["bash", "-c", "while true; do echo 'heartbeat: all systems nominal'; sleep 0.2; done"]
                grace: 2s
              - name: yes
                layer: safety
                command: ["bash", "-c", "yes 'y y y y y y y y' | head -n 5000; exec sleep 100000"]
                grace: 2s
              - name: silent
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 2s
              - name: crasher
                layer: core
                command: ["{DaemonProcess.Agent("exit.sh")}", "1", "0.2"]
                restart: transient
                autostart: true
            """;
        await using var daemon = new DaemonProcess(fleet);
        await daemon.StartAsync();

        // long enough for each old misjudgement: 8 crashes in a row, 30 heartbeats (6 s: 3 x stall_after of silence)
        await DaemonProcess.Until(async () => (await daemon.Json("history", "crasher", "--json")).EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "crashed") >= 8, Climb, "8 crashes");
        await DaemonProcess.Until(async () => (await daemon.Df("logs", "heartbeat")).Stdout.Split('\n').Count(l => l.Contains("heartbeat: all systems nominal", StringComparison.Ordinal)) >= 30, Climb, "30 heartbeats");

        foreach (var agent in new[] { "heartbeat", "yes", "silent", "crasher" })
        {
            var drift = await daemon.Json("drift", agent, "--json");
            Assert.True(
                !drift.TryGetProperty("last_correction", out var c) || c.ValueKind == JsonValueKind.Null,
                $"{agent} was corrected: {drift}\n{(await daemon.Df("history", agent)).Stdout}");
            Assert.Equal("normal", Level(drift));
        }

        Assert.Equal(0, (await daemon.Json("escalations", "--json")).GetArrayLength());
        foreach (var agent in new[] { "heartbeat", "yes", "silent" })
        {
            Assert.Equal("running", (await daemon.AgentAsync(agent)).GetProperty("state").GetString());
        }

        Assert.NotEqual("quarantined", (await daemon.AgentAsync("crasher")).GetProperty("state").GetString());
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    private static string? Level(JsonElement drift) => drift.GetProperty("level").GetString();
}
