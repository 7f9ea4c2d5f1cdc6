/* UDP encapsulation (link.h): each IP packet of the stack, IPv4 or IPv6, is the whole
 * payload of one UDP datagram between a local and a peer address, themselves IPv4 or IPv6
 * (the outer family is the peer's), so two unprivileged processes can speak TCP to each
 * other through the kernel's UDP.
 *
 * The socket is bound to the local address and connected to the peer: the kernel then
 * delivers only the peer's datagrams, reports the path MTU (IP_MTU, IPV6_MTU), and reports
 * ICMP and ICMPv6 errors about our datagrams (port unreachable while the peer has not
 * started yet) as a pending error on the next send or receive. Those errors concern
 * packets already gone: they are counted in icmp_errors and never fail the link.
 *
 * Path MTU: no datagram is fragmented on the way (IPv4: DF set by IP_PMTUDISC_DO; IPv6:
 * routers never fragment, RFC 8200 §5, and IPV6_PMTUDISC_DO keeps the kernel from doing it
 * at the source), so when a router says "fragmentation needed" (RFC 1191) or "packet too
 * big" (RFC 8201 §4) the kernel caches the lower path MTU and from then on refuses
 * (EMSGSIZE) every datagram that does not fit. The stack would never learn that and would
 * resend the same full-size segments for ever. So the link plays the router: for a packet
 * refused as too big it hands the stack, on the next recv, the message a router would
 * have sent about it (by the inner packet's family: RFC 1191 §4 fragmentation needed, or
 * RFC 4443 §3.2 packet too big), with the next-hop MTU the kernel now knows less the
 * encapsulation; the stack lowers its MSS and resends (RFC 1191 §6.4, RFC 8201 §4).
 *
 * Batches: one recvmmsg(2) reads every datagram waiting (up to a batch) into the link's
 * own slots, and recv hands them out one by one; the packets of one output pass
 * (synack_link_queue, then synack_link_flush) leave in one sendmmsg(2). A system call per
 * wake-up each way instead of one per packet. The slots are allocated when the link is
 * opened, one datagram of the largest MTU each, so a datagram larger than that is
 * truncated by the kernel (MSG_TRUNC) and dropped, counted in rx_errors (with UDP_GRO the
 * slots are larger, and such a datagram is dropped and counted all the same).
 *
 * Segmentation offloads (unless no_offload): the packets of one output pass that follow
 * each other with the same length (a train of full-sized segments, a run of ACKs), up to
 * 63 and a datagram's worth of bytes, the last one shorter or not, leave as one message
 * with UDP_SEGMENT, and the kernel cuts it into one datagram per packet as late as it can
 * (on loopback, not at all before the receiving socket). The receiving socket has UDP_GRO,
 * so such a train, or datagrams a NIC's GRO merged, arrives in one buffer with the size of
 * its datagrams (the UDP_GRO control message), and recv hands them out one by one. Its
 * receive slots are then a whole datagram's worth each (16 of them, UDP_BATCH_BYTES in
 * all), and a datagram larger than the largest MTU is dropped and counted as before. Either
 * offload the kernel refuses is not asked for again: a train it will not send goes again
 * one datagram at a time, as every packet did before. */
#include "synack/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

/* The outer headers around each packet: IPv4 (20) + UDP (8), or IPv6 (40) + UDP (8). */
#define UDP_OVERHEAD_V4 28u
#define UDP_OVERHEAD_V6 48u
/* The largest UDP payload: over IPv4 65535 less the headers (the Total Length field covers
 * them all); over IPv6 65535 less the UDP header (Payload Length leaves out the fixed
 * header, RFC 8200 §3; no jumbograms). Loopback's MTU is 65536, so the kernel's path MTU
 * alone could promise more than a datagram can carry. */
#define UDP_MAX_PAYLOAD_V4 (65535u - UDP_OVERHEAD_V4)
#define UDP_MAX_PAYLOAD_V6 (65535u - 8u)
/* The path MTU assumed when the configuration gives none: an Ethernet path, even on
 * loopback (whose 65536 would make segments no real network carries). */
#define UDP_DEFAULT_PATH_MTU 1500u
#define UDP_DEFAULT_SOCKBUF (4u << 20)
/* Pending ICMP errors reported by one recv before it gives up and says AGAIN; each
 * report clears the error, so this only bounds a flood. */
#define UDP_MAX_ERRORS_PER_RECV 16
/* The largest message synack_packet_too_big writes: an IPv6 packet too big is at most the
 * IPv6 minimum MTU (RFC 4443 §3.2). */
#define UDP_TOO_BIG_MSG_MAX 1280
/* After the stack has read a message announcing some MTU, another announcing the same MTU
 * waits this long (RFC 1812 §4.3.2.8: a router limits the rate of its ICMP errors). A lower
 * MTU is news and is never held back. */
#define UDP_TOO_BIG_GAP SYNACK_MS(10)
/* Datagrams one recvmmsg reads, and packets one sendmmsg sends, at most: the event loop's
 * batch (SYNACK_LOOP_BATCH), so one wake-up's reads are one system call ... */
#define UDP_BATCH_MAX SYNACK_LOOP_BATCH
/* ... unless the slots of a batch would take more than this many bytes each way (a path
 * MTU of 64 KiB: 16 slots), since they are allocated whole when the link is opened. */
