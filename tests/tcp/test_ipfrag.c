/* IP fragments at the stack: what arrives in pieces is reassembled and answered, what
 * must leave larger than the MTU leaves in pieces, and a flood of pieces stays within the
 * stack's cap (RFC 791 §3.2, RFC 1122 §3.3.2, RFC 5722). */
#include <string.h>

#include "tcpfix.h"

#define FRAG_ID 0x4242

/* Sends `data` (an upper-layer datagram of protocol `proto`) from the peer to the stack in
 * fragments of `piece` bytes (a multiple of 8), in the order `order` gives (indices of the
 * pieces), with Identification `id`. */
static void send_in_pieces(struct fix *f, uint8_t proto, const uint8_t *data, size_t len,
                           size_t piece, const unsigned *order, size_t count, uint16_t id)
{
    for (size_t k = 0; k < count; k++) {
        size_t off = order[k] * piece;
        assert_true(off < len);
        size_t n = len - off < piece ? len - off : piece;
        struct wire_ip_repr ip = {.proto = proto, .id = id};
        ip.frag =
            (struct wire_ip_frag){.present = true, .more = off + n < len, .offset = (uint16_t)off};
        assert_int_equal(fix_send_ip(f, ip, data + off, n), 0);
    }
}

/* An echo request of `data_len` bytes of data, written into `msg`; returns its length. */
static size_t echo_request(uint8_t *msg, size_t cap, size_t data_len)
{
    static uint8_t data[4096];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 5);
    assert_true(data_len <= sizeof data);
    struct wire_icmp_repr m = {
        .type = WIRE_ICMP_ECHO_REQUEST, .id = 7, .seq = 1, .data = data, .data_len = data_len};
    return wire_icmp_emit(&m, msg, cap);
}

/* `ping -s 3000`: 3008 bytes of ICMP in three fragments, sent last piece first; the reply,
 * as large, comes back in fragments that fit the MTU and rebuild the whole reply. */
static void large_ping_is_reassembled_and_answered_in_fragments(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint8_t req[4096];
    size_t n = echo_request(req, sizeof req, 3000);
    const unsigned order[] = {2, 1, 0};
    send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, order, 3, FRAG_ID);

    uint8_t reply[4096] = {0};
    size_t got = 0, pieces = 0;
    bool last_seen = false;
    uint16_t id = 0;
    uint8_t pkt[2048];
    size_t len;
    while ((len = fix_recv_raw(&f, pkt, sizeof pkt)) > 0) {
        struct wire_ip_repr ip;
        assert_int_equal(wire_ipv4_parse(pkt, len, &ip), SYNACK_DROP_NONE);
        assert_true(len <= f.cfg.mtu);
        assert_true(ip.frag.present);
        assert_false(ip.df);
        if (pieces == 0) id = (uint16_t)ip.frag.id;
        assert_int_equal(ip.frag.id, id); /* one datagram */
        assert_int_equal(ip.frag.offset % 8, 0);
        memcpy(reply + ip.frag.offset, pkt + ip.header_len, ip.payload_len);
        got += ip.payload_len;
        if (!ip.frag.more) last_seen = true;
        pieces++;
    }
    assert_true(last_seen);
    assert_int_equal(pieces, 3);
    assert_int_equal(got, n);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(reply, got, &m), SYNACK_DROP_NONE); /* checksum whole */
    assert_int_equal(m.type, WIRE_ICMP_ECHO_REPLY);
    assert_int_equal(m.data_len, 3000);
    assert_memory_equal(m.data, req + WIRE_ICMP_HDR_LEN, 3000);
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.frags_reassembled, 1);
    assert_int_equal(c.frags_out, 3);
    assert_int_equal(c.icmp_echo_replies, 1);
    fix_free(&f);
}

static struct test_mem big_mem;

