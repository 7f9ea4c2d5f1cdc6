/* `synack trace --svg`: the graphs of one connection as stacked panels sharing one time
 * axis. First the time-sequence graph (W. R. Stevens, TCP/IP Illustrated; tcptrace): time
 * across, sequence numbers up, each data segment a vertical bar from its first to its last
 * byte (retransmissions red), the receiver's ACK line (green) stepping up under it and its
 * advertised window's right edge (orange) above; SACK blocks are purple bars. Under it the
 * throughput acknowledged, the RTT samples and the bytes in flight (trace_series.c), then
 * any panel the caller adds (the demo's congestion window). One self-contained SVG. */
#include <stdlib.h>

#include "trace.h"

#define SVG_W 960.0
#define SVG_LEFT 90.0
#define SVG_RIGHT 30.0
#define SVG_HEAD 80.0     /* the title, the partial mark and the first panel's title */
#define SVG_GAP 62.0      /* between panels: the time labels under one, the next's title */
#define SVG_TSG_H 320.0   /* the time-sequence panel */
#define SVG_PANEL_H 150.0 /* each other panel */
#define SVG_FOOT 50.0     /* under the last panel: its time labels and the axis name */
#define SVG_MAX_DOTS 5000 /* more samples than this: per pixel column, the lowest and highest */

/* The time axis every panel shares. */
struct svg_time {
    double t0, t1; /* seconds across */
};

/* One panel: where it stands and the values its height spans. */
struct svg_panel {
    double top, h;
    double v0, v1;
    double scale; /* a value is drawn divided by this (bit/s shown as Mbit/s: 1e6) */
};

static double svg_x(const struct svg_time *k, synack_time_t t)
{
    double span = k->t1 - k->t0 > 0 ? k->t1 - k->t0 : 1e-9;
    double x = SVG_LEFT + ((double)t / 1e9 - k->t0) / span * (SVG_W - SVG_LEFT - SVG_RIGHT);
    /* Every time drawn lies in [t0, t1] (graph_time); held to the plot all the same, as the
     * pixel columns are this cast to an integer. */
    return x < SVG_LEFT ? SVG_LEFT : x > SVG_W - SVG_RIGHT ? SVG_W - SVG_RIGHT : x;
}

static double svg_y(const struct svg_panel *p, double v)
{
    double span = p->v1 - p->v0 > 0 ? p->v1 - p->v0 : 1;
    return p->top + p->h - (v - p->v0) / span * p->h;
}

/* The panel's frame: axes, five labelled ticks each way, its title and the axis names. */
static void svg_frame(const struct svg_time *k, const struct svg_panel *p, const char *title,
                      const char *unit, FILE *out)
{
    double bottom = p->top + p->h, right = SVG_W - SVG_RIGHT;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\">%s</text>\n", SVG_LEFT, p->top - 10,
            title);
    fprintf(out,
            "<path d=\"M%.1f %.1f V%.1f H%.1f\" fill=\"none\" stroke=\"black\"/>\n"
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#ccc\"/>\n",
            SVG_LEFT, p->top, bottom, right, SVG_LEFT, p->top, right - SVG_LEFT, p->h);
    for (int i = 0; i <= 4; i++) {
        double x = SVG_LEFT + (right - SVG_LEFT) * i / 4;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.6f</text>\n", x,
                bottom + 16, k->t0 + (k->t1 - k->t0) * i / 4);
        double v = p->v0 + (p->v1 - p->v0) * i / 4;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", SVG_LEFT - 6,
                svg_y(p, v) + 4, p->v1 / p->scale < 10 ? 2 : 0, v / p->scale);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time (s)</text>\n",
            (SVG_W + SVG_LEFT) / 2, bottom + 32);
    double mid = p->top + p->h / 2;
    fprintf(out,
            "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" "
            "text-anchor=\"middle\">%s</text>\n",
            mid, mid, unit);
}

/* The top of a panel's value range: the largest of its points, a tenth above it. */
static double svg_top(const struct trace_point *pts, size_t n)
{
    double top = 0;
    for (size_t i = 0; i < n; i++)
        if (pts[i].v > top) top = pts[i].v;
    return top > 0 ? top * 1.1 : 1;
}

/* The points as a step line (a value holds until the next), at most a few points per pixel
 * column: its first, lowest, highest and last value. */
