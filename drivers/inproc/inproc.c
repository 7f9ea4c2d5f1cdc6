/* The in-process link (link.h): the embedding program pushes the packets that arrive for
 * the stack and pulls the packets the stack sends, each with a time.
 *
 * Each direction is one queue over storage allocated at open: one buffer of mtu bytes per
 * packet it can hold (a slot), a stack of free slot numbers, and a ring of entries (slot,
 * length, time) in delivery order. The queue from the stack is a plain FIFO. The queue
 * towards the stack is kept sorted by arrival time, ties in the order pushed: a push walks
 * back from the tail past the entries due later than it, which costs nothing for the usual
 * pushes in time order and at most the queue's length for one that overtakes others. So
 * recv and next_deadline look only at the head.
 *
 * Threads: one mutex guards everything that changes (both queues, the counters, the
 * wake-up flag); `mtu`, the bounds, the hook and the eventfd are set at open and only
 * read. The eventfd is written and emptied under the mutex together with the flag that
 * says it is readable, so its state always matches the flag: a push that finds the flag
 * clear writes it, and a recv that returns AGAIN clears it (link.h says why no wake-up
 * is lost). The hook is called after the mutex is released, so it may push and pull. */
#include "synack/link.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define INPROC_DEFAULT_MTU 1500u
#define INPROC_DEFAULT_PACKETS 256u
/* RFC 791 §3.2: every IPv4 module takes a 68-byte datagram whole. The stack checks its own
 * floor (1280 with an IPv6 address). */
#define INPROC_MIN_MTU 68u
#define INPROC_MAX_MTU 65535u

/* One packet in a queue: where its bytes are and its time (arrival towards the stack,
 * sending from it). */
struct inproc_entry {
    synack_time_t at;
    uint32_t slot; /* its buffer: storage + slot * mtu */
    uint32_t len;
};

/* A bounded queue of packets. Invariants: count <= cap; nfree == cap - count; bytes is the
 * sum of the queued lengths, <= max_bytes. */
struct inproc_queue {
    uint8_t *storage;     /* cap * mtu bytes */
    uint32_t *free_slots; /* free_slots[0..nfree) are the unused slot numbers */
    size_t nfree;
    struct inproc_entry *ring; /* cap entries; the queue is ring[head], ring[head + 1], ... */
    size_t head, count, cap;   /* cap: the packet bound */
    size_t bytes, max_bytes;   /* max_bytes: the byte bound (cap * mtu when none is set) */
};

struct inproc_link {
    struct synack_link base;
    unsigned mtu;
    int efd; /* the eventfd of the stack's side */
    void (*on_send)(void *ctx, struct synack_link *l, size_t waiting);
    void *on_send_ctx;
    pthread_mutex_t lock;
    /* Under `lock`: */
    struct inproc_queue rx; /* towards the stack, by arrival time */
    struct inproc_queue tx; /* from the stack, in the order sent */
    bool signalled;         /* the eventfd is readable */
    struct synack_link_stats stats;
};

static const struct synack_link_ops inproc_ops;

static struct inproc_link *inproc_of(struct synack_link *l)
{
    return (struct inproc_link *)(void *)l;
}

/* The const operations (fd, next_deadline, stats) take the mutex too. The link is never
 * defined const (synack_inproc_open allocates it), so dropping the qualifier to lock is
 * sound. */
static struct inproc_link *inproc_of_const(const struct synack_link *l)
{
    return (struct inproc_link *)(void *)(uintptr_t)l;
}

/* The in-process link behind `l`, or NULL when `l` is NULL or another kind (a wrapper). */
static struct inproc_link *inproc_checked(struct synack_link *l)
{
    return l != NULL && l->ops == &inproc_ops ? inproc_of(l) : NULL;
}

/* ---- queues -------------------------------------------------------------------------------- */

static int inproc_queue_init(struct inproc_queue *q, size_t packets, size_t bytes, unsigned mtu)
{
    q->cap = packets;
    q->max_bytes = bytes != 0 ? bytes : packets * mtu;
    /* malloc, not calloc: the pages of slots never used are never touched. */
    q->storage = malloc(packets * mtu);
    q->free_slots = malloc(packets * sizeof(*q->free_slots));
    q->ring = malloc(packets * sizeof(*q->ring));
    if (q->storage == NULL || q->free_slots == NULL || q->ring == NULL) return SYNACK_ERR_NOMEM;
    /* Slot 0 on top, so a queue that never holds more than a few packets uses the first
     * few buffers only. */
    for (size_t i = 0; i < packets; i++)
        q->free_slots[i] = (uint32_t)(packets - 1 - i);
    q->nfree = packets;
    return 0;
}

static void inproc_queue_fini(struct inproc_queue *q)
{
    free(q->storage);
    free(q->free_slots);
    free(q->ring);
}