#define UDP_BATCH_BYTES (1u << 20)
/* Datagrams in one UDP_SEGMENT train at most: Linux takes 64 from 4.18 (UDP_MAX_SEGMENTS),
 * 128 in later kernels, but before 5.16 it counted the headers in against gso_size * 64, so
 * a train of exactly 64 could be refused; 63 is what every kernel with the option takes. */
#define UDP_GSO_MAX_SEGS 63u
/* The control message of one received buffer: UDP_GRO's int. */
#define UDP_GRO_CTL CMSG_SPACE(sizeof(int))

/* A socket address of either family. */
union udp_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
};

struct udp_link {
    struct synack_link base;
    int fd;
    union udp_sockaddr peer;
    socklen_t peer_len;
    enum synack_family family; /* the outer family: the peer's */
    unsigned overhead;         /* UDP_OVERHEAD_V4 or _V6 */
    unsigned max_payload;      /* UDP_MAX_PAYLOAD_V4 or _V6 */
    unsigned path_mtu_max;
    unsigned rcvbuf, sndbuf; /* SO_RCVBUF / SO_SNDBUF as the kernel reported them */
    struct synack_link_stats stats;
    uint64_t icmp_refused; /* of stats.icmp_errors, the port unreachables (synack_udp_refused) */
    /* The fragmentation-needed message waiting for recv (at most one: a newer one
     * replaces it); too_big_len 0 when none. */
    uint8_t too_big_msg[UDP_TOO_BIG_MSG_MAX];
    size_t too_big_len;
    uint16_t too_big_mtu;     /* its next-hop MTU */
    synack_time_t too_big_at; /* the `now` of the refused send: next_deadline meanwhile */
    /* The last message recv handed out: its MTU and when it was made (rate limit). */
    bool too_big_told;
    uint16_t too_big_told_mtu;
    synack_time_t too_big_told_at;
    /* Batches: `batch` send slots of `slot` bytes (slot: the largest MTU the link can
     * report, so a full-sized packet always fits), and `rx_batch` receive slots of
     * `rx_slot` bytes (the same, or with UDP_GRO a whole datagram's worth each). */
    size_t slot, rx_slot;
    unsigned batch, rx_batch;
    bool gso, gro; /* UDP_SEGMENT in use (until the kernel refuses it), UDP_GRO granted */
    struct synack_udp_offload_stats offload;
    /* Received: rx_count datagrams of the last recvmmsg, rx_next the next to hand out,
     * rx_at the `now` of that read (next_deadline while some wait). rx_short: that read
     * found fewer than `rx_batch` (the socket was empty then), so once they are handed out
     * recv says AGAIN without asking the kernel again; the next recv asks. */
    uint8_t *rx_buf;
    unsigned rx_count, rx_next;
    size_t rx_off, rx_seg; /* within slot rx_next: the next datagram's offset, their size */
    bool rx_short;
    synack_time_t rx_at;
    struct mmsghdr rx_msgs[UDP_BATCH_MAX];
    struct iovec rx_iov[UDP_BATCH_MAX];
    union udp_sockaddr rx_from[UDP_BATCH_MAX];
    union {
        struct cmsghdr align;
        uint8_t buf[UDP_GRO_CTL];
    } rx_ctl[UDP_BATCH_MAX];
    /* Queued to send: tx_count packets in the first slots, in order. */
    uint8_t *tx_buf;
    unsigned tx_count;
    struct mmsghdr tx_msgs[UDP_BATCH_MAX];
    struct iovec tx_iov[UDP_BATCH_MAX];
    /* The trains of one flush (UDP_SEGMENT): each message's iovecs are consecutive entries
     * of tx_iov, one datagram each. */
    struct mmsghdr train_msgs[UDP_BATCH_MAX];
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
    } train_ctl[UDP_BATCH_MAX];
    uint64_t rx_calls, tx_calls; /* recvmmsg and sendmmsg calls made (synack_udp_calls) */
};

static struct udp_link *udp_of(struct synack_link *l)
{
    return (struct udp_link *)l;
}

static const struct udp_link *udp_of_const(const struct synack_link *l)
{
    return (const struct udp_link *)l;
}

/* An error the kernel reports on a connected UDP socket because of an ICMP message about
 * a datagram we sent earlier (RFC 1122 §4.1.3.3: UDP passes ICMP errors up). Normal while
 * the peer process is not running yet, or after it has gone. */
static bool udp_is_icmp_error(int e)
{
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
           e == EMSGSIZE || e == EPROTO;
}

static void udp_count_icmp_error(struct udp_link *u, int e)
{
    u->stats.icmp_errors++;
    if (e == ECONNREFUSED) u->icmp_refused++;
}

/* Drops a datagram that cannot be an IP packet (of a version other than 4 and 6, or
 * shorter than its fixed header: 20 bytes for IPv4, RFC 791 §3.1; 40 for IPv6, RFC 8200
 * §3) before the stack sees it: counted in rx_errors. */
static bool udp_is_ip_packet(const uint8_t *buf, size_t len)
{
    unsigned version = len > 0 ? buf[0] >> 4 : 0;
    return (version == 4 && len >= 20) || (version == 6 && len >= 40);
}

