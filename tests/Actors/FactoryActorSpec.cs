using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Scheduling;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests;

/// <summary>The gateway on its own: probes registered in place of the tree's actors.</summary>
public sealed class FactoryActorSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task The_first_revision_carries_the_pauses_that_outlived_the_last_daemon_and_later_ones_follow_it_in_order()
    {
        var registry = ActorRegistry.For(Sys);
        var (fleet, nightwatch) = (CreateTestProbe(), CreateTestProbe());
        registry.Register<FleetActor>(fleet.Ref);
        registry.Register<NightwatchActor>(nightwatch.Ref);
        var gateway = Sys.ActorOf(FactoryActor.Props(registry, null, _ => "/usr/bin/true"));
        var first = new ApplyFleet(new FleetSpec());
        var second = new ApplyFleet(new FleetSpec { Version = 1 });
        var until = DateTimeOffset.UtcNow.AddMinutes(3);

        gateway.Tell(first);
        gateway.Tell(second); // arrives while the first waits for Nightwatch
        await nightwatch.ExpectMsgAsync<GetPauses>(Wait);
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // nothing reaches the layers before the answer
        nightwatch.Reply(new PausesInForce(new Dictionary<string, DateTimeOffset> { ["looper"] = until }));

        var applied = await fleet.ExpectMsgAsync<ApplyFleet>(Wait);
        Assert.Equal(until, applied.Held!["looper"]);
        Assert.Same(second, await fleet.ExpectMsgAsync<ApplyFleet>(Wait)); // in order, and only the first holds
        gateway.Tell(new ApplyFleet(new FleetSpec()));
        Assert.Null((await fleet.ExpectMsgAsync<ApplyFleet>(Wait)).Held); // Nightwatch is asked once, at the first
        for (var i = 0; i < 3; i++)
        {
            await nightwatch.ExpectMsgAsync<ApplyFleet>(Wait); // each revision, as every actor that keeps one
        }

        await nightwatch.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task With_no_pause_in_the_store_the_first_revision_goes_at_once_without_asking_nightwatch()
    {
        var registry = ActorRegistry.For(Sys);
        var (fleet, nightwatch) = (CreateTestProbe(), CreateTestProbe());
        registry.Register<FleetActor>(fleet.Ref);
        registry.Register<NightwatchActor>(nightwatch.Ref);
        var gateway = Sys.ActorOf(FactoryActor.Props(registry, null, _ => "/usr/bin/true", waitForPauses: false));
        var first = new ApplyFleet(new FleetSpec());

        gateway.Tell(first);

        Assert.Same(first, await fleet.ExpectMsgAsync<ApplyFleet>(Wait)); // no Held: nothing outlived the last daemon
        Assert.Same(first, await nightwatch.ExpectMsgAsync<ApplyFleet>(Wait)); // the revision, never a GetPauses before it
        await nightwatch.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_fleet_revision_reaches_every_registered_actor_that_keeps_one_and_the_fleet_answers_it()
    {
        // arrange
        var registry = ActorRegistry.For(Sys);
        var (fleet, router, scheduler, review, nightwatch) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        registry.Register<FleetActor>(fleet.Ref);
        registry.Register<ProviderRouterActor>(router.Ref);
        registry.Register<SchedulerActor>(scheduler.Ref);
        registry.Register<CompoundReviewActor>(review.Ref);
        registry.Register<NightwatchActor>(nightwatch.Ref);
        var routes = new RouteBoard();
        var gateway = Sys.ActorOf(FactoryActor.Props(registry, routes, _ => "/usr/bin/true"));
        var revision = new ApplyFleet(new FleetSpec());

        // act
        var answer = gateway.Ask<FleetApplied>(revision, Wait);

        // the first revision waits for Nightwatch's pauses from before a restart: none here
        Assert.Equal(new FleetSpec().Nightwatch.PauseFor, (await nightwatch.ExpectMsgAsync<GetPauses>(Wait)).PauseFor);
        nightwatch.Reply(new PausesInForce(new Dictionary<string, DateTimeOffset>()));

        // assert: the board carries the revision's policy once any actor has it; the fleet's answer goes to the asker
        Assert.Same(revision, await router.ExpectMsgAsync<ApplyFleet>(Wait));
        Assert.NotNull(routes.Policy);
        foreach (var probe in new[] { scheduler, review, nightwatch })
        {
            Assert.Same(revision, await probe.ExpectMsgAsync<ApplyFleet>(Wait));
        }

        await fleet.ExpectMsgAsync<ApplyFleet>(Wait);
        fleet.Reply(new FleetApplied(1));
        Assert.Equal(1, (await answer).Revision);
    }

    [Fact]
    public async Task A_query_goes_to_the_actor_registered_for_its_type_and_is_answered_by_it()
    {
        // arrange
        var registry = ActorRegistry.For(Sys);
        var scheduler = CreateTestProbe();
        registry.Register<SchedulerActor>(scheduler.Ref);
        var gateway = Sys.ActorOf(FactoryActor.Props(registry, null, _ => null));

        // act
        var answer = gateway.Ask<ScheduleSnapshot>(new GetSchedule(3), Wait);

        // assert
        Assert.Equal(3, (await scheduler.ExpectMsgAsync<GetSchedule>(Wait)).Count);
        scheduler.Reply(new ScheduleSnapshot([]));
        Assert.Empty((await answer).Agents);
    }

    [Fact]
    public async Task An_ask_for_an_actor_this_system_was_composed_without_fails_at_once_naming_it()
    {
        // arrange: a tree without a control plane
        var gateway = Sys.ActorOf(FactoryActor.Props(ActorRegistry.For(Sys), null, _ => null));

        // act
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.Ask<ScheduleSnapshot>(new GetSchedule(), Wait));

        // assert
        Assert.Contains("SchedulerActor", failure.Message);
        Assert.Contains("GetSchedule", failure.Message);
    }
}
