/*
 * The stack's input with timers and application calls interleaved (shared/FUZZING.md).
 *
 * The first two bytes set the scene: options (timestamps, SACK, window scale), tiny or
 * default buffers, keepalive, a small mem_budget, SYN cookie mode or IPv6 (the fourth
 * value of the cookie field: IPv6 with cookies on overflow), backlog, connection limit;
 * then a listener on port 80, a UDP socket on port 53, one connection accepted through a
 * scripted handshake, one active connection (left in SYN_SENT or established), and one the
 * application has closed with data still queued.
 *
 * The rest is records: control, action, argument, length, then `length` bytes. Actions
 * advance the clock, deliver a TCP segment from the peer (built from fields, with the
 * sequence and acknowledgment numbers relative to what the peer learnt from the stack's own
 * segments, timestamps made plausible, SACK and MSS options, so that small numbers land in
 * the window; or raw bytes, with the IPv4 and TCP checksums repaired on request), deliver
 * an ICMP or ICMPv6 error quoting one of the stack's segments, a UDP datagram (to the
 * bound port or a closed one, whole or as two fragments), or call send, recv, shutdown,
 * close, abort, the setters, accept, connect (from an ephemeral port, or from port 50000 so
 * that a connect again takes over the TIME_WAIT of the last), listener close, and the UDP
 * socket's send, recv, connect, close and bind.
 *
 * Checked: no crash, no sanitizer report, no more than 64 MiB held by the stack at any time;
 * and at the end, once the application has closed everything and the peer falls silent,
 * every connection ends within a bounded number of timer runs, the stack holds what it held
 * when it was made, and nothing at all after synack_stack_free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define SLOTS 8
#define MAX_RECORDS 4000
#define MEM_CAP (64u << 20)

struct h {
    struct fz_peer p;
    struct fz_mem mem;
    size_t baseline;
    struct synack_listener *l;
    struct synack_tcp *slot[SLOTS];
    struct synack_udp *udp;
    bool ts, sack, v6;
    int wscale;
    unsigned backlog;
};

static void bail(const char *what)
{
    fprintf(stderr, "fuzz_stack: %s\n", what);
    abort();
}

static struct synack_tcp **free_slot(struct h *h)
{
    for (int i = 0; i < SLOTS; i++)
        if (!h->slot[i]) return &h->slot[i];
    return NULL;
}

static void accept_all(struct h *h)
{
    struct synack_tcp *c;
    while (h->l && synack_tcp_accept(h->l, &c) == 0) {
        struct synack_tcp **s = free_slot(h);
        if (s)
            *s = c;
        else
            synack_tcp_abort(c, h->p.now);
    }
}

static struct fz_tuple *pick_tuple(struct h *h, unsigned k)
{
    unsigned used = 0;
    for (int i = 0; i < FZ_TUPLES; i++)
        used += h->p.t[i].used;
    if (used == 0) return NULL;
    k %= used;
    for (int i = 0; i < FZ_TUPLES; i++)
        if (h->p.t[i].used && k-- == 0) return &h->p.t[i];
    return NULL;
}

/* ---- scene ---- */

