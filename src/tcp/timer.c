/* Timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), TIME-WAIT (2*MSL). */
#include "tcp/conn.h"

/* RFC 5482: the user timeout runs while sent data is unacknowledged, from when SND.UNA
 * last moved (or data first went out); SYNACK_NEVER otherwise. Computed, not kept: it
 * follows from the flight. */
static synack_time_t utimeout_at(const struct synack_tcp *c)
{
    synack_time_t limit = tcp_user_timeout(c);
    if (!limit || !c->fl || c->snd_una == c->snd_nxt || !tcp_is_synchronized(c->state) ||
        c->state == SYNACK_TIME_WAIT)
        return SYNACK_NEVER;
    return c->fl->una_since + limit;
}

void tcp_timer_update(struct synack_tcp *c)
{
    if (c->flags & TCP_F_DEAD) return; /* out of the heap for good */
    /* timewait_at or finwait2_at, which share a field with rtt_start: no deadline while
     * that times our SYN. */
    synack_time_t state_at = (c->flags & TCP_F_RTT_TIMING) ? SYNACK_NEVER : c->timewait_at;
    synack_time_t t[] = {c->rto_at,         state_at,        c->delack_at,  tcp_tlp_at(c),
                         tcp_reorder_at(c), c->keepalive_at, utimeout_at(c)};
    synack_time_t at = SYNACK_NEVER;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] < at) at = t[i];
    timers_set(&c->env->timers, &c->timer, at);
}

void tcp_timers_clear(struct synack_tcp *c)
{
    c->rto_at = SYNACK_NEVER;
    tcp_syn_timing_stop(c);
    c->timewait_at = SYNACK_NEVER; /* and finwait2_at and rtt_start, which share it */
    c->delack_at = SYNACK_NEVER;
    if (c->fl) {
        c->fl->tlp_at = SYNACK_NEVER;
        c->fl->reorder_at = SYNACK_NEVER;
    }
    c->keepalive_at = SYNACK_NEVER;
    c->persist = false;
    tcp_timer_update(c);
}

void tcp_delack_schedule(struct synack_tcp *c, bool immediate, synack_time_t now)
{
    /* RFC 5681 §4.2 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment and
     * within the delayed-ACK timeout (well under 500 ms); at once for out-of-order data or
     * a segment that fills a hole. */
    synack_time_t delay = c->env->cfg->delack_timeout;
    if (immediate || delay == 0 || c->rcv_unacked >= 2u * c->rcv_seg_max) {
        c->flags |= TCP_F_ACK_NOW;
        tcp_schedule_output(c);
        return;
    }
    if (c->delack_at == SYNACK_NEVER) {
        c->delack_at = now + delay;
        tcp_timer_update(c);
    }
    /* Data of our own going out would carry the ACK sooner. */
    tcp_schedule_output(c);
}

void tcp_keepalive_reset(struct synack_tcp *c, synack_time_t now)
{
    c->last_rcv = now;
    c->ka_sent = 0;
    synack_time_t idle = tcp_ka_idle(c);
    synack_time_t at = idle ? now + idle : SYNACK_NEVER;
    if (at != c->keepalive_at) {
        c->keepalive_at = at;
        tcp_timer_update(c);
    }
}

/* RFC 6298 (5.5): the backed-off RTO, bounded above by rto_max. */
static synack_time_t rto_backed_off(const struct synack_tcp *c)
{
    synack_time_t rto = c->rto;
    for (unsigned i = 0; i < c->backoff && rto < c->env->cfg->rto_max; i++)
        rto *= 2;
    return rto < c->env->cfg->rto_max ? rto : c->env->cfg->rto_max;
}

void tcp_rto_arm(struct synack_tcp *c, synack_time_t now)
{
    c->persist = false;
    c->rto_at = now + rto_backed_off(c);
    tcp_timer_update(c);
}

void tcp_rto_stop(struct synack_tcp *c)
{
    c->persist = false;
    c->rto_at = SYNACK_NEVER;
    tcp_timer_update(c);
}

void tcp_rtt_sample(struct synack_tcp *c, synack_time_t r)
{
    const struct synack_config *cfg = c->env->cfg;
    const synack_time_t g = SYNACK_MS(1); /* clock granularity G */
    if (!c->have_rtt) {
        /* RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2 */
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = true;
    } else {
        /* RFC 6298 (2.3), alpha = 1/8, beta = 1/4 */
        synack_time_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + diff) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    /* RTO <- SRTT + max(G, K*RTTVAR), K = 4, then (2.4)/(2.5) bounds */
    /* Every sample is a candidate for the minimum, so SRTT, a weighted mean of samples,
     * is never below it (the scoreboard adds the samples of SACKed segments). */
    if (c->min_rtt == 0 || r < c->min_rtt) c->min_rtt = r ? r : 1;
    synack_time_t var = 4 * c->rttvar > g ? 4 * c->rttvar : g;
    synack_time_t rto = c->srtt + var;
    if (rto < cfg->rto_min) rto = cfg->rto_min;
    if (rto > cfg->rto_max) rto = cfg->rto_max;
    c->rto = rto;
}

