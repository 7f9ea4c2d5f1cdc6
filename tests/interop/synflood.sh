#!/usr/bin/env bash
# A SYN flood over TUN, from the kernel's side of the namespace this test creates:
# hping3 sends spoofed SYNs (random sources, bounded: at most FLOOD_COUNT packets, one
# every 20 us, and FLOOD_SECS seconds) to `synack http` while curl fetches a small file.
# The SYN-ACKs to the spoofed sources go nowhere (the namespace does not forward), so
# every spoofed SYN would hold a half-open connection until its retries end.
#   cookies   the default (--syncookies overflow): all CURLS fetches succeed during the
#             flood, byte-exact; synack's summary counts SYN cookies sent and validated
#   never     --syncookies never: the flood fills the SYN queue (backlog 128) and most
#             fetches fail; the queue-full drops are counted. This case shows that the
#             first one measures the cookies and not a flood too weak to matter.
# The issue measured 0 of 30 curl requests through before SYN cookies existed.
# Usage: synflood.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init synflood "${1:-}" curl hping3

FLOOD_COUNT=400000
FLOOD_SECS=40
CURLS=30
WWW=$DIR/www
mkdir -p "$WWW"
echo "a small file, fetched through a SYN flood" >"$WWW/small.txt"

# flood_case LABEL MAX_TIME [synack http options]: starts synack http and the flood, then
# CURLS sequential fetches of /small.txt (each bounded by MAX_TIME s); OK is how many
# returned the file byte-exact. The flood must still be running after the last one.
flood_case() {
    local label=$1 max_time=$2 flood_pid i code rc
    shift 2
    OK=0
    SYNACK_INTEROP_PCAP=0 # a capture of the flood would be hundreds of MB
    if ! http_start "$label" "$WWW" "$@"; then
        fail "synack http did not come up"
        return 0
    fi
    start_bg flood_pid "$FLOOD_SECS" hping3 -q -S -p 80 --rand-source -i u20 \
        -c "$FLOOD_COUNT" "$SYNACK_IP" >"$DIR/$label.hping3.log" 2>&1
    sleep 1 # the SYN queue fills first
    for i in $(seq "$CURLS"); do
        rc=0
        code=$(ip netns exec "$NS" timeout -k 2 $((max_time + 2)) curl -sS \
            --max-time "$max_time" -o "$DIR/$label.$i.out" -w '%{http_code}' \
            "http://$SYNACK_IP/small.txt" 2>>"$DIR/$label.curl.log") || rc=$?
        if [ "$rc" -eq 0 ] && [ "$code" = 200 ] && cmp -s "$WWW/small.txt" "$DIR/$label.$i.out"
        then
            OK=$((OK + 1))
        fi
    done
    if is_running "$flood_pid"; then
        stop_bg "$flood_pid"
    else
        wait_bg "$flood_pid"
        fail "the flood ended before the last fetch (status $WAIT_RC): the case measured too little"
        show_log "$DIR/$label.hping3.log"
    fi
    http_stop
    log "  $OK of $CURLS fetches succeeded during the flood"
    grep -E "syncookies|drops" "$HTTP_LOG" | sed 's/^/    /'
}

# counter LOG REGEX: the number after REGEX in synack's summary, or 0.
counter() {
    grep -oE "$2 [0-9]+" "$1" | tail -1 | grep -oE '[0-9]+$' || echo 0
}

case_begin cookies
flood_case cookies 5
[ "$OK" -eq "$CURLS" ] || fail "only $OK of $CURLS fetches succeeded with SYN cookies on"
sent=$(counter "$HTTP_LOG" "sent")
validated=$(counter "$HTTP_LOG" "validated")
[ "$sent" -gt 0 ] || fail "synack sent no SYN cookie: the flood never filled the SYN queue"
[ "$validated" -gt 0 ] || fail "no SYN cookie came back validated"
case_end

case_begin never
CURLS=5
flood_case never 3 --syncookies never
[ "$OK" -lt $((CURLS / 2)) ] ||
    fail "$OK of $CURLS fetches succeeded without SYN cookies: the flood did not fill the queue"
full=$(counter "$HTTP_LOG" "syn-queue-full")
[ "$full" -gt 0 ] || fail "no syn-queue-full drop counted without SYN cookies"
case_end

interop_finish
