/* ip/frag: reassembly (RFC 791 §3.2, RFC 1122 §3.3.2, RFC 8200 §4.5, RFC 5722) and the
 * fragmentation plan, on reprs and byte arrays: orders, duplicates, overlaps, timeouts, the
 * memory cap, malformed fragments, keys, and a round trip through both. */
#include "harness.h"

#include <string.h>

#include "base/rand.h"
#include "ip/frag.h"

#define V4_A 0xc6120001u /* 198.18.0.1 */
#define V4_B 0xc6120002u /* 198.18.0.2 */
#define V4_C 0xc6120003u /* 198.18.0.3 */
#define MAX_PIECES 8192

/* ---- fixture: a reassembler over a counting allocator ------------------------------------ */

struct fx {
    struct test_mem mem;
    struct ip_reasm r;
    struct ip_reasm_config cfg;
};

static void fx_init_with(struct fx *fx, const struct ip_reasm_config *cfg)
{
    memset(&fx->mem, 0, sizeof fx->mem);
    fx->cfg = *cfg;
    fx->cfg.alloc = test_mem_alloc;
    fx->cfg.free = test_mem_free;
    fx->cfg.alloc_ctx = &fx->mem;
    assert_int_equal(ip_reasm_init(&fx->r, &fx->cfg), 0);
}

static void fx_init(struct fx *fx)
{
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    fx_init_with(fx, &cfg);
}

/* What the allocator holds beyond the fixed buffers never exceeds the charge, which never
 * exceeds the cap. */
static void fx_check_memory(const struct fx *fx)
{
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx->r, &st);
    assert_true(st.bytes_held <= st.mem_cap);
    assert_true(fx->mem.live <= st.fixed_bytes + st.bytes_held);
    assert_true(st.datagrams <= st.max_datagrams);
}

static void fx_finish(struct fx *fx)
{
    fx_check_memory(fx);
    ip_reasm_free(&fx->r);
    assert_int_equal(fx->mem.live, 0);
}

/* ---- fragments ------------------------------------------------------------------------------ */

static struct wire_ip_repr v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t id)
{
    struct wire_ip_repr ip = {0};
    ip.src = synack_addr_v4(src);
    ip.dst = synack_addr_v4(dst);
    ip.proto = proto;
    ip.ttl = 64;
    ip.tos = 0x10;
    ip.header_len = WIRE_IPV4_HDR_LEN;
    ip.frag.present = true;
    ip.frag.id = id;
    ip.frag.unfrag_len = WIRE_IPV4_HDR_LEN;
    return ip;
}

static struct synack_addr v6_addr(uint8_t last)
{
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = last};
    return synack_addr_v6(b);
}

static struct wire_ip_repr v6(uint8_t src, uint8_t dst, uint32_t id)
{
    struct wire_ip_repr ip = {0};
    ip.src = v6_addr(src);
    ip.dst = v6_addr(dst);
    ip.proto = WIRE_IP_PROTO_UDP;
    ip.ttl = 64;
    ip.flow_label = 0x12345;
    ip.header_len = 48; /* the fixed header and the Fragment header */
    ip.frag.present = true;
    ip.frag.id = id;
    ip.frag.unfrag_len = 40;
    return ip;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + i / 251 + seed);
}

/* Gives [off, off + len) of `data` as a fragment of `base`. */
static enum ip_reasm_status give(struct fx *fx, const struct wire_ip_repr *base,
                                 const uint8_t *data, size_t off, size_t len, bool more,
                                 synack_time_t now, struct ip_reasm_result *out)
{
    struct wire_ip_repr ip = *base;
    ip.frag.offset = (uint16_t)off;
    ip.frag.more = more;
    ip.payload_len = (uint16_t)len;
    enum ip_reasm_status st = ip_reasm_input(&fx->r, &ip, data + off, len, now, out);
    assert_int_equal(st, out->status);
    fx_check_memory(fx);
    return st;
}

static void expect_complete(const struct ip_reasm_result *out, const uint8_t *data, size_t len)
{
    assert_int_equal(out->status, IP_REASM_COMPLETE);
    assert_int_equal(out->len, len);
    assert_memory_equal(out->data, data, len);
    assert_int_equal(out->ip.payload_len, len);
    assert_false(out->ip.frag.present);
}

struct piece {
    uint32_t off, len;
    bool more;
};

/* Cuts `total` bytes into pieces of `size` (a multiple of 8) and a last one. */
static size_t cut(struct piece *p, size_t total, size_t size)
{
    size_t n = 0;
    for (size_t off = 0; off < total; off += size, n++) {
        p[n].off = (uint32_t)off;
        p[n].len = (uint32_t)(total - off < size ? total - off : size);
        p[n].more = off + size < total;
    }
    return n;
}

static void shuffle(struct piece *p, size_t n, struct rand_pcg *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rand_below(rng, (uint32_t)i);
        struct piece t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

/* Feeds every piece; the last one given completes the datagram, none before it. */
static void feed_all(struct fx *fx, const struct wire_ip_repr *base, const uint8_t *data,
                     size_t total, const struct piece *p, size_t n)
{
    struct ip_reasm_result out;
    for (size_t i = 0; i < n; i++) {
        enum ip_reasm_status st = give(fx, base, data, p[i].off, p[i].len, p[i].more, 0, &out);
        if (i + 1 < n) {
            assert_int_equal(st, IP_REASM_HELD);
        } else {
            expect_complete(&out, data, total);
        }
    }
}

/* ---- orders ------------------------------------------------------------------------------- */

static void in_order_fragments_reassemble_rfc791_3_2(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[4000];
    fill(data, sizeof data, 1);
    struct piece p[8];
    size_t n = cut(p, sizeof data, 1480);
    struct wire_ip_repr ip = v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 77);
    feed_all(&fx, &ip, data, sizeof data, p, n);
    const struct ip_reasm_counters *c = ip_reasm_counters(&fx.r);
    assert_int_equal(c->reassembled, 1);
    assert_int_equal(c->frags_held, n);
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 0);
    assert_int_equal(st.bytes_held, 0);
    fx_finish(&fx);
}

