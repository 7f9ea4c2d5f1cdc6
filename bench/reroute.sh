#!/usr/bin/env bash
# A route that grows longer (issue 13, item 5: buffers that tune themselves, on a path that
# changes): one connection's goodput on the simulated network when, 2 s into the transfer,
# the one-way delay grows from 10 ms to DELAY (`synack demo --reroute 2:DELAY`), with the
# default buffers. Virtual time: the figures do not depend on the machine. Prints one
# markdown table row per case; the figures go to docs/PERFORMANCE.md.
# Usage: bench/reroute.sh [PATH/TO/synack]   (default build/synack; `make` builds it)
set -euo pipefail
synack=${1:-build/synack}

field() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

row() { # rate Mbit/s, delay after ms, bytes, extra options...
  local rate=$1 after=$2 bytes=$3
  shift 3
  local out
  out=$("$synack" demo --quiet --json --rate "$rate" --delay 10 --reroute "2:$after" \
    --bytes "$bytes" "$@")
  awk -v r="$rate" -v a="$after" -v b="$bytes" -v x="$*" -v g="$(field goodput_bps "$out")" \
    -v rtt="$(field server_rcv_rtt_s "$out")" -v n="$(field server_rcv_rtt_raised "$out")" 'BEGIN{
    printf "| %s Mbit/s, 20 -> %d ms | %s | %s | %.2f | %.1f%% | %.1f | %s |\n", r, 2 * a,
      x == "" ? "-" : x, b, g / 1e6, g / (r * 1e4), rtt * 1e3, n }'
}

echo "| path | options | bytes | goodput Mbit/s | of link | receiver's round trip at the end, ms | raised |"
echo "|---|---|---|---|---|---|---|"
row 100 10 160M
row 100 20 160M
row 100 30 160M
row 100 50 160M
row 100 100 160M
row 100 150 300M
row 100 50 160M --no-timestamps
row 100 50 160M --queue 256K
row 100 50 100M --loss 0.1%
row 1000 50 2G
