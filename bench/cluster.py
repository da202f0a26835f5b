#!/usr/bin/env python3
"""Cluster formation and failover after SIGKILL (issue 17; docs/benchmarks.md, "Cluster").

    bench/cluster [--rounds N] [--stable-after 3s] [--compare] [--postgres "Host=...;Port=...;Username=..."]

Each round, on 127.0.0.1 with one PostgreSQL database per round (created with psql):
  formation  launch n1 (the seed, roles control+agents) -> its daemon.json; launch n2 (control+agents) and
             n3 (agents) -> every node's GET /api/cluster lists three members up
  failover   the three agents (failover move, stay, never) run on n1, which holds the placement coordinator;
             SIGKILL n1 (no shutdown) and time, from the kill:
               runs gone   n1's run markers gone from /proc (its lifeline guard kills them)
               removed     a survivor's /api/cluster no longer lists n1 (the split-brain resolver downed it)
               moved       the move agent's run marker on a survivor
               coordinator a survivor's placement epoch above the one before the kill (the coordinator took over
                           on a survivor, recovered its journal and placed again)
               scheduler   the scheduler singleton answering GET /api/schedule on n2 with the cron agent (pinned to
                           n2, fired every 2 s by the singleton on n1 before the kill): it started on a survivor,
                           recovered its journal and armed its timers from the fleet
             and, at every sample, no agent's run marker under two nodes' data directories.
  latency    before the kill: an SSE client on n1 and one on n2 (GET /api/events); the agent pinned to n2 (blinker) is
             restarted --restarts times through n2's API; for each of its lifecycle events, the time from the event's
             own timestamp (`at`, n2's clock, the same machine's) to the line read by each client: n2's client is the
             single-node path (local event stream), n1's the cross-node one (DistributedPubSub, lifecycle relay)
  sigterm    after the failover: SIGTERM the survivor holding the coordinator and time, from the signal:
               exited      its daemon's exit (coordinated shutdown: drain, leave)
               removed     the other survivor's /api/cluster no longer lists it
               coordinator the other survivor shows itself as the coordinator's node and a higher epoch
               moved       the move agent running on the other survivor (when it ran on the terminated node)
               scheduler   GET /api/schedule on the other survivor, asked once the terminated daemon has exited,
                           answered with the cron agent (the scheduler handed over)
Failure detection and the resolver are tuned as the tests tune them (DF_HOCON: acceptable-heartbeat-pause 2s,
stable-after --stable-after; both the daemon's own defaults since issue 17's failover work). --compare runs each round
twice, alternating: first with Akka's timing around stable-after (BASELINE: the singletons wait stable-after again after
the removal, 1 s leader and reaper ticks), then with the daemon's, and prints the SIGKILL medians of each side by side. Uses artifacts/df/df.dll (bench/cluster builds it). Polls every 20 ms through
/proc and the HTTP API (urllib), so a time is good to about 50 ms on a quiet machine.
"""
import argparse, hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.request
from datetime import datetime

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
dll = os.path.join(root, "artifacts", "df", "df.dll")
ticker = os.path.join(root, "tests", "agents", "ticker.sh")
exit_sh = os.path.join(root, "tests", "agents", "exit.sh")
AGENTS = [("mover", "move"), ("stayer", "stay"), ("keeper", "never")]


def fleet():
    y = ["version: 1", "cluster:", "  split_brain: keep-majority", "  nodes:",
         "    - { name: n1, roles: [control, agents] }", "    - { name: n2, roles: [control, agents] }",
         "    - { name: n3, roles: [control, agents] }", "agents:"]
    for name, failover in AGENTS:
        y += [f"  - name: {name}", "    layer: safety", f'    command: ["{ticker}", "2"]', "    restart: permanent",
              "    autostart: true", "    grace: 2s", f"    failover: {failover}"]
    y += ["  - name: blinker", "    layer: safety", f'    command: ["{ticker}", "2"]', "    restart: permanent",
          "    autostart: true", "    grace: 2s", "    node: n2"]
    y += ["  - name: cron", "    layer: core", f'    command: ["{exit_sh}", "0"]', '    schedule: "*/2 * * * * *"',
          "    restart: temporary", "    node: n2", "    catch_up: all", "    grace: 2s"]
    return "\n".join(y) + "\n"


