/*
 * SYN cookies (RFC 4987 §3.6): a listener under a SYN flood answers each SYN without keeping
 * any state, and the ACK that completes a real handshake brings back everything needed to
 * build the connection.
 *
 * The cookie is the ISS of our SYN-ACK:
 *
 *    31  30 29   27 26                                                0
 *   +------+-------+----------------------------------------------------+
 *   | slot |  mss  |  MAC (27 bits)                                     |
 *   +------+-------+----------------------------------------------------+
 *
 *   slot  the low 2 bits of t = now / 32 s; a cookie is accepted in its own slot and the
 *         next, so it lives 32 to 64 s (a handshake needs one round trip);
 *   mss   an index into cookie_mss[]: the largest value not above the peer's MSS;
 *   MAC   SipHash-2-4 of (4-tuple, the peer's ISN, mss index, options) under the key of
 *         slot t, itself SipHash-2-4 of t under the stack's secret: the key changes every
 *         32 s, and without the secret a valid cookie is a 1 in 2^27 guess.
 *
 * With timestamps (RFC 7323) the options the SYN asked for ride in the low 6 bits of our
 * TSval, which the peer echoes in every TSecr: bits 0-3 the peer's window scale (15: none),
 * bit 4 SACK-permitted, bit 5 ECN (always 0: synack does not negotiate ECN). The TSval is
 * the largest value not above the real clock whose low bits are these, so TSvals never go
 * backwards. The MAC covers the options too. Without timestamps a cookie connection has no
 * window scaling and no SACK (RFC 4987 §3.6's known cost); the MSS is kept to 8 values.
 *
 * A connection rebuilt from a cookie is the one the SYN queue would have held when the ACK
 * came: same ISS, options, window, MSS; it then takes the ACK (and any data or FIN on it)
 * through the ordinary SYN_RECEIVED path. It differs in one way: the SYN-ACK's send time is
 * not kept, so the handshake's RTT sample comes from the timestamp echo, up to 63 ms long
 * (the option bits) and in whole milliseconds; without timestamps there is none.
 */
#include <string.h>

#include "base/addr.h"
#include "base/siphash.h"
#include "tcp/conn.h"

#define COOKIE_SLOT SYNACK_S(32)
#define COOKIE_MAC_MASK 0x07ffffffu
#define COOKIE_TS_BITS 6
#define COOKIE_TS_MASK ((1u << COOKIE_TS_BITS) - 1)
#define COOKIE_NO_WSCALE 15u
#define COOKIE_SACK (1u << 4)
#define COOKIE_HAS_TS (1u << 7) /* in the MAC's option byte only */

/* The MSS values a cookie can carry: the common ones (RFC 879's 536, IPv6's 1220, PPPoE
 * 1452, Ethernet 1460, jumbo 8960) and a few between; 48 is min_snd_mss's default. Index 0
 * also serves peers below it. */
static const uint16_t cookie_mss[8] = {48, 256, 536, 1220, 1360, 1440, 1460, 8960};

static uint64_t cookie_slot(synack_time_t now)
{
    return now / COOKIE_SLOT;
}

static uint32_t cookie_mac(const struct tcp_env *e, uint64_t slot, const struct synack_addr *laddr,
                           uint16_t lport, const struct synack_addr *raddr, uint16_t rport,
                           uint32_t irs, unsigned mss_idx, unsigned opts)
{
    /* The key of this slot: it rotates every COOKIE_SLOT. */
    uint8_t msg[24] = "synack-c";
    memcpy(msg + 8, &slot, 8);
    uint64_t k = siphash24(e->cfg->isn_secret, msg, 16);
    uint8_t key[16];
    memcpy(key, &k, 8);
    memcpy(key + 8, e->cfg->isn_secret + 8, 8);
    /* The 4-tuple (IPv4 addresses as host-order words, as they always were; IPv6 all 32
     * bytes), the peer's ISN, the MSS index and the options. */
    uint8_t m[2 * 16 + 2 + 2 + 4 + 2] = {0};
    size_t n = 0;
    if (laddr->family == SYNACK_AF_INET6) {
        memcpy(m, laddr->bytes, 16);
        memcpy(m + 16, raddr->bytes, 16);
        n = 32;
    } else {
        uint32_t l = addr_v4_value(laddr), r = addr_v4_value(raddr);
        memcpy(m, &l, 4);
        memcpy(m + 4, &r, 4);
        n = 8;
    }
    memcpy(m + n, &lport, 2);
    memcpy(m + n + 2, &rport, 2);
    memcpy(m + n + 4, &irs, 4);
    m[n + 8] = (uint8_t)mss_idx;
    m[n + 9] = (uint8_t)opts;
    return (uint32_t)siphash24(key, m, n + 10) & COOKIE_MAC_MASK;
}

