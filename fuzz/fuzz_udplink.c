/*
 * The UDP link's receive side (drivers/udp/udp.c) on what its peer sends over loopback:
 * datagrams one at a time and UDP_SEGMENT trains, which reach the link's UDP_GRO socket as
 * merged buffers (or, on a kernel without the offloads, as datagrams), of any bytes, read
 * with buffers of any size.
 *
 * Input: records [kind][a][b][len high][len low][len bytes] (len cut to what is left).
 *   kind % 3 == 0: one datagram of the bytes;
 *   kind % 3 == 1: a train: the bytes cut into datagrams of 1 + (a << 8 | b) % 1472 bytes,
 *                  the last one shorter, at most 64 of them, sent as one UDP_SEGMENT
 *                  message (a kernel that will not gets them one by one);
 *   kind % 3 == 2: reads from the link with a buffer of 1 + (a << 8 | b) % 2048 bytes
 *                  until it has handed out what was sent.
 *   Unless kind bit 2 is set, each datagram's first byte is made 0x45 (IPv4), so that most
 *   are packets to the link.
 * Checked against a model of the link: in order, each datagram sent (each piece of a train)
 * is handed out whole and unchanged if it can be an IP packet (version 4 and 20 bytes or
 * more, or 6 and 40), is at most the link's largest MTU (1472 here) and fits the reader's
 * buffer; otherwise it is dropped and counted, and one too large for the buffer makes that
 * read BUFSZ; nothing else comes out, and the link's rx_packets and rx_errors say the same.
 * Loopback only (127.0.0.1); every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <synack/link.h>

#include "fuzz_common.h"

#define SLOT 1472u     /* the link's largest MTU at the default path MTU (1500 - 28) */
#define MAX_DGRAMS 256 /* at most 64 + a train's 64 wait unread */
#define MAX_TRAIN 64u

struct dgram {
    size_t off, len; /* in the input */
};

struct run {
    const uint8_t *data;
    struct dgram q[MAX_DGRAMS]; /* sent, not yet accounted for by a read */
    size_t head, tail;
    uint64_t packets, errors; /* what the link must have counted */
    struct synack_link *link;
    int peer;
};

static void check(bool ok, const char *what)
{
    fz_check("udplink", ok, what);
}

static bool can_be_ip(const uint8_t *p, size_t n)
{
    unsigned v = n ? p[0] >> 4 : 0;
    return (v == 4 && n >= 20) || (v == 6 && n >= 40);
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return 0;
    return ntohs(a.sin_port);
}

/* A port free on 127.0.0.1 now (bound, read, let go). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0) port = bound_port(fd);
    if (fd >= 0) close(fd);
    return port;
}

/* The link on one free port, the peer's socket on another, each pointed at the other. */
static bool open_pair(struct run *r)
{
    r->peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (r->peer < 0 || bind(r->peer, (struct sockaddr *)&a, sizeof a) != 0) return false;
    uint16_t peer_port = bound_port(r->peer), link_port = free_port();
    if (peer_port == 0 || link_port == 0 || link_port == peer_port) return false;
    struct synack_udp_config cfg = {
        .local = {synack_addr_v4(0x7f000001u), link_port},
        .peer = {synack_addr_v4(0x7f000001u), peer_port},
    };
    char err[160];
    if (synack_udp_open(&r->link, &cfg, err, sizeof err) != 0) return false;
    a.sin_port = htons(link_port);
    return connect(r->peer, (struct sockaddr *)&a, sizeof a) == 0;
}

static void expect(struct run *r, size_t off, size_t len)
{
    r->q[r->tail++ % MAX_DGRAMS] = (struct dgram){off, len};
}

/* One datagram; false when the kernel refused it (not queued). */
static bool send_one(struct run *r, size_t off, size_t len)
{
    if (send(r->peer, r->data + off, len, 0) != (ssize_t)len) return false;
    expect(r, off, len);
    return true;
}

/* A train of `len` bytes at `off` cut at `seg`: one UDP_SEGMENT message, or one datagram at
 * a time when the kernel will not take it. */
