/* Two synack stacks joined back to back by hand, with every packet moved at one instant:
 * what one stack's replies do to the other's, without the simulator's delays. */
#include <stdlib.h>
#include <string.h>

#include "stack/stack.h"
#include "tcpfix.h"

#define ADDR_A 0xc6120001u
#define ADDR_B 0xc6120002u
#define QCAP 512

struct q {
    uint8_t pkt[QCAP][1600];
    size_t len[QCAP];
    size_t n;
};

static struct synack_stack *pair_stack_sized(uint32_t addr, uint8_t key, size_t max_conns)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    if (max_conns) cfg.max_conns = max_conns;
    cfg.addrs[0] = synack_addr_v4(addr);
    cfg.seed = key;
    for (int i = 0; i < 16; i++)
        cfg.isn_secret[i] = (uint8_t)(i + key);
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

static struct synack_stack *pair_stack(uint32_t addr, uint8_t key)
{
    return pair_stack_sized(addr, key, 0);
}

static void take(struct synack_stack *s, struct q *q, synack_time_t now)
{
    while (q->n < QCAP) {
        synack_ssize n = synack_stack_output(s, q->pkt[q->n], sizeof q->pkt[0], now);
        if (n < 0) return;
        q->len[q->n++] = (size_t)n;
    }
}

static void give(struct synack_stack *s, struct q *q, synack_time_t now)
{
    for (size_t i = 0; i < q->n; i++)
        synack_stack_input(s, q->pkt[i], q->len[i], now);
    q->n = 0;
}

/* As give, with the packets handed over in one synack_stack_input_batch call (which hints
 * each packet's demux bucket and connection before its turn). */
static void give_batch(struct synack_stack *s, struct q *q, synack_time_t now)
{
    static struct synack_rx rx[QCAP];
    for (size_t i = 0; i < q->n; i++)
        rx[i] = (struct synack_rx){.pkt = q->pkt[i], .len = q->len[i]};
    assert_int_equal(synack_stack_input_batch(s, rx, q->n, now), (synack_ssize)q->n);
    q->n = 0;
}

/* Moves packets both ways until both are quiet or `rounds` pass, each side taking what
 * the other sent with `hand` (give, or give_batch); returns packets moved. */
static size_t pump_with(struct synack_stack *a, struct synack_stack *b, synack_time_t now,
                        int rounds, void (*hand)(struct synack_stack *, struct q *, synack_time_t))
{
    static struct q qa, qb;
    size_t moved = 0;
    for (int r = 0; r < rounds; r++) {
        take(a, &qa, now);
        take(b, &qb, now);
        if (qa.n == 0 && qb.n == 0) break;
        moved += qa.n + qb.n;
        hand(b, &qa, now);
        hand(a, &qb, now);
    }
    return moved;
}

static size_t pump(struct synack_stack *a, struct synack_stack *b, synack_time_t now, int rounds)
{
    return pump_with(a, b, now, rounds, give);
}

/* As pump, each side taking what the other sent in one batch. */
static size_t pump_batch(struct synack_stack *a, struct synack_stack *b, synack_time_t now,
                         int rounds)
{
    return pump_with(a, b, now, rounds, give_batch);
}

/* One connection from a (port 40000) to b's listener on port 80, accepted: ta is a's end,
 * tb b's. */
static void pair_connect(struct synack_stack *a, struct synack_stack *b, synack_time_t now,
                         struct synack_tcp **ta, struct synack_tcp **tb)
{
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(0, 80), 4, NULL, &l), 0);
    assert_int_equal(synack_tcp_connect(a, &SYNACK_TEST_EP(ADDR_B, 80), &SYNACK_TEST_EP(0, 40000),
                                        NULL, ta, now),
                     0);
    pump(a, b, now, 10);
    assert_int_equal(synack_tcp_accept(l, tb), 0);
}

/* Both ends fill each other's windows and never read; both persist timers fire; then both
 * read a little (too little for a window update). Each probe is taken, and each side's ACK
 * of it looks old to the other. Answering every such ACK with an ACK would go on forever;
 * taking the ACK field and limiting the replies ends it. */
