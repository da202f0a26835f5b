using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Serialization;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>The pure project state: events applied in order give the next step, the runtime, the verdicts and handoffs.</summary>
public sealed class ProjectStateTests
{
    internal static readonly DateTimeOffset At = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    internal const string Id = "p-000001";

    internal static ProjectCreated Created(bool createPr = false, int maxAttempts = 3, TimeSpan? maxRuntime = null, TimeSpan? audit = null) => new(
        Id, At, "auth-hardening", "Add rate limiting to the login endpoint", "/src/shop", "main", "df/auth-hardening/2026-12-07", "/data/worktrees/projects/p-000001",
        ["engineer", "tester"], maxRuntime ?? TimeSpan.FromHours(12), audit ?? TimeSpan.FromMinutes(30), maxAttempts, "planner", "reviewer", createPr);

    internal static ProjectState Play(ProjectState? s, params IProjectEvent[] events)
    {
        foreach (var e in events)
        {
            s = ProjectStateRules.Apply(s, e);
        }

        return s!;
    }

    internal static ProjectTask[] Plan() => PlanAnswer.ToTasks(
        [new PlannedTask("Add limit", "limit logins", 1, [], "engineer"), new PlannedTask("Test limit", "test it", 2, ["Add limit"], "tester")], At).ToArray();

    /// <summary>Created, started, activated, planned: ready to work on t1.</summary>
    internal static ProjectState Planned(bool createPr = false, int maxAttempts = 3) => Play(
        null,
        Created(createPr, maxAttempts),
        new ProjectStartRequested(Id, At),
        new ProjectActivated(Id, At.AddSeconds(1)),
        new ProjectRunStarted(Id, At.AddSeconds(2), "plan1", ProjectRunPurpose.Plan, "planner-agent", "planner"),
        new ProjectRunEnded(Id, At.AddSeconds(3), "plan1", ProjectRunOutcome.Ended, 0, "{\"tasks\": []}"),
        new TasksPlanned(Id, At.AddSeconds(4), "plan1", Plan()));

    private static readonly GateResult Green = new("tests", true, 0, 0, 10);
    private static readonly GateResult Red = new("tests", false, 1, 0, 10, Output: "FAILED test_limit: expected 429");

    /// <summary>An attempt of a task from its start to its gates.</summary>
    internal static IProjectEvent[] Attempt(string task, int n, string run, int exit, params GateResult[] gates) =>
    [
        new ProjectRunStarted(Id, At.AddMinutes(n), run, ProjectRunPurpose.Task, "engineer-agent", task == "t1" ? "engineer" : "tester", task, n),
        new ProjectRunEnded(Id, At.AddMinutes(n).AddSeconds(30), run, ProjectRunOutcome.Ended, exit, "done " + run, "sess-" + run, "claude", "anthropic", CostUsd: 0.01m, InputTokens: 100, OutputTokens: 20),
        new CommitIntended(Id, At.AddMinutes(n).AddSeconds(31), task, n, "msg"),
        new AttemptCommitted(Id, At.AddMinutes(n).AddSeconds(32), task, n, "c0ffee" + n, ["limit.py"]),
        .. gates.Length == 0 ? Array.Empty<IProjectEvent>() : [new AttemptGated(Id, At.AddMinutes(n).AddSeconds(40), task, n, [new GateResult("worktree-paths", true, 0, 0, 0), .. gates])],
    ];

    [Fact]
    public void A_project_moves_from_plan_through_work_and_checks_to_completion()
    {
        var s = Play(null, Created());
        Assert.Equal(ProjectStep.Idle, ProjectRules.Next(s, At).Step);
        s = Play(s, new ProjectStartRequested(Id, At));
        Assert.Equal((ProjectStatus.Initializing, true), (s.Status, s.StartRequested));
        s = Play(s, new ProjectActivated(Id, At.AddSeconds(1)));
        Assert.Equal(ProjectStep.Plan, ProjectRules.Next(s, At.AddSeconds(1)).Step);
        s = Play(s, new ProjectRunStarted(Id, At.AddSeconds(2), "plan1", ProjectRunPurpose.Plan, "p", "planner"));
        Assert.Equal(ProjectStep.AwaitRun, ProjectRules.Next(s, At.AddSeconds(2)).Step);
        s = Play(s, new ProjectRunEnded(Id, At.AddSeconds(3), "plan1", ProjectRunOutcome.Ended, 0, "{}"));
        Assert.Equal(ProjectStep.ReadPlan, ProjectRules.Next(s, At.AddSeconds(3)).Step);
        s = Play(s, new TasksPlanned(Id, At.AddSeconds(4), "plan1", Plan()));

        var next = ProjectRules.Next(s, At.AddSeconds(4));
        Assert.Equal((ProjectStep.Work, "t1"), (next.Step, next.Task!.Id));
        Assert.Null(next.Attempt);

        var attempt = Attempt("t1", 1, "r1", 0, Green);
        var expected = new[] { ProjectStep.AwaitRun, ProjectStep.IntendCommit, ProjectStep.Commit, ProjectStep.RunGates, ProjectStep.Decide };
        for (var i = 0; i < attempt.Length; i++)
        {
            s = Play(s, attempt[i]);
            Assert.Equal(expected[i], ProjectRules.Next(s, At.AddMinutes(2)).Step);
        }

        var decision = ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[0], At.AddMinutes(2));
        Assert.IsType<TaskCompleted>(decision);
        s = Play(s, decision);
        Assert.Equal(ProjectTaskStatus.Completed, s.Task("t1")!.Status);

