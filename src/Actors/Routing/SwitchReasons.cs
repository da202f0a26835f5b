namespace DarkFactory.Actors.Routing;

/// <summary>Why an agent's runs left a provider for another one, read from the board when the switch happened (pure).</summary>
public static class SwitchReasons
{
    /// <param name="timedOut">The agent's last run on <paramref name="previous"/> was killed (max runtime).</param>
    public static (SwitchReason Reason, string Detail) Why(string agent, string previous, ProviderBoard board, bool timedOut)
    {
        if (timedOut)
        {
            return (SwitchReason.Timeout, $"the last run on {previous} timed out");
        }

        if (board.Avoids.TryGetValue(agent, out var avoids) && avoids.FirstOrDefault(a => a.Provider == previous) is { } avoided)
        {
            var until = avoided.Until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            return (SwitchReason.Drift, $"{previous} avoided after severe drift until {until} ({avoided.Reason})");
        }

        var c = board.Of(previous);
        return c.State switch
        {
            ProviderState.Limited => (SwitchReason.RateLimit, $"{previous} is rate limited ({c.Reason})"),
            ProviderState.Open => (SwitchReason.Error, $"{previous}'s circuit breaker is open ({c.Reason})"),
            ProviderState.OverBudget when !c.Budget => (SwitchReason.CreditsExhausted, $"{previous}: {c.Reason}"),
            ProviderState.OverBudget => (SwitchReason.BudgetExceeded, $"{previous}: {c.Reason}"),
            _ => (SwitchReason.Routing, "the task routes elsewhere"),
        };
    }
}
