using DarkFactory.Actors.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.Agents;

/// <summary>
/// How a run ends, without a process: the first cause wins (a stop, max runtime, a result that lingers), each
/// transition answers once, and what the layer is told says crash only for a run that ended by itself.
/// </summary>
public sealed class RunEndingTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_run_that_exits_non_zero_by_itself_is_a_crash_and_is_finished_once()
    {
        var ending = new RunEnding();
        Assert.False(ending.Finish()); // still running

        Assert.True(ending.Exited(3, null, At, Grace));
        Assert.False(ending.Exited(0, null, At, Grace)); // the first exit counts
        Assert.True(ending.Finish());
        Assert.False(ending.Finish());

        var ended = ending.Ended("coder", "r1", limited: false);
        Assert.Equal((3, true, false), (ended.Exit.Code, ended.Crashed, ended.TimedOut));
        Assert.Null(ended.StopReason);
    }

    [Fact]
    public void A_stop_asked_for_wins_over_max_runtime_and_the_run_is_no_crash()
    {
        var ending = new RunEnding();

        Assert.True(ending.Stop("operator"));
        Assert.False(ending.Stop("again"));
        Assert.Null(ending.MaxRuntimeExceeded(TimeSpan.FromMinutes(5)));
        Assert.False(ending.ResultLingered(true));
        ending.Exited(143, 15, At, Grace);
        ending.Finish();

        var ended = ending.Ended("coder", "r1", limited: false);
        Assert.Equal(("operator", false, false), (ended.StopReason, ended.Crashed, ended.TimedOut));
    }

    [Fact]
    public void Max_runtime_kills_a_run_that_is_then_timed_out_not_crashed_and_no_stop_is_taken_after_its_exit()
    {
        var ending = new RunEnding();

        Assert.Equal("max runtime 00:05:00 exceeded", ending.MaxRuntimeExceeded(TimeSpan.FromMinutes(5)));
        Assert.False(ending.ResultLingered(true)); // it is ending already
        ending.Exited(143, 15, At, Grace);
        Assert.False(ending.Stop("too late"));
        ending.Finish();

        var ended = ending.Ended("coder", "r1", limited: true);
        Assert.Equal((true, false, true, "max runtime 00:05:00 exceeded"), (ended.TimedOut, ended.Crashed, ended.Limited, ended.Exit.Reason));
    }

    [Fact]
    public void A_result_seen_once_starts_its_grace_and_a_run_ended_after_it_exits_as_the_result_said()
    {
        var ending = new RunEnding();
        Assert.False(ending.ResultSeen(hasResult: false));
        Assert.True(ending.ResultSeen(hasResult: true));
        Assert.False(ending.ResultSeen(hasResult: true));
        Assert.False(ending.ResultLingered(null)); // no result: nothing to end it as

        Assert.True(ending.ResultLingered(false));
        Assert.Null(ending.MaxRuntimeExceeded(TimeSpan.FromMinutes(5)));
        ending.Exited(143, 15, At, Grace); // SIGTERM'd

        Assert.Equal(false, ending.EndedAfterResult);
        Assert.Equal((1, (int?)null), (ending.Exit!.Code, ending.Exit.Signal)); // a failed result: a crash with code 1
        ending.Finish();
        Assert.True(ending.Ended("coder", "r1", limited: false).Crashed);
    }

    [Fact]
    public void A_stop_while_the_worktree_is_made_ends_the_run_without_a_process()
    {
        var ending = new RunEnding();
        ending.Stop("drain");

        var ended = ending.StoppedBeforeStart("coder", "r1", At);

        Assert.Equal(("drain", 0, "stopped before it started", false), (ended.StopReason, ended.Exit.Code, ended.Exit.Reason, ended.Crashed));
        Assert.False(ending.Finish());
    }
}
