/*
 * TIME-WAIT records (RFC 9293 §3.10.7.4, RFC 1337, RFC 6191).
 *
 * A connection the application has released spends its 2*MSL as a record of about a hundred
 * bytes instead of a TCB with its buffers: the 4-tuple, both sequence numbers, timestamps,
 * the window last offered and SO_REUSEADDR. That is all TIME-WAIT needs: acknowledge a
 * retransmitted FIN and restart 2*MSL, refuse old duplicates (PAWS, the acceptability
 * test), ignore RSTs (RFC 1337), let a new SYN reopen the 4-tuple, and keep its local port
 * from a bind unless both have SO_REUSEADDR (tcp_bind_conflicts). A record holds no
 * connection slot, so a server that closes first is bounded by max_time_wait, not by
 * max_conns / (2*MSL).
 *
 * The records sit in a chained hash by 4-tuple and in a doubly linked list ordered by the
 * end of their 2*MSL, which is their timer: every record ends 2*MSL after its last (re)start
 * and a restart moves it to the tail, so the head is always the next to end.
 */
#include <stddef.h>
#include <string.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "tcp/conn.h"

/* synack_config.max_time_wait promises 128 bytes a record (time_wait_bytes reports it). */
_Static_assert(sizeof(struct tcp_tw) <= 128, "a TIME_WAIT record outgrew its 128 bytes");
/* A lookup rejects a chain entry on its ports, read from the line its link is in. */
_Static_assert(offsetof(struct tcp_tw, remote_port) + sizeof(uint16_t) <= 16,
               "a TIME_WAIT record's ports left its first 16 bytes");

static size_t tw_bucket(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                        const struct synack_addr *raddr, uint16_t rport)
{
    return (size_t)tcp_tuple_hash(e, laddr, lport, raddr, rport) & (e->tw_nbuckets - 1);
}

int tcp_tw_init(struct tcp_env *e)
{
    size_t n = 16;
    while (n < e->cfg->max_time_wait && n < ((size_t)1 << 30))
        n <<= 1;
    e->tw_buckets = alloc_mem(e->cfg, n * sizeof *e->tw_buckets);
    if (!e->tw_buckets) return SYNACK_ERR_NOMEM;
    memset(e->tw_buckets, 0, n * sizeof *e->tw_buckets);
    e->tw_nbuckets = n;
    return 0;
}

void tcp_tw_free_all(struct tcp_env *e)
{
    while (e->tw_list.head) {
        struct tcp_tw *tw = LIST_ENTRY(e->tw_list.head, struct tcp_tw, node);
        list_remove(&e->tw_list, &tw->node);
        alloc_free(e->cfg, tw);
    }
    e->ntw = 0;
    alloc_free(e->cfg, e->tw_buckets);
    e->tw_buckets = NULL;
}

struct tcp_tw *tcp_tw_find(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                           const struct synack_addr *raddr, uint16_t rport)
{
    if (e->ntw == 0) return NULL;
    struct tcp_tw *tw = e->tw_buckets[tw_bucket(e, laddr, lport, raddr, rport)];
    for (; tw; tw = tw->hash_next) {
        if (tw->local_port == lport && tw->remote_port == rport &&
            addr_eq(&tw->remote_addr, raddr) && addr_eq(&tw->local_addr, laddr))
            return tw;
    }
    return NULL;
}

/* ---- the expiry list ---- */

static void list_unlink(struct tcp_env *e, struct tcp_tw *tw)
{
    list_remove(&e->tw_list, &tw->node);
}

/* Inserts in expiry order. A record made at TIME-WAIT entry ends last of all and goes to the
 * tail at once; one whose connection the application released later (its 2*MSL already
 * running) walks back from the tail. */
static void list_insert(struct tcp_env *e, struct tcp_tw *tw)
{
    struct list_node *after = e->tw_list.tail;
    while (after && LIST_ENTRY(after, struct tcp_tw, node)->expires > tw->expires)
        after = after->prev;
    list_insert_after(&e->tw_list, after, &tw->node);
}

