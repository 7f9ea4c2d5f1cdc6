#!/usr/bin/env bash
# Goodput of one synack connection on the simulated network, against the link rate and the
# Mathis bound, for loss x RTT x congestion control x SACK. Prints a markdown table for
# docs/PERFORMANCE.md, with the command that made it at the top. Virtual time only: the
# figures do not depend on the machine (the wall time it takes does).
#
# Usage: bench/sim_table.sh [--quick] [--jobs N] [PATH/TO/synack]   (default build/synack)
#   --quick   transfers 20 times smaller and one seed: checks the script, not the stack
#   --jobs N  runs in parallel (default: the number of CPUs)
#
# Each row is `synack demo --quiet --json` with:
#   --rate 100 --delay RTT/2 --loss P --cc CC [--no-sack]
#   --sndbuf B --rcvbuf B --queue B      B = max(64 KiB, 2 x BDP), BDP = 100 Mbit/s x RTT
#   --bytes N                            N = max(20 MiB, 500 x BDP) without loss, so slow
#                                        start costs under 1%; with loss, what the Mathis
#                                        rate moves in 120 s, between 8 MiB and that size
#   --seed S                             S = 1 without loss, 1..5 with loss (mean shown)
# Goodput is the demo's goodput_bps: payload bytes over the time from the first data
# segment sent to the last byte read by the server (handshake and close not included).
set -euo pipefail

quick=0
jobs=$(nproc 2>/dev/null || echo 2)
synack=build/synack
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --jobs) jobs=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "sim_table.sh: unknown option $1" >&2; exit 2 ;;
    *) synack=$1 ;;
  esac
  shift
done
[ -x "$synack" ] || { echo "sim_table.sh: no synack at $synack (run make)" >&2; exit 2; }

rate_mbit=100
mss=1448  # payload per segment: 1460 less the 12-byte timestamps option
losses="0 0.001 0.01 0.05"
rtts_ms="1 20 100"
ccs="newreno cubic"
lossy_seeds=5
[ $quick -eq 1 ] && lossy_seeds=1

# One row's parameters: loss rtt_ms -> "buffer bytes" (integers, bytes).
row_sizes() {
  awk -v p="$1" -v rtt="$2" -v rate="$rate_mbit" -v mss="$mss" -v quick="$quick" 'BEGIN {
    bdp = rate * 1e6 / 8 * rtt / 1000
    buf = 2 * bdp; if (buf < 65536) buf = 65536
    buf = int((buf + 1023) / 1024) * 1024
    big = 500 * bdp; if (big < 20 * 1048576) big = 20 * 1048576
    bytes = big
    if (p > 0) {
      mathis = mss / (rtt / 1000) * 1.22 / sqrt(p)      # bytes per second
      bytes = mathis * 120
      if (bytes < 8 * 1048576) bytes = 8 * 1048576
      if (bytes > big) bytes = big
    }
    if (quick) bytes /= 20
    printf "%d %d\n", buf, int(bytes / 1024) * 1024 }'
}

# The demo arguments of one run.
run_args() { # loss rtt_ms cc sack seed
  local sizes buf bytes
  sizes=$(row_sizes "$1" "$2"); buf=${sizes% *}; bytes=${sizes#* }
  local delay; delay=$(awk -v r="$2" 'BEGIN { printf "%g", r / 2 }')
  printf -- '--rate %s --delay %s --loss %s --cc %s%s --sndbuf %s --rcvbuf %s --queue %s --bytes %s --seed %s' \
    "$rate_mbit" "$delay" "$1" "$3" "$([ "$4" = off ] && echo ' --no-sack')" "$buf" "$buf" "$buf" \
    "$bytes" "$5"
}

json_num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every run, in parallel; each leaves its JSON (or its failure) in $tmp.
rows=()
n=0
running=0
start=$SECONDS
for p in $losses; do
  for rtt in $rtts_ms; do
    for cc in $ccs; do
      for sack in on off; do
        rows+=("$p $rtt $cc $sack")
        seeds=1; [ "$p" != 0 ] && seeds=$lossy_seeds
        for seed in $(seq "$seeds"); do
          args=$(run_args "$p" "$rtt" "$cc" "$sack" "$seed")
          if [ $running -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
          # shellcheck disable=SC2086
          ( "$synack" demo --quiet --json $args >"$tmp/$n.$seed.json" 2>"$tmp/$n.$seed.err" || true ) &
          running=$((running + 1))
        done
        n=$((n + 1))
      done
    done
  done
done
wait
wall=$((SECONDS - start))

echo "Command: \`bench/sim_table.sh$([ $quick -eq 1 ] && echo ' --quick') $synack\`"
echo "(each row: \`synack demo --quiet --json $(run_args 0.01 20 cubic on 1)\`, with that row's"
echo "loss, RTT/2, controller, SACK and sizes; seeds 1..$lossy_seeds averaged when there is loss)"
echo
echo "| loss | RTT ms | cc | SACK | link Mbit/s | goodput Mbit/s | % of link | Mathis bound Mbit/s | retransmissions | rtx % of segments | MiB sent |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
failed=0
for i in "${!rows[@]}"; do
  read -r p rtt cc sack <<<"${rows[$i]}"
  sum_g=0 sum_r=0 sum_s=0 runs=0 bad=""
  bytes=0
  for f in "$tmp/$i".*.json; do
    json=$(cat "$f")
    if ! grep -q '"completed":true' <<<"$json"; then
      seed=${f##*/"$i".}; seed=${seed%.json}
      bad="FAILED (seed $seed)"
      echo "sim_table.sh: $(printf '%s\n' "${rows[$i]}") seed $seed did not complete:" \
        "$(cat "${f%.json}.err")$json" >&2
      continue
    fi
    g=$(json_num goodput_bps "$json")
    r=$(json_num retransmits "$json")
    s=$(json_num segs_out "$json")
    bytes=$(json_num bytes_received "$json")
    sum_g=$(awk -v a="$sum_g" -v b="$g" 'BEGIN { print a + b }')
    sum_r=$((sum_r + ${r:-0}))
    sum_s=$((sum_s + ${s:-0}))
    runs=$((runs + 1))
  done
  if [ -n "$bad" ] || [ $runs -eq 0 ]; then
    failed=$((failed + 1))
    printf '| %s | %s | %s | %s | %s | %s | | | | | |\n' \
      "$(awk -v p="$p" 'BEGIN { printf "%g%%", p * 100 }')" "$rtt" "$cc" "$sack" "$rate_mbit" "${bad:-FAILED}"
    continue
  fi
  awk -v p="$p" -v rtt="$rtt" -v cc="$cc" -v sack="$sack" -v rate="$rate_mbit" -v mss="$mss" \
      -v g="$sum_g" -v r="$sum_r" -v s="$sum_s" -v n="$runs" -v bytes="$bytes" 'BEGIN {
    gm = g / n / 1e6
    mathis = p > 0 ? sprintf("%.1f", mss * 8 / (rtt / 1000) * 1.22 / sqrt(p) / 1e6) : "n/a"
    printf "| %g%% | %s | %s | %s | %d | %.2f | %.1f | %s | %.0f | %.2f | %.1f |\n",
      p * 100, rtt, cc, sack, rate, gm, gm / rate * 100, mathis, r / n,
      (s > 0 ? r / s * 100 : 0), bytes / 1048576 }'
done
echo
echo "($((n)) rows, $jobs parallel jobs, ${wall} s of wall time)"
[ $failed -eq 0 ]
