/*
 * `synack demo --svg FILE` and `--html FILE`: the run's graphs and its page, drawn by the
 * same code as `synack trace --svg/--html` (apps/trace_svg.c, apps/trace_html.c) from the
 * run's own packets as the client's interface saw them (what the client sent when it sent
 * it, what reached it when it arrived: a capture on the client's host, so an RTT sample is
 * the round trip the client waits), plus a panel of the client's congestion window and
 * ssthresh from the run's samples.
 */
#ifndef SYNACK_DEMO_GRAPHS_H
#define SYNACK_DEMO_GRAPHS_H

#include <stdbool.h>
#include <stdio.h>

#include "ladder.h"
#include "scenario.h"
#include "trace.h"

#define SSTHRESH_NONE 0x40000000u /* at or above: no ssthresh yet (max window is 1 GiB) */
#define GRAPH_SAMPLES 1000        /* cwnd samples kept for the graphs */

struct demo_graphs {
    struct ladder *L; /* the ladder the observer feeds too */
    struct trace *t;  /* the packets at the client's interface */
    struct synack_addr client;
    FILE *svg, *html; /* opened before the run, so a bad path fails at once */
    const char *svg_path, *html_path;
    bool echo_ladder; /* the ladder goes to stdout too (it was not --quiet) */
    FILE *ladder_f;   /* the ladder's text, for the page */
    char *ladder_text;
    size_t ladder_len;
    struct scenario_sample *samples; /* [GRAPH_SAMPLES] */
};

/* Opens `svg` and `html` (either may be NULL) and readies the record of a run for the
 * scenario `o` and its ladder `L` (already initialised; with `html` its text is kept, and
 * printed too unless L was quiet): sets o's observer and samples. Returns 0, or 1 with one
 * line on stderr (a file that cannot be written, no memory). */
int demo_graphs_open(struct demo_graphs *g, const char *svg, const char *html, struct ladder *L,
                     struct scenario_opts *o);
/* A synack_sim_observer_fn: ctx is the demo_graphs. Feeds the ladder, records the packet. */
void demo_graphs_observe(void *ctx, const struct synack_sim_packet *ev);
/* After the run and ladder_flush: writes the SVG and the page (`title` heads it) with the
 * samples `o` collected and closes the files. Returns 0, or 1 with one line on stderr.
 * demo_graphs_close frees the rest. */
int demo_graphs_write(struct demo_graphs *g, const struct scenario_opts *o,
                      const struct scenario_result *r, const char *title);
/* Closes and frees what demo_graphs_open opened (the samples too: call it after the last
 * use of the scenario's o->samples), unwritten if demo_graphs_write was not called. */
void demo_graphs_close(struct demo_graphs *g);

/* "client: CLOSED -> SYN_SENT -> ...", its error after it. */
void demo_print_states(FILE *f, const char *who, const struct scenario_side *s);

#endif
