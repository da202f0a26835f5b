using DarkFactory.Actors.Routing;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// The agents waiting for a route, without the router: a returned route resumes exactly the agents it fits (once), an
/// agent the fleet dropped stops waiting, and each limited provider is probed once until its probe answers.
/// </summary>
public sealed class RouteWaitListTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);

    private static readonly FleetSpec Fleet = new()
    {
        Providers =
        [
            new ProviderSpec { Name = "openai", Cli = CliCatalog.Codex, Priority = 10 },
            new ProviderSpec { Name = "anthropic", Cli = CliCatalog.Claude, Priority = 20 },
        ],
        Agents =
        [
            new AgentSpec { Name = "coder", Cli = CliCatalog.Codex, Provider = "openai", Task = "fix it" },
            new AgentSpec { Name = "any", Cli = CliCatalog.Claude, Task = "write docs" },
        ],
    };

    private static ProviderBoard Limited(params string[] providers) => ProviderBoard.Empty.With(
        providers: providers.ToDictionary(p => p, _ => new ProviderCondition(ProviderState.Limited, At.AddHours(1), "429")));

    [Fact]
    public void A_route_that_returns_resumes_the_agents_it_fits_once_and_a_dropped_agent_stops_waiting()
    {
        var waiting = new RouteWaitList();
        waiting.Add(new AwaitRoute("coder", null, "openai is rate limited"));
        waiting.Add(new AwaitRoute("any", "the docs task", "every provider is rate limited"));
        waiting.Add(new AwaitRoute("gone", null, "no provider"));
        var policy = new RoutingPolicy(Fleet);
        var agents = new AgentMatcher(Fleet);

        Assert.Empty(waiting.Resumable(Limited("openai", "anthropic"), policy, agents));
        Assert.Equal(["coder", "any"], waiting.Agents); // the agent the fleet no longer declares is dropped

        var resumed = waiting.Resumable(Limited("anthropic"), policy, agents);

        Assert.Equal(new (string, string?, string?)[] { ("coder", null, "openai"), ("any", "the docs task", "openai") }, resumed.Select(r => (r.Wait.Agent, r.Wait.Task, r.Route.Provider)));
        Assert.Equal(0, waiting.Count);
        Assert.Empty(waiting.Resumable(ProviderBoard.Empty, policy, agents));
        waiting.Add(new AwaitRoute("coder", null, "again"));
        waiting.Remove("coder"); // a run of it was routed meanwhile
        Assert.Empty(waiting.Agents);
    }

    [Fact]
    public void A_limited_provider_is_probed_once_until_its_probe_answers()
    {
        var waiting = new RouteWaitList();
        var board = Limited("openai");

        Assert.Equal(["openai"], waiting.ProbesDue(Fleet, board).Select(p => p.Name));
        Assert.Empty(waiting.ProbesDue(Fleet, board));
        waiting.Answered("openai");
        Assert.Equal(["openai", "anthropic"], waiting.ProbesDue(Fleet, Limited("openai", "anthropic")).Select(p => p.Name));
    }
}
