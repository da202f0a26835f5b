using System.Collections.Immutable;
using DarkFactory.Actors.Scheduling;

namespace DarkFactory.Actors.Review;

/// <summary>
/// The compound review actor's persisted state (pure, immutable): the reviews it keeps, oldest first, each as
/// its recorded events (<see cref="ReviewStateRules"/> applies them), and the last cron firing (catch-up counts
/// from it). Events and snapshots are applied the same way on recovery as when they are recorded.
/// </summary>
public sealed record CompoundReviewState
{
    public static readonly CompoundReviewState Empty = new();

    /// <summary>The reviews kept, oldest first; only the newest can be running.</summary>
    public ImmutableList<ReviewRecord> Reviews { get; init; } = [];

    public ReviewScheduleFired? LastFiring { get; init; }

    /// <summary>The running review, if any.</summary>
    public ReviewRecord? Active => Reviews.Count > 0 && !ReviewStateRules.IsOver(Reviews[^1]) ? Reviews[^1] : null;

    public ReviewRecord? Find(string reviewId) => Reviews.FindLast(r => r.Started.ReviewId == reviewId);

    /// <summary>Applies a review's event; a new review beyond <paramref name="keep"/> drops the oldest finished ones (named in <paramref name="removed"/>).</summary>
    public CompoundReviewState Apply(IReviewEvent e, int keep, out IReadOnlyList<string> removed)
    {
        var index = Reviews.FindLastIndex(r => r.Started.ReviewId == e.ReviewId);
        if (index >= 0)
        {
            removed = [];
            return this with { Reviews = Reviews.SetItem(index, ReviewStateRules.Apply(Reviews[index], e)) };
        }

        var reviews = Reviews.Add(ReviewStateRules.Apply(null, e));
        var dropped = new List<string>();
        while (reviews.Count > keep && reviews.Count > 1 && ReviewStateRules.IsOver(reviews[0]))
        {
            dropped.Add(reviews[0].Started.ReviewId);
            reviews = reviews.RemoveAt(0);
        }

        removed = dropped;
        return this with { Reviews = reviews };
    }

    public CompoundReviewState Apply(ReviewScheduleFired firing) => this with { LastFiring = firing };

    /// <summary>
    /// On start, the cron firings missed while the daemon was down (<see cref="CatchUp"/>, one review for all of
    /// them; firings older than the scan window <c>since</c> are not missed, the next review covers them): the
    /// firing to record, or null when none was missed. <see cref="FiringOutcome.CaughtUp"/> means: start a review
    /// now. Without a recorded firing, the schedule's record starts (<see cref="FiringOutcome.Armed"/>).
    /// </summary>
    public ReviewScheduleFired? MissedFiring(CronSchedule cron, CompoundReviewSpec spec, DateTimeOffset now)
    {
        if (LastFiring is not { } last)
        {
            return new ReviewScheduleFired(now, now, FiringOutcome.Armed, Detail: "no firing recorded before: missed firings are counted from here");
        }

        var policy = spec.CatchUp == CatchUpPolicy.Skip ? CatchUpPolicy.Skip : CatchUpPolicy.Once;
        var plan = CatchUp.Plan(cron, last.Due, now, policy, 1, notBefore: now - spec.Since);
        if (plan.LatestMissed is not { } due)
        {
            return null;
        }

        var missed = $"{plan.Missed} firing(s) missed while the daemon was down, the last at {due:yyyy-MM-dd HH:mm}Z";
        return plan.Run.Count == 0 ? new ReviewScheduleFired(due, now, FiringOutcome.Skipped, Detail: missed + "; catch_up: skip")
            : Active is { } running ? new ReviewScheduleFired(due, now, FiringOutcome.Skipped, running.Started.ReviewId, missed + $"; review {running.Started.ReviewId} is resuming")
            : new ReviewScheduleFired(due, now, FiringOutcome.CaughtUp, Detail: missed);
    }

    public ReviewSnapshot ToSnapshot() => new(Reviews, LastFiring);

    public static CompoundReviewState From(ReviewSnapshot snapshot) => new() { Reviews = [.. snapshot.Reviews], LastFiring = snapshot.LastFiring };
}
