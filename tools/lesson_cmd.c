#include "lesson_cmd.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ladder.h"
#include "lesson.h"

static void list_lessons(FILE *f, enum lesson_lang lang)
{
    for (size_t i = 0; i < lesson_count(); i++) {
        const struct lesson *l = lesson_at(i);
        fprintf(f, "  %-20s %s\n", l->name, l->title[lang]);
    }
}

static void print_states(const char *who, const struct scenario_side *s)
{
    printf("%s:", who);
    if (s->nstates == 0) printf(" (no connection)");
    for (size_t i = 0; i < s->nstates; i++)
        printf("%s %s", i ? " ->" : "", synack_state_name(s->states[i]));
    if (s->err) printf("  (%s)", synack_strerror(s->err));
    printf("\n");
}

/* One act: its ladder, each side's states, what the links did. */
static int run_act(const struct lesson *l, size_t act, enum lesson_lang lang, bool quiet, bool ipv6,
                   const char *pcap)
{
    struct scenario_opts o;
    lesson_setup(l, act, &o);
    o.ipv6 = ipv6;
    o.pcap = pcap;
    struct scenario_sample samples[LESSON_SAMPLES];
    if (l->cwnd_plot) {
        o.samples = samples;
        o.samples_cap = LESSON_SAMPLES;
    }
    struct ladder L;
    ladder_init(&L, quiet || l->cwnd_plot, ipv6);
    o.observer = ladder_observe;
    o.observer_ctx = &L;
    o.on_state = ladder_state;
    o.state_ctx = &L;
    if (l->acts[act].caption[lang][0]) printf("%s\n\n", l->acts[act].caption[lang]);
    struct scenario_result r;
    char err[256];
    if (scenario_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    ladder_flush(&L);
    if (l->cwnd_plot) print_cwnd_view(&o, &r);
    printf("\n");
    print_states("client", &r.client);
    print_states("server", &r.server);
    printf("%llu segments, %llu lost on the links, %llu retransmitted; %.3f s of simulated "
           "time\n\n",
           (unsigned long long)r.segments, (unsigned long long)r.lost,
           (unsigned long long)r.retransmissions, (double)r.sim_time / 1e9);
    return 0;
}

int demo_lesson(const char *name, const char *lang_name, bool quiet, bool ipv6, const char *pcap)
{
    enum lesson_lang lang = LESSON_EN;
    if (lang_name && lesson_lang_parse(lang_name, &lang) < 0)
        return cli_fail("demo", "--lang wants en or zh, not '%s'", lang_name);
    if (strcmp(name, "list") == 0) {
        printf("synack demo --scenario NAME, NAME one of:\n");
        list_lessons(stdout, lang);
        return 0;
    }
    const struct lesson *l = lesson_find(name);
    if (!l) {
        fprintf(stderr, "synack demo: no scenario '%s'; the scenarios are:\n", name);
        list_lessons(stderr, lang);
        return 2;
    }
    if (pcap && l->nacts > 1) {
        fprintf(stderr,
                "synack demo: --pcap with '%s', which has %zu runs: the file holds the "
                "last\n",
                name, l->nacts);
    }
    printf("%s: %s\n\n", l->name, l->title[lang]);
    for (size_t act = 0; act < l->nacts; act++) {
        int rc = run_act(l, act, lang, quiet, ipv6, pcap);
        if (rc) return rc;
    }
    fputs(l->explain[lang], stdout);
    if (!quiet && !l->cwnd_plot) ladder_legend();
    return 0;
}
