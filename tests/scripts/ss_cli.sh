#!/usr/bin/env bash
# `synack ss` over two `synack cat` processes on UDP encapsulation (no root), each with its
# control socket in a fresh private directory ($SYNACK_CTL_DIR):
#   - the directory is made mode 0700 and the sockets are ours, mode 0600;
#   - the listener (cat -k -l) appears with -l and -a, not by default;
#   - the ESTABLISHED connection appears in both processes, with its ports both ways, and
#     its second line (rtt, cwnd in segments and bytes, retrans), and the client's buffer
#     sizes fixed by --rcvbuf/--sndbuf as skmem:(rb100000,tb50000);
#   - --json is valid JSON (python3 -m json.tool) and holds the same connection, with
#     rcvbuf_bytes and sndbuf_bytes;
#   - -p PID of no process fails with one line; a stale socket of a dead PID is removed;
#   - a directory open to others is refused, by ss and by cat (which runs on without);
#   - --no-control: no socket; the socket files go away when the processes exit;
#   - synack run: a python3 listener under the preload library is listed too.
# Every wait is bounded; only PIDs started here are signalled.
# Usage: ss_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
for tool in timeout ss python3 stat pgrep; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
dir=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
export SYNACK_CTL_DIR=$dir/ctl

. "$(dirname "$0")/../common/udp_ports.sh"
p=$(free_port) && q=$(free_port) || { echo "FAIL: no free UDP port"; exit 1; }
while [ "$q" = "$p" ]; do q=$(free_port); done
L=(--link "udp:127.0.0.1:$p,127.0.0.1:$q" --addr 198.18.79.1/24)
C=(--link "udp:127.0.0.1:$q,127.0.0.1:$p" --addr 198.18.79.2/24)

# wait_for CMD...: until CMD succeeds, 10 s at most.
wait_for() {
  for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
  return 1
}

# child_of PID: the process timeout(1) started (the one whose socket is PID.sock), printed.
child_of() {
  local c
  for _ in $(seq 200); do
    c=$(pgrep -P "$1" | head -1)
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.05
  done
  return 1
}

# Both ends hold their connection open: stdin is a pipe nobody writes to until the end.
mkfifo "$dir/lin" "$dir/cin"
timeout --foreground -k 5 30 "$synack" cat -k -l -p 5000 "${L[@]}" <"$dir/lin" >/dev/null 2>"$dir/l.err" &
tlpid=$!
pids+=("$tlpid")
exec 7>"$dir/lin"
lpid=$(child_of "$tlpid")
wait_bound "$p" || bad "the listener never bound UDP port $p: $(cat "$dir/l.err")"
wait_for test -S "$SYNACK_CTL_DIR/$lpid.sock" || bad "no control socket for the listener"

# The directory and the socket: ours, private.
[ "$(stat -c '%a %u' "$SYNACK_CTL_DIR")" = "700 $(id -u)" ] && ok ||
  bad "directory is $(stat -c '%a %u' "$SYNACK_CTL_DIR"), not 700 $(id -u)"
[ "$(stat -c '%a %u' "$SYNACK_CTL_DIR/$lpid.sock")" = "600 $(id -u)" ] && ok ||
  bad "socket is $(stat -c '%a %u' "$SYNACK_CTL_DIR/$lpid.sock")"

# The listener: with -l, not by default.
out=$(timeout -k 5 10 "$synack" ss -l)
grep -qE "^tcp +LISTEN +0 +[0-9]+ +\*:5000 " <<<"$out" && grep -q "process $lpid (cat)" <<<"$out" &&
  ok || bad "ss -l does not list the listener: $out"
out=$(timeout -k 5 10 "$synack" ss 2>&1)
! grep -q LISTEN <<<"$out" && ok || bad "ss lists a listener without -l or -a: $out"

timeout --foreground -k 5 30 "$synack" cat 198.18.79.1 5000 "${C[@]}" --rcvbuf 100000 --sndbuf 50000 <"$dir/cin" >/dev/null 2>"$dir/c.err" &
tcpid=$!
pids+=("$tcpid")
exec 8>"$dir/cin"
cpid=$(child_of "$tcpid")
established() { [ "$("$synack" ss -t 2>/dev/null | grep -c '^tcp  *ESTABLISHED')" -eq 2 ]; }
wait_for established || bad "no ESTABLISHED connection in both processes: $("$synack" ss 2>&1)"

# The connection from both ends, with its ports.
out=$(timeout -k 5 10 "$synack" ss -a)
cport=$(grep -oE '198\.18\.79\.2:[0-9]+ +198\.18\.79\.1:5000' <<<"$out" | grep -oE '^[^ ]+' | cut -d: -f2)
[ -n "$cport" ] &&
  grep -qE "^tcp +ESTABLISHED +[0-9]+ +[0-9]+ +198\.18\.79\.1:5000 +198\.18\.79\.2:$cport\$" <<<"$out" &&
  ok || bad "the connection is not listed from both ends: $out"
[ "$(grep -c '^synack process' <<<"$out")" -eq 2 ] && grep -q "process $cpid (cat)" <<<"$out" &&
  grep -qE "LISTEN" <<<"$out" && ok || bad "ss -a misses a process or the listener: $out"
