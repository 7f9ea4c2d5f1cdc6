#include "annotate.h"

#include <stdio.h>
#include <string.h>

#include "scenario.h"

void annotator_init(struct annotator *a)
{
    memset(a, 0, sizeof *a);
    a->state[0] = a->state[1] = SYNACK_CLOSED;
    a->wscale[0] = a->wscale[1] = -1;
}

static bool is_loss(enum synack_sim_packet_kind k)
{
    return k == SYNACK_SIM_LOST || k == SYNACK_SIM_DROPPED || k == SYNACK_SIM_QUEUE_FULL;
}

/* Sequence space the segment takes: its data, plus one for SYN and for FIN. */
static uint32_t seg_used(const struct synack_segment *s)
{
    return (uint32_t)s->payload_len + ((s->flags & SYNACK_TCP_SYN) ? 1u : 0u) +
           ((s->flags & SYNACK_TCP_FIN) ? 1u : 0u);
}

/* The window notes: zero, update, and the probe a sender pushes into a zero window. */
static unsigned window_notes(const struct annotator *a, int side, const struct synack_segment *s,
                             unsigned sacks, bool bare)
{
    unsigned n = 0;
    uint8_t f = s->flags;
    if (f & (SYNACK_TCP_SYN | SYNACK_TCP_RST)) return 0;
    if (s->window == 0) n |= NOTE_ZERO_WINDOW;
    if (bare && sacks == 0 && a->have_last[side] && s->ack == a->last_ack[side] &&
        s->window > a->last_win[side])
        n |= NOTE_WINDOW_UPDATE;
    if (s->payload_len > 0 && a->have_seen_win[side] && a->seen_win[side] == 0)
        n |= NOTE_WINDOW_PROBE;
    return n;
}

/* RFC 5681 §2 "duplicate acknowledgment": no data, no SYN or FIN, the same ACK and window
 * as the last, and data of the peer outstanding (a zero window repeated is not one); or,
 * RFC 6675 §2, the same ACK with SACK blocks, whatever the window. */
static bool is_dup_ack(const struct annotator *a, int side, const struct synack_segment *s,
                       unsigned sacks, bool bare)
{
    int peer = !side;
    bool same_window = s->window == a->last_win[side] && s->window != 0;
    return bare && a->have_last[side] && s->ack == a->last_ack[side] &&
           (same_window || sacks > 0) && a->sent_any[peer] &&
           synack_seq_lt(s->ack, a->max_end[peer]);
}

/* The window's right edge in an ACK: RFC 7323 §2.3, the field shifted by the scale its
 * sender offered, when both offered one (never in a SYN, whose window is unscaled). */
static void note_edge(struct annotator *a, struct annotated *x)
{
    const struct synack_segment *s = &x->seg;
    int side = x->side;
    if (s->flags & SYNACK_TCP_SYN) a->wscale[side] = s->has_wscale ? s->wscale : -1;
    if (!(s->flags & SYNACK_TCP_ACK) || (s->flags & SYNACK_TCP_RST)) return;
    bool scaled = a->wscale[0] >= 0 && a->wscale[1] >= 0 && !(s->flags & SYNACK_TCP_SYN);
    uint32_t wnd = (uint32_t)s->window << (scaled ? a->wscale[side] : 0);
    a->edge[side] = s->ack + wnd;
    a->have_edge[side] = true;
    x->rel_edge = a->edge[side] - a->iss[!side];
}

static void annotate_sent(struct annotator *a, struct annotated *x)
{
    const struct synack_segment *s = &x->seg;
    int side = x->side;
    uint8_t f = s->flags;
    uint32_t used = seg_used(s);
    note_edge(a, x);
    if (s->payload_len && a->have_edge[!side] &&
        s->seq + (uint32_t)s->payload_len == a->edge[!side])
        x->notes |= NOTE_FILLS_WINDOW;
    bool bare = used == 0 && !(f & SYNACK_TCP_RST) && (f & SYNACK_TCP_ACK);
    if (bare && a->sent_any[side] && s->seq == a->max_end[side] - 1)
        x->notes |= NOTE_KEEPALIVE; /* RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT - 1 */
    else if (is_dup_ack(a, side, s, x->extra.sack_count, bare))
        x->notes |= NOTE_DUP_ACK;
    x->notes |= window_notes(a, side, s, x->extra.sack_count, bare && !(x->notes & NOTE_KEEPALIVE));
    if (a->state[side] == SYNACK_TIME_WAIT) x->notes |= NOTE_FROM_TIME_WAIT;
    bool synack = (f & SYNACK_TCP_SYN) && (f & SYNACK_TCP_ACK);
    if (synack && a->sent_syn[side] && !a->sent_synack[side])
        x->notes |= NOTE_SIMOPEN_SYNACK;
    else if (used && a->sent_any[side] && synack_seq_lt(s->seq, a->max_end[side]) &&
             !(x->notes & NOTE_WINDOW_PROBE))
        x->notes |= NOTE_RETRANSMISSION;
    if (x->notes & NOTE_DUP_ACK)
        x->dup_ack = ++a->dups[side];
    else if (!(x->notes & NOTE_KEEPALIVE))
        a->dups[side] = 0;
    if (used && (!a->sent_any[side] || synack_seq_gt(s->seq + used, a->max_end[side])))
        a->max_end[side] = s->seq + used;
    if (used) a->sent_any[side] = true;
    if (synack) a->sent_synack[side] = true;
    if ((f & SYNACK_TCP_SYN) && !(f & SYNACK_TCP_ACK)) a->sent_syn[side] = true;
    if ((f & SYNACK_TCP_ACK) && !(f & SYNACK_TCP_RST) && !(x->notes & NOTE_KEEPALIVE)) {
        a->last_ack[side] = s->ack;
        a->last_win[side] = s->window;
        a->have_last[side] = !(f & SYNACK_TCP_SYN); /* a SYN's window is unscaled */
    }
}

