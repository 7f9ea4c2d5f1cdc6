#!/usr/bin/env bash
# interop.udp_pair: two unprivileged `synack cat -u` processes (UDP datagrams, not TCP)
# talk to each other over UDP encapsulation on 127.0.0.1 (one listens with -l). Checks:
#   exchange4  client -> server 20000 random bytes from a file: two reads of stdin, so two
#              datagrams (16384 bytes, in fragments, and 3616): the server writes them
#              byte-exact and its stdin (a line and 3000 random bytes, read once the first
#              datagram came) reaches the client byte-exact; both end by themselves with
#              status 0 (-w 2: two seconds without a datagram); their -v summaries say
#              the client sent 2 and the server received 2
#   exchange6  the same between two stacks holding only IPv6 addresses
#   refused    a datagram to a port nobody has bound (the other stack answers port
#              unreachable): exit 1 and the one line "synack cat: connection to
#              198.18.77.1:5001 refused"
#   pressure   back-pressure both ways: the client sends 200 records of 16384 bytes
#              (3.2 MB) from a file with -q 0; the server's stdout is a pipe nobody reads
#              until the client has exited. The client must get through it all (the stack
#              refuses a datagram while the one before is still leaving in fragments, and
#              says WRITABLE when it may go on): exit 0, its -v summary says 200 sent.
#              The server takes no datagram while stdout is blocked, so they overflow its
#              socket's queue (its -v summary counts drops for a full queue); what it
#              writes is whole records in their order; it exits 0 (-w 2) once drained
# Both processes run as nobody (uid 65534) when started as root. Everything is bounded by
# `timeout`, and the whole test by a watchdog; only PIDs started here are killed; the
# temp dir goes away on exit.
# Usage: udp_pair.sh PATH/TO/synack
set -u
# For start_watchdog only (this test needs no root, no namespace).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/udp.sh
source "$(dirname "$0")/lib/udp.sh"

LIMIT=${UDP_PAIR_TIMEOUT:-30} # seconds any one process may run (a clean run takes ~3 s)
udp_init udppair "${1:?usage: udp_pair.sh PATH/TO/synack}" "${UDP_PAIR_BUDGET:-200}"

head -c 20000 /dev/urandom >"$dir/request"
{
  printf 'the reply\n'
  head -c 3000 /dev/urandom
} >"$dir/reply"
# 200 records of 16384 bytes, each its number in 5 digits and then x's.
head -c 16379 /dev/zero | tr '\0' x >"$dir/filler"
for i in $(seq 200); do
  printf '%05d' "$i"
  cat "$dir/filler"
done >"$dir/records"
chmod 644 "$dir/request" "$dir/reply" "$dir/records"

# exchange NAME SEED: run_pair with -u -w 2 (udp.sh), then the checks above.
exchange() {
  local name=$1
  run_pair "$name" "$2" "$dir/reply" "$dir/request" -u -w 2 || {
    fail=$((fail + 1))
    return
  }
  local why=""
  [ "$s_rc" -eq 0 ] && [ "$c_rc" -eq 0 ] || why+=" server exit $s_rc, client exit $c_rc;"
  same "$dir/request" "$dir/out/$name.server" ||
    why+=" the server wrote $(stat -c %s "$dir/out/$name.server") bytes, not the 20000 sent;"
  same "$dir/reply" "$dir/out/$name.client" ||
    why+=" the client wrote $(stat -c %s "$dir/out/$name.client") bytes, not the reply;"
  grep -q 'datagrams on port [0-9]*: sent 2,' "$dir/$name.client.err" ||
    why+=" the client's -v summary does not say 2 datagrams sent;"
  grep -q 'datagrams on port 5000: sent 1, received 2 ' "$dir/$name.server.err" ||
    why+=" the server's -v summary does not say 1 sent and 2 received;"
  if [ -z "$why" ]; then
    report "$name" 0 "20000 bytes in 2 datagrams -> server, reply -> client, sha256 equal, both exit 0 (${secs}s)"
  else
    report "$name" 1 "$why"
    show_logs "$name"
  fi
}

exchange exchange4 401

UDP_SERVER_ADDRS=(--addr 2001:db8:77::1/64)
UDP_CLIENT_ADDRS=(--addr 2001:db8:77::2/64)
UDP_HOST=2001:db8:77::1
exchange exchange6 402
UDP_SERVER_ADDRS=(--addr 198.18.77.1/24)
UDP_CLIENT_ADDRS=(--addr 198.18.77.2/24)
UDP_HOST=198.18.77.1

