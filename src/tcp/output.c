/* Output: decide why to send (SYN, retransmission, new data, FIN, probe, ACK), build the
 * segment with its options, then update the scoreboard and the timers. */
#include "tcp/conn.h"

/* The window field's limit on `space` (RFC 7323 §2.3). */
static uint32_t rcv_field_clamp(const struct synack_tcp *c, size_t space)
{
    uint32_t max = (uint32_t)TCP_MAX_WINDOW << c->rcv_wscale;
    return space > max ? max : (uint32_t)space;
}

/* RFC 1122 §4.2.3.3 receiver SWS avoidance: the right edge moves by min(buffer/2, MSS) at
 * least, the buffer being its size now (tcp_rcvbuf_size). */
static uint32_t sws_step(const struct synack_tcp *c)
{
    size_t size = tcp_rcvbuf_size(c);
    uint32_t half = size > 1 ? (uint32_t)(size / 2) : 1;
    return c->rcv_mss < half ? c->rcv_mss : half;
}

uint32_t tcp_rcv_window(const struct synack_tcp *c)
{
    uint32_t unit = (uint32_t)1 << c->rcv_wscale;
    /* raw: what the storage can back, the most an edge already offered may need; space:
     * the largest window the buffer's size supports now, before the never-shrink rule (a
     * size set below what the buffer holds offers nothing new until it is read). */
    uint32_t raw = rcv_field_clamp(c, ring_space(&c->rcvq));
    uint32_t space = rcv_field_clamp(c, tcp_rcv_room(c));
    if (!tcp_is_synchronized(c->state)) return space & ~(unit - 1);
    uint32_t known = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    /* RFC 1122 §4.2.3.3 receiver SWS avoidance: a smaller opening is kept back. */
    uint32_t step = sws_step(c);
    /* mem_budget reached: the edge already offered stays, and goes no further. */
    bool grow = space >= known + step && !tcp_mem_pressure(c);
    uint32_t wnd = grow ? space : known;
    /* RFC 7323 §2.3: the field carries wnd >> shift, so offer a multiple of 2^shift. */
    wnd &= ~(unit - 1);
    if (wnd < known) {
        /* RFC 9293 §3.8.6.2.2: never move the right edge left, so round what was offered
         * up to the scale unit. As RCV.NXT moves by amounts that are not multiples of it,
         * repeated rounding would creep past the buffer; where the buffer cannot back the
         * rounded edge, the edge comes back by less than 2^shift instead (RFC 7323 §2.4:
         * the scaled field cannot say it more precisely). */
        uint32_t up = (known + unit - 1) & ~(unit - 1);
        wnd = up <= raw ? up : known & ~(unit - 1);
    }
    return wnd;
}

bool tcp_should_update_window(struct synack_tcp *c)
{
    /* RFC 1122 §4.2.3.3 / RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): announce a larger
     * window only when it has grown by min(rcvbuf/2, MSS) beyond what the peer knows, and
     * only while what the peer knows is small (under half the buffer): a window update for
     * every read would double the ACKs of a bulk transfer for nothing. */
    uint32_t known = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t now_wnd = tcp_rcv_window(c);
    size_t size = tcp_rcvbuf_size(c);
    uint32_t half = size > 1 ? (uint32_t)(size / 2) : 1;
    uint32_t step = sws_step(c);
    if (known >= half || now_wnd < known + step || tcp_mem_pressure(c)) return false;
    c->flags |= TCP_F_ACK_NOW;
    return true;
}

/* What the next segment carries: [seq, seq + len) of data, and which control bits. */
struct out_plan {
    uint32_t seq;
    uint32_t len;
    uint8_t flags;
    struct tcp_seg *rtx; /* a retransmission of this record, or NULL for new data */
    bool probe;          /* a zero-window probe byte */
    bool tlp;            /* a tail loss probe (RFC 8985 §7.3) */
    bool keepalive;      /* a keepalive probe (RFC 1122 §4.2.3.6) */
};

