/* Every resource bounded and timed: TIME_WAIT as a small record without a slot, the
 * FIN_WAIT_2 limit of released connections, the orphan limit, zero-window probing of a
 * released connection, max_conns as an error, stack-wide keepalive defaults, and the
 * bounded queues with their drop counters. */
#include "tcpfix.h"

#include <string.h>

#include "tcp/conn.h"

static struct synack_stack_stats stats(struct fix *f)
{
    struct synack_stack_stats st;
    synack_stack_stats(f->s, &st);
    return st;
}

static struct synack_counters counters(struct fix *f)
{
    struct synack_counters c;
    synack_stack_counters(f->s, &c);
    return c;
}

static void one_conn(struct synack_config *cfg)
{
    cfg->max_conns = 1;
}

/* ---- memory that follows use ---- */

static struct test_mem conn_mem;

static void counted_one_conn(struct synack_config *cfg)
{
    memset(&conn_mem, 0, sizeof conn_mem);
    cfg->max_conns = 1;
    cfg->alloc = test_mem_alloc;
    cfg->free = test_mem_free;
    cfg->alloc_ctx = &conn_mem;
}

/* A counted stack with a listener and one accepted connection (f->c): returns what the
 * allocator held before the connection came. */
static size_t counted_accepted(struct fix *f)
{
    fix_init(f, counted_one_conn);
    assert_int_equal(synack_tcp_listen(f->s, &SYNACK_TEST_EP(0, f->lport), 4, NULL, &f->l), 0);
    size_t idle = conn_mem.live;
    fix_accept_peer(f, 40000);
    return idle;
}

/* A connection that holds nothing costs its TCB alone: its buffers' storage comes with
 * the first byte each holds, its scoreboard with the first segment of data or FIN in
 * flight, its out-of-order table with the first block. Data makes them appear; they go
 * when drained (connection_memory_given_back_when_drained) or with the connection. */
static void connection_memory_follows_use(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    struct synack_stack_stats st;
    synack_stack_stats(f.s, &st);
    assert_true(st.conn_bytes < 4096); /* the TCB alone */
    /* The TCB (a SYN-ACK records nothing in the scoreboard): a few KB, not the 128 KiB
     * of two empty buffers. */
    size_t opened = conn_mem.live - idle;
    if (opened > st.conn_bytes + 1024)
        fail_msg("an open connection holding no data takes %zu bytes (TCB %zu)", opened,
                 st.conn_bytes);
    /* A byte from the peer: the receive buffer's storage, 64 KiB. */
    uint8_t b = 'x';
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, &b, 1);
    assert_true(conn_mem.live >= idle + opened + f.cfg.rcvbuf);
    assert_true(conn_mem.live < idle + opened + f.cfg.rcvbuf + 1024);
    /* A byte to the peer: the send buffer's storage, 64 KiB more. */
    assert_int_equal(synack_tcp_send(f.c, &b, 1, f.now), 1);
    assert_true(conn_mem.live >= idle + opened + f.cfg.rcvbuf + f.cfg.sndbuf);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* What the allocator holds for connections beyond the stack's own (`idle`) is their TCBs
 * and conn_storage, to the byte. */
static void expect_storage(struct fix *f, size_t idle, size_t storage)
{
    struct synack_stack_stats st = stats(f);
    assert_int_equal(st.conn_storage, storage);
    assert_int_equal(conn_mem.live - idle,
                     st.conns * st.conn_bytes + st.conn_storage + st.storage_cached);
}

/* Buffers and tables are given back when they hold nothing again: the receive buffer once
 * the application has read it all, the send buffer and the scoreboard once the peer has
 * acknowledged it all. An idle connection is its TCB again; the next bytes bring storage
 * of the same size back, and arrive whole. */
static void connection_memory_given_back_when_drained(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    /* Established: a SYN-ACK and a bare ACK record nothing in the scoreboard. */
    expect_storage(&f, idle, 0);
    assert_null(f.c->fl);
    for (int round = 0; round < 2; round++) {
        static const char ask[] = "a question", answer[] = "its answer";
        fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, ask, sizeof ask);
        f.peer_nxt += sizeof ask;
        expect_storage(&f, idle, f.cfg.rcvbuf);
        assert_non_null(f.c->rcvq.buf);
        char buf[64];
        assert_int_equal(synack_tcp_recv(f.c, (uint8_t *)buf, sizeof buf, f.now), sizeof ask);
        assert_memory_equal(buf, ask, sizeof ask);
        expect_storage(&f, idle, 0);
        assert_null(f.c->rcvq.buf);
        assert_int_equal(f.c->rcvq.cap, f.cfg.rcvbuf); /* the size stays */
        assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)answer, sizeof answer, f.now),
                         sizeof answer);
        fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, sizeof answer);
        assert_memory_equal(f.last_payload, answer, sizeof answer);
        assert_non_null(f.c->fl);
        expect_storage(&f, idle,
                       f.cfg.sndbuf + sizeof(struct tcp_flight) +
                           f.c->fl->seg_cap * sizeof(struct tcp_seg));
        f.peer_ack += sizeof answer;
        fix_peer_ack(&f, f.peer_ack);
        expect_storage(&f, idle, 0);
        assert_null(f.c->sndq.buf);
        assert_null(f.c->fl);
    }
    /* A bare ACK records nothing: read data acknowledged by the delayed ACK leaves the
     * connection its TCB alone. */
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "x", 1);
    f.peer_nxt += 1;
    uint8_t byte;
    assert_int_equal(synack_tcp_recv(f.c, &byte, 1, f.now), 1);
    fix_advance(&f, SYNACK_MS(200));
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    expect_storage(&f, idle, 0);
    assert_null(f.c->fl);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* Issue 13 item 4: an idle established connection, after a KiB each way, the delayed ACK
 * of the peer's last data and a keepalive probe, costs its TCB alone (no buffer, table,
 * flight block, CUBIC state or rare block), and the TCB is at most the 512 bytes on
 * LP64 (1,752 while it held a copy of every counter; 832 while it held the scoreboard's and
 * recovery's state, CUBIC's and the keepalive settings; 544 while it held the last
 * delivery-rate sample and the SYN's RTT start apart: docs/PERFORMANCE.md). The
 * keepalive is the stack's (keepalive_idle): setting the same values on the connection
 * takes nothing either. */
static void counted_one_conn_delack(struct synack_config *cfg)
{
    counted_one_conn(cfg);
    cfg->delack_timeout = SYNACK_MS(40);
    cfg->keepalive_idle = SYNACK_S(10);
    cfg->keepalive_interval = SYNACK_S(1);
    cfg->keepalive_count = 3;
}

static void an_idle_connection_costs_its_tcb_alone(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, counted_one_conn_delack);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    size_t idle = conn_mem.live;
    fix_accept_peer(&f, 40000);
    uint8_t data[1024], buf[1024];
    memset(data, 'q', sizeof data);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, data, sizeof data);
    f.peer_nxt += sizeof data;
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), sizeof data);
    assert_int_equal(synack_tcp_send(f.c, data, sizeof data, f.now), sizeof data);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, sizeof data);
    f.peer_ack += sizeof data;
    fix_peer_ack(&f, f.peer_ack);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "x", 1);
    f.peer_nxt += 1;
    fix_advance(&f, SYNACK_MS(500)); /* the delayed ACK (RFC 5681 §4.2) */
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 1);
    assert_int_equal(synack_tcp_set_keepalive(f.c, SYNACK_S(10), SYNACK_S(1), 3), 0);
    fix_advance(&f, SYNACK_S(10)); /* RFC 1122 §4.2.3.6: a probe after the idle time */
    struct wire_tcp_repr probe;
    assert_true(fix_recv(&f, &probe));
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.delayed_acks, 1);
    assert_int_equal(info.counters.keepalive_probes, 1);
    assert_int_equal(info.counters.bytes_in, sizeof data + 1);
    assert_int_equal(info.counters.bytes_out, sizeof data);
    assert_null(f.c->rare);
    assert_null(f.c->fl);
    assert_null(f.c->ooo);
    assert_null(f.c->cc.cubic);
    expect_storage(&f, idle, 0); /* the TCB, and the stack's cache of a drained buffer */
    struct synack_stack_stats st = stats(&f);
    if (sizeof(void *) == 8 && st.conn_bytes > 512)
        fail_msg("an idle connection costs %zu bytes", st.conn_bytes);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* synack_tcp_info's delivery rate is the flight block's, for the TCB keeps no copy (issue 13
 * item 4): the latest sample while data is in flight, 0 once every byte is acknowledged and
 * the block is given back; the count of delivered bytes stays with the TCB. */
