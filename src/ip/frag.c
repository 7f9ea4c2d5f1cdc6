/*
 * IP fragment reassembly and the fragmentation plan (the contracts are in frag.h).
 *
 * Bookkeeping. RFC 815 keeps a list of holes; here a datagram keeps the list of what it
 * holds instead: its fragments, sorted by offset and never overlapping (an overlap ends
 * the datagram, RFC 5722 §4), so a new fragment is checked against its two neighbours
 * only, and the datagram is whole when its last fragment has come and the bytes held add
 * up to the end it gave. The last fragment inserted is remembered, so fragments arriving
 * in order, or in reverse order, are placed without walking the list.
 *
 * Lookup is a keyed hash of the key; age is a list per family in arrival order, which with
 * one timeout per family is also deadline order. Memory is charged as frag.h says, and the
 * charge is checked before each allocation, so what the allocator holds for datagrams in
 * progress never passes the cap.
 */
#include "base/addr.h"
#include "ip/frag.h"

#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"

#define FAM_V4 0
#define FAM_V6 1
#define IPV6_FIXED_HDR_LEN 40u
#define IPV4_MIN_HDR_LEN 20u
#define IPV4_MAX_HDR_LEN 60u
#define IPV6_PAYLOAD_LEN_FIELD 4u /* offset of Payload Length in the IPv6 header */
#define FRAG_OFFSET_FIELD 2u      /* offset of Fragment Offset in the Fragment header */

/* What names a datagram: RFC 791 §3.2 (source, destination, protocol, identification),
 * RFC 8200 §4.5 (source, destination, identification). */
struct reasm_key {
    uint8_t family; /* enum synack_family */
    uint8_t proto;  /* IPv4 only; 0 for IPv6 */
    uint32_t id;    /* 16 bits for IPv4, 32 for IPv6 */
    struct synack_addr src, dst;
    uint64_t hash; /* key_hash of the fields above */
};

/* One fragment held: [off, off + len) of the datagram's data. */
struct frag_node {
    struct frag_node *next; /* the next higher offset */
    uint32_t off, len;
    uint8_t data[];
};

struct ip_reasm_dgram {
    struct ip_reasm_dgram *hash_next;
    struct ip_reasm_dgram *age_prev, *age_next;
    struct reasm_key key;
    uint64_t serial;        /* arrival order among datagrams */
    synack_time_t deadline; /* first fragment's arrival + the family's timeout */
    size_t charge;          /* what this datagram is charged against the cap */
    bool dead;              /* dropped for overlap: only the record remains */
    bool end_known;         /* the last fragment (no more to come) is held */
    bool has_first;         /* the fragment at offset 0 is held */
    uint32_t end;           /* end_known: the data length */
    uint32_t max_end;       /* the highest end of a fragment held */
    uint32_t received;      /* data bytes held; whole when end_known and received == end */
    struct frag_node *frags;
    struct frag_node *hint; /* the fragment inserted last */
    struct wire_ip_repr first;
};

_Static_assert(sizeof(struct ip_reasm_dgram) <= IP_REASM_DGRAM_OVERHEAD,
               "the datagram record outgrew its charge");
_Static_assert(sizeof(struct frag_node) <= IP_REASM_FRAG_OVERHEAD,
               "the fragment record outgrew its charge");

/* ---- configuration and memory ------------------------------------------------------------ */

void ip_reasm_config_default(struct ip_reasm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mem_cap = 256 * 1024;
    cfg->max_datagrams = 256;
    cfg->timeout_v4 = SYNACK_S(30);
    cfg->timeout_v6 = SYNACK_S(60); /* RFC 8200 §4.5 */
}

static bool config_is_valid(const struct ip_reasm_config *cfg)
{
    return cfg->mem_cap >= IP_REASM_DGRAM_OVERHEAD + IP_REASM_FRAG_OVERHEAD + 8 &&
           cfg->max_datagrams > 0 && cfg->timeout_v4 > 0 && cfg->timeout_v6 > 0 &&
           (cfg->alloc == NULL) == (cfg->free == NULL);
}

