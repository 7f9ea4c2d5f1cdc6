#!/usr/bin/env bash
# The layering check (`layers.includes` in make test): every #include of the code that
# makes up the stack and its programs points down the layers of shared/ARCHITECTURE.md.
#
#   scripts/check_layers.sh [ROOT [ALLOW]]     (ROOT: the tree, default this checkout;
#                                               ALLOW: the exceptions, ROOT/scripts/layers.allow)
#
# Checked: src/, drivers/, socket/, apps/, preload/, tools/, tests/harness/ and include/. The
# rules:
#   - include/synack/ (<synack/...> or "synack/...") is the public API: anyone may include it.
#   - Inside src/ the layers are base <- wire <- ip <- tcp, udp <- stack: a layer includes
#     its own headers and those of the layers below it; tcp and udp are siblings and do not
#     include each other. A directory of src/ that is not in this list is an error, so a
#     new layer gets its place here first.
#   - Nothing outside src/ includes a private header of the core (src/...).
#   - drivers/ and socket/ include only themselves (and the public API); apps/ also
#     drivers/ and socket/; tests/harness/ also apps/; tools/ all of them; preload/ (the
#     LD_PRELOAD library of `synack run`, a layer beside tools/) apps/, drivers/ and
#     socket/. Nobody else (tests/common, fuzz/, ...) is theirs to include.
#   - include/ includes only include/.
# A quoted include is looked for next to the including file, then in each directory the
# build puts on the include path (the list `roots` below); a name found in two of them is
# an error (the compiler would take whichever comes first). An angle-bracket include that
# names a file of the tree is checked the same way; any other is a system header.
#
# ALLOW lists the known violations still to be removed, one "FROM-DIR -> TO-DIR" a line
# (each side a directory of the tree, matching it and what is below it; # starts a
# comment). An include they cover is reported as "allowed for now", not as a failure; a
# line that no longer covers anything is reported so that it can be deleted.
#
# Exit status 0 when nothing runs against the layers; 1, naming each FILE:LINE and the
# rule, when something does; 2 for bad usage.
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
allow=${2:-$root/scripts/layers.allow}
[ -d "$root" ] || { echo "check_layers: no directory $root" >&2; exit 2; }
root=$(cd "$root" && pwd)

checked=(src drivers socket apps preload tools tests/harness include)
roots=(src drivers socket apps tests/harness tools tests/common include)
declare -A rank=([base]=0 [wire]=1 [ip]=2 [tcp]=3 [udp]=3 [stack]=4)
core_order="base <- wire <- ip <- tcp, udp <- stack"

# ---- the exceptions ----------------------------------------------------------------------

allow_from=()
allow_to=()
allow_line=()
allow_hits=()
allow_files=()
if [ -f "$allow" ]; then
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    if [[ $line =~ ^[[:space:]]*([^[:space:]]+)[[:space:]]*-\>[[:space:]]*([^[:space:]]+)[[:space:]]*$ ]]; then
      allow_from+=("${BASH_REMATCH[1]%/}")
      allow_to+=("${BASH_REMATCH[2]%/}")
      allow_line+=("$n")
      allow_hits+=(0)
      allow_files+=("")
    else
      echo "check_layers: $allow:$n: want 'FROM-DIR -> TO-DIR', not '$line'" >&2
      exit 2
    fi
  done <"$allow"
fi

