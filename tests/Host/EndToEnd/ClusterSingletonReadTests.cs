using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Reads of a cluster singleton never hang on a lost node (issue 17): three real <c>df up --node</c> processes on one
/// PostgreSQL database, n1 the only node of role <c>control</c> (so it holds the scheduler and the compound review);
/// SIGKILL n1 and ask n3, every 200 ms, for the schedule (<c>GET /api/schedule</c>): each answer comes within the
/// singleton read bound (5 s) and a little, a 503 with <c>Retry-After</c> that says why — first that the scheduler
/// did not answer (n1 is not yet known lost), then that it is moving from n1 (unreachable, downed), then, once n1 is
/// removed, that no node of role control is up — never the 30 s of an ask to a dead node. <c>df schedule</c> and
/// <c>df review list</c> on n3 then exit non-zero with that sentence.
/// </summary>
[Collection("daemon")]
public sealed class ClusterSingletonReadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>The read bound (<c>darkfactory.singleton-read-timeout</c>, 5 s) and room for a loaded machine's HTTP round trip.</summary>
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(8);

    private static string Fleet => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [agents] {"}"}
            - {"{"} name: n3, roles: [agents] {"}"}
        agents:
          - name: cron
            layer: core
            command: ["{DaemonProcess.Agent("exit.sh")}", "0"]
            schedule: "*/4 * * * * *"
            restart: temporary
            node: n3
            grace: 2s
        """;

    [PostgresFact]
    public async Task Reads_of_a_singleton_on_a_SIGKILLed_node_answer_within_the_bound_with_a_503_that_says_why()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet, database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        await cluster.StartAsync(Wait);
        Assert.Equal("n1", (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("scheduler").GetString());
        // the singleton starts on n1 and n3's proxy finds it only after the members are up: a read before that is a 503 too
        await nodes[2].UntilAsync(async () => (await Read(nodes[2])).Status == HttpStatusCode.OK, Wait, "the scheduler answering on n3");

        var killed = Stopwatch.StartNew();
        nodes[0].KillHard();
        var answers = new List<(TimeSpan At, TimeSpan Took, HttpStatusCode Status, string? RetryAfter, string Detail)>();
        while (!answers.Any(a => a.Detail.Contains("no node of role control is up", StringComparison.Ordinal)))
        {
            Assert.True(killed.Elapsed < Wait, $"n1 not removed within {Wait}: {string.Join("; ", answers.Select(a => $"{a.At.TotalSeconds:F1} s: {a.Detail}"))}");
            var at = killed.Elapsed;
            var answer = await Read(nodes[2]);
            answers.Add((at, killed.Elapsed - at, answer.Status, answer.RetryAfter, answer.Detail));
            await Task.Delay(200); // a poll's pace, not a wait for a condition
        }

        foreach (var a in answers)
        {
            output.WriteLine($"{a.At.TotalSeconds,5:F1} s after the SIGKILL: {(int)a.Status} in {a.Took.TotalSeconds:F2} s, Retry-After {a.RetryAfter ?? "-"}: {a.Detail}");
        }

        Assert.All(answers, a => Assert.True(a.Took < Within, $"a read took {a.Took.TotalSeconds:F1} s at {a.At.TotalSeconds:F1} s after the SIGKILL: {a.Detail}"));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => Assert.Equal((HttpStatusCode.ServiceUnavailable, "5"), (a.Status, a.RetryAfter)));
        Assert.Contains(answers, a => a.Detail.StartsWith("the scheduler singleton is moving from node n1", StringComparison.Ordinal));

        // the CLI says the same and exits non-zero
        var (exit, _, stderr) = await nodes[2].Df("schedule");
        Assert.NotEqual(0, exit);
        Assert.Contains("no node of role control is up to run the scheduler singleton", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await nodes[2].Df("review", "list");
        Assert.NotEqual(0, exit);
        Assert.Contains("no node of role control is up to run the compound-review singleton", stderr, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string? RetryAfter, string Detail)> Read(DaemonProcess node)
    {
        using var http = node.Client();
        http.Timeout = TimeSpan.FromSeconds(60);
        using var response = await http.GetAsync("/api/schedule");
        var body = await response.Content.ReadAsStringAsync();
        var detail = response.IsSuccessStatusCode ? "answered" : JsonSerializer.Deserialize<JsonElement>(body).GetProperty("detail").GetString()!;
        return (response.StatusCode, response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture), detail);
    }
}
