using Akka.Actor;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Serialization;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Scheduling;
using Xunit;

namespace DarkFactory.Actors.Tests.Scheduling;

/// <summary>The scheduler's persisted state, its overlap rule and its catch-up records, without an actor.</summary>
public sealed class SchedulerStateTests
{
    private static DateTimeOffset At(int hour) => new(2026, 11, 22, hour, 0, 0, TimeSpan.Zero);

    private static SchedulerFired Fired(string agent, int hour, FiringOutcome outcome) => new(agent, At(hour), At(hour), outcome);

    private static SchedulerState Play(params object[] events) =>
        events.Aggregate(SchedulerState.Empty, (s, e) => s.Apply((DarkFactory.Messages.IDarkFactoryMessage)e));

    [Fact]
    public void The_last_firing_is_the_latest_cron_time_and_an_older_catch_up_does_not_replace_it()
    {
        var state = Play(Fired("a", 10, FiringOutcome.Started), Fired("a", 12, FiringOutcome.Skipped), Fired("a", 11, FiringOutcome.Started));

        Assert.Equal(At(12), state.Last["a"].ScheduledAt);
        Assert.Equal(At(12), state.Since("a"));
    }

    [Fact]
    public void A_queued_firing_waits_until_another_outcome_for_its_cron_time()
    {
        var state = Play(Fired("a", 10, FiringOutcome.Queued), Fired("a", 11, FiringOutcome.Queued), Fired("b", 11, FiringOutcome.Queued));
        Assert.Equal([At(10), At(11)], state.WaitingOf("a"));

        state = state.Apply(Fired("a", 10, FiringOutcome.Started)).Apply(Fired("b", 11, FiringOutcome.Failed));

        Assert.Equal([At(11)], state.WaitingOf("a"));
        Assert.Empty(state.WaitingOf("b"));
        Assert.False(state.Waiting.ContainsKey("b"));
    }

    [Fact]
    public void An_agent_is_armed_once_and_catch_up_counts_from_its_last_firing_before_its_arming()
    {
        var state = Play(new ScheduleArmed("a", At(8)), new ScheduleArmed("a", At(9)));

        Assert.True(state.Knows("a"));
        Assert.False(state.Knows("b"));
        Assert.Equal(At(8), state.Since("a"));
        Assert.Null(state.Since("b"));
        Assert.Equal(At(10), state.Apply(Fired("a", 10, FiringOutcome.Started)).Since("a"));
    }

