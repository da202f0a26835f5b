using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Supervision;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Supervision;

/// <summary>
/// The layer's restart rules with fake runs (<see cref="FakeRuns"/>: no OS process) on virtual time: the
/// TestKit's <see cref="TestScheduler"/> drives the layer's timers and a <see cref="ManualClock"/> moves
/// with it. Runs end when the spec says; nothing waits for wall-clock time to pass.
/// </summary>
public sealed class LayerRulesSpec : VirtualTimeSpec, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TempDaemon _daemon = new();
    private readonly Dictionary<string, IActorRef> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IActorRef> _lifecycle = new(StringComparer.Ordinal);
    private readonly FakeRuns _fakes;

    public LayerRulesSpec(ITestOutputHelper output)
        : base(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero), """
            akka.loglevel = INFO
            """, output)
    {
        Sys.EventStream.Subscribe(Sys.ActorOf(Props.Create(() => new ByAgent(_lifecycle))), typeof(AgentLifecycle));
        _fakes = new FakeRuns(Clock) { Observer = Sys.ActorOf(Props.Create(() => new ByAgent(_runs))) };
    }

    /// <summary>One probe per agent for its runs and one for its lifecycle events (call before they happen).</summary>
    private void Watch(IEnumerable<string> agents)
    {
        foreach (var agent in agents)
        {
            _runs[agent] = CreateTestProbe("runs-" + agent);
            _lifecycle[agent] = CreateTestProbe("lifecycle-" + agent);
        }
    }

    private TestProbe RunsOf(string agent) => (TestProbe)_runs[agent];

    private TestProbe LifecycleOf(string agent) => (TestProbe)_lifecycle[agent];

    private LayerServices Services => _daemon.Services(ActorRefs.Nobody, ActorRefs.Nobody) with { Clock = Clock, RunProps = _fakes.Props };

    /// <summary>A layer with the given backoff (default: none) and generous limits.</summary>
    private static LayerSpec Rules(
        StrategyKind strategy = StrategyKind.OneForOne,
        int maxRestarts = 100,
        int quarantineAfter = 100,
        RestartType defaultRestart = RestartType.Permanent,
        BackoffSpec? backoff = null) => new()
        {
            Name = LayerName.Core,
            Strategy = strategy,
            MaxRestarts = maxRestarts,
            Within = TimeSpan.FromMinutes(1),
            QuarantineAfter = quarantineAfter,
            DefaultRestart = defaultRestart,
            Backoff = backoff ?? new BackoffSpec { Min = TimeSpan.Zero, Max = TimeSpan.Zero, Jitter = 0, ResetAfter = TimeSpan.FromMinutes(1) },
        };

    private static AgentSpec Agent(string name, RestartType? restart = null) => new()
    {
        Name = name,
        Layer = LayerName.Core,
        Command = ["/fake/" + name],
        Restart = restart,
        Autostart = true,
    };

    private IActorRef Layer(LayerSpec layer, params AgentSpec[] agents)
    {
        Watch(agents.Select(a => a.Name));
        var actor = Sys.ActorOf(LayerSupervisor.Props(layer, Services));
        actor.Tell(new ReconcileLayer(layer, agents, 1), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        return actor;
    }

    private async Task<FakeRunStarted> Started(string agent) => await RunsOf(agent).FishForMessageAsync<FakeRunStarted>(_ => true, Wait);

    private async Task<FakeRunEnded> Ended(string agent) => await RunsOf(agent).FishForMessageAsync<FakeRunEnded>(_ => true, Wait);

    private async Task<AgentLifecycle> Recorded(string agent, LifecycleKind kind) =>
        await LifecycleOf(agent).FishForMessageAsync<AgentLifecycle>(e => e.Kind == kind, Wait);

    private static async Task<AgentStatus> Status(IActorRef layer, string agent) =>
        (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.Single(a => a.Agent == agent);

    /// <summary>Crashes the agent's current run and waits until the layer has decided what follows.</summary>
    private async Task<AgentLifecycle> Crash(string agent, LifecycleKind then = LifecycleKind.Restarting)
    {
        _fakes.Exit(agent, 1);
        await Recorded(agent, LifecycleKind.Crashed);
        return await Recorded(agent, then);
    }

    [Fact]
    public async Task A_standby_due_while_a_run_of_the_layer_is_starting_is_made_once_that_start_is_over()
    {
        // issue 18: a cold start's last spawns go first, the first runs' standbys after them
        _fakes.HoldStarts("slow");
        Watch(["quick", "slow"]);
        var rules = Rules();
        var layer = Sys.ActorOf(LayerSupervisor.Props(rules, Services with { Standbys = true }));
        layer.Tell(new ReconcileLayer(rules, [Agent("quick"), Agent("slow")], 1), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        await Started("quick");

        Advance(AgentSpec.DefaultMinUptime); // quick's standby is due; slow is still starting
        await RunsOf("quick").ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        _fakes.Start("slow");
        await Started("slow");
        await RunsOf("quick").FishForMessageAsync<FakeStandbyMade>(_ => true, Wait);

        // the standby is the restart, as without the wait
        _fakes.Exit("quick", 1);
        await Recorded("quick", LifecycleKind.Crashed);
        var restarted = await Started("quick");
        Assert.True(restarted.Run.Standby);
    }

    [Theory]
    [InlineData(RestartType.Permanent, 0, true)]
    [InlineData(RestartType.Permanent, 1, true)]
    [InlineData(RestartType.Transient, 0, false)]
    [InlineData(RestartType.Transient, 1, true)]
    [InlineData(RestartType.Temporary, 0, false)]
    [InlineData(RestartType.Temporary, 1, false)]
    public async Task Restart_types_follow_OTP(RestartType type, int exit, bool restarted)
    {
        var layer = Layer(Rules(), Agent("worker", type));
        var first = await Started("worker");

        _fakes.Exit("worker", exit);

        await Recorded("worker", exit == 0 ? LifecycleKind.Exited : LifecycleKind.Crashed);
        if (restarted)
        {
            Assert.NotEqual(first.RunId, (await Started("worker")).RunId);
            Assert.Equal(1, (await Status(layer, "worker")).Restarts);
        }
        else
        {
            var status = await Status(layer, "worker");
            Assert.Equal(exit == 0 ? AgentState.Completed : AgentState.Stopped, status.State);
            Assert.Equal(first.RunId, status.RunId);
        }
    }

    [Fact]
    public async Task Crashes_in_a_row_back_off_exponentially_up_to_the_cap_and_a_stable_run_starts_the_ladder_again()
    {
        var backoff = new BackoffSpec { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(8), Jitter = 0, ResetAfter = TimeSpan.FromMinutes(1) };
        var layer = Layer(Rules(backoff: backoff), Agent("flaky"));
        await Started("flaky");

        foreach (var seconds in new[] { 1, 2, 4, 8, 8 })
        {
            var restarting = await Crash("flaky");
            Assert.EndsWith($"restarting in {seconds * 1000} ms", restarting.Detail);
            var waiting = await Status(layer, "flaky");
            Assert.Equal(AgentState.Backoff, waiting.State);
            Assert.Equal(Clock.GetUtcNow().AddSeconds(seconds), waiting.NextRestartAt);

            // not a tick early
            Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
            Assert.Equal(AgentState.Backoff, (await Status(layer, "flaky")).State);
            Advance(TimeSpan.FromMilliseconds(1));
            await Started("flaky");
        }

        // a run that stayed up min_uptime: its crash is restarted at once, and the next quick crash is the first of a new series
        Advance(AgentSpec.DefaultMinUptime);
        Assert.Contains("restarted at once", (await Crash("flaky")).Detail);
        await Started("flaky");
        Assert.EndsWith("restarting in 1000 ms", (await Crash("flaky")).Detail);
    }

    [Fact]
    public async Task A_run_that_crashes_after_min_uptime_is_restarted_at_once_every_time_and_never_quarantined_or_escalated()
    {
        // the shipped supervision: backoff 1 s doubling, quarantine after 5, at most 10 restarts a minute
        var layer = Layer(LayerSpec.Default(LayerName.Core) with { DefaultRestart = RestartType.Permanent }, Agent("sleeper"));
        var run = await Started("sleeper");
        for (var i = 0; i < 30; i++)
        {
            Advance(TimeSpan.FromSeconds(2)); // `sleep 2; exit 1`
            var restarting = await Crash("sleeper");
            Assert.Contains("restarted at once", restarting.Detail);
            var next = await Started("sleeper"); // no time passes: no backoff timer
            Assert.NotEqual(run.RunId, next.RunId);
            run = next;
        }

        var status = await Status(layer, "sleeper");
        Assert.Equal((AgentState.Running, 30), (status.State, status.Restarts));

        // and a quick crash after all that is the first rung of the ladder
        Assert.StartsWith("crashed; restarting in 1", (await Crash("sleeper")).Detail);
        Assert.Equal(AgentState.Backoff, (await Status(layer, "sleeper")).State);
    }

    [Fact]
    public async Task A_run_actor_that_fails_is_decided_when_it_is_gone()
    {
        // a crash reported by a failure of the run's actor (not by RunEnded): the older path still decides it
        var throwing = new FakeRuns(Clock) { CrashByException = true, Observer = _fakes.Observer };
        Watch(["thrower"]);
        var layer = Sys.ActorOf(LayerSupervisor.Props(Rules(), Services with { RunProps = throwing.Props }));
        layer.Tell(new ReconcileLayer(Rules(), [Agent("thrower")], 1), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        var first = await Started("thrower");

        throwing.Exit("thrower", 3);

        var crashed = await Recorded("thrower", LifecycleKind.Crashed);
        Assert.Equal(3, crashed.ExitCode);
        Assert.NotEqual(first.RunId, (await Started("thrower")).RunId);
    }

    [Fact]
    public async Task A_crash_loop_is_quarantined_start_is_refused_and_restart_releases_it()
    {
        var layer = Layer(Rules(quarantineAfter: 3), Agent("flaky"));
        await Started("flaky");
        await Crash("flaky");
        await Started("flaky");
        await Crash("flaky");
        await Started("flaky");

        var quarantined = await Crash("flaky", LifecycleKind.Quarantined);

        Assert.Contains("crash loop: 3 crashes in a row", quarantined.Detail);
        Assert.Equal(AgentState.Quarantined, (await Status(layer, "flaky")).State);
        var refused = await layer.Ask<CommandResult>(new StartAgent("flaky"), Wait);
        Assert.Equal((false, CommandOutcome.Quarantined), (refused.Ok, refused.Outcome));

        var released = await layer.Ask<CommandResult>(new RestartAgent("flaky", Requester.Operator), Wait);
        Assert.Equal(CommandOutcome.Started, released.Outcome);
        await Recorded("flaky", LifecycleKind.Released);
        Assert.Equal(released.RunId, (await Started("flaky")).RunId);
    }

    [Fact]
    public async Task Exceeding_the_restart_intensity_escalates_to_the_parent()
    {
        var escalations = CreateTestProbe();
        var rules = Rules(maxRestarts: 2);
        Watch(["crasher"]);
        var parent = Sys.ActorOf(Props.Create(() => new EscalationParent(LayerSupervisor.Props(rules, Services), escalations.Ref)));
        parent.Tell(new ReconcileLayer(rules, [Agent("crasher")], 1));
        await Started("crasher");
        await Crash("crasher");
        await Started("crasher");
        await Crash("crasher");
        await Started("crasher");

        await Crash("crasher", LifecycleKind.Escalated);

        var failure = await escalations.ExpectMsgAsync<LayerIntensityExceededException>(Wait);
        Assert.Equal(LayerName.Core, failure.Layer);
        Assert.Contains("more than 2 restarts within", failure.Message);
    }

    [Fact]
    public async Task One_for_all_stops_and_restarts_the_siblings_of_a_crashed_agent()
    {
        var layer = Layer(Rules(StrategyKind.OneForAll), Agent("a"), Agent("b"), Agent("c"));
        var b = await Started("b");
        await Started("a");
        await Started("c");

        _fakes.Exit("a", 1);

        foreach (var sibling in new[] { "b", "c" })
        {
            Assert.Equal("one-for-all: a crashed", (await Ended(sibling)).StopReason);
        }

        Assert.NotEqual(b.RunId, (await Started("b")).RunId);
        var all = (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents;
        Assert.All(all, s => Assert.Equal(1, s.Restarts));
        Assert.Equal(["a", "b", "c"], all.Select(s => s.Agent));
    }

    [Fact]
    public async Task A_stop_during_the_backoff_keeps_the_agent_stopped()
    {
        var layer = Layer(Rules(backoff: new BackoffSpec { Min = TimeSpan.FromSeconds(10), Max = TimeSpan.FromSeconds(10), Jitter = 0 }), Agent("flaky"));
        var run = await Started("flaky");
        await Crash("flaky");

        var stopped = await layer.Ask<CommandResult>(new StopAgent("flaky", Requester.Operator), Wait);

        Assert.Equal((true, CommandOutcome.NotRunning), (stopped.Ok, stopped.Outcome));
        Assert.Equal("stopped by operator", (await Recorded("flaky", LifecycleKind.Stopped)).Detail);
        Advance(TimeSpan.FromSeconds(30));
        var status = await Status(layer, "flaky");
        Assert.Equal((AgentState.Stopped, run.RunId), (status.State, status.RunId));
        Assert.Null(status.NextRestartAt);
    }

    [Fact]
    public async Task An_agent_a_pause_still_holds_is_not_autostarted_and_one_whose_pause_ended_is()
    {
        Watch(["paused", "resumed"]);
        var layer = Sys.ActorOf(LayerSupervisor.Props(Rules(), Services));
        var now = Clock.GetUtcNow();
        layer.Tell(new ReconcileLayer(Rules(), [Agent("paused"), Agent("resumed")], 1) { Held = new Dictionary<string, DateTimeOffset> { ["paused"] = now.AddMinutes(3), ["resumed"] = now.AddSeconds(-1) } }, TestActor);

        var reconciled = ExpectMsg<LayerReconciled>(Wait);
        Assert.Equal(["resumed"], reconciled.Started);
        await Started("resumed");
        Assert.NotEqual(AgentState.Running, (await Status(layer, "paused")).State);

        // Nightwatch starts it when the pause ends: an ordinary start
        Assert.True((await layer.Ask<CommandResult>(new StartAgent("paused"), Wait)).Ok);
        await Started("paused");
    }

    [Fact]
    public async Task A_changed_launch_field_restarts_the_run_with_the_new_declaration()
    {
        var worker = Agent("worker");
        var layer = Layer(Rules(), worker);
        var before = await Started("worker");

        layer.Tell(new ReconcileLayer(Rules(), [worker with { Env = new Dictionary<string, EnvValue> { ["MODE"] = EnvValue.Literal("new") } }], 2), TestActor);

        var reconciled = ExpectMsg<LayerReconciled>(Wait);
        Assert.Equal(["worker"], reconciled.Restarted);
        Assert.Equal("its declaration changed", (await Ended("worker")).StopReason);
        var after = await Started("worker");
        Assert.NotEqual(before.RunId, after.RunId);
        Assert.Equal("new", after.Run.Plan.Environment["MODE"]);
        Assert.Equal(0, (await Status(layer, "worker")).Restarts);
    }

    [Fact]
    public async Task Editing_schedule_budget_capabilities_or_restart_type_keeps_the_run_and_the_layer_takes_the_new_values()
    {
        var worker = Agent("worker", RestartType.Permanent);
        var layer = Layer(Rules(), worker);
        var run = await Started("worker");
        var edited = worker with
        {
            Schedule = "*/5 * * * *",
            Budget = new AgentBudget { PerDay = 5m },
            Capabilities = ["review"],
            Restart = RestartType.Temporary,
        };

        layer.Tell(new ReconcileLayer(Rules(), [edited], 2), TestActor);

        var reconciled = ExpectMsg<LayerReconciled>(Wait);
        Assert.Equal(["worker"], reconciled.Updated);
        Assert.Empty(reconciled.Restarted);
        Assert.Equal(run.RunId, (await Status(layer, "worker")).RunId);

        // the new restart type is the one that counts when the run ends
        _fakes.Exit("worker", 0);
        await Recorded("worker", LifecycleKind.Exited);
        var status = await Status(layer, "worker");
        Assert.Equal((AgentState.Completed, run.RunId), (status.State, status.RunId));
    }

    [Fact]
    public async Task An_operator_stop_while_a_changed_declaration_waits_takes_the_declaration_without_starting_it()
    {
        var worker = Agent("worker");
        var layer = Layer(Rules(), worker);
        await Started("worker");
        _fakes.HoldStops("worker");
        var changed = worker with { Command = ["/fake/worker", "--v2"] };

        layer.Tell(new ReconcileLayer(Rules(), [changed], 2), TestActor);
        ExpectMsg<LayerReconciled>(Wait);
        Assert.Equal(CommandOutcome.Stopping, (await layer.Ask<CommandResult>(new StopAgent("worker", Requester.Operator), Wait)).Outcome);
        _fakes.Exit("worker", 143);

        Assert.Equal("its declaration changed", (await Ended("worker")).StopReason);
        Assert.Equal("stopped by operator", (await Recorded("worker", LifecycleKind.Stopped)).Detail);
        Assert.Equal(AgentState.Stopped, (await Status(layer, "worker")).State);

        // the next start runs the new declaration
        await layer.Ask<CommandResult>(new StartAgent("worker"), Wait);
        Assert.Equal("--v2", (await Started("worker")).Run.Plan.Arguments[^1]);
    }

    [Fact]
    public async Task Removing_an_agent_stops_its_run_and_forgets_it_and_a_drain_answers_when_no_run_is_left()
    {
        var layer = Layer(Rules(), Agent("a"), Agent("b"));
        await Started("a");
        await Started("b");

        layer.Tell(new ReconcileLayer(Rules(), [Agent("b")], 2), TestActor);

        Assert.Equal(["a"], ExpectMsg<LayerReconciled>(Wait).Stopped);
        Assert.Equal("removed from the fleet", (await Ended("a")).StopReason);
        await AwaitConditionAsync(async () => (await layer.Ask<AgentsSnapshot>(GetAgents.Instance, Wait)).Agents.All(s => s.Agent != "a"), Wait);

        layer.Tell(DrainLayer.Instance, TestActor);
        Assert.Equal("daemon shutting down", (await Ended("b")).StopReason);
        ExpectMsg<LayerDrained>(Wait);
        Assert.Equal(AgentState.Stopped, (await Status(layer, "b")).State);
    }

    [Fact]
    public async Task An_operator_restart_starts_the_same_task_again_with_its_ids()
    {
        var layer = Layer(Rules(), Agent("worker") with { Autostart = false });
        var started = await layer.Ask<CommandResult>(new StartAgent("worker", "fix it", TaskId: "t-1", ProjectId: "p-1"), Wait);
        var first = await Started("worker");
        Assert.Equal(started.RunId, first.RunId);

        var restarting = await layer.Ask<CommandResult>(new RestartAgent("worker", Requester.Operator), Wait);

        Assert.Equal(CommandOutcome.Restarting, restarting.Outcome);
        Assert.Equal("restarted by operator", (await Ended("worker")).StopReason);
        var second = await Started("worker");
        Assert.Equal(("fix it", "t-1", "p-1"), (second.Run.Plan.Stdin, second.Run.TaskId, second.Run.ProjectId));
        var recorded = await LifecycleOf("worker").FishForMessageAsync<AgentLifecycle>(e => e.Kind == LifecycleKind.Started && e.RunId == second.RunId, Wait);
        Assert.Equal(("t-1", "p-1"), (recorded.TaskId, recorded.ProjectId));
    }

    public new void Dispose()
    {
        Shutdown(verifySystemShutdown: false);
        _daemon.Dispose();
        base.Dispose();
    }
}
