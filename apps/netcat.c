/* `synack cat`: netcat over synack. stdin goes to the connection, the connection to stdout,
 * both through the event loop with back-pressure both ways. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "netopt.h"

#define CAT_CHUNK (64 * 1024)         /* bytes per read of stdin and per recv for stdout */
#define CAT_READS_PER_TURN 16         /* stdin reads per callback while the send buffer takes all */
#define CAT_RECVS_PER_TURN 64         /* recv + write rounds per turn while stdout takes all */
#define CAT_BACKLOG 8                 /* -k: connections that may wait while one is served */
#define CAT_LINGER_MIN SYNACK_MS(200) /* the default linger in TIME_WAIT, at least */
#define CAT_LINGER_RENEWALS 4         /* times the linger is doubled for a peer still retrying */

static const char cat_usage[] =
    "usage: synack cat [options] --addr ADDR/PREFIX HOST PORT\n"
    "       synack cat -l [-k] [options] --addr ADDR/PREFIX [ADDR] PORT\n"
    "\n"
    "netcat over synack: a TCP connection on a TUN device or over UDP encapsulation. stdin\n"
    "goes to the connection and the connection to stdout. At end of file on stdin the write\n"
    "side is shut down (a FIN: half-close) and reading goes on until the peer closes too.\n"
    "Back-pressure both ways: stdin is read only while the send buffer has room, and data\n"
    "is taken from the connection only as fast as stdout accepts it, so the receive window\n"
    "closes when stdout is slow.\n"
    "\n"
    "  HOST PORT             connect to HOST (a dotted IPv4 address of another unicast\n"
    "                        host, not --addr itself) on PORT\n"
    "  -l                    listen on PORT (of --addr) and serve one connection; further\n"
    "                        SYNs are refused with RST once it is accepted\n"
    "  -k                    with -l: keep listening, serving one connection at a time (the\n"
    "                        next waits in a backlog of 8). stdin is shared as in OpenBSD\n"
    "                        nc -k: the connection being served reads it until end of file;\n"
    "                        every later connection gets an immediate half-close (FIN) and\n"
    "                        its data still goes to stdout\n"
    "  -p PORT               local port of the connection (default: an ephemeral port)\n"
    "  -w SECS               give up if the connection is not established within SECS\n"
    "                        (default: the SYN retries, about two minutes); not with -l\n"
    "  --linger MS           after a clean close in TIME_WAIT, stay this long to answer a\n"
    "                        retransmitted FIN whose ACK was lost, renewed while the peer\n"
    "                        keeps retransmitting; 0 exits at once. Default: twice the\n"
    "                        retransmission timeout (at least 200 ms) when the path may\n"
    "                        lose packets; 0 when it cannot (no --loss, --corrupt or\n"
    "                        --rate, and the peer is the kernel's end of the TUN or the\n"
    "                        UDP peer is on loopback). Not with -k: the process stays up\n"
    "                        and answers such FINs anyway\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "examples:\n"
    "  nc -l 5000 > out &                  (the kernel's side, as root)\n"
    "  synack cat --link tun:tun0 --addr 198.18.0.2/24 --tun-host-addr 198.18.0.1/24 \\\n"
    "      198.18.0.1 5000 < file\n"
    "  synack cat -l --link udp:127.0.0.1:9001,127.0.0.1:9000 --addr 198.18.77.1/24 \\\n"
    "      5000 > out &                    (two unprivileged processes)\n"
    "  synack cat --link udp:127.0.0.1:9000,127.0.0.1:9001 --addr 198.18.77.2/24 \\\n"
    "      198.18.77.1 5000 < file\n"
    "\n"
    "exit status: 0 when both directions finished cleanly (all our data and our FIN\n"
    "acknowledged, the peer's FIN received and all its data written to stdout); 1 when the\n"
    "connection failed (refused, timed out, reset by peer, ...) or stdin/stdout failed;\n"
    "2 for bad usage; 130 on SIGINT and 143 on SIGTERM (128 + the signal, as a shell\n"
    "reports a process killed by it), after resetting the connection, flushing --pcap\n"
    "and restoring stdin and stdout. With -k it runs until signalled and reports failed\n"
    "connections.\n";

struct cat_opts {
    struct net_opts net;
    bool listen, keep;
    uint32_t host; /* client: the peer; 0 for -l */
    uint16_t port; /* client: the peer's port; -l: ours */
    uint16_t src_port;
    synack_time_t connect_timeout; /* 0: none of our own */
    synack_time_t linger;
    bool linger_set;
};

