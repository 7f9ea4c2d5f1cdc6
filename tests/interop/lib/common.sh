# shellcheck shell=bash
# Shared by the interop tests (sourced, not run: it lives in lib/ so CMake's
# tests/interop/*.sh glob does not register it).
#
# Each test runs synack and a kernel peer (nc, curl, ping) inside a network namespace it
# creates, so every packet stays inside that namespace: synack creates the TUN device
# there, gives the kernel's side SYNACK_HOST_IP, and speaks TCP from SYNACK_IP.
#
#   source "$(dirname "$0")/lib/common.sh"
#   interop_init NAME "$1" TOOLS...   checks, skips (77), namespace, scratch dir, traps
#   case_begin NAME; start_bg / ns_timeout / xfer_* / http_*; check_*; case_end
#   interop_finish                    prints "N passed, M failed[, K skipped]", exits 0 or 1
# A failing check calls `fail`, which marks the case failed and goes on, so one run
# reports every failure; the logs and captures of a failing test are kept, each failure in
# a directory of its own (the five latest of each test), also when later runs pass.
# `case_skip WHY` ends a case that could not run here: it counts neither as passed nor as
# failed.
#
# Environment knobs (all optional):
#   SYNACK_INTEROP_MB     size of the big transfers in MB (each test states its default)
#   SYNACK_INTEROP_KEEP   directory where a failing test leaves its pcaps and logs
#                         (default: /tmp/synack-interop-failures)
#   SYNACK_INTEROP_PCAP   0: no capture of each synack run (default 1)
#
# Rules kept here: every process runs under `timeout`; every wait loop is bounded in
# count; only PIDs started here are signalled; the namespace and the scratch directory
# are removed on any exit.

SYNACK_HOST_IP=198.18.0.1 # the kernel's side of the TUN
SYNACK_IP=198.18.0.2      # synack
SYNACK_PREFIX=24
TUN=tun0
# With INTEROP_IPV6=1 (set by a test before it runs anything), every synack run also takes
# SYNACK_IP6 and gives the kernel's side SYNACK_HOST_IP6: a stack of both families.
SYNACK_HOST_IP6=2001:db8::1
SYNACK_IP6=2001:db8::2
SYNACK_PREFIX6=64
INTEROP_IPV6=${INTEROP_IPV6:-0}
# The addresses the shared transfers use, and the family option given to nc, curl and
# ping (-6): IPv4 unless a test sets them (KERNEL_ADDR: what synack connects to;
# TARGET_ADDR: what the kernel connects to; TARGET_URL_HOST: TARGET_ADDR as a URL writes
# it).
KERNEL_ADDR=$SYNACK_HOST_IP
TARGET_ADDR=$SYNACK_IP
TARGET_URL_HOST=$SYNACK_IP
FAMILY_FLAG=()

# Bounds, in seconds. Generous: the ASan build moves 50 MB in a few seconds.
T_XFER=${T_XFER:-60}   # one bulk transfer
T_SHORT=${T_SHORT:-20} # a short exchange
# The whole test: past this a watchdog ends it (as a failure) so that the cleanup still
# runs before CTest's 300 s TIMEOUT kills the script outright. A foreground command
# delays the trap by at most T_XFER + 5 s.
INTEROP_BUDGET=${INTEROP_BUDGET:-200}

INTEROP_PIDS=()
INTEROP_FAILS=0
INTEROP_PASSES=0
INTEROP_SKIPS=0
INTEROP_CASE=""
INTEROP_CASE_FAILED=0

log() { echo "[$INTEROP_NAME] $*"; }

skip() {
    echo "SKIP: $*"
    exit 77
}

# interop_init NAME SYNACK_PATH [tools...]: checks what the test needs (skipping with a
# clear message when the machine cannot run it), makes $NS and $DIR, installs the trap.
interop_init() {
    INTEROP_NAME=$1
    SYNACK=${2:-}
    shift 2 || true
    [ -n "$SYNACK" ] || { echo "usage: $0 PATH/TO/synack"; exit 2; }
    [ -x "$SYNACK" ] || { echo "FAIL: $SYNACK is not an executable"; exit 1; }
    SYNACK=$(cd "$(dirname "$SYNACK")" && pwd)/$(basename "$SYNACK")
    [ "$(id -u)" -eq 0 ] || skip "interop tests need root (network namespaces, /dev/net/tun)"
    [ -c /dev/net/tun ] || skip "/dev/net/tun is missing (modprobe tun)"
    command -v ip >/dev/null || skip "ip (iproute2) is not installed (scripts/deps.sh)"
    command -v timeout >/dev/null || skip "timeout (coreutils) is not installed"
    local t
    for t in sha256sum "$@"; do
        command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh installs it)"
    done
    NS=synack-$INTEROP_NAME-$$
    ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace (ip netns add): no support here"
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/synack-interop-$INTEROP_NAME.XXXXXX")
    trap interop_cleanup EXIT
    trap 'exit 130' INT
    trap 'echo "[$INTEROP_NAME] FAIL: stopped by SIGTERM (the watchdog sends it after $INTEROP_BUDGET s)"; INTEROP_FAILS=$((INTEROP_FAILS + 1)); exit 1' TERM
    start_watchdog "$INTEROP_BUDGET"
    ip -n "$NS" link set lo up
    # Says early why everything below will fail, when the binary lacks the subcommand.
    timeout -k 1 5 "$SYNACK" cat --help >/dev/null 2>&1 || log "note: 'synack cat --help' fails"
}

