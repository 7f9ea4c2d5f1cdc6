/* The receiver at segment level: out-of-order reassembly and SACK blocks (RFC 2018 §4),
 * D-SACK (RFC 2883 §4), delayed ACKs (RFC 5681 §4.2, RFC 1122 §4.2.3.2), the window's
 * right edge (RFC 9293 §3.8.6.2.2), receiver SWS avoidance (RFC 1122 §4.2.3.3), a FIN that
 * comes early, and the receive buffer's limit. The scripted peer sends bytes of one
 * stream, byte i being stream_byte(i), at offsets from its first data sequence number
 * (`base`), and every byte read back is checked. */
#include "tcpfix.h"

#include <string.h>

#include "base/rand.h"
#include "base/seq.h"

#define SEG_MAX 1460

static uint8_t stream_byte(uint32_t i)
{
    return (uint8_t)(i * 7u + (i >> 9) + 1u);
}

/* ---- configurations ------------------------------------------------------------------- */

static void delack_40ms(struct synack_config *cfg)
{
    cfg->delack_timeout = SYNACK_MS(40);
}

static void rcvbuf_4096(struct synack_config *cfg)
{
    cfg->rcvbuf = 4096;
    cfg->rcvbuf_max = 0; /* fixed */
}

static void rcvbuf_8192(struct synack_config *cfg)
{
    cfg->rcvbuf = 8192;
    cfg->rcvbuf_max = 0; /* fixed */
}

static void rcvbuf_100000(struct synack_config *cfg)
{
    cfg->rcvbuf = 100000; /* shift 1 */
    cfg->rcvbuf_max = 0;  /* fixed */
}

static void rcvbuf_200000(struct synack_config *cfg)
{
    cfg->rcvbuf = 200000; /* shift 2 */
    cfg->rcvbuf_max = 0;  /* fixed */
}

/* ---- helpers -------------------------------------------------------------------------- */

/* Established by an active open with the options set in f; returns the peer's first data
 * sequence number. */
static uint32_t established(struct fix *f)
{
    fix_established_active(f);
    return f->peer_nxt;
}

/* The peer sends stream bytes [off, off + len) with `flags` (ACK always added). */
static void send_flags(struct fix *f, uint32_t base, uint32_t off, uint32_t len, uint8_t flags)
{
    uint8_t buf[SEG_MAX];
    assert_true(len <= sizeof buf);
    for (uint32_t i = 0; i < len; i++)
        buf[i] = stream_byte(off + i);
    fix_send(f, (uint8_t)(WIRE_TCP_ACK | flags), base + off, f->peer_ack, buf, len);
}

static void send_at(struct fix *f, uint32_t base, uint32_t off, uint32_t len)
{
    send_flags(f, base, off, len, 0);
}

/* The next segment is a bare ACK of base + ack_off carrying exactly the SACK blocks
 * `blocks` (pairs of offsets from base, in order). */
static void expect_ack_sack(struct fix *f, uint32_t base, uint32_t ack_off, const uint32_t *blocks,
                            unsigned n)
{
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("expected an ACK of +%u, got nothing", ack_off);
    assert_int_equal(seg.flags, WIRE_TCP_ACK);
    assert_int_equal(seg.seq, f->peer_ack);
    assert_int_equal(seg.payload_len, 0);
    if (seg.ack != base + ack_off)
        fail_msg("ACK of +%d, expected +%u", (int)(seg.ack - base), ack_off);
    if (seg.sack_count != n) {
        fail_msg("%u SACK blocks (first +%d..+%d), expected %u", seg.sack_count,
                 seg.sack_count ? (int)(seg.sack[0].left - base) : 0,
                 seg.sack_count ? (int)(seg.sack[0].right - base) : 0, n);
    }
    for (unsigned i = 0; i < n; i++) {
        if (seg.sack[i].left != base + blocks[2 * i] ||
            seg.sack[i].right != base + blocks[2 * i + 1])
            fail_msg("SACK block %u is +%d..+%d, expected +%u..+%u", i,
                     (int)(seg.sack[i].left - base), (int)(seg.sack[i].right - base), blocks[2 * i],
                     blocks[2 * i + 1]);
    }
}

static void expect_ack(struct fix *f, uint32_t base, uint32_t ack_off)
{
    expect_ack_sack(f, base, ack_off, NULL, 0);
}

/* Reads exactly `len` bytes and checks they are stream bytes [off, off + len). */
static void read_expect(struct fix *f, uint32_t off, size_t len)
{
    uint8_t buf[4096];
    while (len) {
        size_t want = len < sizeof buf ? len : sizeof buf;
        synack_ssize n = synack_tcp_recv(f->c, buf, want, f->now);
        if (n <= 0) fail_msg("recv returned %td with %zu bytes still expected", n, len);
        for (synack_ssize i = 0; i < n; i++) {
            if (buf[i] != stream_byte(off + (uint32_t)i))
                fail_msg("byte %u read as 0x%02x, sent as 0x%02x", off + (uint32_t)i, buf[i],
                         stream_byte(off + (uint32_t)i));
        }
        off += (uint32_t)n;
        len -= (size_t)n;
    }
}

static void expect_nothing_to_read(struct fix *f)
{
    uint8_t buf[16];
    assert_int_equal(synack_tcp_recv(f->c, buf, sizeof buf, f->now), SYNACK_ERR_AGAIN);
}

static void expect_deadline(struct fix *f, synack_time_t at)
{
    synack_time_t got = synack_stack_next_deadline(f->s);
    if (got != at) {
        if (got == SYNACK_NEVER)
            fail_msg("no deadline, expected one %llu ns after now",
                     (unsigned long long)(at - f->now));
        fail_msg("deadline %lld ns after now, expected %lld", (long long)(got - f->now),
                 (long long)(at - f->now));
    }
}

/* ---- out-of-order data and SACK (RFC 5681 §4.2, RFC 2018 §4) ------------------------ */

/* RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an
 * out-of-order segment arrives"; RFC 2018 §4: with SACK its first block reports that
 * segment. RFC 9293 §3.10.7.4: the segment is kept, not readable yet. */
/* Zero copy: recv_borrow lends the bytes ready to read in place; recv_commit consumes them
 * as recv() would, and the window opens as it would. */
