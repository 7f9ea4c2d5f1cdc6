/* drivers/inproc: the in-process link. Push and pull against the link's own recv and send
 * (queues, times, bounds, counters, wake-ups); a stack over the link with the test playing
 * the TCP peer by hand; and two threads, the embedder's and the stack's. Waits that must
 * end are guarded by alarm(), so a wake-up that never comes fails the test instead of
 * hanging it; nothing asserts on how long anything took. */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "synack/link.h"

#define HANG_GUARD_S 30
#define ADDR_STACK 0xc6120001u /* 198.18.0.1: the stack */
#define ADDR_PEER 0xc6120002u  /* 198.18.0.2: the peer the test plays */

static struct synack_link *open_inproc(const struct synack_inproc_config *cfg)
{
    struct synack_link *l = NULL;
    assert_int_equal(synack_inproc_open(&l, cfg), 0);
    assert_non_null(l);
    return l;
}

/* `len` bytes of a pattern that depends on `seed`, so packets differ. */
static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31u + seed * 7u + 1u);
}

static struct synack_link_stats stats_of(const struct synack_link *l)
{
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    return st;
}

/* Does `fd` poll readable now? */
static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- push and recv, send and pull ----------------------------------------------------------- */

static void inproc_push_recv_round_trip(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    assert_string_equal(l->ops->kind, "inproc");
    assert_int_equal(synack_link_mtu(l), 1500);
    static const size_t sizes[] = {1, 20, 576, 1500};
    uint8_t pkt[1500], in[2048];
    uint64_t bytes = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill(pkt, sizes[i], (unsigned)i);
        assert_int_equal(synack_inproc_push(l, pkt, sizes[i], 0), 0);
        memset(pkt, 0, sizes[i]); /* the push copied it */
        assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), (synack_ssize)sizes[i]);
        fill(pkt, sizes[i], (unsigned)i);
        assert_memory_equal(in, pkt, sizes[i]);
        bytes += sizes[i];
    }
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.rx_packets, 4);
    assert_int_equal(st.rx_bytes, bytes);
    assert_int_equal(st.rx_errors, 0);
    assert_int_equal(st.tx_packets, 0);
    synack_link_free(l);
}

/* What the stack sends comes out of pull byte for byte, with the `now` of its send. */
static void inproc_send_pull_reports_send_time(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t pkt[1500], out[1500];
    fill(pkt, 700, 3);
    assert_int_equal(synack_link_send(l, pkt, 700, SYNACK_MS(1234)), 0);
    fill(pkt, 40, 4);
    assert_int_equal(synack_link_send(l, pkt, 40, SYNACK_MS(1300)), 0);
    synack_time_t at = 0;
    assert_int_equal(synack_inproc_pull(l, out, sizeof(out), &at), 700);
    assert_int_equal(at, SYNACK_MS(1234));
    fill(pkt, 700, 3);
    assert_memory_equal(out, pkt, 700);
    assert_int_equal(synack_inproc_pull(l, out, sizeof(out), NULL), 40); /* sent_at optional */
    fill(pkt, 40, 4);
    assert_memory_equal(out, pkt, 40);
    assert_int_equal(synack_inproc_pull(l, out, sizeof(out), &at), SYNACK_ERR_AGAIN);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.tx_packets, 2);
    assert_int_equal(st.tx_bytes, 740);
    assert_int_equal(st.tx_errors, 0);
    synack_link_free(l);
}

/* Packets of one arrival time come out in the order pushed; sends in the order sent. */
static void inproc_fifo_order_both_ways(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t pkt[64], in[64];
    for (unsigned i = 0; i < 100; i++) {
        fill(pkt, sizeof(pkt), i);
        assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), SYNACK_MS(5)), 0);
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), i), 0);
    }
    for (unsigned i = 0; i < 100; i++) {
        fill(pkt, sizeof(pkt), i);
        assert_int_equal(synack_link_recv(l, in, sizeof(in), SYNACK_MS(5)), (synack_ssize)64);
        assert_memory_equal(in, pkt, sizeof(pkt));
        synack_time_t at;
        assert_int_equal(synack_inproc_pull(l, in, sizeof(in), &at), (synack_ssize)64);
        assert_memory_equal(in, pkt, sizeof(pkt));
        assert_int_equal(at, i);
    }
    synack_link_free(l);
}

/* A packet pushed for a later time is not handed out before it, and next_deadline says
 * when it is due. */
static void inproc_future_arrival_waits_for_its_time(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t pkt[100], in[1500];
    fill(pkt, sizeof(pkt), 1);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), SYNACK_MS(10)), 0);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(10));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), SYNACK_MS(10) - 1), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(10));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), SYNACK_MS(10)), (synack_ssize)100);
    assert_memory_equal(in, pkt, sizeof(pkt));
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER);
    assert_int_equal(stats_of(l).rx_packets, 1);
    synack_link_free(l);
}

