using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Review;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>
/// `df review list|show` and /api/reviews are answered by the review read model, not by the persisting actor:
/// with the compound review's journal write held (a slow journal), queries still answer at once.
/// </summary>
public sealed class ReviewQueriesSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDaemon _daemon = new();

    public ReviewQueriesSpec(ITestOutputHelper output)
        : base($$"""
            akka.loglevel = INFO
            akka.persistence.journal.plugin = "akka.persistence.journal.gated"
            akka.persistence.journal.gated {
              class = "{{typeof(GatedJournal).AssemblyQualifiedName}}"
              plugin-dispatcher = "akka.actor.default-dispatcher"
            }
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            {{File.ReadAllText(Path.Combine(Repo.Root, "hocon", "darkfactory.conf"))}}
            """, output: output)
    {
    }

    [Fact]
    public async Task Queries_answer_while_the_review_actor_waits_for_a_slow_journal_write()
    {
        // arrange: one finished review in the journal, the daemon started and recovered
        var at = DateTimeOffset.UtcNow.AddHours(-1);
        await Seed(
            new ReviewStarted("r-done", at, ReviewTrigger.Manual, "/nowhere", "main", "fixer", false, TimeSpan.FromMinutes(30)),
            new ReviewFailed("r-done", at.AddMinutes(1), ReviewStage.Scan, "earlier failure"));
        var fleet = new FleetSpec
        {
            Agents = [new AgentSpec { Name = "fixer", Layer = LayerName.Growth, Command = [Repo.Agent("review-fix.sh")] }],
            CompoundReview = new CompoundReviewSpec { Repo = Path.Combine(_daemon.Directory, "no-repo"), Agent = "fixer", Enabled = false },
        };
        var factory = Sys.ActorOf(TreeRoot.Props(_daemon.Node()), "factory");
        factory.Tell(new ApplyFleet(fleet));
        await AwaitAssertAsync(async () => Assert.NotNull((await factory.Ask<ReviewFound>(new GetReview("r-done"), Wait)).Review), Wait);

        // act: hold the review's journal writes and start a review (its ReviewStarted waits in the journal)
        using var gate = GatedJournal.Hold("compound-review");
        var run = factory.Ask<ReviewAccepted>(new RunReview(), Wait);
        await gate.Waiting.WaitAsync(Wait);

        // assert: list and show answer while the write is in flight
        var list = await factory.Ask<ReviewsSnapshot>(new GetReviews(10), TimeSpan.FromSeconds(5));
        Assert.Equal(["r-done"], list.Reviews.Select(r => r.Id));
        var show = await factory.Ask<ReviewFound>(new GetReview("r-done"), TimeSpan.FromSeconds(5));
        Assert.Equal(ReviewStatus.Failed, show.Review!.Status);
        Assert.False(run.IsCompleted);

        // act: the write completes
        gate.Release();

        // assert: the new review is accepted and its view is there at once
        var accepted = await run;
        Assert.True(accepted.Ok, accepted.Message);
        var found = await factory.Ask<ReviewFound>(new GetReview(accepted.ReviewId!), Wait);
        Assert.NotNull(found.Review);
        await AwaitAssertAsync(async () => Assert.NotEqual(ReviewStatus.Running, (await factory.Ask<ReviewFound>(new GetReview(accepted.ReviewId!), Wait)).Review!.Status), Wait);
    }

    private Task Seed(params IReviewEvent[] events) => ReviewSpecs.Seed(Sys, "compound-review", Wait, events);

    /// <summary>An in-memory journal whose writes of one persistence id can be held until released (a slow journal).</summary>
    public sealed class GatedJournal : MemoryJournal
    {
        private static volatile Gate? _gate;

        public static Gate Hold(string persistenceId) => _gate = new Gate(persistenceId);

        protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
        {
            var writes = messages.ToList();
            if (_gate is { } gate && writes.Any(w => w.PersistenceId == gate.PersistenceId))
            {
                gate.Arrived();
                await gate.Released;
            }

            return await base.WriteMessagesAsync(writes, cancellationToken);
        }

        public sealed class Gate(string persistenceId) : IDisposable
        {
            private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
            private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public string PersistenceId { get; } = persistenceId;

            /// <summary>Completes when a write is being held.</summary>
            public Task Waiting => _waiting.Task;

            public Task Released => _released.Task;

            public void Arrived() => _waiting.TrySetResult();

            public void Release() => _released.TrySetResult();

            public void Dispose()
            {
                Release();
                _gate = null;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _daemon.Dispose();
        }
    }
}
