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
/// A project's instance of an agent (<c>agent@project</c>): a slot of its own with the agent's declaration, beside
/// the agent and other projects' instances, never restarted by the layer, gone when its run is over.
/// </summary>
public sealed class AgentInstanceSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDaemon _daemon = new();
    private readonly IActorRef _sweeper;

    public AgentInstanceSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
    }

    private IActorRef Layer(params AgentSpec[] agents)
    {
        var actor = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(_sweeper, TestActor)));
        Reconcile(actor, agents);
        return actor;
    }

    private void Reconcile(IActorRef layer, params AgentSpec[] agents)
    {
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), agents, 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
    }

    private static async Task<IReadOnlyList<AgentStatus>> Agents(IActorRef layer) => (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents;

    [Fact]
    public async Task Projects_run_their_instances_of_one_agent_at_once_beside_the_agent_itself()
    {
        var layer = Layer(Specs.Agent("worker", "sleeper.sh") with { Autostart = false });

        var own = await layer.Ask<CommandResult>(new StartAgent("worker"), Wait);
        var a = await layer.Ask<CommandResult>(new StartAgent(AgentInstance.Of("worker", "p-aaaaaa"), "task a", TaskId: "t1", ProjectId: "p-aaaaaa"), Wait);
        var b = await layer.Ask<CommandResult>(new StartAgent(AgentInstance.Of("worker", "p-bbbbbb"), "task b", TaskId: "t1", ProjectId: "p-bbbbbb"), Wait);

        Assert.Equal([CommandOutcome.Started, CommandOutcome.Started, CommandOutcome.Started], new[] { own.Outcome, a.Outcome, b.Outcome });
        Assert.Equal(3, new[] { own.RunId, a.RunId, b.RunId }.Distinct().Count());
        await AwaitConditionAsync(async () => (await Agents(layer)).Count(s => s.State == AgentState.Running) == 3, Wait);

        // a second start of a running instance names its run
        var again = await layer.Ask<CommandResult>(new StartAgent(AgentInstance.Of("worker", "p-aaaaaa"), "task a", TaskId: "t1", ProjectId: "p-aaaaaa"), Wait);
        Assert.Equal((CommandOutcome.AlreadyRunning, a.RunId), (again.Outcome, again.RunId));

        // a reload keeps the instances of a declared agent
        Reconcile(layer, Specs.Agent("worker", "sleeper.sh") with { Autostart = false });
        Assert.Equal(3, (await Agents(layer)).Count(s => s.State == AgentState.Running));
    }

    [Fact]
    public async Task An_instance_is_not_restarted_after_a_crash_and_is_gone_when_its_run_is_over()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var layer = Layer(Specs.Agent("worker", "exit.sh", "3") with { Autostart = false, Restart = RestartType.Permanent });
        var name = AgentInstance.Of("worker", "p-cccccc");

        var started = await layer.Ask<CommandResult>(new StartAgent(name, "task", TaskId: "t2", ProjectId: "p-cccccc"), Wait);
        var crashed = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Crashed, Wait);

        Assert.Equal((name, started.RunId, "t2", "p-cccccc"), (crashed.Agent, crashed.RunId, crashed.TaskId, crashed.ProjectId));
        await AwaitConditionAsync(async () => (await Agents(layer)).All(s => s.Agent != name), Wait);
        await lifecycle.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500)); // no restart of the instance
        Assert.Equal(["worker"], (await Agents(layer)).Select(s => s.Agent));
    }

    [Fact]
    public async Task An_instance_of_an_agent_that_is_not_declared_is_unknown()
    {
        var layer = Layer(Specs.Agent("worker", "sleeper.sh") with { Autostart = false });

        var answer = await layer.Ask<CommandResult>(new StartAgent(AgentInstance.Of("nobody", "p-dddddd"), "task", ProjectId: "p-dddddd"), Wait);

        Assert.Equal(CommandOutcome.UnknownAgent, answer.Outcome);
        Assert.Equal(CommandOutcome.UnknownAgent, (await layer.Ask<CommandResult>(new StartAgent(AgentInstance.Of(AgentInstance.Of("worker", "p-1"), "p-2")), Wait)).Outcome);
    }

    public new void Dispose()
    {
        _daemon.Dispose();
        base.Dispose();
    }
}
