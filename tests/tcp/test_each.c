/* synack_stack_each_socket: every listener (with its queues), connection (orphans too),
 * TIME_WAIT record and UDP socket of a stack, each once, in the documented order. */
#include <string.h>

#include "tcpfix.h"

#define SEEN_MAX 8

struct seen {
    struct synack_sock_info s[SEEN_MAX];
    size_t n;
    int stop_with; /* returned from the first call when nonzero */
};

static int collect(void *ctx, const struct synack_sock_info *info)
{
    struct seen *seen = ctx;
    assert_true(seen->n < SEEN_MAX);
    seen->s[seen->n++] = *info;
    return seen->stop_with;
}

static struct seen walk(struct fix *f)
{
    struct seen seen = {0};
    assert_int_equal(synack_stack_each_socket(f->s, collect, &seen), 0);
    return seen;
}

static void each_socket_lists_listener_queues_and_connections(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(walk(&f).n, 0);
    fix_syn_received_passive(&f); /* a listener (backlog 8), one SYN_RECEIVED in its queue */
    struct seen seen = walk(&f);
    assert_int_equal(seen.n, 2);
    const struct synack_sock_info *l = &seen.s[0], *c = &seen.s[1];
    assert_int_equal(l->kind, SYNACK_SOCK_TCP_LISTENER);
    assert_int_equal(l->tcp.state, SYNACK_LISTEN);
    assert_int_equal(l->tcp.local_port, FIX_LPORT);
    assert_int_equal(l->syn_queue, 1);
    assert_int_equal(l->accept_queue, 0);
    assert_int_equal(l->backlog, 8);
    assert_int_equal(c->kind, SYNACK_SOCK_TCP);
    assert_int_equal(c->tcp.state, SYNACK_SYN_RECEIVED);
    assert_int_equal(c->tcp.local_port, FIX_LPORT);
    assert_int_equal(c->tcp.remote_port, FIX_RPORT);
    assert_true(synack_addr_eq(&c->tcp.remote_addr, &f.remote));
    assert_false(c->orphan);
    assert_int_not_equal(c->id, l->id);

    /* The handshake completes: the connection moves to the accept queue... */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    seen = walk(&f);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.s[0].syn_queue, 0);
    assert_int_equal(seen.s[0].accept_queue, 1);
    assert_int_equal(seen.s[1].tcp.state, SYNACK_ESTABLISHED);
    /* ... and out of it; what synack_tcp_info says is what the walk says. */
    assert_int_equal(synack_tcp_accept(f.l, &f.c), 0);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "hello", 5);
    seen = walk(&f);
    assert_int_equal(seen.s[0].accept_queue, 0);
    assert_int_equal(seen.s[1].id, synack_tcp_id(f.c));
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(seen.s[1].tcp.recv_queued, 5);
    assert_int_equal(seen.s[1].tcp.rcv_nxt, info.rcv_nxt);
    assert_int_equal(seen.s[1].tcp.snd_nxt, info.snd_nxt);
    assert_int_equal(seen.s[1].tcp.cwnd, info.cwnd);
    assert_int_equal(seen.s[1].tcp.counters.segs_in, info.counters.segs_in);
    fix_free(&f);
}

static void each_socket_lists_orphans_and_time_wait_records(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_fin_wait_1(&f);
    uint64_t id = synack_tcp_id(f.c);
    synack_tcp_close(f.c, f.now); /* released in FIN_WAIT_1: an orphan */
    struct seen seen = walk(&f);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].kind, SYNACK_SOCK_TCP);
    assert_int_equal(seen.s[0].tcp.state, SYNACK_FIN_WAIT_1);
    assert_true(seen.s[0].orphan);

    /* Our FIN acknowledged, the peer's FIN: the orphan becomes a TIME_WAIT record. */
    fix_send(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    seen = walk(&f);
    assert_int_equal(seen.n, 1);
    const struct synack_sock_info *tw = &seen.s[0];
    assert_int_equal(tw->kind, SYNACK_SOCK_TCP_TIME_WAIT);
    assert_int_equal(tw->tcp.state, SYNACK_TIME_WAIT);
    assert_int_equal(tw->id, id);
    assert_true(synack_addr_eq(&tw->tcp.local_addr, &f.local));
    assert_true(synack_addr_eq(&tw->tcp.remote_addr, &f.remote));
    assert_int_equal(tw->tcp.local_port, f.lport);
    assert_int_equal(tw->tcp.remote_port, f.rport);
    assert_int_equal(tw->tcp.rcv_nxt, f.peer_nxt);
    assert_int_equal(tw->tcp.snd_nxt, f.peer_ack);
    assert_int_equal(tw->expires, f.now + 2 * f.cfg.msl);

    /* 2*MSL later it is gone. */
    fix_advance(&f, 2 * f.cfg.msl);
    assert_int_equal(walk(&f).n, 0);
    fix_free(&f);
}

static void each_socket_lists_udp_last_and_stops_when_asked(void **state)
{
    (void)state;
    struct fix f;
    struct synack_udp *u;
    fix_init(&f, NULL);
    assert_int_equal(synack_udp_bind(f.s, &SYNACK_TEST_EP(0, 53), NULL, &u), 0);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, 80), 4, NULL, &f.l), 0);
    struct seen seen = walk(&f);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.s[0].kind, SYNACK_SOCK_TCP_LISTENER);
    assert_int_equal(seen.s[1].kind, SYNACK_SOCK_UDP);
    assert_int_equal(seen.s[1].id, synack_udp_id(u));
    assert_int_equal(seen.s[1].udp.local.port, 53);

    /* A nonzero return stops the walk and comes back. */
    memset(&seen, 0, sizeof seen);
    seen.stop_with = 7;
    assert_int_equal(synack_stack_each_socket(f.s, collect, &seen), 7);
    assert_int_equal(seen.n, 1);
    assert_int_equal(synack_stack_each_socket(NULL, collect, &seen), SYNACK_ERR_INVAL);
    assert_int_equal(synack_stack_each_socket(f.s, NULL, &seen), SYNACK_ERR_INVAL);
    synack_udp_close(u);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(each_socket_lists_listener_queues_and_connections),
    cmocka_unit_test(each_socket_lists_orphans_and_time_wait_records),
    cmocka_unit_test(each_socket_lists_udp_last_and_stops_when_asked),
};

SYNACK_TEST_MAIN("each", tests)
