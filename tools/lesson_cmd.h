/* `synack demo --scenario NAME`: the lessons of tests/harness/lesson.c, told. */
#ifndef SYNACK_LESSON_CMD_H
#define SYNACK_LESSON_CMD_H

#include <stdbool.h>

#include "attack.h"
#include "scenario.h"

/* Runs lesson `name` ("list": lists them) and prints each act's ladder, the states and the
 * explanation in `lang` ("en", "zh"; NULL: English). Returns the exit status: 0, 1 when a
 * run could not be set up, 2 for an unknown name or language. */
int demo_lesson(const char *name, const char *lang, bool quiet, bool ipv6, const char *pcap);

/* The client's cwnd over time (demo.c): o->samples holds r->nsamples of them. */
void print_cwnd_view(const struct scenario_opts *o, const struct scenario_result *r);

/* One SYN flood's outcome (attack_cmd.c); `wall` < 0 leaves out the wall-clock line. */
void print_flood(const struct flood_opts *o, const struct flood_result *r, double wall);

#endif
