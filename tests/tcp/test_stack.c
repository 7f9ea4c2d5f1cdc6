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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(trace_sees_every_segment_in_and_out),
    cmocka_unit_test(counters_per_connection_and_per_stack),
    cmocka_unit_test(stack_new_rejects_bad_config),
    cmocka_unit_test(every_error_and_state_has_a_name),
    cmocka_unit_test(api_rejects_bad_arguments),
};

SYNACK_TEST_MAIN("stack", tests)
