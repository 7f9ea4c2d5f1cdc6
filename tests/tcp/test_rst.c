/* Resets: RFC 9293 §3.10.7.1 (no TCB), §3.10.7.2 (LISTEN), §3.10.7.3 (SYN-SENT), the RST
 * step of §3.10.7.4 with RFC 5961's blind-attack defences (§3 RST, §4 SYN, §5 ACK, §7 rate
 * limit), and the RSTs we send on ABORT and on CLOSE with data lost (RFC 9293 §3.10.4,
 * RFC 2525 §2.17, RFC 1122 §4.2.2.13). */
#include "tcpfix.h"

static struct synack_counters conn_counters(struct fix *f)
{
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(f->c, &info), 0);
    return info.counters;
}

/* ---- RFC 9293 §3.10.7.1: no TCB --------------------------------------------------------- */

static void closed_port_syn_gets_rst_ack_of_seq_plus_len(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>: SEG.LEN counts the SYN ... */
    fix_send(&f, WIRE_TCP_SYN, 5000, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, 5001);
    /* ... and the text, and a FIN. */
    fix_send(&f, WIRE_TCP_SYN, 7000, 0, "0123456789", 10);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, 7011);
    fix_send(&f, WIRE_TCP_FIN, 9000, 0, "abc", 3);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, 9004);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_NO_SOCKET), 3);
    fix_free(&f);
}

static void closed_port_ack_gets_rst_with_seq_of_seg_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* <SEQ=SEG.ACK><CTL=RST>, no ACK bit. */
    fix_send(&f, WIRE_TCP_ACK, 5000, 0x89abcdefu, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_RST);
    assert_int_equal(seg.seq, 0x89abcdefu);
    assert_int_equal(seg.ack, 0);
    assert_int_equal(seg.src_port, f.lport);
    assert_int_equal(seg.dst_port, f.rport);
    /* A data segment with ACK gets the same answer. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, 5000, 1234, "data", 4);
    fix_expect(&f, WIRE_TCP_RST, 1234, 0);
    fix_expect_none(&f);
    fix_free(&f);
}

static void closed_port_rst_gets_nothing(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* Never RST for RST: with or without ACK. */
    fix_send(&f, WIRE_TCP_RST, 5000, 0, NULL, 0);
    fix_expect_none(&f);
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 5000, 1234, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_NO_SOCKET), 2);
    fix_free(&f);
}

/* ---- RFC 9293 §3.10.7.2: LISTEN ---------------------------------------------------------- */

static void listen_ack_gets_rst_with_seq_of_seg_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_send(&f, WIRE_TCP_ACK, 5000, 777, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, 777, 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_LISTEN_BAD), 1);
    /* A RST to a listener is ignored. */
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 5000, 777, NULL, 0);
    fix_expect_none(&f);
    /* The listener is unharmed. */
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt, 0, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    fix_free(&f);
}

/* ---- RFC 9293 §3.10.7.4 with RFC 5961 ---------------------------------------------------- */

static void rst_exact_seq_resets_established(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNRESET));
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSED));
    assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
    uint8_t buf[4];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_CONNRESET);
    assert_int_equal(synack_tcp_send(f.c, buf, 1, f.now), SYNACK_ERR_CONNRESET);
    assert_int_equal(conn_counters(&f).rsts_in, 1);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    synack_tcp_close(f.c, f.now);
    fix_expect_none(&f);
    fix_free(&f);
}

static void rst_in_window_not_exact_gets_challenge_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt + 100, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    struct synack_counters c = conn_counters(&f);
    assert_int_equal(c.challenge_acks, 1);
    assert_int_equal(c.rsts_in, 0);
    assert_int_equal(c.drops[SYNACK_DROP_RST_INVALID], 1);
    fix_free(&f);
}

