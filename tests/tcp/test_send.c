/* Sending: segmentation by the effective MSS (RFC 9293 §3.7.1, RFC 7323 §3.2 / RFC 6691),
 * the initial window (RFC 6928), slow start with appropriate byte counting (RFC 3465), the
 * send buffer, Nagle in Minshall's form (RFC 1122 §4.2.3.4), sender SWS avoidance (RFC 1122
 * §4.2.3.4), the persist timer (RFC 9293 §3.8.6.1) and the congestion window as a bound on
 * what is in flight (RFC 5681 §3). The peer offers no SACK, so no tail loss probe runs. */
#include "tcpfix.h"

#include <string.h>

#define MSS 1460u /* the fixture peer's MSS option; our MTU 1500 gives 1460 too */

/* ---- helpers --------------------------------------------------------------------------- */

/* The byte at stream offset i: a pattern, so payloads can be checked by offset. */
static uint8_t pattern_at(size_t i)
{
    return (uint8_t)(i * 31u + 7u);
}

/* Queues `n` bytes of the pattern starting at stream offset `from`; all must be taken. */
static void queue_from(struct fix *f, size_t from, size_t n)
{
    uint8_t buf[4096];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = pattern_at(from + i);
        assert_int_equal(synack_tcp_send(f->c, buf, k, f->now), (synack_ssize)k);
        from += k;
        n -= k;
    }
}

static void queue(struct fix *f, size_t n)
{
    queue_from(f, 0, n);
}

/* The next segment carries [seq, seq + len) of data with ACK (PSH not checked), nothing
 * else. */
static void expect_seg(struct fix *f, uint32_t seq, uint32_t len)
{
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("expected data seq %u len %u, got nothing", seq, len);
    if (seg.seq != seq || seg.payload_len != len)
        fail_msg("expected data seq %u len %u, got seq %u len %zu", seq, len, seg.seq,
                 seg.payload_len);
    assert_int_equal(seg.flags & ~WIRE_TCP_PSH, WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f->peer_nxt);
}

/* `n` full segments from `seq`. */
static void expect_full_segs(struct fix *f, uint32_t seq, unsigned n, uint32_t mss)
{
    for (unsigned i = 0; i < n; i++)
        expect_seg(f, seq + i * mss, mss);
}

/* The peer acknowledges up to `ack` with its current window. */
static void small_mtu(struct synack_config *cfg)
{
    cfg->mtu = 576; /* our MSS: 536 */
}

static void small_sndbuf(struct synack_config *cfg)
{
    cfg->sndbuf = 8192;
    cfg->sndbuf_max = 0; /* fixed */
}

static void three_data_retries(struct synack_config *cfg)
{
    cfg->data_retries = 3;
}

/* ---- segmentation (RFC 9293 §3.7.1) ------------------------------------------------------ */

/* RFC 9293 §3.7.1: segments carry at most the MSS the peer announced in its SYN. */
static void mss_is_the_peers_mss_option(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 1000;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_mss, 1000);
    queue(&f, 2500);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 1000);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack + 1000, f.peer_nxt, 1000);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 2000, f.peer_nxt, 500);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 9293 §3.7.1: the MSS is also bounded by what our own interface carries (MTU - 40),
 * however large the peer's option. */
static void mss_capped_by_our_mtu(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_mtu);
    f.peer_mss = 1460;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_mss, 536);
    queue(&f, 1200);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 536);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack + 536, f.peer_nxt, 536);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 1072, f.peer_nxt, 128);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 9293 §3.7.1: without an MSS option the sender assumes 536. */
static void mss_without_option_is_536(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 0;
    fix_established_active(&f);
    queue(&f, 600);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 536);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack + 536, f.peer_nxt, 64);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 9293 §3.7.1 / RFC 6691: the MSS counts data only; the 12 bytes of the timestamps
 * option (RFC 7323 §3.2) on every segment come out of it: 1460 - 12 = 1448 per segment. */