static void *reasm_alloc(struct ip_reasm *r, size_t size)
{
    return r->cfg.alloc ? r->cfg.alloc(r->cfg.alloc_ctx, size) : malloc(size);
}

static void reasm_release_mem(struct ip_reasm *r, void *p)
{
    if (!p) return;
    if (r->cfg.free)
        r->cfg.free(r->cfg.alloc_ctx, p);
    else
        free(p);
}

int ip_reasm_init(struct ip_reasm *r, const struct ip_reasm_config *cfg)
{
    memset(r, 0, sizeof *r);
    if (cfg)
        r->cfg = *cfg;
    else
        ip_reasm_config_default(&r->cfg);
    if (!config_is_valid(&r->cfg)) return SYNACK_ERR_INVAL;
    r->nbuckets = 1;
    while (r->nbuckets < r->cfg.max_datagrams && r->nbuckets < ((size_t)1 << 20))
        r->nbuckets <<= 1;
    r->buckets = reasm_alloc(r, r->nbuckets * sizeof *r->buckets);
    r->assembly = reasm_alloc(r, IP_REASM_MAX_DATA);
    if (!r->buckets || !r->assembly) {
        ip_reasm_free(r);
        return SYNACK_ERR_NOMEM;
    }
    memset(r->buckets, 0, r->nbuckets * sizeof *r->buckets);
    return 0;
}

/* ---- records: lookup, age, charge ------------------------------------------------------- */

static int fam_index(uint8_t family)
{
    return family == SYNACK_AF_INET6 ? FAM_V6 : FAM_V4;
}

/* Fills the key fields of `k` from `ip`; false when the addresses are not of one IP
 * family. */
static bool key_from_repr(const struct wire_ip_repr *ip, struct reasm_key *k)
{
    uint8_t family = ip->src.family;
    if ((family != SYNACK_AF_INET && family != SYNACK_AF_INET6) || ip->dst.family != family)
        return false;
    k->family = family;
    /* RFC 791 §3.2: the protocol is part of an IPv4 datagram's key, not of an IPv6 one's
     * (RFC 8200 §4.5); IPv4's Identification has 16 bits. */
    k->proto = family == SYNACK_AF_INET ? ip->proto : 0;
    k->id = family == SYNACK_AF_INET ? (ip->frag.id & 0xffffu) : ip->frag.id;
    k->src = ip->src;
    k->dst = ip->dst;
    return true;
}

static uint64_t key_hash(const struct ip_reasm *r, const struct reasm_key *k)
{
    uint8_t buf[2 + 4 + 16 + 16];
    buf[0] = k->family;
    buf[1] = k->proto;
    buf[2] = (uint8_t)(k->id >> 24);
    buf[3] = (uint8_t)(k->id >> 16);
    buf[4] = (uint8_t)(k->id >> 8);
    buf[5] = (uint8_t)k->id;
    memcpy(buf + 6, k->src.bytes, 16);
    memcpy(buf + 22, k->dst.bytes, 16);
    return siphash24(r->cfg.hash_key, buf, sizeof buf);
}

static bool key_eq(const struct reasm_key *a, const struct reasm_key *b)
{
    return a->family == b->family && a->proto == b->proto && a->id == b->id &&
           addr_eq(&a->src, &b->src) && addr_eq(&a->dst, &b->dst);
}

static struct ip_reasm_dgram *find(const struct ip_reasm *r, const struct reasm_key *k)
{
    struct ip_reasm_dgram *d = r->buckets[k->hash & (r->nbuckets - 1)];
    while (d && !key_eq(&d->key, k))
        d = d->hash_next;
    return d;
}

