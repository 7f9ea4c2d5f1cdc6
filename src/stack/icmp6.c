/*
 * ICMPv6 at the stack (RFC 4443): echo requests are answered (§4), errors about our TCP
 * segments go to tcp_icmp_input with the RFC 5927 checks there, packet too big lowers the
 * path MTU no further than 1280 (RFC 8201 §4), and what the stack must say about a packet
 * it cannot take (an unknown Next Header or option, a routing header it cannot follow, a
 * fragment that breaks the rules, a reassembly that timed out) goes back as a parameter
 * problem or time exceeded, never about an error, a multicast packet (but the exceptions
 * of §2.4 (e.3)) or a non-unicast source, and within the per-stack error rate limit
 * (§2.4 (f)). Messages wait in the ICMP queue that synack_stack_output drains; an echo
 * reply larger than the MTU leaves in fragments (RFC 8200 §4.5).
 */
#include <string.h>

#include "stack/stack.h"

/* RFC 4443 §2.4 (c): an error carries as much of the invoking packet as fits without the
 * message exceeding the minimum IPv6 MTU, here also within a queue slot. */
static size_t icmp6_quote_room(const struct synack_stack *s)
{
    size_t room = stack_icmpq_slot_size(s, SYNACK_AF_INET6) - WIRE_ICMP6_HDR_LEN;
    return room < WIRE_ICMP6_QUOTE_MAX ? room : WIRE_ICMP6_QUOTE_MAX;
}

/* Builds `m` into the ICMP queue, from `src` to `dst` (the message's own addresses: the
 * checksum covers them, RFC 4443 §2.3). */
static void icmp6_push(struct synack_stack *s, const struct synack_addr *src,
                       const struct synack_addr *dst, uint8_t tc, const struct wire_icmp6_repr *m)
{
    uint8_t *slot = stack_icmpq_slot(s);
    if (!slot) return;
    size_t n = wire_icmp6_emit(m, src, dst, slot, stack_icmpq_slot_size(s, SYNACK_AF_INET6));
    if (n == 0) return; /* callers trim to the slot: not reached */
    stack_icmpq_commit(s, src, dst, tc, m->type, n);
}

/* RFC 4443 §4.2: the reply carries the request's identifier, sequence number and data;
 * its source is the address the request was sent to (a unicast one of ours, §4.2). */
static void icmp6_echo_reply(struct synack_stack *s, const struct wire_ip_repr *ip,
                             const struct wire_icmp6_repr *req)
{
    struct wire_icmp6_repr reply = {.type = WIRE_ICMP6_ECHO_REPLY,
                                    .id = req->id,
                                    .seq = req->seq,
                                    .data = req->data,
                                    .data_len = req->data_len};
    if (WIRE_ICMP6_HDR_LEN + reply.data_len <= stack_icmpq_slot_size(s, SYNACK_AF_INET6)) {
        icmp6_push(s, &ip->dst, &ip->src, ip->tos, &reply);
        return;
    }
    /* Larger than one packet (a reassembled request): whole, in fragments, if the stack's
     * one large datagram is free; else dropped (counted) as by a full queue. */
    uint8_t *msg = stack_big_buffer(s);
    stack_icmp_big_reply(s, ip, WIRE_IP_PROTO_ICMPV6,
                         msg ? wire_icmp6_emit(&reply, &ip->dst, &ip->src, msg, STACK_BIG_MAX) : 0);
}

/* RFC 4443 §3 with RFC 5461 §4 and RFC 8201: what an error means for TCP. Port unreachable
 * and an unrecognized Next Header (the host does not run TCP) are hard; packet too big
 * lowers the path MTU; the rest (no route, administratively prohibited, beyond scope,
 * address unreachable, time exceeded, other parameter problems) are soft. */
static struct ip_icmp_error icmp6_classify(const struct wire_icmp6_repr *m)
{
    struct ip_icmp_error e = {.kind = IP_ICMP_SOFT, .err = SYNACK_ERR_UNREACH, .quote = m->quote};
    if (m->type == WIRE_ICMP6_PACKET_TOO_BIG) {
        e.kind = IP_ICMP_TOO_BIG;
        e.mtu = m->mtu;
    } else if ((m->type == WIRE_ICMP6_DEST_UNREACH && m->code == WIRE_ICMP6_PORT_UNREACH) ||
               (m->type == WIRE_ICMP6_PARAM_PROBLEM && m->code == WIRE_ICMP6_UNKNOWN_NEXT_HEADER)) {
        e.kind = IP_ICMP_HARD;
        e.err = SYNACK_ERR_CONNREFUSED;
    }
    return e;
}

