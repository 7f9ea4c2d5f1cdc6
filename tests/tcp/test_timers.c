/* Timers: SYN and SYN-ACK retransmission with backoff, connect timeout, FIN and data
 * retransmission, the RTO from RTT samples (RFC 6298) and Karn's rule, TIME-WAIT (RFC 9293
 * §3.10.7.4, RFC 1122 §4.2.2.13) and the persist timer (RFC 9293 §3.8.6.1). Times are
 * checked exactly with synack_stack_next_deadline(). */
#include "tcpfix.h"

#include <string.h>

#include "base/seq.h"

static const uint8_t data100[100] = "0123456789abcdefghijklmnopqrstuvwxyz";

static void four_syn_retries(struct synack_config *cfg)
{
    cfg->syn_retries = 4;
}

static void syn_retries_capped_rto(struct synack_config *cfg)
{
    cfg->syn_retries = 4;
    cfg->rto_max = SYNACK_S(5);
}

static void two_syn_retries(struct synack_config *cfg)
{
    cfg->syn_retries = 2;
}

static void small_msl(struct synack_config *cfg)
{
    cfg->msl = SYNACK_S(5);
}

static void three_data_retries(struct synack_config *cfg)
{
    cfg->data_retries = 3;
}

/* connect(), then the SYN-ACK arrives `rtt` later: one RTT sample of `rtt`. */
static void established_after_rtt(struct fix *f, synack_time_t rtt)
{
    fix_syn_sent(f);
    f->now += rtt; /* below the 1 s initial RTO: no timer runs */
    fix_send(f, WIRE_TCP_SYN | WIRE_TCP_ACK, f->peer_nxt, f->iss + 1, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
}

/* ---- handshake ----------------------------------------------------------------------- */

static void syn_retransmitted_with_backoff_then_timedout(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, four_syn_retries);
    fix_syn_sent(&f);
    /* RFC 6298 (2.1), (5.5): 1 s, then doubling: 1, 2, 4, 8. */
    for (unsigned i = 0; i < 4; i++) {
        fix_expect_deadline(&f, f.now + SYNACK_S(1u << i));
        fix_run_next_timer(&f);
        fix_expect(&f, WIRE_TCP_SYN, f.iss, 0);
        fix_expect_none(&f);
        assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    }
    assert_int_equal(fix_info(&f).counters.retransmits, 4);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    /* The fifth expiry, 16 s later, exceeds syn_retries: the connect fails. */
    fix_expect_deadline(&f, f.now + SYNACK_S(16));
    fix_run_next_timer(&f);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_CLOSED));
    assert_int_equal(fix_info(&f).err, SYNACK_ERR_TIMEDOUT);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void syn_backoff_capped_at_rto_max(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, syn_retries_capped_rto);
    fix_syn_sent(&f);
    static const unsigned secs[] = {1, 2, 4, 5};
    for (unsigned i = 0; i < 4; i++) {
        fix_expect_deadline(&f, f.now + SYNACK_S(secs[i]));
        fix_run_next_timer(&f);
        fix_expect(&f, WIRE_TCP_SYN, f.iss, 0);
    }
    fix_expect_deadline(&f, f.now + SYNACK_S(5));
    fix_run_next_timer(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void syn_ack_retransmitted_in_syn_received(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_syn_retries);
    fix_syn_received_passive(&f);
    for (unsigned i = 0; i < 2; i++) {
        fix_expect_deadline(&f, f.now + SYNACK_S(1u << i));
        fix_run_next_timer(&f);
        fix_expect(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.iss, f.peer_nxt);
        fix_expect_none(&f);
    }
    /* Out of retries: the half-open connection goes, the listener stays. */
    fix_expect_deadline(&f, f.now + SYNACK_S(4));
    fix_run_next_timer(&f);
    fix_expect_none(&f);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_CLOSED));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.peer_ack, 0);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

/* ---- FIN and data -------------------------------------------------------------------- */

