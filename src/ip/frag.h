/*
 * IP fragments: reassembly of what arrives (RFC 791 §3.2, RFC 1122 §3.3.2, RFC 8200 §4.5,
 * RFC 5722) and the plan of what leaves (RFC 791 §3.2 fragmentation, RFC 8200 §4.5).
 *
 * Sans-I/O like the rest of the core: time comes in as `now`, memory through the
 * config's hooks, and nothing here reads bytes off the wire: the caller parses the header
 * (wire/) and hands over its repr and the bytes after it.
 *
 * Reassembly in one paragraph. A fragment names its datagram by the key (family, source,
 * destination, Identification, and for IPv4 the protocol; RFC 791 §3.2, RFC 8200 §4.5).
 * Each datagram in progress keeps its fragments, sorted by offset, as they came (one
 * allocation each: data plus a small record); when the last byte arrives they are copied
 * into one assembly buffer and handed out. Fragments never overlap: the first overlap
 * drops the whole datagram and every fragment of it still to come (RFC 5722 §4); an exact
 * duplicate of a fragment held is ignored (RFC 8200 §4.5 allows it). A datagram not done
 * within its timeout is dropped and, if its first fragment came, reported so that the
 * caller can send the ICMP time exceeded (RFC 1122 §3.3.2, RFC 8200 §4.5). Memory is
 * capped: past the cap the oldest datagrams are evicted.
 */
#ifndef SYNACK_IP_FRAG_H
#define SYNACK_IP_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "wire/wire.h"

/* ---- reassembly: configuration ---------------------------------------------------------- */

/* What one datagram in progress costs against the cap, besides its fragments: its record
 * (the key, the first fragment's header, list and timer links). A fixed number, at least
 * the record's real size, so the accounting is the same on every platform. */
#define IP_REASM_DGRAM_OVERHEAD 256u
/* What one fragment held costs against the cap besides its data bytes: its record (offset,
 * length, link). Counted so that a flood of 8-byte fragments cannot hold several times the
 * memory it is charged for. */
#define IP_REASM_FRAG_OVERHEAD 32u
/* The most data a reassembled datagram can carry: RFC 791 §3.1 Total Length and RFC 8200
 * §4.5 Payload Length are 16-bit fields. The assembly buffer has this size. */
#define IP_REASM_MAX_DATA 65535u

struct ip_reasm_config {
    /* Bytes the datagrams in progress may hold together: for each datagram
     * IP_REASM_DGRAM_OVERHEAD, for each fragment held its data plus IP_REASM_FRAG_OVERHEAD
     * (see ip_reasm_stats). Default 256 KiB. At least IP_REASM_DGRAM_OVERHEAD +
     * IP_REASM_FRAG_OVERHEAD + 8. */
    size_t mem_cap;
    /* Datagrams in progress at once (records of datagrams dropped for overlap included).
     * Default 256. At least 1. */
    size_t max_datagrams;
    /* How long a datagram may take, from its first-arriving fragment. IPv4: 30 s by default
     * (Linux's ipfrag_time; RFC 791 §3.2 gives 15 s as the timer's lower bound, RFC 1122
     * §3.3.2 recommends 60 to 120 s). IPv6: 60 s (RFC 8200 §4.5). Both > 0. */
    synack_time_t timeout_v4;
    synack_time_t timeout_v6;
    /* Key of the keyed hash that places datagrams in buckets, so that a sender who does not
     * know it cannot aim every datagram at one bucket. Zero by default; the stack passes one
     * derived from its secret. Same key, same behaviour: determinism is kept. */
    uint8_t hash_key[16];
    /* Allocator hooks; NULL means malloc/free (both or neither). */
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
};

/* Fills `cfg` with the defaults above. */
void ip_reasm_config_default(struct ip_reasm_config *cfg);

/* ---- reassembly: state, counters ---------------------------------------------------------- */

