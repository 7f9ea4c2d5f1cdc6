#!/usr/bin/env bash
# `synack demo` as a person meets it: --help documents every option, a bad option or
# value gets a one-line error and exit status 2, --json carries every required key, and
# the text output shows the ladder, both state sequences and a matching digest.
# Usage: demo_cli.sh PATH/TO/synack
set -uo pipefail
synack=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

help=$("$synack" demo --help); rc=$?
[ $rc -eq 0 ] && ok || bad "--help exits $rc"
for o in --bytes --loss --delay --rate --queue --reroute --seed --pcap --server-closes --simultaneous-open \
         --simultaneous-close --cc --no-sack --no-timestamps --no-wscale --sndbuf --rcvbuf \
         --cwnd --quiet --json --help; do
  grep -q -- "$o" <<<"$help" && ok || bad "--help does not document $o"
done

expect_usage_error() {
  local err rc
  err=$("$synack" demo "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || { bad "'demo $*' exits $rc, not 2"; return; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { bad "'demo $*' error is not one line: $err"; return; }
  grep -q '^synack demo: ' <<<"$err" || { bad "'demo $*' error lacks the command name: $err"; return; }
  ok
}
expect_usage_error --no-such-option
expect_usage_error --bytes
expect_usage_error --bytes lots
expect_usage_error --bytes -5
expect_usage_error --loss 1.5
expect_usage_error --loss 150%
expect_usage_error --delay -1
expect_usage_error --rate 0
expect_usage_error --seed x
expect_usage_error stray-argument
expect_usage_error --server-closes --simultaneous-close
expect_usage_error --cc
expect_usage_error --cc vegas
expect_usage_error --cc CUBIC
expect_usage_error --sndbuf 0
expect_usage_error --rcvbuf big
expect_usage_error --rcvbuf 2G
expect_usage_error --queue -1
expect_usage_error --rcvbuf 1M --no-wscale
expect_usage_error --sndbuf 1
expect_usage_error --delay 60000
expect_usage_error --reroute 2
expect_usage_error --reroute x:50
expect_usage_error --reroute 0:50
expect_usage_error --reroute 2:60000
expect_usage_error --reroute 2:50ms
expect_usage_error --reroute :50
expect_usage_error --reroute 2:
expect_usage_error --scenario handshake --reroute 2:50
grep -q "60 s RTO" <<<"$("$synack" demo --delay 60000 2>&1)" && ok \
  || bad "--delay 60000 does not say why it is refused"

# A route that grows longer (--reroute): the receiver's autotuning takes the new round
# trip, says so, and fills the link again; without timestamps it cannot tell, and says
# nothing of it.
out=$("$synack" demo --quiet --bytes 160M --reroute 2:50)
grep -q "^server rcv rtt   100\.[0-9] ms, raised 1 time for a route that grew longer" <<<"$out" && ok \
  || bad "--reroute 2:50: $(grep -E 'rcv|goodput' <<<"$out")"
awk '/^goodput/ { exit !($2 >= 90) }' <<<"$out" && ok || bad "--reroute 2:50: $(grep goodput <<<"$out")"
out=$("$synack" demo --quiet --bytes 160M --reroute 2:50 --no-timestamps)
grep -q "^server rcv rtt" <<<"$out" && bad "--no-timestamps: $(grep rcv <<<"$out")" || ok
grep -q '"reroute_at_s":2.000000,"reroute_delay_s":0.050000}' \
  <<<"$("$synack" demo --json --bytes 64K --reroute 2:50)" && ok || bad "--json does not give the reroute"

# The numbers: min_rtt never above srtt, both set; the options as in effect (the default
# buffers, no queue limit as null); a run that stops early says why in one line.
json=$("$synack" demo --json --bytes 64K --loss 2% --seed 5)
srtt=$(grep -o '"srtt_s":[0-9.]*' <<<"$json" | cut -d: -f2)
minrtt=$(grep -o '"min_rtt_s":[0-9.]*' <<<"$json" | cut -d: -f2)
awk -v s="$srtt" -v m="$minrtt" 'BEGIN { exit !(m > 0 && m <= s) }' && ok \
  || bad "--json: min_rtt_s $minrtt, srtt_s $srtt"
grep -q '"sndbuf":65536,"rcvbuf":65536,"sndbuf_max":16777216,"rcvbuf_max":16777216,"queue_bytes":null' <<<"$json" && ok \
  || bad "--json options do not hold the buffers in effect: $json"
grep -q '"stopped":null' <<<"$json" && ok || bad "--json of a completed run lacks stopped null"
grep -q '"rcvbuf":65535' <<<"$("$synack" demo --json --no-wscale --bytes 1K)" && ok \
  || bad "--json --no-wscale does not report the 65535-byte receive buffer"
# Buffers fixed at 64 KiB carry 64 KiB per 58 s round trip: 10 MiB need 9,000 s (grown
# by autotuning, they finish well within the limit).
out=$("$synack" demo --quiet --delay 29000 --bytes 10M --sndbuf 64K --rcvbuf 64K); rc=$?
[ $rc -eq 1 ] && ok || bad "a run past the time limit exits $rc"
grep -q "^the transfer did NOT complete: stopped at the 3600 s simulated-time limit with [0-9]* of 10485760 bytes received" \
  <<<"$out" && ok || bad "a run past the time limit does not say so: $(tail -1 <<<"$out")"
grep -q '"stopped":"stopped at the 3600 s simulated-time limit' \
  <<<"$("$synack" demo --json --delay 29000 --bytes 10M --sndbuf 64K --rcvbuf 64K)" && ok \
  || bad "--json lacks the stop reason"
grep -q "3600 s of simulated time" <<<"$help" && ok || bad "--help does not name the time limit"
# A round trip above the initial RTO is timed (srtt set) with few timeouts: the backed-off
# RTO is kept until a sample (RFC 6298 §5).
out=$("$synack" demo --quiet --delay 5000)
grep -q "^client rtt       srtt 100[0-9][0-9]\." <<<"$out" && ok || bad "--delay 5000: $(grep rtt <<<"$out")"
grep -q "^client cwnd      [0-9]* bytes, ssthresh" <<<"$out" && ok || bad "cwnd without its unit"

# A bad controller name says which ones exist.
err=$("$synack" demo --cc vegas 2>&1 >/dev/null)
grep -q "newreno" <<<"$err" && grep -q "cubic" <<<"$err" && grep -q "'vegas'" <<<"$err" && ok \
  || bad "--cc vegas does not list the controllers: $err"

json=$("$synack" demo --json --bytes 10K --loss 2% --seed 3); rc=$?
[ $rc -eq 0 ] && ok || bad "--json run exits $rc"
[ "$(printf '%s\n' "$json" | wc -l)" -eq 1 ] && ok || bad "--json prints more than one line"
for k in bytes_sent bytes_received intact segments retransmissions sim_time_s wall_time_s states; do
  grep -q "\"$k\":" <<<"$json" && ok || bad "--json lacks $k"
done
grep -q '"bytes_sent":10240,"bytes_received":10240,"intact":true' <<<"$json" && ok \
  || bad "--json does not report 10240 bytes intact: $json"
grep -q '"client":\["CLOSED","SYN_SENT","ESTABLISHED","FIN_WAIT_1","FIN_WAIT_2","TIME_WAIT","CLOSED"\]' <<<"$json" \
  && ok || bad "--json client states wrong: $json"

text=$("$synack" demo); rc=$?
[ $rc -eq 0 ] && ok || bad "plain demo exits $rc"
for want in "handshake 1/3" "handshake 2/3" "handshake 3/3" "close 1/4" "close 4/4" \
    "client: CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED" \
    "server: CLOSED -> LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED" \
    "bytes received   65536" "MATCH"; do
  grep -qF -- "$want" <<<"$text" && ok || bad "demo output lacks '$want'"
done
grep -q "RETRANSMISSION" <<<"$("$synack" demo --loss 10% --seed 2)" && ok \
  || bad "a lossy demo marks no retransmission"
grep -q "^goodput  *[0-9.]* Mbit/s" <<<"$text" && ok || bad "demo output lacks the goodput"

# Every TCP option combination completes a lossy transfer.
for args in "--cc newreno" "--cc cubic" "--no-sack" "--no-timestamps" "--no-wscale" \
            "--cc newreno --no-sack --no-timestamps" "--sndbuf 1M --rcvbuf 1M --queue 256K"; do
  # shellcheck disable=SC2086
  out=$("$synack" demo --quiet --bytes 256K --loss 1% --seed 4 $args); rc=$?
  [ $rc -eq 0 ] && grep -q "MATCH" <<<"$out" && ok || bad "'demo $args' at 1% loss: exit $rc"
done

# --cwnd: the plot with its axes, its phase strip and the legend, within 80 columns.
plot=$("$synack" demo --quiet --cwnd --bytes 1M --loss 1% --seed 1); rc=$?
[ $rc -eq 0 ] && ok || bad "--cwnd run exits $rc"
for want in "congestion window over time" "* cwnd" "- ssthresh" "S slow start" "A congestion avoidance" "R recovery" \
    "L loss" "phase  " "time  "; do
  grep -qF -- "$want" <<<"$plot" && ok || bad "--cwnd output lacks '$want'"
done
strip=$(sed -n 's/^   phase  //p' <<<"$plot")
[[ $strip == *S*A* ]] && ok || bad "--cwnd phase strip lacks slow start then congestion avoidance: '$strip'"
wide=$(sed -n '/congestion window over time/,/phase: S/p' <<<"$plot" | awk 'length > 80')
[ -z "$wide" ] && ok || bad "--cwnd output is wider than 80 columns: $wide"
grep -q "handshake 1/3" <<<"$plot" && bad "--quiet --cwnd printed the ladder" || ok

# The new JSON keys, and the samples with --cwnd.
json=$("$synack" demo --json --bytes 64K --cc newreno --no-sack); rc=$?
[ $rc -eq 0 ] && ok || bad "--json --cc newreno exits $rc"
for k in goodput_bps transfer_time_s options client_tcp cwnd ssthresh srtt_s fast_retransmits \
         recoveries rto_expiries tlp_probes retransmits; do
  grep -q "\"$k\":" <<<"$json" && ok || bad "--json lacks $k"
done
grep -q '"options":{"cc":"newreno","sack":false,"timestamps":true' <<<"$json" && ok \
  || bad "--json options do not say newreno without SACK: $json"
grep -q '"client_tcp":{"sack":false' <<<"$json" && ok || bad "--json: SACK was negotiated: $json"
grep -q '"cwnd_samples"' <<<"$json" && bad "--json without --cwnd has samples" || ok
json=$("$synack" demo --json --cwnd --bytes 256K --loss 1%)
grep -q '"cwnd_samples":{"interval_s":[0-9.]*,"fields":\[.*\],"samples":\[\[' <<<"$json" && ok \
  || bad "--json --cwnd lacks the samples"

# The README's excerpt of `synack demo --bytes 4K` is what the command prints: each of its
# lines, in order, trailing blanks aside (the excerpt leaves some lines out).
readme="$(dirname "$0")/../../README.md"
if [ -f "$readme" ]; then
  excerpt=$(awk '/excerpt of `synack demo --bytes 4K`/ { want = 1; next }
                 want && /^```/ { if (inside) exit; inside = 1; next }
                 inside { sub(/[ \t]+$/, ""); print }' "$readme")
  actual=$("$synack" demo --bytes 4K | sed 's/[ \t]*$//')
  missing=$(awk 'NR == FNR { want[++n] = $0; next }
                 i < n && $0 == want[i + 1] { i++ }
                 END { if (i < n) print want[i + 1] }' <(printf '%s\n' "$excerpt") - <<<"$actual")
  [ -n "$excerpt" ] && [ -z "$missing" ] && ok \
    || bad "README excerpt differs from 'synack demo --bytes 4K' at: ${missing:-<no excerpt found>}"
fi

# And its --cwnd excerpt is, line for line, the plot of the command it names.
if [ -f "$readme" ]; then
  excerpt=$(awk '/slow start overshooting, then the NewReno sawtooth/ { want = 1; next }
                 want && /^```/ { if (inside) exit; inside = 1; next }
                 inside { print }' "$readme")
  actual=$("$synack" demo --quiet --cwnd --bytes 8M --loss 0.2% --cc newreno --sndbuf 1M \
    --rcvbuf 1M --seed 2 | sed -n '/congestion window over time/,/phase: S/p' | sed 's/[ \t]*$//')
  [ -n "$excerpt" ] && [ "$excerpt" = "$actual" ] && ok \
    || bad "README's --cwnd excerpt differs from the command's output: $(diff <(echo "$excerpt") <(echo "$actual") | head -5)"
fi

# And its autotuning excerpt: the buffers' lines and the goodputs it quotes.
if [ -f "$readme" ]; then
  excerpt=$(awk '/where the buffers started and ended:/ { want = 1; next }
                 want && /^```/ { if (inside) exit; inside = 1; next }
                 inside { print }' "$readme")
  actual=$("$synack" demo --delay 10 --rate 100 --bytes 50M --quiet)
  [ -n "$excerpt" ] && [ "$excerpt" = "$(grep -E '^(client sndbuf|server rcvbuf) ' <<<"$actual")" ] \
    && ok || bad "README's buffer excerpt differs from the command's: $(grep buf <<<"$actual")"
  quoted=$(grep -o 'fills the 100 Mbit/s path ([0-9.]* Mbit/s' "$readme" | grep -o '[0-9.]* Mbit/s$')
  grep -q "^goodput *${quoted% Mbit/s} Mbit/s" <<<"$actual" && ok \
    || bad "README quotes $quoted for the autotuned run: $(grep goodput <<<"$actual")"
  fixed=$("$synack" demo --delay 10 --rate 100 --bytes 50M --quiet --sndbuf 64K --rcvbuf 64K)
  quoted=$(grep -o '[0-9.]* with `--sndbuf 64K --rcvbuf 64K`' "$readme" \
    | grep -o '^[0-9.]*')
  grep -q "^goodput *$quoted Mbit/s" <<<"$fixed" && ok \
    || bad "README quotes $quoted for the fixed run: $(grep goodput <<<"$fixed")"
fi

# And its --reroute excerpt: the lines and the goodputs it quotes.
if [ -f "$readme" ]; then
  excerpt=$(awk '/--reroute 2:50` \(20 ms, then 100 ms\)/ { want = 1; next }
                 want && /^```/ { if (inside) exit; inside = 1; next }
                 inside { print }' "$readme")
  actual=$("$synack" demo --quiet --bytes 160M --reroute 2:50)
  [ -n "$excerpt" ] && [ "$excerpt" = "$(grep -E '^server (rcvbuf|rcv rtt) ' <<<"$actual")" ] \
    && ok || bad "README's --reroute excerpt differs from the command's: $(grep rcv <<<"$actual")"
  quoted=$(grep -o 'reroute 2:50` (20 ms, then 100 ms) keeps [0-9.]* Mbit/s' "$readme" | grep -o '[0-9.]* Mbit/s$')
  grep -q "^goodput *${quoted% Mbit/s} Mbit/s" <<<"$actual" && ok \
    || bad "README quotes '$quoted' for the rerouted run: $(grep goodput <<<"$actual")"
  plain=$("$synack" demo --quiet --bytes 160M --reroute 2:50 --no-timestamps)
  quoted=$(grep -o 'the goodput falls to [0-9.]*' "$readme" | grep -o '[0-9.]*$')
  grep -q "^goodput *$quoted Mbit/s" <<<"$plain" && ok \
    || bad "README quotes '$quoted' for the run without timestamps: $(grep goodput <<<"$plain")"
  quoted=$(grep -o 'the buffer stays at [0-9.]* KiB' "$readme" | grep -o '[0-9.]* KiB$')
  grep -q "^server rcvbuf .* -> $quoted " <<<"$plain" && ok \
    || bad "README quotes '$quoted' for the buffer without timestamps: $(grep rcvbuf <<<"$plain")"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
