/* SYN cookies (RFC 4987 §3.6): a listener answers SYNs without keeping state when its SYN
 * queue overflows (or always), and the ACK that completes a real handshake rebuilds the
 * connection the SYN queue would have held; forged, altered and stale ACKs make nothing. */
#include "tcpfix.h"

#include <string.h>

static void always(struct synack_config *cfg)
{
    cfg->syncookies = SYNACK_SYNCOOKIES_ALWAYS;
}

static void never(struct synack_config *cfg)
{
    cfg->syncookies = SYNACK_SYNCOOKIES_NEVER;
}

static struct synack_counters counters(struct fix *f)
{
    struct synack_counters c;
    synack_stack_counters(f->s, &c);
    return c;
}

static struct synack_stack_stats stats(struct fix *f)
{
    struct synack_stack_stats st;
    synack_stack_stats(f->s, &st);
    return st;
}

/* The peer at `rport` sends its SYN (options from f->peer_*); returns our SYN-ACK. */
static struct wire_tcp_repr syn_from(struct fix *f, uint16_t rport)
{
    f->rport = rport;
    f->peer_nxt = FIX_PEER_ISS;
    fix_peer_syn(f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f->peer_nxt);
    fix_expect_none(f);
    f->iss = seg.seq;
    f->peer_ack = seg.seq + 1;
    f->last_tsval = seg.has_ts ? seg.ts_val : 0;
    return seg;
}

/* The third segment: ACK of the SYN-ACK (with `len` bytes of data if len > 0). */
static void third_ack(struct fix *f, const char *data, size_t len)
{
    fix_send(f, (uint8_t)(WIRE_TCP_ACK | (len ? WIRE_TCP_PSH : 0)), f->peer_nxt, f->peer_ack, data,
             len);
    f->peer_nxt += (uint32_t)len;
}

static void overflow_answers_with_a_cookie_and_keeps_no_state(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 2, NULL, &f.l), 0);
    syn_from(&f, 40001);
    syn_from(&f, 40002);
    assert_int_equal(counters(&f).syncookies_sent, 0);
    /* The SYN queue is full: the third SYN is answered all the same, from no state. */
    syn_from(&f, 40003);
    assert_int_equal(counters(&f).syncookies_sent, 1);
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.half_open, 2);
    assert_int_equal(st.conns, 2);
    /* The ACK comes back: the connection is made, established, and can be accepted. */
    third_ack(&f, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(counters(&f).syncookies_validated, 1);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    assert_int_equal(info.remote_port, 40003);
    assert_int_equal(info.iss, f.iss);
    assert_int_equal(info.irs, FIX_PEER_ISS);
    assert_int_equal(info.snd_una, f.iss + 1);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED));
    fix_free(&f);
}

static void never_drops_the_syn(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, never);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 1, NULL, &f.l), 0);
    syn_from(&f, 40001);
    f.rport = 40002;
    fix_peer_syn(&f, false);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_SYN_QUEUE_FULL), 1);
    assert_int_equal(counters(&f).syncookies_sent, 0);
    fix_free(&f);
}

/* "always": not even the first SYN leaves state behind. */
static void always_keeps_no_half_open_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    for (uint16_t p = 0; p < 100; p++)
        syn_from(&f, (uint16_t)(30000 + p));
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.half_open, 0);
    assert_int_equal(st.conns, 0);
    assert_int_equal(counters(&f).syncookies_sent, 100);
    /* The last one completes. */
    third_ack(&f, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    assert_int_equal(stats(&f).conns, 1);
    fix_free(&f);
}

/* The options the SYN asked for come back through the timestamp: the connection has the
 * same options, MSS and window scale as one made from the SYN queue. */