/* Our SYN is outstanding and must be (re)sent: SYN_SENT, or SYN_RECEIVED after a passive
 * open or a simultaneous one. */
static bool plan_syn(const struct synack_tcp *c, struct out_plan *p)
{
    if (c->snd_una != c->iss || c->snd_rtx != c->iss) {
        /* SYN sent and waiting. In SYN_RECEIVED every reply still carries our SYN, so an
         * ACK we owe (for an unacceptable segment or a repeated SYN) is a SYN-ACK. */
        if (!(c->snd_una == c->iss && (c->flags & TCP_F_ACK_NOW) && c->state != SYNACK_SYN_SENT))
            return false;
    }
    p->seq = c->iss;
    p->len = 0;
    p->flags = WIRE_TCP_SYN;
    if (c->state != SYNACK_SYN_SENT) p->flags |= WIRE_TCP_ACK;
    return true;
}

static void plan_record(const struct synack_tcp *c, const struct tcp_seg *g, struct out_plan *p)
{
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    p->seq = g->seq;
    p->len = g->len - ((g->flags & TCP_SEG_FIN) ? 1u : 0u);
    p->flags = WIRE_TCP_ACK | ((g->flags & TCP_SEG_FIN) ? WIRE_TCP_FIN : 0);
    if (p->len && p->seq + p->len == data_end) p->flags |= WIRE_TCP_PSH;
    p->rtx = (struct tcp_seg *)g;
}

/* RFC 1191 §6.4: "The datagram size used in the retransmission should, of course, be no
 * larger than the new PMTU." A record sent before the MSS fell is split so that the piece
 * about to go again holds at most one effective MSS: the first piece, or with `last` the
 * last one (a tail loss probe). A full scoreboard leaves it whole. */
static struct tcp_seg *fit_record(struct synack_tcp *c, struct tcp_seg *g, bool last)
{
    uint32_t data = g->len - ((g->flags & TCP_SEG_FIN) ? 1u : 0u);
    if (data <= c->eff_mss || (g->flags & TCP_SEG_PROBE)) return g;
    unsigned i = tcp_seg_index(c, g);
    /* The split may grow the scoreboard and move it: the record is found again by index
     * (the piece to resend is the last with `last`). */
    if (!tcp_seg_split(c, i, last ? data - c->eff_mss : c->eff_mss)) return tcp_seg_at(c, i);
    return tcp_seg_at(c, last ? i + 1 : i);
}

/* RFC 6675 §5 NextSeg rule (1): the first segment deemed lost and not yet retransmitted,
 * if cwnd - pipe leaves room for it (or nothing at all is in the network). */
static bool plan_retransmit(struct synack_tcp *c, struct out_plan *p, uint32_t pipe)
{
    struct tcp_seg *g = tcp_segs_next_lost(c);
    if (!g) return false;
    g = fit_record(c, g, false);
    bool probe = (c->flags & TCP_F_PROBE) != 0;
    if (c->snd_wnd == 0 && !probe) return false; /* the persist timer will probe */
    bool now = (c->flags & TCP_F_RTX_NOW) != 0;  /* RFC 6675 §5 (4.3), RFC 6582 §3.2 (2) */
    if (pipe != 0 && pipe + g->len > c->cc.cwnd && !probe && !now) {
        c->cwnd_limited = true;
        return false;
    }
    plan_record(c, g, p);
    if ((g->flags & TCP_SEG_PROBE) && c->fl->seg_count == 1 && c->snd_wnd > 0) {
        /* The window opened over a zero-window probe byte the peer did not take: resend
         * it together with the data after it, as one segment (the record grows). */
        uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
        uint32_t n = data_end - g->seq;
        uint32_t wnd_end = tcp_snd_wnd_end(c);
        uint32_t room = seq_lt(g->seq, wnd_end) ? wnd_end - g->seq : 0;
        if (n > c->eff_mss) n = c->eff_mss;
        if (n > room) n = room;
        if (n > p->len && !(g->flags & TCP_SEG_FIN)) {
            p->len = n;
            p->flags = WIRE_TCP_ACK | (g->seq + n == data_end ? WIRE_TCP_PSH : 0);
            if ((c->flags & TCP_F_FIN_QUEUED) && g->seq + n == c->fin_seq) p->flags |= WIRE_TCP_FIN;
        }
    }
    return true;
}

