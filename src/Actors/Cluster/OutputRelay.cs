using Akka.Cluster.Tools.PublishSubscribe;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages.Cluster;

namespace DarkFactory.Actors.Cluster;

/// <summary>
/// A cluster node's agents' output to the other nodes' live clients, only while one watches (<c>/user/output-relay</c>,
/// one per node). Its own clients' watch comes from the node's event bridge (<see cref="WatchOutput"/>): it says it to
/// every node as an <see cref="OutputInterest"/> (topic <see cref="OutputInterest.Topic"/>) at each change and every
/// <see cref="OutputRelaySettings.Renew"/> while not empty, and listens on each watched agent's topic
/// (<see cref="NodeOutput.TopicOf"/>), handing what arrives to the bridge. The other nodes' interests
/// (<see cref="OutputInterests"/>: a lease, a byte budget per agent and second) decide which of this node's
/// <see cref="AgentOutput"/> batches it publishes on their agent's topic; an unwatched agent's output goes nowhere.
/// It takes part in the node's output flow, so a flood waits for it like for any consumer (it only looks up a table).
/// </summary>
public sealed class OutputRelay : ReceiveActor, IWithTimers
{
    private const string RenewTimer = "renew";
    private readonly IFleetTopics _topics = FleetTopics.For(Context.System);
    private readonly IActorRef _mediator;
    private readonly OutputRelaySettings _settings;
    private readonly OutputInterests _interests;
    private IReadOnlyList<string> _watching = [];
    private OutputConsumer? _output;

    public OutputRelay(string node, IActorRef mediator, IActorRef bridge, OutputRelaySettings settings)
    {
        _mediator = mediator;
        _settings = settings;
        _interests = new OutputInterests(settings.Lease, settings.BytesPerSecond);
        Receive<WatchOutput>(w =>
        {
            var agents = w.Agents.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (agents.SequenceEqual(_watching))
            {
                return;
            }

            foreach (var gone in _watching.Except(agents))
            {
                mediator.Tell(new Unsubscribe(NodeOutput.TopicOf(gone), Self));
            }

            foreach (var added in agents.Except(_watching))
            {
                mediator.Tell(new Subscribe(NodeOutput.TopicOf(added), Self));
            }

            _watching = agents;
            Say(node);
            if (agents.Count > 0)
            {
                Timers.StartPeriodicTimer(RenewTimer, Renew.Instance, settings.Renew);
            }
            else
            {
                Timers.Cancel(RenewTimer);
            }
        });
        Receive<Renew>(_ => Say(node));
        Receive<OutputInterest>(i =>
        {
            if (i.Node != node)
            {
                _interests.Said(i, settings.Clock());
            }
        });
        Receive<AgentOutput>(o =>
        {
            _output?.Taken(o);
            var now = settings.Clock();
            if (_interests.Watched(o.Agent, now) && _interests.Send(o.Agent, SizeOf(o), o.Lines.Count, now) is { } skipped)
            {
                mediator.Tell(new Publish(NodeOutput.TopicOf(o.Agent), new NodeOutput(node, o, skipped)));
            }
        });
        Receive<NodeOutput>(n =>
        {
            if (n.Node != node && _watching.Contains(n.Agent, StringComparer.Ordinal))
            {
                bridge.Tell(n);
            }
        });
        Receive<SubscribeAck>(_ => { });
        Receive<UnsubscribeAck>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string node, IActorRef mediator, IActorRef bridge, OutputRelaySettings? settings = null) =>
        Akka.Actor.Props.Create(() => new OutputRelay(node, mediator, bridge, settings ?? new OutputRelaySettings()));

    protected override void PreStart()
    {
        _output = OutputFlow.For(Context.System).Join("output-relay"); // before its first batch
        _topics.Subscribe(Self, typeof(AgentOutput));
        _mediator.Tell(new Subscribe(OutputInterest.Topic, Self));
    }

    protected override void PostStop()
    {
        _output?.Dispose();
        _topics.Unsubscribe(Self);
        _mediator.Tell(new Unsubscribe(OutputInterest.Topic, Self));
        foreach (var agent in _watching)
        {
            _mediator.Tell(new Unsubscribe(NodeOutput.TopicOf(agent), Self));
        }
    }

    private void Say(string node) => _mediator.Tell(new Publish(OutputInterest.Topic, new OutputInterest(node, _watching)));

    private static int SizeOf(AgentOutput o)
    {
        if (o.Lines is LineBatch batch)
        {
            return batch.ByteCount;
        }

        var size = 0;
        foreach (var line in o.Lines)
        {
            size += line.Text.Length;
        }

        return size;
    }

    private sealed record Renew : Signal<Renew>;
}

/// <summary>The output relay's timing and bound.</summary>
public sealed record OutputRelaySettings
{
    /// <summary>How often a node says again what its clients watch.</summary>
    public TimeSpan Renew { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long another node's interest holds after it last said it (three renewals).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The most bytes of one agent's output sent across per second (the rest is counted as skipped lines).</summary>
    public long BytesPerSecond { get; init; } = 1024 * 1024;

    public Func<DateTimeOffset> Clock { get; init; } = () => DateTimeOffset.UtcNow;
}
