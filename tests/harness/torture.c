/*
 * The deterministic torture run (see torture.h for what a seed must satisfy).
 *
 * One seed -> parameters (torture_params_derive) -> one simulated run (run_once) with the
 * invariants checked after every simulator step and every application action. A failing
 * seed is run a second time with a capture file open: the run is deterministic, so the
 * capture shows the failure, and the second run's verdict must be the first's.
 */
#include "torture.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_ADDR 0xc6120001u /* 198.18.0.1 */
#define SERVER_ADDR 0xc6120002u /* 198.18.0.2 */

#define UDP_PORT 7000

/* The side's address: 198.18.0.x, or 2001:db8::x (x the IPv4 address's last byte). */
static struct synack_addr torture_addr(bool ipv6, uint32_t v4)
{
    if (!ipv6) return synack_addr_v4(v4);
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)v4};
    return synack_addr_v6(b);
}
#define SERVER_PORT 80
#define IO_MAX 65536 /* the largest write or read chunk */

/* ---- the generator: splitmix64 (Steele, Lea, Flood 2014), integers only -------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct prng {
    uint64_t s;
};

/* An independent stream per purpose, so adding a draw to one purpose does not move the
 * draws of another. */
static struct prng prng_for(uint64_t seed, uint64_t purpose)
{
    return (struct prng){mix64(seed ^ mix64(purpose * 0x9e3779b97f4a7c15ull + 0x746f7274ull))};
}

static uint64_t rnd_u64(struct prng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return mix64(r->s);
}

/* Uniform in [lo, hi] (the modulo bias is irrelevant here; determinism is what counts). */
static uint64_t rnd_range(struct prng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) return lo;
    if (hi - lo == UINT64_MAX) return rnd_u64(r); /* the whole range: span would wrap to 0 */
    return lo + rnd_u64(r) % (hi - lo + 1);
}

