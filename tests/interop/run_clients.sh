#!/usr/bin/env bash
# Unmodified clients under `synack run` (its defaults: TUN synack0, the kernel's side
# 198.18.0.1 and 2001:db8::1) against servers of the kernel, inside a network namespace this
# test creates; every transfer byte-exact:
#   curl          GET of a 10 MB file from python3 -m http.server, over IPv4 and over IPv6
#   wget          the same file
#   nc            OpenBSD nc with the kernel's nc -l, a file each way; the one sending
#                 half-closes (-N) and reads on until the other closes
#   socat         socat with the kernel's socat TCP-LISTEN, a file each way at once: the
#                 first to finish half-closes while the other still sends (-t 30)
#   iperf3        iperf3 -c for 2 s each way (-R) against the kernel's iperf3 -s -1
# Usage: run_clients.sh PATH/TO/synack   (SYNACK_INTEROP_MB=N changes the 10 MB)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/run.sh
source "$(dirname "$0")/lib/run.sh"
run_init run_clients "${1:-}" curl wget nc socat iperf3 "$PY"

MB=${SYNACK_INTEROP_MB:-10}
WWW=$DIR/www
mkdir -p "$WWW"
random_file "$WWW/big.bin" "$MB"
random_file "$DIR/back.bin" "$MB"

case_begin curl
if kernel_http_start "$WWW" 8000; then
    run_fg curl "$T_XFER" curl -sS --max-time "$T_XFER" -o "$DIR/curl.out" \
        http://198.18.0.1:8000/big.bin
    check_rc "synack run curl" "$RUN_RC" "$DIR/curl.log"
    check_same "curl GET /big.bin" "$WWW/big.bin" "$DIR/curl.out"
    check_runtime_line "$DIR/curl.log"
    wait_tun_gone
    run_fg curl6 "$T_XFER" curl -g -sS --max-time "$T_XFER" -o "$DIR/curl6.out" \
        'http://[2001:db8::1]:8000/big.bin'
    check_rc "synack run curl over IPv6" "$RUN_RC" "$DIR/curl6.log"
    check_same "curl GET /big.bin over IPv6" "$WWW/big.bin" "$DIR/curl6.out"
    wait_tun_gone
fi
case_end

case_begin wget
run_fg wget "$T_XFER" wget -q -T "$T_XFER" -O "$DIR/wget.out" http://198.18.0.1:8000/big.bin
check_rc "synack run wget" "$RUN_RC" "$DIR/wget.log"
check_same "wget /big.bin" "$WWW/big.bin" "$DIR/wget.out"
wait_tun_gone
stop_bg "$KHTTP_PID"
case_end

case_begin nc
# Debian's nc quits as soon as the network side ends, so each run carries data one way: to
# the kernel, where synack's nc half-closes (-N) and reads on until the kernel's nc closes;
# and from it, where the kernel's nc half-closes.
start_bg k_pid "$T_XFER" nc -l -d 5000 >"$DIR/nc1.kernel.out" 2>"$DIR/nc1.k.log"
if wait_kernel_listen 5000; then
    run_fg nc1 "$T_XFER" nc -N 198.18.0.1 5000 <"$WWW/big.bin" >"$DIR/nc1.synack.out"
    check_rc "synack run nc -N" "$RUN_RC" "$DIR/nc1.log"
    wait_bg_within "$k_pid" 10 "kernel nc -l"
    check_rc "kernel nc -l" "$WAIT_RC" "$DIR/nc1.k.log"
    check_same "synack nc -N -> kernel nc -l" "$WWW/big.bin" "$DIR/nc1.kernel.out"
fi
wait_tun_gone
start_bg k_pid "$T_XFER" nc -l -N 5000 <"$DIR/back.bin" >/dev/null 2>"$DIR/nc2.k.log"
if wait_kernel_listen 5000; then
    run_fg nc2 "$T_XFER" nc -d 198.18.0.1 5000 >"$DIR/nc2.synack.out"
    check_rc "synack run nc" "$RUN_RC" "$DIR/nc2.log"
    wait_bg_within "$k_pid" 10 "kernel nc -l -N"
    check_rc "kernel nc -l -N" "$WAIT_RC" "$DIR/nc2.k.log"
    check_same "kernel nc -l -N -> synack nc" "$DIR/back.bin" "$DIR/nc2.synack.out"
fi
wait_tun_gone
case_end

case_begin socat
start_bg k_pid "$T_XFER" socat -t 30 TCP-LISTEN:5001,reuseaddr STDIO <"$DIR/back.bin" \
    >"$DIR/socat.kernel.out" 2>"$DIR/socat.k.log"
if wait_kernel_listen 5001; then
    run_fg socat "$T_XFER" socat -t 30 STDIO TCP:198.18.0.1:5001 <"$WWW/big.bin" \
        >"$DIR/socat.synack.out"
    check_rc "synack run socat" "$RUN_RC" "$DIR/socat.log"
    wait_bg_within "$k_pid" 10 "kernel socat"
    check_rc "kernel socat" "$WAIT_RC" "$DIR/socat.k.log"
    check_same "synack socat -> kernel socat" "$WWW/big.bin" "$DIR/socat.kernel.out"
    check_same "kernel socat -> synack socat" "$DIR/back.bin" "$DIR/socat.synack.out"
fi
wait_tun_gone
case_end

# iperf3_to_kernel LABEL [-R]: 2 s of iperf3 from (or, -R, to) the program under synack run;
# both ends exit 0 and report bytes moved.
iperf3_to_kernel() {
    local label=$1
    shift
    start_bg k_pid 30 iperf3 -s -1 -p 5201 </dev/null >"$DIR/$label.k.log" 2>&1
    wait_kernel_listen 5201 || return 0
    run_fg "$label" 30 iperf3 -c 198.18.0.1 -p 5201 -t 2 "$@" >"$DIR/$label.iperf.log"
    check_rc "synack run iperf3 -c $*" "$RUN_RC" "$DIR/$label.log"
    wait_bg_within "$k_pid" 10 "kernel iperf3 -s -1"
    check_rc "kernel iperf3 -s" "$WAIT_RC" "$DIR/$label.k.log"
    local rate
    rate=$(grep -E 'receiver$' "$DIR/$label.iperf.log" | tail -n 1)
    log "  iperf3 -c $*: ${rate:-no receiver line}"
    grep -Eq ' [1-9][0-9.]* [KMG]?bits/sec +receiver$' "$DIR/$label.iperf.log" ||
        fail "iperf3 -c $* reports no data received"
    wait_tun_gone
}

case_begin iperf3
iperf3_to_kernel iperf3
iperf3_to_kernel iperf3r -R
case_end

interop_finish
