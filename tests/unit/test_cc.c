/* tcp/cc: NewReno (RFC 5681, RFC 3465) and CUBIC (RFC 9438), one test per rule. */
#include "harness.h"

#include <string.h>

#include "tcp/cc.h"

#define MSS 1000u
#define MS 1000000ull /* nanoseconds */
#define SEC 1000000000ull

static const struct tcp_cc_ops *newreno(void)
{
    return tcp_cc_ops(SYNACK_CC_NEWRENO);
}

static const struct tcp_cc_ops *cubic(void)
{
    return tcp_cc_ops(SYNACK_CC_CUBIC);
}

/* CUBIC's state, which a connection gives its controller once it leaves slow start: one
 * controller at a time in these tests has it. */
static struct tcp_cubic cubic_state;

/* A fresh controller, with CUBIC's state given (NewReno ignores it). */
static void init_cc(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint16_t mss, unsigned segs)
{
    ops->init(cc, mss, segs);
    tcp_cc_cubic_init(&cubic_state);
    cc->cubic = &cubic_state;
}

/* A controller in congestion avoidance with cwnd = ssthresh = segs * MSS, no history. */
static void start_in_avoidance(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t segs)
{
    init_cc(cc, ops, MSS, 10);
    cc->cwnd = segs * MSS;
    cc->ssthresh = segs * MSS;
}

/* One RTT of a cwnd-limited bulk transfer: every segment of the window acked alone, the
 * ACKs spread evenly over the RTT. */
static void ack_one_rtt(struct tcp_cc *cc, const struct tcp_cc_ops *ops, synack_time_t *now,
                        synack_time_t rtt)
{
    uint32_t segs = cc->cwnd / MSS;
    for (uint32_t i = 0; i < segs; i++) {
        *now += rtt / segs;
        ops->on_ack(cc, MSS, true, rtt, *now);
    }
}

static double segs_of(uint32_t bytes)
{
    return (double)bytes / MSS;
}

static double cube(double x)
{
    return x * x * x;
}

/* ---- both controllers ------------------------------------------------------------------ */

/* RFC 6928 §2: IW = 10 segments; RFC 5681 §3.1: ssthresh starts arbitrarily high. */
static void iw10_initial_window(void **state)
{
    (void)state;
    for (int a = 0; a < SYNACK_CC_COUNT; a++) {
        struct tcp_cc cc;
        init_cc(&cc, tcp_cc_ops((enum synack_cc)a), 1460, 10);
        assert_int_equal(cc.algo, a);
        assert_int_equal(cc.mss, 1460);
        assert_int_equal(cc.cwnd, 14600);
        assert_int_equal(cc.ssthresh, UINT32_MAX);
        assert_true(tcp_cc_in_slow_start(&cc));
    }
}

/* RFC 5681 §3.1 slow start with RFC 3465 §2.2 ABC, L = 2: one window of ACKs doubles cwnd,
 * whether each ACK covers one or two segments; a stretch ACK adds at most 2 SMSS. */
static void slow_start_doubles_per_rtt_abc_l2(void **state)
{
    (void)state;
    for (int a = 0; a < SYNACK_CC_COUNT; a++) {
        const struct tcp_cc_ops *ops = tcp_cc_ops((enum synack_cc)a);
        struct tcp_cc cc;
        init_cc(&cc, ops, MSS, 10);
        for (int i = 0; i < 10; i++)
            ops->on_ack(&cc, MSS, true, 100 * MS, 0);
        assert_int_equal(cc.cwnd, 20 * MSS);
        for (int i = 0; i < 10; i++) /* delayed ACKs, two segments each */
            ops->on_ack(&cc, 2 * MSS, true, 100 * MS, 0);
        assert_int_equal(cc.cwnd, 40 * MSS);
        ops->on_ack(&cc, 8 * MSS, true, 100 * MS, 0); /* stretch ACK: capped at L = 2 */
        assert_int_equal(cc.cwnd, 42 * MSS);
        ops->on_ack(&cc, 300, true, 100 * MS, 0); /* a small ACK counts its bytes */
        assert_int_equal(cc.cwnd, 42 * MSS + 300);
    }
}

/* RFC 5681 §3.1: slow start stops at ssthresh; the rest of that ACK's bytes count toward
 * congestion avoidance (RFC 3465 §2.1). */
