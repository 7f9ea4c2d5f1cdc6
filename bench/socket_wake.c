/*
 * Sockets: how soon a blocked recv wakes after the peer's send, and what a bulk transfer
 * through the socket calls costs, on two runtimes (each with its own thread) joined by
 * in-process links. No network: what is measured is the socket layer, the runtimes' wake-
 * ups and the stacks.
 *
 *   - wake: the client sends 8 bytes holding CLOCK_MONOTONIC at the send; the server,
 *     blocked in recv, takes the time when recv returns. Each one-way latency covers the
 *     sender's stack, the link, the receiving runtime's thread waking on the link's eventfd,
 *     the stack, and the blocked thread waking on its eventfd. N messages, one at a time
 *     (the server answers each, so the next send finds the server blocked again).
 *   - bulk: BYTES through blocking send and recv, in 64 KiB calls.
 *
 * With `kernel` as third argument the same runs over the kernel's TCP on loopback (its
 * socket calls, 127.0.0.1), for comparison.
 *
 *   build/bench/socket_wake [N [BYTES [kernel]]]      (default 20000 messages, 256 MiB)
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <synack/socket.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct synack_link *link_a, *link_b;

/* Each link's packets go to the other at once. */
static void forward(void *ctx, struct synack_link *l, size_t waiting)
{
    (void)waiting;
    struct synack_link *to = ctx == &link_a ? link_b : link_a;
    uint8_t buf[65536];
    synack_ssize n;
    while ((n = synack_inproc_pull(l, buf, sizeof(buf), NULL)) > 0)
        (void)synack_inproc_push(to, buf, (size_t)n, 0);
}

static struct synack_rt *runtime(uint32_t addr, struct synack_link **link, unsigned mtu)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(addr);
    synack_config_add_addr(&cfg, &a);
    cfg.seed = addr;
    struct synack_inproc_config ic = {.mtu = mtu, .on_send = forward, .on_send_ctx = link};
    struct synack_rt *rt;
    char err[256] = "cannot open the in-process link";
    if (synack_inproc_open(link, &ic) != 0 ||
        synack_rt_new(&rt, &cfg, *link, SYNACK_RT_THREAD, err, sizeof(err)) != 0) {
        fprintf(stderr, "socket_wake: %s\n", err);
        exit(1);
    }
    return rt;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The calls: synack's, or the kernel's (bench mode `kernel`). */
static ssize_t (*do_send)(int, const void *, size_t, int) = synack_send;
static ssize_t (*do_recv)(int, void *, size_t, int) = synack_recv;

struct server {
    int fd;
    long n;
    uint64_t *lat;
    uint64_t bytes;
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (long i = 0; i < s->n; i++) {
        uint64_t t0;
        if (do_recv(s->fd, &t0, sizeof(t0), MSG_WAITALL) != (ssize_t)sizeof(t0)) break;
        s->lat[i] = now_ns() - t0;
        do_send(s->fd, "k", 1, 0);
    }
    static char buf[65536];
    uint64_t got = 0;
    ssize_t k;
    while (got < s->bytes && (k = do_recv(s->fd, buf, sizeof(buf), 0)) > 0)
        got += (uint64_t)k;
    s->bytes = got;
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    uint64_t bytes = argc > 2 ? strtoull(argv[2], NULL, 10) : 256ull << 20;
    bool kernel = argc > 3 && strcmp(argv[3], "kernel") == 0;
    if (n < 1) n = 1;
    struct synack_rt *ra = NULL, *rb = NULL;
    int l, c, one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5001)};
    if (kernel) {
        do_send = send;
        do_recv = recv;
        sa.sin_port = 0;
        sa.sin_addr.s_addr = htonl(0x7f000001u);
        l = socket(AF_INET, SOCK_STREAM, 0);
        socklen_t len = sizeof(sa);
        if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 1) != 0 ||
            getsockname(l, (struct sockaddr *)&sa, &len) != 0) {
            perror("socket_wake: kernel listener");
            return 1;
        }
        c = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            perror("socket_wake: connect");
            return 1;
        }
    } else {
        ra = runtime(0xc6120001u, &link_a, 65535);
        rb = runtime(0xc6120002u, &link_b, 65535);
        l = synack_socket(rb, AF_INET, SOCK_STREAM, 0);
        synack_bind(l, (struct sockaddr *)&sa, sizeof(sa));
        synack_listen(l, 1);
        c = synack_socket(ra, AF_INET, SOCK_STREAM, 0);
        synack_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sa.sin_addr.s_addr = htonl(0xc6120002u);
        if (synack_connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            perror("socket_wake: connect");
            return 1;
        }
    }
    struct server s = {.fd = kernel ? accept(l, NULL, NULL) : synack_accept(l, NULL, NULL),
                       .n = n,
                       .bytes = bytes};
    s.lat = calloc((size_t)n, sizeof(*s.lat));
    if (kernel)
        setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    else
        synack_setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pthread_t t;
    pthread_create(&t, NULL, server_main, &s);
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        char k;
        if (do_send(c, &t0, sizeof(t0), 0) != (ssize_t)sizeof(t0) || do_recv(c, &k, 1, 0) != 1)
            break;
    }
    static char buf[65536];
    uint64_t t0 = now_ns(), sent = 0;
    while (sent < bytes) {
        size_t k = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);
        if (do_send(c, buf, k, 0) != (ssize_t)k) break;
        sent += k;
    }
    pthread_join(t, NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(s.lat, (size_t)n, sizeof(*s.lat), cmp_u64);
    const char *who = kernel ? "the kernel, loopback" : "synack, two runtimes";
    printf("| %s | blocked recv wakes after a send (one way, %ld messages) | median %.1f us, p90 "
           "%.1f us, "
           "p99 %.1f us, max %.1f us |\n",
           who, n, s.lat[n / 2] / 1e3, s.lat[n * 9 / 10] / 1e3, s.lat[n * 99 / 100] / 1e3,
           s.lat[n - 1] / 1e3);
    printf("| %s | bulk through send/recv, MTU 65535, 64 KiB calls (%llu MiB) | %.2f Gbit/s |\n",
           who, (unsigned long long)(s.bytes >> 20), (double)s.bytes * 8 / secs / 1e9);
    if (kernel) {
        close(c), close(s.fd), close(l);
    } else {
        synack_close(c), synack_close(s.fd), synack_close(l);
    }
    synack_rt_free(ra);
    synack_rt_free(rb);
    free(s.lat);
    return 0;
}
