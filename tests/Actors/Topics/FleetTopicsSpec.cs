using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Control;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Topics;

public sealed class FleetTopicsSpec(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset At = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Without_a_setup_the_topics_are_the_local_event_stream_and_one_instance_per_system()
    {
        // act
        var topics = FleetTopics.For(Sys);

        // assert
        Assert.IsType<EventStreamTopics>(topics);
        Assert.Same(topics, FleetTopics.For(Sys));
    }

    [Fact]
    public async Task A_subscriber_gets_the_messages_of_its_type_and_of_the_types_assignable_to_it()
    {
        // arrange
        var topics = FleetTopics.For(Sys);
        var removals = CreateTestProbe();
        var everything = CreateTestProbe();
        topics.Subscribe(removals.Ref, typeof(AgentRemoved));
        topics.Subscribe(everything.Ref, typeof(IDarkFactoryMessage));

        // act
        topics.Publish(new AgentLifecycle("a", LifecycleKind.Started, At, "r1"));
        topics.Publish(new AgentRemoved("a", At));

        // assert: the type subscriber sees only its type; the interface subscriber sees both, in order
        Assert.Equal("a", (await removals.ExpectMsgAsync<AgentRemoved>(Wait)).Agent);
        Assert.Equal(LifecycleKind.Started, (await everything.ExpectMsgAsync<AgentLifecycle>(Wait)).Kind);
        await everything.ExpectMsgAsync<AgentRemoved>(Wait);
    }

    [Fact]
    public async Task An_unsubscribed_actor_gets_nothing_more()
    {
        // arrange
        var topics = FleetTopics.For(Sys);
        var probe = CreateTestProbe();
        topics.Subscribe(probe.Ref, typeof(AgentRemoved));

        // act: published while unsubscribed, then after subscribing again
        topics.Unsubscribe(probe.Ref);
        topics.Publish(new AgentRemoved("missed", At));
        topics.Subscribe(probe.Ref, typeof(AgentRemoved));
        topics.Publish(new AgentRemoved("seen", At));

        // assert: delivery is in publishing order, so the first message to arrive would be the missed one
        Assert.Equal("seen", (await probe.ExpectMsgAsync<AgentRemoved>(Wait)).Agent);
    }

    [Fact]
    public async Task Actors_subscribe_through_the_topics_a_setup_supplies_not_the_event_stream()
    {
        // arrange: a system whose topics record every call (what a DistributedPubSub implementation would receive)
        var recorder = new RecordingTopics();
        var system = ActorSystem.Create("topics-setup", ActorSystemSetup.Create(BootstrapSetup.Create(), new FleetTopicsSetup(_ => recorder)));
        try
        {
            // act
            using var meters = new FleetTelemetry();
            var telemetry = system.ActorOf(TelemetryActor.Props(meters), "telemetry");
            await AwaitAssertAsync(() => Assert.Contains(("subscribe", telemetry, typeof(IDarkFactoryMessage)), recorder.Calls), Wait);
            await telemetry.GracefulStop(Wait);

            // assert
            Assert.Same(recorder, FleetTopics.For(system));
            await AwaitAssertAsync(() => Assert.Contains(("unsubscribe", telemetry, (Type?)null), recorder.Calls), Wait);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void No_actor_reaches_the_event_stream_except_through_the_topics()
    {
        // arrange
        var actors = Path.Combine(Repo.Root, "src", "Actors");
        var topics = Path.Combine(actors, "Topics") + Path.DirectorySeparatorChar;

        // act
        var offenders = Directory.EnumerateFiles(actors, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(topics, StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => l.Text.Contains(".EventStream", StringComparison.Ordinal))
            .Select(l => $"{Path.GetRelativePath(Repo.Root, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        // assert: publish and subscribe through FleetTopics, so a cluster can swap in DistributedPubSub
        Assert.True(offenders.Count == 0, "EventStream used directly:\n" + string.Join("\n", offenders));
    }

    private sealed class RecordingTopics : IFleetTopics
    {
        public ConcurrentQueue<(string Call, IActorRef? Subscriber, Type? Topic)> Calls { get; } = new();

        public void Publish(IDarkFactoryMessage message) => Calls.Enqueue(("publish", null, message.GetType()));

        public void Subscribe(IActorRef subscriber, Type topic) => Calls.Enqueue(("subscribe", subscriber, topic));

        public void Unsubscribe(IActorRef subscriber) => Calls.Enqueue(("unsubscribe", subscriber, null));
    }
}
