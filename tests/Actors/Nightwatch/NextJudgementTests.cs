using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// When a watch must be judged again with no new input (<see cref="AgentWatch.NextJudgement"/>, kept in
/// <see cref="AgentWatch.Due"/>): nothing changes before it, and at it the verdict or rung does — the silence turning
/// into a stall and crossing each level, a bucket of errors leaving the window, a repeat leaving it, a rung's settle
/// time, lasting critical drift. And against the 1 s tick it replaces: the same verdicts and corrections, in the same
/// order, each at or before the tick's.
/// </summary>
public sealed class NextJudgementTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly NightwatchSpec Spec = new();
    private static readonly AgentSpec Coder = new() { Name = "coder", Cli = "claude", Provider = "anthropic" };
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static AgentWatch Watch() => new("coder", Spec.Window);

    private static void Line(AgentWatch w, string text, DateTimeOffset at, bool error = false)
    {
        w.Output("r1");
        w.Line("r1", new OutputLine(OutputStream.Stdout, text), error, at);
    }

    /// <summary>
    /// Follows the watch from one due instant to the next (carrying out the rungs that come due, as the actor does) until
    /// a verdict: at each, judging a tick before changes nothing (nor the due instant).
    /// </summary>
    private static DriftVerdict NextVerdict(AgentWatch w)
    {
        while (w.Due is { } due)
        {
            Assert.Equal(new Judgement(null, null), w.Judge(due - Tick, Spec));
            Assert.Equal(due, w.Due);
            var at = w.Judge(due, Spec);
            if (at.Due is { } action)
            {
                w.Correct(action, due, Spec, Coder);
                w.Judge(due, Spec);
            }

            if (at.Verdict is { } verdict)
            {
                return verdict;
            }
        }

        throw new Xunit.Sdk.XunitException("no verdict: the watch is not due any more");
    }

    [Fact]
    public void An_idle_agent_that_is_not_running_and_not_drifting_is_never_due()
    {
        var w = Watch();
        Line(w, "done, exiting", T0);
        w.Judge(T0, Spec);
        Assert.Null(w.Due);

        // a running plain command (no stall watched, no loops in text) is not due either: nothing it does not print changes
        var plain = Watch();
        plain.Signals.Profile = new WatchProfile(LoopsInText: false, StallWatched: false, CrashWeight: 1);
        plain.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        plain.Judge(T0, Spec);
        Assert.Null(plain.Due);
    }

    [Fact]
    public void A_silent_run_is_due_when_its_silence_starts_to_count_and_again_at_each_level_it_crosses()
    {
        var w = Watch();
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        w.Judge(T0, Spec);
        Assert.Equal(T0 + (Spec.StallAfter / 4), w.Due); // stall 0.10 at a quarter of stall_after: minor

        var minor = NextVerdict(w);
        Assert.Equal((DriftLevel.Minor, T0 + (Spec.StallAfter / 4)), (minor.Level, minor.At));

        // the silence goes on (the hint's settle time in between changes nothing): moderate at half of stall_after
        // (stall 0.20; a component is rounded to 4 decimals, so 0.19995 is already 0.20: 22.5 ms before), found by the
        // search to the tick
        var moderate = NextVerdict(w);
        Assert.Equal(DriftLevel.Moderate, moderate.Level);
        Assert.InRange(moderate.At, T0 + (Spec.StallAfter / 2) - TimeSpan.FromMilliseconds(50), T0 + (Spec.StallAfter / 2));
    }

    [Fact]
    public void Output_pushes_the_stall_back()
    {
        var w = Watch();
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        Line(w, "working on it", T0.AddSeconds(40));
        w.Judge(T0.AddSeconds(40), Spec);
        Assert.Equal(T0.AddSeconds(40) + (Spec.StallAfter / 4), w.Due);
    }

    [Fact]
    public void Errors_are_due_again_when_their_bucket_leaves_the_window()
    {
        var w = Watch();
        Line(w, "error: one", T0, error: true);
        Line(w, "error: two", T0, error: true); // 0.10: minor, not running
        Assert.Equal(DriftLevel.Minor, w.Judge(T0, Spec).Verdict!.Level);
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        w.Judge(T0, Spec);

        // the instants in between (the hint's settle time, its cooldown: a hint again) change no verdict
        var bucket = Spec.Window.Ticks / AgentSignals.Buckets;
        var leaves = new DateTimeOffset(((T0.UtcTicks / bucket) + AgentSignals.Buckets) * bucket, TimeSpan.Zero);
        var normal = NextVerdict(w);
        Assert.Equal((DriftLevel.Normal, leaves), (normal.Level, normal.At));
        Assert.Null(w.Due); // not running, normal again: nothing more to look at
    }

    [Fact]
    public void A_repeat_is_due_when_it_leaves_the_window()
    {
        var w = Watch();
        for (var i = 0; i < 3; i++)
        {
            Line(w, "Let me try running the tests again", T0); // loops 0.15: minor
        }

        Assert.Equal(DriftLevel.Minor, w.Judge(T0, Spec).Verdict!.Level);
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        w.Judge(T0, Spec);
        var normal = NextVerdict(w);
        Assert.Equal((DriftLevel.Normal, T0 + Spec.Window + Tick), (normal.Level, normal.At));
    }

    [Fact]
    public void Critical_drift_is_due_at_the_settle_time_and_when_it_becomes_lasting()
    {
        var w = Watch();
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Quarantined, T0, "r1")); // health 0.70: critical
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0, Spec).Due);
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        w.Judge(T0, Spec);
        Assert.Equal(T0 + DriftPolicy.Settle, w.Due);
        Assert.Null(w.Judge(T0 + DriftPolicy.Settle - Tick, Spec).Due);
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0 + DriftPolicy.Settle, Spec).Due); // the restart rung, as a hint
        w.Correct(CorrectionAction.Hint, T0 + DriftPolicy.Settle, Spec, Coder);
        w.Judge(T0 + DriftPolicy.Settle, Spec);

        Assert.Equal(T0 + DriftPolicy.Lasting, w.Due);
        Assert.Null(w.Judge(T0 + DriftPolicy.Lasting - Tick, Spec).Due);
        Assert.Equal(CorrectionAction.Stop, w.Judge(T0 + DriftPolicy.Lasting, Spec).Due);
    }

    /// <summary>The inputs of one agent over time, fed the same to both watches.</summary>
    private sealed record Input(TimeSpan At, Action<AgentWatch, DateTimeOffset> Apply);

    public static TheoryData<string> Histories => new() { "stall", "errors", "crashes", "loops", "quarantine", "mixed" };

    private static List<Input> History(string name)
    {
        void Start(AgentWatch w, DateTimeOffset at) => w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, at, "r1"));
        void Crash(AgentWatch w, DateTimeOffset at) => w.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, at, "r1") { Uptime = TimeSpan.FromMilliseconds(200) });
        void Error(AgentWatch w, DateTimeOffset at) => Line(w, "error: the build failed", at, error: true);
        void Say(AgentWatch w, DateTimeOffset at) => Line(w, "Let me try running the tests again", at);
        Input At(double seconds, Action<AgentWatch, DateTimeOffset> apply) => new(TimeSpan.FromSeconds(seconds), apply);
        return name switch
        {
            "stall" => [At(0, Start), At(700.3, Say), At(1500, Say)],
            "errors" => [At(0, Error), At(0, Error), At(3.7, Error), At(61, Error), At(62, Error), At(400, Error)],
            "crashes" => [At(0, Crash), At(12.5, Crash), At(20, Crash), At(95, Crash), At(500, Crash)],
            "loops" => [At(0, Start), At(1, Say), At(2, Say), At(3, Say), At(50, Say), At(51, Say), At(52, Say), At(53, Say)],
            "quarantine" => [At(0, Start), At(0.5, (w, t) => w.Apply(new AgentLifecycle("coder", LifecycleKind.Quarantined, t, "r1")))],
            _ => [At(0, Start), At(10, Error), At(10, Error), At(10, Error), At(130.25, Crash), At(131, Start), At(300, Say), At(301, Say), At(302, Say), At(303, Say), At(900, Start)],
        };
    }

    /// <summary>Runs a history for 40 minutes judging at the given instants; returns each verdict and correction with its time.</summary>
    private static List<(DateTimeOffset At, string What)> Run(List<Input> history, Func<AgentWatch, DateTimeOffset, DateTimeOffset?> nextLook)
    {
        var w = Watch();
        var seen = new List<(DateTimeOffset, string)>();
        var end = T0.AddMinutes(40);
        var inputs = new Queue<Input>(history);
        var look = (DateTimeOffset?)null;
        void Judge(DateTimeOffset now)
        {
            var j = w.Judge(now, Spec);
            if (j.Verdict is { } v)
            {
                seen.Add((now, $"verdict {v.Level}"));
            }

            if (j.Due is { } action)
            {
                seen.Add((now, $"correction {action}"));
                w.Correct(action, now, Spec, Coder);
                if (action == CorrectionAction.Pause)
                {
                    inputs = new Queue<Input>(inputs.Append(new Input(now - T0 + Spec.PauseFor, (x, _) => x.Resumed())).OrderBy(i => i.At));
                }

                Judge(now); // the owner judges again once the correction is recorded
            }
        }

        while (true)
        {
            var nextInput = inputs.TryPeek(out var i) ? T0 + i.At : (DateTimeOffset?)null;
            look = nextLook(w, look ?? T0);
            var now = new[] { nextInput, look }.Where(t => t is not null).Select(t => t!.Value).DefaultIfEmpty(end).Min();
            if (now >= end)
            {
                return seen;
            }

            if (nextInput == now)
            {
                inputs.Dequeue().Apply(w, now);
            }

            Judge(now);
            look = now;
        }
    }

    [Theory]
    [MemberData(nameof(Histories))]
    public void The_same_verdicts_and_corrections_as_a_judgement_every_second_each_at_or_before_it(string history)
    {
        var second = TimeSpan.FromSeconds(1);
        var ticked = Run(History(history), (w, last) => w.Signals.Running || w.Level != DriftLevel.Normal ? last + second : null);
        var tickless = Run(History(history), (w, _) => w.Due);

        Assert.NotEmpty(ticked);
        Assert.Equal(ticked.Select(x => x.What), tickless.Select(x => x.What));
        foreach (var (t, e) in ticked.Zip(tickless))
        {
            Assert.InRange(e.At, t.At - TimeSpan.FromSeconds(3), t.At);
        }
    }
}
