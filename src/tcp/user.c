/* The user calls of RFC 9293 §3.10.1-§3.10.6: OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS. */
#include <string.h>

#include "tcp/conn.h"

int tcp_connect(struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                const struct synack_endpoint *remote, void *user, struct synack_tcp **out,
                synack_time_t now)
{
    tcp_env_seen(e, now);
    const struct synack_addr *raddr = &remote->addr;
    uint16_t rport = remote->port;
    struct tcp_tuple_holder h;
    if (lport == 0) {
        lport = tcp_ephemeral_port(e, laddr, raddr, rport, now, &h);
        if (lport == 0) return SYNACK_ERR_NOPORTS;
    } else if (!tcp_steers_here(e, laddr, lport, raddr, rport)) {
        return SYNACK_ERR_STEERED;
    } else if (tcp_tuple_claim(e, laddr, lport, raddr, rport, now, &h) != 0) {
        return SYNACK_ERR_ADDRINUSE;
    }
    /* A released connection in TIME-WAIT gives its slot to the one that takes its 4-tuple. */
    if (e->nconns - (h.c != NULL) >= e->cfg->max_conns) return SYNACK_ERR_CONNLIMIT;
    /* Taken before the new TCB exists (the demux holds one TCB per 4-tuple). Should the
     * allocation below fail, that TIME-WAIT has still ended, which its reuse rule made safe. */
    struct tcp_reuse reuse;
    bool reused = tcp_tuple_take(e, &h, now, &reuse);
    struct synack_tcp *c = tcp_conn_new(e, laddr, lport, raddr, rport);
    if (!c) return SYNACK_ERR_NOMEM;
    c->user = user;
    tcp_active_open(c, reused ? &reuse : NULL, now);
    *out = c;
    return 0;
}

void tcp_active_open(struct synack_tcp *c, const struct tcp_reuse *reuse, synack_time_t now)
{
    /* RFC 9293 §3.10.1 OPEN (and §3.10.2 SEND in LISTEN): select an ISS, send a SYN,
     * enter SYN-SENT. */
    c->iss = tcp_iss_above(
        tcp_isn(c->env, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port, now),
        reuse ? &reuse->snd_nxt : NULL);
    if (reuse) {
        /* Nothing is received in SYN-SENT, so TS.Recent and its time hold the floor until
         * the peer's SYN (tcp_negotiate) replaces them. */
        c->ts_recent = reuse->ts_recent;
        c->ts_recent_time = reuse->heard;
        c->flags |= TCP_F_TS_FLOOR;
    }
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_rtx = c->iss;
    c->sndq_seq = c->iss + 1;
    tcp_set_state(c, SYNACK_SYN_SENT, now);
    tcp_schedule_output(c);
}

/* The error a failed or closing connection reports to SEND and RECEIVE. */
static int conn_error(const struct synack_tcp *c)
{
    return c->err ? c->err : SYNACK_ERR_NOTCONN;
}

/* The error a send reports in this state, or 0 (RFC 9293 §3.10.2). */
static int send_state_error(const struct synack_tcp *c)
{
    if (c->flags & (TCP_F_FIN_QUEUED | TCP_F_RELEASED))
        return c->err ? c->err : SYNACK_ERR_SHUTDOWN;
    switch (c->state) {
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
        break;
    case SYNACK_SYN_SENT:
    case SYNACK_SYN_RECEIVED:
        /* RFC 9293 §3.10.2 allows queueing before ESTABLISHED; we ask the caller to wait
         * for SYNACK_EV_CONNECTED so that a refused connect loses nothing silently. */
        return SYNACK_ERR_NOTCONN;
    default:
        return conn_error(c);
    }
    return 0;
}

/* What a send of `len` bytes may take now: 0 and *take set, or the error it reports. */
static int send_admit(struct synack_tcp *c, size_t len, size_t *take)
{
    int err = send_state_error(c);
    if (err) return err;
    *take = len;
    if (len && tcp_mem_pressure(c)) {
        /* mem_budget: a connection with data queued waits for its ACKs (WRITABLE); one
         * with nothing queued may still send a segment, so that none can be starved. */
        TCP_COUNT(c, mem_budget_waits);
        *take = ring_len(&c->sndq) ? 0 : (len < c->eff_mss ? len : c->eff_mss);
    }
    /* A size set below what the buffer holds (synack_tcp_set_bufsize): no room until the
     * buffer drains below it. */
    size_t room = tcp_snd_room(c);
    if (*take > room) *take = room;
    return 0;
}

