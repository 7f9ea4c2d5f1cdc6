#!/usr/bin/env bash
# `synack demo` as a person meets it: --help documents every option, a bad option or
# value gets a one-line error and exit status 2, --json carries every required key, and
# the text output shows the ladder, both state sequences and a matching digest.
# Usage: demo_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

help=$("$synack" demo --help); rc=$?
[ $rc -eq 0 ] && ok || bad "--help exits $rc"
for o in --bytes --loss --delay --rate --seed --pcap --server-closes --simultaneous-open \
         --simultaneous-close --quiet --json --help; do
  grep -q -- "$o" <<<"$help" && ok || bad "--help does not document $o"
done

expect_usage_error() {
  local err rc
  err=$("$synack" demo "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || { bad "'demo $*' exits $rc, not 2"; return; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { bad "'demo $*' error is not one line: $err"; return; }
  grep -q '^synack demo: ' <<<"$err" || { bad "'demo $*' error lacks the command name: $err"; return; }
  ok
}
expect_usage_error --no-such-option
expect_usage_error --bytes
expect_usage_error --bytes lots
expect_usage_error --bytes -5
expect_usage_error --loss 1.5
expect_usage_error --loss 150%
expect_usage_error --delay -1
expect_usage_error --rate 0
expect_usage_error --seed x
expect_usage_error stray-argument
expect_usage_error --server-closes --simultaneous-close

json=$("$synack" demo --json --bytes 10K --loss 2% --seed 3); rc=$?
[ $rc -eq 0 ] && ok || bad "--json run exits $rc"
[ "$(printf '%s\n' "$json" | wc -l)" -eq 1 ] && ok || bad "--json prints more than one line"
for k in bytes_sent bytes_received intact segments retransmissions sim_time_s wall_time_s states; do
  grep -q "\"$k\":" <<<"$json" && ok || bad "--json lacks $k"
done
grep -q '"bytes_sent":10240,"bytes_received":10240,"intact":true' <<<"$json" && ok \
  || bad "--json does not report 10240 bytes intact: $json"
grep -q '"client":\["CLOSED","SYN_SENT","ESTABLISHED","FIN_WAIT_1","FIN_WAIT_2","TIME_WAIT","CLOSED"\]' <<<"$json" \
  && ok || bad "--json client states wrong: $json"

text=$("$synack" demo); rc=$?
[ $rc -eq 0 ] && ok || bad "plain demo exits $rc"
for want in "handshake 1/3" "handshake 2/3" "handshake 3/3" "close 1/4" "close 4/4" \
    "client: CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED" \
    "server: CLOSED -> LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED" \
    "bytes received   65536" "MATCH"; do
  grep -qF -- "$want" <<<"$text" && ok || bad "demo output lacks '$want'"
done
grep -q "RETRANSMISSION" <<<"$("$synack" demo --loss 10% --seed 2)" && ok \
  || bad "a lossy demo marks no retransmission"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