# start_watchdog SECS: a subshell that TERMs this script after SECS, so that its EXIT trap
# (the cleanup) still runs before CTest's TIMEOUT kills the script outright; it takes its
# sleep with it when the cleanup ends it first. Its PID is in INTEROP_WATCHDOG: the
# cleanup must TERM it. The script needs a TERM trap that exits.
start_watchdog() {
    (
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        sleep "$1" &
        sp=$!
        wait "$sp" && kill -TERM $$
    ) &
    INTEROP_WATCHDOG=$!
}

# interop_on_exit CMD: CMD (a function name) runs in the cleanup, after the processes
# are ended and before the namespace goes (a second namespace to delete, ...).
INTEROP_ON_EXIT=()
interop_on_exit() { INTEROP_ON_EXIT+=("$1"); }

interop_cleanup() {
    local rc=$?
    local p f
    # Only what could be signalled is waited for: `wait` on a PID already reaped can
    # block in a trap handler until some other child ends.
    local live=()
    for p in ${INTEROP_WATCHDOG:-} "${INTEROP_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null && live+=("$p")
    done
    for p in "${live[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    for f in "${INTEROP_ON_EXIT[@]}"; do
        "$f" || true
    done
    ip netns del "$NS" 2>/dev/null || true
    local keep=${SYNACK_INTEROP_KEEP:-${TMPDIR:-/tmp}/synack-interop-failures}/$INTEROP_NAME
    if [ "$INTEROP_FAILS" -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; }; then
        # Each failure in a directory of its own, kept when later runs pass (an intermittent
        # failure is only understood from its own capture); the five latest are kept.
        local at
        at="$keep/$(date -u +%Y%m%dT%H%M%SZ).$$"
        mkdir -p "$at"
        # Logs and pcaps only: the data files are large and random.
        find "$DIR" -maxdepth 1 -type f \( -name '*.log' -o -name '*.pcap' -o -name '*.err' \) \
            -exec cp {} "$at"/ \; 2>/dev/null || true
        find "$keep" -mindepth 1 -maxdepth 1 -type d -print0 | sort -z | head -z -n -5 |
            xargs -0 -r rm -rf
        echo "[$INTEROP_NAME] logs and captures of the failure kept in $at"
    fi
    rm -rf "$DIR"
    exit "$rc"
}

# start_bg VAR SECS CMD...: runs CMD in the namespace in the background under
# `timeout SECS`, and stores its PID in VAR and in the list the cleanup signals.
# Redirections given to start_bg apply to CMD. `ip netns exec` and `timeout` both exec,
# so the PID is that of `timeout`, which passes a TERM on to CMD.
start_bg() {
    local var=$1 secs=$2
    shift 2
    # `<&0`: without it a background job of a non-interactive shell reads /dev/null.
    ip netns exec "$NS" timeout -k 5 "$secs" "$@" <&0 &
    local pid=$!
    INTEROP_PIDS+=("$pid")
    printf -v "$var" '%s' "$pid"
}

forget_pid() {
    local p keep=()
    for p in "${INTEROP_PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    INTEROP_PIDS=("${keep[@]}")
}

# wait_bg PID: waits for a job of start_bg (bounded by its timeout); status in WAIT_RC.
wait_bg() {
    WAIT_RC=0
    wait "$1" || WAIT_RC=$?
    forget_pid "$1"
}

# stop_bg PID: ends a job of start_bg now (TERM), waits for it; status in WAIT_RC.
stop_bg() {
    kill -TERM "$1" 2>/dev/null || true
    wait_bg "$1"
}

# is_running PID: the job has not exited yet.
is_running() {
    kill -0 "$1" 2>/dev/null
}

# wait_bg_within PID SECS WHAT: the job should end by itself within SECS (bounded poll);
# if it does not, that is a failure and it is stopped. Status in WAIT_RC.
wait_bg_within() {
    for _ in $(seq $(($2 * 20))); do
        is_running "$1" || break
        sleep 0.05
    done
    if is_running "$1"; then
        fail "$3 still running $2 s after the other side finished; stopped"
    fi
    stop_bg "$1"
}

now() { date +%s.%N; }

# rate BYTES T0: "N.N MB/s" since T0 (information for the log; never asserted).
rate() {
    awk -v n="$1" -v a="$2" -v b="$(now)" 'BEGIN{d = b - a; if (d <= 0) d = 1e-9;
        printf "%.1f s, %.1f MB/s", d, n / d / 1e6}'
}

# ns_timeout SECS CMD...: CMD inside the namespace in the foreground, killed after SECS
# (then KILL 5 s later). Status 124 means it timed out.
ns_timeout() {
    local secs=$1
    shift
    ip netns exec "$NS" timeout -k 5 "$secs" "$@"
}

# ns_timeout_fg SECS COMMAND...: ns_timeout for a command with no children of its own (synack
# cat): the signal goes to it alone, with no SIGCONT after it. A SIGCONT that lands while
# LeakSanitizer's exit check attaches (ASan builds) leaves the process spinning until -k
# (tests/interop/lib/udp.sh, at LIMIT).
ns_timeout_fg() {
    local secs=$1
    shift
    ip netns exec "$NS" timeout --foreground -k 5 "$secs" "$@"
}