/* New data at SND.NXT (and our FIN after it), under the receive window (RFC 9293
 * §3.8.6.1), cwnd (RFC 5681), Nagle (RFC 1122 §4.2.3.4) and sender SWS avoidance. */
static bool plan_new(struct synack_tcp *c, struct out_plan *p, uint32_t pipe)
{
    uint32_t nxt = c->snd_nxt;
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    bool fin = (c->flags & TCP_F_FIN_QUEUED) != 0;
    bool force = (c->flags & (TCP_F_PROBE | TCP_F_TLP)) != 0;
    p->seq = nxt;
    p->len = 0;
    p->flags = WIRE_TCP_ACK;
    /* The scoreboard's room is asked for (and its storage made) only for what it records:
     * a bare ACK needs none. Full: wait for ACKs. */
    if (!seq_lt(nxt, data_end)) {
        if (fin && nxt == c->fin_seq && tcp_segs_room(c)) {
            p->flags |= WIRE_TCP_FIN;
            return true;
        }
        return false;
    }
    if (!tcp_segs_room(c)) return false;
    uint32_t avail = data_end - nxt;
    uint32_t n = avail < c->eff_mss ? avail : c->eff_mss;
    uint32_t wnd_end = tcp_snd_wnd_end(c);
    uint32_t room = seq_lt(nxt, wnd_end) ? wnd_end - nxt : 0;
    if (room == 0) {
        /* RFC 9293 §3.8.6.1: only the persist timer's one-byte probe goes past a zero
         * window. */
        if (!(c->flags & TCP_F_PROBE)) return false;
        p->len = 1;
        p->probe = true;
        if (fin && nxt + 1 == c->fin_seq) p->flags |= WIRE_TCP_FIN;
        return true;
    }
    uint32_t cwnd_room = c->cc.cwnd > pipe ? c->cc.cwnd - pipe : 0;
    if (c->flags & TCP_F_TLP && cwnd_room < n) cwnd_room = n; /* RFC 8985 §7.3 */
    if (n > cwnd_room) {
        /* cwnd allows less than a segment: wait for ACKs rather than send a runt, unless
         * nothing at all is in the network. */
        c->cwnd_limited = true;
        if (pipe != 0 || cwnd_room == 0) return false;
        n = cwnd_room;
    }
    if (n > room) {
        /* RFC 1122 §4.2.3.4 sender SWS avoidance: a window-limited segment only if it is
         * at least half the largest window the peer offered (or the persist timer says
         * so); otherwise wait for the window to open. */
        if (room < c->max_snd_wnd / 2 && !force) return false; /* persist timer overrides */
        n = room;
    }
    if (n < c->eff_mss && n == avail && !force && !(fin && nxt + n == c->fin_seq)) {
        /* RFC 1122 §4.2.3.4 Nagle, in Minshall's form (draft-minshall-nagle): a short
         * segment waits while an earlier short segment is unacknowledged. The RFC's form
         * (wait while anything is unacknowledged) would hold the tail of every write that
         * is not a multiple of the MSS for a round trip, or a delayed-ACK timeout. */
        /* Without a flight block every short segment is acknowledged. */
        if (!(c->flags & TCP_F_NODELAY) && c->fl && seq_gt(c->fl->snd_sml, c->snd_una))
            return false;
    }
    p->len = n;
    if (nxt + n == data_end) p->flags |= WIRE_TCP_PSH;
    if (fin && nxt + n == c->fin_seq) p->flags |= WIRE_TCP_FIN;
    return true;
}

