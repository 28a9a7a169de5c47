#!/usr/bin/env bash
# Sets up (packages, build) and runs the whole test suite with ctest: everything built with
# AddressSanitizer and UndefinedBehaviorSanitizer (g++, warnings as errors), then the
# libFuzzer targets (clang, ASan+UBSan) for a bounded time each over their seed corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
build=${V6BL_BUILD_DIR:-build-test}
# -O1 -g1: sanitizer builds compile in half the time of -O2 -g and still report file:line
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1 -DNDEBUG" \
  -DV6BL_WERROR=ON -DV6BL_SANITIZE=ON ${V6BL_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
CC=clang CXX=clang++ cmake -S . -B "$build-fuzz" -DV6BL_FUZZ=ON -DV6BL_FUZZ_SECONDS="${V6BL_FUZZ_SECONDS:-20}" >/dev/null
cmake --build "$build-fuzz" -j"$(nproc)"
status=0
(cd "$build-fuzz" && ctest --output-on-failure --timeout 600) || status=1
# the main suite last, so that its summary closes the output
(cd "$build" && ctest --output-on-failure --timeout 600) || status=1
exit $status