static void recv_borrow_lends_the_bytes_and_commit_consumes_them(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_4096);
    uint32_t base = established(&f);
    struct synack_piece p[2];
    assert_int_equal(synack_tcp_recv_borrow(f.c, p), SYNACK_ERR_AGAIN);
    send_at(&f, base, 0, 1000);
    send_at(&f, base, 1000, 1000);
    assert_int_equal(synack_tcp_recv_borrow(f.c, p), 2000);
    assert_int_equal(p[0].len, 2000);
    for (uint32_t i = 0; i < 2000; i++)
        if (p[0].data[i] != stream_byte(i)) fail_msg("lent byte %u is not the stream's", i);
    assert_int_equal(synack_tcp_recv_commit(f.c, 2001, f.now), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_recv_commit(f.c, 1500, f.now), 0);
    assert_int_equal(fix_info(&f).recv_queued, 500);
    /* What is left reads as it would; one byte stays unread, so the buffer keeps its
     * storage (a drained one is given back, and its next bytes start at its beginning). */
    read_expect(&f, 1500, 499);
    /* Across the storage's end: 4096 bytes of buffer, the next 3000 after byte 1999 wrap
     * after 4096 - 1999. */
    send_at(&f, base, 2000, 1000);
    send_at(&f, base, 3000, 1000);
    send_at(&f, base, 4000, 1000);
    assert_int_equal(synack_tcp_recv_borrow(f.c, p), 3001);
    assert_int_equal(p[0].len, 4096 - 1999);
    assert_int_equal(p[1].len, 3001 - (4096 - 1999));
    assert_int_equal(p[0].data[0], stream_byte(1999));
    assert_int_equal(p[1].data[0], stream_byte(4096));
    assert_int_equal(synack_tcp_recv_commit(f.c, 3001, f.now), 0);
    /* The peer's FIN, every byte consumed: end of stream. */
    send_flags(&f, base, 5000, 0, WIRE_TCP_FIN);
    assert_int_equal(synack_tcp_recv_borrow(f.c, p), 0);
    fix_free(&f);
}

/* A reader that consumes a full buffer with recv_commit reopens the window as one that
 * recv()s it (RFC 1122 §4.2.3.3: a window update once it has opened by enough). */
static void recv_commit_of_a_full_buffer_sends_a_window_update(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_4096);
    uint32_t base = established(&f);
    for (uint32_t off = 0; off < 4096; off += 1024)
        send_at(&f, base, off, 1024);
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg)) {
    }
    assert_int_equal(seg.window, 0); /* full: the last ACK closed the window */
    struct synack_piece p[2];
    assert_int_equal(synack_tcp_recv_borrow(f.c, p), 4096);
    assert_int_equal(synack_tcp_recv_commit(f.c, 4096, f.now), 0);
    if (!fix_recv(&f, &seg)) fail_msg("no window update after the buffer was consumed");
    assert_int_equal(seg.ack, base + 4096);
    assert_true(seg.window > 0);
    fix_free(&f);
}

static void ooo_segment_kept_with_dupack_and_sack_block_rfc5681_4_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    uint32_t base = established(&f);
    send_at(&f, base, 1000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 2000}, 1);
    fix_expect_none(&f);
    expect_nothing_to_read(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.rcv_nxt, base);
    assert_int_equal(info.ooo_blocks, 1);
    assert_int_equal(info.counters.out_of_order, 1);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_RCV_BUFFER), 0);
    assert_false(fix_saw_event(&f, SYNACK_EV_READABLE, 0));
    fix_free(&f);
}

/* RFC 5681 §4.2: "an immediate ACK ... when the incoming segment fills in all or part of a
 * gap", even with delayed ACKs on and less than two full segments' worth newly in order;
 * the bytes held out of order become readable, in order, and the ACK covers them. */
static void hole_fill_delivers_in_order_and_acks_at_once_rfc5681_4_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    f.peer_sack = true;
    uint32_t base = established(&f);
    send_at(&f, base, 100, SEG_MAX); /* [100, 1560): a full-sized segment */
    expect_ack_sack(&f, base, 0, (const uint32_t[]){100, 1560}, 1);
    send_at(&f, base, 1660, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1660, 1760, 100, 1560}, 2);
    /* Part of the gap: [0, 100) joins [100, 1560); [1660, 1760) is still held. */
    send_at(&f, base, 0, 100);
    expect_ack_sack(&f, base, 1560, (const uint32_t[]){1660, 1760}, 1);
    assert_true(fix_saw_event(&f, SYNACK_EV_READABLE, 0));
    /* The rest of it: everything, at once, no SACK left to report. */
    send_at(&f, base, 1560, 100);
    expect_ack(&f, base, 1760);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).recv_queued, 1760);
    read_expect(&f, 0, 1760);
    expect_nothing_to_read(&f);
    assert_int_equal(fix_info(&f).ooo_blocks, 0);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

/* RFC 2018 §4: a segment that bridges two held blocks makes one block of them (reported
 * first); when the hole below fills, RCV.NXT moves past all of it at once. */
static void segment_bridging_blocks_merges_them_rfc2018_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    uint32_t base = established(&f);
    send_at(&f, base, 1000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 2000}, 1);
    send_at(&f, base, 3000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){3000, 4000, 1000, 2000}, 2);
    send_at(&f, base, 1900, 1200); /* overlaps both */
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 4000}, 1);
    assert_int_equal(fix_info(&f).ooo_blocks, 1);
    send_at(&f, base, 0, 1000);
    expect_ack(&f, base, 4000);
    read_expect(&f, 0, 4000);
    fix_free(&f);
}

/* RFC 2018 §4: the first block holds the segment that triggered the ACK; the others
 * repeat the most recently reported blocks, newest first; 4 blocks fit in 40 option bytes
 * without timestamps. A segment that extends a block makes that block the first. */
