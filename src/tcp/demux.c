/* The demux: the 4-tuple hash of connections and the listeners a SYN may reach, the choice
 * of an ephemeral port free of both (RFC 6056), and the bind rule (SO_REUSEADDR) that says
 * which local ports a new binding may take. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "base/alloc.h"
#include "base/hint.h"
#include "base/siphash.h"
#include "tcp/conn.h"

uint64_t tcp_tuple_hash(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                        const struct synack_addr *raddr, uint16_t rport)
{
    /* A batch hashed this segment's tuple already; comparing it costs less than hashing. */
    const struct tcp_hint *h = &e->hint;
    if (h->valid && h->lport == lport && h->rport == rport && addr_eq(&h->laddr, laddr) &&
        addr_eq(&h->raddr, raddr))
        return h->hash;
    /* Keyed, so a peer cannot aim many connections at one chain. */
    return siphash_tuple(e->hash_key, laddr, lport, raddr, rport);
}

/* The table follows the connections it holds: it doubles once they pass a quarter of its
 * buckets and halves once they fall under a thirty-second, between DEMUX_MIN_BUCKETS and the
 * first power of two at or above four buckets per connection the stack may hold. With a
 * bucket per connection (load near 1), chains are Poisson and 35-37% of lookups meet another
 * connection first, a TCB line that no cache holds at a million connections; at a load of
 * a quarter or less, at most 12% do (docs/PERFORMANCE.md, "A round trip at a million
 * connections"). The gap between the two thresholds keeps a count that moves back and forth
 * from rehashing each time.
 *
 * A resize moves the connections a few buckets at a time, as Redis's dictionary rehashes:
 * moved all at once, the last doubling on the way to a million connections held one SYN for
 * 193 ms (half a million connections rehashed, 32 MiB written). While it lasts both tables
 * are in use: bucket i of the old table (`old`, `old_n` buckets) has moved once i is below
 * `moved`, and a tuple is looked for, added and removed in the old table until its old
 * bucket has moved, in the new one after. Every insert, every remove and every segment that
 * arrives (tcp_demux_step) moves the next DEMUX_MOVE_STEP old buckets, so a stack that only
 * carries data still ends its resize, and one that carries nothing ends it on its timers
 * (DEMUX_IDLE_AFTER, below); the new table's buckets are zeroed as the old ones
 * that fill them move, so no operation touches more than a step's worth of either. A step
 * of 64 ends a doubling (old_n / 64 operations) before the quarter-load threshold can be
 * passed again (old_n / 4 inserts later), and a halving before the next one is due (old_n /
 * 64 removes); no resize starts while one is under way. */
#define DEMUX_MIN_BUCKETS 64
#define DEMUX_GROW_LOAD 4    /* grow past one connection per this many buckets */
#define DEMUX_SHRINK_LOAD 32 /* shrink below one connection per this many buckets */
#define DEMUX_MOVE_STEP 64   /* old buckets moved per insert, remove or segment in a resize */
/* A resize that traffic leaves half done (a stack that fell idle) would keep the old table
 * for as long as the stack stays idle: 16 MiB after the last doubling at a million
 * connections, 32 MiB after the first halving. A millisecond after the last step (of the
 * time the public calls brought: tcp_env_seen), the timers move a step of their own,
 * larger (a stack with no traffic has the time; at a million connections 4,096 buckets hold
 * about a thousand, each a TCB to read), and so on each millisecond: the old table of a
 * doubling, 2^21 buckets, is moved within about half a second, that of a halving, 2^22,
 * within about a second. */
#define DEMUX_IDLE_AFTER SYNACK_MS(1)
#define DEMUX_IDLE_STEP 4096

static size_t demux_max_buckets(const struct tcp_env *e)
{
    size_t n = DEMUX_MIN_BUCKETS;
    while (n / DEMUX_GROW_LOAD < e->cfg->max_conns && n <= SIZE_MAX / 2 / sizeof *e->buckets)
        n <<= 1;
    return n;
}

/* Where a tuple of hash `h` is: its bucket in the old table while that has not moved, else
 * in the current one. */
static struct synack_tcp **demux_slot(const struct tcp_env *e, uint64_t h)
{
    if (e->old) {
        size_t i = (size_t)h & (e->old_n - 1);
        if (i >= e->moved) return &e->old[i];
    }
    return &e->buckets[(size_t)h & (e->nbuckets - 1)];
}

