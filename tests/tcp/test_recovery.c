/* Loss recovery and congestion control at segment level: fast retransmit and limited
 * transmit (RFC 5681 §3.2, RFC 3042), NewReno (RFC 6582), SACK-based recovery (RFC 6675)
 * with D-SACK (RFC 2883), the controllers' reductions (RFC 5681, RFC 9438), the RTO
 * (RFC 6298, RFC 5681 §3.1), Karn's rule, and RACK-TLP (RFC 8985).
 *
 * Segment k (1-based) of a transfer is [s0 + (k-1)*MSS, s0 + k*MSS), s0 = ISS + 1. */
#include "tcpfix.h"

#include <string.h>

#include "base/seq.h"
#include "tcp/conn.h"

#define MSS 1460u

/* ---- helpers --------------------------------------------------------------------------- */

/* Start of segment k (1-based). */
static uint32_t seg_seq(const struct fix *f, unsigned k)
{
    return f->iss + 1 + (k - 1) * MSS;
}

/* The next segment carries [seq, seq + len) with ACK (PSH not checked), nothing else. */
static void expect_seg(struct fix *f, uint32_t seq, uint32_t len)
{
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("expected data seq %u len %u, got nothing", seq, len);
    if (seg.seq != seq || seg.payload_len != len)
        fail_msg("expected data seq %u (segment %d) len %u, got seq %u (segment %d) len %zu", seq,
                 (int)((seq - f->iss - 1) / MSS) + 1, len, seg.seq,
                 (int)((seg.seq - f->iss - 1) / MSS) + 1, seg.payload_len);
    assert_int_equal(seg.flags & ~WIRE_TCP_PSH, WIRE_TCP_ACK);
}

/* Segment k, full size. */
static void expect_segk(struct fix *f, unsigned k)
{
    expect_seg(f, seg_seq(f, k), MSS);
}

/* Segments first..last, full size, in order. */
static void expect_segs(struct fix *f, unsigned first, unsigned last)
{
    for (unsigned k = first; k <= last; k++)
        expect_segk(f, k);
}

/* A duplicate ACK (RFC 5681 §2) of SND.UNA, no SACK. */
static void dupack(struct fix *f)
{
    fix_peer_ack(f, fix_info(f).snd_una);
}

/* A SACK of segments [first, last] with the cumulative ACK at SND.UNA. */
static void sack_segs(struct fix *f, unsigned first, unsigned last)
{
    uint32_t blocks[2] = {seg_seq(f, first), seg_seq(f, last + 1)};
    fix_send_sack(f, fix_info(f).snd_una, blocks, 1);
}

/* connect(); the SYN-ACK arrives `rtt` later: SRTT = rtt, RTTVAR = rtt/2. */
static void established_after_rtt(struct fix *f, synack_time_t rtt)
{
    fix_syn_sent(f);
    f->now += rtt;
    fix_peer_syn(f, true);
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
}

/* Established after `rtt`, `nsegs` full segments queued and the first 10 (IW10) sent. */
static void flight_of(struct fix *f, synack_time_t rtt, unsigned nsegs)
{
    established_after_rtt(f, rtt);
    fix_queue(f, nsegs * MSS);
    expect_segs(f, 1, nsegs < 10 ? nsegs : 10);
    fix_expect_none(f);
}

/* The CC events seen so far, in order. */
static size_t cc_events(struct fix *f, struct synack_event *out, size_t max)
{
    size_t n = 0;
    fix_events(f);
    for (size_t i = 0; i < f->nevents && n < max; i++)
        if (f->events[i].type == SYNACK_EV_CC) out[n++] = f->events[i];
    return n;
}

static void newreno(struct synack_config *cfg)
{
    cfg->cc = SYNACK_CC_NEWRENO;
}

static void no_rack(struct synack_config *cfg)
{
    cfg->rack = false;
}

