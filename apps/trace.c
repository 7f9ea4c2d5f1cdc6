/* `synack trace`, understanding: each segment of a connection labelled (retransmission,
 * duplicate ACK, zero window, window update, window probe, keepalive), both ends' RFC 9293
 * states inferred from what each sent and received, the list of connections and the
 * annotated ladder. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* What the analysis knows of one end while walking the segments. */
struct trace_end {
    bool seen;      /* it has sent a segment */
    uint32_t nxt;   /* the highest seq + length it has sent (SYN and FIN count one) */
    bool ack_valid; /* ack and win hold its last ACK and window */
    uint32_t ack;
    uint16_t win;
    uint32_t dup; /* duplicate ACKs in a row */
    bool syn_sent, synack_sent;
    uint32_t iss;
    bool fin_sent; /* a FIN from it has been captured; fin_seq is its number */
    uint32_t fin_seq;
    bool fin_received; /* the other end's FIN reached it */
    bool wscale_offered;
    uint8_t wscale;
    enum synack_state state;
};

struct trace_walk {
    struct trace_analysis *a;
    struct trace_end end[2];
    size_t at; /* the segment being walked (index into a->pkts) */
};

static void walk_set_state(struct trace_walk *w, int end, enum synack_state st)
{
    struct trace_analysis *a = w->a;
    if (w->end[end].state == st) return;
    w->end[end].state = st;
    if (a->nchanges[end] < TRACE_MAX_STATES)
        a->changes[end][a->nchanges[end]++] =
            (struct trace_state_change){.pkt = w->at, .state = st};
}

static bool is_pure(const struct trace_pkt *p)
{
    return p->len == 0 && !(p->flags & (SYNACK_TCP_SYN | SYNACK_TCP_FIN | SYNACK_TCP_RST));
}

/* The labels of segment `p` from end `s` to end `o`, before it updates them. */
static uint32_t walk_labels(struct trace_walk *w, const struct trace_pkt *p, uint32_t *dup_nr)
{
    struct trace_end *s = &w->end[p->dir], *o = &w->end[!p->dir];
    uint32_t labels = 0;
    uint32_t seglen = p->len + !!(p->flags & SYNACK_TCP_SYN) + !!(p->flags & SYNACK_TCP_FIN);
    bool plain = !(p->flags & (SYNACK_TCP_SYN | SYNACK_TCP_FIN | SYNACK_TCP_RST));
    /* One byte (or none) below what it has sent, beside the data: a window probe when the
     * other end's window is shut (RFC 9293 §3.8.6.1), else a keepalive (§3.8.4). */
    bool below = s->seen && plain && p->len <= 1 && p->seq == s->nxt - 1;
    if (plain && s->seen && o->ack_valid && o->win == 0 && (p->len > 0 || below))
        labels |= TRACE_WINDOW_PROBE;
    else if (below)
        labels |= TRACE_KEEPALIVE;
    /* A SYN-ACK after its own SYN is a simultaneous open's answer, not a retransmission. */
    bool crossing = (p->flags & SYNACK_TCP_SYN) && (p->flags & SYNACK_TCP_ACK) && !s->synack_sent;
    if (!(labels & (TRACE_WINDOW_PROBE | TRACE_KEEPALIVE)) && seglen > 0 && s->seen && !crossing &&
        synack_seq_lt(p->seq, s->nxt))
        labels |= TRACE_RETRANSMISSION;
    if (p->window == 0 && !(p->flags & SYNACK_TCP_RST)) labels |= TRACE_ZERO_WINDOW;
    if (is_pure(p) && !(labels & (TRACE_WINDOW_PROBE | TRACE_KEEPALIVE)) &&
        (p->flags & SYNACK_TCP_ACK) && s->ack_valid && p->ack == s->ack) {
        if (p->window != s->win)
            labels |= TRACE_WINDOW_UPDATE;
        else if (o->seen && synack_seq_lt(p->ack, o->nxt)) {
            /* RFC 5681 §2: no data, no window change, data outstanding. */
            labels |= TRACE_DUP_ACK;
            *dup_nr = ++s->dup;
        }
    }
    if (!(labels & TRACE_DUP_ACK) && (p->flags & SYNACK_TCP_ACK) &&
        (!s->ack_valid || p->ack != s->ack))
        s->dup = 0;
    return labels;
}

