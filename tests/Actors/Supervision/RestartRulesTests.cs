using DarkFactory.Actors.Supervision;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Supervision;

public sealed class RestartRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static LayerSpec Layer(int maxRestarts = 3, int quarantineAfter = 5) => new()
    {
        Name = LayerName.Core,
        MaxRestarts = maxRestarts,
        Within = TimeSpan.FromSeconds(60),
        QuarantineAfter = quarantineAfter,
        Backoff = new BackoffSpec { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(30), Jitter = 0.2, ResetAfter = TimeSpan.FromSeconds(30) },
    };

    [Theory]
    [InlineData(RestartType.Permanent, false, RestartAction.Restart)]
    [InlineData(RestartType.Permanent, true, RestartAction.Restart)]
    [InlineData(RestartType.Transient, false, RestartAction.None)]
    [InlineData(RestartType.Transient, true, RestartAction.Restart)]
    [InlineData(RestartType.Temporary, false, RestartAction.None)]
    [InlineData(RestartType.Temporary, true, RestartAction.None)]
    public void Restart_types_follow_OTP(RestartType type, bool abnormal, RestartAction expected)
    {
        var layer = Layer();
        var decision = RestartRules.Decide(type, abnormal, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 0, layer, new RestartIntensity(3, layer.Within), T0, 0);
        Assert.Equal(expected, decision.Action);
    }

    [Theory]
    [InlineData(RestartType.Permanent, RestartAction.Restart)]
    [InlineData(RestartType.Transient, RestartAction.Restart)]
    [InlineData(RestartType.Temporary, RestartAction.None)]
    public void A_run_ended_on_its_providers_limit_is_no_crash_and_keeps_the_crash_count(RestartType type, RestartAction expected)
    {
        var decision = RestartRules.AfterLimit(type, consecutiveCrashes: 4);
        Assert.Equal((expected, TimeSpan.Zero, 4), (decision.Action, decision.Delay, decision.ConsecutiveCrashes));
    }

    [Fact]
    public void Intensity_is_a_sliding_window()
    {
        var intensity = new RestartIntensity(3, TimeSpan.FromSeconds(60));
        Assert.True(intensity.TryRecord(T0));
        Assert.True(intensity.TryRecord(T0.AddSeconds(10)));
        Assert.True(intensity.TryRecord(T0.AddSeconds(20)));
        Assert.False(intensity.TryRecord(T0.AddSeconds(30)));

        // the first restart leaves the window at T0+60s: one more fits
        Assert.True(intensity.TryRecord(T0.AddSeconds(60)));
        Assert.False(intensity.TryRecord(T0.AddSeconds(61)));
        Assert.Equal(3, intensity.InWindow(T0.AddSeconds(61)));
    }

    [Fact]
    public void Exceeding_intensity_escalates()
    {
        var layer = Layer(maxRestarts: 2, quarantineAfter: 100);
        var intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);
        var crashes = 0;
        var actions = new List<RestartAction>();
        for (var i = 0; i < 3; i++)
        {
            var d = RestartRules.Decide(RestartType.Permanent, true, TimeSpan.Zero, AgentSpec.DefaultMinUptime, crashes, layer, intensity, T0.AddSeconds(i), 0);
            crashes = d.ConsecutiveCrashes;
            actions.Add(d.Action);
        }

        Assert.Equal([RestartAction.Restart, RestartAction.Restart, RestartAction.Escalate], actions);
    }

    [Fact]
    public void Crash_loop_is_quarantined_before_the_layer_escalates()
    {
        var layer = Layer(maxRestarts: 10, quarantineAfter: 3);
        var intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);
        var crashes = 0;
        RestartDecision d = null!;
        for (var i = 0; i < 3; i++)
        {
            d = RestartRules.Decide(RestartType.Transient, true, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), crashes, layer, intensity, T0.AddSeconds(i), 0);
            crashes = d.ConsecutiveCrashes;
        }

        Assert.Equal(RestartAction.Quarantine, d.Action);
        Assert.Equal(3, d.ConsecutiveCrashes);
        Assert.Contains("crash loop", d.Reason);
    }

    [Fact]
    public void A_run_that_stayed_up_reset_after_resets_the_crash_counter_when_min_uptime_is_longer()
    {
        var layer = Layer(quarantineAfter: 3);
        var d = RestartRules.Decide(RestartType.Transient, true, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), 2, layer, new RestartIntensity(10, layer.Within), T0, 0);
        Assert.Equal(RestartAction.Restart, d.Action);
        Assert.Equal(1, d.ConsecutiveCrashes);
        Assert.Equal(TimeSpan.FromSeconds(1), d.Delay);
    }

    [Fact]
    public void A_crash_after_min_uptime_restarts_at_once_and_counts_for_no_backoff_quarantine_or_intensity()
    {
        // the default: backoff 1 s doubling, quarantine after 5, at most 2 restarts a minute
        var layer = Layer(maxRestarts: 2, quarantineAfter: 5);
        var intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);
        var crashes = 4; // four quick crashes before: one more quick one would be quarantined
        for (var i = 0; i < 50; i++)
        {
            var d = RestartRules.Decide(RestartType.Permanent, true, TimeSpan.FromSeconds(2), AgentSpec.DefaultMinUptime, crashes, layer, intensity, T0.AddSeconds(2 * i), 0.9);
            Assert.Equal(RestartAction.Restart, d.Action);
            Assert.Equal(TimeSpan.Zero, d.Delay);
            Assert.Equal(0, d.ConsecutiveCrashes);
            Assert.Contains("restarted at once", d.Reason);
            crashes = d.ConsecutiveCrashes;
        }

        Assert.Equal(0, intensity.InWindow(T0.AddSeconds(100)));
    }

    [Fact]
    public void Quick_crashes_after_a_settled_one_climb_the_ladder_from_the_first_rung()
    {
        var layer = Layer(maxRestarts: 100, quarantineAfter: 3);
        var intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);
        var settled = RestartRules.Decide(RestartType.Permanent, true, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2, layer, intensity, T0, 0);
        Assert.Equal((RestartAction.Restart, TimeSpan.Zero, 0), (settled.Action, settled.Delay, settled.ConsecutiveCrashes));

        var quick = new List<RestartDecision>();
        var crashes = settled.ConsecutiveCrashes;
        for (var i = 1; i <= 3; i++)
        {
            var d = RestartRules.Decide(RestartType.Permanent, true, TimeSpan.FromMilliseconds(999), TimeSpan.FromSeconds(1), crashes, layer, intensity, T0.AddSeconds(i), 0);
            crashes = d.ConsecutiveCrashes;
            quick.Add(d);
        }

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.Zero], quick.Select(d => d.Delay));
        Assert.Equal([RestartAction.Restart, RestartAction.Restart, RestartAction.Quarantine], quick.Select(d => d.Action));
        Assert.Contains("min_uptime 1 s", quick[^1].Reason);
        Assert.Equal(2, intensity.InWindow(T0.AddSeconds(3)));
    }

    [Fact]
    public void Min_uptime_zero_restarts_every_crash_at_once()
    {
        var layer = Layer(maxRestarts: 1, quarantineAfter: 1);
        var intensity = new RestartIntensity(layer.MaxRestarts, layer.Within);
        for (var i = 0; i < 5; i++)
        {
            var d = RestartRules.Decide(RestartType.Transient, true, TimeSpan.Zero, TimeSpan.Zero, 0, layer, intensity, T0, 0);
            Assert.Equal((RestartAction.Restart, TimeSpan.Zero), (d.Action, d.Delay));
        }
    }

    [Fact]
    public void Backoff_doubles_up_to_max_with_bounded_jitter()
    {
        var spec = new BackoffSpec { Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(10), Jitter = 0.5 };
        Assert.Equal(TimeSpan.FromSeconds(1), Backoff.Delay(spec, 1, 0));
        Assert.Equal(TimeSpan.FromSeconds(2), Backoff.Delay(spec, 2, 0));
        Assert.Equal(TimeSpan.FromSeconds(8), Backoff.Delay(spec, 4, 0));
        Assert.Equal(TimeSpan.FromSeconds(10), Backoff.Delay(spec, 9, 0));
        Assert.Equal(TimeSpan.FromSeconds(3), Backoff.Delay(spec, 2, 1));
        Assert.Equal(TimeSpan.FromSeconds(15), Backoff.Delay(spec, 30, 1));
    }

    [Fact]
    public void Zero_backoff_restarts_at_once()
    {
        var spec = new BackoffSpec { Min = TimeSpan.Zero, Max = TimeSpan.Zero, Jitter = 0.2 };
        Assert.Equal(TimeSpan.Zero, Backoff.Delay(spec, 5, 0.9));
    }

    [Fact]
    public void After_a_run_the_history_says_how_it_ended_and_a_limit_keeps_the_crash_count_while_a_crash_backs_off()
    {
        var layer = Layer() with { DefaultRestart = RestartType.Transient };
        var spec = new AgentSpec { Name = "coder" };
        var exit = new ExitInfo(1, null, T0, "boom");

        var (crashKind, crashDetail, crash) = RestartRules.AfterRun(new RunConclusion(RunEnd.Crashed, exit, TimeSpan.FromMilliseconds(10), null), spec, 2, layer, new RestartIntensity(3, layer.Within), T0, 0);
        var (limitKind, limitDetail, limit) = RestartRules.AfterRun(new RunConclusion(RunEnd.Limited, exit, TimeSpan.FromMilliseconds(10), null), spec, 2, layer, new RestartIntensity(3, layer.Within), T0, 0);
        var (killKind, _, _) = RestartRules.AfterRun(new RunConclusion(RunEnd.TimedOut, exit, TimeSpan.FromMinutes(5), null), spec, 0, layer, new RestartIntensity(3, layer.Within), T0, 0);
        var (exitKind, _, exited) = RestartRules.AfterRun(new RunConclusion(RunEnd.Exited, exit with { Code = 0 }, TimeSpan.FromMinutes(5), null), spec with { Restart = RestartType.Permanent }, 0, layer, new RestartIntensity(3, layer.Within), T0, 0);

        Assert.Equal((LifecycleKind.Crashed, "boom", RestartAction.Restart), (crashKind, crashDetail, crash.Action));
        Assert.True(crash.Delay > TimeSpan.Zero && crash.ConsecutiveCrashes > 2);
        Assert.Equal((LifecycleKind.Limited, "rate limited (exited with code 1 (boom))", RestartAction.Restart, 2, TimeSpan.Zero), (limitKind, limitDetail, limit.Action, limit.ConsecutiveCrashes, limit.Delay));
        Assert.Equal(LifecycleKind.Killed, killKind);
        Assert.Equal((LifecycleKind.Exited, RestartAction.Restart), (exitKind, exited.Action)); // the agent's own restart type wins the layer's
    }
}
