/* wire/ipv6.c, wire/icmpv6.c, wire/udp.c: IPv6 (RFC 8200) with its extension headers,
 * ICMPv6 (RFC 4443) and UDP (RFC 768) over both families. Known bytes worked out by hand,
 * round trips, every malformed case by its drop reason and the answer the RFC asks for, and
 * the one-line format of synack_format_packet. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <synack/synack.h>

#include "wire/wire.h"

#define ADDR_A 0xc6120001u /* 198.18.0.1 */
#define ADDR_B 0xc6120002u /* 198.18.0.2 */

/* 2001:db8::<last> */
static struct synack_addr addr6(uint8_t last)
{
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0};
    b[15] = last;
    return synack_addr_v6(b);
}

/* ff02::1, all nodes (RFC 4291 §2.7.1). */
static struct synack_addr all_nodes(void)
{
    uint8_t b[16] = {0xff, 0x02, [15] = 1};
    return synack_addr_v6(b);
}

/* ---- building packets by hand -------------------------------------------------------------- */

struct pkt {
    uint8_t b[2048];
    size_t len;
};

static void put(struct pkt *p, const void *bytes, size_t n)
{
    assert_true(p->len + n <= sizeof(p->b));
    memcpy(p->b + p->len, bytes, n);
    p->len += n;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The fixed header from 2001:db8::1 to `dst`, Next Header `nh`; pkt_done sets the length. */
static void pkt_start(struct pkt *p, uint8_t nh, const struct synack_addr *dst)
{
    struct wire_ip_repr ip = {.src = addr6(1), .dst = *dst, .proto = nh, .ttl = 64};
    p->len = 0;
    wire_ipv6_emit(&ip, p->b);
    p->len = WIRE_IPV6_HDR_LEN;
}

static void pkt_done(struct pkt *p)
{
    put_u16(p->b + 4, (uint16_t)(p->len - WIRE_IPV6_HDR_LEN));
}

/* A hop-by-hop, destination options or routing header: Next Header, Hdr Ext Len, `body`,
 * zero-filled to a multiple of 8 (zeros are Pad1 options in an options header). */
static void pkt_ext(struct pkt *p, uint8_t next, const uint8_t *body, size_t body_len)
{
    size_t len = (2 + body_len + 7) / 8 * 8;
    uint8_t hdr[256] = {next, (uint8_t)(len / 8 - 1)};
    assert_true(len <= sizeof(hdr));
    if (body_len) memcpy(hdr + 2, body, body_len);
    put(p, hdr, len);
}

static void pkt_frag(struct pkt *p, uint8_t next, uint16_t offset, bool more, uint32_t id)
{
    uint8_t hdr[8];
    assert_int_equal(wire_ipv6_frag_header_emit(next, offset, more, id, hdr, sizeof(hdr)), 8);
    put(p, hdr, sizeof(hdr));
}

/* Parses a heap copy of exactly `len` bytes, so ASan sees any read past the end. */
static enum synack_drop parse6_bytes(const uint8_t *b, size_t len, struct wire_ip_repr *ip)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, b, len);
    enum synack_drop d = wire_ipv6_parse(copy, len, ip);
    free(copy);
    return d;
}

static enum synack_drop parse6(const struct pkt *p, struct wire_ip_repr *ip)
{
    return parse6_bytes(p->b, p->len, ip);
}

/* An option header body holding one option of `type` with 2 data bytes. */
static enum synack_drop parse_with_option(uint8_t hdr_type, uint8_t type,
                                          const struct synack_addr *dst, struct wire_ip_repr *ip)
{
    struct pkt p;
    const uint8_t opts[] = {type, 2, 0xaa, 0xbb};
    pkt_start(&p, hdr_type, dst);
    pkt_ext(&p, WIRE_IP_PROTO_UDP, opts, sizeof(opts));
    put(&p, "12345678", 8);
    pkt_done(&p);
    return parse6(&p, ip);
}

/* ---- IPv6: known bytes and round trips ---------------------------------------------------- */

/* An echo request from 2001:db8::1 to 2001:db8::2, id 0x1234, seq 1, data "abcdefgh", laid
 * out by hand from RFC 8200 §3 and RFC 4443 §4.1. Traffic Class 0xab, Flow Label 0x12345.
 * Its checksum worked out by hand (RFC 4443 §2.3, RFC 8200 §8.1, RFC 1071): the pseudo-header
 * words are 0x2001 + 0x0db8 + 0x0001 (source), 0x2001 + 0x0db8 + 0x0002 (destination),
 * 0x0010 (length 16) and 0x003a (Next Header 58): 0x5bbf; the message with the field zero
 * adds 0x8000 + 0x1234 + 0x0001 + 0x6162 + 0x6364 + 0x6566 + 0x6768; the running sum folds
 * to 0x7f8a, complemented 0x8075. */
static const uint8_t echo6_bytes[] = {
    0x6a, 0xb1, 0x23, 0x45, 0x00, 0x10, 0x3a, 0x40,                            /* ver, tc, flow */
    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0x01, /* source */
    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0x02, /* destination */
    0x80, 0x00, 0x80, 0x75, 0x12, 0x34, 0x00, 0x01,                            /* ICMPv6 header */
    'a',  'b',  'c',  'd',  'e',  'f',  'g',  'h'};

static void ipv6_known_bytes_parse_rfc8200_3(void **state)
{
    (void)state;
    struct wire_ip_repr ip;
    assert_int_equal(parse6_bytes(echo6_bytes, sizeof(echo6_bytes), &ip), SYNACK_DROP_NONE);
    struct synack_addr a = addr6(1), b = addr6(2);
    assert_true(synack_addr_eq(&ip.src, &a));
    assert_true(synack_addr_eq(&ip.dst, &b));
    assert_int_equal(ip.tos, 0xab);
    assert_int_equal(ip.flow_label, 0x12345);
    assert_int_equal(ip.ttl, 64);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_ICMPV6);
    assert_int_equal(ip.header_len, 40);
    assert_int_equal(ip.payload_len, 16);
    assert_false(ip.frag.present);
    assert_false(ip.problem.send);

    /* Emitted again from the repr: the same 40 bytes. */
    uint8_t hdr[WIRE_IPV6_HDR_LEN];
    wire_ipv6_emit(&ip, hdr);
    assert_memory_equal(hdr, echo6_bytes, sizeof(hdr));
}

static void icmp6_echo_known_bytes_rfc4443(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2);
    const uint8_t *msg = echo6_bytes + WIRE_IPV6_HDR_LEN;
    struct wire_icmp6_repr m;
    assert_int_equal(wire_icmp6_parse(msg, 16, &a, &b, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP6_ECHO_REQUEST);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.id, 0x1234);
    assert_int_equal(m.seq, 1);
    assert_int_equal(m.data_len, 8);
    assert_memory_equal(m.data, "abcdefgh", 8);
    assert_false(m.is_error);

    uint8_t buf[64];
    assert_int_equal(wire_icmp6_emit(&m, &a, &b, buf, sizeof(buf)), 16);
    assert_memory_equal(buf, msg, 16);
}

