using System.Text.Json.Serialization;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Messages.Scheduling;

/// <summary>What became of one cron firing: of an agent's schedule (<see cref="SchedulerFired"/>) or the compound review's (<c>ReviewScheduleFired</c>).</summary>
public enum FiringOutcome
{
    /// <summary>A run was started (its run id is recorded).</summary>
    Started,

    /// <summary>Not run: the previous run was still going (overlap: skip, or a full queue), or missed with catch_up: skip.</summary>
    Skipped,

    /// <summary>Waiting for the running run to end (overlap: queue), or a catch-up firing waiting its turn.</summary>
    Queued,

    /// <summary>The running run was restarted in its place (overlap: replace).</summary>
    Replaced,

    /// <summary>The fleet refused the start (unknown, quarantined, unavailable ...); the reason is in the detail.</summary>
    Failed,

    /// <summary>No firing was recorded before: the schedule's record starts here, and firings missed later are counted from it (the review's; an agent's is <see cref="ScheduleArmed"/>).</summary>
    Armed,

    /// <summary>Firings missed while the daemon was down, caught up by one run now (the review's; an agent's are queued with CatchUp set).</summary>
    [JsonStringEnumMemberName("caught-up")]
    CaughtUp,
}

/// <summary>
/// One firing of an agent's schedule, persisted by the scheduler (persistence id <c>scheduler</c>): the
/// cron time it was for, when it fired, and what became of it. A storage contract: add fields with
/// defaults, never rename or remove; the manifest stays.
/// </summary>
[Manifest("scheduler-fired")]
public sealed record SchedulerFired(
    string Agent,
    DateTimeOffset ScheduledAt,
    DateTimeOffset FiredAt,
    FiringOutcome Outcome,
    string? RunId = null,
    string? Detail = null,
    bool CatchUp = false) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// An agent's schedule was armed for the first time (it has no firing yet): firings missed after
/// <paramref name="Since"/> are caught up like any others. Persisted by the scheduler; a storage contract.
/// </summary>
[Manifest("schedule-armed")]
public sealed record ScheduleArmed(string Agent, DateTimeOffset Since) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// Write-ahead of a cron firing: persisted before the scheduler asks the fleet to start it. A firing on record is
/// never caught up again, even when its outcome could not be recorded (the journal went away while the run
/// started, or the daemon died between): a job fires at most once per cron time. When this write fails the run
/// is not started; the firing is then caught up (per <c>catch_up</c>) once the scheduler is back. Persisted by the
/// scheduler, not published; a storage contract.
/// </summary>
[Manifest("firing-due")]
public sealed record FiringDue(string Agent, DateTimeOffset ScheduledAt) : IDarkFactoryMessage, IWithAgent;

/// <summary>
/// The scheduler's snapshot: the last firing of each agent, when agents that never fired were first
/// armed, and the firings still waiting (queued, never started) when it was taken.
/// </summary>
[Manifest("scheduler-snapshot")]
public sealed record SchedulerSnapshot(
    IReadOnlyList<SchedulerFired> Last,
    IReadOnlyList<ScheduleArmed>? Armed = null,
    IReadOnlyList<SchedulerFired>? Waiting = null,
    IReadOnlyList<FiringDue>? Due = null) : IDarkFactoryMessage;

/// <summary>Asks the scheduler for each scheduled agent's next <paramref name="Count"/> firings; answered with <see cref="ScheduleSnapshot"/>.</summary>
[Manifest("get-schedule")]
public sealed record GetSchedule(int Count = 5) : IDarkFactoryMessage, ISingletonRead;

/// <summary>One scheduled agent as `df schedule` shows it. <see cref="Next"/> holds cron times in UTC (jitter not added).</summary>
[Manifest("agent-schedule")]
public sealed record AgentSchedule(
    string Agent,
    string Schedule,
    string Timezone,
    IReadOnlyList<DateTimeOffset> Next,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    TimeSpan Jitter,
    int Queued = 0,
    SchedulerFired? LastFiring = null) : IDarkFactoryMessage, IWithAgent;

[Manifest("schedule-snapshot")]
public sealed record ScheduleSnapshot(IReadOnlyList<AgentSchedule> Agents) : IDarkFactoryMessage;
