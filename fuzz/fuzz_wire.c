/*
 * The wire parsers on arbitrary bytes: IPv4, IPv6 (extension headers), TCP (options included),
 * UDP, ICMP, ICMPv6 and the packet formatter. Whatever parses must round-trip: emitted again
 * and parsed again, the header fields, the options synack understands and the payload are
 * what they were. The tuple hint of input batches (wire_tcp_peek_tuple) must agree with the
 * whole parse wherever both see a TCP segment.
 *
 * Every input runs twice: as it is, and repaired (shared/FUZZING.md): the IPv4 Total Length
 * and header checksum, the IPv6 Payload Length, the UDP Length and the TCP, UDP, ICMP and
 * ICMPv6 checksums set to what the bytes need, so that inputs get past them to the code
 * behind. The committed corpus (fuzz/make_corpus.py) is plain packets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_PACKET 8192

static void check(bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "fuzz_wire: round trip changed %s\n", what);
    abort();
}

static void tcp_round_trip(const struct wire_ip_repr *ip, const struct wire_tcp_repr *a)
{
    uint8_t buf[4096];
    struct wire_ip_repr ip2 = {.src = ip->src, .dst = ip->dst, .ttl = ip->ttl, .df = ip->df};
    struct wire_tcp_repr b = *a;
    size_t n = wire_packet_emit(&ip2, &b, buf, sizeof buf);
    if (n == 0) return; /* bigger than the buffer: nothing to compare */
    struct wire_ip_repr ip3;
    struct wire_tcp_repr c;
    check(wire_packet_parse(buf, n, &ip3, &c) == SYNACK_DROP_NONE, "parsability");
    check(synack_addr_eq(&ip3.src, &ip->src) && synack_addr_eq(&ip3.dst, &ip->dst), "addresses");
    check(c.src_port == a->src_port && c.dst_port == a->dst_port, "ports");
    check(c.seq == a->seq && c.ack == a->ack && c.flags == a->flags, "seq, ack or flags");
    check(c.window == a->window, "window");
    check(c.has_mss == a->has_mss && (!c.has_mss || c.mss == a->mss), "MSS");
    check(c.has_wscale == a->has_wscale && (!c.has_wscale || c.wscale == a->wscale), "wscale");
    check(c.sack_permitted == a->sack_permitted, "SACK-permitted");
    check(c.has_ts == a->has_ts && (!c.has_ts || (c.ts_val == a->ts_val && c.ts_ecr == a->ts_ecr)),
          "timestamps");
    check(c.sack_count <= a->sack_count, "SACK blocks");
    for (unsigned i = 0; i < c.sack_count; i++)
        check(c.sack[i].left == a->sack[i].left && c.sack[i].right == a->sack[i].right,
              "a SACK block");
    check(c.payload_len == a->payload_len && memcmp(c.payload, a->payload, c.payload_len) == 0,
          "payload");
}

static void udp_round_trip(const struct wire_udp_repr *a, const struct synack_addr *src,
                           const struct synack_addr *dst)
{
    uint8_t buf[MAX_PACKET + 64];
    size_t n = wire_udp_emit(a, src, dst, buf, sizeof buf);
    check(n == WIRE_UDP_HDR_LEN + a->payload_len, "a UDP length");
    struct wire_udp_repr b;
    check(wire_udp_parse(buf, n, src, dst, &b) == SYNACK_DROP_NONE, "a UDP datagram");
    check(b.src_port == a->src_port && b.dst_port == a->dst_port, "UDP ports");
    check(b.payload_len == a->payload_len && memcmp(b.payload, a->payload, b.payload_len) == 0,
          "a UDP payload");
}

static void icmp6_round_trip(const struct wire_ip_repr *ip, const struct wire_icmp6_repr *a)
{
    char line[512];
    wire_fmt_icmp6(line, sizeof line, ip, a);
    /* RFC 4443 §2.4 (e.1): never an error about an error */
    if (a->is_error) check(!wire_icmp6_can_send_error(ip, a, 4, 0), "the answer to an error");
    uint8_t buf[MAX_PACKET + 64];
    size_t n = wire_icmp6_emit(a, &ip->src, &ip->dst, buf, sizeof buf);
    check(n == wire_icmp6_len(a), "an ICMPv6 length");
    struct wire_icmp6_repr b;
    check(wire_icmp6_parse(buf, n, &ip->src, &ip->dst, &b) == SYNACK_DROP_NONE,
          "an ICMPv6 message");
    check(b.type == a->type && b.code == a->code && b.data_len == a->data_len, "an ICMPv6 header");
    check(b.id == a->id && b.seq == a->seq && b.mtu == a->mtu && b.pointer == a->pointer,
          "the second ICMPv6 word");
    check(b.is_error == a->is_error && b.quote.proto == a->quote.proto &&
              b.quote.header_len == a->quote.header_len && b.quote.seq == a->quote.seq,
          "an ICMPv6 quote");
}