static void unlink_record(struct ip_reasm *r, struct ip_reasm_dgram *d)
{
    struct ip_reasm_dgram **pp = &r->buckets[d->key.hash & (r->nbuckets - 1)];
    while (*pp != d)
        pp = &(*pp)->hash_next;
    *pp = d->hash_next;
    struct ip_reasm_list *l = &r->by_age[fam_index(d->key.family)];
    if (d->age_prev)
        d->age_prev->age_next = d->age_next;
    else
        l->head = d->age_next;
    if (d->age_next)
        d->age_next->age_prev = d->age_prev;
    else
        l->tail = d->age_prev;
    d->hash_next = d->age_prev = d->age_next = NULL;
}

/* Frees the fragments from `n` to the end of d's list and takes their charge back; the
 * caller cuts the list before `n`. */
static void free_frags(struct ip_reasm *r, struct ip_reasm_dgram *d, struct frag_node *n)
{
    while (n) {
        struct frag_node *next = n->next;
        size_t charge = IP_REASM_FRAG_OVERHEAD + n->len;
        d->charge -= charge;
        r->bytes_held -= charge;
        d->received -= n->len;
        r->nfrags--;
        reasm_release_mem(r, n);
        n = next;
    }
}

/* Frees a record already out of the hash and the age lists, with its fragments. */
static void free_record(struct ip_reasm *r, struct ip_reasm_dgram *d)
{
    free_frags(r, d, d->frags);
    if (d->dead) r->ndead--;
    r->bytes_held -= d->charge;
    r->ndgrams--;
    reasm_release_mem(r, d);
}

static void destroy(struct ip_reasm *r, struct ip_reasm_dgram *d)
{
    unlink_record(r, d);
    free_record(r, d);
}

/* What was lent to the caller (an expired datagram's first fragment) is freed by the next
 * call. */
static void release_lent(struct ip_reasm *r)
{
    if (!r->lent) return;
    free_record(r, r->lent);
    r->lent = NULL;
}

void ip_reasm_release(struct ip_reasm *r)
{
    release_lent(r);
}

static struct ip_reasm_dgram *record_new(struct ip_reasm *r, const struct reasm_key *k,
                                         synack_time_t now)
{
    struct ip_reasm_dgram *d = reasm_alloc(r, sizeof *d);
    if (!d) return NULL;
    memset(d, 0, sizeof *d);
    d->key = *k;
    d->serial = r->serial++;
    synack_time_t timeout = k->family == SYNACK_AF_INET6 ? r->cfg.timeout_v6 : r->cfg.timeout_v4;
    d->deadline = now < SYNACK_NEVER - 1 - timeout ? now + timeout : SYNACK_NEVER - 1;
    d->charge = IP_REASM_DGRAM_OVERHEAD;
    r->bytes_held += d->charge;
    r->ndgrams++;
    struct ip_reasm_dgram **bucket = &r->buckets[k->hash & (r->nbuckets - 1)];
    d->hash_next = *bucket;
    *bucket = d;
    struct ip_reasm_list *l = &r->by_age[fam_index(k->family)];
    d->age_prev = l->tail;
    if (l->tail)
        l->tail->age_next = d;
    else
        l->head = d;
    l->tail = d;
    return d;
}

/* ---- age: deadlines and eviction --------------------------------------------------------- */

/* The record with the earliest deadline (IPv4 first on a tie). */
static struct ip_reasm_dgram *earliest(const struct ip_reasm *r)
{
    struct ip_reasm_dgram *a = r->by_age[FAM_V4].head, *b = r->by_age[FAM_V6].head;
    if (!a || !b) return a ? a : b;
    return b->deadline < a->deadline ? b : a;
}

/* The oldest record (first to arrive) other than `except`. */
static struct ip_reasm_dgram *oldest(const struct ip_reasm *r, const struct ip_reasm_dgram *except)
{
    struct ip_reasm_dgram *a = r->by_age[FAM_V4].head, *b = r->by_age[FAM_V6].head;
    if (a && a == except) a = a->age_next;
    if (b && b == except) b = b->age_next;
    if (!a || !b) return a ? a : b;
    return a->serial < b->serial ? a : b;
}