static void delivery_rate_goes_with_the_flight_block(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).delivery_rate, 0);
    uint32_t mss = f.c->eff_mss;
    fix_queue(&f, 2 * (size_t)mss);
    struct wire_tcp_repr seg;
    for (unsigned i = 0; i < 2; i++) {
        assert_true(fix_recv(&f, &seg));
        assert_int_equal(seg.payload_len, mss);
    }
    fix_expect_none(&f);
    /* The first segment is acknowledged 10 ms after both left: mss bytes in 10 ms. */
    f.now += SYNACK_MS(10);
    fix_peer_ack(&f, f.peer_ack + mss);
    struct synack_tcp_info info = fix_info(&f);
    assert_non_null(f.c->fl);
    assert_int_equal(info.delivered, mss);
    assert_int_equal(info.delivery_rate, (uint64_t)mss * 100);
    /* The second: nothing in flight, the block and its sample are gone. */
    f.now += SYNACK_MS(10);
    fix_peer_ack(&f, f.peer_ack + 2 * mss);
    info = fix_info(&f);
    assert_null(f.c->fl);
    assert_int_equal(info.delivered, 2 * mss);
    assert_int_equal(info.delivery_rate, 0);
    fix_free(&f);
}

/* Out-of-order bytes live in the receive buffer's storage past its tail: the buffer keeps
 * its storage while a block waits, even with nothing readable; the block table goes when
 * the hole is filled, the buffer when the application has read it all. */
static void receive_buffer_kept_while_out_of_order(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    uint8_t data[1500];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 1000, f.peer_ack, data + 1000, 500);
    /* Counting out_of_order brought the rare block: it stays with the TCB. */
    size_t counts = sizeof(struct tcp_rare);
    assert_non_null(f.c->rare);
    assert_non_null(f.c->ooo);
    expect_storage(&f, idle,
                   counts + f.cfg.rcvbuf + sizeof(struct tcp_ooo_table) +
                       f.c->ooo->cap * sizeof(struct tcp_ooo));
    assert_int_equal(f.c->ooo->n, 1);
    uint8_t buf[2000];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    assert_non_null(f.c->rcvq.buf);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, data, 1000);
    f.peer_nxt += sizeof data;
    expect_storage(&f, idle, counts + f.cfg.rcvbuf);
    assert_null(f.c->ooo);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), sizeof data);
    assert_memory_equal(buf, data, sizeof data);
    expect_storage(&f, idle, counts);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* The room synack_tcp_send_borrow lends stays the caller's until it commits, even when an
 * ACK finds the buffer empty in between. */
static void send_buffer_kept_while_lent(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    struct synack_piece piece[2];
    assert_true(synack_tcp_send_borrow(f.c, piece) > 0);
    memcpy(piece[0].data, "lent", 4);
    fix_peer_ack(&f, f.peer_ack); /* nothing new: the buffer is still empty */
    assert_ptr_equal(f.c->sndq.buf, piece[0].data);
    expect_storage(&f, idle, f.cfg.sndbuf);
    assert_int_equal(synack_tcp_send_commit(f.c, 4, f.now), 4);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 4);
    assert_memory_equal(f.last_payload, "lent", 4);
    fix_peer_ack(&f, f.peer_ack + 4);
    expect_storage(&f, idle, 0);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* A drained buffer's block waits in the stack's cache and the next buffer of its size takes
 * it back, with no allocation: the allocator's live bytes move only by the small tables
 * (under 4 KiB, not cached). */
static void a_drained_buffer_comes_back_from_the_stacks_cache(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"ping", 4, f.now), 4);
        fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 4);
        size_t live = conn_mem.live;
        fix_peer_ack(&f, f.peer_ack + 4);
        f.peer_ack += 4;
        expect_storage(&f, idle, 0);
        assert_int_equal(stats(&f).storage_cached, f.cfg.sndbuf); /* kept, not freed: */
        assert_true(live - conn_mem.live < 4096); /* only the small scoreboard went */
    }
    size_t live = conn_mem.live;
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"pong", 4, f.now), 4);
    assert_int_equal(stats(&f).storage_cached, 0); /* taken back, not allocated */
    assert_true(conn_mem.live - live < 4096);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 4);
    fix_peer_ack(&f, f.peer_ack + 4);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* Sends `len` bytes of "big" data on f->c, checks the segment and acknowledges it all, so
 * that the send buffer drains. */
static void send_and_drain(struct fix *f, size_t len)
{
    static const uint8_t data[8] = "bigdata";
    assert_int_equal(synack_tcp_send(f->c, data, len, f->now), (synack_ssize)len);
    fix_expect_data(f, WIRE_TCP_ACK | WIRE_TCP_PSH, f->peer_ack, f->peer_nxt, len);
    fix_peer_ack(f, f->peer_ack + (uint32_t)len);
    f->peer_ack += (uint32_t)len;
}

#define BIG_BUF ((size_t)4 << 20)

/* A block past what the cache keeps for good (4 blocks, 2 MiB together) waits there too,
 * under one deadline of the stack's: a 4 MiB buffer that drains and fills again while it
 * is in use takes the same block back each time (no allocation, so no fresh pages to fault
 * in), and once the cache has served nothing for TCP_STORE_IDLE the block goes back to the
 * allocator and the deadline with it: an idle stack holds no more than before. */
