/* UDP datagrams (RFC 768) parse and emit over either family, with the checksum rules of RFC
 * 768 (IPv4: zero means none) and RFC 8200 §8.1 (IPv6: mandatory). */
#include "base/cursor.h"
#include "wire/wire.h"

/* wire_udp_parse, with the checksum verified or (`vouched`) left to the link that vouched
 * for it. */
static enum synack_drop udp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                  const struct synack_addr *dst, struct wire_udp_repr *out,
                                  bool vouched)
{
    *out = (struct wire_udp_repr){0};
    struct cursor c = cursor_make(seg, len);
    uint16_t src_port, dst_port, length, checksum;
    if (!cursor_read_u16be(&c, &src_port) || !cursor_read_u16be(&c, &dst_port) ||
        !cursor_read_u16be(&c, &length) || !cursor_read_u16be(&c, &checksum))
        return SYNACK_DROP_UDP_TRUNCATED;
    /* RFC 768: Length counts header and data, so at least 8; it cannot exceed what the IP
     * layer delivered. Bytes past it are not the datagram's. */
    if (length < WIRE_UDP_HDR_LEN || length > len) return SYNACK_DROP_UDP_TRUNCATED;

    if (checksum == 0) {
        /* RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a zero
         * checksum"; RFC 768: over IPv4 an all-zero field means none was computed. */
        if (src->family == SYNACK_AF_INET6) return SYNACK_DROP_UDP_CHECKSUM;
    } else if (!vouched) {
        /* RFC 768: the pseudo-header with the UDP length, header and data; with the field in
         * place a correct datagram folds to zero (RFC 1071 §1; 0xffff sent for a computed
         * zero folds the same way). RFC 8200 §8.1: Length is the pseudo-header's length. */
        uint32_t sum = wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_UDP, length);
        if (wire_csum_finish(wire_csum_add(sum, seg, length)) != 0) return SYNACK_DROP_UDP_CHECKSUM;
    }
    out->src_port = src_port;
    out->dst_port = dst_port;
    out->payload = seg + WIRE_UDP_HDR_LEN;
    out->payload_len = (size_t)length - WIRE_UDP_HDR_LEN;
    return SYNACK_DROP_NONE;
}

enum synack_drop wire_udp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                const struct synack_addr *dst, struct wire_udp_repr *out)
{
    return udp_parse(seg, len, src, dst, out, false);
}

enum synack_drop wire_udp_parse_vouched(const uint8_t *seg, size_t len,
                                        const struct synack_addr *src,
                                        const struct synack_addr *dst, struct wire_udp_repr *out)
{
    return udp_parse(seg, len, src, dst, out, true);
}

size_t wire_udp_emit(const struct wire_udp_repr *u, const struct synack_addr *src,
                     const struct synack_addr *dst, uint8_t *buf, size_t cap)
{
    if (u->payload_len > 0 && u->payload == NULL) return 0;
    /* The Length field is 16 bits. */
    if (u->payload_len > UINT16_MAX - WIRE_UDP_HDR_LEN) return 0;
    size_t n = WIRE_UDP_HDR_LEN + u->payload_len;
    if (n > cap) return 0;
    struct wcursor w = wcursor_make(buf, n);
    wcursor_write_u16be(&w, u->src_port);
    wcursor_write_u16be(&w, u->dst_port);
    wcursor_write_u16be(&w, (uint16_t)n);
    wcursor_write_u16be(&w, 0); /* checksum, filled in below */
    wcursor_write_bytes(&w, u->payload, u->payload_len);
    if (w.overflow) return 0; /* unreachable: the length was checked above */
    uint32_t sum = wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_UDP, (uint32_t)n);
    /* virtio 1.1 §5.1.6.2: a partial sum is the pseudo-header's, which the link's sum of
     * the datagram from its first byte completes; synack_checksum_complete then sends a
     * computed zero as all ones, as below. */
    uint16_t csum =
        u->csum_partial ? wire_csum_partial(sum) : wire_csum_finish(wire_csum_add(sum, buf, n));
    /* RFC 768: "If the computed checksum is zero, it is transmitted as all ones" (zero on
     * the wire means none; RFC 8200 §8.1 the same for IPv6). */
    if (csum == 0) csum = 0xffff;
    buf[WIRE_UDP_OFF_CHECKSUM] = (uint8_t)(csum >> 8);
    buf[WIRE_UDP_OFF_CHECKSUM + 1] = (uint8_t)csum;
    return n;
}

synack_ssize synack_uso_datagram(const uint8_t *pkt, size_t len, size_t gso_size, size_t index,
                                 bool finish, uint8_t *out, size_t cap)
{
    struct wire_ip_repr ip;
    if (pkt == NULL || out == NULL || gso_size == 0) return SYNACK_ERR_INVAL;
    if (wire_ip_parse(pkt, len, &ip) != SYNACK_DROP_NONE) return SYNACK_ERR_INVAL;
    /* What UDP segmentation offload carries (Linux's UDP_SEGMENT): one UDP header right
     * after a fixed IP header (no IPv4 options, no IPv6 extension headers: every datagram
     * takes the same headers again, and wire_ip_emit writes the fixed header alone), no
     * fragment, some payload. */
    if (ip.proto != WIRE_IP_PROTO_UDP || ip.frag.present ||
        ip.header_len != wire_ip_header_len(ip.src.family) || ip.payload_len <= WIRE_UDP_HDR_LEN)
        return SYNACK_ERR_INVAL;
    const uint8_t *udp = pkt + ip.header_len;
    size_t payload = ip.payload_len - WIRE_UDP_HDR_LEN;
    if (index > (payload - 1) / gso_size) return 0;
    size_t at = index * gso_size;
    struct wire_udp_repr u = {
        .src_port = (uint16_t)(udp[0] << 8 | udp[1]),
        .dst_port = (uint16_t)(udp[2] << 8 | udp[3]),
        .payload = udp + WIRE_UDP_HDR_LEN + at,
        .payload_len = payload - at < gso_size ? payload - at : gso_size,
        .csum_partial = !finish,
    };
    size_t need = ip.header_len + WIRE_UDP_HDR_LEN + u.payload_len;
    if (need > cap) return SYNACK_ERR_BUFSZ;
    /* RFC 791 §3.1 Total Length, RFC 8200 §3 Payload Length: this datagram's; IPv4's
     * Identification one more per datagram, as Linux's segmentation gives it. */
    ip.payload_len = (uint16_t)(WIRE_UDP_HDR_LEN + u.payload_len);
    if (ip.src.family == SYNACK_AF_INET) ip.id = (uint16_t)(ip.frag.id + index);
    size_t h = wire_ip_emit(&ip, out, cap);
    if (h != ip.header_len || wire_udp_emit(&u, &ip.src, &ip.dst, out + h, cap - h) == 0)
        return SYNACK_ERR_INVAL; /* unreachable: the lengths were checked above */
    return (synack_ssize)need;
}