static void send_train(struct run *r, size_t off, size_t len, size_t seg)
{
    if (len > seg * MAX_TRAIN) len = seg * MAX_TRAIN;
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
    } ctl;
    struct iovec iov = {(void *)(uintptr_t)(r->data + off), len};
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
    if (len > seg) {
        h.msg_control = ctl.buf;
        h.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &s, sizeof s);
    }
    if (sendmsg(r->peer, &h, 0) == (ssize_t)len) {
        for (size_t at = 0; at < len; at += seg)
            expect(r, off + at, len - at < seg ? len - at : seg);
        return;
    }
    for (size_t at = 0; at < len; at += seg)
        send_one(r, off + at, len - at < seg ? len - at : seg);
}

/* Reads with a buffer of `cap` bytes until every datagram sent is accounted for, checking
 * each result against the model; waits for the socket (bounded) while the link says AGAIN. */
static void read_all(struct run *r, size_t cap)
{
    static uint8_t buf[2048];
    int idle = 0;
    while (r->head != r->tail) {
        const struct dgram *d = &r->q[r->head % MAX_DGRAMS];
        const uint8_t *want = r->data + d->off;
        bool good = can_be_ip(want, d->len) && d->len <= SLOT;
        if (!good) { /* dropped on the way: nothing to read for it */
            r->errors++;
            r->head++;
            continue;
        }
        synack_ssize n = synack_link_recv(r->link, buf, cap, 0);
        if (n == SYNACK_ERR_AGAIN) {
            struct pollfd p = {.fd = synack_link_fd(r->link), .events = POLLIN};
            check(++idle < 50, "a datagram sent never came out of the link");
            if (idle >= 50) return;
            (void)poll(&p, 1, 20);
            continue;
        }
        idle = 0;
        r->head++;
        if (d->len > cap) {
            check(n == SYNACK_ERR_BUFSZ, "a datagram larger than the buffer did not say BUFSZ");
            r->errors++;
            continue;
        }
        check(n == (synack_ssize)d->len, "a datagram came out at another length");
        check(n < 0 || memcmp(buf, want, d->len) == 0, "a datagram came out changed");
        r->packets++;
    }
    check(synack_link_recv(r->link, buf, sizeof buf, 0) == SYNACK_ERR_AGAIN,
          "the link handed out more than was sent");
    struct synack_link_stats st;
    synack_link_stats(r->link, &st);
    check(st.rx_packets == r->packets, "rx_packets differs from the datagrams handed out");
    check(st.rx_errors == r->errors, "rx_errors differs from the datagrams dropped");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run r;
    memset(&r, 0, sizeof r);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    r.data = copy;
    if (!open_pair(&r)) {
        if (r.link) synack_link_free(r.link);
        if (r.peer >= 0) close(r.peer);
        free(copy);
        return 0;
    }
    size_t at = 0;
    while (at + 5 <= size) {
        uint8_t kind = copy[at], a = copy[at + 1], b = copy[at + 2];
        size_t len = (size_t)copy[at + 3] << 8 | copy[at + 4];
        at += 5;
        if (len > size - at) len = size - at;
        if (len > 65507) len = 65507;
        size_t param = (size_t)a << 8 | b;
        if (!(kind & 4) && kind % 3 != 2) {
            size_t seg = kind % 3 == 1 ? 1 + param % SLOT : len;
            for (size_t k = 0; seg && k < len; k += seg)
                copy[at + k] = 0x45;
        }
        switch (kind % 3) {
        case 0:
            send_one(&r, at, len);
            break;
        case 1:
            if (len) send_train(&r, at, len, 1 + param % SLOT);
            break;
        default:
            read_all(&r, 1 + param % 2048);
            len = 0;
            break;
        }
        at += len;
        /* Read before the socket's queue could fill (a user's SO_RCVBUF may be 208 KiB). */
        if (r.tail - r.head >= 64) read_all(&r, 2048);
    }
    read_all(&r, 2048);
    synack_link_free(r.link);
    close(r.peer);
    free(copy);
    return 0;
}
