using System.Diagnostics;
using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Messages;
using DarkFactory.Messages.Review;
using DarkFactory.Messages.Scheduling;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The compound review as a cluster singleton on three real <c>df up --node</c> processes sharing one PostgreSQL database:
/// its cron fires once per cron time for the cluster (one journal, persistence id <c>compound-review</c>, no per-node
/// one), the review runs on n1 (the oldest) and starts its agent on n3, where the agent is pinned; SIGKILL n1 while the
/// agent works (it finishes once n1 is removed) and the review goes on from its journal on n2: it takes in the same run's
/// end (never a second run), runs the gates and opens the PR once (a mock forge; the branch pushed to the fixture's bare
/// remote). The times are written to the test output.
/// </summary>
[Collection("daemon")]
public sealed class ClusterReviewTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly GitFixture _git = CreateGit();

    private static GitFixture CreateGit()
    {
        var git = new GitFixture();
        git.DayOfHistory(DateTimeOffset.UtcNow);
        return git;
    }

    private string Fleet(string forgeUrl) => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents] {"}"}
            - {"{"} name: n3, roles: [control, agents] {"}"}
        agents:
          - name: fixer
            layer: growth
            command: ["{DaemonProcess.Agent("review-fix.sh")}", "wait", ".df-release"]
            node: n3
            grace: 2s
        compound_review:
          repo: {_git.Repo}
          agent: fixer
          schedule: "*/10 * * * * *"
          catch_up: skip
          max_duration: 10m
          create_prs: true
          forge: {"{"} kind: github, base_url: "{forgeUrl}", repository: acme/widgets, token_env: DF_E2E_GH_TOKEN {"}"}
          gates:
            - name: has-review
              command: test -s REVIEW.md
        """;

    [PostgresFact]
    public async Task A_nightly_review_runs_once_per_cron_time_across_the_cluster_and_a_SIGKILL_of_its_node_mid_review_completes_it_on_a_survivor_with_one_run_and_one_PR()
    {
        await using var github = await MockGitHub.StartAsync();
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet(github.BaseUrl), database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        foreach (var node in nodes)
        {
            node.Environment["DF_E2E_GH_TOKEN"] = "e2e-token";
            await node.StartAsync(); // n1 first: the oldest, where the singletons run
        }

        await cluster.AllUpAsync(Wait);
        Assert.Equal("n1", (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("compound-review").GetString());

        // the cron's review, read from n3 (the singleton answers every node): its agent runs on n3 and waits for the release file
        JsonElement review = default;
        await nodes[2].UntilAsync(async () => await Reviews(nodes[2]) is { } list && list.Count > 0 && Running(review = list[0]), Wait, "the scheduled review's agent running");
        var id = review.GetProperty("id").GetString()!;
        var run = review.GetProperty("run_id").GetString()!;
        Assert.Equal("schedule", review.GetProperty("trigger").GetString());
        await nodes[2].UntilAsync(() => Task.FromResult(nodes[2].AgentProcesses("fixer").Count > 0), Wait, "the review's agent running on n3");
        Assert.Empty(nodes[0].AgentProcesses("fixer"));
        Assert.Empty(nodes[1].AgentProcesses("fixer"));

        // a cron time or more passes while the review runs: each recorded once (skipped: the review still runs), by the one singleton
        await nodes[2].UntilAsync(async () => (await Firings(database)).Any(f => f.Outcome == FiringOutcome.Skipped), Wait, "a cron time skipped while the review runs");

        // SIGKILL n1, the review's node, while its agent works on n3; the agent finishes as soon as n1 is removed, so the
        // review on n2 finds the run ended (its history) or still going (then awaits its end), whichever it meets first
        var killedAt = DateTimeOffset.UtcNow;
        var killed = Stopwatch.StartNew();
        nodes[0].KillHard();
        await nodes[2].UntilAsync(async () => (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("compound-review").GetString() == "n2", Wait, "the review's singleton on n2");
        var removed = killed.Elapsed;
        File.WriteAllText(Path.Combine(review.GetProperty("worktree").GetString()!, ".df-release"), "go"); // its /tmp is its own
        try
        {
            await nodes[2].UntilAsync(async () => await Review(nodes[2], id) is { } r && (review = r).GetProperty("status").GetString() != "running", Wait, $"review {id} ending on n2");
        }
        catch (TimeoutException)
        {
            output.WriteLine($"n2:\n{nodes[1].Output}\nn3:\n{nodes[2].Output}");
            throw;
        }

        Assert.True(review.GetProperty("status").GetString() == "completed", $"{review}\n{nodes[1].Output}");

        // when, from its journal: the agent's end taken in and the review completed on n2
        var recorded = (await Journal(database, "compound-review")).Select(e => (e.Manifest, Json: JsonDocument.Parse(e.Message).RootElement)).Where(e => e.Json.TryGetProperty("review_id", out var r) && r.GetString() == id).ToList();
        TimeSpan After(string manifest) => recorded.Single(e => e.Manifest == manifest).Json.GetProperty("at").GetDateTimeOffset() - killedAt;
        output.WriteLine($"SIGKILL n1 (the review's node) mid-review: n1 removed (the singleton's node n2 in df nodes) after {removed.TotalSeconds:F1} s, the agent's end taken in after {After("review-agent-finished").TotalSeconds:F1} s, the review completed after {After("review-completed").TotalSeconds:F1} s (from its journal)");

        // the same run, taken in once; the PR opened once, its branch on the remote
        Assert.Equal(run, review.GetProperty("run_id").GetString());
        Assert.True(review.GetProperty("summary").GetString()?.Contains("summary: wait done") == true, review.ToString()); // n3's tail, asked by n2
        var ended = review.GetProperty("ended_at").GetDateTimeOffset();
        var history = await nodes[2].ApiJson("/api/agents/fixer/history");
        var runs = history.EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "started" && e.GetProperty("at").GetDateTimeOffset() <= ended).Select(e => e.GetProperty("run_id").GetString()).ToList();
        Assert.Equal([run], runs); // (the next cron time's review may have started another since)
        var branch = review.GetProperty("branch").GetString()!;
        Assert.Equal(1, github.CreatedFor(branch));
        Assert.Contains(branch, _git.RemoteBranches());
        var events = (await Journal(database, "compound-review")).Where(e => JsonDocument.Parse(e.Message).RootElement.TryGetProperty("review_id", out var r) && r.GetString() == id).ToList();
        Assert.Equal(1, events.Count(e => e.Manifest == "review-agent-started"));
        Assert.Equal(1, events.Count(e => e.Manifest == "review-agent-finished"));
        Assert.Equal(1, events.Count(e => e.Manifest == "review-pr-opened"));

        // one journal for the cluster, and each cron time on record once
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id LIKE 'compound-review@%'", connection);
            Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        }

        var firings = await Firings(database);
        Assert.All(firings.GroupBy(f => f.Due), g => Assert.True(g.Count() == 1, $"cron time {g.Key:O} recorded {g.Count()} times"));
        Assert.Single(firings, f => f.Outcome == FiringOutcome.Started && f.ReviewId == id);
    }

    /// <summary>Two nodes (keep-oldest): the review on n1, its agent pinned to n2, a manual review with create_prs off.</summary>
    private string TwoNodeFleet() => $"""
        version: 1
        cluster:
          split_brain: keep-oldest
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [agents] {"}"}
        agents:
          - name: fixer
            layer: growth
            command: ["{DaemonProcess.Agent("review-fix.sh")}", "fix"]
            node: n2
            grace: 2s
        compound_review:
          repo: {_git.Repo}
          agent: fixer
          max_duration: 10m
          gates:
            - name: has-review
              command: test -s REVIEW.md
        """;

    [PostgresFact]
    public async Task A_review_whose_agent_runs_on_another_node_has_that_runs_summary_in_its_PR_text_asked_of_the_agents_node()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(TwoNodeFleet(), database.ConnectionString!, stableAfter: "3s", count: 2);
        await cluster.StartAsync(Wait);
        var n1 = cluster.Nodes[0];
        Assert.Equal("n1", (await n1.ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("compound-review").GetString());

        // the review runs on n1; its agent on n2 (n1 hears none of its output): the summary is n2's tail of the run
        var review = await n1.Json("review", "run", "--wait", "--json");
        Assert.True(review.GetProperty("status").GetString() == "completed", $"{review}\nn1:\n{n1.Output}\nn2:\n{cluster.Nodes[1].Output}");
        Assert.Empty(n1.AgentProcesses("fixer"));
        var summary = review.GetProperty("summary").GetString();
        Assert.True(summary?.Contains("summary: fix done") == true, review.ToString());
        Assert.Contains("push by name: refused", summary);
        Assert.False(review.TryGetProperty("summary_unavailable", out _), review.ToString());
        var report = File.ReadAllText(review.GetProperty("report_path").GetString()!); // the dry run's PR text, on n1
        Assert.Contains("summary: fix done", report);
        Assert.DoesNotContain("the agent printed nothing", report);
    }

    private static bool Running(JsonElement review) =>
        review.GetProperty("status").GetString() == "running" && review.TryGetProperty("run_id", out var run) && run.ValueKind == JsonValueKind.String;

    /// <summary>The reviews, newest first, or null while the node has no answer (no singleton yet: 503).</summary>
    private static async Task<List<JsonElement>?> Reviews(DaemonProcess node)
    {
        try
        {
            return [.. (await node.ApiJson("/api/reviews")).EnumerateArray()];
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static Task<JsonElement?> Review(DaemonProcess node, string id) => node.ApiJsonOrNull($"/api/reviews/{id}");

    private static async Task<List<ReviewScheduleFired>> Firings(TestDatabase database) =>
        [.. (await Journal(database, "compound-review")).Where(e => e.Manifest == "review-schedule-fired").Select(e => JsonSerializer.Deserialize<ReviewScheduleFired>(e.Message, DarkFactoryJson.Options)!)];

    private static async Task<List<(string Manifest, byte[] Message)>> Journal(TestDatabase database, string persistenceId)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT manifest, message FROM journal WHERE persistence_id = @p ORDER BY sequence_number", connection);
        command.Parameters.AddWithValue("p", persistenceId);
        var rows = new List<(string, byte[])>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(((string)reader[0], (byte[])reader[1]));
        }

        return rows;
    }

    public void Dispose() => _git.Dispose();
}
