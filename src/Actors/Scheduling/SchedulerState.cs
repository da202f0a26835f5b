using System.Collections.Immutable;

namespace DarkFactory.Actors.Scheduling;

/// <summary>
/// The scheduler's persisted state (pure, immutable): each agent's last firing (the latest cron time), the latest
/// firing written ahead of its start, when agents
/// that never fired were first armed, and the firings recorded as waiting (queued) and not started yet. Events and
/// snapshots are applied the same way on recovery as when they are recorded; catch-up after a restart reads it.
/// </summary>
public sealed record SchedulerState
{
    public static readonly SchedulerState Empty = new();

    /// <summary>Each agent's firing with the latest cron time.</summary>
    public ImmutableDictionary<string, SchedulerFired> Last { get; init; } = ImmutableDictionary.Create<string, SchedulerFired>(StringComparer.Ordinal);

    /// <summary>When each agent that has no firing yet was first armed.</summary>
    public ImmutableDictionary<string, DateTimeOffset> Armed { get; init; } = ImmutableDictionary.Create<string, DateTimeOffset>(StringComparer.Ordinal);

    /// <summary>Per agent, the firings recorded as queued and not ended by another outcome since, by cron time.</summary>
    public ImmutableDictionary<string, ImmutableSortedDictionary<DateTimeOffset, SchedulerFired>> Waiting { get; init; } =
        ImmutableDictionary.Create<string, ImmutableSortedDictionary<DateTimeOffset, SchedulerFired>>(StringComparer.Ordinal);

    /// <summary>Each agent's latest firing written ahead (<see cref="FiringDue"/>), by cron time.</summary>
    public ImmutableDictionary<string, DateTimeOffset> Due { get; init; } = ImmutableDictionary.Create<string, DateTimeOffset>(StringComparer.Ordinal);

    public SchedulerState Apply(IDarkFactoryMessage e) => e switch
    {
        SchedulerFired fired => Apply(fired),
        ScheduleArmed armed => Apply(armed),
        FiringDue due => Apply(due),
        _ => throw new ArgumentException($"not a scheduler event: {e.GetType().Name}", nameof(e)),
    };

    /// <summary>
    /// A firing: it becomes the agent's last unless an older cron time (a catch-up after a later firing); a firing
    /// waits from Queued until any other outcome for the same cron time (started, failed, skipped ...).
    /// </summary>
    public SchedulerState Apply(SchedulerFired fired)
    {
        var last = Last.TryGetValue(fired.Agent, out var previous) && fired.ScheduledAt < previous.ScheduledAt ? Last : Last.SetItem(fired.Agent, fired);
        var waiting = Waiting.GetValueOrDefault(fired.Agent) ?? ImmutableSortedDictionary<DateTimeOffset, SchedulerFired>.Empty;
        waiting = fired.Outcome == FiringOutcome.Queued ? waiting.SetItem(fired.ScheduledAt, fired) : waiting.Remove(fired.ScheduledAt);
        return this with
        {
            Last = last,
            Waiting = waiting.IsEmpty ? Waiting.Remove(fired.Agent) : Waiting.SetItem(fired.Agent, waiting),
        };
    }

    /// <summary>An agent's first arming counts; a later one (the daemon restarted before it fired) changes nothing.</summary>
    public SchedulerState Apply(ScheduleArmed armed) => Armed.ContainsKey(armed.Agent) ? this : this with { Armed = Armed.Add(armed.Agent, armed.Since) };

    /// <summary>A firing written ahead: its cron time is not missed any more, whatever became of its start.</summary>
    public SchedulerState Apply(FiringDue due) =>
        Due.TryGetValue(due.Agent, out var at) && at >= due.ScheduledAt ? this : this with { Due = Due.SetItem(due.Agent, due.ScheduledAt) };

    /// <summary>Whether the agent has a firing or an arming on record (else its first arming is recorded).</summary>
    public bool Knows(string agent) => Last.ContainsKey(agent) || Armed.ContainsKey(agent) || Due.ContainsKey(agent);

    /// <summary>
    /// Where catch-up counts missed firings from: the latest cron time on record (a firing's outcome, or one written
    /// ahead whose outcome was never recorded), else the first arming; null: nowhere.
    /// </summary>
    public DateTimeOffset? Since(string agent)
    {
        DateTimeOffset? since = Last.TryGetValue(agent, out var last) ? last.ScheduledAt : Armed.TryGetValue(agent, out var armed) ? armed : null;
        return Due.TryGetValue(agent, out var due) && (since is null || due > since) ? due : since;
    }

    /// <summary>The agent's firings still waiting, by cron time.</summary>
    public IReadOnlyCollection<DateTimeOffset> WaitingOf(string agent) => Waiting.TryGetValue(agent, out var w) ? w.Keys.ToList() : [];

    /// <summary>The snapshot: the same content, agents in name order.</summary>
    public SchedulerSnapshot ToSnapshot() => new(
        Last.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(),
        Armed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new ScheduleArmed(kv.Key, kv.Value)).ToList(),
        Waiting.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.Values).ToList(),
        Due.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new FiringDue(kv.Key, kv.Value)).ToList());

    /// <summary>The state a snapshot holds (snapshots written before arming and waiting existed have neither).</summary>
    public static SchedulerState From(SchedulerSnapshot snapshot)
    {
        var state = Empty;
        foreach (var last in snapshot.Last)
        {
            state = state with { Last = state.Last.SetItem(last.Agent, last) };
        }

        foreach (var armed in snapshot.Armed ?? [])
        {
            state = state.Apply(armed);
        }

        foreach (var due in snapshot.Due ?? [])
        {
            state = state.Apply(due);
        }

        foreach (var waiting in snapshot.Waiting ?? [])
        {
            var w = state.Waiting.GetValueOrDefault(waiting.Agent) ?? ImmutableSortedDictionary<DateTimeOffset, SchedulerFired>.Empty;
            state = state with { Waiting = state.Waiting.SetItem(waiting.Agent, w.SetItem(waiting.ScheduledAt, waiting)) };
        }

        return state;
    }
}