/* Uniform in [0, 1). */
static double rnd_unit(struct prng *r)
{
    return (double)(rnd_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static bool rnd_chance(struct prng *r, unsigned percent)
{
    return rnd_range(r, 0, 99) < percent;
}

static unsigned bit_length(uint64_t v)
{
    unsigned n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

/* Roughly log-uniform in [lo, hi] (lo >= 1) without libm: a uniform bit length, then
 * uniform within that power of two. Small values are as likely as large ones. */
static uint64_t rnd_log(struct prng *r, uint64_t lo, uint64_t hi)
{
    if (lo < 1) lo = 1;
    if (hi <= lo) return lo;
    unsigned k = (unsigned)rnd_range(r, bit_length(lo), bit_length(hi));
    uint64_t a = (uint64_t)1 << (k - 1), b = k >= 64 ? UINT64_MAX : ((uint64_t)1 << k) - 1;
    if (a < lo) a = lo;
    if (b > hi) b = hi;
    return rnd_range(r, a, b);
}

/* ---- the byte streams ---------------------------------------------------------------- */

static uint64_t stream_key(uint64_t seed, int dir)
{
    return mix64(seed ^ (dir ? 0x5354524d2d736332ull : 0x5354524d2d633273ull));
}

uint8_t torture_stream_byte(uint64_t seed, int dir, uint64_t i)
{
    return (uint8_t)(mix64(stream_key(seed, dir) + (i >> 3)) >> (8 * (i & 7)));
}

static void stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t n)
{
    size_t k = 0;
    while (k < n) {
        uint64_t i = off + k;
        uint64_t block = mix64(key + (i >> 3));
        for (unsigned b = (unsigned)(i & 7); b < 8 && k < n; b++, k++)
            buf[k] = (uint8_t)(block >> (8 * b));
    }
}

/* ---- profiles ---------------------------------------------------------------------------- */

static const char *const profile_names[TORTURE_PROFILE_COUNT] = {"random", "zero-window",
                                                                 "tiny-sndbuf", "lossy-halfclose"};

const char *torture_profile_name(enum torture_profile p)
{
    return (unsigned)p < TORTURE_PROFILE_COUNT ? profile_names[p] : "?";
}

int torture_profile_parse(const char *name, enum torture_profile *out)
{
    for (unsigned i = 0; i < TORTURE_PROFILE_COUNT; i++) {
        if (name && strcmp(name, profile_names[i]) == 0) {
            *out = (enum torture_profile)i;
            return 0;
        }
    }
    return -1;
}

/* ---- parameters ---------------------------------------------------------------------------- */

static void derive_link(struct prng *r, struct synack_sim_link_params *l)
{
    synack_sim_link_params_default(l);
    l->latency = rnd_log(r, SYNACK_US(100), SYNACK_MS(100));
    l->jitter = rnd_chance(r, 50) ? 0 : rnd_range(r, 0, l->latency);
    l->rate_bps = rnd_chance(r, 25) ? 0 : rnd_log(r, 1000000, 1000000000);
    l->queue_bytes = (l->rate_bps == 0 || rnd_chance(r, 50)) ? 0 : rnd_log(r, 3000, 512 * 1024);
    switch (rnd_range(r, 0, 3)) {
    case 0:
        l->loss = 0;
        break;
    case 1:
        l->loss = 0.01 * rnd_unit(r);
        break;
    case 2:
        l->loss = 0.01 + 0.04 * rnd_unit(r);
        break;
    default:
        l->loss = 0.05 + 0.15 * rnd_unit(r);
        break;
    }
    l->reorder = rnd_chance(r, 50) ? 0 : 0.10 * rnd_unit(r);
    l->reorder_delay = rnd_log(r, SYNACK_US(100), 2 * l->latency + SYNACK_MS(1));
    l->dup = rnd_chance(r, 70) ? 0 : 0.05 * rnd_unit(r);
    l->corrupt = rnd_chance(r, 70) ? 0 : 0.03 * rnd_unit(r);
}

static void derive_stack(struct prng *r, struct torture_side *s)
{
    uint64_t m = rnd_range(r, 0, 9);
    s->mtu = (uint16_t)(m < 4 ? 1500 : m < 6 ? 576 : rnd_range(r, 296, 1500));
    uint64_t b = rnd_range(r, 0, 99);
    s->sndbuf = b < 5    ? rnd_range(r, 1, 64)
                : b < 15 ? rnd_range(r, 64, 4096)
                         : rnd_log(r, 4096, 1024 * 1024);
    b = rnd_range(r, 0, 99);
    s->rcvbuf = b < 5    ? rnd_range(r, 1, 64)
                : b < 15 ? rnd_range(r, 64, 2048)
                         : rnd_log(r, 2048, 1024 * 1024);
    s->window_scale = rnd_chance(r, 70); /* off with a big buffer: at most 65535 is offered */
    s->timestamps = rnd_chance(r, 70);
    s->sack = rnd_chance(r, 70);
    s->rack = rnd_chance(r, 70);
    s->cc = rnd_chance(r, 50) ? SYNACK_CC_CUBIC : SYNACK_CC_NEWRENO;
    static const unsigned iw[] = {1, 2, 3, 4, 10, 10, 10, 16};
    s->init_cwnd = iw[rnd_range(r, 0, 7)];
    s->nodelay = rnd_chance(r, 50);
    uint64_t d = rnd_range(r, 0, 3);
    s->delack_timeout = d == 0   ? 0
                        : d == 1 ? SYNACK_MS(40)
                                 : rnd_log(r, SYNACK_MS(1), SYNACK_MS(200));
    s->rto_min = rnd_chance(r, 70) ? SYNACK_S(1) : SYNACK_MS(200);
    s->rto_max = rnd_chance(r, 80) ? SYNACK_S(60) : SYNACK_S(10);
    s->msl = rnd_log(r, SYNACK_S(1), SYNACK_S(30));
}

/* Transfer sizes skewed to small: many seeds move a few bytes, few move megabytes. */
static uint64_t derive_bytes(struct prng *r)
{
    uint64_t k = rnd_range(r, 0, 99);
    if (k < 15) return 0;
    if (k < 50) return rnd_log(r, 1, 1000);
    if (k < 80) return rnd_log(r, 1000, 64 * 1024);
    if (k < 95) return rnd_log(r, 64 * 1024, 512 * 1024);
    return rnd_log(r, 512 * 1024, 2 * 1024 * 1024);
}

static void derive_app(struct prng *r, struct torture_side *s, uint64_t peer_bytes)
{
    s->write_max = rnd_log(r, 1, IO_MAX);
    s->read_max = rnd_log(r, 1, IO_MAX);
    s->read_rate = rnd_chance(r, 70) ? 0 : rnd_log(r, 10000, 100000000);
    s->pauses = rnd_chance(r, 60) ? 0 : (unsigned)rnd_range(r, 1, TORTURE_MAX_PAUSES);
    for (unsigned k = 0; k < s->pauses; k++) {
        s->pause_at[k] = rnd_range(r, 0, peer_bytes);
        s->pause_len[k] = rnd_log(r, SYNACK_MS(1), SYNACK_S(10));
    }
    /* In reading order. */
    for (unsigned i = 1; i < s->pauses; i++)
        for (unsigned j = i; j > 0 && s->pause_at[j - 1] > s->pause_at[j]; j--) {
            uint64_t a = s->pause_at[j];
            s->pause_at[j] = s->pause_at[j - 1];
            s->pause_at[j - 1] = a;
        }
    s->close_directly = rnd_chance(r, 30);
    s->set_nodelay = rnd_chance(r, 20);
    s->switch_cc_at = rnd_chance(r, 15) ? rnd_range(r, 0, s->bytes) : UINT64_MAX;
    s->keepalive = rnd_chance(r, 15) ? rnd_log(r, SYNACK_MS(100), SYNACK_S(10)) : 0;
}

/* The window a direction can use: the sender's buffer, the receiver's buffer, and 65535
 * unless both ends offer window scaling. */
static uint64_t usable_window(const struct torture_params *p, int dir)
{
    const struct torture_side *s = &p->side[dir], *rcv = &p->side[1 - dir];
    uint64_t w = s->sndbuf < rcv->rcvbuf ? s->sndbuf : rcv->rcvbuf;
    if (!(s->window_scale && rcv->window_scale) && w > 65535) w = 65535;
    return w ? w : 1;
}

static void apply_profile(struct prng *r, struct torture_params *p)
{
    struct torture_side *c = &p->side[TORTURE_CLIENT], *s = &p->side[TORTURE_SERVER];
    switch (p->profile) {
    case TORTURE_ZERO_WINDOW:
        for (int i = 0; i < 2; i++) {
            struct torture_side *x = &p->side[i];
            x->rcvbuf = rnd_range(r, 256, 4096);
            x->read_rate = 0;
        }
        c->bytes = rnd_range(r, 20000, 200000);
        s->bytes = rnd_range(r, 0, 50000);
        for (int i = 0; i < 2; i++) {
            struct torture_side *x = &p->side[i];
            uint64_t peer = p->side[1 - i].bytes;
            x->pauses = peer ? (unsigned)rnd_range(r, 2, TORTURE_MAX_PAUSES) : 0;
            for (unsigned k = 0; k < x->pauses; k++) {
                x->pause_at[k] = peer * (k + 1) / (x->pauses + 1);
                x->pause_len[k] = rnd_range(r, SYNACK_MS(500), SYNACK_S(5));
            }
        }
        break;
    case TORTURE_TINY_SNDBUF:
        c->sndbuf = rnd_range(r, 1, 16);
        s->sndbuf = rnd_range(r, 1, 16);
        c->bytes = rnd_range(r, 2000, 4096);
        s->bytes = rnd_range(r, 0, 4096);
        break;
    case TORTURE_LOSSY_HALFCLOSE:
        for (int i = 0; i < 2; i++) {
            p->link[i].loss = 0.20;
            struct torture_side *x = &p->side[i];
            if (x->rcvbuf < 8192) x->rcvbuf = 8192;
            if (x->sndbuf < 8192) x->sndbuf = 8192;
            x->bytes = rnd_range(r, 20000, 100000);
            x->pauses = 0;
            x->read_rate = 0;
        }
        p->server_waits_for_eof = false;
        break;
    default:
        break;
    }
    for (unsigned k = 0; k < 2; k++) {
        struct torture_side *x = &p->side[k];
        if (x->switch_cc_at != UINT64_MAX && x->switch_cc_at > x->bytes) x->switch_cc_at = x->bytes;
    }
}

/* What one direction may cost, in virtual time. `rtt` includes the receiver's delayed
 * ACK; `rto1` is an RTO before backoff. */
static double direction_time(const struct torture_params *p, int dir, double rtt, double rto1,
                             double q, double *segs_out)
{
    const struct torture_side *s = &p->side[dir], *rcv = &p->side[1 - dir];
    uint16_t mtu = s->mtu < rcv->mtu ? s->mtu : rcv->mtu;
    double payload = (double)(mtu - 80); /* MSS minus up to 40 bytes of options */
    double w = (double)usable_window(p, dir);
    double per_seg = w < payload ? w : payload;
    double bytes = (double)s->bytes;
    double segs = bytes / per_seg + 3;
    double log2segs = (double)bit_length((uint64_t)segs);
    double rounds = bytes / w + 2 * log2segs + 2;
    const struct synack_sim_link_params *l = &p->link[dir];
    double tx = l->rate_bps ? (bytes + segs * 100) * 8 / (double)l->rate_bps : 0;
    double read = rcv->read_rate ? bytes / (double)rcv->read_rate : 0;
    *segs_out = segs;
    /* Each lost segment (or its ACK) may cost an RTO; x3 for the variance. */
    return rounds * rtt + tx + read + (3 * segs * q + 1) * rto1;
}

static double link_one_way(const struct synack_sim_link_params *l, uint64_t sender_buf)
{
    double t = (double)(l->latency + l->jitter) / 1e9;
    if (l->reorder > 0) t += (double)l->reorder_delay / 1e9;
    if (l->rate_bps) {
        double queued = l->queue_bytes ? (double)l->queue_bytes : (double)sender_buf + 65536;
        t += (queued + 2 * 1500) * 8 / (double)l->rate_bps;
    }
    return t;
}

static double link_loss(const struct synack_sim_link_params *l)
{
    return l->loss + l->corrupt + (l->queue_bytes ? 0.05 : 0);
}

/*
 * The time bound, in seconds of virtual time (generous but finite):
 *   RTT   = one_way(c->s) + one_way(s->c) + max delack_timeout, where one_way = latency +
 *           jitter + reorder_delay (if reordering) + (queue or sndbuf+64K, plus two
 *           packets) * 8 / rate;
 *   RTO1  = min(rto_max, max(rto_min, 1 s, 4 RTT));
 *   q     = 1 - (1 - p_cs)(1 - p_sc), p = loss + corrupt (+5% with a drop-tail queue);
 *   per direction: rounds = bytes/window + 2 log2(segs) + 2 and segs = bytes/min(window,
 *           MTU-80) + 3, cost = rounds RTT + serialization + bytes/read_rate
 *           + (3 segs q + 1) RTO1;
 *   tail  = sum_{i=0..K} min(RTO1 2^i, rto_max), K the smallest with q^K < 1e-9/segs
 *           (one unluckily long backoff); the handshake gets the same from a 1 s RTO;
 *   pause = every reader pause plus 2 rto_max each (persist backoff afterwards);
 *   bound = 2 (cost_cs + cost_sc) + 3 tail + handshake + pause + 2 max(msl) + 10 s.
 */
static synack_time_t params_bound(const struct torture_params *p)
{
    const struct torture_side *c = &p->side[0], *s = &p->side[1];
    double delack =
        (double)(c->delack_timeout > s->delack_timeout ? c->delack_timeout : s->delack_timeout) /
        1e9;
    double rtt =
        link_one_way(&p->link[0], c->sndbuf) + link_one_way(&p->link[1], s->sndbuf) + delack;
    double rto_min = (double)(c->rto_min > s->rto_min ? c->rto_min : s->rto_min) / 1e9;
    double rto_max = (double)(c->rto_max > s->rto_max ? c->rto_max : s->rto_max) / 1e9;
    double rto1 = 4 * rtt;
    if (rto1 < rto_min) rto1 = rto_min;
    if (rto1 < 1) rto1 = 1;
    if (rto1 > rto_max) rto1 = rto_max;
    double q = 1 - (1 - link_loss(&p->link[0])) * (1 - link_loss(&p->link[1]));
    if (q < 0.01) q = 0.01;
    if (q > 0.9) q = 0.9;
    double segs_cs, segs_sc;
    double cost =
        direction_time(p, 0, rtt, rto1, q, &segs_cs) + direction_time(p, 1, rtt, rto1, q, &segs_sc);
    double limit = 1e-9 / (segs_cs + segs_sc + 10), pr = 1, tail = 0, hs = 0;
    for (unsigned k = 0; pr > limit && k < 200; k++) {
        pr *= q;
        double t = rto1 * (double)(1ull << (k < 40 ? k : 40));
        tail += t < rto_max ? t : rto_max;
        t = (double)(1ull << (k < 40 ? k : 40));
        hs += t < rto_max ? t : rto_max;
    }
    double pause = 0;
    for (int i = 0; i < 2; i++)
        for (unsigned k = 0; k < p->side[i].pauses; k++)
            pause += (double)p->side[i].pause_len[k] / 1e9 + 2 * rto_max;
    double msl = (double)(c->msl > s->msl ? c->msl : s->msl) / 1e9;
    double bound = 2 * cost + 3 * tail + hs + pause + 2 * msl + 10;
    return (synack_time_t)(bound * 1e9);
}

void torture_params_derive(uint64_t seed, enum torture_profile profile, struct torture_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = seed;
    p->profile = profile;
    struct prng r = prng_for(seed, 1);
    derive_link(&r, &p->link[0]);
    if (rnd_chance(&r, 50)) {
        p->link[1] = p->link[0]; /* a symmetric path */
    } else {
        struct prng r2 = prng_for(seed, 2);
        derive_link(&r2, &p->link[1]);
    }
    for (int i = 0; i < 2; i++) {
        struct prng rs = prng_for(seed, 10 + (uint64_t)i);
        derive_stack(&rs, &p->side[i]);
        struct prng rb = prng_for(seed, 20 + (uint64_t)i);
        p->side[i].bytes = derive_bytes(&rb);
    }
    /* Tiny windows move few bytes per round trip: keep such runs to ~2000 round trips. */
    for (int i = 0; i < 2; i++) {
        uint64_t cap = 2000 * usable_window(p, i);
        if (p->side[i].bytes > cap) p->side[i].bytes = cap;
    }
    for (int i = 0; i < 2; i++) {
        struct prng ra = prng_for(seed, 30 + (uint64_t)i);
        derive_app(&ra, &p->side[i], p->side[1 - i].bytes);
    }
    struct prng rt = prng_for(seed, 40);
    p->server_waits_for_eof = rnd_chance(&rt, 40);
    p->server_shutdown_early = !p->server_waits_for_eof && rnd_chance(&rt, 40);
    if (profile != TORTURE_RANDOM) {
        struct prng rp = prng_for(seed, 100 + (uint64_t)profile);
        apply_profile(&rp, p);
    }
    /* The family and the UDP traffic come from streams of their own, so every other draw
     * of a seed is what it was before they existed. */
    struct prng rf = prng_for(seed, 70);
    p->ipv6 = rnd_chance(&rf, 50);
    for (int i = 0; i < 2; i++) {
        if (p->ipv6 && p->side[i].mtu < 1280) p->side[i].mtu = 1280; /* RFC 8200 §5 */
        p->udp_count[i] = rnd_chance(&rf, 50) ? 0 : (unsigned)rnd_range(&rf, 1, 20);
    }
    /* Autotuning, from a stream of its own too: half the ends keep their buffers fixed, the
     * others let them grow up to 4 MiB (tiny-sndbuf keeps its send buffers tiny). */
    for (int i = 0; i < 2; i++) {
        struct torture_side *x = &p->side[i];
        struct prng ru = prng_for(seed, 80 + (uint64_t)i);
        x->sndbuf_max = rnd_chance(&ru, 50) ? 0 : rnd_log(&ru, x->sndbuf, 4u << 20);
        x->rcvbuf_max = rnd_chance(&ru, 50) ? 0 : rnd_log(&ru, x->rcvbuf, 4u << 20);
        if (profile == TORTURE_TINY_SNDBUF) x->sndbuf_max = 0;
    }
    p->bound = params_bound(p);
}

static void print_link(FILE *f, const char *name, const struct synack_sim_link_params *l)
{
    fprintf(f,
            "  link %s: latency %.3f ms jitter %.3f ms rate %.3f Mbit/s queue %zu B loss %.2f%% "
            "reorder %.2f%% (+%.3f ms) dup %.2f%% corrupt %.2f%%\n",
            name, (double)l->latency / 1e6, (double)l->jitter / 1e6, (double)l->rate_bps / 1e6,
            l->queue_bytes, 100 * l->loss, 100 * l->reorder, (double)l->reorder_delay / 1e6,
            100 * l->dup, 100 * l->corrupt);
}

/* How far a buffer may grow: its maximum, or its size when that is no larger (fixed). */
static size_t buf_max(size_t size, size_t max)
{
    return max > size ? max : size;
}

static void print_side(FILE *f, const char *name, const struct torture_side *s)
{
    fprintf(f,
            "  %s stack: mtu %u sndbuf %zu (max %zu) rcvbuf %zu (max %zu) wscale %d ts %d sack %d "
            "rack %d cc %s iw %u nodelay %d delack %.1f ms rto_min %.0f ms rto_max %.0f s msl "
            "%.2f s\n",
            name, s->mtu, s->sndbuf, buf_max(s->sndbuf, s->sndbuf_max), s->rcvbuf,
            buf_max(s->rcvbuf, s->rcvbuf_max), s->window_scale, s->timestamps, s->sack, s->rack,
            synack_cc_name(s->cc), s->init_cwnd, s->nodelay, (double)s->delack_timeout / 1e6,
            (double)s->rto_min / 1e6, (double)s->rto_max / 1e9, (double)s->msl / 1e9);
    fprintf(f, "  %s app: sends %llu B, writes <= %zu, reads <= %zu, read rate %llu B/s, %s", name,
            (unsigned long long)s->bytes, s->write_max, s->read_max,
            (unsigned long long)s->read_rate, s->close_directly ? "close" : "wait-closed");
    for (unsigned k = 0; k < s->pauses; k++)
        fprintf(f, ", pause %.3f s at %llu", (double)s->pause_len[k] / 1e9,
                (unsigned long long)s->pause_at[k]);
    if (s->set_nodelay) fprintf(f, ", set_nodelay");
    if (s->switch_cc_at != UINT64_MAX)
        fprintf(f, ", set_cc at %llu", (unsigned long long)s->switch_cc_at);
    if (s->keepalive) fprintf(f, ", keepalive %.3f s", (double)s->keepalive / 1e9);
    fputc('\n', f);
}

void torture_params_print(FILE *f, const struct torture_params *p)
{
    fprintf(f, "  seed %llu profile %s bound %.3f s; server %s\n", (unsigned long long)p->seed,
            torture_profile_name(p->profile), (double)p->bound / 1e9,
            p->server_waits_for_eof    ? "writes after EOF"
            : p->server_shutdown_early ? "writes at once, shuts down when written"
                                       : "writes at once, shuts down after EOF");
    fprintf(f, "  %s; UDP datagrams c>s %u, s>c %u\n", p->ipv6 ? "IPv6" : "IPv4", p->udp_count[0],
            p->udp_count[1]);
    print_link(f, "c>s", &p->link[0]);
    print_link(f, "s>c", &p->link[1]);
    print_side(f, "client", &p->side[0]);
    print_side(f, "server", &p->side[1]);
}

/* ---- the run ------------------------------------------------------------------------------ */

/* What was observed of a connection last time: for the "never moves backwards" checks. */
struct watch {
    bool have;
    size_t pipe;
    uint32_t snd_una, snd_nxt, rcv_nxt, cwnd;
    enum synack_state state;
    struct synack_counters counters;
};

struct run;

struct tside {
    int idx; /* TORTURE_CLIENT or TORTURE_SERVER: also the direction it sends */
    char tag;
    struct run *run;
    struct torture_side *p;
    struct prng rng; /* chunk sizes */
    struct synack_stack *stack;
    struct synack_listener *listener;
    struct synack_tcp *conn; /* NULL once released */
    struct synack_udp *udp;  /* bound to UDP_PORT for the whole run */
    uint64_t udp_id;
    unsigned udp_sent, udp_got;
    struct prng udp_rng;
    uint64_t conn_id;
    bool have_conn, connected, released, closed, eof, shut;
    enum synack_state state; /* from STATE events: known after release too */
    uint64_t written, read;
    uint8_t *chunk; /* the write being offered: chunk[chunk_off..chunk_len) is unsent */
    size_t chunk_off, chunk_len;
    unsigned next_pause;
    synack_time_t paused_until;
    uint64_t tokens;
    synack_time_t token_time;
    synack_time_t wake; /* when the application wants to run again (SYNACK_NEVER: no) */
    bool cc_switched;
    struct watch w;
    /* wire observations of what this side sent */
    int syn_wscale; /* -1: no SYN seen yet or no option */
    bool syn_seen, have_edge, have_adv;
    uint32_t max_edge; /* largest right edge advertised after the handshake (scaled) */
    uint32_t adv_edge; /* ... and including the SYN-ACK's unscaled window */
    uint64_t corrupted_in;
    /* memory: bytes the stack holds through its allocator hooks, and what it held right
     * after it was made (every seed must come back to it) */
    size_t live, baseline;
};

struct run {
    const struct torture_opts *o;
    struct torture_result *r;
    struct torture_params p;
    FILE *out;
    struct synack_sim *sim;
    struct tside side[2];
    bool failed;
    uint8_t *buf, *expect;
};

static double secs(synack_time_t t)
{
    return (double)t / 1e9;
}

static synack_time_t now_of(const struct run *run)
{
    return run->sim ? synack_sim_now(run->sim) : 0;
}

/* Records the first failure; later ones are ignored. Always returns false. */
__attribute__((format(printf, 3, 4))) static bool fail(struct run *run, const struct tside *sd,
                                                       const char *fmt, ...)
{
    if (run->failed) return false;
    run->failed = true;
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(run->r->failure, sizeof run->r->failure, "t=%.6f s %s%s%s", secs(now_of(run)),
             sd ? (sd->idx ? "server" : "client") : "", sd ? ": " : "", msg);
    if (run->o->trace) fprintf(run->out, "%12.6f FAILED: %s\n", secs(now_of(run)), msg);
    return false;
}

__attribute__((format(printf, 3, 4))) static void
trace(const struct run *run, const struct tside *sd, const char *fmt, ...)
{
    if (!run->o->trace) return;
    fprintf(run->out, "%12.6f %c  ", secs(now_of(run)), sd ? sd->tag : ' ');
    va_list ap;
    va_start(ap, fmt);
    vfprintf(run->out, fmt, ap);
    va_end(ap);
    fputc('\n', run->out);
}

/* ---- invariants ---- */

static bool is_sync(enum synack_state s)
{
    return s >= SYNACK_ESTABLISHED && s < SYNACK_STATE_COUNT;
}

/* Every counter of struct synack_counters, by offset, so a check can name the one that
 * went wrong (a field renamed in synack.h fails to compile here, as it should). */
#define COUNTER(f)                                                                                 \
    {                                                                                              \
        offsetof(struct synack_counters, f), #f                                                    \
    }
static const struct {
    size_t off;
    const char *name;
} counters_named[] = {
    COUNTER(segs_in),          COUNTER(segs_out),
    COUNTER(bytes_in),         COUNTER(bytes_out),
    COUNTER(retransmits),      COUNTER(rto_expiries),
    COUNTER(dup_acks),         COUNTER(out_of_order),
    COUNTER(challenge_acks),   COUNTER(challenge_acks_suppressed),
    COUNTER(rsts_in),          COUNTER(rsts_out),
    COUNTER(fast_retransmits), COUNTER(recoveries),
    COUNTER(rack_losses),      COUNTER(tlp_probes),
    COUNTER(sack_blocks_in),   COUNTER(dsacks_in),
    COUNTER(dsacks_out),       COUNTER(delayed_acks),
    COUNTER(keepalive_probes), COUNTER(window_probes),
    COUNTER(icmp_in),          COUNTER(icmp_echo_replies),
    COUNTER(icmp_out),         COUNTER(icmp_errors_delivered),
    COUNTER(pmtu_decreases),
};

static uint64_t counter_at(const struct synack_counters *c, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)c + off, sizeof v);
    return v;
}

