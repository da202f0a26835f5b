using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Review;

namespace DarkFactory.Messages.Projects;

/// <summary>Messages addressed to one project: by its id, or by its name (names are unique).</summary>
public interface IWithProject
{
    string Project { get; }
}

// ---------------------------------------------------------------- commands (answered with ProjectCommandResult)

/// <summary><c>df init</c>: checked (personas, repository, base branch, name, max runtime), the worktree made, the project recorded.</summary>
/// <param name="MaxRuntime">Null: <c>projects.max_runtime</c>.</param>
/// <param name="CreatePr">Null: <c>projects.create_pr</c>.</param>
[Manifest("init-project")]
public sealed record InitProject(
    string Name,
    string Description,
    IReadOnlyList<string> Personas,
    string Repo,
    string BaseBranch = "main",
    TimeSpan? MaxRuntime = null,
    bool? CreatePr = null,
    string? Parent = null) : IDarkFactoryMessage;

[Manifest("start-project")]
public sealed record StartProject(string Project) : IDarkFactoryMessage, IWithProject;

[Manifest("pause-project")]
public sealed record PauseProject(string Project) : IDarkFactoryMessage, IWithProject;

/// <param name="Extend">Added to the max runtime (a project that timed out continues with it).</param>
[Manifest("resume-project")]
public sealed record ResumeProject(string Project, TimeSpan? Extend = null) : IDarkFactoryMessage, IWithProject;

/// <summary>What a project command did, for programs (the message is for people).</summary>
public enum ProjectCommandOutcome
{
    Created,
    Started,

    /// <summary>Started or resumed, waiting for a slot (<c>projects.concurrency</c> projects run at once).</summary>
    Queued,
    Paused,
    Resumed,

    /// <summary>Nothing to do: it already is what was asked (active, paused).</summary>
    Unchanged,

    /// <summary>Refused: no project with that id or name.</summary>
    NotFound,

    /// <summary>Refused: bad input (the message names the field); nothing was changed.</summary>
    Invalid,

    /// <summary>Refused: the project's status does not allow it (start of a completed project).</summary>
    Refused,
}

[Manifest("project-command-result")]
public sealed record ProjectCommandResult(bool Ok, ProjectCommandOutcome Outcome, string Message, ProjectView? Project = null) : IDarkFactoryMessage;

// ---------------------------------------------------------------- queries (answered by the read model)

/// <summary>All projects (newest first), or those with one status.</summary>
[Manifest("get-projects")]
public sealed record GetProjects(ProjectStatus? Status = null) : IDarkFactoryMessage, ISingletonRead;

[Manifest("projects-list")]
public sealed record ProjectsList(IReadOnlyList<ProjectView> Projects) : IDarkFactoryMessage;

[Manifest("get-project")]
public sealed record GetProject(string Project) : IDarkFactoryMessage, IWithProject, ISingletonRead;

/// <summary>
/// The answer to a query about one project: null when there is none — or, with <paramref name="Recovering"/>, when the
/// project is journaled but has not reported since the daemon started (its actor is still recovering; ask again).
/// </summary>
[Manifest("project-found")]
public sealed record ProjectFound(string Project, ProjectView? View, bool Recovering = false) : IDarkFactoryMessage;

[Manifest("get-project-tasks")]
public sealed record GetProjectTasks(string Project) : IDarkFactoryMessage, IWithProject, ISingletonRead;

[Manifest("project-tasks-found")]
public sealed record ProjectTasksFound(string Project, IReadOnlyList<ProjectTaskView>? Tasks, bool Recovering = false) : IDarkFactoryMessage;

/// <summary>The whole recorded state (export, costs); answered with <see cref="ProjectStateFound"/>.</summary>
[Manifest("get-project-state")]
public sealed record GetProjectState(string Project) : IDarkFactoryMessage, IWithProject, ISingletonRead;

[Manifest("project-state-found")]
public sealed record ProjectStateFound(string Project, ProjectState? State, bool Recovering = false) : IDarkFactoryMessage;

// ---------------------------------------------------------------- views (the API's JSON)

public sealed record ProjectTaskCounts(int Total, int Pending, int InProgress, int Blocked, int Completed, int Skipped);

/// <summary>The run a project has going.</summary>
public sealed record ProjectCurrentRun(string RunId, ProjectRunPurpose Purpose, string Agent, string Persona, string? TaskId = null, int? Attempt = null);

