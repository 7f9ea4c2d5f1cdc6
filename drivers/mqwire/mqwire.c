/* The multi-queue wire (link.h): two hosts of N stacks each, joined in memory, with no lock
 * on the packet path.
 *
 * Between every sending queue of one side and every receiving queue of the other there is
 * one ring, written by the sending queue's thread alone and read by the receiving queue's
 * thread alone (single producer, single consumer). A packet is a record in the ring: an
 * 8-byte header holding its length and what its sender left to finish (mq_meta: where a
 * partial checksum sits), then its bytes, padded to 8. A record never wraps:
 * where the bytes left before the end cannot hold it, a wrap mark fills them and the
 * record starts again at the beginning. `tail` (the producer's) and `head` (the
 * consumer's) count bytes since the start and only grow; each side keeps a copy of the
 * other's count and reloads it only when the copy says the ring is full or empty, so a
 * packet costs each thread one store to a line the other reads.
 *
 * Waking: a receiving queue's eventfd is written once when someone first asks for its fd
 * (a runtime that sleeps; packets may already wait), and after that by each push into a
 * ring that was empty. It is emptied only by a recv that finds every ring empty, which then
 * looks again before it answers AGAIN: a push between the two looks is seen (and the fd
 * made readable again for what may follow it), and a push after them finds its ring empty
 * and writes. So the fd stays readable while anything waits, also for a reader that stops
 * before AGAIN. */
#include "synack/link.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MQ_DEFAULT_MTU 1500u
#define MQ_DEFAULT_RING (1u << 20)
#define MQ_MIN_MTU 68u
#define MQ_MAX_MTU 65535u
#define MQ_HDR 8u             /* a record's length, then what its sender left to finish (mq_meta) */
#define MQ_MAX_SEGMENT 65535u /* a TSO segment: the most one IP packet carries */
#define MQ_WRAP UINT32_MAX
#define MQ_CACHELINE 64

struct mq_ring {
    _Alignas(MQ_CACHELINE) _Atomic uint64_t tail; /* written by the producer */
    uint64_t head_seen;                           /* the producer's copy of head */
    _Alignas(MQ_CACHELINE) _Atomic uint64_t head; /* written by the consumer */
    uint64_t tail_seen;                           /* the consumer's copy of tail */
    _Alignas(MQ_CACHELINE) uint8_t *buf;
};

/* Aligned to a cache line: each is written per packet by its own thread (its counters, its
 * round-robin start), and neighbours belong to other threads. */
struct mq_link {
    _Alignas(MQ_CACHELINE) struct synack_link base;
    struct synack_mqwire *w;
    unsigned side, queue;
    unsigned next_in; /* the ring recv looks at first: round robin over the senders */
    struct synack_link_stats stats;
    /* Read by every sender to this queue: a line of their own, apart from the counters
     * this queue's thread writes per packet. */
    _Alignas(MQ_CACHELINE) int efd;
    _Atomic bool wake; /* someone asked for efd: pushes that find the ring empty write it */
};

struct synack_mqwire {
    unsigned queues, mtu;
    unsigned tx;       /* the SYNACK_TX_* work the links finish: all of it, or none (no_offload) */
    size_t ring_bytes; /* a power of two */
    uint8_t key[16];
    struct mq_link *links; /* [side * queues + queue] */
    struct mq_ring *rings; /* towards side s, from queue i to queue j: [(s * q + j) * q + i] */
};

static const struct synack_link_ops mq_ops;

static struct mq_link *mq_of(struct synack_link *l)
{
    return (struct mq_link *)(void *)l;
}

/* The const operations touch only the link's own fields, or set the wake flag (fd): the
 * links are allocated by synack_mqwire_new, never defined const. */
static struct mq_link *mq_of_const(const struct synack_link *l)
{
    return (struct mq_link *)(void *)(uintptr_t)l;
}

static struct mq_ring *mq_ring(struct synack_mqwire *w, unsigned to_side, unsigned from,
                               unsigned to)
{
    return &w->rings[((size_t)to_side * w->queues + to) * w->queues + from];
}

static size_t mq_record_len(size_t len)
{
    return MQ_HDR + ((len + 7u) & ~(size_t)7u);
}

/* Copies a packet into ring `r` of `cap` bytes: false when it is full. */
/* A record's second word: a partial checksum's place (start, offset), or 0 for a whole
 * packet. */
