/* The wrappers that fit around any link: fault injection (loss, delay, reordering,
 * duplication, corruption, rate) and capture to a pcap file. They wrap an in-memory link
 * written here, so every packet and every `now` is the test's own. */
#include "harness.h"

#include <malloc.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synack/link.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif
#ifdef HEAP_ASAN
/* From the sanitizer runtime (<sanitizer/allocator_interface.h>, not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the process has allocated and not freed, as the allocator counts them. */
static size_t heap_in_use(void)
{
#ifdef HEAP_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

/* ---- an in-memory link ------------------------------------------------------------------ */

/* A packet the wrapper sent into the memory link. */
struct mem_rec {
    synack_time_t t;
    const uint8_t *ptr; /* the pointer send was given (to see whether it was copied) */
    size_t len;
    uint8_t *data; /* a copy */
};

/* A packet waiting to be received from the memory link. */
struct mem_in {
    uint8_t *data;
    size_t len;
};

/* Everything the memory link does is kept here, owned by the test, so it can still be
 * inspected when the wrapper has freed the link. */
struct mem_world {
    struct mem_rec *sent;
    size_t sent_count, sent_cap;
    struct mem_in *inbox;
    size_t in_head, in_count, in_cap;
    int send_rc;            /* what send returns: 0, or an error to act as a refusing OS */
    synack_time_t deadline; /* what next_deadline reports */
    unsigned polls;
    synack_time_t last_poll;
    bool freed;
};

struct mem_link {
    struct synack_link base;
    struct mem_world *w;
};

#define MEM_FD 42
#define MEM_MTU 1500

static struct mem_world *mem_of(const struct synack_link *l)
{
    return ((const struct mem_link *)(const void *)l)->w;
}

static synack_ssize mem_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    (void)now;
    struct mem_world *w = mem_of(l);
    if (w->in_head == w->in_count) return SYNACK_ERR_AGAIN;
    struct mem_in *in = &w->inbox[w->in_head++];
    size_t len = in->len;
    bool fits = len <= cap;
    if (fits) memcpy(buf, in->data, len);
    free(in->data);
    in->data = NULL;
    return fits ? (synack_ssize)len : SYNACK_ERR_BUFSZ;
}

static int mem_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct mem_world *w = mem_of(l);
    if (w->send_rc < 0) return w->send_rc;
    if (w->sent_count == w->sent_cap) {
        w->sent_cap = w->sent_cap ? w->sent_cap * 2 : 64;
        w->sent = realloc(w->sent, w->sent_cap * sizeof(*w->sent));
        assert_non_null(w->sent);
    }
    struct mem_rec *r = &w->sent[w->sent_count++];
    r->t = now;
    r->ptr = pkt;
    r->len = len;
    r->data = malloc(len);
    assert_non_null(r->data);
    memcpy(r->data, pkt, len);
    return 0;
}

static int mem_fd(const struct synack_link *l)
{
    (void)l;
    return MEM_FD;
}

static synack_time_t mem_next_deadline(const struct synack_link *l)
{
    return mem_of(l)->deadline;
}

static void mem_poll(struct synack_link *l, synack_time_t now)
{
    struct mem_world *w = mem_of(l);
    w->polls++;
    w->last_poll = now;
}

static unsigned mem_mtu(const struct synack_link *l)
{
    (void)l;
    return MEM_MTU;
}

static void mem_free(struct synack_link *l)
{
    mem_of(l)->freed = true;
    free(l);
}

static const struct synack_link_ops mem_ops = {
    .kind = "mem",
    .recv = mem_recv,
    .send = mem_send,
    .fd = mem_fd,
    .next_deadline = mem_next_deadline,
    .poll = mem_poll,
    .mtu = mem_mtu,
    .free = mem_free,
};

static struct synack_link *mem_new(struct mem_world *w)
{
    memset(w, 0, sizeof(*w));
    w->deadline = SYNACK_NEVER;
    struct mem_link *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->base.ops = &mem_ops;
    m->w = w;
    return &m->base;
}

static void mem_push_in(struct mem_world *w, const uint8_t *pkt, size_t len)
{
    if (w->in_count == w->in_cap) {
        w->in_cap = w->in_cap ? w->in_cap * 2 : 64;
        w->inbox = realloc(w->inbox, w->in_cap * sizeof(*w->inbox));
        assert_non_null(w->inbox);
    }
    struct mem_in *in = &w->inbox[w->in_count++];
    in->data = malloc(len);
    assert_non_null(in->data);
    memcpy(in->data, pkt, len);
    in->len = len;
}

/* Forgets what was sent (the records, not the count of inbox packets). */
static void mem_clear_sent(struct mem_world *w)
{
    for (size_t i = 0; i < w->sent_count; i++)
        free(w->sent[i].data);
    w->sent_count = 0;
}

static void mem_world_fini(struct mem_world *w)
{
    mem_clear_sent(w);
    free(w->sent);
    for (size_t i = w->in_head; i < w->in_count; i++)
        free(w->inbox[i].data);
    free(w->inbox);
}

/* ---- test packets ----------------------------------------------------------------------- */

