/* IPv6 header parse and emit (RFC 8200 §3), with the walk over the extension headers a host
 * acts on (RFC 8200 §4): hop-by-hop and destination options with the unknown-option actions
 * of §4.2, routing (§4.4, RFC 5095), fragment (§4.5, RFC 6946 atomic fragments). */
#include "base/cursor.h"
#include "wire/wire.h"

/* RFC 8200 §3: the first word holds Version (4 bits), Traffic Class (8), Flow Label (20). */
#define IPV6_VERSION_SHIFT 28
#define IPV6_TCLASS_SHIFT 20
#define IPV6_FLOW_MASK 0xfffffu
/* Byte offset of the fixed header's Next Header field. */
#define IPV6_OFF_NEXT_HEADER 6

/* RFC 8200 §4.3-§4.6: the hop-by-hop, routing and destination options headers count their
 * length in 8-octet units past the first 8 (Hdr Ext Len, the second byte). */
#define IPV6_EXT_UNIT 8
/* RFC 8200 §4.4: byte offsets of Routing Type and Segments Left in a routing header. */
#define IPV6_RH_OFF_TYPE 2
/* RFC 8200 §4.5: the Fragment Offset (13 bits, 8-octet units) and M bit of their word. */
#define IPV6_FRAG_OFFSET_MASK 0xfff8u
#define IPV6_FRAG_M 0x0001u

/* RFC 8200 §4.2: option types with a meaning of their own (Pad1, PadN); for the others the
 * two high-order bits say what to do when the type is not recognized. */
#define IPV6_OPT_PAD1 0
#define IPV6_OPT_PADN 1
#define IPV6_OPT_ACTION_SHIFT 6
#define IPV6_OPT_SKIP 0
#define IPV6_OPT_DISCARD 1
#define IPV6_OPT_DISCARD_ANSWER 2
#define IPV6_OPT_DISCARD_ANSWER_UNICAST 3

bool wire_ipv6_is_ext_header(uint8_t nh)
{
    /* IANA "IPv6 Extension Header Types": hop-by-hop, routing, fragment, ESP, AH,
     * destination options, mobility (135), HIP (139), shim6 (140), experiments (253, 254). */
    switch (nh) {
    case WIRE_IPV6_NH_HOP_BY_HOP:
    case WIRE_IPV6_NH_ROUTING:
    case WIRE_IPV6_NH_FRAGMENT:
    case WIRE_IPV6_NH_ESP:
    case WIRE_IPV6_NH_AH:
    case WIRE_IPV6_NH_DEST_OPTS:
    case 135:
    case 139:
    case 140:
    case 253:
    case 254:
        return true;
    default:
        return false;
    }
}

/* ---- the chain, by lengths alone --------------------------------------------------------- */

/* The headers this file walks. Each begins with its Next Header byte. */
static bool ipv6_is_walked(uint8_t nh)
{
    return nh == WIRE_IPV6_NH_HOP_BY_HOP || nh == WIRE_IPV6_NH_ROUTING ||
           nh == WIRE_IPV6_NH_FRAGMENT || nh == WIRE_IPV6_NH_DEST_OPTS;
}

/* Splits the extension header `nh` (one ipv6_is_walked accepts) off the front of `c` into
 * `hdr`: 8 bytes for a fragment header (§4.5), (Hdr Ext Len + 1) * 8 for the others (§4.3,
 * §4.4, §4.6). False when it runs past `c`. */
static bool ipv6_split_ext(struct cursor *c, uint8_t nh, struct cursor *hdr)
{
    size_t len = WIRE_IPV6_FRAG_HDR_LEN;
    if (nh != WIRE_IPV6_NH_FRAGMENT) {
        if (cursor_remaining(c) < 2) return false;
        len = ((size_t)cursor_ptr(c)[1] + 1) * IPV6_EXT_UNIT;
    }
    return cursor_split(c, len, hdr);
}

/* The fixed header, as read off the wire (RFC 8200 §3). */
struct ipv6_fixed {
    uint32_t ver_tc_flow;
    uint16_t payload_len;
    uint8_t next_header, hop_limit;
    uint8_t src[16], dst[16];
};

static bool ipv6_read_fixed(struct cursor *c, struct ipv6_fixed *h)
{
    return cursor_read_u32be(c, &h->ver_tc_flow) && cursor_read_u16be(c, &h->payload_len) &&
           cursor_read_u8(c, &h->next_header) && cursor_read_u8(c, &h->hop_limit) &&
           cursor_read_bytes(c, h->src, sizeof(h->src)) &&
           cursor_read_bytes(c, h->dst, sizeof(h->dst));
}

