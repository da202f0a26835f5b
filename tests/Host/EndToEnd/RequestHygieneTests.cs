using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, findings 2 and 9 against a real daemon: a large task reaches the agent and takes nothing down,
/// a task or body over its limit is answered 413 naming the limit, bodies that are not JSON 415, the bearer
/// scheme in any case, and no answer names a .NET type.
/// </summary>
[Collection("daemon")]
public sealed class RequestHygieneTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static async Task<DaemonProcess> Daemon()
    {
        var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: keeper
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 1s
              - name: worker
                layer: core
                command: ["bash", "-c", "echo \"file=$(wc -c < \"$DF_TASK_FILE\") env=${"{"}#DF_TASK{"}"} stdin=$(wc -c)\""]
            """);
        daemon.Environment["DF_RUN_DIR"] = Path.Combine(daemon.Root, "runs");
        var hocon = Path.Combine(daemon.Root, "df.conf");
        File.WriteAllText(hocon, "darkfactory.max-task-size = 512KiB\ndarkfactory.max-request-size = 1MiB");
        daemon.Environment["DF_HOCON"] = hocon;
        await daemon.StartAsync();
        return daemon;
    }

    private static StringContent TaskBody(string task) =>
        new(JsonSerializer.Serialize(new { task }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_large_task_reaches_the_agent_over_the_limit_is_413_and_nothing_is_left_behind()
    {
        await using var daemon = await Daemon();
        using var http = daemon.Client();

        // act: a 140 KB task (E2BIG in DF_TASK before), and a second run after it
        var large = new string('t', 140_000);
        for (var i = 0; i < 2; i++)
        {
            var run = await http.PostAsync("/api/agents/worker/run", TaskBody(large));
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
            await DaemonProcess.Until(async () => (await daemon.AgentAsync("worker")).GetProperty("state").GetString() is "completed" or "stopped" or "unavailable", Wait, "the worker's run over");
        }

        // assert: the whole task reached it as a file and on stdin, not in the environment; the agent is available
        var log = await http.GetStringAsync("/api/agents/worker/logs?tail=20");
        Assert.Contains("file=140000 env=0 stdin=140000", log, StringComparison.Ordinal);
        Assert.Equal("completed", (await daemon.AgentAsync("worker")).GetProperty("state").GetString());

        // a task over darkfactory.max-task-size: 413 naming it; the agent is untouched
        var tooLarge = await http.PostAsync("/api/agents/worker/run", TaskBody(new string('t', 600 * 1024)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("darkfactory.max-task-size", await tooLarge.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // a body over darkfactory.max-request-size, with a length and chunked: 413 naming it
        var body = await http.PostAsync("/api/agents/worker/run", TaskBody(new string('t', 2 * 1024 * 1024)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, body.StatusCode);
        Assert.Contains("darkfactory.max-request-size", await body.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { task = new string('t', 2 * 1024 * 1024) }))));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/api/agents/worker/run") { Content = chunked };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        var chunkedAnswer = await http.SendAsync(chunkedRequest);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedAnswer.StatusCode);
        Assert.Contains("darkfactory.max-request-size", await chunkedAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // no run directory left once the runs are over (their actors remove them)
        var runs = Path.Combine(daemon.Root, "runs", "worker");
        await DaemonProcess.Until(() => Task.FromResult(!Directory.Exists(runs) || Directory.GetFileSystemEntries(runs).Length == 0), Wait, "the worker's run directories removed");
        Assert.Equal("running", (await daemon.AgentAsync("keeper")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Bodies_that_are_not_json_are_415_or_400_the_bearer_scheme_is_read_in_any_case_and_no_answer_names_a_type()
    {
        await using var daemon = await Daemon();
        using var http = daemon.Client();
        var answers = new StringBuilder();

        // no Content-Type, and a non-JSON one, with a body: 415 on every POST that reads one
        foreach (var path in new[] { "/api/agents/worker/run", "/api/agents/worker/start", "/api/route", "/api/projects", "/api/reviews", "/api/reload" })
        {
            var noType = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"task\":\"x\"}"));
            var untyped = await http.PostAsync(path, noType);
            Assert.True(untyped.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{path} without a Content-Type: {untyped.StatusCode}");
            var plain = await http.PostAsync(path, new StringContent("task please", Encoding.UTF8, "text/plain"));
            Assert.True(plain.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{path} as text/plain: {plain.StatusCode}");
            answers.AppendLine(await plain.Content.ReadAsStringAsync());
        }

        // JSON that does not fit: 400, naming the place, not the type
        var wrong = await http.PostAsync("/api/agents/worker/run", new StringContent("{\"task\": 42}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        answers.AppendLine(await wrong.Content.ReadAsStringAsync());
        var badLimit = await http.GetAsync("/api/agents/keeper/history?limit=lots");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        var badLimitText = await badLimit.Content.ReadAsStringAsync();
        Assert.Contains("limit", badLimitText, StringComparison.Ordinal);
        answers.AppendLine(badLimitText);

        // a POST with no body needs no Content-Type
        var stop = await http.PostAsync("/api/agents/keeper/stop", null);
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);

        // the scheme in lower case (RFC 9110: case-insensitive)
        using var lower = daemon.Client(withToken: false);
        var token = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(daemon.DataDir, "daemon.json"))).GetProperty("token").GetString();
        lower.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "bearer " + token);
        Assert.Equal(HttpStatusCode.OK, (await lower.GetAsync("/api/agents")).StatusCode);

        var text = answers.ToString();
        foreach (var internalName in new[] { "DarkFactory.", "System.", "Nullable", "Int32", "Exception" })
        {
            Assert.DoesNotContain(internalName, text, StringComparison.Ordinal);
        }
    }
}
