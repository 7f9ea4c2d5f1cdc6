/* The public calls that open TCP connections and listeners: the stack answers what only it
 * knows (which addresses are its own, which one to send from), then hands the rest to the
 * TCP engine (tcp/user.c, tcp/listen.c), which needs no more of the stack than its env. */
#include "base/addr.h"
#include "stack/stack.h"

int synack_tcp_connect(struct synack_stack *s, const struct synack_endpoint *remote,
                       const struct synack_endpoint *local, void *user, struct synack_tcp **out,
                       synack_time_t now)
{
    if (!s || !out || !remote || !addr_is_unicast(&remote->addr) || remote->port == 0)
        return SYNACK_ERR_INVAL;
    struct synack_addr laddr;
    if (stack_source_addr(s, local ? &local->addr : NULL, &remote->addr, &laddr) != 0)
        return SYNACK_ERR_INVAL;
    uint16_t lport = local ? local->port : 0;
    bool bound = local && local->addr.family != SYNACK_AF_NONE && !addr_is_any(&local->addr);
    if (bound || lport != 0) return tcp_connect(&s->tcp, &laddr, lport, remote, user, out, now);
    /* RFC 6056 §2 counts ports per 4-tuple: with every ephemeral port of one address taken
     * toward this destination, each further address of the family brings a whole range
     * more. They are tried in turn from the one that last had a port, so the connects after
     * the first address ran out do not each walk its ports again. */
    size_t n = 0;
    while (n < SYNACK_MAX_ADDRS && s->cfg.addrs[n].family != SYNACK_AF_NONE)
        n++;
    int rc = SYNACK_ERR_NOPORTS;
    for (size_t k = 0; k < n; k++) {
        size_t i = (s->connect_from + k) % n;
        const struct synack_addr *a = &s->cfg.addrs[i];
        if (a->family != remote->addr.family) continue;
        rc = tcp_connect(&s->tcp, a, 0, remote, user, out, now);
        if (rc != SYNACK_ERR_NOPORTS) {
            if (k) s->connect_from = i;
            return rc;
        }
    }
    return rc;
}

/* The SYNACK_BIND_* flags this stack knows. */
#define BIND_FLAGS_KNOWN SYNACK_BIND_REUSEADDR

/* What bind and listen refuse before looking at who holds the port: no port, a flag not
 * known, an address that is neither the stack's, nor a family's wildcard, nor no address
 * (SYNACK_AF_NONE, both families). 0 or INVAL. */
static int bind_args_check(const struct synack_stack *s, const struct synack_endpoint *local,
                           unsigned flags)
{
    if (!s || !local || local->port == 0 || (flags & ~BIND_FLAGS_KNOWN)) return SYNACK_ERR_INVAL;
    const struct synack_addr *addr = &local->addr;
    bool wildcard =
        addr->family == SYNACK_AF_NONE ||
        ((addr->family == SYNACK_AF_INET || addr->family == SYNACK_AF_INET6) && addr_is_any(addr));
    return wildcard || stack_addr_is_local(s, addr) ? 0 : SYNACK_ERR_INVAL;
}

int synack_tcp_bind_check(const struct synack_stack *s, const struct synack_endpoint *local,
                          unsigned flags)
{
    int rc = bind_args_check(s, local, flags);
    if (rc != 0) return rc;
    bool reuseaddr = (flags & SYNACK_BIND_REUSEADDR) != 0;
    return tcp_bind_conflicts(&s->tcp, &local->addr, local->port, reuseaddr) ? SYNACK_ERR_ADDRINUSE
                                                                             : 0;
}

int synack_tcp_listen_flags(struct synack_stack *s, const struct synack_endpoint *local,
                            unsigned backlog, unsigned flags, void *user,
                            struct synack_listener **out)
{
    if (!out || backlog == 0) return SYNACK_ERR_INVAL;
    int rc = bind_args_check(s, local, flags);
    if (rc != 0) return rc;
    bool reuseaddr = (flags & SYNACK_BIND_REUSEADDR) != 0;
    return tcp_listen(&s->tcp, &local->addr, local->port, backlog, reuseaddr, user, out);
}

int synack_tcp_listen(struct synack_stack *s, const struct synack_endpoint *local, unsigned backlog,
                      void *user, struct synack_listener **out)
{
    return synack_tcp_listen_flags(s, local, backlog, SYNACK_BIND_REUSEADDR, user, out);
}

int synack_listener_connect(struct synack_listener *l, const struct synack_endpoint *remote,
                            struct synack_tcp **out, synack_time_t now)
{
    if (!l || !out || !remote || !addr_is_unicast(&remote->addr) || remote->port == 0)
        return SYNACK_ERR_INVAL;
    struct synack_addr laddr;
    bool have = stack_source_addr(stack_of(l->env), &l->addr, &remote->addr, &laddr) == 0;
    return tcp_listener_connect(l, have ? &laddr : NULL, remote, out, now);
}