static int setup(struct h *h, struct fz_in *in)
{
    uint8_t a = fz_u8(in), b = fz_u8(in);
    struct synack_config cfg;
    synack_config_default(&cfg);
    h->v6 = (b >> 6) == 3;
    fz_peer_addrs(&h->p, h->v6);
    cfg.addrs[0] = h->p.local;
    cfg.seed = 1;
    for (int i = 0; i < 16; i++)
        cfg.isn_secret[i] = (uint8_t)(i * 13 + 1);
    h->ts = a & 1;
    h->sack = a & 2;
    h->wscale = (a & 4) ? 7 : -1;
    cfg.timestamps = h->ts || (a & 0x80);
    cfg.sack = h->sack || (a & 0x80);
    cfg.window_scale = h->wscale >= 0 || (a & 0x80);
    if (a & 8) {
        cfg.sndbuf = 1 + (b & 0x3f) * 17;
        cfg.rcvbuf = 1 + ((a >> 4) & 7) * 301;
    }
    if (a & 0x10) {
        cfg.keepalive_idle = SYNACK_S(2);
        cfg.keepalive_interval = SYNACK_S(1);
        cfg.keepalive_count = 2;
    }
    cfg.syncookies = (enum synack_syncookies)((b >> 6) % SYNACK_SYNCOOKIES_COUNT);
    cfg.delack_timeout = (b & 4) ? SYNACK_MS(40) : 0;
    cfg.max_conns = (b & 0x10) ? 4 : 64;
    cfg.max_time_wait = (b & 0x10) ? 2 : 64;
    cfg.max_orphans = (b & 0x10) ? 1 : 16;
    cfg.rack = !(b & 0x20);
    cfg.nodelay = a & 0x40;
    if (a & 0x20) cfg.mem_budget = 3000;
    cfg.cc = (b & 0x80) ? SYNACK_CC_NEWRENO : SYNACK_CC_CUBIC;
    fz_mem_hook(&cfg, &h->mem, MEM_CAP);
    if (synack_stack_new(&h->p.s, &cfg) != 0) bail("synack_stack_new failed");
    h->baseline = h->mem.live;
    h->p.now = SYNACK_S(1000000);
    h->backlog = (b & 8) ? 2 : 16;
    if (synack_tcp_listen(h->p.s, &SYNACK_TEST_EP(0, 80), h->backlog, NULL, &h->l) != 0)
        bail("listen failed");
    if (synack_udp_bind(h->p.s, &SYNACK_TEST_EP(0, 53), NULL, &h->udp) != 0)
        bail("udp bind failed");
    /* A: accepted through a scripted handshake. */
    fz_handshake(&h->p, 80, 40000, h->ts, h->sack, h->wscale);
    fz_events(&h->p);
    accept_all(h);
    /* B: an active open, established if asked. */
    struct synack_tcp **s = free_slot(h);
    struct synack_endpoint peer8080 = {h->p.remote, 8080};
    if (s && synack_tcp_connect(h->p.s, &peer8080, NULL, NULL, s, h->p.now) == 0) {
        struct synack_tcp_info info;
        synack_tcp_info(*s, &info);
        fz_drain(&h->p);
        struct fz_tuple *t = fz_tuple(&h->p, info.local_port, 8080);
        if ((b & 1) && t) {
            struct wire_tcp_repr sa = {.src_port = 8080,
                                       .dst_port = info.local_port,
                                       .seq = 90000,
                                       .ack = t->stack_nxt,
                                       .flags = WIRE_TCP_SYN | WIRE_TCP_ACK,
                                       .window = 65535,
                                       .has_mss = true,
                                       .mss = (uint16_t)(500 + b),
                                       .has_wscale = h->wscale >= 0,
                                       .wscale = 7,
                                       .sack_permitted = h->sack,
                                       .has_ts = h->ts,
                                       .ts_val = t->peer_tsval,
                                       .ts_ecr = t->stack_tsval};
            fz_send(&h->p, &sa);
            fz_drain(&h->p);
        }
    }
    /* C: accepted, data queued, closed by the application. */
    if (b & 2) {
        fz_handshake(&h->p, 80, 40001, h->ts, h->sack, h->wscale);
        fz_events(&h->p);
        struct synack_tcp *c;
        if (synack_tcp_accept(h->l, &c) == 0) {
            static const uint8_t q[300] = "closed by the application";
            synack_tcp_send(c, q, sizeof q, h->p.now);
            synack_tcp_close(c, h->p.now);
            fz_drain(&h->p);
        }
    }
    fz_events(&h->p);
    return 0;
}

/* ---- actions ---- */

static void advance(struct h *h, uint8_t arg)
{
    static const synack_time_t steps[] = {
        0, SYNACK_US(1), SYNACK_MS(1), SYNACK_MS(40), SYNACK_MS(200), SYNACK_S(1), 0, SYNACK_S(60)};
    unsigned k = arg % 8;
    if (k == 6) {
        synack_time_t d = synack_stack_next_deadline(h->p.s);
        if (d != SYNACK_NEVER && d > h->p.now) h->p.now = d;
    } else {
        h->p.now += steps[k];
    }
    synack_stack_handle_timers(h->p.s, h->p.now);
}

