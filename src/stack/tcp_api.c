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
    return tcp_connect(&s->tcp, &laddr, local ? local->port : 0, remote, user, out, now);
}

int synack_tcp_listen(struct synack_stack *s, const struct synack_endpoint *local, unsigned backlog,
                      void *user, struct synack_listener **out)
{
    if (!s || !out || !local || local->port == 0 || backlog == 0) return SYNACK_ERR_INVAL;
    const struct synack_addr *addr = &local->addr;
    bool wildcard =
        addr->family == SYNACK_AF_NONE ||
        ((addr->family == SYNACK_AF_INET || addr->family == SYNACK_AF_INET6) && addr_is_any(addr));
    if (!wildcard && !stack_addr_is_local(s, addr)) return SYNACK_ERR_INVAL;
    return tcp_listen(&s->tcp, addr, local->port, backlog, user, out);
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
