using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DarkFactory.Bench;

/// <summary>
/// What the peers share: each program gets <c>DF_BENCH_PROG=name</c> in its environment, so its pid is
/// found from outside (/proc) as "the process carrying that name whose parent is a supervisor process"
/// (a detached grandchild inherits the variable but not the parent).
/// </summary>
internal static class Peer
{
    public const string ProgKey = "DF_BENCH_PROG";

    /// <summary>First match of an executable in PATH (or the path itself when it has a slash).</summary>
    public static string? Which(string name)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>POSIX shell single-quoting.</summary>
    public static string Sh(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string workDir, string? stdoutFile = null)
    {
        // sh exec's the program (same pid) only to send its console to a file
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workDir };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("f=$1; shift; exec \"$@\" >\"$f\" 2>&1 </dev/null");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(stdoutFile ?? "/dev/null");
        psi.ArgumentList.Add(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        return Process.Start(psi)!;
    }

    /// <summary>Runs a control command to completion (sv, s6-svc, supervisorctl, pm2); throws on failure.</summary>
    public static async Task RunAsync(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, CancellationToken cancel, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(cancel);
        var stderr = p.StandardError.ReadToEndAsync(cancel);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(timeoutMs);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', args)} took over {timeoutMs} ms");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} exited with {p.ExitCode}: {await stdout} {await stderr}");
        }
    }

    /// <summary>pid → (ppid, comm) of every process.</summary>
    public static Dictionary<int, (int Ppid, string Comm)> Table()
    {
        var table = new Dictionary<int, (int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (stat[close + 2] is 'Z' or 'X')
                {
                    continue;
                }

                var ppid = int.Parse(stat.AsSpan(close + 4).ToString().Split(' ')[0], CultureInfo.InvariantCulture);
                table[pid] = (ppid, stat[(open + 1)..close]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
            }
        }

        return table;
    }

    /// <summary><paramref name="root"/> and its descendants whose comm is in <paramref name="names"/> (through such processes only).</summary>
    public static List<int> SupervisorTree(int root, IReadOnlySet<string> names)
    {
        var table = Table();
        var result = new List<int>();
        if (!table.ContainsKey(root))
        {
            return result;
        }

        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            result.Add(pid);
            foreach (var (child, (ppid, comm)) in table)
            {
                if (ppid == pid && names.Contains(comm))
                {
                    queue.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>For each program: the pid of the child of a supervisor process that carries DF_BENCH_PROG=name.</summary>
    public static IReadOnlyDictionary<string, int?> ProgramPids(IEnumerable<string> names, IReadOnlyCollection<int> supervisors)
    {
        var result = names.ToDictionary(n => n, _ => (int?)null, StringComparer.Ordinal);
        var set = supervisors.ToHashSet();
        var prefix = Encoding.UTF8.GetBytes(ProgKey + "=");
        var buffer = new byte[128 * 1024];
        foreach (var (pid, (ppid, _)) in Table())
        {
            if (!set.Contains(ppid) || set.Contains(pid))
            {
                continue;
            }

            var length = Proc.ReadEnviron(pid, buffer);
            if (length < 0)
            {
                continue;
            }

            var environ = buffer.AsSpan(0, length);
            var at = Proc.FindEntry(environ, prefix);
            if (at >= 0)
            {
                var entry = environ[(at + prefix.Length)..];
                var nul = entry.IndexOf((byte)0);
                var name = Encoding.UTF8.GetString(nul < 0 ? entry : entry[..nul]);
                if (result.ContainsKey(name))
                {
                    result[name] = pid;
                }
            }
        }

        return result;
    }

    public static void KillAll(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            Native.Kill(pid, Native.SIGKILL);
        }
    }
}

/// <summary>The common shape of a running peer: a root process, its supervisor tree, programs found by /proc.</summary>
internal abstract class PeerRunning(Process root, long launchedAt, IReadOnlyList<string> programs, IReadOnlySet<string> supervisorComms) : IRunningTarget
{
    private List<int>? _atStop;

    protected Process Root => root;

    public long LaunchedAt => launchedAt;

    /// <summary>The supervisor tree as it is now (root plus per-program supervisors and loggers).</summary>
    public virtual IReadOnlyList<int> SupervisorPids => Peer.SupervisorTree(RootPid, supervisorComms);

    protected virtual int RootPid => root.Id;

    public abstract Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel);

    public Task<IReadOnlyDictionary<string, int?>> GetProgramPidsAsync(CancellationToken cancel) =>
        Task.FromResult(Peer.ProgramPids(programs, SupervisorPids.ToList()));

    public abstract Task StartProgramAsync(string name, CancellationToken cancel);

    public abstract string? OutputLogPath(string program);

    public void SignalStop()
    {
        _atStop = SupervisorPids.ToList();
        Stop();
    }

    protected abstract void Stop();

    /// <summary>Every supervisor process seen when the stop was asked for has exited.</summary>
    public bool HasExited => (_atStop ?? [RootPid]).All(p => !Proc.IsAlive(p));

    public virtual void KillAll()
    {
        Peer.KillAll(SupervisorPids);
        if (!root.HasExited)
        {
            Native.Kill(root.Id, Native.SIGKILL);
            root.WaitForExit(5000);
        }
    }

    public virtual ValueTask DisposeAsync()
    {
        KillAll();
        root.Dispose();
        return ValueTask.CompletedTask;
    }

    protected static long WaitFor(Func<bool> condition, Process? mustLive, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (condition())
            {
                return Stopwatch.GetTimestamp();
            }

            if (mustLive is { HasExited: true })
            {
                throw new InvalidOperationException($"{what}: the supervisor exited with {mustLive.ExitCode}");
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{what} within {timeout}");
            }

            Native.USleep(200);
        }
    }
}

