#!/usr/bin/env bash
# The capture `synack cat --pcap` writes during a two-way transfer with the kernel is
# read by tshark with IP and TCP checksum validation on (tshark_check in lib/common.sh):
# more than zero packets, every TCP one IPv4 between the two addresses, both directions
# present, every checksum verified good, no malformed packet and no expert error, nothing
# else but the IPv6 multicast the kernel sends when the device comes up. (The same over
# IPv6: ipv6.sh.)
#   clean   1 MB kernel -> synack and 5 MB synack -> kernel at the same time
#   lossy   the same with --loss 2% --reorder 1% --dup 1% (retransmissions, duplicates)
# Usage: pcap_tshark.sh PATH/TO/synack
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init pcap_tshark "${1:-}" nc ss tshark

random_file "$DIR/a" 1
random_file "$DIR/b" 5

case_begin clean
two_way clean 5000
tshark_check "$DIR/clean.pcap" 5000 "$SYNACK_IP" "$SYNACK_HOST_IP"
case_end

case_begin lossy
two_way lossy 5001 --loss 2% --reorder 1% --dup 1% --seed 21
tshark_check "$DIR/lossy.pcap" 5001 "$SYNACK_IP" "$SYNACK_HOST_IP"
case_end

interop_finish
