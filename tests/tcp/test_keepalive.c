/* Keepalive (RFC 1122 §4.2.3.6) and the user timeout (RFC 9293 §3.8.3, RFC 5482), at
 * segment level with exact deadlines. */
#include "tcpfix.h"

#include <string.h>

#define MSS 1460u

/* ---- helpers --------------------------------------------------------------------------- */

/* Established, then 100 bytes sent and acknowledged, so SND.NXT - 1 is a data byte. */
static void established_with_data_acked(struct fix *f)
{
    static const uint8_t data[100] = "keepalive";
    fix_established_active(f);
    assert_int_equal(synack_tcp_send(f->c, data, sizeof data, f->now), (synack_ssize)sizeof data);
    fix_expect_data(f, WIRE_TCP_ACK | WIRE_TCP_PSH, f->peer_ack, f->peer_nxt, sizeof data);
    f->peer_ack += sizeof data;
    f->now += SYNACK_MS(10);
    fix_peer_ack(f, f->peer_ack);
    fix_expect_none(f);
    assert_int_equal(fix_info(f).snd_nxt, f->peer_ack);
}

/* The keepalive probe: <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>, no data. */
static void expect_probe(struct fix *f)
{
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack - 1, f->peer_nxt);
    fix_expect_none(f);
}

#define IDLE SYNACK_S(10)
#define INTERVAL SYNACK_S(1)

/* ---- keepalive (RFC 1122 §4.2.3.6) ----------------------------------------------------------- */

/* RFC 1122 §4.2.3.6: keepalives MUST default to off: hours of idleness send nothing and
 * arm no timer. */
static void keepalive_off_by_default(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_advance(&f, SYNACK_S(3 * 3600));
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    assert_int_equal(info.counters.keepalive_probes, 0);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.6: after `idle` without a segment from the peer, a probe with SEG.SEQ =
 * SND.NXT - 1 and no data, so that the peer answers with an ACK. */
static void keepalive_first_probe_after_idle_is_snd_nxt_minus_1(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    synack_time_t heard = f.now;
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 3), 0);
    fix_expect_deadline(&f, heard + IDLE);
    fix_advance(&f, IDLE - 1);
    fix_expect_none(&f);
    fix_advance(&f, 1);
    expect_probe(&f);
    assert_int_equal(fix_info(&f).counters.keepalive_probes, 1);
    assert_int_equal(fix_info(&f).snd_nxt, f.peer_ack); /* the probe took no sequence space */
    fix_free(&f);
}

/* RFC 1122 §4.2.3.6: an unanswered probe is repeated every `interval`. */
static void keepalive_unanswered_probe_repeats_every_interval(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 5), 0);
    fix_run_next_timer(&f);
    expect_probe(&f);
    for (unsigned i = 0; i < 3; i++) {
        fix_expect_deadline(&f, f.now + INTERVAL);
        fix_run_next_timer(&f);
        expect_probe(&f);
    }
    assert_int_equal(fix_info(&f).counters.keepalive_probes, 4);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.6: the peer's answer shows it is alive: the next probe waits a whole
 * idle period from the answer, not an interval, and the unanswered count starts over. */
static void keepalive_answer_restarts_idle_period(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 2), 0);
    fix_run_next_timer(&f);
    expect_probe(&f);
    fix_run_next_timer(&f); /* second probe, one interval later */
    expect_probe(&f);
    f.now += SYNACK_MS(20);
    fix_peer_ack(&f, f.peer_ack); /* the answer */
    fix_expect_none(&f);
    fix_expect_deadline(&f, f.now + IDLE);
    /* Two more unanswered probes do not end the connection: the count restarted. */
    fix_run_next_timer(&f);
    expect_probe(&f);
    fix_run_next_timer(&f);
    expect_probe(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    fix_free(&f);
}

/* RFC 1122 §4.2.3.6: `count` unanswered probes and the peer is deemed dead: at the expiry
 * after the last one (idle + count * interval) the connection fails with TIMEDOUT. */
static void keepalive_count_unanswered_probes_time_out(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    synack_time_t heard = f.now;
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 3), 0);
    for (unsigned i = 0; i < 3; i++) {
        fix_expect_deadline(&f, heard + IDLE + i * INTERVAL);
        fix_run_next_timer(&f);
        expect_probe(&f);
        assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    }
    fix_expect_deadline(&f, heard + IDLE + 3 * INTERVAL);
    fix_advance(&f, INTERVAL - 1);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_advance(&f, 1);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_CLOSED);
    assert_int_equal(info.err, SYNACK_ERR_TIMEDOUT);
    assert_int_equal(info.counters.keepalive_probes, 3);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSED));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

/* synack.h contract: interval 0 or count 0 with idle set are INVAL (and change nothing);
 * idle 0 turns keepalive off whatever the rest. */
static void keepalive_invalid_arguments(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    assert_int_equal(synack_tcp_set_keepalive(NULL, IDLE, INTERVAL, 3), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, 0, 3), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 0), SYNACK_ERR_INVAL);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    assert_int_equal(synack_tcp_set_keepalive(f.c, IDLE, INTERVAL, 3), 0);
    assert_true(synack_stack_next_deadline(f.s) != SYNACK_NEVER);
    assert_int_equal(synack_tcp_set_keepalive(f.c, 0, 0, 0), 0); /* off */
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_advance(&f, SYNACK_S(3600));
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- user timeout (RFC 9293 §3.8.3, RFC 5482) ------------------------------------------------ */

