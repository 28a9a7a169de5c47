#!/usr/bin/env bash
# Sets up v6bl, simulates a sensor testbed, ingests it, and serves the list on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DV6BL_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target v6bl
v6bl=build/tools/v6bl
zone=dnsbl6.example.org
port=${V6BL_DEMO_PORT:-5353}
rm -rf demo && mkdir -p demo

echo "== simulating a busy sensor MTA and a production MTA's reject log"
"$v6bl" simulate --out demo/testbed --seed 1 --hosts 600 --hours 4
echo "== ingesting the capture and the log into demo/db"
"$v6bl" ingest --db demo/db --capture demo/testbed/sensor.pcap --rejects demo/testbed/maillog
printf '2001:db8:bad::/48 127.0.0.10 demo: listed by hand\n' > demo/manual.txt
"$v6bl" import --db demo/db demo/manual.txt

# The first inferred /64 (code 2 or 3; not the RFC 5782 test point). awk reads to the end:
# an early exit would kill `v6bl list` with SIGPIPE, which pipefail turns into a failure.
listed=$("$v6bl" list --db demo/db --published |
  awk '!found && $1 ~ /\/64$/ && $2 ~ /^127\.0\.0\.[23]$/ {print $1; found = 1}')
addr=${listed%%/*}
addr=${addr%::}::1
nibbles() { python3 -c 'import ipaddress,sys; print(".".join(reversed(ipaddress.ip_address(sys.argv[1]).exploded.replace(":",""))))' "$1"; }
echo
echo "== v6bl lookup explains a listing inferred from the testbed:"
"$v6bl" lookup --db demo/db "$addr" || true
echo
echo "== serving $zone on 127.0.0.1:$port (metrics on 127.0.0.1:9353/metrics). Try, in another shell:"
echo "   dig @127.0.0.1 -p $port $(nibbles "$addr").$zone A +norec"
echo "   dig @127.0.0.1 -p $port $(nibbles "$addr").$zone TXT +norec"
echo "   dig @127.0.0.1 -p $port $(nibbles ::ffff:127.0.0.2).$zone A +norec    # RFC 5782 test point"
echo "   dig @127.0.0.1 -p $port $(nibbles 2001:db8:bad::1).$zone TXT +norec   # the manual listing"
echo "   dig @127.0.0.1 -p $port $(nibbles 2001:db8::1).$zone A +norec        # not listed: NXDOMAIN"
echo "Stop with Ctrl-C."
exec "$v6bl" serve --db demo/db --zone "$zone" --listen "127.0.0.1:$port" --metrics 127.0.0.1:9353
