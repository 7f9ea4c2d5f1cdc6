/* wire/: byte round trips, malformed and truncated input, checksums and formatting. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <synack/synack.h>

#include "base/rand.h"
#include "wire/wire.h"

#define ADDR_A 0xc6120001u /* 198.18.0.1 */
#define ADDR_B 0xc6120002u /* 198.18.0.2 */
static const struct synack_addr ADDR4_A = {SYNACK_AF_INET, {198, 18, 0, 1}};
static const struct synack_addr ADDR4_B = {SYNACK_AF_INET, {198, 18, 0, 2}};
#define PORT_A 40000
#define PORT_B 80

/* Byte offsets used to damage packets on purpose. */
#define IP_OFF_VER_IHL 0
#define IP_OFF_TOTAL_LEN 2
#define IP_OFF_FLAGS_FRAG 6
#define IP_OFF_CHECKSUM 10
#define TCP_OFF_DOFF 12
#define TCP_OFF_FLAGS 13
#define TCP_OFF_CHECKSUM 16

/* ---- helpers ----------------------------------------------------------------------------- */

static struct wire_ip_repr ip_from(uint32_t src, uint32_t dst)
{
    struct wire_ip_repr ip = {0};
    ip.src = synack_addr_v4(src);
    ip.dst = synack_addr_v4(dst);
    ip.ttl = 64;
    ip.id = 0x1234;
    ip.df = true;
    ip.proto = WIRE_IP_PROTO_TCP;
    return ip;
}

static struct wire_tcp_repr tcp_from(uint16_t src_port, uint16_t dst_port, uint8_t flags)
{
    struct wire_tcp_repr tcp = {0};
    tcp.src_port = src_port;
    tcp.dst_port = dst_port;
    tcp.seq = 1;
    tcp.flags = flags;
    tcp.window = 65535;
    return tcp;
}

/* A segment carrying every option synack emits, two SACK blocks and 10 bytes of data. */
static struct wire_tcp_repr tcp_all_options(const uint8_t *payload, size_t len)
{
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK | WIRE_TCP_PSH);
    tcp.seq = 0xfffffff0u;
    tcp.ack = 0x01020304u;
    tcp.urgent = 0;
    tcp.has_mss = true;
    tcp.mss = 1460;
    tcp.has_wscale = true;
    tcp.wscale = 7;
    tcp.sack_permitted = true;
    tcp.has_ts = true;
    tcp.ts_val = 0xdeadbeefu;
    tcp.ts_ecr = 0x01234567u;
    tcp.sack_count = 2;
    tcp.sack[0] = (struct wire_tcp_sack_block){100, 200};
    tcp.sack[1] = (struct wire_tcp_sack_block){0xfffffff0u, 0x10u};
    tcp.payload = payload;
    tcp.payload_len = len;
    return tcp;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void ip_fix_checksum(uint8_t *pkt)
{
    size_t header_len = (size_t)(pkt[IP_OFF_VER_IHL] & 0x0f) * 4;
    put_u16(pkt + IP_OFF_CHECKSUM, 0);
    put_u16(pkt + IP_OFF_CHECKSUM, wire_csum_finish(wire_csum_add(0, pkt, header_len)));
}

static void tcp_fix_checksum(uint8_t *seg, size_t len, const struct synack_addr *src,
                             const struct synack_addr *dst)
{
    put_u16(seg + TCP_OFF_CHECKSUM, 0);
    uint32_t sum = wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_TCP, (uint32_t)len);
    put_u16(seg + TCP_OFF_CHECKSUM, wire_csum_finish(wire_csum_add(sum, seg, len)));
}

/* A 20-byte IPv4 header followed by `payload_len` bytes of 0xab. */
static size_t ip_packet(uint8_t *buf, size_t payload_len)
{
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.payload_len = (uint16_t)payload_len;
    wire_ipv4_emit(&ip, buf);
    memset(buf + WIRE_IPV4_HDR_LEN, 0xab, payload_len);
    return WIRE_IPV4_HDR_LEN + payload_len;
}

/* A hand-made segment A -> B: fixed header, `opts` (a multiple of 4 bytes long, doff set to
 * match), valid checksum. Returns its length. */
static size_t raw_segment(uint8_t *seg, const uint8_t *opts, size_t opts_len, uint8_t flags)
{
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, flags);
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, WIRE_TCP_HDR_LEN);
    assert_int_equal(len, WIRE_TCP_HDR_LEN);
    if (opts_len > 0) memcpy(seg + WIRE_TCP_HDR_LEN, opts, opts_len);
    len += opts_len;
    seg[TCP_OFF_DOFF] = (uint8_t)((len / 4) << 4);
    tcp_fix_checksum(seg, len, &ADDR4_A, &ADDR4_B);
    return len;
}

static enum synack_drop parse_segment(const uint8_t *seg, size_t len, struct wire_tcp_repr *out)
{
    return wire_tcp_parse(seg, len, &ADDR4_A, &ADDR4_B, out);
}

static enum synack_drop parse_options(const uint8_t *opts, size_t opts_len,
                                      struct wire_tcp_repr *out)
{
    uint8_t seg[WIRE_TCP_MAX_HDR_LEN];
    size_t len = raw_segment(seg, opts, opts_len, WIRE_TCP_ACK);
    return parse_segment(seg, len, out);
}

/* ---- checksum ---------------------------------------------------------------------------- */

static void checksum_rfc1071_example(void **state)
{
    (void)state;
    /* RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 2ddf0, folding to ddf2; the
     * checksum is its complement, 220d. */
    const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t sum = wire_csum_add(0, bytes, sizeof(bytes));
    assert_int_equal(sum, 0xddf2);
    assert_int_equal(wire_csum_finish(sum), 0x220d);
    /* Summed in two pieces (even split) the result is the same. */
    uint32_t split = wire_csum_add(wire_csum_add(0, bytes, 4), bytes + 4, 4);
    assert_int_equal(wire_csum_finish(split), 0x220d);
}

static void checksum_odd_length_pads_with_zero(void **state)
{
    (void)state;
    const uint8_t odd[] = {0x12, 0x34, 0x56};
    const uint8_t padded[] = {0x12, 0x34, 0x56, 0x00};
    assert_int_equal(wire_csum_add(0, odd, sizeof(odd)), wire_csum_add(0, padded, sizeof(padded)));
}

/* RFC 1071 §1 taken literally: octet pairs as big-endian 16-bit words, an odd last octet
 * padded on the right, the end-around carry folded in. The reference the word-at-a-time
 * sum must equal. */
