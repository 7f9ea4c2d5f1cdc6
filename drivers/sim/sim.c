/* The discrete-event network simulator: nodes, unidirectional links with impairments, a
 * virtual clock that jumps from one pending thing to the next. See link.h for the model.
 *
 * Packets in flight live in pooled buffers ordered by a binary min-heap on (arrival time,
 * order put on a link), so the next arrival is O(1) to find and O(log n) to take. */
#include "synack/link.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/impair.h"

/* Packet buffers come in a few sizes so that an ACK does not pin a jumbo-sized buffer
 * while it is in flight; each size has its own free list, filled this many at a time and
 * never returned until the simulator is freed. */
#define SIM_POOL_CHUNK 32
#define SIM_POOL_CLASSES 3
static const size_t sim_pool_sizes[SIM_POOL_CLASSES] = {256, 2048, SYNACK_SIM_MAX_PACKET};
/* A node's output is drained at most this many times in one flush, so a node that never
 * says AGAIN cannot hang the simulator. Large, because the rest would be sent late. */
#define SIM_DRAIN_MAX (1u << 20)
/* Steps in a row at one instant after which the simulator declares itself stuck. */
#define SIM_STALL_STEPS (1u << 24)
/* Indices are ints; keep them far from overflow. */
#define SIM_MAX_OBJECTS 65536

struct sim_pkt {
    synack_time_t at; /* arrival time at the end of the link */
    uint64_t order;   /* tie-break: the order in which packets were put on links */
    uint64_t number;  /* 1-based number on its link */
    int link;
    unsigned flags;      /* SYNACK_SIM_F_* */
    unsigned size_class; /* index into sim_pool_sizes: data holds that many bytes */
    size_t len;
    struct sim_pkt *next; /* free list */
    uint8_t data[];
};

/* A block of SIM_POOL_CHUNK packet buffers of one size class. */
struct sim_chunk {
    struct sim_chunk *next;
    _Alignas(max_align_t) uint8_t bytes[];
};

/* A packet accepted by a link whose serialization starts later: it is in the queue. */
struct sim_waiting {
    synack_time_t start;
    size_t len;
};

struct sim_node {
    struct synack_sim_node_ops ops;
    void *ctx;
    struct synack_addr addrs[SYNACK_MAX_ADDRS];
    size_t naddrs;
};

static bool sim_node_has_addr(const struct sim_node *n, const struct synack_addr *a)
{
    for (size_t i = 0; i < n->naddrs; i++) {
        if (synack_addr_eq(&n->addrs[i], a)) return true;
    }
    return false;
}

struct sim_link {
    int from, to;
    struct synack_sim_link_params p; /* p.drop_list points to `drops` */
    uint64_t *drops;                 /* sorted copy of the drop list */
    size_t drops_next;               /* first entry not below the next packet number */
    struct synack_rng rng;
    synack_time_t busy_until;   /* when the serializer finishes its last packet */
    synack_time_t last_arrival; /* arrival of the last packet not held back: FIFO floor */
    /* Ring of packets waiting for the serializer, in start order (only with a queue). */
    struct sim_waiting *waiting;
    size_t waiting_head, waiting_count, waiting_cap;
    size_t waiting_bytes;
    struct synack_sim_link_stats stats;
    struct synack_pcap *capture; /* this link's own capture file, or NULL */
};

struct synack_sim {
    synack_time_t now;
    uint64_t seed;
    uint64_t order;            /* next sim_pkt.order */
    uint64_t steps_at_instant; /* steps since time last moved (stall guard) */
    struct sim_node *nodes;
    int node_count, node_cap;
    struct sim_link *links;
    int link_count, link_cap;
    struct sim_pkt **heap; /* min-heap on (at, order) */
    size_t heap_len, heap_cap;
    struct sim_pkt *free_pkts[SIM_POOL_CLASSES];
    struct sim_chunk *chunks;
    uint8_t scratch[SYNACK_SIM_MAX_PACKET]; /* nodes output here before a buffer is picked */
    synack_sim_observer_fn observer;
    void *observer_ctx;
    struct synack_pcap *capture;
    struct synack_sim_stats stats;
    char err[256];
};

