using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>Issue 15, finding 3: a truncated fleet file is an error, never a fleet of nothing.</summary>
public sealed class FleetLoaderEmptyFileTests
{
    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("# the fleet\n")]
    [InlineData("   # only a comment, indented\n# and another\n")]
    public void An_empty_file_or_one_with_only_comments_is_an_error_naming_the_file(string yaml)
    {
        var result = Load(yaml);

        Assert.False(result.Ok);
        var e = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.Equal((FileName, 1, 1), (e.File, e.Line, e.Column));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version: 1\n")]
    [InlineData("# fleet\nversion: 1 # the only key\n")]
    public void A_file_with_only_a_version_is_an_error(string yaml)
    {
        var result = Load(yaml);

        Assert.False(result.Ok);
        var e = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.Equal("agents", e.Field);
        Assert.Contains("agents: []", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_empty_agents_list_is_a_valid_fleet_of_no_agents()
    {
        var result = Load("version: 1\nagents: []\n");

        Assert.True(result.Ok, string.Join(" | ", result.Diagnostics));
        Assert.Empty(result.Fleet!.Agents);
    }
}
