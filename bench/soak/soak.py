#!/usr/bin/env python3
"""Soak test of `v6bl serve`: mixed valid and malformed queries over UDP and TCP at full rate.

Builds a store of random listed /64s with `v6bl import`, starts `v6bl serve` on loopback
(127.0.0.1 and ::1), then load processes (this script's children, separate from the server)
send for --duration seconds as fast as the server answers:

  UDP: a window of queries in flight on an IPv4 and an IPv6 socket; 80 % valid A queries
       (half for listed addresses, half unlisted), 20 % malformed (junk, cut, QR=1, bad opcode,
       trailing bytes, two questions, compression loops, oversized labels).
  TCP: connections to both addresses pipelining batches of the same mix, reconnecting every
       few batches; some connections end abruptly (half a message, a zero-length frame).

Every answer to a valid query is checked: a listed address gets NOERROR with A 127.0.0.<code>
of its listing, an unlisted one NXDOMAIN. The server's RSS (VmRSS) and open descriptors
(/proc/PID/fd) are sampled before the load, after a warm-up and at the end.

PASS when: zero wrong answers, RSS growth from before the load to the end <= --rss-limit-mb,
no descriptor growth from before the load to after it, and the server still running.
Only the Python 3 standard library is used.
"""

import argparse
import ipaddress
import multiprocessing
import os
import random
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from loopback_port import free_port  # noqa: E402

ZONE = "dnsbl6.example.org"
CODES = (2, 3, 4, 10)


# --- DNS wire helpers -----------------------------------------------------------------------

def wire_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def nibble_name(addr):
    hexs = ipaddress.IPv6Address(addr).exploded.replace(":", "")
    return ".".join(reversed(hexs)) + "." + ZONE


def query(qid, name, qtype=1, flags=0):
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + wire_name(name) + struct.pack(">HH", qtype, 1)


def malformed(rng, qid, name):
    """A query the server must survive: answered FORMERR/NOTIMP or dropped, never a crash."""
    q = query(qid, name)
    kind = rng.randrange(9)
    if kind == 0:
        return bytes([qid >> 8, qid & 0xFF]) + bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    if kind == 1:
        return q[: rng.randrange(2, len(q))]  # cut anywhere, even inside the header
    if kind == 2:
        return q[:2] + b"\x80\x00" + q[4:]  # QR=1: a response, must be dropped
    if kind == 3:
        return q[:2] + b"\x28\x00" + q[4:]  # opcode 5 (UPDATE): NOTIMP
    if kind == 4:
        return q + b"\xde\xad\xbe\xef"  # trailing bytes: FORMERR
    if kind == 5:
        return q[:4] + b"\x00\x02" + q[6:]  # QDCOUNT 2 with one question
    if kind == 6:
        return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"  # loop
    if kind == 7:
        return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + b"\x7f" + b"a" * 127 + b"\0\0\1\0\1"
    return q[:-4] + b"\x00\x01\x00\x03"  # class CH: REFUSED


def check_answer(resp, sent_question, expect):
    """None when the answer is right, else why not. `expect` = code (listed) or None."""
    if len(resp) < 12:
        return "short answer"
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", resp[:12])
    rcode = flags & 0xF
    if not flags & 0x8000:
        return "QR not set"
    if flags & 0x0080:
        return "RA set"
    if qd != 1 or resp[12 : 12 + len(sent_question)] != sent_question:
        return "question not echoed"
    if flags & 0x0200:
        return "truncated"
    if expect is None:
        return None if rcode == 3 else "rcode %d, expected NXDOMAIN" % rcode
    if rcode != 0 or an < 1:
        return "rcode %d an %d, expected a listing" % (rcode, an)
    p = 12 + len(sent_question)
    if resp[p : p + 2] != b"\xc0\x0c":
        return "answer owner is not the question"
    rtype, _, _, rdlen = struct.unpack(">HHIH", resp[p + 2 : p + 12])
    rdata = resp[p + 12 : p + 12 + rdlen]
    if rtype != 1 or rdata != bytes([127, 0, 0, expect]):
        return "wrong A record %r" % (rdata,)
    return None