void tcp_rto_after_handshake(struct synack_tcp *c)
{
    /* RFC 6298 (5.7): if the timer expired while waiting for the ACK of a SYN and no RTT
     * sample exists, data transmission starts with an RTO of at least 3 seconds: that,
     * not the SYN's backed-off timer, is the data's RTO. */
    if (c->backoff && !c->have_rtt && c->rto < SYNACK_S(3)) c->rto = SYNACK_S(3);
    c->backoff = 0;
}

void tcp_persist_check(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 9293 §3.8.6.1 and RFC 1122 §4.2.3.4: data waits, nothing is in flight to bring
     * an ACK back, and the window (zero, or too small for sender SWS avoidance) holds it
     * back: the persist timer probes, and on expiry sends what the window allows. */
    if (!tcp_is_synchronized(c->state) || c->rto_at != SYNACK_NEVER || c->snd_una != c->snd_nxt)
        return;
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    if (!seq_lt(c->snd_nxt, data_end)) return;
    c->persist = true;
    c->rto_at = now + rto_backed_off(c);
    tcp_timer_update(c);
}

void tcp_enter_time_wait(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 9293 §3.10.7.4: "start the time-wait timer, turn off the other timers". */
    tcp_timers_clear(c);
    c->timewait_at = now + 2 * c->env->cfg->msl;
    tcp_timer_update(c);
    tcp_set_state(c, SYNACK_TIME_WAIT, now);
    /* Released: nobody will read this TCB again; a small record does the waiting. */
    if (c->flags & TCP_F_RELEASED) tcp_tw_adopt(c, now);
}

void tcp_finwait2_arm(struct synack_tcp *c, synack_time_t now)
{
    /* Our FIN is acknowledged, so our SYN is: nothing to time, and the field is the
     * FIN-WAIT-2 deadline's now. */
    tcp_syn_timing_stop(c);
    synack_time_t t = c->env->cfg->fin_wait2_timeout;
    if (!t || c->state != SYNACK_FIN_WAIT_2 || !(c->flags & TCP_F_RELEASED)) return;
    c->finwait2_at = now + t;
    tcp_timer_update(c);
}

