using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Cluster;
using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// The router as a cluster singleton on a real one-node Akka.NET cluster (Akka.Remote on 127.0.0.1, DistributedPubSub),
/// started as the daemon starts it (<see cref="ControlSingletons"/> and the node's <see cref="RouterFeed"/>): this node's
/// runs' usage, limits and routes reach it once (through the feed, not also through its own node's topics), another
/// node's run's end reaches it over the lifecycle topic, its board and events come back to the node's topics through
/// the feed (the node's <see cref="RouteBoard"/> and its layers), and a run's route is on the topics of the run's node.
/// </summary>
public sealed class RouterSingletonSpec : OneNodeClusterSpec
{
    private static readonly FleetSpec Fleet = new()
    {
        Providers =
        [
            new ProviderSpec { Name = "openai", Cli = "codex", Priority = 20, Limits = new ProviderLimits { Credits = 1m } },
            new ProviderSpec { Name = "anthropic", Cli = "claude", Priority = 10 },
        ],
        Router = new RouterSpec { BreakerFailures = 1, BreakerOpenFor = TimeSpan.FromMinutes(2) },
        Agents = [new AgentSpec { Name = "coder", Cli = "codex", Provider = "openai", Task = "code" }],
    };

    public RouterSingletonSpec(ITestOutputHelper output)
        : base(output, "control", "agents", "node:n1")
    {
    }

    private async Task<(IActorRef Feed, RouteBoard Board)> StartAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        await UntilUpAsync();
        var factory = Sys.ActorOf(ClusterFactory.Props("n1", CreateTestProbe().Ref, () => MemberFacts.From(cluster.State)), ClusterFactory.ActorName);
        var singletons = new ControlSingletons(Sys, "n1", "control", factory);
        var face = singletons.Start("router", f => ProviderRouterActor.Props(new RouterSettings
        {
            PersistenceId = "router-spec",
            Factory = f,
            Cluster = true,
            Probe = (_, _) => Task.FromResult<bool?>(null),
        }));
        var board = new RouteBoard();
        RouteBoardSubscriber.Start(Sys, board); // the node's copy, from the node's topics
        var feed = RouterFeed.Start(Sys, face, singletons.Mediator);
        factory.Tell(new PlacementNode.Declare(Fleet)); // the whole fleet, which the singleton asks the node's factory for
        await AwaitAssertAsync(async () => Assert.Contains((await feed.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Providers, p => p.Name == "openai"), Wait);
        return (feed, board);
    }

    [Fact]
    public async Task This_nodes_usage_reaches_the_one_router_once_and_its_ledger_and_budget_come_back_on_the_nodes_board()
    {
        var (feed, board) = await StartAsync();
        var at = DateTimeOffset.UtcNow;

        // a run on this node: its route from the layer (through the gateway: the feed), its usage on the node's topics
        var routes = CreateTestProbe();
        Sys.EventStream.Subscribe(routes.Ref, typeof(RouteChosen));
        var chosen = new RouteChosen("coder", "r1", "codex", "openai", "gpt", "own provider", at);
        feed.Tell(chosen);
        Assert.Equal(chosen, await routes.ExpectMsgAsync<RouteChosen>(Wait)); // on this node's topics, where the run is
        Sys.EventStream.Publish(new AgentUsage("coder", "r1", "openai", "gpt", 1000, 100, at, CostUsd: 0.6m));
        Sys.EventStream.Publish(new AgentUsage("coder", "r1", "openai", "gpt", 1000, 100, at, CostUsd: 0.3m));

        // counted once each (a router that also heard its node's topics would count 1.8): and the credits are spent,
        // which the node's board says, from the singleton's publication
        await AwaitAssertAsync(async () => Assert.Equal(0.9m, (await feed.Ask<CostReport>(new GetCosts(), Wait)).TotalUsd), Wait);
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Ok, board.Board.Providers.GetValueOrDefault("openai")?.State ?? ProviderState.Ok), Wait);
        Sys.EventStream.Publish(new AgentUsage("coder", "r1", "openai", "gpt", 10, 10, at, CostUsd: 0.2m));
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.OverBudget, board.Board.Providers["openai"].State), Wait);
        Assert.Equal(1.1m, (await feed.Ask<CostReport>(new GetCosts(), Wait)).TotalUsd);
        await routes.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // the router did not publish the route again
    }

    [Fact]
    public async Task A_limit_reported_on_this_node_and_a_run_end_on_another_reach_the_router_and_its_events_come_back_once()
    {
        var (feed, board) = await StartAsync();
        var at = DateTimeOffset.UtcNow;
        var recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(ProviderLimitRecorded));
        Sys.EventStream.Subscribe(recorded.Ref, typeof(BreakerTransitioned));

        // a 429 seen on this node: the router marks the provider, the node's board and layers hear it (once)
        Sys.EventStream.Publish(new ProviderLimited("openai", "coder", "r1", at, at.AddMinutes(10), "429", LimitSource.Structured));
        var limit = await recorded.ExpectMsgAsync<ProviderLimitRecorded>(Wait);
        Assert.Equal("openai", limit.Provider);
        Assert.Equal(ProviderState.Limited, board.Board.Providers["openai"].State); // the board came first
        await recorded.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));

        // a run routed to anthropic on n2 fails there: its end comes over the lifecycle topic, and one failure opens the breaker
        feed.Tell(new RouteChosen("coder", "r2", "claude", "anthropic", null, "failover", at));
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeLifecycle.Topic, new NodeLifecycle("n2", new AgentLifecycle("coder", LifecycleKind.Crashed, DateTimeOffset.UtcNow, "r2", ExitCode: 1))));
            Assert.Equal(BreakerState.Open, (await recorded.FishForMessageAsync<BreakerTransitioned>(_ => true, TimeSpan.FromMilliseconds(500))).State);
        }, Wait);
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Open, board.Board.Providers["anthropic"].State), Wait);

        // Nightwatch's route-avoid on this node reaches it too
        Sys.EventStream.Publish(new RouteAvoid("coder", "openai", null, DateTimeOffset.UtcNow.AddMinutes(5), "drift"));
        await AwaitAssertAsync(async () => Assert.Single((await feed.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait)).Avoids ?? []), Wait);
    }
}
