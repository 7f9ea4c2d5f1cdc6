#!/usr/bin/env bash
# curl (the kernel's TCP) against `synack http` over a TUN device, inside a network
# namespace this test creates:
#   get_big        a 20 MB random file, status 200, sha256 equal
#   keepalive      four URLs in ONE curl invocation share one connection: curl's
#                  %{num_connects} per URL is 1 0 0 0 (it connected for the first only)
#   parallel       four downloads of the 20 MB file at once (curl -Z), all byte-exact
#   pipelined      three requests in one write on one connection: three answers, in order
#   not_found      404 for a missing file, and the connection stays usable after it
#   head           HEAD: 200, Content-Length of the file, nothing after the headers
#   method_not_allowed  DELETE: 405 with an Allow header
#   bad_request    a request line that is not HTTP: 400
#   no_escape      /../, %2e%2e/ and a symlink cannot reach a file outside the root
# Usage: http_curl.sh PATH/TO/synack   (SYNACK_INTEROP_HTTP_MB=N changes the 20 MB)
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC2154  # PIDs set by start_bg
source "$(dirname "$0")/lib/common.sh"
interop_init http_curl "${1:-}" curl nc

MB=${SYNACK_INTEROP_HTTP_MB:-20}
WWW=$DIR/www
mkdir -p "$WWW/sub"
random_file "$WWW/big.bin" "$MB"
echo "alpha: the first small file" >"$WWW/a.txt"
echo "beta: the second small file, a little longer than the first" >"$WWW/b.txt"
echo "<html><body>gamma</body></html>" >"$WWW/sub/c.html"
echo "SECRET-OUTSIDE-THE-ROOT" >"$DIR/secret.txt"
ln -s ../secret.txt "$WWW/link-out.txt" # a symlink that leads out of the root
URL=http://$SYNACK_IP

# curl_ns ARGS...: curl in the namespace, bounded twice (curl's own and timeout's).
curl_ns() {
    ip netns exec "$NS" timeout -k 5 "$T_XFER" curl --max-time "$T_XFER" "$@"
}

if ! http_start http "$WWW"; then
    case_begin start
    fail "synack http did not come up"
    case_end
    interop_finish
fi

case_begin get_big
http_get_file get_big big.bin "$WWW/big.bin"
case_end

case_begin keepalive
rc=0
# -w is written after each URL's transfer: the new connections that transfer needed.
connects=$(curl_ns -v -sS -w '%{num_connects}\n' -o "$DIR/ka.1" "$URL/a.txt" \
    -o "$DIR/ka.2" "$URL/b.txt" -o "$DIR/ka.3" "$URL/sub/c.html" -o "$DIR/ka.4" "$URL/a.txt" \
    2>"$DIR/ka.curl.log" | tr '\n' ' ') || rc=$?
check_rc "curl with four URLs" "$rc" "$DIR/ka.curl.log"
log "  new connections per URL: $connects"
[ "$connects" = "1 0 0 0 " ] ||
    fail "new connections per URL '$connects', expected '1 0 0 0 ' (one connection kept alive)"
check_same "GET /a.txt" "$WWW/a.txt" "$DIR/ka.1"
check_same "GET /b.txt" "$WWW/b.txt" "$DIR/ka.2"
check_same "GET /sub/c.html" "$WWW/sub/c.html" "$DIR/ka.3"
check_same "GET /a.txt again" "$WWW/a.txt" "$DIR/ka.4"
case_end

case_begin parallel
rc=0
connects=$(curl_ns -v -sS -Z --parallel-immediate --parallel-max 4 -w '%{num_connects}\n' \
    -o "$DIR/par.1" "$URL/big.bin" -o "$DIR/par.2" "$URL/big.bin" \
    -o "$DIR/par.3" "$URL/big.bin" -o "$DIR/par.4" "$URL/big.bin" 2>"$DIR/par.curl.log" |
    awk '{n += $1} END {print n + 0}') || rc=$?
check_rc "curl -Z with four downloads" "$rc" "$DIR/par.curl.log"
log "  curl opened $connects connections"
[ "$connects" -ge 2 ] || fail "curl -Z opened $connects connection(s); the downloads did not overlap"
for n in 1 2 3 4; do
    check_same "parallel GET /big.bin #$n" "$WWW/big.bin" "$DIR/par.$n"
done
case_end

case_begin pipelined
rc=0
{
    printf 'GET /a.txt HTTP/1.1\r\nHost: %s\r\n\r\n' "$SYNACK_IP"
    printf 'GET /b.txt HTTP/1.1\r\nHost: %s\r\n\r\n' "$SYNACK_IP"
    printf 'GET /sub/c.html HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$SYNACK_IP"
} >"$DIR/pipe.req"
ip netns exec "$NS" timeout -k 5 "$T_SHORT" nc -N "$SYNACK_IP" 80 <"$DIR/pipe.req" \
    >"$DIR/pipe.out" 2>"$DIR/pipe.nc.log" || rc=$?
