#!/bin/sh
# bench/ingest/paired.sh: compares two bench_ingest binaries (two builds of v6bl) by running
# them at the same time, one per core, then again with the cores swapped.
# Usage: bench/ingest/paired.sh BIN_A BIN_B [ROUNDS] [WORK_DIR]
# Needs the testbed and the rejections template of one `bench/ingest/run.sh` in WORK_DIR
# (RESETS=0: of one `RESETS=0 bench/ingest/run.sh`)
# (default /tmp/v6bl-bench-ingest). Prints each binary's mean and its runs, and the mean
# of the per-pair differences B - A.
#
# Why: this 2-core VM is shared, and one binary's runs in a row differ by ±0.3 s (8 %), so
# sequential runs cannot tell a 3 % change from noise. Two runs side by side see the same
# load from the rest of the host: on 2026-12-01 one binary against itself gave pairs
# within 0.01 s. Side by side, they share the L3 cache and the memory bus, so the figure of
# record stays run.sh's (one process alone on one core); this tells which build is faster.
set -eu
a=${1:?binary A}
b=${2:?binary B}
rounds=${3:-3}
work=${4:-/tmp/v6bl-bench-ingest}
# The capture run.sh measures: with the sensor's resets, or RESETS=0 the SYNs only.
case ${RESETS:-1} in
  0 | no | false) tb=testbed-syns db=db-syns ;;
  *) tb=testbed db=db ;;
esac
[ -f "$work/$tb/sensor.pcap" ] && [ -d "$work/$db.rejections" ] ||
  { echo "paired.sh: run bench/ingest/run.sh first (no $tb or its template in $work)" >&2; exit 2; }
# The second run needs its own store: a work dir of its own next to the first.
work_b="$work.paired"
mkdir -p "$work_b"
ln -sfn "$work/$tb" "$work_b/$tb"
rm -rf "$work_b/$db.rejections"
cp -a "$work/$db.rejections" "$work_b/$db.rejections"
one() {  # dir cpu binary -> seconds
  (cd "$1" && taskset -c "$2" "$3" --testbed "$tb" --db "$db" --repeat 1 --reuse-rejections 2>/dev/null |
    awk '/^v6bl ingest/ {print $4}')
}
i=0
out=$(mktemp)
while [ "$i" -lt "$rounds" ]; do
  i=$((i + 1))
  for cores in "0 1" "1 0"; do
    set -- $cores
    one "$work" "$1" "$a" > "$out.a" &
    one "$work_b" "$2" "$b" > "$out.b"
    wait
    echo "$(cat "$out.a") $(cat "$out.b")" >> "$out"
  done
done
awk '{a += $1; b += $2; d += $2 - $1; va = va " " $1; vb = vb " " $2; n++}
     END {printf "A %s: mean %.3f s:%s\nB %s: mean %.3f s:%s\nB - A: %+.3f s a pair (%+.1f %%), %d pairs\n",
          A, a / n, va, B, b / n, vb, d / n, 100 * d / a, n}' A="$a" B="$b" "$out"
rm -f "$out" "$out.a" "$out.b"
