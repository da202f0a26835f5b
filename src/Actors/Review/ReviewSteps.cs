using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Review;

/// <summary>What a step's slow part came to; the actor records, retries or fails accordingly.</summary>
public abstract record StepResult
{
    private StepResult()
    {
    }

    /// <summary>The step's event: recorded, then the next step is derived from the record.</summary>
    public sealed record Recorded(IReviewEvent Event) : StepResult;

    /// <summary>What became of the awaited run while no review actor watched it (a clustered review after a hand-over).</summary>
    public sealed record Resumed(RunResume Run) : StepResult;

    /// <summary>Not possible yet (the fleet refused to start the agent: already running, not applied); the step is tried again later.</summary>
    public sealed record Retry(string Reason) : StepResult;

    /// <summary>The review fails at this step for <paramref name="Reason"/>.</summary>
    public sealed record Failed(string Reason) : StepResult;
}

/// <summary>
/// What a step works from: the review as recorded, the compound_review settings it runs with, the fleet's agents
/// and every secret the daemon knows (masked in gate output). Immutable: a step runs in a task and never reads the actor.
/// </summary>
public sealed record ReviewStepContext(ReviewRecord Review, CompoundReviewSpec Spec, IReadOnlyList<AgentSpec> Agents, Redactor Secrets)
{
    public string ReviewId => Review.Started.ReviewId;
}

/// <summary>
/// The review's step activities: scan, assign, start the agent, take in its work, run the gates, open the PR
/// or write the dry run. Each reads an immutable <see cref="ReviewStepContext"/>, reaches the world only through
/// <see cref="IReviewPorts"/> and answers a <see cref="StepResult"/> (errors included: a step never throws), so
/// each is unit-tested with fake ports. The <see cref="CompoundReviewActor"/> decides which step runs and records
/// what it gives.
/// </summary>
public sealed class ReviewSteps(IReviewPorts ports, ReviewSettings settings, TimeProvider clock, IReadOnlyDictionary<string, string?> environment)
{
    /// <summary>Findings kept in the record (the top one is worked on; the others are reported).</summary>
    public const int KeepFindings = 20;

