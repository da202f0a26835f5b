using System.Diagnostics;
using DarkFactory.Actors.Topics;

namespace DarkFactory.Host.Scenarios;

/// <summary>What a scenario run produced: the timeline, each expectation's verdict, and what it cost.</summary>
public sealed record ScenarioOutcome(
    Scenario Scenario,
    IReadOnlyList<TimelineEntry> Timeline,
    IReadOnlyList<ExpectationResult> Results,
    TimeSpan Wall,
    long TimersFired)
{
    /// <summary>What held all along, whatever the expectations say (<see cref="Scenarios.Invariants"/>).</summary>
    public IReadOnlyList<InvariantResult> Invariants { get; init; } = [];

    public bool Passed => Results.All(r => r.Passed) && Invariants.All(i => i.Held);
}

/// <summary>
/// Runs a scenario in a <see cref="ScenarioSandbox"/>: applies its fleet, then, whenever every actor is idle,
/// moves virtual time to the next due timer or step (Temporal-style auto-skip), injects each step at its time,
/// until the scenario's end; then checks the expectations on the timeline. <c>df scenario run</c> and the CI test
/// of the library both run through here.
/// </summary>
public static class ScenarioRunner
{
    /// <summary>How long the actors must stay quiet before time moves (covers a journal write in flight).</summary>
    public static TimeSpan Settle { get; set; } = TimeSpan.Zero;

    /// <param name="fixedStep">
    /// Move virtual time in steps of this size instead of jumping to the next due timer: what a plain TestKit loop
    /// does (advance the test scheduler by a tick, wait for quiet, repeat). The same outcome, slower; for comparison
    /// (<c>df scenario run --step</c>, bench/scenario). Null: jump.
    /// </param>
    public static async Task<ScenarioOutcome> RunAsync(Scenario scenario, TimeSpan? fixedStep = null)
    {
        if (scenario.RealTime)
        {
            return await RunRealAsync(scenario);
        }

        var wall = Stopwatch.StartNew();
        using var time = new VirtualTime(scenario.Start);
        var cluster = VirtualCluster.For(scenario.Fleet); // null: a single node, as the daemon without --node
        var timeline = new Timeline(scenario.Start, () => time.Now, cluster is null ? null : cluster.NodeOf);
        var runs = new ScriptedRuns(scenario, time.Clock);
        var repository = ScenarioSandbox.NewRepository(scenario);
        var fleet = scenario.Fleet; // the fleet the daemon runs: a reload changes it, a restarted daemon comes back with it
        var sandbox = await StartSandboxAsync(scenario, fleet, time, runs, repository, timeline, cluster);
        IReadOnlyList<JournalWrite> writes;
        try
        {
            var end = scenario.Start + scenario.Until;
            var steps = new List<ScenarioStep>(scenario.Steps); // in time order; the runner adds a journal's recovery
            while (true)
            {
                var nextStep = steps.Count > 0 ? scenario.Start + steps[0].At : (DateTimeOffset?)null;
                var nextTimer = time.NextDue();
                if (nextStep is { } at && at <= end && (nextTimer is null || at <= nextTimer))
                {
                    time.AdvanceTo(at, Settle);
                    var step = steps[0];
                    steps.RemoveAt(0);
                    if (step.Kind == StepKind.DaemonRestart)
                    {
                        sandbox = await RestartDaemonAsync(step, sandbox, scenario, fleet, runs, timeline, end, cluster);
                        continue;
                    }

                    if (step.Kind is StepKind.LoseNode or StepKind.RestoreNode or StepKind.NodeUnreachable or StepKind.NodeRemoved)
                    {
                        NodeStep(step, sandbox, cluster!, runs, steps, timeline, scenario.ClusterTiming);
                        time.WaitIdle(Settle);
                        continue;
                    }

                    if (step.Kind is StepKind.JournalFailure or StepKind.JournalRecovered)
                    {
                        Journal(step, time.Id, steps, timeline);
                        time.WaitIdle(Settle);
                        continue;
                    }

                    if (step.Kind == StepKind.Reload)
                    {
                        fleet = Reload(step, fleet, sandbox, timeline, cluster);
                        time.WaitIdle(Settle);
                        continue;
                    }

                    Inject(step, sandbox, timeline);
                    time.WaitIdle(Settle);
                    continue;
                }

                if (fixedStep is { } tick && time.Now < end)
                {
                    // a tick at a time, never past the next step (the loop above injects it at its time)
                    var to = time.Now + tick;
                    to = nextStep is { } s && s < to ? s : to;
                    time.AdvanceTo(to < end ? to : end, Settle);
                    continue;
                }

                if (nextTimer is { } due && due <= end)
                {
                    time.AdvanceTo(due, Settle);
                    continue;
                }

                time.AdvanceTo(end, Settle);
                break;
            }

            time.WaitIdle(Settle);
        }
        finally
        {
            await sandbox.DisposeAsync();
            writes = ScenarioJournal.WritesOf(time.Id);
            ScenarioJournal.Forget(time.Id);
            ScenarioSnapshotStore.Forget(time.Id);
        }

        return Outcome(scenario, timeline, writes, wall.Elapsed, time.Fired);
    }