static void mss_less_timestamps_option(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr seg;
    fix_init(&f, NULL);
    f.peer_ts = true;
    fix_established_active(&f);
    assert_true(fix_info(&f).timestamps);
    queue(&f, 3000);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(fix_recv(&f, &seg));
        assert_int_equal(seg.seq, f.peer_ack + i * 1448);
        assert_int_equal(seg.payload_len, i < 2 ? 1448 : 3000 - 2 * 1448);
        assert_true(seg.has_ts);
        /* Options plus data never exceed the MSS. */
        assert_true(wire_tcp_header_len(&seg) - WIRE_TCP_HDR_LEN + seg.payload_len <= MSS);
    }
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- initial window and slow start -------------------------------------------------------- */

/* RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)) = 10 full segments at MSS 1460. With a
 * large window and plenty of data exactly 10 go out at once, then nothing until ACKs. */
static void iw10_ten_full_segments_then_nothing(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    queue(&f, 20 * MSS);
    expect_full_segs(&f, f.peer_ack, 10, MSS);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.bytes_in_flight, 10 * MSS);
    assert_int_equal(info.cwnd, 10 * MSS);
    /* Time alone (short of the RTO) releases nothing more. */
    fix_advance(&f, SYNACK_MS(100));
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 5681 §3.1 slow start with RFC 3465 §2.2 appropriate byte counting, L = 2: each ACK
 * grows cwnd by min(bytes acked, 2*SMSS). An ACK of 2 segments releases 4 (2 replace the
 * acked ones, 2 are growth); an ACK of 4 segments grows cwnd by only 2*SMSS, releasing 6. */
static void slow_start_abc_growth_per_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 40 * MSS);
    expect_full_segs(&f, s0, 10, MSS);
    fix_expect_none(&f);
    fix_peer_ack(&f, s0 + 2 * MSS);
    expect_full_segs(&f, s0 + 10 * MSS, 4, MSS);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).cwnd, 12 * MSS);
    fix_peer_ack(&f, s0 + 6 * MSS);
    expect_full_segs(&f, s0 + 14 * MSS, 6, MSS);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.cwnd, 14 * MSS);
    assert_int_equal(info.phase, SYNACK_PHASE_SLOW_START);
    fix_free(&f);
}

/* RFC 5681 §3: the sender never has more than cwnd bytes in flight. A bulk transfer acked
 * two segments at a time checks flight <= cwnd after every single segment sent. */
static void flight_never_exceeds_cwnd(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    const uint32_t total = 40 * MSS;
    queue(&f, total);
    struct wire_tcp_repr seg;
    uint32_t una = s0;
    bool was_cwnd_limited = false;
    for (unsigned round = 0; round < 100 && una != s0 + total; round++) {
        while (fix_recv(&f, &seg)) {
            struct synack_tcp_info info = fix_info(&f);
            if (info.bytes_in_flight > info.cwnd)
                fail_msg("round %u: %zu bytes in flight > cwnd %u", round, info.bytes_in_flight,
                         info.cwnd);
            if (info.bytes_in_flight == info.cwnd) was_cwnd_limited = true;
        }
        struct synack_tcp_info info = fix_info(&f);
        una = info.snd_nxt - una >= 2 * MSS ? una + 2 * MSS : info.snd_nxt;
        fix_peer_ack(&f, una);
    }
    assert_true(was_cwnd_limited); /* the burst really was limited by cwnd */
    assert_int_equal(fix_info(&f).snd_una, s0 + total);
    fix_free(&f);
}

/* ---- the send buffer ---------------------------------------------------------------------- */

/* synack_tcp_send takes what the send buffer holds (a partial count), AGAIN when it is full,
 * and SYNACK_EV_WRITABLE reports space freed by an ACK. */
