using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Isolation;

/// <summary>
/// Isolated runs (issue 13, "every AI run that edits code works in a worktree") with real processes from tests/agents
/// and real git repositories: the run works in a worktree on a df/&lt;agent&gt;/&lt;date&gt;-&lt;n&gt; branch, the daemon
/// commits what it left, gates it and lists the branch; the user's checkout is never touched.
/// </summary>
public sealed class IsolatedRunSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDaemon _daemon = new();
    private readonly GitFixture _git = new();
    private readonly IActorRef _sweeper;

    public IsolatedRunSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
        _git.Commit(DateTimeOffset.UtcNow.AddHours(-1), "Initial import", ("README.md", "# demo\n"), ("src/app.sh", "echo app\n"));
        GitFixture.Run(_git.Repo, "push", "-q", "origin", "main");
    }

    private string Records => Path.Combine(_daemon.Directory, RunIsolation.BranchesDirectory);

    private string WorktreesOf(string agent) => Path.Combine(_daemon.Directory, "worktrees", RunIsolation.AgentsDirectory, agent);

    private AgentSpec Isolated(string name, string script, params string[] args) =>
        Specs.Agent(name, script, args) with { Restart = RestartType.Transient, Isolation = IsolationMode.Worktree, Workdir = _git.Repo };

    private async Task<AgentStatus> RunToEnd(AgentSpec agent)
    {
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(_sweeper, TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [agent], 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
        AgentStatus status = null!;
        await AwaitConditionAsync(
            async () => (status = (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single()).State is AgentState.Completed or AgentState.Stopped or AgentState.Unavailable or AgentState.Quarantined,
            Wait,
            TimeSpan.FromMilliseconds(50));
        return status;
    }

    [Fact]
    public async Task An_attacking_agent_leaves_the_users_checkout_byte_identical_cannot_push_and_its_branch_has_the_daemons_commit()
    {
        var checkoutBefore = Snapshot(_git.Repo);
        var headBefore = GitFixture.Run(_git.Repo, "rev-parse", "HEAD").Trim();
        var remoteBefore = GitFixture.Run(_git.Bare, "for-each-ref", "--format=%(refname) %(objectname)");

        var status = await RunToEnd(Isolated("attacker", "isolation-attack.sh"));

        Assert.Equal(AgentState.Completed, status.State);
        var log = File.ReadAllText(_daemon.Logs.PathOf("attacker"));
        Assert.Contains("ATTACK commit: 0", log); // its own commit works: on its branch
        Assert.DoesNotContain("ATTACK checkout-main: 0", log); // main is the user's checkout's branch
        Assert.DoesNotContain("ATTACK switch-main: 0", log);
        Assert.DoesNotContain("ATTACK push-main: 0", log);
        Assert.DoesNotContain("ATTACK push-branch: 0", log);
        Assert.DoesNotContain("ATTACK push: 0", log);

        // the user's checkout: every file byte-identical, HEAD and the index untouched, nothing new in it
        Assert.Equal(checkoutBefore, Snapshot(_git.Repo));
        Assert.Equal(headBefore, GitFixture.Run(_git.Repo, "rev-parse", "HEAD").Trim());
        Assert.Equal("", GitFixture.Run(_git.Repo, "status", "--porcelain").Trim());
        Assert.False(File.Exists(Path.Combine(_git.Repo, "feature.txt")));

        // every push failed: the remote is as it was
        Assert.Equal(remoteBefore, GitFixture.Run(_git.Bare, "for-each-ref", "--format=%(refname) %(objectname)"));

        // the branch: the agent's commit, then the daemon's with what it left; named df/<agent>/<date>-1
        var branch = $"df/attacker/{DateTimeOffset.UtcNow:yyyy-MM-dd}-1";
        Assert.Equal($"{branch}\n", GitFixture.Run(_git.Repo, "branch", "--list", "df/*", "--format=%(refname:short)"));
        var head = GitFixture.Run(_git.Repo, "log", "-1", "--format=%an <%ae>%n%B", branch);
        Assert.StartsWith("Dark Factory <dark-factory@localhost>", head);
        Assert.Contains("DF-Agent: attacker", head);
        Assert.Contains($"DF-Run: {status.RunId}", head);
        Assert.Equal("the agent's own commit", GitFixture.Run(_git.Repo, "log", "-1", "--format=%s", branch + "~1").Trim());
        Assert.Equal("left for the daemon\n", GitFixture.Run(_git.Repo, "show", branch + ":late.txt"));
        Assert.Equal(headBefore, GitFixture.Run(_git.Repo, "merge-base", "main", branch).Trim());

        // listed for review; the worktree is gone (what was written through ../ stays outside the checkout)
        var listed = Assert.Single(await AgentWorktrees.ListAsync(Records, null, CancellationToken.None));
        Assert.Equal(("attacker", branch, status.RunId, 2), (listed.Agent, listed.Branch, listed.RunId, listed.Commits));
        Assert.Equal(["README.md", "feature.txt", "late.txt"], listed.FilesChanged.Order(StringComparer.Ordinal));
        Assert.Empty(listed.Gates);
        Assert.False(Directory.Exists(Path.Combine(WorktreesOf("attacker"), status.RunId!)));
        Assert.DoesNotContain(status.RunId!, GitFixture.Run(_git.Repo, "worktree", "list"));
    }

    [Fact]
    public async Task The_agents_gates_check_its_branch_and_their_results_are_recorded()
    {
        var agent = Isolated("gated", "isolation-attack.sh") with
        {
            Gates =
            [
                new GateSpec { Name = "has-feature", Command = ["test", "-f", "feature.txt"] },
                new GateSpec { Name = "no-broken", Command = ["sh", "-c", "test ! -f late.txt"] },
            ],
        };

        await RunToEnd(agent);

        var branch = Assert.Single(await AgentWorktrees.ListAsync(Records, "gated", CancellationToken.None));
        Assert.Equal(
            [("worktree-paths", true), ("no-secrets", true), ("has-feature", true), ("no-broken", false)],
            branch.Gates.Select(g => (g.Name, g.Passed)));
        Assert.False(branch.GatesPassed);
    }

    [Fact]
    public async Task A_run_that_changes_nothing_leaves_no_branch_and_no_worktree()
    {
        var status = await RunToEnd(Isolated("idle", "lines.sh", "2"));

        Assert.Equal(AgentState.Completed, status.State);
        Assert.Equal("", GitFixture.Run(_git.Repo, "branch", "--list", "df/*").Trim());
        Assert.Empty(await AgentWorktrees.ListAsync(Records, null, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(WorktreesOf("idle"), status.RunId!)));
    }

    [Fact]
    public async Task Isolation_worktree_outside_a_git_repository_makes_the_agent_unavailable()
    {
        var plain = Directory.CreateTempSubdirectory("df-plain-").FullName;
        try
        {
            var status = await RunToEnd(Isolated("lost", "lines.sh", "1") with { Workdir = plain });

            Assert.Equal(AgentState.Unavailable, status.State);
            Assert.Contains("isolation: worktree needs a git repository", status.Reason);
        }
        finally
        {
            Directory.Delete(plain, recursive: true);
        }
    }

    [Fact]
    public async Task A_worktree_a_killed_daemon_left_is_committed_and_removed_before_the_agents_next_run()
    {
        // a run whose daemon died: its worktree made, the agent's file written, never finished
        var now = DateTimeOffset.UtcNow;
        var spec = Isolated("again", "lines.sh", "1");
        var (left, _) = RunIsolation.Plan(spec, givenWorkdir: false, "deadrun", now, Path.Combine(_daemon.Directory, "worktrees"), _daemon.Directory);
        await AgentWorktrees.PrepareAsync(left!, Redactor.None, now, CancellationToken.None);
        File.WriteAllText(Path.Combine(left!.Worktree, "half.txt"), "half done\n");

        await RunToEnd(spec);

        var branch = Assert.Single(await AgentWorktrees.ListAsync(Records, "again", CancellationToken.None));
        Assert.Equal("deadrun", branch.RunId);
        Assert.Contains("recovered", GitFixture.Run(_git.Repo, "log", "-1", "--format=%s", branch.Branch));
        Assert.Equal(["half.txt"], branch.FilesChanged);
        Assert.False(Directory.Exists(left.Worktree));
    }

    /// <summary>Every file of the checkout outside .git with its SHA-256.</summary>
    private static string Snapshot(string dir) =>
        string.Join('\n', Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(dir, f).StartsWith(".git", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(dir, f) + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon.Dispose();
            _git.Dispose();
        }
    }
}
