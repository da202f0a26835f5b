using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;

namespace DarkFactory.Actors.Review;

/// <summary>What the review does on start about cron firings it missed while the daemon was down.</summary>
/// <param name="Outcome">"armed" (no firing recorded yet: the schedule's record starts now), "caught-up" (run one review now) or "skipped".</param>
/// <param name="Due">The latest missed firing (for "armed": now).</param>
/// <param name="Missed">How many firings were missed within the window.</param>
public sealed record CatchUpDecision(string Outcome, DateTimeOffset Due, int Missed);

/// <summary>
/// Pure catch-up rule of the review's schedule (<c>compound_review.catch_up</c>): a firing counts as missed when
/// it came after the last recorded one and within the last <c>since</c> (older firings would review a window
/// the next review covers anyway); with <c>once</c> one review runs for all of them, with <c>skip</c> they are
/// recorded as skipped. Without any recorded firing the schedule's record starts ("armed") and nothing is run.
/// </summary>
public static class ReviewSchedule
{
    public static CatchUpDecision? OnStart(CronSchedule cron, ReviewScheduleFired? last, DateTimeOffset now, TimeSpan since, CatchUpPolicy policy)
    {
        if (last is null)
        {
            return new CatchUpDecision("armed", now, 0);
        }

        var windowStart = now - since;
        var after = last.Due > windowStart ? last.Due : windowStart;
        var missed = cron.Between(after, now).ToList();
        if (missed.Count == 0)
        {
            return null;
        }

        return new CatchUpDecision(policy == CatchUpPolicy.Skip ? "skipped" : "caught-up", missed[^1], missed.Count);
    }
}