/* Packet `id` of `len` (>= 12) bytes: the id three times (so one flipped bit cannot hide
 * it), then a pattern that depends on the id. */
static void make_pkt(uint8_t *buf, uint32_t id, size_t len)
{
    for (int k = 0; k < 3; k++) {
        buf[4 * k] = (uint8_t)(id >> 24);
        buf[4 * k + 1] = (uint8_t)(id >> 16);
        buf[4 * k + 2] = (uint8_t)(id >> 8);
        buf[4 * k + 3] = (uint8_t)id;
    }
    for (size_t i = 12; i < len; i++)
        buf[i] = (uint8_t)(id * 31u + i);
}

static uint32_t get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The id of a test packet, by majority of its three copies. */
static uint32_t pkt_id(const uint8_t *b)
{
    uint32_t a = get_be32(b), c = get_be32(b + 4), d = get_be32(b + 8);
    return a == c || a == d ? a : c;
}

/* Bits in which `b` differs from the intact packet it claims to be. */
static unsigned bits_changed(const uint8_t *b, size_t len)
{
    uint8_t want[2048];
    assert_true(len <= sizeof(want));
    make_pkt(want, pkt_id(b), len);
    unsigned n = 0;
    for (size_t i = 0; i < len; i++)
        n += (unsigned)__builtin_popcount((unsigned)(b[i] ^ want[i]));
    return n;
}

/* ---- driving traffic through a wrapper ------------------------------------------------ */

enum { DIR_OUT, DIR_IN }; /* stack -> inner (send), inner -> stack (recv) */

/* One copy of a packet that came out of the wrapper. */
struct delivery {
    uint32_t id;
    synack_time_t offered, at;
    unsigned bits; /* bits changed on the way */
};

struct traffic {
    int dir;
    uint32_t n;          /* packets 0..n-1 */
    size_t len;          /* bytes each */
    synack_time_t start; /* packet i is offered at start + i * spacing */
    synack_time_t spacing;
    struct delivery *log; /* every copy that came out, in order */
    size_t count;
};

static synack_time_t offer_time(const struct traffic *tr, uint32_t i)
{
    return tr->start + (synack_time_t)i * tr->spacing;
}

static void log_delivery(struct traffic *tr, const uint8_t *b, size_t len, synack_time_t at)
{
    assert_int_equal(len, tr->len);
    assert_true(tr->count < 4u * tr->n); /* at most two copies each, with room to spare */
    struct delivery *d = &tr->log[tr->count++];
    d->id = pkt_id(b);
    assert_true(d->id < tr->n);
    d->offered = offer_time(tr, d->id);
    d->at = at;
    d->bits = bits_changed(b, len);
}

static void collect_out(struct traffic *tr, struct mem_world *w)
{
    for (size_t i = 0; i < w->sent_count; i++)
        log_delivery(tr, w->sent[i].data, w->sent[i].len, w->sent[i].t);
    mem_clear_sent(w);
}

static void collect_in(struct traffic *tr, struct synack_link *l, synack_time_t now)
{
    uint8_t buf[2048];
    synack_ssize n;
    while ((n = synack_link_recv(l, buf, sizeof(buf), now)) > 0)
        log_delivery(tr, buf, (size_t)n, now);
    assert_int_equal(n, SYNACK_ERR_AGAIN);
}

/* Offers the packets of `tr` to `l` (wrapping the memory link of `w`) on their schedule
 * and runs the wrapper at each of its deadlines, as an event loop would, until nothing
 * is offered or held any more. Fills tr->log. */
static void run_traffic(struct traffic *tr, struct synack_link *l, struct mem_world *w)
{
    tr->log = calloc(4u * tr->n + 1, sizeof(*tr->log));
    assert_non_null(tr->log);
    tr->count = 0;
    uint8_t pkt[2048];
    assert_true(tr->len >= 12 && tr->len <= sizeof(pkt));
    uint32_t next = 0;
    /* Every turn offers a packet or releases a held one, so this bounds the loop. */
    for (uint64_t turn = 0; turn < 8u * (uint64_t)tr->n + 16; turn++) {
        synack_time_t t = next < tr->n ? offer_time(tr, next) : SYNACK_NEVER;
        synack_time_t deadline = synack_link_next_deadline(l);
        if (deadline < t) t = deadline;
        if (t == SYNACK_NEVER) return;
        for (; next < tr->n && offer_time(tr, next) <= t; next++) {
            make_pkt(pkt, next, tr->len);
            if (tr->dir == DIR_OUT)
                assert_int_equal(synack_link_send(l, pkt, tr->len, t), 0);
            else
                mem_push_in(w, pkt, tr->len);
        }
        synack_link_poll(l, t);
        if (tr->dir == DIR_OUT)
            collect_out(tr, w);
        else
            collect_in(tr, l, t);
    }
    fail_msg("the wrapper never went idle");
}

static struct synack_link *fault_new(struct mem_world *w, const struct synack_fault_params *p,
                                     uint64_t seed)
{
    struct synack_link *l;
    assert_int_equal(synack_fault_wrap(&l, mem_new(w), p, seed), 0);
    return l;
}