static void fin_retransmitted_with_backoff(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f);
    /* The handshake sample (R = 0) left RTO = rto_min. */
    assert_true(fix_info(&f).rto == f.cfg.rto_min);
    fix_expect_deadline(&f, f.now + f.cfg.rto_min);
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack - 1, f.peer_nxt);
    fix_expect_none(&f);
    fix_expect_deadline(&f, f.now + 2 * f.cfg.rto_min);
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack - 1, f.peer_nxt);
    assert_int_equal(fix_info(&f).counters.retransmits, 2);
    /* Acknowledged at last: FIN_WAIT_2, no timer. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

static void data_retransmitted_on_rto_with_same_seq(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(synack_tcp_send(f.c, data100, 100, f.now), 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 100);
    assert_int_equal(fix_info(&f).counters.retransmits, 0);
    fix_expect_deadline(&f, f.now + f.cfg.rto_min);
    fix_advance(&f, f.cfg.rto_min - 1);
    fix_expect_none(&f);
    fix_advance(&f, 1);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 100);
    assert_memory_equal(f.last_payload, data100, 100);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.retransmits, 1);
    assert_int_equal(info.counters.rto_expiries, 1);
    assert_int_equal(info.backoff, 1);
    fix_expect_deadline(&f, f.now + 2 * f.cfg.rto_min);
    /* The ACK ends it. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 100, NULL, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    assert_int_equal(fix_info(&f).snd_una, f.peer_ack + 100);
    fix_free(&f);
}

/* ---- RFC 6298 ------------------------------------------------------------------------ */

static void rto_after_first_sample_is_r_plus_4_rttvar(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR = 300 ms for R = 100 ms. */
    established_after_rtt(&f, SYNACK_MS(100));
    assert_true(fix_info(&f).rto == SYNACK_MS(300));
    /* It is the timeout data gets. */
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_expect_deadline(&f, f.now + SYNACK_MS(300));
    fix_free(&f);
}

static void rto_after_first_sample_bounded_by_rto_min(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* 3 * 50 ms = 150 ms < rto_min (200 ms). */
    established_after_rtt(&f, SYNACK_MS(50));
    assert_true(fix_info(&f).rto == f.cfg.rto_min);
    fix_free(&f);
}

static void rto_after_second_sample_per_rfc6298_2_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100)); /* SRTT 100, RTTVAR 50 */
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    f.now += SYNACK_MS(200);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 10, NULL, 0);
    /* RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5;
     * RTO = 112.5 + 4*62.5 = 362.5 ms. */
    assert_true(fix_info(&f).rto == SYNACK_US(362500));
    fix_free(&f);
}

static void karn_ack_of_retransmission_gives_no_sample(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100)); /* RTO 300 ms */
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_run_next_timer(&f); /* +300 ms */
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    /* This ACK may be for either transmission: no sample (RFC 6298 §3). A sample from the
     * first (350 ms) or the second (50 ms) would move the RTO off 300 ms. */
    f.now += SYNACK_MS(50);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 10, NULL, 0);
    assert_true(fix_info(&f).rto == SYNACK_MS(300));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* New data is timed again, with the backed-off RTO: an ACK without a measurement does
     * not collapse it (RFC 6298 §5), so a path slower than the RTO is not timed out again. */
    assert_int_equal(fix_info(&f).backoff, 1);
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 10, f.peer_nxt, 10);
    fix_expect_deadline(&f, f.now + SYNACK_MS(600));
    /* Its ACK is a measurement (100 ms): the RTO collapses (RTTVAR 37.5, SRTT 100). */
    f.now += SYNACK_MS(100);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 20, NULL, 0);
    assert_int_equal(fix_info(&f).backoff, 0);
    assert_true(fix_info(&f).rto == SYNACK_MS(250));
    fix_free(&f);
}

/* A path whose RTT (1.5 s) is above the RTO (1 s, 3 s after a retransmitted SYN would be
 * longer; here 300 ms from a 100 ms handshake): each segment is sent twice at most, then
 * the RTO stays backed off until a segment sent once is timed. */
