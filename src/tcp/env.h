/*
 * The environment of the TCP engine: what it may use of the stack that owns it, and what it
 * keeps for all the connections of that stack (ARCHITECTURE.md: tcp/ never includes
 * stack/; the stack passes the engine an explicit environment).
 *
 * The stack embeds one struct tcp_env and fills its first part at creation with what it
 * lends: its configuration, its counters, its event queue, and what TCP draws from together
 * with the rest of the stack (the ids of connections, listeners and UDP
 * sockets, the IPv4 identification, the ephemeral port counter). The rest is TCP's own:
 * the demux table and the listeners, every connection, the orphans, the TIME-WAIT records,
 * the deadline heap, the output list and the queue of TCB-less segments. Every connection
 * and listener points to its env.
 *
 * All of it is plain data, reached directly: no function pointer, so no indirect call on
 * the path of a segment. The stack calls in (tcp_input, tcp_icmp_input, tcp_connect,
 * tcp_listen, tcp_listener_connect, the functions below) and pulls what TCP sends
 * (tcp_ctl_output, tcp_conns_output); the application calls the public functions of
 * tcp/user.c and tcp/listen.c, which need nothing of the stack beyond the env.
 */
#ifndef SYNACK_TCP_ENV_H
#define SYNACK_TCP_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "base/evq.h"
#include "base/list.h"
#include "base/timers.h"
#include "wire/wire.h"

struct synack_tcp;
struct synack_listener;
struct tcp_tw;

/* A segment sent without a TCB: a RST (closed port, abort), the ACK of a TIME-WAIT record,
 * a SYN-ACK carrying a SYN cookie. The header is complete when queued (no payload). */
struct tcp_ctl_seg {
    struct synack_addr laddr, raddr;
    struct wire_tcp_repr tcp;
};

/* Answers to segments that found no connection (and cookie SYN-ACKs, TIME-WAIT ACKs) take
 * at most this many slots: a flood between two output calls costs no more. */
#define TCP_CTLQ_CAP 64

/* The storage cache (tcp_env.store_cache, tcp/autotune.c): blocks of at least
 * TCP_STORE_CACHE_MIN bytes that drained buffers and tables gave back. It holds at most
 * TCP_STORE_CACHE blocks and TCP_STORE_CACHE_BYTES together (the newest; a block that does
 * not fit pushes out the oldest). What is past TCP_STORE_KEEP blocks or TCP_STORE_KEEP_BYTES
 * goes back to the allocator once the cache has served no allocation for TCP_STORE_IDLE
 * (a deadline of the stack's, tcp_next_deadline): the newest blocks within both stay. */
#define TCP_STORE_CACHE 32
#define TCP_STORE_CACHE_MIN 4096
#define TCP_STORE_CACHE_BYTES ((size_t)64 << 20)
#define TCP_STORE_KEEP 4
#define TCP_STORE_KEEP_BYTES ((size_t)2 << 20)
#define TCP_STORE_IDLE SYNACK_S(1)

struct tcp_env {
    /* ---- lent by the stack before tcp_env_init, valid for the env's whole life ---- */
    const struct synack_config *cfg;
    struct synack_counters *counters; /* the stack's: TCP adds to them */
    struct evq *events;               /* what synack_stack_next_event hands out */
    uint64_t *next_id;                /* ids of connections, listeners and UDP sockets */
    uint16_t *ip_id;                  /* the next IPv4 identification */
    uint32_t *port_counter;           /* RFC 6056 §3.3.3: advanced by every ephemeral port
                                         choice, UDP's too */

    /* ---- TCP's own: made by tcp_env_init, freed by tcp_env_free ---- */
    uint8_t hash_key[16]; /* keys the 4-tuple hash of every table (tcp_tuple_hash) */
    /* The hash of the segment an input batch is taking, computed when its tuple was
     * hinted (tcp_demux_prefetch): tcp_tuple_hash answers from it for that tuple. */
    struct tcp_hint {
        bool valid;
        uint16_t lport, rport;
        struct synack_addr laddr, raddr;
        uint64_t hash;
    } hint;

