/* The TUN link (link.h): bare IPv4 and IPv6 packets through a Linux TUN device, with the
 * kernel as the peer.
 *
 * The kernel's side is configured with the classic interface ioctls where they suffice:
 * fixed-size requests with an errno each, no message building or reply parsing. On an
 * AF_INET datagram socket SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFMTU and SIOCSIFFLAGS give the
 * device its IPv4 address (the primary one, replacing one it had), MTU and IFF_UP. An IPv6
 * address goes on with an rtnetlink request (RTM_NEWADDR) instead: the ioctl for it
 * (SIOCSIFADDR with a struct in6_ifreq) cannot say IFA_F_NODAD, and without it the address
 * stays "tentative", unusable, until the kernel's work queue has started (and here at once
 * skipped) duplicate address detection. Even with it the kernel installs the address's
 * local route from that work queue, so the open then asks (RTM_GETROUTE) until the
 * address routes locally: under load both came after synack_tun_open had returned. IPv6
 * itself is turned on for the device through its disable_ipv6 sysctl.
 * Nothing is spawned. */
#include "synack/link.h"
#include "tun/steer_bpf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TUN_DEVICE "/dev/net/tun"
/* The largest packet a TUN device carries (its MTU can be at most 65535). */
#define TUN_MAX_PACKET 65535
/* Reads that are not IP packets (empty, or of a version other than 4 and 6) skipped by one
 * recv before it says AGAIN (the descriptor stays readable, so the loop comes back). */
#define TUN_MAX_SKIPS 64
/* How long synack_tun_open waits for the kernel to take an IPv6 address as its own. */
#define TUN_LOCAL_WAIT_MS 2000
/* UDP segmentation offload (linux/if_tun.h from Linux 6.2; Debian 12's headers are older):
 * the kernel takes the two only together. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

struct tun_link {
    struct synack_link base;
    int fd;
    unsigned mtu;
    char ifname[IFNAMSIZ]; /* the device's real name (a "%d" in the asked one filled in) */
    struct synack_link_stats stats;
    unsigned offloads; /* SYNACK_TUN_OFFLOADED_*: what the kernel took */
    /* A packet is read here first when the caller's buffer is smaller than any packet
     * could be, because a read into a short buffer truncates it without saying so.
     * Allocated on first need. */
    uint8_t *scratch;
    /* A packet of UDP datagrams to cut (GSO UDP_L4), `uso_len` bytes (0: none), kept while
     * they are handed out one per recv: `uso_next` the next one's index, `uso_gso` their
     * size, `uso_at` the `now` of the read (next_deadline while some wait). Allocated on
     * first need. */
    uint8_t *uso;
    size_t uso_len, uso_next;
    uint16_t uso_gso;
    synack_time_t uso_at;
};

static struct tun_link *tun_of(struct synack_link *l)
{
    return (struct tun_link *)l;
}

static const struct tun_link *tun_of_const(const struct synack_link *l)
{
    return (const struct tun_link *)l;
}

static bool tun_has_vnet_hdr(const struct tun_link *t)
{
    return (t->offloads & SYNACK_TUN_OFFLOADED_VNET_HDR) != 0;
}

/* Reads one packet into `buf`, or into the scratch buffer when `cap` might be too small
 * for it; `*from` says where it is. With a virtio-net header the header goes to `vhdr`
 * (one readv: the packet lands where it is wanted) and does not count in the length.
 * Returns the packet's length (-2: a read shorter than the header), or -1 with errno set. */
static ssize_t tun_read(struct tun_link *t, uint8_t *buf, size_t cap, uint8_t **from,
                        uint8_t vhdr[SYNACK_VNET_HDR_LEN])
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
    if (!tun_has_vnet_hdr(t)) {
        do
            n = read(t->fd, dst, room);
        while (n < 0 && errno == EINTR);
        return n;
    }
    struct iovec iov[2] = {{.iov_base = vhdr, .iov_len = SYNACK_VNET_HDR_LEN},
                           {.iov_base = dst, .iov_len = room}};
    do
        n = readv(t->fd, iov, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    return n < SYNACK_VNET_HDR_LEN ? -2 : n - SYNACK_VNET_HDR_LEN;
}

static bool tun_is_ip_version(unsigned v)
{
    return v == 4 || v == 6;
}

/* What the virtio-net header `vhdr` of the packet `pkt` (`len` bytes) says, for the stack:
 * 0 when the packet is to be dropped (a header that lies, counted), 2 when it holds UDP
 * datagrams to cut (GSO UDP_L4, with *gso their size: tun_uso_take), else 1 with
 * *input_flags the SYNACK_INPUT_* the kernel vouches for, or, when `input_flags` is NULL (the
 * plain recv), a partial checksum finished here (virtio 1.1 §5.1.6.2). */
