using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml <c>agents[].sandbox</c> and <c>agents[].network</c> (issue 14).</summary>
public sealed class FleetSandboxKeysTests
{
    [Fact]
    public void Sandbox_and_network_are_read_and_default_to_auto_and_open()
    {
        var result = Load(Agent("sandbox: required\nnetwork: closed"));

        AssertValid(result);
        Assert.Equal((SandboxMode.Required, NetworkAccess.Closed), (result.Fleet!.Agents[0].Sandbox, result.Fleet.Agents[0].Network));
        var plain = Load(Agent()).Fleet!.Agents[0];
        Assert.Equal((SandboxMode.Auto, NetworkAccess.Open), (plain.Sandbox, plain.Network));
        Assert.Equal(SandboxMode.Off, Load(Agent("sandbox: off")).Fleet!.Agents[0].Sandbox);
    }

    [Theory]
    [InlineData("sandbox: maybe", "agents[0].sandbox", "maybe", null)]
    [InlineData("network: none", "agents[0].network", "none", null)]
    [InlineData("sandbox: off\nnetwork: closed", "agents[0].network", "closed", "network: closed needs the sandbox")]
    public void A_bad_value_or_a_closed_network_without_the_sandbox_is_an_error_at_its_position(string keys, string path, string marker, string? message)
    {
        var yaml = Agent(keys);
        AssertError(Load(yaml), yaml, path, marker, message);
    }
}