static void sim_set_error(struct synack_sim *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sim_set_error(struct synack_sim *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sim->err, sizeof(sim->err), fmt, ap);
    va_end(ap);
}

/* ---- packet pool ------------------------------------------------------------------------- */

/* Bytes from one buffer of a size class to the next in a chunk, keeping alignment. */
static size_t pool_stride(unsigned size_class)
{
    size_t a = _Alignof(max_align_t);
    return (sizeof(struct sim_pkt) + sim_pool_sizes[size_class] + a - 1) / a * a;
}

static int pool_refill(struct synack_sim *sim, unsigned size_class)
{
    size_t stride = pool_stride(size_class);
    struct sim_chunk *c = malloc(sizeof(*c) + SIM_POOL_CHUNK * stride);
    if (c == NULL) return SYNACK_ERR_NOMEM;
    c->next = sim->chunks;
    sim->chunks = c;
    for (size_t i = 0; i < SIM_POOL_CHUNK; i++) {
        struct sim_pkt *p = (struct sim_pkt *)(void *)(c->bytes + i * stride);
        p->size_class = size_class;
        p->next = sim->free_pkts[size_class];
        sim->free_pkts[size_class] = p;
    }
    return 0;
}

/* A buffer for `len` bytes (len <= SYNACK_SIM_MAX_PACKET), or NULL. */
static struct sim_pkt *pool_get(struct synack_sim *sim, size_t len)
{
    unsigned k = 0;
    while (sim_pool_sizes[k] < len)
        k++;
    if (sim->free_pkts[k] == NULL && pool_refill(sim, k) < 0) return NULL;
    struct sim_pkt *p = sim->free_pkts[k];
    sim->free_pkts[k] = p->next;
    p->len = len;
    return p;
}

static void pool_put(struct synack_sim *sim, struct sim_pkt *p)
{
    p->next = sim->free_pkts[p->size_class];
    sim->free_pkts[p->size_class] = p;
}

/* ---- arrival heap ------------------------------------------------------------------------ */

static bool pkt_before(const struct sim_pkt *a, const struct sim_pkt *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int heap_push(struct synack_sim *sim, struct sim_pkt *p)
{
    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 256;
        struct sim_pkt **h = realloc(sim->heap, cap * sizeof(*h));
        if (h == NULL) return SYNACK_ERR_NOMEM;
        sim->heap = h;
        sim->heap_cap = cap;
    }
    size_t i = sim->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pkt_before(p, sim->heap[parent])) break;
        sim->heap[i] = sim->heap[parent];
        i = parent;
    }
    sim->heap[i] = p;
    return 0;
}

static struct sim_pkt *heap_pop(struct synack_sim *sim)
{
    struct sim_pkt *top = sim->heap[0];
    struct sim_pkt *last = sim->heap[--sim->heap_len];
    size_t n = sim->heap_len, i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && pkt_before(sim->heap[child + 1], sim->heap[child])) child++;
        if (!pkt_before(sim->heap[child], last)) break;
        sim->heap[i] = sim->heap[child];
        i = child;
    }
    if (n > 0) sim->heap[i] = last;
    return top;
}

/* ---- observer ---------------------------------------------------------------------------- */

static void sim_notify(struct synack_sim *sim, enum synack_sim_packet_kind kind,
                       const struct sim_pkt *p, int from, int to, synack_time_t t)
{
    if (sim->observer == NULL) return;
    struct synack_sim_packet ev = {
        .kind = kind,
        .link = kind == SYNACK_SIM_NO_ROUTE ? -1 : p->link,
        .from = from,
        .to = to,
        .number = kind == SYNACK_SIM_NO_ROUTE ? 0 : p->number,
        .time = t,
        .flags = kind == SYNACK_SIM_DELIVERED ? p->flags : 0,
        .pkt = p->data,
        .len = p->len,
    };
    sim->observer(sim->observer_ctx, &ev);
}

