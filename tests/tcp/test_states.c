/* One test per arc of the RFC 9293 state diagram (Figure 5), plus the extra transitions.
 * Each test drives the arc with real segments or user calls, asserts the exact segments
 * that come out and the STATE event of the arc. LISTEN -> SYN_SENT (SEND on a listener) is
 * not offered by the API, as in BSD and Linux, so it has no test. */
#include "tcpfix.h"

static void small_msl(struct synack_config *cfg)
{
    cfg->msl = SYNACK_S(5);
}

/* ---- opening ---------------------------------------------------------------------------- */

static void arc_closed_to_listen_passive_open(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    int me;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, &me, &f.l), 0);
    /* The listener reports the arc itself: it is not a TCB. */
    assert_int_equal(fix_events(&f), 1);
    assert_int_equal(f.events[0].type, SYNACK_EV_STATE);
    assert_int_equal(f.events[0].old_state, SYNACK_CLOSED);
    assert_int_equal(f.events[0].new_state, SYNACK_LISTEN);
    assert_ptr_equal(f.events[0].listener, f.l);
    assert_ptr_equal(f.events[0].user, &me);
    fix_expect_none(&f);
    /* It listens: a SYN is answered with a SYN-ACK, not a RST. */
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt, 0, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f.peer_nxt + 1);
    fix_free(&f);
}

static void arc_closed_to_syn_sent_active_open(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, f.rport),
                                        &SYNACK_TEST_EP(0, f.lport), NULL, &f.c, f.now),
                     0);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSED, SYNACK_SYN_SENT));
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    assert_int_equal(seg.src_port, f.lport);
    assert_int_equal(seg.dst_port, f.rport);
    assert_true(seg.has_mss);
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(f.c, &info), 0);
    assert_int_equal(seg.seq, info.iss);
    assert_int_equal(info.snd_nxt, info.iss + 1);
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_listen_to_syn_received_rcv_syn(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_SYN_RECEIVED));
    fix_expect_none(&f);
    /* Half-open: nothing to accept yet. */
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

static void arc_listen_to_closed_listener_close(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    synack_listener_close(f.l, f.now);
    f.l = NULL;
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_CLOSED));
    fix_expect_none(&f);
    /* The port is closed now: a SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>. */
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, f.peer_nxt + 1);
    fix_free(&f);
}

static void arc_syn_sent_to_syn_received_simultaneous_open(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* Our SYN is out; the peer's SYN without ACK arrives; we answer <SEQ=ISS><ACK=RCV.NXT>
     * <CTL=SYN,ACK> (RFC 9293 Figure 8, line 5). */
    fix_syn_received_simultaneous(&f);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_SYN_RECEIVED));
    assert_false(fix_saw_event(&f, SYNACK_EV_CONNECTED, 0));
    /* The SYN-ACK repeats the SYN's sequence number by rule, not because anything was
     * lost: it is not counted as a retransmission. */
    assert_int_equal(fix_info(&f).counters.retransmits, 0);
    fix_expect_none(&f);
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
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_syn_sent_to_closed_close(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_CLOSED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    /* RFC 9293 §3.10.4: delete the TCB; nothing is sent and no timer is left. */
    fix_expect_none(&f);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* The late SYN-ACK finds no TCB: <SEQ=SEG.ACK><CTL=RST>. */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss + 1, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.iss + 1, 0);
    fix_free(&f);
}

static void arc_syn_received_to_established_passive_rcv_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    assert_true(fix_saw_event(&f, SYNACK_EV_ACCEPTABLE, 0));
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

static void arc_syn_received_to_established_simultaneous_rcv_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_simultaneous(&f);
    /* A bare ACK of our SYN. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CONNECTED, 0));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_syn_received_to_established_simultaneous_rcv_syn_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_simultaneous(&f);
    /* RFC 9293 Figure 8, line 6: the peer, also in SYN-RECEIVED, sends its own
     * <SEQ=IRS><ACK=ISS+1><CTL=SYN,ACK>. It acknowledges our SYN and completes the
     * handshake; answering it with another SYN-ACK would loop between two such stacks. */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CONNECTED, 0));
    fix_expect_none(&f);
    /* And the connection works: data flows from ISS+1. */
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"hi", 2, f.now), 2);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 2);
    fix_free(&f);
}

