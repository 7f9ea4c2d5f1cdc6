/* The event queue: a bounded ring of synack_events over storage the caller gives. The stack
 * owns one and hands its events out (synack_stack_next_event); the engines below it (tcp/)
 * push into it through their environment. Inline: a push or a pop is a few instructions,
 * on the path of many segments. */
#ifndef SYNACK_EVQ_H
#define SYNACK_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

struct evq {
    struct synack_event *buf; /* `cap` slots */
    size_t cap;
    size_t head;      /* the oldest event; invariant head < cap (or 0 when cap is 0) */
    size_t len;       /* events held; invariant len <= cap */
    uint64_t queued;  /* events ever queued (not those dropped): monotonic */
    uint64_t dropped; /* events lost because the queue was full */
};

static inline void evq_init(struct evq *q, struct synack_event *storage, size_t cap)
{
    *q = (struct evq){.buf = storage, .cap = cap};
}

/* Appends a copy of `ev`, or counts it in `dropped` when the queue is full. */
static inline void evq_push(struct evq *q, const struct synack_event *ev)
{
    if (q->len == q->cap) {
        q->dropped++;
        return;
    }
    q->buf[(q->head + q->len) % q->cap] = *ev;
    q->len++;
    q->queued++;
}

/* Takes the oldest event into *ev; false when none waits. */
static inline bool evq_pop(struct evq *q, struct synack_event *ev)
{
    if (q->len == 0) return false;
    *ev = q->buf[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return true;
}

#endif