static void rto_min_1s(struct synack_config *cfg)
{
    cfg->rto_min = SYNACK_S(1); /* RFC 6298 (2.4) */
}

/* ---- RFC 5681 §3.2 fast retransmit, RFC 3042 limited transmit (no SACK) ------------------- */

/* RFC 5681 §3.2: the third duplicate ACK, and not the first or second, retransmits the
 * segment at SND.UNA at once. */
static void fast_retransmit_on_third_dupack_not_before(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 10); /* segment 1 is lost */
    dupack(&f);
    fix_expect_none(&f);
    dupack(&f);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.retransmits, 0);
    dupack(&f);
    expect_segk(&f, 1);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.fast_retransmits, 1);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.counters.dup_acks, 3);
    assert_int_equal(info.phase, SYNACK_PHASE_RECOVERY);
    fix_free(&f);
}

/* RFC 3042 §2: the first and the second duplicate ACK each send one new segment, cwnd
 * unchanged. */
static void limited_transmit_one_new_segment_per_dupack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 14);
    uint32_t cwnd = fix_info(&f).cwnd;
    dupack(&f);
    expect_segk(&f, 11);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).cwnd, cwnd);
    dupack(&f);
    expect_segk(&f, 12);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).cwnd, cwnd);
    assert_int_equal(fix_info(&f).counters.retransmits, 0);
    fix_free(&f);
}

/* RFC 5681 §3.2 step 2: "When [RFC3042] is in use, additional data sent in limited
 * transmit MUST NOT be included in this calculation" of ssthresh = FlightSize / 2:
 * 10 segments + 2 limited-transmit ones -> ssthresh = 10 * MSS / 2. */
static void limited_transmit_not_counted_in_ssthresh(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 12);
    dupack(&f);
    expect_segk(&f, 11);
    dupack(&f);
    expect_segk(&f, 12);
    dupack(&f);
    assert_int_equal(fix_info(&f).counters.recoveries, 1);
    assert_int_equal(fix_info(&f).ssthresh, 5 * MSS);
    fix_free(&f);
}

/* ---- RFC 6582 NewReno (no SACK) ----------------------------------------------------------- */

/* 10 segments out; 1 and 4 are lost: the peer's 8 duplicate ACKs (for 2, 3, 5..10) start
 * fast recovery and segment 1 goes again. */
static void newreno_two_holes(struct fix *f)
{
    flight_of(f, SYNACK_MS(100), 10);
    struct wire_tcp_repr seg;
    unsigned sent = 0;
    for (unsigned i = 0; i < 8; i++) {
        dupack(f);
        while (fix_recv(f, &seg)) {
            assert_int_equal(seg.seq, seg_seq(f, 1));
            assert_int_equal(seg.payload_len, MSS);
            sent++;
        }
    }
    assert_int_equal(sent, 1);
    assert_int_equal(fix_info(f).phase, SYNACK_PHASE_RECOVERY);
}

/* RFC 6582 §3.2 step 3, partial acknowledgment: an ACK that covers the retransmitted
 * segment but not `recover` retransmits the first unacknowledged segment at once, and
 * recovery continues. */
static void newreno_partial_ack_retransmits_next_hole(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    newreno_two_holes(&f);
    fix_peer_ack(&f, seg_seq(&f, 4)); /* segment 1 arrived; 4 is still missing */
    expect_segk(&f, 4);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.phase, SYNACK_PHASE_RECOVERY);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.counters.retransmits, 2);
    fix_free(&f);
}

/* RFC 6582 §3.2 step 3, full acknowledgment: the ACK of everything up to `recover` ends
 * fast recovery and sets cwnd = ssthresh (option 2; option 1 would be smaller still);
 * RFC 5681 §3.2 step 6 calls this deflating the window. The application keeps the sender
 * busy (more data queued once recovery started), so cwnd, not the application, limits it:
 * the ACK that ends recovery must not also grow cwnd past ssthresh. */
