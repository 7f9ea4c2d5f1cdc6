/* The TUN link (link.h): bare IPv4 packets through a Linux TUN device, with the kernel as
 * the peer.
 *
 * The kernel's side is configured with the classic interface ioctls on an AF_INET
 * datagram socket (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFMTU, SIOCSIFFLAGS) rather than
 * rtnetlink: four fixed-size requests with an errno each, no message building or reply
 * parsing, and everything needed for one IPv4 address on a point-to-point device. (The
 * ioctls set the device's primary address, replacing one it had; rtnetlink would be the
 * choice for several addresses or IPv6.) Nothing is spawned. */
#include "synack/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUN_DEVICE "/dev/net/tun"
/* The largest packet a TUN device carries (its MTU can be at most 65535). */
#define TUN_MAX_PACKET 65535
/* Non-IPv4 packets skipped by one recv before it says AGAIN (the descriptor stays
 * readable, so the loop comes back). */
#define TUN_MAX_SKIPS 64

struct tun_link {
    struct synack_link base;
    int fd;
    unsigned mtu;
    char ifname[IFNAMSIZ]; /* the device's real name (a "%d" in the asked one filled in) */
    struct synack_link_stats stats;
    /* A packet is read here first when the caller's buffer is smaller than any packet
     * could be, because a read into a short buffer truncates it without saying so.
     * Allocated on first need. */
    uint8_t *scratch;
};

static struct tun_link *tun_of(struct synack_link *l)
{
    return (struct tun_link *)l;
}

static const struct tun_link *tun_of_const(const struct synack_link *l)
{
    return (const struct tun_link *)l;
}

/* Reads one packet into `buf`, or into the scratch buffer when `cap` might be too small
 * for it; `*from` says where it is. Returns its length, or -1 with errno set. */
static ssize_t tun_read(struct tun_link *t, uint8_t *buf, size_t cap, uint8_t **from)
{
    uint8_t *dst = buf;
    size_t room = cap;
    if (cap < TUN_MAX_PACKET) {
        if (t->scratch == NULL) t->scratch = malloc(TUN_MAX_PACKET);
        if (t->scratch == NULL) {
            errno = ENOMEM;
            return -1;
        }
        dst = t->scratch;
        room = TUN_MAX_PACKET;
    }
    *from = dst;
    ssize_t n;
    do
        n = read(t->fd, dst, room);
    while (n < 0 && errno == EINTR);
    return n;
}

static synack_ssize tun_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    (void)now;
    struct tun_link *t = tun_of(l);
    for (int skipped = 0; skipped < TUN_MAX_SKIPS; skipped++) {
        uint8_t *from;
        ssize_t n = tun_read(t, buf, cap, &from);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return SYNACK_ERR_AGAIN;
            t->stats.rx_errors++;
            return SYNACK_ERR_IO;
        }
        /* IFF_NO_PI: no header says what the packet is, so look at the version. The
         * kernel sends IPv6 router solicitations and MLD reports when the device comes
         * up; the stack speaks IPv4 only. */
        if (n == 0 || (from[0] >> 4) != 4) {
            t->stats.rx_errors++;
            continue;
        }
        if ((size_t)n > cap) {
            t->stats.rx_errors++;
            return SYNACK_ERR_BUFSZ;
        }
        if (from != buf) memcpy(buf, from, (size_t)n);
        t->stats.rx_packets++;
        t->stats.rx_bytes += (uint64_t)n;
        return n;
    }
    return SYNACK_ERR_AGAIN;
}

static int tun_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    (void)now;
    struct tun_link *t = tun_of(l);
    ssize_t n;
    do
        n = write(t->fd, pkt, len);
    while (n < 0 && errno == EINTR);
    if (n >= 0 && (size_t)n == len) {
        t->stats.tx_packets++;
        t->stats.tx_bytes += len;
        return 0;
    }
    t->stats.tx_errors++;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
        return SYNACK_ERR_AGAIN;
    return SYNACK_ERR_IO;
}

static int tun_fd(const struct synack_link *l)
{
    return tun_of_const(l)->fd;
}

static unsigned tun_mtu(const struct synack_link *l)
{
    return tun_of_const(l)->mtu;
}

static void tun_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = tun_of_const(l)->stats;
}

static void tun_free(struct synack_link *l)
{
    struct tun_link *t = tun_of(l);
    /* Closing the descriptor deletes a device we created (it is not persistent). */
    close(t->fd);
    free(t->scratch);
    free(t);
}

static const struct synack_link_ops tun_ops;

const char *synack_tun_name(const struct synack_link *l)
{
    if (l == NULL || l->ops != &tun_ops) return NULL;
    return tun_of_const(l)->ifname;
}

static const struct synack_link_ops tun_ops = {
    .kind = "tun",
    .recv = tun_recv,
    .send = tun_send,
    .fd = tun_fd,
    .next_deadline = NULL,
    .poll = NULL,
    .mtu = tun_mtu,
    .stats = tun_stats,
    .free = tun_free,
};

/* ---- opening and configuring ------------------------------------------------------------- */

