using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Projects;
using Xunit;
using static DarkFactory.Actors.Tests.Projects.ProjectStateTests;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// What the project actor delegates: the fleet's answers to a run's start (<see cref="ProjectStarts"/>), the slow part of
/// a step in a task (<see cref="ProjectStepRunner"/>, <see cref="ProjectStepWork"/>), the operator's commands on a
/// project not recorded, a granted slot (<see cref="ProjectCommands"/>) and the deadline timer (<see cref="ProjectRuntime"/>).
/// </summary>
public sealed class ProjectStepsTests : TestKit
{
    private static readonly Persona Engineer = new() { Name = "engineer", Agent = "engineer-cmd" };

    private static ProjectRunRequest Run(string task = "t1", string agent = "engineer-cmd") =>
        new(ProjectRunPurpose.Task, Engineer, agent, task, null, 1, null, "do " + task);

    private static CommandResult Result(CommandOutcome outcome, string? runId = null) => new(outcome is CommandOutcome.Started, outcome, outcome.ToString(), runId);

    [Fact]
    public void A_started_run_stays_pending_until_its_start_is_recorded_then_the_tries_start_again()
    {
        var starts = new ProjectStarts();
        var run = Run();
        var g = starts.Begin(run);
        Assert.Same(run, starts.Pending);

        var answer = starts.Answer(g, run, Result(CommandOutcome.Started, "r1"), null, wanted: true, maxTries: 3);
        Assert.Equal((StartVerdict.Started, "r1"), (answer.Verdict, answer.RunId));
        Assert.Same(run, starts.Pending); // until ProjectRunStarted is persisted
        starts.Started();
        Assert.Null(starts.Pending);
        Assert.Equal(0, starts.Tries);
    }

    [Fact]
    public void A_fleet_that_never_takes_the_run_is_asked_again_until_the_tries_are_spent_then_the_project_fails()
    {
        var starts = new ProjectStarts();
        var run = Run();
        for (var i = 1; i < 3; i++)
        {
            var retry = starts.Answer(starts.Begin(run), run, Result(CommandOutcome.NoAnswer), null, wanted: true, maxTries: 3);
            Assert.Equal((StartVerdict.Retry, i), (retry.Verdict, starts.Tries));
            Assert.Null(starts.Pending); // nothing in flight: the retry timer asks again
        }

        var failed = starts.Answer(starts.Begin(run), run, Result(CommandOutcome.Restarting), null, wanted: true, maxTries: 3);
        Assert.Equal(StartVerdict.Fail, failed.Verdict);
        Assert.Equal("the fleet did not start engineer-cmd after 3 tries; the last answer: Restarting", failed.Message);
    }

    [Fact]
    public void An_agent_that_cannot_run_or_no_agent_that_fits_fails_the_project_with_the_reason()
    {
        var starts = new ProjectStarts();
        var run = Run();
        var unavailable = starts.Answer(starts.Begin(run), run, Result(CommandOutcome.Unavailable), null, wanted: true, maxTries: 3);
        Assert.Equal((StartVerdict.Fail, "engineer's agent 'engineer-cmd' cannot run: Unavailable"), (unavailable.Verdict, unavailable.Message));
        Assert.Null(starts.Pending);

        var noFit = starts.Answer(starts.Begin(run), run, null, "persona 'engineer' names no agent", wanted: true, maxTries: 3);
        Assert.Equal((StartVerdict.Fail, "persona 'engineer' names no agent"), (noFit.Verdict, noFit.Message));
    }

    [Fact]
    public void A_queued_or_credit_waiting_run_stays_pending_and_its_start_by_the_layer_is_recognised_by_its_task()
    {
        var starts = new ProjectStarts();
        var run = Run("t2");
        Assert.Equal(StartVerdict.Queued, starts.Answer(starts.Begin(run), run, Result(CommandOutcome.Queued), null, wanted: true, maxTries: 3).Verdict);
        Assert.True(starts.Queued);
        var agent = AgentInstance.Of("engineer-cmd", Id);
        Assert.True(starts.StartedByLayer(new AgentLifecycle(agent, LifecycleKind.Started, At, "r2", TaskId: "t2"), waitingForCredits: false));
        Assert.False(starts.StartedByLayer(new AgentLifecycle(agent, LifecycleKind.Started, At, "r9", TaskId: "t9"), waitingForCredits: false)); // another task's run
        Assert.False(starts.StartedByLayer(new AgentLifecycle(agent, LifecycleKind.Exited, At, "r2", TaskId: "t2"), waitingForCredits: false));

        var waiting = new ProjectStarts();
        Assert.Equal(StartVerdict.WaitForCredits, waiting.Answer(waiting.Begin(run), run, Result(CommandOutcome.WaitingForProvider), null, wanted: true, maxTries: 3).Verdict);
        Assert.False(waiting.StartedByLayer(new AgentLifecycle(agent, LifecycleKind.Started, At, "r2", TaskId: "t2"), waitingForCredits: false)); // not recorded as waiting yet
        Assert.True(waiting.StartedByLayer(new AgentLifecycle(agent, LifecycleKind.Started, At, "r2", TaskId: "t2"), waitingForCredits: true));
    }

