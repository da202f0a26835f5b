using System.Globalization;
using System.Text;

namespace DarkFactory.Bench;

/// <summary>Reads what the kernel knows about a process: liveness, CPU ticks, memory (black box, /proc only).</summary>
internal static class Proc
{
    /// <summary>USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on Linux).</summary>
    public const double TicksPerSecond = 100.0;

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// CPU time of the process in clock ticks (1/100 s), from the scheduler's exact per-thread runtime
    /// (/proc/PID/task/*/schedstat, ns): utime/stime are sampled at the timer tick and miss processes
    /// that wake briefly between ticks (200 loggers at 10 lines/s read as 0 %), and never less than
    /// utime + stime, which also counts threads that have exited; -1 when it is gone.
    /// </summary>
    public static double CpuTicks(int pid)
    {
        try
        {
            long ns = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                    ns += long.Parse(text.AsSpan(0, text.IndexOf(' ')), CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
                {
                }
            }

            // Threads that exited take their runtime out of the sum; /proc/PID/stat keeps it (at tick
            // resolution). The larger of the two stays monotonic for a long-lived multi-threaded process.
            return Math.Max(ns / 1e7, StatTicks(pid));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return StatTicks(pid);
        }
    }

    /// <summary>Reads /proc/PID/environ (NUL-separated KEY=VALUE) into buffer; its length, or -1 when unreadable.</summary>
    public static int ReadEnviron(int pid, byte[] buffer)
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

    /// <summary>Offset of the first NUL-separated entry of an environ block that starts with prefix, or -1.</summary>
    public static int FindEntry(ReadOnlySpan<byte> environ, ReadOnlySpan<byte> prefix)
    {
        var offset = 0;
        while (offset < environ.Length)
        {
            var rest = environ[offset..];
            var nul = rest.IndexOf((byte)0);
            var entry = nul < 0 ? rest : rest[..nul];
            if (entry.StartsWith(prefix))
            {
                return offset;
            }

            offset += nul < 0 ? rest.Length : nul + 1;
        }

        return -1;
    }

    /// <summary>utime + stime of the process (clock ticks), or -1 when it is gone.</summary>
    public static long StatTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>Proportional set size in bytes (/proc/PID/smaps_rollup), or -1.</summary>
    public static long PssBytes(int pid) => ReadKb($"/proc/{pid}/smaps_rollup", "Pss:");

    /// <summary>Resident set size in bytes (/proc/PID/status VmRSS), or -1.</summary>
    public static long RssBytes(int pid) => ReadKb($"/proc/{pid}/status", "VmRSS:");

    public static int Threads(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Threads:", StringComparison.Ordinal));
            return line is null ? -1 : int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private static long ReadKb(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var value = line[key.Length..].Trim();
                    var kb = value.EndsWith(" kB", StringComparison.Ordinal) ? value[..^3] : value;
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return -1;
    }

    /// <summary>Pids (not zombies) whose environment has an entry KEY=VALUE starting with <paramref name="entryPrefix"/>.</summary>
    public static List<int> FindByEnviron(string entryPrefix)
    {
        var needle = Encoding.UTF8.GetBytes(entryPrefix);
        var self = Environment.ProcessId;
        var found = new List<int>();
        var buffer = new byte[128 * 1024];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self)
            {
                continue;
            }

            var length = Proc.ReadEnviron(pid, buffer);
            if (length < 0)
            {
                continue;
            }

            if (FindEntry(buffer.AsSpan(0, length), needle) >= 0 && IsAlive(pid))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>
    /// The host pid of a process that knows itself as <paramref name="pid"/> (its own pid namespace, e.g. a
    /// sandbox's): the one among those carrying <paramref name="entryPrefix"/> whose NSpid ends with it; the
    /// pid itself when none does (not namespaced).
    /// </summary>
    public static int HostPid(int pid, string entryPrefix)
    {
        foreach (var candidate in FindByEnviron(entryPrefix))
        {
            try
            {
                var nspid = File.ReadLines($"/proc/{candidate}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                var ids = nspid?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                if (ids is { Length: > 2 } && ids[^1] == pid.ToString(CultureInfo.InvariantCulture))
                {
                    return candidate;
                }
            }
            catch (IOException)
            {
            }
        }

        return pid;
    }

    /// <summary>SIGKILLs every live process carrying the entry prefix; returns how many there were.</summary>
    public static int KillByEnviron(string entryPrefix)
    {
        var total = 0;
        for (var round = 0; round < 5; round++)
        {
            var pids = FindByEnviron(entryPrefix);
            if (pids.Count == 0)
            {
                break;
            }

            total += pids.Count;
            foreach (var pid in pids)
            {
                Native.Kill(pid, Native.SIGKILL);
            }

            Thread.Sleep(20);
        }

        return total;
    }

    /// <summary>Reads a pid a program wrote to its pidfile ("123\n"); null while absent or incomplete.</summary>
    public static int? ReadPidfile(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            return text.EndsWith('\n') && int.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
