/* The network simulator with fake nodes: each link impairment, the clock, determinism and
 * the capture file. No TCP here: a fake node sends numbered IPv4-looking packets on a
 * schedule and logs what arrives, with the virtual time. */
#include "harness.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synack/link.h"

#define ADDR_A 0xc6120001u /* 198.18.0.1 */
#define ADDR_B 0xc6120002u /* 198.18.0.2 */
#define ADDR_C 0xc6120003u /* 198.18.0.3 */
#define MAX_ARRIVALS 30000
#define MAX_TIMERS 8
#define KEEP_BYTES 64
/* Generous: the largest test needs about 3 steps per packet. */
#define MAX_STEPS 200000

/* ---- a fake node ------------------------------------------------------------------------ */

struct arrival {
    uint32_t seq; /* the number the sender wrote at offset 20 */
    synack_time_t time;
    size_t len;
    uint8_t bytes[KEEP_BYTES];
};

struct fake {
    uint32_t addr, dst;
    /* Sending: packet i (0-based) may leave at send_at + (i / burst) * gap (burst 0 is 1).
     * A timer releases it. */
    uint32_t to_send, released, sent, burst;
    size_t pkt_len;
    synack_time_t send_at, gap;
    /* Extra timers the test asks for, and when handle_timers actually ran. */
    synack_time_t timers[MAX_TIMERS];
    size_t timer_count, timer_next;
    synack_time_t fired[MAX_TIMERS * 2];
    size_t fired_count;
    /* Receiving. With `echo`, every arrival is answered by a packet numbered
     * ECHO_SEQ + k, so what the node sends depends on what the network did. */
    struct arrival *log;
    size_t arrivals;
    bool echo;
    uint32_t echoes_due, echoes_sent;
};

#define ECHO_SEQ 0x80000000u

static void fake_init(struct fake *f, uint32_t addr, uint32_t dst, uint32_t to_send, size_t pkt_len)
{
    memset(f, 0, sizeof(*f));
    f->addr = addr;
    f->dst = dst;
    f->to_send = to_send;
    f->pkt_len = pkt_len;
    f->log = calloc(MAX_ARRIVALS, sizeof(*f->log));
    assert_non_null(f->log);
}

static void fake_fini(struct fake *f)
{
    free(f->log);
    f->log = NULL;
}

static void put_be16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put_be32(uint8_t *b, uint32_t v)
{
    put_be16(b, (uint16_t)(v >> 16));
    put_be16(b + 2, (uint16_t)v);
}

static uint32_t get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* An IPv4 header (protocol 253, reserved for experiments) with a correct checksum, then
 * the sequence number and a filler that depends on it. */
static void build_packet(uint8_t *b, size_t len, uint32_t src, uint32_t dst, uint32_t seq)
{
    memset(b, 0, 20);
    b[0] = 0x45;
    put_be16(b + 2, (uint16_t)len);
    put_be16(b + 4, (uint16_t)seq);
    b[8] = 64;
    b[9] = 253;
    put_be32(b + 12, src);
    put_be32(b + 16, dst);
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2)
        sum += (uint32_t)b[i] << 8 | b[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put_be16(b + 10, (uint16_t)~sum);
    put_be32(b + 20, seq);
    for (size_t i = 24; i < len; i++)
        b[i] = (uint8_t)(seq * 7u + i);
}

static int fake_input(void *ctx, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct fake *f = ctx;
    assert_true(f->arrivals < MAX_ARRIVALS);
    struct arrival *a = &f->log[f->arrivals++];
    a->seq = len >= 24 ? get_be32(pkt + 20) : 0;
    a->time = now;
    a->len = len;
    memcpy(a->bytes, pkt, len < KEEP_BYTES ? len : KEEP_BYTES);
    if (f->echo) f->echoes_due++;
    return 0;
}

static synack_ssize fake_output(void *ctx, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct fake *f = ctx;
    (void)now;
    assert_true(f->pkt_len <= cap);
    if (f->echoes_sent < f->echoes_due) {
        f->echoes_sent++;
        build_packet(buf, f->pkt_len, f->addr, f->dst, ECHO_SEQ + f->echoes_sent);
        return (synack_ssize)f->pkt_len;
    }
    if (f->sent >= f->released) return SYNACK_ERR_AGAIN;
    f->sent++;
    build_packet(buf, f->pkt_len, f->addr, f->dst, f->sent);
    return (synack_ssize)f->pkt_len;
}

static synack_time_t fake_send_time(const struct fake *f, uint32_t i)
{
    return f->send_at + (synack_time_t)(i / (f->burst ? f->burst : 1)) * f->gap;
}