    [Fact]
    public void A_cancelled_start_makes_its_answer_stale_and_a_run_the_fleet_started_for_nobody_is_stopped()
    {
        var starts = new ProjectStarts();
        var run = Run();
        var g = starts.Begin(run);
        Assert.Equal("engineer-cmd", starts.Cancel());
        Assert.Null(starts.Cancel()); // nothing pending any more

        var late = starts.Answer(g, run, Result(CommandOutcome.Started, "r1"), null, wanted: true, maxTries: 3);
        Assert.Equal((StartVerdict.Stale, true), (late.Verdict, late.StopOrphan));
        Assert.False(starts.Answer(g, run, Result(CommandOutcome.UnknownAgent), null, wanted: true, maxTries: 3).StopOrphan); // nothing to stop

        var older = starts.Begin(run);
        var newer = starts.Begin(run);
        Assert.Equal(StartVerdict.Stale, starts.Answer(older, run, Result(CommandOutcome.Started, "r1"), null, wanted: true, maxTries: 3).Verdict);
        Assert.Equal(StartVerdict.Stale, starts.Answer(newer, run, Result(CommandOutcome.Started, "r1"), null, wanted: false, maxTries: 3).Verdict); // paused meanwhile
        Assert.Null(new ProjectStarts().Cancel());
        var routed = new ProjectStarts();
        routed.Begin(Run(agent: string.Empty)); // the router's choice not made yet: no agent to stop
        Assert.Null(routed.Cancel());
        Assert.Null(routed.Pending);
    }

    [Fact]
    public async Task A_step_runs_off_the_mailbox_and_answers_its_event_its_error_or_nothing_and_a_newer_step_makes_an_older_one_stale()
    {
        using var runner = new ProjectStepRunner();
        var done = new ProjectCompleted(Id, At);
        runner.Run("report", _ => Task.FromResult<IReadOnlyList<IProjectEvent>>([done]), TestActor);
        Assert.True(runner.Busy);
        var ok = await ExpectMsgAsync<ProjectStepRunner.Done>();
        Assert.True(runner.Accept(ok));
        Assert.False(runner.Busy);
        Assert.Equal(("report", done, null), (ok.Stage, Assert.Single(ok.Result.Events), ok.Result.Error));

        runner.Run("commit", _ => throw new GitException("the commit in /w failed: locked"), TestActor);
        var git = await ExpectMsgAsync<ProjectStepRunner.Done>();
        Assert.Equal(("commit", 0, "the commit in /w failed: locked"), (git.Stage, git.Result.Events.Count, git.Result.Error));
        Assert.True(runner.Accept(git));

        runner.Run("pr", async _ => { await Task.Yield(); throw new InvalidOperationException("no forge"); }, TestActor);
        Assert.Equal("InvalidOperationException: no forge", (await ExpectMsgAsync<ProjectStepRunner.Done>()).Result.Error);

        var gate = new TaskCompletionSource<IReadOnlyList<IProjectEvent>>();
        runner.Run("gates", _ => gate.Task, TestActor);
        runner.Run("gates", _ => Task.FromResult<IReadOnlyList<IProjectEvent>>([]), TestActor);
        var newer = await ExpectMsgAsync<ProjectStepRunner.Done>();
        gate.SetResult([done]);
        var older = await ExpectMsgAsync<ProjectStepRunner.Done>();
        Assert.True(older.Generation < newer.Generation);
        Assert.False(runner.Accept(older)); // a step nobody waits for
        Assert.True(runner.Busy);
        Assert.True(runner.Accept(newer));
        Assert.Empty(newer.Result.Events);
    }

    [Fact]
    public async Task A_step_in_flight_is_cancelled_when_the_actor_stops()
    {
        var runner = new ProjectStepRunner();
        var started = new TaskCompletionSource();
        runner.Run("gates", async ct => { started.SetResult(); await Task.Delay(Timeout.Infinite, ct); return []; }, TestActor);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        runner.Dispose();
        Assert.Equal("cancelled", (await ExpectMsgAsync<ProjectStepRunner.Done>()).Result.Error);
        Assert.Equal("cancelled", ReviewSteps.Describe(new OperationCanceledException()));
        Assert.Equal("the push failed", ReviewSteps.Describe(new ForgeException("the push failed")));
    }