static void sack_blocks_latest_first_then_by_recency_max_4_rfc2018_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    uint32_t base = established(&f);
    /* A = 1000, B = 2000, C = 3000, D = 4000, E = 5000 (100 bytes each), sent A C B E D. */
    send_at(&f, base, 1000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 1100}, 1);
    send_at(&f, base, 3000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){3000, 3100, 1000, 1100}, 2);
    send_at(&f, base, 2000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){2000, 2100, 3000, 3100, 1000, 1100}, 3);
    send_at(&f, base, 5000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){5000, 5100, 2000, 2100, 3000, 3100, 1000, 1100},
                    4);
    send_at(&f, base, 4000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){4000, 4100, 5000, 5100, 2000, 2100, 3000, 3100},
                    4);
    /* A grows: its block, now [1000, 1200), is the newest. */
    send_at(&f, base, 1100, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 1200, 4000, 4100, 5000, 5100, 2000, 2100},
                    4);
    fix_free(&f);
}

/* RFC 2018 §4 / RFC 7323: with the 12 bytes of timestamps, only 3 blocks fit. */
static void sack_at_most_3_blocks_with_timestamps_rfc2018_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    f.peer_ts = true;
    uint32_t base = established(&f);
    send_at(&f, base, 1000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){1000, 1100}, 1);
    send_at(&f, base, 3000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){3000, 3100, 1000, 1100}, 2);
    send_at(&f, base, 2000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){2000, 2100, 3000, 3100, 1000, 1100}, 3);
    send_at(&f, base, 5000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){5000, 5100, 2000, 2100, 3000, 3100}, 3);
    send_at(&f, base, 4000, 100);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){4000, 4100, 5000, 5100, 2000, 2100}, 3);
    fix_free(&f);
}

/* ---- D-SACK (RFC 2883 §4) --------------------------------------------------------------- */

/* RFC 2883 §4 / §4.1.1: a duplicate segment below the cumulative ACK is reported in the
 * first SACK block of the ACK it triggers, once; SACK blocks for held data follow it. */
static void dsack_for_duplicate_below_rcv_nxt_rfc2883_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    uint32_t base = established(&f);
    send_at(&f, base, 0, 1000);
    expect_ack(&f, base, 1000);
    send_at(&f, base, 0, 1000); /* all of it again */
    expect_ack_sack(&f, base, 1000, (const uint32_t[]){0, 1000}, 1);
    assert_int_equal(fix_info(&f).counters.dsacks_out, 1);
    /* Reported once: the next ACK has no D-SACK. */
    send_at(&f, base, 1000, 500);
    expect_ack(&f, base, 1500);
    /* With data held above a hole, the D-SACK comes first, then the SACK block. */
    send_at(&f, base, 3000, 500);
    expect_ack_sack(&f, base, 1500, (const uint32_t[]){3000, 3500}, 1);
    f.now += SYNACK_MS(500); /* past the invalid-ACK limit of the first duplicate's answer */
    send_at(&f, base, 1000, 500);
    expect_ack_sack(&f, base, 1500, (const uint32_t[]){1000, 1500, 3000, 3500}, 2);
    assert_int_equal(fix_info(&f).counters.dsacks_out, 2);
    /* RFC 2883 §4.1.1: a segment partly below RCV.NXT: its old part is the D-SACK, its new
     * part is taken. */
    send_at(&f, base, 1000, 1000);
    expect_ack_sack(&f, base, 2000, (const uint32_t[]){1000, 1500, 3000, 3500}, 2);
    assert_int_equal(fix_info(&f).counters.dsacks_out, 3);
    read_expect(&f, 0, 2000);
    fix_free(&f);
}

/* RFC 2883 §4 / §4.2.1: a duplicate of data held out of order: the first block reports
 * the duplicate, the second the (larger) block that holds it. */
static void dsack_for_duplicate_inside_ooo_block_rfc2883_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_sack = true;
    uint32_t base = established(&f);
    send_at(&f, base, 2000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){2000, 3000}, 1);
    send_at(&f, base, 3000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){2000, 4000}, 1);
    send_at(&f, base, 6000, 500); /* a newer block, elsewhere */
    expect_ack_sack(&f, base, 0, (const uint32_t[]){6000, 6500, 2000, 4000}, 2);
    send_at(&f, base, 2000, 1000);
    expect_ack_sack(&f, base, 0, (const uint32_t[]){2000, 3000, 2000, 4000, 6000, 6500}, 3);
    assert_int_equal(fix_info(&f).counters.dsacks_out, 1);
    send_at(&f, base, 0, 1000);
    expect_ack_sack(&f, base, 1000, (const uint32_t[]){2000, 4000, 6000, 6500}, 2);
    send_at(&f, base, 1000, 1000);
    expect_ack_sack(&f, base, 4000, (const uint32_t[]){6000, 6500}, 1);
    read_expect(&f, 0, 4000);
    fix_free(&f);
}

/* ---- delayed ACK (RFC 5681 §4.2, RFC 1122 §4.2.3.2) ------------------------------------ */

/* One full-sized segment: no ACK at once; the delayed-ACK timer sends it exactly
 * delack_timeout (40 ms, under the 500 ms limit) later. */
static void delack_single_segment_acked_by_timer_at_40ms_rfc1122_4_2_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    fix_expect_none(&f);
    expect_deadline(&f, f.now + SYNACK_MS(40));
    fix_advance(&f, SYNACK_MS(40) - 1);
    fix_expect_none(&f);
    fix_advance(&f, 1);
    expect_ack(&f, base, SEG_MAX);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 1);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    read_expect(&f, 0, SEG_MAX);
    fix_free(&f);
}

/* RFC 5681 §4.2: "an ACK SHOULD be generated for at least every second full-sized
 * segment": the second one is acknowledged at once, and the timer is off. */
static void delack_second_full_segment_acked_at_once_rfc5681_4_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    fix_expect_none(&f);
    send_at(&f, base, SEG_MAX, SEG_MAX);
    expect_ack(&f, base, 2 * SEG_MAX);
    fix_expect_none(&f);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    /* And again for the next pair. */
    send_at(&f, base, 2 * SEG_MAX, SEG_MAX);
    fix_expect_none(&f);
    send_at(&f, base, 3 * SEG_MAX, SEG_MAX);
    expect_ack(&f, base, 4 * SEG_MAX);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 0);
    fix_free(&f);
}

static void delack_40ms_mtu_576(struct synack_config *cfg)
{
    cfg->delack_timeout = SYNACK_MS(40);
    cfg->mtu = 576; /* we offer an MSS of 536 */
}