static uint32_t csum_reference(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = sum;
    for (size_t i = 0; i < len; i += 2)
        acc += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

/* A fixed xorshift sequence: the same "random" bytes on every run. */
static uint32_t csum_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void checksum_matches_reference_random(void **state)
{
    (void)state;
    /* Every length from 0 to 600 at every alignment 0..7, from a running sum anywhere in
     * 0..0xffff: the 8-byte loop, the 32-byte loop, the 1-7 byte tail and the odd octet. */
    static uint8_t buf[600 + 8];
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)csum_rand(&x);
    for (size_t len = 0; len <= 600; len++) {
        for (size_t align = 0; align < 8; align++) {
            uint32_t start = csum_rand(&x) & 0xffff;
            assert_int_equal(wire_csum_add(start, buf + align, len),
                             csum_reference(start, buf + align, len));
        }
    }
}

static void checksum_matches_reference_edges(void **state)
{
    (void)state;
    /* All ones: every addition carries, at every width (16, 32 and 64 bits), and the sum
     * lands on 0xffff (one's-complement negative zero), never 0, for an even length. Then all
     * zeros, whose sum is 0, and a running sum of 0xffff carried into either. Lengths past 64 KiB
     * too. */
    enum { BIG = 70001 };
    static uint8_t ones[BIG], zeros[BIG];
    memset(ones, 0xff, BIG);
    const size_t lens[] = {1, 2, 3, 7, 8, 9, 31, 32, 33, 65535, 65536, BIG};
    const uint32_t starts[] = {0, 1, 0xfffe, 0xffff};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
            assert_int_equal(wire_csum_add(starts[k], ones, lens[i]),
                             csum_reference(starts[k], ones, lens[i]));
            assert_int_equal(wire_csum_add(starts[k], zeros, lens[i]),
                             csum_reference(starts[k], zeros, lens[i]));
        }
        /* An even run of ones is all-ones words; an odd one ends in 0xff00. */
        assert_int_equal(wire_csum_add(0, ones, lens[i]), lens[i] % 2 ? 0xff00 : 0xffff);
        assert_int_equal(wire_csum_add(0, zeros, lens[i]), 0);
    }
    /* A word whose high bit carries out of 64 bits on the first addition. */
    const uint8_t carry[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    assert_int_equal(wire_csum_add(0, carry, sizeof(carry)),
                     csum_reference(0, carry, sizeof(carry)));
}

static void checksum_pseudo_header(void **state)
{
    (void)state;
    /* RFC 9293 §3.1: src, dst, zero + PTCL, TCP length, as 16-bit words. */
    const uint8_t words[] = {0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12,
                             0x00, 0x02, 0x00, 0x06, 0x00, 0x28};
    assert_int_equal(wire_csum_pseudo_addr(&ADDR4_A, &ADDR4_B, WIRE_IP_PROTO_TCP, 40),
                     wire_csum_add(0, words, sizeof(words)));
}

/* ---- IPv4 -------------------------------------------------------------------------------- */

static void ipv4_round_trip(void **state)
{
    (void)state;
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.tos = 0x10;
    ip.ttl = 17;
    ip.payload_len = 8;
    uint8_t buf[WIRE_IPV4_HDR_LEN + 8] = {0};
    wire_ipv4_emit(&ip, buf);
    assert_int_equal(buf[0], 0x45);                 /* version 4, IHL 5 */
    assert_int_equal(buf[IP_OFF_FLAGS_FRAG], 0x40); /* DF */

    struct wire_ip_repr got;
    assert_int_equal(wire_ipv4_parse(buf, sizeof(buf), &got), SYNACK_DROP_NONE);
    assert_int_equal(synack_addr_v4_value(&got.src), ADDR_A);
    assert_int_equal(synack_addr_v4_value(&got.dst), ADDR_B);
    assert_int_equal(got.proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(got.ttl, 17);
    assert_int_equal(got.tos, 0x10);
    assert_int_equal(got.id, 0x1234);
    assert_true(got.df);
    assert_int_equal(got.header_len, 20);
    assert_int_equal(got.payload_len, 8);

    ip.df = false;
    wire_ipv4_emit(&ip, buf);
    assert_int_equal(wire_ipv4_parse(buf, sizeof(buf), &got), SYNACK_DROP_NONE);
    assert_false(got.df);
}

static void ipv4_truncated(void **state)
{
    (void)state;
    uint8_t buf[64];
    ip_packet(buf, 4);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, 19, &ip), SYNACK_DROP_IP_TRUNCATED);
    assert_int_equal(wire_ipv4_parse(buf, 0, &ip), SYNACK_DROP_IP_TRUNCATED);
    /* IHL 6 says 24 header bytes, but only 20 arrived. */
    buf[IP_OFF_VER_IHL] = 0x46;
    put_u16(buf + IP_OFF_TOTAL_LEN, 20);
    ip_fix_checksum(buf);
    assert_int_equal(wire_ipv4_parse(buf, 20, &ip), SYNACK_DROP_IP_TRUNCATED);
}

static void ipv4_bad_version(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    buf[IP_OFF_VER_IHL] = 0x65;
    ip_fix_checksum(buf);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_IP_VERSION);
}

static void ipv4_ihl_below_5(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    buf[IP_OFF_VER_IHL] = 0x44;
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_IP_IHL);
}

static void ipv4_total_len_exceeds_buffer(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len - 1, &ip), SYNACK_DROP_IP_TOTAL_LEN);
}

static void ipv4_total_len_below_header(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    put_u16(buf + IP_OFF_TOTAL_LEN, 19);
    ip_fix_checksum(buf);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_IP_TOTAL_LEN);
}

static void ipv4_link_padding_ignored(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 6);
    memset(buf + len, 0, 10); /* e.g. Ethernet padding to the minimum frame */
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len + 10, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.payload_len, 6);
}

static void ipv4_options_skipped(void **state)
{
    (void)state;
    uint8_t buf[64];
    ip_packet(buf, 0);
    /* Insert 4 option bytes (NOP NOP NOP EOL) after the fixed header; IHL 6. */
    const uint8_t opts[] = {1, 1, 1, 0};
    memcpy(buf + 20, opts, sizeof(opts));
    memset(buf + 24, 0xcd, 4);
    buf[IP_OFF_VER_IHL] = 0x46;
    put_u16(buf + IP_OFF_TOTAL_LEN, 28);
    ip_fix_checksum(buf);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, 28, &ip), SYNACK_DROP_NONE);
    assert_int_equal(ip.header_len, 24);
    assert_int_equal(ip.payload_len, 4);
}

static void ipv4_bad_checksum(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    buf[8] ^= 0x01; /* TTL */
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_IP_CHECKSUM);
}

