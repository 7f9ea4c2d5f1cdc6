/* wire/icmp.c: ICMP (RFC 792) byte round trips against known bytes, the next-hop MTU of
 * RFC 1191 §4, the returned datagram of error messages, malformed and truncated input, and
 * the one-line format. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <synack/synack.h>

#include "wire/wire.h"

#define ADDR_A 0xc6120001u /* 198.18.0.1 */
#define ADDR_B 0xc6120002u /* 198.18.0.2 */
#define ADDR_R 0xc61200feu /* 198.18.0.254: a router */

/* Echo request id 0x1234 seq 1 with data "abcdefgh", checksum worked out by hand from RFC
 * 1071 (sum of the words with the field zero is 0xabca, complemented 0x5435). */
static const uint8_t echo_request_bytes[] = {0x08, 0x00, 0x54, 0x35, 0x12, 0x34, 0x00, 0x01,
                                             'a',  'b',  'c',  'd',  'e',  'f',  'g',  'h'};
/* The same as a reply: type 0, so the checksum grows by 0x0800. */
static const uint8_t echo_reply_bytes[] = {0x00, 0x00, 0x5c, 0x35, 0x12, 0x34, 0x00, 0x01,
                                           'a',  'b',  'c',  'd',  'e',  'f',  'g',  'h'};

/* Parses a heap copy of exactly `len` bytes, so ASan sees any read past the end. */
static enum synack_drop parse_copy(const uint8_t *msg, size_t len, struct wire_icmp_repr *out)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, msg, len);
    enum synack_drop d = wire_icmp_parse(copy, len, out);
    free(copy);
    return d;
}

/* A destination unreachable returning a TCP segment 198.18.0.1:40000 -> 198.18.0.2:80 with
 * sequence number `seq`, of `total_len` bytes, with `quote_data` bytes after its header. */
static size_t build_unreach(uint8_t *buf, size_t cap, uint8_t code, uint16_t mtu, uint32_t seq,
                            uint16_t total_len, size_t quote_data)
{
    uint8_t quote[WIRE_IPV4_HDR_LEN + 64] = {0};
    struct wire_ip_repr qip = {.src = synack_addr_v4(ADDR_A),
                               .dst = synack_addr_v4(ADDR_B),
                               .proto = WIRE_IP_PROTO_TCP,
                               .ttl = 1,
                               .df = true,
                               .payload_len = (uint16_t)(total_len - WIRE_IPV4_HDR_LEN)};
    wire_ipv4_emit(&qip, quote);
    uint8_t *t = quote + WIRE_IPV4_HDR_LEN;
    t[0] = 40000 >> 8;
    t[1] = 40000 & 0xff;
    t[2] = 0;
    t[3] = 80;
    t[4] = (uint8_t)(seq >> 24);
    t[5] = (uint8_t)(seq >> 16);
    t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
    struct wire_icmp_repr m = {.type = WIRE_ICMP_DEST_UNREACH,
                               .code = code,
                               .mtu = mtu,
                               .data = quote,
                               .data_len = WIRE_IPV4_HDR_LEN + quote_data};
    return wire_icmp_emit(&m, buf, cap);
}

/* Recomputes the checksum after a test changed bytes on purpose (RFC 792). */
static void refresh_checksum(uint8_t *msg, size_t len)
{
    msg[2] = msg[3] = 0;
    uint16_t sum = wire_csum_finish(wire_csum_add(0, msg, len));
    msg[2] = (uint8_t)(sum >> 8);
    msg[3] = (uint8_t)sum;
}

/* ---- echo ------------------------------------------------------------------------------- */

static void echo_request_emits_known_bytes_rfc792(void **state)
{
    (void)state;
    struct wire_icmp_repr m = {.type = WIRE_ICMP_ECHO_REQUEST,
                               .id = 0x1234,
                               .seq = 1,
                               .data = (const uint8_t *)"abcdefgh",
                               .data_len = 8};
    uint8_t buf[64];
    assert_int_equal(wire_icmp_len(&m), sizeof echo_request_bytes);
    assert_int_equal(wire_icmp_emit(&m, buf, sizeof buf), sizeof echo_request_bytes);
    assert_memory_equal(buf, echo_request_bytes, sizeof echo_request_bytes);
    m.type = WIRE_ICMP_ECHO_REPLY;
    assert_int_equal(wire_icmp_emit(&m, buf, sizeof buf), sizeof echo_reply_bytes);
    assert_memory_equal(buf, echo_reply_bytes, sizeof echo_reply_bytes);
}

