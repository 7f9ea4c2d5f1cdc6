/* Output: decide why to send (SYN, data, FIN, ACK, probe), build the segment, then arm
 * the timers and start the RTT sample. */
#include "stack/stack.h"
#include "tcp/conn.h"

uint32_t tcp_rcv_window(const struct synack_tcp *c)
{
    size_t space = ring_space(&c->rcvq);
    uint32_t wnd = space > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : (uint32_t)space;
    /* RFC 9293 §3.8.6.2.2: a receiver must not shrink the window, i.e. move its right
     * edge left; keep offering what was already offered. */
    if (seq_lt(c->rcv_nxt + wnd, c->rcv_adv) && tcp_is_synchronized(c->state))
        wnd = c->rcv_adv - c->rcv_nxt;
    return wnd;
}

bool tcp_should_update_window(struct synack_tcp *c)
{
    /* RFC 1122 §4.2.3.3 / RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): announce a larger
     * window only when it has grown by min(rcvbuf/2, MSS) beyond what the peer knows, and
     * only while what the peer knows is small (under half the buffer): a window update for
     * every read would double the ACKs of a bulk transfer for nothing. */
    uint32_t known = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t now_wnd = tcp_rcv_window(c);
    uint32_t half = (uint32_t)(c->rcvq.cap / 2);
    uint32_t step = c->rcv_mss < half ? c->rcv_mss : half;
    if (known >= half || now_wnd < known + step) return false;
    c->flags |= TCP_F_ACK_NOW;
    return true;
}

/* What the next segment carries: [seq, seq + len) of data, and which control bits. */
struct out_plan {
    uint32_t seq;
    uint32_t len;
    uint8_t flags;
    bool probe; /* a zero-window probe: one byte past the offered window */
};

/* Our SYN is outstanding and must be (re)sent: SYN_SENT, or SYN_RECEIVED after a passive
 * open or a simultaneous one. */
static bool plan_syn(const struct synack_tcp *c, struct out_plan *p)
{
    if (c->snd_una != c->iss || c->snd_rtx != c->iss) {
        /* SYN sent and waiting. In SYN_RECEIVED every reply still carries our SYN, so an
         * ACK we owe (for an unacceptable segment or a repeated SYN) is a SYN-ACK. */
        if (!(c->snd_una == c->iss && (c->flags & TCP_F_ACK_NOW) && c->state != SYNACK_SYN_SENT))
            return false;
    }
    p->seq = c->iss;
    p->len = 0;
    p->flags = WIRE_TCP_SYN;
    if (c->state != SYNACK_SYN_SENT) p->flags |= WIRE_TCP_ACK;
    return true;
}

/* Data, FIN or a bare ACK in a synchronized state. */
static bool plan_data(const struct synack_tcp *c, struct out_plan *p)
{
    uint32_t from = seq_lt(c->snd_rtx, c->snd_nxt) ? c->snd_rtx : c->snd_nxt;
    uint32_t data_end = c->sndq_seq + (uint32_t)ring_len(&c->sndq);
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    bool fin = (c->flags & TCP_F_FIN_QUEUED) != 0;
    p->seq = from;
    p->len = 0;
    p->flags = WIRE_TCP_ACK;
    if (seq_lt(from, data_end)) {
        uint32_t n = data_end - from;
        if (n > c->snd_mss) n = c->snd_mss;
        /* RFC 9293 §3.8.6.1: stay inside the offered window, except for the one-byte
         * probe the persist timer asked for. */
        uint32_t room = seq_lt(from, wnd_end) ? wnd_end - from : 0;
        if (c->flags & TCP_F_PROBE && room == 0) {
            room = 1;
            p->probe = true;
        }
        if (n > room) n = room;
        if (n > 0) {
            p->len = n;
            if (from + n == data_end) p->flags |= WIRE_TCP_PSH;
            if (fin && from + n == c->fin_seq) p->flags |= WIRE_TCP_FIN;
            return true;
        }
    } else if (fin && from == c->fin_seq) {
        p->flags |= WIRE_TCP_FIN;
        return true;
    }
    return (c->flags & TCP_F_ACK_NOW) != 0;
}

