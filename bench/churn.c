/*
 * Connection churn: connect, a 64-byte request, a 64-byte response, close, one connection
 * after another, in each close order (the client first, the server first, the client's
 * RST). Two synack stacks in one process hand each other their packets; beside them, in
 * the same run, the kernel over loopback with blocking sockets (the same steps, one
 * connection at a time). Both run on the monotonic clock: synack's TIME_WAIT, its reuse
 * (time_wait_reuse, 64 ms by default) and its delayed ACKs see real time, as in a real
 * program.
 *
 *   build/bench/churn [N] [--addrs K] [--no-reuse] [--reuse-ms M] [--order client|server|rst]
 *                     [--no-kernel]
 *       N connections per order (default 50000); the client stack gets K addresses
 *       (default 1); --no-reuse sets time_wait_reuse to 0, as synack was before it had it;
 *       --reuse-ms sets it to M ms (1000: Linux's default wait);
 *       --order runs one close order only; --no-kernel leaves the kernel out (for profiling
 *       synack alone: its columns read 0)
 *
 * One markdown row per order: connections per second for synack and the kernel, their
 * ratio, and for synack how many 4-tuples it took over from TIME_WAIT and how long it
 * waited for a port (every port of every address in a TIME_WAIT younger than the wait).
 * Loopback only; every loop is bounded by N and by a deadline of 120 s per order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <synack/synack.h>

#include "util.h"

enum order { CLIENT_FIRST, SERVER_FIRST, CLIENT_RST, ORDERS };
static const char *const order_name[ORDERS] = {"client closes first", "server closes first",
                                               "client resets (RST)"};
enum { MSG = 64, DEADLINE_S = 120 };

static void die(const char *what, int rc)
{
    bench_die("churn", what, rc);
}

/* ---- synack: two stacks, packets handed over in memory ---- */

struct pair {
    struct synack_stack *cli, *srv;
    struct synack_listener *l;
    uint8_t pkt[2048];
};

/* Moves packets both ways until neither stack has one to send. */
static void pump(struct pair *p)
{
    for (int quiet = 0; quiet < 2;) {
        synack_time_t now = mono_ns();
        synack_stack_handle_timers(p->cli, now);
        synack_stack_handle_timers(p->srv, now);
        quiet++;
        if (bench_hand_over(p->cli, p->srv, p->pkt, sizeof p->pkt, 0, now)) quiet = 0;
        if (bench_hand_over(p->srv, p->cli, p->pkt, sizeof p->pkt, 0, now)) quiet = 0;
        drain_events(p->cli);
        drain_events(p->srv);
    }
}

static synack_time_t tw_reuse = SYNACK_NEVER; /* SYNACK_NEVER: the stack's default */

static void pair_init(struct pair *p, unsigned addrs)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    if (tw_reuse != SYNACK_NEVER) cfg.time_wait_reuse = tw_reuse;
    for (unsigned i = 0; i < addrs; i++) {
        struct synack_addr a = synack_addr_v4(0xc6120001u + 2 * i); /* 198.18.0.1, .3, ... */
        int rc = synack_config_add_addr(&cfg, &a);
        if (rc) die("client address", rc);
    }
    int rc = synack_stack_new(&p->cli, &cfg);
    if (rc) die("client stack", rc);
    memset(cfg.addrs, 0, sizeof cfg.addrs);
    struct synack_addr srv = synack_addr_v4(0xc6120002u);
    synack_config_add_addr(&cfg, &srv);
    if ((rc = synack_stack_new(&p->srv, &cfg))) die("server stack", rc);
    struct synack_endpoint local = {srv, 80};
    if ((rc = synack_tcp_listen(p->srv, &local, 128, NULL, &p->l))) die("listen", rc);
}

struct result {
    unsigned long done;
    double seconds;
    double port_wait; /* seconds spent with no port free */
    unsigned long long reused;
};

static void expect_read(struct pair *p, struct synack_tcp *c, size_t want)
{
    uint8_t buf[MSG];
    size_t got = 0;
    for (int tries = 0; got < want && tries < 100; tries++) {
        synack_ssize n = synack_tcp_recv(c, buf, sizeof buf, mono_ns());
        if (n > 0)
            got += (size_t)n;
        else
            pump(p);
    }
    if (got != want) die("a message did not arrive", SYNACK_ERR_TIMEDOUT);
}

/* Reads the end of the stream (0) on `c`, pumping as needed. */
static void expect_eof(struct pair *p, struct synack_tcp *c)
{
    uint8_t b;
    for (int tries = 0; tries < 100; tries++) {
        synack_ssize n = synack_tcp_recv(c, &b, 1, mono_ns());
        if (n == 0 || (n < 0 && n != SYNACK_ERR_AGAIN)) return; /* EOF, or reset */
        pump(p);
    }
    die("no end of stream", SYNACK_ERR_TIMEDOUT);
}

