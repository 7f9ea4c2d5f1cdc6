# Sourced by the script tests that start synack processes over UDP encapsulation.

# wait_bound PORT: a UDP socket holds PORT on this host (the listener's link is up), 10 s
# at most; 1 if it never does.
wait_bound() {
  for _ in $(seq 200); do
    ss -Huan "sport = :$1" | grep -q . && return 0
    sleep 0.05
  done
  return 1
}

# free_port: a UDP port no socket uses now (tests run in parallel), printed; 1 if none.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Huan "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  return 1
}
