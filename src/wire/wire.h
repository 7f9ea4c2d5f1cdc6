/*
 * wire: bytes <-> validated representations (reprs) for IPv4, IPv6 (with its extension
 * headers), TCP, UDP, ICMP and ICMPv6.
 *
 * Parse at the edge: logic never touches raw bytes. Every parser checks lengths before
 * it reads (through the bounds-checked cursor in base/cursor.h) and returns a reason
 * (enum synack_drop) instead of asserting; the caller counts and drops.
 */
#ifndef SYNACK_WIRE_H
#define SYNACK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

/* ---- checksum (RFC 1071) -------------------------------------------------------------- */

/* Adds `len` bytes to a running one's-complement sum (odd lengths padded with zero). */
uint32_t wire_csum_add(uint32_t sum, const uint8_t *p, size_t len);
/* Folds a running sum to 16 bits and complements it. */
uint16_t wire_csum_finish(uint32_t sum);

/* The pseudo-header sum for either family: RFC 9293 §3.1 for IPv4 (addresses, zero,
 * protocol, 16-bit length), RFC 8200 §8.1 for IPv6 (addresses, 32-bit upper-layer length,
 * three zero bytes, next header). */
uint32_t wire_csum_pseudo_addr(const struct synack_addr *src, const struct synack_addr *dst,
                               uint8_t proto, uint32_t len);

/* The checksum field of a segment whose sum a link finishes (virtio 1.1 §5.1.6.2,
 * NEEDS_CSUM): the pseudo-header's sum (wire_csum_pseudo_addr), folded to 16 bits and not
 * complemented, so that summing the segment over it and complementing gives the checksum
 * (synack_checksum_complete). */
uint16_t wire_csum_partial(uint32_t pseudo_sum);

/* ---- IP, either family ------------------------------------------------------------------ */

/* What a fragment says of itself: RFC 791 §3.1 (Identification, MF, Fragment Offset) or the
 * RFC 8200 §4.5 Fragment header. */
struct wire_ip_frag {
    bool present;        /* a fragment: IPv4 MF or offset != 0; IPv6 a Fragment header */
    bool more;           /* M / MF: more fragments follow */
    uint16_t offset;     /* where this fragment's data starts in the datagram, bytes */
    uint32_t id;         /* Identification (16 bits for IPv4) */
    uint16_t unfrag_len; /* IPv6: bytes before the Fragment header (fixed header and the
                            extension headers before it); IPv4: header_len */
};

/* An ICMPv6 parameter problem an IPv6 parser asks the caller to send (RFC 8200 §4, RFC 4443
 * §3.4), pointing into the offending packet. */
struct wire_ip_problem {
    bool send;        /* answer with a parameter problem (a caller still applies the
                         RFC 4443 §2.4 (e) checks and its rate limit) */
    uint8_t code;     /* 0 erroneous header field, 1 unrecognized Next Header, 2 unrecognized
                         option */
    uint32_t pointer; /* offset of the offending byte from the start of the packet */
};

/* An IP header of either family, validated. Parsed from IPv4 (wire_ipv4_parse) or from
 * IPv6 with its extension headers walked (wire_ipv6_parse); emitted likewise. */
struct wire_ip_repr {
    struct synack_addr src, dst;
    uint8_t proto;        /* IPv4 Protocol; IPv6 the Next Header that follows the last
                             extension header walked (the upper-layer protocol) */
    uint8_t ttl;          /* TTL / Hop Limit */
    uint8_t tos;          /* TOS / Traffic Class */
    uint32_t flow_label;  /* IPv6 only (20 bits) */
    uint16_t id;          /* IPv4 Identification (emit); see frag.id for parse */
    bool df;              /* IPv4 Don't Fragment */
    uint16_t header_len;  /* bytes before the upper-layer payload: IHL*4, or 40 plus the
                             extension headers walked */
    uint16_t payload_len; /* upper-layer bytes that follow header_len */
    struct wire_ip_frag frag;
    struct wire_ip_problem problem; /* IPv6 parse: set with IP6_NEXT_HEADER, IP6_ROUTING,
                                       IP6_OPTION, and IP6_EXT_HEADER for a hop-by-hop header
                                       not first, when the RFC asks for an answer; on
                                       success, code 1 prepared (send false) for a caller
                                       that does not run `proto` (see wire_ipv6_parse) */
};

