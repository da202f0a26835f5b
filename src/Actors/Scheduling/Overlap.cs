namespace DarkFactory.Actors.Scheduling;

/// <summary>What a firing that finds the agent's previous run still going becomes, and why.</summary>
/// <param name="Outcome">Skipped (nothing to do), Queued (wait for the run's end) or Replaced (restart the running run).</param>
public sealed record OverlapDecision(FiringOutcome Outcome, string Detail);

/// <summary>The agent's overlap policy (pure): skip, queue (bounded by queue_limit) or replace.</summary>
public static class Overlap
{
    /// <param name="queued">Firings of the agent already waiting.</param>
    public static OverlapDecision Decide(OverlapPolicy policy, int queued, int queueLimit) => policy switch
    {
        OverlapPolicy.Queue when queued < queueLimit =>
            new(FiringOutcome.Queued, $"the previous run is still going (overlap: queue, {queued + 1} of {queueLimit} waiting)"),
        OverlapPolicy.Queue => new(FiringOutcome.Skipped, $"the previous run is still going and the queue is full (queue_limit {queueLimit})"),
        OverlapPolicy.Replace => new(FiringOutcome.Replaced, "the previous run was restarted (overlap: replace)"),
        _ => new(FiringOutcome.Skipped, "the previous run is still going (overlap: skip)"),
    };
}
