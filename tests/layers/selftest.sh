#!/usr/bin/env bash
# The layering check must fail where it should (`layers.selftest`): scripts/check_layers.sh
# runs on small trees made here, one per rule, each with a single include against the
# layers (or none), and must pass or fail as expected, naming FILE:LINE and the rule.
set -uo pipefail
check=$(cd "$(dirname "$0")/../.." && pwd)/scripts/check_layers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
n=0

# put TREE PATH [INCLUDE...]: writes PATH in TREE with one #include line per INCLUDE
# ('"x.h"' or '<x.h>').
put() {
  local tree=$1 path=$2 inc
  shift 2
  mkdir -p "$(dirname "$work/$tree/$path")"
  : >"$work/$tree/$path"
  for inc in "$@"; do
    echo "#include $inc" >>"$work/$tree/$path"
  done
}

# The tree `good` keeps every rule: each layer includes what it may.
good_tree() {
  local t=good
  put "$t" include/synack/synack.h '<stdint.h>'
  put "$t" src/base/seq.h '<synack/synack.h>'
  put "$t" src/wire/wire.h '"base/seq.h"'
  put "$t" src/ip/ip.h '"wire/wire.h"' '"base/seq.h"'
  put "$t" src/tcp/conn.h '"ip/ip.h"' '"wire/wire.h"'
  put "$t" src/tcp/input.c '"tcp/conn.h"' '"conn.h"'
  put "$t" src/udp/udp.h '"ip/ip.h"'
  put "$t" src/stack/stack.h '"tcp/conn.h"' '"udp/udp.h"'
  put "$t" drivers/sim/impair.h '"synack/synack.h"'
  put "$t" drivers/sim/sim.c '"sim/impair.h"' '<stdio.h>'
  put "$t" apps/netopt.h '"sim/impair.h"'
  put "$t" apps/netcat.c '"netopt.h"'
  put "$t" tests/harness/scenario.h '"netopt.h"' '"sim/impair.h"'
  put "$t" tools/cli.h '<synack/synack.h>'
  put "$t" tools/demo.c '"cli.h"' '"scenario.h"' '"netopt.h"' '"sim/impair.h"'
  put "$t" preload/preload.h '<synack/synack.h>'
  put "$t" preload/calls.c '"preload.h"' '"netopt.h"' '"sim/impair.h"'
  put "$t" tests/common/tcpfix.h '"wire/wire.h"' # tests are not checked
}

# base_tree NAME: a fresh copy of the good tree.
base_tree() {
  rm -rf "${work:?}/$1"
  cp -R "$work/good" "$work/$1"
}

