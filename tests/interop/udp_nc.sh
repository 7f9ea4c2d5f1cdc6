#!/usr/bin/env bash
# synack cat -u (UDP datagrams) against the Linux kernel's UDP and OpenBSD nc -u, over a
# TUN device inside a network namespace this test creates. Every synack run holds
# 198.18.0.2/24 and 2001:db8::2/64 and gives the kernel's side 198.18.0.1/24 and
# 2001:db8::1/64; each case runs over IPv4 (suffix 4) and over IPv6 (suffix 6, nc -6):
#   to_nc     `synack cat -u -q 0 HOST PORT` -> kernel `nc -u -l`: three lines, each
#             written to synack's stdin only once the one before has reached nc (so each
#             is a read of its own), then 3000 random bytes in one write (one datagram
#             larger than the 1500-byte MTU: it leaves in fragments). nc's output is
#             byte-exact; the kernel's counters show exactly 4 datagrams delivered (one
#             per read of stdin) and at least one reassembled; synack exits 0 by itself
#             (-q 0) and its -v summary says it sent 4
#   from_nc   kernel `nc -u` -> `synack cat -u -l -w 3 PORT < reply`: a first datagram,
#             then one from a second nc (another port), then a second one from the first
#             nc. synack writes the first nc's two datagrams and not the other's: its
#             socket is connected to the first sender (its -v log says so), and the kernel
#             counts the port unreachable that refused the other. Its stdin, a line and
#             3000 random bytes (read once the first datagram came), reaches the first nc
#             byte-exact, reassembled by the kernel; synack exits 0 by itself (-w 3)
#   keep      `synack cat -u -l -k`: datagrams from two kernel nc (two ports) are both
#             written; stdin then goes to the sender of the latest (the second nc gets it,
#             the first does not); it is still running at the end (then stopped)
#   refused   `synack cat -u HOST 5999` (a line on stdin) with no kernel socket on the
#             port: exit 1, by itself within 10 s, and the one line "synack cat:
#             connection to HOST:5999 refused" (IPv6 in brackets)
# The captures of to_nc and from_nc (synack's --pcap) pass tshark_check_udp: every packet
# UDP between the two, a fragment of it, a port unreachable, or the kernel's IPv6
# multicast; the fragmented datagram reassembled; every IPv4, UDP and ICMP checksum good;
# nothing malformed.
# Usage: udp_nc.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
INTEROP_IPV6=1
interop_init udp_nc "${1:-}" nc ss mkfifo tshark
[ -d /proc/sys/net/ipv6 ] || skip "the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)"

# What stdin gives, piece by piece (each one datagram), and what synack -l answers.
printf 'line one\n' >"$DIR/piece1"
printf 'line two, a little longer\n' >"$DIR/piece2"
printf 'line three\n' >"$DIR/piece3"
head -c 3000 /dev/urandom >"$DIR/piece4" # > the MTU: fragments
cat "$DIR/piece1" "$DIR/piece2" "$DIR/piece3" "$DIR/piece4" >"$DIR/pieces"
{
    printf 'the reply\n'
    head -c 3000 /dev/urandom
} >"$DIR/reply"

# use_family 4|6: the addresses, nc's family flag, how synack names the kernel's side (and
# that as a grep pattern), and the kernel counters (ns_counter TABLE NAME) the cases read.
use_family() {
    if [ "$1" = 4 ]; then
        KERNEL_ADDR=$SYNACK_HOST_IP TARGET_ADDR=$SYNACK_IP FAMILY_FLAG=(-4)
        SHOWN_HOST=$SYNACK_HOST_IP SHOWN_RE=$SYNACK_HOST_IP
        K_UDP_IN=(Udp InDatagrams) K_REASM=(Ip ReasmOKs) K_UNREACH=(Icmp InDestUnreachs)
    else
        KERNEL_ADDR=$SYNACK_HOST_IP6 TARGET_ADDR=$SYNACK_IP6 FAMILY_FLAG=(-6)
        SHOWN_HOST="[$SYNACK_HOST_IP6]" SHOWN_RE="\[$SYNACK_HOST_IP6\]"
        K_UDP_IN=(6 Udp6InDatagrams) K_REASM=(6 Ip6ReasmOKs) K_UNREACH=(6 Icmp6InDestUnreachs)
    fi
}

