using System.Text.Json;
using DarkFactory.Host.Tests.EndToEnd;

namespace DarkFactory.Host.Tests.Fuzz;

/// <summary>The fuzz suites' seeds and budgets, kept in tests/Host/Fuzz/seeds.json (a seed that found a bug stays as its regression).</summary>
internal static class FuzzSeeds
{
    private static readonly JsonElement Root = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(DaemonProcess.RepoRoot(), "tests", "Host", "Fuzz", "seeds.json")));

    public static IReadOnlyList<int> Seeds(string suite) => Root.GetProperty(suite).GetProperty("seeds").EnumerateArray().Select(s => s.GetInt32()).ToList();

    public static int Budget(string suite, string key) => Root.GetProperty(suite).GetProperty(key).GetInt32();

    public static IEnumerable<object[]> Of(string suite) => Seeds(suite).Select(s => new object[] { s });

    public static IEnumerable<object[]> Fleet => Of("fleet");

    public static IEnumerable<object[]> Api => Of("api");
}
