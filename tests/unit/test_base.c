/* base/: sequence arithmetic, the seeded generator and the bounds-checked cursors. */
#include "harness.h"

#include <string.h>

#include "base/cursor.h"
#include "base/rand.h"
#include "base/ring.h"
#include "base/seq.h"
#include "base/siphash.h"
#include "base/timers.h"

/* ---- seq.h ------------------------------------------------------------------------------- */

static void seq_compare_without_wrap(void **state)
{
    (void)state;
    assert_true(seq_lt(1, 2));
    assert_false(seq_lt(2, 2));
    assert_true(seq_leq(2, 2));
    assert_true(seq_gt(3, 2));
    assert_false(seq_gt(2, 2));
    assert_true(seq_geq(2, 2));
    assert_false(seq_geq(1, 2));
}

static void seq_compare_across_wrap(void **state)
{
    (void)state;
    /* RFC 9293 §3.4: comparisons are modulo 2^32, so 0xfffffff0 comes before 0x10. */
    assert_true(seq_lt(0xfffffff0u, 0x10u));
    assert_true(seq_leq(0xfffffff0u, 0x10u));
    assert_true(seq_gt(0x10u, 0xfffffff0u));
    assert_true(seq_geq(0x10u, 0xfffffff0u));
    assert_false(seq_lt(0x10u, 0xfffffff0u));
    assert_true(seq_lt(0xffffffffu, 0));
    assert_true(seq_gt(0, 0xffffffffu));
    /* Up to 2^31 - 1 apart the order holds in either direction. */
    assert_true(seq_lt(5, 5 + 0x7fffffffu));
    assert_true(seq_gt(5 + 0x7fffffffu, 5));
}

static void seq_in_window_across_wrap(void **state)
{
    (void)state;
    assert_true(seq_in(0xfffffffeu, 0xfffffff0u, 0x10u));
    assert_true(seq_in(0, 0xfffffff0u, 0x10u));
    assert_true(seq_in(0xfffffff0u, 0xfffffff0u, 0x10u)); /* lo is inside */
    assert_false(seq_in(0x10u, 0xfffffff0u, 0x10u));      /* hi is not */
    assert_false(seq_in(0xffffffefu, 0xfffffff0u, 0x10u));
    assert_false(seq_in(7, 7, 7)); /* empty window */
}

static void seq_min_max_across_wrap(void **state)
{
    (void)state;
    assert_int_equal(seq_max(0xfffffff0u, 0x10u), 0x10u);
    assert_int_equal(seq_min(0xfffffff0u, 0x10u), 0xfffffff0u);
    assert_int_equal(seq_max(3, 9), 9);
    assert_int_equal(seq_min(3, 9), 3);
}

/* ---- rand.h ------------------------------------------------------------------------------ */

/* The public generator is the reference PCG32: the first numbers of seed 42, stream 54
 * are those the reference implementation's pcg32-demo prints. Every seeded run (simulator,
 * fault wrapper, scenarios) depends on them. */
static void rng_matches_the_pcg32_reference(void **state)
{
    (void)state;
    static const uint32_t expect[] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                      0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    struct synack_rng r;
    synack_rng_seed(&r, 42, 54);
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        assert_int_equal(synack_rng_next_u32(&r), expect[i]);
    struct synack_rng a, b;
    synack_rng_seed(&a, 42, 54);
    synack_rng_seed(&b, 42, 54);
    uint64_t hi = synack_rng_next_u32(&b);
    assert_true(synack_rng_next_u64(&a) == (hi << 32 | synack_rng_next_u32(&b)));
}

static void rand_same_seed_same_sequence(void **state)
{
    (void)state;
    struct rand_pcg a, b;
    rand_seed(&a, 12345, 7);
    rand_seed(&b, 12345, 7);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rand_u32(&a), rand_u32(&b));
    assert_true(rand_u64(&a) == rand_u64(&b));
}

static void rand_different_seeds_differ(void **state)
{
    (void)state;
    struct rand_pcg a, b, c;
    rand_seed(&a, 1, 7);
    rand_seed(&b, 2, 7);
    rand_seed(&c, 1, 8); /* same seed, other stream */
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 64; i++) {
        uint32_t x = rand_u32(&a);
        same_ab += x == rand_u32(&b);
        same_ac += x == rand_u32(&c);
    }
    assert_true(same_ab < 4);
    assert_true(same_ac < 4);
}

