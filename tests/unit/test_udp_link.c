/* drivers/udp: IPv4 and IPv6 packets carried in UDP datagrams between two sockets on
 * 127.0.0.1 or ::1 (the cases over IPv6 skip where the host has no IPv6 loopback). No
 * privileges needed, but for the path MTU cases in a network namespace. Waits on the
 * sockets are bounded (poll with a timeout) and never asserted on. */
#include "harness.h"
#include "netns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sock_diag.h>

#include "synack/link.h"
#include "wire/wire.h"

#define LOCALHOST 0x7f000001u /* 127.0.0.1 */

/* The loopback address of `family`: 127.0.0.1 or ::1. */
static struct synack_addr loopback(enum synack_family family)
{
    static const uint8_t one[16] = {[15] = 1};
    return family == SYNACK_AF_INET6 ? synack_addr_v6(one) : synack_addr_v4(LOCALHOST);
}

/* A socket bound to a port the kernel picks on the loopback address of `family`, or -1. */
static int bind_loopback(enum synack_family family, uint16_t *port)
{
    int fd = socket(family == SYNACK_AF_INET6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LOCALHOST)};
    struct sockaddr *a =
        family == SYNACK_AF_INET6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
    socklen_t len = family == SYNACK_AF_INET6 ? sizeof(a6) : sizeof(a4);
    if (bind(fd, a, len) != 0 || getsockname(fd, a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(family == SYNACK_AF_INET6 ? a6.sin6_port : a4.sin_port);
    return fd;
}

/* A port the kernel just handed out on the loopback of `family` and that nobody holds now. */
static uint16_t free_port_on(enum synack_family family)
{
    uint16_t port = 0;
    int fd = bind_loopback(family, &port);
    assert_true(fd >= 0);
    close(fd);
    return port;
}

static uint16_t free_port(void)
{
    return free_port_on(SYNACK_AF_INET);
}

/* Skips the test where the host has no IPv6 loopback (IPv6 off). */
static void need_ipv6_loopback(void)
{
    uint16_t port;
    int fd = bind_loopback(SYNACK_AF_INET6, &port);
    if (fd < 0) {
        fprintf(stderr, "note: no IPv6 loopback (::1) here: skipped\n");
        skip();
    }
    close(fd);
}

static struct synack_udp_config udp_config(enum synack_family family, uint16_t local, uint16_t peer,
                                           unsigned path_mtu_max)
{
    struct synack_udp_config cfg = {.local = {loopback(family), local},
                                    .peer = {loopback(family), peer},
                                    .path_mtu_max = path_mtu_max};
    return cfg;
}

static struct synack_link *open_udp_on(enum synack_family family, uint16_t local, uint16_t peer,
                                       unsigned path_mtu_max)
{
    struct synack_udp_config cfg = udp_config(family, local, peer, path_mtu_max);
    struct synack_link *l = NULL;
    char err[160] = "";
    int rc = synack_udp_open(&l, &cfg, err, sizeof(err));
    if (rc != 0) fail_msg("synack_udp_open: %d: %s", rc, err);
    return l;
}

static struct synack_link *open_udp(uint16_t local, uint16_t peer, unsigned path_mtu_max)
{
    return open_udp_on(SYNACK_AF_INET, local, peer, path_mtu_max);
}

/* Two links on the loopback of `family` pointed at each other, told the path MTUs
 * `a_path_mtu_max` and `b_path_mtu_max` (0: the default): a link receives no datagram
 * larger than its own largest MTU (link.h). */
static void open_pair_mtus(enum synack_family family, unsigned a_path_mtu_max,
                           unsigned b_path_mtu_max, struct synack_link **a, struct synack_link **b)
{
    uint16_t pa = free_port_on(family), pb = free_port_on(family);
    while (pb == pa)
        pb = free_port_on(family);
    *a = open_udp_on(family, pa, pb, a_path_mtu_max);
    *b = open_udp_on(family, pb, pa, b_path_mtu_max);
}

/* The same, both told `path_mtu_max`. */
static void open_pair_mtu(enum synack_family family, unsigned path_mtu_max, struct synack_link **a,
                          struct synack_link **b)
{
    open_pair_mtus(family, path_mtu_max, path_mtu_max, a, b);
}

static void open_pair_on(enum synack_family family, struct synack_link **a, struct synack_link **b)
{
    open_pair_mtu(family, 0, a, b);
}

static void open_pair(struct synack_link **a, struct synack_link **b)
{
    open_pair_on(SYNACK_AF_INET, a, b);
}

/* recv, waiting up to about 2 s in total for a packet to arrive. */
static synack_ssize recv_wait(struct synack_link *l, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 20; i++) {
        synack_ssize n = synack_link_recv(l, buf, cap, 0);
        if (n != SYNACK_ERR_AGAIN) return n;
        struct pollfd p = {.fd = synack_link_fd(l), .events = POLLIN};
        (void)poll(&p, 1, 100);
    }
    return SYNACK_ERR_AGAIN;
}

/* Bytes that look like an IPv4 packet to the link (version 4), the rest a pattern. */
static void fill_packet(uint8_t *buf, size_t len, unsigned seed)
{
    buf[0] = 0x45;
    for (size_t i = 1; i < len; i++)
        buf[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
}

/* The same for an IPv6 packet (version 6). */
static void fill_packet6(uint8_t *buf, size_t len, unsigned seed)
{
    fill_packet(buf, len, seed);
    buf[0] = 0x60;
}

static void udp_packets_round_trip_byte_exact(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    static const size_t sizes[] = {20, 21, 576, 1000, 1472};
    uint8_t out[1500], in[65535];
    uint64_t bytes = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill_packet(out, sizes[i], (unsigned)i);
        assert_int_equal(synack_link_send(a, out, sizes[i], 0), 0);
        assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)sizes[i]);
        assert_memory_equal(in, out, sizes[i]);
        fill_packet(out, sizes[i], (unsigned)i + 100);
        assert_int_equal(synack_link_send(b, out, sizes[i], 0), 0);
        assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizes[i]);
        assert_memory_equal(in, out, sizes[i]);
        bytes += sizes[i];
    }
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, 5);
    assert_int_equal(st.rx_packets, 5);
    assert_int_equal(st.tx_bytes, bytes);
    assert_int_equal(st.rx_bytes, bytes);
    assert_int_equal(st.rx_errors, 0);
    assert_int_equal(st.tx_errors, 0);
    assert_string_equal(a->ops->kind, "udp");
    synack_link_free(a);
    synack_link_free(b);
}

/* A third socket sending to the link's port: its datagram never reaches the stack, the
 * peer's next one does. */
static void udp_datagram_from_third_socket_dropped(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    int third = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(third >= 0);
    struct sockaddr_in local;
    socklen_t len = sizeof(local);
    assert_int_equal(getsockname(synack_link_fd(a), (struct sockaddr *)&local, &len), 0);
    uint8_t pkt[100], in[2048];
    fill_packet(pkt, sizeof(pkt), 9);
    assert_int_equal(sendto(third, pkt, sizeof(pkt), 0, (struct sockaddr *)&local, sizeof(local)),
                     (ssize_t)sizeof(pkt));
    uint8_t good[60];
    fill_packet(good, sizeof(good), 1);
    assert_int_equal(synack_link_send(b, good, sizeof(good), 0), 0);
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(good));
    assert_memory_equal(in, good, sizeof(good));
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_packets, 1);
    close(third);
    synack_link_free(a);
    synack_link_free(b);
}

/* Datagrams from the peer that cannot be IP packets (shorter than their version's fixed
 * header, or of a version other than 4 and 6) are dropped and counted; the IPv4 and IPv6
 * packets behind them come out. */