/* TIME-WAIT -> CLOSED: the events a TCB would queue, then the record goes. */
static void tw_end(struct tcp_env *e, struct tcp_tw *tw, synack_time_t now)
{
    struct synack_event ev = {.type = SYNACK_EV_STATE,
                              .conn_id = tw->id,
                              .user = tw->user,
                              .old_state = SYNACK_TIME_WAIT,
                              .new_state = SYNACK_CLOSED,
                              .time = now};
    evq_push(e->events, &ev);
    ev.type = SYNACK_EV_CLOSED;
    ev.old_state = SYNACK_CLOSED;
    evq_push(e->events, &ev);
    struct tcp_tw **pp = &e->tw_buckets[tw_bucket(e, &tw->local_addr, tw->local_port,
                                                  &tw->remote_addr, tw->remote_port)];
    while (*pp != tw)
        pp = &(*pp)->hash_next;
    *pp = tw->hash_next;
    list_unlink(e, tw);
    e->ntw--;
    tcp_port_release(e, tw->local_port);
    alloc_free(e->cfg, tw);
}

void tcp_tw_expire(struct tcp_env *e, synack_time_t now)
{
    struct tcp_tw *first;
    while ((first = LIST_ENTRY(e->tw_list.head, struct tcp_tw, node)) && first->expires <= now)
        tw_end(e, first, now);
}

/* ---- segments ---- */

/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> with the window last offered and, when negotiated,
 * timestamps (RFC 7323 §3.2): what the TCB would have sent. */
static void tw_send_ack(struct tcp_env *e, const struct tcp_tw *tw, synack_time_t now)
{
    uint32_t field = tw->rcv_wnd >> tw->rcv_wscale;
    struct tcp_ctl_seg seg; /* in two parts: see tcp_cookie_send_synack */
    seg.laddr = tw->local_addr;
    seg.raddr = tw->remote_addr;
    seg.tcp = (struct wire_tcp_repr){
        .src_port = tw->local_port,
        .dst_port = tw->remote_port,
        .seq = tw->snd_nxt,
        .ack = tw->rcv_nxt,
        .flags = WIRE_TCP_ACK,
        .window = (uint16_t)(field > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : field),
        .has_ts = tw->ts,
        .ts_val = tw->ts ? (uint32_t)(now / SYNACK_MS(1)) + tw->ts_offset : 0,
        .ts_ecr = tw->ts ? tw->ts_recent : 0};
    tcp_ctl_push(e, &seg);
}

/* The same per-connection limit as a TCB's (invalid_ack_interval). */
static void tw_answer_invalid(struct tcp_env *e, struct tcp_tw *tw, synack_time_t now)
{
    synack_time_t iv = e->cfg->invalid_ack_interval;
    if (iv && tw->oow_ack_at != SYNACK_NEVER && now - tw->oow_ack_at < iv) {
        e->counters->invalid_acks_suppressed++;
        return;
    }
    tw->oow_ack_at = now;
    tw_send_ack(e, tw, now);
}

