/*
 * IP fragment reassembly (src/ip/frag.c) under arbitrary sequences of fragments, time and
 * fragmentation plans.
 *
 * Input: 3 bytes of scene, then 7-byte records.
 *   scene: [cap] mem_cap = 1 KiB * (1 + cap); [max] max_datagrams = 1 + max % 64;
 *          [flags] bit 0: short timeouts (IPv4 1 s, IPv6 2 s) instead of 30 s / 60 s
 *   record: [ctl] [id] [off u16] [len u16] [step]
 *     ctl bit 0: IPv6; bits 1-2: source (one of 4); bit 3: protocol TCP instead of UDP (part
 *         of the IPv4 key only); bit 4: more fragments; bit 5: the other byte pattern (a
 *         fragment whose bytes differ from its twin's); bit 6: `off` is a byte offset as it
 *         is (maybe not a multiple of 8) instead of 8-byte units; bit 7: longer headers (IPv4
 *         IHL 15, IPv6 16 bytes of extension headers before the Fragment header)
 *     id: Identification (IPv6: id << 16 | id, so ids differing above 16 bits occur)
 *     len: data bytes (taken from a table: byte p of a datagram is a function of its key,
 *         p and the pattern bit, so any reassembled byte can be checked)
 *     step: bits 0-2 advance the clock by 0, 1 ms, 1 s, 10 s, to the next deadline, 29 s,
 *         61 s, or 0; bit 3: skip ip_reasm_expire; bits 4-7 all set: instead of a fragment,
 *         plan the fragmentation of `len` bytes under an MTU of `off` and check the pieces
 *
 * Checked after every call: the charge is within the cap and the allocator within the
 * charge (the allocator aborts past the cap plus the fixed buffers); the counters agree
 * with the statuses returned; a completed datagram is as long as the last fragment said
 * and every byte is one its fragments carried at that place; an expired datagram's first
 * fragment is at offset 0 with the bytes given; the next deadline is in the future; after
 * ip_reasm_free nothing is held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "ip/frag.h"

#define KEYS (2 * 4 * 2 * 256)

struct harness {
    struct ip_reasm r;
    struct ip_reasm_config cfg;
    struct fz_mem mem;
    synack_time_t now;
    int32_t declared_end[KEYS]; /* per key: the end the last accepted last fragment gave */
    uint64_t calls, held, complete, duplicate, dropped, dropped_evicted;
};

struct rec {
    uint8_t ctl, id, step;
    uint16_t off, len;
};

static uint32_t key_index(const struct rec *x)
{
    bool six = x->ctl & 1;
    uint32_t src = (x->ctl >> 1) & 3, proto = six ? 0 : (x->ctl >> 3) & 1;
    return (((uint32_t)six * 4 + src) * 2 + proto) * 256 + x->id;
}

/* The bytes fragments carry: byte p of the datagram named by key k, in pattern w, is
 * bytes[w][p + k % 251], so a fragment's data is a pointer into this table (no copying) and
 * any reassembled byte can be checked. Filled once; read only afterwards. */
#define PATTERN_LEN (2 * (IP_REASM_MAX_DATA + 1) + 256)
static uint8_t pattern_bytes[2][PATTERN_LEN];

static void pattern_fill(void)
{
    for (uint32_t w = 0; w < 2; w++) {
        for (uint32_t x = 0; x < PATTERN_LEN; x++)
            pattern_bytes[w][x] = (uint8_t)(x * 31 + (x >> 8) * 7 + w * 101);
    }
}

static const uint8_t *pattern(uint32_t k, uint32_t p, unsigned w)
{
    return &pattern_bytes[w][p + k % 251];
}

static struct wire_ip_repr repr_of(const struct rec *x)
{
    struct wire_ip_repr ip = {0};
    bool six = x->ctl & 1, big = x->ctl & 0x80;
    uint8_t src = (uint8_t)((x->ctl >> 1) & 3);
    if (six) {
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)(10 + src)};
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        ip.src = synack_addr_v6(a);
        ip.dst = synack_addr_v6(b);
        ip.frag.id = (uint32_t)x->id << 16 | x->id;
        ip.frag.unfrag_len = big ? 56 : 40;
        ip.header_len = (uint16_t)(ip.frag.unfrag_len + 8);
    } else {
        ip.src = synack_addr_v4(0xc6120010u + src);
        ip.dst = synack_addr_v4(FZ_LOCAL);
        ip.frag.id = x->id;
        ip.header_len = big ? 60 : 20;
        ip.frag.unfrag_len = ip.header_len;
    }
    ip.proto = (x->ctl & 8) ? WIRE_IP_PROTO_TCP : WIRE_IP_PROTO_UDP;
    ip.ttl = 64;
    ip.frag.present = true;
    ip.frag.more = x->ctl & 0x10;
    ip.frag.offset = (x->ctl & 0x40) ? x->off : (uint16_t)((x->off & 0x1fff) * 8);
    ip.payload_len = x->len;
    return ip;
}

