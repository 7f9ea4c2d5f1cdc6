/* The virtio-net header of a TUN device with offloads (drivers/tun/vnet.c, virtio 1.1
 * §5.1.6), apart from any device: round trips, the headers that lie and are refused, the
 * fields the spec says to ignore; the partial checksum finished as a device would
 * (synack_checksum_complete); and the core's side of the offload: a packet whose checksum
 * the link vouches for (SYNACK_INPUT_CSUM_VERIFIED) is not checksummed again, one that is not
 * vouched for still is; and the header written for what the stack leaves to the kernel on
 * transmit (synack_vnet_hdr_for_tx). */
#include "harness.h"

#include <string.h>

#include "synack/link.h"
#include "testaddr.h"
#include "wire/wire.h"

#define LOCAL 0xc6120002u  /* 198.18.0.2: the stack */
#define REMOTE 0xc6120001u /* 198.18.0.1: the kernel */
#define PORT 5001

/* An IPv4 packet of `len` bytes (version 4 in the first nibble), or IPv6 (version 6). */
static void fake_packet(uint8_t *pkt, size_t len, unsigned version)
{
    memset(pkt, 0, len);
    pkt[0] = (uint8_t)(version << 4 | 5);
}

static enum synack_vnet_error parse_with(const struct synack_vnet_hdr *h, const uint8_t *pkt,
                                         size_t len, struct synack_vnet_hdr *out)
{
    uint8_t raw[SYNACK_VNET_HDR_LEN];
    synack_vnet_emit(h, raw);
    return synack_vnet_parse(raw, pkt, len, out);
}

static void vnet_round_trips(void **state)
{
    (void)state;
    uint8_t pkt[1500];
    fake_packet(pkt, sizeof pkt, 4);
    const struct synack_vnet_hdr cases[] = {
        {0},
        {.flags = SYNACK_VNET_F_DATA_VALID},
        {.flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16},
        {.flags = SYNACK_VNET_F_NEEDS_CSUM,
         .gso_type = SYNACK_VNET_GSO_TCPV4,
         .hdr_len = 52,
         .gso_size = 1448,
         .csum_start = 20,
         .csum_offset = 16},
        {.flags = SYNACK_VNET_F_NEEDS_CSUM,
         .gso_type = SYNACK_VNET_GSO_TCPV4 | SYNACK_VNET_GSO_ECN,
         .hdr_len = 1500,
         .gso_size = 1,
         .csum_start = 1480,
         .csum_offset = 18},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct synack_vnet_hdr out;
        assert_int_equal(parse_with(&cases[k], pkt, sizeof pkt, &out), SYNACK_VNET_OK);
        assert_memory_equal(&out, &cases[k], sizeof out);
    }
}

/* The bytes on the wire: little-endian fields at the offsets of §5.1.6. */
static void vnet_layout_is_the_specs(void **state)
{
    (void)state;
    const struct synack_vnet_hdr h = {.flags = 1,
                                      .gso_type = 4,
                                      .hdr_len = 0x1234,
                                      .gso_size = 0x0590,
                                      .csum_start = 0x0028,
                                      .csum_offset = 0x0010};
    uint8_t raw[SYNACK_VNET_HDR_LEN];
    synack_vnet_emit(&h, raw);
    const uint8_t want[SYNACK_VNET_HDR_LEN] = {1, 4, 0x34, 0x12, 0x90, 0x05, 0x28, 0, 0x10, 0};
    assert_memory_equal(raw, want, sizeof want);
}

