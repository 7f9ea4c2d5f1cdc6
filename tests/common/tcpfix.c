#include "tcpfix.h"

#include <string.h>

struct synack_addr fix_addr6(uint8_t last)
{
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = last};
    return synack_addr_v6(b);
}

void fix_use_ipv6(struct synack_config *cfg)
{
    cfg->addrs[0] = fix_addr6(FIX_LOCAL6_LAST);
}

void fix_init(struct fix *f, void (*tweak)(struct synack_config *))
{
    memset(f, 0, sizeof *f);
    synack_config_default(&f->cfg);
    f->cfg.addrs[0] = synack_addr_v4(FIX_LOCAL);
    f->cfg.seed = 1;
    /* Segment-level tests of other rules see every ACK at once; the delayed-ACK tests
     * (RFC 5681 §4.2) turn the timer back on in their tweak. */
    f->cfg.delack_timeout = 0;
    for (int i = 0; i < 16; i++)
        f->cfg.isn_secret[i] = (uint8_t)(i * 7 + 3);
    if (tweak) tweak(&f->cfg);
    /* A tweak that gives the stack an IPv6 address turns the whole fixture to IPv6. */
    f->local = f->cfg.addrs[0];
    f->remote = synack_addr_v4(FIX_REMOTE);
    if (f->local.family == SYNACK_AF_INET6) f->remote = fix_addr6(FIX_REMOTE6_LAST);
    assert_int_equal(synack_stack_new(&f->s, &f->cfg), 0);
    f->now = SYNACK_S(1000);
    f->lport = FIX_LPORT;
    f->rport = FIX_RPORT;
    f->peer_nxt = FIX_PEER_ISS;
    f->peer_wnd = 65535;
    f->peer_mss = 1460;
    f->peer_wscale = -1;
    f->peer_tsval = 100;
}

void fix_free(struct fix *f)
{
    synack_stack_free(f->s);
    f->s = NULL;
}

int fix_send_raw(struct fix *f, const uint8_t *pkt, size_t len)
{
    return synack_stack_input(f->s, pkt, len, f->now);
}

int fix_send_ip(struct fix *f, struct wire_ip_repr ip, const void *body, size_t len)
{
    uint8_t pkt[4096];
    ip.src = f->remote;
    ip.dst = f->local;
    ip.ttl = 64;
    ip.payload_len = (uint16_t)len;
    size_t hdr = wire_ip_emit(&ip, pkt, sizeof pkt); /* IPv6: with a Fragment header if asked */
    assert_true(hdr > 0 && len <= sizeof pkt - hdr);
    memcpy(pkt + hdr, body, len);
    return fix_send_raw(f, pkt, hdr + len);
}

void fix_send_repr(struct fix *f, struct wire_tcp_repr *seg)
{
    uint8_t pkt[2048];
    struct wire_ip_repr ip = {.src = f->remote, .dst = f->local, .ttl = 64, .df = true};
    size_t n = wire_packet_emit(&ip, seg, pkt, sizeof pkt);
    assert_true(n > 0);
    assert_int_equal(fix_send_raw(f, pkt, n), 0);
}

void fix_send(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack, const void *data,
              size_t len)
{
    struct wire_tcp_repr seg = {.src_port = f->rport,
                                .dst_port = f->lport,
                                .seq = seq,
                                .ack = ack,
                                .flags = flags,
                                .window = f->peer_wnd,
                                .payload = data,
                                .payload_len = len};
    if (f->peer_ts && !(flags & WIRE_TCP_RST)) {
        seg.has_ts = true;
        seg.ts_val = f->peer_tsval;
        seg.ts_ecr = f->last_tsval;
    }
    fix_send_repr(f, &seg);
}

