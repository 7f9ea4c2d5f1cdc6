/* Listeners (backlog, accept order, close), ISNs (RFC 6528), MSS (RFC 9293 §3.7.1),
 * ephemeral ports (RFC 6056) and 4-tuple demux. Several peers are told apart by their
 * port: the tests set f.rport before each fix_send. */
#include "tcpfix.h"

static const uint8_t data2000[2000] = "0123456789";

static void mtu_1400(struct synack_config *cfg)
{
    cfg->mtu = 1400;
}

static void three_ephemeral_ports(struct synack_config *cfg)
{
    cfg->ephemeral_lo = 50000;
    cfg->ephemeral_hi = 50002;
}

static void other_isn_secret(struct synack_config *cfg)
{
    cfg->isn_secret[0] ^= 0x80;
}

/* The peer at `rport` sends a SYN; the stack answers with a SYN-ACK, whose seq (the ISS of
 * the new connection) is returned. */
static uint32_t peer_syn(struct fix *f, uint16_t rport)
{
    f->rport = rport;
    fix_send(f, WIRE_TCP_SYN, FIX_PEER_ISS, 0, NULL, 0);
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("no SYN-ACK for the SYN from port %u", rport);
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.dst_port, rport);
    assert_int_equal(seg.ack, FIX_PEER_ISS + 1);
    fix_expect_none(f);
    return seg.seq;
}

/* The peer at `rport` sends a SYN that the listener drops: no answer at all. */
static void peer_syn_dropped(struct fix *f, uint16_t rport)
{
    f->rport = rport;
    fix_send(f, WIRE_TCP_SYN, FIX_PEER_ISS, 0, NULL, 0);
    fix_expect_none(f);
}

/* The peer at `rport` completes the handshake with the ACK of `iss`. */
static void peer_ack(struct fix *f, uint16_t rport, uint32_t iss)
{
    f->rport = rport;
    fix_send(f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, iss + 1, NULL, 0);
    fix_expect_none(f);
}

static uint16_t remote_port_of(struct synack_tcp *c)
{
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(c, &info), 0);
    return info.remote_port;
}

/* ---- backlog ------------------------------------------------------------------------- */

static void no_syncookies(struct synack_config *cfg)
{
    cfg->syncookies = SYNACK_SYNCOOKIES_NEVER;
}

/* Without SYN cookies (syncookies = never); with them see syncookie.*. */
static void syn_queue_full_drops_syn_without_answer(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_syncookies);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 2, NULL, &f.l), 0);
    uint32_t iss1 = peer_syn(&f, 40001);
    peer_syn(&f, 40002);
    /* The third half-open connection does not fit: dropped, counted, not answered. */
    peer_syn_dropped(&f, 40003);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_SYN_QUEUE_FULL), 1);
    /* Once one handshake completes there is room again. */
    peer_ack(&f, 40001, iss1);
    peer_syn(&f, 40003);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_SYN_QUEUE_FULL), 1);
    fix_free(&f);
}

static void accept_queue_full_drops_syn(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 2, NULL, &f.l), 0);
    peer_ack(&f, 40001, peer_syn(&f, 40001));
    peer_ack(&f, 40002, peer_syn(&f, 40002));
    /* Two established, none accepted: the next SYN is dropped. */
    peer_syn_dropped(&f, 40003);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ACCEPT_QUEUE_FULL), 1);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_SYN_QUEUE_FULL), 0);
    /* Accepting one makes room. */
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    peer_syn(&f, 40003);
    fix_free(&f);
}

static void accept_queue_full_holds_handshake_until_accept(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 2, NULL, &f.l), 0);
    uint32_t iss1 = peer_syn(&f, 40001);
    uint32_t iss2 = peer_syn(&f, 40002);
    peer_ack(&f, 40001, iss1);
    uint32_t iss3 = peer_syn(&f, 40003);
    peer_ack(&f, 40002, iss2);
    /* The ACK of the third finds the accept queue full: it is dropped, the connection stays
     * half-open (no RST) and completes on the peer's next ACK after an accept. */
    peer_ack(&f, 40003, iss3);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ACCEPT_QUEUE_FULL), 1);
    assert_false(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_CLOSED));
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    peer_ack(&f, 40003, iss3);
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    assert_int_equal(remote_port_of(c), 40003);
    assert_int_equal(synack_tcp_state(c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

static void repeated_syn_in_syn_received_resends_syn_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    uint32_t iss = peer_syn(&f, 40001);
    /* Our SYN-ACK was lost and the peer sends its SYN again: the same half-open connection
     * answers at once with the same SYN-ACK; no second connection is made. */
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_SYN, FIX_PEER_ISS, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_SYN | WIRE_TCP_ACK, iss, FIX_PEER_ISS + 1);
    fix_expect_none(&f);
    fix_events(&f);
    size_t opened = 0;
    for (size_t i = 0; i < f.nevents; i++) {
        if (f.events[i].type == SYNACK_EV_STATE && f.events[i].new_state == SYNACK_SYN_RECEIVED)
            opened++;
    }
    assert_int_equal(opened, 1);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_SYN_QUEUE_FULL), 0);
    peer_ack(&f, 40001, iss);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

