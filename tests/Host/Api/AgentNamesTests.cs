using DarkFactory.Host.Api;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Xunit;

namespace DarkFactory.Host.Tests.Api;

/// <summary>The names whose log, history and output the API serves: fleet agents and project instances of them, nothing a path could hide in.</summary>
public sealed class AgentNamesTests
{
    private static readonly FleetSpec Fleet = new() { Agents = [new AgentSpec { Name = "engineer-cmd", Command = ["/bin/true"] }] };

    [Theory]
    [InlineData("engineer-cmd")]
    [InlineData("engineer-cmd@p-3f9a2c")]
    public void A_fleet_agent_and_a_project_instance_of_it_are_readable(string name) => Assert.True(AgentNames.Readable(Fleet, name));

    [Theory]
    [InlineData("nobody")]
    [InlineData("nobody@p-3f9a2c")] // an instance of an agent the fleet does not have
    [InlineData("engineer-cmd@")]
    [InlineData("@p-3f9a2c")]
    [InlineData("engineer-cmd@p-1@p-2")]
    [InlineData("engineer-cmd@..")]
    [InlineData("engineer-cmd@../../token")]
    [InlineData("engineer-cmd@..%2F..%2Ftoken")]
    [InlineData("engineer-cmd@p-1/../../x")]
    [InlineData("engineer-cmd@P-UPPER")]
    public void Anything_else_is_not(string name) => Assert.False(AgentNames.Readable(Fleet, name));
}