/* RFC 791 §3.2: the parser describes a fragment; a whole-packet TCP parse refuses it. */
static void ipv4_fragment_described(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = ip_packet(buf, 4);
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;

    put_u16(buf + IP_OFF_FLAGS_FRAG, 0x2000); /* MF, offset 0: a first fragment */
    ip_fix_checksum(buf);
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_NONE);
    assert_true(ip.frag.present && ip.frag.more);
    assert_int_equal(ip.frag.offset, 0);
    assert_int_equal(ip.frag.id, 0x1234);
    assert_int_equal(wire_packet_parse(buf, len, &ip, &tcp), SYNACK_DROP_IP_FRAGMENT);

    put_u16(buf + IP_OFF_FLAGS_FRAG, 0x0001); /* offset 8 bytes, no MF: a last fragment */
    ip_fix_checksum(buf);
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_NONE);
    assert_true(ip.frag.present && !ip.frag.more);
    assert_int_equal(ip.frag.offset, 8);
    assert_int_equal(wire_packet_parse(buf, len, &ip, &tcp), SYNACK_DROP_IP_FRAGMENT);

    put_u16(buf + IP_OFF_FLAGS_FRAG, 0x4000); /* DF alone is not a fragment */
    ip_fix_checksum(buf);
    assert_int_equal(wire_ipv4_parse(buf, len, &ip), SYNACK_DROP_NONE);
    assert_false(ip.frag.present);
    assert_true(ip.df);
}

/* The emitter writes MF and the offset (in 8-byte units) that the parser reads back. */
static void ipv4_fragment_round_trip(void **state)
{
    (void)state;
    uint8_t buf[WIRE_IPV4_HDR_LEN];
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.df = false;
    ip.frag = (struct wire_ip_frag){.present = true, .more = true, .offset = 1480};
    ip.payload_len = 0;
    wire_ipv4_emit(&ip, buf);
    assert_int_equal(buf[IP_OFF_FLAGS_FRAG] << 8 | buf[IP_OFF_FLAGS_FRAG + 1], 0x2000 | 185);
    struct wire_ip_repr got;
    assert_int_equal(wire_ipv4_parse(buf, sizeof buf, &got), SYNACK_DROP_NONE);
    assert_true(got.frag.present && got.frag.more && !got.df);
    assert_int_equal(got.frag.offset, 1480);
    assert_int_equal(got.frag.id, ip.id);
}

/* ---- TCP --------------------------------------------------------------------------------- */

static void tcp_round_trip_all_options(void **state)
{
    (void)state;
    const uint8_t data[10] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
    struct wire_tcp_repr tcp = tcp_all_options(data, sizeof(data));
    /* MSS 4 + SACKperm/TS 12 + NOP/WS 4 + NOP NOP SACK(2 blocks) 20 = 40 option bytes. */
    assert_int_equal(wire_tcp_header_len(&tcp), 60);

    uint8_t seg[128];
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    assert_int_equal(len, 70);

    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.src_port, PORT_A);
    assert_int_equal(got.dst_port, PORT_B);
    assert_int_equal(got.seq, tcp.seq);
    assert_int_equal(got.ack, tcp.ack);
    assert_int_equal(got.flags, tcp.flags);
    assert_int_equal(got.window, tcp.window);
    assert_int_equal(got.urgent, tcp.urgent);
    assert_true(got.has_mss);
    assert_int_equal(got.mss, 1460);
    assert_true(got.has_wscale);
    assert_int_equal(got.wscale, 7);
    assert_true(got.sack_permitted);
    assert_true(got.has_ts);
    assert_int_equal(got.ts_val, tcp.ts_val);
    assert_int_equal(got.ts_ecr, tcp.ts_ecr);
    assert_int_equal(got.sack_count, 2);
    assert_memory_equal(got.sack, tcp.sack, 2 * sizeof(tcp.sack[0]));
    assert_int_equal(got.payload_len, sizeof(data));
    assert_ptr_equal(got.payload, seg + 60);
    assert_memory_equal(got.payload, data, sizeof(data));

    /* Emitting the parsed repr gives the same bytes back. */
    uint8_t again[128];
    assert_int_equal(wire_tcp_emit(&got, &ADDR4_A, &ADDR4_B, again, sizeof(again)), len);
    assert_memory_equal(again, seg, len);
}

static void tcp_syn_option_layout_linux_like(void **state)
{
    (void)state;
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_SYN);
    tcp.has_mss = true;
    tcp.mss = 1460;
    tcp.sack_permitted = true;
    tcp.has_ts = true;
    tcp.ts_val = 1;
    tcp.ts_ecr = 0;
    tcp.has_wscale = true;
    tcp.wscale = 7;
    uint8_t seg[64];
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    assert_int_equal(len, 40);
    const uint8_t expect[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    assert_memory_equal(seg + 20, expect, sizeof(expect));

    /* Alone, SACK-permitted and timestamps are each aligned with two NOPs. */
    tcp.has_mss = tcp.has_wscale = tcp.has_ts = false;
    assert_int_equal(wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg)), 24);
    const uint8_t sack_ok[4] = {1, 1, 4, 2};
    assert_memory_equal(seg + 20, sack_ok, 4);
    tcp.sack_permitted = false;
    tcp.has_ts = true;
    assert_int_equal(wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg)), 32);
    const uint8_t ts[4] = {1, 1, 8, 10};
    assert_memory_equal(seg + 20, ts, 4);
}

static void tcp_truncated_header(void **state)
{
    (void)state;
    uint8_t seg[64];
    size_t len = raw_segment(seg, NULL, 0, WIRE_TCP_ACK);
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len - 1, &got), SYNACK_DROP_TCP_TRUNCATED);
    assert_int_equal(parse_segment(seg, 0, &got), SYNACK_DROP_TCP_TRUNCATED);
}

static void tcp_data_offset_below_5(void **state)
{
    (void)state;
    uint8_t seg[64];
    size_t len = raw_segment(seg, NULL, 0, WIRE_TCP_ACK);
    seg[TCP_OFF_DOFF] = 4 << 4;
    tcp_fix_checksum(seg, len, &ADDR4_A, &ADDR4_B);
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_DATA_OFFSET);
}

static void tcp_data_offset_past_end(void **state)
{
    (void)state;
    uint8_t seg[64];
    size_t len = raw_segment(seg, NULL, 0, WIRE_TCP_ACK);
    seg[TCP_OFF_DOFF] = 6 << 4; /* 24 header bytes in a 20-byte segment */
    tcp_fix_checksum(seg, len, &ADDR4_A, &ADDR4_B);
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_DATA_OFFSET);
}

static void tcp_option_len_zero(void **state)
{
    (void)state;
    const uint8_t opts[] = {30, 0, 1, 1};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_TCP_OPTION);
}

static void tcp_option_len_one(void **state)
{
    (void)state;
    const uint8_t opts[] = {1, 1, 30, 1};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_TCP_OPTION);
}

static void tcp_option_past_header(void **state)
{
    (void)state;
    /* Timestamps need 10 bytes; the header holds 8 option bytes. */
    const uint8_t opts[] = {1, 1, 8, 10, 0, 0, 0, 1};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_TCP_OPTION);
    /* A kind byte with no room left for its length byte. */
    const uint8_t no_len[] = {1, 1, 1, 2};
    assert_int_equal(parse_options(no_len, sizeof(no_len), &got), SYNACK_DROP_TCP_OPTION);
}