static void udp_non_ip_datagrams_dropped_and_counted(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t runt[5] = {0x45, 1, 2, 3, 4};
    uint8_t short6[39], v5[40], v6[40], good[48], in[2048];
    fill_packet6(short6, sizeof(short6), 1);
    fill_packet(v5, sizeof(v5), 2);
    v5[0] = 0x55;
    fill_packet6(v6, sizeof(v6), 2);
    fill_packet(good, sizeof(good), 3);
    assert_int_equal(synack_link_send(b, runt, sizeof(runt), 0), 0);
    assert_int_equal(synack_link_send(b, short6, sizeof(short6), 0), 0);
    assert_int_equal(synack_link_send(b, v5, sizeof(v5), 0), 0);
    assert_int_equal(synack_link_send(b, v6, sizeof(v6), 0), 0);
    assert_int_equal(synack_link_send(b, good, sizeof(good), 0), 0);
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(v6));
    assert_memory_equal(in, v6, sizeof(v6));
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(good));
    assert_memory_equal(in, good, sizeof(good));
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_errors, 3);
    assert_int_equal(st.rx_packets, 2);
    synack_link_free(a);
    synack_link_free(b);
}

/* Over an IPv6 socket (RFC 8200 outside): IPv4 and IPv6 packets inside go both ways byte
 * exact, and the stack's MTU leaves room for the 48 bytes of IPv6 and UDP headers. */
static void udp_ipv6_outside_carries_both_families(void **state)
{
    (void)state;
    need_ipv6_loopback();
    struct synack_link *a, *b;
    open_pair_on(SYNACK_AF_INET6, &a, &b);
    assert_int_equal(synack_link_mtu(a), 1500 - 48);
    static const size_t sizes[] = {40, 576, 1280, 1452};
    uint8_t out[1500], in[65535];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill_packet6(out, sizes[i], (unsigned)i);
        assert_int_equal(synack_link_send(a, out, sizes[i], 0), 0);
        assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)sizes[i]);
        assert_memory_equal(in, out, sizes[i]);
        fill_packet(out, sizes[i], (unsigned)i + 100);
        assert_int_equal(synack_link_send(b, out, sizes[i], 0), 0);
        assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizes[i]);
        assert_memory_equal(in, out, sizes[i]);
    }
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, 4);
    assert_int_equal(st.rx_packets, 4);
    assert_int_equal(st.rx_errors + st.tx_errors, 0);
    synack_link_free(a);
    synack_link_free(b);
    /* The path MTU told, and the kernel's (loopback: 65536), less 48, within a datagram. */
    uint16_t pa = free_port_on(SYNACK_AF_INET6), pb = free_port_on(SYNACK_AF_INET6);
    struct synack_link *l = open_udp_on(SYNACK_AF_INET6, pa, pb, 1400);
    assert_int_equal(synack_link_mtu(l), 1400 - 48);
    synack_link_free(l);
    l = open_udp_on(SYNACK_AF_INET6, pa, pb, 100000);
    int kernel_mtu = 0;
    socklen_t optlen = sizeof(kernel_mtu);
    assert_int_equal(getsockopt(synack_link_fd(l), IPPROTO_IPV6, IPV6_MTU, &kernel_mtu, &optlen),
                     0);
    unsigned want = (unsigned)kernel_mtu - 48 < 65527 ? (unsigned)kernel_mtu - 48 : 65527;
    assert_int_equal(synack_link_mtu(l), want);
    synack_link_free(l);
}

static void udp_small_buffer_is_bufsz(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t big[1000], small[40], in[2048];
    fill_packet(big, sizeof(big), 4);
    fill_packet(small, sizeof(small), 5);
    assert_int_equal(synack_link_send(b, big, sizeof(big), 0), 0);
    assert_int_equal(synack_link_send(b, small, sizeof(small), 0), 0);
    assert_int_equal(recv_wait(a, in, 100), SYNACK_ERR_BUFSZ);
    /* The big packet was dropped, not left behind or handed out cut short. */
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(small));
    assert_memory_equal(in, small, sizeof(small));
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_errors, 1);
    assert_int_equal(st.rx_packets, 1);
    synack_link_free(a);
    synack_link_free(b);
}

/* The sentence names the address in use as people write it, brackets for IPv6. */
static void check_in_use(enum synack_family family, const char *shown)
{
    uint16_t pa = free_port_on(family), pb = free_port_on(family);
    struct synack_link *a = open_udp_on(family, pa, pb, 0);
    struct synack_udp_config cfg = udp_config(family, pa, pb, 0);
    struct synack_link dummy = {0};
    struct synack_link *c = &dummy; /* must be reset to NULL */
    char err[160] = "", want[80];
    assert_int_equal(synack_udp_open(&c, &cfg, err, sizeof(err)), SYNACK_ERR_IO);
    assert_null(c);
    snprintf(want, sizeof(want), "address %s:%u is in use", shown, (unsigned)pa);
    assert_string_equal(err, want);
    synack_link_free(a);
}

static void udp_address_in_use_says_so(void **state)
{
    (void)state;
    check_in_use(SYNACK_AF_INET, "127.0.0.1");
    need_ipv6_loopback();
    check_in_use(SYNACK_AF_INET6, "[::1]");
}

static void udp_rejects_incomplete_config(void **state)
{
    (void)state;
    struct synack_link *l = NULL;
    char err[160] = "";
    struct synack_udp_config cfg = udp_config(SYNACK_AF_INET, 0, 9, 0);
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_true(strlen(err) > 0);
    cfg.local.port = free_port();
    cfg.peer.port = 0;
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    /* No peer address (a wildcard is none). */
    cfg.peer = (struct synack_endpoint){synack_addr_any(SYNACK_AF_INET6), 9};
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    /* One socket speaks one family. */
    cfg.peer = (struct synack_endpoint){loopback(SYNACK_AF_INET6), 9};
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_string_equal(err, "the local address 127.0.0.1 and the peer ::1 are of different "
                             "families: the socket speaks one");
    assert_int_equal(synack_udp_open(NULL, &cfg, NULL, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_udp_open(&l, NULL, NULL, 0), SYNACK_ERR_INVAL);
    assert_null(l);
}

/* The stack's MTU leaves room for the IPv4 and UDP headers of the datagram (28 bytes) on
 * a 1500-byte path by default, on a smaller path when told, and never beyond the path
 * MTU the kernel reports (65535 on loopback). */
static void udp_mtu_accounts_for_encapsulation(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    struct synack_link *l = open_udp(pa, pb, 0);
    assert_int_equal(synack_link_mtu(l), 1500 - 28);
    synack_link_free(l);
    l = open_udp(pa, pb, 1400);
    assert_int_equal(synack_link_mtu(l), 1400 - 28);
    synack_link_free(l);
    l = open_udp(pa, pb, 100000);
    int kernel_mtu = 0;
    socklen_t optlen = sizeof(kernel_mtu);
    assert_int_equal(getsockopt(synack_link_fd(l), IPPROTO_IP, IP_MTU, &kernel_mtu, &optlen), 0);
    assert_true(kernel_mtu > 1500); /* loopback: 65536 */
    unsigned want = (unsigned)kernel_mtu - 28 < 65507 ? (unsigned)kernel_mtu - 28 : 65507;
    assert_int_equal(synack_link_mtu(l), want);
    synack_link_free(l);
    /* A full-size packet goes through as one datagram. */
    struct synack_link *a, *b;
    open_pair(&a, &b);
    unsigned mtu = synack_link_mtu(a);
    uint8_t out[1500], in[2048];
    fill_packet(out, mtu, 6);
    assert_int_equal(synack_link_send(a, out, mtu, 0), 0);
    assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)mtu);
    assert_memory_equal(in, out, mtu);
    synack_link_free(a);
    synack_link_free(b);
}

