/* The bind rules and SO_REUSEADDR as Linux applies them to TCP (synack_tcp_bind_check,
 * synack_tcp_listen_flags, synack_tcp_set_reuseaddr): which local ports a bind or a listen may
 * take while listeners, connections in any state, orphans and TIME_WAIT records hold them.
 * The tests that say "as today" guard what the rules must leave alone (connect, ephemeral
 * ports). */
#include "tcpfix.h"

#define SECOND_ADDR 0xc6120003u /* 198.18.0.3: the stack's second IPv4 address */
#define NOT_OURS 0xc6120004u    /* 198.18.0.4 */
#define REUSE SYNACK_BIND_REUSEADDR

static size_t time_wait_records(struct fix *f)
{
    struct synack_stack_stats st;
    synack_stack_stats(f->s, &st);
    return st.time_wait;
}

static int bind_check(struct fix *f, struct synack_addr addr, uint16_t port, unsigned flags)
{
    struct synack_endpoint local = {addr, port};
    return synack_tcp_bind_check(f->s, &local, flags);
}

static int listen_on(struct fix *f, struct synack_addr addr, uint16_t port, unsigned flags,
                     struct synack_listener **out)
{
    struct synack_endpoint local = {addr, port};
    return synack_tcp_listen_flags(f->s, &local, 8, flags, NULL, out);
}

static struct synack_addr both_families(void)
{
    return synack_addr_any(SYNACK_AF_NONE);
}

/* A server whose listener (on f->lport, both families) has `flags` accepts a peer and stops
 * listening: f->c is the accepted connection, ESTABLISHED. */
static void server_accepts_then_stops(struct fix *f, unsigned flags)
{
    assert_int_equal(listen_on(f, both_families(), f->lport, flags, &f->l), 0);
    fix_accept_peer(f, FIX_RPORT);
    synack_listener_close(f->l, f->now);
    f->l = NULL;
}

/* One run of a server whose listener has `flags`: it accepts a peer, stops listening, and
 * closes the connection first, which leaves a TIME_WAIT record on f->lport. */
static void server_run_leaves_time_wait(struct fix *f, unsigned flags)
{
    server_accepts_then_stops(f, flags);
    fix_server_closes_first(f);
    assert_int_equal(time_wait_records(f), 1);
}

/* ---- TIME_WAIT ---------------------------------------------------------------------------- */

/* RFC 9293 §3.3.2: TIME_WAIT keeps the 4-tuple for 2*MSL, but a server that restarts with
 * SO_REUSEADDR, as its last run had, listens again at once and serves new peers. */
static void restart_with_reuseaddr_on_both_succeeds_while_time_wait_holds_the_port(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, REUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    assert_int_equal(listen_on(&f, both_families(), f.lport, REUSE, &f.l), 0);
    fix_accept_peer(&f, FIX_RPORT + 1);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_int_equal(time_wait_records(&f), 1); /* the old 4-tuple still waits */
    fix_free(&f);
}

/* As on Linux: the old server did not set SO_REUSEADDR, so its TIME_WAIT keeps the port
 * from a new server that does. */
static void time_wait_without_reuseaddr_blocks_a_listener_with_it(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, both_families(), f.lport, REUSE, &f.l), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, synack_addr_v4(FIX_LOCAL), f.lport, REUSE, &f.l),
                     SYNACK_ERR_ADDRINUSE);
    /* synack_tcp_listen is a server with SO_REUSEADDR: refused too. */
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l),
                     SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

static void time_wait_blocks_a_listener_when_neither_has_reuseaddr(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, both_families(), f.lport, 0, &f.l), SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

static void after_time_wait_ends_the_port_is_free_without_reuseaddr(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    fix_advance(&f, 2 * f.cfg.msl);
    assert_int_equal(time_wait_records(&f), 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), 0);
    assert_int_equal(listen_on(&f, both_families(), f.lport, 0, &f.l), 0);
    fix_free(&f);
}

static void no_time_wait_records(struct synack_config *cfg)
{
    cfg->max_time_wait = 0;
}

/* With the table full the connection spends TIME_WAIT whole: it holds the port as a record
 * would, with its flag. */
static void time_wait_kept_whole_holds_the_port_as_a_record_does(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_time_wait_records);
    server_accepts_then_stops(&f, REUSE);
    fix_server_closes_first(&f);
    struct synack_stack_stats st;
    synack_stack_stats(f.s, &st);
    assert_int_equal(st.time_wait, 0);
    assert_int_equal(st.conns, 1); /* in TIME_WAIT, in its slot */
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    fix_advance(&f, 2 * f.cfg.msl);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), 0);
    fix_free(&f);
}

/* ---- listeners and connections ------------------------------------------------------------ */

static void a_listener_holds_its_port_even_when_both_have_reuseaddr(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(listen_on(&f, both_families(), f.lport, REUSE, &f.l), 0);
    struct synack_listener *second;
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(bind_check(&f, synack_addr_any(SYNACK_AF_INET), f.lport, REUSE),
                     SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, synack_addr_v4(FIX_LOCAL), f.lport, REUSE, &second),
                     SYNACK_ERR_ADDRINUSE);
    synack_listener_close(f.l, f.now);
    f.l = NULL;
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), 0);
    fix_free(&f);
}

/* The restart of a server whose old connection is still ESTABLISHED: the connection took its
 * listener's SO_REUSEADDR, so only a new listener without the flag is refused; with it, the
 * old connection keeps its segments and the new listener takes the new peers. */
