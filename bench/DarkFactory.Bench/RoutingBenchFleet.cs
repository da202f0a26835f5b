using System.Globalization;
using DarkFactory.Messages.Fleet;

namespace DarkFactory.Bench;

/// <summary>
/// The synthetic fleet of the routing benchmark (bench/run --only route) and of its tests (the file is linked
/// into tests/Actors): N providers over the four AI CLIs with varied priorities and prices, M keyword rules
/// (two words and a phrase each), a task of realistic length that matches rules 137 and 171 (so rule 137's
/// provider wins), and one agent.
/// </summary>
public static class RoutingBenchFleet
{
    public const string Task =
        "The nightly job failed again after the dependency bump. Please look at the module that handles uploads; the logs mention "
        + "alpha137z twice and the stack trace points at topic 171 work in the storage layer. Keep the fix small and add a test.";

    public const string ExpectedProvider = "p37";

    private static readonly string[] Clis = [CliCatalog.Claude, CliCatalog.Codex, CliCatalog.OpenCode, CliCatalog.Gemini];

    /// <summary>The agent the benchmark routes for (no provider of its own: providers of its CLI are its own).</summary>
    public static readonly AgentSpec Agent = new() { Name = "worker", Cli = CliCatalog.Claude };

    public static FleetSpec Create(int providers, int rules) => new()
    {
        Agents = [Agent],
        Providers = Enumerable.Range(0, providers).Select(i => new ProviderSpec
        {
            Name = Name(i),
            Cli = Clis[i % Clis.Length],
            Model = $"model-{i}",
            Priority = (i * 37) % 100,
            Prices = new ProviderPrices { InputPerMillion = 0.5m + (i % 7), OutputPerMillion = 2m + (i % 11) },
        }).ToList(),
        Routing = Enumerable.Range(0, rules).Select(r => new RoutingRuleSpec
        {
            Keywords = [$"alpha{r}z", $"beta{r}z", $"topic {r} work"],
            Provider = Name(r % providers),
        }).ToList(),
    };

    private static string Name(int i) => "p" + i.ToString("00", CultureInfo.InvariantCulture);
}
