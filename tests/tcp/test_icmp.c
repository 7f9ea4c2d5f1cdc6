/* ICMP at the stack and for TCP: echo replies (RFC 792, RFC 1122 §3.2.2.6), errors reaching
 * their connection (RFC 1122 §4.2.3.9, RFC 9293 §3.9.2.2) behind the checks of RFC 5927,
 * Path MTU Discovery (RFC 1191), and protocol unreachable (RFC 1122 §3.2.2.1). The test
 * plays the peer and the routers between. */
#include <string.h>

#include "base/rand.h"
#include "base/seq.h"
#include "stack/stack.h"
#include "tcpfix.h"

#define ROUTER 0xc61200feu /* 198.18.0.254: a router on the path */

/* ---- helpers ------------------------------------------------------------------------------ */

/* Pulls and discards every packet the stack has; returns how many. */
static unsigned drain(struct fix *f)
{
    uint8_t pkt[2048];
    unsigned n = 0;
    while (fix_recv_raw(f, pkt, sizeof pkt) > 0)
        assert_true(++n < 1000);
    return n;
}

/* Runs timers (discarding what the stack sends) until the connection is CLOSED. */
static void run_until_closed(struct fix *f)
{
    for (int i = 0; i < 64 && synack_tcp_state(f->c) != SYNACK_CLOSED; i++) {
        drain(f);
        fix_run_next_timer(f);
    }
    assert_int_equal(synack_tcp_state(f->c), SYNACK_CLOSED);
}

static struct synack_counters stack_counters(struct fix *f)
{
    struct synack_counters c;
    synack_stack_counters(f->s, &c);
    return c;
}

/* An echo request from the peer with `len` bytes of patterned data. */
static int send_echo(struct fix *f, uint32_t dst, uint16_t id, uint16_t seq, size_t len)
{
    static uint8_t data[1600];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    struct wire_icmp_repr m = {
        .type = WIRE_ICMP_ECHO_REQUEST, .id = id, .seq = seq, .data = data, .data_len = len};
    return fix_send_icmp(f, FIX_REMOTE, dst, &m);
}

/* Pulls the next packet, which must be ICMP from the stack to the peer; fills `ip`, `m`
 * (pointing into `pkt`) and returns the packet length. */
static size_t recv_icmp(struct fix *f, uint8_t *pkt, size_t cap, struct wire_ip_repr *ip,
                        struct wire_icmp_repr *m)
{
    size_t n = fix_recv_ip(f, pkt, cap, WIRE_IP_PROTO_ICMP, ip);
    assert_int_equal(synack_addr_v4_value(&ip->src), FIX_LOCAL);
    assert_int_equal(wire_icmp_parse(pkt + ip->header_len, ip->payload_len, m), SYNACK_DROP_NONE);
    return n;
}

/* The first segment of a 3000-byte write on an established connection (peer MSS 1460, no
 * timestamps): 1460 + 1460 + 80 bytes in flight, sent before any ICMP arrives. */
static uint32_t send_3000(struct fix *f)
{
    uint32_t s0 = f->peer_ack;
    fix_queue(f, 3000);
    fix_expect_data(f, WIRE_TCP_ACK, s0, f->peer_nxt, 1460);
    fix_expect_data(f, WIRE_TCP_ACK, s0 + 1460, f->peer_nxt, 1460);
    fix_expect_data(f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 2920, f->peer_nxt, 80);
    fix_expect_none(f);
    return s0;
}

/* ---- echo (RFC 792, RFC 1122 §3.2.2.6) -------------------------------------------------- */

static void echo_request_answered_with_same_id_seq_data_rfc792(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(send_echo(&f, FIX_LOCAL, 0xbeef, 7, 56), 0);
    /* What the reply must be: the request with type 0, its checksum updated by the change
     * of the type octet (RFC 1624: one's-complement add 0x0800). */
    uint8_t req[64];
    struct wire_icmp_repr r = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 0xbeef, .seq = 7};
    uint8_t data[56];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    r.data = data;
    r.data_len = sizeof data;
    assert_int_equal(wire_icmp_emit(&r, req, sizeof req), 64);
    uint32_t sum = ((uint32_t)req[2] << 8 | req[3]) + 0x0800u;
    sum = (sum & 0xffffu) + (sum >> 16);
    uint8_t want[64];
    memcpy(want, req, sizeof want);
    want[0] = WIRE_ICMP_ECHO_REPLY;
    want[2] = (uint8_t)(sum >> 8);
    want[3] = (uint8_t)sum;

    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    struct wire_icmp_repr m;
    size_t n = recv_icmp(&f, pkt, sizeof pkt, &ip, &m);
    assert_int_equal(n, 20 + 64);
    assert_memory_equal(pkt + 20, want, sizeof want);
    assert_int_equal(m.type, WIRE_ICMP_ECHO_REPLY);
    assert_int_equal(m.id, 0xbeef);
    assert_int_equal(m.seq, 7);
    assert_int_equal(ip.ttl, f.cfg.ttl);
    fix_expect_none(&f);
    struct synack_counters c = stack_counters(&f);
    assert_int_equal(c.icmp_in, 1);
    assert_int_equal(c.icmp_out, 1);
    assert_int_equal(c.icmp_echo_replies, 1);
    assert_int_equal(c.segs_out, 0);
    fix_free(&f);
}

static void mtu_576(struct synack_config *cfg)
{
    cfg->mtu = 576;
}