/* Runs `n` packets of `len` bytes, `spacing` apart, in direction `dir` through a fresh
 * fault wrapper with `p` and `seed`; returns the log (free it) and the wrapper's stats. */
static struct traffic fault_run(int dir, const struct synack_fault_params *p, uint64_t seed,
                                uint32_t n, size_t len, synack_time_t spacing,
                                struct synack_link_stats *stats)
{
    struct mem_world w;
    struct synack_link *l = fault_new(&w, p, seed);
    struct traffic tr = {.dir = dir, .n = n, .len = len, .start = SYNACK_MS(1), .spacing = spacing};
    run_traffic(&tr, l, &w);
    if (stats != NULL) synack_link_stats(l, stats);
    synack_link_free(l);
    assert_true(w.freed);
    mem_world_fini(&w);
    return tr;
}

/* Copies of each id in the log: out[id]. */
static void count_copies(const struct traffic *tr, unsigned *out)
{
    memset(out, 0, tr->n * sizeof(*out));
    for (size_t i = 0; i < tr->count; i++)
        out[tr->log[i].id]++;
}

static bool logs_equal(const struct traffic *a, const struct traffic *b)
{
    if (a->count != b->count) return false;
    for (size_t i = 0; i < a->count; i++) {
        const struct delivery *x = &a->log[i], *y = &b->log[i];
        if (x->id != y->id || x->at != y->at || x->bits != y->bits) return false;
    }
    return true;
}

/* ---- fault: pass-through -------------------------------------------------------------- */

/* No impairment: each packet goes straight through at once, the caller's own bytes (not
 * a copy) reach the inner link, nothing is ever held, and fd/mtu are the inner link's. */
static void fault_zero_impairment_passes_through(void **state)
{
    (void)state;
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 1);
    assert_string_equal(l->ops->kind, "fault");
    assert_int_equal(synack_link_fd(l), MEM_FD);
    assert_int_equal(synack_link_mtu(l), MEM_MTU);
    uint8_t pkt[300], buf[2048];
    for (uint32_t i = 0; i < 50; i++) {
        synack_time_t t = SYNACK_US(100) * (i + 1);
        make_pkt(pkt, i, sizeof(pkt));
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), t), 0);
        assert_int_equal(w.sent_count, i + 1);
        assert_ptr_equal(w.sent[i].ptr, pkt);
        assert_int_equal(w.sent[i].t, t);
        assert_memory_equal(w.sent[i].data, pkt, sizeof(pkt));
        assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);

        mem_push_in(&w, pkt, sizeof(pkt));
        assert_int_equal(synack_link_recv(l, buf, sizeof(buf), t), sizeof(pkt));
        assert_memory_equal(buf, pkt, sizeof(pkt));
        assert_int_equal(synack_link_recv(l, buf, sizeof(buf), t), SYNACK_ERR_AGAIN);
        assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);
    }
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(s.tx_packets, 50);
    assert_int_equal(s.tx_bytes, 50 * sizeof(pkt));
    assert_int_equal(s.rx_packets, 50);
    assert_int_equal(s.rx_bytes, 50 * sizeof(pkt));
    assert_int_equal(s.lost + s.duplicated + s.corrupted + s.reordered + s.delayed + s.rate_drops,
                     0);
    assert_int_equal(s.rx_errors + s.tx_errors, 0);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* ---- fault: randomness ---------------------------------------------------------------- */

static void lossy_params(struct synack_fault_params *p)
{
    synack_fault_params_default(p);
    p->loss = 0.2;
    p->dup = 0.1;
    p->corrupt = 0.1;
    p->reorder = 0.1;
    p->reorder_delay = SYNACK_MS(3);
    p->delay = SYNACK_MS(5);
}

/* The same seed gives every packet the same fate, each way; another seed does not. */
static void fault_same_seed_same_fates(void **state)
{
    (void)state;
    struct synack_fault_params p;
    lossy_params(&p);
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        struct traffic a = fault_run(dir, &p, 7, 500, 200, SYNACK_US(500), NULL);
        struct traffic b = fault_run(dir, &p, 7, 500, 200, SYNACK_US(500), NULL);
        struct traffic c = fault_run(dir, &p, 8, 500, 200, SYNACK_US(500), NULL);
        assert_true(a.count > 0);
        assert_true(logs_equal(&a, &b));
        assert_false(logs_equal(&a, &c));
        free(a.log);
        free(b.log);
        free(c.log);
    }
}

/* Ids that came out at least once. */
static void delivered_set(const struct traffic *tr, bool *out)
{
    memset(out, 0, tr->n * sizeof(*out));
    for (size_t i = 0; i < tr->count; i++)
        out[tr->log[i].id] = true;
}

/* Turning on duplication, corruption and reordering does not change which packets are
 * lost: every packet consumes the same draws whatever the parameters. */
