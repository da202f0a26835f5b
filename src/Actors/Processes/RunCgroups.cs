namespace DarkFactory.Actors.Processes;

/// <summary>Which kernel mechanism tracks a run's processes.</summary>
public enum CgroupKind
{
    /// <summary>No writable cgroup hierarchy: run markers in the environment only (a process that clears its environment escapes them).</summary>
    None,

    /// <summary>A cgroup v2 subtree (killed with <c>cgroup.kill</c>, or frozen and killed on kernels before 5.14).</summary>
    V2,

    /// <summary>A cgroup v1 freezer hierarchy (frozen, every process killed, thawed).</summary>
    V1Freezer,
}

/// <summary>
/// One cgroup per run, which no process of the run can leave (it may clear its environment, call setsid,
/// double-fork: the kernel keeps it in the run's cgroup), so a stop or a sweep kills the whole run. Detected
/// at start: a writable cgroup v2 hierarchy (the daemon's own cgroup, or a delegated subtree under systemd's
/// <c>Delegate=yes</c>; here also <c>/sys/fs/cgroup/unified</c>), else a v1 freezer hierarchy; else none, and
/// the run-marker sweep is the fallback. A run joins its cgroup before anything of it runs: the first program
/// of its command line writes its own pid into <c>cgroup.procs</c> and then execs the rest (<see cref="RunConfinement.Wrap"/>).
/// </summary>
public sealed class RunCgroups
{
    private RunCgroups(CgroupKind kind, string? root, string reason)
    {
        Kind = kind;
        Root = root;
        Reason = reason;
    }

    public static readonly RunCgroups Unavailable = new(CgroupKind.None, null, "not detected");

    public CgroupKind Kind { get; }

    /// <summary>The daemon's cgroup, parent of every run's; null when none is available.</summary>
    public string? Root { get; }

    /// <summary>What was found (or why nothing could be used), for the start-up log and docs.</summary>
    public string Reason { get; }

    public bool Available => Kind != CgroupKind.None;

    /// <summary>The cgroup of one run (not created).</summary>
    public string? For(string agent, string runId) => Root is null ? null : Path.Combine(Root, $"{agent}-{runId}");

    /// <summary>
    /// Finds a hierarchy this process may write, creates the daemon's cgroup in it (<paramref name="daemonId"/>)
    /// and proves a process can join a child of it. Never throws: a machine without one answers <see cref="CgroupKind.None"/>.
    /// </summary>
    public static RunCgroups Detect(string daemonId, string mountInfo = "/proc/self/mountinfo", string selfCgroup = "/proc/self/cgroup")
    {
        var reasons = new List<string>();
        try
        {
            var mounts = File.ReadAllLines(mountInfo);
            var own = File.ReadAllLines(selfCgroup);
            foreach (var (kind, mount, path) in Candidates(mounts, own))
            {
                var root = Path.Combine(mount + path, daemonId);
                if (TryUse(root, out var why))
                {
                    return new RunCgroups(kind, root, $"cgroup {(kind == CgroupKind.V2 ? "v2" : "v1 freezer")} at {root}");
                }

                reasons.Add($"{mount + path}: {why}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reasons.Add(e.Message);
        }

        return new RunCgroups(CgroupKind.None, null, reasons.Count == 0 ? "no cgroup v2 or v1 freezer hierarchy is mounted" : string.Join("; ", reasons));
    }

    /// <summary>The hierarchies to try, best first: v2 (the daemon's own cgroup in it), then the v1 freezer's.</summary>
    public static IEnumerable<(CgroupKind Kind, string Mount, string Path)> Candidates(IReadOnlyList<string> mountInfo, IReadOnlyList<string> selfCgroup)
    {
        string? v2Path = null, freezerPath = null;
        foreach (var line in selfCgroup)
        {
            var parts = line.Split(':', 3);
            if (parts.Length < 3)
            {
                continue;
            }

            if (parts[0] == "0" && parts[1].Length == 0)
            {
                v2Path = parts[2];
            }
            else if (parts[1].Split(',').Contains("freezer"))
            {
                freezerPath = parts[2];
            }
        }

        var v2 = new List<string>();
        var freezer = new List<string>();
        foreach (var line in mountInfo)
        {
            // id parent major:minor root mountpoint options ... - fstype source superoptions
            var dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0)
            {
                continue;
            }

            var fields = line[..dash].Split(' ');
            var tail = line[(dash + 3)..].Split(' ');
            if (fields.Length < 5 || tail.Length < 3)
            {
                continue;
            }

            if (tail[0] == "cgroup2")
            {
                v2.Add(fields[4]);
            }
            else if (tail[0] == "cgroup" && tail[2].Split(',').Contains("freezer"))
            {
                freezer.Add(fields[4]);
            }
        }

        foreach (var mount in v2)
        {
            yield return (CgroupKind.V2, mount, v2Path is null or "/" ? string.Empty : v2Path);
        }

        foreach (var mount in freezer)
        {
            yield return (CgroupKind.V1Freezer, mount, freezerPath is null or "/" ? string.Empty : freezerPath);
        }
    }

    private static bool TryUse(string root, out string why)
    {
        try
        {
            Directory.CreateDirectory(root);
            var probe = Path.Combine(root, "probe-" + Environment.ProcessId);
            Directory.CreateDirectory(probe);
            try
            {
                using var join = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "echo $$ > \"$0/cgroup.procs\"", probe])
                {
                    RedirectStandardError = true,
                    UseShellExecute = false,
                })!;
                var error = join.StandardError.ReadToEnd();
                join.WaitForExit();
                if (join.ExitCode != 0)
                {
                    why = "a process cannot join a cgroup here: " + error.Trim();
                    return false;
                }
            }
            finally
            {
                Remove(probe);
            }