static void tcp_unknown_option_skipped(void **state)
{
    (void)state;
    /* Kind 30 (MPTCP), length 6, then MSS: the unknown one is skipped by its length. */
    const uint8_t opts[] = {30, 6, 0xaa, 0xbb, 0xcc, 0xdd, 2, 4, 0x05, 0xb4, 0, 0};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_NONE);
    assert_true(got.has_mss);
    assert_int_equal(got.mss, 1460);
}

static void tcp_option_eol_ends_list(void **state)
{
    (void)state;
    /* After EOL, bytes are padding, even ones that would be malformed options. */
    const uint8_t opts[] = {2, 4, 0x02, 0x18, 0, 30, 0, 99};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_NONE);
    assert_true(got.has_mss);
    assert_int_equal(got.mss, 536);
}

static void tcp_mss_wrong_length(void **state)
{
    (void)state;
    const uint8_t opts[] = {2, 3, 0x05, 0};
    struct wire_tcp_repr got;
    assert_int_equal(parse_options(opts, sizeof(opts), &got), SYNACK_DROP_TCP_OPTION);
}

static void tcp_known_options_wrong_length(void **state)
{
    (void)state;
    struct wire_tcp_repr got;
    const uint8_t ws[] = {3, 4, 7, 0};
    assert_int_equal(parse_options(ws, sizeof(ws), &got), SYNACK_DROP_TCP_OPTION);
    const uint8_t sack_ok[] = {4, 3, 0, 0};
    assert_int_equal(parse_options(sack_ok, sizeof(sack_ok), &got), SYNACK_DROP_TCP_OPTION);
    const uint8_t ts[] = {8, 8, 0, 0, 0, 1, 0, 0};
    assert_int_equal(parse_options(ts, sizeof(ts), &got), SYNACK_DROP_TCP_OPTION);
    const uint8_t sack_empty[] = {5, 2, 1, 1};
    assert_int_equal(parse_options(sack_empty, sizeof(sack_empty), &got), SYNACK_DROP_TCP_OPTION);
    const uint8_t sack_partial[] = {5, 6, 0, 0, 0, 1, 1, 1};
    assert_int_equal(parse_options(sack_partial, sizeof(sack_partial), &got),
                     SYNACK_DROP_TCP_OPTION);
}

static void tcp_bad_checksum(void **state)
{
    (void)state;
    const uint8_t data[3] = {1, 2, 3};
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK);
    tcp.payload = data;
    tcp.payload_len = sizeof(data);
    uint8_t seg[64];
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_NONE);
    seg[len - 1] ^= 0x40;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_CHECKSUM);
    seg[len - 1] ^= 0x40;
    /* The pseudo-header counts: the same bytes from another address fail. */
    struct synack_addr other = synack_addr_v4(ADDR_B + 1);
    assert_int_equal(wire_tcp_parse(seg, len, &ADDR4_A, &other, &got), SYNACK_DROP_TCP_CHECKSUM);
}

static void tcp_syn_fin_rejected(void **state)
{
    (void)state;
    uint8_t seg[64];
    size_t len = raw_segment(seg, NULL, 0, WIRE_TCP_SYN | WIRE_TCP_FIN);
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_FLAGS);
}

static void tcp_syn_rst_rejected(void **state)
{
    (void)state;
    uint8_t seg[64];
    size_t len = raw_segment(seg, NULL, 0, WIRE_TCP_SYN | WIRE_TCP_RST | WIRE_TCP_ACK);
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_FLAGS);
}

static void tcp_port_zero_rejected(void **state)
{
    (void)state;
    struct wire_tcp_repr tcp = tcp_from(PORT_A, 0, WIRE_TCP_SYN);
    uint8_t seg[64];
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    struct wire_tcp_repr got;
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_PORT_ZERO);
    tcp = tcp_from(0, PORT_B, WIRE_TCP_SYN);
    len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_TCP_PORT_ZERO);
}

static void tcp_sack_blocks_round_trip(void **state)
{
    (void)state;
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK);
    tcp.sack_count = 4;
    for (uint32_t i = 0; i < 4; i++)
        tcp.sack[i] = (struct wire_tcp_sack_block){1000 * i + 1, 1000 * i + 500};
    uint8_t seg[64];
    struct wire_tcp_repr got;

    /* Without timestamps all four blocks fit: 2 NOPs + 2 + 32 = 36 bytes. */
    size_t len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    assert_int_equal(len, 56);
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.sack_count, 4);
    assert_memory_equal(got.sack, tcp.sack, sizeof(tcp.sack));

    /* With timestamps (12 bytes) only three fit in the remaining 28. */
    tcp.has_ts = true;
    tcp.ts_val = 5;
    tcp.ts_ecr = 6;
    len = wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, sizeof(seg));
    assert_int_equal(len, 60);
    assert_int_equal(wire_tcp_header_len(&tcp), 60);
    assert_int_equal(parse_segment(seg, len, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.sack_count, 3);
    assert_memory_equal(got.sack, tcp.sack, 3 * sizeof(tcp.sack[0]));
    assert_true(got.has_ts);
}

static void tcp_emit_cap_too_small(void **state)
{
    (void)state;
    const uint8_t data[10] = {0};
    struct wire_tcp_repr tcp = tcp_all_options(data, sizeof(data));
    uint8_t seg[128];
    assert_int_equal(wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, 69), 0);
    assert_int_equal(wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, 0), 0);
    assert_int_equal(wire_tcp_emit(&tcp, &ADDR4_A, &ADDR4_B, seg, 70), 70);

    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    assert_int_equal(wire_packet_emit(&ip, &tcp, seg, 89), 0);
    assert_int_equal(wire_packet_emit(&ip, &tcp, seg, 19), 0);
    assert_int_equal(wire_packet_emit(&ip, &tcp, seg, 90), 90);
}

/* A payload given in two pieces (a ring's wrap) goes out byte for byte as the same payload
 * given whole: same segment, same checksum. A piece missing or longer than the whole is
 * refused. */
static void tcp_emit_payload_in_two_pieces(void **state)
{
    (void)state;
    const uint8_t data[11] = "hello world";
    struct wire_tcp_repr whole = tcp_all_options(data, sizeof(data));
    uint8_t want[128], got[128];
    size_t n = wire_tcp_emit(&whole, &ADDR4_A, &ADDR4_B, want, sizeof(want));
    assert_true(n > sizeof(data));
    for (size_t split = 0; split <= sizeof(data); split++) {
        struct wire_tcp_repr two = whole;
        two.payload = split ? data : NULL;
        two.payload_wrap = data + split;
        two.payload_wrap_len = sizeof(data) - split;
        memset(got, 0xee, sizeof(got));
        assert_int_equal(wire_tcp_emit(&two, &ADDR4_A, &ADDR4_B, got, sizeof(got)), n);
        assert_memory_equal(got, want, n);
    }
    struct wire_tcp_repr bad = whole;
    bad.payload_wrap = NULL;
    bad.payload_wrap_len = 3; /* a second piece with no bytes */
    assert_int_equal(wire_tcp_emit(&bad, &ADDR4_A, &ADDR4_B, got, sizeof(got)), 0);
    bad.payload_wrap = data;
    bad.payload_wrap_len = sizeof(data) + 1; /* longer than the whole payload */
    assert_int_equal(wire_tcp_emit(&bad, &ADDR4_A, &ADDR4_B, got, sizeof(got)), 0);
}

