using DarkFactory.Actors.Supervision;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// Queued runs' tasks on disk (<see cref="TaskSpill"/>): each comes back exactly as it was given, whatever it holds;
/// its file is the run's own (owner-only, a random name in the daemon's own directory) and goes when it is read back
/// or dropped; a daemon's start empties what a killed one left.
/// </summary>
public sealed class TaskSpillTests : IDisposable
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _data = Directory.CreateTempSubdirectory("df-spill-").FullName;

    private TaskSpill Spill() => TaskSpill.Prepare(_data, out _);

    public static TheoryData<string> Hostile => new()
    {
        "",
        "plain task",
        "../../../../etc/passwd",
        "/tmp/x\n../queued-tasks/other.task",
        "nul \0 in the middle\0",
        "invalid UTF-16: a lone surrogate \ud800 and a reversed pair \udc00\ud800",
        "ünïcødé ✓ 𝄞 and a BOM \ufeff at the start of nothing",
        new string('x', 1024 * 1024),
        new string('\ud800', 4096),
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_task_comes_back_exactly_as_given_and_its_file_goes(string task)
    {
        var spill = Spill();
        var spilled = spill.Spill(task);

        Assert.Equal(Path.Combine(_data, TaskSpill.DirectoryName), Path.GetDirectoryName(spilled.Path));
        Assert.Matches("^[0-9a-f]{32}\\.task$", Path.GetFileName(spilled.Path));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(spilled.Path));
        Assert.Equal((1L, new FileInfo(spilled.Path).Length), (spill.Files, spill.Bytes));
        Assert.DoesNotContain(task.Length > 0 ? task[..Math.Min(task.Length, 20)] : "\u0001", spilled.ToString(), StringComparison.Ordinal);

        Assert.Equal(task, spilled.Take());
        Assert.False(File.Exists(spilled.Path));
        Assert.Equal((0L, 0L), (spill.Files, spill.Bytes));
    }

    [Fact]
    public void The_directory_is_owner_only_and_a_start_empties_what_a_killed_daemon_left()
    {
        var first = Spill();
        first.Spill("left by a killed daemon");
        first.Spill("another");
        Directory.CreateDirectory(Path.Combine(first.Directory, "stray"));

        var second = TaskSpill.Prepare(_data, out var swept);

        Assert.Equal(3, swept);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.Directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(second.Directory));
    }

    [Fact]
    public void A_directory_replaced_by_a_symbolic_link_is_refused_and_what_it_points_at_is_untouched()
    {
        var elsewhere = Directory.CreateTempSubdirectory("df-elsewhere-").FullName;
        File.WriteAllText(Path.Combine(elsewhere, "precious"), "keep me");
        Directory.CreateSymbolicLink(Path.Combine(_data, TaskSpill.DirectoryName), elsewhere);
        try
        {
            var refused = Assert.Throws<IOException>(() => TaskSpill.Prepare(_data, out _));

            Assert.Contains("symbolic link", refused.Message);
            Assert.True(File.Exists(Path.Combine(elsewhere, "precious")));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void Each_task_has_its_own_file_and_taking_or_dropping_one_leaves_the_others_whole()
    {
        var spill = Spill();
        var tasks = Enumerable.Range(0, 50).Select(i => $"task {i}: " + new string((char)('a' + (i % 26)), i * 100)).ToList();
        var spilled = tasks.Select(spill.Spill).ToList();
        Assert.Equal(50, spilled.Select(s => s.Path).Distinct().Count());

        spilled[7].Dispose();
        spilled[7].Dispose(); // dropping twice counts once
        Assert.Equal(tasks[8], spilled[8].Take());

        Assert.Equal(48L, spill.Files);
        Assert.Equal(tasks.Where((_, i) => i is not (7 or 8)), spilled.Where((_, i) => i is not (7 or 8)).Select(s => s.Take()));
        Assert.Equal((0L, 0L), (spill.Files, spill.Bytes));
        Assert.Empty(Directory.EnumerateFileSystemEntries(spill.Directory));
    }

    [Fact]
    public void A_file_changed_or_removed_behind_the_daemon_is_an_error_never_another_text()
    {
        var spill = Spill();
        var truncated = spill.Spill("a task of some length");
        File.WriteAllText(truncated.Path, "\u0001a task");
        var garbage = spill.Spill("another task");
        File.WriteAllBytes(garbage.Path, [9, 9, 9]);
        var gone = spill.Spill("a third");
        File.Delete(gone.Path);
        var invalid = spill.Spill("four");
        File.WriteAllBytes(invalid.Path, [1, 0xff, 0xfe, 0xfd, 0xfc]);

        foreach (var bad in new[] { truncated, garbage, gone, invalid })
        {
            Assert.ThrowsAny<IOException>(bad.Take);
            Assert.False(File.Exists(bad.Path));
        }

        Assert.Equal(0L, spill.Files);
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public void A_queued_runs_task_goes_to_disk_and_back_and_a_file_that_is_gone_is_an_error_not_an_exception()
    {
        var spec = new DarkFactory.Messages.Fleet.AgentSpec { Name = "coder" };
        var request = new RunRequest(spec) { Task = "fix the parser" };

        Assert.Same(request, QueuedRuns.Spill(null, request, out var none));
        Assert.Null(none);
        var queued = QueuedRuns.Spill(Spill(), request, out var error);
        Assert.Null(error);
        Assert.Null(queued.Task);
        var back = QueuedRuns.Unspill(queued, out error);
        Assert.Equal("fix the parser", back!.Task);
        Assert.Null(back.Spilled);
        Assert.Null(error);

        var lost = QueuedRuns.Spill(Spill(), request, out _);
        File.Delete(lost.Spilled!.Path); // the disk lost it meanwhile

        Assert.Null(QueuedRuns.Unspill(lost, out error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
