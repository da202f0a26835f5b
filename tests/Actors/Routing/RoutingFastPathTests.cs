using DarkFactory.Actors.Routing;
using DarkFactory.Bench;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The run-start path (<see cref="RoutingPolicy.Choose"/>, <see cref="RouteBoard.Decide"/>: the winner only,
/// no sort of every candidate, nothing explained) picks exactly what the explained path picks: the same route,
/// reason, kind and waiting reason, over many random fleets, tasks and boards (fixed seed).
/// </summary>
public sealed class RoutingFastPathTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] Clis = [CliCatalog.Claude, CliCatalog.Codex, CliCatalog.OpenCode, CliCatalog.Gemini];
    private static readonly string[] Words =
    [
        "security", "review", "cve", "docs", "tests", "refactor", "deploy", "audit", "parser", "upload", "storage", "login",
        "pull request", "dependency audit", "code review", "flaky test", "hot fix", "release notes",
    ];

    private static readonly string[] Capabilities = ["implement", "review", "security", "docs", "ops"];

    [Theory]
    [InlineData(RoutingStrategy.CapabilityFirst, BudgetAction.Switch, 1)]
    [InlineData(RoutingStrategy.CapabilityFirst, BudgetAction.Wait, 2)]
    [InlineData(RoutingStrategy.Cost, BudgetAction.Switch, 3)]
    [InlineData(RoutingStrategy.Cost, BudgetAction.Wait, 4)]
    [InlineData(RoutingStrategy.Latency, BudgetAction.Switch, 5)]
    [InlineData(RoutingStrategy.RoundRobin, BudgetAction.Switch, 6)]
    [InlineData(RoutingStrategy.Weighted, BudgetAction.Wait, 7)]
    public void The_run_start_path_picks_what_the_explained_path_picks(RoutingStrategy strategy, BudgetAction onBudget, int seed)
    {
        var random = new Random(seed);
        var compared = 0;
        var outcomes = new HashSet<string>();
        for (var f = 0; f < 8; f++)
        {
            var fleet = RandomFleet(random, strategy, onBudget);
            var policy = new RoutingPolicy(fleet);
            for (var d = 0; d < 150; d++)
            {
                var agent = random.Next(5) == 0 ? null : fleet.Agents[random.Next(fleet.Agents.Count)];
                var task = RandomTask(random);
                var board = RandomBoard(random, fleet);
                var sequence = random.NextInt64(0, 1000);

                var explained = policy.Decide(task, agent, board, sequence);
                var chosen = policy.Choose(task, agent, board, sequence);

                Assert.Equal(explained.Chosen, chosen.Chosen);
                Assert.Equal(explained.Waiting, chosen.Waiting);
                Assert.Equal(explained.Agent, chosen.Agent);
                Assert.Empty(chosen.Candidates);
                Assert.Equal(fleet.Providers.Count, explained.Candidates.Count);
                if (explained.Chosen is { } route)
                {
                    // the explained list agrees with itself: the chosen one is the only one not rejected
                    Assert.Single(explained.Candidates, c => c.RejectedBecause is null);
                    Assert.Equal(route.Provider, explained.Candidates.Single(c => c.RejectedBecause is null).Provider);
                }

                outcomes.Add(explained.Chosen?.Kind ?? (explained.Waiting!.Contains("wait", StringComparison.Ordinal) ? "wait" : "none"));
                compared++;
            }
        }

        Assert.Equal(1200, compared);
        Assert.Contains("failover", outcomes); // the boards exercise the failover and the no-route paths too
        Assert.True(outcomes.Count >= 3, string.Join(", ", outcomes));
    }

    [Fact]
    public void The_route_board_decides_like_the_explained_policy_on_the_benchmark_fleet()
    {
        var fleet = RoutingBenchFleet.Create(50, 200);
        var policy = new RoutingPolicy(fleet);
        var limited = Enumerable.Range(0, 5).ToDictionary(i => $"p{(i * 9) + 2:00}", _ => new ProviderCondition(ProviderState.Limited, At.AddHours(1), "429"));
        var board = ProviderBoard.Empty.With(providers: limited);
        var routes = new RouteBoard();
        routes.Publish(policy, board);

        var fast = routes.Decide(RoutingBenchFleet.Task, RoutingBenchFleet.Agent)!;
        var full = policy.Decide(RoutingBenchFleet.Task, RoutingBenchFleet.Agent, board);

        Assert.Equal(RoutingBenchFleet.ExpectedProvider, fast.Chosen!.Provider);
        Assert.Equal(full.Chosen, fast.Chosen);
        Assert.Equal(50, full.Candidates.Count);
    }

    private static FleetSpec RandomFleet(Random random, RoutingStrategy strategy, BudgetAction onBudget)
    {
        var providers = Enumerable.Range(0, random.Next(3, 14)).Select(i => new ProviderSpec
        {
            Name = $"p{i}",
            Cli = Clis[random.Next(Clis.Length)],
            Model = random.Next(3) == 0 ? null : $"model-{i}",
            Priority = random.Next(0, 6) * 10, // ties: declaration order decides
            Prices = new ProviderPrices { InputPerMillion = random.Next(0, 4), OutputPerMillion = random.Next(0, 4) },
        }).ToList();
        var rules = Enumerable.Range(0, random.Next(0, 25)).Select(_ =>
        {
            var shape = random.Next(10);
            var target = random.Next(3);
            return new RoutingRuleSpec
            {
                Keywords = shape < 7 ? Pick(random, Words, random.Next(1, 4)) : [],
                Capabilities = shape is >= 5 and < 9 ? Pick(random, Capabilities, random.Next(1, 3)) : [],
                Provider = target == 0 ? null : providers[random.Next(providers.Count)].Name,
                Cli = target == 1 ? null : Clis[random.Next(Clis.Length)],
                Model = random.Next(4) == 0 ? "rule-model" : null,
            };
        }).ToList();
        var agents = Enumerable.Range(0, 4).Select(i => new AgentSpec
        {
            Name = $"a{i}",
            Cli = Clis[random.Next(Clis.Length)],
            Provider = random.Next(2) == 0 ? providers[random.Next(providers.Count)].Name : null,
            Model = random.Next(3) == 0 ? "own-model" : null,
            Capabilities = Pick(random, Capabilities, random.Next(0, 3)),
        }).ToList();
        return new FleetSpec
        {
            Providers = providers,
            Routing = rules,
            Agents = agents,
            Router = new RouterSpec
            {
                Strategy = strategy,
                OnBudgetExceeded = onBudget,
                Weights = providers.ToDictionary(p => p.Name, _ => (double)random.Next(0, 4)),
            },
        };
    }

    private static string RandomTask(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(0, 8)).Select(_ => random.Next(3) == 0 ? "the" : Words[random.Next(Words.Length)]));

    private static ProviderBoard RandomBoard(Random random, FleetSpec fleet)
    {
        var conditions = new Dictionary<string, ProviderCondition>();
        foreach (var p in fleet.Providers)
        {
            ProviderCondition? c = random.Next(9) switch
            {
                0 => new ProviderCondition(ProviderState.Limited, At.AddMinutes(random.Next(1, 60)), "429"),
                1 => new ProviderCondition(ProviderState.Open, At.AddMinutes(1), "3 consecutive failures"),
                2 => new ProviderCondition(ProviderState.Open, null, "3 consecutive failures", Probe: true),
                3 => new ProviderCondition(ProviderState.OverBudget, At.AddHours(3), "daily budget reached", Budget: true),
                4 => new ProviderCondition(ProviderState.OverBudget, null, "credits exhausted"),
                5 => ProviderCondition.Ok with { LatencyMs = random.Next(100, 9000) },
                _ => null,
            };
            if (c is not null)
            {
                conditions[p.Name] = c;
            }
        }

        var missing = fleet.Providers.Select(p => p.Cli).Distinct().Where(_ => random.Next(6) == 0).ToDictionary(c => c, c => $"'{c}' is not installed");
        var agents = fleet.Agents.Where(_ => random.Next(12) == 0).ToDictionary(a => a.Name, _ => new AgentCondition("daily budget reached", At.AddHours(1)));
        var avoids = fleet.Agents.Where(_ => random.Next(3) == 0).ToDictionary(
            a => a.Name,
            a => (IReadOnlyList<RouteAvoidRecorded>)[new RouteAvoidRecorded(a.Name, fleet.Providers[random.Next(fleet.Providers.Count)].Name, random.Next(2) == 0 ? null : "model-1", At.AddMinutes(30), "severe drift", At)]);
        return ProviderBoard.Empty.With(conditions, agents, missing, avoids) with { EnforceInstalled = random.Next(4) != 0 };
    }

    private static string[] Pick(Random random, string[] from, int count) =>
        from.OrderBy(_ => random.Next()).Take(count).ToArray();
}