static uint32_t mq_meta(const struct synack_tx_meta *meta)
{
    if (!meta || !meta->csum_partial) return 0;
    return 1u | (uint32_t)(meta->csum_offset & 0x7f) << 1 | (uint32_t)meta->csum_start << 8;
}

static bool mq_push(struct mq_ring *r, size_t cap, const uint8_t *pkt, size_t len, uint32_t meta,
                    uint64_t *old_tail)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t at = (size_t)(tail & (cap - 1)), rec = mq_record_len(len);
    size_t need = cap - at < rec ? cap - at + rec : rec; /* with the wrap mark's bytes */
    if (cap - (tail - r->head_seen) < need) {
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (cap - (tail - r->head_seen) < need) return false;
    }
    *old_tail = tail;
    if (need != rec) {
        uint32_t mark = MQ_WRAP;
        memcpy(r->buf + at, &mark, sizeof mark);
        at = 0;
    }
    uint32_t l32 = (uint32_t)len;
    memcpy(r->buf + at, &l32, sizeof l32);
    memcpy(r->buf + at + 4, &meta, sizeof meta);
    memcpy(r->buf + at + MQ_HDR, pkt, len);
    /* seq_cst, not release: the store of tail must be ordered before mq_send's loads of
     * `wake` and head, as recv's emptying of the eventfd is before its second look. */
    atomic_store_explicit(&r->tail, tail + need, memory_order_seq_cst);
    return true;
}

/* The next record of ring `r`: its bytes and length, or NULL when it is empty. The record
 * stays until mq_pop. */
static const uint8_t *mq_peek(struct mq_ring *r, size_t cap, size_t *len, size_t *rec,
                              uint32_t *meta)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (r->tail_seen == head) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        if (r->tail_seen == head) return NULL;
    }
    size_t at = (size_t)(head & (cap - 1));
    uint32_t l32;
    memcpy(&l32, r->buf + at, sizeof l32);
    size_t skip = 0;
    if (l32 == MQ_WRAP) {
        skip = cap - at;
        at = 0;
        memcpy(&l32, r->buf, sizeof l32);
    }
    *len = l32;
    memcpy(meta, r->buf + at + 4, sizeof *meta);
    *rec = skip + mq_record_len(l32);
    return r->buf + at + MQ_HDR;
}

static void mq_pop(struct mq_ring *r, size_t rec)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + rec, memory_order_release);
}

/* The first ring towards `m` with a packet, from m->next_in on; NULL when all are empty. */
static struct mq_ring *mq_ready(struct mq_link *m, const uint8_t **pkt, size_t *len, size_t *rec,
                                uint32_t *meta)
{
    struct synack_mqwire *w = m->w;
    for (unsigned k = 0; k < w->queues; k++) {
        unsigned from = (m->next_in + k) % w->queues;
        struct mq_ring *r = mq_ring(w, m->side, from, m->queue);
        *pkt = mq_peek(r, w->ring_bytes, len, rec, meta);
        if (*pkt) {
            m->next_in = (from + 1) % w->queues;
            return r;
        }
    }
    return NULL;
}

/* recv and recv_offload (`input_flags` NULL for recv). A packet whose checksum its sender
 * left partial is handed to recv_offload as it is, vouched for (memory does not corrupt
 * what it carries), and to the plain recv with its checksum finished, so a reader that
 * vouches for nothing (a capture) gets a whole packet. */