/* A segment larger than the MSS we offered is several full-sized ones merged on the way
 * (the kernel's GRO over TUN hands up to 64 KiB at once): "full-sized" stays our MSS, so
 * one such segment of 1460 bytes (2.7 of them) is acknowledged at once (RFC 5681 §4.2),
 * and a full-sized segment after it is not held to the merged one's size. */
static void delack_merged_segment_counts_as_the_full_sized_ones_it_holds(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms_mtu_576);
    f.peer_mss = 1460;
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    expect_ack(&f, base, SEG_MAX);
    fix_expect_none(&f);
    send_at(&f, base, SEG_MAX, 536);
    fix_expect_none(&f);
    send_at(&f, base, SEG_MAX + 536, 536);
    expect_ack(&f, base, SEG_MAX + 2 * 536);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 0);
    fix_free(&f);
}

/* RFC 5681 §4.2: an out-of-order segment is acknowledged at once even with delayed ACKs
 * on, and that ACK also covers the in-order segment whose ACK was being delayed. */
static void delack_out_of_order_segment_acked_at_once_rfc5681_4_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    uint32_t base = established(&f);
    send_at(&f, base, 0, 500);
    fix_expect_none(&f);
    send_at(&f, base, 2000, 500);
    expect_ack(&f, base, 500);
    fix_expect_none(&f);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.2 / RFC 9293 §3.8.6.3: data of our own carries the delayed ACK, which
 * ends the timer: nothing more goes out at +40 ms. */
static void delack_piggybacked_on_data_cancels_timer_rfc1122_4_2_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    fix_expect_none(&f);
    expect_deadline(&f, f.now + SYNACK_MS(40));
    f.now += SYNACK_MS(10);
    static const uint8_t reply[10] = "0123456789";
    assert_int_equal(synack_tcp_send(f.c, reply, sizeof reply, f.now), 10);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, base + SEG_MAX, 10);
    fix_expect_none(&f);
    /* Only the retransmission timer is left. */
    expect_deadline(&f, f.now + fix_info(&f).rto);
    fix_advance(&f, SYNACK_MS(30));
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 0);
    fix_free(&f);
}

/* delack_timeout 0 (the fixture's default): every segment is acknowledged at once, full
 * sized or not. */
static void delack_zero_acks_every_segment_rfc5681_4_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    expect_ack(&f, base, SEG_MAX);
    send_at(&f, base, SEG_MAX, SEG_MAX);
    expect_ack(&f, base, 2 * SEG_MAX);
    send_at(&f, base, 2 * SEG_MAX, 10);
    expect_ack(&f, base, 2 * SEG_MAX + 10);
    fix_expect_none(&f);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    assert_int_equal(fix_info(&f).counters.delayed_acks, 0);
    fix_free(&f);
}

/* ---- the window's right edge (RFC 9293 §3.8.6.2.2) and SWS (RFC 1122 §4.2.3.3) --------- */

struct edge_run {
    uint32_t base;
    uint32_t acked;     /* the stack's latest ACK, as an offset */
    uint32_t edge;      /* latest ACK + window << shift, as an offset */
    uint32_t max_edge;  /* the furthest edge ever advertised */
    uint32_t read;      /* bytes the application has read */
    unsigned shift;     /* our window shift */
    unsigned acks_seen; /* segments checked */
};

/* Pulls every pending segment; each must be an ACK whose right edge is not left of any
 * edge advertised before. With a window shift, RFC 7323 §2.4 tolerates an edge that comes
 * back by less than 2^shift (the field cannot say it more precisely); never by more. */
static void edge_drain(struct fix *f, struct edge_run *r)
{
    struct wire_tcp_repr seg;
    while (fix_recv(f, &seg)) {
        assert_true(seg.flags & WIRE_TCP_ACK);
        uint32_t ack = seg.ack - r->base;
        uint32_t edge = ack + ((uint32_t)seg.window << r->shift);
        if (seq_lt(ack, r->acked)) fail_msg("ACK moved back from +%u to +%u", r->acked, ack);
        uint32_t slack = (1u << r->shift) - 1;
        if (seq_lt(edge + slack, r->max_edge))
            fail_msg("right edge moved left from +%u to +%u (ack +%u, window field %u)",
                     r->max_edge, edge, ack, seg.window);
        r->acked = ack;
        r->edge = edge;
        if (seq_gt(edge, r->max_edge)) r->max_edge = edge;
        r->acks_seen++;
    }
}

/* A seeded run of peer segments (inside the furthest window ever advertised, starting
 * at the latest ACK, so bytes the stack dropped are sent again) and application reads of
 * random sizes. RFC 7323 §2.4 (1): every such segment is acceptable. */
static void edge_run(struct fix *f, struct edge_run *r, uint32_t total, uint64_t seed)
{
    struct rand_pcg rng;
    rand_seed(&rng, seed, 1);
    for (int step = 0; step < 20000 && (r->acked < total || r->read < total); step++) {
        if (rand_below(&rng, 2) == 0 && r->acked < total) {
            uint32_t room = r->max_edge - r->acked;
            uint32_t len = 1 + rand_below(&rng, SEG_MAX);
            if (len > room) len = room;
            if (len > total - r->acked) len = total - r->acked;
            if (len) send_at(f, r->base, r->acked, len);
        } else {
            size_t queued = fix_info(f).recv_queued;
            if (queued) {
                uint32_t n = 1 + rand_below(&rng, (uint32_t)queued);
                read_expect(f, r->read, n);
                r->read += n;
            }
        }
        edge_drain(f, r);
    }
    assert_int_equal(r->acked, total);
    assert_int_equal(r->read, total);
    assert_int_equal(fix_drops(f, SYNACK_DROP_UNACCEPTABLE), 0);
}

static void edge_start(struct fix *f, struct edge_run *r)
{
    memset(r, 0, sizeof *r);
    r->base = established(f);
    r->shift = fix_info(f).rcv_wscale;
    r->edge = fix_info(f).rcv_wnd; /* what the handshake's ACK offered */
    r->max_edge = r->edge;
}