static void send_buffer_limits_send_and_writable_after_ack(void **state)
{
    (void)state;
    struct fix f;
    uint8_t data[10000];
    memset(data, 'x', sizeof data);
    fix_init(&f, small_sndbuf);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    assert_int_equal(synack_tcp_send(f.c, data, 10000, f.now), 8192);
    assert_int_equal(synack_tcp_send(f.c, data, 1, f.now), SYNACK_ERR_AGAIN);
    assert_int_equal(fix_info(&f).send_queued, 8192);
    expect_full_segs(&f, s0, 5, MSS);
    expect_seg(&f, s0 + 5 * MSS, 8192 - 5 * MSS);
    fix_expect_none(&f);
    /* Sent but unacknowledged data still holds its space. */
    assert_int_equal(synack_tcp_send(f.c, data, 1, f.now), SYNACK_ERR_AGAIN);
    assert_false(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    fix_peer_ack(&f, s0 + MSS);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    assert_int_equal(synack_tcp_send(f.c, data, 2000, f.now), MSS);
    assert_int_equal(synack_tcp_send(f.c, data, 1, f.now), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

/* Zero copy: send_borrow lends the send buffer's room in place, the caller writes there
 * and send_commit queues it as send() would have, without the copy. */
static void send_borrow_lends_the_room_and_commit_queues_it(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_sndbuf);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    struct synack_piece p[2];
    assert_int_equal(synack_tcp_send_borrow(f.c, p), 8192);
    assert_int_equal(p[0].len, 8192); /* an empty buffer: one piece */
    assert_int_equal(p[1].len, 0);
    for (size_t i = 0; i < 3000; i++)
        p[0].data[i] = (uint8_t)(i * 7);
    assert_int_equal(synack_tcp_send_commit(f.c, 3000, f.now), 3000);
    assert_int_equal(fix_info(&f).send_queued, 3000);
    expect_full_segs(&f, s0, 2, MSS);
    assert_int_equal(f.last_payload[0], (uint8_t)(MSS * 7)); /* the bytes written in place */
    expect_seg(&f, s0 + 2 * MSS, 3000 - 2 * MSS);
    /* A commit of more than was lent is refused, and queues nothing. */
    assert_int_equal(synack_tcp_send_borrow(f.c, p), 8192 - 3000);
    assert_int_equal(synack_tcp_send_commit(f.c, 8192 - 3000 + 1, f.now), SYNACK_ERR_INVAL);
    assert_int_equal(fix_info(&f).send_queued, 3000);
    /* Filling the room: a borrow then finds none (AGAIN), and WRITABLE follows the ACK. */
    assert_int_equal(synack_tcp_send_commit(f.c, 8192 - 3000, f.now), 8192 - 3000);
    assert_int_equal(synack_tcp_send_borrow(f.c, p), SYNACK_ERR_AGAIN);
    assert_null(p[0].data);
    fix_peer_ack(&f, s0 + 3000);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    /* The room the ACK freed: the storage's first 3000 bytes, the tail having come round
     * to its start (where room wraps, ring_room_spans lends two pieces: test_base). */
    assert_int_equal(synack_tcp_send_borrow(f.c, p), 3000);
    assert_int_equal(p[0].len, 3000);
    assert_int_equal(p[1].len, 0);
    /* After shutdown nothing is lent: SHUTDOWN, as send() says. */
    assert_int_equal(synack_tcp_shutdown(f.c, f.now), 0);
    assert_int_equal(synack_tcp_send_borrow(f.c, p), SYNACK_ERR_SHUTDOWN);
    fix_free(&f);
}

/* Before the connection is open nothing is lent (NOTCONN), as send() says. */
static void send_borrow_refused_before_established(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    struct synack_piece p[2];
    assert_int_equal(synack_tcp_send_borrow(f.c, p), SYNACK_ERR_NOTCONN);
    assert_int_equal(synack_tcp_send_commit(f.c, 1, f.now), SYNACK_ERR_INVAL);
    fix_free(&f);
}

/* A send taken whole that leaves the buffer full asks for WRITABLE too: a socket layer
 * reports POLLOUT only while there is room, so its pollers wait from that send on. */
static void send_that_fills_the_buffer_exactly_gets_writable_after_ack(void **state)
{
    (void)state;
    struct fix f;
    uint8_t data[8192];
    memset(data, 'x', sizeof data);
    fix_init(&f, small_sndbuf);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    assert_int_equal(synack_tcp_send(f.c, data, 8192, f.now), 8192);
    expect_full_segs(&f, s0, 5, MSS);
    expect_seg(&f, s0 + 5 * MSS, 8192 - 5 * MSS);
    fix_peer_ack(&f, s0 + MSS);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    fix_free(&f);
}

/* ---- Nagle (RFC 1122 §4.2.3.4, Minshall's variant) ----------------------------------------- */

/* RFC 1122 §4.2.3.4: a small segment waits while a previous small segment is unacked; the
 * ACK releases it. */
static void nagle_second_small_write_waits_for_ack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    queue_from(&f, 100, 100);
    fix_expect_none(&f);
    fix_advance(&f, SYNACK_MS(50)); /* not a matter of time */
    fix_expect_none(&f);
    fix_peer_ack(&f, s0 + 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 100, f.peer_nxt, 100);
    assert_int_equal(f.last_payload[0], pattern_at(100));
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.4: the application can turn Nagle off (TCP_NODELAY): small writes go at
 * once, each in its own segment. */
static void nodelay_small_writes_go_at_once(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(synack_tcp_set_nodelay(f.c, true), 0);
    assert_true(fix_info(&f).nodelay);
    uint32_t s0 = f.peer_ack;
    queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    queue_from(&f, 100, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 100, f.peer_nxt, 100);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.4: turning Nagle off sends what it was holding back, without an ACK. */
static void nodelay_releases_data_nagle_held(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    queue_from(&f, 100, 100);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_set_nodelay(f.c, true), 0);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 100, f.peer_nxt, 100);
    fix_free(&f);
}

/* Minshall's Nagle: only an unacknowledged *short* segment holds a new short one. A write of
 * 1.5 MSS goes as a full segment and its tail at once (RFC 1122's form would hold the tail
 * a round trip); a third small write then waits for the tail's ACK. */
static void minshall_full_segment_and_tail_go_at_once(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, MSS + MSS / 2);
    fix_expect_data(&f, WIRE_TCP_ACK, s0, f.peer_nxt, MSS);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + MSS, f.peer_nxt, MSS / 2);
    fix_expect_none(&f);
    queue_from(&f, MSS + MSS / 2, 100);
    fix_expect_none(&f);
    /* The full segment's ACK does not release it; the tail's does. */
    fix_peer_ack(&f, s0 + MSS);
    fix_expect_none(&f);
    fix_peer_ack(&f, s0 + MSS + MSS / 2);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + MSS + MSS / 2, f.peer_nxt, 100);
    fix_free(&f);
}

