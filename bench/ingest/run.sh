#!/bin/sh
# bench/ingest: simulate a >= 10M-packet capture, then time ingest on one core (CPU 1).
# Usage: bench/ingest/run.sh BUILD_DIR [WORK_DIR]   (REPEAT=N times the capture N times and
# reports the median run: the 2-core VM is shared and one run can be 20 % off)
# Each timed run is its own process (the first also makes the rejections-only template
# store the others start from): within one process a later run would find the heap that
# an earlier one freed and kept (ingest keeps freed memory, malloc_tuning.h), which a real
# `v6bl ingest` never has.
set -eu
build=${1:?build dir}
work=${2:-/tmp/v6bl-bench-ingest}
mkdir -p "$work"
# The capture holds the sensor's reset of each SYN, as one taken on the sensor does (half the
# packets); RESETS=0: the SYNs only, as the live capture's BPF filter takes them (the per-SYN
# work is the same, the packets half as many).
# Each capture has its own rejections template (DB.rejections), made from its own maillog.
case ${RESETS:-1} in
  0 | no | false) tb=testbed-syns db=db-syns resets=--no-resets ;;
  *) tb=testbed db=db resets= ;;
esac
# (a testbed from before the simulator wrote resets has no "syns" in its truth: made anew)
if [ ! -f "$work/$tb/sensor.pcap" ] || ! grep -q '"syns"' "$work/$tb/truth.json" 2>/dev/null; then
  rm -rf "$work/$tb"
  # in UTC, as bench_ingest reads the maillog
  "$build/tools/v6bl" simulate --out "$work/$tb" --seed 11 --hosts 20000 --hours 12 --rate 140 \
    --log-timezone UTC $resets
fi
out="$work/runs.txt"
: > "$out"
i=0
reuse=""
while [ "$i" -lt "${REPEAT:-1}" ]; do
  i=$((i + 1))
  taskset -c 1 "$build/bench/ingest/bench_ingest" --testbed "$work/$tb" --db "$work/$db" \
    --repeat 1 $reuse > "$work/run-$i.txt"
  reuse=--reuse-rejections
  printf 'run %d: ' "$i"
  grep -E '^v6bl ingest' "$work/run-$i.txt" | sed 's/  */ /g'
  grep -E '^kernel' "$work/run-$i.txt" | sed 's/  */ /g; s/^/       /'
  echo "$(awk '/^v6bl ingest/ {print $4}' "$work/run-$i.txt") $i" >> "$out"
done
# The median run by wall time (the lower one of the middle two), printed in full.
median=$(sort -n "$out" | awk '{a[NR] = $2} END {print a[int((NR + 1) / 2)]}')
echo "median of $i run(s): run $median"
cat "$work/run-$median.txt"
# What fresh memory and random loads cost on this machine, on the same core (ingest's
# peak RSS is touched once, its tables read at random): machine_floor.cpp.
taskset -c 1 "$build/bench/ingest/ingest_floor"
# Each stage alone over the same capture (bench_stages: read + decode, grouping, the engine,
# the writer), on the same core: which stage the time goes to.
taskset -c 1 "$build/bench/ingest/bench_stages" "$work/$tb/sensor.pcap" "$work/$db.rejections"
