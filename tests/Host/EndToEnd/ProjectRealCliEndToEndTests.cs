using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Adapters.Tests;
using DarkFactory.MockModelServer;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A project played by the real claude CLI against the mock model server (issue 13's slow test): the planner answers
/// a plan, the engineer changes the worktree through a real tool call (a shell command its allowed_tools permit), the
/// engineer's gate fails on the first attempt and passes on the retry, which continues the first attempt's CLI
/// conversation (claude --resume: the model is sent the earlier turn), and the auditor confirms it. Zero tokens.
/// Skipped when claude is not installed (.ci/install-clis).
/// </summary>
[Collection("daemon")]
public sealed class ProjectRealCliEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private readonly GitFixture _git = new();

    public ProjectRealCliEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private static string Persona(string name, string criteria = "") =>
        $"---\nname: {name}\nversion: 1\ndescription: the {name}\nagent: claude-dev\n{criteria}---\nYou are the {name} of this project.\n";

    [RealCliFact("claude")]
    public async Task Claude_plans_works_fails_a_gate_resumes_its_conversation_and_completes_the_project()
    {
        await using var mock = await MockServer.StartAsync();
        const string plan = """{"tasks": [{"title": "Add the limit file", "description": "Create limit.txt in the repository root.", "priority": 1, "dependencies": [], "persona": "engineer"}]}""";
        mock.Reply(MockReply.Answer("Here is the plan.\n\n```json\n" + plan + "\n```"), MockApi.Anthropic, when: "Plan the work as a task list");
        mock.Reply(MockReply.Tool("Bash", """{"command": "touch wrong.txt", "description": "create a file"}"""), MockApi.Anthropic, times: 1, when: "attempt 1 of");
        mock.Reply(MockReply.Tool("Bash", """{"command": "touch limit.txt", "description": "create the limit file"}"""), MockApi.Anthropic, times: 1, when: "attempt 2 of");
        mock.Reply(MockReply.Answer("""{"tasks": [{"id": "t1", "complete": true, "evidence": "limit.txt exists", "confidence": 0.9}]}"""), MockApi.Anthropic, when: "# Audit");

        var fleet = $"""
            version: 1
            providers:
              - name: anthropic-mock
                cli: claude
                model: claude-mock-1
                base_url: {mock.BaseUrl}
                api_key_env: DF_E2E_MOCK_KEY
            agents:
              - name: claude-dev
                layer: growth
                cli: claude
                provider: anthropic-mock
                allowed_tools: ["Bash(touch:*)"]
                max_runtime: 3m
                grace: 2s
            projects:
              personas_dir: personas
              max_attempts: 3
              concurrency: 1
              repositories:
                - path: {_git.Repo}
                  tests: test -f limit.txt
            """;
        await using var daemon = new DaemonProcess(fleet);
        var personas = Directory.CreateDirectory(Path.Combine(daemon.Root, "personas")).FullName;
        File.WriteAllText(Path.Combine(personas, "planner.md"), Persona("planner"));
        File.WriteAllText(Path.Combine(personas, "engineer.md"), Persona("engineer", "acceptance_criteria:\n  tests_pass: true\n"));
        File.WriteAllText(Path.Combine(personas, "reviewer.md"), Persona("reviewer"));
        daemon.Environment["PATH"] = RealClis.BinDirectory + ":" + System.Environment.GetEnvironmentVariable("PATH");
        daemon.Environment["DF_E2E_MOCK_KEY"] = "sk-e2e-mock-key-51c3";
        await daemon.StartAsync();

        var created = await daemon.Json("init", "limit", "--description", "Add a rate limit file", "--persona", "engineer", "--repo", _git.Repo, "--json");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(0, (await daemon.Df("start", id)).Exit);

        JsonElement status = default;
        try
        {
            await DaemonProcess.Until(async () =>
            {
                status = await daemon.Json("status", id, "--json");
                return status.GetProperty("status").GetString() is "completed" or "failed" or "timeout";
            }, Wait, "the project to end");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nstatus: {status}\ntasks: {(await daemon.Df("tasks", id)).Stdout}\nrequests: {string.Join("; ", mock.Requests.Select(r => r.Describe()))}\ndaemon:\n{daemon.Output}");
        }

        var tasks = await daemon.Json("tasks", id, "--json");
        Assert.True(status.GetProperty("status").GetString() == "completed", $"{status}\n{tasks}");
        var attempts = tasks.EnumerateArray().Single().GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(2, attempts.Count);
        Assert.False(attempts[0].GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "tests").GetProperty("passed").GetBoolean());
        Assert.All(attempts[1].GetProperty("gates").EnumerateArray(), g => Assert.True(g.GetProperty("passed").GetBoolean(), g.ToString()));

        // the retry continued the first attempt's conversation: its model call carries the first attempt's prompt
        var retry = mock.Requests.Where(r => r.Body?.Contains("attempt 2 of", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(retry);
        Assert.Contains(retry, r => r.Body!.Contains("attempt 1 of", StringComparison.Ordinal));

        // the work is in the project's worktree, made by the CLI's own tool call; nothing in the user's checkout
        var worktree = status.GetProperty("worktree").GetString()!;
        Assert.True(File.Exists(Path.Combine(worktree, "limit.txt")));
        Assert.False(File.Exists(Path.Combine(_git.Repo, "limit.txt")));
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    public void Dispose() => _git.Dispose();
}