static synack_time_t fake_next_deadline(void *ctx)
{
    struct fake *f = ctx;
    synack_time_t t = SYNACK_NEVER;
    if (f->released < f->to_send) t = fake_send_time(f, f->released);
    if (f->timer_next < f->timer_count && f->timers[f->timer_next] < t)
        t = f->timers[f->timer_next];
    return t;
}

static void fake_handle_timers(void *ctx, synack_time_t now)
{
    struct fake *f = ctx;
    if (f->fired_count < MAX_TIMERS * 2) f->fired[f->fired_count++] = now;
    while (f->released < f->to_send && fake_send_time(f, f->released) <= now)
        f->released++;
    while (f->timer_next < f->timer_count && f->timers[f->timer_next] <= now)
        f->timer_next++;
}

static size_t fake_addrs(void *ctx, struct synack_addr *out, size_t cap)
{
    if (cap == 0) return 0;
    out[0] = synack_addr_v4(((struct fake *)ctx)->addr);
    return 1;
}

static const struct synack_sim_node_ops fake_ops = {
    .input = fake_input,
    .output = fake_output,
    .next_deadline = fake_next_deadline,
    .handle_timers = fake_handle_timers,
    .addrs = fake_addrs,
};

/* ---- an observer that remembers what it was told ------------------------------------- */

#define MAX_EVENTS 64

struct observed {
    size_t count[SYNACK_SIM_NO_ROUTE + 1];
    struct synack_sim_packet ev[MAX_EVENTS]; /* the first events, pkt pointers cleared */
    size_t n;
};

static void observe(void *ctx, const struct synack_sim_packet *ev)
{
    struct observed *o = ctx;
    o->count[ev->kind]++;
    if (o->n < MAX_EVENTS) {
        o->ev[o->n] = *ev;
        o->ev[o->n].pkt = NULL;
        o->n++;
    }
}

/* The packet numbers of the first events of one kind, in order. */
static size_t observed_numbers(const struct observed *o, enum synack_sim_packet_kind kind,
                               uint64_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n && n < cap; i++)
        if (o->ev[i].kind == kind) out[n++] = o->ev[i].number;
    return n;
}

/* ---- a two-node network: A sends to B over one link ------------------------------------ */

struct net {
    struct synack_sim *sim;
    struct fake a, b;
    int link;
};

static void net_setup(struct net *n, uint64_t seed, const struct synack_sim_link_params *p,
                      uint32_t count, size_t len)
{
    assert_int_equal(synack_sim_new(&n->sim, seed), 0);
    fake_init(&n->a, ADDR_A, ADDR_B, count, len);
    fake_init(&n->b, ADDR_B, ADDR_A, 0, len);
    assert_int_equal(synack_sim_add_node(n->sim, &fake_ops, &n->a), 0);
    assert_int_equal(synack_sim_add_node(n->sim, &fake_ops, &n->b), 1);
    n->link = synack_sim_add_link(n->sim, 0, 1, p);
    assert_int_equal(n->link, 0);
}

static void net_teardown(struct net *n)
{
    synack_sim_free(n->sim);
    fake_fini(&n->a);
    fake_fini(&n->b);
}

/* Steps until nothing is pending; returns the number of steps. */
static size_t run_all(struct synack_sim *sim)
{
    size_t steps = 0;
    int rc;
    while ((rc = synack_sim_step(sim)) == 0) {
        steps++;
        assert_true(steps < MAX_STEPS);
    }
    assert_int_equal(rc, SYNACK_ERR_AGAIN);
    return steps;
}

static struct synack_sim_link_stats link_stats(const struct net *n)
{
    struct synack_sim_link_stats st;
    assert_int_equal(synack_sim_link_stats(n->sim, n->link, &st), 0);
    return st;
}

static struct synack_sim_link_params clean_link(synack_time_t latency)
{
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = latency;
    return p;
}

/* ---- tests: one impairment at a time ----------------------------------------------------- */

static void latency_delivers_at_exact_time(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(10));
    net_setup(&n, 1, &p, 3, 40);
    n.a.send_at = SYNACK_MS(2);
    assert_int_equal(synack_sim_next_time(n.sim), SYNACK_MS(2));
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(n.b.log[i].seq, i + 1);
        assert_int_equal(n.b.log[i].time, SYNACK_MS(12));
        assert_int_equal(n.b.log[i].len, 40);
    }
    assert_int_equal(synack_sim_now(n.sim), SYNACK_MS(12));
    assert_int_equal(synack_sim_next_time(n.sim), SYNACK_NEVER);
    net_teardown(&n);
}