static void echo_reply_keeps_tos_and_all_data_in_fragments_rfc1122_3_2_2_6(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, mtu_576);
    /* A 1028-byte request (the link took it) to a stack whose MTU is 576: the data "MUST be
     * entirely included in the resulting Echo Reply" (truncation is only for a host that
     * does not fragment), so the reply leaves in fragments of at most 576 bytes. RFC 1349
     * §5.1: same TOS. */
    uint8_t data[1000], pkt[2048], whole[2048];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    struct wire_icmp_repr req = {
        .type = WIRE_ICMP_ECHO_REQUEST, .id = 1, .seq = 2, .data = data, .data_len = sizeof data};
    struct wire_ip_repr rip = {.src = synack_addr_v4(FIX_REMOTE),
                               .dst = synack_addr_v4(FIX_LOCAL),
                               .ttl = 64,
                               .tos = 0x10};
    size_t len = wire_icmp_packet_emit(&rip, &req, pkt, sizeof pkt);
    assert_int_equal(fix_send_raw(&f, pkt, len), 0);
    size_t got = 0, n;
    unsigned pieces = 0;
    while ((n = fix_recv_raw(&f, pkt, sizeof pkt)) > 0) {
        struct wire_ip_repr ip;
        assert_true(n <= 576);
        assert_int_equal(wire_ipv4_parse(pkt, n, &ip), SYNACK_DROP_NONE);
        assert_int_equal(ip.tos, 0x10);
        assert_true(ip.frag.present);
        memcpy(whole + ip.frag.offset, pkt + ip.header_len, ip.payload_len);
        got += ip.payload_len;
        pieces++;
    }
    assert_int_equal(pieces, 2);
    struct wire_icmp_repr m;
    assert_int_equal(wire_icmp_parse(whole, got, &m), SYNACK_DROP_NONE);
    assert_int_equal(m.type, WIRE_ICMP_ECHO_REPLY);
    assert_int_equal(m.data_len, sizeof data);
    assert_memory_equal(m.data, data, sizeof data);
    fix_free(&f);
}

static void truncated_or_bad_checksum_echo_not_answered(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint8_t pkt[128];
    struct wire_icmp_repr req = {.type = WIRE_ICMP_ECHO_REQUEST,
                                 .id = 1,
                                 .seq = 1,
                                 .data = (const uint8_t *)"ping",
                                 .data_len = 4};
    struct wire_ip_repr ip = {
        .src = synack_addr_v4(FIX_REMOTE), .dst = synack_addr_v4(FIX_LOCAL), .ttl = 64};
    size_t n = wire_icmp_packet_emit(&ip, &req, pkt, sizeof pkt);
    /* Bad checksum. */
    pkt[20 + 8] ^= 1;
    assert_int_equal(fix_send_raw(&f, pkt, n), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_CHECKSUM), 1);
    fix_expect_none(&f);
    /* Only 6 ICMP bytes (the IPv4 header says so): shorter than the ICMP header. */
    uint8_t shortpkt[26];
    struct wire_ip_repr sip = {.src = synack_addr_v4(FIX_REMOTE),
                               .dst = synack_addr_v4(FIX_LOCAL),
                               .ttl = 64,
                               .proto = WIRE_IP_PROTO_ICMP,
                               .payload_len = 6};
    wire_ipv4_emit(&sip, shortpkt);
    memcpy(shortpkt + 20, pkt + 20, 6);
    assert_int_equal(fix_send_raw(&f, shortpkt, sizeof shortpkt), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_TRUNCATED), 1);
    fix_expect_none(&f);
    assert_int_equal(stack_counters(&f).icmp_in, 0);
    /* The same request intact is answered: the drops were for the damage. */
    pkt[20 + 8] ^= 1;
    assert_int_equal(fix_send_raw(&f, pkt, n), 0);
    assert_int_equal(drain(&f), 1);
    fix_free(&f);
}

static void echo_to_broadcast_or_multicast_not_answered_rfc1122_3_2_2_6(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    assert_int_equal(send_echo(&f, 0xffffffffu, 1, 1, 8), SYNACK_ERR_MALFORMED);
    assert_int_equal(send_echo(&f, 0xe0000001u, 1, 2, 8), SYNACK_ERR_MALFORMED);
    assert_int_equal(send_echo(&f, 0xc61200ffu, 1, 3, 8), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_NOT_LOCAL), 3);
    fix_expect_none(&f);
    /* From a broadcast source: no one to answer. */
    struct wire_icmp_repr m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 1, .seq = 4};
    assert_int_equal(fix_send_icmp(&f, 0xffffffffu, FIX_LOCAL, &m), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_BAD_SOURCE), 1);
    fix_expect_none(&f);
    /* And a stack cannot have a broadcast or multicast address of its own. */
    struct synack_config cfg;
    struct synack_stack *s;
    synack_config_default(&cfg);
    uint32_t bad[] = {0xffffffffu, 0xe0000001u, 0xefffffffu, 0xf0000001u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.addrs[0] = synack_addr_v4(bad[i]);
        assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    }
    cfg.addrs[0] = synack_addr_v4(FIX_LOCAL);
    cfg.pmtu_min = 67; /* RFC 1191 §3: never below 68 */
    assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    fix_free(&f);
}

static void echo_replies_bounded_by_a_queue(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    /* A flood between two output calls: the queue takes STACK_ICMPQ_CAP, the rest is
     * counted and dropped. */
    for (uint16_t i = 0; i < STACK_ICMPQ_CAP + 12; i++)
        assert_int_equal(send_echo(&f, FIX_LOCAL, 9, i, 32), 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_QUEUE_FULL), 12);
    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    struct wire_icmp_repr m;
    for (uint16_t i = 0; i < STACK_ICMPQ_CAP; i++) {
        recv_icmp(&f, pkt, sizeof pkt, &ip, &m);
        assert_int_equal(m.seq, i); /* oldest first */
    }
    fix_expect_none(&f);
    /* Drained, it answers again. */
    assert_int_equal(send_echo(&f, FIX_LOCAL, 9, 100, 32), 0);
    recv_icmp(&f, pkt, sizeof pkt, &ip, &m);
    assert_int_equal(m.seq, 100);
    assert_int_equal(stack_counters(&f).icmp_echo_replies, STACK_ICMPQ_CAP + 1);
    fix_free(&f);
}