/* Arrivals go in order of their time, ties in the order pushed: a packet pushed for an
 * earlier time overtakes those pushed before it. */
static void inproc_earlier_arrival_overtakes(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t a[10] = {'a'}, b[11] = {'b'}, c[12] = {'c'}, d[13] = {'d'}, in[64];
    assert_int_equal(synack_inproc_push(l, a, sizeof(a), 200), 0);
    assert_int_equal(synack_inproc_push(l, b, sizeof(b), 100), 0);
    assert_int_equal(synack_inproc_push(l, c, sizeof(c), 200), 0);
    assert_int_equal(synack_inproc_push(l, d, sizeof(d), 50), 0);
    assert_int_equal(synack_link_next_deadline(l), 50);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 150), (synack_ssize)sizeof(d));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 150), (synack_ssize)sizeof(b));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 150), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_next_deadline(l), 200);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 200), (synack_ssize)sizeof(a));
    assert_int_equal(in[0], 'a');
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 200), (synack_ssize)sizeof(c));
    assert_int_equal(in[0], 'c');
    synack_link_free(l);
}

/* ---- bounds and bad input ----------------------------------------------------------------- */

/* The queue towards the stack refuses a push beyond its packet or byte bound (AGAIN,
 * rx_errors) and takes one again once the stack has read. */
static void inproc_rx_bound_refuses_push(void **state)
{
    (void)state;
    struct synack_inproc_config cfg = {.rx_packets = 4};
    struct synack_link *l = open_inproc(&cfg);
    uint8_t pkt[1500], in[1500];
    fill(pkt, sizeof(pkt), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(synack_inproc_push(l, pkt, 100, 0), 0);
    assert_int_equal(synack_inproc_push(l, pkt, 100, 0), SYNACK_ERR_AGAIN);
    assert_int_equal(stats_of(l).rx_errors, 1);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), 100);
    assert_int_equal(synack_inproc_push(l, pkt, 100, 0), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), 100);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    assert_int_equal(stats_of(l).rx_packets, 5);
    synack_link_free(l);

    /* Bytes: two full-sized packets fill 3000 bytes' worth; one byte more does not fit. */
    cfg = (struct synack_inproc_config){.rx_bytes = 3000};
    l = open_inproc(&cfg);
    assert_int_equal(synack_inproc_push(l, pkt, 1500, 0), 0);
    assert_int_equal(synack_inproc_push(l, pkt, 1499, 0), 0);
    assert_int_equal(synack_inproc_push(l, pkt, 2, 0), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_inproc_push(l, pkt, 1, 0), 0);
    assert_int_equal(stats_of(l).rx_errors, 1);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), 1500);
    assert_int_equal(synack_inproc_push(l, pkt, 1500, 0), 0);
    synack_link_free(l);
}

/* The default bound: 256 packets each way. */
static void inproc_default_bound_is_256_packets(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t pkt[20] = {0x45};
    for (int i = 0; i < 256; i++) {
        assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), 0), 0);
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), 0);
    }
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), 0), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.rx_errors, 1);
    assert_int_equal(st.tx_errors, 1);
    assert_int_equal(st.tx_packets, 256);
    synack_link_free(l);
}

/* A send beyond the queue from the stack is dropped (AGAIN, tx_errors, not in tx_packets);
 * what was queued before it still comes out, in order. */
static void inproc_tx_bound_drops_send(void **state)
{
    (void)state;
    struct synack_inproc_config cfg = {.tx_packets = 3};
    struct synack_link *l = open_inproc(&cfg);
    uint8_t pkt[200], out[1500];
    for (unsigned i = 0; i < 4; i++) {
        fill(pkt, sizeof(pkt), i);
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), i), i < 3 ? 0 : SYNACK_ERR_AGAIN);
    }
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.tx_packets, 3);
    assert_int_equal(st.tx_bytes, 600);
    assert_int_equal(st.tx_errors, 1);
    for (unsigned i = 0; i < 3; i++) {
        synack_time_t at;
        assert_int_equal(synack_inproc_pull(l, out, sizeof(out), &at), 200);
        fill(pkt, sizeof(pkt), i);
        assert_memory_equal(out, pkt, sizeof(pkt));
        assert_int_equal(at, i);
    }
    assert_int_equal(synack_inproc_pull(l, out, sizeof(out), NULL), SYNACK_ERR_AGAIN);
    synack_link_free(l);

    cfg = (struct synack_inproc_config){.tx_bytes = 2000};
    l = open_inproc(&cfg);
    assert_int_equal(synack_link_send(l, pkt, 200, 0), 0);
    assert_int_equal(synack_link_send(l, out, 1500, 0), 0);
    assert_int_equal(synack_link_send(l, out, 301, 0), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_link_send(l, out, 300, 0), 0);
    assert_int_equal(stats_of(l).tx_errors, 1);
    synack_link_free(l);
}