static void an_accepted_connection_of_a_reuse_listener_blocks_only_binds_without_it(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_accepts_then_stops(&f, REUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, both_families(), f.lport, 0, &f.l), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(listen_on(&f, both_families(), f.lport, REUSE, &f.l), 0);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "x", 1);
    f.peer_nxt++;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    fix_accept_peer(&f, FIX_RPORT + 1);
    fix_free(&f);
}

/* A connection the application has released that is still closing (an orphan in
 * FIN_WAIT_1: the peer has not acknowledged our FIN) holds its port until it ends. */
static void an_orphan_still_closing_holds_its_port(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_accepts_then_stops(&f, 0);
    synack_tcp_close(f.c, f.now);
    f.c = NULL;
    fix_expect(&f, WIRE_TCP_FIN | WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    struct synack_stack_stats st;
    synack_stack_stats(f.s, &st);
    assert_int_equal(st.orphans, 1);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), SYNACK_ERR_ADDRINUSE);
    /* The peer resets it (RFC 5961 §3.2: exactly at RCV.NXT): the port is free. */
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    synack_stack_stats(f.s, &st);
    assert_int_equal(st.conns, 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), 0);
    fix_free(&f);
}

/* A connection that reached CLOSED (here reset by the peer) holds nothing in the stack even
 * while the application still holds it: its 4-tuple left the demux. A socket that stays
 * bound after that is the socket layer's to remember, as its bound sockets that neither
 * listen nor connect. */
static void a_closed_connection_the_application_holds_frees_its_port(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f); /* from f.lport, without SO_REUSEADDR */
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), 0);
    fix_free(&f);
}

/* An active open takes SO_REUSEADDR from synack_tcp_set_reuseaddr (off by default, as a
 * socket's), which can also take it back; its TIME_WAIT record keeps it. */
static void set_reuseaddr_marks_a_connection_and_its_time_wait_record(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f); /* from f.lport */
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), SYNACK_ERR_ADDRINUSE);
    synack_tcp_set_reuseaddr(f.c, true);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    synack_tcp_set_reuseaddr(f.c, false);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), SYNACK_ERR_ADDRINUSE);
    synack_tcp_set_reuseaddr(f.c, true);
    synack_tcp_set_reuseaddr(NULL, true); /* ignored */
    fix_server_closes_first(&f);
    assert_int_equal(time_wait_records(&f), 1);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

/* RFC 9293 §3.10.2: a listener sent to a foreign socket becomes that connection, with its
 * flag. */
static void a_listener_turned_active_keeps_its_reuseaddr(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(listen_on(&f, both_families(), f.lport, REUSE, &f.l), 0);
    struct synack_endpoint remote = {f.remote, f.rport};
    assert_int_equal(synack_listener_connect(f.l, &remote, &f.c, f.now), 0);
    f.l = NULL;
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

static void syncookies_always(struct synack_config *cfg)
{
    cfg->syncookies = SYNACK_SYNCOOKIES_ALWAYS;
}

/* A connection rebuilt from a SYN cookie is its listener's child as much as any. */
static void a_connection_from_a_syn_cookie_takes_its_listeners_flag(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, syncookies_always);
    server_accepts_then_stops(&f, REUSE);
    assert_int_equal(bind_check(&f, both_families(), f.lport, REUSE), 0);
    assert_int_equal(bind_check(&f, both_families(), f.lport, 0), SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

/* ---- addresses and ports ------------------------------------------------------------------ */

static void two_v4_and_one_v6(struct synack_config *cfg)
{
    struct synack_addr second = synack_addr_v4(SECOND_ADDR), v6 = fix_addr6(FIX_LOCAL6_LAST);
    assert_int_equal(synack_config_add_addr(cfg, &second), 0);
    assert_int_equal(synack_config_add_addr(cfg, &v6), 0);
}

struct bind_case {
    struct synack_addr addr;
    int want; /* of synack_tcp_bind_check without flags */
};

static void expect_binds(struct fix *f, uint16_t port, const struct bind_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = bind_check(f, cases[i].addr, port, 0);
        if (got != cases[i].want) {
            char text[SYNACK_ADDR_STRLEN];
            synack_addr_format(&cases[i].addr, text, sizeof text);
            fail_msg("bind %s (family %u) port %u: %d, not %d", text, cases[i].addr.family, port,
                     got, cases[i].want);
        }
    }
}

#define N_CASES(a) (sizeof(a) / sizeof(a)[0])

/* A binding meets a holder of its port on the same address, on its family's wildcard, or on
 * both families (SYNACK_AF_NONE, a dual-stack ::); not on another address, nor across
 * families (:: with SYNACK_AF_INET6 is IPv6 only). */
static void bindings_overlap_by_address_and_family(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_v4_and_one_v6);
    struct synack_addr v4 = synack_addr_v4(FIX_LOCAL), v4b = synack_addr_v4(SECOND_ADDR);
    struct synack_addr v6 = fix_addr6(FIX_LOCAL6_LAST);
    struct synack_addr any4 = synack_addr_any(SYNACK_AF_INET);
    struct synack_addr any6 = synack_addr_any(SYNACK_AF_INET6), both = both_families();
    struct synack_tcp *c;
    /* Connections hold their port from SYN_SENT on: an IPv4 one on port 80, IPv6 on 81. */
    struct synack_endpoint remote4 = {f.remote, 9000},
                           remote6 = {fix_addr6(FIX_REMOTE6_LAST), 9000};
    assert_int_equal(
        synack_tcp_connect(f.s, &remote4, &(struct synack_endpoint){v4, 80}, NULL, &c, f.now), 0);
    assert_int_equal(
        synack_tcp_connect(f.s, &remote6, &(struct synack_endpoint){v6, 81}, NULL, &c, f.now), 0);
    const struct bind_case conn4[] = {
        {v4, SYNACK_ERR_ADDRINUSE},   {v4b, 0},  {any4, SYNACK_ERR_ADDRINUSE},
        {both, SYNACK_ERR_ADDRINUSE}, {any6, 0}, {v6, 0}};
    expect_binds(&f, 80, conn4, N_CASES(conn4));
    const struct bind_case conn6[] = {{v6, SYNACK_ERR_ADDRINUSE},
                                      {any6, SYNACK_ERR_ADDRINUSE},
                                      {both, SYNACK_ERR_ADDRINUSE},
                                      {any4, 0},
                                      {v4, 0},
                                      {v4b, 0}};
    expect_binds(&f, 81, conn6, N_CASES(conn6));
    /* Listeners on 0.0.0.0 (port 82), on :: (83) and on both families (84). */
    struct synack_listener *l;
    assert_int_equal(listen_on(&f, any4, 82, 0, &l), 0);
    assert_int_equal(listen_on(&f, any6, 83, 0, &l), 0);
    assert_int_equal(listen_on(&f, both, 84, 0, &l), 0);
    const struct bind_case wild4[] = {{v4, SYNACK_ERR_ADDRINUSE},
                                      {v4b, SYNACK_ERR_ADDRINUSE},
                                      {both, SYNACK_ERR_ADDRINUSE},
                                      {any6, 0},
                                      {v6, 0}};
    expect_binds(&f, 82, wild4, N_CASES(wild4));
    const struct bind_case wild6[] = {
        {v6, SYNACK_ERR_ADDRINUSE}, {both, SYNACK_ERR_ADDRINUSE}, {any4, 0}, {v4, 0}};
    expect_binds(&f, 83, wild6, N_CASES(wild6));
    const struct bind_case dual[] = {{v4, SYNACK_ERR_ADDRINUSE},
                                     {v6, SYNACK_ERR_ADDRINUSE},
                                     {any4, SYNACK_ERR_ADDRINUSE},
                                     {any6, SYNACK_ERR_ADDRINUSE}};
    expect_binds(&f, 84, dual, N_CASES(dual));
    fix_free(&f);
}

