using DarkFactory.Actors.Output;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Host.Daemon;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>Issue 15, finding 10: readiness checks that fail when the journal or the disk would.</summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-ready-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_store_that_takes_a_write_is_ready()
    {
        var check = Readiness.SqliteJournal($"Data Source={Path.Combine(_dir, "ok.db")};Pooling=False");

        Assert.True(check.Ok, check.Detail);
        Assert.Equal("journal", check.Name);
    }

    [Fact]
    public void A_garbage_store_is_not_ready_and_says_why()
    {
        var path = Path.Combine(_dir, "garbage.db");
        File.WriteAllBytes(path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());

        var check = Readiness.SqliteJournal($"Data Source={path};Pooling=False");

        Assert.False(check.Ok);
        Assert.StartsWith("the store does not take writes: ", check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', check.Detail);
    }

    [Fact]
    public void A_store_opened_read_only_is_not_ready()
    {
        var path = Path.Combine(_dir, "ro.db");
        Assert.True(Readiness.SqliteJournal($"Data Source={path};Pooling=False").Ok);

        var check = Readiness.SqliteJournal($"Data Source={path};Mode=ReadOnly;Pooling=False");

        Assert.False(check.Ok);
    }

    [Fact]
    public void The_disk_is_ready_with_room_and_not_without()
    {
        Assert.True(Readiness.Disk(_dir, minFree: 1).Ok);

        var full = Readiness.Disk(_dir, minFree: long.MaxValue);

        Assert.False(full.Ok);
        Assert.Contains("MiB free", full.Detail, StringComparison.Ordinal);
    }

    [FullDiskFact]
    public void The_logs_check_fails_while_an_agent_log_takes_no_writes_and_passes_once_space_returns()
    {
        // issue 15, finding 4: a real full file system (a small tmpfs), an agent's log on it
        using var disk = SmallFileSystem.Mount(Path.Combine(_dir, "logs"), 256 * 1024);
        var faults = new LogWriteFaults();
        using var sink = new LogSink(Path.Combine(disk.Path, "flood.log"), faults: faults);
        Assert.True(Readiness.Logs(faults).Ok);
        disk.Fill();
        sink.WriteLine(new string('x', 10_000));

        var failing = Readiness.Logs(faults);

        Assert.False(failing.Ok);
        Assert.Contains("1 agent log(s) take no writes (flood.log)", failing.Detail, StringComparison.Ordinal);
        Assert.Contains("No space left on device", failing.Detail, StringComparison.Ordinal);
        Assert.Contains("10001 bytes of output not written", failing.Detail, StringComparison.Ordinal);

        disk.Free();
        var back = Readiness.Logs(faults); // the check tries the idle log again: nothing else writes to it

        Assert.True(back.Ok, back.Detail);
        Assert.Contains("10001 bytes were not written earlier", back.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_is_ready_only_when_every_check_passed_and_names_the_first_that_failed()
    {
        var ok = new ReadinessCheck("actors", true, "answers");
        var report = new ReadinessReport([ok, new ReadinessCheck("journal", false, "read-only"), new ReadinessCheck("disk", false, "full")], DateTimeOffset.UtcNow);

        Assert.False(report.Ready);
        Assert.Equal("journal: read-only", report.Reason);
        Assert.True(new ReadinessReport([ok], DateTimeOffset.UtcNow).Ready);
        Assert.Null(new ReadinessReport([ok], DateTimeOffset.UtcNow).Reason);
    }
}