/* Before the peer process starts, our datagrams draw ICMP port unreachable, which a
 * connected UDP socket reports as ECONNREFUSED on the next call. The link counts it and
 * stays usable: once the peer is there, packets flow both ways. */
static void udp_peer_not_yet_started_is_not_fatal(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    struct synack_link *a = open_udp(pa, pb, 0);
    uint8_t out[64], in[2048];
    fill_packet(out, sizeof(out), 7);
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    /* Wait (bounded) for the ICMP error to be pending on the socket. */
    struct pollfd p = {.fd = synack_link_fd(a), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_true(p.revents & POLLERR);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    /* An ICMP error, not a datagram of ours refused: nothing was dropped here. */
    assert_int_equal(st.icmp_errors, 1);
    uint64_t refused = 0;
    assert_int_equal(synack_udp_refused(a, &refused), 0);
    assert_int_equal(refused, 1); /* port unreachable: nobody holds pb */
    assert_int_equal(st.tx_errors, 0);
    assert_int_equal(st.rx_errors, 0);
    /* Another refused datagram: this time the error surfaces on send, which still sends. */
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    synack_link_stats(a, &st);
    assert_int_equal(st.icmp_errors, 2);
    assert_int_equal(synack_udp_refused(a, &refused), 0);
    assert_int_equal(refused, 2);
    assert_int_equal(st.tx_errors, 0);
    assert_int_equal(st.tx_packets, 3);

    struct synack_link *b = open_udp(pb, pa, 0);
    /* The third datagram may have drawn an error too; a read clears it. */
    (void)synack_link_recv(a, in, sizeof(in), 0);
    fill_packet(out, sizeof(out), 8);
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)sizeof(out));
    assert_memory_equal(in, out, sizeof(out));
    assert_int_equal(synack_link_send(b, out, sizeof(out), 0), 0);
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(out));
    assert_memory_equal(in, out, sizeof(out));
    synack_link_free(a);
    synack_link_free(b);
}

/* ---- packets too big for the path ---------------------------------------------------- */

#define STACK_ADDR 0xc6120001u /* 198.18.0.1: the stack behind link a */
#define FAR_ADDR 0xc6120002u   /* 198.18.0.2: the stack at the other end */

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* 2001:db8::1, the stack behind link a, and 2001:db8::2 at the other end. */
static const uint8_t STACK_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t FAR_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* A TCP segment of `len` bytes in all from STACK_ADDR:40000 to FAR_ADDR:5000 with DF and
 * sequence number `seq`, as a stack would send it (checksums are not the link's concern). */
static void fill_tcp_packet(uint8_t *buf, size_t len, uint32_t seq)
{
    fill_packet(buf, len, seq);
    memcpy(buf, (const uint8_t[]){0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0}, 12);
    put_be16(buf + 2, (uint16_t)len);
    put_be32(buf + 12, STACK_ADDR);
    put_be32(buf + 16, FAR_ADDR);
    put_be16(buf + 20, 40000);
    put_be16(buf + 22, 5000);
    put_be32(buf + 24, seq);
}

/* The same over IPv6: STACK_ADDR6 to FAR_ADDR6, Next Header TCP, Payload Length len - 40. */
static void fill_tcp_packet6(uint8_t *buf, size_t len, uint32_t seq)
{
    fill_packet6(buf, len, seq);
    memcpy(buf, (const uint8_t[]){0x60, 0, 0, 0}, 4);
    put_be16(buf + 4, (uint16_t)(len - 40));
    buf[6] = 6;
    buf[7] = 64;
    memcpy(buf + 8, STACK_ADDR6, 16);
    memcpy(buf + 24, FAR_ADDR6, 16);
    put_be16(buf + 40, 40000);
    put_be16(buf + 42, 5000);
    put_be32(buf + 44, seq);
}

/* In a checker: on a false condition print where and return false, so that both a cmocka
 * test (assert_true) and a child in a namespace (CHILD_CHECK) can use it. */
#define MSG_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/* `msg` (len bytes) is a valid fragmentation-needed message (both checksums right) about
 * the IPv4 packet `pkt`, from its destination to its source, announcing `mtu`. */
static bool is_frag_needed(const uint8_t *msg, synack_ssize len, const uint8_t *pkt, unsigned mtu)
{
    MSG_CHECK(len == 20 + 8 + 20 + 8);
    struct wire_ip_repr ip;
    MSG_CHECK(wire_ipv4_parse(msg, (size_t)len, &ip) == SYNACK_DROP_NONE);
    MSG_CHECK(ip.proto == WIRE_IP_PROTO_ICMP);
    MSG_CHECK(synack_addr_v4_value(&ip.src) == FAR_ADDR);
    MSG_CHECK(synack_addr_v4_value(&ip.dst) == STACK_ADDR);
    struct wire_icmp_repr icmp;
    MSG_CHECK(wire_icmp_parse(msg + 20, (size_t)len - 20, &icmp) == SYNACK_DROP_NONE);
    MSG_CHECK(icmp.type == WIRE_ICMP_DEST_UNREACH && icmp.code == WIRE_ICMP_FRAG_NEEDED);
    MSG_CHECK(icmp.mtu == mtu);
    MSG_CHECK(icmp.is_error);
    MSG_CHECK(icmp.data_len == 28);
    MSG_CHECK(memcmp(icmp.data, pkt, 28) == 0); /* header and ports + sequence number */
    return true;
}

/* `msg` (len bytes) is a valid ICMPv6 packet too big (RFC 4443 §3.2: checksum right) about
 * the IPv6 packet `pkt`, from its destination to its source, announcing `mtu`, returning as
 * much of `pkt` as fits 1280 bytes in all. */
static bool is_packet_too_big(const uint8_t *msg, synack_ssize len, const uint8_t *pkt,
                              size_t pkt_len, unsigned mtu)
{
    size_t quoted = pkt_len < 1280 - 48 ? pkt_len : 1280 - 48;
    MSG_CHECK(len == 40 + 8 + (synack_ssize)quoted);
    struct wire_ip_repr ip;
    MSG_CHECK(wire_ipv6_parse(msg, (size_t)len, &ip) == SYNACK_DROP_NONE);
    MSG_CHECK(ip.proto == 58);
    MSG_CHECK(memcmp(ip.src.bytes, FAR_ADDR6, 16) == 0);
    MSG_CHECK(memcmp(ip.dst.bytes, STACK_ADDR6, 16) == 0);
    struct wire_icmp6_repr icmp;
    MSG_CHECK(wire_icmp6_parse(msg + 40, (size_t)len - 40, &ip.src, &ip.dst, &icmp) ==
              SYNACK_DROP_NONE);
    MSG_CHECK(icmp.type == 2 && icmp.code == 0);
    MSG_CHECK(icmp.mtu == mtu);
    MSG_CHECK(icmp.is_error);
    MSG_CHECK(icmp.data_len == quoted);
    MSG_CHECK(memcmp(icmp.data, pkt, quoted) == 0);
    return true;
}

/* The message a router would send about `pkt` (pkt_len bytes) announcing `mtu`, in the
 * packet's own family. */
static bool is_too_big_message(const uint8_t *msg, synack_ssize len, const uint8_t *pkt,
                               size_t pkt_len, unsigned mtu)
{
    if (pkt[0] >> 4 == 6) return is_packet_too_big(msg, len, pkt, pkt_len, mtu);
    return is_frag_needed(msg, len, pkt, mtu);
}

static void expect_frag_needed(const uint8_t *msg, synack_ssize len, const uint8_t *pkt,
                               unsigned mtu)
{
    assert_true(is_frag_needed(msg, len, pkt, mtu));
}

/* A 65535-byte packet made by `fill`, larger than link `a` allows, is refused at `now` and
 * counted once (not once for the refusal and once for a retry); the message a router would
 * send about it, in the packet's family and announcing `mtu`, is due at once and handed out
 * by the next recv, once; then a packet of `mtu` bytes goes through to `b` byte-exact. */
static void too_big_told_then_fits(struct synack_link *a, struct synack_link *b,
                                   void (*fill)(uint8_t *, size_t, uint32_t), unsigned mtu,
                                   synack_time_t now)
{
    static uint8_t pkt[65535], in[65535];
    struct synack_link_stats before, st;
    synack_link_stats(a, &before);
    fill(pkt, sizeof(pkt), (uint32_t)now);
    assert_int_equal(synack_link_next_deadline(a), SYNACK_NEVER);
    assert_int_equal(synack_link_send(a, pkt, sizeof(pkt), now), SYNACK_ERR_IO);
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_errors - before.tx_errors, 1);
    assert_int_equal(st.too_big - before.too_big, 1);
    assert_int_equal(st.icmp_errors, before.icmp_errors);
    assert_int_equal(st.tx_packets, before.tx_packets);
    /* Due at once: a loop reads it without waiting for the socket. */
    assert_int_equal(synack_link_next_deadline(a), now);
    synack_ssize n = synack_link_recv(a, in, sizeof(in), now);
    assert_true(is_too_big_message(in, n, pkt, sizeof(pkt), mtu));
    assert_int_equal(synack_link_next_deadline(a), SYNACK_NEVER);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), now), SYNACK_ERR_AGAIN);
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_packets - before.rx_packets, 1);
    assert_int_equal(st.rx_bytes - before.rx_bytes, (uint64_t)n);
    /* What the message announces fits. */
    fill(pkt, mtu, (uint32_t)now + 1);
    assert_int_equal(synack_link_send(a, pkt, mtu, now + 1), 0);
    assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)mtu);
    assert_memory_equal(in, pkt, mtu);
}