        // t2 depends on t1: it gets the engineer's work as its handoff
        next = ProjectRules.Next(s, At.AddMinutes(2));
        Assert.Equal((ProjectStep.Work, "t2"), (next.Step, next.Task!.Id));
        var handoff = ProjectRules.HandoffFor(s, next.Task, null)!;
        Assert.Equal(("r1", "engineer", "done r1"), (handoff.FromRunId, handoff.FromPersona, handoff.FinalMessage));
        Assert.Equal(["limit.py"], handoff.ChangedFiles);
        Assert.Null(handoff.SessionId); // another persona's conversation is not resumed

        s = Play(s, [.. Attempt("t2", 1, "r2", 0, Green)]);
        s = Play(s, ProjectRules.Decide(s, s.Task("t2")!, s.Task("t2")!.Attempts[0], At.AddMinutes(3)));

        // everything done: the audit before completion, then the report, then complete
        Assert.Equal(ProjectStep.Audit, ProjectRules.Next(s, At.AddMinutes(3)).Step);
        s = Play(
            s,
            new ProjectRunStarted(Id, At.AddMinutes(4), "a1", ProjectRunPurpose.Audit, "rev", "reviewer"),
            new ProjectRunEnded(Id, At.AddMinutes(5), "a1", ProjectRunOutcome.Ended, 0, "{}"));
        Assert.Equal(ProjectStep.ReadAudit, ProjectRules.Next(s, At.AddMinutes(5)).Step);
        s = Play(s, new AuditRecorded(Id, At.AddMinutes(5), "a1", [new AuditVerdict("t1", true, "ok", 0.9), new AuditVerdict("t2", true, "ok", 0.8)]));
        Assert.Equal(ProjectStep.WriteReport, ProjectRules.Next(s, At.AddMinutes(5)).Step);
        s = Play(s, new ProjectReportWritten(Id, At.AddMinutes(5), "/data/projects/p/report.md"));
        Assert.Equal(ProjectStep.Complete, ProjectRules.Next(s, At.AddMinutes(5)).Step);
        s = Play(s, new ProjectCompleted(Id, At.AddMinutes(6)));

