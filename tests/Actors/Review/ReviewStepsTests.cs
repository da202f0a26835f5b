using Akka.Event;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>Each step of the review on fake ports: what it asks of the world, what it records, how it retries and fails.</summary>
public sealed class ReviewStepsTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    private static readonly Finding Top = new(FindingKind.Revert, 80, "Revert abc: speed up", "abc1234567", "the problem may be back", "revert-speed-up", At);
    private static readonly ReviewStarted Started = new("r1", At, ReviewTrigger.Schedule, "/srv/repo", "main", "fixer", true, TimeSpan.FromMinutes(30));
    private static readonly TaskAssigned Assigned = new("r1", At, "fixer", "work on it", "df/compound/2026-11-22-revert-speed-up", "/wt/r1", "compound_review.agent");
    private static readonly ReviewAgentFinished Finished = new("r1", At, "run-1", true, 0, "fixed it", "c0ffee", ["src/a.cs"]);

    private readonly string _dir = Directory.CreateTempSubdirectory("df-steps-").FullName;
    private readonly FakeReviewPorts _ports = new();
    private readonly ManualClock _clock = new(At.AddMinutes(5));
    private readonly Dictionary<string, string?> _env = new() { ["GITHUB_TOKEN"] = "t0ken", ["PATH"] = "/usr/bin:/bin", ["ANTHROPIC_API_KEY"] = "sk-ant" };
    private readonly Redactor _secrets = new(["t0ken", "sk-ant"]);

    private ReviewSettings Settings => new() { ReviewsDirectory = Path.Combine(_dir, "reviews"), WorktreeRoot = Path.Combine(_dir, "worktrees"), MarkerPrefix = "d1/" };

    private ReviewSteps Steps => new(_ports, Settings, _clock, _env);

    private static CompoundReviewSpec Spec => new() { Repo = "/srv/repo", Gates = [new GateSpec { Name = "build", Command = ["true"] }], Forge = new ForgeSpec() };

    private static AgentSpec Agent(string name, params string[] capabilities) => new() { Name = name, Layer = LayerName.Growth, Command = ["true"], Capabilities = capabilities };

    private ReviewStepContext Context(ReviewRecord review, CompoundReviewSpec? spec = null, params AgentSpec[] agents) => new(review, spec ?? Spec, agents, _secrets);

    private static ReviewRecord Review(ReviewStarted? started = null, TaskAssigned? task = null, ReviewAgentFinished? finished = null, PrIntended? intent = null, IReadOnlyList<Finding>? findings = null) =>
        new(started ?? Started, new FindingsRecorded("r1", At, findings ?? [Top], 3), task, task is null ? null : [new ReviewAgentStarted("r1", At, "run-1")], finished, finished is null ? null : new GatesEvaluated("r1", At, [new GateResult("build", true, 0, 0, 1200)]), intent);

    private static T Recorded<T>(StepResult result)
        where T : IReviewEvent => Assert.IsType<T>(Assert.IsType<StepResult.Recorded>(result).Event);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_scan_ranks_git_history_with_nightwatchs_records_and_the_histories_that_answer()
    {
        _ports.Commits =
        [
            new ScannedCommit("abc1234567ff", At.AddHours(-3), "dev", "Revert \"speed up\"", [new FileChange("src/a.cs", 1, 30)]),
            new ScannedCommit("def", At.AddHours(-2), "dev", "add feature", [new FileChange("src/b.cs", 10, 0)]),
        ];
        _ports.Nightwatch = new NightwatchRecords([], [new EscalationEntry(new Escalation("e1", "looper", At.AddHours(-1), DriftLevel.Critical, 0.9, "loops", DriftComponents.Zero), null)]);
        _ports.Histories["coder"] = [new AgentLifecycle("coder", LifecycleKind.Crashed, At.AddHours(-1), "r9", ExitCode: 1), new AgentLifecycle("coder", LifecycleKind.Crashed, At.AddDays(-3), "r8", ExitCode: 1)];

        var result = await Steps.RunAsync(ReviewStep.Scan, Context(new ReviewRecord(Started), null, Agent("coder"), Agent("silent")), CancellationToken.None);

        var found = Recorded<FindingsRecorded>(result);
        Assert.Equal(2, found.CommitsScanned);
        Assert.Equal(FindingKind.Escalation, found.Findings[0].Kind); // Nightwatch's escalation outranks the revert
        Assert.Contains(found.Findings, f => f.Kind == FindingKind.Revert);
        Assert.Equal(_clock.Now, found.At);
        Assert.Contains($"Scan(/srv/repo, main, {At.AddHours(-24):O})", _ports.Calls);
        Assert.Contains("History(silent)", _ports.Calls); // asked, did not answer, the scan went on
    }

    [Fact]
    public async Task Assign_gives_the_configured_agent_the_top_finding_in_its_own_worktree()
    {
        var result = await Steps.RunAsync(ReviewStep.Assign, Context(Review()), CancellationToken.None);

        var task = Recorded<TaskAssigned>(result);
        Assert.Equal(("fixer", "compound_review.agent", _ports.Branch, Path.Combine(_dir, "worktrees", "r1")), (task.Agent, task.ChosenBy, task.Branch, task.Worktree));
        Assert.Contains(Top.Title, task.Task);
        Assert.Contains("build", task.Task); // the gates it must pass
        Assert.DoesNotContain("Route", _ports.Calls);
    }

    [Fact]
    public async Task Without_an_agent_the_routers_best_fit_is_assigned_and_why_is_recorded()
    {
        _ports.Route = new RouteDecision(new Route("claude", "anthropic", "sonnet", "cheapest"), [], Agent: "reviewer");

        var result = await Steps.RunAsync(ReviewStep.Assign, Context(Review(Started with { Agent = null }), null, Agent("reviewer", "review", "tests")), CancellationToken.None);

        var task = Recorded<TaskAssigned>(result);
        Assert.Equal("reviewer", task.Agent);
        Assert.Equal("router: best fit by capabilities [review, tests] for the review's task; route: claude via anthropic (sonnet): cheapest", task.ChosenBy);
    }

    [Fact]
    public async Task Without_an_agent_and_no_fit_assign_fails_saying_what_to_set()
    {
        var result = await Steps.RunAsync(ReviewStep.Assign, Context(Review(Started with { Agent = null })), CancellationToken.None);

        Assert.Contains("set compound_review.agent", Assert.IsType<StepResult.Failed>(result).Reason);
    }

    [Fact]
    public async Task Starting_the_agent_prepares_the_locked_worktree_then_records_the_run()
    {
        var result = await Steps.RunAsync(ReviewStep.StartAgent, Context(Review(task: Assigned)), CancellationToken.None);

        Assert.Equal("run-1", Recorded<ReviewAgentStarted>(result).RunId);
        Assert.Equal(
            [$"PrepareWorktree({Assigned.Branch}, /wt/r1, {Path.Combine(_dir, "reviews", "r1", "hooks")})", "StartAgent(fixer, /wt/r1, by compound-review)"],
            _ports.Calls);
    }

    [Fact]
    public async Task A_refused_start_is_a_retry_with_the_fleets_reason()
    {
        _ports.Start = s => CommandResult.Refused(CommandOutcome.AlreadyRunning, $"agent '{s.Agent}' is already running (run r0)");

        var result = await Steps.RunAsync(ReviewStep.StartAgent, Context(Review(task: Assigned)), CancellationToken.None);

        Assert.Equal("agent 'fixer' did not start: agent 'fixer' is already running (run r0)", Assert.IsType<StepResult.Retry>(result).Reason);
    }

    [Theory]
    [InlineData(LifecycleKind.Exited, 0, true)]
    [InlineData(LifecycleKind.Exited, 2, false)]
    [InlineData(LifecycleKind.Crashed, 1, false)]
    [InlineData(LifecycleKind.Stopped, null, false)]
    public async Task The_agents_end_is_committed_and_recorded_with_its_success(LifecycleKind kind, int? exit, bool success)
    {
        var end = new AgentLifecycle("fixer", kind, At, "run-1", ExitCode: exit);

        var result = await Steps.FinishAgentAsync(Context(Review(task: Assigned)), end, "summary", CancellationToken.None);

        var finished = Recorded<ReviewAgentFinished>(result);
        Assert.Equal((success, "c0ffee", "summary"), (finished.Success, finished.Commit, finished.Summary));
        Assert.Equal(["Commit(/srv/repo, /wt/r1, Compound review r1: Revert abc: speed up)"], _ports.Calls);
    }

    [Fact]
    public async Task A_clustered_reviews_agent_that_ran_on_another_node_has_its_summary_from_that_node_and_a_plain_reason_when_it_does_not_answer()
    {
        var steps = new ReviewSteps(_ports, Settings with { RunsOutliveTheReview = true }, _clock, _env);
        var end = new AgentLifecycle("fixer", LifecycleKind.Exited, At, "run-1", ExitCode: 0);

        // this node heard nothing of the run (it ran on n3): n3's tail of it
        _ports.RunOutput = (agent, run) => new RunOutput(agent, run, RunOutputOutcome.Found, "fixed it\nsummary: done", "n3");
        var found = Recorded<ReviewAgentFinished>(await steps.FinishAgentAsync(Context(Review(task: Assigned)), end, string.Empty, CancellationToken.None));
        Assert.Equal(("fixed it\nsummary: done", null), (found.Summary, found.SummaryUnavailable));
        Assert.Contains("RunOutput(fixer, run-1)", _ports.Calls);

        // n3 did not answer: the record says why, and so does the PR (not "printed nothing")
        _ports.RunOutput = (agent, run) => new RunOutput(agent, run, RunOutputOutcome.NoAnswer, Reason: "node n3 did not answer within 5 s");
        var missing = Recorded<ReviewAgentFinished>(await steps.FinishAgentAsync(Context(Review(task: Assigned)), end, string.Empty, CancellationToken.None));
        Assert.Equal((string.Empty, "node n3 did not answer within 5 s"), (missing.Summary, missing.SummaryUnavailable));
        var (_, body) = ReviewReport.PullRequest(Review(task: Assigned, finished: missing));
        Assert.Contains("## Agent summary\n\n(the agent's output could not be read: node n3 did not answer within 5 s)", body);
        Assert.DoesNotContain("printed nothing", body);

        // heard here: the node is not asked
        var calls = _ports.Calls.Count;
        Assert.Equal("local tail", Recorded<ReviewAgentFinished>(await steps.FinishAgentAsync(Context(Review(task: Assigned)), end, "local tail", CancellationToken.None)).Summary);
        Assert.DoesNotContain(_ports.Calls.Skip(calls), c => c.StartsWith("RunOutput", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gates_run_on_the_changed_files_with_the_agents_allowlist_the_run_marker_and_the_daemons_secrets_masked()
    {
        var result = await Steps.RunAsync(ReviewStep.RunGates, Context(Review(task: Assigned, finished: Finished)), CancellationToken.None);

        Assert.True(Recorded<GatesEvaluated>(result).Passed);
        Assert.Equal(["RunGates(build, /wt/r1, src/a.cs)"], _ports.Calls);
        Assert.Equal("d1/review/r1", _ports.GateEnvironment![ProcessTree.RunMarker]);
        Assert.Equal("r1", _ports.GateEnvironment["DF_REVIEW_ID"]);
        Assert.Equal("/usr/bin:/bin", _ports.GateEnvironment["PATH"]);
        Assert.False(_ports.GateEnvironment.ContainsKey("GITHUB_TOKEN")); // the forge token and provider keys are not the gates'
        Assert.False(_ports.GateEnvironment.ContainsKey("ANTHROPIC_API_KEY"));
        Assert.Same(_secrets, _ports.GateSecrets);
    }

    [Fact]
    public async Task The_PR_is_pushed_then_found_or_opened_with_the_recorded_intent_and_the_remotes_repository()
    {
        var intent = new PrIntended("r1", At, Assigned.Branch, "Compound review: x", "## Finding");

        var result = await Steps.RunAsync(ReviewStep.OpenPr, Context(Review(task: Assigned, finished: Finished, intent: intent)), CancellationToken.None);

        Assert.Equal(42, Recorded<PrOpened>(result).Number);
        Assert.Equal(["RemoteUrl(origin)", $"Push(origin, {Assigned.Branch})", $"PullRequest(acme/widgets, {Assigned.Branch})"], _ports.Calls);
        Assert.Equal(("t0ken", new PullRequestDraft(Assigned.Branch, "main", "Compound review: x", "## Finding")), (_ports.Opened!.Value.Token, _ports.Opened.Value.Draft));
        Assert.Equal(new ForgeCredentials("https://api.github.com", "acme/widgets", "t0ken"), _ports.PushedWith); // the token goes with the push to the forge's repository only
    }

    [Fact]
    public async Task The_PR_step_fails_before_pushing_when_the_forge_cannot_be_used()
    {
        var intent = new PrIntended("r1", At, Assigned.Branch, "t", "b");
        var review = Review(task: Assigned, finished: Finished, intent: intent);

        var gitlab = await Steps.RunAsync(ReviewStep.OpenPr, Context(review, Spec with { Forge = new ForgeSpec { Kind = "gitlab" } }), CancellationToken.None);
        _ports.RemoteUrl = "/local/bare.git";
        var noRepository = await Steps.RunAsync(ReviewStep.OpenPr, Context(review), CancellationToken.None);
        _ports.RemoteUrl = "https://github.com/acme/widgets";
        _env.Remove("GITHUB_TOKEN");
        var noToken = await Steps.RunAsync(ReviewStep.OpenPr, Context(review), CancellationToken.None);

        Assert.Contains("forge.kind 'gitlab' is not supported", Assert.IsType<StepResult.Failed>(gitlab).Reason);
        Assert.Contains("does not name one (owner/name)", Assert.IsType<StepResult.Failed>(noRepository).Reason);
        Assert.Contains("GITHUB_TOKEN", Assert.IsType<StepResult.Failed>(noToken).Reason);
        Assert.DoesNotContain(_ports.Calls, c => c.StartsWith("Push", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_git_error_fails_the_step_with_gits_message_and_anything_else_with_its_type()
    {
        var intent = new PrIntended("r1", At, Assigned.Branch, "t", "b");
        var review = Review(task: Assigned, finished: Finished, intent: intent);

        _ports.PushFails = new GitException("git push failed: remote rejected");
        var git = await Steps.RunAsync(ReviewStep.OpenPr, Context(review), CancellationToken.None);
        _ports.PushFails = new InvalidOperationException("boom");
        var other = await Steps.RunAsync(ReviewStep.OpenPr, Context(review), CancellationToken.None);

        Assert.Equal("git push failed: remote rejected", Assert.IsType<StepResult.Failed>(git).Reason);
        Assert.Equal("InvalidOperationException: boom", Assert.IsType<StepResult.Failed>(other).Reason);
    }

    [Fact]
    public async Task The_dry_run_writes_the_report_under_the_reviews_directory()
    {
        var result = await Steps.RunAsync(ReviewStep.DryRun, Context(Review(Started with { CreatePrs = false }, Assigned, Finished)), CancellationToken.None);

        var path = Recorded<DryRunRecorded>(result).ReportPath;
        Assert.Equal(Path.Combine(_dir, "reviews", "r1", "report.md"), path);
        Assert.StartsWith("# Dry run: Compound review: Revert abc: speed up", _ports.Files[path]);
    }

    [Fact]
    public async Task Only_worktrees_past_the_newest_two_finished_reviews_are_removed_and_a_failure_is_not_thrown()
    {
        var reviews = Enumerable.Range(1, 5).Select(i =>
        {
            var worktree = Directory.CreateDirectory(Path.Combine(_dir, "wt" + i)).FullName;
            return new ReviewRecord(Started with { ReviewId = "r" + i }, Task: Assigned with { ReviewId = "r" + i, Worktree = worktree }, Completed: i < 5 ? new ReviewCompleted("r" + i, At) : null);
        }).ToList();
        _ports.RemoveFails = w => w.EndsWith("wt1", StringComparison.Ordinal) ? new GitException("locked") : null;

        await Steps.RemoveOldWorktrees(reviews, NoLogger.Instance);

        // r5 runs, r4 and r3 are the newest two finished: r2 and r1 go (r1 failing quietly)
        Assert.Equal([$"RemoveWorktree({Path.Combine(_dir, "wt2")})"], _ports.Calls);
    }
}
