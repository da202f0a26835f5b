using Akka.Actor;
using Akka.Configuration;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The router's ledger, limits, breakers, switches and avoided routes survive the actor system (a daemon restart), through
/// Akka.Persistence.Sql on a real SQLite file (and PostgreSQL when DF_TEST_POSTGRES is set), across a
/// snapshot and the deletion of older events.
/// </summary>
public sealed class RouterPersistenceSpec : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("df-router-").FullName;

    public static TheoryData<string> Stores() => Support.Stores.All();

    private Config Config(string store) => Support.Stores.Config(store, Path.Combine(_dir, "router.db"));

    private static readonly FleetSpec Fleet = new()
    {
        Providers =
        [
            new ProviderSpec { Name = "openai", Cli = "codex", Prices = new ProviderPrices { InputPerMillion = 1, OutputPerMillion = 10 } },
            new ProviderSpec { Name = "anthropic", Cli = "claude" },
        ],
        Router = new RouterSpec { BreakerFailures = 1, BreakerOpenFor = TimeSpan.FromHours(1) },
        Agents = [new AgentSpec { Name = "a", Cli = "codex", Provider = "openai" }],
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_ledger_limits_breakers_and_switches_are_recovered_by_a_new_actor_system(string store)
    {
        var id = "router-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        const int runs = 130; // with a snapshot every 100 events: crosses a snapshot and the deletion of older events
        decimal expected = 0;

        using (var first = ActorSystem.Create("first", Config(store)))
        {
            var router = first.ActorOf(ProviderRouterActor.Props(new RouterSettings { PersistenceId = id, SnapshotEvery = 100 }));
            router.Tell(new ApplyFleet(Fleet));
            router.Tell(new RouteAvoid("a", "openai", null, now.AddHours(1), "severe drift")); // in the snapshot
            for (var i = 0; i < runs; i++)
            {
                router.Tell(RouteChosen.Of("a", $"run{i}", new Route("codex", "openai", null, "own"), now));
                router.Tell(new AgentUsage("a", $"run{i}", null, null, 1_000_000, 100_000, now)); // priced: $2 each
                expected += 2m;
            }

            router.Tell(RouteChosen.Of("a", "crash", new Route("codex", "openai", null, "own"), now));
            router.Tell(new AgentLifecycle("a", LifecycleKind.Crashed, now, "crash", ExitCode: 1));
            router.Tell(new ProviderLimited("anthropic", "a", null, now, now.AddHours(2), "429", LimitSource.Structured));
            router.Tell(RouteChosen.Of("a", "switched", new Route("claude", "anthropic", null, "failover"), now));
            router.Tell(new RouteAvoid("b", "anthropic", "claude-x", now.AddHours(1), "severe drift")); // an event after it

            await AwaitProviders(router, p => p.Providers.Single(x => x.Name == "openai").Spend == expected && p.Switches!.Count == 1 && p.Avoids!.Count == 2);
            await first.Terminate();
        }

        using var second = ActorSystem.Create("second", Config(store));
        var recovered = second.ActorOf(ProviderRouterActor.Props(new RouterSettings { PersistenceId = id, SnapshotEvery = 100 }));
        recovered.Tell(new ApplyFleet(Fleet));
        var snapshot = await AwaitProviders(recovered, p => p.Providers.Single(x => x.Name == "openai").Spend == expected);

        Assert.Equal(ProviderState.Open, snapshot.Providers.Single(p => p.Name == "openai").State);
        Assert.Equal(ProviderState.Limited, snapshot.Providers.Single(p => p.Name == "anthropic").State);
        var sw = Assert.Single(snapshot.Switches!);
        Assert.Equal(("openai", "anthropic"), (sw.From, sw.To));
        Assert.Equal(new[] { ("a", "openai", (string?)null), ("b", "anthropic", (string?)"claude-x") }, snapshot.Avoids!.Select(a => (a.Agent, a.Provider!, a.Model)));
        Assert.All(snapshot.Avoids!, a => Assert.Equal(now.AddHours(1) + Fleet.Router.AvoidFor, a.Until));
        var costs = await recovered.Ask<CostReport>(new GetCosts("run"), Wait);
        Assert.Equal(runs, costs.Rows.Count);
        Assert.Equal(expected, costs.TotalUsd);
        await second.Terminate();
    }

    private static async Task<ProvidersSnapshot> AwaitProviders(IActorRef router, Func<ProvidersSnapshot, bool> condition)
    {
        // a query waits behind the router's pending journal writes (hundreds of SQLite writes under a loaded CI): keep asking
        var deadline = DateTime.UtcNow + (3 * Wait);
        while (true)
        {
            ProvidersSnapshot p;
            try
            {
                p = await router.Ask<ProvidersSnapshot>(GetProviders.Instance, Wait);
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
                continue;
            }

            if (condition(p) || DateTime.UtcNow > deadline)
            {
                Assert.True(condition(p), $"providers: {string.Join(", ", p.Providers.Select(x => $"{x.Name} {x.State} {x.Spend}"))}");
                return p;
            }

            await Task.Delay(50);
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