static bool ipv6_version_ok(const struct ipv6_fixed *h)
{
    return h->ver_tc_flow >> IPV6_VERSION_SHIFT == 6;
}

bool wire_ipv6_find_upper_layer(const uint8_t *pkt, size_t len, uint8_t *proto, size_t *offset,
                                uint16_t *frag_offset)
{
    struct cursor c = cursor_make(pkt, len);
    struct ipv6_fixed h;
    if (!ipv6_read_fixed(&c, &h) || !ipv6_version_ok(&h)) return false;
    uint8_t nh = h.next_header;
    uint16_t frag = 0;
    for (unsigned n = 0; ipv6_is_walked(nh) && frag == 0; n++) {
        struct cursor hdr;
        uint8_t next, reserved;
        uint16_t offset_m = 0;
        if (n == WIRE_IPV6_MAX_EXT_HEADERS || !ipv6_split_ext(&c, nh, &hdr) ||
            !cursor_read_u8(&hdr, &next))
            return false;
        /* RFC 8200 §4.5: after the fragment header of a non-first fragment comes the middle
         * of the fragmentable part, not a header. */
        if (nh == WIRE_IPV6_NH_FRAGMENT && cursor_read_u8(&hdr, &reserved) &&
            cursor_read_u16be(&hdr, &offset_m))
            frag = offset_m & IPV6_FRAG_OFFSET_MASK;
        nh = next;
    }
    *proto = nh;
    *offset = c.pos;
    *frag_offset = frag;
    return true;
}

/* ---- parse ------------------------------------------------------------------------------- */

/* Where the walk is: `c` covers the packet up to the end of its payload, positioned at the
 * header `nh` names; `nh_at` is the offset of the field that holds `nh`. */
struct ipv6_walk {
    struct cursor c;
    uint8_t nh;
    size_t nh_at;
    struct wire_ip_repr *out;
};

/* Sets the answer the RFC asks for and returns `drop`. */
static enum synack_drop ipv6_answer(struct ipv6_walk *w, enum synack_drop drop, uint8_t code,
                                    size_t pointer)
{
    w->out->problem =
        (struct wire_ip_problem){.send = true, .code = code, .pointer = (uint32_t)pointer};
    return drop;
}

/* RFC 8200 §4.2: the action for an option type this node does not recognize. */
static enum synack_drop ipv6_unknown_option(struct ipv6_walk *w, uint8_t type, size_t type_at)
{
    switch (type >> IPV6_OPT_ACTION_SHIFT) {
    case IPV6_OPT_SKIP:
        return SYNACK_DROP_NONE;
    case IPV6_OPT_DISCARD:
        return SYNACK_DROP_IP6_OPTION;
    case IPV6_OPT_DISCARD_ANSWER:
        /* "regardless of whether or not the packet's Destination Address was a multicast
         * address" */
        return ipv6_answer(w, SYNACK_DROP_IP6_OPTION, WIRE_ICMP6_UNKNOWN_OPTION, type_at);
    default: /* IPV6_OPT_DISCARD_ANSWER_UNICAST */
        /* RFC 4291 §2.7: multicast addresses are ff00::/8. */
        if (w->out->dst.bytes[0] == 0xff) return SYNACK_DROP_IP6_OPTION;
        return ipv6_answer(w, SYNACK_DROP_IP6_OPTION, WIRE_ICMP6_UNKNOWN_OPTION, type_at);
    }
}

/* The options of a hop-by-hop or destination options header (RFC 8200 §4.2), in the order
 * they appear; `opts` covers the header, which starts at offset `base` of the packet, and is
 * positioned at its first option. */
static enum synack_drop ipv6_parse_options(struct ipv6_walk *w, struct cursor *opts, size_t base)
{
    uint8_t type, len;
    while (cursor_remaining(opts) > 0) {
        size_t type_at = base + opts->pos;
        cursor_read_u8(opts, &type);
        /* Pad1 is a single byte, with no length field. */
        if (type == IPV6_OPT_PAD1) continue;
        /* Every other option is type, length, data: none may run past its header. */
        if (!cursor_read_u8(opts, &len) || !cursor_skip(opts, len))
            return SYNACK_DROP_IP6_EXT_HEADER;
        if (type == IPV6_OPT_PADN) continue;
        enum synack_drop drop = ipv6_unknown_option(w, type, type_at);
        if (drop != SYNACK_DROP_NONE) return drop;
    }
    return SYNACK_DROP_NONE;
}

