#include "base/rand.h"

#define PCG_MULT 6364136223846793005ull

void rand_seed(struct rand_pcg *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    (void)rand_u32(r);
    r->state += seed;
    (void)rand_u32(r);
}

uint32_t rand_u32(struct rand_pcg *r)
{
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

uint64_t rand_u64(struct rand_pcg *r)
{
    uint64_t hi = rand_u32(r);
    return (hi << 32) | rand_u32(r);
}

uint32_t rand_below(struct rand_pcg *r, uint32_t bound)
{
    if (bound == 0) return 0;
    /* Reject the low values that would make some results more likely than others. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = rand_u32(r);
        if (x >= threshold) return x % bound;
    }
}

double rand_unit(struct rand_pcg *r)
{
    return (double)(rand_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}