static void svg_steps(const struct svg_time *k, const struct svg_panel *p,
                      const struct trace_point *pts, size_t n, const char *colour, FILE *out)
{
    if (n == 0) return;
    fprintf(out, "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" points=\"", colour);
    double prev_y = svg_y(p, pts[0].v);
    for (size_t i = 0; i < n;) {
        long col = (long)svg_x(k, pts[i].t);
        double x = svg_x(k, pts[i].t), lo = pts[i].v, hi = pts[i].v;
        size_t j = i;
        for (; j < n && (long)svg_x(k, pts[j].t) == col; j++) {
            if (pts[j].v < lo) lo = pts[j].v;
            if (pts[j].v > hi) hi = pts[j].v;
        }
        double last = svg_y(p, pts[j - 1].v);
        fprintf(out, "%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f ", x, prev_y, x,
                svg_y(p, pts[i].v), x, svg_y(p, lo), x, svg_y(p, hi), x, last);
        prev_y = last;
        i = j;
    }
    /* The last value holds to t1, the right edge (not t1 turned back into nanoseconds: a
     * capture's times can lie past what a double carries back into 64 bits). */
    double end = k->t1 > k->t0 ? SVG_W - SVG_RIGHT : SVG_LEFT;
    fprintf(out, "%.1f,%.1f\"/>\n", end, prev_y);
}

/* One dot per sample, with a title a pointer shows; past SVG_MAX_DOTS, the lowest and the
 * highest of each pixel column. */
static void svg_dots(const struct svg_time *k, const struct svg_panel *p,
                     const struct trace_point *pts, size_t n, FILE *out)
{
    long last_col = -1;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        double x = svg_x(k, pts[i].t);
        if (n > SVG_MAX_DOTS) {
            bool same = (long)x == last_col;
            if (same && pts[i].v >= lo && pts[i].v <= hi) continue;
            if (!same) lo = hi = pts[i].v;
            lo = pts[i].v < lo ? pts[i].v : lo;
            hi = pts[i].v > hi ? pts[i].v : hi;
            last_col = (long)x;
        }
        fprintf(out,
                "<circle class=\"rtt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"blue\">"
                "<title>t %.6f s, rtt %.3f ms</title></circle>\n",
                x, svg_y(p, pts[i].v), (double)pts[i].t / 1e9, pts[i].v * 1e3);
    }
}

/* ---- the time-sequence panel --------------------------------------------------------- */

/* The sequence range the graph spans: every data segment's bytes and every ACK's window
 * edge, relative to the direction's base. */
static double tsg_top(const struct trace *t, const struct trace_analysis *a, int d)
{
    double top = 1;
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        double s;
        if (p->dir == d)
            s = (double)(uint32_t)(p->seq - a->base[d]) + p->len;
        else if (p->flags & SYNACK_TCP_ACK)
            s = (double)(uint32_t)(p->ack - a->base[d]) +
                (double)((uint64_t)p->window << a->wscale[!d]);
        else
            continue;
        if (s > top) top = s;
    }
    return top;
}

/* The receiver's step line of ACKs (`window` false) or of ACK + window (true). */
static void tsg_ack_line(const struct trace *t, const struct trace_analysis *a, int d,
                         const struct svg_time *k, const struct svg_panel *pn, bool window,
                         FILE *out)
{
    bool open = false;
    double last_y = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (p->dir == d || !(p->flags & SYNACK_TCP_ACK)) continue;
        double s = (double)(uint32_t)(p->ack - a->base[d]);
        if (window) s += (double)((uint64_t)p->window << a->wscale[!d]);
        double x = svg_x(k, p->t), y = svg_y(pn, s);
        if (!open)
            fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" points=\"%.1f,%.1f",
                    window ? "orange" : "green", x, y);
        else
            fprintf(out, " %.1f,%.1f %.1f,%.1f", x, last_y, x, y);
        open = true;
        last_y = y;
    }
    if (open) fprintf(out, "\"/>\n");
}

static void tsg_bar(double x, double y0, double y1, const char *colour, FILE *out)
{
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, y0,
            x, y1, colour);
}

