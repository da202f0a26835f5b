using Microsoft.Data.Sqlite;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// Whether Nightwatch may have pauses that outlived the last daemon, read from the store before the actor system
/// starts: only then does the first fleet revision wait for Nightwatch's recovery (<c>FactoryActor</c>), which on a
/// cold journal is seconds on a loaded machine. A pause comes only from Nightwatch's own events or snapshot, so a
/// SQLite store with no row of Nightwatch's persistence id (a new data directory; one whose Nightwatch never recorded
/// anything) has none. Anything this cannot tell for certain (PostgreSQL, an unknown table layout, an error) says
/// "may exist": the wait stays, as before.
/// </summary>
public static class BootPauses
{
    /// <summary>The tables Akka.Persistence.Sql keeps events and snapshots in (its defaults, which hocon/persistence.conf keeps).</summary>
    private static readonly string[] Tables = ["journal", "snapshot"];

    /// <summary>The store's own readiness table (<see cref="Readiness"/>): no Akka table.</summary>
    private const string ReadinessTable = "df_readiness";

    public static bool MayExist(PersistenceSetup store, string persistenceId)
    {
        if (!store.IsSqlite)
        {
            return !store.IsInMemory;
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder(store.ConnectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false };
            if (!File.Exists(builder.DataSource))
            {
                return false; // a new store
            }

            using var connection = new SqliteConnection(builder.ConnectionString);
            connection.Open();
            var tables = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            using (var list = connection.CreateCommand())
            {
                list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
                using var reader = list.ExecuteReader();
                while (reader.Read())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            tables.Remove(ReadinessTable);
            if (tables.Count == 0)
            {
                return false; // nothing of Akka's yet: the journal creates its tables at its first start
            }

            if (!Tables.All(tables.Contains))
            {
                return true; // tables of another layout (an operator's table names): cannot tell
            }

            foreach (var table in Tables)
            {
                using var query = connection.CreateCommand();
                query.CommandText = $"SELECT EXISTS (SELECT 1 FROM [{table}] WHERE persistence_id = $id)";
                query.Parameters.AddWithValue("$id", persistenceId);
                if (Convert.ToInt64(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0)
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            return true;
        }
    }
}
