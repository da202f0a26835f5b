#!/usr/bin/env python3
"""Placement of many agents over a three-node cluster, next to one node running them (issue 17; docs/benchmarks.md,
"Cluster").

    bench/cluster --placement [--agents 300] [--rounds 3] [--postgres CONN]

Each round, on 127.0.0.1, the same fleet of --agents silent agents (`sleep`, safety layer, autostart, no pin):
  one node    one `df up` (the single-node default: SQLite) -> time from the launch until every agent's run marker
              is in /proc
  cluster     three `df up --node` on one fresh PostgreSQL database, launched together, each node with roles
              control+agents and max_agents = ceil(agents / 3) (a node joining takes no agent from another, so the
              limit is what spreads them) -> time until all three members are up, and until every agent runs, each
              on one node; the agents per node; and at every sample, no agent under two nodes' data directories
Run markers are read from /proc (DF_RUN=<daemon id>/<agent>/...), as bench/cluster does; a sample takes ~10–40 ms
with hundreds of processes, so times are good to about 0.1 s.
"""
import math, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as c  # noqa: E402  the cluster bench's helpers (api, until, psql, daemon ids, free ports)


def fleet(agents, nodes):
    y = ["version: 1"]
    if nodes:
        cap = math.ceil(agents / nodes)
        y += ["cluster:", "  split_brain: keep-majority", "  nodes:"]
        y += [f"    - {{ name: n{i + 1}, roles: [control, agents], max_agents: {cap} }}" for i in range(nodes)]
    y += ["agents:"]
    for k in range(agents):
        y += [f"  - name: a{k:03d}", "    layer: safety", '    command: ["sleep", "3600"]', "    restart: permanent",
              "    autostart: true", "    grace: 2s"]
    return "\n".join(y) + "\n"


def running(ids):
    """agent -> the indexes of the daemons (by id) that run it, from every live process's DF_RUN marker."""
    where = {}
    index = {d: i for i, d in enumerate(ids)}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            env = open(f"/proc/{p}/environ", "rb").read()
        except OSError:
            continue
        for e in env.split(b"\0"):
            if e.startswith(b"DF_RUN="):
                parts = e[7:].decode(errors="replace").split("/")
                if len(parts) >= 2 and parts[0] in index:
                    where.setdefault(parts[1], set()).add(index[parts[0]])
                break
    return where


def one_node(n, agents, work):
    fleet_path = os.path.join(work, f"one-{n}.yaml")
    open(fleet_path, "w").write(fleet(agents, 0))
    data = os.path.join(work, f"one-{n}")
    os.makedirs(data)
    ids = [c.daemon_id(data)]
    log = open(os.path.join(work, f"one-{n}.log"), "w")
    t0 = time.monotonic()
    procs = [subprocess.Popen(["dotnet", c.dll, "up", "--fleet", fleet_path, "--data-dir", data, "--listen", "127.0.0.1:0"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]
    try:
        c.until(lambda: len(running(ids)) == agents, 300, f"{agents} agents running on one node")
        return time.monotonic() - t0
    finally:
        c.stop_all(procs, ids, timeout=120)


def three_nodes(n, agents, conn, work):
    host, port, user = c.pg_args(conn)
    db = f"df_bench_placement_{os.getpid()}_{n}"
    subprocess.run([c.psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"create database {db}"], check=True)
    conn_db = re.sub(r"(?i)database=[^;]*", f"Database={db}", conn) if re.search(r"(?i)database=", conn) else conn + f";Database={db}"
    fleet_path = os.path.join(work, f"three-{n}.yaml")
    open(fleet_path, "w").write(fleet(agents, 3))
    ports = c.free_ports(3)
    datas = [os.path.join(work, f"three-{n}-n{i + 1}") for i in range(3)]
    ids = [c.daemon_id(d) for d in datas]
    procs = []
    overlaps = set()
    marks = {}
    try:
        t0 = time.monotonic()
        for i in range(3):
            os.makedirs(datas[i])
            log = open(os.path.join(work, f"three-{n}-n{i + 1}.log"), "w")
            procs.append(subprocess.Popen(["dotnet", c.dll, "up", "--fleet", fleet_path, "--data-dir", datas[i], "--listen", "127.0.0.1:0",
                                           "--node", f"n{i + 1}", "--cluster-port", str(ports[i]), "--seed", f"127.0.0.1:{ports[0]}",
                                           "--postgres", conn_db], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

        def sample():
            where = running(ids)
            overlaps.update(a for a, nodes in where.items() if len(nodes) > 1)
            if "up" not in marks:
                try:
                    if all(sum(1 for m in c.api(d, "/api/cluster")["members"] if m["status"] == "up") == 3 for d in datas):
                        marks["up"] = time.monotonic() - t0
                except (OSError, ValueError, KeyError):
                    pass
            if "first" not in marks and where:
                marks["first"] = time.monotonic() - t0
            return len(where) == agents and "up" in marks

        c.until(sample, 300, f"{agents} agents running over three nodes")
        marks["all"] = time.monotonic() - t0
        where = running(ids)
        marks["per_node"] = [sum(1 for nodes in where.values() if i in nodes) for i in range(3)]
        marks["overlaps"] = sorted(overlaps)
        return marks
    finally:
        c.stop_all(procs, ids, timeout=120)
        subprocess.run([c.psql(), "-h", host, "-p", port, "-U", user, "-d", "postgres", "-qc", f"drop database if exists {db} with (force)"], check=False)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="bench/cluster --placement")
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("DF_TEST_POSTGRES"))
    a = ap.parse_args(argv)
    if not a.postgres:
        sys.exit("bench/cluster --placement: needs PostgreSQL: --postgres CONN or DF_TEST_POSTGRES")
    work = tempfile.mkdtemp(prefix="df-placement-bench-")
    load = os.getloadavg()
    ones, threes = [], []
    try:
        for n in range(a.rounds):
            # taking turns: one node first in even rounds, the cluster first in odd ones
            order = [lambda: ones.append(one_node(n, a.agents, work)), lambda: threes.append(three_nodes(n, a.agents, a.postgres, work))]
            for run in (order if n % 2 == 0 else order[::-1]):
                run()
            r = threes[-1]
            print(f"round {n + 1}: one node: all {a.agents} running {ones[-1]:.2f} s; three nodes: members up {r['up']:.2f} s, "
                  f"first agent {r['first']:.2f} s, all {a.agents} running {r['all']:.2f} s, per node {r['per_node']}, "
                  f"on two nodes: {', '.join(r['overlaps']) or 'never'}", flush=True)
    except BaseException:
        print(f"bench/cluster --placement: the daemons' logs are kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    after = os.getloadavg()

    def med(v):
        v = sorted(v)
        return v[len(v) // 2]

    print(f"\nmedian of {a.rounds} ({a.agents} agents; load average {load[0]:.1f} before, {after[0]:.1f} after):")
    print("| one node (SQLite): all running | three nodes (PostgreSQL): members up | first agent | all running | per node (last round) | on two nodes |")
    print("|---|---|---|---|---|---|")
    print(f"| {med(ones):.2f} s | {med([r['up'] for r in threes]):.2f} s | {med([r['first'] for r in threes]):.2f} s | "
          f"{med([r['all'] for r in threes]):.2f} s | {threes[-1]['per_node']} | {'never' if not any(r['overlaps'] for r in threes) else 'YES'} |")
    return 1 if any(r["overlaps"] for r in threes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
