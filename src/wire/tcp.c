/* TCP header and options parse and emit (RFC 9293 §3.1, §3.2; RFC 7323; RFC 2018), and
 * whole IPv4+TCP packets. */
#include "base/cursor.h"
#include "wire/wire.h"

/* RFC 9293 §3.2 (kinds 0-2), RFC 7323 §2.2 and §3.2 (3, 8), RFC 2018 §2 and §3 (4, 5). */
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WS 3
#define TCP_OPT_SACK_PERM 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TS 8

#define TCP_OPT_MSS_LEN 4
#define TCP_OPT_WS_LEN 3
#define TCP_OPT_SACK_PERM_LEN 2
#define TCP_OPT_TS_LEN 10
#define TCP_OPT_SACK_BLOCK_LEN 8
/* kind + length: the part of an option before its value */
#define TCP_OPT_HEAD_LEN 2

#define TCP_MAX_OPT_LEN (WIRE_TCP_MAX_HDR_LEN - WIRE_TCP_HDR_LEN)
/* Byte offset of the Checksum field. */
#define TCP_OFF_CHECKSUM WIRE_TCP_OFF_CHECKSUM

/* ---- parse ------------------------------------------------------------------------------ */

/* The fixed 20-byte header, as read off the wire (RFC 9293 §3.1). */
struct tcp_fixed {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t doff_byte; /* Data Offset in the high 4 bits, reserved bits below */
    uint8_t flags;
    uint16_t window, checksum, urgent;
};

static bool tcp_read_fixed(struct cursor *c, struct tcp_fixed *h)
{
    return cursor_read_u16be(c, &h->src_port) && cursor_read_u16be(c, &h->dst_port) &&
           cursor_read_u32be(c, &h->seq) && cursor_read_u32be(c, &h->ack) &&
           cursor_read_u8(c, &h->doff_byte) && cursor_read_u8(c, &h->flags) &&
           cursor_read_u16be(c, &h->window) && cursor_read_u16be(c, &h->checksum) &&
           cursor_read_u16be(c, &h->urgent);
}

/* One option with a length field; `body` holds exactly its value (olen - 2 bytes). */
static enum synack_drop tcp_parse_option(uint8_t kind, uint8_t olen, struct cursor *body,
                                         struct wire_tcp_repr *out)
{
    switch (kind) {
    case TCP_OPT_MSS: /* RFC 9293 §3.2: kind 2, length 4, 16-bit MSS */
        if (olen != TCP_OPT_MSS_LEN || !cursor_read_u16be(body, &out->mss))
            return SYNACK_DROP_TCP_OPTION;
        out->has_mss = true;
        return SYNACK_DROP_NONE;
    case TCP_OPT_WS: /* RFC 7323 §2.2: kind 3, length 3, shift count. Kept as sent: the
                      * clamp to 14 (RFC 7323 §2.3) is the connection's business. */
        if (olen != TCP_OPT_WS_LEN || !cursor_read_u8(body, &out->wscale))
            return SYNACK_DROP_TCP_OPTION;
        out->has_wscale = true;
        return SYNACK_DROP_NONE;
    case TCP_OPT_SACK_PERM: /* RFC 2018 §2: kind 4, length 2 */
        if (olen != TCP_OPT_SACK_PERM_LEN) return SYNACK_DROP_TCP_OPTION;
        out->sack_permitted = true;
        return SYNACK_DROP_NONE;
    case TCP_OPT_SACK: { /* RFC 2018 §3: kind 5, length 2 + 8n; 40 option bytes fit n <= 4 */
        size_t value_len = (size_t)olen - TCP_OPT_HEAD_LEN;
        if (value_len == 0 || value_len % TCP_OPT_SACK_BLOCK_LEN != 0 ||
            value_len / TCP_OPT_SACK_BLOCK_LEN > WIRE_TCP_MAX_SACK)
            return SYNACK_DROP_TCP_OPTION;
        out->sack_count = 0;
        while (cursor_remaining(body) > 0) {
            struct wire_tcp_sack_block *b = &out->sack[out->sack_count];
            if (!cursor_read_u32be(body, &b->left) || !cursor_read_u32be(body, &b->right))
                return SYNACK_DROP_TCP_OPTION;
            out->sack_count++;
        }
        return SYNACK_DROP_NONE;
    }
    case TCP_OPT_TS: /* RFC 7323 §3.2: kind 8, length 10, TSval and TSecr */
        if (olen != TCP_OPT_TS_LEN || !cursor_read_u32be(body, &out->ts_val) ||
            !cursor_read_u32be(body, &out->ts_ecr))
            return SYNACK_DROP_TCP_OPTION;
        out->has_ts = true;
        return SYNACK_DROP_NONE;
    default:
        /* RFC 9293 §3.2 (MUST-6): ignore without error an option we do not implement; its
         * length field has already told us how far to skip. */
        return SYNACK_DROP_NONE;
    }
}