# --- the test data --------------------------------------------------------------------------

class listings:
    def __init__(self, n, seed):
        rng = random.Random(seed)
        self.listed = {}  # /64 high 64 bits -> code
        while len(self.listed) < n:
            hi = (0x20010DB8 << 32) | rng.getrandbits(32)
            self.listed[hi] = rng.choice(CODES)
        self.keys = list(self.listed)

    def import_file(self, path):
        with open(path, "w") as f:
            for hi, code in self.listed.items():
                net = ipaddress.IPv6Network((hi << 64, 64))
                f.write("%s 127.0.0.%d soak\n" % (net, code))

    def pick(self, rng):
        """(name, expected code or None)."""
        if rng.random() < 0.5:
            hi = rng.choice(self.keys)
            return nibble_name(ipaddress.IPv6Address((hi << 64) | rng.getrandbits(64))), self.listed[hi]
        while True:
            hi = (0x20010DB8 << 32) | rng.getrandbits(32) if rng.random() < 0.5 else (0x20010DB9 << 32) | rng.getrandbits(32)
            if hi not in self.listed:
                return nibble_name(ipaddress.IPv6Address((hi << 64) | rng.getrandbits(64))), None


# --- load processes -------------------------------------------------------------------------

def new_stats():
    return {"sent": 0, "valid": 0, "ok": 0, "wrong": 0, "lost": 0, "malformed": 0,
            "malformed_answered": 0, "connect_errors": 0, "tcp_connections": 0, "tcp_aborted": 0, "examples": []}


def wrong(stats, why):
    stats["wrong"] += 1
    if len(stats["examples"]) < 5:
        stats["examples"].append(why)


def udp_load(port, data, seconds, seed, window, out):
    rng = random.Random(seed)
    stats = new_stats()
    socks = []
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    pending = [dict(), dict()]  # per socket: id -> (question, expect, deadline)
    next_id = [1, 1]
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        sending = now < end
        for i, s in enumerate(socks):
            while sending and len(pending[i]) < window:
                name, expect = data.pick(rng)
                if rng.random() < 0.2:
                    qid = 0x8000 | rng.getrandbits(15)  # ids of malformed queries: top bit set
                    pkt = malformed(rng, qid, name)
                    stats["malformed"] += 1
                else:
                    qid = next_id[i]
                    next_id[i] = next_id[i] % 0x7FFF + 1
                    if qid in pending[i]:
                        break
                    pkt = query(qid, name)
                    pending[i][qid] = (pkt[12:], expect, now + 2.0)
                    stats["valid"] += 1
                try:
                    s.send(pkt)
                    stats["sent"] += 1
                except (BlockingIOError, ConnectionRefusedError):
                    pending[i].pop(qid, None)
                    break
        if not sending and not any(pending):
            break
        for key, _ in sel.select(0.05):
            s = key.fileobj
            i = socks.index(s)
            while True:
                try:
                    resp = s.recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if len(resp) < 2:
                    continue
                qid = struct.unpack(">H", resp[:2])[0]
                if qid & 0x8000:
                    stats["malformed_answered"] += 1
                    continue
                p = pending[i].pop(qid, None)
                if p is None:
                    continue  # the answer to a query already counted lost
                why = check_answer(resp, p[0], p[1])
                if why:
                    wrong(stats, "udp: " + why)
                else:
                    stats["ok"] += 1
        now = time.monotonic()
        for i in range(2):
            late = [q for q, p in pending[i].items() if p[2] < now]
            for q in late:
                del pending[i][q]
                stats["lost"] += 1
    out.put(("udp", stats))