check_rc "nc with three pipelined requests" "$rc" "$DIR/pipe.nc.log"
answers=$(grep -c '^HTTP/1.1 200' "$DIR/pipe.out")
[ "$answers" -eq 3 ] || fail "$answers answers with status 200 to three pipelined requests"
order=$(grep -o 'alpha\|beta\|gamma' "$DIR/pipe.out" | tr '\n' ' ')
[ "$order" = "alpha beta gamma " ] || fail "bodies came as '$order', expected 'alpha beta gamma '"
case_end

case_begin not_found
rc=0
# Per URL: the status and the new connections it needed.
codes=$(curl_ns -v -sS -o /dev/null -w '%{http_code}/%{num_connects}\n' "$URL/no-such-file.txt" \
    -o "$DIR/nf.2" "$URL/b.txt" 2>"$DIR/nf.curl.log" | tr '\n' ' ') || rc=$?
check_rc "curl" "$rc" "$DIR/nf.curl.log"
case $codes in
    "404/1 200/0 ") ;;
    "404/1 200/"*) fail "the connection was not kept alive after the 404 (status/new connections: '$codes')" ;;
    *) fail "status/new connections '$codes', expected '404/1 200/0 ' (missing file, then a file on the same connection)" ;;
esac
check_same "GET /b.txt after a 404" "$WWW/b.txt" "$DIR/nf.2"
case_end

case_begin head
rc=0
code=$(curl_ns -sS -I -D "$DIR/head.hdr" -o "$DIR/head.body" -w '%{http_code}' \
    "$URL/big.bin" 2>"$DIR/head.curl.log") || rc=$?
check_rc "curl -I" "$rc" "$DIR/head.curl.log"
[ "$code" = 200 ] || fail "HEAD status '$code', expected 200"
len=$(tr -d '\r' <"$DIR/head.hdr" | sed -n 's/^[Cc]ontent-[Ll]ength: *//p')
[ "$len" = "$(stat -c %s "$WWW/big.bin")" ] ||
    fail "HEAD Content-Length '$len', expected $(stat -c %s "$WWW/big.bin")"
# No body after the headers: a raw HEAD with nc, the answer ends at the blank line.
rc=0
printf 'HEAD /a.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$SYNACK_IP" |
    ip netns exec "$NS" timeout -k 5 "$T_SHORT" nc -N "$SYNACK_IP" 80 \
        >"$DIR/head.raw" 2>"$DIR/head.nc.log" || rc=$?
check_rc "nc with a HEAD request" "$rc" "$DIR/head.nc.log"
total=$(stat -c %s "$DIR/head.raw")
hdr=$(awk 'BEGIN{RS = "\r\n\r\n"} NR == 1 {print length($0) + 4; exit}' "$DIR/head.raw")
head -n 1 "$DIR/head.raw" | grep -q '^HTTP/1.1 200' || fail "raw HEAD: '$(head -n 1 "$DIR/head.raw")'"
[ "$total" -eq "$hdr" ] || fail "raw HEAD: $((total - hdr)) bytes follow the headers"
case_end

case_begin method_not_allowed
rc=0
code=$(curl_ns -sS -X DELETE -D "$DIR/m.hdr" -o /dev/null -w '%{http_code}' \
    "$URL/a.txt" 2>"$DIR/m.curl.log") || rc=$?
check_rc "curl -X DELETE" "$rc" "$DIR/m.curl.log"
[ "$code" = 405 ] || fail "DELETE status '$code', expected 405"
# RFC 9110 §15.5.6: a 405 response MUST carry an Allow header.
grep -qi '^Allow:.*GET' "$DIR/m.hdr" || fail "the 405 response has no 'Allow: ... GET' header"
[ -s "$WWW/a.txt" ] || fail "DELETE removed the file"
case_end

case_begin bad_request
rc=0
printf 'THIS IS NOT HTTP\r\n\r\n' |
    ip netns exec "$NS" timeout -k 5 "$T_SHORT" nc -N "$SYNACK_IP" 80 \
        >"$DIR/bad.out" 2>"$DIR/bad.nc.log" || rc=$?
check_rc "nc with a malformed request" "$rc" "$DIR/bad.nc.log"
first=$(head -n 1 "$DIR/bad.out" | tr -d '\r')
case $first in
    "HTTP/1.1 400"*) log "  answer: $first" ;;
    *) fail "a malformed request got '$first', expected 'HTTP/1.1 400 ...'" ;;
esac
case_end

case_begin no_escape
for path in "/../secret.txt" "/sub/../../secret.txt" "/%2e%2e/secret.txt" \
    "/sub/%2E%2E/%2e%2e/secret.txt" "/link-out.txt"; do
    rc=0
    code=$(curl_ns -sS --path-as-is -o "$DIR/esc.body" -w '%{http_code}' "$URL$path" \
        2>"$DIR/esc.curl.log") || rc=$?
    check_rc "curl $path" "$rc" "$DIR/esc.curl.log"
    case $code in
        400 | 403 | 404) log "  $path: $code" ;;
        *) fail "$path: status '$code', expected 400, 403 or 404" ;;
    esac
    if grep -q SECRET-OUTSIDE-THE-ROOT "$DIR/esc.body" 2>/dev/null; then
        fail "$path served a file outside the root"
    fi
done
case_end

case_begin still_serving
http_stop
case_end

interop_finish