static bool udp_from_peer(const struct udp_link *u, const union udp_sockaddr *from,
                          socklen_t fromlen)
{
    if (fromlen < u->peer_len || from->sa.sa_family != u->peer.sa.sa_family) return false;
    if (from->sa.sa_family == AF_INET)
        return from->sin.sin_addr.s_addr == u->peer.sin.sin_addr.s_addr &&
               from->sin.sin_port == u->peer.sin.sin_port;
    return memcmp(&from->sin6.sin6_addr, &u->peer.sin6.sin6_addr, 16) == 0 &&
           from->sin6.sin6_port == u->peer.sin6.sin6_port;
}

/* The path MTU to the peer as the kernel knows it now (IP_MTU or IPV6_MTU of the connected
 * socket: RFC 1191, RFC 8201), or 0 when it will not say. */
static unsigned udp_kernel_mtu(const struct udp_link *u)
{
    int mtu = 0;
    socklen_t optlen = sizeof(mtu);
    int rc = u->family == SYNACK_AF_INET6 ? getsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &optlen)
                                          : getsockopt(u->fd, IPPROTO_IP, IP_MTU, &mtu, &optlen);
    if (rc != 0 || mtu <= 0) return 0;
    return (unsigned)mtu;
}

/* The stack's MTU: min(kernel path MTU, path_mtu_max) less the encapsulation, and never
 * more than a UDP datagram carries. */
static unsigned udp_mtu_now(const struct udp_link *u)
{
    unsigned path = u->path_mtu_max;
    unsigned kernel = udp_kernel_mtu(u);
    if (kernel != 0 && kernel < path) path = kernel;
    unsigned mtu = path > u->overhead ? path - u->overhead : 0;
    return mtu < u->max_payload ? mtu : u->max_payload;
}

/* Did the kernel refuse (errno `e`) a packet of `len` bytes because it is larger than the
 * path allows, rather than report an ICMP error about an earlier datagram? The kernel's
 * path MTU is read after the refusal: a route change or a router's message lowers it
 * without the socket showing it until the next send. */
static bool udp_is_too_big(const struct udp_link *u, int e, size_t len)
{
    if (e != EMSGSIZE) return false;
    unsigned kernel = udp_kernel_mtu(u);
    return len > u->max_payload || kernel == 0 || len + u->overhead > kernel;
}

/* A packet of `len` bytes was refused as too big: queue the fragmentation-needed (IPv4) or
 * packet-too-big (IPv6) message about it for recv, replacing one still waiting (the newest
 * is about the latest state), unless the stack was told about this same MTU less than
 * UDP_TOO_BIG_GAP ago. An IPv6 packet is told the MTU as it is, even below 1280: RFC 8201
 * §4 leaves what to do with such a report to the stack. */
static void udp_queue_too_big(struct udp_link *u, const uint8_t *pkt, size_t len, synack_time_t now)
{
    unsigned mtu = udp_mtu_now(u);
    if (mtu >= len) return; /* then the message would not be about this packet */
    if (u->too_big_len == 0 && u->too_big_told && mtu >= u->too_big_told_mtu &&
        now >= u->too_big_told_at && now - u->too_big_told_at < UDP_TOO_BIG_GAP)
        return;
    /* The message a router would send about it (RFC 1191 §4, RFC 4443 §3.2), from the far
     * end. */
    size_t n = synack_packet_too_big(u->too_big_msg, sizeof u->too_big_msg, pkt, len, mtu);
    if (n == 0) return;
    u->too_big_len = n;
    u->too_big_mtu = (uint16_t)mtu;
    u->too_big_at = now;
}

/* Hands the waiting fragmentation-needed or packet-too-big message to the stack. */
static synack_ssize udp_recv_too_big(struct udp_link *u, uint8_t *buf, size_t cap)
{
    size_t n = u->too_big_len;
    u->too_big_len = 0;
    if (n > cap) {
        u->stats.rx_errors++;
        return SYNACK_ERR_BUFSZ;
    }
    memcpy(buf, u->too_big_msg, n);
    u->too_big_told = true;
    u->too_big_told_mtu = u->too_big_mtu;
    u->too_big_told_at = u->too_big_at;
    u->stats.rx_packets++;
    u->stats.rx_bytes += n;
    return (synack_ssize)n;
}

/* Reads up to `rx_batch` datagrams with one recvmmsg(2) into the receive slots. Returns how
 * many (at least 1), AGAIN (none waiting), or IO (counted). recvmmsg(2): on a
 * non-blocking socket it returns what is queued, and an error met after the first
 * datagram is kept for the next call, which reports it (an ICMP error is counted then). */