/* The fixed header emitted again around the upper-layer data parses to the same packet. */
static void ipv6_round_trip(const uint8_t *pkt, const struct wire_ip_repr *ip)
{
    if (ip->payload_len > MAX_PACKET) return;
    uint8_t *buf = malloc(WIRE_IPV6_HDR_LEN + WIRE_IPV6_FRAG_HDR_LEN + MAX_PACKET);
    if (!buf) return;
    struct wire_ip_repr e = *ip;
    size_t hdr = WIRE_IPV6_HDR_LEN;
    if (ip->frag.present) {
        /* RFC 8200 §4.5: the fragment header again, from what was parsed */
        e.proto = WIRE_IPV6_NH_FRAGMENT;
        hdr += wire_ipv6_frag_header_emit(ip->proto, ip->frag.offset, ip->frag.more, ip->frag.id,
                                          buf + WIRE_IPV6_HDR_LEN, WIRE_IPV6_FRAG_HDR_LEN);
    }
    e.payload_len = (uint16_t)(hdr - WIRE_IPV6_HDR_LEN + ip->payload_len);
    wire_ipv6_emit(&e, buf);
    memcpy(buf + hdr, pkt + ip->header_len, ip->payload_len);
    struct wire_ip_repr b;
    check(wire_ipv6_parse(buf, hdr + ip->payload_len, &b) == SYNACK_DROP_NONE, "an IPv6 packet");
    check(synack_addr_eq(&b.src, &ip->src) && synack_addr_eq(&b.dst, &ip->dst), "IPv6 addresses");
    check(b.tos == ip->tos && b.ttl == ip->ttl && b.flow_label == ip->flow_label, "an IPv6 header");
    check(b.proto == ip->proto && b.payload_len == ip->payload_len && b.header_len == hdr,
          "the IPv6 upper layer");
    check(b.frag.present == ip->frag.present && b.frag.offset == ip->frag.offset &&
              b.frag.more == ip->frag.more && b.frag.id == ip->frag.id,
          "an IPv6 fragment header");
    free(buf);
}

static void ipv6_upper_layer(const uint8_t *pkt, const struct wire_ip_repr *ip)
{
    const uint8_t *seg = pkt + ip->header_len;
    if (ip->frag.present) return; /* a piece of a datagram: nothing to parse yet */
    if (ip->proto == WIRE_IP_PROTO_TCP) {
        struct wire_tcp_repr tcp;
        wire_tcp_parse(seg, ip->payload_len, &ip->src, &ip->dst, &tcp);
    } else if (ip->proto == WIRE_IP_PROTO_UDP) {
        struct wire_udp_repr u;
        if (wire_udp_parse(seg, ip->payload_len, &ip->src, &ip->dst, &u) == SYNACK_DROP_NONE)
            udp_round_trip(&u, &ip->src, &ip->dst);
    } else if (ip->proto == WIRE_IP_PROTO_ICMPV6) {
        struct wire_icmp6_repr m;
        if (wire_icmp6_parse(seg, ip->payload_len, &ip->src, &ip->dst, &m) == SYNACK_DROP_NONE)
            icmp6_round_trip(ip, &m);
    } else if (wire_ipv6_is_ext_header(ip->proto)) {
        /* the walk goes on through every extension header it knows */
        check(ip->proto != WIRE_IPV6_NH_HOP_BY_HOP && ip->proto != WIRE_IPV6_NH_ROUTING &&
                  ip->proto != WIRE_IPV6_NH_FRAGMENT && ip->proto != WIRE_IPV6_NH_DEST_OPTS,
              "the end of the extension header walk");
    }
}

/* The parameter problem the parser asks for (or prepares, on success) against RFC 4443 §2.4
 * (e): never to a multicast destination but for code 2, never to a source that is not one
 * node. */
static void ipv6_answer(const struct wire_ip_repr *ip, size_t size)
{
    check(ip->problem.pointer < size, "a parameter problem pointer");
    uint8_t code = ip->problem.code;
    bool ok = wire_icmp6_can_send_error(ip, NULL, WIRE_ICMP6_PARAM_PROBLEM, code);
    if (ip->dst.bytes[0] == 0xff && code != WIRE_ICMP6_UNKNOWN_OPTION)
        check(!ok, "an answer to a multicast destination");
    if (ok) check(synack_addr_is_unicast(&ip->src), "an answer to a source of no one node");
}

