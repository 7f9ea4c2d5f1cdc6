/* The stack's addresses: which are ours, and which one a connection sends from. */
#include "base/addr.h"
#include "stack/stack.h"

const struct synack_addr *stack_addr_of(const struct synack_stack *s, enum synack_family family)
{
    /* synack_stack_new packed the addresses to the front: the first empty slot ends them. */
    for (size_t i = 0; i < SYNACK_MAX_ADDRS && s->cfg.addrs[i].family != SYNACK_AF_NONE; i++) {
        if (s->cfg.addrs[i].family == family) return &s->cfg.addrs[i];
    }
    return NULL;
}

bool stack_addr_is_local(const struct synack_stack *s, const struct synack_addr *a)
{
    for (size_t i = 0; i < SYNACK_MAX_ADDRS && s->cfg.addrs[i].family != SYNACK_AF_NONE; i++) {
        if (addr_eq(&s->cfg.addrs[i], a)) return true;
    }
    return false;
}

int stack_source_addr(const struct synack_stack *s, const struct synack_addr *bound,
                      const struct synack_addr *remote, struct synack_addr *out)
{
    enum synack_family family = (enum synack_family)remote->family;
    if (bound && bound->family != SYNACK_AF_NONE && !addr_is_any(bound)) {
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
