/* Transmit offloads in the core (synack_stack_output_offload): with SYNACK_TX_CSUM the TCP
 * checksum is left partial for the link, and once finished the packet is the one plain
 * output writes; with SYNACK_TX_TSO4/6 a connection joins full segments into one the link
 * cuts, and cut as a segmentation offload cuts it (each piece the headers of the whole, its
 * sequence number and IPv4 identification advanced, PSH and FIN on the last piece only),
 * they are byte for byte the segments of plain output: a whole transfer, with a loss to
 * repair, goes the same on the wire either way, and ends with the same counters, cwnd and
 * RTT estimates: congestion control, RTT and loss accounting saw each piece as a segment.
 * Without the bits nothing changes. With SYNACK_TX_USO, UDP datagrams join (below). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "testaddr.h"
#include "wire/wire.h"

#define A_ADDR 0xc6120002u /* 198.18.0.2: the sender, whose link may offload */
#define B_ADDR 0xc6120001u /* 198.18.0.1 */
static const uint8_t A_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const uint8_t B_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
#define PORT 5001
#define TRANSFER (600u * 1000u)
#define PKT_MAX 65535
#define NO_DROP ((size_t)-1)

/* What one transfer put on A's wire: the packets as they would leave the link (segments cut,
 * checksums finished), one after the other, each after its 2-byte length. */
struct wire_log {
    uint8_t *bytes;
    size_t len, cap;
    size_t packets;
    size_t gso_packets;  /* packets A's output left for the link to cut */
    size_t partial;      /* packets A's output left with a partial checksum */
    size_t longest;      /* the longest packet A's output wrote */
    size_t mtu_exceeded; /* packets on the wire longer than the MTU (none may be) */
    size_t not_verified; /* packets on the wire whose checksums do not verify (none may) */
};

static void log_append(struct wire_log *w, const uint8_t *pkt, size_t len)
{
    if (w->len + len + 2 > w->cap) {
        w->cap = (w->cap + len + 2) * 2;
        w->bytes = realloc(w->bytes, w->cap);
        assert_non_null(w->bytes);
    }
    w->bytes[w->len] = (uint8_t)(len >> 8);
    w->bytes[w->len + 1] = (uint8_t)len;
    memcpy(w->bytes + w->len + 2, pkt, len);
    w->len += len + 2;
    w->packets++;
}

