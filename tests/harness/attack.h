/*
 * Attacks on the simulated network, measured: what `synack demo --syn-flood` and
 * `synack demo --blind` show, and what tests/sim/test_attack.c asserts (at a reduced size).
 *
 * SYN flood: an attacker sends SYNs from random spoofed sources (198.19.0.0/16, where
 * nothing answers) at a steady rate for a while, into the link that carries N legitimate
 * clients' handshakes to one listener. Each client connects at a random moment of the
 * flood; a client whose connection is established closes it, the server accepts and
 * closes every connection. Reported: how many legitimate handshakes completed, their
 * connect times, the server's peak memory (connections and TIME_WAIT records) and
 * counters (drops, SYN cookies).
 *
 * Blind injection: established connections carry data client -> server while an off-path
 * attacker who knows their 4-tuples but not their sequence numbers injects RSTs, SYNs, data
 * segments and pure ACKs with random sequence and acknowledgment numbers, both ways.
 * Reported: connections reset, stalled, bytes delivered wrong, goodput; with `control`, one
 * RST carrying the exact sequence number is injected too and must reset its connection.
 *
 * Everything is deterministic in the seed: the same options give the same result.
 */
#ifndef SYNACK_ATTACK_H
#define SYNACK_ATTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#define ATTACK_CLIENT_ADDR 0xc6120001u   /* 198.18.0.1: the legitimate side */
#define ATTACK_SERVER_ADDR 0xc6120002u   /* 198.18.0.2: the listener */
#define ATTACK_ATTACKER_ADDR 0xc6120063u /* 198.18.0.99: the attacker's own address */
#define ATTACK_SERVER_PORT 80

struct flood_opts {
    uint64_t rate;                  /* spoofed SYNs per second; 0: no flood */
    synack_time_t duration;         /* how long the flood lasts */
    unsigned clients;               /* legitimate clients */
    synack_time_t client_window;    /* clients start at random times in [0, this) */
    enum synack_syncookies cookies; /* the server's setting */
    unsigned backlog;               /* the listener's backlog */
    synack_time_t delay;            /* one-way latency between clients and server */
    synack_time_t max_time;         /* the run stops here at the latest */
    uint64_t seed;
    const char *pcap; /* capture of every link (the flood too), or NULL */
};

/* 1,000,000 SYN/s for 1 s, 1,000 clients over that second, cookies "overflow", backlog
 * 128, 10 ms, 300 s at most. */
void flood_opts_default(struct flood_opts *o);

struct flood_result {
    unsigned clients, completed, failed; /* failed: the connect reported an error */
    synack_time_t connect_p50, connect_p90, connect_p99, connect_max; /* of completed ones */
    uint64_t spoofed;                                                 /* SYNs the attacker sent */
    size_t peak_half_open, peak_conns, peak_time_wait; /* the server's, over the run */
    size_t peak_bytes;   /* peak of conns * conn_bytes + conn_storage (their buffers and
                            tables) + time_wait * time_wait_bytes */
    size_t peak_storage; /* conn_storage at that peak */
    size_t conn_bytes;   /* what one connection allocates on the server when it is made */
    struct synack_counters server;
    synack_time_t sim_time;
    uint64_t steps; /* simulator steps */
};

/* Runs the flood. Returns 0, or a negative SYNACK_ERR_* with a sentence in `err`. */
int flood_run(const struct flood_opts *o, struct flood_result *r, char *err, size_t errcap);

struct blind_opts {
    unsigned conns;         /* connections carrying data */
    uint64_t bytes;         /* each sends this many bytes client -> server */
    synack_time_t delay;    /* one-way latency */
    uint64_t rate_bps;      /* link rate both ways (0: unlimited) */
    size_t queue_bytes;     /* drop-tail queue of each link */
    unsigned per_kind;      /* spoofed packets of each kind (RST, SYN, data, ACK); 0: none */
    uint64_t inject_rate;   /* spoofed packets per second */
    bool control;           /* also one exact-sequence RST, 0.5 s into the injection, to a
                               connection still carrying data */
    synack_time_t max_time; /* give up here */
    uint64_t seed;
    const char *pcap;
};

/* 4 connections of 16 MiB over 10 ms at 100 Mbit/s (256 KiB queues), 10,000 of each kind
 * at 8,000 packets/s, no control RST, 600 s at most. */
void blind_opts_default(struct blind_opts *o);

enum { BLIND_RST, BLIND_SYN, BLIND_DATA, BLIND_ACK, BLIND_KINDS };

struct blind_result {
    unsigned conns, completed; /* completed: every byte delivered and both ends CLOSED */
    unsigned reset;            /* connections that ended with an error */
    unsigned stalled;          /* neither completed nor reset when the run stopped */
    uint64_t bytes_sent, bytes_received, bytes_wrong; /* wrong: read but not what was sent */
    uint64_t injected[BLIND_KINDS];
    bool control_reset; /* with control: the targeted connection was reset (CONNRESET) */
    double goodput_bps; /* all payload bits over the time from first data to last byte read */
    synack_time_t transfer_time;
    struct synack_counters client, server;
    synack_time_t sim_time;
};

int blind_run(const struct blind_opts *o, struct blind_result *r, char *err, size_t errcap);

#endif