static void first_fragment_header_describes_the_datagram(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[24];
    fill(data, sizeof data, 2);
    struct wire_ip_repr ip = v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 9);
    struct ip_reasm_result out;
    /* The last fragment first, with another TTL: the first fragment's header wins. */
    struct wire_ip_repr later = ip;
    later.ttl = 3;
    assert_int_equal(give(&fx, &later, data, 16, 8, false, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, data, 0, 8, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &later, data, 8, 8, true, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, sizeof data);
    assert_int_equal(out.ip.ttl, 64);
    assert_int_equal(out.ip.tos, 0x10);
    assert_int_equal(out.ip.proto, WIRE_IP_PROTO_UDP);
    assert_int_equal(synack_addr_v4_value(&out.ip.src), V4_A);
    assert_int_equal(synack_addr_v4_value(&out.ip.dst), V4_B);
    assert_int_equal(out.ip.frag.id, 9);
    fx_finish(&fx);
}

static void reversed_fragments_reassemble_both_families(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    static uint8_t data[65000];
    fill(data, sizeof data, 3);
    static struct piece p[MAX_PIECES];
    size_t n = cut(p, sizeof data, 1232);
    for (size_t i = 0; i < n / 2; i++) {
        struct piece t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
    struct wire_ip_repr ip4 = v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 1);
    feed_all(&fx, &ip4, data, sizeof data, p, n);
    struct wire_ip_repr ip6 = v6(1, 2, 0xdeadbeef);
    feed_all(&fx, &ip6, data, sizeof data, p, n);
    assert_int_equal(ip_reasm_counters(&fx.r)->reassembled, 2);
    fx_finish(&fx);
}

static void shuffled_fragments_reassemble_seeded(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    static uint8_t data[30000];
    static struct piece p[MAX_PIECES];
    struct rand_pcg rng;
    rand_seed(&rng, 20240601, 1);
    for (unsigned seed = 0; seed < 200; seed++) {
        size_t total = 1 + rand_below(&rng, sizeof data);
        size_t size = 8 * (1 + rand_below(&rng, 200));
        fill(data, total, (uint8_t)seed);
        size_t n = cut(p, total, size);
        shuffle(p, n, &rng);
        struct wire_ip_repr ip =
            seed % 2 ? v6(1, 2, seed) : v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, (uint16_t)seed);
        feed_all(&fx, &ip, data, total, p, n);
    }
    assert_int_equal(ip_reasm_counters(&fx.r)->reassembled + ip_reasm_counters(&fx.r)->atomic, 200);
    fx_finish(&fx);
}

/* ---- duplicates and overlaps ---------------------------------------------------------------- */

/* RFC 8200 §4.5: an exact duplicate may be dropped alone, keeping the datagram. */
static void exact_duplicate_is_ignored_rfc8200_4_5(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[3000];
    fill(data, sizeof data, 4);
    for (int fam = 0; fam < 2; fam++) {
        struct wire_ip_repr ip = fam ? v6(1, 2, 5) : v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 5);
        struct ip_reasm_result out;
        assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 0, &out), IP_REASM_HELD);
        assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 0, &out), IP_REASM_DUPLICATE);
        assert_int_equal(give(&fx, &ip, data, 2000, 1000, false, 0, &out), IP_REASM_HELD);
        assert_int_equal(give(&fx, &ip, data, 2000, 1000, false, 0, &out), IP_REASM_DUPLICATE);
        assert_int_equal(give(&fx, &ip, data, 1000, 1000, true, 0, &out), IP_REASM_COMPLETE);
        expect_complete(&out, data, sizeof data);
    }
    assert_int_equal(ip_reasm_counters(&fx.r)->duplicates, 4);
    assert_int_equal(ip_reasm_counters(&fx.r)->overlaps, 0);
    fx_finish(&fx);
}

/* Same place, other bytes: the ambiguity RFC 5722 §4 exists to refuse. */
static void same_place_other_bytes_is_an_overlap_rfc5722_4(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[2000], other[2000];
    fill(data, sizeof data, 5);
    memcpy(other, data, sizeof other);
    other[500] ^= 0xff;
    struct wire_ip_repr ip = v4(V4_A, V4_B, WIRE_IP_PROTO_TCP, 6);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, other, 0, 1000, true, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_OVERLAP);
    /* Same bytes, but now the fragment says it is the last: not an exact duplicate. */
    struct wire_ip_repr ip2 = v4(V4_A, V4_B, WIRE_IP_PROTO_TCP, 7);
    assert_int_equal(give(&fx, &ip2, data, 1000, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip2, data, 1000, 1000, false, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_OVERLAP);
    assert_int_equal(ip_reasm_counters(&fx.r)->overlaps, 2);
    fx_finish(&fx);
}

/* RFC 5722 §4: the datagram and every fragment of it, held or still to come, are dropped;
 * the fragments that complete the original extent assemble nothing. */
static void check_overlap_drops_everything(struct wire_ip_repr ip, size_t ov_off, size_t ov_len,
                                           bool ov_more)
{
    struct fx fx;
    fx_init(&fx);
    uint8_t data[4000], other[4000];
    fill(data, sizeof data, 6);
    fill(other, sizeof other, 99);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 1000, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, data, 2000, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, other, ov_off, ov_len, ov_more, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_OVERLAP);
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.frags, 0);
    assert_int_equal(st.dead, 1);
    assert_int_equal(st.bytes_held, IP_REASM_DGRAM_OVERHEAD);
    /* Every fragment a complete datagram would need still comes: none is taken. */
    assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 1, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_OVERLAP);
    assert_int_equal(give(&fx, &ip, data, 1000, 1000, true, 1, &out), IP_REASM_DROPPED);
    assert_int_equal(give(&fx, &ip, data, 2000, 1000, true, 1, &out), IP_REASM_DROPPED);
    assert_int_equal(give(&fx, &ip, data, 3000, 1000, false, 1, &out), IP_REASM_DROPPED);
    const struct ip_reasm_counters *c = ip_reasm_counters(&fx.r);
    assert_int_equal(c->overlaps, 1);
    assert_int_equal(c->overlap_frags, 5);
    assert_int_equal(c->reassembled, 0);
    /* The record ends silently at the deadline: no timeout counted, nothing to report. */
    struct ip_reasm_expired e;
    assert_int_equal(ip_reasm_expire(&fx.r, ip_reasm_next_deadline(&fx.r), &e), 0);
    assert_int_equal(c->timeouts, 0);
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 0);
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_NEVER);
    /* After that, the key is free again: a clean datagram goes through. */
    synack_time_t later = SYNACK_S(100);
    assert_int_equal(give(&fx, &ip, data, 2000, 2000, false, later, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, data, 0, 2000, true, later, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, sizeof data);
    fx_finish(&fx);
}