static void check_memory(struct harness *h)
{
    struct ip_reasm_stats st;
    ip_reasm_stats(&h->r, &st);
    fz_check("frag", st.bytes_held <= st.mem_cap, "the charge passed the cap");
    fz_check("frag", h->mem.live <= st.fixed_bytes + st.bytes_held,
             "the allocator holds more than charged");
    fz_check("frag", st.datagrams <= st.max_datagrams, "more datagrams than max_datagrams");
    fz_check("frag", st.dead <= st.datagrams, "more dead records than records");
    fz_check("frag",
             st.bytes_held >=
                 st.datagrams * IP_REASM_DGRAM_OVERHEAD + st.frags * IP_REASM_FRAG_OVERHEAD,
             "the charge is below the records held");
    const struct ip_reasm_counters *c = ip_reasm_counters(&h->r);
    fz_check("frag", c->frags_in == h->calls, "frags_in differs from the calls");
    fz_check("frag", c->duplicates == h->duplicate, "duplicates differ from the statuses");
    fz_check("frag", c->reassembled + c->atomic == h->complete,
             "completions differ from the statuses");
    fz_check("frag",
             c->malformed + c->overlap_frags + c->no_memory + h->dropped_evicted == h->dropped,
             "drops differ from the statuses");
    fz_check("frag", c->evictions >= h->dropped_evicted, "an evicted fragment without an eviction");
}

static void check_bytes(uint32_t k, const uint8_t *p, size_t len, const char *what)
{
    const uint8_t *a = pattern(k, 0, 0), *b = pattern(k, 0, 1);
    for (size_t i = 0; i < len; i++)
        fz_check("frag", p[i] == a[i] || p[i] == b[i], what);
}

/* The key index of a repr made by repr_of. */
static uint32_t key_of_repr(const struct wire_ip_repr *ip)
{
    struct rec x = {0};
    bool six = ip->src.family == SYNACK_AF_INET6;
    x.ctl =
        (uint8_t)((six ? 1 : 0) | (six ? ip->src.bytes[15] - 10 : ip->src.bytes[3] - 0x10) << 1 |
                  (ip->proto == WIRE_IP_PROTO_TCP ? 8 : 0));
    x.id = (uint8_t)ip->frag.id;
    return key_index(&x);
}

static void expire_all(struct harness *h)
{
    struct ip_reasm_expired e;
    while (ip_reasm_expire(&h->r, h->now, &e) == 1) {
        if (e.has_first) {
            fz_check("frag", e.first.frag.offset == 0 && e.first_len > 0 && e.first_data,
                     "an expired first fragment that is not one");
            check_bytes(key_of_repr(&e.first), e.first_data, e.first_len,
                        "an expired first fragment with bytes it did not carry");
        }
        check_memory(h);
    }
    fz_check("frag", ip_reasm_next_deadline(&h->r) > h->now, "a deadline passed after expiry");
}

static void advance(struct harness *h, uint8_t step)
{
    static const synack_time_t by[8] = {0, SYNACK_MS(1), SYNACK_S(1),  SYNACK_S(10),
                                        0, SYNACK_S(29), SYNACK_S(61), 0};
    unsigned code = step & 7;
    if (code == 4) {
        synack_time_t d = ip_reasm_next_deadline(&h->r);
        if (d != SYNACK_NEVER && d > h->now) h->now = d;
    } else {
        h->now += by[code];
    }
    if (!(step & 8)) expire_all(h);
}

