/*
 * In-memory bulk on one core: one thread moves N MiB from a client to a server.
 *   bulk synack [--mb N] [--mtu M]   two synack stacks in this process hand each other
 *                                    their packets (no link, no simulator), default buffers
 *                                    (autotuned), the monotonic clock as their time
 *   bulk synack --zero-copy ...      the same through synack_tcp_send_borrow/_commit (the
 *                                    writer memsets its bytes into the send buffer) and
 *                                    synack_tcp_recv_borrow/_commit (the reader consumes
 *                                    them in place): two copies fewer
 *   bulk synack --bufmax B ...       autotuning bounded at B bytes (sndbuf_max, rcvbuf_max)
 *   bulk synack --offload ...        the packets handed over as an in-memory link with
 *                                    transmit offloads carries them (the multi-queue wire):
 *                                    TCP checksums left partial and taken vouched for, TSO
 *                                    segments of up to 64 KiB taken whole, as the kernel's
 *                                    loopback does
 *   bulk synack --hugepages ...      the stacks' allocator puts blocks of 2 MiB and more
 *                                    on transparent huge pages (synack_hugealloc): the
 *                                    buffers autotuning grows to megabytes fault and miss
 *                                    the TLB per 2 MiB, not per 4 KiB
 *   bulk synack -v ...               also the buffers' sizes and cwnd at the end
 *   bulk kernel [--mb N]             the kernel's TCP over the loopback device of the
 *                                    current network namespace, non-blocking sockets
 *                                    driven by the same single thread (write what fits,
 *                                    read what came); bench/bulk.sh runs it in namespaces
 *                                    whose lo has the MTU wanted
 * Prints one line: "<who> mtu <M> <MiB> MiB <seconds> s <Gbit/s> Gbit/s". Run it under
 * `taskset -c 0` for one core (bench/bulk.sh does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <synack/link.h>
#include <synack/synack.h>

#include "util.h"

enum { CHUNK = 256 * 1024 };
static uint8_t chunk[CHUNK], sink[CHUNK];

static void die(const char *what, int rc)
{
    bench_die("bulk", what, rc);
}

static void report(const char *who, unsigned mtu, unsigned long long bytes, synack_time_t ns)
{
    double s = (double)ns / 1e9;
    printf("%s mtu %u %llu MiB %.3f s %.2f Gbit/s\n", who, mtu, bytes >> 20, s,
           (double)bytes * 8 / s / 1e9);
}

/* ---- synack ---- */

static size_t bufmax; /* --bufmax: sndbuf_max and rcvbuf_max; 0 keeps the default */
static int verbose;   /* -v: the buffers' sizes and cwnd at the end */
static unsigned tx;   /* --offload: SYNACK_TX_ALL (TCP only here), as an in-memory link
                         that vouches takes */
static struct synack_hugealloc *huge; /* --hugepages: both stacks' allocator */

static struct synack_stack *stack_at(uint32_t addr, unsigned mtu)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.mtu = mtu;
    cfg.udp_sndbuf = 2 * 65536; /* at least mtu + 2 */
    if (bufmax) cfg.sndbuf_max = cfg.rcvbuf_max = bufmax;
    if (huge) synack_hugealloc_use(huge, &cfg);
    struct synack_addr a = synack_addr_v4(addr);
    synack_config_add_addr(&cfg, &a);
    struct synack_stack *s;
    int rc = synack_stack_new(&s, &cfg);
    if (rc) die("stack", rc);
    return s;
}

static int hand_over(struct synack_stack *from, struct synack_stack *to, uint8_t *pkt, size_t cap,
                     synack_time_t now)
{
    return bench_hand_over(from, to, pkt, cap, tx, now);
}

