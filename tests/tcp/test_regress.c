/*
 * Regressions found by review of the reliable-delivery core: each test failed before its
 * fix. Segment level, with the scripted peer of tcpfix.h.
 */
#include <string.h>

#include "base/seq.h"
#include "tcp/conn.h"
#include "tcpfix.h"

#define MSS 1460u

static uint32_t seg_seq(const struct fix *f, unsigned k)
{
    return f->iss + 1 + (k - 1) * MSS;
}
static void expect_seg(struct fix *f, uint32_t seq, uint32_t len)
{
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("expected data seq %u len %u, got nothing", seq, len);
    if (seg.seq != seq || seg.payload_len != len)
        fail_msg("expected seq %u (seg %d) len %u, got seq %u (seg %d) len %zu", seq,
                 (int)((seq - f->iss - 1) / MSS) + 1, len, seg.seq,
                 (int)((seg.seq - f->iss - 1) / MSS) + 1, seg.payload_len);
}
static void expect_segk(struct fix *f, unsigned k)
{
    expect_seg(f, seg_seq(f, k), MSS);
}
static void expect_segs(struct fix *f, unsigned a, unsigned b)
{
    for (unsigned k = a; k <= b; k++)
        expect_segk(f, k);
}
static void established_after_rtt(struct fix *f, synack_time_t rtt)
{
    fix_syn_sent(f);
    f->now += rtt;
    fix_peer_syn(f, true);
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
}
static void newreno(struct synack_config *cfg)
{
    cfg->cc = SYNACK_CC_NEWRENO;
}

/* NewReno (no SACK): after a full ACK ending recovery exactly at `recover`, the first new
 * segment is lost; three dupacks must fast-retransmit it (RFC 6582 3.2 step 1). */
static void newreno_fast_retransmit_right_after_full_ack_rfc6582_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    established_after_rtt(&f, SYNACK_MS(100));
    fix_queue(&f, 10 * MSS);
    expect_segs(&f, 1, 10);
    for (int i = 0; i < 3; i++)
        fix_peer_ack(&f, seg_seq(&f, 1));
    expect_segk(&f, 1);
    while (fix_recv(&f, &(struct wire_tcp_repr){0})) {
    }
    fix_peer_ack(&f, seg_seq(&f, 11)); /* full ACK: snd_una == recover */
    fix_queue(&f, 10 * MSS);
    while (fix_recv(&f, &(struct wire_tcp_repr){0})) {
    }
    /* segment 11 lost; 3 dupacks of seg 11 */
    for (int i = 0; i < 3; i++)
        fix_peer_ack(&f, seg_seq(&f, 11));
    expect_segk(&f, 11); /* fast retransmit of the first new segment */
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 2);
    fix_free(&f);
}

/* RFC 2018 8: after an RTO the segment at the left edge MUST be retransmitted even if SACKed. */
static void left_edge_resent_after_rto_even_if_sacked_rfc2018_8(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    fix_queue(&f, 4 * MSS);
    expect_segs(&f, 1, 4);
    uint32_t blocks[2] = {seg_seq(&f, 1), seg_seq(&f, 5)};
    fix_send_sack(&f, seg_seq(&f, 1), blocks, 1); /* peer SACKs everything, then reneges */
    unsigned rtx_head = 0, other = 0;
    for (int i = 0; i < 40 && synack_tcp_state(f.c) != SYNACK_CLOSED; i++) {
        fix_run_next_timer(&f);
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg)) {
            if (seg.seq == seg_seq(&f, 1) && seg.payload_len)
                rtx_head++;
            else
                other++;
        }
    }
    (void)other;
    assert_true(rtx_head > 0);
    fix_free(&f);
}

/* RFC 8985 7.4.2: an ACK == TLP.end_seq without DSACK is ambiguous (the original's ACK). */
static void tlp_acked_at_its_end_with_dsack_keeps_cwnd_rfc8985_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    fix_queue(&f, 2 * MSS);
    expect_segs(&f, 1, 2);
    fix_run_next_timer(&f); /* PTO */
    expect_segk(&f, 2);
    /* the original ACK (delayed) arrives: ack = seg 3 = tlp_end_seq, no DSACK */
    f.now += SYNACK_MS(10);
    fix_peer_ack(&f, seg_seq(&f, 3));
    /* then the D-SACK for the probe */
    uint32_t ds[2] = {seg_seq(&f, 2), seg_seq(&f, 3)};
    fix_send_sack(&f, seg_seq(&f, 3), ds, 1);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.ssthresh, UINT32_MAX);
    fix_free(&f);
}

