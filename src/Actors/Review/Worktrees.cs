using System.Globalization;

namespace DarkFactory.Actors.Review;

/// <summary>
/// The review's git worktrees: one fresh worktree per review on a <c>df/compound/&lt;date&gt;-&lt;slug&gt;</c>
/// branch, made unable to push (every remote's push URL is <c>DISABLED</c> in the worktree's own config and
/// its hooks directory holds a refusing pre-push hook), the daemon's commit of what the agent left, the
/// daemon's own push (hooks bypassed, to the remote's fetch URL), and cleanup.
/// </summary>
public static class Worktrees
{
    public const string BranchPrefix = "df/compound/";
    public const string DisabledPushUrl = "DISABLED";

    private static readonly string[] CommitIdentity = ["-c", "user.name=Dark Factory", "-c", "user.email=dark-factory@localhost", "-c", "commit.gpgsign=false"];

    /// <summary>A branch name for a review's finding that no existing branch of the repository has.</summary>
    public static async Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct)
    {
        var stem = BranchPrefix + at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "-" + slug;
        var existing = (await Git.RequireAsync(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/" + BranchPrefix], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);
        return PickBranch(stem, existing);
    }

    /// <summary>The stem itself, or the stem with -2, -3 ... when taken.</summary>
    public static string PickBranch(string stem, IReadOnlySet<string> existing)
    {
        if (!existing.Contains(stem))
        {
            return stem;
        }

        for (var n = 2; ; n++)
        {
            var candidate = $"{stem}-{n}";
            if (!existing.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>
    /// Creates the worktree on its branch (reuses it when a restart finds it already there) and locks it
    /// against pushing. Idempotent.
    /// </summary>
    public static async Task EnsureAsync(string repo, string baseBranch, string branch, string path, string hooksDirectory, CancellationToken ct)
    {
        var reuse = Directory.Exists(path)
            && (await Git.RunAsync(path, ["rev-parse", "--abbrev-ref", "HEAD"], ct)) is { Ok: true } head
            && head.Stdout.Trim() == branch;
        if (reuse)
        {
            // a daemon killed in the middle of a git command leaves its lock; nothing else uses this worktree now
            var gitDir = (await Git.RequireAsync(path, ["rev-parse", "--absolute-git-dir"], ct)).Trim();
            File.Delete(Path.Combine(gitDir, "index.lock"));
        }
        else
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }

            await Git.RunAsync(repo, ["worktree", "prune"], ct);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var branchExists = (await Git.RunAsync(repo, ["rev-parse", "--verify", "--quiet", "refs/heads/" + branch], ct)).Ok;
            await Git.RequireAsync(repo, branchExists ? ["worktree", "add", path, branch] : ["worktree", "add", "-b", branch, path, baseBranch], ct);
        }

        await DisablePushAsync(repo, path, hooksDirectory, ct);
    }

    /// <summary>Every remote's push URL set to DISABLED and a refusing pre-push hook, both in the worktree's own config only.</summary>
    public static async Task DisablePushAsync(string repo, string worktree, string hooksDirectory, CancellationToken ct)
    {
        Directory.CreateDirectory(hooksDirectory);
        var hook = Path.Combine(hooksDirectory, "pre-push");
        await File.WriteAllTextAsync(hook, "#!/bin/sh\necho 'Dark Factory: pushing from a compound review worktree is disabled; the review pushes the branch itself' >&2\nexit 1\n", ct);
        File.SetUnixFileMode(hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await Git.RequireAsync(repo, ["config", "extensions.worktreeConfig", "true"], ct);
        await Git.RequireAsync(worktree, ["config", "--worktree", "core.hooksPath", hooksDirectory], ct);
        foreach (var remote in (await Git.RequireAsync(repo, ["remote"], ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await Git.RequireAsync(worktree, ["config", "--worktree", $"remote.{remote}.pushurl", DisabledPushUrl], ct);
        }
    }

    /// <summary>
    /// Commits whatever the agent left uncommitted (hooks off) and answers the head commit and the files
    /// changed since the base branch; a null commit when the branch has nothing new.
    /// </summary>
    public static async Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string worktree, string baseBranch, string message, CancellationToken ct)
    {
        await Git.RequireAsync(worktree, ["add", "-A"], ct);
        var status = await Git.RequireAsync(worktree, ["status", "--porcelain"], ct);
        if (status.Trim().Length > 0)
        {
            await Git.RequireAsync(worktree, [.. CommitIdentity, "commit", "--no-verify", "-q", "-m", message], ct);
        }

        var ahead = int.Parse((await Git.RequireAsync(worktree, ["rev-list", "--count", baseBranch + "..HEAD"], ct)).Trim(), CultureInfo.InvariantCulture);
        if (ahead == 0)
        {
            return (null, []);
        }

        var head = (await Git.RequireAsync(worktree, ["rev-parse", "HEAD"], ct)).Trim();
        var files = (await Git.RequireAsync(worktree, ["diff", "--name-only", baseBranch + "...HEAD"], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (head, files);
    }

    /// <summary>Pushes the review's branch from the repository (not the worktree) to the remote's fetch URL, hooks bypassed.</summary>
    public static async Task PushAsync(string repo, string remote, string branch, CancellationToken ct)
    {
        var url = (await Git.RunAsync(repo, ["remote", "get-url", remote], ct)) is { Ok: true } r
            ? r.Stdout.Trim()
            : throw new GitException($"compound_review.remote '{remote}' is not a remote of {repo}");
        await Git.RequireAsync(repo, ["-c", "core.hooksPath=/dev/null", "push", "--no-verify", "--quiet", url, $"refs/heads/{branch}:refs/heads/{branch}"], ct);
    }

    /// <summary>Removes a finished review's worktree (the branch stays); nothing happens when it is gone already.</summary>
    public static async Task RemoveAsync(string repo, string path, CancellationToken ct)
    {
        if (Directory.Exists(path))
        {
            await Git.RunAsync(repo, ["worktree", "remove", "--force", path], ct);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }

        await Git.RunAsync(repo, ["worktree", "prune"], ct);
    }

    /// <summary>
    /// Files of the change that are not plain paths inside the worktree: absolute or <c>..</c> paths, or
    /// symbolic links that resolve outside it.
    /// </summary>
    public static IReadOnlyList<string> Escaping(string worktree, IReadOnlyList<string> files)
    {
        var root = Path.GetFullPath(worktree).TrimEnd('/') + "/";
        var bad = new List<string>();
        foreach (var f in files)
        {
            var full = Path.GetFullPath(Path.Combine(root, f));
            if (Path.IsPathRooted(f) || !full.StartsWith(root, StringComparison.Ordinal))
            {
                bad.Add(f);
                continue;
            }

            var info = new FileInfo(full);
            if (info.Exists && info.LinkTarget is { } target)
            {
                var resolved = Path.GetFullPath(target, Path.GetDirectoryName(full)!);
                if (!resolved.StartsWith(root, StringComparison.Ordinal))
                {
                    bad.Add($"{f} -> {target}");
                }
            }
        }

        return bad;
    }
}
