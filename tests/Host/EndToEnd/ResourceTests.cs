using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using static DarkFactory.Host.Tests.EndToEnd.SlowClientTests;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, "keep it true": the daemon's memory stays bounded under the worst load a user can put on it at
/// once — one agent flooding its output, three event-stream clients reading a few KB/s, and 1,000 runs queued
/// with a task of the largest accepted size each — and it still answers its readiness probe.
/// <para>
/// The bound, <see cref="Bound"/> (768 MiB), is what the daemon may hold by design plus headroom: its
/// baseline under a flood (~200-300 MiB measured, see docs/benchmarks.md), three clients' event buffers
/// (1 MiB each here, <c>darkfactory.event-client-buffer</c>), and the 1,000 queued tasks, which the daemon keeps
/// until their runs start (64 KiB each here, <c>darkfactory.max-task-size</c>; .NET holds text as UTF-16,
/// so 2 × 64 KiB × 1,000 = 125 MiB), with room for the garbage collector. Before issue 15 one slow client alone
/// took the daemon past 4 GB.
/// </para>
/// </summary>
[Collection("daemon")]
public sealed class ResourceTests(ITestOutputHelper output)
{
    private const int Queued = 1000;
    private const int TaskBytes = 64 * 1024;
    private const long Bound = 768L * 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Fleet()
    {
        var fleet = new StringBuilder($"""
            version: 1
            limits:
              max_concurrent_runs: 1
            nightwatch:
              weights: {"{"} loops: 0 {"}"}
            agents:
              - name: flood
                layer: safety
                command: ["bash", "-c", "seq -f '%079.0f' 1 1000000000"]
              - name: holder
                layer: growth
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 1s

            """);
        for (var i = 0; i < Queued; i++)
        {
            fleet.Append($"  - {{ name: q{i:D4}, layer: growth, command: [\"{DaemonProcess.Agent("echo-task.sh")}\"] }}\n");
        }

        return fleet.ToString();
    }

    [Fact]
    public async Task Rss_stays_bounded_with_a_flood_three_slow_clients_and_1000_queued_tasks_of_the_largest_size()
    {
        var clock = Stopwatch.StartNew();
        await using var daemon = new DaemonProcess(Fleet());
        var hocon = Path.Combine(daemon.Root, "df.conf");
        File.WriteAllText(hocon, $"darkfactory.event-client-buffer = 1048576\ndarkfactory.max-task-size = {TaskBytes}");
        daemon.Environment["DF_HOCON"] = hocon;
        await daemon.StartAsync();
        using var http = daemon.Client();
        var peak = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, RssBytes(daemon.Pid));
                await Task.Delay(100);
            }
        });

        await DaemonProcess.Until(async () => await Metric(http, "df_agent_output_lines_total") > 100_000, Wait, "the flood's output");
        var clients = Enumerable.Range(0, 3).Select(_ => new SlowSocket(daemon, "?output=flood", bytesPerSecond: 4_000)).ToList();
        try
        {
            await DaemonProcess.Until(async () => await Metric(http, "df_event_clients") == 3, Wait, "three slow clients connected");
            Assert.Equal(0, (await daemon.Df("run", "holder")).Exit);

            // 1,000 runs of the largest accepted task, each queued behind holder (max_concurrent_runs: 1)
            var task = new string('x', TaskBytes - 16) + new string('y', 16);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.PostAsJsonAsync("/api/agents/q0000/run", new { task = task + "z" })).StatusCode);
            var outcomes = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(Enumerable.Range(0, Queued), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                using var answer = await http.PostAsJsonAsync($"/api/agents/q{i:D4}/run", new { task }, ct);
                outcomes.Add($"{(int)answer.StatusCode} {(await answer.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct)).GetProperty("outcome").GetString()}");
            });
            Assert.Equal([$"200 queued"], outcomes.Distinct());
            var gate = await daemon.ApiJson("/api/providers/queue");
            Assert.Equal(Queued, gate.GetProperty("queued").GetInt32());

            // everything at once for a few seconds more: still ready, still bounded
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (DateTime.UtcNow < until)
            {
                using var ready = await http.GetAsync("/api/health/ready");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                await Task.Delay(500);
            }

            Assert.True(await Metric(http, "df_event_queued_bytes") <= 3 * 1048576, "the slow clients' queues are over their bounds");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            await sampling.CancelAsync();
            await sampler;
        }

        output.WriteLine($"peak daemon RSS {peak / (1024 * 1024)} MiB (bound {Bound / (1024 * 1024)} MiB), {clock.Elapsed.TotalSeconds:0} s in all");
        Assert.True(peak < Bound, $"daemon RSS reached {peak / (1024 * 1024)} MiB, over the bound of {Bound / (1024 * 1024)} MiB");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the resource test took {clock.Elapsed.TotalSeconds:0} s, over its 60 s budget");
    }
}
