#!/usr/bin/env bash
# Runs an example and checks what it prints: it must exit 0, and each LINE must begin a
# line of its output (exactly, as text: no patterns).
# Usage: expect.sh LINE... -- PROGRAM [ARGS...]
set -u -o pipefail
want=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    want+=("$1")
    shift
done
shift || { echo "usage: expect.sh LINE... -- PROGRAM [ARGS...]"; exit 2; }
out=$("$@" 2>&1)
rc=$?
echo "$out"
fails=0
if [ "$rc" -ne 0 ]; then
    echo "FAIL: $* exited with status $rc"
    fails=1
fi
for line in "${want[@]}"; do
    awk -v want="$line" 'index($0, want) == 1 { found = 1 } END { exit !found }' <<<"$out" ||
        { echo "FAIL: no line begins '$line'"; fails=1; }
done
exit "$fails"
