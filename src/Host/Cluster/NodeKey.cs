using System.Security.Cryptography;

namespace DarkFactory.Host.Cluster;

/// <summary>
/// A cluster node's own P-256 key for the cluster port's TLS (<see cref="ClusterTls.ForNode"/>), kept in its data
/// directory (<see cref="DataDirectory.ClusterKeyFile"/>, owner-only, left out of backups): made at the node's first
/// start and reused after, so its public half, once in the cluster's store (<see cref="ClusterKeys"/>), stays valid.
/// </summary>
public static class NodeKey
{
    /// <summary>The node's key, made when the data directory has none; a file that holds no key is refused with its path.</summary>
    public static (ECDsa? Key, string? Error) LoadOrCreate(DataDirectory data)
    {
        var file = Path.Combine(data.Path, DataDirectory.ClusterKeyFile);
        if (File.Exists(file))
        {
            try
            {
                var key = ECDsa.Create();
                key.ImportFromPem(File.ReadAllText(file));
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite); // owner-only, whatever a copy left
                return (key, null);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException or IOException or UnauthorizedAccessException)
            {
                return (null, $"{file} holds no usable key ({e.Message.ReplaceLineEndings(" ")}): remove it and the node makes a new one at its next start");
            }
        }

        var made = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DataDirectory.WriteOwnerOnly(file, made.ExportECPrivateKeyPem() + "\n");
        return (made, null);
    }
}