/* A packet larger than the path allows (here: more than a UDP datagram carries, which a
 * stack given a larger MTU than the link's would send) is refused and counted once, and
 * the next recv hands over the fragmentation-needed message a router would have sent, with
 * the link's MTU; the largest packet the link claims to carry does go through. */
static void udp_too_big_becomes_frag_needed(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair_mtu(SYNACK_AF_INET, 65535 + 28, &a, &b);
    assert_int_equal(synack_link_mtu(a), 65507); /* 65535 - 28, though loopback's is 65536 */
    too_big_told_then_fits(a, b, fill_tcp_packet, 65507, SYNACK_MS(5));
    synack_link_free(a);
    synack_link_free(b);
}

/* An IPv6 packet refused as too big (RFC 8200 inside IPv4 outside) is told in its own
 * family: the ICMPv6 packet too big a router would send (RFC 4443 §3.2, RFC 8201 §4), with
 * the link's MTU. */
static void udp_too_big_ipv6_inside_becomes_packet_too_big(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair_mtu(SYNACK_AF_INET, 65535 + 28, &a, &b);
    too_big_told_then_fits(a, b, fill_tcp_packet6, 65507, SYNACK_MS(5));
    synack_link_free(a);
    synack_link_free(b);
}

/* Over IPv6 outside, the largest datagram is 65527 bytes of payload (RFC 8200 §3: the
 * Payload Length leaves out the fixed header) and the headers are 48 bytes: a packet of
 * either family larger than the link's MTU is refused and told with that MTU. */
static void udp_too_big_over_ipv6_outside(void **state)
{
    (void)state;
    need_ipv6_loopback();
    struct synack_link *a, *b;
    open_pair_mtu(SYNACK_AF_INET6, 65535 + 48, &a, &b);
    unsigned mtu = synack_link_mtu(a);
    assert_true(mtu > 60000 && mtu <= 65527);
    too_big_told_then_fits(a, b, fill_tcp_packet, mtu, SYNACK_MS(1));
    too_big_told_then_fits(a, b, fill_tcp_packet6, mtu, SYNACK_MS(20));
    synack_link_free(a);
    synack_link_free(b);
}

/* One message waits at a time, about the newest refused packet; once one has been read,
 * another with the same MTU waits 10 ms (a router's rate limit). */
static void udp_frag_needed_bounded_and_rate_limited(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    while (pb == pa)
        pb = free_port();
    struct synack_link *a = open_udp(pa, pb, 65535 + 28);
    static uint8_t pkt[65535], in[65535];
    fill_tcp_packet(pkt, sizeof(pkt), 1);
    assert_int_equal(synack_link_send(a, pkt, sizeof(pkt), SYNACK_MS(1)), SYNACK_ERR_IO);
    fill_tcp_packet(pkt, sizeof(pkt), 2);
    assert_int_equal(synack_link_send(a, pkt, sizeof(pkt), SYNACK_MS(2)), SYNACK_ERR_IO);
    expect_frag_needed(in, synack_link_recv(a, in, sizeof(in), SYNACK_MS(2)), pkt, 65507);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(2)), SYNACK_ERR_AGAIN);
    /* 5 ms after the last message: none. */
    fill_tcp_packet(pkt, sizeof(pkt), 3);
    assert_int_equal(synack_link_send(a, pkt, sizeof(pkt), SYNACK_MS(7)), SYNACK_ERR_IO);
    assert_int_equal(synack_link_next_deadline(a), SYNACK_NEVER);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(7)), SYNACK_ERR_AGAIN);
    /* 10 ms after: again. */
    fill_tcp_packet(pkt, sizeof(pkt), 4);
    assert_int_equal(synack_link_send(a, pkt, sizeof(pkt), SYNACK_MS(12)), SYNACK_ERR_IO);
    expect_frag_needed(in, synack_link_recv(a, in, sizeof(in), SYNACK_MS(12)), pkt, 65507);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.too_big, 4);
    assert_int_equal(st.tx_errors, 4);
    assert_int_equal(st.rx_packets, 2);
    synack_link_free(a);
}

/* ---- a path MTU lowered under a running link (root: a network namespace) ------------ */

/* One family's case: two addresses on the namespace's loopback, the command that lowers
 * the path MTU to the second (a locked route MTU, as the kernel's cache holds it after a
 * router's fragmentation-needed, RFC 1191, or packet too big, RFC 8201 §4; the local route
 * made again with it, which a connected socket finds on its next send), the outer headers,
 * and the inner packets sent. */
struct pmtu_fall {
    const char *addr_a, *addr_b;
    const char *lower_fmt; /* a shell command with %u for the new MTU */
    unsigned overhead;     /* 28 over IPv4, 48 over IPv6 */
    void (*fill)(uint8_t *buf, size_t len, uint32_t seq);
};

static const struct pmtu_fall pmtu_fall_v4 = {
    "198.18.20.1", "198.18.20.2",
    "ip route replace local 198.18.20.2 dev lo table local proto kernel scope host src "
    "198.18.20.2 mtu lock %u",
    28, fill_tcp_packet};
static const struct pmtu_fall pmtu_fall_v6 = {
    "2001:db8:20::1", "2001:db8:20::2",
    "ip -6 route del local 2001:db8:20::2 dev lo table local && "
    "ip -6 route add local 2001:db8:20::2 dev lo table local proto kernel mtu lock %u",
    48, fill_tcp_packet6};

static struct synack_endpoint ns_ep(const char *addr, uint16_t port)
{
    struct synack_endpoint e = {.port = port};
    if (synack_addr_parse(addr, &e.addr) != 0) e.port = 0;
    return e;
}

/* The path MTU falls under a link already open: the kernel refuses a packet the link's MTU
 * allowed until then, the link tells the stack the new path MTU less the outer headers (a
 * fragmentation-needed for IPv4 inside, a packet too big for IPv6), and what that announces
 * goes through. */
