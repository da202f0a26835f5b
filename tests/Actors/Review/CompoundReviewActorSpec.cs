using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// The compound review end to end inside one actor system: the real factory and fleet, a scripted agent
/// (tests/agents/review-fix.sh) as a real process in a real git worktree, real gates, a mock GitHub on
/// 127.0.0.1, and recovery from journals seeded at step boundaries.
/// </summary>
public sealed class CompoundReviewActorSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDaemon _daemon = new();
    private readonly GitFixture _git = new();

    public CompoundReviewActorSpec(ITestOutputHelper output)
        : base(Config(), output: output)
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
    }

    private static string Config() => $$"""
        akka.loglevel = INFO
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
        """;

    private FleetSpec Fleet(string mode = "fix", bool createPrs = false, string? forgeUrl = null, TimeSpan? maxDuration = null, params GateSpec[] gates) => new()
    {
        Agents =
        [
            new AgentSpec { Name = "fixer", Layer = LayerName.Growth, Command = [Repo.Agent("review-fix.sh"), mode], Grace = TimeSpan.FromSeconds(2) },
        ],
        CompoundReview = new CompoundReviewSpec
        {
            Repo = _git.Repo,
            Agent = "fixer",
            CreatePrs = createPrs,
            MaxDuration = maxDuration ?? TimeSpan.FromMinutes(5),
            Forge = new ForgeSpec { BaseUrl = forgeUrl ?? "http://127.0.0.1:9", Repository = "acme/widgets", TokenEnv = "DF_TEST_GH_TOKEN" },
            Gates = gates.Length > 0 ? gates : [new GateSpec { Name = "has-review", Command = ["sh", "-c", "test -s REVIEW.md"] }],
        },
    };

    private IActorRef Factory(FleetSpec fleet)
    {
        var env = new Dictionary<string, string?>(LayerServicesEnvironment()) { ["DF_TEST_GH_TOKEN"] = "gh-test-token" };
        var factory = Sys.ActorOf(TreeRoot.Props(_daemon.Node(env)), "factory");
        factory.Tell(new ApplyFleet(fleet));
        return factory;
    }

    private static IReadOnlyDictionary<string, string?> LayerServicesEnvironment() => DarkFactory.Actors.Supervision.LayerServices.CurrentEnvironment();

    private static Task<ReviewView> Ended(IActorRef factory, string id) => ReviewSpecs.Ended(factory, id, Wait);

    private static Task<string> Start(IActorRef factory) => ReviewSpecs.Start(factory, Wait);

    [Fact]
    public async Task By_default_a_review_ends_in_a_dry_run_report_and_nothing_is_pushed()
    {
        var factory = Factory(Fleet());
        var id = await Start(factory);
        var view = await Ended(factory, id);

        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal(FindingKind.Revert, view.Finding!.Kind);
        Assert.StartsWith("df/compound/", view.Branch);
        Assert.All(view.Steps, s => Assert.Equal(StepStatus.Completed, s.Status));
        Assert.Equal([ReviewStage.Scan, ReviewStage.Assign, ReviewStage.Agent, ReviewStage.Gates, ReviewStage.DryRun], view.Steps.Select(s => s.Name));
        Assert.All(view.Steps, s => Assert.True(s.EndedAt >= s.StartedAt));

        // the agent ran in the worktree with its task and could not push
        var written = File.ReadAllText(Path.Combine(view.Worktree!, "REVIEW.md"));
        Assert.Contains("What was found: Revert", written);
        Assert.Contains("push by name: refused", view.Summary);
        Assert.Contains("push by url: refused", view.Summary);
        Assert.Equal(["main"], _git.RemoteBranches());

        var report = File.ReadAllText(view.ReportPath!);
        Assert.Contains("create_prs is off", report);
        Assert.Contains("| has-review | passed |", report);
        Assert.Contains(view.Branch!, report);
        Assert.Equal([GateRunnerPaths, DarkFactory.Actors.Review.GateRunner.SecretsGate, "has-review"], view.Gates.Select(g => g.Name));
    }

    [Fact]
    public async Task Worktrees_of_finished_reviews_are_removed_beyond_the_newest_two()
    {
        var factory = Factory(Fleet());
        var worktrees = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var view = await Ended(factory, await Start(factory));
            Assert.True(view.Status == ReviewStatus.Completed, view.Error);
            worktrees.Add(view.Worktree!);
        }

        Assert.Equal(3, worktrees.Distinct().Count());
        // git removes the directory before its admin entry: wait for both, the removal runs after the reply
        await AwaitAssertAsync(() =>
        {
            Assert.False(Directory.Exists(worktrees[0]));
            Assert.DoesNotContain(worktrees[0], GitFixture.Run(_git.Repo, "worktree", "list"));
        }, Wait);
        Assert.True(Directory.Exists(worktrees[1]));
        Assert.True(Directory.Exists(worktrees[2]));

        var branches = GitFixture.Run(_git.Repo, "branch", "--list", "df/compound/*");
        Assert.Contains("-3", branches); // the same finding on the same day: -2, -3 (branches stay)
    }

    private const string GateRunnerPaths = DarkFactory.Actors.Review.GateRunner.PathsGate;

    [Fact]
    public async Task With_create_prs_the_branch_is_pushed_and_one_PR_opened_on_the_forge()
    {
        await using var github = await MockGitHub.StartAsync();
        var factory = Factory(Fleet(createPrs: true, forgeUrl: github.BaseUrl));
        var id = await Start(factory);
        var view = await Ended(factory, id);

        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal(42, view.PrNumber);
        Assert.Equal("https://github.example/acme/widgets/pull/42", view.PrUrl);
        Assert.Contains(view.Branch!, _git.RemoteBranches());
        Assert.Equal(1, github.Created);
        var post = github.Requests.Single(r => r.Method == "POST");
        Assert.Equal("Bearer gh-test-token", post.Authorization);
        Assert.Contains("## Gates", post.Body);
        Assert.Contains("push by url: refused", post.Body);
    }

    [Fact]
    public async Task Failing_gates_block_the_PR_and_nothing_is_pushed()
    {
        await using var github = await MockGitHub.StartAsync();
        var gate = new GateSpec { Name = "not-broken", Command = ["sh", "-c", "test ! -e BROKEN"] };
        var factory = Factory(Fleet("break", createPrs: true, forgeUrl: github.BaseUrl, gates: gate));
        var view = await Ended(factory, await Start(factory));

        Assert.Equal(ReviewStatus.Failed, view.Status);
        Assert.Contains("not-broken (exit 1, expected 0)", view.Error);
        Assert.Equal(StepStatus.Failed, view.Steps.Single(s => s.Name == ReviewStage.Gates).Status);
        Assert.Equal(StepStatus.Skipped, view.Steps.Single(s => s.Name == ReviewStage.Pr).Status);
        Assert.Empty(github.Requests);
        Assert.Equal(["main"], _git.RemoteBranches());
    }

    [Fact]
    public async Task Past_max_duration_the_agent_is_stopped_and_the_review_fails_cleanly()
    {
        var factory = Factory(Fleet("slow", maxDuration: TimeSpan.FromSeconds(3)));
        var view = await Ended(factory, await Start(factory));

        Assert.Equal(ReviewStatus.Failed, view.Status);
        Assert.Contains("max_duration", view.Error);
        Assert.Equal(StepStatus.Failed, view.Steps.Single(s => s.Name == ReviewStage.Agent).Status);
        await AwaitAssertAsync(() => Assert.Empty(_daemon.LiveProcesses()), Wait);

        // the next review may start
        var accepted = await factory.Ask<ReviewAccepted>(new RunReview(), Wait);
        Assert.True(accepted.Ok, accepted.Message);
    }

    [Fact]
    public async Task A_review_recovered_after_its_PR_intent_finds_the_existing_PR_and_opens_none()
    {
        await using var github = await MockGitHub.StartAsync();
        const string branch = "df/compound/2026-11-22-recovered";
        GitFixture.Run(_git.Repo, "branch", branch, "main");
        github.Existing(branch, 7);
        var at = DateTimeOffset.UtcNow;
        await Seed(
            new ReviewStarted("r-rec", at, ReviewTrigger.Schedule, _git.Repo, "main", "fixer", true, TimeSpan.FromMinutes(30)),
            new FindingsRecorded("r-rec", at, [new Finding(FindingKind.Revert, 80, "Revert x", "abc", "why", "x")], 3),
            new TaskAssigned("r-rec", at, "fixer", "task", branch, Path.Combine(_daemon.Directory, "worktrees", "r-rec")),
            new ReviewAgentStarted("r-rec", at, "run1"),
            new ReviewAgentFinished("r-rec", at, "run1", true, 0, "did it", "abc", ["a"]),
            new GatesEvaluated("r-rec", at, [new GateResult("build", true, 0, 0, 5)]),
            new PrIntended("r-rec", at, branch, "Compound review: Revert x", "body"));

        var factory = Factory(Fleet(createPrs: true, forgeUrl: github.BaseUrl));
        var view = await Ended(factory, "r-rec");

        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.Equal(7, view.PrNumber);
        Assert.Equal(0, github.Created);
        Assert.Contains(branch, _git.RemoteBranches());
    }

    [Fact]
    public async Task A_review_recovered_while_its_agent_ran_starts_a_new_run_in_the_same_worktree()
    {
        var at = DateTimeOffset.UtcNow;
        var worktree = Path.Combine(_daemon.Directory, "worktrees", "r-run");
        await Seed(
            new ReviewStarted("r-run", at, ReviewTrigger.Manual, _git.Repo, "main", "fixer", false, TimeSpan.FromMinutes(30)),
            new FindingsRecorded("r-run", at, [new Finding(FindingKind.TodoAdded, 40, "TODO added", "a:1", "why", "todo")], 3),
            new TaskAssigned("r-run", at, "fixer", "the recovered task", "df/compound/2026-11-22-todo", worktree),
            new ReviewAgentStarted("r-run", at, "lost-run"));

        var factory = Factory(Fleet());
        var view = await Ended(factory, "r-run");

        Assert.True(view.Status == ReviewStatus.Completed, view.Error);
        Assert.NotEqual("lost-run", view.RunId);
        Assert.Equal("the recovered task\n", File.ReadAllText(Path.Combine(worktree, "REVIEW.md")));
        Assert.True(File.Exists(view.ReportPath));
    }

    /// <summary>Writes events into the compound review's journal, as a killed daemon would have left them.</summary>
    private Task Seed(params IReviewEvent[] events) => ReviewSpecs.Seed(Sys, "compound-review", Wait, events);

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