static void newreno_full_ack_exits_with_cwnd_ssthresh(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    newreno_two_holes(&f);
    uint32_t recover = seg_seq(&f, 11); /* HighData when recovery started */
    fix_queue(&f, 20 * MSS);
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg))
        assert_true(seq_geq(seg.seq, recover)); /* new data only, as cwnd allows */
    fix_peer_ack(&f, seg_seq(&f, 4));
    expect_segk(&f, 4);
    while (fix_recv(&f, &seg))
        assert_true(seq_geq(seg.seq, recover));
    fix_peer_ack(&f, recover);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.ssthresh, 5 * MSS); /* FlightSize 10 segments / 2 */
    assert_int_equal(info.cwnd, info.ssthresh);
    assert_int_equal(info.phase, SYNACK_PHASE_CONG_AVOID);
    fix_free(&f);
}

/* RFC 6582 §3.2 step 1 and §4.1: after a timeout, recover = HighData; three duplicate ACKs
 * whose cumulative ACK does not cover more than `recover` (they come from the go-back-N
 * retransmissions) must not start fast retransmit nor reduce ssthresh again. */
static void newreno_recover_guard_no_second_reduction(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 10);
    fix_run_next_timer(&f); /* the RTO: segment 1 again */
    expect_segk(&f, 1);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).ssthresh, 5 * MSS);
    fix_peer_ack(&f, seg_seq(&f, 2)); /* cwnd 2 segments: 2 and 3 go again */
    expect_segs(&f, 2, 3);
    fix_expect_none(&f);
    /* Segment 2 was lost again; the peer had 3 already, and then 4, 5 as cwnd allows. */
    struct wire_tcp_repr seg;
    for (unsigned i = 0; i < 3; i++) {
        fix_peer_ack(&f, seg_seq(&f, 2));
        while (fix_recv(&f, &seg))
            if (seg.seq == seg_seq(&f, 2)) fail_msg("segment 2 fast-retransmitted");
    }
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 0);
    assert_int_equal(info.counters.fast_retransmits, 0);
    assert_int_equal(info.ssthresh, 5 * MSS);
    assert_int_equal(info.phase, SYNACK_PHASE_LOSS);
    fix_free(&f);
}

/* ---- RFC 6675 SACK-based recovery ----------------------------------------------------------- */

/* RFC 6675 §4 SetPipe: SACKed bytes do not count, bytes deemed lost (IsLost) do not count
 * unless retransmitted, and each retransmitted byte counts once more. 10 segments; the peer
 * SACKs 3..5: IsLost(1) and IsLost(2) (3 SACKed segments above each). Before the
 * retransmissions pipe = segments 6..10 = 5 MSS; after 1 and 2 go again, 7 MSS. */
static void sack_pipe_per_rfc6675(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_rack);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 10);
    /* One SACKed segment: pipe = 9 segments, nothing lost. */
    sack_segs(&f, 3, 3);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pipe, 9 * MSS);
    assert_int_equal(info.sacked_segs, 1);
    assert_int_equal(info.lost_segs, 0);
    /* Three SACKed: 1 and 2 are lost. */
    sack_segs(&f, 3, 5);
    info = fix_info(&f);
    assert_int_equal(info.sacked_segs, 3);
    assert_int_equal(info.lost_segs, 2);
    assert_int_equal(info.pipe, 5 * MSS);
    /* cwnd = 0.7 * 10 MSS = 7 MSS leaves room for both retransmissions. */
    expect_segk(&f, 1);
    expect_segk(&f, 2);
    fix_expect_none(&f);
    info = fix_info(&f);
    assert_int_equal(info.retrans_segs, 2);
    assert_int_equal(info.lost_segs, 0);
    assert_int_equal(info.pipe, 7 * MSS);
    fix_free(&f);
}

