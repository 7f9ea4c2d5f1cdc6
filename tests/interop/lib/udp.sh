# shellcheck shell=bash
# Shared by the interop tests of two `synack cat` processes over UDP encapsulation
# (udp_cat.sh, udp_ipv6.sh); sourced after lib/common.sh (start_watchdog, refused_at_once).
# No root and no namespace needed: the two processes talk over the host's loopback, as
# nobody (uid 65534) when started as root.
#
#   udp_init NAME SYNACK BUDGET   $dir, the trap, the watchdog, dropped privileges ($run)
#   run_pair NAME SEED S_IN C_IN [options...]   a listener and a client (below)
#   one_way NAME SEED [options...]               50 MB (UDP_SIZE) client -> server
#   report NAME STATUS MESSAGE; show_logs NAME; same A B; free_port; wait_bound PORT
# Where the pair talks, and as whom, is in these (set before run_pair; defaults IPv4):
#   UDP_OUTER         the loopback address of the UDP sockets: 127.0.0.1 or [::1]
#   UDP_SERVER_ADDRS  the listener's --addr options; UDP_CLIENT_ADDRS the client's
#   UDP_HOST          the address the client connects to (the listener's, inside)
# Everything is bounded by `timeout`, and the whole test by the watchdog; only PIDs
# started here are killed; $dir goes away on exit.

UDP_OUTER=127.0.0.1
UDP_SERVER_ADDRS=(--addr 198.18.77.1/24)
UDP_CLIENT_ADDRS=(--addr 198.18.77.2/24)
UDP_HOST=198.18.77.1
MB=$((1024 * 1024))
UDP_SIZE=${UDP_CAT_MB:-50}       # megabytes for the one-way runs
LIMIT=${UDP_CAT_TIMEOUT:-60}     # seconds any one process may run (a clean run takes ~2 s)
# Every synack cat runs under `timeout --foreground -k 5`: without --foreground, timeout
# follows each SIGTERM it passes on with a SIGCONT, and a SIGCONT that lands while
# LeakSanitizer's exit check attaches to the process (ASan builds) discards the attach's
# SIGSTOP: the process and LSan's tracer then wait for each other for ever. -k 5 ends any
# process that outlives its SIGTERM.

pids=() # started here and not reaped yet: the only PIDs cleanup may signal
fail=0
passed=0

