using System.Text.Json.Serialization;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Scheduling;

namespace DarkFactory.Messages.Review;

/// <summary>What started a review. Stored as manual | schedule | catch-up.</summary>
public enum ReviewTrigger
{
    /// <summary>df review run (POST /api/reviews).</summary>
    Manual,

    /// <summary>A firing of compound_review.schedule.</summary>
    Schedule,

    /// <summary>Firings missed while the daemon was down, caught up on start (compound_review.catch_up).</summary>
    [JsonStringEnumMemberName("catch-up")]
    CatchUp,
}

/// <summary>The stages of a review as the operator sees them, and the stage a failure is recorded at.</summary>
public enum ReviewStage
{
    Scan,
    Assign,
    Agent,
    Gates,
    Pr,
    DryRun,

    /// <summary>The review as a whole (a failure outside any stage).</summary>
    Review,
}

/// <summary>What kind of thing a compound review found (see docs/architecture.md for the priority of each).</summary>
public enum FindingKind
{
    Escalation,
    Quarantine,
    Revert,
    DriftIncident,
    FailedRuns,
    TodoAdded,
    LargeDiff,
    Hotspot,
}

/// <summary>One ranked finding of a review's scan: what was found, where, and why it matters.</summary>
/// <param name="Priority">Higher is more urgent; the review works on the highest.</param>
/// <param name="Where">A file (path:line), a commit (short sha) or an agent.</param>
/// <param name="Slug">Short lower-case words for the branch name.</param>
public sealed record Finding(FindingKind Kind, int Priority, string Title, string Where, string Why, string Slug, DateTimeOffset? At = null);

/// <summary>The outcome of one quality gate run in the review's worktree. Output is the bounded tail of stdout+stderr.</summary>
public sealed record GateResult(string Name, bool Passed, int? ExitCode, int ExpectExit, long DurationMs, bool TimedOut = false, string Output = "");

// ---------------------------------------------------------------- persisted events (storage contracts)

/// <summary>A persisted step of a compound review. Storage contracts: add fields with defaults, never rename.</summary>
public interface IReviewEvent : IDarkFactoryMessage
{
    string ReviewId { get; }

    DateTimeOffset At { get; }
}

/// <summary>The review began: the settings it runs with are fixed here, so a reload mid-review changes nothing.</summary>
[Manifest("review-started")]
public sealed record ReviewStarted(
    string ReviewId,
    DateTimeOffset At,
    ReviewTrigger Trigger,
    string Repo,
    string BaseBranch,
    string? Agent,
    bool CreatePrs,
    TimeSpan MaxDuration) : IReviewEvent;

/// <summary>The scan's findings, ranked (highest priority first). Empty: nothing to work on.</summary>
[Manifest("review-findings-recorded")]
public sealed record FindingsRecorded(string ReviewId, DateTimeOffset At, IReadOnlyList<Finding> Findings, int CommitsScanned = 0) : IReviewEvent;

/// <summary>The top finding written up as a task for the agent, with the branch and worktree it gets (recorded before the worktree exists).</summary>
/// <param name="ChosenBy">Why this agent: "compound_review.agent", or the router's best fit by capabilities and its route (null in journals written before it was recorded).</param>
[Manifest("review-task-assigned")]
public sealed record TaskAssigned(string ReviewId, DateTimeOffset At, string Agent, string Task, string Branch, string Worktree, string? ChosenBy = null) : IReviewEvent;

/// <summary>A run of the agent was started in the worktree (a daemon restart before it finished starts another).</summary>
[Manifest("review-agent-started")]
public sealed record ReviewAgentStarted(string ReviewId, DateTimeOffset At, string RunId) : IReviewEvent;

/// <summary>The agent's run ended; the daemon committed what it left in the worktree.</summary>
/// <param name="Summary">The tail of what the run printed (empty: it printed nothing, or it could not be read).</param>
/// <param name="SummaryUnavailable">Why <paramref name="Summary"/> could not be read (a run on another node that did not answer); null when it was.</param>
[Manifest("review-agent-finished")]
public sealed record ReviewAgentFinished(
    string ReviewId,
    DateTimeOffset At,
    string RunId,
    bool Success,
    int? ExitCode,
    string Summary,
    string? Commit = null,
    IReadOnlyList<string>? FilesChanged = null,
    string? SummaryUnavailable = null) : IReviewEvent;

[Manifest("review-gates-evaluated")]
public sealed record GatesEvaluated(string ReviewId, DateTimeOffset At, IReadOnlyList<GateResult> Results) : IReviewEvent
{
    public bool Passed => Results.All(r => r.Passed);
}

/// <summary>Recorded before anything is pushed or asked of the forge: a restart looks the PR up instead of opening it again.</summary>
[Manifest("review-pr-intended")]
public sealed record PrIntended(string ReviewId, DateTimeOffset At, string Branch, string Title, string Body) : IReviewEvent;

[Manifest("review-pr-opened")]
public sealed record PrOpened(string ReviewId, DateTimeOffset At, int Number, string Url, bool Existing = false) : IReviewEvent;

/// <summary>With create_prs off: the PR that would have been opened, written to a report file.</summary>
[Manifest("review-dry-run-recorded")]
public sealed record DryRunRecorded(string ReviewId, DateTimeOffset At, string ReportPath) : IReviewEvent;