static void different_ports_never_conflict(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, 0); /* a record on port 80 */
    struct synack_listener *l;
    assert_int_equal(listen_on(&f, both_families(), 81, 0, &l), 0);
    struct synack_tcp *c;
    struct synack_endpoint remote = {f.remote, 9000};
    assert_int_equal(synack_tcp_connect(f.s, &remote, &SYNACK_TEST_EP(0, 82), NULL, &c, f.now), 0);
    static const uint16_t others[] = {79, 83, 8080, 65535};
    for (size_t i = 0; i < N_CASES(others); i++)
        assert_int_equal(bind_check(&f, both_families(), others[i], 0), 0);
    assert_int_equal(listen_on(&f, both_families(), 83, 0, &l), 0);
    fix_free(&f);
}

/* ---- what the rules leave alone ------------------------------------------------------------ */

/* As today: connect with a local port checks only its 4-tuple (a socket layer applies the
 * bind rules at bind()). */
static void connect_from_a_held_port_checks_only_its_4_tuple(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    server_run_leaves_time_wait(&f, 0); /* 198.18.0.1:80 <-> 198.18.0.2:40000, no flag */
    struct synack_listener *l;
    assert_int_equal(listen_on(&f, both_families(), 81, 0, &l), 0);
    struct synack_tcp *c;
    struct synack_endpoint same = {f.remote, FIX_RPORT}, other = {f.remote, FIX_RPORT + 1};
    assert_int_equal(synack_tcp_connect(f.s, &same, &SYNACK_TEST_EP(0, f.lport), NULL, &c, f.now),
                     SYNACK_ERR_ADDRINUSE);
    assert_int_equal(synack_tcp_connect(f.s, &other, &SYNACK_TEST_EP(0, f.lport), NULL, &c, f.now),
                     0);
    assert_int_equal(synack_tcp_connect(f.s, &other, &SYNACK_TEST_EP(0, 81), NULL, &c, f.now), 0);
    fix_free(&f);
}

static void one_ephemeral_port(struct synack_config *cfg)
{
    cfg->ephemeral_lo = 50000;
    cfg->ephemeral_hi = 50000;
}

/* As today: the ephemeral port avoids 4-tuples and listeners (RFC 6056), not the bind
 * rules, so two destinations share the one port a bind would be refused. */
static void ephemeral_port_choice_ignores_the_bind_rules(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_ephemeral_port);
    struct synack_tcp *a, *b;
    struct synack_endpoint to80 = {f.remote, 80}, to81 = {f.remote, 81};
    assert_int_equal(synack_tcp_connect(f.s, &to80, NULL, NULL, &a, f.now), 0);
    assert_int_equal(synack_tcp_connect(f.s, &to81, NULL, NULL, &b, f.now), 0);
    struct synack_tcp_info ia, ib;
    assert_int_equal(synack_tcp_info(a, &ia), 0);
    assert_int_equal(synack_tcp_info(b, &ib), 0);
    assert_int_equal(ia.local_port, 50000);
    assert_int_equal(ib.local_port, 50000);
    assert_int_equal(bind_check(&f, both_families(), 50000, 0), SYNACK_ERR_ADDRINUSE);
    fix_free(&f);
}

/* ---- TIME_WAIT taken over by an outgoing connection (time_wait_reuse) ------------------------ */

static uint64_t time_wait_reused(struct fix *f)
{
    struct synack_counters c;
    synack_stack_counters(f->s, &c);
    return c.time_wait_reused;
}

/* The client on port 50000 (the stack's only ephemeral port), its peer with timestamps or
 * not: ESTABLISHED. */
