/* The virtio-net header of a TUN device with offloads (drivers/tun/vnet.c, virtio 1.1
 * §5.1.6), apart from any device: round trips, the headers that lie and are refused, the
 * fields the spec says to ignore; the partial checksum finished as a device would
 * (synack_checksum_complete); and the core's side of the offload: a packet whose checksum
 * the link vouches for (SYNACK_INPUT_CSUM_VERIFIED) is not checksummed again, one that is not
 * vouched for still is; and the header written for what the stack leaves to the kernel on
 * transmit (synack_vnet_hdr_for_tx). The same for UDP: a partial checksum taken only where
 * the packet puts its TCP or UDP Checksum field; a vouched-for UDP datagram not verified
 * again; the partial sum the stack leaves a link in a UDP datagram, finished against the
 * stack's own. */
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
         .csum_start = 1482, /* the field's last byte the packet's last */
         .csum_offset = 16}, /* TCP's, as a GSO type asks */
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
    h.csum_offset = 18; /* in range, but not TCP's field (RFC 9293 §3.1) */
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_CSUM_PLACE);
    h = gso4;
    h.gso_size = 0;
    assert_int_equal(parse_with(&h, v4, sizeof v4, &out), SYNACK_VNET_GSO_SIZE);
    const uint8_t bad_types[] = {
        2,    SYNACK_VNET_GSO_UDP, 6,
        0x7f, SYNACK_VNET_GSO_ECN, SYNACK_VNET_GSO_UDP_L4 | SYNACK_VNET_GSO_ECN};
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

    /* UDP datagrams joined (SYNACK_TX_USO): GSO_UDP_L4 on either family, told by the
     * checksum's place (RFC 768: 6). */
    const struct synack_tx_meta uso4 = {
        .csum_partial = true, .csum_start = 20, .csum_offset = 6, .gso_size = 1000, .hdr_len = 28};
    assert_int_equal(synack_vnet_hdr_for_tx(&uso4, v4, sizeof v4, &h), 0);
    assert_int_equal(h.gso_type, SYNACK_VNET_GSO_UDP_L4);
    assert_int_equal(h.gso_size, 1000);
    assert_int_equal(h.hdr_len, 28);
    const struct synack_tx_meta uso6 = {
        .csum_partial = true, .csum_start = 40, .csum_offset = 6, .gso_size = 1000, .hdr_len = 48};
    assert_int_equal(synack_vnet_hdr_for_tx(&uso6, v6, sizeof v6, &h), 0);
    assert_int_equal(h.gso_type, SYNACK_VNET_GSO_UDP_L4);

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

/* ---- UDP: the kernel's partial or verified sums taken, the stack's left to the link ---- */

/* 2001:db8::1, the kernel's side, and 2001:db8::2, the stack. */
static const uint8_t REMOTE6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t LOCAL6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* A UDP datagram of `payload` bytes from the kernel's side to the stack's PORT, over IPv6
 * when `v6`, checksummed (0 bytes written when it does not fit `cap`). */
static size_t make_udp(uint8_t *buf, size_t cap, bool v6, size_t payload)
{
    static uint8_t data[256];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)(k * 13 + 1);
    struct wire_ip_repr ip = {.src = v6 ? synack_addr_v6(REMOTE6) : synack_addr_v4(REMOTE),
                              .dst = v6 ? synack_addr_v6(LOCAL6) : synack_addr_v4(LOCAL),
                              .proto = WIRE_IP_PROTO_UDP,
                              .ttl = 64};
    struct wire_udp_repr u = {
        .src_port = 40000, .dst_port = PORT, .payload = data, .payload_len = payload};
    size_t hdr = wire_ip_header_len(ip.src.family);
    size_t n = wire_udp_emit(&u, &ip.src, &ip.dst, buf + hdr, cap - hdr);
    ip.payload_len = (uint16_t)n;
    if (n == 0 || wire_ip_emit(&ip, buf, hdr) != hdr) return 0;
    return hdr + n;
}

/* Makes the IPv4 UDP packet `pkt` (`n` bytes, from make_udp) a first fragment (MF), its
 * header written again. */
