/* netcat over synack: stdin goes to the connection, the connection to stdout, both through
 * the event loop with back-pressure both ways (netcat.h for the contract). This file holds
 * the engine both modes share (stdin, stdout, the pumps, the loop, the signals) and the TCP
 * mode; netcat_udp.c the UDP mode (netcat_int.h for the seam). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netcat_int.h"

#define NETCAT_READS_PER_TURN 16 /* stdin reads per callback while the send buffer takes all */
#define NETCAT_RECVS_PER_TURN 64 /* recv + write rounds per turn while stdout takes all */
#define NETCAT_BACKLOG 8         /* -k: connections that may wait while one is served */
/* The default linger in TIME_WAIT, at least: twice RFC 6298 (2.1)'s initial RTO of 1 s. Our
 * own RTO says nothing of the peer's: a peer with no RTT sample, or whose timer has backed
 * off (RFC 6298 (5.5), kept until its next sample), retransmits its FIN a second or more
 * after the first; leaving earlier strands it in LAST_ACK. */
#define NETCAT_LINGER_MIN SYNACK_S(2)
#define NETCAT_LINGER_RENEWALS 8 /* times the wait is renewed for a peer still sending */

/* ---- stdin and stdout --------------------------------------------------------------------- */

/* Pipes and sockets become non-blocking (restored at exit), so that a write to a full pipe
 * cannot stall the loop; terminals and regular files are left as they are (their file
 * description may be shared with other processes). A descriptor that may block (a
 * terminal) is read once per readiness: the loop polls it readable first. */
static int netcat_fd_init(struct netcat_fd *f, int fd)
{
    struct stat st;
    f->fd = fd;
    f->saved_flags = -1;
    f->buf = malloc(NETCAT_CHUNK);
    if (!f->buf) return -1;
    bool known = fstat(fd, &st) == 0;
    int flags = fcntl(fd, F_GETFL);
    if (known && flags >= 0 && !(flags & O_NONBLOCK) &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0) {
        f->saved_flags = flags;
        flags |= O_NONBLOCK;
    }
    f->never_blocks = (flags >= 0 && (flags & O_NONBLOCK)) || (known && S_ISREG(st.st_mode));
    return 0;
}

static void netcat_fd_fini(struct netcat_fd *f)
{
    if (f->saved_flags >= 0) (void)fcntl(f->fd, F_SETFL, f->saved_flags);
    free(f->buf);
    f->buf = NULL;
}

void netcat_watch(struct netcat *c, struct netcat_fd *f, unsigned events)
{
    bool want = events != 0;
    if (want == f->watched) return;
    f->watched = want;
    (void)synack_loop_mod_fd(c->env.loop, f->fd, events);
}

/* "to 198.18.0.1:5000", "from [2001:db8::1]:40000". */
static void netcat_peer(const struct netcat *c, char *buf, size_t cap)
{
    struct synack_tcp_info i;
    struct synack_endpoint peer = {c->o->host, c->o->port};
    if (c->tcp && synack_tcp_info(c->tcp, &i) == 0) {
        peer.addr = i.remote_addr;
        peer.port = i.remote_port;
    }
    char a[SYNACK_ENDPOINT_STRLEN];
    synack_endpoint_format(&peer, a, sizeof a);
    snprintf(buf, cap, "%s %s", c->o->listen ? "from" : "to", a);
}

void netcat_report(const struct netcat *c, const char *peer, int err)
{
    if (c->link_refused) {
        fprintf(stderr,
                "synack %s: connection %s refused: nothing runs at the other end of the UDP "
                "link (the kernel reported ICMP port unreachable)\n",
                c->env.cmd, peer);
        return;
    }
    switch (err) {
    case SYNACK_ERR_CONNREFUSED:
        fprintf(stderr, "synack %s: connection %s refused\n", c->env.cmd, peer);
        break;
    case SYNACK_ERR_TIMEDOUT:
        fprintf(stderr, "synack %s: connection %s timed out\n", c->env.cmd, peer);
        break;
    case SYNACK_ERR_CONNRESET:
        fprintf(stderr, "synack %s: connection %s reset by peer\n", c->env.cmd, peer);
        break;
    default:
        fprintf(stderr, "synack %s: connection %s failed: %s\n", c->env.cmd, peer,
                synack_strerror(err));
        break;
    }
}