/* Totals since ip_reasm_init; they only grow. */
struct ip_reasm_counters {
    uint64_t frags_in;      /* calls to ip_reasm_input */
    uint64_t frags_held;    /* fragments taken into a datagram in progress */
    uint64_t reassembled;   /* datagrams completed from two or more fragments */
    uint64_t atomic;        /* whole datagrams passed through: not fragments, or RFC 6946 atomic
                               fragments (offset 0, no more) processed in isolation */
    uint64_t duplicates;    /* exact duplicates of a fragment held, ignored */
    uint64_t malformed;     /* fragments dropped as SYNACK_DROP_FRAG_MALFORMED */
    uint64_t overlaps;      /* datagrams dropped because two of their fragments overlapped
                               (SYNACK_DROP_FRAG_OVERLAP), once per datagram */
    uint64_t overlap_frags; /* fragments dropped as SYNACK_DROP_FRAG_OVERLAP: the one that
                               overlapped and every later one of its datagram */
    uint64_t timeouts;      /* datagrams dropped as SYNACK_DROP_FRAG_TIMEOUT, once each */
    uint64_t evictions;     /* datagrams dropped as SYNACK_DROP_FRAG_EVICTED, once each: the
                               oldest ones, to make room under the cap or the count; or one
                               that alone does not fit the cap */
    uint64_t no_memory;     /* fragments dropped because the allocator refused */
};

struct ip_reasm_dgram; /* private to frag.c */

/* A list of datagrams in arrival order (oldest at head). */
struct ip_reasm_list {
    struct ip_reasm_dgram *head, *tail;
};

/* The reassembler. Its fields are private to frag.c: read it through ip_reasm_stats,
 * ip_reasm_counters and ip_reasm_next_deadline. */
struct ip_reasm {
    struct ip_reasm_config cfg;
    struct ip_reasm_dgram **buckets; /* hash table, nbuckets (a power of two) chains */
    size_t nbuckets;
    /* One list per family, oldest first: with one timeout per family, arrival order is
     * deadline order, so the earliest deadline is at one of the two heads. */
    struct ip_reasm_list by_age[2];
    uint8_t *assembly;           /* IP_REASM_MAX_DATA bytes: the completed datagram */
    struct ip_reasm_dgram *lent; /* an expired datagram whose first fragment the caller is
                                    reading; freed by the next call */
    size_t bytes_held;           /* see ip_reasm_stats; invariant bytes_held <= mem_cap */
    size_t ndgrams, ndead, nfrags;
    uint64_t serial; /* arrival number of the next datagram: the age order */
    struct ip_reasm_counters counters;
};

/* Prepares `r` with a copy of `cfg` (NULL: the defaults). Allocates the bucket array and
 * the assembly buffer, which are not counted against the cap (ip_reasm_stats says how big
 * they are). Returns 0, SYNACK_ERR_INVAL (a setting out of range, one allocator hook
 * without the other) or SYNACK_ERR_NOMEM (r left empty, safe to ip_reasm_free). */
int ip_reasm_init(struct ip_reasm *r, const struct ip_reasm_config *cfg);

/* Frees every datagram in progress and the module's own buffers. A zeroed `r` is fine. */
void ip_reasm_free(struct ip_reasm *r);

/* ---- reassembly: input -------------------------------------------------------------------- */

enum ip_reasm_status {
    IP_REASM_HELD,      /* kept; the datagram waits for more fragments */
    IP_REASM_COMPLETE,  /* the datagram is whole: out->ip, out->data, out->len */
    IP_REASM_DUPLICATE, /* an exact duplicate of a fragment held (same offset, length, More
                           flag and bytes): ignored, nothing changed (RFC 8200 §4.5) */
    IP_REASM_DROPPED,   /* the fragment was dropped: out->drop says why */
};

struct ip_reasm_result {
    enum ip_reasm_status status;
    /* DROPPED: SYNACK_DROP_FRAG_MALFORMED (see ip_reasm_input), SYNACK_DROP_FRAG_OVERLAP,
     * SYNACK_DROP_FRAG_EVICTED (with this fragment its datagram would pass the cap alone: the
     * datagram is dropped whole, counted in counters.evictions, and no other is evicted for
     * it) or SYNACK_DROP_NO_MEMORY (the allocator refused: only this fragment is dropped).
     * SYNACK_DROP_NONE otherwise. */
    enum synack_drop drop;
    /* DROPPED as malformed, IPv6: the ICMPv6 parameter problem RFC 8200 §4.5 says should
     * answer (code 0; the pointer is Payload Length's offset, 4, for a length that is not
     * a multiple of 8 with more to come, or the Fragment Offset field's, unfrag_len + 2, for
     * a datagram past 65535 bytes), subject to the caller's rate limit. send false
     * otherwise. */
    struct wire_ip_problem problem;
    /* COMPLETE: the header of the first fragment (offset 0) as it was given, with
     * payload_len set to `len` and frag.present, frag.more and frag.offset cleared (frag.id
     * and frag.unfrag_len kept): proto (for IPv6 the Next Header of the first fragment's
     * Fragment header, RFC 8200 §4.5), src, dst, ttl, tos, flow_label. */
    struct wire_ip_repr ip;
    /* COMPLETE: the whole datagram's data: the upper-layer payload for IPv4, the
     * Fragmentable Part for IPv6 (it may begin with extension headers the caller then
     * walks). Valid until the next call into the module or ip_reasm_release. For a datagram
     * that was never fragmented (or an atomic fragment) it is the caller's own bytes. */
    const uint8_t *data;
    size_t len;
};