    private static ScenarioOutcome Outcome(Scenario scenario, Timeline timeline, IReadOnlyList<JournalWrite> writes, TimeSpan wall, long timers)
    {
        var entries = timeline.Entries();
        var results = scenario.Expectations.Select(e => ExpectationCheck.Check(e, entries, scenario.Until)).ToList();
        return new ScenarioOutcome(scenario, entries, results, wall, timers) { Invariants = Invariants.Check(entries, writes, scenario.Fleet) };
    }

    /// <summary>
    /// <c>time: real</c>: the fleet's real commands as OS processes, on the wall clock, from now for <c>until</c>. Steps are
    /// injected when their time comes (a crash is a SIGKILL to the run's process group); a daemon restart really waits
    /// its down time. Nothing is skipped, so keep such scenarios short (the loader allows an hour at most).
    /// </summary>
    private static async Task<ScenarioOutcome> RunRealAsync(Scenario scenario)
    {
        var wall = Stopwatch.StartNew();
        var clock = TimeProvider.System;
        var store = "real-" + Guid.NewGuid().ToString("N");
        var fleet = scenario.Fleet;

        // time zero is when the sandbox is up and takes the fleet: its start-up (seconds on a loaded machine) is not the scenario's
        var repository = ScenarioSandbox.NewRepository(scenario);
        var first = await ScenarioSandbox.StartRealAsync(scenario, store, repository);
        var start = clock.GetUtcNow();
        var timeline = new Timeline(start, clock.GetUtcNow);
        var sandbox = Attach(first, fleet, timeline);
        IReadOnlyList<JournalWrite> writes;
        try
        {
            var steps = new List<ScenarioStep>(scenario.Steps);
            while (steps.Count > 0 && steps[0].At <= scenario.Until)
            {
                var step = steps[0];
                steps.RemoveAt(0);
                await DelayUntil(clock, start + step.At);
                switch (step.Kind)
                {
                    case StepKind.DaemonRestart:
                        timeline.Injected(step);
                        await sandbox.DisposeAsync();
                        await DelayUntil(clock, Min(clock.GetUtcNow() + step.Down, start + scenario.Until));
                        sandbox = Attach(await ScenarioSandbox.StartRealAsync(scenario, store, repository), fleet, timeline);
                        break;
                    case StepKind.JournalFailure or StepKind.JournalRecovered:
                        Journal(step, store, steps, timeline);
                        break;
                    case StepKind.Reload:
                        fleet = Reload(step, fleet, sandbox, timeline);
                        break;
                    case StepKind.Crash:
                        timeline.Injected(step);
                        await KillRunAsync(sandbox, step.Agent!);
                        break;
                    default:
                        Inject(step, sandbox, timeline);
                        break;
                }
            }

            await DelayUntil(clock, start + scenario.Until);
        }
        finally
        {
            await sandbox.DisposeAsync();
            writes = ScenarioJournal.WritesOf(store);
            ScenarioJournal.Forget(store);
            ScenarioSnapshotStore.Forget(store);
        }

        return Outcome(scenario, timeline, writes, wall.Elapsed, 0);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static async Task DelayUntil(TimeProvider clock, DateTimeOffset at)
    {
        var wait = at - clock.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, clock);
        }
    }

    /// <summary>A real run "crashes": SIGKILL to its process group (the agent's pid as the fleet reports it); nothing when it does not run.</summary>
    private static async Task KillRunAsync(ScenarioSandbox sandbox, string agent)
    {
        var snapshot = await sandbox.Gateway.Ask<AgentsSnapshot>(GetAgents.Instance, TimeSpan.FromSeconds(10));
        if (snapshot.Agents.FirstOrDefault(a => a.Agent == agent) is { Pid: { } pid } && pid > 0)
        {
            DarkFactory.Actors.Processes.Native.KillGroup(pid, DarkFactory.Actors.Processes.Native.SIGKILL);
        }
    }

    /// <summary>A real-time sandbox that is up: its events tapped into the timeline, the fleet applied.</summary>
    private static ScenarioSandbox Attach(ScenarioSandbox sandbox, FleetSpec fleet, Timeline timeline)
    {
        var tap = sandbox.System.ActorOf(Props.Create(() => new TimelineTap(timeline)), "scenario-timeline");
        sandbox.Topics.Subscribe(tap, typeof(IDarkFactoryMessage));
        sandbox.Tap = tap;
        sandbox.Gateway.Tell(new ApplyFleet(fleet), tap);
        return sandbox;
    }

    /// <summary>The journal goes down (and the runner puts its recovery among the steps) or comes back.</summary>
    private static void Journal(ScenarioStep step, string store, List<ScenarioStep> steps, Timeline timeline)
    {
        timeline.Injected(step);
        ScenarioJournal.SetDown(store, step.Kind == StepKind.JournalFailure);
        if (step.Kind == StepKind.JournalFailure)
        {
            var back = step with { At = step.At + step.Down, Kind = StepKind.JournalRecovered };
            var after = steps.FindIndex(x => x.At > back.At);
            steps.Insert(after < 0 ? steps.Count : after, back);
        }
    }

    /// <summary>A sandbox on the scenario's time and journal, its events tapped into the timeline, the fleet applied.</summary>
    private static async Task<ScenarioSandbox> StartSandboxAsync(Scenario scenario, FleetSpec fleet, VirtualTime time, ScriptedRuns runs, SandboxRepository repository, Timeline timeline, VirtualCluster? cluster)
    {
        var sandbox = await ScenarioSandbox.StartAsync(scenario, time, runs, repository);
        var tap = sandbox.System.ActorOf(Props.Create(() => new TimelineTap(timeline)), "scenario-timeline");
        sandbox.Topics.Subscribe(tap, typeof(IDarkFactoryMessage));
        sandbox.Tap = tap;
        time.WaitIdle(Settle);
        Apply(fleet, sandbox, timeline, cluster);
        time.WaitIdle(Settle);
        return sandbox;
    }

    /// <summary>
    /// Applies <paramref name="fleet"/>: all of it on a single node; in a clustered scenario it is placed first
    /// (<see cref="VirtualCluster.Replan"/>, each changed place on the timeline) and the sandbox runs the agents of the
    /// nodes whose daemon is up — each node's part, as <c>ClusterMembership.Place</c> gives a node its part — while the
    /// scheduler, one per cluster, has the whole fleet (a firing of an agent placed nowhere is refused, as there).
    /// </summary>
    private static void Apply(FleetSpec fleet, ScenarioSandbox sandbox, Timeline timeline, VirtualCluster? cluster)
    {
        if (cluster is null)
        {
            sandbox.Gateway.Tell(new ApplyFleet(fleet), sandbox.Tap);
            return;
        }

        cluster.Fleet = fleet;
        foreach (var placed in cluster.Replan(sandbox.Clock.GetUtcNow()))
        {
            timeline.Observed(placed);
        }

        var running = cluster.Running();
        sandbox.Gateway.Tell(new ApplyFleet(running), sandbox.Tap);
        if (running.Agents.Count != fleet.Agents.Count && sandbox.Scheduler is { } scheduler)
        {
            sandbox.Time?.WaitIdle(Settle); // after the gateway's part reached the scheduler, never before it
            scheduler.Tell(new ApplyFleet(fleet));
        }
    }

    /// <summary>
    /// A virtual node's step: lost (its runs killed at once, as its lifeline does; its unreachability and its removal put
    /// among the steps after the cluster's <see cref="ClusterTiming"/>), unreachable, removed (its agents follow their
    /// failover), or restored (a new incarnation joins; one not yet removed is removed first, as Akka removes the old
    /// incarnation of a node that joins again). Each status on the timeline as <see cref="NodeStatusChanged"/>.
    /// </summary>
    private static void NodeStep(ScenarioStep step, ScenarioSandbox sandbox, VirtualCluster cluster, ScriptedRuns runs, List<ScenarioStep> steps, Timeline timeline, ClusterTiming timing)
    {
        var node = step.Node!;
        var now = sandbox.Clock.GetUtcNow();
        void Status(VirtualNodeStatus status)
        {
            timeline.Observed(cluster.Set(node, status, now));
            Apply(cluster.Fleet, sandbox, timeline, cluster);
        }

        switch (step.Kind)
        {
            case StepKind.LoseNode:
                timeline.Injected(step);
                runs.NodeLost(cluster.Placement.On(node));
                Status(VirtualNodeStatus.Lost);
                After(steps, step with { At = step.At + timing.Detection, Kind = StepKind.NodeUnreachable });
                After(steps, step with { At = step.At + timing.Detection + timing.StableAfter, Kind = StepKind.NodeRemoved });
                break;
            case StepKind.NodeUnreachable:
                Status(VirtualNodeStatus.Unreachable);
                break;
            case StepKind.NodeRemoved:
                Status(VirtualNodeStatus.Removed);
                break;
            case StepKind.RestoreNode:
                timeline.Injected(step);
                steps.RemoveAll(s => s.Node == node && s.Kind is StepKind.NodeUnreachable or StepKind.NodeRemoved);
                if (cluster.StatusOf(node) is VirtualNodeStatus.Lost or VirtualNodeStatus.Unreachable)
                {
                    Status(VirtualNodeStatus.Removed);
                }

                Status(VirtualNodeStatus.Up);
                break;
        }
    }

    /// <summary>Puts a step the runner adds among the steps, after those due at the same time.</summary>
    private static void After(List<ScenarioStep> steps, ScenarioStep step)
    {
        var after = steps.FindIndex(x => x.At > step.At);
        steps.Insert(after < 0 ? steps.Count : after, step);
    }

    /// <summary>
    /// The daemon dies with its host: its actor system is gone at once (no drain: runs die with it, nothing more is
    /// written), its timers with it; the clock moves on by the step's down time (bounded by the scenario's end);
    /// a new daemon starts on the same journal and applies the same fleet.
    /// </summary>
    private static async Task<ScenarioSandbox> RestartDaemonAsync(ScenarioStep step, ScenarioSandbox sandbox, Scenario scenario, FleetSpec fleet, ScriptedRuns runs, Timeline timeline, DateTimeOffset end, VirtualCluster? cluster)
    {
        var time = sandbox.Time!;
        timeline.Injected(step);
        await sandbox.DisposeAsync();
        runs.HostDown();
        time.DropTimers();
        var back = time.Now + step.Down;
        time.AdvanceTo(back < end ? back : end, Settle);
        return await StartSandboxAsync(scenario, fleet, time, runs, sandbox.Repository, timeline, cluster);
    }

    /// <summary>
    /// SIGHUP with the step's fleet file: refused as the daemon refuses it (<see cref="ReloadGuard.Refusal"/>: invalid,
    /// or it would stop every agent or every safety agent) with a <see cref="FleetReloadRefused"/> on the event stream,
    /// else applied. Answers the fleet the daemon runs afterwards.
    /// </summary>
    private static FleetSpec Reload(ScenarioStep step, FleetSpec running, ScenarioSandbox sandbox, Timeline timeline, VirtualCluster? cluster = null)
    {
        timeline.Injected(step);
        if (ReloadGuard.Refusal(running, step.Reload!, step.AllowEmpty, step.FleetSource ?? "", sandbox.Clock.GetUtcNow()) is { } refused)
        {
            sandbox.Topics.Publish(refused);
            return running;
        }

        var next = step.Reload!.Fleet!;
        Apply(next, sandbox, timeline, cluster);
        return next;
    }

    private static void Inject(ScenarioStep step, ScenarioSandbox sandbox, Timeline timeline)
    {
        var tap = sandbox.Tap;
        var now = sandbox.Clock.GetUtcNow();
        timeline.Injected(step);
        switch (step.Kind)
        {
            case StepKind.Crash:
                sandbox.Runs?.Live(step.Agent!)?.Tell(new ScriptedRun.End(step.ExitCode));
                break;
            case StepKind.Exit:
                sandbox.Runs?.Live(step.Agent!)?.Tell(new ScriptedRun.End(0));
                break;
            case StepKind.ProviderLimited:
                sandbox.Topics.Publish(new ProviderLimited(step.Provider, step.Agent ?? "scenario", null, now, step.Until, "429 rate limited (injected)", LimitSource.Structured));
                break;
            case StepKind.Usage:
                sandbox.Topics.Publish(new AgentUsage(step.Agent ?? "scenario", "injected", step.Provider, null, step.InputTokens, step.OutputTokens, now, 0, step.CostUsd));
                break;
            case StepKind.Run:
                sandbox.Gateway.Tell(new StartAgent(step.Agent!, step.Task, By: Requester.Operator), tap);
                break;
            case StepKind.Stop:
                sandbox.Gateway.Tell(new StopAgent(step.Agent!, Requester.Operator), tap);
                break;
            case StepKind.Restart:
                sandbox.Gateway.Tell(new RestartAgent(step.Agent!, Requester.Operator), tap);
                break;
            case StepKind.InitProject:
                sandbox.Gateway.Tell(new InitProject(step.Project!, step.Description ?? "", step.Personas, step.Repo!, step.BaseBranch ?? "main", step.MaxRuntime, step.CreatePr), tap);
                break;
            case StepKind.StartProject:
                sandbox.Gateway.Tell(new StartProject(step.Project!), tap);
                break;
            case StepKind.PauseProject:
                sandbox.Gateway.Tell(new PauseProject(step.Project!), tap);
                break;
            case StepKind.ResumeProject:
                sandbox.Gateway.Tell(new ResumeProject(step.Project!, step.Extend), tap);
                break;
        }
    }

    /// <summary>The timeline as it is written: injected steps by the runner, observed events by the tap, each at the virtual time it happened.</summary>
    /// <param name="nodeOf">In a clustered scenario: the node an agent is placed on, stamped on its events.</param>
    private sealed class Timeline(DateTimeOffset start, Func<DateTimeOffset> clock, Func<string, string?>? nodeOf = null)
    {
        private readonly List<TimelineEntry> _entries = [];

        public void Observed(object message)
        {
            var entry = nodeOf is null
                ? ScenarioEvents.Entry(message, clock(), start, EntrySource.Observed)
                : ScenarioEvents.Entry(message, clock(), start, EntrySource.Observed, nodeOf);
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        public void Injected(ScenarioStep step)
        {
            var name = ScenarioEvents.Injected.Name(step.Kind);
            var now = clock();
            var entry = new TimelineEntry(now, now - start, EntrySource.Injected, name, name, JsonSerializer.SerializeToElement(step, DarkFactoryJson.Options));
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        public IReadOnlyList<TimelineEntry> Entries()
        {
            lock (_entries)
            {
                return _entries.ToList();
            }
        }
    }

    /// <summary>Writes every published event, and the replies to the injected commands, into the timeline.</summary>
    private sealed class TimelineTap : ReceiveActor
    {
        public TimelineTap(Timeline timeline) => Receive<IDarkFactoryMessage>(timeline.Observed);

        protected override void PostStop() => FleetTopics.For(Context.System).Unsubscribe(Self);
    }
}
