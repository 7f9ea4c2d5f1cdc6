#!/usr/bin/env bash
# `synack trace` as a person meets it, on captures `synack demo --pcap` writes (no root, no
# network): the list, the ladder of a lossy transfer (retransmissions, duplicate ACKs,
# SACK blocks, both ends' states), --port, an SVG graph that parses as XML; and bad input
# (a missing, empty, non-capture or cut-short file, no such connection, bad options), each
# one line on stderr with the documented exit status, never a crash.
# Usage: trace_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL: $*"
  fail=$((fail + 1))
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/synack-trace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# expect RC WORD ARGS...: `synack trace ARGS` exits RC and its output holds WORD.
expect() {
  local want=$1 word=$2 out rc
  shift 2
  out=$("$synack" trace "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    bad "'trace $*' exits $rc, not $want: $(head -n 3 <<<"$out")"
  elif ! grep -q -- "$word" <<<"$out"; then
    bad "'trace $*' does not say '$word': $(head -n 3 <<<"$out")"
  else
    ok
  fi
}

"$synack" demo --quiet --bytes 64K --loss 5% --seed 3 --pcap "$tmp/lossy.pcap" >/dev/null
"$synack" demo --quiet --bytes 4K --ipv6 --pcap "$tmp/v6.pcap" >/dev/null

expect 0 "usage: synack trace" --help
expect 0 " 1 connection$" "$tmp/lossy.pcap"
expect 0 "FIN both" "$tmp/lossy.pcap"
expect 0 "RETRANSMISSION" "$tmp/lossy.pcap" --conn 1
expect 0 "dup ACK #3" "$tmp/lossy.pcap" --conn 1
expect 0 "sack " "$tmp/lossy.pcap" --conn 1
expect 0 "mss 1460, sackOK, TS, wscale" "$tmp/lossy.pcap" --conn 1
expect 0 "^A 198.18.0.1:[0-9]*: CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT$" \
  "$tmp/lossy.pcap" --port 80
expect 0 "^B 198.18.0.2:80: LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED$" \
  "$tmp/lossy.pcap" --port 80
expect 0 "\[2001:db8::2\]:80" "$tmp/v6.pcap"
expect 0 "^-: raw IP" - <"$tmp/v6.pcap"

if "$synack" trace "$tmp/lossy.pcap" --svg "$tmp/g.svg" >/dev/null &&
  python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' "$tmp/g.svg"; then
  ok
else
  bad "--svg does not write an SVG that parses as XML"
fi
if grep -q 'stroke="red"' "$tmp/g.svg"; then ok; else bad "the lossy graph draws no retransmission in red"; fi

: >"$tmp/empty.pcap"
printf 'GET / HTTP/1.1\r\n\r\n' >"$tmp/http.txt"
head -c 2000 "$tmp/lossy.pcap" >"$tmp/cut.pcap"
expect 1 "is empty" "$tmp/empty.pcap"
expect 1 "not a capture file" "$tmp/http.txt"
expect 1 "cannot open" "$tmp/missing.pcap"
expect 0 "partial: the file is cut short" "$tmp/cut.pcap"
expect 1 "no connection 7" "$tmp/lossy.pcap" --conn 7
expect 1 "no connection with port 9" "$tmp/lossy.pcap" --port 9
expect 2 "unknown option" "$tmp/lossy.pcap" --frobnicate
expect 2 "which capture file" --conn 1
expect 2 "wants a number" "$tmp/lossy.pcap" --conn x

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
