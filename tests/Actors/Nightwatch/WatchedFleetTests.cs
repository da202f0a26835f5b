using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Nightwatch;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>
/// What Nightwatch watches, without the actor: a revision drops the watches of agents it no longer declares (all of
/// them when the window changes), gives the others their new profile, recompiles patterns only when they changed;
/// <c>df drift</c> lists every declared agent by name, one without a watch at normal.
/// </summary>
public sealed class WatchedFleetTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);

    private static FleetSpec Fleet(NightwatchSpec? nightwatch = null, params AgentSpec[] agents) => new()
    {
        Agents = agents,
        Providers = [new ProviderSpec { Name = "anthropic", Cli = CliCatalog.Claude }],
        Nightwatch = nightwatch ?? new NightwatchSpec(),
    };

    private static readonly AgentSpec Coder = new() { Name = "coder", Cli = CliCatalog.Claude, Provider = "anthropic" };
    private static readonly AgentSpec Pinger = new() { Name = "pinger", Cli = CliCatalog.Command, Command = ["ping"] };

    [Fact]
    public void A_revision_drops_the_watches_of_agents_it_no_longer_declares_and_gives_the_others_their_new_profile()
    {
        var fleet = new WatchedFleet();
        fleet.Apply(Fleet(null, Coder, Pinger));
        var coder = fleet.WatchOf("coder");
        fleet.WatchOf("pinger");
        Assert.True(coder.Signals.Profile.LoopsInText);

        // coder becomes a plain command; pinger is gone
        fleet.Apply(Fleet(null, Coder with { Cli = CliCatalog.Command, Command = ["true"] }));

        Assert.Same(coder, fleet.WatchOf("coder"));
        Assert.False(coder.Signals.Profile.LoopsInText);
        Assert.False(fleet.Watched("pinger"));
        Assert.Equal(["coder"], fleet.Watches.Keys);
        Assert.Equal("anthropic", Assert.Single(fleet.Providers).Key);
    }

    [Fact]
    public void A_new_window_starts_every_watch_afresh_and_unchanged_patterns_are_not_compiled_again()
    {
        var fleet = new WatchedFleet();
        fleet.Apply(Fleet(null, Coder));
        var before = fleet.WatchOf("coder");
        var patterns = fleet.Patterns;

        fleet.Apply(Fleet(null, Coder));
        Assert.Same(before, fleet.WatchOf("coder"));
        Assert.Same(patterns, fleet.Patterns);

        fleet.Apply(Fleet(new NightwatchSpec { Window = TimeSpan.FromMinutes(9), ErrorPatterns = ["^boom"] }, Coder));
        Assert.NotSame(before, fleet.WatchOf("coder"));
        Assert.NotSame(patterns, fleet.Patterns);
        Assert.Equal(LineFlags.Error, fleet.Patterns.Classify("boom"));
        Assert.Equal(TimeSpan.FromMinutes(9), fleet.Spec.Window);
    }

    [Fact]
    public void Drift_lists_every_declared_agent_by_name_and_one_without_a_watch_at_normal()
    {
        var fleet = new WatchedFleet();
        fleet.Apply(Fleet(null, Pinger, Coder));
        fleet.WatchOf("coder").Apply(RouteChosen.Of("coder", "run1", new Route("claude", "openai", "gpt", "failover"), T0));
        var state = new NightwatchState(10, 10);

        var all = fleet.Drift(null, state, T0);
        var one = fleet.Drift("pinger", state, T0);

        Assert.Equal(["coder", "pinger"], all.Agents.Select(a => a.Agent));
        Assert.Equal("openai", all.Agents[0].Provider); // the run's route, not the declaration
        var pinger = Assert.Single(one.Agents);
        Assert.Equal((DriftLevel.Normal, 0.0, T0, false), (pinger.Level, pinger.Score, pinger.UpdatedAt, pinger.Paused));
        Assert.Null(pinger.Provider);
    }
}