/* A pull into too small a buffer leaves the packet first in line, uncounted. */
static void inproc_pull_bufsz_keeps_packet(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    uint8_t pkt[100], second[30], out[100];
    fill(pkt, sizeof(pkt), 5);
    fill(second, sizeof(second), 6);
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 77), 0);
    assert_int_equal(synack_link_send(l, second, sizeof(second), 78), 0);
    synack_time_t at = 0;
    assert_int_equal(synack_inproc_pull(l, out, 99, &at), SYNACK_ERR_BUFSZ);
    assert_int_equal(synack_inproc_pull(l, out, 0, &at), SYNACK_ERR_BUFSZ);
    assert_int_equal(at, 0); /* untouched */
    assert_int_equal(synack_inproc_pull(l, out, 100, &at), 100);
    assert_memory_equal(out, pkt, sizeof(pkt));
    assert_int_equal(at, 77);
    assert_int_equal(synack_inproc_pull(l, out, 100, &at), 30);
    assert_memory_equal(out, second, sizeof(second));
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.tx_errors, 0);
    assert_int_equal(st.rx_errors, 0);
    synack_link_free(l);
}

/* Empty and oversized packets are refused both ways and counted; exactly mtu bytes pass. A
 * recv into too small a buffer drops the packet (the vtable's rule) and counts it. */
