using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// One agent's watch without the actor: judging gives a verdict on a level change and the rung due; crashes get a
/// hint instead of a second restart; a pause or stop holds the ladder; a correction blames the route the errors or
/// crashes happened on and resets the output signals; usage is priced as the ledger prices it (cache reads once).
/// </summary>
public sealed class AgentWatchTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly NightwatchSpec Spec = new();
    private static readonly AgentSpec Coder = new() { Name = "coder", Cli = "claude", Provider = "anthropic", Model = "claude-own" };

    private static readonly Dictionary<string, ProviderSpec> Providers = new()
    {
        ["anthropic"] = new ProviderSpec { Name = "anthropic", Cli = "claude", Prices = new ProviderPrices { InputPerMillion = 3, OutputPerMillion = 15, CachedInputPerMillion = 0.3m } },
        ["openai"] = new ProviderSpec { Name = "openai", Cli = "codex", Prices = new ProviderPrices { InputPerMillion = 1, OutputPerMillion = 10 } },
    };

    private static AgentWatch Watch() => new("coder", Spec.Window);

    private static RouteChosen Route(string run, string provider, string model) => RouteChosen.Of("coder", run, new Route("claude", provider, model, "own"), T0);

    private static void Errors(AgentWatch w, string run, int count, DateTimeOffset at)
    {
        w.Output(run);
        for (var i = 0; i < count; i++)
        {
            w.Line(run, new OutputLine(OutputStream.Stdout, $"error: attempt {i}"), errorText: true, at);
        }
    }

    [Fact]
    public void A_changed_level_is_a_verdict_and_its_rung_is_due_once_per_cooldown()
    {
        var w = Watch();
        Errors(w, "r1", 3, T0); // 0.15: minor (not started: no stall either)

        var first = w.Judge(T0, Spec);
        Assert.Equal((DriftLevel.Minor, DriftLevel.Normal, "r1"), (first.Verdict!.Level, first.Verdict.Previous, first.Verdict.RunId));
        Assert.Equal(CorrectionAction.Hint, first.Due);

        var (hint, _) = w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        Assert.Equal((DriftLevel.Minor, CorrectionAction.Hint, "r1"), (hint.Level, hint.Action, hint.RunId));
        Assert.Equal(DriftPolicy.Hint(w.Components, Spec), hint.Hint);

        var again = w.Judge(T0.AddSeconds(30), Spec);
        Assert.Equal(new Judgement(null, null), again); // same level, hint within its cooldown
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0.AddMinutes(2), Spec).Due);
    }

    [Fact]
    public void Crashes_make_a_restart_rung_a_hint_and_spend_the_restart()
    {
        var w = Watch();
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0, "r1"));
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0, "r2")); // health 0.30: moderate

        var j = w.Judge(T0, Spec);
        Assert.Equal(DriftLevel.Moderate, j.Verdict!.Level);
        Assert.Equal(CorrectionAction.Hint, j.Due); // a climb starts with a hint
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);

        var later = T0 + DriftPolicy.Settle;
        Assert.Equal(CorrectionAction.Hint, w.Judge(later, Spec).Due); // the restart rung, as a hint
        Assert.Equal(later, w.LastFired[CorrectionAction.Restart]);
        Assert.Equal(CorrectionAction.Restart, w.Rung);
    }

    [Fact]
    public void A_crash_is_judged_by_the_uptime_its_layer_measured_even_when_its_start_was_not_seen()
    {
        // the runs started before Nightwatch knew the fleet: only their ends arrive, each with the layer's uptime
        var settled = Watch();
        settled.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0, "r1") { Uptime = TimeSpan.FromSeconds(2) });
        settled.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0, "r2") { Uptime = TimeSpan.FromSeconds(2) });
        Assert.Null(settled.Judge(T0, Spec).Verdict); // past min_uptime (1 s): restarted at once, no crash drift

        var quick = Watch();
        quick.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        quick.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0.AddSeconds(5), "r1") { Uptime = TimeSpan.FromMilliseconds(300) });
        quick.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0.AddSeconds(6), "r2") { Uptime = TimeSpan.FromMilliseconds(300) });
        Assert.Equal(DriftLevel.Moderate, quick.Judge(T0.AddSeconds(6), Spec).Verdict!.Level); // the layer's figure wins over the start seen
    }

    [Fact]
    public void A_pause_or_a_stop_holds_the_ladder_until_the_agent_resumes_or_starts_again()
    {
        var w = Watch();
        Errors(w, "r1", 9, T0); // 0.45: severe
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0, Spec).Due);
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        Assert.Equal(CorrectionAction.Restart, w.Judge(T0.AddSeconds(30), Spec).Due);
        w.Correct(CorrectionAction.Restart, T0.AddSeconds(30), Spec, Coder); // a fresh context: the errors are forgotten
        Errors(w, "r2", 9, T0.AddSeconds(60));
        Assert.Equal(CorrectionAction.Pause, w.Judge(T0.AddSeconds(60), Spec).Due);
        w.Correct(CorrectionAction.Pause, T0.AddSeconds(60), Spec, Coder);
        Assert.True(w.Paused);

        Errors(w, "r1", 20, T0.AddMinutes(3));
        Assert.Null(w.Judge(T0.AddMinutes(3), Spec).Due);
        w.Resumed();
        Assert.Equal(CorrectionAction.Stop, w.Judge(T0.AddMinutes(3), Spec).Due);

        w.Correct(CorrectionAction.Stop, T0.AddMinutes(3), Spec, Coder);
        Assert.True(w.Stopped);
        Errors(w, "r1", 20, T0.AddMinutes(6));
        Assert.Null(w.Judge(T0.AddMinutes(6), Spec).Due);
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0.AddMinutes(6), "r2"));
        Assert.False(w.Stopped);
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0.AddMinutes(6), Spec).Due); // started again by an operator: a new climb
    }

    [Fact]
    public void Errors_blame_the_route_of_the_run_that_printed_them_not_the_one_running_now()
    {
        var w = Watch();
        w.Apply(Route("r1", "openai", "gpt-a"));
        w.Apply(Route("r2", "anthropic", "claude-b")); // the agent already runs elsewhere
        Errors(w, "r1", 9, T0);
        w.Output("r2");
        w.Judge(T0, Spec);

        var (pause, model) = w.Correct(CorrectionAction.Pause, T0, Spec, Coder);

        Assert.Equal(("openai", "gpt-a"), (pause.Provider, model));
        Assert.Equal((DriftLevel.Severe, "r2"), (pause.Level, pause.RunId));
        w.Judge(T0, Spec);
        Assert.Equal(0, w.Components.Errors); // the fresh context forgot the errors
    }

    [Fact]
    public void A_stall_avoids_the_current_route_and_without_a_route_the_agents_own()
    {
        var w = Watch();
        w.Apply(Route("r1", "openai", "gpt-a"));
        w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        w.Judge(T0.AddMinutes(3), Spec); // silent for stall_after: stall 0.40
        Assert.Equal(DriftLevel.Severe, w.Level);

        var (stalled, model) = w.Correct(CorrectionAction.Pause, T0.AddMinutes(3), Spec, Coder);
        Assert.Equal(("openai", "gpt-a"), (stalled.Provider, model));

        var unrouted = Watch();
        unrouted.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        unrouted.Judge(T0.AddMinutes(3), Spec);
        var (own, ownModel) = unrouted.Correct(CorrectionAction.Pause, T0.AddMinutes(3), Spec, Coder);
        Assert.Equal(("anthropic", "claude-own"), (own.Provider, ownModel));
    }

    [Fact]
    public void Usage_with_cache_reads_is_priced_like_the_ledger_and_pins_the_burn_rate()
    {
        // input tokens exclude the cache reads (the adapters say so): 100k + 800k cached + 20k out at $3 / $0.30 / $15
        var usage = new AgentUsage("coder", "r1", null, null, 100_000, 20_000, T0, CachedInputTokens: 800_000);

        var cost = AgentWatch.Price(usage, "anthropic", Coder, Providers);
        Assert.Equal(0.30m + 0.24m + 0.30m, cost);

        var w = Watch();
        w.Spent(cost, T0);
        w.Judge(T0, Spec);
        Assert.Equal(0.84 * 12 / 10 * DriftCalibration.CostAtMaxBurn, w.Components.Cost, 6); // $10.08/h against $10/h
    }

    [Fact]
    public void Usage_is_priced_for_its_own_provider_else_the_runs_else_the_agents_and_a_reported_cost_wins()
    {
        var tokens = new AgentUsage("coder", "r1", null, null, 1_000_000, 0, T0);

        Assert.Equal(1m, AgentWatch.Price(tokens with { Provider = "openai" }, "anthropic", Coder, Providers));
        Assert.Equal(1m, AgentWatch.Price(tokens, "openai", Coder, Providers));
        Assert.Equal(3m, AgentWatch.Price(tokens, null, Coder, Providers));
        Assert.Equal(0m, AgentWatch.Price(tokens, "unknown", Coder, Providers));
        Assert.Equal(0m, AgentWatch.Price(tokens, null, Coder with { Provider = null }, Providers));
        Assert.Equal(0.07m, AgentWatch.Price(tokens with { CostUsd = 0.07m }, "anthropic", Coder, Providers));
    }

    [Fact]
    public void Rate_limit_lines_of_one_run_are_debounced()
    {
        var w = Watch();
        var debounce = TimeSpan.FromSeconds(10);

        Assert.True(w.LimitSeen("r1", T0, debounce));
        Assert.False(w.LimitSeen("r1", T0.AddSeconds(9), debounce));
        Assert.True(w.LimitSeen("r2", T0.AddSeconds(9), debounce)); // another run
        Assert.True(w.LimitSeen("r2", T0.AddSeconds(19), debounce));
    }

    // ---------------------------------------------------------------- issue 15, finding 8: healthy agents are left alone

    private static AgentWatch Watch(AgentSpec agent, LayerSpec? layer = null)
    {
        var w = new AgentWatch(agent.Name, Spec.Window);
        w.Signals.Profile = WatchProfile.For(agent, layer ?? LayerSpec.Default(agent.Layer));
        return w;
    }

    private static void Lines(AgentWatch w, string text, int count, DateTimeOffset at, OutputKind kind = OutputKind.Text)
    {
        w.Output("r1");
        for (var i = 0; i < count; i++)
        {
            w.Line("r1", new OutputLine(OutputStream.Stdout, text, kind), errorText: false, at);
        }
    }

    [Fact]
    public void A_burst_of_critical_evidence_starts_the_climb_with_a_hint_and_stops_only_when_it_lasts()
    {
        var w = Watch();
        Errors(w, "r1", 14, T0); // 0.70: critical at once

        var first = w.Judge(T0, Spec);
        Assert.Equal(DriftLevel.Critical, first.Verdict!.Level);
        Assert.Equal(CorrectionAction.Hint, first.Due); // not straight to the top of the ladder
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);

        Assert.Null(w.Judge(T0.AddSeconds(10), Spec).Due); // the hint gets its time
        Assert.Equal(CorrectionAction.Restart, w.Judge(T0 + DriftPolicy.Settle, Spec).Due); // one rung up, not two
        Assert.Equal(CorrectionAction.Stop, w.Judge(T0 + DriftPolicy.Lasting, Spec).Due); // overwhelming AND lasting
    }

    [Fact]
    public void The_climb_is_forgotten_after_a_whole_calm_window()
    {
        var w = Watch();
        Errors(w, "r1", 4, T0);
        Assert.Equal(CorrectionAction.Hint, w.Judge(T0, Spec).Due);
        w.Correct(CorrectionAction.Hint, T0, Spec, Coder);
        Assert.Equal(CorrectionAction.Hint, w.Rung);

        var calm = T0 + Spec.Window + TimeSpan.FromSeconds(1); // the errors left the window
        Assert.Equal(DriftLevel.Normal, w.Judge(calm, Spec).Verdict!.Level);
        Assert.Equal(CorrectionAction.Hint, w.Rung); // calm, but not for a whole window yet
        w.Judge(calm + Spec.Window, Spec);
        Assert.Null(w.Rung);
    }

    [Fact]
    public void A_plain_commands_repeated_line_is_a_heartbeat_but_an_ai_clis_repeated_line_or_tool_call_is_a_loop()
    {
        var command = Watch(new AgentSpec { Name = "ticker", Cli = CliCatalog.Command, Layer = LayerName.Safety });
        Lines(command, "heartbeat: all systems nominal", 200, T0);
        Lines(command, "y", 200, T0); // `yes`
        Lines(command, "yyyyyyyyyyyyyyyyyyyy", 200, T0);
        var quiet = command.Judge(T0, Spec);
        Assert.Equal(0, command.Components.Loops);
        Assert.Equal(new Judgement(null, null), quiet);

        var ai = Watch(Coder);
        Lines(ai, "I will run the tests again to check.", 14, T0);
        Assert.Equal(DriftLevel.Critical, ai.Judge(T0, Spec).Verdict!.Level);
        Assert.Equal(0.7, ai.Components.Loops, 3);

        var tools = Watch(Coder);
        Lines(tools, """{"name":"Bash","input":{"command":"npm test"}}""", 14, T0, OutputKind.ToolCall);
        Assert.Equal(DriftLevel.Critical, tools.Judge(T0, Spec).Verdict!.Level);
    }

    [Fact]
    public void A_silent_command_is_not_stalled_and_an_ai_cli_is_not_while_a_tool_call_is_open()
    {
        var silent = Watch(new AgentSpec { Name = "watcher", Cli = CliCatalog.Command });
        silent.Apply(new AgentLifecycle("watcher", LifecycleKind.Started, T0, "r1"));
        silent.Judge(T0 + (Spec.StallAfter * 10), Spec);
        Assert.Equal((0.0, DriftLevel.Normal), (silent.Components.Stall, silent.Level));

        var ai = Watch(Coder);
        ai.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, "r1"));
        Lines(ai, """{"name":"Bash","input":{"command":"dotnet test"}}""", 1, T0, OutputKind.ToolCall);
        ai.Judge(T0 + (Spec.StallAfter * 2), Spec); // a long test run
        Assert.Equal(0, ai.Components.Stall);

        var done = T0 + (Spec.StallAfter * 2);
        Lines(ai, "tests passed", 1, done, OutputKind.ToolResult);
        ai.Judge(done + Spec.StallAfter, Spec); // the tool answered, then the agent went silent
        Assert.Equal(DriftCalibration.StallAtStallAfter, ai.Components.Stall);
    }

    [Fact]
    public void Crashes_weigh_what_the_layers_quarantine_after_says()
    {
        var tolerant = Watch(Coder with { Layer = LayerName.Core }, LayerSpec.Default(LayerName.Core) with { QuarantineAfter = 1000 });
        var strict = Watch(Coder with { Layer = LayerName.Core });
        foreach (var w in new[] { tolerant, strict })
        {
            foreach (var run in new[] { "r1", "r2", "r3" })
            {
                w.Apply(new AgentLifecycle("coder", LifecycleKind.Started, T0, run));
                w.Apply(new AgentLifecycle("coder", LifecycleKind.Crashed, T0, run));
            }
        }

        Assert.Equal(new Judgement(null, null), tolerant.Judge(T0, Spec)); // 1000 tolerated: 3 crashes are no drift
        Assert.Equal(DriftLevel.Normal, tolerant.Level);
        Assert.Equal(DriftLevel.Severe, strict.Judge(T0, Spec).Verdict!.Level); // the calibration: quarantine_after 5
    }

    [Fact]
    public void A_restored_pause_holds_the_ladder_and_its_climb_goes_on_to_the_stop()
    {
        var w = Watch();
        w.PauseRestored(T0);
        Errors(w, "r1", 20, T0.AddMinutes(1));
        Assert.Null(w.Judge(T0.AddMinutes(1), Spec).Due);
        w.Resumed();
        Assert.Equal(CorrectionAction.Stop, w.Judge(T0.AddMinutes(1), Spec).Due);
    }
}
