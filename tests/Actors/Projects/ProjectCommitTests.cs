using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// The commit step on a real worktree: a daemon killed after its commit but before it recorded it commits nothing
/// the second time (the intent's trailer is found on HEAD), and an attempt that changed nothing commits nothing.
/// </summary>
public sealed class ProjectCommitTests : IDisposable
{
    private readonly GitFixture _git = new();

    private async Task<string> Worktree()
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        var path = Path.Combine(_git.Root, "worktrees", "p-000001");
        await Worktrees.EnsureAsync(_git.Repo, "main", "df/auth/2026-12-07", path, Path.Combine(_git.Root, "hooks", "p-000001"), CancellationToken.None);
        return path;
    }

    private int Commits(string worktree) => GitFixture.Run(worktree, "log", "--format=%H", "main..HEAD").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public async Task A_commit_done_before_the_daemon_died_is_found_by_its_trailer_and_not_made_twice()
    {
        var wt = await Worktree();
        var trailer = ProjectRules.CommitTrailer("p-000001", "t1", 1);
        File.WriteAllText(Path.Combine(wt, "limit.py"), "LIMIT = 5\n");
        var first = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Add limit\n\n" + trailer, trailer, CancellationToken.None);

        // the daemon died before AttemptCommitted reached the journal; after the restart the step runs again
        var again = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Add limit\n\n" + trailer, trailer, CancellationToken.None);

        Assert.NotNull(first.Commit);
        Assert.Equal(first.Commit, again.Commit);
        Assert.Equal(["limit.py"], again.Files);
        Assert.Equal(1, Commits(wt));
    }

    [Fact]
    public async Task An_attempt_that_changed_nothing_commits_nothing_and_the_next_attempt_commits_its_own()
    {
        var wt = await Worktree();
        var t1 = ProjectRules.CommitTrailer("p-000001", "t1", 1);
        var t2 = ProjectRules.CommitTrailer("p-000001", "t1", 2);

        var nothing = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Add limit\n\n" + t1, t1, CancellationToken.None);
        File.WriteAllText(Path.Combine(wt, "limit.py"), "LIMIT = 5\n");
        var second = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Add limit\n\n" + t2, t2, CancellationToken.None);

        Assert.Null(nothing.Commit);
        Assert.Empty(nothing.Files);
        Assert.NotNull(second.Commit);
        Assert.Equal(1, Commits(wt));
        Assert.Contains(t2, GitFixture.Run(wt, "log", "-1", "--format=%B"));
    }

    public void Dispose() => _git.Dispose();
}