static void inproc_bad_lengths_refused(void **state)
{
    (void)state;
    struct synack_inproc_config cfg = {.mtu = 576};
    struct synack_link *l = open_inproc(&cfg);
    assert_int_equal(synack_link_mtu(l), 576);
    uint8_t pkt[577], in[600];
    fill(pkt, sizeof(pkt), 9);
    assert_int_equal(synack_inproc_push(l, pkt, 0, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_push(l, pkt, 577, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_push(l, NULL, 20, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_push(l, pkt, 20, SYNACK_NEVER), SYNACK_ERR_INVAL);
    assert_int_equal(synack_link_next_deadline(l), SYNACK_NEVER); /* nothing was queued */
    assert_int_equal(synack_inproc_push(l, pkt, 576, 0), 0);
    assert_int_equal(stats_of(l).rx_errors, 4);
    assert_int_equal(synack_link_recv(l, in, 575, 0), SYNACK_ERR_BUFSZ);
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    assert_int_equal(stats_of(l).rx_errors, 5);
    assert_int_equal(stats_of(l).rx_packets, 0);

    assert_int_equal(synack_link_send(l, pkt, 0, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_link_send(l, pkt, 577, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_link_send(l, NULL, 20, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_link_send(l, pkt, 576, 0), 0);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.tx_errors, 3);
    assert_int_equal(st.tx_packets, 1);
    assert_int_equal(synack_inproc_pull(l, in, sizeof(in), NULL), 576);
    assert_int_equal(synack_inproc_pull(l, in, sizeof(in), NULL), SYNACK_ERR_AGAIN);
    synack_link_free(l);
}

static void inproc_rejects_bad_arguments(void **state)
{
    (void)state;
    struct synack_link *l = (struct synack_link *)(uintptr_t)1;
    assert_int_equal(synack_inproc_open(NULL, NULL), SYNACK_ERR_INVAL);
    static const struct synack_inproc_config bad[] = {
        {.mtu = 67},
        {.mtu = 65536},
        {.rx_packets = SYNACK_INPROC_MAX_PACKETS + 1},
        {.tx_packets = SYNACK_INPROC_MAX_PACKETS + 1},
        {.rx_bytes = 1499},
        {.mtu = 9000, .tx_bytes = 8999},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(synack_inproc_open(&l, &bad[i]), SYNACK_ERR_INVAL);
        assert_null(l);
        l = (struct synack_link *)(uintptr_t)1;
    }
    struct synack_inproc_config edge = {.mtu = 68, .rx_packets = 1, .tx_bytes = 68};
    assert_int_equal(synack_inproc_open(&l, &edge), 0);
    synack_link_free(l);
    edge = (struct synack_inproc_config){.mtu = 65535};
    assert_int_equal(synack_inproc_open(&l, &edge), 0);
    synack_link_free(l);

    uint8_t pkt[20] = {0x45}, buf[64];
    assert_int_equal(synack_inproc_push(NULL, pkt, sizeof(pkt), 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_pull(NULL, buf, sizeof(buf), NULL), SYNACK_ERR_INVAL);

    /* A wrapper is not an in-process link: push and pull go to the pointer open gave,
     * which the wrapper now owns and which keeps working under it. */
    struct synack_link *inner = open_inproc(NULL), *wrapped = NULL;
    struct synack_fault_params fp;
    synack_fault_params_default(&fp);
    assert_int_equal(synack_fault_wrap(&wrapped, inner, &fp, 1), 0);
    assert_int_equal(synack_inproc_push(wrapped, pkt, sizeof(pkt), 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_pull(wrapped, buf, sizeof(buf), NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_push(inner, pkt, sizeof(pkt), 0), 0);
    assert_int_equal(synack_link_recv(wrapped, buf, sizeof(buf), 0), (synack_ssize)sizeof(pkt));
    assert_int_equal(synack_link_send(wrapped, pkt, sizeof(pkt), 3), 0);
    assert_int_equal(synack_inproc_pull(inner, NULL, sizeof(buf), NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_inproc_pull(inner, buf, sizeof(buf), NULL), (synack_ssize)sizeof(pkt));
    synack_link_free(wrapped); /* frees inner too */
}

/* ---- wake-ups ----------------------------------------------------------------------------- */

/* The fd polls readable from a push until a recv returns AGAIN, also for an arrival
 * still ahead (its deadline is news to a sleeping loop); nothing else makes it readable. */
static void inproc_fd_readable_from_push_to_again(void **state)
{
    (void)state;
    struct synack_link *l = open_inproc(NULL);
    int fd = synack_link_fd(l);
    assert_true(fd >= 0);
    uint8_t pkt[40] = {0x45}, in[64];
    assert_false(fd_readable(fd));
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), 0); /* the other direction */
    assert_false(fd_readable(fd));
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), 0), 0);
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), 0), 0);
    assert_true(fd_readable(fd));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), (synack_ssize)sizeof(pkt));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), (synack_ssize)sizeof(pkt));
    assert_true(fd_readable(fd)); /* not until AGAIN */
    assert_int_equal(synack_link_recv(l, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    assert_false(fd_readable(fd));

    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), SYNACK_MS(3)), 0);
    assert_true(fd_readable(fd));
    assert_int_equal(synack_link_recv(l, in, sizeof(in), SYNACK_MS(1)), SYNACK_ERR_AGAIN);
    assert_false(fd_readable(fd)); /* the deadline takes over */
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(3));
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), SYNACK_MS(2)), 0);
    assert_true(fd_readable(fd)); /* an earlier deadline: the loop must re-arm */
    assert_int_equal(synack_link_next_deadline(l), SYNACK_MS(2));
    assert_int_equal(synack_inproc_pull(l, in, sizeof(in), NULL), (synack_ssize)sizeof(pkt));
    assert_true(fd_readable(fd)); /* pull does not touch the stack's side */
    synack_link_free(l);
}

struct hook_log {
    size_t calls;
    size_t waiting[8];
    struct synack_link *link;
    bool forward;       /* pull the packet from inside the hook */
    size_t forwarded;   /* packets pulled there */
    size_t last_len;    /* their length */
    synack_time_t last; /* their send time */
};

static void hook_record(void *ctx, struct synack_link *l, size_t waiting)
{
    struct hook_log *h = ctx;
    if (h->calls < 8) h->waiting[h->calls] = waiting;
    h->calls++;
    h->link = l;
    if (!h->forward) return;
    uint8_t buf[1500];
    synack_ssize n = synack_inproc_pull(l, buf, sizeof(buf), &h->last);
    if (n > 0) {
        h->forwarded++;
        h->last_len = (size_t)n;
    }
}

/* on_send is called once per packet queued, with the link and how many wait (1: the queue
 * was empty), never for a refused send; a hook may pull at once (a program forwarding
 * packets as the stack sends them). */
