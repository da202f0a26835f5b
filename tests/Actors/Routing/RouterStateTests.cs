using System.Text.Json;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The router's persisted state without the actor: each event applied, bounded memories (routes, switches),
/// avoided routes that expire, and a snapshot that a new state restores to the same queries and the same snapshot.
/// </summary>
public sealed class RouterStateTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(At);

    private static RouteChosen Chosen(string agent, string run, string provider) => RouteChosen.Of(agent, run, new Route("codex", provider, null, "own", "own"), At);

    private RouterState Populated()
    {
        var state = new RouterState(_clock);
        object[] events =
        [
            Chosen("a", "r1", "openai"),
            new CostRecorded("a", "r1", "openai", "gpt", 1000, 100, 500, 0.25m, true, At),
            new ProviderLimitRecorded("anthropic", At.AddHours(1), "429", At),
            new BreakerTransitioned("openai", BreakerState.Open, At, "3 consecutive failures; last: exit 1", 3),
            Chosen("a", "r2", "anthropic"),
            new ProviderSwitched("a", "r2", "openai", "anthropic", SwitchReason.Error, "openai's circuit breaker is open", At),
            new RouteAvoidRecorded("a", "openai", null, At.AddMinutes(30), "severe drift", At),
            new RouteAvoidRecorded("b", "anthropic", "claude-x", At.AddHours(2), "severe drift", At),
        ];
        foreach (var e in events)
        {
            Assert.True(state.Apply(e));
        }

        return state;
    }

    [Fact]
    public void Every_router_event_type_is_applied_so_the_router_recovers_it()
    {
        // the router recovers every IRouterEvent through Apply: a new event type Apply does not take fails here
        var state = new RouterState(_clock);
        IRouterEvent[] samples =
        [
            Chosen("a", "r1", "openai"),
            new CostRecorded("a", "r1", "openai", "gpt", 1000, 100, 500, 0.25m, true, At),
            new ProviderLimitRecorded("anthropic", At.AddHours(1), "429", At),
            new BreakerTransitioned("openai", BreakerState.Open, At, "3 consecutive failures; last: exit 1", 3),
            new ProviderSwitched("a", "r2", "openai", "anthropic", SwitchReason.Error, "openai's circuit breaker is open", At),
            new RouteAvoidRecorded("a", "openai", null, At.AddMinutes(30), "severe drift", At),
            new ProviderAdded("spare", "codex", null, "SPARE_KEY", 10m, 1, "test", At),
            new ProviderRemoved("spare", "test", At),
        ];
        var declared = typeof(IRouterEvent).Assembly.GetTypes().Where(t => typeof(IRouterEvent).IsAssignableFrom(t) && !t.IsInterface).ToHashSet();

        Assert.Equal(declared.OrderBy(t => t.Name), samples.Select(e => e.GetType()).OrderBy(t => t.Name));
        Assert.All(samples, e => Assert.True(state.Apply(e), e.GetType().Name));
    }

    [Fact]
    public void Events_are_applied_to_ledger_health_routes_switches_and_avoids()
    {
        var state = Populated();

        Assert.Equal("openai", state.RouteOf("r1")!.Provider);
        Assert.Equal("anthropic", state.LastProvider("a"));
        Assert.Null(state.LastProvider("b"));
        Assert.Equal(0.25m, state.Ledger.ProviderSpend("openai"));
        Assert.Equal(ProviderState.Limited, state.Health.Condition("anthropic")!.State);
        Assert.Equal(ProviderState.Open, state.Health.Condition("openai")!.State);
        Assert.Equal(SwitchReason.Error, Assert.Single(state.RecentSwitches(20)).Reason);
        Assert.Equal(new[] { "a", "b" }, state.ActiveAvoids(At).Select(a => a.Agent));
        Assert.False(state.Apply(new AgentUsage("a", "r1", null, null, 1, 1, At)));
    }

    [Fact]
    public void A_restored_snapshot_answers_the_same_and_snapshots_the_same()
    {
        var state = Populated();
        var snapshot = state.Snapshot(At);

        var restored = new RouterState(_clock);
        restored.Restore(snapshot);

        Assert.Equal(Json(snapshot), Json(restored.Snapshot(At)));
        Assert.Equal("anthropic", restored.LastProvider("a"));
        Assert.Equal("openai", restored.RouteOf("r1")!.Provider);
        Assert.Equal(state.Ledger.Report("run"), restored.Ledger.Report("run"), ReportComparer.Instance);
        Assert.Equal(state.Health.Condition("openai"), restored.Health.Condition("openai"));
        Assert.Equal(state.Health.Condition("anthropic"), restored.Health.Condition("anthropic"));
        Assert.Equal(state.AvoidsByAgent(At).Keys.Order(), restored.AvoidsByAgent(At).Keys.Order());
    }

    [Fact]
    public void A_snapshot_leaves_out_what_expired()
    {
        var state = Populated();
        var later = At.AddMinutes(90); // a's avoid (30 min) and anthropic's limit (1 h) are over, b's avoid (2 h) is not
        _clock.Advance(later - At);

        var snapshot = state.Snapshot(later);

        Assert.Empty(snapshot.Limits);
        Assert.Equal("b", Assert.Single(snapshot.Avoids!).Agent);
        Assert.Single(snapshot.Breakers);
        Assert.Equal(2, snapshot.Routes.Count);
    }

    [Fact]
    public void Routes_and_switches_are_bounded_oldest_first()
    {
        var state = new RouterState(_clock);
        for (var i = 0; i < RouterState.KeepRoutes + 5; i++)
        {
            state.Apply(Chosen("a", $"r{i}", "openai"));
        }

        for (var i = 0; i < RouterState.KeepSwitches + 5; i++)
        {
            state.Apply(new ProviderSwitched("a", $"r{i}", "openai", "anthropic", SwitchReason.Routing, $"switch {i}", At));
        }

        Assert.Null(state.RouteOf("r4"));
        Assert.NotNull(state.RouteOf("r5"));
        Assert.Equal(RouterState.KeepRoutes, state.Snapshot(At).Routes.Count);
        Assert.Equal(RouterState.KeepSwitches, state.Snapshot(At).Switches.Count);
        Assert.Equal($"switch {RouterState.KeepSwitches + 4}", state.RecentSwitches(1).Single().Detail); // newest first
    }

    [Fact]
    public void An_avoid_for_the_same_route_replaces_the_older_one_and_expired_ones_are_dropped()
    {
        var state = new RouterState(_clock);
        state.Apply(new RouteAvoidRecorded("a", "openai", null, At.AddMinutes(10), "first", At));
        state.Apply(new RouteAvoidRecorded("a", "openai", null, At.AddMinutes(40), "again", At));
        state.Apply(new RouteAvoidRecorded("a", "openai", "gpt-x", At.AddMinutes(20), "model only", At));

        Assert.Equal(new[] { "again", "model only" }, state.ActiveAvoids(At).Select(a => a.Reason).Order());
        Assert.Equal(At.AddMinutes(20), state.NextAvoidExpiry());

        state.DropExpiredAvoids(At.AddMinutes(20));
        Assert.Equal("again", Assert.Single(state.AvoidsByAgent(At.AddMinutes(20))["a"]).Reason);

        state.DropExpiredAvoids(At.AddMinutes(40));
        Assert.Empty(state.AvoidsByAgent(At.AddMinutes(40)));
        Assert.Null(state.NextAvoidExpiry());
    }

    [Fact]
    public void A_snapshot_stored_before_avoided_routes_existed_restores()
    {
        var old = new RouterSnapshot([], [], [new ProviderLimitRecorded("openai", At.AddHours(1), "429", At)], [], [Chosen("a", "r1", "openai")], []);

        var state = new RouterState(_clock);
        state.Restore(old);

        Assert.Empty(state.ActiveAvoids(At));
        Assert.Equal("openai", state.LastProvider("a"));
        Assert.Equal(ProviderState.Limited, state.Health.Condition("openai")!.State);
    }

    private static string Json(RouterSnapshot s) => JsonSerializer.Serialize(s, DarkFactoryJson.Options);

    private sealed class ReportComparer : IEqualityComparer<CostReport>
    {
        public static readonly ReportComparer Instance = new();

        public bool Equals(CostReport? x, CostReport? y) => JsonSerializer.Serialize(x, DarkFactoryJson.Options) == JsonSerializer.Serialize(y, DarkFactoryJson.Options);

        public int GetHashCode(CostReport obj) => 0;
    }

    [Fact]
    public void A_route_records_a_switch_only_when_the_agents_last_run_was_elsewhere_and_asks_the_board_only_then()
    {
        var state = new RouterState(_clock);
        var boards = 0;
        ProviderBoard Board()
        {
            boards++;
            return ProviderBoard.Empty.With(providers: new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.Limited, At.AddHours(1), "429") });
        }

        var first = state.EventsOf(Chosen("a", "r1", "openai"), Board, () => false);
        Assert.IsType<RouteChosen>(Assert.Single(first));
        state.Apply(first[0]);
        Assert.Single(state.EventsOf(Chosen("a", "r2", "openai"), Board, () => false));
        Assert.Equal(0, boards);

        var moved = state.EventsOf(Chosen("a", "r3", "anthropic"), Board, () => false);

        Assert.Equal(1, boards);
        var sw = Assert.IsType<ProviderSwitched>(moved[1]);
        Assert.Equal(("openai", "anthropic", SwitchReason.RateLimit), (sw.From, sw.To, sw.Reason));
        Assert.Equal(SwitchReason.Timeout, Assert.IsType<ProviderSwitched>(state.EventsOf(Chosen("a", "r4", "anthropic"), Board, () => true)[1]).Reason);
    }
}
