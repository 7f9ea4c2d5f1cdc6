/* `synack trace --svg`: the time-sequence graph of one connection (W. R. Stevens, TCP/IP
 * Illustrated; tcptrace): time across, sequence numbers up. Each data segment is a
 * vertical bar from its first to its last byte (retransmissions red), the receiver's ACK
 * line (green) steps up under it and its advertised window's right edge (orange) above;
 * SACK blocks are purple bars. One self-contained SVG document. */
#include <stdlib.h>

#include "trace.h"

#define SVG_W 960.0
#define SVG_H 600.0
#define SVG_LEFT 90.0
#define SVG_RIGHT 30.0
#define SVG_TOP 50.0
#define SVG_BOTTOM 60.0

struct svg_scale {
    double t0, t1; /* seconds across */
    double s0, s1; /* relative sequence numbers up */
};

static double svg_x(const struct svg_scale *k, synack_time_t t)
{
    double span = k->t1 - k->t0 > 0 ? k->t1 - k->t0 : 1e-9;
    return SVG_LEFT + ((double)t / 1e9 - k->t0) / span * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

static double svg_y(const struct svg_scale *k, double s)
{
    double span = k->s1 - k->s0 > 0 ? k->s1 - k->s0 : 1;
    return SVG_H - SVG_BOTTOM - (s - k->s0) / span * (SVG_H - SVG_TOP - SVG_BOTTOM);
}

/* The direction that carried more payload (A to B on a tie). */
static int svg_data_dir(const struct trace_conn *c)
{
    return c->bytes[1] > c->bytes[0];
}

/* The ranges the graph spans: every data segment's bytes and every ACK's window edge. */
static void svg_bounds(const struct trace *t, const struct trace_analysis *a, int d,
                       struct svg_scale *k)
{
    k->t0 = 1e300;
    k->t1 = -1e300;
    k->s0 = 0;
    k->s1 = 1;
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        double ts = (double)p->t / 1e9;
        if (ts < k->t0) k->t0 = ts;
        if (ts > k->t1) k->t1 = ts;
        double top;
        if (p->dir == d)
            top = (double)(uint32_t)(p->seq - a->base[d]) + p->len;
        else if (p->flags & SYNACK_TCP_ACK)
            top = (double)(uint32_t)(p->ack - a->base[d]) +
                  (double)((uint64_t)p->window << a->wscale[!d]);
        else
            continue;
        if (top > k->s1) k->s1 = top;
    }
    if (k->t1 < k->t0) k->t0 = k->t1 = 0;
}

static void svg_axes(const struct trace_conn *c, const struct svg_scale *k, int d, FILE *out)
{
    char from[SYNACK_ADDR_STRLEN + 8], to[SYNACK_ADDR_STRLEN + 8];
    trace_endpoint(c, d, from, sizeof(from));
    trace_endpoint(c, !d, to, sizeof(to));
    fprintf(out,
            "<text x=\"%.1f\" y=\"24\" font-size=\"16\">time-sequence graph: %s to %s</text>\n",
            SVG_LEFT, from, to);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            SVG_LEFT, SVG_H - SVG_BOTTOM, SVG_W - SVG_RIGHT, SVG_H - SVG_BOTTOM);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            SVG_LEFT, SVG_TOP, SVG_LEFT, SVG_H - SVG_BOTTOM);
    for (int i = 0; i <= 4; i++) {
        double ts = k->t0 + (k->t1 - k->t0) * i / 4;
        double x = SVG_LEFT + (SVG_W - SVG_LEFT - SVG_RIGHT) * i / 4;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.6f</text>\n", x,
                SVG_H - SVG_BOTTOM + 18, ts);
        double s = k->s0 + (k->s1 - k->s0) * i / 4;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", SVG_LEFT - 6,
                svg_y(k, s) + 4, s);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time (s)</text>\n",
            (SVG_W + SVG_LEFT) / 2, SVG_H - 18);
    fprintf(out,
            "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" "
            "text-anchor=\"middle\">relative sequence number</text>\n",
            SVG_H / 2, SVG_H / 2);
    fprintf(out,
            "<text x=\"%.1f\" y=\"40\" font-size=\"11\"><tspan fill=\"black\">| data</tspan> "
            "<tspan fill=\"red\">| retransmission</tspan> <tspan fill=\"green\">ACK</tspan> "
            "<tspan fill=\"orange\">window</tspan> <tspan fill=\"purple\">SACK</tspan></text>\n",
            SVG_W - 380);
}

/* The receiver's step line of ACKs (`window` false) or of ACK + window (true). */
static void svg_ack_line(const struct trace *t, const struct trace_analysis *a, int d,
                         const struct svg_scale *k, bool window, FILE *out)
{
    bool open = false;
    double last_y = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (p->dir == d || !(p->flags & SYNACK_TCP_ACK)) continue;
        double s = (double)(uint32_t)(p->ack - a->base[d]);
        if (window) s += (double)((uint64_t)p->window << a->wscale[!d]);
        double x = svg_x(k, p->t), y = svg_y(k, s);
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

static void svg_segments(const struct trace *t, const struct trace_analysis *a, int d,
                         const struct svg_scale *k, FILE *out)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (p->dir != d) {
            for (size_t b = 0; b < p->sack_count; b++) {
                double x = svg_x(k, p->t);
                fprintf(out,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"purple\" "
                        "stroke-width=\"3\"/>\n",
                        x, svg_y(k, (uint32_t)(p->sack[b][0] - a->base[d])), x,
                        svg_y(k, (uint32_t)(p->sack[b][1] - a->base[d])));
            }
            continue;
        }
        uint32_t extent = p->len + !!(p->flags & (SYNACK_TCP_SYN | SYNACK_TCP_FIN));
        if (extent == 0) continue;
        double s = (double)(uint32_t)(p->seq - a->base[d]);
        double x = svg_x(k, p->t), y0 = svg_y(k, s), y1 = svg_y(k, s + extent);
        const char *colour = (a->labels[i] & TRACE_RETRANSMISSION) ? "red" : "black";
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
                y0, x, y1, colour);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                x - 2, y1, x + 2, y1, colour);
    }
}

int trace_write_svg(const struct trace *t, size_t conn, FILE *out)
{
    struct trace_analysis a;
    int rc = trace_analyze(t, conn, &a);
    if (rc != 0) return rc;
    const struct trace_conn *c = &t->conns[conn];
    int d = svg_data_dir(c);
    struct svg_scale k;
    svg_bounds(t, &a, d, &k);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    svg_axes(c, &k, d, out);
    svg_ack_line(t, &a, d, &k, true, out);
    svg_ack_line(t, &a, d, &k, false, out);
    svg_segments(t, &a, d, &k, out);
    fprintf(out, "</svg>\n");
    trace_analysis_free(&a);
    return ferror(out) ? SYNACK_ERR_IO : 0;
}