void fix_send_sack(struct fix *f, uint32_t ack, const uint32_t *blocks, unsigned nblocks)
{
    struct wire_tcp_repr seg = {.src_port = f->rport,
                                .dst_port = f->lport,
                                .seq = f->peer_nxt,
                                .ack = ack,
                                .flags = WIRE_TCP_ACK,
                                .window = f->peer_wnd};
    assert_true(nblocks <= WIRE_TCP_MAX_SACK);
    for (unsigned i = 0; i < nblocks; i++) {
        seg.sack[i].left = blocks[2 * i];
        seg.sack[i].right = blocks[2 * i + 1];
    }
    seg.sack_count = (uint8_t)nblocks;
    if (f->peer_ts) {
        seg.has_ts = true;
        seg.ts_val = f->peer_tsval;
        seg.ts_ecr = f->last_tsval;
    }
    fix_send_repr(f, &seg);
}

bool fix_recv(struct fix *f, struct wire_tcp_repr *out)
{
    uint8_t pkt[2048];
    struct wire_ip_repr ip;
    synack_ssize n = synack_stack_output(f->s, pkt, sizeof pkt, f->now);
    if (n == SYNACK_ERR_AGAIN) return false;
    assert_true(n > 0);
    assert_int_equal(wire_packet_parse(pkt, (size_t)n, &ip, out), SYNACK_DROP_NONE);
    assert_true(synack_addr_eq(&ip.src, &f->local));
    assert_true(synack_addr_eq(&ip.dst, &f->remote));
    assert_true(out->payload_len <= sizeof f->last_payload);
    memcpy(f->last_payload, out->payload, out->payload_len);
    if (out->has_ts) f->last_tsval = out->ts_val;
    out->payload = f->last_payload;
    return true;
}

void fix_expect_data(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack, size_t len)
{
    struct wire_tcp_repr seg;
    if (!fix_recv(f, &seg)) fail_msg("expected a segment with flags 0x%02x, got nothing", flags);
    assert_int_equal(seg.flags, flags);
    assert_int_equal(seg.seq, seq);
    if (flags & WIRE_TCP_ACK) assert_int_equal(seg.ack, ack);
    assert_int_equal(seg.payload_len, len);
}

void fix_expect(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack)
{
    fix_expect_data(f, flags, seq, ack, 0);
}

void fix_expect_none(struct fix *f)
{
    struct wire_tcp_repr seg;
    if (fix_recv(f, &seg))
        fail_msg("expected nothing, got flags 0x%02x seq %u ack %u len %zu", seg.flags, seg.seq,
                 seg.ack, seg.payload_len);
}

void fix_advance(struct fix *f, synack_time_t dt)
{
    f->now += dt;
    synack_stack_handle_timers(f->s, f->now);
}

void fix_run_next_timer(struct fix *f)
{
    synack_time_t at = synack_stack_next_deadline(f->s);
    assert_true(at != SYNACK_NEVER);
    if (at > f->now) f->now = at;
    synack_stack_handle_timers(f->s, f->now);
}

size_t fix_events(struct fix *f)
{
    size_t added = 0;
    struct synack_event ev;
    while (synack_stack_next_event(f->s, &ev) == 0) {
        if (f->nevents < FIX_MAX_EVENTS) {
            f->events[f->nevents++] = ev;
            added++;
        }
    }
    return added;
}

bool fix_saw_transition(struct fix *f, enum synack_state from, enum synack_state to)
{
    fix_events(f);
    for (size_t i = 0; i < f->nevents; i++) {
        if (f->events[i].type == SYNACK_EV_STATE && f->events[i].old_state == from &&
            f->events[i].new_state == to)
            return true;
    }
    return false;
}

bool fix_saw_event(struct fix *f, enum synack_event_type type, int err)
{
    fix_events(f);
    for (size_t i = 0; i < f->nevents; i++) {
        if (f->events[i].type == type && (err == 0 || f->events[i].err == err)) return true;
    }
    return false;
}

uint64_t fix_drops(struct fix *f, enum synack_drop reason)
{
    struct synack_counters c;
    synack_stack_counters(f->s, &c);
    return c.drops[reason];
}