static void inproc_on_send_hook_wakes(void **state)
{
    (void)state;
    struct hook_log h = {0};
    struct synack_inproc_config cfg = {.tx_packets = 3, .on_send = hook_record, .on_send_ctx = &h};
    struct synack_link *l = open_inproc(&cfg);
    uint8_t pkt[60] = {0x45}, out[64];
    for (int i = 0; i < 3; i++)
        assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), 0);
    assert_int_equal(h.calls, 3);
    assert_ptr_equal(h.link, l);
    assert_int_equal(h.waiting[0], 1);
    assert_int_equal(h.waiting[1], 2);
    assert_int_equal(h.waiting[2], 3);
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), SYNACK_ERR_AGAIN); /* full */
    assert_int_equal(synack_link_send(l, pkt, 0, 0), SYNACK_ERR_INVAL);
    assert_int_equal(h.calls, 3);
    assert_int_equal(synack_inproc_push(l, pkt, sizeof(pkt), 0), 0); /* the other direction */
    assert_int_equal(h.calls, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(synack_inproc_pull(l, out, sizeof(out), NULL), (synack_ssize)sizeof(pkt));
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), 0), 0);
    assert_int_equal(h.waiting[3], 1);
    synack_link_free(l);

    /* A hook that forwards: each packet is pulled the moment it is sent. */
    struct hook_log f = {.forward = true};
    cfg = (struct synack_inproc_config){.on_send = hook_record, .on_send_ctx = &f};
    l = open_inproc(&cfg);
    assert_int_equal(synack_link_send(l, pkt, sizeof(pkt), SYNACK_MS(8)), 0);
    assert_int_equal(f.forwarded, 1);
    assert_int_equal(f.last_len, sizeof(pkt));
    assert_int_equal(f.last, SYNACK_MS(8));
    assert_int_equal(synack_link_send(l, pkt, 33, SYNACK_MS(9)), 0);
    assert_int_equal(f.forwarded, 2);
    assert_int_equal(f.last_len, 33);
    assert_int_equal(f.last, SYNACK_MS(9));
    assert_int_equal(f.waiting[1], 1); /* the hook emptied the queue each time */
    assert_int_equal(synack_inproc_pull(l, out, sizeof(out), NULL), SYNACK_ERR_AGAIN);
    synack_link_free(l);
}

/* ---- a stack over the link, the test playing the peer ------------------------------------ */

#define E2E_PORT 80
#define E2E_PEER_PORT 40000
#define E2E_PEER_ISS 1000u

struct e2e {
    struct synack_stack *stack;
    struct synack_link *link;
    uint8_t buf[2048];
};

/* Sends what the stack has to send into the link. */
static void e2e_drain(struct e2e *e, synack_time_t now)
{
    synack_ssize n;
    while ((n = synack_stack_output(e->stack, e->buf, sizeof(e->buf), now)) > 0)
        assert_int_equal(synack_link_send(e->link, e->buf, (size_t)n, now), 0);
    assert_int_equal(n, SYNACK_ERR_AGAIN);
}

/* One turn of drivers/loop at `now` without the waiting: poll the link, hand the stack each
 * arrived packet and send its answer, run due timers, send. */
static void e2e_pump(struct e2e *e, synack_time_t now)
{
    synack_link_poll(e->link, now);
    synack_ssize n;
    while ((n = synack_link_recv(e->link, e->buf, sizeof(e->buf), now)) > 0) {
        (void)synack_stack_input(e->stack, e->buf, (size_t)n, now);
        e2e_drain(e, now);
    }
    assert_int_equal(n, SYNACK_ERR_AGAIN);
    if (now >= synack_stack_next_deadline(e->stack)) synack_stack_handle_timers(e->stack, now);
    e2e_drain(e, now);
}

/* The peer's segment to the stack, pushed to arrive at `at`. */
static void e2e_peer_send(struct e2e *e, uint8_t flags, uint32_t seq, uint32_t ack,
                          const char *data, synack_time_t at)
{
    struct synack_segment seg = {
        .src = synack_addr_v4(ADDR_PEER),
        .dst = synack_addr_v4(ADDR_STACK),
        .ttl = 64,
        .src_port = E2E_PEER_PORT,
        .dst_port = E2E_PORT,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .window = 65535,
        .has_mss = (flags & SYNACK_TCP_SYN) != 0,
        .mss = 1460,
        .payload = (const uint8_t *)data,
        .payload_len = data ? strlen(data) : 0,
    };
    uint8_t pkt[1500];
    size_t n = synack_segment_emit(&seg, pkt, sizeof(pkt));
    assert_true(n > 0);
    assert_int_equal(synack_inproc_push(e->link, pkt, n, at), 0);
}

/* The stack's next segment, as the peer reads it off the link. */
static void e2e_peer_recv(struct e2e *e, struct synack_segment *seg, uint8_t *pkt,
                          synack_time_t *sent_at)
{
    synack_ssize n = synack_inproc_pull(e->link, pkt, 1500, sent_at);
    assert_true(n > 0);
    assert_int_equal(synack_segment_parse(pkt, (size_t)n, seg), SYNACK_DROP_NONE);
    assert_int_equal(seg->src_port, E2E_PORT);
    assert_int_equal(seg->dst_port, E2E_PEER_PORT);
}

/* A listener on the stack; the test writes the peer's SYN, reads the SYN-ACK, completes
 * the handshake with an ACK carrying "hello" scheduled 5 ms later (the stack sees nothing
 * before then), reads the stack's "world" and acknowledges it. */
