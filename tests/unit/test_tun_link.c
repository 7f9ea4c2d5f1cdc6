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
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "synack/link.h"
#include "wire/wire.h"

#define IFNAME "synt0"
#define HOST_ADDR 0xc6120001u /* 198.18.0.1: the kernel's side */
#define PEER_ADDR 0xc6120002u /* 198.18.0.2: where the stack would be */
#define TUN_MTU 1400
/* 2001:db8::1, the kernel's side, and 2001:db8::2, where the stack would be. */
static const uint8_t HOST_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t PEER_ADDR6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* Runs `fn` in a network namespace of its own, where it may create TUN devices. */
static void run_in_netns(int (*fn)(void))
{
    netns_run(fn, NULL, true);
}

/* Opens `name` with the kernel's side at `host`/24 (0: attach only). */
static int open_tun(struct synack_link **l, const char *name, uint32_t host, unsigned mtu,
                    char *err, size_t errcap)
{
    struct synack_tun_config cfg = {.ifname = name, .mtu = mtu};
    if (host) cfg.host_addrs[0] = (struct synack_ifaddr){synack_addr_v4(host), 24};
    return synack_tun_open(l, &cfg, err, errcap);
}

/* recv, waiting up to about 5 s for a packet. */
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

/* recv_wait, passing over the IPv6 packets the kernel sends on its own when the device comes
 * up (router solicitations, MLD reports), counted in *v6. */
static synack_ssize recv_wait_ipv4(struct synack_link *l, uint8_t *buf, size_t cap, uint64_t *v6)
{
    for (int i = 0; i < 50; i++) {
        synack_ssize n = recv_wait(l, buf, cap);
        if (n <= 0 || (buf[0] >> 4) != 6) return n;
        ++*v6;
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

/* Writes `pkt` (a UDP datagram with the payload "hello") to the link and waits (5 s) for
 * the kernel to deliver it to socket `s`; the sender's address goes to `from` (`fromcap`
 * bytes). 0, or 1 with the failed check printed. */
static int link_delivers_hello(struct synack_link *l, int s, const uint8_t *pkt, size_t len,
                               void *from, socklen_t fromcap)
{
    CHILD_CHECK(synack_link_send(l, pkt, len, 0) == 0);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHILD_CHECK(poll(&p, 1, 5000) == 1);
    char got[16];
    CHILD_CHECK(recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)from, &fromcap) == 5);
    CHILD_CHECK(memcmp(got, "hello", 5) == 0);
    return 0;
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
 * handed out as well, not dropped); a packet written to the link reaches a kernel socket;
 * closing the link deletes the device. */
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

    /* Kernel -> link: an IPv6 datagram to all nodes first, then the IPv4 one. */
    bool v6 = send_ipv6_multicast(IFNAME);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(9999), .sin_addr.s_addr = htonl(PEER_ADDR)};
    static const char payload[] = "synack tun test";
    CHILD_CHECK(sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) ==
                (ssize_t)sizeof(payload));
    uint8_t buf[65535];
    /* IPv6 packets come out too, for the stack to judge: ours to ff02::1 and what the
     * kernel sends on its own (router solicitations, MLD reports). */
    uint64_t v6_packets = 0;
    synack_ssize n = recv_wait_ipv4(l, buf, sizeof(buf), &v6_packets);
    CHILD_CHECK(n == 20 + 8 + (synack_ssize)sizeof(payload));
    CHILD_CHECK(buf[0] == 0x45);
    CHILD_CHECK(buf[9] == 17); /* UDP */
    CHILD_CHECK(get_be32(buf + 12) == HOST_ADDR);
    CHILD_CHECK(get_be32(buf + 16) == PEER_ADDR);
    CHILD_CHECK(buf[22] == 9999 >> 8 && buf[23] == (9999 & 0xff));
    CHILD_CHECK(memcmp(buf + 28, payload, sizeof(payload)) == 0);
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    CHILD_CHECK(st.rx_packets == 1 + v6_packets);
    CHILD_CHECK(st.rx_errors == 0);
    if (v6)
        CHILD_CHECK(v6_packets >= 1);
    else
        fprintf(stderr, "note: IPv6 unavailable, IPv6 packets from the kernel not exercised\n");

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
    struct sockaddr_in from;
    CHILD_CHECK(link_delivers_hello(l, s, pkt, sizeof(pkt), &from, sizeof(from)) == 0);
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

/* The line of /proc/net/if_inet6 for `addr` (address, ifindex, prefix length, scope and
 * flags in hex, device name): its prefix length and flags, or false when absent. */
static bool if_inet6_entry(const uint8_t addr[16], unsigned *prefix, unsigned *flags)
{
    char want[33], line[256], hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02x", addr[i]);
    FILE *f = fopen("/proc/net/if_inet6", "r");
    if (!f) return false;
    bool found = false;
    unsigned idx, scope;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "%32s %x %x %x %x", hex, &idx, prefix, &scope, flags) == 5 &&
                strcmp(hex, want) == 0;
    fclose(f);
    return found;
}

/* The first byte of /proc/sys/net/ipv6/conf/IFNAME/`name`. */
static char ipv6_conf(const char *name)
{
    char path[96], c = 0;
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/" IFNAME "/%s", name);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (fread(&c, 1, 1, f) != 1) c = 0;
    fclose(f);
    return c;
}

/* recv until an IPv6 UDP packet to `dst` comes (others, such as the kernel's router
 * solicitations and MLD reports to multicast addresses, are passed over). Its length. */
static synack_ssize recv_ipv6_udp_to(struct synack_link *l, uint8_t *buf, size_t cap,
                                     const uint8_t dst[16])
{
    for (int i = 0; i < 50; i++) {
        synack_ssize n = recv_wait(l, buf, cap);
        if (n <= 0) return n;
        if (n >= 48 && (buf[0] >> 4) == 6 && buf[6] == 17 && memcmp(buf + 24, dst, 16) == 0)
            return n;
    }
    return SYNACK_ERR_AGAIN;
}

/* The kernel's side gets an IPv4 and an IPv6 address: the IPv6 one at once usable (never
 * tentative: IFA_F_NODAD, RFC 4862 §5.4) with IPv6 on for the device. A UDP datagram the
 * kernel sends to 2001:db8::2 is read from the link as an IPv6 packet (RFC 8200 §3); an
 * IPv6 UDP packet written to the link (checksum over the IPv6 pseudo-header, RFC 8200 §8.1)
 * reaches a kernel socket; IPv4 still works on the same device. */
