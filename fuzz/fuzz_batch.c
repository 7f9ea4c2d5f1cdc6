/*
 * Input batches (synack_stack_input_batch) against one call per packet. Two stacks made
 * alike (198.18.0.1 or 2001:db8::1, a listener on port 80) take the same packets: the first
 * one synack_stack_input_flags call each, the second in batches. After every batch, and
 * after the timers that follow it, both must have sent the same bytes, queued the same
 * events and counted the same, and each batch must say it took as many packets as the
 * single calls did. The batch reads each packet's 4-tuple from its raw bytes before the
 * parse (wire_tcp_peek_tuple) and keeps the hash it made for the demux; any difference
 * that hint made would show here.
 *
 * Byte 0: bit 0 IPv6. Then records: ctl, len, then `len` bytes (fewer at the end).
 *   ctl bit 7: a TCP segment from the peer, built: bytes 0-5 are the peer's port
 *     (40000 + b0 % 4), the flags, and 16-bit offsets of SEQ from what the stack last
 *     acknowledged and of ACK from what it last sent (so that small numbers land in the
 *     window); the rest is payload. Otherwise the bytes are a whole packet, its IPv4
 *     header repaired with ctl bit 6.
 *   ctl bit 5: the packet goes with SYNACK_INPUT_CSUM_VERIFIED.
 *   ctl bits 0-2 all zero: the batch ends after this packet (and at 64 packets); bits 3-4
 *     then move the clock by 1 us, 1 ms, 200 ms or 3 s before the timers run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_BATCH 64
#define PKT_CAP 1600
#define MEM_CAP (64u << 20)

struct h {
    struct fz_peer p; /* its stack is the one fed a packet per call */
    struct synack_stack *b;
    struct fz_mem ma, mb;
    uint8_t pkt[MAX_BATCH][PKT_CAP];
    struct synack_rx rx[MAX_BATCH];
    size_t n;
};

static void check(bool ok, const char *what)
{
    fz_check("fuzz_batch", ok, what);
}

static struct synack_stack *make(struct fz_peer *p, struct fz_mem *m)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    fz_mem_hook(&cfg, m, MEM_CAP);
    if (synack_config_add_addr(&cfg, &p->local) != 0) abort();
    struct synack_stack *s;
    struct synack_listener *l;
    struct synack_endpoint ep = {.addr = p->local, .port = 80};
    if (synack_stack_new(&s, &cfg) != 0 || synack_tcp_listen(s, &ep, 16, NULL, &l) != 0) abort();
    return s;
}

/* Both stacks' packets and events, compared; the peer learns from the first's. */
static void compare(struct h *h)
{
    static uint8_t a[65536], b[65536];
    for (;;) {
        synack_ssize na = synack_stack_output(h->p.s, a, sizeof a, h->p.now);
        synack_ssize nb = synack_stack_output(h->b, b, sizeof b, h->p.now);
        check(na == nb, "the same number of bytes sent");
        if (na <= 0) break;
        check(memcmp(a, b, (size_t)na) == 0, "the same bytes sent");
        fz_learn(&h->p, a, (size_t)na);
    }
    struct synack_event ea, eb;
    for (;;) {
        int ra = synack_stack_next_event(h->p.s, &ea), rb = synack_stack_next_event(h->b, &eb);
        check(ra == rb, "the same number of events");
        if (ra != 0) break;
        check(ea.type == eb.type && ea.conn_id == eb.conn_id && ea.old_state == eb.old_state &&
                  ea.new_state == eb.new_state && ea.err == eb.err && ea.time == eb.time,
              "the same events");
        if (ea.type == SYNACK_EV_ACCEPTABLE) {
            struct synack_tcp *ca, *cb;
            while (synack_tcp_accept(ea.listener, &ca) == 0) {
                check(synack_tcp_accept(eb.listener, &cb) == 0, "the same connections");
            }
        }
    }
    struct synack_counters ka, kb;
    synack_stack_counters(h->p.s, &ka);
    synack_stack_counters(h->b, &kb);
    check(memcmp(&ka, &kb, sizeof ka) == 0, "the same counters");
}

static void flush(struct h *h, unsigned clock)
{
    synack_ssize one = 0;
    for (size_t i = 0; i < h->n; i++)
        if (synack_stack_input_flags(h->p.s, h->rx[i].pkt, h->rx[i].len, h->rx[i].flags,
                                     h->p.now) == 0)
            one++;
    synack_ssize batched = synack_stack_input_batch(h->b, h->rx, h->n, h->p.now);
    check(batched == one, "as many packets taken");
    h->n = 0;
    compare(h);
    static const synack_time_t step[4] = {SYNACK_US(1), SYNACK_MS(1), SYNACK_MS(200), SYNACK_S(3)};
    h->p.now += step[clock & 3];
    synack_stack_handle_timers(h->p.s, h->p.now);
    synack_stack_handle_timers(h->b, h->p.now);
    compare(h);
}

/* Record bytes `d` (`n` of them) as a TCP segment from the peer into `out`; its length. */
static size_t built(struct h *h, const uint8_t *d, size_t n, uint8_t *out)
{
    uint8_t f[6] = {0};
    memcpy(f, d, n < sizeof f ? n : sizeof f);
    uint16_t rport = (uint16_t)(40000 + f[0] % 4);
    struct fz_tuple *t = fz_tuple(&h->p, 80, rport);
    if (!t) return 0;
    struct wire_tcp_repr seg = {
        .src_port = rport,
        .dst_port = 80,
        .flags = f[1],
        .seq = t->peer_nxt + (uint32_t)(int16_t)(f[2] << 8 | f[3]),
        .ack = t->stack_nxt + (uint32_t)(int16_t)(f[4] << 8 | f[5]),
        .window = 65535,
        .payload = n > sizeof f ? d + sizeof f : NULL,
        .payload_len = n > sizeof f ? n - sizeof f : 0,
    };
    struct wire_ip_repr ip = {.src = h->p.remote, .dst = h->p.local, .ttl = 64, .df = true};
    return wire_packet_emit(&ip, &seg, out, PKT_CAP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct h h;
    memset(&h, 0, sizeof h);
    struct fz_in in = {data, size};
    fz_peer_addrs(&h.p, fz_u8(&in) & 1);
    h.p.now = SYNACK_S(1);
    h.p.s = make(&h.p, &h.ma);
    h.b = make(&h.p, &h.mb);
    while (in.n >= 2) {
        uint8_t ctl = fz_u8(&in), want = fz_u8(&in);
        size_t n;
        const uint8_t *d = fz_bytes(&in, want, &n);
        uint8_t *pkt = h.pkt[h.n];
        size_t len;
        if (ctl & 0x80) {
            len = built(&h, d, n, pkt);
        } else {
            memcpy(pkt, d, n);
            len = n;
            if (ctl & 0x40) fz_repair_ipv4_header(pkt, len);
        }
        h.rx[h.n++] = (struct synack_rx){pkt, len, (ctl & 0x20) ? SYNACK_INPUT_CSUM_VERIFIED : 0};
        if ((ctl & 7) == 0 || h.n == MAX_BATCH) flush(&h, (unsigned)(ctl >> 3));
    }
    if (h.n) flush(&h, 1);
    synack_stack_free(h.p.s);
    synack_stack_free(h.b);
    check(h.ma.live == 0 && h.mb.live == 0, "nothing held after synack_stack_free");
    return 0;
}
