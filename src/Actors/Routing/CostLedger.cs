namespace DarkFactory.Actors.Routing;

/// <summary>
/// The cost ledger: tokens and USD per run, agent, provider and day, from <see cref="AgentUsage"/> events
/// (priced with <c>providers[].prices</c> when the CLI reported no cost). Totals are kept per agent,
/// provider and UTC hour (per day once older than <see cref="HourlyHorizon"/>), so budgets per hour,
/// day and month are sums over a few buckets; the last <see cref="RecentRuns"/> runs are kept one by one.
/// </summary>
public sealed class CostLedger
{
    public static readonly TimeSpan HourlyHorizon = TimeSpan.FromDays(35);
    public const int RecentRuns = 1000;

    private readonly Dictionary<(string Agent, string Provider, DateTimeOffset Start), CostBucket> _buckets = [];
    private readonly Dictionary<string, CostBucket> _runs = new(StringComparer.Ordinal);
    private readonly Queue<string> _runOrder = new();

    /// <summary>The ledger entry of a usage event; <paramref name="provider"/> is the run's provider when the event has none.</summary>
    public static CostRecorded Price(AgentUsage usage, string? provider, ProviderSpec? spec)
    {
        provider = usage.Provider ?? provider;
        if (usage.CostUsd is { } reported)
        {
            return new CostRecorded(usage.Agent, usage.RunId, provider, usage.Model, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, reported, false, usage.At);
        }

        var prices = spec?.Prices ?? new ProviderPrices();
        var cost = ((usage.InputTokens * prices.InputPerMillion) + (usage.OutputTokens * prices.OutputPerMillion) + (usage.CachedInputTokens * prices.CachedInputPerMillion)) / 1_000_000m;
        return new CostRecorded(usage.Agent, usage.RunId, provider, usage.Model, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, decimal.Round(cost, 6), true, usage.At);
    }

    public void Apply(CostRecorded e)
    {
        var provider = e.Provider ?? string.Empty;
        var newRun = !_runs.TryGetValue(e.RunId, out var run);
        run = newRun
            ? new CostBucket(e.Agent, e.Provider, e.At, 1, e.InputTokens, e.OutputTokens, e.CachedInputTokens, e.CostUsd, e.RunId)
            : Add(run!, e, 0);
        _runs[e.RunId] = run;
        if (newRun)
        {
            _runOrder.Enqueue(e.RunId);
            while (_runOrder.Count > RecentRuns)
            {
                _runs.Remove(_runOrder.Dequeue());
            }
        }

        var key = (e.Agent, provider, Hour(e.At));
        _buckets[key] = _buckets.TryGetValue(key, out var b)
            ? Add(b, e, newRun ? 1 : 0)
            : new CostBucket(e.Agent, e.Provider, key.Item3, newRun ? 1 : 0, e.InputTokens, e.OutputTokens, e.CachedInputTokens, e.CostUsd);
    }

    /// <summary>Folds hourly buckets older than the horizon into daily ones (keeps memory bounded).</summary>
    public void Compact(DateTimeOffset now)
    {
        var horizon = now - HourlyHorizon;
        foreach (var (key, b) in _buckets.Where(kv => kv.Key.Start < horizon && kv.Key.Start != Day(kv.Key.Start)).ToList())
        {
            _buckets.Remove(key);
            var day = (key.Agent, key.Provider, Day(key.Start));
            _buckets[day] = _buckets.TryGetValue(day, out var d)
                ? d with { Runs = d.Runs + b.Runs, InputTokens = d.InputTokens + b.InputTokens, OutputTokens = d.OutputTokens + b.OutputTokens, CachedInputTokens = d.CachedInputTokens + b.CachedInputTokens, CostUsd = d.CostUsd + b.CostUsd }
                : b with { Start = day.Item3 };
        }
    }

    public decimal ProviderSpend(string provider, DateTimeOffset? since = null) =>
        _buckets.Where(kv => kv.Key.Provider == provider && (since is null || kv.Key.Start >= since)).Sum(kv => kv.Value.CostUsd);

    public decimal AgentSpend(string agent, DateTimeOffset? since = null) =>
        _buckets.Where(kv => kv.Key.Agent == agent && (since is null || kv.Key.Start >= since)).Sum(kv => kv.Value.CostUsd);

    public CostBucket? Run(string runId) => _runs.GetValueOrDefault(runId);

