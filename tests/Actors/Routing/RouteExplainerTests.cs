using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The words of an explained decision (<see cref="RouteExplainer"/> through <see cref="RoutingPolicy.Decide(string, AgentSpec?, ProviderBoard, long)"/>):
/// each kind of cached rejection says what it means, and a repeated decision reuses the texts instead of building them again.
/// </summary>
public sealed class RouteExplainerTests
{
    private static FleetSpec Fleet(RoutingStrategy strategy = RoutingStrategy.CapabilityFirst, params AgentSpec[] agents) => new()
    {
        Providers =
        [
            new ProviderSpec { Name = "anthropic", Cli = "claude", Priority = 10, Prices = new ProviderPrices { InputPerMillion = 1, OutputPerMillion = 1 } },
            new ProviderSpec { Name = "openai", Cli = "codex", Priority = 20, Prices = new ProviderPrices { InputPerMillion = 3, OutputPerMillion = 3 } },
            new ProviderSpec { Name = "google", Cli = "gemini", Priority = 30, Prices = new ProviderPrices { InputPerMillion = 5, OutputPerMillion = 5 } },
        ],
        Routing =
        [
            new RoutingRuleSpec { Keywords = ["security"], Provider = "openai" },
            new RoutingRuleSpec { Keywords = ["review"], Provider = "anthropic" },
        ],
        Router = new RouterSpec { Strategy = strategy },
        Agents = agents,
    };

    private static string? Rejected(RouteDecision d, string provider) => d.Candidates.Single(c => c.Provider == provider).RejectedBecause;

    [Fact]
    public void Losers_by_fit_say_which_rule_matched()
    {
        var writer = new AgentSpec { Name = "writer", Cli = "gemini", Provider = "google" };
        var d = new RoutingPolicy(Fleet(agents: writer)).Decide("security review", writer, ProviderBoard.Empty);

        Assert.Equal("openai", d.Chosen!.Provider);
        Assert.Equal("rule 1 (keywords security) routes to openai (first matching rule, then priority 20)", d.Chosen.Reason);
        Assert.Equal("rule 2 (keywords review) ranks below rule 1", Rejected(d, "anthropic"));
        Assert.Equal("the agent's own provider, but rule 1 (keywords security) matched", Rejected(d, "google"));

        var bare = new RoutingPolicy(Fleet()).Decide("security review", null, ProviderBoard.Empty);
        Assert.Equal("no matching rule routes to it (rule 1 matched)", Rejected(bare, "google"));
    }

    [Theory]
    [InlineData(RoutingStrategy.CapabilityFirst, "lower priority: 20 vs 10", "no fitting provider available; fallback (priority 10)")]
    [InlineData(RoutingStrategy.Latency, "no run time measured yet; priority 20 vs 10", "no fitting provider available; fallback (no run time measured yet; priority 10)")]
    [InlineData(RoutingStrategy.Cost, "costlier: $6/M vs $2/M", "no fitting provider available; fallback (cheapest of equal fit ($2/M in+out))")]
    public void Losers_of_equal_fit_say_what_the_strategy_preferred(RoutingStrategy strategy, string openai, string chosen)
    {
        var d = new RoutingPolicy(Fleet(strategy)).Decide("write the changelog", null, ProviderBoard.Empty);

        Assert.Equal("anthropic", d.Chosen!.Provider);
        Assert.Equal(chosen, d.Chosen.Reason);
        Assert.Equal(openai, Rejected(d, "openai"));
    }

    [Fact]
    public void A_weighted_loser_was_not_drawn()
    {
        var d = new RoutingPolicy(Fleet(RoutingStrategy.Weighted)).Decide("write the changelog", null, ProviderBoard.Empty, 1);

        Assert.All(d.Candidates.Where(c => c.RejectedBecause is not null), c => Assert.Equal("weighted: not drawn this time (weight 1)", c.RejectedBecause));
        Assert.StartsWith("no fitting provider available; fallback (weighted draw (weight 1 of 3))", d.Chosen!.Reason);
    }

    [Fact]
    public void Repeated_decisions_reuse_the_texts()
    {
        var policy = new RoutingPolicy(Fleet());

        var first = policy.Decide("security review", null, ProviderBoard.Empty);
        var second = policy.Decide("security review", null, ProviderBoard.Empty);

        Assert.Same(first.Chosen!.Reason, second.Chosen!.Reason);
        Assert.Same(Rejected(first, "anthropic"), Rejected(second, "anthropic"));
        Assert.Same(Rejected(first, "google"), Rejected(second, "google"));
    }

    [Fact]
    public void A_failover_names_each_skipped_provider_with_its_condition()
    {
        var board = ProviderBoard.Empty.With(providers: new Dictionary<string, ProviderCondition>
        {
            ["openai"] = new(ProviderState.Limited, new DateTimeOffset(2026, 11, 22, 13, 0, 0, TimeSpan.Zero), "429"),
        });

        var d = new RoutingPolicy(Fleet()).Decide("security review", null, board);

        Assert.Equal("anthropic", d.Chosen!.Provider);
        Assert.EndsWith("; failover from openai rate limited (429) until 2026-11-22T13:00:00Z", d.Chosen.Reason);
        Assert.Equal("rate limited (429) until 2026-11-22T13:00:00Z", Rejected(d, "openai"));
    }
}
