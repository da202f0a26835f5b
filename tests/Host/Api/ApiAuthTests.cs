using DarkFactory.Actors.Processes;
using DarkFactory.Host.Api;
using DarkFactory.Messages.Agents;
using DarkFactory.Messages.Fleet;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace DarkFactory.Host.Tests.Api;

/// <summary>The scope of a run's token (issue 14, finding 5): what an agent may ask the API, and while when.</summary>
public sealed class ApiAuthTests
{
    private static readonly RunPrincipal Scanner = new("scanner", "r1");

    private static readonly Dictionary<string, AgentStatus> Fleet = new()
    {
        ["scanner"] = new AgentStatus { Agent = "scanner", Layer = LayerName.Core, State = AgentState.Running, RunId = "r1" },
        ["implementer"] = new AgentStatus { Agent = "implementer", Layer = LayerName.Growth, State = AgentState.Stopped },
        ["guard"] = new AgentStatus { Agent = "guard", Layer = LayerName.Safety, State = AgentState.Running, RunId = "g1" },
    };

    private static AgentStatus? Find(string name) => Fleet.GetValueOrDefault(name);

    [Theory]
    [InlineData("GET", "/api/status")]
    [InlineData("GET", "/api/agents")]
    [InlineData("GET", "/api/agents/guard")]
    [InlineData("GET", "/api/capabilities")]
    [InlineData("GET", "/api/schedule")]
    [InlineData("POST", "/api/agents/implementer/run")]
    [InlineData("POST", "/api/agents/implementer/start")]
    public void A_run_may_read_the_fleet_and_start_an_on_demand_growth_agent(string method, string path)
    {
        Assert.Null(ApiAuth.RunMayNot(method, new PathString(path), Scanner, Find));
    }

    [Theory]
    [InlineData("POST", "/api/agents/guard/stop", "may read the fleet's status")]
    [InlineData("POST", "/api/agents/guard/restart", "may read the fleet's status")]
    [InlineData("POST", "/api/agents/guard/run", "growth layer")]
    [InlineData("POST", "/api/agents/scanner/run", "may not start itself")]
    [InlineData("POST", "/api/reload", "may read the fleet's status")]
    [InlineData("POST", "/api/reviews", "may read the fleet's status")]
    [InlineData("GET", "/api/agents/guard/logs", "may read the fleet's status")]
    [InlineData("GET", "/api/agents/guard/history", "may read the fleet's status")]
    [InlineData("GET", "/api/events", "may read the fleet's status")]
    [InlineData("GET", "/api/costs", "may read the fleet's status")]
    [InlineData("GET", "/metrics", "may read the fleet's status")]
    public void Anything_else_is_refused_naming_what_a_run_may_do(string method, string path, string why)
    {
        Assert.Contains(why, ApiAuth.RunMayNot(method, new PathString(path), Scanner, Find));
    }

    [Fact]
    public void A_run_token_is_void_once_its_run_is_not_the_agents_current_one()
    {
        Assert.True(ApiAuth.IsLive(Scanner, Find));
        Assert.False(ApiAuth.IsLive(Scanner with { RunId = "r0" }, Find));
        Assert.False(ApiAuth.IsLive(new RunPrincipal("implementer", "x"), Find));
        Assert.False(ApiAuth.IsLive(new RunPrincipal("gone", "r1"), Find));
        Assert.Equal("agent scanner", new ApiPrincipal(Scanner).By);
        Assert.Equal(Requester.Operator, ApiPrincipal.Operator.By);
    }
}
