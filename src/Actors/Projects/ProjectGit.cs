using DarkFactory.Actors.Review;
using LibGit2Sharp;
using CompareOptions = LibGit2Sharp.CompareOptions;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// A project attempt's commit in process (libgit2 through LibGit2Sharp): no git process at all, where the git CLI
/// took a dozen per commit (each ~3–5 ms on a quiet machine, ~200 ms on a loaded one). libgit2 runs no hooks, no
/// fsmonitor and no filter, diff or merge driver a repository configures (it has no way to run a program for them),
/// and it reads no global, XDG or system configuration here (their search paths are emptied, as the CLI's
/// <c>GIT_CONFIG_GLOBAL=/dev/null</c> and <c>GIT_CONFIG_NOSYSTEM</c> do). As with the CLI, the repository is opened at
/// the worktree's own git directory found from the user's repository, with the worktree given explicitly: neither the
/// agent-writable <c>.git</c> file nor a <c>core.worktree</c> in its config can point the commit elsewhere.
/// </summary>
public static class ProjectGit
{
    /// <summary>The daemon's identity on its commits (as the CLI's <see cref="Worktrees"/> commits).</summary>
    public const string AuthorName = "Dark Factory";

    public const string AuthorEmail = "dark-factory@localhost";

    private static readonly StatusOptions AllChanges = new()
    {
        Show = StatusShowOption.IndexAndWorkDir,
        IncludeUntracked = true,
        RecurseUntrackedDirs = true,
        IncludeIgnored = false,
        IncludeUnaltered = false,
        ExcludeSubmodules = true,
        DetectRenamesInIndex = false,
        DetectRenamesInWorkDir = false,
        DisablePathSpecMatch = true,
    };

    static ProjectGit()
    {
        // no configuration outside the repository's own: the daemon's HOME, /etc/gitconfig and XDG are not read
        foreach (var level in new[] { ConfigurationLevel.Global, ConfigurationLevel.Xdg, ConfigurationLevel.System, ConfigurationLevel.ProgramData })
        {
            GlobalSettings.SetConfigSearchPaths(level, []);
        }
    }

    /// <summary>
    /// Loads libgit2 ahead of the first commit (a one-time cost, ~100–300 ms on a loaded machine, that no task should
    /// pay). A library that cannot load fails here and again, with its error, at the first commit.
    /// </summary>
    public static void WarmUp() => _ = GlobalSettings.Version;

    /// <summary>
    /// Stages everything the attempt left (as <c>git add -A</c>: new, changed and deleted files; ignored files stay out)
    /// and commits it with <paramref name="message"/>, unless HEAD already is the commit carrying
    /// <paramref name="trailer"/> (a daemon killed after committing): then that commit is answered. Answers the commit
    /// and the files it changed against its parent, or (null, []) when nothing changed.
    /// </summary>
    /// <param name="admin">The worktree's git directory (&lt;common&gt;/worktrees/&lt;name&gt;).</param>
    public static (string? Commit, IReadOnlyList<string> Files) Commit(string admin, string worktree, string message, string trailer, DateTimeOffset now)
    {
        using var git = Open(admin, worktree);
        var head = git.Head.Tip;
        if (head is null || !HasTrailer(head.Message, trailer))
        {
            foreach (var entry in git.RetrieveStatus(AllChanges))
            {
                if (entry.State.HasFlag(FileStatus.DeletedFromWorkdir))
                {
                    git.Index.Remove(entry.FilePath);
                }
                else if ((entry.State & (FileStatus.NewInWorkdir | FileStatus.ModifiedInWorkdir | FileStatus.TypeChangeInWorkdir | FileStatus.RenamedInWorkdir)) != 0)
                {
                    if (entry.FilePath.EndsWith('/'))
                    {
                        continue; // a repository of its own inside the worktree: not the project's files
                    }

                    git.Index.Add(entry.FilePath);
                }
            }

            git.Index.Write();
            var tree = git.Index.WriteToTree();
            if (head is not null && tree.Id == head.Tree.Id)
            {
                return (null, []);
            }

            var signature = new Signature(AuthorName, AuthorEmail, now);
            head = git.Commit(message, signature, signature, new CommitOptions { PrettifyMessage = true });
        }

        return (head.Sha, FilesOf(git, head));
    }

    /// <summary>The files a commit changed against its first parent (all of its files for a root commit), in path order.</summary>
    public static IReadOnlyList<string> FilesOf(Repository git, LibGit2Sharp.Commit commit)
    {
        var parent = commit.Parents.FirstOrDefault();
        var changes = git.Diff.Compare<TreeChanges>(parent?.Tree, commit.Tree, new CompareOptions { Similarity = SimilarityOptions.Renames, IncludeUnmodified = false });
        return changes.Select(c => c.Path).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The worktree's git directory of the repository: its common directory's <c>worktrees/*</c> whose <c>gitdir</c> names the worktree.</summary>
    public static string AdminDirectory(string repo, string worktree)
    {
        string common;
        using (var user = new Repository(repo))
        {
            common = Path.GetFullPath(user.Info.Path);
        }

        var commondir = Path.Combine(common, "commondir");
        if (File.Exists(commondir))
        {
            common = Path.GetFullPath(File.ReadAllText(commondir).Trim(), common);
        }

        var expected = Path.Combine(Path.GetFullPath(worktree), ".git");
        var admins = Path.Combine(common, "worktrees");
        if (Directory.Exists(admins))
        {
            foreach (var dir in Directory.EnumerateDirectories(admins))
            {
                var gitdir = Path.Combine(dir, "gitdir");
                if (File.Exists(gitdir) && Path.GetFullPath(File.ReadAllText(gitdir).Trim(), dir) == expected)
                {
                    return dir;
                }
            }
        }

        throw new GitException($"{worktree} is not a worktree of {repo}");
    }

    /// <summary>True when one of the message's lines is the trailer itself (attempt 1's trailer is not found in attempt 12's).</summary>
    public static bool HasTrailer(string message, string trailer) =>
        message.Split('\n').Any(line => line.TrimEnd('\r', ' ', '\t') == trailer);

    private static Repository Open(string admin, string worktree) =>
        new(admin, new RepositoryOptions { WorkingDirectoryPath = Path.GetFullPath(worktree) });
}