/* ---- sender SWS avoidance (RFC 1122 §4.2.3.4) ---------------------------------------------- */

/* RFC 1122 §4.2.3.4: with data in flight, send only a full segment, or at least half the
 * largest window the peer ever offered (Fs = 1/2). The peer offers 2000 bytes: after one
 * full segment the usable 540 bytes (< MSS, < 1000) stay unused; when a partial ACK makes
 * 1240 usable (>= 1000), a 1240-byte segment goes. */
static void sender_sws_small_usable_window_unused_while_in_flight(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_wnd = 2000;
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 5000);
    fix_expect_data(&f, WIRE_TCP_ACK, s0, f.peer_nxt, MSS);
    fix_expect_none(&f); /* 540 usable: held */
    fix_peer_ack(&f, s0 + 700);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + MSS, f.peer_nxt, 1240);
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- persist timer (RFC 9293 §3.8.6.1) ----------------------------------------------------- */

/* RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: the peer closes its window with the ACK of our
 * data. Queued data then waits; after an RTO a one-byte probe goes; answered probes back
 * off exponentially and never time out (more probes than data_retries); the data goes when
 * the window opens. */
static void persist_probe_backs_off_and_never_gives_up(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, three_data_retries);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    f.peer_wnd = 0;
    fix_peer_ack(&f, s0 + 100);
    queue_from(&f, 100, 300);
    fix_expect_none(&f);
    synack_time_t rto = fix_info(&f).rto;
    assert_true(rto == f.cfg.rto_min);
    for (unsigned i = 0; i < 6; i++) {
        fix_expect_deadline(&f, f.now + (rto << i));
        fix_run_next_timer(&f);
        fix_expect_data(&f, WIRE_TCP_ACK, s0 + 100, f.peer_nxt, 1);
        assert_int_equal(f.last_payload[0], pattern_at(100));
        fix_expect_none(&f);
        fix_peer_ack(&f, s0 + 100); /* still zero */
        fix_expect_none(&f);
        assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    }
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    f.peer_wnd = 65535;
    fix_peer_ack(&f, s0 + 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 100, f.peer_nxt, 300);
    assert_int_equal(f.last_payload[0], pattern_at(100));
    fix_free(&f);
}