static void rate_serialization_delay(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.rate_bps = 8000000; /* one byte per microsecond */
    net_setup(&n, 1, &p, 4, 1000);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 4);
    /* Back to back: the k-th packet's last bit leaves after k * 1000 us. */
    for (uint32_t k = 1; k <= 4; k++)
        assert_int_equal(n.b.log[k - 1].time, SYNACK_US(1000) * k + SYNACK_MS(1));

    /* An idle link starts serializing at once: a packet offered later is not held up. */
    n.a.to_send = 5;
    n.a.send_at = SYNACK_MS(100);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 5);
    assert_int_equal(n.b.log[4].time, SYNACK_MS(100) + SYNACK_US(1000) + SYNACK_MS(1));
    net_teardown(&n);
}

static void queue_drop_tail(void **state)
{
    (void)state;
    struct net n;
    struct observed o = {0};
    struct synack_sim_link_params p = clean_link(0);
    p.rate_bps = 8000; /* one byte per millisecond */
    p.queue_bytes = 1000;
    /* Packets 1-5 at 0 ms, 6-7 at 600 ms. */
    net_setup(&n, 1, &p, 7, 500);
    n.a.burst = 5;
    n.a.gap = SYNACK_MS(600);
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    /* At 0 ms packet 1 goes straight to the serializer, 2 and 3 fill the queue, 4 and 5
     * find it full. At 600 ms packet 2 is being serialized, so 6 takes its place in the
     * queue and 7 finds it full. */
    struct synack_sim_link_stats st = link_stats(&n);
    assert_int_equal(st.offered, 7);
    assert_int_equal(st.queue_drops, 3);
    assert_int_equal(st.delivered, 4);
    uint64_t full[4];
    assert_int_equal(observed_numbers(&o, SYNACK_SIM_QUEUE_FULL, full, 4), 3);
    assert_int_equal(full[0], 4);
    assert_int_equal(full[1], 5);
    assert_int_equal(full[2], 7);
    static const uint32_t seqs[] = {1, 2, 3, 6};
    assert_int_equal(n.b.arrivals, 4);
    for (uint32_t k = 1; k <= 4; k++) {
        assert_int_equal(n.b.log[k - 1].seq, seqs[k - 1]);
        assert_int_equal(n.b.log[k - 1].time, SYNACK_MS(500) * k);
    }
    net_teardown(&n);
}

