#!/usr/bin/env bash
# ICMP errors from a Linux router reach synack's TCP connection. The test's namespace
# routes: synack's TUN (198.18.0.0/24) on one side, and on the other a veth link to a
# second namespace (198.18.2.0/24) whose router end has MTU 1280 while the far end has
# 1500 (so the kernel peer offers MSS 1460 and only the router knows the bottleneck).
# synack uses --addr 198.18.0.2/16, so 198.18.2.2 is on its link.
#   frag_needed  RFC 1191: synack cat -> kernel nc -l across the 1280-byte hop, 5 MB.
#                The router answers the first full-sized segments with ICMP
#                fragmentation-needed; synack lowers its segment size and the transfer
#                completes byte-exact. Checked in synack's capture: every segment carries
#                DF, the ICMP arrived, and no segment after it exceeds 1280 bytes.
#   unreachable  RFC 1122 §4.2.3.9: SYNs towards a route of type `unreachable` get ICMP
#                host-unreachable (a soft error: the connection is not aborted at once);
#                when `synack cat -w 3` gives up, the error it reports names the
#                unreachability ("unreachable" or "no route"), not a bare timeout.
# Usage: icmp.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init icmp "${1:-}" nc ss tshark

NS2=$NS-far
if ! ip netns add "$NS2"; then
    skip "cannot create a second network namespace"
fi
# shellcheck disable=SC2317 # called by the cleanup (interop_on_exit)
cleanup_far() { ip netns del "$NS2" 2>/dev/null || true; }
interop_on_exit cleanup_far
BOTTLENECK=1280

# $NS routes. Written through /proc (sysctl(8) is procps, which scripts/deps.sh does not
# install); /proc/sys/net is per namespace, so this touches only $NS.
ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' ||
    skip "cannot enable forwarding in $NS (/proc/sys/net/ipv4/ip_forward)"
[ "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] ||
    skip "forwarding stays off in $NS (/proc/sys/net/ipv4/ip_forward does not read 1)"
# The veth link and the routes; without them no case can run here.
{
    ip -n "$NS" link add vr type veth peer name ve netns "$NS2" &&
        ip -n "$NS" addr add 198.18.2.1/24 dev vr &&
        ip -n "$NS" link set vr mtu "$BOTTLENECK" up &&
        ip -n "$NS2" addr add 198.18.2.2/24 dev ve &&
        ip -n "$NS2" link set ve up &&
        ip -n "$NS2" link set lo up &&
        ip -n "$NS2" route add 198.18.0.0/24 via 198.18.2.1 &&
        ip -n "$NS" route add unreachable 198.18.5.0/24
} || skip "cannot set up the veth link and routes between $NS and $NS2 (veth support?)"

OPTS=(--link "tun:$TUN" --addr "$SYNACK_IP/16" --tun-host-addr "$SYNACK_HOST_IP/$SYNACK_PREFIX")

case_begin frag_needed
random_file "$DIR/data" 5
ip netns exec "$NS2" timeout -k 5 "$T_XFER" nc -l -d 5000 </dev/null >"$DIR/pmtu.kernel.out" \
    2>"$DIR/pmtu.nc.log" &
n_pid=$!
INTEROP_PIDS+=("$n_pid")
listening=0
for _ in $(seq 200); do
    if ip netns exec "$NS2" ss -Hltn 'sport = :5000' | grep -q .; then
        listening=1
        break
    fi
    sleep 0.05
done
if [ "$listening" -eq 1 ]; then
    rc=0
    ns_timeout_fg "$T_XFER" "$SYNACK" cat "${OPTS[@]}" -v --pcap "$DIR/pmtu.pcap" 198.18.2.2 5000 \
        <"$DIR/data" >/dev/null 2>"$DIR/pmtu.synack.log" || rc=$?
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$n_pid" 10 "kernel nc -l"
    else
        stop_bg "$n_pid"
    fi
    check_rc "synack cat" "$rc" "$DIR/pmtu.synack.log"
    check_rc "kernel nc -l" "$WAIT_RC" "$DIR/pmtu.nc.log"
    check_same "synack -> kernel across a $BOTTLENECK-byte hop" "$DIR/data" "$DIR/pmtu.kernel.out"
    first_icmp=$(tshark -n -r "$DIR/pmtu.pcap" -Y 'icmp.type == 3 && icmp.code == 4' \
        -T fields -e frame.number 2>/dev/null | head -n 1)
    ours='tcp && !icmp && ip.src == '$SYNACK_IP
    no_df=$(tshark_frames "$DIR/pmtu.pcap" "$ours && ip.flags.df == 0")
    log "  first ICMP fragmentation-needed: frame ${first_icmp:-none}; segments without DF: $no_df"
    [ "$no_df" -eq 0 ] || fail "$no_df segments of synack lack DF (RFC 1191 §3: path MTU discovery sets DF)"
    if [ -z "$first_icmp" ]; then
        fail "no ICMP fragmentation-needed in the capture: the bottleneck was never hit"
    else
        big=$(tshark_frames "$DIR/pmtu.pcap" \
            "$ours && frame.number > $first_icmp && ip.len > $BOTTLENECK")
        [ "$big" -eq 0 ] ||
            fail "$big segments larger than $BOTTLENECK bytes were sent after the ICMP fragmentation-needed"
    fi
else
    fail "the kernel nc -l in $NS2 never listened"
    stop_bg "$n_pid"
fi
wait_tun_gone
case_end

case_begin unreachable
rc=0
ns_timeout_fg 10 "$SYNACK" cat "${OPTS[@]}" -w 3 198.18.5.1 5000 </dev/null >/dev/null \
    2>"$DIR/unreach.err" || rc=$?
case $rc in
    1) ;;
    124 | 137) fail "synack cat -w 3 did not give up within 10 s" ;;
    *) fail "status $rc, expected 1" ;;
esac
log "  status $rc: $(head -n 1 "$DIR/unreach.err")"
grep -qiE 'unreachable|no route' "$DIR/unreach.err" ||
    fail "the error does not name the ICMP host-unreachable the connection received"
wait_tun_gone
case_end

interop_finish
