using System.Text.Json;
using DarkFactory.Adapters.Tests;
using DarkFactory.MockModelServer;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The real daemon runs the real codex CLI against two mock model servers (two providers): provider A
/// answers 429, so codex's structured 429 becomes a ProviderLimited, the router marks A limited, the
/// agent's next run is routed to B and completes there, and its usage lands in the ledger
/// (<c>df costs --json</c>). Skipped when codex is not installed (.ci/install-clis).
/// </summary>
public sealed class ProviderFailoverEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    [RealCliFact("codex")]
    public async Task A_429_on_provider_A_marks_it_limited_and_the_task_completes_on_B_with_its_usage_in_the_ledger()
    {
        await using var a = await MockServer.StartAsync();
        await using var b = await MockServer.StartAsync();
        // codex waits the retry-after before its one retry: short here; the router holds A for limit_backoff (codex reports no reset time)
        a.Reply(MockReply.RateLimited(TimeSpan.FromSeconds(2)));
        b.Reply(MockReply.Answer("Fixed on B.", inputTokens: 300, outputTokens: 40));

        var fleet = $"""
            version: 1
            router:
              limit_backoff: 10m
            nightwatch:
              # under load the 100 ms restart can beat the limit to the router: a second crash on A, which with the
              # loops of the 429 lines is a severe drift. The pause is short; B is then avoided for fixer, but A is
              # limited, so the avoided B is taken anyway and the task still completes there.
              pause_for: 2s
            layers:
              core:
                backoff: {"{"} min: 100ms, max: 200ms, jitter: 0 {"}"}
            providers:
              - name: openai-a
                cli: codex
                model: gpt-mock-a
                base_url: {a.BaseUrl}
                api_key_env: DF_E2E_MOCK_KEY
                priority: 1
                prices: {"{"} input_per_million: 1, output_per_million: 2 {"}"}
              - name: openai-b
                cli: codex
                model: gpt-mock-b
                base_url: {b.BaseUrl}/v1
                api_key_env: DF_E2E_MOCK_KEY
                priority: 2
                prices: {"{"} input_per_million: 1, output_per_million: 2 {"}"}
            agents:
              - name: fixer
                layer: core
                cli: codex
                task: fix the flaky test
                restart: transient
                max_runtime: 2m
            """;
        await using var daemon = new DaemonProcess(fleet);
        daemon.Environment["PATH"] = RealClis.BinDirectory + ":" + System.Environment.GetEnvironmentVariable("PATH");
        daemon.Environment["DF_E2E_MOCK_KEY"] = "sk-e2e-mock-key-7f3a";
        await daemon.StartAsync();

        await daemon.Df("run", "fixer", "--task", "fix the flaky test");

        // the run on A hits the 429; the router marks A limited; the restarted run goes to B and completes
        try
        {
            await DaemonProcess.Until(async () => (await daemon.AgentAsync("fixer")).GetProperty("state").GetString() == "completed", Wait, "fixer completed on B");
        }
        catch (TimeoutException e)
        {
            var history = await daemon.Df("history", "fixer");
            var log = Path.Combine(daemon.DataDir, "logs", "fixer.log");
            throw new TimeoutException(
                $"{e.Message}\nagent: {await daemon.AgentAsync("fixer")}\nhistory:\n{history.Stdout}\nA: {string.Join("; ", a.Requests.Select(r => r.Describe()))}\n" +
                $"B: {string.Join("; ", b.Requests.Select(r => r.Describe()))}\nlog:\n{(File.Exists(log) ? File.ReadAllText(log) : "none")}\ndaemon:\n{daemon.Output}");
        }

        Assert.Contains(a.Requests, r => r.Model == "gpt-mock-a");
        Assert.Contains(b.Requests, r => r.Model == "gpt-mock-b");

        var providers = await daemon.Json("providers", "--json");
        var providerA = providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "openai-a");
        // limited; or, when the restarts beat the limit to the router under load and A failed three times, its breaker is open (shown first)
        Assert.Contains(providerA.GetProperty("state").GetString(), new[] { "limited", "open" });
        Assert.NotEqual(JsonValueKind.Null, providerA.GetProperty("reset_at").ValueKind);

        JsonElement row = default;
        await DaemonProcess.Until(
            async () =>
            {
                var costs = await daemon.Json("costs", "--by", "provider", "--json");
                row = costs.GetProperty("rows").EnumerateArray().FirstOrDefault(r => r.GetProperty("key").GetString() == "openai-b");
                return row.ValueKind == JsonValueKind.Object;
            },
            Wait,
            "openai-b in df costs");
        Assert.Equal(300, row.GetProperty("input_tokens").GetInt64());
        Assert.Equal(40, row.GetProperty("output_tokens").GetInt64());
        Assert.True(row.GetProperty("cost_usd").GetDecimal() > 0m);
    }
}
