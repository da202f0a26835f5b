using DarkFactory.Actors.Tests.Support;
using DarkFactory.Host.Daemon;
using Microsoft.Extensions.Logging;
using Xunit;

namespace DarkFactory.Host.Tests.Ops;

/// <summary>The daemon's log files when no journald takes the log: one a day, the retention's worth kept.</summary>
public sealed class DaemonLogFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-daemon-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Each_utc_day_gets_its_own_file_and_files_past_the_retention_are_deleted_at_the_roll()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 6, 23, 59, 0, TimeSpan.Zero));
        foreach (var old in new[] { "2026-11-05", "2026-11-06", "2026-11-07", "2026-12-05" })
        {
            File.WriteAllText(Path.Combine(_dir, $"daemon-{old}.log"), "old\n");
        }

        File.WriteAllText(Path.Combine(_dir, "keeper.log"), "an agent's log is not the daemon's\n");
        using (var file = new DaemonLogFile(_dir, retentionDays: 30, clock))
        {
            var logger = file.CreateLogger("DarkFactory.Daemon");
            logger.LogInformation("before midnight");

            // 30 days kept on 2026-12-06: 2026-11-06 and older go
            Assert.Equal(["daemon-2026-11-07.log", "daemon-2026-12-05.log", "daemon-2026-12-06.log", "keeper.log"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());

            clock.Advance(TimeSpan.FromMinutes(2));
            logger.LogWarning("after midnight");
            Assert.Equal(["daemon-2026-12-05.log", "daemon-2026-12-06.log", "daemon-2026-12-07.log", "keeper.log"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
        }

        Assert.EndsWith("info DarkFactory.Daemon: before midnight\n", File.ReadAllText(Path.Combine(_dir, "daemon-2026-12-06.log")));
        Assert.Equal("2026-12-07T00:01:00.000Z warn DarkFactory.Daemon: after midnight\n", File.ReadAllText(Path.Combine(_dir, "daemon-2026-12-07.log")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "daemon-2026-12-07.log")));
    }
}
