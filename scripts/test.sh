#!/usr/bin/env bash
# Sets up (packages, build) and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
build=${V6BL_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DV6BL_WERROR=ON ${V6BL_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build" && ctest --output-on-failure --timeout 600 -j1