static enum synack_drop tcp_parse_options(struct cursor *opts, struct wire_tcp_repr *out)
{
    uint8_t kind;
    while (cursor_read_u8(opts, &kind)) {
        /* RFC 9293 §3.2: End of Option List ends the list; what follows is padding. */
        if (kind == TCP_OPT_EOL) break;
        if (kind == TCP_OPT_NOP) continue;
        /* RFC 9293 §3.2 (MUST-68, MUST-7): every other option has a length field covering
         * kind and length, so at least 2; a length of 0 or 1, or one that runs past the
         * header, is illegal. */
        uint8_t olen;
        struct cursor body;
        if (!cursor_read_u8(opts, &olen) || olen < TCP_OPT_HEAD_LEN ||
            !cursor_split(opts, (size_t)olen - TCP_OPT_HEAD_LEN, &body))
            return SYNACK_DROP_TCP_OPTION;
        enum synack_drop drop = tcp_parse_option(kind, olen, &body, out);
        if (drop != SYNACK_DROP_NONE) return drop;
    }
    return SYNACK_DROP_NONE;
}

/* RFC 9293 §3.1: the checksum covers pseudo-header, header and data; summed with the
 * checksum field in place, a correct segment folds to zero (RFC 1071 §1). */
static bool tcp_checksum_ok(const uint8_t *seg, size_t len, const struct synack_addr *src,
                            const struct synack_addr *dst)
{
    if (len > UINT16_MAX) return false; /* the pseudo-header cannot carry the length */
    uint32_t sum = wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_TCP, (uint32_t)len);
    return wire_csum_finish(wire_csum_add(sum, seg, len)) == 0;
}

/* What tcp_parse does with the checksum. */
enum tcp_csum_mode {
    TCP_CSUM_ENFORCE, /* a wrong one drops the segment */
    TCP_CSUM_REPORT,  /* a wrong one is only reported (*checksum_ok) */
    TCP_CSUM_VOUCHED, /* not computed: the link vouched for it */
};

/* Checks run in this order: header length, data offset, checksum (so that a corrupted
 * segment is counted as corrupted, whatever field the damage hit), options, ports, flags. */
/* wire_tcp_parse, with the checksum enforced, only reported through `checksum_ok` (which
 * must then not be NULL), or skipped. */
static enum synack_drop tcp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                  const struct synack_addr *dst, struct wire_tcp_repr *out,
                                  enum tcp_csum_mode mode, bool *checksum_ok)
{
    *out = (struct wire_tcp_repr){0};
    struct cursor c = cursor_make(seg, len);
    struct tcp_fixed h;
    if (!tcp_read_fixed(&c, &h)) return SYNACK_DROP_TCP_TRUNCATED;

    /* RFC 9293 §3.1: Data Offset counts 32-bit words; the fixed header alone is 5. */
    size_t doff = h.doff_byte >> 4;
    size_t header_len = doff * 4;
    if (doff < 5 || header_len > len) return SYNACK_DROP_TCP_DATA_OFFSET;

    if (mode == TCP_CSUM_VOUCHED) {
        if (len > UINT16_MAX) return SYNACK_DROP_TCP_CHECKSUM; /* no pseudo-header holds it */
    } else {
        bool sum_ok = tcp_checksum_ok(seg, len, src, dst);
        if (mode == TCP_CSUM_REPORT)
            *checksum_ok = sum_ok;
        else if (!sum_ok)
            return SYNACK_DROP_TCP_CHECKSUM;
    }

    struct cursor opts;
    if (!cursor_split(&c, header_len - WIRE_TCP_HDR_LEN, &opts))
        return SYNACK_DROP_TCP_DATA_OFFSET; /* unreachable: header_len <= len checked above */
    enum synack_drop drop = tcp_parse_options(&opts, out);
    if (drop != SYNACK_DROP_NONE) return drop;

    /* Port 0 is reserved (RFC 6335 §6) and never names a connection. */
    if (h.src_port == 0 || h.dst_port == 0) return SYNACK_DROP_TCP_PORT_ZERO;
    /* SYN opens a sequence space that FIN would close and RST would abort in the same
     * segment; no state of RFC 9293 §3.10.7 gives that a meaning, so it is dropped here. */
    if ((h.flags & WIRE_TCP_SYN) && (h.flags & (WIRE_TCP_FIN | WIRE_TCP_RST)))
        return SYNACK_DROP_TCP_FLAGS;