bool tcp_tw_adopt(struct synack_tcp *c, synack_time_t now)
{
    struct tcp_env *e = c->env;
    struct tcp_tw *tw = e->ntw < e->cfg->max_time_wait ? alloc_mem(e->cfg, sizeof *tw) : NULL;
    if (!tw) {
        if (!(c->flags & TCP_F_TW_FULL)) e->counters->time_wait_overflows++; /* once each */
        c->flags |= TCP_F_TW_FULL;
        return false;
    }
    memset(tw, 0, sizeof *tw);
    tw->id = c->id;
    tw->user = c->user;
    tw->expires = c->timewait_at;
    tw->ts_recent_time = c->ts_recent_time;
    tw->oow_ack_at = c->rare ? c->rare->oow_ack_at : SYNACK_NEVER;
    tw->local_addr = c->local_addr;
    tw->remote_addr = c->remote_addr;
    tw->local_port = c->local_port;
    tw->remote_port = c->remote_port;
    tw->snd_nxt = c->snd_nxt;
    tw->rcv_nxt = c->rcv_nxt;
    tw->ts = (c->flags & TCP_F_TS) != 0;
    tw->reuseaddr = (c->flags & TCP_F_REUSEADDR) != 0; /* Linux's tw_reuse */
    tw->ts_recent = c->ts_recent;
    tw->ts_offset = c->ts_offset;
    tw->rcv_wscale = c->rcv_wscale;
    tw->rcv_wnd = tcp_rcv_window(c);
    /* The ACK of the peer's FIN that brought us here has not gone out yet. */
    if (c->flags & TCP_F_ACK_NOW) tw_send_ack(e, tw, now);
    size_t b = tw_bucket(e, &tw->local_addr, tw->local_port, &tw->remote_addr, tw->remote_port);
    tw->hash_next = e->tw_buckets[b];
    e->tw_buckets[b] = tw;
    list_insert(e, tw);
    e->ntw++;
    tcp_port_hold(e, tw->local_port);
    e->counters->time_wait_records++;
    tcp_conn_destroy(c);
    return true;
}

bool tcp_tw_syn_may_reopen(const struct wire_tcp_repr *seg, uint32_t rcv_nxt, bool ts_on,
                           uint32_t ts_recent)
{
    if ((seg->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK | WIRE_TCP_RST)) != WIRE_TCP_SYN) return false;
    /* RFC 6191 §2: with timestamps on both incarnations, a newer TSval decides; else
     * RFC 1122 §4.2.2.13: a sequence number above the old incarnation's. */
    if (ts_on && seg->has_ts) return (int32_t)(seg->ts_val - ts_recent) > 0;
    return seq_gt(seg->seq, rcv_nxt);
}

void tcp_tw_input(struct tcp_env *e, struct tcp_tw *tw, const struct wire_ip_repr *ip,
                  const struct wire_tcp_repr *seg, synack_time_t now)
{
    e->counters->segs_in++;
    struct synack_listener *l = tcp_listener_find(e, &ip->dst, seg->dst_port);
    if (l && tcp_tw_syn_may_reopen(seg, tw->rcv_nxt, tw->ts, tw->ts_recent) &&
        tcp_listen_has_room(l, false)) {
        /* The new incarnation's ISS starts above the old one's sequence space. The record
         * goes once the new connection exists; if it could not be made, TIME-WAIT goes on. */
        uint32_t floor = tw->snd_nxt;
        tcp_listen_input(l, ip, seg, now, &floor);
        if (tcp_demux_find(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port)) tw_end(e, tw, now);
        return;
    }
    bool ok = tcp_seq_acceptable(seg->seq, tcp_seg_len(seg), tw->rcv_nxt, tw->rcv_wnd);
    if (seg->flags & WIRE_TCP_RST) {
        /* RFC 1337 §3: no TIME-WAIT assassination; outside the window, as ever, dropped. */
        tcp_env_count_drop(e, ok ? SYNACK_DROP_TIME_WAIT_RST : SYNACK_DROP_UNACCEPTABLE);
        return;
    }
    /* RFC 7323 §5.3 R1 (PAWS), and §3.2: a segment without timestamps is dropped. */
    if (tw->ts && (!seg->has_ts || ((int32_t)(seg->ts_val - tw->ts_recent) < 0 &&
                                    now - tw->ts_recent_time < TCP_PAWS_IDLE))) {
        tcp_env_count_drop(e, SYNACK_DROP_PAWS);
        if (seg->has_ts) tw_answer_invalid(e, tw, now);
        return;
    }
    if (!ok) {
        tcp_env_count_drop(e, SYNACK_DROP_UNACCEPTABLE);
        if (tcp_is_old_fin(seg, tw->rcv_nxt)) {
            /* The peer's FIN again: our ACK was lost. Restart 2*MSL: it now ends last. */
            tw->expires = now + 2 * e->cfg->msl;
            list_unlink(e, tw);
            list_insert(e, tw);
        }
        tw_answer_invalid(e, tw, now);
        return;
    }
    /* RFC 7323 §4.3 (R3): TS.Recent from a segment covering Last.ACK.sent (RCV.NXT). */
    if (tw->ts && seq_leq(seg->seq, tw->rcv_nxt) && (int32_t)(seg->ts_val - tw->ts_recent) >= 0) {
        tw->ts_recent = seg->ts_val;
        tw->ts_recent_time = now;
    }
    if (seg->flags & WIRE_TCP_SYN) {
        /* RFC 5961 §4: a SYN that cannot reopen gets a challenge ACK. */
        tcp_env_count_drop(e, SYNACK_DROP_SYN_IN_WINDOW);
        tw_answer_invalid(e, tw, now);
    }
    /* An acceptable ACK acknowledges nothing new, and text after the peer's FIN is ignored
     * (RFC 9293 §3.10.7.4, sixth and seventh steps in TIME-WAIT). */
}