static void a_large_block_waits_in_the_cache_while_used_then_goes(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    assert_int_equal(synack_tcp_set_bufsize(f.c, BIG_BUF, 0), 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    send_and_drain(&f, 3);
    expect_storage(&f, idle, 0);
    assert_int_equal(stats(&f).storage_cached, BIG_BUF);
    synack_time_t armed = f.now + TCP_STORE_IDLE;
    assert_true(synack_stack_next_deadline(f.s) == armed);
    /* In use twice a deadline: the block comes back each time, and the deadline, when it
     * comes, is set again rather than freeing it. */
    for (int round = 0; round < 4; round++) {
        fix_advance(&f, TCP_STORE_IDLE / 2);
        size_t live = conn_mem.live;
        send_and_drain(&f, 4);
        assert_true(conn_mem.live <= live + 4096); /* no new 4 MiB: at most a scoreboard */
        assert_int_equal(stats(&f).storage_cached, BIG_BUF);
        expect_storage(&f, idle, 0);
        if (round % 2 == 1) armed += TCP_STORE_IDLE;
        assert_true(synack_stack_next_deadline(f.s) == armed);
    }
    /* The deadline after the last use is set again; the one after that finds the cache
     * unused since it was set: the block is freed, and nothing is due any more. */
    fix_run_next_timer(&f);
    assert_int_equal(stats(&f).storage_cached, BIG_BUF);
    armed += TCP_STORE_IDLE;
    assert_true(synack_stack_next_deadline(f.s) == armed);
    size_t live = conn_mem.live;
    fix_run_next_timer(&f);
    assert_true(f.now == armed);
    assert_int_equal(stats(&f).storage_cached, 0);
    assert_int_equal(live - conn_mem.live, BIG_BUF);
    expect_storage(&f, idle, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* The cache holds at most 64 MiB: a block that would take it past that pushes out the
 * oldest, which goes back to the allocator, so the newest (the sizes buffers have now)
 * stay. */
static void a_full_storage_cache_gives_back_its_oldest_block(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    const size_t first = (size_t)40 << 20, second = (size_t)48 << 20;
    assert_int_equal(synack_tcp_set_bufsize(f.c, first, 0), 0);
    send_and_drain(&f, 3);
    assert_int_equal(stats(&f).storage_cached, first);
    /* The buffer holds nothing: a larger size comes with the next byte. */
    assert_int_equal(synack_tcp_set_bufsize(f.c, second, 0), 0);
    size_t live = conn_mem.live;
    send_and_drain(&f, 4);
    assert_int_equal(stats(&f).storage_cached, second);
    assert_int_equal(conn_mem.live + first, live + second);
    expect_storage(&f, idle, 0);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

static void budget_of_1mib(struct synack_config *cfg)
{
    counted_one_conn(cfg);
    cfg->mem_budget = (size_t)1 << 20;
}

/* A stack with a memory budget caches no block larger than the budget: a drained 4 MiB
 * buffer under a budget of 1 MiB goes back to the allocator at once, with no deadline. */
static void a_budget_bounds_the_storage_cache(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, budget_of_1mib);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    size_t idle = conn_mem.live;
    fix_accept_peer(&f, 40000);
    assert_int_equal(synack_tcp_set_bufsize(f.c, BIG_BUF, 0), 0);
    send_and_drain(&f, 3);
    expect_storage(&f, idle, 0);
    assert_int_equal(stats(&f).storage_cached, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* ---- TIME_WAIT records ---- */

static void time_wait_record_frees_slot_and_buffers(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_conn);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    uint64_t id = synack_tcp_id(f.c);
    assert_int_equal(stats(&f).conns, 1);
    fix_server_closes_first(&f);
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.conns, 0);
    assert_int_equal(st.time_wait, 1);
    /* Two family-neutral addresses (IPv6 needs 32 bytes of them) and the few fields
     * RFC 9293 §3.10.7.4 needs: one cache-line pair at most. */
    assert_true(st.time_wait_bytes <= 128);
    /* A connection, even before its buffers and tables get storage: its TCB, several times
     * a record. */
    assert_true(st.conn_bytes > 2 * st.time_wait_bytes);
    assert_int_equal(counters(&f).time_wait_records, 1);
    /* The slot is free: the next client is served although max_conns is 1. */
    fix_accept_peer(&f, 40001);
    assert_int_equal(stats(&f).conns, 1);
    /* At 2*MSL (60 s) the record reports TIME_WAIT -> CLOSED with the connection's id. */
    f.now += SYNACK_S(60) - 1;
    synack_stack_handle_timers(f.s, f.now);
    assert_false(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    f.now += 1;
    synack_stack_handle_timers(f.s, f.now);
    bool closed = false;
    fix_events(&f);
    for (size_t i = 0; i < f.nevents; i++)
        if (f.events[i].type == SYNACK_EV_CLOSED && f.events[i].conn_id == id) closed = true;
    assert_true(closed);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    assert_int_equal(stats(&f).time_wait, 0);
    fix_free(&f);
}

/* RFC 9293 §3.10.7.4 from the record: a retransmitted FIN is acknowledged and restarts
 * 2*MSL; a RST is ignored (RFC 1337); an old segment is answered within the invalid-ACK
 * limit; an acceptable ACK is taken silently. */
static void time_wait_record_answers_like_the_tcb(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_server_closes_first(&f);
    synack_time_t end = synack_stack_next_deadline(f.s);
    f.now += SYNACK_S(10);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_true(synack_stack_next_deadline(f.s) == end + SYNACK_S(10));
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    fix_send(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_nxt + 5, f.peer_ack, NULL, 0);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_TIME_WAIT_RST), 2);
    assert_int_equal(stats(&f).time_wait, 1);
    /* Old data within 500 ms of the last answer: counted, not answered; later answered. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt - 10, f.peer_ack, "old", 3);
    fix_expect_none(&f);
    assert_int_equal(counters(&f).invalid_acks_suppressed, 1);
    f.now += SYNACK_MS(500);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt - 10, f.peer_ack, "old", 3);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_none(&f);
    fix_free(&f);
}

/* With timestamps the record keeps TS.Recent: its ACKs carry TSval/TSecr, a segment with an
 * older TSval fails PAWS, and a SYN with a newer TSval reopens the 4-tuple even at an
 * older sequence number (RFC 6191). */
static void time_wait_record_keeps_timestamps_paws_and_rfc6191(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 5000;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_server_closes_first(&f);
    assert_int_equal(stats(&f).time_wait, 1);
    f.now += SYNACK_S(1);
    f.peer_tsval = 6000;
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_true(seg.has_ts);
    assert_int_equal(
        seg.ts_ecr,
        5000); /* an unacceptable segment does not update TS.Recent (RFC 7323 §5.3 R2 before R3) */
    f.now += SYNACK_S(1);
    f.peer_tsval = 10; /* older than TS.Recent */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_PAWS), 1);
    /* A SYN below RCV.NXT but with a newer TSval: a new incarnation (RFC 6191 §2). */
    f.peer_tsval = 7000;
    f.peer_nxt -= 500;
    fix_peer_syn(&f, false);
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(stats(&f).time_wait, 0);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_free(&f);
}

static void no_time_wait_records(struct synack_config *cfg)
{
    cfg->max_time_wait = 0;
}

/* Table full: the connection spends TIME_WAIT whole, in its slot, as before (counted). */
static void time_wait_table_full_keeps_the_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_time_wait_records);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_server_closes_first(&f);
    assert_int_equal(stats(&f).conns, 1);
    assert_int_equal(stats(&f).time_wait, 0);
    assert_int_equal(counters(&f).time_wait_overflows, 1);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    /* The restart of 2*MSL tried the table again: still one overflow, not two. */
    assert_int_equal(counters(&f).time_wait_overflows, 1);
    fix_run_next_timer(&f);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    assert_int_equal(stats(&f).conns, 0);
    fix_free(&f);
}

