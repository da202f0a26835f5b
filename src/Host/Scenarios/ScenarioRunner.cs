using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using DarkFactory.Actors.Topics;
using DarkFactory.Messages;
using DarkFactory.Messages.Agents;
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
    public bool Passed => Results.All(r => r.Passed);
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
        await using var sandbox = await ScenarioSandbox.StartAsync(scenario, time);
        var tap = sandbox.System.ActorOf(Props.Create(() => new TimelineTap(timeline)), "scenario-timeline");
        sandbox.Topics.Subscribe(tap, typeof(IDarkFactoryMessage));
        time.WaitIdle(Settle);
        sandbox.Gateway.Tell(new ApplyFleet(scenario.Fleet), tap);
        time.WaitIdle(Settle);

        var end = scenario.Start + scenario.Until;
        var steps = new Queue<ScenarioStep>(scenario.Steps);
        while (true)
        {
            var nextStep = steps.TryPeek(out var s) ? scenario.Start + s.At : (DateTimeOffset?)null;
            var nextTimer = time.NextDue();
            if (nextStep is { } at && at <= end && (nextTimer is null || at <= nextTimer))
            {
                time.AdvanceTo(at, Settle);
                Inject(steps.Dequeue(), sandbox, tap, timeline);
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
        var entries = timeline.Entries();
        var results = scenario.Expectations.Select(e => ExpectationCheck.Check(e, entries, scenario.Until)).ToList();
        return new ScenarioOutcome(scenario, entries, results, wall.Elapsed, time.Fired);
    }

    private static void Inject(ScenarioStep step, ScenarioSandbox sandbox, IActorRef tap, Timeline timeline)
    {
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