void fix_peer_syn(struct fix *f, bool ack_ours)
{
    struct wire_tcp_repr syn = {.src_port = f->rport,
                                .dst_port = f->lport,
                                .seq = f->peer_nxt,
                                .ack = ack_ours ? f->iss + 1 : 0,
                                .flags = (uint8_t)(WIRE_TCP_SYN | (ack_ours ? WIRE_TCP_ACK : 0)),
                                .window = f->peer_wnd,
                                .has_mss = f->peer_mss != 0,
                                .mss = f->peer_mss,
                                .has_wscale = f->peer_wscale >= 0,
                                .wscale = (uint8_t)(f->peer_wscale >= 0 ? f->peer_wscale : 0),
                                .sack_permitted = f->peer_sack,
                                .has_ts = f->peer_ts,
                                .ts_val = f->peer_tsval,
                                .ts_ecr = ack_ours ? f->last_tsval : 0};
    fix_send_repr(f, &syn);
    f->peer_nxt++;
}

/* ---- state fixtures ---- */

void fix_syn_sent(struct fix *f)
{
    assert_int_equal(synack_tcp_connect(f->s, &(struct synack_endpoint){f->remote, f->rport},
                                        &SYNACK_TEST_EP(0, f->lport), NULL, &f->c, f->now),
                     0);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN);
    assert_true(seg.has_mss);
    f->iss = seg.seq;
    f->peer_ack = f->iss + 1;
    assert_int_equal(synack_tcp_state(f->c), SYNACK_SYN_SENT);
}

void fix_established_active(struct fix *f)
{
    fix_syn_sent(f);
    fix_peer_syn(f, true);
    fix_expect(f, WIRE_TCP_ACK, f->iss + 1, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
}

void fix_syn_received_passive(struct fix *f)
{
    assert_int_equal(synack_tcp_listen(f->s, &SYNACK_TEST_EP(0, f->lport), 8, NULL, &f->l), 0);
    fix_peer_syn(f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(seg.ack, f->peer_nxt);
    f->iss = seg.seq;
    f->peer_ack = f->iss + 1;
}

void fix_established_passive(struct fix *f)
{
    fix_syn_received_passive(f);
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f->l, &f->c), 0);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
    fix_expect_none(f);
}

void fix_syn_received_simultaneous(struct fix *f)
{
    fix_syn_sent(f);
    /* RFC 9293 Figure 8: the peer's SYN crosses ours and carries no ACK. */
    fix_peer_syn(f, false);
    fix_expect(f, WIRE_TCP_SYN | WIRE_TCP_ACK, f->iss, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_SYN_RECEIVED);
}

void fix_fin_wait_1(struct fix *f)
{
    fix_established_active(f);
    /* shutdown, not close: the test keeps the connection to look at it (a released one
     * spends TIME_WAIT as a record and its pointer goes; tests of that close it). */
    assert_int_equal(synack_tcp_shutdown(f->c, f->now), 0);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_FIN_WAIT_1);
    fix_expect(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    f->peer_ack++;
}

void fix_fin_wait_2(struct fix *f)
{
    fix_fin_wait_1(f);
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_FIN_WAIT_2);
    fix_expect_none(f);
}

void fix_close_wait(struct fix *f)
{
    fix_established_active(f);
    fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_CLOSE_WAIT);
}

void fix_last_ack(struct fix *f)
{
    fix_close_wait(f);
    synack_tcp_close(f->c, f->now);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_LAST_ACK);
    fix_expect(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    f->peer_ack++;
}

void fix_closing(struct fix *f)
{
    fix_fin_wait_1(f);
    /* The peer's FIN crosses ours: it does not acknowledge our FIN yet. */
    fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt, f->peer_ack - 1, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_CLOSING);
}

void fix_time_wait(struct fix *f)
{
    fix_fin_wait_2(f);
    fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_TIME_WAIT);
}

