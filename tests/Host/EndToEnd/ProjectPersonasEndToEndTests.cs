using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A real daemon whose fleet.yaml has a <c>projects:</c> section and whose personas are files in its
/// personas_dir (played by plain-command agents running tests/agents/persona.sh): <c>df init</c> finds them,
/// <c>df start</c> runs the project to completion with green gates, and a broken persona file is refused by
/// <c>df reload</c> while the fleet keeps running.
/// </summary>
[Collection("daemon")]
public sealed class ProjectPersonasEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly GitFixture _git = new();
    private readonly string _state = Directory.CreateTempSubdirectory("df-persona-state-").FullName;

    public ProjectPersonasEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private string Fleet() => PersonaFleet.Yaml(_state, _git.Repo, "test -f t1.txt");

    [Fact]
    public async Task Df_init_finds_the_persona_files_and_df_start_completes_the_project_with_green_gates()
    {
        await using var daemon = new DaemonProcess(Fleet());
        PersonaFleet.Write(daemon.Root);
        await daemon.StartAsync();

        // df personas: what the daemon loaded
        var personas = await daemon.Json("personas", "--json");
        Assert.Equal(["engineer", "planner", "reviewer", "tester"], personas.EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var tester = personas.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "tester");
        Assert.Equal(("tester-cmd", "has-test"), (tester.GetProperty("agent").GetString(), tester.GetProperty("checks")[0].GetString()));
        Assert.Equal(Path.Combine(daemon.Root, "personas", "tester.md"), tester.GetProperty("file").GetString());
        var table = await daemon.Df("personas");
        Assert.Contains("agent engineer-cmd", table.Stdout, StringComparison.Ordinal);

        var created = await daemon.Json("init", "auth-hardening", "--description", "Add rate limiting to the login endpoint, with tests",
            "--persona", "engineer,tester", "--repo", _git.Repo, "--json");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(0, (await daemon.Df("start", id)).Exit);

        JsonElement status = default;
        await DaemonProcess.Until(async () =>
        {
            status = await daemon.Json("status", id, "--json");
            return status.GetProperty("status").GetString() is "completed" or "failed" or "timeout";
        }, Wait, "the project to end");
        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.Equal(2, status.GetProperty("tasks").GetProperty("completed").GetInt32());

        var tasks = await daemon.Json("tasks", id, "--json");
        var gates = tasks.EnumerateArray()
            .SelectMany(t => t.GetProperty("attempts").EnumerateArray())
            .SelectMany(a => a.GetProperty("gates").EnumerateArray())
            .Select(g => (Name: g.GetProperty("name").GetString(), Passed: g.GetProperty("passed").GetBoolean()))
            .ToList();
        Assert.Contains(("tests", true), gates);     // the engineer's tests_pass: the repository's tests command
        Assert.Contains(("has-test", true), gates);  // the tester's custom check
        Assert.All(gates, g => Assert.True(g.Passed, g.Name));
        Assert.Equal(["t1", "t2"], File.ReadAllLines(Path.Combine(_state, "runs")));

        // the work is in the project's worktree, not in the user's checkout
        var worktree = status.GetProperty("worktree").GetString()!;
        Assert.True(File.Exists(Path.Combine(worktree, "t1.txt")));
        Assert.False(File.Exists(Path.Combine(_git.Repo, "t1.txt")));

        // a broken persona is refused by df reload naming file, line and field; the daemon and its projects go on
        File.WriteAllText(Path.Combine(daemon.Root, "personas", "tester.md"), "---\nname: tester\nagent: nobody\n---\nYou test.\n");
        var (exit, _, stderr) = await daemon.Df("reload");
        Assert.Equal(1, exit);
        Assert.Contains("tester.md:3:", stderr);
        Assert.Contains("agent: 'nobody' is not an agent of the fleet", stderr);
        Assert.Equal("completed", (await daemon.Json("status", id, "--json")).GetProperty("status").GetString());
        Assert.Equal(1, (await daemon.Json("list", "--json")).GetArrayLength());
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}
