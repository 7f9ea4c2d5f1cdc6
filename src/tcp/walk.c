/*
 * The walk over TCP's sockets for synack_stack_each_socket: listeners, every connection,
 * the TIME-WAIT records. Reads only.
 */
#include <string.h>

#include "tcp/conn.h"

static int walk_listeners(const struct tcp_env *e, synack_sock_fn fn, void *ctx,
                          struct synack_sock_info *si)
{
    for (const struct synack_listener *l = e->listeners; l; l = l->next) {
        memset(si, 0, sizeof *si);
        si->kind = SYNACK_SOCK_TCP_LISTENER;
        si->id = l->id;
        si->syn_queue = l->syn_count;
        si->accept_queue = l->accept_count;
        si->backlog = l->backlog;
        si->tcp.state = SYNACK_LISTEN;
        si->tcp.local_addr = l->addr;
        si->tcp.local_port = l->port;
        int rc = fn(ctx, si);
        if (rc) return rc;
    }
    return 0;
}

static int walk_conns(const struct tcp_env *e, synack_sock_fn fn, void *ctx,
                      struct synack_sock_info *si)
{
    for (const struct synack_tcp *c = e->all; c; c = c->all_next) {
        if (c->flags & TCP_F_DEAD) continue; /* freed before the public call returns */
        memset(si, 0, sizeof *si);
        si->kind = SYNACK_SOCK_TCP;
        si->id = c->id;
        si->orphan = (c->flags & TCP_F_ORPHAN) != 0;
        synack_tcp_info(c, &si->tcp);
        int rc = fn(ctx, si);
        if (rc) return rc;
    }
    return 0;
}

static int walk_time_wait(const struct tcp_env *e, synack_sock_fn fn, void *ctx,
                          struct synack_sock_info *si)
{
    for (const struct list_node *n = e->tw_list.head; n; n = n->next) {
        const struct tcp_tw *tw = LIST_ENTRY(n, const struct tcp_tw, node);
        memset(si, 0, sizeof *si);
        si->kind = SYNACK_SOCK_TCP_TIME_WAIT;
        si->id = tw->id;
        si->expires = tw->expires;
        si->tcp.state = SYNACK_TIME_WAIT;
        si->tcp.local_addr = tw->local_addr;
        si->tcp.remote_addr = tw->remote_addr;
        si->tcp.local_port = tw->local_port;
        si->tcp.remote_port = tw->remote_port;
        si->tcp.snd_nxt = tw->snd_nxt;
        si->tcp.rcv_nxt = tw->rcv_nxt;
        si->tcp.rcv_wnd = tw->rcv_wnd;
        si->tcp.timestamps = tw->ts;
        si->tcp.rcv_wscale = tw->rcv_wscale;
        int rc = fn(ctx, si);
        if (rc) return rc;
    }
    return 0;
}

int tcp_env_each(const struct tcp_env *e, synack_sock_fn fn, void *ctx, struct synack_sock_info *si)
{
    int rc = walk_listeners(e, fn, ctx, si);
    if (rc == 0) rc = walk_conns(e, fn, ctx, si);
    if (rc == 0) rc = walk_time_wait(e, fn, ctx, si);
    return rc;
}
