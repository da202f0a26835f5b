using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, finding 4, against the real daemon: its whole data directory (store, logs, run files) is a real tmpfs
/// a little larger than readiness's free-space floor, filled until the kernel answers ENOSPC. The daemon stays alive and answers, readiness names the
/// failing log and the disk, the event stream says <c>log-write</c> failing (and resumed), <c>df_log_write_failing</c> and
/// <c>df_log_dropped_bytes_total</c> count it, the agent is never held back by its own output (it keeps beating in its working directory, far
/// past what a pipe holds), and once space returns readiness recovers, the log resumes and commands that persist
/// work again.
/// </summary>
[Collection("daemon")]
public sealed class FullDiskEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("df-fulldisk-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [FullDiskFact]
    public async Task A_full_data_disk_holds_back_no_agent_and_takes_the_daemon_down_nowhere_and_everything_resumes_when_space_returns()
    {
        var work = Directory.CreateDirectory(Path.Combine(_root, "work")).FullName;
        var beat = Path.Combine(work, "beat");

        // ~250 B a line, 50 lines a second: a pipe (64 KiB) the daemon stopped draining would hold the agent within ~5 s
        var fleet = $"""
            version: 1
            agents:
              - name: beater
                layer: safety
                workdir: {work}
                command: ["/bin/sh", "-c", "i=0; pad=$(printf '%0240d' 0); while :; do i=$((i+1)); echo \"line $i $pad\"; echo $i > beat.tmp && mv beat.tmp beat; sleep 0.02; done"]
                grace: 1s
            """;
        // readiness wants 512 MiB free (Doctor.MinFreeBytes): a tmpfs a little larger, filled to the last block
        using var disk = SmallFileSystem.Mount(Path.Combine(_root, "data"), 600L * 1024 * 1024);
        await using var daemon = new DaemonProcess(fleet, disk.Path);
        await daemon.StartAsync();
        await daemon.UntilAsync(async () => (await daemon.AgentAsync("beater")).GetProperty("state").GetString() == "running", Wait, "beater running");
        await daemon.UntilAsync(() => Task.FromResult(Beat(beat) > 10), Wait, "the agent beats");
        var log = Path.Combine(disk.Path, "logs", "beater.log");
        Assert.True(File.Exists(log), "the agent's log is in the data directory");

        await using var events = await SseReader.Open(daemon);
        await events.WaitFor(e => e.Name == "ready", Wait, "the event stream is ready");
        using var metrics = daemon.Client();
        Assert.Equal(0, Metric(await metrics.GetStringAsync("/metrics"), "df_log_write_failing"));

        disk.Fill();
        using var client = daemon.Client(withToken: false);
        await daemon.UntilAsync(async () => (await Ready(client)).Checks.Contains(("logs", false)), Wait, "readiness names the agent's log on the full disk");
        var (status, checks) = await Ready(client);
        Assert.Equal("not_ready", status);
        Assert.Contains(("disk", false), checks);

        // the condition is an event and a metric an operator can alert on (deploy/prometheus/alerts.yml)
        await events.WaitFor(e => LogWrite(e, failing: true), Wait, "log-write failing for beater");
        await daemon.UntilAsync(async () => Metric(await metrics.GetStringAsync("/metrics"), "df_log_write_failing") == 1, Wait, "df_log_write_failing 1");
        await daemon.UntilAsync(async () => Metric(await metrics.GetStringAsync("/metrics"), "df_log_dropped_bytes_total") > 0, Wait, "df_log_dropped_bytes_total counts what was not written");

        // the daemon keeps draining: the agent beats on well past what a pipe would hold
        var atFull = Beat(beat);
        await daemon.UntilAsync(() => Task.FromResult(Beat(beat) > atFull + 500), Wait, "the agent beats 500 more times on the full disk");
        Assert.False(daemon.HasExited, daemon.Output);
        Assert.Equal(200, (int)(await client.GetAsync("/api/health")).StatusCode); // alive
        Assert.Equal("running", (await daemon.AgentAsync("beater")).GetProperty("state").GetString());

        disk.Free();
        await daemon.UntilAsync(async () => (await Ready(client)).Status == "ready", Wait, "readiness recovers once space returns");
        var lengthAfterFree = new FileInfo(log).Length;
        await daemon.UntilAsync(() => Task.FromResult(new FileInfo(log).Length > lengthAfterFree + 10_000), Wait, "the log grows again");
        await events.WaitFor(e => LogWrite(e, failing: false), Wait, "log-write resumed for beater");
        await daemon.UntilAsync(async () => Metric(await metrics.GetStringAsync("/metrics"), "df_log_write_failing") == 0, Wait, "df_log_write_failing back to 0");

        // what persists works again: a restart is recorded and carried out
        var pid = (await daemon.AgentAsync("beater")).GetProperty("pid").GetInt32();
        var (exit, _, stderr) = await daemon.Df("restart", "beater");
        Assert.True(exit == 0, stderr);
        await daemon.UntilAsync(async () => (await daemon.AgentAsync("beater")) is var a && a.GetProperty("state").GetString() == "running" && a.GetProperty("pid").GetInt32() != pid, Wait, "beater restarted");
        Assert.Equal(0, await daemon.StopAsync(Wait));
    }

    private static bool LogWrite(SseEvent e, bool failing) =>
        e.Name == "log-write" && e.Json.GetProperty("agent").GetString() == "beater" && e.Json.GetProperty("failing").GetBoolean() == failing;

    /// <summary>The sum of a metric family's samples in the Prometheus text (its name, then labels or a space).</summary>
    private static double Metric(string exposition, string name) =>
        exposition.Split('\n')
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') is var brace and >= 0 ? brace + 1 : name.Length)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));

    private static long Beat(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), out var n) ? n : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static async Task<(string Status, List<(string Name, bool Ok)> Checks)> Ready(HttpClient client)
    {
        using var response = await client.GetAsync("/api/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks").EnumerateArray().Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("ok").GetBoolean())).ToList();
        return (body.RootElement.GetProperty("status").GetString()!, checks);
    }
}
