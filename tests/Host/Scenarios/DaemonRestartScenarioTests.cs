using DarkFactory.Host.Scenarios;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// <c>inject: daemon_restart</c>: the sandbox's daemon goes down with its runs and a new one starts on the same
/// journal. What was persisted holds after it (Nightwatch's pause: the agent is not started with the new daemon's
/// fleet and is resumed when the pause ends); what was not is started afresh (a run going; a quarantine, by design:
/// docs/architecture.md).
/// </summary>
public sealed class DaemonRestartScenarioTests
{
    [Fact]
    public async Task A_pause_survives_the_restart_and_a_running_agent_is_started_again_after_the_outage()
    {
        // arrange
        var loaded = ScenarioLoader.Parse("""
            scenario: restart-recovers
            until: 2h
            fleet:
              version: 1
              nightwatch: { pause_for: 1h }
              layers:
                core: { backoff: { min: 1s, max: 1m, jitter: 0, reset_after: 1m }, quarantine_after: 2, default_restart: permanent }
              agents:
                - { name: looper, layer: core, cli: command, command: ["x"], restart: permanent, min_uptime: 1m, autostart: true }
                - { name: server, layer: core, cli: command, command: ["y"], restart: permanent, autostart: true }
            agents:
              looper: { run: 5s, exit: 1 }
              server: { hang: true, output: ["serving"], output_every: 30s }
            steps:
              - { at: 10m, inject: daemon_restart, down: 5m }
            expect:
              - { event: AgentLifecycle, where: { agent: looper, kind: quarantined }, within: 1m, count: 1 }
              - { event: DriftCorrection, where: { agent: looper, action: pause }, within: 2m, count: 1 }
              - { event: AgentLifecycle, where: { agent: looper, kind: started }, after: 2m, within: 1h1m, never: true }
              - { event: AgentLifecycle, where: { agent: looper, kind: crashed }, after: 15m, within: 1h1m, never: true }
              - { event: AgentLifecycle, where: { agent: server, kind: started }, after: 15m, within: 15m, count: 1 }
              - { event: AgentLifecycle, where: { agent: server, kind: started }, after: 1m, within: 14m, never: true }
            """, "restart-recovers.yaml");
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors));

        // act
        var outcome = await ScenarioRunner.RunAsync(loaded.Scenario!);

        // assert
        Assert.True(outcome.Passed, ScenarioReport.Text(outcome));
        Assert.Contains(outcome.Timeline, e => e.Type == "inject.daemon_restart" && e.Offset == TimeSpan.FromMinutes(10));
        Assert.Equal(2, outcome.Timeline.Count(e => e.Type == "FleetApplied"));
        Assert.Contains(outcome.Timeline, e => e.Type == "AgentLifecycle" && e.Offset == TimeSpan.FromMinutes(61) + TimeSpan.FromSeconds(5) && e.Describe().Contains("agent=looper kind=started", StringComparison.Ordinal));
    }
}
