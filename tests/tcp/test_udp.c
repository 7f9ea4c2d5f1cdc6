/* UDP in the core (RFC 768, RFC 8085): sockets bound and connected, datagrams both ways in
 * both families, the port unreachable a closed port draws, ICMP errors back to the socket,
 * bounded queues, fragments for large datagrams. The test plays the peer. */
#include <string.h>

#include "tcpfix.h"

#define UPORT 5353
#define PEER_PORT 40000

/* A datagram from the peer (port `sport`) to the stack's `dport`. */
static int peer_send(struct fix *f, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
    uint8_t msg[2048];
    struct wire_udp_repr d = {
        .src_port = sport, .dst_port = dport, .payload = data, .payload_len = len};
    size_t n = wire_udp_emit(&d, &f->remote, &f->local, msg, sizeof msg);
    assert_true(n > 0);
    return fix_send_ip(f, (struct wire_ip_repr){.proto = WIRE_IP_PROTO_UDP}, msg, n);
}

/* The stack's next packet, which must be a UDP datagram to the peer: its repr. */
static void expect_udp(struct fix *f, uint8_t *pkt, size_t cap, struct wire_udp_repr *d)
{
    struct wire_ip_repr ip;
    fix_recv_ip(f, pkt, cap, WIRE_IP_PROTO_UDP, &ip);
    assert_int_equal(wire_udp_parse(pkt + ip.header_len, ip.payload_len, &ip.src, &ip.dst, d),
                     SYNACK_DROP_NONE);                           /* the checksum checks */
    assert_true(pkt[ip.header_len + 6] | pkt[ip.header_len + 7]); /* and is there */
}

static struct synack_udp *bind_port(struct fix *f, uint16_t port)
{
    struct synack_udp *u;
    struct synack_endpoint local = {.port = port};
    assert_int_equal(synack_udp_bind(f->s, &local, &f->lport, &u), 0);
    return u;
}

static void datagrams_both_ways(struct fix *f)
{
    struct synack_udp *u = bind_port(f, UPORT);
    assert_int_equal(peer_send(f, PEER_PORT, UPORT, "ping", 4), 0);
    fix_events(f);
    assert_true(fix_saw_event(f, SYNACK_EV_READABLE, 0));
    uint8_t buf[64];
    struct synack_endpoint from;
    assert_int_equal(synack_udp_recv(u, buf, sizeof buf, &from, f->now), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_true(synack_addr_eq(&from.addr, &f->remote));
    assert_int_equal(from.port, PEER_PORT);
    assert_int_equal(synack_udp_recv(u, buf, sizeof buf, &from, f->now), SYNACK_ERR_AGAIN);
    /* The answer goes back to where the datagram came from. */
    assert_int_equal(synack_udp_send(u, (const uint8_t *)"pong", 4, &from, f->now), 4);
    uint8_t pkt[2048];
    struct wire_udp_repr d;
    expect_udp(f, pkt, sizeof pkt, &d);
    assert_int_equal(d.src_port, UPORT);
    assert_int_equal(d.dst_port, PEER_PORT);
    assert_int_equal(d.payload_len, 4);
    assert_memory_equal(d.payload, "pong", 4);
    struct synack_udp_info info;
    assert_int_equal(synack_udp_info(u, &info), 0);
    assert_int_equal(info.counters.udp_in, 1);
    assert_int_equal(info.counters.udp_out, 1);
    synack_udp_close(u);
}

static void datagrams_both_ways_v4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    datagrams_both_ways(&f);
    fix_free(&f);
}

static void datagrams_both_ways_v6(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    datagrams_both_ways(&f);
    fix_free(&f);
}

/* RFC 1122 §4.1.3.1 / RFC 792: port unreachable, quoting the datagram; RFC 4443 §3.1 code 4
 * over IPv6. */
