namespace DarkFactory.Actors.Processes;

/// <summary>Finds executables on PATH, like `command -v`.</summary>
public static class Executables
{
    public static string? Find(string name, string? path = null)
    {
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        if (name.Contains('/'))
        {
            return IsExecutable(name) ? Path.GetFullPath(name) : null;
        }

        foreach (var dir in (path ?? Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static bool IsOnPath(string name) => Find(name) is not null;

    private static bool IsExecutable(string file)
    {
        try
        {
            return File.Exists(file) && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
