using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DarkFactory.Actors.Processes;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>The control plane against a real daemon: event stream, capability registry, OpenAPI, metrics, errors, secrets.</summary>
[Collection("daemon")]
public sealed class ControlPlaneTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Fleet(string agents) => $"""
        version: 1
        layers:
          safety:
            backoff: {"{"} min: 0s, max: 0s {"}"}
            max_restarts: 50
            within: 1m
        agents:
        {agents}
        """;

    private static string Agents(string extra = "") => $"""
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            capabilities: [review, tests]
            task: keep watch
            grace: 2s
          - name: ticker
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "20"]
          - name: once
            layer: core
            command: ["{DaemonProcess.Agent("lines.sh")}", "2"]
            capabilities: [docs]
        {extra}
        """;

    [Fact]
    public async Task The_event_stream_shows_the_fleet_a_crash_as_a_restart_and_output_on_request()
    {
        await using var daemon = new DaemonProcess(Fleet(Agents()));
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");

        // df wait: the fleet settles (a progress display on a terminal; JSON here)
        var waited = await daemon.Json("wait", "--json", "--timeout", "30");
        Assert.True(waited.GetProperty("settled").GetBoolean());
        Assert.Equal("running", waited.GetProperty("agents").GetProperty("keeper").GetString());
        var capabilities = await daemon.Json("capabilities", "keeper", "--json");
        Assert.Equal("review", capabilities.GetProperty("capabilities")[0].GetString());

        await using var events = await SseReader.Open(daemon, "?output=ticker");
        await events.WaitFor(e => e.Name == "ready", Wait, "ready");
        Assert.Contains(events.Events, e => e.Name == "agent-status" && e.Json.GetProperty("name").GetString() == "keeper");
        await events.WaitFor(e => e.Name == "agent-output" && e.Json.GetProperty("agent").GetString() == "ticker", Wait, "ticker output");

        // a crash: the stream shows the new run (restarts 1) within a second
        var pid = (await daemon.AgentAsync("keeper")).GetProperty("pid").GetInt32();
        var mark = events.Events.Count;
        var killedAt = events.Clock.Elapsed;
        Native.Kill(pid, Native.SIGKILL);
        var restarted = await events.WaitFor(
            e => e.Name == "agent-status" && e.Json is var j && j.GetProperty("name").GetString() == "keeper" && j.GetProperty("restarts").GetInt32() == 1 && j.GetProperty("state").GetString() == "running",
            Wait,
            "keeper restarted",
            mark);
        Assert.True(restarted.ArrivedAt - killedAt < TimeSpan.FromSeconds(1), $"restart seen after {(restarted.ArrivedAt - killedAt).TotalMilliseconds} ms");
        Assert.Contains(events.Events.Skip(mark), e => e.Name == "agent-lifecycle" && e.Json.GetProperty("kind").GetString() == "crashed");

        // no output of agents nobody asked for
        Assert.DoesNotContain(events.Events, e => e.Name == "agent-output" && e.Json.GetProperty("agent").GetString() != "ticker");

        // an unknown agent's output: 404 naming it
        using var http = daemon.Client();
        var unknown = await http.GetAsync("/api/events?output=nobody");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nobody", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_api_reads_the_fleet_status_from_the_live_view_as_fresh_as_the_event_stream()
    {
        await using var daemon = new DaemonProcess(Fleet(Agents()));
        await daemon.StartAsync();
        using var http = daemon.Client();

        // an agent that never started (no lifecycle event) is listed as soon as the fleet is applied
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        Assert.Equal("stopped", (await daemon.ApiJson("/api/agents/once")).GetProperty("state").GetString());
        await using var events = await SseReader.Open(daemon);
        await events.WaitFor(e => e.Name == "ready", Wait, "ready");

        for (var crash = 1; crash <= 2; crash++)
        {
            // act: a crash; the next GET after the stream shows the new run must show it too
            var pid = (await daemon.AgentAsync("keeper")).GetProperty("pid").GetInt32();
            var mark = events.Events.Count;
            Native.Kill(pid, Native.SIGKILL);
            var seen = await events.WaitFor(
                e => e.Name == "agent-status" && e.Json is var j && j.GetProperty("name").GetString() == "keeper" && j.GetProperty("state").GetString() == "running" && j.TryGetProperty("pid", out var p) && p.GetInt32() != pid,
                Wait,
                $"keeper's run after crash {crash} on the stream",
                mark);
            var restarts = seen.Json.GetProperty("restarts").GetInt32();
            var one = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/agents/keeper"));
            var all = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/agents")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == "keeper");
            var capabilities = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/capabilities/keeper"));
            var status = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync("/api/status"));

            // assert: the run the stream showed (or a newer one), never the one before
            foreach (var agent in new[] { one, all })
            {
                Assert.True(agent.GetProperty("restarts").GetInt32() >= restarts, $"GET after the stream showed {restarts} restarts: {agent}");
                Assert.NotEqual(pid, agent.TryGetProperty("pid", out var p) ? p.GetInt32() : 0);
            }

            Assert.True(capabilities.GetProperty("restarts").GetInt32() >= restarts);
            Assert.Equal(3, status.GetProperty("agents").GetProperty("total").GetInt32());
        }

        // a command's caller reads its own change at once
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/api/agents/keeper/stop", null)).StatusCode);
        Assert.Contains((await daemon.AgentAsync("keeper")).GetProperty("state").GetString(), new[] { "stopping", "stopped" });

        // and a reload's: an added agent is listed when `df reload` returns
        File.WriteAllText(daemon.FleetPath, Fleet(Agents("""
              - name: added
                layer: core
                command: ["true"]
            """)));
        var (exit, _, stderr) = await daemon.Df("reload");
        Assert.True(exit == 0, stderr);
        Assert.Equal("stopped", (await daemon.AgentAsync("added")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Capabilities_openapi_metrics_and_errors_and_no_secret_in_any_answer()
    {
        const string secret = "s3cr3t-control-plane-value-4711";
        Environment.SetEnvironmentVariable("DF_CONTROL_TEST_SECRET", secret);
        var leaky = $"""
              - name: leaky
                layer: safety
                command: ["{DaemonProcess.Agent("env.sh")}"]
                restart: transient
                env:
                  API_TOKEN: {"{"} from_env: DF_CONTROL_TEST_SECRET {"}"}
            """;
        await using var daemon = new DaemonProcess(Fleet(Agents(leaky)));
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        using var http = daemon.Client();

        // capability registry
        var all = await daemon.ApiJson("/api/capabilities");
        var keeper = all.EnumerateArray().Single(a => a.GetProperty("agent").GetString() == "keeper");
        Assert.Equal(["review", "tests"], keeper.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("keep watch", keeper.GetProperty("current_task").GetString());
        Assert.Equal(1, keeper.GetProperty("load").GetProperty("running").GetInt32());
        var once = await daemon.ApiJson("/api/capabilities/once");
        Assert.Equal("stopped", once.GetProperty("state").GetString());
        var missing = await http.GetAsync("/api/capabilities/nobody");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);

        // a run with a task shows it as the current task
        var run = await http.PostAsJsonAsync("/api/agents/once/run", new { task = "write the docs" });
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);

        // bad requests name what is wrong; the daemon carries on
        var badLimit = await http.GetAsync("/api/agents/keeper/history?limit=lots");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("limit", await badLimit.Content.ReadAsStringAsync());
        var badBody = await http.PostAsync("/api/agents/once/start", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        Assert.Contains("task", await badBody.Content.ReadAsStringAsync());
        var unknownStop = await http.PostAsync("/api/agents/nobody/stop", null);
        Assert.Equal(HttpStatusCode.NotFound, unknownStop.StatusCode);

        // OpenAPI: token required, every endpoint described
        using var anonymous = daemon.Client(withToken: false);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/health")).StatusCode);
        var openapi = await daemon.ApiJson("/openapi/v1.json");
        var paths = openapi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var path in new[] { "/api/health", "/api/status", "/api/agents", "/api/agents/{name}/stop", "/api/agents/{name}/logs", "/api/events", "/api/capabilities", "/api/capabilities/{agent}", "/api/schedule", "/api/reload" })
        {
            Assert.Contains(path, paths);
        }

        Assert.True(openapi.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));

        // metrics for Prometheus
        await DaemonProcess.Until(async () => (await http.GetStringAsync("/metrics")).Contains("df_agents{"), Wait, "df_agents in /metrics");
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("df_agent_output_lines_total", metrics);

        // the secret reached the agent (its output is redacted) but no answer contains it
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("leaky")).GetProperty("state").GetString() is "completed" or "stopped", Wait, "leaky done");
        var answers = new StringBuilder();
        foreach (var path in new[] { "/api/agents", "/api/agents/leaky", "/api/capabilities", "/api/capabilities/leaky", "/api/status", "/api/agents/leaky/logs?tail=1000", "/api/agents/leaky/history", "/openapi/v1.json", "/metrics", "/api/schedule" })
        {
            answers.AppendLine(await http.GetStringAsync(path));
        }

        await using (var events = await SseReader.Open(daemon, "?output=leaky"))
        {
            await events.WaitFor(e => e.Name == "ready", Wait, "ready");
            await http.PostAsync("/api/agents/leaky/start", null);
            await events.WaitFor(e => e.Name == "agent-output" && e.Data.Contains("API_TOKEN"), Wait, "leaky's environment on the stream");
            foreach (var e in events.Events)
            {
                answers.AppendLine(e.Data);
            }
        }

        Assert.Contains("API_TOKEN", answers.ToString());
        Assert.DoesNotContain(secret, answers.ToString());
        Assert.DoesNotContain(secret, daemon.Output);
    }
}