static void rst_outside_window_dropped_silently(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    /* Beyond the right edge (window 65535) and before RCV.NXT. */
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt + 70000, 0, NULL, 0);
    fix_expect_none(&f);
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    struct synack_counters c = conn_counters(&f);
    assert_int_equal(c.challenge_acks, 0);
    assert_int_equal(c.drops[SYNACK_DROP_UNACCEPTABLE], 2);
    /* Still working. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, "x", 1);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt + 1);
    fix_free(&f);
}

static void syn_in_established_gets_challenge_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    /* RFC 5961 §4.2: whatever its sequence number, a SYN gets an ACK and changes nothing. */
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt + 10, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    struct synack_counters c = conn_counters(&f);
    assert_int_equal(c.challenge_acks, 1);
    assert_int_equal(c.drops[SYNACK_DROP_SYN_IN_WINDOW], 1);
    f.now += SYNACK_MS(500); /* invalid_ack_interval: one answer per 500 ms */
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt + 100000, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    fix_free(&f);
}

static void repeated_syn_in_established_gets_challenge_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_passive(&f);
    /* A copy of the peer's very first SYN (SEG.SEQ = IRS) once the handshake is done: it
     * is still a SYN in a synchronized state (RFC 5961 §4.2: "irrespective of the sequence
     * number"), with or without an ACK; it lies before RCV.NXT, so the acceptability test
     * already asks for that ACK. */
    fix_send(&f, WIRE_TCP_SYN, FIX_PEER_ISS, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    f.now += SYNACK_MS(500); /* invalid_ack_interval: one answer per 500 ms */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, FIX_PEER_ISS, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    fix_free(&f);
}

static void ack_of_unsent_data_gets_challenge_ack_and_drop(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    /* RFC 5961 §5.2: SEG.ACK > SND.NXT: send an ACK, drop the segment (its text too). */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack + 100, "evil", 4);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    uint8_t buf[8];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(f.c, &info), 0);
    assert_int_equal(info.snd_una, f.peer_ack);
    assert_int_equal(info.rcv_nxt, f.peer_nxt);
    assert_int_equal(info.counters.challenge_acks, 1);
    assert_int_equal(info.counters.drops[SYNACK_DROP_BAD_ACK], 1);
    /* The same text with a good ACK is taken. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "good", 4);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt + 4);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 4);
    fix_free(&f);
}

/* ---- RSTs we send ------------------------------------------------------------------------ */

static void abort_sends_rst_at_snd_nxt(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    /* Ten bytes in flight, so SND.NXT is not SND.UNA. */
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"0123456789", 10, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 10);
    synack_tcp_abort(f.c, f.now);
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_ack + 10, f.peer_nxt);
    fix_expect_none(&f);
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSED));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* The TCB is gone: the peer's next segment meets a closed port. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 10, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.peer_ack + 10, 0);
    fix_free(&f);
}

static void close_with_unread_data_sends_rst_not_fin(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "unread", 6);
    f.peer_nxt += 6;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_false(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1));
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSED));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

static void data_after_close_gets_rst(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_2(&f);
    synack_tcp_close(f.c, f.now); /* released: close(), not just shutdown() */
    f.c = NULL;
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "late", 4);
    /* RFC 1122 §4.2.2.13: nobody will read it; tell the peer with a RST at SND.NXT. */
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_expect_none(&f);
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_2, SYNACK_CLOSED));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* No TCB left. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 4, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.peer_ack, 0);
    fix_free(&f);
}

/* ---- RFC 9293 §3.10.7.3: SYN-SENT -------------------------------------------------------- */

static void syn_sent_rst_with_acceptable_ack_refuses(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, f.iss + 1, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
    assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_CLOSED));
    assert_false(fix_saw_event(&f, SYNACK_EV_CONNECTED, 0));
    uint8_t buf[4];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_CONNREFUSED);
    /* No SYN retransmission is left behind. */
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void syn_sent_rst_without_ack_ignored(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    fix_send(&f, WIRE_TCP_RST, 0, 0, NULL, 0);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    /* A RST with an unacceptable ACK is ignored too (and not answered). */
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, 0, f.iss + 7, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    /* The SYN is still retransmitted and the handshake can complete. */
    assert_true(synack_stack_next_deadline(f.s) == f.now + SYNACK_S(1));
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss + 1, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.iss + 1, f.peer_nxt + 1);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