/* What sending `p` does to its sender's state. */
static void walk_sender(struct trace_walk *w, const struct trace_pkt *p)
{
    struct trace_end *s = &w->end[p->dir];
    int e = p->dir;
    if (p->flags & SYNACK_TCP_RST) {
        /* A RST in answer to a SYN: the port was closed, never listening. */
        if (s->state == SYNACK_SYN_RECEIVED && !s->synack_sent &&
            w->a->initial[e] == SYNACK_LISTEN) {
            w->a->nchanges[e] = 0;
            w->a->initial[e] = SYNACK_CLOSED;
            s->state = SYNACK_CLOSED;
        }
        walk_set_state(w, e, SYNACK_CLOSED);
        return;
    }
    if ((p->flags & SYNACK_TCP_SYN) && !(p->flags & SYNACK_TCP_ACK) && s->state == SYNACK_CLOSED)
        walk_set_state(w, e, SYNACK_SYN_SENT);
    if ((p->flags & SYNACK_TCP_SYN) && (p->flags & SYNACK_TCP_ACK) && s->state == SYNACK_CLOSED)
        walk_set_state(w, e, SYNACK_SYN_RECEIVED);
    if ((p->flags & SYNACK_TCP_FIN) && !s->fin_sent) {
        if (s->state == SYNACK_ESTABLISHED || s->state == SYNACK_SYN_RECEIVED)
            walk_set_state(w, e, SYNACK_FIN_WAIT_1);
        else if (s->state == SYNACK_CLOSE_WAIT)
            walk_set_state(w, e, SYNACK_LAST_ACK);
    }
}

/* What receiving `p` does to the other end's state (RFC 9293 §3.10.7). */
static void walk_receiver(struct trace_walk *w, const struct trace_pkt *p)
{
    int e = !p->dir;
    struct trace_end *r = &w->end[e];
    const struct trace_end *s = &w->end[p->dir];
    if (p->flags & SYNACK_TCP_RST) {
        if (r->state != SYNACK_LISTEN) walk_set_state(w, e, SYNACK_CLOSED);
        return;
    }
    bool ack = p->flags & SYNACK_TCP_ACK;
    if (p->flags & SYNACK_TCP_SYN) {
        if (!ack && (r->state == SYNACK_LISTEN || r->state == SYNACK_SYN_SENT))
            walk_set_state(w, e, SYNACK_SYN_RECEIVED);
        else if (ack && r->state == SYNACK_SYN_SENT && p->ack == r->iss + 1)
            walk_set_state(w, e, SYNACK_ESTABLISHED);
    }
    if (ack && r->state == SYNACK_SYN_RECEIVED && r->synack_sent && synack_seq_gt(p->ack, r->iss))
        walk_set_state(w, e, SYNACK_ESTABLISHED);
    if (ack && r->fin_sent && synack_seq_gt(p->ack, r->fin_seq)) {
        if (r->state == SYNACK_FIN_WAIT_1) walk_set_state(w, e, SYNACK_FIN_WAIT_2);
        if (r->state == SYNACK_CLOSING) walk_set_state(w, e, SYNACK_TIME_WAIT);
        if (r->state == SYNACK_LAST_ACK) walk_set_state(w, e, SYNACK_CLOSED);
    }
    if ((p->flags & SYNACK_TCP_FIN) && !r->fin_received && s->fin_sent) {
        r->fin_received = true;
        if (r->state == SYNACK_ESTABLISHED || r->state == SYNACK_SYN_RECEIVED)
            walk_set_state(w, e, SYNACK_CLOSE_WAIT);
        else if (r->state == SYNACK_FIN_WAIT_1)
            walk_set_state(w, e, SYNACK_CLOSING);
        else if (r->state == SYNACK_FIN_WAIT_2)
            walk_set_state(w, e, SYNACK_TIME_WAIT);
    }
}

