/*
 * The wire parsers on arbitrary bytes: IPv4, TCP (options included), ICMP and the packet
 * formatter. Whatever parses must round-trip: emitted again and parsed again, the header
 * fields, the options synack understands and the payload are what they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[512];
    synack_format_packet(line, sizeof line, data, size);
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    if (wire_packet_parse(data, size, &ip, &tcp) == SYNACK_DROP_NONE) tcp_round_trip(&ip, &tcp);
    if (wire_ipv4_parse(data, size, &ip) == SYNACK_DROP_NONE && ip.proto == WIRE_IP_PROTO_ICMP) {
        struct wire_icmp_repr m;
        if (wire_icmp_parse(data + ip.header_len, ip.payload_len, &m) == SYNACK_DROP_NONE) {
            wire_fmt_icmp(line, sizeof line, &ip, &m);
            uint8_t buf[4096];
            size_t n = wire_icmp_emit(&m, buf, sizeof buf);
            struct wire_icmp_repr m2;
            check(n == 0 || wire_icmp_parse(buf, n, &m2) == SYNACK_DROP_NONE, "an ICMP message");
            check(n == 0 || (m2.type == m.type && m2.code == m.code && m2.data_len == m.data_len),
                  "an ICMP header");
        }
    }
    /* The bare parsers too, on the bytes as they are (no IPv4 header in front). */
    struct synack_addr remote = synack_addr_v4(FZ_REMOTE), local = synack_addr_v4(FZ_LOCAL);
    wire_tcp_parse(data, size, &remote, &local, &tcp);
    struct wire_icmp_repr m;
    wire_icmp_parse(data, size, &m);
    return 0;
}
