using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// waiting_for_credits through a real daemon: the engineer persona is played by an AI agent (a scripted claude stand-in,
/// tests/agents/fake-claude.sh, each run reporting $0.0125) whose only provider has $0.01 of credits. Once those are
/// spent the project's run finds no route and the project goes waiting_for_credits; <c>df provider add</c> of a provider
/// with credits resumes it by itself (the router resumes the waiting <c>agent@project</c>), and it completes there.
/// </summary>
[Collection("daemon")]
public sealed class ProjectCreditsEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly GitFixture _git = new();
    private readonly string _state = Directory.CreateTempSubdirectory("df-credits-state-").FullName;

    public ProjectCreditsEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private string Fleet() => $"""
        version: 1
        providers:
          - name: scarce
            cli: claude
            priority: 1
            limits: {"{"} credits: 0.01 {"}"}
        agents:
        {PersonaFleet.Agent("planner-cmd", "plan", _state)}{PersonaFleet.Agent("reviewer-cmd", "audit", _state)}
          - name: engineer-ai
            layer: growth
            cli: claude
            command: ["{DaemonProcess.Agent("fake-claude.sh")}"]
            grace: 2s
        projects:
          personas_dir: personas
          concurrency: 1
        """;

    [Fact]
    public async Task A_project_out_of_credits_waits_and_resumes_by_itself_when_a_provider_with_credits_is_added()
    {
        await using var daemon = new DaemonProcess(Fleet());
        daemon.Environment["DF_E2E_SPARE_KEY"] = "sk-spare-credits-5d1";
        var personas = Path.Combine(daemon.Root, "personas");
        Directory.CreateDirectory(personas);
        File.WriteAllText(Path.Combine(personas, "planner.md"), PersonaFleet.Persona("planner", "planner-cmd"));
        File.WriteAllText(Path.Combine(personas, "engineer.md"), PersonaFleet.Persona("engineer", "engineer-ai"));
        File.WriteAllText(Path.Combine(personas, "reviewer.md"), PersonaFleet.Persona("reviewer", "reviewer-cmd"));
        File.WriteAllText(Path.Combine(_state, "plan.json"),
            """{"tasks": [{"title": "Add rate limiting", "description": "limit /login", "priority": 1, "dependencies": [], "persona": "engineer"}]}""");
        await daemon.StartAsync();

        // spend the provider's credits: one run of the engineer's agent reports $0.0125 of $0.01
        Assert.Equal(0, (await daemon.Df("run", "engineer-ai", "--task", "warm up")).Exit);
        await DaemonProcess.Until(async () => State(await daemon.Json("providers", "--json"), "scarce") == "over_budget", Wait, "scarce out of credits");

        var id = (await daemon.Json("init", "limits", "--description", "Add rate limiting to the login endpoint",
            "--persona", "engineer", "--repo", _git.Repo, "--json")).GetProperty("id").GetString()!;
        Assert.Equal(0, (await daemon.Df("start", id)).Exit);
        await DaemonProcess.Until(async () => Status(await daemon.Json("status", id, "--json")) == "waiting_for_credits", Wait, "the project to wait for credits");
        var task = (await daemon.Json("tasks", id, "--json"))[0];
        Assert.NotEqual("completed", task.GetProperty("status").GetString());

        // a provider with credits: the router finds a route and resumes the project's run; nobody starts it again
        var added = await daemon.Df("provider", "add", "spare", "--cli", "claude", "--model", "claude-mock", "--api-key-env", "DF_E2E_SPARE_KEY", "--credits", "100");
        Assert.True(added.Exit == 0, added.Stderr);
        JsonElement status = default;
        try
        {
            await DaemonProcess.Until(
                async () => (status = await daemon.Json("status", id, "--json")).GetProperty("status").GetString() is "completed" or "failed" or "timeout",
                Wait,
                "the project to end after the provider was added");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nstatus: {status}\nproviders: {await daemon.Json("providers", "--json")}\ndaemon:\n{daemon.Output}");
        }

        Assert.True(Status(status) == "completed", $"{status}\n{daemon.Output}");
        Assert.Equal(1, status.GetProperty("tasks").GetProperty("completed").GetInt32());

        var costs = await daemon.Json("costs", id, "--json");
        Assert.Contains("spare", costs.GetProperty("by_provider").EnumerateArray().Select(r => r.GetProperty("key").GetString()));
        Assert.DoesNotContain("scarce", costs.GetProperty("by_provider").EnumerateArray().Select(r => r.GetProperty("key").GetString()));
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    private static string? Status(JsonElement status) => status.GetProperty("status").GetString();

    private static string? State(JsonElement providers, string name) =>
        providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == name).GetProperty("state").GetString();

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}