    private DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>
    /// The slow part of <paramref name="step"/> (<see cref="ReviewStep.AwaitAgent"/> is <see cref="FinishAgentAsync"/>,
    /// <see cref="ReviewStep.IntendPr"/> and the ends are recorded by the actor directly).
    /// </summary>
    public Task<StepResult> RunAsync(ReviewStep step, ReviewStepContext c, CancellationToken ct) => step switch
    {
        ReviewStep.Scan => Guard(() => ScanAsync(c, ct)),
        ReviewStep.Assign => Guard(() => AssignAsync(c, ct)),
        ReviewStep.StartAgent => Guard(() => StartAgentAsync(c, ct)),
        ReviewStep.RunGates => Guard(() => RunGatesAsync(c, ct)),
        ReviewStep.OpenPr => Guard(() => OpenPrAsync(c, ct)),
        ReviewStep.DryRun => Guard(() => DryRunAsync(c, ct)),
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "not a step with a slow part"),
    };

    /// <summary>The agent's run ended: commit what it left in the worktree and record its end.</summary>
    /// <param name="end">The run's end as the fleet published it.</param>
    /// <param name="summary">The tail of what the run printed.</param>
    public Task<StepResult> FinishAgentAsync(ReviewStepContext c, AgentLifecycle end, string summary, CancellationToken ct) => Guard(async () =>
    {
        var r = c.Review;
        var (commit, files) = await ports.CommitAsync(r.Started.Repo, r.Task!.Worktree, r.Started.BaseBranch, ReviewReport.CommitMessage(r), ct);
        var success = end.Kind == LifecycleKind.Exited && (end.ExitCode ?? 0) == 0;
        string? unavailable = null;
        if (string.IsNullOrEmpty(summary) && settings.RunsOutliveTheReview)
        {
            // a clustered review hears the output of its own node's runs only: ask the agent's node for the run's tail
            var output = await ports.RunOutputAsync(r.Task.Agent, end.RunId!, ct);
            (summary, unavailable) = output.Outcome == RunOutputOutcome.Found ? (output.Text, null) : (string.Empty, output.Reason ?? output.Outcome.ToString());
        }

        return new StepResult.Recorded(new ReviewAgentFinished(c.ReviewId, Now, end.RunId!, success, end.ExitCode, summary, commit, files, unavailable));
    });

    /// <summary>A clustered review recovered while it awaited its agent's run: ask the agent's node what became of the run.</summary>
    public Task<StepResult> ResumeRunAsync(ReviewStepContext c, CancellationToken ct) => Guard(async () =>
    {
        var agent = c.Review.Task!.Agent;
        var status = await ports.AgentStatusAsync(agent, ct);
        var history = await ports.HistoryAsync(agent, ct);
        return new StepResult.Resumed(ReviewStateRules.Resume(c.Review, status, history));
    });

    /// <summary>
    /// Removes, in the background, the worktrees of finished reviews beyond the newest <see cref="ReviewSettings.KeepWorktrees"/>
    /// (their branches stay); a failure is logged.
    /// </summary>
    /// <returns>The removal (tests await it).</returns>
    public Task RemoveOldWorktrees(IReadOnlyList<ReviewRecord> reviews, ILoggingAdapter log)
    {
        var old = OldWorktrees(reviews, settings.KeepWorktrees);
        return old.Count == 0 ? Task.CompletedTask : Task.Run(async () =>
        {
            foreach (var r in old)
            {
                try
                {
                    await ports.RemoveWorktreeAsync(r.Started.Repo, r.Task!.Worktree, CancellationToken.None);
                }
                catch (Exception e)
                {
                    log.Warning("Removing worktree {0} failed: {1}", r.Task!.Worktree, e.Message);
                }
            }
        });
    }

    /// <summary>Finished reviews (oldest first in <paramref name="reviews"/>) whose worktree is past the newest <paramref name="keep"/> and still there.</summary>
    public static IReadOnlyList<ReviewRecord> OldWorktrees(IReadOnlyList<ReviewRecord> reviews, int keep) =>
        reviews.Where(ReviewStateRules.IsOver).Reverse().Skip(keep).Where(r => r.Task is not null && Directory.Exists(r.Task.Worktree)).ToList();

    /// <summary>Where a review's refusing pre-push hook lives.</summary>
    public string HooksDirectory(string reviewId) => Path.Combine(settings.ReviewsDirectory, reviewId, "hooks");

    /// <summary>A gate's whole environment: the agent's allowlist of the daemon's (never a provider key or the forge token), its run marker (a restart sweeps strays), the review id.</summary>
    public IReadOnlyDictionary<string, string> GateEnvironment(string reviewId)
    {
        var env = ChildEnvironment.Allowlisted(environment);
        env[ProcessTree.RunMarker] = settings.MarkerPrefix + "review/" + reviewId;
        env["DF_REVIEW_ID"] = reviewId;
        return env;
    }

    private async Task<StepResult> ScanAsync(ReviewStepContext c, CancellationToken ct)
    {
        var started = c.Review.Started;
        var since = started.At - c.Spec.Since;
        var (commits, todos) = await ports.ScanAsync(started.Repo, started.BaseBranch, since, ct);

        // Nightwatch or an agent's history not answering leaves the scan without them, not failed
        var nightwatch = await ports.NightwatchRecordsAsync(since, ct);
        var records = new List<AgentLifecycle>();
        foreach (var agent in c.Agents)
        {
            if (await ports.HistoryAsync(agent.Name, ct) is { } history)
            {
                records.AddRange(history.Where(e => e.At >= since));
            }
        }

        var findings = FindingRanker.Rank(new ScanInput(commits, todos, records, nightwatch));
        return new StepResult.Recorded(new FindingsRecorded(c.ReviewId, Now, findings.Take(KeepFindings).ToList(), commits.Count));
    }

    private async Task<StepResult> AssignAsync(ReviewStepContext c, CancellationToken ct)
    {
        var r = c.Review;
        var found = r.Findings!.Findings;
        var branch = await ports.ChooseBranchAsync(r.Started.Repo, r.Started.At, found[0].Slug, ct);
        var task = TaskWriter.Write(found[0], r.Started, c.Spec.Gates.Select(g => g.Name).ToList(), found.Count - 1);
        var worktree = Path.Combine(settings.WorktreeRoot, c.ReviewId);
        if (r.Started.Agent is { } agent)
        {
            return new StepResult.Recorded(new TaskAssigned(c.ReviewId, Now, agent, task, branch, worktree, "compound_review.agent"));
        }

        // no agent configured: the router picks the best fit by capabilities for this task, as /api/route does
        var decision = await ports.RouteAsync(task, ct);
        if (decision.Agent is not { } chosen)
        {
            return new StepResult.Failed(
                "compound_review.agent is not set and no agent's capabilities match the review's task " +
                "(the router's best fit is by agents[].capabilities named in the task, e.g. review, tests, refactor): set compound_review.agent or give an AI agent such a capability");
        }

        var why = ReviewReport.RoutedBecause(c.Agents.FirstOrDefault(a => a.Name == chosen), decision);
        return new StepResult.Recorded(new TaskAssigned(c.ReviewId, Now, chosen, task, branch, worktree, why));
    }

    private async Task<StepResult> StartAgentAsync(ReviewStepContext c, CancellationToken ct)
    {
        var r = c.Review;
        var t = r.Task!;
        await ports.PrepareWorktreeAsync(r.Started.Repo, r.Started.BaseBranch, t.Branch, t.Worktree, HooksDirectory(c.ReviewId), ct);
        var answer = await ports.StartAgentAsync(new StartAgent(t.Agent, t.Task, t.Worktree, By: Requester.CompoundReview), ct);
        return answer is { Ok: true, RunId: { } runId }
            ? new StepResult.Recorded(new ReviewAgentStarted(c.ReviewId, Now, runId))
            : new StepResult.Retry($"agent '{t.Agent}' did not start: {answer.Message}");
    }

    private async Task<StepResult> RunGatesAsync(ReviewStepContext c, CancellationToken ct)
    {
        var r = c.Review;
        var results = await ports.RunGatesAsync(c.Spec.Gates, r.Task!.Worktree, r.Finished!.FilesChanged ?? [], GateEnvironment(c.ReviewId), c.Secrets, ct);
        return new StepResult.Recorded(new GatesEvaluated(c.ReviewId, Now, results));
    }

    private async Task<StepResult> OpenPrAsync(ReviewStepContext c, CancellationToken ct)
    {
        var r = c.Review;
        var credentials = await PullRequests.CredentialsAsync(c.Spec.Forge, "compound_review", c.Spec.Remote, environment, t => ports.RemoteUrlAsync(r.Started.Repo, c.Spec.Remote, t), ct);
        var intent = r.PrIntent!;
        await ports.PushAsync(r.Started.Repo, c.Spec.Remote, intent.Branch, credentials, ct);
        var pr = await ports.FindOrCreatePullRequestAsync(c.Spec.Forge, credentials.Repository!, credentials.Token, new PullRequestDraft(intent.Branch, r.Started.BaseBranch, intent.Title, intent.Body), ct);
        return new StepResult.Recorded(new PrOpened(c.ReviewId, Now, pr.Number, pr.Url, pr.Existing));
    }

    private async Task<StepResult> DryRunAsync(ReviewStepContext c, CancellationToken ct)
    {
        var path = Path.Combine(settings.ReviewsDirectory, c.ReviewId, "report.md");
        await ports.WriteFileAsync(path, ReviewReport.DryRun(c.Review, c.Spec.Remote), ct);
        return new StepResult.Recorded(new DryRunRecorded(c.ReviewId, Now, path));
    }

    /// <summary>A step's exception as its failure: git's and the forge's errors by their message, cancellation as such, anything else with its type.</summary>
    private static async Task<StepResult> Guard(Func<Task<StepResult>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e)
        {
            return new StepResult.Failed(Describe(e));
        }
    }

    /// <summary>How a step's error is recorded.</summary>
    public static string Describe(Exception e) => e switch
    {
        GitException or ForgeException => e.Message,
        OperationCanceledException => "cancelled",
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