static void slow_start_stops_at_ssthresh(void **state)
{
    (void)state;
    struct tcp_cc cc;
    init_cc(&cc, newreno(), MSS, 10);
    cc.cwnd = 9 * MSS + 500;
    cc.ssthresh = 10 * MSS;
    newreno()->on_ack(&cc, 2 * MSS, true, 0, 0);
    assert_int_equal(cc.cwnd, 10 * MSS);
    assert_int_equal(cc.bytes_acked, 2 * MSS - 500);
    assert_false(tcp_cc_in_slow_start(&cc));
}

/* RFC 5681 §3.1 (3), byte-counting variant (RFC 3465 §2.1): +1 SMSS per cwnd of bytes
 * acknowledged, however the bytes are split across ACKs. */
static void avoidance_one_mss_per_cwnd_acked(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, newreno(), 10);
    for (int i = 0; i < 9; i++)
        newreno()->on_ack(&cc, MSS, true, 0, 0);
    assert_int_equal(cc.cwnd, 10 * MSS);
    assert_int_equal(cc.bytes_acked, 9 * MSS);
    newreno()->on_ack(&cc, 500, true, 0, 0);
    newreno()->on_ack(&cc, 700, true, 0, 0);
    assert_int_equal(cc.cwnd, 11 * MSS);
    assert_int_equal(cc.bytes_acked, 200);
    /* Ten more windows of one-MSS ACKs: exactly ten more segments. */
    synack_time_t now = 0;
    for (int r = 0; r < 10; r++)
        ack_one_rtt(&cc, newreno(), &now, 100 * MS);
    assert_int_equal(cc.cwnd, 21 * MSS);
    /* One ACK covering two growing windows (10 then 11 segments): two increases. */
    start_in_avoidance(&cc, newreno(), 10);
    newreno()->on_ack(&cc, 21 * MSS, true, 0, 0);
    assert_int_equal(cc.cwnd, 12 * MSS);
    assert_int_equal(cc.bytes_acked, 0);
}

/* RFC 7661 §4.3 and RFC 9438 §5.8: no growth when the application, not cwnd, limited the
 * sender, in slow start or congestion avoidance, for either controller. */
static void no_growth_when_app_limited(void **state)
{
    (void)state;
    for (int a = 0; a < SYNACK_CC_COUNT; a++) {
        const struct tcp_cc_ops *ops = tcp_cc_ops((enum synack_cc)a);
        struct tcp_cc cc;
        init_cc(&cc, ops, MSS, 10);
        for (int i = 0; i < 100; i++)
            ops->on_ack(&cc, MSS, false, 100 * MS, (synack_time_t)i * MS);
        assert_int_equal(cc.cwnd, 10 * MSS);
        start_in_avoidance(&cc, ops, 10);
        for (int i = 0; i < 1000; i++)
            ops->on_ack(&cc, MSS, false, 100 * MS, (synack_time_t)i * 10 * MS);
        assert_int_equal(cc.cwnd, 10 * MSS);
        assert_int_equal(cc.bytes_acked, 0);
    }
}

/* RFC 6582 §3.2 step 3 / RFC 6675 §5: recovery ends with cwnd = ssthresh. */
static void recovery_end_sets_cwnd_to_ssthresh(void **state)
{
    (void)state;
    for (int a = 0; a < SYNACK_CC_COUNT; a++) {
        const struct tcp_cc_ops *ops = tcp_cc_ops((enum synack_cc)a);
        struct tcp_cc cc;
        start_in_avoidance(&cc, ops, 40);
        ops->on_congestion(&cc, 40 * MSS, 0);
        cc.cwnd = 3 * MSS; /* whatever recovery did with it */
        ops->on_recovery_end(&cc, 0);
        assert_int_equal(cc.cwnd, cc.ssthresh);
    }
}

/* ---- NewReno --------------------------------------------------------------------------- */

/* RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2 * SMSS); RFC 6675 §5: cwnd = ssthresh
 * for recovery. */
