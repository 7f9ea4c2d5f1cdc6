/* A byte ring over storage the caller gives (STYLE rule 9: memory is explicit). The
 * storage may come later than the size: a ring of `cap` bytes whose `buf` is still NULL
 * holds nothing and has all its room, and must be given storage before anything is
 * written to it (ring_len and ring_space read only the counts). */
#ifndef SYNACK_RING_H
#define SYNACK_RING_H

#include <stddef.h>
#include <stdint.h>

/* The counts are 32 bits (a TCB holds two rings: docs/PERFORMANCE.md, idle connections):
 * a ring holds at most RING_MAX bytes, so head + len never overflows them. */
#define RING_MAX ((size_t)1 << 31)
struct ring {
    uint8_t *buf;
    uint32_t cap;  /* bytes of storage, at most RING_MAX */
    uint32_t head; /* index of the oldest byte; invariant head < cap (or 0 when cap is 0) */
    uint32_t len;  /* bytes held; invariant len <= cap */
};

/* `cap` is at most RING_MAX (the caller's limits keep it there: TCP_MAX_BUF for TCP's
 * buffers, the configuration's checks for UDP's). */
void ring_init(struct ring *r, uint8_t *storage, size_t cap);
static inline size_t ring_len(const struct ring *r)
{
    return r->len;
}
static inline size_t ring_space(const struct ring *r)
{
    return r->cap - r->len;
}
/* Appends up to n bytes; returns how many fit. */
size_t ring_write(struct ring *r, const uint8_t *src, size_t n);
/* Copies up to n bytes starting `offset` bytes after the oldest, without consuming.
 * Returns how many were copied (0 when offset >= len). */
size_t ring_peek(const struct ring *r, size_t offset, uint8_t *dst, size_t n);
/* The up to n bytes starting `offset` bytes after the oldest, in place: *a (alen bytes) then,
 * where they wrap past the end of the storage, *b (blen bytes; 0 and NULL when they do not).
 * Returns alen + blen (0 when offset >= len). For a caller that copies them once, straight
 * to where they go, instead of through ring_peek's copy. */
size_t ring_spans(const struct ring *r, size_t offset, size_t n, const uint8_t **a, size_t *alen,
                  const uint8_t **b, size_t *blen);
/* Moves the ring into `storage` of `cap` bytes (at least r->cap): every byte of the old
 * storage, from the oldest on, keeps its offset from the oldest, so data written past the
 * tail with ring_write_at (out of order, not yet readable) moves with what is readable.
 * The caller frees the old storage (r->buf before the call) if it owns it. */
void ring_move(struct ring *r, uint8_t *storage, size_t cap);
/* The free room past the tail, in place, as ring_spans names what is held: up to n bytes
 * from `offset` bytes past the tail, *a then *b where the room wraps. Returns alen + blen.
 * For a caller that writes there and then ring_commit()s, instead of ring_write's copy. */
size_t ring_room_spans(struct ring *r, size_t offset, size_t n, uint8_t **a, size_t *alen,
                       uint8_t **b, size_t *blen);
/* Drops the n oldest bytes (n is clamped to len). */
void ring_consume(struct ring *r, size_t n);
/* Copies up to n bytes into the free space `offset` bytes past the tail without making
 * them readable (out-of-order data); returns how many fit. */
size_t ring_write_at(struct ring *r, size_t offset, const uint8_t *src, size_t n);
/* Makes the next n bytes past the tail readable (written before with ring_write_at). */
void ring_commit(struct ring *r, size_t n);
/* ring_peek + ring_consume. */
size_t ring_read(struct ring *r, uint8_t *dst, size_t n);

#endif
