/*
 * ICMP errors for TCP connections (RFC 1122 §4.2.3.9, RFC 9293 §3.9.2.2, RFC 5461) with the
 * checks of RFC 5927 against blind attacks, and Path MTU Discovery (RFC 1191).
 *
 * Decisions (docs/CONFORMANCE.md repeats them):
 *   - Soft errors (destination unreachable codes other than 2, 3 and 4; time exceeded;
 *     parameter problem) never abort: they are remembered until data is acknowledged, and a
 *     connection that then times out reports UNREACH instead of TIMEDOUT (RFC 1122
 *     §4.2.3.9 DISCUSSION, RFC 9293 MUST-56/SHLD-25).
 *   - Hard errors (protocol unreachable 2, port unreachable 3) abort a connection that is
 *     opening (SYN_SENT, or SYN_RECEIVED of a simultaneous open) with CONNREFUSED (RFC 9293
 *     SHLD-26); a half-open connection of a listener goes back to LISTEN silently, as for a
 *     RST (RFC 9293 §3.10.7.4): there is no application to tell, and the SYN queue gets its
 *     place back. In synchronized states they count as soft (RFC 5927 §5.2, RFC 5461 §4),
 *     so a spoofed message cannot reset a connection.
 *   - Codes RFC 1122 does not classify (6-15, RFC 1122 §3.2.2.1 / RFC 1812) are soft: the
 *     safe direction.
 */
#include "tcp/conn.h"

/* RFC 1191 §7, Table 7-1: the plateaus an old router's message falls back to (65535, the
 * first, is never below a returned total length). */
static const uint16_t pmtu_plateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

/* The greatest plateau below `len` (RFC 1191 §5), 68 at least. */
static uint16_t pmtu_plateau_below(uint32_t len)
{
    for (size_t i = 0; i < sizeof pmtu_plateaus / sizeof pmtu_plateaus[0]; i++)
        if (pmtu_plateaus[i] < len) return pmtu_plateaus[i];
    return 68;
}

/* The size of the datagram that carried record `g`: headers, timestamps and its data. */
static uint32_t seg_datagram_len(const struct synack_tcp *c, const struct tcp_seg *g)
{
    uint32_t data = g->len - ((g->flags & TCP_SEG_FIN) ? 1u : 0u);
    return tcp_ip_overhead(c->local_addr.family) + ((c->flags & TCP_F_TS) ? 12u : 0u) + data;
}

/* RFC 1191 §6.4: "Retransmission should be done only for those packets that are known to be
 * dropped, as indicated by a Datagram Too Big message": every segment we sent with DF that
 * is larger than `passes` (the next-hop MTU; from an old router, one less than the datagram
 * it returned) met the same hop. They are marked lost and go again at
 * once, split to the new MSS (output.c fit_record), as RFC 6675's pipe allows: being lost,
 * they no longer count in it, so what they held of cwnd is free for their pieces.
 * "Unlike a retransmission caused by a TCP retransmission timeout, a retransmission caused
 * by a Datagram Too Big message should not change the congestion window": no recovery
 * episode, cwnd and ssthresh stay. */
static void pmtu_resend_too_big(struct synack_tcp *c, uint32_t passes)
{
    bool marked = false;
    for (unsigned i = 0; i < tcp_seg_count(c); i++) {
        struct tcp_seg *g = tcp_seg_at(c, i);
        if ((g->flags & TCP_SEG_SACKED) || seg_datagram_len(c, g) <= passes) continue;
        tcp_seg_mark_lost(c, g);
        marked = true;
    }
    if (!marked) return;
    /* The receiver may see holes where these were (smaller segments after them got
     * through): its duplicate ACKs until the repair is acknowledged are not a congestion
     * signal either (recovery.c). */
    c->flags |= TCP_F_PMTU_REPAIR;
    c->fl->pmtu_recover = c->snd_nxt; /* it marked records: there is a flight */
    tcp_schedule_output(c);
}

/* RFC 1191 §3-§6 (IPv4), RFC 8201 §4 (IPv6): a Datagram Too Big message for a segment in
 * flight. */