static int tun_take_vnet_hdr(struct tun_link *t, const uint8_t vhdr[SYNACK_VNET_HDR_LEN],
                             uint8_t *pkt, size_t len, unsigned *input_flags, uint16_t *gso)
{
    struct synack_vnet_hdr h;
    /* UDP_L4 only where we asked for it: a header that says so otherwise lies. */
    if (synack_vnet_parse(vhdr, pkt, len, &h) != SYNACK_VNET_OK ||
        (h.gso_type == SYNACK_VNET_GSO_UDP_L4 && !(t->offloads & SYNACK_TUN_OFFLOADED_USO))) {
        t->stats.rx_offload_bad++;
        return 0;
    }
    if (h.gso_type != SYNACK_VNET_GSO_NONE) t->stats.rx_gso_packets++;
    if (h.gso_type == SYNACK_VNET_GSO_UDP_L4) {
        *gso = h.gso_size;
        return 2;
    }
    bool vouched = (h.flags & (SYNACK_VNET_F_NEEDS_CSUM | SYNACK_VNET_F_DATA_VALID)) != 0;
    if (input_flags != NULL) {
        *input_flags = vouched ? SYNACK_INPUT_CSUM_VERIFIED : 0;
        if (vouched) t->stats.rx_csum_vouched++;
    } else if (h.flags & SYNACK_VNET_F_NEEDS_CSUM) {
        /* In range: synack_vnet_parse checked the field lies within the packet. */
        (void)synack_checksum_complete(pkt, len, h.csum_start, h.csum_offset);
    }
    return 1;
}

/* Gives the kept packet back once its last datagram has been handed out, so that no
 * deadline stays due for it (synack_uso_datagram says 0 past the last: asked with no room,
 * it answers BUFSZ while one is left). */
static void tun_uso_release_if_done(struct tun_link *t)
{
    uint8_t none;
    if (synack_uso_datagram(t->uso, t->uso_len, t->uso_gso, t->uso_next, true, &none, 0) == 0)
        t->uso_len = 0;
}

/* The next datagram of the packet kept to cut, into `buf`: its length; 0 when none is
 * left (or the packet does not cut: counted, and dropped whole); BUFSZ when `cap` is too
 * small for it (dropped and counted). Vouched for as the packet was (its checksum partial,
 * the kernel's data) for recv_offload; finished here for the plain recv (`input_flags`
 * NULL). */
static synack_ssize tun_uso_next(struct tun_link *t, uint8_t *buf, size_t cap,
                                 unsigned *input_flags)
{
    synack_ssize n = synack_uso_datagram(t->uso, t->uso_len, t->uso_gso, t->uso_next,
                                         input_flags == NULL, buf, cap);
    if (n == 0 || n == SYNACK_ERR_INVAL) {
        if (n != 0) {
            t->stats.rx_offload_bad++;
            t->stats.rx_errors++;
        }
        t->uso_len = 0;
        return 0;
    }
    t->uso_next++;
    if (n < 0) {
        t->stats.rx_errors++;
        tun_uso_release_if_done(t);
        return SYNACK_ERR_BUFSZ;
    }
    if (input_flags != NULL) {
        *input_flags = SYNACK_INPUT_CSUM_VERIFIED;
        t->stats.rx_csum_vouched++;
    }
    t->stats.rx_uso_datagrams++;
    t->stats.rx_packets++;
    t->stats.rx_bytes += (uint64_t)n;
    tun_uso_release_if_done(t);
    return n;
}

/* Keeps the packet `pkt` (`len` bytes) of datagrams of `gso` bytes to cut: false (counted)
 * without memory for it. */
static bool tun_uso_take(struct tun_link *t, const uint8_t *pkt, size_t len, uint16_t gso,
                         synack_time_t now)
{
    /* A read into a caller's buffer larger than TUN_MAX_PACKET could be longer (an IPv6
     * packet of 40 + 65535 bytes): no UDP_SEGMENT send is. */
    if (len > TUN_MAX_PACKET) {
        t->stats.rx_offload_bad++;
        t->stats.rx_errors++;
        return false;
    }
    if (t->uso == NULL) t->uso = malloc(TUN_MAX_PACKET);
    if (t->uso == NULL) {
        t->stats.rx_errors++;
        return false;
    }
    memcpy(t->uso, pkt, len);
    t->uso_len = len;
    t->uso_next = 0;
    t->uso_gso = gso;
    t->uso_at = now;
    return true;
}