/* Only the peer's FIN again (the one RCV.NXT already counts) restarts 2*MSL; a FIN with
 * any other unacceptable sequence number is answered within the invalid-ACK limit but
 * leaves the deadline alone, or a blind attacker could keep the 4-tuple in TIME_WAIT for
 * ever. Both as a record and as a whole connection (table full). */
static void time_wait_restarts_only_for_the_old_fin_trial(void (*tweak)(struct synack_config *))
{
    struct fix f;
    fix_init(&f, tweak);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_server_closes_first(&f);
    synack_time_t end = synack_stack_next_deadline(f.s);
    f.now += SYNACK_S(10);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1000, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_true(synack_stack_next_deadline(f.s) == end);
    f.now += SYNACK_S(1);
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt - 1, f.peer_ack, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_true(synack_stack_next_deadline(f.s) == end + SYNACK_S(11));
    fix_free(&f);
}

static void time_wait_restarts_only_for_the_old_fin(void **state)
{
    (void)state;
    time_wait_restarts_only_for_the_old_fin_trial(NULL);
    time_wait_restarts_only_for_the_old_fin_trial(no_time_wait_records);
}

static void cookies_always(struct synack_config *cfg)
{
    cfg->syncookies = SYNACK_SYNCOOKIES_ALWAYS;
}

/* A SYN that reopens a TIME_WAIT 4-tuple (RFC 9293 §3.10.7.4, RFC 6191) gets a SYN-ACK
 * from the SYN queue even when cookies are always on: its ISS must lie above the old
 * incarnation's sequence space, which a cookie's cannot promise. */
static void time_wait_reopen_never_uses_a_cookie(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, cookies_always);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    assert_int_equal(counters(&f).syncookies_sent, 1);
    fix_server_closes_first(&f);
    assert_int_equal(stats(&f).time_wait, 1);
    uint32_t old_snd_nxt = f.peer_ack;
    f.now += SYNACK_S(1);
    f.peer_nxt += 100000;
    fix_peer_syn(&f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_true((int32_t)(seg.seq - old_snd_nxt) > 0);
    assert_int_equal(counters(&f).syncookies_sent, 1);
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.half_open, 1);
    assert_int_equal(st.time_wait, 0);
    fix_free(&f);
}

/* Released in TIME_WAIT with data still unread: both FINs are acknowledged, so nothing is
 * said to the peer (no RST); the data is discarded and TIME_WAIT goes on as a record. */
static void release_in_time_wait_with_unread_data_becomes_a_record(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "unread", 6);
    f.peer_nxt += 6;
    assert_int_equal(synack_tcp_shutdown(f.c, f.now), 0);
    struct wire_tcp_repr seg;
    bool fin = false;
    while (fix_recv(&f, &seg))
        fin |= (seg.flags & WIRE_TCP_FIN) != 0;
    assert_true(fin);
    f.peer_ack++;
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(fix_info(&f).state, SYNACK_TIME_WAIT);
    assert_int_equal(stats(&f).time_wait, 0);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    fix_expect_none(&f);
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.conns, 0);
    assert_int_equal(st.time_wait, 1);
    fix_free(&f);
}

/* A 4-tuple in TIME_WAIT is taken: connect() to it says ADDRINUSE, and an ephemeral port
 * choice skips it. */
static void time_wait_record_holds_its_4_tuple(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint16_t lport = fix_info(&f).local_port;
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    f.peer_ack++;
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(stats(&f).time_wait, 1);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, f.rport),
                                        &SYNACK_TEST_EP(0, lport), NULL, &c, f.now),
                     SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

static void four_conns(struct synack_config *cfg)
{
    cfg->max_conns = 4;
}

/* The arithmetic: with TIME_WAIT in the slot, a server that closes first served at
 * most max_conns / 60 s clients per second. Now 200 clients in one second of virtual time
 * with max_conns 4. */
static void server_closing_first_is_not_bound_by_max_conns(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, four_conns);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    for (unsigned i = 0; i < 200; i++) {
        fix_accept_peer(&f, (uint16_t)(20000 + i));
        fix_server_closes_first(&f);
        f.now += SYNACK_MS(5);
    }
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.conns, 0);
    assert_int_equal(st.time_wait, 200);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_CONN_LIMIT), 0);
    fix_free(&f);
}

/* ---- FIN_WAIT_2 ---- */

static void fin_wait_2_of_released_connection_times_out(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_2(&f);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    /* The peer never sends its FIN: 60 s later a RST, and the slot is free. */
    f.now += SYNACK_S(60) - 1;
    synack_stack_handle_timers(f.s, f.now);
    fix_expect_none(&f);
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_RST | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_true(fix_saw_transition(&f, SYNACK_FIN_WAIT_2, SYNACK_CLOSED));
    assert_int_equal(counters(&f).fin_wait2_timeouts, 1);
    assert_int_equal(stats(&f).conns, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

/* Released while already in FIN_WAIT_2 (shutdown first) or on the way (close in
 * ESTABLISHED): both get the limit. A connection the application holds does not: a
 * half-closed connection may wait for its peer's data as long as it likes. */
static void fin_wait_2_limit_only_for_released_connections(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_2(&f);
    f.now += SYNACK_S(3600);
    synack_stack_handle_timers(f.s, f.now);
    fix_expect_none(&f);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_FIN_WAIT_2);
    fix_free(&f);

    fix_init(&f, NULL);
    fix_established_active(&f);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    f.peer_ack++;
    f.now += SYNACK_S(5);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    fix_expect_deadline(&f, f.now + SYNACK_S(60));
    fix_free(&f);
}

/* ---- orphans ---- */

static void two_orphans(struct synack_config *cfg)
{
    cfg->max_orphans = 2;
}

static void orphan_limit_resets_the_oldest(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_orphans);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    uint32_t nxt[3], ack[3];
    for (unsigned i = 0; i < 3; i++) {
        fix_accept_peer(&f, (uint16_t)(30000 + i));
        /* Closed with data unsent to a peer that never acknowledges: an orphan. */
        fix_queue(&f, 100);
        synack_tcp_close(f.c, f.now);
        f.c = NULL;
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg)) {
        }
        nxt[i] = f.peer_nxt;
        ack[i] = f.peer_ack;
        f.now += SYNACK_MS(1);
        if (i < 2) assert_int_equal(stats(&f).orphans, i + 1);
    }
    /* The third release reset the first: RST <SEQ=SND.NXT> to port 30000. */
    (void)nxt;
    (void)ack;
    assert_int_equal(counters(&f).orphans_reset, 1);
    assert_int_equal(stats(&f).orphans, 2);
    assert_int_equal(stats(&f).conns, 2);
    assert_int_equal(counters(&f).rsts_out, 1);
    fix_free(&f);
}

