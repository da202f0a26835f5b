#!/usr/bin/env python3
"""A network partition of a three-node cluster, made with Linux network namespaces (issue 17; docs/cluster.md,
"A network partition"; figures in docs/benchmarks.md, "Cluster").

    bench/cluster --partition [--rounds N] [--keep-logs]

Needs root (ip netns, a throw-away PostgreSQL run as the postgres user) and iproute2. No iptables: each node runs in a
network namespace of its own (dfp-nN-PID) with two links:
  cluster  a veth to a bridge in a hub namespace (dfp-hub-PID): Akka.Remote binds 10.0.0.N:4053 on it
  store    a veth to the host's namespace, 10.1.N.2 (the host's end 10.1.N.1): PostgreSQL (a server of its own on the
           hosts's ends of these links) and the node's HTTP API (--listen 10.1.N.2:7781), which this script polls
Cutting n1's cluster link in the hub (`ip link set ... down`) partitions the cluster into {n1} and {n2, n3}; each
side still reaches the store. Each round, with the daemon's own failure-detection timing (no DF_HOCON):
  form       n1 (the seed, control+agents) starts and runs the three agents (failover move, stay, never) and the
             singletons; n2 and n3 join (control+agents); a cron agent pinned to n2 fires every 2 s
  partition  cut n1's link and time, from the cut:
               n1 sees the others unreachable, n1's daemon exits (keep-majority: the minority downs itself and runs its
               coordinated shutdown, which drains its agents), n1's runs gone;
               n2 sees n1 unreachable, n1 removed, the move agent running on n2 or n3, the coordinator placing again on
               n2, the scheduler answering on n2;
             and at every sample (~every 20-50 ms), which agents run on two nodes (their run markers in /proc)
  heal       restore the link, start n1 again (same address and data directory, seeds n2 and n3): three members up on every node,
             n1's stay agent running on n1 again; never two copies
Namespaces, links and the PostgreSQL server are removed at the end (also on Ctrl-C).
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as c  # noqa: E402  the cluster bench's helpers (markers, until, stop_all, daemon ids)

PORT = 4053
API = 7781


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


class Net:
    """The namespaces and links of one run; remove() undoes them."""

    def __init__(self):
        self.tag = str(os.getpid() % 100000)
        self.hub = f"dfp-hub-{self.tag}"
        self.ns = [f"dfp-n{i}-{self.tag}" for i in (1, 2, 3)]
        self.host_ends = []

    def make(self):
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ns, start=1):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # cluster link: cN in the node's namespace, hN on the hub's bridge
            sh("ip", "link", "add", f"dfc{i}x{self.tag}", "type", "veth", "peer", "name", f"dfh{i}x{self.tag}")
            sh("ip", "link", "set", f"dfc{i}x{self.tag}", "netns", ns, "name", "c0")
            sh("ip", "link", "set", f"dfh{i}x{self.tag}", "netns", self.hub, "name", f"h{i}")
            sh("ip", "-n", self.hub, "link", "set", f"h{i}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"10.0.0.{i}/24", "dev", "c0")
            sh("ip", "-n", ns, "link", "set", "c0", "up")
            # store link: sN in the node's namespace, the host's end keeps its name
            host_end = f"dfs{i}x{self.tag}"
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", f"dfq{i}x{self.tag}")
            self.host_ends.append(host_end)
            sh("ip", "link", "set", f"dfq{i}x{self.tag}", "netns", ns, "name", "s0")
            sh("ip", "addr", "add", f"10.1.{i}.1/24", "dev", host_end)
            sh("ip", "link", "set", host_end, "up")
            sh("ip", "-n", ns, "addr", "add", f"10.1.{i}.2/24", "dev", "s0")
            sh("ip", "-n", ns, "link", "set", "s0", "up")

    def cut(self, i, up=False):
        """n{i}'s cluster link down (a partition of {n_i} from the others) or up again."""
        sh("ip", "-n", self.hub, "link", "set", f"h{i}", "up" if up else "down")

    def remove(self):
        for end in self.host_ends:
            sh("ip", "link", "del", end, check=False)
        for ns in self.ns + [self.hub]:
            sh("ip", "netns", "del", ns, check=False)


