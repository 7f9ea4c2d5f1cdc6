/*
 * What an acceptable ACK means to the sender: SACK (RFC 2018), duplicate ACKs and fast
 * retransmit (RFC 5681 §3.2, RFC 3042 limited transmit), loss recovery with a scoreboard
 * (RFC 6675) or, for peers without SACK, NewReno (RFC 6582), RACK-TLP (RFC 8985), the
 * congestion controller (tcp/cc.h), RTT samples and the retransmission timer (RFC 6298).
 */
#include "tcp/conn.h"

void tcp_phase_update(struct synack_tcp *c, synack_time_t now)
{
    enum synack_cc_phase p;
    if (c->recovery == TCP_RS_RECOVERY)
        p = SYNACK_PHASE_RECOVERY;
    else if (c->recovery == TCP_RS_LOSS)
        p = SYNACK_PHASE_LOSS;
    else
        p = tcp_cc_in_slow_start(&c->cc) ? SYNACK_PHASE_SLOW_START : SYNACK_PHASE_CONG_AVOID;
    if (p == c->phase) return;
    struct synack_event ev = {.type = SYNACK_EV_CC,
                              .conn_id = c->id,
                              .user = c->user,
                              .old_state = c->state,
                              .new_state = c->state,
                              .old_phase = c->phase,
                              .new_phase = p,
                              .cwnd = c->cc.cwnd,
                              .ssthresh = c->cc.ssthresh,
                              .time = now};
    c->phase = p;
    evq_push(c->env->events, &ev);
}

void tcp_recovery_enter(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 6675 §5 step (4) / RFC 6582 §3.2 step 2: RecoveryPoint = HighData, ssthresh
     * and cwnd from the controller, and the first unacknowledged segment goes again. */
    struct tcp_flight *f = c->fl; /* loss is detected among records: there is a flight */
    c->recovery = TCP_RS_RECOVERY;
    f->recover = c->snd_nxt;
    f->recover_set = true;
    uint32_t flight = tcp_flight(c);
    flight = flight > f->lt_bytes ? flight - f->lt_bytes : 0; /* RFC 5681 §3.2 step 2 */
    tcp_cc_state_get(c);
    tcp_cc_ops(c->cc.algo)->on_congestion(&c->cc, flight, now);
    TCP_COUNT(c, recoveries);
    /* RFC 8985 §6.2 step 4: back to one after 16 recoveries without a D-SACK (without a
     * raised multiplier there is nothing to count). */
    struct tcp_rare *r = c->rare;
    if (tcp_rack_reo_mult(r) > 1 && ++r->rack_reo_recoveries >= 16) r->rack_reo_mult = 1;
    /* (4.3): retransmit the first segment presumed dropped, whatever pipe says. */
    if (f->seg_count) tcp_seg_mark_lost(c, tcp_seg_at(c, 0));
    c->flags |= TCP_F_RTX_NOW;
    if (!(c->flags & TCP_F_SACK)) {
        /* RFC 6582 §3.2 step 2: cwnd = ssthresh + 3*SMSS, as three segments left. */
        uint32_t d = f->dupacks * (uint32_t)c->eff_mss;
        f->dup_bytes = d < tcp_flight(c) ? d : tcp_flight(c);
    }
    tcp_schedule_output(c);
}

static void exit_recovery(struct synack_tcp *c, synack_time_t now)
{
    if (c->recovery == TCP_RS_RECOVERY) tcp_cc_ops(c->cc.algo)->on_recovery_end(&c->cc, now);
    c->recovery = TCP_RS_OPEN;
    if (c->fl) c->fl->dup_bytes = 0;
}

/* Releases acknowledged bytes from the send buffer; WRITABLE if send() left it full. */
static void release_sndq(struct synack_tcp *c, uint32_t ack, synack_time_t now)
{
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    uint32_t upto = seq_lt(ack, data_end) ? ack : data_end;
    if (!seq_gt(upto, c->sndq_seq)) return;
    ring_consume(&c->sndq, upto - c->sndq_seq);
    c->sndq_seq = upto;
    /* A buffer holding more than a size set below it has room only once drained below it. */
    if (tcp_snd_room(c)) tcp_writable_event(c, now);
}

void tcp_writable_event(struct synack_tcp *c, synack_time_t now)
{
    if (!(c->flags & TCP_F_WANT_WRITABLE)) return;
    c->flags &= ~(uint32_t)TCP_F_WANT_WRITABLE;
    struct synack_event ev = {.type = SYNACK_EV_WRITABLE,
                              .conn_id = c->id,
                              .user = c->user,
                              .old_state = c->state,
                              .new_state = c->state,
                              .time = now};
    evq_push(c->env->events, &ev);
}