/* Evicts the oldest record but `except`; false when there is none. A datagram in progress is
 * counted (SYNACK_DROP_FRAG_EVICTED); the record of one dropped for overlap was counted
 * when it overlapped. */
static bool evict_oldest(struct ip_reasm *r, const struct ip_reasm_dgram *except)
{
    struct ip_reasm_dgram *d = oldest(r, except);
    if (!d) return false;
    if (!d->dead) r->counters.evictions++;
    destroy(r, d);
    return true;
}

/* Makes room under the cap for `need` more bytes charged to `d` (NULL: a new datagram,
 * whose record is part of `need`), evicting the oldest other records. False, evicting
 * nobody, when the datagram would not fit the cap even alone. */
static bool make_room(struct ip_reasm *r, const struct ip_reasm_dgram *d, size_t need)
{
    size_t own = d ? d->charge : 0;
    if (need > r->cfg.mem_cap - own) return false;
    while (r->bytes_held + need > r->cfg.mem_cap) {
        if (!evict_oldest(r, d)) return false;
    }
    return true;
}

synack_time_t ip_reasm_next_deadline(const struct ip_reasm *r)
{
    const struct ip_reasm_dgram *d = earliest(r);
    return d ? d->deadline : SYNACK_NEVER;
}

int ip_reasm_expire(struct ip_reasm *r, synack_time_t now, struct ip_reasm_expired *out)
{
    release_lent(r);
    struct ip_reasm_dgram *d;
    while ((d = earliest(r)) != NULL && d->deadline <= now) {
        if (d->dead) {
            destroy(r, d); /* RFC 5722 §4's "not yet received" ends with the timeout */
            continue;
        }
        r->counters.timeouts++;
        memset(out, 0, sizeof *out);
        out->family = d->key.family;
        out->has_first = d->has_first;
        if (!d->has_first) {
            destroy(r, d); /* RFC 792: no fragment zero, no time exceeded */
            return 1;
        }
        /* RFC 1122 §3.3.2, RFC 8200 §4.5: the caller quotes the first fragment (offset 0:
         * the head of the sorted list); the others go now, it goes at the next call. */
        unlink_record(r, d);
        free_frags(r, d, d->frags->next);
        d->frags->next = NULL;
        d->hint = d->frags;
        out->first = d->first;
        out->first_data = d->frags->data;
        out->first_len = d->frags->len;
        r->lent = d;
        return 1;
    }
    return 0;
}

/* ---- input ------------------------------------------------------------------------------- */

/* A fragment as the checks see it. */
struct frag_in {
    const struct wire_ip_repr *ip;
    const uint8_t *data;
    uint32_t off, len, end; /* len is clamped to IP_REASM_MAX_DATA + 1 (then malformed) */
    bool more;
    uint32_t overhead; /* header bytes the whole datagram carries besides its data */
};

/* The bytes a reassembled datagram's 16-bit length counts besides its data: the IPv4
 * header (RFC 791 §3.1 Total Length), or the extension headers before the Fragment header
 * (RFC 8200 §4.5: the reassembled Payload Length). */
static uint32_t header_overhead(const struct wire_ip_repr *ip)
{
    if (ip->src.family == SYNACK_AF_INET)
        return ip->header_len > IPV4_MIN_HDR_LEN ? ip->header_len : IPV4_MIN_HDR_LEN;
    return ip->frag.unfrag_len > IPV6_FIXED_HDR_LEN ? ip->frag.unfrag_len - IPV6_FIXED_HDR_LEN : 0;
}

