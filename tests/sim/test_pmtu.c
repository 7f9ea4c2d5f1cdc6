/* Path MTU Discovery end to end (RFC 1191): two synack stacks over the simulator, with a
 * router on the forward path whose next hop takes at most 1000 bytes. It answers a bigger
 * datagram with DF set by ICMP fragmentation needed (RFC 1191 §4, or the old-style message
 * with a zero Next-Hop MTU, §5) and forwards the rest. The transfer must arrive byte-exact,
 * the sender must converge on a segment size that passes, and the resends must come from
 * the ICMP messages, not from retransmission timeouts. */
#include <string.h>

#include <synack/link.h>

#include "harness.h"
#include "wire/wire.h"

#define ADDR_A 0xc6120001u /* sender */
#define ADDR_B 0xc6120002u /* receiver */
#define ADDR_R 0xc61200feu /* the router's own address, source of its ICMP */
#define HOP_MTU 1000
#define RQ 128
#define BYTES (300 * 1024)

struct router {
    uint8_t pkt[RQ][1600];
    size_t len[RQ];
    size_t head, n;
    bool old_style;        /* send Next-Hop MTU 0, as routers before RFC 1191 did */
    unsigned too_big;      /* datagrams answered with fragmentation needed */
    unsigned fragmentable; /* too big without DF (we do not fragment: dropped) */
    unsigned forwarded;
};

static void router_push(struct router *r, const uint8_t *p, size_t len)
{
    assert_true(r->n < RQ && len <= sizeof r->pkt[0]);
    size_t i = (r->head + r->n) % RQ;
    memcpy(r->pkt[i], p, len);
    r->len[i] = len;
    r->n++;
}

static int router_input(void *ctx, const uint8_t *pkt, size_t len, synack_time_t now)
{
    (void)now;
    struct router *r = ctx;
    struct wire_ip_repr ip;
    if (wire_ipv4_parse(pkt, len, &ip) != SYNACK_DROP_NONE) return 0;
    if ((size_t)ip.header_len + ip.payload_len <= HOP_MTU) {
        r->forwarded++;
        router_push(r, pkt, len);
        return 0;
    }
    if (!ip.df) {
        r->fragmentable++;
        return 0;
    }
    /* RFC 1191 §4 / RFC 792: the header and 64 bits of the datagram, and the MTU. */
    r->too_big++;
    struct wire_icmp_repr m = {.type = WIRE_ICMP_DEST_UNREACH,
                               .code = WIRE_ICMP_FRAG_NEEDED,
                               .mtu = r->old_style ? 0 : HOP_MTU,
                               .data = pkt,
                               .data_len = (size_t)ip.header_len + 8};
    struct wire_ip_repr out = {.src = synack_addr_v4(ADDR_R), .dst = ip.src, .ttl = 64};
    uint8_t msg[128];
    size_t n = wire_icmp_packet_emit(&out, &m, msg, sizeof msg);
    assert_true(n > 0);
    router_push(r, msg, n);
    return 0;
}

static synack_ssize router_output(void *ctx, uint8_t *buf, size_t cap, synack_time_t now)
{
    (void)now;
    struct router *r = ctx;
    if (r->n == 0) return SYNACK_ERR_AGAIN;
    size_t len = r->len[r->head];
    assert_true(len <= cap);
    memcpy(buf, r->pkt[r->head], len);
    r->head = (r->head + 1) % RQ;
    r->n--;
    return (synack_ssize)len;
}

/* The router stands in for B on A's only link (the simulator routes by destination). */
static size_t router_addrs(void *ctx, struct synack_addr *out, size_t cap)
{
    (void)ctx;
    if (cap == 0) return 0;
    out[0] = synack_addr_v4(ADDR_B);
    return 1;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131 + i / 7);
}

static struct synack_stack *new_stack(uint32_t addr, uint64_t seed)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(addr);
    cfg.seed = seed;
    for (int i = 0; i < 16; i++)
        cfg.isn_secret[i] = (uint8_t)(i * 3 + seed);
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

static void drain_events(struct synack_stack *s)
{
    struct synack_event ev;
    while (synack_stack_next_event(s, &ev) == 0) {
    }
}

