/* `synack demo --svg/--html`: the run recorded at the client's interface and drawn by the
 * trace's graph code, with the client's congestion window beside it (demo_graphs.h). */
#include "demo_graphs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void demo_print_states(FILE *f, const char *who, const struct scenario_side *s)
{
    fprintf(f, "%s:", who);
    if (s->nstates == 0) fprintf(f, " (no connection)");
    for (size_t i = 0; i < s->nstates; i++)
        fprintf(f, "%s %s", i ? " ->" : "", synack_state_name(s->states[i]));
    if (s->err) fprintf(f, "  (%s)", synack_strerror(s->err));
    fprintf(f, "\n");
}

/* `path` opened for writing in *f, or 1 with the reason on stderr. */
static int graphs_open_file(FILE **f, const char *path)
{
    *f = NULL;
    if (path == NULL) return 0;
    *f = fopen(path, "w");
    if (*f != NULL) return 0;
    fprintf(stderr, "synack demo: cannot write %s: %s\n", path, strerror(errno));
    return 1;
}

int demo_graphs_open(struct demo_graphs *g, const char *svg, const char *html, struct ladder *L,
                     struct scenario_opts *o)
{
    *g = (struct demo_graphs){.L = L, .svg_path = svg, .html_path = html};
    if (graphs_open_file(&g->svg, svg) || graphs_open_file(&g->html, html)) {
        demo_graphs_close(g);
        return 1;
    }
    g->client = scenario_addr(o->ipv6, false);
    g->samples = calloc(GRAPH_SAMPLES, sizeof(*g->samples));
    if (html != NULL) {
        g->echo_ladder = !L->quiet;
        L->quiet = false;
        g->ladder_f = open_memstream(&g->ladder_text, &g->ladder_len);
        L->out = g->ladder_f;
    }
    if (g->samples == NULL || trace_new(&g->t) != 0 || (html != NULL && g->ladder_f == NULL)) {
        fprintf(stderr, "synack demo: out of memory for the graphs\n");
        demo_graphs_close(g);
        return 1;
    }
    o->observer = demo_graphs_observe;
    o->observer_ctx = g;
    o->samples = g->samples;
    o->samples_cap = GRAPH_SAMPLES;
    return 0;
}

void demo_graphs_observe(void *ctx, const struct synack_sim_packet *ev)
{
    struct demo_graphs *g = ctx;
    ladder_observe(g->L, ev);
    if (ev->kind != SYNACK_SIM_SENT && ev->kind != SYNACK_SIM_DELIVERED) return;
    struct synack_segment s;
    struct synack_segment_extra x;
    if (synack_segment_parse_capture(ev->pkt, ev->len, &s, &x) != SYNACK_DROP_NONE) return;
    /* At the client's interface: what it sends as it sends it, what it receives as it
     * arrives. */
    bool mine = ev->kind == SYNACK_SIM_SENT ? synack_addr_eq(&s.src, &g->client)
                                            : synack_addr_eq(&s.dst, &g->client);
    if (mine) (void)trace_add_ip(g->t, ev->time, ev->pkt, ev->len);
}

/* The cwnd panel's two lines from the samples: cwnd, and ssthresh once there is one. */
static void graphs_cwnd_panel(const struct scenario_opts *o, const struct scenario_result *r,
                              struct trace_point *cwnd, struct trace_point *ssthresh,
                              struct trace_panel *p)
{
    size_t nss = 0;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct scenario_sample *s = &o->samples[i];
        cwnd[i] = (struct trace_point){.t = s->t, .v = s->cwnd};
        if (s->ssthresh < SSTHRESH_NONE)
            ssthresh[nss++] = (struct trace_point){.t = s->t, .v = s->ssthresh};
    }
    *p = (struct trace_panel){
        .id = "panel-cwnd",
        .title = "the client's congestion window and slow-start threshold",
        .unit = "bytes",
        .lines = {{"cwnd", "blue", cwnd, r->nsamples}, {"ssthresh", "red", ssthresh, nss}},
        .nlines = 2,
    };
}

/* The graphs of the run's one connection, to `f`. */
static int graphs_draw(const struct demo_graphs *g, const struct scenario_opts *o,
                       const struct scenario_result *r, bool xml_header, FILE *f)
{
    if (g->t->nconns == 0) return SYNACK_ERR_INVAL;
    struct trace_point cwnd[GRAPH_SAMPLES], ssthresh[GRAPH_SAMPLES];
    struct trace_panel p;
    graphs_cwnd_panel(o, r, cwnd, ssthresh, &p);
    return trace_write_graphs(g->t, 0, &p, 1, xml_header, f);
}

static int graphs_page(const struct demo_graphs *g, const struct scenario_opts *o,
                       const struct scenario_result *r, const char *title)
{
    FILE *f = g->html;
    trace_html_begin(title, f);
    trace_html_pre("ladder", "the ladder", g->ladder_text ? g->ladder_text : "", g->ladder_len, f);
    char *states = NULL;
    size_t len = 0;
    FILE *s = open_memstream(&states, &len);
    if (s == NULL) return SYNACK_ERR_NOMEM;
    demo_print_states(s, "client", &r->client);
    demo_print_states(s, "server", &r->server);
    if (fclose(s) != 0) return SYNACK_ERR_NOMEM;
    trace_html_pre("states", "the states of both ends", states, len, f);
    free(states);
    fputs("<section id=\"graphs\">\n<h2>graphs</h2>\n", f);
    int rc = graphs_draw(g, o, r, false, f);
    if (rc != 0) return rc;
    fputs("</section>\n", f);
    return trace_html_end(f);
}

/* Closes `*f` after writing it with result `rc`: 0, or 1 with one line on stderr. */
static int graphs_finish(FILE **f, const char *path, int rc)
{
    if (*f == NULL) return 0;
    bool closed = fclose(*f) == 0;
    *f = NULL;
    if (rc == 0 && closed) return 0;
    fprintf(stderr, "synack demo: could not write %s: %s\n", path,
            rc == SYNACK_ERR_INVAL ? "the run has no TCP connection to draw"
            : rc != 0              ? synack_strerror(rc)
                                   : strerror(errno));
    return 1;
}

int demo_graphs_write(struct demo_graphs *g, const struct scenario_opts *o,
                      const struct scenario_result *r, const char *title)
{
    if (g->ladder_f != NULL) {
        fclose(g->ladder_f);
        g->ladder_f = NULL;
        g->L->out = stdout;
        if (g->echo_ladder && g->ladder_text) fwrite(g->ladder_text, 1, g->ladder_len, stdout);
    }
    int status = 0;
    if (g->svg != NULL)
        status |= graphs_finish(&g->svg, g->svg_path, graphs_draw(g, o, r, true, g->svg));
    if (g->html != NULL)
        status |= graphs_finish(&g->html, g->html_path, graphs_page(g, o, r, title));
    return status;
}

void demo_graphs_close(struct demo_graphs *g)
{
    if (g->ladder_f != NULL) {
        fclose(g->ladder_f);
        g->L->out = stdout;
    }
    if (g->svg != NULL) fclose(g->svg);
    if (g->html != NULL) fclose(g->html);
    free(g->ladder_text);
    free(g->samples);
    trace_free(g->t);
    *g = (struct demo_graphs){0};
}