# expect NAME STATUS TREE [PATTERN...]: the check on TREE exits STATUS and prints every
# PATTERN (extended regular expressions).
expect() {
  local name=$1 status=$2 tree=$3
  shift 3
  n=$((n + 1))
  local out rc
  out=$(bash "$check" "$work/$tree" "$work/$tree/layers.allow" 2>&1)
  rc=$?
  local ok=1
  [ "$rc" -eq "$status" ] || ok=0
  local p
  for p in "$@"; do
    grep -Eq -- "$p" <<<"$out" || ok=0
  done
  if [ $ok -eq 1 ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: want exit $status and /$*/, got exit $rc:"
    sed 's/^/     /' <<<"$out"
    failed=1
  fi
}

good_tree
expect "a tree that keeps the layers passes" 0 good 'none against the layers'

# case NAME PATH INCLUDE PATTERN...: the good tree plus PATH including INCLUDE must fail.
case_fails() {
  local name=$1 path=$2 inc=$3
  shift 3
  base_tree bad
  echo "#include $inc" >>"$work/bad/$path"
  local line
  line=$(wc -l <"$work/bad/$path")
  expect "$name" 1 bad "^$path:$line: #include " "$@" 'includes against the layers'
}

case_fails "a driver includes a private header of the core" drivers/sim/sim.c '"base/seq.h"' \
  'private header of the core'
case_fails "an app includes a private header by an angle include" apps/netcat.c '<wire/wire.h>' \
  'private header of the core'
case_fails "tools include a private header of the core" tools/demo.c '"stack/stack.h"' \
  'private header of the core'
case_fails "the harness includes a private header of the core" tests/harness/scenario.h \
  '"tcp/conn.h"' 'private header of the core'
case_fails "a lower layer includes a higher one" src/wire/wire.h '"stack/stack.h"' \
  'src/wire may include only its own layer and those below it'
case_fails "ip includes tcp" src/ip/ip.h '"tcp/conn.h"' 'src/ip may include only its own layer'
case_fails "tcp includes udp (siblings)" src/tcp/input.c '"udp/udp.h"' \
  'src/tcp and src/udp are siblings'
case_fails "udp includes tcp (siblings)" src/udp/udp.h '"tcp/conn.h"' \
  'src/udp and src/tcp are siblings'
case_fails "tcp includes the stack" src/tcp/input.c '"stack/stack.h"' \
  'src/tcp may include only its own layer'
case_fails "the core includes a driver" src/stack/stack.h '"sim/impair.h"' \
  'the core \(src/\) includes only itself'
case_fails "a driver includes an app" drivers/sim/sim.c '"netopt.h"' \
  'drivers/ may not include apps/'
case_fails "a driver includes the harness" drivers/sim/sim.c '"scenario.h"' \
  'drivers/ may not include tests/harness/'
case_fails "an app includes tools" apps/netcat.c '"cli.h"' 'apps/ may not include tools/'
case_fails "an app includes the harness" apps/netcat.c '"scenario.h"' \
  'apps/ may not include tests/harness/'
case_fails "the harness includes tools" tests/harness/scenario.h '"cli.h"' \
  'tests/harness/ may not include tools/'
case_fails "tools include test code" tools/demo.c '"tcpfix.h"' \
  'tools/ may not include that directory'
case_fails "the preload library includes tools" preload/calls.c '"cli.h"' \
  'preload/ may not include tools/'
case_fails "the preload library includes the harness" preload/calls.c '"scenario.h"' \
  'preload/ may not include tests/harness/'
case_fails "the preload library includes a private header of the core" preload/calls.c \
  '"tcp/conn.h"' 'private header of the core'
case_fails "a public header includes a private one" include/synack/synack.h '"base/seq.h"' \
  'private header of the core'
case_fails "an include that names no file" apps/netcat.c '"nowhere.h"' 'names no file of the tree'

base_tree bad
put bad src/foo/foo.c '"base/seq.h"'
expect "a directory of src/ that is not a layer" 1 bad 'src/foo is not a layer this check knows'

base_tree bad
put bad tests/harness/netopt.h
expect "a name two include directories hold" 1 bad \
  '^tools/demo.c:3: #include "netopt.h": ambiguous, it names apps/netopt.h tests/harness/netopt.h'

# The exceptions file: a listed violation passes and is reported; a stale line is reported.
base_tree allowed
echo '#include "stack/stack.h"' >>"$work/allowed/src/tcp/input.c"
printf '# the known one\nsrc/tcp -> src/stack\n' >"$work/allowed/layers.allow"
expect "a violation listed in the exceptions passes, reported" 0 allowed \
  '^allowed for now \(layers.allow:2\): src/tcp -> src/stack, 1 includes: src/tcp/input.c:3'
echo '#include "udp/udp.h"' >>"$work/allowed/src/tcp/input.c"
expect "an exception covers only its own pair of directories" 1 allowed \
  '^src/tcp/input.c:4: #include "udp/udp.h" .*siblings' '^allowed for now'
base_tree stale
printf 'src/tcp -> src/stack\n' >"$work/stale/layers.allow"
expect "an exception no longer needed is reported" 0 stale \
  '^no longer needed \(layers.allow:1\): src/tcp -> src/stack'
printf 'src/tcp => src/stack\n' >"$work/stale/layers.allow"
expect "a malformed exceptions line is bad usage" 2 stale "want 'FROM-DIR -> TO-DIR'"

echo "layers.selftest: $n cases"
exit $failed