static int path_mtu_falls(const struct pmtu_fall *c)
{
    struct synack_udp_config ca = {.local = ns_ep(c->addr_a, 47001),
                                   .peer = ns_ep(c->addr_b, 47002)},
                             cb = {.local = ns_ep(c->addr_b, 47002),
                                   .peer = ns_ep(c->addr_a, 47001)};
    struct synack_link *a = NULL, *b = NULL;
    char err[160] = "", cmd[300];
    unsigned before = 1500 - c->overhead, after = 1400 - c->overhead;
    CHILD_CHECK(synack_udp_open(&a, &ca, err, sizeof(err)) == 0);
    CHILD_CHECK(synack_udp_open(&b, &cb, err, sizeof(err)) == 0);
    CHILD_CHECK(synack_link_mtu(a) == before);
    static uint8_t pkt[1500], in[2048];
    c->fill(pkt, before, 7);
    /* The path works at the link's MTU. Up to three tries: once, in a CI run, the first
     * datagram in a namespace just made (IPv6) did not arrive within recv_wait's 2 s; the
     * cause was not found (200 runs under load passed), and it is not what this test is
     * about. */
    synack_ssize got = SYNACK_ERR_AGAIN;
    for (int try = 0; try < 3 && got == SYNACK_ERR_AGAIN; try++) {
        CHILD_CHECK(synack_link_send(a, pkt, before, 0) == 0);
        got = recv_wait(b, in, sizeof(in));
    }
    CHILD_CHECK(got == (synack_ssize)before);
    while (synack_link_recv(b, in, sizeof(in), 0) >= 0) { /* a late first try's copy */
    }

    snprintf(cmd, sizeof(cmd), c->lower_fmt, 1400u);
    CHILD_CHECK(system(cmd) == 0);
    c->fill(pkt, before, 8);
    CHILD_CHECK(synack_link_send(a, pkt, before, SYNACK_MS(1)) == SYNACK_ERR_IO);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    CHILD_CHECK(st.too_big == 1 && st.tx_errors == 1 && st.icmp_errors == 0);
    synack_ssize n = synack_link_recv(a, in, sizeof(in), SYNACK_MS(1));
    CHILD_CHECK(is_too_big_message(in, n, pkt, before, after));
    CHILD_CHECK(synack_link_mtu(a) == after);
    CHILD_CHECK(synack_link_send(a, pkt, after, SYNACK_MS(2)) == 0);
    CHILD_CHECK(recv_wait(b, in, sizeof(in)) == (synack_ssize)after);
    synack_link_free(a);
    synack_link_free(b);
    return 0;
}

static int udp_child_path_mtu_falls(void)
{
    return path_mtu_falls(&pmtu_fall_v4);
}

static int udp_child_path_mtu6_falls(void)
{
    return path_mtu_falls(&pmtu_fall_v6);
}

/* The namespace's loopback carries both addresses of `c` (IPv6 ones without DAD). */
static void run_pmtu_fall(const struct pmtu_fall *c, int (*fn)(void))
{
    char setup[200];
    const char *opt = strchr(c->addr_a, ':') ? " nodad" : "";
    snprintf(setup, sizeof(setup),
             "ip link set lo up && ip addr add %s dev lo%s && ip addr add %s dev lo%s", c->addr_a,
             opt, c->addr_b, opt);
    netns_run(fn, setup, false);
}

static void udp_path_mtu_falls_under_open_link(void **state)
{
    (void)state;
    run_pmtu_fall(&pmtu_fall_v4, udp_child_path_mtu_falls);
}

/* The same over IPv6 outside and inside (RFC 8201, RFC 4443 §3.2). */
static void udp_path_mtu6_falls_under_open_link(void **state)
{
    (void)state;
    run_pmtu_fall(&pmtu_fall_v6, udp_child_path_mtu6_falls);
}

/* What the kernel granted of the socket buffers asked for is reported: at least what was
 * asked (the kernel doubles it for its bookkeeping) when it may be granted in full, here
 * 64 KiB, below every system's maximum. */
static void udp_reports_granted_sockbuf(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    struct synack_udp_config cfg = udp_config(SYNACK_AF_INET, pa, pb, 0);
    cfg.sockbuf = 65536;
    struct synack_link *l = NULL;
    char err[160] = "";
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), 0);
    unsigned rcv = 0, snd = 0;
    assert_int_equal(synack_udp_sockbuf(l, &rcv, &snd), 0);
    int krcv = 0, ksnd = 0;
    socklen_t optlen = sizeof(krcv);
    assert_int_equal(getsockopt(synack_link_fd(l), SOL_SOCKET, SO_RCVBUF, &krcv, &optlen), 0);
    optlen = sizeof(ksnd);
    assert_int_equal(getsockopt(synack_link_fd(l), SOL_SOCKET, SO_SNDBUF, &ksnd, &optlen), 0);
    assert_int_equal(rcv, (unsigned)krcv);
    assert_int_equal(snd, (unsigned)ksnd);
    assert_true(rcv >= 65536 && snd >= 65536);
    assert_int_equal(synack_udp_sockbuf(l, NULL, NULL), 0);
    assert_int_equal(synack_udp_sockbuf(NULL, &rcv, &snd), SYNACK_ERR_INVAL);
    synack_link_free(l);
}

/* ---- batches: recvmmsg and sendmmsg ------------------------------------------------------ */

/* Bytes the kernel holds in the receive queue of socket `fd` (SO_MEMINFO: sk_rmem_alloc;
 * every datagram queued adds its buffer's size). */
static uint32_t rcvq_bytes(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof(mem);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len), 0);
    return mem[SK_MEMINFO_RMEM_ALLOC];
}

/* Waits, about 2 s at most, until the receive queue of `fd` holds more than `before`
 * bytes: a datagram sent to it since has been queued (loopback delivers it within the
 * send, unless the kernel defers the work). Never asserted on: a test then checks what it
 * reads. */
static void wait_queued(int fd, uint32_t before)
{
    for (int i = 0; i < 200 && rcvq_bytes(fd) <= before; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        (void)poll(&p, 1, 10);
    }
}

/* Sends `len` bytes from link `from` to link `to` and waits until they wait in `to`'s
 * socket, so several sent this way are all there for one read. */
static void send_queued(struct synack_link *from, struct synack_link *to, const uint8_t *pkt,
                        size_t len)
{
    uint32_t before = rcvq_bytes(synack_link_fd(to));
    assert_int_equal(synack_link_send(from, pkt, len, 0), 0);
    wait_queued(synack_link_fd(to), before);
}

static uint64_t rx_calls_of(const struct synack_link *l)
{
    uint64_t rx = 0;
    assert_int_equal(synack_udp_calls(l, &rx, NULL), 0);
    return rx;
}

static uint64_t tx_calls_of(const struct synack_link *l)
{
    uint64_t tx = 0;
    assert_int_equal(synack_udp_calls(l, NULL, &tx), 0);
    return tx;
}

static bool is_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* Datagrams waiting in the link's socket are read by one recvmmsg: the first recv empties
 * the socket (it no longer polls readable) and the link hands out the rest, in order, from
 * what it read, due at once meanwhile (next_deadline: the time of that read) so that an
 * event loop comes back for them; once they are out, recv says AGAIN without asking the
 * kernel again (the read found the socket empty). */