static void client_established(struct fix *f, bool ts)
{
    f->lport = 50000;
    f->peer_ts = ts;
    f->peer_tsval = 5000;
    fix_established_active(f);
}

/* The client's FIN first (close releases the connection, shutdown leaves it the
 * application's), the peer's ACK and FIN 1 ms later, our ACK: TIME_WAIT. */
static void client_fin_first(struct fix *f, bool release)
{
    if (release) {
        synack_tcp_close(f->c, f->now);
        f->c = NULL;
    } else {
        synack_tcp_shutdown(f->c, f->now);
    }
    fix_expect(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    f->peer_ack++;
    f->now += SYNACK_MS(1);
    f->peer_tsval++;
    fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
}

/* The client sends `len` bytes and closes first: a TIME_WAIT record holds 198.18.0.1:50000
 * <-> 198.18.0.2:40000. What the old incarnation last sent: *snd_nxt (sequence) and *tsval. */
static void client_sends_and_closes_first(struct fix *f, bool ts, size_t len, uint32_t *snd_nxt,
                                          uint32_t *tsval)
{
    client_established(f, ts);
    uint8_t data[1000] = {0};
    assert_true(len <= sizeof data);
    assert_int_equal(synack_tcp_send(f->c, data, len, f->now), (int)len);
    fix_expect_data(f, WIRE_TCP_ACK | WIRE_TCP_PSH, f->peer_ack, f->peer_nxt, len);
    f->peer_ack += (uint32_t)len;
    client_fin_first(f, true);
    *snd_nxt = f->peer_ack;
    *tsval = f->last_tsval;
    assert_int_equal(time_wait_records(f), 1);
}

static void client_closes_first(struct fix *f, bool ts, uint32_t *snd_nxt, uint32_t *tsval)
{
    client_sends_and_closes_first(f, ts, 100, snd_nxt, tsval);
}

static int connect_again(struct fix *f, bool ephemeral, struct synack_tcp **c)
{
    struct synack_endpoint remote = {f->remote, f->rport};
    return synack_tcp_connect(f->s, &remote, ephemeral ? NULL : &SYNACK_TEST_EP(0, 50000), NULL, c,
                              f->now);
}

/* RFC 6191's rules from the side that closed first (as Linux's tcp_tw_reuse): once our
 * TSval clock has ticked (time_wait_reuse, 64 ms by default) since the TIME_WAIT last heard
 * from the peer or answered it, timestamps tell the incarnations apart, and a new
 * connection takes the 4-tuple, by ephemeral choice or by an explicit port. Its SYN starts above
 * the old sequence space (RFC 1122 §4.2.2.13) and its TSval above every one the old connection
 * sent; the record reports TIME_WAIT -> CLOSED. */
static void outgoing_connection_takes_over_a_time_wait_with_timestamps(bool ephemeral)
{
    struct fix f;
    fix_init(&f, one_ephemeral_port);
    uint32_t old_nxt, old_tsval;
    client_closes_first(&f, true, &old_nxt, &old_tsval);
    struct synack_tcp *c = NULL;
    int busy = ephemeral ? SYNACK_ERR_NOPORTS : SYNACK_ERR_ADDRINUSE;
    assert_int_equal(connect_again(&f, ephemeral, &c), busy);
    f.now += f.cfg.time_wait_reuse - SYNACK_US(1);
    assert_int_equal(connect_again(&f, ephemeral, &c), busy);
    assert_int_equal(time_wait_reused(&f), 0);
    f.now += SYNACK_US(1);
    fix_events(&f);
    f.nevents = 0;
    assert_int_equal(connect_again(&f, ephemeral, &c), 0);
    assert_int_equal(time_wait_records(&f), 0);
    assert_int_equal(time_wait_reused(&f), 1);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(c, &info), 0);
    assert_int_equal(info.local_port, 50000);
    struct wire_tcp_repr syn;
    assert_true(fix_recv(&f, &syn));
    assert_int_equal(syn.flags, WIRE_TCP_SYN);
    assert_true((int32_t)(syn.seq - old_nxt) > 0);
    assert_true(syn.has_ts);
    assert_true((int32_t)(syn.ts_val - old_tsval) > 0);
    fix_free(&f);
}

static void an_ephemeral_port_in_time_wait_is_reused_once_timestamps_make_it_safe(void **state)
{
    (void)state;
    outgoing_connection_takes_over_a_time_wait_with_timestamps(true);
}

static void an_explicit_port_in_time_wait_is_reused_once_timestamps_make_it_safe(void **state)
{
    (void)state;
    outgoing_connection_takes_over_a_time_wait_with_timestamps(false);
}

/* The least wait: one tick of our TSval clock. */
static void quick_time_wait_reuse(struct synack_config *cfg)
{
    one_ephemeral_port(cfg);
    cfg->time_wait_reuse = SYNACK_MS(1);
}

/* The ISS floor matters when the old connection sent more than RFC 6528's clock (M, a tick
 * every 4 µs) advanced since: 1000 bytes, then reuse 2 ms later (500 ticks). Same 4-tuple,
 * same F, so the ISN alone would land inside the old sequence space. */
static void a_reused_4_tuple_starts_above_the_old_sequence_space(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, quick_time_wait_reuse);
    uint32_t old_nxt, old_tsval;
    client_sends_and_closes_first(&f, true, 1000, &old_nxt, &old_tsval);
    f.now += SYNACK_MS(1);
    struct synack_tcp *c = NULL;
    assert_int_equal(connect_again(&f, true, &c), 0);
    struct wire_tcp_repr syn;
    assert_true(fix_recv(&f, &syn));
    assert_int_equal(syn.flags, WIRE_TCP_SYN);
    /* The ISN alone would be the old ISS + 500 (2 ms of 4 µs ticks), 502 below old_nxt. */
    assert_int_equal(syn.seq, old_nxt + 1);
    assert_true((int32_t)(syn.ts_val - old_tsval) > 0);
    fix_free(&f);
}