static int32_t s32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* A segment built from fields: flags = arg; payload = seq offset (4), ack offset (4),
 * window (2), option bits (1), MSS (2), then data. */
static void structured_segment(struct h *h, uint8_t ctl, uint8_t arg, const uint8_t *d, size_t n)
{
    uint8_t hdr[13] = {0};
    memcpy(hdr, d, n < sizeof hdr ? n : sizeof hdr);
    size_t skip = n < sizeof hdr ? n : sizeof hdr;
    struct fz_tuple *t = pick_tuple(h, ctl >> 4);
    struct wire_tcp_repr seg = {.flags = arg, .window = (uint16_t)(hdr[8] << 8 | hdr[9])};
    if (t && (ctl & 2)) { /* relative to what the peer learnt */
        seg.src_port = t->rport;
        seg.dst_port = t->lport;
        seg.seq = t->peer_nxt + (uint32_t)s32(hdr);
        seg.ack = t->stack_nxt + (uint32_t)s32(hdr + 4);
    } else {
        seg.src_port = t ? t->rport : (uint16_t)(1 + hdr[11]);
        seg.dst_port = t ? t->lport : 80;
        seg.seq = (uint32_t)s32(hdr);
        seg.ack = (uint32_t)s32(hdr + 4);
    }
    uint8_t o = hdr[10];
    if ((o & 1) && t) {
        seg.has_ts = true;
        seg.ts_val = (o & 2) ? t->peer_tsval - 100000 : ++t->peer_tsval;
        seg.ts_ecr = t->stack_tsval;
    }
    if ((o & 4) && t) {
        seg.sack_count = 1 + ((o >> 5) & 3);
        for (unsigned i = 0; i < seg.sack_count; i++) {
            seg.sack[i].left = t->stack_nxt - (uint32_t)(hdr[11] * (i + 1) * 97);
            seg.sack[i].right = seg.sack[i].left + (uint32_t)(hdr[12] + 1) * 13;
        }
    }
    if (o & 8) {
        seg.has_mss = true;
        seg.mss = (uint16_t)(hdr[11] << 8 | hdr[12]);
    }
    if (o & 16) {
        seg.has_wscale = true;
        seg.wscale = hdr[12] & 15;
    }
    seg.payload = d + skip;
    seg.payload_len = n - skip;
    fz_send(&h->p, &seg);
}

/* Raw bytes; with ctl bit 2 an IP header of the run's family (peer -> stack, protocol TCP
 * unless the bytes say ICMP or ICMPv6) replaces the first 20 or 40 and the TCP checksum is
 * repaired. */
static void raw_packet(struct h *h, uint8_t ctl, const uint8_t *d, size_t n)
{
    uint8_t pkt[2100];
    if (n > sizeof pkt) n = sizeof pkt;
    memcpy(pkt, d, n);
    size_t hl = h->v6 ? WIRE_IPV6_HDR_LEN : WIRE_IPV4_HDR_LEN;
    if ((ctl & 4) && n >= hl) {
        uint8_t icmp = h->v6 ? WIRE_IP_PROTO_ICMPV6 : WIRE_IP_PROTO_ICMP;
        uint8_t said = h->v6 ? pkt[6] : pkt[9];
        struct wire_ip_repr ip = {.src = h->p.remote,
                                  .dst = h->p.local,
                                  .ttl = 64,
                                  .proto = said == icmp ? icmp : WIRE_IP_PROTO_TCP,
                                  .payload_len = (uint16_t)(n - hl)};
        wire_ip_emit(&ip, pkt, hl);
        if (ip.proto == WIRE_IP_PROTO_TCP && n >= hl + 20) {
            uint8_t *tcp = pkt + hl;
            struct fz_tuple *t = (ctl & 8) ? pick_tuple(h, ctl >> 4) : NULL;
            if (t) {
                tcp[0] = (uint8_t)(t->rport >> 8);
                tcp[1] = (uint8_t)t->rport;
                tcp[2] = (uint8_t)(t->lport >> 8);
                tcp[3] = (uint8_t)t->lport;
            }
            tcp[16] = tcp[17] = 0;
            uint32_t sum =
                wire_csum_pseudo_addr(&ip.src, &ip.dst, WIRE_IP_PROTO_TCP, (uint32_t)(n - hl));
            uint16_t c = wire_csum_finish(wire_csum_add(sum, tcp, n - hl));
            tcp[16] = (uint8_t)(c >> 8);
            tcp[17] = (uint8_t)c;
        }
    }
    synack_stack_input(h->p.s, pkt, n, h->p.now);
}

