using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using DarkFactory.Actors.Persistence;
using DarkFactory.Messages.Agents;

namespace DarkFactory.Actors.History;

/// <summary>
/// The persisted history of one agent (persistence id <c>agent-&lt;name&gt;</c>): lifecycle events are
/// written with PersistAsync (the journal batches them; the supervisor never waits for the disk), the
/// last <see cref="Keep"/> entries are kept in memory, and a snapshot every <see cref="SnapshotEvery"/>
/// events bounds recovery; events older than the snapshot are deleted (<see cref="PersistentActorBase"/>).
/// </summary>
public sealed class AgentHistoryActor : PersistentActorBase
{
    public const int Keep = 500;
    public const int SnapshotEvery = 200;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _agent;
    private readonly LinkedList<AgentLifecycle> _entries = new();

    public AgentHistoryActor(string agent)
        : base("agent-" + agent, SnapshotEvery, TimeProvider.System)
    {
        _agent = agent;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is AgentHistory history)
            {
                _entries.Clear();
                foreach (var e in history.Entries)
                {
                    _entries.AddLast(e);
                }
            }
        });
        Recover<AgentLifecycle>(Apply);

        Command<AgentLifecycle>(e => PersistAsync(e, persisted =>
        {
            Apply(persisted);
            SnapshotWhenDue(() => new AgentHistory(_agent, _entries.ToList()));
        }));
        // Answers once every event this actor was asked to persist before is written.
        Command<FlushHistory>(f => DeferAsync(f, _ => Sender.Tell(HistoryFlushed.Instance)));
        Command<GetHistory>(q => Sender.Tell(new AgentHistory(_agent, _entries.Skip(Math.Max(0, _entries.Count - q.Limit)).ToList())));
    }

    protected override void OnReplaySuccess()
    {
        _log.Debug("History of [{0}] recovered: {1} entries up to sequence number {2}", _agent, _entries.Count, LastSequenceNr);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "History of [{0}] could not be recovered", _agent);
        base.OnRecoveryFailure(reason, message);
    }

    public static Props Props(string agent) => Akka.Actor.Props.Create(() => new AgentHistoryActor(agent));

    private void Apply(AgentLifecycle e)
    {
        _entries.AddLast(e);
        while (_entries.Count > Keep)
        {
            _entries.RemoveFirst();
        }
    }
}

/// <summary>Routes lifecycle events and history queries to one <see cref="AgentHistoryActor"/> per agent, created on demand.</summary>
public sealed class HistoryActor : ReceiveActor
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(3);

    public HistoryActor()
    {
        Receive<AgentLifecycle>(e => Child(e.Agent).Forward(e));
        Receive<GetHistory>(q => Child(q.Agent).Forward(q));
        Receive<FlushHistory>(_ =>
        {
            // A history actor that stopped (a failed recovery or write) never answers: wait a bounded
            // time for each, name the ones that did not confirm, and let shutdown go on.
            var replyTo = Sender;
            var log = Context.GetLogger();
            var flushes = Context.GetChildren().Select(c => c.Ask<HistoryFlushed>(FlushHistory.Instance, FlushTimeout)
                .ContinueWith(t => t.IsCompletedSuccessfully ? null : c.Path.Name, TaskScheduler.Default)).ToList();
            Task.WhenAll(flushes).ContinueWith(
                t =>
                {
                    var missing = t.Result.OfType<string>().ToList();
                    if (missing.Count > 0)
                    {
                        log.Warning("History not confirmed written within {0} for: {1}", FlushTimeout, string.Join(", ", missing));
                    }

                    return HistoryFlushed.Instance;
                },
                TaskScheduler.Default).PipeTo(replyTo);
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new HistoryActor());

    private static IActorRef Child(string agent)
    {
        var name = "agent-" + agent;
        var child = Context.Child(name);
        return child.IsNobody() ? Context.ActorOf(AgentHistoryActor.Props(agent), name) : child;
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: _ => Directive.Restart);
}