struct trace_log {
    unsigned in, out;
    char last_in[200], last_out[200];
};

static void trace_fn(void *ctx, char dir, const uint8_t *pkt, size_t len, enum synack_drop drop,
                     synack_time_t now)
{
    (void)now;
    (void)drop;
    struct trace_log *log = ctx;
    if (dir == 'i') {
        log->in++;
        synack_format_packet(log->last_in, sizeof log->last_in, pkt, len);
    } else {
        log->out++;
        synack_format_packet(log->last_out, sizeof log->last_out, pkt, len);
    }
}

static void trace_hook_sees_icmp_in_and_out(void **state)
{
    (void)state;
    struct fix f;
    struct trace_log log = {0};
    fix_init(&f, NULL);
    synack_stack_set_trace(f.s, trace_fn, &log);
    assert_int_equal(send_echo(&f, FIX_LOCAL, 3, 4, 16), 0);
    assert_int_equal(drain(&f), 1);
    assert_int_equal(log.in, 1);
    assert_int_equal(log.out, 1);
    assert_string_equal(log.last_in,
                        "198.18.0.2 > 198.18.0.1: ICMP echo request, id 3, seq 4, length 24");
    assert_string_equal(log.last_out,
                        "198.18.0.1 > 198.18.0.2: ICMP echo reply, id 3, seq 4, length 24");
    fix_free(&f);
}

/* ---- Path MTU Discovery (RFC 1191) ------------------------------------------------------- */

static void frag_needed_lowers_mss_and_resends_at_once_rfc1191(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    struct synack_tcp_info before = fix_info(&f);
    assert_int_equal(before.pmtu, 1500);
    /* A router with a 1000-byte next hop returns our first 1500-byte segment. */
    assert_int_equal(fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED,
                                         1000, s0, 1500),
                     0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pmtu, 1000);
    assert_int_equal(info.snd_mss, 960);
    assert_int_equal(info.snd_eff_mss, 960);
    assert_false(info.pmtu_no_df);
    assert_int_equal(info.counters.pmtu_decreases, 1);
    assert_int_equal(info.counters.icmp_errors_delivered, 1);
    /* RFC 1191 §6.4: not a congestion signal. */
    assert_int_equal(info.cwnd, before.cwnd);
    assert_int_equal(info.ssthresh, before.ssthresh);
    assert_int_equal(info.phase, before.phase);
    assert_int_equal(info.counters.recoveries, 0);
    /* At once, no timer run: both 1460-byte segments (too big for 1000 with DF) go again
     * in pieces of the new MSS; the 80-byte one fitted and is not resent. The first
     * retransmission is checked on the wire: DF still set, within the new path MTU. */
    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    struct wire_tcp_repr seg;
    size_t n = fix_recv_raw(&f, pkt, sizeof pkt);
    assert_int_equal(n, 1000);
    assert_int_equal(wire_packet_parse(pkt, n, &ip, &seg), SYNACK_DROP_NONE);
    assert_true(ip.df);
    assert_int_equal(seg.seq, s0);
    assert_int_equal(seg.payload_len, 960);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + 960, f.peer_nxt, 500);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + 1460, f.peer_nxt, 960);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + 2420, f.peer_nxt, 500);
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).counters.retransmits, 4);
    assert_int_equal(fix_info(&f).counters.rto_expiries, 0);
    /* New data goes in segments of the new size. */
    fix_peer_ack(&f, s0 + 3000);
    fix_queue(&f, 2000);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + 3000, f.peer_nxt, 960);
    fix_expect_data(&f, WIRE_TCP_ACK, s0 + 3960, f.peer_nxt, 960);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 4920, f.peer_nxt, 80);
    fix_expect_none(&f);
    fix_free(&f);
}

static void frag_needed_acted_on_once_and_never_raises_rfc1191_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    assert_int_equal(fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED,
                                         1000, s0, 1500),
                     0);
    assert_int_equal(drain(&f), 4);
    /* RFC 1191 §6.4: the second message of the burst (about the second segment) lowers
     * nothing: no second round of retransmissions. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0 + 1460,
                        1500);
    fix_expect_none(&f);
    /* RFC 1191 §3: never raised by a message. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1400, s0 + 1460,
                        1500);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 2);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pmtu, 1000);
    assert_int_equal(info.snd_mss, 960);
    assert_int_equal(info.counters.pmtu_decreases, 1);
    assert_int_equal(info.counters.icmp_errors_delivered, 1);
    fix_free(&f);
}

static void frag_needed_without_mtu_uses_plateaus_rfc1191_5(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    /* An old router (Next-Hop MTU 0) returning our 1500-byte datagram. A returned Total
     * Length not below the estimate may hold a 4.2BSD router's extra header length: 20
     * comes off (1480), then the greatest plateau below it (RFC 1191 §7) is 1006, not
     * 1492. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 0, s0, 1500);
    assert_int_equal(fix_info(&f).pmtu, 1006);
    assert_int_equal(fix_info(&f).snd_mss, 966);
    drain(&f);
    /* Again for a 1006-byte datagram: 986, plateau 508, under the 576 floor: the path MTU
     * is 576 and DF stops. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 0, s0, 1006);
    assert_int_equal(fix_info(&f).pmtu, 576);
    assert_true(fix_info(&f).pmtu_no_df);
    fix_free(&f);
    /* A Total Length below the estimate is taken as it is: the plateau below 1400. */
    fix_init(&f, NULL);
    fix_established_active(&f);
    s0 = send_3000(&f);
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 0, s0, 1400);
    assert_int_equal(fix_info(&f).pmtu, 1006);
    fix_free(&f);
}

