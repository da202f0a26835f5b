using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using DarkFactory.Actors.Review;
using DarkFactory.Bench;
using DarkFactory.Messages;
using DarkFactory.Messages.Review;
using Microsoft.Data.Sqlite;
using Npgsql;

// df-bench-review [--events N] [--repeats R] [--postgres CONNECTION]   (PostgreSQL also from $DF_TEST_POSTGRES)
// For each store: a raw INSERT loop (baseline: one autocommitted row per event, same payload), the
// journal through Persist (one event at a time, as the review actor writes) and PersistAsync (batched),
// then recovery of a CompoundReviewActor from N events (cold: new actor system; warm: a second actor).
var events = Arg("--events", 10_000);
var repeats = Arg("--repeats", 3);
var postgres = ArgString("--postgres") ?? Environment.GetEnvironmentVariable("DF_TEST_POSTGRES");
var root = BenchSupport.FindRoot();
var samples = Samples(events);
Console.WriteLine($"compound review journal benchmark: {events} events, {repeats} recoveries per store, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
Console.WriteLine($"| store | raw INSERT loop (baseline) | journal Persist | journal PersistAsync | recovery of {events} events, cold (new actor system) | recovery, warm |");
Console.WriteLine("|---|---|---|---|---|---|");
await Run("SQLite (WAL)", null);
if (!string.IsNullOrEmpty(postgres))
{
    await Run("PostgreSQL", postgres);
}
else
{
    Console.WriteLine("| PostgreSQL | not run: pass --postgres or set DF_TEST_POSTGRES | | | | |");
}

Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
return 0;

async Task Run(string store, string? admin)
{
    var dir = Directory.CreateTempSubdirectory("df-bench-review-").FullName;
    string provider, cs;
    string? database = null;
    if (admin is null)
    {
        provider = "SQLite.MS";
        cs = $"Data Source={Path.Combine(dir, "journal.db")};Pooling=True";
        using var c = new SqliteConnection(cs);
        c.Open();
        using var wal = c.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        wal.ExecuteNonQuery();
    }
    else
    {
        provider = "PostgreSQL.15";
        database = "df_bench_" + Guid.NewGuid().ToString("N")[..10];
        await Exec(admin, $"CREATE DATABASE {database}");
        cs = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
    }

    try
    {
        var raw = await RawInserts(provider, cs, samples);
        var config = Config(provider, cs);
        double persist, persistAsync;
        using (var system = ActorSystem.Create("bench", config))
        {
            persist = await Write(system, "bench-review-persist", samples, async: false);
            persistAsync = await Write(system, "bench-review-async", samples, async: true);
            await system.Terminate();
        }

        var cold = new List<double>();
        var warm = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            using var system = ActorSystem.Create("recover", config);
            cold.Add(await Recover(system, "bench-review-persist", samples.Count));
            warm.Add(await Recover(system, "bench-review-persist", samples.Count));
            await system.Terminate();
        }

        Console.WriteLine($"| {store} | {Rate(raw)} | {Rate(persist)} | {Rate(persistAsync)} | {Ms(BenchSupport.Median(cold))} (runs: {string.Join(", ", cold.Select(Ms))}) | {Ms(BenchSupport.Median(warm))} |");
    }
    finally
    {
        NpgsqlConnection.ClearAllPools();
        if (database is not null)
        {
            await Exec(admin!, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }

        Directory.Delete(dir, recursive: true);
    }

    string Rate(double seconds) => $"{samples.Count / seconds:N0} events/s ({seconds:0.00} s)";
}

static string Ms(double seconds) => (seconds * 1000).ToString("0", CultureInfo.InvariantCulture) + " ms";

Config Config(string provider, string cs) => ConfigurationFactory.ParseString($$"""
    akka.loglevel = WARNING
    akka.persistence.journal.sql { connection-string = "{{cs}}", provider-name = "{{provider}}" }
    akka.persistence.snapshot-store.sql { connection-string = "{{cs}}", provider-name = "{{provider}}" }
    {{(provider.StartsWith("SQLite", StringComparison.Ordinal) ? "akka.persistence.journal.sql.parallelism = 1" : string.Empty)}}
    """)
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(root, "hocon", "persistence.conf"))))
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(root, "hocon", "darkfactory.conf"))));

static async Task<double> RawInserts(string provider, string cs, IReadOnlyList<IReviewEvent> events)
{
    var payloads = events.Select(e => (Manifest: e.GetType().Name, Bytes: JsonSerializer.SerializeToUtf8Bytes(e, e.GetType(), DarkFactoryJson.Options))).ToList();
    var sw = new Stopwatch();
    if (provider.StartsWith("SQLite", StringComparison.Ordinal))
    {
        await using var c = new SqliteConnection(cs);
        await c.OpenAsync();
        await using (var create = c.CreateCommand())
        {
            create.CommandText = "CREATE TABLE raw_events (id INTEGER PRIMARY KEY AUTOINCREMENT, pid TEXT, seq INTEGER, manifest TEXT, payload BLOB)";
            await create.ExecuteNonQueryAsync();
        }

        sw.Start();
        for (var i = 0; i < payloads.Count; i++)
        {
            await using var insert = c.CreateCommand();
            insert.CommandText = "INSERT INTO raw_events (pid, seq, manifest, payload) VALUES ($p, $s, $m, $b)";
            insert.Parameters.AddWithValue("$p", "raw");
            insert.Parameters.AddWithValue("$s", i + 1);
            insert.Parameters.AddWithValue("$m", payloads[i].Manifest);
            insert.Parameters.AddWithValue("$b", payloads[i].Bytes);
            await insert.ExecuteNonQueryAsync();
        }
    }
    else
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE raw_events (id BIGSERIAL PRIMARY KEY, pid TEXT, seq BIGINT, manifest TEXT, payload BYTEA)", c))
        {
            await create.ExecuteNonQueryAsync();
        }

        sw.Start();
        for (var i = 0; i < payloads.Count; i++)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO raw_events (pid, seq, manifest, payload) VALUES ($1, $2, $3, $4)", c);
            insert.Parameters.AddWithValue("raw");
            insert.Parameters.AddWithValue((long)(i + 1));
            insert.Parameters.AddWithValue(payloads[i].Manifest);
            insert.Parameters.AddWithValue(payloads[i].Bytes);
            await insert.ExecuteNonQueryAsync();
        }
    }

    return sw.Elapsed.TotalSeconds;
}

