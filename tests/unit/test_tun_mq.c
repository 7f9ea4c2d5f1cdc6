/* drivers/tun, multi-queue (synack_tun_open_queues): one TUN device, one stack per queue,
 * the kernel as the peer. Connections the kernel opens and connections the stacks open each
 * stay on one queue's stack from the first segment to the last: had a segment reached
 * another queue, that stack would have reset the connection (it knows no such TCB) and
 * the transfer would not complete. Needs root and /dev/net/tun and skips without them; runs
 * in a network namespace of its own (tests/common/netns.c). Waits are bounded. */
#include "harness.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "synack/link.h"
#include "tun/steer_bpf.h"

#include <linux/bpf.h>
#include <stdint.h>
#include <sys/syscall.h>

#define IFNAME "syntq0"
#define HOST_ADDR 0xc6120001u  /* 198.18.0.1: the kernel's side */
#define STACK_ADDR 0xc6120002u /* 198.18.0.2: every queue's stack */
#define QUEUES 4
#define IN_PORT 5001  /* the stacks listen here; the kernel connects */
#define OUT_PORT 5002 /* the kernel listens here; the stacks connect */
#define FLOWS 16      /* each way */
#define BYTES (64u << 10)

static synack_time_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000u + (synack_time_t)ts.tv_nsec;
}

static uint8_t pattern(uint16_t port, size_t off)
{
    return (uint8_t)(off * 7u + port + (off >> 9));
}

/* One end of one flow: the stack's connection, or the kernel's socket. */
struct flow {
    struct synack_tcp *c;
    int fd;
    uint16_t port; /* the client's port: the pattern's seed */
    size_t done;   /* bytes sent (client) or received and checked (server) */
    bool closed;
};

static int kernel_listener(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(OUT_PORT), .sin_addr.s_addr = htonl(HOST_ADDR)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, FLOWS) != 0) return -1;
    return s;
}

static int kernel_connect(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(IN_PORT), .sin_addr.s_addr = htonl(STACK_ADDR)};
    if (s < 0 || (connect(s, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS))
        return -1;
    return s;
}

static uint16_t fd_local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

