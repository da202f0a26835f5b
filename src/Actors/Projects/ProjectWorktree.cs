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
    /// Commits what the attempt left (hooks off) with its trailer, unless HEAD already is that commit (a daemon
    /// killed after committing); answers the commit and its files, or (null, []) when nothing changed. Like the
    /// review's commit, git is pointed at the worktree's git directory found from the repository, never at what
    /// the agent-writable <c>.git</c> file says.
    /// </summary>
    public static async Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string message, string trailer, CancellationToken ct)
    {
        var admin = await Worktrees.AdminDirectoryAsync(repo, worktree, ct);
        string[] at = ["--git-dir=" + admin, "--work-tree=" + Path.GetFullPath(worktree)];
        await Git.RequireAsync(worktree, [.. at, "add", "-A"], ct);
        var head = (await Git.RunAsync(worktree, [.. at, "log", "-1", "--format=%B"], ct)).Stdout;
        if (!head.Contains(trailer, StringComparison.Ordinal))
        {
            if ((await Git.RequireAsync(worktree, [.. at, "status", "--porcelain"], ct)).Trim().Length == 0)
            {
                return (null, []);
            }

            await Git.RequireAsync(worktree, [.. at, .. Worktrees.CommitIdentity, "commit", "--no-verify", "-q", "-m", message], ct);
        }

        var commit = (await Git.RequireAsync(worktree, [.. at, "rev-parse", "HEAD"], ct)).Trim();
        var files = (await Git.RequireAsync(worktree, [.. at, "show", "--no-ext-diff", "--no-textconv", "--name-only", "--format=", "HEAD"], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (commit, files);
    }
}