/* Connects again to the peer of a TIME_WAIT (the one ephemeral port) once time_wait_reuse
 * allows, and reads the new incarnation's SYN: f->c, f->iss and f->peer_ack describe it. */
static void connect_over_time_wait(struct fix *f)
{
    assert_int_equal(connect_again(f, true, &f->c), 0);
    assert_int_equal(time_wait_reused(f), 1);
    struct wire_tcp_repr syn;
    assert_true(fix_recv(f, &syn));
    assert_int_equal(syn.flags, WIRE_TCP_SYN);
    f->iss = syn.seq;
    f->peer_ack = f->iss + 1;
}

/* What the old incarnation left: our SND.NXT, the peer's, and its last TSval (TS.Recent). */
struct old_incarnation {
    uint32_t snd_nxt, peer_nxt, peer_tsval;
};

/* A fresh fixture (one ephemeral port) whose new connection took over a TIME_WAIT as soon
 * as time_wait_reuse allows: f->c, its SYN read (f->iss). Returns when the TIME_WAIT last
 * heard the peer; *old says what the old incarnation left. */
static synack_time_t reused_syn_sent(struct fix *f, struct old_incarnation *old)
{
    fix_init(f, one_ephemeral_port);
    uint32_t old_tsval;
    client_closes_first(f, true, &old->snd_nxt, &old_tsval);
    synack_time_t heard = f->now;
    old->peer_nxt = f->peer_nxt;
    old->peer_tsval = f->peer_tsval;
    f->now += f->cfg.time_wait_reuse;
    connect_over_time_wait(f);
    return heard;
}

/* The peer's SYN (a SYN-ACK, or a SYN of a simultaneous open) from its new ISS with TSval
 * `tsval`; true if the connection took it (left SYN_SENT), false if it was dropped unanswered
 * and counted as PAWS drops. */
static bool peer_syn_taken(struct fix *f, bool ack_ours, uint32_t tsval)
{
    uint64_t paws = fix_drops(f, SYNACK_DROP_PAWS);
    f->peer_nxt = FIX_PEER_ISS + 777777;
    f->peer_tsval = tsval;
    fix_peer_syn(f, ack_ours);
    if (synack_tcp_state(f->c) != SYNACK_SYN_SENT) return true;
    fix_expect_none(f);
    assert_int_equal(fix_drops(f, SYNACK_DROP_PAWS), paws + 1);
    return false;
}

/* The other half of the reuse rule: the peer's timestamps must have moved past the old
 * incarnation too, or its old duplicates would pass our PAWS. We wait only for our own clock
 * (1 ms), so its SYN must show it: one whose TSval is not above the old TS.Recent is dropped
 * (a SYN-ACK, or a SYN crossing ours), and the next one that is above is taken. */
static void the_peers_syn_must_pass_the_old_incarnations_timestamps(void **state)
{
    (void)state;
    struct fix f;
    struct old_incarnation o;
    reused_syn_sent(&f, &o);
    uint32_t old = o.peer_tsval;
    assert_false(peer_syn_taken(&f, true, old));
    assert_false(peer_syn_taken(&f, true, old - 1000));
    assert_false(peer_syn_taken(&f, false, old));
    assert_true(peer_syn_taken(&f, true, old + 1));
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_expect(&f, WIRE_TCP_ACK, f.iss + 1, f.peer_nxt);
    /* TS.Recent is now the new SYN-ACK's: the floor is gone with SYN_SENT. */
    struct wire_tcp_repr seg;
    f.now += SYNACK_MS(1);
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"x", 1, f.now), 1);
    assert_true(fix_recv(&f, &seg));
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, old + 1);
    fix_free(&f);
}

/* A peer whose TSvals do not rise from one connection to the next on a 4-tuple (a random
 * offset per connection), or that leaves them out, still connects: once a second has passed
 * since the TIME_WAIT last heard it, the check stands down (a clock that rises per 4-tuple
 * has ticked past the old incarnation by then, RFC 7323 §5.4; one that does not was never
 * protected by PAWS across incarnations), so its SYN-ACK is taken whatever it carries. */
static void a_peer_that_cannot_show_its_clock_moved_is_taken_a_second_later(void **state)
{
    (void)state;
    for (int with_ts = 0; with_ts < 2; with_ts++) {
        struct fix f;
        struct old_incarnation o;
        synack_time_t heard = reused_syn_sent(&f, &o);
        uint32_t old = o.peer_tsval;
        f.peer_ts = with_ts;
        assert_false(peer_syn_taken(&f, true, old - 5));
        f.now = heard + SYNACK_MS(999);
        assert_false(peer_syn_taken(&f, true, old - 5));
        f.now = heard + SYNACK_S(1);
        assert_true(peer_syn_taken(&f, true, old - 5));
        assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
        fix_free(&f);
    }
}

/* A SYN crossing ours (simultaneous open) whose TSval passes the old incarnation's is taken:
 * SYN_RECEIVED, and our SYN-ACK echoes it. */
static void a_crossing_syn_above_the_old_timestamps_is_taken(void **state)
{
    (void)state;
    struct fix f;
    struct old_incarnation o;
    reused_syn_sent(&f, &o);
    assert_true(peer_syn_taken(&f, false, o.peer_tsval + 3));
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_RECEIVED);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ts_ecr, o.peer_tsval + 3);
    fix_free(&f);
}