/* Sends what the kernel socket takes of the flow's bytes; shuts down when all are sent. */
static void kernel_send(struct flow *f)
{
    uint8_t buf[8192];
    while (!f->closed && f->done < BYTES) {
        size_t n = BYTES - f->done < sizeof buf ? BYTES - f->done : sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = pattern(f->port, f->done + k);
        ssize_t w = send(f->fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        f->done += (size_t)w;
    }
    if (!f->closed && f->done == BYTES) {
        shutdown(f->fd, SHUT_WR);
        f->closed = true;
    }
}

/* Reads and checks what the kernel socket holds. 1 on a wrong byte. */
static int kernel_recv(struct flow *f)
{
    uint8_t buf[8192];
    ssize_t n;
    while ((n = recv(f->fd, buf, sizeof buf, 0)) > 0) {
        for (ssize_t k = 0; k < n; k++)
            CHILD_CHECK(buf[k] == pattern(f->port, f->done + (size_t)k));
        f->done += (size_t)n;
    }
    if (n == 0) f->closed = true;
    return 0;
}

static void stack_send(struct flow *f, synack_time_t now)
{
    uint8_t buf[8192];
    while (!f->closed && f->done < BYTES) {
        size_t n = BYTES - f->done < sizeof buf ? BYTES - f->done : sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = pattern(f->port, f->done + k);
        synack_ssize w = synack_tcp_send(f->c, buf, n, now);
        if (w <= 0) return;
        f->done += (size_t)w;
    }
    if (!f->closed && f->done == BYTES) {
        synack_tcp_close(f->c, now);
        f->closed = true;
    }
}

static int stack_recv(struct flow *f, synack_time_t now)
{
    uint8_t buf[8192];
    synack_ssize n;
    while ((n = synack_tcp_recv(f->c, buf, sizeof buf, now)) > 0) {
        for (synack_ssize k = 0; k < n; k++)
            CHILD_CHECK(buf[k] == pattern(f->port, f->done + (size_t)k));
        f->done += (size_t)n;
    }
    if (n == 0) {
        synack_tcp_close(f->c, now);
        f->closed = true;
    }
    return 0;
}

static int tun_child_queues_keep_flows(void)
{
    struct synack_link *l[QUEUES];
    char err[256];
    struct synack_tun_config tcfg = {.ifname = IFNAME, .mtu = 1500};
    tcfg.host_addrs[0] = (struct synack_ifaddr){synack_addr_v4(HOST_ADDR), 24};
    int rc = synack_tun_open_queues(l, QUEUES, &tcfg, err, sizeof err);
    if (rc != 0) fprintf(stderr, "open: %s\n", err);
    CHILD_CHECK(rc == 0);
    struct synack_stack *s[QUEUES];
    struct synack_listener *lis[QUEUES];
    struct synack_addr a = synack_addr_v4(STACK_ADDR);
    for (unsigned q = 0; q < QUEUES; q++) {
        CHILD_CHECK(strcmp(synack_tun_name(l[q]), IFNAME) == 0);
        CHILD_CHECK(synack_tun_offloads(l[q]) == synack_tun_offloads(l[0]));
        struct synack_config cfg;
        synack_config_default(&cfg);
        CHILD_CHECK(synack_config_add_addr(&cfg, &a) == 0);
        cfg.mtu = (uint16_t)synack_link_mtu(l[q]);
        cfg.steer_queues = QUEUES;
        cfg.steer_queue = q;
        cfg.steer_hash = SYNACK_STEER_XOR;
        CHILD_CHECK(synack_stack_new(&s[q], &cfg) == 0);
        struct synack_endpoint ep = {.addr = a, .port = IN_PORT};
        CHILD_CHECK(synack_tcp_listen(s[q], &ep, FLOWS, NULL, &lis[q]) == 0);
    }
    int kl = kernel_listener();
    CHILD_CHECK(kl >= 0);
    /* Inbound: the kernel connects FLOWS times and sends; the stacks check and count. */
    struct flow kin[FLOWS], sin_[QUEUES][FLOWS], sout[FLOWS], kout[FLOWS];
    unsigned nsin[QUEUES] = {0}, nkout = 0;
    memset(kin, 0, sizeof kin), memset(sin_, 0, sizeof sin_), memset(sout, 0, sizeof sout);
    memset(kout, 0, sizeof kout);
    for (unsigned i = 0; i < FLOWS; i++) {
        kin[i].fd = kernel_connect();
        CHILD_CHECK(kin[i].fd >= 0);
        kin[i].port = fd_local_port(kin[i].fd);
    }
    /* Outbound: each stack in turn opens FLOWS / QUEUES connections to the kernel. */
    unsigned sout_q[FLOWS];
    struct synack_endpoint to = {.addr = synack_addr_v4(HOST_ADDR), .port = OUT_PORT};
    for (unsigned i = 0; i < FLOWS; i++) {
        sout_q[i] = i % QUEUES;
        CHILD_CHECK(synack_tcp_connect(s[sout_q[i]], &to, NULL, NULL, &sout[i].c, now_ns()) == 0);
        struct synack_tcp_info info;
        synack_tcp_info(sout[i].c, &info);
        sout[i].port = info.local_port;
    }
    static uint8_t buf[65536];
    synack_time_t end = now_ns() + SYNACK_S(30);
    unsigned in_done = 0, out_done = 0;
    while ((in_done < FLOWS || out_done < FLOWS) && now_ns() < end) {
        synack_time_t now = now_ns();
        in_done = out_done = 0;
        for (unsigned q = 0; q < QUEUES; q++) {
            synack_link_pump(l[q], s[q], buf, sizeof buf, now);
            struct synack_tcp *c;
            while (nsin[q] < FLOWS && synack_tcp_accept(lis[q], &c) == 0) {
                struct synack_tcp_info info;
                synack_tcp_info(c, &info);
                sin_[q][nsin[q]++] = (struct flow){.c = c, .port = info.remote_port};
                /* The kernel's program and the stacks' function agree on the queue. */
                struct synack_endpoint r = {.addr = info.remote_addr, .port = info.remote_port};
                struct synack_endpoint loc = {.addr = info.local_addr, .port = info.local_port};
                CHILD_CHECK(synack_flow_queue_xor(QUEUES, &r, &loc) == q);
            }
            for (unsigned i = 0; i < nsin[q]; i++) {
                struct flow *f = &sin_[q][i];
                if (!f->closed && stack_recv(f, now) != 0) return 1;
                in_done += f->closed && f->done == BYTES;
            }
        }
        for (unsigned i = 0; i < FLOWS; i++)
            if (!sout[i].closed && sout[i].c) stack_send(&sout[i], now);
        for (unsigned q = 0; q < QUEUES; q++)
            synack_link_drain(l[q], s[q], buf, sizeof buf, now);
        for (unsigned i = 0; i < FLOWS; i++)
            kernel_send(&kin[i]);
        int fd;
        while (nkout < FLOWS && (fd = accept4(kl, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
            struct sockaddr_in peer;
            socklen_t plen = sizeof peer;
            getpeername(fd, (struct sockaddr *)&peer, &plen);
            kout[nkout++] = (struct flow){.fd = fd, .port = ntohs(peer.sin_port)};
        }
        for (unsigned i = 0; i < nkout; i++) {
            if (!kout[i].closed && kernel_recv(&kout[i]) != 0) return 1;
            out_done += kout[i].closed && kout[i].done == BYTES;
        }
        struct pollfd p[QUEUES];
        for (unsigned q = 0; q < QUEUES; q++)
            p[q] = (struct pollfd){.fd = synack_link_fd(l[q]), .events = POLLIN};
        (void)poll(p, QUEUES, 1);
    }
    fprintf(stderr, "inbound %u/%d, outbound %u/%d; accepted per queue:", in_done, FLOWS, out_done,
            FLOWS);
    unsigned used = 0;
    for (unsigned q = 0; q < QUEUES; q++) {
        fprintf(stderr, " %u", nsin[q]);
        used += nsin[q] > 0;
    }
    fprintf(stderr, "\n");
    if (out_done < FLOWS) {
        fprintf(stderr, "kernel accepted %u;", nkout);
        for (unsigned i = 0; i < FLOWS; i++) {
            struct synack_tcp_info info = {0};
            if (!sout[i].closed) synack_tcp_info(sout[i].c, &info);
            fprintf(stderr, " q%u:%s/%zu", sout_q[i],
                    sout[i].closed ? "closed" : synack_state_name(info.state), sout[i].done);
        }
        for (unsigned q = 0; q < QUEUES; q++) {
            struct synack_counters k;
            synack_stack_counters(s[q], &k);
            fprintf(stderr, "\nq%u rsts_out %llu", q, (unsigned long long)k.rsts_out);
        }
        fprintf(stderr, "\n");
    }
    CHILD_CHECK(in_done == FLOWS);
    CHILD_CHECK(out_done == FLOWS);
    /* The kernel spread its flows over the queues (all 16 on one of 4: odds of 4^-15). */
    CHILD_CHECK(used > 1);
    for (unsigned q = 0; q < QUEUES; q++) {
        struct synack_counters k;
        synack_stack_counters(s[q], &k);
        CHILD_CHECK(k.rsts_out == 0); /* no segment reached a stack that did not know it */
        synack_stack_free(s[q]);
        synack_link_free(l[q]);
    }
    for (unsigned i = 0; i < FLOWS; i++)
        close(kin[i].fd);
    for (unsigned i = 0; i < nkout; i++)
        close(kout[i].fd);
    close(kl);
    return 0;
}

static void tun_queues_keep_every_flow_on_one_stack(void **state)
{
    (void)state;
    netns_run(tun_child_queues_keep_flows, NULL, true);
}

static int tun_child_queue_errors(void)
{
    struct synack_link *l[2] = {NULL, NULL};
    char err[256];
    struct synack_tun_config tcfg = {.ifname = IFNAME};
    CHILD_CHECK(synack_tun_open_queues(l, 0, &tcfg, err, sizeof err) == SYNACK_ERR_INVAL);
    CHILD_CHECK(strstr(err, "queues") != NULL);
    CHILD_CHECK(synack_tun_open_queues(l, SYNACK_TUN_MAX_QUEUES + 1, &tcfg, err, sizeof err) ==
                SYNACK_ERR_INVAL);
    /* A single-queue device of that name exists: a multi-queue open says so. */
    struct synack_link *single;
    CHILD_CHECK(synack_tun_open(&single, &tcfg, err, sizeof err) == 0);
    CHILD_CHECK(synack_tun_open_queues(l, 2, &tcfg, err, sizeof err) == SYNACK_ERR_IO);
    fprintf(stderr, "error: %s\n", err);
    CHILD_CHECK(strstr(err, IFNAME) != NULL);
    CHILD_CHECK(l[0] == NULL && l[1] == NULL);
    synack_link_free(single);
    /* One queue is a plain device. */
    CHILD_CHECK(synack_tun_open_queues(l, 1, &tcfg, err, sizeof err) == 0);
    synack_link_free(l[0]);
    return 0;
}

static void tun_queues_errors_say_what_to_do(void **state)
{
    (void)state;
    netns_run(tun_child_queue_errors, NULL, true);
}

/* ---- the steering program against synack_flow_queue_xor, packet by packet ---------------- */

static uint32_t rng_state = 0x12345678u;

static uint32_t rnd(void) /* xorshift32: the same packets every run */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* The program's answer for IP packet `ip` (BPF_PROG_TEST_RUN takes an Ethernet frame and
 * hands a socket filter the packet from its IP header, as a TUN device's would be). */
static unsigned run_program(int prog, const uint8_t *ip, size_t len, bool v6)
{
    uint8_t frame[14 + 256] = {0};
    frame[12] = v6 ? 0x86 : 0x08;
    frame[13] = v6 ? 0xdd : 0x00;
    memcpy(frame + 14, ip, len);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.test.prog_fd = (uint32_t)prog;
    a.test.data_in = (uint64_t)(uintptr_t)frame;
    a.test.data_size_in = (uint32_t)(14 + len);
    a.test.repeat = 1;
    assert_int_equal(syscall(SYS_bpf, BPF_PROG_TEST_RUN, &a, sizeof a), 0);
    return a.test.retval;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An IPv4 header at `p` (IHL `ihl` words) from `s` to `d` with `proto`, random addresses;
 * fragment when `frag`. Fills the endpoints' addresses. */
static void ip4_at(uint8_t *p, unsigned ihl, uint8_t proto, bool frag, struct synack_endpoint *s,
                   struct synack_endpoint *d)
{
    for (unsigned k = 0; k < ihl * 4; k++)
        p[k] = (uint8_t)rnd();
    p[0] = (uint8_t)(0x40 | ihl);
    p[9] = proto;
    p[6] = frag ? (rnd() & 1 ? 0x20 : 0x00) : (rnd() & 1 ? 0x40 : 0x00);
    p[7] = frag && p[6] == 0 ? (uint8_t)(1 + rnd() % 255) : 0;
    uint32_t a = rnd(), b = rnd();
    *s = (struct synack_endpoint){.addr = synack_addr_v4(a)};
    *d = (struct synack_endpoint){.addr = synack_addr_v4(b)};
    for (int k = 0; k < 4; k++) {
        p[12 + k] = (uint8_t)(a >> (24 - 8 * k));
        p[16 + k] = (uint8_t)(b >> (24 - 8 * k));
    }
}

static void ip6_at(uint8_t *p, uint8_t nh, struct synack_endpoint *s, struct synack_endpoint *d)
{
    for (unsigned k = 0; k < 40; k++)
        p[k] = (uint8_t)rnd();
    p[0] = 0x60;
    p[6] = nh;
    uint8_t a[16], b[16];
    memcpy(a, p + 8, 16);
    memcpy(b, p + 24, 16);
    *s = (struct synack_endpoint){.addr = synack_addr_v6(a)};
    *d = (struct synack_endpoint){.addr = synack_addr_v6(b)};
}

/* Ports at `p` into the endpoints, when `use`. */
static void ports_at(uint8_t *p, bool use, struct synack_endpoint *s, struct synack_endpoint *d)
{
    uint16_t a = (uint16_t)rnd(), b = (uint16_t)rnd();
    put16(p, a);
    put16(p + 2, b);
    if (use) s->port = a, d->port = b;
}

/* One random packet of kind `kind` into `ip`; its length, and the flow it steers by. */
static size_t make_packet(uint8_t *ip, unsigned kind, bool *v6, struct synack_endpoint *s,
                          struct synack_endpoint *d)
{
    static const uint8_t errors4[] = {3, 4, 5, 11, 12}, errors6[] = {1, 2, 3, 4};
    memset(ip, 0, 256);
    *v6 = kind >= 6;
    switch (kind) {
    case 0: /* TCP or UDP over IPv4, any IHL, DF or not */
    case 1: {
        unsigned ihl = 5 + rnd() % 11;
        ip4_at(ip, ihl, kind ? 17 : 6, false, s, d);
        ports_at(ip + ihl * 4, true, s, d);
        return ihl * 4 + 20;
    }
    case 2: /* an IPv4 fragment of TCP: addresses alone */
        ip4_at(ip, 5, 6, true, s, d);
        ports_at(ip + 20, false, s, d);
        return 40;
    case 3: /* ICMP that is no error, or another protocol: addresses alone */
        ip4_at(ip, 5, rnd() & 1 ? 1 : 47, false, s, d);
        ip[20] = 8; /* echo request */
        return 48;
    case 4: /* an ICMP error quoting a TCP or UDP segment (or a fragment of one) */
    case 5: {
        struct synack_endpoint os, od;
        ip4_at(ip, 5, 1, false, &os, &od);
        ip[20] = errors4[rnd() % sizeof errors4];
        unsigned ihl = 5 + rnd() % 3;
        bool qfrag = kind == 5 && rnd() % 2;
        ip4_at(ip + 28, ihl, rnd() & 1 ? 6 : 17, qfrag, s, d);
        ports_at(ip + 28 + ihl * 4, !qfrag, s, d);
        return 28 + ihl * 4 + 8;
    }
    case 6: /* TCP or UDP over IPv6 */
    case 7:
        ip6_at(ip, kind == 6 ? 6 : 17, s, d);
        ports_at(ip + 40, true, s, d);
        return 60;
    case 8: /* an extension header (fragment, hop-by-hop) or ICMPv6 echo: addresses alone */
        ip6_at(ip, rnd() % 3 == 0 ? 44 : rnd() & 1 ? 0 : 58, s, d);
        ip[40] = 128;
        return 80;
    default: { /* an ICMPv6 error quoting a TCP or UDP segment */
        struct synack_endpoint os, od;
        ip6_at(ip, 58, &os, &od);
        ip[40] = errors6[rnd() % sizeof errors6];
        ip6_at(ip + 48, rnd() & 1 ? 6 : 17, s, d);
        ports_at(ip + 88, true, s, d);
        return 96;
    }
    }
}

static void tun_steering_program_agrees_with_flow_queue_xor(void **state)
{
    (void)state;
    char err[512];
    if (geteuid() != 0) {
        printf("[  SKIPPED ] loading the steering program needs root (CAP_BPF)\n");
        skip();
    }
    unsigned checked = 0;
    for (unsigned queues = 2; queues <= 9; queues++) {
        int prog = tun_steer_program(queues, err, sizeof err);
        if (prog < 0) printf("%s\n", err);
        assert_true(prog >= 0);
        for (unsigned i = 0; i < 2000; i++) {
            uint8_t ip[256];
            bool v6;
            struct synack_endpoint s = {0}, d = {0};
            unsigned kind = i % 10;
            size_t len = make_packet(ip, kind, &v6, &s, &d);
            unsigned want = synack_flow_queue_xor(queues, &s, &d);
            unsigned got = run_program(prog, ip, len, v6);
            if (got != want)
                printf("queues %u, kind %u: program %u, function %u\n", queues, kind, got, want);
            assert_int_equal(got, want);
            checked++;
        }
        close(prog);
    }
    assert_int_equal(checked, 8 * 2000);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tun_steering_program_agrees_with_flow_queue_xor),
    cmocka_unit_test(tun_queues_keep_every_flow_on_one_stack),
    cmocka_unit_test(tun_queues_errors_say_what_to_do),
};

SYNACK_TEST_MAIN("tun_mq", tests)
