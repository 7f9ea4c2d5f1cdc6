/* `synack trace`, series over time: what one direction's data did, as the capture point saw
 * it: the throughput its receiver acknowledged, the round-trip samples (Karn's algorithm)
 * and the bytes in flight. The graphs (trace_svg.c) draw them. */
#include <stdlib.h>

#include "trace.h"

#define SERIES_BINS 100 /* throughput bins across the connection, about */

/* A span of sequence space sent and not yet acknowledged, first sent at `t`. */
struct series_seg {
    uint32_t start, end;
    synack_time_t t;
    bool retransmitted; /* some of it was sent again: its ACK times nothing (Karn) */
};

/* The walk over the connection's segments. */
struct series_walk {
    const struct trace_analysis *a;
    struct trace_series *s;
    struct series_seg *q; /* the unacknowledged spans in sequence order, from q[head] */
    size_t head, n;
    bool have_nxt, have_una;
    uint32_t nxt, una; /* the highest sequence number sent; the highest acknowledged */
    synack_time_t first;
};

int trace_data_dir(const struct trace_conn *c)
{
    return c->bytes[1] > c->bytes[0];
}

/* The bin width: about SERIES_BINS across `span`, rounded up to 1, 2 or 5 times a power of
 * ten nanoseconds (1 ms for a connection of one instant). */
static synack_time_t series_interval(synack_time_t span)
{
    if (span == 0) return SYNACK_MS(1);
    synack_time_t want = span / SERIES_BINS, step = 1;
    for (;;) {
        if (step >= want) return step;
        if (step * 2 >= want) return step * 2;
        if (step * 5 >= want) return step * 5;
        step *= 10;
    }
}

/* Every span overlapping [start, end) was sent again. The spans are sorted: stop at the
 * first one beyond. */
static void series_mark_resent(struct series_walk *w, uint32_t start, uint32_t end)
{
    for (size_t i = w->head; i < w->n; i++) {
        struct series_seg *g = &w->q[i];
        if (!synack_seq_lt(g->start, end)) break;
        if (synack_seq_gt(g->end, start)) g->retransmitted = true;
    }
}

static void series_fly(struct series_walk *w, synack_time_t t)
{
    if (!w->have_nxt || !w->have_una) return;
    uint32_t fly = synack_seq_gt(w->nxt, w->una) ? w->nxt - w->una : 0;
    w->s->fly[w->s->nfly++] = (struct trace_point){.t = t, .v = fly};
}

/* A segment of the data direction: its new bytes join the queue, old ones are marked. */
static void series_sent(struct series_walk *w, const struct trace_pkt *p)
{
    uint32_t extent = p->len + !!(p->flags & SYNACK_TCP_SYN) + !!(p->flags & SYNACK_TCP_FIN);
    if (extent == 0) return;
    uint32_t start = p->seq, end = p->seq + extent;
    if (w->have_nxt && synack_seq_lt(start, w->nxt)) {
        series_mark_resent(w, start, end);
        start = w->nxt;
    }
    if (!w->have_nxt || synack_seq_gt(end, start)) {
        w->q[w->n++] = (struct series_seg){.start = start, .end = end, .t = p->t};
        w->nxt = end;
        w->have_nxt = true;
    }
    series_fly(w, p->t);
}

/* An ACK from the receiver: the throughput it adds, the spans it covers and their sample. */
static void series_acked(struct series_walk *w, const struct trace_pkt *p)
{
    struct trace_series *s = w->s;
    if (w->have_una && !synack_seq_gt(p->ack, w->una)) return;
    /* first is the connection's earliest time, not its first segment's: a capture's clock
     * may step back. */
    if (w->have_una) s->tput[(p->t - w->first) / s->interval].v += (uint32_t)(p->ack - w->una);
    w->una = p->ack;
    w->have_una = true;
    const struct series_seg *newest = NULL;
    bool resent = false;
    while (w->head < w->n && !synack_seq_gt(w->q[w->head].end, p->ack)) {
        newest = &w->q[w->head++];
        resent |= newest->retransmitted;
    }
    if (newest != NULL && resent)
        s->rtt_skipped++;
    else if (newest != NULL && p->t >= newest->t)
        s->rtt[s->nrtt++] = (struct trace_point){.t = p->t, .v = (double)(p->t - newest->t) / 1e9};
    series_fly(w, p->t);
}

/* The throughput bins: stamped with their start, bytes turned into bits per second. */
static void series_bins(struct trace_series *s, synack_time_t first)
{
    for (size_t i = 0; i < s->ntput; i++) {
        s->tput[i].t = first + i * s->interval;
        s->tput[i].v = s->tput[i].v * 8 / ((double)s->interval / 1e9);
    }
}

int trace_series_compute(const struct trace *t, const struct trace_analysis *a, int dir,
                         struct trace_series *s)
{
    *s = (struct trace_series){.dir = dir};
    size_t n = a->n ? a->n : 1;
    synack_time_t first = SYNACK_NEVER, last = 0;
    for (size_t i = 0; i < a->n; i++) {
        synack_time_t at = t->pkts[a->pkts[i]].t;
        first = at < first ? at : first;
        last = at > last ? at : last;
    }
    if (a->n == 0) first = 0;
    s->interval = series_interval(last - first);
    s->ntput = (size_t)((last - first) / s->interval) + 1;
    struct series_walk w = {.a = a, .s = s, .first = first, .q = calloc(n, sizeof(*w.q))};
    s->tput = calloc(s->ntput, sizeof(*s->tput));
    s->rtt = calloc(n, sizeof(*s->rtt));
    s->fly = calloc(n, sizeof(*s->fly));
    if (w.q == NULL || s->tput == NULL || s->rtt == NULL || s->fly == NULL) {
        free(w.q);
        trace_series_free(s);
        return SYNACK_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (p->flags & SYNACK_TCP_RST) continue;
        if (p->dir == dir)
            series_sent(&w, p);
        else if (p->flags & SYNACK_TCP_ACK)
            series_acked(&w, p);
    }
    series_bins(s, first);
    free(w.q);
    return 0;
}

void trace_series_free(struct trace_series *s)
{
    free(s->tput);
    free(s->rtt);
    free(s->fly);
    *s = (struct trace_series){0};
}
