using System.Collections.Frozen;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// Builds the <see cref="ProviderBoard"/> the router publishes from its state (pure): each provider's
/// condition (breaker or rate limit first, else a spend cap; the measured latency on top), the agents over their
/// own budget, the CLIs that are not installed and the unexpired avoided routes. Maps are frozen (the hot path
/// reads them).
/// </summary>
public static class BoardBuilder
{
    public static ProviderBoard Build(
        FleetSpec fleet,
        RouterState state,
        IReadOnlyDictionary<string, double> latencyMs,
        IReadOnlyDictionary<string, string> missingClis,
        DateTimeOffset now)
    {
        var providers = new Dictionary<string, ProviderCondition>(StringComparer.Ordinal);
        foreach (var p in fleet.Providers)
        {
            var c = state.Health.Condition(p.Name) ?? Budgets.Provider(state.Ledger, p, now);
            if (latencyMs.TryGetValue(p.Name, out var ms))
            {
                c = (c ?? ProviderCondition.Ok) with { LatencyMs = ms };
            }

            if (c is not null)
            {
                providers[p.Name] = c;
            }
        }

        var agents = new Dictionary<string, AgentCondition>(StringComparer.Ordinal);
        foreach (var a in fleet.Agents)
        {
            if (Budgets.Agent(state.Ledger, a, now) is { } over)
            {
                agents[a.Name] = over;
            }
        }

        return new ProviderBoard(providers.ToFrozenDictionary(StringComparer.Ordinal), agents.ToFrozenDictionary(StringComparer.Ordinal), missingClis.ToFrozenDictionary(StringComparer.Ordinal))
        {
            Avoids = state.AvoidsByAgent(now).ToFrozenDictionary(StringComparer.Ordinal),
        };
    }

    /// <summary>The providers' CLI kinds that are not installed, each with why and the command that installs it.</summary>
    /// <param name="findExecutable">A binary's path on PATH, or null when it is not installed.</param>
    public static IReadOnlyDictionary<string, string> MissingClis(FleetSpec fleet, Func<string, string?> findExecutable)
    {
        var missing = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cli in fleet.Providers.Select(p => p.Cli).Distinct())
        {
            if (CliCatalog.Known.TryGetValue(cli, out var info) && info.Binary is { } binary && findExecutable(binary) is null)
            {
                missing[cli] = $"'{binary}' is not installed (install: {info.InstallCommand})";
            }
        }

        return missing.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// When the board changes next by the clock alone: the breakers' next probe (<paramref name="healthNext"/>) or the
    /// earliest reset of a provider's limit or an agent's budget on <paramref name="board"/>; null: not by the clock.
    /// </summary>
    public static DateTimeOffset? NextChange(DateTimeOffset? healthNext, ProviderBoard board)
    {
        var next = healthNext;
        foreach (var at in board.Providers.Values.Select(c => c.ResetAt).Concat(board.Agents.Values.Select(a => a.ResetAt)).OfType<DateTimeOffset>())
        {
            next = next is null || at < next ? at : next;
        }

        return next;
    }
}
