/* The fault wrapper: loss, delay, reordering, duplication, corruption and a rate limit
 * around any link, each direction on its own seeded stream (link.h).
 *
 * A packet offered in either direction goes through, in order (as in the simulator):
 * one draw of its fate (always the same draws, impair.h), the rate limiter's drop-tail
 * queue and serializer, loss, delay, corruption, reordering, duplication.
 *
 * Held packets wait in two FIFOs per direction: `on_time` for packets held by delay or
 * serialization, `held_back` for reordered ones. Delay is constant and the serializer's
 * clock only moves forward, so each FIFO is already in release order (a packet is never
 * given an earlier time than the one before it in its FIFO); the next packet due is the
 * earlier of the two heads. So there is no heap, and a release is O(1).
 *
 * Rate: a serialization clock per direction (busy_until). The drop-tail queue counts the
 * bytes the serializer has yet to send when a packet is offered, the rest of the packet
 * on the wire included: (busy_until - now) * rate / 8. A packet that would take it past
 * queue_bytes is dropped (rate_drops); a packet offered to an idle serializer never is.
 *
 * Memory: held packets live in buffers of a few size classes, taken from free lists that
 * refill one buffer at a time. A direction holds at most SYNACK_FAULT_HELD_MAX bytes of
 * buffers, and all buffers together (held either way, or free for reuse) come to at most
 * SYNACK_FAULT_MEM_MAX: a buffer of a class whose free list is empty is made only after
 * free buffers of other classes have been given back to make room. Since the two
 * directions hold at most SYNACK_FAULT_MEM_MAX together, that room can always be made, so
 * the bound never refuses a packet the per-direction bound allows (traffic that moves from
 * small to large packets recycles memory instead of growing it). With no delay, no
 * reordering and no rate, packets pass straight through: no copy, no queue (a corrupted
 * outgoing packet is copied once into a scratch buffer, since the caller's is const). */
#include "synack/link.h"

#include <stdlib.h>
#include <string.h>

#include "sim/impair.h"

/* The default drop-tail queue of the rate limiter: two 64 KiB windows. */
#define FAULT_QUEUE_DEFAULT (2u * 65536u)
/* Inner packets one recv may pull and lose (or hold) before it gives up with AGAIN, so a
 * flood of lost packets cannot keep a caller in recv. The rest waits for the next call. */
#define FAULT_PULL_MAX 64
/* The largest IPv4 packet. */
#define FAULT_MAX_PACKET 65535
#define FAULT_CLASSES 4
/* Buffer sizes: ACKs, Ethernet-sized segments, jumbo frames, anything up to 64 KiB. */
static const size_t fault_class_sizes[FAULT_CLASSES] = {256, 2048, 9216, FAULT_MAX_PACKET};

enum { FAULT_OUT = 0, FAULT_IN = 1 }; /* stack -> inner; inner -> stack */

struct fault_pkt {
    struct fault_pkt *next; /* the FIFO it waits in, or the free list */
    synack_time_t at;       /* when it is released */
    uint64_t order;         /* tie-break between the two FIFOs: order of holding */
    size_t len;
    unsigned size_class; /* index into fault_class_sizes: data holds that many bytes */
    uint8_t data[];
};

struct fault_fifo {
    struct fault_pkt *head, *tail;
};

struct fault_dir {
    struct synack_rng rng;
    synack_time_t busy_until;    /* when the serializer finishes its last packet */
    struct fault_fifo on_time;   /* held by delay or serialization, in release order */
    struct fault_fifo held_back; /* held back by reorder_delay, in release order */
    size_t held_bytes;           /* buffer bytes of both FIFOs, <= SYNACK_FAULT_HELD_MAX */
    uint64_t order;              /* next fault_pkt.order */
};

struct fault_link {
    struct synack_link base;
    struct synack_link *inner;
    struct synack_fault_params p; /* queue_bytes resolved (never 0) */
    struct fault_dir dir[2];      /* FAULT_OUT, FAULT_IN */
    struct fault_pkt *free_pkts[FAULT_CLASSES];
    size_t alloc_bytes; /* every buffer allocated (held or free), <= SYNACK_FAULT_MEM_MAX */
    uint8_t scratch[FAULT_MAX_PACKET]; /* a corrupted copy of an outgoing packet */
    struct synack_link_stats stats;
};

