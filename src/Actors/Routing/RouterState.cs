namespace DarkFactory.Actors.Routing;

/// <summary>
/// The router's persisted state: the cost ledger, provider health (limits, breakers), the recent routes (run ->
/// provider attribution), each agent's last provider, the recent provider switches, the routes agents avoid and the
/// providers added at runtime.
/// <see cref="Apply"/> takes each persisted event (also on recovery); <see cref="Snapshot"/> and
/// <see cref="Restore"/> round-trip it through a <see cref="RouterSnapshot"/>. Pure apart from the clock that
/// <see cref="ProviderHealth"/> reads.
/// </summary>
public sealed class RouterState(TimeProvider clock)
{
    /// <summary>Routes remembered for attribution (usage, limits and outcomes of a run name its run id).</summary>
    public const int KeepRoutes = 2000;

    /// <summary>Provider switches kept for `df providers`.</summary>
    public const int KeepSwitches = 100;

    private readonly Dictionary<string, RouteChosen> _routes = new(StringComparer.Ordinal);
    private readonly Queue<string> _routeOrder = new();
    private readonly Dictionary<string, string> _lastProvider = new(StringComparer.Ordinal);
    private readonly LinkedList<ProviderSwitched> _switches = new();
    private readonly Dictionary<string, List<RouteAvoidRecorded>> _avoids = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, ProviderAdded> _added = new(StringComparer.Ordinal);
    private IReadOnlyList<ProviderSpec> _addedSpecs = [];

    public CostLedger Ledger { get; } = new();

    public ProviderHealth Health { get; } = new(clock);

    /// <summary>The providers added at runtime (<c>df provider add</c>), by name.</summary>
    public IReadOnlyDictionary<string, ProviderAdded> Added => _added;

    /// <summary>The same as provider specs, by name (one list until the next add or removal).</summary>
    public IReadOnlyList<ProviderSpec> AddedSpecs => _addedSpecs;

