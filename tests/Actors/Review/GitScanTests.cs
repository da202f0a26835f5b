using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>The scan reads a real repository's last day through git and ranks what it found.</summary>
public sealed class GitScanTests : IDisposable
{
    private readonly GitFixture _git = new();
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task A_day_of_history_gives_reverts_todos_and_large_diffs_ranked_by_priority()
    {
        _git.DayOfHistory(_now);
        var (commits, todos) = await GitScan.ReadAsync(_git.Repo, "main", _now.AddHours(-24), CancellationToken.None);

        Assert.Equal(5, commits.Count); // the initial import is older than the window
        Assert.DoesNotContain(commits, c => c.Subject == "Initial import");
        var todo = Assert.Single(todos);
        Assert.Equal(("src/parser.sh", 2), (todo.Path, todo.Line));
        Assert.Contains("reject input with NUL bytes", todo.Text);

        var crash = new AgentLifecycle("ci-watchdog", LifecycleKind.Crashed, _now.AddHours(-1), "r1", ExitCode: 2, Detail: "exit 2");
        var findings = FindingRanker.Rank(new ScanInput(commits, todos, [crash]));
        Assert.Equal(
            [FindingKind.Revert, FindingKind.FailedRuns, FindingKind.TodoAdded, FindingKind.LargeDiff],
            findings.Select(f => f.Kind));
        Assert.StartsWith("Revert ", findings[0].Title);
        Assert.StartsWith("revert-revert-speed-up-app-start", findings[0].Slug);
        Assert.Equal("src/parser.sh:2", findings[2].Where);
        Assert.Contains("450 lines", findings[3].Title);
    }

    [Fact]
    public async Task An_unknown_base_branch_is_named_in_the_error()
    {
        _git.Commit(_now, "one");
        var e = await Assert.ThrowsAsync<GitException>(() => GitScan.ReadAsync(_git.Repo, "trunk", _now.AddDays(-1), CancellationToken.None));
        Assert.Contains("compound_review.base_branch 'trunk'", e.Message);
    }

    [Fact]
    public void Hotspots_and_fleet_escalations_are_ranked_with_ties_going_to_the_most_recent()
    {
        var commits = Enumerable.Range(0, 3).Select(i => new ScannedCommit($"sha{i}", _now.AddHours(-i), "a", $"change {i}", [new FileChange("src/hot.cs", 1, 1)])).ToList();
        var records = new[]
        {
            new AgentLifecycle("a", LifecycleKind.Escalated, _now, Detail: "layer intensity exceeded"),
            new AgentLifecycle("b", LifecycleKind.Quarantined, _now, Detail: "crash loop"),
        };
        var findings = FindingRanker.Rank(new ScanInput(commits, [], records));
        Assert.Equal([FindingKind.Escalation, FindingKind.Quarantine, FindingKind.Hotspot], findings.Select(f => f.Kind));
        Assert.Equal("src/hot.cs changed in 3 commits", findings[2].Title);
    }

    [Theory]
    [InlineData("Revert \"Speed up: app/start!\"", "revert-speed-up-app-start")]
    [InlineData("  ", "finding")]
    [InlineData("ÄÖ weird ___ chars", "weird-chars")]
    public void Slugs_are_safe_branch_words(string text, string slug) => Assert.Equal(slug, GitScan.Slug(text));

    [Fact]
    public void Task_text_holds_the_handoff_context()
    {
        var finding = new Finding(FindingKind.TodoAdded, 40, "TODO added in a.cs:3: TODO x", "a.cs:3", "unfinished work", "todo-a");
        var started = new ReviewStarted("r9", _now, ReviewTrigger.Manual, "/repo", "main", "fixer", false, TimeSpan.FromMinutes(30));
        var task = TaskWriter.Write(finding, started, ["build", "tests"], 2);
        Assert.Contains("What was found: TODO added in a.cs:3", task);
        Assert.Contains("Where: a.cs:3", task);
        Assert.Contains("Why it matters: unfinished work", task);
        Assert.Contains("build, tests", task);
        Assert.Contains("2 lower-priority finding(s)", task);
    }

    public void Dispose() => _git.Dispose();
}