static void accept_returns_oldest_established_first(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    uint32_t iss1 = peer_syn(&f, 40001);
    uint32_t iss2 = peer_syn(&f, 40002);
    uint32_t iss3 = peer_syn(&f, 40003);
    /* Handshakes complete in the order 2, 3, 1. */
    peer_ack(&f, 40002, iss2);
    peer_ack(&f, 40003, iss3);
    peer_ack(&f, 40001, iss1);
    static const uint16_t order[] = {40002, 40003, 40001};
    for (unsigned i = 0; i < 3; i++) {
        struct synack_tcp *c;
        assert_int_equal(synack_tcp_accept(f.l, &c), 0);
        assert_int_equal(remote_port_of(c), order[i]);
        assert_int_equal(synack_tcp_state(c), SYNACK_ESTABLISHED);
    }
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

/* A connection reset while it waits in the middle of either queue leaves the others in
 * order: the queues are doubly linked (O(1) removal), and a wrong link would lose or
 * reorder a neighbour. */
static void rst_in_the_middle_of_the_queues_keeps_the_rest_in_order(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    uint32_t iss[7];
    for (unsigned i = 1; i <= 6; i++)
        iss[i] = peer_syn(&f, (uint16_t)(40000 + i));
    /* 1, 2, 3 and 4 complete (accept queue 1 2 3 4); 5 and 6 stay half-open. */
    for (unsigned i = 1; i <= 4; i++)
        peer_ack(&f, (uint16_t)(40000 + i), iss[i]);
    /* RST (in window, RFC 5961 §3.2: exactly RCV.NXT) from 2 (middle of the accept queue),
     * from 4 (its tail) and from 5 (the SYN queue). */
    static const uint16_t gone[] = {40002, 40004, 40005};
    for (unsigned k = 0; k < 3; k++) {
        f.rport = gone[k];
        fix_send(&f, WIRE_TCP_RST, FIX_PEER_ISS + 1, 0, NULL, 0);
        fix_expect_none(&f);
    }
    /* 6 completes after: appended behind 3, where the old tail (4) was. */
    peer_ack(&f, 40006, iss[6]);
    static const uint16_t order[] = {40001, 40003, 40006};
    for (unsigned i = 0; i < 3; i++) {
        struct synack_tcp *c;
        assert_int_equal(synack_tcp_accept(f.l, &c), 0);
        assert_int_equal(remote_port_of(c), order[i]);
    }
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

static void listener_close_resets_queued_connections(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    uint32_t iss0 = peer_syn(&f, 40000);
    peer_ack(&f, 40000, iss0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0); /* accepted: not the listener's */
    uint32_t iss1 = peer_syn(&f, 40001);
    peer_ack(&f, 40001, iss1);           /* established, waiting in the accept queue */
    uint32_t iss2 = peer_syn(&f, 40002); /* half-open */
    synack_listener_close(f.l, f.now);
    f.l = NULL;
    /* One RST for each queued connection: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>. */
    bool reset1 = false, reset2 = false;
    struct wire_tcp_repr seg;
    for (int i = 0; i < 2; i++) {
        assert_true(fix_recv(&f, &seg));
        assert_int_equal(seg.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
        assert_int_equal(seg.ack, FIX_PEER_ISS + 1);
        if (seg.dst_port == 40001) {
            assert_int_equal(seg.seq, iss1 + 1);
            reset1 = true;
        } else {
            assert_int_equal(seg.dst_port, 40002);
            assert_int_equal(seg.seq, iss2 + 1);
            reset2 = true;
        }
    }
    assert_true(reset1 && reset2);
    fix_expect_none(&f);
    assert_true(fix_saw_transition(&f, SYNACK_LISTEN, SYNACK_CLOSED));
    /* Both are gone: their peers now meet a closed port. */
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, iss1 + 1, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, iss1 + 1, 0);
    /* The accepted connection is untouched. */
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    f.rport = 40000;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, iss0 + 1, "x", 1);
    fix_expect(&f, WIRE_TCP_ACK, iss0 + 1, FIX_PEER_ISS + 2);
    fix_free(&f);
}

static void listen_twice_on_a_port_is_addrinuse(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_listener *l2;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &l2),
                     SYNACK_ERR_ADDRINUSE);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, 0), 4, NULL, &l2), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport + 1), 0, NULL, &l2),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport + 1), 4, NULL, &l2), 0);
    synack_listener_close(f.l, f.now);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_free(&f);
}