static void fault_draws_do_not_depend_on_params(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct synack_fault_params only_loss, all;
    synack_fault_params_default(&only_loss);
    only_loss.loss = 0.25;
    lossy_params(&all);
    all.loss = 0.25;
    all.dup = 0.5;
    all.corrupt = 0.5;
    all.reorder = 0.5;
    static bool got_a[N], got_b[N];
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        struct synack_link_stats sa, sb;
        struct traffic a = fault_run(dir, &only_loss, 99, N, 100, SYNACK_US(100), &sa);
        struct traffic b = fault_run(dir, &all, 99, N, 100, SYNACK_US(100), &sb);
        delivered_set(&a, got_a);
        delivered_set(&b, got_b);
        assert_memory_equal(got_a, got_b, sizeof(got_a));
        assert_int_equal(sa.lost, sb.lost);
        assert_true(sa.lost > 0);
        assert_true(sb.duplicated > 0 && sb.corrupted > 0 && sb.reordered > 0);
        free(a.log);
        free(b.log);
    }
}

/* The two directions draw from streams of their own: traffic coming in does not change
 * which outgoing packets are lost, and the n-th packet's fate differs each way. */
static void fault_directions_are_independent(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.loss = 0.3;
    static bool lost_alone[N], lost_mixed[N], lost_in[N];
    uint8_t pkt[64], buf[2048];
    for (int mixed = 0; mixed <= 1; mixed++) {
        bool *lost = mixed ? lost_mixed : lost_alone;
        struct mem_world w;
        struct synack_link *l = fault_new(&w, &p, 5);
        for (uint32_t i = 0; i < N; i++) {
            synack_time_t t = SYNACK_US(10) * (i + 1);
            if (mixed) {
                make_pkt(pkt, i, sizeof(pkt));
                mem_push_in(&w, pkt, sizeof(pkt));
                lost_in[i] = synack_link_recv(l, buf, sizeof(buf), t) == SYNACK_ERR_AGAIN;
            }
            size_t before = w.sent_count;
            make_pkt(pkt, i, sizeof(pkt));
            assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), t), 0);
            lost[i] = w.sent_count == before;
        }
        synack_link_free(l);
        mem_world_fini(&w);
    }
    assert_memory_equal(lost_alone, lost_mixed, sizeof(lost_alone));
    assert_memory_not_equal(lost_in, lost_mixed, sizeof(lost_in));
}

/* Over many packets the loss rate is close to p: within 5 standard deviations of the
 * binomial count (a fixed seed, so this is deterministic; 5 sigma says the generator and
 * the comparison are right, not that we were lucky). */
static void fault_loss_rate_close_to_p(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    const double p = 0.1;
    const double bound = 5.0 * sqrt(n * p * (1.0 - p));
    struct synack_fault_params fp;
    synack_fault_params_default(&fp);
    fp.loss = p;
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        struct synack_link_stats s;
        struct traffic tr = fault_run(dir, &fp, 2024, n, 40, SYNACK_US(1), &s);
        double lost = (double)(n - tr.count);
        assert_int_equal(s.lost, n - tr.count);
        assert_true(fabs(lost - n * p) <= bound);
        free(tr.log);
    }
}

/* recv skips lost packets: it never says AGAIN while the inner link still has one that
 * survives, and it hands the survivors out in order. */
static void fault_recv_pulls_past_lost_packets(void **state)
{
    (void)state;
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.loss = 0.5;
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 3);
    uint8_t pkt[64], buf[2048];
    for (uint32_t i = 0; i < 40; i++) {
        make_pkt(pkt, i, sizeof(pkt));
        mem_push_in(&w, pkt, sizeof(pkt));
    }
    uint32_t got = 0, last = 0;
    synack_ssize n;
    while ((n = synack_link_recv(l, buf, sizeof(buf), 1)) > 0) {
        uint32_t id = pkt_id(buf);
        assert_true(got == 0 || id > last);
        last = id;
        got++;
    }
    assert_int_equal(n, SYNACK_ERR_AGAIN);
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(got + s.lost, 40);
    assert_true(s.lost > 0 && got > 0);
    /* AGAIN came only once the inner link was empty, or after the last survivor. */
    assert_int_equal(w.in_head, w.in_count);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* ---- fault: each impairment ----------------------------------------------------------- */

/* Delay holds a packet until exactly its time, each way, and says when through
 * next_deadline. */
static void fault_delay_holds_until_due(void **state)
{
    (void)state;
    const synack_time_t delay = SYNACK_MS(10), t0 = SYNACK_MS(3);
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.delay = delay;
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 1);
    uint8_t pkt[100], buf[2048];
    make_pkt(pkt, 1, sizeof(pkt));
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), t0), 0);
    assert_int_equal(w.sent_count, 0);
    assert_int_equal(synack_link_next_deadline(l), t0 + delay);
    synack_link_poll(l, t0 + delay - 1);
    assert_int_equal(w.sent_count, 0);
    synack_link_poll(l, t0 + delay);
    assert_int_equal(w.sent_count, 1);
    assert_int_equal(w.sent[0].t, t0 + delay);
    assert_memory_equal(w.sent[0].data, pkt, sizeof(pkt));
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);

    const synack_time_t t1 = SYNACK_MS(20);
    make_pkt(pkt, 2, sizeof(pkt));
    mem_push_in(&w, pkt, sizeof(pkt));
    assert_int_equal(synack_link_recv(l, buf, sizeof(buf), t1), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_next_deadline(l), t1 + delay);
    assert_int_equal(synack_link_recv(l, buf, sizeof(buf), t1 + delay - 1), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_recv(l, buf, sizeof(buf), t1 + delay), sizeof(pkt));
    assert_memory_equal(buf, pkt, sizeof(pkt));
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);

    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(s.delayed, 2);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* Reordering holds some packets back by reorder_delay so that later ones pass them; the
 * others are not delayed at all. */
