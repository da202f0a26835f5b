using DarkFactory.Host.Scenarios;
using DarkFactory.Host.Tests.Scenarios;
using Microsoft.Playwright;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The dashboard's scenario timeline (<c>/ui/scenario.html</c>) in a real browser served by a real daemon: a
/// <c>df scenario run --json</c> verdict of a library scenario, loaded from a file, shows its expectations and
/// invariants, the timeline with injected steps and observed events at their virtual times, a filter, and the entries
/// an expectation matched; a file that is not such a verdict is refused by name. Keeps TestResults/dashboard-scenario.png.
/// </summary>
[Collection("daemon")]
public sealed class DashboardScenarioBrowserTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("df-dash-scenario-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ChromiumFact]
    public async Task A_scenario_runs_verdict_loaded_from_a_file_shows_its_expectations_and_timeline()
    {
        // arrange: the run as `df scenario run --json` writes it
        var loaded = ScenarioLoader.LoadFile(Path.Combine(ScenarioFiles.Root, "scenarios", "project-gate-fails-twice.yaml"));
        Assert.True(loaded.Ok, string.Join('\n', loaded.Errors));
        var outcome = await ScenarioRunner.RunAsync(loaded.Scenario!);
        var verdict = Path.Combine(_dir, "run.json");
        await File.WriteAllTextAsync(verdict, ScenarioReport.Json(outcome));
        var bogus = Path.Combine(_dir, "bogus.json");
        await File.WriteAllTextAsync(bogus, """{"agents": []}""");

        await using var daemon = new DaemonProcess("version: 1\nagents: []\n");
        await daemon.StartAsync();
        using var http = daemon.Client(withToken: false);
        await using var browser = await DashboardBrowser.LaunchAsync("dashboard-scenario.png");
        var page = browser.Page;

        // act
        await page.GotoAsync(new Uri(http.BaseAddress!, "/ui/scenario.html").ToString());
        await page.Locator("#scenario-file").SetInputFilesAsync(bogus);
        await Assertions.Expect(page.Locator("#scenario-error")).ToContainTextAsync("bogus.json: not the output of df scenario run --json");
        await page.Locator("#scenario-file").SetInputFilesAsync(verdict);

        // assert: the verdict, every expectation and invariant
        await Assertions.Expect(page.Locator("#verdict")).ToHaveTextAsync("passed");
        await Assertions.Expect(page.Locator("#scenario-summary")).ToContainTextAsync("project-gate-fails-twice · seed 16");
        await Assertions.Expect(page.Locator("#expectations tbody tr")).ToHaveCountAsync(outcome.Results.Count);
        await Assertions.Expect(page.Locator("#expectations tbody tr.fail")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#invariants tbody tr")).ToHaveCountAsync(outcome.Invariants.Count);

        // the timeline: every entry, the injected steps at their offsets, the events with their fields
        await Assertions.Expect(page.Locator("#timeline tbody tr")).ToHaveCountAsync(outcome.Timeline.Count);
        var pause = page.Locator("#timeline tr.injected[data-type=\"inject.pause_project\"]");
        await Assertions.Expect(pause).ToContainTextAsync("+00:30:00");
        await Assertions.Expect(pause).ToContainTextAsync("project=config-parser");
        await Assertions.Expect(page.Locator("#timeline tr.observed[data-type=\"project-attempt-gated\"]").First).ToContainTextAsync("passed=false");

        // the filter, and the entries an expectation matched (its instants)
        await page.Locator("#timeline-filter").FillAsync("attempt-gated");
        await Assertions.Expect(page.Locator("#timeline tbody tr")).ToHaveCountAsync(3);
        await page.Locator("#timeline-filter").FillAsync("");
        var failedTwice = outcome.Results.Select((r, i) => (r, i)).First(x => x.r.Description.Contains("AttemptGated where passed=false", StringComparison.Ordinal));
        await page.Locator($"#expectations tr[data-expectation=\"{failedTwice.i}\"]").ClickAsync();
        await Assertions.Expect(page.Locator("#timeline tr.matched")).ToHaveCountAsync(2);
        await page.Locator("#timeline-injected").CheckAsync();
        await Assertions.Expect(page.Locator("#timeline tbody tr")).ToHaveCountAsync(outcome.Timeline.Count(e => e.Source == EntrySource.Injected));

        Assert.True(browser.Errors.Count == 0, "browser errors: " + string.Join(" | ", browser.Errors));
    }
}