/* ---- whole packets ----------------------------------------------------------------------- */

static void packet_round_trip(void **state)
{
    (void)state;
    const uint8_t data[10] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    struct wire_tcp_repr tcp = tcp_all_options(data, sizeof(data));
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.proto = 0; /* set by emit */
    uint8_t pkt[128];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    assert_int_equal(len, 90);
    assert_int_equal(ip.proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(ip.payload_len, 70);

    struct wire_ip_repr gip;
    struct wire_tcp_repr gtcp;
    assert_int_equal(wire_packet_parse(pkt, len, &gip, &gtcp), SYNACK_DROP_NONE);
    assert_int_equal(gip.payload_len, 70);
    assert_int_equal(gtcp.payload_len, sizeof(data));
    assert_memory_equal(gtcp.payload, data, sizeof(data));
}

static void packet_not_tcp(void **state)
{
    (void)state;
    uint8_t pkt[64];
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.proto = WIRE_IP_PROTO_UDP;
    ip.payload_len = 8;
    wire_ipv4_emit(&ip, pkt);
    memset(pkt + 20, 0, 8);
    struct wire_ip_repr gip;
    struct wire_tcp_repr gtcp;
    assert_int_equal(wire_packet_parse(pkt, 28, &gip, &gtcp), SYNACK_DROP_IP_PROTOCOL);
}

/* ---- the public segment view (synack.h) ------------------------------------------------ */

static struct synack_segment segment_all_options(const uint8_t *payload, size_t len)
{
    return (struct synack_segment){.src = ADDR4_A,
                                   .dst = ADDR4_B,
                                   .ttl = 64,
                                   .df = true,
                                   .src_port = PORT_A,
                                   .dst_port = PORT_B,
                                   .seq = 0xfffffff0u,
                                   .ack = 0x01020304u,
                                   .flags = SYNACK_TCP_SYN | SYNACK_TCP_ACK,
                                   .window = 1234,
                                   .has_mss = true,
                                   .mss = 1460,
                                   .has_wscale = true,
                                   .wscale = 7,
                                   .has_ts = true,
                                   .ts_val = 0xdeadbeefu,
                                   .ts_ecr = 0x01234567u,
                                   .payload = payload,
                                   .payload_len = len};
}

/* synack_segment_emit writes the bytes the stack's builder writes for the same fields, and
 * synack_segment_parse gives every field back. */
static void segment_emit_parse_round_trip(void **state)
{
    (void)state;
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    struct synack_segment s = segment_all_options(data, sizeof(data));
    uint8_t pkt[128];
    size_t len = synack_segment_emit(&s, pkt, sizeof(pkt));
    /* MSS 4 + NOP NOP TS 12 + NOP WS 4 = 20 option bytes. */
    assert_int_equal(len, 20 + 20 + 20 + sizeof(data));

    struct wire_ip_repr ip = {.src = ADDR4_A, .dst = ADDR4_B, .ttl = 64, .df = true};
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_SYN | WIRE_TCP_ACK);
    tcp.seq = s.seq;
    tcp.ack = s.ack;
    tcp.window = s.window;
    tcp.urgent = 0;
    tcp.has_mss = tcp.has_wscale = tcp.has_ts = true;
    tcp.mss = s.mss;
    tcp.wscale = s.wscale;
    tcp.ts_val = s.ts_val;
    tcp.ts_ecr = s.ts_ecr;
    tcp.payload = data;
    tcp.payload_len = sizeof(data);
    uint8_t ref[128];
    assert_int_equal(wire_packet_emit(&ip, &tcp, ref, sizeof(ref)), len);
    assert_memory_equal(pkt, ref, len);

    struct synack_segment g;
    assert_int_equal(synack_segment_parse(pkt, len, &g), SYNACK_DROP_NONE);
    assert_true(synack_addr_eq(&g.src, &ADDR4_A));
    assert_true(synack_addr_eq(&g.dst, &ADDR4_B));
    assert_int_equal(g.ttl, 64);
    assert_true(g.df);
    assert_int_equal(g.src_port, PORT_A);
    assert_int_equal(g.dst_port, PORT_B);
    assert_int_equal(g.seq, s.seq);
    assert_int_equal(g.ack, s.ack);
    assert_int_equal(g.flags, s.flags);
    assert_int_equal(g.window, s.window);
    assert_true(g.has_mss && g.mss == 1460);
    assert_true(g.has_wscale && g.wscale == 7);
    assert_true(g.has_ts && g.ts_val == s.ts_val && g.ts_ecr == s.ts_ecr);
    assert_int_equal(g.payload_len, sizeof(data));
    assert_ptr_equal(g.payload, pkt + len - sizeof(data));
}

/* A packet the stack would drop is reported with the stack's reason; nothing is written
 * that does not fit. */
static void segment_parse_and_emit_refuse(void **state)
{
    (void)state;
    uint8_t pkt[128];
    struct synack_segment s = segment_all_options(NULL, 0), g;
    size_t len = synack_segment_emit(&s, pkt, sizeof(pkt));
    assert_int_equal(synack_segment_emit(&s, pkt, len - 1), 0);
    s.payload_len = 3; /* and no payload */
    assert_int_equal(synack_segment_emit(&s, pkt, sizeof(pkt)), 0);

    pkt[len - 1] ^= 1; /* the last option byte: the TCP checksum no longer holds */
    assert_int_equal(synack_segment_parse(pkt, len, &g), SYNACK_DROP_TCP_CHECKSUM);
    assert_int_equal(synack_segment_parse(pkt, 19, &g), SYNACK_DROP_IP_TRUNCATED);
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.proto = WIRE_IP_PROTO_UDP;
    ip.payload_len = 8;
    wire_ipv4_emit(&ip, pkt);
    memset(pkt + 20, 0, 8);
    assert_int_equal(synack_segment_parse(pkt, 28, &g), SYNACK_DROP_IP_PROTOCOL);
}

/* A capture's segment with a wrong TCP checksum (checksum offload) parses through
 * synack_segment_parse_capture, flagged; SACK options come back; other checks stay. */
