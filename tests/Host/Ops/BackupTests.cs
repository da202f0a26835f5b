using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using DarkFactory.Host.Tests.EndToEnd;
using DarkFactory.Host.Tests.Upgrade;
using Xunit;

namespace DarkFactory.Host.Tests.Ops;

/// <summary>`df backup` while the daemon runs and `df restore` into a new directory: every actor recovers the same state.</summary>
[Collection("daemon")]
public sealed class BackupTests : IDisposable
{
    private const string Fixture = "journal-2026-12";
    private readonly string _root = Directory.CreateTempSubdirectory("df-backup-test-").FullName;

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

    [Fact]
    public async Task A_backup_taken_while_the_daemon_writes_restores_into_a_fresh_directory_with_history_reviews_and_projects()
    {
        var source = Path.Combine(JournalFixtureTests.Fixtures, Fixture);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "expected.json")))!.AsObject();
        var writtenAt = expected["written_at"]!.GetValue<DateTimeOffset>();
        var fleet = JournalFixtureTests.ReadFleet(source);
        var archive = Path.Combine(_root, "df.tar.gz");
        string restored;

        var live = Path.Combine(Directory.CreateTempSubdirectory("df-backup-live-").FullName, "data");
        JournalFixtureTests.CopyDirectory(Path.Combine(source, "data"), live);
        await using (var daemon = new DaemonProcess(fleet, live))
        {
            await daemon.StartAsync();
            // state of a later feature the backup knows nothing about (projects): kept because it is in the directory
            Directory.CreateDirectory(Path.Combine(live, "projects", "demo"));
            File.WriteAllText(Path.Combine(live, "projects", "demo", "project.json"), """{"goal":"ship it"}""");
            File.WriteAllText(Path.Combine(live, "cluster-node.key"), "a cluster node's private key"); // as df up --node keeps it

            // the daemon keeps writing (an agent runs) while the backup is taken
            Assert.Equal(0, (await daemon.Df("run", "fixer")).Exit);
            await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/agents/fixer/history?limit=500")).EnumerateArray().Any(e => e.GetProperty("at").GetDateTimeOffset() > writtenAt), TimeSpan.FromSeconds(30), "the new run in fixer's history");
            var (exit, stdout, stderr) = await daemon.Df("backup", archive);
            Assert.True(exit == 0, stderr);
            Assert.Contains("(sqlite)", stdout);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(archive));

            // a non-empty target is refused and left as it was
            var occupied = Directory.CreateDirectory(Path.Combine(_root, "occupied")).FullName;
            File.WriteAllText(Path.Combine(occupied, "keep.txt"), "mine");
            var refused = await daemon.Df("restore", archive, "--data-dir", occupied);
            Assert.Equal(1, refused.Exit);
            Assert.Contains($"restore refused: {occupied} is not empty", refused.Stderr);
            Assert.Equal(["keep.txt"], Directory.GetFiles(occupied).Select(Path.GetFileName));

            restored = Path.Combine(Directory.CreateTempSubdirectory("df-backup-restored-").FullName, "data");
            var restore = await daemon.Df("restore", archive, "--data-dir", restored);
            Assert.True(restore.Exit == 0, restore.Stderr);
            Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
        }

        // the archive holds the store and the directory's state, never the daemon's token, address, lock, cluster key or logs
        var entries = Entries(archive);
        Assert.Contains("backup.json", entries);
        Assert.Contains("darkfactory.db", entries);
        Assert.Contains("projects/demo/project.json", entries);
        Assert.Contains(entries, e => e.StartsWith("reviews/", StringComparison.Ordinal) && e.EndsWith("/report.md", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e is "token" or "daemon.json" or "daemon.lock" or "cluster-node.key" || e.StartsWith("logs/", StringComparison.Ordinal) || e.Contains("-wal", StringComparison.Ordinal));
        Assert.Equal("""{"goal":"ship it"}""", File.ReadAllText(Path.Combine(restored, "projects", "demo", "project.json")));

        // every actor recovers from the restored directory with the state the fixture's own release showed
        await using (var daemon = new DaemonProcess(fleet, restored))
        {
            await daemon.StartAsync();
            var actual = await JournalFixtureTests.Observe(daemon, writtenAt);

            // fixer's run during the backup used its pending hint (recorded by Nightwatch): its drift moved on
            expected["drift"]!.AsObject().Remove("fixer");
            actual["drift"]!.AsObject().Remove("fixer");
            foreach (var key in new[] { "history", "costs_by_agent", "costs_by_provider", "switches", "escalations", "reviews", "drift" })
            {
                Assert.True(JsonNode.DeepEquals(expected[key], actual[key]), $"{key} differs after backup and restore\nexpected: {expected[key]?.ToJsonString()}\nactual:   {actual[key]?.ToJsonString()}");
            }

            // the run made while the backup was taken is in the restored history too
            var fixer = await daemon.ApiJson("/api/agents/fixer/history?limit=500");
            Assert.Contains(fixer.EnumerateArray(), e => e.GetProperty("at").GetDateTimeOffset() > writtenAt && e.GetProperty("kind").GetString() == "started");
            Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
        }
    }

    [Fact]
    public async Task An_archive_entry_that_points_outside_the_data_directory_is_refused_and_nothing_is_left()
    {
        var archive = Path.Combine(_root, "evil.tar.gz");
        using (var stream = File.Create(archive))
        using (var gzip = new GZipStream(stream, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "backup.json") { DataStream = new MemoryStream("""{"format":1,"release":"df","created_at":"2026-12-06T00:00:00Z","data_dir":"/x","store":"sqlite","files":1,"bytes":1}"""u8.ToArray()) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "../escaped.txt") { DataStream = new MemoryStream("x"u8.ToArray()) });
        }

        var target = Path.Combine(_root, "restored");
        await using var cli = new DaemonProcess("version: 1\nagents: []\n", Path.Combine(Directory.CreateDirectory(Path.Combine(_root, "unused")).FullName, "data"));
        var (exit, _, stderr) = await cli.Df("restore", archive, "--data-dir", target);

        Assert.Equal(1, exit);
        Assert.Contains("entry '../escaped.txt' points outside the data directory: refused", stderr);
        Assert.False(File.Exists(Path.Combine(_root, "escaped.txt")));
        Assert.False(Directory.Exists(target));
    }

    private static List<string> Entries(string archive)
    {
        using var stream = File.OpenRead(archive);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var names = new List<string>();
        while (tar.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        return names;
    }
}
