/* drivers/tun: a TUN device with the kernel as the peer. Needs root and /dev/net/tun, and
 * skips without them. Every test runs in a forked child inside a network namespace of its
 * own (unshare(CLONE_NEWNET)), so the host's interfaces are never touched and the device
 * goes with the namespace. The child reports with its exit status; its checks print the
 * failed condition on stderr. Waits for packets are bounded (poll with a timeout). */
#include "harness.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "synack/link.h"

#define IFNAME "synt0"
#define HOST_ADDR 0xc6120001u /* 198.18.0.1: the kernel's side */
#define PEER_ADDR 0xc6120002u /* 198.18.0.2: where the stack would be */
#define TUN_MTU 1400

/* Runs `fn` in a network namespace of its own, where it may create TUN devices. */
static void run_in_netns(int (*fn)(void))
{
    netns_run(fn, NULL, true);
}

static int open_tun(struct synack_link **l, const char *name, uint32_t host, unsigned mtu,
                    char *err, size_t errcap)
{
    struct synack_tun_config cfg = {
        .ifname = name, .host_addr = host, .host_prefix = 24, .mtu = mtu};
    return synack_tun_open(l, &cfg, err, errcap);
}

/* recv, waiting up to about 5 s for an IPv4 packet. */
static synack_ssize recv_wait(struct synack_link *l, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 50; i++) {
        synack_ssize n = synack_link_recv(l, buf, cap, 0);
        if (n != SYNACK_ERR_AGAIN) return n;
        struct pollfd p = {.fd = synack_link_fd(l), .events = POLLIN};
        (void)poll(&p, 1, 100);
    }
    return SYNACK_ERR_AGAIN;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t ifreq_ipv4(const struct ifreq *ifr)
{
    struct sockaddr_in sin;
    memcpy(&sin, &ifr->ifr_addr, sizeof(sin));
    return ntohl(sin.sin_addr.s_addr);
}

/* Turns off IPv6 duplicate address detection for devices made from now on in this
 * namespace, so the device's link-local address is usable as soon as it is up. */