static void closed_port_answers_port_unreachable_both_families(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(peer_send(&f, PEER_PORT, 9, "x", 1), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_UDP_NO_SOCKET), 1);
    uint8_t pkt[2048];
    size_t n = fix_recv_raw(&f, pkt, sizeof pkt);
    struct wire_ip_repr ip;
    assert_int_equal(wire_ipv4_parse(pkt, n, &ip), SYNACK_DROP_NONE);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(pkt + ip.header_len, ip.payload_len, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP_DEST_UNREACH);
    assert_int_equal(m.code, WIRE_ICMP_PORT_UNREACH);
    assert_int_equal(m.quote.proto, WIRE_IP_PROTO_UDP);
    assert_int_equal(m.quote.dst_port, 9);
    fix_free(&f);

    fix_init(&f, fix_use_ipv6);
    assert_int_equal(peer_send(&f, PEER_PORT, 9, "x", 1), 0);
    n = fix_recv_raw(&f, pkt, sizeof pkt);
    assert_int_equal(wire_ipv6_parse(pkt, n, &ip), SYNACK_DROP_NONE);
    struct wire_icmp6_repr m6;
    assert_int_equal(wire_icmp6_parse(pkt + ip.header_len, ip.payload_len, &ip.src, &ip.dst, &m6),
                     SYNACK_DROP_NONE);
    assert_int_equal(m6.type, WIRE_ICMP6_DEST_UNREACH);
    assert_int_equal(m6.code, WIRE_ICMP6_PORT_UNREACH);
    assert_int_equal(m6.quote.dst_port, 9);
    fix_free(&f);
}

/* RFC 8200 §8.1: over IPv6 a zero checksum is not "none": the datagram is dropped. Over
 * IPv4 zero means the sender computed none (RFC 768) and the datagram is taken. */
static void zero_checksum_taken_over_ipv4_only(void **state)
{
    (void)state;
    for (int v6 = 0; v6 < 2; v6++) {
        struct fix f;
        fix_init(&f, v6 ? fix_use_ipv6 : NULL);
        struct synack_udp *u = bind_port(&f, UPORT);
        uint8_t pkt[128];
        size_t hdr = wire_ip_header_len((enum synack_family)f.local.family);
        uint8_t *d = pkt + hdr;
        const uint8_t body[12] = {PEER_PORT >> 8,
                                  PEER_PORT & 0xff,
                                  UPORT >> 8,
                                  UPORT & 0xff,
                                  0,
                                  12,
                                  0,
                                  0,
                                  'a',
                                  'b',
                                  'c',
                                  'd'};
        memcpy(d, body, sizeof body);
        struct wire_ip_repr ip = {.src = f.remote,
                                  .dst = f.local,
                                  .proto = WIRE_IP_PROTO_UDP,
                                  .ttl = 64,
                                  .payload_len = sizeof body};
        wire_ip_emit(&ip, pkt, hdr);
        int rc = fix_send_raw(&f, pkt, hdr + sizeof body);
        uint8_t buf[16];
        if (v6) {
            assert_int_equal(rc, SYNACK_ERR_MALFORMED);
            assert_int_equal(fix_drops(&f, SYNACK_DROP_UDP_CHECKSUM), 1);
            assert_int_equal(synack_udp_recv(u, buf, sizeof buf, NULL, f.now), SYNACK_ERR_AGAIN);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(synack_udp_recv(u, buf, sizeof buf, NULL, f.now), 4);
        }
        fix_free(&f);
    }
}

static void small_rcvbuf(struct synack_config *cfg)
{
    cfg->udp_rcvbuf = 256; /* 4 records at most */
}

/* RFC 8085 §3.1.5: a receiver may drop what it cannot hold; the drops are counted, the
 * queue keeps the oldest, and READABLE came once. */
static void receive_queue_overflow_is_counted(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, small_rcvbuf);
    struct synack_udp *u = bind_port(&f, UPORT);
    char msg[40];
    for (int i = 0; i < 10; i++) {
        memset(msg, 'a' + i, sizeof msg);
        peer_send(&f, PEER_PORT, UPORT, msg, sizeof msg);
    }
    struct synack_udp_info info;
    synack_udp_info(u, &info);
    assert_true(info.queued >= 1 && info.queued <= 4);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_UDP_QUEUE_FULL), 10 - info.queued);
    assert_int_equal(info.counters.drops[SYNACK_DROP_UDP_QUEUE_FULL], 10 - info.queued);
    size_t readable = 0;
    fix_events(&f);
    for (size_t i = 0; i < f.nevents; i++)
        readable += f.events[i].type == SYNACK_EV_READABLE;
    assert_int_equal(readable, 1);
    uint8_t buf[64];
    assert_int_equal(synack_udp_recv(u, buf, sizeof buf, NULL, f.now), 40);
    assert_int_equal(buf[0], 'a');
    /* A short buffer: recvfrom's truncation, the whole length returned. */
    assert_int_equal(synack_udp_recv(u, buf, 5, NULL, f.now), 40);
    assert_int_equal(buf[0], 'b');
    fix_free(&f);
}