static void counted_memory(struct synack_config *cfg)
{
    memset(&big_mem, 0, sizeof big_mem);
    cfg->alloc = test_mem_alloc;
    cfg->free = test_mem_free;
    cfg->alloc_ctx = &big_mem;
}

/* The 64 KiB buffer a datagram larger than the MTU is fragmented from is taken when one is
 * sent and given back when its last fragment has left: an idle stack holds none of it. */
static void fragmenting_buffer_freed_when_its_last_fragment_leaves(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, counted_memory);
    size_t idle = big_mem.live;
    static uint8_t req[4096];
    size_t n = echo_request(req, sizeof req, 3000);
    static const unsigned order[] = {0, 1, 2};
    for (int round = 0; round < 2; round++) {
        send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, order, 3, (uint16_t)(FRAG_ID + round));
        uint8_t pkt[2048];
        assert_true(fix_recv_raw(&f, pkt, sizeof pkt) > 0); /* the first fragment */
        assert_true(big_mem.live >= idle + 65535);          /* the rest wait in the buffer */
        size_t pieces = 1;
        while (fix_recv_raw(&f, pkt, sizeof pkt) > 0)
            pieces++;
        assert_int_equal(pieces, 3);
        assert_int_equal(big_mem.live, idle); /* and it went with the last one */
    }
    fix_free(&f);
    assert_int_equal(big_mem.live, 0);
}

/* A SYN whose header and options arrive in two fragments opens a connection like any. */
static void fragmented_syn_reaches_the_listener(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    struct wire_tcp_repr syn = {.src_port = f.rport,
                                .dst_port = f.lport,
                                .seq = FIX_PEER_ISS,
                                .flags = WIRE_TCP_SYN,
                                .window = 65535,
                                .has_mss = true,
                                .mss = 1460,
                                .sack_permitted = true};
    uint8_t seg[64];
    size_t n = wire_tcp_emit(&syn, &f.remote, &f.local, seg, sizeof seg);
    const unsigned order[] = {1, 0};
    send_in_pieces(&f, WIRE_IP_PROTO_TCP, seg, n, 16, order, 2, FRAG_ID);
    struct wire_tcp_repr out;
    assert_true(fix_recv(&f, &out));
    assert_int_equal(out.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(out.ack, FIX_PEER_ISS + 1);
    fix_free(&f);
}

/* RFC 5722 §4: overlapping fragments drop the whole datagram, and its later pieces too. */
static void overlapping_fragments_are_dropped(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint8_t req[4096];
    size_t n = echo_request(req, sizeof req, 100);
    /* [0, 64) then [56, 108): the second overlaps the first by 8 bytes. */
    struct wire_ip_repr ip = {
        .src = f.remote, .dst = f.local, .proto = WIRE_IP_PROTO_ICMP, .ttl = 64, .id = FRAG_ID};
    uint8_t pkt[256];
    ip.frag = (struct wire_ip_frag){.present = true, .more = true, .offset = 0};
    ip.payload_len = 64;
    wire_ipv4_emit(&ip, pkt);
    memcpy(pkt + WIRE_IPV4_HDR_LEN, req, 64);
    assert_int_equal(fix_send_raw(&f, pkt, WIRE_IPV4_HDR_LEN + 64), 0);
    ip.frag = (struct wire_ip_frag){.present = true, .more = false, .offset = 56};
    ip.payload_len = (uint16_t)(n - 56);
    wire_ipv4_emit(&ip, pkt);
    memcpy(pkt + WIRE_IPV4_HDR_LEN, req + 56, n - 56);
    assert_int_equal(fix_send_raw(&f, pkt, WIRE_IPV4_HDR_LEN + n - 56), SYNACK_ERR_MALFORMED);
    /* The right piece now would complete a datagram: it must not. */
    ip.frag = (struct wire_ip_frag){.present = true, .more = false, .offset = 64};
    ip.payload_len = (uint16_t)(n - 64);
    wire_ipv4_emit(&ip, pkt);
    memcpy(pkt + WIRE_IPV4_HDR_LEN, req + 64, n - 64);
    fix_send_raw(&f, pkt, WIRE_IPV4_HDR_LEN + n - 64);
    fix_expect_none(&f);
    assert_true(fix_drops(&f, SYNACK_DROP_FRAG_OVERLAP) >= 1);
    fix_free(&f);
}

/* RFC 1122 §3.3.2: a datagram whose first fragment came but not the rest is dropped at the
 * timeout (30 s) and answered with time exceeded, fragment reassembly time exceeded. */
static void incomplete_datagram_times_out_with_time_exceeded(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint8_t req[4096];
    size_t n = echo_request(req, sizeof req, 2000);
    const unsigned first_only[] = {0};
    send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, first_only, 1, FRAG_ID);
    fix_expect_none(&f);
    assert_int_equal(synack_stack_next_deadline(f.s), f.now + SYNACK_S(30));
    struct synack_stack_stats st;
    synack_stack_stats(f.s, &st);
    assert_int_equal(st.frag_datagrams, 1);
    fix_advance(&f, SYNACK_S(30));
    uint8_t pkt[2048];
    size_t len = fix_recv_raw(&f, pkt, sizeof pkt);
    assert_true(len > 0);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(pkt, len, &ip), SYNACK_DROP_NONE);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(pkt + ip.header_len, ip.payload_len, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP_TIME_EXCEEDED);
    assert_int_equal(m.code, 1);
    assert_true(synack_addr_eq(&m.quote.src, &f.remote));
    assert_int_equal(m.quote.proto, WIRE_IP_PROTO_ICMP);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_FRAG_TIMEOUT), 1);
    synack_stack_stats(f.s, &st);
    assert_int_equal(st.frag_datagrams, 0);
    assert_int_equal(st.frag_bytes, 0);
    /* Only the last piece, never the first: dropped at the timeout, silently (RFC 792). */
    const unsigned last_only[] = {1};
    send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, last_only, 1, FRAG_ID + 1);
    fix_advance(&f, SYNACK_S(30));
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_FRAG_TIMEOUT), 2);
    fix_free(&f);
}

