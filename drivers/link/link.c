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

void synack_link_drain(struct synack_link *link, struct synack_stack *stack, uint8_t *buf,
                       size_t cap, synack_time_t now)
{
    for (;;) {
        synack_ssize n = synack_stack_output(stack, buf, cap, now);
        if (n <= 0) break; /* AGAIN: all sent; anything else cannot improve this turn */
        (void)synack_link_send(link, buf, (size_t)n, now);
    }
}

int synack_link_pump(struct synack_link *link, struct synack_stack *stack, uint8_t *buf, size_t cap,
                     synack_time_t now)
{
    if (now >= synack_link_next_deadline(link)) synack_link_poll(link, now);
    int rc = 0;
    for (int i = 0; i < SYNACK_LOOP_BATCH; i++) {
        synack_ssize n = synack_link_recv(link, buf, cap, now);
        if (n == SYNACK_ERR_IO) {
            if (i == 0) rc = SYNACK_ERR_IO; /* counted by the link; next turn */
            break;
        }
        if (n == SYNACK_ERR_BUFSZ || n == 0) continue; /* dropped and counted by the link */
        if (n < 0) break;                              /* AGAIN: all read */
        (void)synack_stack_input(stack, buf, (size_t)n, now);
        synack_link_drain(link, stack, buf, cap, now);
    }
    if (now >= synack_stack_next_deadline(stack)) synack_stack_handle_timers(stack, now);
    return rc;
}