static void ipv6(const uint8_t *data, size_t size)
{
    struct wire_ip_repr ip;
    enum synack_drop d = wire_ipv6_parse(data, size, &ip);
    if (ip.problem.send || d == SYNACK_DROP_NONE) ipv6_answer(&ip, size);
    if (d != SYNACK_DROP_NONE) return;
    check((size_t)ip.header_len + ip.payload_len <= size, "the IPv6 lengths");
    check(ip.problem.code == 1 && ip.problem.pointer < ip.header_len, "the prepared problem");
    ipv6_round_trip(data, &ip);
    ipv6_upper_layer(data, &ip);
}

static void ipv4(const uint8_t *data, size_t size)
{
    char line[512];
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    if (wire_packet_parse(data, size, &ip, &tcp) == SYNACK_DROP_NONE) tcp_round_trip(&ip, &tcp);
    if (wire_ipv4_parse(data, size, &ip) != SYNACK_DROP_NONE) return;
    const uint8_t *seg = data + ip.header_len;
    if (ip.proto == WIRE_IP_PROTO_ICMP) {
        struct wire_icmp_repr m;
        if (wire_icmp_parse(seg, ip.payload_len, &m) == SYNACK_DROP_NONE) {
            wire_fmt_icmp(line, sizeof line, &ip, &m);
            uint8_t buf[4096];
            size_t n = wire_icmp_emit(&m, buf, sizeof buf);
            struct wire_icmp_repr m2;
            check(n == 0 || wire_icmp_parse(buf, n, &m2) == SYNACK_DROP_NONE, "an ICMP message");
            check(n == 0 || (m2.type == m.type && m2.code == m.code && m2.data_len == m.data_len),
                  "an ICMP header");
        }
    } else if (ip.proto == WIRE_IP_PROTO_UDP) {
        struct wire_udp_repr u;
        if (wire_udp_parse(seg, ip.payload_len, &ip.src, &ip.dst, &u) == SYNACK_DROP_NONE)
            udp_round_trip(&u, &ip.src, &ip.dst);
    }
}

/* Every parser on `data`: as a packet of either version, and the bare ones on the bytes as
 * they are (no IP header in front). */
/* The hint's tuple (synack_stack_input_batch) reads within `size` whatever the bytes, and
 * where the whole parse takes the packet as an unfragmented TCP segment whose TCP header
 * follows the fixed IP header, it names the same 4-tuple. */
static void peek(const uint8_t *data, size_t size)
{
    struct synack_addr src, dst;
    uint16_t sport, dport;
    bool hinted = wire_tcp_peek_tuple(data, size, &src, &sport, &dst, &dport);
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    if (wire_packet_parse(data, size, &ip, &tcp) != SYNACK_DROP_NONE) return; /* fragments too */
    if (ip.header_len !=
        (ip.src.family == SYNACK_AF_INET ? (size_t)(data[0] & 0x0f) * 4 : WIRE_IPV6_HDR_LEN))
        return; /* IPv6 extension headers: the hint does not walk them */
    check(hinted, "a hint for a whole TCP segment");
    check(synack_addr_eq(&src, &ip.src) && synack_addr_eq(&dst, &ip.dst), "the hint's addresses");
    check(sport == tcp.src_port && dport == tcp.dst_port, "the hint's ports");
}

