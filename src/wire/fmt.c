/* One-line, tcpdump-style text for addresses, flags, TCP segments, ICMP, ICMPv6 and UDP,
 * and the public synack_format_packet() / synack_drop_name(). */
#include <stdarg.h>
#include <stdio.h>

#include <synack/synack.h>

#include "base/addr.h"
#include "base/cursor.h"
#include "wire/wire.h"

/* Option kinds and lengths as printed (RFC 9293 §3.2, RFC 7323, RFC 2018). */
#define FMT_OPT_EOL 0
#define FMT_OPT_NOP 1
#define FMT_OPT_MSS 2
#define FMT_OPT_WS 3
#define FMT_OPT_SACK_PERM 4
#define FMT_OPT_SACK 5
#define FMT_OPT_TS 8

/* ---- a bounded string builder -------------------------------------------------------- */

/* Appends to `out` without ever overrunning `cap`; output past the end is cut off.
 * Invariant: len < cap, out[len] == '\0' (when cap > 0). */
struct fmt_buf {
    char *out;
    size_t cap;
    size_t len;
};

static struct fmt_buf fmt_buf_make(char *out, size_t cap)
{
    struct fmt_buf b = {out, cap, 0};
    if (cap > 0) out[0] = '\0';
    return b;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
fmt_append(struct fmt_buf *b, const char *format, ...)
{
    if (b->len + 1 >= b->cap) return; /* full (or no room at all) */
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(b->out + b->len, b->cap - b->len, format, ap);
    va_end(ap);
    if (n < 0) return;
    size_t room = b->cap - b->len - 1;
    b->len += (size_t)n < room ? (size_t)n : room;
}

/* ---- pieces --------------------------------------------------------------------------- */

char *wire_fmt_addr(char *out, size_t cap, const struct synack_addr *addr)
{
    synack_addr_format(addr, out, cap);
    return out;
}

size_t wire_fmt_flags(char *out, size_t cap, uint8_t flags)
{
    /* tcpdump's order and letters; "." is ACK. */
    static const struct {
        uint8_t bit;
        char letter;
    } names[] = {
        {WIRE_TCP_FIN, 'F'}, {WIRE_TCP_SYN, 'S'}, {WIRE_TCP_RST, 'R'}, {WIRE_TCP_PSH, 'P'},
        {WIRE_TCP_ACK, '.'}, {WIRE_TCP_URG, 'U'}, {WIRE_TCP_ECE, 'E'}, {WIRE_TCP_CWR, 'W'},
    };
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_append(&b, "[");
    if (flags == 0) fmt_append(&b, "none");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (flags & names[i].bit) fmt_append(&b, "%c", names[i].letter);
    }
    fmt_append(&b, "]");
    return b.len;
}

/* One option with a length field; `body` holds its value. Wrong lengths (only possible for
 * bytes that were not parsed first) print as an unknown option rather than being trusted. */
static void fmt_option(struct fmt_buf *b, uint8_t kind, struct cursor *body)
{
    size_t n = cursor_remaining(body);
    uint16_t mss;
    uint8_t shift;
    uint32_t val, ecr;
    if (kind == FMT_OPT_MSS && n == 2 && cursor_read_u16be(body, &mss)) {
        fmt_append(b, "mss %u", (unsigned)mss);
    } else if (kind == FMT_OPT_WS && n == 1 && cursor_read_u8(body, &shift)) {
        fmt_append(b, "wscale %u", (unsigned)shift);
    } else if (kind == FMT_OPT_SACK_PERM && n == 0) {
        fmt_append(b, "sackOK");
    } else if (kind == FMT_OPT_TS && n == 8 && cursor_read_u32be(body, &val) &&
               cursor_read_u32be(body, &ecr)) {
        fmt_append(b, "TS val %u ecr %u", (unsigned)val, (unsigned)ecr);
    } else if (kind == FMT_OPT_SACK && n > 0 && n % 8 == 0) {
        fmt_append(b, "sack %zu ", n / 8);
        while (cursor_read_u32be(body, &val) && cursor_read_u32be(body, &ecr))
            fmt_append(b, "{%u:%u}", (unsigned)val, (unsigned)ecr);
    } else {
        fmt_append(b, "unknown-%u len %zu", (unsigned)kind, n + 2);
    }
}