static bool check_counters_monotonic(struct run *run, struct tside *sd,
                                     const struct synack_counters *now_c)
{
    const struct synack_counters *was = &sd->w.counters;
    for (size_t k = 0; k < sizeof counters_named / sizeof counters_named[0]; k++) {
        uint64_t a = counter_at(was, counters_named[k].off),
                 b = counter_at(now_c, counters_named[k].off);
        if (b < a)
            return fail(run, sd, "counter %s went down from %llu to %llu", counters_named[k].name,
                        (unsigned long long)a, (unsigned long long)b);
    }
    for (size_t k = 0; k < SYNACK_DROP_COUNT; k++)
        if (now_c->drops[k] < was->drops[k])
            return fail(run, sd, "drop counter %s went down from %llu to %llu",
                        synack_drop_name((enum synack_drop)k), (unsigned long long)was->drops[k],
                        (unsigned long long)now_c->drops[k]);
    return true;
}

static bool check_options(struct run *run, struct tside *sd, const struct synack_tcp_info *i)
{
    const struct torture_side *me = sd->p, *peer = run->side[1 - sd->idx].p;
    bool sack = me->sack && peer->sack, ts = me->timestamps && peer->timestamps;
    bool ws = me->window_scale && peer->window_scale;
    if (i->sack != sack || i->timestamps != ts || i->window_scale != ws)
        return fail(run, sd,
                    "negotiated sack %d ts %d wscale %d, but the configurations say %d %d %d",
                    i->sack, i->timestamps, i->window_scale, sack, ts, ws);
    return true;
}