static void newreno_halves_on_congestion_with_floor(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, newreno(), 20);
    cc.bytes_acked = 5 * MSS;
    newreno()->on_congestion(&cc, 20 * MSS, 0);
    assert_int_equal(cc.ssthresh, 10 * MSS);
    assert_int_equal(cc.cwnd, 10 * MSS);
    assert_int_equal(cc.bytes_acked, 0);
    /* FlightSize, not cwnd, sets it. */
    start_in_avoidance(&cc, newreno(), 20);
    newreno()->on_congestion(&cc, 12 * MSS, 0);
    assert_int_equal(cc.ssthresh, 6 * MSS);
    /* The 2 * SMSS floor. */
    start_in_avoidance(&cc, newreno(), 20);
    newreno()->on_congestion(&cc, 3 * MSS, 0);
    assert_int_equal(cc.ssthresh, 2 * MSS);
    assert_int_equal(cc.cwnd, 2 * MSS);
}

/* RFC 5681 §3.1 (4)-(5): an RTO sets ssthresh = max(FlightSize / 2, 2 * SMSS) and cwnd to
 * the loss window, one SMSS; RFC 3465 §2.3: the slow start that follows uses L = 1 SMSS. */
static void newreno_rto_one_mss_ssthresh_half_flight(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, newreno(), 30);
    newreno()->on_rto(&cc, 20 * MSS, 0);
    assert_int_equal(cc.ssthresh, 10 * MSS);
    assert_int_equal(cc.cwnd, MSS);
    assert_true(tcp_cc_in_slow_start(&cc));
    newreno()->on_ack(&cc, 2 * MSS, true, 0, 0);
    assert_int_equal(cc.cwnd, 2 * MSS);
    newreno()->on_rto(&cc, MSS, 0);
    assert_int_equal(cc.ssthresh, 2 * MSS);
    assert_int_equal(cc.cwnd, MSS);
}

/* ---- CUBIC ----------------------------------------------------------------------------- */

/* RFC 9438 §4.6: ssthresh = cwnd * 0.7 (at least 2 SMSS), cwnd = ssthresh; W_max is cwnd
 * before the reduction. */
static void cubic_beta_reduction(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    assert_int_equal(cc.ssthresh, 70 * MSS);
    assert_int_equal(cc.cwnd, 70 * MSS);
    assert_true(cc.cubic->w_max == 100.0);
    assert_true(cc.cubic->cwnd_prior == 100.0);
    assert_false(cc.cubic->epoch_valid);
    start_in_avoidance(&cc, cubic(), 2);
    cubic()->on_congestion(&cc, 2 * MSS, 0);
    assert_int_equal(cc.ssthresh, 2 * MSS);
    assert_int_equal(cc.cwnd, 2 * MSS);
}

/* RFC 9438 §4.7: a congestion event below the previous W_max sets W_max = cwnd * (1 +
 * beta) / 2; at or above it, W_max = cwnd. */
static void cubic_fast_convergence(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    assert_true(cc.cubic->w_max == 100.0);
    cc.cwnd = 80 * MSS;
    cubic()->on_congestion(&cc, 80 * MSS, 0);
    assert_float_equal(cc.cubic->w_max, 80 * 0.85, 1e-9);
    assert_true(cc.cubic->w_last_max == 100.0);
    assert_true(cc.cubic->cwnd_prior == 80.0);
    assert_int_equal(cc.cwnd, 56 * MSS);
    cc.cwnd = 90 * MSS; /* above W_max = 68: a plain update */
    cubic()->on_congestion(&cc, 90 * MSS, 0);
    assert_true(cc.cubic->w_max == 90.0);
}

/* RFC 9438 §4.2, Figure 2: K = cbrt((W_max - cwnd_epoch) / C), computed at the first ACK of
 * the epoch; K = 0 when there is no W_max (W_max = cwnd_epoch). */
