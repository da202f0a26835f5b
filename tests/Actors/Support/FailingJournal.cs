using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// The in-memory journal with a switch: while <see cref="Switch.Failing"/> is on, every write fails as a
/// broken database would (the persistent actor gets a persist failure and is stopped). One switch per
/// actor system, so specs running in parallel do not trip each other.
/// </summary>
public sealed class FailingJournal : MemoryJournal
{
    private static readonly ConditionalWeakTable<ActorSystem, Switch> Switches = new();

    /// <summary>The HOCON that makes this journal the default one.</summary>
    public const string Hocon = """
        akka.persistence.journal.plugin = "akka.persistence.journal.failing"
        akka.persistence.journal.failing {
          class = "DarkFactory.Actors.Tests.Support.FailingJournal, DarkFactory.Actors.Tests"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    public static Switch For(ActorSystem system) => Switches.GetValue(system, _ => new Switch());

    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        var state = For(Context.System);
        if (state.Failing)
        {
            Interlocked.Increment(ref state.FailedWrites);
            return Task.FromException<IImmutableList<Exception?>>(new IOException("disk I/O error (the test's journal is failing)"));
        }

        return base.WriteMessagesAsync(writes, cancellationToken);
    }

    public sealed class Switch
    {
        private volatile bool _failing;

        public int FailedWrites;

        public bool Failing
        {
            get => _failing;
            set => _failing = value;
        }
    }
}