static void partial_overlap_drops_the_datagram_v4_rfc5722_4(void **state)
{
    (void)state;
    /* [1496, 2496) straddles the two fragments held. */
    check_overlap_drops_everything(v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 10), 1496, 1000, true);
    /* [0, 1008) runs 8 bytes into the first. */
    check_overlap_drops_everything(v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 11), 0, 1008, true);
}

static void partial_overlap_drops_the_datagram_v6_rfc5722_4(void **state)
{
    (void)state;
    check_overlap_drops_everything(v6(1, 2, 10), 1496, 1000, true);
    /* A last fragment reaching back into the second one. */
    check_overlap_drops_everything(v6(1, 2, 11), 2992, 1008, false);
}

static void full_overlap_drops_the_datagram_both_families_rfc5722_4(void **state)
{
    (void)state;
    /* One fragment covering both held ones, and one lying inside a held one. */
    check_overlap_drops_everything(v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 12), 1000, 2000, true);
    check_overlap_drops_everything(v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 13), 1200, 400, true);
    check_overlap_drops_everything(v6(1, 2, 12), 1000, 2000, true);
    check_overlap_drops_everything(v6(1, 2, 13), 1200, 400, true);
}

/* ---- time ------------------------------------------------------------------------------------ */

/* RFC 1122 §3.3.2: the datagram is discarded and, fragment zero being there, an ICMP time
 * exceeded is owed: the first fragment's header and data are handed out. */
static void timeout_hands_out_the_first_fragment_rfc1122_3_3_2(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[3000];
    fill(data, sizeof data, 7);
    synack_time_t t0 = SYNACK_S(5);
    struct wire_ip_repr ip = v4(V4_A, V4_B, WIRE_IP_PROTO_UDP, 20);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 1480, 1480, true, t0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, data, 0, 1480, true, t0 + SYNACK_S(10), &out), IP_REASM_HELD);
    /* The deadline runs from the first-arriving fragment. */
    assert_int_equal(ip_reasm_next_deadline(&fx.r), t0 + SYNACK_S(30));
    struct ip_reasm_expired e;
    assert_int_equal(ip_reasm_expire(&fx.r, t0 + SYNACK_S(30) - 1, &e), 0);
    assert_int_equal(ip_reasm_expire(&fx.r, t0 + SYNACK_S(30), &e), 1);
    assert_int_equal(e.family, SYNACK_AF_INET);
    assert_true(e.has_first);
    assert_int_equal(e.first.frag.offset, 0);
    assert_true(e.first.frag.more);
    assert_int_equal(e.first.frag.id, 20);
    assert_int_equal(synack_addr_v4_value(&e.first.src), V4_A);
    assert_int_equal(e.first_len, 1480);
    assert_memory_equal(e.first_data, data, 1480);
    assert_int_equal(ip_reasm_counters(&fx.r)->timeouts, 1);
    /* Only the first fragment is kept, on loan until the next call or ip_reasm_release. */
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 1);
    assert_int_equal(st.bytes_held, IP_REASM_DGRAM_OVERHEAD + IP_REASM_FRAG_OVERHEAD + 1480);
    ip_reasm_release(&fx.r);
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 0);
    assert_int_equal(st.bytes_held, 0);
    /* Counted once: nothing more is due. */
    assert_int_equal(ip_reasm_expire(&fx.r, t0 + SYNACK_S(60), &e), 0);
    assert_int_equal(ip_reasm_counters(&fx.r)->timeouts, 1);
    fx_finish(&fx);
}

/* RFC 792: "If fragment zero is not available then no time exceeded need be sent at all";
 * RFC 8200 §4.5: only if the first fragment was received. IPv6 waits 60 s. */
static void timeout_without_first_fragment_owes_no_icmp_rfc8200_4_5(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[3000];
    fill(data, sizeof data, 8);
    struct wire_ip_repr ip = v6(1, 2, 21);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 1232, 1000, false, 0, &out), IP_REASM_HELD);
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_S(60));
    struct ip_reasm_expired e;
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(59), &e), 0);
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(60), &e), 1);
    assert_int_equal(e.family, SYNACK_AF_INET6);
    assert_false(e.has_first);
    assert_null(e.first_data);
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(60), &e), 0);
    assert_int_equal(ip_reasm_counters(&fx.r)->timeouts, 1);
    fx_finish(&fx);
}

static void deadlines_are_earliest_first_across_families(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[16];
    fill(data, sizeof data, 9);
    struct ip_reasm_result out;
    struct wire_ip_repr a6 = v6(1, 2, 1), b4 = v4(V4_A, V4_B, 17, 1), c4 = v4(V4_A, V4_B, 17, 2);
    assert_int_equal(give(&fx, &a6, data, 0, 8, true, SYNACK_S(0), &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &b4, data, 8, 8, false, SYNACK_S(10), &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &c4, data, 8, 8, false, SYNACK_S(40), &out), IP_REASM_HELD);
    /* IPv4 at 10 + 30 = 40 s comes before IPv6 at 0 + 60 s, though it arrived later. */
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_S(40));
    struct ip_reasm_expired e;
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(100), &e), 1);
    assert_int_equal(e.family, SYNACK_AF_INET);
    assert_false(e.has_first);
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(100), &e), 1);
    assert_int_equal(e.family, SYNACK_AF_INET6);
    assert_true(e.has_first);
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(100), &e), 1);
    assert_int_equal(e.family, SYNACK_AF_INET);
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(100), &e), 0);
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_NEVER);
    assert_int_equal(ip_reasm_counters(&fx.r)->timeouts, 3);
    fx_finish(&fx);
}

static void timeouts_are_configurable(void **state)
{
    (void)state;
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    assert_int_equal(cfg.timeout_v4, SYNACK_S(30));
    assert_int_equal(cfg.timeout_v6, SYNACK_S(60));
    assert_int_equal(cfg.mem_cap, 256 * 1024);
    cfg.timeout_v4 = SYNACK_S(15);
    cfg.timeout_v6 = SYNACK_S(90);
    struct fx fx;
    fx_init_with(&fx, &cfg);
    uint8_t data[8] = {0};
    struct ip_reasm_result out;
    struct wire_ip_repr a = v4(V4_A, V4_B, 17, 1), b = v6(1, 2, 1);
    give(&fx, &b, data, 0, 8, true, 0, &out);
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_S(90));
    give(&fx, &a, data, 0, 8, true, 0, &out);
    assert_int_equal(ip_reasm_next_deadline(&fx.r), SYNACK_S(15));
    fx_finish(&fx);
}

