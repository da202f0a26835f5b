using Akka.Actor;
using Akka.TestKit;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// Nightwatch split as a cluster runs it (issue 17), on virtual time with its journal in a real SQLite file: a node's
/// windows (<see cref="NightwatchPart.Windows"/>) judge the agent's lines and send the rung due; the decisions
/// (<see cref="NightwatchPart.Decisions"/>, the singleton's actor) record it under one id and carry it out through their
/// factory, and the node announces it. The decisions never record the same rung twice, and one that takes over (a
/// hand-over: the same persistence id started again) holds the pause wherever the agent starts next.
/// </summary>
public sealed class NightwatchSplitSpec : VirtualTimeSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    private static readonly NightwatchSpec Rules = new();
    private readonly TestProbe _decisionsFactory;
    private readonly TestProbe _nodeFactory;
    private readonly TestProbe _nodeHistory;
    private readonly TestProbe _events;

    public NightwatchSplitSpec(ITestOutputHelper output)
        : base(Start, Stores.Config("sqlite", Path.Combine(Directory.CreateTempSubdirectory("df-nightwatch-split-").FullName, "journal.db"), "akka.loglevel = INFO"), output)
    {
        _decisionsFactory = CreateTestProbe("cluster-factory");
        _nodeFactory = CreateTestProbe("node-factory");
        _nodeHistory = CreateTestProbe("node-history");
        _events = CreateTestProbe("events");
        foreach (var t in new[] { typeof(DriftVerdict), typeof(DriftCorrection), typeof(Escalation), typeof(RouteAvoid) })
        {
            Sys.EventStream.Subscribe(_events.Ref, t);
        }
    }

    private static FleetSpec Fleet() => new()
    {
        Providers = [new ProviderSpec { Name = "anthropic", Cli = "claude" }],
        Agents = [new AgentSpec { Name = "coder", Layer = LayerName.Core, Cli = "claude", Provider = "anthropic", Model = "claude-sonnet-4-5" }],
        Nightwatch = Rules,
    };

    private IActorRef Decisions()
    {
        var decisions = Sys.ActorOf(NightwatchActor.Props(_decisionsFactory.Ref, _decisionsFactory.Ref, new NightwatchSettings { Clock = Clock, Part = NightwatchPart.Decisions }));
        decisions.Tell(new ApplyFleet(Fleet()));
        return decisions;
    }

    private IActorRef Windows(IActorRef decisions)
    {
        var settings = new NightwatchSettings { Clock = Clock, PersistenceId = "nightwatch@n3", Part = NightwatchPart.Windows, Decider = decisions, Node = "n3" };
        var windows = Sys.ActorOf(NightwatchActor.Props(_nodeFactory.Ref, _nodeHistory.Ref, settings));
        windows.Tell(new ApplyFleet(Fleet()));
        return windows;
    }

    private DateTimeOffset At => Clock.GetUtcNow();

    private CorrectionDue Due(CorrectionAction action, string node = "n3") => new(
        node, new DriftCorrection("coder", At, DriftLevel.Moderate, action, 0.25, "moderate drift 0.25 (errors 0.25)", "Read the first error.", "r1", "anthropic"), "claude-sonnet-4-5", new DriftComponents(Errors: 0.25));

    private static async Task<AgentDrift> Coder(IActorRef nw) => (await nw.Ask<DriftSnapshot>(new GetDrift("coder"), Wait)).Agents.Single();

    private static async Task<T> Gets<T>(TestProbe probe, Func<T, bool>? match = null)
    {
        while (true)
        {
            var msg = await probe.ExpectMsgAsync<object>(Wait);
            if (msg is T t && (match is null || match(t)))
            {
                return t;
            }
        }
    }

    private void Lifecycle(LifecycleKind kind, string run, string? by = null) =>
        Sys.EventStream.Publish(new AgentLifecycle("coder", kind, At, run, By: by));

    [Fact]
    public async Task The_windows_send_the_rung_the_decisions_record_and_carry_it_out_and_the_node_announces_it()
    {
        var decisions = Decisions();
        var windows = Windows(decisions);
        await Coder(decisions);
        await Coder(windows); // subscribed, fleet applied
        Lifecycle(LifecycleKind.Started, "r1");
        Sys.EventStream.Publish(new AgentOutput("coder", "r1", 0, At, [new OutputLine(OutputStream.Stdout, "error[E0308]: mismatched types"), new OutputLine(OutputStream.Stdout, "error: could not compile `parser`")]));

        // the level change on the node; the decisions carry the hint out (their factory reaches the agent's node)
        Assert.Equal(DriftLevel.Minor, (await Gets<DriftVerdict>(_events)).Level);
        var hint = await Gets<AgentHint>(_decisionsFactory);
        Assert.Contains("errors", hint.Hint);

        // recorded, the node publishes it and writes it in the agent's history (the agent's node keeps it)
        var correction = await Gets<DriftCorrection>(_events);
        Assert.Equal((CorrectionAction.Hint, "coder"), (correction.Action, correction.Agent));
        var recorded = await _nodeHistory.ExpectMsgAsync<AgentLifecycle>(Wait);
        Assert.Equal(LifecycleKind.Corrected, recorded.Kind);
        await _nodeFactory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // the node carries out nothing itself

        // the cluster's reads: the level the node reported, the correction and the hint kept once
        var drift = await Coder(decisions);
        Assert.Equal((DriftLevel.Minor, CorrectionAction.Hint), (drift.Level, drift.LastCorrection!.Action));
        Assert.Equal(hint.Hint, drift.PendingHint);
        var records = await decisions.Ask<NightwatchRecords>(new GetNightwatchRecords(Start), Wait);
        Assert.Equal(correction, Assert.Single(records.Corrections));

        // the agent's next run, on whatever node, uses the hint
        Lifecycle(LifecycleKind.Started, "r2");
        await AwaitAssertAsync(async () => Assert.Null((await Coder(decisions)).PendingHint), Wait);
    }

    [Fact]
    public async Task The_decisions_never_record_the_same_rung_twice_within_its_cooldown()
    {
        var decisions = Decisions();
        await Coder(decisions);
        var node = CreateTestProbe();
        var restart = Due(CorrectionAction.Restart);
        decisions.Tell(restart, node.Ref);
        Assert.True((await node.ExpectMsgAsync<CorrectionDecided>(Wait)).Recorded);
        await Gets<RestartAgent>(_decisionsFactory);

        // the same proposal again (sent twice across a hand-over): refused, nothing carried out
        decisions.Tell(restart, node.Ref);
        var twice = await node.ExpectMsgAsync<CorrectionDecided>(Wait);
        Assert.False(twice.Recorded);
        Assert.Contains("cooldown", twice.Refused);

        // the agent moved to n2, whose new window climbed from scratch to the same rung 30 s later: refused too
        Advance(TimeSpan.FromSeconds(30));
        var moved = await decisions.Ask<CorrectionDecided>(Due(CorrectionAction.Restart, "n2"), Wait);
        Assert.False(moved.Recorded);
        await _decisionsFactory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        // after the cooldown it is a correction of its own
        Advance(Rules.Cooldown);
        Assert.True((await decisions.Ask<CorrectionDecided>(Due(CorrectionAction.Restart, "n2"), Wait)).Recorded);
        await Gets<RestartAgent>(_decisionsFactory);
        Assert.Equal(2, (await decisions.Ask<NightwatchRecords>(new GetNightwatchRecords(Start), Wait)).Corrections.Count);
    }

    [Fact]
    public async Task Decisions_that_take_over_recover_the_pause_hold_it_on_the_agents_next_node_and_end_it_when_due()
    {
        var decisions = Decisions();
        await Coder(decisions);
        var pause = Due(CorrectionAction.Pause, "n1");
        Assert.True((await decisions.Ask<CorrectionDecided>(pause, Wait)).Recorded);
        await Gets<StopAgent>(_decisionsFactory, s => s.Agent == "coder");

        // the singleton's node leaves a minute into the pause; the next oldest member starts it under the same id
        await decisions.GracefulStop(Wait);
        Advance(TimeSpan.FromMinutes(1));
        var next = Decisions();
        var stop = await Gets<StopAgent>(_decisionsFactory, s => s.Agent == "coder");
        Assert.Equal(Requester.Nightwatch, stop.By);
        var held = await next.Ask<PausesInForce>(new GetPauses(Rules.PauseFor), Wait);
        Assert.Equal(pause.Correction.At + Rules.PauseFor, held.Until["coder"]);
        Assert.True((await Coder(next)).Paused);

        // the same pause proposed again (the node sent it while the singleton moved): refused
        Assert.False((await next.Ask<CorrectionDecided>(pause, Wait)).Recorded);

        // the agent placed on n2, which starts it: stopped until the pause ends; an operator's start goes through
        _decisionsFactory.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // the pending hint, given again
        Lifecycle(LifecycleKind.Started, "r2");
        await Gets<StopAgent>(_decisionsFactory, s => s.Agent == "coder");
        Lifecycle(LifecycleKind.Stopped, "r2");
        Lifecycle(LifecycleKind.Started, "r3", Requester.Operator);
        await Coder(next);
        Assert.Empty(_decisionsFactory.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m).OfType<StopAgent>());

        // the pause ends when it was due, not a whole pause after the hand-over
        Advance(pause.Correction.At + Rules.PauseFor - At - TimeSpan.FromSeconds(1));
        await _decisionsFactory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Advance(TimeSpan.FromSeconds(1));
        var start = await Gets<StartAgent>(_decisionsFactory);
        Assert.Equal(("coder", Requester.Nightwatch), (start.Agent, start.By));
    }
}
