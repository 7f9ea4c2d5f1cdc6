#!/usr/bin/env bash
# `synack cat` takes nc's spellings: -l -p PORT, -l ADDR PORT, -l localhost PORT, -n, -N,
# -4/-6, -z (port probe), -q with TCP, -w; `localhost` as HOST without a TUN is refused
# with the reason. Two synack processes over UDP encapsulation on loopback: no root.
# Usage: cat_nc.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

# free_port, wait_bound PORT (the listener's runtime is up).
. "$(dirname "$0")/../common/udp_ports.sh"
# links: two free loopback ports, L (the listener's side) and C (the client's).
links() {
  local p q
  p=$(free_port) && q=$(free_port) || bad "no free UDP port"
  while [ "$q" = "$p" ]; do q=$(free_port); done
  L=(--link "udp:127.0.0.1:$p,127.0.0.1:$q" --addr 198.18.77.1/24)
  C=(--link "udp:127.0.0.1:$q,127.0.0.1:$p" --addr 198.18.77.2/24)
  LPORT=$p
}
# timeout --foreground -k 5 throughout: see tests/interop/lib/udp.sh (LIMIT) for why.
# listener STDIN ARGS...: `synack cat` ARGS in the background with L, stdout to $dir/l.out.
listener() {
  local in=$1
  shift
  timeout --foreground -k 5 10 "$synack" cat "$@" "${L[@]}" <"$in" >"$dir/l.out" 2>"$dir/l.err" &
  lpid=$!
  pids+=("$lpid")
  wait_bound "$LPORT" || bad "the listener never bound UDP port $LPORT: $(cat "$dir/l.err")"
}

# transfer NAME LISTENER_ARGS... -- CLIENT_ARGS...: hello each way, both exit 0.
transfer() {
  local name=$1 largs=() cargs=() out rc lrc
  shift
  while [ "$1" != -- ]; do largs+=("$1"); shift; done
  shift
  cargs=("$@")
  links
  echo from-listener >"$dir/l.in"
  listener "$dir/l.in" "${largs[@]}"
  out=$(echo from-client | timeout --foreground -k 5 10 "$synack" cat "${cargs[@]}" "${C[@]}" 2>"$dir/c.err")
  rc=$?
  wait "$lpid"
  lrc=$?
  [ $rc -eq 0 ] && [ $lrc -eq 0 ] && [ "$out" = from-listener ] &&
    [ "$(cat "$dir/l.out")" = from-client ] && ok ||
    bad "$name: client exit $rc, listener $lrc, got '$out' / '$(cat "$dir/l.out")': $(cat "$dir/c.err" "$dir/l.err")"
}
transfer "-l -p PORT, -n -N" -l -p 5000 -- -n -N 198.18.77.1 5000
transfer "-nlp PORT" -nl -p 5000 -- 198.18.77.1 5000
transfer "-l ADDR PORT" -l 198.18.77.1 5000 -- 198.18.77.1 5000
transfer "-l -p PORT ADDR" -l -p 5000 198.18.77.1 -- 198.18.77.1 5000
transfer "-l localhost PORT" -l localhost 5000 -- 198.18.77.1 5000
transfer "-4" -4 -l 5000 -- -4 198.18.77.1 5000

# expect_usage_error WORD ARGS...: exit 2 with one line naming WORD.
expect_usage_error() {
  local word=$1 err rc
  shift
  err=$("$synack" cat "$@" 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && grep -q -- "$word" <<<"$err" && ok ||
    bad "'cat $*' exits $rc: $err"
}
links
expect_usage_error "--tun-host-addr" "${C[@]}" localhost 5000
expect_usage_error "-z" -z -l 5000 "${C[@]}"
expect_usage_error "-z" -zu "${C[@]}" 198.18.77.1 5000
expect_usage_error "give the port to listen on once" -l -p 5000 6000 "${C[@]}"
expect_usage_error "-6" -6 "${C[@]}" 198.18.77.1 5000
help=$("$synack" cat --help)
for o in "-z  " "-n, -N" "-l -p PORT" "localhost" "-q SECS  *exit SECS after the end of stdin. TCP"; do
  grep -q -- "$o" <<<"$help" && ok || bad "cat --help does not document '$o'"
done

# -z: an open port is 0 at once, without reading stdin (a terminal-like stdin that never
# ends); -v says it succeeded. A closed one is "refused", 1.
links
listener /dev/null -l 5000
err=$(timeout --foreground -k 5 5 "$synack" cat -z -v "${C[@]}" 198.18.77.1 5000 < <(sleep 10) 2>&1 >/dev/null)
rc=$?
[ $rc -eq 0 ] && grep -q "connection to 198.18.77.1:5000 succeeded" <<<"$err" && ok ||
  bad "-z to an open port: exit $rc: $err"
kill "$lpid" 2>/dev/null
links
listener /dev/null -l 5000
err=$(timeout --foreground -k 5 5 "$synack" cat -z "${C[@]}" 198.18.77.1 5001 </dev/null 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && grep -q "refused" <<<"$err" && ok || bad "-z to a closed port: exit $rc: $err"
kill "$lpid" 2>/dev/null

# -q 0 with TCP: the end of stdin, our data and FIN acknowledged, and it exits 0 although
# the listener (whose stdin stays open) has not closed.
links
mkfifo "$dir/open"
sleep 10 >"$dir/open" &
pids+=($!)
listener "$dir/open" -l 5000
t0=$(date +%s%N)
echo bye | timeout --foreground -k 5 5 "$synack" cat -q 0 "${C[@]}" 198.18.77.1 5000 >/dev/null 2>"$dir/c.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] && [ $ms -lt 3000 ] && ok || bad "-q 0: exit $rc after $ms ms: $(cat "$dir/c.err")"
kill "$lpid" 2>/dev/null

# -w 1: a peer that takes the link's datagrams and never answers (a bare UDP socket on the
# link's other port): timed out after about a second.
links
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(10)' "$LPORT" &
pids+=($!)
wait_bound "$LPORT"
t0=$(date +%s%N)
err=$(timeout --foreground -k 5 5 "$synack" cat -w 1 "${C[@]}" 198.18.77.1 5000 </dev/null 2>&1 >/dev/null)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 1 ] && [ $ms -ge 900 ] && [ $ms -lt 3000 ] && grep -q "timed out" <<<"$err" && ok ||
  bad "-w 1 to a silent peer: exit $rc after $ms ms: $err"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
