using System.Runtime.InteropServices;

namespace DarkFactory.Bench;

/// <summary>The libc calls the harness needs.</summary>
internal static partial class Native
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "usleep")]
    public static partial int USleep(uint microseconds);
}

/// <summary>stat(2) on x86_64 glibc (st_ino at offset 8, st_size at 48): file identity across renames.</summary>
internal static unsafe partial class FileId
{
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatRaw(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStatRaw(int fd, byte* buffer);

    public static ulong? Inode(string path)
    {
        var buffer = stackalloc byte[256];
        return StatRaw(path, buffer) == 0 ? *(ulong*)(buffer + 8) : null;
    }

    public static ulong? Inode(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        var buffer = stackalloc byte[256];
        return FStatRaw((int)handle.DangerousGetHandle(), buffer) == 0 ? *(ulong*)(buffer + 8) : null;
    }
}
