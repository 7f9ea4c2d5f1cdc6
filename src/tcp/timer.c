/* Timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), TIME-WAIT (2*MSL). */
#include "stack/stack.h"
#include "tcp/conn.h"

void tcp_timer_update(struct synack_tcp *c)
{
    synack_time_t at = c->rto_at < c->timewait_at ? c->rto_at : c->timewait_at;
    timers_set(&c->stack->timers, &c->timer, at);
}

/* RFC 6298 (5.5): the backed-off RTO, bounded above by rto_max. */
static synack_time_t rto_backed_off(const struct synack_tcp *c)
{
    synack_time_t rto = c->rto;
    for (unsigned i = 0; i < c->backoff && rto < c->stack->cfg.rto_max; i++)
        rto *= 2;
    return rto < c->stack->cfg.rto_max ? rto : c->stack->cfg.rto_max;
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
    const struct synack_config *cfg = &c->stack->cfg;
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
    synack_time_t var = 4 * c->rttvar > g ? 4 * c->rttvar : g;
    synack_time_t rto = c->srtt + var;
    if (rto < cfg->rto_min) rto = cfg->rto_min;
    if (rto > cfg->rto_max) rto = cfg->rto_max;
    c->rto = rto;
}

void tcp_rto_after_handshake(struct synack_tcp *c)
{
    /* RFC 6298 (5.7): if the timer expired while waiting for the ACK of a SYN and no RTT
     * sample exists, data transmission starts with an RTO of at least 3 seconds. */
    if (c->backoff && !c->have_rtt && c->rto < SYNACK_S(3)) c->rto = SYNACK_S(3);
}

void tcp_persist_check(struct synack_tcp *c, synack_time_t now)
{
    if (!tcp_is_synchronized(c->state) || c->rto_at != SYNACK_NEVER || c->snd_una != c->snd_nxt)
        return;
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    if (c->snd_wnd != 0 || !seq_lt(c->snd_nxt, data_end)) return;
    c->persist = true;
    c->rto_at = now + rto_backed_off(c);
    tcp_timer_update(c);
}

void tcp_enter_time_wait(struct synack_tcp *c, synack_time_t now)
{
    /* RFC 9293 §3.10.7.4: "start the time-wait timer, turn off the other timers". */
    c->rto_at = SYNACK_NEVER;
    c->persist = false;
    c->timewait_at = now + 2 * c->stack->cfg.msl;
    tcp_timer_update(c);
    tcp_set_state(c, SYNACK_TIME_WAIT, now);
}

static void persist_expired(struct synack_tcp *c)
{
    /* RFC 9293 §3.8.6.1: probe the zero window with one byte; back off like the RTO but
     * never give up while the peer keeps answering (retries reset on each ACK). */
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
    unsigned limit = handshake ? c->stack->cfg.syn_retries : c->stack->cfg.data_retries;
    TCP_COUNT(c, rto_expiries);
    if (++c->retries > limit) {
        tcp_conn_finish(c, SYNACK_ERR_TIMEDOUT, now);
        return;
    }
    /* RFC 6298 (5.4)-(5.6): retransmit the earliest unacknowledged segment, double the
     * RTO, restart the timer. Everything after it is sent again as the window allows
     * (go-back-N: this receiver keeps no out-of-order data yet). */
    if (c->backoff < 16) c->backoff++;
    c->snd_rtx = c->snd_una;
    c->flags &= ~(uint32_t)TCP_F_RTT_TIMING;
    /* RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: a retransmission into a zero window (a probe
     * in flight, or a window that closed under our data) is itself a one-byte probe;
     * sending nothing would let the connection time out while the peer answers. */
    if (c->snd_wnd == 0) c->flags |= TCP_F_PROBE;
    tcp_rto_arm(c, now);
    tcp_schedule_output(c);
}

void tcp_timer_expired(struct synack_tcp *c, synack_time_t now)
{
    if (c->timewait_at <= now) {
        /* RFC 9293 §3.10.7.4: TIME-WAIT ends after 2*MSL; delete the TCB. */
        c->timewait_at = SYNACK_NEVER;
        tcp_conn_finish(c, 0, now);
        return;
    }
    if (c->rto_at <= now) {
        if (c->persist)
            persist_expired(c);
        else
            rto_expired(c, now);
        return;
    }
    tcp_timer_update(c);
}