/* ", options [...]" for the raw option bytes, in the order they sit on the wire, as
 * tcpdump prints them. Nothing when there are no option bytes. */
static void fmt_options(struct fmt_buf *b, const uint8_t *opts, size_t len)
{
    if (len == 0) return;
    fmt_append(b, ", options [");
    struct cursor c = cursor_make(opts, len);
    uint8_t kind, olen;
    for (bool first = true; cursor_read_u8(&c, &kind); first = false) {
        if (!first) fmt_append(b, ",");
        if (kind == FMT_OPT_EOL) {
            fmt_append(b, "eol");
            break;
        }
        if (kind == FMT_OPT_NOP) {
            fmt_append(b, "nop");
            continue;
        }
        struct cursor body;
        if (!cursor_read_u8(&c, &olen) || olen < 2 || !cursor_split(&c, olen - 2u, &body)) {
            fmt_append(b, "bad-opt-%u", (unsigned)kind);
            break;
        }
        fmt_option(b, kind, &body);
    }
    fmt_append(b, "]");
}

/* "src > dst: " for either family, or with ports "src.port > dst.port: " as tcpdump writes
 * them (`ports` NULL, or the source and destination port). */
static void fmt_ends(struct fmt_buf *b, const struct synack_addr *src,
                     const struct synack_addr *dst, const uint16_t ports[2])
{
    char s[SYNACK_ADDR_STRLEN], d[SYNACK_ADDR_STRLEN];
    synack_addr_format(src, s, sizeof(s));
    synack_addr_format(dst, d, sizeof(d));
    if (ports)
        fmt_append(b, "%s.%u > %s.%u: ", s, (unsigned)ports[0], d, (unsigned)ports[1]);
    else
        fmt_append(b, "%s > %s: ", s, d);
}

/* The whole line for either family, with the option bytes given separately (wire bytes, or
 * re-emitted). */
static size_t fmt_tcp_line(char *out, size_t cap, const struct synack_addr *src,
                           const struct synack_addr *dst, const struct wire_tcp_repr *tcp,
                           const uint8_t *opts, size_t opts_len)
{
    char flags[16];
    wire_fmt_flags(flags, sizeof(flags), tcp->flags);

    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_ends(&b, src, dst, (const uint16_t[2]){tcp->src_port, tcp->dst_port});
    fmt_append(&b, "Flags %s, seq %u", flags, (unsigned)tcp->seq);
    if (tcp->payload_len > 0)
        fmt_append(&b, ":%u", (unsigned)(uint32_t)(tcp->seq + tcp->payload_len));
    if (tcp->flags & WIRE_TCP_ACK) fmt_append(&b, ", ack %u", (unsigned)tcp->ack);
    fmt_append(&b, ", win %u", (unsigned)tcp->window);
    if (tcp->flags & WIRE_TCP_URG) fmt_append(&b, ", urg %u", (unsigned)tcp->urgent);
    fmt_options(&b, opts, opts_len);
    fmt_append(&b, ", length %zu", tcp->payload_len);
    return b.len;
}

size_t wire_fmt_tcp(char *out, size_t cap, const struct wire_ip_repr *ip,
                    const struct wire_tcp_repr *tcp)
{
    /* The repr keeps no padding, so lay the options out as wire_tcp_emit() would and print
     * those bytes: what is printed is what would be sent. */
    struct wire_tcp_repr header_only = *tcp;
    header_only.payload = NULL;
    header_only.payload_len = 0;
    uint8_t hdr[WIRE_TCP_MAX_HDR_LEN];
    size_t hdr_len = wire_tcp_emit(&header_only, &ip->src, &ip->dst, hdr, sizeof(hdr));
    size_t opts_len = hdr_len > WIRE_TCP_HDR_LEN ? hdr_len - WIRE_TCP_HDR_LEN : 0;
    return fmt_tcp_line(out, cap, &ip->src, &ip->dst, tcp, hdr + WIRE_TCP_HDR_LEN, opts_len);
}