static void frag_needed_below_floor_stops_df_rfc1191_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    /* A 300-byte next hop: the path MTU stops at pmtu_min (576) and routers may fragment
     * below it ("cease setting the Don't Fragment bit"). */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 300, s0, 1500);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pmtu, 576);
    assert_true(info.pmtu_no_df);
    assert_int_equal(info.snd_mss, 536);
    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    struct wire_tcp_repr seg;
    size_t n = fix_recv_raw(&f, pkt, sizeof pkt);
    assert_int_equal(n, 576);
    assert_int_equal(wire_packet_parse(pkt, n, &ip, &seg), SYNACK_DROP_NONE);
    assert_false(ip.df);
    assert_int_equal(seg.seq, s0);
    /* The rest of both 1460-byte segments in pieces of 536 (536 + 388 twice, less the one
     * read); the 80-byte tail (120 bytes on the wire) fitted the 300-byte hop. */
    assert_int_equal(drain(&f), 5);
    /* At the floor already, a second report below it changes nothing. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 296, s0, 576);
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 1);
    fix_free(&f);
}

static void frag_needed_keeps_room_for_timestamps_rfc6691(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true; /* the stack offers timestamps by default */
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_eff_mss, 1448);
    uint32_t s0 = f.peer_ack;
    fix_queue(&f, 1448 + 950);
    fix_expect_data(&f, WIRE_TCP_ACK, s0, f.peer_nxt, 1448);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 1448, f.peer_nxt, 950);
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0, 1500);
    assert_int_equal(fix_info(&f).snd_mss, 960);
    assert_int_equal(fix_info(&f).snd_eff_mss, 948);
    /* Both went out too big, the 950-byte one too: 1002 bytes with its timestamps. */
    uint8_t pkt[2048];
    assert_int_equal(fix_recv_raw(&f, pkt, sizeof pkt), 1000); /* 20 + 20 + 12 + 948 */
    assert_int_equal(fix_recv_raw(&f, pkt, sizeof pkt), 52 + 500);
    assert_int_equal(fix_recv_raw(&f, pkt, sizeof pkt), 1000);
    assert_int_equal(fix_recv_raw(&f, pkt, sizeof pkt), 52 + 2);
    fix_expect_none(&f);
    fix_free(&f);
}

static void frag_needed_for_a_datagram_that_fit_is_ignored_rfc1191_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    /* A 900-byte datagram cannot have been too big for a 1000-byte hop. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0, 900);
    assert_int_equal(fix_info(&f).pmtu, 1500);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 1);
    fix_expect_none(&f);
    fix_free(&f);
}

/* RFC 1191 §5 with RFC 791 §3.1: an old router's message (Next-Hop MTU 0) returning a
 * datagram of 68 octets or less, or shorter than its own headers, cannot be about a
 * datagram that was too big: ignored, no resend, DF kept. */
static void old_router_message_for_a_tiny_datagram_is_ignored_rfc1191_5(void **state)
{
    (void)state;
    uint16_t lens[] = {0, 20, 39, 68};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct fix f;
        fix_init(&f, NULL);
        fix_established_active(&f);
        uint32_t s0 = send_3000(&f);
        fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 0, s0,
                            lens[i]);
        assert_int_equal(fix_info(&f).pmtu, 1500);
        assert_false(fix_info(&f).pmtu_no_df);
        assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 1);
        fix_expect_none(&f);
        fix_free(&f);
    }
}

/* RFC 1122 §3.2.1.3 / §3.2.2: a source that is not a single host (0/8, loopback 127/8,
 * Class E 240/4) is silently discarded, so nothing (echo reply, protocol unreachable,
 * RST) is ever sent to it. */
static void sources_not_a_single_host_get_nothing_rfc1122_3_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    uint32_t bad[] = {0x00000005u, 0x7f000001u, 0x7f123456u, 0xf0000001u, 0xfffffffeu};
    struct wire_icmp_repr m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 1, .seq = 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(fix_send_icmp(&f, bad[i], FIX_LOCAL, &m), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_BAD_SOURCE), 5);
    fix_expect_none(&f);
    /* Nor can the stack itself have such an address. */
    struct synack_config cfg;
    struct synack_stack *s;
    synack_config_default(&cfg);
    uint32_t own[] = {0x00000005u, 0x7f000001u};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        cfg.addrs[0] = synack_addr_v4(own[i]);
        assert_int_equal(synack_stack_new(&s, &cfg), SYNACK_ERR_INVAL);
    }
    fix_free(&f);
}

/* ---- RFC 5927 ---------------------------------------------------------------------------- */

