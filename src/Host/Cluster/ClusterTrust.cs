using Npgsql;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// Chooses a cluster node's TLS at <c>df up --node</c> (<see cref="ClusterTls"/>): the shared secret when the operator
/// gave one (<c>DF_CLUSTER_SECRET</c>), else the cluster's store — the node's own key (<see cref="NodeKey"/>), its
/// public half written to the cluster's PostgreSQL (<see cref="ClusterKeys"/>), its peers' read from there
/// (<see cref="TrustedKeys"/>). Either way the cluster port speaks mutual TLS only: there is no plain-TCP cluster.
/// </summary>
public static class ClusterTrust
{
    /// <summary>How long a start waits for the database to take the node's key (it may be starting too, as in compose).</summary>
    public static readonly TimeSpan StoreWait = TimeSpan.FromSeconds(30);

    /// <summary>The shortest time between two reads of the peers' keys when an unknown one knocks.</summary>
    public static readonly TimeSpan ReloadInterval = TimeSpan.FromMilliseconds(250);

    /// <returns>The node's TLS, or null with the reason it cannot have one (the daemon does not start).</returns>
    public static (ClusterTls? Tls, string? Error) Prepare(ClusterNodeOptions node, DataDirectory data, string connectionString, string cluster, string? secret, TimeSpan? storeWait = null)
    {
        if (!string.IsNullOrWhiteSpace(secret))
        {
            return ClusterTls.From(secret);
        }

        var (key, keyError) = NodeKey.LoadOrCreate(data);
        if (key is null)
        {
            return (null, keyError);
        }

        var keys = new ClusterKeys(connectionString, cluster);
        var tls = ClusterTls.ForNode(key, new TrustedKeys(keys.Read, () => DateTimeOffset.UtcNow, ReloadInterval));
        var deadline = DateTimeOffset.UtcNow + (storeWait ?? StoreWait);
        while (true)
        {
            try
            {
                keys.Write(node.Node, tls.PublicKey);
                return (tls, null);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException)
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    return (null, $"the cluster's PostgreSQL did not take node {node.Node}'s public key for the cluster port's TLS: {e.Message.ReplaceLineEndings(" ")} (check --postgres; or give every node the same {ClusterTls.Variable})");
                }

                Thread.Sleep(TimeSpan.FromSeconds(1)); // start-up, before the actor system: nothing else waits on this thread
            }
        }
    }
}