# run_opts LABEL: sets RUN_OPTS, the options of every synack run: the TUN link in the
# namespace with the kernel's side configured by synack itself, -v (state transitions
# and a summary go to the run's log), and a capture that a failing test leaves behind
# (SYNACK_INTEROP_PCAP=0 turns it off).
run_opts() {
    RUN_OPTS=(--link "tun:$TUN" --addr "$SYNACK_IP/$SYNACK_PREFIX"
        --tun-host-addr "$SYNACK_HOST_IP/$SYNACK_PREFIX" -v)
    if [ "$INTEROP_IPV6" = 1 ]; then
        RUN_OPTS+=(--addr "$SYNACK_IP6/$SYNACK_PREFIX6"
            --tun-host-addr "$SYNACK_HOST_IP6/$SYNACK_PREFIX6")
    fi
    if [ "${SYNACK_INTEROP_PCAP:-1}" = 1 ]; then
        RUN_OPTS+=(--pcap "$DIR/$1.pcap")
    fi
}

# tun_has_ipv6: the kernel's side has SYNACK_HOST_IP6, usable (not tentative), or
# INTEROP_IPV6 is off.
tun_has_ipv6() {
    [ "$INTEROP_IPV6" = 1 ] || return 0
    ip -n "$NS" -6 addr show dev "$TUN" 2>/dev/null | grep "inet6 $SYNACK_HOST_IP6/" |
        grep -qv tentative
}

# wait_tun [PID]: bounded poll until synack's TUN is up with the kernel's address (10 s),
# and its IPv6 one with INTEROP_IPV6. With PID (the synack job), gives up at once if that
# process has exited.
wait_tun() {
    for _ in $(seq 200); do
        if ip -n "$NS" -4 addr show dev "$TUN" 2>/dev/null | grep -q "inet $SYNACK_HOST_IP/" &&
            ip -n "$NS" link show dev "$TUN" 2>/dev/null | grep -q '[<,]UP[,>]' &&
            tun_has_ipv6; then
            return 0
        fi
        if [ -n "${1:-}" ] && ! is_running "$1"; then
            fail "synack exited before its TUN device $TUN came up"
            return 1
        fi
        sleep 0.05
    done
    fail "the TUN device $TUN never came up with $SYNACK_HOST_IP in $NS (10 s)"
    return 1
}

# wait_tun_gone: bounded poll until no TUN device is left (the previous synack exited).
wait_tun_gone() {
    for _ in $(seq 200); do
        ip -n "$NS" link show dev "$TUN" >/dev/null 2>&1 || return 0
        sleep 0.05
    done
    fail "$TUN still exists in $NS 10 s after synack exited"
    return 1
}

# wait_kernel_listen PORT: bounded poll until a kernel socket listens on PORT (10 s).
wait_kernel_listen() {
    for _ in $(seq 200); do
        if ip netns exec "$NS" ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.05
    done
    fail "no kernel listener on port $1 in $NS after 10 s"
    return 1
}

