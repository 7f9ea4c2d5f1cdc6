/*
 * wire: bytes <-> validated representations (reprs) for IPv4 and TCP.
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
/* The running sum of the TCP/UDP pseudo-header (RFC 9293 §3.1). */
uint32_t wire_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* ---- IPv4 (RFC 791) ---------------------------------------------------------------------- */

#define WIRE_IPV4_HDR_LEN 20
#define WIRE_IP_PROTO_ICMP 1
#define WIRE_IP_PROTO_TCP 6
#define WIRE_IP_PROTO_UDP 17

struct wire_ipv4_repr {
    uint32_t src, dst; /* host byte order */
    uint8_t proto;
    uint8_t ttl;
    uint8_t tos;
    uint16_t id;
    bool df;
    uint16_t header_len;  /* parse: IHL*4; emit: always 20 (no options emitted) */
    uint16_t payload_len; /* total length - header length */
};

/* Parses and validates an IPv4 header (version, IHL >= 5, total length against `len`,
 * header checksum, fragments). On success fills `out` and returns SYNACK_DROP_NONE;
 * bytes past the total length (link padding) are ignored. The payload starts at
 * pkt + out->header_len. Does not check protocol or destination. */
enum synack_drop wire_ipv4_parse(const uint8_t *pkt, size_t len, struct wire_ipv4_repr *out);

/* Writes a 20-byte header (checksum filled in) for `ip` into `buf` (cap >= 20). */
void wire_ipv4_emit(const struct wire_ipv4_repr *ip, uint8_t *buf);

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

/* Parses a TCP segment of `len` bytes (the IPv4 payload) from `src` to `dst`:
 * checks the header length, data offset (>= 5 and within `len`), every option's length
 * (kind 0 EOL ends the list; kind 1 NOP; length 0 or 1, or past the header, is an error;
 * known options with a wrong length are errors; unknown kinds are skipped by length),
 * the checksum with its pseudo-header, port 0, and SYN+FIN / SYN+RST.
 * Returns SYNACK_DROP_NONE and fills `out`, or the reason. */
enum synack_drop wire_tcp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
                                struct wire_tcp_repr *out);

/* Header length `tcp` will have, options included, padded to a multiple of 4 (<= 60).
 * Options are emitted in this order: MSS, SACK-permitted, timestamps, window scale, SACK
 * blocks (as many as fit in 40 option bytes), padded with NOP/EOL. */
size_t wire_tcp_header_len(const struct wire_tcp_repr *tcp);

/* Writes header, options and payload into `buf` and fills in the checksum computed with
 * the pseudo-header of (src, dst). Returns the bytes written, or 0 if `cap` is too small. */
size_t wire_tcp_emit(const struct wire_tcp_repr *tcp, uint32_t src, uint32_t dst, uint8_t *buf,
                     size_t cap);

/* ---- whole packets ----------------------------------------------------------------------- */

/* Parses an IPv4 packet carrying TCP: wire_ipv4_parse, protocol check
 * (SYNACK_DROP_IP_PROTOCOL), then wire_tcp_parse on the payload. */
enum synack_drop wire_packet_parse(const uint8_t *pkt, size_t len, struct wire_ipv4_repr *ip,
                                   struct wire_tcp_repr *tcp);

/* Writes IPv4 header + TCP segment. Sets ip->payload_len and ip->proto itself.
 * Returns the packet length, or 0 if `cap` is too small. */
size_t wire_packet_emit(struct wire_ipv4_repr *ip, const struct wire_tcp_repr *tcp, uint8_t *buf,
                        size_t cap);

/* ---- formatting -------------------------------------------------------------------------- */

/* "198.18.0.1" into out (cap >= 16). Returns out. */
char *wire_fmt_addr(char *out, size_t cap, uint32_t addr);

/* "[S.]"-style flags as tcpdump prints them: S, F, R, P, U, E, W and "." for ACK. */
size_t wire_fmt_flags(char *out, size_t cap, uint8_t flags);

/* One tcpdump-style line (no newline), e.g.
 *   198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460], length 0
 *   198.18.0.2.80 > 198.18.0.1.40000: Flags [S.], seq 7, ack 2, win 65535, options [mss
 * 1460,sackOK,TS val 1 ecr 2,nop,wscale 7], length 0 198.18.0.1.40000 > 198.18.0.2.80: Flags [P.],
 * seq 2:102, ack 8, win 65535, length 100 Sequence numbers are absolute. Always NUL-terminates;
 * returns the length written. */
size_t wire_fmt_tcp(char *out, size_t cap, const struct wire_ipv4_repr *ip,
                    const struct wire_tcp_repr *tcp);

#endif