static void echo_request_parses_id_seq_data_rfc792(void **state)
{
    (void)state;
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(echo_request_bytes, sizeof echo_request_bytes, &m),
                     SYNACK_DROP_NONE);
    /* m.data pointed into the freed copy: parse in place to look at the data. */
    assert_int_equal(wire_icmp_parse(echo_request_bytes, sizeof echo_request_bytes, &m),
                     SYNACK_DROP_NONE);
    assert_ptr_equal(m.data, echo_request_bytes + 8);
    assert_int_equal(m.type, WIRE_ICMP_ECHO_REQUEST);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.id, 0x1234);
    assert_int_equal(m.seq, 1);
    assert_false(m.is_error);
    assert_int_equal(m.data_len, 8);
    assert_memory_equal(m.data, "abcdefgh", 8);
}

static void emit_needs_room_for_the_whole_message(void **state)
{
    (void)state;
    struct wire_icmp_repr m = {
        .type = WIRE_ICMP_ECHO_REPLY, .data = (const uint8_t *)"abcdefgh", .data_len = 8};
    uint8_t buf[64];
    assert_int_equal(wire_icmp_emit(&m, buf, 15), 0);
    assert_int_equal(wire_icmp_emit(&m, buf, 16), 16);
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(ADDR_A), .dst = synack_addr_v4(ADDR_B), .ttl = 64};
    assert_int_equal(wire_icmp_packet_emit(&ip, &m, buf, 35), 0);
    assert_int_equal(wire_icmp_packet_emit(&ip, &m, buf, 36), 36);
    /* The packet carries ICMP, and its IPv4 header checks. */
    struct wire_ip_repr got;
    assert_int_equal(wire_ipv4_parse(buf, 36, &got), SYNACK_DROP_NONE);
    assert_int_equal(got.proto, WIRE_IP_PROTO_ICMP);
    assert_int_equal(got.payload_len, 16);
}

/* ---- malformed ---------------------------------------------------------------------------- */

static void shorter_than_header_is_truncated(void **state)
{
    (void)state;
    struct wire_icmp_repr m;
    for (size_t len = 0; len < WIRE_ICMP_HDR_LEN; len++)
        assert_int_equal(parse_copy(echo_request_bytes, len, &m), SYNACK_DROP_ICMP_TRUNCATED);
    /* A bare header (no data) is a whole message. */
    uint8_t bare[8] = {0x08, 0x00, 0xf7, 0xff, 0, 0, 0, 0};
    assert_int_equal(parse_copy(bare, sizeof bare, &m), SYNACK_DROP_NONE);
}

static void any_changed_byte_fails_the_checksum_rfc792(void **state)
{
    (void)state;
    /* The checksum covers the whole message, data included. */
    struct wire_icmp_repr m;
    for (size_t i = 0; i < sizeof echo_request_bytes; i++) {
        uint8_t copy[sizeof echo_request_bytes];
        memcpy(copy, echo_request_bytes, sizeof copy);
        copy[i] ^= 0x10;
        assert_int_equal(parse_copy(copy, sizeof copy, &m), SYNACK_DROP_ICMP_CHECKSUM);
    }
    /* The sum runs over exactly the length given (the IPv4 payload): one byte short fails. */
    assert_int_equal(parse_copy(echo_request_bytes, sizeof echo_request_bytes - 1, &m),
                     SYNACK_DROP_ICMP_CHECKSUM);
}

/* ---- error messages ----------------------------------------------------------------------- */

static void frag_needed_carries_next_hop_mtu_rfc1191_4(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_FRAG_NEEDED, 1280, 0xdeadbeef, 1500, 8);
    assert_int_equal(n, 8 + 20 + 8);
    /* RFC 1191 §4: unused (16 bits, zero), then the Next-Hop MTU. */
    assert_int_equal(buf[4], 0);
    assert_int_equal(buf[5], 0);
    assert_int_equal(buf[6], 1280 >> 8);
    assert_int_equal(buf[7], 1280 & 0xff);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP_DEST_UNREACH);
    assert_int_equal(m.code, WIRE_ICMP_FRAG_NEEDED);
    assert_int_equal(m.mtu, 1280);
    assert_true(m.is_error);
    const struct wire_ip_quote *q = &m.quote;
    assert_int_equal(synack_addr_v4_value(&q->src), ADDR_A);
    assert_int_equal(synack_addr_v4_value(&q->dst), ADDR_B);
    assert_int_equal(q->proto, WIRE_IP_PROTO_TCP);
    assert_int_equal(q->header_len, 20);
    assert_int_equal(q->total_len, 1500);
    assert_int_equal(q->frag_offset, 0);
    assert_int_equal(q->src_port, 40000);
    assert_int_equal(q->dst_port, 80);
    assert_int_equal(q->seq, 0xdeadbeef);
    assert_int_equal(q->transport_len, 8);
}

