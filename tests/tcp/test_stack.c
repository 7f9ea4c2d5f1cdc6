/* The stack around the TCP engine: trace hook, counters, configuration, error texts. */
#include <string.h>

#include "tcpfix.h"

struct trace_log {
    unsigned in, out, dropped;
    char last[200];
};

static void trace_fn(void *ctx, char dir, const uint8_t *pkt, size_t len, enum synack_drop drop,
                     synack_time_t now)
{
    (void)now;
    struct trace_log *log = ctx;
    if (dir == 'i')
        log->in++;
    else
        log->out++;
    if (drop != SYNACK_DROP_NONE) log->dropped++;
    synack_format_packet(log->last, sizeof log->last, pkt, len);
}

static void trace_sees_every_segment_in_and_out(void **state)
{
    (void)state;
    struct fix f;
    struct trace_log log = {0};
    fix_init(&f, NULL);
    synack_stack_set_trace(f.s, trace_fn, &log);
    fix_established_active(&f); /* out: SYN, ACK; in: SYN-ACK */
    assert_int_equal(log.out, 2);
    assert_int_equal(log.in, 1);
    assert_non_null(strstr(log.last, "198.18.0.1."));
    assert_non_null(strstr(log.last, "Flags [.]"));
    uint8_t junk[10] = {0x45};
    assert_int_equal(fix_send_raw(&f, junk, sizeof junk), SYNACK_ERR_MALFORMED);
    assert_int_equal(log.in, 2);
    assert_int_equal(log.dropped, 1);
    /* Stack-wide counters agree with what the trace saw. */
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.segs_out, log.out);
    assert_int_equal(c.drops[SYNACK_DROP_IP_TRUNCATED], 1);
    fix_free(&f);
}

static void counters_per_connection_and_per_stack(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "hello", 5);
    f.peer_nxt += 5;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(f.c, &info), 0);
    assert_int_equal(info.counters.segs_in, 2);
    assert_int_equal(info.counters.segs_out, 3);
    assert_int_equal(info.counters.bytes_in, 5);
    assert_int_equal(info.recv_queued, 5);
    assert_int_equal(info.snd_mss, 1460);
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.segs_in, info.counters.segs_in);
    assert_int_equal(c.bytes_in, 5);
    fix_free(&f);
}

static void stack_new_rejects_bad_config(void **state)
{
    (void)state;
    struct synack_config cfg;
    struct synack_stack *s = NULL;
    synack_config_default(&cfg);
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL); /* no address */
    cfg.addrs[0] = synack_addr_v4(FIX_LOCAL);
    cfg.mtu = 40;
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.mtu = 1500;
    cfg.rcvbuf = (size_t)1 << 31; /* RFC 7323 §2.3: scaling reaches 2^30 at most */
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.rcvbuf = 4096;
    cfg.rcvbuf_max = (size_t)1 << 31; /* the same ceiling for what autotuning may grow to */
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.rcvbuf_max = 0;
    cfg.sndbuf_max = (size_t)1 << 31;
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.sndbuf_max = 0;
    cfg.cc = SYNACK_CC_COUNT;
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.cc = SYNACK_CC_NEWRENO;
    cfg.rcvbuf = 4096;
    cfg.rto_min = SYNACK_S(2);
    cfg.rto_max = SYNACK_S(1);
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.rto_max = SYNACK_S(60);
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    uint8_t small[100];
    assert_int_equal(synack_stack_output(s, small, sizeof small, 0), SYNACK_ERR_BUFSZ);
    synack_stack_free(s);
}

static void every_error_and_state_has_a_name(void **state)
{
    (void)state;
    for (int e = SYNACK_ERR_STEERED; e <= 0; e++) {
        const char *m = synack_strerror(e);
        assert_non_null(m);
        assert_true(strcmp(m, "unknown error code") != 0);
    }
    assert_string_equal(synack_strerror(-999), "unknown error code");
    for (int st = 0; st < SYNACK_STATE_COUNT; st++)
        assert_true(strcmp(synack_state_name((enum synack_state)st), "UNKNOWN") != 0);
    assert_string_equal(synack_state_name(SYNACK_CLOSE_WAIT), "CLOSE_WAIT");
}

