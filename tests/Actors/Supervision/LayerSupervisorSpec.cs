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
/// Layer supervisor scenarios against real processes (tests/agents). Conditions are awaited with
/// timeouts; nothing sleeps a fixed time.
/// </summary>
public sealed class LayerSupervisorSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDaemon _daemon = new();
    private readonly IActorRef _sweeper;

    public LayerSupervisorSpec(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output: output)
    {
        _sweeper = Sys.ActorOf(ProcessSweeper.Props(), "sweeper");
    }

    private IActorRef Layer(LayerSpec layer, params AgentSpec[] agents)
    {
        var actor = Sys.ActorOf(LayerSupervisor.Props(layer, _daemon.Services(_sweeper, TestActor)));
        actor.Tell(new ReconcileLayer(layer, agents, 1), TestActor);
        FishForMessage<LayerReconciled>(_ => true, Wait);
        return actor;
    }

    private async Task<AgentStatus> Status(IActorRef layer, string agent) =>
        (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == agent);

    private async Task<AgentStatus> AwaitStatus(IActorRef layer, string agent, Func<AgentStatus, bool> condition)
    {
        AgentStatus status = null!;
        await AwaitConditionAsync(async () => condition(status = await Status(layer, agent)), Wait, TimeSpan.FromMilliseconds(20));
        return status;
    }

    [Fact]
    public async Task A_transient_agent_that_exits_0_is_completed_and_not_restarted()
    {
        var lifecycle = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        var layer = Layer(Specs.FastLayer(), Specs.Agent("once", "lines.sh", "3") with { Restart = RestartType.Transient });

        var status = await AwaitStatus(layer, "once", s => s.State == AgentState.Completed);

        Assert.Equal(0, status.Restarts);
        Assert.Equal(0, status.LastExit!.Code);
        Assert.Null(status.Pid);

        // the times a trace of the run is made of: launch -> process running -> process exited -> recorded
        var started = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started, Wait);
        var exited = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Exited, Wait);
        Assert.True(started.LaunchedAt <= started.At, $"launched {started.LaunchedAt:O}, running {started.At:O}");
        // (a short run can exit before the layer has recorded it running: started.At may be after ExitedAt)
        Assert.True(started.LaunchedAt <= exited.ExitedAt && exited.ExitedAt <= exited.At, $"launched {started.LaunchedAt:O}, exited {exited.ExitedAt:O}, recorded {exited.At:O}");
        Assert.Equal(status.LastExit.At, exited.ExitedAt);
    }

    [Fact]
    public async Task A_permanent_agent_killed_with_SIGKILL_is_restarted_as_a_new_run()
    {
        var layer = Layer(Specs.FastLayer(), Specs.Agent("keeper", "sleeper.sh"));
        var first = await AwaitStatus(layer, "keeper", s => s.State == AgentState.Running);

        Native.Kill(first.Pid!.Value, Native.SIGKILL);

        var second = await AwaitStatus(layer, "keeper", s => s.State == AgentState.Running && s.Pid != first.Pid);
        Assert.Equal(1, second.Restarts);
        Assert.NotEqual(first.RunId, second.RunId);
        Assert.Equal(9, second.LastExit!.Signal);
    }

    [Fact]
    public async Task A_crash_loop_is_quarantined_and_restart_releases_it()
    {
        var layer = Layer(Specs.FastLayer(quarantineAfter: 3), Specs.Agent("flaky", "exit.sh", "3"));

        var status = await AwaitStatus(layer, "flaky", s => s.State == AgentState.Quarantined);
        Assert.Equal(2, status.Restarts);
        Assert.Contains("crash loop", status.Reason);
        Assert.Equal(3, status.LastExit!.Code);

        // start is refused while quarantined; restart releases it and it runs again
        var refused = await layer.Ask<CommandResult>(new StartAgent("flaky"), Wait);
        Assert.False(refused.Ok);
        Assert.Contains("quarantined", refused.Message);
        var released = await layer.Ask<CommandResult>(new RestartAgent("flaky"), Wait);
        Assert.True(released.Ok);
        await AwaitStatus(layer, "flaky", s => s.State == AgentState.Quarantined && s.Restarts >= 4);
    }

    [Fact]
    public async Task Exceeding_the_restart_intensity_escalates_to_the_parent()
    {
        var escalations = CreateTestProbe();
        var layerSpec = Specs.FastLayer(maxRestarts: 2);
        var services = _daemon.Services(_sweeper, TestActor);
        var parent = Sys.ActorOf(Props.Create(() => new EscalationParent(LayerSupervisor.Props(layerSpec, services), escalations.Ref)));
        parent.Tell(new ReconcileLayer(layerSpec, [Specs.Agent("crasher", "exit.sh", "1")], 1));

        var failure = await escalations.ExpectMsgAsync<LayerIntensityExceededException>(Wait);
        Assert.Equal(LayerName.Safety, failure.Layer);
        Assert.Contains("restart intensity exceeded", failure.Message);
    }

    [Fact]
    public async Task One_for_all_restarts_the_siblings_of_a_crashed_agent()
    {
        var layer = Layer(
            Specs.FastLayer(StrategyKind.OneForAll),
            Specs.Agent("a", "sleeper.sh"),
            Specs.Agent("b", "sleeper.sh"));
        var a = await AwaitStatus(layer, "a", s => s.State == AgentState.Running);
        var b = await AwaitStatus(layer, "b", s => s.State == AgentState.Running);

        Native.Kill(a.Pid!.Value, Native.SIGKILL);

        var b2 = await AwaitStatus(layer, "b", s => s.State == AgentState.Running && s.RunId != b.RunId);
        var a2 = await AwaitStatus(layer, "a", s => s.State == AgentState.Running && s.RunId != a.RunId);
        Assert.NotEqual(b.Pid, b2.Pid);
        Assert.NotEqual(a.Pid, a2.Pid);
    }

    [Fact]
    public async Task Stop_escalates_to_SIGKILL_after_the_grace_period_and_leaves_nothing_behind()
    {
        var layer = Layer(Specs.FastLayer(), Specs.Agent("stubborn", "ignore-term.sh") with { Grace = TimeSpan.FromMilliseconds(500) });
        await AwaitStatus(layer, "stubborn", s => s.State == AgentState.Running);

        // the script prints "ready" once its TERM trap is installed
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(_daemon.Logs.PathOf("stubborn")) && File.ReadAllText(_daemon.Logs.PathOf("stubborn")).Contains("ready")), Wait);

        var result = await layer.Ask<CommandResult>(new StopAgent("stubborn"), Wait);

        Assert.True(result.Ok);
        var stopped = await AwaitStatus(layer, "stubborn", s => s.State == AgentState.Stopped);
        Assert.Equal(9, stopped.LastExit!.Signal);
        await AwaitConditionAsync(() => Task.FromResult(_daemon.LiveProcesses().Count == 0), Wait);
        Assert.Contains("ignoring TERM", File.ReadAllText(_daemon.Logs.PathOf("stubborn")));
    }

    [Fact]
    public async Task A_grandchild_that_left_the_process_group_dies_with_its_agent()
    {
        var pidfile = Path.Combine(_daemon.Directory, "grandchild.pid");
        var layer = Layer(Specs.FastLayer(), Specs.Agent("spawner", "detach.sh", pidfile));
        await AwaitStatus(layer, "spawner", s => s.State == AgentState.Running);
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(pidfile) && File.ReadAllText(pidfile).Trim().Length > 0), Wait);
        var grandchild = int.Parse(File.ReadAllText(pidfile).Trim());
        Assert.True(ProcessTree.IsAlive(grandchild));
        Assert.NotEqual(Native.GetPgid(grandchild), (await Status(layer, "spawner")).Pid);

        await layer.Ask<CommandResult>(new StopAgent("spawner"), Wait);

        await AwaitConditionAsync(() => Task.FromResult(!ProcessTree.IsAlive(grandchild)), Wait);
        await AwaitConditionAsync(() => Task.FromResult(_daemon.LiveProcesses().Count == 0), Wait);
    }

    [Fact]
    public async Task Reconciliation_restarts_changed_agents_stops_removed_ones_and_leaves_the_rest()
    {
        var layerSpec = Specs.FastLayer();
        var keep = Specs.Agent("keep", "sleeper.sh");
        var change = Specs.Agent("change", "sleeper.sh");
        var remove = Specs.Agent("remove", "sleeper.sh");
        var layer = Layer(layerSpec, keep, change, remove);
        var keepBefore = await AwaitStatus(layer, "keep", s => s.State == AgentState.Running);
        var changeBefore = await AwaitStatus(layer, "change", s => s.State == AgentState.Running);
        await AwaitStatus(layer, "remove", s => s.State == AgentState.Running);

        var added = Specs.Agent("added", "sleeper.sh");
        layer.Tell(new ReconcileLayer(layerSpec, [keep, change with { Env = new Dictionary<string, EnvValue> { ["MODE"] = EnvValue.Literal("new") } }, added], 2), TestActor);
        var reconciled = FishForMessage<LayerReconciled>(m => m.Revision == 2, Wait);

        Assert.Equal(["added"], reconciled.Started);
        Assert.Equal(["change"], reconciled.Restarted);
        Assert.Equal(["remove"], reconciled.Stopped);
        Assert.Equal(["keep"], reconciled.Unchanged);
        await AwaitStatus(layer, "added", s => s.State == AgentState.Running);
        var changeAfter = await AwaitStatus(layer, "change", s => s.State == AgentState.Running && s.RunId != changeBefore.RunId);
        Assert.NotEqual(changeBefore.Pid, changeAfter.Pid);
        await AwaitConditionAsync(async () => (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.All(a => a.Agent != "remove"), Wait);
        var keepAfter = await Status(layer, "keep");
        Assert.Equal(keepBefore.Pid, keepAfter.Pid);
        Assert.Equal(keepBefore.RunId, keepAfter.RunId);
    }

    [Fact]
    public async Task An_agent_whose_program_is_missing_is_unavailable_and_the_rest_runs()
    {
        var missing = new AgentSpec { Name = "ghost", Layer = LayerName.Safety, Cli = CliCatalog.Claude, Autostart = true };
        var layer = Layer(Specs.FastLayer(), missing, Specs.Agent("alive", "sleeper.sh"));

        var ghost = await Status(layer, "ghost");
        if (Executables.Find("claude") is null)
        {
            Assert.Equal(AgentState.Unavailable, ghost.State);
            Assert.Equal("npm install -g @anthropic-ai/claude-code", ghost.Install);
        }

        await AwaitStatus(layer, "alive", s => s.State == AgentState.Running);
    }

    [Fact]
    public async Task The_task_reaches_the_agent_in_DF_TASK_and_on_stdin()
    {
        var layer = Layer(Specs.FastLayer(), Specs.Agent("echo", "echo-task.sh") with { Autostart = false, Restart = RestartType.Transient });

        var started = await layer.Ask<CommandResult>(new StartAgent("echo", "fix the flaky test"), Wait);

        Assert.True(started.Ok);
        Assert.NotNull(started.RunId);
        await AwaitStatus(layer, "echo", s => s.State == AgentState.Completed);
        var log = File.ReadAllText(_daemon.Logs.PathOf("echo"));
        Assert.Contains("task: fix the flaky test", log);
        Assert.Contains("stdin: fix the flaky test", log);
    }

    [Fact]
    public async Task The_task_and_project_ids_of_a_start_reach_every_event_of_the_run_and_of_its_restart()
    {
        var lifecycle = CreateTestProbe();
        var output = CreateTestProbe();
        Sys.EventStream.Subscribe(lifecycle, typeof(AgentLifecycle));
        Sys.EventStream.Subscribe(output, typeof(AgentOutput));
        var layer = Layer(Specs.FastLayer(), Specs.Agent("worker", "exit.sh", "3") with { Autostart = false, Restart = RestartType.Transient });

        var started = await layer.Ask<CommandResult>(new StartAgent("worker", "fix it", TaskId: "task-42", ProjectId: "project-7"), Wait);

        Assert.Equal(CommandOutcome.Started, started.Outcome);
        var first = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Crashed, Wait);
        Assert.Equal(("task-42", "project-7"), (first.TaskId, first.ProjectId));
        var line = await output.FishForMessageAsync<AgentOutput>(o => o.Agent == "worker", Wait);
        Assert.Equal(("task-42", "project-7"), (line.TaskId, line.ProjectId));

        // the restart after the crash is a new run of the same task
        var again = await lifecycle.FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started && e.RunId != first.RunId, Wait);
        Assert.Equal(("task-42", "project-7"), (again.TaskId, again.ProjectId));
    }

    [Fact]
    public async Task Commands_answer_with_a_typed_outcome()
    {
        var layer = Layer(Specs.FastLayer(), Specs.Agent("sleepy", "sleeper.sh") with { Autostart = false });

        Assert.Equal(CommandOutcome.UnknownAgent, (await layer.Ask<CommandResult>(new StartAgent("nobody"), Wait)).Outcome);
        Assert.Equal(CommandOutcome.NotRunning, (await layer.Ask<CommandResult>(new StopAgent("sleepy"), Wait)).Outcome);
        Assert.Equal(CommandOutcome.Started, (await layer.Ask<CommandResult>(new StartAgent("sleepy"), Wait)).Outcome);
        var again = await layer.Ask<CommandResult>(new StartAgent("sleepy"), Wait);
        Assert.Equal((false, CommandOutcome.AlreadyRunning), (again.Ok, again.Outcome));
        Assert.Equal(CommandOutcome.Restarting, (await layer.Ask<CommandResult>(new RestartAgent("sleepy"), Wait)).Outcome);
        Assert.Equal(CommandOutcome.HintRecorded, (await layer.Ask<CommandResult>(new Messages.Nightwatch.AgentHint("sleepy", "go on"), Wait)).Outcome);
        await AwaitStatus(layer, "sleepy", s => s.State == AgentState.Running);
        Assert.Equal(CommandOutcome.Stopping, (await layer.Ask<CommandResult>(new StopAgent("sleepy"), Wait)).Outcome);
    }

    [Fact]
    public async Task Secrets_never_reach_the_log_file()
    {
        var environment = LayerServices.CurrentEnvironment().ToDictionary(kv => kv.Key, kv => kv.Value);
        environment["DF_TEST_SECRET"] = "sk-test-0123456789abcdef";
        var services = _daemon.Services(_sweeper, TestActor, environment);
        var spec = Specs.Agent("leaky", "env.sh") with
        {
            Restart = RestartType.Transient,
            Env = new Dictionary<string, EnvValue> { ["API_TOKEN"] = new() { FromEnv = "DF_TEST_SECRET" } },
        };
        var layer = Sys.ActorOf(LayerSupervisor.Props(Specs.FastLayer(), services));
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [spec], 1));

        await AwaitStatus(layer, "leaky", s => s.State == AgentState.Completed);
        var log = File.ReadAllText(_daemon.Logs.PathOf("leaky"));
        Assert.Contains("API_TOKEN=***", log);
        Assert.DoesNotContain("sk-test-0123456789abcdef", log);
    }

    [Fact]
    public async Task Every_line_of_a_flood_reaches_the_log_and_the_subscribers_in_order()
    {
        const int lines = 200_000;
        var counter = CreateTestProbe();
        var count = Sys.ActorOf(Props.Create(() => new LineCounter(counter.Ref, "flood", lines)));
        Sys.EventStream.Subscribe(count, typeof(AgentOutput));
        var layer = Layer(Specs.FastLayer(), Specs.Agent("flood", "flood.sh", lines.ToString()) with { Restart = RestartType.Transient });

        var total = await counter.ExpectMsgAsync<long>(TimeSpan.FromSeconds(60));
        Assert.Equal(lines, total);
        await AwaitStatus(layer, "flood", s => s.State == AgentState.Completed);
        var logLines = File.ReadLines(_daemon.Logs.PathOf("flood")).Count(l => !l.StartsWith("---", StringComparison.Ordinal));
        Assert.Equal(lines, logLines);
    }

    [Fact]
    public async Task A_flooding_agents_log_directory_never_exceeds_max_size_times_keep_plus_one()
    {
        const int lines = 100_000; // 8 MB through a 64 KiB log
        var retention = new LogRetention { MaxBytes = 64 * 1024, Keep = 2 };
        var counter = CreateTestProbe();
        var count = Sys.ActorOf(Props.Create(() => new LineCounter(counter.Ref, "flooded", lines)));
        Sys.EventStream.Subscribe(count, typeof(AgentOutput));
        long Held() => Directory.Exists(_daemon.Logs.Directory) ? new DirectoryInfo(_daemon.Logs.Directory).EnumerateFiles("flooded.log*").Sum(f => f.Exists ? f.Length : 0) : 0;
        using var done = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            long most = 0;
            while (!done.IsCancellationRequested)
            {
                most = Math.Max(most, Held());
                await Task.Delay(2);
            }

            return Math.Max(most, Held());
        });
        var layer = Layer(Specs.FastLayer(), Specs.Agent("flooded", "flood.sh", lines.ToString()) with { Restart = RestartType.Transient, Log = retention });

        Assert.Equal(lines, await counter.ExpectMsgAsync<long>(TimeSpan.FromSeconds(60)));
        await AwaitStatus(layer, "flooded", s => s.State == AgentState.Completed);
        await done.CancelAsync();
        var most = await sampler;

        var files = new DirectoryInfo(_daemon.Logs.Directory).GetFiles("flooded.log*");
        Assert.Equal(["flooded.log", "flooded.log.1", "flooded.log.2"], files.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(files, f => Assert.InRange(f.Length, 1, retention.MaxBytes));
        Assert.InRange(most, retention.MaxBytes + 1, 3 * retention.MaxBytes);
    }

    [Fact]
    public async Task A_flood_never_starves_another_agent_its_lines_keep_arriving_while_the_flood_runs()
    {
        const int lines = 2_000_000;
        var probe = CreateTestProbe();
        var recorder = Sys.ActorOf(Props.Create(() => new Interleaving(probe.Ref, "flood", "ticker", lines)));
        Sys.EventStream.Subscribe(recorder, typeof(AgentOutput));
        var layer = Layer(Specs.FastLayer(), Specs.Agent("ticker", "ticker.sh", "50"));
        await AwaitStatus(layer, "ticker", s => s.State == AgentState.Running);
        layer.Tell(new ReconcileLayer(Specs.FastLayer(), [Specs.Agent("ticker", "ticker.sh", "50"), Specs.Agent("flood", "flood.sh", lines.ToString()) with { Restart = RestartType.Transient }], 2), TestActor);

        // the flood's 2 M lines take a second or more; the ticker prints 50 a second meanwhile
        var during = await probe.ExpectMsgAsync<int>(TimeSpan.FromSeconds(120));
        Assert.True(during >= 3, $"only {during} batches of the ticker arrived while the flood ran");
        await AwaitStatus(layer, "flood", s => s.State == AgentState.Completed);
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Dispose();
        base.Dispose();
    }

    /// <summary>Counts the batches of <c>other</c> that arrive between the first and the last line of <c>flood</c>; tells the count when the flood is complete.</summary>
    private sealed class Interleaving : ReceiveActor
    {
        public Interleaving(IActorRef probe, string flood, string other, long expected)
        {
            long seen = 0;
            var during = 0;
            Receive<AgentOutput>(o =>
            {
                if (o.Agent == flood)
                {
                    seen += o.Lines.Count;
                    if (seen >= expected)
                    {
                        probe.Tell(during);
                    }
                }
                else if (o.Agent == other && seen > 0 && seen < expected)
                {
                    during++;
                }
            });
        }
    }
}
