/* A stack with several addresses: which listener a SYN reaches, which address answers, which
 * source a connection takes, and what the configuration refuses. */
#include <string.h>

#include "tcpfix.h"

#define SECOND_ADDR 0xc6120003u /* 198.18.0.3: the stack's second IPv4 address */
#define NOT_OURS 0xc6120004u    /* 198.18.0.4 */

static void two_addresses(struct synack_config *cfg)
{
    struct synack_addr second = synack_addr_v4(SECOND_ADDR);
    assert_int_equal(synack_config_add_addr(cfg, &second), 0);
}

/* The peer's SYN to `dst`; the stack's answer must come from `dst` (fix_recv checks the
 * addresses against f->local). Returns true if the stack answered with a SYN-ACK. */
static bool syn_to(struct fix *f, struct synack_addr dst, uint16_t rport)
{
    f->local = dst;
    f->rport = rport;
    fix_peer_syn(f, false);
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) return false;
    f->iss = seg.seq;
    f->peer_ack = seg.seq + 1;
    return seg.flags == (WIRE_TCP_SYN | WIRE_TCP_ACK);
}

static void wildcard_listener_answers_on_every_address(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_addresses);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    assert_true(syn_to(&f, synack_addr_v4(FIX_LOCAL), 40000));
    assert_true(syn_to(&f, synack_addr_v4(SECOND_ADDR), 40001));
    /* Not one of the stack's addresses: dropped before TCP sees it. */
    struct wire_ip_repr ip = {.src = f.remote, .dst = synack_addr_v4(NOT_OURS), .ttl = 64};
    struct wire_tcp_repr syn = {
        .src_port = 40002, .dst_port = f.lport, .seq = 5, .flags = WIRE_TCP_SYN, .window = 1000};
    uint8_t pkt[128];
    size_t n = wire_packet_emit(&ip, &syn, pkt, sizeof pkt);
    assert_int_equal(fix_send_raw(&f, pkt, n), SYNACK_ERR_MALFORMED);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_NOT_LOCAL), 1);
    fix_free(&f);
}

static void second_address_after_empty_slots(struct synack_config *cfg)
{
    cfg->addrs[5] = synack_addr_v4(SECOND_ADDR); /* slots 1 to 4 left empty */
}

/* The configuration may leave slots empty between addresses: an address after a gap is as
 * much the stack's as the first (the stack packs its copy; its lookups stop at a gap). */
static void an_address_after_empty_slots_is_ours(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, second_address_after_empty_slots);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, NULL, &f.l), 0);
    assert_true(syn_to(&f, synack_addr_v4(SECOND_ADDR), 40001));
    assert_true(syn_to(&f, synack_addr_v4(FIX_LOCAL), 40000));
    struct synack_addr got[SYNACK_MAX_ADDRS];
    assert_int_equal(synack_stack_addrs(f.s, got, SYNACK_MAX_ADDRS), 2);
    assert_int_equal(synack_addr_v4_value(&got[1]), SECOND_ADDR);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_NOT_LOCAL), 0);
    fix_free(&f);
}

static void listener_bound_to_one_address_leaves_the_other_closed(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_addresses);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(FIX_LOCAL, f.lport), 8, NULL, &f.l), 0);
    assert_true(syn_to(&f, synack_addr_v4(FIX_LOCAL), 40000));
    /* RFC 9293 §3.10.7.1: no listener for (198.18.0.3, port): RST from that address. */
    f.local = synack_addr_v4(SECOND_ADDR);
    f.rport = 40001;
    fix_peer_syn(&f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
    fix_free(&f);
}

/* Listeners of one port on different addresses each take the SYNs to their address; a
 * wildcard overlapping a bound address is refused either way round (Linux's rule, which
 * SO_REUSEADDR, set by synack_tcp_listen, does not relax for listeners). */