/* Data, FIN, probes or a bare ACK in a synchronized state. */
static bool plan_data(struct synack_tcp *c, struct out_plan *p)
{
    uint32_t pipe = tcp_pipe(c);
    if (plan_retransmit(c, p, pipe)) return true;
    if (plan_new(c, p, pipe)) {
        p->tlp = (c->flags & TCP_F_TLP) != 0;
        return true;
    }
    if ((c->flags & TCP_F_TLP) && tcp_seg_count(c)) {
        /* RFC 8985 §7.3: no new data can go, so the probe retransmits the last segment. */
        (void)fit_record(c, tcp_seg_at(c, c->fl->seg_count - 1), true);
        plan_record(c, tcp_seg_at(c, c->fl->seg_count - 1), p);
        p->tlp = true;
        return true;
    }
    if ((c->flags & TCP_F_KEEPALIVE) && c->snd_una == c->snd_nxt && !(c->flags & TCP_F_ACK_NOW) &&
        c->delack_at == SYNACK_NEVER) {
        /* RFC 1122 §4.2.3.6: a keepalive is <SEQ=SND.NXT-1> with no data; the peer's
         * answer is an ACK for an old sequence number. */
        p->seq = c->snd_nxt - 1;
        p->len = 0;
        p->flags = WIRE_TCP_ACK;
        p->keepalive = true;
        return true;
    }
    /* A bare ACK. While the peer's window is zero its sequence number leaves out an
     * unacknowledged zero-window probe byte (which the peer most likely dropped): at
     * SND.NXT it would lie past the peer's zero window and be unacceptable, its ACK field
     * lost (RFC 9293 §3.10.7.4 first check). BSD does the same by pulling snd_nxt back after
     * a probe. Once the peer offers a window again it has most likely taken the byte, and
     * SND.NXT - 1 would lie before its RCV.NXT: unacceptable too, and both ends could wait
     * for each other's ACK for ever. */
    p->seq = c->snd_nxt;
    if (c->snd_wnd == 0 && tcp_seg_count(c) &&
        (tcp_seg_at(c, c->fl->seg_count - 1)->flags & TCP_SEG_PROBE))
        p->seq--;
    p->len = 0;
    p->flags = WIRE_TCP_ACK;
    /* A keepalive due while an ACK is delayed: the ACK goes now, the probe after it. */
    return (c->flags & TCP_F_ACK_NOW) ||
           ((c->flags & TCP_F_KEEPALIVE) && c->delack_at != SYNACK_NEVER);
}

static bool plan_next(struct synack_tcp *c, struct out_plan *p)
{
    switch (c->state) {
    case SYNACK_CLOSED:
    case SYNACK_LISTEN:
        return false;
    case SYNACK_TIME_WAIT:
        p->seq = c->snd_nxt;
        p->len = 0;
        p->flags = WIRE_TCP_ACK;
        return (c->flags & TCP_F_ACK_NOW) != 0;
    default:
        break;
    }
    if (c->snd_una == c->iss) return plan_syn(c, p);
    return plan_data(c, p);
}

/* ---- TCP segmentation offload (SYNACK_TX_TSO4/6) ---- */

/* Whether the link cuts TCP segments of this connection's family (it finishes their
 * checksums too: each piece needs its own). */
static bool tso_is_allowed(const struct synack_tcp *c, unsigned tx)
{
    unsigned tso = c->local_addr.family == SYNACK_AF_INET6 ? SYNACK_TX_TSO6 : SYNACK_TX_TSO4;
    return (tx & SYNACK_TX_CSUM) && (tx & tso) && c->env->cfg->gso_max_size > 0;
}

