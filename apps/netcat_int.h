/*
 * Inside `synack cat` (netcat.h has the contract): what its TCP mode (netcat.c) and its UDP
 * mode (netcat_udp.c) share. netcat.c holds the shared engine: stdin and stdout, the pumps
 * between them and the transport, the event loop and the signals; a mode plugs in through
 * struct netcat_mode. Not for use outside apps/netcat*.c.
 */
#ifndef SYNACK_NETCAT_INT_H
#define SYNACK_NETCAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netcat.h"

#define NETCAT_CHUNK (64 * 1024) /* bytes of stdout's buffer: a recv, or any datagram whole */

/* One end of the pipe between a descriptor and the connection. */
struct netcat_fd {
    int fd;
    int saved_flags;   /* fcntl flags to restore at exit; -1 when unchanged */
    bool never_blocks; /* O_NONBLOCK, or a regular file: read/write may be repeated */
    bool watched;      /* the loop is told to watch it */
    uint8_t *buf;      /* NETCAT_CHUNK bytes */
    size_t off, len;   /* bytes waiting: read from stdin not yet sent, or not yet written */
};

struct netcat;

/* What a mode (TCP or UDP) gives the shared engine. */
struct netcat_mode {
    size_t read_size; /* bytes per read of stdin (at most NETCAT_CHUNK) */
    /* Opens the connection, listener or socket before the first turn. 0, or the exit
     * status after printing why. */
    int (*start)(struct netcat *c);
    /* The loop's turn hook: reads the stack's events, moves data with netcat_pump_send and
     * netcat_pump_recv, and sets `stop` (and `status`) when the run is over. */
    void (*turn)(void *c, synack_time_t now);
    /* Whether what stdin gives may go out now (TCP: established; UDP: a peer is known). */
    bool (*can_send)(const struct netcat *c);
    /* Sends `len` bytes from stdin: how many were taken (TCP: maybe fewer; UDP: all, as one
     * datagram), AGAIN when there is no room now (WRITABLE follows), or an error that ends
     * the connection (SYNACK_ERR_*). */
    synack_ssize (*send)(struct netcat *c, const uint8_t *data, size_t len, synack_time_t now);
    /* stdin has ended and all it gave was sent (TCP: shut down the write side; UDP: start
     * -q). 0, or an error that ends the connection. */
    int (*input_done)(struct netcat *c, synack_time_t now);
    /* Takes what comes next for stdout into `buf` (`cap` bytes): its length (0: nothing to
     * write from this one, ask again), AGAIN when nothing more is to be had now (TCP: also
     * after the peer's FIN, noted by the mode), or an error that ends the connection. */
    synack_ssize (*recv)(struct netcat *c, uint8_t *buf, size_t cap, synack_time_t now);
    /* When the loop must turn at the latest for the mode's own timers (TCP: -w while
     * connecting; UDP: -w, -q), or SYNACK_NEVER. */
    synack_time_t (*deadline)(const struct netcat *c);
    /* After the loop stopped (by the mode, a failure or a signal): winds down and releases
     * what start opened. */
    void (*finish)(struct netcat *c);
};

/* UDP mode: its socket and its peer. */
struct netcat_udp {
    struct synack_udp *sock;
    struct synack_endpoint peer; /* where stdin goes; port 0: no datagram has come yet (-l) */
    bool connected;              /* the socket is connected to `peer` (all but -l -k) */
    synack_time_t idle_at;       /* -w: the end when nothing happens until then, or NEVER */
    synack_time_t quit_at;       /* -q: the end, once stdin has ended, or NEVER */
    bool closing;                /* -w or -q expired: no more datagrams are taken */
    uint64_t ignored;            /* datagrams of others queued before the socket connected */
};

struct netcat {
    struct net_env env;
    const struct netcat_opts *o;
    const struct netcat_mode *mode;
    struct netcat_fd in, out;
    bool in_eof;       /* stdin reached end of file (for good: -k shares it) */
    bool in_done;      /* stdin ended and all it gave was sent: mode->input_done called
                          (TCP: the FIN is queued) */
    int err;           /* the connection's error (SYNACK_ERR_*) */
    bool local_failed; /* stdin or stdout failed (message printed) */
    bool stop;
    int status;
    /* TCP mode (netcat.c) */
    struct synack_listener *listener;
    struct synack_tcp *tcp; /* the connection being served, or NULL */
    uint64_t conn_id;
    bool established; /* CONNECTED (or accepted): data may flow */
    bool peer_eof;    /* recv returned 0: the peer's FIN and all its data are in */
    synack_time_t connect_deadline;
    bool link_refused;     /* the UDP link's peer is not running (net_env_link_refused) */
    synack_time_t quit_at; /* TCP -q: when to end after the end of stdin (0: not yet due) */
    /* UDP mode (netcat_udp.c) */
    struct netcat_udp udp;
};

extern const struct netcat_mode netcat_udp_mode;

/* Pauses (events 0) or resumes watching stdin or stdout (SYNACK_LOOP_IN / OUT). */
void netcat_watch(struct netcat *c, struct netcat_fd *f, unsigned events);

/* Sends what stdin gave through mode->send while the mode can send and takes it; once
 * stdin has ended and all is sent, calls mode->input_done once. Watches stdin exactly
 * when nothing read from it waits. A failure lands in c->err. */
void netcat_pump_send(struct netcat *c, synack_time_t now);

/* Writes what waits for stdout, then takes more with mode->recv while stdout takes it all,
 * a bounded number of rounds a turn (stdout's readiness brings the next). A failure lands
 * in c->err, or prints and sets c->local_failed (stdout). */
void netcat_pump_recv(struct netcat *c, synack_time_t now);

/* -l: the endpoint to listen on: PORT of -l ADDR, else of the wildcard of -4 or -6, else of
 * both families (SYNACK_AF_NONE). */
struct synack_endpoint netcat_listen_endpoint(const struct netcat_opts *o);

/* With -v: "synack cat: listening on `what` 5000" (what: "port", "UDP port"), with ": " and
 * the endpoint when it is of one family. */
void netcat_log_listening(const struct netcat *c, const char *what,
                          const struct synack_endpoint *local);

/* Prints the failure `err` of the connection with `peer` ("to 198.18.0.1:5000", "from
 * [2001:db8::1]:40000") in one line: "synack cat: connection to 198.18.0.1:5000 refused". */
void netcat_report(const struct netcat *c, const char *peer, int err);

#endif
