/* What the benches share: the monotonic clock in nanoseconds, dying with a message, draining
 * a stack's events, and handing one stack's packets to another. */
#ifndef SYNACK_BENCH_UTIL_H
#define SYNACK_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/synack.h>

static inline synack_time_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000ull + (synack_time_t)ts.tv_nsec;
}

/* "PROG: WHAT: REASON" and exit 1: REASON is synack's for rc < 0, errno's otherwise. */
static inline void bench_die(const char *prog, const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, rc < 0 ? synack_strerror(rc) : strerror(errno));
    exit(1);
}

/* Takes every event the stack holds (a bench that reads its connections directly). */
static inline void drain_events(struct synack_stack *s)
{
    struct synack_event ev;
    while (synack_stack_next_event(s, &ev) == 0) {
    }
}

/* Every packet `from` has to send, into `to`, as an in-memory link that takes `tx`
 * (SYNACK_TX_* bits; 0 for whole packets) would carry it; true if any moved. What the sender
 * left partial, memory carries unchanged: vouched for, as the multi-queue wire and a TUN
 * device's kernel vouch. */
static inline int bench_hand_over(struct synack_stack *from, struct synack_stack *to, uint8_t *pkt,
                                  size_t cap, unsigned tx, synack_time_t now)
{
    int moved = 0;
    synack_ssize n;
    struct synack_tx_meta meta;
    while ((n = synack_stack_output_offload(from, pkt, cap, tx, &meta, now)) > 0) {
        synack_stack_input_flags(to, pkt, (size_t)n,
                                 meta.csum_partial ? SYNACK_INPUT_CSUM_VERIFIED : 0, now);
        moved = 1;
    }
    return moved;
}

#endif