/* What happens to one offered packet. */
struct fault_verdict {
    bool drop;      /* lost or queue full: nothing more to do */
    bool corrupt;   /* flip bit_draw's bit */
    bool dup;       /* a second copy follows it */
    bool pass;      /* due at once: goes straight through */
    bool reordered; /* held back: waits in held_back */
    uint32_t bit_draw;
    synack_time_t at; /* release time (when not pass) */
};

static struct fault_link *fault_of(struct synack_link *l)
{
    return (struct fault_link *)(void *)l;
}

static const struct fault_link *fault_of_const(const struct synack_link *l)
{
    return (const struct fault_link *)(const void *)l;
}

/* ---- buffers and FIFOs ------------------------------------------------------------------- */

/* The memory a buffer of class `k` takes: its header and its data. */
static size_t fault_class_bytes(unsigned k)
{
    return sizeof(struct fault_pkt) + fault_class_sizes[k];
}

/* Frees free buffers (largest first) until `need` more bytes fit under
 * SYNACK_FAULT_MEM_MAX. Returns false if even all of them do not make the room. */
static bool fault_make_room(struct fault_link *f, size_t need)
{
    for (int k = FAULT_CLASSES - 1; k >= 0; k--) {
        while (f->alloc_bytes + need > SYNACK_FAULT_MEM_MAX && f->free_pkts[k] != NULL) {
            struct fault_pkt *p = f->free_pkts[k];
            f->free_pkts[k] = p->next;
            f->alloc_bytes -= fault_class_bytes((unsigned)k);
            free(p);
        }
    }
    return f->alloc_bytes + need <= SYNACK_FAULT_MEM_MAX;
}

/* A buffer for `len` bytes (1..FAULT_MAX_PACKET) if direction `d` may hold it, or NULL. */
static struct fault_pkt *fault_pkt_get(struct fault_link *f, struct fault_dir *d, size_t len)
{
    unsigned k = 0;
    while (fault_class_sizes[k] < len)
        k++;
    size_t bytes = fault_class_bytes(k);
    if (d->held_bytes + bytes > SYNACK_FAULT_HELD_MAX) return NULL;
    struct fault_pkt *p = f->free_pkts[k];
    if (p != NULL) {
        f->free_pkts[k] = p->next;
    } else {
        if (!fault_make_room(f, bytes)) return NULL;
        p = malloc(bytes);
        if (p == NULL) return NULL;
        p->size_class = k;
        f->alloc_bytes += bytes;
    }
    d->held_bytes += bytes;
    p->len = len;
    p->next = NULL;
    return p;
}

static void fault_pkt_put(struct fault_link *f, struct fault_dir *d, struct fault_pkt *p)
{
    d->held_bytes -= fault_class_bytes(p->size_class);
    p->next = f->free_pkts[p->size_class];
    f->free_pkts[p->size_class] = p;
}

static void fifo_push(struct fault_fifo *q, struct fault_pkt *p)
{
    p->next = NULL;
    if (q->tail != NULL)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
}

static struct fault_pkt *fifo_pop(struct fault_fifo *q)
{
    struct fault_pkt *p = q->head;
    q->head = p->next;
    if (q->head == NULL) q->tail = NULL;
    return p;
}

static void fifo_free(struct fault_fifo *q)
{
    while (q->head != NULL)
        free(fifo_pop(q));
}

/* The FIFO whose head is released first (time, then order of holding); NULL if none. */
static struct fault_fifo *dir_next_fifo(struct fault_dir *d)
{
    const struct fault_pkt *a = d->on_time.head, *b = d->held_back.head;
    if (a == NULL) return b != NULL ? &d->held_back : NULL;
    if (b == NULL) return &d->on_time;
    bool b_first = b->at < a->at || (b->at == a->at && b->order < a->order);
    return b_first ? &d->held_back : &d->on_time;
}

static synack_time_t dir_next_time(const struct fault_dir *d)
{
    synack_time_t t = SYNACK_NEVER;
    if (d->on_time.head != NULL) t = d->on_time.head->at;
    if (d->held_back.head != NULL && d->held_back.head->at < t) t = d->held_back.head->at;
    return t;
}