/* The receive side: buffer, window backed by buffer, right edge never moving left. */
static bool check_receive(struct run *run, struct tside *sd, const struct synack_tcp_info *i)
{
    size_t rcvbuf = i->rcvbuf, max = buf_max(sd->p->rcvbuf, sd->p->rcvbuf_max);
    uint32_t slack = i->window_scale ? (1u << (i->rcv_wscale & 31)) - 1 : 0;
    /* Autotuning: the buffer grows from what was configured, never past its maximum. */
    if (rcvbuf < sd->p->rcvbuf || rcvbuf > max)
        return fail(run, sd, "rcvbuf %zu outside [%zu, %zu]", rcvbuf, sd->p->rcvbuf, max);
    if (i->recv_queued > rcvbuf)
        return fail(run, sd, "recv_queued %zu > rcvbuf %zu", i->recv_queued, rcvbuf);
    if (!is_sync(i->state)) return true;
    if ((uint64_t)i->rcv_wnd + i->recv_queued > (uint64_t)rcvbuf + slack)
        return fail(run, sd,
                    "rcv_wnd %u + recv_queued %zu > rcvbuf %zu: window not backed by "
                    "buffer space",
                    i->rcv_wnd, i->recv_queued, rcvbuf);
    /* What the stack would offer now must not retract what it already advertised. */
    uint32_t edge = i->rcv_nxt + i->rcv_wnd;
    if (sd->have_edge && synack_seq_lt(edge + slack, sd->max_edge))
        return fail(run, sd,
                    "window offered now (rcv_nxt %u + rcv_wnd %u = %u) retracts the "
                    "right edge %u already advertised, in %s",
                    i->rcv_nxt, i->rcv_wnd, edge, sd->max_edge, synack_state_name(i->state));
    return true;
}

static bool check_send(struct run *run, struct tside *sd, const struct synack_tcp_info *i)
{
    uint32_t flight = i->snd_nxt - i->snd_una;
    if (!synack_seq_leq(i->snd_una, i->snd_nxt))
        return fail(run, sd, "snd_una %u > snd_nxt %u", i->snd_una, i->snd_nxt);
    if (i->bytes_in_flight != flight)
        return fail(run, sd, "bytes_in_flight %zu != snd_nxt - snd_una %u", i->bytes_in_flight,
                    flight);
    size_t max = buf_max(sd->p->sndbuf, sd->p->sndbuf_max);
    if (i->sndbuf < sd->p->sndbuf || i->sndbuf > max)
        return fail(run, sd, "sndbuf %zu outside [%zu, %zu]", i->sndbuf, sd->p->sndbuf, max);
    if (i->send_queued > i->sndbuf)
        return fail(run, sd, "send_queued %zu > sndbuf %zu", i->send_queued, i->sndbuf);
    if (i->state != SYNACK_CLOSED && i->state != SYNACK_LISTEN && flight > i->send_queued + 2)
        return fail(run, sd, "%u sequence numbers unacknowledged but only %zu bytes buffered",
                    flight, i->send_queued);
    if (is_sync(i->state)) {
        const struct torture_side *peer = run->side[1 - sd->idx].p;
        uint64_t lim = buf_max(peer->rcvbuf, peer->rcvbuf_max);
        if (i->window_scale)
            lim += (1u << (i->snd_wscale & 31)) - 1;
        else if (lim > 65535)
            lim = 65535;
        if (i->snd_wnd > lim)
            return fail(run, sd, "snd_wnd %u larger than the peer could offer (%llu)", i->snd_wnd,
                        (unsigned long long)lim);
    }
    if (i->cwnd > 0 && is_sync(i->state)) {
        /* Data went out in this step: afterwards pipe may exceed cwnd by the segment that
         * crossed it plus the extra (RFC 3042, TLP, probe, FIN). A pipe that grows without
         * sending (marks cleared when recovery ends) is an estimate changing, not a send.
         * Entering recovery, RFC 6675 §5 (4.3) retransmits the first lost segment whatever
         * pipe says: then pipe may grow by that one segment. */
        uint32_t smss = i->snd_eff_mss ? i->snd_eff_mss : i->snd_mss;
        uint64_t extra = 3ull * i->snd_mss + 2;
        bool sent = i->counters.bytes_out > sd->w.counters.bytes_out;
        bool entered = i->counters.recoveries > sd->w.counters.recoveries;
        if (sent && i->pipe > i->cwnd + extra && !(entered && i->pipe <= sd->w.pipe + smss))
            return fail(run, sd, "sent with pipe %zu > cwnd %u + %llu (pipe was %zu, phase %s)",
                        i->pipe, i->cwnd, (unsigned long long)extra, sd->w.pipe,
                        synack_cc_phase_name(i->phase));
        if (i->cwnd < smss) return fail(run, sd, "cwnd %u < one segment (%u)", i->cwnd, smss);
        if (i->ssthresh != 0 && i->ssthresh != UINT32_MAX && i->ssthresh < 2u * smss)
            return fail(run, sd, "ssthresh %u < 2*SMSS (%u)", i->ssthresh, 2u * smss);
    }
    return true;
}

