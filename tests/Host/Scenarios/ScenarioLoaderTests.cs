using DarkFactory.Host.Scenarios;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>An invalid scenario file is refused with file:line:column and the field, like fleet.yaml; every error at once.</summary>
public sealed class ScenarioLoaderTests
{
    private const string Fleet = """
        fleet:
          version: 1
          agents:
            - { name: worker, layer: core, cli: command, command: ["true"], autostart: true }
        """;

    private static ScenarioLoadResult Parse(string yaml) => ScenarioLoader.Parse(yaml, "s.yaml");

    [Fact]
    public void A_valid_scenario_reads_its_fleet_behaviours_steps_and_expectations()
    {
        // act
        var result = Parse(Fleet + """

            seed: 9
            start: 2026-12-07T01:55:00Z
            until: 2h
            agents:
              worker:
                - { run: 10s, exit: 1 }
                - { hang: true, ignore_sigterm: true }
            steps:
              - { at: 2026-12-07T03:00:00+01:00, inject: crash, agent: worker, exit: 3 }
              - { at: 5m, inject: stop, agent: worker }
            expect:
              - { event: agent-lifecycle, where: { agent: worker, kind: crashed }, within: 10m, count: 2 }
            """);

        // assert
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        var s = result.Scenario!;
        Assert.Equal(("s", 9, TimeSpan.FromHours(2)), (s.Name, s.Seed, s.Until));
        Assert.Equal([TimeSpan.FromSeconds(10), null], s.Agents["worker"].Select(b => b.Run));
        Assert.True(s.Agents["worker"][1].IgnoreSigterm);
        Assert.Equal([(TimeSpan.FromMinutes(5), StepKind.Crash), (TimeSpan.FromMinutes(5), StepKind.Stop)], s.Steps.Select(x => (x.At, x.Kind)));
        Assert.Equal(3, s.Steps.Single(x => x.Kind == StepKind.Crash).ExitCode);
        Assert.Equal(2, Assert.Single(s.Expectations).Count);
    }

