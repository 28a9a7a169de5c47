"""A loopback port for the benchmark's servers, shared by the Python benchmarks.

Chosen below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from inside
it can be taken as a client socket's source port while a server restarts (a TCP connect to a
closed port even connects to itself), and the server then cannot bind it again.
"""
import random
import socket


def _usable_range():
    low, high = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    if low >= 12000:
        return 10000, low
    if high < 64000:
        return high + 1, 65535
    return 10000, 32768


def free_port():
    """A port free on 127.0.0.1 and ::1 over UDP and TCP at the time of the call."""
    low, high = _usable_range()
    for _ in range(1000):
        port = random.randrange(low, high)
        ok = True
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, typ)
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                except OSError:
                    ok = False
                finally:
                    s.close()
        if ok:
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")
