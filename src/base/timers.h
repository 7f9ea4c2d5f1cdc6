/* The deadline structure: an indexed binary min-heap of timer nodes embedded in their
 * owners. The earliest deadline is read in O(1) and a node moves in O(log n), so the cost
 * of asking "what is next?" does not grow with the number of connections. */
#ifndef SYNACK_TIMERS_H
#define SYNACK_TIMERS_H

#include <stddef.h>
#include <stdint.h>

#define TIMERS_NONE SIZE_MAX
#define TIMERS_NEVER UINT64_MAX

struct timer_node {
    uint64_t at; /* the owner's earliest deadline */
    size_t idx;  /* position in the heap, TIMERS_NONE when not in it */
};

struct timers {
    struct timer_node **heap; /* storage given at init */
    size_t len, cap;
};

void timers_init(struct timers *t, struct timer_node **storage, size_t cap);
static inline void timer_node_init(struct timer_node *n)
{
    n->at = TIMERS_NEVER;
    n->idx = TIMERS_NONE;
}
/* Sets node's deadline: inserts, moves, or (at == TIMERS_NEVER) removes it. Never fails
 * as long as the heap's capacity covers every node that can be armed at once. */
void timers_set(struct timers *t, struct timer_node *n, uint64_t at);
static inline uint64_t timers_next(const struct timers *t)
{
    return t->len ? t->heap[0]->at : TIMERS_NEVER;
}
/* The node with the earliest deadline if it is due at `now`, else NULL. */
static inline struct timer_node *timers_due(const struct timers *t, uint64_t now)
{
    return t->len && t->heap[0]->at <= now ? t->heap[0] : NULL;
}

#endif