static void fault_reorder_lets_later_packets_pass(void **state)
{
    (void)state;
    enum { N = 200 };
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.reorder = 0.2;
    p.reorder_delay = SYNACK_MS(10);
    static unsigned copies[N];
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        struct synack_link_stats s;
        struct traffic tr = fault_run(dir, &p, 11, N, 100, SYNACK_MS(1), &s);
        assert_int_equal(tr.count, N);
        count_copies(&tr, copies);
        uint64_t late = 0;
        bool overtaken = false;
        for (size_t i = 0; i < tr.count; i++) {
            const struct delivery *d = &tr.log[i];
            assert_int_equal(copies[d->id], 1);
            assert_true(d->at == d->offered || d->at == d->offered + p.reorder_delay);
            if (d->at != d->offered) late++;
            if (i > 0 && tr.log[i - 1].id > d->id) overtaken = true;
        }
        assert_int_equal(late, s.reordered);
        assert_true(late > 0 && late < N);
        assert_true(overtaken);
        free(tr.log);
    }
}

/* Duplication delivers every packet twice, intact, each way. */
static void fault_dup_delivers_two_copies(void **state)
{
    (void)state;
    enum { N = 100 };
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.dup = 1.0;
    static unsigned copies[N];
    for (synack_time_t delay = 0; delay <= SYNACK_MS(2); delay += SYNACK_MS(2)) {
        p.delay = delay;
        for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
            struct synack_link_stats s;
            struct traffic tr = fault_run(dir, &p, 1, N, 100, SYNACK_MS(1), &s);
            assert_int_equal(tr.count, 2 * N);
            count_copies(&tr, copies);
            for (uint32_t i = 0; i < N; i++)
                assert_int_equal(copies[i], 2);
            for (size_t i = 0; i < tr.count; i++) {
                assert_int_equal(tr.log[i].bits, 0);
                assert_int_equal(tr.log[i].at, tr.log[i].offered + delay);
            }
            assert_int_equal(s.duplicated, N);
            free(tr.log);
        }
    }
}

/* Corruption flips exactly one bit of each packet; the caller's buffer is untouched. */
static void fault_corrupt_flips_one_bit(void **state)
{
    (void)state;
    enum { N = 300 };
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.corrupt = 1.0;
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        struct synack_link_stats s;
        struct traffic tr = fault_run(dir, &p, 4, N, 60, SYNACK_US(10), &s);
        assert_int_equal(tr.count, N);
        for (size_t i = 0; i < tr.count; i++) {
            assert_int_equal(tr.log[i].bits, 1);
            assert_int_equal(tr.log[i].id, i);
        }
        assert_int_equal(s.corrupted, N);
        free(tr.log);
    }
    /* The bytes given to send stay as they were. */
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 4);
    uint8_t pkt[60], copy[60];
    make_pkt(pkt, 9, sizeof(pkt));
    memcpy(copy, pkt, sizeof(pkt));
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 1), 0);
    assert_memory_equal(pkt, copy, sizeof(pkt));
    assert_int_equal(w.sent_count, 1);
    assert_memory_not_equal(w.sent[0].data, pkt, sizeof(pkt));
    synack_link_free(l);
    mem_world_fini(&w);
}

/* The rate limit spaces packets by their serialization time and drops what does not fit
 * in the queue: a burst keeps queue_bytes / len packets (the first always), the rest is
 * dropped; packets offered slower than the rate are never dropped, each leaving one
 * serialization time after it was offered. */
static void fault_rate_spaces_and_drops_beyond_queue(void **state)
{
    (void)state;
    const size_t len = 1000;
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.rate_bps = 8000000; /* 1 byte per microsecond */
    p.queue_bytes = 3 * len;
    const synack_time_t ser = (synack_time_t)len * 8u * SYNACK_S(1) / p.rate_bps;
    const uint32_t burst = 10, kept = (uint32_t)(p.queue_bytes / len);
    for (int dir = DIR_OUT; dir <= DIR_IN; dir++) {
        /* A burst: every packet offered at the same instant. */
        struct synack_link_stats s;
        struct traffic tr = fault_run(dir, &p, 1, burst, len, 0, &s);
        assert_int_equal(tr.count, kept);
        assert_int_equal(s.rate_drops, burst - kept);
        for (uint32_t i = 0; i < tr.count; i++) {
            assert_int_equal(tr.log[i].id, i);
            assert_int_equal(tr.log[i].at, tr.log[i].offered + (i + 1) * ser);
        }
        free(tr.log);
        /* Slower than the rate: nothing waits for the serializer, nothing is dropped. */
        tr = fault_run(dir, &p, 1, 50, len, 2 * ser, &s);
        assert_int_equal(tr.count, 50);
        assert_int_equal(s.rate_drops, 0);
        for (uint32_t i = 0; i < tr.count; i++)
            assert_int_equal(tr.log[i].at, tr.log[i].offered + ser);
        free(tr.log);
    }
    /* A queue smaller than one packet still lets a packet onto an idle link. */
    p.queue_bytes = 10;
    struct synack_link_stats s;
    struct traffic tr = fault_run(DIR_OUT, &p, 1, 3, len, 0, &s);
    assert_int_equal(tr.count, 1);
    assert_int_equal(s.rate_drops, 2);
    free(tr.log);
}

