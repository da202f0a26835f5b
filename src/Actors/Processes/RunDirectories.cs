using System.Runtime.InteropServices;

namespace DarkFactory.Actors.Processes;

/// <summary>
/// Where runs get their private HOME and TMPDIR: outside the daemon's data directory (a run that walks up
/// from its TMPDIR must not arrive at the token or the database), one owner-only directory per daemon.
/// Order: <c>DF_RUN_DIR</c>, <c>$XDG_RUNTIME_DIR/darkfactory/&lt;daemon id&gt;</c>, the system temp directory's
/// <c>df-runs-&lt;uid&gt;/&lt;daemon id&gt;</c>.
/// </summary>
public static partial class RunDirectories
{
    public const string OverrideVariable = "DF_RUN_DIR";

    /// <summary>The run root of a daemon (not created).</summary>
    public static string Root(string daemonId, IReadOnlyDictionary<string, string?> environment)
    {
        if (environment.GetValueOrDefault(OverrideVariable) is { Length: > 0 } chosen)
        {
            return Path.GetFullPath(chosen);
        }

        if (environment.GetValueOrDefault("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime))
        {
            return Path.Combine(runtime, "darkfactory", daemonId);
        }

        return Path.Combine(Path.GetTempPath(), $"df-runs-{GetEuid()}", daemonId);
    }

    /// <summary>
    /// Creates the run root owner-only and empties what a killed daemon left in it. Refuses a root (or its
    /// parent) that is a symbolic link or belongs to another user: someone else could read the runs' files.
    /// </summary>
    /// <exception cref="IOException">The directory is not safe to use.</exception>
    public static void Prepare(string root)
    {
        var parent = Path.GetDirectoryName(root)!;
        foreach (var dir in new[] { parent, root })
        {
            if (new FileInfo(dir).LinkTarget is not null)
            {
                throw new IOException($"run directory {dir} is a symbolic link; choose another with {OverrideVariable}");
            }

            Directory.CreateDirectory(dir);

            if (Owner(dir) is { } owner && owner != GetEuid())
            {
                throw new IOException($"run directory {dir} belongs to uid {owner}, not to this daemon's user; choose another with {OverrideVariable}");
            }

            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        foreach (var stale in Directory.EnumerateFileSystemEntries(root))
        {
            try
            {
                if (Directory.Exists(stale))
                {
                    Directory.Delete(stale, recursive: true);
                }
                else
                {
                    File.Delete(stale);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // a file in use; the next start tries again
            }
        }
    }

    /// <summary>The owner uid of a path (not following a final symbolic link); null when it cannot be read.</summary>
    public static unsafe uint? Owner(string path)
    {
        // struct statx: stx_mask u32 @0, stx_blksize u32 @4, stx_attributes u64 @8, stx_nlink u32 @16, stx_uid u32 @20 (256 bytes)
        var buffer = stackalloc byte[256];
        return StatX(-100 /* AT_FDCWD */, path, 0x100 /* AT_SYMLINK_NOFOLLOW */, 0x0FFF /* STATX_BASIC_STATS */, buffer) == 0
            ? *(uint*)(buffer + 20)
            : null;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int StatX(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();
}