static void cubic_k_formula(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, SEC);
    assert_true(cc.cubic->epoch_valid);
    assert_true(cc.cubic->t_epoch == SEC);
    assert_true(cc.cubic->cwnd_epoch == 70.0);
    assert_true(cc.cubic->w_est >= 70.0);
    /* cbrt(30 / 0.4) = cbrt(75) */
    assert_float_equal(cc.cubic->k, 4.217163326508746, 1e-9);
    assert_float_equal(0.4 * cube(cc.cubic->k), 30.0, 1e-9);
    /* After fast convergence: W_max = 80 * 0.85 = 68, cwnd_epoch = 56. */
    cc.cwnd = 80 * MSS;
    cc.cubic->cwnd_frac = 0;
    cubic()->on_congestion(&cc, 80 * MSS, 0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, 2 * SEC);
    assert_float_equal(0.4 * cube(cc.cubic->k), 68.0 - 56.0, 1e-9);
    assert_float_equal(cc.cubic->k, 3.10723250595386, 1e-9); /* cbrt(30) */
    /* No congestion yet: W_max = cwnd_epoch and K = 0. */
    start_in_avoidance(&cc, cubic(), 50);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, SEC);
    assert_true(cc.cubic->w_max == 50.0);
    assert_true(cc.cubic->k == 0.0);
}

/* RFC 1191 §6.4: a smaller MSS after a path-MTU drop is not a reason to grow. CUBIC's
 * windows are in segments, so W_max is rescaled, and the epoch restarts from the current
 * cwnd so that K again satisfies C*K^3 = W_max - cwnd_epoch (RFC 9438 §4.2) in the new
 * unit; keeping the old K would put the curve above the old one (in bytes) before K. */
static void cubic_mss_change_restarts_epoch_in_new_unit(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, SEC);
    assert_true(cc.cubic->epoch_valid);
    uint32_t bytes = cc.cwnd;
    tcp_cc_set_mss(&cc, MSS / 2);
    assert_int_equal(cc.cwnd, bytes);                 /* the same bytes ... */
    assert_float_equal(cc.cubic->w_max, 200.0, 1e-9); /* ... are twice the segments */
    cubic()->on_ack(&cc, MSS / 2, true, 100 * MS, SEC + 100 * MS);
    assert_true(cc.cubic->t_epoch == SEC + 100 * MS);
    assert_float_equal(0.4 * cube(cc.cubic->k), cc.cubic->w_max - cc.cubic->cwnd_epoch, 1e-9);
    /* The target one RTT on is no more bytes than before the change would have allowed. */
    double before = 0.4 * cube(0.1 - 4.217163326508746) + 100.0;          /* segments of MSS */
    double after = (0.4 * cube(0.1 - cc.cubic->k) + cc.cubic->w_max) / 2; /* in MSS units */
    assert_true(after <= before + 1e-6);
}

/* RFC 9438 §4.2, §4.4, §4.5: on a path with a large window (1000 segments, 100 ms RTT) cwnd
 * tracks W_cubic(t): back near W_max after K seconds, concave (slowing) before K, convex
 * (speeding up) after, and never in the Reno-friendly region. */
static void cubic_follows_w_cubic_over_time(void **state)
{
    (void)state;
    const synack_time_t rtt = 100 * MS;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 1000);
    cubic()->on_congestion(&cc, 1000 * MSS, 0);
    synack_time_t now = 0;
    ack_one_rtt(&cc, cubic(), &now, rtt);
    double k = cc.cubic->k; /* cbrt(300 / 0.4), about 9.1 s */
    synack_time_t t0 = cc.cubic->t_epoch;
    /* Sample cwnd at 0, K/2, K, 3K/2 and 2K after the epoch started. */
    double w[5];
    for (int i = 0; i < 5; i++) {
        synack_time_t until = t0 + (synack_time_t)(k * i / 2 * (double)SEC);
        while (now < until)
            ack_one_rtt(&cc, cubic(), &now, rtt);
        w[i] = segs_of(cc.cwnd);
        double t = (double)(now - t0) / (double)SEC;
        /* Within 2% of the target, W_cubic one RTT ahead, and at or above W_cubic(t). */
        double target = 0.4 * cube(t + 0.1 - k) + 1000.0;
        assert_true(w[i] > 0.98 * target && w[i] <= target);
        assert_true(w[i] >= 0.4 * cube(t - k) + 1000.0 - 1);
        assert_true(cc.cubic->w_est < w[i]);
    }
    assert_true(w[2] > 995.0 && w[2] < 1005.0); /* back near W_max after K seconds */
    assert_true(w[1] - w[0] > w[2] - w[1]);     /* concave below W_max */
    assert_true(w[4] - w[3] > w[3] - w[2]);     /* convex above it */
}

/* RFC 9438 §4.3: with a small RTT and window, Reno's estimate W_est (alpha_cubic, then 1
 * once W_est >= cwnd_prior) outgrows W_cubic(t), and cwnd follows W_est. */
