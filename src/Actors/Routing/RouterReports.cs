namespace DarkFactory.Actors.Routing;

/// <summary>What `df providers` and `df costs` show of the router's state (pure).</summary>
public static class RouterReports
{
    /// <summary>Each provider's state, spend and failures; the agents waiting for a route; recent switches; avoided routes.</summary>
    public static ProvidersSnapshot Providers(FleetSpec fleet, RouterState state, ProviderBoard board, IReadOnlyCollection<string> waiting, DateTimeOffset now)
    {
        var today = CostLedger.Day(now);
        var providers = fleet.Providers.Select(p =>
        {
            var c = board.Of(p.Name);
            return new ProviderStatus(
                p.Name, p.Cli, c.State, c.ResetAt, state.Ledger.ProviderSpend(p.Name),
                c.State == ProviderState.Ok ? board.MissingClis.GetValueOrDefault(p.Cli) : c.Reason,
                state.Ledger.ProviderSpend(p.Name, today), state.Health.ConsecutiveFailures(p.Name), Polling: waiting.Count > 0);
        }).ToList();
        return new ProvidersSnapshot(providers, waiting.Order(StringComparer.Ordinal).ToList(), state.RecentSwitches(20).ToList(), state.ActiveAvoids(now).ToList());
    }

    /// <summary>Spend against caps today and this month (UTC): every provider, and every agent with a budget.</summary>
    public static List<BudgetLine> Budgets(FleetSpec fleet, CostLedger ledger, DateTimeOffset now)
    {
        var (today, month) = (CostLedger.Day(now), CostLedger.Month(now));
        var lines = fleet.Providers.Select(p => new BudgetLine(
            p.Name, "provider", ledger.ProviderSpend(p.Name, today), p.Limits.BudgetPerDay, ledger.ProviderSpend(p.Name, month), p.Limits.BudgetPerMonth, p.Limits.Credits)).ToList();
        lines.AddRange(fleet.Agents.Where(a => a.Budget.Any).Select(a => new BudgetLine(
            a.Name, "agent", ledger.AgentSpend(a.Name, today), a.Budget.PerDay, ledger.AgentSpend(a.Name, month), a.Budget.PerMonth)));
        return lines;
    }
}
