/*
 * NewReno congestion control: RFC 5681 slow start and congestion avoidance with appropriate
 * byte counting (RFC 3465). Fast retransmit and recovery live in tcp/recovery.c; this file
 * only sets the windows they start from and return to.
 */
#include "tcp/cc.h"

static void newreno_init(struct tcp_cc *cc, uint16_t mss, unsigned init_segs)
{
    tcp_cc_init_window(cc, SYNACK_CC_NEWRENO, mss, init_segs);
}

static void newreno_on_ack(struct tcp_cc *cc, uint32_t acked, bool cwnd_limited, synack_time_t rtt,
                           synack_time_t now)
{
    (void)rtt;
    (void)now;
    /* RFC 7661 §4.3: a sender the application held below cwnd does not grow cwnd. */
    if (!cwnd_limited || acked == 0) return;
    uint32_t left = tcp_cc_slow_start(cc, acked);
    if (left > 0) tcp_cc_reno_avoid(cc, left);
}

static void newreno_on_congestion(struct tcp_cc *cc, uint32_t flight, synack_time_t now)
{
    (void)now;
    /* RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2 * SMSS); RFC 6675 §5 (step 4.2
     * of the loss-recovery algorithm): recovery starts with cwnd = ssthresh. */
    cc->ssthresh = tcp_cc_ssthresh_floor(cc, flight / 2);
    cc->cwnd = cc->ssthresh;
    cc->bytes_acked = 0;
    cc->after_rto = false;
}

static void newreno_on_rto(struct tcp_cc *cc, uint32_t flight, synack_time_t now)
{
    (void)now;
    /* RFC 5681 §3.1 (4) for ssthresh, then cwnd = LW = one SMSS. (Holding ssthresh on a
     * repeated timeout of the same segment is the caller's choice of `flight`.) */
    cc->ssthresh = tcp_cc_ssthresh_floor(cc, flight / 2);
    cc->cwnd = cc->mss;
    cc->bytes_acked = 0;
    cc->after_rto = true;
}

const struct tcp_cc_ops tcp_cc_newreno_ops = {
    .name = "newreno",
    .init = newreno_init,
    .on_ack = newreno_on_ack,
    .on_congestion = newreno_on_congestion,
    .on_rto = newreno_on_rto,
    .on_recovery_end = tcp_cc_recovery_end,
};
