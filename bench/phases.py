#!/usr/bin/env python3
"""Times the phases inside Dark Factory's restart and cold start, from outside (docs/benchmarks.md, peers).

    python3 bench/phases.py restart [KILLS]     # SIGKILL -> daemon saw the exit -> replacement started -> pidfile (up 2 s
                                                # between kills, DF_PHASES_UP=S another uptime; DF_PHASES_FIRST=S
                                                # before the first kill, 0.5: no standby yet);
                                                # inside the daemon from the agent's history (exit -> decided -> launch -> started)
    python3 bench/phases.py cold [N]            # launch -> daemon.json -> first/last agent started -> all pidfiles
    python3 bench/phases.py stop [N]            # SIGTERM -> exit with N detaching agents; the daemon's last log lines
    python3 bench/phases.py spawn [N]           # the restart's floor: each exec of a run's chain alone, N rounds in turn
    python3 bench/phases.py memory [N]          # N silent agents, settled (DF_PHASES_SETTLE=S, 40): the daemon's PSS by
                                                # mapping (GC heap, JIT'd code, assemblies, native), its loaded assemblies;
                                                # DF_PHASES_GCDUMP=PATH of dotnet-gcdump: the heap's largest types too;
                                                # DF_PHASES_FILES=N: the N largest mapped files (25);
                                                # DF_PHASES_COUNTERS=PATH of dotnet-counters: the runtime's counters;
                                                # DF_PHASES_DUMP=PATH of dotnet-dump: every live object by type

Uses the daemon built by bench/run (artifacts/df/df.dll; DF_PHASES_DLL=PATH another build's, DF_PHASES_KEEP=1 keeps
the restart's work directory and daemon.out) and the agent log's own markers
("--- <time> run R started, pid P" is written right after Process.Start returns; "--- <time> run R
killed by signal 9" carries the time the ProcessActor handled the exit). Wall-clock times (UTC) on
both sides; everything it starts carries DF_BENCH=phases-<pid> and is killed at the end.
"""
import json, os, re, shutil, signal, subprocess, sys, tempfile, time, urllib.request
from datetime import datetime

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DF_PHASES_DLL: another build's df.dll (a baseline worktree's); default: the one bench/run builds here
dll = os.environ.get("DF_PHASES_DLL") or os.path.join(root, "artifacts", "df", "df.dll")
marker = f"phases-{os.getpid()}"


def fleet(names, pidfiles):
    # DF_PHASES_SANDBOX=off: every agent runs bare (sandbox: off), to see bubblewrap's share
    sandbox = os.environ.get("DF_PHASES_SANDBOX")
    y = ["version: 1", "layers:", "  safety:", "    strategy: one_for_one", "    max_restarts: 100000000",
         "    within: 1s", "    backoff: { min: 0s, max: 1ms, jitter: 0, reset_after: 1ms }",
         "    quarantine_after: 100000000", "    default_restart: permanent", "agents:"]
    for n, p in zip(names, pidfiles):
        y += [f"  - name: {n}", "    layer: safety", "    cli: command",
              f'    command: ["bash", "-c", "echo $$ > \\"$0\\"; exec sleep 100000", "{p}"]',
              "    restart: permanent", "    grace: 2000ms", f'    env: {{ DF_BENCH: "{marker}" }}']
        if sandbox:
            y.append(f"    sandbox: {sandbox}")
    return "\n".join(y) + "\n"


def ts(line):
    m = re.match(r"--- (\S+) run", line)
    return datetime.fromisoformat(m.group(1)).timestamp() if m else None


def read_pid(path):
    try:
        s = open(path).read()
        return int(s) if s.endswith("\n") else None
    except (OSError, ValueError):
        return None


def marked():
    """Host pids of the live processes carrying this run's DF_BENCH marker."""
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                if f"DF_BENCH={marker}".encode() in open(f"/proc/{d}/environ", "rb").read().split(b"\0"):
                    yield int(d)
            except OSError:
                pass