static void api_rejects_bad_arguments(void **state)
{
    (void)state;
    struct fix f;
    struct synack_tcp *c;
    struct synack_listener *l;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(0, 80), NULL, NULL, &c, f.now),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, 0), &SYNACK_TEST_EP(0, 0),
                                        NULL, &c, f.now),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, 0), 4, NULL, &l), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, 80), 0, NULL, &l), SYNACK_ERR_INVAL);
    fix_syn_sent(&f);
    uint8_t b[4] = {0};
    /* Before the handshake completes, send and recv say so. */
    assert_int_equal(synack_tcp_send(f.c, b, 4, f.now), SYNACK_ERR_NOTCONN);
    assert_int_equal(synack_tcp_recv(f.c, b, 4, f.now), SYNACK_ERR_NOTCONN);
    assert_int_equal(synack_tcp_shutdown(f.c, f.now), SYNACK_ERR_NOTCONN);
    assert_int_equal(synack_tcp_connect(f.s, &SYNACK_TEST_EP(FIX_REMOTE, f.rport),
                                        &SYNACK_TEST_EP(0, f.lport), NULL, &c, f.now),
                     SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

/* ---- synack_stack_input_batch ---- */

enum { BATCH_PEERS = 40, BATCH_PKT = 128 };

static struct synack_stack *batch_stack(struct synack_listener **lp)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(FIX_LOCAL);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_listener *l;
    assert_int_equal(synack_tcp_listen(s, &SYNACK_TEST_EP(0, FIX_LPORT), 64, NULL, &l), 0);
    if (lp) *lp = l;
    return s;
}

/* Peer i (198.19.0.x:2000+i) to the stack's port 80, built into `pkt`. */
static size_t batch_segment(uint32_t i, uint8_t flags, uint32_t seq, uint32_t ack, const char *data,
                            uint8_t *pkt)
{
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(0xc6130000u + 1 + i), .dst = synack_addr_v4(FIX_LOCAL), .ttl = 64};
    struct wire_tcp_repr t = {.src_port = (uint16_t)(2000 + i),
                              .dst_port = FIX_LPORT,
                              .seq = seq,
                              .ack = ack,
                              .flags = flags,
                              .window = 65535,
                              .payload = (const uint8_t *)data,
                              .payload_len = data ? strlen(data) : 0};
    size_t n = wire_packet_emit(&ip, &t, pkt, BATCH_PKT);
    assert_true(n > 0);
    return n;
}

/* Everything the stack sends and the events it queues, in order, as one byte string. */
static size_t batch_drain(struct synack_stack *s, uint8_t *log, size_t cap, synack_time_t now)
{
    size_t used = 0;
    uint8_t pkt[2048];
    synack_ssize n;
    while ((n = synack_stack_output(s, pkt, sizeof pkt, now)) > 0) {
        assert_true(used + (size_t)n <= cap);
        memcpy(log + used, pkt, (size_t)n);
        used += (size_t)n;
    }
    struct synack_event ev;
    while (synack_stack_next_event(s, &ev) == 0) {
        uint64_t rec[6] = {ev.type,      ev.conn_id,       ev.old_state,
                           ev.new_state, (uint64_t)ev.err, ev.time};
        assert_true(used + sizeof rec <= cap);
        memcpy(log + used, rec, sizeof rec);
        used += sizeof rec;
    }
    return used;
}

/* The same packets to two stacks made alike: one synack_stack_input_flags call each to
 * `one`, in batches of the sizes `sizes` gives in turn to `batched`. Both must answer with
 * the same bytes and events and count the same; the batch returns how many it took. */
