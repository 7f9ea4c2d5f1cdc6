/* The public packet helpers of synack.h ("packets: inspect and build"): a TCP segment of
 * either family to and from struct synack_segment through the stack's own parser and
 * builder, and its flags as text. (synack_packet_addrs is in ip.c, synack_packet_too_big in
 * icmp.c.) */
#include <synack/synack.h>

#include "wire/wire.h"

_Static_assert(SYNACK_SEGMENT_MAX_SACK == WIRE_TCP_MAX_SACK,
               "the public SACK block count is the wire's");
_Static_assert(SYNACK_TCP_FIN == WIRE_TCP_FIN && SYNACK_TCP_SYN == WIRE_TCP_SYN &&
                   SYNACK_TCP_RST == WIRE_TCP_RST && SYNACK_TCP_PSH == WIRE_TCP_PSH &&
                   SYNACK_TCP_ACK == WIRE_TCP_ACK && SYNACK_TCP_URG == WIRE_TCP_URG &&
                   SYNACK_TCP_ECE == WIRE_TCP_ECE && SYNACK_TCP_CWR == WIRE_TCP_CWR,
               "the public TCP flags are the wire's");

/* The public segment from the wire's two reprs. */
static void packet_segment_from(const struct wire_ip_repr *ip, const struct wire_tcp_repr *tcp,
                                struct synack_segment *out)
{
    *out = (struct synack_segment){
        .src = ip->src,
        .dst = ip->dst,
        .ttl = ip->ttl,
        .df = ip->df,
        .src_port = tcp->src_port,
        .dst_port = tcp->dst_port,
        .seq = tcp->seq,
        .ack = tcp->ack,
        .flags = tcp->flags,
        .window = tcp->window,
        .has_mss = tcp->has_mss,
        .mss = tcp->mss,
        .has_wscale = tcp->has_wscale,
        .wscale = tcp->wscale,
        .has_ts = tcp->has_ts,
        .ts_val = tcp->ts_val,
        .ts_ecr = tcp->ts_ecr,
        .payload = tcp->payload,
        .payload_len = tcp->payload_len,
    };
}

enum synack_drop synack_segment_parse(const uint8_t *pkt, size_t len, struct synack_segment *out)
{
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    enum synack_drop drop = wire_packet_parse(pkt, len, &ip, &tcp);
    if (drop != SYNACK_DROP_NONE) return drop;
    packet_segment_from(&ip, &tcp, out);
    return SYNACK_DROP_NONE;
}

enum synack_drop synack_segment_parse_capture(const uint8_t *pkt, size_t len,
                                              struct synack_segment *out,
                                              struct synack_segment_extra *extra)
{
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    bool checksum_ok = true;
    enum synack_drop drop = wire_packet_parse_capture(pkt, len, &ip, &tcp, &checksum_ok);
    if (drop != SYNACK_DROP_NONE) return drop;
    packet_segment_from(&ip, &tcp, out);
    *extra = (struct synack_segment_extra){
        .checksum_ok = checksum_ok,
        .sack_permitted = tcp.sack_permitted,
        .sack_count = tcp.sack_count,
    };
    for (size_t i = 0; i < tcp.sack_count && i < SYNACK_SEGMENT_MAX_SACK; i++) {
        extra->sack[i].left = tcp.sack[i].left;
        extra->sack[i].right = tcp.sack[i].right;
    }
    return SYNACK_DROP_NONE;
}

size_t synack_segment_emit(const struct synack_segment *seg, uint8_t *buf, size_t cap)
{
    if (seg->src.family != seg->dst.family) return 0;
    struct wire_ip_repr ip = {.src = seg->src, .dst = seg->dst, .ttl = seg->ttl, .df = seg->df};
    struct wire_tcp_repr tcp = {
        .src_port = seg->src_port,
        .dst_port = seg->dst_port,
        .seq = seg->seq,
        .ack = seg->ack,
        .flags = seg->flags,
        .window = seg->window,
        .has_mss = seg->has_mss,
        .mss = seg->mss,
        .has_wscale = seg->has_wscale,
        .wscale = seg->wscale,
        .has_ts = seg->has_ts,
        .ts_val = seg->ts_val,
        .ts_ecr = seg->ts_ecr,
        .payload = seg->payload,
        .payload_len = seg->payload_len,
    };
    return wire_packet_emit(&ip, &tcp, buf, cap);
}

size_t synack_format_tcp_flags(char *out, size_t cap, uint8_t flags)
{
    return wire_fmt_flags(out, cap, flags);
}
