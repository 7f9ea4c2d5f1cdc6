# shellcheck shell=bash
# Shared by the tests of `synack run` against the kernel (run_clients.sh, run_servers.sh);
# sourced after lib/common.sh.
#
# Each unmodified program runs under `synack run` with its defaults: a TUN device synack0
# in the test's namespace, the kernel's side 198.18.0.1/24 and 2001:db8::1/64, the
# program's stack 198.18.0.2/24 and 2001:db8::2/64. The device lives as long as the
# program's runtime: it comes up at the program's first socket and goes with it, so a
# kernel server listens on the wildcard address (198.18.0.1 exists only meanwhile) and
# every run waits for the previous device to go (wait_tun_gone).
#
#   run_init NAME SYNACK TOOLS...     interop_init, plus the preload library's presence
#   run_bg VAR LABEL SECS PROGRAM...  PROGRAM under `synack run -v` in the background
#   run_fg LABEL SECS PROGRAM...      the same in the foreground; status in RUN_RC
#   retry_refused SECS CMD...         CMD again while it fails at once (no listener yet)
#   kernel_http_start DIR PORT        python3 -m http.server in the namespace (the kernel's)

TUN=synack0
INTEROP_IPV6=1 # the defaults give the kernel's side an IPv6 address too: wait_tun waits for it
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)

# run_init NAME SYNACK TOOLS...: as interop_init; skips (77) when the build has no preload
# library beside synack (a build without it, such as the fuzz build).
run_init() {
    local name=$1 synack=${2:-}
    shift 2 || true
    interop_init "$name" "$synack" "$@"
    [ -f "$(dirname "$SYNACK")/libsynack-preload.so" ] ||
        skip "no libsynack-preload.so beside $SYNACK (not built here)"
}

# run_args LABEL: sets RUN_ARGS, the options of every `synack run` here: -v (the runtime's
# line and its counters at exit go to the log) and a capture a failing test leaves behind.
run_args() {
    RUN_ARGS=(-v)
    [ "${SYNACK_INTEROP_PCAP:-1}" = 1 ] && RUN_ARGS+=(--pcap "$DIR/$1.pcap")
    return 0
}

# run_bg VAR LABEL SECS PROGRAM [ARGS...]: `synack run` of PROGRAM in the namespace in the
# background, its stderr in $DIR/LABEL.log (redirect stdin and stdout as the caller needs);
# waits for its TUN device (fails the case when it does not come).
run_bg() {
    local var=$1 label=$2 secs=$3
    shift 3
    run_args "$label"
    start_bg "$var" "$secs" "$SYNACK" run "${RUN_ARGS[@]}" -- "$@" 2>"$DIR/$label.log"
    wait_tun "${!var}" || show_log "$DIR/$label.log"
}

# run_fg LABEL SECS PROGRAM [ARGS...]: the same in the foreground, bounded; RUN_RC holds the
# status.
run_fg() {
    local label=$1 secs=$2
    shift 2
    run_args "$label"
    RUN_RC=0
    ns_timeout "$secs" "$SYNACK" run "${RUN_ARGS[@]}" -- "$@" 2>"$DIR/$label.log" || RUN_RC=$?
}

# retry_refused SECS CMD...: CMD in the namespace, bounded by SECS, run again (at most 50
# times, 0.1 s apart) while it fails within a second: the program under synack run has its
# device up but may not be listening yet, and synack answers a SYN to a closed port with a
# RST at once. Status in RETRY_RC. Redirections apply to each run.
retry_refused() {
    local secs=$1 t0 t1
    shift
    for _ in $(seq 50); do
        RETRY_RC=0
        t0=$(date +%s%N)
        ns_timeout "$secs" "$@" || RETRY_RC=$?
        t1=$(date +%s%N)
        [ "$RETRY_RC" -eq 0 ] || [ $(((t1 - t0) / 1000000)) -ge 1000 ] && return 0
        sleep 0.1
    done
}

# kernel_http_start ROOT PORT: the kernel's HTTP server (python3 -m http.server, threading)
# on PORT of every address of the namespace, IPv4 and IPv6 (--bind ::: a dual-stack socket),
# serving ROOT; PID in KHTTP_PID.
kernel_http_start() {
    start_bg KHTTP_PID 280 "$PY" -m http.server --bind :: --directory "$1" "$2" </dev/null \
        >"$DIR/kernel-http.log" 2>&1
    wait_kernel_listen "$2"
}

# check_runtime_line LOG: the program's runtime came up with the defaults of synack run (its
# -v line names both addresses and the device).
check_runtime_line() {
    grep -q 'on tun:synack0' "$1" && grep -q '198.18.0.2 and 2001:db8::2' "$1" ||
        fail "no runtime line with the defaults in $(basename "$1")"
}