class Store:
    """A throw-away PostgreSQL on the host's ends of the store links (and 127.0.0.1 for psql here)."""

    def __init__(self):
        found = sorted(d for d in os.listdir("/usr/lib/postgresql") if os.path.exists(f"/usr/lib/postgresql/{d}/bin/initdb"))
        self.bin = f"/usr/lib/postgresql/{found[-1]}/bin"
        self.dir = tempfile.mkdtemp(prefix="df-partition-pg.")
        self.port = str(c.free_ports(1)[0])
        shutil.chown(self.dir, "postgres")

    def start(self):
        su = lambda cmd: subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd], check=True, capture_output=True)
        su(f"{self.bin}/initdb -D {self.dir}/data -A trust -U postgres")
        with open(f"{self.dir}/data/pg_hba.conf", "a") as hba:
            hba.write("host all all 10.1.0.0/16 trust\n")
        listen = ",".join(["127.0.0.1"] + [f"10.1.{i}.1" for i in (1, 2, 3)])
        su(f"{self.bin}/pg_ctl -D {self.dir}/data -l {self.dir}/log -w -o '-p {self.port} -k {self.dir} -c listen_addresses={listen}' start")

    def conn(self, i, db):
        return f"Host=10.1.{i}.1;Port={self.port};Username=postgres;Database={db}"

    def psql(self, sql):
        subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)

    def stop(self):
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", f"{self.bin}/pg_ctl -D {self.dir}/data -m fast -w stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def api(i, path):
    req = urllib.request.Request(f"http://10.1.{i + 1}.2:{API}{path}", headers={"Authorization": "Bearer " + TOKENS[i]})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


TOKENS = {}