/* ---- IPv4 (RFC 791) ---------------------------------------------------------------------- */

#define WIRE_IPV4_HDR_LEN 20
#define WIRE_IP_PROTO_ICMP 1
#define WIRE_IP_PROTO_TCP 6
#define WIRE_IP_PROTO_UDP 17

/* Parses and validates an IPv4 header (version, IHL >= 5, total length against `len`,
 * header checksum). On success fills `out` (family SYNACK_AF_INET; a fragment has
 * out->frag.present with its offset, MF and Identification) and returns SYNACK_DROP_NONE;
 * bytes past the total length (link padding) are ignored. The payload starts at
 * pkt + out->header_len. Does not check protocol or destination. On failure `out` is
 * unspecified (a header whose checksum fails is described in it all the same). */
enum synack_drop wire_ipv4_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out);

/* Writes a 20-byte header (checksum filled in) for `ip` into `buf` (cap >= 20): src, dst,
 * proto, ttl, tos, id, df and payload_len; with ip->frag.present also MF and the fragment
 * offset (ip->frag.offset, a multiple of 8). */
void wire_ipv4_emit(const struct wire_ip_repr *ip, uint8_t *buf);

/* ---- IP, dispatch by version --------------------------------------------------------- */

/* The header wire_ip_emit writes for `family`: 20 (IPv4) or 40 (IPv6, no extension
 * headers); 0 for anything else. */
size_t wire_ip_header_len(enum synack_family family);
/* The header wire_ip_emit writes for `ip`: wire_ip_header_len of its family, plus the 8-byte
 * Fragment header of an IPv6 fragment (ip->frag.present). */
size_t wire_ip_repr_header_len(const struct wire_ip_repr *ip);
/* Parses an IPv4 or IPv6 header by its version nibble (SYNACK_DROP_IP_TRUNCATED when there
 * is no byte at all, SYNACK_DROP_IP_VERSION for neither 4 nor 6). */
enum synack_drop wire_ip_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out);
/* The 4-tuple of a TCP segment as its first bytes give it, for a hint and never for a
 * decision (synack_stack_input_batch loads the connection's state into the cache before the
 * packet is parsed): the addresses of the fixed header, and the ports at the start of the
 * TCP header of an IPv4 packet whose protocol is TCP and that is no later fragment, or of
 * an IPv6 packet whose first Next Header is TCP. Reads only within `len` and checks nothing
 * else (no checksum, no length field). Returns false where the bytes give no such tuple. */
bool wire_tcp_peek_tuple(const uint8_t *pkt, size_t len, struct synack_addr *src,
                         uint16_t *src_port, struct synack_addr *dst, uint16_t *dst_port);
/* Writes the header for ip->src.family (see wire_ip_repr_header_len: for an IPv6 fragment
 * the fixed header and a Fragment header, RFC 8200 §4.5; IPv4 carries MF and the offset in
 * its own header); returns its length, or 0 when `cap` is too small or the family
 * unknown. ip->payload_len counts what follows the returned length. */
size_t wire_ip_emit(const struct wire_ip_repr *ip, uint8_t *buf, size_t cap);

/* ---- IPv6 (RFC 8200) --------------------------------------------------------------------- */

#define WIRE_IPV6_HDR_LEN 40
#define WIRE_IPV6_FRAG_HDR_LEN 8
/* The extension headers the parser walks at most; a longer chain is IP6_EXT_HEADER. */
#define WIRE_IPV6_MAX_EXT_HEADERS 8

/* Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4). */
#define WIRE_IPV6_NH_HOP_BY_HOP 0
#define WIRE_IPV6_NH_ROUTING 43
#define WIRE_IPV6_NH_FRAGMENT 44
#define WIRE_IPV6_NH_ESP 50
#define WIRE_IPV6_NH_AH 51
#define WIRE_IPV6_NH_NONE 59
#define WIRE_IPV6_NH_DEST_OPTS 60
#define WIRE_IP_PROTO_ICMPV6 58

/* ICMPv6 Parameter Problem codes (RFC 4443 §3.4): what wire_ip_problem.code holds. */
#define WIRE_ICMP6_BAD_HEADER_FIELD 0
#define WIRE_ICMP6_UNKNOWN_NEXT_HEADER 1
#define WIRE_ICMP6_UNKNOWN_OPTION 2