static void ipv6_round_trip(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    struct wire_ip_repr ip = {.src = addr6(1),
                              .dst = addr6(2),
                              .proto = WIRE_IP_PROTO_TCP,
                              .ttl = 255,
                              .tos = 0x2e,
                              .flow_label = 0xfffff,
                              .payload_len = 20};
    wire_ipv6_emit(&ip, buf);
    struct wire_ip_repr got;
    assert_int_equal(parse6_bytes(buf, 60, &got), SYNACK_DROP_NONE);
    assert_true(synack_addr_eq(&got.src, &ip.src));
    assert_true(synack_addr_eq(&got.dst, &ip.dst));
    assert_int_equal(got.src.family, SYNACK_AF_INET6);
    assert_int_equal(got.proto, ip.proto);
    assert_int_equal(got.ttl, 255);
    assert_int_equal(got.tos, 0x2e);
    assert_int_equal(got.flow_label, 0xfffff);
    assert_int_equal(got.header_len, 40);
    assert_int_equal(got.payload_len, 20);
    /* The Flow Label is 20 bits: more is not sent into the Traffic Class. */
    ip.flow_label = 0xfff12345u;
    wire_ipv6_emit(&ip, buf);
    assert_int_equal(parse6_bytes(buf, 60, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.tos, 0x2e);
    assert_int_equal(got.flow_label, 0x12345);
}

static void ipv6_truncated_fixed_header(void **state)
{
    (void)state;
    struct wire_ip_repr ip;
    for (size_t len = 0; len < WIRE_IPV6_HDR_LEN; len++)
        assert_int_equal(parse6_bytes(echo6_bytes, len, &ip), SYNACK_DROP_IP6_TRUNCATED);
}

static void ipv6_bad_version(void **state)
{
    (void)state;
    uint8_t b[sizeof(echo6_bytes)];
    memcpy(b, echo6_bytes, sizeof(b));
    struct wire_ip_repr ip;
    for (unsigned v = 0; v < 16; v++) {
        b[0] = (uint8_t)(v << 4 | (b[0] & 0x0f));
        assert_int_equal(parse6_bytes(b, sizeof(b), &ip),
                         v == 6 ? SYNACK_DROP_NONE : SYNACK_DROP_IP_VERSION);
    }
}

/* RFC 8200 §3: Payload Length past what arrived is a lie; bytes past it are link padding. */
static void ipv6_payload_length_lies(void **state)
{
    (void)state;
    uint8_t b[sizeof(echo6_bytes) + 6];
    memcpy(b, echo6_bytes, sizeof(echo6_bytes));
    memset(b + sizeof(echo6_bytes), 0xee, 6);
    struct wire_ip_repr ip;
    /* one byte short */
    assert_int_equal(parse6_bytes(b, sizeof(echo6_bytes) - 1, &ip), SYNACK_DROP_IP6_TRUNCATED);
    put_u16(b + 4, 0xffff);
    assert_int_equal(parse6_bytes(b, sizeof(b), &ip), SYNACK_DROP_IP6_TRUNCATED);
    /* padding after the payload is not the payload's */
    put_u16(b + 4, 16);
    assert_int_equal(parse6_bytes(b, sizeof(b), &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.payload_len, 16);
    /* a shorter Payload Length cuts the upper layer short */
    put_u16(b + 4, 10);
    assert_int_equal(parse6_bytes(b, sizeof(b), &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.payload_len, 10);
}

/* ---- IPv6: extension headers ------------------------------------------------------------- */

/* RFC 8200 §4.3, §4.4, §4.6: hop-by-hop (first), destination options, routing with Segments
 * Left 0 and destination options again are walked to TCP. */
static void ipv6_extension_headers_walked_rfc8200_4(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    /* hop-by-hop: PadN of 3, Pad1, a skippable unknown option (00xxxxxx), Pad1s */
    const uint8_t hbh[] = {1, 1, 0, 0, 0x1e, 2, 0xaa, 0xbb};
    const uint8_t dest[] = {1, 4, 0, 0, 0, 0};
    const uint8_t rh[] = {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, hbh, sizeof(hbh)); /* 40..55 */
    pkt_ext(&p, WIRE_IPV6_NH_ROUTING, dest, sizeof(dest)); /* 56..63 */
    pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, rh, sizeof(rh));   /* 64..87, type 4, SL 0 */
    pkt_ext(&p, WIRE_IP_PROTO_TCP, NULL, 0);               /* 88..95 */
    put(&p, "0123456789abcdefghij", 20);
    pkt_done(&p);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(ip.header_len, 96);
    assert_int_equal(ip.payload_len, 20);
    assert_false(ip.frag.present);
    /* prepared for a caller without TCP: code 1 at the last header's Next Header (§4) */
    assert_false(ip.problem.send);
    assert_int_equal(ip.problem.code, 1);
    assert_int_equal(ip.problem.pointer, 88);
}

/* RFC 8200 §4.5: the walk stops at a fragment header; the frag fields say what it is. */
static void ipv6_fragment_header_fills_frag_rfc8200_4_5(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_FRAGMENT, NULL, 0); /* 40..47 */
    pkt_frag(&p, WIRE_IP_PROTO_UDP, 1232, true, 0xdeadbeefu);
    uint8_t data[64];
    memset(data, 0x5a, sizeof(data));
    put(&p, data, sizeof(data));
    pkt_done(&p);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_true(ip.frag.present);
    assert_true(ip.frag.more);
    assert_int_equal(ip.frag.offset, 1232);
    assert_int_equal(ip.frag.id, 0xdeadbeefu);
    assert_int_equal(ip.frag.unfrag_len, 48);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
    assert_int_equal(ip.header_len, 56);
    assert_int_equal(ip.payload_len, 64);

    /* the last fragment: M clear */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IP_PROTO_TCP, 65528, false, 7);
    put(&p, data, 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_true(ip.frag.present);
    assert_false(ip.frag.more);
    assert_int_equal(ip.frag.offset, 65528);
    assert_int_equal(ip.frag.unfrag_len, 40);
    assert_int_equal(ip.payload_len, 8);

    /* the first fragment: offset 0, M set, is a fragment too (and the walk stops) */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IPV6_NH_DEST_OPTS, 0, true, 8);
    put(&p, data, 16);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_true(ip.frag.present);
    assert_int_equal(ip.frag.offset, 0);
    assert_int_equal(ip.proto, WIRE_IPV6_NH_DEST_OPTS);
    assert_int_equal(ip.header_len, 48);
}

/* RFC 8200 §4.5 layout, by hand: Next Header, Reserved, Offset (8-octet units) | Res | M,
 * Identification. */
static void ipv6_fragment_header_emit_known_bytes(void **state)
{
    (void)state;
    uint8_t b[8];
    assert_int_equal(wire_ipv6_frag_header_emit(17, 1232, true, 0x01020304u, b, 8), 8);
    /* 1232 / 8 = 154 = 0x9a, shifted left 3: 0x04d0, | M: 0x04d1 */
    const uint8_t want[] = {17, 0, 0x04, 0xd1, 0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(b, want, 8);
    assert_int_equal(wire_ipv6_frag_header_emit(6, 8, false, 1, b, 8), 8);
    const uint8_t want2[] = {6, 0, 0x00, 0x08, 0, 0, 0, 1};
    assert_memory_equal(b, want2, 8);
    assert_int_equal(wire_ipv6_frag_header_emit(6, 8, false, 1, b, 7), 0);
}

/* RFC 6946 §4: offset 0 and M 0 is a whole datagram, processed in isolation. */
static void ipv6_atomic_fragment_is_whole_datagram_rfc6946(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IPV6_NH_DEST_OPTS, 0, false, 0x77);
    pkt_ext(&p, WIRE_IP_PROTO_UDP, NULL, 0);
    put(&p, "udpudpud", 8);
    pkt_done(&p);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_false(ip.frag.present);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
    assert_int_equal(ip.header_len, 56);
    assert_int_equal(ip.payload_len, 8);
}

