using System.Text.Json;
using DarkFactory.Actors.Tests.Support;
using Npgsql;
using Xunit;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// A daemon SIGKILLed at each step of a compound review (just after the review started, while the agent
/// runs, while the gates run, and after the forge received the PR but before the daemon saw the answer)
/// resumes the review when it starts again, completes it, and never opens a second PR. On SQLite, and on
/// PostgreSQL when DF_TEST_POSTGRES is set (a fresh database per run).
/// </summary>
[Collection("daemon")]
public sealed class ReviewRecoveryEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(180);
    private readonly GitFixture _git = new();

    public ReviewRecoveryEndToEndTests() => _git.DayOfHistory(DateTimeOffset.UtcNow);

    public static TheoryData<string> Stores()
    {
        var data = new TheoryData<string> { "sqlite" };
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DF_TEST_POSTGRES")))
        {
            data.Add("postgres");
        }

        return data;
    }

    private string Fleet(string forgeUrl) => $"""
        version: 1
        agents:
          - name: fixer
            layer: growth
            command: ["{DaemonProcess.Agent("review-fix.sh")}", "slowfix"]
            grace: 2s
        compound_review:
          repo: {_git.Repo}
          agent: fixer
          max_duration: 10m
          create_prs: true
          forge: {"{"} kind: github, base_url: "{forgeUrl}", repository: acme/widgets, token_env: DF_E2E_GH_TOKEN {"}"}
          gates:
            - name: has-review
              command: sleep 1; test -s REVIEW.md
        """;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_SIGKILL_at_each_step_loses_nothing_and_duplicates_no_PR(string store)
    {
        await using var github = await MockGitHub.StartAsync();
        github.PostDelay = TimeSpan.FromSeconds(2);
        await using var database = await TestDatabase.CreateAsync(store);
        await using var daemon = new DaemonProcess(Fleet(github.BaseUrl));
        daemon.Environment["DF_E2E_GH_TOKEN"] = "e2e-token";
        if (database.ConnectionString is { } cs)
        {
            daemon.Environment["DF_POSTGRES"] = cs;
        }

        var createdBefore = 0;
        var killPoints = new (string Name, Func<JsonElement, bool> Reached)[]
        {
            ("review started", _ => true),
            ("agent running", r => Step(r, "agent") == "running" && r.TryGetProperty("run_id", out _)),
            ("gates running", r => Step(r, "gates") == "running"),
            ("PR created, answer not yet seen", _ => github.Created > createdBefore),
        };

        await daemon.StartAsync();
        var prs = new HashSet<int>();
        foreach (var (name, reached) in killPoints)
        {
            createdBefore = github.Created;
            var started = await daemon.Json("review", "run", "--json");
            var id = started.GetProperty("id").GetString()!;
            await DaemonProcess.Until(async () => await Review(daemon, id) is { } r && reached(r), Wait, $"{name} ({id})");

            daemon.KillHard(); // SIGKILL
            await daemon.StartAsync();

            JsonElement review = default;
            await DaemonProcess.Until(
                async () => await Review(daemon, id) is { } r && (review = r).GetProperty("status").GetString() != "running",
                Wait,
                $"review {id} resumed after a SIGKILL at '{name}'");
            Assert.True(review.GetProperty("status").GetString() == "completed", $"{name}: {review}\n{daemon.Output}");
            var branch = review.GetProperty("branch").GetString()!;
            Assert.Equal(1, github.CreatedFor(branch));
            Assert.Equal(createdBefore + 1, github.Created);
            Assert.Contains(branch, _git.RemoteBranches());
            Assert.True(prs.Add(review.GetProperty("pr_number").GetInt32()), $"{name}: PR number reused");
        }

        var list = await daemon.Json("review", "list", "--json");
        Assert.Equal(killPoints.Length, list.GetArrayLength());
        Assert.All(list.EnumerateArray(), r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(daemon.AgentProcesses());
    }

    /// <summary>The review, or null while the daemon is too busy to answer (503 on a loaded machine).</summary>
    private static async Task<JsonElement?> Review(DaemonProcess daemon, string id)
    {
        try
        {
            return await daemon.ApiJson($"/api/reviews/{id}");
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static string? Step(JsonElement review, string name) =>
        review.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == name).Select(s => s.GetProperty("status").GetString()).FirstOrDefault();

    public void Dispose() => _git.Dispose();
}

/// <summary>A fresh PostgreSQL database for one test (dropped afterwards); nothing for SQLite.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _admin;
    private readonly string? _name;

    private TestDatabase(string? admin, string? name, string? connectionString)
    {
        _admin = admin;
        _name = name;
        ConnectionString = connectionString;
    }

    public string? ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync(string store)
    {
        if (store != "postgres")
        {
            return new TestDatabase(null, null, null);
        }

        var admin = Environment.GetEnvironmentVariable("DF_TEST_POSTGRES")!;
        var name = "df_e2e_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new TestDatabase(admin, name, new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