static synack_ssize udp_rx_fill(struct udp_link *u, synack_time_t now)
{
    int icmp_errors = 0;
    for (;;) {
        for (unsigned i = 0; i < u->rx_batch; i++) {
            u->rx_msgs[i].msg_hdr.msg_namelen = sizeof(u->rx_from[i]);
            u->rx_msgs[i].msg_hdr.msg_flags = 0;
            if (u->gro) u->rx_msgs[i].msg_hdr.msg_controllen = sizeof(u->rx_ctl[i].buf);
        }
        int n = recvmmsg(u->fd, u->rx_msgs, u->rx_batch, 0, NULL);
        u->rx_calls++;
        if (n > 0) {
            u->rx_count = (unsigned)n;
            u->rx_next = 0;
            u->rx_off = 0;
            u->rx_short = (unsigned)n < u->rx_batch;
            u->rx_at = now;
            return n;
        }
        int e = n < 0 ? errno : EAGAIN;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) return SYNACK_ERR_AGAIN;
        if (udp_is_icmp_error(e)) {
            udp_count_icmp_error(u, e);
            if (++icmp_errors >= UDP_MAX_ERRORS_PER_RECV) return SYNACK_ERR_AGAIN;
            continue;
        }
        u->stats.rx_errors++;
        return SYNACK_ERR_IO;
    }
}

/* The size of the datagrams merged in received buffer `h` of `n` bytes (its UDP_GRO control
 * message), or `n` when it holds one datagram: no message, or one that says 0 or `n` or
 * more (a size the kernel would never give is taken as no merging). */
static size_t udp_gro_size(const struct msghdr *h, size_t n)
{
    for (const struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL;
         c = CMSG_NXTHDR((struct msghdr *)(uintptr_t)h, (struct cmsghdr *)(uintptr_t)c)) {
        if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
            c->cmsg_len < CMSG_LEN(sizeof(int)))
            continue;
        int v;
        memcpy(&v, CMSG_DATA(c), sizeof v);
        return v > 0 && (size_t)v < n ? (size_t)v : n;
    }
    return n;
}

/* Copies the next datagram read that may be handed to the stack into `buf` and returns
 * its length; AGAIN when none is left. A buffer of datagrams merged by UDP_GRO is handed
 * out one datagram at a time. Datagrams from another source (connected, so only the
 * peer's arrive, but those queued between bind() and connect() may come from anyone),
 * truncated ones (MSG_TRUNC: larger than a slot, recvmsg(2)) and those that cannot be IP
 * packets are dropped and counted on the way; one larger than `cap` is dropped and
 * counted too, and makes the call return BUFSZ. */
static synack_ssize udp_rx_take(struct udp_link *u, uint8_t *buf, size_t cap)
{
    while (u->rx_next < u->rx_count) {
        unsigned i = u->rx_next;
        const struct msghdr *h = &u->rx_msgs[i].msg_hdr;
        const uint8_t *slot = u->rx_buf + (size_t)i * u->rx_slot;
        size_t n = u->rx_msgs[i].msg_len;
        if (u->rx_off == 0) { /* the buffer's first datagram: the buffer's checks */
            if (!udp_from_peer(u, &u->rx_from[i], h->msg_namelen) || (h->msg_flags & MSG_TRUNC) ||
                n > u->rx_slot || n == 0) {
                u->stats.rx_errors++;
                u->rx_next++;
                continue;
            }
            u->rx_seg = u->gro ? udp_gro_size(h, n) : n;
            if (u->rx_seg < n) {
                u->offload.gro_buffers++;
                u->offload.gro_datagrams += (n + u->rx_seg - 1) / u->rx_seg;
            }
        }
        const uint8_t *pkt = slot + u->rx_off;
        size_t len = n - u->rx_off < u->rx_seg ? n - u->rx_off : u->rx_seg;
        u->rx_off += len;
        if (u->rx_off >= n) {
            u->rx_next++;
            u->rx_off = 0;
        }
        /* Larger than the link's largest MTU: what a slot of that size would have cut. */
        if (len > u->slot || !udp_is_ip_packet(pkt, len)) {
            u->stats.rx_errors++;
            continue;
        }
        if (len > cap) {
            u->stats.rx_errors++;
            return SYNACK_ERR_BUFSZ;
        }
        memcpy(buf, pkt, len);
        u->stats.rx_packets++;
        u->stats.rx_bytes += (uint64_t)len;
        return (synack_ssize)len;
    }
    return SYNACK_ERR_AGAIN;
}

static synack_ssize udp_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct udp_link *u = udp_of(l);
    if (u->too_big_len > 0) return udp_recv_too_big(u, buf, cap);
    /* Each turn hands out a datagram already read or reads a new batch; it ends when the
     * socket is empty, so it is bounded by what the peer has sent. */
    for (;;) {
        synack_ssize n = udp_rx_take(u, buf, cap);
        if (n != SYNACK_ERR_AGAIN) return n;
        if (u->rx_short) {
            /* The last read emptied the socket: a datagram that came since makes the
             * descriptor readable, and the next recv reads it. */
            u->rx_short = false;
            return SYNACK_ERR_AGAIN;
        }
        n = udp_rx_fill(u, now);
        if (n < 0) return n;
    }
}

/* A packet the kernel refused with errno `e`: counted, and for one too big for the path
 * the router's message queued for recv. Returns what send reports. */
static int udp_tx_failed(struct udp_link *u, int e, const uint8_t *pkt, size_t len,
                         synack_time_t now)
{
    u->stats.tx_errors++;
    if (udp_is_too_big(u, e, len)) {
        /* Larger than the path MTU (IP_PMTUDISC_DO: the kernel never fragments). */
        u->stats.too_big++;
        udp_queue_too_big(u, pkt, len, now);
        return SYNACK_ERR_IO;
    }
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) return SYNACK_ERR_AGAIN;
    return SYNACK_ERR_IO;
}