static void segment_parse_capture_tolerates_checksum(void **state)
{
    (void)state;
    struct wire_ip_repr ip = {.src = ADDR4_A, .dst = ADDR4_B, .ttl = 64};
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK);
    tcp.sack_count = 2;
    tcp.sack[0] = (struct wire_tcp_sack_block){.left = 100, .right = 200};
    tcp.sack[1] = (struct wire_tcp_sack_block){.left = 300, .right = 400};
    uint8_t pkt[128];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    assert_true(len > 40);
    struct synack_segment g;
    struct synack_segment_extra x;
    assert_int_equal(synack_segment_parse_capture(pkt, len, &g, &x), SYNACK_DROP_NONE);
    assert_true(x.checksum_ok);
    assert_false(x.sack_permitted);
    assert_int_equal(x.sack_count, 2);
    assert_int_equal(x.sack[1].left, 300);
    assert_int_equal(x.sack[1].right, 400);

    pkt[20 + 16] ^= 0x55; /* the TCP checksum field */
    assert_int_equal(synack_segment_parse(pkt, len, &g), SYNACK_DROP_TCP_CHECKSUM);
    assert_int_equal(synack_segment_parse_capture(pkt, len, &g, &x), SYNACK_DROP_NONE);
    assert_false(x.checksum_ok);
    assert_int_equal(g.src_port, PORT_A);
    assert_int_equal(synack_segment_parse_capture(pkt, 30, &g, &x), SYNACK_DROP_IP_TOTAL_LEN);
}

static void segment_flags_as_tcpdump_prints_them(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(synack_format_tcp_flags(buf, sizeof(buf), SYNACK_TCP_SYN | SYNACK_TCP_ACK), 4);
    assert_string_equal(buf, "[S.]");
    synack_format_tcp_flags(buf, sizeof(buf), SYNACK_TCP_FIN | SYNACK_TCP_PSH | SYNACK_TCP_ACK);
    assert_string_equal(buf, "[FP.]");
    synack_format_tcp_flags(buf, sizeof(buf), 0);
    assert_string_equal(buf, "[none]");
}

/* Every prefix of a valid packet is dropped with a reason, never read past its end (the copy
 * is exactly `cut` bytes on the heap, so ASan sees any overrun). */
static void packet_truncated_at_every_length(void **state)
{
    (void)state;
    const uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct wire_tcp_repr tcp = tcp_all_options(data, sizeof(data));
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    uint8_t pkt[128];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    size_t tcp_header_len = wire_tcp_header_len(&tcp);

    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut > 0 ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, pkt, cut);
        struct wire_ip_repr gip;
        struct wire_tcp_repr gtcp;
        enum synack_drop drop = wire_packet_parse(copy, cut, &gip, &gtcp);
        assert_int_equal(drop, cut < 20 ? SYNACK_DROP_IP_TRUNCATED : SYNACK_DROP_IP_TOTAL_LEN);
        char line[256];
        synack_format_packet(line, sizeof(line), copy, cut);
        assert_non_null(strstr(line, "malformed packet ("));

        /* The same cut with a consistent IPv4 header: now TCP must notice. */
        if (cut >= 20) {
            put_u16(copy + IP_OFF_TOTAL_LEN, (uint16_t)cut);
            ip_fix_checksum(copy);
            size_t seg_len = cut - 20;
            enum synack_drop want = seg_len < 20               ? SYNACK_DROP_TCP_TRUNCATED
                                    : seg_len < tcp_header_len ? SYNACK_DROP_TCP_DATA_OFFSET
                                                               : SYNACK_DROP_TCP_CHECKSUM;
            assert_int_equal(wire_packet_parse(copy, cut, &gip, &gtcp), want);
            /* And the bare segment, cut the same way. */
            assert_int_equal(wire_tcp_parse(copy + 20, seg_len, &ADDR4_A, &ADDR4_B, &gtcp), want);
        }
        free(copy);
    }
}

/* Random damage: parse and format must never crash or read out of bounds, and whatever
 * parses must describe bytes inside the packet. */
static void packet_random_corruption_no_crash(void **state)
{
    (void)state;
    const uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct wire_tcp_repr tcp = tcp_all_options(data, sizeof(data));
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    uint8_t pkt[128];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    struct rand_pcg rng;
    rand_seed(&rng, 42, 1);
    for (int round = 0; round < 20000; round++) {
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, pkt, len);
        unsigned flips = 1 + rand_below(&rng, 4);
        for (unsigned i = 0; i < flips; i++)
            copy[rand_below(&rng, (uint32_t)len)] = (uint8_t)rand_u32(&rng);
        /* Half the time repair the checksums, so the damage reaches the later checks. */
        if (rand_below(&rng, 2) && (copy[0] >> 4) == 4 && (copy[0] & 0x0f) == 5) {
            put_u16(copy + IP_OFF_TOTAL_LEN, (uint16_t)len);
            ip_fix_checksum(copy);
            tcp_fix_checksum(copy + 20, len - 20, &ADDR4_A, &ADDR4_B);
        }
        struct wire_ip_repr gip;
        struct wire_tcp_repr gtcp;
        enum synack_drop drop = wire_packet_parse(copy, len, &gip, &gtcp);
        assert_true(drop < SYNACK_DROP_COUNT);
        if (drop == SYNACK_DROP_NONE) {
            assert_true(gtcp.payload >= copy + gip.header_len + WIRE_TCP_HDR_LEN);
            assert_true(gtcp.payload + gtcp.payload_len <= copy + len);
            assert_true(gtcp.sack_count <= WIRE_TCP_MAX_SACK);
        }
        char line[512];
        size_t n = synack_format_packet(line, sizeof(line), copy, len);
        assert_int_equal(n, strlen(line));
        free(copy);
    }
}

/* ---- formatting -------------------------------------------------------------------------- */

/* Formats `tcp` both ways: wire_fmt_tcp on the repr, and synack_format_packet on the emitted
 * bytes; both must give `expect`. */
static void assert_formats_as(const struct wire_ip_repr *ip_in, const struct wire_tcp_repr *tcp,
                              const char *expect)
{
    struct wire_ip_repr ip = *ip_in;
    char line[256];
    size_t n = wire_fmt_tcp(line, sizeof(line), &ip, tcp);
    assert_string_equal(line, expect);
    assert_int_equal(n, strlen(expect));

    uint8_t pkt[256];
    size_t len = wire_packet_emit(&ip, tcp, pkt, sizeof(pkt));
    assert_true(len > 0);
    n = synack_format_packet(line, sizeof(line), pkt, len);
    assert_string_equal(line, expect);
    assert_int_equal(n, strlen(expect));
}

static void fmt_syn_line(void **state)
{
    (void)state;
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_SYN);
    tcp.has_mss = true;
    tcp.mss = 1460;
    assert_formats_as(&ip, &tcp,
                      "198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1, win 65535, "
                      "options [mss 1460], length 0");
}

