/*
 * UDP at the stack (RFC 768, RFC 8085 as guidance): the sockets it owns, which one a
 * datagram is for, what they send, the port unreachable a datagram for no socket draws
 * (RFC 1122 §4.1.3.1, RFC 4443 §3.1) and the ICMP errors about what they sent.
 *
 * Sending: a datagram that fits the MTU is built at once, IP header included, into the
 * stack's send queue (udp_sndbuf bytes for all sockets), which synack_stack_output
 * drains; a larger one goes through the stack's one fragmenting slot. A send that finds no
 * room gets AGAIN, and the socket a WRITABLE event once the queue has drained or the slot's
 * last fragment has left (whichever frees first: a socket woken for the other one may get
 * AGAIN again, and then another WRITABLE). A queued datagram's checksum is left partial
 * until it leaves: synack_stack_output_offload hands it so to a link that finishes it
 * (SYNACK_TX_CSUM), and finishes it itself for any other.
 * Receiving: each socket has a queue of udp_rcvbuf bytes (a datagram's data and a
 * 21-byte record each, at most udp_rcvbuf / 64 datagrams); a datagram that does not fit
 * is dropped (udp-queue-full). READABLE is sent when a datagram arrives to an empty queue.
 * The sockets are few (max_udp) and kept in one list, searched whole for each datagram.
 */
#include <string.h>

#include "base/addr.h"
#include "base/siphash.h"
#include "stack/stack.h"
#include "udp/udp.h"

/* IPv4: 65535 less the IPv4 and UDP headers; IPv6: Payload Length less the UDP header. */
#define UDP_MAX_DATA_V4 (65535u - 20u - 8u)
#define UDP_MAX_DATA_V6 (65535u - 8u)

int stack_udp_init(struct synack_stack *s)
{
    s->udp_txq_buf = stack_alloc(s, s->cfg.udp_sndbuf);
    if (!s->udp_txq_buf) return SYNACK_ERR_NOMEM;
    ring_init(&s->udp_txq, s->udp_txq_buf, s->cfg.udp_sndbuf);
    return 0;
}

void stack_udp_free(struct synack_stack *s)
{
    while (s->udp_socks) {
        struct synack_udp *u = s->udp_socks;
        s->udp_socks = u->next;
        stack_free(s, u);
    }
    stack_free(s, s->udp_txq_buf);
    s->udp_txq_buf = NULL;
}

static void udp_event(struct synack_udp *u, enum synack_event_type type, int err, synack_time_t now)
{
    struct synack_event ev = {
        .type = type, .conn_id = u->id, .user = u->user, .err = err, .time = now};
    evq_push(&u->stack->events, &ev);
}

static bool udp_port_in_use(const struct synack_stack *s, const struct synack_addr *addr,
                            uint16_t port)
{
    for (const struct synack_udp *u = s->udp_socks; u; u = u->next) {
        if (u->local.port == port && udp_bindings_overlap(&u->local.addr, addr)) return true;
    }
    return false;
}

/* RFC 6056 §3.3.3 as for TCP: a keyed offset, then a counter, to a free port. */
static uint16_t udp_ephemeral_port(struct synack_stack *s, const struct synack_addr *addr)
{
    uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
    struct synack_addr none = {0};
    uint32_t offset = (uint32_t)siphash_tuple(s->cfg.isn_secret, addr, 17, &none, 0);
    for (uint32_t tries = 0; tries < n; tries++) {
        uint16_t port = (uint16_t)(lo + (offset + s->port_counter++) % n);
        if (!udp_port_in_use(s, addr, port)) return port;
    }
    return 0;
}

static bool udp_addr_is_bindable(const struct synack_stack *s, const struct synack_addr *a)
{
    if (a->family == SYNACK_AF_NONE) return true;
    if (a->family != SYNACK_AF_INET && a->family != SYNACK_AF_INET6) return false;
    return addr_is_any(a) || stack_addr_is_local(s, a);
}