/* The next held packet of `d` if it is due at `now`, taken out of its FIFO; else NULL. */
static struct fault_pkt *dir_take_due(struct fault_dir *d, synack_time_t now)
{
    struct fault_fifo *q = dir_next_fifo(d);
    if (q == NULL || q->head->at > now) return NULL;
    return fifo_pop(q);
}

/* ---- the fate of a packet ------------------------------------------------------------- */

/* Drop-tail: would a packet of `len` bytes offered at `now` overfill the rate queue? */
static bool fault_queue_is_full(const struct fault_link *f, const struct fault_dir *d, size_t len,
                                synack_time_t now)
{
    if (f->p.rate_bps == 0 || d->busy_until <= now) return false;
    uint64_t wait = d->busy_until - now;
    if (wait > UINT64_MAX / f->p.rate_bps) return true;
    uint64_t backlog = wait * f->p.rate_bps / 8000000000u; /* bytes not yet on the wire */
    return backlog >= f->p.queue_bytes || len > f->p.queue_bytes - backlog;
}

/* Occupies the serializer with `len` bytes; returns when the last bit has left. */
static synack_time_t fault_serialize(const struct fault_link *f, struct fault_dir *d, size_t len,
                                     synack_time_t now)
{
    if (f->p.rate_bps == 0) return now;
    synack_time_t start = d->busy_until > now ? d->busy_until : now;
    d->busy_until = impair_time_add(start, impair_serialization_time(len, f->p.rate_bps));
    return d->busy_until;
}

/* A packet's release time never comes before the one held ahead of it in its FIFO, so
 * each FIFO stays in release order even if the caller's `now` were to step back. */
static synack_time_t fifo_floor(const struct fault_fifo *q, synack_time_t at)
{
    return q->tail != NULL && q->tail->at > at ? q->tail->at : at;
}

/* Decides the fate of a packet of `len` bytes offered in direction `d` at `now` and
 * counts it. The draws come first, so every packet consumes the same ones. */
static void fault_judge(struct fault_link *f, struct fault_dir *d, size_t len, synack_time_t now,
                        struct fault_verdict *v)
{
    const struct impair_odds odds = {
        .loss = f->p.loss,
        .corrupt = f->p.corrupt,
        .dup = f->p.dup,
        .reorder = f->p.reorder,
    };
    struct impair_fate fate;
    impair_draw(&d->rng, &odds, &fate);
    *v = (struct fault_verdict){.drop = true};
    if (fault_queue_is_full(f, d, len, now)) {
        f->stats.rate_drops++;
        return;
    }
    synack_time_t done = fault_serialize(f, d, len, now);
    if (fate.lose) {
        f->stats.lost++;
        return;
    }
    v->drop = false;
    v->at = impair_time_add(done, f->p.delay);
    if (v->at > now) f->stats.delayed++;
    v->reordered = fate.reorder && f->p.reorder_delay > 0;
    if (v->reordered) {
        v->at = fifo_floor(&d->held_back, impair_time_add(v->at, f->p.reorder_delay));
        f->stats.reordered++;
    } else {
        v->at = fifo_floor(&d->on_time, v->at);
    }
    v->pass = v->at <= now;
    v->corrupt = fate.corrupt;
    v->bit_draw = fate.bit_draw;
    if (v->corrupt) f->stats.corrupted++;
    v->dup = fate.dup;
    if (v->dup) f->stats.duplicated++;
}

/* Holds a copy of `bytes` in direction `d` until v->at. A packet it cannot hold (the
 * bounds are reached, or no memory) is dropped and counted in `drops`: returns false. */
static bool fault_hold(struct fault_link *f, struct fault_dir *d, const struct fault_verdict *v,
                       const uint8_t *bytes, size_t len, uint64_t *drops)
{
    struct fault_pkt *p = fault_pkt_get(f, d, len);
    if (p == NULL) {
        (*drops)++;
        return false;
    }
    memcpy(p->data, bytes, len);
    p->at = v->at;
    p->order = d->order++;
    fifo_push(v->reordered ? &d->held_back : &d->on_time, p);
    return true;
}

/* ---- outgoing: stack -> inner ------------------------------------------------------------ */

/* Passes a packet to the inner link: queued there (synack_link_queue, for a flush to
 * send) or sent at once. */
