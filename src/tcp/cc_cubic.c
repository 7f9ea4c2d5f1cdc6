/*
 * CUBIC congestion control (RFC 9438). Slow start is NewReno's (RFC 5681 with ABC, RFC
 * 3465); in congestion avoidance the window follows W_cubic(t) = C*(t - K)^3 + W_max,
 * unless the Reno-friendly estimate W_est is larger.
 *
 * Windows are in segments (doubles) inside this file, bytes in struct tcp_cc. The core
 * links libc alone, so the cube root is computed here.
 */
#include "tcp/cc.h"

/* RFC 9438 §4.1.1: constants of interest. */
#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
#define CUBIC_BETA_NUM 7 /* beta_cubic as 7/10, for exact byte arithmetic */
#define CUBIC_BETA_DEN 10
/* RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic). */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

#define NS_PER_SEC 1e9

/* Cube root of x by Newton's method on y^3 - x. Started at or above the root, each step
 * stays above it and falls (y^3 is convex for y > 0), so the loop stops as soon as a step
 * no longer falls. Our x is at most about 2^32 / C, so the doubling and the iteration both
 * end within a few dozen steps. */
static double cubic_cbrt(double x)
{
    if (x < 0) return -cubic_cbrt(-x);
    if (!(x > 0)) return 0;
    double y = 1;
    while (y * y * y < x)
        y *= 2;
    for (int i = 0; i < 200; i++) {
        double next = (2 * y + x / (y * y)) / 3;
        if (!(next < y)) break;
        y = next;
    }
    return y;
}

static double cubic_segs(const struct tcp_cc *cc, uint32_t bytes)
{
    return (double)bytes / cc->mss;
}

/* The congestion window in segments, including the growth not yet whole bytes. */
static double cubic_cwnd(const struct tcp_cc *cc)
{
    return cubic_segs(cc, cc->cwnd) + cc->cubic->cwnd_frac;
}

/* RFC 9438 §4.2, Figure 1: W_cubic(t) = C * (t - K)^3 + W_max, t in seconds. */
static double cubic_w(const struct tcp_cubic *s, double t)
{
    double d = t - s->k;
    return CUBIC_C * d * d * d + s->w_max;
}

/* Adds `segs` segments to cwnd, keeping the part below one byte in cwnd_frac so that many
 * small increments add up exactly. */
static void cubic_grow(struct tcp_cc *cc, double segs)
{
    struct tcp_cubic *s = cc->cubic;
    if (!(segs > 0)) return;
    s->cwnd_frac += segs;
    double bytes = s->cwnd_frac * cc->mss;
    if (bytes < 1) return;
    if (bytes >= (double)(UINT32_MAX - cc->cwnd)) {
        cc->cwnd = UINT32_MAX;
        s->cwnd_frac = 0;
        return;
    }
    uint32_t whole = (uint32_t)bytes;
    cc->cwnd += whole;
    s->cwnd_frac -= (double)whole / cc->mss;
}

/* RFC 9438 §4.2: the first ACK in congestion avoidance starts an epoch. */
static void cubic_start_epoch(struct tcp_cc *cc, synack_time_t now)
{
    struct tcp_cubic *s = cc->cubic;
    s->epoch_valid = true;
    s->t_epoch = now;
    s->cwnd_epoch = cubic_cwnd(cc);
    /* No W_max yet (no congestion event, or the first stage after a timeout, §4.8):
     * W_max = cwnd_epoch, so K = 0. */
    if (!(s->w_max > 0)) s->w_max = s->cwnd_epoch;
    /* §4.1.2: cwnd_prior is set when slow start first ends if no reduction did it. */
    if (!(s->cwnd_prior > 0)) s->cwnd_prior = s->cwnd_epoch;
    /* §4.2, Figure 2: K = cbrt((W_max - cwnd_epoch) / C); 0 when cwnd_epoch >= W_max. */
    s->k = s->w_max > s->cwnd_epoch ? cubic_cbrt((s->w_max - s->cwnd_epoch) / CUBIC_C) : 0;
    /* §4.3: W_est starts at cwnd_epoch. */
    s->w_est = s->cwnd_epoch;
}

