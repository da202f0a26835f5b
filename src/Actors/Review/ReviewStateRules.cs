namespace DarkFactory.Actors.Review;

/// <summary>The next thing a review has to do, derived from its recorded events only.</summary>
public enum ReviewStep
{
    /// <summary>Scan git history and the fleet's records.</summary>
    Scan,

    /// <summary>Write the top finding up as a task; choose branch and worktree.</summary>
    Assign,

    /// <summary>Make sure the worktree exists and start the agent in it.</summary>
    StartAgent,

    /// <summary>A run is going: wait for it to end (after a daemon restart the run is gone: start another).</summary>
    AwaitAgent,

    RunGates,

    /// <summary>Record the PR that is about to be opened (before pushing or calling the forge).</summary>
    IntendPr,

    /// <summary>Push the branch, then look up a PR for it and open one only if there is none.</summary>
    OpenPr,

    /// <summary>Write the dry-run report (create_prs off).</summary>
    DryRun,

    /// <summary>Record the review as completed.</summary>
    Complete,

    /// <summary>Record the review as failed (<see cref="ReviewStateRules.FailureOf"/> says why).</summary>
    Fail,

    /// <summary>Completed or failed: nothing left.</summary>
    Done,
}

/// <summary>
/// Pure rules of a review's state: applying persisted events to a <see cref="ReviewRecord"/> and deriving
/// the next step, so that a recovered actor resumes exactly where the journal says it stopped.
/// </summary>
public static class ReviewStateRules
{
    /// <summary>Agent runs a review may start before it gives up (each daemon restart mid-run costs one).</summary>
    public const int MaxAgentRuns = 3;

    public static ReviewRecord Apply(ReviewRecord? record, IReviewEvent e)
    {
        if (e is ReviewStarted started)
        {
            return new ReviewRecord(started);
        }

        if (record is null)
        {
            throw new InvalidOperationException($"{e.GetType().Name} of review {e.ReviewId} before its review-started event");
        }

        return e switch
        {
            FindingsRecorded f => record with { Findings = f },
            TaskAssigned t => record with { Task = t },
            ReviewAgentStarted a => record with { Runs = [.. record.Runs ?? [], a] },
            ReviewAgentFinished f => record with { Finished = f },
            GatesEvaluated g => record with { Gates = g },
            PrIntended p => record with { PrIntent = p },
            PrOpened p => record with { Pr = p },
            DryRunRecorded d => record with { DryRun = d },
            ReviewCompleted c => record with { Completed = c },
            ReviewFailed f => record with { Failed = f },
            _ => throw new InvalidOperationException($"unknown review event {e.GetType().Name}"),
        };
    }

    public static bool IsOver(ReviewRecord r) => r.Completed is not null || r.Failed is not null;

    public static ReviewStep Next(ReviewRecord r)
    {
        if (IsOver(r))
        {
            return ReviewStep.Done;
        }

        if (r.Findings is null)
        {
            return ReviewStep.Scan;
        }

        if (r.Findings.Findings.Count == 0)
        {
            return ReviewStep.Complete;
        }

        if (r.Task is null)
        {
            return ReviewStep.Assign; // with no compound_review.agent, assign routes the task to the best-fit agent
        }

        if (r.Finished is null)
        {
            var runs = r.Runs?.Count ?? 0;
            return runs == 0 ? ReviewStep.StartAgent : ReviewStep.AwaitAgent;
        }

        if (!r.Finished.Success || r.Finished.Commit is null)
        {
            return ReviewStep.Fail;
        }

        if (r.Gates is null)
        {
            return ReviewStep.RunGates;
        }

        if (!r.Gates.Passed)
        {
            return ReviewStep.Fail;
        }

        if (!r.Started.CreatePrs)
        {
            return r.DryRun is null ? ReviewStep.DryRun : ReviewStep.Complete;
        }

        if (r.PrIntent is null)
        {
            return ReviewStep.IntendPr;
        }

        return r.Pr is null ? ReviewStep.OpenPr : ReviewStep.Complete;
    }

    /// <summary>After a daemon restart: a run that was going died with the daemon; start another if the budget allows.</summary>
    public static ReviewStep NextAfterRecovery(ReviewRecord r)
    {
        var next = Next(r);
        if (next != ReviewStep.AwaitAgent)
        {
            return next;
        }

        return (r.Runs?.Count ?? 0) >= MaxAgentRuns ? ReviewStep.Fail : ReviewStep.StartAgent;
    }

