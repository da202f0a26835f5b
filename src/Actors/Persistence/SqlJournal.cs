using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace DarkFactory.Actors.Persistence;

/// <summary>
/// The daemon's journal (hocon/persistence.conf): Akka.Persistence.Sql's, answering a write batch that holds no event
/// itself. Akka hands the journal such a batch whenever an actor's <c>DeferAsync</c> waits behind events already in
/// flight (the history's flush at a SIGTERM drain, the scheduler's): the plugin took the batch's first element and
/// threw, the journal's circuit breaker counted each as a failure, and with more than ten agents flushing at once it
/// opened and failed every write for its reset time, stopping the actors whose events it refused (issue 15: a
/// crash never loses a persisted event; <c>SqlJournalSpec</c>).
/// </summary>
public sealed class SqlJournal(Akka.Configuration.Config journalConfig) : SqlWriteJournal(journalConfig)
{
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var batch = messages as IReadOnlyCollection<AtomicWrite> ?? messages.ToList();
        return batch.Count == 0
            ? Task.FromResult<IImmutableList<Exception>>(ImmutableList<Exception>.Empty)
            : base.WriteMessagesAsync(batch, cancellationToken);
    }
}
