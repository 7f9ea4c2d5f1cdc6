/* synack_hugealloc (drivers/mem/hugealloc.c): blocks at or past the threshold are mappings
 * of their own, 2 MiB-aligned and rounded up to 2 MiB, gone when released; smaller ones are
 * malloc's; the table that tells them apart holds up under many blocks released in any
 * order; a stack that allocates through it moves data byte for byte with its buffers on
 * such mappings and gives every one back; where the kernel has transparent huge pages a
 * block touched is backed by them. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "synack/link.h"
#include "synack/synack.h"

#define MIB ((size_t)1 << 20)

/* Whether the page at p is mapped: msync of an unmapped range fails with ENOMEM. */
static bool mapped(const void *p)
{
    return msync((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, MS_ASYNC) == 0 || errno != ENOMEM;
}

static struct synack_hugealloc_stats stats_of(struct synack_hugealloc *h)
{
    struct synack_hugealloc_stats st;
    synack_hugealloc_stats(h, &st);
    return st;
}

/* Below 2 MiB (the default threshold) malloc's; at and past it a mapping aligned to 2 MiB
 * and rounded up to a multiple of it, writable over the whole size, unmapped on release. */
static void large_blocks_are_aligned_mappings_small_ones_mallocs(void **state)
{
    (void)state;
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(NULL, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_hugealloc_new(&h, 0), 0);
    uint8_t *small = synack_hugealloc_alloc(h, 2 * MIB - 1);
    assert_non_null(small);
    assert_int_equal(stats_of(h).blocks, 0);
    uint8_t *two = synack_hugealloc_alloc(h, 2 * MIB);
    uint8_t *three = synack_hugealloc_alloc(h, 3 * MIB);
    assert_non_null(two);
    assert_non_null(three);
    assert_int_equal((uintptr_t)two % (2 * MIB), 0);
    assert_int_equal((uintptr_t)three % (2 * MIB), 0);
    struct synack_hugealloc_stats st = stats_of(h);
    assert_int_equal(st.blocks, 2);
    assert_int_equal(st.bytes, 2 * MIB + 4 * MIB); /* 3 MiB rounded up */
    assert_int_equal(st.maps, 2);
    memset(two, 0xa5, 2 * MIB);
    memset(three, 0x5a, 3 * MIB);
    memset(small, 1, 2 * MIB - 1);
    assert_int_equal(two[2 * MIB - 1], 0xa5);
    assert_int_equal(three[0], 0x5a);
    synack_hugealloc_release(h, three);
    assert_false(mapped(three));
    assert_true(mapped(two));
    synack_hugealloc_release(h, two);
    synack_hugealloc_release(h, small);
    synack_hugealloc_release(h, NULL);
    st = stats_of(h);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.unmaps, 2);
    assert_false(mapped(two));
    synack_hugealloc_delete(h);
    synack_hugealloc_delete(NULL);
}

/* 300 blocks (threshold 4 KiB: a mapping each, never touched) taken and given back in a
 * scrambled order, with new ones taken between: every block given back is unmapped, every
 * one still held stays mapped and is found again when its turn comes (the table keeps each
 * entry reachable through deletions and growth). */
static void many_blocks_released_in_any_order(void **state)
{
    (void)state;
    enum { N = 300 };
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(&h, 4096), 0);
    uint8_t *blk[N] = {0};
    uint32_t x = 12345;
    size_t live = 0;
    for (int round = 0; round < 4 * N; round++) {
        x = x * 1103515245u + 12345u;
        size_t i = (x >> 8) % N;
        if (blk[i]) {
            synack_hugealloc_release(h, blk[i]);
            assert_false(mapped(blk[i]));
            blk[i] = NULL;
            live--;
        } else {
            blk[i] = synack_hugealloc_alloc(h, 4096 + (x & 0xffff));
            assert_non_null(blk[i]);
            blk[i][0] = (uint8_t)i;
            live++;
        }
        assert_int_equal(stats_of(h).blocks, live);
    }
    for (size_t i = 0; i < N; i++) {
        if (!blk[i]) continue;
        assert_true(mapped(blk[i]));
        assert_int_equal(blk[i][0], (uint8_t)i);
        synack_hugealloc_release(h, blk[i]);
        assert_false(mapped(blk[i]));
    }
    struct synack_hugealloc_stats st = stats_of(h);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.maps, st.unmaps);
    synack_hugealloc_delete(h);
}

/* Packets of `from` into `to`; true if any moved. */
static bool hand_over(struct synack_stack *from, struct synack_stack *to, uint8_t *pkt,
                      synack_time_t now)
{
    bool moved = false;
    synack_ssize n;
    while ((n = synack_stack_output(from, pkt, 65536, now)) > 0) {
        synack_stack_input(to, pkt, (size_t)n, now);
        moved = true;
    }
    return moved;
}

