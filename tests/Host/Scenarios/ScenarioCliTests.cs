using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace DarkFactory.Host.Tests.Scenarios;

/// <summary>
/// <c>df scenario</c> as a user runs it (the real program, its exit code and output): a wrong expectation fails
/// with a readable counter-example, the seed and exit 1; an invalid file is refused with file:line:field and exit 2;
/// the library lists as <c>[{name, path, description}]</c>.
/// </summary>
public sealed class ScenarioCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-scenario-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Scenario = """
        scenario: wrong-expectation
        description: A crash loop that an expectation says is never quarantined.
        seed: 42
        until: 10m
        fleet:
          version: 1
          layers:
            core: { backoff: { min: 1s, max: 1m, jitter: 0, reset_after: 1m }, quarantine_after: 2, default_restart: permanent }
          agents:
            - { name: worker, layer: core, cli: command, command: ["true"], restart: permanent, min_uptime: 1m, autostart: true }
        agents:
          worker: { run: 5s, exit: 1 }
        expect:
          - event: AgentLifecycle
            where: { agent: worker, kind: quarantined }
            never: true
        """;

    /// <summary>The scenario's inline fleet as a fleet file, with another <c>quarantine_after</c> when asked.</summary>
    private static string FleetFile(int quarantineAfter) => $$"""
        version: 1
        layers:
          core: { backoff: { min: 1s, max: 1m, jitter: 0, reset_after: 1m }, quarantine_after: {{quarantineAfter}}, default_restart: permanent }
        agents:
          - { name: worker, layer: core, cli: command, command: ["true"], restart: permanent, min_uptime: 1m, autostart: true }
        """;

    internal static async Task<(int Code, string Out, string Err)> Df(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "df.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_wrong_expectation_exits_1_with_its_counter_example_and_the_seed()
    {
        // arrange
        var file = Path.Combine(_dir, "wrong.yaml");
        await File.WriteAllTextAsync(file, Scenario);

        // act
        var (code, stdout, _) = await Df("scenario", "run", file);

        // assert
        Assert.Equal(1, code);
        Assert.Contains($"FAIL  {file}:14: AgentLifecycle where agent=worker kind=quarantined never: counter-example: at +00:00:11: AgentLifecycle agent=worker kind=quarantined", stdout, StringComparison.Ordinal);
        Assert.Contains("0 passed, 1 failed (seed 42; again: df scenario run", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_json_verdict_carries_the_seed_given_on_the_command_line_and_the_timeline()
    {
        // arrange
        var file = Path.Combine(_dir, "wrong.yaml");
        await File.WriteAllTextAsync(file, Scenario);

        // act
        var (code, stdout, _) = await Df("scenario", "run", file, "--seed", "7", "--json");

        // assert
        Assert.Equal(1, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(7, json.RootElement.GetProperty("seed").GetInt32());
        Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Contains(json.RootElement.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("type").GetString() == "agent-lifecycle");
    }

    [Fact]
    public async Task An_invalid_scenario_exits_2_naming_file_line_and_field()
    {
        // arrange
        var file = Path.Combine(_dir, "invalid.yaml");
        await File.WriteAllTextAsync(file, Scenario.Replace("until: 10m", "until: ten minutes", StringComparison.Ordinal));

        // act
        var (code, _, stderr) = await Df("scenario", "run", file);

        // assert
        Assert.Equal(2, code);
        Assert.Contains($"{file}:4:8: error: until: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_library_lists_as_name_path_description()
    {
        // arrange
        await File.WriteAllTextAsync(Path.Combine(_dir, "wrong.yaml"), Scenario);

        // act
        var (code, stdout, _) = await Df("scenario", "list", "--dir", _dir, "--json");

        // assert
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var entry = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal("wrong-expectation", entry.GetProperty("name").GetString());
        Assert.Equal(Path.Combine(_dir, "wrong.yaml"), entry.GetProperty("path").GetString());
        Assert.StartsWith("A crash loop", entry.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_report_is_a_markdown_document_with_each_verdict_the_timeline_and_how_to_run_it_again()
    {
        // arrange
        var file = Path.Combine(_dir, "wrong.yaml");
        var report = Path.Combine(_dir, "report.md");
        await File.WriteAllTextAsync(file, Scenario);

        // act
        var (code, _, _) = await Df("scenario", "run", file, "--report", report);

        // assert
        Assert.Equal(1, code);
        var md = await File.ReadAllTextAsync(report);
        Assert.StartsWith("# Scenario `wrong-expectation`: FAILED", md, StringComparison.Ordinal);
        Assert.Contains("| **FAIL** | 14 | AgentLifecycle where agent=worker kind=quarantined never | counter-example: at +00:00:11: AgentLifecycle agent=worker kind=quarantined", md, StringComparison.Ordinal);
        Assert.Contains("| seed | 42 |", md, StringComparison.Ordinal);
        Assert.Contains("AgentLifecycle agent=worker kind=crashed", md, StringComparison.Ordinal);
        Assert.Contains($"df scenario run {file} --seed 42", md, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_dir, "report.md.tmp-*"));
    }

    [Fact]
    public async Task A_report_that_cannot_be_written_exits_2_naming_the_file()
    {
        // arrange
        var file = Path.Combine(_dir, "wrong.yaml");
        var report = Path.Combine(_dir, "no-such-directory", "report.md");
        await File.WriteAllTextAsync(file, Scenario);

        // act
        var (code, _, stderr) = await Df("scenario", "run", file, "--report", report);

        // assert
        Assert.Equal(2, code);
        Assert.Contains($"df: cannot write the report '{report}'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_under_a_laxer_fleet_exits_1_naming_the_regressed_expectation_and_the_changed_counts()
    {
        // arrange: the same agent, quarantined only after 50 crashes: the "never quarantined" expectation now holds,
        // and one that a quarantine satisfied regresses
        var file = Path.Combine(_dir, "quarantined.yaml");
        await File.WriteAllTextAsync(file, Scenario.Replace("never: true", "count: 1", StringComparison.Ordinal));
        var lax = Path.Combine(_dir, "lax.yaml");
        await File.WriteAllTextAsync(lax, FleetFile(quarantineAfter: 50));

        // act
        var (code, stdout, _) = await Df("scenario", "diff", file, "--fleet", lax);
        var (jsonCode, json, _) = await Df("scenario", "diff", file, "--fleet", lax, "--json");

        // assert
        Assert.Equal(1, code);
        Assert.Contains($"PASS -> FAIL REGRESSED {file}:14: AgentLifecycle where agent=worker kind=quarantined exactly 1x", stdout, StringComparison.Ordinal);
        Assert.Matches(@"worker\s+AgentLifecycle kind=quarantined\s+1 -> 0", stdout);
        Assert.Contains("first difference, event", stdout, StringComparison.Ordinal);
        Assert.Equal(1, jsonCode);
        using var doc = JsonDocument.Parse(json);
        Assert.True(doc.RootElement.GetProperty("regressed").GetBoolean());
        Assert.Equal(lax, doc.RootElement.GetProperty("after_fleet").GetString());
    }

    [Fact]
    public async Task Diff_under_the_same_fleet_finds_no_difference()
    {
        // arrange: the scenario's inline fleet, written out as a file
        var file = Path.Combine(_dir, "wrong.yaml");
        await File.WriteAllTextAsync(file, Scenario);
        var same = Path.Combine(_dir, "same.yaml");
        await File.WriteAllTextAsync(same, FleetFile(quarantineAfter: 2));

        // act
        var (code, stdout, _) = await Df("scenario", "diff", file, "--fleet", same);

        // assert: the expectation fails under both, so nothing regressed
        Assert.Equal(0, code);
        Assert.Contains("FAIL -> FAIL same", stdout, StringComparison.Ordinal);
        Assert.Contains("timelines: the same", stdout, StringComparison.Ordinal);
        Assert.EndsWith("no difference\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_with_an_invalid_fleet_exits_2_naming_its_file_and_line()
    {
        // arrange
        var file = Path.Combine(_dir, "wrong.yaml");
        await File.WriteAllTextAsync(file, Scenario);
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "version: 1\nagents:\n  - { name: worker, layer: nowhere, cli: command, command: [\"true\"] }\n");

        // act
        var (code, _, stderr) = await Df("scenario", "diff", file, "--fleet", bad);

        // assert
        Assert.Equal(2, code);
        Assert.Contains($"{bad}:3:", stderr, StringComparison.Ordinal);
    }
}