static int tun_child_ipv6(void)
{
    if (access("/proc/sys/net/ipv6", F_OK) != 0) {
        fprintf(stderr, "note: IPv6 unavailable here: skipped\n");
        return NETNS_SKIP_STATUS;
    }
    struct synack_tun_config cfg = {.ifname = IFNAME, .mtu = TUN_MTU};
    cfg.host_addrs[0] = (struct synack_ifaddr){synack_addr_v4(HOST_ADDR), 24};
    cfg.host_addrs[1] = (struct synack_ifaddr){synack_addr_v6(HOST_ADDR6), 64};
    struct synack_link *l = NULL;
    char err[200] = "";
    int rc = synack_tun_open(&l, &cfg, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "synack_tun_open: %s\n", err);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(synack_link_mtu(l) == TUN_MTU);
    unsigned prefix = 0, flags = 0;
    CHILD_CHECK(if_inet6_entry(HOST_ADDR6, &prefix, &flags));
    CHILD_CHECK(prefix == 64);
    CHILD_CHECK(flags & 0x02);        /* IFA_F_NODAD */
    CHILD_CHECK((flags & 0x40) == 0); /* IFA_F_TENTATIVE: DAD would hold it */
    CHILD_CHECK(ipv6_conf("disable_ipv6") == '0');
    CHILD_CHECK(if_addr(IFNAME) == HOST_ADDR);

    /* Kernel -> link. */
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHILD_CHECK(s >= 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9999)};
    memcpy(&to.sin6_addr, PEER_ADDR6, 16);
    static const char payload[] = "synack tun ipv6";
    CHILD_CHECK(sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) ==
                (ssize_t)sizeof(payload));
    uint8_t buf[65535];
    synack_ssize n = recv_ipv6_udp_to(l, buf, sizeof(buf), PEER_ADDR6);
    CHILD_CHECK(n == 40 + 8 + (synack_ssize)sizeof(payload));
    CHILD_CHECK(memcmp(buf + 8, HOST_ADDR6, 16) == 0);
    CHILD_CHECK(buf[42] == 9999 >> 8 && buf[43] == (9999 & 0xff));
    CHILD_CHECK(memcmp(buf + 48, payload, sizeof(payload)) == 0);
    close(s);

    /* Link -> kernel: [2001:db8::2]:7777 -> [2001:db8::1]:port. */
    s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHILD_CHECK(s >= 0);
    struct sockaddr_in6 me = {.sin6_family = AF_INET6};
    memcpy(&me.sin6_addr, HOST_ADDR6, 16);
    CHILD_CHECK(bind(s, (struct sockaddr *)&me, sizeof(me)) == 0);
    socklen_t melen = sizeof(me);
    CHILD_CHECK(getsockname(s, (struct sockaddr *)&me, &melen) == 0);
    struct wire_ip_repr ip = {.src = synack_addr_v6(PEER_ADDR6),
                              .dst = synack_addr_v6(HOST_ADDR6),
                              .proto = WIRE_IP_PROTO_UDP,
                              .ttl = 64};
    struct wire_udp_repr udp = {.src_port = 7777,
                                .dst_port = ntohs(me.sin6_port),
                                .payload = (const uint8_t *)"hello",
                                .payload_len = 5};
    uint8_t pkt[40 + 8 + 5];
    ip.payload_len = (uint16_t)wire_udp_emit(&udp, &ip.src, &ip.dst, pkt + 40, sizeof(pkt) - 40);
    CHILD_CHECK(ip.payload_len == 13);
    CHILD_CHECK(wire_ip_emit(&ip, pkt, sizeof(pkt)) == 40);
    struct sockaddr_in6 from;
    CHILD_CHECK(link_delivers_hello(l, s, pkt, sizeof(pkt), &from, sizeof(from)) == 0);
    CHILD_CHECK(memcmp(&from.sin6_addr, PEER_ADDR6, 16) == 0 && ntohs(from.sin6_port) == 7777);
    close(s);
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    CHILD_CHECK(st.rx_errors == 0 && st.tx_errors == 0 && st.tx_packets == 1);
    synack_link_free(l);
    CHILD_CHECK(if_nametoindex(IFNAME) == 0);
    return 0;
}

static void tun_configures_ipv6_and_carries_it(void **state)
{
    (void)state;
    run_in_netns(tun_child_ipv6);
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
    uint64_t v6 = 0;
    CHILD_CHECK(recv_wait_ipv4(l, buf, 200, &v6) == SYNACK_ERR_BUFSZ);
    CHILD_CHECK(recv_wait_ipv4(l, buf, 200, &v6) == 20 + 8 + 1);
    CHILD_CHECK(buf[28] == 'x');
    struct synack_link_stats st;
    synack_link_stats(l, &st);
    CHILD_CHECK(st.rx_packets == 1 + v6);
    CHILD_CHECK(st.rx_errors == 1);
    close(s);
    synack_link_free(l);
    return 0;
}

static void tun_small_buffer_is_bufsz(void **state)
{
    (void)state;
    run_in_netns(tun_child_small_buffer);
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
    cfg.host_addrs[0] = (struct synack_ifaddr){synack_addr_v4(HOST_ADDR), 33};
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_string_equal(err, "prefix length 33 is not between 1 and 32");
    cfg.host_addrs[0].prefix = 24;
    cfg.host_addrs[1] = (struct synack_ifaddr){synack_addr_v6(HOST_ADDR6), 129};
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_string_equal(err, "prefix length 129 is not between 1 and 128");
    cfg.host_addrs[1] = (struct synack_ifaddr){synack_addr_v4(PEER_ADDR), 24};
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_true(strstr(err, "one IPv4 address") != NULL);
    /* RFC 8200 §5: a link that carries IPv6 has an MTU of 1280 at least. */
    cfg.host_addrs[1] = (struct synack_ifaddr){synack_addr_v6(HOST_ADDR6), 64};
    cfg.mtu = 1279;
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_string_equal(err, "MTU 1279 is below the 1280 bytes IPv6 needs (RFC 8200 §5)");
    cfg.mtu = 67;
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_true(strlen(err) > 0);
    cfg.mtu = 1500;
    cfg.offload = 3;
    assert_int_equal(synack_tun_open(&l, &cfg, err, sizeof(err)), SYNACK_ERR_INVAL);
    assert_string_equal(err, "offload 3 is not SYNACK_TUN_OFFLOAD_AUTO, _OFF or _REQUIRE");
    assert_null(l);
    assert_int_equal(synack_tun_open(NULL, &cfg, NULL, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tun_offloads(NULL), 0);
}

/* ---- offloads: the kernel's TCP sending to the stack over a TUN with a virtio-net header */

#define OFF_PORT 5001
#define OFF_BYTES (8u << 20)
#define OFF_IFNAME "synto0"

/* Byte `k` of the transfer: a pattern that a lost, doubled or misplaced segment breaks. */
static uint8_t off_pattern(uint64_t k)
{
    return (uint8_t)(k ^ (k >> 8) ^ (k >> 16));
}

static synack_time_t off_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000u + (synack_time_t)ts.tv_nsec;
}

