#!/usr/bin/env bash
# Bulk throughput over a TUN device, synack against the Linux kernel, and the kernel
# against itself over the same kind of path:
#   (a) synack -> kernel   `synack cat HOST PORT < FILE`  ->  kernel `nc -l`
#   (b) kernel -> synack   kernel `nc HOST PORT < FILE`   ->  `synack cat -l`
#   (c) kernel -> kernel   kernel nc in namespace B -> tunB -> bench/tun_relay -> tunA ->
#                          kernel `nc -l` in namespace A (one packet per read and write)
#   (d) kernel -> kernel   kernel nc in namespace D -> a veth pair -> kernel `nc -l` in
#                          namespace C: no user process on the path at all (issue 13's
#                          other bar: synack over TUN against the kernel over veth)
# Every packet of (a) and (b) crosses one TUN device and one user process (synack); every
# packet of (c) crosses two TUN devices and one user process (the relay), so (c) is what
# the kernel's own TCP achieves on a path of that shape, and synack/kernel compares stacks.
#
# Everything runs inside network namespaces created here (198.18.0.0/24 for (a) and (b),
# 198.18.1.0/24 for (c), 198.18.2.0/24 for (d); with --ipv6, 2001:db8::/64, 2001:db8:1::/64
# and 2001:db8:2::/64) and removed on exit. Needs root and /dev/net/tun. Use a Release
# build (`make`): a Debug or sanitizer build measures the instrumentation.
#
# Usage: bench/tun.sh [BUILD_DIR] [--ipv6] [--mb N] [--runs N] [--synack-opts "OPTS"]
#   BUILD_DIR     holds synack and bench/tun_relay (default: build)
#   --ipv6        every path over IPv6 (TCP MSS 1440 at MTU 1500 rather than 1460)
#   --mb N        megabytes (10^6 bytes) per transfer (default 500)
#   --runs N      repetitions of each case; the median is reported (default 5)
#   --synack-opts extra options for both synack runs, e.g. "--sndbuf 1M --rcvbuf 1M"
# Prints a markdown block ready for docs/PERFORMANCE.md.
set -u -o pipefail

build=build
mb=500
runs=5
synack_opts=""
ipv6=0
while [ $# -gt 0 ]; do
    case $1 in
        --mb) mb=$2; shift ;;
        --ipv6) ipv6=1 ;;
        --runs) runs=$2; shift ;;
        --synack-opts) synack_opts=$2; shift ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench/tun.sh: unknown option $1" >&2; exit 2 ;;
        *) build=$1 ;;
    esac
    shift
done
case $mb$runs in *[!0-9]*) echo "bench/tun.sh: --mb and --runs take numbers" >&2; exit 2 ;; esac
{ [ "$mb" -gt 0 ] && [ "$runs" -gt 0 ] && [ "$runs" -le 20 ]; } ||
    { echo "bench/tun.sh: need --mb > 0 and 1 <= --runs <= 20" >&2; exit 2; }
synack=$build/synack
relay=$build/bench/tun_relay
for f in "$synack" "$relay"; do
    [ -x "$f" ] || { echo "bench/tun.sh: $f not found; build first (make, or cmake --build $build)" >&2; exit 2; }
done
synack=$(cd "$(dirname "$synack")" && pwd)/synack
relay=$(cd "$(dirname "$relay")" && pwd)/tun_relay
[ "$(id -u)" -eq 0 ] || { echo "bench/tun.sh: needs root (network namespaces, /dev/net/tun)" >&2; exit 2; }
[ -c /dev/net/tun ] || { echo "bench/tun.sh: /dev/net/tun is missing" >&2; exit 2; }
for t in ip nc timeout; do
    command -v $t >/dev/null || { echo "bench/tun.sh: $t is not installed (scripts/deps.sh)" >&2; exit 2; }
done
if grep -qs 'SYNACK_SANITIZE:BOOL=ON\|CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt"; then
    echo "bench/tun.sh: warning: $build is a Debug or sanitizer build; figures will be low" >&2
fi

bytes=$((mb * 1000000))
# Bound of one transfer: generous (at 1 MB/s something is broken anyway).
limit=$((60 + mb))
ns=sbench-$$
nsa=sbenchA-$$
nsb=sbenchB-$$
nsc=sbenchC-$$
nsd=sbenchD-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/synack-bench-tun.XXXXXX")
pids=()

cleanup() {
    local p live=()
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && live+=("$p"); done
    for p in "${live[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    ip netns del "$nsa" 2>/dev/null || true
    ip netns del "$nsb" 2>/dev/null || true
    ip netns del "$nsc" 2>/dev/null || true
    ip netns del "$nsd" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench/tun.sh: $*" >&2
    exit 1
}

# bg NS SECS OUT CMD...: CMD in namespace NS in the background, stdout to OUT; PID in BG.
bg() {
    local n=$1 secs=$2 out=$3
    shift 3
    ip netns exec "$n" timeout -k 5 "$secs" "$@" <&0 >"$out" 2>>"$dir/stderr.log" &
    BG=$!
    pids+=("$BG")
}

