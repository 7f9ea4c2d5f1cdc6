/* Listeners: passive open, the SYN queue and the accept queue (the backlog). */
#include <string.h>

#include "base/alloc.h"
#include "tcp/conn.h"

static void listener_event(struct synack_listener *l, enum synack_event_type type,
                           enum synack_state from, enum synack_state to, synack_time_t now)
{
    struct synack_event ev = {.type = type,
                              .conn_id = l->id,
                              .user = l->user,
                              .listener = l,
                              .old_state = from,
                              .new_state = to,
                              .time = now};
    evq_push(l->env->events, &ev);
}

int tcp_listen(struct tcp_env *e, const struct synack_addr *addr, uint16_t port, unsigned backlog,
               bool reuseaddr, void *user, struct synack_listener **out)
{
    if (tcp_bind_conflicts(e, addr, port, reuseaddr)) return SYNACK_ERR_ADDRINUSE;
    struct synack_listener *l = alloc_mem(e->cfg, sizeof *l);
    if (!l) return SYNACK_ERR_NOMEM;
    memset(l, 0, sizeof *l);
    l->env = e;
    l->id = (*e->next_id)++;
    l->user = user;
    l->addr = addr->family == SYNACK_AF_NONE ? synack_addr_any(SYNACK_AF_NONE) : *addr;
    l->port = port;
    l->reuseaddr = reuseaddr;
    l->backlog = backlog;
    l->next = e->listeners;
    e->listeners = l;
    /* RFC 9293 §3.10.1 OPEN, passive: CLOSED -> LISTEN. The listener is not a TCB, so it
     * reports the transition itself; tcp_set_state is for connections. */
    listener_event(l, SYNACK_EV_STATE, SYNACK_CLOSED, SYNACK_LISTEN, 0);
    *out = l;
    return 0;
}