static void vnet_rejects_headers_that_lie(void **state)
{
    (void)state;
    uint8_t v4[100], v6[100];
    fake_packet(v4, sizeof v4, 4);
    fake_packet(v6, sizeof v6, 6);
    struct synack_vnet_hdr out;
    const struct synack_vnet_hdr gso4 = {.flags = SYNACK_VNET_F_NEEDS_CSUM,
                                         .gso_type = SYNACK_VNET_GSO_TCPV4,
                                         .hdr_len = 40,
                                         .gso_size = 1448,
                                         .csum_start = 20,
                                         .csum_offset = 16};
    struct synack_vnet_hdr h = gso4;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_OK);
    /* The checksum field: its last byte at the packet's last byte is in; one further is out. */
    h.csum_start = 98 - 16;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_OK);
    h.csum_start = 99 - 16;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_CSUM_RANGE);
    h = gso4;
    h.csum_offset = 0xffff;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_CSUM_RANGE);
    h = gso4;
    h.csum_start = 0xffff;
    h.csum_offset = 0xffff; /* no wrap-around in 16 bits */
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_CSUM_RANGE);
    h = gso4;
    h.gso_size = 0;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_GSO_SIZE);
    const uint8_t bad_types[] = {2, SYNACK_VNET_GSO_UDP, 5, 0x7f, SYNACK_VNET_GSO_ECN};
    for (size_t k = 0; k < sizeof bad_types; k++) {
        h = gso4;
        h.gso_type = bad_types[k];
        assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_GSO_TYPE);
    }
    h = gso4;
    h.flags = SYNACK_VNET_F_DATA_VALID;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_GSO_CSUM);
    h = gso4;
    assert_int_equal(parse_with(&h, v6, sizeof v6, &out), SYNACK_VNET_GSO_FAMILY);
    h.gso_type = SYNACK_VNET_GSO_TCPV6;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_GSO_FAMILY);
    assert_int_equal(parse_with(&h, v6, sizeof v6, &out), SYNACK_VNET_OK);
    h = gso4;
    h.hdr_len = sizeof v4 + 1;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_HDR_LEN_RANGE);
    h.hdr_len = sizeof v4;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_OK);
    /* No packet after the header. */
    assert_int_equal(parse_with(&gso4, v4, 0, &out), SYNACK_VNET_TRUNCATED);
    assert_string_equal(synack_vnet_error_name(SYNACK_VNET_GSO_SIZE), "gso-size");
}

/* §5.1.6.2.2: unknown flag bits are ignored; csum_start and csum_offset mean nothing
 * without NEEDS_CSUM, gso_size nothing without a GSO type. */
static void vnet_ignores_what_the_spec_says_to_ignore(void **state)
{
    (void)state;
    uint8_t pkt[60];
    fake_packet(pkt, sizeof pkt, 4);
    struct synack_vnet_hdr out;
    const struct synack_vnet_hdr h = {
        .flags = 0xfc, .gso_size = 0xffff, .csum_start = 0xffff, .csum_offset = 0xffff};
    assert_int_equal(parse_with(&h, pkt, sizeof pkt, &out), SYNACK_VNET_OK);
    assert_int_equal(out.flags, 0xfc);
}

/* A TCP segment of `payload` bytes from REMOTE to LOCAL, checksummed. */
static size_t make_segment(uint8_t *buf, size_t cap, uint8_t flags, size_t payload)
{
    static uint8_t data[2000];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)(k * 7);
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(REMOTE), .dst = synack_addr_v4(LOCAL), .ttl = 64};
    struct wire_tcp_repr tcp = {.src_port = 40000,
                                .dst_port = PORT,
                                .seq = 1000,
                                .flags = flags,
                                .window = 65535,
                                .payload = data,
                                .payload_len = payload};
    return wire_packet_emit(&ip, &tcp, buf, cap);
}

/* The kernel's partial checksum: the field holds the pseudo-header's sum (not complemented),
 * and the device sums from the TCP header to the end (virtio 1.1 §5.1.6.2). */
