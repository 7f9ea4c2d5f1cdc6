#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test synack; with `demo`, only
# what building the `synack` command needs (`make demo`: no compiler for the tests, no
# cmocka, no tshark).
# Idempotent: when everything is present it installs nothing and prints nothing.
# Usage: deps.sh [demo]
set -euo pipefail

if [ "${1:-}" = demo ]; then
  pkgs=(build-essential cmake pkg-config libpcap-dev)
else
  # The second line: the unmodified programs of the `synack run` tests
  # (tests/interop/run_*.sh).
  pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libcmocka-dev libpcap-dev tshark iproute2
        netcat-openbsd curl iputils-ping hping3
        socat wget redis-server redis-tools iperf3 python3)
fi
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