/* A parsed segment `seg` (tcp parsed from it), its options printed exactly as they came,
 * padding included. */
static size_t fmt_tcp_segment(char *out, size_t cap, const struct synack_addr *src,
                              const struct synack_addr *dst, const struct wire_tcp_repr *tcp,
                              const uint8_t *seg)
{
    size_t header_len = (size_t)(tcp->payload - seg);
    return fmt_tcp_line(out, cap, src, dst, tcp, seg + WIRE_TCP_HDR_LEN,
                        header_len - WIRE_TCP_HDR_LEN);
}

/* ---- ICMP ------------------------------------------------------------------------------- */

/* How a port unreachable names the transport of the returned datagram. */
static const char *fmt_transport_name(uint8_t proto)
{
    return proto == WIRE_IP_PROTO_TCP ? "tcp" : proto == WIRE_IP_PROTO_UDP ? "udp" : "ip-proto";
}

/* What a destination unreachable says, in tcpdump's words where it has them. */
static void fmt_icmp_unreach(struct fmt_buf *b, const struct wire_icmp_repr *icmp)
{
    const struct wire_ip_quote *q = &icmp->quote;
    char dst[SYNACK_ADDR_STRLEN];
    wire_fmt_addr(dst, sizeof(dst), &q->dst);
    switch (icmp->code) {
    case WIRE_ICMP_NET_UNREACH:
        fmt_append(b, "net %s unreachable", dst);
        break;
    case WIRE_ICMP_HOST_UNREACH:
        fmt_append(b, "host %s unreachable", dst);
        break;
    case WIRE_ICMP_PROTO_UNREACH:
        fmt_append(b, "%s protocol %u unreachable", dst, (unsigned)q->proto);
        break;
    case WIRE_ICMP_PORT_UNREACH:
        fmt_append(b, "%s %s port %u unreachable", dst, fmt_transport_name(q->proto),
                   (unsigned)q->dst_port);
        break;
    case WIRE_ICMP_FRAG_NEEDED:
        fmt_append(b, "%s unreachable - need to frag (mtu %u)", dst, (unsigned)icmp->mtu);
        break;
    case WIRE_ICMP_ADMIN_PROHIBITED:
        fmt_append(b, "host %s unreachable - admin prohibited filter", dst);
        break;
    default:
        fmt_append(b, "%s unreachable - code %u", dst, (unsigned)icmp->code);
        break;
    }
}

size_t wire_fmt_icmp(char *out, size_t cap, const struct wire_ip_repr *ip,
                     const struct wire_icmp_repr *icmp)
{
    char src[SYNACK_ADDR_STRLEN], dst[SYNACK_ADDR_STRLEN];
    wire_fmt_addr(src, sizeof(src), &ip->src);
    wire_fmt_addr(dst, sizeof(dst), &ip->dst);
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_append(&b, "%s > %s: ICMP ", src, dst);
    switch (icmp->type) {
    case WIRE_ICMP_ECHO_REQUEST:
    case WIRE_ICMP_ECHO_REPLY:
        fmt_append(&b, "echo %s, id %u, seq %u",
                   icmp->type == WIRE_ICMP_ECHO_REQUEST ? "request" : "reply", (unsigned)icmp->id,
                   (unsigned)icmp->seq);
        break;
    case WIRE_ICMP_DEST_UNREACH:
        fmt_icmp_unreach(&b, icmp);
        break;
    case WIRE_ICMP_SOURCE_QUENCH:
        fmt_append(&b, "source quench");
        break;
    case WIRE_ICMP_REDIRECT: {
        struct synack_addr gateway = addr_v4(icmp->gateway);
        wire_fmt_addr(dst, sizeof(dst), &gateway);
        fmt_append(&b, "redirect, code %u, to %s", (unsigned)icmp->code, dst);
        break;
    }
    case WIRE_ICMP_TIME_EXCEEDED:
        fmt_append(&b, "time exceeded %s", icmp->code == 0 ? "in-transit" : "in-reassembly");
        break;
    case WIRE_ICMP_PARAM_PROBLEM:
        fmt_append(&b, "parameter problem - octet %u", (unsigned)icmp->pointer);
        break;
    default:
        fmt_append(&b, "type %u, code %u", (unsigned)icmp->type, (unsigned)icmp->code);
        break;
    }
    fmt_append(&b, ", length %zu", wire_icmp_len(icmp));
    return b.len;
}