static void quoted_seq_outside_una_nxt_ignored_rfc5927_4_1(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    /* SND.NXT itself was never sent; SND.UNA - 1 is acknowledged. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0 + 3000,
                        1500);
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0 - 1,
                        1500);
    fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_HOST_UNREACH, 0,
                        s0 + 0x10000000u, 60);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_BLIND), 3);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.pmtu, 1500);
    assert_int_equal(info.soft_err, 0);
    assert_int_equal(info.counters.drops[SYNACK_DROP_ICMP_BLIND], 3);
    assert_int_equal(info.counters.icmp_errors_delivered, 0);
    fix_expect_none(&f);
    /* The last byte in flight is inside. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, s0 + 2999,
                        1500);
    assert_int_equal(fix_info(&f).pmtu, 1000);
    fix_free(&f);
}

static void port_unreachable_with_wrong_seq_does_not_abort_syn_sent_rfc5927_4_1(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0,
                        f.iss + 1, 60);
    fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0,
                        f.iss - 1, 60);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_BLIND), 2);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    fix_free(&f);
}

/* ---- soft and hard errors (RFC 1122 §4.2.3.9, RFC 9293 §3.9.2.2, RFC 5461) -------------- */

static void soft_error_in_syn_sent_then_timeout_reports_unreach_rfc1122_4_2_3_9(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    /* Host unreachable (code 1) for our SYN: a soft error, MUST NOT abort. */
    assert_int_equal(fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_HOST_UNREACH,
                                         0, f.iss, 60),
                     0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    assert_int_equal(fix_info(&f).soft_err, SYNACK_ERR_UNREACH);
    /* The SYN is still retransmitted on its timer; when they run out, the error says why. */
    fix_run_next_timer(&f);
    fix_expect(&f, WIRE_TCP_SYN, f.iss, 0);
    run_until_closed(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_UNREACH));
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_int_equal(fix_info(&f).err, SYNACK_ERR_UNREACH);
    assert_true(strlen(synack_strerror(SYNACK_ERR_UNREACH)) > 0);
    assert_string_not_equal(synack_strerror(SYNACK_ERR_UNREACH), "unknown error code");
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void few_retries(struct synack_config *cfg)
{
    cfg->data_retries = 2;
}

static void time_exceeded_then_timeout_reports_unreach(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, few_retries);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    /* Time exceeded in transit: soft (RFC 1122 §4.2.3.9). */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_TIME_EXCEEDED, 0, 0, s0, 140);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_int_equal(fix_info(&f).soft_err, SYNACK_ERR_UNREACH);
    run_until_closed(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_UNREACH));
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void soft_error_forgotten_once_data_is_acked(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, few_retries);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_NET_UNREACH, 0, s0, 140);
    assert_int_equal(fix_info(&f).soft_err, SYNACK_ERR_UNREACH);
    /* The path works after all. */
    fix_peer_ack(&f, s0 + 100);
    assert_int_equal(fix_info(&f).soft_err, 0);
    /* A later timeout is a plain one. */
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0 + 100, f.peer_nxt, 100);
    run_until_closed(&f);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_TIMEDOUT));
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_UNREACH));
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void port_unreachable_in_syn_sent_aborts_refused_rfc1122_4_2_3_9(void **state)
{
    (void)state;
    for (uint8_t code = WIRE_ICMP_PROTO_UNREACH; code <= WIRE_ICMP_PORT_UNREACH; code++) {
        struct fix f;
        fix_init(&f, NULL);
        fix_syn_sent(&f);
        assert_int_equal(
            fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, code, 0, f.iss, 60), 0);
        assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
        assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
        assert_true(fix_saw_event(&f, SYNACK_EV_CLOSED, 0));
        assert_true(fix_saw_transition(&f, SYNACK_SYN_SENT, SYNACK_CLOSED));
        assert_int_equal(fix_info(&f).err, SYNACK_ERR_CONNREFUSED);
        assert_int_equal(fix_info(&f).counters.icmp_errors_delivered, 1);
        /* At once: no SYN retransmission is left. */
        fix_expect_none(&f);
        assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER);
        synack_tcp_close(f.c, f.now);
        fix_free(&f);
    }
}

static void port_unreachable_in_established_does_not_abort_rfc5927_5_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = f.peer_ack;
    fix_queue(&f, 100);
    fix_expect_data(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, s0, f.peer_nxt, 100);
    for (uint8_t code = WIRE_ICMP_PROTO_UNREACH; code <= WIRE_ICMP_PORT_UNREACH; code++)
        assert_int_equal(
            fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, code, 0, s0, 140), 0);
    /* Synchronized: a hard error counts as soft, so a forged one cannot reset us. */
    assert_int_equal(synack_tcp_state(f.c), SYNACK_ESTABLISHED);
    assert_false(fix_saw_event(&f, SYNACK_EV_ERROR, 0));
    assert_int_equal(fix_info(&f).soft_err, SYNACK_ERR_CONNREFUSED);
    assert_int_equal(fix_info(&f).counters.icmp_errors_delivered, 2);
    fix_expect_none(&f);
    /* And the connection goes on. */
    fix_peer_ack(&f, s0 + 100);
    fix_send(&f, WIRE_TCP_ACK | WIRE_TCP_PSH, f.peer_nxt, s0 + 100, "hi", 2);
    fix_expect(&f, WIRE_TCP_ACK, s0 + 100, f.peer_nxt + 2);
    fix_free(&f);
}

static void port_unreachable_drops_a_listeners_half_open_connection(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_passive(&f);
    /* Our SYN-ACK's port is unreachable at the peer: the half-open TCB goes, as for a RST
     * in SYN_RECEIVED, and the listener stays. */
    assert_int_equal(fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH,
                                         WIRE_ICMP_PORT_UNREACH, 0, f.iss, 44),
                     0);
    assert_true(fix_saw_transition(&f, SYNACK_SYN_RECEIVED, SYNACK_LISTEN));
    assert_false(fix_saw_event(&f, SYNACK_EV_ACCEPTABLE, 0));
    assert_true(synack_stack_next_deadline(f.s) == SYNACK_NEVER); /* no SYN-ACK to resend */
    fix_expect_none(&f);
    assert_int_equal(stack_counters(&f).icmp_errors_delivered, 1);
    /* The peer's next SYN finds the listener. */
    f.peer_nxt += 5000;
    fix_peer_syn(&f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f.peer_nxt);
    fix_free(&f);
}