/* RFC 6675 §4 IsLost(SeqNum): a segment is lost once DupThresh (3) segments above it are
 * SACKed (or more than 2 * SMSS bytes); with 1 or 2 it is not. */
static void sack_hole_with_three_sacked_above_is_retransmitted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_rack);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 10);
    sack_segs(&f, 2, 2);
    fix_expect_none(&f);
    sack_segs(&f, 2, 3);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.retransmits, 0);
    sack_segs(&f, 2, 4);
    expect_segk(&f, 1);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.fast_retransmits, 1);
    fix_free(&f);
}

/* CUBIC's state (struct tcp_cubic) comes with the first congestion signal, when the
 * connection leaves slow start (RFC 9438 §4.6), counted in conn_storage, and stays with the
 * connection; a connection in slow start has none. Without it (the allocator refused it)
 * the reduction is still §4.6's (cwnd = ssthresh = 0.7 cwnd), the repair goes out, and the
 * window grows as Reno's (§4.3) until the state can be had: the next ACK in congestion
 * avoidance tries again. */
static struct test_mem cubic_mem;
static bool cubic_refused;

static void *cubic_refusing_alloc(void *ctx, size_t size)
{
    if (cubic_refused && size == sizeof(struct tcp_cubic)) return NULL;
    return test_mem_alloc(ctx, size);
}

static void cubic_counted(struct synack_config *cfg)
{
    memset(&cubic_mem, 0, sizeof cubic_mem);
    cfg->rack = false;
    cfg->cc = SYNACK_CC_CUBIC;
    cfg->alloc = cubic_refusing_alloc;
    cfg->free = test_mem_free;
    cfg->alloc_ctx = &cubic_mem;
}

static size_t conn_storage(struct fix *f)
{
    struct synack_stack_stats st;
    synack_stack_stats(f->s, &st);
    return st.conn_storage;
}

static void cubic_state_trial(bool refused)
{
    struct fix f;
    cubic_refused = refused;
    fix_init(&f, cubic_counted);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 20);
    assert_null(f.c->cc.cubic); /* slow start */
    assert_null(f.c->rare);
    size_t before = conn_storage(&f);
    sack_segs(&f, 2, 4); /* IsLost(1): fast recovery */
    expect_segk(&f, 1);
    assert_int_equal(fix_info(&f).ssthresh, 7 * MSS);
    assert_int_equal(fix_info(&f).cwnd, 7 * MSS);
    before += f.c->rare ? sizeof(struct tcp_rare) : 0; /* SACK blocks are counted there */
    if (refused) {
        assert_null(f.c->cc.cubic);
        assert_int_equal(conn_storage(&f), before);
    } else {
        assert_non_null(f.c->cc.cubic);
        assert_int_equal(conn_storage(&f), before + sizeof(struct tcp_cubic));
    }
    /* Everything acknowledged: the flight block goes, the controller's state stays. */
    cubic_refused = false;
    fix_peer_ack(&f, seg_seq(&f, 11));
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg))
        ;
    fix_peer_ack(&f, f.c->snd_nxt);
    assert_null(f.c->fl);
    assert_non_null(f.c->cc.cubic); /* refused before: the ACK in avoidance brought it */
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
    assert_int_equal(cubic_mem.live, 0);
}

static void cubic_state_comes_with_the_first_congestion_signal(void **state)
{
    (void)state;
    cubic_state_trial(false);
}

static void cubic_state_refused_keeps_reno_friendly_window(void **state)
{
    (void)state;
    cubic_state_trial(true);
}

/* RFC 6675 §5 NextSeg: only the holes go again; SACKed data is never retransmitted. The
 * peer holds 2-3 and 5-10: segments 1 and 4 are retransmitted, nothing else. */