/*
 * Takes one fragment: `ip` is its parsed header (ip->frag says where it goes; the family is
 * src's), `payload` and `len` its data (what follows the IPv4 header or the IPv6 Fragment
 * header). Nothing of `payload` is kept by reference: what is held is copied.
 *
 * Returns the status, also written to out->status:
 *   - COMPLETE at once, without copying, for a datagram that is not a fragment
 *     (ip->frag.present false) and for an atomic fragment (offset 0 and no more fragments:
 *     RFC 6946 §4 processes it in isolation from any other fragment of the same key);
 *   - DROPPED with SYNACK_DROP_FRAG_MALFORMED, the datagram in progress left as it was
 *     (RFC 8200 §4.5 discards "that fragment"): no data (or `payload` NULL with a length);
 *     a family other than IPv4/IPv6 or src and dst of different families; an offset not a
 *     multiple of 8; more fragments to come and a length not a multiple of 8 (RFC 791 §3.2,
 *     RFC 8200 §4.5); an end (with the header for IPv4, RFC 791 §3.1, or the extension
 *     headers before the Fragment header for IPv6, RFC 8200 §4.5) past 65535; an end past
 *     the datagram's known end, or a last fragment ending elsewhere than the known end or
 *     below data already held;
 *   - DROPPED with SYNACK_DROP_FRAG_OVERLAP when it overlaps a fragment held (other than as
 *     an exact duplicate) or belongs to a datagram already dropped for that: the datagram
 *     and all its fragments are dropped, and the fragments of it that come later, until
 *     its timeout, are dropped too (RFC 5722 §4; applied to IPv4 as well);
 *   - DUPLICATE for an exact duplicate; HELD; or COMPLETE with the datagram.
 * Making room may evict other datagrams, oldest first (counted, not reported here).
 * Call ip_reasm_expire first when `now` has reached ip_reasm_next_deadline.
 */
enum ip_reasm_status ip_reasm_input(struct ip_reasm *r, const struct wire_ip_repr *ip,
                                    const uint8_t *payload, size_t len, synack_time_t now,
                                    struct ip_reasm_result *out);

/* Ends the loan of out->data (COMPLETE) or of an expired datagram's first fragment early:
 * frees what the next call would free. */
void ip_reasm_release(struct ip_reasm *r);

/* ---- reassembly: time --------------------------------------------------------------------- */

/* The earliest deadline of a datagram in progress (its first fragment's arrival plus its
 * family's timeout), SYNACK_NEVER if none. O(1). */
synack_time_t ip_reasm_next_deadline(const struct ip_reasm *r);

/* A datagram that timed out. */
struct ip_reasm_expired {
    uint8_t family; /* enum synack_family */
    /* The first fragment (offset 0) had arrived: RFC 1122 §3.3.2 (IPv4: ICMP time exceeded,
     * code 1, RFC 792) and RFC 8200 §4.5 (ICMPv6 time exceeded, code 1) want an error sent
     * to its source, quoting it. False: nothing may be sent (RFC 792: "If fragment zero is
     * not available then no time exceeded need be sent at all"). */
    bool has_first;
    /* has_first: the first fragment's header as it was given, and its data (what followed
     * the IPv4 header or the IPv6 Fragment header), valid until the next call into the
     * module or ip_reasm_release. The caller quotes what the ICMP rules allow: the header
     * and at least 8 bytes (RFC 792), as much as fits 576 bytes (RFC 1812 §4.3.2.3), or as
     * much as fits the IPv6 minimum MTU (RFC 4443 §2.4 (c)). */
    struct wire_ip_repr first;
    const uint8_t *first_data;
    size_t first_len;
};

/*
 * Drops one datagram whose deadline is at or before `now`, earliest deadline first, and
 * describes it in `out`: returns 1, or 0 when none is due (out untouched). Call it until it
 * returns 0. Each datagram is counted once (counters.timeouts, SYNACK_DROP_FRAG_TIMEOUT).
 * The records of datagrams dropped for overlap also end at their deadline, silently: they
 * were counted when they overlapped, and no ICMP is owed for them (RFC 8200 §4.5).
 */
