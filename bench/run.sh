#!/usr/bin/env bash
# Unmodified programs through `synack run` against the kernel over one TUN device, and the
# kernel against itself over two TUN devices joined by bench/tun_relay (bench/tun.sh says
# why that is the path to compare with):
#   iperf3   (a) `synack run -- iperf3 -c` -> the kernel's iperf3 -s   (synack sends)
#            (b) the same with -R                                     (synack receives)
#            (c) kernel iperf3 -c -> tunB -> tun_relay -> tunA -> kernel iperf3 -s, and -R
#            (f) kernel iperf3 -c -> a veth pair -> kernel iperf3 -s, and -R: no user
#                process on the path, the kernel's offloads on (issue 13's other bar)
#   redis    (d) the kernel's redis-benchmark -> `synack run -- redis-server`
#            (e) kernel redis-benchmark -> relay -> kernel redis-server
# Everything runs in network namespaces made here (198.18.0.0/24, 198.18.1.0/24,
# 198.18.2.0/24) and removed on exit; root and /dev/net/tun. Use a Release build (`make`).
#
# Usage: bench/run.sh [BUILD_DIR] [--secs N] [--runs N] [--requests N] [--clients N]
#   BUILD_DIR   holds synack, libsynack-preload.so and bench/tun_relay (default: build)
#   --secs N    seconds per iperf3 run (default 5)
#   --runs N    repetitions of each case; the median is reported (default 3)
#   --requests N  redis-benchmark -n (default 100000), --clients N its -c (default 50)
# Prints a markdown block ready for docs/PERFORMANCE.md.
set -u -o pipefail

build=build
secs=5
runs=3
requests=100000
clients=50
while [ $# -gt 0 ]; do
    case $1 in
        --secs) secs=$2; shift ;;
        --runs) runs=$2; shift ;;
        --requests) requests=$2; shift ;;
        --clients) clients=$2; shift ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
        *) build=$1 ;;
    esac
    shift
done
case $secs$runs$requests$clients in *[!0-9]*) echo "bench/run.sh: options take numbers" >&2; exit 2 ;; esac
{ [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] && [ "$runs" -ge 1 ] && [ "$runs" -le 20 ]; } ||
    { echo "bench/run.sh: need 1 <= --secs <= 60 and 1 <= --runs <= 20" >&2; exit 2; }
synack=$(cd "$build" 2>/dev/null && pwd)/synack
relay=$(cd "$build" 2>/dev/null && pwd)/bench/tun_relay
for f in "$synack" "$relay" "$(dirname "$synack")/libsynack-preload.so"; do
    [ -e "$f" ] || { echo "bench/run.sh: $f not found; build first (make)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (network namespaces, /dev/net/tun)" >&2; exit 2; }
for t in ip iperf3 redis-server redis-benchmark redis-cli python3 timeout; do
    command -v $t >/dev/null || { echo "bench/run.sh: $t is not installed (scripts/deps.sh)" >&2; exit 2; }
done
if grep -qs 'SYNACK_SANITIZE:BOOL=ON\|CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt"; then
    echo "bench/run.sh: warning: $build is a Debug or sanitizer build; figures will be low" >&2
fi

ns=srun-$$
nsa=srunA-$$
nsb=srunB-$$
nsc=srunC-$$
nsd=srunD-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/synack-bench-run.XXXXXX")
pids=()
limit=$((secs + 30))
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
    echo "bench/run.sh: $*" >&2
    exit 1
}