    /// <summary>Applies one persisted event of the router; false when <paramref name="e"/> is none of them.</summary>
    public bool Apply(object e)
    {
        switch (e)
        {
            case CostRecorded c:
                Ledger.Apply(c);
                return true;
            case ProviderLimitRecorded l:
                Health.Apply(l);
                return true;
            case BreakerTransitioned b:
                Health.Apply(b);
                return true;
            case RouteChosen r:
                Apply(r);
                return true;
            case ProviderSwitched s:
                Apply(s);
                return true;
            case RouteAvoidRecorded a:
                Apply(a);
                return true;
            case ProviderAdded a:
                _added[a.Name] = a;
                _addedSpecs = [.. _added.Values.Select(RuntimeProviders.Spec)];
                return true;
            case ProviderRemoved r:
                _added.Remove(r.Name);
                _addedSpecs = [.. _added.Values.Select(RuntimeProviders.Spec)];
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// What a run's route records: the route; a <see cref="ProviderSwitched"/> when the agent's last run was on another
    /// provider (why, from <paramref name="board"/>, asked only then); the half-open breaker's probe when this run is it.
    /// </summary>
    /// <param name="timedOut">Whether the agent's last run timed out (asked only on a switch).</param>
    public IReadOnlyList<object> EventsOf(RouteChosen chosen, Func<ProviderBoard> board, Func<bool> timedOut)
    {
        var events = new List<object> { chosen };
        if (chosen.Provider is not { } provider)
        {
            return events;
        }

        if (LastProvider(chosen.Agent) is { } previous && previous != provider)
        {
            var (reason, detail) = SwitchReasons.Why(chosen.Agent, previous, board(), timedOut());
            events.Add(new ProviderSwitched(chosen.Agent, chosen.RunId, previous, provider, reason, $"{detail}; {chosen.Reason}", chosen.At));
        }

        if (Health.RouteTaken(provider) is { } probe)
        {
            events.Add(probe);
        }

        return events;
    }

    /// <summary>The route of a recent run (the last <see cref="KeepRoutes"/>); null when unknown.</summary>
    public RouteChosen? RouteOf(string runId) => _routes.GetValueOrDefault(runId);

    /// <summary>The provider of the agent's last routed run; null when none.</summary>
    public string? LastProvider(string agent) => _lastProvider.GetValueOrDefault(agent);

    /// <summary>The most recent provider switches, newest first.</summary>
    public IEnumerable<ProviderSwitched> RecentSwitches(int count) => _switches.Reverse().Take(count);

    /// <summary>Unexpired avoided routes, by agent then expiry.</summary>
    public IEnumerable<RouteAvoidRecorded> ActiveAvoids(DateTimeOffset now) =>
        _avoids.Values.SelectMany(e => e).Where(a => a.Until > now).OrderBy(a => a.Agent, StringComparer.Ordinal).ThenBy(a => a.Until);

    /// <summary>Agent -> its unexpired avoided routes (agents with none are left out).</summary>
    public Dictionary<string, IReadOnlyList<RouteAvoidRecorded>> AvoidsByAgent(DateTimeOffset now)
    {
        var avoids = new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>>(StringComparer.Ordinal);
        foreach (var (agent, entries) in _avoids)
        {
            var active = entries.Where(a => a.Until > now).ToArray();
            if (active.Length > 0)
            {
                avoids[agent] = active;
            }
        }

        return avoids;
    }

    /// <summary>Forgets the avoided routes that expired by <paramref name="now"/>.</summary>
    public void DropExpiredAvoids(DateTimeOffset now)
    {
        foreach (var (agent, entries) in _avoids.ToList())
        {
            entries.RemoveAll(e => e.Until <= now);
            if (entries.Count == 0)
            {
                _avoids.Remove(agent);
            }
        }
    }

    /// <summary>When the first avoided route expires; null when none is recorded.</summary>
    public DateTimeOffset? NextAvoidExpiry()
    {
        DateTimeOffset? next = null;
        foreach (var a in _avoids.Values.SelectMany(e => e))
        {
            next = next is null || a.Until < next ? a.Until : next;
        }

        return next;
    }

    /// <summary>The whole state in one piece (expired limits and avoided routes left out).</summary>
    public RouterSnapshot Snapshot(DateTimeOffset now)
    {
        var (buckets, runs) = Ledger.ToSnapshot();
        return new RouterSnapshot(
            buckets, runs, Health.ActiveLimits(), Health.BreakerStates(), _routeOrder.Select(r => _routes[r]).ToList(), _switches.ToList(), ActiveAvoids(now).ToList(), [.. _added.Values]);
    }

    /// <summary>Takes the state of a snapshot (on recovery, before the events recorded after it are applied).</summary>
    public void Restore(RouterSnapshot s)
    {
        Ledger.Restore(s.Buckets, s.Runs);
        foreach (var l in s.Limits)
        {
            Health.Apply(l);
        }

        foreach (var b in s.Breakers)
        {
            Health.Apply(b);
        }

        foreach (var r in s.Routes)
        {
            Apply(r);
        }

        foreach (var sw in s.Switches)
        {
            Apply(sw);
        }

        foreach (var a in s.Avoids ?? [])
        {
            Apply(a);
        }

        foreach (var a in s.Added ?? [])
        {
            Apply(a);
        }
    }

    private void Apply(RouteChosen r)
    {
        if (!_routes.ContainsKey(r.RunId))
        {
            _routeOrder.Enqueue(r.RunId);
        }

        _routes[r.RunId] = r;
        while (_routeOrder.Count > KeepRoutes)
        {
            _routes.Remove(_routeOrder.Dequeue());
        }

        if (r.Provider is { } p)
        {
            _lastProvider[r.Agent] = p;
        }
    }

    private void Apply(ProviderSwitched s)
    {
        _switches.AddLast(s);
        while (_switches.Count > KeepSwitches)
        {
            _switches.RemoveFirst();
        }
    }

    /// <summary>Adds (or, for the same provider and model, replaces) an avoided route of an agent.</summary>
    private void Apply(RouteAvoidRecorded a)
    {
        if (!_avoids.TryGetValue(a.Agent, out var entries))
        {
            _avoids[a.Agent] = entries = [];
        }

        entries.RemoveAll(e => e.Provider == a.Provider && e.Model == a.Model);
        entries.Add(a);
    }
}
