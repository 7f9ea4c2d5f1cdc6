/* IPv4 header parse and emit (RFC 791 §3.1). No options are emitted; options received are
 * skipped. A fragment is described (wire_ip_frag); reassembling it is the caller's job. */
#include <string.h>

#include "base/addr.h"
#include "base/cursor.h"
#include "wire/wire.h"

/* RFC 791 §3.1, the 16-bit word holding Flags and Fragment Offset. */
#define IPV4_FLAG_DF 0x4000u
#define IPV4_FLAG_MF 0x2000u
#define IPV4_FRAG_OFFSET_MASK 0x1fffu
/* Byte offset of the Header Checksum field. */
#define IPV4_OFF_CHECKSUM 10
#define IPV4_OFF_SRC 12 /* RFC 791 §3.1: Source Address, then Destination Address */
#define IPV4_OFF_DST 16

/* The fixed 20-byte header, as read off the wire, but for the checksum (summed over the
 * bytes) and the addresses (copied from them: IPV4_OFF_SRC, IPV4_OFF_DST). */
struct ipv4_fixed {
    uint8_t ver_ihl, tos;
    uint16_t total_len, id, flags_frag;
    uint8_t ttl, proto;
};

static bool ipv4_read_fixed(struct cursor *c, struct ipv4_fixed *h)
{
    return cursor_read_u8(c, &h->ver_ihl) && cursor_read_u8(c, &h->tos) &&
           cursor_read_u16be(c, &h->total_len) && cursor_read_u16be(c, &h->id) &&
           cursor_read_u16be(c, &h->flags_frag) && cursor_read_u8(c, &h->ttl) &&
           cursor_read_u8(c, &h->proto) && cursor_skip(c, 2 + 4 + 4);
}

enum synack_drop wire_ipv4_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out)
{
    struct cursor c = cursor_make(pkt, len);
    struct ipv4_fixed h;
    if (!ipv4_read_fixed(&c, &h)) return SYNACK_DROP_IP_TRUNCATED;

    /* RFC 791 §3.1: Version is 4; IHL counts 32-bit words and is at least 5. */
    if ((h.ver_ihl >> 4) != 4) return SYNACK_DROP_IP_VERSION;
    size_t ihl = h.ver_ihl & 0x0fu;
    if (ihl < 5) return SYNACK_DROP_IP_IHL;
    size_t header_len = ihl * 4;
    if (header_len > len) return SYNACK_DROP_IP_TRUNCATED;

    /* RFC 791 §3.1: Total Length covers header and data. Bytes past it are link padding. */
    if (h.total_len < header_len || h.total_len > len) return SYNACK_DROP_IP_TOTAL_LEN;

    /* Every field is written in place, each once, from values held in registers: a field
     * built in pieces (an address, the fragment flags) and read back whole at once waits on
     * store-to-load forwarding, and this runs for every packet. */
    memset(out, 0, sizeof *out);
    /* RFC 791 §3.2: a fragment has MF set or a non-zero offset (in 8-byte units). */
    bool more = (h.flags_frag & IPV4_FLAG_MF) != 0;
    uint16_t offset = (uint16_t)((h.flags_frag & IPV4_FRAG_OFFSET_MASK) * 8u);
    out->frag.more = more;
    out->frag.offset = offset;
    out->frag.present = more || offset != 0;
    out->frag.id = h.id;
    out->frag.unfrag_len = (uint16_t)header_len;
    addr_set_v4(&out->src, pkt + IPV4_OFF_SRC);
    addr_set_v4(&out->dst, pkt + IPV4_OFF_DST);
    out->proto = h.proto;
    out->ttl = h.ttl;
    out->tos = h.tos;
    out->id = h.id;
    out->df = (h.flags_frag & IPV4_FLAG_DF) != 0;
    out->header_len = (uint16_t)header_len;
    out->payload_len = (uint16_t)(h.total_len - header_len);
    /* RFC 791 §3.1: the header checksum covers the header only, options included; summed
     * with the checksum field in place, a correct header folds to zero (RFC 1071 §1). Checked
     * after `out` is filled (a failed parse leaves it unspecified): the sum's hundred-odd
     * instructions give the stores above time to reach the cache before the caller reads the
     * addresses back whole, which would otherwise wait on store-to-load forwarding. */
    if (wire_csum_finish(wire_csum_add(0, pkt, header_len)) != 0) return SYNACK_DROP_IP_CHECKSUM;
    return SYNACK_DROP_NONE;
}

void wire_ipv4_emit(const struct wire_ip_repr *ip, uint8_t *buf)
{
    struct wcursor w = wcursor_make(buf, WIRE_IPV4_HDR_LEN);
    /* RFC 791 §3.1 field order. The 20 writes fill the buffer exactly. */
    wcursor_write_u8(&w, 4u << 4 | WIRE_IPV4_HDR_LEN / 4);
    wcursor_write_u8(&w, ip->tos);
    wcursor_write_u16be(&w, (uint16_t)(WIRE_IPV4_HDR_LEN + ip->payload_len));
    wcursor_write_u16be(&w, ip->id);
    uint16_t flags_frag = ip->df ? IPV4_FLAG_DF : 0;
    if (ip->frag.present)
        flags_frag |= (uint16_t)((ip->frag.more ? IPV4_FLAG_MF : 0) |
                                 (ip->frag.offset / 8u & IPV4_FRAG_OFFSET_MASK));
    wcursor_write_u16be(&w, flags_frag);
    wcursor_write_u8(&w, ip->ttl);
    wcursor_write_u8(&w, ip->proto);
    wcursor_write_u16be(&w, 0); /* checksum, filled in below */
    wcursor_write_bytes(&w, ip->src.bytes, 4);
    wcursor_write_bytes(&w, ip->dst.bytes, 4);

    uint16_t sum = wire_csum_finish(wire_csum_add(0, buf, WIRE_IPV4_HDR_LEN));
    buf[IPV4_OFF_CHECKSUM] = (uint8_t)(sum >> 8);
    buf[IPV4_OFF_CHECKSUM + 1] = (uint8_t)sum;
}
