using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Microsoft.Playwright;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The dashboard's projects panel in a real browser against a real daemon running a project with plain-command
/// personas (tests/agents/persona.sh): the project's status, progress, runtime against its max runtime and cost;
/// the task board with the task in progress, and its current run's live log one click away; pause shows paused;
/// once resumed the board ends with every task completed and its gate passed. Keeps TestResults/dashboard-projects.png.
/// </summary>
[Collection("daemon")]
public sealed class DashboardProjectsBrowserTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly GitFixture _git = new();
    private readonly string _state = Directory.CreateTempSubdirectory("df-dash-state-").FullName;

    public DashboardProjectsBrowserTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    private string Fleet() => PersonaFleet.Yaml(_state, _git.Repo, "test -f t1.txt");

    [ChromiumFact]
    public async Task The_projects_panel_shows_a_project_its_task_board_and_its_current_runs_log()
    {
        await using var daemon = new DaemonProcess(Fleet());
        PersonaFleet.Write(daemon.Root);
        await daemon.StartAsync();
        File.WriteAllText(Path.Combine(_state, "sleep"), "300"); // the engineer works until paused

        var id = (await daemon.Json("init", "auth-hardening", "--description", "Add rate limiting to the login endpoint, with tests",
            "--persona", "engineer,tester", "--repo", _git.Repo, "--max-runtime", "2h", "--json")).GetProperty("id").GetString()!;
        Assert.Equal(0, (await daemon.Df("start", id)).Exit);

        await using var browser = await DashboardBrowser.LaunchAsync("dashboard-projects.png");
        var page = browser.Page;
        var (exit, printed, _) = await daemon.Df("dashboard", "--print");
        Assert.Equal(0, exit);
        await page.GotoAsync(printed.Trim());

        var row = page.Locator($"#projects tr[data-project=\"{id}\"]");
        await Assertions.Expect(row.Locator("td.name")).ToHaveTextAsync("auth-hardening", new() { Timeout = 30_000 });
        await Assertions.Expect(row.Locator("td.status")).ToHaveTextAsync("active", new() { Timeout = 30_000 });
        await Assertions.Expect(row.Locator("td.runtime")).ToContainTextAsync("of 2h 0m");

        // the engineer's task in progress on the board, its run named, its log one click away
        await Assertions.Expect(page.Locator("#task-board .column[data-status=\"in_progress\"] li[data-task=\"t1\"]")).ToContainTextAsync("Add rate limiting", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#task-board .column[data-status=\"pending\"] li[data-task=\"t2\"]")).ToBeVisibleAsync();
        await Assertions.Expect(row.Locator("td.progress")).ToHaveTextAsync("0/2");
        await Assertions.Expect(page.Locator(".current-run")).ToContainTextAsync("task t1", new() { Timeout = 30_000 });
        // the instance's log is served by name; a made-up or path-smuggling instance name is unknown
        using var http = daemon.Client();
        var logs = await http.GetAsync($"/api/agents/engineer-cmd@{id}/logs?tail=50");
        var logText = await logs.Content.ReadAsStringAsync();
        Assert.True(logs.IsSuccessStatusCode && logText.Contains("working for 300 s", StringComparison.Ordinal), $"{logs.StatusCode}: {logText}\n{string.Join("\n", Directory.EnumerateFiles(daemon.DataDir, "*.log", SearchOption.AllDirectories))}");
        foreach (var name in new[] { "nobody@" + id, "engineer-cmd@..%2F..%2Ftoken", "engineer-cmd@..", "engineer-cmd@" + id + "@x" })
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync($"/api/agents/{name}/logs")).StatusCode);
        }

        await page.Locator("button[data-project-log]").ClickAsync();
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("working for 300 s", new() { Timeout = 30_000 });

        // pause: the run stops gracefully, the panel says so
        Assert.Equal(0, (await daemon.Df("pause", id)).Exit);
        await DaemonProcess.Until(async () => (await daemon.ApiJson($"/api/projects/{id}")).GetProperty("status").GetString() == "paused", TimeSpan.FromSeconds(30), "the project paused");
        await Assertions.Expect(row.Locator("td.status")).ToHaveTextAsync("paused", new() { Timeout = 30_000 });

        // resume without the hold: every task completed, each with its gate passed
        File.Delete(Path.Combine(_state, "sleep"));
        Assert.Equal(0, (await daemon.Df("resume", id)).Exit);
        await Assertions.Expect(row.Locator("td.status")).ToHaveTextAsync("completed", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Assertions.Expect(row.Locator("td.progress")).ToHaveTextAsync("2/2");
        var done = page.Locator("#task-board .column[data-status=\"completed\"] li");
        await Assertions.Expect(done).ToHaveCountAsync(2, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#task-board li[data-task=\"t1\"] .gate.pass", new() { HasText = "tests" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#task-board li[data-task=\"t2\"] .gate.pass", new() { HasText = "has-test" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#task-board .gate.fail")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator(".current-run")).ToHaveCountAsync(0);

        // the panel and the API agree
        var status = await daemon.ApiJson($"/api/projects/{id}");
        Assert.Equal("completed", status.GetProperty("status").GetString());
        var costText = await row.Locator("td.cost").TextContentAsync();
        Assert.Contains($"{status.GetProperty("tokens").GetInt64()} tokens", costText, StringComparison.Ordinal);

        var unexpected = browser.Errors.Where(e => !e.Contains("404", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, "browser errors: " + string.Join(" | ", unexpected));
    }

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}