static bool plan_next(const struct synack_tcp *c, struct out_plan *p)
{
    switch (c->state) {
    case SYNACK_CLOSED:
    case SYNACK_LISTEN:
        return false;
    case SYNACK_TIME_WAIT:
        p->seq = c->snd_nxt;
        p->len = 0;
        p->flags = WIRE_TCP_ACK;
        return (c->flags & TCP_F_ACK_NOW) != 0;
    default:
        break;
    }
    if (c->snd_una == c->iss) return plan_syn(c, p);
    return plan_data(c, p);
}

/* After sending: advance the send pointers, count retransmissions, time the segment
 * (Karn's algorithm, RFC 6298 §3: never time a retransmitted segment) and make sure the
 * retransmission timer runs (RFC 6298 (5.1)). */
static void after_send(struct synack_tcp *c, const struct out_plan *p, synack_time_t now)
{
    uint32_t used =
        p->len + ((p->flags & WIRE_TCP_SYN) ? 1u : 0u) + ((p->flags & WIRE_TCP_FIN) ? 1u : 0u);
    c->flags &= ~(uint32_t)(TCP_F_ACK_NOW | TCP_F_PROBE);
    TCP_COUNT(c, segs_out);
    if (p->len) {
        c->counters.bytes_out += p->len;
        c->stack->counters.bytes_out += p->len;
    }
    if (p->flags & WIRE_TCP_ACK) c->rcv_adv = c->rcv_nxt + tcp_rcv_window(c);
    if (used == 0) return;
    uint32_t end = p->seq + used;
    if (seq_lt(p->seq, c->snd_nxt)) {
        TCP_COUNT(c, retransmits);
        c->flags &= ~(uint32_t)TCP_F_RTT_TIMING;
    } else if (!(c->flags & TCP_F_RTT_TIMING)) {
        c->flags |= TCP_F_RTT_TIMING;
        c->rtt_seq = end;
        c->rtt_start = now;
    }
    if (seq_gt(end, c->snd_nxt)) c->snd_nxt = end;
    /* RFC 9293 §3.8.6.1: the receiver most likely dropped a probe byte sent past its zero
     * window, so sending resumes at that byte, not after it, when the window opens (as BSD
     * does by not advancing snd_nxt for the persist probe); otherwise the first data after
     * the window opens would leave a hole that only an RTO repairs. */
    c->snd_rtx = p->probe ? p->seq : end;
    if (c->rto_at == SYNACK_NEVER || c->persist) tcp_rto_arm(c, now);
}

synack_ssize tcp_output(struct synack_tcp *c, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct out_plan p = {0};
    if (!plan_next(c, &p)) {
        tcp_persist_check(c, now);
        return 0;
    }
    struct synack_stack *s = c->stack;
    struct wire_tcp_repr seg = {
        .src_port = c->local_port,
        .dst_port = c->remote_port,
        .seq = p.seq,
        .flags = p.flags,
    };
    if (p.flags & WIRE_TCP_ACK) {
        seg.ack = c->rcv_nxt;
    }
    seg.window = (uint16_t)tcp_rcv_window(c);
    if (p.flags & WIRE_TCP_SYN) {
        seg.has_mss = true; /* RFC 9293 §3.7.1: MSS only in SYN segments */
        seg.mss = c->rcv_mss;
    }
    if (p.len) {
        ring_peek(&c->sndq, p.seq - c->sndq_seq, s->scratch, p.len);
        seg.payload = s->scratch;
        seg.payload_len = p.len;
    }
    struct wire_ipv4_repr ip = {.src = c->local_addr,
                                .dst = c->remote_addr,
                                .ttl = s->cfg.ttl,
                                .id = s->ip_id++,
                                .df = true};
    size_t n = wire_packet_emit(&ip, &seg, buf, cap);
    if (n == 0) return SYNACK_ERR_BUFSZ;
    after_send(c, &p, now);
    return (synack_ssize)n;
}