/* How many full segments of new data, `p` being the first, can go as one segment the link
 * cuts: each must be one plan_new would send right after the one before, so only full
 * segments (RFC 9293 §3.7.1: each at most the effective MSS), every one inside cwnd with
 * the ones before it in the pipe (RFC 5681 §3.1) and inside the peer's window (RFC 9293
 * §3.8.6.1), each with a scoreboard record of its own (RFC 6675, RFC 8985 account for every
 * segment); none while loss is being repaired or duplicate ACKs inflate the window (the
 * pipe then does not grow by what is sent), nor for probes, nor with a D-SACK to report
 * (RFC 2883: in the first segment only, and each piece would repeat it). The packet stays
 * within gso_max_size and `cap`, counting the largest TCP header. 1: send `p` alone. */
static unsigned tso_pieces(struct synack_tcp *c, const struct out_plan *p, size_t cap)
{
    uint32_t mss = c->eff_mss;
    if (p->len != mss || p->rtx || p->probe ||
        (c->flags & (TCP_F_TLP | TCP_F_PROBE | TCP_F_DSACK)) || c->recovery != TCP_RS_OPEN ||
        (c->fl && (c->fl->dupacks || c->fl->dup_bytes)))
        return 1;
    size_t limit = c->env->cfg->gso_max_size < cap ? c->env->cfg->gso_max_size : cap;
    size_t hdr = wire_ip_header_len(c->local_addr.family) + WIRE_TCP_MAX_HDR_LEN;
    if (limit <= hdr) return 1;
    uint32_t most = (uint32_t)((limit - hdr) / mss);
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    uint32_t avail = data_end - p->seq;
    uint32_t wnd_end = tcp_snd_wnd_end(c);
    uint32_t room = seq_lt(p->seq, wnd_end) ? wnd_end - p->seq : 0;
    uint32_t pipe = tcp_pipe(c);
    uint32_t cwnd_room = c->cc.cwnd > pipe ? c->cc.cwnd - pipe : 0;
    uint32_t bytes = avail < room ? avail : room;
    if (cwnd_room < bytes) bytes = cwnd_room;
    if (bytes / mss < most) most = bytes / mss;
    if (most < 2) return 1;
    return tcp_segs_room_n(c, most);
}

/* The plan of piece `i` of `pieces` cut from `p`: PSH and FIN on the last piece only, as a
 * segmentation offload writes them (and as plan_new would have set them). */
static struct out_plan tso_piece(const struct out_plan *p, unsigned i, unsigned pieces,
                                 uint32_t mss)
{
    struct out_plan q = *p;
    q.seq = p->seq + i * mss;
    q.len = mss;
    if (i + 1 < pieces) q.flags &= (uint8_t) ~(WIRE_TCP_PSH | WIRE_TCP_FIN);
    return q;
}

/* Grows `p` (one full segment) to `pieces` of them, with PSH and FIN as plan_new sets them
 * for the last. */
static void tso_extend(const struct synack_tcp *c, struct out_plan *p, unsigned pieces)
{
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    p->len = pieces * c->eff_mss;
    p->flags = WIRE_TCP_ACK;
    if (p->seq + p->len == data_end) p->flags |= WIRE_TCP_PSH;
    if ((c->flags & TCP_F_FIN_QUEUED) && p->seq + p->len == c->fin_seq) p->flags |= WIRE_TCP_FIN;
}

