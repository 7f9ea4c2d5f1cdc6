/*
 * The stack's IP layer around the transports: fragments that arrive are reassembled
 * (src/ip/frag.c: RFC 791 §3.2, RFC 815, RFC 8200 §4.5, RFC 5722) under the stack's memory
 * cap and timeout, and a datagram larger than the MTU that the stack itself must send (an
 * echo reply to a large ping, a UDP datagram) leaves in fragments, one per output call
 * (RFC 791 §3.2; RFC 8200 §4.5 with a Fragment header). One such datagram is sent at a
 * time; its buffer (64 KiB) is allocated when one is queued and freed when its last
 * fragment has left, so an idle stack holds none.
 */
#include <string.h>

#include "stack/stack.h"

int stack_ip_init(struct synack_stack *s)
{
    struct ip_reasm_config rc;
    ip_reasm_config_default(&rc);
    if (s->cfg.frag_mem) rc.mem_cap = s->cfg.frag_mem;
    /* The bucket key comes from the secret, like the demux key: per stack, deterministic. */
    for (int i = 0; i < 16; i++)
        rc.hash_key[i] = (uint8_t)(s->cfg.isn_secret[i] ^ 0xa5);
    rc.alloc = s->cfg.alloc;
    rc.free = s->cfg.free;
    rc.alloc_ctx = s->cfg.alloc_ctx;
    return ip_reasm_init(&s->reasm, &rc);
}

void stack_ip_free(struct synack_stack *s)
{
    ip_reasm_free(&s->reasm);
    stack_free(s, s->big.buf);
    s->big.buf = NULL;
}

enum synack_drop stack_ip_reassemble(struct synack_stack *s, struct wire_ip_repr *ip,
                                     const uint8_t **payload, size_t *len,
                                     struct wire_ip_problem *problem, synack_time_t now)
{
    problem->send = false;
    stack_ip_expire(s, now); /* frag.h: expire first once the deadline is reached */
    struct ip_reasm_result r;
    switch (ip_reasm_input(&s->reasm, ip, *payload, *len, now, &r)) {
    case IP_REASM_COMPLETE:
        *ip = r.ip;
        *payload = r.data;
        *len = r.len;
        s->counters.frags_reassembled++;
        return SYNACK_DROP_NONE;
    case IP_REASM_DROPPED:
        /* Evictions are counted by the reassembler (synack_stack_counters adds them). */
        if (r.drop != SYNACK_DROP_FRAG_EVICTED) stack_count_drop(s, r.drop);
        *problem = r.problem; /* RFC 8200 §4.5: some malformed fragments are answered */
        return r.drop;
    case IP_REASM_HELD:
    case IP_REASM_DUPLICATE:
        break;
    }
    return SYNACK_DROP_COUNT; /* held: nothing to deliver yet, nothing dropped */
}

void stack_ip_expire(struct synack_stack *s, synack_time_t now)
{
    struct ip_reasm_expired e;
    while (ip_reasm_expire(&s->reasm, now, &e) == 1) {
        /* RFC 1122 §3.3.2 / RFC 792: time exceeded, fragment reassembly time exceeded,
         * only when fragment zero arrived; RFC 8200 §4.5 likewise for IPv6. */
        if (!e.has_first) continue;
        if (e.family == SYNACK_AF_INET6)
            stack_icmp6_reasm_timeout(s, &e.first, e.first_data, e.first_len, now);
        else
            stack_icmp_reasm_timeout(s, &e.first, e.first_data, e.first_len, now);
    }
}

synack_time_t stack_ip_next_deadline(const struct synack_stack *s)
{
    return ip_reasm_next_deadline(&s->reasm);
}

void stack_ip_counters(const struct synack_stack *s, struct synack_counters *out)
{
    const struct ip_reasm_counters *rc = ip_reasm_counters(&s->reasm);
    out->drops[SYNACK_DROP_FRAG_TIMEOUT] += rc->timeouts;
    out->drops[SYNACK_DROP_FRAG_EVICTED] += rc->evictions;
}

void stack_ip_stats(const struct synack_stack *s, struct synack_stack_stats *out)
{
    struct ip_reasm_stats st;
    ip_reasm_stats(&s->reasm, &st);
    out->frag_bytes = st.bytes_held;
    out->frag_mem = st.mem_cap;
    out->frag_datagrams = st.datagrams;
}

/* ---- a datagram larger than the MTU, sent in fragments --------------------------------- */

bool stack_big_busy(const struct synack_stack *s)
{
    return s->big.len > 0;
}

static void big_done(struct synack_stack *s)
{
    s->big.len = 0;
    stack_free(s, s->big.buf);
    s->big.buf = NULL;
}

uint8_t *stack_big_buffer(struct synack_stack *s)
{
    if (stack_big_busy(s)) return NULL;
    if (!s->big.buf) s->big.buf = stack_alloc(s, STACK_BIG_MAX);
    return s->big.buf;
}

bool stack_big_commit(struct synack_stack *s, const struct wire_ip_repr *ip, size_t len,
                      unsigned mtu)
{
    if (stack_big_busy(s) || !s->big.buf) return false;
    size_t hdr = wire_ip_header_len((enum synack_family)ip->src.family);
    if (len == 0 || len > STACK_BIG_MAX ||
        ip_frag_plan_init(&s->big.plan, (enum synack_family)ip->src.family, len, mtu, hdr) != 0) {
        big_done(s); /* nothing to send: the buffer goes */
        return false;
    }
    s->big.len = len;
    s->big.ip = *ip;
    s->big.ip.id = s->ip_id++;
    /* RFC 8200 §4.5: a 32-bit Identification, unique per (source, destination) for the
     * datagram's lifetime; the 16-bit IPv4 counter widened is as unique here. */
    s->big.ip.frag.id = s->big.ip.id;
    s->big.ip.df = false; /* RFC 791 §3.2: fragmented, so not DF */
    return true;
}

synack_ssize stack_big_output(struct synack_stack *s, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct ip_frag_piece piece;
    if (!ip_frag_next(&s->big.plan, &piece)) {
        big_done(s);
        return 0;
    }
    struct wire_ip_repr ip = s->big.ip;
    ip.frag.present = s->big.plan.fragmented;
    ip.frag.offset = piece.offset;
    ip.frag.more = piece.more;
    size_t hdr = wire_ip_repr_header_len(&ip);
    if (cap < hdr + piece.len) return SYNACK_ERR_BUFSZ;
    ip.payload_len = (uint16_t)piece.len;
    wire_ip_emit(&ip, buf, hdr);
    memcpy(buf + hdr, s->big.buf + piece.offset, piece.len);
    if (s->big.plan.fragmented) s->counters.frags_out++;
    if (!piece.more) big_done(s);
    if (s->trace) s->trace(s->trace_ctx, 'o', buf, hdr + piece.len, SYNACK_DROP_NONE, now);
    return (synack_ssize)(hdr + piece.len);
}
