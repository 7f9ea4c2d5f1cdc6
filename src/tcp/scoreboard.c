/*
 * The sender's scoreboard: one record per transmitted segment from SND.UNA up, in
 * sequence order (RFC 6675 §3 "scoreboard", RFC 8985 §5.2 per-segment state). SACK blocks
 * mark records, loss detection (RFC 6675 IsLost, RACK) marks them lost, and the byte
 * counts kept alongside give RFC 6675's pipe in O(1).
 */
#include "tcp/conn.h"

static uint32_t seg_end(const struct tcp_seg *g)
{
    return g->seq + g->len;
}

/* Adds (sign +1) or removes (-1) a record's contribution to the byte counts. */
static void seg_account(struct synack_tcp *c, const struct tcp_seg *g, int sign)
{
    struct tcp_flight *f = c->fl;
    uint32_t n = g->len;
    unsigned one = 1;
    if (sign < 0) {
        n = 0u - n;
        one = 0u - 1u;
    }
    if (g->flags & TCP_SEG_SACKED) {
        f->sacked_bytes += n;
        f->sacked_segs += one;
        return;
    }
    if (g->flags & TCP_SEG_LOST) {
        f->lost_bytes += n;
        f->lost_segs += one;
        if (!(g->flags & TCP_SEG_RETRANS)) f->lost_pending_segs += one;
    }
    if (g->flags & TCP_SEG_RETRANS) {
        f->retrans_bytes += n;
        f->retrans_segs += one;
    }
}

static void seg_set_flags(struct synack_tcp *c, struct tcp_seg *g, uint32_t flags)
{
    seg_account(c, g, -1);
    g->flags = flags;
    seg_account(c, g, +1);
}

bool tcp_seg_push(struct synack_tcp *c, uint32_t seq, uint32_t len, uint32_t flags,
                  synack_time_t now)
{
    if (!tcp_segs_room(c)) return false;
    struct tcp_flight *fl = c->fl; /* tcp_segs_room may have moved it */
    struct tcp_seg *g = &fl->segs[(fl->seg_head + fl->seg_count) % fl->seg_cap];
    fl->seg_count++;
    g->seq = seq;
    g->len = len;
    g->flags = flags;
    g->xmit_time = now;
    /* Delivery-rate sampling: what had been delivered when this segment left. With
     * nothing in flight the interval starts now. */
    if (fl->seg_count == 1) fl->delivered_time = now;
    g->delivered = c->delivered;
    g->delivered_time = fl->delivered_time;
    return true;
}

bool tcp_seg_split(struct synack_tcp *c, unsigned i, uint32_t len)
{
    if (i >= tcp_seg_count(c) || !tcp_segs_room(c)) return false;
    struct tcp_seg *g = tcp_seg_at(c, i);
    if (len == 0 || len >= g->len) return false;
    /* Records stay in sequence order: the ones after `i` move up one place. */
    for (unsigned k = c->fl->seg_count; k > i + 1; k--)
        *tcp_seg_at(c, k) = *tcp_seg_at(c, k - 1);
    struct tcp_seg *rest = tcp_seg_at(c, i + 1);
    seg_account(c, g, -1);
    *rest = *g;
    rest->seq = g->seq + len;
    rest->len = g->len - len;
    g->len = len;
    g->flags &= ~(uint32_t)TCP_SEG_FIN; /* the FIN is the last sequence number: in `rest` */
    c->fl->seg_count++;
    seg_account(c, g, +1);
    seg_account(c, rest, +1);
    return true;
}

void tcp_seg_grow(struct synack_tcp *c, struct tcp_seg *g, uint32_t len, uint32_t flags)
{
    seg_account(c, g, -1);
    g->len = len;
    g->flags = (g->flags | flags) & ~(uint32_t)TCP_SEG_PROBE;
    seg_account(c, g, +1);
}