static enum synack_drop pmtu_frag_needed(struct synack_tcp *c, const struct ip_icmp_error *q)
{
    const struct synack_config *cfg = c->env->cfg;
    bool v6 = c->local_addr.family == SYNACK_AF_INET6;
    uint32_t mtu = q->mtu, passes = mtu;
    if (mtu == 0 && !v6) {
        /* RFC 1191 §5: an old router leaves the field zero. The returned Total Length is
         * too big for the path; 4.2BSD-derived routers add the header length to it, so a
         * length not below our estimate is first reduced by that. Then the next plateau:
         * a guess, so only datagrams as big as the returned one are known to be lost. */
        uint32_t len = q->quote.total_len;
        /* A returned datagram no bigger than 68 octets plus its headers fits every hop
         * (RFC 791 §3.1): the message cannot be about it (and a 0 would wrap below). */
        if (len <= 68 || len < q->quote.header_len + 20u) return SYNACK_DROP_ICMP_IGNORED;
        if (len >= c->pmtu) len -= q->quote.header_len;
        mtu = pmtu_plateau_below(len);
        passes = len - 1;
    } else if (q->quote.total_len <= mtu) {
        /* RFC 1191 §4: the reported datagram was too big for the next hop; one that would
         * have fit says the message is not about it (stale, confused or forged). */
        return SYNACK_DROP_ICMP_IGNORED;
    }
    /* RFC 1191 §3: never below 68; we stop at pmtu_min (576, RFC 1122 §3.3.3) and let
     * routers fragment below that ("cease setting the Don't Fragment bit"), as a forged
     * message could otherwise shrink segments to a few bytes (RFC 5927 §7). RFC 8201 §4:
     * IPv6 never goes below 1280 (every link carries it; no DF to clear, RFC 8021). */
    uint32_t floor = cfg->pmtu_min < cfg->mtu ? cfg->pmtu_min : cfg->mtu;
    if (v6) floor = WIRE_IPV6_MIN_MTU;
    bool below_floor = mtu < floor;
    if (below_floor) mtu = floor;
    bool df_stops = !v6 && below_floor && !(c->flags & TCP_F_PMTU_NO_DF);
    /* RFC 1191 §3: "A host MUST not increase its estimate of the Path MTU in response to
     * the contents of a Datagram Too Big message"; §6.4: act only on messages that lower
     * the estimate used to send, or every message of a burst would resend the data. */
    if (mtu >= c->pmtu && !df_stops) return SYNACK_DROP_ICMP_IGNORED;
    if (mtu < c->pmtu) {
        c->pmtu = (uint16_t)mtu;
        TCP_COUNT(c, pmtu_decreases);
    }
    if (below_floor && !v6) c->flags |= TCP_F_PMTU_NO_DF;
    /* RFC 1191 §3.1: the MSS follows the path MTU (less 40), never up. The floor of 68
     * leaves 28 bytes: timestamps (12) and one SACK block still fit with data. */
    uint16_t path_mss = (uint16_t)(c->pmtu - tcp_ip_overhead(c->local_addr.family));
    if (path_mss < c->snd_mss) {
        tcp_set_snd_mss(c, path_mss);
        tcp_cc_set_mss(&c->cc, c->eff_mss);
    }
    pmtu_resend_too_big(c, passes);
    return SYNACK_DROP_NONE;
}

/* A hard error (RFC 1122 §4.2.3.9) for a connection that is not synchronized. */
static void icmp_hard_error(struct synack_tcp *c, int err, synack_time_t now)
{
    if (c->state == SYNACK_SYN_RECEIVED && (c->flags & TCP_F_PASSIVE)) {
        /* As a RST would (RFC 9293 §3.10.7.4): back to LISTEN, this half-open TCB goes. */
        tcp_set_state(c, SYNACK_LISTEN, now);
        tcp_conn_destroy(c);
        return;
    }
    tcp_conn_finish(c, err, now);
}

/* The connection that sent the returned segment, or NULL. */
static struct synack_tcp *icmp_find_conn(struct tcp_env *e, const struct ip_icmp_error *q)
{
    /* A TCP segment with its header (a first fragment); the demux key holds our address
     * as the source, so a datagram someone else sent finds nothing. */
    if (q->quote.proto != WIRE_IP_PROTO_TCP || q->quote.frag_offset != 0) return NULL;
    struct synack_tcp *c =
        tcp_demux_find(e, &q->quote.src, q->quote.src_port, &q->quote.dst, q->quote.dst_port);
    /* TIME_WAIT has nothing in flight that an error could be about. */
    if (!c || c->state == SYNACK_TIME_WAIT || c->state == SYNACK_CLOSED ||
        c->state == SYNACK_LISTEN)
        return NULL;
    return c;
}

void tcp_icmp_input(struct tcp_env *e, const struct ip_icmp_error *q, synack_time_t now)
{
    tcp_env_seen(e, now);
    struct synack_tcp *c = icmp_find_conn(e, q);
    if (!c) {
        tcp_env_count_drop(e, SYNACK_DROP_ICMP_NO_CONN);
        return;
    }
    /* RFC 5927 §4.1: the returned sequence number must be one we sent and that is not yet
     * acknowledged, SND.UNA =< SEG.SEQ < SND.NXT; a blind attacker must guess it. */
    if (!seq_geq(q->quote.seq, c->snd_una) || !seq_lt(q->quote.seq, c->snd_nxt)) {
        tcp_count_drop(c, SYNACK_DROP_ICMP_BLIND);
        return;
    }
    int err = q->err;
    enum ip_icmp_kind kind = q->kind;
    if (kind == IP_ICMP_TOO_BIG) {
        enum synack_drop why = pmtu_frag_needed(c, q);
        if (why != SYNACK_DROP_NONE) {
            tcp_count_drop(c, why);
            return;
        }
        TCP_COUNT(c, icmp_errors_delivered);
        return;
    }
    TCP_COUNT(c, icmp_errors_delivered);
    if (kind == IP_ICMP_HARD && !tcp_is_synchronized(c->state)) {
        icmp_hard_error(c, err, now);
        return;
    }
    /* RFC 1122 §4.2.3.9: "TCP MUST NOT abort the connection, and it SHOULD make the
     * information available to the application": kept for a timeout to report. Hard errors
     * in synchronized states land here too (RFC 5927 §5.2). */
    c->soft_err = (int8_t)err;
}