static void sack_only_holes_retransmitted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_rack);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 10);
    uint32_t blocks[4] = {seg_seq(&f, 5), seg_seq(&f, 11), seg_seq(&f, 2), seg_seq(&f, 4)};
    fix_send_sack(&f, seg_seq(&f, 1), blocks, 2);
    expect_segk(&f, 1);
    expect_segk(&f, 4);
    fix_expect_none(&f);
    /* The rest of recovery sends nothing the peer holds either. */
    fix_peer_ack(&f, seg_seq(&f, 4));
    fix_expect_none(&f);
    fix_peer_ack(&f, seg_seq(&f, 11));
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.retransmits, 2);
    assert_int_equal(info.phase, SYNACK_PHASE_CONG_AVOID);
    fix_free(&f);
}

/* RFC 2883 §4: a first SACK block that lies below the cumulative ACK, or inside the second
 * block, reports a duplicate (D-SACK): counted in dsacks_in, and it marks nothing SACKed.
 * An ordinary SACK block is not a D-SACK. */
static void dsack_received_is_counted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 3);
    uint32_t plain[2] = {seg_seq(&f, 3), seg_seq(&f, 4)};
    fix_send_sack(&f, seg_seq(&f, 1), plain, 1);
    assert_int_equal(fix_info(&f).counters.dsacks_in, 0);
    assert_int_equal(fix_info(&f).sacked_segs, 1);
    /* Segment 1 arrives twice: ACK of 1, D-SACK of 1 below it, then the SACK of 3. */
    uint32_t below[4] = {seg_seq(&f, 1), seg_seq(&f, 2), seg_seq(&f, 3), seg_seq(&f, 4)};
    fix_send_sack(&f, seg_seq(&f, 2), below, 2);
    assert_int_equal(fix_info(&f).counters.dsacks_in, 1);
    /* Part of 3 arrives twice: the D-SACK lies inside the second block. */
    uint32_t inside[4] = {seg_seq(&f, 3), seg_seq(&f, 3) + 500, seg_seq(&f, 3), seg_seq(&f, 4)};
    fix_send_sack(&f, seg_seq(&f, 2), inside, 2);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.dsacks_in, 2);
    assert_int_equal(info.counters.sack_blocks_in, 5);
    assert_int_equal(info.sacked_segs, 1);
    fix_free(&f);
}

/* ---- reductions and phases ------------------------------------------------------------------ */

/* RFC 5681 §3.1 equation (4), RFC 6582 §3.2 step 2: NewReno's ssthresh on entering fast
 * recovery is max(FlightSize / 2, 2 * SMSS): 8 segments in flight (cwnd is 10) give 4. */
static void ssthresh_newreno_is_half_the_flight(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 8);
    assert_int_equal(fix_info(&f).cwnd, 10 * MSS);
    for (unsigned i = 0; i < 3; i++)
        dupack(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.ssthresh, 4 * MSS);
    fix_free(&f);
}

/* RFC 9438 §4.6: CUBIC's ssthresh on a congestion event is beta_cubic (0.7) times the
 * window: 10 segments in flight with cwnd 10 segments give 7. */
static void ssthresh_cubic_is_0_7_cwnd(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    flight_of(&f, SYNACK_MS(100), 10);
    assert_int_equal(fix_info(&f).cc, SYNACK_CC_CUBIC);
    for (unsigned i = 0; i < 3; i++)
        dupack(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.ssthresh, 7 * MSS);
    fix_free(&f);
}

/* SYNACK_EV_CC reports each phase change: slow start -> recovery on the loss (with the new
 * ssthresh), recovery -> congestion avoidance when the ACK of everything ends it. */
