/*
 * Groups: the socket calls over N stacks, one per core (synack_rt_new_stacks; sock.h,
 * Groups). A stream socket starts on the group's control and moves to the member its
 * connection is made on; a listening one has a part, a listener, on every member, and
 * accept takes a connection from whichever part has one, leaving the accepted socket on
 * that part's member. A bound datagram socket stays on the control with an endpoint on
 * every member: it receives from whichever holds a datagram, and sends from the member
 * its flow steers to.
 *
 * Every function here runs under the control's lock and takes one member's lock at a time,
 * which is the order sock.h sets; a member never takes the control's.
 */
#include <errno.h>
#include <stdlib.h>

#include "sock.h"

struct synack_rt *sock_lock(struct sock *s)
{
    /* The socket moves once at most (sock_move, under both locks): the second try holds. */
    for (;;) {
        struct synack_rt *rt = atomic_load(&s->rt);
        rt_lock(rt);
        if (atomic_load(&s->rt) == rt) return rt;
        rt_unlock(rt);
    }
}

unsigned sock_parts_readiness(const struct sock *s)
{
    if (s->parts == NULL) return 0;
    unsigned r = SOCK_OUT;
    for (unsigned i = 0; i < s->rt->nmembers; i++) {
        const struct sock_part *p = &s->parts[i];
        if (atomic_load(&p->acceptable) > 0 || atomic_load(&p->readable)) r |= SOCK_IN;
        if (atomic_load(&p->failed)) r |= SOCK_ERR;
        if (atomic_load(&p->blocked)) r &= ~SOCK_OUT;
    }
    return r;
}

void sock_move(struct sock *s, struct synack_rt *to)
{
    struct synack_rt *from = s->rt;
    rt_unlink_sock(from, s);
    from->live--;
    to->live++;
    rt_link_sock(to, s);
    atomic_store(&s->rt, to);
}

struct synack_rt *group_member_for(struct synack_rt *g, const struct synack_endpoint *remote,
                                   const struct synack_endpoint *local)
{
    if (local == NULL || local->port == 0) return g->members[g->next_member++ % g->nmembers];
    /* A bound port: the member its 4-tuple steers to (from the stack's own address of the
     * family when bound to the wildcard, as the core picks it). */
    struct synack_endpoint from = *local;
    if (synack_addr_is_any(&from.addr)) {
        const struct synack_addr *a =
            synack_stack_addr(rt_any_stack(g), (enum synack_family)remote->addr.family);
        if (a != NULL) from.addr = *a;
    }
    unsigned q = g->steer_hash == SYNACK_STEER_XOR
                     ? synack_flow_queue_xor(g->nmembers, &from, remote)
                     : synack_flow_queue(g->steer_key, g->nmembers, &from, remote);
    return g->members[q];
}

int group_bind_check(struct synack_rt *g, const struct synack_endpoint *ep, unsigned flags)
{
    for (unsigned i = 0; i < g->nmembers; i++) {
        struct synack_rt *m = g->members[i];
        rt_lock(m);
        int rc = synack_tcp_bind_check(m->stack, ep, flags);
        rt_unlock(m);
        if (rc != 0) return rc;
    }
    return 0;
}

/* Gives `s` its parts, if it has none yet: false when out of memory. */
static bool parts_alloc(struct sock *s)
{
    if (s->parts == NULL) s->parts = calloc(s->rt->nmembers, sizeof(*s->parts));
    return s->parts != NULL;
}

int group_listen(struct sock *s, unsigned backlog, unsigned flags)
{
    struct synack_rt *g = s->rt;
    if (!parts_alloc(s)) return SYNACK_ERR_NOMEM;
    for (unsigned i = 0; i < g->nmembers; i++) {
        struct synack_rt *m = g->members[i];
        struct sock_part *p = &s->parts[i];
        rt_lock(m);
        atomic_store(&p->acceptable, 0);
        int rc = synack_tcp_listen_flags(m->stack, &s->local, backlog, flags, s, &p->lis);
        rt_settle(m);
        rt_unlock(m);
        if (rc != 0) {
            p->lis = NULL;
            group_close_parts(s);
            return rc;
        }
    }
    return 0;
}

void group_close_parts(struct sock *s)
{
    if (s->parts == NULL) return;
    struct synack_rt *g = s->rt;
    for (unsigned i = 0; i < g->nmembers; i++) {
        struct synack_rt *m = g->members[i];
        struct sock_part *p = &s->parts[i];
        rt_lock(m);
        if (p->lis != NULL) synack_listener_close(p->lis, rt_clock());
        if (p->udp != NULL) synack_udp_close(p->udp);
        p->lis = NULL;
        p->udp = NULL;
        atomic_store(&p->acceptable, 0);
        atomic_store(&p->readable, false);
        atomic_store(&p->blocked, false);
        atomic_store(&p->failed, false);
        /* The events of what it closed (the connections a listener reset) are handed out
         * now, under this lock: none names the socket later. */
        rt_settle(m);
        rt_unlock(m);
    }
}

/* Takes a connection from part `i` of `s` into the new socket `n`, which it makes a socket
 * of that part's member: 0, EAGAIN (the part has none) or an errno (n is not adopted). */
