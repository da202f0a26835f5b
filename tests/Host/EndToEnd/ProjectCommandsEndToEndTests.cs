using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The projects' commands and /api/projects against a real daemon: bad input gets a clear error naming the field and
/// changes nothing, an unknown project is named, and <c>df start NAME</c> still starts an agent of that name.
/// </summary>
[Collection("daemon")]
public sealed class ProjectCommandsEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly GitFixture _git = new();

    public ProjectCommandsEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private static string Fleet() => $"""
        version: 1
        agents:
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            autostart: false
            grace: 2s
        """;

    [Fact]
    public async Task Bad_input_is_refused_naming_its_field_and_changes_nothing()
    {
        await using var daemon = new DaemonProcess(Fleet());
        await daemon.StartAsync();
        Assert.Equal(0, (await daemon.Json("list", "--json")).GetArrayLength());

        // df init: an unknown persona, a bad max runtime, a repository that is not one
        var persona = await daemon.Df("init", "auth-hardening", "--description", "rate limits", "--persona", "engineer", "--repo", _git.Repo);
        Assert.Equal(1, persona.Exit);
        Assert.Contains("persona: 'engineer' is not in projects.personas_dir", persona.Stderr);
        var runtime = await daemon.Df("init", "auth-hardening", "--description", "rate limits", "--persona", "engineer", "--repo", _git.Repo, "--max-runtime", "soon");
        Assert.Equal(1, runtime.Exit);
        Assert.Contains("--max-runtime: 'soon' is not a duration", runtime.Stderr);
        Assert.Equal(0, (await daemon.Json("list", "--json")).GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(daemon.DataDir, "worktrees", "projects")) && Directory.EnumerateFileSystemEntries(Path.Combine(daemon.DataDir, "worktrees", "projects")).Any());

        // an unknown project: every command names it
        foreach (var args in new[] { new[] { "status", "p-nope" }, ["tasks", "p-nope"], ["pause", "p-nope"], ["resume", "p-nope"], ["costs", "p-nope"], ["export", "p-nope"] })
        {
            var (exit, _, stderr) = await daemon.Df(args);
            Assert.True(exit == 1, $"df {string.Join(' ', args)}: exit {exit}");
            Assert.Contains("'p-nope'", stderr);
        }

        Assert.NotEqual(0, (await daemon.Df("list", "--status", "finished")).Exit);
        Assert.NotEqual(0, (await daemon.Df("export", "p-nope", "--format", "pdf")).Exit);

        // the API: 400 naming the parameter, 404 naming the project
        using var http = daemon.Client();
        var status = await http.GetAsync("/api/projects?status=finished");
        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        Assert.Contains("status: must be one of initializing, active, paused, waiting_for_credits, completed, failed, timeout", await status.Content.ReadAsStringAsync());
        var body = await http.PostAsync("/api/projects", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, body.StatusCode);
        var notRepo = await http.PostAsJsonAsync("/api/projects", new { name = "x", description = "d", personas = new[] { "engineer" }, repo = "/", max_runtime = "0s" });
        Assert.Equal(HttpStatusCode.BadRequest, notRepo.StatusCode);
        Assert.Contains("max_runtime: '0s'", await notRepo.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/projects/p-nope/start", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/projects/p-nope/tasks")).StatusCode);
        Assert.Equal(0, (await daemon.ApiJson("/api/projects")).GetArrayLength());

        // df start NAME with no project of that name starts the agent; df status without an id is the daemon's
        var started = await daemon.Df("start", "keeper");
        Assert.True(started.Exit == 0, started.Stderr);
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        var daemonStatus = await daemon.Json("status", "--json");
        Assert.True(daemonStatus.TryGetProperty("daemon", out _));
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    public void Dispose() => _git.Dispose();
}