static void make_first_fragment(uint8_t *pkt, size_t n)
{
    wire_ipv4_emit(&(struct wire_ip_repr){.src = synack_addr_v4(REMOTE),
                                          .dst = synack_addr_v4(LOCAL),
                                          .proto = WIRE_IP_PROTO_UDP,
                                          .ttl = 64,
                                          .payload_len = (uint16_t)(n - 20),
                                          .frag = {.present = true, .more = true}},
                   pkt);
}

/* NEEDS_CSUM is taken only where the packet's own headers put its transport checksum: the
 * UDP or TCP Checksum field of a whole datagram, after every IPv6 extension header
 * (virtio 1.1 §5.1.6.2, RFC 768, RFC 9293 §3.1, RFC 8200 §4). A field elsewhere inside the
 * packet (the IP header's sum, a payload byte, the other protocol's offset, the link's
 * padding past the datagram, a fragment, ICMP) is refused (csum-place). */
static void vnet_refuses_a_partial_checksum_off_the_transport_field(void **state)
{
    (void)state;
    uint8_t v4[200], v6[200], tcp[200], pad[80];
    size_t n4 = make_udp(v4, sizeof v4, false, 40), n6 = make_udp(v6, sizeof v6, true, 40);
    size_t nt = make_segment(tcp, sizeof tcp, WIRE_TCP_ACK, 40);
    struct synack_vnet_hdr out;
    const struct synack_vnet_hdr udp4 = {
        .flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
    struct synack_vnet_hdr h = udp4;
    assert_int_equal(parse_with(&h, v4, n4, &out), SYNACK_VNET_OK);
    const struct synack_vnet_hdr lies[][1] = {
        {{.flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16}},
        {{.flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 21, .csum_offset = 5}},
        {{.flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 0, .csum_offset = 10}},
        {{.flags = SYNACK_VNET_F_NEEDS_CSUM, .csum_start = 28, .csum_offset = 6}},
    };
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++)
        assert_int_equal(parse_with(lies[k], v4, n4, &out), SYNACK_VNET_CSUM_PLACE);
    /* DATA_VALID names no field: nothing to check. */
    h = lies[0][0];
    h.flags = SYNACK_VNET_F_DATA_VALID;
    assert_int_equal(parse_with(&h, v4, n4, &out), SYNACK_VNET_OK);

    h = udp4;
    h.csum_start = 40;
    assert_int_equal(parse_with(&h, v6, n6, &out), SYNACK_VNET_OK);
    h.csum_start = 20;
    assert_int_equal(parse_with(&h, v6, n6, &out), SYNACK_VNET_CSUM_PLACE);

    /* TCP's field is at 16, and a GSO type (TCP's) on a UDP datagram is refused. */
    h = udp4;
    assert_int_equal(parse_with(&h, tcp, nt, &out), SYNACK_VNET_CSUM_PLACE);
    h.csum_offset = 16;
    assert_int_equal(parse_with(&h, tcp, nt, &out), SYNACK_VNET_OK);
    h = udp4;
    h.gso_type = SYNACK_VNET_GSO_TCPV4;
    h.gso_size = 8;
    assert_int_equal(parse_with(&h, v4, n4, &out), SYNACK_VNET_CSUM_PLACE);

    /* A datagram of 4 bytes in a packet the link padded to 80: the field would be in the
     * padding, past what the IPv4 Total Length gives. */
    struct wire_ip_repr ip = {.src = synack_addr_v4(REMOTE),
                              .dst = synack_addr_v4(LOCAL),
                              .proto = WIRE_IP_PROTO_UDP,
                              .ttl = 64,
                              .payload_len = 4};
    memset(pad, 0, sizeof pad);
    wire_ip_emit(&ip, pad, sizeof pad);
    assert_int_equal(parse_with(&udp4, pad, sizeof pad, &out), SYNACK_VNET_CSUM_PLACE);

    /* A first fragment (MF): its checksum covers a datagram the link never saw whole. */
    memcpy(pad, v4, n4);
    make_first_fragment(pad, n4);
    assert_int_equal(parse_with(&udp4, pad, n4, &out), SYNACK_VNET_CSUM_PLACE);

    /* ICMP has a checksum at offset 2, which no device is asked to finish. */
    memcpy(pad, v4, n4);
    wire_ipv4_emit(&(struct wire_ip_repr){.src = synack_addr_v4(REMOTE),
                                          .dst = synack_addr_v4(LOCAL),
                                          .proto = WIRE_IP_PROTO_ICMP,
                                          .ttl = 64,
                                          .payload_len = (uint16_t)(n4 - 20)},
                   pad);
    h = udp4;
    h.csum_offset = 2;
    assert_int_equal(parse_with(&h, pad, n4, &out), SYNACK_VNET_CSUM_PLACE);
    assert_string_equal(synack_vnet_error_name(SYNACK_VNET_CSUM_PLACE), "csum-place");
}

