/* The seeded PCG32 generator of synack.h (synack_rng_*); base/rand.h gives it its names
 * inside the core. */
#include <synack/synack.h>

#define PCG_MULT 6364136223846793005ull

void synack_rng_seed(struct synack_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    (void)synack_rng_next_u32(r);
    r->state += seed;
    (void)synack_rng_next_u32(r);
}

uint32_t synack_rng_next_u32(struct synack_rng *r)
{
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

uint64_t synack_rng_next_u64(struct synack_rng *r)
{
    uint64_t hi = synack_rng_next_u32(r);
    return (hi << 32) | synack_rng_next_u32(r);
}

uint32_t synack_rng_below(struct synack_rng *r, uint32_t bound)
{
    if (bound == 0) return 0;
    /* Reject the low values that would make some results more likely than others. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = synack_rng_next_u32(r);
        if (x >= threshold) return x % bound;
    }
}

double synack_rng_unit(struct synack_rng *r)
{
    return (double)(synack_rng_next_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}
