using System.Collections.Frozen;
using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The node-local route board: the gateway publishes a revision's policy on it, the node's
/// <see cref="RouteBoardSubscriber"/> copies each board the router publishes (<see cref="ProviderBoardPublished"/>).
/// </summary>
public sealed class RouteBoardSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly AgentSpec Coder = new() { Name = "coder", Cli = CliCatalog.Claude, Task = "fix the parser" };

    private static FleetSpec Fleet(params string[] providers) => new()
    {
        Providers = [.. providers.Select((p, i) => new ProviderSpec { Name = p, Cli = CliCatalog.Claude, Priority = 10 * (i + 1) })],
        Agents = [Coder],
    };

    private static ProviderBoard Limited(string provider) =>
        ProviderBoard.Empty.With(providers: new Dictionary<string, ProviderCondition> { [provider] = new(ProviderState.Limited, At.AddHours(1), "429") });

    [Fact]
    public void A_board_that_arrives_before_any_policy_is_kept_and_routed_against_once_the_policy_arrives()
    {
        var routes = new RouteBoard();

        routes.Publish(Limited("anthropic"));

        Assert.Null(routes.Decide(Coder.Task!, Coder));
        Assert.Equal(ProviderState.Limited, routes.Board.Of("anthropic").State);
        routes.Publish(new RoutingPolicy(Fleet("anthropic", "openai")));
        Assert.Equal("openai", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
    }

    [Fact]
    public void A_new_board_keeps_the_policy_and_a_new_policy_keeps_the_board()
    {
        var routes = new RouteBoard();
        routes.Publish(new RoutingPolicy(Fleet("anthropic", "openai")), ProviderBoard.Empty);
        Assert.Equal("anthropic", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);

        routes.Publish(Limited("anthropic"));
        Assert.Equal("openai", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);

        // a revision that puts google before openai: the limit on anthropic still holds
        routes.Publish(new RoutingPolicy(Fleet("anthropic", "google", "openai")));
        Assert.Equal("google", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
        Assert.IsAssignableFrom<FrozenDictionary<string, ProviderCondition>>(routes.Board.Providers);
    }

    [Fact]
    public async Task The_subscriber_copies_each_board_the_router_publishes_in_order()
    {
        var routes = new RouteBoard();
        routes.Publish(new RoutingPolicy(Fleet("anthropic", "openai")), ProviderBoard.Empty);
        RouteBoardSubscriber.Start(Sys, routes);
        var topics = FleetTopics.For(Sys);

        topics.Publish(new ProviderBoardPublished(Limited("anthropic")));
        topics.Publish(new ProviderBoardPublished(Limited("openai")));

        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, routes.Board.Of("openai").State), Wait);
        Assert.Equal(ProviderState.Ok, routes.Board.Of("anthropic").State);
        Assert.Equal("anthropic", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
        Assert.IsAssignableFrom<FrozenDictionary<string, ProviderCondition>>(routes.Board.Providers);
    }

    [Fact]
    public async Task A_revisions_policy_is_in_place_before_the_fleet_sees_the_revision_and_a_late_board_of_the_old_one_keeps_it()
    {
        // arrange: the gateway with the node's board and its subscriber; the fleet is a probe
        var registry = ActorRegistry.For(Sys);
        var fleet = CreateTestProbe();
        registry.Register<FleetActor>(fleet.Ref);
        var routes = new RouteBoard();
        RouteBoardSubscriber.Start(Sys, routes);
        var gateway = Sys.ActorOf(FactoryActor.Props(registry, routes, _ => "/usr/bin/claude"));
        gateway.Tell(new ApplyFleet(Fleet("openai")));
        await fleet.ExpectMsgAsync<ApplyFleet>(Wait);

        // act: revision 2 declares only anthropic
        gateway.Tell(new ApplyFleet(Fleet("anthropic")));

        // assert: when the fleet (and so its layers) sees the revision, the board routes with its policy
        await fleet.ExpectMsgAsync<ApplyFleet>(Wait);
        Assert.Equal("anthropic", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);

        // a board the router built before it saw revision 2 arrives late: the policy stays revision 2's
        FleetTopics.For(Sys).Publish(new ProviderBoardPublished(Limited("openai")));
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, routes.Board.Of("openai").State), Wait);
        Assert.Equal("anthropic", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
    }

    [Fact]
    public async Task A_subscriber_that_starts_after_the_last_publication_asks_the_router_for_its_board()
    {
        var routes = new RouteBoard();
        routes.Publish(new RoutingPolicy(Fleet("anthropic", "openai")), ProviderBoard.Empty);
        var router = CreateTestProbe();

        RouteBoardSubscriber.Start(Sys, routes, router.Ref);

        await router.ExpectMsgAsync<GetProviderBoard>(Wait);
        router.Reply(new CurrentProviderBoard(Limited("anthropic")));
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, routes.Board.Of("anthropic").State), Wait);
        Assert.Equal("openai", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
        await router.ExpectNoMsgAsync(RouteBoardSubscriber.AskEvery + TimeSpan.FromSeconds(1)); // answered: no more asking
    }

    [Fact]
    public async Task An_answer_that_comes_after_a_publication_is_ignored_and_a_router_that_does_not_answer_is_asked_again()
    {
        var routes = new RouteBoard();
        var router = CreateTestProbe();
        RouteBoardSubscriber.Start(Sys, routes, router.Ref);

        // nobody answers (the router is not up yet): the subscriber asks again
        await router.ExpectMsgAsync<GetProviderBoard>(Wait);
        await router.ExpectMsgAsync<GetProviderBoard>(RouteBoardSubscriber.AskEvery + Wait);

        // a publication arrives first; the answer the router built before it must not replace it
        FleetTopics.For(Sys).Publish(new ProviderBoardPublished(Limited("openai")));
        await AwaitAssertAsync(() => Assert.Equal(ProviderState.Limited, routes.Board.Of("openai").State), Wait);
        router.Reply(new CurrentProviderBoard(Limited("anthropic")));
        await router.ExpectNoMsgAsync(RouteBoardSubscriber.AskEvery + TimeSpan.FromSeconds(1));
        Assert.Equal(ProviderState.Ok, routes.Board.Of("anthropic").State);
        Assert.Equal(ProviderState.Limited, routes.Board.Of("openai").State);
    }
}
