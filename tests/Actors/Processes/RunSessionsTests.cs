using DarkFactory.Actors.Processes;
using Xunit;

namespace DarkFactory.Actors.Tests.Processes;

/// <summary>
/// A run's CLI conversation kept for its task's next attempt (<see cref="RunSessions"/>): moved out at the run's end,
/// back in before the next spawn, at most four per agent, and never anything a hostile run points it at.
/// </summary>
public sealed class RunSessionsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("df-sessions-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string RunDirectory(string runId) => Directory.CreateDirectory(Path.Combine(_root, "engineer@p1", runId)).FullName;

    private static RunSession Session(string runDirectory, string runId, string? restore = null) =>
        new(Path.Combine(runDirectory, "home", ".claude", "projects"), RunSessions.KeepOf(runDirectory, runId), restore);

    [Fact]
    public void A_conversation_is_kept_at_the_end_and_restored_into_the_next_run()
    {
        var first = RunDirectory("r1");
        var session = Session(first, "r1");
        Directory.CreateDirectory(Path.Combine(session.State, "-work"));
        File.WriteAllText(Path.Combine(session.State, "-work", "s-1.jsonl"), "{\"turn\":1}");

        Assert.Empty(RunSessions.Save(session, first));
        Assert.False(Directory.Exists(session.State));
        var kept = RunSessions.Kept(first, "r1");
        Assert.Equal(Path.Combine(_root, "engineer@p1", RunSessions.Directory, "r1"), kept);

        var second = RunDirectory("r2");
        var resumed = Session(second, "r2", kept);
        RunSessions.Restore(resumed);
        Assert.Equal("{\"turn\":1}", File.ReadAllText(Path.Combine(resumed.State, "-work", "s-1.jsonl")));
        Assert.Null(RunSessions.Kept(second, "r1")); // moved, not copied: one run resumes it
    }

    [Fact]
    public void At_most_four_conversations_are_kept_per_agent_the_oldest_named_for_removal()
    {
        var removed = new List<string>();
        for (var i = 1; i <= 6; i++)
        {
            var run = RunDirectory("r" + i);
            var session = Session(run, "r" + i);
            Directory.CreateDirectory(session.State);
            var old = RunSessions.Save(session, run);
            removed.AddRange(old);
            foreach (var dir in old)
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        Assert.Equal(2, removed.Count);
        Assert.Equal(RunSessions.KeptPerAgent, Directory.GetDirectories(Path.Combine(_root, "engineer@p1", RunSessions.Directory)).Length);
        Assert.NotNull(RunSessions.Kept(RunDirectory("r7"), "r6"));
    }

    /// <summary>
    /// The attack: the run replaces its config directory with a link to something of the daemon's (its data directory,
    /// /etc) so that the daemon's end-of-run move takes that instead. Nothing is moved; the target is untouched.
    /// </summary>
    [Theory]
    [InlineData("home")]
    [InlineData("home/.claude")]
    [InlineData("home/.claude/projects")]
    public void A_link_anywhere_on_the_way_to_the_conversation_moves_nothing(string linked)
    {
        var run = RunDirectory("r1");
        var session = Session(run, "r1");

        // what the link points at holds, where the conversation would be, a file of the daemon's
        var target = Directory.CreateDirectory(Path.Combine(_root, "daemon-data")).FullName;
        var below = Path.GetRelativePath(Path.Combine(run, linked), session.State); // "." when the link is the conversation itself
        var precious = Directory.CreateDirectory(Path.GetFullPath(Path.Combine(target, below))).FullName;
        File.WriteAllText(Path.Combine(precious, "token"), "secret");
        var link = Path.Combine(run, linked);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, target);

        Assert.Empty(RunSessions.Save(session, run));
        Assert.Null(RunSessions.Kept(run, "r1"));
        Assert.Equal("secret", File.ReadAllText(Path.Combine(precious, "token")));
    }

    [Theory]
    [InlineData("3f1e2d4c-5b6a-4789-90ab-cdef01234567", true)]
    [InlineData("thread_01.abc:2", true)]
    [InlineData("--dangerously-skip-permissions", false)]
    [InlineData("-r", false)]
    [InlineData("../../etc", false)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_an_id_shaped_like_a_session_reaches_a_command_line(string? id, bool accepted) =>
        Assert.Equal(accepted, RunSessions.IsSessionId(id));

    [Theory]
    [InlineData("../r1")]
    [InlineData("/etc")]
    [InlineData(".")]
    [InlineData("")]
    public void A_run_id_that_names_a_path_finds_no_conversation(string runId)
    {
        var run = RunDirectory("r2");
        Directory.CreateDirectory(Path.Combine(_root, "engineer@p1", RunSessions.Directory, "r1"));
        Assert.Null(RunSessions.Kept(run, runId));
    }
}