/* Cuts the queued packets into trains (UDP_SEGMENT): a packet and those after it of the
 * same length, up to UDP_GSO_MAX_SEGS and max_payload bytes, the last one shorter or not.
 * Returns how many; a train of one is a plain message. */
static unsigned udp_trains(struct udp_link *u)
{
    unsigned k = 0;
    for (unsigned i = 0; i < u->tx_count; k++) {
        size_t seg = u->tx_iov[i].iov_len, total = seg;
        unsigned j = i + 1;
        while (j < u->tx_count && j - i < UDP_GSO_MAX_SEGS) {
            size_t len = u->tx_iov[j].iov_len;
            if (len > seg || total + len > u->max_payload) break;
            total += len;
            j++;
            if (len < seg) break; /* a shorter one ends the train */
        }
        struct msghdr *h = &u->train_msgs[k].msg_hdr;
        *h = (struct msghdr){.msg_iov = &u->tx_iov[i], .msg_iovlen = j - i};
        if (j - i > 1) {
            h->msg_control = u->train_ctl[k].buf;
            h->msg_controllen = sizeof(u->train_ctl[k].buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t size = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        i = j;
    }
    return k;
}

/* Did the kernel refuse a train of `seg`-byte datagrams because it will not segment at all
 * here (no UDP_SEGMENT, or no checksum offload on the route), rather than for what every
 * datagram of it would meet alone (the path MTU, no room, an ICMP error)? A segment larger
 * than the path MTU the kernel knows is refused with EINVAL before anything else (EMSGSIZE
 * from Linux 6.14, which is not taken for a refusal of the offload either). */
static bool udp_gso_refused(const struct udp_link *u, int e, size_t seg)
{
    if (e == EIO || e == EOPNOTSUPP || e == ENOPROTOOPT) return true;
    if (e != EINVAL) return false;
    unsigned mtu = udp_kernel_mtu(u);
    return mtu == 0 || seg + u->overhead <= mtu;
}

/* The bytes of message `m`: its iovecs, one datagram each. */
static size_t udp_msg_bytes(const struct mmsghdr *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->msg_hdr.msg_iovlen; i++)
        n += m->msg_hdr.msg_iov[i].iov_len;
    return n;
}

/* Sends the `count` messages of `msgs` in order with as few sendmmsg(2) calls as the kernel
 * allows, counting each packet's fate; returns that of the last (0, AGAIN or IO). A message
 * is one datagram, or a train (udp_trains: more than one iovec, one datagram each, its
 * iovecs in tx_iov).
 * sendmmsg(2): a call returns how many messages it sent; an error met after the first is
 * not reported, so the next call, starting at the message that failed, meets it again
 * (EMSGSIZE, EAGAIN) or sends it (a pending ICMP error is reported only once: then the
 * report was lost with the call and goes uncounted). A pending ICMP error reported on the
 * first message concerns an earlier datagram, so that message is tried once more. A train
 * the kernel refuses goes again one datagram at a time (tx_msgs), each settled as any
 * datagram is; when it refused the offload itself, so does the rest of the flush, and no
 * train is sent again. When the socket has no room (EAGAIN, ENOBUFS) the rest of the batch
 * is dropped and counted, as a router drops what its queue cannot take. Each call sends at
 * least one message or settles one, so the loop makes at most 2 * count calls (and those
 * of the datagrams of a refused train). */
static int udp_transmit(struct udp_link *u, struct mmsghdr *msgs, unsigned count, synack_time_t now)
{
    int rc = 0;
    bool retried = false;
    unsigned i = 0;
    while (i < count) {
        int n = sendmmsg(u->fd, msgs + i, count - i, 0);
        u->tx_calls++;
        for (int k = 0; k < n; k++, i++) {
            size_t segs = msgs[i].msg_hdr.msg_iovlen, len = udp_msg_bytes(&msgs[i]);
            if (msgs[i].msg_len == len) {
                u->stats.tx_packets += segs;
                u->stats.tx_bytes += len;
                if (segs > 1) {
                    u->offload.gso_trains++;
                    u->offload.gso_datagrams += segs;
                }
                rc = 0;
            } else { /* a datagram is never cut */
                u->stats.tx_errors += segs - 1;
                rc = udp_tx_failed(u, EIO, NULL, len, now);
            }
            retried = false;
        }
        if (n > 0) continue;
        int e = n < 0 ? errno : EIO;
        if (e == EINTR) continue;
        const struct iovec *iov = msgs[i].msg_hdr.msg_iov;
        size_t segs = msgs[i].msg_hdr.msg_iovlen;
        if (!retried && udp_is_icmp_error(e) && !udp_is_too_big(u, e, iov->iov_len)) {
            udp_count_icmp_error(u, e);
            retried = true;
            continue;
        }
        retried = false;
        if (segs > 1) {
            unsigned first = (unsigned)(iov - u->tx_iov), end = first + (unsigned)segs;
            i++;
            if (udp_gso_refused(u, e, iov->iov_len)) {
                u->gso = false;
                u->offload.gso_refused = true;
                end = u->tx_count;
                i = count;
            }
            rc = udp_transmit(u, &u->tx_msgs[first], end - first, now);
        } else {
            rc = udp_tx_failed(u, e, iov->iov_base, iov->iov_len, now);
            i++;
        }
        if (rc == SYNACK_ERR_AGAIN) {
            for (; i < count; i++)
                u->stats.tx_errors += msgs[i].msg_hdr.msg_iovlen;
        }
    }
    return rc;
}

/* Sends what udp_queue holds. */
static void udp_flush(struct synack_link *l, synack_time_t now)
{
    struct udp_link *u = udp_of(l);
    if (u->tx_count == 0) return;
    if (u->gso)
        (void)udp_transmit(u, u->train_msgs, udp_trains(u), now);
    else
        (void)udp_transmit(u, u->tx_msgs, u->tx_count, now);
    u->tx_count = 0;
}

static int udp_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct udp_link *u = udp_of(l);
    udp_flush(l, now); /* what was queued before it leaves before it */
    struct iovec iov = {.iov_base = (void *)(uintptr_t)pkt, .iov_len = len};
    struct mmsghdr msg = {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    return udp_transmit(u, &msg, 1, now);
}

/* Copies the packet into the next send slot; a full batch is sent first. A packet larger
 * than a slot (than the link's largest MTU) goes at once, alone, as send sends it. */
static int udp_queue(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct udp_link *u = udp_of(l);
    if (len > u->slot) return udp_send(l, pkt, len, now);
    if (u->tx_count == u->batch) udp_flush(l, now);
    unsigned i = u->tx_count++;
    memcpy(u->tx_iov[i].iov_base, pkt, len);
    u->tx_iov[i].iov_len = len;
    return 0;
}

static int udp_fd(const struct synack_link *l)
{
    return udp_of_const(l)->fd;
}

static unsigned udp_mtu(const struct synack_link *l)
{
    return udp_mtu_now(udp_of_const(l));
}

/* A waiting fragmentation-needed or packet-too-big message is due at once, and so are
 * datagrams read and not yet handed out: the loop then reads the link without waiting for
 * the socket (which neither makes readable). */
static synack_time_t udp_next_deadline(const struct synack_link *l)
{
    const struct udp_link *u = udp_of_const(l);
    synack_time_t at = u->too_big_len > 0 ? u->too_big_at : SYNACK_NEVER;
    /* Datagrams already read and not yet handed out: the socket no longer polls readable
     * for them (an event loop reading a batch of its own size never leaves any). */
    if (u->rx_next < u->rx_count && u->rx_at < at) at = u->rx_at;
    return at;
}

static void udp_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = udp_of_const(l)->stats;
}