static void drop_list_drops_exact_packets(void **state)
{
    (void)state;
    static const uint64_t drops[] = {7, 2, 5};
    struct net n;
    struct observed o = {0};
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.drop_list = drops;
    p.drop_count = 3;
    net_setup(&n, 1, &p, 10, 40);
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    static const uint32_t expect[] = {1, 3, 4, 6, 8, 9, 10};
    assert_int_equal(n.b.arrivals, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(n.b.log[i].seq, expect[i]);
    uint64_t dropped[4];
    assert_int_equal(observed_numbers(&o, SYNACK_SIM_DROPPED, dropped, 4), 3);
    assert_int_equal(dropped[0], 2);
    assert_int_equal(dropped[1], 5);
    assert_int_equal(dropped[2], 7);
    assert_int_equal(o.count[SYNACK_SIM_SENT], 10);
    assert_int_equal(o.count[SYNACK_SIM_DELIVERED], 7);
    struct synack_sim_link_stats st = link_stats(&n);
    assert_int_equal(st.dropped_list, 3);
    assert_int_equal(st.lost, 0);
    net_teardown(&n);
}

/* A cut link: what is offered before cut_at arrives, everything from then on is dropped. */
static void cut_link_drops_everything_from_then_on(void **state)
{
    (void)state;
    struct net n;
    struct observed o = {0};
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.cut_at = SYNACK_MS(4); /* packets go at 0, 1, 2, ... ms: 4 of them before */
    net_setup(&n, 1, &p, 10, 40);
    n.a.gap = SYNACK_MS(1);
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(n.b.log[i].seq, i + 1);
    assert_int_equal(o.count[SYNACK_SIM_DROPPED], 6);
    assert_int_equal(link_stats(&n).dropped_list, 6);
    net_teardown(&n);
}

/* A route change: packets offered from reroute_at on take reroute_latency. Longer: each
 * arrives that much later. Shorter: a packet still waits for those offered before it on
 * the longer route (no reordering), then goes on at the new delay. */
static void reroute_changes_the_delay_from_then_on(void **state)
{
    (void)state;
    const struct {
        synack_time_t after;
        synack_time_t arrive[6];
    } cases[] = {
        /* sent at 0..5 ms, 10 ms each before 3 ms, 30 after */
        {SYNACK_MS(30),
         {SYNACK_MS(10), SYNACK_MS(11), SYNACK_MS(12), SYNACK_MS(33), SYNACK_MS(34),
          SYNACK_MS(35)}},
        /* 2 ms after: the one sent at 3 ms would arrive at 5, before the one sent at 2
         * (at 12); it waits for it, and so do the next (at 6 and 7) */
        {SYNACK_MS(2),
         {SYNACK_MS(10), SYNACK_MS(11), SYNACK_MS(12), SYNACK_MS(12), SYNACK_MS(12),
          SYNACK_MS(12)}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct net n;
        struct synack_sim_link_params p = clean_link(SYNACK_MS(10));
        p.reroute_at = SYNACK_MS(3);
        p.reroute_latency = cases[c].after;
        net_setup(&n, 1, &p, 6, 40);
        n.a.gap = SYNACK_MS(1);
        run_all(n.sim);
        assert_int_equal(n.b.arrivals, 6);
        for (size_t i = 0; i < 6; i++) {
            assert_int_equal(n.b.log[i].seq, i + 1);
            assert_int_equal(n.b.log[i].time, cases[c].arrive[i]);
        }
        net_teardown(&n);
    }
}

static void loss_rate_roughly_matches_probability(void **state)
{
    (void)state;
    struct net n;
    struct observed o = {0};
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.loss = 0.1;
    net_setup(&n, 42, &p, 10000, 40);
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    struct synack_sim_link_stats st = link_stats(&n);
    assert_int_equal(st.offered, 10000);
    assert_int_equal(st.lost + st.delivered, 10000);
    assert_int_equal(st.delivered, n.b.arrivals);
    assert_int_equal(o.count[SYNACK_SIM_LOST], st.lost);
    /* 10000 draws at p = 0.1: sd is 30, so +-200 is about 6.7 sd. */
    assert_in_range(st.lost, 800, 1200);
    net_teardown(&n);
}

static void duplicate_delivers_twice(void **state)
{
    (void)state;
    struct net n;
    struct observed o = {0};
    struct synack_sim_link_params p = clean_link(SYNACK_MS(3));
    p.dup = 1.0;
    net_setup(&n, 1, &p, 5, 40);
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 10);
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(n.b.log[i].seq, i / 2 + 1);
        assert_int_equal(n.b.log[i].time, SYNACK_MS(3));
    }
    assert_memory_equal(n.b.log[0].bytes, n.b.log[1].bytes, 40);
    struct synack_sim_link_stats st = link_stats(&n);
    assert_int_equal(st.duplicated, 5);
    assert_int_equal(st.delivered, 10);
    assert_int_equal(st.bytes_delivered, 400);
    assert_int_equal(o.count[SYNACK_SIM_DUPLICATED], 5);
    /* The second copy of each is flagged. */
    size_t flagged = 0;
    for (size_t i = 0; i < o.n; i++)
        if (o.ev[i].kind == SYNACK_SIM_DELIVERED && (o.ev[i].flags & SYNACK_SIM_F_DUPLICATE))
            flagged++;
    assert_int_equal(flagged, 5);
    net_teardown(&n);
}

/* Counts pairs (i, i+1) in arrival order where the later-sent packet came first. */
static size_t inversions(const struct fake *f)
{
    size_t n = 0;
    for (size_t i = 1; i < f->arrivals; i++)
        if (f->log[i].seq < f->log[i - 1].seq) n++;
    return n;
}

static void reorder_lets_later_packet_overtake(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(10));
    p.reorder = 0.2;
    p.reorder_delay = SYNACK_MS(5);
    net_setup(&n, 7, &p, 100, 40);
    n.a.gap = SYNACK_MS(1);
    run_all(n.sim);
    struct synack_sim_link_stats st = link_stats(&n);
    assert_int_equal(n.b.arrivals, 100);
    assert_true(st.reordered > 0);
    assert_true(inversions(&n.b) > 0);
    /* Each held-back packet arrives exactly reorder_delay late; the others are on time. */
    size_t late = 0;
    for (size_t i = 0; i < n.b.arrivals; i++) {
        const struct arrival *a = &n.b.log[i];
        synack_time_t on_time = SYNACK_MS(a->seq - 1) + SYNACK_MS(10);
        if (a->time != on_time) {
            assert_int_equal(a->time, on_time + SYNACK_MS(5));
            late++;
        }
    }
    assert_int_equal(late, st.reordered);
    net_teardown(&n);
}

static void jitter_never_reorders(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(10));
    p.jitter = SYNACK_MS(20); /* far more than the gap between packets */
    net_setup(&n, 3, &p, 200, 40);
    n.a.gap = SYNACK_MS(1);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 200);
    assert_int_equal(inversions(&n.b), 0);
    bool delayed = false;
    for (size_t i = 0; i < n.b.arrivals; i++) {
        synack_time_t sent = SYNACK_MS(n.b.log[i].seq - 1);
        assert_true(n.b.log[i].time >= sent + SYNACK_MS(10));
        if (n.b.log[i].time > sent + SYNACK_MS(10)) delayed = true;
    }
    assert_true(delayed);
    net_teardown(&n);
}