grep -qE 'rtt:[0-9.]+/[0-9.]+ms .*cwnd:[0-9]+seg\([0-9]+B\) .*retrans:0/0' <<<"$out" && ok ||
  bad "no rtt/cwnd/retrans details: $out"
out=$(timeout -k 5 10 "$synack" ss -p "$cpid")
[ "$(grep -c '^synack process' <<<"$out")" -eq 1 ] &&
  grep -qE "198\.18\.79\.2:$cport +198\.18\.79\.1:5000" <<<"$out" && ok ||
  bad "ss -p $cpid: $out"
# The buffers' sizes, as ss -m's skmem rb and tb: the client's fixed by --rcvbuf/--sndbuf.
grep -qE 'skmem:\(rb100000,tb50000\)' <<<"$out" && ok || bad "ss -p $cpid: no skmem sizes: $out"

# JSON parses, and holds the connection with numbers as numbers.
json=$(timeout -k 5 10 "$synack" ss --json -a)
python3 -m json.tool <<<"$json" >/dev/null && ok || bad "--json does not parse: $json"
python3 -c '
import json, sys
procs = json.loads(sys.argv[1])
socks = [s for p in procs for s in p["sockets"]]
est = [s for s in socks if s["state"] == "ESTABLISHED"]
assert len(procs) == 2 and len(est) == 2, procs
assert all(isinstance(s["cwnd_bytes"], int) and s["cwnd_bytes"] > 0 for s in est)
assert any(s["state"] == "LISTEN" and s["local"] == "*:5000" for s in socks)
assert all(isinstance(s["rcvbuf_bytes"], int) and s["sndbuf_bytes"] > 0 for s in est)
assert any(s["rcvbuf_bytes"] == 100000 and s["sndbuf_bytes"] == 50000 for s in est), est
' "$json" && ok || bad "--json content: $json"

# -p of no process; a stale socket of a dead PID is removed, not listed.
err=$(timeout -k 5 10 "$synack" ss -p 999999999 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "no process 999999999" <<<"$err" && ok ||
  bad "ss -p 999999999 exits $rc: $err"
sh -c 'exit 0' &
dead=$!
wait "$dead"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
  "$SYNACK_CTL_DIR/$dead.sock"
out=$(timeout -k 5 10 "$synack" ss -a)
[ ! -e "$SYNACK_CTL_DIR/$dead.sock" ] && [ "$(grep -c '^synack process' <<<"$out")" -eq 2 ] && ok ||
  bad "the stale socket of $dead stays or is listed: $out"

# synack run: a python3 listener under the preload library.
if [ -f "$(dirname "$synack")/libsynack-preload.so" ]; then
  r=$(free_port) && s=$(free_port)
  timeout -k 5 20 "$synack" run --link "udp:127.0.0.1:$r,127.0.0.1:$s" --addr 198.18.79.3/24 -- \
    python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("0.0.0.0", 7000))
s.listen(3)
for _ in range(300):
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.05)' "$dir/r.stop" 2>"$dir/r.err" &
  trpid=$!
  pids+=("$trpid")
  rpid=$(child_of "$trpid")
  run_listed() { "$synack" ss -l -p "$rpid" 2>/dev/null | grep -qE '^tcp +LISTEN +0 +3 +0\.0\.0\.0:7000 '; }
  wait_for run_listed && ok || bad "synack run's listener is not listed: $("$synack" ss -a 2>&1; cat "$dir/r.err")"
  touch "$dir/r.stop" # python3 exits: the library's destructor removes the socket
  wait "$trpid" 2>/dev/null
  [ ! -e "$SYNACK_CTL_DIR/$rpid.sock" ] && ok || bad "synack run left its socket"
else
  echo "note: no libsynack-preload.so beside $synack: synack run not checked"
fi

# The processes end (their stdin closes): their sockets go with them.
exec 7>&- 8>&-
wait "$tcpid" 2>/dev/null
wait "$tlpid" 2>/dev/null
[ -z "$(ls -A "$SYNACK_CTL_DIR")" ] && ok || bad "sockets left behind: $(ls "$SYNACK_CTL_DIR")"
err=$(timeout -k 5 10 "$synack" ss 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && grep -q "no synack process is running" <<<"$err" && ok || bad "ss with none: $rc $err"

# A directory others may enter is refused by both sides; --no-control makes no socket.
chmod 0755 "$SYNACK_CTL_DIR"
err=$(timeout -k 5 10 "$synack" ss 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && grep -q "not private" <<<"$err" && ok || bad "ss in a 0755 directory: $rc $err"
err=$(timeout --foreground -k 5 10 "$synack" cat -z 198.18.79.1 5000 "${C[@]}" 2>&1)
grep -q "no control socket" <<<"$err" && ok || bad "cat in a 0755 directory says nothing: $err"
chmod 0700 "$SYNACK_CTL_DIR"
timeout --foreground -k 5 10 "$synack" cat -l -p 5000 --no-control "${L[@]}" </dev/null >/dev/null 2>&1 &
tnpid=$!
pids+=("$tnpid")
npid=$(child_of "$tnpid")
wait_bound "$p"
[ ! -e "$SYNACK_CTL_DIR/$npid.sock" ] && ok || bad "--no-control made a socket"
kill "$tnpid"

echo "ss_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
