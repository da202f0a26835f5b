using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Output;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.Output;

/// <summary>
/// Issue 14, finding 3: a secret printed across the pump's read boundaries (its 2 KiB / 64 KiB / 128 KiB
/// buffers, a long line, a write split by a flush) must be masked in the log file and in the lines sent
/// on, exactly as if the output had been read in one piece. The pump reads a stream that hands out the
/// bytes in the pieces the test chooses.
/// </summary>
public sealed class ChunkRedactionTests : TestKit
{
    private const string Secret = "sk-live-0123456789abcdef0123456789abcdef";
    private static readonly Redactor Secrets = new([Secret, "short-pw", Secret[..20]]);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-chunks-").FullName;

    /// <summary>Pumps <paramref name="text"/> in the given pieces; the log file's text and the lines sent on.</summary>
    private async Task<(string Log, List<string> Lines)> Pump(string text, IReadOnlyList<int> cuts, string name)
    {
        var path = Path.Combine(_dir, name + ".log");
        var lines = new List<string>();
        using (var sink = new LogSink(path, maxBytes: long.MaxValue))
        {
            var probe = CreateTestProbe();
            var credits = new RunCredits(1_000_000, flow: null);
            var pump = new OutputPump(new PiecewiseStream(Encoding.UTF8.GetBytes(text), cuts), OutputStream.Stdout, sink, Secrets, probe.Ref, credits, (_, _) => OutputKind.Text);
            _ = pump.Run(CancellationToken.None);
            while (true)
            {
                var msg = await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(30));
                if (msg is OutputChunk chunk)
                {
                    lines.AddRange(chunk.Lines.Select(l => l.Text));
                }
                else if (msg is OutputStreamEnded)
                {
                    break;
                }
            }
        }

        return (File.ReadAllText(path), lines);
    }

    /// <summary>Around each buffer size and at every offset of the secret across it.</summary>
    public static TheoryData<int, bool> Boundaries()
    {
        var data = new TheoryData<int, bool>();
        foreach (var boundary in new[] { 2 * 1024, 64 * 1024, 128 * 1024 })
        {
            foreach (var longLine in new[] { true, false })
            {
                data.Add(boundary, longLine);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Boundaries))]
    public async Task A_secret_across_a_read_boundary_is_masked_at_every_offset(int boundary, bool longLine)
    {
        for (var offset = -Secret.Length - 1; offset <= 1; offset++)
        {
            // the secret starts `offset` bytes before the boundary (it straddles it for -len < offset < 0)
            var start = boundary + offset;
            var filler = longLine ? new string('a', start) : string.Concat(Enumerable.Repeat("0123456789abcde\n", (start / 16) + 1))[..start];
            var text = filler + Secret + " tail\nafter " + Secret + "\n";
            var (log, lines) = await Pump(text, [boundary, boundary + 7, boundary + Secret.Length], $"b{boundary}-{longLine}-{offset}");

            Assert.DoesNotContain(Secret[..20], log); // not even its first part (also a secret here)
            Assert.DoesNotContain("0123456789abcdef0123456789abcdef", log); // nor its last
            Assert.Equal(2, CountOf(log, "***"));
            Assert.All(lines, l => Assert.DoesNotContain("0123456789abcdef0123", l));
            Assert.Equal(2, lines.Sum(l => CountOf(l, "***")));
        }
    }

    [Fact]
    public async Task A_secret_written_in_pieces_with_flushes_between_is_masked()
    {
        var text = "key=" + Secret + "\npassword short-pw done\n";
        var cuts = Enumerable.Range(1, text.Length - 1).ToList(); // one byte per read
        var (log, lines) = await Pump(text, cuts, "bytewise");

        Assert.Equal("key=***\npassword *** done\n", log);
        Assert.Equal(["key=***", "password *** done"], lines);
    }

    [Fact]
    public async Task Output_that_only_resembles_a_secret_at_the_end_of_the_stream_is_kept()
    {
        var text = "almost " + Secret[..30];
        var (log, lines) = await Pump(text, [10, 20], "prefix");

        Assert.Equal("almost ***" + Secret[20..30] + "\n", log); // its first 20 bytes are a secret of their own
        Assert.Equal(["almost ***" + Secret[20..30]], lines);
    }

    [Fact]
    public void Streaming_redaction_equals_redaction_of_the_whole_at_every_cut()
    {
        var text = Encoding.UTF8.GetBytes("x" + Secret + "yy short-pw" + Secret[..20] + "z" + Secret + Secret);
        var whole = Encoding.UTF8.GetString(Secrets.Redact(text).Span);
        for (var cut = 0; cut <= text.Length; cut++)
        {
            var output = new List<byte>();
            var pending = new List<byte>();
            foreach (var piece in new[] { text[..cut], text[cut..] })
            {
                pending.AddRange(piece);
                var (block, consumed) = Secrets.Redact(pending.ToArray(), pending.Count, final: false);
                output.AddRange(block.ToArray());
                pending.RemoveRange(0, consumed);
            }

            output.AddRange(Secrets.Redact(pending.ToArray(), pending.Count, final: true).Block.ToArray());
            Assert.Equal(whole, Encoding.UTF8.GetString(output.ToArray()));
        }
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
