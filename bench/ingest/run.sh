#!/bin/sh
# bench/ingest: simulate a >= 10M-packet capture, then time ingest on one core (CPU 1).
# Usage: bench/ingest/run.sh BUILD_DIR [WORK_DIR]   (REPEAT=N times the capture N times and
# reports the median run: the 2-core VM is shared and one run can be 20 % off)
set -eu
build=${1:?build dir}
work=${2:-/tmp/v6bl-bench-ingest}
mkdir -p "$work"
if [ ! -f "$work/testbed/sensor.pcap" ]; then
  "$build/tools/v6bl" simulate --out "$work/testbed" --seed 11 --hosts 20000 --hours 12 --rate 140
fi
taskset -c 1 "$build/bench/ingest/bench_ingest" --testbed "$work/testbed" --db "$work/db" \
  --repeat "${REPEAT:-1}"