/* RFC 9293 §3.8.6.2.2 (the receiver should not shrink the window): over a long run of
 * segments and reads, RCV.NXT + RCV.WND as advertised never moves left. */
static void right_edge_never_moves_left_rfc9293_3_8_6_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_4096);
    struct edge_run r;
    edge_start(&f, &r);
    assert_int_equal(r.shift, 0);
    edge_run(&f, &r, 300000, 7);
    assert_true(r.acks_seen > 100);
    fix_free(&f);
}

/* The same with window scaling (shift 2). RFC 7323 §2.4: as RCV.NXT moves by amounts
 * that are not multiples of 4, the scaled field may bring the edge back by less than 4
 * bytes, never more, and a segment inside any window advertised before stays acceptable. */
static void right_edge_kept_within_scale_unit_rfc7323_2_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_200000);
    f.peer_wscale = 0;
    struct edge_run r;
    edge_start(&f, &r);
    assert_int_equal(r.shift, 2);
    edge_run(&f, &r, 1500000, 11);
    assert_true(r.acks_seen > 100);
    fix_free(&f);
}

/* Lets the delayed ACK go and returns the last segment the stack sent (false: none). */
static bool last_ack(struct fix *f, struct wire_tcp_repr *last)
{
    fix_advance(f, SYNACK_MS(500));
    bool any = false;
    struct wire_tcp_repr seg;
    while (fix_recv(f, &seg)) {
        *last = seg;
        any = true;
    }
    return any;
}

/* synack_tcp_set_bufsize below what the buffer holds: it keeps every byte, the right edge
 * already offered stays (RFC 9293 §3.8.6.2.2) and data up to it is taken; the window then
 * opens only to the new size, once the application has read below it. */
static void a_receive_size_set_below_what_is_held_keeps_data_and_edge(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_8192);
    uint32_t base = established(&f);
    struct wire_tcp_repr ack = {0};
    for (uint32_t off = 0; off < 4380; off += SEG_MAX)
        send_at(&f, base, off, SEG_MAX);
    assert_true(last_ack(&f, &ack));
    assert_int_equal(ack.ack + ack.window, base + 8192);
    assert_int_equal(synack_tcp_set_bufsize(f.c, 0, 2048), 0);
    assert_int_equal(fix_info(&f).rcvbuf, 2048);
    assert_int_equal(fix_info(&f).recv_queued, 4380);
    /* The peer fills the window it was offered: all of it is kept. */
    send_at(&f, base, 4380, SEG_MAX);
    send_at(&f, base, 5840, SEG_MAX);
    send_at(&f, base, 7300, 8192 - 7300);
    assert_true(last_ack(&f, &ack));
    assert_int_equal(ack.ack, base + 8192);
    assert_int_equal(ack.window, 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_RCV_BUFFER), 0);
    assert_int_equal(fix_info(&f).recv_queued, 8192);
    read_expect(&f, 0, 8192);
    assert_true(last_ack(&f, &ack));
    assert_int_equal(ack.ack, base + 8192);
    assert_int_equal(ack.window, 2048); /* the new size, not the 8192 of storage */
    fix_free(&f);
}

/* Fills an 8192-byte buffer to a zero window: 5 segments of 1460 and one of 892. */
static uint32_t fill_to_zero_window(struct fix *f)
{
    uint32_t base = established(f);
    uint32_t off = 0;
    while (off < 8192) {
        uint32_t len = 8192 - off < SEG_MAX ? 8192 - off : SEG_MAX;
        send_at(f, base, off, len);
        off += len;
        struct wire_tcp_repr seg;
        assert_true(fix_recv(f, &seg));
        assert_int_equal(seg.ack, base + off);
        assert_int_equal(seg.window, 8192 - off); /* right edge fixed at +8192 */
    }
    fix_expect_none(f);
    return base;
}

/* RFC 1122 §4.2.3.3: the receiver keeps RCV.NXT + RCV.WND fixed until the buffer space
 * it could add reaches min(RCV.BUFF / 2, Eff.snd.MSS) = min(4096, 1460): reads freeing
 * less send no window update; the read that brings the total to 1460 does. */
static void sws_small_reads_send_no_window_update_rfc1122_4_2_3_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_8192);
    uint32_t base = fill_to_zero_window(&f);
    read_expect(&f, 0, 1000);
    fix_expect_none(&f);
    /* An ACK sent for another reason (a zero-window probe) still offers no window: the
     * right edge stays where it was. */
    send_at(&f, base, 8192, 1);
    struct wire_tcp_repr probe_ack;
    assert_true(fix_recv(&f, &probe_ack));
    assert_int_equal(probe_ack.ack, base + 8192);
    assert_int_equal(probe_ack.window, 0);
    fix_expect_none(&f);
    read_expect(&f, 1000, 459); /* 1459 free */
    fix_expect_none(&f);
    read_expect(&f, 1459, 1); /* 1460 free */
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_ACK);
    assert_int_equal(seg.ack, base + 8192);
    assert_int_equal(seg.window, 1460);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 1122 §4.2.3.3: one read that frees more than the threshold opens the window at once
 * to all the free space. */
static void sws_large_read_sends_window_update_rfc1122_4_2_3_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_8192);
    uint32_t base = fill_to_zero_window(&f);
    read_expect(&f, 0, 3000);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_ACK);
    assert_int_equal(seg.ack, base + 8192);
    assert_int_equal(seg.window, 3000);
    fix_expect_none(&f);
    /* The peer fills what was offered; the data is intact. */
    send_at(&f, base, 8192, 1460);
    expect_ack(&f, base, 8192 + 1460);
    send_at(&f, base, 8192 + 1460, 1000);
    expect_ack(&f, base, 8192 + 2460);
    send_at(&f, base, 8192 + 2460, 540);
    expect_ack(&f, base, 11192);
    read_expect(&f, 3000, 8192);
    fix_free(&f);
}

/* ---- FIN past a hole (RFC 9293 §3.10.7.4, eighth step) -------------------------------- */

/* A FIN that arrives with data past a hole is not processed until the hole is filled
 * (its sequence number is not RCV.NXT); then the connection goes to CLOSE-WAIT and the
 * ACK covers the data and the FIN. */
