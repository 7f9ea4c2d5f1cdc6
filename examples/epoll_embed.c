/*
 * Embedding synack in a program's own epoll loop: no thread of synack's, one loop for
 * everything. Each runtime is made without SYNACK_RT_THREAD; its descriptor
 * (synack_rt_fd) goes into the program's epoll set beside the program's own descriptors
 * (here a timerfd), and when it polls readable the loop calls synack_rt_run_due. The
 * synack sockets (non-blocking) are in the same set: synack_epoll_ctl and
 * synack_epoll_wait take kernel descriptors and synack sockets alike. This is the shape of
 * a libuv, glib or hand-written event loop.
 *
 * The program: a timer ticks every 10 ms; at each tick the client sends "tick N"; the
 * server echoes what it reads; after TICKS echoes the client closes, the server sees the
 * end and closes too. Two runtimes over UDP encapsulation on loopback, as socket_echo.
 *
 *   epoll_embed [TICKS [BASE]]      (20 ticks, base port 47200)
 */
#define _POSIX_C_SOURCE 200809L /* CLOCK_MONOTONIC */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <synack/socket.h>

static struct synack_rt *runtime(const char *addr, unsigned port, unsigned peer_port)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a;
    synack_addr_parse(addr, &a);
    synack_config_add_addr(&cfg, &a);
    cfg.seed = port;
    struct synack_udp_config ucfg = {0};
    synack_endpoint_parse("127.0.0.1", &ucfg.local);
    ucfg.local.port = (uint16_t)port;
    synack_endpoint_parse("127.0.0.1", &ucfg.peer);
    ucfg.peer.port = (uint16_t)peer_port;
    char err[256];
    struct synack_link *link;
    struct synack_rt *rt;
    /* No SYNACK_RT_THREAD: this program's loop runs the runtime. */
    if (synack_udp_open(&link, &ucfg, err, sizeof(err)) != 0 ||
        synack_rt_new(&rt, &cfg, link, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "epoll_embed: %s\n", err);
        exit(1);
    }
    return rt;
}

static void watch(int ep, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (synack_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("epoll_embed: epoll_ctl");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? atoi(argv[1]) : 20;
    unsigned base = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 47200;
    struct synack_rt *srt = runtime("198.18.0.1", base, base + 1);
    struct synack_rt *crt = runtime("198.18.0.2", base + 1, base);

    int l = synack_socket(srt, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(7)};
    synack_bind(l, (struct sockaddr *)&sa, sizeof(sa));
    synack_listen(l, 8);
    int c = synack_socket(crt, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    inet_pton(AF_INET, "198.18.0.1", &sa.sin_addr);
    if (synack_connect(c, (struct sockaddr *)&sa, sizeof(sa)) != -1 || errno != EINPROGRESS) {
        perror("epoll_embed: connect");
        return 1;
    }

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {.it_interval = {0, 10000000}, .it_value = {0, 10000000}};
    timerfd_settime(tfd, 0, &its, NULL);

    int ep = synack_epoll_create1(EPOLL_CLOEXEC);
    watch(ep, synack_rt_fd(srt), EPOLLIN);
    watch(ep, synack_rt_fd(crt), EPOLLIN);
    watch(ep, tfd, EPOLLIN);
    watch(ep, l, EPOLLIN);
    watch(ep, c, EPOLLIN);

    int srv = -1, sent = 0, echoed = 0, done = 0;
    size_t want = 0, have = 0;
    char expect[4096], got[4096];
    while (!done) {
        struct epoll_event evs[8];
        int n = synack_epoll_wait(ep, evs, 8, 5000);
        if (n <= 0) {
            fprintf(stderr, "epoll_embed: nothing happened for 5 s\n");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            char buf[512];
            if (fd == synack_rt_fd(srt)) {
                synack_rt_run_due(srt);
            } else if (fd == synack_rt_fd(crt)) {
                synack_rt_run_due(crt);
            } else if (fd == tfd) {
                uint64_t x;
                if (read(tfd, &x, sizeof(x)) < 0 || sent >= ticks) continue;
                int k = snprintf(buf, sizeof(buf), "tick %d\n", sent);
                /* Before the connection is up, send says EAGAIN: try at the next tick. */
                if (synack_send(c, buf, (size_t)k, 0) == k) {
                    memcpy(expect + want, buf, (size_t)k);
                    want += (size_t)k;
                    sent++;
                }
            } else if (fd == l) {
                int a = synack_accept4(l, NULL, NULL, SOCK_NONBLOCK);
                if (a >= 0) watch(ep, srv = a, EPOLLIN | EPOLLRDHUP);
            } else if (fd == srv) {
                ssize_t k = synack_recv(srv, buf, sizeof(buf), 0);
                if (k > 0) synack_send(srv, buf, (size_t)k, 0);
                if (k == 0) { /* the client's FIN: close our side too */
                    synack_close(srv);
                    srv = -1;
                }
            } else if (fd == c) {
                ssize_t k = synack_recv(c, got + have, sizeof(got) - have, 0);
                if (k > 0) {
                    have += (size_t)k;
                    echoed = have == want ? sent : echoed;
                    if (sent == ticks && have == want) synack_shutdown(c, SHUT_WR);
                } else if (k == 0) {
                    done = 1; /* the server's FIN after ours */
                }
            }
        }
    }
    int same = have == want && memcmp(expect, got, want) == 0;
    printf("epoll_embed: %d ticks sent, %d echoed in one epoll loop, %s\n", sent, echoed,
           same ? "byte-exact" : "DIFFERENT");
    synack_close(c);
    synack_close(l);
    close(ep);
    close(tfd);
    synack_rt_free(crt);
    synack_rt_free(srt);
    return same ? 0 : 1;
}