/* stdin or stdout failed: the connection is reset (the peer must not take a truncated
 * stream for a complete one). */
static void netcat_local_fail(struct netcat *c, const char *what, int e)
{
    fprintf(stderr, "synack %s: %s: %s\n", c->env.cmd, what,
            e == EPIPE ? "broken pipe" : strerror(e));
    c->local_failed = true;
}

void netcat_pump_send(struct netcat *c, synack_time_t now)
{
    if (c->in_done || c->err || c->local_failed || !c->mode->can_send(c)) return;
    while (c->in.len > 0) {
        synack_ssize n = c->mode->send(c, c->in.buf + c->in.off, c->in.len, now);
        if (n == SYNACK_ERR_AGAIN) break; /* WRITABLE will say when there is room */
        if (n < 0) {
            c->err = (int)n;
            return;
        }
        c->in.off += (size_t)n;
        c->in.len -= (size_t)n;
    }
    if (c->in.len == 0) c->in.off = 0;
    if (c->in.len == 0 && c->in_eof) {
        int rc = c->mode->input_done(c, now);
        if (rc < 0) {
            c->err = rc;
            return;
        }
        c->in_done = true;
    }
    netcat_watch(c, &c->in, c->in.len == 0 && !c->in_eof ? SYNACK_LOOP_IN : 0);
}

static void netcat_on_stdin(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    struct netcat *c = ctx;
    (void)ready;
    /* A second read of a blocking stdin (a terminal) would wait for the next line inside
     * the loop, with everything else stalled: one read per readiness then. */
    int reads = c->in.never_blocks ? NETCAT_READS_PER_TURN : 1;
    for (int k = 0; k < reads && c->in.len == 0 && !c->in_eof; k++) {
        ssize_t n = read(fd, c->in.buf, c->mode->read_size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0) {
            netcat_local_fail(c, "reading stdin", errno);
            break;
        }
        if (n == 0) {
            c->in_eof = true;
            synack_loop_del_fd(c->env.loop, fd);
            c->in.watched = false;
        }
        c->in.off = 0;
        c->in.len = (size_t)n;
        netcat_pump_send(c, now);
    }
}

/* Writes what waits for stdout. false when stdout cannot take it all now. */
static bool netcat_flush_stdout(struct netcat *c)
{
    while (c->out.len > 0) {
        ssize_t n = write(c->out.fd, c->out.buf + c->out.off, c->out.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            netcat_watch(c, &c->out, SYNACK_LOOP_OUT);
            return false;
        }
        if (n < 0) {
            netcat_local_fail(c, "writing stdout", errno);
            return false;
        }
        c->out.off += (size_t)n;
        c->out.len -= (size_t)n;
    }
    c->out.off = 0;
    netcat_watch(c, &c->out, 0);
    return true;
}

/* At most NETCAT_RECVS_PER_TURN chunks a turn, so stdin and the link get their turn too. */
void netcat_pump_recv(struct netcat *c, synack_time_t now)
{
    for (int k = 0;; k++) {
        if (c->local_failed) return;
        if (k == NETCAT_RECVS_PER_TURN) {
            /* More may be waiting in the receive buffer, and with the peer done nothing
             * else would wake the loop: stdout's readiness brings the next turn. */
            netcat_watch(c, &c->out, SYNACK_LOOP_OUT);
            return;
        }
        if (!netcat_flush_stdout(c)) return; /* the window closes while stdout is slow */
        if (c->err) return;
        synack_ssize n = c->mode->recv(c, c->out.buf, NETCAT_CHUNK, now);
        if (n == SYNACK_ERR_AGAIN) return;
        if (n < 0) {
            c->err = (int)n;
            return;
        }
        c->out.off = 0;
        c->out.len = (size_t)n;
    }
}

static void netcat_on_stdout(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)fd;
    (void)ready;
    netcat_pump_recv(ctx, now);
}

struct synack_endpoint netcat_listen_endpoint(const struct netcat_opts *o)
{
    /* A wildcard of no family is both families' (synack_tcp_listen, synack_udp_bind). */
    struct synack_endpoint local = {o->listen_addr, o->port};
    if (local.addr.family == SYNACK_AF_NONE) local.addr = synack_addr_any(o->family);
    return local;
}