static void mtu_field_only_for_code_4(void **state)
{
    (void)state;
    /* Port unreachable whose "unused" word is not zero: no next-hop MTU is read from it. */
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_PORT_UNREACH, 0, 7, 60, 8);
    buf[6] = 0x05;
    buf[7] = 0xdc;
    refresh_checksum(buf, n);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.code, WIRE_ICMP_PORT_UNREACH);
    assert_int_equal(m.mtu, 0);
    /* And emit writes zero there for every code but 4 (m.data points into buf). */
    struct wire_icmp_repr e = m;
    e.mtu = 1500;
    uint8_t out[128];
    assert_int_equal(wire_icmp_emit(&e, out, sizeof out), n);
    assert_int_equal(out[6], 0);
    assert_int_equal(out[7], 0);
}

static void quote_may_hold_more_than_8_bytes_rfc1812(void **state)
{
    (void)state;
    /* RFC 1812 §4.3.2.3: routers may return more of the datagram. */
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_HOST_UNREACH, 0, 99, 84, 40);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.quote.transport_len, 40);
    assert_int_equal(m.quote.seq, 99);
}

static void quote_with_ip_options_finds_the_ports_after_them(void **state)
{
    (void)state;
    /* A returned header with IHL 6 (one word of options): the transport bytes follow it. */
    uint8_t quote[24 + 8] = {0x46, 0,    0,   60, 0, 0, 0x40, 0,  1, WIRE_IP_PROTO_TCP,
                             0,    0,    198, 18, 0, 1, 198,  18, 0, 2,
                             1,    1,    1,   0, /* NOP NOP NOP EOL */
                             0x9c, 0x40, 0,   80, 0, 0, 0,    42};
    struct wire_icmp_repr e = {.type = WIRE_ICMP_TIME_EXCEEDED, .data = quote, .data_len = 32};
    uint8_t buf[64];
    size_t n = wire_icmp_emit(&e, buf, sizeof buf);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.quote.header_len, 24);
    assert_int_equal(m.quote.src_port, 40000);
    assert_int_equal(m.quote.dst_port, 80);
    assert_int_equal(m.quote.seq, 42);
    /* Without the 8 bytes after the options it is a short quote. */
    e.data_len = 24 + 7;
    n = wire_icmp_emit(&e, buf, sizeof buf);
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_ICMP_QUOTE);
}

static void short_or_bad_quote_is_rejected(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct wire_icmp_repr m;
    /* Every error type needs IPv4 header + 8 bytes (RFC 792): one byte less is rejected. */
    static const uint8_t types[] = {WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_SOURCE_QUENCH,
                                    WIRE_ICMP_REDIRECT, WIRE_ICMP_TIME_EXCEEDED,
                                    WIRE_ICMP_PARAM_PROBLEM};
    for (size_t t = 0; t < sizeof types; t++) {
        for (size_t data = 0; data <= 8; data++) {
            size_t n = build_unreach(buf, sizeof buf, 1, 0, 5, 60, data);
            buf[0] = types[t];
            refresh_checksum(buf, n);
            assert_int_equal(parse_copy(buf, n, &m),
                             data < 8 ? SYNACK_DROP_ICMP_QUOTE : SYNACK_DROP_NONE);
        }
    }
    /* No quote at all. */
    size_t n = build_unreach(buf, sizeof buf, 1, 0, 5, 60, 8);
    assert_int_equal(parse_copy(buf, 8, &m), SYNACK_DROP_ICMP_CHECKSUM);
    uint8_t bare[8] = {WIRE_ICMP_DEST_UNREACH, 1};
    refresh_checksum(bare, sizeof bare);
    assert_int_equal(parse_copy(bare, sizeof bare, &m), SYNACK_DROP_ICMP_QUOTE);
    /* Version 6, or IHL below 5, in the returned header. */
    buf[8] = 0x65;
    refresh_checksum(buf, n);
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_ICMP_QUOTE);
    buf[8] = 0x44;
    refresh_checksum(buf, n);
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_ICMP_QUOTE);
    /* An IHL larger than what was returned. */
    buf[8] = 0x4f;
    refresh_checksum(buf, n);
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_ICMP_QUOTE);
    buf[8] = 0x45;
    refresh_checksum(buf, n);
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
}

