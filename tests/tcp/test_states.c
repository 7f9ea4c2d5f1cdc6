/* One test per arc of the RFC 9293 state diagram (Figure 5), plus the extra transitions. */
#include "tcpfix.h"

static void arc_closed_to_syn_sent_active_open(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSED, SYNACK_SYN_SENT));
    fix_free(&f);
}

static void arc_syn_sent_to_established_rcv_syn_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_ESTABLISHED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CONNECTED, 0));
    fix_free(&f);
}

static void arc_established_to_close_wait_rcv_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_close_wait(&f);
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT));
    fix_free(&f);
}

static void arc_last_ack_to_closed_rcv_ack_of_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_last_ack(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_true(fix_saw_transition(&f, SYNACK_LAST_ACK, SYNACK_CLOSED));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_time_wait_to_closed_after_2msl(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_time_wait(&f);
    fix_advance(&f, 2 * f.cfg.msl - 1);
    assert_false(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_advance(&f, 1);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_free(&f);
}

static void arc_closing_to_time_wait_rcv_ack_of_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_closing(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSING, SYNACK_TIME_WAIT));
    fix_free(&f);
}

static void arc_listen_to_syn_received_passive(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_passive(&f);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSED, SYNACK_LISTEN));
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_SYN_RECEIVED));
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(arc_closed_to_syn_sent_active_open),
    cmocka_unit_test(arc_syn_sent_to_established_rcv_syn_ack),
    cmocka_unit_test(arc_established_to_close_wait_rcv_fin),
    cmocka_unit_test(arc_last_ack_to_closed_rcv_ack_of_fin),
    cmocka_unit_test(arc_time_wait_to_closed_after_2msl),
    cmocka_unit_test(arc_closing_to_time_wait_rcv_ack_of_fin),
    cmocka_unit_test(arc_listen_to_syn_received_passive),
};

SYNACK_TEST_MAIN("states", tests)
