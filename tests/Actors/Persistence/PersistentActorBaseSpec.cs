using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Persistence;
using DarkFactory.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Persistence;

/// <summary>
/// The shared snapshot housekeeping on a real SQLite journal (and PostgreSQL when DF_TEST_POSTGRES is set): a
/// snapshot every N events, the events it covers and the older snapshots deleted, a new incarnation recovering
/// from the newest snapshot plus the events after it; the clock is the injected one.
/// </summary>
public sealed class PersistentActorBaseSpec : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60); // a fresh SQLite file creates its tables first: slow on a loaded machine
    private readonly string _dir = Directory.CreateTempSubdirectory("df-persistence-").FullName;
    private readonly ITestOutputHelper _output;

    public PersistentActorBaseSpec(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Stores() => Support.Stores.All();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_snapshot_every_n_events_deletes_the_events_it_covers_and_the_older_snapshots(string store)
    {
        var id = "counter-" + Guid.NewGuid().ToString("N")[..8];
        using var kit = new TestKit(Support.Stores.Config(store, Path.Combine(_dir, "journal.db")), output: _output);
        var counter = kit.Sys.ActorOf(Props.Create(() => new Counter(id, 3, TimeProvider.System)));
        for (var i = 1; i <= 7; i++)
        {
            counter.Tell($"e{i}");
        }

        Assert.Equal(7, (await counter.Ask<string[]>(Counter.Get.Instance, Wait)).Length);
        var persistence = Akka.Persistence.Persistence.Instance.Apply(kit.Sys);
        var probe = kit.CreateTestProbe();

        // snapshots at 3 and 6: events 1..6 deleted, the snapshot at 3 deleted (only 6 is left)
        await kit.AwaitAssertAsync(
            async () =>
            {
                persistence.JournalFor(null).Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, id, probe.Ref));
                var replayed = new List<long>();
                while (await probe.ExpectMsgAsync<object>(Wait) is ReplayedMessage m)
                {
                    replayed.Add(m.Persistent.SequenceNr);
                }

                Assert.Equal([7L], replayed);
                persistence.SnapshotStoreFor(null).Tell(new LoadSnapshot(id, new SnapshotSelectionCriteria(5), long.MaxValue), probe.Ref);
                Assert.Null((await probe.ExpectMsgAsync<LoadSnapshotResult>(Wait)).Snapshot);
            },
            Wait,
            TimeSpan.FromMilliseconds(100));

        persistence.SnapshotStoreFor(null).Tell(new LoadSnapshot(id, SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        Assert.Equal(6, (await probe.ExpectMsgAsync<LoadSnapshotResult>(Wait)).Snapshot?.Metadata.SequenceNr);

        // a new incarnation: the snapshot at 6 and event 7
        probe.Watch(counter);
        kit.Sys.Stop(counter);
        await probe.ExpectTerminatedAsync(counter, Wait);
        var again = kit.Sys.ActorOf(Props.Create(() => new Counter(id, 3, TimeProvider.System)));
        Assert.Equal(["e1", "e2", "e3", "e4", "e5", "e6", "e7"], await again.Ask<string[]>(Counter.Get.Instance, Wait));
    }

    [Fact]
    public async Task Now_is_the_injected_clock_and_no_snapshot_is_taken_between_intervals()
    {
        var id = "counter-" + Guid.NewGuid().ToString("N")[..8];
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero));
        using var kit = new TestKit(
            """
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """,
            _output);
        var counter = kit.Sys.ActorOf(Props.Create(() => new Counter(id, 100, clock)));
        counter.Tell("e1");
        clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 13, 0, 0, TimeSpan.Zero), await counter.Ask<DateTimeOffset>(Counter.GetNow.Instance, Wait));

        var probe = kit.CreateTestProbe();
        Akka.Persistence.Persistence.Instance.Apply(kit.Sys).SnapshotStoreFor(null)
            .Tell(new LoadSnapshot(id, SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        Assert.Null((await probe.ExpectMsgAsync<LoadSnapshotResult>(Wait)).Snapshot);
    }

    /// <summary>A persistent list of strings: each string command is an event; the snapshot is the list joined.</summary>
    private sealed class Counter : PersistentActorBase
    {
        private readonly List<string> _events = [];

        public Counter(string id, int snapshotEvery, TimeProvider clock)
            : base(id, snapshotEvery, clock)
        {
            Recover<SnapshotOffer>(offer =>
            {
                _events.Clear();
                _events.AddRange(((string)offer.Snapshot).Split(','));
            });
            Recover<string>(_events.Add);
            Command<string>(e => Persist(e, persisted =>
            {
                _events.Add(persisted);
                SnapshotWhenDue(() => string.Join(',', _events));
            }));
            Command<Get>(_ => Sender.Tell(_events.ToArray()));
            Command<GetNow>(_ => Sender.Tell(Now));
        }

        public sealed class Get
        {
            public static readonly Get Instance = new();
        }

        public sealed class GetNow
        {
            public static readonly GetNow Instance = new();
        }
    }
}