/* recv and recv_offload: `input_flags` NULL for the plain recv. */
static synack_ssize tun_recv_flags(struct tun_link *t, uint8_t *buf, size_t cap,
                                   unsigned *input_flags, synack_time_t now)
{
    if (input_flags != NULL) *input_flags = 0;
    if (t->uso_len > 0) {
        synack_ssize n = tun_uso_next(t, buf, cap, input_flags);
        if (n != 0) return n;
    }
    for (int skipped = 0; skipped < TUN_MAX_SKIPS; skipped++) {
        uint8_t *from;
        uint8_t vhdr[SYNACK_VNET_HDR_LEN];
        ssize_t n = tun_read(t, buf, cap, &from, vhdr);
        if (n == -2) { /* shorter than its virtio-net header */
            t->stats.rx_errors++;
            t->stats.rx_offload_bad++;
            continue;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return SYNACK_ERR_AGAIN;
            t->stats.rx_errors++;
            return SYNACK_ERR_IO;
        }
        /* IFF_NO_PI: no header says what the packet is, so look at the version (RFC 791
         * §3.1, RFC 8200 §3: the first four bits of both headers). The IPv6 router
         * solicitations and MLD reports the kernel sends when the device comes up go to
         * the stack too, which drops them as not its own (multicast destinations). */
        if (n == 0 || !tun_is_ip_version(from[0] >> 4)) {
            t->stats.rx_errors++;
            continue;
        }
        uint16_t gso = 0;
        int took = tun_has_vnet_hdr(t)
                       ? tun_take_vnet_hdr(t, vhdr, from, (size_t)n, input_flags, &gso)
                       : 1;
        if (took == 0) {
            t->stats.rx_errors++;
            continue;
        }
        if (took == 2) {
            if (!tun_uso_take(t, from, (size_t)n, gso, now)) continue;
            synack_ssize d = tun_uso_next(t, buf, cap, input_flags);
            if (d != 0) return d;
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

static synack_ssize tun_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    return tun_recv_flags(tun_of(l), buf, cap, NULL, now);
}

static synack_ssize tun_recv_offload(struct synack_link *l, uint8_t *buf, size_t cap,
                                     unsigned *input_flags, synack_time_t now)
{
    return tun_recv_flags(tun_of(l), buf, cap, input_flags, now);
}

/* Datagrams cut from a packet and not yet handed out are due at once: the descriptor no
 * longer polls readable for them. */
static synack_time_t tun_next_deadline(const struct synack_link *l)
{
    const struct tun_link *t = tun_of_const(l);
    return t->uso_len > 0 ? t->uso_at : SYNACK_NEVER;
}

/* Writes `pkt` with the virtio-net header `h` before it when the device takes one (`h`
 * then says what the kernel finishes), plain otherwise. */
static int tun_write(struct tun_link *t, const uint8_t *pkt, size_t len,
                     const struct synack_vnet_hdr *h)
{
    ssize_t n;
    if (tun_has_vnet_hdr(t)) {
        uint8_t vhdr[SYNACK_VNET_HDR_LEN];
        synack_vnet_emit(h, vhdr);
        struct iovec iov[2] = {{.iov_base = vhdr, .iov_len = sizeof vhdr},
                               {.iov_base = (void *)pkt, .iov_len = len}};
        do
            n = writev(t->fd, iov, 2);
        while (n < 0 && errno == EINTR);
        if (n >= SYNACK_VNET_HDR_LEN) n -= SYNACK_VNET_HDR_LEN;
    } else {
        do
            n = write(t->fd, pkt, len);
        while (n < 0 && errno == EINTR);
    }
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

static int tun_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    (void)now;
    /* An all-zero header: a whole packet, its checksums complete (virtio 1.1 §5.1.6.2: no
     * NEEDS_CSUM, GSO_NONE). */
    const struct synack_vnet_hdr whole = {0};
    return tun_write(tun_of(l), pkt, len, &whole);
}

/* What the kernel took (TUNSETOFFLOAD) is what it finishes of what we write: partial
 * checksums with TUN_F_CSUM, segments to cut with TUN_F_TSO4 / TUN_F_TSO6, UDP datagrams
 * joined with TUN_F_USO4 | TUN_F_USO6 (a kernel that takes them from us also cuts those we
 * write: virtio_net_hdr_to_skb knows GSO_UDP_L4 from 6.2 on, where TUN_F_USO came in). */
static unsigned tun_tx_offloads(const struct synack_link *l)
{
    unsigned got = tun_of_const(l)->offloads, tx = 0;
    if (!(got & SYNACK_TUN_OFFLOADED_CSUM)) return 0;
    tx |= SYNACK_TX_CSUM;
    if (got & SYNACK_TUN_OFFLOADED_TSO4) tx |= SYNACK_TX_TSO4;
    if (got & SYNACK_TUN_OFFLOADED_TSO6) tx |= SYNACK_TX_TSO6;
    if (got & SYNACK_TUN_OFFLOADED_USO) tx |= SYNACK_TX_USO;
    return tx;
}

static int tun_send_offload(struct synack_link *l, const uint8_t *pkt, size_t len,
                            const struct synack_tx_meta *meta, synack_time_t now)
{
    (void)now;
    struct tun_link *t = tun_of(l);
    /* Work the kernel did not agree to take is refused: the stack leaves only what
     * tun_tx_offloads said. */
    struct synack_vnet_hdr h;
    if (synack_vnet_hdr_for_tx(meta, pkt, len, &h) != 0) {
        t->stats.tx_errors++;
        return SYNACK_ERR_INVAL;
    }
    unsigned need = meta->csum_partial ? SYNACK_TX_CSUM : 0u;
    if (h.gso_type == SYNACK_VNET_GSO_TCPV4) need |= SYNACK_TX_TSO4;
    if (h.gso_type == SYNACK_VNET_GSO_TCPV6) need |= SYNACK_TX_TSO6;
    if (h.gso_type == SYNACK_VNET_GSO_UDP_L4) need |= SYNACK_TX_USO;
    if (need & ~tun_tx_offloads(l)) {
        t->stats.tx_errors++;
        return SYNACK_ERR_INVAL;
    }
    int rc = tun_write(t, pkt, len, &h);
    if (rc == 0 && h.gso_type != SYNACK_VNET_GSO_NONE) t->stats.tx_gso_packets++;
    if (rc == 0 && (h.flags & SYNACK_VNET_F_NEEDS_CSUM)) t->stats.tx_csum_partial++;
    return rc;
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
    free(t->uso);
    free(t);
}

static const struct synack_link_ops tun_ops;

const char *synack_tun_name(const struct synack_link *l)
{
    if (l == NULL || l->ops != &tun_ops) return NULL;
    return tun_of_const(l)->ifname;
}

unsigned synack_tun_offloads(const struct synack_link *l)
{
    if (l == NULL || l->ops != &tun_ops) return 0;
    return tun_of_const(l)->offloads;
}

static const struct synack_link_ops tun_ops = {
    .kind = "tun",
    .recv = tun_recv,
    .send = tun_send,
    .fd = tun_fd,
    .next_deadline = tun_next_deadline,
    .poll = NULL,
    .mtu = tun_mtu,
    .stats = tun_stats,
    .free = tun_free,
    .recv_offload = tun_recv_offload,
    .tx_offloads = tun_tx_offloads,
    .send_offload = tun_send_offload,
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

static bool tun_host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
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
static int tun_attach(int fd, char *ifname, bool vnet_hdr, bool multi_queue, char *err,
                      size_t errcap)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags =
        IFF_TUN | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0) | (multi_queue ? IFF_MULTI_QUEUE : 0);
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
                      "(IFF_TUN, IFF_NO_PI%s, %s)",
                      ifname, vnet_hdr ? ", IFF_VNET_HDR" : "",
                      multi_queue ? "multi-queue" : "single queue");
    else
        tun_set_error(err, errcap, "cannot create TUN device %s: %s", ifname, strerror(e));
    return -1;
}

