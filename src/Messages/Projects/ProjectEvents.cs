using DarkFactory.Messages.Review;

namespace DarkFactory.Messages.Projects;

/// <summary>
/// A persisted step of a project (journal <c>project-&lt;id&gt;</c>). Storage contracts: add fields with
/// defaults, never rename; the manifests stay.
/// </summary>
public interface IProjectEvent : IDarkFactoryMessage
{
    string ProjectId { get; }

    DateTimeOffset At { get; }
}

/// <summary><c>df init</c>: the project with the settings it keeps (a reload of fleet.yaml does not change them).</summary>
/// <param name="WorkBranch">df/&lt;slug&gt;/&lt;yyyy-mm-dd&gt; (-2 … when taken), created with the worktree before this event.</param>
/// <param name="Worktree">The project's own worktree (push disabled); every run of the project works in it.</param>
/// <param name="Planner">The persona that plans (<c>projects.planner</c>).</param>
/// <param name="Auditor">The persona that audits (<c>projects.auditor</c>).</param>
/// <param name="Parent">The project this one was forked from (decision branches); null for a root project.</param>
[Manifest("project-created")]
public sealed record ProjectCreated(
    string ProjectId,
    DateTimeOffset At,
    string Name,
    string Description,
    string Repo,
    string BaseBranch,
    string WorkBranch,
    string Worktree,
    IReadOnlyList<string> Personas,
    TimeSpan MaxRuntime,
    TimeSpan AuditInterval,
    int MaxAttempts,
    string Planner,
    string Auditor,
    bool CreatePr,
    string? Parent = null) : IProjectEvent;

/// <summary><c>df start</c> or <c>df resume</c>: the project wants to run (it becomes active when one of <c>projects.concurrency</c> slots is free).</summary>
/// <param name="Extend">Added to the max runtime (<c>df resume ID --extend 2h</c>).</param>
[Manifest("project-start-requested")]
public sealed record ProjectStartRequested(string ProjectId, DateTimeOffset At, TimeSpan? Extend = null) : IProjectEvent;

/// <summary>The project runs (a slot was free, or a route returned after waiting for credits); its runtime counts from here.</summary>
[Manifest("project-activated")]
public sealed record ProjectActivated(string ProjectId, DateTimeOffset At) : IProjectEvent;

/// <summary><c>df pause</c>: the current run is stopped gracefully; its task continues on resume.</summary>
[Manifest("project-paused")]
public sealed record ProjectPaused(string ProjectId, DateTimeOffset At, string Reason) : IProjectEvent;

/// <summary>Past the max runtime: the current run is stopped gracefully, the state kept.</summary>
[Manifest("project-timed-out")]
public sealed record ProjectTimedOut(string ProjectId, DateTimeOffset At, TimeSpan RuntimeUsed) : IProjectEvent;

/// <summary>No provider can take the run (all limited or over budget): it starts when the router finds a route.</summary>
[Manifest("project-waiting-for-credits")]
public sealed record ProjectWaitingForCredits(string ProjectId, DateTimeOffset At, string Reason, string? TaskId = null) : IProjectEvent;

/// <summary>A run of the project started (its id joins its output, route, cost and lifecycle events).</summary>
/// <param name="Attempt">For a task run: the attempt it belongs to (an interrupted attempt continues in a new run).</param>
/// <param name="Handoff">The context the run was given.</param>
[Manifest("project-run-started")]
public sealed record ProjectRunStarted(
    string ProjectId,
    DateTimeOffset At,
    string RunId,
    ProjectRunPurpose Purpose,
    string Agent,
    string Persona,
    string? TaskId = null,
    int? Attempt = null,
    HandoffContext? Handoff = null) : IProjectEvent;

/// <summary>A run of the project ended, with what the daemon read from it.</summary>
/// <param name="FinalMessage">The run's final output (bounded): a planner's or auditor's answer, a worker's summary.</param>
/// <param name="SessionId">The CLI's session id, when it printed one (a retry can resume it).</param>
/// <param name="Detail">Why it ended, for people (never read by the daemon).</param>
[Manifest("project-run-ended")]
public sealed record ProjectRunEnded(
    string ProjectId,
    DateTimeOffset At,
    string RunId,
    ProjectRunOutcome Outcome,
    int? ExitCode = null,
    string? FinalMessage = null,
    string? SessionId = null,
    string? Cli = null,
    string? Provider = null,
    string? Model = null,
    string? Route = null,
    decimal CostUsd = 0,
    long InputTokens = 0,
    long OutputTokens = 0,
    string? Detail = null) : IProjectEvent;

/// <summary>The planner's answer was not a valid task list: the next plan run gets the error (once), or the project fails.</summary>
[Manifest("project-plan-rejected")]
public sealed record PlanRejected(string ProjectId, DateTimeOffset At, string RunId, string Error) : IProjectEvent;

/// <summary>The planner's answer, as the project's task list (version 1).</summary>
[Manifest("project-tasks-planned")]
public sealed record TasksPlanned(string ProjectId, DateTimeOffset At, string RunId, IReadOnlyList<ProjectTask> Tasks) : IProjectEvent;

/// <summary>Recorded before the daemon commits an attempt's changes: a restart finds the commit (by its trailer) instead of making another.</summary>
[Manifest("project-commit-intended")]
public sealed record CommitIntended(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, string Message) : IProjectEvent;

/// <summary>The attempt's changes committed in the worktree (null commit: nothing changed).</summary>
[Manifest("project-attempt-committed")]
public sealed record AttemptCommitted(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, string? Commit, IReadOnlyList<string> Files) : IProjectEvent;

