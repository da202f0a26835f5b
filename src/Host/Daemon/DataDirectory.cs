using System.Security.Cryptography;

namespace DarkFactory.Host.Daemon;

/// <summary>Where the daemon's address and token are published for `df` commands (owner-only file).</summary>
public sealed record DaemonEndpoint(string Url, string Token, int Pid);

/// <summary>
/// The daemon's data directory: the SQLite store, agent logs, per-run temp dirs, the API token and
/// daemon.json. Resolution order: --data-dir, DF_DATA_DIR, ./.darkfactory.
/// </summary>
public sealed class DataDirectory
{
    public const string EndpointFile = "daemon.json";
    public const string TokenFile = "token";

    /// <summary>The node's own key for the cluster port's TLS (<see cref="Cluster.NodeKey"/>): owner-only, never in a backup.</summary>
    public const string ClusterKeyFile = "cluster-node.key";

    public DataDirectory(string? path)
    {
        // the resolved path: a directory reached through a symbolic link is the same directory (and has the same
        // DaemonId, so a daemon started by the other spelling sweeps the runs the first one left)
        Path = DarkFactory.Actors.Processes.Native.RealPath(path ?? Environment.GetEnvironmentVariable("DF_DATA_DIR") ?? ".darkfactory");
    }

    /// <summary>The directory's canonical path (symbolic links resolved).</summary>
    public string Path { get; }

    /// <summary>When this process took the directory (the daemon's start).</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public string Database => System.IO.Path.Combine(Path, "darkfactory.db");

    public string Logs => System.IO.Path.Combine(Path, "logs");

    public string EndpointPath => System.IO.Path.Combine(Path, EndpointFile);

    /// <summary>Stable id of this data directory: the prefix of every run marker of its daemon.</summary>
    public string DaemonId => "df-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path)))[..12];

    public void Create()
    {
        Directory.CreateDirectory(Path);
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Logs);
    }

    /// <summary>The API token: created once (256 random bits), kept owner-only, reused by later daemons.</summary>
    public string LoadOrCreateToken()
    {
        var file = System.IO.Path.Combine(Path, TokenFile);
        if (File.Exists(file))
        {
            var existing = File.ReadAllText(file).Trim();
            if (existing.Length >= 32)
            {
                return existing;
            }
        }

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        WriteOwnerOnly(file, token + "\n");
        return token;
    }

    public void WriteEndpoint(DaemonEndpoint endpoint) =>
        WriteOwnerOnly(EndpointPath, JsonSerializer.Serialize(endpoint, DarkFactoryJson.Indented) + "\n");

    public DaemonEndpoint? ReadEndpoint()
    {
        try
        {
            return File.Exists(EndpointPath) ? JsonSerializer.Deserialize<DaemonEndpoint>(File.ReadAllText(EndpointPath), DarkFactoryJson.Options) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void RemoveEndpoint(int pid)
    {
        if (ReadEndpoint() is { } e && e.Pid == pid)
        {
            File.Delete(EndpointPath);
        }
    }

    /// <summary>Takes the data directory's lock: one daemon per data directory. Null when another daemon holds it.</summary>
    public FileStream? TryLock()
    {
        try
        {
            return new FileStream(System.IO.Path.Combine(Path, "daemon.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    internal static void WriteOwnerOnly(string file, string content)
    {
        var temp = file + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, file, overwrite: true);
    }
}