/* An ICMP (or ICMPv6) error about one of the stack's segments: type and code from arg,
 * the quoted sequence number near what the stack sent, a next-hop MTU. */
static void icmp_error(struct h *h, uint8_t ctl, uint8_t arg, const uint8_t *d, size_t n)
{
    uint8_t f[6] = {0};
    memcpy(f, d, n < sizeof f ? n : sizeof f);
    struct fz_tuple *t = pick_tuple(h, ctl >> 4);
    if (!t) return;
    uint8_t quote[WIRE_IPV6_HDR_LEN + 8];
    size_t hl = h->v6 ? WIRE_IPV6_HDR_LEN : WIRE_IPV4_HDR_LEN;
    struct wire_ip_repr qip = {.src = h->p.local,
                               .dst = h->p.remote,
                               .ttl = 64,
                               .proto = WIRE_IP_PROTO_TCP,
                               .df = true,
                               .payload_len = (uint16_t)(f[4] << 8 | f[5])};
    wire_ip_emit(&qip, quote, hl);
    uint32_t seq = t->stack_nxt - (uint32_t)(f[0] << 8 | f[1]);
    const uint8_t tcp8[8] = {
        (uint8_t)(t->lport >> 8), (uint8_t)t->lport,    (uint8_t)(t->rport >> 8), (uint8_t)t->rport,
        (uint8_t)(seq >> 24),     (uint8_t)(seq >> 16), (uint8_t)(seq >> 8),      (uint8_t)seq};
    memcpy(quote + hl, tcp8, 8);
    struct wire_ip_repr ip = {.src = h->p.remote, .dst = h->p.local, .ttl = 64};
    if (ctl & 8) ip.src.bytes[h->v6 ? 15 : 3] = 9; /* a router, not the peer */
    uint8_t pkt[256];
    size_t len = 0;
    uint32_t mtu = (uint32_t)(f[2] << 8 | f[3]);
    if (h->v6) {
        static const uint8_t types6[] = {WIRE_ICMP6_DEST_UNREACH, WIRE_ICMP6_PACKET_TOO_BIG,
                                         WIRE_ICMP6_TIME_EXCEEDED, WIRE_ICMP6_PARAM_PROBLEM};
        struct wire_icmp6_repr m = {.type = types6[arg & 3],
                                    .code = (uint8_t)((arg >> 2) & 7),
                                    .mtu = mtu,
                                    .pointer = mtu,
                                    .data = quote,
                                    .data_len = hl + 8};
        len = wire_icmp6_emit(&m, &ip.src, &ip.dst, pkt + hl, sizeof pkt - hl);
        ip.proto = WIRE_IP_PROTO_ICMPV6;
        ip.payload_len = (uint16_t)len;
        if (len) len += wire_ip_emit(&ip, pkt, hl);
    } else {
        static const uint8_t types[] = {WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_TIME_EXCEEDED,
                                        WIRE_ICMP_PARAM_PROBLEM, WIRE_ICMP_SOURCE_QUENCH};
        struct wire_icmp_repr m = {.type = types[arg & 3],
                                   .code = (uint8_t)((arg >> 2) & 15),
                                   .mtu = (uint16_t)mtu,
                                   .data = quote,
                                   .data_len = hl + 8};
        len = wire_icmp_packet_emit(&ip, &m, pkt, sizeof pkt);
    }
    if (len) synack_stack_input(h->p.s, pkt, len, h->p.now);
}

/* A UDP record (ctl bits 4-5, and bit 3 for the last two, choose): a datagram from the peer to the
 * bound port 53 or the closed port 54, whole or in two fragments (checksums right); or the socket's
 * send, recv, connect/disconnect, close/bind. */
