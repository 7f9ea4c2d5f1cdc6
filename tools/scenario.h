/*
 * The demo's scenario: two synack stacks on a simulated path; the client connects, sends
 * `bytes` bytes, the server reads them, the connection closes. Shared by `synack demo`
 * and the simulation tests, so what the tests check is what a person sees.
 */
#ifndef SYNACK_SCENARIO_H
#define SYNACK_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/link.h>
#include <synack/synack.h>

#define SCENARIO_CLIENT_ADDR 0xc6120001u /* 198.18.0.1 */
#define SCENARIO_SERVER_ADDR 0xc6120002u /* 198.18.0.2 */
#define SCENARIO_SERVER_PORT 80
#define SCENARIO_MAX_STATES 32

struct scenario_opts {
    uint64_t bytes;                        /* client -> server payload */
    double loss;                           /* per-packet loss probability, both directions */
    synack_time_t delay;                   /* one-way latency */
    uint64_t rate_bps;                     /* 0: unlimited */
    size_t queue_bytes;                    /* 0: unlimited */
    uint64_t seed;                         /* simulator, stacks and payload */
    const char *pcap;                      /* capture file or NULL */
    bool server_closes;                    /* the server closes first once it has every byte */
    bool simultaneous_open;                /* both ends connect at once; no listener */
    bool simultaneous_close;               /* both ends close at the same instant */
    const uint64_t *drop_client_to_server; /* exact packet numbers to drop, or NULL */
    size_t drop_c2s_count;
    const uint64_t *drop_server_to_client;
    size_t drop_s2c_count;
    synack_time_t max_sim_time; /* give up after this much virtual time (0: 1 hour) */
    /* Called for every packet event on the simulated links (the ladder diagram). */
    synack_sim_observer_fn observer;
    void *observer_ctx;
    /* Called for each STATE event: side 'c' or 's'. */
    void (*on_state)(void *ctx, char side, enum synack_state from, enum synack_state to,
                     synack_time_t t);
    void *state_ctx;
};

struct scenario_side {
    enum synack_state states[SCENARIO_MAX_STATES]; /* every state passed through, in order */
    size_t nstates;
    int err;     /* the error the connection ended with, 0 if clean */
    bool closed; /* reached CLOSED */
    uint32_t addr;
    uint16_t port;
    uint32_t iss;
    struct synack_counters counters; /* the stack's */
};

struct scenario_result {
    uint64_t bytes_sent, bytes_received;
    uint64_t digest_sent, digest_received; /* FNV-1a 64 of the byte streams */
    bool intact;                           /* received == sent, byte for byte */
    uint64_t first_mismatch;               /* offset of the first wrong byte, when !intact */
    uint64_t segments;                     /* TCP segments put on the wire, both directions */
    uint64_t retransmissions;              /* both stacks */
    uint64_t lost;                         /* packets the links lost or dropped */
    synack_time_t sim_time;                /* virtual time when both ends were CLOSED */
    bool completed; /* both ends CLOSED without error, every byte delivered */
    struct scenario_side client, server;
};

void scenario_opts_default(struct scenario_opts *o);

/* Runs the scenario to the end (both connections CLOSED, or max_sim_time). Returns 0, or
 * a negative SYNACK_ERR_* with a sentence in `err` when it could not be set up. A
 * transfer that fails (timeout, reset) still returns 0: see result->completed. */
int scenario_run(const struct scenario_opts *o, struct scenario_result *r, char *err,
                 size_t errcap);

#endif