/* After sending: scoreboard, counters, ACK state and timers. */
static void after_send(struct synack_tcp *c, const struct out_plan *p, bool dsack_sent,
                       synack_time_t now)
{
    uint32_t used =
        p->len + ((p->flags & WIRE_TCP_SYN) ? 1u : 0u) + ((p->flags & WIRE_TCP_FIN) ? 1u : 0u);
    /* A window probe: the persist byte, or a retransmission pushed into a zero window. */
    bool probe = p->probe || ((c->flags & TCP_F_PROBE) && c->snd_wnd == 0 && p->len);
    c->flags &= ~(uint32_t)(TCP_F_ACK_NOW | TCP_F_PROBE | TCP_F_TLP);
    /* An ACK we owed goes out first as a real ACK (its window is taken by the peer; a
     * keepalive's old sequence number would make the peer ignore it); the probe follows. */
    if (p->keepalive || used) c->flags &= ~(uint32_t)TCP_F_KEEPALIVE;
    TCP_COUNT(c, segs_out);
    if (p->len) {
        c->bytes_out += p->len;
        c->env->counters->bytes_out += p->len;
    }
    if (probe) TCP_COUNT(c, window_probes);
    if (dsack_sent) {
        c->flags &= ~(uint32_t)TCP_F_DSACK;
        TCP_COUNT(c, dsacks_out);
    }
    if ((p->flags & WIRE_TCP_ACK) && !p->keepalive) {
        /* Every ACK we send answers what a delayed ACK was waiting for (not a keepalive:
         * its old sequence number makes the peer ignore its window). */
        uint32_t wnd = tcp_rcv_window(c);
        /* A SYN's window field is unscaled (RFC 7323 §2.2): that is all the peer knows. */
        if ((p->flags & WIRE_TCP_SYN) && wnd > TCP_MAX_WINDOW) wnd = TCP_MAX_WINDOW;
        c->rcv_adv = c->rcv_nxt + wnd;
        c->last_ack_sent = c->rcv_nxt;
        c->rcv_unacked = 0;
        c->delack_at = SYNACK_NEVER;
    }
    if (used == 0) {
        tcp_timer_update(c);
        return;
    }
    uint32_t end = p->seq + used;
    bool was_idle = c->snd_una == c->snd_nxt;
    if (p->flags & WIRE_TCP_SYN) {
        /* The handshake is timed as before: Karn's algorithm, RFC 6298 §3. The first
         * SYN-ACK of a simultaneous open carries our SYN a second time because the RFC's
         * SYN-SENT step says so, not because it was lost: not counted, but not timed
         * either (its ACK may answer either copy). */
        if (c->flags & TCP_F_SIMOPEN_SYNACK) {
            c->flags &= ~(uint32_t)TCP_F_SIMOPEN_SYNACK;
            tcp_syn_timing_stop(c);
        } else if (seq_lt(p->seq, c->snd_nxt) || c->snd_rtx != c->snd_nxt) {
            TCP_COUNT(c, retransmits);
            tcp_syn_timing_stop(c);
        } else {
            c->flags |= TCP_F_RTT_TIMING; /* until the ACK of ISS + 1 (a SYN carries no data) */
            c->rtt_start = now;
        }
        if (seq_gt(end, c->snd_nxt)) c->snd_nxt = end;
        c->snd_rtx = end;
    } else if (p->rtx) {
        if (seq_gt(end, p->rtx->seq + p->rtx->len)) {
            /* A probe record grown with the data after it (plan_retransmit). */
            tcp_seg_grow(c, p->rtx, end - p->rtx->seq,
                         (p->flags & WIRE_TCP_FIN) ? TCP_SEG_FIN : 0u);
            c->snd_nxt = end;
            c->snd_rtx = end;
        }
        TCP_COUNT(c, retransmits);
        if (c->recovery == TCP_RS_RECOVERY) TCP_COUNT(c, fast_retransmits);
        c->flags &= ~(uint32_t)TCP_F_RTX_NOW;
        tcp_seg_mark_retrans(c, p->rtx, now);
        /* The retransmission timer times the oldest outstanding transmission: resending
         * the segment at SND.UNA restarts it, so an RTO does not fire while the repair of
         * the first hole is on its way (RFC 6298 §5 leaves restarts to the ACK; RFC 8985
         * relies on the RTO as the last resort only). */
        if (p->rtx->seq == c->snd_una && !c->persist) tcp_rto_arm(c, now);
    } else {
        uint32_t f =
            ((p->flags & WIRE_TCP_FIN) ? TCP_SEG_FIN : 0u) | (p->probe ? TCP_SEG_PROBE : 0u);
        tcp_seg_push(c, p->seq, used, f, now);
        /* RFC 3042 / RFC 5681 §3.2 step 2: what limited transmit sends stays out of the
         * FlightSize that sets ssthresh. */
        if (c->recovery == TCP_RS_OPEN && c->fl->dupacks > 0) c->fl->lt_bytes += used;
        if (p->len && p->len < c->eff_mss) c->fl->snd_sml = end; /* Nagle: last short segment */
        c->snd_nxt = end;
        c->snd_rtx = end;
    }
    if (p->tlp) {
        /* RFC 8985 §7.3: one probe per episode; remember what acknowledges it. */
        TCP_COUNT(c, tlp_probes);
        c->flags |= TCP_F_TLP_OUT;
        c->fl->tlp_end_seq = c->snd_nxt; /* a probe is a record's: there is a flight */
        c->tlp_retrans = p->rtx != NULL;
        c->tlp_dsack = false;
        c->fl->tlp_at = SYNACK_NEVER;
        tcp_rto_arm(c, now);
    }
    if (was_idle && c->fl) c->fl->una_since = now;
    /* RFC 6298 (5.1): the timer runs whenever data is outstanding. */
    if (c->rto_at == SYNACK_NEVER || c->persist) tcp_rto_arm(c, now);
    if (!p->tlp) tcp_tlp_arm(c, now);
    tcp_timer_update(c);
}

