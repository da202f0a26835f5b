namespace DarkFactory.Actors.Processes;

/// <summary>
/// Finds processes by the environment marker every agent run carries (DF_RUN=...), which survives
/// setsid, double forks and reparenting: the only handle on a descendant that left the agent's group.
/// </summary>
public static class ProcessTree
{
    /// <summary>Environment variable set on every agent process: "{daemonId}/{agent}/{runId}".</summary>
    public const string RunMarker = "DF_RUN";

    /// <summary>
    /// Scans /proc once and SIGKILLs every process whose DF_RUN marker starts with one of
    /// <paramref name="prefixes"/>. Returns the pids it killed. Processes of other users are skipped.
    /// </summary>
    public static IReadOnlyList<int> KillMarked(IReadOnlyCollection<string> prefixes)
    {
        if (prefixes.Count == 0 || !Directory.Exists("/proc"))
        {
            return [];
        }

        var needles = prefixes.Select(p => Encoding.UTF8.GetBytes(RunMarker + "=" + p)).ToArray();
        var self = Environment.ProcessId;
        var killed = new List<int>();
        var buffer = new byte[64 * 1024];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (!int.TryParse(name, out var pid) || pid == self || pid <= 1)
            {
                continue;
            }

            var length = ReadEnviron(pid, buffer);
            if (length <= 0)
            {
                continue;
            }

            if (Matches(buffer.AsSpan(0, length), needles))
            {
                if (Native.Kill(pid, Native.SIGKILL) == 0)
                {
                    killed.Add(pid);
                }
            }
        }

        return killed;
    }

    /// <summary>The run markers (<c>DF_RUN</c> values) of live processes whose marker starts with the prefix: which runs they belong to.</summary>
    public static IReadOnlyList<string> MarkersOf(string prefix)
    {
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        var needle = Encoding.UTF8.GetBytes(RunMarker + "=" + prefix);
        var entry = Encoding.UTF8.GetBytes(RunMarker + "=");
        var markers = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new byte[64 * 1024];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir.AsSpan()), out var pid) || pid == Environment.ProcessId || pid <= 1)
            {
                continue;
            }

            var length = ReadEnviron(pid, buffer);
            if (length <= 0 || !Matches(buffer.AsSpan(0, length), [needle]))
            {
                continue;
            }

            var rest = buffer.AsSpan(0, length);
            while (rest.Length > 0)
            {
                var end = rest.IndexOf((byte)0);
                var variable = end < 0 ? rest : rest[..end];
                if (variable.StartsWith(entry))
                {
                    markers.Add(Encoding.UTF8.GetString(variable[entry.Length..]));
                    break;
                }

                rest = end < 0 ? [] : rest[(end + 1)..];
            }
        }

        return markers.ToList();
    }

    /// <summary>Pids whose marker starts with the prefix (for tests and diagnostics).</summary>
    public static IReadOnlyList<int> FindMarked(string prefix)
    {
        var needle = Encoding.UTF8.GetBytes(RunMarker + "=" + prefix);
        var found = new List<int>();
        var buffer = new byte[64 * 1024];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir.AsSpan()), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            var length = ReadEnviron(pid, buffer);
            if (length > 0 && Matches(buffer.AsSpan(0, length), [needle]) && !IsZombie(pid))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    private static bool Matches(ReadOnlySpan<byte> environ, byte[][] needles)
    {
        // environ is NUL-separated KEY=VALUE entries; a match must start an entry.
        foreach (var needle in needles)
        {
            var span = environ;
            while (true)
            {
                var at = span.IndexOf(needle);
                if (at < 0)
                {
                    break;
                }

                if (at == 0 || span[at - 1] == 0)
                {
                    return true;
                }

                span = span[(at + 1)..];
            }
        }

        return false;
    }

    private static int ReadEnviron(int pid, byte[] buffer)
    {
        try
        {
            using var handle = File.OpenHandle($"/proc/{pid}/environ", FileMode.Open, FileAccess.Read);
            return RandomAccess.Read(handle, buffer, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>True when the process is gone or a zombie.</summary>
    public static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => pid > 0 && Native.Kill(pid, 0) == 0 && !IsZombie(pid);
}
