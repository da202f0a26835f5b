using Akka.Persistence;
using DarkFactory.Actors.Persistence;

namespace DarkFactory.Actors.History;

/// <summary>
/// The persisted history of one agent (persistence id <c>agent-&lt;name&gt;</c>): lifecycle events are
/// written with PersistAsync (the journal batches them; the supervisor never waits for the disk), the
/// last <see cref="Keep"/> entries are kept in memory, and a snapshot every <see cref="SnapshotEvery"/>
/// events bounds recovery; events older than the snapshot are deleted (<see cref="PersistentActorBase"/>).
/// A run a previous daemon started and never ended (the daemon was killed; its lifeline killed the run) gets a
/// <c>killed</c> end when the history recovers, before anything new is written, so no run stays "going" forever;
/// a later end for the same run (the start-up sweep's, <c>UnfinishedRuns</c>) is not written twice.
/// </summary>
public sealed class AgentHistoryActor : PersistentActorBase
{
    public const int Keep = 500;
    public const int SnapshotEvery = 200;

    /// <summary>The detail of the end a recovering history gives a run the previous daemon left going.</summary>
    public const string LeftGoing = "the daemon stopped while this run was going (its end was recorded when the next daemon started)";

    private readonly string _agent;
    private readonly DateTimeOffset _daemonStarted;
    private readonly LinkedList<AgentLifecycle> _entries = new();
    private readonly Dictionary<string, AgentLifecycle> _open = new(StringComparer.Ordinal);
    private readonly HashSet<string> _closedAtRecovery = new(StringComparer.Ordinal);

    /// <param name="daemonStarted">When this daemon started: a run started before it and not ended died with the one before.</param>
    public AgentHistoryActor(string agent, DateTimeOffset daemonStarted)
        : base("agent-" + agent, SnapshotEvery, TimeProvider.System)
    {
        _agent = agent;
        _daemonStarted = daemonStarted;

        RecoverSnapshot<AgentHistory>(history =>
        {
            _entries.Clear();
            _open.Clear();
            foreach (var e in history.Entries)
            {
                Apply(e);
            }
        });
        Recover<AgentLifecycle>(Apply);
        Recover<RecoveryCompleted>(_ => CloseRunsLeftGoing());

        Command<AgentLifecycle>(e =>
        {
            if (e.Kind.EndsRun() && e.RunId is { } run && _closedAtRecovery.Remove(run))
            {
                return; // already ended when the history recovered
            }

            PersistAsync(e, persisted =>
            {
                Apply(persisted);
                SnapshotWhenDue(() => new AgentHistory(_agent, _entries.ToList()));
            });
        });
        // Answers once every event this actor was asked to persist before is written.
        Command<FlushHistory>(f => DeferAsync(f, _ => Sender.Tell(HistoryFlushed.Instance)));
        Command<GetHistory>(q => Sender.Tell(new AgentHistory(_agent, _entries.Skip(Math.Max(0, _entries.Count - q.Limit)).ToList())));
    }

    protected override void OnReplaySuccess()
    {
        Log.Debug("History of [{0}] recovered: {1} entries up to sequence number {2}", _agent, _entries.Count, LastSequenceNr);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "History of [{0}] could not be recovered", _agent);
        base.OnRecoveryFailure(reason, message);
    }

    public static Props Props(string agent, DateTimeOffset daemonStarted) => Akka.Actor.Props.Create(() => new AgentHistoryActor(agent, daemonStarted));

    /// <summary>Persisting here is allowed: it happens before the first command (Akka.NET persists from RecoveryCompleted).</summary>
    private void CloseRunsLeftGoing()
    {
        var ends = _open.Values.Where(s => s.At < _daemonStarted).OrderBy(s => s.At)
            .Select(s => new AgentLifecycle(_agent, LifecycleKind.Killed, _daemonStarted, s.RunId, Detail: LeftGoing, TaskId: s.TaskId, ProjectId: s.ProjectId))
            .ToList();
        if (ends.Count > 0)
        {
            _closedAtRecovery.UnionWith(ends.Select(e => e.RunId!));
            PersistAll(ends, Apply);
        }
    }

    private void Apply(AgentLifecycle e)
    {
        if (e.RunId is { } run)
        {
            if (e.Kind == LifecycleKind.Started)
            {
                _open[run] = e;
            }
            else if (e.Kind.EndsRun())
            {
                _open.Remove(run);
            }
        }

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

    private readonly DateTimeOffset _daemonStarted;

    /// <param name="daemonStarted">When this daemon started (<see cref="AgentHistoryActor"/> ends the runs the one before left going).</param>
    public HistoryActor(DateTimeOffset daemonStarted)
    {
        _daemonStarted = daemonStarted;
        Receive<AgentLifecycle>(e => Child(e.Agent).Forward(e));
        Receive<GetHistory>(q =>
        {
            if (q.FromStore)
            {
                Context.ActorOf(StoredHistoryReader.Props(q, Sender)); // a reader of its own: never this node's record in memory, never a write
            }
            else
            {
                Child(q.Agent).Forward(q);
            }
        });
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

    public static Props Props(DateTimeOffset daemonStarted) => Akka.Actor.Props.Create(() => new HistoryActor(daemonStarted));

    private IActorRef Child(string agent)
    {
        var name = "agent-" + agent;
        var child = Context.Child(name);
        return child.IsNobody() ? Context.ActorOf(AgentHistoryActor.Props(agent, _daemonStarted), name) : child;
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: _ => Directive.Restart);
}

/// <summary>
/// Reads one agent's persisted history (<c>agent-NAME</c>: its snapshot and the events after it) for one
/// <see cref="GetHistory"/>, answers it and stops. It writes nothing, not even the ends of runs left going that
/// <see cref="AgentHistoryActor"/> records, so it may read a record another node owns. A recovery that fails answers
/// nothing (the asker's timeout says so).
/// </summary>
public sealed class StoredHistoryReader : ReceivePersistentActor
{
    private readonly LinkedList<AgentLifecycle> _entries = new();

    public StoredHistoryReader(GetHistory query, IActorRef replyTo)
    {
        PersistenceId = "agent-" + query.Agent;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is AgentHistory history)
            {
                _entries.Clear();
                history.Entries.ToList().ForEach(Add);
            }
        });
        Recover<AgentLifecycle>(Add);
        Recover<RecoveryCompleted>(_ =>
        {
            replyTo.Tell(new AgentHistory(query.Agent, _entries.Skip(Math.Max(0, _entries.Count - query.Limit)).ToList()));
            Context.Stop(Self);
        });
        CommandAny(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(GetHistory query, IActorRef replyTo) => Akka.Actor.Props.Create(() => new StoredHistoryReader(query, replyTo));

    private void Add(AgentLifecycle e)
    {
        _entries.AddLast(e);
        while (_entries.Count > AgentHistoryActor.Keep)
        {
            _entries.RemoveFirst();
        }
    }
}
