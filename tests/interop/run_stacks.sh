#!/usr/bin/env bash
# `synack run --stacks N`: N stacks, one per core, each on its own queue of a multi-queue
# TUN whose kernel program steers every flow to one queue, against the kernel, inside a
# network namespace this test creates (198.18.0.0/15 only). A flow that reached a stack
# other than the one that holds its connection would never finish its handshake, so each
# case checks that every connection carried its bytes:
#   clients   a python3 client under `synack run --stacks 2` and `--stacks 4` makes 16
#             connections in turn to the kernel's HTTP server, each a GET checked
#             byte-exact; they go to the stacks round robin, and at exit (-v) every stack
#             says it carried segments
#   server    python3 -m http.server under `synack run --stacks 2` (one listening socket,
#             a listener on every stack) answers 16 GETs of the kernel's curl, each a new
#             connection from a port the kernel picks, so the kernel steers them to both
#             stacks
# Skips without root or /dev/net/tun (lib/common.sh).
# Usage: run_stacks.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/run.sh
source "$(dirname "$0")/lib/run.sh"
INTEROP_IPV6=0 # IPv4 only: the defaults below give the kernel's side 198.18.0.1 alone
run_init run_stacks "${1:-}" curl "$PY"

CONNS=16
WWW=$DIR/www
mkdir -p "$WWW"
random_file "$WWW/f.bin" 1
WANT=$(sha "$WWW/f.bin")
# The stack's options: IPv4 only, so the TUN is ready without IPv6's address wait.
STACK_OPTS=(-v --addr 198.18.0.2/24 --tun-host-addr 198.18.0.1/24)

cat >"$DIR/client.py" <<'PY'
import hashlib, sys, urllib.request
url, conns, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
good = 0
for i in range(conns):
    with urllib.request.urlopen(url, timeout=20) as r:  # a new connection each time
        good += hashlib.sha256(r.read()).hexdigest() == want
print(f"{good} of {conns} GETs byte-exact")
sys.exit(0 if good == conns else 1)
PY

# check_stacks_carried LOG N: the -v lines at exit name N stacks, each with segments in.
check_stacks_carried() {
    local i
    for ((i = 0; i < $2; i++)); do
        grep -Eq "stack $i: segments in [1-9]" "$1" ||
            fail "stack $i of $2 carried no segment ($(basename "$1"))"
    done
}

for n in 2 4; do
    case_begin "clients_$n"
    if kernel_http_start "$WWW" 8000; then
        RC=0
        ns_timeout "$T_XFER" "$SYNACK" run --stacks "$n" "${STACK_OPTS[@]}" -- \
            "$PY" "$DIR/client.py" http://198.18.0.1:8000/f.bin "$CONNS" "$WANT" \
            >"$DIR/clients_$n.out" 2>"$DIR/clients_$n.log" || RC=$?
        check_rc "synack run --stacks $n python3 client" "$RC" "$DIR/clients_$n.log"
        grep -q "$CONNS of $CONNS GETs byte-exact" "$DIR/clients_$n.out" ||
            fail "not every GET came back byte-exact: $(cat "$DIR/clients_$n.out")"
        grep -q "$n stacks, one per queue" "$DIR/clients_$n.log" ||
            fail "no line naming $n stacks in clients_$n.log"
        check_stacks_carried "$DIR/clients_$n.log" "$n"
        stop_bg "$KHTTP_PID"
    fi
    wait_tun_gone
    case_end
done

case_begin server
start_bg srv_pid "$T_XFER" "$SYNACK" run --stacks 2 "${STACK_OPTS[@]}" -- \
    "$PY" -m http.server --bind 198.18.0.2 --directory "$WWW" 8000 \
    >/dev/null 2>"$DIR/server.log"
if wait_tun "$srv_pid"; then
    retry_refused "$T_SHORT" curl -sS --max-time 10 -o "$DIR/get0.out" \
        http://198.18.0.2:8000/f.bin
    check_rc "kernel curl GET (first)" "$RETRY_RC" "$DIR/server.log"
    good=0
    for ((i = 1; i <= CONNS; i++)); do
        ns_timeout "$T_SHORT" curl -sS --max-time 10 -o "$DIR/get.out" \
            http://198.18.0.2:8000/f.bin 2>>"$DIR/curl.log" &&
            [ "$(sha "$DIR/get.out")" = "$WANT" ] && good=$((good + 1))
    done
    [ "$good" -eq "$CONNS" ] ||
        fail "$good of $CONNS GETs from synack's server came back byte-exact (curl.log)"
fi
stop_bg "$srv_pid"
wait_tun_gone
case_end

interop_finish
