/*
 * Segment arrival, split by RFC 9293 §3.10.7: one function per state group and per step
 * (check sequence, RST, SYN, ACK, text, FIN).
 */
#include "tcp/conn.h"

/* What the later steps need to know about the segment after trimming to the window. */
struct in_seg {
    const struct wire_tcp_repr *hdr;
    uint32_t seq;        /* first sequence number of the (trimmed) text */
    const uint8_t *data; /* the text still to be delivered */
    uint32_t len;
    bool syn;     /* a new SYN (one we have not seen before) */
    bool old_syn; /* a repeat of the peer's SYN, trimmed off */
    bool fin;     /* FIN present and lying right after the text */
};

static void ack_now(struct synack_tcp *c)
{
    c->flags |= TCP_F_ACK_NOW;
    tcp_schedule_output(c);
}

static void challenge_ack(struct synack_tcp *c, synack_time_t now)
{
    if (tcp_challenge_ack_allowed(c, now)) ack_now(c);
}

static void conn_push_event(struct synack_tcp *c, enum synack_event_type type, synack_time_t now)
{
    struct synack_event ev = {.type = type,
                              .conn_id = c->id,
                              .user = c->user,
                              .time = now,
                              .old_state = c->state,
                              .new_state = c->state};
    evq_push(c->env->events, &ev);
}

/* ---- RFC 9293 §3.10.7.1: CLOSED (no TCB) ------------------------------------------- */

static void input_closed(struct tcp_env *e, const struct wire_ip_repr *ip,
                         const struct wire_tcp_repr *seg)
{
    tcp_env_count_drop(e, SYNACK_DROP_NO_SOCKET);
    /* "An incoming segment containing a RST is discarded." Never answer RST with RST. */
    if (seg->flags & WIRE_TCP_RST) return;
    if (seg->flags & WIRE_TCP_ACK) /* <SEQ=SEG.ACK><CTL=RST> */
        tcp_send_rst(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port, seg->ack, 0, false);
    else /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        tcp_send_rst(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port, 0,
                     seg->seq + tcp_seg_len(seg), true);
}

/* ---- RFC 9293 §3.10.7.2: LISTEN --------------------------------------------------------- */

static void input_listen(struct synack_listener *l, const struct wire_ip_repr *ip,
                         const struct wire_tcp_repr *seg, synack_time_t now,
                         const uint32_t *iss_floor)
{
    struct tcp_env *e = l->env;
    if (seg->flags & WIRE_TCP_RST) { /* first: an incoming RST is ignored */
        tcp_env_count_drop(e, SYNACK_DROP_LISTEN_BAD);
        return;
    }
    if (seg->flags & WIRE_TCP_ACK) { /* second: any ACK is bad, <SEQ=SEG.ACK><CTL=RST> */
        tcp_env_count_drop(e, SYNACK_DROP_LISTEN_BAD);
        tcp_send_rst(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port, seg->ack, 0, false);
        return;
    }
    if (!(seg->flags & WIRE_TCP_SYN)) { /* fourth: other text or control, drop */
        tcp_env_count_drop(e, SYNACK_DROP_LISTEN_BAD);
        return;
    }
    tcp_listen_input(l, ip, seg, now, iss_floor); /* third: SYN */
}

/* ---- RFC 9293 §3.10.7.3: SYN-SENT ------------------------------------------------------- */

static void input_text_and_fin(struct synack_tcp *c, struct in_seg *in, synack_time_t now);

