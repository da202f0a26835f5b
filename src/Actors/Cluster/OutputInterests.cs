using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// What a node's output relay knows of the other nodes' interest in its agents' output (<see cref="OutputInterest"/>),
/// and the budget that bounds what it sends them: an interest lapses <paramref name="lease"/> after the node last said
/// it (a node that died stops costing anything), and an agent's output crosses at most <paramref name="bytesPerSecond"/>
/// (a flood watched from another node does not flood the network: the lines held back are counted and told with the
/// next batch sent). Pure: the relay gives it the time.
/// </summary>
public sealed class OutputInterests(TimeSpan lease, long bytesPerSecond)
{
    private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _watchers = new(StringComparer.Ordinal); // agent → node → until
    private readonly Dictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    /// <summary>A node's interest, replacing what it said before (an empty list withdraws it).</summary>
    public void Said(OutputInterest interest, DateTimeOffset now)
    {
        foreach (var (agent, nodes) in _watchers)
        {
            nodes.Remove(interest.Node);
            if (nodes.Count == 0)
            {
                _watchers.Remove(agent);
                _budgets.Remove(agent);
            }
        }

        foreach (var agent in interest.Agents)
        {
            if (!_watchers.TryGetValue(agent, out var nodes))
            {
                _watchers[agent] = nodes = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            }

            nodes[interest.Node] = now + lease;
        }
    }

    /// <summary>Whether some other node watches <paramref name="agent"/> now.</summary>
    public bool Watched(string agent, DateTimeOffset now)
    {
        if (!_watchers.TryGetValue(agent, out var nodes))
        {
            return false;
        }

        foreach (var (node, until) in nodes)
        {
            if (until <= now)
            {
                nodes.Remove(node);
            }
        }

        if (nodes.Count > 0)
        {
            return true;
        }

        _watchers.Remove(agent);
        _budgets.Remove(agent);
        return false;
    }

    /// <summary>
    /// A batch of <paramref name="agent"/>'s output of <paramref name="bytes"/> and <paramref name="lines"/>, watched:
    /// null when it is held back (over this second's budget), else the lines held back before it (0 when none).
    /// </summary>
    public long? Send(string agent, int bytes, int lines, DateTimeOffset now)
    {
        if (!_budgets.TryGetValue(agent, out var budget) || now - budget.Since >= TimeSpan.FromSeconds(1))
        {
            budget = new Budget(now, 0, budget.Skipped);
        }

        if (budget.Bytes > 0 && budget.Bytes + bytes > bytesPerSecond)
        {
            _budgets[agent] = budget with { Skipped = budget.Skipped + lines };
            return null;
        }

        _budgets[agent] = new Budget(budget.Since, budget.Bytes + bytes, 0);
        return budget.Skipped;
    }

    /// <summary>The agents some node watches (for the relay's view and tests).</summary>
    public IReadOnlyCollection<string> Agents => _watchers.Keys;

    private readonly record struct Budget(DateTimeOffset Since, long Bytes, long Skipped);
}