# random_file PATH MB: MB megabytes (10^6 bytes) of random bytes.
random_file() {
    head -c "$(($2 * 1000000))" /dev/urandom >"$1"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

case_begin() {
    INTEROP_CASE=$1
    INTEROP_CASE_FAILED=0
    INTEROP_CASE_T0=$(date +%s.%N)
    log "case $1"
}

# case_skip WHY: the case cannot run on this machine; call it instead of case_end.
case_skip() {
    INTEROP_SKIPS=$((INTEROP_SKIPS + 1))
    log "skip $INTEROP_CASE: $*"
}

case_end() {
    local t
    t=$(awk -v a="$INTEROP_CASE_T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
    if [ "$INTEROP_CASE_FAILED" -eq 0 ]; then
        INTEROP_PASSES=$((INTEROP_PASSES + 1))
        log "ok   $INTEROP_CASE (${t}s)"
    else
        INTEROP_FAILS=$((INTEROP_FAILS + 1))
        log "FAIL $INTEROP_CASE (${t}s)"
    fi
}

fail() {
    echo "[$INTEROP_NAME] FAIL${INTEROP_CASE:+ ($INTEROP_CASE)}: $*"
    INTEROP_CASE_FAILED=1
}

# show_log FILE: prints the last lines of a log, to explain a failure.
show_log() {
    [ -s "$1" ] || return 0
    echo "--- last lines of $(basename "$1") ---"
    tail -n 15 "$1"
    echo "---"
}

# note_impairments LOG: repeats synack's -v line on what its impairments did, if any,
# and when IMPAIRED_EXPECT holds counter names ("lost duplicated ..."), fails unless each
# is above 0: an impaired run that impaired nothing would prove nothing.
IMPAIRED_EXPECT=""
note_impairments() {
    local line w n
    line=$(grep -m 1 'impairments (both ways)' "$1" 2>/dev/null) && log "  ${line#*: }"
    for w in $IMPAIRED_EXPECT; do
        n=$(sed -n "s/.*impairments (both ways):.* $w \([0-9]*\).*/\1/p" "$1" | head -n 1)
        [ "${n:-0}" -gt 0 ] || fail "synack's -v summary shows no '$w' packets: the impairment did nothing"
    done
    return 0
}

# check_rc WHAT RC [LOG]: RC must be 0.
check_rc() {
    if [ "$2" -ne 0 ]; then
        fail "$1 exited with status $2${3:+ (log: $(basename "$3"))}"
        [ -n "${3:-}" ] && show_log "$3"
    fi
    return 0
}

# check_same WHAT EXPECTED_FILE GOT_FILE: byte-exact, by sha256.
check_same() {
    local want got
    if [ ! -f "$3" ]; then
        fail "$1: nothing received ($(basename "$3") was never written)"
        return 0
    fi
    want=$(sha "$2")
    got=$(sha "$3")
    if [ "$want" != "$got" ]; then
        fail "$1: sha256 differs: sent $(stat -c %s "$2") bytes $want, received $(stat -c %s "$3") bytes $got"
        if cmp "$2" "$3" >/dev/null 2>&1; then :; else
            log "  first difference: $(cmp "$2" "$3" 2>&1 | head -n 1)"
        fi
    else
        log "  $1: $(stat -c %s "$3") bytes, sha256 equal"
    fi
}

interop_finish() {
    local skipped=""
    [ "$INTEROP_SKIPS" -eq 0 ] || skipped=", $INTEROP_SKIPS skipped"
    echo "$INTEROP_PASSES passed, $INTEROP_FAILS failed$skipped"
    if [ "$INTEROP_FAILS" -eq 0 ]; then
        exit 0
    fi
    exit 1
}

# ---- transfers shared by several tests --------------------------------------------------

# xfer_to_kernel LABEL DATA PORT [synack options...]: `synack cat KERNEL_ADDR PORT < DATA`
# to a kernel `nc -l`; the kernel receives DATA byte-exact, both exit 0, synack prints
# nothing (the kernel sends nothing).
xfer_to_kernel() {
    local label=$1 data=$2 port=$3
    shift 3
    local kout=$DIR/$label.kernel.out sout=$DIR/$label.synack.out
    local slog=$DIR/$label.synack.log nlog=$DIR/$label.nc.log
    local nc_pid t0 rc=0
    run_opts "$label"
    start_bg nc_pid "$T_XFER" nc "${FAMILY_FLAG[@]}" -l -d "$port" </dev/null >"$kout" 2>"$nlog"
    if ! wait_kernel_listen "$port"; then
        stop_bg "$nc_pid"
        return 0
    fi
    t0=$(now)
    ns_timeout "$T_XFER" "$SYNACK" cat "${RUN_OPTS[@]}" "$@" "$KERNEL_ADDR" "$port" \
        <"$data" >"$sout" 2>"$slog" || rc=$?
    log "  synack cat -> kernel nc -l: $(rate "$(stat -c %s "$data")" "$t0")"
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$nc_pid" 10 "kernel nc -l"
    else
        stop_bg "$nc_pid"
    fi
    note_impairments "$slog"
    check_rc "synack cat" "$rc" "$slog"
    check_rc "kernel nc -l" "$WAIT_RC" "$nlog"
    check_same "synack -> kernel" "$data" "$kout"
    [ -s "$sout" ] && fail "synack cat wrote $(stat -c %s "$sout") bytes the kernel never sent"
    wait_tun_gone
}

# xfer_from_kernel LABEL DATA PORT [synack options...]: kernel `nc -N TARGET_ADDR PORT <
# DATA` to `synack cat -l PORT </dev/null`; synack writes DATA byte-exact, both exit 0.
xfer_from_kernel() {
    local label=$1 data=$2 port=$3
    shift 3
    local kout=$DIR/$label.kernel.out sout=$DIR/$label.synack.out
    local slog=$DIR/$label.synack.log nlog=$DIR/$label.nc.log
    local s_pid t0 rc=0
    run_opts "$label"
    start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$@" "$port" \
        </dev/null >"$sout" 2>"$slog"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        show_log "$slog"
        return 0
    fi
    t0=$(now)
    ns_timeout "$T_XFER" nc "${FAMILY_FLAG[@]}" -N "$TARGET_ADDR" "$port" <"$data" >"$kout" \
        2>"$nlog" || rc=$?
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$s_pid" 10 "synack cat -l"
    else
        stop_bg "$s_pid"
    fi
    log "  kernel nc -> synack cat -l: $(rate "$(stat -c %s "$data")" "$t0")"
    note_impairments "$slog"
    check_rc "kernel nc" "$rc" "$nlog"
    check_rc "synack cat -l" "$WAIT_RC" "$slog"
    check_same "kernel -> synack" "$data" "$sout"
    [ -s "$kout" ] && fail "kernel nc received $(stat -c %s "$kout") bytes synack never sent"
    wait_tun_gone
}

# http_start LABEL ROOT [synack options...]: starts `synack http --root ROOT --port 80`
# in the background (PID in HTTP_PID, log in $DIR/LABEL.http.log) and waits for its TUN.
HTTP_PID=""
http_start() {
    local label=$1 root=$2
    shift 2
    run_opts "$label"
    HTTP_LOG=$DIR/$label.http.log
    start_bg HTTP_PID 280 "$SYNACK" http --root "$root" --port 80 "${RUN_OPTS[@]}" "$@" \
        </dev/null >"$DIR/$label.http.out" 2>"$HTTP_LOG"
    if ! wait_tun "$HTTP_PID"; then
        show_log "$HTTP_LOG"
        return 1
    fi
}

# http_stop: the server must still be running (it serves until told to stop); stops it.
http_stop() {
    [ -n "$HTTP_PID" ] || return 0
    if ! is_running "$HTTP_PID"; then
        wait_bg "$HTTP_PID"
        fail "synack http exited by itself (status $WAIT_RC) while it should be serving"
        show_log "$HTTP_LOG"
    else
        stop_bg "$HTTP_PID"
    fi
    note_impairments "$HTTP_LOG"
    HTTP_PID=""
    wait_tun_gone
}

# http_get_file LABEL URLPATH FILE: curl fetches http://TARGET_URL_HOST/URLPATH (-g: no
# globbing, so an IPv6 address in brackets stays one): status 200, exit 0, body
# byte-exact with FILE.
http_get_file() {
    local label=$1 path=$2 file=$3
    local out=$DIR/$label.curl.out clog=$DIR/$label.curl.log t0 rc=0 code
    t0=$(now)
    code=$(ip netns exec "$NS" timeout -k 5 "$T_XFER" curl "${FAMILY_FLAG[@]}" -g -sS \
        --max-time "$T_XFER" -o "$out" -w '%{http_code}' "http://$TARGET_URL_HOST/$path" \
        2>"$clog") || rc=$?
    log "  curl GET /$path: $(rate "$(stat -c %s "$file")" "$t0")"
    check_rc "curl GET /$path" "$rc" "$clog"
    [ "$code" = 200 ] || fail "curl GET /$path: status '$code', expected 200"
    check_same "GET /$path" "$file" "$out"
}

# ---- half-close in the middle of a two-way exchange --------------------------------------
# One side sends SMALL and shuts down its write side while the other is still sending LONG:
# LONG goes in two parts, the second only once the FIN has been seen (so the FIN really
# comes in the middle), and both outputs must be byte-exact with every exit status 0.

HC_SPLIT=2000000 # bytes of LONG sent before waiting for the FIN

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
hc_kernel_got_fin() {
    [ "$(stat -c %s "$HC_OUT" 2>/dev/null || echo 0)" -ge "$HC_WANT" ] &&
        ip netns exec "$NS" ss -Htn state close-wait "( dport = :$HC_PORT )" | grep -q .
}

# synack has all of the kernel's bytes and has acknowledged its FIN: the kernel's socket
# is in FIN-WAIT-2.
hc_synack_got_fin() {
    [ "$(stat -c %s "$HC_OUT" 2>/dev/null || echo 0)" -ge "$HC_WANT" ] &&
        ip netns exec "$NS" ss -Htn state fin-wait-2 "( sport = :$HC_PORT )" | grep -q .
}

# halfclose_synack_first LABEL PORT SMALL LONG [synack options...]: `synack cat -l PORT
# < SMALL` and kernel `nc -N` fed LONG; synack half-closes first, the kernel keeps
# sending after it got the FIN.
halfclose_synack_first() {
    local label=$1 port=$2 small=$3 long=$4
    shift 4
    local slog=$DIR/$label.synack.log nlog=$DIR/$label.nc.log mark=$DIR/$label.mark
    local sout=$DIR/$label.synack.out s_pid rc
    run_opts "$label"
    rm -f "$mark"
    start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$@" "$port" \
        <"$small" >"$sout" 2>"$slog"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        show_log "$slog"
        return 0
    fi
    HC_OUT=$DIR/$label.kernel.out HC_PORT=$port HC_WANT=$(stat -c %s "$small")
    feed_split "$long" "$HC_SPLIT" hc_kernel_got_fin "$mark" |
        ip netns exec "$NS" timeout -k 5 "$T_XFER" nc "${FAMILY_FLAG[@]}" -N "$TARGET_ADDR" \
            "$port" >"$HC_OUT" 2>"$nlog"
    rc=${PIPESTATUS[1]}
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$s_pid" 10 "synack cat -l"
    else
        stop_bg "$s_pid"
    fi
    note_impairments "$slog"
    check_rc "kernel nc" "$rc" "$nlog"
    check_rc "synack cat -l" "$WAIT_RC" "$slog"
    [ -e "$mark" ] &&
        fail "the kernel never saw synack's FIN after its $HC_WANT bytes while it was still sending (CLOSE-WAIT)"
    check_same "synack -> kernel (then FIN)" "$small" "$HC_OUT"
    check_same "kernel -> synack (after the FIN)" "$long" "$sout"
    wait_tun_gone
}

# halfclose_kernel_first LABEL PORT SMALL LONG [synack options...]: kernel `nc -N -l PORT
# < SMALL` and `synack cat` fed LONG; the kernel half-closes first, synack keeps sending
# after it got the FIN.
halfclose_kernel_first() {
    local label=$1 port=$2 small=$3 long=$4
    shift 4
    local slog=$DIR/$label.synack.log nlog=$DIR/$label.nc.log mark=$DIR/$label.mark
    local kout=$DIR/$label.kernel.out n_pid rc
    run_opts "$label"
    rm -f "$mark"
    start_bg n_pid "$T_XFER" nc -N -l "$port" <"$small" >"$kout" 2>"$nlog"
    if ! wait_kernel_listen "$port"; then
        stop_bg "$n_pid"
        return 0
    fi
    HC_OUT=$DIR/$label.synack.out HC_PORT=$port HC_WANT=$(stat -c %s "$small")
    feed_split "$long" "$HC_SPLIT" hc_synack_got_fin "$mark" |
        ip netns exec "$NS" timeout -k 5 "$T_XFER" "$SYNACK" cat "${RUN_OPTS[@]}" "$@" \
            "$KERNEL_ADDR" "$port" >"$HC_OUT" 2>"$slog"
    rc=${PIPESTATUS[1]}
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$n_pid" 10 "kernel nc -l"
    else
        stop_bg "$n_pid"
    fi
    note_impairments "$slog"
    check_rc "synack cat" "$rc" "$slog"
    check_rc "kernel nc -l" "$WAIT_RC" "$nlog"
    [ -e "$mark" ] &&
        fail "synack never acknowledged the kernel's FIN after its $HC_WANT bytes while still sending (FIN-WAIT-2)"
    check_same "kernel -> synack (then FIN)" "$small" "$HC_OUT"
    check_same "synack -> kernel (after the FIN)" "$long" "$kout"
    wait_tun_gone
}

# ---- ping --------------------------------------------------------------------------------

# listen_forever LABEL PORT [synack options...]: `synack cat -l PORT` in the background
# with a stdin that never ends (a FIFO opened read-write), so it just keeps listening while
# something else is checked; its PID in CAT_PID, its output in $DIR/LABEL.synack.out and
# .log. Waits for its TUN: 1 when it never came up.
CAT_PID=""
listen_forever() {
    local label=$1 port=$2
    shift 2
    run_opts "$label"
    [ -p "$DIR/stdin" ] || mkfifo "$DIR/stdin"
    start_bg CAT_PID "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$@" "$port" \
        0<>"$DIR/stdin" >"$DIR/$label.synack.out" 2>"$DIR/$label.synack.log"
    wait_tun "$CAT_PID"
}

# check_ping LABEL [ping options...]: three echo requests to TARGET_ADDR, three replies
# from it, payloads intact (ping reports "wrong data byte" otherwise).
check_ping() {
    local label=$1 rc=0
    shift
    ns_timeout "$T_SHORT" ping "${FAMILY_FLAG[@]}" -n -c 3 -W 2 -i 0.2 "$@" "$TARGET_ADDR" \
        >"$DIR/$label.ping.log" 2>&1 || rc=$?
    check_rc "ping $*" "$rc" "$DIR/$label.ping.log"
    grep -q ' 3 received' "$DIR/$label.ping.log" ||
        fail "ping $*: not 3 replies: $(grep 'transmitted' "$DIR/$label.ping.log")"
    [ "$(grep -c "bytes from $TARGET_ADDR" "$DIR/$label.ping.log")" -eq 3 ] ||
        fail "ping $*: expected 3 replies from $TARGET_ADDR"
    grep -qi 'wrong data\|DUP!\|truncated' "$DIR/$label.ping.log" &&
        fail "ping $*: damaged or duplicated replies: $(grep -i -m1 'wrong data\|DUP!\|truncated' "$DIR/$label.ping.log")"
    log "  ping${*:+ $*}: $(grep 'transmitted' "$DIR/$label.ping.log")"
}

# ---- captures ----------------------------------------------------------------------------

# two_way LABEL PORT [synack options]: `synack cat -l PORT < $DIR/b` and the kernel's
# `nc -N TARGET_ADDR PORT < $DIR/a` send at the same time; both byte-exact, both exit 0;
# the capture is $DIR/LABEL.pcap. (The kernel is the client because OpenBSD nc -l stops
# sending as soon as the peer's FIN arrives, which would cut its data short.)
two_way() {
    local label=$1 port=$2 s_pid rc=0
    shift 2
    SYNACK_INTEROP_PCAP=1 run_opts "$label" # the capture is what this test reads
    start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$@" "$port" \
        <"$DIR/b" >"$DIR/$label.synack.out" 2>"$DIR/$label.synack.log"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        return 0
    fi
    ns_timeout "$T_XFER" nc "${FAMILY_FLAG[@]}" -N "$TARGET_ADDR" "$port" <"$DIR/a" \
        >"$DIR/$label.kernel.out" 2>"$DIR/$label.nc.log" || rc=$?
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$s_pid" 10 "synack cat -l"
    else
        stop_bg "$s_pid"
    fi
    check_rc "kernel nc" "$rc" "$DIR/$label.nc.log"
    check_rc "synack cat -l" "$WAIT_RC" "$DIR/$label.synack.log"
    check_same "kernel -> synack" "$DIR/a" "$DIR/$label.synack.out"
    check_same "synack -> kernel" "$DIR/b" "$DIR/$label.kernel.out"
    wait_tun_gone
}


# tshark_frames PCAP FILTER OPTION...: how many frames of PCAP tshark shows that match
# FILTER ("": all), read with IPv4 header checksum validation on and the tshark OPTIONs.
tshark_frames() {
    local pcap=$1 filter=$2
    shift 2
    tshark -n -r "$pcap" -o ip.check_checksum:TRUE "$@" ${filter:+-Y "$filter"} \
        -T fields -e frame.number 2>/dev/null | wc -l
}

# tshark_sound PCAP OPTION...: what every capture of synack must pass, read as
# tshark_frames reads it: more than zero packets, every IPv4 header checksum good, no
# malformed packet, no expert error. Sets TS_TOTAL (packets) and TS_MCAST (the IPv6
# multicast the kernel sends on its own when the device comes up: router solicitations,
# MLD reports, which the stack drops as not its own). Returns 1 when there is no capture.
tshark_sound() {
    local pcap=$1 ip4 good_ip malformed experr
    shift
    if [ ! -s "$pcap" ]; then
        fail "no capture at $pcap"
        return 1
    fi
    TS_TOTAL=$(tshark_frames "$pcap" "" "$@")
    TS_MCAST=$(tshark_frames "$pcap" 'ipv6.dst == ff00::/8 && icmpv6' "$@")
    ip4=$(tshark_frames "$pcap" ip "$@")
    good_ip=$(tshark_frames "$pcap" 'ip.checksum.status == "Good"' "$@")
    malformed=$(tshark_frames "$pcap" _ws.malformed "$@")
    experr=$(tshark_frames "$pcap" '_ws.expert.severity == error' "$@")
    log "  tshark: $TS_TOTAL packets, the kernel's IPv6 multicast $TS_MCAST, IPv4 header" \
        "checksums good $good_ip of $ip4, malformed $malformed, expert errors $experr"
    [ "$TS_TOTAL" -gt 0 ] || fail "tshark read no packet from $(basename "$pcap")"
    [ "$good_ip" -eq "$ip4" ] || fail "only $good_ip of $ip4 IPv4 header checksums verified good"
    [ "$malformed" -eq 0 ] || fail "$malformed malformed packets"
    [ "$experr" -eq 0 ] || fail "$experr packets with an expert error"
    return 0
}

# tshark_check PCAP PORT SYNACK_ADDR KERNEL_ADDR: tshark's verdict on a capture of synack
# (--pcap) talking TCP on PORT with the kernel, IPv4 or IPv6 by the addresses, read with
# IP and TCP checksum validation on: tshark_sound; every TCP packet between the two
# addresses, both directions present, at least two SYNs; every TCP checksum verified good;
# and what is not TCP only the kernel's IPv6 multicast. The payload on PORT is random
# bytes: it is decoded as plain data, or tshark's dissectors for whatever protocol owns
# that port (5000: GSM over IP) call it malformed.
tshark_check() {
    local pcap=$1 port=$2 me=$3 peer=$4 ipf=ip
    case $me in *:*) ipf=ipv6 ;; esac
    local opts=(-o tcp.check_checksum:TRUE -d "tcp.port==$port,data")
    tshark_sound "$pcap" "${opts[@]}" || return 0
    count() { tshark_frames "$pcap" "$1" "${opts[@]}"; }
    local tcp ours fwd rev syn bad_tcp good_tcp ffff
    tcp=$(count tcp)
    ours=$(count "tcp && $ipf.addr == $me && $ipf.addr == $peer")
    fwd=$(count "tcp && $ipf.src == $me")
    rev=$(count "tcp && $ipf.src == $peer")
    syn=$(count 'tcp.flags.syn == 1')
    bad_tcp=$(count 'tcp.checksum.status == "Bad"')
    good_tcp=$(count 'tcp.checksum.status == "Good"')
    # 0xffff and 0x0000 are the same number in one's complement (RFC 1624 §3); Linux
    # sometimes writes 0xffff where 0x0000 is the canonical form, and tshark calls that
    # "Bad". Allowed from the kernel only: synack must write the canonical one.
    ffff=$(count "tcp.checksum.ffff && $ipf.src == $peer")
    good_tcp=$((good_tcp + ffff))
    bad_tcp=$((bad_tcp - ffff))
    log "  tshark: tcp $tcp ($fwd from synack, $rev from the kernel), SYN $syn, checksums" \
        "good $good_tcp (kernel 0xffff: $ffff), bad $bad_tcp"
    [ "$((TS_TOTAL - tcp))" -eq "$TS_MCAST" ] ||
        fail "$((TS_TOTAL - tcp - TS_MCAST)) packets are neither TCP nor the kernel's IPv6 multicast"
    [ "$ours" -eq "$tcp" ] || fail "$((tcp - ours)) TCP packets are not between $me and $peer"
    { [ "$fwd" -gt 0 ] && [ "$rev" -gt 0 ]; } || fail "the capture lacks a direction"
    [ "$syn" -ge 2 ] || fail "the capture holds $syn SYN segments; the handshake has 2"
    [ "$good_tcp" -eq "$tcp" ] || fail "only $good_tcp of $tcp TCP checksums verified good"
    [ "$bad_tcp" -eq 0 ] || fail "$bad_tcp bad TCP checksums"
}

# tshark_check_udp PCAP ME PEER DIRS PORT: a capture of UDP between ME (synack) and PEER
# (the kernel), read with UDP checksum validation on and IP reassembly (tshark's default;
# two passes, so that each fragment knows where it was reassembled), the payload on PORT
# decoded as plain data (as tshark_check does for TCP: PORT, below the ephemeral ports, is
# the one tshark tries first, and without this a random ephemeral port that its tables
# give to some protocol, 23 of them from 49152 up, would have the payload parsed as that
# protocol's and called malformed): tshark_sound; each packet
# UDP between the two, a fragment of such a datagram, an ICMP/ICMPv6 destination
# unreachable between them, or the kernel's IPv6 multicast; at least one datagram that came
# in fragments and was reassembled; every UDP and ICMP checksum good; UDP from ME, and
# (DIRS "both") from PEER too.
tshark_check_udp() {
    local pcap=$1 me=$2 peer=$3 dirs=$4 port=$5 ipf=ip icmpf=icmp unreach_type=3
    local inf=ip.reassembled_in u
    case $me in *:*) ipf=ipv6 icmpf=icmpv6 unreach_type=1 inf=ipv6.reassembled.in ;; esac
    u="udp && !$icmpf" # not the datagram an ICMP error quotes
    local opts=(-2 -o udp.check_checksum:TRUE -d "udp.port==$port,data")
    tshark_sound "$pcap" "${opts[@]}" || return 0
    countu() { tshark_frames "$pcap" "$1" "${opts[@]}"; }
    local udp ours fwd rev frag reasm unreach good_udp bad_icmp
    udp=$(countu "$u")
    ours=$(countu "$u && $ipf.addr == $me && $ipf.addr == $peer")
    fwd=$(countu "$u && $ipf.src == $me")
    rev=$(countu "$u && $ipf.src == $peer")
    # Fragments but the one that completes a datagram (tshark shows the UDP in that one).
    frag=$(countu "!udp && !$icmpf && $inf && $ipf.addr == $me && $ipf.addr == $peer")
    reasm=$(countu "$u && $ipf.fragments")
    unreach=$(countu "$icmpf.type == $unreach_type && $ipf.addr == $me && $ipf.addr == $peer")
    good_udp=$(countu "$u && udp.checksum.status == \"Good\"")
    bad_icmp=$(countu "$icmpf.checksum.status == \"Bad\"")
    log "  tshark: udp $udp ($fwd from synack, $rev from the kernel), $reasm reassembled from" \
        "fragments ($frag other fragments), unreachable $unreach, checksums good udp" \
        "$good_udp, bad icmp $bad_icmp"
    [ "$((TS_TOTAL - udp - frag - unreach - TS_MCAST))" -eq 0 ] ||
        fail "$((TS_TOTAL - udp - frag - unreach - TS_MCAST)) packets are not UDP between $me and $peer, its fragments, a destination unreachable or the kernel's IPv6 multicast"
    [ "$ours" -eq "$udp" ] || fail "$((udp - ours)) UDP datagrams are not between $me and $peer"
    [ "$fwd" -gt 0 ] || fail "the capture holds no datagram from synack"
    [ "$dirs" != both ] || [ "$rev" -gt 0 ] || fail "the capture holds no datagram from the kernel"
    [ "$reasm" -gt 0 ] || fail "no datagram in the capture came in fragments"
    [ "$good_udp" -eq "$udp" ] || fail "only $good_udp of $udp UDP checksums verified good"
    [ "$bad_icmp" -eq 0 ] || fail "$bad_icmp bad ICMP checksums"
}