/* Our last ACK of the old incarnation was lost: the peer is still in LAST_ACK and answers
 * the new SYN with a challenge ACK of the old sequence space. We reset the old incarnation
 * (<SEQ=SEG.ACK><CTL=RST>, RFC 9293 §3.10.7.3) and send the SYN again at once, behind the
 * RST, instead of a whole RTO later; only once (a second such ACK gets the RST alone, as
 * on any connection: rst.syn_sent_bad_ack_gets_rst_with_seq_of_seg_ack). */
static void a_peer_still_in_last_ack_is_reset_and_our_syn_goes_again_at_once(void **state)
{
    (void)state;
    struct fix f;
    struct old_incarnation o;
    reused_syn_sent(&f, &o);
    f.peer_tsval = o.peer_tsval + 1;
    fix_send(&f, WIRE_TCP_ACK, o.peer_nxt, o.snd_nxt, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, o.snd_nxt, 0);
    struct wire_tcp_repr syn;
    assert_true(fix_recv(&f, &syn));
    assert_int_equal(syn.flags, WIRE_TCP_SYN);
    assert_int_equal(syn.seq, f.iss);
    fix_expect_none(&f);
    fix_send(&f, WIRE_TCP_ACK, o.peer_nxt, o.snd_nxt, NULL, 0);
    fix_expect(&f, WIRE_TCP_RST, o.snd_nxt, 0);
    fix_expect_none(&f);
    /* The peer, its old incarnation gone, answers the SYN. */
    assert_true(peer_syn_taken(&f, true, o.peer_tsval + 2));
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    fix_free(&f);
}

static void time_wait_reuse_below_a_millisecond_is_refused(void **state)
{
    (void)state;
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(FIX_LOCAL);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    struct synack_stack *s = NULL;
    cfg.time_wait_reuse = SYNACK_US(999);
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.time_wait_reuse = 0;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    synack_stack_free(s);
}

/* Without timestamps nothing tells an old duplicate from a new segment: the 4-tuple waits
 * its whole 2*MSL (RFC 9293 §3.10.7.4). */
static void without_timestamps_a_time_wait_is_never_taken_over(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_ephemeral_port);
    uint32_t old_nxt, old_tsval;
    client_closes_first(&f, false, &old_nxt, &old_tsval);
    struct synack_tcp *c = NULL;
    f.now += 2 * f.cfg.msl - SYNACK_MS(2);
    assert_int_equal(connect_again(&f, true, &c), SYNACK_ERR_NOPORTS);
    assert_int_equal(connect_again(&f, false, &c), SYNACK_ERR_ADDRINUSE);
    fix_advance(&f, SYNACK_MS(2)); /* the end of 2*MSL */
    assert_int_equal(time_wait_records(&f), 0);
    assert_int_equal(connect_again(&f, true, &c), 0);
    assert_int_equal(time_wait_reused(&f), 0);
    fix_free(&f);
}

static void no_time_wait_reuse(struct synack_config *cfg)
{
    one_ephemeral_port(cfg);
    cfg->time_wait_reuse = 0;
}

static void time_wait_reuse_zero_turns_it_off(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_time_wait_reuse);
    uint32_t old_nxt, old_tsval;
    client_closes_first(&f, true, &old_nxt, &old_tsval);
    struct synack_tcp *c = NULL;
    f.now += SYNACK_S(10);
    assert_int_equal(connect_again(&f, true, &c), SYNACK_ERR_NOPORTS);
    fix_free(&f);
}

/* `ms` after TIME_WAIT began at `entered`, the peer's FIN again (our ACK was lost: 2*MSL
 * restarts) or an old byte (no restart), each answered with an ACK unless `answered` is
 * false (invalid_ack_interval holds it back). */
static void peer_again_at(struct fix *f, synack_time_t entered, unsigned ms, bool fin,
                          bool answered)
{
    f->now = entered + SYNACK_MS(ms);
    f->peer_tsval = 6000 + ms;
    uint8_t old = 'x';
    if (fin)
        fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt - 1, f->peer_ack, NULL, 0);
    else
        fix_send(f, WIRE_TCP_ACK, f->peer_nxt - 2, f->peer_ack, &old, 1);
    if (answered)
        fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    else
        fix_expect_none(f);
}

/* Connects at `ms` after `entered` and expects `rc`. */
static void connect_at(struct fix *f, synack_time_t entered, unsigned ms, int rc)
{
    struct synack_tcp *c = NULL;
    f->now = entered + SYNACK_MS(ms);
    assert_int_equal(connect_again(f, true, &c), rc);
}

/* A wait of a second (Linux's), long enough to see where it counts from. */
static void reuse_after_a_second(struct synack_config *cfg)
{
    one_ephemeral_port(cfg);
    cfg->time_wait_reuse = SYNACK_S(1);
}

/* What the TIME_WAIT last heard or answered counts, not only its start: an old segment it
 * answered at 500 ms, then the peer's FIN again at 900 ms (the answer held back by
 * invalid_ack_interval, but 2*MSL restarts), so the second runs from 900 ms. */
static void the_wait_before_reuse_counts_from_the_last_segment_heard_or_answered(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, reuse_after_a_second);
    uint32_t old_nxt, old_tsval;
    client_closes_first(&f, true, &old_nxt, &old_tsval);
    synack_time_t entered = f.now;
    peer_again_at(&f, entered, 500, false, true);
    peer_again_at(&f, entered, 900, true, false);
    connect_at(&f, entered, 1200, SYNACK_ERR_NOPORTS); /* 1 s after entry */
    connect_at(&f, entered, 1600, SYNACK_ERR_NOPORTS); /* 0.7 s after the FIN again */
    connect_at(&f, entered, 1900, 0);
    fix_free(&f);
}

