using DarkFactory.Actors.Processes;
using Microsoft.Playwright;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>Runs where both Debian's chromium and a PostgreSQL server (DF_TEST_POSTGRES) are there (.ci/run provides both).</summary>
public sealed class ClusterChromiumFactAttribute : FactAttribute
{
    public ClusterChromiumFactAttribute()
    {
        Skip = new ChromiumFactAttribute().Skip ?? new PostgresFactAttribute().Skip;
    }
}

/// <summary>
/// Issue 17, "the dashboard shows the cluster from any node": two real <c>df up --node</c> processes on PostgreSQL
/// and the dashboard of n1 in Debian's chromium. The page shows the members, where the singletons run and the agent
/// placed nowhere; the fleet table shows every agent with its node, n2's agent live (its output in the live log, its
/// restart after a SIGKILL on n2 reaches n1's page); an action on n2's agent from n1's page stops it on n2.
/// </summary>
[Collection("daemon")]
public sealed class ClusterDashboardBrowserTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-oldest
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [agents] {"}"}
            - {"{"} name: n3, roles: [agents] {"}"}
        agents:
          - name: here
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n1
          - name: there
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            grace: 2s
            node: n2
          - name: elsewhere
            layer: safety
            command: ["{DaemonProcess.Agent("ticker.sh")}", "2"]
            restart: permanent
            autostart: true
            node: n3
        """;

    private static string Cell(string agent, string column) => $"tr[data-agent=\"{agent}\"] td.{column}";

    [ClusterChromiumFact]
    public async Task The_dashboard_of_one_node_shows_the_whole_cluster_and_steers_an_agent_on_another()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "30s", count: 2);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        await n1.StartAsync();
        await n2.StartAsync();
        await cluster.AllUpAsync(Wait);
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("there").Count > 0), Wait, "there running on n2");
        var (printedExit, printed, _) = await n1.Df("dashboard", "--print");
        Assert.Equal(0, printedExit);

        await using var browser = await DashboardBrowser.LaunchAsync("dashboard-cluster.png");
        var page = browser.Page;
        await page.GotoAsync(printed.Trim());

        // the members, the singletons' node, and the agent whose node is not a member
        await Assertions.Expect(page.Locator("#cluster-panel")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#cluster-self")).ToContainTextAsync("n1");
        await Assertions.Expect(page.Locator("#cluster tr", new() { HasText = "n2" })).ToContainTextAsync("up", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#cluster tr", new() { HasText = "n1" })).ToContainTextAsync("control");
        await Assertions.Expect(page.Locator("#cluster .singletons")).ToContainTextAsync("placement on n1");
        await Assertions.Expect(page.Locator("#cluster .unplaced")).ToContainTextAsync("elsewhere");

        // every agent with its node: this node's from its own stream, n2's from the cluster-wide view
        await Assertions.Expect(page.Locator(Cell("here", "node"))).ToHaveTextAsync("n1", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator(Cell("here", "state"))).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator(Cell("there", "node"))).ToHaveTextAsync("n2", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator(Cell("there", "state"))).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator(Cell("elsewhere", "node"))).ToHaveTextAsync("–");

        // n2's agent's output is live on n1's page: the log's first page is read from n2, what follows comes only over
        // n1's event stream (n2 sends it across while n1's page watches it)
        await page.Locator("#log-agent").SelectOptionAsync("there");
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("tick", new() { Timeout = 15_000 });
        var last = await page.EvaluateAsync<int>("() => Math.max(...[...document.getElementById('log').textContent.matchAll(/tick (\\d+)/g)].map(m => +m[1]))");
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync($"tick {last + 4}", new() { Timeout = 30_000 });

        // n2's agent is live on n1's page: a SIGKILL on n2 shows as its restart; n1's event stream carries n2's status
        await using var events = await SseReader.Open(n1);
        var pid = (await n2.AgentAsync("there")).GetProperty("pid").GetInt32();
        Native.Kill(pid, Native.SIGKILL);
        await Assertions.Expect(page.Locator(Cell("there", "restarts"))).ToHaveTextAsync("1", new() { Timeout = 20_000 });
        await n1.UntilAsync(() => Task.FromResult(events.Events.Any(e => e.Name == "agent-status" && e.Json.GetProperty("name").GetString() == "there" && e.Json.GetProperty("node").GetString() == "n2" && e.Json.GetProperty("restarts").GetInt32() == 1)), Wait, "n2's agent's status (restarts 1, node n2) on n1's /api/events");

        // and steered from it: stop on n1's page, stopped on n2
        await page.Locator("tr[data-agent=\"there\"] button[data-action=\"stop\"]").ClickAsync();
        await Assertions.Expect(page.Locator("#confirm-text")).ToHaveTextAsync("Stop there?");
        await page.Locator("#confirm-ok").ClickAsync();
        await n2.UntilAsync(() => Task.FromResult(n2.AgentProcesses("there").Count == 0), Wait, "there stopped on n2");
        await Assertions.Expect(page.Locator(Cell("there", "state"))).ToHaveTextAsync("stopped", new() { Timeout = 20_000 });

        var unexpected = browser.Errors.Where(e => !e.Contains("404", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, "browser errors: " + string.Join(" | ", unexpected));
    }
}