/* RFC 8200 §4: the transport header follows the extension headers, so the place of an IPv6
 * datagram's sum counts them: here a hop-by-hop header of 8 bytes (a PadN option). A packet
 * whose IP header does not parse cannot be judged and is let through (the stack drops it). */
/* Puts a hop-by-hop header of 8 bytes (a PadN option) between the fixed header of the IPv6
 * UDP packet `pkt` (`n` bytes, room for 8 more) and its UDP header; returns the new length. */
static size_t add_hop_by_hop(uint8_t *pkt, size_t n)
{
    size_t udp = n - 40;
    memmove(pkt + 48, pkt + 40, udp);
    pkt[6] = 0;                  /* Next Header: hop-by-hop options */
    pkt[40] = WIRE_IP_PROTO_UDP; /* its Next Header */
    pkt[41] = 0;                 /* Hdr Ext Len: 8 bytes */
    pkt[42] = 1;                 /* PadN (RFC 8200 §4.2) */
    pkt[43] = 4;                 /* of four bytes */
    memset(pkt + 44, 0, 4);
    pkt[4] = (uint8_t)((udp + 8) >> 8);
    pkt[5] = (uint8_t)(udp + 8);
    return n + 8;
}

static void checksum_place_follows_extension_headers(void **state)
{
    (void)state;
    uint8_t pkt[200];
    size_t n = make_udp(pkt, sizeof pkt, true, 12);
    add_hop_by_hop(pkt, n);
    assert_true(synack_checksum_place_is_valid(pkt, n + 8, 48, 6));
    assert_false(synack_checksum_place_is_valid(pkt, n + 8, 40, 6));
    assert_false(synack_checksum_place_is_valid(pkt, n + 8, 48, 16));
    uint8_t junk[40] = {0x45};
    assert_true(synack_checksum_place_is_valid(junk, sizeof junk, 7, 3));
    assert_true(synack_checksum_place_is_valid(NULL, 0, 20, 6));
}

struct udp_fixture {
    struct synack_stack *s;
    struct synack_udp *u;
};

/* A stack at LOCAL and LOCAL6 with a UDP socket on PORT of both families. */
static void udp_fixture_open(struct udp_fixture *f)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(LOCAL), a6 = synack_addr_v6(LOCAL6);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    assert_int_equal(synack_config_add_addr(&cfg, &a6), 0);
    assert_int_equal(synack_stack_new(&f->s, &cfg), 0);
    assert_int_equal(synack_udp_bind(f->s, &SYNACK_TEST_EP(0, PORT), NULL, &f->u), 0);
}

static uint64_t udp_drops(const struct synack_stack *s, enum synack_drop why)
{
    struct synack_counters c;
    synack_stack_counters(s, &c);
    return c.drops[why];
}

/* A UDP datagram whose checksum field is wrong (as a partial one is), over IPv4 and IPv6:
 * counted (udp-checksum) and dropped when nobody vouches for it, delivered when the link
 * does. A zero checksum is "none" over IPv4 (RFC 768) and refused over IPv6 even vouched
 * for (RFC 8200 §8.1: the kernel never leaves one partial as zero). */
