using System.Collections.Concurrent;

namespace DarkFactory.Actors.Routing;

/// <summary>
/// The words of a routing decision (pure; one per <see cref="RoutingPolicy"/>): why the chosen route won, why
/// each other candidate lost, what a provider's condition is. Explanations repeat from decision to decision, so
/// those that depend only on a few indices (<see cref="Explanation"/>) are built once and cached (thread-safe;
/// the condition texts bounded).
/// </summary>
internal sealed class RouteExplainer(ProviderSpec[] providers, RoutingRuleSpec[] rules, decimal[] blendedPrice, double[] weights)
{
    private readonly ConcurrentDictionary<long, string> _reasons = new();
    private readonly ConcurrentDictionary<ProviderCondition, string> _health = new();

    /// <summary>The reason of the chosen candidate <paramref name="best"/>, found at <paramref name="chosenAt"/> of the ranked c[0 .. n).</summary>
    public string Chosen(RoutingPolicy.Candidate best, RoutingStrategy strategy, int topTier, RoutingPolicy.Candidate[] c, int n, int chosenAt, bool avoidedAnyway)
    {
        var probe = best.Condition.State == ProviderState.Open && best.Condition.Probe;
        if (chosenAt == 0 && best.Missing is null && !avoidedAnyway && !probe && strategy is not (RoutingStrategy.Latency or RoutingStrategy.Weighted))
        {
            // the common case depends only on (provider, fit) under the policy's one strategy: built once
            return Cached(Explanation.Chosen, best.Index, best.Rule >= 0 ? best.Rule + 2 : best.Own ? 1 : 0, best, strategy, c, n, topTier);
        }

        var how = How(best, strategy, c, n, topTier);
        if (probe)
        {
            how += "; half-open probe of its circuit breaker";
        }

        var reason = $"{Fit(best)} ({how})";
        if (chosenAt > 0)
        {
            var skipped = new string[chosenAt];
            for (var i = 0; i < chosenAt; i++)
            {
                skipped[i] = $"{providers[c[i].Index].Name} {Health(c[i])}";
            }

            reason += $"; failover from {string.Join(", ", skipped)}";
        }

        if (avoidedAnyway)
        {
            reason += $"; taken although {Health(best)}: no other candidate is available";
        }

        return best.Missing is { } missing ? $"{reason}; note: {missing}" : reason;
    }

    /// <summary>Why <paramref name="x"/> lost to <paramref name="chosen"/> (none chosen: the waiting reason).</summary>
    public string? Rejection(RoutingPolicy.Candidate x, RoutingPolicy.Candidate? chosen, string? waiting, RoutingStrategy strategy)
    {
        if (!x.Available)
        {
            return Health(x);
        }

        if (chosen is not { } best)
        {
            return waiting;
        }

        if (x.Tier < best.Tier)
        {
            if (x.Rule >= 0)
            {
                return Cached(Explanation.RuleRanksBelow, x.Rule, best.Rule);
            }

            if (x.Own)
            {
                return best.Rule >= 0 ? Cached(Explanation.OwnButRuleMatched, best.Rule, 0) : "the agent's own provider ranks lower";
            }

            return best.Rule >= 0 ? Cached(Explanation.NoRuleRoutesHere, best.Rule, 0) : "not the agent's provider and no rule routes to it";
        }

        var p = providers[x.Index];
        return strategy switch
        {
            RoutingStrategy.Cost => Cached(Explanation.Costlier, x.Index, best.Index),
            RoutingStrategy.Latency => x.Condition.LatencyMs is { } l
                ? best.Condition.LatencyMs is { } bl ? $"slower: ~{l:0} ms vs ~{bl:0} ms" : $"slower or unmeasured (priority {p.Priority})"
                : Cached(Explanation.NotMeasured, x.Index, best.Index),
            RoutingStrategy.RoundRobin => "round-robin: not its turn",
            RoutingStrategy.Weighted => Cached(Explanation.NotDrawn, x.Index, 0),
            _ => Cached(Explanation.LowerPriority, x.Index, best.Index),
        };
    }

    /// <summary>" until 2026-11-22T12:00:00Z", or nothing when the time is unknown.</summary>
    public static string Until(DateTimeOffset? at) =>
        at is { } t ? $" until {t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}" : string.Empty;

    private string Fit(RoutingPolicy.Candidate best) => best.Rule >= 0
        ? $"rule {best.Rule + 1} ({RuleWhat(best.Rule)}) routes to {providers[best.Index].Name}"
        : best.Own ? "no routing rule matched; the agent's own provider" : "no fitting provider available; fallback";

    private string How(RoutingPolicy.Candidate best, RoutingStrategy strategy, RoutingPolicy.Candidate[] c, int n, int topTier)
    {
        var p = providers[best.Index];
        return strategy switch
        {
            RoutingStrategy.Cost => $"cheapest of equal fit (${Money(blendedPrice[best.Index])}/M in+out)",
            RoutingStrategy.Latency => best.Condition.LatencyMs is { } l ? $"fastest of equal fit (~{l:0} ms per run)" : $"no run time measured yet; priority {p.Priority}",
            RoutingStrategy.RoundRobin => "round-robin: its turn",
            RoutingStrategy.Weighted => $"weighted draw (weight {Num(weights[best.Index])} of {Num(TierWeight(c, n, topTier))})",
            _ => best.Rule >= 0 ? $"first matching rule, then priority {p.Priority}" : $"priority {p.Priority}",
        };
    }