    [Fact]
    public void A_daemon_restart_reads_its_down_time_and_only_it_takes_one()
    {
        // act
        var ok = Parse(Fleet + """

            until: 8h
            steps:
              - { at: 40m, inject: daemon_restart, down: 6h }
            expect:
              - { event: AgentLifecycle, where: { agent: worker, kind: started }, at_least: 1 }
            """);
        var bad = Parse(Fleet + """

            until: 8h
            steps:
              - { at: 40m, inject: crash, agent: worker, down: 6h }
              - { at: 50m, inject: daemon_restart, down: a while }
            expect:
              - { event: AgentLifecycle, at_least: 1 }
            """);

        // assert
        Assert.True(ok.Ok, string.Join('\n', ok.Errors));
        var step = Assert.Single(ok.Scenario!.Steps);
        Assert.Equal((StepKind.DaemonRestart, TimeSpan.FromHours(6)), (step.Kind, step.Down));
        var errors = bad.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("s.yaml:7:52: error: steps[0].down: only a daemon_restart or a journal_failure has a down time", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:8:46: error: steps[1].down: not a duration", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reload_reads_its_fleet_as_the_daemon_would_even_an_invalid_one_and_may_bring_new_agents()
    {
        // act
        var ok = Parse(Fleet + """

            until: 1h
            agents:
              helper: { hang: true }
            steps:
              - { at: 10m, inject: reload, fleet: { version: 1 } }
              - at: 20m
                inject: reload
                allow_empty: true
                fleet:
                  version: 1
                  agents:
                    - { name: helper, layer: core, cli: command, command: ["true"], autostart: true }
              - { at: 30m, inject: run, agent: helper }
            expect:
              - { event: AgentLifecycle, at_least: 1 }
            """);

        // assert: the half-written file is the reload's input, not the scenario's error; its error sits at its line
        Assert.True(ok.Ok, string.Join('\n', ok.Errors));
        var steps = ok.Scenario!.Steps;
        var invalid = steps[0].Reload!;
        Assert.False(invalid.Ok);
        Assert.StartsWith("s.yaml:9:", invalid.Diagnostics.First(d => d.IsError).ToString(), StringComparison.Ordinal);
        Assert.Equal(["helper"], steps[1].Reload!.Fleet!.Agents.Select(a => a.Name));
        Assert.True(steps[1].AllowEmpty);
        Assert.False(steps[0].AllowEmpty);
        Assert.Equal(StepKind.Run, steps[2].Kind);
    }

    [Fact]
    public void A_reload_without_a_readable_fleet_and_reload_keys_on_other_steps_are_errors()
    {
        // act
        var bad = Parse(Fleet + """

            until: 1h
            steps:
              - { at: 10m, inject: reload }
              - { at: 20m, inject: reload, fleet: no-such-fleet.yaml }
              - { at: 30m, inject: crash, agent: worker, fleet: other.yaml, allow_empty: true }
            expect:
              - { event: AgentLifecycle, at_least: 1 }
            """);

        // assert
        var errors = bad.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("s.yaml:7:5: error: steps[0].fleet: missing: the fleet file the reload reads", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:8:39: error: steps[1].fleet: cannot read the fleet file", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:9:53: error: steps[2].fleet: only a reload has fleet", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("steps[2].allow_empty: only a reload has allow_empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Time_real_runs_the_fleets_commands_now_and_refuses_what_only_virtual_time_can_do()
    {
        // act
        var ok = Parse(Fleet + """

            time: real
            until: 10s
            steps:
              - { at: 2s, inject: crash, agent: worker }
            expect:
              - { event: AgentLifecycle, at_least: 1 }
            """);
        var bad = Parse(Fleet + """

            time: real
            start: 2026-12-07T10:00:00Z
            until: 2h
            agents:
              worker: { hang: true }
            missing: [claude]
            steps:
              - { at: 2s, inject: exit, agent: worker }
            expect:
              - { event: AgentLifecycle, at_least: 1 }
            """);

        // assert
        Assert.True(ok.Ok, string.Join('\n', ok.Errors));
        Assert.True(ok.Scenario!.RealTime);
        var errors = bad.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("s.yaml:6:8: error: start: time: real starts now", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:7:8: error: until: time: real runs at wall-clock speed: at most 1h", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:9:3: error: agents: time: real runs the fleet's real commands", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:10:10: error: missing: time: real finds binaries on PATH", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:12:23: error: steps[0].inject: time: real cannot make a real process exit normally", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_names_its_line_column_and_field()
    {
        // act
        var result = Parse(Fleet + """

            until: soon
            colour: blue
            agents:
              ghost: { run: 1s }
              worker: [{ run: forever }, { run: 1s, exit: 173, limited: { when: later } }]
            steps:
              - { at: 1m, inject: explode, agent: worker }
              - { at: 2m, inject: crash }
            expect:
              - { event: NoSuchEvent }
              - { event: AgentLifecycle, never: true, count: 1 }
            """);

        // assert
        Assert.False(result.Ok);
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("s.yaml:5:8: error: until: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:6:1: error: colour: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:8:3: error: agents.ghost: no agent 'ghost' in the fleet", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:9:19: error: agents.worker[0].run: not a duration", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:9:69: error: agents.worker[1].limited.when: 'later' is not start or exit", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:11:23: error: steps[0].inject: unknown injection 'explode'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:12:5: error: steps[1].agent: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:14:14: error: expect[0].event: unknown event type 'NoSuchEvent'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("s.yaml:15:5: error: expect[1]: 'never' takes no count", StringComparison.Ordinal));
    }

    [Fact]
    public void An_error_in_an_inline_fleet_is_placed_at_its_line_in_the_scenario_file()
    {
        // act: the agent's layer is misspelt on line 5 of the scenario
        var result = Parse("""
            until: 1h
            fleet:
              version: 1
              agents:
                - { name: worker, layer: kore, cli: command, command: ["true"] }
            expect:
              - { event: AgentLifecycle }
            """);

        // assert
        var error = Assert.Single(result.Errors);
        Assert.Equal((5, "fleet."), (error.Line, error.Field[..6]));
        Assert.Contains("layer", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_inline_fleet_in_flow_style_is_read_and_its_errors_placed_at_their_column()
    {
        // act: the same fleet as a flow mapping on one line, then one with the layer misspelt on line 3
        var ok = Parse("""
            until: 1h
            fleet: { version: 1, agents: [ { name: worker, layer: core, cli: command, command: ["echo", "a } ]"] } ] }
            expect:
              - { event: AgentLifecycle }
            """);
        var bad = Parse("""
            until: 1h
            fleet: { version: 1,
                     agents: [ { name: worker, layer: kore, cli: command, command: ["true"] } ] }
            expect:
              - { event: AgentLifecycle }
            """);

        // assert
        Assert.True(ok.Ok, string.Join('\n', ok.Errors));
        Assert.Equal(["echo", "a } ]"], Assert.Single(ok.Scenario!.Fleet.Agents).Command);
        var error = Assert.Single(bad.Errors);
        Assert.Equal((3, "fleet."), (error.Line, error.Field[..6]));
        Assert.Contains("layer", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_scenario_without_until_fleet_or_expectations_says_what_is_missing()
    {
        // act
        var errors = Parse("seed: 1\n").Errors.Select(e => e.ToString()).ToList();

        // assert
        Assert.Contains(errors, e => e.Contains("until: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("fleet: missing", StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_yaml_is_an_error_at_its_position_not_an_exception()
    {
        var error = Assert.Single(Parse("until: [1h\nfleet: x\n").Errors);
        Assert.StartsWith("s.yaml:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("invalid YAML", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A fleet with the library's personas (scenarios/personas): planner, engineer, reviewer.</summary>
    private static ScenarioLoadResult ParseWithPersonas(string yaml) =>
        ScenarioLoader.Parse("""
            fleet:
              version: 1
              agents:
                - { name: planner-cmd, layer: growth, cli: command, command: ["true"] }
                - { name: engineer-cmd, layer: growth, cli: command, command: ["true"] }
                - { name: reviewer-cmd, layer: growth, cli: command, command: ["true"] }
              projects: { personas_dir: fleets/personas, planner: planner, auditor: reviewer, repositories: [{ path: "*", tests: ["make", "test"] }] }
            """ + yaml, Path.Combine(ScenarioFiles.Root, "scenarios", "p.yaml"));

    [Fact]
    public void Project_steps_and_the_sandbox_repository_scripts_are_read()
    {
        // act
        var result = ParseWithPersonas("""

            until: 2h
            review:
              todos: ["src/app.c: handle the error"]
              gates: [fail]
            projects:
              changes: [a.c, b.c]
              gates: [{ tests: fail }, { all: fail, lint: pass }, pass]
            steps:
              - { at: 1m, inject: init_project, project: parser, description: fix it, personas: [engineer], max_runtime: 2h, create_pr: true }
              - { at: 2m, inject: start_project, project: parser }
              - { at: 3m, inject: pause_project, project: parser }
              - { at: 4m, inject: resume_project, project: parser, extend: 1h }
            expect:
              - { event: ProjectCompleted, count: 1 }
            """);

        // assert
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        var s = result.Scenario!;
        Assert.Equal([StepKind.InitProject, StepKind.StartProject, StepKind.PauseProject, StepKind.ResumeProject], s.Steps.Select(x => x.Kind));
        var init = s.Steps[0];
        Assert.Equal(("parser", "fix it", TimeSpan.FromHours(2), true), (init.Project, init.Description, init.MaxRuntime, init.CreatePr));
        Assert.Equal(["engineer"], init.Personas);
        Assert.Equal(Path.Combine(ScenarioFiles.Root, "scenarios"), init.Repo);
        Assert.Equal(TimeSpan.FromHours(1), s.Steps[3].Extend);
        Assert.Equal(["src/app.c: handle the error"], s.Review.Todos);
        Assert.False(s.Review.GatesOf(1).All);
        Assert.Equal(["a.c", "b.c"], s.Projects.Changes);
        Assert.Equal((true, false), (s.Projects.GatesOf(1).All, s.Projects.GatesOf(1).ByName["tests"]));
        Assert.Equal((false, true), (s.Projects.GatesOf(2).All, s.Projects.GatesOf(2).ByName["lint"]));
        Assert.True(s.Projects.GatesOf(7).All);
        Assert.Equal(["CHANGES.md"], s.Review.Changes);
    }

    [Fact]
    public void A_project_step_without_its_fields_or_with_another_steps_is_refused_by_line_and_field()
    {
        // act
        var result = ParseWithPersonas("""

            until: 2h
            projects:
              gates: [maybe]
              colour: red
            steps:
              - { at: 1m, inject: init_project, project: parser, personas: [engineer, poet] }
              - { at: 2m, inject: start_project, extend: 1h }
              - { at: 3m, inject: crash, agent: engineer-cmd, project: parser }
            expect:
              - { event: ProjectCompleted, count: 1 }
            """);

        // assert
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        Assert.False(result.Ok);
        Assert.Contains(errors, e => e.Contains(":10:11: error: projects.gates[0]: pass or fail", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(":11:3: error: projects.colour: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(":13:5: error: steps[0].description: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("error: steps[0].personas: no persona 'poet' in the fleet's projects.personas_dir", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(":14:5: error: steps[1].project: missing: the project to start", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("error: steps[1].extend: only resume_project has extend", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("error: steps[2].project: only init_project or start_project or pause_project or resume_project has project", StringComparison.Ordinal));
    }
}