/// <summary>The persona's acceptance criteria, run as gates in the worktree.</summary>
[Manifest("project-attempt-gated")]
public sealed record AttemptGated(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, IReadOnlyList<GateResult> Results) : IProjectEvent
{
    public bool Passed => Results.All(r => r.Passed);
}

[Manifest("project-task-completed")]
public sealed record TaskCompleted(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, string? Note = null) : IProjectEvent;

/// <summary>An attempt failed (its run or its gates); the next attempt gets this context.</summary>
[Manifest("project-handoff-recorded")]
public sealed record HandoffRecorded(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, string Verdict, HandoffContext Handoff) : IProjectEvent;

/// <summary>The task failed max-attempts times; what depends on it waits, the rest goes on.</summary>
[Manifest("project-task-blocked")]
public sealed record TaskBlocked(string ProjectId, DateTimeOffset At, string TaskId, int Attempt, string Reason) : IProjectEvent;

/// <summary>An audit's verdicts; an incomplete task goes back to in_progress with the evidence in its notes.</summary>
/// <param name="Error">The answer could not be read (nothing changes; the audit runs once more).</param>
[Manifest("project-audit-recorded")]
public sealed record AuditRecorded(string ProjectId, DateTimeOffset At, string RunId, IReadOnlyList<AuditVerdict> Verdicts, string? Error = null) : IProjectEvent;

[Manifest("project-report-written")]
public sealed record ProjectReportWritten(string ProjectId, DateTimeOffset At, string Path) : IProjectEvent;

/// <summary>Recorded before anything is pushed or asked of the forge: a restart looks the PR up instead of opening another.</summary>
[Manifest("project-pr-intended")]
public sealed record ProjectPrIntended(string ProjectId, DateTimeOffset At, string Branch, string Title, string Body) : IProjectEvent;

[Manifest("project-pr-opened")]
public sealed record ProjectPrOpened(string ProjectId, DateTimeOffset At, int Number, string Url, bool Existing = false) : IProjectEvent;

[Manifest("project-completed")]
public sealed record ProjectCompleted(string ProjectId, DateTimeOffset At, string? Note = null) : IProjectEvent;

[Manifest("project-failed")]
public sealed record ProjectFailed(string ProjectId, DateTimeOffset At, string Reason) : IProjectEvent;

/// <summary>A project was forked from this one (decision branches).</summary>
[Manifest("project-child-added")]
public sealed record ProjectChildAdded(string ProjectId, DateTimeOffset At, string ChildId) : IProjectEvent;

/// <summary>
/// A project's whole state, derived from its events alone (the snapshot of its journal, and what the read
/// model keeps). <see cref="Created"/> holds the settings it was made with.
/// </summary>
[Manifest("project-state")]
public sealed record ProjectState : IDarkFactoryMessage
{
    public required ProjectCreated Created { get; init; }
    public ProjectStatus Status { get; init; } = ProjectStatus.Initializing;

    /// <summary>Started or resumed, waiting for a slot (<c>projects.concurrency</c>).</summary>
    public bool StartRequested { get; init; }

    /// <summary>The max runtime with every <c>--extend</c> added.</summary>
    public TimeSpan MaxRuntime { get; init; }

    /// <summary>Runtime of the active periods that ended.</summary>
    public TimeSpan RuntimeBefore { get; init; }

    /// <summary>When the current active period began; null while not active.</summary>
    public DateTimeOffset? ActiveSince { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>0 until planned; +1 for every audit that reopened tasks.</summary>
    public int TaskListVersion { get; init; }
    public IReadOnlyList<ProjectTask> Tasks { get; init; } = [];

    /// <summary>The plan run going or last ended (null once its answer is read).</summary>
    public ProjectRun? PlanRun { get; init; }
    public int PlanRejections { get; init; }
    public string? LastPlanError { get; init; }

    /// <summary>The audit run going or last ended (null once its answer is read).</summary>
    public ProjectRun? AuditRun { get; init; }
    public int Audits { get; init; }
    public int AuditErrors { get; init; }
    public string? LastAuditError { get; init; }

    /// <summary>Tasks completed since the last audit (an audit is due when there are any).</summary>
    public int CompletedSinceAudit { get; init; }

    /// <summary>Runtime used when the last audit was recorded.</summary>
    public TimeSpan RuntimeAtLastAudit { get; init; }

    /// <summary>The run going: its id (a task's, the plan's or the audit's).</summary>
    public string? CurrentRunId { get; init; }
    public string? WaitingTaskId { get; init; }
    public CommitIntended? PendingCommit { get; init; }
    public string? ReportPath { get; init; }
    public ProjectPrIntended? PrIntent { get; init; }
    public ProjectPrOpened? Pr { get; init; }
    public string? Error { get; init; }
    public string? Note { get; init; }
    public decimal CostUsd { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public IReadOnlyList<string> Children { get; init; } = [];

    /// <summary>Every run the project started, in order, with its cost and tokens once it ended (absent in states written before it: empty).</summary>
    public IReadOnlyList<ProjectRunCost> Runs { get; init; } = [];

    /// <summary>Events applied (for the snapshot interval and the benchmarks).</summary>
    public long Events { get; init; }
}

// ---------------------------------------------------------------- the registry (journal "projects")

/// <summary>A project's id and name, kept by the registry so the daemon knows every project to recover.</summary>
[Manifest("project-registered")]
public sealed record ProjectRegistered(string ProjectId, string Name, DateTimeOffset At) : IDarkFactoryMessage;

[Manifest("projects-registry-snapshot")]
public sealed record ProjectRegistrySnapshot(IReadOnlyList<ProjectRegistered> Projects) : IDarkFactoryMessage;
