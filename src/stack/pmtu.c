/* Path MTUs learnt for datagrams outside TCP (TCP keeps its own per connection, tcp/icmp.c):
 * a small table of destinations a packet too big named, consulted when a UDP datagram is
 * sized for fragmentation.
 *
 * RFC 8201 §4: a node MUST reduce the size of the packets it sends on a path when a packet
 * too big says so, and never below the IPv6 minimum link MTU (1280); an increase may be
 * tried no sooner than 5 minutes after a decrease, 10 recommended: an entry is forgotten
 * STACK_PMTU_AGE after it was last lowered, and the link's MTU applies again. Only IPv6:
 * synack sends IPv4 datagrams larger than the MTU without DF (RFC 791 §3.2), so routers
 * fragment them and no fragmentation needed is owed. A full table replaces its entry that
 * expires first. */
#include "base/addr.h"
#include "stack/stack.h"

static struct stack_pmtu_entry *pmtu_find(struct synack_stack *s, const struct synack_addr *dst,
                                          synack_time_t now)
{
    for (size_t i = 0; i < STACK_PMTU_ENTRIES; i++) {
        struct stack_pmtu_entry *e = &s->pmtu[i];
        if (e->mtu != 0 && e->expires > now && addr_eq(&e->dst, dst)) return e;
    }
    return NULL;
}

/* The path MTU entry `e` (NULL: none) gives. */
static unsigned pmtu_of(const struct synack_stack *s, const struct stack_pmtu_entry *e)
{
    return e && e->mtu < s->cfg.mtu ? e->mtu : s->cfg.mtu;
}

unsigned stack_pmtu_get(struct synack_stack *s, const struct synack_addr *dst, synack_time_t now)
{
    if (dst->family != SYNACK_AF_INET6) return s->cfg.mtu; /* IPv4: never learnt */
    return pmtu_of(s, pmtu_find(s, dst, now));
}

bool stack_pmtu_lower(struct synack_stack *s, const struct synack_addr *dst, uint32_t mtu,
                      synack_time_t now)
{
    if (dst->family != SYNACK_AF_INET6) return false;
    if (mtu < WIRE_IPV6_MIN_MTU) mtu = WIRE_IPV6_MIN_MTU; /* RFC 8201 §4 */
    struct stack_pmtu_entry *e = pmtu_find(s, dst, now);
    if (mtu >= pmtu_of(s, e)) return false; /* never raised by a message */
    for (size_t i = 0; !e && i < STACK_PMTU_ENTRIES; i++) {
        struct stack_pmtu_entry *c = &s->pmtu[i];
        if (c->mtu == 0 || c->expires <= now) e = c; /* free or forgotten */
    }
    if (!e) {
        e = &s->pmtu[0];
        for (size_t i = 1; i < STACK_PMTU_ENTRIES; i++) {
            if (s->pmtu[i].expires < e->expires) e = &s->pmtu[i];
        }
    }
    e->dst = *dst;
    e->mtu = (uint16_t)mtu;
    e->expires = now < SYNACK_NEVER - STACK_PMTU_AGE ? now + STACK_PMTU_AGE : SYNACK_NEVER;
    s->counters.pmtu_decreases++;
    return true;
}