static void stack_input_skips_a_vouched_udp_checksum(void **state)
{
    (void)state;
    for (int v6 = 0; v6 < 2; v6++) {
        struct udp_fixture f;
        udp_fixture_open(&f);
        uint8_t pkt[200], got[64];
        size_t n = make_udp(pkt, sizeof pkt, v6, 20), hdr = v6 ? 40 : 20;
        pkt[hdr + WIRE_UDP_OFF_CHECKSUM] ^= 0x5a;
        assert_int_equal(synack_stack_input(f.s, pkt, n, 0), SYNACK_ERR_MALFORMED);
        assert_int_equal(udp_drops(f.s, SYNACK_DROP_UDP_CHECKSUM), 1);
        assert_int_equal(synack_udp_recv(f.u, got, sizeof got, NULL, 0), SYNACK_ERR_AGAIN);
        assert_int_equal(synack_stack_input_flags(f.s, pkt, n, SYNACK_INPUT_CSUM_VERIFIED, 0), 0);
        assert_int_equal(udp_drops(f.s, SYNACK_DROP_UDP_CHECKSUM), 1);
        assert_int_equal(synack_udp_recv(f.u, got, sizeof got, NULL, 0), 20);
        pkt[hdr + WIRE_UDP_OFF_CHECKSUM] = pkt[hdr + WIRE_UDP_OFF_CHECKSUM + 1] = 0;
        int rc = synack_stack_input_flags(f.s, pkt, n, SYNACK_INPUT_CSUM_VERIFIED, 0);
        assert_int_equal(rc, v6 ? SYNACK_ERR_MALFORMED : 0);
        assert_int_equal(udp_drops(f.s, SYNACK_DROP_UDP_CHECKSUM), v6 ? 2 : 1);
        synack_stack_free(f.s);
    }
}

/* The next packet of `s` written for a link that takes `tx`, its meta in `m`. */
static size_t output_with(struct synack_stack *s, unsigned tx, uint8_t *buf, size_t cap,
                          struct synack_tx_meta *m)
{
    synack_ssize n = synack_stack_output_offload(s, buf, cap, tx, m, 0);
    assert_true(n > 0);
    return (size_t)n;
}

/* What one datagram of `len` bytes of `data` to the kernel's side (IPv6 when `v6`) looks
 * like on a link that finishes checksums (`partial`, with its meta) and on one that does
 * not (`whole`), from two stacks in the same state. */
static void udp_send_both_ways(bool v6, const uint8_t *data, size_t len, uint8_t *partial,
                               size_t *np, struct synack_tx_meta *m, uint8_t *whole, size_t *nw)
{
    struct udp_fixture a, b;
    udp_fixture_open(&a);
    udp_fixture_open(&b);
    struct synack_endpoint to = {.addr = v6 ? synack_addr_v6(REMOTE6) : synack_addr_v4(REMOTE),
                                 .port = 40000};
    assert_int_equal(synack_udp_send(a.u, data, len, &to, 0), (synack_ssize)len);
    assert_int_equal(synack_udp_send(b.u, data, len, &to, 0), (synack_ssize)len);
    *np = output_with(a.s, SYNACK_TX_CSUM, partial, 1500, m);
    struct synack_tx_meta none;
    *nw = output_with(b.s, 0, whole, 1500, &none);
    assert_false(none.csum_partial);
    synack_stack_free(a.s);
    synack_stack_free(b.s);
}

/* A datagram that leaves whole over a link with SYNACK_TX_CSUM carries the pseudo-header's
 * sum alone in its Checksum field, and meta says where it is (the UDP header, field 6);
 * finished as a device finishes it (the reference, synack_checksum_complete) it is byte for
 * byte the datagram the stack sends on a link without the offload, and it verifies. Its
 * virtio-net header parses back. Over IPv4 and IPv6, payloads of odd and even lengths. */
static void udp_output_leaves_a_partial_checksum_for_the_link(void **state)
{
    (void)state;
    uint8_t data[100];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)(k * 29 + 3);
    for (int v6 = 0; v6 < 2; v6++) {
        for (size_t len = 0; len < 6; len++) {
            uint8_t partial[1500], whole[1500];
            size_t np, nw, hdr = v6 ? 40 : 20;
            struct synack_tx_meta m;
            udp_send_both_ways(v6, data, len * 19, partial, &np, &m, whole, &nw);
            assert_int_equal(np, nw);
            assert_true(m.csum_partial);
            assert_int_equal(m.csum_start, hdr);
            assert_int_equal(m.csum_offset, WIRE_UDP_OFF_CHECKSUM);
            assert_int_equal(m.gso_size, 0);
            struct wire_ip_repr ip;
            assert_int_equal(wire_ip_parse(partial, np, &ip), SYNACK_DROP_NONE);
            uint16_t pseudo = wire_csum_partial(
                wire_csum_pseudo_addr(&ip.src, &ip.dst, WIRE_IP_PROTO_UDP, (uint32_t)(np - hdr)));
            assert_int_equal(partial[hdr + 6] << 8 | partial[hdr + 7], pseudo);
            struct synack_vnet_hdr h, back;
            assert_int_equal(synack_vnet_hdr_for_tx(&m, partial, np, &h), 0);
            assert_int_equal(parse_with(&h, partial, np, &back), SYNACK_VNET_OK);
            assert_int_equal(synack_checksum_complete(partial, np, m.csum_start, m.csum_offset), 0);
            assert_memory_equal(partial, whole, np);
            struct wire_udp_repr u;
            assert_int_equal(wire_udp_parse(whole + hdr, nw - hdr, &ip.src, &ip.dst, &u),
                             SYNACK_DROP_NONE);
        }
    }
}

