using System.Security.Cryptography;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// The public keys of a cluster's nodes, as the TLS handshake asks for them (<see cref="ClusterTls.ForNode"/>): a key
/// not known yet (a node that joined after this one started) makes one reload from the store, at most one per
/// <paramref name="minInterval"/> however many unknown keys knock (a process hammering the port with made-up
/// certificates costs the store one query per interval, and is refused each time). Thread-safe: the transport's I/O
/// threads call it.
/// </summary>
/// <param name="load">Reads every key of the cluster from its store; throws when it cannot (the known keys stay).</param>
/// <param name="now">The clock.</param>
/// <param name="minInterval">The shortest time between two reloads.</param>
public sealed class TrustedKeys(Func<IReadOnlyList<byte[]>> load, Func<DateTimeOffset> now, TimeSpan minInterval)
{
    private readonly Lock _gate = new();
    private IReadOnlyList<byte[]> _keys = [];
    private DateTimeOffset? _loadedAt;

    /// <summary>How many times the store was read (for tests and logs).</summary>
    public int Loads { get; private set; }

    /// <summary>The last reload's failure, if it failed (the keys known before it stay trusted).</summary>
    public string? LastError { get; private set; }

    /// <summary>Whether <paramref name="publicKey"/> (a SubjectPublicKeyInfo) is a key of the cluster.</summary>
    public bool Trusts(byte[] publicKey)
    {
        lock (_gate)
        {
            if (Known(publicKey))
            {
                return true;
            }

            var at = now();
            if (_loadedAt is { } last && at - last < minInterval)
            {
                return false;
            }

            Reload(at);
            return Known(publicKey);
        }
    }

    /// <summary>Reads the store now (at start, after this node wrote its own key).</summary>
    public void Reload()
    {
        lock (_gate)
        {
            Reload(now());
        }
    }

    private void Reload(DateTimeOffset at)
    {
        _loadedAt = at;
        Loads++;
        try
        {
            _keys = load();
            LastError = null;
        }
        catch (Exception e)
        {
            LastError = e.Message;
        }
    }

    private bool Known(byte[] publicKey)
    {
        foreach (var key in _keys)
        {
            if (key.Length == publicKey.Length && CryptographicOperations.FixedTimeEquals(key, publicKey))
            {
                return true;
            }
        }

        return false;
    }
}