/* The same packets, byte for byte and in order, on both wires. */
static void log_compare(const struct wire_log *a, const struct wire_log *b)
{
    assert_int_equal(a->packets, b->packets);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->bytes, b->bytes, b->len);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static struct synack_addr packet_addr(const uint8_t *pkt, bool dst)
{
    if ((pkt[0] >> 4) == 4) {
        const uint8_t *p = pkt + (dst ? 16 : 12);
        return synack_addr_v4((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                              p[3]);
    }
    return synack_addr_v6(pkt + (dst ? 24 : 8));
}

/* The IP header of piece `i` (`n` bytes, `ip_hdr` of them the header) cut from a packet
 * whose header `out` holds: RFC 791 §3.1 Total Length, the Identification advanced by `i`,
 * the header checksum again; RFC 8200 §3 Payload Length. */
static void cut_ip_header(uint8_t *out, size_t ip_hdr, size_t n, size_t i)
{
    if ((out[0] >> 4) == 4) {
        put16(out + 2, (uint16_t)n);
        put16(out + 4, (uint16_t)(get16(out + 4) + i));
        put16(out + 10, 0);
        put16(out + 10, wire_csum_finish(wire_csum_add(0, out, ip_hdr)));
    } else {
        put16(out + 4, (uint16_t)(n - ip_hdr));
    }
}

/* Piece `i` of `pieces` of the segment `pkt` left for the link to cut into `gso` payload
 * bytes each, written into `out` as a segmentation offload would (independently of the
 * stack's code: from the RFCs' field offsets). Returns its length. */
static size_t cut_piece(const uint8_t *pkt, size_t len, size_t ip_hdr, size_t tcp_hdr, size_t gso,
                        size_t i, size_t pieces, uint8_t *out)
{
    size_t hdr = ip_hdr + tcp_hdr, off = hdr + i * gso;
    size_t payload = i + 1 < pieces ? gso : len - off;
    memcpy(out, pkt, hdr);
    memcpy(out + hdr, pkt + off, payload);
    size_t n = hdr + payload;
    uint8_t *tcp = out + ip_hdr;
    /* RFC 9293 §3.1: the sequence number of the piece's first byte. */
    uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    seq += (uint32_t)(i * gso);
    tcp[4] = (uint8_t)(seq >> 24);
    tcp[5] = (uint8_t)(seq >> 16);
    tcp[6] = (uint8_t)(seq >> 8);
    tcp[7] = (uint8_t)seq;
    if (i + 1 < pieces) tcp[13] &= (uint8_t) ~(WIRE_TCP_PSH | WIRE_TCP_FIN);
    cut_ip_header(out, ip_hdr, n, i);
    struct synack_addr src = packet_addr(out, false), dst = packet_addr(out, true);
    put16(tcp + 16, 0);
    uint32_t sum = wire_csum_pseudo_addr(&src, &dst, WIRE_IP_PROTO_TCP, (uint32_t)(n - ip_hdr));
    put16(tcp + 16, wire_csum_finish(wire_csum_add(sum, tcp, n - ip_hdr)));
    return n;
}

/* Whether a packet's checksums verify (a TCP segment or not). */
static bool packet_verifies(const uint8_t *pkt, size_t len)
{
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    return wire_packet_parse(pkt, len, &ip, &tcp) == SYNACK_DROP_NONE;
}

struct world {
    struct synack_stack *a, *b;
    struct synack_listener *lis;
    struct synack_tcp *ca, *cb;
    unsigned tx;
    uint16_t mtu;
    size_t drop; /* the wire packet of A's (counted from 0) that is lost, or NO_DROP */
    uint64_t sent, got;
    struct wire_log log;
    struct synack_tcp_info info; /* A's connection once B has every byte */
};

static struct synack_stack *world_stack(bool v6, bool is_a, uint32_t gso_max)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a =
        v6 ? synack_addr_v6(is_a ? A_ADDR6 : B_ADDR6) : synack_addr_v4(is_a ? A_ADDR : B_ADDR);
    assert_int_equal(synack_config_add_addr(&cfg, &a), 0);
    cfg.gso_max_size = gso_max;
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

/* One wire packet of A's reaches B, unless it is the one lost. */
static void world_wire(struct world *w, const uint8_t *pkt, size_t len, synack_time_t now)
{
    if (len > w->mtu) w->log.mtu_exceeded++;
    if (!packet_verifies(pkt, len)) w->log.not_verified++;
    size_t index = w->log.packets;
    log_append(&w->log, pkt, len);
    if (index != w->drop) (void)synack_stack_input(w->b, pkt, len, now);
}

/* Everything A sends now, through a link that finishes what w->tx lets it leave. */
static int world_drain_a(struct world *w, uint8_t *buf, uint8_t *piece, synack_time_t now)
{
    int moved = 0;
    struct synack_tx_meta m;
    synack_ssize n;
    while ((n = synack_stack_output_offload(w->a, buf, PKT_MAX, w->tx, &m, now)) > 0) {
        moved++;
        size_t len = (size_t)n;
        if ((size_t)n > w->log.longest) w->log.longest = len;
        if (w->tx == 0) assert_false(m.csum_partial || m.gso_size);
        if (m.csum_partial) w->log.partial++;
        if (m.gso_size == 0) {
            if (m.csum_partial)
                assert_int_equal(synack_checksum_complete(buf, len, m.csum_start, m.csum_offset),
                                 0);
            world_wire(w, buf, len, now);
            continue;
        }
        w->log.gso_packets++;
        assert_true(m.csum_partial);
        size_t ip_hdr = m.csum_start, tcp_hdr = (size_t)(buf[ip_hdr + 12] >> 4) * 4;
        assert_int_equal(m.hdr_len, ip_hdr + tcp_hdr);
        size_t payload = len - ip_hdr - tcp_hdr;
        size_t pieces = (payload + m.gso_size - 1) / m.gso_size;
        assert_true(pieces >= 2);
        for (size_t i = 0; i < pieces; i++)
            world_wire(w, piece, cut_piece(buf, len, ip_hdr, tcp_hdr, m.gso_size, i, pieces, piece),
                       now);
    }
    return moved;
}

static int world_drain_b(struct world *w, uint8_t *buf, synack_time_t now)
{
    int moved = 0;
    synack_ssize n;
    while ((n = synack_stack_output(w->b, buf, PKT_MAX, now)) > 0) {
        moved++;
        (void)synack_stack_input(w->a, buf, (size_t)n, now);
    }
    return moved;
}

/* The applications: A writes a counting pattern, B reads and checks it. */
static void world_apps(struct world *w, synack_time_t now)
{
    struct synack_event ev;
    while (synack_stack_next_event(w->a, &ev) == 0) {
    }
    while (synack_stack_next_event(w->b, &ev) == 0) {
    }
    if (w->cb == NULL) (void)synack_tcp_accept(w->lis, &w->cb);
    uint8_t chunk[16384];
    while (w->sent < TRANSFER) {
        size_t want = TRANSFER - w->sent < sizeof chunk ? TRANSFER - w->sent : sizeof chunk;
        for (size_t i = 0; i < want; i++)
            chunk[i] = (uint8_t)((w->sent + i) * 7 + 3);
        synack_ssize n = synack_tcp_send(w->ca, chunk, want, now);
        if (n <= 0) break;
        w->sent += (uint64_t)n;
    }
    if (w->cb == NULL) return;
    synack_ssize n;
    while ((n = synack_tcp_recv(w->cb, chunk, sizeof chunk, now)) > 0) {
        for (synack_ssize i = 0; i < n; i++)
            assert_int_equal(chunk[i], (uint8_t)((w->got + (uint64_t)i) * 7 + 3));
        w->got += (uint64_t)n;
    }
}

/* A moves TRANSFER bytes to B over a path without delay, A's link finishing what `tx` says,
 * the wire packet `drop` lost; the log of A's wire is left in w->log. */
static void world_run(struct world *w, bool v6, unsigned tx, uint32_t gso_max, size_t drop)
{
    memset(w, 0, sizeof *w);
    w->tx = tx;
    w->drop = drop;
    w->mtu = 1500;
    w->a = world_stack(v6, true, gso_max);
    w->b = world_stack(v6, false, gso_max);
    struct synack_endpoint to = {.addr = v6 ? synack_addr_v6(B_ADDR6) : synack_addr_v4(B_ADDR),
                                 .port = PORT};
    assert_int_equal(synack_tcp_listen(w->b, &to, 4, NULL, &w->lis), 0);
    synack_time_t now = SYNACK_MS(1);
    assert_int_equal(synack_tcp_connect(w->a, &to, NULL, NULL, &w->ca, now), 0);
    uint8_t *buf = malloc(PKT_MAX), *piece = malloc(PKT_MAX);
    assert_non_null(buf);
    assert_non_null(piece);
    for (int turn = 0; turn < 100000 && w->got < TRANSFER; turn++) {
        world_apps(w, now);
        if (world_drain_a(w, buf, piece, now) + world_drain_b(w, buf, now) > 0) continue;
        world_apps(w, now);
        synack_time_t next = synack_stack_next_deadline(w->a);
        synack_time_t nb = synack_stack_next_deadline(w->b);
        if (nb < next) next = nb;
        if (next == SYNACK_NEVER) break;
        now = next > now ? next : now;
        synack_stack_handle_timers(w->a, now);
        synack_stack_handle_timers(w->b, now);
    }
    assert_int_equal(w->got, TRANSFER);
    assert_int_equal(synack_tcp_info(w->ca, &w->info), 0);
    free(buf);
    free(piece);
    synack_stack_free(w->a);
    synack_stack_free(w->b);
}

static void world_done(struct world *w)
{
    free(w->log.bytes);
}

/* The same transfer with the offloads and without: the same packets on the wire, byte for
 * byte; with TSO some left for the link to cut, longer than the MTU. */
static void same_wire_with_and_without(bool v6, size_t drop)
{
    struct world plain, off;
    world_run(&plain, v6, 0, 65535, drop);
    world_run(&off, v6, SYNACK_TX_ALL, 65535, drop);
    assert_int_equal(plain.log.gso_packets, 0);
    assert_int_equal(plain.log.partial, 0);
    assert_true(plain.log.longest <= 1500);
    assert_true(off.log.gso_packets > 0);
    assert_true(off.log.longest > 1500);
    assert_true(off.log.partial > 0);
    assert_int_equal(off.log.mtu_exceeded, 0);
    assert_int_equal(off.log.not_verified, 0);
    assert_int_equal(plain.log.not_verified, 0);
    log_compare(&off.log, &plain.log);
    /* Each piece counted as a segment, and the same congestion and RTT state after. */
    assert_memory_equal(&off.info.counters, &plain.info.counters, sizeof plain.info.counters);
    assert_int_equal(off.info.cwnd, plain.info.cwnd);
    assert_int_equal(off.info.ssthresh, plain.info.ssthresh);
    assert_int_equal(off.info.srtt, plain.info.srtt);
    assert_int_equal(off.info.rttvar, plain.info.rttvar);
    world_done(&plain);
    world_done(&off);
}

static void tso_cuts_into_the_plain_segments_ipv4(void **state)
{
    (void)state;
    same_wire_with_and_without(false, NO_DROP);
}

static void tso_cuts_into_the_plain_segments_ipv6(void **state)
{
    (void)state;
    same_wire_with_and_without(true, NO_DROP);
}

/* Piece 14 of the wire is lost (in the middle of a segment the link cuts): SACK, RACK and
 * the retransmission go the same, one MSS at a time, as they do without TSO. */
static void tso_repairs_a_lost_piece_as_plain_output_does(void **state)
{
    (void)state;
    same_wire_with_and_without(false, 14);
}

/* Checksum offload alone: partial sums that, finished, give the plain packets; nothing
 * longer than the MTU. */
static void csum_offload_alone_leaves_segments_whole(void **state)
{
    (void)state;
    struct world plain, off;
    world_run(&plain, false, 0, 65535, NO_DROP);
    world_run(&off, false, SYNACK_TX_CSUM, 65535, NO_DROP);
    assert_int_equal(off.log.gso_packets, 0);
    assert_true(off.log.longest <= 1500);
    assert_true(off.log.partial > 0);
    log_compare(&off.log, &plain.log);
    world_done(&plain);
    world_done(&off);
}

/* TSO of the other family, or a gso_max_size of 0, leaves segments whole; a smaller one
 * bounds them. */
static void tso_is_bounded_by_family_and_gso_max_size(void **state)
{
    (void)state;
    struct world w;
    world_run(&w, false, SYNACK_TX_CSUM | SYNACK_TX_TSO6, 65535, NO_DROP);
    assert_int_equal(w.log.gso_packets, 0);
    world_done(&w);
    world_run(&w, false, SYNACK_TX_ALL, 0, NO_DROP);
    assert_int_equal(w.log.gso_packets, 0);
    assert_true(w.log.longest <= 1500);
    world_done(&w);
    world_run(&w, false, SYNACK_TX_ALL, 4400, NO_DROP);
    assert_true(w.log.gso_packets > 0);
    assert_true(w.log.longest > 1500 && w.log.longest <= 4400);
    world_done(&w);
}

/* The partial checksum is the pseudo-header's sum: finished over the segment (as the kernel
 * does, virtio 1.1 §5.1.6.2) the whole packet verifies, a segment the link cuts included;
 * an unknown bit or no meta is refused. */
static void partial_checksum_verifies_once_finished(void **state)
{
    (void)state;
    struct synack_stack *a = world_stack(false, true, 65535), *b = world_stack(false, false, 65535);
    struct synack_listener *lis;
    assert_int_equal(synack_tcp_listen(b, &SYNACK_TEST_EP(B_ADDR, PORT), 4, NULL, &lis), 0);
    struct synack_tcp *c;
    assert_int_equal(synack_tcp_connect(a, &SYNACK_TEST_EP(B_ADDR, PORT), NULL, NULL, &c, 0), 0);
    static uint8_t buf[PKT_MAX];
    struct synack_tx_meta m;
    assert_int_equal(synack_stack_output_offload(a, buf, sizeof buf, 0x80, &m, 0),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_stack_output_offload(a, buf, sizeof buf, 0, NULL, 0), SYNACK_ERR_INVAL);
    /* The SYN, then B's SYN-ACK, then A's ACK and data of 10 full segments (RFC 6928). */
    synack_ssize n = synack_stack_output_offload(a, buf, sizeof buf, SYNACK_TX_ALL, &m, 0);
    assert_true(n > 0 && m.csum_partial && m.gso_size == 0);
    assert_int_equal(m.csum_start, 20);
    assert_int_equal(m.csum_offset, 16);
    assert_false(packet_verifies(buf, (size_t)n));
    assert_int_equal(synack_checksum_complete(buf, (size_t)n, m.csum_start, m.csum_offset), 0);
    assert_true(packet_verifies(buf, (size_t)n));
    assert_int_equal(synack_stack_input(b, buf, (size_t)n, 0), 0);
    n = synack_stack_output(b, buf, sizeof buf, 0);
    assert_true(n > 0);
    assert_int_equal(synack_stack_input(a, buf, (size_t)n, 0), 0);
    static uint8_t data[30000];
    assert_int_equal(synack_tcp_send(c, data, sizeof data, 0), (synack_ssize)sizeof data);
    size_t longest = 0;
    while ((n = synack_stack_output_offload(a, buf, sizeof buf, SYNACK_TX_ALL, &m, 0)) > 0) {
        assert_true(m.csum_partial);
        assert_false(packet_verifies(buf, (size_t)n));
        assert_int_equal(synack_checksum_complete(buf, (size_t)n, m.csum_start, m.csum_offset), 0);
        assert_true(packet_verifies(buf, (size_t)n));
        if ((size_t)n > longest) longest = (size_t)n;
        if (m.gso_size) assert_int_equal(m.gso_size, 1448); /* 1500 - 40 - 12 of timestamps */
    }
    assert_true(longest > 10 * 1448);
    synack_stack_free(a);
    synack_stack_free(b);
}

/* ---- UDP segmentation offload, sent ---- */

/* UDP segmentation offload, sent (synack_stack_output_offload with SYNACK_TX_USO): datagrams
 * one socket queued one after another to one destination leave as one packet the link cuts,
 * and cut as UDP segmentation offload cuts (each datagram the headers of the whole with its
 * own lengths, the IPv4 identification advanced by one per datagram, its own checksum), they
 * are byte for byte the datagrams of plain output. Two stacks made alike are given the same
 * sends; one is drained plainly, the other with the offload, and the wires are compared.
 * What may not join: another destination or socket, a datagram after a shorter one, one whose
 * identification is not the next (a fragmented datagram took one in between), fragments,
 * empty datagrams, more than 64, more than `cap` or gso_max_size; without SYNACK_TX_CSUM,
 * nothing joins. */
#define LOCAL4 0xc6120001u /* 198.18.0.1 */
#define PEER4 0xc6120002u
#define OTHER4 0xc6120003u
static const uint8_t LOCAL6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t PEER6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const uint8_t OTHER6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 3};
#define MAXRUNS 512 /* packets of a drain that carry datagrams */

