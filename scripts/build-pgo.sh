#!/bin/sh
# Builds v6bl with profile-guided optimisation: an instrumented build, a training run of
# `v6bl ingest` over a simulated testbed of its own (seed 5, 3 hours: not bench/ingest's
# capture), then the build that uses the profile, in the same directory (GCC keys the
# profile by object path). bench/ingest: 6-7 % less time than the same flags without it
# (docs/benchmarks.md, "Ingest throughput").
# Usage: scripts/build-pgo.sh [BUILD_DIR]   (default build-pgo; tests are not built)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-pgo}
mkdir -p "$build"
profile=$(cd "$build" && pwd)/pgo-profile
rm -rf "$profile"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DV6BL_BUILD_TESTS=OFF \
  -DV6BL_PGO=generate -DV6BL_PGO_DIR="$profile" >/dev/null
cmake --build "$build" -j"$(nproc)"
train=$(mktemp -d)
trap 'rm -rf "$train"' EXIT
"$build/tools/v6bl" simulate --out "$train/testbed" --seed 5 --hosts 20000 --hours 3 --rate 140
"$build/tools/v6bl" ingest --db "$train/db" --rejects "$train/testbed/maillog" \
  --capture "$train/testbed/sensor.pcap"
cmake -S . -B "$build" -DV6BL_PGO=use >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "build-pgo: $build/tools/v6bl built with the profile of $(find "$profile" -name "*.gcda" | wc -l) objects"
