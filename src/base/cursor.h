/*
 * Bounds-checked cursors over byte buffers: every read or write checks the remaining length
 * first and reports failure instead of touching memory past the end. Parsers read wire
 * bytes only through `struct cursor`; emitters may write through `struct wcursor`.
 *
 * A failed call moves nothing: the cursor stays where it was and the output is untouched.
 * A write cursor also remembers that a write failed (`overflow`), so an emitter can make a
 * run of writes and check once at the end.
 * Multi-byte values are big-endian (network byte order, RFC 791 Appendix B).
 */
#ifndef SYNACK_CURSOR_H
#define SYNACK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- reading ---------------------------------------------------------------------------- */

struct cursor {
    const uint8_t *p; /* start of the buffer */
    size_t len;       /* bytes in the buffer */
    size_t pos;       /* next byte to read; invariant: pos <= len */
};

static inline struct cursor cursor_make(const uint8_t *p, size_t len)
{
    struct cursor c = {p, len, 0};
    return c;
}

static inline size_t cursor_remaining(const struct cursor *c)
{
    return c->len - c->pos;
}

/* The next unread byte (valid to read only if cursor_remaining() > 0). */
static inline const uint8_t *cursor_ptr(const struct cursor *c)
{
    return c->p + c->pos;
}

static inline bool cursor_skip(struct cursor *c, size_t n)
{
    if (n > cursor_remaining(c)) return false;
    c->pos += n;
    return true;
}

static inline bool cursor_read_u8(struct cursor *c, uint8_t *v)
{
    if (cursor_remaining(c) < 1) return false;
    *v = c->p[c->pos];
    c->pos += 1;
    return true;
}

static inline bool cursor_read_u16be(struct cursor *c, uint16_t *v)
{
    if (cursor_remaining(c) < 2) return false;
    const uint8_t *b = c->p + c->pos;
    *v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
    c->pos += 2;
    return true;
}

static inline bool cursor_read_u32be(struct cursor *c, uint32_t *v)
{
    if (cursor_remaining(c) < 4) return false;
    const uint8_t *b = c->p + c->pos;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    c->pos += 4;
    return true;
}

/* Copies the next `n` bytes into `out`. */
static inline bool cursor_read_bytes(struct cursor *c, void *out, size_t n)
{
    if (n > cursor_remaining(c)) return false;
    if (n > 0) memcpy(out, c->p + c->pos, n);
    c->pos += n;
    return true;
}

/* A sub-cursor over the next `n` bytes, which this cursor skips. */
static inline bool cursor_split(struct cursor *c, size_t n, struct cursor *sub)
{
    if (n > cursor_remaining(c)) return false;
    *sub = cursor_make(c->p + c->pos, n);
    c->pos += n;
    return true;
}

/* ---- writing ---------------------------------------------------------------------------- */

struct wcursor {
    uint8_t *p;    /* start of the buffer */
    size_t cap;    /* bytes available */
    size_t pos;    /* next byte to write; invariant: pos <= cap */
    bool overflow; /* a write did not fit (and wrote nothing) */
};

static inline struct wcursor wcursor_make(uint8_t *p, size_t cap)
{
    struct wcursor w = {p, cap, 0, false};
    return w;
}

static inline size_t wcursor_remaining(const struct wcursor *w)
{
    return w->cap - w->pos;
}

static inline bool wcursor_fail(struct wcursor *w)
{
    w->overflow = true;
    return false;
}

static inline bool wcursor_write_u8(struct wcursor *w, uint8_t v)
{
    if (wcursor_remaining(w) < 1) return wcursor_fail(w);
    w->p[w->pos] = v;
    w->pos += 1;
    return true;
}

static inline bool wcursor_write_u16be(struct wcursor *w, uint16_t v)
{
    if (wcursor_remaining(w) < 2) return wcursor_fail(w);
    w->p[w->pos] = (uint8_t)(v >> 8);
    w->p[w->pos + 1] = (uint8_t)v;
    w->pos += 2;
    return true;
}

static inline bool wcursor_write_u32be(struct wcursor *w, uint32_t v)
{
    if (wcursor_remaining(w) < 4) return wcursor_fail(w);
    w->p[w->pos] = (uint8_t)(v >> 24);
    w->p[w->pos + 1] = (uint8_t)(v >> 16);
    w->p[w->pos + 2] = (uint8_t)(v >> 8);
    w->p[w->pos + 3] = (uint8_t)v;
    w->pos += 4;
    return true;
}

static inline bool wcursor_write_bytes(struct wcursor *w, const void *src, size_t n)
{
    if (n > wcursor_remaining(w)) return wcursor_fail(w);
    if (n > 0) memcpy(w->p + w->pos, src, n);
    w->pos += n;
    return true;
}

#endif
