#!/usr/bin/env bash
# How fast synack runs a transfer on the simulated network, in real (wall-clock) time.
# Prints one markdown table row per case; the figures go to docs/PERFORMANCE.md.
# Usage: bench/demo.sh [PATH/TO/synack]   (default build/synack; `make` builds it)
set -euo pipefail
synack=${1:-build/synack}
runs=5

row() { # label, demo args...
  local label=$1; shift
  local best="" json
  for _ in $(seq $runs); do
    json=$("$synack" demo --quiet --json "$@")
    w=$(sed -n 's/.*"wall_time_s":\([0-9.]*\).*/\1/p' <<<"$json")
    if [ -z "$best" ] || awk "BEGIN{exit !($w < $best)}"; then best=$w; fi
  done
  local bytes segs sim rtx
  bytes=$(sed -n 's/.*"bytes_received":\([0-9]*\).*/\1/p' <<<"$json")
  segs=$(sed -n 's/.*"segments":\([0-9]*\).*/\1/p' <<<"$json")
  rtx=$(sed -n 's/.*"retransmissions":\([0-9]*\).*/\1/p' <<<"$json")
  sim=$(sed -n 's/.*"sim_time_s":\([0-9.]*\).*/\1/p' <<<"$json")
  awk -v l="$label" -v b="$bytes" -v s="$segs" -v r="$rtx" -v t="$sim" -v w="$best" 'BEGIN{
    printf "| %s | %d | %d | %d | %.3f | %.4f | %.0f | %.0f |\n", l, b, s, r, t, w, s / w, b / w / 1e6 }'
}

echo "| case | bytes | segments | retransmissions | simulated s | wall s (best of $runs) | segments/s | MB/s |"
echo "|---|---|---|---|---|---|---|---|"
row "default demo (64 KiB)"            
row "100 MiB, 100 Mbit/s, 10 ms"        --bytes 100M
row "100 MiB, unlimited rate, 10 ms"    --bytes 100M --rate 1000000
row "100 MiB, 1% loss"                  --bytes 100M --loss 1%
row "100 MiB, 100 Mbit/s, 1 MiB buffers" --bytes 100M --sndbuf 1M --rcvbuf 1M
row "100 MiB, 1% loss, 1 MiB buffers"   --bytes 100M --sndbuf 1M --rcvbuf 1M --loss 1%