void netcat_log_listening(const struct netcat *c, const char *what,
                          const struct synack_endpoint *local)
{
    if (!c->env.verbose) return;
    char a[SYNACK_ENDPOINT_STRLEN];
    synack_endpoint_format(local, a, sizeof a);
    bool both = local->addr.family == SYNACK_AF_NONE;
    fprintf(stderr, "synack %s: listening on %s %u%s%s\n", c->env.cmd, what, local->port,
            both ? "" : ": ", both ? "" : a);
}

/* ---- the TCP mode --------------------------------------------------------------------------- */

static bool netcat_tcp_can_send(const struct netcat *c)
{
    return c->tcp && c->established;
}

static synack_ssize netcat_tcp_send(struct netcat *c, const uint8_t *data, size_t len,
                                    synack_time_t now)
{
    return synack_tcp_send(c->tcp, data, len, now);
}

/* stdin has ended: the FIN (half-close). */
static int netcat_tcp_input_done(struct netcat *c, synack_time_t now)
{
    if (c->o->quit_set) c->quit_at = now + c->o->quit;
    return synack_tcp_shutdown(c->tcp, now);
}

static synack_ssize netcat_tcp_recv(struct netcat *c, uint8_t *buf, size_t cap, synack_time_t now)
{
    if (!c->tcp || c->peer_eof) return SYNACK_ERR_AGAIN;
    synack_ssize n = synack_tcp_recv(c->tcp, buf, cap, now);
    if (n == SYNACK_ERR_NOTCONN) return SYNACK_ERR_AGAIN;
    if (n == 0) {
        c->peer_eof = true;
        return SYNACK_ERR_AGAIN;
    }
    return n;
}

/* Reports a failure of the connection once, in one line. */
static void netcat_tcp_report(const struct netcat *c, int err)
{
    char peer[SYNACK_ENDPOINT_STRLEN + 8];
    netcat_peer(c, peer, sizeof peer);
    netcat_report(c, peer, err);
}

/* Our data and FIN are acknowledged: FIN_WAIT_2, TIME_WAIT, or CLOSED after LAST_ACK. */
static bool netcat_fin_acked(const struct netcat *c)
{
    enum synack_state st = synack_tcp_state(c->tcp);
    return c->in_done && (st == SYNACK_FIN_WAIT_2 || st == SYNACK_TIME_WAIT ||
                          (st == SYNACK_CLOSED && c->err == 0));
}

/* -w while connecting; -q after the end of stdin. */
static synack_time_t netcat_tcp_deadline(const struct netcat *c)
{
    synack_time_t connect =
        c->connect_deadline && !c->established ? c->connect_deadline : SYNACK_NEVER;
    /* Once due, -q waits for the ACK of our FIN, which an event brings. */
    bool due = c->quit_at && synack_loop_now(c->env.loop) >= c->quit_at;
    synack_time_t quit = c->quit_at && (!due || netcat_fin_acked(c)) ? c->quit_at : SYNACK_NEVER;
    return connect < quit ? connect : quit;
}

/* A connection starts being served: stdin (if it has not ended) feeds it. */
static void netcat_begin(struct netcat *c, struct synack_tcp *t)
{
    c->tcp = t;
    c->conn_id = synack_tcp_id(t);
    c->established = false;
    c->in_done = c->peer_eof = false;
    c->err = 0;
    c->in.off = c->in.len = 0;
    synack_tcp_set_user(t, c);
    net_env_name_conn(&c->env, t);
}

/* Waits in TIME_WAIT so that a FIN retransmitted because our last ACK was lost is
 * acknowledged again (RFC 9293 §3.6: the reason TIME_WAIT exists); the peer is done once it
 * stops retransmitting. Each segment from the peer renews the wait: a peer that backs off
 * (RFC 6298 (5.5)) retransmits next after twice the gap since its previous segment, so the
 * wait runs to twice that gap, or the linger time if longer. A burst of late duplicates
 * (gaps of microseconds) thus extends it by about the linger time, not by doubling it per
 * segment. At most NETCAT_LINGER_RENEWALS renewals. */