/* One end of the pipe between a descriptor and the connection. */
struct cat_fd {
    int fd;
    int saved_flags;   /* fcntl flags to restore at exit; -1 when unchanged */
    bool never_blocks; /* O_NONBLOCK, or a regular file: read/write may be repeated */
    bool watched;      /* the loop is told to watch it */
    uint8_t *buf;      /* CAT_CHUNK bytes */
    size_t off, len;   /* bytes waiting: read from stdin not yet sent, or not yet written */
};

struct cat {
    struct net_env env;
    const struct cat_opts *o;
    struct synack_listener *listener;
    struct synack_tcp *tcp; /* the connection being served, or NULL */
    uint64_t conn_id;
    bool established;  /* CONNECTED (or accepted): data may flow */
    bool fin_sent;     /* stdin ended and its data is queued: shutdown() done */
    bool peer_eof;     /* recv returned 0: the peer's FIN and all its data are in */
    int err;           /* the connection's error (SYNACK_ERR_*) */
    bool local_failed; /* stdin or stdout failed (message printed) */
    struct cat_fd in, out;
    bool in_eof; /* stdin reached end of file (for good: -k shares it) */
    bool stop;
    int status;
    synack_time_t connect_deadline;
};

/* ---- options -------------------------------------------------------------------------------- */

static int parse_port(const char *cmd, const char *what, const char *s, uint16_t *out)
{
    uint64_t v;
    if (cli_parse_u64(s, &v) < 0 || v < 1 || v > 65535)
        return cli_fail(cmd, "%s wants a port from 1 to 65535, not '%s'", what, s);
    *out = (uint16_t)v;
    return 0;
}

/* The options of cat itself, at argv[*i]. 1 consumed, 0 not ours, 2 bad value. */
static int parse_cat_option(struct cat_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    double d;
    if (strcmp(a, "-l") == 0 || strcmp(a, "--listen") == 0) {
        o->listen = true;
    } else if (strcmp(a, "-k") == 0 || strcmp(a, "--keep-open") == 0) {
        o->keep = true;
    } else if (strcmp(a, "-lk") == 0 || strcmp(a, "-kl") == 0) {
        o->listen = o->keep = true;
    } else if (strcmp(a, "-p") == 0 || strcmp(a, "-w") == 0 || strcmp(a, "--linger") == 0) {
        if (!v) return cli_fail("cat", "%s needs a value (see synack cat --help)", a);
        (*i)++;
        if (strcmp(a, "-p") == 0) {
            if (parse_port("cat", "-p", v, &o->src_port)) return 2;
        } else if (strcmp(a, "-w") == 0) {
            if (cli_parse_double(v, 0.001, 86400, &d) < 0)
                return cli_fail("cat", "-w wants seconds from 0.001 to 86400, not '%s'", v);
            o->connect_timeout = (synack_time_t)(d * 1e9);
        } else {
            if (cli_parse_double(v, 0, 600000, &d) < 0)
                return cli_fail("cat", "--linger wants milliseconds from 0 to 600000, not '%s'", v);
            o->linger = (synack_time_t)(d * 1e6);
            o->linger_set = true;
        }
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

/* Fills `o` from argv; 0, -1 for --help (printed), or the exit status of a bad usage. */
static int parse_args(struct cat_opts *o, int argc, char **argv)
{
    const char *pos[3];
    int npos = 0;
    memset(o, 0, sizeof *o);
    net_opts_default(&o->net);
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(cat_usage, net_opts_help);
            return -1;
        }
        int rc = net_opts_parse(&o->net, "cat", argc, argv, &i);
        if (rc < 0) return 2;
        if (rc > 0) continue;
        rc = parse_cat_option(o, argc, argv, &i);
        if (rc == 2) return 2;
        if (rc == 1) continue;
        if (a[0] == '-' && a[1] != 0)
            return cli_fail("cat", "unknown option '%s' (see synack cat --help)", a);
        if (npos == 3)
            return cli_fail("cat", "unexpected argument '%s' (see synack cat --help)", a);
        pos[npos++] = a;
        i++;
    }
    if (o->keep && !o->listen) return cli_fail("cat", "-k keeps listening: it needs -l");
    if (o->keep && o->linger_set)
        return cli_fail("cat", "--linger is for one connection: with -k the process stays up and "
                               "answers a peer's retransmitted FIN itself");
    if (o->listen) {
        if (o->src_port) return cli_fail("cat", "-p is for connecting; with -l give the PORT");
        if (o->connect_timeout)
            return cli_fail("cat", "-w limits connecting; with -l the listener waits as long as "
                                   "it runs (stop it with a signal or timeout(1))");
        if (npos == 0 || npos > 2)
            return cli_fail("cat", "-l wants the port to listen on: synack cat -l [ADDR] PORT");
        if (npos == 2) {
            uint32_t a;
            if (net_parse_ip(pos[0], &a) < 0 || (o->net.addr && a != o->net.addr))
                return cli_fail("cat",
                                "-l listens on the stack's own address (--addr); '%s' is not it",
                                pos[0]);
        }
        return parse_port("cat", "PORT", pos[npos - 1], &o->port);
    }
    if (npos != 2)
        return cli_fail("cat", "wants HOST PORT to connect to, or -l PORT to listen (see synack "
                               "cat --help)");
    if (net_parse_ip(pos[0], &o->host) < 0)
        return cli_fail("cat", "HOST wants a dotted IPv4 address like 198.18.0.1, not '%s'",
                        pos[0]);
    if (net_opts_check_peer(&o->net, "cat", "HOST", o->host)) return 2;
    return parse_port("cat", "PORT", pos[1], &o->port);
}