static struct frag_in frag_in_make(const struct wire_ip_repr *ip, const uint8_t *data, size_t len)
{
    struct frag_in f = {.ip = ip, .data = data, .off = ip->frag.offset, .more = ip->frag.more};
    f.len = len > IP_REASM_MAX_DATA ? IP_REASM_MAX_DATA + 1 : (uint32_t)len;
    f.end = f.off + f.len;
    f.overhead = header_overhead(ip);
    return f;
}

/* RFC 8200 §4.5: the two malformed fragments an IPv6 node answers with a parameter problem
 * (code 0) pointing at the field at fault. */
static void ask_param_problem(const struct frag_in *f, uint32_t pointer,
                              struct wire_ip_problem *problem)
{
    if (f->ip->src.family != SYNACK_AF_INET6) return;
    problem->send = true;
    problem->code = 0;
    problem->pointer = pointer;
}

static enum synack_drop check_alone(const struct frag_in *f, struct wire_ip_problem *problem)
{
    if (f->off % 8 != 0 || f->len == 0) return SYNACK_DROP_FRAG_MALFORMED;
    /* RFC 791 §3.2, RFC 8200 §4.5: every fragment but the last carries a multiple of 8. */
    if (f->more && f->len % 8 != 0) {
        ask_param_problem(f, IPV6_PAYLOAD_LEN_FIELD, problem);
        return SYNACK_DROP_FRAG_MALFORMED;
    }
    /* RFC 791 §3.1 (Total Length), RFC 8200 §4.5 (Payload Length): 65535 at most. */
    if (f->end + f->overhead > IP_REASM_MAX_DATA) {
        ask_param_problem(f, f->ip->frag.unfrag_len + FRAG_OFFSET_FIELD, problem);
        return SYNACK_DROP_FRAG_MALFORMED;
    }
    return SYNACK_DROP_NONE;
}

/* Checks `f` against what its datagram already knows of its end. */
static enum synack_drop check_against(const struct ip_reasm_dgram *d, const struct frag_in *f,
                                      struct wire_ip_problem *problem)
{
    uint32_t overhead = f->overhead;
    if (d->has_first && header_overhead(&d->first) > overhead)
        overhead = header_overhead(&d->first);
    uint32_t end = f->end > d->max_end ? f->end : d->max_end;
    if (end + overhead > IP_REASM_MAX_DATA) {
        ask_param_problem(f, f->ip->frag.unfrag_len + FRAG_OFFSET_FIELD, problem);
        return SYNACK_DROP_FRAG_MALFORMED;
    }
    /* Past the known end, a fragment with more to come ending at it, or a second last
     * fragment with another end. */
    if (d->end_known && (f->more ? f->end >= d->end : f->end != d->end))
        return SYNACK_DROP_FRAG_MALFORMED;
    /* A last fragment below data already held. */
    if (!d->end_known && !f->more && f->end < d->max_end) return SYNACK_DROP_FRAG_MALFORMED;
    return SYNACK_DROP_NONE;
}

enum placement { PLACE_NEW, PLACE_DUPLICATE, PLACE_OVERLAP };

/* Where `f` goes in d's sorted list: after *prev (NULL: first). Only the neighbours can
 * overlap it, the list being sorted and disjoint. */
static enum placement place(const struct ip_reasm_dgram *d, const struct frag_in *f,
                            struct frag_node **prev_out)
{
    struct frag_node *prev = NULL, *next = d->frags;
    if (d->hint && d->hint->off <= f->off) {
        prev = d->hint;
        next = prev->next;
    }
    while (next && next->off <= f->off) {
        prev = next;
        next = next->next;
    }
    *prev_out = prev;
    if (prev && prev->off == f->off) {
        /* RFC 8200 §4.5: "exact duplicate fragments" may be dropped alone. Exact means the
         * same offset, length, More flag and bytes: different bytes at one place are the
         * ambiguity RFC 5722 §4 forbids. */
        bool prev_is_last = d->end_known && prev->off + prev->len == d->end;
        bool same = prev->len == f->len && prev_is_last == !f->more &&
                    memcmp(prev->data, f->data, f->len) == 0;
        return same ? PLACE_DUPLICATE : PLACE_OVERLAP;
    }
    if (prev && prev->off + prev->len > f->off) return PLACE_OVERLAP;
    if (next && next->off < f->end) return PLACE_OVERLAP;
    return PLACE_NEW;
}

