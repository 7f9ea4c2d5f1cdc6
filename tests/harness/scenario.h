/*
 * The demo's scenario: two synack stacks on a simulated path; the client connects, sends
 * `bytes` bytes, the server reads them, the connection closes. Shared by `synack demo`
 * and the simulation tests, so what the tests check is what a person sees.
 *
 * The lessons of `synack demo --scenario` (lesson.c) bend this story through the options
 * below (a slow reader, messages, a restart, an abort, ...), so they and their tests run
 * this same code.
 *
 * The applications end their side with synack_tcp_shutdown() (the same segments as
 * synack_tcp_close()) and release a connection only when it reaches CLOSED, so each
 * side's final tcp_info (cwnd, retransmissions, ...) is in the result.
 */
#ifndef SYNACK_SCENARIO_H
#define SYNACK_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/link.h>
#include <synack/synack.h>

/* The two ends: 198.18.0.1 and 198.18.0.2, or 2001:db8::1 and 2001:db8::2 with `ipv6`. */
struct synack_addr scenario_addr(bool ipv6, bool server);
#define SCENARIO_SERVER_PORT 80
#define SCENARIO_MAX_STATES 32
#define SCENARIO_MAX_MESSAGES 64

/*
 * One sample of the data sender's (the client's) congestion state. The samples of a run
 * cover consecutive, equal intervals of virtual time (scenario_result.sample_interval),
 * the first starting when the client's connection is established, the last ending when
 * its FIN is acknowledged (or the run stops). A sample holds the state at the last
 * observation inside its interval, plus what was seen during it:
 *   - observations are the client's SYNACK_EV_CC events (cwnd and ssthresh as the
 *     event gives them) and one synack_tcp_info() at the first simulator step that falls
 *     in each interval; an interval with neither repeats the state before it;
 *   - when the buffer is full, the interval doubles and neighbouring samples merge (the
 *     later one's state, the union of phases, the min and max of cwnd), so a run of any
 *     length fits in the caller's buffer, and no phase change is ever lost.
 * Everything depends only on virtual time: the same options give the same samples.
 */
struct scenario_sample {
    synack_time_t t;             /* start of the interval (virtual time) */
    uint32_t cwnd, ssthresh;     /* bytes, at the last observation; ssthresh as tcp_info
                                    reports it before the first loss (very large) */
    uint32_t cwnd_min, cwnd_max; /* over the observations in the interval */
    synack_time_t srtt;          /* smoothed RTT at the last tcp_info, 0 before a sample */
    uint64_t pipe;               /* RFC 6675 pipe at the last tcp_info, bytes */
    uint64_t delivered;          /* bytes acknowledged so far, at the last tcp_info */
    enum synack_cc_phase phase;  /* at the last observation */
    unsigned phases;             /* bit (1u << phase) for every phase seen in the interval */
};