def host_pid(pid):
    """The host pid of a process that calls itself pid in its own pid namespace (the sandbox's): NSpid's last entry."""
    for d in marked():
        try:
            ids = next(l for l in open(f"/proc/{d}/status") if l.startswith("NSpid:")).split()[1:]
        except (OSError, StopIteration):
            continue
        if len(ids) > 1 and int(ids[-1]) == pid:
            return d
    return pid


def sweep():
    for d in marked():
        try:
            os.kill(d, signal.SIGKILL)
        except OSError:
            pass


def stop(p, timeout):
    """SIGTERM the daemon, SIGKILL it after timeout s, then sweep what still carries the bench's marker."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
    sweep()


def launch(work, names, pidfiles):
    open(os.path.join(work, "fleet.yaml"), "w").write(fleet(names, pidfiles))
    env = dict(os.environ, DF_BENCH=marker)
    t = time.time()
    p = subprocess.Popen(["dotnet", dll, "up", "--fleet", os.path.join(work, "fleet.yaml"), "--data-dir",
                          os.path.join(work, "data"), "--listen", "127.0.0.1:0"], env=env,
                         stdout=open(os.path.join(work, "daemon.out"), "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    return p, t


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2] if s else float("nan")


def restart(kills):
    up = float(os.environ.get("DF_PHASES_UP", "2"))
    work = tempfile.mkdtemp(prefix="df-phases-")
    pidfile = os.path.join(work, "r0.pid")
    p, _ = launch(work, ["r0"], [pidfile])
    try:
        while read_pid(pidfile) is None:
            time.sleep(0.01)
        time.sleep(float(os.environ.get("DF_PHASES_FIRST", "0.5")))  # 1.5: the first kill has a standby, as bench/run's row
        log = os.path.join(work, "data", "logs", "r0.log")
        rows = []
        for _ in range(kills):
            # in the sandbox's pid namespace every run is the same small pid (3): kill the host's process, and wait
            # for the pidfile to be written anew (removed first) rather than for another pid
            old = host_pid(read_pid(pidfile))
            os.unlink(pidfile)
            t0 = time.time()
            os.kill(old, signal.SIGKILL)
            while read_pid(pidfile) is None:
                time.sleep(0.0001)
            t3 = time.time()
            # up past min_uptime (1 s by default) before the next kill, as the peer table's row: a settled run's crash
            # restarts at once, and only a settled run has a standby (its next run spawned ahead, waiting)
            time.sleep(up)
            lines = [l for l in open(log, errors="replace") if l.startswith("--- ")]
            # the last "killed" line and the "started" line after it
            ki = max(i for i, l in enumerate(lines) if "killed by signal" in l)
            st = next(l for l in lines[ki + 1:] if " started, pid " in l)
            rows.append(((ts(lines[ki]) - t0) * 1000, (ts(st) - ts(lines[ki])) * 1000, (t3 - ts(st)) * 1000, (t3 - t0) * 1000))
        print("restart phases, ms (median of %d): kill -> ProcessActor handled the exit %.1f; exit -> replacement "
              "Process.Start returned %.1f; started -> pidfile written %.1f; total %.1f"
              % (kills, *[median([r[i] for r in rows]) for i in range(4)]))
        for r in rows:
            print("  %.1f %.1f %.1f = %.1f" % r)
        inside(work, kills)
    finally:
        stop(p, 15)
        if os.environ.get("DF_PHASES_KEEP"):
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def inside(work, kills):
    """
    The daemon's part of each restart from the agent's history (GET /api/agents/r0/history): the exit handled
    (crashed.exited_at) -> the layer recorded the crash (crashed.at: the output drained, RunEnded, the decision) ->
    the next run's launch began (started.launched_at: plan, actor) -> its Process.Start returned (started.at).
    """
    d = json.load(open(os.path.join(work, "data", "daemon.json")))
    req = urllib.request.Request(d["url"] + "/api/agents/r0/history", headers={"Authorization": "Bearer " + d["token"]})
    h = json.load(urllib.request.urlopen(req, timeout=10))
    at = lambda e, k: datetime.fromisoformat(e[k]).timestamp() * 1000
    rows = []
    for i, e in enumerate(h):
        if e["kind"] == "crashed" and e.get("signal") == 9:
            nxt = next((x for x in h[i + 1:] if x["kind"] == "started"), None)
            if nxt is not None:
                rows.append((at(e, "at") - at(e, "exited_at"), at(nxt, "launched_at") - at(e, "at"), at(nxt, "at") - at(nxt, "launched_at")))
    rows = rows[-kills:]
    print("inside the daemon, ms (median of %d, from the agent's history): exit handled -> crash recorded by the layer "
          "%.1f; -> next launch began %.1f; -> its Process.Start returned %.1f"
          % (len(rows), *[median([r[i] for r in rows]) for i in range(3)]))
    for r in rows:
        print("  %.1f %.1f %.1f" % r)


def cold(n):
    work = tempfile.mkdtemp(prefix="df-phases-")
    pids = os.path.join(work, "pids")
    os.mkdir(pids)
    names = ["a%04d" % i for i in range(n)]
    pidfiles = [os.path.join(pids, x) for x in names]
    p, t0 = launch(work, names, pidfiles)
    try:
        dj = os.path.join(work, "data", "daemon.json")
        while not os.path.exists(dj):
            time.sleep(0.001)
        t1 = time.time()
        while len(os.listdir(pids)) < n or any(read_pid(f) is None for f in pidfiles):
            time.sleep(0.002)
        t2 = time.time()
        time.sleep(0.3)
        starts = []
        for x in names:
            for l in open(os.path.join(work, "data", "logs", x + ".log"), errors="replace"):
                if " started, pid " in l:
                    starts.append(ts(l))
                    break
        starts.sort()
        marks = daemon_marks(os.path.join(work, "daemon.out"), t0)
        print("daemon log, ms from launch: " + "; ".join(f"{k} {v:.0f}" for k, v in marks.items()))
        print("cold start %d, ms from launch: daemon.json %.0f; first agent started %.0f; last agent started %.0f "
              "(%.1f ms per start); all pidfiles %.0f"
              % (n, (t1 - t0) * 1000, (starts[0] - t0) * 1000, (starts[-1] - t0) * 1000,
                 (starts[-1] - starts[0]) * 1000 / max(1, n - 1), (t2 - t0) * 1000))
        time.sleep(5)
        roll = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in open(f"/proc/{p.pid}/smaps_rollup") if l.startswith("Pss")}
        threads = len(os.listdir(f"/proc/{p.pid}/task"))
        print("daemon after 5 s idle, MiB: " + ", ".join(f"{k} {v}" for k, v in roll.items()) + f"; {threads} threads")
    finally:
        stop(p, 30)
        if os.environ.get("DF_PHASES_KEEP"):
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def daemon_marks(path, t0):
    """The daemon's own log lines that mark the start-up's phases (HH:MM:SS.fff, this machine's local time), ms after t0."""
    day = datetime.fromtimestamp(t0)
    found = {}
    wanted = [("first log line", ""), ("listening", " listening on "), ("fleet applied", "Fleet of ")]
    for line in open(path, errors="replace"):
        m = re.match(r"(\d\d):(\d\d):(\d\d\.\d+) ", line)
        if not m:
            continue
        at = day.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0).timestamp() + float(m.group(3))
        for k, s in wanted:
            if k not in found and s in line:
                found[k] = (at - t0) * 1000
    return found


