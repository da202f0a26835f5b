using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using DarkFactory.Host.Daemon;
using DarkFactory.Host.Tests.EndToEnd;
using Microsoft.Extensions.Logging;
using Xunit;

namespace DarkFactory.Host.Tests.Ops;

/// <summary>Under systemd the daemon logs to journald's native socket with agent and run ids as fields.</summary>
[Collection("daemon")]
public sealed class JournaldLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("df-journal-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Reads one entry of the journal's native format back into fields.</summary>
    private static Dictionary<string, string> Parse(byte[] entry)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < entry.Length)
        {
            var end = Array.FindIndex(entry, i, b => b is (byte)'=' or (byte)'\n');
            var name = Encoding.ASCII.GetString(entry, i, end - i);
            if (entry[end] == '=')
            {
                var nl = Array.IndexOf(entry, (byte)'\n', end);
                fields[name] = Encoding.UTF8.GetString(entry, end + 1, nl - end - 1);
                i = nl + 1;
            }
            else
            {
                var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(end + 1, 8));
                fields[name] = Encoding.UTF8.GetString(entry, end + 9, length);
                i = end + 9 + length + 1;
            }
        }

        return fields;
    }

    [Fact]
    public void An_entry_carries_priority_identifier_structured_values_and_multi_line_messages()
    {
        var state = new List<KeyValuePair<string, object?>> { new("Count", 3), new("RunId", "ab12"), new("{OriginalFormat}", "x") };
        var fields = Parse(JournaldLog.Entry(JournaldLog.Fields("DarkFactory.Daemon", LogLevel.Warning, "Agent [keeper] run [0f3a9c] crashed:\nexit 3", null, state)));

        Assert.Equal("Agent [keeper] run [0f3a9c] crashed:\nexit 3", fields["MESSAGE"]);
        Assert.Equal("4", fields["PRIORITY"]);
        Assert.Equal("darkfactory", fields["SYSLOG_IDENTIFIER"]);
        Assert.Equal("DarkFactory.Daemon", fields["DF_CATEGORY"]);
        Assert.Equal("3", fields["COUNT"]);
        Assert.Equal("ab12", fields["RUN_ID"]);
        Assert.Equal("keeper", fields["DF_AGENT"]);
        Assert.Equal("0f3a9c", fields["DF_RUN_ID"]);
        Assert.DoesNotContain(fields.Keys, k => k.Contains("ORIGINAL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_daemon_under_journald_sends_a_crash_with_the_agent_and_run_as_fields()
    {
        var path = Path.Combine(_root, "journal.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        var entries = new List<Dictionary<string, string>>();
        using var stop = new CancellationTokenSource();
        var receiver = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!stop.IsCancellationRequested)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                lock (entries)
                {
                    entries.Add(Parse(buffer[..n]));
                }
            }
        });

        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: crasher
                layer: growth
                command: ["{DaemonProcess.Agent("exit.sh")}", "3"]
                restart: temporary
                grace: 2s
            """);
        daemon.Environment["JOURNAL_STREAM"] = "8:12345";
        daemon.Environment["DF_JOURNAL_SOCKET"] = path;
        await daemon.StartAsync();
        Assert.Equal(0, (await daemon.Df("run", "crasher")).Exit);

        Dictionary<string, string>? Crash()
        {
            lock (entries)
            {
                return entries.FirstOrDefault(e => e.GetValueOrDefault("DF_AGENT") == "crasher" && e["MESSAGE"].Contains("crashed", StringComparison.Ordinal));
            }
        }

        await DaemonProcess.Until(() => Task.FromResult(Crash() is not null), TimeSpan.FromSeconds(30), "the crash in the journal");
        var crash = Crash()!;
        Assert.Equal("4", crash["PRIORITY"]);
        Assert.Matches("^[0-9a-f]+$", crash["DF_RUN_ID"]);
        lock (entries)
        {
            Assert.Contains(entries, e => e["MESSAGE"].Contains("listening on", StringComparison.Ordinal) && e.ContainsKey("URL") && e["PRIORITY"] == "6");
        }

        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
        Assert.False(File.Exists(Path.Combine(daemon.DataDir, "logs", DaemonLogFile.FileFor(DateOnly.FromDateTime(DateTime.UtcNow))))); // journald keeps the log
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiver);
    }
}