static void cubic_reno_friendly_region(void **state)
{
    (void)state;
    const synack_time_t rtt = 1 * MS;
    const double alpha = 3 * (1 - 0.7) / (1 + 0.7);
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 10);
    cubic()->on_congestion(&cc, 10 * MSS, 0); /* W_max = 10, cwnd = 7, K = 1.957 s */
    synack_time_t now = 0;
    ack_one_rtt(&cc, cubic(), &now, rtt);
    /* One window of ACKs: W_est grew by about alpha_cubic segments; cwnd followed it. */
    assert_float_equal(cc.cubic->w_est, 7 + alpha, 0.05);
    assert_float_equal(segs_of(cc.cwnd), cc.cubic->w_est, 0.01);
    for (int r = 0; r < 99; r++)
        ack_one_rtt(&cc, cubic(), &now, rtt);
    /* 0.1 s in: W_cubic is about 7.4 segments, Reno-friendly cwnd is far above. W_est took
     * about (10 - 7) / alpha RTTs at alpha_cubic, then grew one segment per RTT. */
    double t = (double)(now - cc.cubic->t_epoch) / (double)SEC;
    double w_cubic = 0.4 * cube(t - cc.cubic->k) + 10.0;
    assert_true(w_cubic < 8.0);
    assert_float_equal(segs_of(cc.cwnd), cc.cubic->w_est, 0.01);
    assert_true(cc.cubic->w_est > 10 + (100 - 3 / alpha) - 8 &&
                cc.cubic->w_est < 10 + (100 - 3 / alpha) + 2);
}

/* RFC 9438 §4.8: an RTO reduces ssthresh by beta and cwnd to one segment; the following
 * congestion avoidance starts with W_max = cwnd_epoch and K = 0. */
static void cubic_rto_one_mss_then_k_zero(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_rto(&cc, 100 * MSS, 0);
    assert_int_equal(cc.ssthresh, 70 * MSS);
    assert_int_equal(cc.cwnd, MSS);
    synack_time_t now = 0;
    while (tcp_cc_in_slow_start(&cc))
        ack_one_rtt(&cc, cubic(), &now, 100 * MS);
    assert_true(cc.cubic->epoch_valid);
    assert_true(cc.cubic->w_max == 70.0);
    assert_true(cc.cubic->k == 0.0);
    assert_true(cc.cubic->w_est >= 70.0);
}

/* RFC 9438 §4.2 / §5.8: t excludes application-limited time, so the curve resumes where it
 * paused instead of jumping ahead. */
static void cubic_app_limited_time_not_counted(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, SEC);
    uint32_t cwnd = cc.cwnd;
    cubic()->on_ack(&cc, MSS, false, 100 * MS, 2 * SEC);
    cubic()->on_ack(&cc, MSS, false, 100 * MS, 30 * SEC);
    assert_int_equal(cc.cwnd, cwnd);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, 32 * SEC);
    assert_true(cc.cubic->t_epoch == 31 * SEC);
    assert_true(segs_of(cc.cwnd) < 72.0); /* 30 s in, it would be far past W_max */
}

/* synack_tcp_set_cc: switching keeps cwnd and ssthresh and starts the new controller fresh;
 * the same controller or an unknown one changes nothing. */
static void switching_keeps_cwnd_and_ssthresh(void **state)
{
    (void)state;
    struct tcp_cc cc;
    start_in_avoidance(&cc, cubic(), 100);
    cubic()->on_congestion(&cc, 100 * MSS, 0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, SEC);
    uint32_t cwnd = cc.cwnd, ssthresh = cc.ssthresh;
    tcp_cc_switch(&cc, SYNACK_CC_CUBIC, 2 * SEC);
    assert_true(cc.cubic->epoch_valid);
    tcp_cc_switch(&cc, SYNACK_CC_COUNT, 2 * SEC);
    assert_int_equal(cc.algo, SYNACK_CC_CUBIC);
    tcp_cc_switch(&cc, SYNACK_CC_NEWRENO, 2 * SEC);
    assert_int_equal(cc.algo, SYNACK_CC_NEWRENO);
    assert_int_equal(cc.cwnd, cwnd);
    assert_int_equal(cc.ssthresh, ssthresh);
    assert_int_equal(cc.mss, MSS);
    assert_false(cc.cubic->epoch_valid);
    newreno()->on_ack(&cc, cwnd, true, 0, 3 * SEC);
    assert_int_equal(cc.cwnd, cwnd + MSS);
    tcp_cc_switch(&cc, SYNACK_CC_CUBIC, 4 * SEC);
    assert_int_equal(cc.algo, SYNACK_CC_CUBIC);
    assert_int_equal(cc.cwnd, cwnd + MSS);
    assert_int_equal(cc.ssthresh, ssthresh);
    assert_true(cc.cubic->w_max == 0.0);
    cubic()->on_ack(&cc, MSS, true, 100 * MS, 5 * SEC); /* fresh epoch from this cwnd */
    assert_true(cc.cubic->k == 0.0);
    assert_true(cc.cubic->cwnd_epoch == segs_of(cwnd + MSS));
}