static void quoted_header_checksum_not_checked_rfc1812(void **state)
{
    (void)state;
    /* RFC 1812 §4.3.2.3: a router need not undo the TTL decrement in the returned header,
     * so its checksum may be stale: the message is still taken. */
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_FRAG_NEEDED, 1000, 5, 1500, 8);
    buf[8 + 8] = 0; /* returned TTL 1 -> 0, checksum left as it was */
    refresh_checksum(buf, n);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.quote.seq, 5);
}

static void non_first_fragment_quote_is_marked(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_HOST_UNREACH, 0, 5, 60, 8);
    buf[8 + 6] = 0x00; /* returned flags/offset: offset 185 (1480 bytes) */
    buf[8 + 7] = 0xb9;
    refresh_checksum(buf, n);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(buf, n, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.quote.frag_offset, 185);
}

static void other_types_parse_without_a_quote(void **state)
{
    (void)state;
    /* Timestamp (13): not an error type; the rest is just data. */
    uint8_t msg[20] = {13, 0};
    refresh_checksum(msg, sizeof msg);
    struct wire_icmp_repr m;
    assert_int_equal(parse_copy(msg, sizeof msg, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, 13);
    assert_false(m.is_error);
    assert_int_equal(m.data_len, 12);
    assert_false(wire_icmp_is_error_type(WIRE_ICMP_ECHO_REQUEST));
    assert_true(wire_icmp_is_error_type(WIRE_ICMP_TIME_EXCEEDED));
}

static void every_prefix_of_an_error_is_rejected_without_overrun(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = build_unreach(buf, sizeof buf, WIRE_ICMP_FRAG_NEEDED, 1000, 5, 1500, 8);
    struct wire_icmp_repr m;
    for (size_t cut = 0; cut < n; cut++) {
        enum synack_drop d = parse_copy(buf, cut, &m);
        assert_true(d == SYNACK_DROP_ICMP_TRUNCATED || d == SYNACK_DROP_ICMP_CHECKSUM ||
                    d == SYNACK_DROP_ICMP_QUOTE);
        /* With the checksum made right for the prefix, only the length can fail it. */
        if (cut >= WIRE_ICMP_HDR_LEN) {
            uint8_t copy[128];
            memcpy(copy, buf, cut);
            refresh_checksum(copy, cut);
            assert_int_equal(parse_copy(copy, cut, &m), SYNACK_DROP_ICMP_QUOTE);
        }
    }
}

/* ---- formatting --------------------------------------------------------------------------- */

static size_t packet_of(uint8_t *pkt, size_t cap, uint32_t src, uint32_t dst, const uint8_t *msg,
                        size_t len)
{
    struct wire_ip_repr ip = {.src = synack_addr_v4(src),
                              .dst = synack_addr_v4(dst),
                              .ttl = 64,
                              .proto = WIRE_IP_PROTO_ICMP};
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(msg, len, &m), SYNACK_DROP_NONE);
    return wire_icmp_packet_emit(&ip, &m, pkt, cap);
}

/* synack_packet_too_big (synack.h): the message a router sends about a packet too big
 * for its next hop (RFC 1191 §4), from the packet's destination back to its source,
 * returning its header and 8 bytes (RFC 792). */