static void rtt_above_rto_is_timed_after_one_backoff_round(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100)); /* RTO 300 ms */
    synack_time_t sent = f.now;
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_run_next_timer(&f); /* 300 ms */
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_run_next_timer(&f); /* 900 ms */
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    f.now = sent + SYNACK_MS(1500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 10, NULL, 0);
    assert_int_equal(fix_info(&f).backoff, 2); /* kept: no measurement */
    /* The next segment waits 1.2 s, then 2.4 s: its ACK at 1.5 s comes first. */
    sent = f.now;
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 10, f.peer_nxt, 10);
    fix_run_next_timer(&f); /* 1.2 s */
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 10, f.peer_nxt, 10);
    f.now = sent + SYNACK_MS(1500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 20, NULL, 0);
    /* Retransmitted: still no measurement, still backed off (3 doublings: 2.4 s). */
    assert_int_equal(fix_info(&f).backoff, 3);
    sent = f.now;
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 20, f.peer_nxt, 10);
    fix_expect_deadline(&f, f.now + SYNACK_MS(2400));
    f.now = sent + SYNACK_MS(1500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 30, NULL, 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.backoff, 0); /* timed: collapsed */
    assert_int_equal(info.counters.rto_expiries, 3);
    assert_true(info.min_rtt > 0 && info.min_rtt <= info.srtt);
    fix_free(&f);
}

/* The minimum RTT is the least of every sample SRTT averages: never above SRTT, and set
 * as soon as SRTT is, by the handshake's sample alone. */
static void min_rtt_set_by_handshake_and_never_above_srtt(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100));
    struct synack_tcp_info info = fix_info(&f);
    assert_true(info.srtt == SYNACK_MS(100));
    assert_true(info.min_rtt == SYNACK_MS(100));
    fix_free(&f);
}

static void rto_3s_after_retransmitted_syn(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_SYN, f.iss, 0);
    f.now += SYNACK_MS(10);
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss + 1, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    /* Karn: no sample from the retransmitted SYN; RFC 6298 (5.7): data starts with 3 s. */
    assert_true(fix_info(&f).rto == SYNACK_S(3));
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_expect_deadline(&f, f.now + SYNACK_S(3));
    fix_free(&f);
}

static void rto_3s_after_retransmitted_syn_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.iss, f.peer_nxt);
    f.now += SYNACK_MS(10);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    assert_true(fix_info(&f).rto == SYNACK_S(3));
    assert_int_equal(synack_tcp_send(f.c, data100, 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    fix_expect_deadline(&f, f.now + SYNACK_S(3));
    fix_free(&f);
}

/* ---- TIME-WAIT ----------------------------------------------------------------------- */

static void time_wait_repeated_fin_acked_and_2msl_restarted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_msl);
    fix_time_wait(&f);
    fix_expect_deadline(&f, f.now + SYNACK_S(10));
    fix_advance(&f, SYNACK_S(6));
    /* Our ACK of the FIN was lost; the peer sends its FIN again. */
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    fix_expect_deadline(&f, f.now + SYNACK_S(10));
    fix_advance(&f, SYNACK_S(10) - 1);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    fix_advance(&f, 1);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_free(&f);
}

/* A passive connection that sent `n` bytes, then closed first and reached TIME_WAIT.
 * Returns the old connection's SND.NXT. The listener stays in f->l. */
static uint32_t passive_time_wait(struct fix *f, size_t n)
{
    uint8_t data[1000];
    assert_true(n <= sizeof data);
    memset(data, 'd', n);
    fix_established_passive(f);
    assert_int_equal(synack_tcp_send(f->c, data, n, f->now), (synack_ssize)n);
    fix_expect_data(f, WIRE_TCP_ACK | WIRE_TCP_PSH, f->peer_ack, f->peer_nxt, n);
    f->peer_ack += (uint32_t)n;
    fix_server_closes_first(f);
    assert_true(fix_saw_transition(f, SYNACK_FIN_WAIT_1, SYNACK_TIME_WAIT));
    return f->peer_ack;
}