/* `n` of a send of `len` bytes were queued. SYNACK_EV_WRITABLE when space frees: after a
 * send that found the buffer full, and after one that filled it (taken whole, it found no
 * refusal, but whoever waits for room, a poll for POLLOUT, waits from now). */
static synack_ssize send_queued(struct synack_tcp *c, size_t n, size_t len, synack_time_t now)
{
    if (n < len || tcp_snd_room(c) == 0) c->flags |= TCP_F_WANT_WRITABLE | TCP_F_SND_LIMITED;
    if (n == 0) return SYNACK_ERR_AGAIN;
    tcp_mem_sync(c, now);
    tcp_schedule_output(c);
    return (synack_ssize)n;
}

synack_ssize synack_tcp_send(struct synack_tcp *c, const uint8_t *data, size_t len,
                             synack_time_t now)
{
    if (!c || (!data && len)) return SYNACK_ERR_INVAL;
    size_t take;
    int err = send_admit(c, len, &take);
    if (err) return err;
    if (len == 0) return 0;
    if (take && !tcp_ring_storage(c, &c->sndq)) return SYNACK_ERR_NOMEM;
    return send_queued(c, ring_write(&c->sndq, data, take), len, now);
}

synack_ssize synack_tcp_send_borrow(struct synack_tcp *c, struct synack_piece piece[2])
{
    if (!c || !piece) return SYNACK_ERR_INVAL;
    piece[0] = piece[1] = (struct synack_piece){NULL, 0};
    c->sndq_lent = 0;
    size_t take;
    int err = send_admit(c, SIZE_MAX, &take);
    if (err) return err;
    if (take && !tcp_ring_storage(c, &c->sndq)) return SYNACK_ERR_NOMEM;
    size_t n = ring_room_spans(&c->sndq, 0, take, &piece[0].data, &piece[0].len, &piece[1].data,
                               &piece[1].len);
    /* Full: as a send that took nothing, which returns before it reads the time. */
    if (n == 0) return send_queued(c, 0, 1, 0);
    c->sndq_lent = n;
    return (synack_ssize)n;
}

synack_ssize synack_tcp_send_commit(struct synack_tcp *c, size_t n, synack_time_t now)
{
    if (!c || n > c->sndq_lent) return SYNACK_ERR_INVAL;
    int err = send_state_error(c);
    if (err) return err;
    c->sndq_lent = 0;
    if (n == 0) return 0;
    ring_commit(&c->sndq, n);
    return send_queued(c, n, n, now);
}

/* What a receive finds when nothing is buffered: 0 at the end of the stream, the error,
 * or AGAIN (RFC 9293 §3.10.3). */
static synack_ssize recv_empty(const struct synack_tcp *c)
{
    if (c->flags & TCP_F_RCV_FIN) return 0; /* RFC 9293 §3.10.3: the peer closed, all read */
    if (c->err) return c->err;
    if (c->state == SYNACK_SYN_SENT || c->state == SYNACK_SYN_RECEIVED) return SYNACK_ERR_NOTCONN;
    if (c->state == SYNACK_CLOSED) return conn_error(c);
    return SYNACK_ERR_AGAIN;
}

/* The application took `n` bytes: the buffer may grow, and the window may open. */
static void recv_consumed(struct synack_tcp *c, size_t n, synack_time_t now)
{
    tcp_rcvbuf_tune(c, n, now);
    tcp_mem_sync(c, now);
    if (tcp_is_synchronized(c->state) && !(c->flags & TCP_F_RCV_FIN) && tcp_should_update_window(c))
        tcp_schedule_output(c);
}

synack_ssize synack_tcp_recv(struct synack_tcp *c, uint8_t *data, size_t len, synack_time_t now)
{
    if (!c || (!data && len)) return SYNACK_ERR_INVAL;
    if (ring_len(&c->rcvq) == 0) return recv_empty(c);
    size_t n = ring_read(&c->rcvq, data, len);
    recv_consumed(c, n, now);
    return (synack_ssize)n;
}