/* The offloads asked of the kernel (TUNSETOFFLOAD), most first: TSO and USO need the
 * checksum offload under them, a kernel before 6.2 refuses USO (EINVAL for bits it does
 * not know), and an older one may know TSO4 but not TSO6. */
static const struct {
    unsigned tun_f, offloaded;
} tun_offload_steps[] = {
    {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
     SYNACK_TUN_OFFLOADED_CSUM | SYNACK_TUN_OFFLOADED_TSO4 | SYNACK_TUN_OFFLOADED_TSO6 |
         SYNACK_TUN_OFFLOADED_USO},
    {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
     SYNACK_TUN_OFFLOADED_CSUM | SYNACK_TUN_OFFLOADED_TSO4 | SYNACK_TUN_OFFLOADED_TSO6},
    {TUN_F_CSUM | TUN_F_TSO4, SYNACK_TUN_OFFLOADED_CSUM | SYNACK_TUN_OFFLOADED_TSO4},
    {TUN_F_CSUM, SYNACK_TUN_OFFLOADED_CSUM},
};

/* After TUNSETIFF with IFF_VNET_HDR: the header's size (10 bytes: no num_buffers, virtio
 * 1.1 §5.1.6), its byte order (little-endian, as virtio 1.x has it, whatever the host's), and
 * the offloads, as many as the kernel takes. Returns the SYNACK_TUN_OFFLOADED_* bits, or -1
 * with a sentence when the header cannot be set up. */
static int tun_setup_vnet(int fd, const char *ifname, char *err, size_t errcap)
{
    int size = SYNACK_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) {
        tun_set_error(err, errcap, "cannot set the virtio-net header size of %s: %s", ifname,
                      strerror(errno));
        return -1;
    }
    int le = 1;
    /* A kernel without TUNSETVNETLE speaks the host's order: on a little-endian host that is
     * the same thing. */
    if (ioctl(fd, TUNSETVNETLE, &le) != 0 && !(errno == EINVAL && tun_host_is_little_endian())) {
        tun_set_error(err, errcap, "cannot make the virtio-net header of %s little-endian: %s",
                      ifname, strerror(errno));
        return -1;
    }
    unsigned got = SYNACK_TUN_OFFLOADED_VNET_HDR;
    for (size_t k = 0; k < sizeof tun_offload_steps / sizeof tun_offload_steps[0]; k++)
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_offload_steps[k].tun_f) == 0)
            return (int)(got | tun_offload_steps[k].offloaded);
    return (int)got;
}

static void tun_ifreq_addr(struct ifreq *ifr, uint32_t addr)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
    memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