static void netcat_linger(struct netcat *c)
{
    struct synack_tcp_info i;
    if (synack_tcp_info(c->tcp, &i) < 0 || i.state != SYNACK_TIME_WAIT) return;
    synack_time_t linger = c->o->linger;
    if (!c->o->linger_set) {
        if (!net_opts_path_may_lose(&c->o->net, &i.remote_addr)) return; /* the ACK got there */
        linger = 2 * i.rto > NETCAT_LINGER_MIN ? 2 * i.rto : NETCAT_LINGER_MIN;
    }
    if (linger == 0) return;
    synack_loop_set_turn(c->env.loop, NULL, NULL);
    uint64_t seen = i.counters.segs_in;
    synack_time_t last = synack_loop_now(c->env.loop), until = last + linger;
    for (int renewals = 0; renewals <= NETCAT_LINGER_RENEWALS;) {
        synack_time_t now = synack_loop_now(c->env.loop);
        if (now >= until) break;
        if (synack_loop_run_once(c->env.loop, until - now) < 0 || c->env.signal) break;
        if (synack_tcp_info(c->tcp, &i) < 0 || i.state != SYNACK_TIME_WAIT) break;
        if (i.counters.segs_in != seen) {
            seen = i.counters.segs_in;
            now = synack_loop_now(c->env.loop);
            synack_time_t gap = now - last;
            last = now;
            until = now + (2 * gap > linger ? 2 * gap : linger);
            renewals++;
        }
    }
}

/* The served connection is over, well or not. Without -k the loop stops, and a connection
 * that ended well is kept for netcat_tcp_release (the linger in TIME_WAIT). */
static void netcat_end(struct netcat *c, synack_time_t now, bool ok)
{
    netcat_watch(c, &c->out, 0);
    if (!c->in_eof) netcat_watch(c, &c->in, 0);
    if (!ok) {
        if (c->err && !c->local_failed) netcat_tcp_report(c, c->err);
        /* -k goes on after a failed connection (reported above), not after stdin or
         * stdout failed: every later connection would fail the same way. */
        c->status = c->o->keep && !c->local_failed ? 0 : 1;
    }
    if (!c->o->keep || c->local_failed) c->stop = true;
    if (ok && !c->o->keep) return;
    net_env_log_conn(&c->env, c->tcp);
    if (ok)
        synack_tcp_close(c->tcp, now);
    else
        synack_tcp_abort(c->tcp, now); /* a RST unless it has already failed */
    c->tcp = NULL;
    c->conn_id = 0;
    c->established = false;
    c->in.off = c->in.len = 0; /* read but never sent: the failed connection took it */
    c->out.off = c->out.len = 0;
}

/* After the loop has stopped: lingers in TIME_WAIT after a clean close, prints the
 * summary, releases the connection (or resets it if it is still open). */
static void netcat_tcp_release(struct netcat *c)
{
    if (!c->tcp) return;
    bool ok = c->status == 0 && !c->err && !c->local_failed && c->peer_eof;
    if (ok) netcat_linger(c);
    if (c->env.signal && !c->status) c->status = 128 + c->env.signal; /* while lingering */
    net_env_log_conn(&c->env, c->tcp);
    synack_time_t now = synack_loop_now(c->env.loop);
    if (ok)
        synack_tcp_close(c->tcp, now);
    else
        synack_tcp_abort(c->tcp, now);
    c->tcp = NULL;
}

/* The mode's finish: the connection, then the listener (-k). */
static void netcat_tcp_finish(struct netcat *c)
{
    netcat_tcp_release(c);
    if (c->listener) synack_listener_close(c->listener, synack_loop_now(c->env.loop));
    c->listener = NULL;
}

static void netcat_event(struct netcat *c, const struct synack_event *ev, synack_time_t now)
{
    net_env_log_event(&c->env, ev);
    if (ev->type == SYNACK_EV_ACCEPTABLE || !c->tcp || ev->conn_id != c->conn_id) return;
    switch (ev->type) {
    case SYNACK_EV_CONNECTED:
        c->established = true;
        if (!c->o->zero) netcat_pump_send(c, now); /* -z: netcat_serve resets it */
        break;
    case SYNACK_EV_ERROR:
        if (!c->err) c->err = ev->err;
        break;
    default:
        break;
    }
}