/* ---- stdin and stdout --------------------------------------------------------------------- */

/* Pipes and sockets become non-blocking (restored at exit), so that a write to a full pipe
 * cannot stall the loop; terminals and regular files are left as they are (their file
 * description may be shared with other processes). A descriptor that may block (a
 * terminal) is read once per readiness: the loop polls it readable first. */
static int cat_fd_init(struct cat_fd *f, int fd)
{
    struct stat st;
    f->fd = fd;
    f->saved_flags = -1;
    f->buf = malloc(CAT_CHUNK);
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

static void cat_fd_fini(struct cat_fd *f)
{
    if (f->saved_flags >= 0) (void)fcntl(f->fd, F_SETFL, f->saved_flags);
    free(f->buf);
    f->buf = NULL;
}

static void cat_watch(struct cat *c, struct cat_fd *f, unsigned events)
{
    bool want = events != 0;
    if (want == f->watched) return;
    f->watched = want;
    (void)synack_loop_mod_fd(c->env.loop, f->fd, events);
}

/* "to 198.18.0.1:5000" or "from 198.18.0.1:40000". */
static void cat_peer(const struct cat *c, char *buf, size_t cap)
{
    struct synack_tcp_info i;
    uint32_t ip = c->o->host;
    unsigned port = c->o->port;
    if (c->tcp && synack_tcp_info(c->tcp, &i) == 0) {
        ip = i.remote_addr;
        port = i.remote_port;
    }
    char a[16];
    net_format_ip(a, sizeof a, ip);
    snprintf(buf, cap, "%s %s:%u", c->o->listen ? "from" : "to", a, port);
}

/* Reports a failure of the connection once, in one line. */
static void cat_report(const struct cat *c, int err)
{
    char peer[48];
    cat_peer(c, peer, sizeof peer);
    switch (err) {
    case SYNACK_ERR_CONNREFUSED:
        fprintf(stderr, "synack cat: connection %s refused\n", peer);
        break;
    case SYNACK_ERR_TIMEDOUT:
        fprintf(stderr, "synack cat: connection %s timed out\n", peer);
        break;
    case SYNACK_ERR_CONNRESET:
        fprintf(stderr, "synack cat: connection %s reset by peer\n", peer);
        break;
    default:
        fprintf(stderr, "synack cat: connection %s failed: %s\n", peer, synack_strerror(err));
        break;
    }
}

/* stdin or stdout failed: the connection is reset (the peer must not take a truncated
 * stream for a complete one). */
static void cat_local_fail(struct cat *c, const char *what, int e)
{
    fprintf(stderr, "synack cat: %s: %s\n", what, e == EPIPE ? "broken pipe" : strerror(e));
    c->local_failed = true;
}

/* Sends what stdin gave, then the FIN once stdin has ended. */
static void cat_pump_send(struct cat *c, synack_time_t now)
{
    if (!c->tcp || !c->established || c->fin_sent || c->err || c->local_failed) return;
    while (c->in.len > 0) {
        synack_ssize n = synack_tcp_send(c->tcp, c->in.buf + c->in.off, c->in.len, now);
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
        int rc = synack_tcp_shutdown(c->tcp, now);
        if (rc < 0) {
            c->err = rc;
            return;
        }
        c->fin_sent = true;
    }
    cat_watch(c, &c->in, c->in.len == 0 && !c->in_eof ? SYNACK_LOOP_IN : 0);
}

static void cat_on_stdin(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    struct cat *c = ctx;
    (void)ready;
    /* A second read of a blocking stdin (a terminal) would wait for the next line inside
     * the loop, with everything else stalled: one read per readiness then. */
    int reads = c->in.never_blocks ? CAT_READS_PER_TURN : 1;
    for (int k = 0; k < reads && c->in.len == 0 && !c->in_eof; k++) {
        ssize_t n = read(fd, c->in.buf, CAT_CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0) {
            cat_local_fail(c, "reading stdin", errno);
            break;
        }
        if (n == 0) {
            c->in_eof = true;
            synack_loop_del_fd(c->env.loop, fd);
            c->in.watched = false;
        }
        c->in.off = 0;
        c->in.len = (size_t)n;
        cat_pump_send(c, now);
    }
}

/* Writes what waits for stdout. false when stdout cannot take it all now. */
static bool cat_flush_stdout(struct cat *c)
{
    while (c->out.len > 0) {
        ssize_t n = write(c->out.fd, c->out.buf + c->out.off, c->out.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            cat_watch(c, &c->out, SYNACK_LOOP_OUT);
            return false;
        }
        if (n < 0) {
            cat_local_fail(c, "writing stdout", errno);
            return false;
        }
        c->out.off += (size_t)n;
        c->out.len -= (size_t)n;
    }
    c->out.off = 0;
    cat_watch(c, &c->out, 0);
    return true;
}

/* Moves data from the connection to stdout while stdout takes it, at most
 * CAT_RECVS_PER_TURN chunks a turn (so stdin and the link get their turn too). */
static void cat_pump_recv(struct cat *c, synack_time_t now)
{
    for (int k = 0;; k++) {
        if (c->local_failed) return;
        if (k == CAT_RECVS_PER_TURN) {
            /* More may be waiting in the receive buffer, and with the peer done nothing
             * else would wake the loop: stdout's readiness brings the next turn. */
            cat_watch(c, &c->out, SYNACK_LOOP_OUT);
            return;
        }
        if (!cat_flush_stdout(c)) return; /* the window closes while stdout is slow */
        if (!c->tcp || c->peer_eof || c->err) return;
        synack_ssize n = synack_tcp_recv(c->tcp, c->out.buf, CAT_CHUNK, now);
        if (n == SYNACK_ERR_AGAIN || n == SYNACK_ERR_NOTCONN) return;
        if (n < 0) {
            c->err = (int)n;
            return;
        }
        if (n == 0) {
            c->peer_eof = true;
            return;
        }
        c->out.off = 0;
        c->out.len = (size_t)n;
    }
}

static void cat_on_stdout(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)fd;
    (void)ready;
    cat_pump_recv(ctx, now);
}

