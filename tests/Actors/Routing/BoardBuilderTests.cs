using System.Collections.Frozen;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The board the router publishes, built from its state without the actor; the run outcomes that feed the breaker
/// and the latency; the reasons recorded with a provider switch.
/// </summary>
public sealed class BoardBuilderTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(At);

    private static readonly FleetSpec Fleet = new()
    {
        Providers =
        [
            new ProviderSpec { Name = "openai", Cli = "codex", Limits = new ProviderLimits { BudgetPerDay = 1m } },
            new ProviderSpec { Name = "anthropic", Cli = "claude" },
            new ProviderSpec { Name = "google", Cli = "gemini" },
            new ProviderSpec { Name = "local", Cli = "opencode", Limits = new ProviderLimits { Credits = 5m } },
        ],
        Agents =
        [
            new AgentSpec { Name = "coder", Cli = "claude", Budget = new AgentBudget { PerHour = 0.5m } },
            new AgentSpec { Name = "reviewer", Cli = "codex" },
        ],
    };

    private RouterState State(params object[] events)
    {
        var state = new RouterState(_clock);
        foreach (var e in events)
        {
            state.Apply(e);
        }

        return state;
    }

    [Fact]
    public void Each_provider_gets_its_health_or_budget_condition_and_healthy_ones_only_their_latency()
    {
        var state = State(
            new ProviderLimitRecorded("anthropic", At.AddMinutes(5), "429", At),
            new CostRecorded("coder", "r1", "openai", null, 0, 0, 0, 1.2m, false, At),
            new CostRecorded("coder", "r2", "local", null, 0, 0, 0, 5m, false, At));
        var latency = new Dictionary<string, double> { ["google"] = 1500, ["anthropic"] = 900 };

        var board = BoardBuilder.Build(Fleet, state, latency, FrozenDictionary<string, string>.Empty, At);

        Assert.Equal(new ProviderCondition(ProviderState.Limited, At.AddMinutes(5), "429", LatencyMs: 900), board.Of("anthropic"));
        var openai = board.Of("openai");
        Assert.Equal((ProviderState.OverBudget, true, At.Date.AddDays(1)), (openai.State, openai.Budget, openai.ResetAt!.Value.UtcDateTime));
        Assert.Equal((ProviderState.OverBudget, false), (board.Of("local").State, board.Of("local").Budget)); // credits, not a window
        Assert.Equal(ProviderCondition.Ok with { LatencyMs = 1500 }, board.Of("google"));
        Assert.Equal(4, board.Providers.Count);
        Assert.Equal("coder", Assert.Single(board.Agents).Key); // $6.20 this hour against $0.50
        Assert.IsAssignableFrom<FrozenDictionary<string, ProviderCondition>>(board.Providers);
    }

    [Fact]
    public void The_board_carries_the_missing_clis_and_only_unexpired_avoids()
    {
        var state = State(
            new RouteAvoidRecorded("coder", "anthropic", null, At.AddMinutes(10), "severe drift", At),
            new RouteAvoidRecorded("reviewer", "openai", null, At.AddMinutes(-1), "severe drift", At.AddHours(-1)));
        var missing = BoardBuilder.MissingClis(Fleet, binary => binary == "gemini" ? null : "/usr/bin/" + binary);

        var board = BoardBuilder.Build(Fleet, state, new Dictionary<string, double>(), missing, At);

        Assert.Equal("'gemini' is not installed (install: npm install -g @google/gemini-cli)", Assert.Single(board.MissingClis).Value);
        Assert.Equal("anthropic", Assert.Single(Assert.Single(board.Avoids).Value).Provider);
        Assert.True(board.EnforceInstalled);
    }

    [Fact]
    public void Missing_clis_are_asked_once_per_cli_kind_and_the_command_kind_never()
    {
        var fleet = Fleet with { Providers = [.. Fleet.Providers, new ProviderSpec { Name = "openai-2", Cli = "codex" }, new ProviderSpec { Name = "shell", Cli = CliCatalog.Command }] };
        var asked = new List<string>();

        var missing = BoardBuilder.MissingClis(fleet, binary =>
        {
            asked.Add(binary);
            return null;
        });

        Assert.Equal(new[] { "claude", "codex", "gemini", "opencode" }, asked.Order());
        Assert.Equal(4, missing.Count);
    }

    [Fact]
    public void Run_outcomes_close_or_count_toward_the_breaker_and_measure_latency()
    {
        var health = new ProviderHealth(_clock) { FailuresToOpen = 2 };
        var outcomes = new RunOutcomes();
        outcomes.Started("r1", At);
        outcomes.Started("r2", At);

        Assert.Null(outcomes.Ended(new AgentLifecycle("a", LifecycleKind.Exited, At.AddSeconds(10), "r1"), "openai", health));
        Assert.Equal(10_000, outcomes.LatencyMs["openai"]);
        Assert.Null(outcomes.Ended(new AgentLifecycle("a", LifecycleKind.Exited, At.AddSeconds(20), "r2"), "openai", health));
        Assert.Equal((0.7 * 10_000) + (0.3 * 20_000), outcomes.LatencyMs["openai"], 6);

        Assert.Null(outcomes.Ended(new AgentLifecycle("a", LifecycleKind.Crashed, At, "r3", Detail: "exit 1"), "anthropic", health));
        Assert.Null(outcomes.Ended(new AgentLifecycle("a", LifecycleKind.Stopped, At, "r4"), "anthropic", health));
        var open = outcomes.Ended(new AgentLifecycle("b", LifecycleKind.Killed, At, "r5"), "anthropic", health);
        Assert.Equal(BreakerState.Open, open!.State);
        Assert.Contains("run r5 of b timed out", open.Reason);
        health.Apply(open);
        Assert.True(outcomes.TakeTimedOut("b"));
        Assert.False(outcomes.TakeTimedOut("b")); // once
        Assert.False(outcomes.TakeTimedOut("a"));

        var closed = outcomes.Ended(new AgentLifecycle("a", LifecycleKind.Exited, At, "r6"), "anthropic", health);
        Assert.Equal(BreakerState.Closed, closed!.State);
        Assert.False(outcomes.LatencyMs.ContainsKey("anthropic")); // r6's start was not seen
    }

    [Theory]
    [InlineData("limited", SwitchReason.RateLimit, "openai is rate limited (429)")]
    [InlineData("open", SwitchReason.Error, "openai's circuit breaker is open (3 failures)")]
    [InlineData("credits", SwitchReason.CreditsExhausted, "openai: credits exhausted")]
    [InlineData("budget", SwitchReason.BudgetExceeded, "openai: daily budget reached")]
    [InlineData("avoided", SwitchReason.Drift, "openai avoided after severe drift until 2026-11-22T12:30:00Z (stall)")]
    [InlineData("ok", SwitchReason.Routing, "the task routes elsewhere")]
    public void A_switch_is_explained_by_the_previous_providers_condition(string condition, SwitchReason reason, string detail)
    {
        var board = ProviderBoard.Empty;
        board = condition switch
        {
            "limited" => board.With(providers: new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.Limited, At, "429") }),
            "open" => board.With(providers: new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.Open, At, "3 failures") }),
            "credits" => board.With(providers: new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.OverBudget, null, "credits exhausted") }),
            "budget" => board.With(providers: new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.OverBudget, At, "daily budget reached", Budget: true) }),
            "avoided" => board.With(avoids: new Dictionary<string, IReadOnlyList<RouteAvoidRecorded>> { ["coder"] = [new("coder", "openai", null, At.AddMinutes(30), "stall", At)] }),
            _ => board,
        };

        Assert.Equal((reason, detail), SwitchReasons.Why("coder", "openai", board, timedOut: false));
        Assert.Equal((SwitchReason.Timeout, "the last run on openai timed out"), SwitchReasons.Why("coder", "openai", board, timedOut: true));
    }

    [Fact]
    public void Reports_show_spend_waiting_agents_and_budget_lines()
    {
        var state = State(
            new CostRecorded("coder", "r1", "openai", null, 0, 0, 0, 0.4m, false, At.AddDays(-40)),
            new CostRecorded("coder", "r2", "openai", null, 0, 0, 0, 0.6m, false, At));
        var board = BoardBuilder.Build(Fleet, state, new Dictionary<string, double>(), BoardBuilder.MissingClis(Fleet, b => b == "gemini" ? null : b), At);

        var providers = RouterReports.Providers(Fleet, state, board, ["reviewer", "coder"], At);
        var openai = providers.Providers.Single(p => p.Name == "openai");
        Assert.Equal((1.0m, 0.6m, true), (openai.Spend, openai.SpendToday, openai.Polling));
        Assert.StartsWith("'gemini' is not installed", providers.Providers.Single(p => p.Name == "google").Reason);
        Assert.Equal(new[] { "coder", "reviewer" }, providers.Waiting);

        var budgets = RouterReports.Budgets(Fleet, state.Ledger, At);
        Assert.Equal(new[] { "openai", "anthropic", "google", "local", "coder" }, budgets.Select(b => b.Name));
        Assert.Equal((0.6m, 1m), (budgets[0].SpentToday, budgets[0].Budget!.Value));
        Assert.Equal("agent", budgets[^1].Kind);
    }
}