/* The sentence for a failed configuration step: `what` of device `ifname`. */
static void tun_config_error(int e, const char *what, const char *ifname, char *err, size_t errcap)
{
    if (tun_is_permission_error(e))
        tun_set_error(err, errcap,
                      "no permission to %s of %s: run as root or give the program "
                      "CAP_NET_ADMIN",
                      what, ifname);
    else
        tun_set_error(err, errcap, "cannot %s of %s: %s", what, ifname, strerror(e));
}

/* One configuration ioctl on the socket `s`; on failure a sentence naming what. */
static int tun_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what, char *err,
                     size_t errcap)
{
    if (ioctl(s, req, ifr) == 0) return 0;
    tun_config_error(errno, what, ifr->ifr_name, err, errcap);
    return -1;
}

/* The first configured address of `family`, or NULL. */
static const struct synack_ifaddr *tun_host_addr(const struct synack_tun_config *cfg,
                                                 enum synack_family family)
{
    for (size_t k = 0; k < SYNACK_TUN_HOST_ADDRS; k++)
        if (cfg->host_addrs[k].addr.family == family) return &cfg->host_addrs[k];
    return NULL;
}

static bool tun_configures(const struct synack_tun_config *cfg)
{
    for (size_t k = 0; k < SYNACK_TUN_HOST_ADDRS; k++)
        if (cfg->host_addrs[k].addr.family != SYNACK_AF_NONE) return true;
    return false;
}

/* The first byte of the file at `path`, or 0 when it cannot be read. */
static char tun_read_byte(const char *path)
{
    char c = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    if (read(fd, &c, 1) != 1) c = 0;
    close(fd);
    return c;
}

/* Sets /proc/sys/net/ipv6/conf/IFNAME/`name` to `value` unless it has it already (a
 * read-only /proc is then no obstacle). 0, or -1 with a sentence. */
static int tun_ipv6_sysctl(const char *ifname, const char *name, char value, const char *what,
                           char *err, size_t errcap)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname, name);
    if (tun_read_byte(path) == value) return 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, &value, 1) == 1) {
        close(fd);
        return 0;
    }
    int e = errno;
    if (fd >= 0) close(fd);
    if (e == ENOENT)
        tun_set_error(err, errcap,
                      "cannot give %s an IPv6 address: IPv6 is not available in this kernel "
                      "(%s is missing)",
                      ifname, path);
    else
        tun_set_error(err, errcap, "cannot %s on %s (%s): %s", what, ifname, path, strerror(e));
    return -1;
}

/* Appends attribute `type` with `len` bytes of `data` to the request `nh` (room checked
 * by the caller's buffer). */
static void tun_rta_put(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends request `nh` on a new rtnetlink socket and reads the kernel's answer to it (our
 * sequence number) into `ans` (`cap` bytes), waiting at most 2 s. 0, or the errno it
 * reports (an NLMSG_ERROR with error 0, an acknowledgment, is 0). */
static int tun_rtnl_request(const struct nlmsghdr *nh, struct nlmsghdr *ans, size_t cap)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return errno;
    struct timeval tv = {.tv_sec = 2};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int e = 0;
    if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) e = errno;
    for (int reads = 0; e == 0 && reads < 8; reads++) {
        ssize_t n = recv(fd, ans, cap, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            e = errno;
            break;
        }
        size_t left = (size_t)n;
        for (struct nlmsghdr *m = ans; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
            if (m->nlmsg_seq != nh->nlmsg_seq) continue;
            if (m != ans) memmove(ans, m, m->nlmsg_len);
            close(fd);
            if (ans->nlmsg_type != NLMSG_ERROR) return 0;
            const struct nlmsgerr *ne = NLMSG_DATA(ans);
            return ne->error < 0 ? -ne->error : 0;
        }
    }
    close(fd);
    return e ? e : EPROTO;
}

/* Whether the kernel routes IPv6 address `a` to itself (RTM_GETROUTE: a route of type
 * RTN_LOCAL), so that it takes packets sent to it. */
static bool tun_ipv6_is_local(const struct synack_addr *a)
{
    union {
        struct nlmsghdr nh;
        char raw[NLMSG_SPACE(sizeof(struct rtmsg)) + RTA_SPACE(16)];
    } req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.nh.nlmsg_type = RTM_GETROUTE;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.nh.nlmsg_seq = 2;
    struct rtmsg *rt = NLMSG_DATA(&req.nh);
    rt->rtm_family = AF_INET6;
    rt->rtm_dst_len = 128;
    tun_rta_put(&req.nh, RTA_DST, a->bytes, 16);
    union {
        struct nlmsghdr nh;
        char raw[2048];
    } ans;
    if (tun_rtnl_request(&req.nh, &ans.nh, sizeof(ans)) != 0 || ans.nh.nlmsg_type != RTM_NEWROUTE)
        return false;
    const struct rtmsg *r = NLMSG_DATA(&ans.nh);
    return r->rtm_type == RTN_LOCAL;
}