static void cc_events_slow_start_recovery_congestion_avoidance(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    flight_of(&f, SYNACK_MS(100), 10);
    struct synack_event ev[8];
    assert_int_equal(cc_events(&f, ev, 8), 0);
    assert_int_equal(fix_info(&f).phase, SYNACK_PHASE_SLOW_START);
    f.now += SYNACK_MS(100);
    sack_segs(&f, 2, 4);
    expect_segk(&f, 1);
    assert_int_equal(cc_events(&f, ev, 8), 1);
    assert_int_equal(ev[0].old_phase, SYNACK_PHASE_SLOW_START);
    assert_int_equal(ev[0].new_phase, SYNACK_PHASE_RECOVERY);
    assert_int_equal(ev[0].ssthresh, 7 * MSS);
    assert_true(ev[0].conn_id == synack_tcp_id(f.c));
    fix_peer_ack(&f, seg_seq(&f, 11));
    assert_int_equal(cc_events(&f, ev, 8), 2);
    assert_int_equal(ev[1].old_phase, SYNACK_PHASE_RECOVERY);
    assert_int_equal(ev[1].new_phase, SYNACK_PHASE_CONG_AVOID);
    assert_int_equal(ev[1].ssthresh, 7 * MSS);
    assert_int_equal(fix_info(&f).phase, SYNACK_PHASE_CONG_AVOID);
    fix_free(&f);
}

/* RFC 6298 (5.4)-(5.6) with RFC 5681 §3.1: on the RTO, ssthresh = FlightSize / 2, cwnd =
 * 1 SMSS (loss window), phase "loss", the earliest unacknowledged segment goes first, and
 * the timer backs off (doubles). A second timeout keeps ssthresh (RFC 5681 §3.1 eq. (4)
 * note). The next ACK lets slow start resend the following segments in order. */
static void rto_loss_window_earliest_first_and_backoff(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, newreno);
    flight_of(&f, SYNACK_MS(100), 10);
    synack_time_t rto = fix_info(&f).rto;
    assert_true(rto == SYNACK_MS(300));
    fix_expect_deadline(&f, f.now + rto);
    fix_run_next_timer(&f);
    expect_segk(&f, 1);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.cwnd, MSS);
    assert_int_equal(info.ssthresh, 5 * MSS);
    assert_int_equal(info.phase, SYNACK_PHASE_LOSS);
    assert_int_equal(info.backoff, 1);
    assert_int_equal(info.counters.rto_expiries, 1);
    struct synack_event ev[8];
    assert_int_equal(cc_events(&f, ev, 8), 1);
    assert_int_equal(ev[0].old_phase, SYNACK_PHASE_SLOW_START);
    assert_int_equal(ev[0].new_phase, SYNACK_PHASE_LOSS);
    fix_expect_deadline(&f, f.now + 2 * rto);
    fix_run_next_timer(&f);
    expect_segk(&f, 1);
    fix_expect_none(&f);
    info = fix_info(&f);
    assert_int_equal(info.cwnd, MSS);
    assert_int_equal(info.ssthresh, 5 * MSS);
    assert_int_equal(info.backoff, 2);
    fix_expect_deadline(&f, f.now + 4 * rto);
    /* Segment 1 arrives: cwnd 2 (RFC 3465 §2.3: L = 1 after an RTO); 2 and 3 go next. */
    fix_peer_ack(&f, seg_seq(&f, 2));
    expect_segs(&f, 2, 3);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 6298 §3 (Karn): without timestamps, the ACK of a retransmitted segment gives no RTT
 * sample: SRTT and RTTVAR stay as they were (a sample of either 310 ms or 10 ms would move
 * them). */
static void karn_no_rtt_sample_from_retransmitted_segment(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    established_after_rtt(&f, SYNACK_MS(100));
    struct synack_tcp_info before = fix_info(&f);
    assert_false(before.timestamps);
    assert_true(before.srtt == SYNACK_MS(100));
    fix_queue(&f, MSS);
    expect_segk(&f, 1);
    fix_run_next_timer(&f); /* +300 ms */
    expect_segk(&f, 1);
    f.now += SYNACK_MS(10);
    fix_peer_ack(&f, seg_seq(&f, 2));
    struct synack_tcp_info after = fix_info(&f);
    assert_int_equal(after.snd_una, seg_seq(&f, 2));
    assert_true(after.srtt == before.srtt);
    assert_true(after.rttvar == before.rttvar);
    fix_free(&f);
}