static void tsg_segments(const struct trace *t, const struct trace_analysis *a, int d,
                         const struct svg_time *k, const struct svg_panel *pn, FILE *out)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        double x = svg_x(k, p->t);
        if (p->dir != d) {
            for (size_t b = 0; b < p->sack_count; b++)
                fprintf(out,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"purple\" "
                        "stroke-width=\"3\"/>\n",
                        x, svg_y(pn, (uint32_t)(p->sack[b][0] - a->base[d])), x,
                        svg_y(pn, (uint32_t)(p->sack[b][1] - a->base[d])));
            continue;
        }
        uint32_t extent = p->len + !!(p->flags & (SYNACK_TCP_SYN | SYNACK_TCP_FIN));
        if (extent == 0) continue;
        double s = (double)(uint32_t)(p->seq - a->base[d]);
        double y0 = svg_y(pn, s), y1 = svg_y(pn, s + extent);
        const char *colour = (a->labels[i] & TRACE_RETRANSMISSION) ? "red" : "black";
        tsg_bar(x, y0, y1, colour, out);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                x - 2, y1, x + 2, y1, colour);
    }
}

static void tsg_panel(const struct trace *t, const struct trace_analysis *a, int d,
                      const struct svg_time *k, double top, FILE *out)
{
    const struct trace_conn *c = &t->conns[t->pkts[a->pkts[0]].conn];
    struct svg_panel pn = {.top = top, .h = SVG_TSG_H, .v1 = tsg_top(t, a, d), .scale = 1};
    char from[SYNACK_ADDR_STRLEN + 8], to[SYNACK_ADDR_STRLEN + 8], title[160];
    trace_endpoint(c, d, from, sizeof(from));
    trace_endpoint(c, !d, to, sizeof(to));
    snprintf(title, sizeof(title), "time-sequence graph: %s to %s", from, to);
    fprintf(out, "<g id=\"panel-tsg\" class=\"panel\">\n");
    svg_frame(k, &pn, title, "relative sequence number", out);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\"><tspan fill=\"black\">| data</tspan> "
            "<tspan fill=\"red\">| retransmission</tspan> <tspan fill=\"green\">ACK</tspan> "
            "<tspan fill=\"orange\">window</tspan> <tspan fill=\"purple\">SACK</tspan></text>\n",
            SVG_W - SVG_RIGHT - 330, top - 10);
    tsg_ack_line(t, a, d, k, &pn, true, out);
    tsg_ack_line(t, a, d, k, &pn, false, out);
    tsg_segments(t, a, d, k, &pn, out);
    fprintf(out, "</g>\n");
}

/* ---- the series panels --------------------------------------------------------------- */

/* A panel of one series: its frame, its points as a step line or as dots, or a note that
 * it has none. */
static void series_panel(const char *id, const char *title, const char *unit,
                         const struct trace_point *pts, size_t n, double scale, bool dots,
                         const struct svg_time *k, double top, FILE *out)
{
    struct svg_panel pn = {.top = top, .h = SVG_PANEL_H, .v1 = svg_top(pts, n), .scale = scale};
    fprintf(out, "<g id=\"%s\" class=\"panel\" data-points=\"%zu\">\n", id, n);
    svg_frame(k, &pn, title, unit, out);
    if (n == 0)
        fprintf(out,
                "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" fill=\"gray\">no samples</text>\n",
                SVG_LEFT + 20, top + SVG_PANEL_H / 2);
    else if (dots)
        svg_dots(k, &pn, pts, n, out);
    else
        svg_steps(k, &pn, pts, n, "blue", out);
    fprintf(out, "</g>\n");
}

/* The throughput panel, in the unit that suits its largest value. */
static void tput_panel(const struct trace_series *s, const struct svg_time *k, double top,
                       FILE *out)
{
    double max = svg_top(s->tput, s->ntput);
    double scale = max >= 1e6 ? 1e6 : max >= 1e3 ? 1e3 : 1;
    const char *unit = scale == 1e6 ? "Mbit/s" : scale == 1e3 ? "kbit/s" : "bit/s";
    char title[128];
    snprintf(title, sizeof(title), "throughput: bytes acknowledged per %.3f ms, as %s",
             (double)s->interval / 1e6, unit);
    series_panel("panel-throughput", title, unit, s->tput, s->ntput, scale, false, k, top, out);
}

static void extra_panel(const struct trace_panel *e, const struct svg_time *k, double top,
                        FILE *out)
{
    double max = 0;
    for (size_t l = 0; l < e->nlines; l++) {
        double m = svg_top(e->lines[l].pts, e->lines[l].n);
        if (m > max) max = m;
    }
    struct svg_panel pn = {.top = top, .h = SVG_PANEL_H, .v1 = max, .scale = 1};
    fprintf(out, "<g id=\"%s\" class=\"panel\">\n", e->id);
    svg_frame(k, &pn, e->title, e->unit, out);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", SVG_W - SVG_RIGHT - 200,
            top - 10);
    for (size_t l = 0; l < e->nlines; l++)
        fprintf(out, "<tspan fill=\"%s\">%s</tspan> ", e->lines[l].colour, e->lines[l].name);
    fprintf(out, "</text>\n");
    for (size_t l = 0; l < e->nlines; l++)
        svg_steps(k, &pn, e->lines[l].pts, e->lines[l].n, e->lines[l].colour, out);
    fprintf(out, "</g>\n");
}

