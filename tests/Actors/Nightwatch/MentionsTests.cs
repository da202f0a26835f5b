using DarkFactory.Actors.Nightwatch;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Actors.Tests.Nightwatch;

/// <summary>@mentions of on-demand agents start them with the rest of the line, once per cooldown, never the speaker itself.</summary>
public sealed class MentionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static readonly FleetSpec Fleet = new()
    {
        Agents =
        [
            new AgentSpec { Name = "implementer", Layer = LayerName.Growth, Cli = "claude" },
            new AgentSpec { Name = "docs-writer", Layer = LayerName.Growth, Cli = "claude" },
            new AgentSpec { Name = "nightly", Layer = LayerName.Growth, Cli = "claude", Schedule = "0 3 * * *" },
            new AgentSpec { Name = "always", Layer = LayerName.Growth, Cli = "claude", Autostart = true },
            new AgentSpec { Name = "coder", Layer = LayerName.Core, Cli = "claude" },
        ],
    };

    private static Mentions Mentions()
    {
        var m = new Mentions(TimeSpan.FromMinutes(1));
        m.Fleet(Fleet);
        return m;
    }

    [Fact]
    public void A_mention_of_an_on_demand_agent_starts_it_with_the_rest_of_the_line()
    {
        var start = Assert.Single(Mentions().In("coder", "Done. @implementer: add tests for the parser", T0));

        Assert.Equal(("implementer", "add tests for the parser (asked by coder)"), (start.Agent, start.Task));
        Assert.Equal("agent coder (@mention)", start.By); // the history names who asked (issue 14)
        Assert.Null(Assert.Single(Mentions().In("coder", "@docs-writer", T0)).Task);
    }

    [Theory]
    [InlineData("@implementerx is another name")]
    [InlineData("@nightly has a schedule")]
    [InlineData("@always runs anyway")]
    [InlineData("@coder is not on demand")]
    [InlineData("no mention at all")]
    public void Only_whole_names_of_on_demand_agents_count(string line) => Assert.Empty(Mentions().In("reviewer", line, T0));

    [Fact]
    public void An_agent_is_started_once_per_cooldown_and_never_by_itself()
    {
        var m = Mentions();

        Assert.Empty(m.In("implementer", "@implementer do it yourself", T0));
        Assert.Single(m.In("coder", "@implementer one", T0));
        Assert.Empty(m.In("coder", "@implementer two", T0.AddSeconds(59)));
        Assert.Single(m.In("coder", "@implementer three", T0.AddSeconds(60)));
        Assert.Equal(new[] { "implementer", "docs-writer" }, m.In("coder", "@implementer and @docs-writer", T0.AddMinutes(5)).Select(s => s.Agent));
    }

    [Fact]
    public void A_fleet_without_on_demand_agents_has_nothing_to_mention()
    {
        var m = new Mentions(TimeSpan.FromMinutes(1));
        Assert.False(m.Any);
        m.Fleet(Fleet);
        Assert.True(m.Any);
        m.Fleet(new FleetSpec());
        Assert.False(m.Any);
    }
}