/* ---- ISN (RFC 6528) ------------------------------------------------------------------ */

/* The ISN of connect() from `lport` to FIX_REMOTE:FIX_RPORT at f->now; the connection is
 * then aborted so that the 4-tuple is free again. */
static uint32_t isn_of_connect(struct fix *f, uint16_t lport)
{
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_connect(f->s, &SYNACK_TEST_EP(FIX_REMOTE, FIX_RPORT),
                                        &SYNACK_TEST_EP(0, lport), NULL, &c, f->now),
                     0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    synack_tcp_abort(c, f->now);
    fix_expect_none(f); /* no RST from SYN_SENT */
    return seg.seq;
}

static void isn_grows_with_time_one_tick_per_4us(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t a = isn_of_connect(&f, 80);
    f.now += SYNACK_S(1);
    uint32_t b = isn_of_connect(&f, 80);
    /* ISN = M + F(4-tuple, secret), M ticking every 4 us: 1 s later, 250000 more. */
    uint32_t d = b - a;
    if (d < 250000 - 1 || d > 250000 + 1) fail_msg("ISN moved by %u in 1 s, expected 250000", d);
    f.now += SYNACK_MS(4);
    uint32_t c = isn_of_connect(&f, 80);
    assert_int_equal(c - b, 1000);
    fix_free(&f);
}

static void isn_differs_by_4_tuple(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t a = isn_of_connect(&f, 80);
    uint32_t b = isn_of_connect(&f, 81);
    /* Not merely offset by a little: the keyed hash makes them unrelated. */
    uint32_t d = a - b;
    if (d < (1u << 20) || d > 0u - (1u << 20))
        fail_msg("ISNs %u and %u of two 4-tuples are too close", a, b);
    fix_free(&f);
}

static void isn_differs_by_secret(void **state)
{
    (void)state;
    struct fix f, g;
    fix_init(&f, NULL);
    fix_init(&g, other_isn_secret);
    assert_true(f.now == g.now);
    uint32_t a = isn_of_connect(&f, 80);
    uint32_t a2 = isn_of_connect(&f, 80);
    uint32_t b = isn_of_connect(&g, 80);
    assert_int_equal(a, a2); /* deterministic for one secret */
    assert_int_not_equal(a, b);
    fix_free(&f);
    fix_free(&g);
}

/* ---- MSS (RFC 9293 §3.7.1) ------------------------------------------------------------ */

static void mss_offered_is_mtu_minus_40(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, mtu_1400);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, f.rport),
                                        &SYNACK_TEST_EP(0, f.lport), NULL, &f.c, f.now),
                     0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    assert_true(seg.has_mss);
    assert_int_equal(seg.mss, 1360);
    /* The SYN-ACK of a passive open offers the same. */
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, 8080), 4, NULL, &f.l), 0);
    f.lport = 8080;
    fix_send(&f, WIRE_TCP_SYN, FIX_PEER_ISS, 0, NULL, 0);
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_true(seg.has_mss);
    assert_int_equal(seg.mss, 1360);
    fix_free(&f);
}

/* Sends 2000 bytes and asserts the segment sizes `sizes` (count n). */
static void expect_segments(struct fix *f, const uint32_t *sizes, unsigned n)
{
    assert_int_equal(synack_tcp_send(f->c, data2000, sizeof data2000, f->now), 2000);
    uint32_t seq = f->peer_ack;
    for (unsigned i = 0; i < n; i++) {
        uint8_t flags = WIRE_TCP_ACK | (i == n - 1 ? WIRE_TCP_PSH : 0);
        fix_expect_data(f, flags, seq, f->peer_nxt, sizes[i]);
        assert_memory_equal(f->last_payload, data2000 + (seq - f->peer_ack), sizes[i]);
        seq += sizes[i];
    }
    fix_expect_none(f);
    assert_int_equal(seq - f->peer_ack, 2000);
}

static void send_no_more_than_peer_mss(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 500;
    fix_established_active(&f);
    static const uint32_t sizes[] = {500, 500, 500, 500};
    expect_segments(&f, sizes, 4);
    fix_free(&f);
}

static void send_536_without_peer_mss_option(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 0; /* the SYN-ACK carries no MSS option */
    fix_established_active(&f);
    static const uint32_t sizes[] = {536, 536, 536, 392};
    expect_segments(&f, sizes, 4);
    fix_free(&f);
}

static void send_no_more_than_our_mtu_allows(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, mtu_1400);
    f.peer_mss = 9000;
    fix_established_active(&f);
    static const uint32_t sizes[] = {1360, 640};
    expect_segments(&f, sizes, 2);
    fix_free(&f);
}

