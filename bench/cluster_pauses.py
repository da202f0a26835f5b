#!/usr/bin/env python3
"""False downing soak: a three-node cluster at the fleet's default timing, its daemons paused in turn for less than the
heartbeat pause (issue 17; docs/benchmarks.md, "Cluster"; the CI-sized version is ClusterFalseDowningTests).

    bench/cluster --pauses [--minutes 10] [--pause 1.5] [--every 4] [--burn 0] [--postgres CONN] [--dll PATH]

On 127.0.0.1 with one PostgreSQL database: n1 (control, agents), n2 and n3 (agents) with no DF_HOCON (heartbeat pause
2 s, stable-after 3 s, as fleet.yaml's defaults), two ticker agents with failover: move. For --minutes, every --every
seconds the next daemon in turn is SIGSTOPped for --pause seconds (a GC-like pause) and continued; --burn N starts N
busy-loop processes for the whole soak (CPU starvation on top of the pauses). Sampled every 200 ms from n1's and n3's
GET /api/cluster: members seen unreachable (a late heartbeat: allowed), members downed or removed, the placement epoch,
daemons exited (fenced or downed). A false downing is any member removed, any daemon exited or any epoch change.
Uses artifacts/df/df.dll (bench/cluster builds it).
"""
import argparse, os, re, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as c  # noqa: E402  the cluster bench's helpers


def fleet():
    y = ["version: 1", "cluster:", "  split_brain: keep-majority", "  nodes:",
         "    - { name: n1, roles: [control, agents] }", "    - { name: n2, roles: [agents] }", "    - { name: n3, roles: [agents] }",
         "agents:"]
    for name in ("a2", "a3"):
        y += [f"  - name: {name}", "    layer: safety", f"    command: [\"{c.ticker}\", \"2\"]", "    restart: permanent",
              "    autostart: true", "    grace: 2s", "    node: role:agents", "    failover: move"]
    return "\n".join(y) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--pause", type=float, default=1.5, help="seconds each daemon is stopped (default heartbeat pause: 2 s)")
    ap.add_argument("--every", type=float, default=4, help="seconds from one pause's start to the next")
    ap.add_argument("--burn", type=int, default=0, help="busy-loop processes running through the soak")
    ap.add_argument("--postgres", default=os.environ.get("DF_TEST_POSTGRES"))
    ap.add_argument("--dll", default=c.dll, help="the daemon to run (default: artifacts/df/df.dll, which bench/cluster builds)")
    a = ap.parse_args()
    if not a.postgres:
        sys.exit("bench/cluster --pauses: needs --postgres or DF_TEST_POSTGRES")
    work = tempfile.mkdtemp(prefix="df-bench-pauses-")
    host, port, user = c.pg_args(a.postgres)
    db = f"df_bench_pauses_{os.getpid()}"
    subprocess.run([c.psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"create database {db}"], check=True)
    conn = re.sub(r"(?i)database=[^;]*", f"Database={db}", a.postgres) if re.search(r"(?i)database=", a.postgres) else a.postgres + f";Database={db}"
    fleet_path = os.path.join(work, "fleet.yaml")
    open(fleet_path, "w").write(fleet())
    ports = c.free_ports(3)
    datas = [os.path.join(work, f"n{i + 1}") for i in range(3)]
    ids = [c.daemon_id(d) for d in datas]
    procs, burners = [], []
    env = {k: v for k, v in os.environ.items() if k != "DF_HOCON"}
    try:
        for i in range(3):
            os.makedirs(datas[i])
            log = open(os.path.join(work, f"n{i + 1}.log"), "w")
            procs.append(subprocess.Popen(["dotnet", a.dll, "up", "--fleet", fleet_path, "--data-dir", datas[i], "--listen", "127.0.0.1:0",
                                           "--node", f"n{i + 1}", "--cluster-port", str(ports[i]), "--seed", f"127.0.0.1:{ports[0]}",
                                           "--postgres", conn], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
            if i == 0:
                c.until(lambda: os.path.exists(os.path.join(datas[0], "daemon.json")), 120, "n1's daemon.json")
        c.until(lambda: all(sum(1 for m in c.api(d, "/api/cluster")["members"] if m["status"] == "up") == 3 for d in datas), 180, "three up")
        c.until(lambda: all(len([i for i in range(3) if c.marked(f"{ids[i]}/{n}/")]) == 1 for n in ("a2", "a3")), 120, "a2 and a3 running")
        epoch = c.api(datas[0], "/api/cluster")["epoch"]
        for _ in range(a.burn):
            burners.append(subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True))
        load0 = open("/proc/loadavg").read().split()[:3]
        unreachable, removed, epochs, exited, stops = 0, set(), set(), set(), []
        end = time.monotonic() + a.minutes * 60
        k, next_pause = 0, time.monotonic()
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_pause:
                i = k % 3
                k += 1
                if procs[i].poll() is None:
                    t = time.monotonic()
                    os.kill(procs[i].pid, signal.SIGSTOP)
                    time.sleep(a.pause)
                    os.kill(procs[i].pid, signal.SIGCONT)
                    stops.append(time.monotonic() - t)
                next_pause = now + a.every
            for i, p in enumerate(procs):
                if p.poll() is not None:
                    exited.add(f"n{i + 1}")
            for d in (datas[0], datas[2]):
                try:
                    v = c.api(d, "/api/cluster")
                except OSError:
                    continue
                unreachable += sum(1 for m in v["members"] if m["status"] == "unreachable")
                removed |= {n for n in ("n1", "n2", "n3") if n not in [m["node"] for m in v["members"]]}
                removed |= {m["node"] for m in v["members"] if m["status"] in ("down", "removed", "exiting")}
                if v["epoch"] != epoch:
                    epochs.add(v["epoch"])
            time.sleep(0.2)
        load1 = open("/proc/loadavg").read().split()[:3]
        false_downing = bool(removed or exited or epochs)
        print(f"pauses: {len(stops)} of {a.pause:.1f} s (longest {max(stops, default=0):.2f} s) every {a.every:.0f} s over {a.minutes:g} min, "
              f"{a.burn} busy loops; load {' '.join(load0)} -> {' '.join(load1)}")
        print(f"samples with a member unreachable: {unreachable}; members downed/removed: {sorted(removed) or 'none'}; "
              f"daemons exited: {sorted(exited) or 'none'}; placement epochs after {epoch}: {sorted(epochs) or 'none'}")
        print("FALSE DOWNING" if false_downing else "no false downing")
        return 1 if false_downing else 0
    finally:
        for b in burners:
            b.kill()
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
        c.stop_all(procs, ids)
        subprocess.run([c.psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"drop database if exists {db} with (force)"], check=False)
        print(f"logs in {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
