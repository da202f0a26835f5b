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
            var history = first.ActorOf(HistoryActor.Props(at), "history");
            for (var i = 0; i < events; i++)
            {
                history.Tell(new AgentLifecycle(agent, i % 2 == 0 ? LifecycleKind.Started : LifecycleKind.Crashed, at.AddSeconds(i), $"run{i}", Detail: $"event {i}"));
            }

            await AwaitHistory(history, agent, h => h.Entries.Count == events);
            await first.Terminate();
        }

        using var second = ActorSystem.Create("second", Config(store));
        // (a daemon started before these runs: none of them is one a previous daemon left going)
        var recovered = await AwaitHistory(second.ActorOf(HistoryActor.Props(at), "history"), agent, h => h.Entries.Count == events);
        Assert.Equal("event 0", recovered.Entries[0].Detail);
        Assert.Equal($"event {events - 1}", recovered.Entries[^1].Detail);
        Assert.Equal(LifecycleKind.Crashed, recovered.Entries[^1].Kind);
        await second.Terminate();
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_run_the_previous_daemon_left_going_is_ended_once_when_the_next_daemon_recovers_its_history(string store)
    {
        var agent = "agent-" + Guid.NewGuid().ToString("N")[..8];
        var at = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
        using (var first = ActorSystem.Create("first", Config(store)))
        {
            var history = first.ActorOf(HistoryActor.Props(at), "history");
            history.Tell(new AgentLifecycle(agent, LifecycleKind.Started, at.AddSeconds(1), "r1", TaskId: "t1", ProjectId: "p1"));
            history.Tell(new AgentLifecycle(agent, LifecycleKind.Exited, at.AddSeconds(2), "r1", ExitCode: 0));
            history.Tell(new AgentLifecycle(agent, LifecycleKind.Started, at.AddSeconds(3), "r2", TaskId: "t2", ProjectId: "p1"));
            await AwaitHistory(history, agent, h => h.Entries.Count == 3);
            await first.Terminate(); // killed: r2 never ends (its lifeline killed it)
        }

        // the next daemon: the start-up sweep's end for r2 and the new run arrive first thing
        var restartedAt = at.AddMinutes(5);
        using var second = ActorSystem.Create("second", Config(store));
        var again = second.ActorOf(HistoryActor.Props(restartedAt), "history");
        again.Tell(new AgentLifecycle(agent, LifecycleKind.Killed, restartedAt.AddSeconds(1), "r2", Detail: "swept"));
        again.Tell(new AgentLifecycle(agent, LifecycleKind.Started, restartedAt.AddSeconds(2), "r3"));
        var h = await AwaitHistory(again, agent, x => x.Entries.Count == 5);

        // assert: r2 ended once, before r3 began, as killed, keeping its task; r1 (ended) untouched
        Assert.Equal(["r1:Started", "r1:Exited", "r2:Started", "r2:Killed", "r3:Started"], h.Entries.Select(e => $"{e.RunId}:{e.Kind}"));
        var end = h.Entries[3];
        Assert.Equal((AgentHistoryActor.LeftGoing, restartedAt, "t2", "p1"), (end.Detail, end.At, end.TaskId, end.ProjectId));
        await second.Terminate();

        // and a third daemon finds nothing left going
        using var third = ActorSystem.Create("third", Config(store));
        var h3 = await AwaitHistory(third.ActorOf(HistoryActor.Props(restartedAt.AddMinutes(5)), "history"), agent, x => x.Entries.Count >= 5);
        Assert.Equal(["r1:Started", "r1:Exited", "r2:Started", "r2:Killed", "r3:Started", "r3:Killed"], h3.Entries.Select(e => $"{e.RunId}:{e.Kind}"));
        await third.Terminate();
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_history_read_from_the_store_has_what_another_node_wrote_since_and_writes_nothing(string store)
    {
        var agent = "agent-" + Guid.NewGuid().ToString("N")[..8];
        var at = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
        using var writer = ActorSystem.Create("writer", Config(store)); // the node that ran the agent
        using var reader = ActorSystem.Create("reader", Config(store)); // a node that holds an older record of it in memory
        var written = writer.ActorOf(HistoryActor.Props(at), "history");
        var read = reader.ActorOf(HistoryActor.Props(at), "history");
        written.Tell(new AgentLifecycle(agent, LifecycleKind.Started, at.AddSeconds(1), "r1"));
        written.Tell(new AgentLifecycle(agent, LifecycleKind.Exited, at.AddSeconds(2), "r1", ExitCode: 0));
        await AwaitHistory(written, agent, h => h.Entries.Count == 2);
        Assert.Equal(2, (await AwaitHistory(read, agent, h => h.Entries.Count == 2)).Entries.Count); // now in the reader's memory

        // the writer goes on (the agent ran there after); a run is left going when it stops
        written.Tell(new AgentLifecycle(agent, LifecycleKind.Started, at.AddSeconds(3), "r2"));
        await AwaitHistory(written, agent, h => h.Entries.Count == 3);
        await writer.Terminate();

        // the record in memory is the older one; from the store, every entry, r2 still going: nothing was written for it
        Assert.Equal(2, (await read.Ask<AgentHistory>(new GetHistory(agent, 500), Wait)).Entries.Count);
        var stored = await read.Ask<AgentHistory>(new GetHistory(agent, 500, FromStore: true), Wait);
        Assert.Equal(["r1:Started", "r1:Exited", "r2:Started"], stored.Entries.Select(e => $"{e.RunId}:{e.Kind}"));
        Assert.Equal(["r2:Started"], (await read.Ask<AgentHistory>(new GetHistory(agent, 1, FromStore: true), Wait)).Entries.Select(e => $"{e.RunId}:{e.Kind}"));

        using var later = ActorSystem.Create("later", Config(store)); // a daemon started after r2: would end it, were it a writer
        var again = await later.ActorOf(HistoryActor.Props(at.AddMinutes(5)), "history").Ask<AgentHistory>(new GetHistory(agent, 500, FromStore: true), Wait);
        Assert.Equal(3, again.Entries.Count);
        Assert.Equal(3, (await read.Ask<AgentHistory>(new GetHistory(agent, 500, FromStore: true), Wait)).Entries.Count);
        Assert.Empty((await read.Ask<AgentHistory>(new GetHistory("agent-" + Guid.NewGuid().ToString("N")[..8], 500, FromStore: true), Wait)).Entries); // none recorded
        await reader.Terminate();
        await later.Terminate();
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
