/* socket/ over a runtime of several stacks, one per core (synack_rt_new_stacks): two hosts
 * of N stacks each (client 198.18.0.1, server 198.18.0.2) joined by the multi-queue wire.
 * Many connections each way carry their bytes both ways, and every connection must live,
 * at both ends, on the stack its 4-tuple steers to (synack_flow_queue), the client's spread
 * evenly over its stacks by the round robin, with no packet crossing to another queue.
 * The server takes its connections by blocking accept (several threads on one listening
 * socket), by poll, or by epoll. A bound datagram socket receives on every stack. Waits that must
 * end are guarded by alarm(); nothing asserts on how long anything took. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "synack/socket.h"

#define HANG_GUARD_S 60
#define CLIENT4 0xc6120001u
#define SERVER4 0xc6120002u
#define PORT 8080
#define MAX_STACKS 4
#define CLIENT_THREADS 4
#define SERVER_THREADS 3
#define CONNS_PER_CLIENT 8 /* CLIENT_THREADS x this: a multiple of every stack count */
#define CONNS (CLIENT_THREADS * CONNS_PER_CLIENT)
#define BYTES 20000 /* each way, per connection */
/* Accepts that found nothing, each followed by a poll or epoll wait: bounds how many come
 * before the last connection (the alarm bounds the time). */
#define MAX_IDLE_WAITS 100000

static const uint8_t key[16] = "stacks-per-core";

enum take { TAKE_ACCEPT, TAKE_POLL, TAKE_EPOLL };

struct hosts {
    unsigned n;
    struct synack_mqwire *wire;
    struct synack_rt *client, *server;
    int lfd;
    enum take take;
    atomic_uint claimed;               /* connections the server's threads set out to take */
    atomic_uint on_server[MAX_STACKS]; /* accepted connections by server stack */
    atomic_uint on_client[MAX_STACKS]; /* connected ones by client stack */
    atomic_uint wrong_stack;           /* a socket on another stack than its flow's */
    atomic_uint bad_bytes;             /* connections whose bytes came wrong or short */
    atomic_uint client_ok, server_ok;
};

static uint8_t byte_at(unsigned conn_tag, size_t i, bool back)
{
    return (uint8_t)(i * 7 + conn_tag * 13 + (back ? 101 : 0) + (i >> 9));
}

static struct synack_rt *host_new(struct hosts *h, unsigned side, uint32_t addr)
{
    struct synack_config c;
    synack_config_default(&c);
    struct synack_addr a = synack_addr_v4(addr);
    assert_int_equal(synack_config_add_addr(&c, &a), 0);
    memcpy(c.steer_key, key, sizeof(key));
    c.seed = side * 1000 + 7;
    struct synack_link *links[MAX_STACKS];
    for (unsigned q = 0; q < h->n; q++)
        links[q] = synack_mqwire_link(h->wire, side, q);
    struct synack_rt *rt = NULL;
    char err[256];
    assert_int_equal(synack_rt_new_stacks(&rt, &c, links, h->n, SYNACK_RT_THREAD, err, sizeof(err)),
                     0);
    assert_int_equal(synack_rt_stacks(rt), h->n);
    return rt;
}

