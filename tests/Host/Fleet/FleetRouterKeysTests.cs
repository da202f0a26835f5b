using DarkFactory.Host.Fleet;
using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml <c>router</c> and <c>agents[].budget</c>, and the default fleet's routing contract.</summary>
public sealed class FleetRouterKeysTests
{
    [Fact]
    public void Router_section_is_read_with_every_key()
    {
        var yaml = Agent("budget: { per_hour: 1.5, per_day: 10, per_month: 100 }") + """
            router:
              strategy: cost_optimised
              breaker: { failures: 5, open_for: 3m }
              polling_interval: 10s
              limit_backoff: 2m
              avoid_for: 45m
              on_budget_exceeded: wait
              weights: { anthropic: 2, openai: 0.5 }
            """;
        var result = Load(yaml);

        AssertValid(result);
        var r = result.Fleet!.Router;
        Assert.Equal(RoutingStrategy.Cost, r.Strategy);
        Assert.Equal(5, r.BreakerFailures);
        Assert.Equal(TimeSpan.FromMinutes(3), r.BreakerOpenFor);
        Assert.Equal(TimeSpan.FromSeconds(10), r.PollingInterval);
        Assert.Equal(TimeSpan.FromMinutes(2), r.LimitBackoff);
        Assert.Equal(TimeSpan.FromMinutes(45), r.AvoidFor);
        Assert.Equal(BudgetAction.Wait, r.OnBudgetExceeded);
        Assert.Equal(0.5, r.Weights["openai"]);
        Assert.Equal(new AgentBudget { PerHour = 1.5m, PerDay = 10, PerMonth = 100 }, result.Fleet.Agents[0].Budget);
    }

    [Fact]
    public void Fleet_limits_and_provider_limits_are_read()
    {
        var yaml = Agent() + """
            limits:
              max_concurrent_runs: 3
            providers:
              - name: anthropic
                limits: { requests_per_minute: 50, tokens_per_minute: 400000, max_concurrent: 4 }
            """;
        var result = Load(yaml);

        AssertValid(result);
        Assert.Equal(3, result.Fleet!.Limits.MaxConcurrentRuns);
        var l = result.Fleet.Providers.Single().Limits;
        Assert.Equal((50, 400000L, 4), (l.RequestsPerMinute!.Value, l.TokensPerMinute!.Value, l.MaxConcurrent!.Value));
        Assert.Null(Load(Agent()).Fleet!.Limits.MaxConcurrentRuns); // no section: no fleet-wide cap
    }

    [Fact]
    public void Defaults_when_the_router_section_is_absent()
    {
        var result = Load(Agent());

        AssertValid(result);
        Assert.Equal(new RouterSpec().Strategy, result.Fleet!.Router.Strategy);
        Assert.Equal(BudgetAction.Switch, result.Fleet.Router.OnBudgetExceeded);
        Assert.False(result.Fleet.Agents[0].Budget.Any);
    }

    [Theory]
    [InlineData("  strategy: fastest\n", "router.strategy", "fastest")]
    [InlineData("  on_budget_exceeded: pause\n", "router.on_budget_exceeded", "pause")]
    [InlineData("  breaker: { failures: 0 }\n", "router.breaker.failures", "0 }")]
    [InlineData("  polling_interval: 0s\n", "router.polling_interval", "0s")]
    [InlineData("  avoid_for: -5m\n", "router.avoid_for", "-5m")]
    [InlineData("  breaker: { tries: 3 }\n", "router.breaker.tries", "tries")]
    [InlineData("  weights: { anthropic: -1 }\n", "router.weights.anthropic", "-1")]
    public void Bad_router_values_are_errors_at_their_position(string line, string field, string marker)
    {
        var yaml = Agent() + "router:\n" + line;
        AssertError(Load(yaml), yaml, field, marker);
    }

    [Fact]
    public void A_negative_agent_budget_is_an_error()
    {
        var yaml = Agent("budget: { per_day: -3 }");
        AssertError(Load(yaml), yaml, "agents[0].budget.per_day", "-3", "must not be negative");
    }

    [Theory]
    [InlineData("Audit the dependencies for CVEs", "codex")]
    [InlineData("run a dependency-audit of the lock file", "codex")]
    [InlineData("check for security vulnerabilities in auth", "codex")]
    [InlineData("Please do a code review of this pull request", "claude")]
    [InlineData("review PR 42", "claude")]
    public void Default_fleet_routes_security_work_to_codex_and_code_review_to_claude(string task, string cli)
    {
        var decision = Cli.RouterCommands.Offline(Path.Combine(RepoRoot(), "fleet.yaml"), task, null);

        Assert.Equal(cli, decision.Chosen!.Cli);
        Assert.Contains("rule", decision.Chosen.Reason);
    }
}
