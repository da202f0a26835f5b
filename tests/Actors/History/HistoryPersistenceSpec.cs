using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using Xunit;

namespace DarkFactory.Actors.Tests.History;

/// <summary>
/// Agent history survives the actor system (a daemon restart): written through Akka.Persistence.Sql to
/// a real SQLite file, and to PostgreSQL when DF_TEST_POSTGRES holds a connection string (CI sets it).
/// </summary>
public sealed class HistoryPersistenceSpec : IDisposable
{
    // generous: 250 journal writes on a loaded CI machine (load 30 on 2 cores took more than 20 s once)
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-history-").FullName;

    public static TheoryData<string> Stores() => Support.Stores.All();

    private Config Config(string store) => Support.Stores.Config(store, Path.Combine(_dir, "history.db"));

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task History_is_recovered_by_a_new_actor_system(string store)
    {
        var agent = "agent-" + Guid.NewGuid().ToString("N")[..8];
        const int events = 250; // crosses a snapshot (every 200) and the deletion of older events
        var at = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

        using (var first = ActorSystem.Create("first", Config(store)))
        {
            var history = first.ActorOf(HistoryActor.Props(), "history");
            for (var i = 0; i < events; i++)
            {
                history.Tell(new AgentLifecycle(agent, i % 2 == 0 ? LifecycleKind.Started : LifecycleKind.Crashed, at.AddSeconds(i), $"run{i}", Detail: $"event {i}"));
            }

            await AwaitHistory(history, agent, h => h.Entries.Count == events);
            await first.Terminate();
        }

        using var second = ActorSystem.Create("second", Config(store));
        var recovered = await AwaitHistory(second.ActorOf(HistoryActor.Props(), "history"), agent, h => h.Entries.Count == events);
        Assert.Equal("event 0", recovered.Entries[0].Detail);
        Assert.Equal($"event {events - 1}", recovered.Entries[^1].Detail);
        Assert.Equal(LifecycleKind.Crashed, recovered.Entries[^1].Kind);
        await second.Terminate();
    }

    private static async Task<AgentHistory> AwaitHistory(IActorRef history, string agent, Func<AgentHistory, bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var h = await history.Ask<AgentHistory>(new GetHistory(agent, 500), Wait);
            if (condition(h) || DateTime.UtcNow > deadline)
            {
                Assert.True(condition(h), $"history has {h.Entries.Count} entries");
                return h;
            }

            // poll, do not spin: a tight ask loop competes with the journal writes it waits for
            await Task.Delay(20);
        }
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
