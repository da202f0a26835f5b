using System.Net;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The router through the real daemon and the real `df route|providers|costs` commands: a scripted fake agent
/// configured as an AI CLI (its command overrides the CLI, so none needs to be installed) crashes on its
/// provider, the breaker opens, and its next run fails over to the other provider, recorded as a switch.
/// </summary>
[Collection("daemon")]
public sealed class RouterEndToEndTests
{
    private static string Fleet() => $"""
        version: 1
        providers:
          - name: primary
            cli: claude
            priority: 10
            prices: {"{"} input_per_million: 3, output_per_million: 15 {"}"}
          - name: secondary
            cli: codex
            priority: 20
        router:
          breaker: {"{"} failures: 1, open_for: 10m {"}"}
        agents:
          - name: worker
            layer: growth
            cli: claude
            provider: primary
            command: ["{DaemonProcess.Agent("exit.sh")}", "3"]
            task: write the changelog
            grace: 2s
        """;

    [Fact]
    public async Task A_crash_opens_the_breaker_and_the_next_run_fails_over_with_the_switch_recorded()
    {
        await using var daemon = new DaemonProcess(Fleet());
        await daemon.StartAsync();

        var before = await daemon.Json("route", "write the changelog", "--agent", "worker", "--json");
        Assert.Equal("primary", before.GetProperty("chosen").GetProperty("provider").GetString());

        Assert.Equal(0, (await daemon.Df("run", "worker")).Exit);
        await DaemonProcess.Until(async () => await ProviderState(daemon, "primary") == "open", TimeSpan.FromSeconds(30), "the primary provider's breaker to open");

        var after = await daemon.Json("route", "write the changelog", "--agent", "worker", "--json");
        var chosen = after.GetProperty("chosen");
        Assert.Equal(("secondary", "codex"), (chosen.GetProperty("provider").GetString(), chosen.GetProperty("cli").GetString()));
        Assert.Contains("failover from primary circuit breaker open", chosen.GetProperty("reason").GetString());
        var primary = after.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("provider").GetString() == "primary");
        Assert.StartsWith("circuit breaker open", primary.GetProperty("rejected_because").GetString());

        Assert.Equal(0, (await daemon.Df("run", "worker")).Exit);
        await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/providers/switches")).GetArrayLength() == 1, TimeSpan.FromSeconds(30), "the provider switch");
        var sw = (await daemon.ApiJson("/api/providers/switches"))[0];
        Assert.Equal(("primary", "secondary", "error"), (sw.GetProperty("from").GetString(), sw.GetProperty("to").GetString(), sw.GetProperty("reason").GetString()));

        var providers = await daemon.Json("providers", "--json");
        Assert.All(providers.EnumerateArray(), p =>
        {
            foreach (var key in new[] { "name", "state", "reset_at", "spend" })
            {
                Assert.True(p.TryGetProperty(key, out _), $"provider without {key}: {p}");
            }
        });
        var costs = await daemon.Json("costs", "--by", "agent", "--json");
        Assert.Equal("agent", costs.GetProperty("by").GetString());
        Assert.Equal(0m, costs.GetProperty("total_usd").GetDecimal());

        using var http = daemon.Client();
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/route", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/route?task=x&agent=nobody", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/costs?by=week")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await daemon.Client(withToken: false).GetAsync("/api/providers")).StatusCode);
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task<string?> ProviderState(DaemonProcess daemon, string name) =>
        (await daemon.ApiJson("/api/providers")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == name).GetProperty("state").GetString();
}
