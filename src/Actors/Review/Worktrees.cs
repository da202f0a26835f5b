namespace DarkFactory.Actors.Review;

/// <summary>The forge a review's push may authenticate to: its API base URL, repository (owner/name) and token.</summary>
public sealed record ForgeCredentials(string BaseUrl, string? Repository, string Token);

/// <summary>
/// The review's git worktrees: one fresh worktree per review on a <c>df/compound/&lt;date&gt;-&lt;slug&gt;</c>
/// branch, made unable to push (every remote's push URL is <c>DISABLED</c> in the worktree's own config and
/// its hooks directory holds a refusing pre-push hook), the daemon's commit of what the agent left, the
/// daemon's own push (from a clean repository of its own, to the remote's fetch URL), and cleanup.
/// </summary>
public static class Worktrees
{
    public const string BranchPrefix = "df/compound/";
    public const string DisabledPushUrl = "DISABLED";

    internal static readonly string[] CommitIdentity = ["-c", "user.name=Dark Factory", "-c", "user.email=dark-factory@localhost", "-c", "commit.gpgsign=false"];

    /// <summary>A branch name for a review's finding that no existing branch of the repository has.</summary>
    public static async Task<string> ChooseBranchAsync(string repo, DateTimeOffset at, string slug, CancellationToken ct)
    {
        var stem = BranchStem(at, slug);
        var existing = (await Git.RequireAsync(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/" + BranchPrefix], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.Ordinal);
        return PickBranch(stem, existing);
    }

    /// <summary>A review's branch before <see cref="PickBranch"/>: <c>df/compound/&lt;yyyy-mm-dd&gt;-&lt;slug&gt;</c>.</summary>
    public static string BranchStem(DateTimeOffset at, string slug) =>
        BranchPrefix + at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "-" + slug;

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
    /// Commits whatever the agent left uncommitted and answers the head commit and the files changed since the
    /// base branch; a null commit when the branch has nothing new. The worktree's git directory is found from the
    /// repository (never from the worktree's agent-writable <c>.git</c> file) and named on every command together
    /// with the work tree, so neither a rewritten <c>.git</c> file nor a <c>core.worktree</c> in the worktree's
    /// config can point the daemon's commit at other files.
    /// </summary>
    public static async Task<(string? Commit, IReadOnlyList<string> Files)> CommitAsync(string repo, string worktree, string baseBranch, string message, CancellationToken ct)
    {
        var admin = await AdminDirectoryAsync(repo, worktree, ct);
        string[] at = ["--git-dir=" + admin, "--work-tree=" + Path.GetFullPath(worktree)];
        await Git.RequireAsync(worktree, [.. at, "add", "-A"], ct);
        var status = await Git.RequireAsync(worktree, [.. at, "status", "--porcelain"], ct);
        if (status.Trim().Length > 0)
        {
            await Git.RequireAsync(worktree, [.. at, .. CommitIdentity, "commit", "--no-verify", "-q", "-m", message], ct);
        }

        var ahead = int.Parse((await Git.RequireAsync(worktree, [.. at, "rev-list", "--count", baseBranch + "..HEAD"], ct)).Trim(), CultureInfo.InvariantCulture);
        if (ahead == 0)
        {
            return (null, []);
        }

        var head = (await Git.RequireAsync(worktree, [.. at, "rev-parse", "HEAD"], ct)).Trim();
        var files = (await Git.RequireAsync(worktree, [.. at, "diff", "--no-ext-diff", "--no-textconv", "--name-only", baseBranch + "...HEAD"], ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (head, files);
    }

    /// <summary>The repository's common git directory (absolute).</summary>
    public static async Task<string> CommonDirectoryAsync(string repo, CancellationToken ct) =>
        Path.GetFullPath((await Git.RequireAsync(repo, ["rev-parse", "--path-format=absolute", "--git-common-dir"], ct)).Trim());

    /// <summary>
    /// The git directory of one of the repository's worktrees (&lt;common&gt;/worktrees/&lt;name&gt;), found by the
    /// <c>gitdir</c> files git keeps in the common directory.
    /// </summary>
    public static async Task<string> AdminDirectoryAsync(string repo, string worktree, CancellationToken ct)
    {
        var common = await CommonDirectoryAsync(repo, ct);
        var expected = Path.Combine(Path.GetFullPath(worktree), ".git");
        var admins = Path.Combine(common, "worktrees");
        if (Directory.Exists(admins))
        {
            foreach (var dir in Directory.EnumerateDirectories(admins))
            {
                var gitdir = Path.Combine(dir, "gitdir");
                if (File.Exists(gitdir) && Path.GetFullPath((await File.ReadAllTextAsync(gitdir, ct)).Trim(), dir) == expected)
                {
                    return dir;
                }
            }
        }

        throw new GitException($"{worktree} is not a worktree of {repo}");
    }

    /// <summary>
    /// Pushes the review's branch to the remote's fetch URL from a fresh, empty bare repository of the daemon's
    /// own (its objects borrowed from the repository through alternates): the push reads no configuration an agent
    /// could have written (no <c>url.*.insteadOf</c>, proxies, receive-pack or hooks), and the forge token goes only
    /// to a push to the forge's own repository (<see cref="SafeGit.ForgeAuthentication"/>).
    /// </summary>
    /// <param name="forge">Where the token may go and the token itself; null: push without one (ssh, a local remote).</param>
    public static async Task PushAsync(string repo, string remote, string branch, ForgeCredentials? forge, CancellationToken ct)
    {
        // the URL as configured: `git remote get-url` would apply url.*.insteadOf rewrites
        var url = (await Git.RunAsync(repo, ["config", "--get-all", $"remote.{remote}.url"], ct)) is { Ok: true } r
            && r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() is { } configured
            ? RemoteUrl(configured, repo)
            : throw new GitException($"compound_review.remote '{remote}' is not a remote of {repo}");
        var commit = (await Git.RequireAsync(repo, ["rev-parse", "--verify", "--quiet", $"refs/heads/{branch}^{{commit}}"], ct)).Trim();
        var objects = Path.Combine(await CommonDirectoryAsync(repo, ct), "objects");
        var clean = Directory.CreateTempSubdirectory("df-push-").FullName;
        try
        {
            await Git.RequireAsync(clean, ["init", "-q", "--bare", "."], ct);
            await File.WriteAllTextAsync(Path.Combine(clean, "objects", "info", "alternates"), objects + "\n", ct);
            await Git.RequireAsync(clean, ["update-ref", $"refs/heads/{branch}", commit], ct);
            var auth = forge is null ? null : SafeGit.ForgeAuthentication(url, forge.BaseUrl, forge.Repository, forge.Token);
            // a remote that is a local path runs its receive side here, as the daemon: without its hooks
            string[] local = IsLocal(url) ? ["--receive-pack=git -c core.hooksPath=/dev/null -c core.fsmonitor=false receive-pack"] : [];
            var push = await Git.RunAsync(clean, ["push", "--no-verify", "--quiet", .. local, url, $"refs/heads/{branch}:refs/heads/{branch}"], auth, ct);
            if (!push.Ok)
            {
                throw new GitException($"git push {url} {branch} failed ({push.ExitCode}): {push.Stderr.Trim()}");
            }
        }
        finally
        {
            Directory.Delete(clean, recursive: true);
        }
    }

    /// <summary>A remote on this machine (a path or file:// URL): git runs its receive side locally.</summary>
    public static bool IsLocal(string url) => url.StartsWith('/') || url.StartsWith("file://", StringComparison.Ordinal);

    /// <summary>A remote URL as the clean repository must see it: a relative local path is made absolute (from the repository).</summary>
    public static string RemoteUrl(string url, string repo)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            return url; // https://, ssh://, file:// stay as they are
        }

        var colon = url.IndexOf(':');
        var slash = url.IndexOf('/');
        if (colon > 0 && (slash < 0 || colon < slash))
        {
            return url; // scp-like ssh: host:path
        }

        return Path.GetFullPath(url, Path.GetFullPath(repo));
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
