using System.Diagnostics;
using DarkFactory.Actors.Processes;
using DarkFactory.Host.Daemon;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Issue 15, findings 6 and 7: a broken data directory is one line naming the file and what to do (exit 1,
/// no unhandled exception, no silent new history), and the directory's identity does not depend on how its
/// path was spelled.
/// </summary>
[Collection("daemon")]
public sealed class DataDirectoryFaultTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("df-datadir-").FullName;

    private static string Fleet => $"""
        version: 1
        agents:
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 1s
        """;

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

    /// <summary>A data directory that a daemon used and stopped (a real store, a stamp, a token), kept outside the daemon's root.</summary>
    private async Task<string> UsedDirectory()
    {
        var kept = Path.Combine(_root, "used");
        Directory.CreateDirectory(Path.Combine(_root, "first"));
        await using (var daemon = new DaemonProcess(Fleet, Path.Combine(_root, "first", "data")))
        {
            await daemon.StartAsync();
            await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
            Assert.Equal(0, await daemon.StopAsync(Wait));
            Copy(daemon.DataDir, kept);
        }

        Assert.True(new FileInfo(Path.Combine(kept, "darkfactory.db")).Length > 0);
        return kept;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    /// <summary>A copy of <paramref name="used"/> (a daemon's root is removed when it is disposed) with its store changed.</summary>
    private string Case(string used, string name, Action<string> change)
    {
        var dir = Path.Combine(_root, name, "data");
        Copy(used, dir);
        foreach (var wal in Directory.GetFiles(dir, "darkfactory.db-*"))
        {
            File.Delete(wal); // checkpointed at the clean stop: the main file is the store
        }

        change(Path.Combine(dir, "darkfactory.db"));
        return dir;
    }

    /// <summary>Starts a daemon that must refuse: exit 1 and one line naming <paramref name="file"/>, no stack trace.</summary>
    private static async Task<string> Refused(string dir, string file, params string[] says)
    {
        await using var daemon = new DaemonProcess(Fleet, dir);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(daemon.StartAsync);
        Assert.StartsWith("daemon exited with 1:", e.Message, StringComparison.Ordinal);
        var line = Assert.Single(daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("df: ", StringComparison.Ordinal));
        Assert.Contains(file, line, StringComparison.Ordinal);
        foreach (var word in says)
        {
            Assert.Contains(word, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", daemon.Output, StringComparison.Ordinal);
        return line;
    }

    private static void Overwrite(string file, long offset, int count)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.Write(Enumerable.Range(0, count).Select(i => (byte)(0xA5 ^ i)).ToArray());
    }

    [Fact]
    public async Task A_garbage_truncated_corrupted_or_emptied_store_is_refused_in_one_line_naming_the_file()
    {
        var used = await UsedDirectory();
        var good = File.ReadAllBytes(Path.Combine(used, "darkfactory.db"));

        // garbage; truncated to half; corrupted inner pages (the header intact): a damaged file, restore a backup
        foreach (var (name, change) in new (string, Action<string>)[]
        {
            ("garbage", db => File.WriteAllBytes(db, Enumerable.Range(0, good.Length).Select(i => (byte)(i * 31)).ToArray())),
            ("truncated", db => File.WriteAllBytes(db, good[..(good.Length / 2)])),
            ("pages", db => Overwrite(db, 4096 + 100, Math.Min(8000, good.Length - 4200))),
        })
        {
            var dir = Case(used, name, change);
            await Refused(dir, Path.Combine(dir, "darkfactory.db"), "restore");
        }

        // zero bytes or gone: a silent new history before; now refused unless asked for
        var empty = Case(used, "empty", db => File.WriteAllBytes(db, []));
        await Refused(empty, Path.Combine(empty, "darkfactory.db"), "--allow-empty-store");
        var gone = Case(used, "gone", File.Delete);
        await Refused(gone, Path.Combine(gone, "darkfactory.db"), "--allow-empty-store");

        var asked = Case(used, "asked", db => File.WriteAllBytes(db, []));
        await using var fresh = new DaemonProcess(Fleet, asked);
        fresh.UpArguments.Add("--allow-empty-store");
        await fresh.StartAsync();
        await DaemonProcess.Until(async () => (await fresh.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running on the new history");
    }

    [Fact]
    public async Task A_data_directory_path_that_is_a_file_is_one_line_not_a_crash()
    {
        var file = Path.Combine(_root, "not-a-dir");
        Directory.CreateDirectory(_root);
        File.WriteAllText(file, "x");

        await Refused(file, "not-a-dir");
    }

    [Fact]
    public async Task Started_through_a_symlink_killed_and_restarted_by_the_real_path_the_orphans_are_swept()
    {
        var real = Path.Combine(_root, "real", "data");
        Directory.CreateDirectory(real);
        var link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, Path.GetDirectoryName(real)!);
        var viaLink = Path.Combine(link, "data");
        Assert.Equal(new DataDirectory(real).Path, new DataDirectory(viaLink).Path);

        // arrange: a daemon on the symlinked spelling, killed hard with its agent running
        int orphan;
        await using (var first = new DaemonProcess(Fleet, viaLink))
        {
            await first.StartAsync();
            await DaemonProcess.Until(async () => (await first.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
            orphan = (await first.AgentAsync("keeper")).GetProperty("pid").GetInt32();
            first.KillHardWithoutLifeline();
            Assert.True(Native.Kill(orphan, 0) == 0, "the agent outlived its daemon (the case to sweep)");

            // act: the same directory by its real path
            await using var second = new DaemonProcess(Fleet, real);
            Assert.Equal(first.DaemonId, second.DaemonId);
            await second.StartAsync();
            await DaemonProcess.Until(async () => (await second.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running again");

            // assert: the orphan was swept; the agent runs once
            await DaemonProcess.Until(() => Task.FromResult(Native.Kill(orphan, 0) != 0 || IsZombie(orphan)), Wait, "the orphan swept");
            Assert.Single(ProcessTree.MarkersOf(second.DaemonId + "/keeper/")); // the processes of one run (a sandbox adds its wrapper)

        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].TrimStart().StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }
}
