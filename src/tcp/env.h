/*
 * The environment of the TCP engine: what it may use of the stack that owns it.
 *
 * The stack embeds one struct tcp_env and fills it at creation with what it lends: its
 * configuration, its counters, its event queue, and what TCP draws from together with the
 * rest of the stack (a scratch buffer, the ids of connections, listeners and UDP sockets,
 * the IPv4 identification). Every connection and listener points to it. All of it is
 * plain data: nothing is reached through a function pointer.
 */
#ifndef SYNACK_TCP_ENV_H
#define SYNACK_TCP_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "base/evq.h"

struct tcp_env {
    /* ---- lent by the stack (tcp_env_init), valid for the env's whole life ---- */
    const struct synack_config *cfg;
    struct synack_counters *counters; /* the stack's: TCP adds to them */
    struct evq *events;               /* what synack_stack_next_event hands out */
    uint8_t *scratch;                 /* cfg->mtu bytes, shared: a segment's payload
                                         is copied here on its way out */
    uint64_t *next_id;                /* ids of connections, listeners and UDP sockets */
    uint16_t *ip_id;                  /* the next IPv4 identification */
};

#endif