    /* Demux: 4-tuple hash (power-of-two buckets, chained, sized by what it holds: demux.c)
     * and the listeners. */
    struct synack_tcp **buckets;
    size_t nbuckets;
    size_t ndemux; /* connections in the buckets */
    /* During a resize, the table before it, whose buckets below `moved` have moved; at
     * demux_at, DEMUX_IDLE_AFTER after the last step (store_seen then), a stack that took no
     * segment, insert or remove since moves a larger step itself (tcp_handle_timers). */
    struct synack_tcp **old;
    size_t old_n, moved;
    synack_time_t demux_at;
    struct synack_listener *listeners;

    size_t nconns; /* connections allocated (in the demux or held by the app) */
    /* How many connections (e->all) and TIME-WAIT records hold each local port, so that a
     * bind to a port nobody holds is answered without walking them (tcp_bind_conflicts).
     * Made once they number TCP_PORT_INDEX_MIN (a walk is cheaper below); NULL before, or
     * if the allocator refused it (port_index_failed: bind walks, as it did before). */
    uint32_t *port_holders;
    bool port_index_failed;
    struct synack_tcp *all;  /* every allocated connection: freed with the stack */
    struct synack_tcp *dead; /* destroyed during the current public call, chained through
                                all_next: freed by tcp_reap() before the call returns */

    /* TIME-WAIT records of released connections (tcp/timewait.c): a chained hash by
     * 4-tuple and a list in expiry order, which is their timer. */
    struct tcp_tw **tw_buckets;
    size_t tw_nbuckets;
    size_t ntw;
    struct list tw_list; /* the records through their `node`, in expiry order */

    /* Orphans: released connections still sending or closing, oldest first
     * (max_orphans). */
    struct list orphans; /* through each connection's `orphan` node */
    size_t norphans;

    /* Data held by every connection (tcp_mem_sync), against cfg->mem_budget. */
    size_t mem_held;
    /* Bytes allocated for every connection's buffers and tables beyond its TCB (tcp/
     * autotune.c counts each allocation and free; dead connections count until freed). */
    size_t conn_storage;
    /* Blocks that drained buffers gave back, kept for the next allocation of their size
     * (tcp/autotune.c: tcp_block_alloc, tcp_block_free): store_n of them, oldest first,
     * store_cached bytes together. Past what is kept (TCP_STORE_KEEP, _KEEP_BYTES), the
     * rest is freed at store_trim_at unless the cache served an allocation since the
     * deadline was set (store_hit: it is set again). store_seen is the latest time a public
     * call brought to TCP (tcp_env_seen: every segment, every timer call, and the user
     * calls that add, remove or drain connections), from which that deadline counts when a
     * block is cached, and the demux's (demux_at). */
    struct {
        void *p;
        size_t size;
    } store_cache[TCP_STORE_CACHE];
    unsigned store_n;
    bool store_hit;
    size_t store_cached;
    synack_time_t store_trim_at;
    synack_time_t store_seen;

    /* Deadlines: one heap node per connection. */
    struct timers timers;
    struct timer_node **timer_storage;

    /* Output: connections that may have something to send, in FIFO order. */
    struct synack_tcp *out_head, *out_tail;
    /* TCB-less segments, a ring: TCP_CTLQ_CAP slots, grown (up to TCP_CTLQ_CAP +
     * max_conns) only for the RSTs of connections that end (tcp_ctl_push_owed). */
    struct tcp_ctl_seg *ctlq;
    size_t ctl_cap, ctl_head, ctl_len;

    /* RFC 4987: when the last SYN cookie went out (SYNACK_NEVER: none yet). In "overflow"
     * mode an ACK to a listener is checked as a cookie only within a cookie's lifetime of
     * it, as Linux does: no overflow, no cookie to forge. */
    synack_time_t cookie_sent_at;
};

/* ---- for the stack ---- */

/* Sets up TCP's own part of `e`, whose lent part the stack has filled. 0, or
 * SYNACK_ERR_NOMEM (tcp_env_free then frees what was made). */