static void syn_sent_bad_ack_gets_rst_with_seq_of_seg_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    /* SEG.ACK > SND.NXT ... */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss + 5, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.iss + 5, 0);
    fix_expect_none(&f);
    /* ... or SEG.ACK =< ISS. */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, f.iss, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    assert_int_equal(conn_counters(&f).drops[SYNACK_DROP_SYN_SENT_BAD], 2);
    /* The connection survives the blind segments. */
    fix_send(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, f.peer_nxt, f.iss + 1, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.iss + 1, f.peer_nxt + 1);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

/* RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND is refused with an ACK, and the
 * segment's text is not taken. */
static void ack_too_old_gets_challenge_ack_and_drop(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f); /* the peer offered 65535: MAX.SND.WND */
    uint64_t before = fix_drops(&f, SYNACK_DROP_BAD_ACK);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack - 70000, "0123456789", 10);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt); /* rcv_nxt did not move */
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_BAD_ACK), before + 1);
    uint8_t buf[16];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    /* Just inside the bound, the ACK is old but acceptable and the text is taken. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack - 65535, "0123456789", 10);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 10);
    fix_free(&f);
}

/* RFC 9293 §3.10.7.4 SYN-RECEIVED: the ACK must satisfy SND.UNA < SEG.ACK =< SND.NXT; a
 * blind ACK above SND.NXT gets <SEQ=SEG.ACK><CTL=RST> and its text goes nowhere. */
static void syn_received_ack_beyond_snd_nxt_gets_rst(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    uint32_t blind = f.iss + 0x40000000u;
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, blind, "GET /", 5);
    fix_expect(&f, WIRE_TCP_RST, blind, 0);
    struct synack_tcp *c = NULL;
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    assert_false(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    /* The real ACK still completes the handshake. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    fix_free(&f);
}

/* RFC 2525 §2.17 in LAST-ACK (and CLOSING): unread data at close() means a RST, not a
 * silently dropped TCB whose lost FIN nobody would resend. */
static void close_with_unread_data_in_last_ack_sends_rst(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, "abc", 3);
    f.peer_nxt += 4;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_shutdown(f.c, f.now), 0); /* LAST_ACK */
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    synack_tcp_close(f.c, f.now); /* "abc" unread */
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_ack + 1, f.peer_nxt);
    assert_true(fix_saw_transition(&f, SYNACK_LAST_ACK, SYNACK_CLOSED));
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(syn_received_ack_beyond_snd_nxt_gets_rst),
    cmocka_unit_test(close_with_unread_data_in_last_ack_sends_rst),

    cmocka_unit_test(ack_too_old_gets_challenge_ack_and_drop),
    cmocka_unit_test(closed_port_syn_gets_rst_ack_of_seq_plus_len),
    cmocka_unit_test(closed_port_ack_gets_rst_with_seq_of_seg_ack),
    cmocka_unit_test(closed_port_rst_gets_nothing),
    cmocka_unit_test(listen_ack_gets_rst_with_seq_of_seg_ack),
    cmocka_unit_test(rst_exact_seq_resets_established),
    cmocka_unit_test(rst_in_window_not_exact_gets_challenge_ack),
    cmocka_unit_test(rst_outside_window_dropped_silently),
    cmocka_unit_test(syn_in_established_gets_challenge_ack),
    cmocka_unit_test(repeated_syn_in_established_gets_challenge_ack),
    cmocka_unit_test(ack_of_unsent_data_gets_challenge_ack_and_drop),
    cmocka_unit_test(abort_sends_rst_at_snd_nxt),
    cmocka_unit_test(close_with_unread_data_sends_rst_not_fin),
    cmocka_unit_test(data_after_close_gets_rst),
    cmocka_unit_test(syn_sent_rst_with_acceptable_ack_refuses),
    cmocka_unit_test(syn_sent_rst_without_ack_ignored),
    cmocka_unit_test(syn_sent_bad_ack_gets_rst_with_seq_of_seg_ack),
};

SYNACK_TEST_MAIN("rst", tests)