static void input_syn_sent(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now)
{
    bool has_ack = seg->flags & WIRE_TCP_ACK;
    /* First, the ACK: it must acknowledge our SYN and nothing more. */
    if (has_ack && (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_nxt))) {
        tcp_count_drop(c, SYNACK_DROP_SYN_SENT_BAD);
        if (seg->flags & WIRE_TCP_RST) return;
        tcp_send_rst(c->env, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port,
                     seg->ack, 0, false);
        /* Over a TIME-WAIT we took over, this is most likely the old incarnation still open
         * at the peer (our last ACK was lost: it is in LAST-ACK and answers our SYN with a
         * challenge ACK, RFC 5961 §4, or sends its FIN again). The RST ends it there, so
         * our SYN goes again at once, behind the RST, rather than a whole RTO later. Once:
         * it counts as the SYN's first retransmission. */
        if ((c->flags & TCP_F_TS_FLOOR) && c->retries == 0) {
            c->retries++;
            c->snd_rtx = c->iss;
            tcp_syn_timing_stop(c);
            tcp_schedule_output(c);
        }
        return;
    }
    /* Second, RST: valid only with an acceptable ACK (RFC 5961 §3.2 for SYN-SENT). */
    if (seg->flags & WIRE_TCP_RST) {
        if (!has_ack) {
            tcp_count_drop(c, SYNACK_DROP_RST_INVALID);
            return;
        }
        TCP_COUNT(c, rsts_in);
        tcp_conn_finish(c, SYNACK_ERR_CONNREFUSED, now);
        return;
    }
    /* Fifth: neither SYN nor RST, drop. */
    if (!(seg->flags & WIRE_TCP_SYN)) {
        tcp_count_drop(c, SYNACK_DROP_SYN_SENT_BAD);
        return;
    }
    /* Fourth: the SYN. Over a TIME-WAIT we took over, one whose TSval does not pass the old
     * incarnation's is dropped as PAWS would drop it (timewait.c, tcp_reuse_ts_ok). */
    if (c->flags & TCP_F_TS_FLOOR) {
        if (!tcp_reuse_ts_ok(c, seg, now)) {
            tcp_count_drop(c, SYNACK_DROP_PAWS);
            return;
        }
        c->flags &= ~(uint32_t)TCP_F_TS_FLOOR;
    }
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    tcp_negotiate(c, seg, now);
    c->snd_wnd = seg->window; /* RFC 7323 §2.2: never scaled in a SYN */
    c->max_snd_wnd = seg->window;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->flags |= TCP_F_SND_WND_SET;
    c->rcv_adv = c->rcv_nxt + tcp_rcv_window(c);
    if (!has_ack) {
        /* Simultaneous open: SYN-SENT -> SYN-RECEIVED, answer <SEQ=ISS><ACK=RCV.NXT>
         * <CTL=SYN,ACK>. Text in the SYN is not queued; the peer sends it again. */
        c->snd_rtx = c->iss;
        c->flags |= TCP_F_SIMOPEN_SYNACK;
        tcp_set_state(c, SYNACK_SYN_RECEIVED, now);
        tcp_schedule_output(c);
        return;
    }
    c->snd_una = seg->ack;
    c->snd_rtx = c->snd_nxt;
    if ((c->flags & TCP_F_RTT_TIMING) && seq_geq(seg->ack, c->iss + 1))
        tcp_rtt_sample(c, now - c->rtt_start);
    tcp_syn_timing_stop(c);
    tcp_rto_after_handshake(c);
    c->backoff = 0;
    c->retries = 0;
    c->soft_err = 0; /* our SYN got through after all */
    tcp_rto_stop(c);
    tcp_set_state(c, SYNACK_ESTABLISHED, now);
    ack_now(c);
    /* Text or FIN riding on the SYN-ACK continue at the sixth step. */
    struct in_seg in = {.hdr = seg,
                        .seq = seg->seq + 1,
                        .data = seg->payload,
                        .len = (uint32_t)seg->payload_len,
                        .fin = seg->flags & WIRE_TCP_FIN};
    input_text_and_fin(c, &in, now);
}

/* ---- RFC 9293 §3.10.7.4: the other states ----------------------------------------------- */

/* First step: the acceptability table. Returns true if the segment may go on; trims it to
 * the window. A zero window still lets an exact-position segment's ACK and RST through
 * ("special allowance ... to accept valid ACKs, URGs, and RSTs"); its text is dropped. */
