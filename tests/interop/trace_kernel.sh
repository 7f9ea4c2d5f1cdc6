#!/usr/bin/env bash
# `synack trace` on captures of the Linux kernel: dumpcap records every device of the
# namespace ("any": pcapng, Linux cooked headers; the TUN device itself vanishes when synack
# exits, and a capture on it loses what was still buffered) while the kernel's nc talks to
# `synack cat -l`. The trace must list
# the connection and infer each end's states as they went:
#   active    the kernel closes first (nc -N at the end of its input; synack's input stays
#             open until its data has arrived): the kernel CLOSED -> SYN_SENT ->
#             ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT, synack LISTEN ->
#             SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED
#   passive   synack closes first (its input is empty): the kernel CLOSED -> SYN_SENT ->
#             ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED
#   active6   the first case over IPv6
# and its --svg graphs must parse as XML with their panels holding data (graphs_check.py),
# its --html page be one file with the ladder, the states and the graphs. synack's own
# capture (--pcap) of the first case is traced too.
# Usage: trace_kernel.sh PATH/TO/synack
set -u -o pipefail
# shellcheck disable=SC2034  # read by lib/common.sh
INTEROP_IPV6=1 # every synack run has both families; the cases pick one by the address
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154,SC2153  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init trace_kernel "${1:-}" nc ss dumpcap python3

head -c 200000 /dev/urandom >"$DIR/a"
PORT=5000
GRAPHS_CHECK=$(dirname "$0")/../scripts/graphs_check.py # the panels and the page, as graphs_cli.sh
CAP_PID="" # set by start_capture

# start_capture LABEL: dumpcap on every device into $DIR/LABEL.kernel.pcap (pcapng),
# PID in CAP_PID, waiting (bounded) until the file holds its headers.
start_capture() {
    start_bg CAP_PID "$T_XFER" dumpcap -q -i any -w "$DIR/$1.kernel.pcap" \
        2>"$DIR/$1.dumpcap.log" 3>&-
    for _ in $(seq 100); do
        [ -s "$DIR/$1.kernel.pcap" ] && break
        sleep 0.05
    done
    [ -s "$DIR/$1.kernel.pcap" ] || fail "dumpcap wrote no capture in 5 s"
    sleep 0.3 # dumpcap has written its headers; give it time to be reading packets
}

# trace_states PCAP END: the state line `synack trace --port PORT` prints for end A or B.
trace_states() {
    "$SYNACK" trace "$1" --port "$PORT" 2>&1 | grep "^$2 " | sed 's/^[AB] [^ ]*: //'
}

# check_trace LABEL PCAP WANT_A WANT_B [KERNEL_ENDPOINT_PREFIX]: one connection, A the
# kernel, the states as wanted, an SVG that parses.
check_trace() {
    local label=$1 pcap=$2 kernel=${5:-$SYNACK_HOST_IP:} got
    "$SYNACK" trace "$pcap" >"$DIR/$label.trace.log" 2>&1 || fail "synack trace $pcap failed"
    "$SYNACK" trace "$pcap" --port "$PORT" --svg "$DIR/$label.svg" --html "$DIR/$label.html" \
        >>"$DIR/$label.trace.log" 2>&1 || fail "synack trace --port $PORT --svg --html failed"
    grep -q " 1 connection$" "$DIR/$label.trace.log" || fail "the trace does not list one connection"
    grep -qF "A $kernel" "$DIR/$label.trace.log" || fail "A is not the kernel ($kernel)"
    got=$(trace_states "$pcap" A)
    [ "$got" = "$3" ] || fail "the kernel's states: '$got', not '$3'"
    got=$(trace_states "$pcap" B)
    [ "$got" = "$4" ] || fail "synack's states: '$got', not '$4'"
    python3 "$GRAPHS_CHECK" "$DIR/$label.svg" --panels tsg,throughput,rtt,inflight \
        --min-rtt-samples 1 || fail "the SVG of $label: not its panels with data"
    python3 "$GRAPHS_CHECK" "$DIR/$label.html" --html --panels tsg,throughput,rtt,inflight \
        --contains 'id="ladder"' --contains 'id="states"' ||
        fail "the page of $label: not one file with the ladder, the states and the graphs"
    log "  $(grep -m1 -E 'bad cksum|^retransmissions' "$DIR/$label.trace.log")"
    [ "$INTEROP_CASE_FAILED" -eq 0 ] || cat "$DIR/$label.trace.log"
}

# kernel_to_synack LABEL STDIN_KEPT [ADDR]: kernel `nc -N` sends $DIR/a to `synack cat -l`
# at ADDR (default SYNACK_IP); with STDIN_KEPT 1 synack's input stays open until all of a
# has arrived.
kernel_to_synack() {
    local label=$1 s_pid n_pid input=/dev/null target=${3:-$SYNACK_IP}
    run_opts "$label"
    if [ "$2" = 1 ]; then
        # A FIFO this shell holds open (fd 3) until synack is to see the end of its input;
        # no child inherits fd 3, so closing it here is that end.
        input=$DIR/$label.in
        mkfifo "$input"
        exec 3<>"$input"
    fi
    start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$PORT" \
        <"$input" >"$DIR/$label.synack.out" 2>"$DIR/$label.synack.log" 3>&-
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        [ "$2" = 1 ] && exec 3>&-
        return 0
    fi
    start_capture "$label"
    start_bg n_pid "$T_XFER" nc -N "$target" "$PORT" <"$DIR/a" >/dev/null \
        2>"$DIR/$label.nc.log" 3>&-
    for _ in $(seq 200); do
        [ "$(stat -c %s "$DIR/$label.synack.out" 2>/dev/null)" = 200000 ] && break
        sleep 0.05
    done
    sleep 0.3 # the kernel's FIN follows its data, and synack's ACK of it
    [ "$2" = 1 ] && exec 3>&-
    wait_bg_within "$n_pid" 10 "kernel nc"
    check_rc "kernel nc" "$WAIT_RC" "$DIR/$label.nc.log"
    wait_bg_within "$s_pid" 10 "synack cat -l"
    check_rc "synack cat -l" "$WAIT_RC" "$DIR/$label.synack.log"
    check_same "kernel -> synack" "$DIR/a" "$DIR/$label.synack.out"
    sleep 0.3 # the last ACK reaches the capture
    stop_bg "$CAP_PID"
    wait_tun_gone
}

case_begin active
kernel_to_synack active 1
check_trace active "$DIR/active.kernel.pcap" \
    "CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT" \
    "LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED"
if [ "${SYNACK_INTEROP_PCAP:-1}" = 1 ]; then
    check_trace active-synack "$DIR/active.pcap" \
        "CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT" \
        "LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED"
fi
case_end

case_begin passive
kernel_to_synack passive 0
check_trace passive "$DIR/passive.kernel.pcap" \
    "CLOSED -> SYN_SENT -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED" \
    "LISTEN -> SYN_RECEIVED -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT"
case_end

case_begin active6
if [ -d /proc/sys/net/ipv6 ]; then
    kernel_to_synack active6 1 "$SYNACK_IP6"
    check_trace active6 "$DIR/active6.kernel.pcap" \
        "CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT" \
        "LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED" \
        "[$SYNACK_HOST_IP6]:"
    case_end
else
    case_skip "the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)"
fi

interop_finish