static void port_unreachable_aborts_simultaneous_open_in_syn_received(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_received_simultaneous(&f);
    fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0, f.iss,
                        60);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNREFUSED));
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void source_quench_ignored_rfc6633(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    uint32_t s0 = send_3000(&f);
    struct synack_tcp_info before = fix_info(&f);
    /* RFC 6633 §2 / RFC 9293 MUST-55: silently discarded, even when it quotes a segment in
     * flight. */
    assert_int_equal(fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_SOURCE_QUENCH, 0, 0, s0, 1500), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.cwnd, before.cwnd);
    assert_int_equal(info.ssthresh, before.ssthresh);
    assert_int_equal(info.soft_err, 0);
    assert_int_equal(info.counters.icmp_errors_delivered, 0);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 1);
    assert_int_equal(stack_counters(&f).icmp_in, 1);
    fix_expect_none(&f);
    fix_free(&f);
}

static void other_types_counted_and_ignored(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    static const uint8_t types[] = {WIRE_ICMP_ECHO_REPLY, 13 /* timestamp */, 17 /* mask */};
    for (size_t i = 0; i < sizeof types; i++) {
        struct wire_icmp_repr m = {.type = types[i]};
        assert_int_equal(fix_send_icmp(&f, FIX_REMOTE, FIX_LOCAL, &m), 0);
    }
    /* A redirect: this stack has no routes for it to change. */
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_REDIRECT, 1, 0, f.peer_ack, 60);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_IGNORED), 4);
    assert_int_equal(stack_counters(&f).icmp_in, 4);
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- errors that reach no connection, and malformed ICMP ------------------------------- */

/* An error whose returned datagram is given field by field. */
static int send_error_about(struct fix *f, uint32_t qsrc, uint32_t qdst, uint8_t qproto,
                            uint16_t sport, uint16_t dport, uint32_t seq)
{
    uint8_t quote[28];
    struct wire_ip_repr qip = {.src = synack_addr_v4(qsrc),
                               .dst = synack_addr_v4(qdst),
                               .proto = qproto,
                               .ttl = 1,
                               .payload_len = 40};
    wire_ipv4_emit(&qip, quote);
    uint8_t t[8] = {(uint8_t)(sport >> 8), (uint8_t)sport,       (uint8_t)(dport >> 8),
                    (uint8_t)dport,        (uint8_t)(seq >> 24), (uint8_t)(seq >> 16),
                    (uint8_t)(seq >> 8),   (uint8_t)seq};
    memcpy(quote + 20, t, 8);
    struct wire_icmp_repr m = {.type = WIRE_ICMP_DEST_UNREACH,
                               .code = WIRE_ICMP_PORT_UNREACH,
                               .data = quote,
                               .data_len = sizeof quote};
    return fix_send_icmp(f, FIX_REMOTE, FIX_LOCAL, &m);
}

static void error_for_unknown_connection_counted_and_dropped(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    uint32_t seq = f.iss;
    /* Another 4-tuple; not from our address; not TCP. Each would otherwise abort f.c. */
    send_error_about(&f, FIX_LOCAL, FIX_REMOTE, WIRE_IP_PROTO_TCP, f.lport, f.rport + 1, seq);
    send_error_about(&f, FIX_LOCAL, FIX_REMOTE, WIRE_IP_PROTO_TCP, f.lport + 1, f.rport, seq);
    send_error_about(&f, FIX_LOCAL, 0xc6120003u, WIRE_IP_PROTO_TCP, f.lport, f.rport, seq);
    send_error_about(&f, FIX_REMOTE, FIX_LOCAL, WIRE_IP_PROTO_TCP, f.rport, f.lport, seq);
    send_error_about(&f, FIX_LOCAL, FIX_REMOTE, WIRE_IP_PROTO_UDP, f.lport, f.rport, seq);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_NO_CONN), 5);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    /* The right one does. */
    send_error_about(&f, FIX_LOCAL, FIX_REMOTE, WIRE_IP_PROTO_TCP, f.lport, f.rport, seq);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

static void error_for_time_wait_counted_and_dropped(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_time_wait(&f);
    fix_send_icmp_error(&f, FIX_REMOTE, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0,
                        f.peer_ack - 1, 40);
    fix_send_icmp_error(&f, ROUTER, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 576,
                        f.peer_ack - 1, 1500);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_NO_CONN), 2);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_TIME_WAIT);
    assert_int_equal(fix_info(&f).pmtu, 1500);
    fix_expect_none(&f);
    fix_free(&f);
}

static void malformed_icmp_counted_and_dropped(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_syn_sent(&f);
    uint8_t pkt[128];
    struct wire_ip_repr ip = {.src = synack_addr_v4(FIX_REMOTE),
                              .dst = synack_addr_v4(FIX_LOCAL),
                              .ttl = 64,
                              .proto = WIRE_IP_PROTO_ICMP};
    /* Short: 4 bytes of ICMP. */
    ip.payload_len = 4;
    wire_ipv4_emit(&ip, pkt);
    memset(pkt + 20, 0, 4);
    assert_int_equal(fix_send_raw(&f, pkt, 24), SYNACK_ERR_MALFORMED);
    /* A port unreachable for our SYN with a bad checksum. */
    uint8_t quote[28];
    struct wire_ip_repr qip = {.src = synack_addr_v4(FIX_LOCAL),
                               .dst = synack_addr_v4(FIX_REMOTE),
                               .proto = WIRE_IP_PROTO_TCP,
                               .payload_len = 40};
    wire_ipv4_emit(&qip, quote);
    uint8_t t[8] = {0,
                    FIX_LPORT,
                    (uint8_t)(FIX_RPORT >> 8),
                    (uint8_t)FIX_RPORT,
                    (uint8_t)(f.iss >> 24),
                    (uint8_t)(f.iss >> 16),
                    (uint8_t)(f.iss >> 8),
                    (uint8_t)f.iss};
    memcpy(quote + 20, t, 8);
    struct wire_icmp_repr m = {.type = WIRE_ICMP_DEST_UNREACH,
                               .code = WIRE_ICMP_PORT_UNREACH,
                               .data = quote,
                               .data_len = sizeof quote};
    struct wire_ip_repr eip = {
        .src = synack_addr_v4(FIX_REMOTE), .dst = synack_addr_v4(FIX_LOCAL), .ttl = 64};
    size_t n = wire_icmp_packet_emit(&eip, &m, pkt, sizeof pkt);
    pkt[22] ^= 0x40;
    assert_int_equal(fix_send_raw(&f, pkt, n), SYNACK_ERR_MALFORMED);
    /* The same with a short quote: IPv4 header and 4 bytes. */
    m.data_len = 24;
    n = wire_icmp_packet_emit(&eip, &m, pkt, sizeof pkt);
    assert_int_equal(fix_send_raw(&f, pkt, n), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_TRUNCATED), 1);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_CHECKSUM), 1);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_ICMP_QUOTE), 1);
    assert_int_equal(stack_counters(&f).icmp_in, 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_SYN_SENT);
    /* Whole and correct, the same message aborts the connect. */
    m.data_len = sizeof quote;
    n = wire_icmp_packet_emit(&eip, &m, pkt, sizeof pkt);
    assert_int_equal(fix_send_raw(&f, pkt, n), 0);
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

