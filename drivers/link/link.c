/* The link vtable's thin helpers (link.h). */
#include "synack/link.h"

synack_ssize synack_link_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    return l->ops->recv(l, buf, cap, now);
}

int synack_link_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return l->ops->send(l, pkt, len, now);
}

int synack_link_fd(const struct synack_link *l)
{
    return l->ops->fd ? l->ops->fd(l) : -1;
}

synack_time_t synack_link_next_deadline(const struct synack_link *l)
{
    return l->ops->next_deadline ? l->ops->next_deadline(l) : SYNACK_NEVER;
}

void synack_link_poll(struct synack_link *l, synack_time_t now)
{
    if (l->ops->poll) l->ops->poll(l, now);
}

unsigned synack_link_mtu(const struct synack_link *l)
{
    return l->ops->mtu(l);
}

void synack_link_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = (struct synack_link_stats){0};
    if (l->ops->stats) l->ops->stats(l, out);
}

void synack_link_free(struct synack_link *l)
{
    if (l) l->ops->free(l);
}
