namespace DarkFactory.Host.Fleet;

/// <summary>Finds executables the way a shell does: through PATH, or directly for names that contain a '/'.</summary>
public static class PathLookup
{
    public static bool IsOnPath(string binary) => Find(binary) is not null;

    /// <summary>The full path of the executable, or null. Absolute paths and paths with '/' are checked as they are.</summary>
    public static string? Find(string binary)
    {
        if (string.IsNullOrWhiteSpace(binary))
        {
            return null;
        }

        if (binary.Contains('/') || Path.IsPathRooted(binary))
        {
            var full = Path.GetFullPath(binary);
            return IsExecutable(full) ? full : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in Candidates(binary))
            {
                var candidate = Path.Combine(dir, name);
                if (IsExecutable(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> Candidates(string binary)
    {
        yield return binary;
        if (OperatingSystem.IsWindows())
        {
            foreach (var ext in (Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE;.CMD;.BAT").Split(';'))
            {
                yield return binary + ext;
            }
        }
    }

    private static bool IsExecutable(string file)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(file) & anyExecute) != 0;
    }
}