/* Held packets take bounded memory: beyond SYNACK_FAULT_HELD_MAX per direction they are
 * dropped and counted, send says AGAIN for each, and what was held still comes out. */
static void fault_held_packets_are_bounded(void **state)
{
    (void)state;
    const size_t len = 1400;
    const uint32_t n = (uint32_t)(2u * SYNACK_FAULT_HELD_MAX / len);
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.delay = SYNACK_S(1);
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 1);
    uint8_t pkt[1400];
    uint64_t refused = 0;
    for (uint32_t i = 0; i < n; i++) {
        make_pkt(pkt, i, len);
        int rc = synack_link_send(l, pkt, len, 1);
        if (rc == SYNACK_ERR_AGAIN)
            refused++;
        else
            assert_int_equal(rc, 0);
    }
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_true(s.tx_errors > 0);
    assert_int_equal(refused, s.tx_errors);
    synack_link_poll(l, 1 + p.delay);
    assert_int_equal(w.sent_count + s.tx_errors, n);
    assert_true(w.sent_count * len <= SYNACK_FAULT_HELD_MAX);
    for (size_t i = 1; i < w.sent_count; i++)
        assert_true(pkt_id(w.sent[i].data) > pkt_id(w.sent[i - 1].data));
    synack_link_free(l);
    mem_world_fini(&w);
}

/* Holds as many packets of `len` bytes as it will each way (outgoing until send says
 * AGAIN, incoming until one is counted in rx_errors), at most `max` each way. Returns the
 * number held outgoing; *held_in gets the incoming one. */
static uint32_t fill_both_ways(struct synack_link *l, struct mem_world *w, size_t len, uint32_t max,
                               synack_time_t now, uint32_t *held_in)
{
    static uint8_t pkt[65535], buf[65535];
    uint32_t out = 0;
    for (uint32_t i = 0; i < max; i++) {
        make_pkt(pkt, i, len);
        if (synack_link_send(l, pkt, len, now) != 0) break;
        out++;
    }
    struct synack_link_stats before, after;
    synack_link_stats(l, &before);
    uint32_t in = 0;
    for (uint32_t i = 0; i < max; i++) {
        make_pkt(pkt, i, len);
        mem_push_in(w, pkt, len);
        assert_int_equal(synack_link_recv(l, buf, sizeof(buf), now), SYNACK_ERR_AGAIN);
        w->in_head = w->in_count = 0; /* pulled: the inbox stays one packet long */
        synack_link_stats(l, &after);
        if (after.rx_errors != before.rx_errors) break;
        in++;
    }
    *held_in = in;
    return out;
}

/* Releases everything held both ways and forgets it. */
static void release_both_ways(struct synack_link *l, struct mem_world *w, synack_time_t now)
{
    static uint8_t buf[65535];
    synack_link_poll(l, now);
    mem_clear_sent(w);
    while (synack_link_recv(l, buf, sizeof(buf), now) > 0) {
    }
}

/* All the wrapper's buffers, held and free, both ways, stay within SYNACK_FAULT_MEM_MAX
 * when traffic moves from large packets to small ones (each size filling both directions
 * in turn), as the allocator counts them (not the wrapper); and the total bound never
 * costs a packet the per-direction bound allows: each size fills at least half of
 * SYNACK_FAULT_HELD_MAX each way with packet bytes. */
static void fault_memory_bounded_across_packet_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {60000, 9000, 200};
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.delay = SYNACK_S(1);
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 1);
    size_t base = heap_in_use(), peak = 0;
    synack_time_t now = 0;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t max = (uint32_t)(SYNACK_FAULT_HELD_MAX / sizes[k]) + 2;
        uint32_t in = 0, out = fill_both_ways(l, &w, sizes[k], max, now, &in);
        assert_true((uint64_t)out * sizes[k] >= SYNACK_FAULT_HELD_MAX / 2);
        assert_true((uint64_t)in * sizes[k] >= SYNACK_FAULT_HELD_MAX / 2);
        size_t used = heap_in_use();
        if (used > base && used - base > peak) peak = used - base;
        now += SYNACK_S(2);
        release_both_ways(l, &w, now);
    }
    print_message("peak %zu bytes above the start, bound %u\n", peak, SYNACK_FAULT_MEM_MAX);
    /* Slack for the allocator's own bookkeeping (glibc counts its chunk headers, up to 16
     * bytes a buffer) and the test's records; without the bound the peak would be three
     * times SYNACK_FAULT_MEM_MAX, one free list per size. */
    assert_true(peak <= (size_t)SYNACK_FAULT_MEM_MAX + SYNACK_FAULT_MEM_MAX / 16);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* ---- fault: the link around it ---------------------------------------------------------- */