static uint64_t conn_hash(const struct tcp_env *e, const struct synack_tcp *c)
{
    return tcp_tuple_hash(e, &c->local_addr, c->local_port, &c->remote_addr, c->remote_port);
}

/* Moves the old table's next `step` buckets into the new one, and frees the old table once
 * the last has moved. */
static void demux_move(struct tcp_env *e, size_t step)
{
    e->demux_at = e->store_seen + DEMUX_IDLE_AFTER;
    for (; step > 0 && e->moved < e->old_n; step--, e->moved++) {
        size_t i = e->moved;
        /* The new buckets this old one fills: i and i + old_n when doubling, i mod n when
         * halving (zeroed by the first of its two old buckets, which moves first). */
        if (e->nbuckets > e->old_n) {
            e->buckets[i] = NULL;
            e->buckets[i + e->old_n] = NULL;
        } else if (i < e->nbuckets) {
            e->buckets[i] = NULL;
        }
        struct synack_tcp *c = e->old[i];
        while (c) {
            struct synack_tcp *next = c->hash_next;
            struct synack_tcp **b = &e->buckets[(size_t)conn_hash(e, c) & (e->nbuckets - 1)];
            c->hash_next = *b;
            *b = c;
            c = next;
        }
    }
    if (e->moved == e->old_n) {
        alloc_free(e->cfg, e->old);
        e->old = NULL;
        e->old_n = e->moved = 0;
    }
}

/* Starts moving every connection into a table of `n` buckets; on an allocation failure the
 * old table stays, and only its chains are longer than they should be. */
static void demux_resize(struct tcp_env *e, size_t n)
{
    struct synack_tcp **b = alloc_mem(e->cfg, n * sizeof *b);
    if (!b) return;
    e->old = e->buckets;
    e->old_n = e->nbuckets;
    e->moved = 0;
    e->buckets = b;
    e->nbuckets = n;
    e->demux_at = e->store_seen + DEMUX_IDLE_AFTER;
}

int tcp_demux_init(struct tcp_env *e)
{
    size_t n = DEMUX_MIN_BUCKETS;
    e->old = NULL;
    e->old_n = e->moved = 0;
    e->demux_at = SYNACK_NEVER;
    e->buckets = alloc_mem(e->cfg, n * sizeof *e->buckets);
    if (!e->buckets) return SYNACK_ERR_NOMEM;
    memset(e->buckets, 0, n * sizeof *e->buckets);
    e->nbuckets = n;
    e->ndemux = 0;
    return 0;
}

void tcp_demux_free(struct tcp_env *e)
{
    alloc_free(e->cfg, e->buckets);
    alloc_free(e->cfg, e->old);
    e->buckets = e->old = NULL;
}

void tcp_demux_step(struct tcp_env *e)
{
    if (e->old) demux_move(e, DEMUX_MOVE_STEP);
}

synack_time_t tcp_demux_deadline(const struct tcp_env *e)
{
    return e->old ? e->demux_at : SYNACK_NEVER;
}

void tcp_demux_idle(struct tcp_env *e, synack_time_t now)
{
    if (e->old && now >= e->demux_at) demux_move(e, DEMUX_IDLE_STEP);
}

struct synack_tcp *tcp_demux_find(const struct tcp_env *e, const struct synack_addr *laddr,
                                  uint16_t lport, const struct synack_addr *raddr, uint16_t rport)
{
    struct synack_tcp *c = *demux_slot(e, tcp_tuple_hash(e, laddr, lport, raddr, rport));
    for (; c; c = c->hash_next) {
        if (c->local_port == lport && c->remote_port == rport && addr_eq(&c->remote_addr, raddr) &&
            addr_eq(&c->local_addr, laddr))
            return c;
    }
    return NULL;
}

void tcp_demux_prefetch(const struct tcp_env *e, struct tcp_hint *h)
{
    h->hash = siphash_tuple(e->hash_key, &h->laddr, h->lport, &h->raddr, h->rport);
    h->valid = true;
    hint_prefetch(demux_slot(e, h->hash));
}

