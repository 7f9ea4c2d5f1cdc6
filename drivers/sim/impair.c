/* Packet impairment shared by the simulator and the fault wrapper (impair.h). */
#include "sim/impair.h"

void impair_draw(struct synack_rng *r, const struct impair_odds *odds, struct impair_fate *out)
{
    out->lose = synack_rng_unit(r) < odds->loss;
    out->corrupt = synack_rng_unit(r) < odds->corrupt;
    out->bit_draw = synack_rng_next_u32(r);
    out->dup = synack_rng_unit(r) < odds->dup;
    out->reorder = synack_rng_unit(r) < odds->reorder;
    uint64_t x = synack_rng_next_u64(r);
    /* The modulo bias is below 2^-30 for any jitter under a second. */
    out->jitter = odds->jitter == 0 ? 0 : x % (odds->jitter + 1);
}

void impair_flip_bit(uint8_t *pkt, size_t len, uint32_t bit_draw)
{
    /* Multiply-shift maps the draw onto [0, bits) without a variable number of draws. */
    uint64_t bit = ((uint64_t)bit_draw * (uint64_t)(len * 8u)) >> 32;
    pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

synack_time_t impair_serialization_time(size_t len, uint64_t rate_bps)
{
    if (rate_bps == 0) return 0;
    uint64_t bit_ns = (uint64_t)len * 8u * 1000000000u;
    /* Rounded up without the overflow of (bit_ns + rate_bps - 1). */
    return bit_ns / rate_bps + (bit_ns % rate_bps != 0);
}

synack_time_t impair_time_add(synack_time_t a, synack_time_t b)
{
    return a > SYNACK_NEVER - b ? SYNACK_NEVER - 1 : a + b;
}

bool impair_is_probability(double x)
{
    return x >= 0.0 && x <= 1.0; /* false for NaN too */
}

uint64_t impair_stream_seed(uint64_t seed, int index)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (uint64_t)(index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