udp_cleanup() {
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

# udp_init NAME SYNACK BUDGET: checks the tools, makes $dir (with $dir/out writable by the
# processes), installs the traps and the watchdog, and sets $run to drop privileges when
# root (with $synack a copy nobody can run, if the build tree is out of its reach).
udp_init() {
  local name=$1 budget=$3
  synack=$2
  [ -x "$synack" ] || { echo "FAIL: $synack is not an executable"; exit 1; }
  local tool
  for tool in timeout sha256sum ss head cmp; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
  done
  dir=$(mktemp -d "/tmp/synack-$name.XXXXXX")
  trap udp_cleanup EXIT
  trap 'exit 130' INT
  # shellcheck disable=SC2064 # the budget is fixed now
  trap "echo 'FAIL: stopped by SIGTERM (the watchdog sends it after $budget s)'; exit 1" TERM
  start_watchdog "$budget"
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
  if [ ${#run[@]} -gt 0 ]; then echo "running as uid 65534 (nobody)"; else echo "running as uid $(id -u)"; fi
}

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

# udp_link PORT_LOCAL PORT_PEER: the --link value between two ports on UDP_OUTER.
udp_link() {
  echo "udp:$UDP_OUTER:$1,$UDP_OUTER:$2"
}

# run_pair NAME SEED SERVER_STDIN CLIENT_STDIN [options...]
# Server: synack cat -l 5000, client: synack cat UDP_HOST 5000. Sets s_rc, c_rc, secs.
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
  timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -l -v --seed "$seed" "$@" \
    --link "$(udp_link "$ps" "$pc")" "${UDP_SERVER_ADDRS[@]}" 5000 \
    <"$s_in" >"$dir/out/$name.server" 2>"$dir/$name.server.err" &
  local spid=$!
  pids+=("$spid")
  wait_bound "$ps" || echo "note: $name: the listener's port $ps is not bound after 10 s"
  timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -v --seed $((seed + 1)) "$@" \
    --link "$(udp_link "$pc" "$ps")" "${UDP_CLIENT_ADDRS[@]}" "$UDP_HOST" 5000 \
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

# one_way NAME SEED [options...]: $dir/src (UDP_SIZE MB) client -> server, byte-exact,
# both exit 0, nothing the other way.
one_way() {
  local name=$1 seed=$2
  shift 2
  run_pair "$name" "$seed" /dev/null "$dir/src" "$@" || { fail=$((fail + 1)); return; }
  local got
  got=$(stat -c %s "$dir/out/$name.server" 2>/dev/null || echo 0)
  if [ "$s_rc" -eq 0 ] && [ "$c_rc" -eq 0 ] && same "$dir/src" "$dir/out/$name.server" &&
    [ ! -s "$dir/out/$name.client" ]; then
    report "$name" 0 "$UDP_SIZE MB client -> server, sha256 equal, both exit 0 (${secs}s)"
  else
    report "$name" 1 "server exit $s_rc, client exit $c_rc, $got of $((UDP_SIZE * MB)) bytes, sha256 $(same "$dir/src" "$dir/out/$name.server" && echo equal || echo differs)"
    show_logs "$name"
  fi
  grep -h "impairments\|retransmitted" "$dir/$name".*.err | sed 's/^/     /'
}

# check_impaired NAME: the run NAME was really impaired, each way: the fault wrappers'
# counters (printed by -v) show losses, duplicates and reordering on both ends.
check_impaired() {
  local side line n_lost n_dup n_reo
  for side in server client; do
    line=$(grep -h "impairments (both ways)" "$dir/$1.$side.err")
    n_lost=$(sed -n 's/.*lost \([0-9]*\).*/\1/p' <<<"$line")
    n_dup=$(sed -n 's/.*duplicated \([0-9]*\).*/\1/p' <<<"$line")
    n_reo=$(sed -n 's/.*reordered \([0-9]*\).*/\1/p' <<<"$line")
    if [ "${n_lost:-0}" -gt 0 ] && [ "${n_dup:-0}" -gt 0 ] && [ "${n_reo:-0}" -gt 0 ]; then
      report "$1-$side" 0 "its link lost $n_lost, duplicated $n_dup and reordered $n_reo packets"
    else
      report "$1-$side" 1 "no impairment counted on its link: '$line'"
    fi
  done
}

# refused_pair NAME MESSAGE: a listener on 5000, a client to 5001 (no -v): exit 1 and
# exactly MESSAGE on stderr; then again with -v, refused at once (refused_at_once).
refused_pair() {
  local name=$1 want=$2 ps pc spid msg why
  ps=$(free_port) && pc=$(free_port)
  [ "$ps" != "$pc" ] || pc=$((ps + 1))
  timeout --foreground -k 5 "$LIMIT" "${run[@]}" "$synack" cat -l --seed 7 --link "$(udp_link "$ps" "$pc")" \
    "${UDP_SERVER_ADDRS[@]}" 5000 </dev/null >/dev/null 2>"$dir/$name.server.err" &
  spid=$!
  pids+=("$spid")
  wait_bound "$ps" || echo "note: $name: the listener's port $ps is not bound after 10 s"
  refused_client() { # NAME [options...]: the client to port 5001; its status in c_rc
    local n=$1
    shift
    timeout --foreground -k 5 10 "${run[@]}" "$synack" cat --seed 8 "$@" --link "$(udp_link "$pc" "$ps")" \
      "${UDP_CLIENT_ADDRS[@]}" "$UDP_HOST" 5001 </dev/null >/dev/null 2>"$dir/$n.client.err"
    c_rc=$?
  }
  refused_client "$name" # without -v: the error is exactly one line
  msg=$(cat "$dir/$name.client.err")
  if [ "$c_rc" -eq 1 ] && [ "$msg" = "$want" ]; then
    report "$name" 0 "'$msg', exit 1"
  else
    report "$name" 1 "exit $c_rc, stderr: '$msg'"
  fi
  refused_client "${name}_v" -v
  if why=$(refused_at_once "$dir/${name}_v.client.err") && [ "$c_rc" -eq 1 ]; then
    report "$name-at-once" 0 "-v: one SYN sent, none retransmitted, one RST received"
  else
    report "$name-at-once" 1 "exit $c_rc; ${why:-}"
    show_logs "${name}_v"
  fi
  kill "$spid" 2>/dev/null
  reap "$spid" 2>/dev/null
}

udp_finish() {
  echo "$passed passed, $fail failed"
  [ "$fail" -eq 0 ]
}
