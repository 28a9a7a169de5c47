#!/usr/bin/env bash
# CPU per answered query of `v6bl serve` with --metrics off and on, alternating in one run.
# Server pinned to CPU 1, dnsperf to CPU 0; server CPU = utime+stime from /proc/PID/stat
# over the dnsperf run; with metrics on, /metrics is scraped every second (15x Prometheus's
# default rate). Usage: bench/metrics/run.sh [path/to/v6bl] [seconds per run] [rounds]
set -euo pipefail
v6bl=${1:-build/tools/v6bl}
secs=${2:-10}
rounds=${3:-2}
listings=${V6BL_BENCH_LISTINGS:-100000}
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)"; exit 1; }
work=$(mktemp -d /tmp/v6bl-metrics-bench.XXXXXX)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
zone=dnsbl6.example.org

# $listings /64s under 2001:db8::/32; queries: half inside them, half outside (NXDOMAIN).
python3 - "$work" "$listings" "$zone" <<'PY'
import sys, random, ipaddress
work, n, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(64)
nets = set()
while len(nets) < n:
    nets.add(rnd.getrandbits(32))
def nibbles(addr):
    h = ipaddress.IPv6Address(addr).exploded.replace(":", "")
    return ".".join(reversed(h)) + "." + zone
with open(f"{work}/listings.txt", "w") as f:
    for x in nets:
        f.write(f"2001:db8:{x >> 16:x}:{x & 0xffff:x}::/64 127.0.0.2 bench\n")
listed = list(nets)
with open(f"{work}/queries.txt", "w") as f:
    for i in range(200000):
        if i % 2 == 0:
            x = rnd.choice(listed)
        else:
            x = rnd.getrandbits(32)
            while x in nets:
                x = rnd.getrandbits(32)
        iid = rnd.getrandbits(64)
        addr = f"2001:db8:{x >> 16:x}:{x & 0xffff:x}:{iid >> 48:x}:{(iid >> 32) & 0xffff:x}:{(iid >> 16) & 0xffff:x}:{iid & 0xffff:x}"
        f.write(f"{nibbles(addr)} A\n")
PY
"$v6bl" import --db "$work/db" "$work/listings.txt" >/dev/null

common_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../common" && pwd)"
free_port() { python3 -c "import sys; sys.path.insert(0, '$common_dir'); from loopback_port import free_port; print(free_port())"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

one_run() {  # $1 = off|on
    local port mport args=() scraper=
    port=$(free_port)
    args=(serve --db "$work/db" --zone "$zone" --listen "127.0.0.1:$port")
    if [[ $1 == on ]]; then
        mport=$(free_port)
        args+=(--metrics "127.0.0.1:$mport")
    fi
    taskset -c 1 "$v6bl" "${args[@]}" >"$work/serve.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do grep -q '^ready' "$work/serve.log" && break; sleep 0.1; done
    # Warm-up, so both runs start with the same caches.
    taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 2 >/dev/null 2>&1
    if [[ $1 == on ]]; then
        ( while :; do
              exec 3<>"/dev/tcp/127.0.0.1/$mport" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 &&
                  cat <&3 >/dev/null; exec 3<&- 3>&-; sleep 1
          done ) &
        scraper=$!
    fi
    local before after out completed rss
    before=$(cpu_ticks "$server_pid")
    out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$secs" 2>&1)
    after=$(cpu_ticks "$server_pid")
    rss=$(awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status")
    [[ -n $scraper ]] && kill "$scraper" 2>/dev/null && wait "$scraper" 2>/dev/null || true
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
    completed=$(awk '/Queries completed:/ { print $3 }' <<<"$out")
    local qps
    qps=$(awk '/Queries per second:/ { print $4 }' <<<"$out")
    awk -v m="$1" -v t=$((after - before)) -v hz="$hz" -v q="$completed" -v qps="$qps" -v rss="$rss" \
        'BEGIN { printf "metrics %-3s  %9d queries  %9.0f qps  server CPU %6.2f s  %6.3f us/query  RSS %d MiB\n", m, q, qps, t / hz, t / hz / q * 1e6, rss / 1024 }'
}

echo "v6bl metrics bench: $listings listed /64s, half the queries listed, ${secs}s per run, $(date -u +%FT%TZ)"
for r in $(seq "$rounds"); do
    echo "round $r"
    one_run off
    one_run on
done