static void inproc_stack_handshake_and_data(void **state)
{
    (void)state;
    struct e2e e = {0};
    e.link = open_inproc(NULL);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(ADDR_STACK);
    cfg.mtu = (uint16_t)synack_link_mtu(e.link);
    assert_int_equal(synack_stack_new(&e.stack, &cfg), 0);
    struct synack_listener *lst = NULL;
    assert_int_equal(synack_tcp_listen(e.stack, &SYNACK_TEST_EP(0, E2E_PORT), 4, NULL, &lst), 0);

    uint8_t pkt[1500];
    struct synack_segment seg;
    synack_time_t sent_at = 1;
    /* SYN -> SYN-ACK */
    e2e_peer_send(&e, SYNACK_TCP_SYN, E2E_PEER_ISS, 0, NULL, 0);
    e2e_pump(&e, 0);
    e2e_peer_recv(&e, &seg, pkt, &sent_at);
    assert_int_equal(seg.flags, SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    assert_int_equal(seg.ack, E2E_PEER_ISS + 1);
    assert_true(seg.has_mss);
    assert_int_equal(sent_at, 0);
    uint32_t iss = seg.seq;
    assert_int_equal(synack_inproc_pull(e.link, pkt, sizeof(pkt), NULL), SYNACK_ERR_AGAIN);

    /* ACK + "hello", arriving at 5 ms */
    e2e_peer_send(&e, SYNACK_TCP_ACK | SYNACK_TCP_PSH, E2E_PEER_ISS + 1, iss + 1, "hello",
                  SYNACK_MS(5));
    assert_int_equal(synack_link_next_deadline(e.link), SYNACK_MS(5));
    e2e_pump(&e, SYNACK_MS(4));
    struct synack_tcp *c = NULL;
    assert_int_equal(synack_tcp_accept(lst, &c), SYNACK_ERR_AGAIN); /* not arrived yet */
    e2e_pump(&e, SYNACK_MS(5));
    assert_int_equal(synack_tcp_accept(lst, &c), 0);
    char got[16] = "";
    assert_int_equal(synack_tcp_recv(c, (uint8_t *)got, sizeof(got), SYNACK_MS(5)), 5);
    assert_memory_equal(got, "hello", 5);

    /* "world" from the stack, carrying the ACK of "hello" */
    assert_int_equal(synack_tcp_send(c, (const uint8_t *)"world", 5, SYNACK_MS(6)), 5);
    e2e_pump(&e, SYNACK_MS(6));
    e2e_peer_recv(&e, &seg, pkt, &sent_at);
    assert_int_equal(sent_at, SYNACK_MS(6));
    assert_int_equal(seg.seq, iss + 1);
    assert_true(seg.flags & SYNACK_TCP_ACK);
    assert_int_equal(seg.ack, E2E_PEER_ISS + 6);
    assert_int_equal(seg.payload_len, 5);
    assert_memory_equal(seg.payload, "world", 5);

    /* The peer's ACK of "world" */
    e2e_peer_send(&e, SYNACK_TCP_ACK, E2E_PEER_ISS + 6, iss + 6, NULL, SYNACK_MS(7));
    e2e_pump(&e, SYNACK_MS(7));
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(c, &info), 0);
    assert_int_equal(info.state, SYNACK_ESTABLISHED);
    assert_int_equal(info.snd_una, iss + 6);
    assert_int_equal(info.rcv_nxt, E2E_PEER_ISS + 6);
    assert_int_equal(synack_inproc_pull(e.link, pkt, sizeof(pkt), NULL), SYNACK_ERR_AGAIN);

    struct synack_link_stats st = stats_of(e.link);
    assert_int_equal(st.rx_packets, 3);
    assert_int_equal(st.tx_packets, 2);
    assert_int_equal(st.rx_errors + st.tx_errors, 0);
    synack_tcp_abort(c, SYNACK_MS(8));
    synack_listener_close(lst, SYNACK_MS(8));
    synack_stack_free(e.stack);
    synack_link_free(e.link);
}

/* ---- two threads ---------------------------------------------------------------------------- */

/*
 * No data race by design: the two threads share only the link (whose every call takes its
 * mutex), the embedder's eventfd (a kernel object), and atomics. The stack, when there is
 * one, is touched only by the stack's thread: its turn hook is where it is read.
 */

#define ECHO_PACKETS 20000u
#define ECHO_LEN 64u

/* The embedder's wake-up: the on_send hook writes an eventfd when the queue from the stack
 * turns non-empty, and the embedder pulls until AGAIN before it sleeps on it again. */