static void link_notify(struct synack_sim *sim, enum synack_sim_packet_kind kind,
                        const struct sim_pkt *p, synack_time_t t)
{
    const struct sim_link *l = &sim->links[p->link];
    sim_notify(sim, kind, p, l->from, l->to, t);
}

const char *synack_sim_packet_kind_name(enum synack_sim_packet_kind kind)
{
    switch (kind) {
    case SYNACK_SIM_SENT:
        return "sent";
    case SYNACK_SIM_DELIVERED:
        return "delivered";
    case SYNACK_SIM_LOST:
        return "lost";
    case SYNACK_SIM_DROPPED:
        return "dropped";
    case SYNACK_SIM_QUEUE_FULL:
        return "queue-full";
    case SYNACK_SIM_CORRUPTED:
        return "corrupted";
    case SYNACK_SIM_DUPLICATED:
        return "duplicated";
    case SYNACK_SIM_REORDERED:
        return "reordered";
    case SYNACK_SIM_NO_ROUTE:
        return "no-route";
    }
    return "unknown";
}

/* ---- one link ---------------------------------------------------------------------------- */

/* The fate of one offered packet: the same draws per packet whatever the parameters. */
static void link_draw(struct sim_link *l, struct impair_fate *d)
{
    const struct impair_odds odds = {
        .loss = l->p.loss,
        .corrupt = l->p.corrupt,
        .dup = l->p.dup,
        .reorder = l->p.reorder,
        .jitter = l->p.jitter,
    };
    impair_draw(&l->rng, &odds, d);
}

/* Forgets queued packets whose serialization has started by `now`. */
static void link_queue_advance(struct sim_link *l, synack_time_t now)
{
    while (l->waiting_count > 0 && l->waiting[l->waiting_head].start <= now) {
        l->waiting_bytes -= l->waiting[l->waiting_head].len;
        l->waiting_head = (l->waiting_head + 1) % l->waiting_cap;
        l->waiting_count--;
    }
}

static bool link_has_queue_limit(const struct sim_link *l)
{
    return l->p.rate_bps > 0 && l->p.queue_bytes > 0;
}

/* Drop-tail: does a packet of `len` bytes offered at `now` find no room to wait? */
static bool link_queue_is_full(struct sim_link *l, synack_time_t now, size_t len)
{
    if (!link_has_queue_limit(l) || l->busy_until <= now) return false;
    link_queue_advance(l, now);
    return l->waiting_bytes + len > l->p.queue_bytes;
}

static int link_queue_push(struct sim_link *l, synack_time_t start, size_t len)
{
    if (l->waiting_count == l->waiting_cap) {
        size_t cap = l->waiting_cap ? l->waiting_cap * 2 : 16;
        struct sim_waiting *w = malloc(cap * sizeof(*w));
        if (w == NULL) return SYNACK_ERR_NOMEM;
        for (size_t i = 0; i < l->waiting_count; i++)
            w[i] = l->waiting[(l->waiting_head + i) % l->waiting_cap];
        free(l->waiting);
        l->waiting = w;
        l->waiting_head = 0;
        l->waiting_cap = cap;
    }
    l->waiting[(l->waiting_head + l->waiting_count) % l->waiting_cap] =
        (struct sim_waiting){.start = start, .len = len};
    l->waiting_count++;
    l->waiting_bytes += len;
    return 0;
}

/* Occupies the serializer with the packet; returns when its last bit has left. */
static int link_serialize(struct sim_link *l, synack_time_t now, size_t len, synack_time_t *done)
{
    synack_time_t start = l->busy_until > now ? l->busy_until : now;
    if (start > now && link_has_queue_limit(l)) {
        int rc = link_queue_push(l, start, len);
        if (rc < 0) return rc;
    }
    l->busy_until = impair_time_add(start, impair_serialization_time(len, l->p.rate_bps));
    *done = l->busy_until;
    return 0;
}