static int popcount8(uint8_t x)
{
    int n = 0;
    for (; x; x &= (uint8_t)(x - 1))
        n++;
    return n;
}

static void corrupt_flips_one_bit(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.corrupt = 1.0;
    net_setup(&n, 5, &p, 50, 48);
    run_all(n.sim);
    assert_int_equal(n.b.arrivals, 50);
    for (uint32_t i = 0; i < 50; i++) {
        uint8_t expect[48];
        build_packet(expect, 48, ADDR_A, ADDR_B, i + 1);
        int flipped = 0;
        for (size_t k = 0; k < 48; k++)
            flipped += popcount8(expect[k] ^ n.b.log[i].bytes[k]);
        assert_int_equal(flipped, 1);
    }
    assert_int_equal(link_stats(&n).corrupted, 50);
    net_teardown(&n);
}

/* ---- tests: the clock ------------------------------------------------------------------- */

static void timers_fire_at_node_deadline(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(4));
    net_setup(&n, 1, &p, 0, 40);
    n.b.timers[0] = SYNACK_MS(5);
    n.b.timers[1] = SYNACK_MS(12);
    n.b.timer_count = 2;
    /* A sends one packet at 7 ms from its own timer; B's timers are independent of it. */
    n.a.to_send = 1;
    n.a.send_at = SYNACK_MS(7);
    assert_int_equal(synack_sim_next_time(n.sim), SYNACK_MS(5));
    assert_int_equal(synack_sim_step(n.sim), 0);
    assert_int_equal(synack_sim_now(n.sim), SYNACK_MS(5));
    assert_int_equal(n.b.fired_count, 1);
    assert_int_equal(synack_sim_step(n.sim), 0);
    assert_int_equal(synack_sim_now(n.sim), SYNACK_MS(7));
    assert_int_equal(n.a.fired_count, 1);
    assert_int_equal(synack_sim_next_time(n.sim), SYNACK_MS(11)); /* the packet */
    assert_int_equal(synack_sim_step(n.sim), 0);
    assert_int_equal(n.b.arrivals, 1);
    assert_int_equal(n.b.log[0].time, SYNACK_MS(11));
    assert_int_equal(synack_sim_step(n.sim), 0);
    assert_int_equal(synack_sim_now(n.sim), SYNACK_MS(12));
    assert_int_equal(synack_sim_step(n.sim), SYNACK_ERR_AGAIN);
    assert_int_equal(n.b.fired_count, 2);
    assert_int_equal(n.b.fired[0], SYNACK_MS(5));
    assert_int_equal(n.b.fired[1], SYNACK_MS(12));
    net_teardown(&n);
}

static void packet_and_timer_at_same_instant_packet_first(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(4));
    net_setup(&n, 1, &p, 1, 40);
    n.b.timers[0] = SYNACK_MS(4);
    n.b.timer_count = 1;
    assert_int_equal(synack_sim_step(n.sim), 0); /* A's send timer at 0 */
    assert_int_equal(synack_sim_step(n.sim), 0); /* at 4 ms: the packet ... */
    assert_int_equal(n.b.arrivals, 1);
    assert_int_equal(n.b.fired_count, 0);
    assert_int_equal(synack_sim_step(n.sim), 0); /* ... then B's timer, same instant */
    assert_int_equal(n.b.fired_count, 1);
    assert_int_equal(n.b.fired[0], SYNACK_MS(4));
    net_teardown(&n);
}

static void run_until_stops_at_time(void **state)
{
    (void)state;
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(10));
    net_setup(&n, 1, &p, 3, 40);
    n.a.gap = SYNACK_MS(10);
    /* Packets arrive at 10, 20, 30 ms. */
    assert_int_equal(synack_sim_run_until(n.sim, SYNACK_MS(25)), 0);
    assert_int_equal(synack_sim_now(n.sim), SYNACK_MS(25));
    assert_int_equal(n.b.arrivals, 2);
    assert_int_equal(synack_sim_next_time(n.sim), SYNACK_MS(30));
    assert_int_equal(synack_sim_run_until(n.sim, SYNACK_MS(24)), SYNACK_ERR_INVAL);
    assert_int_equal(synack_sim_run_until(n.sim, SYNACK_MS(30)), 0);
    assert_int_equal(n.b.arrivals, 3);
    assert_int_equal(n.b.log[2].time, SYNACK_MS(30));
    /* Output produced between steps leaves at the current time. */
    n.a.to_send = 4;
    n.a.released = 4;
    assert_int_equal(synack_sim_run_until(n.sim, SYNACK_MS(100)), 0);
    assert_int_equal(n.b.arrivals, 4);
    assert_int_equal(n.b.log[3].time, SYNACK_MS(40));
    assert_int_equal(synack_sim_step(n.sim), SYNACK_ERR_AGAIN);
    net_teardown(&n);
}

