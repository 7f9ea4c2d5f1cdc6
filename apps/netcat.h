/*
 * netcat over synack (the engine of `synack cat`): stdin goes to a TCP connection (or to UDP
 * datagrams, with `udp`) and what comes back to stdout, on a TUN device or UDP encapsulation
 * (netopt.h builds the stack, the link chain and the event loop).
 *
 * TCP (netcat.c). At end of file on stdin the write side is shut down (a FIN: half-close)
 * and reading goes on until the peer closes too. Back-pressure both ways: stdin is read only
 * while the send buffer has room, and data is taken from the connection only as fast as
 * stdout accepts it, so the receive window closes when stdout is slow.
 *
 * Connect (HOST PORT) or listen (-l PORT): one connection is served and further SYNs are
 * refused with RST once it is accepted; with `keep` (-k) the listener stays and serves one
 * connection at a time, the next waiting in a backlog of 8. stdin is shared as in OpenBSD
 * nc -k: the connection being served reads it until end of file; every later connection
 * gets an immediate half-close (FIN) and its data still goes to stdout.
 *
 * After a clean close in TIME_WAIT the process stays up to answer a retransmitted FIN
 * whose ACK was lost, renewed while the peer keeps retransmitting, to twice the gap between
 * its last two segments when that is longer, as its backed-off timer would be (RFC 9293
 * §3.6): by default for twice the retransmission timeout (at least 2 s, twice the
 * initial RTO of RFC 6298, which a peer with no RTT sample still uses) when the path
 * may lose packets (net_opts_path_may_lose), not at all when it cannot.
 *
 * UDP (netcat_udp.c), as OpenBSD nc -u. Datagram boundaries: each read of stdin, up to
 * NETCAT_UDP_READ (16 KiB, nc's own buffer, so that nc -u -l on the other side takes every
 * datagram whole), is one datagram (a terminal gives a line per read; a pipe what was written
 * since the last read; a file 16 KiB at a time); one larger than the MTU leaves in fragments.
 * Each datagram received is written to stdout whole, as it came.
 *
 * Connect (HOST PORT): the socket is bound to an ephemeral port (or `src_port`) of both
 * families and connected to HOST:PORT, so only its datagrams are taken. Listen (-l PORT): the
 * socket is bound like a TCP listener; stdin is not read until the first datagram arrives, and
 * the socket is then connected to its sender: stdin goes there, and datagrams from anyone else
 * are no longer taken (the stack answers them with port unreachable, as Linux does for
 * nc -u -l; any already queued are dropped and counted). With `keep` (-k) the socket stays
 * unconnected and takes datagrams from anyone; stdin goes to the sender of the most recent
 * one. A datagram from port 0 (RFC 768: no answer expected) is written, but its sender never
 * becomes the peer.
 *
 * End: at end of file on stdin the process keeps receiving, as nc -u does, until `quit` (-q
 * SECS) has passed since then (0: at once, as soon as the last datagram has been handed to the
 * link), or `wait` (-w SECS) has passed with nothing read from stdin and no datagram taken
 * (with -l counted from the first datagram), or a signal; at that point what was taken is
 * written out and datagrams still queued are left unread. An ICMP error about a datagram of a
 * connected socket (port unreachable: "connection to 198.18.0.1:5000 refused") ends the run
 * with status 1; with -k (unconnected) it is only logged with -v.
 *
 * Back-pressure: stdin is read only while sends are not refused with AGAIN (resumed on
 * WRITABLE); datagrams are taken only as fast as stdout accepts them, and meanwhile they wait
 * in the socket's receive queue, where what does not fit is dropped and counted
 * (udp-queue-full).
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
    bool udp;            /* -u: UDP datagrams instead of a TCP connection */
    bool listen;         /* -l: listen on `port` */
    bool keep;           /* -k: with listen, keep serving one connection after another (UDP:
                            take datagrams from anyone, stdin to the latest sender) */
    /* -4 / -6: listen: the family whose wildcard the listener takes when listen_addr is
     * none (SYNACK_AF_NONE: both families, each on the stack's address of it); connect: the
     * family `host` must be of (SYNACK_AF_NONE: either). */
    enum synack_family family;
    struct synack_addr listen_addr; /* listen: one of the stack's addresses, or none */
    struct synack_addr host;        /* connect: the peer (a unicast IPv4 or IPv6 address) */
    uint16_t port;                  /* connect: the peer's port; listen: ours */
    uint16_t src_port;              /* connect: our port (0: an ephemeral port) */
    /* -w (0: none). TCP, connect: give up when not established by then (else the SYN
     * retries decide). UDP: end once this long passed with nothing read from stdin and no
     * datagram taken (with listen: from the first datagram on). */
    synack_time_t wait;
    synack_time_t linger; /* TCP: the wait in TIME_WAIT, when linger_set (0: none) */
    bool linger_set;      /* else the default above */
    synack_time_t quit;   /* -q, when quit_set: end this long after stdin ended and all it
                             gave was sent (UDP) or acknowledged with our FIN (TCP, which then
                             resets the peer's side if still open); 0: at once */
    bool quit_set;        /* else keep receiving after the end of stdin (TCP: until the peer
                             closes) */
    bool zero;            /* -z, TCP connect: a port probe; once established, reset it and
                             end (status 0) without reading stdin */
};

/* TCP connect (no host, port 0, either family, no timeout, default linger, no -q) with
 * net_opts_default. */
void netcat_opts_default(struct netcat_opts *o);

/* Opens the link and the stack, connects or listens, moves the bytes and closes. Every
 * failure is one line on stderr, "synack CMD: ..." (`cmd` is "cat" for `synack cat`):
 * "connection to 198.18.0.1:5000 refused", "connection to [2001:db8::1]:5000 refused",
 * "... timed out", "... reset by peer", "writing
 * stdout: broken pipe". Returns the exit status: 0 when both directions finished cleanly
 * (TCP: all our data and our FIN acknowledged, the peer's FIN received and all its data
 * written to stdout; UDP: ended by -q or -w with every datagram stdin gave sent and every
 * one taken written); 1 when the connection failed (UDP: an ICMP error on the connected
 * socket) or stdin/stdout failed; 128 + the signal after SIGINT or SIGTERM (with keep, and
 * for UDP without -q or -w, the end of every run but one that failed); what net_env_open
 * returned when the link or the stack could not be set up. */
int netcat_run(const struct netcat_opts *o, const char *cmd);

#endif