static void checksum_complete_finishes_a_partial_sum(void **state)
{
    (void)state;
    for (size_t payload = 0; payload < 12; payload++) {
        uint8_t pkt[200], want[200];
        size_t len = make_segment(pkt, sizeof pkt, WIRE_TCP_ACK, payload);
        assert_true(len > 0);
        memcpy(want, pkt, len);
        struct synack_addr src = synack_addr_v4(REMOTE), dst = synack_addr_v4(LOCAL);
        uint16_t pseudo = (uint16_t)~wire_csum_finish(
            wire_csum_pseudo_addr(&src, &dst, WIRE_IP_PROTO_TCP, (uint32_t)(len - 20)));
        pkt[20 + 16] = (uint8_t)(pseudo >> 8);
        pkt[20 + 17] = (uint8_t)pseudo;
        assert_int_equal(synack_checksum_complete(pkt, len, 20, 16), 0);
        /* Equal as numbers of one's complement (0x0000 goes out as 0xffff). */
        if (want[36] == 0 && want[37] == 0) want[36] = want[37] = 0xff;
        assert_memory_equal(pkt, want, len);
    }
    uint8_t small[40] = {0};
    assert_int_equal(synack_checksum_complete(small, sizeof small, 20, 19), SYNACK_ERR_INVAL);
    assert_int_equal(synack_checksum_complete(small, sizeof small, 41, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_checksum_complete(small, sizeof small, 20, 18), 0);
    assert_int_equal(synack_checksum_complete(NULL, 40, 20, 16), SYNACK_ERR_INVAL);
}

static struct synack_stack *listening_stack(void)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(LOCAL);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(s, &SYNACK_TEST_EP(0, PORT), 4, NULL, &l), 0);
    return s;
}

static uint64_t checksum_drops(const struct synack_stack *s)
{
    struct synack_counters c;
    synack_stack_counters(s, &c);
    return c.drops[SYNACK_DROP_TCP_CHECKSUM];
}

/* A SYN whose checksum field is wrong (as a partial one is): dropped when nobody vouches for
 * it, answered when the link does; an unknown flag is refused. */