static int fault_pass_out(struct fault_link *f, const uint8_t *pkt, size_t len, synack_time_t now,
                          bool queued)
{
    int rc = queued ? synack_link_queue(f->inner, pkt, len, now)
                    : synack_link_send(f->inner, pkt, len, now);
    if (rc < 0) {
        f->stats.tx_errors++;
        return rc;
    }
    f->stats.tx_packets++;
    f->stats.tx_bytes += len;
    return 0;
}

/* Sends every held outgoing packet due at `now`, in release order. */
static void fault_release_out(struct fault_link *f, synack_time_t now, bool queued)
{
    struct fault_dir *d = &f->dir[FAULT_OUT];
    struct fault_pkt *p;
    while ((p = dir_take_due(d, now)) != NULL) {
        (void)fault_pass_out(f, p->data, p->len, now, queued);
        fault_pkt_put(f, d, p);
    }
}

/* send (queued false) and queue (true): what passes goes to the inner link that way. */
static int fault_offer(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now,
                       bool queued)
{
    struct fault_link *f = fault_of(l);
    if (pkt == NULL || len == 0 || len > FAULT_MAX_PACKET) return SYNACK_ERR_INVAL;
    /* Whatever fell due before this packet leaves before it. */
    fault_release_out(f, now, queued);
    struct fault_dir *d = &f->dir[FAULT_OUT];
    struct fault_verdict v;
    fault_judge(f, d, len, now, &v);
    if (v.drop) return 0; /* taken, and lost on the way, as on a wire */
    const uint8_t *bytes = pkt;
    if (v.corrupt) {
        memcpy(f->scratch, pkt, len);
        impair_flip_bit(f->scratch, len, v.bit_draw);
        bytes = f->scratch;
    }
    if (v.pass) {
        int rc = fault_pass_out(f, bytes, len, now, queued);
        if (v.dup) (void)fault_pass_out(f, bytes, len, now, queued);
        return rc;
    }
    /* A packet that cannot be held is refused, as an OS refuses what it has no room for
     * (link.h: send's AGAIN); a copy that cannot be held is only counted. */
    if (!fault_hold(f, d, &v, bytes, len, &f->stats.tx_errors)) return SYNACK_ERR_AGAIN;
    if (v.dup) (void)fault_hold(f, d, &v, bytes, len, &f->stats.tx_errors);
    return 0;
}

static int fault_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return fault_offer(l, pkt, len, now, false);
}

static int fault_queue(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return fault_offer(l, pkt, len, now, true);
}

static void fault_flush(struct synack_link *l, synack_time_t now)
{
    synack_link_flush(fault_of(l)->inner, now);
}

/* The packets released leave together (one flush of the inner link). */
static void fault_poll(struct synack_link *l, synack_time_t now)
{
    struct fault_link *f = fault_of(l);
    fault_release_out(f, now, true);
    synack_link_poll(f->inner, now);
    synack_link_flush(f->inner, now);
}

/* ---- incoming: inner -> stack ------------------------------------------------------------ */

static synack_ssize fault_deliver(struct fault_link *f, size_t len)
{
    f->stats.rx_packets++;
    f->stats.rx_bytes += len;
    return (synack_ssize)len;
}

/* Hands a released packet to the caller and recycles its buffer. */
static synack_ssize fault_deliver_held(struct fault_link *f, struct fault_pkt *p, uint8_t *buf,
                                       size_t cap)
{
    size_t len = p->len;
    bool fits = len <= cap;
    if (fits) memcpy(buf, p->data, len);
    fault_pkt_put(f, &f->dir[FAULT_IN], p);
    if (!fits) {
        f->stats.rx_errors++;
        return SYNACK_ERR_BUFSZ;
    }
    return fault_deliver(f, len);
}

