using System.Text.Json;
using DarkFactory.Adapters.Tests;
using DarkFactory.MockModelServer;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Rate limits through the real daemon with the real claude CLI against two mock providers: a run whose
/// provider is limited is stopped at once (not after the CLI's own retry-after wait) and started on the
/// next provider; when every provider is limited the agent waits and the router polls (<c>df providers</c>
/// shows it), probing the providers until one answers, then the waiting task runs and completes.
/// Skipped when claude is not installed (.ci/install-clis).
/// </summary>
[Collection("daemon")]
public sealed class RateLimitEndToEndTests(ITestOutputHelper output)
{
    private const string Key = "sk-e2e-mock-key-5b9d";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    // the providers ask to retry after 10 minutes: a run that waited for that could not pass this test
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMinutes(10);

    private static string Fleet(string a, string b) => $"""
        version: 1
        router:
          limit_backoff: 10m
          polling_interval: 1s
        layers:
          core:
            backoff: {"{"} min: 100ms, max: 200ms, jitter: 0 {"}"}
        providers:
          - name: anthropic-a
            cli: claude
            model: claude-mock-a
            base_url: {a}
            api_key_env: DF_E2E_MOCK_KEY
            priority: 1
          - name: anthropic-b
            cli: claude
            model: claude-mock-b
            base_url: {b}
            api_key_env: DF_E2E_MOCK_KEY
            priority: 2
            prices: {"{"} input_per_million: 3, output_per_million: 15 {"}"}
        agents:
          - name: writer
            layer: core
            cli: claude
            task: write the changelog
            restart: transient
            max_runtime: 5m
            grace: 5s
        """;

