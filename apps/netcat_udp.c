/* `synack cat -u`: the UDP mode of netcat over synack, as OpenBSD nc -u (netcat.h for the
 * contract). stdin and stdout, the pumps and the loop are the shared engine's (netcat.c);
 * this file holds the socket, its peer and the ways a run ends. */
#include <inttypes.h>
#include <stdio.h>

#include "netcat_int.h"

/* Bytes per read of stdin, so the largest datagram sent: OpenBSD nc's buffer (BUFSIZE), so
 * that nc -u on the other side reads every datagram whole. */
#define NETCAT_UDP_READ 16384

static bool udp_has_peer(const struct netcat *c)
{
    return c->udp.peer.port != 0;
}

/* Something happened (a datagram in or out): -w counts again from now. */
static void udp_active(struct netcat *c, synack_time_t now)
{
    c->udp.idle_at = c->o->wait ? now + c->o->wait : SYNACK_NEVER;
}

/* With -v: "synack cat: a datagram from 198.18.0.1:40000: stdin goes there now". */
static void udp_log_peer(const struct netcat *c, const char *what)
{
    if (!c->env.verbose) return;
    char a[SYNACK_ENDPOINT_STRLEN];
    synack_endpoint_format(&c->udp.peer, a, sizeof a);
    fprintf(stderr, "synack %s: a datagram from %s: %s\n", c->env.cmd, a, what);
}

/* -l: the first datagram names the peer stdin goes to, and without -k the socket connects
 * to it, so that only its datagrams are taken from now on; with -k each sender in turn. */
static int udp_take_peer(struct netcat *c, const struct synack_endpoint *from)
{
    c->udp.peer = *from;
    if (c->o->keep) {
        udp_log_peer(c, "stdin goes there (-k: anyone's datagrams are taken)");
        return 0;
    }
    int rc = synack_udp_connect(c->udp.sock, from);
    if (rc < 0) return rc;
    c->udp.connected = true;
    udp_log_peer(c, "connected to it; stdin goes there, others are refused");
    return 0;
}

static int udp_start(struct netcat *c)
{
    const struct netcat_opts *o = c->o;
    struct netcat_udp *u = &c->udp;
    u->idle_at = u->quit_at = SYNACK_NEVER;
    /* A wildcard of no family is both families' (synack_udp_bind). */
    struct synack_endpoint local = {synack_addr_any(SYNACK_AF_NONE), o->src_port};
    if (o->listen) local = netcat_listen_endpoint(o);
    int rc = synack_udp_bind(c->env.stack, &local, c, &u->sock);
    if (rc < 0) {
        fprintf(stderr, "synack %s: cannot bind UDP port %u: %s\n", c->env.cmd, local.port,
                synack_strerror(rc));
        return 1;
    }
    if (o->listen) {
        netcat_log_listening(c, "UDP port", &local);
        return 0;
    }
    struct synack_endpoint peer = {o->host, o->port};
    if ((rc = synack_udp_connect(u->sock, &peer)) < 0) {
        fprintf(stderr, "synack %s: cannot connect the UDP socket: %s\n", c->env.cmd,
                synack_strerror(rc));
        return 1;
    }
    u->peer = peer;
    u->connected = true;
    udp_active(c, synack_loop_now(c->env.loop));
    return 0;
}

static bool udp_can_send(const struct netcat *c)
{
    return c->udp.sock && udp_has_peer(c) && !c->udp.closing;
}

/* One datagram: the connected peer, or with -l -k the latest sender. */
static synack_ssize udp_send(struct netcat *c, const uint8_t *data, size_t len, synack_time_t now)
{
    struct netcat_udp *u = &c->udp;
    synack_ssize n = synack_udp_send(u->sock, data, len, u->connected ? NULL : &u->peer, now);
    if (n >= 0) udp_active(c, now);
    return n;
}

/* -q counts from the end of stdin. */
static int udp_input_done(struct netcat *c, synack_time_t now)
{
    if (c->o->quit_set) c->udp.quit_at = now + c->o->quit;
    return 0;
}