    /// <summary>
    /// In a cluster, after the review's singleton took over from a lost or leaving node while it awaited its agent's run
    /// (which runs on the node the agent is placed on, and may outlive the review's node): the run's end when the agent's
    /// history has it (<see cref="RunResume.Ended"/>), the run going on when the agent's node says it runs it now
    /// (<see cref="RunResume.GoesOn"/>), else the run is gone (its node died with it, or nobody answered): start another as
    /// on a single node (<see cref="RunResume.Gone"/>). Never a second run beside one that goes on.
    /// </summary>
    /// <param name="status">The agent's status from its node; null when it is placed nowhere or its node did not answer.</param>
    /// <param name="history">The agent's recorded lifecycle; null when nobody answered.</param>
    public static RunResume Resume(ReviewRecord r, Messages.Agents.AgentStatus? status, IReadOnlyList<Messages.Agents.AgentLifecycle>? history)
    {
        if (r.Runs is not { Count: > 0 } runs)
        {
            return RunResume.Gone;
        }

        var run = runs[^1].RunId;
        if (history?.LastOrDefault(e => e.RunId == run && ReviewRunWatch.IsEnd(e)) is { } end)
        {
            return RunResume.Ended(end);
        }

        return status is { RunId: { } current, State: Messages.Agents.AgentState.Starting or Messages.Agents.AgentState.Running or Messages.Agents.AgentState.Stopping } && current == run
            ? RunResume.GoesOn
            : RunResume.Gone;
    }

    /// <summary>
    /// In a cluster: <paramref name="end"/> is the awaited run stopped by its node rather than by anyone (no requester: the
    /// node's drain at SIGTERM, or a placement that moved the agent away), so the review starts another run
    /// (<see cref="NextAfterRecovery"/>: at most <see cref="MaxAgentRuns"/>) instead of failing. A stop someone asked for
    /// (an operator, the review's own max_duration) and a restart by the layer are not.
    /// </summary>
    public static bool StoppedByItsNode(ReviewRecord r, Messages.Agents.AgentLifecycle end) =>
        end is { Kind: Messages.Agents.LifecycleKind.Stopped, By: null, Restarts: false } && r.Finished is null && r.Runs is { Count: > 0 } runs && runs[^1].RunId == end.RunId;

    /// <summary>Why a review in step <see cref="ReviewStep.Fail"/> fails: (step, reason).</summary>
    public static (ReviewStage Step, string Reason) FailureOf(ReviewRecord r)
    {
        if (r.Finished is null && (r.Runs?.Count ?? 0) >= MaxAgentRuns)
        {
            return (ReviewStage.Agent, $"the agent was started {r.Runs!.Count} times without finishing (daemon restarts)");
        }

        if (r.Finished is { Success: false } f)
        {
            return (ReviewStage.Agent, $"the agent's run {f.RunId} failed (exit {f.ExitCode?.ToString() ?? "unknown"}): nothing is pushed");
        }

        if (r.Finished is { Commit: null })
        {
            return (ReviewStage.Agent, "the agent changed nothing in its worktree");
        }

        if (r.Gates is { Passed: false } g)
        {
            return (ReviewStage.Gates, "gates failed: " + string.Join(", ", g.Results.Where(x => !x.Passed).Select(x => x.TimedOut ? $"{x.Name} (timed out)" : $"{x.Name} (exit {x.ExitCode}, expected {x.ExpectExit})")) + "; nothing is pushed");
        }

        return (ReviewStage.Review, "unknown");
    }

    /// <summary>The name of the step a review is in (for a failure recorded while in it: max_duration, errors).</summary>
    public static ReviewStage StepName(ReviewRecord r) => Next(r) switch
    {
        ReviewStep.Scan => ReviewStage.Scan,
        ReviewStep.Assign => ReviewStage.Assign,
        ReviewStep.StartAgent or ReviewStep.AwaitAgent => ReviewStage.Agent,
        ReviewStep.RunGates => ReviewStage.Gates,
        ReviewStep.IntendPr or ReviewStep.OpenPr => ReviewStage.Pr,
        ReviewStep.DryRun => ReviewStage.DryRun,
        _ => ReviewStage.Review,
    };

    public static ReviewStatus Status(ReviewRecord r) =>
        r.Failed is not null ? ReviewStatus.Failed : r.Completed is not null ? ReviewStatus.Completed : ReviewStatus.Running;

