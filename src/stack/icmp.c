/*
 * ICMP at the stack (RFC 792, RFC 1122 §3.2.2): echo requests are answered, errors about
 * our TCP segments go to tcp_icmp_input (RFC 1122 §4.2.3.9), a datagram of a protocol we do
 * not run draws a protocol unreachable (RFC 1122 §3.2.2.1), and the rest is counted and
 * dropped. What we send waits in a small bounded queue that synack_stack_output drains, so an
 * echo flood costs a fixed amount of memory and at most one reply per request.
 */
#include <string.h>

#include "stack/stack.h"

/* Bytes in one queue slot: the largest ICMP message one packet of our MTU carries (an
 * ICMPv6 message gets 20 bytes less, its header being longer). */
size_t stack_icmpq_slot_size(const struct synack_stack *s, enum synack_family family)
{
    return (size_t)s->cfg.mtu - wire_ip_header_len(family);
}

uint8_t *stack_icmpq_slot(struct synack_stack *s)
{
    if (s->icmpq_len == STACK_ICMPQ_CAP) {
        stack_count_drop(s, SYNACK_DROP_ICMP_QUEUE_FULL);
        return NULL;
    }
    size_t i = (s->icmpq_head + s->icmpq_len) % STACK_ICMPQ_CAP;
    return s->icmpq_bytes + i * stack_icmpq_slot_size(s, SYNACK_AF_INET);
}

void stack_icmpq_commit(struct synack_stack *s, const struct synack_addr *src,
                        const struct synack_addr *dst, uint8_t tos, uint8_t type, size_t len)
{
    size_t i = (s->icmpq_head + s->icmpq_len) % STACK_ICMPQ_CAP;
    s->icmpq[i] = (struct stack_icmp_msg){
        .src = *src, .dst = *dst, .tos = tos, .type = type, .len = (uint16_t)len};
    s->icmpq_len++;
}

/* Builds `icmp` into the next free slot, to be sent from `src` (the address the message
 * answers was sent to) to `dst`. Drops and counts it when the queue is full. */
static void icmpq_push(struct synack_stack *s, const struct synack_addr *src,
                       const struct synack_addr *dst, uint8_t tos,
                       const struct wire_icmp_repr *icmp)
{
    uint8_t *slot = stack_icmpq_slot(s);
    if (!slot) return;
    size_t n = wire_icmp_emit(icmp, slot, stack_icmpq_slot_size(s, SYNACK_AF_INET));
    if (n == 0) return; /* callers trim to the slot: not reached */
    stack_icmpq_commit(s, src, dst, tos, icmp->type, n);
}

synack_ssize stack_icmp_output(struct synack_stack *s, uint8_t *buf, size_t cap, synack_time_t now)
{
    if (s->icmpq_len == 0) return 0;
    const struct stack_icmp_msg *m = &s->icmpq[s->icmpq_head];
    bool v6 = m->src.family == SYNACK_AF_INET6;
    size_t hdr = wire_ip_header_len((enum synack_family)m->src.family);
    size_t n = hdr + m->len;
    if (cap < n) return SYNACK_ERR_BUFSZ;
    /* No DF: ICMP has no path-MTU response of its own, and a message that does not fit a
     * later hop is better fragmented than lost. */
    struct wire_ip_repr ip = {.src = m->src,
                              .dst = m->dst,
                              .proto = v6 ? WIRE_IP_PROTO_ICMPV6 : WIRE_IP_PROTO_ICMP,
                              .ttl = s->cfg.ttl,
                              .tos = m->tos,
                              .id = s->ip_id++,
                              .payload_len = m->len};
    wire_ip_emit(&ip, buf, hdr);
    memcpy(buf + hdr, s->icmpq_bytes + s->icmpq_head * stack_icmpq_slot_size(s, SYNACK_AF_INET),
           m->len);
    s->counters.icmp_out++;
    if (m->type == (v6 ? WIRE_ICMP6_ECHO_REPLY : WIRE_ICMP_ECHO_REPLY))
        s->counters.icmp_echo_replies++;
    s->icmpq_head = (s->icmpq_head + 1) % STACK_ICMPQ_CAP;
    s->icmpq_len--;
    if (s->trace) s->trace(s->trace_ctx, 'o', buf, n, SYNACK_DROP_NONE, now);
    return (synack_ssize)n;
}

/* RFC 792 echo: "the source and destination addresses are simply reversed, the type code
 * changed to 0, and the checksum recomputed"; identifier, sequence number and data come
 * back as they were. RFC 1122 §3.2.2.6: the data "MUST be entirely included in the Echo
 * Reply", or, when that would need fragmentation, "truncated to maximum transmission
 * size". RFC 1349 §5.1: the reply keeps the request's TOS. The request reached us only if
 * addressed to our own (unicast) address from a unicast source (input_check_addrs), so echo
 * to broadcast or multicast is never answered (RFC 1122 §3.2.2.6 allows silence). */
