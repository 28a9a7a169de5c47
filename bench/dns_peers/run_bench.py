#!/usr/bin/env python3
"""bench/dns_peers: rbldnsd, NSD, Knot and `v6bl serve` answering the same listed /64s.

Run by hand (docs/server.md "Benchmark"). Each server is pinned to CPU 1, dnsperf to CPU 0;
the same query file (half listed, half random) for a fixed duration. Prints qps, loss,
server CPU microseconds per answered query ((utime+stime) delta from /proc / completed) and
RSS for each, and the ratios v6bl/peer.

  bench/dns_peers/run_bench.py --v6bl build/tools/v6bl --listings 1000000 --duration 15
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from loopback_port import free_port  # noqa: E402

ZONE = "dnsbl6.example.org"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def nibbles(addr_int, n=32):
    h = "%032x" % addr_int
    return ".".join(reversed(h[:n])) + "." + ZONE


def make_data(work, count, queries, seed=1):
    rng = random.Random(seed)
    listed = set()
    while len(listed) < count:
        listed.add((1 << 61) | rng.getrandbits(61))  # /64s in 2000::/3
    listed = list(listed)
    with open(os.path.join(work, "listings.txt"), "w") as f:
        for h in listed:
            f.write("%x:%x:%x:%x::/64 127.0.0.2\n" % ((h >> 48) & 0xffff, (h >> 32) & 0xffff,
                                                      (h >> 16) & 0xffff, h & 0xffff))
    listed_set = set(listed)
    with open(os.path.join(work, "queries.txt"), "w") as f:
        for i in range(queries):
            if i % 2 == 0:
                h = listed[rng.randrange(len(listed))]
            else:
                h = (1 << 61) | rng.getrandbits(61)
                while h in listed_set:
                    h = (1 << 61) | rng.getrandbits(61)
            f.write(nibbles((h << 64) | rng.getrandbits(64)) + " A\n")


def tree_pids(root):
    pids = {root}
    changed = True
    while changed:
        changed = False
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            if ppid in pids and int(d) not in pids:
                pids.add(int(d))
                changed = True
    return pids


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total


def rss_mb(pids):
    best = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            best = max(best, int(m.group(1)) if m else 0)
        except OSError:
            pass
    return best / 1024.0


def answers(port, name):
    out = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(port), name, "A"],
                         capture_output=True, text=True).stdout
    return out.strip()


def wait_up(port, proc, limit):
    probe = nibbles(((0xffff << 32) | 0x7f000002), 32)  # ::ffff:127.0.0.2 test point
    probe = ".".join(reversed("%032x" % 0x00000000000000000000ffff7f000002)) + "." + ZONE
    end = time.time() + limit
    while time.time() < end:
        if proc.poll() is not None:
            return False
        if answers(port, probe) == "127.0.0.2":
            return True
        time.sleep(0.5)
    return False


def run_dnsperf(port, queries, duration):
    out = subprocess.run(["taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
                          "-l", str(duration), "-c", "1", "-q", "200"],
                         capture_output=True, text=True).stdout

    def num(label):
        m = re.search(label + r":\s+([\d.]+)", out)
        return float(m.group(1)) if m else 0.0
    return {"sent": num("Queries sent"), "completed": num("Queries completed"),
            "lost": num("Queries lost"), "qps": num("Queries per second"), "raw": out}


def measure(name, argv, port, work, queries, duration, load_limit, env=None):
    log = open(os.path.join(work, name + ".log"), "w")
    t0 = time.time()
    proc = subprocess.Popen(["taskset", "-c", "1"] + argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        if not wait_up(port, proc, load_limit):
            return {"name": name, "error": "did not come up (see %s.log)" % name}
        load_s = time.time() - t0
        pids = tree_pids(proc.pid)
        # A short warm-up so page faults of the first queries do not count.
        run_dnsperf(port, queries, 2)
        c0 = cpu_ticks(pids)
        r = run_dnsperf(port, queries, duration)
        c1 = cpu_ticks(pids)
        r.update({"name": name, "load_s": load_s, "rss_mb": rss_mb(pids),
                  "cpu_us": (c1 - c0) * 1e6 / CLK_TCK / max(r["completed"], 1)})
        return r
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--v6bl", default="build/tools/v6bl")
    ap.add_argument("--listings", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=1000000, help="distinct queries in the file")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--servers", default="rbldnsd,nsd,knot,v6bl")
    ap.add_argument("--work", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the listings, store and exports already in --work")
    ap.add_argument("--prepare-only", action="store_true", help="make the data and stop")
    a = ap.parse_args()
    v6bl = os.path.abspath(a.v6bl)
    work = a.work or tempfile.mkdtemp(prefix="v6bl-bench-")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    print("work dir %s, %d listed /64s, %d s per server" % (work, a.listings, a.duration), flush=True)
    t = time.time()
    db = os.path.join(work, "db")
    servers = a.servers.split(",")
    if a.reuse and os.path.exists(os.path.join(db, "CURRENT")):
        print("reusing the data in %s" % work, flush=True)
    else:
        make_data(work, a.listings, a.queries)
        shutil.rmtree(db, ignore_errors=True)
        subprocess.run([v6bl, "import", "--db", db, os.path.join(work, "listings.txt")], check=True)
    if ("nsd" in servers or "knot" in servers) and not (a.reuse and os.path.exists(os.path.join(work, "zone.txt"))):
        subprocess.run([v6bl, "export", "--db", db, "--zone", ZONE, "--format", "zone",
                        "--out", os.path.join(work, "zone.txt")], check=True)
    if "rbldnsd" in servers and not (a.reuse and os.path.exists(os.path.join(work, "data.rbl"))):
        subprocess.run([v6bl, "export", "--db", db, "--zone", ZONE, "--format", "rbldnsd",
                        "--out", os.path.join(work, "data.rbl")], check=True)
    for f in os.listdir(work):
        os.chmod(os.path.join(work, f), 0o755 if os.path.isdir(os.path.join(work, f)) else 0o644)
    print("data ready in %.0f s" % (time.time() - t), flush=True)
    if a.prepare_only:
        return 0
    queries = os.path.join(work, "queries.txt")
    results = []
    for name in servers:
        port = free_port()
        if name == "rbldnsd":
            argv = ["rbldnsd", "-n", "-u", "rbldns", "-w", work, "-b", "127.0.0.1/%d" % port, "-t", "300",
                    "%s:ip6trie:data.rbl" % ZONE]
        elif name == "nsd":
            conf = os.path.join(work, "nsd.conf")
            with open(conf, "w") as f:
                f.write("server:\n  ip-address: 127.0.0.1@%d\n  port: %d\n  username: \"\"\n  chroot: \"\"\n"
                        "  zonesdir: \"%s\"\n  database: \"\"\n  pidfile: \"%s/nsd.pid\"\n"
                        "  xfrdfile: \"%s/xfrd.state\"\n  zonelistfile: \"%s/zone.list\"\n"
                        "  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 0\n"
                        "remote-control:\n  control-enable: no\nzone:\n  name: %s\n  zonefile: \"%s/zone.txt\"\n"
                        % (port, port, work, work, work, work, ZONE, work))
            argv = ["nsd", "-d", "-c", conf]
        elif name == "knot":
            kd = os.path.join(work, "knot")
            os.makedirs(kd, exist_ok=True)
            conf = os.path.join(work, "knot.conf")
            with open(conf, "w") as f:
                f.write("server:\n  rundir: \"%s\"\n  listen: 127.0.0.1@%d\n  udp-workers: 1\n  tcp-workers: 1\n"
                        "  background-workers: 1\n  user: root\n"
                        "database:\n  storage: \"%s\"\n"
                        "template:\n  - id: default\n    storage: \"%s\"\n    zonefile-sync: -1\n"
                        "    journal-content: none\n    semantic-checks: off\n"
                        "zone:\n  - domain: %s\n    file: \"%s/zone.txt\"\n" % (kd, port, kd, kd, ZONE, work))
            argv = ["knotd", "-c", conf]
        elif name == "v6bl":
            argv = [v6bl, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port, "--threads", "1",
                    "--log-level", "warn"]
        else:
            print("unknown server " + name)
            continue
        print("measuring %s ..." % name, flush=True)
        r = measure(name, argv, port, work, queries, a.duration, 900)
        results.append(r)
        if "error" in r:
            print("  %s: %s" % (name, r["error"]), flush=True)
        else:
            print("  %s: %.0f qps, lost %d, %.2f us CPU/query, RSS %.0f MB, loaded in %.0f s"
                  % (name, r["qps"], r["lost"], r["cpu_us"], r["rss_mb"], r["load_s"]), flush=True)

    print()
    print("| server | qps | completed | lost | server CPU us/query | RSS MB | load s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "error" in r:
            print("| %s | %s | | | | | |" % (r["name"], r["error"]))
        else:
            print("| %s | %.0f | %d | %d | %.2f | %.0f | %.0f |" % (r["name"], r["qps"], r["completed"], r["lost"],
                                                                   r["cpu_us"], r["rss_mb"], r["load_s"]))
    ours = next((r for r in results if r["name"] == "v6bl" and "error" not in r), None)
    if ours:
        print()
        print("| v6bl / peer | qps | CPU per query | RSS |")
        print("| --- | ---: | ---: | ---: |")
        for r in results:
            if r is ours or "error" in r:
                continue
            print("| v6bl / %s | %.2f | %.2f | %.2f |" % (r["name"], ours["qps"] / max(r["qps"], 1),
                                                         ours["cpu_us"] / max(r["cpu_us"], 1e-9),
                                                         ours["rss_mb"] / max(r["rss_mb"], 1e-9)))
    if not a.keep and not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