/* The peer's stack says port unreachable about a datagram a connected socket sent: the
 * next call reports CONNREFUSED once (RFC 1122 §4.1.3.3), with one ERROR event. An
 * unconnected socket gets the event and no pending error. */
static void icmp_error_reaches_the_sending_socket(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_udp *u = bind_port(&f, UPORT);
    struct synack_endpoint peer = {f.remote, PEER_PORT};
    assert_int_equal(synack_udp_connect(u, &peer), 0);
    assert_int_equal(synack_udp_send(u, (const uint8_t *)"hello", 5, NULL, f.now), 5);
    uint8_t sent[2048];
    size_t n = fix_recv_raw(&f, sent, sizeof sent);
    struct wire_icmp_repr m = {.type = WIRE_ICMP_DEST_UNREACH,
                               .code = WIRE_ICMP_PORT_UNREACH,
                               .data = sent,
                               .data_len = n};
    assert_int_equal(fix_send_icmp(&f, FIX_REMOTE, FIX_LOCAL, &m), 0);
    fix_events(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
    struct synack_udp_info info;
    synack_udp_info(u, &info);
    assert_int_equal(info.pending_err, SYNACK_ERR_CONNREFUSED);
    assert_int_equal(synack_udp_send(u, (const uint8_t *)"again", 5, NULL, f.now),
                     SYNACK_ERR_CONNREFUSED);
    assert_int_equal(synack_udp_send(u, (const uint8_t *)"again", 5, NULL, f.now), 5);
    /* An error about a datagram of another port finds no socket: counted, nothing else. */
    sent[20] ^= 0xff; /* the source port in the quoted UDP header */
    assert_int_equal(fix_send_icmp(&f, FIX_REMOTE, FIX_LOCAL, &m), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_NO_CONN), 1);
    synack_udp_info(u, &info);
    assert_int_equal(info.pending_err, 0);
    fix_free(&f);

    fix_init(&f, NULL);
    u = bind_port(&f, UPORT);
    assert_int_equal(synack_udp_send(u, (const uint8_t *)"hello", 5, &peer, f.now), 5);
    n = fix_recv_raw(&f, sent, sizeof sent);
    m.data_len = n;
    assert_int_equal(fix_send_icmp(&f, FIX_REMOTE, FIX_LOCAL, &m), 0);
    fix_events(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
    synack_udp_info(u, &info);
    assert_int_equal(info.pending_err, 0);
    assert_int_equal(info.counters.udp_icmp_errors, 1);
    fix_free(&f);
}

/* RFC 8085 §5.1: a connected socket takes its peer's datagrams before an unconnected one
 * and no one else's; a socket bound to an address beats the wildcard. */
static void connected_and_specific_sockets_win(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_udp *any = bind_port(&f, UPORT), *conn, *other;
    struct synack_endpoint local = {f.local, UPORT};
    assert_int_equal(synack_udp_bind(f.s, &local, NULL, &conn), SYNACK_ERR_ADDRINUSE);
    synack_udp_close(any);
    assert_int_equal(synack_udp_bind(f.s, &local, NULL, &conn), 0);
    struct synack_endpoint peer = {f.remote, PEER_PORT};
    assert_int_equal(synack_udp_connect(conn, &peer), 0);
    struct synack_endpoint v6any = {synack_addr_any(SYNACK_AF_INET6), UPORT};
    assert_int_equal(synack_udp_bind(f.s, &v6any, NULL, &other), 0); /* no overlap */
    uint8_t buf[16];
    peer_send(&f, PEER_PORT, UPORT, "a", 1);
    assert_int_equal(synack_udp_recv(conn, buf, sizeof buf, NULL, f.now), 1);
    peer_send(&f, PEER_PORT + 1, UPORT, "b", 1); /* not its peer: nobody takes it */
    assert_int_equal(synack_udp_recv(conn, buf, sizeof buf, NULL, f.now), SYNACK_ERR_AGAIN);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_UDP_NO_SOCKET), 1);
    fix_free(&f);
}

