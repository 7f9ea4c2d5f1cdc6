/* synack_hugealloc (drivers/mem/hugealloc.c): blocks at or past the threshold are mappings
 * of their own, 2 MiB-aligned and rounded up to 2 MiB, gone when released; smaller ones are
 * malloc's; the table that tells them apart holds up under many blocks released in any
 * order; a stack that allocates through it moves data byte for byte with its buffers on
 * such mappings and gives every one back; where the kernel has transparent huge pages a
 * block touched is backed by them. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "synack/link.h"
#include "synack/synack.h"

#define MIB ((size_t)1 << 20)

/* Whether the page at p is mapped: msync of an unmapped range fails with ENOMEM. */
static bool mapped(const void *p)
{
    return msync((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, MS_ASYNC) == 0 || errno != ENOMEM;
}

/* The process's address space in bytes (the first field of /proc/self/statm, in pages),
 * read without allocating, so that nothing but the call measured maps or unmaps. */
static size_t vm_size(void)
{
    char buf[64];
    int fd = open("/proc/self/statm", O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = 0;
    return (size_t)strtoull(buf, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

static struct synack_hugealloc_stats stats_of(struct synack_hugealloc *h)
{
    struct synack_hugealloc_stats st;
    synack_hugealloc_stats(h, &st);
    return st;
}

/* Below 2 MiB (the default threshold) malloc's; at and past it a mapping aligned to 2 MiB
 * and rounded up to a multiple of it, writable over the whole size, unmapped on release:
 * the process's address space grows by the rounded size exactly (the slack mapped for the
 * alignment is given back at once: the tail here, since Linux 6.7 puts a large anonymous
 * mapping on a 2 MiB boundary itself and leaves no head) and shrinks by it again. A pointer that is
 * 2 MiB-aligned but malloc's (posix_memalign) goes back to free(), not munmap(). */
static void large_blocks_are_aligned_mappings_small_ones_mallocs(void **state)
{
    (void)state;
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(NULL, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_hugealloc_new(&h, 0), 0);
    uint8_t *small = synack_hugealloc_alloc(h, 2 * MIB - 1);
    assert_non_null(small);
    assert_int_equal(stats_of(h).blocks, 0);
    uint8_t *two = synack_hugealloc_alloc(h, 2 * MIB); /* also makes the table */
    assert_non_null(two);
    size_t before = vm_size();
    uint8_t *three = synack_hugealloc_alloc(h, 3 * MIB);
    assert_non_null(three);
    assert_int_equal(vm_size() - before, 4 * MIB);
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
    assert_int_equal(vm_size(), before);
    assert_false(mapped(three));
    assert_false(mapped(three + 4 * MIB - 1));
    assert_true(mapped(two));
    void *aligned = NULL;
    assert_int_equal(posix_memalign(&aligned, 2 * MIB, 100), 0);
    synack_hugealloc_release(h, aligned); /* free()'s: ASan would see anything else */
    assert_int_equal(stats_of(h).unmaps, 1);
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

/* 300 blocks (threshold 4 KiB: a 2 MiB mapping each, never touched, so that none costs a
 * huge page) taken and given back in a
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
            live++;
        }
        assert_int_equal(stats_of(h).blocks, live);
    }
    for (size_t i = 0; i < N; i++) {
        if (!blk[i]) continue;
        assert_true(mapped(blk[i]));
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

/* The first line of `path`, or "" (`buf` of `cap` bytes). */
static const char *first_line(const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    if (!fgets(buf, (int)cap, f)) buf[0] = 0;
    fclose(f);
    return buf;
}

/* Whether /proc/self/status says THP is off for this process (prctl PR_SET_THP_DISABLE). */
static bool thp_off_for_process(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[128];
    bool off = false;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "THP_enabled:", 12)) off = strtol(line + 12, NULL, 10) == 0;
    fclose(f);
    return off;
}

/* With transparent huge pages on ("always" or "madvise") and a page fault that may compact
 * memory to find one (defrag "always", "madvise" or "defer+madvise"), a block of 4 MiB
 * written whole is backed by huge pages from end to end: the advice reached the kernel, on
 * a range aligned to them. */
static void a_touched_block_is_on_huge_pages(void **state)
{
    (void)state;
    char mode[128], defrag[128];
    first_line("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof mode);
    first_line("/sys/kernel/mm/transparent_hugepage/defrag", defrag, sizeof defrag);
    if ((!strstr(mode, "[always]") && !strstr(mode, "[madvise]")) ||
        (!strstr(defrag, "[always]") && !strstr(defrag, "[madvise]") &&
         !strstr(defrag, "[defer+madvise]")) ||
        thp_off_for_process()) {
        print_message("transparent huge pages are not given at fault here (enabled '%s', defrag "
                      "'%s', or off for this process): nothing to check\n",
                      mode, defrag);
        skip();
    }
    struct synack_hugealloc *h;
    assert_int_equal(synack_hugealloc_new(&h, 0), 0);
    uint8_t *p = synack_hugealloc_alloc(h, 4 * MIB);
    assert_non_null(p);
    memset(p, 0x3c, 4 * MIB);
    long kb = anon_huge_kb(p);
    if (kb < 4096) fail_msg("AnonHugePages %ld kB for a 4 MiB block written whole", kb);
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