static bool check_seq(struct synack_tcp *c, const struct wire_tcp_repr *seg, struct in_seg *in)
{
    uint32_t wnd = tcp_rcv_window(c);
    /* What lies within the edge already offered is taken where the buffer holds it, though
     * the window offered now is rounded down to the scale unit (RFC 7323 §2.4: a buffer
     * filled to an edge that is not a multiple of it): a sender that fills the window it
     * was given loses none of it (RFC 9293 §3.8.6.2.2 wants the edge kept). */
    uint32_t offered = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (offered > wnd && offered <= ring_space(&c->rcvq)) wnd = offered;
    uint32_t len = tcp_seg_len(seg);
    uint32_t nxt = c->rcv_nxt;
    uint32_t seq = seg->seq;
    in->hdr = seg;
    in->syn = (seg->flags & WIRE_TCP_SYN) != 0;
    in->old_syn = false;
    /* "Trim off any portions that lie outside the window (including SYN and FIN)": a
     * repeat of the peer's SYN at IRS lies before RCV.NXT. This is what lets the SYN-ACKs
     * of a simultaneous open (RFC 9293 Figure 8) cross: the SYN goes, the ACK counts.
     * Only while our SYN is unacknowledged: after that a SYN at IRS is an old duplicate
     * and must still be answered with an ACK (RFC 5961 §4.2: any SYN, "irrespective of
     * the sequence number"), which the acceptability test below does. */
    if (in->syn && seq == c->irs && c->snd_una == c->iss) {
        in->syn = false;
        in->old_syn = true;
        seq++;
        len--;
    }
    bool ok = tcp_seq_acceptable(seq, len, nxt, wnd);
    in->seq = seq;
    in->data = seg->payload;
    in->len = (uint32_t)seg->payload_len;
    in->fin = (seg->flags & WIRE_TCP_FIN) != 0;
    if (!ok && wnd == 0 && seq == nxt && !in->syn) {
        /* RFC 9293 §3.8.6.1: "When a receiving TCP has a zero window and a segment
         * arrives, it must still send an acknowledgment showing its next expected
         * sequence number and current window (zero)." */
        if (in->len || in->fin) ack_now(c);
        in->len = 0;
        in->fin = false;
        return true;
    }
    if (!ok) return false;
    /* Trim text that was already received (a retransmission overlapping rcv_nxt); RFC 2883
     * §4.1: report the duplicate part with a D-SACK. */
    if (seq_lt(in->seq, nxt)) {
        uint32_t old = nxt - in->seq;
        if (in->len) tcp_reasm_note_duplicate(c, in->seq, old > in->len ? in->seq + in->len : nxt);
        if (old > in->len) { /* only the FIN (or nothing) is new */
            in->data += in->len;
            in->len = 0;
        } else {
            in->data += old;
            in->len -= old;
        }
        in->seq = nxt;
    }
    /* Trim text beyond the window (it does not fit the buffer: counted); a FIN beyond it
     * is not yet ours. */
    if (seq_gt(in->seq + in->len, nxt + wnd)) {
        tcp_count_drop(c, SYNACK_DROP_RCV_BUFFER);
        in->len = nxt + wnd - in->seq;
        in->fin = false;
    }
    return true;
}

/* Second step: RST (RFC 9293 §3.10.7.4 with RFC 5961 §3.2). */
static void input_rst(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now)
{
    if (seg->seq != c->rcv_nxt) {
        /* In the window but not exact: maybe blind, so ask with a challenge ACK. */
        tcp_count_drop(c, SYNACK_DROP_RST_INVALID);
        challenge_ack(c, now);
        return;
    }
    if (c->state != SYNACK_TIME_WAIT) TCP_COUNT(c, rsts_in);
    switch (c->state) {
    case SYNACK_SYN_RECEIVED:
        if (c->flags & TCP_F_PASSIVE) {
            /* A passive open goes back to LISTEN: the listener stays, this TCB goes. */
            tcp_set_state(c, SYNACK_LISTEN, now);
            tcp_conn_destroy(c);
        } else {
            tcp_conn_finish(c, SYNACK_ERR_CONNREFUSED, now);
        }
        return;
    case SYNACK_ESTABLISHED:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
    case SYNACK_CLOSE_WAIT:
        tcp_conn_finish(c, SYNACK_ERR_CONNRESET, now);
        return;
    case SYNACK_TIME_WAIT:
        /* RFC 1337 §3 (TIME-WAIT assassination): ignore it. RFC 9293 would delete the TCB;
         * an old duplicate RST would then let old segments into a new incarnation. */
        tcp_count_drop(c, SYNACK_DROP_TIME_WAIT_RST);
        return;
    default: /* CLOSING, LAST-ACK: just delete the TCB */
        tcp_conn_finish(c, 0, now);
        return;
    }
}