static synack_ssize mq_take(struct mq_link *m, uint8_t *buf, size_t cap, unsigned *input_flags)
{
    const uint8_t *pkt;
    size_t len, rec;
    uint32_t meta;
    struct mq_ring *r = mq_ready(m, &pkt, &len, &rec, &meta);
    if (!r && atomic_load_explicit(&m->wake, memory_order_relaxed)) {
        uint64_t v;
        (void)!read(m->efd, &v, sizeof v); /* empty it, then look again (header comment) */
        atomic_thread_fence(memory_order_seq_cst);
        r = mq_ready(m, &pkt, &len, &rec, &meta);
        /* A push came between the looks: its wake-up was just emptied, and a reader that
         * stops before AGAIN (synack_link_pump reads a batch) must find the fd readable
         * for the packets that may wait behind this one. */
        uint64_t one = 1;
        if (r) (void)!write(m->efd, &one, sizeof one);
    }
    if (!r) return SYNACK_ERR_AGAIN;
    synack_ssize rc;
    if (len > cap || buf == NULL) {
        m->stats.rx_errors++; /* the vtable's rule: dropped and counted */
        rc = SYNACK_ERR_BUFSZ;
    } else {
        memcpy(buf, pkt, len);
        m->stats.rx_packets++;
        m->stats.rx_bytes += len;
        if (len > m->w->mtu) m->stats.rx_gso_packets++;
        if (input_flags) *input_flags = 0;
        if ((meta & 1u) && input_flags) {
            *input_flags = SYNACK_INPUT_CSUM_VERIFIED;
            m->stats.rx_csum_vouched++;
        } else if (meta & 1u) {
            (void)synack_checksum_complete(buf, len, meta >> 8, (meta >> 1) & 0x7f);
        }
        rc = (synack_ssize)len;
    }
    mq_pop(r, rec);
    return rc;
}

static synack_ssize mq_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    (void)now;
    return mq_take(mq_of(l), buf, cap, NULL);
}

static synack_ssize mq_recv_offload(struct synack_link *l, uint8_t *buf, size_t cap,
                                    unsigned *input_flags, synack_time_t now)
{
    (void)now;
    return mq_take(mq_of(l), buf, cap, input_flags);
}

/* send and send_offload (`meta` NULL for send): a packet of at most the MTU, or with
 * `meta` a TSO segment of up to 65535 bytes, which the receiving stack takes whole as it
 * takes a TUN device's merged ones. */
static int mq_put(struct mq_link *m, const uint8_t *pkt, size_t len,
                  const struct synack_tx_meta *meta)
{
    struct synack_mqwire *w = m->w;
    size_t max = meta && meta->gso_size ? MQ_MAX_SEGMENT : w->mtu;
    if (!pkt || len == 0 || len > max) {
        m->stats.tx_errors++;
        return SYNACK_ERR_INVAL;
    }
    unsigned to = synack_steer_packet(w->key, w->queues, pkt, len);
    unsigned other = 1u - m->side;
    struct mq_ring *r = mq_ring(w, other, m->queue, to);
    uint64_t old_tail;
    if (!mq_push(r, w->ring_bytes, pkt, len, mq_meta(meta), &old_tail)) {
        m->stats.tx_errors++; /* dropped, as a router drops what its queue cannot take */
        return SYNACK_ERR_AGAIN;
    }
    m->stats.tx_packets++;
    m->stats.tx_bytes += len;
    if (meta && meta->gso_size) m->stats.tx_gso_packets++;
    if (meta && meta->csum_partial) m->stats.tx_csum_partial++;
    if (to != m->queue) m->stats.steered_across++;
    struct mq_link *dst = &w->links[(size_t)other * w->queues + to];
    /* Woken only when the consumer had taken everything before this packet: the head it
     * has stored, not the producer's copy, which may be old. */
    if (atomic_load_explicit(&dst->wake, memory_order_seq_cst) &&
        atomic_load_explicit(&r->head, memory_order_seq_cst) == old_tail) {
        uint64_t one = 1;
        (void)!write(dst->efd, &one, sizeof one);
    }
    return 0;
}

static int mq_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    (void)now;
    return mq_put(mq_of(l), pkt, len, NULL);
}

static int mq_send_offload(struct synack_link *l, const uint8_t *pkt, size_t len,
                           const struct synack_tx_meta *meta, synack_time_t now)
{
    (void)now;
    return mq_put(mq_of(l), pkt, len, meta);
}

static unsigned mq_tx_offloads(const struct synack_link *l)
{
    return mq_of_const(l)->w->tx;
}

static int mq_fd(const struct synack_link *l)
{
    struct mq_link *m = mq_of_const(l);
    /* Pushes before this one wrote nothing, and later ones write only into an empty ring:
     * packets already waiting would never make the fd readable. One spurious wake-up (a
     * recv that says AGAIN) is the price. */
    uint64_t one = 1;
    if (!atomic_exchange_explicit(&m->wake, true, memory_order_seq_cst))
        (void)!write(m->efd, &one, sizeof one);
    return m->efd;
}