static void crossed_zero_window_probes_do_not_storm(void **state)
{
    (void)state;
    struct synack_stack *a = pair_stack(ADDR_A, 1), *b = pair_stack(ADDR_B, 9);
    synack_time_t now = SYNACK_S(100);
    struct synack_tcp *ta, *tb;
    pair_connect(a, b, now, &ta, &tb);
    static uint8_t big[70000];
    memset(big, 'z', sizeof big);
    for (int k = 0; k < 10; k++) {
        synack_tcp_send(ta, big, sizeof big, now);
        synack_tcp_send(tb, big, sizeof big, now);
        pump(a, b, now, 100);
    }
    struct synack_tcp_info ia, ib;
    synack_tcp_info(ta, &ia);
    synack_tcp_info(tb, &ib);
    /* A window smaller than sender SWS avoidance will use waits for the persist timer
     * (RFC 1122 §4.2.3.4): let the timers fill the last bytes. */
    for (int k = 0; k < 10 && (ia.rcv_wnd || ib.rcv_wnd); k++) {
        synack_time_t at = synack_stack_next_deadline(a);
        synack_time_t bt = synack_stack_next_deadline(b);
        now = at < bt ? at : bt;
        synack_stack_handle_timers(a, now);
        synack_stack_handle_timers(b, now);
        pump(a, b, now, 100);
        synack_tcp_info(ta, &ia);
        synack_tcp_info(tb, &ib);
    }
    assert_int_equal(ia.rcv_wnd, 0);
    assert_int_equal(ib.rcv_wnd, 0);
    now = synack_stack_next_deadline(a);
    synack_stack_handle_timers(a, now);
    synack_stack_handle_timers(b, now);
    static struct q pa, pb; /* the probes, in flight */
    take(a, &pa, now);
    take(b, &pb, now);
    uint8_t tmp[100];
    assert_int_equal(synack_tcp_recv(ta, tmp, sizeof tmp, now), 100);
    assert_int_equal(synack_tcp_recv(tb, tmp, sizeof tmp, now), 100);
    give(b, &pa, now);
    give(a, &pb, now);
    size_t moved = pump(a, b, now, 5000);
    assert_true(moved < 100);
    synack_stack_free(a);
    synack_stack_free(b);
}

/* a's connection `ta` closes first, then b's end of it `tb`: a keeps a TIME-WAIT record
 * (the application released it). */
static void close_first(struct synack_stack *a, struct synack_stack *b, struct synack_tcp *ta,
                        struct synack_tcp *tb, synack_time_t now)
{
    synack_tcp_close(ta, now);
    pump(a, b, now, 10);
    synack_tcp_close(tb, now);
    pump(a, b, now, 10);
}

/* Many holders of ports (issue 13 item 6): past a thousand connections and TIME-WAIT
 * records, a bind is answered from a count of each port's holders rather than a walk of
 * them all (tcp_bind_conflicts). The count must follow every holder in and out: the
 * connections and the TIME-WAIT record made before it existed, a connection reset (its port free at
 * once), one that closed first (its TIME-WAIT record holds the port, as Linux's does, until it
 * ends), and the ports of the ones still open. */
