using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Cluster;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// A node's <see cref="RouterFeed"/> on a real one-node Akka.NET cluster (DistributedPubSub), the router singleton's face a
/// probe: the node's runs' inputs go to it once each, a run's route also on the node's topics, the router's board and
/// events from the topic onto the node's topics, and the node's waiting agents again when a router starts (a router that
/// took over from a lost node knows none), but not one that got its route meanwhile.
/// </summary>
public sealed class RouterFeedSpec : OneNodeClusterSpec
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 22, 0, 0, TimeSpan.Zero);

    public RouterFeedSpec(ITestOutputHelper output)
        : base(output, "node:n1")
    {
    }

    [Fact]
    public async Task The_nodes_inputs_reach_the_router_once_and_its_board_events_and_a_restart_come_back_to_the_node()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var router = CreateTestProbe();
        var feed = RouterFeed.Start(Sys, router.Ref, mediator);
        var topics = CreateTestProbe();
        Sys.EventStream.Subscribe(topics.Ref, typeof(RouteChosen));
        Sys.EventStream.Subscribe(topics.Ref, typeof(ProviderBoardPublished));
        Sys.EventStream.Subscribe(topics.Ref, typeof(ProviderLimitRecorded));

        // inputs heard on the node's topics, and those the gateway hands it, each once to the router
        var usage = new AgentUsage("a", "r1", "openai", "gpt", 10, 5, At, CostUsd: 0.1m);
        var limited = new ProviderLimited("openai", "a", "r1", At, At.AddMinutes(5), "429", LimitSource.Structured);
        var avoid = new RouteAvoid("a", "openai", null, At.AddMinutes(5), "drift");
        Sys.EventStream.Publish(usage);
        Sys.EventStream.Publish(limited);
        Sys.EventStream.Publish(avoid);
        Assert.Equal(usage, await router.ExpectMsgAsync<AgentUsage>(Wait));
        Assert.Equal(limited, await router.ExpectMsgAsync<ProviderLimited>(Wait));
        Assert.Equal(avoid, await router.ExpectMsgAsync<RouteAvoid>(Wait));
        var waitA = new AwaitRoute("a", "task a", "every provider limited");
        var waitB = new AwaitRoute("b", null, "over budget");
        feed.Tell(waitA);
        feed.Tell(waitB);
        Assert.Equal(waitA, await router.ExpectMsgAsync<AwaitRoute>(Wait));
        Assert.Equal(waitB, await router.ExpectMsgAsync<AwaitRoute>(Wait));

        // b got its route: the route goes to the router and on this node's topics (where its run is)
        var route = new RouteChosen("b", "r2", "claude", "anthropic", null, "failover", At);
        feed.Tell(route);
        Assert.Equal(route, await router.ExpectMsgAsync<RouteChosen>(Wait));
        Assert.Equal(route, await topics.ExpectMsgAsync<RouteChosen>(Wait));
        var costs = new GetCosts();
        feed.Tell(costs, TestActor);
        Assert.Equal(costs, await router.ExpectMsgAsync<GetCosts>(Wait));
        Assert.Equal(TestActor, router.LastSender); // a read answers its asker
        await router.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        // the router's board and a limit it recorded, on the topic, reach this node's topics once (once the feed's subscription is in)
        var board = new ProviderBoardPublished(ProviderBoard.Empty);
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(RouterFeed.Topic, board));
            Assert.Equal(board, await topics.ExpectMsgAsync<ProviderBoardPublished>(TimeSpan.FromMilliseconds(500)));
        }, Wait);
        topics.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the retries' extra copies
        var recorded = new ProviderLimitRecorded("openai", At.AddMinutes(5), "429", At);
        mediator.Tell(new Publish(RouterFeed.Topic, recorded));
        Assert.Equal(recorded, await topics.ExpectMsgAsync<ProviderLimitRecorded>(Wait));
        await topics.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        await router.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // none of that goes back to the router

        // a router started (took over): a still waits and is sent again; b, routed, is not
        mediator.Tell(new Publish(RouterFeed.Topic, new RouterStarted("n2", At)));
        Assert.Equal(waitA, await router.ExpectMsgAsync<AwaitRoute>(Wait));
        await router.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }
}
