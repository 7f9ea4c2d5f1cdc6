/* A seeded PCG32 generator under the core's names: the public synack_rng (synack.h, where
 * its contract is), implemented in base/rand.c. Deterministic: the same seed and stream give
 * the same numbers. */
#ifndef SYNACK_RAND_H
#define SYNACK_RAND_H

#include <stdint.h>

#include <synack/synack.h>

struct rand_pcg {
    struct synack_rng rng;
};

static inline void rand_seed(struct rand_pcg *r, uint64_t seed, uint64_t stream)
{
    synack_rng_seed(&r->rng, seed, stream);
}
static inline uint32_t rand_u32(struct rand_pcg *r)
{
    return synack_rng_next_u32(&r->rng);
}
static inline uint64_t rand_u64(struct rand_pcg *r)
{
    return synack_rng_next_u64(&r->rng);
}
/* Uniform in [0, bound) without modulo bias; bound 0 returns 0. */
static inline uint32_t rand_below(struct rand_pcg *r, uint32_t bound)
{
    return synack_rng_below(&r->rng, bound);
}
/* Uniform in [0, 1). */
static inline double rand_unit(struct rand_pcg *r)
{
    return synack_rng_unit(&r->rng);
}

#endif