synack_ssize synack_tcp_recv_borrow(struct synack_tcp *c, struct synack_piece piece[2])
{
    if (!c || !piece) return SYNACK_ERR_INVAL;
    piece[0] = piece[1] = (struct synack_piece){NULL, 0};
    if (ring_len(&c->rcvq) == 0) return recv_empty(c);
    const uint8_t *a, *b;
    size_t n = ring_spans(&c->rcvq, 0, ring_len(&c->rcvq), &a, &piece[0].len, &b, &piece[1].len);
    /* Lent writable as the type is shared with sending; what the caller does to the bytes
     * before it commits them is its own affair. */
    piece[0].data = (uint8_t *)(uintptr_t)a;
    piece[1].data = (uint8_t *)(uintptr_t)b;
    return (synack_ssize)n;
}

int synack_tcp_recv_commit(struct synack_tcp *c, size_t n, synack_time_t now)
{
    if (!c || n > ring_len(&c->rcvq)) return SYNACK_ERR_INVAL;
    if (n == 0) return 0;
    ring_consume(&c->rcvq, n);
    recv_consumed(c, n, now);
    return 0;
}

/* Queues our FIN after the data already queued (RFC 9293 §3.10.4). */
static void conn_queue_fin(struct synack_tcp *c)
{
    c->flags |= TCP_F_FIN_QUEUED;
    c->fin_seq = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    tcp_schedule_output(c);
}

int synack_tcp_shutdown(struct synack_tcp *c, synack_time_t now)
{
    if (!c) return SYNACK_ERR_INVAL;
    if (c->flags & TCP_F_FIN_QUEUED) return 0;
    switch (c->state) {
    case SYNACK_SYN_RECEIVED: /* RFC 9293 §3.10.4: "form a FIN segment ... FIN-WAIT-1" */
    case SYNACK_ESTABLISHED:
        conn_queue_fin(c);
        tcp_set_state(c, SYNACK_FIN_WAIT_1, now);
        return 0;
    case SYNACK_CLOSE_WAIT:
        conn_queue_fin(c);
        tcp_set_state(c, SYNACK_LAST_ACK, now);
        return 0;
    case SYNACK_SYN_SENT:
        return SYNACK_ERR_NOTCONN;
    default:
        return c->err ? c->err : SYNACK_ERR_STATE;
    }
}

/* RFC 9293 §3.10.5 ABORT: a RST for the states that have told the peer about us. */
static void conn_abort(struct synack_tcp *c, int err, synack_time_t now)
{
    switch (c->state) {
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
    case SYNACK_CLOSE_WAIT:
        tcp_conn_reset(c, err, now);
        break;
    default:
        tcp_conn_finish(c, err, now);
        break;
    }
}

void tcp_orphan_remove(struct synack_tcp *c)
{
    struct tcp_env *e = c->env;
    if (!(c->flags & TCP_F_ORPHAN)) return;
    list_remove(&e->orphans, &c->orphan);
    c->flags &= ~(uint32_t)TCP_F_ORPHAN;
    e->norphans--;
}

/* A released connection that lives on (FIN or data to deliver, a FIN to wait for, TIME_WAIT
 * without a record) is an orphan. Past max_orphans the oldest one is reset: a peer that
 * never acknowledges cannot make released connections take every slot. */
static void orphan_add(struct synack_tcp *c, synack_time_t now)
{
    struct tcp_env *e = c->env;
    if ((c->flags & (TCP_F_ORPHAN | TCP_F_DEAD)) || c->state == SYNACK_CLOSED) return;
    c->flags |= TCP_F_ORPHAN;
    list_push_back(&e->orphans, &c->orphan);
    e->norphans++;
    while (e->norphans > e->cfg->max_orphans) {
        struct synack_tcp *old = LIST_ENTRY(e->orphans.head, struct synack_tcp, orphan);
        e->counters->orphans_reset++;
        if (old->state == SYNACK_TIME_WAIT)
            tcp_conn_finish(old, 0, now); /* both FINs acknowledged: nothing to reset */
        else
            tcp_conn_reset(old, SYNACK_ERR_ABORTED, now);
    }
}