static void icmp_echo_reply(struct synack_stack *s, const struct wire_ip_repr *ip,
                            const struct wire_icmp_repr *req)
{
    struct wire_icmp_repr reply = {.type = WIRE_ICMP_ECHO_REPLY,
                                   .code = 0,
                                   .id = req->id,
                                   .seq = req->seq,
                                   .data = req->data,
                                   .data_len = req->data_len};
    size_t room = stack_icmpq_slot_size(s, SYNACK_AF_INET) - WIRE_ICMP_HDR_LEN;
    if (reply.data_len <= room) {
        icmpq_push(s, &ip->dst, &ip->src, ip->tos, &reply);
        return;
    }
    /* Larger than one packet (a reassembled request): the reply leaves in fragments, whole
     * as RFC 1122 §3.2.2.6 wants, if the stack's one big datagram is free; else it is
     * dropped (counted), as a full queue drops a small one. */
    uint8_t *msg = stack_big_buffer(s);
    stack_icmp_big_reply(s, ip, WIRE_IP_PROTO_ICMP,
                         msg ? wire_icmp_emit(&reply, msg, STACK_BIG_MAX) : 0);
}

void stack_icmp_big_reply(struct synack_stack *s, const struct wire_ip_repr *req, uint8_t proto,
                          size_t len)
{
    struct wire_ip_repr out = {
        .src = req->dst, .dst = req->src, .proto = proto, .ttl = s->cfg.ttl, .tos = req->tos};
    if (!stack_big_commit(s, &out, len, s->cfg.mtu)) {
        stack_count_drop(s, SYNACK_DROP_ICMP_QUEUE_FULL);
        return;
    }
    s->counters.icmp_out++;
    s->counters.icmp_echo_replies++;
}

/* RFC 1122 §4.2.3.9, RFC 5461: what an ICMP error means for TCP. Protocol and port
 * unreachable (2, 3) are hard (the destination host itself refuses); fragmentation needed
 * (4) lowers the path MTU (RFC 1191); the rest (net and host unreachable, codes RFC 1122
 * does not classify, time exceeded, parameter problem) are soft: the safe direction. */
static struct ip_icmp_error icmp_classify(const struct wire_icmp_repr *m)
{
    struct ip_icmp_error e = {.kind = IP_ICMP_SOFT, .err = SYNACK_ERR_UNREACH, .quote = m->quote};
    if (m->type != WIRE_ICMP_DEST_UNREACH) return e;
    if (m->code == WIRE_ICMP_FRAG_NEEDED) {
        e.kind = IP_ICMP_TOO_BIG;
        e.mtu = m->mtu;
    } else if (m->code == WIRE_ICMP_PROTO_UNREACH || m->code == WIRE_ICMP_PORT_UNREACH) {
        e.kind = IP_ICMP_HARD;
        e.err = SYNACK_ERR_CONNREFUSED;
    }
    return e;
}

void stack_icmp_error_deliver(struct synack_stack *s, const struct ip_icmp_error *e,
                              synack_time_t now)
{
    if (e->quote.proto == WIRE_IP_PROTO_UDP)
        stack_udp_icmp_error(s, e, now);
    else
        tcp_icmp_input(&s->tcp, e, now);
}

void stack_icmp_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                      const struct wire_icmp_repr *icmp, synack_time_t now)
{
    s->counters.icmp_in++;
    switch (icmp->type) {
    case WIRE_ICMP_ECHO_REQUEST:
        icmp_echo_reply(s, ip, icmp);
        return;
    case WIRE_ICMP_DEST_UNREACH:
    case WIRE_ICMP_TIME_EXCEEDED:
    case WIRE_ICMP_PARAM_PROBLEM: {
        /* RFC 1122 §4.2.3.9 / RFC 9293 §3.9.2.2: to the connection that sent the datagram
         * the message returns, found from the returned headers. */
        struct ip_icmp_error e = icmp_classify(icmp);
        stack_icmp_error_deliver(s, &e, now);
        return;
    }
    default:
        /* Source quench: RFC 6633 §2 / RFC 9293 §3.9.2.2 (MUST-55), silently discarded.
         * Redirect: this stack keeps no routes; its link decides the next hop. Echo reply,
         * timestamp and the rest: nothing of ours asked for them. */
        stack_count_drop(s, SYNACK_DROP_ICMP_IGNORED);
        return;
    }
}