static void hosts_open(struct hosts *h, unsigned n, enum take take)
{
    memset(h, 0, sizeof(*h));
    alarm(HANG_GUARD_S);
    h->n = n;
    h->take = take;
    struct synack_mqwire_config wc = {.queues = n};
    memcpy(wc.key, key, sizeof(key));
    assert_int_equal(synack_mqwire_new(&h->wire, &wc), 0);
    h->client = host_new(h, 0, CLIENT4);
    h->server = host_new(h, 1, SERVER4);
    h->lfd = synack_socket(h->server, AF_INET,
                           SOCK_STREAM | (take == TAKE_ACCEPT ? 0 : SOCK_NONBLOCK), 0);
    assert_true(h->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    sa.sin_addr.s_addr = htonl(SERVER4);
    assert_int_equal(synack_bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(synack_listen(h->lfd, 128), 0);
}

static void hosts_close(struct hosts *h)
{
    assert_int_equal(synack_close(h->lfd), 0);
    synack_rt_free(h->client);
    synack_rt_free(h->server);
    /* No packet of any flow went to a queue other than its own. */
    for (unsigned side = 0; side < 2; side++)
        for (unsigned q = 0; q < h->n; q++) {
            struct synack_link_stats st;
            synack_link_stats(synack_mqwire_link(h->wire, side, q), &st);
            assert_int_equal(st.steered_across, 0);
        }
    synack_mqwire_free(h->wire);
    alarm(0);
}

/* The stack of `rt` that connection `fd` lives on must be the one its 4-tuple steers to:
 * counted in `count` under that stack, or in wrong_stack. */
static void check_stack(struct hosts *h, struct synack_rt *rt, int fd, atomic_uint *count)
{
    struct sockaddr_in l, r;
    socklen_t ll = sizeof(l), rl = sizeof(r);
    assert_int_equal(synack_getsockname(fd, (struct sockaddr *)&l, &ll), 0);
    assert_int_equal(synack_getpeername(fd, (struct sockaddr *)&r, &rl), 0);
    struct synack_endpoint le = {.addr = synack_addr_v4(ntohl(l.sin_addr.s_addr)),
                                 .port = ntohs(l.sin_port)};
    struct synack_endpoint re = {.addr = synack_addr_v4(ntohl(r.sin_addr.s_addr)),
                                 .port = ntohs(r.sin_port)};
    unsigned q = synack_flow_queue(key, h->n, &le, &re);
    if (synack_socket_rt(fd) == synack_rt_member(rt, q))
        atomic_fetch_add(&count[q], 1);
    else
        atomic_fetch_add(&h->wrong_stack, 1);
}

static bool write_all(int fd, unsigned tag, bool back)
{
    uint8_t buf[4096];
    for (size_t at = 0; at < BYTES;) {
        size_t n = BYTES - at < sizeof(buf) ? BYTES - at : sizeof(buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = byte_at(tag, at + k, back);
        ssize_t w = synack_write(fd, buf, n);
        if (w <= 0) return false;
        at += (size_t)w;
    }
    return true;
}

/* Reads to the end of the stream: true when exactly BYTES came, each as written. */
static bool read_all(int fd, unsigned tag, bool back)
{
    uint8_t buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = synack_read(fd, buf, sizeof(buf));
        if (r < 0) return false;
        if (r == 0) return got == BYTES;
        for (ssize_t k = 0; k < r; k++)
            if (got + (size_t)k >= BYTES || buf[k] != byte_at(tag, got + (size_t)k, back))
                return false;
        got += (size_t)r;
    }
}

/* The server's half of one connection: the client's bytes (its tag is their first byte's
 * key), then the same count back. */
static void serve(struct hosts *h, int fd)
{
    int flags = synack_fcntl(fd, F_GETFL);
    assert_int_equal(synack_fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), 0);
    check_stack(h, h->server, fd, h->on_server);
    struct sockaddr_in r;
    socklen_t rl = sizeof(r);
    assert_int_equal(synack_getpeername(fd, (struct sockaddr *)&r, &rl), 0);
    unsigned tag = ntohs(r.sin_port);
    if (read_all(fd, tag, false) && write_all(fd, tag, true))
        atomic_fetch_add(&h->server_ok, 1);
    else
        atomic_fetch_add(&h->bad_bytes, 1);
    assert_int_equal(synack_close(fd), 0);
}

/* Waits until the listening socket polls readable (poll or epoll), with no timeout: a
 * wake-up that never comes fails the test by the alarm. */
static void wait_listener(struct hosts *h, int epfd)
{
    if (h->take == TAKE_POLL) {
        struct pollfd p = {.fd = h->lfd, .events = POLLIN};
        assert_true(synack_poll(&p, 1, -1) >= 0);
    } else {
        struct epoll_event ev;
        assert_true(synack_epoll_wait(epfd, &ev, 1, -1) >= 0);
    }
}

static void *server_main(void *arg)
{
    struct hosts *h = arg;
    int epfd = -1;
    if (h->take == TAKE_EPOLL) {
        epfd = synack_epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = h->lfd};
        assert_int_equal(synack_epoll_ctl(epfd, EPOLL_CTL_ADD, h->lfd, &ev), 0);
    }
    unsigned idle = 0;
    while (atomic_fetch_add(&h->claimed, 1) < CONNS && idle < MAX_IDLE_WAITS) {
        int fd;
        while ((fd = synack_accept(h->lfd, NULL, NULL)) < 0 && idle++ < MAX_IDLE_WAITS) {
            assert_true(h->take != TAKE_ACCEPT && errno == EAGAIN);
            wait_listener(h, epfd);
        }
        if (fd >= 0) serve(h, fd);
    }
    if (epfd >= 0) close(epfd);
    return NULL;
}