// ---------------------------------------------------------------------------------------- supervisord

/// <summary>
/// supervisord (Debian <c>supervisor</c>) in the foreground (<c>nodaemon=true</c>) with its own <c>-c</c>
/// config, unix socket, pid and log files in the work directory. Ready: the control socket exists.
/// Fastest: <c>startsecs=0</c>, <c>autorestart=true</c>; defaults: <c>startsecs=1</c>,
/// <c>autorestart=unexpected</c> (SIGKILL is unexpected). <c>startretries</c> is raised in both.
/// </summary>
internal sealed class SupervisordTarget : ITarget
{
    public string Name => "supervisord";

    public string? Unavailable => Peer.Which("supervisord") is null || Peer.Which("supervisorctl") is null ? "not installed" : null;

    public Task<IRunningTarget> LaunchAsync(TargetFleet fleet, CancellationToken cancel)
    {
        var dir = fleet.WorkDirectory;
        var logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(logs);
        var conf = Path.Combine(dir, "supervisord.conf");
        var sock = Path.Combine(dir, "supervisor.sock");
        static string Q(string s) => Peer.Sh(s).Replace("%", "%%", StringComparison.Ordinal);
        var c = new StringBuilder();
        c.AppendLine(CultureInfo.InvariantCulture, $"[unix_http_server]\nfile={sock}\n");
        c.AppendLine(CultureInfo.InvariantCulture, $"[supervisord]\nnodaemon=true\nlogfile={Path.Combine(dir, "supervisord.log")}\npidfile={Path.Combine(dir, "supervisord.pid")}\nchildlogdir={logs}\nminfds=16384\nminprocs=4096\n");
        c.AppendLine("[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n");
        c.AppendLine(CultureInfo.InvariantCulture, $"[supervisorctl]\nserverurl=unix://{sock}\n");
        foreach (var p in fleet.Programs)
        {
            var env = fleet.Environment.Append(new KeyValuePair<string, string>(Peer.ProgKey, p.Name)).Select(kv => $"{kv.Key}=\"{kv.Value.Replace("%", "%%", StringComparison.Ordinal)}\"");
            c.AppendLine(CultureInfo.InvariantCulture, $"[program:{p.Name}]");
            c.AppendLine(CultureInfo.InvariantCulture, $"command={string.Join(' ', p.Argv.Select((a, i) => Q(i == 0 ? Peer.Which(a) ?? a : a)))}");
            c.AppendLine(CultureInfo.InvariantCulture, $"autostart={(p.Autostart ? "true" : "false")}");
            c.AppendLine(!p.Restart ? "autorestart=false" : fleet.Fastest ? "autorestart=true" : "autorestart=unexpected");
            c.AppendLine(fleet.Fastest || !p.Restart ? "startsecs=0" : "startsecs=1");
            c.AppendLine("startretries=100000000");
            c.AppendLine(CultureInfo.InvariantCulture, $"stopwaitsecs={Math.Max(1, (int)fleet.Grace.TotalSeconds)}");
            c.AppendLine(CultureInfo.InvariantCulture, $"stdout_logfile={Path.Combine(logs, p.Name + ".log")}");
            c.AppendLine("redirect_stderr=true");
            c.AppendLine(CultureInfo.InvariantCulture, $"environment={string.Join(',', env)}");
            c.AppendLine();
        }

        File.WriteAllText(conf, c.ToString());
        var launched = Stopwatch.GetTimestamp();
        var root = Peer.Start(Peer.Which("supervisord")!, ["-c", conf], fleet.Environment, dir, Path.Combine(dir, "supervisord.out"));
        return Task.FromResult<IRunningTarget>(new Running(root, launched, fleet, conf, sock, logs));
    }