static void ipv6_ext_chain_past_packet(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    struct wire_ip_repr ip;
    /* Hdr Ext Len says 32 bytes, 16 are there. */
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
    pkt_ext(&p, WIRE_IP_PROTO_TCP, NULL, 0);
    p.b[41] = 3;
    put(&p, "12345678", 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    /* The bytes are in the buffer but past Payload Length: the walk ends at Payload Length. */
    put_u16(p.b + 4, 8);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    /* One byte of a header: not even its length. */
    put_u16(p.b + 4, 1);
    assert_int_equal(parse6_bytes(p.b, 41, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    /* A fragment header cut in half. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IP_PROTO_TCP, 8, true, 1);
    p.len -= 4;
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    /* Nothing at all after a Next Header that names one. */
    pkt_start(&p, WIRE_IPV6_NH_ROUTING, &dst);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
}

/* The walk is bounded: WIRE_IPV6_MAX_EXT_HEADERS headers pass, one more is a drop. */
static void ipv6_ext_chain_too_long(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct wire_ip_repr ip;
    for (unsigned n = WIRE_IPV6_MAX_EXT_HEADERS; n <= WIRE_IPV6_MAX_EXT_HEADERS + 1; n++) {
        struct pkt p;
        pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
        for (unsigned i = 0; i < n; i++)
            pkt_ext(&p, i + 1 < n ? WIRE_IPV6_NH_DEST_OPTS : WIRE_IP_PROTO_UDP, NULL, 0);
        put(&p, "12345678", 8);
        pkt_done(&p);
        assert_int_equal(parse6(&p, &ip), n <= WIRE_IPV6_MAX_EXT_HEADERS
                                              ? SYNACK_DROP_NONE
                                              : SYNACK_DROP_IP6_EXT_HEADER);
        assert_false(ip.problem.send);
    }
}

/* RFC 8200 §4: hop-by-hop only right after the fixed header; a Next Header of 0 anywhere
 * else is answered with code 1 at that Next Header. */
static void ipv6_hop_by_hop_not_first_rfc8200_4(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_HOP_BY_HOP, NULL, 0);
    pkt_ext(&p, WIRE_IP_PROTO_UDP, NULL, 0);
    put(&p, "12345678", 8);
    pkt_done(&p);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    assert_true(ip.problem.send);
    assert_int_equal(ip.problem.code, 1);
    assert_int_equal(ip.problem.pointer, 40);
    /* src and dst are there for the answer */
    struct synack_addr src = addr6(1);
    assert_true(synack_addr_eq(&ip.src, &src));
}

/* RFC 2675: Payload Length 0 with hop-by-hop is a jumbogram, not supported. */
static void ipv6_jumbogram_not_supported(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    const uint8_t jumbo[] = {0xc2, 4, 0, 1, 0, 0};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IP_PROTO_UDP, jumbo, sizeof(jumbo));
    put(&p, "12345678", 8);
    put_u16(p.b + 4, 0);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    assert_false(ip.problem.send);
    /* Payload Length 0 is fine otherwise: an empty payload. */
    pkt_start(&p, WIRE_IP_PROTO_UDP, &dst);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.payload_len, 0);
}

/* RFC 8200 §4.2: an unknown option type whose two high bits are 00 is skipped, in either
 * options header. */
static void ipv6_option_action_00_skips(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct wire_ip_repr ip;
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_HOP_BY_HOP, 0x3e, &dst, &ip), SYNACK_DROP_NONE);
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_DEST_OPTS, 0x05, &dst, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
}

/* 01: discard, nothing answered. */
static void ipv6_option_action_01_discards_silently(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2), mc = all_nodes();
    struct wire_ip_repr ip;
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_HOP_BY_HOP, 0x41, &dst, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_false(ip.problem.send);
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_DEST_OPTS, 0x7f, &mc, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_false(ip.problem.send);
}

/* 10: discard and answer code 2 at the option type, multicast destination or not. */
static void ipv6_option_action_10_answers_even_multicast(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2), mc = all_nodes();
    struct wire_ip_repr ip;
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_HOP_BY_HOP, 0x80, &dst, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_true(ip.problem.send);
    assert_int_equal(ip.problem.code, 2);
    assert_int_equal(ip.problem.pointer, 42);
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_DEST_OPTS, 0xbf, &mc, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_true(ip.problem.send);
    assert_int_equal(ip.problem.code, 2);
    assert_int_equal(ip.problem.pointer, 42);
}

/* 11: discard; answer code 2 only when the destination is not multicast. */
static void ipv6_option_action_11_answers_only_unicast(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2), mc = all_nodes();
    struct wire_ip_repr ip;
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_DEST_OPTS, 0xc9, &dst, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_true(ip.problem.send);
    assert_int_equal(ip.problem.code, 2);
    assert_int_equal(ip.problem.pointer, 42);
    assert_int_equal(parse_with_option(WIRE_IPV6_NH_HOP_BY_HOP, 0xc9, &mc, &ip),
                     SYNACK_DROP_IP6_OPTION);
    assert_false(ip.problem.send);
}

/* The pointer names the unknown option where it stands, after the options before it. */
static void ipv6_option_pointer_after_padding(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    const uint8_t opts[] = {0, 1, 2, 0, 0, 0x1e, 0, 0x80, 0};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, NULL, 0);
    pkt_ext(&p, WIRE_IP_PROTO_TCP, opts, sizeof(opts)); /* at 48 */
    put(&p, "12345678", 8);
    pkt_done(&p);
    struct wire_ip_repr ip;
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_OPTION);
    assert_int_equal(ip.problem.pointer, 48 + 2 + 7);
}

/* An option that runs past its header. */
static void ipv6_option_past_header(void **state)
{
    (void)state;
    struct pkt p;
    struct synack_addr dst = addr6(2);
    struct wire_ip_repr ip;
    /* PadN of 10 in a 6-byte option area */
    const uint8_t padn[] = {1, 10, 0, 0, 0, 0};
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
    pkt_ext(&p, WIRE_IP_PROTO_TCP, padn, sizeof(padn));
    put(&p, "12345678", 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
    /* a type byte last, with no length byte */
    const uint8_t last[] = {0, 0, 0, 0, 0, 0x1e};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IP_PROTO_TCP, last, sizeof(last));
    put(&p, "12345678", 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_EXT_HEADER);
}

/* RFC 8200 §4.4: Segments Left 0: ignored, whatever the type (RFC 5095 type 0 too). */
static void ipv6_routing_segments_left_zero_skipped_rfc8200_4_4(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    for (unsigned type = 0; type < 256; type += 85) {
        struct pkt p;
        const uint8_t rh[] = {(uint8_t)type, 0, 0, 0, 0, 0};
        pkt_start(&p, WIRE_IPV6_NH_ROUTING, &dst);
        pkt_ext(&p, WIRE_IP_PROTO_UDP, rh, sizeof(rh));
        put(&p, "12345678", 8);
        pkt_done(&p);
        struct wire_ip_repr ip;
        assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
        assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
        assert_int_equal(ip.header_len, 48);
    }
}

/* RFC 8200 §4.4, RFC 5095 §3: Segments Left != 0 at a node that forwards nothing: discard,
 * parameter problem code 0 at the Routing Type. */
static void ipv6_routing_segments_left_answered_rfc5095(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    const uint8_t types[] = {0, 2, 3, 4, 253};
    for (size_t i = 0; i < sizeof(types); i++) {
        struct pkt p;
        uint8_t rh[22] = {types[i], 1};
        pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
        pkt_ext(&p, WIRE_IPV6_NH_ROUTING, NULL, 0);
        pkt_ext(&p, WIRE_IP_PROTO_UDP, rh, sizeof(rh)); /* at 48 */
        put(&p, "12345678", 8);
        pkt_done(&p);
        struct wire_ip_repr ip;
        assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_ROUTING);
        assert_true(ip.problem.send);
        assert_int_equal(ip.problem.code, 0);
        assert_int_equal(ip.problem.pointer, 48 + 2);
    }
}

/* RFC 8200 §4: an unrecognized Next Header is the caller's to answer, code 1 at the field
 * that named it; ESP and AH are protocols this stack does not run. */
static void ipv6_unknown_next_header_problem_pointer_rfc8200_4(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    struct wire_ip_repr ip;
    pkt_start(&p, 132, &dst); /* SCTP */
    put(&p, "12345678", 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.proto, 132);
    assert_false(ip.problem.send);
    assert_int_equal(ip.problem.code, 1);
    assert_int_equal(ip.problem.pointer, 6);

    const uint8_t others[] = {WIRE_IPV6_NH_ESP, WIRE_IPV6_NH_AH, 135, 253};
    for (size_t i = 0; i < sizeof(others); i++) {
        pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
        pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, NULL, 0);
        pkt_ext(&p, others[i], NULL, 0); /* at 48 */
        put(&p, "12345678", 8);
        pkt_done(&p);
        assert_int_equal(parse6(&p, &ip), SYNACK_DROP_NONE);
        assert_int_equal(ip.proto, others[i]);
        assert_int_equal(ip.header_len, 56);
        assert_int_equal(ip.problem.code, 1);
        assert_int_equal(ip.problem.pointer, 48);
        assert_true(wire_ipv6_is_ext_header(others[i]));
    }
    assert_true(wire_ipv6_is_ext_header(WIRE_IPV6_NH_HOP_BY_HOP));
    assert_true(wire_ipv6_is_ext_header(WIRE_IPV6_NH_FRAGMENT));
    assert_false(wire_ipv6_is_ext_header(WIRE_IP_PROTO_TCP));
    assert_false(wire_ipv6_is_ext_header(WIRE_IP_PROTO_UDP));
    assert_false(wire_ipv6_is_ext_header(WIRE_IP_PROTO_ICMPV6));
    assert_false(wire_ipv6_is_ext_header(WIRE_IPV6_NH_NONE));
}