struct scenario_opts {
    uint64_t bytes;                        /* client -> server payload */
    double loss;                           /* per-packet loss probability, both directions */
    synack_time_t delay;                   /* one-way latency */
    uint64_t rate_bps;                     /* 0: unlimited */
    size_t queue_bytes;                    /* drop-tail queue of each link; 0: unlimited */
    uint64_t seed;                         /* simulator, stacks and payload */
    const char *pcap;                      /* capture file or NULL */
    bool server_closes;                    /* the server closes first once it has every byte */
    bool simultaneous_open;                /* both ends connect at once; no listener */
    bool ipv6;                             /* the two stacks speak IPv6, not IPv4 */
    bool simultaneous_close;               /* both ends close at the same instant */
    const uint64_t *drop_client_to_server; /* exact packet numbers to drop, or NULL */
    size_t drop_c2s_count;
    const uint64_t *drop_server_to_client;
    size_t drop_s2c_count;
    synack_time_t max_sim_time; /* give up after this much virtual time (0:
                                   SCENARIO_MAX_SIM_TIME) */
    /* TCP, the same for both stacks (the client is the end that sends data). */
    enum synack_cc cc;             /* congestion controller (default CUBIC) */
    bool sack;                     /* offer SACK (default on) */
    bool timestamps;               /* offer RFC 7323 timestamps (default on) */
    bool window_scale;             /* offer RFC 7323 window scaling (default on) */
    size_t sndbuf;                 /* per connection, bytes; 0: the stack's default */
    size_t rcvbuf;                 /* per connection, bytes; 0: the stack's default, at most 65535
                                      without window scaling */
    size_t fix_sndbuf, fix_rcvbuf; /* synack_tcp_set_bufsize on each connection as it opens
                                       (connect, accept), as SO_SNDBUF and SO_RCVBUF would:
                                       0 leaves that buffer to autotuning */
    bool watch_buffers;            /* record each side's sndbuf_peak and rcvbuf_peak */
    /* The lessons of `synack demo --scenario` (tests/harness/lesson.c) bend the story: */
    void (*tune)(struct synack_config *cfg, bool server); /* last word on each stack's config */
    synack_time_t server_read_from;  /* the server application reads nothing before this */
    synack_time_t server_read_every; /* ... and then reads only once in each such period, at
                                        its start (a reader on its own schedule); 0: as data
                                        comes */
    synack_time_t client_close_at;   /* the client closes no earlier than this (an idle
                                        connection in between) */
    uint64_t server_bytes;           /* after the client's FIN the server answers with this
                                        many bytes, then closes (a half-closed connection) */
    bool no_listener;                /* nobody listens on the server's port */
    bool client_aborts;              /* the client aborts (SO_LINGER 0) once all is written */
    /* Messages instead of `bytes`: the client writes message k, message_sizes[k] bytes of
     * the letter 'A' + k % 26, with one send() each; with `framed` each goes after its
     * length as 2 bytes, big-endian. At most SCENARIO_MAX_MESSAGES of at most 65535. */
    const size_t *message_sizes;
    size_t nmessages;
    bool framed;
    synack_time_t message_interval; /* message k is written at k * interval after connect */
    /* SO_REUSEADDR: the server's listener is opened without it when `listen_plain`; with
     * `restart` the server, once its connection is in TIME_WAIT, closes its listener and
     * listens on the same port again, with SYNACK_BIND_REUSEADDR when `restart_reuseaddr`
     * (result: restart_rc). */
    bool listen_plain;
    bool restart;
    bool restart_reuseaddr;
    /* Called for each socket call of the applications (listen, connect, accept, send,
     * recv, close, shutdown, the restart's close and listen): side 'c' or 's', the call
     * as text (a literal, which the callee may keep), what it returned (send and recv: the bytes;
     * recv's AGAIN is not told). */
    void (*on_call)(void *ctx, char side, const char *call, int rc, synack_time_t t);
    void *call_ctx;
    /* Called for each read() of the server application that returned data. */
    void (*on_read)(void *ctx, const uint8_t *data, size_t n, synack_time_t t);
    void *read_ctx;
    /* When set, the client's congestion state is recorded here (see scenario_sample). */
    struct scenario_sample *samples;
    size_t samples_cap; /* at least 2 */
    /* Called for every packet event on the simulated links (the ladder diagram). */
    synack_sim_observer_fn observer;
    void *observer_ctx;
    /* Called for each STATE event: side 'c' or 's'. */
    void (*on_state)(void *ctx, char side, enum synack_state from, enum synack_state to,
                     synack_time_t t);
    void *state_ctx;
    /* Called every SCENARIO_PROGRESS_STEPS simulator steps with the bytes the server has
     * read so far, of `total` (the bytes or the messages), at virtual time `now`: what a
     * progress line needs. The harness reads no clock; the caller paces what it shows. */
    /* An application heartbeat on top of TCP (the keepalive lesson): once connected, the
     * client writes "PING" every heartbeat_interval and the server answers each with
     * "PONG". An end that has heard neither from the other for heartbeat_misses intervals
     * declares it dead and aborts its connection (scenario_side.dead_at). 0: none. The
     * pings are the client's only data: `bytes` 0. */
    synack_time_t heartbeat_interval;
    unsigned heartbeat_misses;
    /* From this virtual time on both links drop every packet, and neither end is told (a
     * cut cable, a peer that vanished). 0: never. */
    synack_time_t links_cut_at;
    /* From this virtual time on both links delay each packet by reroute_delay, not
     * `delay` (a route change). 0: never. */
    synack_time_t reroute_at;
    synack_time_t reroute_delay;
    void (*on_progress)(void *ctx, uint64_t done, uint64_t total, synack_time_t now);
    void *progress_ctx;
};
#define SCENARIO_PROGRESS_STEPS 4096

