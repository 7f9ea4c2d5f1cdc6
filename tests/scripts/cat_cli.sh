#!/usr/bin/env bash
# `synack cat` as a person meets its UDP mode on the command line: --help documents -u and
# -q; options that make no sense with -u (they are about TCP), -q without -u, and bad
# values each get a one-line error naming the option and exit status 2; flags given
# together ("-lu") are taken. Nothing here needs root or a network: every run is refused
# before a link is opened, except the last, over UDP encapsulation on loopback.
# Usage: cat_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL: $*"
  fail=$((fail + 1))
}

# check WHAT CMD...: CMD succeeds, or WHAT is a failure.
check() {
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}

help=$("$synack" cat --help)
rc=$?
check "cat --help exits $rc" [ $rc -eq 0 ]
for o in '-u, --udp' '-q SECS' 'UDP (-u)' 'not with -u'; do
  check "cat --help does not document '$o'" grep -q -- "$o" <<<"$help"
done

LINK=(--link "udp:127.0.0.1:9,127.0.0.1:9" --addr 198.18.77.2/24)

# expect_usage_error WORD ARGS...: exit 2, one line "synack cat: ..." that names WORD.
expect_usage_error() {
  local word=$1 err rc
  shift
  err=$("$synack" cat "$@" 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || {
    bad "'cat $*' exits $rc, not 2: $err"
    return
  }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || {
    bad "'cat $*': the error is not one line: $err"
    return
  }
  grep -q '^synack cat: ' <<<"$err" || {
    bad "'cat $*': the error lacks the command name: $err"
    return
  }
  grep -q -- "$word" <<<"$err" || {
    bad "'cat $*': the error does not name $word: $err"
    return
  }
  ok
}
expect_usage_error --linger -u --linger 100 "${LINK[@]}" 198.18.77.1 5000
expect_usage_error --mss -u --mss 1000 "${LINK[@]}" 198.18.77.1 5000
expect_usage_error --rcvbuf -u --rcvbuf 1M "${LINK[@]}" 198.18.77.1 5000
expect_usage_error --sndbuf --udp --sndbuf 1M "${LINK[@]}" 198.18.77.1 5000
expect_usage_error --syncookies -lu --syncookies always "${LINK[@]}" 5000
expect_usage_error -q -u -q soon "${LINK[@]}" 198.18.77.1 5000
expect_usage_error -k -uk "${LINK[@]}" 198.18.77.1 5000
expect_usage_error -4 -u46 "${LINK[@]}" 198.18.77.1 5000
expect_usage_error "-p" -lu -p 4000 "${LINK[@]}" 5000
expect_usage_error --udp-offload --udp-offload maybe "${LINK[@]}" 198.18.77.1 5000

# "-lu" is -l and -u: with -w it listens for UDP (counting -w from the first datagram, so
# here it waits until timeout(1) ends it), where TCP would refuse -w with -l.
port=$((20000 + RANDOM % 40000))
err=$(timeout --foreground -k 5 1 "$synack" cat -lu -w 1 --link "udp:127.0.0.1:$port,127.0.0.1:9" \
  --addr 198.18.77.2/24 5000 </dev/null 2>&1 >/dev/null)
rc=$?
check "'cat -lu -w 1 PORT' should wait for a first datagram; it exited $rc: $err" \
  [ $rc -eq 124 ] && [ -z "$err" ]

# A UDP link whose other end is not running: the kernel's port unreachable is reported
# at once as a refused connection (as nc's "Connection refused"), not after the SYN
# retries (about two minutes). Two free loopback ports, nobody on the second.
. "$(dirname "$0")/../common/udp_ports.sh"
port=$(free_port)
peer=$(free_port)
t0=$(date +%s%N)
err=$(timeout --foreground -k 5 10 "$synack" cat --link "udp:127.0.0.1:$port,127.0.0.1:$peer" \
  --addr 198.18.77.2/24 198.18.77.1 5000 </dev/null 2>&1 >/dev/null)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "'cat' to a UDP link with no peer exits $rc after $ms ms: $err" [ $rc -eq 1 ] && [ $ms -lt 1000 ]
check "'cat' to a UDP link with no peer does not say refused: $err" \
  grep -q "^synack cat: connection to 198.18.77.1:5000 refused: nothing runs at the other end of the UDP link" <<<"$err"
# The same with -u: the first datagram draws the port unreachable.
port=$(free_port)
peer=$(free_port)
err=$(echo hi | timeout --foreground -k 5 10 "$synack" cat -u --link "udp:127.0.0.1:$port,127.0.0.1:$peer" \
  --addr 198.18.77.2/24 198.18.77.1 5000 2>&1 >/dev/null)
rc=$?
check "'cat -u' to a UDP link with no peer exits $rc: $err" [ $rc -eq 1 ]
check "'cat -u' to a UDP link with no peer does not say refused: $err" \
  grep -q "^synack cat: connection to 198.18.77.1:5000 refused: nothing runs at the other end" <<<"$err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
