using DarkFactory.Host.Scenarios;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// The invariants every scenario run is checked against, each attacked with the timeline (or journal) a broken
/// fleet would leave, and shown to hold on the legitimate look-alike (a restart, a reopened task, a new incarnation).
/// </summary>
public sealed class InvariantsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static TimelineEntry At(double seconds, object message) =>
        ScenarioEvents.Entry(message, T0.AddSeconds(seconds), T0, EntrySource.Observed);

    private static TimelineEntry Life(double seconds, string agent, LifecycleKind kind, string run) =>
        At(seconds, new AgentLifecycle(agent, kind, T0.AddSeconds(seconds), run));

    private static TimelineEntry Restart(double seconds) =>
        new(T0.AddSeconds(seconds), TimeSpan.FromSeconds(seconds), EntrySource.Injected, ScenarioEvents.Injected.Name(StepKind.DaemonRestart), "x", default);

    [Fact]
    public void An_agent_started_again_before_its_run_ended_breaks_one_run_per_agent()
    {
        var overlap = new[]
        {
            Life(0, "worker", LifecycleKind.Started, "r1"),
            Life(5, "other", LifecycleKind.Started, "o1"),
            Life(10, "worker", LifecycleKind.Started, "r2"),
        };

        var result = Invariants.RunsNeverOverlap(overlap);

        Assert.False(result.Held);
        Assert.Equal("at +00:00:10: worker started run r2 while run r1 (started at +00:00:00) had not ended", result.Detail);
    }

    [Fact]
    public void Runs_that_end_before_the_next_starts_or_die_with_a_restarted_daemon_hold()
    {
        var sequential = new[]
        {
            Life(0, "worker", LifecycleKind.Started, "r1"),
            Life(1, "worker", LifecycleKind.Started, "r1"), // the same run reported twice is no second run
            Life(5, "worker", LifecycleKind.Limited, "r1"),
            Life(6, "worker", LifecycleKind.Started, "r2"),
            Restart(7), // r2 dies with its host: no end is recorded for it
            Life(20, "worker", LifecycleKind.Started, "r3"),
            Life(30, "worker", LifecycleKind.Stopped, "r3"),
            Life(31, "worker", LifecycleKind.Started, "r4"),
        };

        var result = Invariants.RunsNeverOverlap(sequential);

        Assert.True(result.Held, result.Detail);
        Assert.Equal("held over 5 runs", result.Detail);
    }

    private static FleetSpec Budgeted(ProviderLimits limits) => new()
    {
        Providers = [new ProviderSpec { Name = "anthropic", Cli = CliCatalog.Claude, Limits = limits }, new ProviderSpec { Name = "openai", Cli = CliCatalog.Codex }],
    };

    private static TimelineEntry Cost(double seconds, string provider, decimal usd) =>
        At(seconds, new CostRecorded("coder", "r0", provider, null, 0, 0, 0, usd, false, T0.AddSeconds(seconds)));

    private static TimelineEntry Route(double seconds, string provider, string run) =>
        At(seconds, new RouteChosen("coder", run, CliCatalog.Claude, provider, null, "test", T0.AddSeconds(seconds)));

    [Fact]
    public void A_run_routed_to_a_provider_over_its_hourly_budget_breaks_the_budget_invariant()
    {
        var timeline = new[] { Route(0, "anthropic", "r1"), Cost(60, "anthropic", 0.6m), Cost(120, "anthropic", 0.5m), Route(180, "anthropic", "r2") };

        var result = Invariants.BudgetsNeverExceeded(timeline, Budgeted(new ProviderLimits { BudgetPerHour = 1m }));

        Assert.False(result.Held);
        Assert.Equal("at +00:03:00: run r2 of coder routed to anthropic, whose hourly budget of 1 USD was spent (1.1 USD)", result.Detail);
    }

    [Fact]
    public void Spend_elsewhere_in_an_earlier_hour_or_on_another_provider_does_not_count_against_the_budget()
    {
        var timeline = new[]
        {
            Cost(0, "anthropic", 0.9m),      // 09:00, this hour
            Cost(30, "openai", 5m),          // another provider
            Route(3600, "anthropic", "r2"),  // 10:00: a new hour
            Route(3660, "openai", "r3"),     // no budget declared
        };

        Assert.True(Invariants.BudgetsNeverExceeded(timeline, Budgeted(new ProviderLimits { BudgetPerHour = 0.5m })).Held);

        // credits count all spend ever: the same route is over them
        var credits = Invariants.BudgetsNeverExceeded(timeline, Budgeted(new ProviderLimits { Credits = 0.9m }));
        Assert.False(credits.Held);
        Assert.Contains("credits of 0.9 USD was spent", credits.Detail, StringComparison.Ordinal);
    }

    private static TimelineEntry TaskRun(double seconds, string task, string run) =>
        At(seconds, new ProjectRunStarted("p1", T0.AddSeconds(seconds), run, ProjectRunPurpose.Task, "engineer", "engineer", task, 1));

    [Fact]
    public void A_completed_task_that_runs_again_breaks_the_invariant_unless_an_audit_reopened_it()
    {
        var rerun = new[] { TaskRun(0, "t1", "r1"), At(10, new TaskCompleted("p1", T0.AddSeconds(10), "t1", 1)), TaskRun(20, "t1", "r2") };
        var broken = Invariants.NoTaskRunsAfterItCompleted(rerun);
        Assert.False(broken.Held);
        Assert.Equal("at +00:00:20: project p1 started run r2 on task t1, completed at +00:00:10", broken.Detail);

        var reopened = new[]
        {
            TaskRun(0, "t1", "r1"),
            At(10, new TaskCompleted("p1", T0.AddSeconds(10), "t1", 1)),
            At(15, new AuditRecorded("p1", T0.AddSeconds(15), "a1", [new AuditVerdict("t1", false, "the test is missing", 0.9)])),
            TaskRun(20, "t1", "r2"),
            TaskRun(25, "t2", "r3"),
        };
        Assert.True(Invariants.NoTaskRunsAfterItCompleted(reopened).Held);
    }

    [Fact]
    public void A_writer_that_writes_again_after_another_took_over_its_persistence_id_breaks_one_writer()
    {
        JournalWrite W(string writer, long seq, string pid = "agent-history") => new(pid, writer, seq);

        // a restarted actor (new incarnation) taking over is fine; the old one coming back is two writers at once
        var interleaved = new[] { W("aaaaaaaa-1", 1), W("aaaaaaaa-1", 2), W("bbbbbbbb-2", 3), W("aaaaaaaa-1", 4) };
        var result = Invariants.OneWriterPerPersistenceId(interleaved);
        Assert.False(result.Held);
        Assert.Equal("agent-history: writer aaaaaaaa wrote sequence number 4 after bbbbbbbb had taken it over: two writers at once", result.Detail);

        // the same sequence number written twice
        var duplicate = Invariants.OneWriterPerPersistenceId([W("aaaaaaaa-1", 1), W("bbbbbbbb-2", 1)]);
        Assert.False(duplicate.Held);
        Assert.StartsWith("agent-history: sequence number 1 written by bbbbbbbb after 1 by aaaaaaaa", duplicate.Detail, StringComparison.Ordinal);

        // hand-overs in order, on several ids
        var handovers = Invariants.OneWriterPerPersistenceId([W("a", 1), W("b", 2), W("c", 3), W("a", 1, "router"), W("a", 2, "router")]);
        Assert.True(handovers.Held, handovers.Detail);
        Assert.Equal("held over 5 writes to 2 persistence ids", handovers.Detail);
    }

    [Fact]
    public void A_broken_invariant_fails_the_scenario_whatever_its_expectations_say()
    {
        var loaded = ScenarioLoader.Parse("""
            fleet:
              version: 1
              agents:
                - { name: worker, layer: core, cli: command, command: ["true"] }
            until: 1m
            expect: [{ event: AgentLifecycle, never: true }]
            """, "s.yaml");
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors));
        var scenario = loaded.Scenario!;
        var outcome = new ScenarioOutcome(scenario, [], [], TimeSpan.Zero, 0)
        {
            Invariants = [new InvariantResult(Invariants.OneRunPerAgent, false, "at +00:00:10: ...")],
        };

        Assert.False(outcome.Passed);
        Assert.Contains("BROKEN  no agent runs twice at once: at +00:00:10: ...", ScenarioReport.Text(outcome), StringComparison.Ordinal);
        Assert.Contains("0 passed, 0 failed, 1 invariant(s) broken", ScenarioReport.Text(outcome), StringComparison.Ordinal);
        Assert.Contains("| **BROKEN** | no agent runs twice at once |", ScenarioReport.Markdown(outcome), StringComparison.Ordinal);
    }
}