/* RFC 7323 §4.1 / RFC 6298: an RTT from the timestamp echo when the scoreboard gave none
 * (every acknowledged segment had been retransmitted). */
static synack_time_t ts_rtt(const struct synack_tcp *c, const struct wire_tcp_repr *seg,
                            synack_time_t now)
{
    int64_t ms = tcp_ts_echo_age(c, seg->has_ts, seg->ts_ecr, now);
    if (ms < 0) return 0;
    return ms ? SYNACK_MS((synack_time_t)ms) : SYNACK_US(500);
}

/* RFC 5681 §2: a duplicate ACK acknowledges nothing new, carries no data, SYN or FIN, and
 * leaves the window alone, while data is outstanding. With SACK (RFC 6675 §2) an ACK that
 * SACKs new data counts although the window changed. */
static bool is_dupack(const struct synack_tcp *c, const struct wire_tcp_repr *seg,
                      uint32_t newly_sacked)
{
    if (seg->ack != c->snd_una || tcp_flight(c) == 0 || seg->payload_len ||
        (seg->flags & (WIRE_TCP_SYN | WIRE_TCP_FIN)))
        return false;
    uint32_t wnd = (uint32_t)seg->window << c->snd_wscale;
    /* Answers to zero-window probes say the window is closed, not that data was lost. */
    if (wnd == 0 || c->snd_wnd == 0) return false;
    return wnd == c->snd_wnd || newly_sacked > 0;
}