static bool link_is_in_drop_list(struct sim_link *l, uint64_t number)
{
    /* Numbers only grow, so the cursor only moves forward. */
    while (l->drops_next < l->p.drop_count && l->drops[l->drops_next] < number)
        l->drops_next++;
    return l->drops_next < l->p.drop_count && l->drops[l->drops_next] == number;
}

static void link_schedule(struct synack_sim *sim, struct sim_pkt *p, synack_time_t at)
{
    p->at = at;
    p->order = sim->order++;
    if (heap_push(sim, p) < 0) {
        sim->stats.nomem_drops++;
        pool_put(sim, p);
    }
}

static void link_duplicate(struct synack_sim *sim, struct sim_link *l, struct sim_pkt *p)
{
    l->stats.duplicated++;
    link_notify(sim, SYNACK_SIM_DUPLICATED, p, sim->now);
    struct sim_pkt *copy = pool_get(sim, p->len);
    if (copy == NULL) {
        sim->stats.nomem_drops++;
        return;
    }
    copy->number = p->number;
    copy->link = p->link;
    copy->flags = p->flags | SYNACK_SIM_F_DUPLICATE;
    memcpy(copy->data, p->data, p->len);
    /* Same arrival time, right behind the original. */
    link_schedule(sim, copy, p->at);
}

static void capture_write(struct synack_sim *sim, struct synack_pcap *pcap, const struct sim_pkt *p)
{
    if (pcap == NULL) return;
    if (synack_pcap_write(pcap, p->data, p->len, sim->now) < 0) {
        sim->stats.capture_errors++;
        sim_set_error(sim, "writing the capture file failed");
    }
}

/* Both the simulator-wide capture and the link's own see every offered packet. */
static void sim_capture_write(struct synack_sim *sim, const struct sim_link *l,
                              const struct sim_pkt *p)
{
    capture_write(sim, sim->capture, p);
    capture_write(sim, l->capture, p);
}

/* Takes ownership of `p`, just output by node l->from at sim->now, and decides its fate. */
static void link_offer(struct synack_sim *sim, int index, struct sim_pkt *p)
{
    struct sim_link *l = &sim->links[index];
    struct impair_fate d;
    link_draw(l, &d);
    p->link = index;
    p->flags = 0;
    p->number = ++l->stats.offered;
    l->stats.bytes += p->len;
    sim_capture_write(sim, l, p);
    link_notify(sim, SYNACK_SIM_SENT, p, sim->now);

    enum synack_sim_packet_kind fate = SYNACK_SIM_SENT;
    synack_time_t done = 0;
    if (link_queue_is_full(l, sim->now, p->len)) {
        fate = SYNACK_SIM_QUEUE_FULL;
        l->stats.queue_drops++;
    } else if (link_serialize(l, sim->now, p->len, &done) < 0) {
        sim->stats.nomem_drops++;
        pool_put(sim, p);
        return;
    } else if (link_is_in_drop_list(l, p->number) || (l->p.cut_at && sim->now >= l->p.cut_at)) {
        fate = SYNACK_SIM_DROPPED;
        l->stats.dropped_list++;
    } else if (d.lose) {
        fate = SYNACK_SIM_LOST;
        l->stats.lost++;
    }
    if (fate != SYNACK_SIM_SENT) {
        link_notify(sim, fate, p, sim->now);
        pool_put(sim, p);
        return;
    }

    synack_time_t latency =
        l->p.reroute_at && sim->now >= l->p.reroute_at ? l->p.reroute_latency : l->p.latency;
    synack_time_t at = impair_time_add(done, impair_time_add(latency, d.jitter));
    if (at < l->last_arrival) at = l->last_arrival;
    if (d.corrupt) {
        impair_flip_bit(p->data, p->len, d.bit_draw);
        p->flags |= SYNACK_SIM_F_CORRUPTED;
        l->stats.corrupted++;
        link_notify(sim, SYNACK_SIM_CORRUPTED, p, sim->now);
    }
    if (d.reorder) {
        /* Held back without raising the FIFO floor, so later packets pass it. */
        at = impair_time_add(at, l->p.reorder_delay);
        p->flags |= SYNACK_SIM_F_REORDERED;
        l->stats.reordered++;
        link_notify(sim, SYNACK_SIM_REORDERED, p, sim->now);
    } else {
        l->last_arrival = at;
    }
    link_schedule(sim, p, at);
    if (d.dup) link_duplicate(sim, l, p);
}