/* ---- the document -------------------------------------------------------------------- */

/* The time the panels span: the connection's, and any extra panel's points. */
static struct svg_time graph_time(const struct trace_conn *c, const struct trace_panel *extra,
                                  size_t nextra)
{
    synack_time_t lo = c->first, hi = c->last;
    for (size_t e = 0; e < nextra; e++)
        for (size_t l = 0; l < extra[e].nlines; l++)
            for (size_t i = 0; i < extra[e].lines[l].n; i++) {
                synack_time_t t = extra[e].lines[l].pts[i].t;
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
            }
    return (struct svg_time){.t0 = (double)lo / 1e9, .t1 = (double)hi / 1e9};
}

/* The line under the title saying why the picture is partial, if it is. */
static void graph_partial(const struct trace *t, const struct trace_analysis *a, FILE *out)
{
    const char *why = NULL;
    if (a->mid_connection)
        why = "partial: the capture starts after the connection's SYN: sequence numbers count "
              "from the first segment seen, data sent before it is not drawn";
    else if (t->truncated || t->limit_reached)
        why = "partial: the file is cut short or was not read to its end";
    else if (t->headers_cut || t->malformed)
        why = "partial: some packets were cut or malformed and are not drawn";
    if (why)
        fprintf(out, "<text id=\"partial\" x=\"%.1f\" y=\"46\" fill=\"red\">%s</text>\n", SVG_LEFT,
                why);
}

static void graph_series(const struct trace_series *s, const struct svg_time *k, double top,
                         FILE *out)
{
    tput_panel(s, k, top, out);
    top += SVG_PANEL_H + SVG_GAP;
    char title[160];
    snprintf(title, sizeof(title),
             "round-trip time: segment to the ACK covering it (Karn: %u ACKs of resent data "
             "skipped)",
             s->rtt_skipped);
    series_panel("panel-rtt", title, "RTT (ms)", s->rtt, s->nrtt, 1e-3, true, k, top, out);
    top += SVG_PANEL_H + SVG_GAP;
    series_panel("panel-inflight", "bytes in flight: sent and not yet acknowledged",
                 "in flight (bytes)", s->fly, s->nfly, 1, false, k, top, out);
}

int trace_write_graphs(const struct trace *t, size_t conn, const struct trace_panel *extra,
                       size_t nextra, bool xml_header, FILE *out)
{
    struct trace_analysis a;
    struct trace_series s;
    int rc = trace_analyze(t, conn, &a);
    if (rc != 0) return rc;
    const struct trace_conn *c = &t->conns[conn];
    int d = trace_data_dir(c);
    if ((rc = trace_series_compute(t, &a, d, &s)) != 0) {
        trace_analysis_free(&a);
        return rc;
    }
    struct svg_time k = graph_time(c, extra, nextra);
    double h = SVG_HEAD + SVG_TSG_H + (3 + (double)nextra) * (SVG_GAP + SVG_PANEL_H) + SVG_FOOT;
    if (xml_header) fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%.1f\" y=\"24\" font-size=\"16\">connection %zu</text>\n",
            SVG_W, h, SVG_W, h, SVG_LEFT, conn + 1);
    graph_partial(t, &a, out);
    double top = SVG_HEAD;
    if (a.n > 0) tsg_panel(t, &a, d, &k, top, out);
    top += SVG_TSG_H + SVG_GAP;
    graph_series(&s, &k, top, out);
    top += 3 * (SVG_PANEL_H + SVG_GAP);
    for (size_t e = 0; e < nextra; e++, top += SVG_PANEL_H + SVG_GAP)
        extra_panel(&extra[e], &k, top, out);
    fprintf(out, "</svg>\n");
    trace_series_free(&s);
    trace_analysis_free(&a);
    return ferror(out) ? SYNACK_ERR_IO : 0;
}

int trace_write_svg(const struct trace *t, size_t conn, FILE *out)
{
    return trace_write_graphs(t, conn, NULL, 0, true, out);
}