static void ipv6_no_dad(void)
{
    int fd = open("/proc/sys/net/ipv6/conf/default/accept_dad", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t w = write(fd, "0", 1); /* fails with IPv6 off: the IPv6 part is skipped */
    (void)w;
    close(fd);
}

/* Makes the kernel write an IPv6 packet to the device: a datagram to all nodes on it.
 * Returns false when IPv6 is not available here. */
static bool send_ipv6_multicast(const char *ifname)
{
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
    to.sin6_scope_id = if_nametoindex(ifname);
    bool ok = sendto(s, "v6", 2, 0, (struct sockaddr *)&to, sizeof(to)) == 2;
    close(s);
    return ok;
}

/* The kernel's side gets the address, netmask, MTU and IFF_UP; a UDP datagram the kernel
 * sends into the subnet is read from the link as IPv4 bytes (an IPv6 packet before it is
 * dropped and counted); a packet written to the link reaches a kernel socket; closing
 * the link deletes the device. */
static int tun_child_configure_and_carry(void)
{
    ipv6_no_dad();
    struct synack_link *l = NULL;
    char err[200] = "";
    int rc = open_tun(&l, IFNAME, HOST_ADDR, TUN_MTU, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "synack_tun_open: %s\n", err);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(strcmp(l->ops->kind, "tun") == 0);
    CHILD_CHECK(synack_link_mtu(l) == TUN_MTU);

    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHILD_CHECK(s >= 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", IFNAME);
    CHILD_CHECK(ioctl(s, SIOCGIFADDR, &ifr) == 0);
    CHILD_CHECK(ifreq_ipv4(&ifr) == HOST_ADDR);
    CHILD_CHECK(ioctl(s, SIOCGIFNETMASK, &ifr) == 0);
    CHILD_CHECK(ifreq_ipv4(&ifr) == 0xffffff00u);
    CHILD_CHECK(ioctl(s, SIOCGIFMTU, &ifr) == 0);
    CHILD_CHECK(ifr.ifr_mtu == TUN_MTU);
    CHILD_CHECK(ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
    CHILD_CHECK(ifr.ifr_flags & IFF_UP);

    /* Kernel -> link. */
    bool v6 = send_ipv6_multicast(IFNAME);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(9999), .sin_addr.s_addr = htonl(PEER_ADDR)};
    static const char payload[] = "synack tun test";
    CHILD_CHECK(sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) ==
                (ssize_t)sizeof(payload));
    uint8_t buf[65535];
    synack_ssize n = recv_wait(l, buf, sizeof(buf));
    CHILD_CHECK(n == 20 + 8 + (synack_ssize)sizeof(payload));
    CHILD_CHECK(buf[0] == 0x45);
    CHILD_CHECK(buf[9] == 17); /* UDP */
    CHILD_CHECK(get_be32(buf + 12) == HOST_ADDR);
    CHILD_CHECK(get_be32(buf + 16) == PEER_ADDR);
    CHILD_CHECK(buf[22] == 9999 >> 8 && buf[23] == (9999 & 0xff));
    CHILD_CHECK(memcmp(buf + 28, payload, sizeof(payload)) == 0);
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    CHILD_CHECK(st.rx_packets == 1);
    CHILD_CHECK(st.rx_bytes == (uint64_t)n);
    if (v6)
        CHILD_CHECK(st.rx_errors >= 1); /* the IPv6 packet, maybe router solicitations too */
    else
        fprintf(stderr, "note: IPv6 unavailable, the non-IPv4 drop is not exercised\n");

    /* Link -> kernel: 198.18.0.2:7777 -> 198.18.0.1:port, UDP checksum 0 (none). */
    close(s);
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHILD_CHECK(s >= 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(HOST_ADDR)};
    CHILD_CHECK(bind(s, (struct sockaddr *)&me, sizeof(me)) == 0);
    socklen_t melen = sizeof(me);
    CHILD_CHECK(getsockname(s, (struct sockaddr *)&me, &melen) == 0);
    uint8_t pkt[28 + 5] = {0x45, 0, 0,   sizeof(pkt), 0, 1, 0x40, 0,  64, 17,
                           0,    0, 198, 18,          0, 2, 198,  18, 0,  1};
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)pkt[i] << 8 | pkt[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    pkt[10] = (uint8_t)(~sum >> 8);
    pkt[11] = (uint8_t)~sum;
    uint16_t dport = ntohs(me.sin_port);
    uint8_t udp[8] = {7777 >> 8, 7777 & 0xff, (uint8_t)(dport >> 8), (uint8_t)dport, 0, 13, 0, 0};
    memcpy(pkt + 20, udp, sizeof(udp));
    memcpy(pkt + 28, "hello", 5);
    CHILD_CHECK(synack_link_send(l, pkt, sizeof(pkt), 0) == 0);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHILD_CHECK(poll(&p, 1, 5000) == 1);
    char got[16];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof(from);
    CHILD_CHECK(recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)&from, &fromlen) == 5);
    CHILD_CHECK(memcmp(got, "hello", 5) == 0);
    CHILD_CHECK(ntohl(from.sin_addr.s_addr) == PEER_ADDR && ntohs(from.sin_port) == 7777);
    synack_link_stats(l, &st);
    CHILD_CHECK(st.tx_packets == 1 && st.tx_bytes == sizeof(pkt));

    close(s);
    synack_link_free(l);
    CHILD_CHECK(if_nametoindex(IFNAME) == 0); /* not persistent: gone with the descriptor */
    return 0;
}

static void tun_configures_kernel_side_and_carries_ipv4(void **state)
{
    (void)state;
    run_in_netns(tun_child_configure_and_carry);
}

/* A caller's buffer too small for the packet: BUFSZ, counted, and the next packet is
 * whole. */