void stack_icmp6_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                       const struct wire_icmp6_repr *icmp, synack_time_t now)
{
    s->counters.icmp_in++;
    switch (icmp->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
        icmp6_echo_reply(s, ip, icmp);
        return;
    case WIRE_ICMP6_DEST_UNREACH:
    case WIRE_ICMP6_PACKET_TOO_BIG:
    case WIRE_ICMP6_TIME_EXCEEDED:
    case WIRE_ICMP6_PARAM_PROBLEM: {
        /* RFC 4443 §2.4 (b), §3: to the upper layer of the packet the message returns. */
        struct ip_icmp_error e = icmp6_classify(icmp);
        stack_icmp_error_deliver(s, &e, now);
        return;
    }
    default:
        /* Echo replies, neighbour and router discovery (a TUN link has no link layer to
         * resolve), redirects, MLD, and unknown informational messages (§2.4 (b)). */
        stack_count_drop(s, SYNACK_DROP_ICMP_IGNORED);
        return;
    }
}

/* Queues an ICMPv6 error of `type`/`code` (with `word`: the pointer or the MTU) about the
 * packet `pkt` of `len` bytes whose header was parsed into `about`, if RFC 4443 §2.4 (e)
 * allows it and within the rate limit. */
static void icmp6_send_error(struct synack_stack *s, const uint8_t *pkt, size_t len,
                             const struct wire_ip_repr *about, uint8_t type, uint8_t code,
                             uint32_t word, synack_time_t now)
{
    if (!wire_icmp6_can_send_error(about, NULL, type, code)) return;
    /* §2.4 (e.3) lets a parameter problem answer a packet sent to a multicast address; the
     * stack only answers what was sent to one of its own addresses. */
    if (!stack_addr_is_local(s, &about->dst)) return;
    if (!stack_icmp_error_allowed(s, now)) return;
    size_t room = icmp6_quote_room(s);
    struct wire_icmp6_repr m = {
        .type = type, .code = code, .data = pkt, .data_len = len < room ? len : room};
    if (type == WIRE_ICMP6_PARAM_PROBLEM) m.pointer = word;
    if (type == WIRE_ICMP6_PACKET_TOO_BIG) m.mtu = word;
    icmp6_push(s, &about->dst, &about->src, 0, &m);
}

void stack_icmp6_param_problem(struct synack_stack *s, const uint8_t *pkt, size_t len,
                               const struct wire_ip_repr *about,
                               const struct wire_ip_problem *problem, synack_time_t now)
{
    icmp6_send_error(s, pkt, len, about, WIRE_ICMP6_PARAM_PROBLEM, problem->code, problem->pointer,
                     now);
}

void stack_icmp6_reasm_timeout(struct synack_stack *s, const struct wire_ip_repr *first,
                               const uint8_t *data, size_t len, synack_time_t now)
{
    /* RFC 8200 §4.5: time exceeded, fragment reassembly time exceeded (code 1), quoting the
     * first fragment: its fixed header and Fragment header written again from what the
     * reassembler kept (extension headers before the Fragment header are not), then as much
     * of its data as fits. */
    uint8_t quote[WIRE_ICMP6_QUOTE_MAX];
    struct wire_ip_repr h = *first;
    h.frag.present = true;
    h.frag.more = true;
    h.frag.offset = 0;
    size_t hdr = wire_ip_repr_header_len(&h);
    size_t take = len < sizeof quote - hdr ? len : sizeof quote - hdr;
    h.payload_len = (uint16_t)len;
    wire_ip_emit(&h, quote, hdr);
    memcpy(quote + hdr, data, take);
    icmp6_send_error(s, quote, hdr + take, first, WIRE_ICMP6_TIME_EXCEEDED,
                     WIRE_ICMP6_REASSEMBLY_TIME, 0, now);
}

void stack_icmp6_port_unreach(struct synack_stack *s, const uint8_t *pkt, size_t len,
                              const struct wire_ip_repr *about, synack_time_t now)
{
    icmp6_send_error(s, pkt, len, about, WIRE_ICMP6_DEST_UNREACH, WIRE_ICMP6_PORT_UNREACH, 0, now);
}
