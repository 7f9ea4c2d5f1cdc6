#!/usr/bin/env bash
# The transfers of cat_kernel and http_curl again, with synack's link impaired both ways
# (--loss 2% --reorder 1% --dup 1%, fixed seeds): the kernel's TCP and synack recover,
# and every byte still arrives exactly once and in order.
#   to_kernel    synack cat -> kernel nc -l, sha256 equal, both exit 0
#   from_kernel  kernel nc -> synack cat -l, sha256 equal, both exit 0
#   http_get     curl -> synack http, a 20 MB file, sha256 equal
#   halfclose    cat_kernel's synack_halfcloses_first: synack sends 2 MB and shuts down
#                its write side in the middle of the kernel's 10 MB, both byte-exact
#   corrupt_to_kernel, corrupt_from_kernel  the cat transfers with --corrupt 1% (one bit
#                flipped in 1% of the packets each way): the kernel and synack both
#                discard what fails the IP or TCP checksum, and the data still arrives
#                byte-exact
# Usage: lossy.sh PATH/TO/synack
#   (SYNACK_INTEROP_LOSSY_MB=N changes the cat size, SYNACK_INTEROP_HTTP_MB=N the file)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init lossy "${1:-}" nc ss curl

MB=${SYNACK_INTEROP_LOSSY_MB:-${SYNACK_INTEROP_MB:-50}}
HTTP_MB=${SYNACK_INTEROP_HTTP_MB:-20}
IMPAIR=(--loss 2% --reorder 1% --dup 1%)
random_file "$DIR/big" "$MB"
mkdir -p "$DIR/www"
random_file "$DIR/www/big.bin" "$HTTP_MB"

IMPAIRED_EXPECT="lost duplicated reordered"
case_begin to_kernel
xfer_to_kernel to_kernel "$DIR/big" 5000 "${IMPAIR[@]}" --seed 11
case_end

case_begin from_kernel
xfer_from_kernel from_kernel "$DIR/big" 5001 "${IMPAIR[@]}" --seed 12
case_end

case_begin http_get
if http_start http "$DIR/www" "${IMPAIR[@]}" --seed 13; then
    http_get_file http_get big.bin "$DIR/www/big.bin"
else
    fail "synack http did not come up"
fi
http_stop
case_end

case_begin halfclose
random_file "$DIR/small" 2
random_file "$DIR/long" 10
halfclose_synack_first halfclose 5004 "$DIR/small" "$DIR/long" "${IMPAIR[@]}" --seed 16
case_end

IMPAIRED_EXPECT="corrupted"
case_begin corrupt_to_kernel
xfer_to_kernel corrupt_to "$DIR/big" 5002 --corrupt 1% --seed 14
case_end

case_begin corrupt_from_kernel
xfer_from_kernel corrupt_from "$DIR/big" 5003 --corrupt 1% --seed 15
case_end

interop_finish