# reap PID: waits for a job of bg; its status in RC, and the PID leaves the list.
reap() {
    RC=0
    wait "$1" || RC=$?
    local p keep=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

# poll CMD...: bounded wait (10 s) until CMD succeeds.
poll() {
    local i
    for i in $(seq 200); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
# tun_ready NS IF ADDR: IF carries ADDR and is UP (synack sets the address first).
tun_ready() {
    ip -n "$1" "$fam" addr show dev "$2" | grep -Eq "inet6? $3/" &&
        ip -n "$1" link show dev "$2" | grep -q '[<,]UP[,>]'
}
tun_gone() { ! ip -n "$1" link show dev "$2"; }
now() { date +%s.%N; }

# Counts what a receiver got: the receiving command's stdout goes through `wc -c`.
check_count() { # label, file holding the count
    local got
    got=$(tr -d ' \n' <"$2")
    [ "$got" = "$bytes" ] || die "$1: received ${got:-nothing} bytes of $bytes (see $dir/stderr.log)"
}

head -c "$bytes" /dev/urandom >"$dir/data" || die "cannot write $dir/data"

ip netns add "$ns" || die "cannot create a network namespace"
ip -n "$ns" link set lo up
# The addresses: synack's and the kernel's for (a) and (b), the kernel's two for (c).
if [ "$ipv6" -eq 1 ]; then
    fam=-6 plen=64 me=2001:db8::2 host=2001:db8::1 ra=2001:db8:1::1 rb=2001:db8:1::2
    vc=2001:db8:2::1 vd=2001:db8:2::2
    nodad=(nodad) # (c): usable at once, no duplicate address detection on a fresh device
else
    fam=-4 plen=24 me=198.18.0.2 host=198.18.0.1 ra=198.18.1.1 rb=198.18.1.2
    vc=198.18.2.1 vd=198.18.2.2
    nodad=()
fi
link=(--link tun:tun0 --addr "$me/$plen" --tun-host-addr "$host/$plen")
# shellcheck disable=SC2206
extra=($synack_opts)

# (a) synack -> kernel: time from starting synack (TUN creation included, a few ms) to
# the kernel receiver's exit.
run_synack_to_kernel() {
    bg "$ns" "$limit" "$dir/count" sh -c "nc $fam -l -d 5000 </dev/null | wc -c"
    local rx=$BG t0 rc=0
    poll listening "$ns" 5000 || die "(a): the kernel nc -l never listened"
    t0=$(now)
    ip netns exec "$ns" timeout -k 5 "$limit" "$synack" cat "${link[@]}" "${extra[@]}" \
        "$host" 5000 <"$dir/data" >/dev/null 2>>"$dir/stderr.log" || rc=$?
    reap "$rx"
    T=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}')
    { [ "$rc" -eq 0 ] && [ "$RC" -eq 0 ]; } || die "(a): synack cat exited $rc, kernel nc $RC (see $dir/stderr.log)"
    check_count "(a)" "$dir/count"
    poll tun_gone "$ns" tun0 || die "(a): tun0 stayed after synack exited"
}

# (b) kernel -> synack: synack listens first; time from starting the kernel sender to
# synack's exit.
run_kernel_to_synack() {
    bg "$ns" "$limit" "$dir/count" sh -c "\"\$0\" cat -l \"\$@\" 5000 </dev/null | wc -c" \
        "$synack" "${link[@]}" "${extra[@]}"
    local rx=$BG t0 rc=0
    poll tun_ready "$ns" tun0 "$host" || die "(b): synack's tun0 never came up"
    t0=$(now)
    ip netns exec "$ns" timeout -k 5 "$limit" nc -N "$me" 5000 <"$dir/data" \
        >/dev/null 2>>"$dir/stderr.log" || rc=$?
    reap "$rx"
    T=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}')
    { [ "$rc" -eq 0 ] && [ "$RC" -eq 0 ]; } || die "(b): kernel nc exited $rc, synack cat $RC (see $dir/stderr.log)"
    check_count "(b)" "$dir/count"
    poll tun_gone "$ns" tun0 || die "(b): tun0 stayed after synack exited"
}

# (c) kernel -> kernel through the relay: set up once (relay in nsA creating both
# devices; tunB moved to nsB with its descriptor still attached).
setup_relay() {
    ip netns add "$nsa" || die "cannot create a network namespace"
    ip netns add "$nsb" || die "cannot create a network namespace"
    bg "$nsa" $((limit * runs + 60)) /dev/null "$relay" tunA tunB
    RELAY=$BG
    poll ip -n "$nsa" link show dev tunB || die "(c): the relay did not create its devices"
    ip -n "$nsa" link set tunB netns "$nsb" || die "(c): cannot move tunB to $nsb"
    {
        ip -n "$nsa" addr add "$ra/$plen" dev tunA "${nodad[@]}" && ip -n "$nsa" link set tunA up &&
            ip -n "$nsb" addr add "$rb/$plen" dev tunB "${nodad[@]}" && ip -n "$nsb" link set tunB up
    } || die "(c): cannot configure tunA/tunB"
    ip -n "$nsa" link set lo up
    ip -n "$nsb" link set lo up
}