static void ooo_fin_taken_once_hole_fills_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t base = established(&f);
    send_flags(&f, base, 1000, 1000, WIRE_TCP_FIN);
    expect_ack(&f, base, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_PEER_CLOSED, 0));
    send_at(&f, base, 0, 1000);
    expect_ack(&f, base, 2001);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSE_WAIT);
    assert_true(fix_saw_transition(&f, SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT));
    assert_true(fix_saw_event(&f, SYNACK_EV_PEER_CLOSED, 0));
    read_expect(&f, 0, 2000);
    uint8_t buf[8];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 0);
    fix_free(&f);
}

/* The same with a bare FIN after out-of-order data. */
static void ooo_bare_fin_taken_once_hole_fills_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t base = established(&f);
    send_at(&f, base, 1000, 1000);
    expect_ack(&f, base, 0);
    send_flags(&f, base, 2000, 0, WIRE_TCP_FIN);
    expect_ack(&f, base, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    send_at(&f, base, 0, 1000);
    expect_ack(&f, base, 2001);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSE_WAIT);
    read_expect(&f, 0, 2000);
    uint8_t buf[8];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 0);
    fix_free(&f);
}

/* ---- the receive buffer's limit ------------------------------------------------------- */

/* RFC 9293 §3.10.7.4 (first step): a segment that starts in the window but runs past it
 * is acceptable; the part beyond the window (here the end of the receive buffer) is
 * trimmed and the rest processed. The bytes thrown away are a drop, counted as
 * SYNACK_DROP_RCV_BUFFER ("data beyond the receive buffer", synack.h), and the in-order
 * data before them is intact. */
static void data_beyond_rcv_buffer_dropped_and_counted_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_4096);
    uint32_t base = established(&f);
    send_at(&f, base, 0, SEG_MAX);
    expect_ack(&f, base, SEG_MAX);
    send_at(&f, base, SEG_MAX, SEG_MAX);
    expect_ack(&f, base, 2 * SEG_MAX);
    send_at(&f, base, 2 * SEG_MAX, SEG_MAX); /* 1176 bytes fit, 284 do not */
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.ack, base + 4096);
    assert_int_equal(seg.window, 0);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_UNACCEPTABLE), 0);
    assert_int_equal(fix_info(&f).recv_queued, 4096);
    read_expect(&f, 0, 4096);
    assert_true(fix_recv(&f, &seg)); /* the window update */
    assert_int_equal(seg.window, 4096);
    /* The peer sends the rest again; it lands where it belongs. */
    send_at(&f, base, 4096, 3 * SEG_MAX - 4096);
    expect_ack(&f, base, 3 * SEG_MAX);
    read_expect(&f, 4096, 3 * SEG_MAX - 4096);
    if (fix_drops(&f, SYNACK_DROP_RCV_BUFFER) != 1)
        fail_msg("%llu drops counted as rcv-buffer for the 284 bytes past the buffer, expected 1",
                 (unsigned long long)fix_drops(&f, SYNACK_DROP_RCV_BUFFER));
    fix_free(&f);
}

/* RFC 7323 §2.4: with a shift of 1, the never-shrink rule rounds the window up to the
 * scale unit. A peer filling every window it was offered never corrupts the stream: bytes
 * the buffer cannot hold (if the rounding offered any) are dropped and counted, never
 * treated as unacceptable, and the rest reads back intact. */
static void scaled_window_filled_to_its_edge_keeps_stream_intact_rfc7323_2_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_100000);
    f.peer_wscale = 0;
    uint32_t base = established(&f);
    assert_int_equal(fix_info(&f).rcv_wscale, 1);
    send_at(&f, base, 0, 1); /* an odd byte count: the window edge is rounded from here */
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.ack, base + 1);
    uint32_t edge = 1 + ((uint32_t)seg.window << 1);
    assert_true(edge > 90000);
    uint32_t off = 1;
    while (off < edge) {
        uint32_t len = edge - off < SEG_MAX ? edge - off : SEG_MAX;
        send_at(&f, base, off, len);
        off += len;
        while (fix_recv(&f, &seg))
            ;
    }
    bool beyond = edge > 100000; /* the window offered more than the buffer holds */
    uint32_t held = beyond ? 100000 : edge;
    assert_int_equal(seg.ack, base + held);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_RCV_BUFFER), beyond ? 1 : 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_UNACCEPTABLE), 0);
    assert_int_equal(fix_info(&f).recv_queued, held);
    read_expect(&f, 0, held);
    while (fix_recv(&f, &seg))
        ;
    send_at(&f, base, held, 10);
    expect_ack(&f, base, held + 10);
    read_expect(&f, held, 10);
    fix_free(&f);
}

/* More disjoint out-of-order blocks than the receiver keeps (well over 16): nothing
 * breaks, every ACK stays at RCV.NXT with at most 4 SACK blocks, and once the peer sends
 * everything again the stream reassembles exactly. */
static void many_disjoint_ooo_blocks_then_full_reassembly_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_8192);
    f.peer_sack = true;
    uint32_t base = established(&f);
    struct wire_tcp_repr seg;
    /* 100 blocks of 20 bytes, one every 40 bytes: [20, 40), [60, 80), ... */
    for (uint32_t k = 0; k < 100; k++) {
        send_at(&f, base, 40 * k + 20, 20);
        assert_true(fix_recv(&f, &seg));
        assert_int_equal(seg.ack, base);
        assert_true(seg.sack_count >= 1 && seg.sack_count <= 4);
        fix_expect_none(&f);
    }
    assert_true(fix_info(&f).ooo_blocks <= 100);
    expect_nothing_to_read(&f);
    /* A segment across many blocks and holes, not aligned to them. */
    send_at(&f, base, 130, 777);
    while (fix_recv(&f, &seg))
        assert_int_equal(seg.ack, base);
    /* The holes, last first, then everything in order. */
    for (uint32_t k = 100; k-- > 1;)
        send_at(&f, base, 40 * k, 20);
    while (fix_recv(&f, &seg))
        assert_int_equal(seg.ack, base);
    for (uint32_t off = 0; off < 4000; off += 400) {
        send_at(&f, base, off, 400);
        while (fix_recv(&f, &seg))
            ;
    }
    assert_int_equal(seg.ack, base + 4000);
    /* Nothing is held: at most a D-SACK of bytes the last segment repeated. */
    assert_true(seg.sack_count <= 1);
    if (seg.sack_count) assert_true(seq_leq(seg.sack[0].right, seg.ack));
    assert_int_equal(fix_info(&f).ooo_blocks, 0);
    read_expect(&f, 0, 4000);
    expect_nothing_to_read(&f);
    fix_free(&f);
}

