using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The router on virtual time (TestScheduler plus a manual clock moved together): failover when a provider
/// is limited, breaker opening from run outcomes, polling until a provider returns and the waiting agent
/// is resumed, the ledger and budgets from usage events. The factory is a probe.
/// </summary>
public sealed class ProviderRouterActorSpec : VirtualTimeSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TestProbe _factory;
    private readonly RouteBoard _board = new();

    public ProviderRouterActorSpec(ITestOutputHelper output)
        : base(Start, Config(), output)
    {
        _factory = CreateTestProbe("factory");
        RouteBoardSubscriber.Start(Sys, _board); // the node's copy of the router's board, as the layers read it
    }

    private static string Config() => $$"""
        akka.loglevel = INFO
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
        """;

    private static readonly AgentSpec Sentinel = new() { Name = "sentinel", Cli = "codex", Provider = "openai", Capabilities = ["security"], Task = "security scan" };

    private static readonly AgentSpec Auditor = new() { Name = "auditor", Cli = "codex", Provider = "openai", Task = "security scan" };

    private static FleetSpec Fleet(ProviderLimits? openaiLimits = null, TimeSpan? avoidFor = null) => new()
    {
        Providers =
        [
            new ProviderSpec { Name = "openai", Cli = "codex", Priority = 20, Limits = openaiLimits ?? new ProviderLimits() },
            new ProviderSpec { Name = "anthropic", Cli = "claude", Priority = 10 },
        ],
        Routing = [new RoutingRuleSpec { Keywords = ["security"], Provider = "openai" }],
        Router = new RouterSpec { BreakerFailures = 2, BreakerOpenFor = TimeSpan.FromMinutes(2), PollingInterval = TimeSpan.FromSeconds(30), AvoidFor = avoidFor ?? TimeSpan.FromMinutes(30) },
        Agents = [Sentinel, Auditor],
    };

    /// <summary>A router with the fleet applied, subscribed to the event stream (it answered a query) before the test publishes.</summary>
    private async Task<IActorRef> Router(FleetSpec fleet, string id, Func<ProviderSpec, CancellationToken, Task<bool?>>? probe = null)
    {
        var router = Sys.ActorOf(ProviderRouterActor.Props(new RouterSettings
        {
            Clock = Clock,
            PersistenceId = id,
            Factory = _factory.Ref,
            Probe = probe ?? ((_, _) => Task.FromResult<bool?>(null)),
        }));
        _board.Publish(new RoutingPolicy(fleet), ProviderBoard.Empty); // as the gateway does before the router sees the revision
        router.Tell(new ApplyFleet(fleet));
        await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait);
        return router;
    }

    private async Task<RouteDecision> Route(IActorRef router, string task = "security scan") =>
        await router.Ask<RouteDecision>(new RouteTask(task, "sentinel"), Wait);

    [Fact]
    public async Task A_board_subscriber_that_starts_after_the_routers_last_publication_gets_the_current_board()
    {
        var router = await Router(Fleet(), "router-late-joiner");
        Sys.EventStream.Publish(new ProviderLimited("openai", "sentinel", null, Start, Start.AddMinutes(10), "429 Too Many Requests", LimitSource.Structured));
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, _board.Board.Of("openai").State), Wait);

        // a node that joins now: its board is empty until it asks (the router publishes nothing new)
        var late = new RouteBoard();
        late.Publish(new RoutingPolicy(Fleet()), ProviderBoard.Empty);
        RouteBoardSubscriber.Start(Sys, late, router, "late-route-board");

        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, late.Board.Of("openai").State), Wait);
        Assert.Equal("anthropic", late.Decide("security scan", Sentinel)!.Chosen!.Provider);
    }

    [Fact]
    public async Task A_limited_provider_fails_over_to_the_next_candidate_and_the_switch_is_recorded()
    {
        var router = await Router(Fleet(), "router-failover");
        Assert.Equal("openai", (await Route(router)).Chosen!.Provider);
        router.Tell(RouteChosen.Of("sentinel", "run1", new Route("codex", "openai", null, "rule 1"), Start));

        // the adapter (or Nightwatch) says the run's provider is limited; the event names only the run
        Sys.EventStream.Publish(new ProviderLimited(null, "sentinel", "run1", Start, Start.AddMinutes(10), "429 Too Many Requests", LimitSource.Structured));

        await AwaitAssertAsync(async () =>
        {
            var d = await Route(router);
            Assert.Equal("anthropic", d.Chosen!.Provider);
            Assert.Contains("failover from openai rate limited (429 Too Many Requests)", d.Chosen.Reason);
        }, Wait);

        // the layers see the same board (the router publishes it; the node's subscriber copies it)
        await AwaitAssertAsync(() => Assert.Equal("anthropic", _board.Decide("security scan", Sentinel)!.Chosen!.Provider), Wait);

        router.Tell(RouteChosen.Of("sentinel", "run2", new Route("claude", "anthropic", null, "failover"), Start));
        await AwaitAssertAsync(async () =>
        {
            var providers = await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait);
            var sw = Assert.Single(providers.Switches!);
            Assert.Equal(("openai", "anthropic", SwitchReason.RateLimit), (sw.From, sw.To, sw.Reason));
            Assert.Equal(ProviderState.Limited, providers.Providers.Single(p => p.Name == "openai").State);
            Assert.Equal(Start.AddMinutes(10), providers.Providers.Single(p => p.Name == "openai").ResetAt);
        }, Wait);

        // the reset time passes: back to the rule's provider
        Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("openai", (await Route(router)).Chosen!.Provider);
    }

    [Fact]
    public async Task The_layers_board_routes_back_to_a_limited_provider_once_its_reset_time_passes_without_any_other_event()
    {
        // arrange: openai limited for 10 minutes; the layers' board fails over (no agent waits for a route)
        var router = await Router(Fleet(), "router-reset-board");
        Sys.EventStream.Publish(new ProviderLimited("openai", "sentinel", "run1", Start, Start.AddMinutes(10), "429 Too Many Requests", LimitSource.Structured));
        await AwaitAssertAsync(() => Assert.Equal("anthropic", _board.Decide("security scan", Sentinel)!.Chosen!.Provider), Wait);

        // act: the reset time passes, nothing else happens (found by scenarios/rate-limit-failover.yaml: a run at 03:30
        // still failed over from a limit that reset at 03:00, because the board was published again only while an agent waited)
        Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromMilliseconds(100));

        // assert: the board the layers route against has the provider back
        await AwaitAssertAsync(() => Assert.Equal("openai", _board.Decide("security scan", Sentinel)!.Chosen!.Provider), Wait);
        Assert.Equal(ProviderState.Ok, (await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Providers.Single(p => p.Name == "openai").State);
    }

    [Fact]
    public async Task Crashed_runs_open_the_breaker_and_a_successful_probe_closes_it()
    {
        var router = await Router(Fleet(), "router-breaker");
        for (var i = 1; i <= 2; i++)
        {
            router.Tell(RouteChosen.Of("sentinel", $"run{i}", new Route("codex", "openai", null, "rule 1"), Start));
            Sys.EventStream.Publish(new AgentLifecycle("sentinel", LifecycleKind.Crashed, Start, $"run{i}", ExitCode: 1));
        }

        await AwaitAssertAsync(async () =>
        {
            var d = await Route(router);
            Assert.Equal("anthropic", d.Chosen!.Provider);
            Assert.StartsWith("circuit breaker open (2 consecutive failures", d.Candidates.Single(c => c.Provider == "openai").RejectedBecause);
        }, Wait);

        Advance(TimeSpan.FromMinutes(2));
        var probe = await Route(router);
        Assert.Equal("openai", probe.Chosen!.Provider);
        Assert.Contains("half-open probe", probe.Chosen.Reason);

        router.Tell(RouteChosen.Of("sentinel", "run3", probe.Chosen, Clock.Now));
        Sys.EventStream.Publish(new AgentLifecycle("sentinel", LifecycleKind.Exited, Clock.Now, "run3", ExitCode: 0));
        await AwaitAssertAsync(async () =>
        {
            var providers = await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait);
            Assert.Equal(ProviderState.Ok, providers.Providers.Single(p => p.Name == "openai").State);
        }, Wait);
    }

    [Fact]
    public async Task With_every_provider_limited_a_waiting_agent_is_resumed_when_one_returns()
    {
        var router = await Router(Fleet(), "router-polling");
        foreach (var p in new[] { "openai", "anthropic" })
        {
            Sys.EventStream.Publish(new ProviderLimited(p, "sentinel", null, Start, Start.AddMinutes(5), "quota", LimitSource.Pattern));
        }

        await AwaitAssertAsync(async () => Assert.Null((await Route(router)).Chosen), Wait);
        Assert.Equal("all providers limited; polling", (await Route(router)).Waiting);

        router.Tell(new AwaitRoute("sentinel", "security scan", "all providers limited; polling"));
        await AwaitAssertAsync(async () => Assert.Contains("sentinel", (await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Waiting), Wait);

        Advance(TimeSpan.FromMinutes(2)); // polls, nothing returned yet
        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(1)); // the reset time passes
        var resume = await _factory.ExpectMsgAsync<ResumeAgent>(Wait);
        Assert.Equal(("sentinel", "security scan"), (resume.Agent, resume.Task));
        Assert.Empty((await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Waiting);
    }

    [Fact]
    public async Task A_probe_that_answers_lifts_a_limit_before_its_reset_time()
    {
        var router = await Router(Fleet(), "router-probe", (p, _) => Task.FromResult<bool?>(p.Name == "anthropic"));
        foreach (var p in new[] { "openai", "anthropic" })
        {
            Sys.EventStream.Publish(new ProviderLimited(p, "sentinel", null, Start, Start.AddHours(5), "quota", LimitSource.Pattern));
        }

        await AwaitAssertAsync(async () => Assert.Null((await Route(router)).Chosen), Wait);
        router.Tell(new AwaitRoute("sentinel", null, "all providers limited; polling"));
        await AwaitAssertAsync(async () => Assert.NotEmpty((await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Waiting), Wait);

        Advance(TimeSpan.FromSeconds(30));
        var resume = await _factory.ExpectMsgAsync<ResumeAgent>(Wait);
        Assert.Equal("sentinel", resume.Agent);
        Assert.Equal("anthropic", (await Route(router)).Chosen!.Provider);
    }

    [Fact]
    public async Task Usage_lands_in_the_ledger_and_a_spent_budget_switches_the_provider()
    {
        var router = await Router(Fleet(new ProviderLimits { BudgetPerDay = 1 }), "router-budget");
        router.Tell(RouteChosen.Of("sentinel", "run1", new Route("codex", "openai", null, "rule 1"), Start));
        Sys.EventStream.Publish(new AgentUsage("sentinel", "run1", null, "gpt-5-codex", 1000, 200, Start, CostUsd: 1.25m));

        await AwaitAssertAsync(async () =>
        {
            var costs = await router.Ask<CostReport>(new GetCosts("provider"), Wait);
            Assert.Equal(1.25m, costs.TotalUsd);
            Assert.Equal("openai", costs.Rows.Single().Key);
        }, Wait);

        var d = await Route(router);
        Assert.Equal("anthropic", d.Chosen!.Provider);
        Assert.StartsWith("over budget (daily budget $1.00 reached: $1.25 spent) until 2026-11-23T00:00:00Z", d.Candidates.Single(c => c.Provider == "openai").RejectedBecause);
        var openai = (await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Providers.Single(p => p.Name == "openai");
        Assert.Equal((ProviderState.OverBudget, 1.25m), (openai.State, openai.Spend));
    }

    [Fact]
    public async Task A_route_avoid_from_nightwatch_moves_that_agent_elsewhere_until_it_expires()
    {
        var router = await Router(Fleet(avoidFor: TimeSpan.FromMinutes(10)), "router-avoid");
        router.Tell(RouteChosen.Of("sentinel", "run1", new Route("codex", "openai", null, "rule 1"), Start));

        // severe drift: Nightwatch pauses sentinel for 5 minutes and asks the router to avoid openai
        Sys.EventStream.Publish(new RouteAvoid("sentinel", "openai", null, Start.AddMinutes(5), "severe drift 0.45 (stall 0.45)"));

        // the run after the pause (and any run within avoid_for after it) goes elsewhere; other agents keep openai
        await AwaitAssertAsync(() => Assert.Equal("anthropic", _board.Decide("security scan", Sentinel)!.Chosen!.Provider), Wait);
        Assert.Equal("openai", _board.Decide("security scan", Auditor)!.Chosen!.Provider);
        var explained = await Route(router);
        Assert.Equal("anthropic", explained.Chosen!.Provider);
        Assert.Equal(
            "avoided after severe drift until 2026-11-22T12:15:00Z (severe drift 0.45 (stall 0.45))",
            explained.Candidates.Single(c => c.Provider == "openai").RejectedBecause);
        var avoid = Assert.Single((await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Avoids!);
        Assert.Equal(("sentinel", "openai", Start.AddMinutes(15)), (avoid.Agent, avoid.Provider, avoid.Until));

        // the pause ends (Nightwatch starts the agent again): the new run is routed away, and the switch says why
        Advance(TimeSpan.FromMinutes(5));
        var next = _board.Decide("security scan", Sentinel)!.Chosen!;
        Assert.Equal("anthropic", next.Provider);
        router.Tell(RouteChosen.Of("sentinel", "run2", next, Clock.Now));
        await AwaitAssertAsync(async () =>
        {
            var sw = Assert.Single((await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Switches!);
            Assert.Equal(("openai", "anthropic", SwitchReason.Drift), (sw.From, sw.To, sw.Reason));
            Assert.StartsWith("openai avoided after severe drift", sw.Detail);
        }, Wait);

        // until + avoid_for passes: the timer re-publishes the board and openai is eligible again
        Advance(TimeSpan.FromMinutes(10));
        await AwaitAssertAsync(() => Assert.Equal("openai", _board.Decide("security scan", Sentinel)!.Chosen!.Provider), Wait);
        Assert.Equal("openai", (await Route(router)).Chosen!.Provider);
        Assert.Empty((await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Avoids!);
    }

    [Fact]
    public async Task An_avoided_route_is_still_taken_when_nothing_else_can_run()
    {
        var router = await Router(Fleet(), "router-avoid-only");
        Sys.EventStream.Publish(new ProviderLimited("anthropic", "auditor", null, Start, Start.AddHours(1), "quota", LimitSource.Pattern));
        Sys.EventStream.Publish(new RouteAvoid("sentinel", "openai", null, Start.AddMinutes(5), "severe drift"));

        await AwaitAssertAsync(() =>
        {
            var d = _board.Decide("security scan", Sentinel)!;
            Assert.Equal("openai", d.Chosen!.Provider);
            Assert.Contains("taken although avoided after severe drift", d.Chosen.Reason);
        }, Wait);
    }
}