/* ---- ICMPv6 ----------------------------------------------------------------------------- */

/* What a destination unreachable says (RFC 4443 §3.1), about the returned packet. */
static void fmt_icmp6_unreach(struct fmt_buf *b, const struct wire_icmp6_repr *icmp)
{
    const struct wire_ip_quote *q = &icmp->quote;
    char dst[SYNACK_ADDR_STRLEN];
    synack_addr_format(&q->dst, dst, sizeof(dst));
    fmt_append(b, "destination unreachable, ");
    switch (icmp->code) {
    case WIRE_ICMP6_NO_ROUTE:
        fmt_append(b, "no route to %s", dst);
        break;
    case WIRE_ICMP6_ADMIN_PROHIBITED:
        fmt_append(b, "%s administratively prohibited", dst);
        break;
    case WIRE_ICMP6_BEYOND_SCOPE:
        fmt_append(b, "%s beyond scope of source address", dst);
        break;
    case WIRE_ICMP6_ADDR_UNREACH:
        fmt_append(b, "unreachable address %s", dst);
        break;
    case WIRE_ICMP6_PORT_UNREACH:
        fmt_append(b, "unreachable port, %s %s port %u", dst, fmt_transport_name(q->proto),
                   (unsigned)q->dst_port);
        break;
    case WIRE_ICMP6_POLICY_FAILED:
        fmt_append(b, "%s source address failed policy", dst);
        break;
    case WIRE_ICMP6_REJECT_ROUTE:
        fmt_append(b, "%s reject route", dst);
        break;
    default:
        fmt_append(b, "%s code %u", dst, (unsigned)icmp->code);
        break;
    }
}

/* RFC 4443 §3.4: what the pointer points at. */
static const char *fmt_icmp6_problem(uint8_t code)
{
    switch (code) {
    case WIRE_ICMP6_BAD_HEADER_FIELD:
        return "erroneous header field";
    case WIRE_ICMP6_UNKNOWN_NEXT_HEADER:
        return "unrecognized next header";
    case WIRE_ICMP6_UNKNOWN_OPTION:
        return "unrecognized option";
    default:
        return "code";
    }
}