static enum ip_reasm_status dropped(struct ip_reasm *r, struct ip_reasm_result *out,
                                    enum synack_drop why)
{
    if (why == SYNACK_DROP_FRAG_MALFORMED) r->counters.malformed++;
    if (why == SYNACK_DROP_FRAG_OVERLAP) r->counters.overlap_frags++;
    if (why == SYNACK_DROP_NO_MEMORY) r->counters.no_memory++;
    out->status = IP_REASM_DROPPED;
    out->drop = why;
    return out->status;
}

/* RFC 5722 §4: an overlap drops the datagram and every fragment of it, held or to come:
 * the record stays, empty, until its deadline, so that later fragments are dropped too
 * instead of starting a datagram of their own. No ICMP is sent (RFC 8200 §4.5). */
static void drop_for_overlap(struct ip_reasm *r, struct ip_reasm_dgram *d)
{
    free_frags(r, d, d->frags);
    d->frags = d->hint = NULL;
    d->dead = true;
    d->end_known = d->has_first = false;
    d->end = d->max_end = 0;
    r->ndead++;
    r->counters.overlaps++;
}

static struct frag_node *node_new(struct ip_reasm *r, const struct frag_in *f)
{
    struct frag_node *n = reasm_alloc(r, sizeof *n + f->len);
    if (!n) return NULL;
    n->next = NULL;
    n->off = f->off;
    n->len = f->len;
    memcpy(n->data, f->data, f->len);
    return n;
}

static void insert(struct ip_reasm *r, struct ip_reasm_dgram *d, struct frag_node *prev,
                   struct frag_node *n, const struct frag_in *f)
{
    n->next = prev ? prev->next : d->frags;
    if (prev)
        prev->next = n;
    else
        d->frags = n;
    d->hint = n;
    size_t charge = IP_REASM_FRAG_OVERHEAD + n->len;
    d->charge += charge;
    r->bytes_held += charge;
    r->nfrags++;
    r->counters.frags_held++;
    d->received += n->len;
    if (f->end > d->max_end) d->max_end = f->end;
    if (!f->more) {
        d->end_known = true;
        d->end = f->end;
    }
    if (f->off == 0) {
        d->has_first = true;
        d->first = *f->ip;
    }
}

/* The first fragment's header describes the whole datagram. */
static void whole_repr(struct wire_ip_repr *out, const struct wire_ip_repr *first, size_t len)
{
    *out = *first;
    out->payload_len = (uint16_t)len;
    out->frag.present = false;
    out->frag.more = false;
    out->frag.offset = 0;
}

static enum ip_reasm_status complete_or_hold(struct ip_reasm *r, struct ip_reasm_dgram *d,
                                             struct ip_reasm_result *out)
{
    if (!d->end_known || d->received != d->end) {
        out->status = IP_REASM_HELD;
        return out->status;
    }
    /* Disjoint fragments within [0, end) adding up to end bytes tile it exactly. */
    for (const struct frag_node *n = d->frags; n; n = n->next)
        memcpy(r->assembly + n->off, n->data, n->len);
    whole_repr(&out->ip, &d->first, d->end);
    out->data = r->assembly;
    out->len = d->end;
    r->counters.reassembled++;
    destroy(r, d);
    out->status = IP_REASM_COMPLETE;
    return out->status;
}