/* The longest packet handed to the stack (its trace hook sees every input). */
static void off_trace(void *ctx, char dir, const uint8_t *pkt, size_t len, enum synack_drop drop,
                      synack_time_t now)
{
    (void)pkt, (void)drop, (void)now;
    size_t *longest = ctx;
    if (dir == 'i' && len > *longest) *longest = len;
}

/* The kernel's side of one transfer: writes what the socket takes of OFF_BYTES; shuts its
 * side down when all is written. */
static void off_kernel_send(int s, uint64_t *sent)
{
    uint8_t chunk[16384];
    while (*sent < OFF_BYTES) {
        size_t n = OFF_BYTES - *sent < sizeof chunk ? (size_t)(OFF_BYTES - *sent) : sizeof chunk;
        for (size_t k = 0; k < n; k++)
            chunk[k] = off_pattern(*sent + k);
        ssize_t w = send(s, chunk, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        *sent += (uint64_t)w;
    }
    shutdown(s, SHUT_WR);
}

/* Reads what the connection holds, checking each byte. 0, or 1 on a wrong byte. */
static int off_stack_recv(struct synack_tcp *c, uint64_t *got, synack_time_t now)
{
    uint8_t buf[16384];
    for (;;) {
        synack_ssize n = synack_tcp_recv(c, buf, sizeof buf, now);
        if (n <= 0) return 0;
        for (synack_ssize k = 0; k < n; k++)
            CHILD_CHECK(buf[k] == off_pattern(*got + (uint64_t)k));
        *got += (uint64_t)n;
    }
}

/* The kernel's connection to the stack at `a`, port OFF_PORT, started (non-blocking). */
static int off_kernel_connect(const struct synack_addr *a)
{
    bool v6 = a->family == SYNACK_AF_INET6;
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(OFF_PORT), .sin_addr.s_addr = htonl(PEER_ADDR)};
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = htons(OFF_PORT)};
    memcpy(&to6.sin6_addr, PEER_ADDR6, 16);
    int rc = v6 ? connect(s, (struct sockaddr *)&to6, sizeof to6)
                : connect(s, (struct sockaddr *)&to, sizeof to);
    if (rc != 0 && errno != EINPROGRESS) {
        close(s);
        return -1;
    }
    return s;
}

/* A TUN opened with `offload` (in a fault wrapper that does nothing when `wrap`: a link that
 * knows nothing of offloads), a stack on it listening on OFF_PORT (with a send buffer of
 * `sndbuf` bytes, 0 for the default), and the kernel's connection to it, started. */
struct off_path {
    struct synack_link *link;
    struct synack_stack *stack;
    struct synack_listener *lis;
    int s;
    unsigned offloads; /* what the kernel took for the TUN */
};

static int off_path_open(struct off_path *p, int offload, bool wrap, bool v6, size_t sndbuf)
{
    char err[256];
    struct synack_tun_config tcfg = {.ifname = OFF_IFNAME, .offload = offload};
    tcfg.host_addrs[0] = v6 ? (struct synack_ifaddr){synack_addr_v6(HOST_ADDR6), 64}
                            : (struct synack_ifaddr){synack_addr_v4(HOST_ADDR), 24};
    CHILD_CHECK(synack_tun_open(&p->link, &tcfg, err, sizeof err) == 0);
    p->offloads = synack_tun_offloads(p->link);
    if (wrap) {
        struct synack_fault_params fp;
        synack_fault_params_default(&fp);
        CHILD_CHECK(synack_fault_wrap(&p->link, p->link, &fp, 1) == 0);
    }
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = v6 ? synack_addr_v6(PEER_ADDR6) : synack_addr_v4(PEER_ADDR);
    CHILD_CHECK(synack_config_add_addr(&cfg, &a) == 0);
    cfg.mtu = (uint16_t)synack_link_mtu(p->link);
    if (sndbuf) cfg.sndbuf = sndbuf;
    CHILD_CHECK(synack_stack_new(&p->stack, &cfg) == 0);
    struct synack_endpoint ep = {.addr = a, .port = OFF_PORT};
    CHILD_CHECK(synack_tcp_listen(p->stack, &ep, 4, NULL, &p->lis) == 0);
    p->s = off_kernel_connect(&a);
    CHILD_CHECK(p->s >= 0);
    return 0;
}

/* The kernel connects to the stack over a path of off_path_open, over IPv6 when `v6`, and
 * sends OFF_BYTES; the stack receives them byte-exact within 30 s. Fills the link's counters
 * and the longest packet the stack was handed. 0, or 1 with the failed check printed. */
static int off_transfer(int offload, bool wrap, bool v6, struct synack_link_stats *st,
                        size_t *longest, unsigned *offloads)
{
    struct off_path path;
    if (off_path_open(&path, offload, wrap, v6, 0) != 0) return 1;
    struct synack_link *l = path.link;
    struct synack_stack *stack = path.stack;
    struct synack_listener *lis = path.lis;
    int s = path.s;
    *offloads = path.offloads;
    *longest = 0;
    synack_stack_set_trace(stack, off_trace, longest);
    static uint8_t buf[65536];
    struct synack_tcp *c = NULL;
    uint64_t sent = 0, got = 0;
    synack_time_t end = off_now() + SYNACK_S(30);
    while (got < OFF_BYTES && off_now() < end) {
        synack_time_t now = off_now();
        synack_link_pump(l, stack, buf, sizeof buf, now);
        if (c == NULL) (void)synack_tcp_accept(lis, &c);
        if (c != NULL && off_stack_recv(c, &got, now) != 0) return 1;
        synack_link_drain(l, stack, buf, sizeof buf, now);
        off_kernel_send(s, &sent);
        struct pollfd p[2] = {{.fd = synack_link_fd(l), .events = POLLIN},
                              {.fd = s, .events = sent < OFF_BYTES ? POLLOUT : 0}};
        (void)poll(p, 2, 1);
    }
    CHILD_CHECK(got == OFF_BYTES);
    synack_link_stats(l, st);
    struct synack_counters cnt;
    synack_stack_counters(stack, &cnt);
    CHILD_CHECK(cnt.drops[SYNACK_DROP_TCP_CHECKSUM] == 0);
    close(s);
    synack_stack_free(stack);
    synack_link_free(l);
    return 0;
}

