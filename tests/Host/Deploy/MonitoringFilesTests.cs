using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using DarkFactory.Host.Tests.EndToEnd;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Tests.Deploy;

/// <summary>
/// Issue 15, finding 10: health that splits liveness from readiness, every metric family exported from the
/// start, and the shipped alert rules and dashboard using only metric names a fresh daemon exports.
/// </summary>
[Collection("daemon")]
public sealed partial class MonitoringFilesTests
{
    private static readonly string Root = DaemonProcess.RepoRoot();

    [GeneratedRegex(@"\bdf_[a-z_]+\b", RegexOptions.CultureInvariant)]
    private static partial Regex MetricName();

    /// <summary>The metric names of a Prometheus query, without the series suffixes a query may add.</summary>
    private static IEnumerable<string> Names(string expr) => MetricName().Matches(expr).Select(m => m.Value);

    private static IReadOnlyList<string> AlertExpressions()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, "deploy", "prometheus", "alerts.yml"));
        stream.Load(reader);
        var root = (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
        var groups = (YamlSequenceNode)root.Children[new YamlScalarNode("groups")];
        return groups.Children
            .SelectMany(g => ((YamlSequenceNode)((YamlMappingNode)g).Children[new YamlScalarNode("rules")]).Children)
            .Select(r => ((YamlScalarNode)((YamlMappingNode)r).Children[new YamlScalarNode("expr")]).Value!)
            .ToList();
    }

    private static IReadOnlyList<string> DashboardExpressions()
    {
        var dashboard = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(Root, "deploy", "grafana", "darkfactory.json")));
        return dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
    }

    [Fact]
    public void The_shipped_files_hold_alerts_and_panels()
    {
        Assert.True(AlertExpressions().Count >= 10);
        Assert.True(DashboardExpressions().Count >= 10);
    }

    [Fact]
    public async Task A_fresh_daemon_is_live_and_ready_and_exports_every_metric_the_alerts_and_dashboard_use()
    {
        await using var daemon = new DaemonProcess($"""
            version: 1
            agents:
              - name: keeper
                layer: safety
                command: ["{DaemonProcess.Agent("sleeper.sh")}"]
                grace: 1s
            """);
        await daemon.StartAsync();
        using var anonymous = daemon.Client(withToken: false);
        using var http = daemon.Client();

        // liveness keeps its contract; readiness is public too and names each check. A daemon just started on a
        // loaded machine may not be ready at the first probe (CI once saw the actor tree take over 10 s to answer its
        // first fleet query): that is what the probe is for, so the test awaits ready and shows the last answer if not.
        Assert.Equal("{\"status\":\"ok\"}", await anonymous.GetStringAsync("/api/health"));
        var last = "";
        var ready = false;
        try
        {
            await DaemonProcess.Until(async () =>
            {
                using var probe = await anonymous.GetAsync("/api/health/ready");
                last = await probe.Content.ReadAsStringAsync();
                return ready = probe.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromSeconds(60), "readiness");
        }
        catch (TimeoutException)
        {
        }

        Assert.True(ready, $"not ready within 60 s: {last}\n{daemon.Output}");
        var body = JsonSerializer.Deserialize<JsonElement>(last);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(["actors", "journal", "disk", "logs"], body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));

        // every family from the start: before any restart, routing, spend, review or drift happened
        // per-agent families (df_drift_score, df_agents) have their series once the fleet is applied and its agent reported
        await DaemonProcess.Until(async () => (await http.GetStringAsync("/metrics")) is var m && m.Contains("df_ready 1", StringComparison.Ordinal) && m.Contains("df_drift_score{", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "df_ready 1 and the agent's drift score");
        var metrics = await http.GetStringAsync("/metrics");
        var exported = metrics.Split('\n').Where(l => l.StartsWith("df_", StringComparison.Ordinal)).Select(l => l.Split('{', ' ')[0]).ToHashSet();
        foreach (var counter in new[] { "df_agent_restarts_total", "df_agent_exits_total", "df_routing_decisions_total", "df_provider_spend_usd_total", "df_provider_tokens_total", "df_provider_limited_total", "df_review_outcomes_total", "df_drift_corrections_total", "df_event_dropped_total", "df_log_dropped_bytes_total", "df_log_write_failing" })
        {
            Assert.Contains(counter, exported);
        }

        Assert.Contains("df_agents{", metrics, StringComparison.Ordinal);
        Assert.Contains("state=\"quarantined\"", metrics, StringComparison.Ordinal);

        // the alert rules and the dashboard use only names the daemon exports from the start
        var missing = AlertExpressions().Concat(DashboardExpressions()).SelectMany(Names).Distinct().Where(n => !exported.Contains(n)).ToList();
        Assert.True(missing.Count == 0, "not in /metrics: " + string.Join(", ", missing) + "\n" + string.Join("\n", exported.Order()));
    }
}
