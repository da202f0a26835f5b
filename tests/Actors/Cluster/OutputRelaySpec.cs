using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Cluster;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Cluster;

/// <summary>
/// An agent's output across nodes only while another node watches it, on a real one-node cluster with DistributedPubSub
/// (the other node played through the topics): another node's interest makes this node's batches of that agent go out
/// stamped, within the byte budget (what it holds back is counted and told with the next batch), and no longer once the
/// interest lapses; an unwatched agent's output goes nowhere. This node's own watch is said to the others and withdrawn;
/// what arrives for it reaches the bridge, never this node's own batches coming back.
/// </summary>
public sealed class OutputRelaySpec : OneNodeClusterSpec
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 22, 0, 0, TimeSpan.Zero);
    private DateTimeOffset _now = At;

    public OutputRelaySpec(ITestOutputHelper output)
        : base(output, "node:n1")
    {
    }

    private OutputRelaySettings Settings => new() { Clock = () => _now, BytesPerSecond = 100, Lease = TimeSpan.FromSeconds(15) };

    private static AgentOutput Batch(string agent, string text, int lines = 1) =>
        new(agent, "r1", 0, At, [.. Enumerable.Range(0, lines).Select(_ => new OutputLine(OutputStream.Stdout, text))]);

    [Fact]
    public async Task Another_nodes_interest_brings_its_agents_output_across_within_the_budget_until_it_lapses()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var busy = CreateTestProbe();
        var quiet = CreateTestProbe();
        mediator.Tell(new Subscribe(NodeOutput.TopicOf("busy"), busy.Ref), busy.Ref);
        await busy.ExpectMsgAsync<SubscribeAck>(Wait);
        mediator.Tell(new Subscribe(NodeOutput.TopicOf("quiet"), quiet.Ref), quiet.Ref);
        await quiet.ExpectMsgAsync<SubscribeAck>(Wait);
        Sys.ActorOf(OutputRelay.Props("n1", mediator, CreateTestProbe().Ref, Settings), "output-relay");

        // n2 watches busy: a batch of busy's goes out stamped n1 (once the relay's subscriptions are in)
        var first = Batch("busy", new string('a', 40));
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(OutputInterest.Topic, new OutputInterest("n2", ["busy"])));
            Sys.EventStream.Publish(first);
            var crossed = await busy.ExpectMsgAsync<NodeOutput>(TimeSpan.FromMilliseconds(500));
            Assert.Equal(("n1", first, 0L), (crossed.Node, crossed.Output, crossed.Skipped));
        }, Wait);
        busy.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the retries' extra copies

        // quiet is watched by no one: nothing goes out
        Sys.EventStream.Publish(Batch("quiet", "nobody reads this"));
        await quiet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        // a second's budget of 100 bytes: what does not fit is held back, counted, and told with the next one sent
        _now += TimeSpan.FromSeconds(1);
        Sys.EventStream.Publish(Batch("busy", new string('b', 80)));
        Assert.Equal(0, (await busy.ExpectMsgAsync<NodeOutput>(Wait)).Skipped);
        Sys.EventStream.Publish(Batch("busy", new string('c', 80), lines: 3));
        await busy.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        _now += TimeSpan.FromSeconds(1);
        var told = Batch("busy", "after the flood");
        Sys.EventStream.Publish(told);
        Assert.Equal(("n1", told, 3L), await busy.ExpectMsgAsync<NodeOutput>(Wait) is var n ? (n.Node, n.Output, n.Skipped) : default);

        // n2 stops saying it (it died, or its client left): after the lease nothing goes out
        _now += TimeSpan.FromSeconds(15);
        Sys.EventStream.Publish(Batch("busy", "unwatched now"));
        await busy.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task This_nodes_watch_is_said_to_the_others_and_what_comes_for_it_reaches_the_bridge()
    {
        await UntilUpAsync();
        var mediator = DistributedPubSub.Get(Sys).Mediator;
        var others = CreateTestProbe();
        mediator.Tell(new Subscribe(OutputInterest.Topic, others.Ref), others.Ref);
        await others.ExpectMsgAsync<SubscribeAck>(Wait);
        var bridge = CreateTestProbe();
        var relay = Sys.ActorOf(OutputRelay.Props("n1", mediator, bridge.Ref, Settings), "output-relay");

        relay.Tell(new WatchOutput(["far", "far"]));
        Assert.Equal(["far"], (await others.FishForMessageAsync<OutputInterest>(i => i.Node == "n1", Wait)).Agents);

        // n2's batch of far reaches the bridge (once the relay's subscription to far's topic is in); n1's own does not
        var far = new NodeOutput("n2", Batch("far", "from n2"));
        await AwaitAssertAsync(async () =>
        {
            mediator.Tell(new Publish(NodeOutput.TopicOf("far"), far));
            Assert.Equal(far, await bridge.ExpectMsgAsync<NodeOutput>(TimeSpan.FromMilliseconds(500)));
        }, Wait);
        bridge.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        mediator.Tell(new Publish(NodeOutput.TopicOf("far"), new NodeOutput("n1", Batch("far", "n1's own"))));
        await bridge.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        // the last client left: the watch is withdrawn at once
        relay.Tell(new WatchOutput([]));
        Assert.Empty((await others.FishForMessageAsync<OutputInterest>(i => i.Node == "n1" && i.Agents.Count == 0, Wait)).Agents);
    }
}