static bool check_conn(struct run *run, struct tside *sd)
{
    if (!sd->conn || run->failed) return !run->failed;
    struct synack_tcp_info i;
    int rc = synack_tcp_info(sd->conn, &i);
    if (rc < 0) return fail(run, sd, "synack_tcp_info: %s", synack_strerror(rc));
    run->r->checks++;
    bool ok = check_send(run, sd, &i) && check_receive(run, sd, &i) &&
              check_counters_monotonic(run, sd, &i.counters) &&
              (!is_sync(i.state) || check_options(run, sd, &i));
    if (run->o->trace && (!sd->w.have || i.state != sd->w.state || i.snd_una != sd->w.snd_una ||
                          i.snd_nxt != sd->w.snd_nxt || i.cwnd != sd->w.cwnd ||
                          i.pipe != sd->w.pipe || i.rcv_nxt != sd->w.rcv_nxt))
        trace(run, sd,
              "info: %s una %u nxt %u wnd %u rcv_nxt %u rcv_wnd %u cwnd %u ssthresh %u "
              "pipe %zu %s sacked %u lost %u rtx %u rto %.3f srtt %.3f rttvar %.3f sndbuf %zu/%zu "
              "rcvbuf %zu/%zu",
              synack_state_name(i.state), i.snd_una, i.snd_nxt, i.snd_wnd, i.rcv_nxt, i.rcv_wnd,
              i.cwnd, i.ssthresh, i.pipe, synack_cc_phase_name(i.phase), i.sacked_segs, i.lost_segs,
              i.retrans_segs, secs(i.rto), secs(i.srtt), secs(i.rttvar), i.send_queued, i.sndbuf,
              i.recv_queued, i.rcvbuf);
    sd->w.have = true;
    sd->w.pipe = i.pipe;
    sd->w.snd_una = i.snd_una;
    sd->w.snd_nxt = i.snd_nxt;
    sd->w.rcv_nxt = i.rcv_nxt;
    sd->w.cwnd = i.cwnd;
    sd->w.state = i.state;
    sd->w.counters = i.counters;
    return ok;
}

static bool check_all(struct run *run)
{
    return check_conn(run, &run->side[0]) && check_conn(run, &run->side[1]);
}

/* ---- the wire: what each side advertises ---- */

static void note_adv_edge(struct tside *sd, uint32_t edge)
{
    if (!sd->have_adv || synack_seq_gt(edge, sd->adv_edge)) sd->adv_edge = edge;
    sd->have_adv = true;
}

static void wire_observe(struct run *run, const struct synack_sim_packet *ev)
{
    if (ev->from < 0 || ev->from > 1) return;
    struct tside *sd = &run->side[ev->from], *peer = &run->side[1 - ev->from];
    struct synack_segment tcp;
    enum synack_drop why = synack_segment_parse(ev->pkt, ev->len, &tcp);
    struct synack_addr src;
    /* Not TCP: the UDP datagrams of the run (their content is checked where they land), and
     * the ICMPv6 errors that answer IPv6 packets whose unguarded Next Header a corruption
     * changed (RFC 8200 §4). */
    uint8_t proto = 0;
    if (why == SYNACK_DROP_IP_PROTOCOL && ev->len >= 10 &&
        synack_packet_addrs(ev->pkt, ev->len, &src, NULL) == 0)
        proto = ev->pkt[src.family == SYNACK_AF_INET6 ? 6 : 9];
    if (proto == 17 || proto == 58) return;
    if (why != SYNACK_DROP_NONE) {
        fail(run, sd, "sent a packet that does not parse (%zu bytes)", ev->len);
        return;
    }
    if (tcp.flags & SYNACK_TCP_RST) return;
    /* RFC 9293 §3.8.6.1: data stays inside the window the peer offered; only a
     * zero-window probe goes one byte past it. The peer's largest edge on the wire bounds
     * whatever the sender can have learnt. */
    uint32_t data_end = tcp.seq + (uint32_t)tcp.payload_len;
    if (tcp.payload_len && peer->have_adv && synack_seq_gt(data_end, peer->adv_edge + 1)) {
        fail(run, sd, "sent data up to %u, past the right edge %u the peer ever advertised",
             data_end, peer->adv_edge);
        return;
    }
    if (tcp.flags & SYNACK_TCP_SYN) {
        sd->syn_seen = true;
        sd->syn_wscale = tcp.has_wscale ? tcp.wscale : -1;
        if (tcp.flags & SYNACK_TCP_ACK) note_adv_edge(sd, tcp.ack + tcp.window); /* unscaled */
        return;
    }
    if (!(tcp.flags & SYNACK_TCP_ACK)) return;
    if (tcp.window == 0) run->r->zero_windows[sd->idx]++;
    unsigned ws = (sd->syn_wscale >= 0 && peer->syn_seen && peer->syn_wscale >= 0)
                      ? (unsigned)sd->syn_wscale
                      : 0;
    if (ws > 14) ws = 14;
    uint32_t edge = tcp.ack + ((uint32_t)tcp.window << ws);
    uint32_t slack = (1u << ws) - 1;
    if (sd->have_edge && synack_seq_lt(edge + slack, sd->max_edge)) {
        fail(run, sd,
             "advertised right edge moved left on the wire: ack %u win %u<<%u = %u, "
             "before %u",
             tcp.ack, tcp.window, ws, edge, sd->max_edge);
        return;
    }
    if (!sd->have_edge || synack_seq_gt(edge, sd->max_edge)) sd->max_edge = edge;
    sd->have_edge = true;
    note_adv_edge(sd, edge);
}

static void observer(void *ctx, const struct synack_sim_packet *ev)
{
    struct run *run = ctx;
    if (ev->kind == SYNACK_SIM_SENT) wire_observe(run, ev);
    if (ev->kind == SYNACK_SIM_DELIVERED && (ev->flags & SYNACK_SIM_F_CORRUPTED) && ev->to >= 0 &&
        ev->to <= 1) {
        run->side[ev->to].corrupted_in++;
        run->r->corrupted++;
    }
    if (!run->o->trace) return;
    const char *dir = ev->from == 0 ? "c>s" : "s>c";
    if (ev->kind == SYNACK_SIM_SENT) {
        char line[400];
        synack_format_packet(line, sizeof line, ev->pkt, ev->len);
        fprintf(run->out, "%12.6f %s #%llu %s\n", secs(ev->time), dir,
                (unsigned long long)ev->number, line);
    } else if (ev->kind != SYNACK_SIM_DELIVERED || ev->flags) {
        fprintf(run->out, "%12.6f %s #%llu %s%s%s%s\n", secs(ev->time), dir,
                (unsigned long long)ev->number, synack_sim_packet_kind_name(ev->kind),
                ev->flags & SYNACK_SIM_F_CORRUPTED ? " corrupted" : "",
                ev->flags & SYNACK_SIM_F_DUPLICATE ? " duplicate" : "",
                ev->flags & SYNACK_SIM_F_REORDERED ? " reordered" : "");
    }
}

static void stack_trace(void *ctx, char dir, const uint8_t *pkt, size_t len, enum synack_drop drop,
                        synack_time_t now)
{
    struct tside *sd = ctx;
    (void)pkt;
    (void)len;
    if (drop != SYNACK_DROP_NONE && dir == 'i')
        fprintf(sd->run->out, "%12.6f %c  input dropped: %s\n", secs(now), sd->tag,
                synack_drop_name(drop));
}

/* ---- the application ---- */

static void side_release(struct tside *sd, const char *why)
{
    if (!sd->conn || sd->released) return;
    trace(sd->run, sd, "close() (%s)", why);
    synack_tcp_close(sd->conn, now_of(sd->run));
    sd->released = true;
    sd->conn = NULL;
}

static void side_connected(struct tside *sd, struct synack_tcp *c)
{
    struct run *run = sd->run;
    if (!sd->have_conn) {
        sd->conn = c;
        sd->conn_id = synack_tcp_id(c);
        sd->have_conn = true;
    }
    sd->connected = true;
    sd->state = synack_tcp_state(sd->conn);
    trace(run, sd, "connected");
    if (sd->p->set_nodelay) synack_tcp_set_nodelay(sd->conn, !sd->p->nodelay);
    if (sd->p->keepalive) {
        int rc = synack_tcp_set_keepalive(sd->conn, sd->p->keepalive, sd->p->keepalive, 50);
        if (rc < 0) fail(run, sd, "synack_tcp_set_keepalive: %s", synack_strerror(rc));
    }
}

/* A late RST is legitimate only in one case: our FIN waited for its ACK (LAST_ACK or
 * CLOSING) after the peer's connection had already finished its TIME_WAIT and closed, so
 * the peer's stack answered our retransmitted FIN with a RST. */
static bool is_late_reset(struct run *run, struct tside *sd, int err)
{
    struct tside *peer = &run->side[1 - sd->idx];
    return err == SYNACK_ERR_CONNRESET && peer->closed && sd->eof &&
           (sd->state == SYNACK_LAST_ACK || sd->state == SYNACK_CLOSING) &&
           peer->read == sd->p->bytes;
}

/* UDP datagram `idx` sent in direction `dir`: its index, then stream bytes of its own. */
static size_t udp_datagram(uint64_t seed, int dir, unsigned idx, size_t len, uint8_t *out)
{
    out[0] = (uint8_t)(idx >> 8);
    out[1] = (uint8_t)idx;
    stream_fill(stream_key(seed, 2 + dir), (uint64_t)idx * 4096, out + 2, len - 2);
    return len;
}

/* One more datagram to the peer, if this side has any left: 2 to MTU - headers bytes. */
static void side_udp_send(struct tside *sd, synack_time_t now)
{
    struct run *run = sd->run;
    if (sd->udp_sent >= run->p.udp_count[sd->idx]) return;
    size_t max = sd->p->mtu - (run->p.ipv6 ? 40u : 20u) - 8u;
    size_t len = (size_t)rnd_range(&sd->udp_rng, 2, max);
    udp_datagram(run->p.seed, sd->idx, sd->udp_sent, len, run->buf);
    struct synack_endpoint to = {torture_addr(run->p.ipv6, sd->idx ? CLIENT_ADDR : SERVER_ADDR),
                                 UDP_PORT};
    synack_ssize rc = synack_udp_send(sd->udp, run->buf, len, &to, now);
    if (rc == (synack_ssize)len) {
        sd->udp_sent++;
    } else if (rc != SYNACK_ERR_AGAIN) {
        fail(run, sd, "synack_udp_send: %s", synack_strerror((int)rc));
    }
}