static synack_ssize udp_recv(struct netcat *c, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct netcat_udp *u = &c->udp;
    if (!u->sock || u->closing) return SYNACK_ERR_AGAIN;
    struct synack_endpoint from;
    synack_ssize n = synack_udp_recv(u->sock, buf, cap, &from, now);
    if (n < 0) return n; /* AGAIN, or a connected socket's ICMP error */
    bool same = synack_endpoint_eq(&from, &u->peer);
    if (u->connected && !same) {
        u->ignored++; /* queued before the socket connected */
        return 0;
    }
    /* RFC 768: source port 0 means no answer is expected (nor possible): the datagram is
     * written, its sender never becomes the peer. */
    if (!u->connected && !same && from.port != 0) {
        int rc = udp_take_peer(c, &from);
        if (rc < 0) return rc;
    }
    udp_active(c, now);
    return n < (synack_ssize)cap ? n : (synack_ssize)cap; /* cap holds any datagram */
}

static synack_time_t udp_deadline(const struct netcat *c)
{
    if (c->udp.closing) return SYNACK_NEVER;
    return c->udp.idle_at < c->udp.quit_at ? c->udp.idle_at : c->udp.quit_at;
}

/* The socket's ICMP errors; READABLE and WRITABLE need nothing: the pumps run every turn. */
static void udp_event(struct netcat *c, const struct synack_event *ev)
{
    if (!c->udp.sock || ev->conn_id != synack_udp_id(c->udp.sock) || ev->type != SYNACK_EV_ERROR)
        return;
    if (c->udp.connected) {
        if (!c->err) c->err = ev->err; /* reported by udp_turn */
        return;
    }
    /* An unconnected socket (-l -k) cannot tell which sender the error is about, and the
     * others may still be there: it goes on, as a kernel socket does. */
    if (c->env.verbose)
        fprintf(stderr,
                "synack %s: an ICMP error about a datagram sent: %s (going on: with -k "
                "the socket takes anyone's datagrams)\n",
                c->env.cmd, synack_strerror(ev->err));
}

static void udp_turn(void *ctx, synack_time_t now)
{
    struct netcat *c = ctx;
    struct netcat_udp *u = &c->udp;
    struct synack_event ev;
    while (synack_stack_next_event(c->env.stack, &ev) == 0)
        udp_event(c, &ev);
    if (c->stop) return;
    /* Receiving first: with -l the first datagram names the peer, and stdin, watched from
     * then on, is read in this very turn's wake-up rather than at the next event. */
    netcat_pump_recv(c, now);
    netcat_pump_send(c, now);
    if (!c->err && u->connected && net_env_link_refused(&c->env)) {
        /* As nc -u's "Connection refused": the datagrams went nowhere, the kernel said so. */
        c->link_refused = true;
        c->err = SYNACK_ERR_CONNREFUSED;
    }
    if (c->err || c->local_failed) {
        if (c->err && !c->local_failed) {
            char peer[SYNACK_ENDPOINT_STRLEN + 8], a[SYNACK_ENDPOINT_STRLEN];
            synack_endpoint_format(&u->peer, a, sizeof a);
            snprintf(peer, sizeof peer, "to %s", a);
            netcat_report(c, peer, c->err);
        }
        c->status = 1;
        c->stop = true;
        return;
    }
    if (c->out.len > 0) udp_active(c, now); /* stdout is still taking what came */
    if (!u->closing && now >= udp_deadline(c)) u->closing = true;
    if (u->closing && c->out.len == 0) c->stop = true; /* status 0 */
}

/* With -v, what the socket did. */
static void udp_log_summary(const struct netcat *c)
{
    struct synack_udp_info i;
    if (!c->env.verbose || synack_udp_info(c->udp.sock, &i) < 0) return;
    fprintf(stderr,
            "synack %s: datagrams on port %u: sent %" PRIu64 ", received %" PRIu64 " (%" PRIu64
            " of them from another sender, dropped), dropped for a full queue %" PRIu64
            ", ICMP errors %" PRIu64 "\n",
            c->env.cmd, i.local.port, i.counters.udp_out, i.counters.udp_in, c->udp.ignored,
            i.counters.drops[SYNACK_DROP_UDP_QUEUE_FULL], i.counters.udp_icmp_errors);
}

/* Closes the socket; what it sent still leaves (net_env_close drains the stack). */
static void udp_finish(struct netcat *c)
{
    if (!c->udp.sock) return;
    udp_log_summary(c);
    synack_udp_close(c->udp.sock);
    c->udp.sock = NULL;
}

const struct netcat_mode netcat_udp_mode = {
    .read_size = NETCAT_UDP_READ,
    .start = udp_start,
    .turn = udp_turn,
    .can_send = udp_can_send,
    .send = udp_send,
    .input_done = udp_input_done,
    .recv = udp_recv,
    .deadline = udp_deadline,
    .finish = udp_finish,
};