static void listeners_of_one_port_split_by_address(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_addresses);
    struct synack_listener *any, *second;
    int any_tag = 1, second_tag = 2;
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(0, f.lport), 8, &any_tag, &any), 0);
    assert_int_equal(
        synack_tcp_listen(f.s, &SYNACK_TEST_EP(SECOND_ADDR, f.lport), 8, &second_tag, &second),
        SYNACK_ERR_ADDRINUSE); /* overlaps the wildcard */
    synack_listener_close(any, f.now);
    /* Bound first, then the family's wildcard: refused too; another address is fine. */
    assert_int_equal(
        synack_tcp_listen(f.s, &SYNACK_TEST_EP(SECOND_ADDR, f.lport), 8, &second_tag, &second), 0);
    struct synack_endpoint any4 = {synack_addr_any(SYNACK_AF_INET), f.lport};
    assert_int_equal(synack_tcp_listen(f.s, &any4, 8, &any_tag, &any), SYNACK_ERR_ADDRINUSE);
    struct synack_endpoint first = {synack_addr_v4(FIX_LOCAL), f.lport};
    assert_int_equal(synack_tcp_listen(f.s, &first, 8, &any_tag, &any), 0);
    /* A second listener on the same address is refused; on another port it is fine. */
    assert_int_equal(synack_tcp_listen(f.s, &first, 8, NULL, &f.l), SYNACK_ERR_ADDRINUSE);
    /* Each SYN reaches the listener of its destination address. */
    assert_true(syn_to(&f, synack_addr_v4(SECOND_ADDR), 40000));
    fix_peer_ack(&f, f.peer_ack);
    assert_true(syn_to(&f, synack_addr_v4(FIX_LOCAL), 40001));
    fix_peer_ack(&f, f.peer_ack);
    fix_events(&f);
    int seen_second = 0, seen_any = 0;
    for (size_t i = 0; i < f.nevents; i++) {
        if (f.events[i].type != SYNACK_EV_ACCEPTABLE) continue;
        if (f.events[i].user == &second_tag) seen_second++;
        if (f.events[i].user == &any_tag) seen_any++;
    }
    assert_int_equal(seen_second, 1);
    assert_int_equal(seen_any, 1);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_accept(second, &c), 0);
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(c, &info), 0);
    assert_int_equal(synack_addr_v4_value(&info.local_addr), SECOND_ADDR);
    assert_int_equal(info.remote_port, 40000);
    assert_int_equal(synack_tcp_accept(any, &c), 0);
    assert_int_equal(synack_tcp_info(c, &info), 0);
    assert_int_equal(synack_addr_v4_value(&info.local_addr), FIX_LOCAL);
    fix_free(&f);
}

static void connect_takes_the_source_asked_for(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, two_addresses);
    struct synack_endpoint remote = {f.remote, f.rport};
    struct synack_endpoint local = {synack_addr_v4(SECOND_ADDR), 0};
    assert_int_equal(synack_tcp_connect(f.s, &remote, &local, NULL, &f.c, f.now), 0);
    f.local = local.addr; /* fix_recv checks the SYN's source */
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    /* Without a local address: the stack's first of the remote's family. */
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_connect(f.s, &remote, NULL, NULL, &c, f.now), 0);
    f.local = synack_addr_v4(FIX_LOCAL);
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    /* A local address that is not the stack's, or of the other family, is refused. */
    local.addr = synack_addr_v4(NOT_OURS);
    assert_int_equal(synack_tcp_connect(f.s, &remote, &local, NULL, &c, f.now), SYNACK_ERR_INVAL);
    local.addr = fix_addr6(1);
    assert_int_equal(synack_tcp_connect(f.s, &remote, &local, NULL, &c, f.now), SYNACK_ERR_INVAL);
    /* No IPv6 address at all: an IPv6 peer cannot be reached. */
    struct synack_endpoint remote6 = {fix_addr6(2), 80};
    assert_int_equal(synack_tcp_connect(f.s, &remote6, NULL, NULL, &c, f.now), SYNACK_ERR_INVAL);
    /* Nor a peer that is not one host. */
    struct synack_endpoint bcast = {synack_addr_v4(0xffffffffu), 80};
    assert_int_equal(synack_tcp_connect(f.s, &bcast, NULL, NULL, &c, f.now), SYNACK_ERR_INVAL);
    fix_free(&f);
}

