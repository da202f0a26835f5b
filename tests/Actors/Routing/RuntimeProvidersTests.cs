using DarkFactory.Actors.Routing;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages.Fleet;
using DarkFactory.Messages.Providers;
using Xunit;

namespace DarkFactory.Actors.Tests.Routing;

/// <summary>
/// Providers added at runtime (<c>df provider add</c>): what an add or a removal records or refuses (naming the field),
/// how they merge with fleet.yaml's (the file wins a name), the router's state keeping them through a snapshot, and a
/// node's route board routing to one that arrives with the router's board.
/// </summary>
public sealed class RuntimeProvidersTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly AgentSpec Coder = new() { Name = "coder", Cli = CliCatalog.Codex, Task = "fix the parser" };

    private static readonly FleetSpec Fleet = new()
    {
        Providers = [new ProviderSpec { Name = "openai", Cli = CliCatalog.Codex, ApiKeyEnv = "OPENAI_API_KEY", Priority = 10 }],
        Agents = [Coder],
        SourcePath = "/srv/fleet.yaml",
    };

    private static readonly Func<string, bool> OnlySpareKeySet = v => v == "SPARE_KEY";

    private static AddProvider Spare(decimal? credits = 100m, int? priority = 1) => new("spare", "codex", "gpt-5-codex", "SPARE_KEY", credits, priority, "operator");

    [Fact]
    public void An_add_records_the_variable_name_and_the_defaults()
    {
        var (added, refusal) = RuntimeProviders.Add(Spare(priority: null), Fleet, OnlySpareKeySet, At);

        Assert.Null(refusal);
        Assert.Equal(new ProviderAdded("spare", "codex", "gpt-5-codex", "SPARE_KEY", 100m, RuntimeProviders.DefaultPriority, "operator", At), added);
        var spec = RuntimeProviders.Spec(added!);
        Assert.Equal(("spare", "codex", "gpt-5-codex", "SPARE_KEY", 100m), (spec.Name, spec.Cli, spec.Model, spec.ApiKeyEnv, spec.Limits.Credits));
    }

    [Theory]
    [InlineData("Bad Name", "codex", "m", "SPARE_KEY", null, null, "name: 'Bad Name' is not a valid provider name")]
    [InlineData("spare", "command", "m", "SPARE_KEY", null, null, "cli: 'command' is not an AI CLI")]
    [InlineData("spare", "cursor", "m", "SPARE_KEY", null, null, "cli: 'cursor' is not an AI CLI")]
    [InlineData("spare", "codex", " ", "SPARE_KEY", null, null, "model: a provider added at runtime needs a model")]
    [InlineData("spare", "codex", "m", "sk-live-123 456", null, null, "api_key_env: 'sk-live-123 456' is not an environment variable name")]
    [InlineData("spare", "codex", "m", "OTHER_KEY", null, null, "api_key_env: the daemon's environment does not set OTHER_KEY")]
    [InlineData("spare", "codex", "m", "SPARE_KEY", "0", null, "credits: must be above 0")]
    [InlineData("spare", "codex", "m", "SPARE_KEY", null, -1, "priority: must be between 0 and 1000")]
    public void A_bad_add_is_refused_naming_the_field(string name, string cli, string model, string keyEnv, string? credits, int? priority, string message)
    {
        var cmd = new AddProvider(name, cli, model, keyEnv, credits is null ? null : decimal.Parse(credits, System.Globalization.CultureInfo.InvariantCulture), priority);

        var (added, refusal) = RuntimeProviders.Add(cmd, Fleet, OnlySpareKeySet, At);

        Assert.Null(added);
        Assert.Equal(ProviderCommandOutcome.Invalid, refusal!.Outcome);
        Assert.False(refusal.Ok);
        Assert.StartsWith(message, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fleet_yaml_name_is_a_conflict_for_add_and_remove_and_an_unknown_name_is_not_found()
    {
        var (_, clash) = RuntimeProviders.Add(Spare() with { Name = "openai", ApiKeyEnv = "SPARE_KEY" }, Fleet, OnlySpareKeySet, At);
        Assert.Equal(ProviderCommandOutcome.Conflict, clash!.Outcome);
        Assert.Contains("defined in fleet.yaml (/srv/fleet.yaml)", clash.Message, StringComparison.Ordinal);

        var none = new Dictionary<string, ProviderAdded>();
        Assert.Equal(ProviderCommandOutcome.Conflict, RuntimeProviders.Remove(new RemoveProvider("openai"), Fleet, none, At).Refusal!.Outcome);
        Assert.Equal(ProviderCommandOutcome.NotFound, RuntimeProviders.Remove(new RemoveProvider("spare"), Fleet, none, At).Refusal!.Outcome);

        var added = RuntimeProviders.Add(Spare(), Fleet, OnlySpareKeySet, At).Event!;
        Assert.Equal(new ProviderRemoved("spare", "operator", At), RuntimeProviders.Remove(new RemoveProvider("spare"), Fleet, new Dictionary<string, ProviderAdded> { ["spare"] = added }, At).Event);
    }

    [Fact]
    public void Added_providers_follow_fleet_yamls_and_one_whose_name_the_file_took_later_is_shadowed()
    {
        var spare = RuntimeProviders.Add(Spare(), Fleet, OnlySpareKeySet, At).Event!;
        var late = spare with { Name = "openai", Cli = "claude" }; // fleet.yaml took the name after it was added

        var merged = RuntimeProviders.Merge(Fleet, [RuntimeProviders.Spec(spare), RuntimeProviders.Spec(late)]);

        Assert.Equal(["openai", "spare"], merged.Providers.Select(p => p.Name));
        Assert.Equal("codex", merged.Providers[0].Cli);
        Assert.Same(Fleet, RuntimeProviders.Merge(Fleet, []));
        var configs = RuntimeProviders.Configs(Fleet, [spare, late]);
        Assert.Equal([("openai", "fleet", false), ("openai", "runtime", true), ("spare", "runtime", false)], configs.Select(c => (c.Name, c.Source, c.Shadowed)));
    }

    [Fact]
    public void The_router_state_keeps_added_providers_through_a_snapshot_and_forgets_a_removed_one()
    {
        var state = new RouterState(new ManualClock(At));
        Assert.True(state.Apply(new ProviderAdded("spare", "codex", "m", "SPARE_KEY", 5m, 1, "operator", At)));
        Assert.True(state.Apply(new ProviderAdded("spare", "codex", "m", "SPARE_KEY", 50m, 1, "operator", At))); // credits raised
        Assert.True(state.Apply(new ProviderAdded("extra", "claude", "s", "EXTRA_KEY", null, 100, "operator", At)));
        Assert.True(state.Apply(new ProviderRemoved("extra", "operator", At)));

        var restored = new RouterState(new ManualClock(At));
        restored.Restore(state.Snapshot(At));

        Assert.Equal(50m, Assert.Single(restored.AddedSpecs).Limits.Credits);
        Assert.Equal(["spare"], restored.Added.Keys);
        Assert.Same(restored.AddedSpecs, restored.AddedSpecs);
    }

    [Fact]
    public void A_route_board_routes_to_a_provider_that_arrives_with_the_routers_board_and_drops_it_when_removed()
    {
        var routes = new RouteBoard();
        var openaiOut = new Dictionary<string, ProviderCondition> { ["openai"] = new(ProviderState.OverBudget, null, "credits exhausted: $5.00 of $5.00") };
        routes.Publish(new RoutingPolicy(Fleet), ProviderBoard.Empty.With(providers: openaiOut));
        Assert.Null(routes.Decide(Coder.Task!, Coder)!.Chosen);

        var spare = RuntimeProviders.Spec(RuntimeProviders.Add(Spare(), Fleet, OnlySpareKeySet, At).Event!);
        routes.Publish(ProviderBoard.Empty.With(providers: openaiOut) with { Added = [spare] });
        var policy = routes.Policy;
        Assert.Equal("spare", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider);
        Assert.Contains(policy!.Providers, p => p.Name == "spare");

        routes.Publish(ProviderBoard.Empty with { Added = [spare] }); // the same providers: the same compiled policy
        Assert.Same(policy, routes.Policy);
        Assert.Equal("spare", routes.Decide(Coder.Task!, Coder)!.Chosen!.Provider); // priority 1 before openai's 10

        routes.Publish(ProviderBoard.Empty.With(providers: openaiOut)); // removed
        Assert.Null(routes.Decide(Coder.Task!, Coder)!.Chosen);
        Assert.Equal(["openai"], routes.Policy!.Providers.Select(p => p.Name));
    }
}