# kernel_pair LABEL NS_RX NS_TX ADDR: the kernel's nc from NS_TX to the kernel's nc -l on
# ADDR in NS_RX; the time from starting the sender to the receiver's exit in T.
kernel_pair() {
    local label=$1 nrx=$2 ntx=$3 addr=$4
    bg "$nrx" "$limit" "$dir/count" sh -c "nc $fam -l -d 5000 </dev/null | wc -c"
    local rx=$BG t0 rc=0
    poll listening "$nrx" 5000 || die "$label: the kernel nc -l never listened"
    t0=$(now)
    ip netns exec "$ntx" timeout -k 5 "$limit" nc -N "$addr" 5000 <"$dir/data" \
        >/dev/null 2>>"$dir/stderr.log" || rc=$?
    reap "$rx"
    T=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}')
    { [ "$rc" -eq 0 ] && [ "$RC" -eq 0 ]; } || die "$label: kernel nc exited $rc and $RC (see $dir/stderr.log)"
    check_count "$label" "$dir/count"
}

run_kernel_to_kernel() { kernel_pair "(c)" "$nsa" "$nsb" "$ra"; }

# (d) kernel -> kernel over a veth pair between two namespaces (the kernel's offloads on,
# as veth has them by default).
setup_veth() {
    ip netns add "$nsc" || die "cannot create a network namespace"
    ip netns add "$nsd" || die "cannot create a network namespace"
    {
        ip -n "$nsc" link add vethC type veth peer name vethD netns "$nsd" &&
            ip -n "$nsc" addr add "$vc/$plen" dev vethC "${nodad[@]}" && ip -n "$nsc" link set vethC up &&
            ip -n "$nsd" addr add "$vd/$plen" dev vethD "${nodad[@]}" && ip -n "$nsd" link set vethD up &&
            ip -n "$nsc" link set lo up && ip -n "$nsd" link set lo up
    } || die "(d): cannot make the veth pair"
}

run_kernel_veth() { kernel_pair "(d)" "$nsc" "$nsd" "$vc"; }

# measure NAME FN: runs FN `runs` times; leaves "median min max" MB/s in RES_NAME.
RES_a="" RES_b="" RES_c="" RES_d=""
measure() {
    local name=$1 fn=$2 i rates=()
    for i in $(seq "$runs"); do
        "$fn"
        rates+=("$(awk -v n="$bytes" -v t="$T" 'BEGIN{printf "%.1f", n / t / 1e6}')")
        echo "  $name run $i: ${rates[-1]} MB/s" >&2
    done
    printf -v "RES_$name" '%s' "$(printf '%s\n' "${rates[@]}" | sort -n |
        awk '{v[NR] = $1} END{m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              printf "%.1f %.1f %.1f", m, v[1], v[NR]}')"
}

echo "bench/tun.sh: $mb MB per transfer, $runs runs per case" >&2
measure a run_synack_to_kernel
measure b run_kernel_to_synack
setup_relay
measure c run_kernel_to_kernel
kill -TERM "$RELAY" 2>/dev/null
reap "$RELAY"
setup_veth
measure d run_kernel_veth

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
read -r a_med a_min a_max <<<"$RES_a"
read -r b_med b_min b_max <<<"$RES_b"
read -r c_med c_min c_max <<<"$RES_c"
read -r d_med d_min d_max <<<"$RES_d"
cmdline="bench/tun.sh $build$([ "$ipv6" -eq 1 ] && echo " --ipv6") --mb $mb --runs $runs${synack_opts:+ --synack-opts \"$synack_opts\"}"
echo "Command: \`$cmdline\` ($(date -u +%Y-%m-%d), $(nproc) cores, ${cpu:-unknown CPU}, Linux $(uname -r))"
echo
echo "| path | MB per run | runs | MB/s median | MB/s min | MB/s max | synack / kernel (c) | synack / kernel (d) |"
echo "|---|---|---|---|---|---|---|---|"
awk -v mb="$mb" -v r="$runs" -v am="$a_med" -v a0="$a_min" -v a1="$a_max" \
    -v bm="$b_med" -v b0="$b_min" -v b1="$b_max" -v cm="$c_med" -v c0="$c_min" -v c1="$c_max" \
    -v dm="$d_med" -v d0="$d_min" -v d1="$d_max" 'BEGIN{
    printf "| (a) synack -> kernel, one TUN | %d | %d | %.1f | %.1f | %.1f | %.2f | %.2f |\n", mb, r, am, a0, a1, am / cm, am / dm
    printf "| (b) kernel -> synack, one TUN | %d | %d | %.1f | %.1f | %.1f | %.2f | %.2f |\n", mb, r, bm, b0, b1, bm / cm, bm / dm
    printf "| (c) kernel -> kernel, two TUNs + tun_relay | %d | %d | %.1f | %.1f | %.1f | 1.00 | |\n", mb, r, cm, c0, c1
    printf "| (d) kernel -> kernel, one veth pair | %d | %d | %.1f | %.1f | %.1f | | 1.00 |\n", mb, r, dm, d0, d1
}'