/* ---- memory ---------------------------------------------------------------------------------- */

/* A flood of first fragments of distinct datagrams: the charge never passes the cap, nor the
 * allocator the charge; the oldest go first, each counted once. */
static void memory_cap_holds_under_a_flood_of_first_fragments(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[1480];
    fill(data, sizeof data, 10);
    const size_t per = IP_REASM_DGRAM_OVERHEAD + IP_REASM_FRAG_OVERHEAD + sizeof data;
    const size_t fit = fx.cfg.mem_cap / per;
    struct ip_reasm_result out;
    for (uint32_t i = 0; i < 20000; i++) {
        struct wire_ip_repr ip = i % 3 ? v4(V4_A + i, V4_B, 17, (uint16_t)i) : v6(3, 4, i);
        assert_int_equal(give(&fx, &ip, data, 0, sizeof data, true, i, &out), IP_REASM_HELD);
        struct ip_reasm_stats st;
        ip_reasm_stats(&fx.r, &st);
        assert_true(st.bytes_held <= fx.cfg.mem_cap);
        assert_int_equal(st.datagrams, i + 1 < fit ? i + 1 : fit);
    }
    assert_true(fx.mem.peak <= fx.cfg.mem_cap + 65535 + 4096);
    assert_int_equal(ip_reasm_counters(&fx.r)->evictions, 20000 - fit);
    /* The ones left are the newest: the oldest still held is number 20000 - fit. */
    uint32_t oldest = 20000 - (uint32_t)fit;
    struct wire_ip_repr gone =
        oldest % 3 ? v4(V4_A + oldest - 1, V4_B, 17, (uint16_t)(oldest - 1)) : v6(3, 4, oldest - 1);
    struct wire_ip_repr kept =
        oldest % 3 ? v4(V4_A + oldest, V4_B, 17, (uint16_t)oldest) : v6(3, 4, oldest);
    uint8_t tail[8] = {0};
    struct wire_ip_repr g = gone, k = kept;
    g.frag.offset = k.frag.offset = sizeof data;
    g.frag.more = k.frag.more = false;
    assert_int_equal(ip_reasm_input(&fx.r, &k, tail, 8, 20000, &out), IP_REASM_COMPLETE);
    assert_int_equal(out.len, sizeof data + 8);
    assert_int_equal(ip_reasm_input(&fx.r, &g, tail, 8, 20000, &out), IP_REASM_HELD);
    fx_finish(&fx);
}

static void max_datagrams_evicts_the_oldest(void **state)
{
    (void)state;
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    cfg.max_datagrams = 4;
    struct fx fx;
    fx_init_with(&fx, &cfg);
    uint8_t data[16];
    fill(data, sizeof data, 11);
    struct ip_reasm_result out;
    for (uint16_t id = 0; id < 6; id++) {
        struct wire_ip_repr ip = v4(V4_A, V4_B, 17, id);
        assert_int_equal(give(&fx, &ip, data, 0, 8, true, id, &out), IP_REASM_HELD);
    }
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 4);
    assert_int_equal(ip_reasm_counters(&fx.r)->evictions, 2);
    /* ids 0 and 1 went: their second halves start datagrams of their own. */
    struct wire_ip_repr old = v4(V4_A, V4_B, 17, 1), young = v4(V4_A, V4_B, 17, 2);
    assert_int_equal(give(&fx, &young, data, 8, 8, false, 6, &out), IP_REASM_COMPLETE);
    assert_int_equal(give(&fx, &old, data, 8, 8, false, 7, &out), IP_REASM_HELD);
    fx_finish(&fx);
}

/* A datagram that alone outgrows the cap is dropped (evicted, counted once), evicting
 * nobody for the fragment that would not fit. */