static struct synack_tcp_info options_trial(void (*tweak)(struct synack_config *), bool ts)
{
    struct fix f;
    fix_init(&f, tweak);
    f.peer_mss = 1400;
    f.peer_wscale = 7;
    f.peer_sack = true;
    f.peer_ts = ts;
    f.peer_tsval = 777;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    struct wire_tcp_repr sa = syn_from(&f, 40000);
    assert_int_equal(sa.has_ts, ts);
    if (ts && tweak == always) {
        /* Low 6 bits: wscale 7, SACK-permitted. */
        assert_int_equal(sa.ts_val & 63, 7 | 16);
        assert_int_equal(sa.ts_ecr, 777);
    }
    f.peer_tsval = 778;
    third_ack(&f, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    struct synack_tcp_info info = fix_info(&f);
    fix_free(&f);
    return info;
}

static void cookie_connection_keeps_options_with_timestamps(void **state)
{
    (void)state;
    struct synack_tcp_info queued = options_trial(NULL, true);
    struct synack_tcp_info cookie = options_trial(always, true);
    assert_true(cookie.timestamps && cookie.sack && cookie.window_scale);
    assert_int_equal(cookie.timestamps, queued.timestamps);
    assert_int_equal(cookie.sack, queued.sack);
    assert_int_equal(cookie.window_scale, queued.window_scale);
    assert_int_equal(cookie.snd_wscale, queued.snd_wscale);
    assert_int_equal(cookie.rcv_wscale, queued.rcv_wscale);
    assert_int_equal(cookie.snd_wnd, queued.snd_wnd);
    assert_int_equal(cookie.rcv_wnd, queued.rcv_wnd);
    assert_int_equal(cookie.rcv_mss, queued.rcv_mss);
    /* The MSS is the largest table value not above the peer's 1400. */
    assert_int_equal(cookie.snd_mss, 1360);
    assert_int_equal(queued.snd_mss, 1400);
}

/* Without timestamps the cookie keeps only the MSS (RFC 4987 §3.6). */
static void cookie_connection_without_timestamps_has_mss_only(void **state)
{
    (void)state;
    struct synack_tcp_info cookie = options_trial(always, false);
    assert_false(cookie.timestamps);
    assert_false(cookie.sack);
    assert_false(cookie.window_scale);
    assert_int_equal(cookie.snd_mss, 1360);
    assert_int_equal(cookie.state, SYNACK_ESTABLISHED);
}

/* The first data may ride on the third segment: it is delivered and acknowledged. */
static void first_data_on_the_ack_is_delivered(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    syn_from(&f, 40000);
    third_ack(&f, "GET / HTTP/1.1\r\n\r\n", 18);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, FIX_PEER_ISS + 1 + 18);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    uint8_t buf[64];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 18);
    assert_memory_equal(buf, "GET / HTTP/1.1\r\n\r\n", 18);
    fix_free(&f);
}

/* 10,000 forged ACKs at random acknowledgment numbers: no connection, each counted and
 * answered as any ACK to a listener (RST <SEQ=SEG.ACK>). */
static void forged_acks_make_no_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f.rport = (uint16_t)(1024 + (x >> 48) % 60000);
        fix_send(&f, WIRE_TCP_ACK, (uint32_t)x, (uint32_t)(x >> 32), NULL, 0);
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg))
            assert_int_equal(seg.flags, WIRE_TCP_RST);
    }
    assert_int_equal(counters(&f).syncookies_rejected, 10000);
    assert_int_equal(counters(&f).syncookies_validated, 0);
    assert_int_equal(stats(&f).conns, 0);
    assert_int_equal(synack_tcp_accept(f.l, &f.c), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

/* A cookie binds the 4-tuple and the peer's ISN: any change and it fails. */
static void altered_cookie_ack_is_rejected(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    syn_from(&f, 40000);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 1, f.peer_ack, NULL, 0);          /* other ISN */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack ^ 0x100, NULL, 0);      /* MAC bit */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack ^ (1u << 28), NULL, 0); /* MSS index */
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0); /* other port */
    assert_int_equal(counters(&f).syncookies_rejected, 4);
    assert_int_equal(stats(&f).conns, 0);
    /* The right one still works. */
    f.rport = 40000;
    third_ack(&f, NULL, 0);
    assert_int_equal(counters(&f).syncookies_validated, 1);
    fix_free(&f);
}

/* Valid 32 to 64 s; an ACK replayed later makes nothing. */
static void cookie_expires(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    f.now = SYNACK_S(3200); /* the start of a 32 s slot */
    syn_from(&f, 40000);
    uint32_t ack1 = f.peer_ack;
    syn_from(&f, 40001);
    uint32_t ack2 = f.peer_ack;
    f.now += SYNACK_S(63); /* still the next slot: valid */
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, ack2, NULL, 0);
    assert_int_equal(counters(&f).syncookies_validated, 1);
    f.now += SYNACK_S(1); /* 64 s: gone */
    f.rport = 40000;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, ack1, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, ack1, 0);
    assert_int_equal(counters(&f).syncookies_rejected, 1);
    assert_int_equal(counters(&f).syncookies_validated, 1);
    fix_free(&f);
}

