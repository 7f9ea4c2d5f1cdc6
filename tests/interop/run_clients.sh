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
#   reuse         a python3 client that closes first, 20 connections in a row from port
#                 50000 (SO_REUSEADDR): each takes over the TIME_WAIT the one before left
#                 (time_wait_reuse) and the kernel's server answers every one; over IPv4
#                 and over IPv6
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

# A client that closes first keeps a TIME_WAIT per 4-tuple; from one fixed port each new
# connection must take over the one before's (RFC 6191 from the side that closed first).
# The client tries a connect again, 1 ms apart and at most 3000 times, while the port is
# still closing (EADDRINUSE); without the takeover it would wait out 2*MSL (60 s). The
# kernel's SYN-ACK must pass our check of its timestamps (no PAWS drop): its clock has
# ticked since its FIN, as ours has since we heard it.
case_begin reuse
cat >"$DIR/reuse_server.py" <<'PYEOF'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
l = socket.socket(socket.AF_INET6)  # both families: IPV6_V6ONLY is off by default
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("::", port))
l.listen(8)
with open(sys.argv[3], "w") as out:
    for _ in range(n):
        c, peer = l.accept()
        got = b""
        while len(got) < 64:
            b = c.recv(64 - len(got))
            if not b:
                break
            got += b
        c.sendall(got[::-1])
        while c.recv(4096):  # the client closes first
            pass
        c.close()
        out.write("%d %s\n" % (peer[1], got.hex()))
        out.flush()
PYEOF
cat >"$DIR/reuse_client.py" <<'PYEOF'
import errno, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for i in range(n):
    for tries in range(3001):
        s = socket.socket(fam)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 50000))
            s.connect((host, port))
            break
        except OSError as e:
            s.close()
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL) or tries == 3000:
                raise
            time.sleep(0.001)
    msg = bytes([i]) * 32 + bytes(range(32))
    s.sendall(msg)
    got = b""
    while len(got) < 64:
        b = s.recv(64 - len(got))
        if not b:
            sys.exit("connection %d: short answer" % i)
        got += b
    if got != msg[::-1]:
        sys.exit("connection %d: wrong answer" % i)
    s.close()
PYEOF
# reuse_from LABEL HOST PORT: 20 connections in a row from port 50000 to the kernel's server
# on HOST PORT, each taking over the TIME_WAIT of the one before.
reuse_from() {
    local label=$1 host=$2 port=$3 ports line reused paws
    start_bg k_pid 60 "$PY" "$DIR/reuse_server.py" "$port" 20 "$DIR/$label.kernel.out" \
        2>"$DIR/$label.k.log"
    wait_kernel_listen "$port" || return 0
    run_fg "$label" 60 "$PY" "$DIR/reuse_client.py" "$host" "$port" 20
    check_rc "synack run python3 (20 connections from port 50000 to $host)" "$RUN_RC" \
        "$DIR/$label.log"
    wait_bg_within "$k_pid" 10 "kernel python3 server"
    check_rc "kernel python3 server" "$WAIT_RC" "$DIR/$label.k.log"
    ports=$(cut -d' ' -f1 "$DIR/$label.kernel.out" | sort | uniq -c | awk '{print $1 "x" $2}')
    [ "$ports" = "20x50000" ] ||
        fail "the kernel's server saw connections from '$ports', not 20 from port 50000"
    line=$(grep -E 'stack: segments in .* TIME_WAITs reused [0-9]+' "$DIR/$label.log" | tail -n 1)
    reused=$(sed -n 's/.*TIME_WAITs reused \([0-9]*\).*/\1/p' <<<"$line")
    paws=$(sed -n 's/.*PAWS drops \([0-9]*\),.*/\1/p' <<<"$line")
    log "  20 connections from port 50000 to $host: TIME_WAITs reused ${reused:-?}, PAWS drops ${paws:-?}"
    [ "$reused" = 19 ] || fail "expected 19 TIME_WAITs taken over, the -v line says '$reused'"
    [ "$paws" = 0 ] || fail "expected no PAWS drop (the kernel's SYN-ACKs pass), saw '$paws'"
    wait_tun_gone
}
reuse_from reuse 198.18.0.1 5003
reuse_from reuse6 2001:db8::1 5004
case_end

interop_finish