static int tun_child_offload_receive(void)
{
    struct synack_link_stats st;
    size_t longest;
    unsigned offloads;
    if (off_transfer(SYNACK_TUN_OFFLOAD_AUTO, false, false, &st, &longest, &offloads) != 0)
        return 1;
    fprintf(stderr, "offloads 0x%x: %llu packets, %llu merged, %llu vouched, longest %zu\n",
            offloads, (unsigned long long)st.rx_packets, (unsigned long long)st.rx_gso_packets,
            (unsigned long long)st.rx_csum_vouched, longest);
    CHILD_CHECK(offloads & SYNACK_TUN_OFFLOADED_VNET_HDR);
    CHILD_CHECK(offloads & SYNACK_TUN_OFFLOADED_TSO4);
    /* The kernel's segments came merged, longer than the device's MTU (1500)... */
    CHILD_CHECK(st.rx_gso_packets > 0);
    CHILD_CHECK(longest > 1500);
    /* ... their checksums vouched for and not computed, and no header was refused. */
    CHILD_CHECK(st.rx_csum_vouched > 0);
    CHILD_CHECK(st.rx_offload_bad == 0);
    return 0;
}

/* Offload on (the default, the kernel here takes it): the kernel hands the stack segments of
 * up to 64 KiB and the bytes arrive exact. */
static void tun_offload_receives_merged_segments(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_receive);
}

static int tun_child_offload_off(void)
{
    struct synack_link_stats st;
    size_t longest;
    unsigned offloads;
    if (off_transfer(SYNACK_TUN_OFFLOAD_OFF, false, false, &st, &longest, &offloads) != 0) return 1;
    CHILD_CHECK(offloads == 0);
    CHILD_CHECK(st.rx_gso_packets == 0 && st.rx_csum_vouched == 0);
    CHILD_CHECK(longest <= 1500);
    return 0;
}

/* Offload off: plain packets of at most the MTU, every checksum computed, the same bytes. */
static void tun_offload_off_reads_plain_packets(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_off);
}

static int tun_child_offload_wrapped(void)
{
    struct synack_link_stats st;
    size_t longest;
    unsigned offloads;
    if (off_transfer(SYNACK_TUN_OFFLOAD_AUTO, true, false, &st, &longest, &offloads) != 0) return 1;
    CHILD_CHECK(offloads & SYNACK_TUN_OFFLOADED_CSUM);
    CHILD_CHECK(longest > 1500);
    return 0;
}

/* Offload on behind a wrapper that reads with plain recv: the TUN link finishes the partial
 * checksums itself, so the stack, verifying them, drops none (off_transfer checks). */
static void tun_offload_behind_a_wrapper_finishes_checksums(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_wrapped);
}

static int tun_child_offload_ipv6(void)
{
    ipv6_no_dad();
    struct synack_link_stats st;
    size_t longest;
    unsigned offloads;
    if (off_transfer(SYNACK_TUN_OFFLOAD_AUTO, false, true, &st, &longest, &offloads) != 0) return 1;
    CHILD_CHECK(offloads & SYNACK_TUN_OFFLOADED_TSO6);
    CHILD_CHECK(st.rx_gso_packets > 0 && st.rx_csum_vouched > 0 && st.rx_offload_bad == 0);
    CHILD_CHECK(longest > 1500);
    return 0;
}

/* The same over IPv6 (TUN_F_TSO6, VIRTIO_NET_HDR_GSO_TCPV6; the sum starts 40 bytes in). */
static void tun_offload_receives_merged_ipv6_segments(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_ipv6);
}

/* ---- offloads out: the stack sending to the kernel's TCP ---- */

/* The longest packet each way (the trace hook sees every input and output). */
struct off_longest {
    size_t in, out;
};

static void off_trace_both(void *ctx, char dir, const uint8_t *pkt, size_t len,
                           enum synack_drop drop, synack_time_t now)
{
    (void)pkt, (void)drop, (void)now;
    struct off_longest *l = ctx;
    size_t *m = dir == 'o' ? &l->out : &l->in;
    if (len > *m) *m = len;
}

/* Reads what the kernel's socket holds, checking each byte. 0, or 1 on a wrong byte. */
static int off_kernel_recv(int s, uint64_t *got)
{
    uint8_t chunk[65536];
    for (;;) {
        ssize_t n = recv(s, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n <= 0) return 0;
        for (ssize_t k = 0; k < n; k++)
            CHILD_CHECK(chunk[k] == off_pattern(*got + (uint64_t)k));
        *got += (uint64_t)n;
    }
}

/* Writes what the connection takes of OFF_BYTES. */
static void off_stack_send(struct synack_tcp *c, uint64_t *sent, synack_time_t now)
{
    uint8_t chunk[16384];
    while (*sent < OFF_BYTES) {
        size_t n = OFF_BYTES - *sent < sizeof chunk ? (size_t)(OFF_BYTES - *sent) : sizeof chunk;
        for (size_t k = 0; k < n; k++)
            chunk[k] = off_pattern(*sent + k);
        synack_ssize w = synack_tcp_send(c, chunk, n, now);
        if (w <= 0) return;
        *sent += (uint64_t)w;
    }
}

/* The kernel connects to the stack over a path of off_path_open (a wrapper takes no
 * transmit offload), over IPv6 when `v6`; the stack sends OFF_BYTES, which the kernel receives
 * byte-exact within 30 s (a wrong partial checksum or a wrongly cut segment would be dropped or
 * break the pattern). Fills the link's counters and the longest packets. 0, or 1 with the failed
 * check printed. */
static int off_send_transfer(int offload, bool wrap, bool v6, struct synack_link_stats *st,
                             struct off_longest *longest)
{
    struct off_path path;
    if (off_path_open(&path, offload, wrap, v6, 1u << 20) != 0) return 1;
    struct synack_link *l = path.link;
    struct synack_stack *stack = path.stack;
    struct synack_listener *lis = path.lis;
    int s = path.s;
    if (wrap) CHILD_CHECK(synack_link_tx_offloads(l) == 0);
    *longest = (struct off_longest){0};
    synack_stack_set_trace(stack, off_trace_both, longest);
    static uint8_t buf[65536];
    struct synack_tcp *c = NULL;
    uint64_t sent = 0, got = 0;
    synack_time_t end = off_now() + SYNACK_S(30);
    while (got < OFF_BYTES && off_now() < end) {
        synack_time_t now = off_now();
        synack_link_pump(l, stack, buf, sizeof buf, now);
        if (c == NULL) (void)synack_tcp_accept(lis, &c);
        if (c != NULL) off_stack_send(c, &sent, now);
        synack_link_drain(l, stack, buf, sizeof buf, now);
        if (off_kernel_recv(s, &got) != 0) return 1;
        struct pollfd p[2] = {{.fd = synack_link_fd(l), .events = POLLIN},
                              {.fd = s, .events = POLLIN}};
        synack_time_t next = synack_stack_next_deadline(stack);
        (void)poll(p, 2, next <= off_now() ? 0 : 1);
    }
    CHILD_CHECK(got == OFF_BYTES);
    synack_link_stats(l, st);
    close(s);
    synack_stack_free(stack);
    synack_link_free(l);
    return 0;
}