/* ---- the connection ----------------------------------------------------------------------- */

/* Our data and FIN are acknowledged: FIN_WAIT_2, TIME_WAIT, or CLOSED after LAST_ACK. */
static bool cat_fin_acked(const struct cat *c)
{
    enum synack_state st = synack_tcp_state(c->tcp);
    return c->fin_sent && (st == SYNACK_FIN_WAIT_2 || st == SYNACK_TIME_WAIT ||
                           (st == SYNACK_CLOSED && c->err == 0));
}

/* A connection starts being served: stdin (if it has not ended) feeds it. */
static void cat_begin(struct cat *c, struct synack_tcp *t)
{
    c->tcp = t;
    c->conn_id = synack_tcp_id(t);
    c->established = false;
    c->fin_sent = c->peer_eof = false;
    c->err = 0;
    c->in.off = c->in.len = 0;
    synack_tcp_set_user(t, c);
    net_env_name_conn(&c->env, t);
}

/* Waits in TIME_WAIT so that a FIN retransmitted because our last ACK was lost is
 * acknowledged again (RFC 9293 §3.6: the reason TIME_WAIT exists); the peer is done once it
 * stops retransmitting. Bounded by the linger time, renewed while FINs keep coming. */
static void cat_linger(struct cat *c)
{
    struct synack_tcp_info i;
    if (synack_tcp_info(c->tcp, &i) < 0 || i.state != SYNACK_TIME_WAIT) return;
    synack_time_t linger = c->o->linger;
    if (!c->o->linger_set) {
        if (!net_opts_path_may_lose(&c->o->net, i.remote_addr)) return; /* the ACK got there */
        linger = 2 * i.rto > CAT_LINGER_MIN ? 2 * i.rto : CAT_LINGER_MIN;
    }
    if (linger == 0) return;
    synack_loop_set_turn(c->env.loop, NULL, NULL);
    uint64_t seen = i.counters.segs_in;
    synack_time_t until = synack_loop_now(c->env.loop) + linger;
    for (int renewals = 0; renewals <= CAT_LINGER_RENEWALS;) {
        synack_time_t now = synack_loop_now(c->env.loop);
        if (now >= until) break;
        if (synack_loop_run_once(c->env.loop, until - now) < 0 || c->env.signal) break;
        if (synack_tcp_info(c->tcp, &i) < 0 || i.state != SYNACK_TIME_WAIT) break;
        if (i.counters.segs_in != seen) {
            /* The peer retransmitted, so it may again, after a backed-off (doubled)
             * timeout: wait twice as long. */
            seen = i.counters.segs_in;
            linger *= 2;
            until = synack_loop_now(c->env.loop) + linger;
            renewals++;
        }
    }
}

