namespace DarkFactory.Actors.Routing;

/// <summary>
/// How routed runs ended, as the router sees them (runtime, not persisted): an exit closes the provider's
/// breaker and feeds its measured run time (a moving mean), a crash or a kill (max runtime) counts toward
/// opening it, and a kill is remembered as the reason for the agent's next switch. Pure.
/// </summary>
public sealed class RunOutcomes
{
    private readonly Dictionary<string, double> _latency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _started = new(StringComparer.Ordinal);
    private readonly HashSet<string> _timedOut = new(StringComparer.Ordinal);

    /// <summary>Provider -> mean run time in milliseconds (0.7 old + 0.3 new).</summary>
    public IReadOnlyDictionary<string, double> LatencyMs => _latency;

    /// <summary>A run was routed (and starts now).</summary>
    public void Started(string runId, DateTimeOffset at) => _started[runId] = at;

    /// <summary>The run <paramref name="e"/> ran on <paramref name="provider"/>: its breaker transition, if any.</summary>
    public BreakerTransitioned? Ended(AgentLifecycle e, string provider, ProviderHealth health)
    {
        var runId = e.RunId!;
        switch (e.Kind)
        {
            case LifecycleKind.Exited:
                if (_started.Remove(runId, out var at))
                {
                    var ms = (e.At - at).TotalMilliseconds;
                    _latency[provider] = _latency.TryGetValue(provider, out var old) ? (0.7 * old) + (0.3 * ms) : ms;
                }

                return health.Success(provider);
            case LifecycleKind.Crashed:
                _started.Remove(runId);
                return health.Failure(provider, $"run {runId} of {e.Agent} crashed{(e.Detail is null ? string.Empty : $": {e.Detail}")}");
            case LifecycleKind.Killed:
                _started.Remove(runId);
                _timedOut.Add(e.Agent);
                return health.Failure(provider, $"run {runId} of {e.Agent} timed out");
            case LifecycleKind.Stopped:
                _started.Remove(runId);
                return null;
            default:
                return null;
        }
    }

    /// <summary>True once after a run of <paramref name="agent"/> was killed (timed out): the reason of its next switch.</summary>
    public bool TakeTimedOut(string agent) => _timedOut.Remove(agent);
}
