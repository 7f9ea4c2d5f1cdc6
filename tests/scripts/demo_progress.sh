#!/usr/bin/env bash
# `synack demo`'s progress line: on a terminal (stderr a pseudo-terminal) a long transfer
# shows "N of TOTAL (P%), S s simulated, R/s real time" rewritten with \r and erased
# before the summary; with --quiet, with --json, or when stderr is not a terminal, none.
# The line's first draw comes with the first data, whatever the speed: nothing here
# depends on the wall clock.
# Usage: demo_progress.sh PATH/TO/synack
set -uo pipefail
synack=$1
command -v python3 >/dev/null || { echo "SKIP: no python3 for the pseudo-terminal"; exit 77; }
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs synack with stderr on a pseudo-terminal and stdout on a file; the terminal's bytes
# go to $tmp/tty, stdout to $tmp/out.
on_tty() {
  python3 - "$tmp/tty" "$tmp/out" "$synack" "$@" <<'PY'
import os, pty, subprocess, sys
tty_file, out_file, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
master, slave = pty.openpty()
with open(out_file, "wb") as out:
    p = subprocess.Popen(argv, stdout=out, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
got = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child closed its end
        break
    if not chunk:
        break
    got += chunk
p.wait()
open(tty_file, "wb").write(got)
sys.exit(p.returncode)
PY
}

on_tty demo --bytes 4M --seed 3; rc=$?
[ $rc -eq 0 ] && ok || bad "demo on a terminal exits $rc"
grep -aq 'of 4.0 MiB (' "$tmp/tty" && ok || bad "no progress line on the terminal: $(head -c 300 "$tmp/tty" | cat -A)"
grep -aq 'simulated, .*/s real time' "$tmp/tty" && ok || bad "the progress line lacks the times: $(head -c 300 "$tmp/tty" | cat -A)"
# Erased at the end: the last bytes on the terminal are blanks between two carriage returns.
python3 -c 'import re,sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if re.search(rb"\r +\r$", d) else 1)' \
  "$tmp/tty" && ok || bad "the progress line is not erased: $(tail -c 200 "$tmp/tty" | cat -A)"
grep -q 'of 4.0 MiB (' "$tmp/out" && bad "progress text on stdout" || ok
grep -q '^bytes received   4194304$' "$tmp/out" && ok || bad "the summary is not whole: $(cat "$tmp/out")"

for quiet in --quiet --json; do
  on_tty demo --bytes 4M --seed 3 $quiet; rc=$?
  [ $rc -eq 0 ] && ok || bad "demo $quiet on a terminal exits $rc"
  grep -aq 'MiB (' "$tmp/tty" && bad "a progress line with $quiet: $(cat -A "$tmp/tty" | head -c 300)" || ok
done

# Not a terminal: stderr to a file holds nothing.
"$synack" demo --bytes 4M --seed 3 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || bad "demo exits $rc"
[ -s "$tmp/err" ] && bad "stderr not a terminal, yet: $(head -c 300 "$tmp/err" | cat -A)" || ok

echo "demo_progress: $pass passed, $fail failed"
[ $fail -eq 0 ]