static void udp_batch_read_in_one_call(void **state)
{
    (void)state;
    enum { K = 10 };
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t out[K][200], in[2048];
    for (unsigned i = 0; i < K; i++) {
        fill_packet(out[i], 40 + 10 * i, i);
        send_queued(b, a, out[i], 40 + 10 * i);
    }
    assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(3)), 40);
    assert_memory_equal(in, out[0], 40);
    assert_false(is_readable(synack_link_fd(a)));
    assert_int_equal(synack_link_next_deadline(a), SYNACK_MS(3));
    for (unsigned i = 1; i < K; i++) {
        assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(4)), 40 + 10 * i);
        assert_memory_equal(in, out[i], 40 + 10 * i);
    }
    assert_int_equal(synack_link_next_deadline(a), SYNACK_NEVER);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(4)), SYNACK_ERR_AGAIN);
    assert_int_equal(rx_calls_of(a), 1);
    /* The next recv asks the kernel again. */
    assert_int_equal(synack_link_recv(a, in, sizeof(in), SYNACK_MS(5)), SYNACK_ERR_AGAIN);
    assert_int_equal(rx_calls_of(a), 2);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_packets, K);
    assert_int_equal(st.rx_errors, 0);
    assert_int_equal(synack_udp_calls(NULL, NULL, NULL), SYNACK_ERR_INVAL);
    synack_link_free(a);
    synack_link_free(b);
}

/* In the middle of one batch: a runt, a datagram larger than the link's largest MTU (cut
 * short by the kernel, MSG_TRUNC; or, in the larger slots of UDP GRO, whole and dropped
 * all the same), one of IP version 5, an IPv6 one shorter than its header,
 * and one larger than the caller's buffer (BUFSZ) are each dropped and counted, and the
 * good ones around them come out in order, all from one recvmmsg. */
static void udp_batch_drops_bad_datagrams_mid_batch(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair_mtus(SYNACK_AF_INET, 0, 9000, &a, &b); /* a: largest MTU 1472; b sends 8972 */
    static uint8_t good1[100], runt[5] = {0x45}, big[3000], v5[40], good2[1472], short6[39],
                               mid[500], good3[60], in[65535];
    fill_packet(good1, sizeof(good1), 1);
    fill_packet(big, sizeof(big), 2);
    fill_packet(v5, sizeof(v5), 3);
    v5[0] = 0x55;
    fill_packet(good2, sizeof(good2), 4);
    fill_packet6(short6, sizeof(short6), 5);
    fill_packet(mid, sizeof(mid), 6);
    fill_packet6(good3, sizeof(good3), 7);
    send_queued(b, a, good1, sizeof(good1));
    send_queued(b, a, runt, sizeof(runt));
    send_queued(b, a, big, sizeof(big));
    send_queued(b, a, v5, sizeof(v5));
    send_queued(b, a, good2, sizeof(good2));
    send_queued(b, a, short6, sizeof(short6));
    send_queued(b, a, mid, sizeof(mid));
    send_queued(b, a, good3, sizeof(good3));
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), (synack_ssize)sizeof(good1));
    assert_memory_equal(in, good1, sizeof(good1));
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), (synack_ssize)sizeof(good2));
    assert_memory_equal(in, good2, sizeof(good2));
    assert_int_equal(synack_link_recv(a, in, 100, 0), SYNACK_ERR_BUFSZ);
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), (synack_ssize)sizeof(good3));
    assert_memory_equal(in, good3, sizeof(good3));
    assert_int_equal(synack_link_recv(a, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    assert_int_equal(rx_calls_of(a), 1);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_packets, 3);
    assert_int_equal(st.rx_bytes, sizeof(good1) + sizeof(good2) + sizeof(good3));
    assert_int_equal(st.rx_errors, 5);
    synack_link_free(a);
    synack_link_free(b);
}

/* ---- segmentation offloads (UDP_SEGMENT, UDP_GRO) ---- */

static struct synack_udp_offload_stats offload_of(struct synack_link *l)
{
    struct synack_udp_offload_stats o;
    assert_int_equal(synack_udp_offload(l, &o), 0);
    return o;
}

/* Queues packets of the lengths `lens` (n of them) on `a`, flushes, and checks that `b`
 * receives every one in order and byte-exact. */
static void queue_flush_receive(struct synack_link *a, struct synack_link *b, const size_t *lens,
                                unsigned n)
{
    static uint8_t out[SYNACK_LOOP_BATCH][1472];
    uint8_t in[2048];
    assert_true(n <= SYNACK_LOOP_BATCH);
    for (unsigned i = 0; i < n; i++) {
        fill_packet(out[i], lens[i], i);
        assert_int_equal(synack_link_queue(a, out[i], lens[i], 0), 0);
    }
    synack_link_flush(a, 0);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)lens[i]);
        assert_memory_equal(in, out[i], lens[i]);
    }
    assert_int_equal(synack_link_recv(b, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
}

/* One flush: packets of one length in a row leave as one train, the last one shorter or
 * not (a shorter one ends it, a longer one starts the next); on loopback the train reaches
 * the other socket whole and recv hands its datagrams out one by one, in order. */
static void udp_offload_sends_trains_and_receives_them_merged(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    struct synack_udp_offload_stats oa = offload_of(a), ob = offload_of(b);
    if (!oa.gso || !ob.gro) skip(); /* a kernel before 4.18 / 5.0: nothing to test */
    /* [5 x 1200, 700] [1400, 1400, 60] [60, 60, 60, 60] [100] */
    const size_t lens[] = {1200, 1200, 1200, 1200, 1200, 700, 1400, 1400, 60, 60, 60, 60, 60, 100};
    enum { N = sizeof lens / sizeof lens[0] };
    queue_flush_receive(a, b, lens, N);
    oa = offload_of(a);
    ob = offload_of(b);
    assert_int_equal(oa.gso_trains, 3);
    assert_int_equal(oa.gso_datagrams, 13);
    assert_int_equal(ob.gro_buffers, 3);
    assert_int_equal(ob.gro_datagrams, 13);
    assert_int_equal(tx_calls_of(a), 1);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, N);
    assert_int_equal(st.tx_errors, 0);
    synack_link_stats(b, &st);
    assert_int_equal(st.rx_packets, N);
    assert_int_equal(st.rx_errors, 0);
    synack_link_free(a);
    synack_link_free(b);
}

/* A train carries at most a datagram's worth of bytes (65507 over IPv4): 50 full-sized
 * packets of 1472 bytes leave as a train of 44 and one of 6. */
static void udp_offload_train_stops_at_a_datagrams_worth(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    if (!offload_of(a).gso || !offload_of(b).gro) skip();
    size_t lens[50];
    for (unsigned i = 0; i < 50; i++)
        lens[i] = 1472;
    queue_flush_receive(a, b, lens, 50);
    struct synack_udp_offload_stats oa = offload_of(a);
    assert_int_equal(oa.gso_trains, 2);
    assert_int_equal(oa.gso_datagrams, 50);
    assert_int_equal(offload_of(b).gro_datagrams, 50);
    synack_link_free(a);
    synack_link_free(b);
}

/* Queues three 300-byte packets on `a` (the middle one of IP version 5 if `bad_middle`) and
 * flushes them: one train, which `b`'s socket takes as one merged buffer. */
static void train_of_three(struct synack_link *a, uint8_t out[3][300], bool bad_middle)
{
    for (unsigned i = 0; i < 3; i++) {
        fill_packet(out[i], 300, i);
        if (i == 1 && bad_middle) out[i][0] = 0x55;
        assert_int_equal(synack_link_queue(a, out[i], 300, 0), 0);
    }
    synack_link_flush(a, 0);
}

/* A merged buffer is checked datagram by datagram: one in the middle that cannot be an IP
 * packet is dropped and counted, the others are handed out. */
