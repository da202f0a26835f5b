namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Nightwatch's persisted state: the recent corrections, the escalations with their webhook delivery, and each
/// agent's hint not yet given to a run. <see cref="Apply"/> takes each persisted event (also on recovery);
/// <see cref="Snapshot"/> and <see cref="Restore"/> round-trip it through a <see cref="NightwatchSnapshot"/>. Pure.
/// </summary>
/// <param name="keepCorrections">Corrections kept (oldest dropped first).</param>
/// <param name="keepEscalations">Escalations kept (oldest dropped first).</param>
public sealed class NightwatchState(int keepCorrections, int keepEscalations)
{
    private readonly LinkedList<DriftCorrection> _corrections = new();
    private readonly List<EscalationEntry> _escalations = [];
    private readonly Dictionary<string, string> _pendingHints = new(StringComparer.Ordinal);

    /// <summary>Agent -> the hint recorded for its next run and not used yet.</summary>
    public IReadOnlyDictionary<string, string> PendingHints => _pendingHints;

    /// <summary>Applies one persisted event of Nightwatch; false when <paramref name="e"/> is none of them.</summary>
    public bool Apply(object e)
    {
        switch (e)
        {
            case DriftCorrection c:
                _corrections.AddLast(c);
                while (_corrections.Count > keepCorrections)
                {
                    _corrections.RemoveFirst();
                }

                _pendingHints[c.Agent] = c.Hint;
                return true;
            case Escalation x:
                _escalations.Add(new EscalationEntry(x, null));
                if (_escalations.Count > keepEscalations)
                {
                    _escalations.RemoveRange(0, _escalations.Count - keepEscalations);
                }

                return true;
            case EscalationDelivered d:
                var i = _escalations.FindIndex(x => x.Escalation.Id == d.Id);
                if (i >= 0)
                {
                    _escalations[i] = _escalations[i] with { Delivery = d };
                }

                return true;
            case DriftHintUsed u:
                _pendingHints.Remove(u.Agent);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The agent's most recent correction; null when none is kept.</summary>
    public DriftCorrection? LastCorrection(string agent)
    {
        for (var node = _corrections.Last; node is not null; node = node.Previous)
        {
            if (node.Value.Agent == agent)
            {
                return node.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// The agents whose latest correction is a pause that still holds at <paramref name="now"/> (each lasts
    /// <paramref name="pauseFor"/>), with when it ends.
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset> PausesInForce(TimeSpan pauseFor, DateTimeOffset now)
    {
        var held = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var agent in _corrections.Select(c => c.Agent).Distinct(StringComparer.Ordinal))
        {
            if (LastCorrection(agent) is { Action: CorrectionAction.Pause } pause && pause.At + pauseFor > now)
            {
                held[agent] = pause.At + pauseFor;
            }
        }

        return held;
    }

    /// <summary>
    /// Why the cluster's decisions refuse a correction a node's windows proposed (null: record it): the agent's same rung
    /// was recorded less than <paramref name="cooldown"/> before it (the agent moved and its new node's ladder climbed from
    /// scratch, or the same proposal came twice across a hand-over), or its pause, <paramref name="pauseFor"/> long, still
    /// holds (a paused agent's ladder takes no rung).
    /// </summary>
    public string? Refusal(DriftCorrection proposed, TimeSpan cooldown, TimeSpan pauseFor)
    {
        for (var node = _corrections.Last; node is not null; node = node.Previous)
        {
            if (node.Value.Agent == proposed.Agent && node.Value.Action == proposed.Action)
            {
                var ago = proposed.At - node.Value.At;
                if (ago < cooldown)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"its {Name(proposed.Action)} was recorded at {node.Value.At:u}, within the cooldown of {cooldown.TotalSeconds:0} s");
                }

                break;
            }
        }

        if (LastCorrection(proposed.Agent) is { Action: CorrectionAction.Pause } pause && pause.At + pauseFor > proposed.At)
        {
            return string.Create(CultureInfo.InvariantCulture, $"its pause holds until {pause.At + pauseFor:u}");
        }

        return null;

        static string Name(CorrectionAction a) => a.ToString().ToLowerInvariant();
    }

    /// <summary>The most recent escalations, newest first.</summary>
    public IReadOnlyList<EscalationEntry> Escalations(int limit) => _escalations.AsEnumerable().Reverse().Take(Math.Max(1, limit)).ToList();

    /// <summary>The corrections and escalations recorded at or after <paramref name="since"/>, oldest first (the compound review's scan).</summary>
    public NightwatchRecords Records(DateTimeOffset since) => new(
        _corrections.Where(c => c.At >= since).ToList(),
        _escalations.Where(e => e.Escalation.At >= since).ToList());

    public NightwatchSnapshot Snapshot() => new(_corrections.ToList(), _escalations.ToList(), new Dictionary<string, string>(_pendingHints, StringComparer.Ordinal));

    /// <summary>Takes the state of a snapshot (on recovery, before the events recorded after it are applied).</summary>
    public void Restore(NightwatchSnapshot s)
    {
        _corrections.Clear();
        foreach (var c in s.Corrections)
        {
            _corrections.AddLast(c);
        }

        _escalations.Clear();
        _escalations.AddRange(s.Escalations);
        _pendingHints.Clear();
        foreach (var (agent, hint) in s.PendingHints)
        {
            _pendingHints[agent] = hint;
        }
    }
}