    private sealed class Running(Process root, long launched, TargetFleet fleet, string conf, string sock, string logs)
        : PeerRunning(root, launched, fleet.Programs.Select(p => p.Name).ToList(), new HashSet<string> { "supervisord" })
    {
        public override Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel) =>
            Task.FromResult(WaitFor(() => File.Exists(sock), Root, timeout, "supervisord socket"));

        public override Task StartProgramAsync(string name, CancellationToken cancel) =>
            Peer.RunAsync(Peer.Which("supervisorctl")!, ["-c", conf, "start", name], fleet.Environment, cancel);

        public override string? OutputLogPath(string program) => Path.Combine(logs, program + ".log");

        protected override void Stop() => Native.Kill(Root.Id, Native.SIGTERM);

        public override IReadOnlyList<int> SupervisorPids => Root.HasExited ? [] : [Root.Id];

        public override ValueTask DisposeAsync()
        {
            if (!Root.HasExited)
            {
                Native.Kill(Root.Id, Native.SIGTERM);
                Root.WaitForExit(15_000);
            }

            return base.DisposeAsync();
        }
    }
}

// ---------------------------------------------------------------------------------------------- pm2

/// <summary>
/// pm2 (npm, installed by bench/run under artifacts/peers/pm2) with PM2_HOME in the work directory:
/// <c>pm2 start apps.json</c> spawns the daemon ("God") and returns once the apps are launched (ready).
/// Programs run in fork mode with <c>interpreter: none</c>; stdout and stderr both go to one file.
/// Fastest: <c>restart_delay: 0</c>, <c>min_uptime: 0</c>; defaults: pm2's (restart_delay 0,
/// min_uptime 1 s). <c>max_restarts</c> raised in both. Stop: <c>pm2 kill</c>.
/// </summary>
internal sealed class Pm2Target(string repoRoot) : ITarget
{
    public string Name => "pm2";

    private string Cli => Path.Combine(Path.GetFullPath(repoRoot), "artifacts", "peers", "pm2", "node_modules", "pm2", "bin", "pm2");

    public string? Unavailable => File.Exists(Cli) && Peer.Which("node") is not null ? null : "not installed";

    public async Task<IRunningTarget> LaunchAsync(TargetFleet fleet, CancellationToken cancel)
    {
        var dir = fleet.WorkDirectory;
        var logs = Path.Combine(dir, "logs");
        var home = Path.Combine(dir, "pm2home");
        Directory.CreateDirectory(logs);
        Directory.CreateDirectory(home);
        var apps = fleet.Programs.Select(p => new Dictionary<string, object>
        {
            ["name"] = p.Name,
            ["script"] = Peer.Which(p.Argv[0]) ?? p.Argv[0],
            ["args"] = p.Argv.Skip(1).ToArray(),
            ["interpreter"] = "none",
            ["exec_mode"] = "fork",
            ["cwd"] = dir,
            ["autostart"] = p.Autostart,
            ["autorestart"] = p.Restart,
            ["restart_delay"] = 0,
            ["min_uptime"] = fleet.Fastest ? 0 : 1000,
            ["max_restarts"] = 100000000,
            ["kill_timeout"] = (int)fleet.Grace.TotalMilliseconds,
            ["out_file"] = Path.Combine(logs, p.Name + ".log"),
            ["error_file"] = Path.Combine(logs, p.Name + ".log"),
            ["merge_logs"] = true,
            ["watch"] = false,
            ["vizion"] = false,
            ["pmx"] = false,
            ["automation"] = false,
            ["env"] = fleet.Environment.Append(new KeyValuePair<string, string>(Peer.ProgKey, p.Name)).ToDictionary(kv => kv.Key, kv => kv.Value),
        }).ToList();
        // pm2 7 keeps an `autostart: false` app "stopped" even through `pm2 start NAME`: a program that
        // starts on request gets its own file, started then
        var appsFile = Path.Combine(dir, "apps.json");
        File.WriteAllText(appsFile, JsonSerializer.Serialize(new Dictionary<string, object> { ["apps"] = apps.Where(a => (bool)a["autostart"]).ToList() }));
        foreach (var a in apps.Where(a => !(bool)a["autostart"]))
        {
            a.Remove("autostart");
            File.WriteAllText(Path.Combine(dir, $"app-{a["name"]}.json"), JsonSerializer.Serialize(new Dictionary<string, object> { ["apps"] = new[] { a } }));
        }

        var env = Env(fleet, home);
        var launched = Stopwatch.GetTimestamp();
        var cli = Peer.Start(Peer.Which("node")!, [Cli, "start", appsFile], env, dir, Path.Combine(dir, "pm2-start.out"));
        return await Task.FromResult<IRunningTarget>(new Running(cli, launched, fleet, this, home, logs));
    }

