using DarkFactory.Actors.Output;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>Real worktrees: no push from inside them, the daemon's own push works; gates in the worktree.</summary>
public sealed class WorktreeAndGateTests : IDisposable
{
    private static readonly IReadOnlyDictionary<string, string> NoEnv = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH")! };
    private readonly GitFixture _git = new();

    private async Task<string> Worktree(string branch = "df/compound/2026-11-22-x")
    {
        _git.DayOfHistory(DateTimeOffset.UtcNow);
        var path = Path.Combine(_git.Root, "worktrees", "r1");
        await Worktrees.EnsureAsync(_git.Repo, "main", branch, path, Path.Combine(_git.Root, "hooks", "r1"), CancellationToken.None);
        return path;
    }

    [Fact]
    public async Task Nothing_pushes_from_a_review_worktree_but_the_daemon_push_does()
    {
        var wt = await Worktree();
        File.WriteAllText(Path.Combine(wt, "fix.txt"), "fixed\n");
        var (commit, files) = await Worktrees.CommitAsync(_git.Repo, wt, "main", "fix", CancellationToken.None);
        Assert.NotNull(commit);
        Assert.Equal(["fix.txt"], files);

        // an agent's plain git: by remote name (push URL disabled) and by URL (pre-push hook refuses)
        Assert.Throws<InvalidOperationException>(() => GitFixture.Run(wt, "push", "origin", "HEAD"));
        var byUrl = Assert.Throws<InvalidOperationException>(() => GitFixture.Run(wt, "push", _git.Bare, "HEAD:refs/heads/sneaky"));
        Assert.Contains("pushing from a compound review worktree is disabled", byUrl.Message);
        Assert.Equal(["main"], _git.RemoteBranches());

        // the main checkout keeps its push URL
        Assert.Equal(_git.Bare, (await Git.RequireAsync(_git.Repo, ["remote", "get-url", "--push", "origin"])).Trim());

        await Worktrees.PushAsync(_git.Repo, "origin", "df/compound/2026-11-22-x", null, CancellationToken.None);
        Assert.Contains("df/compound/2026-11-22-x", _git.RemoteBranches());
    }

    [Fact]
    public async Task Ensure_is_idempotent_and_remove_cleans_up()
    {
        var wt = await Worktree();
        File.WriteAllText(Path.Combine(wt, "work.txt"), "in progress\n");
        await Worktrees.EnsureAsync(_git.Repo, "main", "df/compound/2026-11-22-x", wt, Path.Combine(_git.Root, "hooks", "r1"), CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(wt, "work.txt"))); // reused, not recreated

        await Worktrees.RemoveAsync(_git.Repo, wt, CancellationToken.None);
        Assert.False(Directory.Exists(wt));
        Assert.DoesNotContain(wt, await Git.RequireAsync(_git.Repo, ["worktree", "list"]));
        Assert.Equal("df/compound/2026-11-22-x-2", Worktrees.PickBranch("df/compound/2026-11-22-x", new HashSet<string> { "df/compound/2026-11-22-x" }));
    }

    [Fact]
    public async Task A_symlink_out_of_the_worktree_fails_the_paths_gate()
    {
        var wt = await Worktree();
        File.CreateSymbolicLink(Path.Combine(wt, "escape"), "/etc/passwd");
        File.WriteAllText(Path.Combine(wt, "ok.txt"), "ok\n");
        var results = await GateRunner.RunAllAsync([], wt, ["escape", "ok.txt", "../outside.txt"], NoEnv, Redactor.None, null, CancellationToken.None);
        var paths = results.Single(r => r.Name == GateRunner.PathsGate);
        Assert.False(paths.Passed);
        Assert.Contains("escape -> /etc/passwd", paths.Output);
        Assert.Contains("../outside.txt", paths.Output);
        Assert.DoesNotContain("ok.txt", paths.Output);
    }

    [Fact]
    public async Task Gates_run_in_the_worktree_with_expected_exit_codes_bounded_output_and_timeouts()
    {
        var wt = await Worktree();
        var gates = new GateSpec[]
        {
            new() { Name = "pwd", Command = ["sh", "-c", "pwd; test -z \"$SECRET_TOKEN\""] },
            new() { Name = "expects-3", Command = ["sh", "-c", "exit 3"], ExpectExit = 3 },
            new() { Name = "fails", Command = ["sh", "-c", "echo bad >&2; exit 1"] },
            new() { Name = "noisy", Command = ["sh", "-c", "i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done"] },
            new() { Name = "hangs", Command = ["sh", "-c", "sleep 600 & sleep 600"], Timeout = TimeSpan.FromMilliseconds(300) },
            new() { Name = "missing", Command = ["/nonexistent/gate"] },
        };
        var results = await GateRunner.RunAllAsync(gates, wt, [], NoEnv, Redactor.None, null, CancellationToken.None);
        var byName = results.ToDictionary(r => r.Name);
        Assert.True(byName[GateRunner.PathsGate].Passed);
        Assert.True(byName["pwd"].Passed, byName["pwd"].Output);
        Assert.Contains(wt, byName["pwd"].Output);
        Assert.True(byName["expects-3"].Passed);
        Assert.Equal((false, 1), (byName["fails"].Passed, byName["fails"].ExitCode!.Value));
        Assert.Contains("bad", byName["fails"].Output);
        Assert.True(byName["noisy"].Output.Length <= GateRunner.MaxOutputChars + 16);
        Assert.Contains("line 4999", byName["noisy"].Output);
        Assert.True(byName["hangs"].TimedOut);
        Assert.False(byName["hangs"].Passed);
        Assert.False(byName["missing"].Passed);
    }

    public void Dispose() => _git.Dispose();
}
