#!/usr/bin/env bash
# TCP over IPv6 (RFC 8200) between synack and the Linux kernel over a TUN device, inside a
# network namespace this test creates. Every synack run holds two addresses, 198.18.0.2/24
# and 2001:db8::2/64, and gives the kernel's side 198.18.0.1/24 and 2001:db8::1/64 (both
# --addr and --tun-host-addr given twice), so each case also checks that IPv6 works beside
# IPv4 on one stack and one device:
#   kernel_to_synack  kernel `nc -6 -N 2001:db8::2` -> `synack cat -l` (no -6: a listener
#                     of both families), 20 MB byte-exact, both exit 0; synack's -v log
#                     names the peer [2001:db8::1]:PORT
#   synack_to_kernel  `synack cat [2001:db8::1] PORT` (the bracket form) -> kernel
#                     `nc -6 -l`, 20 MB byte-exact, both exit 0
#   refused           `synack cat 2001:db8::1 5999` with no kernel listener: exit 1 and the
#                     one line "connection to [2001:db8::1]:5999 refused"
#   http_curl         `curl -g -6 'http://[2001:db8::2]:80/big.bin'` against `synack http`:
#                     200 and 20 MB byte-exact; the same server answers curl -4 on
#                     198.18.0.2 (one listener, both families); its -v access log names
#                     the IPv6 client in brackets
#   tshark            1 MB kernel -> synack and 5 MB synack -> kernel at once over IPv6,
#                     captured by synack --pcap; tshark with TCP checksum validation finds
#                     every TCP packet IPv6 between 2001:db8::2 and 2001:db8::1, checksums
#                     good, nothing malformed, no expert error, and nothing else but the
#                     kernel's own IPv6 multicast (router solicitations, MLD reports)
#   ping6             ICMPv6 echo (RFC 4443 §4.1, §4.2) needs ICMPv6 in the core. A first
#                     single `ping -6 -c 1 2001:db8::2` decides: no reply, and the case is
#                     skipped saying why; a reply, and `ping -6 -s 3000` must get 3 intact
#                     replies (the kernel fragments the requests, RFC 8200 §4.5, synack
#                     reassembles them and fragments its replies)
# Usage: ipv6.sh PATH/TO/synack   (SYNACK_INTEROP_MB=N changes the 20 MB)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
INTEROP_IPV6=1
interop_init ipv6 "${1:-}" nc ss curl tshark ping
[ -d /proc/sys/net/ipv6 ] || skip "the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)"

MB=${SYNACK_INTEROP_MB:-20}
random_file "$DIR/big" "$MB"
random_file "$DIR/a" 1
random_file "$DIR/b" 5
KERNEL_ADDR=$SYNACK_HOST_IP6
TARGET_ADDR=$SYNACK_IP6
TARGET_URL_HOST="[$SYNACK_IP6]:80"
FAMILY_FLAG=(-6)

case_begin kernel_to_synack
xfer_from_kernel k2s "$DIR/big" 5000
grep -q "accepted a connection from \[$SYNACK_HOST_IP6\]:" "$DIR/k2s.synack.log" ||
    fail "synack's -v log does not name its peer as [$SYNACK_HOST_IP6]:PORT"
case_end

case_begin synack_to_kernel
KERNEL_ADDR="[$SYNACK_HOST_IP6]" xfer_to_kernel s2k "$DIR/big" 5001
case_end

case_begin refused
run_opts refused
quiet=()
for o in "${RUN_OPTS[@]}"; do [ "$o" = -v ] || quiet+=("$o"); done # one line without -v
rc=0
ns_timeout_fg "$T_SHORT" "$SYNACK" cat "${quiet[@]}" "$SYNACK_HOST_IP6" 5999 </dev/null \
    >/dev/null 2>"$DIR/refused.err" || rc=$?
msg=$(cat "$DIR/refused.err")
[ "$rc" -eq 1 ] || fail "status $rc, expected 1"
[ "$msg" = "synack cat: connection to [$SYNACK_HOST_IP6]:5999 refused" ] ||
    fail "stderr is '$msg'"
log "  status $rc: $msg"
wait_tun_gone
case_end

case_begin http_curl
mkdir -p "$DIR/www"
cp "$DIR/big" "$DIR/www/big.bin"
if http_start http "$DIR/www"; then
    http_get_file http6 big.bin "$DIR/www/big.bin"
    FAMILY_FLAG=(-4)
    TARGET_URL_HOST=$SYNACK_IP http_get_file http4 big.bin "$DIR/www/big.bin"
    FAMILY_FLAG=(-6)
    grep -q "synack http: \[$SYNACK_HOST_IP6\]:[0-9]* GET /big.bin 200" "$HTTP_LOG" ||
        fail "the access log does not name the IPv6 client in brackets"
else
    fail "synack http did not come up"
fi
http_stop
case_end

case_begin tshark
two_way tshark 5002
tshark_check "$DIR/tshark.pcap" 5002 "$SYNACK_IP6" "$SYNACK_HOST_IP6"
case_end

case_begin ping6
if listen_forever ping6 5003; then
    if ns_timeout "$T_SHORT" ping -6 -n -c 1 -W 2 "$SYNACK_IP6" >"$DIR/ping6.probe.log" 2>&1; then
        check_ping ping6_frag -s 3000
        is_running "$CAT_PID" || fail "synack cat -l exited while it should be listening"
        stop_bg "$CAT_PID"
        case_end
    else
        stop_bg "$CAT_PID"
        case_skip "synack does not answer ICMPv6 echo yet (no ICMPv6 in the core): a single" \
            "ping -6 got no reply, so ping -6 -s 3000 is not checked"
    fi
else
    stop_bg "$CAT_PID"
    case_end
fi
wait_tun_gone

interop_finish