int tcp_env_init(struct tcp_env *e);
/* Destroys every connection, listener and TIME-WAIT record and frees TCP's tables; also
 * after a tcp_env_init that failed, or did not run (nothing of TCP's own made yet). */
void tcp_env_free(struct tcp_env *e);
/* The out-of-line part of tcp_reap: frees every connection on the dead list. */
void tcp_free_dead(struct tcp_env *e);
/* Frees the connections destroyed during this public call. Every public entry point that
 * can end a connection calls it last, so nothing up the call stack holds a freed one.
 * Inline: most calls find nothing to free. */
static inline void tcp_reap(struct tcp_env *e)
{
    if (e->dead) tcp_free_dead(e);
}
/* Whether a TCB-less segment waits, and whether a connection may have one to send: asked
 * inline, so an output call that finds nothing of TCP's makes no call into it. */
static inline bool tcp_ctl_pending(const struct tcp_env *e)
{
    return e->ctl_len != 0;
}
static inline bool tcp_conns_pending(const struct tcp_env *e)
{
    return e->out_head != NULL;
}
/* Writes the oldest TCB-less segment as a packet: its length, 0 if none waits, or
 * SYNACK_ERR_BUFSZ. */
synack_ssize tcp_ctl_output(struct tcp_env *e, uint8_t *buf, size_t cap);
/* Writes the next segment of the connections that may have one to send, each in turn (a
 * connection that sent goes to the back of the line): its length, 0 when none has
 * anything, or SYNACK_ERR_BUFSZ. `tx` and `meta` as for tcp_output. */
synack_ssize tcp_conns_output(struct tcp_env *e, uint8_t *buf, size_t cap, unsigned tx,
                              struct synack_tx_meta *meta, synack_time_t now);
/* The earliest deadline of the connections, the TIME-WAIT records, the storage cache's
 * trim and the demux's idle step (tcp_demux_deadline), or SYNACK_NEVER. */
synack_time_t tcp_next_deadline(const struct tcp_env *e);
/* Runs the connections' due timers, then ends the TIME-WAIT records that are over, then
 * trims the storage cache if its deadline has come (tcp_store_trim), then moves a step of
 * a resize that no traffic moved (tcp_demux_idle). */
void tcp_handle_timers(struct tcp_env *e, synack_time_t now);
/* A public call brought `now` to TCP (store_seen). */
static inline void tcp_env_seen(struct tcp_env *e, synack_time_t now)
{
    if (now > e->store_seen) e->store_seen = now;
}
/* Fills what TCP holds (connections, listeners, half-open, TIME-WAIT, orphans, memory)
 * and its limits into `out`. */
void tcp_env_stats(const struct tcp_env *e, struct synack_stack_stats *out);
/* synack_stack_each_socket's TCP part (tcp/walk.c): calls `fn` with `si` filled for each
 * listener, connection (but those dead) and TIME-WAIT record, in that order; the first
 * nonzero return of `fn`, or 0. */
int tcp_env_each(const struct tcp_env *e, synack_sock_fn fn, void *ctx,
                 struct synack_sock_info *si);

/* ---- for TCP ---- */

static inline void tcp_env_count_drop(struct tcp_env *e, enum synack_drop reason)
{
    e->counters->drops[reason]++;
}
/* Puts a connection on the output list (once). */
void tcp_out_add(struct tcp_env *e, struct synack_tcp *c);
void tcp_out_remove(struct tcp_env *e, struct synack_tcp *c);
/* Queues a TCB-less segment; false (counted in ctl_queue_drops) when TCP_CTLQ_CAP
 * segments wait already. */
bool tcp_ctl_push(struct tcp_env *e, const struct tcp_ctl_seg *seg);
/* Queues the RST of a connection that ends (abort, close with unread data, a timeout, a
 * listener closed over its queues). Their number is bounded by the connections that end, not
 * by what peers send, so the queue grows for them up to TCP_CTLQ_CAP + max_conns; false
 * (counted in ctl_queue_drops) past that or when memory runs out. */
bool tcp_ctl_push_owed(struct tcp_env *e, const struct tcp_ctl_seg *seg);

#endif