int synack_udp_bind(struct synack_stack *s, const struct synack_endpoint *local, void *user,
                    struct synack_udp **out)
{
    if (!s || !out || !local || !udp_addr_is_bindable(s, &local->addr)) return SYNACK_ERR_INVAL;
    if (s->nudp >= s->cfg.max_udp) return SYNACK_ERR_CONNLIMIT;
    uint16_t port = local->port;
    if (port == 0) {
        port = udp_ephemeral_port(s, &local->addr);
        if (port == 0) return SYNACK_ERR_NOPORTS;
    } else if (udp_port_in_use(s, &local->addr, port)) {
        return SYNACK_ERR_ADDRINUSE;
    }
    size_t cap = s->cfg.udp_rcvbuf;
    struct synack_udp *u = stack_alloc(s, sizeof *u + cap);
    if (!u) return SYNACK_ERR_NOMEM;
    memset(u, 0, sizeof *u);
    u->stack = s;
    u->id = s->next_id++;
    u->user = user;
    u->local = (struct synack_endpoint){local->addr, port};
    udp_rx_init(u, (uint8_t *)(u + 1), cap, cap / 64 ? cap / 64 : 1);
    u->next = s->udp_socks;
    s->udp_socks = u;
    s->nudp++;
    *out = u;
    return 0;
}

int synack_udp_connect(struct synack_udp *u, const struct synack_endpoint *remote)
{
    if (!u) return SYNACK_ERR_INVAL;
    if (!remote) {
        u->remote = (struct synack_endpoint){0};
        return 0;
    }
    if (!addr_is_unicast(&remote->addr) || remote->port == 0 ||
        !udp_local_allows(&u->local.addr, (enum synack_family)remote->addr.family))
        return SYNACK_ERR_INVAL;
    u->remote = *remote;
    u->pending_err = 0;
    return 0;
}

void synack_udp_close(struct synack_udp *u)
{
    if (!u) return;
    struct synack_stack *s = u->stack;
    for (struct synack_udp **pp = &s->udp_socks; *pp; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    }
    s->nudp--;
    stack_free(s, u);
}

uint64_t synack_udp_id(const struct synack_udp *u)
{
    return u ? u->id : 0;
}

int synack_udp_info(const struct synack_udp *u, struct synack_udp_info *out)
{
    if (!u || !out) return SYNACK_ERR_INVAL;
    *out = (struct synack_udp_info){.local = u->local,
                                    .remote = u->remote,
                                    .queued = u->rx_count,
                                    .queued_bytes = u->rx_bytes,
                                    .pending_err = u->pending_err,
                                    .counters = u->counters};
    return 0;
}

/* A connected socket's pending ICMP error, reported once (RFC 1122 §4.1.3.3: passed to the
 * application). */
static int udp_take_error(struct synack_udp *u)
{
    int err = u->pending_err;
    u->pending_err = 0;
    return err;
}

synack_ssize synack_udp_send(struct synack_udp *u, const uint8_t *data, size_t len,
                             const struct synack_endpoint *to, synack_time_t now)
{
    if (!u || (!data && len)) return SYNACK_ERR_INVAL;
    u->error_event_sent = false;
    if (u->pending_err) return udp_take_error(u);
    if (!to) {
        if (u->remote.port == 0) return SYNACK_ERR_NOTCONN;
        to = &u->remote;
    }
    enum synack_family family = (enum synack_family)to->addr.family;
    if (!addr_is_unicast(&to->addr) || to->port == 0 || !udp_local_allows(&u->local.addr, family))
        return SYNACK_ERR_INVAL;
    if (len > (family == SYNACK_AF_INET6 ? UDP_MAX_DATA_V6 : UDP_MAX_DATA_V4))
        return SYNACK_ERR_MSGSIZE;
    struct synack_stack *s = u->stack;
    struct wire_ip_repr ip = {.dst = to->addr, .proto = WIRE_IP_PROTO_UDP, .ttl = s->cfg.ttl};
    if (stack_source_addr(s, &u->local.addr, &to->addr, &ip.src) != 0) return SYNACK_ERR_INVAL;
    struct wire_udp_repr d = {
        .src_port = u->local.port, .dst_port = to->port, .payload = data, .payload_len = len};
    size_t hdr = wire_ip_header_len(family);
    size_t whole = hdr + WIRE_UDP_HDR_LEN + len;
    unsigned mtu = stack_pmtu_get(s, &ip.dst, now); /* RFC 8201 §4 */
    if (whole > mtu) {
        /* RFC 791 §3.2, RFC 8200 §4.5: the datagram leaves in fragments. */
        uint8_t *buf = stack_big_buffer(s);
        size_t n = buf ? wire_udp_emit(&d, &ip.src, &ip.dst, buf, STACK_BIG_MAX) : 0;
        if (!stack_big_commit(s, &ip, n, mtu)) {
            u->want_writable = true;
            return SYNACK_ERR_AGAIN;
        }
    } else {
        if (ring_space(&s->udp_txq) < 2 + whole) {
            u->want_writable = true;
            return SYNACK_ERR_AGAIN;
        }
        uint8_t *pkt = s->scratch; /* one MTU */
        /* Queued with the pseudo-header's sum alone: stack_udp_output finishes it, or
         * leaves it to a link that offloads it (the fragments above carry one sum over the
         * whole datagram, which no link finishes piece by piece). */
        d.csum_partial = true;
        size_t n = wire_udp_emit(&d, &ip.src, &ip.dst, pkt + hdr, s->cfg.mtu - hdr);
        ip.payload_len = (uint16_t)n;
        ip.id = s->ip_id++;
        wire_ip_emit(&ip, pkt, hdr);
        uint8_t lenb[2] = {(uint8_t)((hdr + n) >> 8), (uint8_t)(hdr + n)};
        ring_write(&s->udp_txq, lenb, 2);
        ring_write(&s->udp_txq, pkt, hdr + n);
    }
    u->counters.udp_out++;
    s->counters.udp_out++;
    return (synack_ssize)len;
}