/* ... and an answer sent later than the last restart: the peer's FIN again at 300 ms, an old
 * segment answered at 850 ms (no restart: not a FIN), so the second runs from 850 ms. */
static void the_wait_before_reuse_counts_from_the_last_answer(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, reuse_after_a_second);
    uint32_t old_nxt, old_tsval;
    client_closes_first(&f, true, &old_nxt, &old_tsval);
    synack_time_t entered = f.now;
    peer_again_at(&f, entered, 300, true, true);
    peer_again_at(&f, entered, 850, false, true);
    connect_at(&f, entered, 1300, SYNACK_ERR_NOPORTS); /* 1 s after the restart */
    connect_at(&f, entered, 1850, 0);
    fix_free(&f);
}

static void one_conn_no_records(struct synack_config *cfg)
{
    one_ephemeral_port(cfg);
    cfg->max_conns = 1;
    cfg->max_time_wait = 0;
}

/* Beyond max_time_wait a released connection spends TIME_WAIT whole, in its slot: taken over
 * the same way, and its slot goes to the new connection (max_conns 1 here). */
static void a_time_wait_kept_whole_is_taken_over_with_its_slot(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_conn_no_records);
    client_established(&f, true);
    client_fin_first(&f, true);
    assert_int_equal(time_wait_records(&f), 0);
    struct synack_tcp *c = NULL;
    struct synack_endpoint elsewhere = {f.remote, 81};
    assert_int_equal(synack_tcp_connect(f.s, &elsewhere, NULL, NULL, &c, f.now),
                     SYNACK_ERR_CONNLIMIT);
    assert_int_equal(connect_again(&f, true, &c), SYNACK_ERR_NOPORTS);
    f.now += SYNACK_S(1);
    assert_int_equal(connect_again(&f, true, &c), 0);
    assert_int_equal(time_wait_reused(&f), 1);
    assert_true(fix_saw_transition(&f, SYNACK_TIME_WAIT, SYNACK_CLOSED));
    fix_free(&f);
}

/* Why the default wait is 64 ms: a peer under a SYN flood answers with a SYN cookie, whose
 * TSval keeps options in its low 6 bits (RFC 4987 §3.6 leaves the encoding to the stack;
 * Linux's and synack's) and so is its clock rounded down by up to 63 ticks. Reusing at the
 * default wait, that SYN-ACK still passes the old incarnation's TS.Recent, however the
 * rounding falls; here it falls the farthest (the peer's clock at a multiple of 64, less
 * nothing, ticking once a millisecond as the old TS.Recent did). */
static void a_syn_cookie_syn_ack_passes_after_the_default_wait(void **state)
{
    (void)state;
    for (uint32_t low = 0; low < 64; low += 9) {
        struct fix f;
        fix_init(&f, one_ephemeral_port);
        client_established(&f, true);
        f.peer_tsval = 64000 + low - 1; /* client_fin_first adds one: the FIN's is 64000 + low */
        client_fin_first(&f, true);
        uint32_t fin_tsval = f.peer_tsval;
        synack_time_t heard = f.now;
        f.now = heard + f.cfg.time_wait_reuse;
        connect_over_time_wait(&f);
        /* The peer's clock has run as ours has since its FIN; its cookie's TSval is that
         * clock with the low 6 bits replaced by options (here all 0: the farthest down). */
        uint32_t peer_clock = fin_tsval + (uint32_t)(f.cfg.time_wait_reuse / SYNACK_MS(1));
        assert_true(peer_syn_taken(&f, true, peer_clock & ~63u));
        fix_free(&f);
    }
}

/* A released connection kept whole in TIME_WAIT (no record) hands on its TS.Recent the same
 * way: the peer's SYN-ACK must pass it. */
static void a_time_wait_kept_whole_passes_on_its_timestamps(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_conn_no_records);
    client_established(&f, true);
    client_fin_first(&f, true);
    assert_int_equal(time_wait_records(&f), 0);
    uint32_t old = f.peer_tsval;
    f.now += f.cfg.time_wait_reuse;
    connect_over_time_wait(&f);
    assert_false(peer_syn_taken(&f, true, old));
    assert_true(peer_syn_taken(&f, true, old + 1));
    fix_free(&f);
}

/* The TIME_WAIT of a connection the application still holds is the application's: never taken
 * over, however old. */
static void a_time_wait_the_application_holds_is_not_taken_over(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, one_ephemeral_port);
    client_established(&f, true);
    client_fin_first(&f, false);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    f.now += SYNACK_S(10);
    struct synack_tcp *c = NULL;
    assert_int_equal(connect_again(&f, true, &c), SYNACK_ERR_NOPORTS);
    fix_free(&f);
}

static void two_addrs_one_port(struct synack_config *cfg)
{
    one_ephemeral_port(cfg);
    struct synack_addr second = synack_addr_v4(SECOND_ADDR);
    assert_int_equal(synack_config_add_addr(cfg, &second), 0);
}

/* Several local addresses: with the first address's ports all taken toward a destination,
 * connect goes on to the next address of the family, each a whole range more. A socket bound
 * to one address stays on it. */
