using Npgsql;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// The public keys of a cluster's nodes in the PostgreSQL database the cluster shares (table <c>df_cluster_keys</c>,
/// one row per cluster and node): a node writes its own at start (a node whose data directory was replaced writes its
/// new key over the old one) and reads them all to know its peers (<see cref="TrustedKeys"/>). Public keys only: no
/// secret is written to the database.
/// </summary>
public sealed class ClusterKeys(string connectionString, string cluster)
{
    private const string Schema =
        """
        CREATE TABLE IF NOT EXISTS df_cluster_keys (
            cluster TEXT NOT NULL,
            node TEXT NOT NULL,
            public_key BYTEA NOT NULL,
            written_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (cluster, node));
        """;

    private readonly string _connection = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5, CommandTimeout = 5 }.ConnectionString;

    /// <summary>Writes <paramref name="node"/>'s public key (a SubjectPublicKeyInfo), replacing the node's earlier one.</summary>
    public void Write(string node, byte[] publicKey)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(
            Schema + """
            INSERT INTO df_cluster_keys (cluster, node, public_key, written_at) VALUES (@cluster, @node, @key, now())
            ON CONFLICT (cluster, node) DO UPDATE SET public_key = excluded.public_key, written_at = excluded.written_at;
            """,
            connection);
        command.Parameters.AddWithValue("cluster", cluster);
        command.Parameters.AddWithValue("node", node);
        command.Parameters.AddWithValue("key", publicKey);
        command.ExecuteNonQuery();
    }

    /// <summary>Every node's public key of the cluster.</summary>
    public IReadOnlyList<byte[]> Read()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("SELECT public_key FROM df_cluster_keys WHERE cluster = @cluster", connection);
        command.Parameters.AddWithValue("cluster", cluster);
        using var reader = command.ExecuteReader();
        var keys = new List<byte[]>();
        while (reader.Read())
        {
            keys.Add((byte[])reader[0]);
        }

        return keys;
    }

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(_connection);
        connection.Open();
        return connection;
    }
}