/* Fourth step: SYN in a synchronized state (RFC 5961 §4) or in SYN-RECEIVED. */
static void input_syn(struct synack_tcp *c, synack_time_t now)
{
    if (c->state == SYNACK_SYN_RECEIVED && (c->flags & TCP_F_PASSIVE)) {
        tcp_count_drop(c, SYNACK_DROP_SYN_IN_WINDOW);
        tcp_set_state(c, SYNACK_LISTEN, now);
        tcp_conn_destroy(c);
        return;
    }
    tcp_count_drop(c, SYNACK_DROP_SYN_IN_WINDOW);
    challenge_ack(c, now);
}

/* Our FIN has been sent and acknowledged. */
static bool fin_acked(const struct synack_tcp *c)
{
    return (c->flags & TCP_F_FIN_QUEUED) && seq_gt(c->snd_nxt, c->fin_seq) &&
           seq_gt(c->snd_una, c->fin_seq);
}

/* SYN-RECEIVED: an ACK of our SYN completes the handshake. Returns false to stop. */
static bool ack_syn_received(struct synack_tcp *c, const struct wire_tcp_repr *seg,
                             synack_time_t now)
{
    if (!seq_lt(c->snd_una, seg->ack) || seq_gt(seg->ack, c->snd_nxt)) {
        /* RFC 9293 §3.10.7.4: acceptable only if SND.UNA < SEG.ACK =< SND.NXT; otherwise
         * <SEQ=SEG.ACK><CTL=RST>. Both bounds matter: without the upper one a blind ACK
         * anywhere above our ISS would complete the handshake. */
        tcp_count_drop(c, SYNACK_DROP_BAD_ACK);
        tcp_send_rst(c->env, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port,
                     seg->ack, 0, false);
        return false;
    }
    if ((c->flags & TCP_F_PASSIVE) && !tcp_listen_established(c, now)) {
        tcp_count_drop(c, SYNACK_DROP_ACCEPT_QUEUE_FULL);
        return false;
    }
    c->snd_wnd = (uint32_t)seg->window << c->snd_wscale; /* RFC 7323 §2.2: scaled from now */
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    if (c->snd_wnd > c->max_snd_wnd) c->max_snd_wnd = c->snd_wnd;
    tcp_rto_after_handshake(c);
    tcp_set_state(c, c->flags & TCP_F_FIN_QUEUED ? SYNACK_FIN_WAIT_1 : SYNACK_ESTABLISHED, now);
    return true;
}

/* RFC 9293 §3.10.7.4 fifth step, ESTABLISHED rules: SND.WL1/SND.WL2 guard the window
 * update against old segments. */
static void ack_update_window(struct synack_tcp *c, const struct wire_tcp_repr *seg)
{
    /* RFC 9293 §3.10.7.4: only if SND.UNA =< SEG.ACK (an older ACK's window is measured
     * from an older left edge), and only from a newer segment. */
    if (seq_lt(seg->ack, c->snd_una)) return;
    if (!(seq_lt(c->snd_wl1, seg->seq) ||
          (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack))))
        return;
    uint32_t wnd = (uint32_t)seg->window << c->snd_wscale; /* RFC 7323 §2.3 */
    bool opened = wnd > c->snd_wnd;
    bool was_zero = c->snd_wnd == 0;
    c->snd_wnd = wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    if (c->snd_wnd > c->max_snd_wnd) c->max_snd_wnd = c->snd_wnd;
    if (opened) {
        if (c->persist) tcp_rto_stop(c);
        /* The probe byte sent into the zero window was most likely dropped: send it
         * again first, or the data after it would leave a hole (RFC 9293 §3.8.6.1). */
        if (was_zero && tcp_seg_count(c) && (tcp_seg_at(c, 0)->flags & TCP_SEG_PROBE))
            tcp_seg_mark_lost(c, tcp_seg_at(c, 0));
        tcp_schedule_output(c);
    }
}