static void run_synack(unsigned long long bytes, unsigned mtu, int zero_copy)
{
    struct synack_stack *cli = stack_at(0xc6120001u, mtu), *srv = stack_at(0xc6120002u, mtu);
    struct synack_listener *l;
    struct synack_endpoint at = {synack_addr_v4(0xc6120002u), 5001};
    int rc = synack_tcp_listen(srv, &at, 8, NULL, &l);
    if (rc) die("listen", rc);
    struct synack_tcp *c, *s = NULL;
    if ((rc = synack_tcp_connect(cli, &at, NULL, NULL, &c, mono_ns()))) die("connect", rc);
    uint8_t *pkt = malloc(65536);
    if (!pkt) die("memory", 0);
    for (int i = 0; i < 100 && !s; i++) {
        synack_time_t now = mono_ns();
        hand_over(cli, srv, pkt, 65536, now);
        hand_over(srv, cli, pkt, 65536, now);
        synack_tcp_accept(l, &s);
    }
    if (!s) die("no handshake", SYNACK_ERR_TIMEDOUT);
    drain_events(cli);
    drain_events(srv);
    unsigned long long sent = 0, got = 0;
    synack_time_t t0 = mono_ns();
    while (got < bytes) {
        synack_time_t now = mono_ns();
        while (sent < bytes && !zero_copy) {
            size_t want = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
            synack_ssize k = synack_tcp_send(c, chunk, want, now);
            if (k <= 0) break;
            sent += (unsigned long long)k;
        }
        if (zero_copy && sent < bytes) {
            /* The writer produces its bytes where the send buffer keeps them. */
            struct synack_piece p[2];
            synack_ssize room = synack_tcp_send_borrow(c, p);
            if (room > 0) {
                size_t n = bytes - sent < (size_t)room ? (size_t)(bytes - sent) : (size_t)room;
                size_t first = n < p[0].len ? n : p[0].len;
                memset(p[0].data, 'b', first);
                if (n > first) memset(p[1].data, 'b', n - first);
                if (synack_tcp_send_commit(c, n, now) != (synack_ssize)n) die("commit", 0);
                sent += n;
            }
        }
        synack_stack_handle_timers(cli, now);
        synack_stack_handle_timers(srv, now);
        hand_over(cli, srv, pkt, 65536, now);
        synack_ssize k;
        if (zero_copy) {
            /* The reader takes the bytes where the receive buffer holds them. */
            struct synack_piece p[2];
            if ((k = synack_tcp_recv_borrow(s, p)) > 0) {
                if (synack_tcp_recv_commit(s, (size_t)k, now) != 0) die("recv commit", 0);
                got += (unsigned long long)k;
            }
        } else {
            while ((k = synack_tcp_recv(s, sink, sizeof sink, now)) > 0)
                got += (unsigned long long)k;
        }
        hand_over(srv, cli, pkt, 65536, now);
        drain_events(cli);
        drain_events(srv);
        if (now - t0 > 600ull * 1000000000ull) die("no progress in 600 s", SYNACK_ERR_TIMEDOUT);
    }
    report(zero_copy ? (tx ? "synack-zero-copy-offload" : "synack-zero-copy")
                     : (tx ? "synack-offload" : "synack"),
           mtu, bytes, mono_ns() - t0);
    struct synack_tcp_info ci, si;
    if (verbose && !synack_tcp_info(c, &ci) && !synack_tcp_info(s, &si))
        printf("  client sndbuf %zu, server rcvbuf %zu, cwnd %u, rcv_rtt %llu ns\n",
               (size_t)ci.sndbuf, (size_t)si.rcvbuf, (unsigned)ci.cwnd,
               (unsigned long long)si.rcv_rtt);
    free(pkt);
    synack_stack_free(cli);
    synack_stack_free(srv);
}

/* ---- the kernel over loopback ---- */

static unsigned lo_mtu(void)
{
    FILE *f = fopen("/sys/class/net/lo/mtu", "r");
    unsigned m = 0;
    if (f) {
        if (fscanf(f, "%u", &m) != 1) m = 0;
        fclose(f);
    }
    return m;
}

static void run_kernel(unsigned long long bytes)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 8) ||
        getsockname(ls, (struct sockaddr *)&a, &alen))
        die("kernel listener", 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) die("kernel connect", 0);
    int s = accept(ls, NULL, NULL);
    if (s < 0) die("accept", 0);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    unsigned long long sent = 0, got = 0;
    synack_time_t t0 = mono_ns();
    while (got < bytes) {
        while (sent < bytes) {
            size_t want = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
            ssize_t k = write(c, chunk, want);
            if (k <= 0) {
                if (k < 0 && errno != EAGAIN) die("write", 0);
                break;
            }
            sent += (unsigned long long)k;
        }
        ssize_t k;
        while ((k = read(s, sink, sizeof sink)) > 0)
            got += (unsigned long long)k;
        if (k == 0 || (k < 0 && errno != EAGAIN)) die("read", 0);
        if (mono_ns() - t0 > 600ull * 1000000000ull) die("no progress in 600 s", 0);
    }
    report("kernel", lo_mtu(), bytes, mono_ns() - t0);
    close(c);
    close(s);
    close(ls);
}

int main(int argc, char **argv)
{
    unsigned long long mb = 1024;
    unsigned mtu = 1500;
    int kernel = -1, zero_copy = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "synack"))
            kernel = 0;
        else if (!strcmp(argv[i], "kernel"))
            kernel = 1;
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bufmax") && i + 1 < argc)
            bufmax = (size_t)strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--zero-copy"))
            zero_copy = 1;
        else if (!strcmp(argv[i], "--hugepages")) {
            int rc = synack_hugealloc_new(&huge, 0);
            if (rc) die("hugealloc", rc);
        } else if (!strcmp(argv[i], "--offload"))
            tx = SYNACK_TX_ALL;
        else if (!strcmp(argv[i], "--mtu") && i + 1 < argc)
            mtu = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            kernel = -1, i = argc;
    }
    if (kernel < 0 || mb == 0 || mtu < 576 || mtu > 65535) {
        fprintf(stderr, "usage: bulk synack|kernel [--mb N] [--mtu 576..65535] [--zero-copy] "
                        "[--offload] [--hugepages] [--bufmax BYTES] [-v]\n");
        return 2;
    }
    memset(chunk, 'b', sizeof chunk);
    if (kernel)
        run_kernel(mb << 20);
    else
        run_synack(mb << 20, mtu, zero_copy);
    synack_hugealloc_delete(huge); /* after the stacks that used it */
    return 0;
}