/* Options for the segment: MSS, window scale and SACK-permitted in SYNs; timestamps on
 * every segment once negotiated; SACK blocks when out-of-order data is held. */
static void add_options(struct synack_tcp *c, struct wire_tcp_repr *seg, uint32_t piece_len,
                        bool *dsack, synack_time_t now)
{
    const struct synack_config *cfg = c->env->cfg;
    bool syn = seg->flags & WIRE_TCP_SYN;
    bool syn_ack = syn && (seg->flags & WIRE_TCP_ACK);
    *dsack = false;
    if (syn) {
        seg->has_mss = true; /* RFC 9293 §3.7.1: MSS only in SYN segments */
        seg->mss = c->rcv_mss;
        /* RFC 7323 §2.2 / §3.2, RFC 2018 §2: offered in a SYN; in a SYN-ACK only if the
         * peer's SYN offered it. */
        if (syn_ack ? (c->flags & TCP_F_WSCALE) != 0 : cfg->window_scale) {
            seg->has_wscale = true;
            seg->wscale = c->rcv_wscale;
        }
        if (syn_ack ? (c->flags & TCP_F_SACK) != 0 : cfg->sack) seg->sack_permitted = true;
        if (syn_ack ? (c->flags & TCP_F_TS) != 0 : cfg->timestamps) {
            seg->has_ts = true;
            seg->ts_val = tcp_tsval(c, now);
            seg->ts_ecr = syn_ack ? c->ts_recent : 0;
        }
        return;
    }
    if (c->flags & TCP_F_TS) {
        /* RFC 7323 §3.2: once negotiated, on every segment but RSTs; TSecr = TS.Recent. */
        seg->has_ts = true;
        seg->ts_val = tcp_tsval(c, now);
        seg->ts_ecr = c->ts_recent;
    }
    if ((c->flags & TCP_F_SACK) && (seg->flags & WIRE_TCP_ACK)) {
        seg->sack_count = (uint8_t)tcp_reasm_sack_blocks(c, seg->sack, WIRE_TCP_MAX_SACK);
        *dsack = seg->sack_count && (c->flags & TCP_F_DSACK);
        /* RFC 9293 §3.7.1: options plus data must not exceed the MSS; drop the oldest
         * blocks if needed (the data of one piece, for a segment the link cuts). */
        while (seg->sack_count &&
               wire_tcp_header_len(seg) - WIRE_TCP_HDR_LEN + piece_len > c->snd_mss)
            seg->sack_count--;
        if (seg->sack_count == 0) *dsack = false;
    }
}

