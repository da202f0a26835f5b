using System.Text.Json;
using System.Text.Json.Nodes;
using DarkFactory.Actors.Tests.Support;
using DarkFactory.Host.Tests.EndToEnd;
using Microsoft.Data.Sqlite;
using Xunit;

namespace DarkFactory.Host.Tests.Upgrade;

/// <summary>
/// The upgrade guarantee: a store written by an earlier release is read by this one. Each folder under
/// tests/Host/Fixtures/journal-* holds the data directory a release's daemon wrote (its SQLite store, events and
/// snapshots of every persistent actor, and the review reports), the fleet it is read with, and what that
/// release's own daemon showed after reading it (<c>expected.json</c>). The test starts today's daemon on a copy
/// and asks the same questions: every actor must recover and show the same state.
/// </summary>
[Collection("daemon")]
public sealed class JournalFixtureTests
{
    internal static readonly string Fixtures = Path.Combine(DaemonProcess.RepoRoot(), "tests", "Host", "Fixtures");

    /// <summary>The persistence ids whose events and snapshots every fixture must hold (so each actor is exercised).</summary>
    private static readonly string[] PersistenceIds = ["scheduler", "router", "nightwatch", "compound-review", "agent-pulse-1", "agent-crasher", "agent-drifter", "agent-wrecker", "agent-swerver", "agent-fixer"];

