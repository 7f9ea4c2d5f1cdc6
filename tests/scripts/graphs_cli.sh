#!/usr/bin/env bash
# The graphs of `synack trace --svg/--html` and `synack demo --svg/--html` as a person gets
# them (no root, no network): SVGs that parse as XML with their panels (time-sequence,
# throughput, RTT, in flight; the demo's cwnd) holding data; RTT samples that are the
# simulator's round trip (the demo records at the client: 2 x --delay, to the serialisation
# of a segment or two) and none from an ACK of resent data (Karn: with loss, no sample
# stretches past the path's round trip); a capture that starts mid-connection marked
# partial; pages that are one file fetching nothing, with the ladder and the SVG inline; a
# lesson's graphs; and an output that cannot be written, one line on stderr.
# Usage: graphs_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL: $*"
  fail=$((fail + 1))
}
check() { # check WHAT COMMAND...: one assertion, its failure said with WHAT
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}
command -v python3 >/dev/null || {
  echo "SKIP: python3 not installed"
  exit 77
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/synack-graphs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# svg_check FILE ARGS...: parses FILE (an SVG, or the one inside a page) and checks it
# (tests/scripts/graphs_check.py: --panels, --rtt-min-ms, --rtt-max-ms, --partial, ...).
svg_check() { python3 "$(dirname "$0")/graphs_check.py" "$@"; }

# A clean transfer over a 20 ms path at 10 Gbit/s (a segment's serialisation and any queue
# a few microseconds): every RTT sample is 40 ms, to a tenth of a millisecond.
"$synack" demo --quiet --bytes 256K --delay 20 --rate 10000 --svg "$tmp/clean.svg" >/dev/null
check "the demo's SVG: its panels, RTT 40..40.1 ms" \
  svg_check "$tmp/clean.svg" --panels tsg,throughput,rtt,inflight,cwnd --rtt-min-ms 40 \
  --rtt-max-ms 40.1 --min-rtt-samples 10 --not-partial

# With loss: retransmissions, and still no sample longer than the path (Karn); some ACKs
# of resent data skipped. Without Karn a resent segment's ACK measures from its first
# sending, a round trip or more too long.
"$synack" demo --quiet --bytes 256K --delay 20 --rate 10000 --loss 2% --seed 3 \
  --svg "$tmp/lossy.svg" --pcap "$tmp/lossy.pcap" >/dev/null
check "the lossy demo's SVG: RTT 40..40.1 ms, Karn skipped some" \
  svg_check "$tmp/lossy.svg" --panels tsg,throughput,rtt,inflight,cwnd --rtt-min-ms 40 \
  --rtt-max-ms 40.1 --karn-skipped --retransmissions

# trace on the same run's capture (the simulator's, every packet when sent): the panels,
# and the page.
"$synack" trace "$tmp/lossy.pcap" --svg "$tmp/trace.svg" --html "$tmp/trace.html" >/dev/null
check "trace --svg: its panels" svg_check "$tmp/trace.svg" --panels tsg,throughput,rtt,inflight \
  --no-panel cwnd --min-rtt-samples 10 --karn-skipped
check "trace --html: a page of its own with the ladder, the states and the SVG" \
  svg_check "$tmp/trace.html" --html --panels tsg,throughput,rtt,inflight \
  --contains 'id="ladder"' --contains 'RETRANSMISSION' --contains 'id="states"' \
  --contains 'A 198.18.0.1:[0-9]+: CLOSED -&gt; SYN_SENT -&gt; ESTABLISHED'

# The capture without its first five records (the handshake and more): partial.
python3 - "$tmp/lossy.pcap" "$tmp/mid.pcap" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
import struct
off = 24
for _ in range(5):
    off += 16 + struct.unpack(endian + "I", data[off + 8:off + 12])[0]
open(sys.argv[2], "wb").write(data[:24] + data[off:])
EOF
"$synack" trace "$tmp/mid.pcap" --svg "$tmp/mid.svg" >/dev/null
check "a capture from mid-connection is marked partial" svg_check "$tmp/mid.svg" --partial \
  --panels tsg,throughput,rtt,inflight

# The demo's page.
"$synack" demo --bytes 16K --html "$tmp/demo.html" >"$tmp/demo.out"
check "demo --html: one page with the ladder, the states and the SVG" \
  svg_check "$tmp/demo.html" --html --panels tsg,throughput,rtt,inflight,cwnd \
  --contains 'handshake 1/3' --contains '&lt;---' --contains 'client: CLOSED -&gt; SYN_SENT'
check "demo --html still prints the ladder" grep -q 'handshake 1/3' "$tmp/demo.out"
"$synack" demo --quiet --bytes 16K --html "$tmp/quiet.html" >"$tmp/quiet.out"
check "demo --quiet --html: the page has the ladder, the terminal not" \
  bash -c "grep -q 'handshake 1/3' '$tmp/quiet.html' && ! grep -q 'handshake 1/3' '$tmp/quiet.out'"

# A lesson.
"$synack" demo --scenario congestion --svg "$tmp/cong.svg" --html "$tmp/cong.html" >/dev/null
check "demo --scenario congestion --svg: cwnd and RTT drawn" \
  svg_check "$tmp/cong.svg" --panels tsg,throughput,rtt,inflight,cwnd --min-rtt-samples 100
check "demo --scenario congestion --html" svg_check "$tmp/cong.html" --html --panels cwnd \
  --contains 'synack demo --scenario congestion'

# Outputs that cannot be written, and a lesson with nothing to draw: one line, status 1.
one_line_error() { # one_line_error WORD COMMAND...
  local word=$1 err rc
  shift
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q -- "$word" <<<"$err" ||
    { echo "  rc $rc: $err"; return 1; }
}
check "trace --svg to a missing directory" one_line_error "cannot write $tmp/no/g.svg" \
  "$synack" trace "$tmp/lossy.pcap" --svg "$tmp/no/g.svg"
check "trace --html to a missing directory" one_line_error "cannot write" \
  "$synack" trace "$tmp/lossy.pcap" --html "$tmp/no/g.html"
check "demo --svg to a missing directory" one_line_error "cannot write $tmp/no/d.svg" \
  "$synack" demo --quiet --svg "$tmp/no/d.svg"
check "demo --scenario --html to a missing directory" one_line_error "cannot write" \
  "$synack" demo --scenario handshake --html "$tmp/no/d.html"
check "a SYN-flood lesson has no TCP run to draw" one_line_error "no TCP run to draw" \
  "$synack" demo --scenario syn-flood --svg "$tmp/flood.svg"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