static void bind_knows_every_holder_of_a_port_among_many(void **state)
{
    (void)state;
    enum { N = 1100, BASE = 20000 };
    struct synack_stack *a = pair_stack_sized(ADDR_A, 1, 2 * N),
                        *b = pair_stack_sized(ADDR_B, 9, 2 * N);
    synack_time_t now = SYNACK_S(100);
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(0, 80), N, NULL, &l), 0);
    static struct synack_tcp *conn[N];
    struct synack_tcp *peer5 = NULL, *peer20 = NULL; /* the server's sides, to close */
    struct synack_stack_stats st;
    for (int i = 0; i < N; i++) {
        assert_int_equal(synack_tcp_connect(a, &SYNACK_TEST_EP(ADDR_B, 80),
                                            &SYNACK_TEST_EP(0, (uint16_t)(BASE + i)), NULL,
                                            &conn[i], now),
                         0);
        if (i % 64 != 63 && i != N - 1) continue;
        pump(a, b, now, 100);
        for (struct synack_tcp *t; synack_tcp_accept(l, &t) == 0;) {
            struct synack_tcp_info ti;
            assert_int_equal(synack_tcp_info(t, &ti), 0);
            if (ti.remote_port == BASE + 5) peer5 = t;
            if (ti.remote_port == BASE + 20) peer20 = t;
        }
        if (i != 63) continue;
        /* Before there is a count: the connection from BASE + 5 closes first and becomes
         * a TIME-WAIT record, which the count, made later, must hold. */
        assert_null(a->tcp.port_holders);
        assert_non_null(peer5);
        close_first(a, b, conn[5], peer5, now);
        synack_stack_stats(a, &st);
        assert_int_equal(st.time_wait, 1);
    }
    assert_non_null(peer20);
    struct synack_endpoint at = SYNACK_TEST_EP(0, BASE);
    /* The first connection's port, taken before there was a count. */
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), SYNACK_ERR_ADDRINUSE);
    at.port = BASE + N; /* nobody's */
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), 0);
    at.port = BASE + N - 1; /* the last one's, counted */
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), SYNACK_ERR_ADDRINUSE);
    /* Reset: the port is free at once. */
    synack_tcp_abort(conn[10], now);
    pump(a, b, now, 10);
    at.port = BASE + 10;
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), 0);
    /* Closed first and released: FIN_WAIT_2, then, at the peer's FIN, a TIME-WAIT record
     * that holds the port until 2 MSL end. */
    close_first(a, b, conn[20], peer20, now);
    synack_stack_stats(a, &st);
    assert_int_equal(st.time_wait, 2);
    at.port = BASE + 5; /* the record from before the count */
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(a->tcp.port_holders[BASE + 5], 1);
    at.port = BASE + 20;
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), SYNACK_ERR_ADDRINUSE);
    now += 2 * SYNACK_S(30) + SYNACK_S(1);
    synack_stack_handle_timers(a, now);
    synack_stack_stats(a, &st);
    assert_int_equal(st.time_wait, 0);
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), 0);
    /* The others still hold theirs. */
    at.port = BASE + 21;
    assert_int_equal(synack_tcp_bind_check(a, &at, 0), SYNACK_ERR_ADDRINUSE);
    /* And the counts are exact, not only high enough (a count too high walks, and answers
     * right, slowly): one holder per open connection, none where a holder left. */
    const uint32_t *holders = a->tcp.port_holders;
    assert_non_null(holders);
    assert_int_equal(holders[BASE], 1);
    assert_int_equal(holders[BASE + 10], 0);
    assert_int_equal(holders[BASE + 20], 0);
    assert_int_equal(holders[BASE + 5], 0);
    assert_int_equal(holders[BASE + N - 1], 1);
    assert_int_equal(holders[BASE + N], 0);
    synack_stack_free(a);
    synack_stack_free(b);
}

/* Each of `from` sends its index (two bytes) and its counterpart in `to` reads it: every
 * segment reaches its own connection. */