static void udp_free(struct synack_link *l)
{
    struct udp_link *u = udp_of(l);
    udp_flush(l, u->too_big_at); /* what was queued still leaves (the time only stamps a
                                    message for a recv that never comes) */
    close(u->fd);
    free(u->rx_buf);
    free(u->tx_buf);
    free(u);
}

static const struct synack_link_ops udp_ops = {
    .kind = "udp",
    .recv = udp_recv,
    .send = udp_send,
    .fd = udp_fd,
    .next_deadline = udp_next_deadline,
    .poll = NULL,
    .mtu = udp_mtu,
    .stats = udp_stats,
    .free = udp_free,
    .queue = udp_queue,
    .flush = udp_flush,
};

/* The socket address of endpoint `e` in `family` (an address of no family: that family's
 * wildcard). Returns its length. */
static socklen_t udp_sockaddr_of(const struct synack_endpoint *e, enum synack_family family,
                                 union udp_sockaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (family == SYNACK_AF_INET6) {
        out->sin6.sin6_family = AF_INET6;
        out->sin6.sin6_port = htons(e->port);
        if (e->addr.family == SYNACK_AF_INET6) memcpy(&out->sin6.sin6_addr, e->addr.bytes, 16);
        return sizeof(out->sin6);
    }
    out->sin.sin_family = AF_INET;
    out->sin.sin_port = htons(e->port);
    if (e->addr.family == SYNACK_AF_INET) memcpy(&out->sin.sin_addr, e->addr.bytes, 4);
    return sizeof(out->sin);
}

/* "127.0.0.1:9000" or "[::1]:9000" for `e` taken in `family`. */
static void udp_format_endpoint(char *out, size_t cap, const struct synack_endpoint *e,
                                enum synack_family family)
{
    struct synack_endpoint shown = *e;
    if (shown.addr.family == SYNACK_AF_NONE) shown.addr = synack_addr_any(family);
    synack_endpoint_format(&shown, out, cap);
}