static void time_wait_syn_above_rcv_nxt_reopens(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t old_snd_nxt = passive_time_wait(&f, 1000);
    f.now += SYNACK_MS(1); /* the ISN clock moved 250, far less than 1000 bytes */
    uint32_t new_irs = f.peer_nxt + 100000;
    fix_send(&f, WIRE_TCP_SYN, new_irs, 0, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, new_irs + 1);
    /* RFC 1122 §4.2.2.13: the new incarnation starts above the old one's sequence space. */
    if (!seq_gt(seg.seq, old_snd_nxt))
        fail_msg("new ISS %u is not above the old SND.NXT %u", seg.seq, old_snd_nxt);
    fix_expect_none(&f);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_SYN_RECEIVED));
    /* The new connection completes and is accepted. */
    fix_send(&f, WIRE_TCP_ACK, new_irs + 1, seg.seq + 1, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    assert_int_equal(info.iss, seg.seq);
    assert_int_equal(info.irs, new_irs);
    fix_free(&f);
}

static void time_wait_syn_below_rcv_nxt_does_not_reopen(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t old_snd_nxt = passive_time_wait(&f, 10);
    synack_time_t closes_at = synack_stack_next_deadline(f.s);
    f.now += SYNACK_MS(1);
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt - 100, 0, NULL, 0);
    /* An old duplicate: acknowledged from TIME_WAIT, no SYN-ACK, no new connection. */
    fix_expect(&f, WIRE_TCP_ACK, old_snd_nxt, f.peer_nxt);
    fix_expect_none(&f);
    assert_false(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_events(&f);
    size_t listen_to_syn_rcvd = 0;
    for (size_t i = 0; i < f.nevents; i++) {
        if (f.events[i].type == SYNACK_EV_STATE && f.events[i].new_state == SYNACK_SYN_RECEIVED)
            listen_to_syn_rcvd++;
    }
    assert_int_equal(listen_to_syn_rcvd, 1); /* the first connection only */
    assert_true(synack_stack_next_deadline(f.s) == closes_at);
    fix_free(&f);
}

/* ---- persist ------------------------------------------------------------------------- */

/* Established; the peer then closes its window. */
static void established_zero_window(struct fix *f)
{
    fix_established_active(f);
    f->peer_wnd = 0;
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    fix_expect_none(f);
    assert_int_equal(fix_info(f).snd_wnd, 0);
}

static void zero_window_probe_then_data_flows(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_zero_window(&f);
    assert_int_equal(synack_tcp_send(f.c, data100, 100, f.now), 100);
    fix_expect_none(&f); /* the window is closed */
    /* The persist timer fires after one RTO and sends a one-byte probe. */
    fix_expect_deadline(&f, f.now + f.cfg.rto_min);
    fix_run_next_timer(&f);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 1);
    assert_int_equal(f.last_payload[0], data100[0]);
    fix_expect_none(&f);
    /* The peer opens its window without taking the probe byte: all 100 bytes follow, from
     * the byte the probe carried. */
    f.peer_wnd = 65535;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 100);
    assert_memory_equal(f.last_payload, data100, 100);
    fix_expect_none(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 100, NULL, 0);
    assert_int_equal(fix_info(&f).snd_una, f.peer_ack + 100);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

static void zero_window_probes_back_off_and_never_give_up(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, three_data_retries);
    established_zero_window(&f);
    assert_int_equal(synack_tcp_send(f.c, data100, 100, f.now), 100);
    fix_expect_none(&f);
    /* More probes than data_retries, each answered with a zero window: the intervals double
     * (RFC 1122 §4.2.2.17) and the connection stays up while the peer answers. */
    for (unsigned i = 0; i < 6; i++) {
        fix_expect_deadline(&f, f.now + (f.cfg.rto_min << i));
        fix_run_next_timer(&f);
        fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 1);
        fix_expect_none(&f);
        fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
        fix_expect_none(&f);
        assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    }
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    /* The window opens: the data goes. */
    f.peer_wnd = 65535;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 100);
    fix_free(&f);
}

/* Fills the stack's receive buffer so that it advertises a zero window. */
static void fill_receive_window(struct fix *f)
{
    static uint8_t buf[1460];
    struct wire_tcp_repr seg;
    struct synack_tcp_info info;
    /* Send exactly what the window offers until it is closed. */
    for (synack_tcp_info(f->c, &info); info.rcv_wnd > 0; synack_tcp_info(f->c, &info)) {
        uint32_t n = info.rcv_wnd < sizeof buf ? info.rcv_wnd : (uint32_t)sizeof buf;
        fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, buf, n);
        f->peer_nxt += n;
        while (fix_recv(f, &seg)) {
        }
    }
    assert_int_equal(info.rcv_wnd, 0);
    assert_true(info.recv_queued <= f->cfg.rcvbuf);
}

