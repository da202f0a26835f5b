using DarkFactory.Messages.Fleet;
using Xunit;
using static DarkFactory.Host.Tests.Fleet.FleetTestSupport;

namespace DarkFactory.Host.Tests.Fleet;

/// <summary>fleet.yaml <c>agents[].permission_mode</c> and <c>agents[].allowed_tools</c>.</summary>
public sealed class FleetPermissionKeysTests
{
    [Fact]
    public void Permission_mode_and_allowed_tools_are_read()
    {
        var result = Load(Agent("permission_mode: bypass\nallowed_tools: [\"Bash(git:*)\", \"Bash(dotnet test:*)\"]"));

        AssertValid(result);
        var agent = result.Fleet!.Agents[0];
        Assert.Equal(PermissionMode.Bypass, agent.PermissionMode);
        Assert.Equal(["Bash(git:*)", "Bash(dotnet test:*)"], agent.AllowedTools);
    }

    [Fact]
    public void By_default_an_agent_may_edit_files_and_nothing_more()
    {
        var agent = Load(Agent()).Fleet!.Agents[0];

        Assert.Equal(PermissionMode.AcceptEdits, agent.PermissionMode);
        Assert.Empty(agent.AllowedTools);
    }

    [Fact]
    public void An_unknown_permission_mode_is_an_error_at_its_position()
    {
        var yaml = Agent("permission_mode: yolo");
        AssertError(Load(yaml), yaml, "agents[0].permission_mode", "yolo");
    }
}
