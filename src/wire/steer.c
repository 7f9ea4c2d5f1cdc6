/* Flow steering for several stacks that share their addresses, one per core (synack.h,
 * synack_config.steer_queues): a hash of a flow that both its directions share, and the
 * queue an IP packet belongs to. A multi-queue link calls synack_steer_packet for each
 * packet it delivers; a stack calls synack_flow_queue for each ephemeral port it tries, so
 * that its own connections come back to it. Both read only what the caller passes. */
#include <string.h>

#include "base/addr.h"
#include "base/siphash.h"
#include "wire/wire.h"

/* Orders two endpoints (address bytes, then port) so that a flow hashes the same from
 * either end. */
static bool endpoint_before(const struct synack_endpoint *a, const struct synack_endpoint *b)
{
    int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
    return c < 0 || (c == 0 && a->port <= b->port);
}

uint32_t synack_flow_hash(const uint8_t key[16], const struct synack_endpoint *a,
                          const struct synack_endpoint *b)
{
    if (!endpoint_before(a, b)) {
        const struct synack_endpoint *t = a;
        a = b;
        b = t;
    }
    uint64_t h = siphash_tuple(key, &a->addr, a->port, &b->addr, b->port);
    return (uint32_t)(h ^ (h >> 32));
}

unsigned synack_flow_queue(const uint8_t key[16], unsigned queues, const struct synack_endpoint *a,
                           const struct synack_endpoint *b)
{
    if (queues <= 1) return 0;
    /* The hash scaled onto [0, queues): no modulo bias worth the name, and no division. */
    return (unsigned)(((uint64_t)synack_flow_hash(key, a, b) * queues) >> 32);
}

/* The XOR of an address's 32-bit words, each read big-endian. */
static uint32_t addr_xor(const struct synack_addr *a)
{
    size_t words = a->family == SYNACK_AF_INET6 ? 4 : 1;
    uint32_t h = 0;
    for (size_t i = 0; i < words; i++) {
        const uint8_t *p = a->bytes + 4 * i;
        h ^= (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return h;
}

unsigned synack_flow_queue_xor(unsigned queues, const struct synack_endpoint *a,
                               const struct synack_endpoint *b)
{
    if (queues <= 1) return 0;
    uint32_t h = addr_xor(&a->addr) ^ addr_xor(&b->addr) ^ a->port ^ b->port;
    return (unsigned)(((uint32_t)(h * 0x9e3779b1u) >> 16) % queues);
}

/* The ports of a TCP or UDP header at `p` (`len` bytes of it), or false. */
static bool steer_ports(uint8_t proto, const uint8_t *p, size_t len, uint16_t *sport,
                        uint16_t *dport)
{
    if ((proto != WIRE_IP_PROTO_TCP && proto != WIRE_IP_PROTO_UDP) || len < 4) return false;
    *sport = (uint16_t)(p[0] << 8 | p[1]);
    *dport = (uint16_t)(p[2] << 8 | p[3]);
    return true;
}

/* The flow an ICMP or ICMPv6 error is about: the quoted packet's addresses and, for a
 * first fragment's TCP or UDP header, its ports. False when `ip` carries no such error. */
static bool steer_icmp_error(const struct wire_ip_repr *ip, const uint8_t *msg, size_t len,
                             struct synack_endpoint *a, struct synack_endpoint *b)
{
    const struct wire_ip_quote *q;
    struct wire_icmp_repr v4;
    struct wire_icmp6_repr v6;
    if (ip->proto == WIRE_IP_PROTO_ICMP && ip->src.family == SYNACK_AF_INET) {
        if (wire_icmp_parse(msg, len, &v4) != SYNACK_DROP_NONE || !v4.is_error) return false;
        q = &v4.quote;
    } else if (ip->proto == WIRE_IP_PROTO_ICMPV6 && ip->src.family == SYNACK_AF_INET6) {
        if (wire_icmp6_parse(msg, len, &ip->src, &ip->dst, &v6) != SYNACK_DROP_NONE || !v6.is_error)
            return false;
        q = &v6.quote;
    } else {
        return false;
    }
    a->addr = q->src;
    b->addr = q->dst;
    a->port = b->port = 0;
    if (q->frag_offset == 0 && (q->proto == WIRE_IP_PROTO_TCP || q->proto == WIRE_IP_PROTO_UDP)) {
        a->port = q->src_port;
        b->port = q->dst_port;
    }
    return true;
}

unsigned synack_steer_packet(const uint8_t key[16], unsigned queues, const uint8_t *pkt, size_t len)
{
    if (queues <= 1 || !pkt) return 0;
    struct wire_ip_repr ip;
    if (wire_ip_parse(pkt, len, &ip) != SYNACK_DROP_NONE) return 0;
    const uint8_t *l4 = pkt + ip.header_len;
    size_t l4len = ip.payload_len;
    struct synack_endpoint a = {.addr = ip.src}, b = {.addr = ip.dst};
    /* A fragment goes by its addresses: its later fragments carry no ports, and all of a
     * datagram's must meet in one stack's reassembly (RFC 791 §3.2, RFC 8200 §4.5). */
    if (ip.frag.present || (!steer_ports(ip.proto, l4, l4len, &a.port, &b.port) &&
                            !steer_icmp_error(&ip, l4, l4len, &a, &b)))
        a.port = b.port = 0;
    return synack_flow_queue(key, queues, &a, &b);
}