struct waker {
    int efd;
    atomic_uint hooks;
};

static void waker_hook(void *ctx, struct synack_link *l, size_t waiting)
{
    (void)l;
    struct waker *w = ctx;
    atomic_fetch_add(&w->hooks, 1);
    if (waiting != 1) return;
    uint64_t one = 1;
    ssize_t r = write(w->efd, &one, sizeof(one));
    (void)r;
}

/* Waits (at most `ms`) for the hook's eventfd, and empties it. */
static void waker_wait(struct waker *w, int ms)
{
    struct pollfd p = {.fd = w->efd, .events = POLLIN};
    if (poll(&p, 1, ms) == 1) {
        uint64_t count;
        ssize_t r = read(w->efd, &count, sizeof(count));
        (void)r;
    }
}

/* The stack's side: waits on the link's fd, and sends each packet back, stamped with its
 * number, until it has read ECHO_PACKETS. */
static void *echo_side(void *arg)
{
    struct synack_link *l = arg;
    uint8_t buf[ECHO_LEN];
    unsigned got = 0;
    while (got < ECHO_PACKETS) {
        synack_ssize n = synack_link_recv(l, buf, sizeof(buf), 0);
        if (n == SYNACK_ERR_AGAIN) {
            struct pollfd p = {.fd = synack_link_fd(l), .events = POLLIN};
            (void)poll(&p, 1, 1000);
            continue;
        }
        if (n != (synack_ssize)ECHO_LEN) return "recv returned a wrong length";
        (void)synack_link_send(l, buf, (size_t)n, got); /* refused when full: counted */
        got++;
    }
    return NULL;
}

/* The embedder pushes numbered packets into small queues (8 each way, so both fill) while
 * the other thread echoes them. Every push is taken or refused (and counted); every echo
 * is pulled once, in order, with its send time, or was dropped and counted. */
static void inproc_two_threads_echo(void **state)
{
    (void)state;
    struct waker w = {.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    assert_true(w.efd >= 0);
    struct synack_inproc_config cfg = {
        .rx_packets = 8, .tx_packets = 8, .on_send = waker_hook, .on_send_ctx = &w};
    struct synack_link *l = open_inproc(&cfg);
    alarm(HANG_GUARD_S);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, echo_side, l), 0);

    unsigned pushed = 0, refused = 0, pulled = 0;
    int64_t last = -1;
    uint8_t pkt[ECHO_LEN], out[ECHO_LEN];
    for (;;) {
        bool progress = false;
        while (pushed < ECHO_PACKETS) {
            memset(pkt, 0, sizeof(pkt));
            memcpy(pkt, &pushed, sizeof(pushed));
            if (synack_inproc_push(l, pkt, sizeof(pkt), 0) != 0) {
                refused++;
                break;
            }
            pushed++;
            progress = true;
        }
        synack_ssize n;
        synack_time_t at;
        while ((n = synack_inproc_pull(l, out, sizeof(out), &at)) > 0) {
            assert_int_equal(n, ECHO_LEN);
            unsigned seq;
            memcpy(&seq, out, sizeof(seq));
            assert_int_equal(at, seq); /* stamped with its number by the echo side */
            assert_true((int64_t)seq > last);
            last = seq;
            pulled++;
            progress = true;
        }
        assert_int_equal(n, SYNACK_ERR_AGAIN);
        struct synack_link_stats st = stats_of(l);
        if (pushed == ECHO_PACKETS && pulled + st.tx_errors == ECHO_PACKETS) break;
        if (!progress) waker_wait(&w, 10);
    }
    void *ret = &ret;
    assert_int_equal(pthread_join(t, &ret), 0);
    if (ret != NULL) fail_msg("the echo side: %s", (const char *)ret);
    alarm(0);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.rx_packets, ECHO_PACKETS);
    assert_int_equal(st.rx_errors, refused);
    assert_int_equal(st.tx_packets, pulled);
    assert_int_equal(st.tx_packets + st.tx_errors, ECHO_PACKETS);
    assert_int_equal(atomic_load(&w.hooks), pulled);
    fprintf(stderr, "note: %u pushes refused for a full queue, %llu echoes dropped\n", refused,
            (unsigned long long)st.tx_errors);
    synack_link_free(l);
    close(w.efd);
}

/* A stack in synack_loop on its own thread, asleep with nothing to wait for but the link's
 * fd; the embedder (this thread) pushes SYNs to a closed port in windows and reads the
 * stack's RSTs, woken by the on_send hook. A push that failed to wake the loop would leave
 * it asleep for ever (the alarm fails the test). The loop stops when the embedder raises
 * `stop` and pushes one last packet to wake it. */
