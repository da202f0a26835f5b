using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Readiness's bound attacked on the real daemon (issue 15, finding 10): another process takes the SQLite store's
/// write lock and holds it (a backup tool, a stray <c>sqlite3</c> shell, a hung writer), so the journal takes no
/// write. Every <c>/api/health/ready</c> answers within the 10 s bound, and soon says not ready naming the journal;
/// the daemon lives meanwhile (liveness, <c>df agents</c>, its agent running, an operator's restart carried out). Once
/// the lock goes, readiness recovers and what persists works again: a restart is recorded in history.
/// </summary>
[Collection("daemon")]
public sealed class ReadinessBoundEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10); // Readiness.CheckBound's default
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5); // a loaded machine's scheduling and HTTP

    private static string Fleet => $"""
        version: 1
        agents:
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
        """;

    [Fact]
    public async Task A_store_held_locked_by_another_process_makes_the_daemon_not_ready_within_the_bound_and_it_lives_and_recovers()
    {
        await using var daemon = new DaemonProcess(Fleet);
        await daemon.StartAsync();
        using var client = daemon.Client(withToken: false);
        await daemon.UntilAsync(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        await daemon.UntilAsync(async () => (await Ready(client)).Status == "ready", Wait, "ready before the attack");
        var pid = (await daemon.AgentAsync("keeper")).GetProperty("pid").GetInt32();

        await using (var holder = new SqliteConnection($"Data Source={Path.Combine(daemon.DataDir, "darkfactory.db")};Default Timeout=30"))
        {
            await holder.OpenAsync();
            await using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync();
            }

            // every answer within the bound; not ready, naming the journal, once the reused answer (2 s) is stale
            var locked = Stopwatch.StartNew();
            (string Status, List<(string Name, bool Ok, string Detail)> Checks) report = (string.Empty, []);
            await daemon.UntilAsync(
                async () =>
                {
                    var asked = Stopwatch.StartNew();
                    report = await Ready(client);
                    Assert.True(asked.Elapsed < Bound + Slack, $"/api/health/ready took {asked.Elapsed.TotalSeconds:0.0} s (bound {Bound.TotalSeconds:0} s)");
                    return report.Checks.Any(c => c is ("journal", false, _));
                },
                Wait,
                "readiness fails the journal check");
            output.WriteLine($"not ready {locked.Elapsed.TotalSeconds:0.0} s after the lock: {string.Join("; ", report.Checks.Select(c => $"{c.Name} {c.Ok} {c.Detail}"))}");
            Assert.Equal("not_ready", report.Status);
            Assert.True(locked.Elapsed < Bound + Bound, $"not ready only {locked.Elapsed.TotalSeconds:0.0} s after the lock");

            // the daemon lives: alive, answers, its agent runs and an operator's restart is carried out
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/health")).StatusCode);
            Assert.Equal("running", (await daemon.AgentAsync("keeper")).GetProperty("state").GetString());
            var (exit, _, stderr) = await daemon.Df("restart", "keeper");
            Assert.True(exit == 0, stderr);
            await daemon.UntilAsync(async () => (await daemon.AgentAsync("keeper")) is var a && a.GetProperty("state").GetString() == "running" && a.GetProperty("pid").GetInt32() != pid, Wait, "keeper restarted while the store is locked");
            for (var i = 0; i < 3; i++)
            {
                var asked = Stopwatch.StartNew();
                Assert.Equal("not_ready", (await Ready(client)).Status);
                Assert.True(asked.Elapsed < Bound + Slack, $"/api/health/ready took {asked.Elapsed.TotalSeconds:0.0} s (bound {Bound.TotalSeconds:0} s)");
            }

            Assert.False(daemon.HasExited, daemon.Output);
            await using var rollback = holder.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        await daemon.UntilAsync(async () => (await Ready(client)).Status == "ready", Wait, "ready again once the lock is gone");

        // what persists works again: a restart now is recorded in history
        var before = (await daemon.AgentAsync("keeper")).GetProperty("pid").GetInt32();
        var (again, _, error) = await daemon.Df("restart", "keeper");
        Assert.True(again == 0, error);
        await daemon.UntilAsync(async () => (await daemon.AgentAsync("keeper")) is var k && k.GetProperty("state").GetString() == "running" && k.GetProperty("pid").GetInt32() != before, Wait, "keeper restarted after the lock");
        await daemon.UntilAsync(
            async () => (await daemon.Json("history", "keeper", "--json")).EnumerateArray().Any(e => e.TryGetProperty("pid", out var p) && p.ValueKind == JsonValueKind.Number && p.GetInt32() != before && p.GetInt32() != pid && e.GetProperty("kind").GetString() == "started"),
            Wait,
            "the restart after the lock recorded in history");
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    private static async Task<(string Status, List<(string Name, bool Ok, string Detail)> Checks)> Ready(HttpClient client)
    {
        using var response = await client.GetAsync("/api/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks").EnumerateArray()
            .Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("ok").GetBoolean(), c.TryGetProperty("detail", out var d) ? d.GetString() ?? string.Empty : string.Empty))
            .ToList();
        return (body.RootElement.GetProperty("status").GetString()!, checks);
    }
}
