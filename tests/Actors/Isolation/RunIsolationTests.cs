using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Processes;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Isolation;

/// <summary>Which runs are isolated and where they work (<see cref="RunIsolation"/>).</summary>
public sealed class RunIsolationTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 23, 30, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("df-iso-").FullName;

    public RunIsolationTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "repo", ".git"));
        Directory.CreateDirectory(Path.Combine(_root, "repo", "sub", "dir"));
        Directory.CreateDirectory(Path.Combine(_root, "plain"));
    }

    private string Repo => Path.Combine(_root, "repo");

    private (IsolationPlan? Plan, string? Unavailable) Plan(AgentSpec spec, bool given = false) =>
        RunIsolation.Plan(spec, given, "r1", Now, "/wt", "/data");

    private static AgentSpec Ai(string? workdir, IsolationMode? isolation = null) => new() { Name = "coder", Cli = "claude", Workdir = workdir, Isolation = isolation };

    private static AgentSpec Command(string? workdir, IsolationMode? isolation = null) => new() { Name = "tool", Command = ["true"], Workdir = workdir, Isolation = isolation };

    [Fact]
    public void AI_agents_are_isolated_by_default_and_plain_commands_are_not()
    {
        Assert.True(Ai(Repo).Isolated());
        Assert.False(Command(Repo).Isolated());
        Assert.True(Command(Repo, IsolationMode.Worktree).Isolated());
        Assert.False(Ai(Repo, IsolationMode.None).Isolated());

        var (plan, refused) = Plan(Ai(Repo));
        Assert.Null(refused);
        Assert.Equal((Repo, "/wt/agents/coder/r1", "df/coder/2026-12-06", "/data/branches"), (plan!.Repository, plan.Worktree, plan.BranchStem, plan.RecordsDirectory));
        Assert.Equal(plan.Worktree, plan.WorkingDirectory);
        Assert.Equal((null, null), Plan(Command(Repo)));
        Assert.Equal((null, null), Plan(Ai(Repo, IsolationMode.None)));
    }

    [Fact]
    public void A_run_given_its_working_directory_is_not_isolated_again()
    {
        // a project's or a review's run already works in its own worktree
        Assert.Equal((null, null), Plan(Ai(Repo), given: true));
    }

    [Fact]
    public void A_subdirectory_of_the_repository_is_the_same_subdirectory_of_the_worktree()
    {
        var plan = Plan(Ai(Path.Combine(Repo, "sub", "dir"))).Plan!;

        Assert.Equal(Repo, plan.Repository);
        Assert.Equal(Path.Combine("/wt/agents/coder/r1", "sub", "dir"), plan.WorkingDirectory);
    }

    [Fact]
    public void Outside_a_repository_the_default_works_in_place_and_an_explicit_worktree_is_refused()
    {
        var plain = Path.Combine(_root, "plain");

        Assert.Equal((null, null), Plan(Ai(plain)));
        var (plan, refused) = Plan(Ai(plain, IsolationMode.Worktree));
        Assert.Null(plan);
        Assert.Contains($"isolation: worktree needs a git repository, and workdir '{plain}' is not in one", refused);
    }

    [Fact]
    public void Branches_are_numbered_from_1_past_the_taken_ones()
    {
        Assert.Equal("df/a/2026-12-06-1", RunIsolation.PickBranch("df/a/2026-12-06", new HashSet<string>()));
        Assert.Equal("df/a/2026-12-06-3", RunIsolation.PickBranch("df/a/2026-12-06", new HashSet<string> { "df/a/2026-12-06-1", "df/a/2026-12-06-2" }));
    }

    [Fact]
    public void The_commit_message_names_the_agent_and_the_run()
    {
        Assert.Equal("coder: run r1\n\nDF-Agent: coder\nDF-Run: r1\n", RunIsolation.CommitMessage("coder", "r1"));
    }

    [Fact]
    public void The_sandbox_binds_of_the_worktrees_git_directory_go_right_after_its_bind()
    {
        var repo = Path.Combine(_root, "wtrepo");
        Directory.CreateDirectory(Path.Combine(repo, ".git", "worktrees", "w"));
        var worktree = Path.Combine(_root, "w");
        Directory.CreateDirectory(worktree);
        File.WriteAllText(Path.Combine(worktree, ".git"), $"gitdir: {Path.Combine(repo, ".git", "worktrees", "w")}\n");
        File.WriteAllText(Path.Combine(repo, ".git", "worktrees", "w", "commondir"), "../..\n");
        var plan = new LaunchPlan("bwrap", ["--ro-bind", "/", "/", "--bind", worktree, worktree, "--chdir", worktree, "--", "agent"], new Dictionary<string, string>(), worktree, null, "m", null);

        var bound = RunIsolation.WithGitBinds(plan, worktree).Arguments;

        Assert.Equal(["--ro-bind", "/", "/", "--bind", worktree, worktree], bound.Take(6));
        Assert.Equal(SandboxPlanner.GitBinds(worktree), bound.Skip(6).Take(bound.Count - 10));
        Assert.Contains(Path.Combine(repo, ".git", "objects"), bound);
        Assert.Equal(["--chdir", worktree, "--", "agent"], bound.TakeLast(4));
        var unsandboxed = plan with { FileName = "agent", Arguments = [] };
        Assert.Same(unsandboxed, RunIsolation.WithGitBinds(unsandboxed, worktree));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
