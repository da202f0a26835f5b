using Akka.Actor;
using Akka.Hosting;
using DarkFactory.Actors;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.History;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Output;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Projects;
using DarkFactory.Actors.Review;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Scheduling;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

/// <summary>
/// The composition root without the daemon: a fresh actor system composed through the same Akka.Hosting
/// extensions as <c>df up</c>, with its own clock and a temporary SQLite journal, its actors found in the
/// registry — the way a test or a scenario sandbox builds one.
/// </summary>
public sealed class CompositionRootSpec : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _data = Directory.CreateTempSubdirectory("df-wiring-").FullName;
    private readonly FleetTelemetry _telemetry = new();
    private readonly LogSinks _logs;
    private readonly LayerServices _node;
    private IHost? _host;

    private IHost Host => _host!;

    public CompositionRootSpec()
    {
        _logs = new LogSinks(Path.Combine(_data, "logs"));
        _node = new LayerServices(
            new DaemonContext("dfw-" + Guid.NewGuid().ToString("N")[..10], _data),
            _logs,
            ActorRefs.Nobody,
            ActorRefs.Nobody,
            LayerServices.CurrentEnvironment(),
            new ManualClock(Now), // standing still
            () => 0.5,
            name => Executables.Find(name),
            LayerServices.ReadFile)
        { Routes = new RouteBoard() };
    }

    public Task InitializeAsync() => StartHost();

    /// <summary>A daemon's actor system, composed as <c>df up</c> composes it, on the test's clock and journal.</summary>
    private async Task StartHost()
    {
        var node = _node;
        var store = new PersistenceSetup("SQLite.MS", $"Data Source={Path.Combine(_data, "journal.db")}");
        store.Prepare();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddAkka("wiring", (akka, _) => akka
            .WithDarkFactoryPersistence(store)
            .WithDarkFactorySettings()
            .WithDarkFactoryGateway(node)
            .WithDarkFactoryFleet(node)
            .WithDarkFactoryControlPlane(node)
            .WithFleetDrain(node.Daemon.DaemonId, TimeSpan.FromSeconds(5))
            .WithDarkFactoryControl(new FleetStatusView(), _telemetry));
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();

        _logs.Dispose();
        _telemetry.Dispose();
        ProcessTree.KillMarked([_node.Daemon.DaemonId + "/"]);
        Directory.Delete(_data, recursive: true);
    }

    private IActorRef Required<T>() => Host.Services.GetRequiredService<IRequiredActor<T>>().ActorRef;

    [Fact]
    public void Every_actor_of_the_tree_is_registered_under_its_own_type()
    {
        // act
        var actors = new[]
        {
            Required<FactoryActor>(), Required<FleetActor>(), Required<HistoryActor>(), Required<ProcessSweeper>(),
            Required<ProviderRouterActor>(), Required<SchedulerActor>(), Required<CompoundReviewActor>(),
            Required<ReviewViewsActor>(), Required<NightwatchActor>(), Required<ProjectsActor>(), Required<ProjectViewsActor>(),
            Required<EventBridgeActor>(), Required<TelemetryActor>(),
        };

        // assert: top-level actors, one each, named as the daemon names them
        Assert.Equal(
            ["factory", "fleet", "history", "sweeper", "router", "scheduler", "compound-review", "compound-review-views", "nightwatch", "projects", "project-views", "events", "telemetry"],
            actors.Select(a => a.Path.Name));
        Assert.All(actors, a => Assert.Equal("user", a.Path.Parent.Name));
    }

    [Fact]
    public async Task The_gateway_applies_a_fleet_and_routes_each_query_to_its_actor_on_the_injected_clock()
    {
        // arrange
        var gateway = Required<FactoryActor>();
        var fleet = new FleetSpec
        {
            Agents =
            [
                new AgentSpec
                {
                    Name = "nightly", Layer = LayerName.Core, Cli = CliCatalog.Command, Command = ["true"],
                    Schedule = "0 3 * * *", Autostart = false,
                },
            ],
        };

        // act
        var applied = await gateway.Ask<FleetApplied>(new ApplyFleet(fleet), Wait);
        var agents = await gateway.Ask<AgentsSnapshot>(GetAgents.Instance, Wait);
        var schedule = await Required<SchedulerActor>().Ask<ScheduleSnapshot>(new GetSchedule(1), Wait);
        var current = await gateway.Ask<CurrentFleet>(GetFleet.Instance, Wait);

        // assert: the fleet answers through the gateway; the scheduler, reached directly, counts from the injected clock
        Assert.Empty(applied.Started);
        Assert.Equal("nightly", Assert.Single(agents.Agents).Agent);
        Assert.Equal(Now.AddHours(3), Assert.Single(Assert.Single(schedule.Agents).Next));
        Assert.Same(fleet, current.Fleet);
        Assert.True(File.Exists(Path.Combine(_data, "journal.db")), "the journal is the temporary SQLite file");
    }

    [Fact]
    public async Task Stopping_the_host_drains_the_fleet_and_a_system_composed_again_reads_the_drain_from_the_journal()
    {
        // arrange: an agent running a long sleep
        var fleet = new FleetSpec
        {
            Agents = [new AgentSpec { Name = "sleeper", Layer = LayerName.Safety, Cli = CliCatalog.Command, Command = ["sleep", "600"], Autostart = true, Grace = TimeSpan.FromSeconds(2) }],
        };
        await Required<FactoryActor>().Ask<FleetApplied>(new ApplyFleet(fleet), Wait);
        await AwaitRunning("sleeper");
        await Recovered();

        // act: the shutdown task drains the fleet and flushes the history; then the same parts compose a new system on the journal
        await Host.StopAsync();
        Host.Dispose();
        await StartHost();
        var history = await Required<FactoryActor>().Ask<AgentHistory>(new GetHistory("sleeper"), Wait);

        // assert: the run was stopped gracefully by the drain, and that reached the journal before it closed
        Assert.Contains(history.Entries, e => e.Kind == LifecycleKind.Stopped);
        Assert.Empty(ProcessTree.FindMarked(_node.Daemon.DaemonId + "/"));
    }

    /// <summary>Every persistent actor has read its journal (a command waits for its recovery) and the history is written.</summary>
    private async Task Recovered()
    {
        await Required<SchedulerActor>().Ask<ScheduleSnapshot>(new GetSchedule(), Wait);
        await Required<ProviderRouterActor>().Ask<ProvidersSnapshot>(GetProviders.Instance, Wait);
        await Required<NightwatchActor>().Ask<DriftSnapshot>(new GetDrift(), Wait);
        await Required<CompoundReviewActor>().Ask<ReviewsSnapshot>(new GetReviews(), Wait);
        await Required<FactoryActor>().Ask<HistoryFlushed>(FlushHistory.Instance, Wait);
    }

    private async Task AwaitRunning(string agent)
    {
        using var cts = new CancellationTokenSource(Wait);
        while ((await Required<FactoryActor>().Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == agent).State != AgentState.Running)
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