/* ---- routing and draining ------------------------------------------------------------- */

static int sim_route(const struct synack_sim *sim, int from, const struct sim_pkt *p)
{
    struct synack_addr dst;
    if (synack_packet_addrs(p->data, p->len, NULL, &dst) != 0) return -1;
    for (int i = 0; i < sim->link_count; i++) {
        const struct sim_link *l = &sim->links[i];
        if (l->from == from && sim_node_has_addr(&sim->nodes[l->to], &dst)) return i;
    }
    return -1;
}

/* Outputs one packet of node `n`: 1 if one was put on a link (or dropped), 0 when the
 * node has nothing more to say this round. */
static int sim_drain_one(struct synack_sim *sim, int n)
{
    struct sim_node *node = &sim->nodes[n];
    synack_ssize len = node->ops.output(node->ctx, sim->scratch, sizeof(sim->scratch), sim->now);
    if (len <= 0 || (size_t)len > sizeof(sim->scratch)) {
        if (len != SYNACK_ERR_AGAIN) sim->stats.output_errors++;
        return 0;
    }
    struct sim_pkt *p = pool_get(sim, (size_t)len);
    if (p == NULL) {
        sim->stats.nomem_drops++;
        return 1;
    }
    memcpy(p->data, sim->scratch, p->len);
    int link = sim_route(sim, n, p);
    if (link < 0) {
        sim->stats.no_route++;
        sim_notify(sim, SYNACK_SIM_NO_ROUTE, p, n, -1, sim->now);
        pool_put(sim, p);
        return 1;
    }
    link_offer(sim, link, p);
    return 1;
}

void synack_sim_flush(struct synack_sim *sim)
{
    if (sim == NULL) return;
    for (int n = 0; n < sim->node_count; n++) {
        if (sim->nodes[n].ops.output == NULL) continue;
        for (uint32_t i = 0; i < SIM_DRAIN_MAX && sim_drain_one(sim, n); i++)
            ;
    }
}

/* ---- the clock -------------------------------------------------------------------------- */

static synack_time_t node_deadline(const struct synack_sim *sim, int n)
{
    const struct sim_node *node = &sim->nodes[n];
    if (node->ops.next_deadline == NULL || node->ops.handle_timers == NULL) return SYNACK_NEVER;
    synack_time_t t = node->ops.next_deadline(node->ctx);
    return t != SYNACK_NEVER && t < sim->now ? sim->now : t;
}

/* The earliest pending thing: its time, and the node whose timers it is (-1: a packet). */
static synack_time_t sim_earliest(const struct synack_sim *sim, int *node)
{
    synack_time_t best = SYNACK_NEVER;
    *node = -1;
    if (sim->heap_len > 0) best = sim->heap[0]->at > sim->now ? sim->heap[0]->at : sim->now;
    for (int n = 0; n < sim->node_count; n++) {
        synack_time_t t = node_deadline(sim, n);
        /* Strictly earlier: packets win ties, then the lowest node index. */
        if (t < best) {
            best = t;
            *node = n;
        }
    }
    return best;
}

static void sim_deliver(struct synack_sim *sim)
{
    struct sim_pkt *p = heap_pop(sim);
    struct sim_link *l = &sim->links[p->link];
    struct sim_node *dst = &sim->nodes[l->to];
    l->stats.delivered++;
    l->stats.bytes_delivered += p->len;
    link_notify(sim, SYNACK_SIM_DELIVERED, p, sim->now);
    if (dst->ops.input != NULL) (void)dst->ops.input(dst->ctx, p->data, p->len, sim->now);
    pool_put(sim, p);
}