static void send_indices(struct synack_stack *a, struct synack_stack *b, struct synack_tcp **from,
                         struct synack_tcp **to, int n, synack_time_t now)
{
    for (int i = 0; i < n; i++) {
        uint8_t m[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        assert_non_null(to[i]);
        assert_int_equal(synack_tcp_send(from[i], m, 2, now), 2);
        if (i % 64 == 63 || i == n - 1) pump(a, b, now, 100);
    }
    for (int i = 0; i < n; i++) {
        uint8_t m[2];
        assert_int_equal(synack_tcp_recv(to[i], m, 2, now), 2);
        assert_int_equal(m[0] << 8 | m[1], i);
    }
}

/* The demux table follows what it holds (issue 13 item 6, demux.c): it starts small, whatever
 * max_conns says, doubles as connections pass a quarter of its buckets, halves as they leave,
 * and every lookup finds its own connection across each move. `refuse_table` makes the
 * allocator refuse the table's first growth (64 to 128 buckets): the old table must stay and
 * keep working. */
static size_t refuse_size;
static void *refusing_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return size == refuse_size ? NULL : malloc(size);
}
static void refusing_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void demux_follows(bool refuse_table)
{
    enum { N = 1100, BASE = 20000, MIN = 64 };
    struct synack_stack *a = pair_stack_sized(ADDR_A, 1, 2 * N), *b;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.max_conns = 2 * N;
    cfg.addrs[0] = synack_addr_v4(ADDR_B);
    cfg.seed = 9;
    cfg.alloc = refusing_alloc;
    cfg.free = refusing_free;
    refuse_size = refuse_table ? 2 * MIN * sizeof(struct synack_tcp *) : 0;
    assert_int_equal(synack_stack_new(&b, &cfg), 0);
    assert_int_equal(a->tcp.nbuckets, MIN); /* not sized by max_conns */
    synack_time_t now = SYNACK_S(100);
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(0, 80), N, NULL, &l), 0);
    static struct synack_tcp *conn[N], *peer[N];
    memset(peer, 0, sizeof peer);
    int accepted = 0;
    bool mixed_checked = false;
    for (int i = 0; i < N; i++) {
        assert_int_equal(synack_tcp_connect(a, &SYNACK_TEST_EP(ADDR_B, 80),
                                            &SYNACK_TEST_EP(0, (uint16_t)(BASE + i)), NULL,
                                            &conn[i], now),
                         0);
        if (i % 16 != 15 && i != N - 1) continue;
        pump(a, b, now, 100);
        for (struct synack_tcp *t; synack_tcp_accept(l, &t) == 0;) {
            struct synack_tcp_info ti;
            assert_int_equal(synack_tcp_info(t, &ti), 0);
            peer[ti.remote_port - BASE] = t;
            accepted++;
        }
        /* Grown whenever more than a quarter of the buckets have a connection each. */
        assert_true(a->tcp.ndemux <= a->tcp.nbuckets / 4);
        /* A resize moves a step of buckets per insert, remove or segment, not all at once: caught
         * half done, with some connections in each table, every one is still found. */
        if (a->tcp.old && !mixed_checked && i >= 1024) {
            assert_true(a->tcp.moved > 0 && a->tcp.moved < a->tcp.old_n);
            for (int k = 0; k < i + 1; k++)
                if (peer[k])
                    assert_int_equal(synack_tcp_send(conn[k], (const uint8_t *)"m", 1, now), 1);
            pump(a, b, now, 100);
            /* Each answers, so that no byte waits for a delayed ACK (Nagle) later. */
            for (int k = 0; k < i + 1; k++) {
                uint8_t m;
                if (!peer[k]) continue;
                assert_int_equal(synack_tcp_recv(peer[k], &m, 1, now), 1);
                assert_int_equal(synack_tcp_send(peer[k], &m, 1, now), 1);
            }
            /* Taken in batches: the hints look for buckets and connections in both tables
             * (still both: `a` has taken no segment since). */
            assert_non_null(a->tcp.old);
            pump_batch(a, b, now, 100);
            for (int k = 0; k < i + 1; k++) {
                uint8_t m;
                if (peer[k]) assert_int_equal(synack_tcp_recv(conn[k], &m, 1, now), 1);
            }
            /* The segments alone moved the rest (tcp_demux_step): no insert or remove
             * came, and the resize has ended. */
            assert_null(a->tcp.old);
            mixed_checked = true;
        }
        if (refuse_table && i < 64) {
            assert_int_equal(b->tcp.nbuckets, MIN); /* refused: the old table holds them */
            if (i >= 31) assert_true(b->tcp.ndemux > MIN / 4);
        } else {
            assert_true(b->tcp.ndemux <= b->tcp.nbuckets / 4);
        }
        if (i == 63) refuse_size = 0;
    }
    assert_int_equal(accepted, N);
    assert_true(mixed_checked);
    assert_int_equal(a->tcp.ndemux, N);
    assert_int_equal(b->tcp.ndemux, N);
    assert_int_equal(a->tcp.nbuckets, 8192); /* 4,400 buckets or more, a power of two */
    /* Every segment reaches its own connection: each client sends its index, each server
     * end answers with it, after all the moves of both tables. */
    send_indices(a, b, conn, peer, N, now);
    send_indices(a, b, peer, conn, N, now);
    /* Reset one by one: the tables halve once fewer than a thirty-second of their buckets
     * hold a connection, down to where they began. */
    for (int i = 0; i < N; i++) {
        synack_tcp_abort(conn[i], now);
        pump(a, b, now, 10);
        assert_true(a->tcp.old || a->tcp.nbuckets == MIN || a->tcp.ndemux >= a->tcp.nbuckets / 32);
        assert_true(b->tcp.old || b->tcp.nbuckets == MIN || b->tcp.ndemux >= b->tcp.nbuckets / 32);
        if (i == N / 2) {
            /* Half gone: the rest still reach their own ends. */
            uint8_t m = 'h';
            assert_int_equal(synack_tcp_send(conn[N - 1], &m, 1, now), 1);
            pump(a, b, now, 10);
            assert_int_equal(synack_tcp_recv(peer[N - 1], &m, 1, now), 1);
        }
    }
    assert_int_equal(a->tcp.ndemux, 0);
    assert_int_equal(b->tcp.ndemux, 0);
    assert_int_equal(a->tcp.nbuckets, MIN);
    assert_int_equal(b->tcp.nbuckets, MIN);
    assert_null(a->tcp.old); /* the last halving ended, and its old table went back */
    assert_null(b->tcp.old);
    synack_stack_free(a);
    synack_stack_free(b);
}