static int tun_child_small_buffer(void)
{
    struct synack_link *l = NULL;
    char err[200] = "";
    CHILD_CHECK(open_tun(&l, IFNAME, HOST_ADDR, 0, err, sizeof(err)) == 0);
    CHILD_CHECK(synack_link_mtu(l) == 1500); /* a new device's MTU, left as it is */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHILD_CHECK(s >= 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(9999), .sin_addr.s_addr = htonl(PEER_ADDR)};
    uint8_t big[1000] = {0}, buf[2048];
    CHILD_CHECK(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(big));
    CHILD_CHECK(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
    CHILD_CHECK(recv_wait(l, buf, 200) == SYNACK_ERR_BUFSZ);
    CHILD_CHECK(recv_wait(l, buf, 200) == 20 + 8 + 1);
    CHILD_CHECK(buf[28] == 'x');
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    CHILD_CHECK(st.rx_packets == 1);
    CHILD_CHECK(st.rx_errors >= 1);
    close(s);
    synack_link_free(l);
    return 0;
}

static void tun_small_buffer_is_bufsz(void **state)
{
    (void)state;
    run_in_netns(tun_child_small_buffer);
}

/* The address of `ifname`'s kernel side, or 0. */
static uint32_t if_addr(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    uint32_t a = ioctl(s, SIOCGIFADDR, &ifr) == 0 ? ifreq_ipv4(&ifr) : 0;
    close(s);
    return a;
}

/* A "%d" in the name lets the kernel number the device: the name it chose is the one
 * configured and the one synack_tun_name reports; a second device gets the next number. */
static int tun_child_numbered_name(void)
{
    struct synack_link *a = NULL, *b = NULL;
    char err[200] = "";
    int rc = open_tun(&a, "synt%d", HOST_ADDR, TUN_MTU, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "synack_tun_open: %s\n", err);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(synack_tun_name(a) != NULL && strcmp(synack_tun_name(a), "synt0") == 0);
    CHILD_CHECK(if_addr("synt0") == HOST_ADDR);
    CHILD_CHECK(synack_link_mtu(a) == TUN_MTU);
    rc = open_tun(&b, "synt%d", 0xc6120101u /* 198.18.1.1 */, 0, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "synack_tun_open: %s\n", err);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(strcmp(synack_tun_name(b), "synt1") == 0);
    CHILD_CHECK(if_addr("synt1") == 0xc6120101u);
    CHILD_CHECK(synack_tun_name(NULL) == NULL);
    /* Not a TUN link itself: a wrapper around one. */
    struct synack_fault_params p;
    synack_fault_params_default(&p);
    struct synack_link *w = NULL;
    CHILD_CHECK(synack_fault_wrap(&w, b, &p, 1) == 0);
    CHILD_CHECK(synack_tun_name(w) == NULL);
    synack_link_free(w);
    synack_link_free(a);
    CHILD_CHECK(if_nametoindex("synt0") == 0 && if_nametoindex("synt1") == 0);
    return 0;
}

static void tun_numbered_name_is_configured_and_reported(void **state)
{
    (void)state;
    run_in_netns(tun_child_numbered_name);
}

/* The sentences a person gets: a device in use, no permission, a bad name. */
static int tun_child_errors(void)
{
    struct synack_link *a = NULL, *b = NULL;
    char err[200] = "";
    CHILD_CHECK(open_tun(&a, IFNAME, HOST_ADDR, 0, err, sizeof(err)) == 0);
    CHILD_CHECK(open_tun(&b, IFNAME, 0, 0, err, sizeof(err)) == SYNACK_ERR_IO);
    CHILD_CHECK(b == NULL);
    CHILD_CHECK(strcmp(err, "device " IFNAME " is in use by another process") == 0);
    CHILD_CHECK(open_tun(&b, "a-name-far-too-long", 0, 0, err, sizeof(err)) == SYNACK_ERR_INVAL);
    CHILD_CHECK(open_tun(&b, "lo", 0, 0, err, sizeof(err)) == SYNACK_ERR_IO);
    CHILD_CHECK(strstr(err, "device lo exists but is not a TUN device") == err);
    synack_link_free(a);
    /* Without root (and so without CAP_NET_ADMIN). */
    CHILD_CHECK(setgroups(0, NULL) == 0);
    CHILD_CHECK(setgid(65534) == 0);
    CHILD_CHECK(setuid(65534) == 0);
    CHILD_CHECK(open_tun(&b, "synt1", HOST_ADDR, 0, err, sizeof(err)) == SYNACK_ERR_IO);
    CHILD_CHECK(strcmp(err, "no permission to open /dev/net/tun: run as root or give the program "
                            "CAP_NET_ADMIN") == 0);
    return 0;
}

static void tun_errors_say_what_to_do(void **state)
{
    (void)state;
    run_in_netns(tun_child_errors);
}

static void tun_rejects_bad_config(void **state)
{
    (void)state;
    struct synack_link *l = NULL;
    char err[200] = "";
    struct synack_tun_config cfg = {.ifname = NULL};
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    cfg.ifname = "";
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    cfg.ifname = "sixteen-chars-xx";
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    cfg.ifname = IFNAME;
    cfg.host_addr = HOST_ADDR;
    cfg.host_prefix = 33;
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    cfg.host_prefix = 24;
    cfg.mtu = 67;
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_true(strlen(err) > 0);
    assert_null(l);
    assert_int_equal(synack_tun_open(NULL, &cfg, NULL, 0), SYNACK_ERR_INVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tun_configures_kernel_side_and_carries_ipv4),
    cmocka_unit_test(tun_small_buffer_is_bufsz),
    cmocka_unit_test(tun_numbered_name_is_configured_and_reported),
    cmocka_unit_test(tun_errors_say_what_to_do),
    cmocka_unit_test(tun_rejects_bad_config),
};

SYNACK_TEST_MAIN("tun_link", tests)