static void input(struct harness *h, const struct rec *x)
{
    uint32_t k = key_index(x);
    struct wire_ip_repr ip = repr_of(x);
    size_t len = x->len;
    const uint8_t *data = pattern(k, ip.frag.offset, (x->ctl >> 5) & 1);
    struct ip_reasm_result out;
    enum ip_reasm_status st = ip_reasm_input(&h->r, &ip, data, len, h->now, &out);
    h->calls++;
    fz_check("frag", st == out.status, "the status returned is not out->status");
    bool atomic = ip.frag.offset == 0 && !ip.frag.more;
    switch (st) {
    case IP_REASM_HELD:
        h->held++;
        if (!ip.frag.more) h->declared_end[k] = ip.frag.offset + x->len;
        break;
    case IP_REASM_DUPLICATE:
        h->duplicate++;
        break;
    case IP_REASM_DROPPED:
        h->dropped++;
        if (out.drop == SYNACK_DROP_FRAG_EVICTED) h->dropped_evicted++;
        fz_check("frag",
                 out.drop == SYNACK_DROP_FRAG_MALFORMED || out.drop == SYNACK_DROP_FRAG_OVERLAP ||
                     out.drop == SYNACK_DROP_FRAG_EVICTED || out.drop == SYNACK_DROP_NO_MEMORY,
                 "a drop reason that is not a fragment's");
        break;
    case IP_REASM_COMPLETE:
        h->complete++;
        if (atomic) {
            fz_check("frag", out.data == data && out.len == len,
                     "an atomic fragment not passed through");
            break;
        }
        if (!ip.frag.more) h->declared_end[k] = ip.frag.offset + x->len;
        fz_check("frag", out.len > 0 && (int32_t)out.len == h->declared_end[k],
                 "a datagram of another length than its last fragment said");
        check_bytes(k, out.data, out.len, "a reassembled byte no fragment carried there");
        fz_check("frag", !out.ip.frag.present && out.ip.payload_len == out.len,
                 "the whole datagram's repr");
        h->declared_end[k] = -1;
        break;
    }
    check_memory(h);
}

/* Plans `len` bytes under an MTU of `off` and checks every piece (RFC 791 §3.2, RFC 8200
 * §4.5). */
static void plan(const struct rec *x)
{
    bool six = x->ctl & 1;
    size_t hdr = six ? 40 + 8 * (x->id % 8) : 20 + 4 * (x->id % 11);
    struct ip_frag_plan p;
    if (ip_frag_plan_init(&p, six ? SYNACK_AF_INET6 : SYNACK_AF_INET, x->len, x->off, hdr) != 0)
        return;
    size_t per = hdr + (six && p.fragmented ? IP_FRAG_V6_HEADER_LEN : 0);
    struct ip_frag_piece piece;
    size_t next = 0;
    unsigned count = 0;
    bool last = false;
    while (ip_frag_next(&p, &piece)) {
        fz_check("frag", !last && piece.offset == next && piece.offset % 8 == 0,
                 "a piece out of place");
        fz_check("frag", per + piece.len <= x->off, "a piece past the MTU");
        fz_check("frag", !piece.more || (piece.len > 0 && piece.len % 8 == 0),
                 "a piece not a multiple of 8");
        last = !piece.more;
        next += piece.len;
        count++;
        fz_check("frag", count <= 65536, "a plan without end");
    }
    fz_check("frag", last && next == x->len && count == p.count, "pieces that do not add up");
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    static struct harness h;
    if (pattern_bytes[1][1] == 0) pattern_fill();
    struct fz_in in = {bytes, size};
    memset(&h.r, 0, sizeof h.r);
    h.now = 0;
    h.calls = h.held = h.complete = h.duplicate = h.dropped = h.dropped_evicted = 0;
    for (size_t i = 0; i < KEYS; i++)
        h.declared_end[i] = -1;
    ip_reasm_config_default(&h.cfg);
    h.cfg.mem_cap = 1024 * (1 + (size_t)fz_u8(&in));
    h.cfg.max_datagrams = 1 + fz_u8(&in) % 64;
    if (fz_u8(&in) & 1) {
        h.cfg.timeout_v4 = SYNACK_S(1);
        h.cfg.timeout_v6 = SYNACK_S(2);
    }
    /* The fixed buffers (64 buckets at most, the assembly buffer) and the cap: one byte
     * more is unbounded growth. */
    struct synack_config hooks = {0};
    fz_mem_hook(&hooks, &h.mem, h.cfg.mem_cap + IP_REASM_MAX_DATA + 64 * sizeof(void *));
    h.cfg.alloc = hooks.alloc;
    h.cfg.free = hooks.free;
    h.cfg.alloc_ctx = hooks.alloc_ctx;
    fz_check("frag", ip_reasm_init(&h.r, &h.cfg) == 0, "init refused a valid config");
    while (in.n >= 7) {
        struct rec x;
        x.ctl = fz_u8(&in);
        x.id = fz_u8(&in);
        x.off = fz_u16(&in);
        x.len = fz_u16(&in);
        x.step = fz_u8(&in);
        if ((x.step & 0xf0) == 0xf0) {
            plan(&x);
            continue;
        }
        advance(&h, x.step);
        input(&h, &x);
    }
    ip_reasm_free(&h.r);
    fz_check("frag", h.mem.live == 0, "memory held after ip_reasm_free");
    return 0;
}