/* Window right edge: a retransmitted (old-seq) segment carrying a newer ACK and a smaller
 * window moves SND.UNA but not SND.WND. */
static void never_send_past_the_offered_right_edge_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100));
    f.peer_wnd = 4 * MSS;
    fix_peer_ack(&f, seg_seq(&f, 1)); /* window 4 MSS from seg 1: edge = seg 5 */
    uint8_t d[100];
    memset(d, 'x', sizeof d);
    /* peer sends 100 bytes of data, then a pure ACK at its new snd_nxt: WL1 = peer_nxt+100 */
    uint32_t p0 = f.peer_nxt;
    f.peer_nxt += 100;
    fix_peer_ack(&f, seg_seq(&f, 1)); /* seq = p0 + 100 (the 100 bytes were "lost") */
    while (fix_recv(&f, &(struct wire_tcp_repr){0})) {
    }
    fix_queue(&f, 8 * MSS);
    expect_segs(&f, 1, 4);
    fix_expect_none(&f);
    /* retransmission of the peer's data at p0 (acceptable, in order) acks seg 1 and says
     * window 3 MSS: edge stays seg 5. */
    f.peer_wnd = 3 * MSS;
    fix_send(&f, WIRE_TCP_ACK, p0, seg_seq(&f, 2), d, sizeof d);
    struct wire_tcp_repr seg;
    uint32_t hi = 0;
    while (fix_recv(&f, &seg))
        if (seg.payload_len) hi = seg.seq + (uint32_t)seg.payload_len;
    assert_true(hi == 0 || seq_leq(hi, seg_seq(&f, 5)));
    fix_free(&f);
}

/* rack_fack starts at 0: for an ISS in the upper half of the space, the first delivered
 * segment looks "below the highest delivered" and sets REORDER_SEEN. */
static void rack_no_reordering_from_isn_in_upper_half_rfc8985_6_2(void **state)
{
    (void)state;
    int flagged = 0;
    for (int k = 0; k < 8; k++) {
        struct fix f;
        fix_init(&f, NULL);
        f.peer_sack = true;
        f.now += (synack_time_t)k * SYNACK_S(2200);
        established_after_rtt(&f, SYNACK_MS(100));
        fix_queue(&f, 2 * MSS);
        expect_segs(&f, 1, 2);
        f.now += SYNACK_MS(100);
        fix_peer_ack(&f, seg_seq(&f, 3));
        bool reo = (f.c->flags & TCP_F_REORDER_SEEN) != 0;
        if (reo) flagged++;
        fix_free(&f);
    }
    assert_int_equal(flagged, 0);
}

static void mtu100(struct synack_config *cfg)
{
    cfg->mtu = 100;
}
static void small_mtu_packets_fit_with_timestamps_rfc9293_3_7_1(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, mtu100);
    f.peer_ts = true;
    f.peer_mss = 1460;
    fix_syn_sent(&f);
    fix_peer_syn(&f, true);
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg)) {
    }
    uint8_t b[500] = {0};
    synack_tcp_send(f.c, b, sizeof b, f.now);
    /* RFC 9293 §3.7.1: with timestamps on every segment, data plus options stay within
     * the MTU: each packet fits a buffer of exactly the MTU. */
    uint8_t pkt[100];
    unsigned packets = 0;
    for (synack_ssize n; (n = synack_stack_output(f.s, pkt, sizeof pkt, f.now)) > 0;) {
        assert_true(n <= 100);
        packets++;
    }
    assert_true(packets > 0);
    assert_true(f.c->eff_mss + 12 <= 60);
    fix_free(&f);
}
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(newreno_fast_retransmit_right_after_full_ack_rfc6582_3_2),
    cmocka_unit_test(left_edge_resent_after_rto_even_if_sacked_rfc2018_8),
    cmocka_unit_test(tlp_acked_at_its_end_with_dsack_keeps_cwnd_rfc8985_7_4),
    cmocka_unit_test(never_send_past_the_offered_right_edge_rfc9293_3_10_7_4),
    cmocka_unit_test(rack_no_reordering_from_isn_in_upper_half_rfc8985_6_2),
    cmocka_unit_test(small_mtu_packets_fit_with_timestamps_rfc9293_3_7_1),
};
SYNACK_TEST_MAIN("regress", tests)
