using System.Formats.Tar;
using System.IO.Compression;
using Microsoft.Data.Sqlite;

namespace DarkFactory.Host.Ops;

/// <summary>What a backup archive holds (<c>backup.json</c>, its first entry).</summary>
public sealed record BackupManifest(int Format, string Release, DateTimeOffset CreatedAt, string DataDir, string Store, int Files, long Bytes);

/// <summary>
/// `df backup` and `df restore`: a data directory as one gzipped tar, taken while the daemon runs. The SQLite
/// store is copied with SQLite's online backup API (a consistent copy, WAL included, while the daemon writes);
/// every other file of the directory is kept as it is (review reports, the release stamp, and whatever later
/// features keep there, such as projects), except what belongs to a running daemon or can be rebuilt: its
/// address, lock, API token and cluster key (a restored node makes a new one), agent logs, per-run scratch space and review worktrees. With PostgreSQL the
/// journal is not in the archive: back the database up with pg_dump (<see cref="PostgresGuidance"/>).
/// </summary>
public static class Backup
{
    public const string ManifestEntry = "backup.json";
    public const int Format = 1;

    /// <summary>Top-level names of the data directory that a backup leaves out.</summary>
    private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal)
    {
        DataDirectory.EndpointFile, DataDirectory.TokenFile, DataDirectory.ClusterKeyFile, "daemon.lock", "logs", "worktrees", "runs", "tmp",
        "darkfactory.db", "darkfactory.db-wal", "darkfactory.db-shm", "darkfactory.db-journal",
    };

    public static string PostgresGuidance =>
        """
        The journal is in PostgreSQL: back it up with pg_dump (consistent while the daemon runs), e.g.
          pg_dump --format=custom --file darkfactory.pgdump "host=HOST port=5432 dbname=darkfactory user=darkfactory"
        and restore it into an empty database with
          pg_restore --dbname "host=HOST dbname=darkfactory user=darkfactory" --no-owner darkfactory.pgdump
        """;

    /// <summary>Writes the archive (owner-only) and returns what it holds.</summary>
    public static BackupManifest Create(DataDirectory data, string archive, bool postgres)
    {
        if (!Directory.Exists(data.Path))
        {
            throw new InvalidOperationException($"{data.Path} does not exist: nothing to back up (pass the daemon's --data-dir)");
        }

        var full = Path.GetFullPath(archive);
        var scratch = Directory.CreateTempSubdirectory("df-backup-").FullName;
        try
        {
            var files = new List<(string Entry, string Source)>();
            if (!postgres && File.Exists(data.Database))
            {
                var copy = Path.Combine(scratch, "darkfactory.db");
                using (var source = new SqliteConnection($"Data Source={data.Database};Mode=ReadOnly;Pooling=False"))
                using (var target = new SqliteConnection($"Data Source={copy};Pooling=False"))
                {
                    source.Open();
                    target.Open();
                    source.BackupDatabase(target);
                }

                files.Add(("darkfactory.db", copy));
            }

            foreach (var file in Directory.EnumerateFiles(data.Path, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(data.Path, file);
                var top = relative.Split(Path.DirectorySeparatorChar)[0];
                if (!Skipped.Contains(top) && !relative.EndsWith(".tmp", StringComparison.Ordinal) && Path.GetFullPath(file) != full)
                {
                    files.Add((relative.Replace(Path.DirectorySeparatorChar, '/'), file));
                }
            }

            var manifest = new BackupManifest(Format, DataStamp.Release, DateTimeOffset.UtcNow, data.Path, postgres ? "postgresql" : "sqlite", files.Count, files.Sum(f => new FileInfo(f.Source).Length));
            var temp = full + ".tmp";
            using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            using (var gzip = new GZipStream(stream, CompressionLevel.Optimal))
            using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
            {
                var json = JsonSerializer.SerializeToUtf8Bytes(manifest, DarkFactoryJson.Indented);
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, ManifestEntry) { DataStream = new MemoryStream(json), Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
                foreach (var (entry, source) in files)
                {
                    tar.WriteEntry(source, entry);
                }
            }

            File.Move(temp, full, overwrite: true);
            return manifest;
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Unpacks an archive into a new (absent or empty) data directory; refuses anything else.</summary>
    public static BackupManifest Restore(string archive, string target)
    {
        var dir = Path.GetFullPath(target);
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw new InvalidOperationException($"{dir} is not empty: restore only into a new or empty directory (the daemon's data there is left untouched)");
        }

        if (File.Exists(dir))
        {
            throw new InvalidOperationException($"{dir} is a file: restore into a new directory");
        }

        if (!File.Exists(archive))
        {
            throw new InvalidOperationException($"{archive} does not exist");
        }

        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        BackupManifest? manifest = null;
        try
        {
            using var stream = File.OpenRead(archive);
            using var gzip = new GZipStream(stream, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.Name == ManifestEntry)
                {
                    manifest = JsonSerializer.Deserialize<BackupManifest>(entry.DataStream!, DarkFactoryJson.Options);
                    if (manifest is null || manifest.Format > Format)
                    {
                        throw new InvalidOperationException($"{archive} was made by a newer release ({manifest?.Release}, backup format {manifest?.Format}); restore it with that release");
                    }

                    continue;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                {
                    throw new InvalidOperationException($"{archive}: entry '{entry.Name}' is a {entry.EntryType}, not a file: not a Dark Factory backup");
                }

                var path = Path.GetFullPath(Path.Combine(dir, entry.Name));
                if (!path.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(entry.Name))
                {
                    throw new InvalidOperationException($"{archive}: entry '{entry.Name}' points outside the data directory: refused");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                entry.ExtractToFile(path, overwrite: false);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or JsonException)
        {
            Directory.Delete(dir, recursive: true);
            throw new InvalidOperationException($"{archive} is not a readable backup: {e.Message}", e);
        }
        catch (InvalidOperationException)
        {
            Directory.Delete(dir, recursive: true); // nothing half-restored is left to start a daemon on
            throw;
        }

        if (manifest is null)
        {
            Directory.Delete(dir, recursive: true);
            throw new InvalidOperationException($"{archive} has no {ManifestEntry}: not a Dark Factory backup");
        }

        return manifest;
    }
}
