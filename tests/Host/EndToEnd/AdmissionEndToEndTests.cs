using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// fleet.yaml <c>limits.max_concurrent_runs</c> through the real daemon and the real <c>df</c>, with scripted
/// agents (tests/agents): with a cap of one, the second agent's run waits queued (shown by <c>df agents</c> and
/// <c>df providers</c>, neither failed nor crashed) and starts once the first run ends; a safety agent is exempt.
/// </summary>
[Collection("daemon")]
public sealed class AdmissionEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet => $"""
        version: 1
        limits:
          max_concurrent_runs: 1
        agents:
          - name: guard
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
          - name: first
            layer: core
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
          - name: second
            layer: growth
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
        """;

    private static async Task<string?> State(DaemonProcess daemon, string agent) => (await daemon.AgentAsync(agent)).GetProperty("state").GetString();

    [Fact]
    public async Task With_max_concurrent_runs_1_the_second_agent_waits_queued_and_runs_after_the_first_ends()
    {
        await using var daemon = new DaemonProcess(Fleet);
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => await State(daemon, "guard") == "running", Wait, "the safety agent running");

        Assert.Equal(0, (await daemon.Df("run", "first")).Exit);
        await DaemonProcess.Until(async () => await State(daemon, "first") == "running", Wait, "first running");
        var queued = await daemon.Df("run", "second");

        // accepted, not refused: it waits for a place
        Assert.Equal(0, queued.Exit);
        Assert.Contains("queued", queued.Stdout + queued.Stderr);
        var second = await daemon.AgentAsync("second");
        Assert.Equal("queued", second.GetProperty("state").GetString());
        Assert.Contains("max_concurrent_runs 1 reached", second.GetProperty("reason").GetString());
        Assert.Equal(0, second.GetProperty("restarts").GetInt32());
        var agents = await daemon.Df("agents");
        Assert.Contains("queued", agents.Stdout);
        var providers = await daemon.Df("providers");
        Assert.Equal(0, providers.Exit);
        Assert.Contains("runs: 1 in flight / max_concurrent_runs 1 (1 of safety agents, exempt), 1 queued", providers.Stdout);
        Assert.Contains("second", providers.Stdout);
        var gate = await daemon.ApiJson("/api/providers/queue");
        Assert.Equal("second", gate.GetProperty("queue")[0].GetProperty("agent").GetString());
        Assert.Equal("max_concurrent_runs", gate.GetProperty("queue")[0].GetProperty("limit").GetString());

        // the first run ends: the second starts, and its history holds a start only (no crash, no restart)
        Assert.Equal(0, (await daemon.Df("stop", "first")).Exit);
        await DaemonProcess.Until(async () => await State(daemon, "second") == "running", Wait, "second running after first ended");
        Assert.Equal("stopped", await State(daemon, "first"));
        var history = (await daemon.Json("history", "second", "--json")).EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["started"], history);
        Assert.Equal(0, (await daemon.AgentAsync("second")).GetProperty("restarts").GetInt32());
        var after = await daemon.ApiJson("/api/providers/queue");
        Assert.Equal((1, 0), (after.GetProperty("in_flight").GetInt32(), after.GetProperty("queued").GetInt32()));

        var metrics = await daemon.Client().GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^df_runs_queued(\{[^}]*\})? 0\b", metrics);
        Assert.Matches(@"(?m)^df_runs_in_flight(\{[^}]*\})? 1\b", metrics);
        Assert.Matches(@"(?m)^df_provider_throttled_total\{[^}]*limit=""max_concurrent_runs""[^}]*\} 1\b", metrics);
    }
}
