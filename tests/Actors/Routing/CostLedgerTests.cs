using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

public sealed class CostLedgerTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 30, 0, TimeSpan.Zero);

    private static readonly ProviderSpec Anthropic = new()
    {
        Name = "anthropic",
        Cli = "claude",
        Prices = new ProviderPrices { InputPerMillion = 3, OutputPerMillion = 15, CachedInputPerMillion = 0.3m },
        Limits = new ProviderLimits { BudgetPerHour = 1, BudgetPerDay = 2, Credits = 10 },
    };

    private static AgentUsage Usage(string agent, string run, long input, long output, DateTimeOffset at, decimal? cost = null, string? provider = "anthropic") =>
        new(agent, run, provider, "claude-sonnet-4-5", input, output, at, CostUsd: cost);

    [Fact]
    public void Tokens_are_priced_with_the_providers_prices_when_the_cli_reported_no_cost()
    {
        var priced = CostLedger.Price(new AgentUsage("a", "r1", "anthropic", "m", 1_000_000, 100_000, At, CachedInputTokens: 1_000_000), null, Anthropic);
        Assert.True(priced.Priced);
        Assert.Equal(3m + 1.5m + 0.3m, priced.CostUsd);

        var reported = CostLedger.Price(Usage("a", "r1", 1_000_000, 0, At, cost: 0.42m), null, Anthropic);
        Assert.False(reported.Priced);
        Assert.Equal(0.42m, reported.CostUsd);
    }

    [Fact]
    public void The_runs_provider_is_used_when_the_usage_names_none()
    {
        var e = CostLedger.Price(Usage("a", "r1", 10, 10, At, provider: null), "openai", null);
        Assert.Equal("openai", e.Provider);
    }

    [Fact]
    public void Reports_group_by_provider_agent_day_and_run()
    {
        var ledger = new CostLedger();
        ledger.Apply(CostLedger.Price(Usage("reviewer", "r1", 0, 0, At, cost: 1.00m), null, Anthropic));
        ledger.Apply(CostLedger.Price(Usage("reviewer", "r1", 0, 0, At.AddMinutes(1), cost: 0.50m), null, Anthropic)); // same run
        ledger.Apply(CostLedger.Price(Usage("implementer", "r2", 0, 0, At.AddDays(1), cost: 2.00m, provider: "openai"), null, null));

        var byProvider = ledger.Report("provider");
        Assert.Equal(3.50m, byProvider.TotalUsd);
        Assert.Equal(("openai", 2.00m, 1), (byProvider.Rows[0].Key, byProvider.Rows[0].CostUsd, byProvider.Rows[0].Runs));
        Assert.Equal(("anthropic", 1.50m, 1), (byProvider.Rows[1].Key, byProvider.Rows[1].CostUsd, byProvider.Rows[1].Runs));

        Assert.Equal(["implementer", "reviewer"], ledger.Report("agent").Rows.Select(r => r.Key));
        Assert.Equal(["2026-11-23", "2026-11-22"], ledger.Report("day").Rows.Select(r => r.Key));
        Assert.Equal(1.50m, ledger.Report("run").Rows.Single(r => r.Key == "r1").CostUsd);
    }

    [Fact]
    public void Provider_budgets_per_hour_and_day_and_credits()
    {
        var ledger = new CostLedger();
        ledger.Apply(CostLedger.Price(Usage("a", "r1", 0, 0, At, cost: 0.99m), null, Anthropic));
        Assert.Null(Budgets.Provider(ledger, Anthropic, At));

        ledger.Apply(CostLedger.Price(Usage("a", "r2", 0, 0, At, cost: 0.01m), null, Anthropic));
        var hourly = Budgets.Provider(ledger, Anthropic, At)!;
        Assert.Equal(ProviderState.OverBudget, hourly.State);
        Assert.True(hourly.Budget);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 13, 0, 0, TimeSpan.Zero), hourly.ResetAt);
        Assert.Contains("hourly budget $1.00 reached", hourly.Reason);

        // next hour: the hourly window is fresh, the daily one is not yet full
        Assert.Null(Budgets.Provider(ledger, Anthropic, At.AddHours(1)));
        ledger.Apply(CostLedger.Price(Usage("a", "r3", 0, 0, At.AddHours(1), cost: 1.00m), null, Anthropic));
        var daily = Budgets.Provider(ledger, Anthropic, At.AddHours(2))!;
        Assert.Contains("daily budget $2.00 reached", daily.Reason);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), daily.ResetAt);

        ledger.Apply(CostLedger.Price(Usage("a", "r4", 0, 0, At.AddDays(2), cost: 8.00m), null, Anthropic));
        var credits = Budgets.Provider(ledger, Anthropic, At.AddDays(3))!;
        Assert.False(credits.Budget);
        Assert.Null(credits.ResetAt);
        Assert.Contains("credits exhausted: $10.00 of $10.00", credits.Reason);
    }

    [Fact]
    public void Agent_budgets_sum_the_agents_spend_across_providers()
    {
        var ledger = new CostLedger();
        var agent = new AgentSpec { Name = "implementer", Budget = new AgentBudget { PerDay = 3 } };
        ledger.Apply(CostLedger.Price(Usage("implementer", "r1", 0, 0, At, cost: 2m), null, null));
        Assert.Null(Budgets.Agent(ledger, agent, At));
        ledger.Apply(CostLedger.Price(Usage("implementer", "r2", 0, 0, At, cost: 1m, provider: "openai"), null, null));

        var over = Budgets.Agent(ledger, agent, At)!;
        Assert.Contains("daily budget $3.00 reached: $3.00 spent", over.Reason);
    }

    [Fact]
    public void Old_hourly_buckets_fold_into_days_and_snapshots_restore_everything()
    {
        var ledger = new CostLedger();
        ledger.Apply(CostLedger.Price(Usage("a", "r1", 10, 1, At, cost: 1m), null, null));
        ledger.Apply(CostLedger.Price(Usage("a", "r2", 10, 1, At.AddHours(3), cost: 2m), null, null));
        ledger.Compact(At.AddDays(40));
        Assert.Equal(3m, ledger.Report("day").Rows.Single().CostUsd);
        Assert.Equal(2, ledger.Report("day").Rows.Single().Runs);

        var (buckets, runs) = ledger.ToSnapshot();
        var restored = new CostLedger();
        restored.Restore(buckets, runs);
        Assert.Equal(ledger.Report("provider"), restored.Report("provider"), new ReportComparer());
        Assert.Equal(2m, restored.Run("r2")!.CostUsd);
    }

    private sealed class ReportComparer : IEqualityComparer<CostReport>
    {
        public bool Equals(CostReport? x, CostReport? y) => x!.TotalUsd == y!.TotalUsd && x.Rows.SequenceEqual(y.Rows);

        public int GetHashCode(CostReport obj) => obj.TotalUsd.GetHashCode();
    }
}