static void batch_compare(struct synack_stack *one, struct synack_stack *batched,
                          const struct synack_rx *rx, size_t n, const size_t *sizes,
                          synack_time_t now)
{
    synack_ssize taken_one = 0, taken_batched = 0;
    for (size_t i = 0; i < n; i++)
        if (synack_stack_input_flags(one, rx[i].pkt, rx[i].len, rx[i].flags, now) == 0) taken_one++;
    for (size_t at = 0, k = 0; at < n; k++) {
        size_t m = sizes[k] < n - at ? sizes[k] : n - at;
        synack_ssize t = synack_stack_input_batch(batched, rx + at, m, now);
        assert_true(t >= 0 && (size_t)t <= m);
        taken_batched += t;
        at += m;
    }
    assert_int_equal(taken_batched, taken_one);
    static uint8_t log_one[1 << 16], log_batched[1 << 16];
    size_t a = batch_drain(one, log_one, sizeof log_one, now);
    size_t b = batch_drain(batched, log_batched, sizeof log_batched, now);
    assert_true(a > 0);
    assert_int_equal(a, b);
    assert_memory_equal(log_one, log_batched, a);
    struct synack_counters k1, k2;
    synack_stack_counters(one, &k1);
    synack_stack_counters(batched, &k2);
    assert_memory_equal(&k1, &k2, sizeof k1);
}

static void input_batch_does_what_one_call_per_packet_does(void **state)
{
    (void)state;
    struct synack_listener *listener[2];
    struct synack_stack *one = batch_stack(&listener[0]), *batched = batch_stack(&listener[1]);
    synack_time_t now = SYNACK_S(1);
    static uint8_t pkts[BATCH_PEERS + 3][BATCH_PKT];
    struct synack_rx rx[BATCH_PEERS + 3];
    size_t n = 0;
    /* SYNs from 40 peers, and among them what is dropped: a segment whose checksum is
     * wrong, a header cut short, an IHL below 5 (no tuple to hint at). */
    for (uint32_t i = 0; i < BATCH_PEERS; i++) {
        rx[n] =
            (struct synack_rx){pkts[n], batch_segment(i, WIRE_TCP_SYN, 5000, 0, NULL, pkts[n]), 0};
        n++;
        if (i == 3) {
            size_t len = batch_segment(100, WIRE_TCP_SYN, 5000, 0, NULL, pkts[n]);
            pkts[n][len - 1] ^= 0x5a;
            rx[n] = (struct synack_rx){pkts[n], len, 0};
            n++;
        } else if (i == 17) {
            rx[n] = (struct synack_rx){pkts[n], 12, 0};
            memcpy(pkts[n], pkts[n - 1], 12);
            n++;
        } else if (i == 30) {
            size_t len = batch_segment(101, WIRE_TCP_SYN, 5000, 0, NULL, pkts[n]);
            pkts[n][0] = 0x44;
            rx[n] = (struct synack_rx){pkts[n], len, 0};
            n++;
        }
    }
    static const size_t first[] = {1, 7, 2, 23, 64};
    batch_compare(one, batched, rx, n, first, now);
    /* Each handshake completes with data, vouched for. The SYN-ACKs were drained above; a
     * third stack made alike answers the same SYNs with the same ISSs. */
    now += SYNACK_MS(1);
    n = 0;
    uint32_t iss[BATCH_PEERS];
    {
        struct synack_stack *third = batch_stack(NULL);
        uint8_t syn[BATCH_PKT], reply[2048];
        for (uint32_t i = 0; i < BATCH_PEERS; i++) {
            size_t len = batch_segment(i, WIRE_TCP_SYN, 5000, 0, NULL, syn);
            assert_int_equal(synack_stack_input(third, syn, len, SYNACK_S(1)), 0);
            synack_ssize m = synack_stack_output(third, reply, sizeof reply, SYNACK_S(1));
            struct wire_ip_repr ip;
            struct wire_tcp_repr t;
            assert_true(m > 0);
            assert_int_equal(wire_packet_parse(reply, (size_t)m, &ip, &t), SYNACK_DROP_NONE);
            iss[i] = t.seq;
        }
        synack_stack_free(third);
    }
    for (uint32_t i = 0; i < BATCH_PEERS; i++) {
        rx[n] = (struct synack_rx){
            pkts[n],
            batch_segment(i, WIRE_TCP_ACK | WIRE_TCP_PSH, 5001, iss[i] + 1, "request", pkts[n]),
            SYNACK_INPUT_CSUM_VERIFIED};
        /* Some with their sum left partial, as a sender that offloads leaves it: vouched
         * for, so taken all the same. */
        if (i % 5 == 0) pkts[n][WIRE_IPV4_HDR_LEN + 16] ^= 0xff;
        n++;
    }
    static const size_t second[] = {5, 13, 1, 64};
    batch_compare(one, batched, rx, n, second, now);
    /* Every handshake completed in both, each connection with its request to read. */
    for (int k = 0; k < 2; k++) {
        struct synack_tcp *c;
        unsigned got = 0;
        while (synack_tcp_accept(listener[k], &c) == 0) {
            uint8_t buf[16];
            assert_int_equal(synack_tcp_recv(c, buf, sizeof buf, now), 7);
            assert_memory_equal(buf, "request", 7);
            got++;
        }
        assert_int_equal(got, BATCH_PEERS);
    }
    /* In one batch, a reset then a new SYN on the same tuple, peer after peer: a packet
     * ahead is hinted while the one before it ends its connection. */
    now += SYNACK_MS(1);
    n = 0;
    for (uint32_t i = 0; i < BATCH_PEERS / 2; i++) {
        rx[n] =
            (struct synack_rx){pkts[n], batch_segment(i, WIRE_TCP_RST, 5008, 0, NULL, pkts[n]), 0};
        n++;
        rx[n] =
            (struct synack_rx){pkts[n], batch_segment(i, WIRE_TCP_SYN, 9000, 0, NULL, pkts[n]), 0};
        n++;
    }
    static const size_t third[] = {3, 64};
    batch_compare(one, batched, rx, n, third, now);
    synack_stack_free(one);
    synack_stack_free(batched);
}