bool annotator_packet(struct annotator *a, const struct synack_sim_packet *ev, struct annotated *x)
{
    if (ev->kind != SYNACK_SIM_SENT && ev->kind != SYNACK_SIM_DELIVERED && !is_loss(ev->kind))
        return false;
    if (ev->kind == SYNACK_SIM_DELIVERED && (ev->flags & SYNACK_SIM_F_DUPLICATE)) return false;
    memset(x, 0, sizeof *x);
    if (synack_segment_parse_capture(ev->pkt, ev->len, &x->seg, &x->extra) != SYNACK_DROP_NONE)
        return false;
    struct synack_addr client = scenario_addr(x->seg.src.family == SYNACK_AF_INET6, false);
    x->side = synack_addr_eq(&x->seg.src, &client) ? 0 : 1;
    x->kind = ev->kind;
    x->t = ev->time;
    x->number = ev->number;
    int side = x->side;
    if (ev->kind == SYNACK_SIM_SENT && (x->seg.flags & SYNACK_TCP_SYN) && !a->have_iss[side]) {
        a->iss[side] = x->seg.seq;
        a->have_iss[side] = true;
    }
    x->rel_seq = x->seg.seq - a->iss[side];
    x->rel_ack = x->seg.ack - a->iss[!side];
    x->rel_ack_known = a->have_iss[!side];
    if (ev->kind == SYNACK_SIM_SENT) annotate_sent(a, x);
    if (ev->kind == SYNACK_SIM_DELIVERED) {
        x->rx_state = a->state[!side];
        a->delivered_t[!side] = ev->time;
        a->delivered_flags[!side] = x->seg.flags;
        a->have_delivered[!side] = true;
        if ((x->seg.flags & SYNACK_TCP_ACK) &&
            !(x->seg.flags & (SYNACK_TCP_SYN | SYNACK_TCP_RST))) {
            a->seen_win[!side] = x->seg.window;
            a->have_seen_win[!side] = true;
        }
    }
    return true;
}

enum annotate_cause annotator_state(struct annotator *a, int side, enum synack_state from,
                                    enum synack_state to, synack_time_t t, uint8_t *flags)
{
    a->state[side] = to;
    bool app_close = (to == SYNACK_FIN_WAIT_1 || to == SYNACK_LAST_ACK) && from != SYNACK_CLOSED;
    bool arrived = a->have_delivered[side] && a->delivered_t[side] == t;
    if (from == SYNACK_CLOSED && to == SYNACK_SYN_SENT) return CAUSE_CONNECT;
    if (to == SYNACK_LISTEN) return CAUSE_LISTEN;
    if (from == SYNACK_LISTEN && to == SYNACK_CLOSED) return CAUSE_LISTENER_CLOSES;
    if (app_close) return CAUSE_APP_CLOSES;
    if (to == SYNACK_CLOSED && from != SYNACK_TIME_WAIT && from != SYNACK_LAST_ACK &&
        from != SYNACK_CLOSING && !(arrived && (a->delivered_flags[side] & SYNACK_TCP_RST)))
        return CAUSE_ABORT;
    if (arrived) {
        if (flags) *flags = a->delivered_flags[side];
        return CAUSE_ARRIVING;
    }
    return from == SYNACK_TIME_WAIT ? CAUSE_2MSL : CAUSE_NONE;
}

size_t annotate_options(const struct annotator *a, const struct annotated *x, char *out, size_t cap)
{
    const struct synack_segment *s = &x->seg;
    size_t n = 0;
    out[0] = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap) n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);                         \
    } while (0)
    if (s->has_mss) PUT("%smss %u", n ? ", " : "", s->mss);
    if (s->has_wscale) PUT("%swscale %u", n ? ", " : "", s->wscale);
    if (x->extra.sack_permitted) PUT("%ssackOK", n ? ", " : "");
    if (s->has_ts && (s->flags & SYNACK_TCP_SYN)) PUT("%sTS", n ? ", " : "");
    uint32_t base = a->iss[!x->side];
    for (size_t i = 0; i < x->extra.sack_count; i++)
        PUT("%s%u-%u",
            i   ? " "
            : n ? ", SACK "
                : "SACK ",
            x->extra.sack[i].left - base, x->extra.sack[i].right - base);
#undef PUT
    return n < cap ? n : cap - 1;
}