# ---- counters ----------------------------------------------------------------------------

# synack_v_counts LOG: reads the summary `synack cat -v` prints at exit into V_SEGS_OUT
# (segments the last connection sent, retransmissions included), V_RETRANS (how many of
# them were retransmissions), V_STACK_OUT (TCP segments the whole stack sent) and
# V_RSTS_IN (RSTs the stack received). A counter the log does not show is left empty.
synack_v_counts() {
    local conn stack
    conn=$(grep -E ' payload bytes in [0-9]+ segments \([0-9]+ retransmitted' "$1" | tail -n 1)
    stack=$(grep -E ': stack: segments in [0-9]+ out [0-9]+, RSTs in [0-9]+' "$1" | tail -n 1)
    V_SEGS_OUT=$(sed -n 's/.* payload bytes in \([0-9]*\) segments (.*/\1/p' <<<"$conn")
    V_RETRANS=$(sed -n 's/.* segments (\([0-9]*\) retransmitted.*/\1/p' <<<"$conn")
    V_STACK_OUT=$(sed -n 's/.*: stack: segments in [0-9]* out \([0-9]*\),.*/\1/p' <<<"$stack")
    V_RSTS_IN=$(sed -n 's/.*, RSTs in \([0-9]*\) out .*/\1/p' <<<"$stack")
}

