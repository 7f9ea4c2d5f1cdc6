/* Blind in-window attacks (RFC 5961) and what an off-path attacker can make us do: no ACK
 * field from a segment that fails the acceptability test (RFC 9293 §3.10.7.4), answers to
 * invalid segments limited per connection, challenge ACKs with a per-connection random
 * budget (the CVE-2016-5696 side channel closed), a floor on the peer's MSS, and RFC 1337
 * (no TIME-WAIT assassination). */
#include "tcpfix.h"

#include <string.h>

#define MSS 1460u

static void no_answer_limit(struct synack_config *cfg)
{
    cfg->invalid_ack_interval = 0;
}

static void budget_4_no_interval(struct synack_config *cfg)
{
    cfg->invalid_ack_interval = 0;
    cfg->challenge_ack_limit = 4;
}

/* Established with `segs` full segments sent and not yet acknowledged. */
static void established_in_flight(struct fix *f, unsigned segs)
{
    fix_established_active(f);
    fix_queue(f, segs * MSS);
    struct wire_tcp_repr seg;
    for (unsigned i = 0; i < segs; i++) {
        assert_true(fix_recv(f, &seg));
        assert_int_equal(seg.payload_len, MSS);
    }
    fix_expect_none(f);
    assert_int_equal(fix_info(f).bytes_in_flight, segs * MSS);
}

/* Drains the stack's output; returns how many segments were bare ACKs at (snd, rcv). */
static unsigned count_acks(struct fix *f, uint32_t seq, uint32_t ack)
{
    unsigned n = 0;
    struct wire_tcp_repr seg;
    while (fix_recv(f, &seg)) {
        assert_int_equal(seg.flags, WIRE_TCP_ACK);
        assert_int_equal(seg.payload_len, 0);
        assert_int_equal(seg.seq, seq);
        assert_int_equal(seg.ack, ack);
        n++;
    }
    return n;
}

/* ---- RFC 9293 §3.10.7.4 first check: nothing of an unacceptable segment is used ---- */

/* The reproduction: one forged ACK 2^30 below the window, SEG.ACK 14,600 bytes
 * ahead. Before, SND.UNA moved past bytes the peer never received. */
static void forged_ack_below_window_does_not_move_snd_una(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_in_flight(&f, 10);
    uint32_t una = fix_info(&f).snd_una;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt - (1u << 30), una + 10 * MSS, NULL, 0);
    assert_int_equal(count_acks(&f, una + 10 * MSS, f.peer_nxt), 1); /* the RFC's reply */
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.snd_una, una);
    assert_int_equal(info.bytes_in_flight, 10 * MSS);
    assert_int_equal(info.counters.drops[SYNACK_DROP_UNACCEPTABLE], 1);
    /* The same for a bare ACK one byte before RCV.NXT (a keepalive's position) and for
     * one past the right edge, with data or without. */
    f.now += SYNACK_MS(500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt - 1, una + 5 * MSS, NULL, 0);
    assert_int_equal(count_acks(&f, una + 10 * MSS, f.peer_nxt), 1);
    f.now += SYNACK_MS(500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 70000, una + 5 * MSS, "x", 1);
    assert_int_equal(count_acks(&f, una + 10 * MSS, f.peer_nxt), 1);
    info = fix_info(&f);
    assert_int_equal(info.snd_una, una);
    assert_int_equal(info.counters.drops[SYNACK_DROP_UNACCEPTABLE], 3);
    /* The first segment is still resent when the RTO fires: nothing was lost. */
    fix_run_next_timer(&f);
    fix_expect_data(&f, WIRE_TCP_ACK, una, f.peer_nxt, MSS);
    fix_free(&f);
}

/* RFC 9293 §3.8.6.1 / §3.10.7.4: with a zero receive window, a segment at exactly RCV.NXT
 * still gets its ACK field (and RST) processed: the one allowance the issue keeps. */
static void zero_window_allowance_still_takes_ack_at_rcv_nxt(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    /* Fill our receive window (nothing is read): it is 0. */
    static uint8_t chunk[1024];
    for (unsigned i = 0; i < 100 && fix_info(&f).rcv_wnd > 0; i++) {
        uint32_t n = fix_info(&f).rcv_wnd < sizeof chunk ? fix_info(&f).rcv_wnd : sizeof chunk;
        fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, chunk, n);
        f.peer_nxt += n;
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg)) {
        }
    }
    assert_int_equal(fix_info(&f).rcv_wnd, 0);
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 100);
    /* A probe-sized segment at RCV.NXT: its text is dropped, its ACK taken. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 100, "z", 1);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack + 100, f.peer_nxt);
    assert_int_equal(fix_info(&f).snd_una, f.peer_ack + 100);
    fix_free(&f);
}

/* A pure ACK exactly at the right edge of our window (the sender filled it, a hole is
 * still open) is taken, as Linux takes it: its ACK field is news. One past it is not. */