    [Fact]
    public void The_snapshot_round_trips_through_the_serializer()
    {
        var state = Play(
            Fired("b", 10, FiringOutcome.Started), Fired("a", 11, FiringOutcome.Queued), Fired("a", 12, FiringOutcome.Queued),
            new ScheduleArmed("c", At(9)), new FiringDue("b", At(13)));
        using var system = ActorSystem.Create("scheduler-state");
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)system);

        var snapshot = (SchedulerSnapshot)serializer.FromBinary(serializer.ToBinary(state.ToSnapshot()), "scheduler-snapshot");
        var back = SchedulerState.From(snapshot);

        Assert.Equal(["a", "b"], snapshot.Last.Select(f => f.Agent)); // by name: the same state gives the same snapshot
        Assert.Equal(state.Last.OrderBy(kv => kv.Key), back.Last.OrderBy(kv => kv.Key));
        Assert.Equal(state.Armed.OrderBy(kv => kv.Key), back.Armed.OrderBy(kv => kv.Key));
        Assert.Equal(state.WaitingOf("a"), back.WaitingOf("a"));
        Assert.Equal(state.ToSnapshot().Waiting, back.ToSnapshot().Waiting);
        Assert.Equal(At(13), back.Since("b"));
    }

    [Fact]
    public void A_firing_written_ahead_is_not_missed_even_when_its_outcome_was_never_recorded()
    {
        // the 11:00 firing was written ahead, then the journal went away before its outcome (or the daemon died)
        var state = Play(Fired("a", 10, FiringOutcome.Started), new FiringDue("a", At(11)));
        Assert.Equal(At(11), state.Since("a"));

        // an older write-ahead (a catch-up) or the outcome arriving later changes nothing
        Assert.Equal(At(11), state.Apply(new FiringDue("a", At(9))).Since("a"));
        Assert.Equal(At(12), state.Apply(Fired("a", 12, FiringOutcome.Started)).Since("a"));
        Assert.True(Play(new FiringDue("z", At(8))).Knows("z"));
    }

    [Fact]
    public void A_snapshot_written_before_arming_and_waiting_existed_gives_the_last_firings_only()
    {
        var back = SchedulerState.From(new SchedulerSnapshot([Fired("a", 10, FiringOutcome.Started)]));

        Assert.Equal(At(10), back.Since("a"));
        Assert.Empty(back.Armed);
        Assert.Empty(back.Waiting);
    }

    [Theory]
    [InlineData(OverlapPolicy.Skip, 0, 1, FiringOutcome.Skipped, "the previous run is still going (overlap: skip)")]
    [InlineData(OverlapPolicy.Queue, 0, 2, FiringOutcome.Queued, "the previous run is still going (overlap: queue, 1 of 2 waiting)")]
    [InlineData(OverlapPolicy.Queue, 1, 2, FiringOutcome.Queued, "the previous run is still going (overlap: queue, 2 of 2 waiting)")]
    [InlineData(OverlapPolicy.Queue, 2, 2, FiringOutcome.Skipped, "the previous run is still going and the queue is full (queue_limit 2)")]
    [InlineData(OverlapPolicy.Replace, 5, 1, FiringOutcome.Replaced, "the previous run was restarted (overlap: replace)")]
    public void Overlap_decides_by_the_policy_and_the_queue(OverlapPolicy policy, int queued, int limit, FiringOutcome outcome, string detail)
    {
        Assert.Equal(new OverlapDecision(outcome, detail), Overlap.Decide(policy, queued, limit));
    }

    [Fact]
    public void Catch_up_records_drop_the_waiting_firings_the_policy_does_not_run_and_queue_the_ones_it_runs()
    {
        var hourly = CronSchedule.Parse("0 * * * *");
        DateTimeOffset[] waiting = [At(9)];
        var now = At(15).AddMinutes(30);

        var once = CatchUp.Firings("a", CatchUp.Plan(hourly, At(10), now, CatchUpPolicy.Once, 3, waiting), CatchUpPolicy.Once, waiting, now);
        var skip = CatchUp.Firings("a", CatchUp.Plan(hourly, At(10), now, CatchUpPolicy.Skip, 3, waiting), CatchUpPolicy.Skip, waiting, now);
        var all = CatchUp.Firings("a", CatchUp.Plan(hourly, At(10), now, CatchUpPolicy.All, 2, waiting), CatchUpPolicy.All, waiting, now);

        Assert.Equal([(At(9), FiringOutcome.Skipped), (At(15), FiringOutcome.Queued)], once.Select(f => (f.ScheduledAt, f.Outcome)));
        Assert.Equal("was waiting when the daemon stopped; not run (catch_up: once)", once[0].Detail);
        Assert.Equal("missed while the daemon was down (catch_up: once, 6 missed)", once[1].Detail);
        Assert.Equal([(At(9), FiringOutcome.Skipped), (At(15), FiringOutcome.Skipped)], skip.Select(f => (f.ScheduledAt, f.Outcome)));
        Assert.Equal("6 firing(s) missed while the daemon was down (catch_up: skip)", skip[1].Detail);
        Assert.Equal([(At(9), FiringOutcome.Skipped), (At(14), FiringOutcome.Queued), (At(15), FiringOutcome.Queued)], all.Select(f => (f.ScheduledAt, f.Outcome)));
        Assert.All(once.Concat(skip).Concat(all), f => Assert.True(f.CatchUp));
        Assert.Empty(CatchUp.Firings("a", CatchUpPlan.Nothing, CatchUpPolicy.All, [], now));
    }
}