/* RFC 9293 §3.8.3 / RFC 5482: data unacknowledged for the user timeout (1 s) aborts the
 * connection with TIMEDOUT at exactly 1 s, although data_retries (15) would allow many
 * more retransmissions (RTOs at 200 ms and 600 ms, the next not before 1.4 s). */
static void user_timeout_aborts_unacked_data(void **state)
{
    (void)state;
    struct fix f;
    static const uint8_t data[100] = "user timeout";
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(synack_tcp_set_user_timeout(f.c, SYNACK_S(1)), 0);
    synack_time_t t0 = f.now;
    assert_int_equal(synack_tcp_send(f.c, data, sizeof data, f.now), (synack_ssize)sizeof data);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, sizeof data);
    fix_expect_deadline(&f, t0 + SYNACK_MS(200));
    fix_run_next_timer(&f);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, sizeof data);
    fix_expect_deadline(&f, t0 + SYNACK_MS(600));
    fix_run_next_timer(&f);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, sizeof data);
    fix_expect_deadline(&f, t0 + SYNACK_S(1));
    f.now = t0 + SYNACK_S(1) - 1;
    synack_stack_handle_timers(f.s, f.now);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_advance(&f, 1);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_CLOSED);
    assert_int_equal(info.err, SYNACK_ERR_TIMEDOUT);
    assert_int_equal(info.counters.rto_expiries, 2);
    assert_true(info.counters.rto_expiries < f.cfg.data_retries);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    assert_int_equal(synack_tcp_send(f.c, data, 1, f.now), SYNACK_ERR_TIMEDOUT);
    fix_free(&f);
}

/* RFC 5482 §1: the user timeout bounds how long *transmitted data may remain
 * unacknowledged*. With a segment always in flight for 3 s but each one acknowledged
 * 100 ms after it left, no data ever waits 1 s: the connection stays up. */
static void user_timeout_not_fired_while_data_acked_regularly(void **state)
{
    (void)state;
    struct fix f;
    uint8_t data[MSS];
    memset(data, 'u', sizeof data);
    fix_init(&f, NULL);
    /* The handshake sample (100 ms) gives RTO 300 ms: no retransmission interferes. */
    fix_syn_sent(&f);
    f.now += SYNACK_MS(100);
    fix_peer_syn(&f, true);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_set_user_timeout(f.c, SYNACK_S(1)), 0);
    assert_int_equal(synack_tcp_send(f.c, data, MSS, f.now), (synack_ssize)MSS);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, MSS);
    for (unsigned i = 0; i < 30; i++) {
        fix_advance(&f, SYNACK_MS(100));
        /* The next segment leaves before the previous one is acknowledged. */
        assert_int_equal(synack_tcp_send(f.c, data, MSS, f.now), (synack_ssize)MSS);
        fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + MSS, f.peer_nxt, MSS);
        f.peer_ack += MSS;
        fix_peer_ack(&f, f.peer_ack);
        fix_expect_none(&f);
        assert_int_equal(fix_info(&f).bytes_in_flight, MSS);
    }
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    assert_int_equal(info.counters.rto_expiries, 0);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    fix_free(&f);
}

/* Regression (fuzzer finding, issue "Under attack"): with keepalive on, the application
 * closes, the peer ACKs our FIN and goes silent. The last unanswered probe ends the
 * connection, which the application had released: it is destroyed inside the timer run,
 * and the timer code must not read it afterwards. Under AddressSanitizer the old code was
 * a heap-use-after-free in tcp_timer_expired; here the connection must end with TIMEDOUT,
 * leave no timer behind, and the stack must stay usable. */
static void keepalive_expiry_of_released_connection_is_not_touched_after_free(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_with_data_acked(&f);
    assert_int_equal(synack_tcp_set_keepalive(f.c, INTERVAL, INTERVAL, 2), 0);
    synack_tcp_close(f.c, f.now); /* released: FIN out, FIN_WAIT_1 */
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    f.peer_ack++;
    fix_peer_ack(&f, f.peer_ack); /* FIN_WAIT_2; then silence */
    fix_expect_none(&f);
    for (int i = 0; i < 3; i++) { /* two probes, then the timeout */
        fix_run_next_timer(&f);
        if (i < 2) expect_probe(&f);
    }
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(keepalive_off_by_default),
    cmocka_unit_test(keepalive_first_probe_after_idle_is_snd_nxt_minus_1),
    cmocka_unit_test(keepalive_unanswered_probe_repeats_every_interval),
    cmocka_unit_test(keepalive_answer_restarts_idle_period),
    cmocka_unit_test(keepalive_count_unanswered_probes_time_out),
    cmocka_unit_test(keepalive_invalid_arguments),
    cmocka_unit_test(user_timeout_aborts_unacked_data),
    cmocka_unit_test(user_timeout_not_fired_while_data_acked_regularly),
    cmocka_unit_test(keepalive_expiry_of_released_connection_is_not_touched_after_free),
};

SYNACK_TEST_MAIN("keepalive", tests)