/* RFC 8200 §4: No Next Header: nothing follows; dropped without an answer. */
static void ipv6_no_next_header(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    struct wire_ip_repr ip;
    pkt_start(&p, WIRE_IPV6_NH_NONE, &dst);
    put(&p, "ignored!", 8);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_NEXT_HEADER);
    assert_false(ip.problem.send);
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_NONE, NULL, 0);
    pkt_done(&p);
    assert_int_equal(parse6(&p, &ip), SYNACK_DROP_IP6_NEXT_HEADER);
    assert_false(ip.problem.send);
}

/* A chain of every walked header, its Payload Length set to each cut in turn: inside a
 * header it is IP6_EXT_HEADER, past the last one it parses; never a read past the end. */
static void ipv6_truncated_at_every_length(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    const uint8_t opts[] = {1, 2, 0, 0, 0x05, 0};
    const uint8_t rh[] = {0, 0, 0, 0, 0, 0};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_ROUTING, opts, sizeof(opts));
    pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, rh, sizeof(rh));
    pkt_ext(&p, WIRE_IPV6_NH_FRAGMENT, opts, sizeof(opts));
    pkt_frag(&p, WIRE_IP_PROTO_TCP, 0, false, 9);
    size_t chain_end = p.len;
    put(&p, "0123456789abcdefghij", 20);
    pkt_done(&p);
    for (size_t cut = WIRE_IPV6_HDR_LEN; cut <= p.len; cut++) {
        struct pkt q = p;
        q.len = cut;
        pkt_done(&q);
        struct wire_ip_repr ip;
        enum synack_drop d = parse6(&q, &ip);
        if (cut == WIRE_IPV6_HDR_LEN) {
            assert_int_equal(d, SYNACK_DROP_IP6_EXT_HEADER); /* the jumbogram case */
        } else if (cut < chain_end) {
            assert_int_equal(d, SYNACK_DROP_IP6_EXT_HEADER);
        } else {
            assert_int_equal(d, SYNACK_DROP_NONE);
            assert_int_equal(ip.header_len, chain_end);
            assert_int_equal(ip.payload_len, cut - chain_end);
        }
    }
}

/* Random damage to a valid chain: every outcome is a drop reason or a parse whose lengths
 * fit the packet; synack_format_packet copes with all of them. */
static void ipv6_random_corruption_no_crash(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    const uint8_t opts[] = {1, 2, 0, 0, 0x05, 0};
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_DEST_OPTS, opts, sizeof(opts));
    pkt_ext(&p, WIRE_IPV6_NH_ROUTING, opts, sizeof(opts));
    pkt_ext(&p, WIRE_IPV6_NH_FRAGMENT, NULL, 0);
    pkt_frag(&p, WIRE_IP_PROTO_ICMPV6, 0, false, 9);
    put(&p, echo6_bytes + 40, 16);
    pkt_done(&p);
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        struct pkt q = p;
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            q.b[(seed >> 8) % q.len] = (uint8_t)(seed >> 20);
        }
        seed = seed * 1103515245u + 12345u;
        q.len -= (seed >> 16) % 8;
        struct wire_ip_repr ip;
        if (parse6(&q, &ip) == SYNACK_DROP_NONE)
            assert_true((size_t)ip.header_len + ip.payload_len <= q.len);
        char line[256];
        synack_format_packet(line, sizeof(line), q.b, q.len);
    }
}

static void ipv6_find_upper_layer_for_quotes(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    uint8_t proto;
    size_t offset;
    uint16_t frag_offset;
    pkt_start(&p, WIRE_IPV6_NH_HOP_BY_HOP, &dst);
    pkt_ext(&p, WIRE_IPV6_NH_FRAGMENT, NULL, 0);
    pkt_frag(&p, WIRE_IP_PROTO_TCP, 0, true, 1);
    put(&p, "01234567", 8);
    pkt_done(&p);
    /* the first fragment: its upper-layer header follows the fragment header */
    assert_true(wire_ipv6_find_upper_layer(p.b, p.len, &proto, &offset, &frag_offset));
    assert_int_equal(proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(offset, 56);
    assert_int_equal(frag_offset, 0);
    /* Payload Length is not looked at: a quote is cut anyway */
    put_u16(p.b + 4, 1000);
    assert_true(wire_ipv6_find_upper_layer(p.b, 56, &proto, &offset, &frag_offset));
    /* cut inside the chain */
    assert_false(wire_ipv6_find_upper_layer(p.b, 55, &proto, &offset, &frag_offset));
    assert_false(wire_ipv6_find_upper_layer(p.b, 39, &proto, &offset, &frag_offset));
    /* a later fragment: the walk stops at its fragment header */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IPV6_NH_DEST_OPTS, 1448, true, 1);
    put(&p, "01234567", 8);
    assert_true(wire_ipv6_find_upper_layer(p.b, p.len, &proto, &offset, &frag_offset));
    assert_int_equal(proto, WIRE_IPV6_NH_DEST_OPTS);
    assert_int_equal(offset, 48);
    assert_int_equal(frag_offset, 1448);
    /* not IPv6 */
    p.b[0] = 0x45;
    assert_false(wire_ipv6_find_upper_layer(p.b, p.len, &proto, &offset, &frag_offset));
}

/* ---- ICMPv6 -------------------------------------------------------------------------------- */

/* Emits `m` from `src` to `dst` and parses it back. */
static struct wire_icmp6_repr icmp6_round_trip(const struct wire_icmp6_repr *m,
                                               const struct synack_addr *src,
                                               const struct synack_addr *dst)
{
    static uint8_t buf[1500];
    size_t n = wire_icmp6_emit(m, src, dst, buf, sizeof(buf));
    assert_int_equal(n, WIRE_ICMP6_HDR_LEN + m->data_len);
    assert_int_equal(n, wire_icmp6_len(m));
    struct wire_icmp6_repr got;
    assert_int_equal(wire_icmp6_parse(buf, n, src, dst, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.type, m->type);
    assert_int_equal(got.code, m->code);
    assert_int_equal(got.data_len, m->data_len);
    if (m->data_len) assert_memory_equal(got.data, m->data, m->data_len);
    return got;
}

/* The invoking packet of an error: TCP 2001:db8::2.40000 > 2001:db8::9.80, seq `seq`,
 * behind a destination options header, cut to `keep` bytes. */
static size_t invoking_tcp(uint8_t *out, size_t keep, uint32_t seq)
{
    struct pkt p;
    struct synack_addr far = addr6(9);
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &far);
    p.b[23] = 2; /* source 2001:db8::2 */
    pkt_ext(&p, WIRE_IP_PROTO_TCP, NULL, 0);
    uint8_t tcp[20] = {40000 >> 8,
                       40000 & 0xff,
                       0,
                       80,
                       (uint8_t)(seq >> 24),
                       (uint8_t)(seq >> 16),
                       (uint8_t)(seq >> 8),
                       (uint8_t)seq,
                       0,
                       0,
                       0,
                       0,
                       0x50,
                       0x02};
    put(&p, tcp, sizeof(tcp));
    pkt_done(&p);
    if (keep > p.len) keep = p.len;
    memcpy(out, p.b, keep);
    return keep;
}