# is_under DIR PREFIX: DIR is PREFIX or below it.
is_under() {
  [[ $1 == "$2" || $1 == "$2"/* ]]
}

# ---- where a file belongs ---------------------------------------------------------------

# layer_of PATH: sets `layer` to "core:NAME" (src/NAME/...), "public", "drivers", "apps",
# "harness", "tools", "preload", or "other".
layer_of() {
  case $1 in
  src/*/*)
    layer=${1#src/}
    layer="core:${layer%%/*}"
    ;;
  src/*) layer="core:." ;;
  include/*) layer=public ;;
  drivers/*) layer=drivers ;;
  socket/*) layer=socket ;;
  apps/*) layer=apps ;;
  tests/harness/*) layer=harness ;;
  tools/*) layer=tools ;;
  preload/*) layer=preload ;;
  *) layer=other ;;
  esac
}

# What each layer outside the core may include besides itself and the public API.
declare -A may_include=(
  [public]=""
  [drivers]=""
  [socket]=""
  [apps]="drivers socket"
  [harness]="apps drivers socket"
  [tools]="apps harness drivers socket"
  [preload]="apps drivers socket"
)
declare -A layer_dir=([drivers]=drivers/ [socket]=socket/ [apps]=apps/ [harness]=tests/harness/ [tools]=tools/
  [preload]=preload/ [public]=include/ [other]="")

# rule FROM-LAYER TO-LAYER: sets `why` to why FROM may not include TO, or "" when it may.
rule() {
  local from=$1 to=$2
  why=""
  [ "$to" = public ] && return
  if [[ $from == core:* ]]; then
    local a=${from#core:} b=${to#core:}
    if [[ $to != core:* ]]; then
      why="the core (src/) includes only itself and the public API (include/synack/)"
    elif [ -z "${rank[$a]+x}" ]; then
      why="src/$a is not a layer this check knows ($core_order): give it its place in scripts/check_layers.sh"
    elif [ -z "${rank[$b]+x}" ]; then
      why="src/$b is not a layer this check knows ($core_order): give it its place in scripts/check_layers.sh"
    elif [ "$a" != "$b" ] && [ "${rank[$b]}" -ge "${rank[$a]}" ]; then
      if [ "${rank[$b]}" -eq "${rank[$a]}" ]; then
        why="src/$a and src/$b are siblings and do not include each other ($core_order)"
      else
        why="src/$a may include only its own layer and those below it ($core_order)"
      fi
    fi
    return
  fi
  if [[ $to == core:* ]]; then
    why="a private header of the core: outside src/ only the public API (include/synack/) may be included"
    return
  fi
  [ "$from" = "$to" ] && return
  local ok
  for ok in ${may_include[$from]-}; do
    [ "$ok" = "$to" ] && return
  done
  local what=${layer_dir[$to]}
  [ -n "$what" ] || what="that directory"
  case $from in
  public) why="a public header includes only public headers" ;;
  drivers) why="drivers/ may not include $what (drivers <- apps <- tools; the harness uses drivers)" ;;
  socket) why="socket/ may not include $what (the socket layer uses the public API only)" ;;
  apps) why="apps/ may not include $what (apps use drivers/, socket/ and the public API only)" ;;
  harness) why="tests/harness/ may not include $what (it may use apps/ and drivers/)" ;;
  tools) why="tools/ may not include $what (it may use apps/, tests/harness/ and drivers/)" ;;
  preload) why="preload/ may not include $what (it may use apps/, drivers/ and socket/)" ;;
  esac
}

# ---- resolving an include -----------------------------------------------------------------

# tree_path PATH: sets `path` to PATH with "." and ".." segments folded.
tree_path() {
  path=$1
  [[ /$path/ == */./* || /$path/ == */../* ]] && path=$(realpath -m --relative-to="$root" "$root/$1")
}

# resolve DIR NAME QUOTE: sets `hits` to the tree's files NAME can mean (repo-relative).
resolve() {
  local dir=$1 name=$2 quote=$3 r
  hits=()
  if [ "$quote" = '"' ] && [ -f "$root/$dir/$name" ]; then
    tree_path "$dir/$name"
    hits=("$path")
    return
  fi
  for r in "${roots[@]}"; do
    if [ -f "$root/$r/$name" ]; then
      tree_path "$r/$name"
      hits+=("$path")
    fi
  done
}

# ---- the check ---------------------------------------------------------------------------

violations=0
includes=0
files=0
re='^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^">]+)[">]'
while IFS= read -r file; do
  files=$((files + 1))
  rel=${file#"$root"/}
  dir=${rel%/*}
  layer_of "$rel"
  from=$layer
  lineno=0
  while IFS= read -r text || [ -n "$text" ]; do
    lineno=$((lineno + 1))
    [[ $text =~ $re ]] || continue
    quote=${BASH_REMATCH[1]}
    name=${BASH_REMATCH[2]}
    shown="$quote$name\""
    [ "$quote" = '<' ] && shown="<$name>"
    [[ $name == synack/* ]] && { includes=$((includes + 1)); continue; }
    resolve "$dir" "$name" "$quote"
    if [ ${#hits[@]} -eq 0 ]; then
      [ "$quote" = '<' ] && continue # a system header
      echo "$rel:$lineno: #include $shown: names no file of the tree (looked next to it and in ${roots[*]})"
      violations=$((violations + 1))
      continue
    fi
    includes=$((includes + 1))
    if [ ${#hits[@]} -gt 1 ]; then
      echo "$rel:$lineno: #include $shown: ambiguous, it names ${hits[*]}: include it by a path only one of them has"
      violations=$((violations + 1))
      continue
    fi
    target=${hits[0]}
    layer_of "$target"
    rule "$from" "$layer"
    [ -z "$why" ] && continue
    to_dir=${target%/*}
    covered=-1
    for i in "${!allow_from[@]}"; do
      if is_under "$dir" "${allow_from[$i]}" && is_under "$to_dir" "${allow_to[$i]}"; then
        covered=$i
        break
      fi
    done
    if [ "$covered" -ge 0 ]; then
      allow_hits[$covered]=$((allow_hits[covered] + 1))
      allow_files[$covered]+=" $rel:$lineno"
      continue
    fi
    echo "$rel:$lineno: #include $shown ($target): $why"
    violations=$((violations + 1))
  done <"$file"
done < <(for d in "${checked[@]}"; do
  [ -d "$root/$d" ] && find "$root/$d" -type f \( -name '*.c' -o -name '*.h' \)
done | sort)

for i in "${!allow_from[@]}"; do
  where="${allow#"$root"/}:${allow_line[$i]}"
  if [ "${allow_hits[$i]}" -gt 0 ]; then
    echo "allowed for now ($where): ${allow_from[$i]} -> ${allow_to[$i]}, ${allow_hits[$i]} includes:${allow_files[$i]}"
  else
    echo "no longer needed ($where): ${allow_from[$i]} -> ${allow_to[$i]} allows nothing any more: delete the line"
  fi
done
if [ "$violations" -gt 0 ]; then
  echo "layers: $violations includes against the layers (of $includes in $files files; shared/ARCHITECTURE.md)"
  exit 1
fi
echo "layers: $includes includes in $files files, none against the layers"
