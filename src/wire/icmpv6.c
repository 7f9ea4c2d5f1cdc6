/* ICMPv6 messages (RFC 4443) parse and emit: echo request and reply, and the error messages
 * that return part of the invoking packet (destination unreachable, packet too big, time
 * exceeded, parameter problem); the RFC 4443 §2.4 (e) rules on when an error may be sent. */
#include "base/addr.h"
#include "base/cursor.h"
#include "wire/wire.h"

/* RFC 4443 §2.1: "Error messages are identified as such by a zero in the high-order bit of
 * their message Type field values." */
#define ICMP6_INFO_MIN 128

/* RFC 4443 §2.4 (c), (d): the invoking packet, as much as was returned. Its upper-layer
 * protocol is found by walking the extension headers that were returned; without a whole
 * fixed header and 8 bytes past those headers the message cannot be matched to anything. */
static enum synack_drop icmp6_parse_quote(const uint8_t *p, size_t len, struct wire_ip_quote *q)
{
    size_t offset;
    if (!wire_ipv6_find_upper_layer(p, len, &q->proto, &offset, &q->frag_offset))
        return SYNACK_DROP_ICMP_QUOTE;
    struct cursor c = cursor_make(p, len);
    uint8_t src[16], dst[16];
    uint16_t payload_len = 0;
    /* The fixed header (RFC 8200 §3): found whole by wire_ipv6_find_upper_layer. */
    cursor_skip(&c, 4);
    cursor_read_u16be(&c, &payload_len);
    q->total_len = (uint32_t)WIRE_IPV6_HDR_LEN + payload_len;
    cursor_skip(&c, 2);
    cursor_read_bytes(&c, src, sizeof(src));
    cursor_read_bytes(&c, dst, sizeof(dst));
    q->src = synack_addr_v6(src);
    q->dst = synack_addr_v6(dst);
    /* offset <= len: wire_ipv6_find_upper_layer walked that far */
    if (!wire_icmp_quote_ports(p + offset, len - offset, &q->src_port, &q->dst_port, &q->seq))
        return SYNACK_DROP_ICMP_QUOTE;
    q->header_len = (uint16_t)offset;
    q->transport = p + offset;
    q->transport_len = len - offset;
    return SYNACK_DROP_NONE;
}

/* RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header (RFC 8200 §8.1, Next Header 58)
 * and the whole message; summed with the field in place a correct message folds to zero. */
static uint32_t icmp6_pseudo(const struct synack_addr *src, const struct synack_addr *dst,
                             size_t len)
{
    return wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_ICMPV6, (uint32_t)len);
}

enum synack_drop wire_icmp6_parse(const uint8_t *msg, size_t len, const struct synack_addr *src,
                                  const struct synack_addr *dst, struct wire_icmp6_repr *out)
{
    struct wire_icmp_head h;
    *out = (struct wire_icmp6_repr){0};
    if (!wire_icmp_head_parse(msg, len, &h)) return SYNACK_DROP_ICMP_TRUNCATED;
    if (wire_csum_finish(wire_csum_add(icmp6_pseudo(src, dst, len), msg, len)) != 0)
        return SYNACK_DROP_ICMP_CHECKSUM;
    out->type = h.type;
    out->code = h.code;
    uint32_t word = h.word;

    /* The second word by type (RFC 4443 §3.2, §3.4, §4.1, §4.2; "unused" elsewhere). */
    switch (out->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
    case WIRE_ICMP6_ECHO_REPLY:
        out->id = (uint16_t)(word >> 16);
        out->seq = (uint16_t)word;
        break;
    case WIRE_ICMP6_PACKET_TOO_BIG:
        out->mtu = word;
        break;
    case WIRE_ICMP6_PARAM_PROBLEM:
        out->pointer = word;
        break;
    default:
        break;
    }
    out->data = h.body;
    out->data_len = h.body_len;
    out->is_error = out->type < ICMP6_INFO_MIN;
    if (!out->is_error) return SYNACK_DROP_NONE;
    return icmp6_parse_quote(out->data, out->data_len, &out->quote);
}

size_t wire_icmp6_len(const struct wire_icmp6_repr *icmp)
{
    return WIRE_ICMP6_HDR_LEN + icmp->data_len;
}

/* The second 32-bit word of the header for `icmp`'s type (RFC 4443 §3, §4). */
static uint32_t icmp6_second_word(const struct wire_icmp6_repr *icmp)
{
    switch (icmp->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
    case WIRE_ICMP6_ECHO_REPLY:
        return (uint32_t)icmp->id << 16 | icmp->seq;
    case WIRE_ICMP6_PACKET_TOO_BIG:
        return icmp->mtu;
    case WIRE_ICMP6_PARAM_PROBLEM:
        return icmp->pointer;
    default:
        return 0; /* "Unused ... must be initialized to zero by the originator" */
    }
}

size_t wire_icmp6_emit(const struct wire_icmp6_repr *icmp, const struct synack_addr *src,
                       const struct synack_addr *dst, uint8_t *buf, size_t cap)
{
    struct wire_icmp_head h = {icmp->type, icmp->code, icmp6_second_word(icmp), icmp->data,
                               icmp->data_len};
    /* no jumbograms: 65535 at most, as Payload Length is 16 bits */
    return wire_icmp_head_emit(&h, icmp6_pseudo(src, dst, wire_icmp6_len(icmp)), buf, cap);
}

bool wire_icmp6_can_send_error(const struct wire_ip_repr *ip, const struct wire_icmp6_repr *icmp,
                               uint8_t type, uint8_t code)
{
    /* (e.1), (e.2): never about an error message or a redirect; an ICMPv6 message that did
     * not parse may have been either. */
    if (ip->proto == WIRE_IP_PROTO_ICMPV6 && icmp == NULL) return false;
    if (icmp && (icmp->is_error || icmp->type == WIRE_ICMP6_REDIRECT)) return false;
    /* (e.3): not to a multicast destination (RFC 4291 §2.7: ff00::/8), but for packet too
     * big and the parameter problem code 2 of an unknown option. */
    bool multicast_ok = type == WIRE_ICMP6_PACKET_TOO_BIG ||
                        (type == WIRE_ICMP6_PARAM_PROBLEM && code == WIRE_ICMP6_UNKNOWN_OPTION);
    if (ip->dst.bytes[0] == 0xff && !multicast_ok) return false;
    /* (e.6): the source must name a single node. */
    return addr_is_unicast(&ip->src);
}
