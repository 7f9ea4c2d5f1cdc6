/*
 * netcat over synack (the engine of `synack cat`): stdin goes to a TCP connection and the
 * connection to stdout, on a TUN device or UDP encapsulation (netopt.h builds the stack,
 * the link chain and the event loop). At end of file on stdin the write side is shut down
 * (a FIN: half-close) and reading goes on until the peer closes too. Back-pressure both
 * ways: stdin is read only while the send buffer has room, and data is taken from the
 * connection only as fast as stdout accepts it, so the receive window closes when stdout
 * is slow.
 *
 * Connect (HOST PORT) or listen (-l PORT): one connection is served and further SYNs are
 * refused with RST once it is accepted; with `keep` (-k) the listener stays and serves one
 * connection at a time, the next waiting in a backlog of 8. stdin is shared as in OpenBSD
 * nc -k: the connection being served reads it until end of file; every later connection
 * gets an immediate half-close (FIN) and its data still goes to stdout.
 *
 * After a clean close in TIME_WAIT the process stays up to answer a retransmitted FIN
 * whose ACK was lost, renewed (doubling) while the peer keeps retransmitting (RFC 9293
 * §3.6): by default for twice the retransmission timeout (at least 200 ms) when the path
 * may lose packets (net_opts_path_may_lose), not at all when it cannot.
 *
 * SIGINT and SIGTERM reset the connection, flush the capture and restore stdin and stdout
 * (their descriptors' flags: pipes and sockets are made non-blocking while it runs).
 * SIGPIPE is ignored for the process: a closed stdout is EPIPE from write().
 */
#ifndef SYNACK_NETCAT_H
#define SYNACK_NETCAT_H

#include <stdbool.h>
#include <stdint.h>

#include "netopt.h"

struct netcat_opts {
    struct net_opts net; /* the link, --addr, impairments, capture, buffers, -v */
    bool listen;         /* -l: listen on `port` */
    bool keep;           /* -k: with listen, keep serving one connection after another */
    /* -4 / -6: listen: the family whose wildcard the listener takes when listen_addr is
     * none (SYNACK_AF_NONE: both families, each on the stack's address of it); connect: the
     * family `host` must be of (SYNACK_AF_NONE: either). */
    enum synack_family family;
    struct synack_addr listen_addr; /* listen: one of the stack's addresses, or none */
    struct synack_addr host;        /* connect: the peer (a unicast IPv4 or IPv6 address) */
    uint16_t port;                  /* connect: the peer's port; listen: ours */
    uint16_t src_port;              /* connect: our port (0: an ephemeral port) */
    synack_time_t connect_timeout;  /* connect: give up when not established by then (0: the
                                       SYN retries decide) */
    synack_time_t linger;           /* the wait in TIME_WAIT, when linger_set (0: none) */
    bool linger_set;                /* else the default above */
};

/* Connect (no host, port 0, either family, no timeout, default linger) with
 * net_opts_default. */
void netcat_opts_default(struct netcat_opts *o);

/* Opens the link and the stack, connects or listens, moves the bytes and closes. Every
 * failure is one line on stderr, "synack CMD: ..." (`cmd` is "cat" for `synack cat`):
 * "connection to 198.18.0.1:5000 refused", "connection to [2001:db8::1]:5000 refused",
 * "... timed out", "... reset by peer", "writing
 * stdout: broken pipe". Returns the exit status: 0 when both directions finished cleanly
 * (all our data and our FIN acknowledged, the peer's FIN received and all its data written
 * to stdout); 1 when the connection failed or stdin/stdout failed; 128 + the signal after
 * SIGINT or SIGTERM (with keep, the end of every run but one where stdin or stdout
 * failed); what net_env_open returned when the link or the stack could not be set up. */
int netcat_run(const struct netcat_opts *o, const char *cmd);

#endif
