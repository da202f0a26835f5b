using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// Issue 14, finding 5: every action on an agent is recorded with who asked for it. "stopped by operator"
/// only when the operator stopped it; Nightwatch, the scheduler, the review and agents are named as
/// themselves, in the history detail and in <see cref="AgentLifecycle.By"/>.
/// </summary>
public sealed class AttributionSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDaemon _daemon = new();

    public AttributionSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
    }

    [Fact]
    public async Task Starts_stops_restarts_and_releases_name_who_asked()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var sweeper = Sys.ActorOf(ProcessSweeper.Props());
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(sweeper, TestActor)));
        var spec = Specs.Agent("worker", "sleeper.sh") with { Autostart = false };
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [spec], 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);

        Task<AgentLifecycle> Next(LifecycleKind kind) => lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == kind, Wait).AsTask();

        Assert.True((await layer.Ask<CommandResult>(new StartAgent("worker", By: Requester.Agent("planner") + " (@mention)"), Wait)).Ok);
        Assert.Equal("agent planner (@mention)", (await Next(LifecycleKind.Started)).By);

        Assert.True((await layer.Ask<CommandResult>(new RestartAgent("worker", Requester.Scheduler), Wait)).Ok);
        var restarted = await Next(LifecycleKind.Stopped);
        Assert.Equal(("restarted by scheduler", Requester.Scheduler), (restarted.Detail, restarted.By));
        Assert.Equal(Requester.Scheduler, (await Next(LifecycleKind.Started)).By);

        Assert.True((await layer.Ask<CommandResult>(new StopAgent("worker", Requester.Nightwatch), Wait)).Ok);
        var byNightwatch = await Next(LifecycleKind.Stopped);
        Assert.Equal(("stopped by nightwatch", Requester.Nightwatch), (byNightwatch.Detail, byNightwatch.By));

        Assert.True((await layer.Ask<CommandResult>(new StartAgent("worker", By: Requester.Operator), Wait)).Ok);
        await Next(LifecycleKind.Started);
        Assert.True((await layer.Ask<CommandResult>(new StopAgent("worker", Requester.Operator), Wait)).Ok);
        var byOperator = await Next(LifecycleKind.Stopped);
        Assert.Equal(("stopped by operator", Requester.Operator), (byOperator.Detail, byOperator.By));

        // a command that names nobody is not taken for the operator's
        Assert.True((await layer.Ask<CommandResult>(new StartAgent("worker"), Wait)).Ok);
        Assert.Null((await Next(LifecycleKind.Started)).By);
        Assert.True((await layer.Ask<CommandResult>(new StopAgent("worker"), Wait)).Ok);
        Assert.Equal("stopped on request", (await Next(LifecycleKind.Stopped)).Detail);
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
