/* `synack demo --scenario NAME`: the lessons of tests/harness/lesson.c, told. */
#ifndef SYNACK_LESSON_CMD_H
#define SYNACK_LESSON_CMD_H

#include <stdbool.h>

#include "attack.h"
#include "scenario.h"

/* What a lesson prints and writes besides its story. */
struct lesson_output {
    bool quiet;       /* no ladder */
    bool ipv6;        /* the ends speak IPv6 */
    const char *pcap; /* --pcap: every packet of the (last) run, or NULL */
    const char *svg;  /* --svg: the graphs of the last TCP run, or NULL */
    const char *html; /* --html: its page, or NULL */
};

/* Runs lesson `name` ("list": lists them) and prints each act's ladder, the states and the
 * explanation in `lang` ("en", "zh"; NULL: English). Returns the exit status: 0, 1 when a
 * run could not be set up or a file not written, 2 for an unknown name or language. */
int demo_lesson(const char *name, const char *lang, const struct lesson_output *out);

/* The client's cwnd over time (demo.c): o->samples holds r->nsamples of them. */
void print_cwnd_view(const struct scenario_opts *o, const struct scenario_result *r);

/* One SYN flood's outcome (attack_cmd.c); `wall` < 0 leaves out the wall-clock line. */
void print_flood(const struct flood_opts *o, const struct flood_result *r, double wall);

#endif