/* True for the Next Header values of the IANA "IPv6 Extension Header Types" registry (RFC
 * 7045 §2; RFC 8200 §4): 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254. wire_ipv6_parse
 * walks 0, 43, 44 and 60; at any other value the walk stops and that value is `proto`, so a
 * caller can tell an extension header it does not run from a transport. */
bool wire_ipv6_is_ext_header(uint8_t nh);

/* Parses an IPv6 packet: the 40-byte fixed header (version 6, else IP_VERSION; Payload
 * Length within `len`, else IP6_TRUNCATED; bytes past it are link padding), then the
 * extension headers (RFC 8200 §4) up to the upper-layer protocol:
 *   - hop-by-hop options (§4.3), only directly after the fixed header (else IP6_EXT_HEADER,
 *     answered with code 1 at the Next Header that named it, §4); destination options
 *     (§4.6). Their options (§4.2): Pad1 and PadN skipped; an unknown type acts by its two
 *     high bits: 00 skip, 01 discard (IP6_OPTION), 10 discard and answer code 2 at the
 *     option type, 11 the same but answered only when the destination is not multicast.
 *   - routing (§4.4): Segments Left 0 is skipped; otherwise IP6_ROUTING answered with code 0
 *     at the Routing Type (this node forwards nothing; RFC 5095 type 0 included).
 *   - fragment (§4.5): the walk stops there, what follows is fragmentable: `frag` is filled
 *     (present, id, offset in bytes, more, unfrag_len), proto is the fragment header's Next
 *     Header, header_len ends the fragment header. An atomic fragment (offset 0, M 0, RFC
 *     6946 §4) is a whole datagram: its fragment header is skipped, frag.present is false.
 *   - No Next Header (59): IP6_NEXT_HEADER, nothing answered.
 *   - a header or an option that runs past the payload, a jumbogram (Payload Length 0 with
 *     hop-by-hop, RFC 2675: not supported), or more than WIRE_IPV6_MAX_EXT_HEADERS headers:
 *     IP6_EXT_HEADER.
 * Any other value ends the walk: it is `proto` (ESP and AH too: protocols not run here). On
 * success `problem` holds, with send false, the code 1 answer "unrecognized Next Header"
 * pointing at the Next Header field that named `proto`: a caller that does not run `proto`
 * drops with IP6_NEXT_HEADER and sends that (RFC 8200 §4). The upper-layer data is at
 * pkt + header_len, payload_len bytes. On a drop, src, dst, ttl, tos, flow_label and problem
 * are filled so that the caller can answer; problem.send says whether the RFC asks it to
 * (it still applies wire_icmp6_can_send_error and its rate limit). */
enum synack_drop wire_ipv6_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out);

/* Writes the 40-byte fixed header of `ip` into `buf` (cap >= 40): Traffic Class = tos, the
 * low 20 bits of flow_label, Payload Length = payload_len, Next Header = proto, Hop Limit =
 * ttl. */
void wire_ipv6_emit(const struct wire_ip_repr *ip, uint8_t *buf);

/* Writes an 8-byte Fragment header (RFC 8200 §4.5): `offset` in bytes (a multiple of 8; the
 * low 3 bits are not sent), M = more. Returns 8, or 0 if `cap` is too small. */
size_t wire_ipv6_frag_header_emit(uint8_t next_header, uint16_t offset, bool more, uint32_t id,
                                  uint8_t *buf, size_t cap);

/* Where the upper-layer header of the IPv6 packet whose first `len` bytes are at `pkt`
 * starts, walking the same extension headers as wire_ipv6_parse by their lengths alone (no
 * option or routing rule applied, no Payload Length check: for an ICMPv6 error's returned
 * packet, which is cut). Stops at the first other Next Header, or after a Fragment header
 * of a non-first fragment (*frag_offset != 0: no upper-layer header follows). Returns false
 * when the fixed header is not whole, its version is not 6, the chain is cut before it ends
 * or is longer than WIRE_IPV6_MAX_EXT_HEADERS; else fills *proto, *offset and *frag_offset
 * (bytes). */
bool wire_ipv6_find_upper_layer(const uint8_t *pkt, size_t len, uint8_t *proto, size_t *offset,
                                uint16_t *frag_offset);

/* ---- TCP (RFC 9293 §3.1, options RFC 9293 §3.2, RFC 7323, RFC 2018) ------------------ */