static void udp_offload_drops_a_bad_datagram_inside_a_train(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    if (!offload_of(a).gso || !offload_of(b).gro) skip();
    static uint8_t out[3][300];
    uint8_t in[2048];
    train_of_three(a, out, true);
    assert_int_equal(recv_wait(b, in, sizeof(in)), 300);
    assert_memory_equal(in, out[0], 300);
    assert_int_equal(recv_wait(b, in, sizeof(in)), 300);
    assert_memory_equal(in, out[2], 300);
    assert_int_equal(synack_link_recv(b, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st;
    synack_link_stats(b, &st);
    assert_int_equal(st.rx_packets, 2);
    assert_int_equal(st.rx_errors, 1);
    assert_int_equal(offload_of(b).gro_datagrams, 3);
    synack_link_free(a);
    synack_link_free(b);
}

/* A reader's buffer too small for the middle datagram of a merged buffer: that one is
 * dropped (BUFSZ), the next still comes out; while the buffer is half handed out the link
 * is due at once (next_deadline), since the socket no longer polls readable for it. */
static void udp_offload_merged_buffer_half_read(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    if (!offload_of(a).gso || !offload_of(b).gro) skip();
    static uint8_t out[3][300];
    uint8_t in[2048];
    train_of_three(a, out, false);
    assert_int_equal(recv_wait(b, in, sizeof(in)), 300);
    assert_memory_equal(in, out[0], 300);
    assert_int_equal(offload_of(b).gro_buffers, 1);
    assert_true(synack_link_next_deadline(b) <= 0);
    assert_int_equal(synack_link_recv(b, in, 100, 0), SYNACK_ERR_BUFSZ);
    assert_int_equal(synack_link_recv(b, in, sizeof(in), 0), 300);
    assert_memory_equal(in, out[2], 300);
    assert_int_equal(synack_link_next_deadline(b), SYNACK_NEVER);
    assert_int_equal(synack_link_recv(b, in, sizeof(in), 0), SYNACK_ERR_AGAIN);
    struct synack_link_stats st;
    synack_link_stats(b, &st);
    assert_int_equal(st.rx_packets, 2);
    assert_int_equal(st.rx_errors, 1);
    synack_link_free(a);
    synack_link_free(b);
}

/* no_offload: one datagram per packet each way, as before the offloads; the same packets
 * arrive the same. */
static void udp_no_offload_sends_one_datagram_per_packet(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    while (pb == pa)
        pb = free_port();
    struct synack_udp_config ca = udp_config(SYNACK_AF_INET, pa, pb, 0);
    struct synack_udp_config cb = udp_config(SYNACK_AF_INET, pb, pa, 0);
    ca.no_offload = cb.no_offload = true;
    struct synack_link *a = NULL, *b = NULL;
    char err[160];
    assert_int_equal(synack_udp_open(&a, &ca, err, sizeof err), 0);
    assert_int_equal(synack_udp_open(&b, &cb, err, sizeof err), 0);
    const size_t lens[] = {1200, 1200, 1200, 700, 60, 60};
    queue_flush_receive(a, b, lens, 6);
    struct synack_udp_offload_stats oa = offload_of(a), ob = offload_of(b);
    assert_false(oa.gso);
    assert_false(ob.gro);
    assert_false(oa.gso_refused); /* not asked for: not refused */
    assert_false(ob.gro_refused);
    assert_int_equal(oa.gso_trains, 0);
    assert_int_equal(ob.gro_buffers, 0);
    assert_int_equal(synack_udp_offload(NULL, &oa), SYNACK_ERR_INVAL);
    assert_int_equal(synack_udp_offload(a, NULL), SYNACK_ERR_INVAL);
    synack_link_free(a);
    synack_link_free(b);
}

/* The same over IPv6 outside: the trains and the merged buffers work the same. */
static void udp_offload_over_ipv6(void **state)
{
    (void)state;
    need_ipv6_loopback();
    struct synack_link *a, *b;
    open_pair_on(SYNACK_AF_INET6, &a, &b);
    if (!offload_of(a).gso || !offload_of(b).gro) skip();
    /* [4 x 1000, 40] [40]: the second 40 comes after a train the first one ended. */
    const size_t lens[] = {1000, 1000, 1000, 1000, 40, 40};
    queue_flush_receive(a, b, lens, 6);
    assert_int_equal(offload_of(a).gso_trains, 1);
    assert_int_equal(offload_of(a).gso_datagrams, 5);
    assert_int_equal(offload_of(b).gro_datagrams, 5);
    synack_link_free(a);
    synack_link_free(b);
}

/* Queued packets leave only with the flush, all in one sendmmsg, and arrive in order and
 * byte-exact; a packet sent (not queued) after others queued leaves after them. */
static void udp_batch_queued_leave_in_one_call(void **state)
{
    (void)state;
    enum { K = 10 };
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t out[K + 3][1200], in[2048];
    for (unsigned i = 0; i < K + 3; i++)
        fill_packet(out[i], 40 + 90 * i, i);
    for (unsigned i = 0; i < K; i++)
        assert_int_equal(synack_link_queue(a, out[i], 40 + 90 * i, 0), 0);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, 0);
    assert_int_equal(tx_calls_of(a), 0);
    assert_false(is_readable(synack_link_fd(b))); /* nothing has left yet */
    synack_link_flush(a, 0);
    assert_int_equal(tx_calls_of(a), 1);
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, K);
    /* Two queued, one sent: the send flushes them first. */
    assert_int_equal(synack_link_queue(a, out[K], 40 + 90 * K, 0), 0);
    assert_int_equal(synack_link_queue(a, out[K + 1], 40 + 90 * (K + 1), 0), 0);
    assert_int_equal(synack_link_send(a, out[K + 2], 40 + 90 * (K + 2), 0), 0);
    assert_int_equal(tx_calls_of(a), 3);
    for (unsigned i = 0; i < K + 3; i++) {
        assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)(40 + 90 * i));
        assert_memory_equal(in, out[i], 40 + 90 * i);
    }
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, K + 3);
    assert_int_equal(st.tx_errors, 0);
    synack_link_free(a);
    synack_link_free(b);
}

/* A full batch (SYNACK_LOOP_BATCH packets) is sent as the next packet is queued, in one
 * call; the flush sends the rest; all arrive in order. */
static void udp_batch_full_queue_sends_itself(void **state)
{
    (void)state;
    enum { N = SYNACK_LOOP_BATCH + 3 };
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t pkt[100], in[2048];
    for (unsigned i = 0; i < N; i++) {
        fill_packet(pkt, sizeof(pkt), i);
        assert_int_equal(synack_link_queue(a, pkt, sizeof(pkt), 0), 0);
        assert_int_equal(tx_calls_of(a), i < SYNACK_LOOP_BATCH ? 0 : 1);
    }
    synack_link_flush(a, 0);
    assert_int_equal(tx_calls_of(a), 2);
    synack_link_flush(a, 0); /* nothing left: no call */
    assert_int_equal(tx_calls_of(a), 2);
    for (unsigned i = 0; i < N; i++) {
        fill_packet(pkt, sizeof(pkt), i);
        assert_int_equal(recv_wait(b, in, sizeof(in)), (synack_ssize)sizeof(pkt));
        assert_memory_equal(in, pkt, sizeof(pkt));
    }
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_packets, N);
    synack_link_free(a);
    synack_link_free(b);
}

/* A stack on link `l` at 198.18.0.`host`. */
static struct synack_stack *stack_at(unsigned host)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(0xc6120000u | host);
    struct synack_stack *s = NULL;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

/* synack_link_drain sends a stack's output pass in one sendmmsg: eight UDP datagrams the
 * stack was given arrive at the far link in order. */
