#!/usr/bin/env bash
# ICMP echo: the kernel's ping gets answers from synack's address over the TUN device,
# while synack serves something (RFC 1122 §3.2.2.6: every host answers echo requests).
#   while_cat_listens   ping -c 3 -W 2 while `synack cat -l` waits for a connection
#   while_http_serves   the same while `synack http` serves, with a 1000-byte payload too,
#                       and 3000 and 8000 bytes: the kernel fragments the requests, synack
#                       reassembles them and fragments its replies (RFC 791 §3.2)
# Usage: ping.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init ping "${1:-}" ping

case_begin while_cat_listens
if listen_forever cat 5000; then
    check_ping cat
    is_running "$CAT_PID" || fail "synack cat -l exited while it should be listening"
fi
stop_bg "$CAT_PID"
wait_tun_gone
case_end

case_begin while_http_serves
mkdir -p "$DIR/www"
if http_start http "$DIR/www"; then
    check_ping http
    check_ping http_big -s 1000
    check_ping http_frag -s 3000
    check_ping http_frag8k -s 8000
else
    fail "synack http did not come up"
fi
http_stop
case_end

interop_finish
