using System.Collections.Immutable;
using Akka.Hosting;
using DarkFactory.Actors.Control;
using DarkFactory.Actors.Output;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace DarkFactory.Host.Daemon;

/// <summary>One readiness check: its name (<c>actors</c>, <c>journal</c>, <c>disk</c>, <c>logs</c>, and <c>cluster</c> on a cluster node), whether it passed and why.</summary>
public sealed record ReadinessCheck(string Name, bool Ok, string Detail);

/// <summary>The daemon's readiness: every check; ready when all passed. <see cref="Reason"/> names the first that failed.</summary>
public sealed record ReadinessReport(IReadOnlyList<ReadinessCheck> Checks, DateTimeOffset At)
{
    public bool Ready => Checks.All(c => c.Ok);

    public string? Reason => Checks.FirstOrDefault(c => !c.Ok) is { } failed ? $"{failed.Name}: {failed.Detail}" : null;
}

/// <summary>
/// Whether the daemon can do its work, as opposed to merely being alive (<c>/api/health</c>): the actor tree
/// answers (the factory answers a fleet query in time), the journal takes a write (a row in its own
/// <c>df_readiness</c> table of the store), and the data directory's file system has room (at least
/// <see cref="Ops.Doctor.MinFreeBytes"/>), and every agent log takes writes (<see cref="LogWriteFaults"/>). One service for <c>GET /api/health/ready</c>, the metrics
/// (<c>df_ready</c>, <c>df_readiness_check</c>, <c>df_data_dir_free_bytes</c>) and the systemd notifier (its
/// watchdog is fed by the actor check; its status line carries the readiness reason). Checked every 15 s
/// and on request (a result younger than 2 s is reused, so a busy probe cannot load the store).
/// </summary>
public sealed partial class Readiness(
    IRequiredActor<FactoryActor> factory,
    DataDirectory data,
    PersistenceSetup store,
    FleetTelemetry telemetry,
    ILogger<Readiness> log) : BackgroundService
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _checking = new(1, 1);
    private ReadinessReport? _last;

    /// <summary>The latest report (null before the first check).</summary>
    public ReadinessReport? Last => Volatile.Read(ref _last);

    /// <summary>In a cluster, whether this node is an Up member (<see cref="Cluster.ClusterMembership.Check"/>); null: no such check (a single node).</summary>
    public Func<ReadinessCheck?> ClusterCheck { get; init; } = () => null;

    /// <summary>The longest a check may take before it fails as not answering, and the longest a caller waits for a check another caller runs.</summary>
    public TimeSpan CheckBound { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The least free space the data directory needs to be ready.</summary>
    public long MinFreeBytes { get; init; } = Ops.Doctor.MinFreeBytes;

    public async Task<ReadinessReport> CheckAsync(CancellationToken ct)
    {
        if (Last is { } recent && DateTimeOffset.UtcNow - recent.At < Fresh)
        {
            return recent;
        }

        // one check at a time; a caller never waits longer than a whole check could take
        if (!await _checking.WaitAsync(CheckBound, ct))
        {
            return Last ?? new ReadinessReport([new ReadinessCheck("actors", false, "the first readiness check has not finished")], DateTimeOffset.UtcNow);
        }

        try
        {
            if (Last is { } meanwhile && DateTimeOffset.UtcNow - meanwhile.At < Fresh)
            {
                return meanwhile;
            }

            var actors = Bounded(ActorTreeAsync(ProbeTimeout, ct), "actors", "the actor tree did not answer", ct);
            var journal = Bounded(store.IsSqlite ? Task.Run(() => SqliteJournal(store.ConnectionString), ct) : PostgresJournalAsync(store.ConnectionString, ct), "journal", "the store did not take a write", ct);
            List<ReadinessCheck> checks = [await actors, await journal, Disk(data.Path, MinFreeBytes), Logs(telemetry.LogWrites)];
            if (ClusterCheck() is { } cluster)
            {
                checks.Add(cluster);
            }

            var report = new ReadinessReport(checks, DateTimeOffset.UtcNow);
            Publish(report);
            return report;
        }
        finally
        {
            _checking.Release();
        }
    }

    /// <summary>A check that has not answered within <see cref="CheckBound"/> fails (a locked store, a starved pool): readiness never hangs its caller.</summary>
    private async Task<ReadinessCheck> Bounded(Task<ReadinessCheck> check, string name, string what, CancellationToken ct)
    {
        try
        {
            return await check.WaitAsync(CheckBound, ct);
        }
        catch (TimeoutException)
        {
            return new ReadinessCheck(name, false, $"{what} within {CheckBound.TotalSeconds:0} s");
        }
    }

    /// <summary>Whether the actor tree answers: the factory answers a fleet query within <paramref name="timeout"/> (also the systemd watchdog's test).</summary>
    public async Task<ReadinessCheck> ActorTreeAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            var gateway = await factory.GetAsync(ct);
            var agents = await gateway.Ask<AgentsSnapshot>(GetAgents.Instance, timeout, ct);
            return new ReadinessCheck("actors", true, $"the actor tree answers ({agents.Agents.Count} agents)");
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or MissingActorRegistryEntryException && !ct.IsCancellationRequested)
        {
            return new ReadinessCheck("actors", false, $"the actor tree did not answer within {timeout.TotalSeconds:0} s");
        }
        catch (InvalidOperationException) when (!ct.IsCancellationRequested)
        {
            // the gateway is up but the actor it routes to is not registered yet: the tree is still being composed
            return new ReadinessCheck("actors", false, "the actor tree is still starting");
        }
    }

    /// <summary>A write to the SQLite store (its own table): a read-only, full, locked or damaged file fails it.</summary>
    public static ReadinessCheck SqliteJournal(string connectionString)
    {
        try
        {
            using var connection = new SqliteConnection(connectionString + ";Default Timeout=5");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE IF NOT EXISTS df_readiness (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
                INSERT INTO df_readiness (id, at) VALUES (1, $at) ON CONFLICT(id) DO UPDATE SET at = excluded.at;
                """;
            command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
            command.ExecuteNonQuery();
            return new ReadinessCheck("journal", true, "the store takes writes");
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return new ReadinessCheck("journal", false, $"the store does not take writes: {OneLine(e.Message)}");
        }
    }

    private static async Task<ReadinessCheck> PostgresJournalAsync(string connectionString, CancellationToken ct)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5, CommandTimeout = 5 };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(
                """
                CREATE TABLE IF NOT EXISTS df_readiness (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL);
                INSERT INTO df_readiness (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at;
                """,
                connection);
            await command.ExecuteNonQueryAsync(ct);
            return new ReadinessCheck("journal", true, "the store takes writes");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException)
        {
            return new ReadinessCheck("journal", false, $"the store does not take writes: {OneLine(e.Message)}");
        }
    }

    /// <summary>Free space on the file system of <paramref name="path"/>: at least <paramref name="minFree"/> bytes.</summary>
    public static ReadinessCheck Disk(string path, long minFree)
    {
        try
        {
            var free = new DriveInfo(path).AvailableFreeSpace;
            var text = $"{free / (1024 * 1024)} MiB free";
            return free >= minFree
                ? new ReadinessCheck("disk", true, text)
                : new ReadinessCheck("disk", false, $"{text}, under {minFree / (1024 * 1024)} MiB: the journal and agent logs will fail");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return new ReadinessCheck("disk", false, $"cannot tell the free space: {OneLine(e.Message)}");
        }
    }

    /// <summary>Every agent log takes writes (none refused by the file system now); else which do not, why, and the bytes not written.</summary>
    public static ReadinessCheck Logs(LogWriteFaults faults)
    {
        faults.Retry(); // a log whose agent no longer writes would otherwise stay failing after space returned
        var failing = faults.Failing;
        if (failing.Count == 0)
        {
            return new ReadinessCheck("logs", true, faults.DroppedBytes == 0 ? "agent logs take writes" : $"agent logs take writes ({faults.DroppedBytes} bytes were not written earlier)");
        }

        var names = string.Join(", ", failing.Take(5).Select(f => f.Log)) + (failing.Count > 5 ? $" and {failing.Count - 5} more" : string.Empty);
        return new ReadinessCheck("logs", false, $"{failing.Count} agent log(s) take no writes ({names}): {failing[0].Error}; {faults.DroppedBytes} bytes of output not written (still captured and streamed)");
    }

    /// <summary>Free bytes of the data directory's file system, for the metrics (-1 when unknown).</summary>
    private static long FreeBytes(string path)
    {
        try
        {
            return new DriveInfo(path).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private void Publish(ReadinessReport report)
    {
        var before = Interlocked.Exchange(ref _last, report);
        telemetry.SetReadiness(report.Checks.ToImmutableDictionary(c => c.Name, c => c.Ok), FreeBytes(data.Path));
        if (before is null || before.Ready != report.Ready)
        {
            if (report.Ready)
            {
                ReadyNow(log);
            }
            else
            {
                NotReady(log, report.Reason!);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every);
        do
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // a probe that fails is a reason not to be ready, never a reason to stop the daemon (a
                // BackgroundService that throws stops the host)
                CheckFailed(log, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: the actor tree answers, the journal takes writes, the disk has room, agent logs take writes")]
    private static partial void ReadyNow(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The readiness check failed: {Error}")]
    private static partial void CheckFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not ready: {Reason}")]
    private static partial void NotReady(ILogger logger, string reason);
}