static void udp_batch_drain_is_one_call(void **state)
{
    (void)state;
    enum { K = 8 };
    struct synack_link *a, *b;
    open_pair(&a, &b);
    struct synack_stack *s = stack_at(1);
    struct synack_endpoint local = {synack_addr_v4(0xc6120001u), 4000};
    struct synack_endpoint far = {synack_addr_v4(0xc6120002u), 5000};
    struct synack_udp *sock = NULL;
    assert_int_equal(synack_udp_bind(s, &local, NULL, &sock), 0);
    uint8_t msg[64], buf[2048];
    for (unsigned i = 0; i < K; i++) {
        memset(msg, (int)i + 1, sizeof(msg));
        assert_int_equal(synack_udp_send(sock, msg, sizeof(msg), &far, 0),
                         (synack_ssize)sizeof(msg));
    }
    synack_link_drain(a, s, buf, sizeof(buf), 0);
    assert_int_equal(tx_calls_of(a), 1);
    for (unsigned i = 0; i < K; i++) {
        memset(msg, (int)i + 1, sizeof(msg));
        assert_int_equal(recv_wait(b, buf, sizeof(buf)), 20 + 8 + (synack_ssize)sizeof(msg));
        assert_memory_equal(buf + 28, msg, sizeof(msg));
    }
    synack_udp_close(sock);
    synack_stack_free(s);
    synack_link_free(a);
    synack_link_free(b);
}

/* synack_link_pump reads the arrivals of a wake-up with one recvmmsg and sends the stack's
 * answers to all of them with one sendmmsg: six SYNs waiting at a listener's link draw six
 * SYN-ACKs in one call. */
static void udp_batch_pump_answers_in_one_call(void **state)
{
    (void)state;
    enum { K = 6 };
    struct synack_link *a, *b;
    open_pair(&a, &b);
    struct synack_stack *sa = stack_at(1), *sb = stack_at(2);
    struct synack_endpoint server = {synack_addr_v4(0xc6120001u), 80};
    struct synack_listener *lis = NULL;
    assert_int_equal(synack_tcp_listen(sa, &server, 16, NULL, &lis), 0);
    uint8_t buf[2048];
    for (unsigned i = 0; i < K; i++) {
        struct synack_tcp *c = NULL;
        assert_int_equal(synack_tcp_connect(sb, &server, NULL, NULL, &c, 0), 0);
        uint32_t before = rcvq_bytes(synack_link_fd(a));
        synack_link_drain(b, sb, buf, sizeof(buf), 0);
        wait_queued(synack_link_fd(a), before);
    }
    assert_int_equal(tx_calls_of(b), K);
    assert_int_equal(synack_link_pump(a, sa, buf, sizeof(buf), SYNACK_MS(1)), 0);
    assert_int_equal(rx_calls_of(a), 1);
    assert_int_equal(tx_calls_of(a), 1);
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_packets, K);
    assert_int_equal(st.tx_packets, K); /* the SYN-ACKs */
    uint8_t in[2048];
    for (unsigned i = 0; i < K; i++) {
        synack_ssize n = recv_wait(b, in, sizeof(in));
        assert_true(n >= 40);
        assert_int_equal(in[33] & 0x12, 0x12); /* SYN and ACK */
    }
    synack_stack_free(sa);
    synack_stack_free(sb);
    synack_link_free(a);
    synack_link_free(b);
}

/* K packets of 100 bytes with seeds from `seed` arrive at `l` in order. */
static void expect_arrivals(struct synack_link *l, unsigned k, unsigned seed)
{
    uint8_t pkt[100], in[2048];
    for (unsigned i = 0; i < k; i++) {
        fill_packet(pkt, sizeof(pkt), seed + i);
        assert_int_equal(recv_wait(l, in, sizeof(in)), (synack_ssize)sizeof(pkt));
        assert_memory_equal(in, pkt, sizeof(pkt));
    }
}

/* The capture and fault wrappers pass batches through: packets queued on a capture around
 * a fault wrapper around the link leave with the flush, in one sendmmsg; packets a fault
 * delay held, released by one poll, leave together in one sendmmsg too. */
static void udp_batch_through_wrappers(void **state)
{
    (void)state;
    enum { K = 5 };
    struct synack_link *a, *b, *c, *d, *f = NULL, *w = NULL;
    open_pair(&a, &b);
    struct synack_fault_params fp;
    synack_fault_params_default(&fp);
    assert_int_equal(synack_fault_wrap(&f, a, &fp, 1), 0);
    char path[] = "/tmp/synack-test-udpbatch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(synack_pcap_wrap(&w, f, path, 0, NULL, 0), 0);
    uint8_t pkt[100];
    for (unsigned i = 0; i < K; i++) {
        fill_packet(pkt, sizeof(pkt), i);
        assert_int_equal(synack_link_queue(w, pkt, sizeof(pkt), 0), 0);
    }
    assert_int_equal(tx_calls_of(a), 0);
    assert_false(is_readable(synack_link_fd(b)));
    synack_link_flush(w, 0);
    assert_int_equal(tx_calls_of(a), 1);
    expect_arrivals(b, K, 0);
    synack_link_free(w);
    synack_link_free(b);
    unlink(path);

    open_pair(&c, &d);
    fp.delay = SYNACK_MS(1);
    assert_int_equal(synack_fault_wrap(&f, c, &fp, 1), 0);
    for (unsigned i = 0; i < K; i++) {
        fill_packet(pkt, sizeof(pkt), 10 + i);
        assert_int_equal(synack_link_send(f, pkt, sizeof(pkt), 0), 0); /* held */
    }
    assert_int_equal(tx_calls_of(c), 0);
    synack_link_poll(f, SYNACK_MS(1));
    assert_int_equal(tx_calls_of(c), 1);
    expect_arrivals(d, K, 10);
    synack_link_free(f);
    synack_link_free(d);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(udp_packets_round_trip_byte_exact),
    cmocka_unit_test(udp_datagram_from_third_socket_dropped),
    cmocka_unit_test(udp_non_ip_datagrams_dropped_and_counted),
    cmocka_unit_test(udp_ipv6_outside_carries_both_families),
    cmocka_unit_test(udp_small_buffer_is_bufsz),
    cmocka_unit_test(udp_address_in_use_says_so),
    cmocka_unit_test(udp_rejects_incomplete_config),
    cmocka_unit_test(udp_mtu_accounts_for_encapsulation),
    cmocka_unit_test(udp_peer_not_yet_started_is_not_fatal),
    cmocka_unit_test(udp_too_big_becomes_frag_needed),
    cmocka_unit_test(udp_too_big_ipv6_inside_becomes_packet_too_big),
    cmocka_unit_test(udp_too_big_over_ipv6_outside),
    cmocka_unit_test(udp_frag_needed_bounded_and_rate_limited),
    cmocka_unit_test(udp_path_mtu_falls_under_open_link),
    cmocka_unit_test(udp_path_mtu6_falls_under_open_link),
    cmocka_unit_test(udp_reports_granted_sockbuf),
    cmocka_unit_test(udp_batch_read_in_one_call),
    cmocka_unit_test(udp_batch_drops_bad_datagrams_mid_batch),
    cmocka_unit_test(udp_batch_queued_leave_in_one_call),
    cmocka_unit_test(udp_batch_full_queue_sends_itself),
    cmocka_unit_test(udp_batch_drain_is_one_call),
    cmocka_unit_test(udp_batch_pump_answers_in_one_call),
    cmocka_unit_test(udp_batch_through_wrappers),
    cmocka_unit_test(udp_offload_sends_trains_and_receives_them_merged),
    cmocka_unit_test(udp_offload_train_stops_at_a_datagrams_worth),
    cmocka_unit_test(udp_offload_drops_a_bad_datagram_inside_a_train),
    cmocka_unit_test(udp_offload_merged_buffer_half_read),
    cmocka_unit_test(udp_no_offload_sends_one_datagram_per_packet),
    cmocka_unit_test(udp_offload_over_ipv6),
};

SYNACK_TEST_MAIN("udp_link", tests)