static struct result synack_churn(unsigned long n, enum order o, unsigned addrs)
{
    struct pair p;
    pair_init(&p, addrs);
    uint8_t msg[MSG];
    memset(msg, 'q', sizeof msg);
    struct synack_endpoint server = {synack_addr_v4(0xc6120002u), 80};
    struct result r = {0};
    synack_time_t t0 = mono_ns(), deadline = t0 + (synack_time_t)DEADLINE_S * 1000000000ull;
    for (; r.done < n && mono_ns() < deadline; r.done++) {
        struct synack_tcp *c, *s;
        int rc;
        synack_time_t waited = mono_ns();
        bool stalled = false;
        while ((rc = synack_tcp_connect(p.cli, &server, NULL, NULL, &c, mono_ns())) ==
                   SYNACK_ERR_NOPORTS &&
               mono_ns() < deadline) {
            stalled = true;
            pump(&p); /* TIME_WAITs age; nothing else to do */
        }
        if (rc) die("connect", rc);
        if (stalled) r.port_wait += (double)(mono_ns() - waited) / 1e9;
        pump(&p);
        if ((rc = synack_tcp_accept(p.l, &s))) die("accept", rc);
        if (synack_tcp_send(c, msg, MSG, mono_ns()) != MSG) die("request", SYNACK_ERR_AGAIN);
        pump(&p);
        expect_read(&p, s, MSG);
        if (synack_tcp_send(s, msg, MSG, mono_ns()) != MSG) die("response", SYNACK_ERR_AGAIN);
        pump(&p);
        expect_read(&p, c, MSG);
        /* The side that ends first, and the other, which reads the end and closes. */
        struct synack_tcp *first = o == SERVER_FIRST ? s : c, *second = o == SERVER_FIRST ? c : s;
        if (o == CLIENT_RST)
            synack_tcp_abort(first, mono_ns());
        else
            synack_tcp_close(first, mono_ns());
        pump(&p);
        expect_eof(&p, second);
        synack_tcp_close(second, mono_ns());
        pump(&p);
    }
    r.seconds = (double)(mono_ns() - t0) / 1e9;
    struct synack_counters k;
    synack_stack_counters(p.cli, &k);
    r.reused = k.time_wait_reused;
    synack_stack_free(p.cli);
    synack_stack_free(p.srv);
    return r;
}

/* ---- the kernel over loopback ---- */

static void full_io(int fd, void *buf, size_t len, int writing)
{
    size_t done = 0;
    while (done < len) {
        ssize_t k = writing ? write(fd, (uint8_t *)buf + done, len - done)
                            : read(fd, (uint8_t *)buf + done, len - done);
        if (k <= 0) die(writing ? "write" : "read", 0);
        done += (size_t)k;
    }
}

static struct result kernel_churn(unsigned long n, enum order o)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 128) ||
        getsockname(ls, (struct sockaddr *)&a, &alen))
        die("kernel listener", 0);
    uint8_t msg[MSG], buf[MSG];
    memset(msg, 'q', sizeof msg);
    struct result r = {0};
    synack_time_t t0 = mono_ns(), deadline = t0 + (synack_time_t)DEADLINE_S * 1000000000ull;
    for (; r.done < n && mono_ns() < deadline; r.done++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0) die("socket", 0);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        synack_time_t waited = mono_ns();
        bool stalled = false;
        while (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
            if (errno != EADDRNOTAVAIL || mono_ns() >= deadline) die("kernel connect", 0);
            stalled = true;
            usleep(1000); /* every port in TIME_WAIT: wait as synack does */
        }
        if (stalled) r.port_wait += (double)(mono_ns() - waited) / 1e9;
        int s = accept(ls, NULL, NULL);
        if (s < 0) die("accept", 0);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        full_io(c, msg, MSG, 1);
        full_io(s, buf, MSG, 0);
        full_io(s, msg, MSG, 1);
        full_io(c, buf, MSG, 0);
        char b;
        switch (o) {
        case CLIENT_FIRST:
            close(c);
            if (read(s, &b, 1) != 0) die("kernel end of stream", 0);
            close(s);
            break;
        case SERVER_FIRST:
            close(s);
            if (read(c, &b, 1) != 0) die("kernel end of stream", 0);
            close(c);
            break;
        default: {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(c);
            (void)!read(s, &b, 1); /* ECONNRESET */
            close(s);
            break;
        }
        }
    }
    r.seconds = (double)(mono_ns() - t0) / 1e9;
    close(ls);
    return r;
}

int main(int argc, char **argv)
{
    unsigned long n = 50000;
    unsigned addrs = 1;
    int only = -1; /* one order, or every order */
    bool kernel = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--addrs") && i + 1 < argc)
            addrs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--no-reuse"))
            tw_reuse = 0;
        else if (!strcmp(argv[i], "--reuse-ms") && i + 1 < argc)
            tw_reuse = SYNACK_MS(strtoul(argv[++i], NULL, 10));
        else if (!strcmp(argv[i], "--no-kernel"))
            kernel = false;
        else if (!strcmp(argv[i], "--order") && i + 1 < argc) {
            const char *w = argv[++i];
            only = !strcmp(w, "client")   ? CLIENT_FIRST
                   : !strcmp(w, "server") ? SERVER_FIRST
                   : !strcmp(w, "rst")    ? CLIENT_RST
                                          : -2;
        } else
            n = strtoul(argv[i], NULL, 10);
    }
    if (n == 0 || addrs == 0 || addrs > SYNACK_MAX_ADDRS || only == -2) {
        fprintf(stderr,
                "usage: churn [N] [--addrs K] [--no-reuse] [--reuse-ms M] "
                "[--order client|server|rst] [--no-kernel]   (N > 0, 1 <= K <= %d)\n",
                SYNACK_MAX_ADDRS);
        return 2;
    }
    printf("| close order | connections | synack conn/s | kernel conn/s | synack / kernel | "
           "synack TIME_WAITs reused | synack s waiting for a port | kernel s waiting |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int o = 0; o < ORDERS; o++) {
        if (only >= 0 && o != only) continue;
        struct result s = synack_churn(n, (enum order)o, addrs);
        struct result k = kernel ? kernel_churn(n, (enum order)o) : (struct result){0};
        double rs = (double)s.done / s.seconds, rk = kernel ? (double)k.done / k.seconds : 0;
        printf("| %s | %lu / %lu | %.0f | %.0f | %.2f | %llu | %.2f | %.2f |\n", order_name[o],
               s.done, k.done, rs, rk, kernel ? rs / rk : 0, s.reused, s.port_wait, k.port_wait);
        fflush(stdout);
    }
    return 0;
}
