/*
 * wire: bytes <-> validated representations (reprs) for IPv4, TCP and ICMP.
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
                                       IP6_OPTION when the RFC asks for an answer */
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
 * pkt + out->header_len. Does not check protocol or destination. */
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
/* Writes the header for ip->src.family (see wire_ip_repr_header_len: for an IPv6 fragment
 * the fixed header and a Fragment header, RFC 8200 §4.5; IPv4 carries MF and the offset in
 * its own header); returns its length, or 0 when `cap` is too small or the family
 * unknown. ip->payload_len counts what follows the returned length. */
size_t wire_ip_emit(const struct wire_ip_repr *ip, uint8_t *buf, size_t cap);

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
};

/* Parses a TCP segment of `len` bytes (the IP payload) from `src` to `dst` (either family):
 * checks the header length, data offset (>= 5 and within `len`), every option's length
 * (kind 0 EOL ends the list; kind 1 NOP; length 0 or 1, or past the header, is an error;
 * known options with a wrong length are errors; unknown kinds are skipped by length),
 * the checksum with its pseudo-header, port 0, and SYN+FIN / SYN+RST.
 * Returns SYNACK_DROP_NONE and fills `out`, or the reason. */
enum synack_drop wire_tcp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                const struct synack_addr *dst, struct wire_tcp_repr *out);

/* Header length `tcp` will have, options included, padded to a multiple of 4 (<= 60).
 * Options are emitted in this order: MSS, SACK-permitted, timestamps, window scale, SACK
 * blocks (as many as fit in 40 option bytes), padded with NOP/EOL. */
size_t wire_tcp_header_len(const struct wire_tcp_repr *tcp);

/* Writes header, options and payload into `buf` and fills in the checksum computed with
 * the pseudo-header of (src, dst). Returns the bytes written, or 0 if `cap` is too small. */
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

/* The datagram an ICMP error message returns: its IPv4 header, and the first 8 bytes after
 * it (for TCP: ports and sequence number). The quoted header's checksum is not checked: a
 * router need not undo what forwarding changed in it (TTL, RFC 1812 §4.3.2.3); its total
 * length is the original's, usually more than was returned. */
struct wire_icmp_quote {
    struct synack_addr src, dst; /* IPv4 */
    uint8_t proto;
    uint16_t header_len;  /* IHL*4 */
    uint16_t total_len;   /* the Total Length field of the original datagram */
    uint16_t frag_offset; /* != 0: not a first fragment, so no transport header follows */
    uint16_t src_port, dst_port;
    uint32_t seq;             /* TCP: the sequence number of the returned segment */
    const uint8_t *transport; /* what was returned after the header (>= 8 bytes) */
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
    struct wire_icmp_quote quote;
};

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

/* ---- whole packets ----------------------------------------------------------------------- */

/* Parses an IP packet (either family) carrying a whole TCP segment: wire_ip_parse, a
 * fragment (SYNACK_DROP_IP_FRAGMENT), protocol check (SYNACK_DROP_IP_PROTOCOL), then
 * wire_tcp_parse on the payload. */
enum synack_drop wire_packet_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *ip,
                                   struct wire_tcp_repr *tcp);

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