/* RFC 8200 §4.4: Segments Left 0 means the header is ignored. Otherwise this node would be
 * asked to forward: it forwards nothing, so every type is as if unrecognized (RFC 5095 §3
 * says so of type 0): discard, parameter problem code 0 at the Routing Type. */
static enum synack_drop ipv6_parse_routing(struct ipv6_walk *w, struct cursor *hdr, size_t base)
{
    uint8_t hdr_ext_len, type, segments_left = 0;
    cursor_read_u8(hdr, &hdr_ext_len);
    cursor_read_u8(hdr, &type);
    cursor_read_u8(hdr, &segments_left);
    if (segments_left == 0) return SYNACK_DROP_NONE;
    return ipv6_answer(w, SYNACK_DROP_IP6_ROUTING, WIRE_ICMP6_BAD_HEADER_FIELD,
                       base + IPV6_RH_OFF_TYPE);
}

/* RFC 8200 §4.5. Returns true when the walk stops here (a fragment of a larger datagram),
 * false for an atomic fragment (RFC 6946 §4: processed in isolation, as a whole datagram),
 * whose fragment header the walk steps over. */
static bool ipv6_parse_fragment(struct ipv6_walk *w, struct cursor *hdr, size_t base)
{
    uint8_t reserved;
    uint16_t offset_m = 0;
    uint32_t id = 0;
    cursor_read_u8(hdr, &reserved); /* "ignored on reception", like the two Res bits */
    cursor_read_u16be(hdr, &offset_m);
    cursor_read_u32be(hdr, &id);
    uint16_t offset = offset_m & IPV6_FRAG_OFFSET_MASK;
    bool more = (offset_m & IPV6_FRAG_M) != 0;
    if (offset == 0 && !more) return false;
    w->out->frag = (struct wire_ip_frag){
        .present = true, .more = more, .offset = offset, .id = id, .unfrag_len = (uint16_t)base};
    return true;
}

/* One extension header: acts on it and moves the walk past it. Sets *stop when what follows
 * is not to be walked (a fragment). The handlers get the header after its Next Header byte;
 * every walked header is at least 8 bytes, so their fixed fields are there to read. */
static enum synack_drop ipv6_walk_one(struct ipv6_walk *w, bool *stop)
{
    size_t base = w->c.pos;
    struct cursor hdr;
    uint8_t next;
    if (!ipv6_split_ext(&w->c, w->nh, &hdr) || !cursor_read_u8(&hdr, &next))
        return SYNACK_DROP_IP6_EXT_HEADER;
    enum synack_drop drop = SYNACK_DROP_NONE;
    switch (w->nh) {
    case WIRE_IPV6_NH_HOP_BY_HOP:
    case WIRE_IPV6_NH_DEST_OPTS:
        cursor_skip(&hdr, 1); /* Hdr Ext Len */
        drop = ipv6_parse_options(w, &hdr, base);
        break;
    case WIRE_IPV6_NH_ROUTING:
        drop = ipv6_parse_routing(w, &hdr, base);
        break;
    default: /* WIRE_IPV6_NH_FRAGMENT */
        *stop = ipv6_parse_fragment(w, &hdr, base);
        break;
    }
    w->nh = next;
    w->nh_at = base; /* every walked header starts with its Next Header */
    return drop;
}

