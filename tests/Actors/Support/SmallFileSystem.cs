using System.Diagnostics;
using Xunit;

namespace DarkFactory.Actors.Tests.Support;

/// <summary>
/// A real, small file system for full-disk tests: a tmpfs of a few hundred KiB mounted on a directory (as root:
/// these machines run the tests as root, and a tmpfs mount needs no device). Full is real: the kernel answers
/// ENOSPC to the next write, exactly as a full data disk does. <see cref="Fill"/> takes the space with a filler
/// file, <see cref="Free"/> gives it back. Disposing unmounts (lazily, so an open file cannot keep it).
/// </summary>
public sealed class SmallFileSystem : IDisposable
{
    private const string Filler = ".filler";

    private SmallFileSystem(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why a tmpfs cannot be mounted here (null when it can): not root, or mount refused.</summary>
    public static readonly Lazy<string?> Missing = new(() =>
    {
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal))
        {
            return "a tmpfs mount needs root";
        }

        var probe = Directory.CreateTempSubdirectory("df-fs-probe-").FullName;
        try
        {
            var (ok, error) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "df-test-full", probe);
            if (!ok)
            {
                return "cannot mount a tmpfs here: " + error;
            }

            Run("umount", "-l", probe);
            return null;
        }
        finally
        {
            Directory.Delete(probe);
        }
    });

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> on <paramref name="path"/> (created if missing).</summary>
    public static SmallFileSystem Mount(string path, long bytes)
    {
        Directory.CreateDirectory(path);
        var (ok, error) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "df-test-full", path);
        Assert.True(ok, $"mount tmpfs on {path}: {error}");
        return new SmallFileSystem(path);
    }

    /// <summary>Free bytes left.</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Takes every free byte with a filler file (the write that does not fit is the kernel's ENOSPC).</summary>
    public void Fill()
    {
        using var filler = new FileStream(System.IO.Path.Combine(Path, Filler), FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                filler.Write(block);
            }
        }
        catch (IOException)
        {
            // full
        }

        Assert.True(FreeBytes < 4096, $"{FreeBytes} bytes still free after filling {Path}");
    }

    /// <summary>Gives the filler's space back.</summary>
    public void Free() => File.Delete(System.IO.Path.Combine(Path, Filler));

    public void Dispose() => Run("umount", "-l", Path);

    private static (bool Ok, string Error) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode == 0, error.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}

/// <summary>Runs only where a small tmpfs can be mounted (<see cref="SmallFileSystem"/>); the reason otherwise.</summary>
public sealed class FullDiskFactAttribute : FactAttribute
{
    public FullDiskFactAttribute() => Skip = SmallFileSystem.Missing.Value;
}