static void tun_set_error(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tun_set_error(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

static bool tun_is_permission_error(int e)
{
    return e == EPERM || e == EACCES;
}

static int tun_open_device(char *err, size_t errcap)
{
    int fd = open(TUN_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return fd;
    int e = errno;
    if (tun_is_permission_error(e))
        tun_set_error(err, errcap,
                      "no permission to open " TUN_DEVICE
                      ": run as root or give the program CAP_NET_ADMIN");
    else if (e == ENOENT || e == ENODEV || e == ENXIO)
        tun_set_error(err, errcap,
                      TUN_DEVICE " does not exist: load the tun module (modprobe tun)");
    else
        tun_set_error(err, errcap, "cannot open " TUN_DEVICE ": %s", strerror(e));
    return -1;
}

/* TUNSETIFF: creates the device, or attaches to an existing one of that name. A "%d" in
 * the name asks the kernel to pick the first free number; the name it chose comes back in
 * ifr_name and is copied into `ifname` (IFNAMSIZ bytes), which is what gets configured. */
static int tun_attach(int fd, char *ifname, char *err, size_t errcap)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
        memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
        ifname[IFNAMSIZ - 1] = '\0';
        return 0;
    }
    int e = errno;
    if (tun_is_permission_error(e))
        tun_set_error(err, errcap,
                      "no permission to open " TUN_DEVICE
                      ": run as root or give the program CAP_NET_ADMIN");
    else if (e == EBUSY)
        tun_set_error(err, errcap, "device %s is in use by another process", ifname);
    else if (e == EINVAL)
        tun_set_error(err, errcap,
                      "device %s exists but is not a TUN device of this kind "
                      "(IFF_TUN, IFF_NO_PI, single queue)",
                      ifname);
    else
        tun_set_error(err, errcap, "cannot create TUN device %s: %s", ifname, strerror(e));
    return -1;
}

static void tun_ifreq_addr(struct ifreq *ifr, uint32_t addr)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
    memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

/* One configuration ioctl on the socket `s`; on failure a sentence naming what. */
static int tun_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what, char *err,
                     size_t errcap)
{
    if (ioctl(s, req, ifr) == 0) return 0;
    int e = errno;
    if (tun_is_permission_error(e))
        tun_set_error(err, errcap,
                      "no permission to %s of %s: run as root or give the program "
                      "CAP_NET_ADMIN",
                      what, ifr->ifr_name);
    else
        tun_set_error(err, errcap, "cannot %s of %s: %s", what, ifr->ifr_name, strerror(e));
    return -1;
}

/* Gives the kernel's side its address and prefix and MTU (when asked), and brings it up;
 * then reads back the MTU in force into *mtu. */
static int tun_configure(const char *ifname, const struct synack_tun_config *cfg, unsigned *mtu,
                         char *err, size_t errcap)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        tun_set_error(err, errcap, "cannot configure %s: %s", ifname, strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    int rc = 0;
    if (cfg->host_addr != 0) {
        /* The address first: setting it resets the netmask to the address's class. */
        tun_ifreq_addr(&ifr, cfg->host_addr);
        rc = tun_ioctl(s, SIOCSIFADDR, &ifr, "set the address", err, errcap);
        if (rc == 0) {
            uint32_t mask = cfg->host_prefix == 0 ? 0 : UINT32_MAX << (32u - cfg->host_prefix);
            tun_ifreq_addr(&ifr, mask);
            rc = tun_ioctl(s, SIOCSIFNETMASK, &ifr, "set the netmask", err, errcap);
        }
        if (rc == 0 && cfg->mtu != 0) {
            ifr.ifr_mtu = (int)cfg->mtu;
            rc = tun_ioctl(s, SIOCSIFMTU, &ifr, "set the MTU", err, errcap);
        }
        if (rc == 0) rc = tun_ioctl(s, SIOCGIFFLAGS, &ifr, "read the flags", err, errcap);
        if (rc == 0) {
            ifr.ifr_flags |= IFF_UP;
            rc = tun_ioctl(s, SIOCSIFFLAGS, &ifr, "bring up", err, errcap);
        }
    }
    if (rc == 0) rc = tun_ioctl(s, SIOCGIFMTU, &ifr, "read the MTU", err, errcap);
    if (rc == 0) *mtu = ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : 0;
    close(s);
    return rc;
}

int synack_tun_open(struct synack_link **out, const struct synack_tun_config *cfg, char *err,
                    size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    if (out == NULL || cfg == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    size_t namelen = cfg->ifname ? strlen(cfg->ifname) : 0;
    if (namelen == 0 || namelen >= IFNAMSIZ) {
        tun_set_error(err, errcap, "a TUN device name has 1 to %d characters", IFNAMSIZ - 1);
        return SYNACK_ERR_INVAL;
    }
    if (cfg->host_addr != 0 && (cfg->host_prefix == 0 || cfg->host_prefix > 32)) {
        tun_set_error(err, errcap, "prefix length %u is not between 1 and 32", cfg->host_prefix);
        return SYNACK_ERR_INVAL;
    }
    if (cfg->mtu != 0 && (cfg->mtu < 68 || cfg->mtu > TUN_MAX_PACKET)) {
        tun_set_error(err, errcap, "MTU %u is not between 68 and %d", cfg->mtu, TUN_MAX_PACKET);
        return SYNACK_ERR_INVAL;
    }
    struct tun_link *t = calloc(1, sizeof(*t));
    if (t == NULL) return SYNACK_ERR_NOMEM;
    t->base.ops = &tun_ops;
    memcpy(t->ifname, cfg->ifname, namelen);
    t->fd = tun_open_device(err, errcap);
    if (t->fd < 0 || tun_attach(t->fd, t->ifname, err, errcap) != 0 ||
        tun_configure(t->ifname, cfg, &t->mtu, err, errcap) != 0) {
        if (t->fd >= 0) close(t->fd);
        free(t);
        return SYNACK_ERR_IO;
    }
    *out = &t->base;
    return 0;
}