def stop_many(n):
    """SIGTERM with n agents that each left a setsid grandchild: time to exit, and the daemon's own last log lines."""
    work = tempfile.mkdtemp(prefix="df-phases-")
    g = os.path.join(work, "g")
    os.mkdir(g)
    names = ["d%03d" % i for i in range(n)]
    y = fleet(names, names).split("agents:")[0] + "agents:\n"
    for x in names:
        y += (f"  - name: {x}\n    layer: safety\n    cli: command\n"
              f'    command: ["{root}/tests/agents/detach.sh", "{g}/{x}"]\n    restart: permanent\n    grace: 2000ms\n'
              f'    env: {{ DF_BENCH: "{marker}" }}\n')
    open(os.path.join(work, "fleet.yaml"), "w").write(y)
    env = dict(os.environ, DF_BENCH=marker)
    p = subprocess.Popen(["dotnet", dll, "up", "--fleet", os.path.join(work, "fleet.yaml"), "--data-dir",
                          os.path.join(work, "data"), "--listen", "127.0.0.1:0"], env=env,
                         stdout=open(os.path.join(work, "daemon.out"), "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        while len(os.listdir(g)) < n or any(read_pid(os.path.join(g, x)) is None for x in names):
            time.sleep(0.01)
        time.sleep(1)
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        print("stop %d: SIGTERM -> daemon exited %.0f ms (load %s); daemon's last lines:"
              % (n, (time.time() - t0) * 1000, open("/proc/loadavg").read().split()[:3]))
        for l in open(os.path.join(work, "daemon.out"), errors="replace").read().splitlines()[-12:]:
            print("  " + l[:220])
    finally:
        if p.poll() is None:
            p.kill()
        sweep()
        shutil.rmtree(work, ignore_errors=True)


def smaps(pid):
    """PSS (KiB) of /proc/PID/smaps by what is mapped: every mapping's Pss, summed per class and per file."""
    classes, files = {}, {}
    name = None
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = f[5] if len(f) > 5 else ""
            continue
        if f[0] != "Pss:":
            continue
        kib = int(f[1])
        if name.startswith("/memfd:doublemapper"):
            k = "JIT'd code, stubs, loader heaps (W^X memfd)"
        elif name.endswith(".dll") and "/shared/" in name:
            k = "framework assemblies (mapped)"
        elif name.endswith(".dll"):
            k = "the daemon's and packages' assemblies (mapped)"
        elif ".so" in name:
            k = "native libraries (.so)"
        elif name == "[heap]":
            k = "malloc ([heap])"
        elif name in ("", "[anon]") or name.startswith("[anon:"):
            k = "anonymous (GC heap, runtime data, other malloc arenas, stacks)"
        else:
            k = "other " + (name if name.startswith("[") else "files")
        classes[k] = classes.get(k, 0) + kib
        if name.startswith("/"):
            files[name] = files.get(name, 0) + kib
    return classes, files


def memory(n):
    """The daemon's idle memory with n silent agents, by mapping class; and the heap by type (dotnet-gcdump)."""
    settle = float(os.environ.get("DF_PHASES_SETTLE", "40"))
    work = tempfile.mkdtemp(prefix="df-phases-")
    pids = os.path.join(work, "pids")
    os.mkdir(pids)
    names = ["m%04d" % i for i in range(n)]
    pidfiles = [os.path.join(pids, x) for x in names]
    p, t0 = launch(work, names, pidfiles)
    try:
        while len(os.listdir(pids)) < n or any(read_pid(f) is None for f in pidfiles):
            time.sleep(0.01)
        time.sleep(max(0.0, settle - (time.time() - t0)))
        roll = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in open(f"/proc/{p.pid}/smaps_rollup") if l.startswith(("Pss", "Rss"))}
        classes, files = smaps(p.pid)
        print(f"daemon {settle:.0f} s after launch with {n} silent agents, MiB: " + ", ".join(f"{k} {v}" for k, v in roll.items()))
        for k, v in sorted(classes.items(), key=lambda x: -x[1]):
            print(f"  {v / 1024:6.1f}  {k}")
        dlls = [f for f in files if f.endswith(".dll")]
        print(f"  assemblies mapped: {len(dlls)}; the largest by PSS, MiB:")
        for f, v in sorted(files.items(), key=lambda x: -x[1])[:int(os.environ.get("DF_PHASES_FILES", "25"))]:
            print(f"    {v / 1024:6.2f}  {f}")
        counters = os.environ.get("DF_PHASES_COUNTERS")
        if counters:
            out = os.path.join(work, "counters.csv")
            subprocess.run([counters, "collect", "-p", str(p.pid), "--counters", "System.Runtime", "--duration", "00:00:00:04",
                            "--format", "csv", "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            last = {}
            for l in open(out) if os.path.exists(out) else []:
                f = l.rstrip("\n").split(",")
                if len(f) >= 5 and f[0][:1].isdigit():
                    last[f[2] + ("" if f[3] in ("", "[]") else " " + f[3])] = f[-1]
            print("  the runtime's counters (dotnet-counters, the last of 4 s):")
            for k in sorted(last):
                print(f"    {k}: {last[k]}")
        dumper = os.environ.get("DF_PHASES_DUMP")
        if dumper:
            # every live object, exactly (dotnet-gcdump's event stream is lossy on .NET 10)
            dump = os.path.join(work, "heap.dmp")
            subprocess.run([dumper, "collect", "-p", str(p.pid), "--type", "Heap", "-o", dump], stdout=subprocess.DEVNULL, timeout=300)
            stat = subprocess.run([dumper, "analyze", dump, "-c", "dumpheap -stat -live", "-c", "exit"], capture_output=True, text=True, timeout=600).stdout
            if os.environ.get("DF_PHASES_REPORT"):
                open(os.environ["DF_PHASES_REPORT"], "w").write(stat)
            rows = [l.split(None, 3) for l in stat.splitlines() if re.match(r"^\s*[0-9a-f]{8,}\s+[\d,]+\s+[\d,]+\s", l)]
            rows = [(int(r[2].replace(",", "")), int(r[1].replace(",", "")), r[3]) for r in rows if len(r) == 4]
            print(f"  live objects (dotnet-dump, dumpheap -stat -live): {sum(r[0] for r in rows) / 1048576:.1f} MiB, {sum(r[1] for r in rows):,d} objects; the largest types:")
            for b, c, t in sorted(rows, reverse=True)[:30]:
                print(f"    {b:12,d} {c:8,d}  {t}")
        tool = os.environ.get("DF_PHASES_GCDUMP")
        if tool:
            dump = os.path.join(work, "heap.gcdump")
            subprocess.run([tool, "collect", "-p", str(p.pid), "-o", dump], stdout=subprocess.DEVNULL, timeout=120)
            report = subprocess.run([tool, "report", dump], capture_output=True, text=True, timeout=120).stdout
            if os.environ.get("DF_PHASES_REPORT"):
                open(os.environ["DF_PHASES_REPORT"], "w").write(report)
            types, assemblies, total = {}, {}, 0
            for l in report.splitlines():
                m = re.match(r"^\s*([\d,]+)\s+([\d,]+)\s+(.*?)\s*(?:\(Bytes > \S+\))?\s*\[([^\[\]]*)\]\s*$", l)
                if m:
                    b, c = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
                    t = types.setdefault(m.group(3), [0, 0, m.group(4)])
                    t[0] += b
                    t[1] += c
                    assemblies[m.group(4)] = assemblies.get(m.group(4), 0) + b
                    total += b
            print(f"  the heap's live objects (dotnet-gcdump, after its collection): {total / 1048576:.1f} MiB; by assembly of the type, MiB:")
            for a, b in sorted(assemblies.items(), key=lambda x: -x[1])[:12]:
                print(f"    {b / 1048576:6.2f}  {a}")
            print("  by type (bytes, objects):")
            for t, (b, c, a) in sorted(types.items(), key=lambda x: -x[1][0])[:25]:
                print(f"    {b:10,d} {c:7,d}  {t}")
    finally:
        stop(p, 30)
        shutil.rmtree(work, ignore_errors=True)


def spawn(rounds):
    """
    The exec chain of a run, piece by piece, in turn (rotating order) for N rounds: /bin/true alone, behind setsid,
    behind the cgroup-join shell, inside bubblewrap with only its namespaces, and inside bubblewrap exactly as the
    daemon starts it (the argv read from a real run's /proc/PID/cmdline: every bind and tmpfs). Wall time of each
    whole run (fork, exec, exit, reap) measured here: the part of a restart no supervision path can remove.
    """
    work = tempfile.mkdtemp(prefix="df-phases-")
    pidfile = os.path.join(work, "r0.pid")
    p, _ = launch(work, ["r0"], [pidfile])
    try:
        while read_pid(pidfile) is None:
            time.sleep(0.01)
        argv = None
        for d in marked():
            try:
                a = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")[:-1]
            except OSError:
                continue
            if a and a[0].endswith(b"bwrap") and b"--" in a:
                argv = [x.decode() for x in a[:a.index(b"--") + 1]]
                break
        measure(rounds, argv)  # the daemon stays up (idle): the run's directories that bubblewrap binds must exist
    finally:
        stop(p, 15)
        shutil.rmtree(work, ignore_errors=True)


def measure(rounds, argv):
    cg = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    cg = os.path.join(cg, f"df-phases-{os.getpid()}")
    try:
        os.mkdir(cg)
    except OSError:
        cg = "-"
    true = ["/bin/true"]
    join = ["/bin/sh", "-c", 'echo $$ > "$1/cgroup.procs" 2>/dev/null; shift; exec "$@"', "df-run", cg]
    variants = {"true": true, "setsid true": ["setsid"] + true,
                "shell exec true (the join's shell, no join)": join[:4] + ["-"] + true, "cgroup join + exec true": join + true,
                "the daemon's wrappers (join, setsid) + true": join + ["setsid"] + true}
    if argv:
        bwrap = argv[0]
        variants["bwrap, namespaces only + true"] = [bwrap, "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--dev",
                                                     "/dev", "--proc", "/proc", "--"] + true
        variants["bwrap as a run (every bind) + true"] = argv + true
        variants["a run's whole chain + true"] = join + ["setsid"] + argv + true
    times = {k: [] for k in variants}
    keys = list(variants)
    try:
        for r in range(rounds):
            for k in keys[r % len(keys):] + keys[:r % len(keys)]:
                # apart, as restarts are: a cgroup migration right after another one is cheap (the kernel's
                # cgroup_threadgroup_rwsem stays in its slow mode for a grace period), a lone one waits for RCU
                time.sleep(0.05)
                t = time.perf_counter()
                done = subprocess.run(variants[k], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                times[k].append((time.perf_counter() - t) * 1000)
                if done.returncode != 0:
                    raise RuntimeError(f"{k} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    finally:
        if cg != "-":
            try:
                os.rmdir(cg)
            except OSError:
                pass
    print(f"exec chain of a run, fork -> exit -> reaped, ms (median, p10; {rounds} rounds in turn)"
          + ("" if argv else "; no bubblewrap run found: the sandbox is off here"))
    for k in keys:
        v = sorted(times[k])
        print(f"  {k:45s} {median(v):6.2f}  {v[len(v) // 10]:6.2f}")
    print(f"load average after {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "restart"
    arg = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    print(f"load average {open('/proc/loadavg').read().split()[:3]}")
    if what == "restart":
        restart(arg or 20)
    elif what == "stop":
        stop_many(arg or 100)
    elif what == "spawn":
        spawn(arg or 40)
    elif what == "memory":
        memory(arg or 100)
    else:
        cold(arg or 100)