    private static async Task<int> Started(DaemonProcess daemon) =>
        (await daemon.Json("history", "writer", "--json")).EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "started");

    [RealCliFact("claude")]
    public async Task Limited_runs_stop_early_all_limited_polls_and_the_task_completes_when_a_provider_returns()
    {
        await using var a = await MockServer.StartAsync();
        await using var b = await MockServer.StartAsync();
        // A: the run gets going (one tool call) and is limited on its next model call; B is limited from the start
        await using var daemon = new DaemonProcess(Fleet(a.BaseUrl, b.BaseUrl));
        var read = JsonSerializer.Serialize(new { file_path = daemon.FleetPath });
        a.Reply(MockReply.Tool("Read", read), times: 1);
        a.Reply(MockReply.RateLimited(RetryAfter));
        b.Reply(MockReply.RateLimited(RetryAfter));
        daemon.Environment["PATH"] = RealClis.BinDirectory + ":" + System.Environment.GetEnvironmentVariable("PATH");
        daemon.Environment["DF_E2E_MOCK_KEY"] = Key;
        await daemon.StartAsync();

        try
        {
            Assert.Equal(0, (await daemon.Df("run", "writer", "--task", "write the changelog")).Exit);

            // A limits the run mid-way, B at its first call: both runs are stopped early, and with every
            // provider limited the agent waits while the router polls
            await DaemonProcess.Until(
                async () =>
                {
                    var providers = await daemon.Json("providers", "--json");
                    return providers.EnumerateArray().All(p => p.GetProperty("state").GetString() == "limited" && p.GetProperty("polling").GetBoolean()) &&
                           (await daemon.AgentAsync("writer")).GetProperty("state").GetString() == "backoff";
                },
                Wait,
                "both providers limited, the router polling and writer waiting");
            var table = await daemon.Df("providers");
            Assert.Contains("polling:", table.Stdout);
            Assert.Contains(a.Requests, r => r.Reply is ToolReply);
            Assert.Contains(a.Requests, r => r.Reply is RateLimitReply);
            Assert.Contains(b.Requests, r => r.Reply is RateLimitReply);

            var waiting = await daemon.AgentAsync("writer");
            Assert.Contains("polling", waiting.GetProperty("reason").GetString());

            // no restart storm while every provider is limited: the probes go on, no run starts
            var runs = await Started(daemon);
            Assert.InRange(runs, 2, 3); // A (again, if claude gave up before the router marked A), B
            var (probesA, probesB) = (a.Probes, b.Probes);
            await DaemonProcess.Until(() => Task.FromResult(a.Probes >= probesA + 2 && b.Probes >= probesB + 2), Wait, "two more probes of each provider");
            Assert.Equal(runs, await Started(daemon));

            // B serves again: the router's probe notices and the waiting task runs there and completes
            b.ClearReplies();
            b.Reply(MockReply.Answer("Changelog written.", inputTokens: 200, outputTokens: 30));
            await DaemonProcess.Until(async () => (await daemon.AgentAsync("writer")).GetProperty("state").GetString() == "completed", Wait, "writer completed on B");
            Assert.True(b.SuccessfulProbes > 0, "the router never probed B");
            Assert.Contains(b.Requests, r => r.Reply is TextReply && r.Model == "claude-mock-b");

            // claude gives up at once on a 429 that asks for minutes: its runs end by themselves (crashed), or are
            // stopped for the limit if the router marked it first
            var history = (await daemon.Json("history", "writer", "--json")).EnumerateArray().ToList();
            Assert.Equal(runs + 1, history.Count(e => e.GetProperty("kind").GetString() == "started"));
            Assert.Single(history, e => e.GetProperty("kind").GetString() == "exited");

            var switches = await daemon.ApiJson("/api/providers/switches");
            Assert.Contains(switches.EnumerateArray(), s =>
                s.GetProperty("from").GetString() == "anthropic-a" && s.GetProperty("to").GetString() == "anthropic-b" && s.GetProperty("reason").GetString() == "rate_limit");

            await DaemonProcess.Until(
                async () => (await daemon.Json("costs", "--by", "provider", "--json")).GetProperty("rows").EnumerateArray()
                    .Any(r => r.GetProperty("key").GetString() == "anthropic-b" && r.GetProperty("output_tokens").GetInt64() >= 30),
                Wait,
                "anthropic-b's usage in df costs");
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            await Dump(daemon, a, b);
            throw;
        }

        Assert.DoesNotContain(Key, await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "logs", "writer.log")));
    }

    [RealCliFact("claude")]
    public async Task A_run_limited_while_its_cli_waits_to_retry_is_stopped_at_once_and_completes_on_the_next_provider()
    {
        // claude waits a retry-after of under a minute before its one retry: without the early stop the run on A
        // would last at least that long
        var retryAfter = TimeSpan.FromSeconds(45);
        await using var a = await MockServer.StartAsync();
        await using var b = await MockServer.StartAsync();
        a.Reply(MockReply.RateLimited(retryAfter));
        b.Reply(MockReply.Answer("Changelog written.", inputTokens: 200, outputTokens: 30));
        await using var daemon = new DaemonProcess(Fleet(a.BaseUrl, b.BaseUrl));
        daemon.Environment["PATH"] = RealClis.BinDirectory + ":" + System.Environment.GetEnvironmentVariable("PATH");
        daemon.Environment["DF_E2E_MOCK_KEY"] = Key;
        await daemon.StartAsync();

        try
        {
            Assert.Equal(0, (await daemon.Df("run", "writer", "--task", "write the changelog")).Exit);
            await DaemonProcess.Until(async () => (await daemon.AgentAsync("writer")).GetProperty("state").GetString() == "completed", Wait, "writer completed on B");

            var history = (await daemon.Json("history", "writer", "--json")).EnumerateArray().ToList();
            var stop = history.Single(e => e.GetProperty("kind").GetString() == "stopped");
            Assert.StartsWith("rate limit: provider anthropic-a is limited until ", stop.GetProperty("detail").GetString());
            var runOnA = stop.GetProperty("run_id").GetString();
            var startedOnA = history.Single(e => e.GetProperty("kind").GetString() == "started" && e.GetProperty("run_id").GetString() == runOnA);
            var lasted = stop.GetProperty("at").GetDateTimeOffset() - startedOnA.GetProperty("at").GetDateTimeOffset();
            Assert.True(lasted < retryAfter - TimeSpan.FromSeconds(10), $"the run on A lasted {lasted}: not stopped early");
            Assert.Equal(2, history.Count(e => e.GetProperty("kind").GetString() == "started"));
            Assert.Contains(a.Requests, r => r.Reply is RateLimitReply);
            Assert.Contains(b.Requests, r => r.Reply is TextReply && r.Model == "claude-mock-b");

            var switches = await daemon.ApiJson("/api/providers/switches");
            var sw = Assert.Single(switches.EnumerateArray());
            Assert.Equal(("anthropic-a", "anthropic-b", "rate_limit"), (sw.GetProperty("from").GetString(), sw.GetProperty("to").GetString(), sw.GetProperty("reason").GetString()));
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            await Dump(daemon, a, b);
            throw;
        }
    }

    private async Task Dump(DaemonProcess daemon, MockServer a, MockServer b)
    {
        output.WriteLine($"A: {string.Join("; ", a.Requests.Select(r => r.Describe()))}\nB: {string.Join("; ", b.Requests.Select(r => r.Describe()))}");
        output.WriteLine("history:\n" + (await daemon.Df("history", "writer")).Stdout);
        output.WriteLine("providers:\n" + (await daemon.Df("providers")).Stdout);
        var log = Path.Combine(daemon.DataDir, "logs", "writer.log");
        output.WriteLine("log:\n" + (File.Exists(log) ? await File.ReadAllTextAsync(log) : "none"));
        output.WriteLine("daemon:\n" + daemon.Output);
    }
}