    /// <summary>Agents, at the fleet's fake-agent paths, in the fleet a fixture is generated with and read with.</summary>
    private static readonly string[] Pulses = ["pulse-1", "pulse-2", "pulse-3"];

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Fixtures, "journal-*").Order())
        {
            data.Add(Path.GetFileName(dir));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task A_store_written_by_an_earlier_release_recovers_every_actor_with_its_state(string fixture)
    {
        var source = Path.Combine(Fixtures, fixture);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "expected.json")))!.AsObject();

        // the fixture holds events and snapshots of every persistent actor (else the test would prove less than it claims)
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(source, "data", "darkfactory.db")};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            foreach (var id in PersistenceIds)
            {
                Assert.True(Count(connection, "journal", id) > 0, $"{fixture}: no events of {id}");
            }

            foreach (var id in (JsonArray)expected["snapshots"]!)
            {
                Assert.True(Count(connection, "snapshot", id!.GetValue<string>()) > 0, $"{fixture}: no snapshot of {id}");
            }
        }

        var root = Directory.CreateTempSubdirectory("df-upgrade-").FullName;
        CopyDirectory(Path.Combine(source, "data"), Path.Combine(root, "data"));
        await using var daemon = new DaemonProcess(ReadFleet(source), Path.Combine(root, "data"));
        await daemon.StartAsync();
        var actual = await Observe(daemon, expected["written_at"]!.GetValue<DateTimeOffset>());

        foreach (var (key, value) in expected)
        {
            if (key is "written_at" or "snapshots" or "schedule")
            {
                continue;
            }

            Assert.True(JsonNode.DeepEquals(value, actual[key]), $"{fixture}: {key} differs after recovery\nexpected: {value?.ToJsonString()}\nactual:   {actual[key]?.ToJsonString()}\n{daemon.Output}");
        }

        // a scheduled agent's last firing is the recorded one, or a firing missed since then that catch_up: skip recorded
        var writtenAt = expected["written_at"]!.GetValue<DateTimeOffset>();
        foreach (var (agent, last) in expected["schedule"]!.AsObject())
        {
            var now = actual["schedule"]![agent];
            Assert.NotNull(now);
            Assert.True(
                JsonNode.DeepEquals(last, now) || (now!["outcome"]!.GetValue<string>() == "skipped" && now["scheduled_at"]!.GetValue<DateTimeOffset>() > writtenAt),
                $"{fixture}: {agent}'s last firing was {last?.ToJsonString()}, now {now?.ToJsonString()}");
        }

        Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// Writes a new fixture with today's code (run by hand when a release changes what is persisted; never
    /// overwrite an existing fixture): <c>DF_WRITE_JOURNAL_FIXTURE=journal-YYYY-MM dotnet test tests/Host --filter
    /// FullyQualifiedName~Write_a_journal_fixture</c>. Takes about two minutes.
    /// </summary>
    [Fact]
    public async Task Write_a_journal_fixture()
    {
        var name = Environment.GetEnvironmentVariable("DF_WRITE_JOURNAL_FIXTURE");
        if (string.IsNullOrEmpty(name))
        {
            return; // only on request
        }

        var target = Path.Combine(Fixtures, name);
        Assert.False(Directory.Exists(target), $"{target} exists: a fixture is never rewritten");
        using var git = new GitFixture();
        git.DayOfHistory(DateTimeOffset.UtcNow);
        var stage = Directory.CreateTempSubdirectory("df-fixture-").FullName;
        var data = Path.Combine(stage, "data");
        var fixtureData = Path.Combine(target, "data");

        await using (var daemon = new DaemonProcess(GenerationFleet(git.Repo), data))
        {
            daemon.Environment["DF_WORKTREES"] = Path.Combine(stage, "worktrees");
            await daemon.StartAsync();
            var wait = TimeSpan.FromMinutes(4);

            // router: a crash opens primary's breaker, the next runs fail over (switches); a run reports a rate limit
            Assert.Equal(0, (await daemon.Df("run", "crasher")).Exit);
            await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/providers/switches")).GetArrayLength() > 0, wait, "a provider switch");
            Assert.Equal(0, (await daemon.Df("run", "limited")).Exit);
            await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/providers")).EnumerateArray().Any(p => p.GetProperty("state").GetString() == "limited"), wait, "a limited provider");

            // nightwatch: a hint that the next run uses, an avoided route after severe drift, an escalation (its delivery fails)
            await DaemonProcess.Until(async () => (await daemon.Json("drift", "drifter", "--json")).TryGetProperty("pending_hint", out var h) && h.ValueKind == JsonValueKind.String, wait, "drifter's hint");
            Assert.Equal(0, (await daemon.Df("restart", "drifter")).Exit);
            await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/providers/avoids")).GetArrayLength() > 0, wait, "swerver's avoided route");
            await DaemonProcess.Until(async () => (await daemon.Json("escalations", "--json")).GetArrayLength() > 0, wait, "wrecker's escalation");

            // snapshots of the busy actors: the pulses fire every second (scheduler, router, their histories) and reviews run back to back
            string[] busy = ["scheduler", "router", "nightwatch", "compound-review", "agent-pulse-1"];
            try
            {
                await DaemonProcess.Until(() => Task.FromResult(SnapshotIds(data).IsSupersetOf(busy)), wait, $"snapshots of {string.Join(", ", busy)}");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; snapshots: {string.Join(", ", SnapshotIds(data))}\n{daemon.Output}", e);
            }
            // quiet the fleet (no firings, no new reviews) and let the running review finish, so the store holds none half-done
            File.WriteAllText(daemon.FleetPath, Fleet(git.Repo, AgentScripts, generating: false));
            Assert.Equal(0, (await daemon.Df("reload")).Exit);
            await DaemonProcess.Until(async () => (await daemon.ApiJson("/api/reviews?limit=100")).EnumerateArray().All(r => r.GetProperty("status").GetString() != "running"), wait, "the last review to end");
            Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));

            // the store and the review reports (disposing the daemon removes its directory)
            Checkpoint(Path.Combine(data, "darkfactory.db"));
            Directory.CreateDirectory(fixtureData);
            File.Copy(Path.Combine(data, "darkfactory.db"), Path.Combine(fixtureData, "darkfactory.db"));
            CopyDirectory(Path.Combine(data, "reviews"), Path.Combine(fixtureData, "reviews"));
        }

        // what today's daemon shows after reading it is what every later release must show
        File.WriteAllText(Path.Combine(target, "fleet.yaml"), RecoveryFleet());
        var writtenAt = DateTimeOffset.UtcNow;

        var copy = Path.Combine(Directory.CreateTempSubdirectory("df-fixture-read-").FullName, "data");
        CopyDirectory(fixtureData, copy);
        await using (var daemon = new DaemonProcess(ReadFleet(target), copy))
        {
            await daemon.StartAsync();
            var observed = await Observe(daemon, writtenAt);
            observed["written_at"] = writtenAt;
            observed["snapshots"] = new JsonArray([.. SnapshotIds(Path.Combine(fixtureData)).Order().Select(s => JsonValue.Create(s))]);
            File.WriteAllText(Path.Combine(target, "expected.json"), observed.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            Assert.Equal(0, await daemon.StopAsync(TimeSpan.FromSeconds(60)));
        }

    }

    /// <summary>What the daemon shows of each persistent actor's state; paths under its data directory as {data}.</summary>
    internal static async Task<JsonObject> Observe(DaemonProcess daemon, DateTimeOffset writtenAt)
    {
        // a daemon just started on a recovered store may answer 503 (busy) while its actors replay their journals: try again
        async Task<JsonNode> Get(string path)
        {
            JsonElement answer = default;
            await DaemonProcess.Until(async () => { answer = await daemon.ApiJson(path); return true; }, TimeSpan.FromSeconds(60), $"GET {path}");
            return Normalize(JsonNode.Parse(answer.GetRawText())!, daemon.DataDir);
        }

        var history = new JsonObject();
        foreach (var agent in Agents)
        {
            // only entries from before the fixture was written: today's daemon may add its own
            var entries = ((JsonArray)await Get($"/api/agents/{agent}/history?limit=500"))
                .Where(e => e!["at"]!.GetValue<DateTimeOffset>() <= writtenAt).Select(e => e!.DeepClone());
            history[agent] = new JsonArray([.. entries]);
        }

        var drift = new JsonObject();
        foreach (var d in ((JsonArray)await Get("/api/drift")).OrderBy(d => d!["agent"]!.GetValue<string>()))
        {
            drift[d!["agent"]!.GetValue<string>()] = new JsonObject
            {
                ["last_correction"] = d["last_correction"]?.DeepClone(),
                ["pending_hint"] = d["pending_hint"]?.DeepClone(),
            };
        }

        var schedule = new JsonObject();
        foreach (var a in (JsonArray)await Get("/api/schedule"))
        {
            schedule[a!["agent"]!.GetValue<string>()] = a["last_firing"]?.DeepClone();
        }

        return new JsonObject
        {
            ["history"] = history,
            ["schedule"] = schedule,
            ["costs_by_agent"] = WithoutBudgets(await Get("/api/costs?by=agent")),
            ["costs_by_provider"] = WithoutBudgets(await Get("/api/costs?by=provider")),
            ["switches"] = await Get("/api/providers/switches"),
            ["drift"] = drift,
            ["escalations"] = await Get("/api/escalations?limit=100"),
            ["reviews"] = await Get("/api/reviews?limit=100"),
        };
    }

    /// <summary>The ledger without today's and this month's budget lines (they depend on the day the test runs).</summary>
    private static JsonNode WithoutBudgets(JsonNode costs)
    {
        costs.AsObject().Remove("budgets");
        return costs;
    }

    private static IEnumerable<string> Agents => [.. Pulses, "crasher", "limited", "drifter", "wrecker", "swerver", "fixer"];

    private static JsonNode Normalize(JsonNode node, string dataDir) =>
        JsonNode.Parse(node.ToJsonString().Replace(JsonEncodedText.Encode(dataDir).ToString(), "{data}", StringComparison.Ordinal))!;

    /// <summary>The fleet the fixture is written with: every persistent actor gets events, the busy ones snapshots.</summary>
    private static string GenerationFleet(string repo) => Fleet(repo, AgentScripts, generating: true);

    private static string AgentScripts => Path.Combine(DaemonProcess.RepoRoot(), "tests", "agents");

    /// <summary>The same agents, quiet: nothing starts by itself, so what the daemon shows is what it read.</summary>
    private static string RecoveryFleet() => Fleet("{repo}", "{agents}", generating: false);

    internal static string ReadFleet(string fixture) =>
        File.ReadAllText(Path.Combine(fixture, "fleet.yaml")).Replace("{agents}", Path.Combine(DaemonProcess.RepoRoot(), "tests", "agents"), StringComparison.Ordinal)
            .Replace("{repo}", Path.GetTempPath(), StringComparison.Ordinal);

    private static string Fleet(string repo, string agents, bool generating)
    {
        var schedule = generating ? "\"* * * * * *\"" : "\"0 0 1 1 *\"";
        var autostart = generating ? "true" : "false";
        var pulses = string.Concat(Pulses.Select(p => $"""
              - name: {p}
                layer: growth
                cli: claude
                provider: primary
                command: ["{agents}/fake-claude.sh", "ok"]
                task: summarise yesterday's commits
                schedule: {schedule}
                catch_up: skip
                restart: temporary
                grace: 2s

            """));
        return $"""
            version: 1
            providers:
              - name: primary
                cli: claude
                priority: 10
                prices: {"{"} input_per_million: 3, output_per_million: 15 {"}"}
              - name: secondary
                cli: codex
                priority: 20
                prices: {"{"} input_per_million: 1, output_per_million: 4 {"}"}
            router:
              breaker: {"{"} failures: 1, open_for: 30s {"}"}
              avoid_for: 1h
            nightwatch:
              cooldown: 3s
              pause_for: 1h
              escalation_webhook: http://127.0.0.1:9/hook
            agents:
            {pulses}  - name: crasher
                layer: growth
                cli: claude
                provider: primary
                command: ["{agents}/exit.sh", "3"]
                task: break the build
                restart: temporary
                grace: 2s
              - name: limited
                layer: growth
                cli: claude
                provider: primary
                command: ["{agents}/fake-claude.sh", "limit"]
                task: hit the limit
                restart: temporary
                grace: 2s
              - name: drifter
                layer: core
                command: ["{agents}/drifter.sh", "2"]
                autostart: {autostart}
                grace: 2s
              - name: wrecker
                layer: core
                command: ["{agents}/drifter.sh", "14", "Rate limit reached. Please try again in 30s."]
                autostart: {autostart}
                grace: 2s
              - name: swerver
                layer: core
                cli: claude
                provider: primary
                command: ["{agents}/drifter.sh", "9"]
                task: fix the types
                autostart: {autostart}
                grace: 2s
              - name: fixer
                layer: growth
                command: ["{agents}/review-fix.sh", "fix"]
                grace: 2s
            compound_review:
              enabled: {(generating ? "true" : "false")}
              repo: {repo}
              agent: fixer
              schedule: {schedule}
              catch_up: skip
              gates:
                - name: has-review
                  command: test -s REVIEW.md
            """;
    }

    private static HashSet<string> SnapshotIds(string dataDir)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "darkfactory.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT persistence_id FROM snapshot";
        using var reader = command.ExecuteReader();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static long Count(SqliteConnection connection, string table, string persistenceId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Folds the WAL into the database file and compacts it, so the fixture is one small file.</summary>
    private static void Checkpoint(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE; VACUUM;";
        command.ExecuteNonQuery();
    }

    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