static void udp_record(struct h *h, uint8_t ctl, uint8_t arg, const uint8_t *d, size_t n)
{
    struct synack_endpoint peer = {h->p.remote, (uint16_t)(1000 + arg)};
    uint8_t buf[4096];
    switch (((ctl >> 4) & 3) | ((ctl & 8) ? 4 : 0)) {
    case 0:
    case 1: {
        uint8_t dg[2100];
        struct wire_udp_repr u = {.src_port = peer.port,
                                  .dst_port = (ctl & 0x10) ? 54 : 53,
                                  .payload = d,
                                  .payload_len = n};
        size_t len = wire_udp_emit(&u, &h->p.remote, &h->p.local, dg, sizeof dg);
        if (len == 0) return;
        struct wire_ip_repr ip = {.src = h->p.remote,
                                  .dst = h->p.local,
                                  .ttl = 64,
                                  .proto = WIRE_IP_PROTO_UDP,
                                  .id = arg};
        size_t cut = (ctl & 2) && len > 16 ? (len / 2) & ~(size_t)7 : len;
        for (size_t off = 0; off < len; off += cut) {
            size_t piece = len - off < cut ? len - off : cut;
            ip.frag = (struct wire_ip_frag){.present = cut < len,
                                            .more = off + piece < len,
                                            .offset = (uint16_t)off,
                                            .id = arg};
            ip.payload_len = (uint16_t)piece;
            uint8_t pkt[2200];
            size_t hl = wire_ip_emit(&ip, pkt, sizeof pkt);
            memcpy(pkt + hl, dg + off, piece);
            synack_stack_input(h->p.s, pkt, hl + piece, h->p.now);
        }
        break;
    }
    case 2:
        /* A burst of 1 to 8 alike, which output with SYNACK_TX_USO joins (fz_drain checks). */
        for (unsigned k = 0; h->udp && k <= (arg & 7u); k++)
            synack_udp_send(h->udp, d, n, (ctl & 2) ? NULL : &peer, h->p.now);
        break;
    case 3:
        if (h->udp) synack_udp_recv(h->udp, buf, (size_t)arg * 16, NULL, h->p.now);
        break;
    case 4:
        if (h->udp) synack_udp_connect(h->udp, (ctl & 2) ? NULL : &peer);
        break;
    default:
        if (h->udp) {
            synack_udp_close(h->udp);
            h->udp = NULL;
        } else {
            synack_udp_bind(h->p.s, &SYNACK_TEST_EP(0, 53), NULL, &h->udp);
        }
        break;
    }
}

static void app_call(struct h *h, unsigned act, uint8_t arg, const uint8_t *d, size_t n)
{
    struct synack_tcp **s = &h->slot[arg % SLOTS];
    synack_time_t now = h->p.now;
    uint8_t buf[4096];
    switch (act) {
    case 3:
        if (*s) synack_tcp_send(*s, d, n, now);
        break;
    case 4:
        if (*s) synack_tcp_recv(*s, buf, 1 + (size_t)(arg >> 3) * 128, now);
        break;
    case 5:
        if (*s) synack_tcp_shutdown(*s, now);
        break;
    case 6:
        synack_tcp_close(*s, now);
        *s = NULL;
        break;
    case 7:
        synack_tcp_abort(*s, now);
        *s = NULL;
        break;
    case 8:
        if (!*s) break;
        switch ((arg >> 3) & 3) {
        case 0:
            synack_tcp_set_keepalive(*s, n ? SYNACK_MS(100) * (1 + d[0]) : 0, SYNACK_MS(300), 3);
            break;
        case 1:
            synack_tcp_set_user_timeout(*s, n ? SYNACK_MS(50) * d[0] : 0);
            break;
        case 2:
            synack_tcp_set_nodelay(*s, arg & 0x20);
            break;
        default:
            synack_tcp_set_cc(*s, (arg & 0x20) ? SYNACK_CC_NEWRENO : SYNACK_CC_CUBIC);
            break;
        }
        break;
    case 9:
        accept_all(h);
        /* Bit 7: the link's transmit offloads change (a link is asked every output pass):
         * every SYNACK_TX_* bit with bit 0, none without (fz_drain checks what is left). */
        if (arg & 0x80) h->p.tx = (arg & 1) ? SYNACK_TX_ALL : 0;
        break;
    case 10: {
        /* To port 8000 + the low 7 bits; with the top bit from local port 50000, so that a
         * connect again after a client-first close takes its TIME_WAIT over (time_wait_reuse)
         * and the peer's SYN-ACK meets the old incarnation's timestamps. */
        struct synack_tcp **f = free_slot(h);
        struct synack_endpoint to = {h->p.remote, (uint16_t)(8000 + (arg & 0x7f))};
        struct synack_endpoint from = {h->p.local, 50000};
        if (f) synack_tcp_connect(h->p.s, &to, (arg & 0x80) ? &from : NULL, NULL, f, now);
        break;
    }
    case 11:
        if (h->l) {
            synack_listener_close(h->l, now);
            h->l = NULL;
        } else {
            synack_tcp_listen(h->p.s, &SYNACK_TEST_EP(0, 80), h->backlog, NULL, &h->l);
        }
        break;
    default:
        break;
    }
}