/* A sends BYTES to B through the router; returns A's connection info at the end. */
static struct synack_tcp_info transfer(struct router *r)
{
    struct synack_stack *a = new_stack(ADDR_A, 1), *b = new_stack(ADDR_B, 2);
    struct synack_sim *sim;
    assert_int_equal(synack_sim_new(&sim, 7), 0);
    int na = synack_sim_add_stack(sim, a), nb = synack_sim_add_stack(sim, b);
    struct synack_sim_node_ops ops = {
        .input = router_input, .output = router_output, .addrs = router_addrs};
    int nr = synack_sim_add_node(sim, &ops, r);
    assert_true(na >= 0 && nb >= 0 && nr >= 0);
    assert_true(synack_sim_add_link(sim, na, nr, NULL) >= 0); /* A -> router (-> B) */
    assert_true(synack_sim_add_link(sim, nr, nb, NULL) >= 0); /* router -> B */
    assert_true(synack_sim_add_link(sim, nr, na, NULL) >= 0); /* router's ICMP -> A */
    assert_true(synack_sim_add_link(sim, nb, na, NULL) >= 0); /* B -> A */

    struct synack_listener *l;
    struct synack_tcp *ca, *cb = NULL;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(0, 80), 4, NULL, &l), 0);
    assert_int_equal(
        synack_tcp_connect(a, &SYNACK_TEST_EP(ADDR_B, 80), &SYNACK_TEST_EP(0, 0), NULL, &ca, 0), 0);
    size_t sent = 0, got = 0;
    bool shut = false, eof = false;
    uint8_t buf[16384];
    for (int steps = 0; steps < 200000 && !eof; steps++) {
        int rc = synack_sim_step(sim);
        assert_true(rc == 0 || rc == SYNACK_ERR_AGAIN);
        synack_time_t now = synack_sim_now(sim);
        assert_true(now < SYNACK_S(60)); /* virtual time */
        drain_events(a);
        drain_events(b);
        if (!cb && synack_tcp_accept(l, &cb) != 0) cb = NULL;
        while (sent < BYTES && synack_tcp_state(ca) == SYNACK_ESTABLISHED) {
            size_t n = BYTES - sent < sizeof buf ? BYTES - sent : sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(sent + i);
            synack_ssize w = synack_tcp_send(ca, buf, n, now);
            if (w <= 0) break;
            sent += (size_t)w;
        }
        if (sent == BYTES && !shut) {
            assert_int_equal(synack_tcp_shutdown(ca, now), 0);
            shut = true;
        }
        while (cb) {
            synack_ssize n = synack_tcp_recv(cb, buf, sizeof buf, now);
            if (n == 0) eof = true;
            if (n <= 0) break;
            for (synack_ssize i = 0; i < n; i++)
                if (buf[i] != pattern(got + (size_t)i)) fail_msg("byte %zu differs", got + i);
            got += (size_t)n;
        }
        if (rc == SYNACK_ERR_AGAIN) break;
    }
    assert_true(eof);
    assert_int_equal(got, BYTES);
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(ca, &info), 0);
    synack_sim_free(sim);
    synack_stack_free(a);
    synack_stack_free(b);
    return info;
}

static void transfer_converges_on_next_hop_mtu_rfc1191(void **state)
{
    (void)state;
    static struct router r;
    memset(&r, 0, sizeof r);
    struct synack_tcp_info info = transfer(&r);
    assert_int_equal(info.pmtu, HOP_MTU);
    assert_int_equal(info.snd_mss, HOP_MTU - 40);
    assert_false(info.pmtu_no_df);
    assert_int_equal(info.counters.pmtu_decreases, 1);
    /* RFC 1191 §6.4: the dropped segments went again on the ICMP message, at once, and
     * not as a congestion signal: no timeout, no probe, no fast recovery. */
    assert_int_equal(info.counters.rto_expiries, 0);
    assert_int_equal(info.counters.tlp_probes, 0);
    assert_int_equal(info.counters.recoveries, 0);
    /* One burst of the initial window was too big, nothing after it. */
    assert_true(r.too_big > 0 && r.too_big <= 10);
    assert_int_equal(r.fragmentable, 0);
}

static void old_style_router_converges_through_plateaus_rfc1191_5(void **state)
{
    (void)state;
    static struct router r;
    memset(&r, 0, sizeof r);
    r.old_style = true;
    struct synack_tcp_info info = transfer(&r);
    /* 1500 (less a 4.2BSD header: 1480) -> plateau 1006, still too big -> 986 -> 508,
     * below the 576 floor: 576 without DF, which the 1000-byte hop passes. */
    assert_int_equal(info.pmtu, 576);
    assert_true(info.pmtu_no_df);
    assert_int_equal(info.counters.pmtu_decreases, 2);
    assert_int_equal(info.counters.rto_expiries, 0);
    assert_int_equal(info.counters.tlp_probes, 0);
    assert_int_equal(info.counters.recoveries, 0);
    assert_int_equal(r.fragmentable, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(transfer_converges_on_next_hop_mtu_rfc1191),
    cmocka_unit_test(old_style_router_converges_through_plateaus_rfc1191_5),
};

SYNACK_TEST_MAIN("pmtu", tests)