static void arc_syn_received_to_fin_wait_1_close(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_simultaneous(&f);
    synack_tcp_close(f.c, f.now);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_FIN_WAIT_1));
    /* Our SYN is not acknowledged yet: the FIN waits for it. */
    fix_expect_none(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_1);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 1, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_syn_received_to_listen_rcv_rst(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_LISTEN));
    fix_expect_none(&f);
    /* The child is gone: no SYN-ACK retransmission is pending ... */
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* ... and an ACK of its SYN-ACK now reaches the listener, which answers with a RST. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.peer_ack, 0);
    /* The listener stays and accepts a new SYN from the same peer. */
    f.peer_nxt += 5000;
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt, 0, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f.peer_nxt + 1);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 1, seg.seq + 1, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

/* ---- closing ---------------------------------------------------------------------------- */

static void arc_established_to_fin_wait_1_close(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f); /* asserts <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK> */
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_established_to_close_wait_rcv_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_close_wait(&f);
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT));
    assert_true(fix_saw_event(&f, SYNACK_EV_PEER_CLOSED, 0));
    uint8_t buf[8];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 0);
    fix_free(&f);
}

static void arc_fin_wait_1_to_fin_wait_2_rcv_ack_of_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f);
    /* An ACK that does not cover the FIN leaves us in FIN_WAIT_1. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack - 1, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_1);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_fin_wait_1_to_closing_rcv_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_closing(&f); /* the peer's FIN crosses ours; asserts our ACK of it */
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_1, SYNACK_CLOSING));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_fin_wait_1_to_time_wait_rcv_fin_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f);
    /* One segment carries the peer's FIN and acknowledges ours. */
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_1, SYNACK_TIME_WAIT));
    /* Directly: neither FIN_WAIT_2 nor CLOSING in between. */
    assert_false(fix_saw_transition(&f, SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2));
    assert_false(fix_saw_transition(&f, SYNACK_FIN_WAIT_1, SYNACK_CLOSING));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_fin_wait_2_to_time_wait_rcv_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_time_wait(&f); /* asserts the ACK of the peer's FIN */
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_closing_to_time_wait_rcv_ack_of_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_closing(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSING, SYNACK_TIME_WAIT));
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_time_wait_to_closed_after_2msl(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_msl);
    fix_time_wait(&f);
    /* 2*MSL with the configured MSL (5 s), not the 30 s default. */
    assert_true(synack_stack_next_deadline(f.s) == f.now + SYNACK_S(10));
    fix_advance(&f, SYNACK_S(10) - 1);
    assert_false(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_advance(&f, 1);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_expect_none(&f);
    fix_free(&f);
}

static void arc_close_wait_to_last_ack_close(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_last_ack(&f); /* asserts <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK> */
    assert_true(fix_saw_transition(&f, SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK));
    fix_expect_none(&f);
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
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- all states, half-close ------------------------------------------------------------- */

static void mark_states(struct fix *f, bool seen[SYNACK_STATE_COUNT])
{
    fix_events(f);
    for (size_t i = 0; i < f->nevents; i++) {
        if (f->events[i].type == SYNACK_EV_STATE) seen[f->events[i].new_state] = true;
    }
}

static void every_state_is_reached(void **state)
{
    (void)state;
    bool seen[SYNACK_STATE_COUNT] = {false};
    struct fix f;

    fix_init(&f, NULL); /* SYN_SENT, ESTABLISHED, FIN_WAIT_1/2, TIME_WAIT, CLOSED */
    fix_time_wait(&f);
    fix_advance(&f, 2 * f.cfg.msl);
    mark_states(&f, seen);
    fix_free(&f);

    fix_init(&f, NULL); /* CLOSE_WAIT, LAST_ACK */
    fix_last_ack(&f);
    mark_states(&f, seen);
    fix_free(&f);

    fix_init(&f, NULL); /* CLOSING */
    fix_closing(&f);
    mark_states(&f, seen);
    fix_free(&f);

    fix_init(&f, NULL); /* LISTEN, SYN_RECEIVED */
    fix_syn_received_passive(&f);
    mark_states(&f, seen);
    fix_free(&f);

    for (int st = 0; st < SYNACK_STATE_COUNT; st++) {
        if (!seen[st])
            fail_msg("state %s was never reached", synack_state_name((enum synack_state)st));
    }
}

static void halfclose_fin_wait_2_receives_and_acks_data(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(synack_tcp_shutdown(f.c, f.now), 0);
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    f.peer_ack++;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    /* We cannot send any more ... */
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"x", 1, f.now), SYNACK_ERR_SHUTDOWN);
    /* ... but the peer can, and we acknowledge and deliver it. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "hello", 5);
    f.peer_nxt += 5;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    uint8_t buf[16];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    /* Then its FIN ends the stream. */
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 0);
    fix_free(&f);
}

