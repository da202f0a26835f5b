using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>Issue 15, finding 9: a run the killed daemon left going gets its end in history at the next start.</summary>
public sealed class UnfinishedRunsTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Each_swept_run_is_ended_once_as_killed()
    {
        // two processes of one run (an agent and its child), another agent's run, another daemon's, a malformed one
        var ends = UnfinishedRuns.Ends(["df-1/keeper/r1", "df-1/keeper/r1", "df-1/builder/r7", "df-2/keeper/r9", "df-1/broken", "df-1//r3"], "df-1", T);

        Assert.Equal([("builder", "r7"), ("keeper", "r1")], ends.Select(e => (e.Agent, e.RunId!)));
        Assert.All(ends, e =>
        {
            Assert.Equal(LifecycleKind.Killed, e.Kind);
            Assert.Equal(UnfinishedRuns.Detail, e.Detail);
            Assert.Equal(T, e.At);
        });
    }

    [Fact]
    public void Nothing_swept_nothing_recorded()
    {
        Assert.Empty(UnfinishedRuns.Ends([], "df-1", T));
    }
}
