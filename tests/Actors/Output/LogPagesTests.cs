using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Output;
using DarkFactory.Messages.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Output;

/// <summary>
/// Another node's <c>df logs</c> reads an agent's log here in pages: the tail's start, pages that put the log back
/// together, a rotated file read from its start; and the reader's bounds, attacked: a page is never larger than
/// <see cref="ReadLog.PageBytes"/> whatever is asked, and a name that is not an agent's reads nothing.
/// </summary>
public sealed class LogPagesTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-logpages-").FullName;

    public LogPagesTests(ITestOutputHelper output)
        : base(output: output)
    {
    }

    [Fact]
    public void Pages_from_the_tails_start_put_the_last_lines_back_together()
    {
        var path = Path.Combine(_dir, "a.log");
        var lines = Enumerable.Range(1, 20_000).Select(i => $"line {i}").ToList();
        File.WriteAllText(path, string.Join('\n', lines) + "\n");

        var (start, length) = LogPages.TailStart(path, 10_000);
        Assert.Equal(new FileInfo(path).Length, length);

        var text = new StringBuilder();
        long? from = null;
        var pages = 0;
        while (true)
        {
            var page = LogPages.Read("a", path, from, 10_000, 4096);
            Assert.True(page.Bytes.Length <= 4096);
            if (from is null)
            {
                Assert.Equal(start, page.Start);
            }

            if (page.Bytes.Length == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(page.Bytes));
            from = page.Next;
            pages++;
        }

        Assert.Equal(string.Join('\n', lines.Skip(10_000)) + "\n", text.ToString());
        Assert.True(pages > 10, $"{pages} pages");
        Assert.Equal((0L, 0L), LogPages.TailStart(Path.Combine(_dir, "missing.log"), 5));
        Assert.Empty(LogPages.Read("a", Path.Combine(_dir, "missing.log"), null, 5, 4096).Bytes);
    }

    [Fact]
    public void A_file_shorter_than_the_offset_asked_for_was_rotated_and_is_read_from_its_start()
    {
        var path = Path.Combine(_dir, "a.log");
        File.WriteAllText(path, "after rotation\n");

        var page = LogPages.Read("a", path, 1_000_000, 0, 4096);

        Assert.Equal(0, page.Start);
        Assert.Equal("after rotation\n", Encoding.UTF8.GetString(page.Bytes));
        Assert.Equal(page.Length, page.Next);
    }

    [Fact]
    public async Task The_reader_caps_every_page_and_refuses_a_name_that_is_not_an_agents()
    {
        var path = Path.Combine(_dir, "a.log");
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(new string('x', 200_000) + "\n"));
        var reader = Sys.ActorOf(LogReaderActor.Props(name => name == "a" ? path : null));

        // a peer asking for the whole file in one page (past Akka.Remote's frame) gets one capped page
        var page = await reader.Ask<LogPage>(new ReadLog("a", 0, MaxBytes: int.MaxValue), Wait);
        Assert.Equal(ReadLog.PageBytes, page.Bytes.Length);
        var tail = await reader.Ask<LogPage>(new ReadLog("a", null, Tail: int.MaxValue, MaxBytes: -5), Wait);
        Assert.Single(tail.Bytes);

        var refused = await reader.Ask<LogPage>(new ReadLog("../../etc/passwd", 0), Wait);
        Assert.Empty(refused.Bytes);
        Assert.Equal("no agent named '../../etc/passwd' in this node's fleet", refused.Refused);
    }

    public new void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
