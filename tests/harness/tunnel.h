/*
 * TCP carried over UDP on the simulated path: two "outer" stacks exchange UDP datagrams
 * on the simulator's links, and each datagram carries one IP packet of two "inner" stacks
 * (the client 198.18.0.1 and the server 198.18.0.2, as in the demo) that talk TCP through
 * them. The links lose outer datagrams; UDP never resends one, the inner TCP does. What
 * `synack cat --link udp:` does between processes, and the reliable-udp lesson shows.
 */
#ifndef SYNACK_TUNNEL_H
#define SYNACK_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/link.h>
#include <synack/synack.h>

#define TUNNEL_PORT 7000      /* the outer UDP port of both ends */
#define TUNNEL_INNER_MTU 1400 /* leaves room for the outer IPv4 and UDP headers */

struct tunnel_opts {
    uint64_t bytes;       /* the inner client sends this many to the inner server */
    synack_time_t delay;  /* one-way latency */
    const uint64_t *drop; /* outer datagrams the client -> server link loses */
    size_t ndrop;
    uint64_t seed;
    bool ipv6;        /* the inner TCP speaks IPv6 (the outer UDP stays IPv4) */
    const char *pcap; /* capture of the outer links (UDP datagrams), or NULL */
    /* Every packet event of the outer links with the inner packet in place of the
     * datagram (pkt, len: the inner IP packet), or NULL. */
    synack_sim_observer_fn observer;
    void *observer_ctx;
};

struct tunnel_result {
    uint64_t bytes_received;    /* by the inner server, checked byte by byte */
    bool intact, completed;     /* completed: every byte arrived and both ends closed */
    uint64_t datagrams_sent;    /* outer UDP datagrams, both ways */
    uint64_t datagrams_lost;    /* outer datagrams the links lost */
    uint64_t inner_retransmits; /* by the inner TCP, both ends */
    uint16_t inner_mss;         /* the MSS the inner client offered */
};

int tunnel_run(const struct tunnel_opts *o, struct tunnel_result *r, char *err, size_t errcap);

#endif