/* Every datagram that arrives is one the peer sent, byte for byte (a corrupted one must
 * have been dropped by its checksum); duplicates (the link's) are allowed. */
static void side_udp_read(struct tside *sd, synack_time_t now)
{
    struct run *run = sd->run;
    int dir = 1 - sd->idx;
    synack_ssize n;
    while ((n = synack_udp_recv(sd->udp, run->buf, 2048, NULL, now)) >= 0) {
        unsigned idx = n >= 2 ? (unsigned)(run->buf[0] << 8 | run->buf[1]) : UINT32_MAX;
        if (n < 2 || idx >= run->p.udp_count[dir]) {
            fail(run, sd, "a UDP datagram of %zd bytes the peer never sent", (ssize_t)n);
            return;
        }
        udp_datagram(run->p.seed, dir, idx, (size_t)n, run->expect);
        if (memcmp(run->buf, run->expect, (size_t)n) != 0) {
            fail(run, sd, "UDP datagram %u arrived altered", idx);
            return;
        }
        sd->udp_got++;
    }
}

static void side_event(struct tside *sd, const struct synack_event *ev)
{
    struct run *run = sd->run;
    if (ev->conn_id == sd->udp_id) {
        if (ev->type == SYNACK_EV_READABLE) side_udp_read(sd, ev->time);
        return;
    }
    switch (ev->type) {
    case SYNACK_EV_STATE:
        if (sd->have_conn && ev->conn_id == sd->conn_id) sd->state = ev->new_state;
        trace(run, sd, "%s -> %s", synack_state_name(ev->old_state),
              synack_state_name(ev->new_state));
        break;
    case SYNACK_EV_CONNECTED:
        if (sd->have_conn && ev->conn_id == sd->conn_id) side_connected(sd, sd->conn);
        break;
    case SYNACK_EV_ACCEPTABLE: {
        struct synack_tcp *c;
        while (synack_tcp_accept(sd->listener, &c) == 0) {
            if (sd->have_conn) {
                fail(run, sd, "a second connection was accepted");
                synack_tcp_abort(c, now_of(run));
                continue;
            }
            side_connected(sd, c);
        }
        break;
    }
    case SYNACK_EV_ERROR:
        if (ev->conn_id != sd->conn_id) break;
        if (is_late_reset(run, sd, ev->err)) {
            trace(run, sd, "late RST after the peer closed: tolerated");
            run->r->late_resets++;
            break;
        }
        fail(run, sd, "connection failed: %s (last seen in %s; sent %llu/%llu, read %llu/%llu)",
             synack_strerror(ev->err), synack_state_name(sd->state),
             (unsigned long long)sd->written, (unsigned long long)sd->p->bytes,
             (unsigned long long)sd->read, (unsigned long long)run->side[1 - sd->idx].p->bytes);
        break;
    case SYNACK_EV_CLOSED:
        if (ev->conn_id != sd->conn_id) break;
        sd->closed = true;
        trace(run, sd, "CLOSED event");
        side_release(sd, "CLOSED");
        break;
    case SYNACK_EV_CC:
        trace(run, sd, "cc %s -> %s cwnd %u ssthresh %u", synack_cc_phase_name(ev->old_phase),
              synack_cc_phase_name(ev->new_phase), ev->cwnd, ev->ssthresh);
        break;
    default:
        break;
    }
}

static void drain_events(struct run *run)
{
    struct synack_event ev;
    for (int i = 0; i < 2; i++)
        while (synack_stack_next_event(run->side[i].stack, &ev) == 0)
            side_event(&run->side[i], &ev);
}

static void side_write(struct tside *sd, synack_time_t now)
{
    struct run *run = sd->run;
    const struct torture_side *p = sd->p;
    if (sd->idx == TORTURE_SERVER && run->p.server_waits_for_eof && !sd->eof) return;
    while (!sd->shut && !sd->released && sd->written < p->bytes) {
        if (!sd->cc_switched && sd->written >= p->switch_cc_at) {
            sd->cc_switched = true;
            enum synack_cc other = p->cc == SYNACK_CC_CUBIC ? SYNACK_CC_NEWRENO : SYNACK_CC_CUBIC;
            trace(run, sd, "set_cc(%s)", synack_cc_name(other));
            int rc = synack_tcp_set_cc(sd->conn, other);
            if (rc < 0) fail(run, sd, "synack_tcp_set_cc: %s", synack_strerror(rc));
        }
        if (sd->chunk_off == sd->chunk_len) {
            /* The application's next write: a random size, offered until taken. */
            uint64_t left = p->bytes - sd->written;
            size_t n = (size_t)rnd_range(&sd->rng, 1, p->write_max);
            if (n > left) n = (size_t)left;
            stream_fill(stream_key(run->p.seed, sd->idx), sd->written, sd->chunk, n);
            sd->chunk_off = 0;
            sd->chunk_len = n;
        }
        size_t n = sd->chunk_len - sd->chunk_off;
        synack_ssize k = synack_tcp_send(sd->conn, sd->chunk + sd->chunk_off, n, now);
        if (k == SYNACK_ERR_AGAIN) break;
        if (k <= 0) {
            fail(run, sd, "send(%zu) returned %s in %s", n, k == 0 ? "0" : synack_strerror((int)k),
                 synack_state_name(sd->state));
            return;
        }
        if ((size_t)k > n) {
            fail(run, sd, "send(%zu) took %zd bytes", n, k);
            return;
        }
        trace(run, sd, "send %zu -> %zd", n, k);
        sd->written += (uint64_t)k;
        sd->chunk_off += (size_t)k;
        if ((size_t)k < n) break;
    }
}

/* How many bytes the rate-limited reader may take now; sets a wake-up when none. */
static uint64_t read_budget(struct tside *sd, synack_time_t now)
{
    uint64_t rate = sd->p->read_rate;
    if (!rate) return UINT64_MAX;
    uint64_t burst = sd->p->read_max > 4096 ? sd->p->read_max : 4096;
    synack_time_t dt = now - sd->token_time;
    sd->token_time = now;
    if (dt >= SYNACK_S(1))
        sd->tokens = burst;
    else
        sd->tokens += rate * dt / SYNACK_S(1);
    if (sd->tokens > burst) sd->tokens = burst;
    return sd->tokens;
}

static void side_read(struct tside *sd, synack_time_t now)
{
    struct run *run = sd->run;
    uint64_t peer_bytes = run->side[1 - sd->idx].p->bytes;
    uint64_t key = stream_key(run->p.seed, 1 - sd->idx);
    if (now < sd->paused_until) {
        if (sd->paused_until < sd->wake) sd->wake = sd->paused_until;
        return;
    }
    while (!sd->eof && !sd->released) {
        uint64_t budget = read_budget(sd, now);
        if (budget == 0) {
            /* Out of budget: come back when there is some, if there is anything to read
             * (data, or the end of the stream after the peer's FIN). */
            struct synack_tcp_info i;
            bool fin = sd->state == SYNACK_CLOSE_WAIT || sd->state == SYNACK_LAST_ACK ||
                       sd->state == SYNACK_CLOSING || sd->state == SYNACK_TIME_WAIT ||
                       sd->state == SYNACK_CLOSED;
            if (synack_tcp_info(sd->conn, &i) == 0 && (i.recv_queued > 0 || fin)) {
                synack_time_t w = now + SYNACK_S(1) * 1024 / sd->p->read_rate + 1;
                if (w < sd->wake) sd->wake = w;
            }
            return;
        }
        size_t n = (size_t)rnd_range(&sd->rng, 1, sd->p->read_max);
        if (n > budget) n = (size_t)budget;
        synack_ssize k = synack_tcp_recv(sd->conn, run->buf, n, now);
        if (k == SYNACK_ERR_AGAIN) return;
        if (k == 0) {
            sd->eof = true;
            trace(run, sd, "EOF after %llu bytes", (unsigned long long)sd->read);
            if (sd->read != peer_bytes)
                fail(run, sd, "EOF after %llu of %llu bytes", (unsigned long long)sd->read,
                     (unsigned long long)peer_bytes);
            return;
        }
        if (k < 0) {
            fail(run, sd, "recv returned %s in %s", synack_strerror((int)k),
                 synack_state_name(sd->state));
            return;
        }
        if ((size_t)k > n || sd->read + (uint64_t)k > peer_bytes) {
            fail(run, sd, "recv(%zu) returned %zd at offset %llu of %llu", n, k,
                 (unsigned long long)sd->read, (unsigned long long)peer_bytes);
            return;
        }
        stream_fill(key, sd->read, run->expect, (size_t)k);
        if (memcmp(run->buf, run->expect, (size_t)k) != 0) {
            size_t at = 0;
            while (run->buf[at] == run->expect[at])
                at++;
            fail(run, sd, "byte %llu read is 0x%02x, sent 0x%02x",
                 (unsigned long long)(sd->read + at), run->buf[at], run->expect[at]);
            return;
        }
        trace(run, sd, "recv %zu -> %zd", n, k);
        sd->read += (uint64_t)k;
        if (sd->p->read_rate) sd->tokens -= (uint64_t)k;
        const struct torture_side *p = sd->p;
        if (sd->next_pause < p->pauses && sd->read >= p->pause_at[sd->next_pause]) {
            sd->paused_until = now + p->pause_len[sd->next_pause++];
            trace(run, sd, "reader pauses until %.6f", secs(sd->paused_until));
            if (sd->paused_until < sd->wake) sd->wake = sd->paused_until;
            return;
        }
    }
}