static void api_errors_say_what_is_wrong(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_udp *u = bind_port(&f, 0); /* ephemeral */
    struct synack_udp_info info;
    synack_udp_info(u, &info);
    assert_true(info.local.port >= f.cfg.ephemeral_lo);
    uint8_t big[70000] = {0};
    struct synack_endpoint peer = {f.remote, PEER_PORT};
    assert_int_equal(synack_udp_send(u, big, 10, NULL, f.now), SYNACK_ERR_NOTCONN);
    assert_int_equal(synack_udp_send(u, big, 65508, &peer, f.now), SYNACK_ERR_MSGSIZE);
    struct synack_endpoint v6peer = {fix_addr6(2), 1};
    assert_int_equal(synack_udp_send(u, big, 1, &v6peer, f.now), SYNACK_ERR_INVAL); /* no v6 */
    struct synack_endpoint foreign = {synack_addr_v4(0xc6120099u), 1};
    struct synack_udp *x;
    assert_int_equal(synack_udp_bind(f.s, &foreign, NULL, &x), SYNACK_ERR_INVAL);
    struct synack_endpoint bcast = {synack_addr_v4(0xffffffffu), 1};
    assert_int_equal(synack_udp_connect(u, &bcast), SYNACK_ERR_INVAL);
    /* The send queue (64 KiB) fills: AGAIN, then WRITABLE once it drained. */
    int sent = 0;
    while (synack_udp_send(u, big, 1400, &peer, f.now) == 1400)
        sent++;
    assert_true(sent >= 40 && sent <= 47);
    assert_int_equal(synack_udp_send(u, big, 1400, &peer, f.now), SYNACK_ERR_AGAIN);
    uint8_t pkt[2048];
    while (fix_recv_raw(&f, pkt, sizeof pkt) > 0)
        ;
    fix_events(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    fix_free(&f);
}

/* A datagram larger than the MTU leaves in fragments (RFC 791 §3.2, RFC 8200 §4.5); one
 * that arrives in fragments is delivered whole. */
static void large_datagrams_fragment_both_ways(void **state)
{
    (void)state;
    for (int v6 = 0; v6 < 2; v6++) {
        struct fix f;
        fix_init(&f, v6 ? fix_use_ipv6 : NULL);
        struct synack_udp *u = bind_port(&f, UPORT);
        static uint8_t data[4000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (uint8_t)(i * 7 + v6);
        struct synack_endpoint peer = {f.remote, PEER_PORT};
        assert_int_equal(synack_udp_send(u, data, sizeof data, &peer, f.now), (int)sizeof data);
        uint8_t whole[8192], pkt[2048];
        size_t got = 0, n;
        unsigned pieces = 0;
        while ((n = fix_recv_raw(&f, pkt, sizeof pkt)) > 0) {
            struct wire_ip_repr ip;
            assert_int_equal(wire_ip_parse(pkt, n, &ip), SYNACK_DROP_NONE);
            assert_true(ip.frag.present);
            assert_int_equal(ip.proto, WIRE_IP_PROTO_UDP);
            memcpy(whole + ip.frag.offset, pkt + ip.header_len, ip.payload_len);
            got += ip.payload_len;
            pieces++;
        }
        assert_int_equal(pieces, 3);
        struct wire_udp_repr d;
        assert_int_equal(wire_udp_parse(whole, got, &f.local, &f.remote, &d), SYNACK_DROP_NONE);
        assert_int_equal(d.payload_len, sizeof data);
        assert_memory_equal(d.payload, data, sizeof data);
        /* The same bytes back to the stack, as fragments the peer made. */
        for (size_t off = 0; off < got; off += 1200) {
            size_t piece = got - off < 1200 ? got - off : 1200;
            struct wire_ip_repr ip = {.src = f.remote,
                                      .dst = f.local,
                                      .proto = WIRE_IP_PROTO_UDP,
                                      .ttl = 64,
                                      .id = 9,
                                      .payload_len = (uint16_t)piece};
            ip.frag = (struct wire_ip_frag){
                .present = true, .more = off + piece < got, .offset = (uint16_t)off, .id = 9};
            struct wire_udp_repr back = {.src_port = PEER_PORT,
                                         .dst_port = UPORT,
                                         .payload = data,
                                         .payload_len = sizeof data};
            uint8_t dgram[8192];
            size_t dl = wire_udp_emit(&back, &f.remote, &f.local, dgram, sizeof dgram);
            assert_int_equal(dl, got);
            size_t hdr = wire_ip_emit(&ip, pkt, sizeof pkt);
            memcpy(pkt + hdr, dgram + off, piece);
            assert_int_equal(fix_send_raw(&f, pkt, hdr + piece), 0);
        }
        static uint8_t buf[8192];
        assert_int_equal(synack_udp_recv(u, buf, sizeof buf, NULL, f.now), (int)sizeof data);
        assert_memory_equal(buf, data, sizeof data);
        fix_free(&f);
    }
}

/* Sends a datagram of `len` bytes to the peer and takes what leaves: returns how many
 * packets, with the largest in *largest. */
static unsigned send_and_count(struct fix *f, struct synack_udp *u, size_t len, size_t *largest)
{
    static uint8_t data[4000];
    struct synack_endpoint peer = {f->remote, PEER_PORT};
    assert_true(len <= sizeof data);
    assert_int_equal(synack_udp_send(u, data, len, &peer, f->now), (int)len);
    uint8_t pkt[2048];
    size_t n;
    unsigned count = 0;
    *largest = 0;
    while ((n = fix_recv_raw(f, pkt, sizeof pkt)) > 0) {
        if (n > *largest) *largest = n;
        count++;
    }
    return count;
}

/* The peer's router says packet too big about `quoted` (what the stack sent). */
static int packet_too_big(struct fix *f, uint32_t mtu, const uint8_t *quoted, size_t len)
{
    struct wire_icmp6_repr m = {.type = WIRE_ICMP6_PACKET_TOO_BIG,
                                .mtu = mtu,
                                .data = quoted,
                                .data_len =
                                    len < WIRE_ICMP6_QUOTE_MAX ? len : WIRE_ICMP6_QUOTE_MAX};
    uint8_t msg[1500];
    size_t n = wire_icmp6_emit(&m, &f->remote, &f->local, msg, sizeof msg);
    assert_true(n > 0);
    return fix_send_ip(f, (struct wire_ip_repr){.proto = WIRE_IP_PROTO_ICMPV6}, msg, n);
}

/* RFC 8201 §4: a packet too big about a datagram a socket sent lowers the path MTU to that
 * destination, and later datagrams leave in fragments that fit; never below 1280, never
 * raised by a message, forgotten after 10 minutes (no increase sooner than 5). */
static void packet_too_big_lowers_the_path_mtu_for_datagrams_rfc8201(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    struct synack_udp *u = bind_port(&f, UPORT);
    static uint8_t data[1400];
    struct synack_endpoint peer = {f.remote, PEER_PORT};
    assert_int_equal(synack_udp_send(u, data, sizeof data, &peer, f.now), (int)sizeof data);
    uint8_t sent[2048];
    size_t n = fix_recv_raw(&f, sent, sizeof sent);
    assert_int_equal(n, 40 + 8 + sizeof data); /* whole under the link's 1500 */
    size_t largest;

    assert_int_equal(packet_too_big(&f, 1300, sent, n), 0);
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.pmtu_decreases, 1);
    assert_int_equal(send_and_count(&f, u, sizeof data, &largest), 2);
    assert_true(largest <= 1300);
    /* A larger MTU in a later message raises nothing. */
    assert_int_equal(packet_too_big(&f, 1400, sent, n), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 1);
    assert_int_equal(send_and_count(&f, u, sizeof data, &largest), 2);
    assert_true(largest <= 1300);
    /* Below the IPv6 minimum: 1280 (RFC 8200 §5). */
    assert_int_equal(packet_too_big(&f, 600, sent, n), 0);
    assert_int_equal(send_and_count(&f, u, 3000, &largest), 3);
    assert_int_equal(largest, 1280);
    /* About a datagram no socket here sent (another source port): nothing changes. */
    sent[40] ^= 0xff;
    assert_int_equal(packet_too_big(&f, 1280, sent, n), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_NO_CONN), 1);
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.pmtu_decreases, 2);
    /* Ten minutes on the link's MTU applies again. */
    fix_advance(&f, SYNACK_S(599));
    assert_int_equal(send_and_count(&f, u, sizeof data, &largest), 2);
    fix_advance(&f, SYNACK_S(1));
    assert_int_equal(send_and_count(&f, u, sizeof data, &largest), 1);
    assert_int_equal(largest, 40 + 8 + sizeof data);
    fix_free(&f);
}

