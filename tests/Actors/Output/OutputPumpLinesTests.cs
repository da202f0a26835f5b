using System.Text;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Output;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.Output;

/// <summary>
/// The pump's line splitting (issue 18): an all-ASCII block is widened byte for char, any other block decoded as
/// UTF-8, so the lines sent on are the text the agent printed whatever mix of blocks a read hands over, nothing is
/// lost or reordered, and the log keeps the bytes as printed.
/// </summary>
public sealed class OutputPumpLinesTests : TestKit
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-pump-lines-").FullName;

    /// <param name="plain">A plain command's classifier: the pump sends <see cref="LineBatch"/>es (bytes, no string per line).</param>
    private async Task<(byte[] Log, List<OutputLine> Lines)> Pump(byte[] data, IReadOnlyList<int> cuts, string name, bool plain = false)
    {
        var path = Path.Combine(_dir, name + ".log");
        var lines = new List<OutputLine>();
        using (var sink = new LogSink(path, maxBytes: long.MaxValue))
        {
            var probe = CreateTestProbe();
            var credits = new RunCredits(1_000_000, flow: null);
            var classify = plain ? CliAdapters.PlainText : (OutputStream _, string text) => text.StartsWith("error", StringComparison.Ordinal) ? OutputKind.Error : OutputKind.Text;
            var pump = new OutputPump(new PiecewiseStream(data, cuts), OutputStream.Stderr, sink, Redactor.None, probe.Ref, credits, classify);
            _ = pump.Run(CancellationToken.None);
            while (true)
            {
                var msg = await probe.ExpectMsgAsync<object>(TimeSpan.FromSeconds(30));
                if (msg is OutputChunk chunk)
                {
                    Assert.Equal(plain, chunk.Lines is LineBatch);
                    if (chunk.Lines is LineBatch batch)
                    {
                        // its lines as chars and as bytes are the strings it makes
                        var scratch = new char[1];
                        for (var i = 0; i < batch.Count; i++)
                        {
                            Assert.Equal(batch.Text(i), batch.Chars(i, ref scratch).ToString());
                            Assert.Equal(batch.Text(i), Encoding.UTF8.GetString(batch.Bytes(i)));
                        }
                    }

                    lines.AddRange(chunk.Lines);
                }
                else if (msg is OutputStreamEnded)
                {
                    break;
                }
            }
        }

        return (File.ReadAllBytes(path), lines);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ascii_and_utf8_blocks_in_any_mix_become_the_lines_as_printed_in_order(bool plain)
    {
        string[] printed = ["plain ascii", "héllo wörld", "日本語のテキスト", "error: emoji 🚀 done", "crlf line", "", "ascii again", "ends in ü"];
        var text = string.Join("\n", printed.Select((l, i) => l == "crlf line" ? l + "\r" : l)) + "\n";
        var data = Encoding.UTF8.GetBytes(text);

        // one read for all, a read per line (ASCII-only blocks beside UTF-8 ones), and a byte per read (a character cut in two)
        var lineEnds = Enumerable.Range(0, data.Length).Where(i => data[i] == (byte)'\n').Select(i => i + 1).ToList();
        foreach (var (cuts, name) in new[] { (new List<int>(), "whole"), (lineEnds, "lines"), (Enumerable.Range(1, data.Length - 1).ToList(), "bytes") })
        {
            var (log, lines) = await Pump(data, cuts, name + plain, plain);

            Assert.Equal(data, log);
            Assert.Equal(printed, lines.Select(l => l.Text));
            Assert.All(lines, l => Assert.Equal(OutputStream.Stderr, l.Stream));
            Assert.Equal(plain ? OutputKind.Text : OutputKind.Error, lines[3].Kind);
            Assert.Equal(OutputKind.Text, lines[0].Kind);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bytes_that_are_not_utf8_are_decoded_as_utf8_decodes_them_never_as_latin1(bool plain)
    {
        byte[] data = [.. "ok\n"u8, .. "bad "u8, 0xFF, 0xC3, .. " end\n"u8, .. "caf"u8, 0xC3, 0xA9, (byte)'\n'];
        var (log, lines) = await Pump(data, [], "invalid" + plain, plain);

        Assert.Equal(data, log);
        Assert.Equal(["ok", "bad \uFFFD\uFFFD end", "café"], lines.Select(l => l.Text));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_flood_of_ascii_lines_arrives_whole_and_in_order(bool plain)
    {
        var printed = Enumerable.Range(0, 20_000).Select(i => $"line {i:D6} " + new string('x', i % 97)).ToList();
        var data = Encoding.ASCII.GetBytes(string.Concat(printed.Select(l => l + "\n")));
        var (log, lines) = await Pump(data, [1000, 70_000, 200_000, 200_001], "flood" + plain, plain);

        Assert.Equal(data, log);
        Assert.Equal(printed, lines.Select(l => l.Text));
    }

    [Fact]
    public async Task A_plain_commands_long_lines_are_cut_into_batches_only_at_line_ends()
    {
        string[] printed = ["before", new string('y', 40_000), new string('z', 40_000) + "\r", "after", "", new string('w', 60_000), "last without a newline"];
        var data = Encoding.ASCII.GetBytes(string.Join("\n", printed));
        printed[2] = printed[2].TrimEnd('\r');
        var (log, lines) = await Pump(data, [3, 65_000, 99_999], "long", plain: true);

        Assert.Equal([.. data, (byte)'\n'], log); // the pump ends the last line in the log
        Assert.Equal(printed, lines.Select(l => l.Text));
    }

    [Fact]
    public async Task A_quiet_agents_pump_holds_no_read_buffer_until_it_prints_again()
    {
        // a real process's pipe: a line, silence until told (its stdin), a line, the end
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "echo first; read x; echo second"]) { RedirectStandardOutput = true, RedirectStandardInput = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        using var sink = new LogSink(Path.Combine(_dir, "quiet.log"), maxBytes: long.MaxValue);
        var probe = CreateTestProbe();
        var pump = new OutputPump(process.StandardOutput.BaseStream, OutputStream.Stdout, sink, Redactor.None, probe.Ref, new RunCredits(16, flow: null), CliAdapters.PlainText);
        _ = pump.Run(CancellationToken.None);

        Assert.Equal("first", (await probe.ExpectMsgAsync<OutputChunk>(TimeSpan.FromSeconds(30))).Lines.Single().Text);
        await AwaitConditionAsync(() => Task.FromResult(!pump.Holding), TimeSpan.FromSeconds(30)); // quiet: it waits with nothing rented

        await process.StandardInput.WriteLineAsync("go");
        await process.StandardInput.FlushAsync();
        Assert.Equal("second", (await probe.ExpectMsgAsync<OutputChunk>(TimeSpan.FromSeconds(30))).Lines.Single().Text);
        await probe.ExpectMsgAsync<OutputStreamEnded>(TimeSpan.FromSeconds(30));
        Assert.False(pump.Holding);
        Assert.Equal("first\nsecond\n", File.ReadAllText(Path.Combine(_dir, "quiet.log")));
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