/* ---- ephemeral ports and demux -------------------------------------------------------- */

static void ephemeral_ports_distinct_for_one_destination(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint16_t ports[8];
    for (unsigned i = 0; i < 8; i++) {
        struct synack_tcp *c;
        assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, FIX_RPORT),
                                            &SYNACK_TEST_EP(0, 0), NULL, &c, f.now),
                         0);
        struct wire_tcp_repr seg;
        assert_true(fix_recv(&f, &seg));
        assert_int_equal(seg.flags, WIRE_TCP_SYN);
        assert_int_equal(seg.dst_port, FIX_RPORT);
        ports[i] = seg.src_port;
        assert_int_equal(remote_port_of(c), FIX_RPORT);
        assert_true(ports[i] >= f.cfg.ephemeral_lo && ports[i] <= f.cfg.ephemeral_hi);
        for (unsigned j = 0; j < i; j++)
            assert_int_not_equal(ports[i], ports[j]);
    }
    fix_free(&f);
}

static void ephemeral_ports_run_out(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, three_ephemeral_ports);
    struct synack_tcp *c;
    for (int i = 0; i < 3; i++)
        assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, FIX_RPORT),
                                            &SYNACK_TEST_EP(0, 0), NULL, &c, f.now),
                         0);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, FIX_RPORT),
                                        &SYNACK_TEST_EP(0, 0), NULL, &c, f.now),
                     SYNACK_ERR_NOPORTS);
    /* Another destination port has its own three. */
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, FIX_RPORT + 1),
                                        &SYNACK_TEST_EP(0, 0), NULL, &c, f.now),
                     0);
    fix_free(&f);
}

static void demux_two_connections_do_not_interfere(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* A: FIX_LPORT -> 40000, B: FIX_LPORT -> 40001, same addresses. */
    fix_established_active(&f);
    struct synack_tcp *a = f.c;
    uint32_t a_snd = f.peer_ack;
    f.rport = 40001;
    f.peer_nxt = 70000;
    fix_established_active(&f);
    struct synack_tcp *b = f.c;
    uint32_t b_snd = f.peer_ack;
    /* Data for B is acknowledged on B's ports and sequence numbers, and read from B. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, 70001, b_snd, "to-b", 4);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.dst_port, 40001);
    assert_int_equal(seg.flags, WIRE_TCP_ACK);
    assert_int_equal(seg.seq, b_snd);
    assert_int_equal(seg.ack, 70005);
    fix_expect_none(&f);
    uint8_t buf[8];
    assert_int_equal(synack_tcp_recv(a, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_tcp_recv(b, buf, sizeof buf, f.now), 4);
    assert_memory_equal(buf, "to-b", 4);
    /* A RST for A leaves B alone. */
    f.rport = 40000;
    fix_send(&f, WIRE_TCP_RST, FIX_PEER_ISS + 1, 0, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(a), SYNACK_CLOSED);
    assert_int_equal(synack_tcp_state(b), SYNACK_ESTABLISHED);
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, 70005, b_snd, "more", 4);
    fix_expect(&f, WIRE_TCP_ACK, b_snd, 70009);
    /* A's 4-tuple is free: its peer meets a closed port. */
    f.rport = 40000;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, a_snd, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, a_snd, 0);
    synack_tcp_close(a, f.now);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(syn_queue_full_drops_syn_without_answer),
    cmocka_unit_test(accept_queue_full_drops_syn),
    cmocka_unit_test(accept_queue_full_holds_handshake_until_accept),
    cmocka_unit_test(repeated_syn_in_syn_received_resends_syn_ack),
    cmocka_unit_test(accept_returns_oldest_established_first),
    cmocka_unit_test(rst_in_the_middle_of_the_queues_keeps_the_rest_in_order),
    cmocka_unit_test(listener_close_resets_queued_connections),
    cmocka_unit_test(listen_twice_on_a_port_is_addrinuse),
    cmocka_unit_test(isn_grows_with_time_one_tick_per_4us),
    cmocka_unit_test(isn_differs_by_4_tuple),
    cmocka_unit_test(isn_differs_by_secret),
    cmocka_unit_test(mss_offered_is_mtu_minus_40),
    cmocka_unit_test(send_no_more_than_peer_mss),
    cmocka_unit_test(send_536_without_peer_mss_option),
    cmocka_unit_test(send_no_more_than_our_mtu_allows),
    cmocka_unit_test(ephemeral_ports_distinct_for_one_destination),
    cmocka_unit_test(ephemeral_ports_run_out),
    cmocka_unit_test(demux_two_connections_do_not_interfere),
};

SYNACK_TEST_MAIN("listen", tests)