/* Fifth step: ACK. Returns false when processing must stop (dropped, or the TCB is gone). */
static bool input_ack(struct synack_tcp *c, const struct in_seg *in, synack_time_t now)
{
    const struct wire_tcp_repr *seg = in->hdr;
    /* RFC 5961 §5.2: acceptable only if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT. */
    if (seq_gt(seg->ack, c->snd_nxt) || seq_lt(seg->ack, c->snd_una - c->max_snd_wnd)) {
        if (c->state == SYNACK_SYN_RECEIVED) return ack_syn_received(c, seg, now);
        tcp_count_drop(c, SYNACK_DROP_BAD_ACK);
        challenge_ack(c, now);
        return false;
    }
    if (c->state == SYNACK_SYN_RECEIVED && !ack_syn_received(c, seg, now)) return false;
    tcp_recovery_on_ack(c, seg, now);
    /* The peer answers our probes: never give up (§3.8.6.1), while the application holds
     * the connection (an orphan gives up, timer.c persist_expired). */
    if ((c->snd_wnd == 0 || seg->window == 0) && !(c->flags & TCP_F_RELEASED)) c->retries = 0;
    ack_update_window(c, seg);

    switch (c->state) {
    case SYNACK_FIN_WAIT_1:
        /* Our FIN acknowledged: FIN-WAIT-2, unless this very segment carries the peer's
         * FIN, in which case the eighth step goes straight to TIME-WAIT. */
        if (fin_acked(c) && !(in->fin && in->seq == c->rcv_nxt))
            tcp_set_state(c, SYNACK_FIN_WAIT_2, now);
        return true;
    case SYNACK_CLOSING:
        if (fin_acked(c)) tcp_enter_time_wait(c, now);
        return true;
    case SYNACK_LAST_ACK:
        if (fin_acked(c)) {
            tcp_conn_finish(c, 0, now);
            return false;
        }
        return true;
    default:
        return true;
    }
}

/* Seventh step: segment text. Returns false if the TCB is gone. */
static bool input_text(struct synack_tcp *c, struct in_seg *in, synack_time_t now)
{
    if (in->len == 0) {
        if (in->fin && in->seq != c->rcv_nxt && !(c->flags & TCP_F_RCV_FIN) &&
            seq_gt(in->seq, c->rcv_nxt)) {
            /* A bare FIN past a hole: remember it, ACK at once (RFC 5681 §4.2). */
            c->flags |= TCP_F_OOO_FIN;
            c->ooo_fin_seq = in->seq;
            in->fin = false;
            ack_now(c);
        }
        return true;
    }
    if (c->state != SYNACK_ESTABLISHED && c->state != SYNACK_FIN_WAIT_1 &&
        c->state != SYNACK_FIN_WAIT_2) {
        /* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: a FIN came before; ignore the text. */
        in->fin = false;
        return true;
    }
    if (c->flags & TCP_F_RELEASED) {
        /* RFC 1122 §4.2.2.13: data after CLOSE cannot be delivered; say so with a RST. */
        tcp_conn_reset(c, SYNACK_ERR_ABORTED, now);
        return false;
    }
    bool was_empty = ring_len(&c->rcvq) == 0;
    bool immediate = false;
    uint32_t seq = in->seq;
    /* "Full-sized" (RFC 5681 §4.2) is the largest segment seen, up to the MSS we offered: a
     * longer one is several merged on the way (the kernel's GRO over TUN), which count for
     * the segments they hold toward the every-second-segment ACK. */
    if (in->len > c->rcv_seg_max)
        c->rcv_seg_max = (uint16_t)(in->len > c->rcv_mss ? c->rcv_mss : in->len);
    if (seq != c->rcv_nxt) {
        /* Out of order: kept for reassembly; its FIN is remembered until the hole fills. */
        if (in->fin) {
            c->flags |= TCP_F_OOO_FIN;
            c->ooo_fin_seq = seq + in->len;
        }
        in->fin = false;
    }
    uint32_t took = tcp_reasm_input(c, seq, in->data, in->len, &immediate);
    if (seq == c->rcv_nxt && took < in->len) in->fin = false; /* the FIN lies past a drop */
    c->rcv_nxt += took;
    c->bytes_in += took;
    c->env->counters->bytes_in += took;
    if ((c->flags & TCP_F_OOO_FIN) && c->rcv_nxt == c->ooo_fin_seq) {
        /* The hole before a FIN that came early is filled: take the FIN now. */
        c->flags &= ~(uint32_t)TCP_F_OOO_FIN;
        in->fin = true;
        in->seq = c->rcv_nxt;
        in->len = 0;
    } else if (took) {
        in->seq = c->rcv_nxt - took;
        in->len = took;
    }
    c->rcv_unacked += took;
    if (took) tcp_rcv_rtt_measure(c, in->hdr->has_ts, in->hdr->ts_ecr, now);
    tcp_delack_schedule(c, immediate, now);
    if (took && was_empty) conn_push_event(c, SYNACK_EV_READABLE, now);
    return true;
}