#define WIRE_TCP_FIN 0x01
#define WIRE_TCP_SYN 0x02
#define WIRE_TCP_RST 0x04
#define WIRE_TCP_PSH 0x08
#define WIRE_TCP_ACK 0x10
#define WIRE_TCP_URG 0x20
#define WIRE_TCP_ECE 0x40
#define WIRE_TCP_CWR 0x80

#define WIRE_TCP_HDR_LEN 20
#define WIRE_TCP_MAX_HDR_LEN 60
/* Where the checksum field lies in the TCP header (RFC 9293 §3.1). */
#define WIRE_TCP_OFF_CHECKSUM 16
#define WIRE_TCP_MAX_SACK 4

struct wire_tcp_sack_block {
    uint32_t left, right; /* [left, right) in sequence space */
};

struct wire_tcp_repr {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags;   /* WIRE_TCP_* */
    uint16_t window; /* as on the wire (unscaled) */
    uint16_t urgent;
    /* options */
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;
    bool sack_permitted;
    uint8_t sack_count; /* 0..WIRE_TCP_MAX_SACK */
    struct wire_tcp_sack_block sack[WIRE_TCP_MAX_SACK];
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    /* payload: parse points into the caller's buffer; emit copies from here */
    const uint8_t *payload;
    size_t payload_len;
    /* emit only (parse leaves them NULL, 0): payload in two pieces, as a ring holds it where
     * it wraps. The first payload_len - payload_wrap_len bytes come from `payload`, the
     * rest from `payload_wrap`; so a connection's send ring goes straight into the packet. */
    const uint8_t *payload_wrap;
    size_t payload_wrap_len;
    /* emit only: leave the checksum partial, the pseudo-header's sum alone in the field
     * (folded, not complemented), for a link that finishes it (SYNACK_TX_CSUM) */
    bool csum_partial;
};

/* Parses a TCP segment of `len` bytes (the IP payload) from `src` to `dst` (either family):
 * checks the header length, data offset (>= 5 and within `len`), every option's length
 * (kind 0 EOL ends the list; kind 1 NOP; length 0 or 1, or past the header, is an error;
 * known options with a wrong length are errors; unknown kinds are skipped by length),
 * the checksum with its pseudo-header, port 0, and SYN+FIN / SYN+RST.
 * Returns SYNACK_DROP_NONE and fills `out`, or the reason. */
enum synack_drop wire_tcp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                const struct synack_addr *dst, struct wire_tcp_repr *out);
/* wire_tcp_parse without computing the checksum: the link it came from vouched for it
 * (SYNACK_INPUT_CSUM_VERIFIED: the kernel verified it, or wrote the segment itself and left
 * the sum partial, virtio 1.1 §5.1.6). Every other check stays. */
enum synack_drop wire_tcp_parse_vouched(const uint8_t *seg, size_t len,
                                        const struct synack_addr *src,
                                        const struct synack_addr *dst, struct wire_tcp_repr *out);

/* Header length `tcp` will have, options included, padded to a multiple of 4 (<= 60).
 * Options are emitted in this order: MSS, SACK-permitted, timestamps, window scale, SACK
 * blocks (as many as fit in 40 option bytes), padded with NOP/EOL. */
size_t wire_tcp_header_len(const struct wire_tcp_repr *tcp);

/* Writes header, options and payload into `buf` and fills in the checksum computed with
 * the pseudo-header of (src, dst), or with tcp->csum_partial the pseudo-header's sum alone
 * (wire_csum_partial). Returns the bytes written, or 0 if `cap` is too small. */
size_t wire_tcp_emit(const struct wire_tcp_repr *tcp, const struct synack_addr *src,
                     const struct synack_addr *dst, uint8_t *buf, size_t cap);

/* ---- ICMP (RFC 792; RFC 1191 §4; RFC 1122 §3.2.2) -------------------------------------- */

#define WIRE_ICMP_HDR_LEN 8
/* RFC 792: an error message returns the Internet header of the datagram plus 64 bits of its
 * data (RFC 1812 §4.3.2.3 lets routers return more). */
#define WIRE_ICMP_QUOTE_DATA_MIN 8