void tcp_recovery_on_ack(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now)
{
    const struct tcp_cc_ops *cc = tcp_cc_ops(c->cc.algo);
    uint32_t ack = seg->ack;
    bool advanced = seq_gt(ack, c->snd_una);
    bool cwnd_limited = c->cwnd_limited || tcp_pipe(c) + c->eff_mss >= c->cc.cwnd;
    c->cwnd_limited = false;

    bool dsack = false;
    uint32_t sacked = 0;
    if ((c->flags & TCP_F_SACK) && seg->sack_count) sacked = tcp_segs_sack(c, seg, now, &dsack);
    if (dsack && (c->flags & TCP_F_TLP_OUT)) c->tlp_dsack = true;
    /* RFC 8985 §6.2 step 4: a D-SACK means the reordering window was too small: widen it,
     * at most once per round trip; back to one after 16 recoveries without one. */
    struct tcp_rare *r = dsack ? c->rare : NULL; /* dsacks_in brought it, unless refused */
    if (r && tcp_rack_reo_mult(r) < 16 && now - r->rack_dsack_time >= c->srtt) {
        r->rack_reo_mult = (uint8_t)(tcp_rack_reo_mult(r) + 1);
        r->rack_dsack_time = now;
        r->rack_reo_recoveries = 0;
    }
    bool dup = !advanced && c->fl && is_dupack(c, seg, sacked);

    uint32_t acked = 0;
    if (advanced) {
        synack_time_t rtt = 0, last_xmit = 0;
        acked = tcp_segs_ack(c, ack, now, &rtt, &last_xmit);
        release_sndq(c, ack, now);
        c->snd_una = ack;
        struct tcp_flight *f = c->fl;
        if (f && seq_lt(f->snd_sml, ack)) f->snd_sml = ack; /* keep it from wrapping stale */
        if (seq_lt(c->snd_wl2, ack)) {
            /* Keep SND.WND relative to SND.UNA: the right edge the peer offered stays where
             * it was even if this ACK's own window is not taken (RFC 9293 §3.10.7.4 takes
             * windows only from newer segments); otherwise SND.UNA + SND.WND would run past
             * the peer's offer. */
            uint32_t edge = c->snd_wl2 + c->snd_wnd;
            c->snd_wnd = seq_gt(edge, ack) ? edge - ack : 0;
            c->snd_wl2 = ack;
        }
        if (seq_lt(c->snd_rtx, ack)) c->snd_rtx = ack;
        if (rtt == 0 && (c->flags & TCP_F_RTT_TIMING) && seq_geq(ack, c->iss + 1))
            rtt = now - c->rtt_start; /* our SYN, timed unretransmitted (Karn) */
        if (rtt == 0) {
            /* RFC 7323 §4.3: after a retransmission the peer may echo the TSval of an
             * earlier copy (a duplicate does not update TS.Recent), which would time the
             * whole backoff. A sample longer than the time since the latest transmission of
             * what this ACK covers is such an echo: not used. */
            synack_time_t t = ts_rtt(c, seg, now);
            if (t && (last_xmit == 0 || t <= now - last_xmit + SYNACK_MS(1))) rtt = t;
        }
        /* RFC 6298 §5: the backed-off RTO collapses only with a new RTT measurement (Karn's
         * algorithm, §3). An ACK without one keeps it, or on a path whose RTT is above the
         * unbacked RTO every segment would time out once, never be timed, and the next
         * would start from the short RTO again. */
        if (rtt) {
            tcp_rtt_sample(c, rtt);
            c->backoff = 0;
        }
        tcp_syn_timing_stop(c);
        c->retries = 0;
        c->soft_err = 0; /* the path works again: forget what ICMP said */
        if (f) {
            f->dupacks = 0;
            f->lt_bytes = 0;
            if ((c->flags & TCP_F_PMTU_REPAIR) && seq_geq(ack, f->pmtu_recover))
                c->flags &= ~(uint32_t)TCP_F_PMTU_REPAIR;
            if (c->recovery == TCP_RS_OPEN) f->dup_bytes = 0; /* the dupacks did not add up */
            f->una_since = now;
        }
        /* RFC 6298 (5.2)/(5.3). */
        if (c->snd_una == c->snd_nxt)
            tcp_rto_stop(c);
        else
            tcp_rto_arm(c, now);
        /* RFC 8985 §7.4: the TLP episode ends when its sequence is acknowledged. A
         * retransmitted probe that is acknowledged without a D-SACK repaired a real loss:
         * respond as fast recovery would (§7.4.2). */
        if ((c->flags & TCP_F_TLP_OUT) && f && seq_geq(ack, f->tlp_end_seq)) {
            c->flags &= ~(uint32_t)TCP_F_TLP_OUT;
            /* Only an ACK beyond the probe proves the probe (not the original) repaired a
             * loss; an ACK of exactly its end is ambiguous, and a D-SACK says the probe
             * was spurious. */
            if (c->tlp_retrans && !c->tlp_dsack && seq_gt(ack, f->tlp_end_seq) &&
                c->recovery == TCP_RS_OPEN) {
                tcp_cc_state_get(c);
                cc->on_congestion(&c->cc, tcp_flight(c) + acked, now);
            }
        }
        tcp_schedule_output(c);
    } else if (dup) {
        struct tcp_flight *f = c->fl; /* a duplicate ACK needs data outstanding */
        f->dupacks++;
        TCP_COUNT(c, dup_acks);
        /* RFC 3042 limited transmit and RFC 6582 inflation: without SACK, each duplicate
         * ACK says one more segment has left the network. */
        if (!(c->flags & TCP_F_SACK) && c->recovery != TCP_RS_LOSS) {
            /* RFC 3042 §2: limited transmit sends at most two segments past cwnd. */
            uint32_t cap = c->recovery == TCP_RS_OPEN ? 2u * c->eff_mss : tcp_flight(c);
            f->dup_bytes += c->eff_mss;
            if (f->dup_bytes > cap) f->dup_bytes = cap;
            if (f->dup_bytes > tcp_flight(c)) f->dup_bytes = tcp_flight(c);
        }
        tcp_schedule_output(c);
    }

    /* Loss detection: RFC 6675 IsLost and RACK (RFC 8985 §6.2) over the scoreboard. */
    unsigned lost = 0;
    if (c->flags & TCP_F_SACK) {
        lost += tcp_segs_detect_sack_loss(c);
        if (c->env->cfg->rack && (advanced || sacked)) lost += tcp_rack_detect_loss(c, now);
    }
    if (c->fl && c->fl->seg_count == 0 && c->fl->reorder_at != SYNACK_NEVER) {
        c->fl->reorder_at = SYNACK_NEVER;
        tcp_timer_update(c);
    }

    bool exited = false;
    if (c->recovery != TCP_RS_OPEN && advanced && (!c->fl || seq_geq(c->snd_una, c->fl->recover))) {
        /* RFC 6582 §3.2 step 3 (full acknowledgment) / RFC 6675 §5: recovery is over, and
         * cwnd = ssthresh: this ACK does not also grow it. */
        exited = c->recovery == TCP_RS_RECOVERY;
        exit_recovery(c, now);
    } else if (c->recovery == TCP_RS_RECOVERY && advanced && !(c->flags & TCP_F_SACK)) {
        /* RFC 6582 §3.2 step 3, partial acknowledgment: retransmit the first
         * unacknowledged segment; deflate by the amount acked, add back one MSS. */
        struct tcp_flight *f = c->fl; /* advanced short of `recover`: records remain */
        if (f->seg_count) tcp_seg_mark_lost(c, tcp_seg_at(c, 0));
        f->dup_bytes = (f->dup_bytes > acked ? f->dup_bytes - acked : 0) + c->eff_mss;
        if (f->dup_bytes > tcp_flight(c)) f->dup_bytes = tcp_flight(c);
    }

    if (c->recovery == TCP_RS_OPEN) {
        /* RFC 5681 §3.2 step 2 / RFC 6675 §5 step (4): DupThresh duplicate ACKs, or a
         * segment deemed lost, start fast recovery; RFC 6582 §3.2 step 1: not for
         * duplicates of data sent before the last recovery point. RFC 1191 §6.4: nor while
         * segments a smaller path MTU dropped are being resent, as duplicate ACKs for the
         * holes they left say nothing about congestion. */
        bool pmtu_repair = (c->flags & TCP_F_PMTU_REPAIR) != 0;
        const struct tcp_flight *f = c->fl; /* loss and duplicate ACKs need a flight */
        bool trigger = f && (lost > 0 || (f->dupacks >= TCP_DUPTHRESH && !pmtu_repair));
        if (trigger &&
            (!f->recover_set || seq_geq(c->snd_una, f->recover) || (c->flags & TCP_F_SACK))) {
            tcp_recovery_enter(c, now);
        } else if (!trigger && !exited && (acked || sacked)) {
            if (c->cc.ssthresh != UINT32_MAX) tcp_cc_state_get(c);
            cc->on_ack(&c->cc, acked + sacked, cwnd_limited, c->srtt, now);
        }
    } else if (c->recovery == TCP_RS_LOSS && (acked || sacked)) {
        /* After an RTO: slow start from the loss window (RFC 5681 §3.1). */
        tcp_cc_state_get(c);
        cc->on_ack(&c->cc, acked + sacked, true, c->srtt, now);
    }
    if (lost) tcp_schedule_output(c);
    tcp_tlp_arm(c, now);
    tcp_phase_update(c, now);
    tcp_sndbuf_tune(c, now);
}