def post(data, path):
    endpoint = json.load(open(os.path.join(data, "daemon.json")))
    req = urllib.request.Request(endpoint["url"].rstrip("/") + path, data=b"", method="POST",
                                 headers={"Authorization": "Bearer " + endpoint["token"]})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def stamp(at):
    """An event's `at` (ISO 8601, up to 7 fractional digits) as epoch seconds."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$", at)
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = m.group(3).replace("Z", "+00:00")
    return datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}").timestamp()


class Sse(threading.Thread):
    """Reads GET /api/events; for each agent-lifecycle event of `agent`: (its run id and kind, arrival - at) in seconds."""

    def __init__(self, data, agent):
        super().__init__(daemon=True)
        endpoint = json.load(open(os.path.join(data, "daemon.json")))
        req = urllib.request.Request(endpoint["url"].rstrip("/") + "/api/events", headers={"Authorization": "Bearer " + endpoint["token"]})
        self.stream = urllib.request.urlopen(req, timeout=300)
        self.agent, self.seen, self.ready = agent, {}, threading.Event()

    def run(self):
        name = None
        try:
            for raw in self.stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                    if name == "ready":
                        self.ready.set()
                elif line.startswith("data: ") and name == "agent-lifecycle":
                    now = time.time()
                    e = json.loads(line[6:])
                    if e.get("agent") == self.agent:
                        self.seen[(e.get("run_id"), e.get("kind"), e.get("at"))] = now - stamp(e["at"])
        except (OSError, ValueError):
            pass


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def daemon_id(data):
    return "df-" + hashlib.sha256(os.path.realpath(data).encode()).hexdigest()[:12]


def marked(prefix):
    """pids whose environment has DF_RUN=<prefix>... (not zombies), as ProcessTree.FindMarked."""
    needle = b"DF_RUN=" + prefix.encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            env = open(f"/proc/{d}/environ", "rb").read()
            if any(e.startswith(needle) for e in env.split(b"\0")):
                stat = open(f"/proc/{d}/stat").read()
                if stat[stat.rindex(")") + 2] != "Z":
                    found.append(int(d))
        except OSError:
            pass
    return found


def api(data, path):
    endpoint = json.load(open(os.path.join(data, "daemon.json")))
    req = urllib.request.Request(endpoint["url"].rstrip("/") + path, headers={"Authorization": "Bearer " + endpoint["token"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def until(cond, timeout, what):
    end = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except (OSError, ValueError, KeyError):
            pass  # not up yet
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def pg_args(conn):
    kv = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    kv = {k.lower(): v for k, v in kv.items()}
    return kv.get("host", "127.0.0.1"), kv.get("port", "5432"), kv.get("username", "postgres")


def psql():
    found = sorted(d for d in os.listdir("/usr/lib/postgresql") if os.path.exists(f"/usr/lib/postgresql/{d}/bin/psql")) if os.path.isdir("/usr/lib/postgresql") else []
    return f"/usr/lib/postgresql/{found[-1]}/bin/psql" if found else shutil.which("psql")


# Akka's own timing around stable-after (the daemon's before issue 17's failover work; docs/cluster.md, "Failover time"):
# the singletons wait stable-after again after the removal, the leader and the reaper tick every second.
BASELINE = ("akka.cluster.down-removal-margin = off\n" "akka.cluster.leader-actions-interval = 1s\n"
            "akka.cluster.unreachable-nodes-reaper-interval = 1s\n" "akka.cluster.split-brain-resolver.down-all-when-unstable = on\n")


def round_once(n, conn, stable_after, work, restarts, extra=""):
    host, port, user = pg_args(conn)
    db = f"df_bench_cluster_{os.getpid()}_{n}"
    subprocess.run([psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"create database {db}"], check=True)
    conn_db = re.sub(r"(?i)database=[^;]*", f"Database={db}", conn) if re.search(r"(?i)database=", conn) else conn + f";Database={db}"
    hocon = os.path.join(work, "fast.conf")
    open(hocon, "w").write(f"akka.cluster.split-brain-resolver.stable-after = {stable_after}\n"
                           "akka.cluster.failure-detector.acceptable-heartbeat-pause = 2s\n" + extra)
    fleet_path = os.path.join(work, "fleet.yaml")
    open(fleet_path, "w").write(fleet())
    ports = free_ports(3)
    datas = [os.path.join(work, f"n{i + 1}-{n}") for i in range(3)]
    procs = []

    def launch(i):
        os.makedirs(datas[i], exist_ok=True)
        log = open(os.path.join(work, f"n{i + 1}-{n}.log"), "w")
        env = dict(os.environ, DF_HOCON=hocon)
        procs.append(subprocess.Popen(["dotnet", dll, "up", "--fleet", fleet_path, "--data-dir", datas[i], "--listen", "127.0.0.1:0",
                                       "--node", f"n{i + 1}", "--cluster-port", str(ports[i]), "--seed", f"127.0.0.1:{ports[0]}",
                                       "--postgres", conn_db], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True))

    ids = [daemon_id(d) for d in datas]

    def holders(agent, nodes=range(3)):
        return [i for i in nodes if marked(f"{ids[i]}/{agent}/")]

    try:
        t0 = time.monotonic()
        launch(0)
        until(lambda: os.path.exists(os.path.join(datas[0], "daemon.json")), 120, "n1's daemon.json")
        until(lambda: all(holders(a) == [0] for a, _ in AGENTS), 120, "the three agents running on n1")
        t1 = time.monotonic()
        launch(1)
        launch(2)

        def three_up():
            for d in datas:
                if sum(1 for m in api(d, "/api/cluster")["members"] if m["status"] == "up") != 3:
                    return False
            return True

        until(three_up, 120, "three members up on every node")
        t2 = time.monotonic()
        view = api(datas[1], "/api/cluster")
        assert view["singletons"]["placement"] == "n1", view
        epoch = view["epoch"]

        # latency: blinker's lifecycle events (n2) as n2's own SSE client and n1's see them
        until(lambda: holders("blinker") == [1], 120, "blinker running on n2")
        local, remote = Sse(datas[1], "blinker"), Sse(datas[0], "blinker")
        for c in (local, remote):
            c.start()
            c.ready.wait(60)
        time.sleep(2)  # the relay's DistributedPubSub subscription has spread since n1 joined (docs/cluster.md)
        for _ in range(restarts):
            post(datas[1], "/api/agents/blinker/restart")
            until(lambda: holders("blinker") == [1], 60, "blinker running again")
            time.sleep(0.2)
        time.sleep(2)
        both = set(local.seen) & set(remote.seen)
        latency = {"local": [local.seen[k] for k in both], "remote": [remote.seen[k] for k in both],
                   "events": len(both), "missed": len(set(local.seen) - set(remote.seen))}
        epoch = api(datas[1], "/api/cluster")["epoch"]

        os.kill(procs[0].pid, signal.SIGKILL)
        k = time.monotonic()
        procs[0].wait()
        marks = {}
        overlaps = []
        scheduler_on(datas[1], lambda: True, k, marks)

        def failed_over():
            for a, _ in AGENTS:
                if len(holders(a)) > 1:
                    overlaps.append(a)
            if "runs" not in marks and not marked(ids[0] + "/"):
                marks["runs"] = time.monotonic() - k
            if "moved" not in marks and holders("mover", [1, 2]):
                marks["moved"] = time.monotonic() - k
            if "removed" not in marks or "coordinator" not in marks:
                v = api(datas[1], "/api/cluster")
                if "removed" not in marks and all(m["node"] != "n1" for m in v["members"]):
                    marks["removed"] = time.monotonic() - k
                if "coordinator" not in marks and v["epoch"] > epoch:
                    marks["coordinator"] = time.monotonic() - k
            return len(marks) == 5

        until(failed_over, 120, "n1's runs gone, n1 removed, the move agent on a survivor, the coordinator placing again, the scheduler answering")

        # SIGTERM the survivor holding the coordinator: graceful hand-over to the other
        def coordinator():
            v = api(datas[1], "/api/cluster")
            return v["singletons"]["placement"], v["epoch"]

        until(lambda: coordinator()[0] in ("n2", "n3"), 60, "the coordinator on a survivor")
        name, before = coordinator()
        t = int(name[1:]) - 1  # the terminated node's index (1 or 2)
        other = 3 - t  # the other survivor's
        mover_there = holders("mover", [t]) == [t]
        procs[t].send_signal(signal.SIGTERM)
        k = time.monotonic()
        term = {}
        scheduler_on(datas[other], lambda: procs[t].poll() is not None, k, term)

        def handed_over():
            for a, _ in AGENTS:
                if len(holders(a)) > 1:
                    overlaps.append(a)
            if "exited" not in term and procs[t].poll() is not None:
                term["exited"] = time.monotonic() - k
            if mover_there and "moved" not in term and holders("mover", [other]):
                term["moved"] = time.monotonic() - k
            v = api(datas[other], "/api/cluster")
            if "removed" not in term and all(m["node"] != name for m in v["members"]):
                term["removed"] = time.monotonic() - k
            if "coordinator" not in term and v["singletons"]["placement"] == f"n{other + 1}" and v["epoch"] > before:
                term["coordinator"] = time.monotonic() - k
            return len(term) == (5 if mover_there else 4)

        try:
            until(handed_over, 120, f"{name} exited and removed, the coordinator on n{other + 1}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; reached: {term}; logs in {work}") from e
        return {"formation": t2 - t0, "join": t2 - t1, **marks, "overlaps": sorted(set(overlaps)), "latency": latency,
                "term": {f"term_{key}": value for key, value in term.items()}}
    finally:
        stop_all(procs, ids)
        subprocess.run([psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"drop database if exists {db} with (force)"], check=False)


def stop_all(procs, ids, timeout=60):
    """SIGTERM every daemon still running and wait for it (SIGKILL after timeout s); then SIGKILL whatever still carries
    one of the daemons' run markers."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
    for i in ids:
        for pid in marked(i + "/"):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def scheduler_on(data, ask_from, k, marks):
    """In a thread: once ask_from() holds, GET /api/schedule on data until it lists the cron agent; marks['scheduler'] is
    the time from k to that answer (an ask made while no singleton runs waits in its proxy's buffer)."""
    def poll():
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if ask_from():
                try:
                    if any(a["agent"] == "cron" for a in api(data, "/api/schedule")):
                        marks["scheduler"] = time.monotonic() - k
                        return
                except (OSError, ValueError, KeyError):
                    pass
            time.sleep(0.02)
    threading.Thread(target=poll, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stable-after", default="3s")
    ap.add_argument("--postgres", default=os.environ.get("DF_TEST_POSTGRES"))
    ap.add_argument("--restarts", type=int, default=30, help="restarts of the agent on n2 per round for the event latency")
    ap.add_argument("--compare", action="store_true", help="each round twice, first with Akka's timing around stable-after (BASELINE), then the daemon's")
    a = ap.parse_args()
    if not a.postgres:
        sys.exit("bench/cluster: needs PostgreSQL: --postgres CONN or DF_TEST_POSTGRES (bench/cluster starts one when it can)")
    work = tempfile.mkdtemp(prefix="df-cluster-bench-")
    load = os.getloadavg()
    rows, base = [], []
    try:
        for n in range(a.rounds * (2 if a.compare else 1)):
            baseline = a.compare and n % 2 == 0
            r = round_once(n, a.postgres, a.stable_after, work, a.restarts, BASELINE if baseline else "")
            r.update(r.pop("term"))
            (base if baseline else rows).append(r)
            lat = r["latency"]
            print(f"round {n + 1}{' (baseline)' if baseline else ''}: formation {r['formation']:.2f} s (join {r['join']:.2f} s); SIGKILL n1 -> runs gone {r['runs']:.2f} s, "
                  f"removed {r['removed']:.2f} s, move agent running {r['moved']:.2f} s, coordinator placing {r['coordinator']:.2f} s, scheduler answering {r['scheduler']:.2f} s; "
                  f"SIGTERM the coordinator's node -> exited {r['term_exited']:.2f} s, removed {r['term_removed']:.2f} s, "
                  f"coordinator on the other {r['term_coordinator']:.2f} s, scheduler answering there {r['term_scheduler']:.2f} s"
                  + (f", move agent running {r['term_moved']:.2f} s" if "term_moved" in r else "")
                  + f"; lifecycle event latency over {lat['events']} events (missed by n1: {lat['missed']}): n2's own SSE p50 "
                  f"{pct(lat['local'], 50) * 1000:.1f} ms p99 {pct(lat['local'], 99) * 1000:.1f} ms, n1's SSE p50 {pct(lat['remote'], 50) * 1000:.1f} ms "
                  f"p99 {pct(lat['remote'], 99) * 1000:.1f} ms; on two nodes: {', '.join(r['overlaps']) or 'never'}", flush=True)
    except BaseException:
        print(f"bench/cluster: the daemons' logs are kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    after = os.getloadavg()

    def med(key, rows=rows):
        v = sorted(r[key] for r in rows)
        return v[len(v) // 2]

    if base:
        print(f"\nSIGKILL n1, median of {len(base)} each, alternating (load average {load[0]:.1f} before, {after[0]:.1f} after):")
        print("| timing | node removed | coordinator placing | scheduler answering | move agent running | on two nodes |")
        print("|---|---|---|---|---|---|")
        for label, rs in (("baseline: margin = stable-after, 1 s leader and reaper ticks", base), ("the daemon's (ClusterNodeOptions.Timing)", rows)):
            print(f"| {label} | {med('removed', rs):.2f} s | {med('coordinator', rs):.2f} s | {med('scheduler', rs):.2f} s | {med('moved', rs):.2f} s | "
                  f"{'never' if not any(r['overlaps'] for r in rs) else 'YES'} |")

    print(f"\nmedian of {len(rows)} (stable-after {a.stable_after}; load average {load[0]:.1f} before, {after[0]:.1f} after):")
    print("| formation (3 nodes) | join (n2, n3) | runs gone after SIGKILL | node removed | move agent running | coordinator placing | scheduler answering | on two nodes |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {med('formation'):.2f} s | {med('join'):.2f} s | {med('runs'):.2f} s | {med('removed'):.2f} s | {med('moved'):.2f} s | "
          f"{med('coordinator'):.2f} s | {med('scheduler'):.2f} s | {'never' if not any(r['overlaps'] for r in rows) else 'YES'} |")
    print("\n| SIGTERM the coordinator's node: exited | removed | coordinator on the other | scheduler answering there |")
    print("|---|---|---|---|")
    print(f"| {med('term_exited'):.2f} s | {med('term_removed'):.2f} s | {med('term_coordinator'):.2f} s | {med('term_scheduler'):.2f} s |")
    local = [x for r in rows for x in r["latency"]["local"]]
    remote = [x for r in rows for x in r["latency"]["remote"]]
    print(f"\n| lifecycle event -> SSE client ({len(local)} events, all rounds) | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(f"| same node (n2's event on n2's /api/events) | {pct(local, 50) * 1000:.1f} ms | {pct(local, 99) * 1000:.1f} ms | {max(local) * 1000:.1f} ms |")
    print(f"| across nodes (n2's event on n1's /api/events) | {pct(remote, 50) * 1000:.1f} ms | {pct(remote, 99) * 1000:.1f} ms | {max(remote) * 1000:.1f} ms |")
    print(f"events n2's client saw and n1's did not: {sum(r['latency']['missed'] for r in rows)}")
    return 1 if any(r["overlaps"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
