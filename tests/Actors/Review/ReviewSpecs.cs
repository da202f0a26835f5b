using Akka.Actor;
using Akka.Persistence;
using DarkFactory.Messages.Review;
using Xunit;

namespace DarkFactory.Actors.Tests.Review;

/// <summary>What the compound review specs share: start a review, wait for its end, seed a journal.</summary>
internal static class ReviewSpecs
{
    /// <summary>Asks for a review until the fleet is applied and it is accepted; its id.</summary>
    public static async Task<string> Start(IActorRef factory, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var accepted = await factory.Ask<ReviewAccepted>(new RunReview(), wait);
            if (accepted.Ok || DateTime.UtcNow > deadline)
            {
                Assert.True(accepted.Ok, accepted.Message);
                return accepted.ReviewId!;
            }

            await Task.Delay(50); // the fleet may not be applied yet
        }
    }

    /// <summary>The review once it is no longer running (or as it is when <paramref name="wait"/> is over).</summary>
    public static async Task<ReviewView> Ended(IActorRef factory, string id, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var view = (await factory.Ask<ReviewFound>(new GetReview(id), wait)).Review;
            if (view is { Status: not ReviewStatus.Running } || DateTime.UtcNow > deadline)
            {
                Assert.NotNull(view);
                return view;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Writes events into a journal, as a killed daemon would have left them.</summary>
    public static async Task Seed(ActorSystem system, string persistenceId, TimeSpan wait, params object[] events)
    {
        var seeder = system.ActorOf(Props.Create(() => new Seeder(persistenceId)));
        foreach (var e in events)
        {
            seeder.Tell(e);
        }

        await seeder.Ask<Done>(new Done(), wait);
        await seeder.GracefulStop(wait);
    }

    private sealed record Done;

    private sealed class Seeder : ReceivePersistentActor
    {
        public Seeder(string id)
        {
            PersistenceId = id;
            Command<Done>(d => DeferAsync(d, _ => Sender.Tell(d)));
            Command<object>(e => Persist(e, _ => { }));
        }

        public override string PersistenceId { get; }
    }
}
