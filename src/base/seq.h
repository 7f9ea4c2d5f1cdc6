/* Wrapping 32-bit sequence-number arithmetic (RFC 9293 §3.4: all comparisons modulo 2^32). */
#ifndef SYNACK_SEQ_H
#define SYNACK_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/synack.h>

/* a < b in sequence space: the public synack_seq_* (synack.h) under the core's names. */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return synack_seq_lt(a, b);
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
    return synack_seq_leq(a, b);
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return synack_seq_gt(a, b);
}
static inline bool seq_geq(uint32_t a, uint32_t b)
{
    return synack_seq_geq(a, b);
}
/* lo <= x < hi */
static inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
    return seq_leq(lo, x) && seq_lt(x, hi);
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
    return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

#endif