/* A released connection whose peer keeps its window shut: the probes are answered with a
 * zero window, and after data_retries of them the connection is reset. */
static void released_connection_stops_probing_a_shut_window(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_wnd = 0;
    fix_established_active(&f);
    fix_queue(&f, 1000);
    fix_expect_none(&f); /* the window is 0 */
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    unsigned probes = 0;
    for (int i = 0; i < 40 && counters(&f).zero_window_timeouts == 0; i++) {
        fix_run_next_timer(&f);
        struct wire_tcp_repr seg;
        while (fix_recv(&f, &seg)) {
            if (seg.flags & WIRE_TCP_RST) continue;
            probes++;
            /* The peer answers every probe, window still 0. */
            fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
        }
    }
    assert_int_equal(counters(&f).zero_window_timeouts, 1);
    assert_in_range(probes, 15, 17);
    assert_int_equal(stats(&f).conns, 0);
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
    fix_free(&f);
}

/* ---- max_conns ---- */

static void max_conns_reached_is_a_clear_error(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_conn);
    fix_established_active(&f);
    struct synack_tcp *c;
    int rc = synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, 81), &SYNACK_TEST_EP(0, 0), NULL,
                                &c, f.now);
    assert_int_equal(rc, SYNACK_ERR_CONNLIMIT);
    assert_non_null(strstr(synack_strerror(rc), "max_conns"));
    fix_free(&f);
}

/* ---- keepalive for every connection ---- */

static void ten_second_keepalive(struct synack_config *cfg)
{
    cfg->keepalive_idle = SYNACK_S(10);
    cfg->keepalive_interval = SYNACK_S(1);
    cfg->keepalive_count = 2;
}

/* An idle connection whose peer vanished is reclaimed without any per-connection call,
 * a passive one included. */
static void stack_keepalive_default_reclaims_idle_connections(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, ten_second_keepalive);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40000);
    fix_expect_deadline(&f, f.now + SYNACK_S(10));
    for (int i = 0; i < 3; i++) {
        fix_run_next_timer(&f);
        if (i < 2) fix_expect(&f, WIRE_TCP_ACK, f.peer_ack - 1, f.peer_nxt);
    }
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    fix_free(&f);
}

/* ---- bounded queues, counted ---- */

static void control_queue_full_is_counted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* 100 SYNs to a closed port, output never drained: the RST queue holds 64. */
    for (uint32_t i = 0; i < 100; i++)
        fix_send(&f, WIRE_TCP_SYN, 5000 + i, 0, NULL, 0);
    assert_int_equal(counters(&f).ctl_queue_drops, 36);
    unsigned rsts = 0;
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg))
        rsts++;
    assert_int_equal(rsts, 64);
    fix_free(&f);
}

/* The RST of a connection that ends is owed to a peer that believes in it: aborting more
 * connections than the 64 answers the queue takes for strangers still sends every one. */
static void aborting_many_connections_sends_every_rst(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 128, NULL, &f.l), 0);
    enum { N = 100 };
    struct synack_tcp *conns[N];
    uint32_t rcv_nxt[N];
    for (unsigned i = 0; i < N; i++) {
        fix_accept_peer(&f, (uint16_t)(20000 + i));
        conns[i] = f.c;
        rcv_nxt[i] = f.peer_nxt;
    }
    for (unsigned i = 0; i < N; i++)
        synack_tcp_abort(conns[i], f.now);
    unsigned rsts = 0;
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg)) {
        assert_int_equal(seg.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
        assert_int_equal(seg.dst_port, 20000 + rsts); /* in the order of the aborts */
        assert_int_equal(seg.ack, rcv_nxt[rsts]);
        rsts++;
    }
    assert_int_equal(rsts, N);
    assert_int_equal(counters(&f).ctl_queue_drops, 0);
    /* The queue is back to its size for strangers: 64 answers, the rest counted. */
    f.lport = (uint16_t)(f.lport + 1); /* a closed port */
    for (uint32_t i = 0; i < 100; i++) {
        f.rport = (uint16_t)(30000 + i);
        fix_send(&f, WIRE_TCP_ACK, 1, 1, NULL, 0);
    }
    unsigned answers = 0;
    while (fix_recv(&f, &seg))
        answers++;
    assert_int_equal(answers, 64);
    assert_int_equal(counters(&f).ctl_queue_drops, 36);
    fix_free(&f);
}

/* Closing a listener resets every connection on its queues, 128 half-open ones here. */
static void closing_a_full_listener_resets_every_half_open_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 128, NULL, &f.l), 0);
    for (unsigned i = 0; i < 128; i++) {
        f.rport = (uint16_t)(20000 + i);
        fix_peer_syn(&f, false);
    }
    unsigned synacks = 0;
    struct wire_tcp_repr seg;
    while (fix_recv(&f, &seg))
        synacks++;
    assert_int_equal(synacks, 128);
    synack_listener_close(f.l, f.now);
    f.l = NULL;
    unsigned rsts = 0;
    while (fix_recv(&f, &seg)) {
        assert_true(seg.flags & WIRE_TCP_RST);
        rsts++;
    }
    assert_int_equal(rsts, 128);
    assert_int_equal(counters(&f).ctl_queue_drops, 0);
    assert_int_equal(stats(&f).conns, 0);
    fix_free(&f);
}

static void one_conn_no_time_wait(struct synack_config *cfg)
{
    cfg->max_conns = 1;
    cfg->max_time_wait = 0;
}

/* `rounds` connects, each aborted at once: STATE, ERROR, STATE, CLOSED queued for each,
 * nothing taken. Each connection's id goes to ids[i] (when ids is not NULL). */
static void connect_and_abort(struct fix *f, size_t rounds, uint64_t *ids)
{
    for (size_t i = 0; i < rounds; i++) {
        struct synack_tcp *c;
        assert_int_equal(synack_tcp_connect(f->s, &SYNACK_TEST_EP(FIX_REMOTE, 80),
                                            &SYNACK_TEST_EP(0, 0), NULL, &c, f->now),
                         0);
        if (ids) ids[i] = synack_tcp_id(c);
        synack_tcp_abort(c, f->now);
    }
}

static void event_queue_full_is_counted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_conn_no_time_wait);
    size_t cap = stats(&f).events_max;
    /* Each connect + abort queues STATE, STATE, ERROR, CLOSED; nothing is taken. The queue
     * grows with them up to its bound, then drops and counts. */
    size_t rounds = cap / 4 + 25;
    connect_and_abort(&f, rounds, NULL);
    struct synack_stack_stats st = stats(&f);
    assert_int_equal(st.events_queued, cap);
    assert_int_equal(st.events_cap, cap);
    assert_int_equal(counters(&f).events_dropped, 4 * rounds - cap);
    assert_int_equal(st.events_nomem, 0);
    fix_free(&f);
}

/* The event queue starts small and doubles with what is pending, up to its bound; the
 * events come out in the order they were queued, none lost; emptied, it shrinks back. */
static void some_conns_no_time_wait(struct synack_config *cfg)
{
    cfg->max_conns = 256;
    cfg->max_time_wait = 0;
}

