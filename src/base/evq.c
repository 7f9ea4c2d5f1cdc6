#include "base/evq.h"

void evq_init(struct evq *q, struct synack_event *storage, size_t cap)
{
    *q = (struct evq){.buf = storage, .cap = cap};
}

void evq_push(struct evq *q, const struct synack_event *ev)
{
    if (q->len == q->cap) {
        q->dropped++;
        return;
    }
    q->buf[(q->head + q->len) % q->cap] = *ev;
    q->len++;
    q->queued++;
}

bool evq_pop(struct evq *q, struct synack_event *ev)
{
    if (q->len == 0) return false;
    *ev = q->buf[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return true;
}
