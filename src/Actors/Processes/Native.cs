using System.Runtime.InteropServices;

namespace DarkFactory.Actors.Processes;

/// <summary>The few libc calls the process layer needs (there is no Mono.Posix here).</summary>
public static partial class Native
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int ESRCH = 3;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ENOEXEC = 8;
    public const int EACCES = 13;
    public const int ENOTDIR = 20;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillRaw(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "getpgid", SetLastError = true)]
    private static partial int GetPgidRaw(int pid);

    /// <summary>Sends a signal; returns 0 or the errno (ESRCH when nothing is there any more).</summary>
    public static int Kill(int pid, int signal) => KillRaw(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Signals every process of a group.</summary>
    public static int KillGroup(int pgid, int signal) => pgid > 1 ? Kill(-pgid, signal) : ESRCH;

    /// <summary>True while at least one process of the group exists (zombies included).</summary>
    public static bool GroupExists(int pgid) => pgid > 1 && KillRaw(-pgid, 0) == 0;

    public static int GetPgid(int pid) => GetPgidRaw(pid);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealPathRaw(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    /// <summary>
    /// The canonical path (every symbolic link resolved, like realpath(1)); for a path that does not exist
    /// yet, its deepest existing ancestor is resolved and the rest appended.
    /// </summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var rest = new Stack<string>();
        var current = full;
        while (true)
        {
            var resolved = RealPathRaw(current, 0);
            if (resolved != 0)
            {
                try
                {
                    var head = Marshal.PtrToStringUTF8(resolved)!;
                    return rest.Count == 0 ? head : Path.Combine([head, .. rest]);
                }
                finally
                {
                    Free(resolved);
                }
            }

            var parent = Path.GetDirectoryName(current);
            if (parent is null)
            {
                return full;
            }

            rest.Push(Path.GetFileName(current));
            current = parent;
        }
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuidRaw();

    /// <summary>The daemon runs as root (effective uid 0).</summary>
    public static bool IsRoot { get; } = GetEuidRaw() == 0;

    private const ulong FIONREAD = 0x541B;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlInt(int fd, ulong request, out int value);

    /// <summary>Bytes that can be read from a pipe or socket without blocking; 0 on error.</summary>
    public static int BytesAvailable(int fd) => IoctlInt(fd, FIONREAD, out var n) == 0 ? n : 0;
}