static void event_queue_grows_with_what_is_pending(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, some_conns_no_time_wait);
    struct synack_stack_stats st = stats(&f);
    size_t first = st.events_cap;
    assert_true(first < 1024);
    assert_true(st.events_max > 4 * first);
    /* Each connect + abort queues STATE, ERROR, STATE, CLOSED. */
    size_t rounds = first / 2;
    uint64_t ids[1024];
    assert_true(rounds <= sizeof ids / sizeof ids[0]);
    connect_and_abort(&f, rounds, ids);
    st = stats(&f);
    assert_int_equal(st.events_queued, 4 * rounds);
    assert_int_equal(st.events_cap, 2 * first);
    assert_int_equal(counters(&f).events_dropped, 0);
    static const enum synack_event_type order[4] = {SYNACK_EV_STATE, SYNACK_EV_ERROR,
                                                    SYNACK_EV_STATE, SYNACK_EV_CLOSED};
    struct synack_event ev;
    for (size_t i = 0; i < 4 * rounds; i++) {
        assert_int_equal(synack_stack_next_event(f.s, &ev), 0);
        assert_int_equal(ev.type, order[i % 4]);
        assert_int_equal(ev.conn_id, ids[i / 4]);
    }
    assert_int_equal(synack_stack_next_event(f.s, &ev), SYNACK_ERR_AGAIN);
    /* Emptied, it is back to its first size. */
    assert_int_equal(stats(&f).events_cap, first);
    fix_free(&f);
}

/* A counting allocator that refuses blocks of `refuse_above` bytes or more, or of exactly
 * `refuse_size` bytes, once set. */
struct refusing_mem {
    struct test_mem mem;
    size_t refuse_above; /* 0: refuses nothing */
    size_t refuse_size;  /* 0: refuses nothing */
};

static void *refusing_alloc(void *ctx, size_t size)
{
    struct refusing_mem *m = ctx;
    if (m->refuse_above && size >= m->refuse_above) return NULL;
    if (m->refuse_size && size == m->refuse_size) return NULL;
    return test_mem_alloc(&m->mem, size);
}

static void refusing_free(void *ctx, void *ptr)
{
    test_mem_free(&((struct refusing_mem *)ctx)->mem, ptr);
}

static struct refusing_mem refusing;

static void refusing_one_conn(struct synack_config *cfg)
{
    one_conn_no_time_wait(cfg);
    memset(&refusing, 0, sizeof refusing);
    cfg->alloc = refusing_alloc;
    cfg->free = refusing_free;
    cfg->alloc_ctx = &refusing;
}

/* A refusing stack with a listener and one accepted connection (f->c), nothing refused yet. */
static void refusing_accepted(struct fix *f)
{
    fix_init(f, refusing_one_conn);
    assert_int_equal(synack_tcp_listen(f->s, &SYNACK_TEST_EP(0, f->lport), 4, NULL, &f->l), 0);
    fix_accept_peer(f, 40000);
}

/* Frees the fixture: every block of the connection was given back. */
static void refusing_done(struct fix *f)
{
    fix_free(f);
    assert_int_equal(refusing.mem.live, 0);
}

/* When the allocator refuses the queue's growth, the events that do not fit are dropped
 * and counted (events_dropped, and events_nomem for the cause): none is lost silently, and
 * those queued still come out. */
static void event_queue_growth_refused_is_counted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, refusing_one_conn);
    size_t first = stats(&f).events_cap;
    /* A TCB is far smaller than the queue's next storage: only the growth is refused. */
    refusing.refuse_above = first * sizeof(struct synack_event);
    size_t rounds = first / 4 + 3;
    connect_and_abort(&f, rounds, NULL);
    struct synack_stack_stats st = stats(&f);
    struct synack_counters cn = counters(&f);
    assert_int_equal(st.events_cap, first);
    assert_int_equal(st.events_queued, first);
    assert_int_equal(cn.events_dropped, 4 * rounds - first);
    assert_int_equal(st.events_nomem, cn.events_dropped);
    assert_int_equal(synack_stack_events_queued(f.s) + cn.events_dropped, 4 * rounds);
    refusing_done(&f);
}

/* The counters every segment moves live in the TCB; the rarer ones come in a block with the
 * first of them, and synack_tcp_info reports both as one set, the same as the stack's. */
static void rarer_counters_come_with_their_block(void **state)
{
    (void)state;
    struct fix f;
    size_t idle = counted_accepted(&f);
    uint8_t data[300] = {1};
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, data, 100);
    f.peer_nxt += 100;
    uint8_t buf[400];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 100);
    assert_null(f.c->rare); /* segments and bytes only: nothing rare yet */
    expect_storage(&f, idle, 0);
    struct synack_counters before = fix_info(&f).counters;
    assert_int_equal(before.bytes_in, 100);
    assert_true(before.segs_in >= 2); /* the handshake's ACK and the data */
    /* Out of order: the block comes, and the count is in it at once. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 100, f.peer_ack, data + 100, 100);
    assert_non_null(f.c->rare);
    expect_storage(&f, idle,
                   sizeof(struct tcp_rare) + f.cfg.rcvbuf + sizeof(struct tcp_ooo_table) +
                       f.c->ooo->cap * sizeof(struct tcp_ooo));
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.counters_lost);
    assert_int_equal(info.counters.out_of_order, 1);
    assert_int_equal(info.counters.segs_in, before.segs_in + 1);
    assert_int_equal(info.counters.bytes_in, 100);
    assert_int_equal(info.counters.segs_out, counters(&f).segs_out);
    assert_int_equal(info.counters.out_of_order, counters(&f).out_of_order);
    /* The hole filled: both kinds go on counting where they were. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, data, 100);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 250, f.peer_ack, data + 250, 50);
    info = fix_info(&f);
    assert_int_equal(info.counters.out_of_order, 2);
    assert_int_equal(info.counters.bytes_in, 300);
    assert_int_equal(info.counters.segs_in, before.segs_in + 3);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* The block counts in 32 bits: a count at UINT32_MAX stays there (the stack's own, 64-bit,
 * goes on), and synack_tcp_info reads each at its place in synack_counters. */
static void rarer_counters_stop_at_32_bits(void **state)
{
    (void)state;
    struct fix f;
    counted_accepted(&f);
    uint8_t data[100] = {1};
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 100, f.peer_ack, data, 100); /* out of order */
    assert_non_null(f.c->rare);
    size_t at = offsetof(struct synack_counters, out_of_order) / sizeof(uint64_t);
    assert_int_equal(f.c->rare->counts[at], 1);
    f.c->rare->counts[at] = UINT32_MAX - 1;
    uint64_t stack_before = counters(&f).out_of_order;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 300, f.peer_ack, data, 100);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 500, f.peer_ack, data, 100);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.counters.out_of_order, UINT32_MAX);
    assert_int_equal(counters(&f).out_of_order, stack_before + 2);
    /* Its neighbours in synack_counters are untouched. */
    assert_int_equal(info.counters.segs_in, f.c->segs_in);
    fix_free(&f);
    assert_int_equal(conn_mem.live, 0);
}