/* next_deadline includes the inner link's; poll reaches the inner link; errors of the
 * inner send are counted; a held packet too big for the caller's buffer is BUFSZ. */
static void fault_forwards_to_inner(void **state)
{
    (void)state;
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.delay = SYNACK_MS(5);
    struct mem_world w;
    struct synack_link *l = fault_new(&w, &p, 1);
    w.deadline = SYNACK_MS(2);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(2));
    synack_link_poll(l, SYNACK_MS(2));
    assert_int_equal(w.polls, 1);
    assert_int_equal(w.last_poll, SYNACK_MS(2));
    w.deadline = SYNACK_NEVER;

    uint8_t pkt[500], buf[2048], small[100];
    make_pkt(pkt, 1, sizeof(pkt));
    w.send_rc = SYNACK_ERR_IO;
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), 0); /* held */
    synack_link_poll(l, SYNACK_MS(5));
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(s.tx_errors, 1);
    assert_int_equal(s.tx_packets, 0);

    mem_push_in(&w, pkt, sizeof(pkt));
    assert_int_equal(synack_link_recv(l, buf, sizeof(buf), SYNACK_MS(10)), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_recv(l, small, sizeof(small), SYNACK_MS(15)), SYNACK_ERR_BUFSZ);
    synack_link_stats(l, &s);
    assert_int_equal(s.rx_errors, 1);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* Bad parameters are INVAL, and the inner link is freed on any error. */
static void fault_wrap_rejects_bad_params(void **state)
{
    (void)state;
    const double bad[] = {-0.1, 1.5, NAN};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int field = 0; field < 4; field++) {
            struct synack_fault_params p;
            synack_fault_params_default(&p);
            double *x = field == 0   ? &p.loss
                        : field == 1 ? &p.dup
                        : field == 2 ? &p.corrupt
                                     : &p.reorder;
            *x = bad[i];
            struct mem_world w;
            struct synack_link dummy, *l = &dummy; /* overwritten with NULL */
            assert_int_equal(synack_fault_wrap(&l, mem_new(&w), &p, 1), SYNACK_ERR_INVAL);
            assert_null(l);
            assert_true(w.freed);
            mem_world_fini(&w);
        }
    }
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    struct mem_world w;
    assert_int_equal(synack_fault_wrap(NULL, mem_new(&w), &p, 1), SYNACK_ERR_INVAL);
    assert_true(w.freed);
    mem_world_fini(&w);
    struct synack_link *l;
    assert_int_equal(synack_fault_wrap(&l, NULL, &p, 1), SYNACK_ERR_INVAL);
}

/* ---- capture wrapper ------------------------------------------------------------------ */

/* A fresh capture file name in the temporary directory. */
static void temp_path(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/synack-test-pcaplink-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Both directions go to the file, in the order they crossed, stamped now + epoch_offset,
 * and libpcap reads back the same bytes and times; the packets themselves go on. */
static void pcap_wrap_writes_both_directions(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    const synack_time_t epoch = SYNACK_S(1700000000) + 123;
    struct mem_world w;
    struct synack_link *l;
    char err[256] = "";
    assert_int_equal(synack_pcap_wrap(&l, mem_new(&w), path, epoch, err, sizeof(err)), 0);
    assert_string_equal(l->ops->kind, "pcap");
    assert_int_equal(synack_link_fd(l), MEM_FD);
    assert_int_equal(synack_link_mtu(l), MEM_MTU);
    w.deadline = SYNACK_MS(7);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(7));
    synack_link_poll(l, SYNACK_MS(7));
    assert_int_equal(w.polls, 1);

    enum { N = 6 };
    uint8_t pkt[N][200], buf[2048];
    synack_time_t at[N];
    for (uint32_t i = 0; i < N; i++) {
        size_t len = 20 + 30 * i;
        make_pkt(pkt[i], i, len);
        at[i] = SYNACK_MS(10) * (i + 1) + i; /* odd nanoseconds: the file keeps them */
        if (i % 2 == 0) {
            assert_int_equal(synack_link_send(l, pkt[i], len, at[i]), 0);
        } else {
            mem_push_in(&w, pkt[i], len);
            assert_int_equal(synack_link_recv(l, buf, sizeof(buf), at[i]), len);
            assert_memory_equal(buf, pkt[i], len);
        }
    }
    assert_int_equal(w.sent_count, N / 2);
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(s.tx_packets, N / 2);
    assert_int_equal(s.rx_packets, N / 2);
    assert_int_equal(s.capture_errors, 0);
    synack_link_free(l);
    assert_true(w.freed);
    mem_world_fini(&w);

    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    assert_non_null(pc);
    assert_int_equal(pcap_datalink(pc), DLT_RAW);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint32_t count = 0;
    while (pcap_next_ex(pc, &hdr, &data) == 1) {
        assert_true(count < N);
        size_t len = 20 + 30 * count;
        assert_int_equal(hdr->caplen, len);
        assert_int_equal(hdr->len, len);
        assert_memory_equal(data, pkt[count], len);
        synack_time_t t =
            (synack_time_t)hdr->ts.tv_sec * 1000000000u + (synack_time_t)hdr->ts.tv_usec;
        assert_int_equal(t, at[count] + epoch);
        count++;
    }
    assert_int_equal(count, N);
    pcap_close(pc);
    unlink(path);
}

