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

struct synack_tcp;
struct synack_listener;

struct tcp_env {
    /* ---- lent by the stack (tcp_env_init), valid for the env's whole life ---- */
    const struct synack_config *cfg;
    struct synack_counters *counters; /* the stack's: TCP adds to them */
    struct evq *events;               /* what synack_stack_next_event hands out */
    uint8_t *scratch;                 /* cfg->mtu bytes, shared: a segment's payload
                                         is copied here on its way out */
    uint64_t *next_id;                /* ids of connections, listeners and UDP sockets */
    uint16_t *ip_id;                  /* the next IPv4 identification */
    uint32_t *port_counter;           /* RFC 6056 §3.3.3: advanced by every ephemeral port
                                         choice, UDP's too */

    /* ---- TCP's own: made by tcp_env_init, freed by tcp_env_free ---- */
    uint8_t hash_key[16]; /* keys the 4-tuple hash of every table (tcp_tuple_hash) */
    /* Demux: 4-tuple hash (power-of-two buckets, chained) and the listeners. */
    struct synack_tcp **buckets;
    size_t nbuckets;
    struct synack_listener *listeners;
};

/* Sets up TCP's own part of `e`, whose lent part the stack has filled. 0, or
 * SYNACK_ERR_NOMEM (tcp_env_free then frees what was made). */
int tcp_env_init(struct tcp_env *e);
/* Frees the listeners and the tables. */
void tcp_env_free(struct tcp_env *e);

#endif