static struct synack_stack *stack_on(struct synack_hugealloc *h, uint32_t addr)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.mtu = 65535;
    cfg.udp_sndbuf = 2 * 65536; /* at least mtu + 2 */
    /* Past the threshold from the first byte, and fixed there. */
    cfg.sndbuf = cfg.rcvbuf = cfg.sndbuf_max = cfg.rcvbuf_max = 4 * MIB;
    synack_hugealloc_use(h, &cfg);
    struct synack_addr a = synack_addr_v4(addr);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

/* Two stacks that allocate through the allocator, with 4 MiB buffers: 24 MiB move byte for
 * byte (a pattern the reader checks), the buffers on mappings of their own while they hold
 * data, and every mapping given back once the stacks are freed. */
static void a_stack_moves_data_on_mapped_buffers(void **state)
{
    (void)state;
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(&h, 0), 0);
    struct synack_stack *cli = stack_on(h, 0xc6120001u), *srv = stack_on(h, 0xc6120002u);
    struct synack_listener *l;
    struct synack_endpoint at = {synack_addr_v4(0xc6120002u), 5001};
    assert_int_equal(synack_tcp_listen(srv, &at, 4, NULL, &l), 0);
    struct synack_tcp *c, *s = NULL;
    synack_time_t now = SYNACK_MS(1);
    assert_int_equal(synack_tcp_connect(cli, &at, NULL, NULL, &c, now), 0);
    static uint8_t pkt[65536], buf[65536];
    for (int i = 0; i < 20 && !s; i++) {
        hand_over(cli, srv, pkt, now);
        hand_over(srv, cli, pkt, now);
        (void)synack_tcp_accept(l, &s);
    }
    assert_non_null(s);
    const size_t total = 24 * MIB;
    size_t sent = 0, got = 0, peak = 0;
    for (int round = 0; round < 100000 && got < total; round++) {
        now += SYNACK_US(50);
        while (sent < total) {
            size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)((sent + k) * 7 + ((sent + k) >> 16));
            synack_ssize w = synack_tcp_send(c, buf, n, now);
            if (w <= 0) break;
            sent += (size_t)w;
        }
        hand_over(cli, srv, pkt, now);
        size_t blocks = stats_of(h).blocks;
        if (blocks > peak) peak = blocks;
        synack_ssize r;
        while ((r = synack_tcp_recv(s, buf, sizeof buf, now)) > 0) {
            for (size_t k = 0; k < (size_t)r; k++)
                if (buf[k] != (uint8_t)((got + k) * 7 + ((got + k) >> 16)))
                    fail_msg("byte %zu differs", got + k);
            got += (size_t)r;
        }
        hand_over(srv, cli, pkt, now);
        synack_stack_handle_timers(cli, now);
        synack_stack_handle_timers(srv, now);
    }
    assert_int_equal(got, total);
    assert_true(peak >= 2); /* the send buffer and the receive buffer */
    assert_int_equal(stats_of(h).map_failures, 0);
    synack_stack_free(cli);
    synack_stack_free(srv);
    struct synack_hugealloc_stats st = stats_of(h);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.maps, st.unmaps);
    synack_hugealloc_delete(h);
}

/* The kilobytes of AnonHugePages /proc/self/smaps gives the mapping that holds p. */
static long anon_huge_kb(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[256];
    bool in = false;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    }
    fclose(f);
    return kb;
}

/* With transparent huge pages on ("always" or "madvise"), a block of 4 MiB that has been
 * written is backed by huge pages: the advice reached the kernel on an aligned range. */
static void a_touched_block_is_on_huge_pages(void **state)
{
    (void)state;
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(mode, sizeof mode, f)) mode[0] = 0;
        fclose(f);
    }
    if (!strstr(mode, "[always]") && !strstr(mode, "[madvise]")) {
        print_message("transparent huge pages are off here ('%s'): nothing to check\n", mode);
        skip();
    }
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(&h, 0), 0);
    uint8_t *p = synack_hugealloc_alloc(h, 4 * MIB);
    assert_non_null(p);
    memset(p, 0x3c, 4 * MIB);
    long kb = anon_huge_kb(p);
    if (kb < 2048) fail_msg("AnonHugePages %ld kB for a 4 MiB block written whole", kb);
    synack_hugealloc_release(h, p);
    synack_hugealloc_delete(h);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(large_blocks_are_aligned_mappings_small_ones_mallocs),
    cmocka_unit_test(many_blocks_released_in_any_order),
    cmocka_unit_test(a_stack_moves_data_on_mapped_buffers),
    cmocka_unit_test(a_touched_block_is_on_huge_pages),
};

SYNACK_TEST_MAIN("hugealloc", tests)