/// <summary>A project as <c>df status ID --json</c> and <c>GET /api/projects/{id}</c> give it.</summary>
[Manifest("project-view")]
public sealed record ProjectView : IDarkFactoryMessage
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public ProjectStatus Status { get; init; }
    public string Description { get; init; } = string.Empty;
    public string Repo { get; init; } = string.Empty;
    public string BaseBranch { get; init; } = string.Empty;
    public string WorkBranch { get; init; } = string.Empty;
    public string Worktree { get; init; } = string.Empty;
    public IReadOnlyList<string> Personas { get; init; } = [];
    public TimeSpan MaxRuntime { get; init; }
    public TimeSpan RuntimeUsed { get; init; }
    public decimal CostUsd { get; init; }

    /// <summary>Input + output tokens of every run.</summary>
    public long Tokens { get; init; }

    /// <summary>The id of the task being worked on (null between tasks).</summary>
    public string? CurrentTask { get; init; }
    public ProjectTaskCounts Tasks { get; init; } = new(0, 0, 0, 0, 0, 0);
    public string? Parent { get; init; }
    public IReadOnlyList<string> Children { get; init; } = [];

    // beyond the contract
    public bool Queued { get; init; }
    public TimeSpan RuntimeLeft { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public ProjectCurrentRun? CurrentRun { get; init; }
    public int TaskListVersion { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? ReportPath { get; init; }
    public string? PrUrl { get; init; }
    public string? Error { get; init; }
    public string? Note { get; init; }
}

public sealed record ProjectGateView(string Name, bool Passed, int? ExitCode, long DurationMs = 0, bool TimedOut = false);

public sealed record ProjectAttemptView
{
    public int Number { get; init; }
    public required string RunId { get; init; }
    public required string Agent { get; init; }
    public string? Cli { get; init; }
    public string? Provider { get; init; }
    public string? Model { get; init; }
    public int? ExitCode { get; init; }
    public IReadOnlyList<ProjectGateView> Gates { get; init; } = [];
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? Commit { get; init; }
    public IReadOnlyList<string> FilesChanged { get; init; } = [];
    public string? Verdict { get; init; }
    public string? HandoffReason { get; init; }
    public string? SessionId { get; init; }
    public decimal CostUsd { get; init; }
}

/// <summary>A task as <c>df tasks ID --json</c> and <c>GET /api/projects/{id}/tasks</c> give it.</summary>
public sealed record ProjectTaskView
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public ProjectTaskStatus Status { get; init; }
    public int Priority { get; init; }
    public IReadOnlyList<string> Dependencies { get; init; } = [];
    public required string Persona { get; init; }
    public double? Confidence { get; init; }
    public string? Notes { get; init; }
    public IReadOnlyList<ProjectAttemptView> Attempts { get; init; } = [];
    public string Description { get; init; } = string.Empty;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public int Reopened { get; init; }
}

/// <summary>
/// A project actor -> the read model (<c>project-views</c>): its state after each persisted event, so queries never
/// wait behind a journal write. <see cref="ProjectsExpected"/> from the registry tells the read model which
/// projects exist, so a journaled project is never reported unknown while it recovers.
/// </summary>
[Manifest("project-state-changed")]
public sealed record ProjectStateChanged(ProjectState State) : IDarkFactoryMessage;

[Manifest("projects-expected")]
public sealed record ProjectsExpected(IReadOnlyList<string> ProjectIds) : IDarkFactoryMessage;

/// <summary>One line of a project's costs: its runs grouped by a task, a persona or a provider.</summary>
public sealed record ProjectCostRow(string Key, int Runs, long InputTokens, long OutputTokens, decimal CostUsd);

/// <summary>
/// <c>df costs ID</c> and <c>GET /api/projects/{id}/costs</c>: what the project's runs cost, by task (the plan and
/// audit runs as <c>plan</c> and <c>audit</c>), by persona and by provider (<c>none</c> for a run without one).
/// </summary>
public sealed record ProjectCostReport(
    string Id,
    string Name,
    decimal TotalUsd,
    long Tokens,
    IReadOnlyList<ProjectCostRow> ByTask,
    IReadOnlyList<ProjectCostRow> ByPersona,
    IReadOnlyList<ProjectCostRow> ByProvider);
