#!/bin/sh
# bench/ingest flood: memory under a flood of SYNs from spoofed IPv6 sources (a new /64
# each). Ingests one capture with the address book unbounded (--max-book-64s 0) and with
# bounds, and the engine's one-round histories with their default bound (--max-histories
# 4000000) or others, each into a fresh store, and prints peak RSS, time and what was
# forgotten early.
# Usage: bench/ingest/flood.sh BUILD_DIR [WORK_DIR]  (SYNS, RATE, BOUNDS, HISTORIES override;
# COMMIT_EVERY=N commits every N packets, as a live capture's commit each second would, so
# that one commit window's batch does not hide what the state holds)
set -eu
build=${1:?build dir}
work=${2:-/tmp/v6bl-bench-flood}
syns=${SYNS:-6000000}
rate=${RATE:-10000}
mkdir -p "$work"
cap="$work/flood-$syns-$rate.pcap"
[ -f "$cap" ] || "$build/bench/ingest/bench_flood_capture" "$cap" "$syns" "$rate"
for bound in ${BOUNDS:-0 2000000 500000}; do
for histories in ${HISTORIES:-4000000}; do
  rm -rf "$work/db"
  # peak RSS (KiB) and wall seconds of the child, as getrusage(RUSAGE_CHILDREN) has them
  python3 - "$work/time.txt" taskset -c 1 "$build/tools/v6bl" ingest --db "$work/db" \
    --capture "$cap" --max-book-64s "$bound" --max-histories "$histories" --commit-every "${COMMIT_EVERY:-50000000}" \
    > "$work/out.txt" 2>&1 <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[2:]).returncode
with open(sys.argv[1], "w") as f:
    f.write("%d %.1f\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                          time.monotonic() - t))
sys.exit(rc)
PY
  set -- $(cat "$work/time.txt")
  evicted=$(grep -o '[0-9]* /64s forgotten early' "$work/out.txt" | cut -d' ' -f1)
  histories_forgotten=$(grep -o '[0-9]* one-round addresses forgotten early' "$work/out.txt" |
    cut -d' ' -f1)
  printf 'flood %s SYNs at %s/s, commit every %s, --max-book-64s %-8s --max-histories %-8s: peak RSS %5d MiB, %6.1f s, forgotten early: /64s %s, one-round addresses %s\n' \
    "$syns" "$rate" "${COMMIT_EVERY:-50000000}" "$bound" "$histories" $(($1 / 1024)) "$2" \
    "${evicted:-0}" "${histories_forgotten:-0}"
done
done