/* What the link is told of a segment written at `buf` (`n` bytes, an IP header of
 * `ip_hdr`, `payload` bytes of data): a partial checksum to finish, and `pieces` > 1 of
 * `mss` data bytes each to cut it into (virtio 1.1 §5.1.6.2). */
static void tx_meta_fill(struct synack_tx_meta *meta, unsigned tx, size_t n, size_t ip_hdr,
                         size_t payload, unsigned pieces, uint32_t mss)
{
    *meta = (struct synack_tx_meta){0};
    if (!(tx & SYNACK_TX_CSUM)) return;
    meta->csum_partial = true;
    meta->csum_start = (uint16_t)ip_hdr;
    meta->csum_offset = WIRE_TCP_OFF_CHECKSUM;
    if (pieces < 2) return;
    meta->gso_size = (uint16_t)mss;
    meta->hdr_len = (uint16_t)(n - payload);
}

synack_ssize tcp_output(struct synack_tcp *c, uint8_t *buf, size_t cap, unsigned tx,
                        struct synack_tx_meta *meta, synack_time_t now)
{
    struct out_plan p = {0};
    if (!plan_next(c, &p)) {
        c->flags &= ~(uint32_t)TCP_F_TLP; /* nothing to probe with */
        tcp_persist_check(c, now);
        return 0;
    }
    unsigned pieces = tso_is_allowed(c, tx) ? tso_pieces(c, &p, cap) : 1;
    if (pieces > 1) tso_extend(c, &p, pieces);
    struct tcp_env *e = c->env;
    struct wire_tcp_repr seg = {
        .src_port = c->local_port,
        .dst_port = c->remote_port,
        .seq = p.seq,
        .flags = p.flags,
        .csum_partial = (tx & SYNACK_TX_CSUM) != 0,
    };
    if (p.flags & WIRE_TCP_ACK) seg.ack = c->rcv_nxt;
    uint32_t wnd = tcp_rcv_window(c);
    if (p.flags & WIRE_TCP_SYN) /* RFC 7323 §2.2: a SYN's window is never scaled */
        seg.window = (uint16_t)(wnd > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : wnd);
    else
        seg.window = (uint16_t)((wnd >> c->rcv_wscale) > TCP_MAX_WINDOW ? TCP_MAX_WINDOW
                                                                        : (wnd >> c->rcv_wscale));
    if (p.len) {
        /* Straight from the send ring into the packet (where the data wraps the ring's
         * end, in two pieces): no copy through a scratch buffer. */
        ring_spans(&c->sndq, p.seq - c->sndq_seq, p.len, &seg.payload, &seg.payload_len,
                   &seg.payload_wrap, &seg.payload_wrap_len);
        seg.payload_len += seg.payload_wrap_len;
    }
    bool dsack;
    add_options(c, &seg, pieces > 1 ? c->eff_mss : p.len, &dsack, now);
    struct wire_ip_repr ip = {.src = c->local_addr,
                              .dst = c->remote_addr,
                              .ttl = e->cfg->ttl,
                              .id = *e->ip_id,
                              .df = !(c->flags & TCP_F_PMTU_NO_DF)}; /* RFC 1191 §2 */
    size_t n = wire_packet_emit(&ip, &seg, buf, cap);
    if (n == 0) return SYNACK_ERR_BUFSZ;
    /* The link gives each piece the next identification (RFC 6864 §4.1 lets a DF datagram
     * take any; the kernel counts up), so the next packet goes on from the last piece's. */
    *e->ip_id = (uint16_t)(*e->ip_id + pieces);
    tx_meta_fill(meta, tx, n, ip.header_len, p.len, pieces, c->eff_mss);
    if (pieces == 1) {
        after_send(c, &p, dsack, now);
    } else {
        /* Each piece is accounted for as the segment it becomes on the wire. */
        for (unsigned i = 0; i < pieces; i++) {
            struct out_plan q = tso_piece(&p, i, pieces, c->eff_mss);
            after_send(c, &q, false, now);
        }
    }
    return (synack_ssize)n;
}