/* RFC 9438 §4.2-§4.5: one new ACK in congestion avoidance covering `acked` bytes. */
static void cubic_avoid(struct tcp_cc *cc, uint32_t acked, synack_time_t rtt, synack_time_t now)
{
    struct tcp_cubic *s = cc->cubic;
    if (!s) {
        /* No state (its owner could not give it): the Reno-friendly window alone (§4.3). */
        tcp_cc_reno_avoid(cc, acked);
        return;
    }
    if (!s->epoch_valid) cubic_start_epoch(cc, now);
    double cwnd = cubic_cwnd(cc);
    double segs_acked = cubic_segs(cc, acked);
    double t = now > s->t_epoch ? (double)(now - s->t_epoch) / NS_PER_SEC : 0;
    double w_cubic = cubic_w(s, t);

    /* §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 * cwnd]. */
    double target = cubic_w(s, t + (double)rtt / NS_PER_SEC);
    if (target < cwnd) target = cwnd;
    if (target > 1.5 * cwnd) target = 1.5 * cwnd;

    /* §4.3, Figure 4: W_est += alpha * segments_acked / cwnd, with segments_acked counted
     * from bytes (ABC); alpha becomes 1 once W_est has reached cwnd_prior. */
    double alpha = s->w_est >= s->cwnd_prior ? 1.0 : CUBIC_ALPHA;
    s->w_est += alpha * segs_acked / cwnd;

    if (w_cubic < s->w_est) {
        /* §4.3: Reno-friendly region: cwnd = W_est (never a decrease). */
        cubic_grow(cc, s->w_est - cwnd);
        return;
    }
    /* §4.4 concave / §4.5 convex region: cwnd += (target - cwnd) / cwnd per new ACK; we
     * count that per acked segment (ABC), never past target. */
    double inc = (target - cwnd) / cwnd * segs_acked;
    cubic_grow(cc, inc < target - cwnd ? inc : target - cwnd);
}

/* RFC 9438 §4.2 and §5.8: t must not include time the application, not cwnd, limited the
 * sender. Mark where such a stretch starts; when cwnd limits again, move t_epoch later by
 * the stretch so the curve resumes where it paused. */
static void cubic_track_app_limited(struct tcp_cc *cc, bool cwnd_limited, synack_time_t now)
{
    struct tcp_cubic *s = cc->cubic;
    if (!s) return; /* no epoch to move */
    if (!cwnd_limited) {
        if (s->epoch_valid && s->app_limited_since == SYNACK_NEVER) s->app_limited_since = now;
        return;
    }
    if (s->app_limited_since == SYNACK_NEVER) return;
    if (s->epoch_valid && now > s->app_limited_since) s->t_epoch += now - s->app_limited_since;
    s->app_limited_since = SYNACK_NEVER;
}

static void cubic_init(struct tcp_cc *cc, uint16_t mss, unsigned init_segs)
{
    tcp_cc_init_window(cc, SYNACK_CC_CUBIC, mss, init_segs);
}

static void cubic_on_ack(struct tcp_cc *cc, uint32_t acked, bool cwnd_limited, synack_time_t rtt,
                         synack_time_t now)
{
    cubic_track_app_limited(cc, cwnd_limited, now);
    /* RFC 9438 §5.8, RFC 7661 §4.3: no growth while application-limited. */
    if (!cwnd_limited || acked == 0) return;
    /* RFC 9438 §4.10: slow start as RFC 5681 (with ABC, RFC 3465). */
    uint32_t left = tcp_cc_slow_start(cc, acked);
    if (left > 0) cubic_avoid(cc, left, rtt, now);
}

/* RFC 9438 §4.7 (fast convergence) then §4.6 (multiplicative decrease) for ssthresh. §4.6
 * allows cwnd in place of flight_size when cwnd cannot grow while the sender is below it,
 * which on_ack ensures. */
static void cubic_reduce(struct tcp_cc *cc)
{
    struct tcp_cubic *s = cc->cubic;
    if (s) {
        double cwnd = cubic_cwnd(cc);
        s->w_last_max = s->w_max;
        s->w_max = cwnd < s->w_last_max ? cwnd * (1 + CUBIC_BETA) / 2 : cwnd;
        s->cwnd_prior = cwnd;
        s->cwnd_frac = 0;
        s->epoch_valid = false;
        s->app_limited_since = SYNACK_NEVER;
    }
    uint64_t ssthresh = (uint64_t)cc->cwnd * CUBIC_BETA_NUM / CUBIC_BETA_DEN;
    cc->ssthresh = tcp_cc_ssthresh_floor(cc, ssthresh);
    cc->bytes_acked = 0; /* the Reno-friendly count without state (cubic_avoid) */
    cc->after_rto = false;
}

static void cubic_on_congestion(struct tcp_cc *cc, uint32_t flight, synack_time_t now)
{
    (void)flight;
    (void)now;
    cubic_reduce(cc);
    /* RFC 9438 §4.6: cwnd = max(ssthresh, 2) on loss; ssthresh is already >= 2 SMSS. */
    cc->cwnd = cc->ssthresh;
}

static void cubic_on_rto(struct tcp_cc *cc, uint32_t flight, synack_time_t now)
{
    (void)flight;
    (void)now;
    /* RFC 9438 §4.8: ssthresh as in §4.6, cwnd as Reno's loss window (RFC 5681 §3.1). */
    cubic_reduce(cc);
    cc->cwnd = cc->mss;
    cc->after_rto = true;
    /* §4.8: the first congestion avoidance stage after a timeout takes W_max = cwnd_epoch
     * and K = 0 (and W_est = cwnd_epoch, as every epoch does). */
    if (cc->cubic) cc->cubic->w_max = 0;
}

const struct tcp_cc_ops tcp_cc_cubic_ops = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_congestion = cubic_on_congestion,
    .on_rto = cubic_on_rto,
    .on_recovery_end = tcp_cc_recovery_end,
};
