using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// The review actor's step machine on fake ports (<see cref="ReviewDependencies.Ports"/>): no git, no fleet, no
/// forge; the agent's end is published on the topics as the fleet would. The real-part specs
/// (<see cref="CompoundReviewActorSpec"/>) run the same machine on real repositories and processes.
/// </summary>
public sealed class ReviewStepMachineSpec : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly FakeReviewPorts _ports = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "df-machine-" + Guid.NewGuid().ToString("N")[..8]);

    public ReviewStepMachineSpec(ITestOutputHelper output)
        : base(
            """
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """,
            output)
    {
    }

    private IActorRef Review(int startAttempts = 30, bool clustered = false)
    {
        var settings = new ReviewSettings
        {
            ReviewsDirectory = Path.Combine(_dir, "reviews"),
            WorktreeRoot = Path.Combine(_dir, "worktrees"),
            PersistenceId = "review-" + Guid.NewGuid().ToString("N")[..8],
            StartRetryDelay = TimeSpan.FromMilliseconds(20),
            StartAttempts = startAttempts,
            RunsOutliveTheReview = clustered,
        };
        var review = Sys.ActorOf(CompoundReviewActor.Props(TestActor, settings, new ReviewDependencies { Ports = _ => _ports }));
        review.Tell(new ApplyFleet(new FleetSpec
        {
            Agents = [new AgentSpec { Name = "fixer", Layer = LayerName.Growth, Command = ["true"] }],
            CompoundReview = new CompoundReviewSpec { Agent = "fixer", Schedule = "0 2 * * *", Gates = [new GateSpec { Name = "build", Command = ["true"] }] },
        }));
        return review;
    }

    private async Task<ReviewView> View(IActorRef review, string id, Func<ReviewView, bool> until)
    {
        ReviewView? view = null;
        await AwaitConditionAsync(async () => (view = (await review.Ask<ReviewFound>(new GetReview(id), Wait)).Review) is { } v && until(v), Wait, TimeSpan.FromMilliseconds(20));
        return view!;
    }

    private async Task<string> Run(IActorRef review)
    {
        var accepted = await review.Ask<ReviewAccepted>(new RunReview(), Wait);
        Assert.True(accepted.Ok, accepted.Message);
        return accepted.ReviewId!;
    }

    [Fact]
    public async Task A_refused_start_is_retried_and_the_review_then_runs_through_gates_to_its_dry_run()
    {
        _ports.Commits = [new ScannedCommit("abc1234567", DateTimeOffset.UtcNow.AddHours(-1), "dev", "Revert \"x\"", [new FileChange("a.cs", 1, 1)])];
        var refusals = 2;
        _ports.Start = s => Interlocked.Decrement(ref refusals) >= 0 ? CommandResult.Refused(CommandOutcome.AlreadyRunning, $"agent '{s.Agent}' is already running (run r0)") : CommandResult.Done(CommandOutcome.Started, "started", "run-9");
        var review = Review();

        var id = await Run(review);
        var running = await View(review, id, v => v.RunId == "run-9");
        FleetTopics.For(Sys).Publish(new AgentOutput("fixer", "run-9", 0, DateTimeOffset.UtcNow, [new OutputLine(OutputStream.Stdout, "reverted the revert", OutputKind.Text)]));
        FleetTopics.For(Sys).Publish(new AgentLifecycle("fixer", LifecycleKind.Exited, DateTimeOffset.UtcNow, "run-9", ExitCode: 0));
        var done = await View(review, id, v => v.Status != ReviewStatus.Running);

        Assert.Equal((ReviewStatus.Completed, "reverted the revert"), (done.Status, done.Summary));
        Assert.All(done.Steps, s => Assert.Equal(StepStatus.Completed, s.Status));
        Assert.Equal(3, _ports.Calls.Count(c => c.StartsWith("StartAgent(fixer", StringComparison.Ordinal)));
        Assert.Contains(_ports.Calls, c => c.StartsWith("RunGates(build", StringComparison.Ordinal));
        Assert.Contains("reverted the revert", _ports.Files[done.ReportPath!]);
        Assert.Equal("run-9", running.RunId);
    }

    [Fact]
    public async Task In_a_cluster_a_run_its_node_stopped_is_started_again_and_one_an_operator_stopped_fails_the_review()
    {
        _ports.Commits = [new ScannedCommit("abc1234567", DateTimeOffset.UtcNow.AddHours(-1), "dev", "Revert \"x\"", [new FileChange("a.cs", 1, 1)])];
        var runs = 0;
        var refusals = 1;
        _ports.Start = s => Interlocked.Increment(ref runs) == 2 && Interlocked.Decrement(ref refusals) >= 0
            ? CommandResult.Refused(CommandOutcome.Unplaced, "agent 'fixer' is placed on no node: node n3 left the cluster") // moving: retried
            : CommandResult.Done(CommandOutcome.Started, "started", "run-" + runs);
        var review = Review(clustered: true);

        // the node that ran it drained it at its SIGTERM (no requester): another run, not a failure
        var id = await Run(review);
        await View(review, id, v => v.RunId == "run-1");
        FleetTopics.For(Sys).Publish(new AgentLifecycle("fixer", LifecycleKind.Stopped, DateTimeOffset.UtcNow, "run-1", Detail: "daemon shutting down"));
        await View(review, id, v => v.RunId == "run-3");
        FleetTopics.For(Sys).Publish(new AgentLifecycle("fixer", LifecycleKind.Exited, DateTimeOffset.UtcNow, "run-3", ExitCode: 0));
        var done = await View(review, id, v => v.Status != ReviewStatus.Running);
        Assert.True(done.Status == ReviewStatus.Completed, done.Error);

        // an operator's stop is the agent's end, as on a single node
        var second = await Run(review);
        var run = (await View(review, second, v => v.RunId is not null && v.RunId != "run-3")).RunId;
        FleetTopics.For(Sys).Publish(new AgentLifecycle("fixer", LifecycleKind.Stopped, DateTimeOffset.UtcNow, run, By: Requester.Operator));
        var stopped = await View(review, second, v => v.Status != ReviewStatus.Running);
        Assert.Equal(ReviewStatus.Failed, stopped.Status);
        Assert.Equal(4, _ports.Calls.Count(c => c.StartsWith("StartAgent(fixer", StringComparison.Ordinal))); // run-1, the refusal, run-3; then the second review's
    }

    [Fact]
    public async Task A_start_refused_past_the_attempts_fails_the_review_at_the_agent_with_the_fleets_reason()
    {
        _ports.Commits = [new ScannedCommit("abc1234567", DateTimeOffset.UtcNow.AddHours(-1), "dev", "Revert \"x\"", [new FileChange("a.cs", 1, 1)])];
        _ports.Start = s => CommandResult.Refused(CommandOutcome.Quarantined, $"agent '{s.Agent}' is quarantined");
        var review = Review(startAttempts: 3);

        var done = await View(review, await Run(review), v => v.Status != ReviewStatus.Running);

        Assert.Equal(ReviewStatus.Failed, done.Status);
        Assert.Equal("agent 'fixer' did not start: agent 'fixer' is quarantined", done.Error);
        Assert.Equal(StepStatus.Failed, done.Steps.Single(s => s.Name == ReviewStage.Agent).Status);
        Assert.Equal(3, _ports.Calls.Count(c => c.StartsWith("StartAgent(fixer", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Nothing_found_completes_the_review_without_assigning_anything()
    {
        var review = Review();

        var done = await View(review, await Run(review), v => v.Status != ReviewStatus.Running);

        Assert.Equal((ReviewStatus.Completed, "nothing found to work on"), (done.Status, done.Note));
        Assert.DoesNotContain(_ports.Calls, c => c.StartsWith("ChooseBranch", StringComparison.Ordinal));
    }
}
