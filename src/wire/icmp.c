/* ICMP messages (RFC 792) parse and emit: echo request and reply, and the error messages that
 * return part of a datagram (destination unreachable with the next-hop MTU of RFC 1191 §4,
 * source quench, redirect, time exceeded, parameter problem); and the 8-byte header and the
 * returned ports that ICMPv6 (icmpv6.c) shares. */
#include "base/addr.h"
#include "base/cursor.h"
#include "wire/wire.h"

/* Byte offset of the Checksum field in the ICMP header (RFC 792). */
#define ICMP_OFF_CHECKSUM 2
/* RFC 791 §3.1: the Fragment Offset bits of the flags/fragment word. */
#define ICMP_QUOTE_FRAG_OFFSET_MASK 0x1fffu

/* ---- what ICMP and ICMPv6 share --------------------------------------------------------- */

bool wire_icmp_head_parse(const uint8_t *msg, size_t len, struct wire_icmp_head *h)
{
    struct cursor c = cursor_make(msg, len);
    uint16_t checksum;
    if (!cursor_read_u8(&c, &h->type) || !cursor_read_u8(&c, &h->code) ||
        !cursor_read_u16be(&c, &checksum) || !cursor_read_u32be(&c, &h->word))
        return false;
    h->body = cursor_ptr(&c);
    h->body_len = cursor_remaining(&c);
    return true;
}

size_t wire_icmp_head_emit(const struct wire_icmp_head *h, uint32_t sum, uint8_t *buf, size_t cap)
{
    size_t n = WIRE_ICMP_HDR_LEN + h->body_len;
    if (n > cap || n > UINT16_MAX) return 0;
    if (h->body_len > 0 && h->body == NULL) return 0;
    struct wcursor w = wcursor_make(buf, n);
    wcursor_write_u8(&w, h->type);
    wcursor_write_u8(&w, h->code);
    wcursor_write_u16be(&w, 0); /* checksum, filled in below */
    wcursor_write_u32be(&w, h->word);
    wcursor_write_bytes(&w, h->body, h->body_len);
    if (w.overflow) return 0;
    /* RFC 792: "For computing the checksum, the checksum field should be zero"; RFC 4443
     * §2.3 the same, the pseudo-header summed in first. */
    uint16_t csum = wire_csum_finish(wire_csum_add(sum, buf, n));
    buf[ICMP_OFF_CHECKSUM] = (uint8_t)(csum >> 8);
    buf[ICMP_OFF_CHECKSUM + 1] = (uint8_t)csum;
    return n;
}

bool wire_icmp_quote_ports(const uint8_t *p, size_t len, uint16_t *src_port, uint16_t *dst_port,
                           uint32_t *seq)
{
    /* RFC 9293 §3.1 (and UDP, RFC 768): the ports come first; for TCP the sequence number:
     * the 8 bytes (WIRE_ICMP_QUOTE_DATA_MIN) RFC 792 and RFC 4443 §2.4 (c) return at least. */
    struct cursor t = cursor_make(p, len);
    return cursor_read_u16be(&t, src_port) && cursor_read_u16be(&t, dst_port) &&
           cursor_read_u32be(&t, seq);
}

/* ---- ICMP ----------------------------------------------------------------------------------- */

bool wire_icmp_is_error_type(uint8_t type)
{
    switch (type) {
    case WIRE_ICMP_DEST_UNREACH:
    case WIRE_ICMP_SOURCE_QUENCH:
    case WIRE_ICMP_REDIRECT:
    case WIRE_ICMP_TIME_EXCEEDED:
    case WIRE_ICMP_PARAM_PROBLEM:
        return true;
    default:
        return false;
    }
}

/* The returned datagram of an error message: "Internet Header + 64 bits of Original Data
 * Datagram" (RFC 792). Only what was returned is read; the header checksum and total length
 * describe the original and are not checked against it (see wire.h). */