static void *client_main(void *arg)
{
    struct hosts *h = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    sa.sin_addr.s_addr = htonl(SERVER4);
    for (unsigned i = 0; i < CONNS_PER_CLIENT; i++) {
        int fd = synack_socket(h->client, AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(synack_connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        check_stack(h, h->client, fd, h->on_client);
        struct sockaddr_in l;
        socklen_t ll = sizeof(l);
        assert_int_equal(synack_getsockname(fd, (struct sockaddr *)&l, &ll), 0);
        unsigned tag = ntohs(l.sin_port);
        bool ok = write_all(fd, tag, false) && synack_shutdown(fd, SHUT_WR) == 0 &&
                  read_all(fd, tag, true);
        atomic_fetch_add(ok ? &h->client_ok : &h->bad_bytes, 1);
        assert_int_equal(synack_close(fd), 0);
    }
    return NULL;
}

static void run(unsigned stacks, enum take take)
{
    static struct hosts h;
    hosts_open(&h, stacks, take);
    unsigned servers = take == TAKE_ACCEPT ? SERVER_THREADS : 1;
    pthread_t st[SERVER_THREADS], ct[CLIENT_THREADS];
    for (unsigned i = 0; i < servers; i++)
        assert_int_equal(pthread_create(&st[i], NULL, server_main, &h), 0);
    for (unsigned i = 0; i < CLIENT_THREADS; i++)
        assert_int_equal(pthread_create(&ct[i], NULL, client_main, &h), 0);
    for (unsigned i = 0; i < CLIENT_THREADS; i++)
        pthread_join(ct[i], NULL);
    for (unsigned i = 0; i < servers; i++)
        pthread_join(st[i], NULL);
    assert_int_equal(atomic_load(&h.bad_bytes), 0);
    assert_int_equal(atomic_load(&h.wrong_stack), 0);
    assert_int_equal(atomic_load(&h.client_ok), CONNS);
    assert_int_equal(atomic_load(&h.server_ok), CONNS);
    /* The client's connections go round robin over its stacks, and each lives, at both
     * ends, on the stack of its queue: so every stack of each host has its share. */
    for (unsigned q = 0; q < stacks; q++) {
        assert_int_equal(atomic_load(&h.on_client[q]), CONNS / stacks);
        assert_int_equal(atomic_load(&h.on_server[q]), CONNS / stacks);
    }
    hosts_close(&h);
}

static void two_stacks_a_side_blocking_accept_delivers_every_flow_on_its_stack(void **state)
{
    (void)state;
    run(2, TAKE_ACCEPT);
}

static void four_stacks_a_side_blocking_accept_delivers_every_flow_on_its_stack(void **state)
{
    (void)state;
    run(4, TAKE_ACCEPT);
}

static void four_stacks_a_side_poll_takes_connections_from_every_stack(void **state)
{
    (void)state;
    run(4, TAKE_POLL);
}

static void two_stacks_a_side_epoll_takes_connections_from_every_stack(void **state)
{
    (void)state;
    run(2, TAKE_EPOLL);
}

static void four_stacks_a_side_epoll_takes_connections_from_every_stack(void **state)
{
    (void)state;
    run(4, TAKE_EPOLL);
}

/* A client bound to a port connects from the stack its 4-tuple steers to (not the next in
 * turn), so the connect works for every port. */
static void a_bound_client_connects_from_the_stack_its_port_steers_to(void **state)
{
    (void)state;
    static struct hosts h;
    hosts_open(&h, 4, TAKE_ACCEPT);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    sa.sin_addr.s_addr = htonl(SERVER4);
    for (unsigned port = 40000; port < 40008; port++) {
        int fd = synack_socket(h.client, AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        assert_int_equal(synack_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
        assert_int_equal(synack_connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        check_stack(&h, h.client, fd, h.on_client);
        int afd = synack_accept(h.lfd, NULL, NULL);
        assert_true(afd >= 0);
        check_stack(&h, h.server, afd, h.on_server);
        assert_int_equal(synack_close(afd), 0);
        assert_int_equal(synack_close(fd), 0);
    }
    assert_int_equal(atomic_load(&h.wrong_stack), 0);
    hosts_close(&h);
}

/* ---- datagrams ---------------------------------------------------------------------------- */

#define UDP_PORT 5353
#define UDP_FLOWS 16
#define UDP_ROUNDS 4 /* datagrams each flow sends and gets back */

struct udp_server {
    struct hosts *h;
    int fd;
    bool by_poll;
    unsigned echoed;
};

/* Echoes every datagram to its sender until UDP_FLOWS x UDP_ROUNDS have come back, taking
 * each with a blocking recvfrom, or after a poll without timeout (the alarm bounds both). */
static void *udp_server_main(void *arg)
{
    struct udp_server *u = arg;
    while (u->echoed < UDP_FLOWS * UDP_ROUNDS) {
        if (u->by_poll) {
            struct pollfd p = {.fd = u->fd, .events = POLLIN};
            assert_int_equal(synack_poll(&p, 1, -1), 1);
        }
        uint8_t buf[64];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = synack_recvfrom(u->fd, buf, sizeof(buf), u->by_poll ? MSG_DONTWAIT : 0,
                                    (struct sockaddr *)&from, &fl);
        if (n < 0 && u->by_poll && errno == EAGAIN) continue;
        assert_true(n > 0);
        assert_int_equal(synack_sendto(u->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl), n);
        u->echoed++;
    }
    return NULL;
}

static uint64_t udp_in(struct synack_rt *member)
{
    struct synack_counters c;
    synack_rt_counters(member, &c);
    return c.udp_in;
}

/* A bound datagram socket of a group receives on every stack: UDP_FLOWS client sockets
 * (their ports chosen by the client's first stack, so their flows steer anywhere) each
 * send datagrams to one server socket, which echoes them. Every datagram comes back, and
 * each stack of both hosts took exactly the datagrams of the flows that steer to it. */
static void run_udp(bool by_poll)
{
    static struct hosts h;
    hosts_open(&h, 4, TAKE_ACCEPT);
    struct udp_server u = {.h = &h, .by_poll = by_poll};
    u.fd = synack_socket(h.server, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};
    sa.sin_addr.s_addr = htonl(SERVER4);
    assert_int_equal(synack_bind(u.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, udp_server_main, &u), 0);
    int fds[UDP_FLOWS];
    unsigned want[MAX_STACKS] = {0};
    for (unsigned i = 0; i < UDP_FLOWS; i++) {
        fds[i] = synack_socket(h.client, AF_INET, SOCK_DGRAM, 0);
        assert_int_equal(synack_connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        struct sockaddr_in l;
        socklen_t ll = sizeof(l);
        assert_int_equal(synack_getsockname(fds[i], (struct sockaddr *)&l, &ll), 0);
        struct synack_endpoint le = {.addr = synack_addr_v4(CLIENT4), .port = ntohs(l.sin_port)};
        struct synack_endpoint re = {.addr = synack_addr_v4(SERVER4), .port = UDP_PORT};
        want[synack_flow_queue(key, h.n, &le, &re)] += UDP_ROUNDS;
    }
    for (unsigned r = 0; r < UDP_ROUNDS; r++)
        for (unsigned i = 0; i < UDP_FLOWS; i++) {
            char out[32], in[32] = {0};
            int len = snprintf(out, sizeof(out), "flow %u round %u", i, r);
            assert_int_equal(synack_send(fds[i], out, (size_t)len, 0), len);
            assert_int_equal(synack_recv(fds[i], in, sizeof(in), 0), len);
            assert_memory_equal(in, out, (size_t)len);
        }
    pthread_join(t, NULL);
    unsigned used = 0;
    for (unsigned q = 0; q < h.n; q++) {
        assert_int_equal(udp_in(synack_rt_member(h.server, q)), want[q]);
        assert_int_equal(udp_in(synack_rt_member(h.client, q)), want[q]);
        used += want[q] > 0;
    }
    assert_true(used >= 2); /* the flows did spread over the stacks */
    for (unsigned i = 0; i < UDP_FLOWS; i++)
        assert_int_equal(synack_close(fds[i]), 0);
    assert_int_equal(synack_close(u.fd), 0);
    hosts_close(&h);
}

static void a_bound_udp_socket_receives_on_every_stack_by_blocking_recv(void **state)
{
    (void)state;
    run_udp(false);
}

static void a_bound_udp_socket_receives_on_every_stack_by_poll(void **state)
{
    (void)state;
    run_udp(true);
}

/* The group's calls check what they are given, with a sentence. */
static void new_stacks_refuses_bad_arguments_with_a_reason(void **state)
{
    (void)state;
    struct synack_config c;
    synack_config_default(&c);
    struct synack_rt *rt = NULL;
    char err[256];
    assert_int_equal(synack_rt_new_stacks(&rt, &c, NULL, 2, SYNACK_RT_THREAD, err, sizeof(err)),
                     SYNACK_ERR_INVAL);
    assert_true(strlen(err) > 0);
    assert_null(rt);
    assert_int_equal(synack_rt_stacks(NULL), 0);
    assert_null(synack_rt_member(NULL, 0));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_stacks_a_side_blocking_accept_delivers_every_flow_on_its_stack),
    cmocka_unit_test(four_stacks_a_side_blocking_accept_delivers_every_flow_on_its_stack),
    cmocka_unit_test(four_stacks_a_side_poll_takes_connections_from_every_stack),
    cmocka_unit_test(two_stacks_a_side_epoll_takes_connections_from_every_stack),
    cmocka_unit_test(four_stacks_a_side_epoll_takes_connections_from_every_stack),
    cmocka_unit_test(a_bound_client_connects_from_the_stack_its_port_steers_to),
    cmocka_unit_test(a_bound_udp_socket_receives_on_every_stack_by_blocking_recv),
    cmocka_unit_test(a_bound_udp_socket_receives_on_every_stack_by_poll),
    cmocka_unit_test(new_stacks_refuses_bad_arguments_with_a_reason),
};

SYNACK_TEST_MAIN("socket_stacks", tests)
