#!/usr/bin/env bash
# synack cat against the Linux kernel's TCP over a TUN device, inside a network
# namespace this test creates:
#   to_kernel        synack cat -> kernel nc -l, 50 MB of random bytes, sha256 equal
#   from_kernel      kernel nc -> synack cat -l, 50 MB, sha256 equal
#   synack_halfcloses_first  two-way exchange: synack sends all it has and shuts down its
#                    write side while the kernel is still sending; the kernel keeps
#                    sending after it got the FIN; both outputs byte-exact
#   kernel_halfcloses_first  the same with the roles swapped (synack keeps sending after
#                    the kernel's FIN)
#   listen_keep      synack cat -l -k takes two connections one after the other
# Every exit status must be 0.
# Usage: cat_kernel.sh PATH/TO/synack   (SYNACK_INTEROP_MB=N changes the 50 MB)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init cat_kernel "${1:-}" nc ss

MB=${SYNACK_INTEROP_MB:-50}
random_file "$DIR/big" "$MB"

case_begin to_kernel
xfer_to_kernel to_kernel "$DIR/big" 5000
case_end

case_begin from_kernel
xfer_from_kernel from_kernel "$DIR/big" 5001
case_end

# ---- half-close in the middle of a two-way exchange --------------------------------------
random_file "$DIR/small" 2 # what the side that half-closes sends
random_file "$DIR/long" 10 # what the other side sends, in two parts around the FIN
SPLIT=2000000

# feed_split FILE SPLIT COND MARK: writes the first SPLIT bytes of FILE, waits (at most
# 30 s) until the function COND succeeds, then writes the rest. Touches MARK when COND
# never held, so the caller knows the FIN did not come in the middle.
feed_split() {
    head -c "$2" "$1"
    for _ in $(seq 600); do
        "$3" && break
        sleep 0.05
    done
    "$3" || : >"$4"
    tail -c +"$(($2 + 1))" "$1"
}

# The kernel has all of synack's bytes and synack's FIN: its socket is in CLOSE-WAIT.
kernel_got_fin() {
    [ "$(stat -c %s "$DIR/hc1.kernel.out" 2>/dev/null || echo 0)" -ge 2000000 ] &&
        ip netns exec "$NS" ss -Htn state close-wait '( dport = :5002 )' | grep -q .
}

case_begin synack_halfcloses_first
run_opts hc1
rm -f "$DIR/hc1.mark"
start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" 5002 \
    <"$DIR/small" >"$DIR/hc1.synack.out" 2>"$DIR/hc1.synack.log"
if wait_tun "$s_pid"; then
    feed_split "$DIR/long" "$SPLIT" kernel_got_fin "$DIR/hc1.mark" |
        ip netns exec "$NS" timeout -k 5 "$T_XFER" nc -N "$SYNACK_IP" 5002 \
            >"$DIR/hc1.kernel.out" 2>"$DIR/hc1.nc.log"
    rc=${PIPESTATUS[1]}
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$s_pid" 10 "synack cat -l"
    else
        stop_bg "$s_pid"
    fi
    check_rc "kernel nc" "$rc" "$DIR/hc1.nc.log"
    check_rc "synack cat -l" "$WAIT_RC" "$DIR/hc1.synack.log"
    [ -e "$DIR/hc1.mark" ] &&
        fail "the kernel never saw synack's FIN after its 2 MB while it was still sending (CLOSE-WAIT)"
    check_same "synack -> kernel (then FIN)" "$DIR/small" "$DIR/hc1.kernel.out"
    check_same "kernel -> synack (after the FIN)" "$DIR/long" "$DIR/hc1.synack.out"
else
    stop_bg "$s_pid"
fi
wait_tun_gone
case_end

# synack has all of the kernel's bytes and has acknowledged its FIN: the kernel's socket
# is in FIN-WAIT-2.
synack_got_fin() {
    [ "$(stat -c %s "$DIR/hc2.synack.out" 2>/dev/null || echo 0)" -ge 2000000 ] &&
        ip netns exec "$NS" ss -Htn state fin-wait-2 '( sport = :5003 )' | grep -q .
}

case_begin kernel_halfcloses_first
run_opts hc2
rm -f "$DIR/hc2.mark"
start_bg n_pid "$T_XFER" nc -N -l 5003 <"$DIR/small" >"$DIR/hc2.kernel.out" 2>"$DIR/hc2.nc.log"
if wait_kernel_listen 5003; then
    feed_split "$DIR/long" "$SPLIT" synack_got_fin "$DIR/hc2.mark" |
        ip netns exec "$NS" timeout -k 5 "$T_XFER" "$SYNACK" cat "${RUN_OPTS[@]}" \
            "$SYNACK_HOST_IP" 5003 >"$DIR/hc2.synack.out" 2>"$DIR/hc2.synack.log"
    rc=${PIPESTATUS[1]}
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$n_pid" 10 "kernel nc -l"
    else
        stop_bg "$n_pid"
    fi
    check_rc "synack cat" "$rc" "$DIR/hc2.synack.log"
    check_rc "kernel nc -l" "$WAIT_RC" "$DIR/hc2.nc.log"
    [ -e "$DIR/hc2.mark" ] &&
        fail "synack never acknowledged the kernel's FIN after its 2 MB while still sending (FIN-WAIT-2)"
    check_same "kernel -> synack (then FIN)" "$DIR/small" "$DIR/hc2.synack.out"
    check_same "synack -> kernel (after the FIN)" "$DIR/long" "$DIR/hc2.kernel.out"
else
    stop_bg "$n_pid"
fi
wait_tun_gone
case_end

# ---- -l -k: one connection after another ---------------------------------------------------
case_begin listen_keep
run_opts keep
head -c 300000 "$DIR/long" >"$DIR/keep.1"
tail -c 200000 "$DIR/long" >"$DIR/keep.2"
start_bg s_pid "$T_XFER" "$SYNACK" cat -l -k "${RUN_OPTS[@]}" 5004 \
    </dev/null >"$DIR/keep.synack.out" 2>"$DIR/keep.synack.log"
if wait_tun "$s_pid"; then
    for n in 1 2; do
        rc=0
        ns_timeout "$T_SHORT" nc -N "$SYNACK_IP" 5004 <"$DIR/keep.$n" >"$DIR/keep.kernel.$n" \
            2>"$DIR/keep.nc.$n.log" || rc=$?
        check_rc "kernel nc, connection $n" "$rc" "$DIR/keep.nc.$n.log"
    done
    cat "$DIR/keep.1" "$DIR/keep.2" >"$DIR/keep.both"
    if is_running "$s_pid"; then
        stop_bg "$s_pid"
    else
        wait_bg "$s_pid"
        fail "synack cat -l -k exited (status $WAIT_RC) after its connections; -k keeps listening"
        show_log "$DIR/keep.synack.log"
    fi
    check_same "two connections in turn -> synack cat -l -k" "$DIR/keep.both" "$DIR/keep.synack.out"
else
    stop_bg "$s_pid"
fi
wait_tun_gone
case_end

interop_finish
