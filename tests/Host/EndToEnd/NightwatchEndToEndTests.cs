using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>Nightwatch in the real daemon: drift from real agent output, the hint in the next task, an escalation, `df drift` and `df history`.</summary>
[Collection("daemon")]
public sealed class NightwatchEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Drift_is_seen_corrected_and_escalated_and_df_shows_it()
    {
        var fleet = $"""
            version: 1
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

        // critical drift: stopped and escalated; the rate-limit line did not count as drift
        await DaemonProcess.Until(async () => (await daemon.Json("escalations", "--json")).GetArrayLength() == 1, Wait, "an escalation");
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

    private static string? Level(JsonElement drift) => drift.GetProperty("level").GetString();
}