void tcp_recovery_on_rto(struct synack_tcp *c, synack_time_t now)
{
    const struct tcp_cc_ops *cc = tcp_cc_ops(c->cc.algo);
    /* RFC 5681 §3.1 (4): ssthresh from FlightSize on the first timeout of a segment only;
     * on later backoffs cwnd stays at the loss window. */
    if (c->retries <= 1 && c->recovery != TCP_RS_LOSS) {
        tcp_cc_state_get(c);
        cc->on_rto(&c->cc, tcp_flight(c), now);
    } else
        c->cc.cwnd = c->cc.mss;
    /* RFC 6675 §5.1 / RFC 6582 §3.2 step 4: everything outstanding is presumed lost and
     * goes again in order as cwnd allows; recovery ends at HighData. */
    c->flags &= ~(uint32_t)(TCP_F_TLP | TCP_F_TLP_OUT);
    struct tcp_flight *f = c->fl;
    if (f) {
        c->recovery = TCP_RS_LOSS;
        f->recover = c->snd_nxt;
        f->recover_set = true;
        f->dup_bytes = 0;
        f->dupacks = 0;
        f->tlp_at = SYNACK_NEVER;
        f->reorder_at = SYNACK_NEVER;
        tcp_segs_mark_all_lost(c);
        if (f->seg_count) tcp_seg_unsack_lost(c, tcp_seg_at(c, 0));
    }
    tcp_phase_update(c, now);
}

void tcp_tlp_arm(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 8985 §7.2: a PTO while in the open state with data in flight, no probe out, and
     * SACK to tell what the probe repaired. */
    bool want = c->env->cfg->rack && (c->flags & TCP_F_SACK) && c->recovery == TCP_RS_OPEN &&
                !(c->flags & TCP_F_TLP_OUT) && tcp_seg_count(c) > 0 && !c->persist &&
                c->snd_wnd > 0;
    if (!want) {
        if (tcp_tlp_at(c) != SYNACK_NEVER) {
            c->fl->tlp_at = SYNACK_NEVER;
            tcp_timer_update(c);
        }
        return;
    }
    synack_time_t pto;
    if (c->have_rtt) {
        pto = 2 * c->srtt;
        if (c->fl->seg_count == 1) pto += TCP_WC_DELACK;
        if (pto < SYNACK_MS(10)) pto = SYNACK_MS(10);
    } else {
        pto = SYNACK_S(1);
    }
    synack_time_t at = now + pto;
    if (c->rto_at != SYNACK_NEVER && at > c->rto_at) at = c->rto_at; /* never after the RTO */
    c->fl->tlp_at = at;
    tcp_timer_update(c);
}
