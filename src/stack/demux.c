#include "stack/stack.h"

#include <string.h>

#include "base/siphash.h"

uint64_t stack_tuple_hash(const struct synack_stack *s, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport)
{
    /* Keyed, so a peer cannot aim many connections at one chain. */
    return siphash_tuple(s->hash_key, laddr, lport, raddr, rport);
}

static size_t demux_bucket(const struct synack_stack *s, uint32_t laddr, uint16_t lport,
                           uint32_t raddr, uint16_t rport)
{
    return (size_t)stack_tuple_hash(s, laddr, lport, raddr, rport) & (s->nbuckets - 1);
}

int stack_demux_init(struct synack_stack *s)
{
    size_t n = 16;
    while (n < s->cfg.max_conns)
        n <<= 1;
    s->buckets = stack_alloc(s, n * sizeof *s->buckets);
    if (!s->buckets) return SYNACK_ERR_NOMEM;
    memset(s->buckets, 0, n * sizeof *s->buckets);
    s->nbuckets = n;
    return 0;
}

struct synack_tcp *stack_demux_find(const struct synack_stack *s, uint32_t laddr, uint16_t lport,
                                    uint32_t raddr, uint16_t rport)
{
    struct synack_tcp *c = s->buckets[demux_bucket(s, laddr, lport, raddr, rport)];
    for (; c; c = c->hash_next) {
        if (c->local_port == lport && c->remote_port == rport && c->remote_addr == raddr &&
            c->local_addr == laddr)
            return c;
    }
    return NULL;
}

void stack_demux_insert(struct synack_stack *s, struct synack_tcp *c)
{
    size_t b = demux_bucket(s, c->local_addr, c->local_port, c->remote_addr, c->remote_port);
    c->hash_next = s->buckets[b];
    s->buckets[b] = c;
}

void stack_demux_remove(struct synack_stack *s, struct synack_tcp *c)
{
    size_t b = demux_bucket(s, c->local_addr, c->local_port, c->remote_addr, c->remote_port);
    for (struct synack_tcp **pp = &s->buckets[b]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == c) {
            *pp = c->hash_next;
            c->hash_next = NULL;
            return;
        }
    }
}

struct synack_listener *stack_listener_find(const struct synack_stack *s, uint16_t port)
{
    for (struct synack_listener *l = s->listeners; l; l = l->next) {
        if (l->port == port) return l;
    }
    return NULL;
}

uint16_t stack_ephemeral_port(struct synack_stack *s, uint32_t raddr, uint16_t rport)
{
    uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
    /* RFC 6056 §3.3.3: offset = F(local, remote, secret), then probe from a counter that
     * advances with every allocation, so consecutive connections to one destination get
     * consecutive, distinct ports while different destinations start far apart. */
    uint32_t offset = (uint32_t)siphash_tuple(s->cfg.isn_secret, s->cfg.addr, 0, raddr, rport);
    for (uint32_t tries = 0; tries < n; tries++) {
        uint16_t port = (uint16_t)(lo + (offset + s->port_counter++) % n);
        if (!stack_demux_find(s, s->cfg.addr, port, raddr, rport) &&
            !tcp_tw_find(s, s->cfg.addr, port, raddr, rport) && !stack_listener_find(s, port))
            return port;
    }
    return 0;
}