/* Moves the clock to `t` and does the one thing found by sim_earliest(). */
static int sim_do(struct synack_sim *sim, synack_time_t t, int node)
{
    if (t == sim->now) {
        if (++sim->steps_at_instant >= SIM_STALL_STEPS) {
            sim_set_error(sim, "stuck: %u steps at time %llu ns without time moving",
                          SIM_STALL_STEPS, (unsigned long long)t);
            return SYNACK_ERR_STATE;
        }
    } else {
        sim->steps_at_instant = 0;
        sim->now = t;
    }
    sim->stats.steps++;
    if (node < 0)
        sim_deliver(sim);
    else
        sim->nodes[node].ops.handle_timers(sim->nodes[node].ctx, sim->now);
    synack_sim_flush(sim);
    return 0;
}

int synack_sim_step(struct synack_sim *sim)
{
    if (sim == NULL) return SYNACK_ERR_INVAL;
    synack_sim_flush(sim);
    int node;
    synack_time_t t = sim_earliest(sim, &node);
    if (t == SYNACK_NEVER) return SYNACK_ERR_AGAIN;
    return sim_do(sim, t, node);
}

int synack_sim_run_until(struct synack_sim *sim, synack_time_t t)
{
    if (sim == NULL || t < sim->now) return SYNACK_ERR_INVAL;
    synack_sim_flush(sim);
    /* Each pass either moves time forward or trips the stall guard in sim_do(). */
    for (;;) {
        int node;
        synack_time_t next = sim_earliest(sim, &node);
        if (next == SYNACK_NEVER || next > t) break;
        int rc = sim_do(sim, next, node);
        if (rc < 0) return rc;
    }
    if (t > sim->now) {
        sim->now = t;
        sim->steps_at_instant = 0;
    }
    return 0;
}

synack_time_t synack_sim_now(const struct synack_sim *sim)
{
    return sim->now;
}

synack_time_t synack_sim_next_time(const struct synack_sim *sim)
{
    int node;
    return sim_earliest(sim, &node);
}

/* ---- set-up ------------------------------------------------------------------------------ */

int synack_sim_new(struct synack_sim **out, uint64_t seed)
{
    if (out == NULL) return SYNACK_ERR_INVAL;
    struct synack_sim *sim = calloc(1, sizeof(*sim));
    if (sim == NULL) return SYNACK_ERR_NOMEM;
    sim->seed = seed;
    *out = sim;
    return 0;
}

void synack_sim_free(struct synack_sim *sim)
{
    if (sim == NULL) return;
    (void)synack_pcap_close(sim->capture);
    for (int i = 0; i < sim->link_count; i++) {
        (void)synack_pcap_close(sim->links[i].capture);
        free(sim->links[i].drops);
        free(sim->links[i].waiting);
    }
    free(sim->links);
    free(sim->nodes);
    free(sim->heap);
    while (sim->chunks != NULL) {
        struct sim_chunk *next = sim->chunks->next;
        free(sim->chunks);
        sim->chunks = next;
    }
    free(sim);
}

/* Makes room for one more element in a growable array of `size`-byte elements. */
static int grow(void **array, int *cap, int count, size_t size)
{
    if (count < *cap) return 0;
    if (count >= SIM_MAX_OBJECTS) return SYNACK_ERR_NOMEM;
    int n = *cap ? *cap * 2 : 4;
    void *a = realloc(*array, (size_t)n * size);
    if (a == NULL) return SYNACK_ERR_NOMEM;
    *array = a;
    *cap = n;
    return 0;
}

int synack_sim_add_node(struct synack_sim *sim, const struct synack_sim_node_ops *ops, void *ctx)
{
    if (sim == NULL || ops == NULL || ops->addrs == NULL) return SYNACK_ERR_INVAL;
    void *nodes = sim->nodes;
    int rc = grow(&nodes, &sim->node_cap, sim->node_count, sizeof(*sim->nodes));
    sim->nodes = nodes;
    if (rc < 0) return rc;
    struct sim_node *n = &sim->nodes[sim->node_count];
    n->ops = *ops;
    n->ctx = ctx;
    n->naddrs = ops->addrs(ctx, n->addrs, SYNACK_MAX_ADDRS);
    if (n->naddrs > SYNACK_MAX_ADDRS) n->naddrs = SYNACK_MAX_ADDRS;
    return sim->node_count++;
}