/* A capture that cannot be written (a full disk: /dev/full) is counted, and the link
 * keeps carrying every packet both ways. */
static void pcap_wrap_keeps_link_working_when_capture_fails(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0) skip();
    struct mem_world w;
    struct synack_link *l;
    char err[256] = "";
    assert_int_equal(synack_pcap_wrap(&l, mem_new(&w), "/dev/full", 0, err, sizeof(err)), 0);
    uint8_t pkt[1400], buf[2048];
    enum { N = 100 };
    for (uint32_t i = 0; i < N; i++) {
        make_pkt(pkt, i, sizeof(pkt));
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), i), 0);
        mem_push_in(&w, pkt, sizeof(pkt));
        assert_int_equal(synack_link_recv(l, buf, sizeof(buf), i), sizeof(pkt));
        assert_memory_equal(buf, pkt, sizeof(pkt));
    }
    assert_int_equal(w.sent_count, N);
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    assert_int_equal(s.tx_packets, N);
    assert_int_equal(s.rx_packets, N);
    assert_true(s.capture_errors > 0);
    synack_link_free(l);
    mem_world_fini(&w);
}

/* A file that cannot be created is IO with a sentence naming it; the inner link is
 * freed (the wrapper took it). */
static void pcap_wrap_open_error_says_why(void **state)
{
    (void)state;
    struct mem_world w;
    struct synack_link *l = NULL;
    char err[256] = "";
    const char *path = "/nonexistent-synack-dir/x.pcap";
    assert_int_equal(synack_pcap_wrap(&l, mem_new(&w), path, 0, err, sizeof(err)), SYNACK_ERR_IO);
    assert_null(l);
    assert_true(w.freed);
    assert_non_null(strstr(err, path));
    mem_world_fini(&w);
}

/* The chain netopt.c builds for the apps: capture next to the stack, fault outside it. The file
 * holds what the stack sent (every packet, lost or not) and what it was handed (after loss). */
static void pcap_wrap_around_fault_sees_the_stack_side(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    p.loss = 0.5;
    struct mem_world w;
    struct synack_link *f = fault_new(&w, &p, 6), *l;
    char err[256] = "";
    assert_int_equal(synack_pcap_wrap(&l, f, path, 0, err, sizeof(err)), 0);
    uint8_t pkt[100], buf[2048];
    enum { N = 50 };
    uint32_t handed = 0;
    for (uint32_t i = 0; i < N; i++) {
        make_pkt(pkt, i, sizeof(pkt));
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), i + 1), 0);
        mem_push_in(&w, pkt, sizeof(pkt));
        while (synack_link_recv(l, buf, sizeof(buf), i + 1) > 0)
            handed++;
    }
    size_t passed_out = w.sent_count;
    assert_true(passed_out < N && handed < N);
    synack_link_free(l);
    assert_true(w.freed);
    mem_world_fini(&w);

    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, perr);
    assert_non_null(pc);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint32_t count = 0;
    while (pcap_next_ex(pc, &hdr, &data) == 1)
        count++;
    pcap_close(pc);
    assert_int_equal(count, N + handed);
    unlink(path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(fault_zero_impairment_passes_through),
    cmocka_unit_test(fault_same_seed_same_fates),
    cmocka_unit_test(fault_draws_do_not_depend_on_params),
    cmocka_unit_test(fault_directions_are_independent),
    cmocka_unit_test(fault_loss_rate_close_to_p),
    cmocka_unit_test(fault_recv_pulls_past_lost_packets),
    cmocka_unit_test(fault_delay_holds_until_due),
    cmocka_unit_test(fault_reorder_lets_later_packets_pass),
    cmocka_unit_test(fault_dup_delivers_two_copies),
    cmocka_unit_test(fault_corrupt_flips_one_bit),
    cmocka_unit_test(fault_rate_spaces_and_drops_beyond_queue),
    cmocka_unit_test(fault_held_packets_are_bounded),
    cmocka_unit_test(fault_memory_bounded_across_packet_sizes),
    cmocka_unit_test(fault_forwards_to_inner),
    cmocka_unit_test(fault_wrap_rejects_bad_params),
    cmocka_unit_test(pcap_wrap_writes_both_directions),
    cmocka_unit_test(pcap_wrap_keeps_link_working_when_capture_fails),
    cmocka_unit_test(pcap_wrap_open_error_says_why),
    cmocka_unit_test(pcap_wrap_around_fault_sees_the_stack_side),
};

SYNACK_TEST_MAIN("fault", tests)