/* Types (RFC 792). */
#define WIRE_ICMP_ECHO_REPLY 0
#define WIRE_ICMP_DEST_UNREACH 3
#define WIRE_ICMP_SOURCE_QUENCH 4
#define WIRE_ICMP_REDIRECT 5
#define WIRE_ICMP_ECHO_REQUEST 8
#define WIRE_ICMP_TIME_EXCEEDED 11
#define WIRE_ICMP_PARAM_PROBLEM 12

/* Destination Unreachable codes: 0-5 RFC 792, 6-12 RFC 1122 §3.2.2.1, 13-15 RFC 1812
 * §5.2.7.1. */
#define WIRE_ICMP_NET_UNREACH 0
#define WIRE_ICMP_HOST_UNREACH 1
#define WIRE_ICMP_PROTO_UNREACH 2
#define WIRE_ICMP_PORT_UNREACH 3
#define WIRE_ICMP_FRAG_NEEDED 4 /* fragmentation needed and DF set; RFC 1191 §4 next-hop MTU */
#define WIRE_ICMP_SRC_ROUTE_FAILED 5
#define WIRE_ICMP_ADMIN_PROHIBITED 13

/* The datagram an ICMP or ICMPv6 error message returns (RFC 792; RFC 4443 §2.4 (c), (d)):
 * its IP header and what the message holds of the rest, at least 8 bytes after the header
 * (for TCP: ports and sequence number). One type for both families, so that the stack hands
 * either to its transports the same way. An IPv4 quote's header checksum is not checked: a
 * router need not undo what forwarding changed in it (TTL, RFC 1812 §4.3.2.3). Its lengths
 * are the original's, usually more than was returned. */
struct wire_ip_quote {
    struct synack_addr src, dst;
    uint8_t proto;        /* the transport: IPv4 Protocol, or IPv6's upper-layer Next Header
                             found by wire_ipv6_find_upper_layer */
    uint16_t header_len;  /* where the transport header starts in the quote: IHL*4, or the
                             IPv6 header with the extension headers returned */
    uint32_t total_len;   /* the original's length: IPv4 Total Length, or 40 + the IPv6
                             Payload Length */
    uint16_t frag_offset; /* bytes; != 0: not a first fragment, so no transport header
                             follows and the ports and seq below mean nothing */
    uint16_t src_port, dst_port;
    uint32_t seq;             /* TCP: the sequence number of the returned segment */
    const uint8_t *transport; /* what was returned after header_len (>= 8 bytes) */
    size_t transport_len;
};

struct wire_icmp_repr {
    uint8_t type, code;
    uint16_t id, seq; /* echo request / reply (RFC 792) */
    uint16_t mtu;     /* destination unreachable code 4: next-hop MTU (RFC 1191 §4); 0 from an
                         old router */
    uint8_t pointer;  /* parameter problem: the octet where the error was found */
    uint32_t gateway; /* redirect: the gateway address */
    /* What follows the 8-byte header: an echo's data, or the returned datagram of an error
     * message. parse points into the caller's buffer; emit copies from here. */
    const uint8_t *data;
    size_t data_len;
    /* parse: set for error messages (destination unreachable, source quench, redirect, time
     * exceeded, parameter problem), with `quote` parsed from `data`. */
    bool is_error;
    struct wire_ip_quote quote;
};

/* The 8 bytes ICMP and ICMPv6 share (RFC 792, RFC 4443 §2.1): Type, Code, Checksum, and a
 * 32-bit word each type gives its own meaning; then the body. */
struct wire_icmp_head {
    uint8_t type, code;
    uint32_t word;       /* the second 32-bit word of the header */
    const uint8_t *body; /* what follows the 8 bytes; parse points into the message */
    size_t body_len;
};

/* Reads the shared header of a message of `len` bytes; false if shorter than 8. */
bool wire_icmp_head_parse(const uint8_t *msg, size_t len, struct wire_icmp_head *h);

/* Writes header and body, with the checksum over the message seeded with `sum` (0 for ICMP,
 * the pseudo-header for ICMPv6). Returns the length, or 0 if `cap` is too small, the body is
 * missing or the message is longer than 65535. */
size_t wire_icmp_head_emit(const struct wire_icmp_head *h, uint32_t sum, uint8_t *buf, size_t cap);

/* The first 8 bytes of a transport header returned by an error: ports (TCP and UDP alike)
 * and TCP's sequence number. False if `len` < 8. */
bool wire_icmp_quote_ports(const uint8_t *p, size_t len, uint16_t *src_port, uint16_t *dst_port,
                           uint32_t *seq);