static void exercise(const uint8_t *data, size_t size)
{
    peek(data, size);
    char line[512];
    synack_format_packet(line, sizeof line, data, size);
    ipv4(data, size);
    ipv6(data, size);
    struct wire_tcp_repr tcp;
    struct wire_icmp_repr m;
    wire_icmp_parse(data, size, &m);
    struct synack_addr a4 = synack_addr_v4(FZ_REMOTE), b4 = synack_addr_v4(FZ_LOCAL);
    wire_tcp_parse(data, size, &a4, &b4, &tcp);
    const uint8_t a6_bytes[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    const uint8_t b6_bytes[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    struct synack_addr a6 = synack_addr_v6(a6_bytes), b6 = synack_addr_v6(b6_bytes);
    struct wire_udp_repr u;
    wire_udp_parse(data, size, &a4, &b4, &u);
    wire_udp_parse(data, size, &a6, &b6, &u);
    struct wire_icmp6_repr m6;
    wire_icmp6_parse(data, size, &a6, &b6, &m6);
    uint8_t proto;
    size_t offset;
    uint16_t frag_offset;
    if (wire_ipv6_find_upper_layer(data, size, &proto, &offset, &frag_offset))
        check(offset <= size, "the end of a quote's chain");
}

/* ---- repairs --------------------------------------------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Sets the checksum at `at` in `seg` to what its bytes and the `pseudo` sum need; UDP sends
 * a computed 0 as 0xffff (RFC 768). */
static void fix_checksum(uint8_t *seg, size_t len, size_t at, uint32_t pseudo, bool udp)
{
    if (len < at + 2) return;
    put_u16(seg + at, 0);
    uint16_t sum = wire_csum_finish(wire_csum_add(pseudo, seg, len));
    put_u16(seg + at, udp && sum == 0 ? 0xffff : sum);
}

/* The checksums of the transport in `seg` (UDP also gets its Length). */
static void fix_transport(uint8_t *seg, size_t len, uint8_t proto, const struct synack_addr *src,
                          const struct synack_addr *dst)
{
    uint32_t pseudo = wire_csum_pseudo_addr(src, dst, proto, (uint32_t)len);
    if (proto == WIRE_IP_PROTO_TCP) fix_checksum(seg, len, 16, pseudo, false);
    if (proto == WIRE_IP_PROTO_ICMPV6) fix_checksum(seg, len, 2, pseudo, false);
    if (proto == WIRE_IP_PROTO_ICMP) fix_checksum(seg, len, 2, 0, false);
    if (proto == WIRE_IP_PROTO_UDP && len >= WIRE_UDP_HDR_LEN) {
        put_u16(seg + 4, (uint16_t)len);
        fix_checksum(seg, len, 6, pseudo, true);
    }
}

static void repair_ipv4(uint8_t *pkt, size_t len)
{
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl < WIRE_IPV4_HDR_LEN || ihl > len) return;
    put_u16(pkt + 2, (uint16_t)len);
    put_u16(pkt + 6, pkt[6] & 0x40 ? 0x4000 : 0); /* whole datagrams: transports get parsed */
    put_u16(pkt + 10, 0);
    put_u16(pkt + 10, wire_csum_finish(wire_csum_add(0, pkt, ihl)));
    struct wire_ip_repr ip;
    if (wire_ipv4_parse(pkt, len, &ip) != SYNACK_DROP_NONE) return;
    fix_transport(pkt + ip.header_len, ip.payload_len, ip.proto, &ip.src, &ip.dst);
}

static void repair_ipv6(uint8_t *pkt, size_t len)
{
    if (len < WIRE_IPV6_HDR_LEN) return;
    put_u16(pkt + 4, (uint16_t)(len - WIRE_IPV6_HDR_LEN));
    struct wire_ip_repr ip;
    if (wire_ipv6_parse(pkt, len, &ip) != SYNACK_DROP_NONE || ip.frag.present) return;
    fix_transport(pkt + ip.header_len, ip.payload_len, ip.proto, &ip.src, &ip.dst);
}

/* The address parsers on the bytes as text: whatever parses prints in a form that parses
 * back to the same address (RFC 5952's text is RFC 4291's), and the printed length is what
 * the function says it is. */
static void address_text(const uint8_t *data, size_t size)
{
    char text[80];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    struct synack_addr a, b;
    if (synack_addr_parse(text, &a) == 0) {
        char out[SYNACK_ADDR_STRLEN];
        size_t len = synack_addr_format(&a, out, sizeof out);
        check(len == strlen(out) && len < sizeof out, "an address's length");
        check(synack_addr_parse(out, &b) == 0 && synack_addr_eq(&a, &b), "an address round trip");
    }
    struct synack_endpoint e, f;
    if (synack_endpoint_parse(text, &e) == 0) {
        char out[SYNACK_ENDPOINT_STRLEN];
        size_t len = synack_endpoint_format(&e, out, sizeof out);
        check(len == strlen(out) && len < sizeof out, "an endpoint's length");
        check(synack_endpoint_parse(out, &f) == 0 && synack_endpoint_eq(&e, &f),
              "an endpoint round trip");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    address_text(data, size);
    exercise(data, size);
    if (size == 0 || size > MAX_PACKET) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    if (fixed[0] >> 4 == 4) repair_ipv4(fixed, size);
    if (fixed[0] >> 4 == 6) repair_ipv6(fixed, size);
    exercise(fixed, size);
    free(fixed);
    return 0;
}