static void demux_table_follows_the_connections_it_holds(void **state)
{
    (void)state;
    demux_follows(false);
}

static void demux_table_keeps_working_when_it_cannot_grow(void **state)
{
    (void)state;
    demux_follows(true);
}

/* A resize that no traffic finishes (demux.c, DEMUX_IDLE_AFTER): the 2,049th connection's
 * SYN starts the table's doubling from 8,192 buckets, and then the stack falls idle. Its
 * next deadline is a millisecond later; each call of the timers then moves 4,096 old
 * buckets, a millisecond apart, and after two the old table is freed and nothing is due
 * (the SYN is still to be taken). Every connection still reaches its peer. Then enough are
 * aborted, without a segment, that the table halves: that ends on the timers too. */
static void demux_resize_ends_on_an_idle_stack(void **state)
{
    (void)state;
    enum { N = 2049, BASE = 20000 };
    struct synack_stack *a = pair_stack_sized(ADDR_A, 1, N), *b = pair_stack_sized(ADDR_B, 9, N);
    synack_time_t now = SYNACK_S(100);
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(0, 80), N, NULL, &l), 0);
    static struct synack_tcp *conn[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(synack_tcp_connect(a, &SYNACK_TEST_EP(ADDR_B, 80),
                                            &SYNACK_TEST_EP(0, (uint16_t)(BASE + i)), NULL,
                                            &conn[i], now),
                         0);
        if (i < N - 1) pump(a, b, now, 100);
        if (i == N - 2) now += SYNACK_MS(5); /* the deadline counts from the last call's time */
    }
    /* The last connect began the resize; nothing has moved since. */
    assert_non_null(a->tcp.old);
    assert_int_equal(a->tcp.old_n, 8192);
    assert_true(a->tcp.moved < 4096);
    int calls = 0;
    while (a->tcp.old && calls < 10) {
        synack_time_t d = synack_stack_next_deadline(a);
        assert_int_equal(d, now + SYNACK_MS(1));
        now = d;
        synack_stack_handle_timers(a, now);
        calls++;
    }
    assert_int_equal(calls, 2);
    assert_null(a->tcp.old);
    assert_int_equal(a->tcp.nbuckets, 16384);
    assert_int_equal(synack_stack_next_deadline(a), SYNACK_NEVER); /* the SYN waits unsent */
    /* Every connection is found where the moves put it. */
    pump(a, b, now, 100);
    static struct synack_tcp *peer[N];
    memset(peer, 0, sizeof peer);
    for (struct synack_tcp *t; synack_tcp_accept(l, &t) == 0;) {
        struct synack_tcp_info ti;
        assert_int_equal(synack_tcp_info(t, &ti), 0);
        peer[ti.remote_port - BASE] = t;
    }
    send_indices(a, b, conn, peer, N, now);
    /* Aborted until the table halves (under 16,384 / 32 = 512 connections), unsent: the
     * halving too ends on the timers, 4 calls for its 16,384 old buckets. */
    int left = N;
    for (int i = 0; !a->tcp.old; i++) {
        synack_tcp_abort(conn[i], now);
        conn[i] = NULL;
        left--;
    }
    assert_int_equal(left, 511);
    assert_int_equal(a->tcp.old_n, 16384);
    now += SYNACK_MS(3);
    for (calls = 0; a->tcp.old && calls < 10; calls++) {
        synack_time_t d = synack_stack_next_deadline(a);
        assert_true(d <= now + SYNACK_MS(1)); /* due: the last abort was 3 ms ago */
        now = d > now ? d : now;
        synack_stack_handle_timers(a, now);
        now += SYNACK_MS(1);
    }
    assert_int_equal(calls, 4);
    assert_int_equal(a->tcp.nbuckets, 8192);
    synack_stack_free(a);
    synack_stack_free(b);
}

