using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// <c>df scenario record</c> against a real daemon: a crash loop that was quarantined becomes a scenario file that
/// replays to the same outcome under the daemon's fleet (exit 0), and <c>df scenario diff</c> of it under a laxer
/// fleet names the expectation the change breaks (exit 1).
/// </summary>
[Collection("daemon")]
public sealed class ScenarioRecordEndToEndTests
{
    [Fact]
    public async Task A_recorded_crash_loop_replays_to_its_quarantine_and_a_laxer_fleet_shows_the_difference()
    {
        // arrange: a live crash loop, quarantined at its third crash
        var fleet = $$"""
            version: 1
            layers:
              core: { backoff: { min: 1s, max: 1m, jitter: 0, reset_after: 1m }, quarantine_after: 3, default_restart: permanent }
            agents:
              - { name: worker, layer: core, command: ["{{DaemonProcess.Agent("exit.sh")}}", "1"], restart: permanent, min_uptime: 1m, autostart: true }
              - { name: idle, layer: core, command: ["{{DaemonProcess.Agent("sleeper.sh")}}"] }
            """;
        await using var daemon = new DaemonProcess(fleet);
        await daemon.StartAsync();
        await daemon.UntilAsync(async () => (await daemon.AgentAsync("worker")).GetProperty("state").GetString() == "quarantined", TimeSpan.FromSeconds(60), "worker quarantined");

        // the history is written in batches: record once the quarantine is in it, as an operator would see it in df history
        await daemon.UntilAsync(async () => (await daemon.Json("history", "worker", "--json")).EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "quarantined"), TimeSpan.FromSeconds(30), "the quarantine in the history");

        // act: a day back covers this daemon's whole history (its data directory is new) whatever the wall clock does
        var (code, yaml, stderr) = await daemon.Df("scenario", "record", "--since", "1d", "--name", "worker-crash-loop");
        var incident = Path.Combine(daemon.Root, "incident.yaml");
        await File.WriteAllTextAsync(incident, yaml);
        var replay = await daemon.Df("scenario", "run", incident);
        var lax = Path.Combine(daemon.Root, "lax.yaml");
        await File.WriteAllTextAsync(lax, fleet.Replace("quarantine_after: 3", "quarantine_after: 50", StringComparison.Ordinal));
        var diff = await daemon.Df("scenario", "diff", incident, "--fleet", lax);

        // assert
        Assert.True(code == 0, stderr);
        Assert.Contains("scenario: \"worker-crash-loop\"", yaml, StringComparison.Ordinal);
        Assert.Contains($"fleet: \"{daemon.FleetPath}\"", yaml, StringComparison.Ordinal);
        Assert.Contains("{ event: AgentLifecycle, where: { agent: \"worker\", kind: crashed }, count: 3 }", yaml, StringComparison.Ordinal);
        Assert.Contains("{ event: AgentLifecycle, where: { agent: \"worker\", kind: quarantined }, count: 1 }", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("\"idle\":", yaml, StringComparison.Ordinal); // no history, nothing recorded
        Assert.True(replay.Exit == 0, yaml + "\n" + replay.Stdout + replay.Stderr);
        Assert.Contains("2 passed, 0 failed", replay.Stdout, StringComparison.Ordinal);
        Assert.True(diff.Exit == 1, diff.Stdout + diff.Stderr);
        Assert.Contains("PASS -> FAIL REGRESSED", diff.Stdout, StringComparison.Ordinal);
        Assert.Contains("kind=quarantined", diff.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_refuses_an_unknown_agent_and_a_since_in_the_future_naming_the_flag()
    {
        // arrange
        await using var daemon = new DaemonProcess($$"""
            version: 1
            agents:
              - { name: idle, layer: core, command: ["{{DaemonProcess.Agent("sleeper.sh")}}"] }
            """);
        await daemon.StartAsync();

        // act
        var unknown = await daemon.Df("scenario", "record", "--since", "1h", "--agent", "nobody");
        var future = await daemon.Df("scenario", "record", "--since", "2999-01-01T00:00:00Z");

        // assert
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("--agent nobody: not an agent of", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, future.Exit);
        Assert.Contains("--since 2999-01-01T00:00:00Z: not a positive duration", future.Stderr, StringComparison.Ordinal);
    }
}