static int tun_child_offload_send(bool v6)
{
    if (v6) ipv6_no_dad();
    struct synack_link_stats st;
    struct off_longest longest;
    if (off_send_transfer(SYNACK_TUN_OFFLOAD_AUTO, false, v6, &st, &longest) != 0) return 1;
    fprintf(stderr, "sent %llu packets, %llu for the kernel to cut, %llu partial, longest %zu\n",
            (unsigned long long)st.tx_packets, (unsigned long long)st.tx_gso_packets,
            (unsigned long long)st.tx_csum_partial, longest.out);
    /* Segments longer than the MTU went, for the kernel to cut and checksum... */
    CHILD_CHECK(st.tx_gso_packets > 0);
    CHILD_CHECK(st.tx_csum_partial > 0);
    CHILD_CHECK(longest.out > 1500);
    /* ... and none was refused. */
    CHILD_CHECK(st.tx_errors == 0);
    return 0;
}

static int tun_child_offload_send_v4(void)
{
    return tun_child_offload_send(false);
}

static int tun_child_offload_send_v6(void)
{
    return tun_child_offload_send(true);
}

/* Offload on: the stack leaves checksums and the cutting of segments of up to 64 KiB to the
 * kernel (TSO out), and the kernel receives the bytes exact. */
static void tun_offload_sends_segments_for_the_kernel_to_cut(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_send_v4);
}

/* The same over IPv6 (VIRTIO_NET_HDR_GSO_TCPV6). */
static void tun_offload_sends_ipv6_segments_for_the_kernel_to_cut(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_send_v6);
}

static int tun_child_offload_send_wrapped(void)
{
    struct synack_link_stats st;
    struct off_longest longest;
    if (off_send_transfer(SYNACK_TUN_OFFLOAD_AUTO, true, false, &st, &longest) != 0) return 1;
    CHILD_CHECK(longest.out <= 1500);
    return 0;
}

/* Behind a wrapper that takes no transmit offload the stack sends whole packets of at most
 * the MTU, with their checksums, and the bytes arrive all the same. */
static void tun_offload_behind_a_wrapper_sends_whole_packets(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_send_wrapped);
}

static int tun_child_offload_send_off(void)
{
    struct synack_link_stats st;
    struct off_longest longest;
    if (off_send_transfer(SYNACK_TUN_OFFLOAD_OFF, false, false, &st, &longest) != 0) return 1;
    CHILD_CHECK(st.tx_gso_packets == 0 && st.tx_csum_partial == 0);
    CHILD_CHECK(longest.out <= 1500);
    return 0;
}

/* Offload off: whole packets out too. */
static void tun_offload_off_sends_whole_packets(void **state)
{
    (void)state;
    run_in_netns(tun_child_offload_send_off);
}

/* ---- offloads and UDP: the kernel's datagrams in, the stack's out ---- */

#define UDPX_COUNT 32

/* Datagram `i` of an exchange: its length (odd and even, up to 1,000 bytes), and byte `k`. */
static size_t udpx_len(unsigned i)
{
    return 1 + (size_t)i * 31;
}

static uint8_t udpx_byte(unsigned i, size_t k)
{
    return (uint8_t)(i * 7 + k * 3);
}

