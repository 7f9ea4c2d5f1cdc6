#include "base/ring.h"

#include <string.h>

void ring_init(struct ring *r, uint8_t *storage, size_t cap)
{
    r->buf = storage;
    r->cap = cap;
    r->head = 0;
    r->len = 0;
}

size_t ring_write(struct ring *r, const uint8_t *src, size_t n)
{
    size_t space = ring_space(r);
    if (n > space) n = space;
    if (n == 0) return 0;
    size_t tail = (r->head + r->len) % r->cap;
    size_t first = r->cap - tail;
    if (first > n) first = n;
    memcpy(r->buf + tail, src, first);
    memcpy(r->buf, src + first, n - first);
    r->len += n;
    return n;
}

size_t ring_room_spans(struct ring *r, size_t offset, size_t n, uint8_t **a, size_t *alen,
                       uint8_t **b, size_t *blen)
{
    *a = *b = NULL;
    *alen = *blen = 0;
    size_t space = ring_space(r);
    if (offset >= space) return 0;
    if (n > space - offset) n = space - offset;
    if (n == 0) return 0;
    size_t start = (r->head + r->len + offset) % r->cap;
    size_t first = r->cap - start;
    if (first > n) first = n;
    *a = r->buf + start;
    *alen = first;
    if (n > first) {
        *b = r->buf;
        *blen = n - first;
    }
    return n;
}

void ring_move(struct ring *r, uint8_t *storage, size_t cap)
{
    if (r->cap && r->buf) {
        size_t first = r->cap - r->head;
        memcpy(storage, r->buf + r->head, first);
        memcpy(storage + first, r->buf, r->head);
    }
    r->buf = storage;
    r->cap = cap;
    r->head = 0;
}

size_t ring_peek(const struct ring *r, size_t offset, uint8_t *dst, size_t n)
{
    if (offset >= r->len) return 0;
    if (n > r->len - offset) n = r->len - offset;
    size_t start = (r->head + offset) % r->cap;
    size_t first = r->cap - start;
    if (first > n) first = n;
    memcpy(dst, r->buf + start, first);
    memcpy(dst + first, r->buf, n - first);
    return n;
}

size_t ring_spans(const struct ring *r, size_t offset, size_t n, const uint8_t **a, size_t *alen,
                  const uint8_t **b, size_t *blen)
{
    *a = *b = NULL;
    *alen = *blen = 0;
    if (offset >= r->len) return 0;
    if (n > r->len - offset) n = r->len - offset;
    size_t start = (r->head + offset) % r->cap;
    size_t first = r->cap - start;
    if (first > n) first = n;
    *a = r->buf + start;
    *alen = first;
    if (n > first) {
        *b = r->buf;
        *blen = n - first;
    }
    return n;
}

void ring_consume(struct ring *r, size_t n)
{
    if (n > r->len) n = r->len;
    r->len -= n;
    /* The head only moves forward: bytes written past the tail (ring_write_at) stay put. */
    if (r->cap) r->head = (r->head + n) % r->cap;
}

size_t ring_write_at(struct ring *r, size_t offset, const uint8_t *src, size_t n)
{
    uint8_t *a, *b;
    size_t alen, blen;
    n = ring_room_spans(r, offset, n, &a, &alen, &b, &blen);
    if (alen) memcpy(a, src, alen);
    if (blen) memcpy(b, src + alen, blen);
    return n;
}

void ring_commit(struct ring *r, size_t n)
{
    if (n > ring_space(r)) n = ring_space(r);
    r->len += n;
}

size_t ring_read(struct ring *r, uint8_t *dst, size_t n)
{
    n = ring_peek(r, 0, dst, n);
    ring_consume(r, n);
    return n;
}
