using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// The git side of a project: the checks of <c>df init</c> (a repository, its base branch), the work branch
/// and worktree (made with <see cref="Worktrees"/>, push disabled), and the daemon's commit of an attempt,
/// which a restart finds by its trailer instead of committing again.
/// </summary>
public static class ProjectWorktree
{
    /// <returns>The repository's top-level directory, or the error that names the field.</returns>
    public static async Task<(string? Repo, string? Error)> CheckAsync(string repo, string baseBranch, CancellationToken ct)
    {
        var path = Path.GetFullPath(repo);
        if (!Directory.Exists(path))
        {
            return (null, $"repo: {path} does not exist");
        }

        var top = await Git.RunAsync(path, ["rev-parse", "--show-toplevel"], ct);
        if (!top.Ok)
        {
            return (null, $"repo: {path} is not a git repository");
        }

        var root = top.Stdout.Trim();
        if (!(await Git.RunAsync(root, ["rev-parse", "--verify", "--quiet", "refs/heads/" + baseBranch], ct)).Ok)
        {
            return (null, $"base: branch '{baseBranch}' does not exist in {root}");
        }

        return (root, null);
    }

    /// <summary>The stem, or the stem with -2, -3 … when the repository has a branch of that name.</summary>
    public static async Task<string> ChooseBranchAsync(string repo, string stem, CancellationToken ct)
    {
        var dir = stem[..(stem.LastIndexOf('/') + 1)];
        var existing = (await Git.RequireAsync(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/" + dir], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);
        return Worktrees.PickBranch(stem, existing);
    }

    /// <summary>
    /// Commits what the attempt left with its trailer, unless HEAD already is that commit (a daemon killed after
    /// committing); answers the commit and its files, or (null, []) when nothing changed. In process
    /// (<see cref="ProjectGit"/>: no git process, no hook, fsmonitor or driver can run); like the review's commit, git
    /// is pointed at the worktree's git directory found from the repository, never at what the agent-writable
    /// <c>.git</c> file says.
    /// </summary>
    public static Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string message, string trailer, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        try
        {
            var admin = ProjectGit.AdminDirectory(repo, worktree);
            return Task.FromResult(ProjectGit.Commit(admin, worktree, message, trailer, DateTimeOffset.Now));
        }
        catch (LibGit2Sharp.LibGit2SharpException e)
        {
            throw new GitException($"the commit in {worktree} failed: {e.Message}");
        }
    }
}
