using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// Every signal alone reaches every level from realistic output, with the default fleet settings; several
/// weak signals add up; levels do not flap; the ladder climbs with a cooldown.
/// </summary>
public sealed class DriftPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly NightwatchSpec Spec = new();
    private static readonly LinePatterns Patterns = LinePatterns.From(Spec);

    /// <summary>Feeds a transcript to a fresh window the way the NightwatchActor does, and judges it at the end.</summary>
    private sealed class Transcript
    {
        private readonly AgentSignals _signals = new(Spec.Window);

        public Transcript() => _signals.Lifecycle(LifecycleKind.Started, T0);

        public DateTimeOffset Now { get; private set; } = T0;

        public Transcript Print(string line, OutputKind kind = OutputKind.Text, double secondsLater = 1)
        {
            Now = Now.AddSeconds(secondsLater);
            var error = kind == OutputKind.Text && Patterns.IsError(line);
            _signals.Line(kind, line, error, Now);
            return this;
        }

        public Transcript Event(LifecycleKind kind, double secondsLater = 1)
        {
            Now = Now.AddSeconds(secondsLater);
            _signals.Lifecycle(kind, Now);
            return this;
        }

        public Transcript Spend(decimal usd, double secondsLater = 1)
        {
            Now = Now.AddSeconds(secondsLater);
            _signals.Cost(usd, Now);
            return this;
        }

        public Transcript Wait(TimeSpan t)
        {
            Now += t;
            return this;
        }

        public DriftComponents Components => _signals.Evaluate(Now, Spec.StallAfter, Spec.LoopRepeats, Spec.MaxBurnPerHour);

        public DriftLevel Level => DriftPolicy.Raw(DriftPolicy.Score(Components, Spec), Spec.Thresholds);
    }

    private static Transcript CompilerErrors(int n)
    {
        var t = new Transcript().Print("   Compiling parser v0.1.0 (/work/parser)");
        for (var i = 0; i < n; i++)
        {
            t.Print($"error[E0308]: mismatched types at src/lib.rs:{40 + i}:9").Print("   = note: expected `u32`, found `i64`");
        }

        return t;
    }

    private static Transcript FailedToolCalls(int n)
    {
        var t = new Transcript().Print("{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"Let me run the tests.\"}]}}");
        for (var i = 0; i < n; i++)
        {
            t.Print($"{{\"type\":\"assistant\",\"message\":{{\"content\":[{{\"type\":\"tool_use\",\"id\":\"toolu_{i}\",\"name\":\"Bash\",\"input\":{{\"command\":\"npm test -- --grep case{i}\"}}}}]}}}}", OutputKind.ToolCall)
             .Print($"{{\"type\":\"user\",\"message\":{{\"content\":[{{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_{i}\",\"is_error\":true,\"content\":\"npm ERR! missing script: test\"}}]}}}}", OutputKind.ToolError);
        }

        return t;
    }

    /// <param name="upFor">How long each crashed run was up: under the agent's min_uptime (1 s) it is a crash loop.</param>
    private static Transcript Crashes(int crashes, int kills = 0, double upFor = 0.5)
    {
        var t = new Transcript().Print("starting dependency audit");
        for (var i = 0; i < crashes; i++)
        {
            t.Event(LifecycleKind.Started, 2).Event(LifecycleKind.Crashed, upFor).Event(LifecycleKind.Restarting, 21 - upFor);
        }

        for (var i = 0; i < kills; i++)
        {
            t.Event(LifecycleKind.Killed, 20).Event(LifecycleKind.Exited).Event(LifecycleKind.Started, 2);
        }

        return t;
    }

    private static Transcript Silence(double stallAfters) =>
        new Transcript().Print("Thinking about the refactoring plan...").Wait(Spec.StallAfter * stallAfters);

    private static Transcript Loop(int repeats)
    {
        var t = new Transcript().Print("Fetching https://registry.npmjs.org/left-pad");
        for (var i = 0; i < repeats; i++)
        {
            t.Print($"2026-11-22T09:00:{i:00}Z Retrying request to registry after connection reset").Print($"attempt {i + 1} of 20", secondsLater: 0.2);
        }

        return t;
    }

    private static Transcript Burn(decimal usdPerCall, int calls)
    {
        var t = new Transcript();
        for (var i = 0; i < calls; i++)
        {
            t.Print("{\"type\":\"result\",\"usage\":{\"input_tokens\":180000,\"output_tokens\":4000}}", OutputKind.Usage).Spend(usdPerCall, 0);
        }

        return t;
    }

    public static TheoryData<string, DriftLevel> EachSignalAlone() => new()
    {
        { "errors:1", DriftLevel.Normal },
        { "errors:2", DriftLevel.Minor },
        { "errors:4", DriftLevel.Moderate },
        { "errors:8", DriftLevel.Severe },
        { "errors:14", DriftLevel.Critical },
        { "tools:1", DriftLevel.Minor },
        { "tools:2", DriftLevel.Moderate },
        { "tools:4", DriftLevel.Severe },
        { "tools:7", DriftLevel.Critical },
        { "kill:1", DriftLevel.Minor },
        { "crash:1", DriftLevel.Minor },
        { "crash:2", DriftLevel.Moderate },
        { "crash:3", DriftLevel.Severe },
        { "crash:5", DriftLevel.Critical },
        { "quarantine", DriftLevel.Critical },
        { "stall:0.2", DriftLevel.Normal },
        { "stall:0.3", DriftLevel.Minor },
        { "stall:0.6", DriftLevel.Moderate },
        { "stall:1.1", DriftLevel.Severe },
        { "stall:1.8", DriftLevel.Critical },
        { "loop:3", DriftLevel.Minor },
        { "loop:5", DriftLevel.Moderate },
        { "loop:8", DriftLevel.Severe },
        { "loop:14", DriftLevel.Critical },
        { "cost:0.05x2", DriftLevel.Normal }, // $0.10 in 5 min = $1.20/h
        { "cost:0.05x3", DriftLevel.Minor },
        { "cost:0.1x3", DriftLevel.Moderate },
        { "cost:0.25x2", DriftLevel.Severe },
        { "cost:0.3x3", DriftLevel.Critical }, // $0.90 in 5 min = $10.80/h, over max_burn_per_hour 10
    };

    [Theory]
    [MemberData(nameof(EachSignalAlone))]
    public void Each_signal_alone_reaches_each_level_from_a_realistic_transcript(string transcript, DriftLevel expected)
    {
        var parts = transcript.Split(':');
        var t = parts[0] switch
        {
            "errors" => CompilerErrors(int.Parse(parts[1])),
            "tools" => FailedToolCalls(int.Parse(parts[1])),
            "kill" => Crashes(0, kills: int.Parse(parts[1])),
            "crash" => Crashes(int.Parse(parts[1])),
            "quarantine" => Crashes(0).Event(LifecycleKind.Quarantined),
            "stall" => Silence(double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)),
            "loop" => Loop(int.Parse(parts[1])),
            "cost" => Burn(decimal.Parse(parts[1].Split('x')[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1].Split('x')[1])),
            _ => throw new ArgumentException(transcript),
        };
        Assert.Equal(expected, t.Level);
    }

    [Fact]
    public void Crashes_of_runs_that_were_up_min_uptime_are_no_crash_loop()
    {
        // restarted at once by the layer (pm2's min_uptime): however many, they never climb the ladder
        Assert.Equal(DriftLevel.Normal, Crashes(8, upFor: 1).Level);
        Assert.Equal(DriftLevel.Normal, Crashes(8, upFor: 20).Level);
        Assert.Equal(DriftLevel.Critical, Crashes(5, upFor: 0.999).Level);
    }

    [Fact]
    public void Weak_signals_add_up()
    {
        // one compiler error, one failed tool call and a short silence: each alone at most minor
        var t = new Transcript()
            .Print("error: expected one of `,` or `)`")
            .Print("{\"type\":\"tool_result\",\"is_error\":true}", OutputKind.ToolError)
            .Wait(Spec.StallAfter * 0.3);
        var c = t.Components;
        Assert.All(new[] { c.Errors, c.ToolFailures, c.Stall }, v => Assert.True(v < Spec.Thresholds.Moderate));
        Assert.Equal(DriftLevel.Moderate, t.Level);
    }

    [Fact]
    public void Signals_leave_the_window()
    {
        var t = CompilerErrors(14);
        Assert.Equal(DriftLevel.Critical, t.Level);
        t.Print("Finished dev profile in 3.2s", secondsLater: Spec.Window.TotalSeconds + 30);
        Assert.Equal(DriftLevel.Normal, t.Level);
    }

    [Fact]
    public void A_zero_weight_ignores_a_signal_and_a_double_weight_doubles_it()
    {
        var c = new DriftComponents(Errors: 0.3);
        Assert.Equal(0, DriftPolicy.Score(c, Spec with { Weights = new Dictionary<string, double> { ["errors"] = 0 } }));
        Assert.Equal(0.6, DriftPolicy.Score(c, Spec with { Weights = new Dictionary<string, double> { ["errors"] = 2 } }));
        Assert.Equal(1, DriftPolicy.Score(new DriftComponents(1, 1, 1, 1, 1, 1), Spec));
    }

    [Fact]
    public void A_score_hovering_at_a_threshold_does_not_flap()
    {
        var t = Spec.Thresholds;
        var level = DriftLevel.Normal;
        var seen = new List<DriftLevel>();
        foreach (var score in new[] { 0.19, 0.21, 0.19, 0.20, 0.18, 0.21, 0.16, 0.14, 0.21 })
        {
            level = DriftPolicy.Next(level, score, t, Spec.Hysteresis);
            seen.Add(level);
        }

        Assert.Equal(
            [DriftLevel.Minor, DriftLevel.Moderate, DriftLevel.Moderate, DriftLevel.Moderate, DriftLevel.Moderate, DriftLevel.Moderate, DriftLevel.Moderate, DriftLevel.Minor, DriftLevel.Moderate],
            seen);
        Assert.Equal(DriftLevel.Normal, DriftPolicy.Next(DriftLevel.Critical, 0.01, t, Spec.Hysteresis));
        Assert.Equal(DriftLevel.Severe, DriftPolicy.Next(DriftLevel.Critical, 0.5, t, Spec.Hysteresis));
    }

    [Fact]
    public void The_ladder_has_one_rung_per_level_and_a_cooldown()
    {
        var fired = new Dictionary<CorrectionAction, DateTimeOffset>();
        Assert.Null(DriftPolicy.Due(DriftLevel.Normal, fired, T0, Spec.Cooldown));
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Due(DriftLevel.Minor, fired, T0, Spec.Cooldown));
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Due(DriftLevel.Moderate, fired, T0, Spec.Cooldown));
        Assert.Equal(CorrectionAction.Pause, DriftPolicy.Due(DriftLevel.Severe, fired, T0, Spec.Cooldown));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Due(DriftLevel.Critical, fired, T0, Spec.Cooldown));

        fired[CorrectionAction.Hint] = T0;
        Assert.Null(DriftPolicy.Due(DriftLevel.Minor, fired, T0.AddSeconds(30), Spec.Cooldown));
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Due(DriftLevel.Moderate, fired, T0.AddSeconds(30), Spec.Cooldown)); // climbing is never held back
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Due(DriftLevel.Minor, fired, T0 + Spec.Cooldown, Spec.Cooldown));
    }

    [Fact]
    public void The_hint_addresses_the_dominant_signal()
    {
        Assert.Contains("repeating the same action", DriftPolicy.Hint(new DriftComponents(Errors: 0.1, Loops: 0.4), Spec));
        Assert.Contains("tool calls failed", DriftPolicy.Hint(new DriftComponents(ToolFailures: 0.3), Spec));
        Assert.Equal("moderate drift 0.25 (errors 0.10, loops 0.15)", DriftPolicy.Reason(0.25, DriftLevel.Moderate, new DriftComponents(Errors: 0.1, Loops: 0.15), Spec));
    }

    [Fact]
    public void The_dominant_signal_is_the_strongest_weighted_one_and_its_name_is_the_weights_key()
    {
        var c = new DriftComponents(Errors: 0.2, Health: 0.3);

        Assert.Equal((DriftSignal.Health, 0.3), DriftPolicy.Dominant(c, Spec));
        Assert.Equal(DriftSignal.Errors, DriftPolicy.Dominant(c, new NightwatchSpec { Weights = new Dictionary<string, double> { ["errors"] = 2 } }).Signal);
        Assert.Equal(DriftSignal.Errors, DriftPolicy.Dominant(DriftComponents.Zero, Spec).Signal); // a tie: the first
        Assert.Equal(["errors", "tool_failures", "health", "stall", "loops", "cost"], NightwatchSpec.SignalNames);
        Assert.All(DriftSignals.All, s => Assert.Equal($"\"{s.Name()}\"", System.Text.Json.JsonSerializer.Serialize(s, DarkFactory.Messages.DarkFactoryJson.Options)));
    }

    [Fact]
    public void The_ladder_climbs_one_rung_at_a_time_unless_critical_drift_lasts()
    {
        var none = (CorrectionAction?)null;
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Climb(DriftLevel.Critical, none, T0, T0, T0));
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Climb(DriftLevel.Severe, CorrectionAction.Hint, T0, null, T0.AddSeconds(29)));
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Climb(DriftLevel.Severe, CorrectionAction.Hint, T0, null, T0 + DriftPolicy.Settle));
        Assert.Equal(CorrectionAction.Pause, DriftPolicy.Climb(DriftLevel.Critical, CorrectionAction.Restart, T0, null, T0 + DriftPolicy.Settle));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Climb(DriftLevel.Critical, CorrectionAction.Pause, T0, null, T0 + DriftPolicy.Settle));
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Climb(DriftLevel.Minor, CorrectionAction.Pause, T0, null, T0 + DriftPolicy.Settle)); // never above the level's rung
        Assert.Null(DriftPolicy.Climb(DriftLevel.Normal, CorrectionAction.Pause, T0, null, T0));

        // overwhelming (critical) and lasting: the stop, whatever rung the climb is on
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Climb(DriftLevel.Critical, none, T0, T0, T0 + DriftPolicy.Lasting - TimeSpan.FromSeconds(1)));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Climb(DriftLevel.Critical, none, T0, T0, T0 + DriftPolicy.Lasting));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Climb(DriftLevel.Critical, CorrectionAction.Hint, T0, T0, T0 + DriftPolicy.Lasting));
    }

    [Fact]
    public void Drift_that_comes_back_after_a_restart_or_a_pause_takes_the_next_rung_not_the_same_one_again()
    {
        var settled = T0 + DriftPolicy.Settle;

        // the drift held on (no recurrence): the level's own rung, as before
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Climb(DriftLevel.Moderate, CorrectionAction.Restart, T0, null, settled));

        // the restart worked for a while, then the same drift came back: a pause, then after the pause the stop
        Assert.Equal(CorrectionAction.Pause, DriftPolicy.Climb(DriftLevel.Moderate, CorrectionAction.Restart, T0, null, settled, recurred: true));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Climb(DriftLevel.Moderate, CorrectionAction.Pause, T0, null, settled, recurred: true));
        Assert.Equal(CorrectionAction.Stop, DriftPolicy.Climb(DriftLevel.Severe, CorrectionAction.Pause, T0, null, settled, recurred: true));

        // still one rung at a time: not before the rung below settled; minor drift coming back is only a hint
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Climb(DriftLevel.Moderate, CorrectionAction.Restart, T0, null, settled - TimeSpan.FromSeconds(1), recurred: true));
        Assert.Equal(CorrectionAction.Hint, DriftPolicy.Climb(DriftLevel.Minor, CorrectionAction.Restart, T0, null, settled, recurred: true));
        Assert.Equal(CorrectionAction.Restart, DriftPolicy.Climb(DriftLevel.Moderate, CorrectionAction.Hint, T0, null, settled, recurred: true));
    }
}
