/* TCP over IPv6 and ICMPv6 at the stack: the handshake and its MSS (RFC 9293 §3.7.1 with
 * RFC 8200 §8.3), echo (RFC 4443 §4), errors delivered to the connection with the RFC 5927
 * checks, packet too big and the 1280 floor (RFC 8201 §4), and what the stack answers about
 * packets it cannot take (RFC 8200 §4, RFC 4443 §3.4). */
#include <string.h>

#include "tcpfix.h"

/* An IPv6 packet from the peer to the stack: fixed header, then `body` (`body_len` bytes)
 * under Next Header `nh`. Returns synack_stack_input's result. */
/* The peer's IPv6 packet with Next Header `nh`. */
static int send6(struct fix *f, uint8_t nh, const uint8_t *body, size_t body_len)
{
    return fix_send_ip(f, (struct wire_ip_repr){.proto = nh}, body, body_len);
}

static int send_icmp6(struct fix *f, const struct wire_icmp6_repr *m)
{
    uint8_t msg[4096];
    size_t n = wire_icmp6_emit(m, &f->remote, &f->local, msg, sizeof msg);
    assert_true(n > 0);
    return send6(f, WIRE_IP_PROTO_ICMPV6, msg, n);
}

/* Pulls the next packet, which must be ICMPv6 from the stack to the peer. */
static void recv_icmp6(struct fix *f, uint8_t *pkt, size_t cap, struct wire_icmp6_repr *m)
{
    struct wire_ip_repr ip;
    fix_recv_ip(f, pkt, cap, WIRE_IP_PROTO_ICMPV6, &ip);
    assert_int_equal(ip.src.family, SYNACK_AF_INET6);
    assert_int_equal(wire_icmp6_parse(pkt + ip.header_len, ip.payload_len, &ip.src, &ip.dst, m),
                     SYNACK_DROP_NONE);
}

static void handshake_offers_mtu_minus_60(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    assert_int_equal(f.local.family, SYNACK_AF_INET6);
    fix_syn_sent(&f); /* fix_recv checks the IPv6 addresses both ways */
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.rcv_mss, 1500 - 60); /* RFC 8200 §8.3: 40 + 20 bytes of header */
    assert_int_equal(info.local_addr.family, SYNACK_AF_INET6);
    fix_free(&f);
}

static void passive_open_and_data_over_ipv6(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    f.peer_mss = 1440;
    fix_established_passive(&f);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, f.peer_ack, "hello", 5);
    f.peer_nxt += 5;
    uint8_t buf[16];
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(synack_tcp_send(f.c, (const uint8_t *)"world", 5, f.now), 5);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.iss + 1, f.peer_nxt, 5);
    assert_memory_equal(f.last_payload, "world", 5);
    fix_free(&f);
}

/* RFC 9293 §3.7.1, RFC 8200 §8.3: without an MSS option an IPv6 peer takes 1220. */
static void default_send_mss_is_1220(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    f.peer_mss = 0;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_mss, 1220);
    fix_free(&f);
}

/* A closed port answers a SYN with a RST over IPv6 (RFC 9293 §3.10.7.1). */
static void closed_port_resets_over_ipv6(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    fix_peer_syn(&f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, FIX_PEER_ISS + 1);
    fix_free(&f);
}

/* RFC 4443 §4.2: same identifier, sequence number and data, from the address pinged. */
static void echo_request_answered(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    const uint8_t data[56] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct wire_icmp6_repr req = {.type = WIRE_ICMP6_ECHO_REQUEST,
                                  .id = 0x1234,
                                  .seq = 9,
                                  .data = data,
                                  .data_len = sizeof data};
    assert_int_equal(send_icmp6(&f, &req), 0);
    uint8_t pkt[2048];
    struct wire_icmp6_repr m;
    recv_icmp6(&f, pkt, sizeof pkt, &m);
    assert_int_equal(m.type, WIRE_ICMP6_ECHO_REPLY);
    assert_int_equal(m.id, 0x1234);
    assert_int_equal(m.seq, 9);
    assert_int_equal(m.data_len, sizeof data);
    assert_memory_equal(m.data, data, sizeof data);
    fix_free(&f);
}

/* `ping -6 -s 3000` as the kernel sends it: three fragments with a Fragment header
 * (RFC 8200 §4.5); the reply, as large, comes back in fragments. */
