namespace DarkFactory.Actors.Control;

/// <summary>
/// The last known status of every agent; each new snapshot of the fleet yields only what changed
/// (agents whose status differs, agents that are gone), so live views get deltas, not the whole fleet.
/// </summary>
public sealed class StatusTracker
{
    private readonly Dictionary<string, AgentStatus> _last = new(StringComparer.Ordinal);

    public IReadOnlyCollection<AgentStatus> Current => _last.Values;

    /// <summary>True once a first snapshot arrived.</summary>
    public bool Known { get; private set; }

    public (IReadOnlyList<AgentStatus> Changed, IReadOnlyList<string> Removed) Update(IReadOnlyList<AgentStatus> snapshot)
    {
        Known = true;
        var changed = new List<AgentStatus>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var status in snapshot)
        {
            present.Add(status.Agent);
            if (!_last.TryGetValue(status.Agent, out var before) || before != status)
            {
                _last[status.Agent] = status;
                changed.Add(status);
            }
        }

        var removed = _last.Keys.Where(k => !present.Contains(k)).ToList();
        foreach (var name in removed)
        {
            _last.Remove(name);
        }

        return (changed, removed);
    }
}
