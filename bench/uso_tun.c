/*
 * uso_tun: UDP sent by synack to the kernel over a TUN device, with UDP segmentation offload
 * (the stack joins datagrams, the kernel cuts them: SYNACK_TX_USO), with the checksum
 * offload alone, and with whole packets, one after the other on the same device. One thread
 * does everything in turn, so the figure is the whole cost per datagram: synack's sends,
 * the writes to the device, the kernel's receive path and the kernel socket's reads
 * (recvmmsg, 64 at a time).
 *
 *   build/bench/uso_tun [--mb N] [--size BYTES] [--runs R] [--ipv6]
 *       (default 256 MiB of the largest datagrams a 1500-byte MTU carries whole, 1,472 bytes,
 *       1,452 over IPv6; 3 runs of each mode, the median printed)
 *
 * Needs root and /dev/net/tun: it moves itself into a network namespace of its own
 * (unshare), which ends with the process, and uses 198.18.0.1 or 2001:db8::1 (the kernel)
 * and 198.18.0.2 or 2001:db8::2 (synack) there. Over IPv6 the kernel's address needs no
 * duplicate address detection to wait for: synack_tun_open waits until the kernel takes
 * packets for it. Every datagram's payload carries its number; the kernel side counts what
 * arrives in order, out of order (none expected) and lost (the socket's buffer overflowed:
 * 64 MiB, forced, so none is expected either). Each run stops after 60 s at the latest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <synack/link.h>

#include "util.h"

#define KERNEL_ADDR 0xc6120001u                                             /* 198.18.0.1 */
#define STACK_ADDR 0xc6120002u                                              /* 198.18.0.2 */
static const uint8_t KERNEL_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}; /* 2001:db8::1 */
static const uint8_t STACK_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static bool v6; /* --ipv6 */
#define KERNEL_PORT 9000
#define STACK_PORT 9001
#define RUN_LIMIT SYNACK_S(60)
#define RECV_BATCH 64

enum mode { MODE_USO, MODE_CSUM, MODE_WHOLE };
static const char *const MODE_NAME[] = {"USO + checksum offload", "checksum offload only",
                                        "whole packets"};

struct result {
    double mbps, dgps;
    uint64_t writes, lost, reordered;
};

static int kernel_socket(void)
{
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) bench_die("uso_tun", "socket", 0);
    int size = 64 << 20;
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        bench_die("uso_tun", "SO_RCVBUFFORCE", 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(KERNEL_PORT),
                            .sin_addr.s_addr = htonl(KERNEL_ADDR)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(KERNEL_PORT)};
    memcpy(&a6.sin6_addr, KERNEL_ADDR6, 16);
    int rc =
        v6 ? bind(s, (struct sockaddr *)&a6, sizeof a6) : bind(s, (struct sockaddr *)&a, sizeof a);
    if (rc != 0) bench_die("uso_tun", "bind", 0);
    return s;
}

/* What the kernel socket holds: counted, each datagram's number checked against the next
 * expected. */