void tcp_demux_prefetch_conn(const struct tcp_env *e, const struct tcp_hint *h)
{
    /* The head of the chain, most often the only entry (the table has four buckets or more
     * per connection): the lines of its hot part, up to `iss` (conn.h: seven lines, eight where
     * the allocator did not align it to a line). */
    const struct synack_tcp *c = *demux_slot(e, h->hash);
    if (!c) return;
    uintptr_t at = (uintptr_t)c & ~(uintptr_t)(HINT_LINE - 1);
    uintptr_t end = (uintptr_t)c + offsetof(struct synack_tcp, iss);
    for (; at < end; at += HINT_LINE)
        hint_prefetch((const void *)at);
}

void tcp_demux_insert(struct tcp_env *e, struct synack_tcp *c)
{
    if (e->old) demux_move(e, DEMUX_MOVE_STEP);
    struct synack_tcp **b = demux_slot(e, conn_hash(e, c));
    c->hash_next = *b;
    *b = c;
    e->ndemux++;
    if (!e->old && e->ndemux > e->nbuckets / DEMUX_GROW_LOAD && e->nbuckets < demux_max_buckets(e))
        demux_resize(e, 2 * e->nbuckets);
}

void tcp_demux_remove(struct tcp_env *e, struct synack_tcp *c)
{
    if (e->old) demux_move(e, DEMUX_MOVE_STEP);
    for (struct synack_tcp **pp = demux_slot(e, conn_hash(e, c)); *pp; pp = &(*pp)->hash_next) {
        if (*pp == c) {
            *pp = c->hash_next;
            c->hash_next = NULL;
            e->ndemux--;
            if (!e->old && e->ndemux < e->nbuckets / DEMUX_SHRINK_LOAD &&
                e->nbuckets > DEMUX_MIN_BUCKETS)
                demux_resize(e, e->nbuckets / 2);
            return;
        }
    }
}

/* How well listener address `bound` covers `local`: 3 the same address, 2 the wildcard of
 * its family, 1 the wildcard of both families, 0 not at all. */
static int listener_match(const struct synack_addr *bound, const struct synack_addr *local)
{
    if (bound->family == SYNACK_AF_NONE) return 1;
    if (bound->family != local->family) return 0;
    if (addr_is_any(bound)) return 2;
    return addr_eq(bound, local) ? 3 : 0;
}

struct synack_listener *tcp_listener_find(const struct tcp_env *e, const struct synack_addr *local,
                                          uint16_t port)
{
    /* The most specific listener wins: bound to the address, then to its family's wildcard,
     * then to every address (as BSD sockets choose among bound sockets). Listeners that
     * overlap are refused even with SO_REUSEADDR (tcp_bind_conflicts, as Linux), so at
     * most one matches; the order matters once SO_REUSEPORT lets them share a port. */
    struct synack_listener *best = NULL;
    int best_match = 0;
    for (struct synack_listener *l = e->listeners; l; l = l->next) {
        if (l->port != port) continue;
        int m = listener_match(&l->addr, local);
        if (m > best_match) {
            best = l;
            best_match = m;
        }
    }
    return best;
}

/* Whether two bindings of one port cover a common address: the same address, the wildcard
 * of its family, or no address (SYNACK_AF_NONE, both families). A family's wildcard and an
 * address of the other family do not meet, so an IPv6 `::` leaves IPv4 alone. */
static bool bind_addrs_overlap(const struct synack_addr *a, const struct synack_addr *b)
{
    if (a->family == SYNACK_AF_NONE || b->family == SYNACK_AF_NONE) return true;
    if (a->family != b->family) return false;
    return addr_is_any(a) || addr_is_any(b) || addr_eq(a, b);
}

/* Linux's inet_csk_bind_conflict for TCP: a holder of the port whose address overlaps
 * conflicts, unless both it and the new binding have SO_REUSEADDR and it is not listening.
 * `holder_reuse` is the holder's flag. */
static bool bind_holder_conflicts(const struct synack_addr *held, bool holder_reuse,
                                  const struct synack_addr *addr, bool reuseaddr)
{
    return bind_addrs_overlap(held, addr) && !(reuseaddr && holder_reuse);
}

/* Every holder of the port is looked at: the demux hashes whole 4-tuples and has no index
 * by local port. But once there are many, a port that no connection and no TIME-WAIT
 * record holds, the usual answer of a bind, is known at once from the count of its
 * holders (port_holders), and only a port somebody holds is walked for. */