/* The kernel's UDP socket at its side of the device, non-blocking; -1 on failure. */
static int udpx_kernel_socket(bool v6)
{
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(HOST_ADDR)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    memcpy(&a6.sin6_addr, HOST_ADDR6, 16);
    int rc =
        v6 ? bind(s, (struct sockaddr *)&a6, sizeof a6) : bind(s, (struct sockaddr *)&a, sizeof a);
    if (rc != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* The kernel sends UDPX_COUNT datagrams to the stack's UDP socket on OFF_PORT over a TUN
 * opened with `offload`, over IPv6 when `v6`; the stack echoes each, and the kernel receives
 * each echo byte-exact within 10 s. Fills the link's counters. 0, or 1 with the failed check
 * printed. */
/* A TUN opened with `offload` (the TUN link itself in *tun; in a fault wrapper that does
 * nothing when `wrap`, read with the plain recv, in *l), a stack on it with a UDP socket on
 * OFF_PORT, over IPv6 when `v6`, and a kernel UDP socket. 0, or 1 with the failed check
 * printed. */
struct udp_path {
    struct synack_link *l;
    const struct synack_link *tun;
    struct synack_stack *stack;
    struct synack_udp *u;
    int s;
};

static int udp_path_open(struct udp_path *p, int offload, bool wrap, bool v6)
{
    char err[256];
    struct synack_tun_config tcfg = {.ifname = OFF_IFNAME, .offload = offload};
    tcfg.host_addrs[0] = v6 ? (struct synack_ifaddr){synack_addr_v6(HOST_ADDR6), 64}
                            : (struct synack_ifaddr){synack_addr_v4(HOST_ADDR), 24};
    CHILD_CHECK(synack_tun_open(&p->l, &tcfg, err, sizeof err) == 0);
    p->tun = p->l;
    if (wrap) {
        struct synack_fault_params fp;
        synack_fault_params_default(&fp);
        CHILD_CHECK(synack_fault_wrap(&p->l, p->l, &fp, 1) == 0);
    }
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = v6 ? synack_addr_v6(PEER_ADDR6) : synack_addr_v4(PEER_ADDR);
    CHILD_CHECK(synack_config_add_addr(&cfg, &a) == 0);
    cfg.mtu = (uint16_t)synack_link_mtu(p->l);
    CHILD_CHECK(synack_stack_new(&p->stack, &cfg) == 0);
    CHILD_CHECK(synack_udp_bind(p->stack, &(struct synack_endpoint){.addr = a, .port = OFF_PORT},
                                NULL, &p->u) == 0);
    p->s = udpx_kernel_socket(v6);
    CHILD_CHECK(p->s >= 0);
    return 0;
}

static int udp_echo_exchange(int offload, bool v6, struct synack_link_stats *st)
{
    struct udp_path path;
    if (udp_path_open(&path, offload, false, v6) != 0) return 1;
    struct synack_link *l = path.l;
    struct synack_stack *stack = path.stack;
    struct synack_udp *u = path.u;
    int s = path.s;
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(OFF_PORT), .sin_addr.s_addr = htonl(PEER_ADDR)};
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = htons(OFF_PORT)};
    memcpy(&to6.sin6_addr, PEER_ADDR6, 16);
    uint8_t d[1024];
    for (unsigned i = 0; i < UDPX_COUNT; i++) {
        for (size_t k = 0; k < udpx_len(i); k++)
            d[k] = udpx_byte(i, k);
        ssize_t w = v6 ? sendto(s, d, udpx_len(i), 0, (struct sockaddr *)&to6, sizeof to6)
                       : sendto(s, d, udpx_len(i), 0, (struct sockaddr *)&to, sizeof to);
        CHILD_CHECK(w == (ssize_t)udpx_len(i));
    }
    static uint8_t buf[65536];
    unsigned echoed = 0, back = 0;
    synack_time_t end = off_now() + SYNACK_S(10);
    while (back < UDPX_COUNT && off_now() < end) {
        synack_time_t now = off_now();
        synack_link_pump(l, stack, buf, sizeof buf, now);
        struct synack_endpoint from;
        synack_ssize n;
        while ((n = synack_udp_recv(u, d, sizeof d, &from, now)) >= 0) {
            CHILD_CHECK(n == (synack_ssize)udpx_len(echoed));
            CHILD_CHECK(synack_udp_send(u, d, (size_t)n, &from, now) == n);
            echoed++;
        }
        synack_link_drain(l, stack, buf, sizeof buf, now);
        ssize_t r;
        while ((r = recv(s, d, sizeof d, MSG_DONTWAIT)) >= 0) {
            CHILD_CHECK(r == (ssize_t)udpx_len(back));
            for (size_t k = 0; k < (size_t)r; k++)
                CHILD_CHECK(d[k] == udpx_byte(back, k));
            back++;
        }
        struct pollfd p[2] = {{.fd = synack_link_fd(l), .events = POLLIN},
                              {.fd = s, .events = POLLIN}};
        (void)poll(p, 2, 1);
    }
    CHILD_CHECK(back == UDPX_COUNT);
    struct synack_counters cnt;
    synack_stack_counters(stack, &cnt);
    CHILD_CHECK(cnt.drops[SYNACK_DROP_UDP_CHECKSUM] == 0);
    synack_link_stats(l, st);
    fprintf(stderr, "offload %d %s: %llu in, %llu vouched, %llu out, %llu partial, %llu refused\n",
            offload, v6 ? "IPv6" : "IPv4", (unsigned long long)st->rx_packets,
            (unsigned long long)st->rx_csum_vouched, (unsigned long long)st->tx_packets,
            (unsigned long long)st->tx_csum_partial, (unsigned long long)st->rx_offload_bad);
    close(s);
    synack_stack_free(stack);
    synack_link_free(l);
    return 0;
}

static int tun_child_udp_offload(bool v6)
{
    if (v6) ipv6_no_dad();
    struct synack_link_stats st;
    if (udp_echo_exchange(SYNACK_TUN_OFFLOAD_AUTO, v6, &st) != 0) return 1;
    /* The kernel left its datagrams' sums partial (TUN_F_CSUM covers UDP), taken without
     * computing them; the stack left its echoes' sums to the kernel. No header refused. */
    CHILD_CHECK(st.rx_csum_vouched >= UDPX_COUNT);
    CHILD_CHECK(st.tx_csum_partial >= UDPX_COUNT);
    CHILD_CHECK(st.rx_offload_bad == 0 && st.tx_errors == 0);
    st = (struct synack_link_stats){0};
    if (udp_echo_exchange(SYNACK_TUN_OFFLOAD_OFF, v6, &st) != 0) return 1;
    CHILD_CHECK(st.rx_csum_vouched == 0 && st.tx_csum_partial == 0);
    return 0;
}

static int tun_child_udp_offload_v4(void)
{
    return tun_child_udp_offload(false);
}

static int tun_child_udp_offload_v6(void)
{
    return tun_child_udp_offload(true);
}

/* Offload on: the kernel's UDP datagrams come with partial sums the stack takes as they are
 * (SYNACK_INPUT_CSUM_VERIFIED), and the stack's leave theirs for the kernel (NEEDS_CSUM); every
 * datagram arrives exact both ways. Offload off: every sum computed, the same datagrams. */
static void tun_offload_carries_udp_with_partial_checksums(void **state)
{
    (void)state;
    run_in_netns(tun_child_udp_offload_v4);
}

/* The same over IPv6 (RFC 8200 §8.1: the sum is never left out). */
static void tun_offload_carries_ipv6_udp_with_partial_checksums(void **state)
{
    (void)state;
    run_in_netns(tun_child_udp_offload_v6);
}

/* ---- UDP segmentation offload: the kernel's UDP_SEGMENT sends, received ---- */

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif
#ifndef SOL_UDP
#define SOL_UDP 17 /* IPPROTO_UDP */
#endif
#define USO_SIZE 1000u /* each datagram's payload */
#define USO_COUNT 41u  /* the last one shorter */
#define USO_LAST 345u

static size_t uso_len(unsigned i)
{
    return i + 1 < USO_COUNT ? USO_SIZE : USO_LAST;
}

static uint8_t uso_byte(unsigned i, size_t k)
{
    return (uint8_t)(i * 7u + k * 13u + 1u);
}

/* The kernel sends USO_COUNT datagrams to the stack's UDP socket on OFF_PORT in one send with
 * UDP_SEGMENT over a TUN opened with `offload` (behind a fault wrapper that does nothing,
 * so read with the plain recv, when `wrap`), over IPv6 when `v6`; the stack receives each,
 * byte-exact and in order, within 10 s, and drops none for its checksum. Fills the link's
 * counters and what the kernel took. 0, or 1 with the failed check printed. */
