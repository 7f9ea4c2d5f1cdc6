/* UDP sockets below the stack: the receive queue and the rules of matching (RFC 768). */
#include "base/addr.h"
#include "udp/udp.h"

#include <string.h>

void udp_rx_init(struct synack_udp *u, uint8_t *storage, size_t cap, size_t max_datagrams)
{
    ring_init(&u->rx, storage, cap);
    u->rx_count = 0;
    u->rx_bytes = 0;
    u->rx_max = max_datagrams;
}

bool udp_rx_push(struct synack_udp *u, const struct synack_endpoint *from, const uint8_t *data,
                 size_t len)
{
    if (len > UINT16_MAX || u->rx_count >= u->rx_max ||
        ring_space(&u->rx) < UDP_RX_RECORD_HDR + len)
        return false;
    uint8_t hdr[UDP_RX_RECORD_HDR];
    hdr[0] = (uint8_t)(len >> 8);
    hdr[1] = (uint8_t)len;
    hdr[2] = from->addr.family;
    memcpy(hdr + 3, from->addr.bytes, 16);
    hdr[19] = (uint8_t)(from->port >> 8);
    hdr[20] = (uint8_t)from->port;
    ring_write(&u->rx, hdr, sizeof hdr);
    ring_write(&u->rx, data, len);
    u->rx_count++;
    u->rx_bytes += len;
    return true;
}

ptrdiff_t udp_rx_pop(struct synack_udp *u, uint8_t *buf, size_t cap, struct synack_endpoint *from)
{
    if (u->rx_count == 0) return -1;
    uint8_t hdr[UDP_RX_RECORD_HDR];
    ring_read(&u->rx, hdr, sizeof hdr);
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (from) {
        *from = (struct synack_endpoint){.port = (uint16_t)(hdr[19] << 8 | hdr[20])};
        from->addr.family = hdr[2];
        memcpy(from->addr.bytes, hdr + 3, 16);
    }
    size_t take = len < cap ? len : cap;
    if (take) ring_read(&u->rx, buf, take);
    ring_consume(&u->rx, len - take); /* recvfrom's truncation: the rest is gone */
    u->rx_count--;
    u->rx_bytes -= len;
    return (ptrdiff_t)len;
}

/* How `bound` covers address `a`: 3 the same, 2 its family's wildcard, 1 both families. */
static int udp_addr_match(const struct synack_addr *bound, const struct synack_addr *a)
{
    if (bound->family == SYNACK_AF_NONE) return 1;
    if (bound->family != a->family) return 0;
    if (addr_is_any(bound)) return 2;
    return addr_eq(bound, a) ? 3 : 0;
}

int udp_match(const struct synack_udp *u, const struct synack_endpoint *dst,
              const struct synack_endpoint *src)
{
    if (u->local.port != dst->port) return 0;
    int m = udp_addr_match(&u->local.addr, &dst->addr);
    if (m == 0) return 0;
    if (u->remote.port == 0) return m;
    /* RFC 8085 §5.1: a connected socket takes only its peer's datagrams, before any
     * unconnected one. */
    return endpoint_eq(&u->remote, src) ? m + 4 : 0;
}

bool udp_bindings_overlap(const struct synack_addr *a, const struct synack_addr *b)
{
    if (a->family == SYNACK_AF_NONE || b->family == SYNACK_AF_NONE) return true;
    if (a->family != b->family) return false;
    return addr_is_any(a) || addr_is_any(b) || addr_eq(a, b);
}

bool udp_local_allows(const struct synack_addr *local, enum synack_family family)
{
    return local->family == SYNACK_AF_NONE || local->family == family;
}