static void large_echo_in_fragments_both_ways(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    struct wire_icmp6_repr req = {
        .type = WIRE_ICMP6_ECHO_REQUEST, .id = 1, .seq = 2, .data = data, .data_len = sizeof data};
    uint8_t msg[4096];
    size_t n = wire_icmp6_emit(&req, &f.remote, &f.local, msg, sizeof msg);
    for (size_t off = 0; off < n; off += 1232) {
        size_t piece = n - off < 1232 ? n - off : 1232;
        uint8_t pkt[1500];
        struct wire_ip_repr ip = {.src = f.remote,
                                  .dst = f.local,
                                  .proto = WIRE_IP_PROTO_ICMPV6,
                                  .ttl = 64,
                                  .payload_len = (uint16_t)piece};
        ip.frag = (struct wire_ip_frag){
            .present = true, .more = off + piece < n, .offset = (uint16_t)off, .id = 77};
        size_t hdr = wire_ip_emit(&ip, pkt, sizeof pkt);
        assert_int_equal(hdr, WIRE_IPV6_HDR_LEN + WIRE_IPV6_FRAG_HDR_LEN);
        memcpy(pkt + hdr, msg + off, piece);
        assert_int_equal(fix_send_raw(&f, pkt, hdr + piece), 0);
    }
    uint8_t whole[4096];
    size_t got = 0, len;
    unsigned pieces = 0;
    uint8_t pkt[2048];
    while ((len = fix_recv_raw(&f, pkt, sizeof pkt)) > 0) {
        struct wire_ip_repr ip;
        assert_true(len <= 1500);
        assert_int_equal(wire_ipv6_parse(pkt, len, &ip), SYNACK_DROP_NONE);
        assert_true(ip.frag.present);
        assert_int_equal(ip.proto, WIRE_IP_PROTO_ICMPV6);
        memcpy(whole + ip.frag.offset, pkt + ip.header_len, ip.payload_len);
        got += ip.payload_len;
        pieces++;
    }
    assert_int_equal(pieces, 3);
    struct wire_icmp6_repr m;
    assert_int_equal(wire_icmp6_parse(whole, got, &f.local, &f.remote, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP6_ECHO_REPLY);
    assert_int_equal(m.data_len, sizeof data);
    assert_memory_equal(m.data, data, sizeof data);
    fix_free(&f);
}

/* An ICMPv6 error quoting one of the stack's segments on f's connection. */
static int send_error_about_conn(struct fix *f, uint8_t type, uint8_t code, uint32_t word,
                                 uint32_t seq, uint16_t payload_len)
{
    uint8_t quote[WIRE_IPV6_HDR_LEN + 8];
    struct wire_ip_repr qip = {.src = f->local,
                               .dst = f->remote,
                               .proto = WIRE_IP_PROTO_TCP,
                               .ttl = 63,
                               .payload_len = payload_len};
    wire_ipv6_emit(&qip, quote);
    uint8_t *t = quote + WIRE_IPV6_HDR_LEN;
    const uint8_t tcp8[8] = {
        (uint8_t)(f->lport >> 8), (uint8_t)f->lport,    (uint8_t)(f->rport >> 8), (uint8_t)f->rport,
        (uint8_t)(seq >> 24),     (uint8_t)(seq >> 16), (uint8_t)(seq >> 8),      (uint8_t)seq};
    memcpy(t, tcp8, 8);
    struct wire_icmp6_repr m = {
        .type = type, .code = code, .data = quote, .data_len = sizeof quote};
    if (type == WIRE_ICMP6_PACKET_TOO_BIG) m.mtu = word;
    if (type == WIRE_ICMP6_PARAM_PROBLEM) m.pointer = word;
    return send_icmp6(f, &m);
}

/* RFC 8201 §4: packet too big lowers the path MTU and the MSS, and the segments that were
 * too big go again at once; a report below 1280 sets 1280, never less. */
static void packet_too_big_lowers_mss_to_1280_floor(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    f.peer_mss = 1440;
    fix_established_active(&f);
    fix_queue(&f, 2 * 1440);
    fix_expect_data(&f, WIRE_TCP_ACK, f.iss + 1, f.peer_nxt, 1440);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.iss + 1 + 1440, f.peer_nxt, 1440);
    /* A forged message quoting a sequence number not in flight is refused (RFC 5927). */
    assert_int_equal(
        send_error_about_conn(&f, WIRE_ICMP6_PACKET_TOO_BIG, 0, 1280, f.iss + 5000, 20 + 1440), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_BLIND), 1);
    assert_int_equal(fix_info(&f).pmtu, 1500);
    assert_int_equal(
        send_error_about_conn(&f, WIRE_ICMP6_PACKET_TOO_BIG, 0, 1000, f.iss + 1, 20 + 1440), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pmtu, 1280);
    assert_int_equal(info.snd_mss, 1280 - 60);
    assert_false(info.pmtu_no_df);
    /* The two segments go again in pieces of the new MSS. */
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.seq, f.iss + 1);
    assert_int_equal(seg.payload_len, 1220);
    fix_free(&f);
}