static void icmp6_each_type_round_trips(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), r = addr6(0xfe);
    uint8_t quote[128];
    size_t qlen = invoking_tcp(quote, sizeof(quote), 1000);

    struct wire_icmp6_repr m = {.type = WIRE_ICMP6_ECHO_REPLY,
                                .id = 7,
                                .seq = 0xffff,
                                .data = (const uint8_t *)"pong",
                                .data_len = 4};
    struct wire_icmp6_repr got = icmp6_round_trip(&m, &a, &r);
    assert_int_equal(got.id, 7);
    assert_int_equal(got.seq, 0xffff);
    assert_false(got.is_error);

    for (uint8_t code = 0; code <= WIRE_ICMP6_REJECT_ROUTE; code++) {
        m = (struct wire_icmp6_repr){
            .type = WIRE_ICMP6_DEST_UNREACH, .code = code, .data = quote, .data_len = qlen};
        got = icmp6_round_trip(&m, &r, &a);
        assert_true(got.is_error);
        assert_int_equal(got.quote.dst_port, 80);
    }
    m = (struct wire_icmp6_repr){
        .type = WIRE_ICMP6_PACKET_TOO_BIG, .mtu = 0x10000u + 1280, .data = quote, .data_len = qlen};
    got = icmp6_round_trip(&m, &r, &a);
    assert_int_equal(got.mtu, 0x10000u + 1280); /* 32 bits (RFC 4443 §3.2) */
    for (uint8_t code = 0; code <= 1; code++) {
        m = (struct wire_icmp6_repr){
            .type = WIRE_ICMP6_TIME_EXCEEDED, .code = code, .data = quote, .data_len = qlen};
        got = icmp6_round_trip(&m, &r, &a);
        assert_int_equal(got.mtu, 0);
    }
    m = (struct wire_icmp6_repr){.type = WIRE_ICMP6_PARAM_PROBLEM,
                                 .code = WIRE_ICMP6_UNKNOWN_NEXT_HEADER,
                                 .pointer = 0x12345678u,
                                 .data = quote,
                                 .data_len = qlen};
    got = icmp6_round_trip(&m, &r, &a);
    assert_int_equal(got.pointer, 0x12345678u);

    /* the second word of an error without a field of its own is sent zero */
    uint8_t buf[256];
    m = (struct wire_icmp6_repr){.type = WIRE_ICMP6_DEST_UNREACH,
                                 .id = 1,
                                 .seq = 2,
                                 .mtu = 3,
                                 .pointer = 4,
                                 .data = quote,
                                 .data_len = qlen};
    assert_int_equal(wire_icmp6_emit(&m, &r, &a, buf, sizeof(buf)), 8 + qlen);
    const uint8_t zero[4] = {0};
    assert_memory_equal(buf + 4, zero, 4);
    /* too small a buffer */
    assert_int_equal(wire_icmp6_emit(&m, &r, &a, buf, 8 + qlen - 1), 0);
}

/* RFC 4443 §2.4 (c), (d): the quote gives the invoking packet's addresses, its upper layer
 * past its extension headers, ports and the TCP sequence number. */
static void icmp6_quote_parsed_through_ext_headers(void **state)
{
    (void)state;
    struct synack_addr a = addr6(2), r = addr6(0xfe);
    uint8_t quote[128];
    size_t qlen = invoking_tcp(quote, sizeof(quote), 0xa1b2c3d4u);
    struct wire_icmp6_repr m = {
        .type = WIRE_ICMP6_PACKET_TOO_BIG, .mtu = 1280, .data = quote, .data_len = qlen};
    struct wire_icmp6_repr got = icmp6_round_trip(&m, &r, &a);
    struct synack_addr far = addr6(9);
    assert_true(got.is_error);
    assert_true(synack_addr_eq(&got.quote.src, &a));
    assert_true(synack_addr_eq(&got.quote.dst, &far));
    assert_int_equal(got.quote.proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(got.quote.header_len, 48);
    assert_int_equal(got.quote.total_len, 40 + 28);
    assert_int_equal(got.quote.src_port, 40000);
    assert_int_equal(got.quote.dst_port, 80);
    assert_int_equal(got.quote.seq, 0xa1b2c3d4u);
    assert_int_equal(got.quote.frag_offset, 0);
    assert_int_equal(got.quote.transport_len, 20);

    /* exactly 8 bytes of TCP is enough */
    m.data_len = 48 + 8;
    got = icmp6_round_trip(&m, &r, &a);
    assert_int_equal(got.quote.seq, 0xa1b2c3d4u);
}

static void icmp6_quote_garbage(void **state)
{
    (void)state;
    struct synack_addr a = addr6(2), r = addr6(0xfe);
    uint8_t quote[128], buf[256];
    size_t qlen = invoking_tcp(quote, sizeof(quote), 1);
    struct wire_icmp6_repr m = {.type = WIRE_ICMP6_DEST_UNREACH,
                                .code = WIRE_ICMP6_PORT_UNREACH,
                                .data = quote,
                                .data_len = qlen};
    struct wire_icmp6_repr got;
    /* every cut short of the fixed header, the chain and 8 TCP bytes */
    for (size_t keep = 0; keep < 48 + 8; keep++) {
        m.data_len = keep;
        size_t n = wire_icmp6_emit(&m, &r, &a, buf, sizeof(buf));
        assert_int_equal(wire_icmp6_parse(buf, n, &r, &a, &got), SYNACK_DROP_ICMP_QUOTE);
    }
    /* an IPv4 header where the IPv6 one should be */
    m.data_len = qlen;
    quote[0] = 0x45;
    size_t n = wire_icmp6_emit(&m, &r, &a, buf, sizeof(buf));
    assert_int_equal(wire_icmp6_parse(buf, n, &r, &a, &got), SYNACK_DROP_ICMP_QUOTE);
    /* a chain that claims more than was returned */
    quote[0] = 0x60;
    quote[41] = 200;
    n = wire_icmp6_emit(&m, &r, &a, buf, sizeof(buf));
    assert_int_equal(wire_icmp6_parse(buf, n, &r, &a, &got), SYNACK_DROP_ICMP_QUOTE);
    /* informational messages carry no quote: the same bytes as an echo reply parse */
    m.type = WIRE_ICMP6_ECHO_REPLY;
    n = wire_icmp6_emit(&m, &r, &a, buf, sizeof(buf));
    assert_int_equal(wire_icmp6_parse(buf, n, &r, &a, &got), SYNACK_DROP_NONE);
}

/* A quote of a non-first fragment says so; no ports are read from the middle of data. */
static void icmp6_quote_of_non_first_fragment(void **state)
{
    (void)state;
    struct synack_addr a = addr6(2), r = addr6(0xfe), far = addr6(9);
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &far);
    pkt_frag(&p, WIRE_IP_PROTO_UDP, 1232, false, 5);
    put(&p, "middle of the data", 18);
    pkt_done(&p);
    struct wire_icmp6_repr m = {
        .type = WIRE_ICMP6_TIME_EXCEEDED, .code = 1, .data = p.b, .data_len = p.len};
    struct wire_icmp6_repr got = icmp6_round_trip(&m, &r, &a);
    assert_int_equal(got.quote.frag_offset, 1232);
    assert_int_equal(got.quote.proto, WIRE_IP_PROTO_UDP);
    assert_int_equal(got.quote.header_len, 48);
}

/* RFC 4443 §2.4 (a): an error type this node does not know still carries the invoking
 * packet; (b) an unknown informational type is just a message. */
static void icmp6_unknown_types(void **state)
{
    (void)state;
    struct synack_addr a = addr6(2), r = addr6(0xfe);
    uint8_t quote[128];
    size_t qlen = invoking_tcp(quote, sizeof(quote), 77);
    struct wire_icmp6_repr m = {.type = 100, .code = 9, .data = quote, .data_len = qlen};
    struct wire_icmp6_repr got = icmp6_round_trip(&m, &r, &a);
    assert_true(got.is_error);
    assert_int_equal(got.quote.seq, 77);
    m = (struct wire_icmp6_repr){.type = 200, .code = 1, .data = quote, .data_len = 3};
    got = icmp6_round_trip(&m, &r, &a);
    assert_false(got.is_error);
}

static void icmp6_truncated(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2);
    struct wire_icmp6_repr m;
    for (size_t len = 0; len < WIRE_ICMP6_HDR_LEN; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, echo6_bytes + 40, len);
        assert_int_equal(wire_icmp6_parse(copy, len, &a, &b, &m), SYNACK_DROP_ICMP_TRUNCATED);
        free(copy);
    }
}

/* RFC 4443 §2.3: the checksum covers the pseudo-header too: another address, another length
 * or any changed byte fails it. */
