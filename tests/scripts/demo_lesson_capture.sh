#!/usr/bin/env bash
# `synack demo --scenario` with --pcap and --ipv6 beyond the TCP lessons: the UDP, SYN
# flood and TCP-over-UDP runs write a capture that reads back (synack trace for TCP,
# tshark for the datagrams when it is installed), their addresses are IPv6 with --ipv6,
# and syn-flood refuses --ipv6 in one line that says why.
# Usage: demo_lesson_capture.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_tshark() { command -v tshark >/dev/null; }

# tcp-vs-udp: the file holds the last run (TCP), over IPv6 with --ipv6.
"$synack" demo --scenario tcp-vs-udp --ipv6 --pcap "$tmp/tu.pcap" --quiet >"$tmp/out" 2>/dev/null
rc=$?; [ $rc -eq 0 ] && ok || bad "tcp-vs-udp --ipv6 --pcap exits $rc"
trace=$("$synack" trace "$tmp/tu.pcap" 2>&1)
grep -q '\[2001:db8::1\]:[0-9]* *\[2001:db8::2\]:80' <<<"$trace" && ok \
  || bad "tcp-vs-udp's capture does not hold the IPv6 connection: $trace"

# reliable-udp: the outer datagrams are captured; the inner TCP is IPv6 with --ipv6.
"$synack" demo --scenario reliable-udp --ipv6 --pcap "$tmp/ru.pcap" >"$tmp/out" 2>"$tmp/err"
rc=$?; [ $rc -eq 0 ] && ok || bad "reliable-udp --ipv6 --pcap exits $rc: $(cat "$tmp/err")"
[ -s "$tmp/ru.pcap" ] && ok || bad "reliable-udp wrote no capture"
grep -q 'client 2001:db8::1' "$tmp/out" && ok || bad "reliable-udp --ipv6: the ladder is not IPv6"
grep -q 'handshake 1/3' "$tmp/out" && ok || bad "reliable-udp --ipv6: no handshake on the ladder"
if have_tshark; then
  outer=$(tshark -r "$tmp/ru.pcap" 2>/dev/null)
  grep -q '203.0.113.1 → 203.0.113.2 *UDP' <<<"$outer" && ok \
    || bad "tshark reads no datagrams in reliable-udp's capture: $(head -3 <<<"$outer")"
  inner=$(tshark -r "$tmp/ru.pcap" -d udp.port==7000,ipv6 2>/dev/null)
  grep -q '2001:db8::1 → 2001:db8::2 *TCP .*\[SYN\]' <<<"$inner" && ok \
    || bad "reliable-udp's datagrams do not carry the IPv6 SYN: $(head -3 <<<"$inner")"
fi

# syn-flood: a capture of the flood; --ipv6 refused in one line.
"$synack" demo --scenario syn-flood --pcap "$tmp/sf.pcap" --quiet >/dev/null 2>&1
rc=$?; [ $rc -eq 0 ] && ok || bad "syn-flood --pcap exits $rc"
trace=$("$synack" trace "$tmp/sf.pcap" 2>&1 | head -1)
grep -q 'raw IP, [0-9]* packets, [0-9]* TCP segments' <<<"$trace" && ok \
  || bad "syn-flood's capture does not read back: $trace"
err=$("$synack" demo --scenario syn-flood --ipv6 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && ok || bad "syn-flood --ipv6 exits $rc, not 2"
[ "$(wc -l <<<"$err")" -eq 1 ] && grep -q 'IPv4 only' <<<"$err" && ok \
  || bad "syn-flood --ipv6 does not say why in one line: $err"

echo "demo_lesson_capture: $pass passed, $fail failed"
[ $fail -eq 0 ]