static enum synack_drop icmp_parse_quote(const uint8_t *p, size_t len, struct wire_ip_quote *q)
{
    struct cursor c = cursor_make(p, len);
    uint8_t ver_ihl, tos, ttl;
    uint16_t total_len, id, flags_frag, checksum;
    uint32_t src, dst;
    if (!cursor_read_u8(&c, &ver_ihl) || !cursor_read_u8(&c, &tos) ||
        !cursor_read_u16be(&c, &total_len) || !cursor_read_u16be(&c, &id) ||
        !cursor_read_u16be(&c, &flags_frag) || !cursor_read_u8(&c, &ttl) ||
        !cursor_read_u8(&c, &q->proto) || !cursor_read_u16be(&c, &checksum) ||
        !cursor_read_u32be(&c, &src) || !cursor_read_u32be(&c, &dst))
        return SYNACK_DROP_ICMP_QUOTE;
    q->src = addr_v4(src);
    q->dst = addr_v4(dst);
    q->total_len = total_len;
    /* RFC 791 §3.1: version 4, IHL at least 5 words. */
    size_t ihl = ver_ihl & 0x0fu;
    if ((ver_ihl >> 4) != 4 || ihl < 5) return SYNACK_DROP_ICMP_QUOTE;
    q->header_len = (uint16_t)(ihl * 4);
    /* The options of the returned header, then at least the 64 bits RFC 792 promises. */
    if (!cursor_skip(&c, q->header_len - WIRE_IPV4_HDR_LEN) ||
        !wire_icmp_quote_ports(cursor_ptr(&c), cursor_remaining(&c), &q->src_port, &q->dst_port,
                               &q->seq))
        return SYNACK_DROP_ICMP_QUOTE;
    q->frag_offset = flags_frag & ICMP_QUOTE_FRAG_OFFSET_MASK;
    q->transport = cursor_ptr(&c);
    q->transport_len = cursor_remaining(&c);
    return SYNACK_DROP_NONE;
}

enum synack_drop wire_icmp_parse(const uint8_t *msg, size_t len, struct wire_icmp_repr *out)
{
    struct wire_icmp_head h;
    *out = (struct wire_icmp_repr){0};
    if (!wire_icmp_head_parse(msg, len, &h)) return SYNACK_DROP_ICMP_TRUNCATED;
    out->type = h.type;
    out->code = h.code;
    uint32_t word = h.word;
    /* RFC 792: "the 16-bit one's complement of the one's complement sum of the ICMP message
     * starting with the ICMP Type"; with the field in place a correct message folds to 0. */
    if (wire_csum_finish(wire_csum_add(0, msg, len)) != 0) return SYNACK_DROP_ICMP_CHECKSUM;

    /* The second word by type (RFC 792; RFC 1191 §4 for the next-hop MTU). */
    switch (out->type) {
    case WIRE_ICMP_ECHO_REQUEST:
    case WIRE_ICMP_ECHO_REPLY:
        out->id = (uint16_t)(word >> 16);
        out->seq = (uint16_t)word;
        break;
    case WIRE_ICMP_DEST_UNREACH:
        /* RFC 1191 §4: "the low-order 16 bits of the ICMP header field that is labelled
         * unused"; zero from routers that predate it. Only code 4 defines it. */
        if (out->code == WIRE_ICMP_FRAG_NEEDED) out->mtu = (uint16_t)word;
        break;
    case WIRE_ICMP_PARAM_PROBLEM:
        out->pointer = (uint8_t)(word >> 24);
        break;
    case WIRE_ICMP_REDIRECT:
        out->gateway = word;
        break;
    default:
        break;
    }
    out->data = h.body;
    out->data_len = h.body_len;
    out->is_error = wire_icmp_is_error_type(out->type);
    if (!out->is_error) return SYNACK_DROP_NONE;
    return icmp_parse_quote(out->data, out->data_len, &out->quote);
}

size_t wire_icmp_len(const struct wire_icmp_repr *icmp)
{
    return WIRE_ICMP_HDR_LEN + icmp->data_len;
}

/* The second 32-bit word of the header for `icmp`'s type (RFC 792, RFC 1191 §4). */
static uint32_t icmp_second_word(const struct wire_icmp_repr *icmp)
{
    switch (icmp->type) {
    case WIRE_ICMP_ECHO_REQUEST:
    case WIRE_ICMP_ECHO_REPLY:
        return (uint32_t)icmp->id << 16 | icmp->seq;
    case WIRE_ICMP_DEST_UNREACH:
        return icmp->code == WIRE_ICMP_FRAG_NEEDED ? icmp->mtu : 0;
    case WIRE_ICMP_PARAM_PROBLEM:
        return (uint32_t)icmp->pointer << 24;
    case WIRE_ICMP_REDIRECT:
        return icmp->gateway;
    default:
        return 0; /* "unused ... must be zero" */
    }
}