/* True for the types that carry a returned datagram (RFC 792): 3, 4, 5, 11, 12. */
bool wire_icmp_is_error_type(uint8_t type);

/* Parses an ICMP message of `len` bytes (the IPv4 payload): at least the 8-byte header
 * (else ICMP_TRUNCATED), the checksum over the whole message (ICMP_CHECKSUM), and for error
 * types a returned IPv4 header (version 4, IHL >= 5) followed by at least 8 bytes
 * (ICMP_QUOTE). Unknown types and codes are not errors: the caller decides. Returns
 * SYNACK_DROP_NONE and fills `out`, or the reason. */
enum synack_drop wire_icmp_parse(const uint8_t *msg, size_t len, struct wire_icmp_repr *out);

/* Length of the message wire_icmp_emit writes: 8 + data_len. */
size_t wire_icmp_len(const struct wire_icmp_repr *icmp);

/* Writes the header (the second word from id/seq, mtu, pointer or gateway as the type
 * wants), then `data`, and fills in the checksum over the whole message (RFC 792). Returns
 * the bytes written, or 0 if `cap` is too small. */
size_t wire_icmp_emit(const struct wire_icmp_repr *icmp, uint8_t *buf, size_t cap);

/* Writes an IPv4 header (proto ICMP, payload_len set here) and the ICMP message. Returns the
 * packet length, or 0 if `cap` is too small. */
size_t wire_icmp_packet_emit(struct wire_ip_repr *ip, const struct wire_icmp_repr *icmp,
                             uint8_t *buf, size_t cap);

/* One tcpdump-style line for an ICMP message, e.g.
 *   198.18.0.2 > 198.18.0.1: ICMP echo request, id 7, seq 1, length 64
 *   198.18.0.9 > 198.18.0.1: ICMP 198.18.0.2 unreachable - need to frag (mtu 1280), length 36
 * Always NUL-terminates; returns the length written. */
size_t wire_fmt_icmp(char *out, size_t cap, const struct wire_ip_repr *ip,
                     const struct wire_icmp_repr *icmp);

/* ---- ICMPv6 (RFC 4443) -------------------------------------------------------------------- */

#define WIRE_ICMP6_HDR_LEN 8
/* RFC 4443 §2.4 (c): an error returns as much of the invoking packet as fits the minimum
 * IPv6 MTU (1280) with the IPv6 and ICMPv6 headers. */
/* RFC 8200 §5: every IPv6 link carries packets of 1280 octets. */
#define WIRE_IPV6_MIN_MTU 1280
#define WIRE_ICMP6_QUOTE_MAX (WIRE_IPV6_MIN_MTU - WIRE_IPV6_HDR_LEN - WIRE_ICMP6_HDR_LEN)

/* Types (RFC 4443 §2.1: below 128 errors, from 128 informational). */
#define WIRE_ICMP6_DEST_UNREACH 1
#define WIRE_ICMP6_PACKET_TOO_BIG 2
#define WIRE_ICMP6_TIME_EXCEEDED 3
#define WIRE_ICMP6_PARAM_PROBLEM 4
#define WIRE_ICMP6_ECHO_REQUEST 128
#define WIRE_ICMP6_ECHO_REPLY 129
#define WIRE_ICMP6_REDIRECT 137 /* RFC 4861 §4.5 */

/* Destination Unreachable codes (RFC 4443 §3.1). */
#define WIRE_ICMP6_NO_ROUTE 0
#define WIRE_ICMP6_ADMIN_PROHIBITED 1
#define WIRE_ICMP6_BEYOND_SCOPE 2
#define WIRE_ICMP6_ADDR_UNREACH 3
#define WIRE_ICMP6_PORT_UNREACH 4
#define WIRE_ICMP6_POLICY_FAILED 5
#define WIRE_ICMP6_REJECT_ROUTE 6

/* Time Exceeded codes (RFC 4443 §3.3). */
#define WIRE_ICMP6_HOP_LIMIT 0
#define WIRE_ICMP6_REASSEMBLY_TIME 1