    out->src_port = h.src_port;
    out->dst_port = h.dst_port;
    out->seq = h.seq;
    out->ack = h.ack;
    out->flags = h.flags;
    out->window = h.window;
    out->urgent = h.urgent;
    out->payload = seg + header_len;
    out->payload_len = len - header_len;
    return SYNACK_DROP_NONE;
}

enum synack_drop wire_tcp_parse(const uint8_t *seg, size_t len, const struct synack_addr *src,
                                const struct synack_addr *dst, struct wire_tcp_repr *out)
{
    return tcp_parse(seg, len, src, dst, out, TCP_CSUM_ENFORCE, NULL);
}

enum synack_drop wire_tcp_parse_vouched(const uint8_t *seg, size_t len,
                                        const struct synack_addr *src,
                                        const struct synack_addr *dst, struct wire_tcp_repr *out)
{
    return tcp_parse(seg, len, src, dst, out, TCP_CSUM_VOUCHED, NULL);
}

/* ---- emit ------------------------------------------------------------------------------- */

/* Writes the options of `tcp` into `opts` and returns their length, a multiple of 4.
 * The layout keeps every multi-byte value 32-bit aligned, as Linux does (RFC 7323
 * Appendix A suggests the NOP padding for timestamps):
 *   MSS                          02 04 mm mm
 *   SACK-permitted + timestamps  04 02 08 0a <TSval> <TSecr>
 *   SACK-permitted alone         01 01 04 02
 *   timestamps alone             01 01 08 0a <TSval> <TSecr>
 *   window scale                 01 03 03 ss
 *   SACK blocks                  01 01 05 <2+8n> <left right>...  (as many as still fit)
 * The largest combination without SACK is 20 bytes, so at least two blocks always fit.
 * This function is the one source of the layout: wire_tcp_header_len() measures with it. */
static size_t tcp_write_options(const struct wire_tcp_repr *tcp, uint8_t opts[TCP_MAX_OPT_LEN])
{
    struct wcursor w = wcursor_make(opts, TCP_MAX_OPT_LEN);
    if (tcp->has_mss) {
        wcursor_write_u8(&w, TCP_OPT_MSS);
        wcursor_write_u8(&w, TCP_OPT_MSS_LEN);
        wcursor_write_u16be(&w, tcp->mss);
    }
    if (tcp->sack_permitted) {
        if (!tcp->has_ts) {
            wcursor_write_u8(&w, TCP_OPT_NOP);
            wcursor_write_u8(&w, TCP_OPT_NOP);
        }
        wcursor_write_u8(&w, TCP_OPT_SACK_PERM);
        wcursor_write_u8(&w, TCP_OPT_SACK_PERM_LEN);
    } else if (tcp->has_ts) {
        wcursor_write_u8(&w, TCP_OPT_NOP);
        wcursor_write_u8(&w, TCP_OPT_NOP);
    }
    if (tcp->has_ts) {
        wcursor_write_u8(&w, TCP_OPT_TS);
        wcursor_write_u8(&w, TCP_OPT_TS_LEN);
        wcursor_write_u32be(&w, tcp->ts_val);
        wcursor_write_u32be(&w, tcp->ts_ecr);
    }
    if (tcp->has_wscale) {
        wcursor_write_u8(&w, TCP_OPT_NOP);
        wcursor_write_u8(&w, TCP_OPT_WS);
        wcursor_write_u8(&w, TCP_OPT_WS_LEN);
        wcursor_write_u8(&w, tcp->wscale);
    }
    /* RFC 2018 §3: as many blocks as the option space allows. */
    size_t room = wcursor_remaining(&w);
    size_t fit = room >= 4 ? (room - 4) / TCP_OPT_SACK_BLOCK_LEN : 0;
    size_t blocks = tcp->sack_count;
    if (blocks > WIRE_TCP_MAX_SACK) blocks = WIRE_TCP_MAX_SACK;
    if (blocks > fit) blocks = fit;
    if (blocks > 0) {
        wcursor_write_u8(&w, TCP_OPT_NOP);
        wcursor_write_u8(&w, TCP_OPT_NOP);
        wcursor_write_u8(&w, TCP_OPT_SACK);
        wcursor_write_u8(&w, (uint8_t)(TCP_OPT_HEAD_LEN + blocks * TCP_OPT_SACK_BLOCK_LEN));
        for (size_t i = 0; i < blocks; i++) {
            wcursor_write_u32be(&w, tcp->sack[i].left);
            wcursor_write_u32be(&w, tcp->sack[i].right);
        }
    }
    /* Every piece above is a multiple of 4 and they total at most 40 bytes. */
    return w.pos;
}

size_t wire_tcp_header_len(const struct wire_tcp_repr *tcp)
{
    uint8_t scratch[TCP_MAX_OPT_LEN];
    return WIRE_TCP_HDR_LEN + tcp_write_options(tcp, scratch);
}