static int uso_exchange(int offload, bool wrap, bool v6, struct synack_link_stats *st,
                        unsigned *offloads)
{
    struct udp_path path;
    if (udp_path_open(&path, offload, wrap, v6) != 0) return 1;
    *offloads = synack_tun_offloads(path.tun);
    struct synack_link *l = path.l;
    struct synack_stack *stack = path.stack;
    struct synack_udp *u = path.u;
    int s = path.s;
    int gso = USO_SIZE;
    CHILD_CHECK(setsockopt(s, SOL_UDP, UDP_SEGMENT, &gso, sizeof gso) == 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(OFF_PORT), .sin_addr.s_addr = htonl(PEER_ADDR)};
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = htons(OFF_PORT)};
    memcpy(&to6.sin6_addr, PEER_ADDR6, 16);
    static uint8_t all[USO_COUNT * USO_SIZE];
    size_t total = 0;
    for (unsigned i = 0; i < USO_COUNT; i++)
        for (size_t k = 0; k < uso_len(i); k++)
            all[total++] = uso_byte(i, k);
    ssize_t w = v6 ? sendto(s, all, total, 0, (struct sockaddr *)&to6, sizeof to6)
                   : sendto(s, all, total, 0, (struct sockaddr *)&to, sizeof to);
    CHILD_CHECK(w == (ssize_t)total);
    static uint8_t buf[65536];
    uint8_t d[2048];
    unsigned got = 0;
    synack_time_t end = off_now() + SYNACK_S(10);
    while (got < USO_COUNT && off_now() < end) {
        synack_time_t now = off_now();
        /* One packet at a time, and no read past the last datagram: the link must have given
         * the packet back with its last datagram, and have nothing due after it. */
        unsigned flags;
        synack_ssize r = synack_link_recv_offload(l, buf, sizeof buf, &flags, now);
        if (r > 0) synack_stack_input_flags(stack, buf, (size_t)r, flags, now);
        struct synack_endpoint from;
        synack_ssize n;
        while ((n = synack_udp_recv(u, d, sizeof d, &from, now)) >= 0) {
            CHILD_CHECK(got < USO_COUNT && n == (synack_ssize)uso_len(got));
            for (size_t k = 0; k < (size_t)n; k++)
                CHILD_CHECK(d[k] == uso_byte(got, k));
            got++;
        }
        if (got == USO_COUNT) CHILD_CHECK(synack_link_next_deadline(path.tun) == SYNACK_NEVER);
        struct pollfd p = {.fd = synack_link_fd(l), .events = POLLIN};
        /* Datagrams the link holds are due at once (its next deadline), not at the fd. */
        (void)poll(&p, 1, synack_link_next_deadline(l) <= now ? 0 : 1);
    }
    CHILD_CHECK(got == USO_COUNT);
    struct synack_counters cnt;
    synack_stack_counters(stack, &cnt);
    CHILD_CHECK(cnt.drops[SYNACK_DROP_UDP_CHECKSUM] == 0);
    synack_link_stats(path.tun, st);
    fprintf(stderr,
            "USO, offload %d%s %s: offloads 0x%x, %llu in, %llu uncut, %llu cut, %llu vouched\n",
            offload, wrap ? " wrapped" : "", v6 ? "IPv6" : "IPv4", *offloads,
            (unsigned long long)st->rx_packets, (unsigned long long)st->rx_gso_packets,
            (unsigned long long)st->rx_uso_datagrams, (unsigned long long)st->rx_csum_vouched);
    close(s);
    synack_stack_free(stack);
    synack_link_free(l);
    return 0;
}

static int tun_child_uso(bool v6)
{
    if (v6) ipv6_no_dad();
    struct synack_link_stats st;
    unsigned offloads;
    if (uso_exchange(SYNACK_TUN_OFFLOAD_AUTO, false, v6, &st, &offloads) != 0) return 1;
    if (!(offloads & SYNACK_TUN_OFFLOADED_USO)) {
        /* A kernel before 6.2 refuses TUN_F_USO4/6 and cuts the datagrams itself; one from
         * 6.2 on takes them, so the link must have asked. */
        struct utsname u;
        unsigned major = 0, minor = 0;
        CHILD_CHECK(uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2);
        fprintf(stderr, "kernel %s: no UDP segmentation offload for TUN devices\n", u.release);
        CHILD_CHECK(major < 6 || (major == 6 && minor < 2));
        CHILD_CHECK(st.rx_uso_datagrams == 0);
        return 0;
    }
    /* One packet from the kernel, uncut, and the link cut it into the datagrams, each
     * vouched for as the packet was. */
    CHILD_CHECK(st.rx_gso_packets >= 1 && st.rx_uso_datagrams == USO_COUNT);
    CHILD_CHECK(st.rx_csum_vouched >= USO_COUNT && st.rx_offload_bad == 0);
    /* Read with the plain recv: the link finishes each datagram's sum (the stack verifies
     * and drops none: uso_exchange checks). */
    st = (struct synack_link_stats){0};
    if (uso_exchange(SYNACK_TUN_OFFLOAD_AUTO, true, v6, &st, &offloads) != 0) return 1;
    CHILD_CHECK(st.rx_uso_datagrams == USO_COUNT);
    /* Offloads off: the kernel cuts them. */
    st = (struct synack_link_stats){0};
    if (uso_exchange(SYNACK_TUN_OFFLOAD_OFF, false, v6, &st, &offloads) != 0) return 1;
    CHILD_CHECK(offloads == 0 && st.rx_uso_datagrams == 0 && st.rx_packets >= USO_COUNT);
    return 0;
}

static int tun_child_uso_v4(void)
{
    return tun_child_uso(false);
}

static int tun_child_uso_v6(void)
{
    return tun_child_uso(true);
}

/* TUN_F_USO4 | TUN_F_USO6: a kernel socket's UDP_SEGMENT send of 41 datagrams reaches the
 * link as one packet (VIRTIO_NET_HDR_GSO_UDP_L4), which the link cuts into the 41, the last
 * shorter, byte-exact and in order; behind a wrapper (plain recv) with their checksums
 * finished; with offloads off the kernel cuts them. */
static void tun_offload_cuts_udp_segments(void **state)
{
    (void)state;
    run_in_netns(tun_child_uso_v4);
}

/* The same over IPv6. */
static void tun_offload_cuts_ipv6_udp_segments(void **state)
{
    (void)state;
    run_in_netns(tun_child_uso_v6);
}

/* ---- UDP segmentation offload: the stack's datagrams, joined for the kernel to cut ---- */

/* The stack sends USO_COUNT datagrams (the last shorter) to the kernel's UDP socket in one
 * go over a TUN opened with `offload` (behind a fault wrapper that does nothing when `wrap`),
 * over IPv6 when `v6`; the kernel receives each, byte-exact and in order, within 10 s.
 * Fills the TUN link's counters and what the kernel took. 0, or 1 with the failed check
 * printed. */
