#!/usr/bin/env bash
# Buffers that tune themselves (issue 13, item 5): one connection's goodput on long fat
# paths of the simulated network with the default buffers (64 KiB, growing to 16 MiB) and
# with both held at 64 KiB (--sndbuf 64K --rcvbuf 64K, the sizes before autotuning).
# Virtual time: the figures do not depend on the machine. Prints one markdown table row
# per case; the figures go to docs/PERFORMANCE.md.
# Usage: bench/autotune.sh [PATH/TO/synack]   (default build/synack; `make` builds it)
set -euo pipefail
synack=${1:-build/synack}

field() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

row() { # label, rate Mbit/s, one-way delay ms, bytes, queue (or -), fixed-buffer bytes
  local label=$1 rate=$2 delay=$3 bytes=$4 queue=$5 fixed_bytes=$6
  local q=()
  [ "$queue" != - ] && q=(--queue "$queue")
  local auto fixed
  auto=$("$synack" demo --quiet --json --rate "$rate" --delay "$delay" --bytes "$bytes" "${q[@]}")
  fixed=$("$synack" demo --quiet --json --rate "$rate" --delay "$delay" --bytes "$fixed_bytes" \
    "${q[@]}" --sndbuf 64K --rcvbuf 64K)
  local ga gf srtt
  ga=$(field goodput_bps "$auto")
  gf=$(field goodput_bps "$fixed")
  srtt=$(field srtt_s "$auto")
  awk -v l="$label" -v q="$queue" -v b="$bytes" -v r="$rate" -v ga="$ga" -v gf="$gf" \
    -v s="$srtt" -v rtt="$delay" 'BEGIN{
    printf "| %s | %s | %s | %.2f | %.1f%% | %.2f | %.1f%% | %.1f | %.1f |\n", l, q, b,
      ga / 1e6, ga / (r * 1e4), gf / 1e6, gf / (r * 1e4), ga / gf, s * 1e3 }'
}

echo "| path | queue | bytes | autotuned Mbit/s | of link | 64 KiB fixed Mbit/s | of link | ratio | srtt at the end, ms |"
echo "|---|---|---|---|---|---|---|---|---|"
row "100 Mbit/s, 20 ms"  100  10 50M  -    50M
row "100 Mbit/s, 20 ms"  100  10 50M  256K 50M
row "100 Mbit/s, 20 ms"  100  10 50M  64K  50M
row "1 Gbit/s, 100 ms"   1000 50 2G   -    200M
row "1 Gbit/s, 100 ms"   1000 50 2G   12M  200M
row "1 Gbit/s, 100 ms"   1000 50 2G   4M   200M