/* Everything closed, the peer silent: every connection must end, and every byte held for
 * them must come back. */
static void wind_down(struct h *h)
{
    for (int i = 0; i < SLOTS; i++) {
        synack_tcp_close(h->slot[i], h->p.now);
        h->slot[i] = NULL;
    }
    if (h->l) synack_listener_close(h->l, h->p.now);
    h->l = NULL;
    synack_udp_close(h->udp);
    h->udp = NULL;
    fz_drain(&h->p);
    fz_events(&h->p);
    for (int guard = 0; guard < 100000; guard++) {
        synack_time_t d = synack_stack_next_deadline(h->p.s);
        if (d == SYNACK_NEVER) break;
        if (d > h->p.now) h->p.now = d;
        synack_stack_handle_timers(h->p.s, h->p.now);
        fz_drain(&h->p);
        fz_events(&h->p);
    }
    struct synack_stack_stats st;
    synack_stack_stats(h->p.s, &st);
    if (synack_stack_next_deadline(h->p.s) != SYNACK_NEVER) bail("a timer never stops");
    if (st.conns || st.time_wait || st.orphans) bail("connections outlive every timer");
    if (st.mem_held) bail("data counted as held with no connection left");
    if (st.conn_storage) bail("buffers and tables counted with no connection left");
    /* The starting level, and the drained blocks the stack keeps for the next buffer. */
    if (st.storage_cached > ((size_t)2 << 20)) bail("the storage cache outgrew its 2 MiB");
    if (h->mem.live != h->baseline + st.storage_cached)
        bail("memory did not come back to the starting level");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h h;
    memset(&h, 0, sizeof h);
    struct fz_in in = {data, size};
    setup(&h, &in);
    for (int r = 0; r < MAX_RECORDS && in.n > 0; r++) {
        uint8_t ctl = fz_u8(&in), act = fz_u8(&in), arg = fz_u8(&in);
        size_t want = fz_u8(&in), n;
        if (ctl & 0x80) want *= 8;
        const uint8_t *d = fz_bytes(&in, want, &n);
        unsigned a = act % 13;
        if (a == 0)
            advance(&h, arg);
        else if (a == 1 && (ctl & 1))
            structured_segment(&h, ctl, arg, d, n);
        else if (a == 1)
            raw_packet(&h, ctl, d, n);
        else if (a == 2)
            icmp_error(&h, ctl, arg, d, n);
        else if (a == 12 && (ctl & 0x40))
            udp_record(&h, ctl, arg, d, n);
        else if (a == 12)
            raw_packet(&h, (uint8_t)(ctl | 4), d, n);
        else
            app_call(&h, a, arg, d, n);
        fz_drain(&h.p);
        fz_events(&h.p);
    }
    wind_down(&h);
    synack_stack_free(h.p.s);
    if (h.mem.live != 0) bail("synack_stack_free left memory behind");
    return 0;
}
