/* The event queue: a bounded ring of synack_events over storage the caller gives. The stack
 * owns one and hands its events out (synack_stack_next_event); the engines below it (tcp/)
 * push into it through their environment. */
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

void evq_init(struct evq *q, struct synack_event *storage, size_t cap);
/* Appends a copy of `ev`, or counts it in `dropped` when the queue is full. */
void evq_push(struct evq *q, const struct synack_event *ev);
/* Takes the oldest event into *ev; false when none waits. */
bool evq_pop(struct evq *q, struct synack_event *ev);

#endif
