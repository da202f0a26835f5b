using DarkFactory.Actors.Routing;
using DarkFactory.Bench;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

public sealed class RoutingPolicyTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static ProviderSpec Provider(string name, string cli, int priority, decimal input = 1, decimal output = 1, string? model = null) => new()
    {
        Name = name,
        Cli = cli,
        Priority = priority,
        Model = model ?? name + "-model",
        Prices = new ProviderPrices { InputPerMillion = input, OutputPerMillion = output },
    };

    /// <summary>The default fleet's shape: four providers, security to codex, review to claude.</summary>
    private static FleetSpec Fleet(RouterSpec? router = null, params AgentSpec[] agents) => new()
    {
        Providers =
        [
            Provider("anthropic", "claude", 10, 3, 15),
            Provider("openai", "codex", 20, 1.25m, 10),
            Provider("google", "gemini", 30, 1.25m, 10),
            Provider("opencode", "opencode", 40, 0.45m, 1.8m),
        ],
        Routing =
        [
            new RoutingRuleSpec { Keywords = ["security", "CVE", "dependency audit"], Cli = "codex", Provider = "openai" },
            new RoutingRuleSpec { Keywords = ["code review", "review", "pull request"], Cli = "claude", Provider = "anthropic" },
            new RoutingRuleSpec { Capabilities = ["implement"], Provider = "openai", Model = "gpt-5-codex-max" },
        ],
        Router = router ?? new RouterSpec(),
        Agents = agents,
    };

    private static AgentSpec Agent(string name, string cli, string? provider, params string[] capabilities) =>
        new() { Name = name, Cli = cli, Provider = provider, Capabilities = capabilities };

    private static ProviderBoard Board(params (string Provider, ProviderCondition Condition)[] conditions) =>
        ProviderBoard.Empty.With(providers: conditions.ToDictionary(c => c.Provider, c => c.Condition));

    [Theory]
    [InlineData("Audit the dependencies: dependency audit for CVE-2025-1234", "codex", "openai")]
    [InlineData("Check this for security problems", "codex", "openai")]
    [InlineData("Please review this pull request", "claude", "anthropic")]
    [InlineData("SECURITY review of the login flow", "codex", "openai")] // first matching rule wins
    public void Keyword_rules_route_tasks_in_declared_order(string task, string cli, string provider)
    {
        var d = new RoutingPolicy(Fleet()).Decide(task, null, ProviderBoard.Empty);

        Assert.Equal(cli, d.Chosen!.Cli);
        Assert.Equal(provider, d.Chosen.Provider);
        Assert.Contains("rule", d.Chosen.Reason);
        Assert.Equal(4, d.Candidates.Count);
        Assert.Null(d.Candidates[0].RejectedBecause);
        Assert.All(d.Candidates.Skip(1), c => Assert.False(string.IsNullOrEmpty(c.RejectedBecause)));
    }

    [Fact]
    public void Keywords_match_whole_words_only()
    {
        var policy = new RoutingPolicy(Fleet());

        // "reviewer" and "insecurity" are not the keywords "review" and "security"
        var d = policy.Decide("the reviewer found insecurity", null, ProviderBoard.Empty);

        Assert.Equal("anthropic", d.Chosen!.Provider); // no rule: fallback by priority
        Assert.Contains("fallback", d.Chosen.Reason);
    }

    [Fact]
    public void Capability_rules_match_the_agents_capabilities_and_set_the_model()
    {
        var implementer = Agent("implementer", "codex", null, "implement", "tests");
        var d = new RoutingPolicy(Fleet(agents: implementer)).Decide("add a parser", implementer, ProviderBoard.Empty);

        Assert.Equal("openai", d.Chosen!.Provider);
        Assert.Equal("gpt-5-codex-max", d.Chosen.Model);
        Assert.Contains("capabilities implement", d.Chosen.Reason);
    }

    [Fact]
    public void Without_a_matching_rule_the_agents_own_provider_wins_over_the_rest()
    {
        var agent = Agent("writer", "gemini", "google");
        var d = new RoutingPolicy(Fleet(agents: agent)).Decide("write the changelog", agent, ProviderBoard.Empty);

        Assert.Equal("google", d.Chosen!.Provider);
        Assert.Contains("the agent's own provider", d.Chosen.Reason);
        Assert.Equal("not the agent's provider and no rule routes to it", d.Candidates.Single(c => c.Provider == "anthropic").RejectedBecause);
    }

    [Fact]
    public void A_limited_provider_fails_over_to_the_next_candidate_and_says_why()
    {
        var board = Board(("openai", new ProviderCondition(ProviderState.Limited, At.AddHours(1), "429 Too Many Requests")));
        var d = new RoutingPolicy(Fleet()).Decide("fix the CVE", null, board);

        Assert.Equal("anthropic", d.Chosen!.Provider);
        Assert.Contains("failover from openai rate limited (429 Too Many Requests) until 2026-11-22T13:00:00Z", d.Chosen.Reason);
        var openai = d.Candidates.Single(c => c.Provider == "openai");
        Assert.StartsWith("rate limited", openai.RejectedBecause);
    }

    [Fact]
    public void Open_breaker_rejects_until_its_probe_is_due_then_lets_one_probe_through()
    {
        var policy = new RoutingPolicy(Fleet());
        var open = policy.Decide("security scan", null, Board(("openai", new ProviderCondition(ProviderState.Open, At, "3 consecutive failures"))));
        Assert.Equal("anthropic", open.Chosen!.Provider);
        Assert.StartsWith("circuit breaker open (3 consecutive failures)", open.Candidates.Single(c => c.Provider == "openai").RejectedBecause);

        var probe = policy.Decide("security scan", null, Board(("openai", new ProviderCondition(ProviderState.Open, null, "3 consecutive failures", Probe: true))));
        Assert.Equal("openai", probe.Chosen!.Provider);
        Assert.Contains("half-open probe", probe.Chosen.Reason);
    }

    [Fact]
    public void Every_candidate_exhausted_means_no_route_and_polling()
    {
        var limited = new ProviderCondition(ProviderState.Limited, At, "quota");
        var board = Board(("anthropic", limited), ("openai", limited), ("google", limited), ("opencode", limited));
        var d = new RoutingPolicy(Fleet()).Decide("security scan", null, board);

        Assert.Null(d.Chosen);
        Assert.Equal("all providers limited; polling", d.Waiting);
        Assert.All(d.Candidates, c => Assert.StartsWith("rate limited", c.RejectedBecause));
    }

    [Fact]
    public void Over_budget_switches_by_default_and_waits_when_configured()
    {
        var board = Board(("openai", new ProviderCondition(ProviderState.OverBudget, At.AddHours(12), "daily budget $30.00 reached", Budget: true)));

        var switched = new RoutingPolicy(Fleet()).Decide("security scan", null, board);
        Assert.Equal("anthropic", switched.Chosen!.Provider);
        Assert.StartsWith("over budget", switched.Candidates.Single(c => c.Provider == "openai").RejectedBecause);

        var waits = new RoutingPolicy(Fleet(new RouterSpec { OnBudgetExceeded = BudgetAction.Wait })).Decide("security scan", null, board);
        Assert.Null(waits.Chosen);
        Assert.Contains("openai is over budget", waits.Waiting);
        Assert.Contains("on_budget_exceeded: wait", waits.Waiting);
    }

    [Fact]
    public void Exhausted_credits_switch_even_with_wait()
    {
        var board = Board(("openai", new ProviderCondition(ProviderState.OverBudget, null, "credits exhausted: $5.00 of $5.00")));
        var d = new RoutingPolicy(Fleet(new RouterSpec { OnBudgetExceeded = BudgetAction.Wait })).Decide("security scan", null, board);

        Assert.Equal("anthropic", d.Chosen!.Provider);
    }

    [Fact]
    public void An_agent_over_its_own_budget_waits_whatever_the_providers()
    {
        var agent = Agent("implementer", "codex", "openai");
        var board = ProviderBoard.Empty.With(agents: new Dictionary<string, AgentCondition> { ["implementer"] = new("daily budget $15.00 reached", At.AddHours(3)) });
        var d = new RoutingPolicy(Fleet(agents: agent)).Decide("anything", agent, board);

        Assert.Null(d.Chosen);
        Assert.Contains("agent implementer is over budget", d.Waiting);
    }

    [Fact]
    public void Cost_strategy_picks_the_cheapest_of_equal_fit()
    {
        var fleet = Fleet(new RouterSpec { Strategy = RoutingStrategy.Cost }) with { Routing = [] };
        var d = new RoutingPolicy(fleet).Decide("write docs", null, ProviderBoard.Empty);

        Assert.Equal("opencode", d.Chosen!.Provider);
        Assert.Contains("cheapest", d.Chosen.Reason);
        Assert.StartsWith("costlier: $18/M vs $2.25/M", d.Candidates.Single(c => c.Provider == "anthropic").RejectedBecause);
    }

    [Fact]
    public void Cost_strategy_still_honours_matching_rules()
    {
        var d = new RoutingPolicy(Fleet(new RouterSpec { Strategy = RoutingStrategy.Cost })).Decide("review this", null, ProviderBoard.Empty);

        Assert.Equal("anthropic", d.Chosen!.Provider);
    }

    [Fact]
    public void Latency_strategy_picks_the_fastest_measured_provider()
    {
        var fleet = Fleet(new RouterSpec { Strategy = RoutingStrategy.Latency }) with { Routing = [] };
        var board = Board(("anthropic", ProviderCondition.Ok with { LatencyMs = 9000 }), ("google", ProviderCondition.Ok with { LatencyMs = 1200 }));
        var d = new RoutingPolicy(fleet).Decide("write docs", null, board);

        Assert.Equal("google", d.Chosen!.Provider);
        Assert.Contains("fastest", d.Chosen.Reason);
        Assert.StartsWith("slower: ~9000 ms vs ~1200 ms", d.Candidates.Single(c => c.Provider == "anthropic").RejectedBecause);
    }

    [Fact]
    public void Round_robin_takes_turns_among_the_fitting_providers()
    {
        var fleet = Fleet(new RouterSpec { Strategy = RoutingStrategy.RoundRobin }) with { Routing = [] };
        var policy = new RoutingPolicy(fleet);
        var picks = Enumerable.Range(0, 8).Select(i => policy.Decide("write docs", null, ProviderBoard.Empty, i).Chosen!.Provider).ToList();

        Assert.Equal(["anthropic", "openai", "google", "opencode", "anthropic", "openai", "google", "opencode"], picks);
        Assert.Equal("round-robin: not its turn", policy.Decide("write docs", null, ProviderBoard.Empty, 0).Candidates[1].RejectedBecause);
    }

    [Fact]
    public void Weighted_picks_in_proportion_to_the_weights()
    {
        var weights = new Dictionary<string, double> { ["anthropic"] = 3, ["openai"] = 1, ["google"] = 0, ["opencode"] = 0 };
        var fleet = Fleet(new RouterSpec { Strategy = RoutingStrategy.Weighted, Weights = weights }) with { Routing = [] };
        var policy = new RoutingPolicy(fleet);
        var picks = Enumerable.Range(1, 400).Select(i => policy.Decide("write docs", null, ProviderBoard.Empty, i).Chosen!.Provider).ToList();

        Assert.InRange(picks.Count(p => p == "anthropic"), 280, 320);
        Assert.InRange(picks.Count(p => p == "openai"), 80, 120);
        Assert.DoesNotContain("google", picks);
    }

    [Fact]
    public void A_missing_cli_is_rejected_for_runs_and_only_noted_for_what_if_decisions()
    {
        var missing = new Dictionary<string, string> { ["codex"] = "'codex' is not installed (install: npm install -g @openai/codex)" };
        var policy = new RoutingPolicy(Fleet());

        var run = policy.Decide("security scan", null, ProviderBoard.Empty.With(missingClis: missing));
        Assert.Equal("anthropic", run.Chosen!.Provider);
        Assert.Equal(missing["codex"], run.Candidates.Single(c => c.Provider == "openai").RejectedBecause);

        var whatIf = policy.Decide("security scan", null, ProviderBoard.Empty.With(missingClis: missing) with { EnforceInstalled = false });
        Assert.Equal("openai", whatIf.Chosen!.Provider);
        Assert.Contains("note: 'codex' is not installed", whatIf.Chosen.Reason);
    }

    [Fact]
    public void Best_fit_agent_is_the_one_whose_capabilities_the_task_names_most()
    {
        var fleet = Fleet(agents: [Agent("security-sentinel", "codex", "openai", "security", "review"), Agent("reviewer", "claude", "anthropic", "review"), Agent("disk", "command", null, "security")]);
        var agents = new AgentMatcher(fleet);

        Assert.Equal("security-sentinel", agents.BestFit("security review please")!.Name);
        Assert.Equal("security-sentinel", agents.BestFit("review it")!.Name); // declaration order breaks ties
        Assert.Null(agents.BestFit("write docs"));
        Assert.Equal("security-sentinel", agents.BestFit("SECURITY")!.Name); // case-insensitive
        Assert.Null(new AgentMatcher(Fleet(agents: [Agent("disk", "command", null, "docs")])).BestFit("update the docs")); // AI agents only
        Assert.Equal("disk", agents.Named("disk")!.Name);
        Assert.Null(agents.Named("nobody"));
    }

    [Fact]
    public void No_providers_means_the_agent_runs_as_declared()
    {
        var agent = Agent("a", "claude", null);
        var d = new RoutingPolicy(new FleetSpec { Agents = [agent] }).Decide("x", agent, ProviderBoard.Empty);

        Assert.Equal("claude", d.Chosen!.Cli);
        Assert.Null(d.Chosen.Provider);
    }

    private static ProviderBoard Avoiding(string agent, string? provider, string? model = null) =>
        ProviderBoard.Empty.With(avoids: new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>>
        {
            [agent] = [new RouteAvoidRecorded(agent, provider, model, At.AddMinutes(65), "severe drift 0.45 (stall 0.45)", At)],
        });

    [Fact]
    public void An_avoided_route_loses_for_that_agent_only_and_says_why()
    {
        var sentinel = Agent("sentinel", "codex", "openai", "security");
        var other = Agent("other", "codex", "openai", "security");
        var policy = new RoutingPolicy(Fleet(agents: [sentinel, other]));
        var board = Avoiding("sentinel", "openai");

        var d = policy.Decide("security scan", sentinel, board);
        Assert.Equal("anthropic", d.Chosen!.Provider);
        Assert.Equal("failover", d.Chosen.Kind);
        Assert.Contains("failover from openai avoided after severe drift until 2026-11-22T13:05:00Z", d.Chosen.Reason);
        Assert.Equal("avoided after severe drift until 2026-11-22T13:05:00Z (severe drift 0.45 (stall 0.45))", d.Candidates.Single(c => c.Provider == "openai").RejectedBecause);
        Assert.Equal(d.Chosen, policy.Choose("security scan", sentinel, board).Chosen);

        // another agent on the same provider is not affected
        Assert.Equal("openai", policy.Decide("security scan", other, board).Chosen!.Provider);

        // nor is a bare task (no agent)
        Assert.Equal("openai", policy.Decide("security scan", null, board).Chosen!.Provider);
    }

    [Fact]
    public void An_avoid_with_a_model_only_avoids_that_model_of_the_provider()
    {
        var implementer = Agent("implementer", "codex", "openai", "implement");
        var policy = new RoutingPolicy(Fleet(agents: implementer));

        // rule 3 routes implementers to openai with gpt-5-codex-max: avoiding another openai model changes nothing
        Assert.Equal("openai", policy.Decide("add a parser", implementer, Avoiding("implementer", "openai", "gpt-4")).Chosen!.Provider);
        Assert.NotEqual("openai", policy.Decide("add a parser", implementer, Avoiding("implementer", "openai", "gpt-5-codex-max")).Chosen!.Provider);
    }

    [Fact]
    public void When_only_the_avoided_route_is_left_the_agent_still_runs_on_it_and_says_so()
    {
        var sentinel = Agent("sentinel", "codex", "openai", "security");
        var limited = new ProviderCondition(ProviderState.Limited, At.AddHours(1), "429");
        var board = Avoiding("sentinel", "openai").With(providers: new Dictionary<string, ProviderCondition>
        {
            ["anthropic"] = limited,
            ["google"] = limited,
            ["opencode"] = limited,
        });
        var policy = new RoutingPolicy(Fleet(agents: sentinel));

        var d = policy.Decide("security scan", sentinel, board);

        Assert.Equal("openai", d.Chosen!.Provider);
        Assert.Contains("taken although avoided after severe drift until 2026-11-22T13:05:00Z", d.Chosen.Reason);
        Assert.Contains("no other candidate is available", d.Chosen.Reason);
        Assert.Null(d.Waiting);
        Assert.Equal(d.Chosen, policy.Choose("security scan", sentinel, board).Chosen);

        // everything limited, the avoided one too: no route (polling), as without the avoid
        var all = board.With(providers: board.Providers.Append(KeyValuePair.Create("openai", limited)).ToDictionary());
        Assert.Null(policy.Decide("security scan", sentinel, all).Chosen);
        Assert.Equal("all providers limited; polling", policy.Choose("security scan", sentinel, all).Waiting);
    }

    [Fact]
    public void A_decision_with_50_providers_and_200_rules_is_fast_and_correct()
    {
        var fleet = RoutingBenchFleet.Create(50, 200);
        var policy = new RoutingPolicy(fleet);
        var d = policy.Decide(RoutingBenchFleet.Task, null, ProviderBoard.Empty);

        Assert.Equal(50, d.Candidates.Count);
        Assert.NotNull(d.Chosen);
        Assert.Equal(RoutingBenchFleet.ExpectedProvider, d.Chosen!.Provider);
    }
}