static void rand_below_in_range(void **state)
{
    (void)state;
    struct rand_pcg r;
    rand_seed(&r, 99, 1);
    const uint32_t bounds[] = {1, 2, 3, 7, 10, 1000, 0x80000001u, 0xffffffffu};
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
        for (int i = 0; i < 2000; i++)
            assert_true(rand_below(&r, bounds[b]) < bounds[b]);
    }
    assert_int_equal(rand_below(&r, 0), 0);
    assert_int_equal(rand_below(&r, 1), 0);
    /* Every value of a small range shows up. */
    int seen[6] = {0};
    for (int i = 0; i < 600; i++)
        seen[rand_below(&r, 6)]++;
    for (int v = 0; v < 6; v++)
        assert_true(seen[v] > 0);
}

static void rand_unit_in_range(void **state)
{
    (void)state;
    struct rand_pcg r;
    rand_seed(&r, 5, 5);
    for (int i = 0; i < 10000; i++) {
        double u = rand_unit(&r);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

/* ---- cursor.h ---------------------------------------------------------------------------- */

static void cursor_reads_big_endian(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    struct cursor c = cursor_make(bytes, sizeof(bytes));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint8_t two[2];
    assert_true(cursor_read_u8(&c, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(cursor_read_u16be(&c, &u16));
    assert_int_equal(u16, 0x0203);
    assert_true(cursor_read_u32be(&c, &u32));
    assert_int_equal(u32, 0x04050607u);
    assert_int_equal(cursor_remaining(&c), 2);
    assert_ptr_equal(cursor_ptr(&c), bytes + 7);
    assert_true(cursor_read_bytes(&c, two, 2));
    assert_int_equal(two[0], 0x08);
    assert_int_equal(two[1], 0x09);
    assert_int_equal(cursor_remaining(&c), 0);
}

static void cursor_out_of_bounds_fails_without_moving(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0xaa, 0xbb, 0xcc};
    struct cursor c = cursor_make(bytes, sizeof(bytes));
    uint32_t u32 = 0x11111111u;
    assert_false(cursor_read_u32be(&c, &u32));
    assert_int_equal(u32, 0x11111111u); /* untouched */
    assert_int_equal(cursor_remaining(&c), 3);
    assert_false(cursor_skip(&c, 4));
    assert_true(cursor_skip(&c, 2));
    uint16_t u16 = 0;
    assert_false(cursor_read_u16be(&c, &u16));
    uint8_t buf[2];
    assert_false(cursor_read_bytes(&c, buf, 2));
    uint8_t u8;
    assert_true(cursor_read_u8(&c, &u8));
    assert_int_equal(u8, 0xcc);
    assert_false(cursor_read_u8(&c, &u8));
    assert_true(cursor_skip(&c, 0));

    /* An empty cursor over no memory at all reads nothing. */
    struct cursor empty = cursor_make(NULL, 0);
    assert_false(cursor_read_u8(&empty, &u8));
    assert_true(cursor_read_bytes(&empty, buf, 0));
}

static void cursor_split_bounds_sub_cursor(void **state)
{
    (void)state;
    const uint8_t bytes[] = {1, 2, 3, 4, 5};
    struct cursor c = cursor_make(bytes, sizeof(bytes));
    struct cursor sub;
    assert_false(cursor_split(&c, 6, &sub));
    assert_true(cursor_split(&c, 2, &sub));
    assert_int_equal(cursor_remaining(&sub), 2);
    assert_int_equal(cursor_remaining(&c), 3);
    uint32_t u32;
    assert_false(cursor_read_u32be(&sub, &u32)); /* the sub-cursor ends at 2 bytes */
    uint16_t u16;
    assert_true(cursor_read_u16be(&sub, &u16));
    assert_int_equal(u16, 0x0102);
}

static void wcursor_writes_and_flags_overflow(void **state)
{
    (void)state;
    uint8_t buf[8];
    memset(buf, 0xee, sizeof(buf));
    struct wcursor w = wcursor_make(buf, 7);
    assert_true(wcursor_write_u8(&w, 0x01));
    assert_true(wcursor_write_u16be(&w, 0x0203));
    assert_true(wcursor_write_u32be(&w, 0x04050607u));
    assert_false(w.overflow);
    assert_int_equal(wcursor_remaining(&w), 0);
    const uint8_t expect[] = {1, 2, 3, 4, 5, 6, 7};
    assert_memory_equal(buf, expect, sizeof(expect));

    assert_false(wcursor_write_u8(&w, 0xff));
    assert_true(w.overflow);
    assert_int_equal(buf[7], 0xee); /* nothing past the cap */
    assert_int_equal(w.pos, 7);

    struct wcursor w2 = wcursor_make(buf, 3);
    assert_false(wcursor_write_u32be(&w2, 0));
    assert_false(wcursor_write_bytes(&w2, expect, 4));
    assert_true(wcursor_write_bytes(&w2, expect, 3));
    assert_true(w2.overflow); /* stays set */
}

/* The reference vectors of the SipHash paper (Appendix A): key 00..0f, messages
 * 00..(n-1); the 64-bit outputs for n = 0 and n = 15. */
static void siphash_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
    assert_int_equal(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

static void ring_wraps_and_keeps_order(void **state)
{
    (void)state;
    uint8_t storage[8], out[8];
    struct ring r;
    ring_init(&r, storage, sizeof storage);
    assert_int_equal(ring_write(&r, (const uint8_t *)"abcdef", 6), 6);
    assert_int_equal(ring_read(&r, out, 4), 4);
    assert_memory_equal(out, "abcd", 4);
    /* 2 held, 6 free: the write wraps past the end of the storage. */
    assert_int_equal(ring_write(&r, (const uint8_t *)"ghijklmn", 8), 6);
    assert_int_equal(ring_len(&r), 8);
    assert_int_equal(ring_space(&r), 0);
    assert_int_equal(ring_peek(&r, 3, out, 8), 5);
    assert_memory_equal(out, "hijkl", 5);
    assert_int_equal(ring_read(&r, out, 8), 8);
    assert_memory_equal(out, "efghijkl", 8);
    assert_int_equal(ring_read(&r, out, 8), 0);
    assert_int_equal(ring_peek(&r, 0, out, 1), 0);
}

static void ring_move_keeps_readable_and_out_of_order_bytes(void **state)
{
    (void)state;
    uint8_t small[8], big[16];
    struct ring r;
    ring_init(&r, small, sizeof small);
    ring_write(&r, (const uint8_t *)"abcdef", 6);
    ring_consume(&r, 5);                            /* head at 5: "f" */
    ring_write(&r, (const uint8_t *)"gh", 2);       /* "fgh" at 5..7 */
    ring_write_at(&r, 1, (const uint8_t *)"JK", 2); /* out of order, past a hole, at 1..2 */
    ring_move(&r, big, sizeof big);
    assert_ptr_equal(r.buf, big);
    assert_int_equal(r.cap, 16);
    assert_int_equal(ring_len(&r), 3);
    assert_int_equal(ring_space(&r), 13);
    /* The hole is filled and the out-of-order bytes become readable where they were. */
    assert_int_equal(ring_write_at(&r, 0, (const uint8_t *)"i", 1), 1);
    ring_commit(&r, 3);
    uint8_t out[16];
    assert_int_equal(ring_read(&r, out, sizeof out), 6);
    assert_memory_equal(out, "fghiJK", 6);
    /* The new storage's whole capacity is usable, across its own wrap. */
    assert_int_equal(ring_write(&r, (const uint8_t *)"0123456789abcdef", 16), 16);
    assert_int_equal(ring_read(&r, out, sizeof out), 16);
    assert_memory_equal(out, "0123456789abcdef", 16);
}

static void ring_room_spans_name_the_free_room_in_place(void **state)
{
    (void)state;
    uint8_t storage[8];
    struct ring r;
    ring_init(&r, storage, sizeof storage);
    ring_write(&r, (const uint8_t *)"abcdef", 6);
    ring_consume(&r, 4); /* "ef" at 4..5: room at 6..7, then 0..3 */
    uint8_t *a, *b;
    size_t alen, blen;
    assert_int_equal(ring_room_spans(&r, 0, 100, &a, &alen, &b, &blen), 6);
    assert_ptr_equal(a, storage + 6);
    assert_int_equal(alen, 2);
    assert_ptr_equal(b, storage);
    assert_int_equal(blen, 4);
    /* Written in place and committed, the bytes read back in order. */
    memcpy(a, "gh", 2);
    memcpy(b, "ij", 2);
    ring_commit(&r, 4);
    uint8_t out[8];
    assert_int_equal(ring_read(&r, out, sizeof out), 6);
    assert_memory_equal(out, "efghij", 6);
    /* From an offset past the tail, and nothing beyond the room. */
    assert_int_equal(ring_room_spans(&r, 7, 5, &a, &alen, &b, &blen), 1);
    assert_int_equal(ring_room_spans(&r, 8, 1, &a, &alen, &b, &blen), 0);
    assert_null(a);
    assert_int_equal(alen + blen, 0);
}

static void ring_spans_point_into_the_storage(void **state)
{
    (void)state;
    uint8_t storage[8];
    struct ring r;
    ring_init(&r, storage, sizeof storage);
    ring_write(&r, (const uint8_t *)"abcdef", 6);
    ring_consume(&r, 4);
    ring_write(&r, (const uint8_t *)"ghijklmn", 8); /* "efghijkl": e..h at 4..7, i..l at 0..3 */
    const uint8_t *a, *b;
    size_t alen, blen;
    /* Across the wrap: two pieces, in the storage itself (no copy). */
    assert_int_equal(ring_spans(&r, 1, 5, &a, &alen, &b, &blen), 5);
    assert_ptr_equal(a, storage + 5);
    assert_int_equal(alen, 3);
    assert_memory_equal(a, "fgh", 3);
    assert_ptr_equal(b, storage);
    assert_int_equal(blen, 2);
    assert_memory_equal(b, "ij", 2);
    /* Before the wrap: one piece. */
    assert_int_equal(ring_spans(&r, 0, 3, &a, &alen, &b, &blen), 3);
    assert_memory_equal(a, "efg", 3);
    assert_int_equal(blen, 0);
    assert_null(b);
    /* Clamped to what is held; nothing past the end. */
    assert_int_equal(ring_spans(&r, 6, 100, &a, &alen, &b, &blen), 2);
    assert_memory_equal(a, "kl", 2);
    assert_int_equal(ring_spans(&r, 8, 1, &a, &alen, &b, &blen), 0);
    assert_null(a);
    assert_int_equal(alen + blen, 0);
}

static void ring_consume_clamps(void **state)
{
    (void)state;
    uint8_t storage[4];
    struct ring r;
    ring_init(&r, storage, sizeof storage);
    ring_write(&r, (const uint8_t *)"xyz", 3);
    ring_consume(&r, 10);
    assert_int_equal(ring_len(&r), 0);
    assert_int_equal(ring_space(&r), 4);
}

static void timers_give_the_earliest_deadline(void **state)
{
    (void)state;
    struct timer_node nodes[64], *storage[64];
    struct timers t;
    timers_init(&t, storage, 64);
    struct rand_pcg r;
    rand_seed(&r, 5, 5);
    for (int i = 0; i < 64; i++) {
        timer_node_init(&nodes[i]);
        timers_set(&t, &nodes[i], 1000 + rand_below(&r, 100000));
    }
    /* Move some, remove some: the heap still yields deadlines in order. */
    for (int i = 0; i < 64; i += 3)
        timers_set(&t, &nodes[i], rand_below(&r, 200000));
    for (int i = 1; i < 64; i += 5)
        timers_set(&t, &nodes[i], TIMERS_NEVER);
    uint64_t last = 0;
    size_t popped = 0;
    struct timer_node *n;
    while ((n = timers_due(&t, UINT64_MAX - 1))) {
        assert_true(n->at >= last);
        last = n->at;
        timers_set(&t, n, TIMERS_NEVER);
        assert_int_equal(n->idx, TIMERS_NONE);
        popped++;
    }
    assert_int_equal(popped, 64 - 13);
    assert_int_equal(timers_next(&t), TIMERS_NEVER);
}

static void timers_due_only_when_reached(void **state)
{
    (void)state;
    struct timer_node a, *storage[1];
    struct timers t;
    timers_init(&t, storage, 1);
    timer_node_init(&a);
    timers_set(&t, &a, 500);
    assert_null(timers_due(&t, 499));
    assert_ptr_equal(timers_due(&t, 500), &a);
    assert_int_equal(timers_next(&t), 500);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(siphash_reference_vectors),
    cmocka_unit_test(ring_wraps_and_keeps_order),
    cmocka_unit_test(ring_spans_point_into_the_storage),
    cmocka_unit_test(ring_room_spans_name_the_free_room_in_place),
    cmocka_unit_test(ring_move_keeps_readable_and_out_of_order_bytes),
    cmocka_unit_test(ring_consume_clamps),
    cmocka_unit_test(timers_give_the_earliest_deadline),
    cmocka_unit_test(timers_due_only_when_reached),
    cmocka_unit_test(seq_compare_without_wrap),
    cmocka_unit_test(seq_compare_across_wrap),
    cmocka_unit_test(seq_in_window_across_wrap),
    cmocka_unit_test(seq_min_max_across_wrap),
    cmocka_unit_test(rng_matches_the_pcg32_reference),
    cmocka_unit_test(rand_same_seed_same_sequence),
    cmocka_unit_test(rand_different_seeds_differ),
    cmocka_unit_test(rand_below_in_range),
    cmocka_unit_test(rand_unit_in_range),
    cmocka_unit_test(cursor_reads_big_endian),
    cmocka_unit_test(cursor_out_of_bounds_fails_without_moving),
    cmocka_unit_test(cursor_split_bounds_sub_cursor),
    cmocka_unit_test(wcursor_writes_and_flags_overflow),
};

SYNACK_TEST_MAIN("base", tests)
