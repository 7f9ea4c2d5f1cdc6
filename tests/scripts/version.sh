#!/usr/bin/env bash
# `synack --version` prints the version CMakeLists.txt's project() declares, and each
# command's --help ends by naming it.
# Usage: version.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

cmakelists="$(dirname "$0")/../../CMakeLists.txt"
want=$(sed -n 's/^project(synack VERSION \([0-9.]*\) .*/\1/p' "$cmakelists")
[ -n "$want" ] && ok || bad "no version in $cmakelists"
for v in --version -V version; do
  out=$("$synack" $v); rc=$?
  [ $rc -eq 0 ] && [ "$out" = "synack $want" ] && ok || bad "'synack $v' exits $rc and prints '$out'"
done
"$synack" --help | grep -q -- "--version" && ok || bad "synack --help does not mention --version"
for cmd in demo torture cat http run; do
  last=$("$synack" $cmd --help | tail -1)
  [ "$last" = "This is synack $want (\`synack --version\`)." ] && ok \
    || bad "'synack $cmd --help' does not end with the version: $last"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
