#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t fz_u8(struct fz_in *in)
{
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(struct fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)(hi << 8 | fz_u8(in));
}

uint32_t fz_u32(struct fz_in *in)
{
    uint32_t hi = fz_u16(in);
    return hi << 16 | fz_u16(in);
}

const uint8_t *fz_bytes(struct fz_in *in, size_t max, size_t *len)
{
    *len = max < in->n ? max : in->n;
    const uint8_t *p = in->p;
    in->p += *len;
    in->n -= *len;
    return p;
}

/* ---- memory ---- */

#define HDR 16

static void *mem_alloc(void *ctx, size_t size)
{
    struct fz_mem *m = ctx;
    if (m->live + size > m->cap) {
        fprintf(stderr,
                "fuzz: the stack holds %zu bytes and asks for %zu more: past the cap of "
                "%zu (unbounded growth)\n",
                m->live, size, m->cap);
        abort();
    }
    uint8_t *p = malloc(HDR + size);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    m->live += size;
    if (m->live > m->peak) m->peak = m->live;
    return p + HDR;
}

static void mem_free(void *ctx, void *ptr)
{
    struct fz_mem *m = ctx;
    uint8_t *p = (uint8_t *)ptr - HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    m->live -= size;
    free(p);
}

void fz_mem_hook(struct synack_config *cfg, struct fz_mem *m, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->cap = cap;
    cfg->alloc = mem_alloc;
    cfg->free = mem_free;
    cfg->alloc_ctx = m;
}

/* ---- the peer ---- */

struct fz_tuple *fz_tuple(struct fz_peer *p, uint16_t lport, uint16_t rport)
{
    struct fz_tuple *free_slot = NULL;
    for (int i = 0; i < FZ_TUPLES; i++) {
        struct fz_tuple *t = &p->t[i];
        if (t->used && t->lport == lport && t->rport == rport) return t;
        if (!t->used && !free_slot) free_slot = t;
    }
    if (!free_slot) return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->lport = lport;
    free_slot->rport = rport;
    free_slot->peer_tsval = 1000;
    return free_slot;
}

void fz_peer_addrs(struct fz_peer *p, bool v6)
{
    static const uint8_t l6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t r6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    p->local = v6 ? synack_addr_v6(l6) : synack_addr_v4(FZ_LOCAL);
    p->remote = v6 ? synack_addr_v6(r6) : synack_addr_v4(FZ_REMOTE);
}

int fz_send(struct fz_peer *p, struct wire_tcp_repr *seg)
{
    uint8_t buf[2048];
    struct wire_ip_repr ip = {.src = p->remote, .dst = p->local, .ttl = 64, .df = true};
    size_t n = wire_packet_emit(&ip, seg, buf, sizeof buf);
    if (n == 0) return SYNACK_ERR_BUFSZ;
    return synack_stack_input(p->s, buf, n, p->now);
}

void fz_learn(struct fz_peer *p, const uint8_t *pkt, size_t len)
{
    struct wire_ip_repr ip;
    struct wire_tcp_repr seg;
    if (wire_packet_parse(pkt, len, &ip, &seg) != SYNACK_DROP_NONE) return;
    struct fz_tuple *t = fz_tuple(p, seg.src_port, seg.dst_port);
    if (!t) return;
    uint32_t end = seg.seq + (uint32_t)seg.payload_len + ((seg.flags & WIRE_TCP_SYN) ? 1u : 0u) +
                   ((seg.flags & WIRE_TCP_FIN) ? 1u : 0u);
    if ((seg.flags & WIRE_TCP_SYN) || (int32_t)(end - t->stack_nxt) > 0) t->stack_nxt = end;
    if (seg.flags & WIRE_TCP_ACK) t->peer_nxt = seg.ack;
    if (seg.has_ts) t->stack_tsval = seg.ts_val;
    t->stack_wnd = seg.window;
}

void fz_drain(struct fz_peer *p)
{
    static uint8_t buf[65535];
    for (int guard = 0; guard < 100000; guard++) {
        struct synack_tx_meta m;
        synack_ssize n = synack_stack_output_offload(p->s, buf, sizeof buf, p->tx, &m, p->now);
        if (n <= 0) return;
        if (m.gso_size && (!m.csum_partial || m.hdr_len > (size_t)n)) abort();
        if (m.gso_size && m.csum_offset == WIRE_UDP_OFF_CHECKSUM) {
            /* UDP datagrams joined (SYNACK_TX_USO): two to 64, every one cut whole, the last
             * no longer than the others. */
            static uint8_t one[65535];
            size_t k = 0;
            synack_ssize c;
            while ((c = synack_uso_datagram(buf, (size_t)n, m.gso_size, k, false, one,
                                            sizeof one)) > 0) {
                if ((size_t)c > m.hdr_len + m.gso_size) abort();
                k++;
            }
            if (c != 0 || k < 2 || k > 64) abort();
        } else if (m.gso_size && (size_t)n - m.hdr_len < 2u * m.gso_size) {
            abort(); /* a TCP segment to cut: two full pieces at least */
        }
        if (m.csum_partial &&
            synack_checksum_complete(buf, (size_t)n, m.csum_start, m.csum_offset) != 0)
            abort();
        p->out_packets++;
        fz_learn(p, buf, (size_t)n);
    }
}

unsigned fz_events(struct fz_peer *p)
{
    struct synack_event ev;
    unsigned acceptable = 0;
    while (synack_stack_next_event(p->s, &ev) == 0)
        if (ev.type == SYNACK_EV_ACCEPTABLE) acceptable++;
    return acceptable;
}

void fz_handshake(struct fz_peer *p, uint16_t lport, uint16_t rport, bool ts, bool sack, int wscale)
{
    struct fz_tuple *t = fz_tuple(p, lport, rport);
    if (!t) return;
    uint32_t iss = 7000u + rport;
    struct wire_tcp_repr syn = {.src_port = rport,
                                .dst_port = lport,
                                .seq = iss,
                                .flags = WIRE_TCP_SYN,
                                .window = 65535,
                                .has_mss = true,
                                .mss = 1460,
                                .has_wscale = wscale >= 0,
                                .wscale = (uint8_t)(wscale >= 0 ? wscale : 0),
                                .sack_permitted = sack,
                                .has_ts = ts,
                                .ts_val = t->peer_tsval};
    fz_send(p, &syn);
    fz_drain(p);
    struct wire_tcp_repr ack = {.src_port = rport,
                                .dst_port = lport,
                                .seq = iss + 1,
                                .ack = t->stack_nxt,
                                .flags = WIRE_TCP_ACK,
                                .window = 65535,
                                .has_ts = ts,
                                .ts_val = ++t->peer_tsval,
                                .ts_ecr = t->stack_tsval};
    fz_send(p, &ack);
    fz_drain(p);
}

void fz_check(const char *target, bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "fuzz_%s: %s\n", target, what);
    abort();
}

void fz_repair_ipv4_header(uint8_t *pkt, size_t len)
{
    size_t ihl = len > 0 ? (size_t)(pkt[0] & 0xf) * 4 : 0;
    if (len == 0 || len > UINT16_MAX || (pkt[0] >> 4) != 4 || ihl < WIRE_IPV4_HDR_LEN || ihl > len)
        return;
    pkt[2] = (uint8_t)(len >> 8);
    pkt[3] = (uint8_t)len;
    pkt[10] = pkt[11] = 0;
    uint16_t sum = wire_csum_finish(wire_csum_add(0, pkt, ihl));
    pkt[10] = (uint8_t)(sum >> 8);
    pkt[11] = (uint8_t)sum;
}
