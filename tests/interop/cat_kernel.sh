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
#   listen_keep      synack cat -l -k takes three connections one after the other
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

# ---- half-close in the middle of a two-way exchange (the helpers are in lib/common.sh) --
random_file "$DIR/small" 2 # what the side that half-closes sends
random_file "$DIR/long" 10 # what the other side sends, in two parts around the FIN

case_begin synack_halfcloses_first
halfclose_synack_first hc1 5002 "$DIR/small" "$DIR/long"
case_end

case_begin kernel_halfcloses_first
halfclose_kernel_first hc2 5003 "$DIR/small" "$DIR/long"
case_end

# ---- -l -k: one connection after another ---------------------------------------------------
case_begin listen_keep
run_opts keep
head -c 300000 "$DIR/long" >"$DIR/keep.1"
tail -c 200000 "$DIR/long" >"$DIR/keep.2"
head -c 100000 "$DIR/small" >"$DIR/keep.3"
start_bg s_pid "$T_XFER" "$SYNACK" cat -l -k "${RUN_OPTS[@]}" 5004 \
    </dev/null >"$DIR/keep.synack.out" 2>"$DIR/keep.synack.log"
if wait_tun "$s_pid"; then
    # Three, so that a listener that stops after its second connection fails too.
    for n in 1 2 3; do
        rc=0
        ns_timeout "$T_SHORT" nc -N "$SYNACK_IP" 5004 <"$DIR/keep.$n" >"$DIR/keep.kernel.$n" \
            2>"$DIR/keep.nc.$n.log" || rc=$?
        check_rc "kernel nc, connection $n" "$rc" "$DIR/keep.nc.$n.log"
    done
    cat "$DIR/keep.1" "$DIR/keep.2" "$DIR/keep.3" >"$DIR/keep.all"
    if is_running "$s_pid"; then
        stop_bg "$s_pid"
    else
        wait_bg "$s_pid"
        fail "synack cat -l -k exited (status $WAIT_RC) after its connections; -k keeps listening"
        show_log "$DIR/keep.synack.log"
    fi
    check_same "three connections in turn -> synack cat -l -k" "$DIR/keep.all" "$DIR/keep.synack.out"
else
    stop_bg "$s_pid"
fi
wait_tun_gone
case_end

interop_finish