        Assert.Equal((ProjectStatus.Completed, ProjectStep.Done), (s.Status, ProjectRules.Next(s, At.AddMinutes(6)).Step));
        Assert.Equal(0.9, s.Task("t1")!.Confidence);
        Assert.Equal(0.02m, s.CostUsd);
        Assert.Equal(240, s.InputTokens + s.OutputTokens);
        Assert.Equal(TimeSpan.FromMinutes(6) - TimeSpan.FromSeconds(1), ProjectRuntime.Used(s, At.AddHours(5)));
    }

    [Fact]
    public void With_create_pr_the_PR_is_intended_before_it_is_opened()
    {
        var s = Play(Planned(createPr: true), [.. Attempt("t1", 1, "r1", 0, Green)]);
        s = Play(s, ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[0], At));
        s = Play(s, [.. Attempt("t2", 1, "r2", 0, Green)]);
        s = Play(
            s,
            ProjectRules.Decide(s, s.Task("t2")!, s.Task("t2")!.Attempts[0], At),
            new ProjectRunStarted(Id, At.AddMinutes(4), "a1", ProjectRunPurpose.Audit, "rev", "reviewer"),
            new ProjectRunEnded(Id, At.AddMinutes(5), "a1", ProjectRunOutcome.Ended, 0, "{}"),
            new AuditRecorded(Id, At.AddMinutes(5), "a1", []),
            new ProjectReportWritten(Id, At, "/r.md"));

        Assert.Equal(ProjectStep.IntendPr, ProjectRules.Next(s, At).Step);
        s = Play(s, new ProjectPrIntended(Id, At, "df/auth-hardening/2026-12-07", "t", "b"));
        Assert.Equal(ProjectStep.OpenPr, ProjectRules.Next(s, At).Step);
        s = Play(s, new ProjectPrOpened(Id, At, 7, "https://forge/pull/7"));
        Assert.Equal(ProjectStep.Complete, ProjectRules.Next(s, At).Step);
    }

    [Fact]
    public void Pure_steps_ride_in_the_write_of_the_event_before_them_and_are_what_the_steps_one_by_one_record()
    {
        var at = At.AddMinutes(2);
        var s = Play(Planned(), new ProjectRunStarted(Id, At.AddMinutes(1), "r1", ProjectRunPurpose.Task, "engineer-agent", "engineer", "t1", 1));
        var ended = new ProjectRunEnded(Id, at, "r1", ProjectRunOutcome.Ended, 0, "done", Cli: "command");

        // the run's end carries the commit intent; the commit itself (git) is not pure
        var events = ProjectRules.WithPureSteps(s, ended, at);
        Assert.Equal([typeof(ProjectRunEnded), typeof(CommitIntended)], events.Select(e => e.GetType()));
        var stepwise = Play(s, ended);
        Assert.Equal(Json(ProjectRules.PureStep(stepwise, ProjectRules.Next(stepwise, at), at)!), Json(events[1]));
        s = Play(s, [.. events]);
        Assert.Equal(ProjectStep.Commit, ProjectRules.Next(s, at).Step);

        var committed = new AttemptCommitted(Id, at, "t1", 1, "c0ffee1", ["limit.py"]);
        Assert.Single(ProjectRules.WithPureSteps(s, committed, at)); // the gates come next
        s = Play(s, committed);

        // the gates' results carry the verdict
        events = ProjectRules.WithPureSteps(s, new AttemptGated(Id, at, "t1", 1, [Green]), at);
        Assert.Equal([typeof(AttemptGated), typeof(TaskCompleted)], events.Select(e => e.GetType()));
        s = Play(s, [.. events]);
        Assert.Equal((ProjectStep.Work, "t2"), (ProjectRules.Next(s, at).Step, ProjectRules.Next(s, at).Task!.Id));

        // a plan run's end carries the plan read from it; a paused project's events carry nothing
        var planning = Play(null, Created(), new ProjectStartRequested(Id, At), new ProjectActivated(Id, At), new ProjectRunStarted(Id, At, "plan1", ProjectRunPurpose.Plan, "planner-agent", "planner"));
        var plan = ProjectRules.WithPureSteps(planning, new ProjectRunEnded(Id, at, "plan1", ProjectRunOutcome.Ended, 0, "{\"tasks\": [{\"title\": \"Add limit\", \"description\": \"d\", \"priority\": 1, \"dependencies\": [], \"persona\": \"engineer\"}]}"), at);
        Assert.Equal([typeof(ProjectRunEnded), typeof(TasksPlanned)], plan.Select(e => e.GetType()));
        var paused = Play(stepwise, new ProjectPaused(Id, at, "paused by the operator"));
        Assert.Single(ProjectRules.WithPureSteps(paused, new ProjectChildAdded(Id, at, "p-000002"), at));
    }

    [Fact]
    public void A_failed_gate_hands_its_output_tail_to_the_next_attempt_and_max_attempts_block_the_task()
    {
        var s = Play(Planned(maxAttempts: 2), [.. Attempt("t1", 1, "r1", 0, Red)]);
        var decision = Assert.IsType<HandoffRecorded>(ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[0], At));
        Assert.Equal("failed: gates failed: tests (exit 1, expected 0)", decision.Verdict);
        Assert.Equal("FAILED test_limit: expected 429", decision.Handoff.Gates!.Single(g => g.Name == "tests").Output);
        Assert.Equal("sess-r1", decision.Handoff.SessionId);

        // the retry continues the failed run's CLI conversation; another persona would start its own
        Assert.Equal(new SessionResume("r1", "sess-r1"), ProjectRules.ResumeOf(decision.Handoff, s.Task("t1")!.Persona));
        Assert.Null(ProjectRules.ResumeOf(decision.Handoff, "not-" + s.Task("t1")!.Persona));
        Assert.Null(ProjectRules.ResumeOf(decision.Handoff with { SessionId = null }, s.Task("t1")!.Persona));
        s = Play(s, decision);

        var next = ProjectRules.Next(s, At);
        Assert.Equal((ProjectStep.Work, "t1", 2), (next.Step, next.Task!.Id, ProjectRules.AttemptNumber(next.Task, next.Attempt)));
        Assert.Same(decision.Handoff, ProjectRules.HandoffFor(s, next.Task, null));
        var prompt = ProjectPrompts.Task(s, new Persona { Name = "engineer", Body = "You are an engineer." }, next.Task, 2, decision.Handoff, ["tests"]);
        Assert.Contains("FAILED test_limit: expected 429", prompt);
        Assert.StartsWith("You are an engineer.", prompt);

        s = Play(s, [.. Attempt("t1", 2, "r2", 3)]);
        Assert.Equal(ProjectStep.Decide, ProjectRules.Next(s, At).Step); // a failed run is not gated
        var blocked = Assert.IsType<TaskBlocked>(ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[1], At));
        s = Play(s, blocked);

        Assert.Equal(ProjectTaskStatus.Blocked, s.Task("t1")!.Status);
        Assert.Contains("blocked: 2 attempt(s) failed; the last: the run exited with code 3", s.Task("t1")!.Notes);
        var fail = ProjectRules.Next(s, At);
        Assert.Equal(ProjectStep.Fail, fail.Step);
        Assert.Equal("no task can run: blocked t1; waiting for them: t2", fail.Reason);
    }

    [Fact]
    public void An_audit_reopens_an_incomplete_task_with_its_evidence_and_a_fresh_round_of_attempts()
    {
        var s = Play(Planned(maxAttempts: 1), [.. Attempt("t1", 1, "r1", 0, Green)]);
        s = Play(s, ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[0], At));
        s = Play(
            s,
            new ProjectRunStarted(Id, At.AddMinutes(4), "a1", ProjectRunPurpose.Audit, "rev", "reviewer"),
            new ProjectRunEnded(Id, At.AddMinutes(5), "a1", ProjectRunOutcome.Ended, 0, "{}"),
            new AuditRecorded(Id, At.AddMinutes(5), "a1", [new AuditVerdict("t1", false, "no limit on /login", 0.3)]));

        var t1 = s.Task("t1")!;
        Assert.Equal((ProjectTaskStatus.InProgress, 1, 2), (t1.Status, t1.Reopened, s.TaskListVersion));
        Assert.Contains("audit 1: incomplete (0.3): no limit on /login", t1.Notes);
        var next = ProjectRules.Next(s, At.AddMinutes(5));
        Assert.Equal((ProjectStep.Work, "t1"), (next.Step, next.Task!.Id));
        Assert.Contains("no limit on /login", ProjectRules.HandoffFor(s, next.Task, null)!.Reason);

        // the reopened task has max-attempts (1) attempts again: a failure blocks it
        s = Play(s, [.. Attempt("t1", 2, "r2", 0, Red)]);
        Assert.IsType<TaskBlocked>(ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[1], At));
    }

    [Fact]
    public void An_interrupted_run_continues_its_attempt_with_its_session()
    {
        var s = Play(
            Planned(),
            new ProjectRunStarted(Id, At.AddMinutes(1), "r1", ProjectRunPurpose.Task, "eng", "engineer", "t1", 1),
            new ProjectPaused(Id, At.AddMinutes(2), "df pause"),
            new ProjectRunEnded(Id, At.AddMinutes(2), "r1", ProjectRunOutcome.Interrupted, 143, SessionId: "sess-1"));

        Assert.Equal(ProjectStep.Idle, ProjectRules.Next(s, At.AddMinutes(3)).Step);
        s = Play(s, new ProjectStartRequested(Id, At.AddMinutes(10)), new ProjectActivated(Id, At.AddMinutes(11)));
        var next = ProjectRules.Next(s, At.AddMinutes(11));
        Assert.Equal((ProjectStep.Work, "t1", 1), (next.Step, next.Task!.Id, next.Attempt!.Number));
        Assert.Equal("sess-1", ProjectRules.HandoffFor(s, next.Task, next.Attempt)!.SessionId);
        Assert.Equal(new SessionResume("r1", "sess-1"), ProjectRules.ResumeOf(ProjectRules.HandoffFor(s, next.Task, next.Attempt), next.Task.Persona));

        s = Play(s, new ProjectRunStarted(Id, At.AddMinutes(11), "r1b", ProjectRunPurpose.Task, "eng", "engineer", "t1", 1));
        var attempt = Assert.Single(s.Task("t1")!.Attempts);
        Assert.Equal(("r1b", 1), (attempt.RunId, attempt.Interruptions));

        // the pause did not count: 1 min before it, 0 after the resume so far
        Assert.Equal(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1), ProjectRuntime.Used(s, At.AddMinutes(11)));
    }

    [Fact]
    public void Runtime_counts_only_while_active_and_an_extension_lifts_a_timeout()
    {
        var s = Play(null, Created(maxRuntime: TimeSpan.FromHours(1)), new ProjectStartRequested(Id, At), new ProjectActivated(Id, At));
        Assert.Equal(At.AddHours(1), ProjectRuntime.TimeoutAt(s));
        s = Play(s, new ProjectWaitingForCredits(Id, At.AddMinutes(20), "all providers limited", "t1"));
        Assert.Equal(TimeSpan.FromMinutes(20), ProjectRuntime.Used(s, At.AddHours(3)));
        Assert.Null(ProjectRuntime.TimeoutAt(s));
        Assert.Equal("t1", ProjectViews.Status(s, At).CurrentTask);

        s = Play(s, new ProjectActivated(Id, At.AddHours(3)));
        Assert.Equal(At.AddHours(3).AddMinutes(40), ProjectRuntime.TimeoutAt(s));
        Assert.Equal(ProjectStep.TimeOut, ProjectRules.Next(s, At.AddHours(3).AddMinutes(40)).Step);
        s = Play(s, new ProjectTimedOut(Id, At.AddHours(3).AddMinutes(40), TimeSpan.FromHours(1)));
        Assert.Equal((ProjectStatus.Timeout, ProjectStep.Idle), (s.Status, ProjectRules.Next(s, At.AddHours(5)).Step));

        s = Play(s, new ProjectStartRequested(Id, At.AddHours(5), TimeSpan.FromHours(2)), new ProjectActivated(Id, At.AddHours(5)));
        Assert.Equal(TimeSpan.FromHours(3), s.MaxRuntime);
        Assert.Equal(TimeSpan.FromHours(2), ProjectRuntime.Left(s, At.AddHours(5)));
        Assert.NotEqual(ProjectStep.TimeOut, ProjectRules.Next(s, At.AddHours(6)).Step);
    }

    [Fact]
    public void An_invalid_plan_is_retried_once_with_its_error_then_the_project_fails()
    {
        var s = Play(
            null,
            Created(),
            new ProjectStartRequested(Id, At),
            new ProjectActivated(Id, At),
            new ProjectRunStarted(Id, At, "plan1", ProjectRunPurpose.Plan, "p", "planner"),
            new ProjectRunEnded(Id, At, "plan1", ProjectRunOutcome.Ended, 0, "no json"),
            new PlanRejected(Id, At, "plan1", "no JSON object in the final output"));

        Assert.Equal(ProjectStep.Plan, ProjectRules.Next(s, At).Step);
        Assert.Contains("Your previous plan could not be read: no JSON object in the final output", ProjectPrompts.Plan(s, new Persona { Name = "planner" }, [new Persona { Name = "engineer" }]));

        s = Play(
            s,
            new ProjectRunStarted(Id, At, "plan2", ProjectRunPurpose.Plan, "p", "planner"),
            new ProjectRunEnded(Id, At, "plan2", ProjectRunOutcome.Ended, 0, "{}"),
            new PlanRejected(Id, At, "plan2", "tasks: missing"));

        var fail = ProjectRules.Next(s, At);
        Assert.Equal(ProjectStep.Fail, fail.Step);
        Assert.Equal("the planner's answer was invalid 2 times; the last: tasks: missing", fail.Reason);
    }

    [Fact]
    public void A_snapshot_round_trips_through_the_serializer_and_goes_on_like_the_original()
    {
        var s = Play(Planned(), [.. Attempt("t1", 1, "r1", 0, Red)]);
        s = Play(s, ProjectRules.Decide(s, s.Task("t1")!, s.Task("t1")!.Attempts[0], At));
        using var system = ActorSystem.Create("snap", ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))));
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)system);

        var back = (ProjectState)serializer.FromBinary(serializer.ToBinary(s), serializer.Manifest(s));

        Assert.Equal(Json(s), Json(back));
        Assert.Equal(ProjectRules.Next(s, At), ProjectRules.Next(back, At) with { Task = ProjectRules.Next(s, At).Task });
        Assert.Equal(Json(Play(s, [.. Attempt("t1", 2, "r2", 0, Green)])), Json(Play(back, [.. Attempt("t1", 2, "r2", 0, Green)])));
    }

    private static string Json(object o) => System.Text.Json.JsonSerializer.Serialize(o, o.GetType(), DarkFactory.Messages.DarkFactoryJson.Options);
}