def read_frames(sock, buf, need, deadline):
    """Reads framed messages until `need` returns False or the deadline; yields messages."""
    msgs = []
    while need(msgs) and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return msgs, False
        if not chunk:
            return msgs, False
        buf.extend(chunk)
        while len(buf) >= 2:
            n = struct.unpack(">H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            msgs.append(bytes(buf[2 : 2 + n]))
            del buf[: 2 + n]
    return msgs, True


def tcp_load(port, data, seconds, seed, out):
    rng = random.Random(seed)
    stats = new_stats()
    end = time.monotonic() + seconds
    host_cycle = ["127.0.0.1", "::1"]
    qid = 1
    while time.monotonic() < end:
        host = host_cycle[stats["tcp_connections"] % 2]
        try:
            sock = socket.create_connection((host, port), timeout=2)
        except OSError as e:
            stats["connect_errors"] += 1
            if len(stats["examples"]) < 5:
                stats["examples"].append("tcp connect: %s" % e)
            time.sleep(0.1)
            continue
        stats["tcp_connections"] += 1
        sock.settimeout(0.5)
        r = rng.random()
        if r < 0.05:
            # Ends abruptly: half a message, or a zero-length frame (the server closes).
            q = query(1, data.pick(rng)[0])
            sock.sendall(struct.pack(">H", len(q)) + q[: len(q) // 2] if r < 0.025 else b"\0\0")
            sock.close()
            stats["tcp_aborted"] += 1
            continue
        buf = bytearray()
        alive = True
        for _ in range(rng.randrange(1, 20)):
            if not alive or time.monotonic() >= end:
                break
            batch = b""
            expected = {}
            for _ in range(rng.randrange(1, 40)):
                name, expect = data.pick(rng)
                if rng.random() < 0.2:
                    m = malformed(rng, 0x8000 | rng.getrandbits(15), name)
                    if len(m) < 12:
                        m = m + b"\0" * (12 - len(m))  # framing stays intact; content is junk
                    batch += struct.pack(">H", len(m)) + m
                    stats["malformed"] += 1
                else:
                    qid = qid % 0x7FFF + 1
                    q = query(qid, name)
                    expected[qid] = (q[12:], expect)
                    batch += struct.pack(">H", len(q)) + q
                    stats["valid"] += 1
                stats["sent"] += 1
            try:
                sock.sendall(batch)
            except OSError as e:
                wrong(stats, "tcp send: %s" % e)
                break
            answered = 0

            def need(msgs):
                return sum(1 for m in msgs if len(m) >= 2 and not m[0] & 0x80) < len(expected)

            msgs, alive = read_frames(sock, buf, need, time.monotonic() + 3)
            for m in msgs:
                q = struct.unpack(">H", m[:2])[0]
                if q & 0x8000:
                    stats["malformed_answered"] += 1
                    continue
                p = expected.pop(q, None)
                if p is None:
                    wrong(stats, "tcp: unexpected id %d" % q)
                    continue
                why = check_answer(m, p[0], p[1])
                if why:
                    wrong(stats, "tcp: " + why)
                else:
                    stats["ok"] += 1
                    answered += 1
            stats["lost"] += len(expected)
        sock.close()
    out.put(("tcp", stats))


# --- the server process ---------------------------------------------------------------------

def proc_sample(pid):
    """(RSS in MB, open descriptors); NaN and -1 when the process is gone."""
    rss, fds = float("nan"), -1
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024.0
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        pass
    return rss, fds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--v6bl", required=True, help="path to the v6bl binary")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before the mid sample")
    ap.add_argument("--listings", type=int, default=5000)
    ap.add_argument("--udp-processes", type=int, default=1)
    ap.add_argument("--tcp-processes", type=int, default=1)
    ap.add_argument("--window", type=int, default=64, help="UDP queries in flight per socket")
    ap.add_argument("--threads", type=int, default=1, help="serve --threads")
    ap.add_argument("--rss-limit-mb", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="v6bl-soak-")
    server = None
    try:
        data = listings(args.listings, args.seed)
        data.import_file(os.path.join(work, "listings.txt"))
        subprocess.run([args.v6bl, "import", "--db", os.path.join(work, "db"),
                        os.path.join(work, "listings.txt")], check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen(
            [args.v6bl, "serve", "--db", os.path.join(work, "db"), "--threads", str(args.threads),
             "--listen", "127.0.0.1:%d" % port, "--listen", "[::1]:%d" % port,
             "--scratch-dir", os.path.join(work, "scratch"),
             # the ACL on (every query passes it), to soak that path too
             "--allow-query", "127.0.0.0/8", "--allow-query", "::1"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        # a whole line: "ready" must not match "Address already in use"
        while "\nready\n" not in "\n" + open(os.path.join(work, "serve.log")).read():
            if server.poll() is not None or time.monotonic() > deadline:
                print(open(os.path.join(work, "serve.log")).read())
                print("FAIL: v6bl serve did not start")
                return 1
            time.sleep(0.05)

        rss0, fd0 = proc_sample(server.pid)
        out = multiprocessing.Queue()
        procs = []
        for i in range(args.udp_processes):
            procs.append(multiprocessing.Process(
                target=udp_load, args=(port, data, args.duration, args.seed * 100 + i, args.window, out)))
        for i in range(args.tcp_processes):
            procs.append(multiprocessing.Process(
                target=tcp_load, args=(port, data, args.duration, args.seed * 100 + 50 + i, out)))
        t0 = time.monotonic()
        for p in procs:
            p.start()
        time.sleep(min(args.warmup, args.duration / 3))
        rss_warm, fd_warm = proc_sample(server.pid)
        results = [out.get(timeout=args.duration + 120) for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.monotonic() - t0
        # Let the server close what the clients closed, then sample.
        fd1 = fd_warm
        rss1 = float("nan")
        for _ in range(50):
            if server.poll() is not None:
                break
            rss1, fd1 = proc_sample(server.pid)
            if fd1 <= fd0:
                break
            time.sleep(0.1)
        alive = server.poll() is None
        if not alive:
            print("v6bl serve exited with status %s during the load" % server.returncode)

        total = new_stats()
        for kind, s in results:
            for k, v in s.items():
                total[k] = total[k] + v
            print("%-3s sent %8d  valid %8d  ok %8d  wrong %d  lost %d  malformed %d (answered %d)%s" % (
                kind, s["sent"], s["valid"], s["ok"], s["wrong"], s["lost"], s["malformed"],
                s["malformed_answered"],
                "  connections %d (aborted %d)" % (s["tcp_connections"], s["tcp_aborted"]) if kind == "tcp" else ""))
        qps = total["sent"] / elapsed
        print("duration %.1f s, %d queries sent (%.0f/s), %d valid answers checked, %d wrong, %d lost" % (
            elapsed, total["sent"], qps, total["ok"] + total["wrong"], total["wrong"], total["lost"]))
        for e in total["examples"]:
            print("  problem: " + e)
        print("server RSS MB: before %.1f, after warm-up %.1f, end %.1f (growth %.2f from before, %.2f from warm-up)" % (
            rss0, rss_warm, rss1, rss1 - rss0, rss1 - rss_warm))
        print("server open fds: before %d, during %d, end %d" % (fd0, fd_warm, fd1))
        failures = []
        if total["wrong"]:
            failures.append("%d wrong answers" % total["wrong"])
        if total["connect_errors"]:
            failures.append("%d TCP connections refused" % total["connect_errors"])
        if total["ok"] == 0:
            failures.append("no valid answer")
        if alive and rss1 - rss0 > args.rss_limit_mb:
            failures.append("RSS grew %.2f MB" % (rss1 - rss0))
        if alive and fd1 > fd0:
            failures.append("descriptors grew from %d to %d" % (fd0, fd1))
        if not alive:
            failures.append("v6bl serve exited")
        else:
            # A clean stop must exit 0 (under the sanitizers LeakSanitizer runs at this exit
            # and fails it if anything leaked).
            server.terminate()
            try:
                status = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                status = "none (still running 30 s after SIGTERM)"
            print("v6bl serve exit status after SIGTERM: %s" % status)
            if status != 0:
                failures.append("serve exited with status %s after SIGTERM" % status)
        print("FAIL: " + "; ".join(failures) if failures else "PASS")
        return 1 if failures else 0
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        if args.keep:
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
