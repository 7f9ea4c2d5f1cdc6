#!/usr/bin/env bash
# Unmodified servers under `synack run` (its defaults: TUN synack0, the program's stack
# 198.18.0.2 and 2001:db8::2) with clients of the kernel, inside a network namespace this
# test creates; every transfer byte-exact:
#   http          python3 -m http.server --bind :: (the threading server, on one dual-stack
#                 socket: IPV6_V6ONLY off): curl GET of a 10 MB file over IPv4, four at
#                 once (curl -Z), and one over IPv6
#   nc            OpenBSD nc -l with the kernel's nc, a file each way; the one sending
#                 half-closes (-N) and reads on until the other closes
#   socat         socat TCP-LISTEN with the kernel's socat, a file each way at once: the
#                 first to finish half-closes while the other still sends (-t 30)
#   redis         redis-server (epoll, many connections): redis-benchmark -n 20000 -c 20
#                 from the kernel's side, and a 1 MB value SET and read back with redis-cli
#   iperf3        iperf3 -s -1 with the kernel's iperf3 -c for 2 s, each way (-R)
# Usage: run_servers.sh PATH/TO/synack   (SYNACK_INTEROP_MB=N changes the 10 MB)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/run.sh
source "$(dirname "$0")/lib/run.sh"
run_init run_servers "${1:-}" curl nc socat redis-server redis-benchmark redis-cli iperf3 "$PY"

MB=${SYNACK_INTEROP_MB:-10}
WWW=$DIR/www
mkdir -p "$WWW"
random_file "$WWW/big.bin" "$MB"
random_file "$DIR/back.bin" "$MB"

# curl_ns ARGS...: the kernel's curl, bounded twice.
curl_ns() {
    ns_timeout "$T_XFER" curl --max-time "$T_XFER" "$@"
}

case_begin http
run_bg s_pid http 280 "$PY" -m http.server --bind :: --directory "$WWW" 8080 </dev/null \
    >/dev/null
retry_refused "$T_XFER" curl -sS --max-time "$T_XFER" -o "$DIR/http.out" \
    http://198.18.0.2:8080/big.bin 2>"$DIR/http.curl.log"
check_rc "kernel curl" "$RETRY_RC" "$DIR/http.curl.log"
check_same "GET /big.bin" "$WWW/big.bin" "$DIR/http.out"
rc=0
curl_ns -sS -Z --parallel-immediate --parallel-max 4 -o "$DIR/par.1" \
    http://198.18.0.2:8080/big.bin -o "$DIR/par.2" http://198.18.0.2:8080/big.bin \
    -o "$DIR/par.3" http://198.18.0.2:8080/big.bin -o "$DIR/par.4" \
    http://198.18.0.2:8080/big.bin 2>"$DIR/par.curl.log" || rc=$?
check_rc "kernel curl -Z" "$rc" "$DIR/par.curl.log"
for n in 1 2 3 4; do
    check_same "parallel GET /big.bin #$n" "$WWW/big.bin" "$DIR/par.$n"
done
rc=0
curl_ns -g -sS -o "$DIR/http6.out" 'http://[2001:db8::2]:8080/big.bin' \
    2>"$DIR/http6.curl.log" || rc=$?
check_rc "kernel curl over IPv6" "$rc" "$DIR/http6.curl.log"
check_same "GET /big.bin over IPv6" "$WWW/big.bin" "$DIR/http6.out"
is_running "$s_pid" || fail "python3 -m http.server exited while serving"
stop_bg "$s_pid"
check_runtime_line "$DIR/http.log"
wait_tun_gone
case_end

case_begin nc
# One way at a time (Debian's nc quits when the network side ends): the kernel's nc
# half-closes after its file, then synack's nc -l -N after its own.
run_bg s_pid nc1 "$T_XFER" nc -l -d 5000 >"$DIR/nc1.synack.out"
retry_refused "$T_XFER" nc -N 198.18.0.2 5000 <"$WWW/big.bin" >/dev/null 2>"$DIR/nc1.k.log"
check_rc "kernel nc -N" "$RETRY_RC" "$DIR/nc1.k.log"
wait_bg_within "$s_pid" 10 "synack run nc -l"
check_rc "synack run nc -l" "$WAIT_RC" "$DIR/nc1.log"
check_same "kernel nc -N -> synack nc -l" "$WWW/big.bin" "$DIR/nc1.synack.out"
wait_tun_gone
run_bg s_pid nc2 "$T_XFER" nc -l -N 5000 <"$DIR/back.bin" >/dev/null
retry_refused "$T_XFER" nc -d 198.18.0.2 5000 >"$DIR/nc2.kernel.out" 2>"$DIR/nc2.k.log"
check_rc "kernel nc" "$RETRY_RC" "$DIR/nc2.k.log"
wait_bg_within "$s_pid" 10 "synack run nc -l -N"
check_rc "synack run nc -l -N" "$WAIT_RC" "$DIR/nc2.log"
check_same "synack nc -l -N -> kernel nc" "$DIR/back.bin" "$DIR/nc2.kernel.out"
wait_tun_gone
case_end

