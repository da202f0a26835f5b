using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A daemon with open streams (an SSE client on /api/events, as a dashboard holds, and <c>df logs -f</c>) stops on
/// SIGTERM at once: the streams end when the daemon stops, instead of the web server waiting for them up to the host's
/// shutdown timeout (3 min) before the daemon's own shutdown begins. The follower exits 3 (its stream ended without it).
/// Found by bench/cluster: a SIGTERMed node with an SSE client took 3 minutes to leave the cluster.
/// </summary>
[Collection("daemon")]
public sealed class ShutdownWithClientsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Sigterm_stops_a_daemon_with_an_event_stream_client_and_a_log_follower_at_once()
    {
        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: ticker
                layer: safety
                command: ["{DaemonProcess.Agent("ticker.sh")}", "5"]
                restart: permanent
                autostart: true
                grace: 2s
            """);
        await daemon.StartAsync();
        await daemon.UntilAsync(() => Task.FromResult(daemon.AgentProcesses("ticker").Count > 0), Wait, "ticker running");

        using var http = daemon.Client();
        http.Timeout = Timeout.InfiniteTimeSpan;
        using var events = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);
        var sse = new StreamReader(await events.Content.ReadAsStreamAsync());
        using (var first = new CancellationTokenSource(Wait))
        {
            Assert.NotNull(await sse.ReadLineAsync(first.Token));
        }

        using var follower = daemon.StartDf("logs", "ticker", "-f", "-n", "1");
        var followed = new TaskCompletionSource();
        follower.OutputDataReceived += (_, e) => followed.TrySetResult();
        follower.BeginOutputReadLine();
        await followed.Task.WaitAsync(Wait);

        var stopping = Stopwatch.StartNew();
        var exit = await daemon.StopAsync(Wait);
        output.WriteLine($"SIGTERM with an SSE client and a log follower: exited {exit} after {stopping.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, exit);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(30), $"the daemon took {stopping.Elapsed} to stop");

        using var drained = new CancellationTokenSource(Wait);
        try
        {
            while (await sse.ReadLineAsync(drained.Token) is not null)
            {
                // the rest of the stream, to its end
            }
        }
        catch (IOException)
        {
            // or the connection's end
        }

        await follower.WaitForExitAsync(drained.Token);
        Assert.Equal(3, follower.ExitCode);
    }
}