static void halfclose_close_wait_can_still_send(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_close_wait(&f);
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"reply", 5, f.now), 5);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 5);
    assert_memory_equal(f.last_payload, "reply", 5);
    f.peer_ack += 5;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSE_WAIT);
    synack_tcp_close(f.c, f.now);
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_true(fix_saw_transition(&f, SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK));
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 1, NULL, 0);
    assert_true(fix_saw_transition(&f, SYNACK_LAST_ACK, SYNACK_CLOSED));
    fix_free(&f);
}

/* RFC 9293 Figure 5: LISTEN --SEND, snd SYN--> SYN-SENT. */
static void arc_listen_to_syn_sent_send(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    assert_int_equal(
        synack_listener_connect(f.l, &SYNACK_TEST_EP(FIX_REMOTE, f.rport), &f.c, f.now), 0);
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_SYN_SENT));
    struct wire_tcp_repr syn;
    assert_true(fix_recv(&f, &syn));
    assert_int_equal(syn.flags, WIRE_TCP_SYN);
    assert_int_equal(syn.src_port, f.lport); /* from the listening port */
    f.iss = syn.seq;
    f.peer_ack = f.iss + 1;
    struct wire_tcp_repr synack = {.src_port = f.rport,
                                   .dst_port = f.lport,
                                   .seq = f.peer_nxt,
                                   .ack = f.peer_ack,
                                   .flags = WIRE_TCP_SYN | WIRE_TCP_ACK,
                                   .window = 65535};
    fix_send_repr(&f, &synack);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    /* The port no longer listens: a SYN from elsewhere is refused with a RST. */
    f.rport++;
    fix_send(&f, WIRE_TCP_SYN, 5000, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, 5001);
    fix_free(&f);
}

static void listener_connect_refused_while_connections_wait(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f); /* one half-open connection on the listener */
    struct synack_tcp *c;
    assert_int_equal(synack_listener_connect(f.l, &SYNACK_TEST_EP(FIX_REMOTE, 9), &c, f.now),
                     SYNACK_ERR_STATE);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(arc_listen_to_syn_sent_send),
    cmocka_unit_test(listener_connect_refused_while_connections_wait),
    cmocka_unit_test(arc_closed_to_listen_passive_open),
    cmocka_unit_test(arc_closed_to_syn_sent_active_open),
    cmocka_unit_test(arc_listen_to_syn_received_rcv_syn),
    cmocka_unit_test(arc_listen_to_closed_listener_close),
    cmocka_unit_test(arc_syn_sent_to_syn_received_simultaneous_open),
    cmocka_unit_test(arc_syn_sent_to_established_rcv_syn_ack),
    cmocka_unit_test(arc_syn_sent_to_closed_close),
    cmocka_unit_test(arc_syn_received_to_established_passive_rcv_ack),
    cmocka_unit_test(arc_syn_received_to_established_simultaneous_rcv_ack),
    cmocka_unit_test(arc_syn_received_to_established_simultaneous_rcv_syn_ack),
    cmocka_unit_test(arc_syn_received_to_fin_wait_1_close),
    cmocka_unit_test(arc_syn_received_to_listen_rcv_rst),
    cmocka_unit_test(arc_established_to_fin_wait_1_close),
    cmocka_unit_test(arc_established_to_close_wait_rcv_fin),
    cmocka_unit_test(arc_fin_wait_1_to_fin_wait_2_rcv_ack_of_fin),
    cmocka_unit_test(arc_fin_wait_1_to_closing_rcv_fin),
    cmocka_unit_test(arc_fin_wait_1_to_time_wait_rcv_fin_ack),
    cmocka_unit_test(arc_fin_wait_2_to_time_wait_rcv_fin),
    cmocka_unit_test(arc_closing_to_time_wait_rcv_ack_of_fin),
    cmocka_unit_test(arc_time_wait_to_closed_after_2msl),
    cmocka_unit_test(arc_close_wait_to_last_ack_close),
    cmocka_unit_test(arc_last_ack_to_closed_rcv_ack_of_fin),
    cmocka_unit_test(every_state_is_reached),
    cmocka_unit_test(halfclose_fin_wait_2_receives_and_acks_data),
    cmocka_unit_test(halfclose_close_wait_can_still_send),
};

SYNACK_TEST_MAIN("states", tests)