static void kernel_read(int s, size_t size, uint64_t *next, uint64_t *got, uint64_t *reordered)
{
    static uint8_t bufs[RECV_BATCH][2048];
    struct mmsghdr m[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    for (;;) {
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        int n = recvmmsg(s, m, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) return;
        for (int i = 0; i < n; i++) {
            if (m[i].msg_len != size) {
                (*reordered)++;
                continue;
            }
            uint64_t num;
            memcpy(&num, bufs[i], sizeof num);
            if (num < *next) (*reordered)++;
            if (num >= *next) *next = num + 1;
            (*got)++;
        }
    }
}

static struct result run(struct synack_link *l, struct synack_stack *st, struct synack_udp *u,
                         int ks, enum mode mode, uint64_t count, size_t size)
{
    static uint8_t pkt[65536], data[2048];
    memset(data, 0x5a, sizeof data);
    struct synack_endpoint to = {.addr = v6 ? synack_addr_v6(KERNEL_ADDR6)
                                            : synack_addr_v4(KERNEL_ADDR),
                                 .port = KERNEL_PORT};
    unsigned tx = synack_link_tx_offloads(l);
    if (mode == MODE_CSUM) tx &= ~SYNACK_TX_USO;
    if (mode == MODE_WHOLE) tx = 0;
    struct synack_link_stats before, after;
    uint64_t sent = 0, got = 0, next = 0, reordered = 0;
    /* Nothing of a run before (one stopped at RUN_LIMIT) is counted in this one. */
    {
        struct synack_tx_meta meta;
        while (synack_stack_output_offload(st, pkt, sizeof pkt, 0, &meta, mono_ns()) > 0) {
        }
        uint64_t skip_next = 0, skip_got = 0, skip_bad = 0;
        kernel_read(ks, size, &skip_next, &skip_got, &skip_bad);
    }
    synack_link_stats(l, &before);
    synack_time_t start = mono_ns(), now = start, progress = start;
    while (got < count && now - start < RUN_LIMIT) {
        now = mono_ns();
        while (sent < count) {
            memcpy(data, &sent, sizeof sent);
            synack_ssize n = synack_udp_send(u, data, size, &to, now);
            if (n == SYNACK_ERR_AGAIN) break;
            if (n != (synack_ssize)size) bench_die("uso_tun", "synack_udp_send", (int)n);
            sent++;
        }
        struct synack_tx_meta meta;
        synack_ssize n;
        while ((n = synack_stack_output_offload(st, pkt, sizeof pkt, tx, &meta, now)) > 0) {
            int rc = tx ? synack_link_send_offload(l, pkt, (size_t)n, &meta, now)
                        : synack_link_send(l, pkt, (size_t)n, now);
            if (rc != 0) bench_die("uso_tun", "link send", rc);
        }
        uint64_t had = got;
        kernel_read(ks, size, &next, &got, &reordered);
        if (got != had) progress = now;
        /* Everything sent, and nothing more for 100 ms: the rest is lost. */
        if (sent == count && now - progress > SYNACK_MS(100)) break;
    }
    double secs = (double)(mono_ns() - start) / 1e9;
    synack_link_stats(l, &after);
    struct result r = {
        .mbps = (double)got * (double)size / secs / 1e6,
        .dgps = (double)got / secs,
        .writes = after.tx_packets - before.tx_packets,
        .lost = count > got ? count - got : 0,
        .reordered = reordered,
    };
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint64_t mb = 256;
    size_t size = 0;
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ipv6"))
            v6 = true;
        else {
            fprintf(stderr, "usage: uso_tun [--mb N] [--size BYTES (8-1472, 8-1452 with --ipv6)] "
                            "[--runs R (1-15)] [--ipv6]\n");
            return 2;
        }
    }
    /* The largest datagram that leaves whole at MTU 1500: 1500 less the IP and UDP headers. */
    size_t most = v6 ? 1500 - 40 - 8 : 1500 - 20 - 8;
    if (size == 0) size = most;
    if (size < 8 || size > most || runs < 1 || runs > 15 || mb == 0) {
        fprintf(stderr, "uso_tun: --size takes 8 to %zu bytes, --runs 1 to 15, --mb > 0\n", most);
        return 2;
    }
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
        fprintf(stderr, "uso_tun: needs root and /dev/net/tun\n");
        return 1;
    }
    if (unshare(CLONE_NEWNET) != 0) bench_die("uso_tun", "unshare(CLONE_NEWNET)", 0);
    char err[256];
    struct synack_tun_config tcfg = {.ifname = "usob0", .offload = SYNACK_TUN_OFFLOAD_REQUIRE};
    tcfg.host_addrs[0] = v6 ? (struct synack_ifaddr){synack_addr_v6(KERNEL_ADDR6), 64}
                            : (struct synack_ifaddr){synack_addr_v4(KERNEL_ADDR), 24};
    struct synack_link *l;
    if (synack_tun_open(&l, &tcfg, err, sizeof err) != 0) {
        fprintf(stderr, "uso_tun: %s\n", err);
        return 1;
    }
    if (!(synack_link_tx_offloads(l) & SYNACK_TX_USO)) {
        fprintf(stderr, "uso_tun: this kernel gives TUN devices no UDP segmentation offload "
                        "(Linux 6.2 or later does)\n");
        return 1;
    }
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = v6 ? synack_addr_v6(STACK_ADDR6) : synack_addr_v4(STACK_ADDR);
    cfg.mtu = (uint16_t)synack_link_mtu(l);
    cfg.udp_sndbuf = 1 << 20;
    struct synack_stack *st;
    int rc = synack_stack_new(&st, &cfg);
    if (rc != 0) bench_die("uso_tun", "synack_stack_new", rc);
    struct synack_udp *u;
    rc = synack_udp_bind(st, &(struct synack_endpoint){.port = STACK_PORT}, NULL, &u);
    if (rc != 0) bench_die("uso_tun", "synack_udp_bind", rc);
    int ks = kernel_socket();
    uint64_t count = mb * 1024 * 1024 / size;
    printf("%llu datagrams of %zu bytes, %d runs of each mode in turn, median\n\n",
           (unsigned long long)count, size, runs);
    printf("| mode | MB/s | datagrams/s | writes to the device | lost | out of order or not whole "
           "|\n");
    printf("|---|---|---|---|---|---|\n");
    double mbps[3][15], dgps[3][15];
    struct result last[3];
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < 3; m++) {
            last[m] = run(l, st, u, ks, (enum mode)m, count, size);
            mbps[m][r] = last[m].mbps;
            dgps[m][r] = last[m].dgps;
        }
    for (int m = 0; m < 3; m++) {
        qsort(mbps[m], (size_t)runs, sizeof(double), cmp_double);
        qsort(dgps[m], (size_t)runs, sizeof(double), cmp_double);
        printf("| %s | %.1f | %.0f | %llu | %llu | %llu |\n", MODE_NAME[m], mbps[m][runs / 2],
               dgps[m][runs / 2], (unsigned long long)last[m].writes,
               (unsigned long long)last[m].lost, (unsigned long long)last[m].reordered);
    }
    close(ks);
    synack_stack_free(st);
    synack_link_free(l);
    return 0;
}
