/* What the benches share: the monotonic clock in nanoseconds, dying with a message, and
 * draining a stack's events. */
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

#endif