synack_ssize synack_udp_recv(struct synack_udp *u, uint8_t *buf, size_t cap,
                             struct synack_endpoint *from, synack_time_t now)
{
    (void)now;
    if (!u || (!buf && cap)) return SYNACK_ERR_INVAL;
    u->error_event_sent = false;
    if (u->pending_err) return udp_take_error(u);
    ptrdiff_t n = udp_rx_pop(u, buf, cap, from);
    return n < 0 ? SYNACK_ERR_AGAIN : n;
}

void stack_udp_wake_writers(struct synack_stack *s, synack_time_t now)
{
    for (struct synack_udp *u = s->udp_socks; u; u = u->next) {
        if (!u->want_writable) continue;
        u->want_writable = false;
        udp_event(u, SYNACK_EV_WRITABLE, 0, now);
    }
}

/* UDP segmentation offload, sent (SYNACK_TX_USO): the datagrams queued after the one in
 * `buf` (`n` bytes, `hdr` of them the IP header) that a link's cutting of one packet would
 * give back byte for byte join it, as Linux's UDP_SEGMENT sends them (virtio 1.2 §5.1.6.2,
 * VIRTIO_NET_HDR_GSO_UDP_L4): the same socket's datagrams to the same destination, each the
 * first's header again with its own lengths and, for IPv4, the next Identification (which
 * is what the cutting gives each: synack_uso_datagram), with as much payload as the first,
 * the last with as much or less. None of a fragmented datagram, none without payload; at
 * most UDP_USO_MAX_SEGS of them, and the whole within cap and gso_max_size (an IPv4 Total
 * Length, an IPv6 Payload Length). The joined packet carries one UDP header whose Length and
 * partial checksum cover all of it; `meta` gets the size of each datagram's payload and the
 * headers each repeats. Returns the packet's length (`n`: nothing joined). */
#define UDP_USO_MAX_SEGS 64 /* Linux's UDP_MAX_SEGMENTS for a UDP_SEGMENT send */

