#!/usr/bin/env bash
# interop.udp_cat: two unprivileged `synack cat` processes speak TCP to each other over UDP
# encapsulation on 127.0.0.1 (one listens with -l, one connects). Checks, each with its own
# seed:
#   clean      50 MB client -> server, sha256 of what arrives equals the source; the -v
#              lines show UDP GSO trains sent and UDP GRO buffers taken
#   plain      the same with --udp-offload off on both ends: neither used
#   lossy      the same with --loss 2% --reorder 1% --dup 1% on both ends' links
#   both-ways  20 MB each way at once, each side half-closing at its end of stdin
#   refused    connecting to a port nobody listens on fails with exit 1 and the one line
#              "refused"; run again with -v, its summary shows it was refused at once:
#              one segment sent (the SYN, never retransmitted), one RST received
# Both processes run as nobody (uid 65534) when started as root. Everything is bounded by
# `timeout`, and the whole test by a watchdog (UDP_CAT_BUDGET s) that ends it, cleanup
# included, before CTest's 300 s TIMEOUT; only PIDs started here are killed; the temp dir
# goes away on exit. (IPv6 inside and outside: udp_ipv6.sh.)
# Usage: udp_cat.sh PATH/TO/synack
set -u
# For start_watchdog and refused_at_once only (this test needs no root, no namespace).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/udp.sh
source "$(dirname "$0")/lib/udp.sh"

BOTH_SIZE=${UDP_CAT_BOTH_MB:-20} # megabytes each way for the two-way run
# Worst case without the watchdog: 3 pairs x (10 s for the port + LIMIT) + 2 x 10 s for
# the refused runs = 230 s with the defaults; the watchdog caps it whatever the knobs say.
udp_init udpcat "${1:?usage: udp_cat.sh PATH/TO/synack}" "${UDP_CAT_BUDGET:-250}"

head -c $((UDP_SIZE * MB)) /dev/urandom >"$dir/src"
head -c $((BOTH_SIZE * MB)) /dev/urandom >"$dir/src2"
chmod 644 "$dir/src" "$dir/src2"

one_way clean 101
one_way lossy 202 --loss 2% --reorder 1% --dup 1%
check_impaired lossy

# check_offloads NAME WANT: each end's -v line about the UDP offloads says WANT ("on" or
# "off"); with them on, the client sent trains (its data segments, one length in a row)
# and the server received merged buffers; off, neither.
check_offloads() {
  local name=$1 want=$2 cl sl trains merged
  cl=$(grep -h ": udp: offloads:" "$dir/$name.client.err")
  sl=$(grep -h ": udp: offloads:" "$dir/$name.server.err")
  trains=$(sed -n 's/.*; \([0-9]*\) trains of.*/\1/p' <<<"$cl")
  merged=$(sed -n 's/.* \([0-9]*\) merged buffers of.*/\1/p' <<<"$sl")
  if [ "$want" = on ] && [[ "$cl$sl" == *"refused by the kernel"* ]]; then
    report "$name-offloads" 0 "skipped: this kernel refuses the UDP offloads ('$cl')"
  elif [ "$want" = on ] && [[ $cl == *"UDP GSO on, UDP GRO on"* ]] &&
    [[ $sl == *"UDP GSO on, UDP GRO on"* ]] &&
    [ "${trains:-0}" -gt 0 ] && [ "${merged:-0}" -gt 0 ]; then
    report "$name-offloads" 0 "client sent $trains trains, server took $merged merged buffers"
  elif [ "$want" = off ] && [[ $cl == *"UDP GSO off, UDP GRO off"* ]] &&
    [[ $sl == *"UDP GSO off, UDP GRO off"* ]] && [ "$trains" = 0 ] && [ "$merged" = 0 ]; then
    report "$name-offloads" 0 "off both ends, no train, no merged buffer"
  else
    report "$name-offloads" 1 "client: '$cl'; server: '$sl'"
  fi
}
check_offloads clean on
# The same transfer with the offloads off on both ends: one datagram per packet.
one_way plain 404 --udp-offload off
check_offloads plain off

# Both ways at once: each side sends its file and half-closes at its end; each must
# receive the other's file whole.
run_pair both 303 "$dir/src2" "$dir/src" || fail=$((fail + 1))
if [ "$s_rc" -eq 0 ] && [ "$c_rc" -eq 0 ] && same "$dir/src" "$dir/out/both.server" &&
  same "$dir/src2" "$dir/out/both.client"; then
  report both 0 "$UDP_SIZE MB client -> server and $BOTH_SIZE MB server -> client at once, both sha256 equal (${secs}s)"
else
  report both 1 "server exit $s_rc, client exit $c_rc, server got $(stat -c %s "$dir/out/both.server") bytes, client got $(stat -c %s "$dir/out/both.client") bytes"
  show_logs both
fi

# Refused: the listener's stack answers a SYN to another port with RST; the client says
# so, and at once: its -v counters show the RST answered the first SYN (no retransmission),
# whatever the time it took.
refused_pair refused "synack cat: connection to 198.18.77.1:5001 refused"

udp_finish
