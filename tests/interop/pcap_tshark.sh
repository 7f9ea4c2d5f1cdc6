#!/usr/bin/env bash
# The capture `synack cat --pcap` writes during a two-way transfer with the kernel is
# read by tshark with IP and TCP checksum validation on: more than zero packets, every
# one of them IPv4/TCP between the two addresses, both directions present, every
# checksum verified good, no malformed packet and no expert error.
#   clean   1 MB kernel -> synack and 5 MB synack -> kernel at the same time
#   lossy   the same with --loss 2% --reorder 1% --dup 1% (retransmissions, duplicates)
# Usage: pcap_tshark.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init pcap_tshark "${1:-}" nc ss tshark

random_file "$DIR/a" 1
random_file "$DIR/b" 5

# two_way LABEL PORT [synack options]: `synack cat -l PORT < b` and the kernel's
# `nc -N 198.18.0.2 PORT < a` send at the same time; both byte-exact, both exit 0; the
# capture is $DIR/LABEL.pcap. (The kernel is the client because OpenBSD nc -l stops
# sending as soon as the peer's FIN arrives, which would cut its data short.)
two_way() {
    local label=$1 port=$2 s_pid rc=0
    shift 2
    SYNACK_INTEROP_PCAP=1 run_opts "$label" # the capture is what this test reads
    start_bg s_pid "$T_XFER" "$SYNACK" cat -l "${RUN_OPTS[@]}" "$@" "$port" \
        <"$DIR/b" >"$DIR/$label.synack.out" 2>"$DIR/$label.synack.log"
    if ! wait_tun "$s_pid"; then
        stop_bg "$s_pid"
        return 0
    fi
    ns_timeout "$T_XFER" nc -N "$SYNACK_IP" "$port" <"$DIR/a" >"$DIR/$label.kernel.out" \
        2>"$DIR/$label.nc.log" || rc=$?
    if [ "$rc" -eq 0 ]; then
        wait_bg_within "$s_pid" 10 "synack cat -l"
    else
        stop_bg "$s_pid"
    fi
    check_rc "kernel nc" "$rc" "$DIR/$label.nc.log"
    check_rc "synack cat -l" "$WAIT_RC" "$DIR/$label.synack.log"
    check_same "kernel -> synack" "$DIR/a" "$DIR/$label.synack.out"
    check_same "synack -> kernel" "$DIR/b" "$DIR/$label.kernel.out"
    wait_tun_gone
}

# tshark_check PCAP PORT: the verdict of tshark on the capture, as described above. The
# payload on PORT is random bytes: it is decoded as plain data, or tshark's dissectors
# for whatever protocol owns that port (5000: GSM over IP) call it malformed.
tshark_check() {
    local pcap=$1 port=$2
    if [ ! -s "$pcap" ]; then
        fail "no capture at $pcap"
        return 0
    fi
    ts() {
        tshark -n -r "$pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
            -d "tcp.port==$port,data" "$@" 2>/dev/null | wc -l
    }
    local total tcp ours fwd rev syn malformed experr bad_ip bad_tcp good_ip good_tcp ffff
    total=$(ts -T fields -e frame.number)
    tcp=$(ts -Y tcp -T fields -e frame.number)
    ours=$(ts -Y "ip.addr == $SYNACK_IP && ip.addr == $SYNACK_HOST_IP" -T fields -e frame.number)
    fwd=$(ts -Y "ip.src == $SYNACK_IP" -T fields -e frame.number)
    rev=$(ts -Y "ip.src == $SYNACK_HOST_IP" -T fields -e frame.number)
    syn=$(ts -Y 'tcp.flags.syn == 1' -T fields -e frame.number)
    malformed=$(ts -Y '_ws.malformed' -T fields -e frame.number)
    experr=$(ts -Y '_ws.expert.severity == error' -T fields -e frame.number)
    bad_ip=$(ts -Y 'ip.checksum.status == "Bad"' -T fields -e frame.number)
    bad_tcp=$(ts -Y 'tcp.checksum.status == "Bad"' -T fields -e frame.number)
    good_ip=$(ts -Y 'ip.checksum.status == "Good"' -T fields -e frame.number)
    good_tcp=$(ts -Y 'tcp.checksum.status == "Good"' -T fields -e frame.number)
    # 0xffff and 0x0000 are the same number in one's complement (RFC 1624 §3); Linux
    # sometimes writes 0xffff where 0x0000 is the canonical form, and tshark calls that
    # "Bad". Allowed from the kernel only: synack must write the canonical one.
    ffff=$(ts -Y "tcp.checksum.ffff && ip.src == $SYNACK_HOST_IP" -T fields -e frame.number)
    good_tcp=$((good_tcp + ffff))
    bad_tcp=$((bad_tcp - ffff))
    log "  tshark: $total packets ($fwd from synack, $rev from the kernel), tcp $tcp, SYN $syn," \
        "checksums good ip $good_ip tcp $good_tcp (kernel 0xffff: $ffff), bad ip $bad_ip tcp $bad_tcp," \
        "malformed $malformed, expert errors $experr"
    [ "$total" -gt 0 ] || fail "tshark read no packet from $(basename "$pcap")"
    [ "$tcp" -eq "$total" ] || fail "$((total - tcp)) packets are not TCP to tshark"
    [ "$ours" -eq "$total" ] || fail "$((total - ours)) packets are not between $SYNACK_IP and $SYNACK_HOST_IP"
    { [ "$fwd" -gt 0 ] && [ "$rev" -gt 0 ]; } || fail "the capture lacks a direction"
    [ "$syn" -ge 2 ] || fail "the capture holds $syn SYN segments; the handshake has 2"
    [ "$good_ip" -eq "$total" ] || fail "only $good_ip of $total IP checksums verified good"
    [ "$good_tcp" -eq "$total" ] || fail "only $good_tcp of $total TCP checksums verified good"
    [ "$bad_ip" -eq 0 ] || fail "$bad_ip bad IP checksums"
    [ "$bad_tcp" -eq 0 ] || fail "$bad_tcp bad TCP checksums"
    [ "$malformed" -eq 0 ] || fail "$malformed malformed packets"
    [ "$experr" -eq 0 ] || fail "$experr packets with an expert error"
}

case_begin clean
two_way clean 5000
tshark_check "$DIR/clean.pcap" 5000
case_end

case_begin lossy
two_way lossy 5001 --loss 2% --reorder 1% --dup 1% --seed 21
tshark_check "$DIR/lossy.pcap" 5001
case_end

interop_finish
