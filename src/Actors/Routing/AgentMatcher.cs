namespace DarkFactory.Actors.Routing;

/// <summary>
/// Finds the agent for a task (pure; compiled once per fleet revision): by name, or the AI agent whose
/// capabilities the task names most often (one keyword automaton over every capability; declaration order breaks
/// ties). `df route` and <c>POST /api/route</c> without an agent, and the compound review without a
/// <c>compound_review.agent</c>, ask it.
/// </summary>
public sealed class AgentMatcher
{
    private readonly AgentSpec[] _aiAgents;
    private readonly KeywordMatcher _capabilityMatcher;
    private readonly int[][] _capabilityAgents;  // capability id -> AI agents having it
    private readonly Dictionary<string, AgentSpec> _agentsByName;

    public AgentMatcher(FleetSpec fleet)
    {
        _aiAgents = fleet.Agents.Where(a => a.Cli != CliCatalog.Command).ToArray();
        _agentsByName = fleet.Agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
        var capabilities = _aiAgents.SelectMany(a => a.Capabilities).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        _capabilityMatcher = new KeywordMatcher(capabilities);
        _capabilityAgents = capabilities
            .Select(c => _aiAgents.Select((a, i) => (a, i)).Where(x => x.a.Capabilities.Contains(c, StringComparer.OrdinalIgnoreCase)).Select(x => x.i).ToArray())
            .ToArray();
    }

    /// <summary>The agent of that name; null when the fleet has none.</summary>
    public AgentSpec? Named(string name) => _agentsByName.GetValueOrDefault(name);

    /// <summary>The AI agent whose capabilities the task names most often (declaration order breaks ties); null when none.</summary>
    public AgentSpec? BestFit(string task)
    {
        if (_aiAgents.Length == 0)
        {
            return null;
        }

        Span<bool> found = _capabilityMatcher.Count <= 256 ? stackalloc bool[_capabilityMatcher.Count] : new bool[_capabilityMatcher.Count];
        if (_capabilityMatcher.Match(task, found) == 0)
        {
            return null;
        }

        Span<int> score = _aiAgents.Length <= 256 ? stackalloc int[_aiAgents.Length] : new int[_aiAgents.Length];
        for (var c = 0; c < found.Length; c++)
        {
            if (found[c])
            {
                foreach (var a in _capabilityAgents[c])
                {
                    score[a]++;
                }
            }
        }

        var best = -1;
        for (var a = 0; a < score.Length; a++)
        {
            if (score[a] > 0 && (best < 0 || score[a] > score[best]))
            {
                best = a;
            }
        }

        return best < 0 ? null : _aiAgents[best];
    }
}
