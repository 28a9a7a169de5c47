#!/usr/bin/env bash
# Installs the Debian packages v6bl builds with and tests against (idempotent; root).
set -euo pipefail
build_pkgs=(cmake g++ make pkg-config libldns-dev libuv1-dev librocksdb-dev prometheus-cpp-dev catch2
            libcli11-dev libtoml11-dev libspdlog-dev nlohmann-json3-dev libpcap-dev
            python3)  # scripts/demo.sh, bench/soak (configured with every build)
peer_pkgs=(bind9-dnsutils ldnsutils nsd knot knot-dnssecutils rbldnsd unbound dnsperf prometheus
           clang libclang-rt-14-dev)
want=("${build_pkgs[@]}")
[ "${1:-}" = "--with-peers" ] && want+=("${peer_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The peers' packaged services are not ours to run: tests start their own on private ports.
for s in nsd knot unbound prometheus prometheus-node-exporter rbldnsd; do
  systemctl stop "$s" >/dev/null 2>&1 || true
done