/* Writes a sentence into `err` (if given). */
static void udp_set_error(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void udp_set_error(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* The sentence for a failed bind(): what a person can do about it. */
static void udp_bind_error(char *err, size_t errcap, const char *addr, int e)
{
    switch (e) {
    case EADDRINUSE:
        udp_set_error(err, errcap, "address %s is in use", addr);
        break;
    case EADDRNOTAVAIL:
        udp_set_error(err, errcap, "cannot bind %s: not an address of this host", addr);
        break;
    case EACCES:
        udp_set_error(err, errcap,
                      "no permission to bind %s: ports below 1024 need root or "
                      "CAP_NET_BIND_SERVICE",
                      addr);
        break;
    default:
        udp_set_error(err, errcap, "cannot bind %s: %s", addr, strerror(e));
        break;
    }
}

/* Asks for `bytes` of socket buffer: SO_*BUFFORCE first (root may exceed the system
 * maximum, which is often only 208 KiB), then the ordinary option, which the kernel
 * silently caps at net.core.rmem_max / wmem_max. A smaller buffer only costs drops under
 * bursts, so failure is not fatal. Returns the size the kernel then reports (0 if it does
 * not say). */
static unsigned udp_set_sockbuf(int fd, int force_opt, int opt, unsigned bytes)
{
    int v = bytes > (unsigned)INT32_MAX / 2 ? INT32_MAX / 2 : (int)bytes;
    if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
    int got = 0;
    socklen_t optlen = sizeof(got);
    if (getsockopt(fd, SOL_SOCKET, opt, &got, &optlen) != 0 || got < 0) return 0;
    return (unsigned)got;
}

/* Keeps every datagram whole on the way (RFC 1191 for IPv4: DF; RFC 8201 for IPv6: the
 * source does not fragment either), so one larger than the path MTU fails with EMSGSIZE
 * instead (counted). An IPv6 socket takes IPv6 only, so it never holds an IPv4 port. */
static void udp_set_pmtu_options(int fd, enum synack_family family)
{
    if (family == SYNACK_AF_INET6) {
        int on = 1, pmtu = IPV6_PMTUDISC_DO;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    } else {
        int pmtu = IP_PMTUDISC_DO;
        (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    }
}

static int udp_socket_open(struct udp_link *u, const struct synack_udp_config *cfg, char *err,
                           size_t errcap)
{
    char addr[SYNACK_ENDPOINT_STRLEN];
    int fd = socket(u->family == SYNACK_AF_INET6 ? AF_INET6 : AF_INET,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        udp_set_error(err, errcap, "cannot create a UDP socket%s: %s",
                      u->family == SYNACK_AF_INET6 ? " over IPv6" : "", strerror(errno));
        return -1;
    }
    unsigned buf = cfg->sockbuf ? cfg->sockbuf : UDP_DEFAULT_SOCKBUF;
    u->rcvbuf = udp_set_sockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF, buf);
    u->sndbuf = udp_set_sockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF, buf);
    udp_set_pmtu_options(fd, u->family);

    union udp_sockaddr local;
    socklen_t local_len = udp_sockaddr_of(&cfg->local, u->family, &local);
    if (bind(fd, &local.sa, local_len) != 0) {
        int e = errno;
        udp_format_endpoint(addr, sizeof(addr), &cfg->local, u->family);
        udp_bind_error(err, errcap, addr, e);
        close(fd);
        return -1;
    }
    if (connect(fd, &u->peer.sa, u->peer_len) != 0) {
        int e = errno;
        udp_format_endpoint(addr, sizeof(addr), &cfg->peer, u->family);
        udp_set_error(err, errcap, "cannot reach peer %s: %s", addr, strerror(e));
        close(fd);
        return -1;
    }
    return fd;
}

/* Asks for the segmentation offloads: UDP_SEGMENT at 0 (no train until a message asks
 * for one) says the kernel has it; UDP_GRO lets it hand merged datagrams to this socket.
 * Either one refused (a kernel before 4.18 or 5.0) is simply not used. */
static void udp_set_offloads(struct udp_link *u)
{
    int zero = 0, one = 1;
    u->gso = setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    u->gro = setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
    u->offload.gso_refused = !u->gso;
    u->offload.gro_refused = !u->gro;
}

/* The checks of the configuration that need no socket. 0, or INVAL with a sentence. */
static int udp_check_config(const struct synack_udp_config *cfg, char *err, size_t errcap)
{
    enum synack_family family = (enum synack_family)cfg->peer.addr.family;
    if (cfg->local.port == 0 || cfg->peer.port == 0 || synack_addr_is_any(&cfg->peer.addr)) {
        udp_set_error(err, errcap, "a UDP link needs a local port and a peer address and port");
        return SYNACK_ERR_INVAL;
    }
    if (family != SYNACK_AF_INET && family != SYNACK_AF_INET6) {
        udp_set_error(err, errcap, "the UDP peer's address is of no known family");
        return SYNACK_ERR_INVAL;
    }
    if (cfg->local.addr.family != SYNACK_AF_NONE && cfg->local.addr.family != family) {
        char l[SYNACK_ADDR_STRLEN], p[SYNACK_ADDR_STRLEN];
        synack_addr_format(&cfg->local.addr, l, sizeof(l));
        synack_addr_format(&cfg->peer.addr, p, sizeof(p));
        udp_set_error(err, errcap,
                      "the local address %s and the peer %s are of different families: the "
                      "socket speaks one",
                      l, p);
        return SYNACK_ERR_INVAL;
    }
    return 0;
}

/* Sizes and allocates the batch slots (link.h: a datagram of the largest MTU each; with
 * UDP_GRO, a whole datagram's worth each to receive) and points the messages at them. 0,
 * or -1 without memory. */
static int udp_batch_alloc(struct udp_link *u)
{
    unsigned mtu = u->path_mtu_max - u->overhead;
    u->slot = mtu < u->max_payload ? mtu : u->max_payload;
    size_t fit = UDP_BATCH_BYTES / u->slot;
    u->batch = fit < 1 ? 1 : fit > UDP_BATCH_MAX ? UDP_BATCH_MAX : (unsigned)fit;
    u->rx_slot = u->gro ? u->max_payload : u->slot;
    fit = UDP_BATCH_BYTES / u->rx_slot;
    u->rx_batch = fit < 1 ? 1 : fit > UDP_BATCH_MAX ? UDP_BATCH_MAX : (unsigned)fit;
    u->rx_buf = malloc((size_t)u->rx_batch * u->rx_slot);
    u->tx_buf = malloc((size_t)u->batch * u->slot);
    if (u->rx_buf == NULL || u->tx_buf == NULL) {
        free(u->rx_buf);
        free(u->tx_buf);
        return -1;
    }
    for (unsigned i = 0; i < u->rx_batch; i++) {
        u->rx_iov[i] = (struct iovec){u->rx_buf + (size_t)i * u->rx_slot, u->rx_slot};
        u->rx_msgs[i].msg_hdr = (struct msghdr){.msg_name = &u->rx_from[i],
                                                .msg_namelen = sizeof(u->rx_from[i]),
                                                .msg_iov = &u->rx_iov[i],
                                                .msg_iovlen = 1};
        if (u->gro) {
            u->rx_msgs[i].msg_hdr.msg_control = u->rx_ctl[i].buf;
            u->rx_msgs[i].msg_hdr.msg_controllen = sizeof(u->rx_ctl[i].buf);
        }
    }
    for (unsigned i = 0; i < u->batch; i++) {
        /* Connected: no destination named. */
        u->tx_iov[i] = (struct iovec){u->tx_buf + (size_t)i * u->slot, 0};
        u->tx_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &u->tx_iov[i], .msg_iovlen = 1};
    }
    return 0;
}