/* -l: takes the next connection when none is being served. true if it took one. */
static bool netcat_accept(struct netcat *c, synack_time_t now)
{
    struct synack_tcp *t;
    if (c->tcp || !c->listener || synack_tcp_accept(c->listener, &t) < 0) return false;
    netcat_begin(c, t);
    if (!c->o->keep) { /* one connection: later SYNs are refused (RST) */
        synack_listener_close(c->listener, now);
        c->listener = NULL;
    }
    struct synack_tcp_info i;
    if (synack_tcp_info(t, &i) == 0 && i.err) c->err = i.err; /* failed while queued */
    c->established = i.state != SYNACK_SYN_RECEIVED && i.state != SYNACK_CLOSED;
    if (c->env.verbose) {
        char peer[SYNACK_ENDPOINT_STRLEN + 8];
        netcat_peer(c, peer, sizeof peer);
        fprintf(stderr, "synack %s: accepted a connection %s\n", c->env.cmd, peer);
    }
    netcat_pump_send(c, now);
    return true;
}

/* -z: the port is open. Reset (sent before exit), before any FIN: closed with a FIN, the
 * peer's own FIN would find nobody to acknowledge it once this process is gone. */
static void netcat_probe_done(struct netcat *c, synack_time_t now)
{
    if (c->env.verbose) {
        char peer[SYNACK_ENDPOINT_STRLEN + 8];
        netcat_peer(c, peer, sizeof peer);
        fprintf(stderr, "synack %s: connection %s succeeded\n", c->env.cmd, peer);
    }
    net_env_log_conn(&c->env, c->tcp);
    synack_tcp_abort(c->tcp, now);
    c->tcp = NULL;
    c->stop = true;
}

/* Moves data both ways and ends the connection when it is over. */
static void netcat_serve(struct netcat *c, synack_time_t now)
{
    if (c->established && c->o->zero && !c->err) {
        netcat_probe_done(c, now);
        return;
    }
    if (c->established) {
        netcat_pump_send(c, now);
        netcat_pump_recv(c, now);
    }
    if (c->err || c->local_failed) {
        netcat_end(c, now, false);
    } else if (c->peer_eof && c->out.len == 0 && netcat_fin_acked(c)) {
        netcat_end(c, now, true);
    } else if (c->quit_at && now >= c->quit_at && netcat_fin_acked(c)) {
        /* -q: the peer has had its time to close; what it still sends is refused (RST, in
         * netcat_tcp_release), as to nc's closed socket. Everything of ours arrived. */
        c->quit_at = 0;
        netcat_end(c, now, true);
    } else if (!c->established && !c->o->listen && net_env_link_refused(&c->env)) {
        /* As nc's "Connection refused": the SYN went nowhere, and the kernel said so. */
        c->link_refused = true;
        c->err = SYNACK_ERR_CONNREFUSED;
        netcat_end(c, now, false);
    } else if (!c->established && c->connect_deadline && now >= c->connect_deadline) {
        /* RFC 1122 §4.2.3.9: an ICMP error that did not abort the connection (host
         * unreachable, say) is what to report when it is given up. */
        struct synack_tcp_info i;
        bool soft = synack_tcp_info(c->tcp, &i) == 0 && i.soft_err != 0;
        c->err = soft ? i.soft_err : SYNACK_ERR_TIMEDOUT;
        netcat_end(c, now, false);
    }
}

static void netcat_tcp_turn(void *ctx, synack_time_t now)
{
    struct netcat *c = ctx;
    struct synack_event ev;
    /* Accepting first names the connection before its queued events are logged. With -k,
     * when the served connection ends the next one in the backlog is taken in the same
     * turn: it may have sent everything already, and then nothing else would wake the
     * loop for it (closing in TIME_WAIT queues no event). The backlog bounds the rounds. */
    if (!c->stop) (void)netcat_accept(c, now);
    for (;;) {
        while (synack_stack_next_event(c->env.stack, &ev) == 0)
            netcat_event(c, &ev, now);
        if (c->stop || !c->tcp) return; /* over: netcat_tcp_release has the rest */
        netcat_serve(c, now);
        if (c->tcp || c->stop || !netcat_accept(c, now)) return;
    }
}

