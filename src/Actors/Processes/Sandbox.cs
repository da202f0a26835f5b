using System.Diagnostics;

namespace DarkFactory.Actors.Processes;

/// <summary>Whether this machine can sandbox runs (bubblewrap and the namespaces it needs), found once at start.</summary>
public sealed record SandboxSupport(bool Available, string Reason, string? Bwrap = null, bool NetworkIsolation = false)
{
    public static readonly SandboxSupport None = new(false, "not detected");

    /// <summary>
    /// Finds <c>bwrap</c> on PATH and runs it once with the options every run uses (a new mount, pid and ipc
    /// namespace; a user namespace when not root), then once more with a network namespace. Never throws.
    /// </summary>
    public static SandboxSupport Detect(string? path = null)
    {
        var bwrap = Executables.Find("bwrap", path);
        if (bwrap is null)
        {
            return new(false, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap");
        }

        var (ok, error) = Probe(bwrap, []);
        if (!ok)
        {
            return new(false, $"bwrap cannot create the namespaces a run needs ({error}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone)", bwrap);
        }

        var (net, _) = Probe(bwrap, ["--unshare-net"]);
        return new(true, $"bubblewrap at {bwrap}", bwrap, net);
    }

    private static (bool Ok, string Error) Probe(string bwrap, IReadOnlyList<string> extra)
    {
        try
        {
            var psi = new ProcessStartInfo(bwrap) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in SandboxPlanner.Namespaces(Native.IsRoot).Concat(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]).Concat(extra).Append("true"))
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode == 0, error.Trim());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return (false, e.Message);
        }
    }
}

/// <summary>
/// Gates run what an agent just wrote: where runs are sandboxed, a gate is too, hidden the same paths (the data
/// directory, the run root, the review worktrees, the operator's HOME), its worktree read-write, network open.
/// </summary>
public sealed record GateSandbox(string Bwrap, IReadOnlyList<string> Hidden)
{
    /// <summary>The gates' sandbox of a daemon, or null where runs cannot be sandboxed (gates then run as the daemon's user).</summary>
    public static GateSandbox? For(DaemonContext daemon) =>
        daemon.Sandbox is { Available: true, Bwrap: { } bwrap } ? new(bwrap, [daemon.DataDirectory, daemon.TempRoot, .. daemon.Hidden]) : null;

    /// <summary>The gate's command line inside bubblewrap, in <paramref name="worktree"/>.</summary>
    public IReadOnlyList<string> Wrap(string worktree, string? path, IReadOnlyList<string> command) =>
        [Bwrap, .. SandboxPlanner.Arguments(new SandboxRequest(worktree, worktree, Hidden, Network: true, path, [command[0]]), Native.IsRoot), "--", .. SandboxPlanner.Reaped(command)];
}

/// <summary>What one run's sandbox shows: its working directory and run directory read-write, the rest of the system read-only, the hidden paths empty.</summary>
/// <param name="Hidden">Paths the run must not see (the data directory, the run root, the review worktrees, the operator's HOME): an empty tmpfs over each.</param>
/// <param name="Path">The run's PATH: toolchain directories under a hidden path are shown again, read-only.</param>
public sealed record SandboxRequest(
    string Workdir,
    string RunDirectory,
    IReadOnlyList<string> Hidden,
    bool Network,
    string? Path,
    IReadOnlyList<string> Programs)
{
    /// <summary>Paths under a hidden one that the run shares read-write (an AI CLI's own login directory, when it uses the operator's).</summary>
    public IReadOnlyList<string> Shared { get; init; } = [];
}