size_t wire_fmt_icmp6(char *out, size_t cap, const struct wire_ip_repr *ip,
                      const struct wire_icmp6_repr *icmp)
{
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_ends(&b, &ip->src, &ip->dst, NULL);
    fmt_append(&b, "ICMP6, ");
    switch (icmp->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
    case WIRE_ICMP6_ECHO_REPLY:
        fmt_append(&b, "echo %s, id %u, seq %u",
                   icmp->type == WIRE_ICMP6_ECHO_REQUEST ? "request" : "reply", (unsigned)icmp->id,
                   (unsigned)icmp->seq);
        break;
    case WIRE_ICMP6_DEST_UNREACH:
        fmt_icmp6_unreach(&b, icmp);
        break;
    case WIRE_ICMP6_PACKET_TOO_BIG:
        fmt_append(&b, "packet too big, mtu %u", (unsigned)icmp->mtu);
        break;
    case WIRE_ICMP6_TIME_EXCEEDED:
        if (icmp->code == WIRE_ICMP6_HOP_LIMIT || icmp->code == WIRE_ICMP6_REASSEMBLY_TIME)
            fmt_append(&b, "time exceeded %s",
                       icmp->code == WIRE_ICMP6_HOP_LIMIT ? "in-transit" : "in-reassembly");
        else
            fmt_append(&b, "time exceeded, code %u", (unsigned)icmp->code);
        break;
    case WIRE_ICMP6_PARAM_PROBLEM:
        fmt_append(&b, "parameter problem, %s", fmt_icmp6_problem(icmp->code));
        if (icmp->code > WIRE_ICMP6_UNKNOWN_OPTION) fmt_append(&b, " %u", (unsigned)icmp->code);
        fmt_append(&b, ", pointer %u", (unsigned)icmp->pointer);
        break;
    default:
        fmt_append(&b, "type %u, code %u", (unsigned)icmp->type, (unsigned)icmp->code);
        break;
    }
    fmt_append(&b, ", length %zu", wire_icmp6_len(icmp));
    return b.len;
}

/* ---- UDP, and what has no printer of its own ---------------------------------------------- */

size_t wire_fmt_udp(char *out, size_t cap, const struct synack_addr *src,
                    const struct synack_addr *dst, const struct wire_udp_repr *udp)
{
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_ends(&b, src, dst, (const uint16_t[2]){udp->src_port, udp->dst_port});
    fmt_append(&b, "UDP, length %zu", udp->payload_len);
    return b.len;
}

/* "src > dst: ip-proto 99, length 8" for a protocol without a printer; `what` goes before
 * it (a fragment's description, or nothing). */
static size_t fmt_other(char *out, size_t cap, const struct synack_addr *src,
                        const struct synack_addr *dst, const char *what, uint8_t proto, size_t len)
{
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_ends(&b, src, dst, NULL);
    fmt_append(&b, "%sip-proto %u, length %zu", what, (unsigned)proto, len);
    return b.len;
}

static size_t fmt_malformed(char *out, size_t cap, enum synack_drop drop, size_t len)
{
    struct fmt_buf b = fmt_buf_make(out, cap);
    fmt_append(&b, "malformed packet (%s), %zu bytes", synack_drop_name(drop), len);
    return b.len;
}

/* A UDP datagram, or the reason it is malformed. */
static size_t fmt_udp_payload(char *out, size_t cap, const struct synack_addr *src,
                              const struct synack_addr *dst, const uint8_t *seg, size_t seg_len,
                              size_t pkt_len)
{
    struct wire_udp_repr udp;
    enum synack_drop drop = wire_udp_parse(seg, seg_len, src, dst, &udp);
    if (drop != SYNACK_DROP_NONE) return fmt_malformed(out, cap, drop, pkt_len);
    return wire_fmt_udp(out, cap, src, dst, &udp);
}

/* ---- public ------------------------------------------------------------------------------ */

/* An IPv6 packet: its upper layer after the extension headers, a fragment as such. */
/* A fragment of either family: what it says of itself, and its protocol. */
static size_t fmt_fragment(char *out, size_t cap, const struct wire_ip_repr *ip)
{
    char what[64];
    struct fmt_buf b = fmt_buf_make(what, sizeof(what));
    fmt_append(&b, "frag (id %u, offset %u%s), ", (unsigned)ip->frag.id, (unsigned)ip->frag.offset,
               ip->frag.more ? ", more" : "");
    return fmt_other(out, cap, &ip->src, &ip->dst, what, ip->proto, ip->payload_len);
}

