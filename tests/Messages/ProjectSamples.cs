using DarkFactory.Messages.Projects;
using DarkFactory.Messages.Review;

namespace DarkFactory.Messages.Tests;

/// <summary>One realistic sample of every project message (part of <see cref="SerializationTests.Samples"/>).</summary>
public static class ProjectSamples
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static readonly ProjectCreated Created = new(
        "p-3f9a2c", At, "auth-hardening", "Add rate limiting to the login endpoint, with tests", "/src/shop", "main", "df/auth-hardening/2026-12-07",
        "/data/worktrees/projects/p-3f9a2c", ["engineer", "tester"], TimeSpan.FromHours(12), TimeSpan.FromMinutes(30), 3, "planner", "reviewer", false);

    private static readonly GateResult Gate = new("tests", false, 1, 0, 812, Output: "FAILED test_login_limit");

    private static readonly HandoffContext Handoff = new("t1", "Add rate limiting", "attempt 1 failed: gates failed: tests (exit 1, expected 0)", "ab12", "engineer", "Added a limiter.", ["app/login.py"], [Gate], "sess-1", "claude");

    private static readonly ProjectTask Task = new()
    {
        Id = "t1",
        Title = "Add rate limiting",
        Description = "Limit /login to 5 attempts a minute",
        Status = ProjectTaskStatus.InProgress,
        Priority = 1,
        Persona = "engineer",
        CreatedAt = At,
        StartedAt = At,
        Attempts = [new TaskAttempt { Number = 1, RunId = "ab12", Agent = "engineer@p-3f9a2c", Cli = "claude", Provider = "anthropic", StartedAt = At, EndedAt = At.AddMinutes(3), ExitCode = 0, Committed = true, Commit = "c0ffee", FilesChanged = ["app/login.py"], Gates = [Gate], Verdict = "failed: gates failed: tests (exit 1, expected 0)", CostUsd = 0.12m }],
        PendingHandoff = Handoff,
    };

    private static readonly ProjectState State = new()
    {
        Created = Created,
        Status = ProjectStatus.Active,
        MaxRuntime = TimeSpan.FromHours(12),
        ActiveSince = At,
        StartedAt = At,
        TaskListVersion = 1,
        Tasks = [Task],
        CostUsd = 0.12m,
        InputTokens = 1200,
        OutputTokens = 340,
        Events = 9,
    };

    private static readonly ProjectView View = new()
    {
        Id = "p-3f9a2c",
        Name = "auth-hardening",
        Status = ProjectStatus.Active,
        Personas = ["engineer", "tester"],
        MaxRuntime = TimeSpan.FromHours(12),
        RuntimeUsed = TimeSpan.FromMinutes(4),
        CurrentTask = "t1",
        CurrentRun = new ProjectCurrentRun("cd34", ProjectRunPurpose.Task, "engineer@p-3f9a2c", "engineer", "t1", 2),
        Tasks = new ProjectTaskCounts(2, 1, 1, 0, 0, 0),
    };

    private static readonly ProjectTaskView TaskView = new()
    {
        Id = "t1",
        Title = "Add rate limiting",
        Status = ProjectTaskStatus.InProgress,
        Priority = 1,
        Persona = "engineer",
        Attempts = [new ProjectAttemptView { Number = 1, RunId = "ab12", Agent = "engineer@p-3f9a2c", Cli = "claude", ExitCode = 0, Gates = [new ProjectGateView("tests", false, 1, 812)] }],
    };

    public static readonly IReadOnlyList<IDarkFactoryMessage> All =
    [
        Created,
        Created with { Parent = "p-000001" },
        new ProjectStartRequested("p-3f9a2c", At, TimeSpan.FromHours(2)),
        new ProjectActivated("p-3f9a2c", At),
        new ProjectPaused("p-3f9a2c", At, "df pause"),
        new ProjectTimedOut("p-3f9a2c", At, TimeSpan.FromHours(12)),
        new ProjectWaitingForCredits("p-3f9a2c", At, "all providers limited; polling", "t1"),
        new ProjectRunStarted("p-3f9a2c", At, "ab12", ProjectRunPurpose.Task, "engineer@p-3f9a2c", "engineer", "t1", 2, Handoff),
        new ProjectRunEnded("p-3f9a2c", At, "ab12", ProjectRunOutcome.Ended, 0, "Done: limiter added.", "sess-1", "claude", "anthropic", "claude-sonnet-4-5", "own", 0.12m, 1200, 340, "exited"),
        new PlanRejected("p-3f9a2c", At, "ab11", "tasks[1].persona: 'designer' is not one of the project's personas (engineer, tester)"),
        new TasksPlanned("p-3f9a2c", At, "ab11", [Task with { Status = ProjectTaskStatus.Pending, Attempts = [], PendingHandoff = null }]),
        new CommitIntended("p-3f9a2c", At, "t1", 1, "Add rate limiting\n\nDF-Attempt: p-3f9a2c/t1/1"),
        new AttemptCommitted("p-3f9a2c", At, "t1", 1, "c0ffee", ["app/login.py"]),
        new AttemptGated("p-3f9a2c", At, "t1", 1, [Gate]),
        new TaskCompleted("p-3f9a2c", At, "t1", 2, "attempt 2 passed: tests passed"),
        new HandoffRecorded("p-3f9a2c", At, "t1", 1, "failed: gates failed: tests (exit 1, expected 0)", Handoff),
        new TaskBlocked("p-3f9a2c", At, "t1", 3, "3 attempt(s) failed; the last: the run exited with code 1"),
        new AuditRecorded("p-3f9a2c", At, "ef56", [new AuditVerdict("t1", false, "no test covers the limit", 0.4)]),
        new AuditRecorded("p-3f9a2c", At, "ef56", [], "no JSON object in the final output"),
        new ProjectReportWritten("p-3f9a2c", At, "/data/projects/p-3f9a2c/report.md"),
        new ProjectPrIntended("p-3f9a2c", At, "df/auth-hardening/2026-12-07", "auth-hardening", "## Tasks"),
        new ProjectPrOpened("p-3f9a2c", At, 7, "https://github.com/acme/shop/pull/7"),
        new ProjectCompleted("p-3f9a2c", At),
        new ProjectFailed("p-3f9a2c", At, "no task can run: blocked t1"),
        new ProjectChildAdded("p-3f9a2c", At, "p-000002"),
        State,
        new ProjectRegistered("p-3f9a2c", "auth-hardening", At),
        new ProjectRegistrySnapshot([new ProjectRegistered("p-3f9a2c", "auth-hardening", At)]),
        new InitProject("auth-hardening", "Add rate limiting", ["engineer", "tester"], "/src/shop", "main", TimeSpan.FromHours(12), true),
        new StartProject("p-3f9a2c"),
        new PauseProject("auth-hardening"),
        new ResumeProject("p-3f9a2c", TimeSpan.FromHours(2)),
        new ProjectCommandResult(true, ProjectCommandOutcome.Created, "project p-3f9a2c created", View),
        new GetProjects(ProjectStatus.Active),
        new ProjectsList([View]),
        new GetProject("p-3f9a2c"),
        new ProjectFound("p-3f9a2c", View),
        new ProjectFound("p-3f9a2c", null, Recovering: true),
        new GetProjectTasks("p-3f9a2c"),
        new ProjectTasksFound("p-3f9a2c", [TaskView]),
        new GetProjectState("p-3f9a2c"),
        new ProjectStateFound("p-3f9a2c", State),
        View,
        new ProjectStateChanged(State),
        new ProjectsExpected(["p-3f9a2c"]),
    ];

    /// <summary>Storage contracts: changing one of these breaks every stored project journal.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Pinned = new Dictionary<string, Type>
    {
        ["project-created"] = typeof(ProjectCreated),
        ["project-start-requested"] = typeof(ProjectStartRequested),
        ["project-activated"] = typeof(ProjectActivated),
        ["project-paused"] = typeof(ProjectPaused),
        ["project-timed-out"] = typeof(ProjectTimedOut),
        ["project-waiting-for-credits"] = typeof(ProjectWaitingForCredits),
        ["project-run-started"] = typeof(ProjectRunStarted),
        ["project-run-ended"] = typeof(ProjectRunEnded),
        ["project-plan-rejected"] = typeof(PlanRejected),
        ["project-tasks-planned"] = typeof(TasksPlanned),
        ["project-commit-intended"] = typeof(CommitIntended),
        ["project-attempt-committed"] = typeof(AttemptCommitted),
        ["project-attempt-gated"] = typeof(AttemptGated),
        ["project-task-completed"] = typeof(TaskCompleted),
        ["project-handoff-recorded"] = typeof(HandoffRecorded),
        ["project-task-blocked"] = typeof(TaskBlocked),
        ["project-audit-recorded"] = typeof(AuditRecorded),
        ["project-report-written"] = typeof(ProjectReportWritten),
        ["project-pr-intended"] = typeof(ProjectPrIntended),
        ["project-pr-opened"] = typeof(ProjectPrOpened),
        ["project-completed"] = typeof(ProjectCompleted),
        ["project-failed"] = typeof(ProjectFailed),
        ["project-child-added"] = typeof(ProjectChildAdded),
        ["project-state"] = typeof(ProjectState),
        ["project-registered"] = typeof(ProjectRegistered),
        ["projects-registry-snapshot"] = typeof(ProjectRegistrySnapshot),
    };
}
