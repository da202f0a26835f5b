using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using DarkFactory.Actors.Topics;
using DarkFactory.Host.Daemon;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;

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

    public static async Task<ScenarioOutcome> RunAsync(Scenario scenario)
    {
        var wall = Stopwatch.StartNew();
        using var time = new VirtualTime(scenario.Start);
        var timeline = new Timeline(scenario.Start, time);
        var runs = new ScriptedRuns(scenario, time.Clock);
        var fleet = scenario.Fleet; // the fleet the daemon runs: a reload changes it, a restarted daemon comes back with it
        var sandbox = await StartSandboxAsync(scenario, fleet, time, runs, timeline);
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
                        sandbox = await RestartDaemonAsync(step, sandbox, scenario, fleet, runs, timeline, end);
                        continue;
                    }

                    if (step.Kind is StepKind.JournalFailure or StepKind.JournalRecovered)
                    {
                        timeline.Injected(step);
                        ScenarioJournal.SetDown(time.Id, step.Kind == StepKind.JournalFailure);
                        if (step.Kind == StepKind.JournalFailure)
                        {
                            var back = step with { At = step.At + step.Down, Kind = StepKind.JournalRecovered };
                            var after = steps.FindIndex(x => x.At > back.At);
                            steps.Insert(after < 0 ? steps.Count : after, back);
                        }

                        time.WaitIdle(Settle);
                        continue;
                    }

                    if (step.Kind == StepKind.Reload)
                    {
                        fleet = Reload(step, fleet, sandbox, timeline);
                        time.WaitIdle(Settle);
                        continue;
                    }

                    Inject(step, sandbox, timeline);
                    time.WaitIdle(Settle);
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

        var entries = timeline.Entries();
        var results = scenario.Expectations.Select(e => ExpectationCheck.Check(e, entries, scenario.Until)).ToList();
        return new ScenarioOutcome(scenario, entries, results, wall.Elapsed, time.Fired) { Invariants = Invariants.Check(entries, writes, scenario.Fleet) };
    }

    /// <summary>A sandbox on the scenario's time and journal, its events tapped into the timeline, the fleet applied.</summary>
    private static async Task<ScenarioSandbox> StartSandboxAsync(Scenario scenario, FleetSpec fleet, VirtualTime time, ScriptedRuns runs, Timeline timeline)
    {
        var sandbox = await ScenarioSandbox.StartAsync(scenario, time, runs);
        var tap = sandbox.System.ActorOf(Props.Create(() => new TimelineTap(timeline)), "scenario-timeline");
        sandbox.Topics.Subscribe(tap, typeof(IDarkFactoryMessage));
        sandbox.Tap = tap;
        time.WaitIdle(Settle);
        sandbox.Gateway.Tell(new ApplyFleet(fleet), tap);
        time.WaitIdle(Settle);
        return sandbox;
    }

    /// <summary>
    /// The daemon dies with its host: its actor system is gone at once (no drain: runs die with it, nothing more is
    /// written), its timers with it; the clock moves on by the step's down time (bounded by the scenario's end);
    /// a new daemon starts on the same journal and applies the same fleet.
    /// </summary>
    private static async Task<ScenarioSandbox> RestartDaemonAsync(ScenarioStep step, ScenarioSandbox sandbox, Scenario scenario, FleetSpec fleet, ScriptedRuns runs, Timeline timeline, DateTimeOffset end)
    {
        var time = sandbox.Time;
        timeline.Injected(step);
        await sandbox.DisposeAsync();
        runs.HostDown();
        time.DropTimers();
        var back = time.Now + step.Down;
        time.AdvanceTo(back < end ? back : end, Settle);
        return await StartSandboxAsync(scenario, fleet, time, runs, timeline);
    }

    /// <summary>
    /// SIGHUP with the step's fleet file: refused as the daemon refuses it (<see cref="ReloadGuard.Refusal"/>: invalid,
    /// or it would stop every agent or every safety agent) with a <see cref="FleetReloadRefused"/> on the event stream,
    /// else applied. Answers the fleet the daemon runs afterwards.
    /// </summary>
    private static FleetSpec Reload(ScenarioStep step, FleetSpec running, ScenarioSandbox sandbox, Timeline timeline)
    {
        timeline.Injected(step);
        if (ReloadGuard.Refusal(running, step.Reload!, step.AllowEmpty, step.FleetSource ?? "", sandbox.Time.Now) is { } refused)
        {
            sandbox.Topics.Publish(refused);
            return running;
        }

        var next = step.Reload!.Fleet!;
        sandbox.Gateway.Tell(new ApplyFleet(next), sandbox.Tap);
        return next;
    }

    private static void Inject(ScenarioStep step, ScenarioSandbox sandbox, Timeline timeline)
    {
        var tap = sandbox.Tap;
        var now = sandbox.Time.Now;
        timeline.Injected(step);
        switch (step.Kind)
        {
            case StepKind.Crash:
                sandbox.Runs.Live(step.Agent!)?.Tell(new ScriptedRun.End(step.ExitCode));
                break;
            case StepKind.Exit:
                sandbox.Runs.Live(step.Agent!)?.Tell(new ScriptedRun.End(0));
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
        }
    }

    /// <summary>The timeline as it is written: injected steps by the runner, observed events by the tap, each at the virtual time it happened.</summary>
    private sealed class Timeline(DateTimeOffset start, VirtualTime time)
    {
        private readonly List<TimelineEntry> _entries = [];

        public void Observed(object message)
        {
            var entry = ScenarioEvents.Entry(message, time.Now, start, EntrySource.Observed);
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        public void Injected(ScenarioStep step)
        {
            var name = ScenarioEvents.Injected.Name(step.Kind);
            var entry = new TimelineEntry(time.Now, time.Now - start, EntrySource.Injected, name, name, JsonSerializer.SerializeToElement(step, DarkFactoryJson.Options));
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
