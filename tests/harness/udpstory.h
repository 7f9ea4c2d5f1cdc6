/*
 * UDP on the demo's simulated path: the client sends `count` numbered datagrams, one every
 * `interval`, to the server, which reads them as they come; the links lose the packets
 * `drop` names. What the tcp-vs-udp lesson sets beside TCP on the same loss.
 */
#ifndef SYNACK_UDPSTORY_H
#define SYNACK_UDPSTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/link.h>
#include <synack/synack.h>

#define UDP_STORY_MAX 64

struct udp_story_opts {
    unsigned count;         /* datagrams, at most UDP_STORY_MAX */
    size_t size;            /* bytes each, at least 4 (the number goes first) */
    synack_time_t interval; /* between two sends */
    synack_time_t delay;    /* one-way latency of each link */
    const uint64_t *drop;   /* packet numbers the client -> server link loses */
    size_t ndrop;
    uint64_t seed;
    bool ipv6;                       /* the two ends speak IPv6 (scenario_addr) */
    const char *pcap;                /* capture of both links, or NULL */
    synack_sim_observer_fn observer; /* every packet event, or NULL */
    void *observer_ctx;
};

struct udp_story_result {
    unsigned sent, received;
    synack_time_t sent_at[UDP_STORY_MAX];
    synack_time_t arrived_at[UDP_STORY_MAX]; /* 0: never arrived */
    bool in_order;                           /* each arrived after the ones before it */
};

/* The two links between nodes node[0] and node[1], `delay` each way, the first losing the
 * packets `drop` names: 0 or the simulator's error. (The tunnel uses them too.) */
int udp_story_links(struct synack_sim *sim, const int node[2], synack_time_t delay,
                    const uint64_t *drop, size_t ndrop);

/* Runs the story. Returns 0, or a negative SYNACK_ERR_* with a sentence in `err`. */
int udp_story_run(const struct udp_story_opts *o, struct udp_story_result *r, char *err,
                  size_t errcap);

#endif