static void persist_expired(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 9293 §3.8.6.1: probe the zero window with one byte; back off like the RTO but
     * never give up while the peer keeps answering (retries reset on each ACK) and the
     * application holds the connection. A released one has nobody waiting for it: after
     * data_retries probes that did not open the window it is reset (a peer that keeps a
     * window shut must not hold an orphan for ever; Linux's tcp_orphan_retries). */
    if ((c->flags & TCP_F_RELEASED) && ++c->retries > c->env->cfg->data_retries) {
        c->env->counters->zero_window_timeouts++;
        tcp_conn_reset(c, SYNACK_ERR_TIMEDOUT, now);
        return;
    }
    c->persist = false;
    c->rto_at = SYNACK_NEVER;
    if (c->backoff < 16) c->backoff++;
    c->flags |= TCP_F_PROBE;
    tcp_timer_update(c);
    tcp_schedule_output(c);
}

static void rto_expired(struct synack_tcp *c, synack_time_t now)
{
    bool handshake = c->snd_una == c->iss;
    unsigned limit = handshake ? c->env->cfg->syn_retries : c->env->cfg->data_retries;
    TCP_COUNT(c, rto_expiries);
    if (++c->retries > limit) {
        if ((c->flags & TCP_F_RELEASED) && c->snd_wnd == 0)
            c->env->counters->zero_window_timeouts++;
        /* RFC 1122 §4.2.3.9: a soft error heard meanwhile says why. */
        tcp_conn_finish(c, tcp_timeout_err(c), now);
        return;
    }
    if (handshake) {
        /* RFC 6298 (5.4)-(5.6) for our SYN: send it again, double the RTO. */
        if (c->backoff < 16) c->backoff++;
        c->snd_rtx = c->iss;
        tcp_syn_timing_stop(c);
        tcp_rto_arm(c, now);
        tcp_schedule_output(c);
        return;
    }
    if (c->snd_wnd == 0) {
        /* RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: data (or a probe) outstanding into a zero
         * window. Retransmitting the first segment is the probe; this is flow control, not
         * congestion, so cwnd is left alone. */
        if (tcp_seg_count(c)) tcp_seg_unsack_lost(c, tcp_seg_at(c, 0));
        c->flags |= TCP_F_PROBE;
    } else {
        /* RFC 6298 (5.4): retransmit the earliest unacknowledged segment (RFC 6675 §5.1:
         * all outstanding ones, as cwnd allows). */
        tcp_recovery_on_rto(c, now);
    }
    c->flags &= ~(uint32_t)TCP_F_RTX_NOW;
    if (c->backoff < 16) c->backoff++; /* (5.5) */
    tcp_rto_arm(c, now);               /* (5.6) */
    tcp_schedule_output(c);
}

static void tlp_expired(struct synack_tcp *c)
{
    /* RFC 8985 §7.3: send one probe (new data, or the last segment again). */
    c->fl->tlp_at = SYNACK_NEVER; /* it ran: there is a flight */
    if (c->fl->seg_count == 0 || c->recovery != TCP_RS_OPEN) return;
    c->flags |= TCP_F_TLP;
    tcp_schedule_output(c);
}

static void keepalive_expired(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 1122 §4.2.3.6: after the idle time, probe every interval; `count` probes
     * unanswered and the peer is dead. Only an idle connection is probed: data in flight
     * has the retransmission timer. */
    c->keepalive_at = SYNACK_NEVER;
    synack_time_t idle = tcp_ka_idle(c);
    if (idle == 0 || !tcp_is_synchronized(c->state) || c->state == SYNACK_TIME_WAIT) {
        tcp_timer_update(c);
        return;
    }
    if (c->snd_una != c->snd_nxt) {
        c->keepalive_at = now + idle;
        tcp_timer_update(c);
        return;
    }
    if (c->ka_sent >= tcp_ka_count(c)) {
        tcp_conn_finish(c, tcp_timeout_err(c), now);
        return;
    }
    c->ka_sent++;
    TCP_COUNT(c, keepalive_probes);
    c->flags |= TCP_F_KEEPALIVE;
    c->keepalive_at = now + tcp_ka_interval(c);
    tcp_timer_update(c);
    tcp_schedule_output(c);
}

void tcp_timer_expired(struct synack_tcp *c, synack_time_t now)
{
    if (c->state == SYNACK_TIME_WAIT && c->timewait_at <= now) {
        /* RFC 9293 §3.10.7.4: TIME-WAIT ends after 2*MSL; delete the TCB. */
        c->timewait_at = SYNACK_NEVER;
        tcp_conn_finish(c, 0, now);
        return;
    }
    if (c->state == SYNACK_FIN_WAIT_2 && c->finwait2_at <= now) {
        /* Our FIN is acknowledged, the application is gone, the peer never sends its FIN:
         * reset (Linux's tcp_fin_timeout; RFC 9293 leaves FIN-WAIT-2 unbounded). */
        c->env->counters->fin_wait2_timeouts++;
        tcp_conn_reset(c, SYNACK_ERR_TIMEDOUT, now);
        return;
    }
    if (utimeout_at(c) <= now) {
        /* RFC 9293 §3.8.3 / RFC 5482: data unacknowledged past the user timeout. */
        tcp_conn_finish(c, tcp_timeout_err(c), now);
        return;
    }
    if (c->delack_at <= now) {
        c->delack_at = SYNACK_NEVER;
        TCP_COUNT(c, delayed_acks);
        c->flags |= TCP_F_ACK_NOW;
        tcp_schedule_output(c);
    }
    if (tcp_reorder_at(c) <= now) {
        /* RFC 8985 §6.3: the reordering window of a segment ran out. */
        c->fl->reorder_at = SYNACK_NEVER;
        if (tcp_rack_detect_loss(c, now) && c->recovery == TCP_RS_OPEN &&
            c->state != SYNACK_TIME_WAIT) {
            tcp_recovery_enter(c, now);
        }
        tcp_schedule_output(c);
    }
    if (tcp_tlp_at(c) <= now) {
        tlp_expired(c);
        /* RFC 8985 §7.2: a PTO capped at the RTO time sends the probe at that time, and
         * the probe re-arms the RTO: the TLP wins the tie. */
        if ((c->flags & TCP_F_TLP) && c->rto_at <= now) {
            tcp_rto_arm(c, now);
            tcp_timer_update(c);
            return;
        }
    }
    if (c->keepalive_at <= now) {
        keepalive_expired(c, now);
        if (c->state == SYNACK_CLOSED) return;
    }
    if (c->rto_at <= now) {
        if (c->persist)
            persist_expired(c, now);
        else
            rto_expired(c, now);
        return;
    }
    tcp_timer_update(c);
}