/// <summary>
/// Pure: the bubblewrap command line of a run. The whole file system is bound read-only; each hidden path
/// (data directory, run root, review worktrees, the operator's HOME) gets an empty tmpfs over it; toolchains
/// found under a hidden path (a PATH entry, a program's directory, its node_modules) are bound back
/// read-only; the run's own directory and working directory are bound read-write on top. For a git
/// working directory the repository's common git directory gets special care (<see cref="GitBinds"/>):
/// objects, refs, logs and the worktree's own directory are writable (commits work), its config, hooks and
/// info are not. New pid (the daemon and other runs' processes are invisible, /proc is the run's own), ipc
/// and, when the network is closed, network namespaces; every capability dropped.
/// </summary>
public static class SandboxPlanner
{
    /// <summary>
    /// The namespaces and options of every sandbox. Never <c>--die-with-parent</c>: its parent-death signal
    /// follows the daemon's <em>thread</em> that started the run, so a run would be SIGKILLed whenever the thread
    /// pool retired that thread. A SIGKILLed daemon's <see cref="Lifeline"/> kills the sandbox like any run (its
    /// init by the run marker, the namespace with it); without one, the next daemon sweeps it by its cgroup and marker.
    /// </summary>
    public static IReadOnlyList<string> Namespaces(bool root) =>
        root
            ? ["--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL"]
            : ["--unshare-user", "--unshare-pid", "--unshare-ipc"];

    /// <summary>
    /// The command inside the sandbox, behind a reaper: a shell that runs it and, once it has exited, SIGKILLs
    /// whatever else lives in the sandbox's pid namespace (<c>kill -9 -1</c> reaches no process outside it). Without
    /// it an escapee (<c>env -i setsid</c>, a double fork) would keep bubblewrap's init, and with it the run or
    /// gate, alive after the program ended. The shell keeps the program's exit status (128+N for a signal).
    /// </summary>
    public static IReadOnlyList<string> Reaped(IReadOnlyList<string> command) =>
        ["/bin/sh", "-c", "\"$@\"; s=$?; kill -9 -1 2>/dev/null; exit $s", "df-reaper", .. command];