    /// <summary>An explanation that depends only on (kind, a, b): built once.</summary>
    private string Cached(Explanation kind, int a, int b)
    {
        var key = Key(kind, a, b);
        return _reasons.TryGetValue(key, out var text) ? text : _reasons.GetOrAdd(key, Explain(kind, a, b));
    }

    /// <summary>The chosen reason of the common case, keyed by (provider, fit): built once.</summary>
    private string Cached(Explanation kind, int a, int b, RoutingPolicy.Candidate best, RoutingStrategy strategy, RoutingPolicy.Candidate[] c, int n, int topTier)
    {
        var key = Key(kind, a, b);
        return _reasons.TryGetValue(key, out var text) ? text : _reasons.GetOrAdd(key, $"{Fit(best)} ({How(best, strategy, c, n, topTier)})");
    }

    private static long Key(Explanation kind, int a, int b) => ((long)kind << 48) | ((long)a << 24) | (uint)b;

    private string Explain(Explanation kind, int a, int b) => kind switch
    {
        Explanation.RuleRanksBelow => $"rule {a + 1} ({RuleWhat(a)}) ranks below rule {b + 1}",
        Explanation.OwnButRuleMatched => $"the agent's own provider, but rule {a + 1} ({RuleWhat(a)}) matched",
        Explanation.NoRuleRoutesHere => $"no matching rule routes to it (rule {a + 1} matched)",
        Explanation.Costlier => $"costlier: ${Money(blendedPrice[a])}/M vs ${Money(blendedPrice[b])}/M",
        Explanation.NotMeasured => $"no run time measured yet; priority {providers[a].Priority} vs {providers[b].Priority}",
        Explanation.NotDrawn => $"weighted: not drawn this time (weight {Num(weights[a])})",
        Explanation.LowerPriority => $"lower priority: {providers[a].Priority} vs {providers[b].Priority}",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a cached explanation of a rejection"),
    };

    private string Health(RoutingPolicy.Candidate x)
    {
        if (x.Healthy && x.Avoid is { } avoid)
        {
            return $"avoided after severe drift{Until(avoid.Until)} ({avoid.Reason})";
        }

        if (x.Missing is { } missing && x.Condition.Available)
        {
            return missing;
        }

        if (_health.TryGetValue(x.Condition, out var text))
        {
            return text;
        }

        if (_health.Count > 4096)
        {
            _health.Clear();
        }

        return _health.GetOrAdd(x.Condition, HealthText);
    }

    private static string HealthText(ProviderCondition c)
    {
        var what = c.State switch
        {
            ProviderState.Limited => "rate limited",
            ProviderState.Open => "circuit breaker open",
            ProviderState.OverBudget => "over budget",
            _ => "ok",
        };
        return $"{what}{(c.Reason is null ? string.Empty : $" ({c.Reason})")}{Until(c.ResetAt)}";
    }

    private string RuleWhat(int r)
    {
        var rule = rules[r];
        var parts = new List<string>(2);
        if (rule.Keywords.Count > 0)
        {
            parts.Add("keywords " + string.Join(", ", rule.Keywords.Take(3)) + (rule.Keywords.Count > 3 ? ", ..." : string.Empty));
        }

        if (rule.Capabilities.Count > 0)
        {
            parts.Add("capabilities " + string.Join(", ", rule.Capabilities));
        }

        return parts.Count == 0 ? "catch-all" : string.Join("; ", parts);
    }

    private double TierWeight(RoutingPolicy.Candidate[] c, int n, int tier)
    {
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            if (c[i].Available && c[i].Tier == tier)
            {
                total += weights[c[i].Index];
            }
        }

        return total;
    }

    private static string Money(decimal d) => d.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Num(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>The kinds of explanation that depend only on two indices (rules or providers), so they are cached.</summary>
    private enum Explanation : byte
    {
        /// <summary>A matching rule (a) that ranks below the chosen one's rule (b).</summary>
        RuleRanksBelow = 1,

        /// <summary>The agent's own provider, but rule a matched another.</summary>
        OwnButRuleMatched,

        /// <summary>No matching rule routes to it (rule a matched).</summary>
        NoRuleRoutesHere,

        /// <summary>Provider a costs more than the chosen b.</summary>
        Costlier,

        /// <summary>Latency strategy: a has no measured run time; priorities of a and b.</summary>
        NotMeasured,

        /// <summary>Weighted strategy: a was not drawn.</summary>
        NotDrawn,

        /// <summary>Provider a has a lower priority than the chosen b.</summary>
        LowerPriority,

        /// <summary>The reason of a chosen provider a with fit b (0 fallback, 1 own, rule + 2).</summary>
        Chosen,
    }
}