static enum ip_reasm_status input_existing(struct ip_reasm *r, struct ip_reasm_dgram *d,
                                           const struct frag_in *f, struct ip_reasm_result *out)
{
    if (d->dead) return dropped(r, out, SYNACK_DROP_FRAG_OVERLAP);
    enum synack_drop why = check_against(d, f, &out->problem);
    if (why != SYNACK_DROP_NONE) return dropped(r, out, why);
    struct frag_node *prev;
    switch (place(d, f, &prev)) {
    case PLACE_DUPLICATE:
        r->counters.duplicates++;
        out->status = IP_REASM_DUPLICATE;
        return out->status;
    case PLACE_OVERLAP:
        drop_for_overlap(r, d);
        return dropped(r, out, SYNACK_DROP_FRAG_OVERLAP);
    case PLACE_NEW:
        break;
    }
    /* Evicting other records leaves d and prev where they are. */
    if (!make_room(r, d, IP_REASM_FRAG_OVERHEAD + f->len)) {
        r->counters.evictions++; /* alone bigger than the cap */
        destroy(r, d);
        return dropped(r, out, SYNACK_DROP_FRAG_EVICTED);
    }
    struct frag_node *n = node_new(r, f);
    if (!n) return dropped(r, out, SYNACK_DROP_NO_MEMORY);
    insert(r, d, prev, n, f);
    return complete_or_hold(r, d, out);
}

static enum ip_reasm_status input_new(struct ip_reasm *r, const struct reasm_key *k,
                                      const struct frag_in *f, synack_time_t now,
                                      struct ip_reasm_result *out)
{
    size_t need = IP_REASM_DGRAM_OVERHEAD + IP_REASM_FRAG_OVERHEAD + f->len;
    if (need > r->cfg.mem_cap) {
        r->counters.evictions++; /* alone bigger than the cap */
        return dropped(r, out, SYNACK_DROP_FRAG_EVICTED);
    }
    while (r->ndgrams >= r->cfg.max_datagrams && evict_oldest(r, NULL))
        ;
    make_room(r, NULL, need);
    struct frag_node *n = node_new(r, f);
    struct ip_reasm_dgram *d = n ? record_new(r, k, now) : NULL;
    if (!d) {
        reasm_release_mem(r, n);
        return dropped(r, out, SYNACK_DROP_NO_MEMORY);
    }
    insert(r, d, NULL, n, f);
    return complete_or_hold(r, d, out);
}

/* Not a fragment, or an atomic fragment (RFC 6946 §4): handed back as it came. */
static enum ip_reasm_status pass_whole(struct ip_reasm *r, const struct wire_ip_repr *ip,
                                       const uint8_t *payload, size_t len,
                                       struct ip_reasm_result *out)
{
    whole_repr(&out->ip, ip, len);
    out->data = payload;
    out->len = len;
    r->counters.atomic++;
    out->status = IP_REASM_COMPLETE;
    return out->status;
}

enum ip_reasm_status ip_reasm_input(struct ip_reasm *r, const struct wire_ip_repr *ip,
                                    const uint8_t *payload, size_t len, synack_time_t now,
                                    struct ip_reasm_result *out)
{
    release_lent(r);
    memset(out, 0, sizeof *out);
    r->counters.frags_in++;
    struct reasm_key k;
    if (!key_from_repr(ip, &k) || (len > 0 && !payload))
        return dropped(r, out, SYNACK_DROP_FRAG_MALFORMED);
    if (!ip->frag.present || (ip->frag.offset == 0 && !ip->frag.more)) {
        if (len > IP_REASM_MAX_DATA) return dropped(r, out, SYNACK_DROP_FRAG_MALFORMED);
        return pass_whole(r, ip, payload, len, out);
    }
    struct frag_in f = frag_in_make(ip, payload, len);
    enum synack_drop why = check_alone(&f, &out->problem);
    if (why != SYNACK_DROP_NONE) return dropped(r, out, why);
    k.hash = key_hash(r, &k);
    struct ip_reasm_dgram *d = find(r, &k);
    if (d) return input_existing(r, d, &f, out);
    return input_new(r, &k, &f, now, out);
}