/* Eighth step: FIN. */
static void input_fin(struct synack_tcp *c, const struct in_seg *in, synack_time_t now)
{
    if (!in->fin || in->seq + in->len != c->rcv_nxt || (c->flags & TCP_F_RCV_FIN)) return;
    c->rcv_nxt += 1;
    c->flags |= TCP_F_RCV_FIN;
    ack_now(c);
    conn_push_event(c, SYNACK_EV_PEER_CLOSED, now);
    switch (c->state) {
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
        tcp_set_state(c, SYNACK_CLOSE_WAIT, now);
        break;
    case SYNACK_FIN_WAIT_1:
        if (fin_acked(c))
            tcp_enter_time_wait(c, now); /* FIN-WAIT-1 -> TIME-WAIT: FIN,ACK of our FIN */
        else
            tcp_set_state(c, SYNACK_CLOSING, now); /* simultaneous close */
        break;
    case SYNACK_FIN_WAIT_2:
        tcp_enter_time_wait(c, now);
        break;
    default: /* CLOSE-WAIT, CLOSING, LAST-ACK remain */
        break;
    }
}

static void input_text_and_fin(struct synack_tcp *c, struct in_seg *in, synack_time_t now)
{
    if (input_text(c, in, now)) input_fin(c, in, now);
}

/* First step, failed: "an acknowledgment should be sent in reply (unless the RST bit is
 * set, if so drop the segment and return). After sending the acknowledgment, drop the
 * unacceptable segment and return." Nothing of it is used, its ACK field least of all: an
 * off-path attacker needs no sequence number to forge a segment that fails this test, only
 * SEG.ACK in (SND.UNA, SND.NXT] (RFC 5961 §5 narrows the ACKs of acceptable segments; the
 * zero-window allowance is check_seq's). The reply goes through the per-connection
 * invalid-ACK limit, so spoofed segments neither fake duplicate ACKs at the real peer nor
 * turn us into a reflector; two stacks whose views lag (crossing zero-window probes) trade
 * at most one such ACK per interval each. */
static void input_unacceptable(struct synack_tcp *c, const struct wire_tcp_repr *seg,
                               synack_time_t now)
{
    tcp_count_drop(c, SYNACK_DROP_UNACCEPTABLE);
    if (seg->flags & WIRE_TCP_RST) return;
    /* RFC 2883 §4.1: text that was all received before is reported with a D-SACK. */
    if (seg->payload_len && seq_leq(seg->seq + (uint32_t)seg->payload_len, c->rcv_nxt))
        tcp_reasm_note_duplicate(c, seg->seq, seg->seq + (uint32_t)seg->payload_len);
    if (tcp_invalid_ack_allowed(c, now)) ack_now(c);
    /* A repeated FIN in TIME-WAIT: acknowledge it (above) and restart the 2 MSL timeout. */
    if (c->state == SYNACK_TIME_WAIT && tcp_is_old_fin(seg, c->rcv_nxt))
        tcp_enter_time_wait(c, now);
}

/* RFC 7323 §5.3 R1 (PAWS): once timestamps are on, a segment whose TSval is older than
 * TS.Recent is an old duplicate: ACK and drop. RFC 7323 §3.2: a non-RST segment without
 * timestamps is dropped too. Returns false to drop. */
static bool paws_ok(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now)
{
    if (!(c->flags & TCP_F_TS) || (seg->flags & WIRE_TCP_RST)) return true;
    bool ok = seg->has_ts;
    /* R1: TS.Recent is only trusted for 24 days of idleness (§5.5). */
    if (ok && (int32_t)(seg->ts_val - c->ts_recent) < 0 && now - c->ts_recent_time < TCP_PAWS_IDLE)
        ok = false;
    if (ok) return true;
    tcp_count_drop(c, SYNACK_DROP_PAWS);
    if (seg->has_ts && tcp_invalid_ack_allowed(c, now)) ack_now(c);
    return false;
}

