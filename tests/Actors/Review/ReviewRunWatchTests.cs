using DarkFactory.Actors.Review;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// Which run the review waits for when the layer stops its run to start the same task again (a route's failover,
/// Nightwatch's restart): the next start of the agent, and only then; a plain stop is the run's end.
/// </summary>
public sealed class ReviewRunWatchTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 2, 0, 0, TimeSpan.Zero);
    private static readonly ReviewStarted Started = new("r1", At, ReviewTrigger.Schedule, "/srv/repo", "main", "fixer", true, TimeSpan.FromMinutes(30));
    private static readonly TaskAssigned Assigned = new("r1", At, "fixer", "work on it", "df/compound/2026-12-07-x", "/wt/r1", "compound_review.agent");
    private static readonly ReviewRecord Awaiting = new(Started, Task: Assigned, Runs: [new ReviewAgentStarted("r1", At, "run-1")]);

    private static AgentLifecycle Life(LifecycleKind kind, string runId, bool restarts = false) =>
        new("fixer", kind, At.AddMinutes(5), runId) { Restarts = restarts };

    [Fact]
    public void A_run_stopped_to_be_started_again_is_continued_by_the_agents_next_run()
    {
        var watch = new ReviewRunWatch();
        Assert.True(watch.Ended(Life(LifecycleKind.Stopped, "run-1", restarts: true)));

        Assert.Equal("run-2", ReviewRunWatch.Continues(Awaiting, Life(LifecycleKind.Started, "run-2"), watch));
        Assert.Null(ReviewRunWatch.Continues(Awaiting, Life(LifecycleKind.Started, "run-1"), watch)); // the run it knows
        Assert.Null(ReviewRunWatch.Continues(Awaiting, Life(LifecycleKind.Exited, "run-2"), watch));  // not a start

        // once the review has adopted run-2, nothing else continues it
        var adopted = Awaiting with { Runs = [.. Awaiting.Runs!, new ReviewAgentStarted("r1", At, "run-2")] };
        Assert.Null(ReviewRunWatch.Continues(adopted, Life(LifecycleKind.Started, "run-3"), watch));
    }

    [Fact]
    public void A_plain_stop_or_an_unheard_end_continues_nothing()
    {
        var watch = new ReviewRunWatch();
        Assert.Null(ReviewRunWatch.Continues(Awaiting, Life(LifecycleKind.Started, "run-2"), watch)); // its end not heard

        watch.Ended(Life(LifecycleKind.Stopped, "run-1"));
        Assert.Null(ReviewRunWatch.Continues(Awaiting, Life(LifecycleKind.Started, "run-2"), watch)); // stays stopped: the review's run is over
        Assert.True(watch.TryEnd("run-1", out var end, out _));
        Assert.False(end.Restarts);
    }
}