    public static List<string> Arguments(SandboxRequest r, bool root)
    {
        var args = new List<string>(Namespaces(root));
        if (!r.Network)
        {
            args.Add("--unshare-net");
        }

        args.AddRange(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        var hidden = r.Hidden.Where(h => h.Length > 1).Select(Full).Distinct().ToList();
        foreach (var h in hidden.OrderBy(h => h.Length))
        {
            args.AddRange(["--tmpfs", h]);
        }

        // toolchains that live under a hidden path or the run's private /tmp (a checkout under /tmp) are shown again, read-only
        foreach (var dir in Toolchains(r, [.. hidden, "/tmp"]))
        {
            args.AddRange(["--ro-bind-try", dir, dir]);
        }

        foreach (var shared in r.Shared)
        {
            args.AddRange(["--bind-try", shared, shared]);
        }

        var workdir = Full(r.Workdir);
        var runDirectory = Full(r.RunDirectory);
        args.AddRange(["--bind", runDirectory, runDirectory]);
        args.AddRange(["--bind", workdir, workdir]);
        args.AddRange(GitBinds(workdir));

        // a hidden path inside the working directory (a data directory under the fleet's directory) is hidden again
        foreach (var h in hidden.Where(h => h != workdir && (Under(h, workdir) || Under(h, runDirectory)) && !Under(runDirectory, h) && !Under(workdir, h)))
        {
            args.AddRange(["--tmpfs", h]);
        }

        args.AddRange(["--chdir", workdir]);
        return args;
    }

    /// <summary>Directories of the run's tools that a hidden path would hide: PATH entries, the programs' directories (real paths) and their node_modules.</summary>
    public static IReadOnlyList<string> Toolchains(SandboxRequest r, IReadOnlyList<string> hidden)
    {
        var found = new List<string>();
        void Consider(string? dir)
        {
            if (string.IsNullOrEmpty(dir) || !dir.StartsWith('/'))
            {
                return;
            }

            dir = Full(dir);
            if (!hidden.Any(h => Under(dir, h)) || found.Contains(dir))
            {
                return;
            }

            found.Add(dir);

            // a node CLI's .bin entry links into its package: show the whole node_modules
            var nodeModules = dir.LastIndexOf("/node_modules", StringComparison.Ordinal);
            if (nodeModules > 0)
            {
                var root = dir[..(nodeModules + "/node_modules".Length)];
                if (!found.Contains(root))
                {
                    found.Add(root);
                }
            }
        }

        foreach (var entry in (r.Path ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            Consider(entry);
            Consider(RealPath(entry));
        }

        foreach (var program in r.Programs.Where(p => p.StartsWith('/')))
        {
            Consider(System.IO.Path.GetDirectoryName(program));
            Consider(System.IO.Path.GetDirectoryName(RealPath(program)));
        }

        // a broader directory first, so a narrower bind lands on top of it
        return found.OrderBy(d => d.Length).ToList();
    }

    /// <summary>
    /// For a working directory inside a git repository: in a linked worktree (its <c>.git</c> is a file), the
    /// common git directory is shown read-only, then its objects, refs, logs and the worktree's own git
    /// directory read-write, then that directory's <c>config.worktree</c>, <c>commondir</c> and <c>gitdir</c>
    /// read-only again. In a repository's own checkout, its <c>.git/config</c>, hooks and info are bound
    /// read-only over the writable checkout. Either way the agent commits, and cannot configure what the
    /// daemon's git reads (fsmonitor, hooks, filters) nor undo the push lock.
    /// </summary>
    public static IReadOnlyList<string> GitBinds(string workdir)
    {
        var args = new List<string>();
        var (top, dotGit) = FindDotGit(workdir);
        if (dotGit is null)
        {
            return args;
        }

        if (Directory.Exists(dotGit))
        {
            if (Under(dotGit, workdir))
            {
                foreach (var name in new[] { "config", "config.worktree", "hooks", "info" })
                {
                    args.AddRange(["--ro-bind-try", System.IO.Path.Combine(dotGit, name), System.IO.Path.Combine(dotGit, name)]);
                }
            }

            return args;
        }

        // a linked worktree: ".git" is a file naming its git directory
        string admin;
        try
        {
            var line = File.ReadAllText(dotGit).Trim();
            if (!line.StartsWith("gitdir:", StringComparison.Ordinal))
            {
                return args;
            }

            admin = Full(System.IO.Path.GetFullPath(line["gitdir:".Length..].Trim(), top!));
            var commondir = System.IO.Path.Combine(admin, "commondir");
            var common = File.Exists(commondir) ? Full(System.IO.Path.GetFullPath(File.ReadAllText(commondir).Trim(), admin)) : admin;
            if (!Under(common, workdir))
            {
                args.AddRange(["--ro-bind", common, common]);
            }

            foreach (var name in new[] { "objects", "refs", "logs" })
            {
                args.AddRange(["--bind-try", System.IO.Path.Combine(common, name), System.IO.Path.Combine(common, name)]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return args;
        }

        args.AddRange(["--bind", admin, admin]);
        foreach (var name in new[] { "config.worktree", "commondir", "gitdir" })
        {
            args.AddRange(["--ro-bind-try", System.IO.Path.Combine(admin, name), System.IO.Path.Combine(admin, name)]);
        }

        return args;
    }

    /// <summary>The nearest <c>.git</c> (file or directory) at or above the directory, and the directory that holds it.</summary>
    public static (string? Top, string? DotGit) FindDotGit(string workdir)
    {
        for (var dir = workdir; !string.IsNullOrEmpty(dir); dir = System.IO.Path.GetDirectoryName(dir))
        {
            var candidate = System.IO.Path.Combine(dir, ".git");
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return (dir, candidate);
            }
        }

        return (null, null);
    }

    private static string? RealPath(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? (Directory.Exists(path) && new DirectoryInfo(path).ResolveLinkTarget(true) is { } d ? d.FullName : path);
        }
        catch (IOException)
        {
            return path;
        }
    }

    internal static string Full(string path) => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));

    internal static bool Under(string path, string dir) => path == dir || path.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal);
}
