/*
 * Congestion control: the controller table, switching, names, and the pieces NewReno and
 * CUBIC share (initial window, slow start with ABC, the ssthresh floor, recovery exit).
 */
#include "tcp/cc.h"

#include <string.h>

const struct tcp_cc_ops *tcp_cc_ops(enum synack_cc algo)
{
    switch (algo) {
    case SYNACK_CC_CUBIC:
        return &tcp_cc_cubic_ops;
    case SYNACK_CC_NEWRENO:
        return &tcp_cc_newreno_ops;
    default:
        return NULL;
    }
}

void tcp_cc_switch(struct tcp_cc *cc, enum synack_cc algo, synack_time_t now)
{
    (void)now;
    if (tcp_cc_ops(algo) == NULL || algo == cc->algo) return;
    /* The window (cwnd, ssthresh, the post-RTO slow start) belongs to the path and carries
     * over; each controller's growth history does not: the new one starts a fresh epoch
     * from the current cwnd, as after the first slow start. */
    struct tcp_cc keep = *cc;
    memset(cc, 0, sizeof *cc);
    cc->algo = (uint8_t)algo;
    cc->mss = keep.mss;
    cc->cwnd = keep.cwnd;
    cc->ssthresh = keep.ssthresh;
    cc->after_rto = keep.after_rto;
    cc->cubic = keep.cubic; /* the owner's storage, reset */
    if (cc->cubic) tcp_cc_cubic_init(cc->cubic);
}

void tcp_cc_cubic_init(struct tcp_cubic *s)
{
    memset(s, 0, sizeof *s);
    s->app_limited_since = SYNACK_NEVER;
}

void tcp_cc_reno_avoid(struct tcp_cc *cc, uint32_t acked)
{
    cc->bytes_acked = tcp_cc_add_sat(cc->bytes_acked, acked);
    while (cc->bytes_acked >= cc->cwnd) {
        cc->bytes_acked -= cc->cwnd;
        cc->cwnd = tcp_cc_add_sat(cc->cwnd, cc->mss);
    }
}

void tcp_cc_set_mss(struct tcp_cc *cc, uint16_t mss)
{
    if (mss == 0) mss = 1;
    if (mss == cc->mss) return;
    /* CUBIC's windows are in segments (RFC 9438 §4.1.1): the same bytes are more of the
     * smaller ones. The epoch restarts at the next ACK, from the current cwnd towards the
     * rescaled W_max: scaling W_max alone with K kept would move the curve's shape (more
     * growth before K), and a smaller MSS is not a reason to grow (RFC 1191 §6.4). */
    double k = (double)cc->mss / mss;
    struct tcp_cubic *s = cc->cubic;
    if (s) {
        s->w_max *= k;
        s->w_last_max *= k;
        s->cwnd_prior *= k;
        s->cwnd_epoch *= k;
        s->w_est *= k;
        s->cwnd_frac *= k;
        s->epoch_valid = false;
    }
    cc->mss = mss;
}

void tcp_cc_init_window(struct tcp_cc *cc, enum synack_cc algo, uint16_t mss, unsigned init_segs)
{
    memset(cc, 0, sizeof *cc);
    cc->algo = (uint8_t)algo;
    cc->mss = mss > 0 ? mss : 1;
    /* RFC 6928 §2: the initial window is init_segs segments (10 by default). */
    uint64_t iw = (uint64_t)(init_segs > 0 ? init_segs : 1) * cc->mss;
    cc->cwnd = iw > UINT32_MAX ? UINT32_MAX : (uint32_t)iw;
    /* RFC 5681 §3.1: ssthresh starts arbitrarily high. */
    cc->ssthresh = UINT32_MAX;
}

uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked)
{
    if (!tcp_cc_in_slow_start(cc)) return acked;
    /* RFC 3465 §2.2: cwnd += min(N, L * SMSS) with L = 2; §2.3: L = 1 SMSS in the slow start
     * that follows a retransmission timeout. */
    uint64_t limit = (uint64_t)cc->mss * (cc->after_rto ? 1u : 2u);
    uint32_t inc = acked < limit ? acked : (uint32_t)limit;
    uint32_t room = cc->ssthresh - cc->cwnd;
    if (inc < room) {
        cc->cwnd += inc;
        return 0;
    }
    /* RFC 5681 §3.1: slow start ends at ssthresh; the bytes this ACK covered beyond what
     * slow start used count toward congestion avoidance. */
    cc->cwnd = cc->ssthresh;
    cc->after_rto = false;
    return acked - room;
}

uint32_t tcp_cc_ssthresh_floor(const struct tcp_cc *cc, uint64_t bytes)
{
    uint64_t floor = 2 * (uint64_t)cc->mss;
    if (bytes < floor) bytes = floor;
    return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

void tcp_cc_recovery_end(struct tcp_cc *cc, synack_time_t now)
{
    (void)now;
    /* RFC 6582 §3.2 step 3 / RFC 6675 §5: deflate to ssthresh when recovery ends. */
    cc->cwnd = cc->ssthresh;
    cc->bytes_acked = 0;
    if (cc->cubic) cc->cubic->cwnd_frac = 0;
}

const char *synack_cc_name(enum synack_cc cc)
{
    const struct tcp_cc_ops *ops = tcp_cc_ops(cc);
    return ops != NULL ? ops->name : "unknown";
}

int synack_cc_parse(const char *name, enum synack_cc *out)
{
    if (name == NULL || out == NULL) return SYNACK_ERR_INVAL;
    for (int i = 0; i < SYNACK_CC_COUNT; i++) {
        if (strcmp(name, synack_cc_name((enum synack_cc)i)) == 0) {
            *out = (enum synack_cc)i;
            return 0;
        }
    }
    return SYNACK_ERR_INVAL;
}

const char *synack_cc_phase_name(enum synack_cc_phase p)
{
    static const char *const names[SYNACK_PHASE_COUNT] = {
        "slow-start",
        "congestion-avoidance",
        "recovery",
        "loss",
    };
    return (unsigned)p < SYNACK_PHASE_COUNT ? names[p] : "unknown";
}
