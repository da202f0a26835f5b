using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, finding 1: one slow event-stream client while an agent floods grew the daemon by gigabytes
/// (the per-client bound counted events, and one output event can carry thousands of lines). Here the
/// client is a raw socket with a small receive buffer that reads a few KiB at a time.
/// </summary>
[Collection("daemon")]
public sealed class SlowClientTests(ITestOutputHelper output)
{
    private const long Buffer = 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>A daemon whose per-client buffer is 1 MiB, with an agent that floods until stopped (distinct lines: no loop).</summary>
    internal static async Task<DaemonProcess> FloodingDaemon()
    {
        var daemon = new DaemonProcess($"""
            version: 1
            nightwatch:
              weights: {"{"} loops: 0 {"}"}
            agents:
              - name: flood
                layer: safety
                command: ["bash", "-c", "seq -f '%079.0f' 1 1000000000"]
            """);
        var hocon = Path.Combine(daemon.Root, "df.conf");
        File.WriteAllText(hocon, $"darkfactory.event-client-buffer = {Buffer}");
        daemon.Environment["DF_HOCON"] = hocon;
        await daemon.StartAsync();
        return daemon;
    }

    /// <summary>An SSE client that sends its request and then reads at most <paramref name="bytesPerSecond"/>.</summary>
    internal sealed class SlowSocket : IDisposable
    {
        private readonly Socket _socket;
        private readonly CancellationTokenSource _stop = new();
        private readonly StringBuilder _seen = new();
        private readonly Task _reading;
        private volatile bool _hurry;

        public SlowSocket(DaemonProcess daemon, string query, int bytesPerSecond)
        {
            var endpoint = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(daemon.DataDir, "daemon.json")));
            var url = new Uri(endpoint.GetProperty("url").GetString()!);
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            _socket.Connect(url.Host, url.Port);
            var request = $"GET /api/events{query} HTTP/1.1\r\nHost: {url.Authority}\r\nAuthorization: Bearer {endpoint.GetProperty("token").GetString()}\r\nAccept: text/event-stream\r\n\r\n";
            _socket.Send(Encoding.ASCII.GetBytes(request));
            _reading = Task.Run(() => Read(bytesPerSecond));
        }

        public long Received { get; private set; }

        /// <summary>From now on reads as fast as it can (what the kernel and the server buffered comes through).</summary>
        public void Hurry() => _hurry = true;

        /// <summary>The start of every event name seen (the stream's text itself is not kept: it is large).</summary>
        public string Seen
        {
            get
            {
                lock (_seen)
                {
                    return _seen.ToString();
                }
            }
        }

        private async Task Read(int bytesPerSecond)
        {
            var slow = new byte[Math.Max(1, bytesPerSecond / 10)];
            var fast = new byte[64 * 1024];
            var partial = "";
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var chunk = _hurry ? fast : slow;
                    var n = await _socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    Received += n;
                    var lines = (partial + Encoding.ASCII.GetString(chunk, 0, n)).Split('\n');
                    partial = lines[^1].Length < 200 ? lines[^1] : ""; // a line cut by the read continues in the next one
                    lock (_seen)
                    {
                        foreach (var line in lines[..^1].Where(l => l.StartsWith("event: ", StringComparison.Ordinal) && l != "event: agent-output"))
                        {
                            _seen.AppendLine(line);
                        }
                    }

                    if (!_hurry)
                    {
                        await Task.Delay(100, _stop.Token);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Close();
            try
            {
                _reading.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }
    }

    /// <summary>The value of a metric (summed over its series) in the daemon's /metrics, 0 when absent.</summary>
    internal static async Task<double> Metric(HttpClient http, string name) => MetricIn(await http.GetStringAsync("/metrics"), name);

    /// <summary>A metric family's value in a scrape of /metrics, its series summed.</summary>
    internal static double MetricIn(string text, string name) =>
        text.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is ' ' or '{'))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    internal static long RssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    [Fact]
    public async Task A_slow_client_while_an_agent_floods_is_bounded_in_bytes_told_what_it_missed_and_freed_when_it_leaves()
    {
        await using var daemon = await FloodingDaemon();
        using var http = daemon.Client();
        await DaemonProcess.Until(async () => await Metric(http, "df_agent_output_lines_total") > 100_000, Wait, "the flood's output");

        // act: a client reading 40 KB/s while the agent prints megabytes a second, for 10 s
        long peakQueued = 0;
        var peakRss = 0L;
        using (var slow = new SlowSocket(daemon, "?output=flood", bytesPerSecond: 40_000))
        {
            await DaemonProcess.Until(async () => await Metric(http, "df_event_clients") == 1, Wait, "the client connected");
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < until)
            {
                peakQueued = Math.Max(peakQueued, (long)await Metric(http, "df_event_queued_bytes"));
                peakRss = Math.Max(peakRss, RssBytes(daemon.Pid));
                await Task.Delay(200);
            }

            // assert: the queue filled up to its bound and no further, and the client was told it lagged
            Assert.True(peakQueued > Buffer / 2, $"the queue never filled: {peakQueued} bytes (is the flood reaching it?)");
            Assert.True(peakQueued <= Buffer, $"queued {peakQueued} bytes for one client, over its bound of {Buffer}");
            Assert.True(await Metric(http, "df_event_dropped_total") > 0, "nothing dropped");

            // the lagged event goes out before the next batch, behind what the kernel's send buffer (up to 4 MiB,
            // autotuned) and the server already hold: at 40 KB/s that can take minutes, so the client now reads fast
            slow.Hurry();
            await DaemonProcess.Until(() => Task.FromResult(slow.Seen.Contains("event: lagged")), Wait, "a lagged event on the slow stream");
        }

        output.WriteLine($"peak queued for the slow client: {peakQueued} bytes (bound {Buffer}); peak daemon RSS {peakRss / (1024 * 1024)} MiB");

        // the client left: nothing held for it
        await DaemonProcess.Until(async () => await Metric(http, "df_event_clients") == 0 && await Metric(http, "df_event_queued_bytes") == 0, Wait, "the client's queue freed");
        Assert.True(peakRss < 600L * 1024 * 1024, $"daemon RSS reached {peakRss / (1024 * 1024)} MiB with one slow client");
    }
}