/* RFC 9293 §3.8.6.1: with a zero window, an arriving segment is still acknowledged, so
 * the prober learns we are alive (and keeps probing instead of timing out). */
static void zero_window_probe_is_acked(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fill_receive_window(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, "p", 1);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt); /* not taken: ack unchanged */
    fix_expect_none(&f);
    fix_free(&f);
}

static void zero_window_fin_is_acked(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fill_receive_window(&f);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_free(&f);
}

/* RFC 1122 §4.2.2.13: TIME-WAIT gives way to a new SYN only if a connection can really be
 * made; when the listener's queue is full, TIME-WAIT stays and still ACKs an old FIN. */
static void time_wait_kept_when_reopening_syn_cannot_be_taken(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr seg;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 1, NULL, &f.l), 0);
    struct wire_tcp_repr syn = {.src_port = f.rport,
                                .dst_port = f.lport,
                                .seq = f.peer_nxt,
                                .flags = WIRE_TCP_SYN,
                                .window = 65535};
    fix_send_repr(&f, &syn);
    f.peer_nxt++;
    assert_true(fix_recv(&f, &seg));
    f.iss = seg.seq;
    f.peer_ack = f.iss + 1;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    synack_tcp_close(f.c, f.now); /* we close first: we will hold TIME_WAIT */
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    f.peer_ack++;
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    /* Another peer port fills the accept queue (backlog 1). */
    f.rport = FIX_RPORT + 1;
    syn.src_port = f.rport;
    syn.seq = 5000;
    fix_send_repr(&f, &syn);
    assert_true(fix_recv(&f, &seg));
    fix_send(&f, WIRE_TCP_ACK, 5001, seg.seq + 1, NULL, 0);
    fix_expect_none(&f);
    /* A new SYN on the TIME_WAIT 4-tuple cannot be taken ... */
    f.rport = FIX_RPORT;
    syn.src_port = f.rport;
    syn.seq = f.peer_nxt + 100000;
    fix_send_repr(&f, &syn);
    while (fix_recv(&f, &seg)) {
    }
    /* ... so TIME_WAIT is still there: the old FIN gets an ACK, not a RST (once the
     * invalid-ACK interval since the SYN's answer has passed). */
    f.now += SYNACK_MS(500);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(zero_window_probe_is_acked),
    cmocka_unit_test(zero_window_fin_is_acked),
    cmocka_unit_test(time_wait_kept_when_reopening_syn_cannot_be_taken),

    cmocka_unit_test(syn_retransmitted_with_backoff_then_timedout),
    cmocka_unit_test(syn_backoff_capped_at_rto_max),
    cmocka_unit_test(syn_ack_retransmitted_in_syn_received),
    cmocka_unit_test(fin_retransmitted_with_backoff),
    cmocka_unit_test(data_retransmitted_on_rto_with_same_seq),
    cmocka_unit_test(rto_after_first_sample_is_r_plus_4_rttvar),
    cmocka_unit_test(rto_after_first_sample_bounded_by_rto_min),
    cmocka_unit_test(rto_after_second_sample_per_rfc6298_2_3),
    cmocka_unit_test(karn_ack_of_retransmission_gives_no_sample),
    cmocka_unit_test(rtt_above_rto_is_timed_after_one_backoff_round),
    cmocka_unit_test(min_rtt_set_by_handshake_and_never_above_srtt),
    cmocka_unit_test(rto_3s_after_retransmitted_syn),
    cmocka_unit_test(rto_3s_after_retransmitted_syn_ack),
    cmocka_unit_test(time_wait_repeated_fin_acked_and_2msl_restarted),
    cmocka_unit_test(time_wait_syn_above_rcv_nxt_reopens),
    cmocka_unit_test(time_wait_syn_below_rcv_nxt_does_not_reopen),
    cmocka_unit_test(zero_window_probe_then_data_flows),
    cmocka_unit_test(zero_window_probes_back_off_and_never_give_up),
};

SYNACK_TEST_MAIN("timers", tests)