static void pure_ack_at_the_right_edge_is_acceptable(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_in_flight(&f, 2);
    uint32_t una = fix_info(&f).snd_una;
    uint32_t wnd = fix_info(&f).rcv_wnd;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + wnd + 1, una + MSS, NULL, 0);
    assert_int_equal(fix_info(&f).snd_una, una);
    f.now += SYNACK_MS(500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + wnd, una + MSS, NULL, 0);
    assert_int_equal(fix_info(&f).snd_una, una + MSS);
    fix_free(&f);
}

/* ---- answers to invalid segments: one per invalid_ack_interval, per connection ---- */

/* 100 spoofed segments in one second, at random positions outside the window: the real
 * peer sees at most 2 ACKs (t = 0 and t = 500 ms), not 100 duplicate ACKs. */
static void unacceptable_segments_answered_once_per_interval(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_in_flight(&f, 4);
    uint32_t una = fix_info(&f).snd_una;
    uint32_t x = 12345;
    unsigned acks = 0;
    for (int i = 0; i < 100; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t seq = f.peer_nxt + 65536 + (x >> 4); /* never in the 64 KiB window */
        uint8_t flags = (i % 2) ? WIRE_TCP_ACK : (WIRE_TCP_ACK | WIRE_TCP_PSH);
        fix_send(&f, flags, seq, una + (x % (4 * MSS)), (i % 2) ? NULL : "spoof", (i % 2) ? 0 : 5);
        acks += count_acks(&f, una + 4 * MSS, f.peer_nxt);
        f.now += SYNACK_MS(10);
    }
    assert_int_equal(acks, 2);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.invalid_acks_suppressed, 98);
    assert_int_equal(info.counters.drops[SYNACK_DROP_UNACCEPTABLE], 100);
    assert_int_equal(info.snd_una, una);
    assert_int_equal(info.recv_queued, 0);
    fix_free(&f);
}

/* RFC 7323 §5.3 R1: a PAWS failure is answered like an unacceptable segment, within the
 * same limit (a replayed old segment flood reflects nothing). */
static void paws_failures_answered_once_per_interval(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 1000;
    fix_established_active(&f);
    unsigned answers = 0;
    for (int i = 0; i < 20; i++) {
        struct wire_tcp_repr seg = {.src_port = f.rport,
                                    .dst_port = f.lport,
                                    .seq = f.peer_nxt,
                                    .ack = f.peer_ack,
                                    .flags = WIRE_TCP_ACK,
                                    .window = 65535,
                                    .has_ts = true,
                                    .ts_val = 500, /* older than TS.Recent */
                                    .ts_ecr = f.last_tsval};
        fix_send_repr(&f, &seg);
        struct wire_tcp_repr out;
        while (fix_recv(&f, &out))
            answers++;
        f.now += SYNACK_MS(20);
    }
    assert_int_equal(answers, 1);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.drops[SYNACK_DROP_PAWS], 20);
    assert_int_equal(info.counters.invalid_acks_suppressed, 19);
    fix_free(&f);
}

/* A zero interval turns the limit off: every unacceptable segment is answered (the RFC's
 * letter), for setups that want it. */
static void zero_interval_answers_every_unacceptable_segment(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_answer_limit);
    fix_established_active(&f);
    unsigned acks = 0;
    for (int i = 0; i < 10; i++) {
        fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 100000, f.peer_ack, NULL, 0);
        acks += count_acks(&f, f.peer_ack, f.peer_nxt);
    }
    assert_int_equal(acks, 10);
    assert_int_equal(fix_info(&f).counters.invalid_acks_suppressed, 0);
    fix_free(&f);
}

/* ---- challenge ACKs: a random budget per connection and second (RFC 5961 §7) ---- */

/* Sends `n` in-window, inexact RSTs at the current time on the connection at f->rport;
 * returns the challenge ACKs that came back. */
static unsigned bad_rsts(struct fix *f, unsigned n, uint32_t peer_nxt, uint32_t peer_ack)
{
    unsigned acks = 0;
    for (unsigned i = 0; i < n; i++) {
        fix_send(f, WIRE_TCP_RST, peer_nxt + 10 + i, 0, NULL, 0);
        acks += count_acks(f, peer_ack, peer_nxt);
    }
    return acks;
}

static void challenge_budget_is_random_per_second_within_bounds(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, budget_4_no_interval);
    fix_established_active(&f);
    unsigned seen[8] = {0};
    unsigned total = 0;
    for (int sec = 0; sec < 40; sec++) {
        unsigned acks = bad_rsts(&f, 10, f.peer_nxt, f.peer_ack);
        /* limit 4: the budget lies in [2, 6). */
        assert_in_range(acks, 2, 5);
        seen[acks]++;
        total += acks;
        f.now += SYNACK_S(1);
    }
    /* Random, not a constant an attacker could count down: several values occur. */
    unsigned distinct = 0;
    for (unsigned i = 0; i < 8; i++)
        distinct += seen[i] != 0;
    assert_true(distinct >= 3);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.challenge_acks, total);
    assert_int_equal(info.counters.challenge_acks_suppressed, 400 - total);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    fix_free(&f);
}

