/* The link vtable's thin helpers (link.h). */
#include "synack/link.h"

synack_ssize synack_link_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    return l->ops->recv(l, buf, cap, now);
}

synack_ssize synack_link_recv_offload(struct synack_link *l, uint8_t *buf, size_t cap,
                                      unsigned *input_flags, synack_time_t now)
{
    if (l->ops->recv_offload) return l->ops->recv_offload(l, buf, cap, input_flags, now);
    *input_flags = 0;
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

int synack_link_queue(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return l->ops->queue ? l->ops->queue(l, pkt, len, now) : l->ops->send(l, pkt, len, now);
}

void synack_link_flush(struct synack_link *l, synack_time_t now)
{
    if (l->ops->flush) l->ops->flush(l, now);
}

unsigned synack_link_tx_offloads(const struct synack_link *l)
{
    return l->ops->tx_offloads && l->ops->send_offload ? l->ops->tx_offloads(l) : 0;
}

static bool link_meta_is_plain(const struct synack_tx_meta *meta)
{
    return !meta->csum_partial && meta->gso_size == 0;
}

int synack_link_send_offload(struct synack_link *l, const uint8_t *pkt, size_t len,
                             const struct synack_tx_meta *meta, synack_time_t now)
{
    if (l->ops->send_offload) return l->ops->send_offload(l, pkt, len, meta, now);
    return link_meta_is_plain(meta) ? l->ops->send(l, pkt, len, now) : SYNACK_ERR_INVAL;
}

/* Queues every packet the stack wants to send now; the caller flushes. A link that
 * finishes packets is handed each with what it is to finish. */
static void link_queue_output(struct synack_link *link, struct synack_stack *stack, uint8_t *buf,
                              size_t cap, synack_time_t now)
{
    unsigned tx = synack_link_tx_offloads(link);
    for (;;) {
        struct synack_tx_meta meta;
        synack_ssize n = synack_stack_output_offload(stack, buf, cap, tx, &meta, now);
        if (n <= 0) break; /* AGAIN: all sent; anything else cannot improve this turn */
        if (tx)
            (void)synack_link_send_offload(link, buf, (size_t)n, &meta, now);
        else
            (void)synack_link_queue(link, buf, (size_t)n, now);
    }
}

void synack_link_drain(struct synack_link *link, struct synack_stack *stack, uint8_t *buf,
                       size_t cap, synack_time_t now)
{
    link_queue_output(link, stack, buf, cap, now);
    synack_link_flush(link, now);
}

int synack_link_pump(struct synack_link *link, struct synack_stack *stack, uint8_t *buf, size_t cap,
                     synack_time_t now)
{
    if (now >= synack_link_next_deadline(link)) synack_link_poll(link, now);
    int rc = 0;
    for (int i = 0; i < SYNACK_LOOP_BATCH; i++) {
        unsigned flags;
        synack_ssize n = synack_link_recv_offload(link, buf, cap, &flags, now);
        if (n == SYNACK_ERR_IO) {
            if (i == 0) rc = SYNACK_ERR_IO; /* counted by the link; next turn */
            break;
        }
        if (n == SYNACK_ERR_BUFSZ || n == 0) continue; /* dropped and counted by the link */
        if (n < 0) break;                              /* AGAIN: all read */
        (void)synack_stack_input_flags(stack, buf, (size_t)n, flags, now);
        /* The answer is taken from the stack now (an ACK per two segments, not one per
         * batch) and leaves with the others after the last input. */
        link_queue_output(link, stack, buf, cap, now);
    }
    synack_link_flush(link, now);
    if (now >= synack_stack_next_deadline(stack)) synack_stack_handle_timers(stack, now);
    return rc;
}
