using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// The review's sources and triggers on the real factory with its journal in a real SQLite file: findings from
/// Nightwatch's own journal, the agent chosen by the router when compound_review.agent is absent, and cron
/// firings missed while the daemon was down caught up on start (an injected clock; a restart included).
/// </summary>
public sealed class CompoundReviewSourcesSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDaemon _daemon = new();
    private readonly GitFixture _git = new();

    public CompoundReviewSourcesSpec(ITestOutputHelper output)
        : base(Stores.Config("sqlite", Path.Combine(Directory.CreateTempSubdirectory("df-review-").FullName, "journal.db"), "akka.loglevel = INFO"), output: output)
    {
    }

    private static readonly GateSpec HasReview = new() { Name = "has-review", Command = ["sh", "-c", "test -s REVIEW.md"] };

    private FleetSpec Fleet(string? agent, params AgentSpec[] agents) => new()
    {
        Agents = agents.Length > 0 ? agents : [Fixer("fixer")],
        CompoundReview = new CompoundReviewSpec { Repo = _git.Repo, Agent = agent, MaxDuration = TimeSpan.FromMinutes(5), Gates = [HasReview] },
    };

    /// <summary>A growth agent running the scripted review agent; with a CLI kind and capabilities, the router may choose it.</summary>
    private static AgentSpec Fixer(string name, string cli = "command", params string[] capabilities) => new()
    {
        Name = name,
        Layer = LayerName.Growth,
        Cli = cli,
        Command = [Repo.Agent("review-fix.sh"), "fix"],
        Capabilities = capabilities,
        Grace = TimeSpan.FromSeconds(2),
    };

    private int _incarnations;

    /// <summary>A new daemon's factory; each incarnation has its own name (a stopped actor's name is freed only after its watchers hear of it).</summary>
    private IActorRef Factory(FleetSpec fleet, TimeProvider? clock = null)
    {
        var factory = Sys.ActorOf(TreeRoot.Props(_daemon.Node() with { Clock = clock ?? TimeProvider.System }), $"factory-{++_incarnations}");
        factory.Tell(new ApplyFleet(fleet));
        return factory;
    }

    private static Task<ReviewView> Ended(IActorRef factory, string id) => ReviewSpecs.Ended(factory, id, Wait);

    private static Task<string> Start(IActorRef factory) => ReviewSpecs.Start(factory, Wait);

    [Fact]
    public async Task The_scan_ranks_escalations_and_drift_incidents_from_Nightwatchs_own_journal()
    {
        // arrange: Nightwatch's journal as a daemon left it (persistence id nightwatch), and a quiet repository
        var now = DateTimeOffset.UtcNow;
        _git.Commit(now.AddDays(-3), "Initial import", ("README.md", "# demo\n"));
        await Seed(
            "nightwatch",
            new DriftCorrection("fixer", now.AddDays(-3), DriftLevel.Critical, CorrectionAction.Stop, 0.9, "too old to count", "hint"),
            new DriftCorrection("fixer", now.AddHours(-3), DriftLevel.Minor, CorrectionAction.Hint, 0.15, "errors 0.15", "check the exit code first"),
            new DriftCorrection("fixer", now.AddHours(-2), DriftLevel.Severe, CorrectionAction.Pause, 0.5, "stall 0.80: no output for 12m", "say what you are doing"),
            new Escalation("esc-1", "looper", now.AddHours(-1), DriftLevel.Critical, 0.91, "loops 0.95: the same line 40 times", DriftComponents.Zero with { Loops = 0.95 }),
            new EscalationDelivered("esc-1", now.AddHours(-1), false, "connection refused (http://127.0.0.1)"));
        var findings = CreateTestProbe();
        Sys.EventStream.Subscribe(findings.Ref, typeof(FindingsRecorded));

        // act
        var factory = Factory(Fleet("fixer"));
        var view = await Ended(factory, await Start(factory));

        // assert
        var recorded = await findings.ExpectMsgAsync<FindingsRecorded>(Wait);
        Assert.Equal(
            [(FindingKind.Escalation, 100, "agent looper (escalation esc-1)"), (FindingKind.DriftIncident, 75, "agent fixer")],
            recorded.Findings.Select(f => (f.Kind, f.Priority, f.Where)));
        Assert.Contains("escalated by Nightwatch: critical drift, score 0.91", recorded.Findings[0].Title);
        Assert.Contains("webhook delivery failed", recorded.Findings[0].Why);
        Assert.Contains("severe, 2 correction(s): hint, pause", recorded.Findings[1].Title);
        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal(FindingKind.Escalation, view.Finding!.Kind);
        Assert.Contains("escalated by Nightwatch", File.ReadAllText(Path.Combine(view.Worktree!, "REVIEW.md")));
    }

    [Fact]
    public async Task Without_compound_review_agent_the_router_picks_the_best_fit_agent_and_the_review_records_why()
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        var factory = Factory(Fleet(null, Fixer("painter", "claude", "frontend"), Fixer("reviewer", "claude", "review", "tests"), Fixer("plain")));
        var assigned = CreateTestProbe();
        Sys.EventStream.Subscribe(assigned.Ref, typeof(TaskAssigned));

        var view = await Ended(factory, await Start(factory));

        var task = await assigned.ExpectMsgAsync<TaskAssigned>(Wait);
        Assert.Equal("reviewer", task.Agent);
        Assert.StartsWith("router: best fit by capabilities [review, tests] for the review's task", task.ChosenBy);
        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal("reviewer", view.Agent);
        Assert.Equal(task.ChosenBy, view.AgentChosenBy);
        Assert.True(File.Exists(Path.Combine(view.Worktree!, "REVIEW.md")));
    }

    [Fact]
    public async Task Without_compound_review_agent_and_no_agent_that_fits_the_review_fails_at_assign_saying_what_to_set()
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        var factory = Factory(Fleet(null, Fixer("plain")));

        var view = await Ended(factory, await Start(factory));

        Assert.Equal(ReviewStatus.Failed, view.Status);
        Assert.Equal(StepStatus.Failed, view.Steps.Single(s => s.Name == ReviewStage.Assign).Status);
        Assert.Contains("compound_review.agent is not set and no agent's capabilities match", view.Error);
    }

    [Fact]
    public async Task A_firing_missed_while_the_daemon_was_down_is_caught_up_once_on_start_and_not_again_after_a_restart()
    {
        // arrange: the last firing on record is two nights ago; the daemon was down at 02:00 today
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 22, 5, 0, 0, TimeSpan.Zero));
        _git.Commit(clock.Now.AddDays(-10), "Initial import", ("README.md", "# demo\n"));
        var lastNight = new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero);
        await Seed("compound-review", new ReviewScheduleFired(lastNight, lastNight, FiringOutcome.Started, "r-old"));
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(ReviewScheduleFired));
        Sys.EventStream.Subscribe(events.Ref, typeof(ReviewStarted));
        var fleet = Fleet("fixer") with { CompoundReview = Fleet("fixer").CompoundReview with { Schedule = "0 2 * * *", Since = TimeSpan.FromHours(24) } };

        // act: the daemon starts
        var factory = Factory(fleet, clock);

        // assert: one review for the missed 02:00 firing, recorded as the last firing
        var fired = await events.ExpectMsgAsync<ReviewScheduleFired>(Wait);
        Assert.Equal((FiringOutcome.CaughtUp, new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)), (fired.Outcome, fired.Due));
        Assert.Contains("1 firing(s) missed", fired.Detail);
        var started = await events.ExpectMsgAsync<ReviewStarted>(Wait);
        Assert.Equal(ReviewTrigger.CatchUp, started.Trigger);
        Assert.Equal(started.ReviewId, fired.ReviewId);
        var view = await Ended(factory, started.ReviewId);
        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal("nothing found to work on", view.Note);

        // act: the daemon restarts an hour later
        await factory.GracefulStop(Wait);
        clock.Advance(TimeSpan.FromHours(1));
        factory = Factory(fleet, clock);

        // assert: nothing is caught up again (a manual review is accepted at once, so none is running)
        var accepted = await factory.Ask<ReviewAccepted>(new RunReview(), Wait);
        Assert.True(accepted.Ok, accepted.Message);
        var next = await events.ExpectMsgAsync<ReviewStarted>(Wait);
        Assert.Equal(ReviewTrigger.Manual, next.Trigger);
        await Ended(factory, next.ReviewId);
    }

    /// <summary>Writes events into a journal, as a killed daemon would have left them.</summary>
    private Task Seed(string persistenceId, params object[] events) => ReviewSpecs.Seed(Sys, persistenceId, Wait, events);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon.Dispose();
            _git.Dispose();
        }
    }
}
