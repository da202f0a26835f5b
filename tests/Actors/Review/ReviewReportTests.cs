using DarkFactory.Actors.Review;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>The review's words, rendered from its recorded events only.</summary>
public sealed class ReviewReportTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    private static readonly Finding Top = new(FindingKind.TodoAdded, 40, "TODO added: " + new string('x', 120), "src/a.cs:12", "unfinished work", "todo-x", At);

    private static ReviewRecord Done(string summary = "fixed the todo", params GateResult[] gates) => new(
        new ReviewStarted("r1", At, ReviewTrigger.Manual, "/srv/repo", "main", "fixer", false, TimeSpan.FromMinutes(30)),
        new FindingsRecorded("r1", At, [Top], 4),
        new TaskAssigned("r1", At, "fixer", "task", "df/compound/2026-11-22-todo-x", "/wt/r1"),
        [new ReviewAgentStarted("r1", At, "run-7")],
        new ReviewAgentFinished("r1", At, "run-7", true, 0, summary, "c0ffee", ["src/a.cs", "tests/a.cs"]),
        new GatesEvaluated("r1", At, gates));

    [Fact]
    public void The_PR_title_is_the_clipped_finding_and_the_body_has_the_finding_the_summary_files_and_each_gate()
    {
        var (title, body) = ReviewReport.PullRequest(Done(gates: [new GateResult("build", true, 0, 0, 1200), new GateResult("lint", false, 3, 0, 50), new GateResult("slow", false, null, 0, 60000, TimedOut: true)]));

        Assert.Equal(90 + "Compound review: ".Length, title.Length);
        Assert.EndsWith("…", title);
        Assert.Contains("- Where: src/a.cs:12\n- Why it matters: unfinished work\n- Kind, priority: todoadded, 40", body);
        Assert.Contains("```\nfixed the todo\n```", body);
        Assert.Contains("Files changed: src/a.cs, tests/a.cs", body);
        Assert.Contains("| build | passed | 0 | 1200 ms |\n| lint | failed | 3 | 50 ms |\n| slow | timed out | - | 60000 ms |\n", body);
        Assert.EndsWith("Opened by Dark Factory's compound review r1 (run run-7).\n", body);
    }

    [Fact]
    public void An_agent_that_printed_nothing_is_said_so()
    {
        Assert.Contains("(the agent printed nothing)", ReviewReport.PullRequest(Done(summary: " ")).Body);
    }

    [Fact]
    public void The_dry_run_says_what_would_have_been_pushed_and_opened_then_gives_the_PR_body()
    {
        var review = Done();

        var report = ReviewReport.DryRun(review, "upstream");

        Assert.StartsWith("# Dry run: Compound review: TODO added", report);
        Assert.Contains("would push branch `df/compound/2026-11-22-todo-x` to remote `upstream` and open this pull request into `main`.", report);
        Assert.Contains("Commit: c0ffee  \nWorktree: /wt/r1", report);
        Assert.EndsWith(ReviewReport.PullRequest(review).Body, report);
    }

    [Fact]
    public void The_commit_message_names_the_review_and_the_clipped_finding()
    {
        var message = ReviewReport.CommitMessage(Done());

        Assert.StartsWith("Compound review r1: TODO added: xxx", message);
        Assert.Equal("Compound review r1: ".Length + 60, message.Length);
    }

    [Fact]
    public void Routed_because_gives_the_agents_capabilities_and_the_route_or_only_what_is_known()
    {
        var agent = new AgentSpec { Name = "reviewer", Capabilities = ["review", "tests"] };

        Assert.Equal(
            "router: best fit by capabilities [review, tests] for the review's task; route: codex via openai: only one",
            ReviewReport.RoutedBecause(agent, new RouteDecision(new Route("codex", "openai", null, "only one"), [], "reviewer")));
        Assert.Equal("router: best fit by capabilities [] for the review's task", ReviewReport.RoutedBecause(null, new RouteDecision(null, [], "gone")));
    }

    [Fact]
    public void A_review_without_a_finding_has_no_report()
    {
        var empty = new ReviewRecord(Done().Started, new FindingsRecorded("r1", At, []));

        Assert.Throws<InvalidOperationException>(() => ReviewReport.PullRequest(empty));
    }
}