void synack_sim_link_params_default(struct synack_sim_link_params *p)
{
    *p = (struct synack_sim_link_params){
        .latency = SYNACK_MS(10),
        .reorder_delay = SYNACK_MS(10),
    };
}

static bool link_params_are_valid(const struct synack_sim_link_params *p)
{
    return impair_is_probability(p->loss) && impair_is_probability(p->dup) &&
           impair_is_probability(p->reorder) && impair_is_probability(p->corrupt) &&
           p->jitter != SYNACK_NEVER && (p->drop_count == 0 || p->drop_list != NULL);
}

static int u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int synack_sim_add_link(struct synack_sim *sim, int from, int to,
                        const struct synack_sim_link_params *p)
{
    struct synack_sim_link_params defaults;
    if (p == NULL) {
        synack_sim_link_params_default(&defaults);
        p = &defaults;
    }
    if (sim == NULL || from < 0 || from >= sim->node_count || to < 0 || to >= sim->node_count ||
        !link_params_are_valid(p))
        return SYNACK_ERR_INVAL;
    uint64_t *drops = NULL;
    if (p->drop_count > 0) {
        drops = malloc(p->drop_count * sizeof(*drops));
        if (drops == NULL) return SYNACK_ERR_NOMEM;
        memcpy(drops, p->drop_list, p->drop_count * sizeof(*drops));
        qsort(drops, p->drop_count, sizeof(*drops), u64_compare);
    }
    void *links = sim->links;
    int rc = grow(&links, &sim->link_cap, sim->link_count, sizeof(*sim->links));
    sim->links = links;
    if (rc < 0) {
        free(drops);
        return rc;
    }
    int index = sim->link_count++;
    struct sim_link *l = &sim->links[index];
    *l = (struct sim_link){.from = from, .to = to, .p = *p, .drops = drops};
    l->p.drop_list = drops;
    /* Every link its own stream, from an unrelated state (impair_stream_seed). */
    synack_rng_seed(&l->rng, impair_stream_seed(sim->seed, index), (uint64_t)index);
    return index;
}

void synack_sim_set_observer(struct synack_sim *sim, synack_sim_observer_fn fn, void *ctx)
{
    sim->observer = fn;
    sim->observer_ctx = fn != NULL ? ctx : NULL;
}

int synack_sim_link_stats(const struct synack_sim *sim, int link, struct synack_sim_link_stats *out)
{
    if (sim == NULL || out == NULL || link < 0 || link >= sim->link_count) return SYNACK_ERR_INVAL;
    *out = sim->links[link].stats;
    return 0;
}

void synack_sim_stats(const struct synack_sim *sim, struct synack_sim_stats *out)
{
    *out = sim->stats;
}

/* Closes what `slot` holds, then opens `path` into it (NULL: just close). */
static int capture_reopen(struct synack_sim *sim, struct synack_pcap **slot, const char *path)
{
    int rc = synack_pcap_close(*slot);
    *slot = NULL;
    if (rc < 0) sim_set_error(sim, "flushing the previous capture file failed");
    if (path == NULL) return rc;
    return synack_pcap_open(slot, path, sim->err, sizeof(sim->err));
}

int synack_sim_capture(struct synack_sim *sim, const char *path)
{
    if (sim == NULL) return SYNACK_ERR_INVAL;
    return capture_reopen(sim, &sim->capture, path);
}

int synack_sim_capture_link(struct synack_sim *sim, int link, const char *path)
{
    if (sim == NULL || link < 0 || link >= sim->link_count) return SYNACK_ERR_INVAL;
    return capture_reopen(sim, &sim->links[link].capture, path);
}

const char *synack_sim_error(const struct synack_sim *sim)
{
    return sim->err;
}
