using System.Diagnostics;
using DarkFactory.Actors.Processes;
using Microsoft.Playwright;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>Runs only where Debian's chromium is installed (.ci/run installs it); says why otherwise.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium))
        {
            Skip = $"{Chromium} is not installed (apt-get install chromium; .ci/run installs it): the dashboard's browser test did not run";
        }
    }
}

/// <summary>
/// The dashboard in a real browser (Debian's headless chromium driven by Playwright) against a real
/// daemon with scripted fake agents: the page shows the fleet, the route of a routed agent's current
/// run, the providers and spend against a budget; a crash shows up as a restart within a second and as
/// drift; an action with its confirmation works, the live log shows output. Keeps a screenshot in
/// TestResults/dashboard.png.
/// </summary>
[Collection("daemon")]
public sealed class DashboardBrowserTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Fleet() => $"""
        version: 1
        providers:
          - name: primary
            cli: claude
            model: sonnet-test
            limits: {"{"} budget_per_day: 5 {"}"}
        layers:
          safety:
            backoff: {"{"} min: 0s, max: 0s {"}"}
            max_restarts: 50
            within: 1m
        agents:
          - name: keeper
            layer: safety
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            capabilities: [review]
            grace: 2s
            min_uptime: 1h # its crash below is a quick one: drift evidence (a crash after min_uptime is none)
          - name: ticker
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "5"]
            grace: 2s
          - name: once
            layer: core
            command: ["{DaemonProcess.Agent("lines.sh")}", "3"]
          - name: writer
            layer: safety
            cli: claude
            provider: primary
            command: ["{DaemonProcess.Agent("sleeper.sh")}"]
            grace: 2s
        """;

    private static string Cell(string agent, string column) => $"tr[data-agent=\"{agent}\"] td.{column}";

    [ChromiumFact]
    public async Task The_dashboard_shows_the_fleet_live_and_steers_it()
    {
        await using var daemon = new DaemonProcess(Fleet());
        await daemon.StartAsync();
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("keeper")).GetProperty("state").GetString() == "running", Wait, "keeper running");
        var endpoint = System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "daemon.json")));
        var url = endpoint.GetProperty("url").GetString()!;
        var token = endpoint.GetProperty("token").GetString()!;

        await using var browser = await DashboardBrowser.LaunchAsync("dashboard.png");
        var page = browser.Page;
        var errors = browser.Errors;
        // without a token the page asks for one
        await page.GotoAsync(url + "/");
        await page.Locator("#login").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });

        // the URL that `df dashboard` prints: the token in the fragment, then gone from the address bar
        var (dfExit, dfOut, _) = await daemon.Df("dashboard", "--print");
        Assert.Equal(0, dfExit);
        var printed = dfOut.Trim();
        Assert.Equal(url + "/#token=" + token, printed);
        await page.GotoAsync(printed);
        await Assertions.Expect(page.Locator(Cell("keeper", "state"))).ToHaveTextAsync("running", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator(Cell("ticker", "state"))).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator(Cell("once", "state"))).ToHaveTextAsync("stopped");
        Assert.DoesNotContain("token", page.Url);
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

        // the route of the run going now (chosen before the page opened: from the registry), not the declaration
        await Assertions.Expect(page.Locator(Cell("writer", "route"))).ToHaveTextAsync("claude / primary / sonnet-test", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator(Cell("once", "route"))).ToHaveTextAsync("–");

        // providers (state, breaker) and spend against the daily budget
        await Assertions.Expect(page.Locator("#providers tr", new() { HasText = "primary" })).ToContainTextAsync("ok", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator("#costs tr", new() { HasText = "primary" })).ToContainTextAsync("5", new() { Timeout = 10_000 });

        // a crash shows up as a restart within a second. The page itself notes when the row changed (a
        // MutationObserver reading the wall clock), so the figure is the page's, not the test's polling.
        var pid = (await daemon.AgentAsync("keeper")).GetProperty("pid").GetInt32();
        await page.EvaluateAsync("""
            () => {
              window.__restartSeen = null;
              const check = () => {
                const r = document.querySelector('tr[data-agent="keeper"]');
                if (window.__restartSeen === null && r && r.querySelector('td.restarts').textContent === '1' && r.querySelector('td.state').textContent === 'running') {
                  window.__restartSeen = Date.now();
                }
              };
              new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
            }
            """);
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Native.Kill(pid, Native.SIGKILL);
        await page.WaitForFunctionAsync("() => window.__restartSeen !== null", null, new PageWaitForFunctionOptions { PollingInterval = 20, Timeout = 10_000 });
        var seen = TimeSpan.FromMilliseconds(await page.EvaluateAsync<long>("() => window.__restartSeen") - killedAt);
        Assert.True(seen < TimeSpan.FromSeconds(1), $"the restart showed after {seen.TotalMilliseconds:0} ms");
        await Assertions.Expect(page.Locator(Cell("keeper", "exit"))).ToHaveTextAsync("signal 9");

        // the crash is drift evidence: the keeper's score shows, and stays the daemon's (/api/drift)
        await page.WaitForFunctionAsync("""() => parseFloat(document.querySelector('tr[data-agent="keeper"] td.drift').textContent) > 0""", null, new PageWaitForFunctionOptions { PollingInterval = 100, Timeout = 15_000 });
        var drift = (await daemon.ApiJson("/api/drift/keeper")).GetProperty("score").GetDouble();
        Assert.True(drift > 0, $"drift of keeper {drift}");

        // a new run of a routed agent: its route follows the run (the route-chosen event of that run)
        var writerPid = (await daemon.AgentAsync("writer")).GetProperty("pid").GetInt32();
        Native.Kill(writerPid, Native.SIGKILL);
        await DaemonProcess.Until(async () => (await daemon.AgentAsync("writer")).GetProperty("restarts").GetInt32() == 1, Wait, "writer restarted");
        await Assertions.Expect(page.Locator(Cell("writer", "restarts"))).ToHaveTextAsync("1", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator(Cell("writer", "route"))).ToHaveTextAsync("claude / primary / sonnet-test", new() { Timeout = 10_000 });

        // an action with a confirmation: cancel does nothing, confirm stops the agent
        await page.Locator("tr[data-agent=\"ticker\"] button[data-action=\"stop\"]").ClickAsync();
        await Assertions.Expect(page.Locator("#confirm-text")).ToHaveTextAsync("Stop ticker?");
        await page.Locator("#confirm-cancel").ClickAsync();
        Assert.Equal("running", (await daemon.AgentAsync("ticker")).GetProperty("state").GetString());
        await page.Locator("tr[data-agent=\"ticker\"] button[data-action=\"stop\"]").ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Assertions.Expect(page.Locator(Cell("ticker", "state"))).ToHaveTextAsync("stopped", new() { Timeout = 10_000 });
        Assert.Equal("stopped", (await daemon.AgentAsync("ticker")).GetProperty("state").GetString());

        // run a task from the page; its output in the live log
        await page.Locator("#log-agent").SelectOptionAsync("once");
        await page.Locator("tr[data-agent=\"once\"] button[data-action=\"run\"]").ClickAsync();
        await page.Locator("#confirm-task").FillAsync("three lines please");
        await page.Locator("#confirm-ok").ClickAsync();
        await Assertions.Expect(page.Locator(Cell("once", "state"))).ToHaveTextAsync("completed", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("line 3", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator("#toast")).ToContainTextAsync("once:");

        // panels of features that are not there answer "not available" instead of breaking the page
        await Assertions.Expect(page.Locator("#providers")).Not.ToHaveTextAsync("loading…");
        var unexpected = errors.Where(e => !e.Contains("404", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, "browser errors: " + string.Join(" | ", unexpected));
    }
}