/* Autotuning where the round trip is the processor's own time (issue 13 item 5): two
 * stacks in one loop, as bench/bulk runs them, where each round writes what fits, moves
 * every packet both ways until none is left, and costs 20 us plus a quarter of a
 * nanosecond per byte read (a path of 4 GB/s). The reader reads everything every
 * `read_every`th round; every `stall_every`th round (if not 0) costs 500 us more, as when
 * the process waits for the processor or for pages to fault in. `total` bytes move. */
struct loop_run {
    struct synack_tcp_info client, server;
    double rate; /* bytes a second of the model's time, stalls aside */
};

static void autotune_loop(int read_every, int stall_every, uint64_t total, struct loop_run *out)
{
    struct synack_stack *a = pair_stack(ADDR_A, 1), *b = pair_stack(ADDR_B, 9);
    synack_time_t now = SYNACK_S(100);
    struct synack_tcp *ta, *tb;
    pair_connect(a, b, now, &ta, &tb);
    static uint8_t chunk[256 * 1024];
    memset(chunk, 'q', sizeof chunk);
    uint64_t sent = 0, got = 0;
    synack_time_t t0 = now, stalled = 0;
    for (int round = 1; got < total && round < 1000000; round++) {
        while (sent < total) {
            size_t want = total - sent < sizeof chunk ? (size_t)(total - sent) : sizeof chunk;
            synack_ssize k = synack_tcp_send(ta, chunk, want, now);
            if (k <= 0) break;
            sent += (uint64_t)k;
        }
        synack_stack_handle_timers(a, now);
        synack_stack_handle_timers(b, now);
        pump(a, b, now, 1000);
        uint64_t before = got;
        if (round % read_every == 0)
            for (synack_ssize k; (k = synack_tcp_recv(tb, chunk, sizeof chunk, now)) > 0;)
                got += (uint64_t)k;
        pump(a, b, now, 1000);
        now += SYNACK_US(20) + (got - before) / 4;
        if (stall_every && round % stall_every == 0) {
            now += SYNACK_US(500);
            stalled += SYNACK_US(500);
        }
    }
    assert_true(got == total);
    assert_int_equal(synack_tcp_info(ta, &out->client), 0);
    assert_int_equal(synack_tcp_info(tb, &out->server), 0);
    out->rate = (double)total / ((double)(now - t0 - stalled) / 1e9);
    synack_stack_free(a);
    synack_stack_free(b);
}