struct wire_icmp6_repr {
    uint8_t type, code;
    uint16_t id, seq; /* echo request / reply (RFC 4443 §4.1, §4.2) */
    uint32_t mtu;     /* packet too big: the MTU of the next-hop link (RFC 4443 §3.2) */
    uint32_t pointer; /* parameter problem: offset of the error in the invoking packet (§3.4) */
    /* What follows the 8-byte header: an echo's data, or the returned packet of an error
     * message. parse points into the caller's buffer; emit copies from here. */
    const uint8_t *data;
    size_t data_len;
    /* parse: set for error messages (types below 128, RFC 4443 §2.1; unknown ones too, as
     * §2.4 (a) passes them to the upper layer), with `quote` parsed from `data`. */
    bool is_error;
    struct wire_ip_quote quote;
};

/* Parses an ICMPv6 message of `len` bytes (the IPv6 upper-layer data) from `src` to `dst`:
 * at least the 8-byte header (else ICMP_TRUNCATED), the checksum over the IPv6 pseudo-header
 * (Next Header 58, RFC 4443 §2.3) and the message (ICMP_CHECKSUM), and for error types a
 * returned packet with a whole fixed header (version 6) and 8 bytes after the extension
 * headers it returns (ICMP_QUOTE). Unknown types and codes are not errors: the caller
 * decides (RFC 4443 §2.4 (a), (b)). Returns SYNACK_DROP_NONE and fills `out`, or the
 * reason. */
enum synack_drop wire_icmp6_parse(const uint8_t *msg, size_t len, const struct synack_addr *src,
                                  const struct synack_addr *dst, struct wire_icmp6_repr *out);

/* Length of the message wire_icmp6_emit writes: 8 + data_len. */
size_t wire_icmp6_len(const struct wire_icmp6_repr *icmp);

/* Writes the header (the second word from id/seq, mtu or pointer as the type wants, zero
 * otherwise), then `data`, and fills in the checksum with the pseudo-header of (src, dst).
 * Returns the bytes written, or 0 if `cap` is too small. */
size_t wire_icmp6_emit(const struct wire_icmp6_repr *icmp, const struct synack_addr *src,
                       const struct synack_addr *dst, uint8_t *buf, size_t cap);

/* RFC 4443 §2.4 (e): may an ICMPv6 error of `type` and `code` answer the packet `ip` (as
 * wire_ipv6_parse filled it, on success or on a drop)? `icmp` is its ICMPv6 message when it
 * carried one that parsed, else NULL. No, when the packet:
 *   - is an ICMPv6 error or a redirect (e.1, e.2), or is ICMPv6 that did not parse (it may
 *     have been an error);
 *   - went to a multicast address (e.3), except for packet too big and parameter problem
 *     code 2 (wire_ipv6_parse asks for code 2 to a multicast destination only for option
 *     types 10xxxxxx, RFC 8200 §4.2);
 *   - came from an address that is not a single node's (e.6): unspecified, multicast,
 *     loopback, IPv4-mapped (synack_addr_is_unicast).
 * Left to the caller: link-layer multicast and broadcast (e.4, e.5), anycast sources, and
 * the rate limit (f). */
bool wire_icmp6_can_send_error(const struct wire_ip_repr *ip, const struct wire_icmp6_repr *icmp,
                               uint8_t type, uint8_t code);

/* One tcpdump-style line for an ICMPv6 message, e.g.
 *   2001:db8::2 > 2001:db8::1: ICMP6, echo request, id 7, seq 1, length 64
 *   2001:db8::9 > 2001:db8::1: ICMP6, packet too big, mtu 1280, length 1240
 * Always NUL-terminates; returns the length written. */
size_t wire_fmt_icmp6(char *out, size_t cap, const struct wire_ip_repr *ip,
                      const struct wire_icmp6_repr *icmp);

/* ---- UDP (RFC 768) ------------------------------------------------------------------------ */

#define WIRE_UDP_HDR_LEN 8
/* Byte offset of the Checksum field in the header (RFC 768). */
#define WIRE_UDP_OFF_CHECKSUM 6

struct wire_udp_repr {
    uint16_t src_port, dst_port; /* a source port of 0 means none (RFC 768) */
    /* parse points into the caller's buffer (Length - 8 bytes); emit copies from here */
    const uint8_t *payload;
    size_t payload_len;
    /* emit only: leave the checksum partial, the pseudo-header's sum alone in the field
     * (folded, not complemented), for a link that finishes it (SYNACK_TX_CSUM; never 0, so
     * never read as "no checksum") */
    bool csum_partial;
};