static void frag_needed_emit_returns_header_and_8_bytes(void **state)
{
    (void)state;
    uint8_t data[100] = {0};
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(ADDR_A), .dst = synack_addr_v4(ADDR_B), .ttl = 64, .df = true};
    struct wire_tcp_repr tcp = {.src_port = 40000,
                                .dst_port = 80,
                                .seq = 0x11223344u,
                                .flags = WIRE_TCP_ACK,
                                .payload = data,
                                .payload_len = sizeof(data)};
    uint8_t pkt[200];
    size_t len = wire_packet_emit(&ip, &tcp, pkt, sizeof(pkt));
    uint8_t msg[1280];
    size_t n = synack_packet_too_big(msg, sizeof(msg), pkt, len, 1280);
    assert_int_equal(n, WIRE_IPV4_HDR_LEN + WIRE_ICMP_HDR_LEN + WIRE_IPV4_HDR_LEN + 8);

    struct wire_ip_repr gip;
    assert_int_equal(wire_ipv4_parse(msg, n, &gip), SYNACK_DROP_NONE);
    assert_int_equal(synack_addr_v4_value(&gip.src), ADDR_B);
    assert_int_equal(synack_addr_v4_value(&gip.dst), ADDR_A);
    assert_int_equal(gip.proto, WIRE_IP_PROTO_ICMP);
    assert_int_equal(gip.ttl, 64);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(msg + gip.header_len, gip.payload_len, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP_DEST_UNREACH);
    assert_int_equal(m.code, WIRE_ICMP_FRAG_NEEDED);
    assert_int_equal(m.mtu, 1280);
    assert_true(m.is_error);
    assert_int_equal(synack_addr_v4_value(&m.quote.src), ADDR_A);
    assert_int_equal(synack_addr_v4_value(&m.quote.dst), ADDR_B);
    assert_int_equal(m.quote.total_len, len);
    assert_int_equal(m.quote.src_port, 40000);
    assert_int_equal(m.quote.dst_port, 80);
    assert_int_equal(m.quote.seq, 0x11223344u);

    /* Nothing for what is not an IPv4 header and 8 bytes, or when it does not fit. */
    assert_int_equal(synack_packet_too_big(msg, sizeof(msg), pkt, 27, 1280), 0);
    assert_int_equal(synack_packet_too_big(msg, n - 1, pkt, len, 1280), 0);
    assert_int_equal(synack_packet_too_big(msg, sizeof(msg), pkt, len, 70000), 0);
    pkt[0] = 0x55; /* version 5 */
    assert_int_equal(synack_packet_too_big(msg, sizeof(msg), pkt, len, 1280), 0);
}

static void format_prints_icmp_like_tcpdump(void **state)
{
    (void)state;
    uint8_t pkt[256], msg[128];
    char line[200];
    size_t n =
        packet_of(pkt, sizeof pkt, ADDR_B, ADDR_A, echo_request_bytes, sizeof echo_request_bytes);
    synack_format_packet(line, sizeof line, pkt, n);
    assert_string_equal(line, "198.18.0.2 > 198.18.0.1: ICMP echo request, id 4660, seq 1, "
                              "length 16");
    size_t m = build_unreach(msg, sizeof msg, WIRE_ICMP_FRAG_NEEDED, 1280, 5, 1500, 8);
    n = packet_of(pkt, sizeof pkt, ADDR_R, ADDR_A, msg, m);
    synack_format_packet(line, sizeof line, pkt, n);
    assert_string_equal(line, "198.18.0.254 > 198.18.0.1: ICMP 198.18.0.2 unreachable - need to "
                              "frag (mtu 1280), length 36");
    m = build_unreach(msg, sizeof msg, WIRE_ICMP_PORT_UNREACH, 0, 5, 60, 8);
    n = packet_of(pkt, sizeof pkt, ADDR_B, ADDR_A, msg, m);
    synack_format_packet(line, sizeof line, pkt, n);
    assert_string_equal(line, "198.18.0.2 > 198.18.0.1: ICMP 198.18.0.2 tcp port 80 unreachable, "
                              "length 36");
    /* A malformed ICMP message is still shown as what IPv4 carried. */
    pkt[20 + 2] ^= 0xff;
    synack_format_packet(line, sizeof line, pkt, n);
    assert_string_equal(line, "198.18.0.2 > 198.18.0.1: ip-proto 1, length 36");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(echo_request_emits_known_bytes_rfc792),
    cmocka_unit_test(echo_request_parses_id_seq_data_rfc792),
    cmocka_unit_test(emit_needs_room_for_the_whole_message),
    cmocka_unit_test(shorter_than_header_is_truncated),
    cmocka_unit_test(any_changed_byte_fails_the_checksum_rfc792),
    cmocka_unit_test(frag_needed_carries_next_hop_mtu_rfc1191_4),
    cmocka_unit_test(mtu_field_only_for_code_4),
    cmocka_unit_test(quote_may_hold_more_than_8_bytes_rfc1812),
    cmocka_unit_test(quote_with_ip_options_finds_the_ports_after_them),
    cmocka_unit_test(short_or_bad_quote_is_rejected),
    cmocka_unit_test(quoted_header_checksum_not_checked_rfc1812),
    cmocka_unit_test(non_first_fragment_quote_is_marked),
    cmocka_unit_test(other_types_parse_without_a_quote),
    cmocka_unit_test(every_prefix_of_an_error_is_rejected_without_overrun),
    cmocka_unit_test(frag_needed_emit_returns_header_and_8_bytes),
    cmocka_unit_test(format_prints_icmp_like_tcpdump),
};

SYNACK_TEST_MAIN("icmp_wire", tests)
