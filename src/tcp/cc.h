/*
 * Congestion control behind a small vtable (RFC 5681 framework): NewReno with appropriate
 * byte counting (RFC 5681, RFC 3465) and CUBIC (RFC 9438). The controller owns cwnd growth
 * outside loss recovery and the reductions on a congestion signal; loss recovery itself
 * (what to send, the pipe, when recovery ends) lives in tcp/recovery.c.
 *
 * All sizes in bytes, times in nanoseconds. Deterministic: no clock, no randomness.
 */
#ifndef SYNACK_TCP_CC_H
#define SYNACK_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/synack.h>

/* CUBIC's state (RFC 9438 §4), in segments (doubles: the core may use floating point, no
 * libm). A connection needs it only once it leaves slow start: every field is unset until
 * the first congestion signal or the first ACK in congestion avoidance. Its owner gives it
 * (struct tcp_cc's `cubic`) and keeps it for the connection's life; without it (the
 * allocator refused it) CUBIC follows its Reno-friendly window alone (§4.3: what a
 * standard TCP would have; the multiplicative decrease stays §4.6's). */
struct tcp_cubic {
    double w_max;          /* window before the last reduction (0: none, take cwnd_epoch) */
    double w_last_max;     /* W_max before the last reduction: fast convergence (§4.7) */
    double cwnd_prior;     /* cwnd when ssthresh was last set (§4.1.2, used by §4.3) */
    double k;              /* time (s) to return to w_max (§4.2, Figure 2) */
    double cwnd_epoch;     /* cwnd at the start of the epoch */
    double w_est;          /* Reno-friendly estimate (§4.3) */
    double cwnd_frac;      /* fractional segments accumulated toward cwnd */
    synack_time_t t_epoch; /* start of the current congestion-avoidance epoch */
    /* First application-limited ACK of the current stretch, SYNACK_NEVER when cwnd-limited:
     * t_epoch moves later by that stretch, so t excludes it (§4.2, §5.8). */
    synack_time_t app_limited_since;
    bool epoch_valid; /* t_epoch and the rest of the epoch above are set */
};

struct tcp_cc {
    /* CUBIC's state, given by the owner once the connection leaves slow start
     * (tcp_cc_wants_state); NULL before, for NewReno, or when it could not be had. The
     * controllers' init leaves it NULL; tcp_cc_switch keeps it, reset. */
    struct tcp_cubic *cubic;
    uint32_t cwnd;     /* congestion window */
    uint32_t ssthresh; /* slow-start threshold (UINT32_MAX: none yet) */
    /* NewReno congestion avoidance (RFC 5681 §3.1, RFC 3465 §2.1): bytes acked toward the
     * next one-MSS increase (CUBIC keeps its Reno-friendly estimate in w_est instead). */
    uint32_t bytes_acked;
    /* SMSS: the connection's effective MSS, which 16 bits hold (RFC 9293 §3.7.1), as are
     * the TCB's segment sizes; so that the block is 24 bytes on LP64, not 32. */
    uint16_t mss;
    uint8_t algo; /* enum synack_cc */
    /* Slow start after a retransmission timeout: ABC uses L = 1 SMSS, not 2 (RFC 3465 §2.3).
     * Cleared when cwnd reaches ssthresh or on the next congestion signal. */
    bool after_rto;
};

/* Whether `cc` would use a struct tcp_cubic it does not have: CUBIC's, about to leave slow
 * start (a congestion signal) or out of it (ssthresh set). */
static inline bool tcp_cc_wants_state(const struct tcp_cc *cc)
{
    return cc->algo == SYNACK_CC_CUBIC && !cc->cubic;
}
/* A fresh CUBIC state: no W_max, no epoch. */
void tcp_cc_cubic_init(struct tcp_cubic *s);
/* RFC 5681 §3.1 congestion avoidance with byte counting (RFC 3465 §2.1): one SMSS per cwnd
 * of bytes acknowledged (NewReno's, and CUBIC's without its state). */