/* include/synack/synack.h: names round-trip through parse; parsing is exact. */
static void names_round_trip_and_reject_bad(void **state)
{
    (void)state;
    for (int a = 0; a < SYNACK_CC_COUNT; a++) {
        enum synack_cc out = SYNACK_CC_COUNT;
        assert_int_equal(synack_cc_parse(synack_cc_name((enum synack_cc)a), &out), 0);
        assert_int_equal(out, a);
        assert_string_equal(tcp_cc_ops((enum synack_cc)a)->name, synack_cc_name(out));
    }
    assert_string_equal(synack_cc_name(SYNACK_CC_CUBIC), "cubic");
    assert_string_equal(synack_cc_name(SYNACK_CC_NEWRENO), "newreno");
    assert_string_equal(synack_cc_name(SYNACK_CC_COUNT), "unknown");
    assert_null(tcp_cc_ops(SYNACK_CC_COUNT));
    enum synack_cc out = SYNACK_CC_NEWRENO;
    const char *bad[] = {"CUBIC", "NewReno", "reno", "", "cubic ", "newreno2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(synack_cc_parse(bad[i], &out), SYNACK_ERR_INVAL);
    assert_int_equal(out, SYNACK_CC_NEWRENO);
    assert_int_equal(synack_cc_parse(NULL, &out), SYNACK_ERR_INVAL);
    assert_int_equal(synack_cc_parse("cubic", NULL), SYNACK_ERR_INVAL);
    assert_string_equal(synack_cc_phase_name(SYNACK_PHASE_SLOW_START), "slow-start");
    assert_string_equal(synack_cc_phase_name(SYNACK_PHASE_CONG_AVOID), "congestion-avoidance");
    assert_string_equal(synack_cc_phase_name(SYNACK_PHASE_RECOVERY), "recovery");
    assert_string_equal(synack_cc_phase_name(SYNACK_PHASE_LOSS), "loss");
    assert_string_equal(synack_cc_phase_name(SYNACK_PHASE_COUNT), "unknown");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(iw10_initial_window),
    cmocka_unit_test(slow_start_doubles_per_rtt_abc_l2),
    cmocka_unit_test(slow_start_stops_at_ssthresh),
    cmocka_unit_test(avoidance_one_mss_per_cwnd_acked),
    cmocka_unit_test(no_growth_when_app_limited),
    cmocka_unit_test(recovery_end_sets_cwnd_to_ssthresh),
    cmocka_unit_test(newreno_halves_on_congestion_with_floor),
    cmocka_unit_test(newreno_rto_one_mss_ssthresh_half_flight),
    cmocka_unit_test(cubic_beta_reduction),
    cmocka_unit_test(cubic_fast_convergence),
    cmocka_unit_test(cubic_k_formula),
    cmocka_unit_test(cubic_mss_change_restarts_epoch_in_new_unit),
    cmocka_unit_test(cubic_follows_w_cubic_over_time),
    cmocka_unit_test(cubic_reno_friendly_region),
    cmocka_unit_test(cubic_rto_one_mss_then_k_zero),
    cmocka_unit_test(cubic_app_limited_time_not_counted),
    cmocka_unit_test(switching_keeps_cwnd_and_ssthresh),
    cmocka_unit_test(names_round_trip_and_reject_bad),
};

SYNACK_TEST_MAIN("cc", tests)
