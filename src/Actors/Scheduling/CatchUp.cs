using DarkFactory.Messages.Fleet;

namespace DarkFactory.Actors.Scheduling;

/// <summary>What to do about the firings missed while the daemon was down.</summary>
/// <param name="Missed">How many firings were missed (counted up to <see cref="CatchUp.CountLimit"/>).</param>
/// <param name="Run">The missed firings (their cron times, ascending) to run now, one after another.</param>
/// <param name="LatestMissed">The last missed firing, if any.</param>
public sealed record CatchUpPlan(int Missed, IReadOnlyList<DateTimeOffset> Run, DateTimeOffset? LatestMissed)
{
    public static readonly CatchUpPlan Nothing = new(0, [], null);
}

/// <summary>Catch-up planning (pure): missed firings in (last firing, now] by the agent's policy.</summary>
public static class CatchUp
{
    /// <summary>Missed firings are counted up to this many (a per-second schedule down for a month stays cheap).</summary>
    public const int CountLimit = 100_000;

    /// <param name="schedule">The agent's schedule.</param>
    /// <param name="lastFiring">The cron time of the last persisted firing; null = never fired, nothing to catch up.</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="policy">skip: run none; once: run the latest missed firing; all: run each, the latest <paramref name="limit"/>.</param>
    /// <param name="limit">The bound of <see cref="CatchUpPolicy.All"/> (at least 1).</param>
    public static CatchUpPlan Plan(CronSchedule schedule, DateTimeOffset? lastFiring, DateTimeOffset now, CatchUpPolicy policy, int limit)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (lastFiring is not { } last || last >= now)
        {
            return CatchUpPlan.Nothing;
        }

        var keep = policy switch
        {
            CatchUpPolicy.All => Math.Max(1, limit),
            _ => 1,
        };
        var latest = new Queue<DateTimeOffset>(keep);
        var missed = 0;
        foreach (var t in schedule.Between(last, now))
        {
            missed++;
            if (latest.Count == keep)
            {
                latest.Dequeue();
            }

            latest.Enqueue(t);
            if (missed >= CountLimit)
            {
                break;
            }
        }

        if (missed == 0)
        {
            return CatchUpPlan.Nothing;
        }

        var latestMissed = latest.Last();
        IReadOnlyList<DateTimeOffset> run = policy == CatchUpPolicy.Skip ? [] : latest.ToList();
        return new CatchUpPlan(missed, run, latestMissed);
    }
}