static void small_frag_mem(struct synack_config *cfg)
{
    cfg->frag_mem = 16 * 1024;
}

/* A flood of first fragments, each of another datagram: memory never passes the cap, the
 * oldest datagrams are evicted and counted, and a datagram sent whole afterwards is still
 * answered. */
static void fragment_flood_stays_within_the_cap(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_frag_mem);
    uint8_t req[4096];
    size_t n = echo_request(req, sizeof req, 2000);
    const unsigned first_only[] = {0};
    for (uint16_t id = 1; id <= 200; id++) {
        send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, first_only, 1, id);
        struct synack_stack_stats st;
        synack_stack_stats(&*f.s, &st);
        assert_true(st.frag_bytes <= st.frag_mem);
        assert_int_equal(st.frag_mem, 16 * 1024);
    }
    assert_true(fix_drops(&f, SYNACK_DROP_FRAG_EVICTED) >= 190);
    /* The stack still answers a whole ping. */
    const unsigned whole[] = {1, 0};
    send_in_pieces(&f, WIRE_IP_PROTO_ICMP, req, n, 1480, whole, 2, 999);
    uint8_t pkt[2048];
    assert_true(fix_recv_raw(&f, pkt, sizeof pkt) > 0);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(large_ping_is_reassembled_and_answered_in_fragments),
    cmocka_unit_test(fragmenting_buffer_freed_when_its_last_fragment_leaves),
    cmocka_unit_test(fragmented_syn_reaches_the_listener),
    cmocka_unit_test(overlapping_fragments_are_dropped),
    cmocka_unit_test(incomplete_datagram_times_out_with_time_exceeded),
    cmocka_unit_test(fragment_flood_stays_within_the_cap),
};

SYNACK_TEST_MAIN("ipfrag", tests)
