#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (see fuzz/README.md).
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#   scripts/fuzz.sh BUILD_DIR runs=N [TARGET...]   N runs each from seed 1, in a fresh work
#                                                  directory: the same every time (make test)
# New inputs go to BUILD_DIR/fuzz/work/<target> (the committed corpus is read, not written);
# a crash, leak, timeout or out-of-memory leaves BUILD_DIR/fuzz/findings/<target>-*, and the
# script exits 1 naming them. Bounded: each target stops after SECONDS.
set -euo pipefail
build=$1
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(stack wire scenario netopt http frag trace vnet steer batch udplink)
root=$(cd "$(dirname "$0")/.." && pwd)
failed=()
for t in "${targets[@]}"; do
  findings="$build/fuzz/findings"
  if [[ $seconds == runs=* ]]; then
    work=$(mktemp -d)
    limit=(-runs="${seconds#runs=}" -seed=1)
    echo "fuzz: $t, ${seconds#runs=} runs from seed 1"
  else
    work="$build/fuzz/work/$t"
    limit=(-max_total_time="$seconds")
    echo "fuzz: $t for ${seconds}s"
  fi
  mkdir -p "$work" "$findings"
  if ! "$build/fuzz/fuzz_$t" "$work" "$root/fuzz/corpus/$t" "$root/fuzz/regressions/$t" \
      "${limit[@]}" -timeout=20 -rss_limit_mb=2048 -max_len=8192 \
      -artifact_prefix="$findings/$t-" -print_final_stats=1 >"$build/fuzz/$t.log" 2>&1; then
    failed+=("$t")
  fi
  [[ $seconds == runs=* ]] && rm -rf "$work"
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs" "$build/fuzz/$t.log" \
    | sed "s/^/  /" || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}: see $build/fuzz/<target>.log and $build/fuzz/findings/" >&2
  exit 1
fi
echo "fuzz: no findings"
