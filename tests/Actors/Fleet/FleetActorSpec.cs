using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Fleet;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Fleet;

public sealed class FleetActorSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDaemon _daemon = new();

    public FleetActorSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
    }

    private IActorRef Fleet() => Sys.ActorOf(FleetActor.Props(_daemon.Services(Sys.ActorOf(ProcessSweeper.Props()), CreateTestProbe().Ref)), "fleet");

    [Fact]
    public async Task A_layer_that_escalates_is_started_again_with_its_agents()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle.Ref, typeof(AgentLifecycle));
        var layer = Specs.FastLayer(maxRestarts: 1) with
        {
            Backoff = new BackoffSpec { Min = TimeSpan.FromMilliseconds(50), Max = TimeSpan.FromMilliseconds(50), Jitter = 0 },
        };
        var fleet = Fleet();
        var spec = new FleetSpec
        {
            Layers = new Dictionary<LayerName, LayerSpec> { [LayerName.Safety] = layer },
            Agents = [Specs.Agent("crasher", "exit.sh", "1")],
        };

        var applied = await fleet.Ask<FleetApplied>(new ApplyFleet(spec), Wait);
        Assert.Equal(["crasher"], applied.Started);

        await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Escalated, Wait);
        // the fleet starts the layer again: the agent runs again
        await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started, Wait);
        var escalations = 1;
        await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Escalated && ++escalations == 2, Wait);
    }

    [Fact]
    public async Task Commands_for_unknown_agents_are_refused_and_known_ones_are_routed_to_their_layer()
    {
        var fleet = Fleet();
        var spec = new FleetSpec
        {
            Layers = new Dictionary<LayerName, LayerSpec> { [LayerName.Core] = Specs.FastLayer() with { Name = LayerName.Core } },
            Agents = [Specs.Agent("worker", "sleeper.sh") with { Layer = LayerName.Core, Autostart = false }],
        };
        await fleet.Ask<FleetApplied>(new ApplyFleet(spec), Wait);

        var unknown = await fleet.Ask<CommandResult>(new StartAgent("nobody"), Wait);
        Assert.False(unknown.Ok);
        Assert.Contains("unknown agent", unknown.Message);

        var started = await fleet.Ask<CommandResult>(new StartAgent("worker"), Wait);
        Assert.True(started.Ok, started.Message);
        await AwaitConditionAsync(
            async () => (await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single().State == AgentState.Running,
            Wait);
        var all = await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait);
        Assert.Equal(LayerName.Core, all.Agents.Single().Layer);

        await fleet.Ask<FleetDrained>(DrainFleet.Instance, Wait);
        await AwaitConditionAsync(() => Task.FromResult(_daemon.LiveProcesses().Count == 0), Wait);
    }

    [Fact]
    public async Task A_draining_fleet_refuses_new_runs_typed_and_still_takes_a_stop()
    {
        // arrange: a running agent and one at rest, then the drain of a daemon's SIGTERM
        var fleet = Fleet();
        var spec = new FleetSpec
        {
            Layers = new Dictionary<LayerName, LayerSpec> { [LayerName.Core] = Specs.FastLayer() with { Name = LayerName.Core } },
            Agents = [Specs.Agent("worker", "sleeper.sh") with { Layer = LayerName.Core }, Specs.Agent("cron", "sleeper.sh") with { Layer = LayerName.Core, Autostart = false }],
        };
        await fleet.Ask<FleetApplied>(new ApplyFleet(spec), Wait);
        await AwaitConditionAsync(async () => (await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Any(a => a.Agent == "worker" && a.State == AgentState.Running), Wait);
        await fleet.Ask<FleetDrained>(DrainFleet.Instance, Wait);

        // act: what a scheduler on another node, an operator and the router send while the node drains
        var start = await fleet.Ask<CommandResult>(new StartAgent("cron", By: "scheduler"), Wait);
        var restart = await fleet.Ask<CommandResult>(new RestartAgent("worker"), Wait);
        var resume = await fleet.Ask<CommandResult>(new ResumeAgent("worker", null), Wait);
        var stop = await fleet.Ask<CommandResult>(new StopAgent("worker"), Wait);

        // assert: no run starts; each refusal says why in a type; the stop is answered by the layer as ever
        Assert.All([start, restart, resume], r => Assert.Equal((false, CommandOutcome.ShuttingDown), (r.Ok, r.Outcome)));
        Assert.Contains("shutting down", start.Message);
        Assert.NotEqual(CommandOutcome.ShuttingDown, stop.Outcome);
        Assert.Empty(_daemon.LiveProcesses());
        Assert.DoesNotContain((await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents, a => a.State is AgentState.Running or AgentState.Starting);
    }

    [Fact]
    public async Task Resource_limits_are_applied_to_the_child()
    {
        var fleet = Fleet();
        var agent = Specs.Agent("limited", "lines.sh", "1") with
        {
            Command = ["bash", "-c", "echo nofile=$(ulimit -n) cpu=$(ulimit -t)"],
            Limits = new ResourceLimits { OpenFiles = 64, CpuSeconds = 30 },
            Restart = RestartType.Transient,
        };
        var spec = new FleetSpec { Layers = new Dictionary<LayerName, LayerSpec> { [LayerName.Safety] = Specs.FastLayer() }, Agents = [agent] };
        await fleet.Ask<FleetApplied>(new ApplyFleet(spec), Wait);

        await AwaitConditionAsync(
            async () => (await fleet.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single().State == AgentState.Completed,
            Wait);
        Assert.Contains("nofile=64 cpu=30", File.ReadAllText(_daemon.Logs.PathOf("limited")));
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Dispose();
        base.Dispose();
    }
}
