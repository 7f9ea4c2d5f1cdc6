#!/usr/bin/env bash
# synack cat's failures against the kernel are one clear line on stderr and status 1:
#   timed_out      -w 2 towards an address nobody answers for: "timed out", within 10 s
#   reset_by_peer  the kernel's receiver is killed mid-transfer (its socket answers with
#                  RST): "reset", promptly
#   no_permission  an unprivileged user cannot open /dev/net/tun: "permission"
#   device_busy    a second synack on a TUN device another one holds: "in use"
# (A refused connection is refused.sh.)
# Usage: errors.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init errors "${1:-}" nc ss

# No -v: without it an error must be exactly one line.
LINK=(--link "tun:$TUN" --addr "$SYNACK_IP/$SYNACK_PREFIX" --tun-host-addr "$SYNACK_HOST_IP/$SYNACK_PREFIX")

# check_error LABEL RC WORD: status 1 (not a timeout of ours), one line on stderr, WORD in it.
check_error() {
    local err=$DIR/$1.err
    case $2 in
        1) ;;
        124 | 137) fail "synack did not give up by itself (killed by timeout)" ;;
        *) fail "status $2, expected 1" ;;
    esac
    grep -qi "$3" "$err" || fail "stderr does not say '$3': $(head -n 3 "$err")"
    [ "$(wc -l <"$err")" -eq 1 ] || fail "the error took $(wc -l <"$err") lines; expected one"
    log "  status $2: $(head -n 1 "$err")"
}

case_begin timed_out
# 198.18.0.3 is on the TUN's subnet but nobody has it: the kernel drops the SYNs.
rc=0
ns_timeout_fg 10 "$SYNACK" cat "${LINK[@]}" -w 2 198.18.0.3 5000 </dev/null \
    >/dev/null 2>"$DIR/timed_out.err" || rc=$?
check_error timed_out "$rc" "timed out"
wait_tun_gone
case_end

case_begin reset_by_peer
start_bg n_pid "$T_SHORT" nc -l -d 5000 </dev/null >/dev/null 2>"$DIR/reset.nc.log"
if wait_kernel_listen 5000; then
    # stdin never ends: synack keeps sending until the kernel resets the connection.
    start_bg s_pid "$T_SHORT" "$SYNACK" cat "${LINK[@]}" "$SYNACK_HOST_IP" 5000 \
        </dev/zero >/dev/null 2>"$DIR/reset_by_peer.err"
    for _ in $(seq 200); do
        ip netns exec "$NS" ss -Htn state established '( sport = :5000 )' | grep -q . && break
        sleep 0.05
    done
    sleep 0.3 # data in flight both ways
    stop_bg "$n_pid" # TERM to timeout, passed on to nc: its socket closes with data unread
    # synack must notice within a few round trips, not when its timeout kills it.
    for _ in $(seq 100); do
        is_running "$s_pid" || break
        sleep 0.05
    done
    if is_running "$s_pid"; then
        fail "synack cat still running 5 s after the kernel's socket was closed"
        stop_bg "$s_pid"
    else
        wait_bg "$s_pid"
        check_error reset_by_peer "$WAIT_RC" "reset"
    fi
else
    stop_bg "$n_pid"
fi
wait_tun_gone
case_end

case_begin no_permission
if ! command -v setpriv >/dev/null; then
    case_skip "setpriv (util-linux) is not installed"
else
    # User 65534 may not reach the build tree: it runs a copy in a directory of its own.
    PRIV=$(mktemp -d /tmp/synack-interop-priv.XXXXXX) # /tmp: reachable by every user
    # shellcheck disable=SC2317 # called by the cleanup (interop_on_exit)
    drop_priv_copy() { rm -rf "$PRIV"; }
    interop_on_exit drop_priv_copy
    chmod 755 "$PRIV"
    cp "$SYNACK" "$PRIV/synack" && chmod 755 "$PRIV/synack"
    NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
    if ! "${NOBODY[@]}" test -x "$PRIV/synack"; then
        fail "user 65534 cannot execute the copy $PRIV/synack"
    else
        rc=0
        ns_timeout_fg 10 "${NOBODY[@]}" "$PRIV/synack" cat "${LINK[@]}" "$SYNACK_HOST_IP" 5000 \
            </dev/null >/dev/null 2>"$DIR/no_permission.err" || rc=$?
        check_error no_permission "$rc" "permission"
        ip -n "$NS" link show dev "$TUN" >/dev/null 2>&1 && fail "a TUN device appeared anyway"
    fi
    case_end
fi

case_begin device_busy
mkfifo "$DIR/stdin"
start_bg s_pid "$T_SHORT" "$SYNACK" cat -l "${LINK[@]}" 5000 0<>"$DIR/stdin" >/dev/null \
    2>"$DIR/busy.first.err"
if wait_tun "$s_pid"; then
    rc=0
    ns_timeout_fg 10 "$SYNACK" cat -l "${LINK[@]}" 5001 </dev/null >/dev/null \
        2>"$DIR/device_busy.err" || rc=$?
    check_error device_busy "$rc" "in use"
    is_running "$s_pid" || fail "the first synack exited when the second one failed"
fi
stop_bg "$s_pid"
wait_tun_gone
case_end

interop_finish
