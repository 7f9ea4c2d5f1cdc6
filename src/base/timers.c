#include "base/timers.h"

void timers_init(struct timers *t, struct timer_node **storage, size_t cap)
{
    t->heap = storage;
    t->len = 0;
    t->cap = cap;
}

static void timers_place(struct timers *t, size_t i, struct timer_node *n)
{
    t->heap[i] = n;
    n->idx = i;
}

static void timers_sift_up(struct timers *t, size_t i)
{
    struct timer_node *n = t->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->heap[parent]->at <= n->at) break;
        timers_place(t, i, t->heap[parent]);
        i = parent;
    }
    timers_place(t, i, n);
}

static void timers_sift_down(struct timers *t, size_t i)
{
    struct timer_node *n = t->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= t->len) break;
        if (child + 1 < t->len && t->heap[child + 1]->at < t->heap[child]->at) child++;
        if (n->at <= t->heap[child]->at) break;
        timers_place(t, i, t->heap[child]);
        i = child;
    }
    timers_place(t, i, n);
}

static void timers_remove(struct timers *t, struct timer_node *n)
{
    size_t i = n->idx;
    struct timer_node *last = t->heap[--t->len];
    n->idx = TIMERS_NONE;
    if (last == n) return;
    timers_place(t, i, last);
    timers_sift_up(t, i);
    timers_sift_down(t, last->idx);
}

void timers_set(struct timers *t, struct timer_node *n, uint64_t at)
{
    if (at == TIMERS_NEVER) {
        if (n->idx != TIMERS_NONE) timers_remove(t, n);
        n->at = at;
        return;
    }
    if (n->idx == TIMERS_NONE) {
        if (t->len == t->cap) return; /* cannot happen: capacity is sized to every owner */
        n->at = at;
        timers_place(t, t->len++, n);
        timers_sift_up(t, n->idx);
        return;
    }
    uint64_t old = n->at;
    n->at = at;
    if (at < old)
        timers_sift_up(t, n->idx);
    else if (at > old)
        timers_sift_down(t, n->idx);
}
