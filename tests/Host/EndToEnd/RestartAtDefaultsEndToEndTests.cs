using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 18: at the shipped defaults (backoff 1 s doubling, quarantine after 5, 10 restarts a minute, min_uptime 1 s)
/// a program that crashes after being up 2 s is restarted at once, every time: never backed off, quarantined,
/// escalated, nor judged by Nightwatch as crash drift.
/// </summary>
[Collection("daemon")]
public sealed class RestartAtDefaultsEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_program_that_crashes_after_min_uptime_is_restarted_at_once_every_time_and_never_quarantined()
    {
        var fleet = $"""
            version: 1
            agents:
              - name: sleeper
                layer: safety
                command: ["{DaemonProcess.Agent("exit.sh")}", "1", "2"]
                grace: 2s
            """;
        await using var daemon = new DaemonProcess(fleet);
        await daemon.StartAsync();

        // 6 crashes: one more than quarantine_after, and past where a doubling backoff would wait 16 s
        await daemon.UntilAsync(async () => Kinds(await daemon.Json("history", "sleeper", "--json")).Count(k => k == "crashed") >= 6, TimeSpan.FromSeconds(120), "6 crashes");

        var history = (await daemon.Json("history", "sleeper", "--json")).EnumerateArray().ToList();
        var what = (await daemon.Df("history", "sleeper")).Stdout;
        Assert.DoesNotContain(history, e => e.GetProperty("kind").GetString() is "quarantined" or "escalated");
        var restarts = history.Where(e => e.GetProperty("kind").GetString() == "restarting").Select(e => e.GetProperty("detail").GetString()!).ToList();
        Assert.True(restarts.Count >= 5, what);
        Assert.All(restarts, detail => Assert.Contains("restarted at once", detail));
        Assert.All(restarts, detail => Assert.DoesNotContain("restarting in", detail));

        var agent = await daemon.AgentAsync("sleeper");
        Assert.NotEqual("quarantined", agent.GetProperty("state").GetString());
        Assert.NotEqual("backoff", agent.GetProperty("state").GetString());
        var drift = await daemon.Json("drift", "sleeper", "--json");
        Assert.Equal("normal", drift.GetProperty("level").GetString());
        Assert.True(!drift.TryGetProperty("last_correction", out var c) || c.ValueKind == JsonValueKind.Null, $"corrected: {drift}\n{what}");
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    private static IEnumerable<string?> Kinds(JsonElement history) => history.EnumerateArray().Select(e => e.GetProperty("kind").GetString());
}