static void config_checks_every_address(void **state)
{
    (void)state;
    struct synack_config cfg;
    struct synack_stack *s = NULL;
    synack_config_default(&cfg);
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL); /* none */
    struct synack_addr a = synack_addr_v4(FIX_LOCAL);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    assert_int_equal(synack_config_add_addr(&cfg, &a), SYNACK_ERR_INVAL); /* twice */
    struct synack_addr multicast = synack_addr_v4(0xe0000001u);
    assert_int_equal(synack_config_add_addr(&cfg, &multicast), SYNACK_ERR_INVAL);
    cfg.addrs[3] = a; /* a duplicate written straight into the array */
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.addrs[3] = fix_addr6(1);
    /* RFC 8200 §5: an IPv6 address needs a link MTU of 1280 or more. */
    cfg.mtu = 1279;
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    cfg.mtu = 1280;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_addr got[SYNACK_MAX_ADDRS];
    assert_int_equal(synack_stack_addrs(s, got, SYNACK_MAX_ADDRS), 2);
    assert_true(synack_addr_eq(&got[0], &a));
    assert_int_equal(got[1].family, SYNACK_AF_INET6);
    assert_int_equal(synack_stack_addrs(s, got, 1), 1);
    assert_true(synack_addr_eq(synack_stack_addr(s, SYNACK_AF_INET6), &cfg.addrs[3]));
    assert_null(synack_stack_addr(s, SYNACK_AF_NONE));
    synack_stack_free(s);
    /* Every slot taken: NOMEM says why. */
    synack_config_default(&cfg);
    for (uint32_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        struct synack_addr x = synack_addr_v4(FIX_LOCAL + i);
        assert_int_equal(synack_config_add_addr(&cfg, &x), 0);
    }
    struct synack_addr one_more = synack_addr_v4(FIX_LOCAL + SYNACK_MAX_ADDRS);
    assert_int_equal(synack_config_add_addr(&cfg, &one_more), SYNACK_ERR_NOMEM);
}

/* A listener bound to an address the stack does not have is refused. */
static void listen_on_a_foreign_address_is_refused(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(synack_tcp_listen(f.s, &SYNACK_TEST_EP(NOT_OURS, 80), 4, NULL, &f.l),
                     SYNACK_ERR_INVAL);
    struct synack_endpoint any6 = {synack_addr_any(SYNACK_AF_INET6), 80};
    assert_int_equal(synack_tcp_listen(f.s, &any6, 4, NULL, &f.l), 0);
    fix_free(&f);
}

static void packet_addrs_reads_both_families(void **state)
{
    (void)state;
    uint8_t pkt[64] = {0};
    struct synack_addr src, dst;
    pkt[0] = 0x45;
    pkt[12] = 198, pkt[13] = 18, pkt[14] = 0, pkt[15] = 9;
    pkt[16] = 198, pkt[17] = 18, pkt[18] = 0, pkt[19] = 1;
    assert_int_equal(synack_packet_addrs(pkt, 20, &src, &dst), 0);
    assert_int_equal(synack_addr_v4_value(&src), 0xc6120009u);
    assert_int_equal(synack_addr_v4_value(&dst), 0xc6120001u);
    assert_int_equal(synack_packet_addrs(pkt, 19, &src, &dst), SYNACK_ERR_MALFORMED);
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 0x60;
    pkt[8] = 0x20, pkt[9] = 0x01, pkt[23] = 7;   /* source 2001::7 */
    pkt[24] = 0x20, pkt[25] = 0x01, pkt[39] = 1; /* destination 2001::1 */
    assert_int_equal(synack_packet_addrs(pkt, 40, &src, &dst), 0);
    char text[SYNACK_ADDR_STRLEN];
    synack_addr_format(&src, text, sizeof text);
    assert_string_equal(text, "2001::7");
    synack_addr_format(&dst, text, sizeof text);
    assert_string_equal(text, "2001::1");
    assert_int_equal(synack_packet_addrs(pkt, 39, NULL, NULL), SYNACK_ERR_MALFORMED);
    pkt[0] = 0x50;
    assert_int_equal(synack_packet_addrs(pkt, 40, NULL, NULL), SYNACK_ERR_MALFORMED);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(wildcard_listener_answers_on_every_address),
    cmocka_unit_test(an_address_after_empty_slots_is_ours),
    cmocka_unit_test(listener_bound_to_one_address_leaves_the_other_closed),
    cmocka_unit_test(listeners_of_one_port_split_by_address),
    cmocka_unit_test(connect_takes_the_source_asked_for),
    cmocka_unit_test(config_checks_every_address),
    cmocka_unit_test(listen_on_a_foreign_address_is_refused),
    cmocka_unit_test(packet_addrs_reads_both_families),
};

SYNACK_TEST_MAIN("addrs", tests)