    private static Dictionary<string, string> Env(TargetFleet fleet, string home)
    {
        var env = fleet.Environment.ToDictionary(kv => kv.Key, kv => kv.Value);
        env["PM2_HOME"] = home;
        env["PM2_DISABLE_VERSION_CHECK"] = "true";
        return env;
    }

    private sealed class Running(Process cli, long launched, TargetFleet fleet, Pm2Target target, string home, string logs)
        : PeerRunning(cli, launched, fleet.Programs.Select(p => p.Name).ToList(), new HashSet<string>())
    {
        private int _god;

        private string PidFile => Path.Combine(home, "pm2.pid");

        protected override int RootPid => _god != 0 ? _god : (_god = Proc.ReadPidfile(PidFile) ?? ReadLoose());

        private int ReadLoose() => int.TryParse(File.Exists(PidFile) ? File.ReadAllText(PidFile).Trim() : string.Empty, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;

        public override IReadOnlyList<int> SupervisorPids => RootPid != 0 && Proc.IsAlive(RootPid) ? [RootPid] : [];

        public override async Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel)
        {
            using var t = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            t.CancelAfter(timeout);
            await Root.WaitForExitAsync(t.Token);
            var at = Stopwatch.GetTimestamp();
            if (Root.ExitCode != 0 || RootPid == 0)
            {
                var output = File.Exists(Path.Combine(home, "..", "pm2-start.out")) ? File.ReadAllText(Path.Combine(home, "..", "pm2-start.out")) : string.Empty;
                throw new InvalidOperationException($"pm2 start exited with {Root.ExitCode}: {string.Join(" | ", output.Split('\n').TakeLast(6))}");
            }

            return at;
        }

        public override Task StartProgramAsync(string name, CancellationToken cancel) =>
            Peer.RunAsync(Peer.Which("node")!, [target.Cli, "start", Path.Combine(fleet.WorkDirectory, $"app-{name}.json")], Env(fleet, home), cancel);

        public override string? OutputLogPath(string program) => Path.Combine(logs, program + ".log");

        // pm2's documented stop: `pm2 kill` stops every app (tree-kill), then the daemon
        protected override void Stop() => _ = Peer.RunAsync(Peer.Which("node")!, [target.Cli, "kill"], Env(fleet, home), CancellationToken.None, 120_000);

        public override async ValueTask DisposeAsync()
        {
            if (RootPid != 0 && Proc.IsAlive(RootPid))
            {
                try
                {
                    await Peer.RunAsync(Peer.Which("node")!, [target.Cli, "kill"], Env(fleet, home), CancellationToken.None, 60_000);
                }
                catch (Exception e) when (e is TimeoutException or InvalidOperationException)
                {
                }
            }

            await base.DisposeAsync();
        }
    }
}

// -------------------------------------------------------------------------------------- runit and s6

/// <summary>
/// A daemontools-style scanner: one service directory per program (<c>run</c> exec's the program with
/// DF_BENCH_PROG set) with a <c>log/</c> service whose logger writes DIR/logs/NAME/current.
/// runit: <c>runsvdir DIR</c>, svlogd (config <c>s0</c>: no rotation), stop by SIGHUP (runsvdir TERMs
/// every runsv, which stops its service and exits). s6: <c>s6-svscan DIR</c>, s6-log (one 200 MB file),
/// stop by SIGTERM (s6-svscanctl -t). Neither has a restart knob: runsv waits 1 s before restarting a
/// run that lasted under a second; fastest = defaults. Ready: the scanner process exists.
/// </summary>
internal sealed class ScannerTarget(bool s6) : ITarget
{
    public string Name => s6 ? "s6" : "runit";

    private bool IsS6 => s6;

    private string Scanner => s6 ? "s6-svscan" : "runsvdir";

    private string Logger => s6 ? "s6-log" : "svlogd";

    private string Control => s6 ? "s6-svc" : "sv";