struct scenario_side {
    enum synack_state states[SCENARIO_MAX_STATES]; /* every state passed through, in order */
    size_t nstates;
    int err;     /* the error the connection ended with, 0 if clean */
    bool closed; /* reached CLOSED */
    struct synack_addr addr;
    uint16_t port;
    uint32_t iss;
    struct synack_counters counters; /* the stack's */
    /* The connection as it ended: taken when it reached CLOSED (before it was freed) or
     * when the run stopped, whichever came first. Valid when has_info. */
    struct synack_tcp_info info;
    bool has_info;
    /* With opts.watch_buffers: the largest buffer sizes tcp_info reported after any
     * simulator step while the connection was open. */
    size_t sndbuf_peak, rcvbuf_peak;
    int bufsize_rc; /* what synack_tcp_set_bufsize returned (opts.fix_sndbuf, fix_rcvbuf) */
    /* The heartbeat (opts.heartbeat_interval): PINGs or PONGs this end wrote and heard,
     * and when it declared the other dead (0: never). */
    uint64_t heartbeats_sent, heartbeats_heard;
    synack_time_t dead_at;
};

struct scenario_result {
    uint64_t bytes_sent, bytes_received;
    uint64_t reply_sent, reply_received;   /* server -> client (server_bytes) */
    uint64_t digest_sent, digest_received; /* FNV-1a 64 of the byte streams' 64-bit words */
    bool intact;                           /* received == sent, byte for byte */
    uint64_t first_mismatch;               /* offset of the first wrong byte, when !intact */
    uint64_t segments;                     /* TCP segments put on the wire, both directions */
    uint64_t retransmissions;              /* both stacks */
    uint64_t lost;                         /* packets the links lost or dropped */
    synack_time_t sim_time;                /* virtual time when both ends were CLOSED */
    bool completed;        /* both ends CLOSED without error, every byte delivered (the
                              reply's too) */
    bool hit_time_limit;   /* stopped at max_sim_time with an end not yet CLOSED */
    size_t sndbuf, rcvbuf; /* the buffers each stack was given: the options or the defaults */
    size_t sndbuf_max, rcvbuf_max; /* how far autotuning may grow them (equal: fixed) */
    struct scenario_side client, server;
    /* Goodput: bytes_received * 8 / transfer_time, in bits per second (0 when no data
     * arrived). transfer_time runs from first_data_sent, the virtual time the client's
     * first segment carrying data was put on the link, to last_data_read, the time the
     * server application read its last byte. Handshake, close and TIME_WAIT are not in
     * it; the last byte's one-way trip is. */
    double goodput_bps;
    synack_time_t transfer_time;
    synack_time_t first_data_sent, last_data_read;
    bool restarted;                /* opts.restart happened */
    int restart_rc;                /* what the restart's listen returned */
    size_t nsamples;               /* samples written to opts.samples */
    synack_time_t sample_interval; /* the virtual time each sample covers */
};

/* The virtual time a run may take when max_sim_time is 0. */
#define SCENARIO_MAX_SIM_TIME SYNACK_S(3600)

void scenario_opts_default(struct scenario_opts *o);

/* Runs the scenario to the end (both connections CLOSED, or max_sim_time). Returns 0, or
 * a negative SYNACK_ERR_* with a sentence in `err` when it could not be set up. A
 * transfer that fails (timeout, reset) still returns 0: see result->completed. */
int scenario_run(const struct scenario_opts *o, struct scenario_result *r, char *err,
                 size_t errcap);

#endif