int synack_udp_open(struct synack_link **out, const struct synack_udp_config *cfg, char *err,
                    size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    if (out == NULL || cfg == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    int rc = udp_check_config(cfg, err, errcap);
    if (rc != 0) return rc;
    struct udp_link *u = calloc(1, sizeof(*u));
    if (u == NULL) return SYNACK_ERR_NOMEM;
    u->base.ops = &udp_ops;
    u->family = (enum synack_family)cfg->peer.addr.family;
    bool v6 = u->family == SYNACK_AF_INET6;
    u->overhead = v6 ? UDP_OVERHEAD_V6 : UDP_OVERHEAD_V4;
    u->max_payload = v6 ? UDP_MAX_PAYLOAD_V6 : UDP_MAX_PAYLOAD_V4;
    u->peer_len = udp_sockaddr_of(&cfg->peer, u->family, &u->peer);
    u->path_mtu_max = cfg->path_mtu_max ? cfg->path_mtu_max : UDP_DEFAULT_PATH_MTU;
    /* Room at least for an IPv4 header inside (the stack checks its own minimum). */
    if (u->path_mtu_max <= u->overhead + 20) {
        free(u);
        udp_set_error(err, errcap, "path MTU %u is too small for packets over UDP over %s",
                      cfg->path_mtu_max, v6 ? "IPv6" : "IPv4");
        return SYNACK_ERR_INVAL;
    }
    u->fd = udp_socket_open(u, cfg, err, errcap);
    if (u->fd < 0) {
        free(u);
        return SYNACK_ERR_IO;
    }
    if (!cfg->no_offload) udp_set_offloads(u);
    if (udp_batch_alloc(u) != 0) {
        udp_set_error(err, errcap, "out of memory for the UDP link's batches");
        close(u->fd);
        free(u);
        return SYNACK_ERR_NOMEM;
    }
    *out = &u->base;
    return 0;
}

int synack_udp_offload(const struct synack_link *l, struct synack_udp_offload_stats *out)
{
    if (l == NULL || l->ops != &udp_ops || out == NULL) return SYNACK_ERR_INVAL;
    const struct udp_link *u = udp_of_const(l);
    *out = u->offload;
    out->gso = u->gso;
    out->gro = u->gro;
    return 0;
}

int synack_udp_refused(const struct synack_link *l, uint64_t *out)
{
    if (l == NULL || l->ops != &udp_ops || out == NULL) return SYNACK_ERR_INVAL;
    *out = udp_of_const(l)->icmp_refused;
    return 0;
}

int synack_udp_sockbuf(const struct synack_link *l, unsigned *rcvbuf, unsigned *sndbuf)
{
    if (l == NULL || l->ops != &udp_ops) return SYNACK_ERR_INVAL;
    const struct udp_link *u = udp_of_const(l);
    if (rcvbuf != NULL) *rcvbuf = u->rcvbuf;
    if (sndbuf != NULL) *sndbuf = u->sndbuf;
    return 0;
}

int synack_udp_calls(const struct synack_link *l, uint64_t *rx_calls, uint64_t *tx_calls)
{
    if (l == NULL || l->ops != &udp_ops) return SYNACK_ERR_INVAL;
    const struct udp_link *u = udp_of_const(l);
    if (rx_calls != NULL) *rx_calls = u->rx_calls;
    if (tx_calls != NULL) *tx_calls = u->tx_calls;
    return 0;
}
