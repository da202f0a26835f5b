namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// What Nightwatch watches, from the fleet's latest revision: the agents with their <see cref="WatchProfile"/>s, the
/// providers (for pricing), the <c>nightwatch</c> settings with their compiled <see cref="LinePatterns"/>, and one
/// <see cref="AgentWatch"/> per agent seen. Pure: <see cref="NightwatchActor"/> keeps one and feeds it.
/// </summary>
public sealed class WatchedFleet
{
    private readonly Dictionary<string, AgentWatch> _watches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AgentSpec> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProviderSpec> _providers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WatchProfile> _profiles = new(StringComparer.Ordinal);

    public NightwatchSpec Spec { get; private set; } = new();

    public LinePatterns Patterns { get; private set; } = LinePatterns.From(new NightwatchSpec());

    public IReadOnlyDictionary<string, AgentSpec> Agents => _agents;

    public IReadOnlyDictionary<string, ProviderSpec> Providers => _providers;

    /// <summary>The watches made so far (an agent gets one at its first event).</summary>
    public IReadOnlyDictionary<string, AgentWatch> Watches => _watches;

    public bool Watched(string agent) => _agents.ContainsKey(agent);

    /// <summary>
    /// A new revision: patterns compiled again only when they changed; the watches of agents no longer declared are
    /// dropped, and all of them when the window changed (their signals were counted over the old one); the others
    /// take their agent's new profile.
    /// </summary>
    public void Apply(FleetSpec fleet)
    {
        if (!Spec.ErrorPatterns.SequenceEqual(fleet.Nightwatch.ErrorPatterns) || !Spec.RateLimitPatterns.SequenceEqual(fleet.Nightwatch.RateLimitPatterns))
        {
            Patterns = LinePatterns.From(fleet.Nightwatch);
        }

        var windowChanged = Spec.Window != fleet.Nightwatch.Window;
        Spec = fleet.Nightwatch;
        _agents.Clear();
        _profiles.Clear();
        foreach (var a in fleet.Agents)
        {
            _agents[a.Name] = a;
            _profiles[a.Name] = WatchProfile.For(a, fleet.Layer(a.Layer));
        }

        _providers.Clear();
        foreach (var p in fleet.Providers)
        {
            _providers[p.Name] = p;
        }

        foreach (var gone in _watches.Keys.Where(k => !_agents.ContainsKey(k)).ToList())
        {
            _watches.Remove(gone);
        }

        if (windowChanged)
        {
            _watches.Clear();
        }

        foreach (var (name, w) in _watches)
        {
            w.Signals.Profile = _profiles[name];
        }
    }

    /// <summary>The agent's watch, made (with its profile and the current window) at its first use.</summary>
    public AgentWatch WatchOf(string agent)
    {
        if (!_watches.TryGetValue(agent, out var w))
        {
            w = new AgentWatch(agent, Spec.Window);
            w.Signals.Profile = _profiles.GetValueOrDefault(agent, WatchProfile.Default);
            _watches[agent] = w;
        }

        return w;
    }

    /// <summary><c>df drift</c>: every declared agent (or the one asked for) by name, a watch-less agent at normal.</summary>
    public DriftSnapshot Drift(string? agent, NightwatchState state, DateTimeOffset now)
    {
        var list = new List<AgentDrift>();
        foreach (var name in _agents.Keys.Order(StringComparer.Ordinal).Where(n => agent is null || agent == n))
        {
            var w = _watches.GetValueOrDefault(name);
            list.Add(new AgentDrift(
                name,
                w?.Score ?? 0,
                w?.Level ?? DriftLevel.Normal,
                w?.Components ?? DriftComponents.Zero,
                w?.UpdatedAt ?? now,
                state.LastCorrection(name),
                state.PendingHints.GetValueOrDefault(name),
                w?.Paused ?? false,
                w?.Provider ?? _agents[name].Provider));
        }

        return new DriftSnapshot(list);
    }

    /// <summary>
    /// The cluster's <c>df drift</c> (the decisions' part, which keeps no window): every declared agent (or the one asked
    /// for) at the level its node last reported (<paramref name="seen"/>; normal when none), with the records kept here.
    /// The score is the one of that level change: the live score between changes is on the agent's node.
    /// </summary>
    public DriftSnapshot Drift(string? agent, NightwatchState state, DateTimeOffset now, IReadOnlyDictionary<string, DriftSeen> seen)
    {
        var paused = state.PausesInForce(Spec.PauseFor, now);
        var list = new List<AgentDrift>();
        foreach (var name in _agents.Keys.Order(StringComparer.Ordinal).Where(n => agent is null || agent == n))
        {
            var v = seen.GetValueOrDefault(name);
            list.Add(new AgentDrift(
                name,
                v?.Verdict.Score ?? 0,
                v?.Verdict.Level ?? DriftLevel.Normal,
                v?.Verdict.Components ?? DriftComponents.Zero,
                v?.Verdict.At ?? now,
                state.LastCorrection(name),
                state.PendingHints.GetValueOrDefault(name),
                paused.ContainsKey(name),
                v?.Provider ?? _agents[name].Provider));
        }

        return new DriftSnapshot(list);
    }
}