/* The path MTUs are a bounded table: a 17th destination takes the place of the entry that
 * expires first, which then gets the link's MTU again; the other 15 keep theirs. */
static void path_mtu_table_replaces_the_entry_expiring_first(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, fix_use_ipv6);
    struct synack_udp *u = bind_port(&f, UPORT);
    static uint8_t data[1400];
    uint8_t sent[2048], pkt[2048];
    for (uint8_t k = 0; k < 17; k++) {
        struct synack_endpoint to = {fix_addr6((uint8_t)(10 + k)), PEER_PORT};
        assert_int_equal(synack_udp_send(u, data, sizeof data, &to, f.now), (int)sizeof data);
        size_t n = fix_recv_raw(&f, sent, sizeof sent);
        assert_int_equal(n, 40 + 8 + sizeof data); /* whole: nothing learnt for it yet */
        assert_int_equal(packet_too_big(&f, 1300, sent, n), 0);
        fix_advance(&f, SYNACK_S(1)); /* the first lowered expires first */
    }
    struct synack_counters c;
    synack_stack_counters(f.s, &c);
    assert_int_equal(c.pmtu_decreases, 17);
    for (uint8_t k = 0; k < 17; k++) {
        struct synack_endpoint to = {fix_addr6((uint8_t)(10 + k)), PEER_PORT};
        assert_int_equal(synack_udp_send(u, data, sizeof data, &to, f.now), (int)sizeof data);
        unsigned pieces = 0;
        while (fix_recv_raw(&f, pkt, sizeof pkt) > 0)
            pieces++;
        assert_int_equal(pieces, k == 0 ? 1 : 2);
    }
    fix_free(&f);
}