/* RFC 9293 §3.10.7.4 (seventh step, segments kept for later processing): random
 * segments anywhere in the window, overlapping, duplicated and reordered, with reads
 * between them, wrapping a small receive ring many times: the ACK never exceeds the
 * first byte not yet sent, and the bytes read are the stream. */
static void random_reordering_reassembles_exactly_rfc9293_3_10_7_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_4096);
    f.peer_sack = true;
    uint32_t base = established(&f);
    struct rand_pcg rng;
    rand_seed(&rng, 42, 3);
    const uint32_t total = 200000;
    uint32_t acked = 0, edge = 4096, read = 0;
    for (int step = 0; step < 200000 && read < total; step++) {
        uint32_t r = rand_below(&rng, 8);
        if (r < 5 && acked < total) {
            /* Anywhere in [acked, edge), biased towards the hole at `acked`. */
            uint32_t room = edge - acked;
            if (room == 0) continue;
            uint32_t off = r == 0 ? 0 : rand_below(&rng, room);
            uint32_t len = 1 + rand_below(&rng, 600);
            if (len > room - off) len = room - off;
            if (acked + off + len > total) len = total - acked - off;
            if (acked + off >= total || len == 0) continue;
            send_at(&f, base, acked + off, len);
        } else {
            size_t queued = fix_info(&f).recv_queued;
            if (queued) {
                uint32_t n = 1 + rand_below(&rng, (uint32_t)queued);
                read_expect(&f, read, n);
                read += n;
            }
        }
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg)) {
            uint32_t ack = seg.ack - base;
            assert_true(seq_geq(ack, acked));
            assert_true(ack <= total);
            acked = ack;
            edge = ack + seg.window;
        }
        assert_int_equal(read + fix_info(&f).recv_queued, acked);
    }
    assert_int_equal(acked, total);
    assert_int_equal(read, total);
    fix_free(&f);
}

/* ---- The receiver's round trip for autotuning (autotune.c, rcv_rtt_longer) ---- */

struct rtt_run {
    struct fix f;
    uint32_t off;  /* the stack's TSval less its clock in ms */
    uint32_t edge; /* the right edge it advertised last */
    uint16_t mss;
};

/* Runs due timers and takes every segment the stack sent: its TSval offset, and the edge it
 * advertised. */
static void rtt_drain(struct rtt_run *r)
{
    struct wire_tcp_repr seg;
    fix_advance(&r->f, 0);
    while (fix_recv(&r->f, &seg)) {
        r->off = seg.ts_val - (uint32_t)(r->f.now / SYNACK_MS(1));
        r->edge = seg.ack + ((uint32_t)seg.window << fix_info(&r->f).rcv_wscale);
    }
}

static void rtt_start(struct rtt_run *r)
{
    fix_init(&r->f, NULL);
    r->f.peer_ts = true;
    r->f.peer_wscale = 7;
    fix_established_passive(&r->f);
    struct synack_tcp_info i = fix_info(&r->f);
    assert_true(i.timestamps && i.window_scale);
    r->mss = i.rcv_mss;
    /* A first segment, read, and its (delayed) ACK: the edge and the TSval offset. */
    static uint8_t one[2048];
    assert_true(r->mss <= sizeof one);
    fix_send(&r->f, WIRE_TCP_ACK, r->f.peer_nxt, r->f.peer_ack, one, r->mss);
    r->f.peer_nxt += r->mss;
    assert_int_equal(synack_tcp_recv(r->f.c, one, sizeof one, r->f.now), r->mss);
    r->edge = 0;
    fix_advance(&r->f, SYNACK_MS(500));
    rtt_drain(r);
    assert_true(r->edge != 0);
}

/* `dt` after the last burst the peer fills the window the stack offers. Its first segment,
 * one MSS, ends the receiver's running sample (begun where the last burst reached the
 * edge: the next MSS ends it), dt long, and its TSecr echoes a TSval `echo_ms` old (0: a
 * TSecr of 0); the rest reach the edge, where the next sample begins (one of 0 ns in
 * between changes nothing). The application reads it all. Returns the estimate after. */
/* The peer sends, in segments of one MSS, everything up to the edge the stack offered, the
 * first segment with TSecr `first_tsecr`, the others echoing what the stack sent last. */
static void rtt_fill(struct rtt_run *r, uint32_t first_tsecr)
{
    struct fix *f = &r->f;
    static uint8_t data[2048];
    uint32_t ordinary = f->last_tsval;
    assert_true(r->mss <= sizeof data);
    f->last_tsval = first_tsecr;
    while (f->peer_nxt != r->edge) {
        uint32_t n = r->edge - f->peer_nxt < r->mss ? r->edge - f->peer_nxt : r->mss;
        fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, data, n);
        f->peer_nxt += n;
        f->last_tsval = ordinary;
    }
}

static synack_time_t rtt_burst(struct rtt_run *r, synack_time_t dt, uint32_t echo_ms)
{
    struct fix *f = &r->f;
    static uint8_t sink[65536];
    f->now += dt;
    f->peer_tsval += (uint32_t)(dt / SYNACK_MS(1));
    assert_true(r->edge - f->peer_nxt >= 2u * r->mss);
    rtt_fill(r, echo_ms ? (uint32_t)(f->now / SYNACK_MS(1)) + r->off - echo_ms : 0);
    while (synack_tcp_recv(f->c, sink, sizeof sink, f->now) > 0) {
    }
    rtt_drain(r);
    assert_int_equal(fix_info(f).rcv_nxt, f->peer_nxt);
    return fix_info(f).rcv_rtt;
}

static uint64_t rtt_raised(struct rtt_run *r)
{
    return fix_info(&r->f).counters.rcv_rtt_raised;
}