/* RFC 7323 §4.3 (R3): remember the TSval to echo if the segment covers Last.ACK.sent. */
static void ts_update_recent(struct synack_tcp *c, const struct wire_tcp_repr *seg,
                             synack_time_t now)
{
    if (!(c->flags & TCP_F_TS) || !seg->has_ts) return;
    /* After 24 days idle TS.Recent is stale (§5.5): the next segment resets it. */
    bool stale = now - c->ts_recent_time >= TCP_PAWS_IDLE;
    if (((int32_t)(seg->ts_val - c->ts_recent) >= 0 || stale) &&
        seq_leq(seg->seq, c->last_ack_sent)) {
        c->ts_recent = seg->ts_val;
        c->ts_recent_time = now;
    }
}

static void input_synchronized(struct synack_tcp *c, const struct wire_tcp_repr *seg,
                               synack_time_t now)
{
    struct in_seg in;
    if (!paws_ok(c, seg, now)) return;
    if (!check_seq(c, seg, &in)) {
        input_unacceptable(c, seg, now);
        return;
    }
    ts_update_recent(c, seg, now);
    if (seg->flags & WIRE_TCP_RST) {
        input_rst(c, seg, now);
        return;
    }
    if (in.syn) {
        input_syn(c, now);
        return;
    }
    if (!(seg->flags & WIRE_TCP_ACK)) {
        tcp_count_drop(c, SYNACK_DROP_NO_ACK);
        /* A repeated SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again now. */
        if (in.old_syn && c->state == SYNACK_SYN_RECEIVED) ack_now(c);
        return;
    }
    if (!input_ack(c, &in, now) || (c->flags & TCP_F_DEAD)) return;
    /* Sixth (URG) is not implemented: RFC 6093 §4 advises new applications not to use it. */
    input_text_and_fin(c, &in, now);
}

/* RFC 1122 §4.2.2.13: a SYN may reopen a connection from TIME-WAIT if its sequence number
 * is above the old incarnation's, and a listener wants it. Returns true if it did. */
static bool time_wait_reopen(struct synack_tcp *c, const struct wire_ip_repr *ip,
                             const struct wire_tcp_repr *seg, synack_time_t now)
{
    if (c->state != SYNACK_TIME_WAIT ||
        !tcp_tw_syn_may_reopen(seg, c->rcv_nxt, (c->flags & TCP_F_TS) != 0, c->ts_recent))
        return false;
    struct synack_listener *l = tcp_listener_find(c->env, &c->local_addr, c->local_port);
    /* Only if the listener will take the SYN: otherwise TIME-WAIT goes on protecting the
     * old incarnation, and the peer's retransmitted SYN tries again later. */
    if (!l || !tcp_listen_has_room(l, (c->flags & TCP_F_RELEASED) != 0)) return false;
    uint32_t floor = c->snd_nxt;
    tcp_conn_finish(c, 0, now);
    input_listen(l, ip, seg, now, &floor);
    return true;
}

void tcp_input(struct tcp_env *e, const struct wire_ip_repr *ip, const struct wire_tcp_repr *seg,
               synack_time_t now)
{
    tcp_env_seen(e, now);
    tcp_demux_step(e);
    struct synack_tcp *c = tcp_demux_find(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port);
    if (!c) {
        struct tcp_tw *tw = tcp_tw_find(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port);
        if (tw) {
            tcp_tw_input(e, tw, ip, seg, now);
            return;
        }
        struct synack_listener *l = tcp_listener_find(e, &ip->dst, seg->dst_port);
        if (!l) {
            input_closed(e, ip, seg);
            return;
        }
        /* RFC 4987 §3.6: the third segment of a handshake answered with a SYN cookie. */
        bool dropped;
        c = tcp_cookie_open(l, ip, seg, now, &dropped);
        if (c) {
            c->last_rcv = now;
            if (tcp_ka_idle(c)) tcp_keepalive_reset(c, now);
            input_synchronized(c, seg, now);
            tcp_mem_sync(c, now);
        } else if (!dropped) {
            input_listen(l, ip, seg, now, NULL);
        }
        return;
    }
    if (time_wait_reopen(c, ip, seg, now)) return;
    TCP_COUNT(c, segs_in);
    c->last_rcv = now;
    if (tcp_ka_idle(c)) tcp_keepalive_reset(c, now);
    if (c->state == SYNACK_SYN_SENT)
        input_syn_sent(c, seg, now);
    else
        input_synchronized(c, seg, now);
    tcp_mem_sync(c, now);
}
