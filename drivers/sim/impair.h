/* What the network simulator (sim.c) and the fault wrapper (fault/fault.c) share about
 * impairing a packet: the per-packet draw of its fate from a PCG stream, the bit flip of
 * corruption, serialization time at a rate, and the derivation of one stream's seed.
 *
 * The draw order here is part of every seeded run's output (the simulator's golden tests
 * and pcaps depend on it): changing it changes every schedule. */
#ifndef SYNACK_DRIVERS_IMPAIR_H
#define SYNACK_DRIVERS_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack/synack.h"

/* The odds one packet faces. Probabilities in [0, 1]; jitter is the upper bound of a
 * uniform extra delay (0: none). */
struct impair_odds {
    double loss, corrupt, dup, reorder;
    synack_time_t jitter;
};

/* The fate drawn for one packet. */
struct impair_fate {
    bool lose, corrupt, dup, reorder;
    uint32_t bit_draw;    /* which bit a corruption flips (see impair_flip_bit) */
    synack_time_t jitter; /* in [0, odds.jitter] */
};

/* Draws the fate of one packet: always the same draws in the same order (loss, corrupt,
 * bit, dup, reorder, jitter) whatever the odds, so that one impairment's setting does
 * not shift another's random sequence. */
void impair_draw(struct synack_rng *r, const struct impair_odds *odds, struct impair_fate *out);

/* Flips the bit of `pkt` (`len` > 0 bytes) that `bit_draw` selects, uniformly over the
 * packet's len * 8 bits (multiply-shift, so no further draw is needed). */
void impair_flip_bit(uint8_t *pkt, size_t len, uint32_t bit_draw);

/* Nanoseconds a link of `rate_bps` bits per second is busy with `len` bytes, rounded up;
 * 0 when rate_bps is 0 (infinitely fast). */
synack_time_t impair_serialization_time(size_t len, uint64_t rate_bps);

/* a + b, saturating just below SYNACK_NEVER (so a real time never becomes "never"). */
synack_time_t impair_time_add(synack_time_t a, synack_time_t b);

/* x in [0, 1]; false for NaN. */
bool impair_is_probability(double x);

/* The seed of stream `index` derived from `seed` (SplitMix64 finalizer over seed and
 * index), so every stream starts from an unrelated state, not just another increment. */
uint64_t impair_stream_seed(uint64_t seed, int index);

#endif
