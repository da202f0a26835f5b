using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Snapshot;

namespace DarkFactory.Host.Scenarios;

/// <summary>
/// A scenario's journal: Akka's in-memory journal (writes complete at once, so virtual time stays deterministic)
/// whose storage belongs to the scenario run rather than to one actor system, so a daemon restarted inside the
/// scenario (<c>inject: daemon_restart</c>) recovers what the one before it persisted. The plugin's <c>store</c>
/// setting names the run; <see cref="Forget"/> drops it when the run is over.
/// </summary>
public sealed class ScenarioJournal(Config config) : MemoryJournal
{
    private static readonly ConcurrentDictionary<string, JournalStorage> Stores = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, List<JournalWrite>> Writes = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, bool> Down = new(StringComparer.Ordinal);

    private readonly string _store = config.GetString("store");

    private readonly JournalStorage _storage = Stores.GetOrAdd(config.GetString("store"), _ => new JournalStorage());
    private readonly List<JournalWrite> _writes = Writes.GetOrAdd(config.GetString("store"), _ => []);

    protected override JournalStorage Storage => _storage;

    /// <summary>Every write the scenario run's journal took, in order (for <see cref="Invariants.OneWriterPerPersistenceId"/>).</summary>
    public static IReadOnlyList<JournalWrite> WritesOf(string store)
    {
        if (!Writes.TryGetValue(store, out var writes))
        {
            return [];
        }

        lock (writes)
        {
            return writes.ToList();
        }
    }

    public static void Forget(string store)
    {
        Stores.TryRemove(store, out _);
        Writes.TryRemove(store, out _);
        Down.TryRemove(store, out _);
    }

    /// <summary>
    /// <c>inject: journal_failure</c>: while down, every write, replay and sequence-number read of the scenario run's
    /// journal fails (as a database that went away does: Akka.Persistence stops the persistent actor that asked);
    /// what was written before stays.
    /// </summary>
    public static void SetDown(string store, bool down) => Down[store] = down;

    private bool IsDown => Down.TryGetValue(_store, out var down) && down;

    private Exception Outage(string what) => new JournalOutageException($"the scenario's journal is down (inject: journal_failure): {what} failed");

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        if (IsDown)
        {
            return Task.FromException<IImmutableList<Exception>>(Outage("a write"));
        }

        var batch = messages.ToList();
        lock (_writes)
        {
            foreach (var write in batch)
            {
                foreach (var p in (IEnumerable<IPersistentRepresentation>)write.Payload)
                {
                    _writes.Add(new JournalWrite(p.PersistenceId, p.WriterGuid, p.SequenceNr));
                }
            }
        }

        return base.WriteMessagesAsync(batch, cancellationToken);
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback) =>
        IsDown ? Task.FromException(Outage("a replay")) : base.ReplayMessagesAsync(context, persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback);

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        IsDown ? Task.FromException<long>(Outage("reading the highest sequence number")) : base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
}

/// <summary>What the scenario's journal throws while it is down.</summary>
public sealed class JournalOutageException(string message) : Exception(message);

/// <summary>The snapshot store beside <see cref="ScenarioJournal"/>: in memory, kept across the restarts of one scenario run.</summary>
public sealed class ScenarioSnapshotStore(Config config) : MemorySnapshotStore
{
    private static readonly ConcurrentDictionary<string, SnapshotStorage> Stores = new(StringComparer.Ordinal);

    private readonly SnapshotStorage _storage = Stores.GetOrAdd(config.GetString("store"), _ => new SnapshotStorage());

    protected override SnapshotStorage Storage => _storage;

    public static void Forget(string store) => Stores.TryRemove(store, out _);

    /// <summary>The HOCON that puts a sandbox's journal and snapshot store on the scenario run's storage.</summary>
    public static string Hocon(string store) => $$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.scenario"
        akka.persistence.journal.scenario {
          class = "{{typeof(ScenarioJournal).FullName}}, {{typeof(ScenarioJournal).Assembly.GetName().Name}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
          store = "{{store}}"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.scenario"
        akka.persistence.snapshot-store.scenario {
          class = "{{typeof(ScenarioSnapshotStore).FullName}}, {{typeof(ScenarioSnapshotStore).Assembly.GetName().Name}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
          store = "{{store}}"
        }
        """;
}
