using Akka.Actor;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Serialization;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>The review actor's persisted state: reviews kept in order, the last firing, the snapshot, and the catch-up on start.</summary>
public sealed class CompoundReviewStateTests
{
    private static readonly DateTimeOffset Five = new(2026, 11, 22, 5, 0, 0, TimeSpan.Zero);
    private static readonly CronSchedule Nightly = CronSchedule.Parse("0 2 * * *");
    private static readonly CompoundReviewSpec Spec = new() { Since = TimeSpan.FromHours(24), CatchUp = CatchUpPolicy.Once };

    private static ReviewStarted Started(string id) => new(id, Five, ReviewTrigger.Manual, "/srv/repo", "main", "fixer", false, TimeSpan.FromMinutes(30));

    private static CompoundReviewState Play(int keep, params IReviewEvent[] events) =>
        events.Aggregate(CompoundReviewState.Empty, (s, e) => s.Apply(e, keep, out _));

    private static CompoundReviewState FiredAt(DateTimeOffset due) => CompoundReviewState.Empty.Apply(new ReviewScheduleFired(due, due, FiringOutcome.Started, "r0"));

    [Fact]
    public void Events_go_to_their_review_and_only_the_newest_unfinished_one_is_active()
    {
        var state = Play(10, Started("a"), new ReviewCompleted("a", Five), Started("b"), new FindingsRecorded("b", Five, [], 2));

        Assert.Equal(["a", "b"], state.Reviews.Select(r => r.Started.ReviewId));
        Assert.Equal("b", state.Active?.Started.ReviewId);
        Assert.Equal(2, state.Find("b")!.Findings!.CommitsScanned);
        Assert.Null(Play(10, Started("a"), new ReviewFailed("a", Five, ReviewStage.Scan, "x")).Active);
    }

    [Fact]
    public void A_new_review_beyond_the_limit_drops_the_oldest_finished_ones_and_names_them()
    {
        var state = Play(2, Started("a"), new ReviewCompleted("a", Five), Started("b"), new ReviewCompleted("b", Five));

        state = state.Apply(Started("c"), 2, out var removed);

        Assert.Equal(["a"], removed);
        Assert.Equal(["b", "c"], state.Reviews.Select(r => r.Started.ReviewId));
    }

    [Fact]
    public void An_event_of_an_unknown_review_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() => CompoundReviewState.Empty.Apply(new ReviewCompleted("ghost", Five), 10, out _));
    }

    [Fact]
    public void The_snapshot_round_trips_through_the_serializer()
    {
        var state = Play(10, Started("a"), new ReviewCompleted("a", Five), Started("b"))
            .Apply(new ReviewScheduleFired(Five, Five, FiringOutcome.CaughtUp, "b", "1 firing(s) missed"));
        using var system = ActorSystem.Create("snapshot");
        var serializer = new DarkFactorySerializer((ExtendedActorSystem)system);

        var back = CompoundReviewState.From((ReviewSnapshot)serializer.FromBinary(serializer.ToBinary(state.ToSnapshot()), "review-snapshot"));

        Assert.Equal(state.Reviews.Select(r => r.Started), back.Reviews.Select(r => r.Started));
        Assert.Equal(state.LastFiring, back.LastFiring);
        Assert.Equal("b", back.Active?.Started.ReviewId);
    }

    [Fact]
    public void Without_a_recorded_firing_the_schedule_is_armed_and_nothing_runs()
    {
        var firing = CompoundReviewState.Empty.MissedFiring(Nightly, Spec, Five);

        Assert.Equal((FiringOutcome.Armed, Five), (firing!.Outcome, firing.Due));
    }

    [Fact]
    public void A_firing_missed_within_the_window_is_caught_up_by_one_review()
    {
        var firing = FiredAt(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero)).MissedFiring(Nightly, Spec, Five);

        Assert.Equal((FiringOutcome.CaughtUp, new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)), (firing!.Outcome, firing.Due));
        Assert.StartsWith("1 firing(s) missed while the daemon was down, the last at 2026-11-22 02:00Z", firing.Detail);
    }

    [Fact]
    public void With_skip_or_a_resuming_review_the_missed_firing_is_recorded_as_skipped()
    {
        var last = new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero);
        var skip = FiredAt(last).MissedFiring(Nightly, Spec with { CatchUp = CatchUpPolicy.Skip }, Five);
        var resuming = FiredAt(last).Apply(Started("r1"), 10, out _).MissedFiring(Nightly, Spec, Five);

        Assert.Equal(FiringOutcome.Skipped, skip!.Outcome);
        Assert.EndsWith("catch_up: skip", skip.Detail);
        Assert.Equal((FiringOutcome.Skipped, "r1"), (resuming!.Outcome, resuming.ReviewId));
        Assert.EndsWith("review r1 is resuming", resuming.Detail);
    }

    [Fact]
    public void Nothing_is_recorded_when_nothing_within_the_window_was_missed()
    {
        Assert.Null(FiredAt(new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero)).MissedFiring(Nightly, Spec, Five));
        Assert.Null(FiredAt(new DateTimeOffset(2026, 11, 20, 2, 0, 0, TimeSpan.Zero)).MissedFiring(Nightly, Spec with { Since = TimeSpan.FromHours(2) }, Five));
    }
}
