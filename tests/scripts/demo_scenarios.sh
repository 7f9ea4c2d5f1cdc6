#!/usr/bin/env bash
# `synack demo --scenario`: the list, an unknown name (the valid ones listed, exit 2), the
# options a scenario refuses, both languages, every scenario running to exit 0 (over IPv6
# too), and the README's excerpt of `synack demo --scenario time-wait` being what the
# command prints.
# Usage: demo_scenarios.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

list=$("$synack" demo --scenario list); rc=$?
[ $rc -eq 0 ] && ok || bad "--scenario list exits $rc"
names=$(awk 'NR > 1 { print $1 }' <<<"$list")
[ "$(wc -l <<<"$names")" -ge 15 ] && ok || bad "--scenario list names too few: $names"

err=$("$synack" demo --scenario no-such 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && ok || bad "an unknown scenario exits $rc, not 2"
grep -q "no scenario 'no-such'" <<<"$err" && grep -q "time-wait" <<<"$err" && ok \
  || bad "an unknown scenario does not list the valid ones: $err"
for args in "--scenario handshake --bytes 1K" "--scenario handshake --json" \
            "--lang zh" "--scenario handshake --lang fr"; do
  # shellcheck disable=SC2086
  "$synack" demo $args >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] && ok || bad "'demo $args' exits $rc, not 2"
done

for n in $names; do
  out=$("$synack" demo --scenario "$n"); rc=$?
  [ $rc -eq 0 ] && ok || bad "--scenario $n exits $rc"
  grep -q "^$n: " <<<"$out" && ok || bad "--scenario $n prints no title"
  "$synack" demo --scenario "$n" --ipv6 --quiet >/dev/null 2>&1; rc=$?
  want=0; [ "$n" = syn-flood ] && want=2 # IPv4 only: demo_lesson_capture.sh
  [ $rc -eq $want ] && ok || bad "--scenario $n --ipv6 exits $rc, not $want"
  zh=$("$synack" demo --scenario "$n" --lang zh --quiet)
  grep -qP '[\x{4e00}-\x{9fff}]' <<<"$zh" && ok || bad "--scenario $n --lang zh prints no Chinese"
done

out=$("$synack" demo --scenario fast-retransmit)
grep -q "dup ACK #3; SACK " <<<"$out" && ok || bad "fast-retransmit shows no third dup ACK with SACK"
out=$("$synack" demo --scenario flow-control)
for want in "zero window" "window probe" "window update"; do
  grep -q "$want" <<<"$out" && ok || bad "flow-control does not show '$want'"
done
# Under --lang zh the ladder's words are Chinese (the seeds' terms), TCP's names are not.
zh_has() { # scenario, then the texts its ladder must hold
  local n=$1 out; shift
  out=$("$synack" demo --scenario "$n" --lang zh)
  for want in "$@"; do
    grep -qF -- "$want" <<<"$out" && ok || bad "--scenario $n --lang zh does not show '$want'"
  done
  grep -E '^ *[0-9]+\.[0-9]{3}  \|' <<<"$out" |
    grep -qE 'handshake [123]/3|dup ACK|RETRANSMISSION|zero window|window probe|keepalive|close [1-4]/4| client | server ' \
    && bad "--scenario $n --lang zh keeps English labels on its ladder" || ok
}
zh_has handshake "三次握手 1/3" "三次握手 2/3" "三次握手 3/3" "客户端 CLOSED -> SYN_SENT (connect)" \
  "服务器 LISTEN -> SYN_RECEIVED (收到 [S])" "标志的写法与 tcpdump 相同"
zh_has close "四次挥手 1/4" "四次挥手 2/4" "四次挥手 3/4" "四次挥手 4/4" "(应用程序关闭)"
zh_has fast-retransmit "重复确认 #3; SACK " "重传" "被丢弃(途中,该链路的第"
zh_has flow-control "零窗口" "窗口探测" "窗口更新"
zh_has keepalive "保活探测"
zh_has time-wait "在 TIME_WAIT 中发出" "2*MSL 到期"
zh_has rst "重置"

out=$("$synack" demo --simultaneous-open --bytes 0)
grep -q "RETRANSMISSION" <<<"$out" && bad "--simultaneous-open marks a retransmission" || ok
grep -q "^retransmissions  0$" <<<"$out" && ok || bad "--simultaneous-open counts retransmissions"

# The README's excerpt: each of its lines, in order, trailing blanks aside.
readme="$(dirname "$0")/../../README.md"
if [ -f "$readme" ]; then
  excerpt=$(awk '/excerpt of `synack demo --scenario time-wait`/ { want = 1; next }
                 want && /^```/ { if (inside) exit; inside = 1; next }
                 inside { sub(/[ \t]+$/, ""); print }' "$readme")
  actual=$("$synack" demo --scenario time-wait | sed 's/[ \t]*$//')
  missing=$(awk 'NR == FNR { want[++n] = $0; next }
                 i < n && $0 == want[i + 1] { i++ }
                 END { if (i < n) print want[i + 1] }' <(printf '%s\n' "$excerpt") - <<<"$actual")
  [ -n "$excerpt" ] && [ -z "$missing" ] && ok \
    || bad "README excerpt differs from 'synack demo --scenario time-wait' at: ${missing:-<no excerpt found>}"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
