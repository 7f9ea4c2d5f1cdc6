#include "stack/stack.h"

#include <string.h>

#include "base/siphash.h"

uint64_t stack_tuple_hash(const struct synack_stack *s, const struct synack_addr *laddr,
                          uint16_t lport, const struct synack_addr *raddr, uint16_t rport)
{
    /* Keyed, so a peer cannot aim many connections at one chain. */
    return siphash_tuple(s->hash_key, laddr, lport, raddr, rport);
}

static size_t demux_bucket(const struct synack_stack *s, const struct synack_addr *laddr,
                           uint16_t lport, const struct synack_addr *raddr, uint16_t rport)
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

struct synack_tcp *stack_demux_find(const struct synack_stack *s, const struct synack_addr *laddr,
                                    uint16_t lport, const struct synack_addr *raddr, uint16_t rport)
{
    struct synack_tcp *c = s->buckets[demux_bucket(s, laddr, lport, raddr, rport)];
    for (; c; c = c->hash_next) {
        if (c->local_port == lport && c->remote_port == rport &&
            synack_addr_eq(&c->remote_addr, raddr) && synack_addr_eq(&c->local_addr, laddr))
            return c;
    }
    return NULL;
}

void stack_demux_insert(struct synack_stack *s, struct synack_tcp *c)
{
    size_t b = demux_bucket(s, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port);
    c->hash_next = s->buckets[b];
    s->buckets[b] = c;
}

void stack_demux_remove(struct synack_stack *s, struct synack_tcp *c)
{
    size_t b = demux_bucket(s, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port);
    for (struct synack_tcp **pp = &s->buckets[b]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == c) {
            *pp = c->hash_next;
            c->hash_next = NULL;
            return;
        }
    }
}

/* How well listener address `bound` covers `local`: 3 the same address, 2 the wildcard of
 * its family, 1 the wildcard of both families, 0 not at all. */
static int listener_match(const struct synack_addr *bound, const struct synack_addr *local)
{
    if (bound->family == SYNACK_AF_NONE) return 1;
    if (bound->family != local->family) return 0;
    if (synack_addr_is_any(bound)) return 2;
    return synack_addr_eq(bound, local) ? 3 : 0;
}

struct synack_listener *stack_listener_find(const struct synack_stack *s,
                                            const struct synack_addr *local, uint16_t port)
{
    /* The most specific listener wins: bound to the address, then to its family's wildcard,
     * then to every address (as BSD sockets choose among bound sockets). Today listeners
     * that overlap are refused (stack_listener_conflicts), so at most one matches; the
     * order matters once an option such as SO_REUSEADDR lets them share a port. */
    struct synack_listener *best = NULL;
    int best_match = 0;
    for (struct synack_listener *l = s->listeners; l; l = l->next) {
        if (l->port != port) continue;
        int m = listener_match(&l->addr, local);
        if (m > best_match) {
            best = l;
            best_match = m;
        }
    }
    return best;
}

bool stack_listener_conflicts(const struct synack_stack *s, const struct synack_addr *addr,
                              uint16_t port)
{
    for (struct synack_listener *l = s->listeners; l; l = l->next) {
        if (l->port != port) continue;
        /* Two bindings of one port overlap unless both name addresses and they differ, or
         * they are of different families (a wildcard of one family and an address of the
         * other do not overlap). */
        if (l->addr.family == SYNACK_AF_NONE || addr->family == SYNACK_AF_NONE) return true;
        if (l->addr.family != addr->family) continue;
        if (synack_addr_is_any(&l->addr) || synack_addr_is_any(addr) ||
            synack_addr_eq(&l->addr, addr))
            return true;
    }
    return false;
}

uint16_t stack_ephemeral_port(struct synack_stack *s, const struct synack_addr *laddr,
                              const struct synack_addr *raddr, uint16_t rport)
{
    uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
    /* RFC 6056 §3.3.3: offset = F(local, remote, secret), then probe from a counter that
     * advances with every allocation, so consecutive connections to one destination get
     * consecutive, distinct ports while different destinations start far apart. */
    uint32_t offset = (uint32_t)siphash_tuple(s->cfg.isn_secret, laddr, 0, raddr, rport);
    for (uint32_t tries = 0; tries < n; tries++) {
        uint16_t port = (uint16_t)(lo + (offset + s->port_counter++) % n);
        if (!stack_demux_find(s, laddr, port, raddr, rport) &&
            !tcp_tw_find(s, laddr, port, raddr, rport) && !stack_listener_find(s, laddr, port))
            return port;
    }
    return 0;
}

const struct synack_addr *stack_addr_of(const struct synack_stack *s, enum synack_family family)
{
    for (size_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        if (s->cfg.addrs[i].family == family && family != SYNACK_AF_NONE) return &s->cfg.addrs[i];
    }
    return NULL;
}

bool stack_addr_is_local(const struct synack_stack *s, const struct synack_addr *a)
{
    for (size_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        if (s->cfg.addrs[i].family != SYNACK_AF_NONE && synack_addr_eq(&s->cfg.addrs[i], a))
            return true;
    }
    return false;
}

int stack_source_addr(const struct synack_stack *s, const struct synack_addr *bound,
                      const struct synack_addr *remote, struct synack_addr *out)
{
    enum synack_family family = (enum synack_family)remote->family;
    if (bound && bound->family != SYNACK_AF_NONE && !synack_addr_is_any(bound)) {
        /* Bound to one address: it must be ours and of the remote's family. */
        if (bound->family != family || !stack_addr_is_local(s, bound)) return SYNACK_ERR_INVAL;
        *out = *bound;
        return 0;
    }
    if (bound && bound->family != SYNACK_AF_NONE && bound->family != family)
        return SYNACK_ERR_INVAL; /* the wildcard of the other family */
    const struct synack_addr *first = stack_addr_of(s, family);
    if (!first) return SYNACK_ERR_INVAL;
    *out = *first;
    return 0;
}
