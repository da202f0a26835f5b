using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DarkFactory.Host.Scenarios;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// The compound review and the projects in a scenario sandbox act on its stand-in repository
/// (<see cref="SandboxRepository"/>), never on a real one: attacked with <c>df scenario run</c> from inside a real git
/// repository whose fleet points the review and a project at it (gates that would write a file, pull requests on, a
/// remote to push to), nothing in the repository or its remote changes; and the scripted outcomes are what the
/// review and the projects see.
/// </summary>
public sealed class SandboxRepositoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-scenario-repo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A review and a project pointed at the scenario's own directory (a real repository), gates that leave a marker, PRs on.</summary>
    private static string Scenario(string marker) => $$"""
        scenario: nothing-real
        description: the nightly review and a project on a real repository, from inside it
        start: 2026-12-07T01:55:00Z
        until: 3h
        fleet:
          version: 1
          agents:
            - { name: fixer, layer: growth, cli: command, command: ["true"], grace: 2s }
            - { name: worker-cmd, layer: growth, cli: command, command: ["true"], grace: 2s }
          compound_review:
            enabled: true
            schedule: "0 2 * * *"
            timezone: UTC
            repo: .
            base_branch: main
            agent: fixer
            create_prs: true
            forge: { kind: github, token_env: GITHUB_TOKEN }
            gates:
              - { name: build, command: ["sh", "-c", "touch {{marker}}-review"] }
          projects:
            personas_dir: personas
            planner: worker
            auditor: worker
            create_pr: true
            repositories:
              - { path: ".", tests: ["sh", "-c", "touch {{marker}}-project"] }
        agents:
          fixer: { run: 5m }
          worker-cmd:
            - { run: 1m, output: ['{"tasks": [{"title": "Fix the parser", "persona": "worker"}]}'] }
            - { run: 5m }
            - { run: 1m, output: ['{"tasks": [{"title": "Fix the parser", "complete": true, "confidence": 0.9}]}'] }
        review:
          todos: ["src/app.c: TODO handle the error"]
        steps:
          - { at: 1m, inject: init_project, project: parser, description: fix the parser, personas: [worker], repo: . }
          - { at: 2m, inject: start_project, project: parser }
        expect:
          - { event: GatesEvaluated, where: { passed: true }, count: 1 }
          - { event: PrOpened, count: 1 }
          - { event: ReviewCompleted, count: 1 }
          - { event: AttemptGated, where: { passed: true }, count: 1 }
          - { event: ProjectPrOpened, count: 1 }
          - { event: ProjectCompleted, count: 1 }
        """;

    [Fact]
    public async Task A_scenario_run_inside_a_real_repository_leaves_it_and_its_remote_untouched()
    {
        // arrange: a repository with one commit on main, pushed to a bare remote; the scenario and its persona in it
        var remote = Path.Combine(_dir, "remote.git");
        var repo = Path.Combine(_dir, "repo");
        var marker = Path.Combine(_dir, "gate-ran");
        await Git(_dir, "init", "-q", "--bare", "-b", "main", remote);
        await Git(_dir, "init", "-q", "-b", "main", repo);
        await File.WriteAllTextAsync(Path.Combine(repo, "README.md"), "a real repository\n");
        await Git(repo, "add", "README.md");
        await Git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first");
        await Git(repo, "remote", "add", "origin", remote);
        await Git(repo, "push", "-q", "origin", "main");
        Directory.CreateDirectory(Path.Combine(repo, "personas"));
        await File.WriteAllTextAsync(Path.Combine(repo, "personas", "worker.md"),
            "---\nname: worker\nversion: 1\ndescription: does it all\nagent: worker-cmd\nacceptance_criteria:\n  tests_pass: true\n---\nWork.\n");
        var file = Path.Combine(repo, "nothing-real.yaml");
        await File.WriteAllTextAsync(file, Scenario(marker));
        var repoBefore = await Snapshot(repo);
        var remoteBefore = await Snapshot(remote);

        // act: from inside the repository, as a user would
        var (code, stdout, stderr) = await Df(repo, "scenario", "run", file, "--json");

        // assert: the review and the project went all the way (gates, commit, PR) in the sandbox ...
        Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("passed").GetBoolean());

        // ... and nothing of it reached the repository, its remote, or a gate's command
        Assert.Equal(repoBefore, await Snapshot(repo));
        Assert.Equal(remoteBefore, await Snapshot(remote));
        Assert.Empty(Directory.EnumerateFiles(_dir, "gate-ran*"));
    }

    [Fact]
    public async Task A_projects_step_is_not_overtaken_by_the_clock_while_its_task_runs()
    {
        // arrange: the library's project scenario (its commits and gates run in a task, off the actor's mailbox)
        var scenario = ScenarioLoader.LoadFile(Path.Combine(ScenarioFiles.Root, "scenarios", "project-gate-fails-twice.yaml")).Scenario!;

        // act
        var outcome = await ScenarioRunner.RunAsync(scenario);

        // assert: each attempt is committed and gated at the virtual instant its commit was intended
        Assert.True(outcome.Passed, ScenarioReport.Text(outcome));
        var intended = outcome.Timeline.Where(e => e.Type == "CommitIntended").ToDictionary(e => e.Fields.GetProperty("attempt").GetInt32(), e => e.Offset);
        var gated = outcome.Timeline.Where(e => e.Type == "AttemptGated").ToList();
        Assert.Equal(3, gated.Count);
        Assert.All(gated, g => Assert.Equal(intended[g.Fields.GetProperty("attempt").GetInt32()], g.Offset));
    }

    [Fact]
    public void Scripted_gates_fail_the_gates_they_name_and_pass_the_rest()
    {
        // arrange
        var gates = new[] { new GateSpec { Name = "tests", Command = ["make", "test"] }, new GateSpec { Name = "lint", Command = ["make", "lint"] } };
        var script = new RepositoryScript { Gates = [new GateScript(true, new Dictionary<string, bool> { ["tests"] = false }), GateScript.Pass] };

        // act
        var first = script.GatesOf(1).Results(gates);
        var third = script.GatesOf(3).Results(gates);

        // assert: the built-in checks, then the gates; the last script repeats
        Assert.Equal(["worktree-paths", "no-secrets", "tests", "lint"], first.Select(r => r.Name));
        Assert.Equal([true, true, false, true], first.Select(r => r.Passed));
        Assert.All(third, r => Assert.True(r.Passed));
    }

    [Fact]
    public void A_failing_script_over_no_gate_still_fails()
    {
        var results = GateScript.Fail.Results([]);

        Assert.Contains(results, r => r.Name == "scenario" && !r.Passed);
    }

    [Fact]
    public async Task A_commit_is_made_once_and_found_again_and_no_changes_commit_nothing()
    {
        // arrange
        var sandbox = new SandboxRepository(_dir, RepositoryScript.Default, new RepositoryScript { Changes = ["a.c"] });
        var ports = sandbox.ProjectPorts();

        // act
        var first = await ports.CommitAsync("/repo", "/wt", "attempt 1", "Df-Attempt: p/t1/1", CancellationToken.None);
        var again = await ports.CommitAsync("/repo", "/wt", "attempt 1", "Df-Attempt: p/t1/1", CancellationToken.None);
        var other = await ports.CommitAsync("/repo", "/wt", "attempt 2", "Df-Attempt: p/t1/2", CancellationToken.None);
        var none = await new SandboxRepository(_dir, RepositoryScript.Default, new RepositoryScript { Changes = [] }).ProjectPorts()
            .CommitAsync("/repo", "/wt", "m", "t", CancellationToken.None);

        // assert
        Assert.Equal(40, first.Commit!.Length);
        Assert.Equal(first, again);
        Assert.NotEqual(first.Commit, other.Commit);
        Assert.Equal(["a.c"], first.Files);
        Assert.Null(none.Commit);
    }

    [Fact]
    public async Task A_worktree_outside_the_sandbox_is_never_made()
    {
        // arrange
        var outside = Path.Combine(Path.GetTempPath(), "df-not-the-sandbox-" + Guid.NewGuid().ToString("N"));
        var inside = Path.Combine(_dir, "worktrees", "p-1");
        var ports = new SandboxRepository(_dir, RepositoryScript.Default, RepositoryScript.Default).ProjectPorts();

        // act
        await ports.PrepareWorktreeAsync("/repo", "main", "df/x", outside, "/hooks", CancellationToken.None);
        await ports.PrepareWorktreeAsync("/repo", "main", "df/x", inside, "/hooks", CancellationToken.None);

        // assert
        Assert.False(Directory.Exists(outside));
        Assert.True(Directory.Exists(inside));
    }

    /// <summary>Everything a review or a project could have changed: refs, worktrees, status, objects, files (.git's too, and its config).</summary>
    private static async Task<string> Snapshot(string repo)
    {
        var sb = new StringBuilder();
        sb.AppendLine(await Git(repo, "for-each-ref"));
        sb.AppendLine(await Git(repo, "worktree", "list", "--porcelain"));
        if (!repo.EndsWith(".git", StringComparison.Ordinal))
        {
            sb.AppendLine(await Git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all"));
        }

        sb.AppendLine(await Git(repo, "count-objects", "-v"));
        sb.AppendLine(await Git(repo, "config", "--list", "--local"));
        foreach (var f in Directory.EnumerateFileSystemEntries(repo, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(f) != "index")
            {
                sb.AppendLine(Path.GetRelativePath(repo, f));
            }
        }

        return sb.ToString();
    }

    private static async Task<string> Git(string dir, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)}: {await stderr}");
        return await stdout;
    }

    private static async Task<(int Code, string Out, string Err)> Df(string cwd, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "df.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
