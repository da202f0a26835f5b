using System.Text;
using DarkFactory.Actors.Output;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Output;

public sealed class RedactorTests
{
    [Fact]
    public void Replaces_every_secret_occurrence()
    {
        var redactor = new Redactor(["sk-live-123456", "hunter22"]);
        var output = redactor.Redact(Encoding.UTF8.GetBytes("key=sk-live-123456 pw=hunter22 again sk-live-123456\n"));
        Assert.Equal("key=*** pw=*** again ***\n", Encoding.UTF8.GetString(output.Span));
    }

    [Fact]
    public void Text_without_secrets_is_returned_as_is()
    {
        var redactor = new Redactor(["sk-live-123456"]);
        var input = Encoding.UTF8.GetBytes("nothing to see\n");
        var output = redactor.Redact(input);
        Assert.True(output.Span.SequenceEqual(input));
        Assert.Equal("plain", redactor.Redact("plain"));
    }

    [Fact]
    public void Very_short_values_are_not_treated_as_secrets()
    {
        Assert.True(new Redactor(["ab", ""]).IsEmpty);
    }
}

public sealed class LogSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-log-").FullName;

    [Fact]
    public void Rotates_by_size_keeping_the_configured_number_of_files()
    {
        var path = Path.Combine(_dir, "a.log");
        using (var sink = new LogSink(path, maxBytes: 100, keep: 2))
        {
            for (var i = 0; i < 10; i++)
            {
                sink.Write(Encoding.UTF8.GetBytes(new string((char)('a' + i), 59) + "\n"));
            }
        }

        Assert.True(File.Exists(path + ".1"));
        Assert.True(File.Exists(path + ".2"));
        Assert.False(File.Exists(path + ".3"));
        Assert.True(new FileInfo(path).Length < 100);
        Assert.StartsWith("j", File.ReadAllText(path));
    }

    [Fact]
    public void An_agents_declared_retention_is_taken_by_its_shared_sink_from_the_next_write()
    {
        using var sinks = new LogSinks(_dir);
        var first = sinks.For("c");
        Assert.Same(first, sinks.For("c", new LogRetention { MaxBytes = 100, Keep = 0 }));
        for (var i = 0; i < 10; i++)
        {
            first.Write(Encoding.UTF8.GetBytes(new string((char)('a' + i), 59) + "\n"));
        }

        // keep 0: only the current file, never more than max_size
        var path = Path.Combine(_dir, "c.log");
        Assert.False(File.Exists(path + ".1"));
        Assert.Equal("jjj", File.ReadAllText(path)[..3]);

        // a larger retention for the next run: everything of it is kept in one file
        sinks.For("c", new LogRetention { MaxBytes = 1L << 20, Keep = 1 });
        for (var i = 0; i < 100; i++)
        {
            first.Write(Encoding.UTF8.GetBytes(new string('x', 59) + "\n"));
        }

        Assert.False(File.Exists(path + ".1"));
        Assert.Equal(60 + (100 * 60), new FileInfo(path).Length);
    }

    [Fact]
    public void A_write_larger_than_what_is_left_is_split_at_a_line_so_no_file_passes_max_size()
    {
        var path = Path.Combine(_dir, "d.log");
        using var sink = new LogSink(path, maxBytes: 100, keep: 2);
        sink.Write(Encoding.UTF8.GetBytes(new string('a', 29) + "\n"));

        // 9 lines of 30 bytes and one of 250 in one write: files of at most 100 bytes, the long line cut
        var block = string.Concat(Enumerable.Range(1, 9).Select(i => new string((char)('0' + i), 29) + "\n")) + new string('z', 249) + "\n";
        sink.Write(Encoding.UTF8.GetBytes(block));

        var files = new[] { path, path + ".1", path + ".2" };
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 100));
        Assert.False(File.Exists(path + ".3"));
        Assert.Equal(new string('z', 49) + "\n", File.ReadAllText(path));
        Assert.Equal(new string('z', 100), File.ReadAllText(path + ".1"));
        Assert.Equal(new string('z', 100), File.ReadAllText(path + ".2"));
    }

    [Fact]
    public void A_log_moved_away_from_outside_is_written_again_at_its_path()
    {
        var path = Path.Combine(_dir, "b.log");
        using var sink = new LogSink(path);
        sink.WriteLine("before");
        File.Move(path, path + ".old");

        sink.WriteLine("after");

        Assert.Equal("after\n", File.ReadAllText(path));
        Assert.Equal("before\n", File.ReadAllText(path + ".old"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