    public string? Unavailable => Peer.Which(Scanner) is null || Peer.Which(Logger) is null || Peer.Which(Control) is null ? "not installed" : null;

    public Task<IRunningTarget> LaunchAsync(TargetFleet fleet, CancellationToken cancel)
    {
        var dir = fleet.WorkDirectory;
        var scan = Path.Combine(dir, "scan");
        var logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(scan);
        var exports = string.Concat(fleet.Environment.Select(kv => $"export {kv.Key}={Peer.Sh(kv.Value)}\n"));
        foreach (var p in fleet.Programs)
        {
            var svc = Path.Combine(scan, p.Name);
            var log = Path.Combine(logs, p.Name);
            Directory.CreateDirectory(Path.Combine(svc, "log"));
            Directory.CreateDirectory(log);
            Script(Path.Combine(svc, "run"), $"#!/bin/sh\n{exports}export {Peer.ProgKey}={Peer.Sh(p.Name)}\nexec {string.Join(' ', p.Argv.Select(Peer.Sh))} 2>&1\n");
            if (s6)
            {
                Script(Path.Combine(svc, "log", "run"), $"#!/bin/sh\nexec s6-log s200000000 {Peer.Sh(log)}\n");
                File.WriteAllText(Path.Combine(svc, "timeout-kill"), ((int)fleet.Grace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "\n");
            }
            else
            {
                Script(Path.Combine(svc, "log", "run"), $"#!/bin/sh\nexec svlogd {Peer.Sh(log)}\n");
                File.WriteAllText(Path.Combine(log, "config"), "s0\n");
            }

            if (!p.Autostart)
            {
                File.WriteAllText(Path.Combine(svc, "down"), string.Empty);
            }
        }

        var launched = Stopwatch.GetTimestamp();
        // s6-svscan supervises at most 500 service directories unless told (-c); a log/ counts as one
        string[] args = s6 ? ["-c", (4 * fleet.Programs.Count + 100).ToString(CultureInfo.InvariantCulture), scan] : [scan];
        var root = Peer.Start(Peer.Which(Scanner)!, args, fleet.Environment, dir, Path.Combine(dir, Scanner + ".out"));
        var comms = s6 ? new HashSet<string> { "s6-svscan", "s6-supervise", "s6-log" } : new HashSet<string> { "runsvdir", "runsv", "svlogd" };
        return Task.FromResult<IRunningTarget>(new Running(root, launched, fleet, this, comms, scan, logs));
    }

    private static void Script(string path, string text)
    {
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private sealed class Running(Process root, long launched, TargetFleet fleet, ScannerTarget target, HashSet<string> comms, string scan, string logs)
        : PeerRunning(root, launched, fleet.Programs.Select(p => p.Name).ToList(), comms)
    {
        /// <summary>
        /// No readiness signal of its own: ready once every service's supervisor listens on its control
        /// fifo (runit: supervise/ok, s6: supervise/control), i.e. once sv / s6-svc would work.
        /// </summary>
        public override Task<long> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel)
        {
            var fifo = target.IsS6 ? "control" : "ok";
            var paths = fleet.Programs.Select(p => Path.Combine(scan, p.Name, "supervise", fifo)).ToList();
            var next = 0;
            return Task.FromResult(WaitFor(
                () =>
                {
                    while (next < paths.Count && File.Exists(paths[next]))
                    {
                        next++;
                    }

                    return next == paths.Count;
                },
                Root,
                timeout,
                $"{target.Scanner}: every service's supervise/{fifo}"));
        }

        // run once (flood): runit `sv once`, s6 `s6-svc -o`
        public override Task StartProgramAsync(string name, CancellationToken cancel) =>
            Peer.RunAsync(Peer.Which(target.Control)!, target.IsS6 ? ["-o", Path.Combine(scan, name)] : ["once", Path.Combine(scan, name)], fleet.Environment, cancel);

        public override string? OutputLogPath(string program) => Path.Combine(logs, program, "current");

        protected override void Stop() => Native.Kill(Root.Id, target.IsS6 ? Native.SIGTERM : Native.SIGHUP);

        public override ValueTask DisposeAsync()
        {
            if (!Root.HasExited)
            {
                var tree = SupervisorPids.ToList();
                Stop();
                var deadline = Stopwatch.GetTimestamp() + (15 * Stopwatch.Frequency);
                while (tree.Any(Proc.IsAlive) && Stopwatch.GetTimestamp() < deadline)
                {
                    Thread.Sleep(20);
                }

                Peer.KillAll(tree);
            }

            return base.DisposeAsync();
        }
    }
}