/* The CVE-2016-5696 measurement, at segment level: the attacker spoofs in-window RSTs on
 * the victim's connection (or, in the control trial, out-of-window ones that draw no
 * challenge ACK) and then counts the challenge ACKs his own connection gets in the same
 * second. With one budget per stack the count dropped when the spoofed RSTs hit the
 * window; per connection it is the same in both trials, so it tells him nothing. */
static unsigned side_channel_trial(bool hit_window)
{
    struct fix f;
    fix_init(&f, budget_4_no_interval);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    /* The victim's connection (peer port 40000) and the attacker's own (40001). */
    uint32_t iss[2];
    for (int k = 0; k < 2; k++) {
        f.rport = (uint16_t)(FIX_RPORT + k);
        f.peer_nxt = FIX_PEER_ISS;
        fix_peer_syn(&f, false);
        struct wire_tcp_repr seg;
        assert_true(fix_recv(&f, &seg));
        iss[k] = seg.seq;
        fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, iss[k] + 1, NULL, 0);
        struct synack_tcp *c;
        assert_int_equal(synack_tcp_accept(f.l, &c), 0);
    }
    f.rport = FIX_RPORT;
    for (unsigned i = 0; i < 10; i++) {
        uint32_t seq = hit_window ? f.peer_nxt + 10 + i : f.peer_nxt + 100000 + i;
        fix_send(&f, WIRE_TCP_RST, seq, 0, NULL, 0);
    }
    struct wire_tcp_repr seg;
    unsigned victim_acks = 0;
    while (fix_recv(&f, &seg))
        victim_acks++;
    assert_int_equal(victim_acks > 0, hit_window);
    f.rport = FIX_RPORT + 1;
    unsigned own = bad_rsts(&f, 20, f.peer_nxt, iss[1] + 1);
    fix_free(&f);
    return own;
}

static void challenge_budget_is_no_side_channel_between_connections(void **state)
{
    (void)state;
    unsigned hit = side_channel_trial(true);
    unsigned miss = side_channel_trial(false);
    assert_in_range(hit, 2, 5);
    assert_int_equal(hit, miss);
}

/* With the default interval the limit per connection is also one answer per 500 ms, so
 * a burst of bad RSTs draws one challenge ACK. */
static void challenge_acks_share_the_invalid_ack_interval(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(bad_rsts(&f, 10, f.peer_nxt, f.peer_ack), 1);
    f.now += SYNACK_MS(499);
    assert_int_equal(bad_rsts(&f, 1, f.peer_nxt, f.peer_ack), 0);
    f.now += SYNACK_MS(1);
    assert_int_equal(bad_rsts(&f, 1, f.peer_nxt, f.peer_ack), 1);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.challenge_acks, 2);
    assert_int_equal(info.counters.challenge_acks_suppressed, 10);
    /* The exact RST still resets (the control). */
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNRESET));
    fix_free(&f);
}

/* ---- the peer's MSS ---- */

/* An MSS option of 1 is raised to min_snd_mss (48), less the 12 bytes of timestamps if
 * they are on; counted. */
static void peer_mss_below_floor_is_raised(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 1;
    fix_established_active(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.snd_mss, 48);
    assert_int_equal(info.snd_eff_mss, 48);
    assert_int_equal(info.counters.mss_raised, 1);
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt, 48);
    fix_free(&f);
}

static void peer_mss_at_floor_is_kept(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_mss = 48;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_mss, 48);
    assert_int_equal(fix_info(&f).counters.mss_raised, 0);
    fix_free(&f);
}

/* ---- RFC 1337: no TIME-WAIT assassination ---- */

static void rst_in_time_wait_is_ignored_rfc1337(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    synack_time_t end = synack_stack_next_deadline(f.s);
    /* An exact RST (an old duplicate, or a forged one) changes nothing. */
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    assert_true(synack_stack_next_deadline(f.s) == end);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_TIME_WAIT_RST), 2);
    /* TIME-WAIT still answers a retransmitted FIN, and ends after 2*MSL. */
    f.now += SYNACK_S(1);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_run_next_timer(&f);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(forged_ack_below_window_does_not_move_snd_una),
    cmocka_unit_test(zero_window_allowance_still_takes_ack_at_rcv_nxt),
    cmocka_unit_test(pure_ack_at_the_right_edge_is_acceptable),
    cmocka_unit_test(unacceptable_segments_answered_once_per_interval),
    cmocka_unit_test(paws_failures_answered_once_per_interval),
    cmocka_unit_test(zero_interval_answers_every_unacceptable_segment),
    cmocka_unit_test(challenge_budget_is_random_per_second_within_bounds),
    cmocka_unit_test(challenge_budget_is_no_side_channel_between_connections),
    cmocka_unit_test(challenge_acks_share_the_invalid_ack_interval),
    cmocka_unit_test(peer_mss_below_floor_is_raised),
    cmocka_unit_test(peer_mss_at_floor_is_kept),
    cmocka_unit_test(rst_in_time_wait_is_ignored_rfc1337),
};

SYNACK_TEST_MAIN("blind", tests)
