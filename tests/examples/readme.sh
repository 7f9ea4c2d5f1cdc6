#!/usr/bin/env bash
# examples.readme: every code block the README introduces with a line
#   <!-- examples/FILE -->
# is that file, byte for byte, so the README shows a program that compiles and runs
# (the examples.* tests run it). Each FILE named on the command line must have its block.
# Usage: readme.sh SOURCE_DIR FILE...      (FILE relative to SOURCE_DIR, e.g. examples/core_pair.c)
set -u -o pipefail
src=$1
shift
fails=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/synack-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in "$@"; do
    # The lines between the fence after the marker and the fence that closes it.
    if ! awk -v marker="<!-- $f -->" '
        $0 == marker { state = 1; next }
        state == 1 { state = ($0 ~ /^```/) ? 2 : 0; next }
        state == 2 && /^```$/ { found = 1; exit }
        state == 2 { print }
        END { exit found ? 0 : 1 }' "$src/README.md" >"$tmp/block"; then
        echo "FAIL: README.md has no code block after a line '<!-- $f -->'"
        fails=1
    elif ! diff -u --label "README.md's copy" --label "$f" "$tmp/block" "$src/$f"; then
        echo "FAIL: README.md's copy of $f differs from the file (above): copy the file over it"
        fails=1
    else
        echo "ok: README.md shows $f as it is ($(wc -l <"$src/$f") lines)"
    fi
done
exit "$fails"