    /// <summary>The operator's view: steps with timings (a step starts when the one before it ended), gates, PR link.</summary>
    public static ReviewView View(ReviewRecord r)
    {
        var failedStep = r.Failed?.Step;
        var steps = new List<ReviewStepView>();
        var previousEnd = (DateTimeOffset?)r.Started.At;
        var over = IsOver(r);

        void Step(ReviewStage name, DateTimeOffset? endedAt, string? detail = null, bool skipped = false)
        {
            StepStatus status;
            DateTimeOffset? started = null;
            if (skipped)
            {
                status = StepStatus.Skipped;
            }
            else if (endedAt is not null)
            {
                status = failedStep == name ? StepStatus.Failed : StepStatus.Completed;
                started = previousEnd;
            }
            else if (previousEnd is not null)
            {
                // the first step without an end is the current one
                status = failedStep == name ? StepStatus.Failed : over ? StepStatus.Skipped : StepStatus.Running;
                started = status == StepStatus.Skipped ? null : previousEnd;
                endedAt = failedStep == name ? r.Failed!.At : null;
            }
            else
            {
                status = over ? StepStatus.Skipped : StepStatus.Pending;
            }

            steps.Add(new ReviewStepView(name, status, started, endedAt, detail));
            previousEnd = status is StepStatus.Completed ? endedAt : null;
        }

        var nothing = r.Findings is { Findings.Count: 0 };
        Step(ReviewStage.Scan, r.Findings?.At, r.Findings is null ? null : $"{r.Findings.Findings.Count} finding(s) in {r.Findings.CommitsScanned} commit(s)");
        Step(ReviewStage.Assign, r.Task?.At, r.Task?.Branch, skipped: nothing);
        Step(ReviewStage.Agent, r.Finished?.At, r.Finished is null ? null : $"run {r.Finished.RunId}, exit {r.Finished.ExitCode?.ToString() ?? "?"}", skipped: nothing);
        Step(ReviewStage.Gates, r.Gates?.At, r.Gates is null ? null : $"{r.Gates.Results.Count(g => g.Passed)}/{r.Gates.Results.Count} passed", skipped: nothing);
        if (r.Started.CreatePrs)
        {
            Step(ReviewStage.Pr, r.Pr?.At, r.Pr?.Url, skipped: nothing);
        }
        else
        {
            Step(ReviewStage.DryRun, r.DryRun?.At, r.DryRun?.ReportPath, skipped: nothing);
        }

        return new ReviewView
        {
            Id = r.Started.ReviewId,
            Status = Status(r),
            Trigger = r.Started.Trigger,
            StartedAt = r.Started.At,
            EndedAt = r.Completed?.At ?? r.Failed?.At,
            Steps = steps,
            Gates = r.Gates?.Results ?? [],
            PrUrl = r.Pr?.Url,
            PrNumber = r.Pr?.Number,
            ReportPath = r.DryRun?.ReportPath,
            Finding = r.Findings?.Findings.FirstOrDefault(),
            FindingsCount = r.Findings?.Findings.Count ?? 0,
            Agent = r.Task?.Agent ?? r.Started.Agent,
            AgentChosenBy = r.Task is { } t ? t.ChosenBy ?? "compound_review.agent" : null,
            RunId = r.Finished?.RunId ?? r.Runs?.LastOrDefault()?.RunId,
            Branch = r.Task?.Branch,
            Worktree = r.Task?.Worktree,
            Summary = r.Finished?.Summary,
            SummaryUnavailable = r.Finished?.SummaryUnavailable,
            Error = r.Failed?.Reason,
            Note = r.Completed?.Note,
        };
    }
}

/// <summary>What became of a review's awaited run while no review actor watched it (<see cref="ReviewStateRules.Resume"/>).</summary>
/// <param name="End">The run's end as its agent's history recorded it (<see cref="ReviewStateRules.Resume"/> found it ended).</param>
public sealed record RunResume(RunResumeKind Kind, Messages.Agents.AgentLifecycle? End = null)
{
    public static readonly RunResume GoesOn = new(RunResumeKind.GoesOn);

    public static readonly RunResume Gone = new(RunResumeKind.Gone);

    public static RunResume Ended(Messages.Agents.AgentLifecycle end) => new(RunResumeKind.Ended, end);
}

public enum RunResumeKind
{
    /// <summary>The run still runs on its node: await its end.</summary>
    GoesOn,

    /// <summary>The run ended meanwhile: take in its work.</summary>
    Ended,

    /// <summary>The run is gone without a recorded end: start another.</summary>
    Gone,
}
