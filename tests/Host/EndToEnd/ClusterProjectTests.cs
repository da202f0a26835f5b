using System.Diagnostics;
using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// The projects as a cluster singleton on three real <c>df up --node</c> processes sharing one PostgreSQL database: a
/// project made and started from n2 lives on n1 (the oldest; one registry, persistence id <c>projects</c>, no per-node
/// one), its personas' runs start on n3, where their agents are pinned, and their output (the plan, the work's summary)
/// comes back to it across the cluster. SIGKILL n1 while the engineer works on n3: the projects move to n2, the project
/// resumes from its journal, takes in the same run's end (the task is not worked twice) and completes, with one commit
/// per attempt. The times are written to the test output.
/// </summary>
[Collection("daemon")]
public sealed class ClusterProjectTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly GitFixture _git = CreateGit();
    private readonly string _state = Directory.CreateTempSubdirectory("df-cluster-project-").FullName;

    private static GitFixture CreateGit()
    {
        var git = new GitFixture();
        git.DayOfHistory(DateTimeOffset.UtcNow);
        return git;
    }

    private string Fleet() => $"""
        version: 1
        cluster:
          split_brain: keep-majority
          nodes:
            - {"{"} name: n1, roles: [control, agents] {"}"}
            - {"{"} name: n2, roles: [control, agents] {"}"}
            - {"{"} name: n3, roles: [control, agents] {"}"}
        agents:
        {PersonaFleet.Agents(_state).Replace("    grace: 2s\n", "    grace: 2s\n    node: n3\n", StringComparison.Ordinal)}
        projects:
          personas_dir: personas
          max_attempts: 2
          concurrency: 1
          repositories:
            - path: {_git.Repo}
              tests: test -f t1.txt
        """;

    [PostgresFact]
    public async Task A_project_lives_on_the_singletons_node_runs_its_personas_where_their_agents_are_placed_and_survives_a_SIGKILL_of_its_node_with_no_task_worked_twice()
    {
        await using var database = await TestDatabase.CreateAsync("postgres");
        await using var cluster = TestCluster.Create(Fleet(), database.ConnectionString!, stableAfter: "3s");
        var nodes = cluster.Nodes;
        foreach (var node in nodes)
        {
            PersonaFleet.Write(node.Root);
            await node.StartAsync(); // n1 first: the oldest, where the singletons run
        }

        await cluster.AllUpAsync(Wait);
        Assert.Equal("n1", (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("projects").GetString());

        // made and started from n2; the engineer will be held at its work on n3
        File.WriteAllText(Path.Combine(_state, "hold"), "until the test deletes it");
        JsonElement created = default;
        var init = (Exit: -1, Stdout: string.Empty, Stderr: string.Empty);
        await nodes[1].UntilAsync(
            async () => (init = await nodes[1].Df("init", "cluster-work", "--description", "Add rate limiting to the login endpoint, with tests",
                "--persona", "engineer,tester", "--repo", _git.Repo, "--json")).Exit == 0,
            Wait,
            "df init through the projects singleton (until the fleet reached it)");
        created = JsonSerializer.Deserialize<JsonElement>(init.Stdout);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(0, (await nodes[1].Df("start", id)).Exit);
        await nodes[2].UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(_state, "held-t1"))), Wait, "the engineer working on t1");
        var engineer = "engineer-cmd@" + id;
        Assert.NotEmpty(nodes[2].AgentProcesses(engineer));
        Assert.Empty(nodes[0].AgentProcesses(engineer));
        Assert.Empty(nodes[1].AgentProcesses(engineer));
        var planned = await Project(nodes[2], id);
        Assert.Equal(2, planned?.GetProperty("tasks").GetProperty("total").GetInt32()); // the plan's answer came back from n3

        // the engineer's run as n1 recorded it (its journal is the cluster's)
        var before = await RunsStarted(database, id);
        var working = before[^1];
        Assert.Equal(engineer, working.Agent);

        // SIGKILL n1, the projects' node, while the engineer works on n3
        var killed = Stopwatch.StartNew();
        nodes[0].KillHard();
        await nodes[2].UntilAsync(async () => (await nodes[2].ApiJson("/api/cluster")).GetProperty("singletons").GetProperty("projects").GetString() == "n2", Wait, "the projects' singleton on n2");
        var moved = killed.Elapsed;

        // the project on n2 records the run n1 started as interrupted and asks for it again: n3 answers that it still runs,
        // so the project takes that same run in (its run id started again on record) rather than working the task twice
        List<(string RunId, string Agent)> after = [];
        await nodes[2].UntilAsync(async () => (after = await RunsStarted(database, id)).Count > before.Count, Wait, "the project on n2 starting its run again");
        Assert.True(after[before.Count] == working, $"n2 took in {after[before.Count]} instead of the engineer's run {working} (journal: {string.Join(", ", after)})");
        var adopted = killed.Elapsed;
        File.Delete(Path.Combine(_state, "hold"));
        JsonElement status = default;
        try
        {
            await nodes[2].UntilAsync(async () => await Project(nodes[2], id) is { } s && (status = s).GetProperty("status").GetString() is "completed" or "failed" or "timeout", Wait, $"project {id} ending on n2");
        }
        catch (TimeoutException)
        {
            output.WriteLine($"n2:\n{nodes[1].Output}\nn3:\n{nodes[2].Output}");
            throw;
        }

        output.WriteLine($"SIGKILL n1 (the projects' node) mid-task: the projects on n2 after {moved.TotalSeconds:F1} s, the engineer's run taken in after {adopted.TotalSeconds:F1} s, the project completed after {killed.Elapsed.TotalSeconds:F1} s");
        Assert.True(status.GetProperty("status").GetString() == "completed", $"{status}\nn2:\n{nodes[1].Output}");

        // each task worked once (the engineer's run that outlived n1 was taken in, not run again); one commit per attempt
        Assert.Equal(["t1", "t2"], Runs());
        var tasks = await nodes[1].ApiJson($"/api/projects/{id}/tasks");
        Assert.All(tasks.EnumerateArray(), t => Assert.Equal("completed", t.GetProperty("status").GetString()));
        var branch = status.GetProperty("work_branch").GetString()!;
        var trailers = GitFixture.Run(_git.Repo, "log", "--format=%(trailers:key=DF-Attempt,valueonly)", "main.." + branch)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(trailers.Length, trailers.Distinct().Count());
        Assert.Equal(2, trailers.Length);

        // one registry for the cluster
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id LIKE 'projects@%'", connection);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    private string[] Runs() => File.Exists(Path.Combine(_state, "runs")) ? File.ReadAllLines(Path.Combine(_state, "runs")) : [];

    /// <summary>The project, or null while the node has no answer (the singleton moving: 503).</summary>
    private static Task<JsonElement?> Project(DaemonProcess node, string id) => node.ApiJsonOrNull($"/api/projects/{id}");

    /// <summary>The runs the project's journal recorded as started, in order: run id and agent.</summary>
    private static async Task<List<(string RunId, string Agent)>> RunsStarted(TestDatabase database, string project)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT message FROM journal WHERE persistence_id = @p AND manifest = 'project-run-started' ORDER BY sequence_number", connection);
        command.Parameters.AddWithValue("p", "project-" + project);
        var rows = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var e = JsonDocument.Parse((byte[])reader[0]).RootElement;
            rows.Add((e.GetProperty("run_id").GetString()!, e.GetProperty("agent").GetString()!));
        }

        return rows;
    }

    public void Dispose()
    {
        _git.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}