#define PING_SYNS 2000u
#define PING_WINDOW 32u
#define PING_PORT 9 /* nobody listens */

struct loop_side {
    struct synack_stack *stack;
    struct synack_loop *loop;
    atomic_bool stop;
    int rc;
};

static void loop_side_turn(void *ctx, synack_time_t now)
{
    (void)now;
    struct loop_side *s = ctx;
    struct synack_event ev;
    while (synack_stack_next_event(s->stack, &ev) == 0) {
    }
    if (atomic_load(&s->stop)) synack_loop_stop(s->loop);
}

static void *loop_side_run(void *arg)
{
    struct loop_side *s = arg;
    s->rc = synack_loop_run(s->loop);
    return NULL;
}

static void push_syn(struct synack_link *l, uint32_t seq)
{
    struct synack_segment seg = {
        .src = synack_addr_v4(ADDR_PEER),
        .dst = synack_addr_v4(ADDR_STACK),
        .ttl = 64,
        .src_port = E2E_PEER_PORT,
        .dst_port = PING_PORT,
        .seq = seq,
        .flags = SYNACK_TCP_SYN,
        .window = 65535,
    };
    uint8_t pkt[64];
    size_t n = synack_segment_emit(&seg, pkt, sizeof(pkt));
    assert_true(n > 0);
    assert_int_equal(synack_inproc_push(l, pkt, n, 0), 0);
}

static void inproc_loop_thread_answers_syns(void **state)
{
    (void)state;
    struct waker w = {.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    assert_true(w.efd >= 0);
    struct synack_inproc_config lcfg = {.on_send = waker_hook, .on_send_ctx = &w};
    struct synack_link *l = open_inproc(&lcfg);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(ADDR_STACK);
    struct loop_side s = {0};
    assert_int_equal(synack_stack_new(&s.stack, &cfg), 0);
    assert_int_equal(synack_loop_new(&s.loop, s.stack, l), 0);
    synack_loop_set_turn(s.loop, loop_side_turn, &s);
    alarm(HANG_GUARD_S);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, loop_side_run, &s), 0);

    unsigned sent = 0, answered = 0;
    uint8_t out[1500];
    while (answered < PING_SYNS) {
        while (sent < PING_SYNS && sent - answered < PING_WINDOW)
            push_syn(l, 1000u * sent++);
        synack_ssize n;
        while ((n = synack_inproc_pull(l, out, sizeof(out), NULL)) > 0) {
            struct synack_segment seg;
            assert_int_equal(synack_segment_parse(out, (size_t)n, &seg), SYNACK_DROP_NONE);
            assert_int_equal(seg.flags, SYNACK_TCP_RST | SYNACK_TCP_ACK);
            assert_int_equal(seg.ack, 1000u * answered + 1); /* RFC 9293 §3.10.7.1 */
            answered++;
        }
        if (answered < PING_SYNS) waker_wait(&w, 100);
    }
    atomic_store(&s.stop, true);
    uint8_t nudge[20] = {0x45}; /* malformed: the stack drops it */
    assert_int_equal(synack_inproc_push(l, nudge, sizeof(nudge), 0), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    alarm(0);
    assert_int_equal(s.rc, 0);
    struct synack_link_stats st = stats_of(l);
    assert_int_equal(st.rx_packets, PING_SYNS + 1);
    assert_int_equal(st.tx_packets, PING_SYNS);
    assert_int_equal(st.rx_errors + st.tx_errors, 0);
    synack_loop_free(s.loop);
    synack_stack_free(s.stack);
    synack_link_free(l);
    close(w.efd);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(inproc_push_recv_round_trip),
    cmocka_unit_test(inproc_send_pull_reports_send_time),
    cmocka_unit_test(inproc_fifo_order_both_ways),
    cmocka_unit_test(inproc_future_arrival_waits_for_its_time),
    cmocka_unit_test(inproc_earlier_arrival_overtakes),
    cmocka_unit_test(inproc_rx_bound_refuses_push),
    cmocka_unit_test(inproc_default_bound_is_256_packets),
    cmocka_unit_test(inproc_tx_bound_drops_send),
    cmocka_unit_test(inproc_pull_bufsz_keeps_packet),
    cmocka_unit_test(inproc_bad_lengths_refused),
    cmocka_unit_test(inproc_rejects_bad_arguments),
    cmocka_unit_test(inproc_fd_readable_from_push_to_again),
    cmocka_unit_test(inproc_on_send_hook_wakes),
    cmocka_unit_test(inproc_stack_handshake_and_data),
    cmocka_unit_test(inproc_two_threads_echo),
    cmocka_unit_test(inproc_loop_thread_answers_syns),
};

SYNACK_TEST_MAIN("inproc_link", tests)
