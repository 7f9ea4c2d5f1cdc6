/*
 * UDP endpoints (RFC 768): one socket's addresses, its queue of received datagrams and its
 * counters. Sans-I/O and below the stack: the stack (src/stack/udp.c) owns the sockets,
 * finds the one a datagram is for, builds what they send and hands them ICMP errors.
 */
#ifndef SYNACK_UDP_H
#define SYNACK_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "base/ring.h"

/* What each received datagram costs in the queue besides its data: its length and the
 * sender's endpoint. */
#define UDP_RX_RECORD_HDR (2 + 1 + 16 + 2)

struct synack_udp {
    struct synack_udp *next; /* in the stack's list of sockets */
    struct synack_stack *stack;
    uint64_t id;
    void *user;
    struct synack_endpoint local;  /* address: the stack's, a wildcard, or SYNACK_AF_NONE */
    struct synack_endpoint remote; /* port 0: not connected */
    int pending_err;               /* ICMP error a connected socket reports next, or 0 */
    bool error_event_sent;         /* an ERROR event is out for pending_err */
    bool want_writable;            /* a send got AGAIN: WRITABLE when there is room */
    struct ring rx;                /* records: length, sender, data (UDP_RX_RECORD_HDR) */
    size_t rx_count, rx_max;       /* datagrams queued, and at most */
    size_t rx_bytes;               /* their data */
    struct synack_counters counters;
};

/* Sets up the receive queue over `storage` (`cap` bytes, records included). */
void udp_rx_init(struct synack_udp *u, uint8_t *storage, size_t cap, size_t max_datagrams);

/* Queues a datagram from `from`; false when it does not fit (the queue is left as it was:
 * RFC 8085 §3.1.5 lets a receiver drop what it cannot hold). */
bool udp_rx_push(struct synack_udp *u, const struct synack_endpoint *from, const uint8_t *data,
                 size_t len);

/* Takes the oldest datagram: copies min(len, cap) bytes, fills `from` (may be NULL) and
 * returns its whole length; -1 when none waits. */
ptrdiff_t udp_rx_pop(struct synack_udp *u, uint8_t *buf, size_t cap, struct synack_endpoint *from);

/* How well socket `u` takes a datagram to `dst` from `src`: 0 not at all; else higher is
 * more specific (a connected socket whose peer is `src`, then one bound to `dst`, to its
 * family's wildcard, to both families). */
int udp_match(const struct synack_udp *u, const struct synack_endpoint *dst,
              const struct synack_endpoint *src);

/* True when sockets bound to `a` and `b` (addresses, same port) would overlap. */
bool udp_bindings_overlap(const struct synack_addr *a, const struct synack_addr *b);

/* True when `local` (the socket's bound address) may send to a peer of `family`. */
bool udp_local_allows(const struct synack_addr *local, enum synack_family family);

#endif
