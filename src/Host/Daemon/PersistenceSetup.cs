using Microsoft.Data.Sqlite;

namespace DarkFactory.Host.Daemon;

/// <summary>Which store the journal uses: the embedded SQLite file (default) or PostgreSQL.</summary>
public sealed record PersistenceSetup(string ProviderName, string ConnectionString)
{
    /// <summary>PostgreSQL when a connection string is given (--postgres, DF_POSTGRES, ConnectionStrings__DarkFactory); SQLite otherwise.</summary>
    public static PersistenceSetup Choose(string? postgres, DataDirectory data)
    {
        postgres ??= Environment.GetEnvironmentVariable("DF_POSTGRES") ?? Environment.GetEnvironmentVariable("ConnectionStrings__DarkFactory");
        return string.IsNullOrWhiteSpace(postgres)
            ? new PersistenceSetup("SQLite.MS", $"Data Source={data.Database};Pooling=True")
            : new PersistenceSetup("PostgreSQL.15", postgres);
    }

    /// <summary>Akka's in-memory journal and snapshot store (a scenario sandbox): nothing outlives the actor system.</summary>
    public static PersistenceSetup InMemory { get; } = new(InMemoryProvider, "");

    private const string InMemoryProvider = "InMemory";

    public bool IsSqlite => ProviderName.StartsWith("SQLite", StringComparison.Ordinal);

    public bool IsInMemory => ProviderName == InMemoryProvider;

    /// <summary>Switches the SQLite file to WAL (it stays so): durable writes at about three times the rate.</summary>
    public void Prepare()
    {
        if (!IsSqlite)
        {
            return;
        }

        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }

    public string Hocon()
    {
        if (IsInMemory)
        {
            return """
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                """;
        }

        var cs = ConnectionString.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        // SQLite has one writer at a time: parallel journal writers only wait on each other's locks
        // (busy retries); one writer with large batches is faster. PostgreSQL keeps the default.
        var writers = IsSqlite ? "akka.persistence.journal.sql.parallelism = 1" : string.Empty;
        return $$"""
            {{writers}}
            akka.persistence.journal.sql { connection-string = "{{cs}}", provider-name = "{{ProviderName}}" }
            akka.persistence.snapshot-store.sql { connection-string = "{{cs}}", provider-name = "{{ProviderName}}" }
            """;
    }

    /// <summary>For logs: the store without credentials.</summary>
    public string Describe() => IsInMemory ? "in memory" : IsSqlite ? $"SQLite {ConnectionString.Split(';')[0].Replace("Data Source=", string.Empty, StringComparison.Ordinal)}" : "PostgreSQL (connection string from configuration)";
}