static void input_batch_rejects_bad_arguments_and_takes_none(void **state)
{
    (void)state;
    struct synack_stack *s = batch_stack(NULL);
    uint8_t syn[BATCH_PKT];
    size_t len = batch_segment(0, WIRE_TCP_SYN, 5000, 0, NULL, syn);
    struct synack_rx rx[2] = {{syn, len, 0}, {syn, len, 0}};
    assert_int_equal(synack_stack_input_batch(NULL, rx, 2, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_stack_input_batch(s, NULL, 1, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_stack_input_batch(s, NULL, 0, 0), 0);
    /* A bad entry anywhere: the good one before it is not taken either. */
    rx[1].pkt = NULL;
    assert_int_equal(synack_stack_input_batch(s, rx, 2, 0), SYNACK_ERR_INVAL);
    rx[1] = (struct synack_rx){syn, len, SYNACK_INPUT_FLAGS_ALL + 1};
    assert_int_equal(synack_stack_input_batch(s, rx, 2, 0), SYNACK_ERR_INVAL);
    struct synack_counters k;
    synack_stack_counters(s, &k);
    assert_int_equal(k.segs_in, 0);
    uint8_t out[2048];
    assert_true(synack_stack_output(s, out, sizeof out, 0) <= 0);
    /* The same SYN twice, well formed: both taken (the second is a retransmission). */
    rx[1] = rx[0];
    assert_int_equal(synack_stack_input_batch(s, rx, 2, 0), 2);
    synack_stack_counters(s, &k);
    assert_int_equal(k.segs_in, 2);
    synack_stack_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(trace_sees_every_segment_in_and_out),
    cmocka_unit_test(counters_per_connection_and_per_stack),
    cmocka_unit_test(stack_new_rejects_bad_config),
    cmocka_unit_test(every_error_and_state_has_a_name),
    cmocka_unit_test(api_rejects_bad_arguments),
    cmocka_unit_test(input_batch_does_what_one_call_per_packet_does),
    cmocka_unit_test(input_batch_rejects_bad_arguments_and_takes_none),
};

SYNACK_TEST_MAIN("stack", tests)