/* ---- protocol unreachable (RFC 1122 §3.2.2.1) ------------------------------------------ */

static void err_limit_3(struct synack_config *cfg)
{
    cfg->icmp_error_limit = 3;
}

/* An SCTP datagram (protocol 132, which the stack does not run) from the peer to `dst`
 * with 20 bytes of payload; returns its length. */
#define PROTO_SCTP 132
static size_t sctp_datagram(uint8_t *pkt, uint32_t dst)
{
    struct wire_ip_repr ip = {.src = synack_addr_v4(FIX_REMOTE),
                              .dst = synack_addr_v4(dst),
                              .ttl = 64,
                              .proto = PROTO_SCTP,
                              .payload_len = 20};
    wire_ipv4_emit(&ip, pkt);
    for (int i = 0; i < 20; i++)
        pkt[20 + i] = (uint8_t)(0xa0 + i);
    return 40;
}

static void unsupported_protocol_gets_protocol_unreachable_rfc1122_3_2_2_1(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, err_limit_3);
    uint8_t udp[64], pkt[2048];
    size_t len = sctp_datagram(udp, FIX_LOCAL);
    assert_int_equal(fix_send_raw(&f, udp, len), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_PROTOCOL), 1);
    struct wire_ip_repr ip;
    struct wire_icmp_repr m;
    recv_icmp(&f, pkt, sizeof pkt, &ip, &m);
    assert_int_equal(m.type, WIRE_ICMP_DEST_UNREACH);
    assert_int_equal(m.code, WIRE_ICMP_PROTO_UNREACH);
    /* The whole datagram comes back (it is under 576 bytes). */
    assert_int_equal(m.data_len, len);
    assert_memory_equal(m.data, udp, len);
    assert_int_equal(m.quote.proto, PROTO_SCTP);
    /* Rate limited: 3 per second. */
    for (int i = 0; i < 5; i++)
        fix_send_raw(&f, udp, len);
    assert_int_equal(drain(&f), 2);
    fix_advance(&f, SYNACK_S(1));
    fix_send_raw(&f, udp, len);
    assert_int_equal(drain(&f), 1);
    /* Never about a datagram that was not for us. */
    len = sctp_datagram(udp, 0xc6120003u);
    fix_advance(&f, SYNACK_S(1));
    assert_int_equal(fix_send_raw(&f, udp, len), SYNACK_ERR_MALFORMED);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_IP_NOT_LOCAL), 1);
    fix_expect_none(&f);
    fix_free(&f);
}

/* ---- bad input is ordinary input ---------------------------------------------------------- */

/* Drains the stack, checking every packet: it parses, and none is bigger than the path MTU
 * the connection knows now (RFC 1191 §3: what a smaller PMTU dropped goes again in pieces). */
static void drain_within_pmtu(struct fix *f)
{
    uint8_t pkt[2048];
    for (int i = 0; i < 2000; i++) {
        size_t n = fix_recv_raw(f, pkt, sizeof pkt);
        if (n == 0) return;
        struct wire_ip_repr ip;
        assert_int_equal(wire_ipv4_parse(pkt, n, &ip), SYNACK_DROP_NONE);
        if (ip.proto == WIRE_IP_PROTO_TCP) {
            struct wire_tcp_repr seg;
            assert_int_equal(wire_packet_parse(pkt, n, &ip, &seg), SYNACK_DROP_NONE);
            if (synack_tcp_state(f->c) != SYNACK_CLOSED) {
                struct synack_tcp_info info = fix_info(f);
                if (n > info.pmtu)
                    fail_msg("a %zu-byte datagram with a path MTU of %u", n, info.pmtu);
                assert_true(ip.df == !info.pmtu_no_df);
            }
        } else {
            struct wire_icmp_repr m;
            assert_int_equal(ip.proto, WIRE_IP_PROTO_ICMP);
            assert_int_equal(wire_icmp_parse(pkt + ip.header_len, ip.payload_len, &m),
                             SYNACK_DROP_NONE);
        }
    }
    fail_msg("2000 packets for one input: a loop");
}

