#!/usr/bin/env python3
"""Soak: 100 agents of mixed behaviour under one daemon for a long while (issue 15; docs/benchmarks.md, "Soak").

    bench/soak [--minutes 30] [--every 10] [--warmup 2]

One `df up` (artifacts/df/df.dll, SQLite store in a temp data directory) runs 100 agents:
  40 chatty     tests/agents/ticker.sh 10      10 short lines a second each, forever
  25 silent     tests/agents/sleeper.sh        prints `ready`, then nothing
  25 crashing   tests/agents/exit.sh 1 20      exit 1 after 20 s up (past min_uptime 5 s: restarted at once, forever)
  10 flooding   tests/agents/flood.sh 50000    50,000 lines of 80 B as fast as it can, exit 0, started again
Every --every seconds the daemon's RSS, PSS, threads, open files and CPU (% of a core since the last sample) are
sampled from /proc. The report gives each series' first and last value, its peak, and its least-squares slope
per hour after the warm-up (--warmup minutes), and writes bench/results/soak.md (all samples included).
Flat means: a slope that would not double the value in a day.
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time
import urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
dll = os.path.join(root, "artifacts", "df", "df.dll")
agents_dir = os.path.join(root, "tests", "agents")
MIX = [("chatty", 40, ["ticker.sh", "10"], "permanent"), ("silent", 25, ["sleeper.sh"], "permanent"),
       ("crashing", 25, ["exit.sh", "1", "20"], "permanent"), ("flooding", 10, ["flood.sh", "50000"], "permanent")]
TICK = os.sysconf("SC_CLK_TCK")


def fleet():
    y = ["version: 1", "layers:", "  core:", "    max_restarts: 100000", "    within: 1m", "    quarantine_after: 1000", "agents:"]
    for kind, n, cmd, restart in MIX:
        for i in range(n):
            command = json.dumps([os.path.join(agents_dir, cmd[0])] + cmd[1:])
            y += [f"  - name: {kind}-{i:02d}", "    layer: core", f"    command: {command}",
                  f"    restart: {restart}", "    min_uptime: 5s", "    autostart: true", "    grace: 2s"]
    return "\n".join(y) + "\n"


def api(data, path):
    endpoint = json.load(open(os.path.join(data, "daemon.json")))
    req = urllib.request.Request(endpoint["url"].rstrip("/") + path, headers={"Authorization": "Bearer " + endpoint["token"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def sample(pid):
    status = open(f"/proc/{pid}/status").read()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) / 1024
    threads = int(next(l for l in status.splitlines() if l.startswith("Threads:")).split()[1])
    pss = 0.0
    try:
        pss = int(next(l for l in open(f"/proc/{pid}/smaps_rollup").read().splitlines() if l.startswith("Pss:")).split()[1]) / 1024
    except (OSError, StopIteration):
        pass
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / TICK  # utime + stime, seconds
    return {"rss": rss, "pss": pss, "threads": threads, "fds": fds, "cpu_s": cpu}


def slope_per_hour(points):
    """Least-squares slope of (minutes, value) points, per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return 0.0 if sxx == 0 else 60 * sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="df-soak-")
    data = os.path.join(work, "data")
    fleet_path = os.path.join(work, "fleet.yaml")
    open(fleet_path, "w").write(fleet())
    log = open(os.path.join(work, "daemon.log"), "w")
    load0 = os.getloadavg()
    proc = subprocess.Popen(["dotnet", dll, "up", "--fleet", fleet_path, "--data-dir", data, "--listen", "127.0.0.1:0"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    rows = []
    try:
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(data, "daemon.json")):
            if proc.poll() is not None or time.time() > deadline:
                sys.exit(f"soak: the daemon did not start (see {work}/daemon.log)")
            time.sleep(0.2)
        start = time.time()
        last = None
        while time.time() - start < args.minutes * 60:
            s = sample(proc.pid)
            t = time.time()
            s["cpu_pct"] = 0.0 if last is None else 100 * (s["cpu_s"] - last[1]["cpu_s"]) / (t - last[0])
            s["minute"] = (t - start) / 60
            try:
                agents = api(data, "/api/agents")
                items = agents if isinstance(agents, list) else agents.get("agents", [])
                s["running"] = sum(1 for a in items if a.get("state") == "running")
            except Exception as e:  # an unanswered API is a finding, not a crash of the bench
                s["running"] = -1
                print(f"soak: /api/agents failed: {e}", file=sys.stderr)
            rows.append(s)
            last = (t, s)
            print(f"soak: {s['minute']:6.1f} min rss {s['rss']:7.1f} MiB pss {s['pss']:7.1f} MiB threads {s['threads']:4d} "
                  f"fds {s['fds']:5d} cpu {s['cpu_pct']:5.1f} % running {s['running']}", file=sys.stderr, flush=True)
            time.sleep(max(0, args.every - (time.time() - t)))
        if proc.poll() is not None:
            sys.exit(f"soak: the daemon exited with {proc.returncode} (see {work}/daemon.log)")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    load1 = os.getloadavg()
    after = [r for r in rows if r["minute"] >= args.warmup and r is not rows[0]]
    lines = [f"# Soak: 100 agents (40 chatty, 25 silent, 25 crashing every 20 s, 10 flooding 50,000 lines then again) for {args.minutes:g} min",
             "", f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}; 2 cores; load before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}",
             f"- samples every {args.every:g} s; slopes by least squares after the first {args.warmup:g} min ({len(after)} samples)",
             "", "| series | first | last | peak | slope per hour after warm-up | doubles in |", "|---|---|---|---|---|---|"]
    for key, unit in [("rss", "MiB"), ("pss", "MiB"), ("threads", ""), ("fds", ""), ("cpu_pct", "%")]:
        series = [r[key] for r in rows]
        slope = slope_per_hour([(r["minute"], r[key]) for r in after])
        level = sum(r[key] for r in after) / len(after) if after else 0
        doubles = "never (flat or falling)" if slope <= 0 or level <= 0 else f"{level / slope:.1f} h"
        lines.append(f"| {key} | {series[0]:.1f} {unit} | {series[-1]:.1f} {unit} | {max(series):.1f} {unit} | {slope:+.2f} {unit}/h | {doubles} |")
    lines += ["", "| minute | RSS MiB | PSS MiB | threads | fds | CPU % | running |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['minute']:.1f} | {r['rss']:.1f} | {r['pss']:.1f} | {r['threads']} | {r['fds']} | {r['cpu_pct']:.1f} | {r['running']} |" for r in rows]
    os.makedirs(os.path.join(root, "bench", "results"), exist_ok=True)
    out = os.path.join(root, "bench", "results", "soak.md")
    open(out, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines[:14]))
    print(f"written to {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
