#!/usr/bin/env bash
# install.consumers: a program builds and runs against an installed synack, as a user
# would build it. `cmake --install BUILD --prefix TMP` (TMP removed on exit), then:
#   pkg_config_shared  core_pair.c with `cc $(pkg-config --cflags --libs synack)`, and
#                      echo_sim.c + echo.c with `... synack-drivers`: they need
#                      libsynack.so.2 (and libsynack-drivers.so.2) and load them from TMP
#   pkg_config_static  core_pair.c against libsynack.a alone (-Wl,-Bstatic): the core
#                      needs nothing beyond libc
#   cmake_shared       examples/CMakeLists.txt, find_package(synack CONFIG) from TMP
#   cmake_static       the same with -DEXAMPLES_STATIC=ON: no libsynack*.so needed
# Every program built is run: core_pair must end with both connections closed, echo_sim
# must get 200000 bytes back byte-exact over a lossy path. The installed `synack run` must
# find its preload library under the prefix (synack_run). No network is needed.
#
# Usage: consumers.sh CMAKE BUILD_DIR SOURCE_DIR CC [FLAGS]
#   FLAGS: given to every compile and link (a sanitized build's -fsanitize=..., which a
#   program linking its instrumented libraries needs too).
set -u -o pipefail
cmake=$1 build=$2 src=$3 cc=$4 flags=${5:-}
read -r -a flag_list <<<"$flags"
fails=0
fail() {
    echo "FAIL ($case): $*"
    fails=$((fails + 1))
}
# run_log FILE CMD...: CMD with its output in FILE; on failure the output is shown.
run_log() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        fail "$* failed:"
        tail -n 20 "$log"
        return 1
    fi
}

