using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A real daemon SIGKILLed at each step of a project (plan, work, check, handoff, audit) and started again on the same
/// data directory: the project completes with no completed task run again and no commit made twice (each commit's
/// <c>DF-Attempt</c> trailer is unique, one commit per attempt). The personas are tests/agents/persona.sh, held at the
/// step by its sleep files; SQLite, and PostgreSQL too when DF_TEST_POSTGRES is set.
/// </summary>
[Collection("daemon")]
public sealed class ProjectCrashEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(180);
    private readonly GitFixture _git = new();
    private readonly string _state = Directory.CreateTempSubdirectory("df-crash-state-").FullName;

    public ProjectCrashEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    public static TheoryData<string> Stores() => ReviewRecoveryEndToEndTests.Stores();

    private string Fleet() => $"""
        version: 1
        agents:
        {PersonaFleet.Agents(_state)}
        projects:
          personas_dir: personas
          max_attempts: 3
          concurrency: 1
          repositories:
            - path: {_git.Repo}
              tests: g=$(git rev-parse --absolute-git-dir); if [ -f "$g/gates-sleep" ]; then touch "$g/gates-started"; sleep 120; fi; if [ -f "$g/need-fixed" ] && [ ! -f FIXED ]; then echo 'expected FIXED'; exit 1; fi; test -f t1.txt
        """;

    /// <summary>
    /// The gate's files live in the project worktree's own git directory: the gate runs sandboxed, where the test's
    /// state directory (under /tmp) is hidden and everything but the worktree and its git directory is read-only.
    /// </summary>
    private static readonly string[] GateFiles = ["gates-sleep", "gates-started", "need-fixed"];

    /// <summary>The git directory of the project worktree of the current step.</summary>
    private string _gitDir = string.Empty;

    private string PathOf(string file) => Path.Combine(GateFiles.Contains(file) ? _gitDir : _state, file);

    private void Hold(string file, string text = "120") => File.WriteAllText(PathOf(file), text);

    private bool Marked(string file) => File.Exists(PathOf(file));

    private string[] Runs() => File.Exists(Path.Combine(_state, "runs")) ? File.ReadAllLines(Path.Combine(_state, "runs")) : [];

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_SIGKILL_at_each_project_step_resumes_it_with_no_task_or_commit_done_twice(string store)
    {
        await using var database = await TestDatabase.CreateAsync(store);
        await using var daemon = new DaemonProcess(Fleet());
        if (database.ConnectionString is { } cs)
        {
            daemon.Environment["DF_POSTGRES"] = cs;
        }

        PersonaFleet.Write(daemon.Root);
        await daemon.StartAsync();

        // each step: what holds the project there, when it is there, and the runs of the work personas that follow
        var steps = new (string Name, Action Hold, Func<string, Task<bool>> There, string[] Release, Func<string[], bool> RunsOk)[]
        {
            ("plan", () => Hold("plan-sleep"), _ => Task.FromResult(Marked("plan-started")), ["plan-sleep"], r => r.SequenceEqual(["t1", "t2"])),
            ("work", () => Hold("sleep"), _ => Task.FromResult(Runs().Contains("t1")), ["sleep"], r => r.SequenceEqual(["t1", "t1", "t2"])), // the interrupted attempt continues
            ("check", () => Hold("gates-sleep"), _ => Task.FromResult(Marked("gates-started")), ["gates-sleep"], r => r.SequenceEqual(["t1", "t2"])),
            ("handoff", () => { Hold("need-fixed"); Hold("sleep", "8"); }, async id => await Answered(daemon, $"/api/projects/{id}/tasks") is { } t && Attempts(t, "t1") >= 2, ["sleep", "need-fixed"],
                r => r.Count(x => x == "t1") is 2 or 3 && r.Count(x => x == "t2") == 1),
            ("audit", () => Hold("audit-sleep"), _ => Task.FromResult(Marked("audit-started")), ["audit-sleep"], r => r.SequenceEqual(["t1", "t2"])),
        };
        foreach (var step in steps)
        {
            foreach (var f in Directory.EnumerateFiles(_state))
            {
                File.Delete(f);
            }

            var project = await daemon.Json("init", "crash-" + step.Name, "--description", "Add rate limiting to the login endpoint, with tests",
                "--persona", "engineer,tester", "--repo", _git.Repo, "--json");
            var id = project.GetProperty("id").GetString()!;
            _gitDir = GitFixture.Run(project.GetProperty("worktree").GetString()!, "rev-parse", "--absolute-git-dir").Trim();
            step.Hold();
            Assert.Equal(0, (await daemon.Df("start", id)).Exit);
            await DaemonProcess.Until(() => step.There(id), Wait, $"the project at its {step.Name} step");

            daemon.KillHard(); // SIGKILL: nothing is drained, the journal stops where it stopped
            foreach (var f in step.Release)
            {
                File.Delete(PathOf(f));
            }

            await daemon.StartAsync();
            JsonElement status = default;
            await DaemonProcess.Until(
                async () => await Answered(daemon, $"/api/projects/{id}") is { } s && (status = s).GetProperty("status").GetString() is "completed" or "failed" or "timeout",
                Wait,
                $"the project killed at {step.Name} to end");
            Assert.True(status.GetProperty("status").GetString() == "completed", $"{step.Name}: {status}\n{daemon.Output}");

            var tasks = await Tasks(daemon, id);
            Assert.All(tasks.EnumerateArray(), t => Assert.Equal("completed", t.GetProperty("status").GetString()));
            Assert.True(step.RunsOk(Runs()), $"{step.Name}: runs {string.Join(", ", Runs())}");

            // one commit per attempt, none twice
            var branch = status.GetProperty("work_branch").GetString()!;
            var trailers = GitFixture.Run(_git.Repo, "log", "--format=%(trailers:key=DF-Attempt,valueonly)", "main.." + branch)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Equal(trailers.Length, trailers.Distinct().Count());
            Assert.Equal(tasks.EnumerateArray().Sum(t => t.GetProperty("attempts").GetArrayLength()), trailers.Length);
        }

        Assert.Equal(steps.Length, (await daemon.Json("list", "--status", "completed", "--json")).GetArrayLength());
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    private static Task<JsonElement> Tasks(DaemonProcess daemon, string id) => daemon.ApiJson($"/api/projects/{id}/tasks");

    /// <summary>The resource; null while the daemon, just started on a loaded machine, answers 503 (an actor still recovering).</summary>
    private static async Task<JsonElement?> Answered(DaemonProcess daemon, string path)
    {
        try
        {
            return await daemon.ApiJson(path);
        }
        catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
        {
            return null;
        }
    }

    private static int Attempts(JsonElement tasks, string id) =>
        tasks.EnumerateArray().Where(t => t.GetProperty("id").GetString() == id).Select(t => t.GetProperty("attempts").GetArrayLength()).FirstOrDefault();

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}