static void stack_input_skips_a_vouched_checksum(void **state)
{
    (void)state;
    uint8_t pkt[100], out[1500];
    size_t len = make_segment(pkt, sizeof pkt, WIRE_TCP_SYN, 0);
    pkt[20 + 16] ^= 0x5a;
    struct synack_stack *s = listening_stack();
    assert_int_equal(synack_stack_input(s, pkt, len, 0), SYNACK_ERR_MALFORMED);
    assert_int_equal(checksum_drops(s), 1);
    assert_int_equal(synack_stack_output(s, out, sizeof out, 0), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_stack_input_flags(s, pkt, len, 0x80, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_stack_input_flags(s, pkt, len, SYNACK_INPUT_CSUM_VERIFIED, 0), 0);
    assert_int_equal(checksum_drops(s), 1);
    synack_ssize n = synack_stack_output(s, out, sizeof out, 0);
    assert_true(n > 0);
    assert_int_equal(out[20 + 13], WIRE_TCP_SYN | WIRE_TCP_ACK);
    synack_stack_free(s);
}

/* The header for what synack_stack_output_offload left to the kernel: none for a whole
 * packet; NEEDS_CSUM with its offsets for a partial checksum; a GSO type of the packet's
 * IP version with gso_size and hdr_len for a segment to cut. Each parses back (the checks the
 * kernel makes of what we write are the ones we make of what it writes). What does not fit
 * the packet is refused. */
static void vnet_header_for_transmit(void **state)
{
    (void)state;
    uint8_t v4[3000], v6[3000];
    fake_packet(v4, sizeof v4, 4);
    fake_packet(v6, sizeof v6, 6);
    struct synack_vnet_hdr h, back;
    const struct synack_tx_meta whole = {0};
    assert_int_equal(synack_vnet_hdr_for_tx(&whole, v4, sizeof v4, &h), 0);
    const struct synack_vnet_hdr zero = {0};
    assert_memory_equal(&h, &zero, sizeof h);

    const struct synack_tx_meta csum = {.csum_partial = true, .csum_start = 20, .csum_offset = 16};
    assert_int_equal(synack_vnet_hdr_for_tx(&csum, v4, sizeof v4, &h), 0);
    const struct synack_vnet_hdr want_csum = {
        .flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
    assert_memory_equal(&h, &want_csum, sizeof h);
    assert_int_equal(parse_with(&h, v4, sizeof v4, &back), SYNACK_VNET_OK);
    assert_memory_equal(&back, &h, sizeof h);

    const struct synack_tx_meta gso4 = {
        .csum_partial = true, .csum_start = 20, .csum_offset = 16, .gso_size = 1448, .hdr_len = 52};
    assert_int_equal(synack_vnet_hdr_for_tx(&gso4, v4, sizeof v4, &h), 0);
    const struct synack_vnet_hdr want_gso4 = {.flags = SYNACK_VNET_F_NEEDS_CSUM,
                                              .gso_type = SYNACK_VNET_GSO_TCPV4,
                                              .hdr_len = 52,
                                              .gso_size = 1448,
                                              .csum_start = 20,
                                              .csum_offset = 16};
    assert_memory_equal(&h, &want_gso4, sizeof h);
    assert_int_equal(parse_with(&h, v4, sizeof v4, &back), SYNACK_VNET_OK);
    assert_memory_equal(&back, &h, sizeof h);
    uint8_t raw[SYNACK_VNET_HDR_LEN];
    synack_vnet_emit(&h, raw);
    const uint8_t want_raw[SYNACK_VNET_HDR_LEN] = {1, 1, 52, 0, 0xa8, 0x05, 20, 0, 16, 0};
    assert_memory_equal(raw, want_raw, sizeof raw);

    const struct synack_tx_meta gso6 = {
        .csum_partial = true, .csum_start = 40, .csum_offset = 16, .gso_size = 1428, .hdr_len = 72};
    assert_int_equal(synack_vnet_hdr_for_tx(&gso6, v6, sizeof v6, &h), 0);
    assert_int_equal(h.gso_type, SYNACK_VNET_GSO_TCPV6);
    assert_int_equal(h.gso_size, 1428);
    assert_int_equal(parse_with(&h, v6, sizeof v6, &back), SYNACK_VNET_OK);
    assert_memory_equal(&back, &h, sizeof h);

    /* Refused: a segment to cut without a partial checksum; the field past the end;
     * hdr_len past the end; a version that is neither 4 nor 6. */
    struct synack_tx_meta bad = gso4;
    bad.csum_partial = false;
    assert_int_equal(synack_vnet_hdr_for_tx(&bad, v4, sizeof v4, &h), SYNACK_ERR_INVAL);
    bad = csum;
    bad.csum_start = 2990;
    assert_int_equal(synack_vnet_hdr_for_tx(&bad, v4, sizeof v4, &h), SYNACK_ERR_INVAL);
    assert_int_equal(synack_vnet_hdr_for_tx(&csum, v4, 37, &h), SYNACK_ERR_INVAL);
    assert_int_equal(synack_vnet_hdr_for_tx(&csum, v4, 38, &h), 0);
    bad = gso4;
    bad.hdr_len = 3001;
    assert_int_equal(synack_vnet_hdr_for_tx(&bad, v4, sizeof v4, &h), SYNACK_ERR_INVAL);
    uint8_t v5[100];
    fake_packet(v5, sizeof v5, 5);
    assert_int_equal(synack_vnet_hdr_for_tx(&gso4, v5, sizeof v5, &h), SYNACK_ERR_INVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(vnet_round_trips),
    cmocka_unit_test(vnet_layout_is_the_specs),
    cmocka_unit_test(vnet_rejects_headers_that_lie),
    cmocka_unit_test(vnet_ignores_what_the_spec_says_to_ignore),
    cmocka_unit_test(checksum_complete_finishes_a_partial_sum),
    cmocka_unit_test(stack_input_skips_a_vouched_checksum),
    cmocka_unit_test(vnet_header_for_transmit),
};

SYNACK_TEST_MAIN("vnet", tests)