/* The key rotates: the same SYN gets another cookie in the next slot. */
static void key_rotates_every_slot(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    f.now = SYNACK_S(3200);
    uint32_t a = syn_from(&f, 40000).seq;
    f.now += SYNACK_S(1);
    uint32_t b = syn_from(&f, 40000).seq;
    f.now += SYNACK_S(32);
    uint32_t c = syn_from(&f, 40000).seq;
    assert_int_equal(a, b);
    assert_int_not_equal(a & 0x07ffffffu, c & 0x07ffffffu);
    fix_free(&f);
}

/* In "overflow" mode an ACK is taken for a cookie only while cookies may be out: before
 * any overflow it is an ordinary bad ACK to a listener. */
static void overflow_mode_checks_acks_only_after_an_overflow(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    fix_send(&f, WIRE_TCP_ACK, 5000, 6000, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, 6000, 0);
    assert_int_equal(counters(&f).syncookies_rejected, 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_LISTEN_BAD), 1);
    fix_free(&f);
}

/* A full accept queue refuses the SYN, cookie or not; a valid cookie ACK that finds it full
 * makes nothing and is dropped (counted); once there is room the same ACK works. */
static void valid_cookie_waits_for_accept_queue_room(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 1, NULL, &f.l), 0);
    syn_from(&f, 40001); /* its SYN-ACK goes out while there is room */
    uint32_t ack = f.peer_ack;
    syn_from(&f, 40000);
    third_ack(&f, NULL, 0); /* the accept queue (backlog 1) is now full */
    f.rport = 40002;
    f.peer_nxt = FIX_PEER_ISS;
    fix_peer_syn(&f, false);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ACCEPT_QUEUE_FULL), 1);
    f.rport = 40001;
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, ack, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ACCEPT_QUEUE_FULL), 2);
    assert_int_equal(stats(&f).conns, 1);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    fix_send(&f, WIRE_TCP_ACK, FIX_PEER_ISS + 1, ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    assert_int_equal(counters(&f).syncookies_validated, 2);
    fix_free(&f);
}

/* RFC 7323 §5.4: TSvals never go backwards: the cookie's TSval is rounded down. */
static void cookie_tsval_is_not_ahead_of_the_clock(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, always);
    f.peer_ts = true;
    f.peer_wscale = 14;
    f.peer_sack = true;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    for (int i = 0; i < 70; i++) {
        f.now += SYNACK_MS(1);
        uint32_t cookie_ts = syn_from(&f, 40000).ts_val;
        third_ack(&f, NULL, 0);
        assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
        fix_queue(&f, 10);
        struct wire_tcp_repr seg;
        assert_true(fix_recv(&f, &seg));
        assert_true((int32_t)(seg.ts_val - cookie_ts) >= 0);
        assert_true(seg.ts_val - cookie_ts < 64);
        synack_tcp_abort(f.c, f.now);
        while (fix_recv(&f, &seg)) {
        }
    }
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(overflow_answers_with_a_cookie_and_keeps_no_state),
    cmocka_unit_test(never_drops_the_syn),
    cmocka_unit_test(always_keeps_no_half_open_connection),
    cmocka_unit_test(cookie_connection_keeps_options_with_timestamps),
    cmocka_unit_test(cookie_connection_without_timestamps_has_mss_only),
    cmocka_unit_test(first_data_on_the_ack_is_delivered),
    cmocka_unit_test(forged_acks_make_no_connection),
    cmocka_unit_test(altered_cookie_ack_is_rejected),
    cmocka_unit_test(cookie_expires),
    cmocka_unit_test(key_rotates_every_slot),
    cmocka_unit_test(overflow_mode_checks_acks_only_after_an_overflow),
    cmocka_unit_test(valid_cookie_waits_for_accept_queue_room),
    cmocka_unit_test(cookie_tsval_is_not_ahead_of_the_clock),
};

SYNACK_TEST_MAIN("syncookie", tests)