static int group_accept_part(struct sock *s, unsigned i, struct sock *n)
{
    struct synack_rt *m = s->rt->members[i];
    struct sock_part *p = &s->parts[i];
    struct synack_tcp *c;
    rt_lock(m);
    if (p->lis == NULL || synack_tcp_accept(p->lis, &c) != 0) {
        atomic_store(&p->acceptable, 0); /* counted only under this lock */
        rt_unlock(m);
        return EAGAIN;
    }
    if (atomic_load(&p->acceptable) > 0) atomic_fetch_sub(&p->acceptable, 1);
    n->rt = m;
    int e = sock_adopt(n);
    if (e == 0) {
        accept_inherit(n, s);
        conn_adopt(n, c);
        tcp_apply_opts(n, c);
    } else {
        n->rt = s->rt;
        synack_tcp_abort(c, rt_clock()); /* the table had no room for its descriptor */
    }
    rt_settle(m);
    rt_unlock(m);
    return e;
}

int group_accept(struct sock *s, struct sock *n)
{
    unsigned count = s->rt->nmembers;
    /* Round robin over the parts, so that no stack's connections wait behind another's. */
    for (unsigned k = 0; k < count; k++) {
        unsigned i = (s->part_next + k) % count;
        int e = group_accept_part(s, i, n);
        if (e == EAGAIN) continue;
        s->part_next = i + 1;
        return e;
    }
    return EAGAIN;
}

/* ---- datagram sockets ------------------------------------------------------------------ */

/* The part's flags from its endpoint. Under its member's lock. */
static void part_udp_refresh(struct sock_part *p)
{
    struct synack_udp_info ui;
    bool ok = p->udp != NULL && synack_udp_info(p->udp, &ui) == 0;
    atomic_store(&p->readable, ok && ui.queued > 0);
    atomic_store(&p->failed, ok && ui.pending_err != 0);
}

int group_udp_bind(struct sock *s, const struct synack_endpoint *ep, struct synack_endpoint *local)
{
    struct synack_rt *g = s->rt;
    if (!parts_alloc(s)) return SYNACK_ERR_NOMEM;
    struct synack_endpoint at = *ep;
    for (unsigned i = 0; i < g->nmembers; i++) {
        struct synack_rt *m = g->members[i];
        struct sock_part *p = &s->parts[i];
        rt_lock(m);
        int rc = synack_udp_bind(m->stack, &at, s, &p->udp);
        if (rc == 0 && i == 0) {
            /* The port the first member picked is every member's. */
            struct synack_udp_info ui;
            (void)synack_udp_info(p->udp, &ui);
            at = ui.local;
            *local = ui.local;
        }
        if (rc == 0) part_udp_refresh(p);
        rt_unlock(m);
        if (rc != 0) {
            p->udp = NULL;
            group_close_parts(s);
            return rc;
        }
    }
    return 0;
}

int group_udp_connect(struct sock *s, const struct synack_endpoint *remote)
{
    if (s->parts == NULL) return 0;
    struct synack_rt *g = s->rt;
    int first = 0;
    for (unsigned i = 0; i < g->nmembers; i++) {
        struct synack_rt *m = g->members[i];
        struct sock_part *p = &s->parts[i];
        rt_lock(m);
        int rc = p->udp != NULL ? synack_udp_connect(p->udp, remote) : 0;
        rt_unlock(m);
        if (first == 0) first = rc;
    }
    return first;
}

synack_ssize group_udp_send(struct sock *s, const uint8_t *data, size_t len,
                            const struct synack_endpoint *dst)
{
    struct synack_rt *g = s->rt;
    struct synack_rt *m = group_member_for(g, dst != NULL ? dst : &s->remote, &s->local);
    struct sock_part *p = &s->parts[m->index];
    rt_lock(m);
    synack_ssize rc =
        p->udp != NULL ? synack_udp_send(p->udp, data, len, dst, rt_clock()) : SYNACK_ERR_STATE;
    if (rc == SYNACK_ERR_AGAIN) atomic_store(&p->blocked, true);
    rt_settle(m);
    rt_unlock(m);
    return rc;
}

synack_ssize group_udp_recv(struct sock *s, uint8_t *buf, size_t cap, struct synack_endpoint *from)
{
    unsigned count = s->rt->nmembers;
    for (unsigned k = 0; k < count; k++) {
        unsigned i = (s->part_next + k) % count;
        struct synack_rt *m = s->rt->members[i];
        struct sock_part *p = &s->parts[i];
        rt_lock(m);
        synack_ssize rc =
            p->udp != NULL ? synack_udp_recv(p->udp, buf, cap, from, rt_clock()) : SYNACK_ERR_AGAIN;
        part_udp_refresh(p);
        rt_settle(m);
        rt_unlock(m);
        if (rc == SYNACK_ERR_AGAIN) continue;
        s->part_next = i + 1;
        return rc;
    }
    return SYNACK_ERR_AGAIN;
}

int group_udp_error(struct sock *s)
{
    if (s->parts == NULL) return 0;
    int e = 0;
    for (unsigned i = 0; i < s->rt->nmembers && e == 0; i++) {
        struct synack_rt *m = s->rt->members[i];
        rt_lock(m);
        struct synack_udp_info ui;
        if (s->parts[i].udp != NULL && synack_udp_info(s->parts[i].udp, &ui) == 0)
            e = ui.pending_err;
        rt_unlock(m);
    }
    return e;
}