static async Task<double> Write(ActorSystem system, string id, IReadOnlyList<IReviewEvent> events, bool async)
{
    var writer = system.ActorOf(Props.Create(() => new Writer(id, async)));
    await writer.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(1)); // recovered, journal initialised
    var sw = Stopwatch.StartNew();
    foreach (var e in events)
    {
        writer.Tell(e);
    }

    await writer.Ask<Written>(Written.Instance, TimeSpan.FromMinutes(10));
    var seconds = sw.Elapsed.TotalSeconds;
    await writer.GracefulStop(TimeSpan.FromSeconds(10));
    return seconds;
}

static async Task<double> Recover(ActorSystem system, string id, int expected)
{
    var settings = new ReviewSettings
    {
        ReviewsDirectory = Path.GetTempPath(),
        WorktreeRoot = Path.GetTempPath(),
        PersistenceId = id,
        SnapshotEvery = int.MaxValue,
        KeepReviews = 200,
    };
    var sw = Stopwatch.StartNew();
    var actor = system.ActorOf(CompoundReviewActor.Props(ActorRefs.Nobody, settings));
    var reviews = await actor.Ask<ReviewsSnapshot>(new GetReviews(500), TimeSpan.FromMinutes(2)); // answered once recovered
    var seconds = sw.Elapsed.TotalSeconds;
    if (reviews.Reviews.Count == 0)
    {
        throw new InvalidOperationException("nothing recovered");
    }

    await actor.GracefulStop(TimeSpan.FromSeconds(10));
    return seconds;
}

// N events of complete reviews (9 events each: started ... completed), as the review actor writes them
static IReadOnlyList<IReviewEvent> Samples(int n)
{
    var list = new List<IReviewEvent>(n);
    var at = new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    var finding = new Finding(FindingKind.Revert, 80, "Revert abc1234567: Speed up app start", "abc1234567", "a change was reverted", "revert-speed-up-app-start", at);
    for (var r = 0; list.Count < n; r++)
    {
        var id = $"bench-{r:D5}";
        var branch = $"df/compound/2026-11-22-revert-{r}";
        IReviewEvent[] review =
        [
            new ReviewStarted(id, at, ReviewTrigger.Schedule, "/srv/repo", "main", "compound-reviewer", true, TimeSpan.FromMinutes(30)),
            new FindingsRecorded(id, at, [finding, finding with { Kind = FindingKind.TodoAdded, Priority = 40 }, finding with { Kind = FindingKind.LargeDiff, Priority = 32 }], 12),
            new TaskAssigned(id, at, "compound-reviewer", "Compound review: work on this finding ... (about 600 characters of task text)" + new string('.', 500), branch, "/var/lib/darkfactory-worktrees/" + id),
            new ReviewAgentStarted(id, at, "0123456789abcdef"),
            new ReviewAgentFinished(id, at, "0123456789abcdef", true, 0, "summary: fixed the revert", "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff", ["src/app.sh", "tests/app.bats"]),
            new GatesEvaluated(id, at, [new GateResult("worktree-paths", true, 0, 0, 0), new GateResult("build", true, 0, 0, 41_000, Output: "Build succeeded."), new GateResult("tests", true, 0, 0, 95_000, Output: "Passed!")]),
            new PrIntended(id, at, branch, "Compound review: Revert abc1234567", "## Finding\n..." + new string('.', 800)),
            new PrOpened(id, at, 1000 + r, $"https://github.com/acme/widgets/pull/{1000 + r}"),
            new ReviewCompleted(id, at),
        ];
        list.AddRange(review.Take(n - list.Count));
    }

    return list;
}

static async Task Exec(string cs, string sql)
{
    await using var c = new NpgsqlConnection(cs);
    await c.OpenAsync();
    await using var command = new NpgsqlCommand(sql, c);
    await command.ExecuteNonQueryAsync();
}

int Arg(string name, int fallback) => BenchSupport.Arg(args, name, fallback);

string? ArgString(string name) => BenchSupport.ArgString(args, name);

/// <summary>Persists review events with Persist (one round trip each) or PersistAsync (batched by the journal); answers <see cref="Written"/> when all are written.</summary>
internal sealed class Writer : ReceivePersistentActor
{
    public Writer(string id, bool async)
    {
        PersistenceId = id;
        Command<IReviewEvent>(e =>
        {
            if (async)
            {
                PersistAsync(e, _ => { });
            }
            else
            {
                Persist(e, _ => { });
            }
        });
        Command<Written>(w => DeferAsync(w, _ => Sender.Tell(w)));
    }

    public override string PersistenceId { get; }
}

internal sealed record Written
{
    public static readonly Written Instance = new();
}