/* The end of each side's choreography: half-close, then close. */
static void side_finish(struct tside *sd, synack_time_t now)
{
    struct run *run = sd->run;
    if (sd->released) return;
    bool written = sd->written == sd->p->bytes;
    bool want_shut =
        written && (sd->idx == TORTURE_CLIENT || sd->eof || run->p.server_shutdown_early);
    if (!sd->shut && want_shut) {
        if (sd->idx == TORTURE_SERVER && sd->p->close_directly && sd->eof) {
            sd->shut = true;
            side_release(sd, "done: close with queued data");
            return;
        }
        trace(run, sd, "shutdown()");
        int rc = synack_tcp_shutdown(sd->conn, now);
        if (rc < 0) {
            fail(run, sd, "shutdown: %s in %s", synack_strerror(rc), synack_state_name(sd->state));
            return;
        }
        sd->shut = true;
    }
    if (sd->shut && sd->eof && sd->p->close_directly) side_release(sd, "done");
}

static bool has_failed(const struct run *run)
{
    return run->failed;
}

static void app_step(struct run *run)
{
    synack_time_t now = now_of(run);
    for (int i = 0; i < 2; i++) {
        struct tside *sd = &run->side[i];
        sd->wake = SYNACK_NEVER;
        if (!run->failed) side_udp_send(sd, now);
        if (!sd->connected || sd->released || run->failed) continue;
        /* Each step may fail the run (fail() sets run->failed through sd->run). */
        side_read(sd, now);
        if (has_failed(run)) return;
        side_write(sd, now);
        if (has_failed(run)) return;
        side_finish(sd, now);
    }
}

static synack_time_t app_wake(const struct run *run)
{
    synack_time_t w = SYNACK_NEVER;
    for (int i = 0; i < 2; i++)
        if (run->side[i].wake < w) w = run->side[i].wake;
    return w;
}

/* ---- set-up ---- */

/* The stack's allocator: counts live bytes in a header before each block. */
#define ALLOC_HDR 16
static void *count_alloc(void *ctx, size_t size)
{
    struct tside *sd = ctx;
    uint8_t *p = malloc(ALLOC_HDR + size);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    sd->live += size;
    return p + ALLOC_HDR;
}

static void count_free(void *ctx, void *ptr)
{
    struct tside *sd = ctx;
    uint8_t *p = (uint8_t *)ptr - ALLOC_HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    sd->live -= size;
    free(p);
}

static int make_stack(struct run *run, struct tside *sd, uint32_t addr)
{
    struct torture_side *p = sd->p;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = torture_addr(run->p.ipv6, addr);
    struct prng k = prng_for(run->p.seed, 50 + (uint64_t)sd->idx);
    cfg.seed = rnd_u64(&k);
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)rnd_u64(&k);
    cfg.mtu = p->mtu;
    cfg.sndbuf = p->sndbuf;
    cfg.rcvbuf = p->rcvbuf;
    cfg.sndbuf_max = p->sndbuf_max;
    cfg.rcvbuf_max = p->rcvbuf_max;
    cfg.msl = p->msl;
    cfg.rto_min = p->rto_min;
    cfg.rto_max = p->rto_max;
    /* Enough retries that 20% loss both ways cannot legitimately time out. */
    cfg.syn_retries = 20;
    cfg.data_retries = 30;
    cfg.window_scale = p->window_scale;
    cfg.timestamps = p->timestamps;
    cfg.sack = p->sack;
    cfg.rack = p->rack;
    cfg.cc = p->cc;
    cfg.init_cwnd = p->init_cwnd;
    cfg.nodelay = p->nodelay;
    cfg.delack_timeout = p->delack_timeout;
    cfg.alloc = count_alloc;
    cfg.free = count_free;
    cfg.alloc_ctx = sd;
    int rc = synack_stack_new(&sd->stack, &cfg);
    if (rc < 0) {
        fail(run, sd, "synack_stack_new: %s", synack_strerror(rc));
        return rc;
    }
    struct synack_endpoint local = {.port = UDP_PORT};
    rc = synack_udp_bind(sd->stack, &local, sd, &sd->udp);
    if (rc < 0) {
        fail(run, sd, "synack_udp_bind: %s", synack_strerror(rc));
        return rc;
    }
    sd->udp_id = synack_udp_id(sd->udp);
    sd->udp_rng = prng_for(run->p.seed, 72 + (uint64_t)sd->idx);
    sd->baseline = sd->live;
    if (run->o->trace) synack_stack_set_trace(sd->stack, stack_trace, sd);
    return 0;
}