void tcp_seg_mark_lost(struct synack_tcp *c, struct tcp_seg *g)
{
    if (g->flags & TCP_SEG_SACKED) return;
    if ((g->flags & TCP_SEG_LOST) && !(g->flags & TCP_SEG_RETRANS)) return;
    /* A retransmission that is lost again no longer counts in the pipe (RFC 6675 §4). */
    seg_set_flags(c, g, (g->flags | TCP_SEG_LOST) & ~(uint32_t)TCP_SEG_RETRANS);
}

void tcp_seg_mark_retrans(struct synack_tcp *c, struct tcp_seg *g, synack_time_t now)
{
    seg_set_flags(c, g, g->flags | TCP_SEG_RETRANS | TCP_SEG_EVER_RETRANS);
    g->xmit_time = now;
    g->delivered = c->delivered;
    g->delivered_time = c->fl->delivered_time;
}

/* RFC 8985 §6.2 step 2: is (t1, seq1) sent after (t2, seq2)? */
static bool rack_sent_after(synack_time_t t1, uint32_t seq1, synack_time_t t2, uint32_t seq2)
{
    return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

/* A record was delivered (cumulatively acked or SACKed): RACK state (RFC 8985 §6.2 steps
 * 2-3) and the delivery rate. */
static void seg_delivered(struct synack_tcp *c, const struct tcp_seg *g, synack_time_t now)
{
    struct tcp_flight *f = c->fl;
    synack_time_t rtt = now - g->xmit_time;
    c->delivered += g->len;
    /* Delivery rate: data delivered since this segment left, over the time it took. */
    synack_time_t interval = now - g->delivered_time;
    if (interval > 0 && c->delivered > g->delivered)
        f->delivery_rate = (c->delivered - g->delivered) * 1000000000ull / interval;
    f->delivered_time = now;
    /* Step 2: ignore a retransmitted segment whose ACK may be for an earlier copy. */
    if ((g->flags & TCP_SEG_EVER_RETRANS) && c->min_rtt && rtt < c->min_rtt) return;
    if (!(g->flags & TCP_SEG_EVER_RETRANS) && (c->min_rtt == 0 || rtt < c->min_rtt))
        c->min_rtt = rtt ? rtt : 1;
    if (rack_sent_after(g->xmit_time, seg_end(g), f->rack_xmit_ts, f->rack_end_seq)) {
        /* RACK.rtt is the RTT of the most recently sent segment delivered. */
        f->rack_rtt = rtt;
        f->rack_xmit_ts = g->xmit_time;
        f->rack_end_seq = seg_end(g);
    }
    /* Step 3: delivered below the highest delivered sequence without having been
     * retransmitted means the network reordered it. */
    if (seq_lt(seg_end(g), f->rack_fack)) {
        if (!(g->flags & TCP_SEG_EVER_RETRANS)) c->flags |= TCP_F_REORDER_SEEN;
    } else {
        f->rack_fack = seg_end(g);
    }
}

uint32_t tcp_segs_ack(struct synack_tcp *c, uint32_t ack, synack_time_t now, synack_time_t *rtt,
                      synack_time_t *last_xmit)
{
    uint32_t newly = 0;
    bool ambiguous = false;
    *last_xmit = 0;
    synack_time_t best = 0;
    synack_time_t best_sent = 0;
    struct tcp_flight *f = c->fl;
    while (f && f->seg_count) {
        struct tcp_seg *g = tcp_seg_at(c, 0);
        if (!seq_gt(ack, g->seq)) break;
        bool whole = seq_geq(ack, seg_end(g));
        if (g->xmit_time > *last_xmit) *last_xmit = g->xmit_time;
        if (!(g->flags & TCP_SEG_SACKED)) {
            uint32_t n = whole ? g->len : ack - g->seq;
            newly += n;
            /* RFC 6298 §3 (Karn): only never-retransmitted segments give samples; the
             * newest such one acked gives the freshest RTT. */
            if (g->flags & TCP_SEG_EVER_RETRANS) ambiguous = true;
            if (!(g->flags & TCP_SEG_EVER_RETRANS) && g->xmit_time >= best_sent) {
                best_sent = g->xmit_time;
                best = now - g->xmit_time;
                if (best == 0) best = 1;
            }
            if (whole) seg_delivered(c, g, now);
        }
        if (!whole) {
            /* Partly acknowledged: keep the rest (a peer may ACK inside a segment). */
            seg_account(c, g, -1);
            g->len -= ack - g->seq;
            g->seq = ack;
            seg_account(c, g, +1);
            break;
        }
        seg_account(c, g, -1);
        f->seg_head = (f->seg_head + 1) % f->seg_cap;
        f->seg_count--;
    }
    if (f && f->seg_count == 0) f->seg_head = 0;
    /* Karn (RFC 6298 §3), applied to the whole ACK: when it also covers a retransmission,
     * the later segments may have waited behind that hole, and their RTT would include
     * the repair time. */
    *rtt = ambiguous ? 0 : best;
    return newly;
}

uint32_t tcp_segs_sack(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now,
                       bool *dsack)
{
    uint32_t newly = 0;
    *dsack = false;
    for (unsigned b = 0; b < seg->sack_count; b++) {
        uint32_t left = seg->sack[b].left, right = seg->sack[b].right;
        TCP_COUNT(c, sack_blocks_in);
        if (!seq_lt(left, right)) continue; /* malformed: ignore */
        /* RFC 2883 §4: a first block below the cumulative ACK, or inside the second
         * block, reports a duplicate (D-SACK), not new data. */
        if (b == 0 &&
            (seq_leq(right, seg->ack) || (seg->sack_count > 1 && seq_geq(left, seg->sack[1].left) &&
                                          seq_leq(right, seg->sack[1].right)))) {
            *dsack = true;
            TCP_COUNT(c, dsacks_in);
            continue;
        }
        /* RFC 2018 §3: blocks must lie within what was sent and is unacknowledged;
         * anything else is ignored rather than trusted. */
        if (seq_lt(left, c->snd_una) || seq_gt(right, c->snd_nxt)) continue;
        /* The first record ending after `left` (records are in sequence order). */
        unsigned n = tcp_seg_count(c), lo = 0, hi = n;
        while (lo < hi) {
            unsigned mid = lo + (hi - lo) / 2;
            if (seq_leq(seg_end(tcp_seg_at(c, mid)), left))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (unsigned i = lo; i < n; i++) {
            struct tcp_seg *g = tcp_seg_at(c, i);
            if (seq_geq(g->seq, right)) break;
            if (seq_lt(g->seq, left) || seq_gt(seg_end(g), right)) continue;
            if (g->flags & TCP_SEG_SACKED) continue;
            newly += g->len;
            seg_set_flags(c, g, g->flags | TCP_SEG_SACKED);
            seg_delivered(c, g, now);
        }
    }
    return newly;
}

unsigned tcp_segs_detect_sack_loss(struct synack_tcp *c)
{
    /* RFC 6675 §4 IsLost(SeqNum): DupThresh SACKed segments above it, or more than
     * (DupThresh - 1) * SMSS SACKed bytes above it. Walk down from the top counting. */
    unsigned above_segs = 0, marked = 0;
    uint32_t above_bytes = 0;
    uint32_t limit = (TCP_DUPTHRESH - 1) * (uint32_t)c->eff_mss;
    if (!c->fl || c->fl->sacked_segs == 0) return 0;
    for (unsigned i = c->fl->seg_count; i-- > 0;) {
        struct tcp_seg *g = tcp_seg_at(c, i);
        if (g->flags & TCP_SEG_SACKED) {
            above_segs++;
            above_bytes += g->len;
            continue;
        }
        if (g->flags & (TCP_SEG_LOST | TCP_SEG_EVER_RETRANS)) continue;
        if (above_segs >= TCP_DUPTHRESH || above_bytes > limit) {
            tcp_seg_mark_lost(c, g);
            marked++;
        }
    }
    return marked;
}

/* RFC 8985 §6.2 step 4: the reordering window. */
static synack_time_t rack_reo_wnd(const struct synack_tcp *c)
{
    if (!(c->flags & TCP_F_REORDER_SEEN)) {
        if (c->recovery != TCP_RS_OPEN) return 0;
        if (c->fl->sacked_segs >= TCP_DUPTHRESH) return 0;
    }
    synack_time_t w = (synack_time_t)tcp_rack_reo_mult(c->rare) * c->min_rtt / 4;
    return c->have_rtt && w > c->srtt ? c->srtt : w;
}

unsigned tcp_rack_detect_loss(struct synack_tcp *c, synack_time_t now)
{
    struct tcp_flight *f = c->fl;
    if (!f || f->rack_xmit_ts == 0) return 0;
    synack_time_t reo = rack_reo_wnd(c);
    synack_time_t timeout = 0;
    unsigned marked = 0;
    for (unsigned i = 0; i < f->seg_count; i++) {
        struct tcp_seg *g = tcp_seg_at(c, i);
        if (g->flags & TCP_SEG_SACKED) continue;
        if ((g->flags & TCP_SEG_LOST) && !(g->flags & TCP_SEG_RETRANS)) continue;
        if (!rack_sent_after(f->rack_xmit_ts, f->rack_end_seq, g->xmit_time, seg_end(g))) {
            /* Records are in sequence order, and a never-retransmitted one was sent after
             * every record below it: the first such record sent after RACK.xmit_ts ends
             * the candidates (retransmissions above it went out later still). */
            if (!(g->flags & TCP_SEG_EVER_RETRANS)) break;
            continue;
        }
        synack_time_t deadline = g->xmit_time + f->rack_rtt + reo;
        if (deadline <= now) {
            tcp_seg_mark_lost(c, g);
            TCP_COUNT(c, rack_losses);
            marked++;
        } else if (deadline - now > timeout) {
            timeout = deadline - now;
        }
    }
    /* Step 6 (§6.3): re-check when the youngest candidate's reordering window ends. */
    f->reorder_at = timeout ? now + timeout : SYNACK_NEVER;
    tcp_timer_update(c);
    return marked;
}

void tcp_segs_mark_all_lost(struct synack_tcp *c)
{
    for (unsigned i = 0; i < tcp_seg_count(c); i++)
        tcp_seg_mark_lost(c, tcp_seg_at(c, i));
}

struct tcp_seg *tcp_segs_next_lost(const struct synack_tcp *c)
{
    if (!c->fl || c->fl->lost_pending_segs == 0) return NULL;
    for (unsigned i = 0; i < c->fl->seg_count; i++) {
        struct tcp_seg *g = tcp_seg_at(c, i);
        if ((g->flags & (TCP_SEG_LOST | TCP_SEG_RETRANS | TCP_SEG_SACKED)) == TCP_SEG_LOST)
            return g;
    }
    return NULL;
}

uint32_t tcp_pipe(const struct synack_tcp *c)
{
    /* RFC 6675 §4 SetPipe: every unSACKed byte not deemed lost counts once, and once more
     * if it was retransmitted. Without SACK each duplicate ACK stands for one segment that
     * left the network (RFC 6582 window inflation, expressed as a smaller pipe). */
    const struct tcp_flight *f = c->fl;
    if (!f) return tcp_flight(c); /* nothing SACKed, lost or inflating */
    uint32_t out = tcp_flight(c) - f->sacked_bytes;
    uint32_t pipe = out - f->lost_bytes + f->retrans_bytes;
    return pipe > f->dup_bytes ? pipe - f->dup_bytes : 0;
}

unsigned tcp_segs_lost_unsent(const struct synack_tcp *c)
{
    return c->fl ? c->fl->lost_pending_segs : 0;
}

void tcp_seg_unsack_lost(struct synack_tcp *c, struct tcp_seg *g)
{
    /* RFC 2018 §8: after a timeout the left edge is sent again even if it was SACKed
     * (the receiver may have reneged). */
    seg_set_flags(c, g, (g->flags | TCP_SEG_LOST) & ~(uint32_t)(TCP_SEG_SACKED | TCP_SEG_RETRANS));
}
