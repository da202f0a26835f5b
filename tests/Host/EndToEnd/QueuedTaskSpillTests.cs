using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using static DarkFactory.Host.Tests.EndToEnd.SlowClientTests;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15 (the resource bound of a queue): a run waiting in the admission queue keeps its task on disk
/// (<c>queued-tasks/</c> in the data directory, owner-only), not in the daemon's memory. Attacked with 1,000 runs of
/// the largest accepted task (1 MiB, <c>darkfactory.max-task-size</c>) queued behind <c>max_concurrent_runs: 1</c>:
/// held in memory they would be 2,000 MiB (.NET text is UTF-16); on disk the daemon's RSS grows by what the requests
/// in flight and the garbage collector's budget take, not by the queue. A daemon killed with its queue leaves the
/// files; the next start deletes them.
/// </summary>
[Collection("daemon")]
public sealed class QueuedTaskSpillTests(ITestOutputHelper output)
{
    private const int Queued = 1000;
    private const int TaskBytes = 1024 * 1024;

    /// <summary>
    /// The growth allowed over the idle daemon: 8 requests in flight at once, each a 1 MiB body and its 2 MiB string
    /// (~24 MiB), the runs' plans made before the gate queues them, and the garbage collector's large-object budget
    /// between collections; far below the 2,000 MiB the queued tasks would take in memory.
    /// </summary>
    private const long Growth = 256L * 1024 * 1024;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    internal static string Fleet(int queued)
    {
        var fleet = new StringBuilder($"""
            version: 1
            limits:
              max_concurrent_runs: 1
            agents:
              - name: holder
                layer: growth
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 1s

            """);
        for (var i = 0; i < queued; i++)
        {
            fleet.Append($"  - {{ name: q{i:D4}, layer: growth, command: [\"{DaemonProcess.Agent("echo-task.sh")}\"] }}\n");
        }

        return fleet.ToString();
    }

    [Fact]
    public async Task A_thousand_queued_tasks_of_the_largest_size_wait_on_disk_and_a_restart_deletes_them()
    {
        var clock = Stopwatch.StartNew();
        await using var daemon = new DaemonProcess(Fleet(Queued));
        await daemon.StartAsync();
        using var http = daemon.Client();
        Assert.Equal(0, (await daemon.Df("run", "holder")).Exit);
        var idle = await IdleRss(daemon);

        var peak = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, RssBytes(daemon.Pid));
                await Task.Delay(50);
            }
        });

        var body = JsonSerializer.SerializeToUtf8Bytes(new { task = new string('x', TaskBytes - 1) + "y" });
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<string>();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, Queued), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var answer = await http.PostAsync($"/api/agents/q{i:D4}/run", content, ct);
                outcomes.Add($"{(int)answer.StatusCode} {JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("outcome").GetString()}");
            });
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler;
        }

        var spilled = Path.Combine(daemon.DataDir, "queued-tasks");
        Assert.Equal(["200 queued"], outcomes.Distinct());
        Assert.Equal(Queued, (await daemon.ApiJson("/api/providers/queue")).GetProperty("queued").GetInt32());
        var files = Directory.GetFiles(spilled);
        Assert.Equal(Queued, files.Length);
        Assert.All(files, f => Assert.Equal((UnixFileMode.UserRead | UnixFileMode.UserWrite, TaskBytes + 1L), (File.GetUnixFileMode(f), new FileInfo(f).Length)));
        Assert.Equal(Queued * (TaskBytes + 1.0), await Metric(http, "df_queued_task_bytes"));
        Assert.DoesNotContain("xxxxxxxx", daemon.Output, StringComparison.Ordinal); // the task text is never logged

        var growth = peak - idle;
        output.WriteLine($"idle RSS {idle / (1024 * 1024)} MiB, peak {peak / (1024 * 1024)} MiB with {Queued} queued tasks of {TaskBytes / 1024} KiB: +{growth / (1024 * 1024)} MiB (bound +{Growth / (1024 * 1024)} MiB; in memory they would be {2L * TaskBytes * Queued / (1024 * 1024)} MiB), {clock.Elapsed.TotalSeconds:0} s");
        Assert.True(growth < Growth, $"the daemon grew by {growth / (1024 * 1024)} MiB with {Queued} queued tasks, over its bound of {Growth / (1024 * 1024)} MiB");

        // a daemon killed with its queue: the next start deletes the tasks (their runs were not started)
        daemon.KillHard();
        await using var again = new DaemonProcess(Fleet(0), daemon.DataDir);
        await again.StartAsync();
        Assert.Empty(Directory.GetFileSystemEntries(spilled));
        await again.UntilAsync(() => Task.FromResult(again.Output.Contains($"Deleted {Queued} queued task(s)", StringComparison.Ordinal)), Wait, "the start's warning about the deleted tasks");
    }

    /// <summary>The idle daemon's RSS (its run of holder up): the largest of a few samples once it is steady.</summary>
    internal static async Task<long> IdleRss(DaemonProcess daemon)
    {
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("holder")).GetProperty("state").GetString() == "running", Wait, "holder running");
        var idle = 0L;
        for (var i = 0; i < 10; i++)
        {
            idle = Math.Max(idle, RssBytes(daemon.Pid));
            await Task.Delay(100);
        }

        return idle;
    }
}