static void connect_goes_on_to_the_next_address_when_the_first_has_no_port(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_addrs_one_port);
    struct synack_endpoint remote = {f.remote, 80};
    struct synack_tcp *a, *b, *c;
    assert_int_equal(synack_tcp_connect(f.s, &remote, NULL, NULL, &a, f.now), 0);
    struct synack_endpoint first = {synack_addr_v4(FIX_LOCAL), 0};
    assert_int_equal(synack_tcp_connect(f.s, &remote, &first, NULL, &b, f.now), SYNACK_ERR_NOPORTS);
    struct synack_endpoint any = {synack_addr_any(SYNACK_AF_INET), 0};
    assert_int_equal(synack_tcp_connect(f.s, &remote, &any, NULL, &b, f.now), 0);
    assert_int_equal(synack_tcp_connect(f.s, &remote, NULL, NULL, &c, f.now), SYNACK_ERR_NOPORTS);
    /* The next unbound connect starts from the address that last had a port. */
    struct synack_endpoint other = {f.remote, 81};
    assert_int_equal(synack_tcp_connect(f.s, &other, NULL, NULL, &c, f.now), 0);
    struct synack_tcp_info ic;
    assert_int_equal(synack_tcp_info(c, &ic), 0);
    assert_int_equal(synack_addr_v4_value(&ic.local_addr), SECOND_ADDR);
    struct synack_tcp_info ia, ib;
    assert_int_equal(synack_tcp_info(a, &ia), 0);
    assert_int_equal(synack_tcp_info(b, &ib), 0);
    assert_true(synack_addr_eq(&ia.local_addr, &first.addr));
    assert_int_equal(synack_addr_v4_value(&ib.local_addr), SECOND_ADDR);
    assert_int_equal(ia.local_port, 50000);
    assert_int_equal(ib.local_port, 50000);
    fix_free(&f);
}

static void bind_check_refuses_what_no_socket_can_bind(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_endpoint ok = {both_families(), 80};
    assert_int_equal(synack_tcp_bind_check(NULL, &ok, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_bind_check(f.s, NULL, 0), SYNACK_ERR_INVAL);
    assert_int_equal(bind_check(&f, both_families(), 0, 0), SYNACK_ERR_INVAL);
    assert_int_equal(bind_check(&f, synack_addr_v4(NOT_OURS), 80, 0), SYNACK_ERR_INVAL);
    assert_int_equal(bind_check(&f, both_families(), 80, 0x2u), SYNACK_ERR_INVAL);
    assert_int_equal(listen_on(&f, both_families(), 80, 0x2u, &f.l), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_listen_flags(f.s, &ok, 0, REUSE, NULL, &f.l), SYNACK_ERR_INVAL);
    assert_int_equal(bind_check(&f, synack_addr_v4(FIX_LOCAL), 80, REUSE), 0);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(restart_with_reuseaddr_on_both_succeeds_while_time_wait_holds_the_port),
    cmocka_unit_test(time_wait_without_reuseaddr_blocks_a_listener_with_it),
    cmocka_unit_test(time_wait_blocks_a_listener_when_neither_has_reuseaddr),
    cmocka_unit_test(after_time_wait_ends_the_port_is_free_without_reuseaddr),
    cmocka_unit_test(time_wait_kept_whole_holds_the_port_as_a_record_does),
    cmocka_unit_test(a_listener_holds_its_port_even_when_both_have_reuseaddr),
    cmocka_unit_test(an_accepted_connection_of_a_reuse_listener_blocks_only_binds_without_it),
    cmocka_unit_test(an_orphan_still_closing_holds_its_port),
    cmocka_unit_test(a_closed_connection_the_application_holds_frees_its_port),
    cmocka_unit_test(set_reuseaddr_marks_a_connection_and_its_time_wait_record),
    cmocka_unit_test(a_listener_turned_active_keeps_its_reuseaddr),
    cmocka_unit_test(a_connection_from_a_syn_cookie_takes_its_listeners_flag),
    cmocka_unit_test(bindings_overlap_by_address_and_family),
    cmocka_unit_test(different_ports_never_conflict),
    cmocka_unit_test(connect_from_a_held_port_checks_only_its_4_tuple),
    cmocka_unit_test(ephemeral_port_choice_ignores_the_bind_rules),
    cmocka_unit_test(an_ephemeral_port_in_time_wait_is_reused_once_timestamps_make_it_safe),
    cmocka_unit_test(an_explicit_port_in_time_wait_is_reused_once_timestamps_make_it_safe),
    cmocka_unit_test(a_reused_4_tuple_starts_above_the_old_sequence_space),
    cmocka_unit_test(the_peers_syn_must_pass_the_old_incarnations_timestamps),
    cmocka_unit_test(a_peer_that_cannot_show_its_clock_moved_is_taken_a_second_later),
    cmocka_unit_test(a_crossing_syn_above_the_old_timestamps_is_taken),
    cmocka_unit_test(a_peer_still_in_last_ack_is_reset_and_our_syn_goes_again_at_once),
    cmocka_unit_test(a_time_wait_kept_whole_passes_on_its_timestamps),
    cmocka_unit_test(a_syn_cookie_syn_ack_passes_after_the_default_wait),
    cmocka_unit_test(time_wait_reuse_below_a_millisecond_is_refused),
    cmocka_unit_test(without_timestamps_a_time_wait_is_never_taken_over),
    cmocka_unit_test(time_wait_reuse_zero_turns_it_off),
    cmocka_unit_test(the_wait_before_reuse_counts_from_the_last_segment_heard_or_answered),
    cmocka_unit_test(the_wait_before_reuse_counts_from_the_last_answer),
    cmocka_unit_test(a_time_wait_kept_whole_is_taken_over_with_its_slot),
    cmocka_unit_test(a_time_wait_the_application_holds_is_not_taken_over),
    cmocka_unit_test(connect_goes_on_to_the_next_address_when_the_first_has_no_port),
    cmocka_unit_test(bind_check_refuses_what_no_socket_can_bind),
};

SYNACK_TEST_MAIN("reuse", tests)