static int uso_send_exchange(int offload, bool wrap, bool v6, struct synack_link_stats *st,
                             unsigned *offloads)
{
    struct udp_path path;
    if (udp_path_open(&path, offload, wrap, v6) != 0) return 1;
    *offloads = synack_tun_offloads(path.tun);
    struct synack_link *l = path.l;
    struct synack_stack *stack = path.stack;
    int s = path.s;
    struct sockaddr_storage me;
    socklen_t mlen = sizeof me;
    CHILD_CHECK(getsockname(s, (struct sockaddr *)&me, &mlen) == 0);
    struct synack_endpoint to = {.addr =
                                     v6 ? synack_addr_v6(HOST_ADDR6) : synack_addr_v4(HOST_ADDR),
                                 .port = ntohs(v6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                                  : ((struct sockaddr_in *)&me)->sin_port)};
    uint8_t d[2048];
    synack_time_t now = off_now();
    for (unsigned i = 0; i < USO_COUNT; i++) {
        for (size_t k = 0; k < uso_len(i); k++)
            d[k] = uso_byte(i, k);
        CHILD_CHECK(synack_udp_send(path.u, d, uso_len(i), &to, now) == (synack_ssize)uso_len(i));
    }
    static uint8_t buf[65536];
    unsigned got = 0;
    synack_time_t end = now + SYNACK_S(10);
    while (got < USO_COUNT && off_now() < end) {
        now = off_now();
        synack_link_pump(l, stack, buf, sizeof buf, now);
        synack_link_drain(l, stack, buf, sizeof buf, now);
        ssize_t r;
        while ((r = recv(s, d, sizeof d, MSG_DONTWAIT)) >= 0) {
            CHILD_CHECK(got < USO_COUNT && r == (ssize_t)uso_len(got));
            for (size_t k = 0; k < (size_t)r; k++)
                CHILD_CHECK(d[k] == uso_byte(got, k));
            got++;
        }
        struct pollfd p = {.fd = s, .events = POLLIN};
        (void)poll(&p, 1, 1);
    }
    CHILD_CHECK(got == USO_COUNT);
    synack_link_stats(path.tun, st);
    fprintf(stderr,
            "USO sent, offload %d%s %s: offloads 0x%x, %llu out, %llu to cut, %llu errors\n",
            offload, wrap ? " wrapped" : "", v6 ? "IPv6" : "IPv4", *offloads,
            (unsigned long long)st->tx_packets, (unsigned long long)st->tx_gso_packets,
            (unsigned long long)st->tx_errors);
    close(s);
    synack_stack_free(stack);
    synack_link_free(l);
    return 0;
}

static int tun_child_uso_send(bool v6)
{
    if (v6) ipv6_no_dad();
    struct synack_link_stats st;
    unsigned offloads;
    if (uso_send_exchange(SYNACK_TUN_OFFLOAD_AUTO, false, v6, &st, &offloads) != 0) return 1;
    CHILD_CHECK(st.tx_errors == 0);
    if (offloads & SYNACK_TUN_OFFLOADED_USO) {
        /* All 41 were queued before the first output: they left as one packet, which the
         * kernel cut (41 x 1,000 bytes fit 64 KiB and 64 datagrams). */
        CHILD_CHECK(st.tx_gso_packets == 1 && st.tx_packets < USO_COUNT / 2);
    } else {
        CHILD_CHECK(st.tx_gso_packets == 0 && st.tx_packets >= USO_COUNT);
    }
    /* Behind a wrapper, and with offloads off: every datagram whole. */
    st = (struct synack_link_stats){0};
    if (uso_send_exchange(SYNACK_TUN_OFFLOAD_AUTO, true, v6, &st, &offloads) != 0) return 1;
    CHILD_CHECK(st.tx_gso_packets == 0 && st.tx_packets >= USO_COUNT);
    st = (struct synack_link_stats){0};
    if (uso_send_exchange(SYNACK_TUN_OFFLOAD_OFF, false, v6, &st, &offloads) != 0) return 1;
    CHILD_CHECK(offloads == 0 && st.tx_gso_packets == 0 && st.tx_packets >= USO_COUNT);
    return 0;
}

static int tun_child_uso_send_v4(void)
{
    return tun_child_uso_send(false);
}

static int tun_child_uso_send_v6(void)
{
    return tun_child_uso_send(true);
}

/* SYNACK_TX_USO over TUN_F_USO4 | TUN_F_USO6: 41 datagrams the stack sends to a kernel socket
 * leave as one packet or two (VIRTIO_NET_HDR_GSO_UDP_L4) that the kernel cuts, and arrive
 * byte-exact and in order; behind a wrapper and with offloads off, as 41 packets. (Where the
 * kernel did not grant USO, tun_offload_cuts_udp_segments checks it is one before 6.2.) */
static void tun_offload_sends_udp_segments_for_the_kernel_to_cut(void **state)
{
    (void)state;
    run_in_netns(tun_child_uso_send_v4);
}

/* The same over IPv6. */
static void tun_offload_sends_ipv6_udp_segments_for_the_kernel_to_cut(void **state)
{
    (void)state;
    run_in_netns(tun_child_uso_send_v6);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tun_configures_kernel_side_and_carries_ipv4),
    cmocka_unit_test(tun_configures_ipv6_and_carries_it),
    cmocka_unit_test(tun_small_buffer_is_bufsz),
    cmocka_unit_test(tun_numbered_name_is_configured_and_reported),
    cmocka_unit_test(tun_errors_say_what_to_do),
    cmocka_unit_test(tun_rejects_bad_config),
    cmocka_unit_test(tun_offload_receives_merged_segments),
    cmocka_unit_test(tun_offload_off_reads_plain_packets),
    cmocka_unit_test(tun_offload_behind_a_wrapper_finishes_checksums),
    cmocka_unit_test(tun_offload_receives_merged_ipv6_segments),
    cmocka_unit_test(tun_offload_sends_segments_for_the_kernel_to_cut),
    cmocka_unit_test(tun_offload_sends_ipv6_segments_for_the_kernel_to_cut),
    cmocka_unit_test(tun_offload_behind_a_wrapper_sends_whole_packets),
    cmocka_unit_test(tun_offload_off_sends_whole_packets),
    cmocka_unit_test(tun_offload_carries_udp_with_partial_checksums),
    cmocka_unit_test(tun_offload_carries_ipv6_udp_with_partial_checksums),
    cmocka_unit_test(tun_offload_cuts_udp_segments),
    cmocka_unit_test(tun_offload_cuts_ipv6_udp_segments),
    cmocka_unit_test(tun_offload_sends_udp_segments_for_the_kernel_to_cut),
    cmocka_unit_test(tun_offload_sends_ipv6_udp_segments_for_the_kernel_to_cut),
};

SYNACK_TEST_MAIN("tun_link", tests)