/* Datagram `i` of the packet `pkt` joined from datagrams of `gso` payload bytes, written into
 * `out` as a segmentation offload cuts it (independently of the stack's code: from the RFCs'
 * field offsets). Returns its length, 0 past the last. */
static size_t cut_datagram(const uint8_t *pkt, size_t len, size_t gso, size_t i, uint8_t *out)
{
    size_t ip_hdr = (pkt[0] >> 4) == 4 ? 20 : 40, hdr = ip_hdr + 8, off = hdr + i * gso;
    if (off >= len) return 0;
    size_t payload = len - off < gso ? len - off : gso, n = hdr + payload;
    memcpy(out, pkt, hdr);
    memcpy(out + hdr, pkt + off, payload);
    cut_ip_header(out, ip_hdr, n, i);
    uint8_t *udp = out + ip_hdr;
    put16(udp + 4, (uint16_t)(n - ip_hdr)); /* RFC 768: Length */
    put16(udp + 6, 0);
    struct synack_addr src = packet_addr(out, false), dst = packet_addr(out, true);
    uint32_t sum = wire_csum_pseudo_addr(&src, &dst, WIRE_IP_PROTO_UDP, (uint32_t)(n - ip_hdr));
    uint16_t c = wire_csum_finish(wire_csum_add(sum, udp, n - ip_hdr));
    put16(udp + 6, c ? c : 0xffff); /* RFC 768: a computed zero goes as all ones */
    return n;
}