size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# wait_size FILE BYTES: bounded poll (10 s) until FILE holds at least BYTES; 1 if never.
wait_size() {
    for _ in $(seq 200); do
        [ "$(size "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# wait_udp_bound PORT: bounded poll (10 s) until a kernel UDP socket has PORT.
wait_udp_bound() {
    for _ in $(seq 200); do
        ip netns exec "$NS" ss -Huan "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.05
    done
    fail "no kernel UDP socket on port $1 in $NS after 10 s"
    return 1
}

# check_grew WHAT BEFORE COUNTER...: bounded poll (5 s) until the kernel counter is above
# BEFORE (the kernel may still be processing the last packet); fails otherwise.
check_grew() {
    local what=$1 before=$2 now
    shift 2
    for _ in $(seq 100); do
        now=$(ns_counter "$@")
        [ "${now:-0}" -gt "$before" ] && return 0
        sleep 0.05
    done
    fail "$what: the kernel's $* stayed at $before"
}

# feed_pieces OUT MARK FILE...: writes each FILE in one write, the next only once OUT
# (what the receiver wrote) has grown by it (10 s each); touches MARK and stops if not.
feed_pieces() {
    local out=$1 mark=$2 want=0 f
    shift 2
    for f in "$@"; do
        cat "$f"
        want=$((want + $(size "$f")))
        wait_size "$out" "$want" || {
            : >"$mark"
            return 0
        }
    done
}

# tshark_pcap_udp LABEL DIRS PORT: the case's capture passes tshark_check_udp (unless captures
# are off: SYNACK_INTEROP_PCAP=0).
tshark_pcap_udp() {
    [ "${SYNACK_INTEROP_PCAP:-1}" = 1 ] || return 0
    tshark_check_udp "$DIR/$1.pcap" "$TARGET_ADDR" "$KERNEL_ADDR" "$2" "$3"
}

# ---- synack cat -u -> nc -u -l -------------------------------------------------------------
case_to_nc() {
    local label=$1 port=$2 n_pid rc in0 r0 in1 r1
    local kout=$DIR/$label.nc.out slog=$DIR/$label.synack.log mark=$DIR/$label.mark
    run_opts "$label"
    start_bg n_pid "$T_SHORT" nc "${FAMILY_FLAG[@]}" -u -l -d "$port" </dev/null >"$kout" \
        2>"$DIR/$label.nc.log"
    if ! wait_udp_bound "$port"; then
        stop_bg "$n_pid"
        return 0
    fi
    in0=$(ns_counter "${K_UDP_IN[@]}")
    r0=$(ns_counter "${K_REASM[@]}")
    feed_pieces "$kout" "$mark" "$DIR/piece1" "$DIR/piece2" "$DIR/piece3" "$DIR/piece4" |
        ip netns exec "$NS" timeout -k 5 "$T_SHORT" "$SYNACK" cat -u -q 0 "${RUN_OPTS[@]}" \
            "$KERNEL_ADDR" "$port" >"$DIR/$label.synack.out" 2>"$slog"
    rc=${PIPESTATUS[1]}
    wait_size "$kout" "$(size "$DIR/pieces")" ||
        fail "nc -u -l received $(size "$kout") of $(size "$DIR/pieces") bytes"
    stop_bg "$n_pid" # nc -u -l never ends by itself
    check_rc "synack cat -u -q 0" "$rc" "$slog"
    [ -e "$mark" ] && fail "a piece of stdin never reached nc (10 s)"
    check_same "synack cat -u -> kernel nc -u -l" "$DIR/pieces" "$kout"
    in1=$(ns_counter "${K_UDP_IN[@]}")
    r1=$(ns_counter "${K_REASM[@]}")
    [ $((in1 - in0)) -eq 4 ] ||
        fail "the kernel delivered $((in1 - in0)) datagrams (${K_UDP_IN[*]}); expected 4, one per read of stdin"
    [ $((r1 - r0)) -ge 1 ] ||
        fail "the kernel reassembled no datagram (${K_REASM[*]}): the 3000-byte one was not fragmented"
    grep -q 'datagrams on port [0-9]*: sent 4,' "$slog" ||
        fail "synack's -v summary does not say it sent 4 datagrams"
    [ -s "$DIR/$label.synack.out" ] && fail "synack wrote bytes nc never sent"
    log "  4 datagrams (one of 3000 bytes in fragments) -> nc: $(size "$kout") bytes"
    wait_tun_gone
    tshark_pcap_udp "$label" one "$port"
}

# ---- nc -u -> synack cat -u -l -------------------------------------------------------------

# The first nc's stdin: a datagram, then one from a second nc, then a second datagram; it
# ends once synack has written both and the reply has reached the first nc.
feed_from_nc() {
    cat "$DIR/$FROM.a1"
    wait_size "$DIR/$FROM.synack.out" "$(size "$DIR/$FROM.a1")" || {
        : >"$DIR/$FROM.mark"
        return 0
    }
    # Its status is not asserted: the port unreachable it draws may or may not reach it
    # before it quits.
    ns_timeout 5 nc "${FAMILY_FLAG[@]}" -u -q 0 "$TARGET_ADDR" "$FROM_PORT" <"$DIR/$FROM.b" \
        >/dev/null 2>"$DIR/$FROM.nc_b.log"
    cat "$DIR/$FROM.a2"
    if ! wait_size "$DIR/$FROM.synack.out" "$(size "$DIR/$FROM.want")" ||
        ! wait_size "$DIR/$FROM.nc.out" "$(size "$DIR/reply")"; then
        : >"$DIR/$FROM.mark"
    fi
}

case_from_nc() {
    local label=$1 port=$2 s_pid rc u0 r0
    local slog=$DIR/$label.synack.log
    run_opts "$label"
    printf 'first datagram from nc\n' >"$DIR/$label.a1"
    printf 'second datagram from nc\n' >"$DIR/$label.a2"
    printf 'from another sender\n' >"$DIR/$label.b"
    cat "$DIR/$label.a1" "$DIR/$label.a2" >"$DIR/$label.want"
    start_bg s_pid "$T_SHORT" "$SYNACK" cat -u -l -w 3 "${RUN_OPTS[@]}" "$port" \
        <"$DIR/reply" >"$DIR/$label.synack.out" 2>"$slog"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        show_log "$slog"
        return 0
    fi
    u0=$(ns_counter "${K_UNREACH[@]}")
    r0=$(ns_counter "${K_REASM[@]}")
    FROM=$label FROM_PORT=$port
    feed_from_nc | ip netns exec "$NS" timeout -k 5 "$T_SHORT" nc "${FAMILY_FLAG[@]}" -u -q 0 \
        "$TARGET_ADDR" "$port" >"$DIR/$label.nc.out" 2>"$DIR/$label.nc.log"
    rc=${PIPESTATUS[1]}
    wait_bg_within "$s_pid" 10 "synack cat -u -l -w 3"
    check_rc "kernel nc -u" "$rc" "$DIR/$label.nc.log"
    check_rc "synack cat -u -l -w 3" "$WAIT_RC" "$slog"
    [ -e "$DIR/$label.mark" ] &&
        fail "a datagram or the reply did not arrive in time (10 s)"
    check_same "kernel nc -u -> synack cat -u -l (its two datagrams, not the other's)" \
        "$DIR/$label.want" "$DIR/$label.synack.out"
    check_same "synack cat -u -l stdin -> kernel nc -u" "$DIR/reply" "$DIR/$label.nc.out"
    grep -q "a datagram from $SHOWN_RE:[0-9]*: connected to it" "$slog" ||
        fail "synack's -v log does not say it connected to its first sender $SHOWN_HOST:PORT"
    check_grew "the second sender's datagram refused with port unreachable" "$u0" "${K_UNREACH[@]}"
    check_grew "the 3000-byte reply reassembled by the kernel" "$r0" "${K_REASM[@]}"
    wait_tun_gone
    tshark_pcap_udp "$label" both "$port"
}

# ---- -l -k: anyone's datagrams, stdin to the latest sender -------------------------------
case_keep() {
    local label=$1 port=$2 s_pid a_pid b_pid
    local slog=$DIR/$label.synack.log sout=$DIR/$label.synack.out
    local aout=$DIR/$label.a.out bout=$DIR/$label.b.out
    run_opts "$label"
    rm -f "$DIR/$label".*.in
    mkfifo "$DIR/$label.synack.in" "$DIR/$label.a.in" "$DIR/$label.b.in"
    # Opened read-write: stdin that never ends, written to when the test wants.
    start_bg s_pid "$T_SHORT" "$SYNACK" cat -u -l -k "${RUN_OPTS[@]}" "$port" \
        0<>"$DIR/$label.synack.in" >"$sout" 2>"$slog"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        show_log "$slog"
        return 0
    fi
    start_bg a_pid "$T_SHORT" nc "${FAMILY_FLAG[@]}" -u "$TARGET_ADDR" "$port" \
        0<>"$DIR/$label.a.in" >"$aout" 2>"$DIR/$label.a.log"
    start_bg b_pid "$T_SHORT" nc "${FAMILY_FLAG[@]}" -u "$TARGET_ADDR" "$port" \
        0<>"$DIR/$label.b.in" >"$bout" 2>"$DIR/$label.b.log"
    printf 'from a\n' >"$DIR/$label.a.in"
    wait_size "$sout" 7 || fail "the first nc's datagram never reached synack"
    printf 'from b\n' >"$DIR/$label.b.in"
    wait_size "$sout" 14 || fail "the second nc's datagram never reached synack"
    printf 'to the latest\n' >"$DIR/$label.synack.in"
    wait_size "$bout" 14 || fail "the reply never reached the second (latest) nc"
    printf 'from a\nfrom b\n' >"$DIR/$label.want"
    printf 'to the latest\n' >"$DIR/$label.want_b"
    check_same "two kernel nc -u -> synack cat -u -l -k" "$DIR/$label.want" "$sout"
    check_same "synack cat -u -l -k stdin -> the latest sender" "$DIR/$label.want_b" "$bout"
    [ -s "$aout" ] && fail "the first nc, no longer the latest sender, got $(size "$aout") bytes"
    if is_running "$s_pid"; then
        stop_bg "$s_pid"
    else
        wait_bg "$s_pid"
        fail "synack cat -u -l -k exited (status $WAIT_RC); -k keeps receiving"
        show_log "$slog"
    fi
    stop_bg "$a_pid"
    stop_bg "$b_pid"
    wait_tun_gone
}

# ---- refused ---------------------------------------------------------------------------------
case_refused() {
    local label=$1 rc quiet=() o msg
    run_opts "$label"
    for o in "${RUN_OPTS[@]}"; do [ "$o" = -v ] || quiet+=("$o"); done # one line without -v
    printf 'anyone there?\n' | ns_timeout_fg 10 "$SYNACK" cat -u "${quiet[@]}" "$KERNEL_ADDR" 5999 \
        >/dev/null 2>"$DIR/$label.err"
    rc=${PIPESTATUS[1]}
    msg=$(cat "$DIR/$label.err")
    case $rc in
        1) ;;
        124 | 137) fail "synack cat -u did not give up by itself within 10 s" ;;
        *) fail "status $rc, expected 1" ;;
    esac
    [ "$msg" = "synack cat: connection to $SHOWN_HOST:5999 refused" ] || fail "stderr is '$msg'"
    log "  status $rc: $msg"
    wait_tun_gone
}

for fam in 4 6; do
    use_family "$fam"
    case_begin "to_nc$fam"
    case_to_nc "to_nc$fam" "510$fam"
    case_end
    case_begin "from_nc$fam"
    case_from_nc "from_nc$fam" "520$fam"
    case_end
    case_begin "keep$fam"
    case_keep "keep$fam" "530$fam"
    case_end
    case_begin "refused$fam"
    case_refused "refused$fam"
    case_end
done

interop_finish