/* A datagram larger than the MTU holds the stack's one fragmenting slot until its last
 * fragment has left: a second one gets AGAIN, and WRITABLE once the slot is free again,
 * even though the send queue itself never held anything (the contract of
 * synack_udp_send: "AGAIN ... WRITABLE follows"). */
static void fragmenting_slot_frees_with_writable(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct synack_udp *u = bind_port(&f, UPORT);
    static uint8_t data[3000];
    struct synack_endpoint peer = {f.remote, PEER_PORT};
    assert_int_equal(synack_udp_send(u, data, sizeof data, &peer, f.now), (int)sizeof data);
    assert_int_equal(synack_udp_send(u, data, sizeof data, &peer, f.now), SYNACK_ERR_AGAIN);
    fix_events(&f);
    assert_false(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    uint8_t pkt[2048];
    unsigned pieces = 0;
    while (fix_recv_raw(&f, pkt, sizeof pkt) > 0)
        pieces++;
    assert_int_equal(pieces, 3);
    assert_true(fix_saw_event(&f, SYNACK_EV_WRITABLE, 0));
    assert_int_equal(synack_udp_send(u, data, sizeof data, &peer, f.now), (int)sizeof data);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(datagrams_both_ways_v4),
    cmocka_unit_test(datagrams_both_ways_v6),
    cmocka_unit_test(closed_port_answers_port_unreachable_both_families),
    cmocka_unit_test(zero_checksum_taken_over_ipv4_only),
    cmocka_unit_test(receive_queue_overflow_is_counted),
    cmocka_unit_test(icmp_error_reaches_the_sending_socket),
    cmocka_unit_test(connected_and_specific_sockets_win),
    cmocka_unit_test(api_errors_say_what_is_wrong),
    cmocka_unit_test(large_datagrams_fragment_both_ways),
    cmocka_unit_test(fragmenting_slot_frees_with_writable),
    cmocka_unit_test(packet_too_big_lowers_the_path_mtu_for_datagrams_rfc8201),
    cmocka_unit_test(path_mtu_table_replaces_the_entry_expiring_first),
};

SYNACK_TEST_MAIN("udp", tests)