/* When the allocator refuses the block of rarer counters, the connection works on, the
 * stack counts, and synack_tcp_info says counts are missing; the next count tries again. */
static void rarer_counters_refused_keep_the_connection_working(void **state)
{
    (void)state;
    struct fix f;
    refusing_accepted(&f);
    refusing.refuse_size = sizeof(struct tcp_rare);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 3 + 1);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 100, f.peer_ack, data + 100, 100);
    assert_null(f.c->rare);
    struct synack_tcp_info info = fix_info(&f);
    assert_true(info.counters_lost);
    assert_int_equal(info.counters.out_of_order, 0);
    assert_int_equal(counters(&f).out_of_order, 1);
    assert_int_equal(info.ooo_blocks, 1); /* the data is held all the same */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, data, 100);
    uint8_t buf[400];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 200);
    assert_memory_equal(buf, data, 200);
    /* Allowed again: the next rare count brings the block. */
    refusing.refuse_size = 0;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 250, f.peer_ack, data + 250, 50);
    assert_non_null(f.c->rare);
    info = fix_info(&f);
    assert_int_equal(info.counters.out_of_order, 1);
    assert_int_equal(counters(&f).out_of_order, 2);
    assert_int_equal(info.counters.bytes_in, 200);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 200, f.peer_ack, data + 200, 50);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 100);
    assert_memory_equal(buf, data + 200, 100);
    refusing_done(&f);
}

/* The flight block (scoreboard and loss-detection state) comes with the first segment of
 * data in flight. If the allocator refuses it, nothing goes out that could not be
 * recorded: the data waits in the send buffer, the connection stays established, and the
 * next call that sends (here the application's next write) brings the block and the data,
 * whole. */
static void flight_block_refused_holds_the_data(void **state)
{
    (void)state;
    struct fix f;
    refusing_accepted(&f);
    refusing.refuse_size = sizeof(struct tcp_flight) + 8 * sizeof(struct tcp_seg);
    static const char first[] = "first", second[] = "second";
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)first, 5, f.now), 5);
    fix_expect_none(&f);
    assert_null(f.c->fl);
    assert_int_equal(fix_info(&f).snd_nxt, fix_info(&f).snd_una);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    refusing.refuse_size = 0;
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)second, 6, f.now), 6);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_ack, f.peer_nxt, 11);
    assert_memory_equal(f.last_payload, "firstsecond", 11);
    assert_non_null(f.c->fl);
    f.peer_ack += 11;
    fix_peer_ack(&f, f.peer_ack);
    assert_null(f.c->fl); /* all acknowledged: given back */
    refusing_done(&f);
}

/* Keepalive and user-timeout settings are the stack's unless the connection is given its
 * own: the same values as the configuration take nothing, different ones live in the rare
 * block, and when that cannot be had the setter says NOMEM and the connection keeps the
 * settings it had (here the configuration's: no keepalive). */
static void keepalive_settings_of_its_own_come_with_the_rare_block(void **state)
{
    (void)state;
    struct fix f;
    refusing_accepted(&f);
    assert_int_equal(synack_tcp_set_keepalive(f.c, 0, 0, 0), 0); /* off, as configured */
    assert_int_equal(synack_tcp_set_user_timeout(f.c, 0), 0);
    assert_null(f.c->rare);
    refusing.refuse_size = sizeof(struct tcp_rare);
    assert_int_equal(synack_tcp_set_keepalive(f.c, SYNACK_S(10), SYNACK_S(1), 2), SYNACK_ERR_NOMEM);
    assert_int_equal(synack_tcp_set_user_timeout(f.c, SYNACK_S(5)), SYNACK_ERR_NOMEM);
    assert_null(f.c->rare);
    fix_advance(&f, SYNACK_S(20));
    fix_expect_none(&f); /* no probe: keepalive stayed off */
    refusing.refuse_size = 0;
    assert_int_equal(synack_tcp_set_keepalive(f.c, SYNACK_S(10), SYNACK_S(1), 2), 0);
    assert_non_null(f.c->rare);
    fix_advance(&f, SYNACK_S(10)); /* RFC 1122 §4.2.3.6: a probe after the idle time */
    struct wire_tcp_repr probe;
    assert_true(fix_recv(&f, &probe));
    assert_int_equal(probe.seq, f.peer_ack - 1);
    assert_int_equal(fix_info(&f).counters.keepalive_probes, 1);
    refusing_done(&f);
}

/* The time of the last answer to an invalid segment (the invalid-ACK rate limit) is in the
 * rare block, which counting the invalid segment brings. Without the block no answer can
 * be rate-limited: it is withheld, as a challenge ACK is, and the stack counts it. */
static void invalid_segment_without_the_rare_block_gets_no_ack(void **state)
{
    (void)state;
    struct fix f;
    refusing_accepted(&f);
    refusing.refuse_size = sizeof(struct tcp_rare);
    /* RFC 9293 §3.10.7.4: a segment outside the window is answered with an ACK. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 1000000, f.peer_ack, "x", 1);
    fix_expect_none(&f);
    assert_int_equal(counters(&f).invalid_acks_suppressed, 1);
    refusing.refuse_size = 0;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 1000000, f.peer_ack, "x", 1);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_non_null(f.c->rare);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    refusing_done(&f);
}

/* The challenge-ACK budget lives in the rare block too: without it no budget is drawn and
 * the challenge ACK is withheld (RFC 5961 §7 rate limiting), counted by the stack; the
 * connection stays as it was, and with the block allowed the next SYN gets its answer. */
static void challenge_ack_without_the_rare_block_is_withheld(void **state)
{
    (void)state;
    struct fix f;
    refusing_accepted(&f);
    fix_expect_none(&f);
    refusing.refuse_size = sizeof(struct tcp_rare);
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt + 10, 0, NULL, 0);
    fix_expect_none(&f);
    assert_null(f.c->rare);
    assert_int_equal(counters(&f).challenge_acks_suppressed, 1);
    assert_int_equal(counters(&f).challenge_acks, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    refusing.refuse_size = 0;
    fix_send(&f, WIRE_TCP_SYN, f.peer_nxt + 10, 0, NULL, 0);
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_non_null(f.c->rare);
    assert_int_equal(fix_info(&f).counters.challenge_acks, 1);
    assert_int_equal(counters(&f).challenge_acks, 1);
    uint8_t b = 'x';
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, &b, 1);
    uint8_t buf[4];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 1);
    refusing_done(&f);
}

/* A stack made for a million connections allocates little at creation: the event queue
 * no longer reserves 4 * max_conns events (72 bytes each, 275 MiB) up front. */
