using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DarkFactory.Actors.Nightwatch;
using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// The NightwatchActor on virtual time (TestScheduler + ManualClock) with its journal in a real SQLite
/// file: output on the event stream -> verdicts, corrections carried out through the factory (a probe),
/// rate-limit events, escalations POSTed to a real HTTP listener on 127.0.0.1, and recovery.
/// </summary>
public sealed class NightwatchActorSpec : VirtualTimeSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private readonly TestProbe _factory;
    private readonly TestProbe _history;
    private readonly TestProbe _events;

    public NightwatchActorSpec(ITestOutputHelper output)
        : base(Start, Config(Path.Combine(Directory.CreateTempSubdirectory("df-nightwatch-").FullName, "journal.db")), output)
    {
        _factory = CreateTestProbe("factory");
        _history = CreateTestProbe("history");
        _events = CreateTestProbe("events");
        foreach (var t in new[] { typeof(DriftVerdict), typeof(DriftCorrection), typeof(Escalation), typeof(ProviderLimited), typeof(RouteAvoid) })
        {
            Sys.EventStream.Subscribe(_events.Ref, t);
        }
    }

    private static Config Config(string db) => Stores.Config("sqlite", db, """
        akka.loglevel = INFO
        """);

    private static FleetSpec Fleet(NightwatchSpec? nightwatch = null) => new()
    {
        Providers = [new ProviderSpec { Name = "anthropic", Cli = "claude", Prices = new ProviderPrices { InputPerMillion = 3, OutputPerMillion = 15 } }],
        Agents =
        [
            new AgentSpec { Name = "coder", Layer = LayerName.Core, Cli = "claude", Provider = "anthropic", Model = "claude-sonnet-4-5" },
            new AgentSpec { Name = "implementer", Layer = LayerName.Growth, Cli = "claude", Provider = "anthropic" },
        ],
        Nightwatch = nightwatch ?? new NightwatchSpec(),
    };

    private IActorRef Nightwatch(FleetSpec? fleet = null, HttpClient? http = null, int snapshotEvery = 200)
    {
        var nw = Sys.ActorOf(NightwatchActor.Props(_factory.Ref, _history.Ref, new NightwatchSettings { Clock = Clock, Http = http, SnapshotEvery = snapshotEvery }));
        nw.Tell(new ApplyFleet(fleet ?? Fleet()));
        return nw;
    }

    private void Print(string agent, params string[] lines) => PrintRun(agent, "run1", lines);

    private void PrintRun(string agent, string run, params string[] lines) =>
        Sys.EventStream.Publish(new AgentOutput(agent, run, 0, Clock.GetUtcNow(), lines.Select(l => new OutputLine(OutputStream.Stdout, l)).ToList()));

    /// <summary>The lines as a plain command's pump sends them: one <see cref="LineBatch"/> of their bytes (issue 18).</summary>
    private void PrintBatch(string agent, IReadOnlyList<string> lines) =>
        Sys.EventStream.Publish(new AgentOutput(agent, "run1", 0, Clock.GetUtcNow(), Batch(lines)));

    internal static LineBatch Batch(IReadOnlyList<string> lines)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
        var bounds = new int[2 * lines.Count];
        var at = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var length = Encoding.UTF8.GetByteCount(lines[i]);
            (bounds[2 * i], bounds[(2 * i) + 1]) = (at, length);
            at += length + 1;
        }

        return new LineBatch(OutputStream.Stdout, bytes, bounds, lines.Count, Ascii.IsValid(bytes));
    }

    private void Lifecycle(string agent, LifecycleKind kind, string run = "run1") =>
        Sys.EventStream.Publish(new AgentLifecycle(agent, kind, Clock.GetUtcNow(), run));

    private async Task<T> Next<T>(Func<T, bool>? match = null)
    {
        while (true)
        {
            var msg = await _events.ExpectMsgAsync<object>(Wait);
            if (msg is T t && (match is null || match(t)))
            {
                return t;
            }
        }
    }

    private async Task<T> FactoryGets<T>(Func<T, bool>? match = null)
    {
        while (true)
        {
            var msg = await _factory.ExpectMsgAsync<object>(Wait);
            if (msg is T t && (match is null || match(t)))
            {
                return t;
            }
        }
    }

    private static async Task<DriftSnapshot> Drift(IActorRef nw) => await nw.Ask<DriftSnapshot>(new GetDrift(), Wait);

    [Fact]
    public async Task Errors_raise_the_level_and_the_ladder_hints_then_restarts_with_the_hint()
    {
        var nw = Nightwatch();
        await Drift(nw); // subscribed and fleet applied
        Lifecycle("coder", LifecycleKind.Started);
        Print("coder", "   Compiling parser v0.1.0", "error[E0308]: mismatched types", "error[E0425]: cannot find value `x`");

        var minor = await Next<DriftVerdict>();
        Assert.Equal((DriftLevel.Minor, DriftLevel.Normal, "coder"), (minor.Level, minor.Previous, minor.Agent));
        Assert.Equal(0.1, minor.Components.Errors);
        var hintCorrection = await Next<DriftCorrection>();
        Assert.Equal(CorrectionAction.Hint, hintCorrection.Action);
        var hint = await FactoryGets<AgentHint>();
        Assert.Contains("errors", hint.Hint);
        var recorded = await _history.ExpectMsgAsync<AgentLifecycle>(Wait);
        Assert.Equal(LifecycleKind.Corrected, recorded.Kind);
        Assert.Contains("hint for the next task", recorded.Detail);

        // the hint gets its time to work; two more errors: moderate -> restart with fresh context and the hint
        Advance(DriftPolicy.Settle);
        Print("coder", "error: aborting due to 2 previous errors", "error: could not compile `parser`");
        var moderate = await Next<DriftVerdict>();
        Assert.Equal(DriftLevel.Moderate, moderate.Level);
        Assert.Equal(CorrectionAction.Restart, (await Next<DriftCorrection>()).Action);
        await FactoryGets<AgentHint>();
        Assert.Equal("coder", (await FactoryGets<RestartAgent>()).Agent);

        // the restart gave a fresh context: the level falls back
        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(DriftLevel.Normal, (await Next<DriftVerdict>()).Level);
        var state = (await Drift(nw)).Agents.Single(a => a.Agent == "coder");
        Assert.Equal(CorrectionAction.Restart, state.LastCorrection!.Action);
        Assert.NotNull(state.PendingHint);
    }

    [Fact]
    public async Task A_flood_as_one_batch_of_bytes_is_judged_line_by_line_errors_loops_limits_and_mentions()
    {
        var nw = Nightwatch();
        await Drift(nw);
        Lifecycle("coder", LifecycleKind.Started);

        // 20,000 ordinary ASCII lines with two errors, an address and a mention among them, as one batch: each line
        // judged (the batch is searched as a whole, the lines that hold something are looked at one by one)
        var flood = Enumerable.Range(0, 20_000).Select(i => $"{i:D6} compiling module m{i} of the workspace").ToList();
        flood[0] = "error[E0308]: mismatched types";
        flood[9_000] = "mail to ops@example.com sent";
        flood[12_345] = "done. @implementer: add tests for the parser";
        flood[19_999] = "error: could not compile `parser`";
        PrintBatch("coder", flood);
        var minor = await Next<DriftVerdict>();
        Assert.Equal((DriftLevel.Minor, 0.1, 0.0), (minor.Level, minor.Components.Errors, minor.Components.Loops));
        var start = await FactoryGets<StartAgent>(s => s.Agent == "implementer");
        Assert.Equal("add tests for the parser (asked by coder)", start.Task);

        // the same line 8 times (an AI CLI's text counts as a loop): the loop is seen from the bytes
        PrintBatch("coder", Enumerable.Repeat("Retrying the same edit to src/parser.rs", 8).ToList());
        var looping = await Next<DriftVerdict>(v => v.Components.Loops > 0);
        Assert.Equal(8 * DriftCalibration.LoopAtLoopRepeats / 5, looping.Components.Loops, 4);

        // a batch that is not ASCII is judged line by line: a rate limit's line, kept as a string, and an error
        PrintBatch("coder", ["Working on it", "You've hit your limit · resets 7pm (America/Los_Angeles)", "error: überall"]);
        var limited = await Next<ProviderLimited>();
        Assert.Equal(("anthropic", "coder", "run1", LimitSource.Pattern), (limited.Provider, limited.Agent, limited.RunId, limited.Source));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 3, 0, 0, TimeSpan.Zero), limited.ResetAt);
        Assert.Equal(0.15, (await Drift(nw)).Agents.Single(a => a.Agent == "coder").Components.Errors);
    }

    [Fact]
    public async Task Crashes_alone_get_a_hint_not_a_second_restart_of_a_run_the_supervisor_just_started()
    {
        var nw = Nightwatch();
        await Drift(nw);
        foreach (var run in new[] { "run1", "run2" })
        {
            Lifecycle("coder", LifecycleKind.Started, run);
            Lifecycle("coder", LifecycleKind.Crashed, run);
        }

        Lifecycle("coder", LifecycleKind.Started, "run3");
        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action); // the climb starts with a hint
        Advance(DriftPolicy.Settle);
        var moderate = await Next<DriftCorrection>(c => c.Level == DriftLevel.Moderate);
        Assert.Equal(CorrectionAction.Hint, moderate.Action);
        Assert.Contains("crashed", moderate.Hint);
        await _factory.ExpectMsgAsync<AgentHint>(Wait);
        await _factory.ExpectMsgAsync<AgentHint>(Wait);
        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task The_same_correction_waits_for_its_cooldown()
    {
        var nw = Nightwatch();
        await Drift(nw);
        Print("coder", "error: one", "error: two"); // a finished run's output: no stall signal
        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action);
        Advance(TimeSpan.FromSeconds(30));
        Print("coder", "plain progress line");
        await _events.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Advance(new NightwatchSpec().Cooldown);
        Print("coder", "still working");
        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action);
    }

    [Fact]
    public async Task A_silent_running_agent_is_paused_and_routed_elsewhere_then_resumed()
    {
        var spec = new NightwatchSpec();
        var nw = Nightwatch();
        await Drift(nw);
        Lifecycle("coder", LifecycleKind.Started);
        Print("coder", "Thinking about the plan...");

        Advance(spec.StallAfter * 0.3);
        Assert.Equal(DriftLevel.Minor, (await Next<DriftVerdict>()).Level);
        Advance(spec.StallAfter * 0.3);
        Assert.Equal(DriftLevel.Moderate, (await Next<DriftVerdict>()).Level);
        Assert.Equal(CorrectionAction.Restart, (await Next<DriftCorrection>(c => c.Action != CorrectionAction.Hint)).Action);

        // the restart reset the silence; the agent stays silent: severe -> pause + another route
        Advance(spec.StallAfter * 1.1);
        var pause = await Next<DriftCorrection>(c => c.Action == CorrectionAction.Pause);
        Assert.Equal(DriftLevel.Severe, pause.Level);
        Assert.Equal("anthropic", pause.Provider);
        var avoid = await Next<RouteAvoid>();
        Assert.Equal(("coder", "anthropic", "claude-sonnet-4-5"), (avoid.Agent, avoid.Provider, avoid.Model));
        await FactoryGets<StopAgent>(s => s.Agent == "coder");
        Lifecycle("coder", LifecycleKind.Stopped);

        Advance(spec.PauseFor);
        Assert.Equal("coder", (await FactoryGets<StartAgent>()).Agent);
    }

    [Fact]
    public async Task Severe_drift_from_crashes_avoids_the_route_the_crashes_happened_on_not_the_one_running_now()
    {
        var nw = Nightwatch();
        await Drift(nw);
        void Routed(string run, string provider) =>
            Sys.EventStream.Publish(new RouteChosen("coder", run, "claude", provider, "claude-sonnet-4-5", "test", Clock.GetUtcNow()));

        // three runs on anthropic crash; the router has already moved the fourth run to backup when the
        // third crash is reported (the two events come from different actors)
        foreach (var run in new[] { "run1", "run2" })
        {
            Routed(run, "anthropic");
            Lifecycle("coder", LifecycleKind.Started, run);
            Lifecycle("coder", LifecycleKind.Crashed, run);
        }

        Routed("run3", "anthropic");
        Lifecycle("coder", LifecycleKind.Started, "run3");
        Routed("run4", "backup");
        Lifecycle("coder", LifecycleKind.Crashed, "run3");
        Lifecycle("coder", LifecycleKind.Started, "run4");

        // one rung at a time: hint, restart (as a hint: the layer restarted it), then the pause
        await Drift(nw); // the events are judged at this time
        Advance(DriftPolicy.Settle);
        await Drift(nw);
        Advance(DriftPolicy.Settle);

        var pause = await Next<DriftCorrection>(c => c.Action == CorrectionAction.Pause);
        Assert.Equal(DriftLevel.Severe, pause.Level);
        Assert.Equal("anthropic", pause.Provider);
        var avoid = await Next<RouteAvoid>();
        Assert.Equal(("coder", "anthropic", "claude-sonnet-4-5"), (avoid.Agent, avoid.Provider, avoid.Model));
    }

    [Fact]
    public async Task Critical_drift_stops_the_agent_and_escalates_to_the_webhook_and_the_list()
    {
        using var hook = new Webhook();
        var nw = Nightwatch(Fleet(new NightwatchSpec { EscalationWebhook = hook.Url + "T000/secret-token" }), new HttpClient());
        await Drift(nw);
        Lifecycle("coder", LifecycleKind.Started);
        Lifecycle("coder", LifecycleKind.Quarantined); // health 0.70: critical, and it lasts (a restart does not clear it)

        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action);
        Advance(DriftPolicy.Settle);
        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action); // the restart rung, as a hint
        Advance(DriftPolicy.Lasting - DriftPolicy.Settle);
        var stop = await Next<DriftCorrection>();
        Assert.Equal((DriftLevel.Critical, CorrectionAction.Stop), (stop.Level, stop.Action));
        await FactoryGets<StopAgent>(s => s.Agent == "coder");
        var escalation = await Next<Escalation>();
        Assert.Equal("coder", escalation.Agent);

        using var body = JsonDocument.Parse(await hook.Received.Task.WaitAsync(Wait));
        Assert.Equal("coder", body.RootElement.GetProperty("agent").GetString());
        Assert.Equal("critical", body.RootElement.GetProperty("level").GetString());
        Assert.Contains("stopped", body.RootElement.GetProperty("text").GetString());

        await AwaitAssertAsync(
            async () =>
            {
                var list = await nw.Ask<EscalationList>(new GetEscalations(), Wait);
                var entry = Assert.Single(list.Escalations);
                Assert.Equal(escalation.Id, entry.Escalation.Id);
                Assert.True(entry.Delivery?.Ok);
                Assert.DoesNotContain("secret-token", entry.Delivery!.Detail);
            },
            Wait);

        // stopped: no second escalation while it stays down
        Print("coder", "error: still here");
        Advance(TimeSpan.FromMinutes(3));
        Assert.Single((await nw.Ask<EscalationList>(new GetEscalations(), Wait)).Escalations);
    }

    [Fact]
    public async Task A_rate_limit_line_publishes_provider_limited_with_the_reset_time()
    {
        var nw = Nightwatch();
        await Drift(nw);
        Print("coder", "Working on it", "You've hit your limit · resets 7pm (America/Los_Angeles)", "429 Too Many Requests");
        var limited = await Next<ProviderLimited>();
        Assert.Equal(("anthropic", "coder", "run1", LimitSource.Pattern), (limited.Provider, limited.Agent, limited.RunId, limited.Source));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 3, 0, 0, TimeSpan.Zero), limited.ResetAt);
        await _events.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // the 429 right after is the same event
    }

    [Fact]
    public async Task An_at_mention_starts_an_on_demand_agent_with_the_rest_of_the_line_as_task()
    {
        var nw = Nightwatch();
        await Drift(nw);
        Print("coder", "Refactoring done. @implementer: add tests for the new parser module");
        var start = await FactoryGets<StartAgent>();
        Assert.Equal("implementer", start.Agent);
        Assert.Equal("add tests for the new parser module (asked by coder)", start.Task);
        Print("coder", "@implementerx is not an agent", "@implementer again, too soon");
        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Usage_without_a_cost_is_priced_from_the_provider_and_counts_as_burn()
    {
        var nw = Nightwatch();
        await Drift(nw);
        // 3 calls of 100k input + 10k output tokens at $3 / $15 per million = $0.45 each: $1.35 in 5 min = $16/h
        for (var i = 0; i < 3; i++)
        {
            Sys.EventStream.Publish(new AgentUsage("coder", "run1", "anthropic", "claude-sonnet-4-5", 100_000, 10_000, Clock.GetUtcNow()));
        }

        await AwaitAssertAsync(async () => Assert.Equal(DriftLevel.Critical, (await Drift(nw)).Agents.Single(a => a.Agent == "coder").Level), Wait);
    }

    [Fact]
    public async Task Usage_with_cache_reads_burns_what_the_ledger_charges()
    {
        // the adapters report input tokens without the cache reads: 100k input + 800k cache reads + 20k output at
        // $3 / $0.30 / $15 per million = $0.30 + $0.24 + $0.30 = $0.84 (the ledger's price); in a 5-minute window
        // that is $10.08/h, against max_burn_per_hour $20: cost 0.504 * 0.7
        var fleet = Fleet(new NightwatchSpec { MaxBurnPerHour = 20m });
        fleet = fleet with { Providers = [fleet.Providers[0] with { Prices = new ProviderPrices { InputPerMillion = 3, OutputPerMillion = 15, CachedInputPerMillion = 0.3m } }] };
        var usage = new AgentUsage("coder", "run1", "anthropic", "claude-sonnet-4-5", 100_000, 20_000, Clock.GetUtcNow(), CachedInputTokens: 800_000);
        Assert.Equal(0.84m, CostLedger.Price(usage, null, fleet.Providers[0]).CostUsd);
        var nw = Nightwatch(fleet);
        await Drift(nw);

        Sys.EventStream.Publish(usage);

        await AwaitAssertAsync(
            async () => Assert.Equal(0.84 * 12 / 20 * DriftCalibration.CostAtMaxBurn, (await Drift(nw)).Agents.Single(a => a.Agent == "coder").Components.Cost, 6),
            Wait);
    }

    [Fact]
    public async Task A_snapshot_deletes_the_events_it_covers_and_the_older_snapshots()
    {
        // a fresh SQLite file creates its tables first, and writes, snapshots and their deletions follow: slow on a
        // loaded machine, so this one waits longer than the spec's usual 10 s
        var slow = TimeSpan.FromSeconds(60);
        var persistence = Akka.Persistence.Persistence.Instance.Apply(Sys);
        var probe = CreateTestProbe();
        var nw = Nightwatch(snapshotEvery: 2);
        await nw.Ask<DriftSnapshot>(new GetDrift(), slow);

        async Task<long?> Snapshot(SnapshotSelectionCriteria criteria)
        {
            persistence.SnapshotStoreFor(null).Tell(new LoadSnapshot("nightwatch", criteria, long.MaxValue), probe.Ref);
            return (await probe.ExpectMsgAsync<LoadSnapshotResult>(slow)).Snapshot?.Metadata.SequenceNr;
        }

        void Deliveries(int from, int to)
        {
            for (var i = from; i <= to; i++)
            {
                nw.Tell(new EscalationDelivered($"x{i}", Clock.GetUtcNow(), true, "http://127.0.0.1: HTTP 204"));
            }
        }

        // the first snapshot is saved before the next ones are asked for (the store saves concurrently)
        Deliveries(1, 2);
        await AwaitAssertAsync(async () => Assert.Equal(2, await Snapshot(SnapshotSelectionCriteria.Latest)), slow, TimeSpan.FromMilliseconds(100));
        Deliveries(3, 5);

        await AwaitAssertAsync(
            async () =>
            {
                // the snapshot at 4 replaced the one at 2; events 1..4 are gone, event 5 stays
                Assert.Equal(4, await Snapshot(SnapshotSelectionCriteria.Latest));
                Assert.Null(await Snapshot(new SnapshotSelectionCriteria(3)));
                persistence.JournalFor(null).Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "nightwatch", probe.Ref));
                var replayed = new List<long>();
                while (await probe.ExpectMsgAsync<object>(slow) is ReplayedMessage m)
                {
                    replayed.Add(m.Persistent.SequenceNr);
                }

                Assert.Equal([5L], replayed);
            },
            slow,
            TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Corrections_and_pending_hints_survive_a_restart_and_the_hint_is_given_again()
    {
        var nw = Nightwatch();
        await Drift(nw);
        Lifecycle("coder", LifecycleKind.Started);
        Print("coder", "error: one", "error: two");
        var correction = await Next<DriftCorrection>();
        await FactoryGets<AgentHint>();
        await AwaitAssertAsync(async () => Assert.NotNull((await Drift(nw)).Agents.Single(a => a.Agent == "coder").PendingHint), Wait);

        await nw.GracefulStop(Wait);
        var again = Nightwatch();
        var hint = await FactoryGets<AgentHint>();
        Assert.Equal(correction.Hint, hint.Hint);
        var state = (await Drift(again)).Agents.Single(a => a.Agent == "coder");
        Assert.Equal(correction.At, state.LastCorrection!.At);

        // the hint went into a run: not given again after the next restart
        Lifecycle("coder", LifecycleKind.Started, "run2");
        await AwaitAssertAsync(async () => Assert.Null((await Drift(again)).Agents.Single(a => a.Agent == "coder").PendingHint), Wait);
        await again.GracefulStop(Wait);
        Nightwatch();
        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_heartbeat_and_a_silent_command_and_crashes_under_quarantine_after_1000_are_left_alone()
    {
        var fleet = Fleet() with
        {
            Layers = new Dictionary<LayerName, LayerSpec>(LayerSpec.Defaults()) { [LayerName.Core] = LayerSpec.Default(LayerName.Core) with { QuarantineAfter = 1000 } },
            Agents =
            [
                new AgentSpec { Name = "ticker", Layer = LayerName.Safety, Cli = CliCatalog.Command, Command = ["bash", "-c", "while true; do echo heartbeat ok; sleep 1; done"] },
                new AgentSpec { Name = "watcher", Layer = LayerName.Safety, Cli = CliCatalog.Command, Command = ["bash", "-c", "while true; do sleep 1; done"] },
                new AgentSpec { Name = "flaky", Layer = LayerName.Core, Cli = "claude", Provider = "anthropic" },
            ],
        };
        var nw = Nightwatch(fleet);
        await Drift(nw);
        Lifecycle("ticker", LifecycleKind.Started);
        Lifecycle("watcher", LifecycleKind.Started);
        for (var i = 0; i < 30; i++)
        {
            Print("ticker", $"{i:0000} heartbeat ok", "heartbeat ok", "y");
            Advance(TimeSpan.FromSeconds(1));
        }

        foreach (var run in new[] { "f1", "f2", "f3", "f4" })
        {
            Lifecycle("flaky", LifecycleKind.Started, run);
            Lifecycle("flaky", LifecycleKind.Crashed, run);
        }

        await Drift(nw); // the crashes are judged at this time
        Advance(new NightwatchSpec().StallAfter * 3); // the watcher stays silent

        var drift = await Drift(nw);
        foreach (var agent in new[] { "ticker", "watcher", "flaky" })
        {
            var a = drift.Agents.Single(x => x.Agent == agent);
            Assert.Equal((agent, DriftLevel.Normal, (DriftCorrection?)null), (a.Agent, a.Level, a.LastCorrection));
        }

        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_pause_survives_a_restart_of_nightwatch_and_ends_when_it_was_due()
    {
        var spec = new NightwatchSpec();
        var nw = Nightwatch();
        await Drift(nw);
        Lifecycle("coder", LifecycleKind.Started);
        Print("coder", "Thinking about the plan...");
        await Drift(nw);
        Advance(spec.StallAfter * 0.3);
        Assert.Equal(CorrectionAction.Hint, (await Next<DriftCorrection>()).Action);
        Advance(spec.StallAfter * 0.3);
        Assert.Equal(CorrectionAction.Restart, (await Next<DriftCorrection>()).Action);
        Advance(spec.StallAfter * 1.1);
        var pause = await Next<DriftCorrection>(c => c.Action == CorrectionAction.Pause);
        await FactoryGets<StopAgent>(s => s.Agent == "coder");
        Lifecycle("coder", LifecycleKind.Stopped);
        await AwaitAssertAsync(async () => Assert.True((await Drift(nw)).Agents.Single(a => a.Agent == "coder").Paused), Wait);

        // the daemon restarts a minute into the pause
        await nw.GracefulStop(Wait);
        Advance(TimeSpan.FromMinutes(1));
        var again = Nightwatch();
        await FactoryGets<StopAgent>(s => s.Agent == "coder" && s.By == Requester.Nightwatch);
        await FactoryGets<AgentHint>(); // the pending hint, given again
        Assert.True((await Drift(again)).Agents.Single(a => a.Agent == "coder").Paused);

        // its layer autostarts it after that: stopped again, once
        Lifecycle("coder", LifecycleKind.Started, "run2");
        await FactoryGets<StopAgent>(s => s.Agent == "coder");
        Lifecycle("coder", LifecycleKind.Stopped, "run2");
        await Drift(again);

        // the pause ends when it was due, not a whole pause after the restart
        Advance(pause.At + spec.PauseFor - Clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        await _factory.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("coder", (await FactoryGets<StartAgent>()).Agent);
        Assert.False((await Drift(again)).Agents.Single(a => a.Agent == "coder").Paused);
    }
}