static unsigned cookie_mss_index(uint16_t mss)
{
    unsigned i = 0;
    while (i + 1 < sizeof cookie_mss / sizeof cookie_mss[0] && cookie_mss[i + 1] <= mss)
        i++;
    return i;
}

/* The options byte: what the SYN asked for and we will grant (COOKIE_HAS_TS when the
 * SYN-ACK carries timestamps, the only way the other bits can come back). */
static unsigned cookie_options(const struct synack_config *cfg, const struct wire_tcp_repr *syn)
{
    if (!(cfg->timestamps && syn->has_ts)) return 0;
    unsigned o = COOKIE_HAS_TS;
    o |= (cfg->window_scale && syn->has_wscale)
             ? (syn->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : syn->wscale)
             : COOKIE_NO_WSCALE;
    if (cfg->sack && syn->sack_permitted) o |= COOKIE_SACK;
    return o;
}

void tcp_cookie_send_synack(struct synack_listener *l, const struct wire_ip_repr *ip,
                            const struct wire_tcp_repr *seg, synack_time_t now)
{
    struct tcp_env *e = l->env;
    const struct synack_config *cfg = e->cfg;
    uint16_t peer_mss = seg->has_mss && seg->mss ? seg->mss : tcp_default_mss(ip->src.family);
    unsigned mss_idx = cookie_mss_index(peer_mss);
    unsigned opts = cookie_options(cfg, seg);
    uint64_t slot = cookie_slot(now);
    uint32_t mac = cookie_mac(e, slot, &ip->dst, seg->dst_port, &ip->src, seg->src_port, seg->seq,
                              mss_idx, opts);
    uint32_t iss = ((uint32_t)(slot & 3) << 30) | ((uint32_t)mss_idx << 27) | mac;
    bool wscale = (opts & COOKIE_HAS_TS) && (opts & 0xf) != COOKIE_NO_WSCALE;
    uint8_t rcv_wscale = wscale ? tcp_rcv_wscale(cfg) : 0;
    /* The window a fresh TCB would offer in its SYN-ACK (output.c): the buffer, in units of
     * the scale, never more than the unscaled field holds (RFC 7323 §2.2). */
    size_t space = (size_t)TCP_MAX_WINDOW << rcv_wscale;
    if (cfg->rcvbuf < space) space = cfg->rcvbuf;
    space &= ~(((size_t)1 << rcv_wscale) - 1);
    /* The addresses, then the segment: one initializer for the whole queue entry (about 120
     * bytes) had gcc clear it with `rep stos`, whose start-up cost was a tenth of a cookie's
     * (bench/synflood). */
    struct tcp_ctl_seg out;
    out.laddr = ip->dst;
    out.raddr = ip->src;
    out.tcp = (struct wire_tcp_repr){
        .src_port = seg->dst_port,
        .dst_port = seg->src_port,
        .seq = iss,
        .ack = seg->seq + 1,
        .flags = WIRE_TCP_SYN | WIRE_TCP_ACK,
        .window = (uint16_t)(space > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : space),
        .has_mss = true,
        .mss = (uint16_t)(cfg->mtu - tcp_ip_overhead(ip->src.family)),
        .has_wscale = wscale,
        .wscale = rcv_wscale,
        .sack_permitted = (opts & COOKIE_SACK) != 0};
    if (opts & COOKIE_HAS_TS) {
        uint32_t real = (uint32_t)(now / SYNACK_MS(1)) +
                        tcp_ts_offset(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port);
        uint32_t low = opts & COOKIE_TS_MASK;
        out.tcp.has_ts = true;
        out.tcp.ts_val = real - ((real - low) & COOKIE_TS_MASK);
        out.tcp.ts_ecr = seg->ts_val;
    }
    if (!tcp_ctl_push(e, &out)) return;
    e->counters->syncookies_sent++;
    e->cookie_sent_at = now;
}