size_t wire_icmp_emit(const struct wire_icmp_repr *icmp, uint8_t *buf, size_t cap)
{
    struct wire_icmp_head h = {icmp->type, icmp->code, icmp_second_word(icmp), icmp->data,
                               icmp->data_len};
    return wire_icmp_head_emit(&h, 0, buf, cap); /* RFC 792: no pseudo-header */
}

size_t wire_icmp_packet_emit(struct wire_ip_repr *ip, const struct wire_icmp_repr *icmp,
                             uint8_t *buf, size_t cap)
{
    if (cap < WIRE_IPV4_HDR_LEN) return 0;
    size_t n = wire_icmp_emit(icmp, buf + WIRE_IPV4_HDR_LEN, cap - WIRE_IPV4_HDR_LEN);
    if (n == 0 || n > UINT16_MAX - WIRE_IPV4_HDR_LEN) return 0;
    ip->proto = WIRE_IP_PROTO_ICMP;
    ip->header_len = WIRE_IPV4_HDR_LEN;
    ip->payload_len = (uint16_t)n;
    wire_ipv4_emit(ip, buf);
    return WIRE_IPV4_HDR_LEN + n;
}

/* RFC 4443 §3.2: a packet too big from the packet's destination back to its source,
 * returning as much of it as fits the IPv6 minimum MTU (§2.4 (c)). */
static size_t packet_too_big6(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len,
                              uint32_t mtu)
{
    if (len < WIRE_IPV6_HDR_LEN + WIRE_ICMP_QUOTE_DATA_MIN) return 0;
    struct wire_ip_repr ip = {.ttl = 64, .proto = WIRE_IP_PROTO_ICMPV6};
    synack_packet_addrs(pkt, len, &ip.dst, &ip.src);
    struct wire_icmp6_repr icmp = {.type = WIRE_ICMP6_PACKET_TOO_BIG,
                                   .mtu = mtu,
                                   .data = pkt,
                                   .data_len =
                                       len < WIRE_ICMP6_QUOTE_MAX ? len : WIRE_ICMP6_QUOTE_MAX};
    if (cap < WIRE_IPV6_HDR_LEN) return 0;
    size_t n =
        wire_icmp6_emit(&icmp, &ip.src, &ip.dst, out + WIRE_IPV6_HDR_LEN, cap - WIRE_IPV6_HDR_LEN);
    if (n == 0) return 0;
    ip.payload_len = (uint16_t)n;
    wire_ipv6_emit(&ip, out);
    return WIRE_IPV6_HDR_LEN + n;
}

size_t synack_packet_too_big(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, uint32_t mtu)
{
    if (len > 0 && pkt[0] >> 4 == 6) return packet_too_big6(out, cap, pkt, len, mtu);
    if (len < WIRE_IPV4_HDR_LEN || (pkt[0] >> 4) != 4 || mtu > UINT16_MAX) return 0;
    size_t header_len = (size_t)(pkt[0] & 0x0f) * 4;
    if (header_len < WIRE_IPV4_HDR_LEN || len < header_len + WIRE_ICMP_QUOTE_DATA_MIN) return 0;
    struct wire_ip_repr ip = {.ttl = 64};
    synack_packet_addrs(pkt, len, &ip.dst, &ip.src);
    /* RFC 792: the Internet header and the first 64 bits of the datagram's data. */
    struct wire_icmp_repr icmp = {.type = WIRE_ICMP_DEST_UNREACH,
                                  .code = WIRE_ICMP_FRAG_NEEDED,
                                  .mtu = (uint16_t)mtu,
                                  .data = pkt,
                                  .data_len = header_len + WIRE_ICMP_QUOTE_DATA_MIN};
    return wire_icmp_packet_emit(&ip, &icmp, out, cap);
}