static void datagram_bigger_than_the_cap_is_dropped_alone(void **state)
{
    (void)state;
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    cfg.mem_cap = 8192;
    struct fx fx;
    fx_init_with(&fx, &cfg);
    static uint8_t data[20000];
    fill(data, sizeof data, 12);
    struct ip_reasm_result out;
    struct wire_ip_repr small = v6(1, 2, 1), big = v6(1, 2, 2);
    assert_int_equal(give(&fx, &small, data, 0, 1000, true, 0, &out), IP_REASM_HELD);
    enum ip_reasm_status st = IP_REASM_HELD;
    size_t off = 0;
    /* 2032 bytes charged a fragment: three fit beside the small datagram, a fourth would
     * take the big one alone past 8192. */
    for (; st == IP_REASM_HELD; off += 2000)
        st = give(&fx, &big, data, off, 2000, true, 1, &out);
    assert_int_equal(off, 8000);
    assert_int_equal(st, IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_EVICTED);
    assert_int_equal(ip_reasm_counters(&fx.r)->evictions, 1);
    /* The small one is still there. */
    assert_int_equal(give(&fx, &small, data, 1000, 10, false, 2, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, 1010);
    /* One fragment bigger than the cap. */
    assert_int_equal(give(&fx, &big, data, 0, 8192, true, 3, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_EVICTED);
    assert_int_equal(ip_reasm_counters(&fx.r)->evictions, 2);
    fx_finish(&fx);
}

static void free_releases_everything_held_or_lent(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[4000];
    fill(data, sizeof data, 13);
    struct ip_reasm_result out;
    for (uint16_t id = 0; id < 10; id++) {
        struct wire_ip_repr ip = v4(V4_A, V4_B, 17, id);
        give(&fx, &ip, data, 0, 1000, true, 0, &out);
        give(&fx, &ip, data, 2000, 1000, true, 0, &out);
    }
    struct wire_ip_repr dead = v6(1, 2, 3);
    give(&fx, &dead, data, 0, 1000, true, 0, &out);
    give(&fx, &dead, data, 0, 1008, true, 0, &out);
    struct ip_reasm_expired e;
    assert_int_equal(ip_reasm_expire(&fx.r, SYNACK_S(30), &e), 1);
    assert_true(e.has_first); /* lent until the next call: free takes it too */
    fx_finish(&fx);
    /* A second free, and a free of a zeroed reassembler, do nothing. */
    ip_reasm_free(&fx.r);
    struct ip_reasm zero;
    memset(&zero, 0, sizeof zero);
    ip_reasm_free(&zero);
}

/* An allocator that grants `allow` more blocks, then refuses (SIZE_MAX: never refuses). */
struct stingy {
    struct test_mem mem;
    size_t allow;
};

static void *stingy_alloc(void *ctx, size_t size)
{
    struct stingy *s = ctx;
    if (s->allow == 0) return NULL;
    if (s->allow != SIZE_MAX) s->allow--;
    return test_mem_alloc(&s->mem, size);
}

static void stingy_free(void *ctx, void *ptr)
{
    test_mem_free(&((struct stingy *)ctx)->mem, ptr);
}

/* A refused allocation drops the fragment (SYNACK_DROP_NO_MEMORY), leaks nothing and leaves
 * what is held as it was; init fails cleanly. */
static void allocator_refusal_drops_the_fragment_alone(void **state)
{
    (void)state;
    struct stingy s = {{0, 0}, 0};
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    cfg.alloc = stingy_alloc;
    cfg.free = stingy_free;
    cfg.alloc_ctx = &s;
    struct ip_reasm r;
    for (size_t allow = 0; allow < 2; allow++) {
        s.allow = allow;
        assert_int_equal(ip_reasm_init(&r, &cfg), SYNACK_ERR_NOMEM);
        assert_int_equal(s.mem.live, 0);
        ip_reasm_free(&r);
    }
    s.allow = SIZE_MAX;
    assert_int_equal(ip_reasm_init(&r, &cfg), 0);
    size_t fixed = s.mem.live;
    uint8_t data[3000];
    fill(data, sizeof data, 22);
    struct wire_ip_repr one = v4(V4_A, V4_B, 17, 1), two = v4(V4_A, V4_B, 17, 2);
    struct ip_reasm_result out;
    one.frag.more = true;
    assert_int_equal(ip_reasm_input(&r, &one, data, 1000, 0, &out), IP_REASM_HELD);
    /* The fragment of a datagram in progress, a new datagram's fragment, its record. */
    s.allow = 0;
    one.frag.offset = 1000;
    assert_int_equal(ip_reasm_input(&r, &one, data + 1000, 1000, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_NO_MEMORY);
    two.frag.more = true;
    assert_int_equal(ip_reasm_input(&r, &two, data, 1000, 0, &out), IP_REASM_DROPPED);
    s.allow = 1;
    assert_int_equal(ip_reasm_input(&r, &two, data, 1000, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_NO_MEMORY);
    assert_int_equal(ip_reasm_counters(&r)->no_memory, 3);
    struct ip_reasm_stats st;
    ip_reasm_stats(&r, &st);
    assert_int_equal(st.datagrams, 1);
    assert_int_equal(st.bytes_held, IP_REASM_DGRAM_OVERHEAD + IP_REASM_FRAG_OVERHEAD + 1000);
    assert_true(s.mem.live <= fixed + st.bytes_held);
    /* Once memory is back, the datagram completes. */
    s.allow = SIZE_MAX;
    assert_int_equal(ip_reasm_input(&r, &one, data + 1000, 1000, 0, &out), IP_REASM_HELD);
    one.frag.offset = 2000;
    one.frag.more = false;
    assert_int_equal(ip_reasm_input(&r, &one, data + 2000, 1000, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, sizeof data);
    ip_reasm_free(&r);
    assert_int_equal(s.mem.live, 0);
}

static void bad_config_is_refused(void **state)
{
    (void)state;
    struct ip_reasm r;
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    cfg.max_datagrams = 0;
    assert_int_equal(ip_reasm_init(&r, &cfg), SYNACK_ERR_INVAL);
    ip_reasm_config_default(&cfg);
    cfg.mem_cap = IP_REASM_DGRAM_OVERHEAD;
    assert_int_equal(ip_reasm_init(&r, &cfg), SYNACK_ERR_INVAL);
    ip_reasm_config_default(&cfg);
    cfg.timeout_v6 = 0;
    assert_int_equal(ip_reasm_init(&r, &cfg), SYNACK_ERR_INVAL);
    ip_reasm_config_default(&cfg);
    cfg.alloc = test_mem_alloc;
    assert_int_equal(ip_reasm_init(&r, &cfg), SYNACK_ERR_INVAL);
    assert_int_equal(ip_reasm_init(&r, NULL), 0);
    ip_reasm_free(&r);
}

/* ---- malformed ------------------------------------------------------------------------------ */

static void expect_malformed(struct fx *fx, const struct wire_ip_repr *ip, const uint8_t *data,
                             size_t off, size_t len, bool more)
{
    struct ip_reasm_result out;
    assert_int_equal(give(fx, ip, data, off, len, more, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_MALFORMED);
}

/* RFC 791 §3.1: Total Length is 16 bits, the header included; RFC 8200 §4.5: a fragment
 * that makes the reassembled Payload Length pass 65535 is discarded with a parameter
 * problem pointing at its Fragment Offset. */
static void end_past_65535_is_malformed(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    static uint8_t data[65536 + 64];
    struct wire_ip_repr ip4 = v4(V4_A, V4_B, 17, 1);
    /* 65512 + 8 + 20 = 65540 (the classic ping of death); 65504 + 8 + 20 = 65532 fits. */
    expect_malformed(&fx, &ip4, data, 65512, 8, false);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip4, data, 65504, 8, false, 0, &out), IP_REASM_HELD);
    /* With 40 bytes of options the same end no longer fits. */
    struct wire_ip_repr opt = v4(V4_A, V4_B, 17, 2);
    opt.header_len = 60;
    opt.frag.unfrag_len = 60;
    expect_malformed(&fx, &opt, data, 65480, 8, false);
    /* IPv6: 65528 + 8 = 65536 data bytes, one too many; a destination options header of 16
     * bytes before the Fragment header counts too. */
    struct wire_ip_repr ip6 = v6(1, 2, 3);
    expect_malformed(&fx, &ip6, data, 65528, 8, false);
    give(&fx, &ip6, data, 65528, 8, false, 0, &out);
    assert_true(out.problem.send);
    assert_int_equal(out.problem.code, 0);
    assert_int_equal(out.problem.pointer, 40 + 2);
    assert_int_equal(give(&fx, &ip6, data, 65520, 15, false, 0, &out), IP_REASM_HELD);
    struct wire_ip_repr ext = v6(1, 2, 4);
    ext.frag.unfrag_len = 56;
    expect_malformed(&fx, &ext, data, 65520, 8, false);
    /* A first fragment with options arriving after a far end: the sum is what counts. */
    struct wire_ip_repr late = v4(V4_A, V4_B, 17, 5);
    assert_int_equal(give(&fx, &late, data, 65496, 8, false, 0, &out), IP_REASM_HELD);
    late.header_len = 60;
    expect_malformed(&fx, &late, data, 0, 8, true);
    assert_int_equal(ip_reasm_counters(&fx.r)->malformed, 6);
    fx_finish(&fx);
}

/* RFC 791 §3.2, RFC 8200 §4.5: all but the last fragment carry a multiple of 8 bytes; an
 * IPv6 node answers with a parameter problem pointing at Payload Length. */
static void length_not_multiple_of_8_with_more_is_malformed(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[2000];
    fill(data, sizeof data, 14);
    struct wire_ip_repr ip4 = v4(V4_A, V4_B, 17, 1), ip6 = v6(1, 2, 1);
    expect_malformed(&fx, &ip4, data, 0, 1001, true);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip4, data, 0, 1001, true, 0, &out), IP_REASM_DROPPED);
    assert_false(out.problem.send); /* no parameter problem for IPv4 */
    assert_int_equal(give(&fx, &ip6, data, 8, 1001, true, 0, &out), IP_REASM_DROPPED);
    assert_int_equal(out.drop, SYNACK_DROP_FRAG_MALFORMED);
    assert_true(out.problem.send);
    assert_int_equal(out.problem.pointer, 4);
    /* The last fragment may end anywhere. */
    assert_int_equal(give(&fx, &ip6, data, 8, 1001, false, 0, &out), IP_REASM_HELD);
    fx_finish(&fx);
}

static void contradicting_ends_are_malformed(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[4000];
    fill(data, sizeof data, 15);
    struct wire_ip_repr ip = v4(V4_A, V4_B, 17, 1);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 1000, 1000, false, 0, &out), IP_REASM_HELD);
    expect_malformed(&fx, &ip, data, 2000, 8, true);     /* past the known end */
    expect_malformed(&fx, &ip, data, 1992, 16, true);    /* across it */
    expect_malformed(&fx, &ip, data, 992, 8, false);     /* a second last, another end */
    expect_malformed(&fx, &ip, data, 1000, 1008, false); /* a longer last */
    expect_malformed(&fx, &ip, data, 1992, 8, true);     /* more to come, ending at the end */
    /* A last fragment below data already held. */
    struct wire_ip_repr ip2 = v4(V4_A, V4_B, 17, 2);
    assert_int_equal(give(&fx, &ip2, data, 2000, 1000, true, 0, &out), IP_REASM_HELD);
    expect_malformed(&fx, &ip2, data, 1000, 1000, false);
    /* The datagrams are as they were: they still complete. */
    assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, 2000);
    assert_int_equal(give(&fx, &ip2, data, 0, 2000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip2, data, 3000, 1000, false, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, 4000);
    assert_int_equal(ip_reasm_counters(&fx.r)->malformed, 6);
    fx_finish(&fx);
}