static unsigned mq_mtu(const struct synack_link *l)
{
    return mq_of_const(l)->w->mtu;
}

static void mq_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = mq_of_const(l)->stats;
}

/* The wire owns its links: freeing one only detaches it (synack_mqwire_free frees all). */
static void mq_free(struct synack_link *l)
{
    (void)l;
}

static const struct synack_link_ops mq_ops = {
    .kind = "mqwire",
    .recv = mq_recv,
    .send = mq_send,
    .fd = mq_fd,
    .next_deadline = NULL, /* nothing is held for a time */
    .poll = NULL,
    .mtu = mq_mtu,
    .stats = mq_stats,
    .free = mq_free,
    .recv_offload = mq_recv_offload,
    .tx_offloads = mq_tx_offloads,
    .send_offload = mq_send_offload,
};

void synack_mqwire_free(struct synack_mqwire *w)
{
    if (!w) return;
    size_t nlinks = 2u * w->queues, nrings = nlinks * w->queues;
    if (w->links)
        for (size_t i = 0; i < nlinks; i++)
            if (w->links[i].efd >= 0) close(w->links[i].efd);
    if (w->rings)
        for (size_t i = 0; i < nrings; i++)
            free(w->rings[i].buf);
    free(w->links);
    free(w->rings);
    free(w);
}

int synack_mqwire_new(struct synack_mqwire **out, const struct synack_mqwire_config *cfg)
{
    if (!out || !cfg || cfg->queues == 0 || cfg->queues > SYNACK_STEER_MAX_QUEUES) {
        return SYNACK_ERR_INVAL;
    }
    unsigned mtu = cfg->mtu ? cfg->mtu : MQ_DEFAULT_MTU;
    size_t ring = cfg->ring_bytes ? cfg->ring_bytes : MQ_DEFAULT_RING;
    /* A ring holds two largest packets at least (one may need a wrap mark before it): TSO
     * segments of 64 KiB with offloads. */
    if (mtu < MQ_MIN_MTU || mtu > MQ_MAX_MTU || (ring & (ring - 1)) != 0 ||
        ring < 2 * mq_record_len(cfg->no_offload ? mtu : MQ_MAX_SEGMENT) ||
        ring > SYNACK_MQWIRE_MAX_RING)
        return SYNACK_ERR_INVAL;
    struct synack_mqwire *w = calloc(1, sizeof *w);
    if (!w) return SYNACK_ERR_NOMEM;
    w->queues = cfg->queues;
    w->mtu = mtu;
    /* Not SYNACK_TX_USO: the receiving stack would take a joined packet as one datagram. */
    w->tx = cfg->no_offload ? 0 : SYNACK_TX_CSUM | SYNACK_TX_TSO4 | SYNACK_TX_TSO6;
    w->ring_bytes = ring;
    memcpy(w->key, cfg->key, sizeof w->key);
    size_t nlinks = 2u * w->queues, nrings = nlinks * w->queues;
    w->links = aligned_alloc(MQ_CACHELINE, nlinks * sizeof *w->links);
    if (w->links) memset(w->links, 0, nlinks * sizeof *w->links);
    w->rings = aligned_alloc(MQ_CACHELINE, nrings * sizeof *w->rings);
    int rc = w->links && w->rings ? 0 : SYNACK_ERR_NOMEM;
    if (w->rings) memset(w->rings, 0, nrings * sizeof *w->rings);
    for (size_t i = 0; w->links && i < nlinks; i++)
        w->links[i].efd = -1;
    for (size_t i = 0; rc == 0 && i < nrings; i++) {
        /* The pages are committed as the ring is first written. */
        w->rings[i].buf = malloc(ring);
        if (!w->rings[i].buf) rc = SYNACK_ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < nlinks; i++) {
        struct mq_link *m = &w->links[i];
        m->base.ops = &mq_ops;
        m->w = w;
        m->side = (unsigned)(i / w->queues);
        m->queue = (unsigned)(i % w->queues);
        m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (m->efd < 0) rc = SYNACK_ERR_IO;
    }
    if (rc != 0) {
        synack_mqwire_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

struct synack_link *synack_mqwire_link(struct synack_mqwire *w, unsigned side, unsigned queue)
{
    if (!w || side > 1 || queue >= w->queues) return NULL;
    return &w->links[(size_t)side * w->queues + queue].base;
}