static int setup(struct run *run, const char *pcap)
{
    int rc = synack_sim_new(&run->sim, mix64(run->p.seed ^ 0x73696dull));
    if (rc < 0) {
        fail(run, NULL, "synack_sim_new: %s", synack_strerror(rc));
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        struct tside *sd = &run->side[i];
        sd->idx = i;
        sd->tag = i ? 's' : 'c';
        sd->run = run;
        sd->p = &run->p.side[i];
        sd->rng = prng_for(run->p.seed, 60 + (uint64_t)i);
        sd->syn_wscale = -1;
        sd->wake = SYNACK_NEVER;
        if ((rc = make_stack(run, sd, i ? SERVER_ADDR : CLIENT_ADDR)) < 0) return rc;
        if ((rc = synack_sim_add_stack(run->sim, sd->stack)) != i) {
            fail(run, sd, "synack_sim_add_stack: %d", rc);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        rc = synack_sim_add_link(run->sim, i, 1 - i, &run->p.link[i]);
        if (rc < 0) {
            fail(run, NULL, "synack_sim_add_link: %s", synack_strerror(rc));
            return rc;
        }
    }
    if (pcap && (rc = synack_sim_capture(run->sim, pcap)) < 0) {
        fail(run, NULL, "capture: %s", synack_sim_error(run->sim));
        return rc;
    }
    synack_sim_set_observer(run->sim, observer, run);
    struct tside *c = &run->side[0], *s = &run->side[1];
    struct synack_endpoint server = {torture_addr(run->p.ipv6, SERVER_ADDR), SERVER_PORT};
    rc = synack_tcp_listen(s->stack, &server, 4, s, &s->listener);
    if (rc < 0) {
        fail(run, s, "listen: %s", synack_strerror(rc));
        return rc;
    }
    struct synack_tcp *conn;
    rc = synack_tcp_connect(c->stack, &server, NULL, c, &conn, 0);
    if (rc < 0) {
        fail(run, c, "connect: %s", synack_strerror(rc));
        return rc;
    }
    c->conn = conn;
    c->conn_id = synack_tcp_id(conn);
    c->have_conn = true;
    return 0;
}

/* ---- the end ---- */

static bool is_malformed_drop(size_t k)
{
    /* A corrupted version nibble turns an IPv4 packet into an IPv6 one: its drops count. */
    return (k >= SYNACK_DROP_IP_TRUNCATED && k <= SYNACK_DROP_IP_BAD_SOURCE) ||
           (k >= SYNACK_DROP_TCP_TRUNCATED && k <= SYNACK_DROP_TCP_PORT_ZERO) ||
           (k >= SYNACK_DROP_IP6_TRUNCATED && k <= SYNACK_DROP_IP6_ROUTING) ||
           k == SYNACK_DROP_UDP_TRUNCATED || k == SYNACK_DROP_UDP_CHECKSUM;
}

static bool check_final_side(struct run *run, struct tside *sd)
{
    const struct synack_counters *c = &run->r->counters[sd->idx];
    const struct torture_side *me = sd->p, *peer = run->side[1 - sd->idx].p;
    if (c->bytes_in != peer->bytes)
        return fail(run, sd, "counted %llu bytes in, the peer sent %llu",
                    (unsigned long long)c->bytes_in, (unsigned long long)peer->bytes);
    if (c->retransmits > c->segs_out || c->fast_retransmits > c->retransmits)
        return fail(run, sd, "counters: retransmits %llu segs_out %llu fast_retransmits %llu",
                    (unsigned long long)c->retransmits, (unsigned long long)c->segs_out,
                    (unsigned long long)c->fast_retransmits);
    if (c->dsacks_in > c->sack_blocks_in)
        return fail(run, sd, "counters: dsacks_in %llu > sack_blocks_in %llu",
                    (unsigned long long)c->dsacks_in, (unsigned long long)c->sack_blocks_in);
    if (!(me->sack && peer->sack) && (c->sack_blocks_in || c->dsacks_out))
        return fail(run, sd, "SACK not negotiated but sack_blocks_in %llu dsacks_out %llu",
                    (unsigned long long)c->sack_blocks_in, (unsigned long long)c->dsacks_out);
    if (!me->rack && (c->rack_losses || c->tlp_probes))
        return fail(run, sd, "RACK off but rack_losses %llu tlp_probes %llu",
                    (unsigned long long)c->rack_losses, (unsigned long long)c->tlp_probes);
    uint64_t malformed = 0;
    for (size_t k = 0; k < SYNACK_DROP_COUNT; k++)
        if (is_malformed_drop(k)) malformed += c->drops[k];
    /* IPv4 guards every byte of a packet with a checksum, so every corrupted packet is
     * dropped; IPv6 leaves the traffic class, flow label and hop limit unguarded (RFC 8200
     * §3 has no header checksum), so a corrupted IPv6 packet may pass, never the reverse. */
    if (run->p.ipv6 ? malformed > sd->corrupted_in : malformed != sd->corrupted_in)
        return fail(run, sd, "%llu corrupted packets delivered but %llu dropped as malformed",
                    (unsigned long long)sd->corrupted_in, (unsigned long long)malformed);
    /* Every connection, record and listener is gone. Blocks the storage cache holds past
     * what it keeps for good go once it has gone unused for a while: its one deadline,
     * set again at most once after the last use. Run it as a program that went on would,
     * then nothing may be armed. */
    struct synack_stack_stats st;
    synack_stack_stats(sd->stack, &st);
    synack_time_t d = synack_stack_next_deadline(sd->stack);
    for (int i = 0; i < 2 && d != SYNACK_NEVER && st.storage_cached != 0; i++) {
        synack_stack_handle_timers(sd->stack, d);
        d = synack_stack_next_deadline(sd->stack);
        synack_stack_stats(sd->stack, &st);
    }
    if (d != SYNACK_NEVER)
        return fail(run, sd, "a timer is still armed (at %.6f s) with no connection", secs(d));
    /* The stack holds what it held when it was made, not a byte more. */
    if (st.mem_held != 0)
        return fail(run, sd, "the stack counts %zu bytes of data held with no connection",
                    st.mem_held);
    if (st.conn_storage != 0)
        return fail(run, sd, "the stack counts %zu bytes of buffers and tables with no connection",
                    st.conn_storage);
    /* ... but the blocks its storage cache keeps for the next buffer, which it counts. */
    if (st.storage_cached > ((size_t)2 << 20))
        return fail(run, sd, "the storage cache holds %zu bytes, past its 2 MiB",
                    st.storage_cached);
    if (sd->live != sd->baseline + st.storage_cached)
        return fail(run, sd, "the stack holds %zu bytes, %zu when it was made and %zu cached",
                    sd->live, sd->baseline, st.storage_cached);
    return true;
}

static void run_loop(struct run *run)
{
    synack_time_t bound = run->p.bound;
    double segs = 0;
    for (int i = 0; i < 2; i++)
        segs += (double)run->p.side[i].bytes / 200.0;
    /* A livelock guard in steps, far above what any seed should need. */
    uint64_t max_events = 2000000 + (uint64_t)(segs * 400);
    for (;;) {
        drain_events(run);
        app_step(run);
        synack_sim_flush(run->sim); /* what the application just queued goes on the wire */
        drain_events(run);
        check_all(run);
        if (run->failed) return;
        if (run->side[0].closed && run->side[1].closed) return;
        synack_time_t next = synack_sim_next_time(run->sim), wake = app_wake(run);
        synack_time_t t = next < wake ? next : wake;
        if (t == SYNACK_NEVER) {
            fail(run, NULL, "stuck: nothing pending, client %s, server %s",
                 synack_state_name(run->side[0].state), synack_state_name(run->side[1].state));
            return;
        }
        if (t > bound) {
            synack_sim_run_until(run->sim, bound);
            fail(run, NULL,
                 "not finished within the bound %.3f s: client %s sent %llu/%llu read "
                 "%llu, server %s sent %llu/%llu read %llu",
                 secs(bound), synack_state_name(run->side[0].state),
                 (unsigned long long)run->side[0].written,
                 (unsigned long long)run->side[0].p->bytes, (unsigned long long)run->side[0].read,
                 synack_state_name(run->side[1].state), (unsigned long long)run->side[1].written,
                 (unsigned long long)run->side[1].p->bytes, (unsigned long long)run->side[1].read);
            return;
        }
        int rc = next <= wake ? synack_sim_step(run->sim) : synack_sim_run_until(run->sim, wake);
        if (run->o->trace)
            fprintf(run->out, "%12.6f --- step %llu\n", secs(now_of(run)),
                    (unsigned long long)run->r->events + 1);
        if (rc < 0) {
            fail(run, NULL, "simulator: %s (%s)", synack_strerror(rc), synack_sim_error(run->sim));
            return;
        }
        if (++run->r->events > max_events) {
            fail(run, NULL, "more than %llu events: livelock?", (unsigned long long)max_events);
            return;
        }
        drain_events(run);
        check_all(run);
    }
}

static void run_once(uint64_t seed, const struct torture_opts *o, const char *pcap,
                     struct torture_result *r, FILE *out)
{
    memset(r, 0, sizeof *r);
    struct run *run = calloc(1, sizeof *run);
    uint8_t *bufs = malloc(4 * IO_MAX);
    if (!run || !bufs) {
        snprintf(r->failure, sizeof r->failure, "out of memory");
        free(run);
        free(bufs);
        return;
    }
    run->o = o;
    run->r = r;
    run->out = out;
    run->buf = bufs;
    run->expect = bufs + IO_MAX;
    run->side[0].chunk = bufs + 2 * IO_MAX;
    run->side[1].chunk = bufs + 3 * IO_MAX;
    torture_params_derive(seed, o->profile, &run->p);
    r->bound = run->p.bound;
    if (setup(run, pcap) == 0) {
        if (o->verbose) torture_params_print(out, &run->p);
        run_loop(run);
    }
    r->sim_time = run->sim ? now_of(run) : 0;
    for (int i = 0; i < 2; i++) {
        struct tside *sd = &run->side[i];
        r->bytes[1 - i] = sd->read;
        if (sd->stack) synack_stack_counters(sd->stack, &r->counters[i]);
    }
    if (!run->failed) {
        /* A SYN that overtook the close (reordered, duplicated) may have left a half-open
         * connection on the listener: closing the listener must reset it, timers and all. */
        struct tside *s = &run->side[TORTURE_SERVER];
        synack_listener_close(s->listener, now_of(run));
        s->listener = NULL;
        synack_sim_flush(run->sim);
        for (int i = 0; i < 2 && check_final_side(run, &run->side[i]); i++)
            ;
    }
    r->ok = !run->failed;
    synack_sim_free(run->sim); /* closes the capture */
    for (int i = 0; i < 2; i++)
        synack_stack_free(run->side[i].stack);
    free(bufs);
    free(run);
}

int torture_run_seed(uint64_t seed, const struct torture_opts *o, struct torture_result *r)
{
    FILE *out = o->out ? o->out : stderr;
    char path[256];
    if (o->pcap)
        snprintf(path, sizeof path, "%s", o->pcap);
    else if (o->profile == TORTURE_RANDOM)
        snprintf(path, sizeof path, "torture-seed%llu.pcap", (unsigned long long)seed);
    else
        snprintf(path, sizeof path, "torture-%s-seed%llu.pcap", torture_profile_name(o->profile),
                 (unsigned long long)seed);
    run_once(seed, o, o->pcap_always && !o->no_pcap ? path : NULL, r, out);
    if (r->ok) {
        if (o->pcap_always && !o->no_pcap) snprintf(r->pcap, sizeof r->pcap, "%s", path);
        return 0;
    }
    if (!o->pcap_always && !o->no_pcap) {
        /* Deterministic: the same seed again, this time with a capture open. */
        struct torture_result again;
        struct torture_opts quiet = *o;
        quiet.verbose = quiet.trace = false;
        run_once(seed, &quiet, path, &again, out);
        if (again.ok || strcmp(again.failure, r->failure) != 0) {
            size_t n = strlen(r->failure);
            snprintf(r->failure + n, sizeof r->failure - n, " [NOT DETERMINISTIC: rerun %s]",
                     again.ok ? "passed" : again.failure);
        }
    }
    if (!o->no_pcap) snprintf(r->pcap, sizeof r->pcap, "%s", path);
    char profile[64] = "";
    if (o->profile != TORTURE_RANDOM)
        snprintf(profile, sizeof profile, " --profile %s", torture_profile_name(o->profile));
    fprintf(out,
            "torture: seed %llu FAILED: %s; replay: synack torture --seed %llu%s --pcap "
            "seed%llu.pcap%s%s\n",
            (unsigned long long)seed, r->failure, (unsigned long long)seed, profile,
            (unsigned long long)seed, r->pcap[0] ? "; capture left in " : "", r->pcap);
    return -1;
}
