namespace DarkFactory.Actors.Routing;

/// <summary>
/// The agents that wait for a route (<see cref="AwaitRoute"/>: every candidate limited, broken or over budget) and the
/// limited providers the router is probing for them. Pure: <see cref="ProviderRouterActor"/> asks it, while any agent
/// waits, which providers to probe and which agents a returned route resumes.
/// </summary>
public sealed class RouteWaitList
{
    private readonly Dictionary<string, AwaitRoute> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _probing = new(StringComparer.Ordinal);

    public int Count => _waiting.Count;

    /// <summary>The waiting agents' names.</summary>
    public IReadOnlyCollection<string> Agents => _waiting.Keys;

    /// <summary>The agent waits (again: its latest task counts).</summary>
    public void Add(AwaitRoute wait) => _waiting[wait.Agent] = wait;

    /// <summary>The agent got a route (a run of it started): it waits no more.</summary>
    public void Remove(string agent) => _waiting.Remove(agent);

    /// <summary>The fleet's limited providers not already being probed: each is probed once until its probe answered.</summary>
    public IReadOnlyList<ProviderSpec> ProbesDue(FleetSpec fleet, ProviderBoard board) =>
        [.. fleet.Providers.Where(p => board.Of(p.Name).State == ProviderState.Limited && _probing.Add(p.Name))];

    /// <summary>The probe of <paramref name="provider"/> answered (either way): it may be probed again.</summary>
    public void Answered(string provider) => _probing.Remove(provider);

    /// <summary>
    /// The waiting agents that have a route on <paramref name="board"/> now, with it, taken off the list (to be resumed);
    /// an agent the fleet no longer declares is taken off too. Routed as the layers route (<see cref="RouteBoard.Decide"/>):
    /// an agent whose command overrides its CLI's needs no CLI installed.
    /// </summary>
    public IReadOnlyList<(AwaitRoute Wait, Route Route)> Resumable(ProviderBoard board, RoutingPolicy policy, AgentMatcher agents)
    {
        var resumed = new List<(AwaitRoute, Route)>();
        foreach (var wait in _waiting.Values.ToList())
        {
            var agent = agents.Named(AgentInstance.BaseOf(wait.Agent));
            if (agent is null)
            {
                _waiting.Remove(wait.Agent);
                continue;
            }

            var decision = policy.Choose(wait.Task ?? agent.Task ?? string.Empty, agent, agent.Command.Count > 0 ? board with { EnforceInstalled = false } : board);
            if (decision.Chosen is { } route)
            {
                _waiting.Remove(wait.Agent);
                resumed.Add((wait, route));
            }
        }

        return resumed;
    }
}