int ip_reasm_expire(struct ip_reasm *r, synack_time_t now, struct ip_reasm_expired *out);

/* True when ip_reasm_expire has nothing to do at any time: no datagram record and nothing
 * lent. Inline, for the callers that would otherwise call it on every timer pass. */
static inline bool ip_reasm_idle(const struct ip_reasm *r)
{
    return !r->by_age[0].head && !r->by_age[1].head && !r->lent;
}

/* ---- reassembly: what it holds ------------------------------------------------------------- */

struct ip_reasm_stats {
    /* Bytes charged against the cap: IP_REASM_DGRAM_OVERHEAD per datagram record (in
     * progress, dropped for overlap and waiting for its deadline, or expired and lent),
     * plus IP_REASM_FRAG_OVERHEAD and the data of each fragment held. Never above mem_cap;
     * never below what the module has taken from the allocator for them. */
    size_t bytes_held, mem_cap;
    size_t datagrams, max_datagrams; /* records, including the dead ones below */
    size_t dead;                     /* records of datagrams dropped for overlap */
    size_t frags;                    /* fragments held */
    size_t fixed_bytes;              /* allocated at init, outside the cap: buckets and the
                                        assembly buffer */
};
void ip_reasm_stats(const struct ip_reasm *r, struct ip_reasm_stats *out);
const struct ip_reasm_counters *ip_reasm_counters(const struct ip_reasm *r);

/* ---- fragmentation on output ------------------------------------------------------------- */

/* IPv6: the Fragment header's length (RFC 8200 §4.5), and the minimum MTU (RFC 8200 §5). */
#define IP_FRAG_V6_HEADER_LEN 8u
#define IP_FRAG_V6_MIN_MTU 1280u

/*
 * How to cut a datagram's data into fragments: an iterator over (offset, length, more).
 *
 * IPv4 (RFC 791 §3.2): `header_len` is the IPv4 header each fragment carries (IHL*4, the
 * same for all: synack emits no options); each fragment's header_len + data fits `mtu`,
 * every fragment's data but the last is a multiple of 8, offsets are in bytes (the header
 * carries offset / 8), MF is `more`, and all carry the datagram's Identification. A
 * datagram with DF set must not be fragmented: the caller checks DF first.
 *
 * IPv6 (RFC 8200 §4.5): `header_len` is the Unfragmentable Part (the 40-byte header and
 * the extension headers that must precede the Fragment header); each fragment packet is
 * that part, an 8-byte Fragment header, and a piece of the Fragmentable Part (`total_len`
 * bytes), the pieces multiples of 8 but the last, the packet within `mtu` (at least 1280).
 *
 * A datagram that fits whole (header_len + total_len <= mtu) is one piece with more false,
 * and `fragmented` false: send it as it is, without a Fragment header or MF.
 */
struct ip_frag_plan {
    uint8_t family;     /* enum synack_family */
    bool fragmented;    /* more than one piece: fragment headers needed */
    uint32_t total_len; /* data bytes to send */
    uint32_t piece_max; /* data bytes of every piece but the last: a multiple of 8 when
                           fragmented */
    uint32_t next;      /* offset of the next piece; total_len when done */
    unsigned count;     /* pieces in all */
    bool started;       /* a piece was handed out (a zero-length datagram is one piece) */
};

struct ip_frag_piece {
    uint16_t offset; /* bytes from the start of the data; a multiple of 8 */
    uint16_t len;    /* data bytes */
    bool more;       /* MF / M: more pieces follow */
};

/* Plans `total_len` bytes of data under `mtu` with `header_len` bytes of header per piece.
 * Returns 0, or SYNACK_ERR_INVAL: a family other than IPv4/IPv6; IPv4 with header_len not in
 * 20..60 or an mtu below header_len + 8 (RFC 791 §3.2: no room for one 8-byte block; every
 * IPv4 link carries 68, RFC 791 §3.1), or header_len + total_len past 65535; IPv6 with
 * header_len below 40, an mtu below 1280 (RFC 8200 §5), room for less than 8 bytes of data
 * after the headers, or a reassembled Payload Length (header_len - 40 + total_len) past
 * 65535. */
int ip_frag_plan_init(struct ip_frag_plan *plan, enum synack_family family, size_t total_len,
                      size_t mtu, size_t header_len);

/* The next piece into `out`: true, or false when every piece was given. */
bool ip_frag_next(struct ip_frag_plan *plan, struct ip_frag_piece *out);

#endif
