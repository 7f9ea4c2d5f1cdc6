#!/usr/bin/env bash
# In-memory bulk on one core, synack against the kernel in the same run (issue 13's first
# goal): build/bench/bulk moves --mb MiB from a client to a server in one thread pinned to
# CPU 0, with two synack stacks handing each other packets (plain calls, then the zero-copy
# calls, then with transmit offloads as the multi-queue wire carries them, then with those
# and the buffers on transparent huge pages (--hugepages, synack_hugealloc): bench/bulk.c
# says what those do), then with the kernel's TCP
# over a loopback device whose MTU is set, in a network namespace this script creates and
# deletes (also on failure). For each MTU (1500 and 64 KiB) the median of --runs runs.
#   bench/bulk.sh BUILD_DIR [--mb N] [--runs R]        (needs root for the namespace)
set -euo pipefail
build=${1:?usage: bench/bulk.sh BUILD_DIR [--mb N] [--runs R]}
shift
mb=1024 runs=5
while [ $# -gt 0 ]; do
    case $1 in
    --mb) mb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "bench/bulk.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
bin=$build/bench/bulk
[ -x "$bin" ] || { echo "bench/bulk.sh: $bin not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/bulk.sh: needs root for its network namespace" >&2; exit 1; }
ns=synack-bulk-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"

# The median Gbit/s of $runs runs of "$@" (each prints "... <Gbit/s> Gbit/s").
median() {
    for _ in $(seq "$runs"); do "$@" | awk '{print $(NF-1)}'; done | sort -n |
        awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

echo "| MTU | MiB per run | runs | synack Gbit/s (median) | synack, zero-copy calls | synack, offloads | synack, offloads, huge pages | kernel Gbit/s (median) | synack / kernel | zero-copy / kernel | offloads / kernel | offloads, huge pages / kernel |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for mtu in 1500 65535; do
    kmtu=$mtu
    [ "$mtu" = 65535 ] && kmtu=65536 # lo's default and maximum
    ip netns exec "$ns" ip link set lo mtu "$kmtu" up
    s=$(median taskset -c 0 "$bin" synack --mb "$mb" --mtu "$mtu")
    z=$(median taskset -c 0 "$bin" synack --mb "$mb" --mtu "$mtu" --zero-copy)
    o=$(median taskset -c 0 "$bin" synack --mb "$mb" --mtu "$mtu" --offload)
    h=$(median taskset -c 0 "$bin" synack --mb "$mb" --mtu "$mtu" --offload --hugepages)
    k=$(median ip netns exec "$ns" taskset -c 0 "$bin" kernel --mb "$mb")
    awk -v m="$mtu" -v mb="$mb" -v r="$runs" -v s="$s" -v z="$z" -v o="$o" -v h="$h" -v k="$k" \
        'BEGIN {printf "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", m, mb, r, s, z, o, h, k, s / k, z / k, o / k, h / k}'
done
