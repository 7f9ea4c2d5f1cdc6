/* A seeded PCG32 generator (O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014: XSH-RR output on a
 * 64-bit LCG). Deterministic: the same seed and stream give the same numbers. */
#ifndef SYNACK_RAND_H
#define SYNACK_RAND_H

#include <stdint.h>

struct rand_pcg {
    uint64_t state;
    uint64_t inc; /* odd: selects the stream */
};

void rand_seed(struct rand_pcg *r, uint64_t seed, uint64_t stream);
uint32_t rand_u32(struct rand_pcg *r);
uint64_t rand_u64(struct rand_pcg *r);
/* Uniform in [0, bound) without modulo bias; bound 0 returns 0. */
uint32_t rand_below(struct rand_pcg *r, uint32_t bound);
/* Uniform in [0, 1). */
double rand_unit(struct rand_pcg *r);

#endif