/* The served connection is over, well or not. Without -k the loop stops, and a connection
 * that ended well is kept for cat_finish (the linger in TIME_WAIT). */
static void cat_end(struct cat *c, synack_time_t now, bool ok)
{
    cat_watch(c, &c->out, 0);
    if (!c->in_eof) cat_watch(c, &c->in, 0);
    if (!ok) {
        if (c->err && !c->local_failed) cat_report(c, c->err);
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
static void cat_finish(struct cat *c)
{
    if (!c->tcp) return;
    bool ok = c->status == 0 && !c->err && !c->local_failed && c->peer_eof;
    if (ok) cat_linger(c);
    if (c->env.signal && !c->status) c->status = 128 + c->env.signal; /* while lingering */
    net_env_log_conn(&c->env, c->tcp);
    synack_time_t now = synack_loop_now(c->env.loop);
    if (ok)
        synack_tcp_close(c->tcp, now);
    else
        synack_tcp_abort(c->tcp, now);
    c->tcp = NULL;
}

static void cat_event(struct cat *c, const struct synack_event *ev, synack_time_t now)
{
    net_env_log_event(&c->env, ev);
    if (ev->type == SYNACK_EV_ACCEPTABLE || !c->tcp || ev->conn_id != c->conn_id) return;
    switch (ev->type) {
    case SYNACK_EV_CONNECTED:
        c->established = true;
        cat_pump_send(c, now);
        break;
    case SYNACK_EV_ERROR:
        if (!c->err) c->err = ev->err;
        break;
    default:
        break;
    }
}

/* -l: takes the next connection when none is being served. true if it took one. */
static bool cat_accept(struct cat *c, synack_time_t now)
{
    struct synack_tcp *t;
    if (c->tcp || !c->listener || synack_tcp_accept(c->listener, &t) < 0) return false;
    cat_begin(c, t);
    if (!c->o->keep) { /* one connection: later SYNs are refused (RST) */
        synack_listener_close(c->listener, now);
        c->listener = NULL;
    }
    struct synack_tcp_info i;
    if (synack_tcp_info(t, &i) == 0 && i.err) c->err = i.err; /* failed while queued */
    c->established = i.state != SYNACK_SYN_RECEIVED && i.state != SYNACK_CLOSED;
    if (c->env.verbose) {
        char peer[48];
        cat_peer(c, peer, sizeof peer);
        fprintf(stderr, "synack cat: accepted a connection %s\n", peer);
    }
    cat_pump_send(c, now);
    return true;
}

/* Moves data both ways and ends the connection when it is over. */
static void cat_serve(struct cat *c, synack_time_t now)
{
    if (c->established) {
        cat_pump_send(c, now);
        cat_pump_recv(c, now);
    }
    if (c->err || c->local_failed) {
        cat_end(c, now, false);
    } else if (c->peer_eof && c->out.len == 0 && cat_fin_acked(c)) {
        cat_end(c, now, true);
    } else if (!c->established && c->connect_deadline && now >= c->connect_deadline) {
        /* RFC 1122 §4.2.3.9: an ICMP error that did not abort the connection (host
         * unreachable, say) is what to report when it is given up. */
        struct synack_tcp_info i;
        bool soft = synack_tcp_info(c->tcp, &i) == 0 && i.soft_err != 0;
        c->err = soft ? i.soft_err : SYNACK_ERR_TIMEDOUT;
        cat_end(c, now, false);
    }
}

static void cat_turn(void *ctx, synack_time_t now)
{
    struct cat *c = ctx;
    struct synack_event ev;
    /* Accepting first names the connection before its queued events are logged. With -k,
     * when the served connection ends the next one in the backlog is taken in the same
     * turn: it may have sent everything already, and then nothing else would wake the
     * loop for it (closing in TIME_WAIT queues no event). The backlog bounds the rounds. */
    if (!c->stop) (void)cat_accept(c, now);
    for (;;) {
        while (synack_stack_next_event(c->env.stack, &ev) == 0)
            cat_event(c, &ev, now);
        if (c->stop || !c->tcp) return; /* over: cat_finish has the rest */
        cat_serve(c, now);
        if (c->tcp || c->stop || !cat_accept(c, now)) return;
    }
}

/* ---- main ----------------------------------------------------------------------------------- */

static int cat_start(struct cat *c)
{
    const struct cat_opts *o = c->o;
    synack_time_t now = synack_loop_now(c->env.loop);
    int rc;
    if (o->listen) {
        rc = synack_tcp_listen(c->env.stack, o->port, o->keep ? CAT_BACKLOG : 1, c, &c->listener);
        if (rc < 0) {
            fprintf(stderr, "synack cat: cannot listen on port %u: %s\n", o->port,
                    synack_strerror(rc));
            return 1;
        }
        if (c->env.verbose) fprintf(stderr, "synack cat: listening on port %u\n", o->port);
        return 0;
    }
    struct synack_tcp *t;
    rc = synack_tcp_connect(c->env.stack, o->host, o->port, o->src_port, c, &t, now);
    if (rc < 0) {
        fprintf(stderr, "synack cat: cannot connect: %s\n", synack_strerror(rc));
        return 1;
    }
    cat_begin(c, t);
    if (o->connect_timeout) c->connect_deadline = now + o->connect_timeout;
    return 0;
}

/* SIGINT or SIGTERM: the connection is reset by cat_finish; 128 + the signal. */
static int cat_signalled(struct cat *c)
{
    c->stop = true;
    c->status = 128 + c->env.signal;
    return c->status;
}

static int cat_run(struct cat *c)
{
    if (cat_fd_init(&c->in, STDIN_FILENO) < 0 || cat_fd_init(&c->out, STDOUT_FILENO) < 0) {
        fputs("synack cat: out of memory\n", stderr);
        return 1;
    }
    if (synack_loop_add_fd(c->env.loop, c->in.fd, 0, cat_on_stdin, c) < 0 ||
        synack_loop_add_fd(c->env.loop, c->out.fd, 0, cat_on_stdout, c) < 0) {
        fputs("synack cat: stdin or stdout cannot be watched by the event loop\n", stderr);
        return 1;
    }
    if (net_env_watch_signals(&c->env)) return 1;
    synack_loop_set_turn(c->env.loop, cat_turn, c);
    int rc = cat_start(c);
    if (rc) return rc;
    bool first = true; /* the SYN leaves at once, not at the first deadline */
    while (!c->stop) {
        synack_time_t wait = SYNACK_NEVER;
        if (first) {
            wait = 0;
            first = false;
        } else if (c->connect_deadline && !c->established) {
            synack_time_t now = synack_loop_now(c->env.loop);
            wait = c->connect_deadline > now ? c->connect_deadline - now : 0;
        }
        rc = synack_loop_run_once(c->env.loop, wait);
        if (rc < 0) return net_env_loop_failed(&c->env, rc);
        if (c->env.signal && !c->stop) return cat_signalled(c);
    }
    return c->status;
}

int cmd_cat(int argc, char **argv)
{
    struct cat_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is EPIPE from write(), not a signal */
    struct cat c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    c.in.fd = c.out.fd = -1;
    c.in.saved_flags = c.out.saved_flags = -1;
    rc = net_env_open(&c.env, &o.net, "cat");
    if (rc) return rc;
    rc = cat_run(&c);
    if (rc && !c.status) c.status = rc;
    cat_finish(&c);
    if (c.listener) synack_listener_close(c.listener, synack_loop_now(c.env.loop));
    if (c.in.fd >= 0 && !c.in_eof) synack_loop_del_fd(c.env.loop, c.in.fd);
    if (c.out.fd >= 0) synack_loop_del_fd(c.env.loop, c.out.fd);
    net_env_close(&c.env);
    cat_fd_fini(&c.in);
    cat_fd_fini(&c.out);
    return c.status;
}
