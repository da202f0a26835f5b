using DarkFactory.Host.Scenarios;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>A daemon's history turned into a scenario: the facts (runs, operators' commands) kept, the fleet's decisions left to the policy.</summary>
public sealed class IncidentRecorderTests : IDisposable
{
    private static readonly DateTimeOffset Since = new(2026, 12, 7, 2, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Since.AddHours(1);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-record-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AgentLifecycle At(string agent, LifecycleKind kind, double seconds, string run, int? exit = null, int? signal = null, string? by = null) =>
        new(agent, kind, Since.AddSeconds(seconds), run, ExitCode: exit, Signal: signal, By: by);

    private static string? Record(Dictionary<string, IReadOnlyList<AgentLifecycle>> history, params string[] autostart) =>
        IncidentRecorder.Record("night", "/srv/fleet.yaml", Since, Now, history, autostart.ToHashSet());

    [Fact]
    public void Each_run_keeps_its_length_and_end_and_the_outcomes_become_expectations()
    {
        // arrange
        var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>>
        {
            ["worker"] =
            [
                At("worker", LifecycleKind.Started, 0, "r1"),
                At("worker", LifecycleKind.Crashed, 10.5, "r1", exit: 1),
                At("worker", LifecycleKind.Restarting, 10.6, "r1"),
                At("worker", LifecycleKind.Started, 15, "r2"),
                At("worker", LifecycleKind.Crashed, 20, "r2", exit: 137, signal: 9),
                At("worker", LifecycleKind.Quarantined, 20.1, "r2"),
                At("worker", LifecycleKind.Released, 600, "r2", by: Requester.Operator),
                At("worker", LifecycleKind.Started, 601, "r3"),
                At("worker", LifecycleKind.Stopped, 900, "r3", exit: 143, signal: 15, by: Requester.Operator),
            ],
        };

        // act
        var yaml = Record(history)!;

        // assert
        Assert.Contains("""
              "worker":
                - { run: 10500ms, exit: 1 }
                - { run: 5s, signal: 9 }
                - { hang: true }
                - { hang: true }   # after the recorded runs: quiet until the end
            """.ReplaceLineEndings(), yaml, StringComparison.Ordinal);
        Assert.Contains("  - { at: 600s, inject: restart, agent: \"worker\" }", yaml, StringComparison.Ordinal);
        Assert.Contains("  - { at: 900s, inject: stop, agent: \"worker\" }", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("inject: run", yaml, StringComparison.Ordinal); // the fleet started them, not an operator
        Assert.Contains("{ event: AgentLifecycle, where: { agent: \"worker\", kind: crashed }, count: 2 }", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("kind: exited", yaml, StringComparison.Ordinal);
        Assert.Contains("{ event: AgentLifecycle, where: { agent: \"worker\", kind: quarantined }, count: 1 }", yaml, StringComparison.Ordinal);
        Assert.Contains("start: 2026-12-07T02:00:00.000Z", yaml, StringComparison.Ordinal);
        Assert.Contains("until: 3600s", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_ended_on_its_providers_limit_is_replayed_reporting_the_limit_as_it_exits()
    {
        // arrange: gemini gave up on a 429 (exit 173), then the next run completed
        var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>>
        {
            ["researcher"] =
            [
                At("researcher", LifecycleKind.Started, 0, "r1"),
                At("researcher", LifecycleKind.Limited, 4, "r1", exit: 173),
                At("researcher", LifecycleKind.Started, 70, "r2"),
                At("researcher", LifecycleKind.Exited, 100, "r2", exit: 0),
            ],
        };

        // act
        var yaml = Record(history)!;

        // assert
        Assert.Contains("- { run: 4s, exit: 173, limited: { when: exit, reason: \"recorded rate limit\" } }", yaml, StringComparison.Ordinal);
        Assert.Contains("where: { agent: \"researcher\", kind: limited }, count: 1", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("kind: crashed", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_going_when_the_window_opened_is_replayed_for_an_autostart_agent_and_left_out_otherwise()
    {
        // arrange: each agent's first entry in the window is the end of a run started before it
        IReadOnlyList<AgentLifecycle> Crash(string agent) => [At(agent, LifecycleKind.Crashed, 30, "r0", exit: 2), At(agent, LifecycleKind.Started, 40, "r1")];
        var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>> { ["guard"] = Crash("guard"), ["builder"] = Crash("builder") };

        // act
        var yaml = Record(history, "guard")!;

        // assert
        Assert.Contains("\"guard\":\n    - { run: 30s, exit: 2 }\n    - { hang: true }   # still running when recorded", yaml.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("\"builder\":\n    - { hang: true }   # still running when recorded", yaml.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("where: { agent: \"guard\", kind: crashed }, count: 1", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("where: { agent: \"builder\", kind: crashed }", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void The_recorded_file_is_a_valid_scenario_even_for_names_that_need_quoting()
    {
        // arrange: a fleet on disk whose agent's name YAML would misread unquoted
        var fleet = Path.Combine(_dir, "fleet.yaml");
        File.WriteAllText(fleet, """
            version: 1
            agents:
              - { name: "no", layer: core, command: ["true"], restart: permanent, autostart: true }
            """);
        var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>>
        {
            ["no"] = [At("no", LifecycleKind.Started, 0, "r1"), At("no", LifecycleKind.Exited, 60, "r1", exit: 0)],
        };

        // act
        var yaml = IncidentRecorder.Record("quo\"ted", fleet, Since, Now, history, new HashSet<string> { "no" })!;
        var loaded = ScenarioLoader.Parse(yaml, Path.Combine(_dir, "incident.yaml"));

        // assert
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors) + "\n" + yaml);
        Assert.Equal("quo\"ted", loaded.Scenario!.Name);
        Assert.Equal(TimeSpan.FromMinutes(1), Assert.Single(loaded.Scenario.Agents["no"], b => b.Run is not null).Run);
        Assert.Contains("where: { agent: \"no\", kind: exited }, count: 1", yaml, StringComparison.Ordinal);
        Assert.Contains("where: { agent: \"no\", kind: quarantined }, never: true", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_with_no_history_records_nothing()
    {
        // arrange: entries only before the window
        var history = new Dictionary<string, IReadOnlyList<AgentLifecycle>> { ["worker"] = [At("worker", LifecycleKind.Started, -60, "r1")] };

        // act + assert
        Assert.Null(Record(history));
    }
}
