#include "base/evq.h"

#include <string.h>

#include "base/alloc.h"

int evq_init(struct evq *q, const struct synack_config *cfg, size_t first, size_t max)
{
    if (first > max) first = max;
    *q = (struct evq){.cfg = cfg, .first = first, .max = max, .cap = first};
    q->buf = alloc_mem(cfg, q->cap * sizeof *q->buf);
    if (!q->buf) {
        q->cap = 0;
        return SYNACK_ERR_NOMEM;
    }
    return 0;
}

void evq_free(struct evq *q)
{
    alloc_free(q->cfg, q->buf);
    q->buf = NULL;
    q->cap = q->head = q->len = 0;
}

bool evq_grow(struct evq *q)
{
    if (q->cap >= q->max) return false;
    size_t cap = q->cap ? 2 * q->cap : 16;
    if (cap > q->max) cap = q->max;
    struct synack_event *buf = alloc_mem(q->cfg, cap * sizeof *buf);
    if (!buf) {
        q->nomem++;
        return false;
    }
    /* The events in order from the oldest: the part up to the end, then the wrapped part. */
    size_t first = q->cap - q->head < q->len ? q->cap - q->head : q->len;
    if (first) memcpy(buf, q->buf + q->head, first * sizeof *buf);
    if (q->len > first) memcpy(buf + first, q->buf, (q->len - first) * sizeof *buf);
    alloc_free(q->cfg, q->buf);
    q->buf = buf;
    q->cap = cap;
    q->head = 0;
    return true;
}

void evq_shrink(struct evq *q)
{
    struct synack_event *buf = alloc_mem(q->cfg, q->first * sizeof *buf);
    if (!buf) return;
    alloc_free(q->cfg, q->buf);
    q->buf = buf;
    q->cap = q->first;
    q->head = 0;
}