            why = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            why = e.Message;
            return false;
        }
    }

    /// <summary>Creates a run's cgroup (before its process starts).</summary>
    public static void Create(string cgroup) => Directory.CreateDirectory(cgroup);

    /// <summary>Pids in a cgroup (empty when it is gone).</summary>
    public static IReadOnlyList<int> Pids(string cgroup)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")).Select(int.Parse).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return [];
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to every process of a run's cgroup but <paramref name="except"/> (a
    /// sandboxed run's bubblewrap monitor); how many it reached. A process forked meanwhile may miss it: a stop's
    /// SIGKILL after the grace (the group, then the cgroup sweep) misses nothing.
    /// </summary>
    public static int Signal(string cgroup, int signal, int except)
    {
        var sent = 0;
        foreach (var pid in Pids(cgroup))
        {
            if (pid != except && Native.Kill(pid, signal) == 0)
            {
                sent++;
            }
        }

        return sent;
    }

    /// <summary>
    /// SIGKILLs every process of a run's cgroup, however it got there: <c>cgroup.kill</c> on v2, else frozen
    /// (so nothing forks meanwhile), each pid killed, thawed. Synchronous, a few file writes; never waits for
    /// the processes to be gone. Returns how many pids it saw (0 with cgroup.kill, which needs no list).
    /// </summary>
    public static int Kill(string cgroup)
    {
        try
        {
            var kill = Path.Combine(cgroup, "cgroup.kill");
            if (File.Exists(kill))
            {
                File.WriteAllText(kill, "1");
                return 0;
            }

            var freeze = File.Exists(Path.Combine(cgroup, "cgroup.freeze")) ? ("cgroup.freeze", "1", "0")
                : File.Exists(Path.Combine(cgroup, "freezer.state")) ? ("freezer.state", "FROZEN", "THAWED")
                : (null, null, null);
            if (freeze.Item1 is { } file)
            {
                File.WriteAllText(Path.Combine(cgroup, file), freeze.Item2!);
            }

            var pids = Pids(cgroup);
            foreach (var pid in pids)
            {
                Native.Kill(pid, Native.SIGKILL);
            }

            if (freeze.Item1 is { } again)
            {
                File.WriteAllText(Path.Combine(cgroup, again), freeze.Item3!); // SIGKILL is delivered once thawed
            }

            return pids.Count;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // already gone
        }
    }

    /// <summary>Removes an empty cgroup; false while processes are still in it (try again later) or when it is gone.</summary>
    public static bool Remove(string cgroup)
    {
        try
        {
            Directory.Delete(cgroup); // rmdir: the cgroup's files are not real ones
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return !Directory.Exists(cgroup);
        }
    }

    /// <summary>Kills and removes every run cgroup under the daemon's (a killed daemon's runs); returns the pids it saw.</summary>
    public int SweepAll()
    {
        if (Root is null || !Directory.Exists(Root))
        {
            return 0;
        }

        var seen = 0;
        foreach (var run in Directory.EnumerateDirectories(Root))
        {
            seen += Math.Max(Kill(run), Pids(run).Count);
            Remove(run);
        }

        return seen;
    }
}
