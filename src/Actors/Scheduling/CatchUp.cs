namespace DarkFactory.Actors.Scheduling;

/// <summary>What to do about the firings missed while the daemon was down.</summary>
/// <param name="Missed">How many firings were missed (counted up to <see cref="CatchUp.CountLimit"/>), the waiting ones included.</param>
/// <param name="Run">The missed firings (their cron times, ascending) to run now, one after another.</param>
/// <param name="LatestMissed">The last missed firing, if any.</param>
/// <param name="Dropped">Firings that were waiting when the daemon stopped and that the policy does not run.</param>
public sealed record CatchUpPlan(int Missed, IReadOnlyList<DateTimeOffset> Run, DateTimeOffset? LatestMissed, IReadOnlyList<DateTimeOffset> Dropped)
{
    public static readonly CatchUpPlan Nothing = new(0, [], null, []);
}

/// <summary>
/// Catch-up planning (pure), the one policy of the scheduler (per agent, catch_up) and the compound review
/// (compound_review.catch_up, one review for every missed firing within its scan window): the firings in
/// (since, now] plus the ones that were waiting (queued, or catch-up firings not yet started) when the daemon
/// stopped. All of them are firings the daemon did not run; the policy treats them alike.
/// </summary>
public static class CatchUp
{
    /// <summary>Missed firings are counted up to this many (a per-second schedule down for a month stays cheap).</summary>
    public const int CountLimit = 100_000;

    /// <param name="schedule">The agent's schedule.</param>
    /// <param name="since">The cron time of the last persisted firing, or when the agent was first scheduled; null = nothing to catch up from.</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="policy">skip: run none; once: run the latest missed firing; all: run each, the latest <paramref name="limit"/>.</param>
    /// <param name="limit">The bound of <see cref="CatchUpPolicy.All"/> (at least 1).</param>
    /// <param name="waiting">Firings recorded as waiting and never started (any order; those after now are kept as they are).</param>
    /// <param name="notBefore">Firings at or before this are not missed (the compound review: older than its scan window, which the next review covers anyway).</param>
    public static CatchUpPlan Plan(CronSchedule schedule, DateTimeOffset? since, DateTimeOffset now, CatchUpPolicy policy, int limit, IReadOnlyCollection<DateTimeOffset>? waiting = null, DateTimeOffset? notBefore = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (since is { } s && notBefore is { } floor && floor > s)
        {
            since = floor;
        }

        var keep = policy switch
        {
            CatchUpPolicy.All => Math.Max(1, limit),
            _ => 1,
        };

        // the waiting ones come first: they are older than anything missed after the last recorded firing
        var candidates = new SortedSet<DateTimeOffset>(waiting?.Where(t => t <= now) ?? []);
        var missed = candidates.Count;
        if (since is { } last && last < now)
        {
            foreach (var t in schedule.Between(last, now))
            {
                if (candidates.Add(t))
                {
                    missed++;
                }

                while (candidates.Count > keep)
                {
                    candidates.Remove(candidates.Min);
                }

                if (missed >= CountLimit)
                {
                    break;
                }
            }
        }

        if (missed == 0)
        {
            return CatchUpPlan.Nothing;
        }

        var latest = candidates.Reverse().Take(keep).Reverse().ToList();
        IReadOnlyList<DateTimeOffset> run = policy == CatchUpPolicy.Skip ? [] : latest;
        var dropped = (waiting ?? []).Where(t => t <= now && !run.Contains(t)).Order().ToList();
        return new CatchUpPlan(missed, run, candidates.Max, dropped);
    }

    /// <summary>
    /// The firing records of an agent's plan: the waiting firings the policy drops (skipped), then either the latest
    /// missed firing skipped (catch_up: skip) or each firing to run, queued in order (started one after another).
    /// </summary>
    /// <param name="waiting">The agent's firings that were waiting when the daemon stopped.</param>
    public static IReadOnlyList<SchedulerFired> Firings(string agent, CatchUpPlan plan, CatchUpPolicy policy, IReadOnlyCollection<DateTimeOffset> waiting, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Missed == 0)
        {
            return [];
        }

        var name = policy.ToString().ToLowerInvariant();
        var firings = plan.Dropped.Where(at => plan.Run.Count > 0 || at != plan.LatestMissed)
            .Select(at => new SchedulerFired(agent, at, now, FiringOutcome.Skipped, Detail: $"was waiting when the daemon stopped; not run (catch_up: {name})", CatchUp: true))
            .ToList();
        if (plan.Run.Count == 0)
        {
            firings.Add(new SchedulerFired(agent, plan.LatestMissed!.Value, now, FiringOutcome.Skipped,
                Detail: $"{plan.Missed} firing(s) missed while the daemon was down (catch_up: skip)", CatchUp: true));
            return firings;
        }

        firings.AddRange(plan.Run.Select(at => new SchedulerFired(agent, at, now, FiringOutcome.Queued,
            Detail: waiting.Contains(at)
                ? $"was waiting when the daemon stopped; queued again (catch_up: {name})"
                : $"missed while the daemon was down (catch_up: {name}, {plan.Missed} missed)",
            CatchUp: true)));
        return firings;
    }
}