/* Even with IFA_F_NODAD the kernel installs an IPv6 address's local route from a work
 * queue, after the request has been answered; until then a packet sent to the address is
 * not taken (it counts Ip6InAddrErrors), and under load that was after synack_tun_open
 * returned. So wait for the route, polling every millisecond for 2 s at most. 0, or -1
 * with a sentence. */
static int tun_wait_ipv6_local(const char *ifname, const struct synack_ifaddr *a, char *err,
                               size_t errcap)
{
    for (int i = 0; i < TUN_LOCAL_WAIT_MS; i++) {
        if (tun_ipv6_is_local(&a->addr)) return 0;
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    char text[SYNACK_ADDR_STRLEN];
    synack_addr_format(&a->addr, text, sizeof(text));
    tun_set_error(err, errcap, "the kernel did not take %s as its own address on %s within %d ms",
                  text, ifname, TUN_LOCAL_WAIT_MS);
    return -1;
}

/* Adds IPv6 address `a` with its prefix (and so the prefix route) to the device, without
 * duplicate address detection: IFA_F_NODAD (RFC 4862 §5.4 lets a node skip it; no one else
 * is on a TUN link to collide with), and returns once the kernel takes packets sent to it.
 * An existing identical address is replaced. 0, or -1 with a sentence. */
static int tun_add_ipv6(const char *ifname, const struct synack_ifaddr *a, char *err, size_t errcap)
{
    char text[SYNACK_ADDR_STRLEN], what[SYNACK_ADDR_STRLEN + 32];
    synack_addr_format(&a->addr, text, sizeof(text));
    snprintf(what, sizeof(what), "add the address %s/%u", text, a->prefix);
    union {
        struct nlmsghdr nh;
        char raw[NLMSG_SPACE(sizeof(struct ifaddrmsg)) + 2 * RTA_SPACE(16)];
    } req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.nh.nlmsg_type = RTM_NEWADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    req.nh.nlmsg_seq = 1;
    struct ifaddrmsg *ifa = NLMSG_DATA(&req.nh);
    ifa->ifa_family = AF_INET6;
    ifa->ifa_prefixlen = (unsigned char)a->prefix;
    ifa->ifa_flags = IFA_F_NODAD;
    ifa->ifa_index = if_nametoindex(ifname);
    tun_rta_put(&req.nh, IFA_LOCAL, a->addr.bytes, 16);
    tun_rta_put(&req.nh, IFA_ADDRESS, a->addr.bytes, 16);
    union {
        struct nlmsghdr nh;
        char raw[1024];
    } ans;
    int e = ifa->ifa_index == 0 ? errno : tun_rtnl_request(&req.nh, &ans.nh, sizeof(ans));
    if (e == 0) return tun_wait_ipv6_local(ifname, a, err, errcap);
    if (e == EACCES)
        tun_set_error(err, errcap, "cannot %s of %s: IPv6 is off on the device", what, ifname);
    else
        tun_config_error(e, what, ifname, err, errcap);
    return -1;
}

/* IPv4 address and netmask (the address first: setting it resets the netmask to the
 * address's class). */
static int tun_set_ipv4(int s, struct ifreq *ifr, const struct synack_ifaddr *a, char *err,
                        size_t errcap)
{
    tun_ifreq_addr(ifr, synack_addr_v4_value(&a->addr));
    if (tun_ioctl(s, SIOCSIFADDR, ifr, "set the address", err, errcap) != 0) return -1;
    uint32_t mask = a->prefix == 0 ? 0 : UINT32_MAX << (32u - a->prefix);
    tun_ifreq_addr(ifr, mask);
    return tun_ioctl(s, SIOCSIFNETMASK, ifr, "set the netmask", err, errcap);
}

/* Gives the kernel's side its addresses and MTU (when asked) and brings it up; then reads
 * back the MTU in force into *mtu. IPv6 addresses go on once the device is up, so that
 * their prefix routes are made at once. */
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
    const struct synack_ifaddr *v4 = tun_host_addr(cfg, SYNACK_AF_INET);
    bool v6 = tun_host_addr(cfg, SYNACK_AF_INET6) != NULL;
    int rc = 0;
    if (tun_configures(cfg)) {
        /* IPv6 on for the device first: no IPv6 address goes on while it is off. */
        if (v6) rc = tun_ipv6_sysctl(ifname, "disable_ipv6", '0', "turn IPv6 on", err, errcap);
        if (rc == 0 && v4) rc = tun_set_ipv4(s, &ifr, v4, err, errcap);
        if (rc == 0 && cfg->mtu != 0) {
            ifr.ifr_mtu = (int)cfg->mtu;
            rc = tun_ioctl(s, SIOCSIFMTU, &ifr, "set the MTU", err, errcap);
        }
        if (rc == 0) rc = tun_ioctl(s, SIOCGIFFLAGS, &ifr, "read the flags", err, errcap);
        if (rc == 0) {
            ifr.ifr_flags |= IFF_UP;
            rc = tun_ioctl(s, SIOCSIFFLAGS, &ifr, "bring up", err, errcap);
        }
        for (size_t k = 0; rc == 0 && k < SYNACK_TUN_HOST_ADDRS; k++)
            if (cfg->host_addrs[k].addr.family == SYNACK_AF_INET6)
                rc = tun_add_ipv6(ifname, &cfg->host_addrs[k], err, errcap);
    }
    if (rc == 0) rc = tun_ioctl(s, SIOCGIFMTU, &ifr, "read the MTU", err, errcap);
    if (rc == 0) *mtu = ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : 0;
    close(s);
    return rc;
}