    /// <summary>Totals grouped by agent, provider, day (UTC, yyyy-MM-dd) or run, largest cost first (days: newest first).</summary>
    public CostReport Report(string by)
    {
        by = by.ToLowerInvariant();
        IEnumerable<CostBucket> source = by == "run" ? _runs.Values : _buckets.Values;
        Func<CostBucket, string> key = by switch
        {
            "agent" => b => b.Agent,
            "day" => b => b.Start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "run" => b => b.RunId ?? string.Empty,
            _ => b => b.Provider ?? "(unknown)",
        };
        var rows = source.GroupBy(key).Select(g => new CostRow(
            g.Key, g.Sum(b => b.Runs), g.Sum(b => b.InputTokens), g.Sum(b => b.OutputTokens), g.Sum(b => b.CachedInputTokens), g.Sum(b => b.CostUsd)));
        rows = by == "day" ? rows.OrderByDescending(r => r.Key, StringComparer.Ordinal) : rows.OrderByDescending(r => r.CostUsd).ThenBy(r => r.Key, StringComparer.Ordinal);
        return new CostReport(by is "agent" or "day" or "run" ? by : "provider", rows.ToList(), _buckets.Values.Sum(b => b.CostUsd));
    }

    public (IReadOnlyList<CostBucket> Buckets, IReadOnlyList<CostBucket> Runs) ToSnapshot() =>
        (_buckets.Values.ToList(), _runOrder.Select(r => _runs[r]).ToList());

    public void Restore(IReadOnlyList<CostBucket> buckets, IReadOnlyList<CostBucket> runs)
    {
        _buckets.Clear();
        _runs.Clear();
        _runOrder.Clear();
        foreach (var b in buckets)
        {
            _buckets[(b.Agent, b.Provider ?? string.Empty, b.Start)] = b;
        }

        foreach (var r in runs.Where(r => r.RunId is not null))
        {
            _runs[r.RunId!] = r;
            _runOrder.Enqueue(r.RunId!);
        }
    }

    public static DateTimeOffset Hour(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero);
    }

    public static DateTimeOffset Day(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return new DateTimeOffset(u.Year, u.Month, u.Day, 0, 0, 0, TimeSpan.Zero);
    }

    public static DateTimeOffset Month(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return new DateTimeOffset(u.Year, u.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }

    private static CostBucket Add(CostBucket b, CostRecorded e, int runs) => b with
    {
        Runs = b.Runs + runs,
        InputTokens = b.InputTokens + e.InputTokens,
        OutputTokens = b.OutputTokens + e.OutputTokens,
        CachedInputTokens = b.CachedInputTokens + e.CachedInputTokens,
        CostUsd = b.CostUsd + e.CostUsd,
    };
}

/// <summary>Budgets and caps (pure): which providers and agents are over a spend window or out of credits now.</summary>
public static class Budgets
{
    /// <summary>The over-budget condition of a provider, or null when within every cap.</summary>
    public static ProviderCondition? Provider(CostLedger ledger, ProviderSpec p, DateTimeOffset now)
    {
        var l = p.Limits;
        if (l.Credits is { } credits)
        {
            var total = ledger.ProviderSpend(p.Name);
            if (total >= credits)
            {
                return new ProviderCondition(ProviderState.OverBudget, null, $"credits exhausted: ${Money(total)} of ${Money(credits)}");
            }
        }

        return Window(l.BudgetPerHour, "hourly", CostLedger.Hour(now), CostLedger.Hour(now).AddHours(1), s => ledger.ProviderSpend(p.Name, s))
            ?? Window(l.BudgetPerDay, "daily", CostLedger.Day(now), CostLedger.Day(now).AddDays(1), s => ledger.ProviderSpend(p.Name, s))
            ?? Window(l.BudgetPerMonth, "monthly", CostLedger.Month(now), CostLedger.Month(now).AddMonths(1), s => ledger.ProviderSpend(p.Name, s));
    }

    /// <summary>The over-budget condition of an agent (agents[].budget), or null.</summary>
    public static AgentCondition? Agent(CostLedger ledger, AgentSpec a, DateTimeOffset now)
    {
        var b = a.Budget;
        if (!b.Any)
        {
            return null;
        }

        var over = Window(b.PerHour, "hourly", CostLedger.Hour(now), CostLedger.Hour(now).AddHours(1), s => ledger.AgentSpend(a.Name, s))
            ?? Window(b.PerDay, "daily", CostLedger.Day(now), CostLedger.Day(now).AddDays(1), s => ledger.AgentSpend(a.Name, s))
            ?? Window(b.PerMonth, "monthly", CostLedger.Month(now), CostLedger.Month(now).AddMonths(1), s => ledger.AgentSpend(a.Name, s));
        return over is null ? null : new AgentCondition(over.Reason!, over.ResetAt);
    }

    private static ProviderCondition? Window(decimal? cap, string name, DateTimeOffset start, DateTimeOffset reset, Func<DateTimeOffset, decimal> spend)
    {
        if (cap is not { } c)
        {
            return null;
        }

        var spent = spend(start);
        return spent >= c ? new ProviderCondition(ProviderState.OverBudget, reset, $"{name} budget ${Money(c)} reached: ${Money(spent)} spent", Budget: true) : null;
    }

    public static string Money(decimal d) => d.ToString("0.00##", CultureInfo.InvariantCulture);
}