static void empty_and_misaligned_fragments_are_malformed(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[64];
    fill(data, sizeof data, 16);
    struct wire_ip_repr ip = v4(V4_A, V4_B, 17, 1);
    expect_malformed(&fx, &ip, data, 8, 0, true);  /* no data */
    expect_malformed(&fx, &ip, data, 8, 0, false); /* no data, last */
    expect_malformed(&fx, &ip, data, 4, 8, true);  /* offset not a multiple of 8 */
    /* Addresses of two families, or of none. */
    struct wire_ip_repr mixed = ip;
    mixed.dst = v6_addr(1);
    expect_malformed(&fx, &mixed, data, 8, 8, true);
    struct wire_ip_repr none = ip;
    none.src = synack_addr_any(SYNACK_AF_NONE);
    none.dst = none.src;
    expect_malformed(&fx, &none, data, 8, 8, true);
    struct ip_reasm_stats st;
    ip_reasm_stats(&fx.r, &st);
    assert_int_equal(st.datagrams, 0);
    fx_finish(&fx);
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* RFC 791 §3.2: source, destination, protocol and identification name an IPv4 datagram;
 * interleaved datagrams that differ in any of them do not mix. */
static void interleaved_datagrams_do_not_mix_v4_rfc791_3_2(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    enum { N = 5, LEN = 3000 };
    struct wire_ip_repr ips[N] = {
        v4(V4_A, V4_B, 17, 1), v4(V4_A, V4_B, 17, 2), v4(V4_C, V4_B, 17, 1),
        v4(V4_A, V4_B, 6, 1),  v4(V4_A, V4_C, 17, 1),
    };
    static uint8_t data[N][LEN];
    struct piece p[N][8];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        fill(data[i], LEN, (uint8_t)(40 * i));
        n = cut(p[i], LEN, 1000);
    }
    struct ip_reasm_result out;
    for (size_t k = 0; k < n; k++) {
        for (int i = 0; i < N; i++) {
            enum ip_reasm_status st =
                give(&fx, &ips[i], data[i], p[i][k].off, p[i][k].len, p[i][k].more, 0, &out);
            if (k + 1 < n) {
                assert_int_equal(st, IP_REASM_HELD);
            } else {
                expect_complete(&out, data[i], LEN);
                assert_int_equal(out.ip.proto, ips[i].proto);
                assert_true(synack_addr_eq(&out.ip.src, &ips[i].src));
                assert_true(synack_addr_eq(&out.ip.dst, &ips[i].dst));
            }
        }
    }
    assert_int_equal(ip_reasm_counters(&fx.r)->reassembled, N);
    fx_finish(&fx);
}

/* RFC 8200 §4.5: an IPv6 datagram is named by source, destination and the 32-bit
 * identification; the Next Header is not part of it (only the first fragment's counts), and
 * ids differing above 16 bits are different datagrams. */