/* ---- outgoing connections that take over a 4-tuple in TIME-WAIT ---- */

/* RFC 6191 §2 lets a SYN reopen a 4-tuple from TIME-WAIT when timestamps tell the new
 * incarnation's segments from the old one's: PAWS (RFC 7323 §5) then refuses the old
 * incarnation's duplicates still in the network. The same reasoning lets an outgoing
 * connection take over a 4-tuple whose TIME-WAIT is on our side (Linux's tcp_tw_reuse),
 * once the TSvals of both ends have moved past those of the old incarnation. "Last heard"
 * below is the latest of the TIME-WAIT's entry (or restart by the peer's FIN again), its
 * last TS.Recent update and its last answer to a segment (tw_last_heard).
 * - Ours: they share its offset (tcp_ts_offset is a function of the 4-tuple) and tick
 *   every millisecond, so one tick after its last segment out suffices; the peer's PAWS
 *   then drops our old duplicates. That is the wait (time_wait_reuse, at least one tick),
 *   counted from the last heard. Its default, 64 ms, is for the peer: one that answers
 *   with a SYN cookie (Linux, synack) keeps options in the low 6 bits of the SYN-ACK's
 *   TSval and so rounds it down by up to 63 ticks; after 64 ms of a 1 ms clock even that
 *   TSval passes the check below, where after 1 ms it would wait a second.
 * - The peer's: its SYN must start our TS.Recent above the old TS.Recent, which is checked
 *   when that SYN arrives (tcp_reuse_ts_ok) rather than assumed. Linux assumes it: it waits
 *   a second by default because a peer's clock may tick as slowly as once a second (RFC
 *   7323 §5.4; Linux 6.13 made the wait net.ipv4.tcp_tw_reuse_delay, for administrators
 *   who assume faster peers). A SYN that fails the check is dropped as PAWS drops a
 *   segment; the peer's next one (its SYN-ACK again, or its answer to our SYN again) comes
 *   later. The check covers what the peer sent up to the segment that set the old
 *   TS.Recent (its FIN, as a rule); a retransmission it sent later that we never heard is
 *   covered as far as its clock ticked before its SYN-ACK, as under Linux's rule.
 * - A second after the last heard the check stands down: a peer whose clock rises per
 *   4-tuple has ticked past the old incarnation by then (RFC 7323 §5.4), and one whose
 *   TSvals do not (a random offset per connection) never had PAWS between incarnations,
 *   under Linux's rule either. Such a peer connects at once when its TSval happens to pass
 *   the check, else a second late; one that stops sending timestamps, a second late.
 * - What the shorter wait no longer gives: under Linux's second the peer's clock-driven ISN
 *   (RFC 6528) moves on by millions; after 64 ms by about a million at Linux's rate, so its
 *   new ISS may lie inside the old sequence space if the old connection carried more, and
 *   PAWS alone tells them apart (and RFC 5961 §3 for RSTs, which PAWS does not check).
 * - Our last ACK may have been lost, leaving the peer in LAST-ACK when our SYN comes: it
 *   answers with an ACK of the old incarnation, which input_syn_sent resets and follows
 *   with the SYN again at once, rather than after the SYN's RTO.
 * Never without timestamps. `expires` is the end of 2*MSL, which last (re)started at
 * TIME-WAIT entry or at the peer's retransmitted FIN and our ACK of it. */