/* Whether `iss` is a cookie we made for this ACK's SYN within its lifetime; *mss_idx and
 * the options byte come back with it. */
static bool cookie_valid(const struct tcp_env *e, const struct wire_ip_repr *ip,
                         const struct wire_tcp_repr *seg, synack_time_t now, unsigned *mss_idx,
                         unsigned *opts)
{
    uint32_t iss = seg->ack - 1, irs = seg->seq - 1;
    *mss_idx = (iss >> 27) & 7;
    *opts = seg->has_ts ? COOKIE_HAS_TS | (seg->ts_ecr & COOKIE_TS_MASK) : 0;
    uint64_t cur = cookie_slot(now);
    for (uint64_t age = 0; age < 2 && age <= cur; age++) {
        uint64_t slot = cur - age;
        if ((slot & 3) != iss >> 30) continue;
        uint32_t mac = cookie_mac(e, slot, &ip->dst, seg->dst_port, &ip->src, seg->src_port, irs,
                                  *mss_idx, *opts);
        if (mac == (iss & COOKIE_MAC_MASK)) return true;
    }
    return false;
}

struct synack_tcp *tcp_cookie_open(struct synack_listener *l, const struct wire_ip_repr *ip,
                                   const struct wire_tcp_repr *seg, synack_time_t now,
                                   bool *dropped)
{
    struct tcp_env *e = l->env;
    *dropped = false;
    enum synack_syncookies mode = e->cfg->syncookies;
    if ((seg->flags & (WIRE_TCP_SYN | WIRE_TCP_RST | WIRE_TCP_ACK)) != WIRE_TCP_ACK ||
        mode == SYNACK_SYNCOOKIES_NEVER)
        return NULL;
    if (mode == SYNACK_SYNCOOKIES_OVERFLOW &&
        (e->cookie_sent_at == SYNACK_NEVER || now - e->cookie_sent_at >= 2 * COOKIE_SLOT))
        return NULL;
    unsigned mss_idx, opts;
    if (!cookie_valid(e, ip, seg, now, &mss_idx, &opts)) {
        e->counters->syncookies_rejected++;
        return NULL;
    }
    /* Valid: the handshake is real. It still needs room (RFC 4987 does not let a cookie
     * jump the accept queue); without it the ACK is dropped and the peer's next segment
     * tries again while the cookie lives. */
    *dropped = true;
    if (l->accept_count >= l->backlog) {
        tcp_env_count_drop(e, SYNACK_DROP_ACCEPT_QUEUE_FULL);
        return NULL;
    }
    if (e->nconns >= e->cfg->max_conns) {
        tcp_env_count_drop(e, SYNACK_DROP_CONN_LIMIT);
        return NULL;
    }
    /* The SYN as far as the cookie remembers it. */
    struct wire_tcp_repr syn = {.src_port = seg->src_port,
                                .dst_port = seg->dst_port,
                                .seq = seg->seq - 1,
                                .flags = WIRE_TCP_SYN,
                                .window = seg->window,
                                .has_mss = true,
                                .mss = cookie_mss[mss_idx]};
    if (opts & COOKIE_HAS_TS) {
        syn.has_ts = true;
        syn.ts_val = seg->ts_val;
        syn.has_wscale = (opts & 0xf) != COOKIE_NO_WSCALE;
        syn.wscale = (uint8_t)(syn.has_wscale ? opts & 0xf : 0);
        syn.sack_permitted = (opts & COOKIE_SACK) != 0;
    }
    struct synack_tcp *c = tcp_listen_child(l, ip, &syn, seg->ack - 1, now);
    if (!c) {
        tcp_env_count_drop(e, SYNACK_DROP_NO_MEMORY);
        return NULL;
    }
    *dropped = false;
    e->counters->syncookies_validated++;
    /* Our SYN-ACK went out when the cookie was made: SND.NXT = ISS + 1, and the window it
     * offered is what the peer knows (RFC 9293 §3.8.6.2.2 never shrinks it). */
    c->snd_nxt = c->iss + 1;
    c->snd_rtx = c->snd_nxt;
    uint32_t wnd = tcp_rcv_window(c);
    c->rcv_adv = c->rcv_nxt + (wnd > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : wnd);
    c->last_ack_sent = c->rcv_nxt;
    return c;
}