/* RFC 9293 §3.8.6.2.2 with RFC 7323 §2.4: a peer that sends the whole window it was offered
 * at once (64 KiB in segments of 1460 bytes) while the application reads nothing has every
 * byte taken. As the buffer fills, the window the stack would offer is what remains of it
 * rounded down to the scale unit (2^9 here), but the edge already offered is what the
 * buffer was sized to hold (before, the last segment lost the 272 bytes past 1,024 of its
 * 1,296, dropped as past the buffer). */
static void data_up_to_the_edge_offered_is_taken_rfc9293_3_8_6_2_2(void **state)
{
    (void)state;
    struct rtt_run r;
    rtt_start(&r);
    assert_int_equal(fix_info(&r.f).rcv_wscale, 9);
    assert_int_equal(r.edge - r.f.peer_nxt, 65536);
    rtt_fill(&r, r.f.last_tsval);
    assert_int_equal(fix_info(&r.f).rcv_nxt, r.edge);
    assert_int_equal(fix_drops(&r.f, SYNACK_DROP_RCV_BUFFER), 0);
    fix_free(&r.f);
}

/* The receiver's shortest round trip goes down with any shorter sample and up only when
 * three samples in a row are over four times it, and so are the round trips the TSecrs
 * of the segments ending them tell (RFC 7323 §4.3): then to the shorter of the last
 * sample and its echo (whole ticks of the 1 ms TSval clock, less one). A sample that is
 * not far longer, one whose echo is short or TSecr 0, and a shorter sample each end the
 * run. */
static void receiver_round_trip_raised_by_a_run_of_long_samples_and_echoes(void **state)
{
    (void)state;
    struct rtt_run r;
    rtt_start(&r);
    /* The first sample, from rtt_start's segment to the edge, 501 ms; then a shorter. */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(1), 1), SYNACK_MS(501));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(20), 20), SYNACK_MS(20));
    /* Two far longer, one not far enough: the run begins again. */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(100), 100), SYNACK_MS(20));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(100), 100), SYNACK_MS(20));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(30), 100), SYNACK_MS(20));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(100), 100), SYNACK_MS(20));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(100), 100), SYNACK_MS(20));
    assert_int_equal(rtt_raised(&r), 0);
    /* The third in a row: raised, to the echo's 99 ms (100 ticks, less one). */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(100), 100), SYNACK_MS(99));
    assert_int_equal(rtt_raised(&r), 1);
    /* Long samples with short echoes (a loss held rcv_nxt; the sender sends as ACKs
     * come), or with TSecr 0: never. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 50), SYNACK_MS(99));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(99));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(99));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 0), SYNACK_MS(99)); /* ends the run */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(99));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(99));
    /* A shorter sample: taken at once, and the run begins again. */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(50), 50), SYNACK_MS(50));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(50));
    assert_int_equal(rtt_burst(&r, SYNACK_MS(500), 500), SYNACK_MS(50));
    assert_int_equal(rtt_raised(&r), 1);
    /* The third: the sample (400 ms) is shorter than its echo (499 ms) this time. */
    assert_int_equal(rtt_burst(&r, SYNACK_MS(400), 500), SYNACK_MS(400));
    assert_int_equal(rtt_raised(&r), 2);
    fix_free(&r.f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ooo_segment_kept_with_dupack_and_sack_block_rfc5681_4_2),
    cmocka_unit_test(recv_borrow_lends_the_bytes_and_commit_consumes_them),
    cmocka_unit_test(recv_commit_of_a_full_buffer_sends_a_window_update),
    cmocka_unit_test(hole_fill_delivers_in_order_and_acks_at_once_rfc5681_4_2),
    cmocka_unit_test(segment_bridging_blocks_merges_them_rfc2018_4),
    cmocka_unit_test(sack_blocks_latest_first_then_by_recency_max_4_rfc2018_4),
    cmocka_unit_test(sack_at_most_3_blocks_with_timestamps_rfc2018_4),
    cmocka_unit_test(dsack_for_duplicate_below_rcv_nxt_rfc2883_4),
    cmocka_unit_test(dsack_for_duplicate_inside_ooo_block_rfc2883_4),
    cmocka_unit_test(delack_single_segment_acked_by_timer_at_40ms_rfc1122_4_2_3_2),
    cmocka_unit_test(delack_second_full_segment_acked_at_once_rfc5681_4_2),
    cmocka_unit_test(delack_merged_segment_counts_as_the_full_sized_ones_it_holds),
    cmocka_unit_test(delack_out_of_order_segment_acked_at_once_rfc5681_4_2),
    cmocka_unit_test(delack_piggybacked_on_data_cancels_timer_rfc1122_4_2_3_2),
    cmocka_unit_test(delack_zero_acks_every_segment_rfc5681_4_2),
    cmocka_unit_test(right_edge_never_moves_left_rfc9293_3_8_6_2_2),
    cmocka_unit_test(a_receive_size_set_below_what_is_held_keeps_data_and_edge),
    cmocka_unit_test(right_edge_kept_within_scale_unit_rfc7323_2_4),
    cmocka_unit_test(sws_small_reads_send_no_window_update_rfc1122_4_2_3_3),
    cmocka_unit_test(sws_large_read_sends_window_update_rfc1122_4_2_3_3),
    cmocka_unit_test(ooo_fin_taken_once_hole_fills_rfc9293_3_10_7_4),
    cmocka_unit_test(ooo_bare_fin_taken_once_hole_fills_rfc9293_3_10_7_4),
    cmocka_unit_test(data_beyond_rcv_buffer_dropped_and_counted_rfc9293_3_10_7_4),
    cmocka_unit_test(scaled_window_filled_to_its_edge_keeps_stream_intact_rfc7323_2_4),
    cmocka_unit_test(many_disjoint_ooo_blocks_then_full_reassembly_rfc9293_3_10_7_4),
    cmocka_unit_test(random_reordering_reassembles_exactly_rfc9293_3_10_7_4),
    cmocka_unit_test(data_up_to_the_edge_offered_is_taken_rfc9293_3_8_6_2_2),
    cmocka_unit_test(receiver_round_trip_raised_by_a_run_of_long_samples_and_echoes),
};

SYNACK_TEST_MAIN("recv", tests)