static size_t fmt_ipv6_packet(char *out, size_t cap, const uint8_t *pkt, size_t len)
{
    struct wire_ip_repr ip;
    enum synack_drop drop = wire_ipv6_parse(pkt, len, &ip);
    if (drop != SYNACK_DROP_NONE) return fmt_malformed(out, cap, drop, len);
    const uint8_t *seg = pkt + ip.header_len;
    if (ip.frag.present) return fmt_fragment(out, cap, &ip);
    if (ip.proto == WIRE_IP_PROTO_TCP) {
        struct wire_tcp_repr tcp;
        drop = wire_tcp_parse(seg, ip.payload_len, &ip.src, &ip.dst, &tcp);
        if (drop != SYNACK_DROP_NONE) return fmt_malformed(out, cap, drop, len);
        return fmt_tcp_segment(out, cap, &ip.src, &ip.dst, &tcp, seg);
    }
    if (ip.proto == WIRE_IP_PROTO_UDP)
        return fmt_udp_payload(out, cap, &ip.src, &ip.dst, seg, ip.payload_len, len);
    if (ip.proto == WIRE_IP_PROTO_ICMPV6) {
        struct wire_icmp6_repr icmp;
        drop = wire_icmp6_parse(seg, ip.payload_len, &ip.src, &ip.dst, &icmp);
        if (drop != SYNACK_DROP_NONE) return fmt_malformed(out, cap, drop, len);
        return wire_fmt_icmp6(out, cap, &ip, &icmp);
    }
    return fmt_other(out, cap, &ip.src, &ip.dst, "", ip.proto, ip.payload_len);
}

size_t synack_format_packet(char *out, size_t cap, const uint8_t *pkt, size_t len)
{
    /* RFC 8200 §3, RFC 791 §3.1: the version is the first nibble of either header. */
    if (len > 0 && pkt[0] >> 4 == 6) return fmt_ipv6_packet(out, cap, pkt, len);
    struct wire_ip_repr ip;
    struct wire_tcp_repr tcp;
    enum synack_drop drop = wire_packet_parse(pkt, len, &ip, &tcp);
    struct wire_icmp_repr icmp;
    if (drop == SYNACK_DROP_IP_PROTOCOL && ip.proto == WIRE_IP_PROTO_ICMP &&
        wire_icmp_parse(pkt + ip.header_len, ip.payload_len, &icmp) == SYNACK_DROP_NONE)
        return wire_fmt_icmp(out, cap, &ip, &icmp);
    if (drop == SYNACK_DROP_IP_FRAGMENT) return fmt_fragment(out, cap, &ip);
    if (drop != SYNACK_DROP_NONE && drop != SYNACK_DROP_IP_PROTOCOL)
        return fmt_malformed(out, cap, drop, len);
    const struct synack_addr src = ip.src, dst = ip.dst;
    const uint8_t *seg = pkt + ip.header_len;
    if (drop == SYNACK_DROP_NONE) return fmt_tcp_segment(out, cap, &src, &dst, &tcp, seg);
    if (ip.proto == WIRE_IP_PROTO_UDP)
        return fmt_udp_payload(out, cap, &src, &dst, seg, ip.payload_len, len);
    return fmt_other(out, cap, &src, &dst, "", ip.proto, ip.payload_len);
}