case_begin socat
run_bg s_pid socat "$T_XFER" socat -t 30 TCP-LISTEN:5001,reuseaddr STDIO <"$DIR/back.bin" \
    >"$DIR/socat.synack.out"
retry_refused "$T_XFER" socat -t 30 STDIO TCP:198.18.0.2:5001 <"$WWW/big.bin" \
    >"$DIR/socat.kernel.out" 2>"$DIR/socat.k.log"
check_rc "kernel socat" "$RETRY_RC" "$DIR/socat.k.log"
wait_bg_within "$s_pid" 10 "synack run socat"
check_rc "synack run socat" "$WAIT_RC" "$DIR/socat.log"
check_same "kernel socat -> synack socat" "$WWW/big.bin" "$DIR/socat.synack.out"
check_same "synack socat -> kernel socat" "$DIR/back.bin" "$DIR/socat.kernel.out"
wait_tun_gone
case_end

case_begin redis
run_bg s_pid redis 280 redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
    --save '' --appendonly no --dir "$DIR" </dev/null >"$DIR/redis.out.log"
retry_refused "$T_SHORT" redis-cli -h 198.18.0.2 ping >"$DIR/redis.ping" 2>&1
grep -q PONG "$DIR/redis.ping" || fail "redis-cli ping: $(cat "$DIR/redis.ping")"
rc=0
ns_timeout "$T_XFER" redis-benchmark -h 198.18.0.2 -n 20000 -c 20 -t set,get,incr,lpush \
    -q >"$DIR/redis.bench.log" 2>&1 || rc=$?
check_rc "redis-benchmark" "$rc" "$DIR/redis.bench.log"
for t in SET GET INCR LPUSH; do
    line=$(tr '\r' '\n' <"$DIR/redis.bench.log" | grep -E "^$t: [0-9.]+ requests per second" |
        tail -n 1)
    [ -n "$line" ] || fail "redis-benchmark printed no result for $t"
    log "  $line"
done
head -c 1000000 "$WWW/big.bin" | base64 -w 0 >"$DIR/value"
rc=0
ns_timeout "$T_SHORT" redis-cli -h 198.18.0.2 -x set big <"$DIR/value" >/dev/null \
    2>"$DIR/redis.cli.log" || rc=$?
check_rc "redis-cli -x set" "$rc" "$DIR/redis.cli.log"
rc=0
ns_timeout "$T_SHORT" redis-cli -h 198.18.0.2 --raw get big 2>>"$DIR/redis.cli.log" |
    head -c "$(stat -c %s "$DIR/value")" >"$DIR/value.back" || rc=$?
check_rc "redis-cli get" "$rc" "$DIR/redis.cli.log"
check_same "a 1 MB value through redis" "$DIR/value" "$DIR/value.back"
is_running "$s_pid" || fail "redis-server exited while serving"
stop_bg "$s_pid"
wait_tun_gone
case_end

# iperf3_from_kernel LABEL [-R]: the kernel's iperf3 -c for 2 s to (or, -R, from) iperf3 -s
# -1 under synack run; both exit 0, data moved.
iperf3_from_kernel() {
    local label=$1 rate
    shift
    run_bg s_pid "$label" 60 iperf3 -s -1 -p 5201 </dev/null >"$DIR/$label.s.log"
    retry_refused 30 iperf3 -c 198.18.0.2 -p 5201 -t 2 "$@" >"$DIR/$label.iperf.log" 2>&1
    check_rc "kernel iperf3 -c $*" "$RETRY_RC" "$DIR/$label.iperf.log"
    wait_bg_within "$s_pid" 10 "synack run iperf3 -s -1"
    check_rc "synack run iperf3 -s -1" "$WAIT_RC" "$DIR/$label.log"
    rate=$(grep -E 'receiver$' "$DIR/$label.iperf.log" | tail -n 1)
    log "  kernel iperf3 -c $*: ${rate:-no receiver line}"
    grep -Eq ' [1-9][0-9.]* [KMG]?bits/sec +receiver$' "$DIR/$label.iperf.log" ||
        fail "iperf3 -c $* reports no data received"
    wait_tun_gone
}

case_begin iperf3
iperf3_from_kernel iperf3
iperf3_from_kernel iperf3r -R
case_end

interop_finish