static void ipv6_key_is_addresses_and_32_bit_id_rfc8200_4_5(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t a[2000], b[2000];
    fill(a, sizeof a, 17);
    fill(b, sizeof b, 18);
    struct wire_ip_repr lo = v6(1, 2, 0x00010005), hi = v6(1, 2, 0x00020005);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &lo, a, 0, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &hi, b, 0, 1000, true, 0, &out), IP_REASM_HELD);
    struct wire_ip_repr lo_other_nh = lo;
    lo_other_nh.proto = WIRE_IP_PROTO_TCP;
    assert_int_equal(give(&fx, &lo_other_nh, a, 1000, 1000, false, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, a, sizeof a);
    assert_int_equal(out.ip.proto, WIRE_IP_PROTO_UDP); /* the first fragment's */
    assert_int_equal(give(&fx, &hi, b, 1000, 1000, false, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, b, sizeof b);
    fx_finish(&fx);
}

/* The same id and the same address bytes in IPv4 and in IPv6 (an IPv6 address whose first
 * four bytes are the IPv4 one's) are two datagrams. */
static void ipv4_and_ipv6_keys_do_not_mix(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t a[2000], b[2000];
    fill(a, sizeof a, 19);
    fill(b, sizeof b, 20);
    struct wire_ip_repr ip4 = v4(V4_A, V4_B, 17, 7);
    struct wire_ip_repr ip6 = ip4;
    ip6.src.family = ip6.dst.family = SYNACK_AF_INET6;
    ip6.header_len = 48;
    ip6.frag.unfrag_len = 40;
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip4, a, 0, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip6, b, 0, 1000, true, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip6, b, 1000, 1000, false, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, b, sizeof b);
    assert_int_equal(give(&fx, &ip4, a, 1000, 1000, false, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, a, sizeof a);
    fx_finish(&fx);
}

/* RFC 6946 §4: offset 0 and no more fragments is processed in isolation, even when a
 * datagram with the same key is in progress; a datagram that is no fragment passes too. */
static void atomic_fragment_is_processed_in_isolation_rfc6946_4(void **state)
{
    (void)state;
    struct fx fx;
    fx_init(&fx);
    uint8_t data[2000];
    fill(data, sizeof data, 21);
    struct wire_ip_repr ip = v6(1, 2, 9);
    struct ip_reasm_result out;
    assert_int_equal(give(&fx, &ip, data, 1000, 1000, false, 0, &out), IP_REASM_HELD);
    assert_int_equal(give(&fx, &ip, data, 0, 700, false, 0, &out), IP_REASM_COMPLETE);
    assert_ptr_equal(out.data, data); /* the caller's bytes, not a copy */
    assert_int_equal(out.len, 700);
    assert_int_equal(give(&fx, &ip, data, 0, 1000, true, 0, &out), IP_REASM_COMPLETE);
    expect_complete(&out, data, sizeof data);
    struct wire_ip_repr whole = v4(V4_A, V4_B, 6, 1);
    whole.frag.present = false;
    assert_int_equal(ip_reasm_input(&fx.r, &whole, data, 40, 0, &out), IP_REASM_COMPLETE);
    assert_ptr_equal(out.data, data);
    assert_int_equal(ip_reasm_counters(&fx.r)->atomic, 2);
    fx_finish(&fx);
}

/* ---- the fragmentation plan ------------------------------------------------------------------ */

/* Walks a plan: offsets multiples of 8, contiguous from 0, pieces but the last multiples of
 * 8, each packet within the MTU, lengths adding up, `more` on all but the last. */
static size_t check_plan(enum synack_family family, size_t total, size_t mtu, size_t hdr)
{
    struct ip_frag_plan plan;
    assert_int_equal(ip_frag_plan_init(&plan, family, total, mtu, hdr), 0);
    size_t per = hdr + (family == SYNACK_AF_INET6 && plan.fragmented ? IP_FRAG_V6_HEADER_LEN : 0);
    struct ip_frag_piece p;
    size_t next = 0, count = 0;
    bool last_seen = false;
    while (ip_frag_next(&plan, &p)) {
        assert_false(last_seen);
        assert_int_equal(p.offset, next);
        assert_int_equal(p.offset % 8, 0);
        assert_true(per + p.len <= mtu);
        if (p.more) {
            assert_int_equal(p.len % 8, 0);
            assert_true(p.len > 0);
        } else {
            last_seen = true;
        }
        next += p.len;
        count++;
    }
    assert_true(last_seen);
    assert_int_equal(next, total);
    assert_int_equal(count, plan.count);
    assert_int_equal(plan.fragmented, count > 1);
    assert_false(ip_frag_next(&plan, &p));
    return count;
}

static void plan_v4_pieces_are_multiples_of_8_within_mtu_rfc791_3_2(void **state)
{
    (void)state;
    assert_int_equal(check_plan(SYNACK_AF_INET, 4000, 1500, 20), 3); /* 1480 1480 1040 */
    assert_int_equal(check_plan(SYNACK_AF_INET, 1480, 1500, 20), 1);
    assert_int_equal(check_plan(SYNACK_AF_INET, 1481, 1500, 20), 2);
    assert_int_equal(check_plan(SYNACK_AF_INET, 0, 1500, 20), 1);
    /* 68 (RFC 791 §3.1) with a 60-byte header: 8 bytes a piece. */
    assert_int_equal(check_plan(SYNACK_AF_INET, 100, 68, 60), 13);
    struct rand_pcg rng;
    rand_seed(&rng, 7, 3);
    for (int i = 0; i < 2000; i++) {
        size_t hdr = 20 + 4 * rand_below(&rng, 11);
        size_t mtu = hdr + 8 + rand_below(&rng, 9000);
        size_t total = rand_below(&rng, (uint32_t)(65536 - hdr));
        check_plan(SYNACK_AF_INET, total, mtu, hdr);
    }
}

static void plan_v6_pieces_fit_mtu_with_fragment_header_rfc8200_4_5(void **state)
{
    (void)state;
    /* 1280 - 40 - 8 = 1232 bytes of data a piece. */
    assert_int_equal(check_plan(SYNACK_AF_INET6, 3000, 1280, 40), 3);
    struct ip_frag_plan plan;
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 3000, 1280, 40), 0);
    assert_int_equal(plan.piece_max, 1232);
    /* Fits without a Fragment header: one piece, not fragmented. */
    assert_int_equal(check_plan(SYNACK_AF_INET6, 1240, 1280, 40), 1);
    assert_int_equal(check_plan(SYNACK_AF_INET6, 1241, 1280, 40), 2);
    /* Extension headers in the Unfragmentable Part are repeated in every piece. */
    assert_int_equal(check_plan(SYNACK_AF_INET6, 65535 - 24, 1280, 64), 55);
    struct rand_pcg rng;
    rand_seed(&rng, 8, 3);
    for (int i = 0; i < 2000; i++) {
        size_t hdr = 40 + 8 * rand_below(&rng, 20);
        size_t mtu = 1280 + rand_below(&rng, 9000);
        size_t total = rand_below(&rng, (uint32_t)(65536 - (hdr - 40)));
        check_plan(SYNACK_AF_INET6, total, mtu, hdr);
    }
}