static size_t udp_output_join(struct synack_stack *s, uint8_t *buf, size_t cap, size_t n,
                              size_t hdr, struct synack_tx_meta *meta)
{
    struct wire_ip_repr ip;
    if (wire_ip_parse(buf, n, &ip) != SYNACK_DROP_NONE || ip.proto != WIRE_IP_PROTO_UDP ||
        ip.frag.present || ip.header_len != hdr || ip.payload_len <= WIRE_UDP_HDR_LEN)
        return n;
    size_t seg = ip.payload_len - WIRE_UDP_HDR_LEN;
    /* gso_max_size is at most 65535 (synack_stack_new refuses more): within an IPv4 Total
     * Length and an IPv6 Payload Length both. */
    size_t limit = cap < s->cfg.gso_max_size ? cap : s->cfg.gso_max_size;
    size_t total = n, segs = 1, off = 0;
    uint8_t want[WIRE_IPV6_HDR_LEN + WIRE_UDP_HDR_LEN], got[sizeof want];
    while (segs < UDP_USO_MAX_SEGS && ring_len(&s->udp_txq) >= off + 2) {
        uint8_t lenb[2];
        ring_peek(&s->udp_txq, off, lenb, 2);
        size_t m = (size_t)lenb[0] << 8 | lenb[1];
        if (m <= hdr + WIRE_UDP_HDR_LEN || m - hdr - WIRE_UDP_HDR_LEN > seg ||
            total + (m - hdr - WIRE_UDP_HDR_LEN) > limit)
            break;
        /* The header this datagram has if it is the next of the run: the first's, with its
         * lengths and the next Identification. */
        struct wire_ip_repr next = ip;
        next.payload_len = (uint16_t)(m - hdr);
        if (ip.src.family == SYNACK_AF_INET) next.id = (uint16_t)(ip.frag.id + segs);
        if (wire_ip_emit(&next, want, sizeof want) != hdr) break;
        memcpy(want + hdr, buf + hdr, 4); /* the ports */
        want[hdr + 4] = (uint8_t)((m - hdr) >> 8);
        want[hdr + 5] = (uint8_t)(m - hdr);
        ring_peek(&s->udp_txq, off + 2, got, hdr + 6);
        if (memcmp(want, got, hdr + 6) != 0) break;
        size_t p = m - hdr - WIRE_UDP_HDR_LEN;
        ring_peek(&s->udp_txq, off + 2 + hdr + WIRE_UDP_HDR_LEN, buf + total, p);
        total += p;
        segs++;
        off += 2 + m;
        if (p < seg) break; /* a shorter one ends the run */
    }
    if (segs == 1) return n;
    ring_consume(&s->udp_txq, off);
    /* RFC 791 §3.1 Total Length (and the header checksum again), RFC 8200 §3 Payload
     * Length, RFC 768 Length: the joined packet's; its checksum the pseudo-header's partial
     * sum over that Length, as a UDP_SEGMENT send leaves it (the cutting adjusts it for each
     * datagram's own). */
    ip.payload_len = (uint16_t)(total - hdr);
    ip.id = ip.frag.id;
    wire_ip_emit(&ip, buf, hdr);
    uint8_t *udp = buf + hdr;
    udp[4] = (uint8_t)((total - hdr) >> 8);
    udp[5] = (uint8_t)(total - hdr);
    uint16_t csum = wire_csum_partial(
        wire_csum_pseudo_addr(&ip.src, &ip.dst, WIRE_IP_PROTO_UDP, (uint32_t)(total - hdr)));
    if (csum == 0) csum = 0xffff;
    udp[WIRE_UDP_OFF_CHECKSUM] = (uint8_t)(csum >> 8);
    udp[WIRE_UDP_OFF_CHECKSUM + 1] = (uint8_t)csum;
    meta->gso_size = (uint16_t)seg;
    meta->hdr_len = (uint16_t)(hdr + WIRE_UDP_HDR_LEN);
    return total;
}

synack_ssize stack_udp_output(struct synack_stack *s, uint8_t *buf, size_t cap, unsigned tx,
                              struct synack_tx_meta *meta, synack_time_t now)
{
    if (ring_len(&s->udp_txq) == 0) return 0;
    uint8_t lenb[2];
    ring_peek(&s->udp_txq, 0, lenb, 2);
    size_t n = (size_t)lenb[0] << 8 | lenb[1];
    if (cap < n) return SYNACK_ERR_BUFSZ;
    ring_consume(&s->udp_txq, 2);
    ring_read(&s->udp_txq, buf, n);
    /* A queued datagram has the fixed header of its family, no extension header (RFC 791
     * §3.1, RFC 8200 §3: the version is the first four bits). */
    size_t hdr = wire_ip_header_len((buf[0] >> 4) == 6 ? SYNACK_AF_INET6 : SYNACK_AF_INET);
    if (tx & SYNACK_TX_CSUM) {
        /* virtio 1.1 §5.1.6.2: the link sums from the UDP header to the end and stores
         * the result in the Checksum field. */
        meta->csum_partial = true;
        meta->csum_start = (uint16_t)hdr;
        meta->csum_offset = WIRE_UDP_OFF_CHECKSUM;
        if (tx & SYNACK_TX_USO) n = udp_output_join(s, buf, cap, n, hdr, meta);
    } else {
        /* In range: the datagram holds its header (synack_udp_send wrote both). */
        (void)synack_checksum_complete(buf, n, hdr, WIRE_UDP_OFF_CHECKSUM);
    }
    if (s->trace) s->trace(s->trace_ctx, 'o', buf, n, SYNACK_DROP_NONE, now);
    if (ring_len(&s->udp_txq) == 0) stack_udp_wake_writers(s, now);
    return (synack_ssize)n;
}

