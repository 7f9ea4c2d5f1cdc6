/* The TCP environment: what TCP keeps for every connection of its stack. */
#include "tcp/env.h"

#include "base/alloc.h"
#include "tcp/conn.h"

int tcp_env_init(struct tcp_env *e)
{
    const struct synack_config *cfg = e->cfg;
    /* The demux key derives from the secret, so it differs per stack but stays
     * deterministic for a given configuration. */
    for (int i = 0; i < 16; i++)
        e->hash_key[i] =
            (uint8_t)(cfg->isn_secret[i] ^ (uint8_t)(cfg->seed >> (8 * (i % 8))) ^ 0x5a);
    return tcp_demux_init(e);
}

void tcp_env_free(struct tcp_env *e)
{
    while (e->listeners) {
        struct synack_listener *l = e->listeners;
        e->listeners = l->next;
        alloc_free(e->cfg, l);
    }
    alloc_free(e->cfg, e->buckets);
    e->buckets = NULL;
}
