#!/bin/sh
# bench/association: precision/recall vs truth at a busy sensor, next to the naive baseline.
# Usage: bench/association/run.sh BUILD_DIR
set -eu
build=${1:?build dir}
for seed in 7 3; do
  "$build/bench/association/bench_association" --seed $seed --hosts 2000 --hours 6 --rate 25 \
    --work /tmp/v6bl-bench-association-$seed | tail -6
done
"$build/bench/association/bench_association" --seed 5 --hosts 2000 --hours 6 --rate 60 \
  --work /tmp/v6bl-bench-association-busy | tail -6