/* RFC 4443 §3.1 with RFC 5461 §4: port unreachable aborts an opening connection. */
static void port_unreachable_refuses_an_opening_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    fix_syn_sent(&f);
    assert_int_equal(
        send_error_about_conn(&f, WIRE_ICMP6_DEST_UNREACH, WIRE_ICMP6_PORT_UNREACH, 0, f.iss, 20),
        0);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
    fix_free(&f);
}

/* RFC 8200 §4: an unrecognized Next Header is answered with a parameter problem, code 1,
 * pointing at the field that named it (byte 6 of the fixed header), within the rate limit
 * (RFC 4443 §2.4 (f)). */
static void unknown_next_header_gets_parameter_problem(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    const uint8_t body[16] = {0};
    assert_int_equal(send6(&f, 253, body, sizeof body), SYNACK_ERR_MALFORMED);
    uint8_t pkt[2048];
    struct wire_icmp6_repr m;
    recv_icmp6(&f, pkt, sizeof pkt, &m);
    assert_int_equal(m.type, WIRE_ICMP6_PARAM_PROBLEM);
    assert_int_equal(m.code, WIRE_ICMP6_UNKNOWN_NEXT_HEADER);
    assert_int_equal(m.pointer, 6);
    assert_int_equal(m.data_len, WIRE_IPV6_HDR_LEN + sizeof body);
    /* ICMP (IPv4's) inside IPv6 is as unknown. */
    assert_int_equal(send6(&f, WIRE_IP_PROTO_ICMP, body, sizeof body), SYNACK_ERR_MALFORMED);
    recv_icmp6(&f, pkt, sizeof pkt, &m);
    assert_int_equal(m.code, WIRE_ICMP6_UNKNOWN_NEXT_HEADER);
    /* The budget: icmp_error_limit (100) per second, then silence until the next second. */
    for (int i = 0; i < 200; i++)
        send6(&f, 253, body, sizeof body);
    unsigned answered = 0;
    while (fix_recv_raw(&f, pkt, sizeof pkt) > 0)
        answered++;
    assert_true(answered <= 100);
    fix_free(&f);
}

/* RFC 8200 §4.2: an unrecognized option whose type starts with bits 10 is discarded and
 * answered with a parameter problem, code 2, pointing at the option's type. */
static void unknown_option_type_10_is_answered(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    /* Hop-by-hop: length 0 (8 bytes), option 0x80 with 4 bytes of data, then 8 bytes of an
     * upper layer (253, for experiments) that the error can quote. */
    const uint8_t hbh[16] = {253, 0, 0x80, 4, 0, 0, 0, 0};
    assert_int_equal(send6(&f, WIRE_IPV6_NH_HOP_BY_HOP, hbh, sizeof hbh), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP6_OPTION), 1);
    uint8_t pkt[2048];
    struct wire_icmp6_repr m;
    recv_icmp6(&f, pkt, sizeof pkt, &m);
    assert_int_equal(m.type, WIRE_ICMP6_PARAM_PROBLEM);
    assert_int_equal(m.code, WIRE_ICMP6_UNKNOWN_OPTION);
    assert_int_equal(m.pointer, WIRE_IPV6_HDR_LEN + 2);
    /* Bits 01: discarded silently. */
    const uint8_t quiet[16] = {253, 0, 0x40, 4, 0, 0, 0, 0};
    assert_int_equal(send6(&f, WIRE_IPV6_NH_HOP_BY_HOP, quiet, sizeof quiet), SYNACK_ERR_MALFORMED);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 4443 §2.4 (e): never an error about an error. */
static void no_error_about_an_error(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    uint8_t quote[WIRE_IPV6_HDR_LEN + 8] = {0x60};
    struct wire_icmp6_repr m = {
        .type = WIRE_ICMP6_TIME_EXCEEDED, .data = quote, .data_len = sizeof quote};
    uint8_t msg[128];
    size_t n = wire_icmp6_emit(&m, &f.remote, &f.local, msg, sizeof msg);
    /* Under an unknown extension-less Next Header it would be answered; as ICMPv6 it is
     * taken (no connection: counted) and never answered. */
    send6(&f, WIRE_IP_PROTO_ICMPV6, msg, n);
    fix_expect_none(&f);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(handshake_offers_mtu_minus_60),
    cmocka_unit_test(passive_open_and_data_over_ipv6),
    cmocka_unit_test(default_send_mss_is_1220),
    cmocka_unit_test(closed_port_resets_over_ipv6),
    cmocka_unit_test(echo_request_answered),
    cmocka_unit_test(large_echo_in_fragments_both_ways),
    cmocka_unit_test(packet_too_big_lowers_mss_to_1280_floor),
    cmocka_unit_test(port_unreachable_refuses_an_opening_connection),
    cmocka_unit_test(unknown_next_header_gets_parameter_problem),
    cmocka_unit_test(unknown_option_type_10_is_answered),
    cmocka_unit_test(no_error_about_an_error),
};

SYNACK_TEST_MAIN("ipv6", tests)