/* Takes the listener out of its env's list and frees it. */
static void listener_free(struct synack_listener *l)
{
    struct tcp_env *e = l->env;
    for (struct synack_listener **pp = &e->listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    alloc_free(e->cfg, l);
}

int synack_tcp_accept(struct synack_listener *l, struct synack_tcp **out)
{
    if (!l || !out) return SYNACK_ERR_INVAL;
    struct synack_tcp *c = LIST_ENTRY(l->acceptq.head, struct synack_tcp, lq);
    if (!c) return SYNACK_ERR_AGAIN;
    list_remove(&l->acceptq, &c->lq);
    l->accept_count--;
    c->listener = NULL;
    c->flags = (c->flags & ~(uint32_t)TCP_F_IN_ACCEPTQ) | TCP_F_ACCEPTED;
    *out = c;
    return 0;
}

void synack_listener_close(struct synack_listener *l, synack_time_t now)
{
    if (!l) return;
    struct tcp_env *e = l->env;
    tcp_env_seen(e, now);
    /* Connections nobody accepted are reset: the peer believes they exist. */
    while (l->acceptq.head || l->synq.head) {
        struct list_node *n = l->acceptq.head ? l->acceptq.head : l->synq.head;
        struct synack_tcp *c = LIST_ENTRY(n, struct synack_tcp, lq);
        tcp_conn_reset(c, SYNACK_ERR_ABORTED, now);
    }
    listener_event(l, SYNACK_EV_STATE, SYNACK_LISTEN, SYNACK_CLOSED, now);
    listener_free(l);
    tcp_reap(e);
}

int tcp_listener_connect(struct synack_listener *l, const struct synack_addr *laddr,
                         const struct synack_endpoint *remote, struct synack_tcp **out,
                         synack_time_t now)
{
    tcp_env_seen(l->env, now);
    if (l->synq.head || l->acceptq.head)
        return SYNACK_ERR_STATE; /* its half-open and queued connections come first */
    if (!laddr) return SYNACK_ERR_INVAL;
    struct tcp_env *e = l->env;
    const struct synack_addr *raddr = &remote->addr;
    uint16_t rport = remote->port;
    struct tcp_tuple_holder h;
    if (!tcp_steers_here(e, laddr, l->port, raddr, rport)) return SYNACK_ERR_STEERED;
    if (tcp_tuple_claim(e, laddr, l->port, raddr, rport, now, &h) != 0) return SYNACK_ERR_ADDRINUSE;
    if (e->nconns - (h.c != NULL) >= e->cfg->max_conns) return SYNACK_ERR_CONNLIMIT;
    struct tcp_reuse reuse;
    bool reused = tcp_tuple_take(e, &h, now, &reuse);
    struct synack_tcp *c = tcp_conn_new(e, laddr, l->port, raddr, rport);
    if (!c) return SYNACK_ERR_NOMEM;
    /* RFC 9293 §3.10.2 SEND in LISTEN: "If the foreign socket is specified, then change
     * the connection from passive to active, select an ISS. Send a SYN segment". The
     * listening TCB becomes this connection: same id, same user pointer. */
    c->id = l->id;
    c->user = l->user;
    if (l->reuseaddr) c->flags |= TCP_F_REUSEADDR;
    c->state = SYNACK_LISTEN;
    listener_free(l);
    tcp_active_open(c, reused ? &reuse : NULL, now);
    *out = c;
    return 0;
}

void tcp_listen_unlink(struct synack_tcp *c)
{
    struct synack_listener *l = c->listener;
    if (!l) return;
    if (c->flags & TCP_F_IN_ACCEPTQ) {
        list_remove(&l->acceptq, &c->lq);
        l->accept_count--;
    } else {
        list_remove(&l->synq, &c->lq);
        l->syn_count--;
    }
    c->flags &= ~(uint32_t)TCP_F_IN_ACCEPTQ;
    c->listener = NULL;
}

/* Why a SYN would be dropped now, or NONE. `frees_one`: a connection is about to be
 * freed (a TIME-WAIT reopened), so the connection limit has one more place. */
static enum synack_drop listen_full(const struct synack_listener *l, bool frees_one)
{
    if (l->syn_count >= l->backlog) return SYNACK_DROP_SYN_QUEUE_FULL;
    if (l->accept_count >= l->backlog) return SYNACK_DROP_ACCEPT_QUEUE_FULL;
    if (l->env->nconns >= l->env->cfg->max_conns + (frees_one ? 1u : 0u))
        return SYNACK_DROP_CONN_LIMIT;
    return SYNACK_DROP_NONE;
}

bool tcp_listen_has_room(const struct synack_listener *l, bool frees_one)
{
    return listen_full(l, frees_one) == SYNACK_DROP_NONE;
}

struct synack_tcp *tcp_listen_child(struct synack_listener *l, const struct wire_ip_repr *ip,
                                    const struct wire_tcp_repr *syn, uint32_t iss,
                                    synack_time_t now)
{
    struct tcp_env *e = l->env;
    struct synack_tcp *c = tcp_conn_new(e, &ip->dst, syn->dst_port, &ip->src, syn->src_port);
    if (!c) return NULL;
    /* Linux's accepted sockets are clones of the listener: SO_REUSEADDR comes along. */
    c->flags |= TCP_F_PASSIVE | (l->reuseaddr ? TCP_F_REUSEADDR : 0u);
    c->user = l->user;
    c->listener = l;
    list_push_front(&l->synq, &c->lq);
    l->syn_count++;
    /* The new TCB starts as a copy of the listening one. */
    c->state = SYNACK_LISTEN;
    /* RFC 9293 §3.10.7.2 third check: RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, select ISS,
     * send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, SND.NXT = ISS+1, SND.UNA = ISS. */
    c->irs = syn->seq;
    c->rcv_nxt = syn->seq + 1;
    c->iss = iss;
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_rtx = c->iss;
    c->sndq_seq = c->iss + 1;
    c->snd_wnd = syn->window;
    c->max_snd_wnd = syn->window;
    c->snd_wl1 = syn->seq;
    c->snd_wl2 = syn->ack;
    c->flags |= TCP_F_SND_WND_SET;
    tcp_negotiate(c, syn, now);
    c->rcv_adv = c->rcv_nxt + tcp_rcv_window(c);
    TCP_COUNT(c, segs_in);
    tcp_set_state(c, SYNACK_SYN_RECEIVED, now);
    return c;
}

void tcp_listen_input(struct synack_listener *l, const struct wire_ip_repr *ip,
                      const struct wire_tcp_repr *seg, synack_time_t now, const uint32_t *iss_floor)
{
    struct tcp_env *e = l->env;
    enum synack_syncookies mode = e->cfg->syncookies;
    /* The backlog bounds both queues. A SYN that finds the SYN queue full (or the stack out
     * of connections) gets a SYN cookie instead of a TCB (RFC 4987 §3.6); one that finds
     * the accept queue full is dropped either way (the ACK could not be queued), and the
     * peer's retransmission tries again later. */
    if (l->accept_count >= l->backlog) {
        tcp_env_count_drop(e, SYNACK_DROP_ACCEPT_QUEUE_FULL);
        return;
    }
    enum synack_drop full = listen_full(l, false);
    /* No cookie for a SYN that reopens a TIME-WAIT 4-tuple: its ISS must clear the old
     * incarnation's sequence space, and a cookie's cannot promise to. */
    bool cookie =
        !iss_floor && (mode == SYNACK_SYNCOOKIES_ALWAYS ||
                       (mode == SYNACK_SYNCOOKIES_OVERFLOW &&
                        (full == SYNACK_DROP_SYN_QUEUE_FULL || full == SYNACK_DROP_CONN_LIMIT)));
    if (full != SYNACK_DROP_NONE && !cookie) {
        tcp_env_count_drop(e, full);
        return;
    }
    if (cookie) {
        tcp_cookie_send_synack(l, ip, seg, now);
        return;
    }
    uint32_t iss = tcp_isn(e, &ip->dst, seg->dst_port, &ip->src, seg->src_port, now);
    /* RFC 1122 §4.2.2.13: a connection reopened from TIME-WAIT must start above the
     * sequence numbers of the old incarnation. */
    iss = tcp_iss_above(iss, iss_floor);
    struct synack_tcp *c = tcp_listen_child(l, ip, seg, iss, now);
    if (!c) {
        if (mode == SYNACK_SYNCOOKIES_OVERFLOW && !iss_floor)
            tcp_cookie_send_synack(l, ip, seg, now); /* the allocator said no: stateless */
        else
            tcp_env_count_drop(e, SYNACK_DROP_NO_MEMORY);
        return;
    }
    tcp_schedule_output(c);
}

bool tcp_listen_established(struct synack_tcp *c, synack_time_t now)
{
    struct synack_listener *l = c->listener;
    if (!l) return true;
    if (l->accept_count >= l->backlog) return false;
    list_remove(&l->synq, &c->lq);
    l->syn_count--;
    list_push_back(&l->acceptq, &c->lq); /* the accept queue hands out the oldest first */
    c->flags |= TCP_F_IN_ACCEPTQ;
    l->accept_count++;
    listener_event(l, SYNACK_EV_ACCEPTABLE, SYNACK_LISTEN, SYNACK_LISTEN, now);
    return true;
}