/* The checks of the configuration that need no device. 0, or INVAL with a sentence. */
static int tun_check_config(const struct synack_tun_config *cfg, size_t namelen, char *err,
                            size_t errcap)
{
    if (namelen == 0 || namelen >= IFNAMSIZ) {
        tun_set_error(err, errcap, "a TUN device name has 1 to %d characters", IFNAMSIZ - 1);
        return SYNACK_ERR_INVAL;
    }
    unsigned v4 = 0;
    for (size_t k = 0; k < SYNACK_TUN_HOST_ADDRS; k++) {
        const struct synack_ifaddr *a = &cfg->host_addrs[k];
        unsigned bits = a->addr.family == SYNACK_AF_INET6 ? 128 : 32;
        if (a->addr.family == SYNACK_AF_NONE) continue;
        if (a->addr.family == SYNACK_AF_INET) v4++;
        if (a->addr.family != SYNACK_AF_INET && a->addr.family != SYNACK_AF_INET6) {
            tun_set_error(err, errcap, "host address %zu is of no known family", k);
            return SYNACK_ERR_INVAL;
        }
        if (a->prefix == 0 || a->prefix > bits) {
            tun_set_error(err, errcap, "prefix length %u is not between 1 and %u", a->prefix, bits);
            return SYNACK_ERR_INVAL;
        }
    }
    if (v4 > 1) {
        tun_set_error(err, errcap,
                      "the kernel's side takes one IPv4 address (it becomes the device's "
                      "primary address)");
        return SYNACK_ERR_INVAL;
    }
    if (cfg->offload < SYNACK_TUN_OFFLOAD_AUTO || cfg->offload > SYNACK_TUN_OFFLOAD_REQUIRE) {
        tun_set_error(err, errcap, "offload %d is not SYNACK_TUN_OFFLOAD_AUTO, _OFF or _REQUIRE",
                      cfg->offload);
        return SYNACK_ERR_INVAL;
    }
    if (cfg->mtu != 0 && (cfg->mtu < 68 || cfg->mtu > TUN_MAX_PACKET)) {
        tun_set_error(err, errcap, "MTU %u is not between 68 and %d", cfg->mtu, TUN_MAX_PACKET);
        return SYNACK_ERR_INVAL;
    }
    /* RFC 8200 §5: every link that carries IPv6 has an MTU of 1280 or more (and Linux
     * turns IPv6 off on a device below it). */
    if (cfg->mtu != 0 && cfg->mtu < 1280 && tun_host_addr(cfg, SYNACK_AF_INET6)) {
        tun_set_error(err, errcap, "MTU %u is below the 1280 bytes IPv6 needs (RFC 8200 §5)",
                      cfg->mtu);
        return SYNACK_ERR_INVAL;
    }
    return 0;
}

/* Opens the device and attaches `t->ifname`, with a virtio-net header and offloads unless
 * cfg->offload is OFF; under AUTO a kernel that refuses the header gets a second, plain
 * open. Sets t->offloads. The descriptor, or -1 with a sentence. */