bool tcp_bind_conflicts(const struct tcp_env *e, const struct synack_addr *addr, uint16_t port,
                        bool reuseaddr)
{
    /* A listener holds its port alone, whatever the flags. */
    for (const struct synack_listener *l = e->listeners; l; l = l->next) {
        if (l->port == port && bind_addrs_overlap(&l->addr, addr)) return true;
    }
    if (e->port_holders && e->port_holders[port] == 0) return false;
    /* Connections in every state but CLOSED (not in the demux: the port is free again),
     * orphans included: e->all holds them all. */
    for (const struct synack_tcp *c = e->all; c; c = c->all_next) {
        if (c->local_port == port && c->state != SYNACK_CLOSED &&
            bind_holder_conflicts(&c->local_addr, (c->flags & TCP_F_REUSEADDR) != 0, addr,
                                  reuseaddr))
            return true;
    }
    for (const struct list_node *n = e->tw_list.head; n; n = n->next) {
        const struct tcp_tw *tw = LIST_ENTRY(n, const struct tcp_tw, node);
        if (tw->local_port == port &&
            bind_holder_conflicts(&tw->local_addr, tw->reuseaddr, addr, reuseaddr))
            return true;
    }
    return false;
}

/* Below this many holders a bind walks them all: the index's 256 KiB is not worth it. */
#define TCP_PORT_INDEX_MIN 1024

/* Counts every holder once, when there are enough of them to make the index worth its
 * memory. */
static void port_index_build(struct tcp_env *e)
{
    e->port_holders = alloc_mem(e->cfg, 65536 * sizeof *e->port_holders);
    if (!e->port_holders) {
        e->port_index_failed = true;
        return;
    }
    memset(e->port_holders, 0, 65536 * sizeof *e->port_holders);
    for (const struct synack_tcp *c = e->all; c; c = c->all_next)
        e->port_holders[c->local_port]++;
    for (const struct list_node *n = e->tw_list.head; n; n = n->next)
        e->port_holders[LIST_ENTRY(n, const struct tcp_tw, node)->local_port]++;
}

void tcp_port_hold(struct tcp_env *e, uint16_t port)
{
    if (e->port_holders)
        e->port_holders[port]++;
    else if (!e->port_index_failed && e->nconns + e->ntw >= TCP_PORT_INDEX_MIN)
        port_index_build(e); /* counts this holder too */
}

void tcp_port_release(struct tcp_env *e, uint16_t port)
{
    if (e->port_holders) e->port_holders[port]--;
}

bool tcp_steers_here(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                     const struct synack_addr *raddr, uint16_t rport)
{
    unsigned n = e->cfg->steer_queues;
    if (n <= 1) return true;
    struct synack_endpoint l = {.addr = *laddr, .port = lport}, r = {.addr = *raddr, .port = rport};
    unsigned q = e->cfg->steer_hash == SYNACK_STEER_XOR
                     ? synack_flow_queue_xor(n, &l, &r)
                     : synack_flow_queue(e->cfg->steer_key, n, &l, &r);
    return q == e->cfg->steer_queue;
}

uint16_t tcp_ephemeral_port(struct tcp_env *e, const struct synack_addr *laddr,
                            const struct synack_addr *raddr, uint16_t rport, synack_time_t now,
                            struct tcp_tuple_holder *h)
{
    uint32_t lo = e->cfg->ephemeral_lo, n = (uint32_t)e->cfg->ephemeral_hi - lo + 1;
    /* RFC 6056 §3.3.3: offset = F(local, remote, secret), then probe from a counter that
     * advances with every allocation, so consecutive connections to one destination get
     * consecutive, distinct ports while different destinations start far apart. */
    uint32_t offset = (uint32_t)siphash_tuple(e->cfg->isn_secret, laddr, 0, raddr, rport);
    for (uint32_t tries = 0; tries < n; tries++) {
        uint16_t port = (uint16_t)(lo + (offset + (*e->port_counter)++) % n);
        if (!tcp_steers_here(e, laddr, port, raddr, rport)) continue;
        /* A port whose 4-tuple sits in a TIME-WAIT that may be reused counts as free, as in
         * Linux: the probe reaches it only after every other port since its last use, so
         * the oldest TIME-WAITs go first. */
        if (!tcp_listener_find(e, laddr, port) &&
            tcp_tuple_claim(e, laddr, port, raddr, rport, now, h) == 0)
            return port;
    }
    return 0;
}