# ---- refused ---------------------------------------------------------------------------------
ps=$(free_port) && pc=$(free_port)
[ "$ps" != "$pc" ] || pc=$((ps + 1))
timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -u -l --seed 403 --link "$(udp_link "$ps" "$pc")" \
  "${UDP_SERVER_ADDRS[@]}" 5000 </dev/null >/dev/null 2>"$dir/refused.server.err" &
spid=$!
pids+=("$spid")
wait_bound "$ps" || echo "note: refused: the listener's port $ps is not bound after 10 s"
printf 'anyone there?\n' | timeout --foreground -k 5 10 "${run[@]}" "$synack" cat -u --seed 404 \
  --link "$(udp_link "$pc" "$ps")" "${UDP_CLIENT_ADDRS[@]}" "$UDP_HOST" 5001 \
  >/dev/null 2>"$dir/refused.client.err"
c_rc=${PIPESTATUS[1]}
msg=$(cat "$dir/refused.client.err")
if [ "$c_rc" -eq 1 ] && [ "$msg" = "synack cat: connection to $UDP_HOST:5001 refused" ]; then
  report refused 0 "'$msg', exit 1"
else
  report refused 1 "exit $c_rc (124: did not give up by itself), stderr: '$msg'"
fi
kill "$spid" 2>/dev/null
reap "$spid" 2>/dev/null

# ---- back-pressure both ways -----------------------------------------------------------------

# The reader of the server's stdout: nothing until the client has exited (MARK exists,
# 60 s at most), then all of it into OUT.
late_reader() {
  for _ in $(seq 1200); do
    [ -e "$1" ] && break
    sleep 0.05
  done
  cat >"$2"
}

# whole_records FILE: prints "COUNT BAD": how many 16384-byte records FILE holds, and 1 if
# one is cut short or out of order (their numbers must rise), else 0.
whole_records() {
  fold -b -w 16384 "$1" | awk '{ if (length($0) != 16384 || $0 !~ /^[0-9][0-9][0-9][0-9][0-9]x+$/) bad = 1
      n = substr($0, 1, 5) + 0; if (n <= last) bad = 1; last = n; c++ }
      END { print c + 0, bad + 0 }'
}

ps=$(free_port) && pc=$(free_port)
[ "$ps" != "$pc" ] || pc=$((ps + 1))
rm -f "$dir/pressure.done" "$dir/pressure.fifo"
mkfifo "$dir/pressure.fifo"
t0=$SECONDS
late_reader "$dir/pressure.done" "$dir/out/pressure.server" <"$dir/pressure.fifo" &
rpid=$!
pids+=("$rpid")
timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -u -l -v -w 2 --seed 405 \
  --link "$(udp_link "$ps" "$pc")" "${UDP_SERVER_ADDRS[@]}" 5000 </dev/null \
  >"$dir/pressure.fifo" 2>"$dir/pressure.server.err" &
spid=$!
pids+=("$spid")
wait_bound "$ps" || echo "note: pressure: the listener's port $ps is not bound after 10 s"
timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -u -v -q 0 --seed 406 \
  --link "$(udp_link "$pc" "$ps")" "${UDP_CLIENT_ADDRS[@]}" "$UDP_HOST" 5000 \
  <"$dir/records" >/dev/null 2>"$dir/pressure.client.err"
c_rc=$?
: >"$dir/pressure.done"
reap "$spid"
s_rc=$?
reap "$rpid"
why=""
[ "$c_rc" -eq 0 ] || why+=" client exit $c_rc (124: it hung);"
[ "$s_rc" -eq 0 ] || why+=" server exit $s_rc (124: it did not end by itself with -w 2);"
grep -q 'datagrams on port [0-9]*: sent 200,' "$dir/pressure.client.err" ||
  why+=" the client's -v summary does not say 200 datagrams sent;"
drops=$(sed -n 's/.*dropped for a full queue \([0-9]*\).*/\1/p' "$dir/pressure.server.err")
[ "${drops:-0}" -gt 0 ] ||
  why+=" the server's queue never overflowed (drops '${drops}') though its stdout was blocked while the client sent;"
read -r got bad <<<"$(whole_records "$dir/out/pressure.server")"
[ "$bad" -eq 0 ] || why+=" the server wrote a record cut short or out of order;"
[ "$got" -gt 0 ] || why+=" the server wrote no record;"
[ $(($(stat -c %s "$dir/out/pressure.server") % 16384)) -eq 0 ] ||
  why+=" the server's output is not whole records;"
if [ -z "$why" ]; then
  report pressure 0 "200 x 16 KiB sent, exit 0; the server wrote $got whole records in order and counted $drops dropped for a full queue ($((SECONDS - t0))s)"
else
  report pressure 1 "$why"
  show_logs pressure
fi

udp_finish
