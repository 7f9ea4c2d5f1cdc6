#!/usr/bin/env bash
# examples.tun_echo: examples/tun_echo serves the Linux kernel over a TUN device, inside a
# network namespace this test creates and deletes. The kernel's nc sends a line and then
# 1 MB of random bytes, each on a connection of its own; each comes back byte-exact, and
# the server reports both connections done. The kernel's ping gets its answer.
# Needs root and /dev/net/tun: without them it skips (77) saying so.
# Usage: tun_echo.sh PATH/TO/tun_echo
set -u -o pipefail
prog=$1
skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (a network namespace, /dev/net/tun)"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (modprobe tun)"
for t in ip nc ping timeout cmp; do
    command -v $t >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done
ns=synack-tun-echo-$$
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
dir=$(mktemp -d "${TMPDIR:-/tmp}/synack-tun-echo.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null; fi
    ip netns del "$ns" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
ip -n "$ns" link set lo up
# `timeout` bounds the server's life, whatever happens to this script.
ip netns exec "$ns" timeout -k 5 120 "$prog" syn0 >"$dir/server.log" 2>&1 &
pid=$!
# tun_up: the kernel's side of syn0 has its address (the output read whole, so that grep
# never cuts `ip` short).
tun_up() {
    local out
    out=$(ip -n "$ns" -4 addr show dev syn0 2>/dev/null)
    grep -q 'inet 198.18.0.1/24' <<<"$out"
}
for _ in $(seq 200); do
    tun_up && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
if ! tun_up; then
    fail "the TUN device syn0 never came up with 198.18.0.1"
    cat "$dir/server.log"
    exit 1
fi

# echo_through NAME: sends $dir/NAME with the kernel's nc and compares what comes back.
echo_through() {
    ip netns exec "$ns" timeout -k 5 30 nc -N 198.18.0.2 7 <"$dir/$1" >"$dir/$1.back" ||
        fail "nc with $1 exited with status $?"
    if cmp -s "$dir/$1" "$dir/$1.back"; then
        echo "ok: $(stat -c %s "$dir/$1") bytes ($1) came back byte-exact"
    else
        fail "$1: sent $(stat -c %s "$dir/$1") bytes, got $(stat -c %s "$dir/$1.back") back, not the same"
    fi
}
printf 'hello, synack\n' >"$dir/line"
echo_through line
head -c 1000000 /dev/urandom >"$dir/random"
echo_through random
ip netns exec "$ns" ping -c 1 -W 2 198.18.0.2 >/dev/null || fail "no answer to ping"

for n in 14 1000000; do
    grep -qE "^echo: connection [0-9]+ done, $n bytes echoed$" "$dir/server.log" ||
        fail "the server did not report a connection of $n bytes done"
done
kill -0 "$pid" 2>/dev/null || fail "the server exited while it should be serving"
echo "--- the server's output ---"
cat "$dir/server.log"
[ "$fails" -eq 0 ] || exit 1