/* The sender's record after `p`: what it has sent, its last ACK and window. */
static void walk_update(struct trace_walk *w, const struct trace_pkt *p)
{
    struct trace_end *s = &w->end[p->dir];
    uint32_t seglen = p->len + !!(p->flags & SYNACK_TCP_SYN) + !!(p->flags & SYNACK_TCP_FIN);
    uint32_t end = p->seq + seglen;
    if (!s->seen || synack_seq_gt(end, s->nxt)) s->nxt = end;
    s->seen = true;
    if (p->flags & SYNACK_TCP_SYN) {
        s->iss = p->seq;
        s->syn_sent = true;
        if (p->flags & SYNACK_TCP_ACK) s->synack_sent = true;
        s->wscale_offered = p->has_wscale;
        s->wscale = p->wscale;
    }
    if ((p->flags & SYNACK_TCP_FIN) && !s->fin_sent) {
        s->fin_sent = true;
        s->fin_seq = p->seq + p->len + !!(p->flags & SYNACK_TCP_SYN);
    }
    if (p->flags & SYNACK_TCP_ACK) {
        s->ack_valid = true;
        s->ack = p->ack;
        s->win = p->window;
    }
}

/* The states before the first segment: from a SYN, client CLOSED and server LISTEN;
 * from a SYN-ACK or later, what the ends must have been in (inferred). */