static void conn_release(struct synack_tcp *c, synack_time_t now)
{
    c->flags |= TCP_F_RELEASED;
    if (c->listener) tcp_listen_unlink(c);
    /* RFC 9293 §3.10.4 and RFC 2525 §2.17: closing with unread data loses it; say so to
     * the peer with a RST rather than a FIN. */
    if (ring_len(&c->rcvq) > 0 && tcp_is_synchronized(c->state)) {
        if (c->state == SYNACK_TIME_WAIT) {
            /* Both FINs are acknowledged: nothing to tell the peer; let 2*MSL run, as a
             * record. */
            ring_consume(&c->rcvq, ring_len(&c->rcvq));
            tcp_tw_adopt(c, now);
            return;
        }
        /* Every other synchronized state, CLOSING and LAST-ACK included. */
        tcp_conn_reset(c, SYNACK_ERR_ABORTED, now);
        return;
    }
    switch (c->state) {
    case SYNACK_CLOSED:
        tcp_conn_destroy(c);
        return;
    case SYNACK_SYN_SENT: /* RFC 9293 §3.10.4: delete the TCB */
    case SYNACK_LISTEN:
        tcp_conn_finish(c, 0, now);
        return;
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
        synack_tcp_shutdown(c, now);
        return;
    case SYNACK_TIME_WAIT:
        /* The rest of 2*MSL is spent as a record (tcp/timewait.c). */
        tcp_tw_adopt(c, now);
        return;
    case SYNACK_FIN_WAIT_2:
        tcp_finwait2_arm(c, now);
        return;
    default: /* FIN already sent or received and acknowledged: just let it finish */
        return;
    }
}

void synack_tcp_close(struct synack_tcp *c, synack_time_t now)
{
    if (!c) return;
    struct tcp_env *e = c->env;
    tcp_env_seen(e, now);
    conn_release(c, now);
    tcp_mem_sync(c, now);
    orphan_add(c, now);
    tcp_reap(e);
}

void synack_tcp_abort(struct synack_tcp *c, synack_time_t now)
{
    if (!c) return;
    struct tcp_env *e = c->env;
    tcp_env_seen(e, now);
    c->flags |= TCP_F_RELEASED;
    if (c->state == SYNACK_CLOSED)
        tcp_conn_destroy(c);
    else
        conn_abort(c, SYNACK_ERR_ABORTED, now);
    tcp_reap(e);
}

int synack_tcp_info(const struct synack_tcp *c, struct synack_tcp_info *out)
{
    if (!c || !out) return SYNACK_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->state = c->state;
    out->local_addr = c->local_addr;
    out->remote_addr = c->remote_addr;
    out->local_port = c->local_port;
    out->remote_port = c->remote_port;
    out->iss = c->iss;
    out->irs = c->irs;
    out->snd_una = c->snd_una;
    out->snd_nxt = c->snd_nxt;
    out->snd_wnd = c->snd_wnd;
    out->rcv_nxt = c->rcv_nxt;
    out->rcv_wnd = tcp_rcv_window(c);
    out->snd_mss = c->snd_mss;
    out->rcv_mss = c->rcv_mss;
    out->snd_eff_mss = c->eff_mss;
    out->pmtu = c->pmtu;
    out->pmtu_no_df = (c->flags & TCP_F_PMTU_NO_DF) != 0;
    out->soft_err = c->soft_err;
    out->rto = c->rto;
    out->backoff = c->backoff;
    out->bytes_in_flight = c->snd_nxt - c->snd_una;
    out->send_queued = ring_len(&c->sndq);
    out->recv_queued = ring_len(&c->rcvq);
    out->sndbuf = tcp_sndbuf_size(c);
    out->rcvbuf = tcp_rcvbuf_size(c);
    out->rcv_rtt = c->rcv_rtt;
    out->err = c->err;
    out->sack = (c->flags & TCP_F_SACK) != 0;
    out->timestamps = (c->flags & TCP_F_TS) != 0;
    out->window_scale = (c->flags & TCP_F_WSCALE) != 0;
    out->snd_wscale = c->snd_wscale;
    out->rcv_wscale = c->rcv_wscale;
    out->nodelay = (c->flags & TCP_F_NODELAY) != 0;
    out->cc = c->cc.algo;
    out->phase = c->phase;
    out->cwnd = c->cc.cwnd;
    out->ssthresh = c->cc.ssthresh;
    out->srtt = c->have_rtt ? c->srtt : 0;
    out->rttvar = c->have_rtt ? c->rttvar : 0;
    out->min_rtt = c->min_rtt;
    out->pipe = tcp_is_synchronized(c->state) ? tcp_pipe(c) : 0;
    out->sacked_segs = c->fl ? c->fl->sacked_segs : 0;
    out->lost_segs = tcp_segs_lost_unsent(c);
    out->retrans_segs = c->fl ? c->fl->retrans_segs : 0;
    out->ooo_blocks = tcp_ooo_count(c);
    out->delivery_rate = c->fl ? c->fl->delivery_rate : 0; /* goes with the flight */
    out->delivered = c->delivered;
    tcp_counters_get(c, &out->counters);
    out->counters_lost = (c->flags & TCP_F_COUNTS_LOST) != 0;
    return 0;
}