void tcp_cc_reno_avoid(struct tcp_cc *cc, uint32_t acked);

struct tcp_cc_ops {
    const char *name;
    /* RFC 6928: cwnd = init_segs * mss, ssthresh unset. */
    void (*init)(struct tcp_cc *cc, uint16_t mss, unsigned init_segs);
    /* Outside loss recovery, `acked` bytes were newly acknowledged (cumulatively or by
     * SACK). `cwnd_limited` is false when the application, not cwnd, limited the sender
     * (RFC 7661: do not grow cwnd then). `rtt` is the smoothed RTT (0 if unknown). */
    void (*on_ack)(struct tcp_cc *cc, uint32_t acked, bool cwnd_limited, synack_time_t rtt,
                   synack_time_t now);
    /* Fast retransmit / loss detected by SACK or RACK: set ssthresh and cwnd for recovery.
     * `flight` is FlightSize (RFC 5681 (4)). */
    void (*on_congestion)(struct tcp_cc *cc, uint32_t flight, synack_time_t now);
    /* Retransmission timeout: ssthresh from FlightSize, cwnd = one segment (loss window,
     * RFC 5681 §3.1 (5)/(6)); the epoch restarts. */
    void (*on_rto)(struct tcp_cc *cc, uint32_t flight, synack_time_t now);
    /* Recovery ended (RFC 6582 §3.2 step 3 full ACK / RFC 6675): cwnd = ssthresh. */
    void (*on_recovery_end)(struct tcp_cc *cc, synack_time_t now);
};

/* The controller's operations; NULL for an out-of-range value. */
const struct tcp_cc_ops *tcp_cc_ops(enum synack_cc algo);

/* Switches controllers keeping cwnd and ssthresh (synack_tcp_set_cc). */
void tcp_cc_switch(struct tcp_cc *cc, enum synack_cc algo, synack_time_t now);

/* The segment size changed (a smaller path MTU, RFC 1191): cwnd and ssthresh stay as they
 * are in bytes (RFC 1191 §6.4: not a congestion signal); what CUBIC keeps in segments is
 * rescaled to the same bytes. `mss` 0 counts as 1. */
void tcp_cc_set_mss(struct tcp_cc *cc, uint16_t mss);

/* ---- shared by the controllers (cc.c) ---- */

extern const struct tcp_cc_ops tcp_cc_newreno_ops;
extern const struct tcp_cc_ops tcp_cc_cubic_ops;

/* Resets `cc` to a fresh connection's state for `algo`: cwnd = init_segs * mss (RFC 6928;
 * init_segs 0 counts as 1, mss 0 as 1), ssthresh = UINT32_MAX, no CUBIC history. */
void tcp_cc_init_window(struct tcp_cc *cc, enum synack_cc algo, uint16_t mss, unsigned init_segs);

/* Slow start with appropriate byte counting (RFC 5681 §3.1, RFC 3465 §2.2): cwnd grows by
 * min(acked, L * SMSS), L = 2 (1 after an RTO, RFC 3465 §2.3), but never past ssthresh.
 * Returns the acked bytes left over for congestion avoidance (0 while still in slow start). */
uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked);

/* max(bytes, 2 * SMSS): the floor on ssthresh (RFC 5681 (4), RFC 9438 §4.6). */
uint32_t tcp_cc_ssthresh_floor(const struct tcp_cc *cc, uint64_t bytes);

/* on_recovery_end for both controllers: cwnd = ssthresh (RFC 6582 §3.2 step 3). */
void tcp_cc_recovery_end(struct tcp_cc *cc, synack_time_t now);

/* a + b, saturating at UINT32_MAX. */
static inline uint32_t tcp_cc_add_sat(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static inline bool tcp_cc_in_slow_start(const struct tcp_cc *cc)
{
    return cc->cwnd < cc->ssthresh;
}

#endif