void fix_accept_peer(struct fix *f, uint16_t rport)
{
    f->rport = rport;
    f->peer_nxt = FIX_PEER_ISS;
    fix_peer_syn(f, false);
    struct wire_tcp_repr seg;
    assert_true(fix_recv(f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    f->iss = seg.seq;
    f->peer_ack = seg.seq + 1;
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    fix_expect_none(f);
    assert_int_equal(synack_tcp_accept(f->l, &f->c), 0);
}

void fix_server_closes_first(struct fix *f)
{
    synack_tcp_close(f->c, f->now);
    f->c = NULL;
    fix_expect(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    f->peer_ack++;
    fix_send(f, WIRE_TCP_FIN | WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    f->peer_nxt++;
    fix_expect(f, WIRE_TCP_ACK, f->peer_ack, f->peer_nxt);
    fix_expect_none(f);
}

void fix_peer_ack(struct fix *f, uint32_t ack)
{
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, ack, NULL, 0);
}

void fix_queue(struct fix *f, size_t n)
{
    uint8_t buf[4096];
    memset(buf, 'r', sizeof buf);
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        assert_int_equal(synack_tcp_send(f->c, buf, k, f->now), (synack_ssize)k);
        n -= k;
    }
}

struct synack_tcp_info fix_info(struct fix *f)
{
    struct synack_tcp_info info;
    assert_int_equal(synack_tcp_info(f->c, &info), 0);
    return info;
}

void fix_expect_deadline(struct fix *f, synack_time_t at)
{
    synack_time_t got = synack_stack_next_deadline(f->s);
    if (got != at)
        fail_msg("deadline %lld ns after now, expected %lld", (long long)(got - f->now),
                 (long long)(at - f->now));
}

/* ---- ICMP ---- */

int fix_send_icmp(struct fix *f, uint32_t src, uint32_t dst, const struct wire_icmp_repr *m)
{
    uint8_t pkt[2048];
    struct wire_ip_repr ip = {.src = synack_addr_v4(src), .dst = synack_addr_v4(dst), .ttl = 64};
    size_t n = wire_icmp_packet_emit(&ip, m, pkt, sizeof pkt);
    assert_true(n > 0);
    return fix_send_raw(f, pkt, n);
}

int fix_send_icmp_error(struct fix *f, uint32_t from, uint8_t type, uint8_t code, uint16_t mtu,
                        uint32_t seq, uint16_t total_len)
{
    /* The returned datagram: what a router keeps of a segment the stack sent. */
    uint8_t quote[WIRE_IPV4_HDR_LEN + 8];
    struct wire_ip_repr qip = {.src = synack_addr_v4(FIX_LOCAL),
                               .dst = synack_addr_v4(FIX_REMOTE),
                               .proto = WIRE_IP_PROTO_TCP,
                               .ttl = 63,
                               .df = true,
                               .payload_len = (uint16_t)(total_len - WIRE_IPV4_HDR_LEN)};
    wire_ipv4_emit(&qip, quote);
    uint8_t *t = quote + WIRE_IPV4_HDR_LEN;
    t[0] = (uint8_t)(f->lport >> 8);
    t[1] = (uint8_t)f->lport;
    t[2] = (uint8_t)(f->rport >> 8);
    t[3] = (uint8_t)f->rport;
    t[4] = (uint8_t)(seq >> 24);
    t[5] = (uint8_t)(seq >> 16);
    t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
    struct wire_icmp_repr m = {
        .type = type, .code = code, .mtu = mtu, .data = quote, .data_len = sizeof quote};
    return fix_send_icmp(f, from, FIX_LOCAL, &m);
}

size_t fix_recv_raw(struct fix *f, uint8_t *buf, size_t cap)
{
    synack_ssize n = synack_stack_output(f->s, buf, cap, f->now);
    if (n == SYNACK_ERR_AGAIN) return 0;
    assert_true(n > 0);
    return (size_t)n;
}

size_t fix_recv_ip(struct fix *f, uint8_t *buf, size_t cap, uint8_t proto, struct wire_ip_repr *ip)
{
    size_t n = fix_recv_raw(f, buf, cap);
    assert_true(n > 0);
    assert_int_equal(wire_ip_parse(buf, n, ip), SYNACK_DROP_NONE);
    assert_int_equal(ip->proto, proto);
    assert_true(synack_addr_eq(&ip->src, &f->local));
    assert_true(synack_addr_eq(&ip->dst, &f->remote));
    return n;
}
