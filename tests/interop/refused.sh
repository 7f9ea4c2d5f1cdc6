#!/usr/bin/env bash
# A connection to a port nobody listens on is refused at once, both ways (RFC 9293
# §3.10.7.1: a SYN to a CLOSED port gets a RST; §3.10.7.3: a RST acknowledging our SYN
# means "connection refused"), not after SYN retries. "At once" is asserted on counters,
# not on time: the first SYN is answered and never retransmitted.
#   synack_to_kernel  `synack cat HOST PORT` to a kernel port with no listener: status 1
#                     and one line on stderr saying "refused"; run again with -v, its
#                     summary shows one segment sent (the SYN, no retransmission) and one
#                     RST received
#   curl_to_http      curl to a synack http port with no listener: exit 7,
#                     "Connection refused", and the namespace's kernel counter of SYN
#                     retransmissions (TcpExt TCPSynRetrans) did not move
#   curl_to_cat       curl to a port other than the one synack cat -l listens on: the same
# Usage: refused.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init refused "${1:-}" curl

# A bound on each attempt, not the assertion: a refusal that needs SYN retries is caught
# by the counters (a retry comes after 1 s, so it still fits in here).
BOUND=10

# check_curl_refused LABEL PORT: curl exits 7 and says "Connection refused", and the
# kernel retransmitted no SYN meanwhile (nothing else in the namespace opens connections).
check_curl_refused() {
    local rc=0 before after
    before=$(ns_tcpext TCPSynRetrans)
    [ -n "$before" ] || fail "no TcpExt TCPSynRetrans counter in /proc/net/netstat of $NS"
    ns_timeout "$BOUND" curl -v -sS --max-time "$BOUND" "http://$SYNACK_IP:$2/" \
        >/dev/null 2>"$DIR/$1.curl.log" || rc=$?
    after=$(ns_tcpext TCPSynRetrans)
    case $rc in
        7) grep -q 'Connection refused' "$DIR/$1.curl.log" ||
            fail "curl exited 7 but never said 'Connection refused'" ;;
        124 | 137 | 28) fail "curl to port $2 not refused within $BOUND s (status $rc)" ;;
        *) fail "curl to port $2: status $rc, expected 7 (refused)"; show_log "$DIR/$1.curl.log" ;;
    esac
    [ "$before" = "$after" ] ||
        fail "the kernel retransmitted its SYN to port $2 (TCPSynRetrans $before -> $after): not refused at once"
    log "  curl to port $2: status $rc, SYN retransmissions $before -> $after:" \
        "$(grep -m1 'Connection refused' "$DIR/$1.curl.log")"
}

case_begin synack_to_kernel
opts=(--link "tun:$TUN" --addr "$SYNACK_IP/$SYNACK_PREFIX" --tun-host-addr "$SYNACK_HOST_IP/$SYNACK_PREFIX")
# check_status RC: 1, and not a timeout of ours.
check_status() {
    case $1 in
        1) ;;
        0) fail "synack cat to a closed port exited 0" ;;
        124 | 137) fail "synack cat to a closed port did not give up within $BOUND s" ;;
        *) fail "synack cat to a closed port: status $1, expected 1" ;;
    esac
}
# First without -v: the error must be exactly one line.
rc=0
ns_timeout_fg "$BOUND" "$SYNACK" cat "${opts[@]}" "$SYNACK_HOST_IP" 5999 </dev/null \
    >"$DIR/s2k.out" 2>"$DIR/s2k.log" || rc=$?
check_status "$rc"
grep -qi 'refused' "$DIR/s2k.log" || fail "synack cat did not say 'refused'"
lines=$(wc -l <"$DIR/s2k.log")
[ "$lines" -eq 1 ] || fail "the error took $lines lines on stderr; expected one"
log "  status $rc: $(head -n 3 "$DIR/s2k.log")"
wait_tun_gone
# Then with -v: its summary shows the refusal came in answer to the first SYN.
rc=0
ns_timeout_fg "$BOUND" "$SYNACK" cat "${opts[@]}" -v --pcap "$DIR/s2k.v.pcap" "$SYNACK_HOST_IP" 5999 \
    </dev/null >"$DIR/s2k.v.out" 2>"$DIR/s2k.v.log" || rc=$?
check_status "$rc"
grep -qi 'refused' "$DIR/s2k.v.log" || fail "synack cat -v did not say 'refused'"
if why=$(refused_at_once "$DIR/s2k.v.log"); then
    log "  -v: one SYN sent, none retransmitted, one RST received"
else
    fail "not refused at once: $why"
    show_log "$DIR/s2k.v.log"
fi
wait_tun_gone
case_end

case_begin curl_to_http
mkdir -p "$DIR/www"
echo hello >"$DIR/www/index.html"
if http_start http "$DIR/www"; then
    check_curl_refused http 81
    # The refusal left the server as it was: port 80 still answers.
    code=$(ns_timeout "$BOUND" curl -sS --max-time "$BOUND" -o /dev/null -w '%{http_code}' \
        "http://$SYNACK_IP/index.html" 2>/dev/null) || true
    [ "$code" = 200 ] || fail "after the refusal, GET /index.html on port 80 gave '$code'"
else
    fail "synack http did not come up"
fi
http_stop
case_end

case_begin curl_to_cat
if listen_forever cat 5000; then
    check_curl_refused cat 5001
    is_running "$CAT_PID" || fail "synack cat -l exited after a SYN to another port"
fi
stop_bg "$CAT_PID"
wait_tun_gone
case_end

interop_finish