size_t wire_tcp_emit(const struct wire_tcp_repr *tcp, const struct synack_addr *src,
                     const struct synack_addr *dst, uint8_t *buf, size_t cap)
{
    uint8_t opts[TCP_MAX_OPT_LEN];
    size_t opts_len = tcp_write_options(tcp, opts);
    size_t header_len = WIRE_TCP_HDR_LEN + opts_len;
    size_t payload_len = tcp->payload_len;
    size_t wrap_len = tcp->payload_wrap_len;
    if (wrap_len > payload_len || (wrap_len > 0 && tcp->payload_wrap == NULL) ||
        (payload_len > wrap_len && tcp->payload == NULL))
        return 0; /* nothing to copy (part of) the payload from */
    /* A segment whose length the pseudo-header cannot carry cannot be sent either. */
    if (payload_len > cap || header_len > cap - payload_len ||
        header_len + payload_len > UINT16_MAX)
        return 0;

    /* RFC 9293 §3.1 field order. */
    struct wcursor w = wcursor_make(buf, cap);
    wcursor_write_u16be(&w, tcp->src_port);
    wcursor_write_u16be(&w, tcp->dst_port);
    wcursor_write_u32be(&w, tcp->seq);
    wcursor_write_u32be(&w, tcp->ack);
    wcursor_write_u8(&w, (uint8_t)(header_len / 4) << 4);
    wcursor_write_u8(&w, tcp->flags);
    wcursor_write_u16be(&w, tcp->window);
    wcursor_write_u16be(&w, 0); /* checksum, filled in below */
    wcursor_write_u16be(&w, tcp->urgent);
    wcursor_write_bytes(&w, opts, opts_len);
    wcursor_write_bytes(&w, tcp->payload, payload_len - wrap_len);
    wcursor_write_bytes(&w, tcp->payload_wrap, wrap_len);
    if (w.overflow) return 0; /* unreachable: the length was checked above */

    size_t len = w.pos;
    uint32_t sum = wire_csum_pseudo_addr(src, dst, WIRE_IP_PROTO_TCP, (uint32_t)len);
    uint16_t csum =
        tcp->csum_partial ? wire_csum_partial(sum) : wire_csum_finish(wire_csum_add(sum, buf, len));
    buf[TCP_OFF_CHECKSUM] = (uint8_t)(csum >> 8);
    buf[TCP_OFF_CHECKSUM + 1] = (uint8_t)csum;
    return len;
}

/* ---- whole packets ---------------------------------------------------------------------- */

enum synack_drop wire_packet_parse(const uint8_t *pkt, size_t len, struct wire_ip_repr *ip,
                                   struct wire_tcp_repr *tcp)
{
    return wire_packet_parse_capture(pkt, len, ip, tcp, NULL);
}

enum synack_drop wire_packet_parse_capture(const uint8_t *pkt, size_t len, struct wire_ip_repr *ip,
                                           struct wire_tcp_repr *tcp, bool *checksum_ok)
{
    enum synack_drop drop = wire_ip_parse(pkt, len, ip);
    if (drop != SYNACK_DROP_NONE) return drop;
    if (ip->frag.present) return SYNACK_DROP_IP_FRAGMENT;
    if (ip->proto != WIRE_IP_PROTO_TCP) return SYNACK_DROP_IP_PROTOCOL;
    /* The segment ends where the IP header says, not at the end of the buffer. */
    return tcp_parse(pkt + ip->header_len, ip->payload_len, &ip->src, &ip->dst, tcp,
                     checksum_ok ? TCP_CSUM_REPORT : TCP_CSUM_ENFORCE, checksum_ok);
}

size_t wire_packet_emit(struct wire_ip_repr *ip, const struct wire_tcp_repr *tcp, uint8_t *buf,
                        size_t cap)
{
    size_t hdr = wire_ip_header_len(ip->src.family);
    if (hdr == 0 || cap < hdr) return 0;
    /* The IPv4 Total Length and the IPv6 Payload Length are 16 bits (RFC 791 §3.1, RFC 8200
     * §3): the segment gets what is left. */
    size_t tcp_cap = cap - hdr;
    size_t tcp_max = ip->src.family == SYNACK_AF_INET ? UINT16_MAX - hdr : UINT16_MAX;
    if (tcp_cap > tcp_max) tcp_cap = tcp_max;
    size_t seg_len = wire_tcp_emit(tcp, &ip->src, &ip->dst, buf + hdr, tcp_cap);
    if (seg_len == 0) return 0;
    ip->proto = WIRE_IP_PROTO_TCP;
    ip->header_len = (uint16_t)hdr;
    ip->payload_len = (uint16_t)seg_len;
    wire_ip_emit(ip, buf, hdr);
    return hdr + seg_len;
}