# refused_at_once LOG: the `synack cat -v` run logged in LOG was refused at once: its
# connection sent exactly one segment (the SYN, never retransmitted), the stack sent
# nothing else and received exactly one RST. Otherwise prints what differs and returns 1.
# Timing-free: a refusal after a SYN retransmission shows up in the counters.
refused_at_once() {
    synack_v_counts "$1"
    if [ "$V_SEGS_OUT" = 1 ] && [ "$V_RETRANS" = 0 ] && [ "$V_STACK_OUT" = 1 ] &&
        [ "$V_RSTS_IN" = 1 ]; then
        return 0
    fi
    echo "expected one SYN sent, no retransmission and one RST received; the -v summary" \
        "shows connection segments out '${V_SEGS_OUT}' (retransmitted '${V_RETRANS}')," \
        "stack segments out '${V_STACK_OUT}', RSTs in '${V_RSTS_IN}'"
    return 1
}

# ns_counter TABLE NAME: the kernel's counter NAME of TABLE in $NS (the counters are per
# network namespace): TABLE TcpExt from /proc/net/netstat, Ip, Icmp, Udp, ... from
# /proc/net/snmp (each table two lines, its names then its values); TABLE 6 for the IPv6
# ones of /proc/net/snmp6, one "NAME VALUE" a line (Udp6InDatagrams, Ip6ReasmOKs). Prints
# nothing when the kernel has no such counter.
# shellcheck disable=SC2016 # awk programs
ns_counter() {
    if [ "$1" = 6 ]; then
        ip netns exec "$NS" awk -v want="$2" '$1 == want { print $2 }' /proc/net/snmp6
        return
    fi
    ip netns exec "$NS" awk -v table="$1:" -v want="$2" '$1 == table {
        if (!h) { for (i = 2; i <= NF; i++) name[i] = $i; h = 1; next }
        for (i = 2; i <= NF; i++) if (name[i] == want) print $i }' /proc/net/netstat /proc/net/snmp
}

# ns_tcpext NAME: the kernel's TcpExt counter NAME (e.g. TCPSynRetrans) in $NS.
ns_tcpext() { ns_counter TcpExt "$1"; }
