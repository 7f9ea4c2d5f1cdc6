/*
 * The progress line of a long run: one line on stderr, rewritten in place with \r, that
 * says how far a transfer has got (bytes done of the total, percent, simulated time, the
 * rate in real time). Shown only when stderr is a terminal and the output is for a
 * person (not --quiet, not --json); at most PROGRESS_HZ updates a second; erased before
 * the run's own output is printed. The wall clock is read here, in tools/, never in the
 * core or the harness: they only report how far they got.
 */
#ifndef SYNACK_PROGRESS_H
#define SYNACK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define PROGRESS_HZ 10

struct progress {
    FILE *out;             /* stderr, or NULL: nothing is shown */
    struct timespec start; /* when the run began */
    struct timespec last;  /* of the last update shown */
    size_t width;          /* of the line on the terminal: what the eraser covers */
    bool shown;            /* a line is on the terminal */
};

/* Starts the clock. Shows nothing unless `wanted` and stderr is a terminal. */
void progress_init(struct progress *p, bool wanted);

/* `done` of `total` bytes (total 0: unknown) at simulated time `sim_ns` (0: none). At
 * most PROGRESS_HZ calls a second draw the line; the others return at once. */
void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t sim_ns);

/* Erases the line, leaving the cursor at the start of an empty line. */
void progress_end(struct progress *p);

/* A scenario_opts.on_progress: ctx is a struct progress. */
void progress_scenario(void *ctx, uint64_t done, uint64_t total, uint64_t sim_ns);

#endif
