#!/usr/bin/env bash
# interop.udp_cat: two unprivileged `synack cat` processes speak TCP to each other over UDP
# encapsulation on 127.0.0.1 (one listens with -l, one connects). Checks, each with its own
# seed:
#   clean      50 MB client -> server, sha256 of what arrives equals the source
#   lossy      the same with --loss 2% --reorder 1% --dup 1% on both ends' links
#   both-ways  20 MB each way at once, each side half-closing at its end of stdin
#   refused    connecting to a port nobody listens on fails with exit 1 and the one line
#              "refused"; run again with -v, its summary shows it was refused at once:
#              one segment sent (the SYN, never retransmitted), one RST received
# Both processes run as nobody (uid 65534) when started as root. Everything is bounded by
# `timeout`, and the whole test by a watchdog (UDP_CAT_BUDGET s) that ends it, cleanup
# included, before CTest's 300 s TIMEOUT; only PIDs started here are killed; the temp dir
# goes away on exit.
# Usage: udp_cat.sh PATH/TO/synack
set -u
synack=${1:?usage: udp_cat.sh PATH/TO/synack}
[ -x "$synack" ] || { echo "FAIL: $synack is not an executable"; exit 1; }
for tool in timeout sha256sum ss head cmp; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
# For start_watchdog and refused_at_once only (this test needs no root, no namespace).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

MB=$((1024 * 1024))
SIZE=${UDP_CAT_MB:-50}           # megabytes for the one-way runs
BOTH_SIZE=${UDP_CAT_BOTH_MB:-20} # megabytes each way for the two-way run
LIMIT=${UDP_CAT_TIMEOUT:-60}     # seconds any one process may run (a clean run takes ~2 s)
# Worst case without the watchdog: 3 pairs x (10 s for the port + LIMIT) + 2 x 10 s for
# the refused runs = 230 s with the defaults; the watchdog caps it whatever the knobs say.
BUDGET=${UDP_CAT_BUDGET:-250}

