using Akka.Actor;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.Persistence;

/// <summary>
/// The journal Akka.Persistence.Sql gives is handed a write batch with no event in it whenever a persistent actor's
/// <c>DeferAsync</c> waits behind events already in flight (the history's flush at shutdown, the scheduler's drain):
/// the plugin took the batch's first element and failed, each such batch counted as a failure by the journal's
/// circuit breaker, and with a fleet draining a hundred agents at once the breaker opened and the events after it
/// were lost (seen stopping a daemon with 100 agents). Both stores the daemon runs on.
/// </summary>
public sealed class SqlJournalSpec : IDisposable
{
    private const int Rounds = 4;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-journal-").FullName;

    public static TheoryData<string> Stores() => Support.Stores.All();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_fleet_flushing_its_history_behind_writes_in_flight_trips_no_breaker_and_loses_no_event(string store)
    {
        // arrange: many more agents than the breaker's max-failures (10), each with an event in flight when the flush
        // comes (the drain of a daemon's SIGTERM: every agent's "stopped", then one flush of the whole history)
        var agents = Enumerable.Range(0, 60).Select(i => $"agent{i:00}-" + Guid.NewGuid().ToString("N")[..6]).ToList();
        var at = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        using (var first = ActorSystem.Create("first", Support.Stores.Config(store, Path.Combine(_dir, "history.db"))))
        {
            var history = first.ActorOf(HistoryActor.Props(at), "history");

            // act: rounds of an event per agent and a flush right behind them
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var agent in agents)
                {
                    history.Tell(new AgentLifecycle(agent, LifecycleKind.Started, at.AddSeconds(round), $"run{round}", Detail: $"round {round}"));
                }

                await history.Ask<HistoryFlushed>(FlushHistory.Instance, Wait);
            }

            await first.Terminate();
        }

        // assert: every round of every agent is in the store (a new actor system recovers them)
        using var second = ActorSystem.Create("second", Support.Stores.Config(store, Path.Combine(_dir, "history.db")));
        var recovered = second.ActorOf(HistoryActor.Props(at.AddHours(1)), "history");
        var missing = new List<string>();
        foreach (var agent in agents)
        {
            var entries = (await recovered.Ask<AgentHistory>(new GetHistory(agent), Wait)).Entries;
            if (entries.Count(e => e.Kind == LifecycleKind.Started) != Rounds)
            {
                missing.Add($"{agent}: {entries.Count(e => e.Kind == LifecycleKind.Started)} of {Rounds}");
            }
        }

        Assert.True(missing.Count == 0, "events lost: " + string.Join(", ", missing));
        await second.Terminate();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