static bool inproc_queue_fits(const struct inproc_queue *q, size_t len)
{
    return q->count < q->cap && len <= q->max_bytes - q->bytes;
}

/* May a packet of `len` bytes at `pkt` join `q`? 0, INVAL (no packet, empty, above mtu),
 * or AGAIN (the queue is full). */
static int inproc_queue_admit(const struct inproc_queue *q, unsigned mtu, const uint8_t *pkt,
                              size_t len)
{
    if (pkt == NULL || len == 0 || len > mtu) return SYNACK_ERR_INVAL;
    return inproc_queue_fits(q, len) ? 0 : SYNACK_ERR_AGAIN;
}

static struct inproc_entry *inproc_queue_at(struct inproc_queue *q, size_t i)
{
    return &q->ring[(q->head + i) % q->cap];
}

static uint8_t *inproc_slot(const struct inproc_queue *q, uint32_t slot, unsigned mtu)
{
    return q->storage + (size_t)slot * mtu;
}

/* Copies a packet into a free slot and queues it after every entry whose time is not
 * later than `at` (so a queue filled in time order is FIFO). The caller has checked that
 * it fits. Returns how many packets are queued now. */
static size_t inproc_queue_put(struct inproc_queue *q, unsigned mtu, const uint8_t *pkt, size_t len,
                               synack_time_t at)
{
    struct inproc_entry e = {.at = at, .slot = q->free_slots[--q->nfree], .len = (uint32_t)len};
    memcpy(inproc_slot(q, e.slot, mtu), pkt, len);
    size_t i = q->count;
    for (; i > 0 && inproc_queue_at(q, i - 1)->at > at; i--)
        *inproc_queue_at(q, i) = *inproc_queue_at(q, i - 1);
    *inproc_queue_at(q, i) = e;
    q->count++;
    q->bytes += len;
    return q->count;
}

/* Takes the head of a non-empty queue and gives its slot back. The bytes stay in the slot
 * until the next put, so the caller may copy them out under the same lock. */
static struct inproc_entry inproc_queue_take(struct inproc_queue *q)
{
    struct inproc_entry e = *inproc_queue_at(q, 0);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= e.len;
    q->free_slots[q->nfree++] = e.slot;
    return e;
}

/* ---- the embedder's side ------------------------------------------------------------------- */

/* Makes the eventfd readable, unless it is. Under the lock. A write fails only when the
 * counter would overflow, which one write per empty-to-readable change never reaches. */
static void inproc_signal(struct inproc_link *p)
{
    if (p->signalled) return;
    uint64_t one = 1;
    ssize_t r = write(p->efd, &one, sizeof(one));
    (void)r;
    p->signalled = true;
}

/* Empties the eventfd, if readable. Under the lock. */
static void inproc_unsignal(struct inproc_link *p)
{
    if (!p->signalled) return;
    uint64_t count;
    ssize_t r = read(p->efd, &count, sizeof(count));
    (void)r;
    p->signalled = false;
}

