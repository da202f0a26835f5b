using DarkFactory.Messages.Review;

namespace DarkFactory.Messages.Projects;

/// <summary>A project's status (JSON: initializing, active, paused, waiting_for_credits, completed, failed, timeout).</summary>
public enum ProjectStatus
{
    /// <summary>Created by <c>df init</c>, not started yet (or started and queued behind <c>projects.concurrency</c>).</summary>
    Initializing,

    Active,

    Paused,

    /// <summary>Every provider is limited or over budget: the run waits for the router to find a route again.</summary>
    WaitingForCredits,

    Completed,

    Failed,

    /// <summary>Past its max runtime: the run was stopped, the state kept (<c>df resume ID --extend 2h</c> continues).</summary>
    Timeout,
}

/// <summary>A task's status (JSON: pending, in_progress, blocked, completed, skipped).</summary>
public enum ProjectTaskStatus
{
    Pending,
    InProgress,

    /// <summary>Failed its acceptance criteria max-attempts times; tasks that depend on it wait.</summary>
    Blocked,
    Completed,
    Skipped,
}

/// <summary>What a run of a project is for.</summary>
public enum ProjectRunPurpose
{
    /// <summary>The planner persona turns the description into a task list.</summary>
    Plan,

    /// <summary>A persona works on a task.</summary>
    Task,

    /// <summary>The auditor persona verifies completed tasks against the worktree.</summary>
    Audit,
}

/// <summary>How a project's run ended.</summary>
public enum ProjectRunOutcome
{
    /// <summary>The process exited by itself (any exit code).</summary>
    Ended,

    /// <summary>Stopped for the project (pause, timeout) or the daemon (shutdown, restart): the work continues in a new run.</summary>
    Interrupted,

    /// <summary>The agent could not run (its CLI is missing, its declaration cannot be launched).</summary>
    Unavailable,
}

/// <summary>
/// What is handed to the next run of a task: the task, what the previous run said last, the files it changed,
/// the gate results (a failure's output tail is the feedback), and the CLI session id when the next run can
/// resume that conversation (same agent and CLI).
/// </summary>
/// <param name="Reason">Why there is a next run: a retry after failed gates, the next persona's turn, a resumed run.</param>
public sealed record HandoffContext(
    string TaskId,
    string TaskTitle,
    string Reason,
    string? FromRunId = null,
    string? FromPersona = null,
    string? FinalMessage = null,
    IReadOnlyList<string>? ChangedFiles = null,
    IReadOnlyList<GateResult>? Gates = null,
    string? SessionId = null,
    string? Cli = null);

/// <summary>One attempt at a task: a run of its persona's agent, the daemon's commit of what it changed, the gates.</summary>
/// <param name="Number">1-based; a run that was interrupted (pause, timeout, daemon restart) continues the same attempt in a new run.</param>
/// <param name="Interruptions">Runs of this attempt that were interrupted before they ended.</param>
public sealed record TaskAttempt
{
    public int Number { get; init; }
    public required string RunId { get; init; }
    public required string Agent { get; init; }
    public string? Cli { get; init; }
    public string? Provider { get; init; }
    public string? Model { get; init; }

    /// <summary>Why the router chose that route (null when the agent ran as declared).</summary>
    public string? Route { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public int? ExitCode { get; init; }
    public string? SessionId { get; init; }

    /// <summary>The run's final message (bounded).</summary>
    public string? FinalMessage { get; init; }
    /// <summary>The daemon committed what the run changed (<see cref="Commit"/> is null when it changed nothing).</summary>
    public bool Committed { get; init; }
    public string? Commit { get; init; }
    public IReadOnlyList<string> FilesChanged { get; init; } = [];
    public IReadOnlyList<GateResult> Gates { get; init; } = [];

    /// <summary>The context this attempt's run was given.</summary>
    public HandoffContext? Handoff { get; init; }
    public int Interruptions { get; init; }
    public decimal CostUsd { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }

    /// <summary>Failed, retried or passed: the attempt's verdict (null while it runs).</summary>
    public string? Verdict { get; init; }
}

/// <summary>A task of a project's task list.</summary>
public sealed record ProjectTask
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public string Description { get; init; } = string.Empty;
    public ProjectTaskStatus Status { get; init; }

    /// <summary>1 (highest) to 5 (lowest).</summary>
    public int Priority { get; init; } = 3;

    /// <summary>Ids of the tasks that must be completed first.</summary>
    public IReadOnlyList<string> Dependencies { get; init; } = [];
    public required string Persona { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The audit's confidence that the task is complete (0..1); null until audited.</summary>
    public double? Confidence { get; init; }

    /// <summary>Verification notes: gate verdicts, audit evidence, why it was blocked.</summary>
    public string? Notes { get; init; }
    public IReadOnlyList<TaskAttempt> Attempts { get; init; } = [];

    /// <summary>Times an audit sent it back to in_progress.</summary>
    public int Reopened { get; init; }

    /// <summary>Attempts made before the last reopening (each reopening gives max-attempts more).</summary>
    public int AttemptsAtReopen { get; init; }

    /// <summary>What the next attempt is given (after a failed attempt or an audit that reopened the task).</summary>
    public HandoffContext? PendingHandoff { get; init; }
}

/// <summary>A plan or audit run of a project (task runs are kept in their <see cref="TaskAttempt"/>).</summary>
public sealed record ProjectRun
{
    public required string RunId { get; init; }
    public ProjectRunPurpose Purpose { get; init; }
    public required string Agent { get; init; }
    public required string Persona { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public int? ExitCode { get; init; }
    public string? FinalMessage { get; init; }
    public string? Cli { get; init; }
    public string? Provider { get; init; }
}

/// <summary>One run of a project as its cost ledger (<c>df costs ID</c>) counts it: who ran it for what, and what it cost once it ended.</summary>
/// <param name="TaskId">Null for the plan and audit runs.</param>
public sealed record ProjectRunCost
{
    public required string RunId { get; init; }
    public ProjectRunPurpose Purpose { get; init; }
    public string? TaskId { get; init; }
    public required string Persona { get; init; }
    public required string Agent { get; init; }
    public string? Cli { get; init; }
    public string? Provider { get; init; }
    public string? Model { get; init; }
    public decimal CostUsd { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
}

/// <summary>The audit's verdict on one task.</summary>
public sealed record AuditVerdict(string TaskId, bool Complete, string Evidence, double? Confidence);
