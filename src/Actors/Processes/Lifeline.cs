using System.Diagnostics;

namespace DarkFactory.Actors.Processes;

/// <summary>
/// The daemon's lifeline: one small guard process (a shell) reading a pipe that only the daemon holds open.
/// When the daemon dies without its shutdown (SIGKILL, the out-of-memory killer), the kernel closes the pipe,
/// the guard reads its end and at once kills what the daemon ran: every run cgroup under the daemon's (which
/// also holds what cleared its environment), then every process carrying the daemon's run marker (a double
/// fork, a setsid'd descendant, a gate; a sandbox's whole pid namespace dies with its init), scanning again
/// until none is left. The same sweep as the next start's, without waiting for a next start.
/// It depends on no thread of the daemon (PR_SET_PDEATHSIG follows the thread that forked a run, and the thread
/// pool retires its threads), costs nothing per run (no extra process or exec on the spawn path), and covers
/// sandboxed runs, unsandboxed ones and gates alike. A guard that dies (killed from outside) is started again.
/// </summary>
public sealed class Lifeline : IDisposable
{
    /// <summary>How many times a guard that died is started again before the daemon gives up on it (and says so).</summary>
    public const int MaxRestarts = 10;

    private readonly string _markerPrefix;
    private readonly string? _cgroupRoot;
    private readonly Action<string> _warn;
    private readonly object _gate = new();
    private Process? _guard;
    private int _guardPid;
    private int _restarts;
    private bool _disposed;

    private Lifeline(string markerPrefix, string? cgroupRoot, Action<string> warn)
    {
        _markerPrefix = markerPrefix;
        _cgroupRoot = cgroupRoot;
        _warn = warn;
    }

    /// <summary>
    /// The guard's program (POSIX sh; $1 the cgroup root or empty, $2 the marker pattern). It ignores the signals
    /// a terminal or a service manager sends to the daemon's group (the daemon's own end decides), reads one line
    /// or the end of its stdin, then sweeps: every run cgroup killed (cgroup.kill, else frozen, killed, thawed),
    /// every marked process SIGKILLed, again until a scan finds none (a fork in flight), at most ten scans; the
    /// emptied cgroups are removed where they already can be (the next start removes the rest).
    /// </summary>
    public const string Script = """
        trap '' HUP INT QUIT TERM PIPE
        exec >/dev/null 2>&1
        read -r _
        n=0
        while [ $n -lt 10 ]; do
          if [ -n "$1" ]; then
            for cg in "$1"/*/; do
              [ -d "$cg" ] || continue
              if [ -e "${cg}cgroup.kill" ]; then
                echo 1 > "${cg}cgroup.kill"
              else
                f=
                if [ -e "${cg}cgroup.freeze" ]; then f=cgroup.freeze; on=1; off=0; fi
                if [ -e "${cg}freezer.state" ]; then f=freezer.state; on=FROZEN; off=THAWED; fi
                if [ -n "$f" ]; then echo $on > "$cg$f"; fi
                kill -9 $(cat "${cg}cgroup.procs")
                if [ -n "$f" ]; then echo $off > "$cg$f"; fi
              fi
            done
          fi
          pids=$(grep -lzs -e "$2" /proc/[0-9]*/environ | cut -d/ -f3)
          [ -n "$pids" ] || break
          kill -9 $pids
          n=$((n + 1))
        done
        if [ -n "$1" ]; then rmdir "$1"/*/; fi
        exit 0
        """;

    /// <summary>
    /// The guard's process id (0 when none runs), as recorded when it started. Never read from the Process object:
    /// its HasExited raises Exited on the asking thread the first time it sees the exit, whose handler disposes
    /// that object, which then forgets its id (a test read "no process is associated" that way).
    /// </summary>
    public int Pid
    {
        get
        {
            lock (_gate)
            {
                return _guardPid;
            }
        }
    }

    /// <summary>
    /// The basic regular expression matching one NUL-separated environment entry (grep -z) that carries a run
    /// marker starting with <paramref name="markerPrefix"/>: anchored, every special character escaped.
    /// </summary>
    public static string Pattern(string markerPrefix)
    {
        var pattern = new StringBuilder("^" + ProcessTree.RunMarker + "=");
        foreach (var c in markerPrefix)
        {
            if (c is '\\' or '.' or '[' or ']' or '*' or '^' or '$')
            {
                pattern.Append('\\');
            }

            pattern.Append(c);
        }

        return pattern.ToString();
    }

    /// <summary>
    /// Starts the guard of every run whose marker starts with <paramref name="markerPrefix"/> (the daemon's id and
    /// a slash) and of every cgroup under <paramref name="cgroups"/>' root. Null, with the reason given to
    /// <paramref name="warn"/>, where no guard can be started (no /bin/sh): runs then wait for the next start's sweep.
    /// </summary>
    public static Lifeline? Start(string markerPrefix, RunCgroups cgroups, Action<string> warn)
    {
        var lifeline = new Lifeline(markerPrefix, cgroups.Root, warn);
        if (lifeline.StartGuard() is { } error)
        {
            warn($"no lifeline for the runs ({error}): a daemon killed without its shutdown leaves them to the next start's sweep");
            return null;
        }

        return lifeline;
    }

    private string? StartGuard()
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var arg in new[] { "-c", Script, "df-lifeline", _cgroupRoot ?? string.Empty, Pattern(_markerPrefix) })
        {
            psi.ArgumentList.Add(arg);
        }

        // nothing of the daemon's environment but PATH: never a run marker (the guard must not match itself)
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        var guard = new Process { StartInfo = psi, EnableRaisingEvents = true };
        try
        {
            guard.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            guard.Dispose();
            return e.Message;
        }

        var pid = guard.Id;
        lock (_gate)
        {
            _guard = guard;
            _guardPid = pid;
        }

        guard.Exited += (_, _) => Died(guard);

        return null;
    }

    /// <summary>A guard that ended while the daemon lives was killed from outside: another one takes its place.</summary>
    private void Died(Process guard)
    {
        int restarts;
        lock (_gate)
        {
            if (_disposed || !ReferenceEquals(guard, _guard))
            {
                return;
            }

            _guard = null;
            _guardPid = 0;
            restarts = ++_restarts;
        }

        guard.Dispose();
        if (restarts > MaxRestarts)
        {
            _warn($"the runs' lifeline guard died {restarts} times; no longer started: a daemon killed without its shutdown leaves its runs to the next start's sweep");
            return;
        }

        _warn("the runs' lifeline guard ended while the daemon runs (killed from outside?); starting another");
        if (StartGuard() is { } error)
        {
            _warn($"the runs' lifeline guard cannot be started again ({error})");
        }
    }

    /// <summary>
    /// The daemon's own end (its drain already stopped every run): the guard sweeps once more and leaves; waited
    /// for (a few seconds at most), so its sweep is over before a next daemon on this data directory can start runs.
    /// </summary>
    public void Dispose()
    {
        Process? guard;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            guard = _guard;
            _guard = null;
            _guardPid = 0;
        }

        if (guard is null)
        {
            return;
        }

        try
        {
            guard.StandardInput.Close();
            guard.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // the guard is gone already
        }

        guard.Dispose();
    }
}