int synack_inproc_push(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t at)
{
    struct inproc_link *p = inproc_checked(l);
    if (p == NULL) return SYNACK_ERR_INVAL;
    pthread_mutex_lock(&p->lock);
    int rc = at == SYNACK_NEVER ? SYNACK_ERR_INVAL : inproc_queue_admit(&p->rx, p->mtu, pkt, len);
    if (rc == 0) {
        (void)inproc_queue_put(&p->rx, p->mtu, pkt, len, at);
        inproc_signal(p);
    } else {
        p->stats.rx_errors++;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

synack_ssize synack_inproc_pull(struct synack_link *l, uint8_t *buf, size_t cap,
                                synack_time_t *sent_at)
{
    struct inproc_link *p = inproc_checked(l);
    if (p == NULL || buf == NULL) return SYNACK_ERR_INVAL;
    pthread_mutex_lock(&p->lock);
    synack_ssize rc = SYNACK_ERR_AGAIN;
    if (p->tx.count > 0 && inproc_queue_at(&p->tx, 0)->len > cap) {
        rc = SYNACK_ERR_BUFSZ; /* kept, first in line */
    } else if (p->tx.count > 0) {
        struct inproc_entry e = inproc_queue_take(&p->tx);
        memcpy(buf, inproc_slot(&p->tx, e.slot, p->mtu), e.len);
        if (sent_at != NULL) *sent_at = e.at;
        rc = (synack_ssize)e.len;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- the stack's side: the vtable ---------------------------------------------------------- */

static synack_ssize inproc_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct inproc_link *p = inproc_of(l);
    pthread_mutex_lock(&p->lock);
    synack_ssize rc;
    if (p->rx.count == 0 || inproc_queue_at(&p->rx, 0)->at > now) {
        /* Nothing due: the fd goes quiet until the next push (a later arrival is
         * next_deadline's to announce). */
        inproc_unsignal(p);
        rc = SYNACK_ERR_AGAIN;
    } else {
        struct inproc_entry e = inproc_queue_take(&p->rx);
        if (e.len > cap || buf == NULL) {
            p->stats.rx_errors++; /* the vtable's rule: dropped and counted */
            rc = SYNACK_ERR_BUFSZ;
        } else {
            memcpy(buf, inproc_slot(&p->rx, e.slot, p->mtu), e.len);
            p->stats.rx_packets++;
            p->stats.rx_bytes += e.len;
            rc = (synack_ssize)e.len;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int inproc_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct inproc_link *p = inproc_of(l);
    pthread_mutex_lock(&p->lock);
    int rc = inproc_queue_admit(&p->tx, p->mtu, pkt, len);
    size_t waiting = 0;
    if (rc == 0) {
        waiting = inproc_queue_put(&p->tx, p->mtu, pkt, len, now);
        p->stats.tx_packets++;
        p->stats.tx_bytes += len;
    } else {
        p->stats.tx_errors++; /* dropped, as a router drops what its queue cannot take */
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == 0 && p->on_send != NULL) p->on_send(p->on_send_ctx, l, waiting);
    return rc;
}

static int inproc_fd(const struct synack_link *l)
{
    return inproc_of_const(l)->efd;
}

static synack_time_t inproc_next_deadline(const struct synack_link *l)
{
    struct inproc_link *p = inproc_of_const(l);
    pthread_mutex_lock(&p->lock);
    synack_time_t at = p->rx.count > 0 ? inproc_queue_at(&p->rx, 0)->at : SYNACK_NEVER;
    pthread_mutex_unlock(&p->lock);
    return at;
}

static unsigned inproc_mtu(const struct synack_link *l)
{
    return inproc_of_const(l)->mtu;
}

static void inproc_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    struct inproc_link *p = inproc_of_const(l);
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

static void inproc_free(struct synack_link *l)
{
    struct inproc_link *p = inproc_of(l);
    if (p->efd >= 0) close(p->efd);
    pthread_mutex_destroy(&p->lock);
    inproc_queue_fini(&p->rx);
    inproc_queue_fini(&p->tx);
    free(p);
}

static const struct synack_link_ops inproc_ops = {
    .kind = "inproc",
    .recv = inproc_recv,
    .send = inproc_send,
    .fd = inproc_fd,
    .next_deadline = inproc_next_deadline,
    .poll = NULL, /* nothing is held for a time on the way out */
    .mtu = inproc_mtu,
    .stats = inproc_stats,
    .free = inproc_free,
};

/* ---- opening ------------------------------------------------------------------------------- */

/* A packet bound: 0 is the default; else 1..SYNACK_INPROC_MAX_PACKETS. */
static bool inproc_packets_ok(size_t packets)
{
    return packets <= SYNACK_INPROC_MAX_PACKETS;
}

/* A byte bound: 0 is none; else room at least for one full-sized packet. */
static bool inproc_bytes_ok(size_t bytes, unsigned mtu)
{
    return bytes == 0 || bytes >= mtu;
}

int synack_inproc_open(struct synack_link **out, const struct synack_inproc_config *cfg)
{
    if (out == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    struct synack_inproc_config c = {0};
    if (cfg != NULL) c = *cfg;
    if (c.mtu == 0) c.mtu = INPROC_DEFAULT_MTU;
    if (c.rx_packets == 0) c.rx_packets = INPROC_DEFAULT_PACKETS;
    if (c.tx_packets == 0) c.tx_packets = INPROC_DEFAULT_PACKETS;
    if (c.mtu < INPROC_MIN_MTU || c.mtu > INPROC_MAX_MTU || !inproc_packets_ok(c.rx_packets) ||
        !inproc_packets_ok(c.tx_packets) || !inproc_bytes_ok(c.rx_bytes, c.mtu) ||
        !inproc_bytes_ok(c.tx_bytes, c.mtu))
        return SYNACK_ERR_INVAL;
    struct inproc_link *p = calloc(1, sizeof(*p));
    if (p == NULL) return SYNACK_ERR_NOMEM;
    p->base.ops = &inproc_ops;
    p->mtu = c.mtu;
    p->on_send = c.on_send;
    p->on_send_ctx = c.on_send_ctx;
    p->efd = -1;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return SYNACK_ERR_NOMEM;
    }
    int rc = inproc_queue_init(&p->rx, c.rx_packets, c.rx_bytes, c.mtu);
    if (rc == 0) rc = inproc_queue_init(&p->tx, c.tx_packets, c.tx_bytes, c.mtu);
    if (rc == 0) {
        p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (p->efd < 0) rc = SYNACK_ERR_IO;
    }
    if (rc != 0) {
        inproc_free(&p->base);
        return rc;
    }
    *out = &p->base;
    return 0;
}