/* RFC 768, RFC 8200 §8.1: a sum that comes to zero goes out as all ones, whether the stack
 * or the link finishes it; a datagram that leaves in fragments is never left partial (its
 * one sum covers pieces no link sees together). */
static void udp_output_zero_sum_and_fragments_are_whole(void **state)
{
    (void)state;
    for (int v6 = 0; v6 < 2; v6++) {
        uint8_t data[2] = {0, 0}, partial[1500], whole[1500];
        size_t np, nw, hdr = v6 ? 40 : 20;
        struct synack_tx_meta m;
        udp_send_both_ways(v6, data, sizeof data, partial, &np, &m, whole, &nw);
        /* The sum of the rest, S = ~checksum; a payload word of 0xffff - S brings the whole
         * to 0xffff, whose complement is the zero to avoid. */
        uint16_t c = (uint16_t)(whole[hdr + 6] << 8 | whole[hdr + 7]);
        uint16_t w = (uint16_t)(0xffffu - (uint16_t)~c);
        data[0] = (uint8_t)(w >> 8);
        data[1] = (uint8_t)w;
        udp_send_both_ways(v6, data, sizeof data, partial, &np, &m, whole, &nw);
        assert_int_equal(whole[hdr + 6], 0xff);
        assert_int_equal(whole[hdr + 7], 0xff);
        assert_int_equal(synack_checksum_complete(partial, np, m.csum_start, m.csum_offset), 0);
        assert_memory_equal(partial, whole, np);
    }
    struct udp_fixture f;
    udp_fixture_open(&f);
    static uint8_t big[3000];
    assert_int_equal(synack_udp_send(f.u, big, sizeof big, &SYNACK_TEST_EP(REMOTE, 40000), 0),
                     (synack_ssize)sizeof big);
    uint8_t buf[1500];
    struct synack_tx_meta m;
    for (int k = 0; k < 3; k++) {
        (void)output_with(f.s, SYNACK_TX_CSUM, buf, sizeof buf, &m);
        assert_false(m.csum_partial);
    }
    synack_stack_free(f.s);
}

/* UDP segmentation offload (virtio 1.2 §5.1.6 VIRTIO_NET_HDR_GSO_UDP_L4, Linux's
 * UDP_SEGMENT): one packet carrying 250 payload bytes to cut at 100 gives datagrams of 100,
 * 100 and 50, each a packet of its own with the IP and UDP lengths of its own, IPv4's header
 * checksum right and its Identification advanced by one per datagram, and its UDP checksum
 * whole (finish) or partial for a link that vouches (completed here, then right). The
 * header that says so parses with the UDP Checksum field's place, and only there; packets
 * that are no such thing are refused. */
