/* drivers/udp: IPv4 packets carried in UDP datagrams between two sockets on 127.0.0.1.
 * No privileges needed. Waits on the sockets are bounded (poll with a timeout) and never
 * asserted on. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "synack/link.h"

#define LOCALHOST 0x7f000001u /* 127.0.0.1 */

/* A port the kernel just handed out on 127.0.0.1 and that nobody holds now. */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LOCALHOST)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static struct synack_link *open_udp(uint16_t local, uint16_t peer, unsigned path_mtu_max)
{
    struct synack_udp_config cfg = {.local_ip = LOCALHOST,
                                    .local_port = local,
                                    .peer_ip = LOCALHOST,
                                    .peer_port = peer,
                                    .path_mtu_max = path_mtu_max};
    struct synack_link *l = NULL;
    char err[160] = "";
    int rc = synack_udp_open(&l, &cfg, err, sizeof(err));
    if (rc != 0) fail_msg("synack_udp_open: %d: %s", rc, err);
    return l;
}

/* Two links on 127.0.0.1 pointed at each other. */
static void open_pair(struct synack_link **a, struct synack_link **b)
{
    uint16_t pa = free_port(), pb = free_port();
    while (pb == pa)
        pb = free_port();
    *a = open_udp(pa, pb, 0);
    *b = open_udp(pb, pa, 0);
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

/* Datagrams from the peer that cannot be IPv4 packets (too short, another version) are
 * dropped and counted; the valid one behind them comes out. */
static void udp_non_ipv4_datagrams_dropped_and_counted(void **state)
{
    (void)state;
    struct synack_link *a, *b;
    open_pair(&a, &b);
    uint8_t runt[5] = {0x45, 1, 2, 3, 4};
    uint8_t v6[40];
    fill_packet(v6, sizeof(v6), 2);
    v6[0] = 0x60;
    uint8_t good[48], in[2048];
    fill_packet(good, sizeof(good), 3);
    assert_int_equal(synack_link_send(b, runt, sizeof(runt), 0), 0);
    assert_int_equal(synack_link_send(b, v6, sizeof(v6), 0), 0);
    assert_int_equal(synack_link_send(b, good, sizeof(good), 0), 0);
    assert_int_equal(recv_wait(a, in, sizeof(in)), (synack_ssize)sizeof(good));
    assert_memory_equal(in, good, sizeof(good));
    struct synack_link_stats st;
    synack_link_stats(a, &st);
    assert_int_equal(st.rx_errors, 2);
    assert_int_equal(st.rx_packets, 1);
    synack_link_free(a);
    synack_link_free(b);
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

static void udp_address_in_use_says_so(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    struct synack_link *a = open_udp(pa, pb, 0);
    struct synack_udp_config cfg = {
        .local_ip = LOCALHOST, .local_port = pa, .peer_ip = LOCALHOST, .peer_port = pb};
    struct synack_link dummy = {0};
    struct synack_link *c = &dummy; /* must be reset to NULL */
    char err[160] = "", want[80];
    assert_int_equal(synack_udp_open(&c, &cfg, err, sizeof(err)), SYNACK_ERR_IO);
    assert_null(c);
    snprintf(want, sizeof(want), "address 127.0.0.1:%u is in use", (unsigned)pa);
    assert_string_equal(err, want);
    synack_link_free(a);
}

static void udp_rejects_incomplete_config(void **state)
{
    (void)state;
    struct synack_link *l = NULL;
    char err[160] = "";
    struct synack_udp_config cfg = {.local_port = 0, .peer_ip = LOCALHOST, .peer_port = 9};
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_true(strlen(err) > 0);
    cfg.local_port = free_port();
    cfg.peer_port = 0;
    assert_int_equal(synack_udp_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
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
    assert_true(kernel_mtu > 1500 && kernel_mtu <= 65535); /* loopback */
    assert_int_equal(synack_link_mtu(l), (unsigned)kernel_mtu - 28);
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
    assert_int_equal(st.tx_errors, 1);
    assert_int_equal(st.rx_errors, 0);
    /* Another refused datagram: this time the error surfaces on send, which still sends. */
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(synack_link_send(a, out, sizeof(out), 0), 0);
    synack_link_stats(a, &st);
    assert_int_equal(st.tx_errors, 2);
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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(udp_packets_round_trip_byte_exact),
    cmocka_unit_test(udp_datagram_from_third_socket_dropped),
    cmocka_unit_test(udp_non_ipv4_datagrams_dropped_and_counted),
    cmocka_unit_test(udp_small_buffer_is_bufsz),
    cmocka_unit_test(udp_address_in_use_says_so),
    cmocka_unit_test(udp_rejects_incomplete_config),
    cmocka_unit_test(udp_mtu_accounts_for_encapsulation),
    cmocka_unit_test(udp_peer_not_yet_started_is_not_fatal),
};

SYNACK_TEST_MAIN("udp_link", tests)