/* RFC 1812 §4.3.2.8 (and RFC 1122 §3.2.2's concern about ICMP storms): at most
 * icmp_error_limit errors per second, per stack. */
bool stack_icmp_error_allowed(struct synack_stack *s, synack_time_t now)
{
    if (now - s->icmp_err_window_start >= SYNACK_S(1) || now < s->icmp_err_window_start) {
        s->icmp_err_window_start = now;
        s->icmp_err_count = 0;
    }
    if (s->icmp_err_count >= s->cfg.icmp_error_limit) return false;
    s->icmp_err_count++;
    return true;
}

/* Queues an ICMP error of `type`/`code` about the datagram `about` (sent to us from
 * about->src), returning `quote` (its header and what follows) trimmed to what RFC 1812
 * §4.3.2.3 allows (the error within 576 bytes) and our slot holds; nothing if that is less
 * than the header and 8 octets RFC 792 promises. Within the rate limit. */
static void icmp_send_error(struct synack_stack *s, const struct wire_ip_repr *about,
                            const uint8_t *quote, size_t quote_len, size_t quote_header,
                            uint8_t type, uint8_t code, synack_time_t now)
{
    if (!stack_icmp_error_allowed(s, now)) return;
    size_t room = STACK_ICMP_ERR_MAX - WIRE_IPV4_HDR_LEN - WIRE_ICMP_HDR_LEN;
    if (room > stack_icmpq_slot_size(s, SYNACK_AF_INET) - WIRE_ICMP_HDR_LEN)
        room = stack_icmpq_slot_size(s, SYNACK_AF_INET) - WIRE_ICMP_HDR_LEN;
    size_t n = quote_len < room ? quote_len : room;
    if (n < quote_len && n < quote_header + WIRE_ICMP_QUOTE_DATA_MIN)
        return; /* an MTU too small for header and 8 octets */
    struct wire_icmp_repr err = {.type = type, .code = code, .data = quote, .data_len = n};
    icmpq_push(s, &about->dst, &about->src, about->tos, &err);
}

void stack_icmp_proto_unreach(struct synack_stack *s, const uint8_t *pkt,
                              const struct wire_ip_repr *ip, synack_time_t now)
{
    /* RFC 1122 §3.2.2: never about an ICMP error, a broadcast or multicast destination, a
     * source that is not one host, or a non-initial fragment. The caller's checks (a whole,
     * unfragmented datagram to our unicast address from a unicast source, not ICMP) cover
     * all four. */
    if (ip->proto == WIRE_IP_PROTO_ICMP) return;
    /* RFC 1122 §3.2.2: the header and at least 8 octets of the datagram. */
    icmp_send_error(s, ip, pkt, (size_t)ip->header_len + ip->payload_len, ip->header_len,
                    WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PROTO_UNREACH, now);
}

void stack_icmp_reasm_timeout(struct synack_stack *s, const struct wire_ip_repr *first,
                              const uint8_t *data, size_t len, synack_time_t now)
{
    /* RFC 1122 §3.2.2: never about an ICMP error message (the first fragment holds its
     * type). */
    if (first->src.family != SYNACK_AF_INET || len < WIRE_ICMP_QUOTE_DATA_MIN ||
        (first->proto == WIRE_IP_PROTO_ICMP && wire_icmp_is_error_type(data[0])))
        return;
    /* RFC 792: the Internet header of the first fragment and its first 64 bits of data;
     * the header is written again from what the reassembler kept (options are not). */
    uint8_t quote[WIRE_IPV4_HDR_LEN + WIRE_ICMP_QUOTE_DATA_MIN];
    struct wire_ip_repr h = *first;
    h.id = (uint16_t)first->frag.id;
    h.frag.present = true;
    h.frag.more = true;
    h.frag.offset = 0;
    h.payload_len = (uint16_t)len;
    wire_ipv4_emit(&h, quote);
    memcpy(quote + WIRE_IPV4_HDR_LEN, data, WIRE_ICMP_QUOTE_DATA_MIN);
    icmp_send_error(s, first, quote, sizeof quote, WIRE_IPV4_HDR_LEN, WIRE_ICMP_TIME_EXCEEDED, 1,
                    now);
}

void stack_icmp_port_unreach(struct synack_stack *s, const uint8_t *pkt, size_t len,
                             const struct wire_ip_repr *ip, synack_time_t now)
{
    if (ip->src.family == SYNACK_AF_INET6) {
        stack_icmp6_port_unreach(s, pkt, len, ip, now);
        return;
    }
    (void)len;
    icmp_send_error(s, ip, pkt, (size_t)ip->header_len + ip->payload_len, ip->header_len,
                    WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, now);
}