static synack_time_t tw_last_heard(const struct tcp_env *e, synack_time_t expires,
                                   synack_time_t ts_recent_time, synack_time_t oow_ack_at)
{
    synack_time_t last = expires - 2 * e->cfg->msl;
    if (ts_recent_time > last) last = ts_recent_time;
    if (oow_ack_at != SYNACK_NEVER && oow_ack_at > last) last = oow_ack_at;
    return last;
}

static bool tw_reusable(const struct tcp_env *e, bool ts, synack_time_t heard, synack_time_t now)
{
    synack_time_t wait = e->cfg->time_wait_reuse;
    return ts && wait != 0 && now >= heard && now - heard >= wait;
}

static synack_time_t record_last_heard(const struct tcp_env *e, const struct tcp_tw *tw)
{
    return tw_last_heard(e, tw->expires, tw->ts_recent_time, tw->oow_ack_at);
}

static synack_time_t conn_last_heard(const struct synack_tcp *c)
{
    return tw_last_heard(c->env, c->timewait_at, c->ts_recent_time,
                         c->rare ? c->rare->oow_ack_at : SYNACK_NEVER);
}

int tcp_tuple_claim(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                    const struct synack_addr *raddr, uint16_t rport, synack_time_t now,
                    struct tcp_tuple_holder *h)
{
    *h = (struct tcp_tuple_holder){0};
    struct synack_tcp *c = tcp_demux_find(e, laddr, lport, raddr, rport);
    if (c) {
        /* Only a connection the application has let go of (a record that max_time_wait
         * left whole); one it still holds is its to read. */
        if (c->state != SYNACK_TIME_WAIT || !(c->flags & TCP_F_RELEASED) ||
            !tw_reusable(e, (c->flags & TCP_F_TS) != 0, conn_last_heard(c), now))
            return SYNACK_ERR_ADDRINUSE;
        h->c = c;
        return 0;
    }
    struct tcp_tw *tw = tcp_tw_find(e, laddr, lport, raddr, rport);
    if (tw) {
        if (!tw_reusable(e, tw->ts, record_last_heard(e, tw), now)) return SYNACK_ERR_ADDRINUSE;
        h->tw = tw;
    }
    return 0;
}

bool tcp_tuple_take(struct tcp_env *e, struct tcp_tuple_holder *h, synack_time_t now,
                    struct tcp_reuse *r)
{
    if (h->tw) {
        struct tcp_tw *tw = h->tw;
        *r = (struct tcp_reuse){tw->snd_nxt, tw->ts_recent, record_last_heard(e, tw)};
        tw_end(e, tw, now);
    } else if (h->c) {
        *r = (struct tcp_reuse){h->c->snd_nxt, h->c->ts_recent, conn_last_heard(h->c)};
        tcp_conn_finish(h->c, 0, now);
    } else {
        return false;
    }
    *h = (struct tcp_tuple_holder){0};
    e->counters->time_wait_reused++;
    return true;
}

bool tcp_reuse_ts_ok(const struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now)
{
    /* A SYN without timestamps cannot show the peer's clock has moved on; it waits for the
     * second a clock takes at most to tick, as one whose TSval has not moved does. */
    if (seg->has_ts && (int32_t)(seg->ts_val - c->ts_recent) > 0) return true;
    return now - c->ts_recent_time >= TCP_TS_SLOWEST_TICK;
}
