using Akka.Persistence;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Topics;

namespace DarkFactory.Actors.Persistence;

/// <summary>
/// Base of Dark Factory's event-sourced actors: their clock (<see cref="Now"/>), their timers, and one
/// snapshot housekeeping. <see cref="SnapshotWhenDue"/> saves a snapshot every <c>snapshotEvery</c>
/// events; when it is saved, the events it covers and every older snapshot are deleted. Failures of the
/// housekeeping are logged (the journal keeps working: an event not deleted is replayed over its
/// snapshot's state, which the actors' Apply tolerates by design).
/// </summary>
/// <remarks>
/// The housekeeping handlers are registered by this constructor, before the derived actor's own, so a
/// derived actor never sees <see cref="SaveSnapshotSuccess"/> and its kin.
/// </remarks>
public abstract class PersistentActorBase : ReceivePersistentActor, IWithTimers
{
    private const int MaxDeleteRetries = 3;
    private readonly TimeProvider _clock;
    private readonly int _snapshotEvery;

    // One deletion of events at a time: two overlapping deletions of the same journal can deadlock each
    // other in PostgreSQL (40P01). A deletion asked for while one runs waits, and only the newest is kept.
    private long _deletingUpTo;
    private long _pendingDeleteUpTo;
    private int _deleteRetries;

    /// <param name="persistenceId">The actor's persistence id.</param>
    /// <param name="snapshotEvery">A snapshot every this many events (at least 1).</param>
    /// <param name="clock">Wall-clock time (tests inject a virtual one).</param>
    protected PersistentActorBase(string persistenceId, int snapshotEvery, TimeProvider clock)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        ArgumentNullException.ThrowIfNull(clock);
        PersistenceId = persistenceId;
        _snapshotEvery = Math.Max(1, snapshotEvery);
        _clock = clock;
        Topics = FleetTopics.For(Context.System);

        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(f => Log.Warning("Snapshot of [{0}] at {1} failed: {2}", PersistenceId, f.Metadata.SequenceNr, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => DeletionEnded());
        Command<DeleteMessagesFailure>(OnDeleteFailed);
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => Log.Warning("Deleting the old snapshots of [{0}] failed: {1}", PersistenceId, f.Cause.Message));
        Command<StopPersistent>(_ => Context.Stop(Self)); // after the writes in flight: commands wait for their handlers
    }

    public sealed override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The fleet's events: what the actor publishes and subscribes to (it unsubscribes in PostStop).</summary>
    protected IFleetTopics Topics { get; }

    /// <summary>The actor's place in the output flow, once it joined (<see cref="JoinOutput"/>); left in PostStop.</summary>
    protected OutputConsumer? Output { get; private set; }

    /// <summary>The injected clock (tests give a virtual one).</summary>
    protected TimeProvider Clock => _clock;

    /// <summary>Now, from the injected clock.</summary>
    protected DateTimeOffset Now => _clock.GetUtcNow();

    /// <summary>Recovers the actor's state from a snapshot of its own type (another offer is passed over).</summary>
    protected void RecoverSnapshot<TSnapshot>(Action<TSnapshot> restore)
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is TSnapshot snapshot)
            {
                restore(snapshot);
            }
        });
    }

    /// <summary>Subscribes the actor to each topic (<see cref="Topics"/>); PostStop ends every subscription.</summary>
    protected void Subscribe(params Type[] topics)
    {
        foreach (var topic in topics)
        {
            Topics.Subscribe(Self, topic);
        }
    }

    /// <summary>Joins the output flow as consumer <paramref name="name"/> (<see cref="OutputFlow"/>); PostStop leaves it.</summary>
    protected void JoinOutput(string name) => Output = OutputFlow.For(Context.System).Join(name);

    protected override void PostStop()
    {
        Topics.Unsubscribe(Self);
        Output?.Dispose();
        base.PostStop();
    }

    /// <summary>
    /// Call after each persisted event: when the sequence number is a multiple of the snapshot interval,
    /// saves the snapshot <paramref name="snapshot"/> makes (not called otherwise). Never during recovery.
    /// </summary>
    protected void SnapshotWhenDue(Func<object> snapshot)
    {
        if (!IsRecovering && LastSequenceNr > 0 && LastSequenceNr % _snapshotEvery == 0)
        {
            SaveSnapshot(snapshot());
        }
    }

    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        var upTo = saved.Metadata.SequenceNr;
        DeleteEventsUpTo(upTo);
        if (upTo > 1)
        {
            // (a criteria of 0 means "every snapshot" to some stores)
            DeleteSnapshots(new SnapshotSelectionCriteria(upTo - 1));
        }
    }

    private void DeleteEventsUpTo(long upTo)
    {
        if (_deletingUpTo > 0)
        {
            _pendingDeleteUpTo = Math.Max(_pendingDeleteUpTo, upTo);
            return;
        }

        _deletingUpTo = upTo;
        DeleteMessages(upTo);
    }

    private void DeletionEnded()
    {
        _deletingUpTo = 0;
        _deleteRetries = 0;
        if (_pendingDeleteUpTo > 0)
        {
            var next = _pendingDeleteUpTo;
            _pendingDeleteUpTo = 0;
            DeleteEventsUpTo(next);
        }
    }

    private void OnDeleteFailed(DeleteMessagesFailure failure)
    {
        Log.Warning("Deleting the events of [{0}] up to {1} failed: {2}", PersistenceId, failure.ToSequenceNr, failure.Cause.Message);
        var failed = _deletingUpTo;
        _deletingUpTo = 0;
        if (_pendingDeleteUpTo == 0 && _deleteRetries < MaxDeleteRetries)
        {
            // a deadlock or a busy store is transient: the same deletion again (a newer one covers it anyway)
            _deleteRetries++;
            DeleteEventsUpTo(failed);
            return;
        }

        _deleteRetries = 0;
        DeletionEnded();
    }
}

/// <summary>
/// Stops a persistent actor once its journal writes in flight are done (a command waits for them, where PoisonPill or
/// Context.Stop from outside would not): the termination message of a cluster singleton, whose hand-over must not start
/// a new instance before the old one's last events are written. A <see cref="Supervision.JournalKeeper"/> passes it on and
/// stops with its child. Local only (never crosses a node).
/// </summary>
public sealed record StopPersistent : Signal<StopPersistent>;