dir=$(mktemp -d /tmp/synack-udpcat.XXXXXX)
pids=() # started here and not reaped yet: the only PIDs cleanup may signal
cleanup() {
  local p live=()
  for p in ${INTEROP_WATCHDOG:-} "${pids[@]}"; do kill "$p" 2>/dev/null && live+=("$p"); done
  for p in "${live[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
# Waits for PID $1 and returns its status; the PID leaves the list, since once reaped it
# may be reused by an unrelated process.
reap() {
  local p=$1 q rc keep=()
  wait "$p"
  rc=$?
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  pids=("${keep[@]}")
  return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'echo "FAIL: stopped by SIGTERM (the watchdog sends it after $BUDGET s)"; exit 1' TERM
start_watchdog "$BUDGET"
chmod 755 "$dir"
mkdir "$dir/out"

# Drop privileges when root: the test is about two unprivileged processes.
run=()
if [ "$(id -u)" -eq 0 ]; then
  if command -v setpriv >/dev/null; then
    run=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    if ! "${run[@]}" test -x "$synack"; then
      # The build tree is not reachable by nobody: use a copy of the binary.
      cp "$synack" "$dir/synack" && chmod 755 "$dir/synack"
      synack=$dir/synack
    fi
    chown 65534:65534 "$dir/out"
    "${run[@]}" true || { echo "note: cannot drop privileges with setpriv, running as root"; run=(); }
  else
    echo "note: setpriv is missing, running both processes as root"
  fi
fi
[ ${#run[@]} -gt 0 ] && echo "running as uid 65534 (nobody)" || echo "running as uid $(id -u)"

head -c $((SIZE * MB)) /dev/urandom >"$dir/src"
head -c $((BOTH_SIZE * MB)) /dev/urandom >"$dir/src2"
chmod 644 "$dir/src" "$dir/src2"

# A UDP port that no socket uses now (a connected UDP socket shows as ESTAB, so -a).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Huan "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  return 1
}

# Waits (at most 10 s) until UDP port $1 is bound: the listener is up.
wait_bound() {
  for _ in $(seq 1 100); do
    [ -n "$(ss -Huan "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}

fail=0
passed=0
report() { # name status message
  if [ "$2" -eq 0 ]; then
    echo "ok   $1: $3"
    passed=$((passed + 1))
  else
    echo "FAIL $1: $3"
    fail=$((fail + 1))
  fi
}
show_logs() { # name
  for f in "$dir/$1".*.err; do
    [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; }
  done
}

# run_pair NAME SEED SERVER_STDIN CLIENT_STDIN [impairment options...]
# Server: synack cat -l 5000, client: synack cat 198.18.77.1 5000. Sets s_rc, c_rc, secs.
run_pair() {
  local name=$1 seed=$2 s_in=$3 c_in=$4
  shift 4
  local ps pc
  s_rc=1 c_rc=1 secs=0
  if ! ps=$(free_port) || ! pc=$(free_port); then
    echo "FAIL $name: no free UDP port"
    return 1
  fi
  [ "$ps" != "$pc" ] || pc=$((ps + 1))
  local t0=$SECONDS
  timeout "$LIMIT" "${run[@]}" "$synack" cat -l -v --seed "$seed" "$@" \
    --link "udp:127.0.0.1:$ps,127.0.0.1:$pc" --addr 198.18.77.1/24 5000 \
    <"$s_in" >"$dir/out/$name.server" 2>"$dir/$name.server.err" &
  local spid=$!
  pids+=("$spid")
  wait_bound "$ps" || echo "note: $name: the listener's port $ps is not bound after 10 s"
  timeout "$LIMIT" "${run[@]}" "$synack" cat -v --seed $((seed + 1)) "$@" \
    --link "udp:127.0.0.1:$pc,127.0.0.1:$ps" --addr 198.18.77.2/24 198.18.77.1 5000 \
    <"$c_in" >"$dir/out/$name.client" 2>"$dir/$name.client.err" &
  local cpid=$!
  pids+=("$cpid")
  reap "$cpid"
  c_rc=$?
  reap "$spid"
  s_rc=$?
  secs=$((SECONDS - t0))
}

same() { # file-a file-b
  [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$(sha256sum <"$2" | cut -d' ' -f1)" ]
}

one_way() { # name seed [impairment options...]
  local name=$1 seed=$2
  shift 2
  run_pair "$name" "$seed" /dev/null "$dir/src" "$@" || { fail=$((fail + 1)); return; }
  local got
  got=$(stat -c %s "$dir/out/$name.server" 2>/dev/null || echo 0)
  if [ "$s_rc" -eq 0 ] && [ "$c_rc" -eq 0 ] && same "$dir/src" "$dir/out/$name.server" &&
    [ ! -s "$dir/out/$name.client" ]; then
    report "$name" 0 "$SIZE MB client -> server, sha256 equal, both exit 0 (${secs}s)"
  else
    report "$name" 1 "server exit $s_rc, client exit $c_rc, $got of $((SIZE * MB)) bytes, sha256 $(same "$dir/src" "$dir/out/$name.server" && echo equal || echo differs)"
    show_logs "$name"
  fi
  grep -h "impairments\|retransmitted" "$dir/$name".*.err | sed 's/^/     /'
}

one_way clean 101
one_way lossy 202 --loss 2% --reorder 1% --dup 1%

# The lossy run must really have been impaired, each way: the fault wrappers' counters
# (printed by -v) show losses, duplicates and reordering on both ends.
for side in server client; do
  line=$(grep -h "impairments (both ways)" "$dir/lossy.$side.err")
  n_lost=$(sed -n 's/.*lost \([0-9]*\).*/\1/p' <<<"$line")
  n_dup=$(sed -n 's/.*duplicated \([0-9]*\).*/\1/p' <<<"$line")
  n_reo=$(sed -n 's/.*reordered \([0-9]*\).*/\1/p' <<<"$line")
  if [ "${n_lost:-0}" -gt 0 ] && [ "${n_dup:-0}" -gt 0 ] && [ "${n_reo:-0}" -gt 0 ]; then
    report "lossy-$side" 0 "its link lost $n_lost, duplicated $n_dup and reordered $n_reo packets"
  else
    report "lossy-$side" 1 "no impairment counted on its link: '$line'"
  fi
done

# Both ways at once: each side sends its file and half-closes at its end; each must
# receive the other's file whole.
run_pair both 303 "$dir/src2" "$dir/src" || fail=$((fail + 1))
if [ "$s_rc" -eq 0 ] && [ "$c_rc" -eq 0 ] && same "$dir/src" "$dir/out/both.server" &&
  same "$dir/src2" "$dir/out/both.client"; then
  report both 0 "$SIZE MB client -> server and $BOTH_SIZE MB server -> client at once, both sha256 equal (${secs}s)"
else
  report both 1 "server exit $s_rc, client exit $c_rc, server got $(stat -c %s "$dir/out/both.server") bytes, client got $(stat -c %s "$dir/out/both.client") bytes"
  show_logs both
fi

# Refused: the listener's stack answers a SYN to another port with RST; the client says
# so, and at once: its -v counters show the RST answered the first SYN (no retransmission),
# whatever the time it took.
ps=$(free_port) && pc=$(free_port)
[ "$ps" != "$pc" ] || pc=$((ps + 1))
timeout "$LIMIT" "${run[@]}" "$synack" cat -l --seed 7 --link "udp:127.0.0.1:$ps,127.0.0.1:$pc" \
  --addr 198.18.77.1/24 5000 </dev/null >/dev/null 2>"$dir/refused.server.err" &
spid=$!
pids+=("$spid")
wait_bound "$ps" || echo "note: refused: the listener's port $ps is not bound after 10 s"
# refused_client NAME [options...]: the client to port 5001; its status in c_rc.
refused_client() {
  local name=$1
  shift
  timeout 10 "${run[@]}" "$synack" cat --seed 8 "$@" --link "udp:127.0.0.1:$pc,127.0.0.1:$ps" \
    --addr 198.18.77.2/24 198.18.77.1 5001 </dev/null >/dev/null 2>"$dir/$name.client.err"
  c_rc=$?
}
refused_client refused # without -v: the error is exactly one line
msg=$(cat "$dir/refused.client.err")
if [ "$c_rc" -eq 1 ] && [ "$msg" = "synack cat: connection to 198.18.77.1:5001 refused" ]; then
  report refused 0 "'$msg', exit 1"
else
  report refused 1 "exit $c_rc, stderr: '$msg'"
fi
refused_client refused_v -v
if why=$(refused_at_once "$dir/refused_v.client.err") && [ "$c_rc" -eq 1 ]; then
  report refused-at-once 0 "-v: one SYN sent, none retransmitted, one RST received"
else
  report refused-at-once 1 "exit $c_rc; ${why:-}"
  show_logs refused_v
fi
kill "$spid" 2>/dev/null
reap "$spid" 2>/dev/null

echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