static synack_ssize fault_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct fault_link *f = fault_of(l);
    struct fault_dir *d = &f->dir[FAULT_IN];
    struct fault_pkt *due = dir_take_due(d, now);
    if (due != NULL) return fault_deliver_held(f, due, buf, cap);
    /* Nothing held is due: pull from the inner link until a packet passes straight
     * through (it is read into `buf` directly, no copy) or the pull budget runs out. */
    for (int i = 0; i < FAULT_PULL_MAX; i++) {
        synack_ssize n = synack_link_recv(f->inner, buf, cap, now);
        if (n < 0) return n;
        if (n == 0 || (size_t)n > FAULT_MAX_PACKET) {
            f->stats.rx_errors++; /* not an IPv4 packet */
            continue;
        }
        size_t len = (size_t)n;
        struct fault_verdict v;
        fault_judge(f, d, len, now, &v);
        if (v.drop) continue;
        if (v.corrupt) impair_flip_bit(buf, len, v.bit_draw);
        if (v.pass) {
            /* The copy is due now too: the next recv returns it. */
            if (v.dup) (void)fault_hold(f, d, &v, buf, len, &f->stats.rx_errors);
            return fault_deliver(f, len);
        }
        if (fault_hold(f, d, &v, buf, len, &f->stats.rx_errors) && v.dup)
            (void)fault_hold(f, d, &v, buf, len, &f->stats.rx_errors);
    }
    return SYNACK_ERR_AGAIN;
}

/* ---- the rest of the vtable --------------------------------------------------------------- */

static int fault_fd(const struct synack_link *l)
{
    return synack_link_fd(fault_of_const(l)->inner);
}

static synack_time_t fault_next_deadline(const struct synack_link *l)
{
    const struct fault_link *f = fault_of_const(l);
    synack_time_t t = synack_link_next_deadline(f->inner);
    for (int i = 0; i < 2; i++) {
        synack_time_t held = dir_next_time(&f->dir[i]);
        if (held < t) t = held;
    }
    return t;
}

static unsigned fault_mtu(const struct synack_link *l)
{
    return synack_link_mtu(fault_of_const(l)->inner);
}

static void fault_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = fault_of_const(l)->stats;
}

static void fault_free(struct synack_link *l)
{
    struct fault_link *f = fault_of(l);
    for (int i = 0; i < 2; i++) {
        fifo_free(&f->dir[i].on_time);
        fifo_free(&f->dir[i].held_back);
    }
    for (int k = 0; k < FAULT_CLASSES; k++) {
        while (f->free_pkts[k] != NULL) {
            struct fault_pkt *next = f->free_pkts[k]->next;
            free(f->free_pkts[k]);
            f->free_pkts[k] = next;
        }
    }
    synack_link_free(f->inner);
    free(f);
}

static const struct synack_link_ops fault_ops = {
    .kind = "fault",
    .recv = fault_recv,
    .send = fault_send,
    .fd = fault_fd,
    .next_deadline = fault_next_deadline,
    .poll = fault_poll,
    .mtu = fault_mtu,
    .stats = fault_stats,
    .free = fault_free,
    .queue = fault_queue,
    .flush = fault_flush,
};

void synack_fault_params_default(struct synack_fault_params *p)
{
    *p = (struct synack_fault_params){.reorder_delay = SYNACK_MS(10)};
}

static bool fault_params_are_valid(const struct synack_fault_params *p)
{
    return impair_is_probability(p->loss) && impair_is_probability(p->reorder) &&
           impair_is_probability(p->dup) && impair_is_probability(p->corrupt) &&
           p->delay != SYNACK_NEVER && p->reorder_delay != SYNACK_NEVER;
}

int synack_fault_wrap(struct synack_link **out, struct synack_link *inner,
                      const struct synack_fault_params *p, uint64_t seed)
{
    if (out != NULL) *out = NULL;
    if (out == NULL || inner == NULL || p == NULL || !fault_params_are_valid(p)) {
        synack_link_free(inner);
        return SYNACK_ERR_INVAL;
    }
    struct fault_link *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        synack_link_free(inner);
        return SYNACK_ERR_NOMEM;
    }
    f->base.ops = &fault_ops;
    f->inner = inner;
    f->p = *p;
    if (f->p.queue_bytes == 0) f->p.queue_bytes = FAULT_QUEUE_DEFAULT;
    /* One stream per direction: the n-th packet's fate each way depends only on the seed
     * and n, never on the traffic the other way. */
    for (int i = 0; i < 2; i++)
        synack_rng_seed(&f->dir[i].rng, impair_stream_seed(seed, i), (uint64_t)i);
    *out = &f->base;
    return 0;
}
