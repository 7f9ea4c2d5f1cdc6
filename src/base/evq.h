/* The event queue: a ring of synack_events that grows with what is pending. The stack owns
 * one and hands its events out (synack_stack_next_event); the engines below it (tcp/) push
 * into it through their environment. It starts with a few slots and doubles when full, up
 * to a bound (`max`, what every connection, TIME-WAIT record and UDP socket could queue),
 * so a stack configured for a million connections does not reserve room for four million
 * events it may never hold. Once emptied it goes back to its first size (evq_shrink): one
 * allocation per burst of more than `first` events, none for the loops that stay below.
 * Inline: a push or a pop is a few instructions, on the path of many segments. */
#ifndef SYNACK_EVQ_H
#define SYNACK_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

struct evq {
    struct synack_event *buf;        /* `cap` slots */
    size_t cap;                      /* slots allocated; invariant cap <= max */
    size_t first;                    /* slots at first, and again once emptied */
    size_t max;                      /* the bound: the queue never holds more */
    size_t head;                     /* the oldest event; invariant head < cap (or 0) */
    size_t len;                      /* events held; invariant len <= cap */
    uint64_t queued;                 /* events ever queued (not those dropped): monotonic */
    uint64_t dropped;                /* events lost: the queue held `max`, or could not grow */
    uint64_t nomem;                  /* of those, lost because the allocator refused to grow */
    const struct synack_config *cfg; /* the allocator (alloc_mem) */
};

/* Sets up an empty queue of `first` slots (at most `max`) from cfg's allocator: 0, or
 * SYNACK_ERR_NOMEM. */
int evq_init(struct evq *q, const struct synack_config *cfg, size_t first, size_t max);
/* Frees the storage; the queue holds nothing after. */
void evq_free(struct evq *q);
/* Doubles the storage (up to max), keeping the events in order: false at max, or when the
 * allocator refused (counted in nomem). Out of line: pushes seldom need it. */
bool evq_grow(struct evq *q);
/* An empty queue larger than `first` goes back to `first` slots (keeps its storage if the
 * allocator refuses). Out of line: only the pop that empties a grown queue needs it. */
void evq_shrink(struct evq *q);

/* Appends a copy of `ev`, growing the queue when full; counts it in `dropped` when it may
 * not grow (the bound, or no memory: an event is never lost uncounted). */
static inline void evq_push(struct evq *q, const struct synack_event *ev)
{
    if (q->len == q->cap && !evq_grow(q)) {
        q->dropped++;
        return;
    }
    size_t tail = q->head + q->len;
    if (tail >= q->cap) tail -= q->cap;
    q->buf[tail] = *ev;
    q->len++;
    q->queued++;
}

/* Takes the oldest event into *ev; false when none waits. */
static inline bool evq_pop(struct evq *q, struct synack_event *ev)
{
    if (q->len == 0) return false;
    *ev = q->buf[q->head];
    q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
    q->len--;
    if (q->len == 0 && q->cap > q->first) evq_shrink(q);
    return true;
}

#endif