bool stack_udp_has_output(const struct synack_stack *s)
{
    return ring_len(&s->udp_txq) > 0;
}

/* The socket most specifically bound to (dst, dport) that takes datagrams from (src,
 * sport), or NULL. */
static struct synack_udp *udp_find(const struct synack_stack *s, const struct synack_endpoint *dst,
                                   const struct synack_endpoint *src)
{
    struct synack_udp *best = NULL;
    int best_match = 0;
    for (struct synack_udp *u = s->udp_socks; u; u = u->next) {
        int m = udp_match(u, dst, src);
        if (m > best_match) {
            best = u;
            best_match = m;
        }
    }
    return best;
}

void stack_udp_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                     const struct wire_udp_repr *d, const uint8_t *pkt, size_t pkt_len,
                     synack_time_t now)
{
    struct synack_endpoint dst = {ip->dst, d->dst_port}, src = {ip->src, d->src_port};
    struct synack_udp *u = udp_find(s, &dst, &src);
    if (!u) {
        stack_count_drop(s, SYNACK_DROP_UDP_NO_SOCKET);
        /* RFC 1122 §4.1.3.1 (SHOULD), RFC 4443 §3.1: port unreachable, quoting what came
         * (not for a reassembled datagram: pkt is NULL then). */
        if (pkt) stack_icmp_port_unreach(s, pkt, pkt_len, ip, now);
        return;
    }
    if (!udp_rx_push(u, &src, d->payload, d->payload_len)) {
        stack_count_drop(s, SYNACK_DROP_UDP_QUEUE_FULL);
        u->counters.drops[SYNACK_DROP_UDP_QUEUE_FULL]++;
        return;
    }
    u->counters.udp_in++;
    s->counters.udp_in++;
    if (u->rx_count == 1) udp_event(u, SYNACK_EV_READABLE, 0, now);
}

void stack_udp_icmp_error(struct synack_stack *s, const struct ip_icmp_error *e, synack_time_t now)
{
    if (e->quote.frag_offset != 0) {
        stack_count_drop(s, SYNACK_DROP_ICMP_NO_CONN);
        return;
    }
    struct synack_endpoint local = {e->quote.src, e->quote.src_port},
                           remote = {e->quote.dst, e->quote.dst_port};
    struct synack_udp *u = udp_find(s, &local, &remote);
    if (!u) {
        stack_count_drop(s, SYNACK_DROP_ICMP_NO_CONN);
        return;
    }
    if (e->kind == IP_ICMP_TOO_BIG) {
        /* RFC 8201 §4: later datagrams to that destination are fragmented to fit (the one
         * that was too big is gone: UDP does not resend). Only for a socket that could have
         * sent the quoted datagram, so that a forged message needs its ports too. IPv4 sends
         * large datagrams without DF, so a fragmentation needed there changes nothing. */
        if (stack_pmtu_lower(s, &e->quote.dst, e->mtu, now))
            s->counters.icmp_errors_delivered++;
        else
            stack_count_drop(s, SYNACK_DROP_ICMP_IGNORED);
        return;
    }
    u->counters.udp_icmp_errors++;
    s->counters.udp_icmp_errors++;
    s->counters.icmp_errors_delivered++;
    /* Only a connected socket holds it for its next call (as BSD and Linux do: an
     * unconnected socket cannot tell which of its peers it concerns); both get the event. */
    if (u->remote.port != 0) u->pending_err = e->err;
    /* One ERROR event until the application next calls send or recv: a flood of errors
     * costs one event queue slot per socket. */
    if (!u->error_event_sent) {
        u->error_event_sent = true;
        udp_event(u, SYNACK_EV_ERROR, e->err, now);
    }
}