    [Fact]
    public async Task The_report_step_writes_the_report_read_from_the_state_when_it_started_and_records_its_path()
    {
        var dir = Directory.CreateTempSubdirectory("df-report-").FullName;
        try
        {
            var clock = new ManualClock(At.AddHours(1));
            var work = ProjectStepWork.Report(Planned(), dir, clock);
            clock.Advance(TimeSpan.FromSeconds(5));
            var written = Assert.IsType<ProjectReportWritten>(Assert.Single(await work(CancellationToken.None)));
            Assert.Equal((Path.Combine(dir, Id, "report.md"), At.AddHours(1).AddSeconds(5)), (written.Path, written.At));
            Assert.Contains("auth-hardening", await File.ReadAllTextAsync(written.Path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_gates_step_of_a_persona_not_in_the_catalog_is_the_error_that_fails_the_project()
    {
        var s = Planned();
        var task = s.Tasks[0];
        var attempt = new TaskAttempt { Number = 1, RunId = "r1", Agent = "engineer-cmd@" + Id };
        var settings = new ProjectSettings { ProjectsDirectory = "/nonexistent", WorktreeRoot = "/nonexistent" };
        var (check, error) = ProjectStepWork.Gates(s, task, attempt, PersonaCatalog.Empty, new ProjectsSpec(), DarkFactory.Actors.Output.Redactor.None, settings);
        Assert.Null(check);
        Assert.Equal("persona 'engineer' is not in projects.personas_dir (personas)", error);

        var (gates, none) = ProjectStepWork.Gates(s, task, attempt, new PersonaCatalog([Engineer]), new ProjectsSpec(), DarkFactory.Actors.Output.Redactor.None, settings);
        Assert.NotNull(gates);
        Assert.Null(none);
    }

    [Fact]
    public void An_operators_command_on_a_project_not_recorded_is_not_found_and_the_others_go_to_their_rules()
    {
        var missing = ProjectCommands.Decide(new ResumeProject("ghost"), null, At);
        Assert.Equal((ProjectCommandAction.Answer, false, ProjectCommandOutcome.NotFound, "no project 'ghost'"), (missing.Action, missing.Ok, missing.Outcome, missing.Message));
        Assert.Equal(ProjectCommandOutcome.NotFound, ProjectCommands.Decide(new PauseProject("ghost"), null, At).Outcome);
        Assert.Equal(ProjectCommands.Start(Planned()), ProjectCommands.Decide(new StartProject(Id), Planned(), At));
        Assert.Equal(ProjectCommands.Pause(Planned()), ProjectCommands.Decide(new PauseProject(Id), Planned(), At));
        Assert.Equal(ProjectCommandAction.Extend, ProjectCommands.Decide(new ResumeProject(Id, TimeSpan.FromHours(1)), Planned(), At).Action);
    }

    [Fact]
    public void A_granted_slot_activates_a_requested_start_interrupts_a_run_a_dead_daemon_left_and_is_given_back_when_not_wanted()
    {
        var created = Play(null, Created());
        var requested = Play(created, new ProjectStartRequested(Id, At));
        var running = Play(Planned(), new ProjectRunStarted(Id, At.AddMinutes(1), "r1", ProjectRunPurpose.Task, "engineer-cmd@" + Id, "engineer", "t1", 1));
        Assert.Equal(SlotAction.Release, ProjectCommands.OnSlot(null, recovered: false));
        Assert.Equal(SlotAction.Release, ProjectCommands.OnSlot(created, recovered: false));
        Assert.Equal(SlotAction.Release, ProjectCommands.OnSlot(Play(running, new ProjectPaused(Id, At, "paused")), recovered: true));
        Assert.Equal(SlotAction.Activate, ProjectCommands.OnSlot(requested, recovered: true));
        Assert.Equal(SlotAction.InterruptRecoveredRun, ProjectCommands.OnSlot(running, recovered: true));
        Assert.Equal(SlotAction.Go, ProjectCommands.OnSlot(running, recovered: false)); // its own run: wait for its end
        Assert.Equal(SlotAction.Go, ProjectCommands.OnSlot(Planned(), recovered: true));
    }

    [Fact]
    public void The_deadline_timer_is_armed_only_while_active_and_clamped_to_the_longest_timer()
    {
        var hour = TimeSpan.FromHours(1);
        var active = Planned(); // active since At + 1 s, 12 h max runtime
        Assert.Equal(hour, ProjectRuntime.DeadlineIn(active, At.AddSeconds(1), hour));
        Assert.Equal(TimeSpan.FromMinutes(30), ProjectRuntime.DeadlineIn(active, At.AddSeconds(1).AddHours(11.5), hour));
        Assert.Equal(TimeSpan.Zero, ProjectRuntime.DeadlineIn(active, At.AddHours(13), hour));
        Assert.Null(ProjectRuntime.DeadlineIn(Play(active, new ProjectPaused(Id, At.AddHours(1), "paused")), At.AddHours(1), hour));
        Assert.Null(ProjectRuntime.DeadlineIn(Play(null, Created()), At, hour));
    }
}