static void stack_for_a_million_connections_allocates_little(void **state)
{
    (void)state;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(FIX_LOCAL);
    cfg.max_conns = 1000000;
    struct test_mem mem = {0};
    cfg.alloc = test_mem_alloc;
    cfg.free = test_mem_free;
    cfg.alloc_ctx = &mem;
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_stack_stats st;
    synack_stack_stats(s, &st);
    assert_true(st.events_max >= 4 * cfg.max_conns);
    assert_true(st.events_cap * sizeof(struct synack_event) < 64 * 1024);
    /* What is left is sized by max_conns at 8 bytes per connection (a pointer for each of
     * the deadline heap's slots): 12 bytes per connection at most, against some 300 with the
     * queue reserved. The demux table grows with the connections it holds (demux.c), so a
     * table sized at creation, 8 bytes a connection at a bucket each, fails this. */
    if (mem.live > 12 * cfg.max_conns)
        fail_msg("a stack for %zu connections allocates %zu bytes at creation", cfg.max_conns,
                 mem.live);
    synack_stack_free(s);
    assert_int_equal(mem.live, 0);
}

/* ---- mem_budget ---- */

static void budget_20k(struct synack_config *cfg)
{
    cfg->mem_budget = 20000;
}

/* At the budget the receive window stops growing (the edge already offered stays) and
 * out-of-order data is dropped, counted; in-order data inside the offered window is still
 * taken. Reading frees the budget. */
static void mem_budget_holds_the_window_and_drops_out_of_order(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, budget_20k);
    fix_established_active(&f);
    static uint8_t chunk[1000];
    for (int i = 0; i < 20; i++) {
        fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, chunk, sizeof chunk);
        f.peer_nxt += sizeof chunk;
    }
    struct wire_tcp_repr seg;
    uint32_t edge = 0;
    while (fix_recv(&f, &seg))
        edge = seg.ack + seg.window;
    assert_int_equal(stats(&f).mem_held, 20000);
    /* Out of order: dropped, counted, acknowledged at once. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt + 5000, f.peer_ack, chunk, sizeof chunk);
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.ack, f.peer_nxt);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_MEM_BUDGET), 1);
    assert_int_equal(fix_info(&f).ooo_blocks, 0);
    /* In order, inside what was offered: taken; the edge does not move. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, chunk, sizeof chunk);
    f.peer_nxt += sizeof chunk;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.ack, f.peer_nxt);
    assert_int_equal(seg.ack + seg.window, edge);
    assert_int_equal(stats(&f).mem_held, 21000);
    /* The application reads: the budget is free, the window grows again. */
    uint8_t buf[32768];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 21000);
    assert_int_equal(stats(&f).mem_held, 0);
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, chunk, sizeof chunk);
    f.peer_nxt += sizeof chunk;
    assert_true(fix_recv(&f, &seg));
    assert_true(seg.ack + seg.window > edge);
    fix_free(&f);
}

/* At the budget send() takes nothing on a connection with data queued (AGAIN, then
 * WRITABLE when its ACK frees the budget), and one segment on one with nothing queued. */
static void mem_budget_holds_send_but_starves_nobody(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, budget_20k);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 4, NULL, &f.l), 0);
    fix_accept_peer(&f, 40001);
    struct synack_tcp *b = f.c;
    fix_accept_peer(&f, 40000);
    static uint8_t data[30000];
    /* The peer's window (65535) takes it all; nothing is acknowledged yet. */
    assert_int_equal(synack_tcp_send(f.c, data, 25000, f.now), 25000);
    assert_true(stats(&f).mem_held >= 20000);
    assert_int_equal(synack_tcp_send(f.c, data, 100, f.now), SYNACK_ERR_AGAIN);
    /* The other connection has nothing queued: one segment's worth. */
    synack_ssize n = synack_tcp_send(b, data, 10000, f.now);
    assert_int_equal(n, fix_info(&f).snd_eff_mss);
    assert_int_equal(counters(&f).mem_budget_waits, 2);
    struct wire_tcp_repr seg;
    uint32_t sent_end = f.peer_ack;
    while (fix_recv(&f, &seg))
        if (seg.dst_port == 40000) sent_end = seg.seq + (uint32_t)seg.payload_len;
    /* What went out of the first is acknowledged: below the budget again, WRITABLE, and
     * send() takes again. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, sent_end, NULL, 0);
    assert_true(stats(&f).mem_held < 20000);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    assert_int_equal(synack_tcp_send(f.c, data, 100, f.now), 100);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(connection_memory_follows_use),
    cmocka_unit_test(connection_memory_given_back_when_drained),
    cmocka_unit_test(an_idle_connection_costs_its_tcb_alone),
    cmocka_unit_test(delivery_rate_goes_with_the_flight_block),
    cmocka_unit_test(receive_buffer_kept_while_out_of_order),
    cmocka_unit_test(send_buffer_kept_while_lent),
    cmocka_unit_test(a_drained_buffer_comes_back_from_the_stacks_cache),
    cmocka_unit_test(a_large_block_waits_in_the_cache_while_used_then_goes),
    cmocka_unit_test(a_budget_bounds_the_storage_cache),
    cmocka_unit_test(a_full_storage_cache_gives_back_its_oldest_block),
    cmocka_unit_test(time_wait_record_frees_slot_and_buffers),
    cmocka_unit_test(time_wait_record_answers_like_the_tcb),
    cmocka_unit_test(time_wait_record_keeps_timestamps_paws_and_rfc6191),
    cmocka_unit_test(time_wait_table_full_keeps_the_connection),
    cmocka_unit_test(time_wait_record_holds_its_4_tuple),
    cmocka_unit_test(time_wait_restarts_only_for_the_old_fin),
    cmocka_unit_test(time_wait_reopen_never_uses_a_cookie),
    cmocka_unit_test(release_in_time_wait_with_unread_data_becomes_a_record),
    cmocka_unit_test(server_closing_first_is_not_bound_by_max_conns),
    cmocka_unit_test(fin_wait_2_of_released_connection_times_out),
    cmocka_unit_test(fin_wait_2_limit_only_for_released_connections),
    cmocka_unit_test(orphan_limit_resets_the_oldest),
    cmocka_unit_test(released_connection_stops_probing_a_shut_window),
    cmocka_unit_test(max_conns_reached_is_a_clear_error),
    cmocka_unit_test(stack_keepalive_default_reclaims_idle_connections),
    cmocka_unit_test(control_queue_full_is_counted),
    cmocka_unit_test(aborting_many_connections_sends_every_rst),
    cmocka_unit_test(closing_a_full_listener_resets_every_half_open_connection),
    cmocka_unit_test(event_queue_full_is_counted),
    cmocka_unit_test(event_queue_grows_with_what_is_pending),
    cmocka_unit_test(event_queue_growth_refused_is_counted),
    cmocka_unit_test(rarer_counters_come_with_their_block),
    cmocka_unit_test(rarer_counters_stop_at_32_bits),
    cmocka_unit_test(rarer_counters_refused_keep_the_connection_working),
    cmocka_unit_test(flight_block_refused_holds_the_data),
    cmocka_unit_test(keepalive_settings_of_its_own_come_with_the_rare_block),
    cmocka_unit_test(invalid_segment_without_the_rare_block_gets_no_ack),
    cmocka_unit_test(challenge_ack_without_the_rare_block_is_withheld),
    cmocka_unit_test(stack_for_a_million_connections_allocates_little),
    cmocka_unit_test(mem_budget_holds_the_window_and_drops_out_of_order),
    cmocka_unit_test(mem_budget_holds_send_but_starves_nobody),
};

SYNACK_TEST_MAIN("resources", tests)