/* ---- RACK-TLP (RFC 8985) ------------------------------------------------------------------- */

/* RFC 8985 §6.2: a segment sent before a SACKed one is lost once RACK.rtt + RACK.reo_wnd
 * has passed since it was sent (step 5), with reo_wnd = min_RTT / 4 (step 4). Segments 1
 * and 2 leave at t0; the SACK of 2 at t0 + 100 ms gives RACK.rtt = min_RTT = 100 ms,
 * reo_wnd = 25 ms: the reordering timer fires at t0 + 125 ms and 1 goes again. One SACKed
 * segment is below DupThresh: only RACK can find this loss. */
static void rack_marks_lost_after_rtt_plus_reo_wnd(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    synack_time_t t0 = f.now;
    fix_queue(&f, 2 * MSS);
    expect_segs(&f, 1, 2);
    f.now += SYNACK_MS(100);
    sack_segs(&f, 2, 2);
    fix_expect_none(&f);
    fix_expect_deadline(&f, t0 + SYNACK_MS(125));
    fix_advance(&f, SYNACK_MS(25) - 1);
    fix_expect_none(&f);
    fix_advance(&f, 1);
    expect_segk(&f, 1);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.rack_losses, 1);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.counters.rto_expiries, 0);
    fix_free(&f);
}

/* RFC 8985 §7.2-§7.3: with SACK and several segments in flight, PTO = 2 * SRTT; when it
 * expires with no new data to send, the last segment goes again as the probe, before any
 * RTO (1 s here). */
static void tlp_probe_at_two_srtt(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rto_min_1s);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    synack_time_t t0 = f.now;
    fix_queue(&f, 2 * MSS);
    expect_segs(&f, 1, 2);
    fix_expect_deadline(&f, t0 + SYNACK_MS(200));
    fix_advance(&f, SYNACK_MS(200) - 1);
    fix_expect_none(&f);
    fix_advance(&f, 1);
    expect_segk(&f, 2);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.tlp_probes, 1);
    assert_int_equal(info.counters.rto_expiries, 0);
    assert_int_equal(info.cwnd, 10 * MSS); /* a probe is not a congestion signal */
    fix_free(&f);
}

/* RFC 8985 §7.2: with one segment in flight the PTO adds the worst-case delayed-ACK time
 * WCDelAckT = 200 ms: 2 * 100 ms + 200 ms. */
static void tlp_probe_one_segment_adds_worst_case_delack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rto_min_1s);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    synack_time_t t0 = f.now;
    fix_queue(&f, 100);
    expect_seg(&f, seg_seq(&f, 1), 100);
    fix_expect_deadline(&f, t0 + SYNACK_MS(400));
    fix_run_next_timer(&f);
    expect_seg(&f, seg_seq(&f, 1), 100);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.tlp_probes, 1);
    assert_int_equal(info.counters.rto_expiries, 0);
    fix_free(&f);
}

/* RFC 8985 §7.2: "if the time at which an RTO would fire is sooner than the computed time
 * for the PTO, then the sender schedules a TLP to be sent at that RTO time". RTO 300 ms,
 * PTO 400 ms: at 300 ms a probe goes, not an RTO (cwnd stays). */
static void tlp_probe_capped_at_rto_time(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    established_after_rtt(&f, SYNACK_MS(100));
    assert_true(fix_info(&f).rto == SYNACK_MS(300));
    synack_time_t t0 = f.now;
    fix_queue(&f, 100);
    expect_seg(&f, seg_seq(&f, 1), 100);
    fix_expect_deadline(&f, t0 + SYNACK_MS(300));
    fix_run_next_timer(&f);
    expect_seg(&f, seg_seq(&f, 1), 100);
    fix_expect_none(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.tlp_probes, 1);
    assert_int_equal(info.counters.rto_expiries, 0);
    assert_int_equal(info.cwnd, 10 * MSS);
    assert_int_not_equal(info.phase, SYNACK_PHASE_LOSS);
    fix_free(&f);
}