static void fmt_syn_ack_with_options(void **state)
{
    (void)state;
    struct wire_ip_repr ip = ip_from(ADDR_B, ADDR_A);
    struct wire_tcp_repr tcp = tcp_from(PORT_B, PORT_A, WIRE_TCP_SYN | WIRE_TCP_ACK);
    tcp.seq = 7;
    tcp.ack = 2;
    tcp.has_mss = true;
    tcp.mss = 1460;
    tcp.sack_permitted = true;
    tcp.has_ts = true;
    tcp.ts_val = 1;
    tcp.ts_ecr = 2;
    tcp.has_wscale = true;
    tcp.wscale = 7;
    assert_formats_as(&ip, &tcp,
                      "198.18.0.2.80 > 198.18.0.1.40000: Flags [S.], seq 7, ack 2, win 65535, "
                      "options [mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7], length 0");
}

static void fmt_data_range(void **state)
{
    (void)state;
    uint8_t data[100];
    memset(data, 'x', sizeof(data));
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_PSH | WIRE_TCP_ACK);
    tcp.seq = 2;
    tcp.ack = 8;
    tcp.payload = data;
    tcp.payload_len = sizeof(data);
    assert_formats_as(&ip, &tcp,
                      "198.18.0.1.40000 > 198.18.0.2.80: Flags [P.], seq 2:102, ack 8, "
                      "win 65535, length 100");
}

static void fmt_sack_blocks(void **state)
{
    (void)state;
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK);
    tcp.seq = 0xffffffffu;
    tcp.ack = 1;
    tcp.window = 502;
    tcp.has_ts = true;
    tcp.ts_val = 10;
    tcp.ts_ecr = 20;
    tcp.sack_count = 2;
    tcp.sack[0] = (struct wire_tcp_sack_block){2897, 4345};
    tcp.sack[1] = (struct wire_tcp_sack_block){5000, 6000};
    assert_formats_as(&ip, &tcp,
                      "198.18.0.1.40000 > 198.18.0.2.80: Flags [.], seq 4294967295, ack 1, "
                      "win 502, options [nop,nop,TS val 10 ecr 20,nop,nop,"
                      "sack 2 {2897:4345}{5000:6000}], length 0");
}

static void fmt_flags_tcpdump_order(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(wire_fmt_flags(out, sizeof(out), WIRE_TCP_FIN | WIRE_TCP_ACK), 4);
    assert_string_equal(out, "[F.]");
    wire_fmt_flags(out, sizeof(out), WIRE_TCP_RST);
    assert_string_equal(out, "[R]");
    wire_fmt_flags(out, sizeof(out), WIRE_TCP_FIN | WIRE_TCP_PSH | WIRE_TCP_ACK);
    assert_string_equal(out, "[FP.]");
    wire_fmt_flags(out, sizeof(out), WIRE_TCP_SYN | WIRE_TCP_ECE | WIRE_TCP_CWR);
    assert_string_equal(out, "[SEW]");
    wire_fmt_flags(out, sizeof(out), 0xff);
    assert_string_equal(out, "[FSRP.UEW]");
    wire_fmt_flags(out, sizeof(out), 0);
    assert_string_equal(out, "[none]");
}

static void fmt_addr_and_truncation(void **state)
{
    (void)state;
    char out[16];
    struct synack_addr all = synack_addr_v4(0xffffffffu), zero = synack_addr_v4(0);
    assert_ptr_equal(wire_fmt_addr(out, sizeof(out), &all), out);
    assert_string_equal(out, "255.255.255.255");
    wire_fmt_addr(out, sizeof(out), &zero);
    assert_string_equal(out, "0.0.0.0");

    /* A short buffer is cut off but always NUL-terminated; cap 0 writes nothing. */
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_SYN);
    char small[8];
    memset(small, 'z', sizeof(small));
    assert_int_equal(wire_fmt_tcp(small, sizeof(small), &ip, &tcp), 7);
    assert_string_equal(small, "198.18.");
    assert_int_equal(wire_fmt_tcp(small, 0, &ip, &tcp), 0);
    assert_int_equal(small[0], '1');
}

static void format_packet_malformed(void **state)
{
    (void)state;
    uint8_t data[20] = {0};
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    struct wire_tcp_repr tcp = tcp_from(PORT_A, PORT_B, WIRE_TCP_ACK);
    tcp.payload = data;
    tcp.payload_len = sizeof(data);
    uint8_t pkt[128];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    assert_int_equal(len, 60);
    pkt[59] ^= 0xff;
    char line[128];
    size_t n = synack_format_packet(line, sizeof(line), pkt, len);
    assert_string_equal(line, "malformed packet (tcp-checksum), 60 bytes");
    assert_int_equal(n, strlen(line));

    n = synack_format_packet(line, sizeof(line), pkt, 10);
    assert_string_equal(line, "malformed packet (ip-truncated), 10 bytes");
}

static void format_packet_not_tcp(void **state)
{
    (void)state;
    uint8_t pkt[64];
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.proto = WIRE_IP_PROTO_ICMP;
    ip.payload_len = 8;
    wire_ipv4_emit(&ip, pkt);
    memset(pkt + 20, 0, 8);
    char line[128];
    synack_format_packet(line, sizeof(line), pkt, 28);
    assert_string_equal(line, "198.18.0.1 > 198.18.0.2: ip-proto 1, length 8");
}

static void format_packet_prints_wire_option_order(void **state)
{
    (void)state;
    /* Options as another stack might lay them out: printed as they are on the wire. */
    const uint8_t opts[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 2, 4, 2, 30, 2, 0, 0, 0, 0};
    uint8_t pkt[128];
    struct wire_ip_repr ip = ip_from(ADDR_A, ADDR_B);
    ip.payload_len = 20 + sizeof(opts);
    wire_ipv4_emit(&ip, pkt);
    size_t seg_len = raw_segment(pkt + 20, opts, sizeof(opts), WIRE_TCP_SYN);
    char line[256];
    synack_format_packet(line, sizeof(line), pkt, 20 + seg_len);
    assert_string_equal(line, "198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1, win 65535, "
                              "options [mss 1460,nop,wscale 2,sackOK,unknown-30 len 2,eol], "
                              "length 0");
}