static void plan_refuses_what_cannot_be_sent(void **state)
{
    (void)state;
    struct ip_frag_plan plan;
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_NONE, 100, 1500, 20), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET, 100, 1500, 19), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET, 100, 1500, 64), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET, 65516, 1500, 20), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET, 65515, 1500, 20), 0);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET, 100, 27, 20), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 3000, 1279, 40), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 3000, 1280, 39), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 65536, 1280, 40), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 65528, 1280, 48), SYNACK_ERR_INVAL);
    assert_int_equal(ip_frag_plan_init(&plan, SYNACK_AF_INET6, 3000, 1280, 1270), SYNACK_ERR_INVAL);
}

/* ---- round trip --------------------------------------------------------------------------------
 */

/* Fragment with the plan, feed the pieces shuffled, get the original bytes back. */
static void round_trip_plan_then_shuffled_reassembly(void **state)
{
    (void)state;
    /* Room for the worst case here, 8185 pieces of 8 bytes (a 68-byte MTU under a 60-byte
     * header), each charged IP_REASM_FRAG_OVERHEAD: more than the default cap. */
    struct ip_reasm_config cfg;
    ip_reasm_config_default(&cfg);
    cfg.mem_cap = 1024 * 1024;
    struct fx fx;
    fx_init_with(&fx, &cfg);
    static uint8_t data[65535];
    static struct piece p[MAX_PIECES];
    struct rand_pcg rng;
    rand_seed(&rng, 99, 5);
    for (unsigned round = 0; round < 300; round++) {
        bool six = round % 2;
        size_t hdr = six ? 40 + 8 * rand_below(&rng, 4) : 20 + 4 * rand_below(&rng, 11);
        size_t mtu = six ? 1280 + rand_below(&rng, 8000) : 68 + rand_below(&rng, 8000);
        size_t room = six ? 65535 - (hdr - 40) : 65535 - hdr;
        size_t total = 1 + rand_below(&rng, (uint32_t)room);
        fill(data, total, (uint8_t)round);
        struct ip_frag_plan plan;
        assert_int_equal(
            ip_frag_plan_init(&plan, six ? SYNACK_AF_INET6 : SYNACK_AF_INET, total, mtu, hdr), 0);
        size_t n = 0;
        struct ip_frag_piece piece;
        while (ip_frag_next(&plan, &piece))
            p[n++] = (struct piece){piece.offset, piece.len, piece.more};
        shuffle(p, n, &rng);
        struct wire_ip_repr ip = six ? v6(5, 6, round) : v4(V4_A, V4_B, 17, (uint16_t)round);
        ip.header_len = (uint16_t)(six ? hdr + 8 : hdr);
        ip.frag.unfrag_len = (uint16_t)hdr;
        feed_all(&fx, &ip, data, total, p, n);
    }
    fx_finish(&fx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(in_order_fragments_reassemble_rfc791_3_2),
    cmocka_unit_test(first_fragment_header_describes_the_datagram),
    cmocka_unit_test(reversed_fragments_reassemble_both_families),
    cmocka_unit_test(shuffled_fragments_reassemble_seeded),
    cmocka_unit_test(exact_duplicate_is_ignored_rfc8200_4_5),
    cmocka_unit_test(same_place_other_bytes_is_an_overlap_rfc5722_4),
    cmocka_unit_test(partial_overlap_drops_the_datagram_v4_rfc5722_4),
    cmocka_unit_test(partial_overlap_drops_the_datagram_v6_rfc5722_4),
    cmocka_unit_test(full_overlap_drops_the_datagram_both_families_rfc5722_4),
    cmocka_unit_test(timeout_hands_out_the_first_fragment_rfc1122_3_3_2),
    cmocka_unit_test(timeout_without_first_fragment_owes_no_icmp_rfc8200_4_5),
    cmocka_unit_test(deadlines_are_earliest_first_across_families),
    cmocka_unit_test(timeouts_are_configurable),
    cmocka_unit_test(memory_cap_holds_under_a_flood_of_first_fragments),
    cmocka_unit_test(max_datagrams_evicts_the_oldest),
    cmocka_unit_test(datagram_bigger_than_the_cap_is_dropped_alone),
    cmocka_unit_test(free_releases_everything_held_or_lent),
    cmocka_unit_test(allocator_refusal_drops_the_fragment_alone),
    cmocka_unit_test(bad_config_is_refused),
    cmocka_unit_test(end_past_65535_is_malformed),
    cmocka_unit_test(length_not_multiple_of_8_with_more_is_malformed),
    cmocka_unit_test(contradicting_ends_are_malformed),
    cmocka_unit_test(empty_and_misaligned_fragments_are_malformed),
    cmocka_unit_test(interleaved_datagrams_do_not_mix_v4_rfc791_3_2),
    cmocka_unit_test(ipv6_key_is_addresses_and_32_bit_id_rfc8200_4_5),
    cmocka_unit_test(ipv4_and_ipv6_keys_do_not_mix),
    cmocka_unit_test(atomic_fragment_is_processed_in_isolation_rfc6946_4),
    cmocka_unit_test(plan_v4_pieces_are_multiples_of_8_within_mtu_rfc791_3_2),
    cmocka_unit_test(plan_v6_pieces_fit_mtu_with_fragment_header_rfc8200_4_5),
    cmocka_unit_test(plan_refuses_what_cannot_be_sent),
    cmocka_unit_test(round_trip_plan_then_shuffled_reassembly),
};

SYNACK_TEST_MAIN("frag", tests)