/* ---- per-connection controller --------------------------------------------------------------- */

/* synack_tcp_set_cc switches one connection's controller: info.cc says so, and the next
 * reduction is the new controller's (NewReno: FlightSize / 2 = 4 segments of 8 in flight;
 * CUBIC would give 0.7 * cwnd = 7). Out-of-range values are INVAL. */
static void set_cc_switches_the_connections_controller(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    flight_of(&f, SYNACK_MS(100), 8);
    assert_int_equal(fix_info(&f).cc, SYNACK_CC_CUBIC);
    assert_int_equal(synack_tcp_set_cc(f.c, SYNACK_CC_COUNT), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_cc(f.c, SYNACK_CC_NEWRENO), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.cc, SYNACK_CC_NEWRENO);
    assert_int_equal(info.cwnd, 10 * MSS); /* the window carries over */
    for (unsigned i = 0; i < 3; i++)
        dupack(&f);
    info = fix_info(&f);
    assert_int_equal(info.counters.recoveries, 1);
    assert_int_equal(info.ssthresh, 4 * MSS);
    fix_free(&f);
}

/* ---- regressions found by review: each failed before its fix ---------------------- */

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
    cmocka_unit_test(fast_retransmit_on_third_dupack_not_before),
    cmocka_unit_test(limited_transmit_one_new_segment_per_dupack),
    cmocka_unit_test(limited_transmit_not_counted_in_ssthresh),
    cmocka_unit_test(newreno_partial_ack_retransmits_next_hole),
    cmocka_unit_test(newreno_full_ack_exits_with_cwnd_ssthresh),
    cmocka_unit_test(newreno_recover_guard_no_second_reduction),
    cmocka_unit_test(sack_pipe_per_rfc6675),
    cmocka_unit_test(cubic_state_comes_with_the_first_congestion_signal),
    cmocka_unit_test(cubic_state_refused_keeps_reno_friendly_window),
    cmocka_unit_test(sack_hole_with_three_sacked_above_is_retransmitted),
    cmocka_unit_test(sack_only_holes_retransmitted),
    cmocka_unit_test(dsack_received_is_counted),
    cmocka_unit_test(ssthresh_newreno_is_half_the_flight),
    cmocka_unit_test(ssthresh_cubic_is_0_7_cwnd),
    cmocka_unit_test(cc_events_slow_start_recovery_congestion_avoidance),
    cmocka_unit_test(rto_loss_window_earliest_first_and_backoff),
    cmocka_unit_test(karn_no_rtt_sample_from_retransmitted_segment),
    cmocka_unit_test(rack_marks_lost_after_rtt_plus_reo_wnd),
    cmocka_unit_test(tlp_probe_at_two_srtt),
    cmocka_unit_test(tlp_probe_one_segment_adds_worst_case_delack),
    cmocka_unit_test(tlp_probe_capped_at_rto_time),
    cmocka_unit_test(set_cc_switches_the_connections_controller),
    cmocka_unit_test(newreno_fast_retransmit_right_after_full_ack_rfc6582_3_2),
    cmocka_unit_test(left_edge_resent_after_rto_even_if_sacked_rfc2018_8),
    cmocka_unit_test(tlp_acked_at_its_end_with_dsack_keeps_cwnd_rfc8985_7_4),
    cmocka_unit_test(never_send_past_the_offered_right_edge_rfc9293_3_10_7_4),
    cmocka_unit_test(rack_no_reordering_from_isn_in_upper_half_rfc8985_6_2),
    cmocka_unit_test(small_mtu_packets_fit_with_timestamps_rfc9293_3_7_1),
};

SYNACK_TEST_MAIN("recovery", tests)