static int tun_open_offload(struct tun_link *t, const struct synack_tun_config *cfg,
                            bool multi_queue, char *err, size_t errcap)
{
    bool vnet = cfg->offload != SYNACK_TUN_OFFLOAD_OFF;
    int fd = tun_open_device(err, errcap);
    if (fd < 0) return -1;
    if (tun_attach(fd, t->ifname, vnet, multi_queue, err, errcap) != 0) {
        close(fd);
        return -1;
    }
    if (!vnet) return fd;
    int got = tun_setup_vnet(fd, t->ifname, err, errcap);
    if (got >= 0 &&
        (cfg->offload != SYNACK_TUN_OFFLOAD_REQUIRE || (got & SYNACK_TUN_OFFLOADED_CSUM))) {
        t->offloads = (unsigned)got;
        return fd;
    }
    close(fd);
    if (cfg->offload == SYNACK_TUN_OFFLOAD_REQUIRE) {
        if (got >= 0)
            tun_set_error(err, errcap,
                          "the kernel refused checksum offload (TUNSETOFFLOAD TUN_F_CSUM) on "
                          "%s: open it with offload AUTO or OFF",
                          t->ifname);
        return -1;
    }
    if (err != NULL && errcap > 0) err[0] = '\0';
    fd = tun_open_device(err, errcap);
    if (fd >= 0 && tun_attach(fd, t->ifname, false, multi_queue, err, errcap) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* synack_tun_open, of a multi-queue device when `multi_queue` (its first queue). */
static int tun_open(struct synack_link **out, const struct synack_tun_config *cfg, bool multi_queue,
                    bool configure, char *err, size_t errcap)
{
    size_t namelen = cfg->ifname ? strlen(cfg->ifname) : 0;
    int rc = tun_check_config(cfg, namelen, err, errcap);
    if (rc != 0) return rc;
    struct tun_link *t = calloc(1, sizeof(*t));
    if (t == NULL) return SYNACK_ERR_NOMEM;
    t->base.ops = &tun_ops;
    memcpy(t->ifname, cfg->ifname, namelen);
    t->fd = tun_open_offload(t, cfg, multi_queue, err, errcap);
    if (t->fd < 0 || (configure && tun_configure(t->ifname, cfg, &t->mtu, err, errcap) != 0)) {
        if (t->fd >= 0) close(t->fd);
        free(t);
        return SYNACK_ERR_IO;
    }
    *out = &t->base;
    return 0;
}

int synack_tun_open(struct synack_link **out, const struct synack_tun_config *cfg, char *err,
                    size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    if (out == NULL || cfg == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    return tun_open(out, cfg, false, true, err, errcap);
}

/* Queue `k` > 0 of the multi-queue device `first` opened: another descriptor attached to
 * the same name, with the same header and offloads. */
static int tun_open_queue(struct synack_link **out, const struct tun_link *first, unsigned k,
                          char *err, size_t errcap)
{
    struct tun_link *t = calloc(1, sizeof(*t));
    if (t == NULL) return SYNACK_ERR_NOMEM;
    t->base.ops = &tun_ops;
    memcpy(t->ifname, first->ifname, sizeof t->ifname);
    t->mtu = first->mtu;
    bool vnet = (first->offloads & SYNACK_TUN_OFFLOADED_VNET_HDR) != 0;
    t->fd = tun_open_device(err, errcap);
    int got = 0;
    if (t->fd >= 0 && (tun_attach(t->fd, t->ifname, vnet, true, err, errcap) != 0 ||
                       (vnet && (got = tun_setup_vnet(t->fd, t->ifname, err, errcap)) < 0))) {
        close(t->fd);
        t->fd = -1;
    }
    if (t->fd < 0) {
        size_t n = err ? strlen(err) : 0;
        if (err && n + 1 < errcap) snprintf(err + n, errcap - n, " (queue %u)", k);
        free(t);
        return SYNACK_ERR_IO;
    }
    /* The offloads are the device's: what the first queue took holds for all. */
    t->offloads = vnet ? first->offloads : 0;
    (void)got;
    *out = &t->base;
    return 0;
}

int synack_tun_open_queues(struct synack_link **out, unsigned queues,
                           const struct synack_tun_config *cfg, char *err, size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    if (out == NULL || cfg == NULL) return SYNACK_ERR_INVAL;
    if (queues == 0 || queues > SYNACK_TUN_MAX_QUEUES) {
        tun_set_error(err, errcap, "a TUN device has 1 to %u queues, not %u", SYNACK_TUN_MAX_QUEUES,
                      queues);
        return SYNACK_ERR_INVAL;
    }
    for (unsigned k = 0; k < queues; k++)
        out[k] = NULL;
    /* One queue is a plain device; several are configured (addresses, MTU, up) only once
     * the program steers, so that no packet is spread by the kernel's own choice. */
    int rc = tun_open(&out[0], cfg, queues > 1, queues == 1, err, errcap);
    for (unsigned k = 1; rc == 0 && k < queues; k++)
        rc = tun_open_queue(&out[k], tun_of_const(out[0]), k, err, errcap);
    if (rc == 0 && queues > 1) {
        /* The kernel's own choice of queue follows its sockets' random transmit hash, which
         * a stack cannot predict and which changes after a timeout (the flow table it also
         * keeps forgets in seconds): the program makes it synack_flow_queue_xor. */
        int prog = tun_steer_program(queues, err, errcap);
        if (prog < 0) {
            rc = SYNACK_ERR_IO;
        } else {
            if (ioctl(tun_of_const(out[0])->fd, TUNSETSTEERINGEBPF, &prog) != 0) {
                tun_set_error(err, errcap, "cannot attach the steering program to %s: %s",
                              tun_of_const(out[0])->ifname, strerror(errno));
                rc = SYNACK_ERR_IO;
            }
            close(prog); /* the device holds it */
        }
        unsigned mtu = 0;
        if (rc == 0 && tun_configure(tun_of_const(out[0])->ifname, cfg, &mtu, err, errcap) != 0)
            rc = SYNACK_ERR_IO;
        for (unsigned k = 0; rc == 0 && k < queues; k++)
            tun_of(out[k])->mtu = mtu;
    }
    if (rc != 0)
        for (unsigned k = 0; k < queues; k++) {
            synack_link_free(out[k]);
            out[k] = NULL;
        }
    return rc;
}