static void walk_start(struct trace_walk *w, const struct trace_pkt *first)
{
    struct trace_analysis *a = w->a;
    uint8_t syn = first->flags & (SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    if (syn == SYNACK_TCP_SYN) {
        a->initial[0] = SYNACK_CLOSED;
        a->initial[1] = SYNACK_LISTEN;
    } else if (syn == (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) {
        a->mid_connection = true;
        a->initial[0] = SYNACK_SYN_SENT;
        a->initial[1] = SYNACK_SYN_RECEIVED;
    } else {
        a->mid_connection = true;
        a->initial[0] = a->initial[1] = SYNACK_ESTABLISHED;
    }
    w->end[0].state = a->initial[0];
    w->end[1].state = a->initial[1];
    if (syn == (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) {
        /* The SYN was not captured: its number is the one the SYN-ACK acknowledges. */
        w->end[0].syn_sent = w->end[0].seen = true;
        w->end[0].iss = first->ack - 1;
        w->end[0].nxt = first->ack;
    }
}

/* The sequence number shown as 0 each way: the ISN when its SYN was captured, else the
 * first number seen (from the other way's ACK when this way sent nothing). */
static void analysis_bases(const struct trace *t, struct trace_analysis *a)
{
    bool have[2] = {false, false};
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (!have[p->dir]) {
            a->base[p->dir] = p->seq;
            have[p->dir] = true;
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        if (!have[!p->dir] && (p->flags & SYNACK_TCP_ACK)) {
            a->base[!p->dir] = p->ack - 1;
            have[!p->dir] = true;
        }
    }
}

int trace_analyze(const struct trace *t, size_t conn, struct trace_analysis *a)
{
    *a = (struct trace_analysis){0};
    if (conn >= t->nconns) return SYNACK_ERR_INVAL;
    size_t n = t->conns[conn].packets;
    a->pkts = calloc(n ? n : 1, sizeof(*a->pkts));
    a->labels = calloc(n ? n : 1, sizeof(*a->labels));
    a->dup_ack_nr = calloc(n ? n : 1, sizeof(*a->dup_ack_nr));
    if (a->pkts == NULL || a->labels == NULL || a->dup_ack_nr == NULL) {
        trace_analysis_free(a);
        return SYNACK_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->npkts && a->n < n; i++)
        if (t->pkts[i].conn == conn) a->pkts[a->n++] = i;
    if (a->n == 0) return 0;
    analysis_bases(t, a);

    struct trace_walk w = {.a = a};
    walk_start(&w, &t->pkts[a->pkts[0]]);
    for (size_t i = 0; i < a->n; i++) {
        const struct trace_pkt *p = &t->pkts[a->pkts[i]];
        w.at = i;
        a->labels[i] = walk_labels(&w, p, &a->dup_ack_nr[i]);
        walk_sender(&w, p);
        walk_update(&w, p);
        walk_receiver(&w, p);
        uint32_t l = a->labels[i];
        a->retransmissions += !!(l & TRACE_RETRANSMISSION);
        a->dup_acks += !!(l & TRACE_DUP_ACK);
        a->zero_windows += !!(l & TRACE_ZERO_WINDOW);
        a->probes += !!(l & TRACE_WINDOW_PROBE);
        a->keepalives += !!(l & TRACE_KEEPALIVE);
    }
    /* RFC 7323 §2.2: the shifts apply only when both SYNs carried the option; §2.3: a
     * shift above 14 is taken as 14. */
    if (w.end[0].wscale_offered && w.end[1].wscale_offered) {
        a->wscale[0] = w.end[0].wscale < 14 ? w.end[0].wscale : 14;
        a->wscale[1] = w.end[1].wscale < 14 ? w.end[1].wscale : 14;
    }
    return 0;
}

void trace_analysis_free(struct trace_analysis *a)
{
    free(a->pkts);
    free(a->labels);
    free(a->dup_ack_nr);
    *a = (struct trace_analysis){0};
}

/* ---- the list ---------------------------------------------------------------------------- */

static double secs(synack_time_t ns)
{
    return (double)ns / 1e9;
}

static const char *conn_open_text(const struct trace_conn *c)
{
    if (c->syn_seen && c->synack_seen) return "yes";
    if (c->syn_seen) return "SYN only";
    if (c->synack_seen) return "from SYN-ACK";
    return "no (mid)";
}

static const char *conn_close_text(const struct trace_conn *c)
{
    if (c->rst_seen) return "RST";
    if (c->fin_seen[0] && c->fin_seen[1]) return "FIN both";
    if (c->fin_seen[0]) return "FIN A only";
    if (c->fin_seen[1]) return "FIN B only";
    return "no";
}

/* The lines under the list and the ladder saying what was not shown, and why. */
static void print_problems(const struct trace *t, FILE *out)
{
    if (t->checksum_bad)
        fprintf(out,
                "note: %" PRIu64 " segments with a wrong TCP checksum, shown anyway and marked "
                "'bad cksum': the capturing host offloads checksums to its NIC\n",
                t->checksum_bad);
    if (t->payload_cut)
        fprintf(out,
                "note: the snap length cut the payload of %" PRIu64 " segments (headers "
                "whole; lengths are as sent)\n",
                t->payload_cut);
    if (t->headers_cut)
        fprintf(out,
                "partial: %" PRIu64 " packets cut by the snap length inside their headers, "
                "not shown\n",
                t->headers_cut);
    if (t->malformed)
        fprintf(out, "partial: %" PRIu64 " malformed TCP packets, not shown\n", t->malformed);
    if (t->not_tcp || t->not_ip)
        fprintf(out,
                "note: %" PRIu64 " packets not TCP (other IP protocols, fragments) and %" PRIu64
                " frames not IP, not shown\n",
                t->not_tcp, t->not_ip);
    if (t->truncated)
        fprintf(out, "partial: the file is cut short or corrupt after %" PRIu64 " records (%s)\n",
                t->frames, t->problem);
    if (t->limit_reached)
        fprintf(out,
                "partial: stopped after %" PRIu64 " records (at most %u segments, %u "
                "connections)\n",
                t->frames, TRACE_MAX_PACKETS, TRACE_MAX_CONNS);
}

void trace_print_list(const struct trace *t, const char *name, FILE *out)
{
    fprintf(out, "%s: %s, %" PRIu64 " packets, %zu TCP segments in %zu connection%s\n", name,
            t->link_name, t->frames, t->npkts, t->nconns, t->nconns == 1 ? "" : "s");
    if (t->nconns > 0) {
        fprintf(out, "%4s  %-24s %-24s %10s %10s %7s %10s %10s  %-12s %s\n", "#", "A (opened)", "B",
                "first s", "last s", "packets", "bytes A>B", "bytes B>A", "handshake", "close");
    }
    for (size_t i = 0; i < t->nconns; i++) {
        const struct trace_conn *c = &t->conns[i];
        char a[SYNACK_ADDR_STRLEN + 8], b[SYNACK_ADDR_STRLEN + 8];
        trace_endpoint(c, 0, a, sizeof(a));
        trace_endpoint(c, 1, b, sizeof(b));
        fprintf(out,
                "%4zu  %-24s %-24s %10.6f %10.6f %7" PRIu64 " %10" PRIu64 " %10" PRIu64
                "  %-12s %s\n",
                i + 1, a, b, secs(c->first), secs(c->last), c->packets, c->bytes[0], c->bytes[1],
                conn_open_text(c), conn_close_text(c));
    }
    print_problems(t, out);
}

/* ---- the ladder -------------------------------------------------------------------------- */

static void append(char *buf, size_t cap, const char *fmt, const char *text)
{
    size_t used = strlen(buf);
    if (used < cap) snprintf(buf + used, cap - used, fmt, text);
}

/* "mss 1460, sackOK, TS, wscale 7" of a SYN. */
static void syn_options_text(const struct trace_pkt *p, char *out, size_t cap)
{
    char tmp[32];
    out[0] = '\0';
    if (p->has_mss) {
        snprintf(tmp, sizeof(tmp), "mss %u", p->mss);
        append(out, cap, "%s", tmp);
    }
    if (p->sack_permitted) append(out, cap, out[0] ? ", %s" : "%s", "sackOK");
    if (p->has_ts) append(out, cap, out[0] ? ", %s" : "%s", "TS");
    if (p->has_wscale) {
        snprintf(tmp, sizeof(tmp), "wscale %u", p->wscale);
        append(out, cap, out[0] ? ", %s" : "%s", tmp);
    }
    if (out[0] == '\0') snprintf(out, cap, "no options");
}

/* The notes column of segment `i`: SYN options, labels, SACK blocks, flags on the
 * capture, and the state changes it caused. */
static void ladder_notes(const struct trace_analysis *a, size_t i, const struct trace_pkt *p,
                         char *out, size_t cap)
{
    char tmp[96];
    out[0] = '\0';
    if (p->flags & SYNACK_TCP_SYN) {
        syn_options_text(p, tmp, sizeof(tmp));
        append(out, cap, "<%s> ", tmp);
    }
    uint32_t l = a->labels[i];
    if (l & TRACE_RETRANSMISSION) append(out, cap, "%s ", "RETRANSMISSION");
    if (l & TRACE_DUP_ACK) {
        snprintf(tmp, sizeof(tmp), "dup ACK #%u", a->dup_ack_nr[i]);
        append(out, cap, "%s ", tmp);
    }
    if (l & TRACE_ZERO_WINDOW) append(out, cap, "%s ", "zero window");
    if (l & TRACE_WINDOW_UPDATE) append(out, cap, "%s ", "window update");
    if (l & TRACE_WINDOW_PROBE) append(out, cap, "%s ", "window probe");
    if (l & TRACE_KEEPALIVE) append(out, cap, "%s ", "keepalive");
    for (size_t k = 0; k < p->sack_count; k++) {
        snprintf(tmp, sizeof(tmp), "sack %u-%u", p->sack[k][0] - a->base[!p->dir],
                 p->sack[k][1] - a->base[!p->dir]);
        append(out, cap, "%s ", tmp);
    }
    if (p->checksum_bad) append(out, cap, "%s ", "(bad cksum)");
    if (p->cut) append(out, cap, "%s ", "(payload cut)");
    for (int e = 0; e < 2; e++) {
        for (size_t k = 0; k < a->nchanges[e]; k++) {
            if (a->changes[e][k].pkt != i) continue;
            snprintf(tmp, sizeof(tmp), "%s:%s", e == 0 ? "A" : "B",
                     synack_state_name(a->changes[e][k].state));
            append(out, cap, "%s ", tmp);
        }
    }
    size_t n = strlen(out);
    if (n > 0 && out[n - 1] == ' ') out[n - 1] = '\0';
}

void trace_print_states(const struct trace_conn *c, const struct trace_analysis *a, FILE *out)
{
    for (int e = 0; e < 2; e++) {
        char ep[SYNACK_ADDR_STRLEN + 8];
        trace_endpoint(c, e, ep, sizeof(ep));
        fprintf(out, "%s %s: %s%s", e == 0 ? "A" : "B", ep,
                a->mid_connection ? "(inferred, the capture starts mid-connection) " : "",
                synack_state_name(a->initial[e]));
        for (size_t k = 0; k < a->nchanges[e]; k++)
            fprintf(out, " -> %s", synack_state_name(a->changes[e][k].state));
        fputc('\n', out);
    }
}

int trace_print_ladder(const struct trace *t, size_t conn, FILE *out)
{
    struct trace_analysis a;
    int rc = trace_analyze(t, conn, &a);
    if (rc != 0) return rc;
    const struct trace_conn *c = &t->conns[conn];
    char ea[SYNACK_ADDR_STRLEN + 8], eb[SYNACK_ADDR_STRLEN + 8];
    trace_endpoint(c, 0, ea, sizeof(ea));
    trace_endpoint(c, 1, eb, sizeof(eb));
    fprintf(out, "connection %zu: A %s  B %s\n", conn + 1, ea, eb);
    fprintf(out, "flags: S SYN, F FIN, R RST, P PSH, . ACK; seq and ack relative to each "
                 "side's first number; win as sent");
    if (a.wscale[0] || a.wscale[1])
        fprintf(out, " (shifted by %u from A, %u from B)", a.wscale[0], a.wscale[1]);
    fprintf(out, "\n\n%12s  %-4s %-46s %s\n", "time s", "dir", "segment", "notes");
    for (size_t i = 0; i < a.n; i++) {
        const struct trace_pkt *p = &t->pkts[a.pkts[i]];
        char flags[16], seg[96], notes[512];
        synack_format_tcp_flags(flags, sizeof(flags), p->flags);
        if (p->flags & SYNACK_TCP_ACK)
            snprintf(seg, sizeof(seg), "%s seq %u ack %u win %u len %u", flags,
                     p->seq - a.base[p->dir], p->ack - a.base[!p->dir], p->window, p->len);
        else
            snprintf(seg, sizeof(seg), "%s seq %u win %u len %u", flags, p->seq - a.base[p->dir],
                     p->window, p->len);
        ladder_notes(&a, i, p, notes, sizeof(notes));
        const char *dir = p->dir == 0 ? "A>B" : "B>A";
        if (notes[0] != '\0')
            fprintf(out, "%12.6f  %-4s %-46s %s\n", secs(p->t), dir, seg, notes);
        else
            fprintf(out, "%12.6f  %-4s %s\n", secs(p->t), dir, seg);
    }
    fputc('\n', out);
    trace_print_states(c, &a, out);
    fprintf(out,
            "retransmissions %u  dup ACKs %u  zero windows %u  window probes %u  "
            "keepalives %u\n",
            a.retransmissions, a.dup_acks, a.zero_windows, a.probes, a.keepalives);
    print_problems(t, out);
    trace_analysis_free(&a);
    return 0;
}
