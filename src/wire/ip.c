/* IP headers of either family, chosen by the version nibble (RFC 791 §3.1, RFC 8200 §3). */
#include <string.h>

#include "wire/wire.h"

size_t wire_ip_header_len(enum synack_family family)
{
    switch (family) {
    case SYNACK_AF_INET:
        return WIRE_IPV4_HDR_LEN;
    case SYNACK_AF_INET6:
        return WIRE_IPV6_HDR_LEN;
    case SYNACK_AF_NONE:
        break;
    }
    return 0;
}

size_t wire_ip_repr_header_len(const struct wire_ip_repr *ip)
{
    size_t hdr = wire_ip_header_len((enum synack_family)ip->src.family);
    if (ip->src.family == SYNACK_AF_INET6 && ip->frag.present) hdr += WIRE_IPV6_FRAG_HDR_LEN;
    return hdr;
}

enum synack_drop wire_ip_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out)
{
    if (len == 0) return SYNACK_DROP_IP_TRUNCATED;
    switch (pkt[0] >> 4) {
    case 4:
        return wire_ipv4_parse(pkt, len, out);
    case 6:
        return wire_ipv6_parse(pkt, len, out);
    }
    return SYNACK_DROP_IP_VERSION;
}

size_t wire_ip_emit(const struct wire_ip_repr *ip, uint8_t *buf, size_t cap)
{
    size_t hdr = wire_ip_repr_header_len(ip);
    if (hdr == 0 || cap < hdr) return 0;
    if (ip->src.family == SYNACK_AF_INET) {
        wire_ipv4_emit(ip, buf);
        return hdr;
    }
    if (!ip->frag.present) {
        wire_ipv6_emit(ip, buf);
        return hdr;
    }
    /* RFC 8200 §4.5: the fixed header names the Fragment header, which names the upper
     * layer; Payload Length counts the Fragment header too. */
    struct wire_ip_repr outer = *ip;
    outer.proto = WIRE_IPV6_NH_FRAGMENT;
    outer.payload_len = (uint16_t)(ip->payload_len + WIRE_IPV6_FRAG_HDR_LEN);
    wire_ipv6_emit(&outer, buf);
    wire_ipv6_frag_header_emit(ip->proto, ip->frag.offset, ip->frag.more, ip->frag.id,
                               buf + WIRE_IPV6_HDR_LEN, WIRE_IPV6_FRAG_HDR_LEN);
    return hdr;
}

int synack_packet_addrs(const uint8_t *pkt, size_t len, struct synack_addr *src,
                        struct synack_addr *dst)
{
    struct synack_addr s = {0}, d = {0};
    /* RFC 791 §3.1: the addresses at bytes 12 and 16; RFC 8200 §3: at 8 and 24. */
    if (len >= WIRE_IPV4_HDR_LEN && pkt[0] >> 4 == 4) {
        s.family = d.family = SYNACK_AF_INET;
        memcpy(s.bytes, pkt + 12, 4);
        memcpy(d.bytes, pkt + 16, 4);
    } else if (len >= 40 && pkt[0] >> 4 == 6) {
        s.family = d.family = SYNACK_AF_INET6;
        memcpy(s.bytes, pkt + 8, 16);
        memcpy(d.bytes, pkt + 24, 16);
    } else {
        return SYNACK_ERR_MALFORMED;
    }
    if (src) *src = s;
    if (dst) *dst = d;
    return 0;
}

bool wire_tcp_peek_tuple(const uint8_t *pkt, size_t len, struct synack_addr *src,
                         uint16_t *src_port, struct synack_addr *dst, uint16_t *dst_port)
{
    size_t tcp_at;
    if (synack_packet_addrs(pkt, len, src, dst) != 0) return false;
    if (src->family == SYNACK_AF_INET) {
        /* RFC 791 §3.1: Protocol at byte 9, the fragment offset in the low 13 bits of bytes
         * 6-7 (a later fragment holds no TCP header), IHL in 32-bit words. */
        if (pkt[9] != WIRE_IP_PROTO_TCP || ((pkt[6] & 0x1f) | pkt[7]) != 0) return false;
        tcp_at = (size_t)(pkt[0] & 0x0f) * 4;
        if (tcp_at < WIRE_IPV4_HDR_LEN) return false;
    } else {
        /* RFC 8200 §3: Next Header at byte 6; extension headers are not walked. */
        if (pkt[6] != WIRE_IP_PROTO_TCP) return false;
        tcp_at = WIRE_IPV6_HDR_LEN;
    }
    /* RFC 9293 §3.1: Source Port and Destination Port are the TCP header's first 4 bytes. */
    if (len < tcp_at + 4) return false;
    *src_port = (uint16_t)(pkt[tcp_at] << 8 | pkt[tcp_at + 1]);
    *dst_port = (uint16_t)(pkt[tcp_at + 2] << 8 | pkt[tcp_at + 3]);
    return true;
}