static enum synack_drop ipv6_walk(struct ipv6_walk *w)
{
    bool stop = false;
    for (unsigned n = 0; ipv6_is_walked(w->nh) && !stop; n++) {
        /* RFC 8200 §4: hop-by-hop only right after the fixed header; "the same action"
         * (parameter problem code 1 at the Next Header) if a Next Header of zero is met in
         * any header other than the IPv6 header. */
        if (w->nh == WIRE_IPV6_NH_HOP_BY_HOP && w->c.pos != WIRE_IPV6_HDR_LEN)
            return ipv6_answer(w, SYNACK_DROP_IP6_EXT_HEADER, WIRE_ICMP6_UNKNOWN_NEXT_HEADER,
                               w->nh_at);
        if (n == WIRE_IPV6_MAX_EXT_HEADERS) return SYNACK_DROP_IP6_EXT_HEADER;
        enum synack_drop drop = ipv6_walk_one(w, &stop);
        if (drop != SYNACK_DROP_NONE) return drop;
    }
    struct wire_ip_repr *out = w->out;
    out->proto = w->nh;
    out->header_len = (uint16_t)w->c.pos;
    out->payload_len = (uint16_t)cursor_remaining(&w->c);
    /* RFC 8200 §4: No Next Header: nothing follows, nothing to answer. */
    if (w->nh == WIRE_IPV6_NH_NONE) return SYNACK_DROP_IP6_NEXT_HEADER;
    /* RFC 8200 §4: code 1 at the field that named the protocol, for a caller without it. */
    out->problem = (struct wire_ip_problem){
        .send = false, .code = WIRE_ICMP6_UNKNOWN_NEXT_HEADER, .pointer = (uint32_t)w->nh_at};
    return SYNACK_DROP_NONE;
}

enum synack_drop wire_ipv6_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *out)
{
    *out = (struct wire_ip_repr){0};
    struct cursor c = cursor_make(pkt, len);
    struct ipv6_fixed h;
    if (!ipv6_read_fixed(&c, &h)) return SYNACK_DROP_IP6_TRUNCATED;
    if (!ipv6_version_ok(&h)) return SYNACK_DROP_IP_VERSION;
    /* RFC 8200 §3: Payload Length counts what follows the fixed header; bytes past it are
     * link padding. */
    if (h.payload_len > cursor_remaining(&c)) return SYNACK_DROP_IP6_TRUNCATED;

    out->src = synack_addr_v6(h.src);
    out->dst = synack_addr_v6(h.dst);
    out->ttl = h.hop_limit;
    out->tos = (uint8_t)(h.ver_tc_flow >> IPV6_TCLASS_SHIFT);
    out->flow_label = h.ver_tc_flow & IPV6_FLOW_MASK;

    /* RFC 2675 §3: Payload Length 0 with hop-by-hop announces a jumbogram (not supported). */
    if (h.payload_len == 0 && h.next_header == WIRE_IPV6_NH_HOP_BY_HOP)
        return SYNACK_DROP_IP6_EXT_HEADER;

    struct ipv6_walk w = {.c = cursor_make(pkt, WIRE_IPV6_HDR_LEN + (size_t)h.payload_len),
                          .nh = h.next_header,
                          .nh_at = IPV6_OFF_NEXT_HEADER,
                          .out = out};
    cursor_skip(&w.c, WIRE_IPV6_HDR_LEN);
    return ipv6_walk(&w);
}

/* ---- emit -------------------------------------------------------------------------------- */

void wire_ipv6_emit(const struct wire_ip_repr *ip, uint8_t *buf)
{
    struct wcursor w = wcursor_make(buf, WIRE_IPV6_HDR_LEN);
    /* RFC 8200 §3 field order. The writes fill the 40 bytes exactly. */
    wcursor_write_u32be(&w, (uint32_t)6 << IPV6_VERSION_SHIFT |
                                (uint32_t)ip->tos << IPV6_TCLASS_SHIFT |
                                (ip->flow_label & IPV6_FLOW_MASK));
    wcursor_write_u16be(&w, ip->payload_len);
    wcursor_write_u8(&w, ip->proto);
    wcursor_write_u8(&w, ip->ttl);
    wcursor_write_bytes(&w, ip->src.bytes, 16);
    wcursor_write_bytes(&w, ip->dst.bytes, 16);
}

size_t wire_ipv6_frag_header_emit(uint8_t next_header, uint16_t offset, bool more, uint32_t id,
                                  uint8_t *buf, size_t cap)
{
    if (cap < WIRE_IPV6_FRAG_HDR_LEN) return 0;
    /* RFC 8200 §4.5: Next Header, Reserved, Fragment Offset | Res | M, Identification. */
    struct wcursor w = wcursor_make(buf, WIRE_IPV6_FRAG_HDR_LEN);
    wcursor_write_u8(&w, next_header);
    wcursor_write_u8(&w, 0);
    wcursor_write_u16be(&w,
                        (uint16_t)((offset & IPV6_FRAG_OFFSET_MASK) | (more ? IPV6_FRAG_M : 0)));
    wcursor_write_u32be(&w, id);
    return WIRE_IPV6_FRAG_HDR_LEN;
}
