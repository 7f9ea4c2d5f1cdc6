#!/usr/bin/env bash
# interop.udp_ipv6: two unprivileged `synack cat` processes speak TCP over IPv6 to each
# other through UDP encapsulation, with IPv4 or IPv6 outside (the UDP sockets). Checks,
# each with its own seed:
#   inner6-outer4   20 MB client -> server over IPv6 (RFC 8200) between two stacks that
#                   each hold an IPv4 and an IPv6 address (--addr given twice), in UDP
#                   over 127.0.0.1; the client connects to the listener's IPv6 address
#                   (a listener of both families takes it), and the listener's -v log
#                   names the client in brackets
#   inner6-outer6   the same between IPv6-only stacks, in UDP over [::1]
#   inner4-outer6   IPv4 inside, UDP over [::1] outside
#   lossy6          inner6-outer6 with --loss 2% --reorder 1% --dup 1% on both links,
#                   and both links' counters show the impairments did happen
#   refused6        a connection to a port nobody listens on, over IPv6: exit 1 and the
#                   one line "connection to [2001:db8:77::1]:5001 refused" (brackets);
#                   with -v, refused by the first RST
# The cases over [::1] are skipped (with a message) where the host has no IPv6 loopback.
# Both processes run as nobody (uid 65534) when started as root. Everything is bounded by
# `timeout`, the whole test by a watchdog (UDP_CAT_BUDGET s); only PIDs started here are
# killed; the temp dir goes away on exit.
# Usage: udp_ipv6.sh PATH/TO/synack
set -u
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/udp.sh
source "$(dirname "$0")/lib/udp.sh"

UDP_SIZE=${UDP_IPV6_MB:-20}
# Worst case without the watchdog: 4 pairs x (10 s for the port + LIMIT) + 2 x 10 s for
# the refused runs = 300 s with the defaults; the watchdog caps it before CTest's TIMEOUT.
udp_init udpipv6 "${1:?usage: udp_ipv6.sh PATH/TO/synack}" "${UDP_CAT_BUDGET:-250}"

head -c $((UDP_SIZE * MB)) /dev/urandom >"$dir/src"
chmod 644 "$dir/src"

# Dual-stack stacks inside IPv4 UDP; the connection is IPv6.
UDP_OUTER=127.0.0.1
UDP_SERVER_ADDRS=(--addr 198.18.77.1/24 --addr 2001:db8:77::1/64)
UDP_CLIENT_ADDRS=(--addr 198.18.77.2/24 --addr 2001:db8:77::2/64)
UDP_HOST=2001:db8:77::1
one_way inner6-outer4 601
if grep -q "accepted a connection from \[2001:db8:77::2\]:" "$dir/inner6-outer4.server.err"; then
  report inner6-outer4-log 0 "the listener's -v log names its IPv6 client [2001:db8:77::2]:PORT"
else
  report inner6-outer4-log 1 "the listener's -v log does not name the client [2001:db8:77::2]:PORT"
fi

# Is there an IPv6 loopback to put the UDP sockets on?
if ! grep -qi '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
  echo "SKIP inner6-outer6, inner4-outer6, lossy6, refused6: this host has no IPv6 loopback (::1)"
  udp_finish
  exit
fi

UDP_OUTER='[::1]'
UDP_SERVER_ADDRS=(--addr 2001:db8:77::1/64)
UDP_CLIENT_ADDRS=(--addr 2001:db8:77::2/64)
UDP_HOST='[2001:db8:77::1]' # the form in brackets is taken too
one_way inner6-outer6 602

UDP_SERVER_ADDRS=(--addr 198.18.77.1/24)
UDP_CLIENT_ADDRS=(--addr 198.18.77.2/24)
UDP_HOST=198.18.77.1
one_way inner4-outer6 603

UDP_SERVER_ADDRS=(--addr 2001:db8:77::1/64)
UDP_CLIENT_ADDRS=(--addr 2001:db8:77::2/64)
UDP_HOST=2001:db8:77::1
one_way lossy6 604 --loss 2% --reorder 1% --dup 1%
check_impaired lossy6

refused_pair refused6 "synack cat: connection to [2001:db8:77::1]:5001 refused"

udp_finish