static void random_icmp_errors_keep_a_transfer_within_pmtu(void **state)
{
    (void)state;
    static const uint8_t types[] = {WIRE_ICMP_DEST_UNREACH,  WIRE_ICMP_DEST_UNREACH,
                                    WIRE_ICMP_DEST_UNREACH,  WIRE_ICMP_TIME_EXCEEDED,
                                    WIRE_ICMP_PARAM_PROBLEM, WIRE_ICMP_SOURCE_QUENCH,
                                    WIRE_ICMP_REDIRECT};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct rand_pcg r;
        rand_seed(&r, seed, 5);
        struct fix f;
        fix_init(&f, NULL);
        f.peer_ts = rand_below(&r, 2);
        f.peer_sack = rand_below(&r, 2);
        fix_established_active(&f);
        for (int round = 0; round < 1500 && synack_tcp_state(f.c) == SYNACK_ESTABLISHED; round++) {
            struct synack_tcp_info info = fix_info(&f);
            uint32_t flight = info.snd_nxt - info.snd_una;
            switch (rand_below(&r, 6)) {
            case 0:
            case 1: { /* an error about something near the data in flight */
                uint8_t type = types[rand_below(&r, sizeof types)];
                uint8_t code = (uint8_t)rand_below(&r, 16);
                if (type == WIRE_ICMP_DEST_UNREACH && rand_below(&r, 2))
                    code = WIRE_ICMP_FRAG_NEEDED;
                uint32_t seq = info.snd_una + rand_below(&r, flight + 2) - 1;
                /* Mostly MTUs between the floor and ours, so the estimate steps down. */
                uint16_t mtu = rand_below(&r, 8) ? (uint16_t)(560 + rand_below(&r, 1000))
                                                 : (uint16_t)rand_below(&r, 600);
                fix_send_icmp_error(&f, ROUTER, type, code, mtu, seq,
                                    (uint16_t)(28 + rand_below(&r, 1600)));
                break;
            }
            case 2: /* the peer acknowledges part of what is in flight */
                if (flight) fix_peer_ack(&f, info.snd_una + rand_below(&r, flight + 1));
                break;
            case 3: { /* the application writes */
                size_t room = f.cfg.sndbuf - info.send_queued;
                if (room) fix_queue(&f, rand_below(&r, room < 5000 ? (uint32_t)room : 5000) + 1);
                break;
            }
            default: /* time passes */
                fix_advance(&f, SYNACK_MS(rand_below(&r, 400)));
                break;
            }
            drain_within_pmtu(&f);
            info = fix_info(&f);
            assert_true(seq_leq(info.snd_una, info.snd_nxt));
            assert_true(info.pmtu >= 576 && info.pmtu <= 1500);
            assert_true(info.snd_mss <= info.pmtu - 40);
            assert_true(info.bytes_in_flight <= info.send_queued + 1);
        }
        /* Whatever ICMP said, the connection still delivers: the peer acknowledges all. */
        struct synack_tcp_info info = fix_info(&f);
        if (synack_tcp_state(f.c) == SYNACK_ESTABLISHED) {
            for (int i = 0; i < 200 && info.send_queued; i++) {
                fix_peer_ack(&f, info.snd_nxt);
                fix_advance(&f, SYNACK_MS(300));
                drain_within_pmtu(&f);
                info = fix_info(&f);
            }
            assert_int_equal(info.send_queued, 0);
        }
        fix_free(&f);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(echo_request_answered_with_same_id_seq_data_rfc792),
    cmocka_unit_test(echo_reply_keeps_tos_and_all_data_in_fragments_rfc1122_3_2_2_6),
    cmocka_unit_test(truncated_or_bad_checksum_echo_not_answered),
    cmocka_unit_test(echo_to_broadcast_or_multicast_not_answered_rfc1122_3_2_2_6),
    cmocka_unit_test(echo_replies_bounded_by_a_queue),
    cmocka_unit_test(trace_hook_sees_icmp_in_and_out),
    cmocka_unit_test(frag_needed_lowers_mss_and_resends_at_once_rfc1191),
    cmocka_unit_test(frag_needed_acted_on_once_and_never_raises_rfc1191_3),
    cmocka_unit_test(frag_needed_without_mtu_uses_plateaus_rfc1191_5),
    cmocka_unit_test(frag_needed_below_floor_stops_df_rfc1191_3),
    cmocka_unit_test(frag_needed_keeps_room_for_timestamps_rfc6691),
    cmocka_unit_test(frag_needed_for_a_datagram_that_fit_is_ignored_rfc1191_4),
    cmocka_unit_test(old_router_message_for_a_tiny_datagram_is_ignored_rfc1191_5),
    cmocka_unit_test(sources_not_a_single_host_get_nothing_rfc1122_3_2_2),
    cmocka_unit_test(quoted_seq_outside_una_nxt_ignored_rfc5927_4_1),
    cmocka_unit_test(port_unreachable_with_wrong_seq_does_not_abort_syn_sent_rfc5927_4_1),
    cmocka_unit_test(soft_error_in_syn_sent_then_timeout_reports_unreach_rfc1122_4_2_3_9),
    cmocka_unit_test(time_exceeded_then_timeout_reports_unreach),
    cmocka_unit_test(soft_error_forgotten_once_data_is_acked),
    cmocka_unit_test(port_unreachable_in_syn_sent_aborts_refused_rfc1122_4_2_3_9),
    cmocka_unit_test(port_unreachable_in_established_does_not_abort_rfc5927_5_2),
    cmocka_unit_test(port_unreachable_drops_a_listeners_half_open_connection),
    cmocka_unit_test(port_unreachable_aborts_simultaneous_open_in_syn_received),
    cmocka_unit_test(source_quench_ignored_rfc6633),
    cmocka_unit_test(other_types_counted_and_ignored),
    cmocka_unit_test(error_for_unknown_connection_counted_and_dropped),
    cmocka_unit_test(error_for_time_wait_counted_and_dropped),
    cmocka_unit_test(malformed_icmp_counted_and_dropped),
    cmocka_unit_test(unsupported_protocol_gets_protocol_unreachable_rfc1122_3_2_2_1),
    cmocka_unit_test(random_icmp_errors_keep_a_transfer_within_pmtu),
};

SYNACK_TEST_MAIN("icmp", tests)