/* counters.window_probes (synack.h: "RFC 9293 §3.8.6.1 zero-window probes sent") counts
 * every probe, the first and the backed-off ones after it. */
static void window_probes_counts_every_probe(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    f.peer_wnd = 0;
    fix_peer_ack(&f, s0);
    queue(&f, 100);
    fix_expect_none(&f);
    for (unsigned i = 0; i < 3; i++) {
        fix_run_next_timer(&f);
        fix_expect_data(&f, WIRE_TCP_ACK, s0, f.peer_nxt, 1);
        fix_peer_ack(&f, s0);
        fix_expect_none(&f);
    }
    assert_int_equal(fix_info(&f).counters.window_probes, 3);
    fix_free(&f);
}

/* RFC 5681 §3.2: duplicate ACKs stand for segments that left the network above a loss.
 * The answers to zero-window probes say only that the window is still closed (RFC 9293
 * §3.8.6.1): they must not start fast retransmit or cut cwnd. (4.4BSD counts no duplicate
 * ACKs while the persist timer runs; Linux probes with SND.UNA-1 and no data.) */
static void zero_window_probe_answers_do_not_start_fast_recovery(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    f.peer_wnd = 0;
    fix_peer_ack(&f, s0 + 100);
    queue_from(&f, 100, 300);
    fix_expect_none(&f);
    uint32_t cwnd = fix_info(&f).cwnd;
    for (unsigned i = 0; i < 5; i++) {
        fix_run_next_timer(&f);
        fix_expect_data(&f, WIRE_TCP_ACK, s0 + 100, f.peer_nxt, 1);
        fix_peer_ack(&f, s0 + 100);
        fix_expect_none(&f);
    }
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 0);
    assert_int_equal(info.counters.fast_retransmits, 0);
    assert_int_equal(info.cwnd, cwnd);
    assert_int_not_equal(info.phase, SYNACK_PHASE_RECOVERY);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mss_is_the_peers_mss_option),
    cmocka_unit_test(mss_capped_by_our_mtu),
    cmocka_unit_test(mss_without_option_is_536),
    cmocka_unit_test(mss_less_timestamps_option),
    cmocka_unit_test(iw10_ten_full_segments_then_nothing),
    cmocka_unit_test(slow_start_abc_growth_per_ack),
    cmocka_unit_test(flight_never_exceeds_cwnd),
    cmocka_unit_test(send_buffer_limits_send_and_writable_after_ack),
    cmocka_unit_test(send_that_fills_the_buffer_exactly_gets_writable_after_ack),
    cmocka_unit_test(send_borrow_lends_the_room_and_commit_queues_it),
    cmocka_unit_test(send_borrow_refused_before_established),
    cmocka_unit_test(nagle_second_small_write_waits_for_ack),
    cmocka_unit_test(nodelay_small_writes_go_at_once),
    cmocka_unit_test(nodelay_releases_data_nagle_held),
    cmocka_unit_test(minshall_full_segment_and_tail_go_at_once),
    cmocka_unit_test(sender_sws_small_usable_window_unused_while_in_flight),
    cmocka_unit_test(persist_probe_backs_off_and_never_gives_up),
    cmocka_unit_test(window_probes_counts_every_probe),
    cmocka_unit_test(zero_window_probe_answers_do_not_start_fast_recovery),
};

SYNACK_TEST_MAIN("send", tests)
