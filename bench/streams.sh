#!/usr/bin/env bash
# Several TCP streams from one program under `synack run` against the kernel's iperf3 -s:
# `synack run -- iperf3 -c ... -P N` for each N, the receiver's figure, Gbit/s. One stream
# shows what one connection carries; several show what the stack does when connections'
# buffers fill and drain in turn (docs/PERFORMANCE.md, "Several streams").
# With a second build directory the two are run alternately, case by case, so that a
# before/after comparison sees the same machine.
# Everything runs in a network namespace made here (synack run's TUN, 198.18.0.0/24) and
# removed on exit; root and /dev/net/tun. Use a Release build (`make`).
#
# Usage: bench/streams.sh [BUILD_DIR [BUILD_DIR2]] [--secs N] [--runs N] [--streams "1 2 4"]
#   BUILD_DIR   holds synack and libsynack-preload.so (default: build)
#   --secs N    seconds per iperf3 run (default 3)
#   --runs N    repetitions of each case; the median is reported (default 3)
#   --streams L the -P values (default "1 2 4"; each 1..16)
#   --opts S    options for synack run (for example "--sndbuf 512K --rcvbuf 512K")
# Prints a markdown table: one row per build, one column per stream count.
set -u -o pipefail

builds=()
secs=3
runs=3
streams="1 2 4"
opts=""
while [ $# -gt 0 ]; do
    case $1 in
        --secs) secs=$2; shift ;;
        --runs) runs=$2; shift ;;
        --streams) streams=$2; shift ;;
        --opts) opts=$2; shift ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench/streams.sh: unknown option $1" >&2; exit 2 ;;
        *) builds+=("$1") ;;
    esac
    shift
done
[ ${#builds[@]} -eq 0 ] && builds=(build)
[ ${#builds[@]} -le 2 ] || { echo "bench/streams.sh: at most two build directories" >&2; exit 2; }
case $secs$runs in *[!0-9]*) echo "bench/streams.sh: --secs and --runs take numbers" >&2; exit 2 ;; esac
{ [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] && [ "$runs" -ge 1 ] && [ "$runs" -le 20 ]; } ||
    { echo "bench/streams.sh: need 1 <= --secs <= 60 and 1 <= --runs <= 20" >&2; exit 2; }
for p in $streams; do
    case $p in *[!0-9]*) echo "bench/streams.sh: --streams takes numbers" >&2; exit 2 ;; esac
    { [ "$p" -ge 1 ] && [ "$p" -le 16 ]; } || { echo "bench/streams.sh: 1 <= streams <= 16" >&2; exit 2; }
done
bins=()
for b in "${builds[@]}"; do
    [ -d "$b" ] || { echo "bench/streams.sh: $b is not a build directory; build first (make)" >&2; exit 2; }
    s=$(cd "$b" && pwd)/synack
    for f in "$s" "$(dirname "$s")/libsynack-preload.so"; do
        [ -e "$f" ] || { echo "bench/streams.sh: $f not found; build first (make)" >&2; exit 2; }
    done
    if grep -qs 'SYNACK_SANITIZE:BOOL=ON\|CMAKE_BUILD_TYPE:STRING=Debug' "$b/CMakeCache.txt"; then
        echo "bench/streams.sh: warning: $b is a Debug or sanitizer build; figures will be low" >&2
    fi
    bins+=("$s")
done
[ "$(id -u)" -eq 0 ] || { echo "bench/streams.sh: needs root (network namespaces, /dev/net/tun)" >&2; exit 2; }
for t in ip iperf3 python3 timeout; do
    command -v $t >/dev/null || { echo "bench/streams.sh: $t is not installed (scripts/deps.sh)" >&2; exit 2; }
done

ns=sstreams-$$
tmp=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up

# One iperf3 run: prints Gbit/s, or "fail".
one() { # synack-binary streams
    ip netns exec "$ns" timeout $((secs + 10)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    server=$!
    sleep 0.3
    # shellcheck disable=SC2086 # $opts is a list of options
    timeout $((secs + 20)) ip netns exec "$ns" "$1" run $opts -- \
        iperf3 -c 198.18.0.1 -p 5201 -t "$secs" -P "$2" -J >"$tmp/out.json" 2>"$tmp/err"
    python3 - "$tmp/out.json" <<'EOF' || echo fail
import json, sys
d = json.load(open(sys.argv[1]))
print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
EOF
    wait "$server" 2>/dev/null
    server=
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else print v[int((NR + 1) / 2)]}'; }

for p in $streams; do
    for ((r = 0; r < runs; r++)); do
        for i in "${!bins[@]}"; do one "${bins[$i]}" "$p" >>"$tmp/b$i.p$p"; done
    done
done

printf '| build |'
for p in $streams; do printf ' %s stream%s, Gbit/s |' "$p" "$([ "$p" -gt 1 ] && echo s)"; done
printf '\n|---|'
for p in $streams; do printf -- '---|'; done
printf '\n'
for i in "${!bins[@]}"; do
    printf '| %s |' "${builds[$i]}"
    for p in $streams; do
        printf ' %s (%s) |' "$(grep -v fail "$tmp/b$i.p$p" | median)" "$(paste -sd' ' "$tmp/b$i.p$p")"
    done
    printf '\n'
done