/* ---- the whole ---------------------------------------------------------------------------- */

void ip_reasm_free(struct ip_reasm *r)
{
    release_lent(r);
    for (int fam = FAM_V4; fam <= FAM_V6; fam++) {
        while (r->by_age[fam].head)
            destroy(r, r->by_age[fam].head);
    }
    reasm_release_mem(r, r->buckets);
    reasm_release_mem(r, r->assembly);
    r->buckets = NULL;
    r->assembly = NULL;
    r->nbuckets = 0;
}

void ip_reasm_stats(const struct ip_reasm *r, struct ip_reasm_stats *out)
{
    out->bytes_held = r->bytes_held;
    out->mem_cap = r->cfg.mem_cap;
    out->datagrams = r->ndgrams;
    out->max_datagrams = r->cfg.max_datagrams;
    out->dead = r->ndead;
    out->frags = r->nfrags;
    out->fixed_bytes = r->buckets ? r->nbuckets * sizeof *r->buckets + IP_REASM_MAX_DATA : 0;
}

const struct ip_reasm_counters *ip_reasm_counters(const struct ip_reasm *r)
{
    return &r->counters;
}

/* ---- fragmentation on output ------------------------------------------------------------- */

int ip_frag_plan_init(struct ip_frag_plan *plan, enum synack_family family, size_t total_len,
                      size_t mtu, size_t header_len)
{
    memset(plan, 0, sizeof *plan);
    size_t per_piece; /* header bytes in front of each piece's data when fragmented */
    if (family == SYNACK_AF_INET) {
        /* RFC 791 §3.1: IHL*4 is 20 to 60; Total Length is 16 bits. */
        if (header_len < IPV4_MIN_HDR_LEN || header_len > IPV4_MAX_HDR_LEN ||
            total_len > IP_REASM_MAX_DATA - header_len)
            return SYNACK_ERR_INVAL;
        per_piece = header_len;
    } else if (family == SYNACK_AF_INET6) {
        /* RFC 8200 §5: every link carries 1280; §4.5: the reassembled Payload Length. */
        if (header_len < IPV6_FIXED_HDR_LEN || mtu < IP_FRAG_V6_MIN_MTU ||
            header_len - IPV6_FIXED_HDR_LEN > IP_REASM_MAX_DATA ||
            total_len > IP_REASM_MAX_DATA - (header_len - IPV6_FIXED_HDR_LEN))
            return SYNACK_ERR_INVAL;
        per_piece = header_len + IP_FRAG_V6_HEADER_LEN;
    } else {
        return SYNACK_ERR_INVAL;
    }
    plan->family = (uint8_t)family;
    plan->total_len = (uint32_t)total_len;
    if (header_len + total_len <= mtu) {
        plan->piece_max = (uint32_t)total_len;
        plan->count = 1;
        return 0;
    }
    /* RFC 791 §3.2: one 8-byte block of data at least per fragment. */
    if (mtu < per_piece + 8) return SYNACK_ERR_INVAL;
    /* RFC 791 §3.2, RFC 8200 §4.5: every piece but the last a multiple of 8 bytes. */
    plan->fragmented = true;
    plan->piece_max = (uint32_t)((mtu - per_piece) & ~(size_t)7);
    plan->count = (unsigned)((total_len + plan->piece_max - 1) / plan->piece_max);
    return 0;
}

bool ip_frag_next(struct ip_frag_plan *plan, struct ip_frag_piece *out)
{
    if (plan->started && plan->next >= plan->total_len) return false;
    plan->started = true;
    uint32_t left = plan->total_len - plan->next;
    uint32_t len = left < plan->piece_max ? left : plan->piece_max;
    out->offset = (uint16_t)plan->next;
    out->len = (uint16_t)len;
    out->more = plan->next + len < plan->total_len;
    plan->next += len;
    return true;
}
