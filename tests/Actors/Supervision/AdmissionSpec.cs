using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Adapters;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Routing.Admission;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// Declared limits enforced by the layer through the node's <see cref="RunGate"/>, with fake runs on virtual
/// time (the TestKit's <see cref="TestScheduler"/> drives the gate keeper's timer; a <see cref="ManualClock"/>
/// moves with it): a run beyond a provider's <c>max_concurrent</c> waits, queued, and starts when a run ends; a
/// run beyond its <c>requests_per_minute</c> starts when the minute slides. Waiting is neither a crash nor a restart.
/// </summary>
public sealed class AdmissionSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TempDaemon _daemon = new();
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly TestProbe _runs;
    private readonly FakeRuns _fakes;
    private readonly RunGate _gate;
    private readonly IActorRef _keeper;
    private TaskSpill? _spill;

    public AdmissionSpec(ITestOutputHelper output)
        : base("""
            akka.loglevel = INFO
            akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
            """, output: output)
    {
        _runs = CreateTestProbe("runs");
        _fakes = new FakeRuns(_clock) { Observer = _runs };
        _gate = new RunGate(_clock);
        _keeper = Sys.ActorOf(RunGateKeeper.Props(_gate, _clock), "run-gate");
    }

    private static AgentSpec Worker(string name) => new()
    {
        Name = name,
        Layer = LayerName.Core,
        Cli = CliCatalog.Claude,
        Command = ["/fake/claude"],
        Restart = RestartType.Temporary,
        Autostart = false,
    };

    private static LayerSpec Core => new()
    {
        Name = LayerName.Core,
        MaxRestarts = 100,
        Within = TimeSpan.FromMinutes(1),
        QuarantineAfter = 100,
        DefaultRestart = RestartType.Temporary,
        Backoff = new BackoffSpec { Min = TimeSpan.Zero, Max = TimeSpan.Zero, Jitter = 0, ResetAfter = TimeSpan.FromMinutes(1) },
    };

    /// <summary>A core layer of <paramref name="agents"/>, routed to the one provider <c>p</c> with <paramref name="limits"/>.</summary>
    private IActorRef Layer(ProviderLimits limits, params AgentSpec[] agents)
    {
        var fleet = new FleetSpec { Providers = [new ProviderSpec { Name = "p", Cli = CliCatalog.Claude, Model = "m", Limits = limits }], Agents = agents };
        var routes = new RouteBoard();
        routes.Publish(new RoutingPolicy(fleet), ProviderBoard.Empty);
        _gate.Configure(fleet);
        var services = _daemon.Services(ActorRefs.Nobody, ActorRefs.Nobody) with { Clock = _clock, RunProps = _fakes.Props, Routes = routes, Gate = _gate, Spill = _spill };
        var layer = Sys.ActorOf(LayerSupervisor.Props(Core, services));
        layer.Tell(new ReconcileLayer(Core, agents, 1, fleet.Providers), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        return layer;
    }

    private async Task<CommandResult> Start(IActorRef layer, string agent) => await layer.Ask<CommandResult>(new StartAgent(agent), Wait);

    private static async Task<AgentStatus> Status(IActorRef layer, string agent) =>
        (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == agent);

    private async Task<FakeRunStarted> Started() => await _runs.FishForMessageAsync<FakeRunStarted>(_ => true, Wait);

    /// <summary>Moves the clock and the scheduler, after the keeper has taken every wake-up the gate sent it.</summary>
    private async Task Advance(TimeSpan by)
    {
        await _keeper.Ask<ActorIdentity>(new Identify(null), Wait);
        _clock.Advance(by);
        ((TestScheduler)Sys.Scheduler).Advance(by);
    }

    private ProviderAdmission P() => _gate.Report().Providers.Single(p => p.Provider == "p");

    [Fact]
    public async Task A_third_run_waits_at_max_concurrent_2_and_starts_when_one_ends()
    {
        var layer = Layer(new ProviderLimits { MaxConcurrent = 2 }, Worker("a"), Worker("b"), Worker("c"));

        Assert.Equal(CommandOutcome.Started, (await Start(layer, "a")).Outcome);
        Assert.Equal(CommandOutcome.Started, (await Start(layer, "b")).Outcome);
        var first = await Started();
        await Started();
        var queued = await Start(layer, "c");

        Assert.Equal((true, CommandOutcome.Queued), (queued.Ok, queued.Outcome));
        Assert.Contains("provider p: max_concurrent 2 reached", queued.Message);
        var waiting = await Status(layer, "c");
        Assert.Equal((AgentState.Queued, 0), (waiting.State, waiting.Restarts));
        Assert.StartsWith("queued: provider p: max_concurrent 2", waiting.Reason);
        Assert.Equal((2, 1), (P().InFlight, _gate.Report().Queued));
        await _runs.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        _fakes.Exit(first.Agent, 0);
        var third = await Started();

        Assert.Equal("c", third.Agent);
        var running = await Status(layer, "c");
        Assert.Equal((AgentState.Running, 0, null), (running.State, running.Restarts, running.LastExit));
        Assert.Equal((2, 0), (P().InFlight, _gate.Report().Queued));
    }

    [Fact]
    public async Task A_run_held_by_requests_per_minute_starts_when_the_window_slides()
    {
        var layer = Layer(new ProviderLimits { RequestsPerMinute = 1 }, Worker("a"), Worker("b"));
        await Start(layer, "a");
        _fakes.Exit((await Started()).Agent, 0);
        await _runs.FishForMessageAsync<FakeRunEnded>(_ => true, Wait);
        await AwaitAssertAsync(() => Assert.Equal(0, P().InFlight), Wait);

        var queued = await Start(layer, "b");
        Assert.Equal(CommandOutcome.Queued, queued.Outcome);
        Assert.Contains("requests_per_minute 1 reached", queued.Message);

        await Advance(TimeSpan.FromSeconds(59));
        await _runs.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Assert.Equal(AgentState.Queued, (await Status(layer, "b")).State);

        await Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("b", (await Started()).Agent);
        Assert.Equal(1, P().Throttled["requests_per_minute"]);
    }

    [Fact]
    public async Task A_stopped_queued_run_leaves_the_queue_and_the_next_one_takes_the_place()
    {
        var layer = Layer(new ProviderLimits { MaxConcurrent = 1 }, Worker("a"), Worker("b"), Worker("c"));
        await Start(layer, "a");
        var first = await Started();
        await Start(layer, "b");
        await Start(layer, "c");

        Assert.Equal(CommandOutcome.NotRunning, (await layer.Ask<CommandResult>(new StopAgent("b"), Wait)).Outcome);
        Assert.Equal(AgentState.Stopped, (await Status(layer, "b")).State);
        _fakes.Exit(first.Agent, 0);

        Assert.Equal("c", (await Started()).Agent);
        Assert.Equal(0, _gate.Report().Queued);
    }

    [Fact]
    public async Task A_queued_runs_task_waits_on_disk_and_the_run_starts_with_exactly_that_task()
    {
        _spill = TaskSpill.Prepare(_daemon.Directory, out _);
        var layer = Layer(new ProviderLimits { MaxConcurrent = 1 }, Worker("a"), Worker("b"));
        await Start(layer, "a");
        var first = await Started();
        var hostile = "../../b.task\0 \ud800 " + new string('x', 200_000);

        Assert.Equal(CommandOutcome.Queued, (await layer.Ask<CommandResult>(new StartAgent("b", hostile), Wait)).Outcome);
        var file = Assert.Single(Directory.GetFiles(_spill.Directory));
        Assert.True(new FileInfo(file).Length > 200_000);

        _fakes.Exit(first.Agent, 0);
        var run = (await Started()).Run;

        Assert.Equal("b", run.Agent);
        Assert.Equal(hostile, run.Plan.Files.Single().Content);
        Assert.Empty(Directory.GetFiles(_spill.Directory));
        Assert.Equal(0L, _spill.Files);
    }

    [Fact]
    public async Task A_queued_task_lost_from_disk_stops_its_agent_with_the_reason_and_the_place_goes_to_the_next_run()
    {
        _spill = TaskSpill.Prepare(_daemon.Directory, out _);
        var layer = Layer(new ProviderLimits { MaxConcurrent = 1 }, Worker("a"), Worker("b"), Worker("c"));
        await Start(layer, "a");
        var first = await Started();
        await layer.Ask<CommandResult>(new StartAgent("b", "task of b"), Wait);
        var lost = Assert.Single(Directory.GetFiles(_spill.Directory));
        await layer.Ask<CommandResult>(new StartAgent("c", "task of c"), Wait);
        File.Delete(lost);

        _fakes.Exit(first.Agent, 0);
        var next = await Started();

        Assert.Equal(("c", "task of c"), (next.Agent, next.Run.Plan.Files.Single().Content));
        var b = await Status(layer, "b");
        Assert.Equal(AgentState.Stopped, b.State);
        Assert.Contains("its queued task could not be read back", b.Reason);
        Assert.Equal(0, _gate.Report().Queued);
    }

    [Fact]
    public async Task A_stopped_layer_drops_its_queued_tasks_from_disk()
    {
        _spill = TaskSpill.Prepare(_daemon.Directory, out _);
        var layer = Layer(new ProviderLimits { MaxConcurrent = 1 }, Worker("a"), Worker("b"), Worker("c"));
        await Start(layer, "a");
        await Started();
        await layer.Ask<CommandResult>(new StartAgent("b", "task of b"), Wait);
        await layer.Ask<CommandResult>(new StartAgent("c", "task of c"), Wait);
        Assert.Equal(2L, _spill.Files);

        await layer.GracefulStop(Wait);

        Assert.Equal(0L, _spill.Files);
        Assert.Empty(Directory.GetFiles(_spill.Directory));
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