const char *synack_drop_name(enum synack_drop d)
{
    /* No default: the compiler (-Wswitch) names any reason added without a name here. */
    switch (d) {
    case SYNACK_DROP_NONE:
        return "none";
    case SYNACK_DROP_IP_TRUNCATED:
        return "ip-truncated";
    case SYNACK_DROP_IP_VERSION:
        return "ip-version";
    case SYNACK_DROP_IP_IHL:
        return "ip-ihl";
    case SYNACK_DROP_IP_TOTAL_LEN:
        return "ip-total-len";
    case SYNACK_DROP_IP_CHECKSUM:
        return "ip-checksum";
    case SYNACK_DROP_IP_FRAGMENT:
        return "ip-fragment";
    case SYNACK_DROP_IP_PROTOCOL:
        return "ip-protocol";
    case SYNACK_DROP_IP_NOT_LOCAL:
        return "ip-not-local";
    case SYNACK_DROP_IP_BAD_SOURCE:
        return "ip-bad-source";
    case SYNACK_DROP_TCP_TRUNCATED:
        return "tcp-truncated";
    case SYNACK_DROP_TCP_DATA_OFFSET:
        return "tcp-data-offset";
    case SYNACK_DROP_TCP_OPTION:
        return "tcp-option";
    case SYNACK_DROP_TCP_CHECKSUM:
        return "tcp-checksum";
    case SYNACK_DROP_TCP_FLAGS:
        return "tcp-flags";
    case SYNACK_DROP_TCP_PORT_ZERO:
        return "tcp-port-zero";
    case SYNACK_DROP_NO_SOCKET:
        return "no-socket";
    case SYNACK_DROP_SYN_QUEUE_FULL:
        return "syn-queue-full";
    case SYNACK_DROP_ACCEPT_QUEUE_FULL:
        return "accept-queue-full";
    case SYNACK_DROP_LISTEN_BAD:
        return "listen-bad";
    case SYNACK_DROP_UNACCEPTABLE:
        return "unacceptable";
    case SYNACK_DROP_BAD_ACK:
        return "bad-ack";
    case SYNACK_DROP_RST_INVALID:
        return "rst-invalid";
    case SYNACK_DROP_SYN_IN_WINDOW:
        return "syn-in-window";
    case SYNACK_DROP_NO_ACK:
        return "no-ack";
    case SYNACK_DROP_SYN_SENT_BAD:
        return "syn-sent-bad";
    case SYNACK_DROP_NO_MEMORY:
        return "no-memory";
    case SYNACK_DROP_RCV_BUFFER:
        return "rcv-buffer";
    case SYNACK_DROP_PAWS:
        return "paws";
    case SYNACK_DROP_MEM_BUDGET:
        return "mem-budget";
    case SYNACK_DROP_CONN_LIMIT:
        return "conn-limit";
    case SYNACK_DROP_TIME_WAIT_RST:
        return "time-wait-rst";
    case SYNACK_DROP_ICMP_TRUNCATED:
        return "icmp-truncated";
    case SYNACK_DROP_ICMP_CHECKSUM:
        return "icmp-checksum";
    case SYNACK_DROP_ICMP_QUOTE:
        return "icmp-quote";
    case SYNACK_DROP_ICMP_IGNORED:
        return "icmp-ignored";
    case SYNACK_DROP_ICMP_NO_CONN:
        return "icmp-no-conn";
    case SYNACK_DROP_ICMP_BLIND:
        return "icmp-blind";
    case SYNACK_DROP_ICMP_QUEUE_FULL:
        return "icmp-queue-full";
    case SYNACK_DROP_IP6_TRUNCATED:
        return "ip6-truncated";
    case SYNACK_DROP_IP6_EXT_HEADER:
        return "ip6-ext-header";
    case SYNACK_DROP_IP6_OPTION:
        return "ip6-option";
    case SYNACK_DROP_IP6_NEXT_HEADER:
        return "ip6-next-header";
    case SYNACK_DROP_IP6_ROUTING:
        return "ip6-routing";
    case SYNACK_DROP_FRAG_MALFORMED:
        return "frag-malformed";
    case SYNACK_DROP_FRAG_OVERLAP:
        return "frag-overlap";
    case SYNACK_DROP_FRAG_TIMEOUT:
        return "frag-timeout";
    case SYNACK_DROP_FRAG_EVICTED:
        return "frag-evicted";
    case SYNACK_DROP_UDP_TRUNCATED:
        return "udp-truncated";
    case SYNACK_DROP_UDP_CHECKSUM:
        return "udp-checksum";
    case SYNACK_DROP_UDP_NO_SOCKET:
        return "udp-no-socket";
    case SYNACK_DROP_UDP_QUEUE_FULL:
        return "udp-queue-full";
    case SYNACK_DROP_COUNT:
        break;
    }
    return "unknown";
}
