#!/usr/bin/env bash
# tshark reads the demo's pcap: every packet is a well-formed IPv4/TCP packet with good
# IP and TCP checksums, and the capture holds as many packets as the demo says it sent.
# Usage: tshark_demo.sh PATH/TO/synack
set -euo pipefail
synack=$1
if ! command -v tshark >/dev/null; then
  echo "SKIP: tshark is not installed (scripts/deps.sh installs it)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pcap=$dir/demo.pcap

# Loss and both directions of the close make the capture varied: retransmissions too.
"$synack" demo --loss 3% --seed 9 --pcap "$pcap" --json >"$dir/out.json"
segments=$(sed -n 's/.*"segments":\([0-9]*\).*/\1/p' "$dir/out.json")

ts() { tshark -n -r "$pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "$@" 2>/dev/null; }
total=$(ts -T fields -e frame.number | wc -l)
tcp=$(ts -Y tcp -T fields -e frame.number | wc -l)
malformed=$(ts -Y '_ws.malformed || _ws.expert.severity == error' -T fields -e frame.number | wc -l)
bad_ip=$(ts -Y 'ip.checksum.status == 0' -T fields -e frame.number | wc -l)
bad_tcp=$(ts -Y 'tcp.checksum.status == 0' -T fields -e frame.number | wc -l)
good_tcp=$(ts -Y 'tcp.checksum.status == 1' -T fields -e frame.number | wc -l)

echo "packets $total (demo says $segments), tcp $tcp, checksum-verified $good_tcp, malformed $malformed, bad ip checksum $bad_ip, bad tcp checksum $bad_tcp"
fail=0
[ "$total" -gt 0 ] || { echo "FAIL: tshark read no packet"; fail=1; }
[ "$total" -eq "$segments" ] || { echo "FAIL: capture holds $total packets, demo sent $segments"; fail=1; }
[ "$tcp" -eq "$total" ] || { echo "FAIL: $((total - tcp)) packets are not TCP to tshark"; fail=1; }
[ "$good_tcp" -eq "$total" ] || { echo "FAIL: only $good_tcp of $total TCP checksums verified good"; fail=1; }
[ "$malformed" -eq 0 ] || { echo "FAIL: $malformed malformed packets"; fail=1; }
[ "$bad_ip" -eq 0 ] || { echo "FAIL: $bad_ip bad IP checksums"; fail=1; }
[ "$bad_tcp" -eq 0 ] || { echo "FAIL: $bad_tcp bad TCP checksums"; fail=1; }
[ $fail -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
