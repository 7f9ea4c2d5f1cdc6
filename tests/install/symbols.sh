#!/usr/bin/env bash
# install.symbols: the libraries a user installs export exactly the public API.
#   - libsynack.so and libsynack.a define (as global symbols) exactly the functions
#     <synack/synack.h> declares, libsynack-drivers.so and .a exactly those <synack/link.h>
#     adds, and libsynack-socket.so and .a those of <synack/socket.h>: nothing internal leaks (an internal
#     tcp_input, ring_init, ... would clash with a program's own), and nothing declared is
#     missing or hidden.
#   - the sonames are libNAME.so.MAJOR, the files libNAME.so.VERSION;
#   - libsynack.so needs libc alone; libsynack-drivers.so needs libsynack, libpcap and
#     libc; libsynack-socket.so the two others and libc (and, in a sanitized build, the
#     sanitizers' runtimes).
# The declarations are read from the headers as the compiler sees them (CC -E: no
# comments), less the static inline functions (synack_seq_lt, ...), which are not symbols.
#
# Usage: symbols.sh CC INCLUDE_DIR LIB_DIR VERSION
set -u -o pipefail
cc=$1 inc=$2 libdir=$3 version=$4
major=${version%%.*}
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# declared HEADER...: the public functions the HEADERs declare (and those they include).
declared() {
    local pre h
    pre=$(for h in "$@"; do echo "#include <synack/$h>"; done |
        "$cc" -E -P -I"$inc" -x c -) || return 1
    comm -23 <(grep -oE '\bsynack_[A-Za-z0-9_]+\(' <<<"$pre" | tr -d '(' | sort -u) \
        <(grep -oE 'static inline[^(]*\bsynack_[A-Za-z0-9_]+\(' <<<"$pre" |
            grep -oE 'synack_[A-Za-z0-9_]+\($' | tr -d '(' | sort -u)
}

# compare WHAT WANT_FILE GOT_FILE
compare() {
    local extra missing
    extra=$(comm -13 "$2" "$3")
    missing=$(comm -23 "$2" "$3")
    [ -z "$extra" ] || fail "$1 defines symbols no public header declares: $(tr '\n' ' ' <<<"$extra")"
    [ -z "$missing" ] || fail "$1 lacks functions the headers declare (are they inside the" \
        "header's #pragma GCC visibility push(default) ... pop?): $(tr '\n' ' ' <<<"$missing")"
    [ -n "$extra$missing" ] || echo "ok: $1: the $(wc -l <"$2") public functions, nothing else"
}

# needed LIB ALLOWED_REGEX: every NEEDED entry of LIB matches the regex.
needed() {
    local n bad=""
    for n in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [[ $n =~ ^($2|lib(asan|ubsan|lsan|tsan)\.so\..*)$ ]] || bad="$bad $n"
    done
    [ -z "$bad" ] || fail "$(basename "$1") needs more than it should:$bad"
    [ -n "$bad" ] || echo "ok: $(basename "$1") needs: $(readelf -d "$1" |
        sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synack-symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

declared synack.h >"$tmp/core" || fail "$cc -E cannot read synack.h"
declared synack.h link.h >"$tmp/core_drivers" || fail "$cc -E cannot read link.h"
declared synack.h link.h socket.h >"$tmp/all" || fail "$cc -E cannot read socket.h"
comm -13 "$tmp/core" "$tmp/core_drivers" >"$tmp/drivers"
comm -13 "$tmp/core_drivers" "$tmp/all" >"$tmp/socket"
# Every public header belongs to one of the three libraries.
for h in "$inc"/synack/*.h; do
    case $(basename "$h") in synack.h | link.h | socket.h) ;; *) fail "$h is in no library's list" ;; esac
done
# Sanity: the parse found the API (a broken pattern would compare two empty lists).
grep -qx synack_stack_new "$tmp/core" || fail "no synack_stack_new among synack.h's functions"
grep -qx synack_sim_new "$tmp/drivers" || fail "no synack_sim_new among link.h's functions"
grep -qx synack_socket "$tmp/socket" || fail "no synack_socket among socket.h's functions"
if grep -qx synack_seq_lt "$tmp/core"; then fail "static inline synack_seq_lt taken for a symbol"; fi

for lib in synack:core synack-drivers:drivers synack-socket:socket; do
    name=${lib%%:*} want=$tmp/${lib#*:}
    so=$libdir/lib$name.so a=$libdir/lib$name.a
    for f in "$so" "$a"; do
        [ -f "$f" ] || fail "$f does not exist"
    done
    if [ ! -f "$so" ] || [ ! -f "$a" ]; then continue; fi
    nm -D --defined-only "$so" | awk '{print $NF}' | sort -u >"$tmp/so"
    compare "lib$name.so" "$want" "$tmp/so"
    nm -g --defined-only "$a" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/a"
    compare "lib$name.a" "$want" "$tmp/a"
    soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "lib$name.so.$major" ] || fail "lib$name.so's soname is '$soname', not lib$name.so.$major"
    real=$(readlink -f "$so")
    [ "$(basename "$real")" = "lib$name.so.$version" ] ||
        fail "lib$name.so leads to $(basename "$real"), not lib$name.so.$version"
    [ -z "$soname" ] || [ "$(readlink -f "$libdir/$soname")" = "$real" ] ||
        fail "$soname does not lead to lib$name.so.$version"
done
[ -f "$libdir/libsynack.so" ] && needed "$libdir/libsynack.so" 'libc\.so\.6'
[ -f "$libdir/libsynack-drivers.so" ] &&
    needed "$libdir/libsynack-drivers.so" "libsynack\.so\.$major|libpcap\.so\..*|libc\.so\.6"
[ -f "$libdir/libsynack-socket.so" ] &&
    needed "$libdir/libsynack-socket.so" "libsynack-drivers\.so\.$major|libsynack\.so\.$major|libc\.so\.6"

[ "$fails" -eq 0 ] || exit 1