static int netcat_tcp_start(struct netcat *c)
{
    const struct netcat_opts *o = c->o;
    synack_time_t now = synack_loop_now(c->env.loop);
    int rc;
    if (o->listen) {
        struct synack_endpoint local = netcat_listen_endpoint(o);
        rc = synack_tcp_listen(c->env.stack, &local, o->keep ? NETCAT_BACKLOG : 1, c, &c->listener);
        if (rc < 0) {
            fprintf(stderr, "synack %s: cannot listen on port %u: %s\n", c->env.cmd, o->port,
                    synack_strerror(rc));
            return 1;
        }
        netcat_log_listening(c, "port", &local);
        return 0;
    }
    struct synack_tcp *t;
    struct synack_endpoint remote = {o->host, o->port};
    struct synack_endpoint local = {synack_addr_any(SYNACK_AF_NONE), o->src_port};
    rc = synack_tcp_connect(c->env.stack, &remote, &local, c, &t, now);
    if (rc < 0) {
        fprintf(stderr, "synack %s: cannot connect: %s\n", c->env.cmd, synack_strerror(rc));
        return 1;
    }
    netcat_begin(c, t);
    if (o->wait) c->connect_deadline = now + o->wait;
    if (o->zero) { /* -z: stdin is not read */
        c->in_eof = true;
        synack_loop_del_fd(c->env.loop, c->in.fd);
        c->in.watched = false;
    }
    return 0;
}

static const struct netcat_mode netcat_tcp_mode = {
    .read_size = NETCAT_CHUNK,
    .start = netcat_tcp_start,
    .turn = netcat_tcp_turn,
    .can_send = netcat_tcp_can_send,
    .send = netcat_tcp_send,
    .input_done = netcat_tcp_input_done,
    .recv = netcat_tcp_recv,
    .deadline = netcat_tcp_deadline,
    .finish = netcat_tcp_finish,
};

/* ---- main ----------------------------------------------------------------------------------- */

/* SIGINT or SIGTERM: the connection is reset by mode->finish; 128 + the signal. */
static int netcat_signalled(struct netcat *c)
{
    c->stop = true;
    c->status = 128 + c->env.signal;
    return c->status;
}

static int netcat_loop(struct netcat *c)
{
    if (netcat_fd_init(&c->in, STDIN_FILENO) < 0 || netcat_fd_init(&c->out, STDOUT_FILENO) < 0) {
        fprintf(stderr, "synack %s: out of memory\n", c->env.cmd);
        return 1;
    }
    if (synack_loop_add_fd(c->env.loop, c->in.fd, 0, netcat_on_stdin, c) < 0 ||
        synack_loop_add_fd(c->env.loop, c->out.fd, 0, netcat_on_stdout, c) < 0) {
        fprintf(stderr, "synack %s: stdin or stdout cannot be watched by the event loop\n",
                c->env.cmd);
        return 1;
    }
    if (net_env_watch_signals(&c->env)) return 1;
    synack_loop_set_turn(c->env.loop, c->mode->turn, c);
    int rc = c->mode->start(c);
    if (rc) return rc;
    bool first = true; /* the SYN leaves at once, not at the first deadline */
    while (!c->stop) {
        synack_time_t wait = SYNACK_NEVER, due = c->mode->deadline(c);
        if (first) {
            wait = 0;
            first = false;
        } else if (due != SYNACK_NEVER) {
            synack_time_t now = synack_loop_now(c->env.loop);
            wait = due > now ? due - now : 0;
        }
        rc = synack_loop_run_once(c->env.loop, wait);
        if (rc < 0) return net_env_loop_failed(&c->env, rc);
        if (c->env.signal && !c->stop) return netcat_signalled(c);
    }
    return c->status;
}

void netcat_opts_default(struct netcat_opts *o)
{
    memset(o, 0, sizeof *o);
    net_opts_default(&o->net);
}

int netcat_run(const struct netcat_opts *o, const char *cmd)
{
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is EPIPE from write(), not a signal */
    struct netcat c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.mode = o->udp ? &netcat_udp_mode : &netcat_tcp_mode;
    c.in.fd = c.out.fd = -1;
    c.in.saved_flags = c.out.saved_flags = -1;
    int rc = net_env_open(&c.env, &o->net, cmd);
    if (rc) return rc;
    rc = netcat_loop(&c);
    if (rc && !c.status) c.status = rc;
    c.mode->finish(&c);
    if (c.in.fd >= 0 && !c.in_eof) synack_loop_del_fd(c.env.loop, c.in.fd);
    if (c.out.fd >= 0) synack_loop_del_fd(c.env.loop, c.out.fd);
    net_env_close(&c.env);
    netcat_fd_fini(&c.in);
    netcat_fd_fini(&c.out);
    return c.status;
}
