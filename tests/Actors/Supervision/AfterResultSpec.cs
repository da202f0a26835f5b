using Akka.Actor;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Agents;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// A CLI that prints its final result and never exits (a hung MCP server, a hook, a child holding its pipes) is
/// ended after <c>result_grace</c> as its result said. Real processes: tests/agents/fake-claude.sh parsed by the
/// claude adapter.
/// </summary>
public sealed class AfterResultSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDaemon _daemon = new();
    private readonly IActorRef _sweeper;

    public AfterResultSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
    }

    private static AgentSpec Claude(string name, string mode) => Specs.Agent(name, "fake-claude.sh", mode) with
    {
        Cli = CliCatalog.Claude,
        Restart = RestartType.Transient,
        Autostart = false,
        ResultGrace = TimeSpan.FromMilliseconds(500),
        Grace = TimeSpan.FromSeconds(1),
    };

    private IActorRef Layer(params AgentSpec[] agents)
    {
        var providers = new[] { new ProviderSpec { Name = "p", Cli = CliCatalog.Claude, Model = "m" } };
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), _daemon.Services(_sweeper, TestActor)));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), agents, 1, providers), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
        return layer;
    }

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].StartsWith('Z');

    [Fact]
    public async Task A_run_that_reported_success_and_hangs_ends_exited_with_code_0_and_its_process_is_gone()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var layer = Layer(Claude("reviewer", "hang"));

        // act
        var started = await layer.Ask<CommandResult>(new StartAgent("reviewer"), Wait);
        var running = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started, Wait);
        var ended = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind.EndsRun(), Wait);

        // assert: ended as its result said, not as the SIGTERM did; the transient agent is completed
        Assert.Equal((started.RunId, LifecycleKind.Exited, 0, (int?)null), (ended.RunId, ended.Kind, ended.ExitCode, ended.Signal));
        Assert.Contains("after its final result (success)", ended.Detail ?? ended.ToString(), StringComparison.Ordinal);
        Assert.False(Alive(running.Pid!.Value), $"pid {running.Pid} still runs");
        var status = (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == "reviewer");
        Assert.Equal(AgentState.Completed, status.State);
        await lifecycle.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // not restarted
    }

    [Fact]
    public async Task A_run_that_reported_failure_and_ignores_sigterm_is_killed_and_ends_as_a_crash_with_code_1()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var layer = Layer(Claude("fixer", "hang-fail"));

        // act
        await layer.Ask<CommandResult>(new StartAgent("fixer"), Wait);
        var running = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started, Wait);
        var ended = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind.EndsRun(), Wait);

        // assert: the kill after the grace is in the reason; the run is a crash with the result's code
        Assert.Equal((LifecycleKind.Crashed, 1), (ended.Kind, ended.ExitCode));
        Assert.Contains("after its final result (failure)", ended.Detail ?? string.Empty, StringComparison.Ordinal);
        Assert.Contains("signal 9", ended.Detail ?? string.Empty, StringComparison.Ordinal);
        Assert.False(Alive(running.Pid!.Value), $"pid {running.Pid} still runs");
    }

    [Fact]
    public async Task A_run_stopped_by_the_operator_after_its_result_stays_a_stop()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var layer = Layer(Claude("reviewer", "hang") with { ResultGrace = TimeSpan.FromMinutes(10) });

        // act
        await layer.Ask<CommandResult>(new StartAgent("reviewer"), Wait);
        await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started, Wait);
        await layer.Ask<CommandResult>(new StopAgent("reviewer"), Wait);
        var ended = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind.EndsRun(), Wait);

        // assert
        Assert.Equal((LifecycleKind.Stopped, 15), (ended.Kind, ended.Signal));
    }

    [Fact]
    public void The_exit_is_the_results_and_the_process_end_is_kept_in_the_reason()
    {
        var at = new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

        var ok = AfterResult.Exit(true, TimeSpan.FromSeconds(30), new ExitInfo(143, 15, at));
        var failed = AfterResult.Exit(false, TimeSpan.FromMilliseconds(1500), new ExitInfo(137, 9, at, "ignored"));

        Assert.Equal((0, (int?)null, at, true), (ok.Code, ok.Signal, ok.At, ok.Success));
        Assert.Equal("ended 30s after its final result (success): the CLI did not exit; its process killed by signal 15", ok.Reason);
        Assert.Equal((1, false), (failed.Code, failed.Success));
        Assert.Equal("ended 1.5s after its final result (failure): the CLI did not exit; its process killed by signal 9", failed.Reason);
    }

    public new void Dispose()
    {
        _daemon.Dispose();
        base.Dispose();
    }
}