static void uso_cuts_a_packet_into_its_datagrams(void **state)
{
    (void)state;
    for (int v6 = 0; v6 <= 1; v6++) {
        uint8_t pkt[400], out[400];
        size_t n = make_udp(pkt, sizeof pkt, v6, 250), hdr = v6 ? 40 : 20;
        assert_true(n == hdr + 8 + 250);
        if (!v6) { /* an Identification to advance */
            pkt[4] = 0xff;
            pkt[5] = 0xfe;
            pkt[10] = pkt[11] = 0;
            uint16_t sum = wire_csum_finish(wire_csum_add(0, pkt, 20));
            pkt[10] = (uint8_t)(sum >> 8);
            pkt[11] = (uint8_t)sum;
        }
        /* The header: UDP_L4 with the UDP sum's place. */
        struct synack_vnet_hdr h = {.flags = SYNACK_VNET_F_NEEDS_CSUM,
                                    .gso_type = SYNACK_VNET_GSO_UDP_L4,
                                    .hdr_len = (uint16_t)(hdr + 8),
                                    .gso_size = 100,
                                    .csum_start = (uint16_t)hdr,
                                    .csum_offset = 6},
                               got;
        assert_int_equal(parse_with(&h, pkt, n, &got), SYNACK_VNET_OK);
        assert_int_equal(got.gso_type, SYNACK_VNET_GSO_UDP_L4);
        struct synack_vnet_hdr lie = h;
        lie.csum_offset = 16;
        assert_int_equal(parse_with(&lie, pkt, n, &got), SYNACK_VNET_CSUM_PLACE);
        lie = h;
        lie.flags = SYNACK_VNET_F_DATA_VALID;
        assert_int_equal(parse_with(&lie, pkt, n, &got), SYNACK_VNET_GSO_CSUM);
        lie = h;
        lie.gso_size = 0;
        assert_int_equal(parse_with(&lie, pkt, n, &got), SYNACK_VNET_GSO_SIZE);

        const struct synack_addr src = v6 ? synack_addr_v6(REMOTE6) : synack_addr_v4(REMOTE);
        const struct synack_addr dst = v6 ? synack_addr_v6(LOCAL6) : synack_addr_v4(LOCAL);
        for (int finish = 0; finish <= 1; finish++) {
            for (size_t i = 0; i < 3; i++) {
                size_t seg = i < 2 ? 100 : 50;
                synack_ssize d = synack_uso_datagram(pkt, n, 100, i, finish, out, sizeof out);
                assert_int_equal(d, (synack_ssize)(hdr + 8 + seg));
                struct wire_ip_repr ip;
                assert_int_equal(wire_ip_parse(out, (size_t)d, &ip), SYNACK_DROP_NONE);
                assert_int_equal(ip.payload_len, 8 + seg);
                assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
                if (!v6) assert_int_equal(ip.frag.id, (uint16_t)(0xfffe + i));
                if (!finish) {
                    assert_true(synack_checksum_place_is_valid(out, (size_t)d, hdr, 6));
                    assert_int_equal(synack_checksum_complete(out, (size_t)d, hdr, 6), 0);
                }
                struct wire_udp_repr u;
                assert_int_equal(wire_udp_parse(out + hdr, (size_t)d - hdr, &src, &dst, &u),
                                 SYNACK_DROP_NONE);
                assert_int_equal(u.src_port, 40000);
                assert_int_equal(u.dst_port, PORT);
                assert_int_equal(u.payload_len, seg);
                assert_memory_equal(u.payload, pkt + hdr + 8 + i * 100, seg);
            }
            assert_int_equal(synack_uso_datagram(pkt, n, 100, 3, finish, out, sizeof out), 0);
        }
        /* Too small a buffer for one datagram; the last, shorter one fits one that size. */
        assert_int_equal(synack_uso_datagram(pkt, n, 100, 0, true, out, hdr + 8 + 99),
                         SYNACK_ERR_BUFSZ);
        assert_int_equal(synack_uso_datagram(pkt, n, 100, 2, true, out, hdr + 8 + 50),
                         (synack_ssize)(hdr + 8 + 50));
        /* One datagram's worth, or a segment size past the payload (to the largest a
         * caller can pass): one datagram. */
        const size_t whole[] = {250, 1000, SIZE_MAX};
        for (size_t k = 0; k < sizeof whole / sizeof whole[0]; k++) {
            assert_int_equal(synack_uso_datagram(pkt, n, whole[k], 0, true, out, sizeof out),
                             (synack_ssize)n);
            assert_int_equal(synack_uso_datagram(pkt, n, whole[k], 1, true, out, sizeof out), 0);
        }
        /* Bytes past the IP length (link padding) are not payload; TTL and TOS (Traffic
         * Class) carry over. */
        memset(pkt + n, 0xee, 30);
        synack_ssize d = synack_uso_datagram(pkt, n + 30, 100, 2, true, out, sizeof out);
        assert_int_equal(d, (synack_ssize)(hdr + 8 + 50));
        assert_int_equal(synack_uso_datagram(pkt, n + 30, 100, 3, true, out, sizeof out), 0);
        struct wire_ip_repr orig, cut;
        assert_int_equal(wire_ip_parse(pkt, n, &orig), SYNACK_DROP_NONE);
        assert_int_equal(wire_ip_parse(out, (size_t)d, &cut), SYNACK_DROP_NONE);
        assert_int_equal(cut.ttl, orig.ttl);
        assert_int_equal(cut.tos, orig.tos);
        /* Refused: no segment size, a cut packet, no payload to cut. */
        assert_int_equal(synack_uso_datagram(pkt, n, 0, 0, true, out, sizeof out),
                         SYNACK_ERR_INVAL);
        assert_int_equal(synack_uso_datagram(pkt, hdr + 4, 100, 0, true, out, sizeof out),
                         SYNACK_ERR_INVAL);
        uint8_t empty[100];
        size_t ne = make_udp(empty, sizeof empty, v6, 0);
        assert_int_equal(synack_uso_datagram(empty, ne, 100, 0, true, out, sizeof out),
                         SYNACK_ERR_INVAL);
    }
    uint8_t pkt[400], out[400];
    /* Not UDP. */
    size_t nt = make_segment(pkt, sizeof pkt, WIRE_TCP_ACK, 100);
    assert_int_equal(synack_uso_datagram(pkt, nt, 10, 0, true, out, sizeof out), SYNACK_ERR_INVAL);
    /* IPv6 with an extension header between: refused, not cut with the wrong headers. */
    size_t n6 = add_hop_by_hop(pkt, make_udp(pkt, sizeof pkt, true, 100));
    assert_int_equal(synack_uso_datagram(pkt, n6, 10, 0, true, out, sizeof out), SYNACK_ERR_INVAL);
    /* An IPv4 fragment. */
    size_t n4 = make_udp(pkt, sizeof pkt, false, 100);
    make_first_fragment(pkt, n4);
    assert_int_equal(synack_uso_datagram(pkt, n4, 10, 0, true, out, sizeof out), SYNACK_ERR_INVAL);
    /* IPv4 with options (IHL 6): refused. */
    n4 = make_udp(pkt, sizeof pkt, false, 100);
    memmove(pkt + 24, pkt + 20, n4 - 20);
    memset(pkt + 20, 1, 4); /* four No Operation options (RFC 791 §3.1) */
    pkt[0] = 0x46;
    pkt[2] = (uint8_t)((n4 + 4) >> 8);
    pkt[3] = (uint8_t)(n4 + 4);
    pkt[10] = pkt[11] = 0;
    uint16_t sum = wire_csum_finish(wire_csum_add(0, pkt, 24));
    pkt[10] = (uint8_t)(sum >> 8);
    pkt[11] = (uint8_t)sum;
    struct wire_ip_repr ip;
    assert_int_equal(wire_ip_parse(pkt, n4 + 4, &ip), SYNACK_DROP_NONE);
    assert_int_equal(synack_uso_datagram(pkt, n4 + 4, 10, 0, true, out, sizeof out),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_uso_datagram(NULL, 0, 10, 0, true, out, sizeof out), SYNACK_ERR_INVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(vnet_round_trips),
    cmocka_unit_test(vnet_layout_is_the_specs),
    cmocka_unit_test(vnet_rejects_headers_that_lie),
    cmocka_unit_test(vnet_ignores_what_the_spec_says_to_ignore),
    cmocka_unit_test(checksum_complete_finishes_a_partial_sum),
    cmocka_unit_test(stack_input_skips_a_vouched_checksum),
    cmocka_unit_test(vnet_header_for_transmit),
    cmocka_unit_test(vnet_refuses_a_partial_checksum_off_the_transport_field),
    cmocka_unit_test(checksum_place_follows_extension_headers),
    cmocka_unit_test(stack_input_skips_a_vouched_udp_checksum),
    cmocka_unit_test(udp_output_leaves_a_partial_checksum_for_the_link),
    cmocka_unit_test(udp_output_zero_sum_and_fragments_are_whole),
    cmocka_unit_test(uso_cuts_a_packet_into_its_datagrams),
};

SYNACK_TEST_MAIN("vnet", tests)