static void drop_names_cover_every_reason(void **state)
{
    (void)state;
    for (int i = 0; i < SYNACK_DROP_COUNT; i++) {
        const char *name = synack_drop_name((enum synack_drop)i);
        assert_non_null(name);
        assert_string_not_equal(name, "unknown");
        assert_true(strlen(name) > 0);
        /* kebab-case */
        for (const char *p = name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(name, synack_drop_name((enum synack_drop)j));
    }
    assert_string_equal(synack_drop_name(SYNACK_DROP_COUNT), "unknown");
    assert_string_equal(synack_drop_name((enum synack_drop)1000), "unknown");
    assert_string_equal(synack_drop_name(SYNACK_DROP_IP_CHECKSUM), "ip-checksum");
    assert_string_equal(synack_drop_name(SYNACK_DROP_TCP_DATA_OFFSET), "tcp-data-offset");
    assert_string_equal(synack_drop_name(SYNACK_DROP_SYN_QUEUE_FULL), "syn-queue-full");
}

/* wire_tcp_peek_tuple: the tuple the full parse would give, for both families; false where
 * the bytes hold no TCP ports to hint at. */
static void tcp_peek_tuple_reads_ports_and_refuses_what_has_none(void **state)
{
    (void)state;
    static const uint8_t six_a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t six_b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    struct synack_addr pairs[2][2] = {
        {synack_addr_v4(0xc6120001u), synack_addr_v4(0xc6120002u)},
        {synack_addr_v6(six_a), synack_addr_v6(six_b)},
    };
    for (int f = 0; f < 2; f++) {
        uint8_t pkt[256] = {0};
        struct wire_ip_repr ip = {.src = pairs[f][0], .dst = pairs[f][1], .ttl = 64};
        struct wire_tcp_repr t = {
            .src_port = 40000, .dst_port = 80, .seq = 1, .flags = WIRE_TCP_SYN, .window = 1000};
        size_t n = wire_packet_emit(&ip, &t, pkt, sizeof pkt);
        assert_true(n > 0);
        struct synack_addr src, dst;
        uint16_t sport = 0, dport = 0;
        assert_true(wire_tcp_peek_tuple(pkt, n, &src, &sport, &dst, &dport));
        assert_true(synack_addr_eq(&src, &pairs[f][0]) && synack_addr_eq(&dst, &pairs[f][1]));
        assert_int_equal(sport, 40000);
        assert_int_equal(dport, 80);
        /* The ports are the last four bytes it needs: one fewer and there are none. */
        size_t hdr = f == 0 ? WIRE_IPV4_HDR_LEN : WIRE_IPV6_HDR_LEN;
        assert_true(wire_tcp_peek_tuple(pkt, hdr + 4, &src, &sport, &dst, &dport));
        assert_false(wire_tcp_peek_tuple(pkt, hdr + 3, &src, &sport, &dst, &dport));
        /* Another protocol. */
        pkt[f == 0 ? 9 : 6] = WIRE_IP_PROTO_UDP;
        assert_false(wire_tcp_peek_tuple(pkt, n, &src, &sport, &dst, &dport));
        pkt[f == 0 ? 9 : 6] = WIRE_IP_PROTO_TCP;
        if (f == 0) {
            /* A later fragment (offset 8 bytes): what follows its header is no TCP header. */
            pkt[7] = 1;
            assert_false(wire_tcp_peek_tuple(pkt, n, &src, &sport, &dst, &dport));
            pkt[7] = 0;
            /* An IHL below 5, and an IHL that puts the ports past the end. */
            pkt[0] = 0x44;
            assert_false(wire_tcp_peek_tuple(pkt, n, &src, &sport, &dst, &dport));
            pkt[0] = 0x4f;
            assert_false(wire_tcp_peek_tuple(pkt, 60 + 3, &src, &sport, &dst, &dport));
            assert_true(wire_tcp_peek_tuple(pkt, 60 + 4, &src, &sport, &dst, &dport));
        }
        /* A version that is neither, and nothing at all. */
        pkt[0] = 0x55;
        assert_false(wire_tcp_peek_tuple(pkt, n, &src, &sport, &dst, &dport));
        assert_false(wire_tcp_peek_tuple(pkt, 0, &src, &sport, &dst, &dport));
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_peek_tuple_reads_ports_and_refuses_what_has_none),
    cmocka_unit_test(checksum_rfc1071_example),
    cmocka_unit_test(checksum_odd_length_pads_with_zero),
    cmocka_unit_test(checksum_matches_reference_random),
    cmocka_unit_test(checksum_matches_reference_edges),
    cmocka_unit_test(checksum_pseudo_header),
    cmocka_unit_test(ipv4_round_trip),
    cmocka_unit_test(ipv4_truncated),
    cmocka_unit_test(ipv4_bad_version),
    cmocka_unit_test(ipv4_ihl_below_5),
    cmocka_unit_test(ipv4_total_len_exceeds_buffer),
    cmocka_unit_test(ipv4_total_len_below_header),
    cmocka_unit_test(ipv4_link_padding_ignored),
    cmocka_unit_test(ipv4_options_skipped),
    cmocka_unit_test(ipv4_bad_checksum),
    cmocka_unit_test(ipv4_fragment_described),
    cmocka_unit_test(ipv4_fragment_round_trip),
    cmocka_unit_test(tcp_round_trip_all_options),
    cmocka_unit_test(tcp_syn_option_layout_linux_like),
    cmocka_unit_test(tcp_truncated_header),
    cmocka_unit_test(tcp_data_offset_below_5),
    cmocka_unit_test(tcp_data_offset_past_end),
    cmocka_unit_test(tcp_option_len_zero),
    cmocka_unit_test(tcp_option_len_one),
    cmocka_unit_test(tcp_option_past_header),
    cmocka_unit_test(tcp_unknown_option_skipped),
    cmocka_unit_test(tcp_option_eol_ends_list),
    cmocka_unit_test(tcp_mss_wrong_length),
    cmocka_unit_test(tcp_known_options_wrong_length),
    cmocka_unit_test(tcp_bad_checksum),
    cmocka_unit_test(tcp_syn_fin_rejected),
    cmocka_unit_test(tcp_syn_rst_rejected),
    cmocka_unit_test(tcp_port_zero_rejected),
    cmocka_unit_test(tcp_sack_blocks_round_trip),
    cmocka_unit_test(tcp_emit_cap_too_small),
    cmocka_unit_test(tcp_emit_payload_in_two_pieces),
    cmocka_unit_test(packet_round_trip),
    cmocka_unit_test(packet_not_tcp),
    cmocka_unit_test(segment_emit_parse_round_trip),
    cmocka_unit_test(segment_parse_and_emit_refuse),
    cmocka_unit_test(segment_flags_as_tcpdump_prints_them),
    cmocka_unit_test(packet_truncated_at_every_length),
    cmocka_unit_test(packet_random_corruption_no_crash),
    cmocka_unit_test(fmt_syn_line),
    cmocka_unit_test(fmt_syn_ack_with_options),
    cmocka_unit_test(fmt_data_range),
    cmocka_unit_test(fmt_sack_blocks),
    cmocka_unit_test(fmt_flags_tcpdump_order),
    cmocka_unit_test(fmt_addr_and_truncation),
    cmocka_unit_test(format_packet_malformed),
    cmocka_unit_test(format_packet_not_tcp),
    cmocka_unit_test(format_packet_prints_wire_option_order),
    cmocka_unit_test(drop_names_cover_every_reason),
    cmocka_unit_test(segment_parse_capture_tolerates_checksum),
};

SYNACK_TEST_MAIN("wire", tests)
