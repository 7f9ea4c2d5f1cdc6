/* Bad input is ordinary input: random and hostile segments aimed at live connections.
 * After every segment the TCB's invariants hold, every packet the stack emits parses
 * cleanly, and nothing crashes (this runs under ASan and UBSan). */
#include <string.h>

#include "base/rand.h"
#include "base/seq.h"
#include "tcpfix.h"

#define ROUNDS 20000

/* Drains the stack: every packet it emits must be well-formed and from its address. */
static void drain_and_check(struct fix *f)
{
    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    struct wire_tcp_repr seg;
    for (int i = 0; i < 1000; i++) {
        synack_ssize n = synack_stack_output(f->s, pkt, sizeof pkt, f->now);
        if (n == SYNACK_ERR_AGAIN) return;
        assert_true(n > 0);
        assert_int_equal(wire_packet_parse(pkt, (size_t)n, &ip, &seg), SYNACK_DROP_NONE);
        assert_int_equal(synack_addr_v4_value(&ip.src), FIX_LOCAL);
        assert_true(seg.payload_len <= f->cfg.mtu - 40u);
    }
    fail_msg("the stack emitted 1000 packets for one input: a loop");
}

static void check_invariants(struct fix *f)
{
    struct synack_tcp_info info;
    if (!f->c) return;
    assert_int_equal(synack_tcp_info(f->c, &info), 0);
    assert_true(info.state < SYNACK_STATE_COUNT);
    assert_true(seq_leq(info.snd_una, info.snd_nxt));
    assert_true(info.send_queued <= f->cfg.sndbuf);
    assert_true(info.recv_queued <= f->cfg.rcvbuf);
    assert_true(info.bytes_in_flight <= info.send_queued + 2); /* + SYN and FIN */
}

/* Exactly `x` half the time (so RSTs, FINs and ACKs land), else near it, else anywhere. */
static uint32_t near(struct rand_pcg *r, uint32_t x)
{
    switch (rand_below(r, 8)) {
    case 0:
    case 1:
    case 2:
    case 3:
        return x;
    case 4:
        return x + rand_below(r, 8) - 4;
    case 5:
        return rand_u32(r);
    default:
        return x + rand_below(r, 140000) - 70000;
    }
}

/* A segment near the connection's real sequence space, with random flags and lengths. */
static void send_random_segment(struct fix *f, struct rand_pcg *r)
{
    static const uint8_t payload[1400];
    struct synack_tcp_info info;
    synack_tcp_info(f->c, &info);
    struct wire_tcp_repr seg = {
        .src_port = f->rport,
        .dst_port = f->lport,
        .seq = near(r, info.rcv_nxt),
        .ack = near(r, rand_below(r, 2) ? info.snd_una : info.snd_nxt),
        .flags = (uint8_t)rand_u32(r),
        .window = (uint16_t)(rand_below(r, 3) ? rand_u32(r) : 0),
        .payload = payload,
        .payload_len = rand_below(r, 3) ? 0 : rand_below(r, sizeof payload),
    };
    /* Impossible flag pairs are the wire layer's to reject; most segments get past it. */
    if ((seg.flags & WIRE_TCP_SYN) && rand_below(r, 4))
        seg.flags &= (uint8_t) ~(WIRE_TCP_FIN | WIRE_TCP_RST);
    if (rand_below(r, 2)) seg.flags |= WIRE_TCP_ACK;
    if (rand_below(r, 5) == 0) {
        seg.has_mss = true;
        seg.mss = (uint16_t)rand_u32(r);
    }
    uint8_t pkt[2048];
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(FIX_REMOTE), .dst = synack_addr_v4(FIX_LOCAL), .ttl = 64};
    size_t n = wire_packet_emit(&ip, &seg, pkt, sizeof pkt);
    assert_true(n > 0);
    int rc = fix_send_raw(f, pkt, n);
    /* Only the impossible flag pairs may be refused by the wire layer. */
    if (rc != 0) {
        assert_int_equal(rc, SYNACK_ERR_MALFORMED);
        assert_true((seg.flags & WIRE_TCP_SYN) && (seg.flags & (WIRE_TCP_FIN | WIRE_TCP_RST)));
    }
}

/* The application does something now and then. */
static void app_action(struct fix *f, struct rand_pcg *r)
{
    uint8_t buf[3000];
    switch (rand_below(r, 8)) {
    case 0:
        memset(buf, 'x', sizeof buf);
        synack_tcp_send(f->c, buf, rand_below(r, sizeof buf), f->now);
        break;
    case 1:
        synack_tcp_recv(f->c, buf, sizeof buf, f->now);
        break;
    case 2:
        fix_advance(f, SYNACK_MS(rand_below(r, 3000)));
        break;
    case 3:
        if (rand_below(r, 10) == 0) synack_tcp_shutdown(f->c, f->now);
        break;
    default:
        break;
    }
}

static void fresh_connection(struct fix *f, unsigned round)
{
    if (f->s) fix_free(f);
    fix_init(f, NULL);
    f->rport = (uint16_t)(20000 + round % 20000);
    if (round % 2)
        fix_established_active(f);
    else
        fix_established_passive(f);
}

static void random_segments_keep_invariants(void **state)
{
    (void)state;
    struct rand_pcg r;
    rand_seed(&r, 2024, 1);
    struct fix f = {0};
    unsigned reached = 0, conns = 1;
    fresh_connection(&f, 0);
    for (unsigned i = 0; i < ROUNDS; i++) {
        if (synack_tcp_state(f.c) == SYNACK_CLOSED) {
            fresh_connection(&f, i);
            conns++;
        }
        send_random_segment(&f, &r);
        app_action(&f, &r);
        drain_and_check(&f);
        check_invariants(&f);
        fix_events(&f);
        for (size_t k = 0; k < f.nevents; k++)
            if (f.events[k].type == SYNACK_EV_STATE) reached |= 1u << f.events[k].new_state;
        f.nevents = 0;
    }
    fix_free(&f);
    /* The input really went places: resets, closes and several states. */
    unsigned distinct = 0;
    for (unsigned b = reached; b; b &= b - 1)
        distinct++;
    print_message("%u connections, %u distinct states entered\n", conns, distinct);
    assert_true(conns > 10);
    assert_true(distinct >= 6);
}

static void random_bytes_are_counted_and_dropped(void **state)
{
    (void)state;
    struct rand_pcg r;
    rand_seed(&r, 99, 2);
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint8_t pkt[600];
    uint64_t malformed = 0;
    for (unsigned i = 0; i < ROUNDS; i++) {
        size_t len = rand_below(&r, sizeof pkt + 1);
        for (size_t k = 0; k < len; k++)
            pkt[k] = (uint8_t)rand_u32(&r);
        if (len >= 20 && rand_below(&r, 2)) { /* often a plausible IPv4 header */
            pkt[0] = 0x45;
            pkt[9] = 6;
        }
        if (fix_send_raw(&f, pkt, len) == SYNACK_ERR_MALFORMED) malformed++;
        drain_and_check(&f);
    }
    /* Every rejected packet is counted under some reason. */
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    uint64_t counted = 0;
    for (int d = 1; d < SYNACK_DROP_COUNT; d++)
        counted += c.drops[d];
    assert_true(malformed > ROUNDS / 2);
    assert_true(counted >= malformed);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(random_segments_keep_invariants),
    cmocka_unit_test(random_bytes_are_counted_and_dropped),
};

SYNACK_TEST_MAIN("robust", tests)
