using System.Net;
using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, finding 3: `: > fleet.yaml; df reload` (or a file with only a comment or only `version: 1`)
/// stopped the whole fleet, safety agents included. Now each is refused, as is a valid file that would stop
/// every agent or every safety agent, unless asked for with --allow-empty (never by SIGHUP).
/// </summary>
[Collection("daemon")]
public sealed class ReloadRefusalTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Fleet(string agents) => $"""
        version: 1
        agents:
        {agents}
        """;

    private static readonly string Guards = $"""
          - name: guard
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 1s
          - name: builder
            layer: core
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            autostart: true
            grace: 1s
        """;

    private static async Task<int> GuardPid(DaemonProcess daemon) =>
        (await daemon.AgentAsync("guard")).TryGetProperty("pid", out var pid) ? pid.GetInt32() : 0;

    [Fact]
    public async Task Truncated_files_and_fleets_that_stop_every_safety_agent_are_refused_unless_asked_for()
    {
        await using var daemon = new DaemonProcess(Fleet(Guards));
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("guard")).GetProperty("state").GetString() == "running", Wait, "guard running");
        var pid = await GuardPid(daemon);
        await using var events = await SseReader.Open(daemon);

        // act + assert: each truncated form is an error naming the file; the fleet keeps running
        foreach (var (content, says) in new[] { ("", "empty"), ("# only a comment\n", "empty"), ("version: 1\n", "agents") })
        {
            File.WriteAllText(daemon.FleetPath, content);
            var (exit, _, stderr) = await daemon.Df("reload");
            Assert.Equal(1, exit);
            Assert.Contains("fleet.yaml:1:1", stderr, StringComparison.Ordinal);
            Assert.Contains(says, stderr, StringComparison.Ordinal);
            Assert.Equal(pid, await GuardPid(daemon));
        }

        // a valid file with no agents: refused naming every agent it would stop (CLI and API alike)
        File.WriteAllText(daemon.FleetPath, "version: 1\nagents: []\n");
        var refused = await daemon.Df("reload");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("guard, builder", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--allow-empty", refused.Stderr, StringComparison.Ordinal);
        using var http = daemon.Client();
        var api = await http.PostAsync("/api/reload", null);
        Assert.Equal(HttpStatusCode.Conflict, api.StatusCode);
        var body = JsonSerializer.Deserialize<JsonElement>(await api.Content.ReadAsStringAsync());
        Assert.Equal(["guard", "builder"], body.GetProperty("would_stop").EnumerateArray().Select(n => n.GetString()));

        // every refusal is on the event stream: an operator watching sees a reload that did nothing, and why
        await DaemonProcess.Until(() => Task.FromResult(events.Events.Count(e => e.Name == "fleet-reload-refused") >= 5), Wait, "five fleet-reload-refused events");
        var published = events.Events.Where(e => e.Name == "fleet-reload-refused").Select(e => e.Json).ToList();
        Assert.All(published.Take(3), e => Assert.Contains("fleet.yaml:1:1: error", e.GetProperty("errors")[0].GetString(), StringComparison.Ordinal));
        Assert.Equal(["guard", "builder"], published[4].GetProperty("would_stop").EnumerateArray().Select(n => n.GetString()));

        // SIGHUP never allows it
        var logged = daemon.Output.Length;
        daemon.Signal("HUP");
        await DaemonProcess.Until(() => Task.FromResult(daemon.Output[logged..].Contains("refused", StringComparison.Ordinal)), Wait, "the SIGHUP reload refused in the log");
        Assert.Equal(pid, await GuardPid(daemon));

        // only the safety agent gone: refused, naming it
        File.WriteAllText(daemon.FleetPath, Fleet(Guards[Guards.IndexOf("  - name: builder", StringComparison.Ordinal)..]));
        var noSafety = await daemon.Df("reload");
        Assert.Equal(1, noSafety.Exit);
        Assert.Contains("every safety agent (guard)", noSafety.Stderr, StringComparison.Ordinal);
        Assert.Equal(pid, await GuardPid(daemon));

        // asked for explicitly: applied, everything stops
        File.WriteAllText(daemon.FleetPath, "version: 1\nagents: []\n");
        var allowed = await daemon.Df("reload", "--allow-empty");
        Assert.True(allowed.Exit == 0, allowed.Stderr);
        var stoppedLine = allowed.Stdout.Split('\n').Single(l => l.StartsWith("stopped: ", StringComparison.Ordinal));
        Assert.Equal(["builder", "guard"], stoppedLine["stopped: ".Length..].Split(", ").Order());
        await DaemonProcess.Until(() => Task.FromResult(daemon.AgentProcesses().Count == 0), Wait, "every agent stopped");
    }
}