/* Parses a UDP datagram of `len` bytes (the IP payload) from `src` to `dst`: the 8-byte
 * header and a Length field from 8 to `len` (else UDP_TRUNCATED; bytes past Length are
 * ignored), the checksum over the pseudo-header of either family (Length as its length) and
 * the datagram (UDP_CHECKSUM). A zero checksum means "none" over IPv4 (RFC 768) and is
 * UDP_CHECKSUM over IPv6 (RFC 8200 §8.1). Ports are not judged (port 0 is the stack's
 * business). Returns SYNACK_DROP_NONE and fills `out`, or the reason. */
enum synack_drop wire_udp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                const struct synack_addr *dst, struct wire_udp_repr *out);
/* wire_udp_parse without the checksum (a zero one over IPv6 is still refused): the link
 * vouched for it, as for wire_tcp_parse_vouched. */
enum synack_drop wire_udp_parse_vouched(const uint8_t *seg, size_t len,
                                        const struct synack_addr *src,
                                        const struct synack_addr *dst, struct wire_udp_repr *out);

/* Writes header and payload and the checksum with the pseudo-header of (src, dst); a
 * computed checksum of 0 is sent as 0xffff (RFC 768, RFC 8200 §8.1). With u->csum_partial
 * the field holds the pseudo-header's sum alone (wire_csum_partial) for the link to finish
 * (synack_checksum_complete). Returns the bytes written (8 + payload_len), or 0 if `cap` is
 * too small or the datagram exceeds 65535. */
size_t wire_udp_emit(const struct wire_udp_repr *u, const struct synack_addr *src,
                     const struct synack_addr *dst, uint8_t *buf, size_t cap);

/* One tcpdump-style line for a UDP datagram of either family, e.g.
 *   198.18.0.1.5000 > 198.18.0.2.53: UDP, length 12
 * Always NUL-terminates; returns the length written. */
size_t wire_fmt_udp(char *out, size_t cap, const struct synack_addr *src,
                    const struct synack_addr *dst, const struct wire_udp_repr *udp);

/* ---- whole packets ----------------------------------------------------------------------- */

/* Parses an IP packet (either family) carrying a whole TCP segment: wire_ip_parse, a
 * fragment (SYNACK_DROP_IP_FRAGMENT), protocol check (SYNACK_DROP_IP_PROTOCOL), then
 * wire_tcp_parse on the payload. */
enum synack_drop wire_packet_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *ip,
                                   struct wire_tcp_repr *tcp);
/* wire_packet_parse for a capture file: with `checksum_ok` not NULL a wrong TCP checksum
 * does not drop the segment but sets *checksum_ok false (a host that offloads checksums
 * captures its own segments before the NIC fills them in); every other check stays. */
enum synack_drop wire_packet_parse_capture(const uint8_t *pkt, size_t len, struct wire_ip_repr *ip,
                                           struct wire_tcp_repr *tcp, bool *checksum_ok);

/* Writes the IP header for ip->src.family and the TCP segment. Sets ip->payload_len,
 * ip->proto and ip->header_len itself. Returns the packet length, or 0 if `cap` is too
 * small. */
size_t wire_packet_emit(struct wire_ip_repr *ip, const struct wire_tcp_repr *tcp, uint8_t *buf,
                        size_t cap);

/* ---- formatting -------------------------------------------------------------------------- */

/* "198.18.0.1" or "2001:db8::1" into out (synack_addr_format). Returns out. */
char *wire_fmt_addr(char *out, size_t cap, const struct synack_addr *addr);

/* "[S.]"-style flags as tcpdump prints them: S, F, R, P, U, E, W and "." for ACK. */
size_t wire_fmt_flags(char *out, size_t cap, uint8_t flags);

/* One tcpdump-style line (no newline), e.g.
 *   198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460], length 0
 *   198.18.0.2.80 > 198.18.0.1.40000: Flags [S.], seq 7, ack 2, win 65535, options [mss
 * 1460,sackOK,TS val 1 ecr 2,nop,wscale 7], length 0 198.18.0.1.40000 > 198.18.0.2.80: Flags [P.],
 * seq 2:102, ack 8, win 65535, length 100 Sequence numbers are absolute. Always NUL-terminates;
 * returns the length written. */
size_t wire_fmt_tcp(char *out, size_t cap, const struct wire_ip_repr *ip,
                    const struct wire_tcp_repr *tcp);

#endif