/* Reading every round, the round trip grows with the window, and a receiver that sized its
 * window to twice what one round trip reads would grow it every round, each round longer
 * by as much, to the 16 MiB maximum. Sized to twice what the application reads in the
 * shortest round trip seen at the rate it reads now (the path's bandwidth-delay product;
 * what is read at the instant an interval ends counts in the next), with the slow-start
 * allowance given only when the reading beats the best before (not when it recovers from
 * a stall), the receive buffer stays within a growth step of its target, the send buffer
 * (twice cwnd, which the window bounds) within one of twice the receive buffer, and the
 * rate near the model's ceiling. */
static void autotune_in_a_loop(int stall_every)
{
    struct loop_run r;
    autotune_loop(1, stall_every, 32u << 20, &r);
    const struct synack_tcp_info *ib = &r.server, *ia = &r.client;
    assert_true(ib->counters.rcvbuf_grown > 0);
    /* The shortest round trip is the first rounds', with a 64 KiB window: 36 us. */
    assert_true(ib->rcv_rtt >= SYNACK_US(20) && ib->rcv_rtt <= SYNACK_US(40));
    /* Twice the product and four segments, and one growth step of half past that. */
    double bdp = 4.0 * (double)ib->rcv_rtt; /* 4 bytes a nanosecond */
    if ((double)ib->rcvbuf > 1.5 * (2 * bdp + 4 * 1460) || ia->sndbuf > ib->rcvbuf * 3)
        fail_msg("rcvbuf %zu, sndbuf %zu: grown with the round trip (%.0f bytes a round trip)",
                 (size_t)ib->rcvbuf, (size_t)ia->sndbuf, bdp);
    /* The model's ceiling is 4 GB/s; the buffers still move 60% of it. */
    if (r.rate < 0.6 * 4e9) fail_msg("%.2f GB/s: the window holds the rate back", r.rate / 1e9);
}

static void autotuning_stops_where_the_round_trip_only_grows_with_the_window(void **state)
{
    (void)state;
    autotune_in_a_loop(0);
}

static void autotuning_stops_there_through_stalls(void **state)
{
    (void)state;
    autotune_in_a_loop(16);
}

/* A reader on its own period: it drains the buffer every 50th round (every 1 ms and more),
 * while the round trip is a round (20 us and more). The sender fills the window at once and
 * waits for the reader, so the rate is the buffer over the period, and only a larger
 * buffer raises it: scaled to the round trip, the reading would stay below the buffer and
 * it would never grow (64 KiB a period, 65 MB/s). It grows while each growth raises the
 * rate, and the rate passes four times the 64 KiB buffer's. */
static void autotuning_grows_the_buffer_of_a_reader_on_its_own_period(void **state)
{
    (void)state;
    struct loop_run r;
    autotune_loop(50, 0, 16u << 20, &r);
    const double period = 50 * 20e-6, start = 64.0 * 1024 / period;
    if (r.server.counters.rcvbuf_grown == 0 || r.rate < 4 * start)
        fail_msg("rcvbuf %zu, grown %llu times: %.1f MB/s, against %.1f MB/s at 64 KiB a period",
                 (size_t)r.server.rcvbuf, (unsigned long long)r.server.counters.rcvbuf_grown,
                 r.rate / 1e6, start / 1e6);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(crossed_zero_window_probes_do_not_storm),
    cmocka_unit_test(bind_knows_every_holder_of_a_port_among_many),
    cmocka_unit_test(demux_table_follows_the_connections_it_holds),
    cmocka_unit_test(demux_resize_ends_on_an_idle_stack),
    cmocka_unit_test(demux_table_keeps_working_when_it_cannot_grow),
    cmocka_unit_test(autotuning_stops_where_the_round_trip_only_grows_with_the_window),
    cmocka_unit_test(autotuning_stops_there_through_stalls),
    cmocka_unit_test(autotuning_grows_the_buffer_of_a_reader_on_its_own_period),
};

SYNACK_TEST_MAIN("pair", tests)