static void icmp6_bad_checksum(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2), c = addr6(3);
    uint8_t msg[16];
    struct wire_icmp6_repr m;
    memcpy(msg, echo6_bytes + 40, sizeof(msg));
    assert_int_equal(wire_icmp6_parse(msg, 16, &b, &a, &m), SYNACK_DROP_NONE); /* symmetric */
    assert_int_equal(wire_icmp6_parse(msg, 16, &a, &c, &m), SYNACK_DROP_ICMP_CHECKSUM);
    assert_int_equal(wire_icmp6_parse(msg, 14, &a, &b, &m), SYNACK_DROP_ICMP_CHECKSUM);
    for (size_t i = 0; i < sizeof(msg); i++) {
        for (int bit = 0; bit < 8; bit++) {
            msg[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(wire_icmp6_parse(msg, 16, &a, &b, &m), SYNACK_DROP_ICMP_CHECKSUM);
            msg[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* the IPv4 way (no pseudo-header) is not the IPv6 way */
    uint8_t v4[16];
    memcpy(v4, msg, 16);
    v4[2] = v4[3] = 0;
    uint16_t sum = wire_csum_finish(wire_csum_add(0, v4, 16));
    put_u16(v4 + 2, sum);
    assert_int_equal(wire_icmp6_parse(v4, 16, &a, &b, &m), SYNACK_DROP_ICMP_CHECKSUM);
}

/* RFC 4443 §2.4 (e). */
static void icmp6_can_send_error_rfc4443_2_4_e(void **state)
{
    (void)state;
    struct wire_ip_repr ip = {.src = addr6(1), .dst = addr6(2), .proto = WIRE_IP_PROTO_UDP};
    const uint8_t pb = WIRE_ICMP6_PARAM_PROBLEM;
    assert_true(wire_icmp6_can_send_error(&ip, NULL, WIRE_ICMP6_DEST_UNREACH, 4));
    assert_true(wire_icmp6_can_send_error(&ip, NULL, pb, 1));

    /* (e.3) a multicast destination: only packet too big and code 2 */
    ip.dst = all_nodes();
    assert_false(wire_icmp6_can_send_error(&ip, NULL, WIRE_ICMP6_DEST_UNREACH, 4));
    assert_false(wire_icmp6_can_send_error(&ip, NULL, pb, 0));
    assert_false(wire_icmp6_can_send_error(&ip, NULL, pb, 1));
    assert_true(wire_icmp6_can_send_error(&ip, NULL, pb, 2));
    assert_true(wire_icmp6_can_send_error(&ip, NULL, WIRE_ICMP6_PACKET_TOO_BIG, 0));
    ip.dst = addr6(2);

    /* (e.6) a source that is not one node: unspecified, multicast, loopback */
    const uint8_t lo[16] = {[15] = 1};
    struct synack_addr none = synack_addr_any(SYNACK_AF_INET6), loopback = synack_addr_v6(lo);
    ip.src = none;
    assert_false(wire_icmp6_can_send_error(&ip, NULL, pb, 2));
    ip.src = all_nodes();
    assert_false(wire_icmp6_can_send_error(&ip, NULL, WIRE_ICMP6_PACKET_TOO_BIG, 0));
    ip.src = loopback;
    assert_false(wire_icmp6_can_send_error(&ip, NULL, pb, 0));
    ip.src = addr6(1);

    /* (e.1), (e.2): not about an error or a redirect; an echo request is fine */
    ip.proto = WIRE_IP_PROTO_ICMPV6;
    struct wire_icmp6_repr icmp = {.type = WIRE_ICMP6_PACKET_TOO_BIG, .is_error = true};
    assert_false(wire_icmp6_can_send_error(&ip, &icmp, pb, 0));
    icmp = (struct wire_icmp6_repr){.type = WIRE_ICMP6_REDIRECT};
    assert_false(wire_icmp6_can_send_error(&ip, &icmp, pb, 0));
    icmp = (struct wire_icmp6_repr){.type = WIRE_ICMP6_ECHO_REQUEST};
    assert_true(wire_icmp6_can_send_error(&ip, &icmp, pb, 0));
    /* ICMPv6 that did not parse: it may have been an error */
    assert_false(wire_icmp6_can_send_error(&ip, NULL, pb, 0));
}

/* ---- UDP ---------------------------------------------------------------------------------- */

/* 198.18.0.1.5000 > 198.18.0.2.53, data "abcd", laid out by hand (RFC 768). The checksum by
 * hand: the pseudo-header 0xc612 + 0x0001 + 0xc612 + 0x0002 + 0x0011 + 0x000c = 0x18c44; the
 * datagram with the field zero 0x1388 + 0x0035 + 0x000c + 0x6162 + 0x6364 = 0xd88f; together
 * 0x264d3, folded 0x64d5, complemented 0x9b2a. */
static const uint8_t udp4_bytes[] = {0x13, 0x88, 0x00, 0x35, 0x00, 0x0c,
                                     0x9b, 0x2a, 'a',  'b',  'c',  'd'};

static void udp_known_bytes_rfc768(void **state)
{
    (void)state;
    struct synack_addr a = synack_addr_v4(ADDR_A), b = synack_addr_v4(ADDR_B);
    struct wire_udp_repr u;
    assert_int_equal(wire_udp_parse(udp4_bytes, sizeof(udp4_bytes), &a, &b, &u), SYNACK_DROP_NONE);
    assert_int_equal(u.src_port, 5000);
    assert_int_equal(u.dst_port, 53);
    assert_int_equal(u.payload_len, 4);
    assert_memory_equal(u.payload, "abcd", 4);
    uint8_t buf[32];
    assert_int_equal(wire_udp_emit(&u, &a, &b, buf, sizeof(buf)), sizeof(udp4_bytes));
    assert_memory_equal(buf, udp4_bytes, sizeof(udp4_bytes));
}

static void udp_round_trip_both_families(void **state)
{
    (void)state;
    struct synack_addr pairs[2][2] = {{synack_addr_v4(ADDR_A), synack_addr_v4(ADDR_B)},
                                      {addr6(1), addr6(2)}};
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    for (int f = 0; f < 2; f++) {
        for (size_t len = 0; len <= sizeof(data); len += 37) {
            struct wire_udp_repr u = {
                .src_port = 0, .dst_port = 0, .payload = data, .payload_len = len};
            uint8_t buf[512];
            size_t n = wire_udp_emit(&u, &pairs[f][0], &pairs[f][1], buf, sizeof(buf));
            assert_int_equal(n, 8 + len);
            struct wire_udp_repr got;
            /* ports 0 are the stack's to judge */
            assert_int_equal(wire_udp_parse(buf, n, &pairs[f][0], &pairs[f][1], &got),
                             SYNACK_DROP_NONE);
            assert_int_equal(got.payload_len, len);
            if (len) assert_memory_equal(got.payload, data, len);
            /* the other family's pseudo-header does not fit */
            assert_int_equal(wire_udp_parse(buf, n, &pairs[1 - f][0], &pairs[1 - f][1], &got),
                             SYNACK_DROP_UDP_CHECKSUM);
        }
    }
}

static void udp_length_field_checked(void **state)
{
    (void)state;
    struct synack_addr a = synack_addr_v4(ADDR_A), b = synack_addr_v4(ADDR_B);
    uint8_t buf[32];
    struct wire_udp_repr u;
    for (size_t len = 0; len < 8; len++)
        assert_int_equal(wire_udp_parse(udp4_bytes, len, &a, &b, &u), SYNACK_DROP_UDP_TRUNCATED);
    memcpy(buf, udp4_bytes, sizeof(udp4_bytes));
    /* Length below 8 */
    for (uint16_t l = 0; l < 8; l++) {
        put_u16(buf + 4, l);
        assert_int_equal(wire_udp_parse(buf, sizeof(udp4_bytes), &a, &b, &u),
                         SYNACK_DROP_UDP_TRUNCATED);
    }
    /* Length past what the IP layer delivered */
    put_u16(buf + 4, 13);
    assert_int_equal(wire_udp_parse(buf, sizeof(udp4_bytes), &a, &b, &u),
                     SYNACK_DROP_UDP_TRUNCATED);
    /* bytes past Length are not the datagram's (and not in its checksum) */
    memcpy(buf, udp4_bytes, sizeof(udp4_bytes));
    memset(buf + sizeof(udp4_bytes), 0x99, 5);
    assert_int_equal(wire_udp_parse(buf, sizeof(udp4_bytes) + 5, &a, &b, &u), SYNACK_DROP_NONE);
    assert_int_equal(u.payload_len, 4);
    /* a bad checksum */
    buf[9] ^= 1;
    assert_int_equal(wire_udp_parse(buf, sizeof(udp4_bytes), &a, &b, &u), SYNACK_DROP_UDP_CHECKSUM);
}

/* A zero checksum: "none" over IPv4 (RFC 768), a drop over IPv6 (RFC 8200 §8.1). */
static void udp_zero_checksum_ipv4_accepted_ipv6_dropped(void **state)
{
    (void)state;
    uint8_t buf[12];
    memcpy(buf, udp4_bytes, sizeof(buf));
    buf[6] = buf[7] = 0;
    buf[8] = 'X'; /* not covered by anything now */
    struct synack_addr a4 = synack_addr_v4(ADDR_A), b4 = synack_addr_v4(ADDR_B);
    struct synack_addr a6 = addr6(1), b6 = addr6(2);
    struct wire_udp_repr u;
    assert_int_equal(wire_udp_parse(buf, sizeof(buf), &a4, &b4, &u), SYNACK_DROP_NONE);
    assert_int_equal(u.payload_len, 4);
    assert_int_equal(wire_udp_parse(buf, sizeof(buf), &a6, &b6, &u), SYNACK_DROP_UDP_CHECKSUM);
}

/* RFC 768: a computed checksum of zero goes out as 0xffff, which checks on receipt. */
static void udp_computed_zero_sent_as_ffff_rfc768(void **state)
{
    (void)state;
    struct synack_addr pairs[2][2] = {{synack_addr_v4(ADDR_A), synack_addr_v4(ADDR_B)},
                                      {addr6(1), addr6(2)}};
    for (int f = 0; f < 2; f++) {
        const struct synack_addr *s = &pairs[f][0], *d = &pairs[f][1];
        /* With a zero data word the checksum is C, so the sum was ~C; data word C brings the
         * sum to 0xffff, whose checksum is 0. */
        uint8_t data[2] = {0, 0}, buf[16];
        struct wire_udp_repr u = {.src_port = 1, .dst_port = 2, .payload = data, .payload_len = 2};
        assert_int_equal(wire_udp_emit(&u, s, d, buf, sizeof(buf)), 10);
        data[0] = buf[6];
        data[1] = buf[7];
        assert_int_equal(wire_udp_emit(&u, s, d, buf, sizeof(buf)), 10);
        assert_int_equal(buf[6], 0xff);
        assert_int_equal(buf[7], 0xff);
        /* independently: the sum of pseudo-header and datagram with the field zero is 0xffff */
        uint8_t zeroed[10];
        memcpy(zeroed, buf, 10);
        zeroed[6] = zeroed[7] = 0;
        uint32_t sum = wire_csum_pseudo_addr(s, d, WIRE_IP_PROTO_UDP, 10);
        assert_int_equal(wire_csum_finish(wire_csum_add(sum, zeroed, 10)), 0);
        struct wire_udp_repr got;
        assert_int_equal(wire_udp_parse(buf, 10, s, d, &got), SYNACK_DROP_NONE);
    }
}

static void udp_emit_limits(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2);
    uint8_t buf[16];
    struct wire_udp_repr u = {.src_port = 1, .dst_port = 2, .payload = buf, .payload_len = 8};
    assert_int_equal(wire_udp_emit(&u, &a, &b, buf, 15), 0);
    u.payload_len = 65535 - 7; /* Length would not fit 16 bits */
    assert_int_equal(wire_udp_emit(&u, &a, &b, buf, sizeof(buf)), 0);
    u.payload = NULL;
    u.payload_len = 1;
    assert_int_equal(wire_udp_emit(&u, &a, &b, buf, sizeof(buf)), 0);
}

/* ---- formatting ----------------------------------------------------------------------------- */

/* IPv6 fixed header from `src` to `dst` around `payload` (proto `nh`) into `out`. */
static size_t packet6(uint8_t *out, const struct synack_addr *src, const struct synack_addr *dst,
                      uint8_t nh, const uint8_t *payload, size_t len)
{
    struct wire_ip_repr ip = {
        .src = *src, .dst = *dst, .proto = nh, .ttl = 64, .payload_len = (uint16_t)len};
    wire_ipv6_emit(&ip, out);
    memcpy(out + WIRE_IPV6_HDR_LEN, payload, len);
    return WIRE_IPV6_HDR_LEN + len;
}

static void assert_line(const uint8_t *pkt, size_t len, const char *want)
{
    char line[256];
    size_t n = synack_format_packet(line, sizeof(line), pkt, len);
    assert_string_equal(line, want);
    assert_int_equal(n, strlen(want));
}

static void fmt_tcp_over_ipv6(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2);
    struct wire_tcp_repr tcp = {.src_port = 40000,
                                .dst_port = 80,
                                .seq = 1,
                                .flags = WIRE_TCP_SYN,
                                .window = 65535,
                                .has_mss = true,
                                .mss = 1440};
    uint8_t seg[64], pkt[128];
    size_t n = wire_tcp_emit(&tcp, &a, &b, seg, sizeof(seg));
    /* the emitter's checksum is the one over the IPv6 pseudo-header (RFC 8200 §8.1) */
    uint16_t emitted = (uint16_t)(seg[16] << 8 | seg[17]);
    seg[16] = seg[17] = 0;
    uint32_t sum = wire_csum_pseudo_addr(&a, &b, WIRE_IP_PROTO_TCP, (uint32_t)n);
    put_u16(seg + 16, wire_csum_finish(wire_csum_add(sum, seg, n)));
    assert_int_equal((uint16_t)(seg[16] << 8 | seg[17]), emitted);
    size_t len = packet6(pkt, &a, &b, WIRE_IP_PROTO_TCP, seg, n);
    assert_line(pkt, len,
                "2001:db8::1.40000 > 2001:db8::2.80: Flags [S], seq 1, win 65535, "
                "options [mss 1440], length 0");
    /* the same bytes with an IPv4 checksum do not pass over IPv6 */
    struct synack_addr a4 = synack_addr_v4(ADDR_A), b4 = synack_addr_v4(ADDR_B);
    size_t n4 = wire_tcp_emit(&tcp, &a4, &b4, seg, sizeof(seg));
    len = packet6(pkt, &a, &b, WIRE_IP_PROTO_TCP, seg, n4);
    assert_line(pkt, len, "malformed packet (tcp-checksum), 64 bytes");
    /* the parse behind it, directly */
    struct wire_tcp_repr got;
    assert_int_equal(wire_tcp_parse(seg, n4, &a, &b, &got), SYNACK_DROP_TCP_CHECKSUM);
    assert_int_equal(wire_tcp_parse(seg, n4, &a4, &b4, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.mss, 1440);
}

static void fmt_icmp6_lines(void **state)
{
    (void)state;
    struct synack_addr a = addr6(1), b = addr6(2), r = addr6(0xfe);
    uint8_t msg[256], pkt[512], data[56] = {0}, quote[128];
    size_t qlen = invoking_tcp(quote, sizeof(quote), 1);
    quote[40] = WIRE_IP_PROTO_UDP; /* a port unreachable is about UDP */
    put_u16(quote + 48 + 2, 53);

    struct wire_icmp6_repr m = {
        .type = WIRE_ICMP6_ECHO_REQUEST, .id = 7, .seq = 1, .data = data, .data_len = sizeof(data)};
    size_t n = wire_icmp6_emit(&m, &b, &a, msg, sizeof(msg));
    size_t len = packet6(pkt, &b, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len, "2001:db8::2 > 2001:db8::1: ICMP6, echo request, id 7, seq 1, length 64");
    m.type = WIRE_ICMP6_ECHO_REPLY;
    n = wire_icmp6_emit(&m, &a, &b, msg, sizeof(msg));
    len = packet6(pkt, &a, &b, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len, "2001:db8::1 > 2001:db8::2: ICMP6, echo reply, id 7, seq 1, length 64");

    m = (struct wire_icmp6_repr){
        .type = WIRE_ICMP6_PACKET_TOO_BIG, .mtu = 1280, .data = quote, .data_len = qlen};
    n = wire_icmp6_emit(&m, &r, &a, msg, sizeof(msg));
    len = packet6(pkt, &r, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len, "2001:db8::fe > 2001:db8::1: ICMP6, packet too big, mtu 1280, length 76");

    m = (struct wire_icmp6_repr){.type = WIRE_ICMP6_DEST_UNREACH,
                                 .code = WIRE_ICMP6_PORT_UNREACH,
                                 .data = quote,
                                 .data_len = qlen};
    n = wire_icmp6_emit(&m, &r, &a, msg, sizeof(msg));
    len = packet6(pkt, &r, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len,
                "2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable, unreachable port, "
                "2001:db8::9 udp port 53, length 76");

    m.type = WIRE_ICMP6_TIME_EXCEEDED;
    m.code = WIRE_ICMP6_HOP_LIMIT;
    n = wire_icmp6_emit(&m, &r, &a, msg, sizeof(msg));
    len = packet6(pkt, &r, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len, "2001:db8::fe > 2001:db8::1: ICMP6, time exceeded in-transit, length 76");

    m.type = WIRE_ICMP6_PARAM_PROBLEM;
    m.code = WIRE_ICMP6_UNKNOWN_NEXT_HEADER;
    m.pointer = 40;
    n = wire_icmp6_emit(&m, &r, &a, msg, sizeof(msg));
    len = packet6(pkt, &r, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len,
                "2001:db8::fe > 2001:db8::1: ICMP6, parameter problem, unrecognized next header, "
                "pointer 40, length 76");

    /* a bad checksum is malformed, by its reason */
    msg[3] ^= 1;
    len = packet6(pkt, &r, &a, WIRE_IP_PROTO_ICMPV6, msg, n);
    assert_line(pkt, len, "malformed packet (icmp-checksum), 116 bytes");
}

static void fmt_udp_both_families(void **state)
{
    (void)state;
    uint8_t pkt[128], seg[64];
    struct synack_addr a4 = synack_addr_v4(ADDR_A), b4 = synack_addr_v4(ADDR_B);
    struct wire_udp_repr u = {.src_port = 5000,
                              .dst_port = 53,
                              .payload = (const uint8_t *)"twelve bytes",
                              .payload_len = 12};
    size_t n = wire_udp_emit(&u, &a4, &b4, seg, sizeof(seg));
    struct wire_ip_repr ip4 = {
        .src = a4, .dst = b4, .proto = WIRE_IP_PROTO_UDP, .ttl = 64, .payload_len = (uint16_t)n};
    wire_ipv4_emit(&ip4, pkt);
    memcpy(pkt + 20, seg, n);
    assert_line(pkt, 20 + n, "198.18.0.1.5000 > 198.18.0.2.53: UDP, length 12");
    pkt[20 + 6] ^= 0x40;
    assert_line(pkt, 20 + n, "malformed packet (udp-checksum), 40 bytes");

    struct synack_addr a6 = addr6(1), b6 = addr6(2);
    n = wire_udp_emit(&u, &a6, &b6, seg, sizeof(seg));
    size_t len = packet6(pkt, &a6, &b6, WIRE_IP_PROTO_UDP, seg, n);
    assert_line(pkt, len, "2001:db8::1.5000 > 2001:db8::2.53: UDP, length 12");

    char line[64];
    assert_int_equal(wire_fmt_udp(line, sizeof(line), &a6, &b6, &u), 49);
}

static void fmt_ipv6_malformed_fragment_and_other(void **state)
{
    (void)state;
    struct synack_addr dst = addr6(2);
    struct pkt p;
    /* malformed, by its reason */
    assert_line(echo6_bytes, 30, "malformed packet (ip6-truncated), 30 bytes");
    pkt_start(&p, WIRE_IPV6_NH_DEST_OPTS, &dst);
    const uint8_t opt[] = {0x41, 0};
    pkt_ext(&p, WIRE_IP_PROTO_UDP, opt, sizeof(opt));
    pkt_done(&p);
    assert_line(p.b, p.len, "malformed packet (ip6-option), 48 bytes");
    /* a fragment is printed as one */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, &dst);
    pkt_frag(&p, WIRE_IP_PROTO_UDP, 1232, true, 99);
    put(&p, "0123456789abcdef", 16);
    pkt_done(&p);
    assert_line(p.b, p.len,
                "2001:db8::1 > 2001:db8::2: frag (id 99, offset 1232, more), ip-proto 17, "
                "length 16");
    /* a protocol without a printer */
    pkt_start(&p, 132, &dst);
    put(&p, "01234567", 8);
    pkt_done(&p);
    assert_line(p.b, p.len, "2001:db8::1 > 2001:db8::2: ip-proto 132, length 8");
    /* neither version 4 nor 6 */
    uint8_t v5[40] = {0x50};
    assert_line(v5, sizeof(v5), "malformed packet (ip-version), 40 bytes");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ipv6_known_bytes_parse_rfc8200_3),
    cmocka_unit_test(icmp6_echo_known_bytes_rfc4443),
    cmocka_unit_test(ipv6_round_trip),
    cmocka_unit_test(ipv6_truncated_fixed_header),
    cmocka_unit_test(ipv6_bad_version),
    cmocka_unit_test(ipv6_payload_length_lies),
    cmocka_unit_test(ipv6_extension_headers_walked_rfc8200_4),
    cmocka_unit_test(ipv6_fragment_header_fills_frag_rfc8200_4_5),
    cmocka_unit_test(ipv6_fragment_header_emit_known_bytes),
    cmocka_unit_test(ipv6_atomic_fragment_is_whole_datagram_rfc6946),
    cmocka_unit_test(ipv6_ext_chain_past_packet),
    cmocka_unit_test(ipv6_ext_chain_too_long),
    cmocka_unit_test(ipv6_hop_by_hop_not_first_rfc8200_4),
    cmocka_unit_test(ipv6_jumbogram_not_supported),
    cmocka_unit_test(ipv6_option_action_00_skips),
    cmocka_unit_test(ipv6_option_action_01_discards_silently),
    cmocka_unit_test(ipv6_option_action_10_answers_even_multicast),
    cmocka_unit_test(ipv6_option_action_11_answers_only_unicast),
    cmocka_unit_test(ipv6_option_pointer_after_padding),
    cmocka_unit_test(ipv6_option_past_header),
    cmocka_unit_test(ipv6_routing_segments_left_zero_skipped_rfc8200_4_4),
    cmocka_unit_test(ipv6_routing_segments_left_answered_rfc5095),
    cmocka_unit_test(ipv6_unknown_next_header_problem_pointer_rfc8200_4),
    cmocka_unit_test(ipv6_no_next_header),
    cmocka_unit_test(ipv6_truncated_at_every_length),
    cmocka_unit_test(ipv6_random_corruption_no_crash),
    cmocka_unit_test(ipv6_find_upper_layer_for_quotes),
    cmocka_unit_test(icmp6_each_type_round_trips),
    cmocka_unit_test(icmp6_quote_parsed_through_ext_headers),
    cmocka_unit_test(icmp6_quote_garbage),
    cmocka_unit_test(icmp6_quote_of_non_first_fragment),
    cmocka_unit_test(icmp6_unknown_types),
    cmocka_unit_test(icmp6_truncated),
    cmocka_unit_test(icmp6_bad_checksum),
    cmocka_unit_test(icmp6_can_send_error_rfc4443_2_4_e),
    cmocka_unit_test(udp_known_bytes_rfc768),
    cmocka_unit_test(udp_round_trip_both_families),
    cmocka_unit_test(udp_length_field_checked),
    cmocka_unit_test(udp_zero_checksum_ipv4_accepted_ipv6_dropped),
    cmocka_unit_test(udp_computed_zero_sent_as_ffff_rfc768),
    cmocka_unit_test(udp_emit_limits),
    cmocka_unit_test(fmt_tcp_over_ipv6),
    cmocka_unit_test(fmt_icmp6_lines),
    cmocka_unit_test(fmt_udp_both_families),
    cmocka_unit_test(fmt_ipv6_malformed_fragment_and_other),
};

SYNACK_TEST_MAIN("wire6", tests)