static struct synack_stack *make_stack(bool v6, uint32_t gso_max_size)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = v6 ? synack_addr_v6(LOCAL6) : synack_addr_v4(LOCAL4);
    cfg.seed = 7;
    cfg.udp_sndbuf = 256 * 1024;
    cfg.gso_max_size = gso_max_size;
    struct synack_stack *s;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

static struct synack_endpoint ep(bool v6, int which, uint16_t port)
{
    struct synack_endpoint e = {.port = port};
    if (v6)
        e.addr = synack_addr_v6(which ? OTHER6 : PEER6);
    else
        e.addr = synack_addr_v4(which ? OTHER4 : PEER4);
    return e;
}

/* The sends both stacks get, and how the offloaded one must join them (sizes of the runs
 * that leave as one packet, in order; 0 ends the list): see the file's comment. */
static void send_all(struct synack_stack *s, bool v6)
{
    struct synack_udp *u1, *u2;
    struct synack_endpoint l1 = {.port = 5353}, l2 = {.port = 5354};
    assert_int_equal(synack_udp_bind(s, &l1, NULL, &u1), 0);
    assert_int_equal(synack_udp_bind(s, &l2, NULL, &u2), 0);
    static uint8_t data[4000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    struct synack_endpoint a = ep(v6, 0, 9000), b = ep(v6, 1, 9000);
    synack_time_t now = 0;
#define SEND(u, len, to) assert_int_equal(synack_udp_send((u), data, (len), (to), now), (len))
    for (int i = 0; i < 10; i++) /* a run, and a shorter one ends it: 11 */
        SEND(u1, 1000, &a);
    SEND(u1, 300, &a);
    for (int i = 0; i < 5; i++) /* 5 */
        SEND(u1, 1000, &a);
    for (int i = 0; i < 3; i++) /* another destination: 3 */
        SEND(u1, 1000, &b);
    for (int i = 0; i < 2; i++) /* another socket: 2 ... */
        SEND(u2, 1000, &a);
    SEND(u2, 3000, &a); /* fragmented: takes the identification between */
    SEND(u2, 1000, &a); /* ... and 1, the next in the queue but not the next identification */
    for (int i = 0; i < 70; i++) /* at most 64 */
        SEND(u1, 200, &a);
    SEND(u1, 0, &a); /* empty: alone */
    SEND(u1, 0, &a);
    for (int i = 0; i < 3; i++) /* a larger one after smaller ones: 2, then 1 */
        SEND(u1, i == 2 ? 500 : 100, &a);
#undef SEND
}

static const size_t RUNS4[] = {11, 5, 3, 2, 1, 64, 6, 1, 1, 2, 1, 0};
/* IPv6 has no identification: the datagram after the fragmented one joins the two before. */
static const size_t RUNS6[] = {11, 5, 3, 3, 64, 6, 1, 1, 2, 1, 0};

/* Drains `s`, finishing what the link would (cutting joined packets, finishing partial
 * checksums), into `w`; `runs` gets the datagrams of each joined packet. */
static void drain(struct synack_stack *s, unsigned tx, size_t cap, size_t limit, struct wire_log *w,
                  size_t *runs, size_t *nruns)
{
    static uint8_t buf[70000], out[70000];
    struct synack_tx_meta m;
    synack_ssize n;
    *nruns = 0;
    while ((n = synack_stack_output_offload(s, buf, cap, tx, &m, 0)) > 0) {
        bool v4 = (buf[0] >> 4) == 4;
        /* A whole UDP datagram: not a fragment (RFC 791 §3.1: MF and the offset zero; RFC
         * 8200 §4.5: a fragment header follows the fixed one). */
        bool udp = v4 ? buf[9] == WIRE_IP_PROTO_UDP && (get16(buf + 6) & 0x3fff) == 0
                      : buf[6] == WIRE_IP_PROTO_UDP;
        size_t ip_hdr = v4 ? 20 : 40;
        if (m.gso_size) {
            assert_true(udp);
            assert_true(m.csum_partial);
            assert_int_equal(m.hdr_len, ip_hdr + 8);
            /* The joined packet is itself a well-formed datagram whose checksum is left
             * partial over its whole Length (what the cutting adjusts for each datagram's own,
             * as Linux's does) and whose IPv4 header checksum holds. */
            static uint8_t whole[70000];
            memcpy(whole, buf, (size_t)n);
            assert_int_equal(
                synack_checksum_complete(whole, (size_t)n, m.csum_start, m.csum_offset), 0);
            struct wire_ip_repr ip;
            struct wire_udp_repr d;
            assert_int_equal(wire_ip_parse(whole, (size_t)n, &ip), SYNACK_DROP_NONE);
            assert_int_equal(ip.header_len + ip.payload_len, (size_t)n);
            assert_int_equal(
                wire_udp_parse(whole + ip.header_len, ip.payload_len, &ip.src, &ip.dst, &d),
                SYNACK_DROP_NONE);
            assert_int_equal(d.payload_len + 8, ip.payload_len);
            assert_true((size_t)n <= limit);
            size_t k = 0, len;
            for (; (len = cut_datagram(buf, (size_t)n, m.gso_size, k, out)) > 0; k++) {
                log_append(w, out, len);
                /* The stack's own cutting, which a TUN link uses on receive, agrees. */
                static uint8_t again[70000];
                assert_int_equal(
                    synack_uso_datagram(buf, (size_t)n, m.gso_size, k, true, again, sizeof again),
                    (synack_ssize)len);
                assert_memory_equal(again, out, len);
            }
            assert_true(k >= 2);
            assert_true(*nruns < MAXRUNS);
            runs[(*nruns)++] = k;
            continue;
        }
        if (m.csum_partial)
            assert_int_equal(synack_checksum_complete(buf, (size_t)n, m.csum_start, m.csum_offset),
                             0);
        if (udp) {
            assert_true(*nruns < MAXRUNS);
            runs[(*nruns)++] = 1;
        }
        log_append(w, buf, (size_t)n);
    }
    assert_int_equal(n, SYNACK_ERR_AGAIN);
}

static void uso_run(bool v6)
{
    struct synack_stack *plain = make_stack(v6, 65535), *off = make_stack(v6, 65535);
    send_all(plain, v6);
    send_all(off, v6);
    struct wire_log wp = {0}, wo = {0};
    size_t runs[MAXRUNS], nruns, unused[MAXRUNS], nunused;
    drain(plain, 0, 65535, 65535, &wp, unused, &nunused);
    drain(off, SYNACK_TX_CSUM | SYNACK_TX_USO, 65535, 65535, &wo, runs, &nruns);
    log_compare(&wo, &wp);
    /* The datagrams left whole are counted as runs of 1 (fragments are not datagrams). */
    const size_t *expect = v6 ? RUNS6 : RUNS4;
    size_t want = 0;
    while (expect[want])
        want++;
    assert_int_equal(nruns, want);
    for (size_t i = 0; i < want; i++)
        assert_int_equal(runs[i], expect[i]);
    free(wp.bytes);
    free(wo.bytes);
    synack_stack_free(plain);
    synack_stack_free(off);
}

static void uso_cuts_into_the_plain_datagrams_ipv4(void **state)
{
    (void)state;
    uso_run(false);
}

static void uso_cuts_into_the_plain_datagrams_ipv6(void **state)
{
    (void)state;
    uso_run(true);
}

/* The joined packet stays within `cap` and gso_max_size; without the checksum offload, or
 * with gso_max_size 0, nothing joins. */
static void uso_is_bounded_by_cap_and_gso_max_size(void **state)
{
    (void)state;
    struct wire_log wp = {0}, wo = {0};
    size_t runs[MAXRUNS], nruns, unused[MAXRUNS], nunused;
    struct {
        uint32_t gso_max;
        size_t cap;
        unsigned tx;
        bool joins;
    } cases[] = {
        {65535, 4100, SYNACK_TX_CSUM | SYNACK_TX_USO, true},
        {3100, 65535, SYNACK_TX_CSUM | SYNACK_TX_USO, true},
        {65535, 65535, SYNACK_TX_USO, false}, /* no checksum offload */
        {0, 65535, SYNACK_TX_CSUM | SYNACK_TX_USO, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct synack_stack *plain = make_stack(false, 65535),
                            *off = make_stack(false, cases[c].gso_max);
        send_all(plain, false);
        send_all(off, false);
        size_t limit = cases[c].cap < cases[c].gso_max ? cases[c].cap : cases[c].gso_max;
        drain(plain, 0, 65535, 65535, &wp, unused, &nunused);
        drain(off, cases[c].tx, cases[c].cap, limit, &wo, runs, &nruns);
        log_compare(&wo, &wp);
        size_t longest = 0;
        for (size_t i = 0; i < nruns; i++)
            if (runs[i] > longest) longest = runs[i];
        /* 4 x 1000 bytes and their headers fit 4100, 3 fit 3100: the runs were cut there. */
        if (cases[c].joins)
            assert_true(longest >= 3);
        else
            assert_int_equal(longest, 1);
        free(wp.bytes);
        free(wo.bytes);
        wp = wo = (struct wire_log){0};
        synack_stack_free(plain);
        synack_stack_free(off);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tso_cuts_into_the_plain_segments_ipv4),
    cmocka_unit_test(tso_cuts_into_the_plain_segments_ipv6),
    cmocka_unit_test(tso_repairs_a_lost_piece_as_plain_output_does),
    cmocka_unit_test(csum_offload_alone_leaves_segments_whole),
    cmocka_unit_test(tso_is_bounded_by_family_and_gso_max_size),
    cmocka_unit_test(partial_checksum_verifies_once_finished),
    cmocka_unit_test(uso_cuts_into_the_plain_datagrams_ipv4),
    cmocka_unit_test(uso_cuts_into_the_plain_datagrams_ipv6),
    cmocka_unit_test(uso_is_bounded_by_cap_and_gso_max_size),
};

SYNACK_TEST_MAIN("tso", tests)