# bg NS SECS CMD...: CMD in namespace NS in the background (output to the log); PID in BG.
bg() {
    local n=$1 s=$2
    shift 2
    ip netns exec "$n" timeout -k 5 "$s" "$@" </dev/null >>"$dir/bg.log" 2>&1 &
    BG=$!
    pids+=("$BG")
}
stop() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    local p keep=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}
poll() {
    for _ in $(seq 200); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
tun_up() { ip -n "$ns" -4 addr show dev synack0 2>/dev/null | grep -q 'inet 198.18.0.1/'; }
tun_gone() { ! ip -n "$ns" link show dev synack0; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# iperf3_gbits NS -- CMD...: runs an iperf3 client (CMD, with -J) and prints the receiver's
# Gbit/s.
iperf3_gbits() {
    local n=$1
    shift
    ip netns exec "$n" timeout -k 5 "$limit" "$@" -J >"$dir/iperf.json" 2>>"$dir/bg.log" ||
        die "iperf3 failed: $* (see $dir/iperf.json)"
    python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' \
        "$dir/iperf.json"
}

# redis_rps NS HOST TEST: redis-benchmark's requests per second for TEST (set or get).
redis_rps() {
    ip netns exec "$1" timeout -k 5 120 redis-benchmark -h "$2" -n "$requests" -c "$clients" \
        -t "$3" -q 2>>"$dir/bg.log" | tr '\r' '\n' |
        sed -n "s/^$(tr a-z A-Z <<<"$3"): \([0-9.]*\) requests per second.*/\1/p" | tail -n 1
}

ip netns add "$ns" || die "cannot create a network namespace"
ip -n "$ns" link set lo up

# iperf3_series FILE SERVER_NS CLIENT_NS CLIENT...: `runs` times, the kernel's iperf3 -s -1
# in SERVER_NS and CLIENT (an iperf3 -c command line) in CLIENT_NS; each run's Gbit/s to FILE.
iperf3_series() {
    local file=$1 sns=$2 cns=$3 srv
    shift 3
    : >"$file"
    for _ in $(seq "$runs"); do
        bg "$sns" "$limit" iperf3 -s -1 -p 5201
        srv=$BG
        poll listening "$sns" 5201 || die "the kernel's iperf3 -s never listened"
        iperf3_gbits "$cns" "$@" >>"$file"
        wait "$srv" 2>/dev/null
        [ "$cns" != "$ns" ] || poll tun_gone || die "synack0 stayed after synack run's iperf3 exited"
    done
}

# (a), (b): iperf3 under synack run against the kernel's iperf3 -s on the wildcard address.
iperf3_series "$dir/a" "$ns" "$ns" "$synack" run -- iperf3 -c 198.18.0.1 -p 5201 -t "$secs"
iperf3_series "$dir/b" "$ns" "$ns" "$synack" run -- iperf3 -c 198.18.0.1 -p 5201 -t "$secs" -R

# (d): redis-server under synack run, the kernel's redis-benchmark.
: >"$dir/d.set"
: >"$dir/d.get"
bg "$ns" $((runs * 240 + 60)) "$synack" run -- redis-server --port 6379 --bind 0.0.0.0 \
    --protected-mode no --save '' --appendonly no --dir "$dir"
rs=$BG
poll tun_up || die "synack run's redis-server never brought synack0 up"
poll ip netns exec "$ns" redis-cli -h 198.18.0.2 ping || die "redis-server under synack run does not answer"
for _ in $(seq "$runs"); do
    redis_rps "$ns" 198.18.0.2 set >>"$dir/d.set"
    redis_rps "$ns" 198.18.0.2 get >>"$dir/d.get"
done
stop "$rs"

# (c), (e): the kernel against itself through the relay.
ip netns add "$nsa" || die "cannot create a network namespace"
ip netns add "$nsb" || die "cannot create a network namespace"
bg "$nsa" $((runs * 400 + 120)) "$relay" tunA tunB
relay_pid=$BG
poll ip -n "$nsa" link show dev tunB || die "the relay did not create its devices"
ip -n "$nsa" link set tunB netns "$nsb" || die "cannot move tunB"
ip -n "$nsa" addr add 198.18.1.1/24 dev tunA && ip -n "$nsa" link set tunA up &&
    ip -n "$nsb" addr add 198.18.1.2/24 dev tunB && ip -n "$nsb" link set tunB up &&
    ip -n "$nsa" link set lo up && ip -n "$nsb" link set lo up || die "cannot configure tunA/tunB"
iperf3_series "$dir/c" "$nsa" "$nsb" iperf3 -c 198.18.1.1 -p 5201 -t "$secs"
iperf3_series "$dir/cr" "$nsa" "$nsb" iperf3 -c 198.18.1.1 -p 5201 -t "$secs" -R
: >"$dir/e.set"
: >"$dir/e.get"
bg "$nsa" $((runs * 240 + 60)) redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
    --save '' --appendonly no --dir "$dir"
rs=$BG
poll listening "$nsa" 6379 || die "the kernel's redis-server never listened"
for _ in $(seq "$runs"); do
    redis_rps "$nsb" 198.18.1.1 set >>"$dir/e.set"
    redis_rps "$nsb" 198.18.1.1 get >>"$dir/e.get"
done
stop "$rs"

stop "$relay_pid"

# (f): the kernel against itself over a veth pair.
ip netns add "$nsc" || die "cannot create a network namespace"
ip netns add "$nsd" || die "cannot create a network namespace"
ip -n "$nsc" link add vethC type veth peer name vethD netns "$nsd" &&
    ip -n "$nsc" addr add 198.18.2.1/24 dev vethC && ip -n "$nsc" link set vethC up &&
    ip -n "$nsd" addr add 198.18.2.2/24 dev vethD && ip -n "$nsd" link set vethD up &&
    ip -n "$nsc" link set lo up && ip -n "$nsd" link set lo up || die "cannot make the veth pair"
iperf3_series "$dir/f" "$nsc" "$nsd" iperf3 -c 198.18.2.1 -p 5201 -t "$secs"
iperf3_series "$dir/fr" "$nsc" "$nsd" iperf3 -c 198.18.2.1 -p 5201 -t "$secs" -R

m() { median <"$dir/$1"; }
all() { tr '\n' ' ' <"$dir/$1" | sed 's/ $//'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
echo "| path | runs | median | each run | synack / kernel (relay) | synack / kernel (veth) |"
echo "|---|---|---|---|---|---|"
echo "| (a) iperf3 -c under synack run -> kernel iperf3 -s, one TUN | $runs | $(m a) Gbit/s | $(all a) | $(ratio "$(m a)" "$(m c)") | $(ratio "$(m a)" "$(m f)") |"
echo "| (b) the same, -R: kernel -> synack run | $runs | $(m b) Gbit/s | $(all b) | $(ratio "$(m b)" "$(m cr)") | $(ratio "$(m b)" "$(m fr)") |"
echo "| (c) kernel iperf3 -c -> kernel -s, two TUNs + tun_relay | $runs | $(m c) Gbit/s | $(all c) | 1.00 | |"
echo "| (c) the same, -R | $runs | $(m cr) Gbit/s | $(all cr) | 1.00 | |"
echo "| (f) kernel iperf3 -c -> kernel -s, one veth pair | $runs | $(m f) Gbit/s | $(all f) | | 1.00 |"
echo "| (f) the same, -R | $runs | $(m fr) Gbit/s | $(all fr) | | 1.00 |"
echo "| (d) kernel redis-benchmark -> redis-server under synack run: SET | $runs | $(m d.set) req/s | $(all d.set) | $(ratio "$(m d.set)" "$(m e.set)") | |"
echo "| (d) the same: GET | $runs | $(m d.get) req/s | $(all d.get) | $(ratio "$(m d.get)" "$(m e.get)") | |"
echo "| (e) kernel redis-benchmark -> kernel redis-server, relay: SET | $runs | $(m e.set) req/s | $(all e.set) | 1.00 | |"
echo "| (e) the same: GET | $runs | $(m e.get) req/s | $(all e.get) | 1.00 | |"
echo
echo "(iperf3 -t $secs; redis-benchmark -n $requests -c $clients -t set,get -q)"