def round_once(n, net, store, work):
    db = f"df_partition_{os.getpid()}_{n}"
    store.psql(f"create database {db}")
    fleet_path = os.path.join(work, "fleet.yaml")
    open(fleet_path, "w").write(c.fleet())
    datas = [os.path.join(work, f"n{i + 1}-{n}") for i in range(3)]
    ids = [c.daemon_id(d) for d in datas]
    procs = [None, None, None]

    def launch(i, seeds=(1,)):
        os.makedirs(datas[i], exist_ok=True)
        if os.path.exists(os.path.join(datas[i], "daemon.json")):
            os.remove(os.path.join(datas[i], "daemon.json"))
        log = open(os.path.join(work, f"n{i + 1}-{n}.log"), "a")
        env = {k: v for k, v in os.environ.items() if k != "DF_HOCON"}
        procs[i] = subprocess.Popen(["ip", "netns", "exec", net.ns[i], "dotnet", c.dll, "up", "--fleet", fleet_path, "--data-dir", datas[i],
                                     "--listen", f"10.1.{i + 1}.2:{API}", "--allow-remote", "--node", f"n{i + 1}", "--cluster-host", f"10.0.0.{i + 1}",
                                     "--cluster-port", str(PORT), *[x for s in seeds for x in ("--seed", f"10.0.0.{s}:{PORT}")], "--postgres", store.conn(i + 1, db)],
                                    stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

        def ready():
            TOKENS[i] = json.load(open(os.path.join(datas[i], "daemon.json")))["token"]
            return True

        c.until(ready, 120, f"n{i + 1}'s daemon.json")

    def holders(agent, nodes=range(3)):
        return [i for i in nodes if c.marked(f"{ids[i]}/{agent}/")]

    def up_everywhere(nodes):
        return all(sum(1 for m in api(i, "/api/cluster")["members"] if m["status"] == "up") == len(nodes) for i in nodes)

    overlaps = {}

    def sample():
        for a in [a for a, _ in c.AGENTS] + ["blinker"]:
            if len(holders(a)) > 1:
                overlaps[a] = overlaps.get(a, 0) + 1

    try:
        launch(0)
        c.until(lambda: all(holders(a) == [0] for a, _ in c.AGENTS), 120, "the three agents running on n1")
        launch(1)
        launch(2)
        c.until(lambda: up_everywhere(range(3)), 180, "three members up on every node")
        view = api(1, "/api/cluster")
        assert view["singletons"]["placement"] == "n1", view
        epoch = view["epoch"]

        net.cut(1)
        k = time.monotonic()
        marks = {}

        def partitioned():
            sample()
            now = time.monotonic() - k
            if "n1_sees_unreachable" not in marks and procs[0].poll() is None:
                try:
                    if any(m["status"] == "unreachable" for m in api(0, "/api/cluster")["members"]):
                        marks["n1_sees_unreachable"] = now
                except (OSError, ValueError):
                    pass
            if "n1_exited" not in marks and procs[0].poll() is not None:
                marks["n1_exited"] = now
            if "n1_runs_gone" not in marks and not c.marked(ids[0] + "/"):
                marks["n1_runs_gone"] = now
            v = api(1, "/api/cluster")
            members = {m["node"]: m["status"] for m in v["members"]}
            if "n2_sees_unreachable" not in marks and members.get("n1") == "unreachable":
                marks["n2_sees_unreachable"] = now
            if "n1_removed" not in marks and "n1" not in members:
                marks["n1_removed"] = now
            if "coordinator" not in marks and v["epoch"] > epoch and v["singletons"].get("placement") == "n2":
                marks["coordinator"] = now
            if "moved" not in marks and holders("mover", [1, 2]):
                marks["moved"] = now
            if "scheduler" not in marks:
                try:
                    if any(a["agent"] == "cron" for a in api(1, "/api/schedule")):
                        marks["scheduler"] = now
                except (OSError, ValueError):
                    pass
            return len(marks) == 8

        try:
            c.until(partitioned, 120, "the partition resolved (n1 down and exited, its agents moved, the singletons on n2)")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; reached: {marks}; logs in {work}") from e
        code = procs[0].returncode

        # heal: the link back, n1 started again on the same address and data directory
        # (seeds n2 and n3: a node whose first seed is itself joins itself when it starts, forming a second cluster;
        # the first run of this bench did that, docs/cluster.md "A network partition")
        net.cut(1, up=True)
        h = time.monotonic()
        launch(0, seeds=(2, 3))

        def healed():
            sample()
            return up_everywhere(range(3)) and holders("stayer") == [0]

        try:
            c.until(healed, 180, "three members up again and n1's stay agent running on n1")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; reached: {marks}, on two nodes: {overlaps}; logs in {work}") from e
        marks["healed"] = time.monotonic() - h
        for _ in range(50):  # a second more of samples: still one copy of each
            sample()
            time.sleep(0.02)
        return {**marks, "n1_exit_code": code, "overlaps": overlaps}
    finally:
        c.stop_all([p for p in procs if p is not None], ids)
        store.psql(f"drop database if exists {db} with (force)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep-logs", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("bench/cluster --partition: needs root and iproute2 (ip)", file=sys.stderr)
        return 2
    net, store = Net(), Store()
    work = tempfile.mkdtemp(prefix="df-partition.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load = os.getloadavg()
    rows = []
    try:
        net.make()
        store.start()
        for n in range(1, a.rounds + 1):
            r = round_once(n, net, store, work)
            rows.append(r)
            print(f"round {n}: " + ", ".join(f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()), flush=True)
    finally:
        net.remove()
        store.stop()
        if a.keep_logs:
            print(f"logs in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    after = os.getloadavg()
    keys = ["n1_sees_unreachable", "n2_sees_unreachable", "n1_exited", "n1_runs_gone", "n1_removed", "coordinator", "moved", "scheduler", "healed"]
    print(f"\nmedian of {len(rows)} (the daemon's own timing; load average {load[0]:.1f} before, {after[0]:.1f} after):")
    print("| " + " | ".join(keys) + " | agents on two nodes (samples) |")
    print("|" + "---|" * (len(keys) + 1))
    print("| " + " | ".join(f"{sorted(r[k] for r in rows)[len(rows) // 2]:.2f} s" for k in keys) + " | "
          + (", ".join(f"{a} {n}" for r in rows for a, n in r["overlaps"].items()) or "never") + " |")
    return 1 if any(r["overlaps"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