command -v pkg-config >/dev/null || { echo "FAIL: pkg-config is not installed (scripts/deps.sh)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/synack-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

case=install
run_log "$tmp/install.log" "$cmake" --install "$build" --prefix "$prefix" || exit 1
pc=$(find "$prefix" -name synack.pc)
[ -n "$pc" ] || { fail "no synack.pc under the prefix"; exit 1; }
export PKG_CONFIG_PATH=${pc%/*}
libdir=$(pkg-config --variable=libdir synack)
for f in include/synack/synack.h include/synack/link.h include/synack/socket.h bin/synack; do
    [ -e "$prefix/$f" ] || fail "$f was not installed"
done
for f in libsynack.so.2 libsynack.a libsynack-drivers.so.2 libsynack-drivers.a \
    libsynack-socket.so.2 libsynack-socket.a pkgconfig/synack-drivers.pc \
    pkgconfig/synack-socket.pc cmake/synack/synackConfig.cmake \
    cmake/synack/synackConfigVersion.cmake; do
    [ -e "$libdir/$f" ] || fail "$libdir/$f was not installed"
done
case $libdir in "$prefix"/*) ;; *) fail "synack.pc's libdir $libdir is not under $prefix" ;; esac
# `synack run` finds its preload library under the prefix it is installed in.
case=synack_run
[ -e "$libdir/synack/libsynack-preload.so" ] || fail "$libdir/synack/libsynack-preload.so was not installed"
got=$("$prefix/bin/synack" run --link udp:127.0.0.1:9,127.0.0.1:9 --addr 198.18.77.2/24 -- \
    sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$got" = "$libdir/synack/libsynack-preload.so" ] ||
    fail "the installed synack run preloads '$got', not $libdir/synack/libsynack-preload.so"

# needs PROG LIB...: PROG's NEEDED entries include each LIB and, loaded with TMP's library
# directory on LD_LIBRARY_PATH, each resolves into it. LIB "-" : no libsynack at all.
needs() {
    local prog=$1 lib
    shift
    local got loaded
    got=$(readelf -d "$prog" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    # Read whole before grep: a `grep -q` that stops early would kill ldd with SIGPIPE.
    loaded=$(LD_LIBRARY_PATH=$libdir ldd "$prog")
    if [ "$1" = - ]; then
        if grep -q libsynack <<<"$got"; then fail "$(basename "$prog") needs $(grep libsynack <<<"$got" | tr '\n' ' ')"; fi
        return 0
    fi
    for lib in "$@"; do
        grep -qx "$lib" <<<"$got" || fail "$(basename "$prog") does not need $lib (it needs: $(tr '\n' ' ' <<<"$got"))"
        grep -qF "$lib => $libdir/$lib " <<<"$loaded" ||
            fail "$(basename "$prog") does not load $lib from $libdir: $(grep -F "$lib" <<<"$loaded")"
    done
}

# check_runs DIR PORT: runs DIR/core_pair, DIR/echo_sim and DIR/socket_echo (the latter on
# loopback UDP ports PORT and PORT + 1; the installed libraries first on the path) and
# checks what they print.
check_runs() {
    local out rc=0
    out=$(LD_LIBRARY_PATH=$libdir "$1/core_pair" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] || ! grep -q '^client: hello, client$' <<<"$out" ||
        ! grep -q '^all closed after' <<<"$out"; then
        fail "core_pair did not run to its end:"
        echo "$out"
    fi
    if [ -x "$1/socket_echo" ]; then
        rc=0
        out=$(LD_LIBRARY_PATH=$libdir "$1/socket_echo" 100000 "$2" 2>&1) || rc=$?
        if [ "$rc" -ne 0 ] || ! grep -q '100000 bytes sent, 100000 bytes back, byte-exact' <<<"$out"; then
            fail "socket_echo did not get its echo back:"
            echo "$out"
        fi
    fi
    [ -x "$1/echo_sim" ] || return 0
    rc=0
    out=$(LD_LIBRARY_PATH=$libdir "$1/echo_sim" 200000 2 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] || ! grep -q '200000 bytes sent, 200000 bytes back, byte-exact' <<<"$out"; then
        fail "echo_sim did not get its echo back:"
        echo "$out"
    fi
}

case=pkg_config_shared
mkdir -p "$tmp/$case"
# shellcheck disable=SC2046 # pkg-config's output is words
run_log "$tmp/$case.log" "$cc" "${flag_list[@]}" -o "$tmp/$case/core_pair" "$src/examples/core_pair.c" \
    $(pkg-config --cflags --libs synack) &&
    needs "$tmp/$case/core_pair" libsynack.so.2
# shellcheck disable=SC2046
run_log "$tmp/$case.log" "$cc" "${flag_list[@]}" -o "$tmp/$case/echo_sim" "$src/examples/echo_sim.c" \
    "$src/examples/echo.c" $(pkg-config --cflags --libs synack-drivers) &&
    needs "$tmp/$case/echo_sim" libsynack-drivers.so.2 libsynack.so.2
# shellcheck disable=SC2046
run_log "$tmp/$case.log" "$cc" "${flag_list[@]}" -o "$tmp/$case/socket_echo" \
    "$src/examples/socket_echo.c" $(pkg-config --cflags --libs synack-socket) &&
    needs "$tmp/$case/socket_echo" libsynack-socket.so.2 libsynack-drivers.so.2 libsynack.so.2
check_runs "$tmp/$case" 47340

case=pkg_config_static
mkdir -p "$tmp/$case"
# shellcheck disable=SC2046
run_log "$tmp/$case.log" "$cc" "${flag_list[@]}" -o "$tmp/$case/core_pair" "$src/examples/core_pair.c" \
    $(pkg-config --cflags --libs-only-L synack) -Wl,-Bstatic $(pkg-config --libs-only-l synack) \
    -Wl,-Bdynamic && needs "$tmp/$case/core_pair" -
check_runs "$tmp/$case" 47342

for kind in shared static; do
    case=cmake_$kind
    opt=OFF
    [ $kind = static ] && opt=ON
    if ! run_log "$tmp/$case.log" "$cmake" -S "$src/examples" -B "$tmp/$case" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="$flags" -DEXAMPLES_STATIC=$opt ||
        ! run_log "$tmp/$case.log" "$cmake" --build "$tmp/$case"; then
        continue
    fi
    found=$(sed -n 's/^synack_DIR:[A-Z]*=//p' "$tmp/$case/CMakeCache.txt")
    [ "$found" = "$libdir/cmake/synack" ] || fail "find_package found synack in '$found', not $libdir/cmake/synack"
    if [ $kind = shared ]; then
        needs "$tmp/$case/core_pair" libsynack.so.2
        needs "$tmp/$case/echo_sim" libsynack-drivers.so.2 libsynack.so.2
        needs "$tmp/$case/socket_echo" libsynack-socket.so.2 libsynack-drivers.so.2 libsynack.so.2
    else
        needs "$tmp/$case/core_pair" -
        needs "$tmp/$case/echo_sim" -
        needs "$tmp/$case/socket_echo" -
    fi
    port=47344
    [ $kind = static ] && port=47346
    check_runs "$tmp/$case" $port
done

if [ "$fails" -ne 0 ]; then
    echo "$fails failures"
    exit 1
fi
echo "ok: installed to a temporary prefix; built and ran core_pair, echo_sim and socket_echo with pkg-config (shared, static) and find_package (shared, static)"