int synack_tcp_set_nodelay(struct synack_tcp *c, bool nodelay)
{
    if (!c) return SYNACK_ERR_INVAL;
    if (nodelay) {
        c->flags |= TCP_F_NODELAY;
        tcp_schedule_output(c); /* what Nagle held back may go now */
    } else {
        c->flags &= ~(uint32_t)TCP_F_NODELAY;
    }
    return 0;
}

void synack_tcp_set_reuseaddr(struct synack_tcp *c, bool on)
{
    if (!c) return;
    if (on)
        c->flags |= TCP_F_REUSEADDR;
    else
        c->flags &= ~(uint32_t)TCP_F_REUSEADDR;
}

int synack_tcp_set_cc(struct synack_tcp *c, enum synack_cc cc)
{
    if (!c || !tcp_cc_ops(cc)) return SYNACK_ERR_INVAL;
    tcp_cc_switch(&c->cc, cc, 0);
    return 0;
}

/* Gives the connection these keepalive and user-timeout settings: in the rare block when
 * they differ from the stack's configuration (or it already has its own), else nothing to
 * keep. NOMEM, with the settings unchanged, when the block cannot be had. */
static int own_opts(struct synack_tcp *c, synack_time_t idle, synack_time_t interval,
                    unsigned count, synack_time_t user_timeout)
{
    const struct synack_config *cfg = c->env->cfg;
    /* Keepalive off is off, whatever the interval and count that go with it. */
    bool as_cfg =
        idle == cfg->keepalive_idle &&
        (idle == 0 || (interval == cfg->keepalive_interval && count == cfg->keepalive_count)) &&
        user_timeout == 0;
    if (as_cfg && !tcp_has_own_opts(c)) return 0;
    struct tcp_rare *r = tcp_rare_alloc(c);
    if (!r) return SYNACK_ERR_NOMEM;
    r->opts.ka_idle = idle;
    r->opts.ka_interval = interval;
    r->opts.ka_count = count;
    r->opts.user_timeout = user_timeout;
    r->opts.own = true;
    return 0;
}

int synack_tcp_set_keepalive(struct synack_tcp *c, synack_time_t idle, synack_time_t interval,
                             unsigned count)
{
    if (!c || (idle && (interval == 0 || count == 0))) return SYNACK_ERR_INVAL;
    int err = own_opts(c, idle, interval, count, tcp_user_timeout(c));
    if (err) return err;
    /* The idle period counts from the last segment heard (or from now if none yet). */
    synack_time_t from = c->last_rcv;
    c->ka_sent = 0;
    c->keepalive_at = idle ? from + idle : SYNACK_NEVER;
    tcp_timer_update(c);
    return 0;
}

int synack_tcp_set_user_timeout(struct synack_tcp *c, synack_time_t timeout)
{
    if (!c) return SYNACK_ERR_INVAL;
    int err = own_opts(c, tcp_ka_idle(c), tcp_ka_interval(c), tcp_ka_count(c), timeout);
    if (err) return err;
    tcp_timer_update(c);
    return 0;
}

enum synack_state synack_tcp_state(const struct synack_tcp *c)
{
    return c->state;
}

uint64_t synack_tcp_id(const struct synack_tcp *c)
{
    return c->id;
}

void synack_tcp_set_user(struct synack_tcp *c, void *user)
{
    c->user = user;
}
