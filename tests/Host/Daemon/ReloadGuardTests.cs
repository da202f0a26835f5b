using DarkFactory.Host.Daemon;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

public sealed class ReloadGuardTests
{
    private static FleetSpec Fleet(params (string Name, LayerName Layer)[] agents) =>
        new() { Agents = agents.Select(a => new AgentSpec { Name = a.Name, Layer = a.Layer, Command = ["true"] }).ToList() };

    private static readonly FleetSpec Running = Fleet(("guard", LayerName.Safety), ("ticker", LayerName.Safety), ("builder", LayerName.Core));

    [Fact]
    public void A_fleet_of_no_agents_is_refused_naming_every_agent_it_would_stop()
    {
        var refusal = ReloadGuard.Check(Running, Fleet(), allowEmpty: false);

        Assert.NotNull(refusal);
        Assert.Equal(["guard", "ticker", "builder"], refusal.WouldStop);
        Assert.Contains("guard, ticker, builder", refusal.Reason, StringComparison.Ordinal);
        Assert.Contains("--allow-empty", refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fleet_without_its_safety_agents_is_refused_naming_them()
    {
        var refusal = ReloadGuard.Check(Running, Fleet(("builder", LayerName.Core)), allowEmpty: false);

        Assert.NotNull(refusal);
        Assert.Equal(["guard", "ticker"], refusal.WouldStop);
        Assert.Contains("every safety agent (guard, ticker)", refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Safety_agents_moved_out_of_the_safety_layer_are_refused_too()
    {
        var refusal = ReloadGuard.Check(Running, Fleet(("guard", LayerName.Core), ("ticker", LayerName.Core)), allowEmpty: false);

        Assert.NotNull(refusal);
        Assert.Empty(refusal.WouldStop);
        Assert.Contains("no agent in the safety layer", refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Asked_for_explicitly_it_goes_through()
    {
        Assert.Null(ReloadGuard.Check(Running, Fleet(), allowEmpty: true));
        Assert.Null(ReloadGuard.Check(Running, Fleet(("builder", LayerName.Core)), allowEmpty: true));
    }

    [Fact]
    public void Ordinary_reloads_and_the_first_apply_go_through()
    {
        Assert.Null(ReloadGuard.Check(null, Fleet(), allowEmpty: false)); // the start applies what the file says
        Assert.Null(ReloadGuard.Check(Fleet(), Fleet(), allowEmpty: false)); // nothing running: nothing to stop
        Assert.Null(ReloadGuard.Check(Running, Fleet(("guard", LayerName.Safety)), allowEmpty: false)); // some stop, a safety agent stays
        Assert.Null(ReloadGuard.Check(Fleet(("builder", LayerName.Core)), Fleet(("other", LayerName.Core)), allowEmpty: false)); // no safety layer before either
    }
}