static void no_route_is_counted_and_dropped(void **state)
{
    (void)state;
    struct net n;
    struct observed o = {0};
    net_setup(&n, 1, NULL, 2, 40);
    n.a.dst = ADDR_C; /* nobody */
    synack_sim_set_observer(n.sim, observe, &o);
    run_all(n.sim);
    struct synack_sim_stats st;
    synack_sim_stats(n.sim, &st);
    assert_int_equal(st.no_route, 2);
    assert_int_equal(o.count[SYNACK_SIM_NO_ROUTE], 2);
    assert_int_equal(o.ev[0].link, -1);
    assert_int_equal(o.ev[0].from, 0);
    assert_int_equal(o.ev[0].to, -1);
    assert_int_equal(link_stats(&n).offered, 0);
    assert_int_equal(n.b.arrivals, 0);
    net_teardown(&n);
}

static void bad_arguments_are_rejected(void **state)
{
    (void)state;
    struct net n;
    net_setup(&n, 1, NULL, 0, 40);
    struct synack_sim_link_params p = clean_link(0);
    p.loss = 1.5;
    assert_int_equal(synack_sim_add_link(n.sim, 0, 1, &p), SYNACK_ERR_INVAL);
    assert_int_equal(synack_sim_add_link(n.sim, 0, 2, NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_sim_add_link(n.sim, -1, 1, NULL), SYNACK_ERR_INVAL);
    struct synack_sim_node_ops no_addr = fake_ops;
    no_addr.addrs = NULL;
    assert_int_equal(synack_sim_add_node(n.sim, &no_addr, &n.a), SYNACK_ERR_INVAL);
    struct synack_sim_link_stats st;
    assert_int_equal(synack_sim_link_stats(n.sim, 1, &st), SYNACK_ERR_INVAL);
    assert_int_equal(synack_sim_add_link(n.sim, 1, 0, NULL), 1);
    net_teardown(&n);
}

/* ---- tests: determinism ---------------------------------------------------------------- */

/* A and B send to each other over links with every impairment at once. */
struct busy_net {
    struct synack_sim *sim;
    struct fake a, b;
};

static void busy_link_params(struct synack_sim_link_params *p)
{
    synack_sim_link_params_default(p);
    p->latency = SYNACK_MS(20);
    p->jitter = SYNACK_MS(3);
    p->rate_bps = 10000000;
    p->queue_bytes = 20000;
    p->loss = 0.05;
    p->dup = 0.03;
    p->reorder = 0.05;
    p->reorder_delay = SYNACK_MS(7);
    p->corrupt = 0.02;
}

static void busy_setup(struct busy_net *n, uint64_t seed)
{
    struct synack_sim_link_params p;
    busy_link_params(&p);
    assert_int_equal(synack_sim_new(&n->sim, seed), 0);
    fake_init(&n->a, ADDR_A, ADDR_B, 400, 1200);
    fake_init(&n->b, ADDR_B, ADDR_A, 300, 600);
    n->a.gap = SYNACK_US(500);
    n->b.gap = SYNACK_US(700);
    n->b.send_at = SYNACK_US(123);
    n->b.echo = true;
    assert_int_equal(synack_sim_add_node(n->sim, &fake_ops, &n->a), 0);
    assert_int_equal(synack_sim_add_node(n->sim, &fake_ops, &n->b), 1);
    assert_int_equal(synack_sim_add_link(n->sim, 0, 1, &p), 0);
    assert_int_equal(synack_sim_add_link(n->sim, 1, 0, &p), 1);
}

static void busy_teardown(struct busy_net *n)
{
    synack_sim_free(n->sim);
    fake_fini(&n->a);
    fake_fini(&n->b);
}

static bool same_log(const struct fake *x, const struct fake *y)
{
    if (x->arrivals != y->arrivals) return false;
    for (size_t i = 0; i < x->arrivals; i++) {
        const struct arrival *a = &x->log[i], *b = &y->log[i];
        if (a->seq != b->seq || a->time != b->time || a->len != b->len ||
            memcmp(a->bytes, b->bytes, KEEP_BYTES) != 0)
            return false;
    }
    return true;
}

static void same_seed_same_schedule(void **state)
{
    (void)state;
    struct busy_net x, y;
    busy_setup(&x, 1234);
    busy_setup(&y, 1234);
    run_all(x.sim);
    run_all(y.sim);
    assert_true(x.b.arrivals > 100);
    assert_true(same_log(&x.a, &y.a));
    assert_true(same_log(&x.b, &y.b));
    for (int l = 0; l < 2; l++) {
        struct synack_sim_link_stats sx, sy;
        assert_int_equal(synack_sim_link_stats(x.sim, l, &sx), 0);
        assert_int_equal(synack_sim_link_stats(y.sim, l, &sy), 0);
        assert_memory_equal(&sx, &sy, sizeof(sx));
        /* Every impairment happened, so the comparison covers them all. */
        assert_true(sx.lost > 0 && sx.duplicated > 0 && sx.reordered > 0 && sx.corrupted > 0);
    }
    assert_int_equal(synack_sim_now(x.sim), synack_sim_now(y.sim));
    busy_teardown(&x);
    busy_teardown(&y);
}

static void different_seed_differs(void **state)
{
    (void)state;
    struct busy_net x, y;
    busy_setup(&x, 1234);
    busy_setup(&y, 1235);
    run_all(x.sim);
    run_all(y.sim);
    assert_false(same_log(&x.b, &y.b));
    assert_false(same_log(&x.a, &y.a));
    busy_teardown(&x);
    busy_teardown(&y);
}

/* The fate of each packet on link A->B, as a string of 'd'elivered / 'l'ost. */
static void loss_pattern(struct synack_sim *sim, struct fake *b, char *out, size_t count)
{
    run_all(sim);
    memset(out, 'l', count);
    for (size_t i = 0; i < b->arrivals; i++)
        out[b->log[i].seq - 1] = 'd';
}

static void adding_a_link_keeps_other_links_draws(void **state)
{
    (void)state;
    enum { COUNT = 300 };
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.loss = 0.3;
    char alone[COUNT], with_more[COUNT];

    struct net x;
    net_setup(&x, 99, &p, COUNT, 40);
    loss_pattern(x.sim, &x.b, alone, COUNT);

    /* Same network plus a third node and a busy lossy link, added afterwards. */
    struct net y;
    struct fake c;
    net_setup(&y, 99, &p, COUNT, 40);
    fake_init(&c, ADDR_C, ADDR_A, COUNT, 40);
    assert_int_equal(synack_sim_add_node(y.sim, &fake_ops, &c), 2);
    assert_int_equal(synack_sim_add_link(y.sim, 2, 0, &p), 1);
    loss_pattern(y.sim, &y.b, with_more, COUNT);
    struct synack_sim_link_stats extra;
    assert_int_equal(synack_sim_link_stats(y.sim, 1, &extra), 0);
    assert_true(extra.lost > 0);
    assert_int_equal(y.a.arrivals, COUNT - extra.lost);

    assert_memory_equal(alone, with_more, COUNT);
    assert_non_null(memchr(alone, 'l', COUNT));
    net_teardown(&x);
    net_teardown(&y);
    fake_fini(&c);
}

/* ---- tests: capture ---------------------------------------------------------------------- */

static void temp_path(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/synack_simnet_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void capture_busy_run(uint64_t seed, const char *path)
{
    struct busy_net n;
    busy_setup(&n, seed);
    assert_int_equal(synack_sim_capture(n.sim, path), 0);
    run_all(n.sim);
    assert_int_equal(synack_sim_capture(n.sim, NULL), 0);
    busy_teardown(&n);
}

static void capture_same_seed_identical_pcap_bytes(void **state)
{
    (void)state;
    char p1[64], p2[64], p3[64];
    temp_path(p1, sizeof(p1));
    temp_path(p2, sizeof(p2));
    temp_path(p3, sizeof(p3));
    capture_busy_run(77, p1);
    capture_busy_run(77, p2);
    capture_busy_run(78, p3);
    size_t l1, l2, l3;
    uint8_t *b1 = read_file(p1, &l1), *b2 = read_file(p2, &l2), *b3 = read_file(p3, &l3);
    unlink(p1);
    unlink(p2);
    unlink(p3);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    /* B echoes what arrives, so its packets and their times depend on the seed. */
    assert_true(l1 != l3 || memcmp(b1, b3, l1) != 0);
    free(b1);
    free(b2);
    free(b3);
}

static void capture_is_readable_by_libpcap(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct net n;
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    p.drop_list = (const uint64_t[]){2};
    p.drop_count = 1;
    p.dup = 1.0;
    net_setup(&n, 1, &p, 3, 60);
    n.a.send_at = SYNACK_S(2) + 5; /* seconds and nanoseconds both show */
    n.a.gap = SYNACK_US(1);
    assert_int_equal(synack_sim_capture(n.sim, path), 0);
    run_all(n.sim);
    synack_sim_free(n.sim);
    n.sim = NULL;

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    assert_non_null(pc);
    assert_int_equal(pcap_datalink(pc), DLT_RAW);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint32_t count = 0;
    /* Every offered packet once: the dropped one too, duplicates not twice. */
    while (pcap_next_ex(pc, &hdr, &data) == 1) {
        count++;
        assert_true(count <= 3);
        assert_int_equal(hdr->caplen, 60);
        assert_int_equal(hdr->len, 60);
        assert_int_equal(get_be32(data + 20), count);
        synack_time_t t =
            (synack_time_t)hdr->ts.tv_sec * 1000000000u + (synack_time_t)hdr->ts.tv_usec;
        assert_int_equal(t, SYNACK_S(2) + 5 + SYNACK_US(count - 1));
    }
    assert_int_equal(count, 3);
    pcap_close(pc);
    unlink(path);
    fake_fini(&n.a);
    fake_fini(&n.b);
}

static void capture_bad_path_reports_error(void **state)
{
    (void)state;
    struct synack_sim *sim;
    assert_int_equal(synack_sim_new(&sim, 1), 0);
    assert_string_equal(synack_sim_error(sim), "");
    assert_int_equal(synack_sim_capture(sim, "/nonexistent-dir/x.pcap"), SYNACK_ERR_IO);
    assert_non_null(strstr(synack_sim_error(sim), "/nonexistent-dir/x.pcap"));
    synack_sim_free(sim);
}

static uint32_t pcap_count(const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    assert_non_null(pc);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint32_t count = 0;
    while (pcap_next_ex(pc, &hdr, &data) == 1)
        count++;
    pcap_close(pc);
    return count;
}

/* Each link can have its own capture file, beside the whole-network one. */
static void capture_each_link_on_its_own(void **state)
{
    (void)state;
    char all[64], ab[64], ba[64];
    temp_path(all, sizeof(all));
    temp_path(ab, sizeof(ab));
    temp_path(ba, sizeof(ba));
    struct synack_sim *sim;
    struct fake a, b;
    assert_int_equal(synack_sim_new(&sim, 3), 0);
    fake_init(&a, ADDR_A, ADDR_B, 5, 60);
    fake_init(&b, ADDR_B, ADDR_A, 2, 60);
    assert_int_equal(synack_sim_add_node(sim, &fake_ops, &a), 0);
    assert_int_equal(synack_sim_add_node(sim, &fake_ops, &b), 1);
    struct synack_sim_link_params p = clean_link(SYNACK_MS(1));
    int l_ab = synack_sim_add_link(sim, 0, 1, &p);
    int l_ba = synack_sim_add_link(sim, 1, 0, &p);
    assert_int_equal(synack_sim_capture(sim, all), 0);
    assert_int_equal(synack_sim_capture_link(sim, l_ab, ab), 0);
    assert_int_equal(synack_sim_capture_link(sim, l_ba, ba), 0);
    assert_int_equal(synack_sim_capture_link(sim, 7, ab), SYNACK_ERR_INVAL);
    run_all(sim);
    synack_sim_free(sim);
    assert_int_equal(pcap_count(ab), 5);
    assert_int_equal(pcap_count(ba), 2);
    assert_int_equal(pcap_count(all), 7);
    unlink(all);
    unlink(ab);
    unlink(ba);
    fake_fini(&a);
    fake_fini(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(capture_each_link_on_its_own),
    cmocka_unit_test(latency_delivers_at_exact_time),
    cmocka_unit_test(rate_serialization_delay),
    cmocka_unit_test(queue_drop_tail),
    cmocka_unit_test(drop_list_drops_exact_packets),
    cmocka_unit_test(cut_link_drops_everything_from_then_on),
    cmocka_unit_test(reroute_changes_the_delay_from_then_on),
    cmocka_unit_test(loss_rate_roughly_matches_probability),
    cmocka_unit_test(duplicate_delivers_twice),
    cmocka_unit_test(reorder_lets_later_packet_overtake),
    cmocka_unit_test(jitter_never_reorders),
    cmocka_unit_test(corrupt_flips_one_bit),
    cmocka_unit_test(timers_fire_at_node_deadline),
    cmocka_unit_test(packet_and_timer_at_same_instant_packet_first),
    cmocka_unit_test(run_until_stops_at_time),
    cmocka_unit_test(no_route_is_counted_and_dropped),
    cmocka_unit_test(bad_arguments_are_rejected),
    cmocka_unit_test(same_seed_same_schedule),
    cmocka_unit_test(different_seed_differs),
    cmocka_unit_test(adding_a_link_keeps_other_links_draws),
    cmocka_unit_test(capture_same_seed_identical_pcap_bytes),
    cmocka_unit_test(capture_is_readable_by_libpcap),
    cmocka_unit_test(capture_bad_path_reports_error),
};

SYNACK_TEST_MAIN("simnet", tests)
