#!/usr/bin/env bash
# `synack run` without root, over UDP encapsulation on the host's loopback:
#   cli          --help; a missing program (127), bad options (2, one line; --stacks
#                without a TUN link or with --pcap among them), a UDP link without --addr (2), the TUN link without privilege (1, when this runs as
#                root it is checked as nobody)
#   no_network   `sh -c 'echo hi | cat'` runs as without synack, and no runtime is made
#                (the UDP port of the link is never bound)
#   unix         AF_UNIX sockets stay with the kernel (a python3 echo over a socket pair
#                and over a listening socket), still with no runtime made
#   tcp_pair     two programs, each under its own `synack run --link udp:...`, speak TCP to
#                each other: OpenBSD nc -l and nc, 2 MB each way (one run each), byte-exact
#   exit_drain   a client that writes 2 MB, closes and exits at once: all of it arrives
#   fork_dup     dup of a synack socket refused; a child of fork cannot use its parent's
#                socket nor open one, may close it and exec; the parent's socket still works
#   udp_pair     the same with UDP datagrams (python3): 20 datagrams echoed back intact
# Every process is bounded by timeout(1); only PIDs started here are signalled; the scratch
# directory goes away on exit.
# Usage: run_udp.sh PATH/TO/synack
set -uo pipefail
synack=$1
[ -x "$synack" ] || { echo "FAIL: $synack is not an executable"; exit 1; }
for tool in timeout sha256sum ss nc python3 head; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -f "$(dirname "$synack")/libsynack-preload.so" ] ||
  { echo "SKIP: no libsynack-preload.so beside $synack (not built here)"; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
dir=$(mktemp -d /tmp/synack-run-udp.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL: $*"
  fail=$((fail + 1))
}

# free_port: a UDP port nobody has bound; wait_bound PORT: the listener's runtime is up.
. "$(dirname "$0")/../common/udp_ports.sh"

# ---- cli ----------------------------------------------------------------------------------

help=$("$synack" run --help)
rc=$?
[ $rc -eq 0 ] && grep -q 'PROGRAM' <<<"$help" && grep -q -- '--link udp' <<<"$help" && ok ||
  bad "run --help exits $rc or lacks its usage"

# expect_fail STATUS WORD ARGS...: `synack run ARGS` exits STATUS with one line "synack run:
# ..." naming WORD.
expect_fail() {
  local status=$1 word=$2 err rc
  shift 2
  err=$(timeout -k 5 10 "$synack" run "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne "$status" ]; then
    bad "'run $*' exits $rc, not $status: $err"
  elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || ! grep -q '^synack run: ' <<<"$err"; then
    bad "'run $*': not one line 'synack run: ...': $err"
  elif ! grep -q -- "$word" <<<"$err"; then
    bad "'run $*': the error does not name $word: $err"
  else
    ok
  fi
}
LINK=(--link udp:127.0.0.1:9,127.0.0.1:9 --addr 198.18.77.2/24)
expect_fail 2 'no program' "${LINK[@]}"
expect_fail 2 'no program' "${LINK[@]}" --
expect_fail 2 --bogus --bogus -- true
expect_fail 2 --loss --loss 2 "${LINK[@]}" -- true
expect_fail 2 --addr --link udp:127.0.0.1:9,127.0.0.1:9 -- true
expect_fail 2 --tun-host-addr "${LINK[@]}" --tun-host-addr 198.18.77.1/24 -- true
expect_fail 2 --stacks --stacks 0 "${LINK[@]}" -- true
expect_fail 2 'needs a TUN link' --stacks 2 "${LINK[@]}" -- true
expect_fail 2 'impairments or --pcap' --stacks 2 --pcap "$dir/x.pcap" -- true
expect_fail 127 no-such-program-here "${LINK[@]}" -- no-such-program-here
expect_fail 127 'no such file' "${LINK[@]}" -- ./no/such/program
: >"$dir/not-exec"
expect_fail 126 'not executable' "${LINK[@]}" -- "$dir/not-exec"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
  setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$synack" 2>/dev/null; then
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$synack" run -- true 2>&1)
  rc=$?
  [ $rc -eq 1 ] && grep -q 'needs root or CAP_NET_ADMIN' <<<"$err" && ok ||
    bad "run with the TUN link as nobody: exit $rc: $err"
elif [ "$(id -u)" -ne 0 ]; then
  err=$("$synack" run -- true 2>&1)
  rc=$?
  [ $rc -eq 1 ] && grep -q 'needs root or CAP_NET_ADMIN' <<<"$err" && ok ||
    bad "run with the TUN link without root: exit $rc: $err"
fi

# ---- no network, AF_UNIX --------------------------------------------------------------------

port=$(free_port)
NOLINK=(--link "udp:127.0.0.1:$port,127.0.0.1:9" --addr 198.18.77.2/24)
out=$(timeout -k 5 10 "$synack" run "${NOLINK[@]}" -- sh -c "echo hi | cat; ss -Huan 'sport = :$port'" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$out" = hi ] && ok ||
  bad "no_network: 'sh -c echo hi | cat' under synack run: exit $rc, printed '$out' (want 'hi' alone: no UDP port $port bound)"

cat >"$dir/unix.py" <<'EOF'
import os, socket, subprocess, sys
a, b = socket.socketpair()
a.sendall(b"over a pair")
assert b.recv(64) == b"over a pair"
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
conn, _ = srv.accept()
cli.sendall(b"x" * 100000)
cli.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = conn.recv(65536)
    if not d:
        break
    got += d
assert got == b"x" * 100000, len(got)
port = sys.argv[2]
ss = subprocess.run(["ss", "-Huan", "sport = :" + port], capture_output=True, text=True)
print("unix ok" + (" but the UDP port is bound" if ss.stdout.strip() else ""))
EOF
out=$(timeout -k 5 10 "$synack" run "${NOLINK[@]}" -- "$PY" "$dir/unix.py" "$dir/sock" "$port" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$out" = "unix ok" ] && ok || bad "unix: exit $rc: $out"

# ---- two programs over UDP encapsulation ---------------------------------------------------------

p1=$(free_port)
p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
A=(--link "udp:127.0.0.1:$p1,127.0.0.1:$p2" --addr 198.18.77.1/24)
B=(--link "udp:127.0.0.1:$p2,127.0.0.1:$p1" --addr 198.18.77.2/24)
head -c 2000000 /dev/urandom >"$dir/a.bin"
head -c 2000000 /dev/urandom >"$dir/b.bin"
# tcp_pair NAME L_IN L_OUT C_IN C_OUT LISTENER_ARGS... -- CLIENT_ARGS...: nc -l (A) and nc
# (B), each under synack run, with those stdin and stdout; the client connects again while
# the listener is not listening yet (synack refuses at once).
tcp_pair() {
  local name=$1 lin=$2 lout=$3 cin=$4 cout=$5 largs=() cargs=()
  shift 5
  while [ "$1" != -- ]; do largs+=("$1"); shift; done
  shift
  cargs=("$@")
  timeout -k 5 30 "$synack" run "${A[@]}" -- nc "${largs[@]}" <"$lin" >"$lout" 2>"$dir/$name.l.err" &
  local spid=$! rc=1 src
  pids+=("$spid")
  if ! wait_bound "$p1"; then
    bad "$name: the listener's runtime never bound UDP port $p1: $(cat "$dir/$name.l.err")"
    return
  fi
  for _ in $(seq 50); do
    timeout -k 5 30 "$synack" run "${B[@]}" -- nc "${cargs[@]}" <"$cin" >"$cout" 2>"$dir/$name.c.err" &&
      { rc=0; break; }
    grep -q refused "$dir/$name.c.err" || break
    sleep 0.1
  done
  wait "$spid"
  src=$?
  [ $rc -eq 0 ] && [ $src -eq 0 ] ||
    bad "$name: client exit $rc ($(cat "$dir/$name.c.err")), listener exit $src ($(cat "$dir/$name.l.err"))"
}
# Debian's nc quits when the network side ends: one way per run. The sender half-closes
# (-N) and reads on until the receiver closes.
tcp_pair tcp_to_listener /dev/null "$dir/a.got" "$dir/b.bin" /dev/null -l -d 5000 -- \
  -N 198.18.77.1 5000
cmp -s "$dir/b.bin" "$dir/a.got" && ok || bad "tcp_pair: nc -> nc -l: $(stat -c %s "$dir/a.got") of 2000000 bytes, or not the same"
tcp_pair tcp_from_listener "$dir/a.bin" /dev/null /dev/null "$dir/b.got" -l -N 5000 -- \
  -d 198.18.77.1 5000
cmp -s "$dir/a.bin" "$dir/b.got" && ok || bad "tcp_pair: nc -l -> nc: $(stat -c %s "$dir/b.got") of 2000000 bytes, or not the same"

# exit_drain: a client that writes 2 MB, closes and exits at once: the runtime sends what
# it still holds (and its FIN) before the process goes.
cat >"$dir/drain.py" <<'EOF'
import socket, sys, time
data = open(sys.argv[1], "rb").read()
for _ in range(50):  # the listener may not be listening yet: synack refuses at once
    s = socket.socket()
    try:
        s.connect(("198.18.77.1", 5000))
        break
    except ConnectionRefusedError:
        s.close()
        time.sleep(0.1)
s.sendall(data)
s.close()
EOF
timeout -k 5 30 "$synack" run "${A[@]}" -- nc -l -d 5000 >"$dir/drain.got" 2>"$dir/drain.l.err" &
spid=$!
pids+=("$spid")
if wait_bound "$p1"; then
  timeout -k 5 30 "$synack" run "${B[@]}" -- "$PY" "$dir/drain.py" "$dir/b.bin" 2>"$dir/drain.c.err"
  rc=$?
  wait "$spid"
  src=$?
  [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$dir/b.bin" "$dir/drain.got" && ok ||
    bad "exit_drain: client exit $rc ($(cat "$dir/drain.c.err")), listener exit $src, $(stat -c %s "$dir/drain.got") of 2000000 bytes"
else
  bad "exit_drain: the listener's runtime never bound UDP port $p1"
fi

# fork_dup: dup of a synack socket is refused (EOPNOTSUPP); a child of fork cannot use its
# parent's synack socket (EBADF) nor open one (EACCES), may close it and exec; the parent's
# socket still works.
cat >"$dir/fork.py" <<'EOF'
import errno, os, socket, sys
s = socket.socket()
s.bind(("198.18.77.2", 4000))
try:
    s.dup()
    sys.exit("dup of a synack socket worked")
except OSError as e:
    assert e.errno == errno.EOPNOTSUPP, e
pid = os.fork()
if pid == 0:
    try:
        s.getsockname()
        os._exit(3)
    except OSError as e:
        if e.errno != errno.EBADF:
            os._exit(4)
    try:
        socket.socket()
        os._exit(5)
    except OSError as e:
        if e.errno != errno.EACCES:
            os._exit(6)
    s.close()
    os.execvp("sh", ["sh", "-c", "echo child exec ok"])
_, status = os.waitpid(pid, 0)
assert status == 0, status
assert s.getsockname() == ("198.18.77.2", 4000), s.getsockname()
print("fork ok")
EOF
out=$(timeout -k 5 10 "$synack" run "${B[@]}" -- "$PY" "$dir/fork.py" 2>"$dir/fork.err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "$(printf 'child exec ok\nfork ok')" ] &&
  grep -q 'cannot be duplicated' "$dir/fork.err" &&
  grep -q 'a child of fork cannot use it' "$dir/fork.err" &&
  grep -q 'a child of fork cannot open synack sockets' "$dir/fork.err"; then
  ok
else
  bad "fork_dup: exit $rc, printed '$out', stderr: $(cat "$dir/fork.err")"
fi

cat >"$dir/udp.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1] == "server":
    s.bind(("198.18.77.1", 7000))
    for _ in range(20):
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)
else:
    s.settimeout(1)
    for i in range(20):
        msg = bytes([i]) * (100 + 300 * i)
        for _ in range(50):  # the server may not be bound yet: try again
            s.sendto(msg, ("198.18.77.1", 7000))
            try:
                data, _ = s.recvfrom(65536)
                break
            except (socket.timeout, ConnectionRefusedError):
                continue
        assert data == msg, (i, len(data))
    print("udp ok")
EOF
timeout -k 5 30 "$synack" run "${A[@]}" -- "$PY" "$dir/udp.py" server 2>"$dir/us.err" &
spid=$!
pids+=("$spid")
if wait_bound "$p1"; then
  out=$(timeout -k 5 30 "$synack" run "${B[@]}" -- "$PY" "$dir/udp.py" client 2>&1)
  rc=$?
  wait "$spid"
  src=$?
  [ $rc -eq 0 ] && [ $src -eq 0 ] && [ "$out" = "udp ok" ] && ok ||
    bad "udp_pair: client exit $rc ($out), server exit $src ($(cat "$dir/us.err"))"
else
  bad "udp_pair: the server's runtime never bound UDP port $p1: $(cat "$dir/us.err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