[Manifest("review-completed")]
public sealed record ReviewCompleted(string ReviewId, DateTimeOffset At, string? Note = null) : IReviewEvent;

[Manifest("review-failed")]
public sealed record ReviewFailed(string ReviewId, DateTimeOffset At, ReviewStage Step, string Reason) : IReviewEvent;

/// <summary>
/// A cron firing of the review (or the schedule's first arming) as the actor handled it: its persisted record of the
/// last firing, from which firings missed while the daemon was down are found (compound_review.catch_up).
/// </summary>
/// <param name="Due">The firing's scheduled time (for <see cref="FiringOutcome.Armed"/>: when the schedule was first armed).</param>
/// <param name="Outcome">Armed, Started, CaughtUp or Skipped (the scheduler's outcome type; stored as armed | started | caught-up | skipped).</param>
/// <param name="Detail">Why (skipped: a review was running, or catch_up: skip; caught-up: how many firings were missed).</param>
[Manifest("review-schedule-fired")]
public sealed record ReviewScheduleFired(DateTimeOffset Due, DateTimeOffset At, FiringOutcome Outcome, string? ReviewId = null, string? Detail = null) : IDarkFactoryMessage;

/// <summary>Snapshot of the compound review actor: the events of the reviews it still keeps, in order, and the last cron firing.</summary>
[Manifest("review-snapshot")]
public sealed record ReviewSnapshot(IReadOnlyList<ReviewRecord> Reviews, ReviewScheduleFired? LastFiring = null) : IDarkFactoryMessage;

/// <summary>A review as a list of its events (its state is derived from them).</summary>
[Manifest("review-record")]
public sealed record ReviewRecord(
    ReviewStarted Started,
    FindingsRecorded? Findings = null,
    TaskAssigned? Task = null,
    IReadOnlyList<ReviewAgentStarted>? Runs = null,
    ReviewAgentFinished? Finished = null,
    GatesEvaluated? Gates = null,
    PrIntended? PrIntent = null,
    PrOpened? Pr = null,
    DryRunRecorded? DryRun = null,
    ReviewCompleted? Completed = null,
    ReviewFailed? Failed = null) : IDarkFactoryMessage;

// ---------------------------------------------------------------- commands and queries

/// <summary>Start a review now (answered with <see cref="ReviewAccepted"/>; refused while one is running).</summary>
[Manifest("run-review")]
public sealed record RunReview(ReviewTrigger Trigger = ReviewTrigger.Manual) : IDarkFactoryMessage;

[Manifest("review-accepted")]
public sealed record ReviewAccepted(bool Ok, string Message, string? ReviewId = null) : IDarkFactoryMessage;

[Manifest("get-reviews")]
public sealed record GetReviews(int Limit = 50) : IDarkFactoryMessage, ISingletonRead;

[Manifest("get-review")]
public sealed record GetReview(string ReviewId) : IDarkFactoryMessage, ISingletonRead;

public enum ReviewStatus
{
    Running,
    Completed,
    Failed,
}

public enum StepStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Skipped,
}

[Manifest("review-step")]
public sealed record ReviewStepView(ReviewStage Name, StepStatus Status, DateTimeOffset? StartedAt = null, DateTimeOffset? EndedAt = null, string? Detail = null) : IDarkFactoryMessage;

/// <summary>A review as `df review show` and /api/reviews give it.</summary>
[Manifest("review-view")]
public sealed record ReviewView : IDarkFactoryMessage
{
    public required string Id { get; init; }
    public ReviewStatus Status { get; init; }
    public ReviewTrigger Trigger { get; init; } = ReviewTrigger.Manual;
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public IReadOnlyList<ReviewStepView> Steps { get; init; } = [];
    public IReadOnlyList<GateResult> Gates { get; init; } = [];
    public string? PrUrl { get; init; }
    public int? PrNumber { get; init; }
    public string? ReportPath { get; init; }
    public Finding? Finding { get; init; }
    public int FindingsCount { get; init; }
    public string? Agent { get; init; }

    /// <summary>Why the agent was chosen (compound_review.agent, or the router's best fit and route).</summary>
    public string? AgentChosenBy { get; init; }
    public string? RunId { get; init; }
    public string? Branch { get; init; }
    public string? Worktree { get; init; }
    public string? Summary { get; init; }

    /// <summary>Why there is no summary: the run was on another node, which did not answer for its output.</summary>
    public string? SummaryUnavailable { get; init; }
    public string? Error { get; init; }
    public string? Note { get; init; }
}

[Manifest("reviews-snapshot")]
public sealed record ReviewsSnapshot(IReadOnlyList<ReviewView> Reviews) : IDarkFactoryMessage;

/// <summary>Answer to <see cref="GetReview"/>: the review, or null when there is none with that id.</summary>
[Manifest("review-found")]
public sealed record ReviewFound(string ReviewId, ReviewView? Review) : IDarkFactoryMessage;

/// <summary>
/// Compound review -> its read model (<c>compound-review-views</c>): the views of reviews that changed, and the
/// ids of reviews no longer kept. Sent after each persisted event, so queries never wait behind a journal write.
/// </summary>
[Manifest("review-views-changed")]
public sealed record ReviewViewsChanged(IReadOnlyList<ReviewView> Changed, IReadOnlyList<string> Removed, bool Reset = false) : IDarkFactoryMessage;
