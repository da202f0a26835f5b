using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Actors.Tests.Projects;

/// <summary>
/// The commit step on a real worktree (in process, <see cref="ProjectGit"/>): a daemon killed after its commit but
/// before it recorded it commits nothing the second time (the intent's trailer is found on HEAD), an attempt that
/// changed nothing commits nothing, what is committed is what <c>git add -A</c> would stage, and nothing a repository
/// configures (hooks, fsmonitor, filter and diff drivers, core.worktree, a rewritten .git file) runs or redirects it.
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
    public async Task The_commit_step_runs_the_gates_on_the_commits_files_and_after_a_restart_finds_the_commit_and_runs_them_again()
    {
        var wt = await Worktree();
        File.WriteAllText(Path.Combine(wt, "limit.py"), "LIMIT = 5\n");
        var at = new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
        var created = new Messages.Projects.ProjectCreated("p-000001", at, "auth", "d", _git.Repo, "main", "df/auth/2026-12-07", wt, ["engineer"], TimeSpan.FromHours(1), TimeSpan.FromMinutes(30), 3, "planner", "reviewer", false);
        var s = ProjectStateRules.Apply(null, created) with { PendingCommit = new Messages.Projects.CommitIntended("p-000001", at, "t1", 1, "Add limit\n\n" + ProjectRules.CommitTrailer("p-000001", "t1", 1)) };
        var checkedFiles = new List<IReadOnlyList<string>>();
        Task<Messages.Projects.IProjectEvent> Gates(IReadOnlyList<string> files, CancellationToken ct)
        {
            checkedFiles.Add(files);
            Assert.Equal(1, Commits(wt)); // the gates see the commit
            return Task.FromResult<Messages.Projects.IProjectEvent>(new Messages.Projects.AttemptGated("p-000001", at, "t1", 1, [new Messages.Review.GateResult("tests", true, 0, 0, 1)]));
        }

        var first = await ProjectStepWork.Commit(s, TimeProvider.System, Gates)(CancellationToken.None);
        var again = await ProjectStepWork.Commit(s, TimeProvider.System, Gates)(CancellationToken.None); // the daemon died before the write

        var committed = Assert.IsType<Messages.Projects.AttemptCommitted>(first[0]);
        Assert.IsType<Messages.Projects.AttemptGated>(first[1]);
        Assert.Equal(committed.Commit, Assert.IsType<Messages.Projects.AttemptCommitted>(again[0]).Commit);
        Assert.Equal([["limit.py"], ["limit.py"]], checkedFiles);
        Assert.Equal(1, Commits(wt));
        Assert.Single(await ProjectStepWork.Commit(s, TimeProvider.System)(CancellationToken.None)); // no gates: the commit alone
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

    [Fact]
    public async Task The_commit_holds_what_git_add_all_stages_by_the_daemons_identity_and_lists_its_files()
    {
        var wt = await Worktree();
        var trailer = ProjectRules.CommitTrailer("p-000001", "t1", 1);
        File.WriteAllText(Path.Combine(wt, ".gitignore"), "*.log\nbuild/\n");
        File.WriteAllText(Path.Combine(wt, "debug.log"), "ignored\n");
        Directory.CreateDirectory(Path.Combine(wt, "build"));
        File.WriteAllText(Path.Combine(wt, "build", "out.bin"), "ignored\n");
        Directory.CreateDirectory(Path.Combine(wt, "src", "limits", "deep"));
        File.WriteAllText(Path.Combine(wt, "src", "limits", "deep", "rate.py"), "RATE = 5\n");
        File.AppendAllText(Path.Combine(wt, "src", "app.sh"), "echo limited\n");
        File.Delete(Path.Combine(wt, "README.md"));
        File.Move(Path.Combine(wt, "data", "words.txt"), Path.Combine(wt, "data", "words-renamed.txt"));

        var (commit, files) = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Add limit  \n\n\n\nbody\n\n" + trailer + "\n\n", trailer, CancellationToken.None);

        Assert.NotNull(commit);
        Assert.Equal(commit, GitFixture.Run(wt, "rev-parse", "HEAD").Trim());
        Assert.Equal(GitFixture.Run(wt, "show", "--name-only", "--format=", "HEAD").Split('\n', StringSplitOptions.RemoveEmptyEntries), files);
        Assert.Equal([".gitignore", "README.md", "data/words-renamed.txt", "src/app.sh", "src/limits/deep/rate.py"], files);
        Assert.Equal(string.Empty, GitFixture.Run(wt, "status", "--porcelain").Trim()); // the index is git's own: nothing left to stage
        Assert.Equal("Dark Factory <dark-factory@localhost> Dark Factory <dark-factory@localhost>", GitFixture.Run(wt, "log", "-1", "--format=%an <%ae> %cn <%ce>").Trim());
        Assert.Equal("Add limit\n\nbody\n\n" + trailer + "\n", GitFixture.Run(wt, "log", "-1", "--format=%B").TrimEnd('\n') + "\n"); // cleaned up as git commit -m does
        var tree = GitFixture.Run(wt, "ls-tree", "-r", "--name-only", "HEAD").Split('\n');
        Assert.DoesNotContain("debug.log", tree);
        Assert.DoesNotContain("build/out.bin", tree);
        Assert.Equal(1, Commits(wt));
    }

    [Fact]
    public void A_trailer_is_found_as_a_whole_line_only()
    {
        var t1 = ProjectRules.CommitTrailer("p-000001", "t1", 1);
        var t12 = ProjectRules.CommitTrailer("p-000001", "t1", 12);

        Assert.True(ProjectGit.HasTrailer("Add limit\n\n" + t1 + "\n", t1));
        Assert.True(ProjectGit.HasTrailer("Add limit\r\n\r\n" + t1, t1));
        Assert.False(ProjectGit.HasTrailer("Add limit\n\n" + t12 + "\n", t1));
        Assert.False(ProjectGit.HasTrailer("Add limit, see " + t1, t1));
    }

    /// <summary>
    /// Issue 14 against the project's commit: an agent plants programs in its worktree's config, the shared config, an
    /// included file, .gitattributes and the hooks directories; the daemon's in-process commit runs none of them and
    /// commits the files as they are (no clean filter applied). A plain git commit afterwards shows the plants are live.
    /// </summary>
    [Fact]
    public async Task The_in_process_commit_runs_no_hook_fsmonitor_or_driver_the_repository_configures()
    {
        var wt = await Worktree();
        var marks = Path.Combine(_git.Root, "marks");
        Directory.CreateDirectory(marks);
        var evil = Path.Combine(_git.Root, "evil.sh");
        File.WriteAllText(evil, $"#!/bin/sh\necho \"$0 $*\" > {marks}/$(basename \"$0\")-$$\necho FILTERED\n");
        File.SetUnixFileMode(evil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        GitFixture.Run(wt, "config", "extensions.worktreeConfig", "true");
        GitFixture.Run(wt, "config", "core.fsmonitor", evil);
        GitFixture.Run(wt, "config", "--worktree", "core.fsmonitor", evil);
        foreach (var (key, value) in new[]
        {
            ("filter.evil.clean", evil), ("filter.evil.smudge", evil), ("filter.evil.required", "true"), ("filter.proc.process", evil),
            ("diff.evil.textconv", evil), ("diff.evil.command", evil), ("merge.evil.driver", evil), ("core.sshCommand", evil),
            ("credential.helper", "!" + evil), ("core.editor", evil), ("gpg.program", evil), ("commit.gpgSign", "true"), ("core.pager", evil),
        })
        {
            GitFixture.Run(wt, "config", "--worktree", key, value);
        }

        var included = Path.Combine(_git.Root, "included.cfg");
        File.WriteAllText(included, $"[core]\n\tfsmonitor = {evil}\n[filter \"inc\"]\n\tclean = {evil}\n\trequired = true\n");
        GitFixture.Run(wt, "config", "include.path", included);
        File.WriteAllText(Path.Combine(wt, ".gitattributes"), "* filter=evil diff=evil merge=evil\n*.p filter=proc\n*.i filter=inc\n");
        var hooks = Path.Combine(_git.Root, "evil-hooks");
        Directory.CreateDirectory(hooks);
        foreach (var name in new[] { "pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "reference-transaction", "post-index-change" })
        {
            File.Copy(evil, Path.Combine(hooks, name), overwrite: true);
            File.Copy(evil, Path.Combine(_git.Repo, ".git", "hooks", name), overwrite: true);
        }

        GitFixture.Run(wt, "config", "--worktree", "core.hooksPath", hooks);
        File.WriteAllText(Path.Combine(wt, "fix.txt"), "fixed\n");
        File.WriteAllText(Path.Combine(wt, "data.p"), "p\n");
        File.WriteAllText(Path.Combine(wt, "data.i"), "i\n");
        var trailer = ProjectRules.CommitTrailer("p-000001", "t1", 1);

        var (commit, files) = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Fix\n\n" + trailer, trailer, CancellationToken.None);

        Assert.NotNull(commit);
        Assert.Equal([".gitattributes", "data.i", "data.p", "fix.txt"], files);
        Assert.Empty(Directory.GetFiles(marks));
        Assert.Equal("fixed\n", GitFixture.Run(_git.Repo, "cat-file", "blob", commit + ":fix.txt")); // stored as written, no clean filter

        // control: the same plants are live for a plain git that trusts the repository
        File.AppendAllText(Path.Combine(wt, "fix.txt"), "more\n");
        try
        {
            GitFixture.Run(wt, "add", "-A");
            GitFixture.Run(wt, "commit", "-q", "-m", "plain");
        }
        catch (InvalidOperationException)
        {
            // a required filter or a hook may fail the plain commit; what counts is that it ran
        }

        Assert.NotEmpty(Directory.GetFiles(marks));
    }

    [Fact]
    public async Task A_core_worktree_or_a_rewritten_git_file_cannot_point_the_project_commit_at_other_files()
    {
        var wt = await Worktree();
        var secrets = Path.Combine(_git.Root, "data-dir");
        Directory.CreateDirectory(secrets);
        File.WriteAllText(Path.Combine(secrets, "token"), "the-api-token\n");
        GitFixture.Run(wt, "config", "extensions.worktreeConfig", "true");
        GitFixture.Run(wt, "config", "--worktree", "core.worktree", secrets);
        var fake = Path.Combine(wt, ".fake");
        GitFixture.Run(_git.Root, "init", "-q", "--bare", fake);
        File.WriteAllText(Path.Combine(wt, ".git"), "gitdir: " + fake + "\n");
        File.WriteAllText(Path.Combine(wt, "fix.txt"), "fixed\n");
        var trailer = ProjectRules.CommitTrailer("p-000001", "t1", 1);

        var (commit, files) = await ProjectWorktree.CommitAsync(_git.Repo, wt, "Fix\n\n" + trailer, trailer, CancellationToken.None);

        Assert.NotNull(commit);
        Assert.Contains("fix.txt", files);
        Assert.DoesNotContain("token", files);
        var tree = GitFixture.Run(_git.Repo, "ls-tree", "-r", "--name-only", "df/auth/2026-12-07").Split('\n');
        Assert.Contains("fix.txt", tree);
        Assert.DoesNotContain("token", tree);
        Assert.DoesNotContain(".git", tree);
    }

    public void Dispose() => _git.Dispose();
}
