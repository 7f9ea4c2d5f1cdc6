/* Buffers that tune themselves: a connection starts with the configuration's sndbuf and
 * rcvbuf, in the one allocation of its TCB, and its buffers grow toward sndbuf_max and
 * rcvbuf_max as the path and the application show they need more.
 *
 * - The receive buffer (dynamic right-sizing, as Linux does it and as Fisher's "Dynamic
 *   Right-Sizing in TCP" describes it): the window a sender needs is what the application
 *   drains in one round trip; once per round trip the buffer grows to twice what was read
 *   in the last one, so that a sender doubling its rate in slow start is not held back by
 *   the window. The receiver has no RTT samples of its own when it sends no data, so it
 *   measures one: the time from taking data to the arrival of the window's worth it had
 *   offered by then (tcp_rcv_rtt_measure), keeping the shortest (unless the route grew
 *   longer: rcv_rtt_longer). A window-limited sender
 *   may have sent part of that window already, so a sample can be shorter than the path's
 *   round trip; a sender that is not window-limited makes it longer.
 *
 *   Where synack differs from Linux: "what was read in a round trip" is the rate of the
 *   reading over the interval since the last decision (at least a round trip, longer when
 *   the application reads in bursts) times the shortest round trip, not the bytes of the
 *   whole interval: the bandwidth-delay product as BBR estimates it, a delivery rate times
 *   the least round trip (Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM
 *   Queue 14(5), 2016; unlike BBR's, the least round trip here does not expire with time,
 *   as Linux's receiver estimate without timestamps does not: it is raised only for a
 *   route grown longer, rcv_rtt_longer). Where the round trip is the processor's own time (two
 *   stacks in one loop, a host talking to itself), each round moves a window and takes as
 *   long as moving it does: counting the bytes of a round made every round's reading a
 *   whole window, the target twice the window, and the buffers grew to 16 MiB in steps,
 *   each round longer by as much, every copy missing the caches (bench/bulk at MTU 65535:
 *   0.67-0.82x the kernel's loopback before, 2.3-2.6x after; docs/PERFORMANCE.md). An
 *   application that reads less often than a round trip and drains a full buffer each
 *   time while the sender waits is the exception (rcvbuf_interval): there a larger buffer
 *   is what raises the rate, and the bytes of the interval count whole, as long as each
 *   growth still raises the rate. The slow-start allowance (below) is given only when the
 *   reading beats the best seen before: after a stall (the process off the processor,
 *   pages faulting in) the reading recovers to where it was, which is no sign of a sender
 *   speeding up.
 * - The send buffer: twice the congestion window while the application keeps it full, so
 *   that the window, not the buffer, bounds what is in flight, with room to queue the next
 *   window's worth while this one is acknowledged (and, through a fast recovery, the
 *   window at the loss held until the hole is filled while 1 + beta of it goes out: 1.7
 *   for CUBIC, RFC 9438 §4.6).
 *
 * A buffer's storage comes with the first byte it holds (tcp_ring_storage), and the
 * scoreboard and the out-of-order table start empty and double as segments are in flight
 * or blocks held (tcp_segs_room, tcp_ooo_room), up to what the buffer they serve can
 * need: a connection that was only opened, a half-open one among them, holds its TCB
 * alone, not 144 KB of empty tables and buffers. Each is given back when it holds nothing
 * again (tcp_storage_release, at the end of every input, send, receive and close): the
 * send buffer and the scoreboard once the peer has acknowledged everything, the receive
 * buffer once the application has read everything and nothing waits out of order, the
 * out-of-order table once its last block is in order. So an idle connection, however much
 * it once moved, holds its TCB alone. Every allocation and free is counted in the env's
 * conn_storage.
 *
 * Why at once, rather than keeping a small buffer or waiting for idleness: measured with
 * bench/accept_many --echo (docs/PERFORMANCE.md), a request/response connection that
 * takes and gives back its buffers every round trip costs the same within the noise at
 * one connection (a malloc and a free per buffer and per round trip, served from the C
 * library's free lists, no system call) and less at a thousand (the storage given back
 * is taken again by the next connection while it is still in the cache, where kept
 * buffers were a working set of 128 KiB each). Keeping a small buffer would keep an idle
 * connection above its TCB; giving back only after an idle time would cost a deadline
 * per connection.
 *
 * Growth moves a buffer to new storage (ring_move keeps out-of-order bytes at their
 * offsets). It stops at mem_budget, and a failed allocation leaves the connection as it was. The
 * window scale offered in the SYN already covers rcvbuf_max (RFC 7323 §2.3), and the right
 * edge only moves right (RFC 9293 §3.8.6.2.2): a larger buffer only opens the window.
 *
 * synack_tcp_set_bufsize fixes a buffer's size, as SO_SNDBUF and SO_RCVBUF fix Linux's: the
 * size becomes the buffer's maximum, a smaller buffer grows to it at once, and autotuning,
 * which never grows a buffer past its maximum, has nothing more to do. A buffer larger than
 * the new size keeps its storage and what it holds; it takes new bytes only while it holds
 * fewer than the size (tcp_snd_room, tcp_rcv_room). */
#include <string.h>

#include "base/alloc.h"
#include "tcp/conn.h"

unsigned tcp_seg_cap(size_t sndbuf)
{
    return (unsigned)(sndbuf / 256 + 16);
}

/* The next size of a buffer that must hold `target`: at least half as large again as now
 * (each growth copies what the buffer holds, so few and large), at most `max`. */
static size_t next_size(size_t cur, size_t target, size_t max)
{
    size_t n = cur + cur / 2;
    if (n < target) n = target;
    return n < max ? n : max;
}

/* Takes the cache's entry `i` out, keeping the others in order. */
static void *store_take(struct tcp_env *e, unsigned i)
{
    void *p = e->store_cache[i].p;
    e->store_cached -= e->store_cache[i].size;
    e->store_n--;
    memmove(&e->store_cache[i], &e->store_cache[i + 1],
            (e->store_n - i) * sizeof e->store_cache[0]);
    return p;
}

/* Whether the cache holds more than it keeps without a deadline. */
static bool store_over_keep(const struct tcp_env *e)
{
    return e->store_n > TCP_STORE_KEEP || e->store_cached > TCP_STORE_KEEP_BYTES;
}

/* Every byte of a connection's buffers and tables is allocated and freed here, and counted
 * in the env's conn_storage (synack_stack_stats), so the count is exact. The newest cached
 * block of the size is taken first. */
void *tcp_block_alloc(struct synack_tcp *c, size_t size)
{
    struct tcp_env *e = c->env;
    void *p = NULL;
    for (unsigned i = e->store_n; i-- > 0;) {
        if (e->store_cache[i].size == size) {
            p = store_take(e, i);
            e->store_hit = true;
            break;
        }
    }
    if (!p) p = alloc_mem(e->cfg, size);
    if (p) e->conn_storage += size;
    return p;
}

/* A block of a drained buffer goes to the env's cache rather than to the allocator: a
 * buffer that drains and fills every round trip would otherwise go to the allocator and
 * back each time, and a large one comes back as fresh pages to fault in and zero (bench/bulk
 * with buffers of 256 KiB: 2 Gbit/s, most of it in the kernel, against 22 with the cache).
 * Why more than a few blocks, for a while: with two connections whose multi-megabyte
 * buffers drain in turn (iperf3 -P 2 under synack run), a cache of 2 MiB sent every block
 * back to the C library, which trimmed its heap and handed out fresh pages again, and two
 * streams moved 3 Gbit/s where one moved 18 (docs/PERFORMANCE.md). The deadline makes
 * what is past the kept part go once nothing uses it, so an idle stack holds at most
 * TCP_STORE_KEEP_BYTES of it. */
void tcp_block_free(struct synack_tcp *c, void *p, size_t size)
{
    if (!p) return;
    struct tcp_env *e = c->env;
    e->conn_storage -= size;
    size_t cap = TCP_STORE_CACHE_BYTES;
    /* A stack with a memory budget caches no more than the budget's worth. */
    if (e->cfg->mem_budget && e->cfg->mem_budget < cap) cap = e->cfg->mem_budget;
    if (size < TCP_STORE_CACHE_MIN || size > cap) {
        alloc_free(e->cfg, p);
        return;
    }
    while (e->store_n == TCP_STORE_CACHE || e->store_cached + size > cap)
        alloc_free(e->cfg, store_take(e, 0)); /* the oldest makes room */
    e->store_cache[e->store_n].p = p;
    e->store_cache[e->store_n].size = size;
    e->store_n++;
    e->store_cached += size;
    if (store_over_keep(e) && e->store_trim_at == SYNACK_NEVER) {
        e->store_trim_at = e->store_seen + TCP_STORE_IDLE;
        e->store_hit = false;
    }
}

void tcp_store_trim(struct tcp_env *e, synack_time_t now)
{
    if (e->store_trim_at == SYNACK_NEVER || now < e->store_trim_at) return;
    if (e->store_hit && store_over_keep(e)) {
        /* In use: another while. */
        e->store_trim_at = now + TCP_STORE_IDLE;
        e->store_hit = false;
        return;
    }
    while (store_over_keep(e))
        alloc_free(e->cfg, store_take(e, 0));
    e->store_trim_at = SYNACK_NEVER;
}

void tcp_store_free(struct tcp_env *e)
{
    while (e->store_n)
        alloc_free(e->cfg, store_take(e, 0));
    e->store_trim_at = SYNACK_NEVER;
}

static bool grow_ring(struct synack_tcp *c, struct ring *r, size_t cap)
{
    if (!r->buf) { /* no storage yet: it comes at the new size */
        r->cap = cap;
        return true;
    }
    uint8_t *storage = tcp_block_alloc(c, cap);
    if (!storage) return false;
    uint8_t *old = r->buf;
    size_t old_cap = r->cap;
    ring_move(r, storage, cap);
    tcp_block_free(c, old, old_cap);
    return true;
}

/* Bytes of a flight block with `cap` scoreboard records. */
static size_t flight_bytes(unsigned cap)
{
    return sizeof(struct tcp_flight) + (size_t)cap * sizeof(struct tcp_seg);
}

/* A new flight starts from values that act as the last one's would have: nothing below
 * SND.UNA can be lost, reordered or probed, so RACK's highest delivered sequence and the
 * end of its newest delivered segment start there (not at 0, which would look like
 * reordering for half of all sequence numbers: RFC 8985 §6.2 step 3), no segment has been
 * delivered in it (RACK.xmit_ts 0), no recovery point is set (RFC 6582 §3.2 step 1 then
 * allows fast retransmit, as the old point below SND.UNA did), no timer runs, and the last
 * short segment (Nagle) is acknowledged. */
static void flight_init(struct synack_tcp *c, struct tcp_flight *f, unsigned cap)
{
    memset(f, 0, sizeof *f);
    f->tlp_at = SYNACK_NEVER;
    f->reorder_at = SYNACK_NEVER;
    f->rack_end_seq = c->snd_una;
    f->rack_fack = c->snd_una;
    f->snd_sml = c->snd_una;
    f->pmtu_recover = c->snd_una;
    f->seg_cap = cap;
}

/* The flight block with room for `cap` records: the header and the records, in order from
 * seg_head, move to the new block (the first one is initialised). */
static bool grow_segs(struct synack_tcp *c, unsigned cap)
{
    struct tcp_flight *f = tcp_block_alloc(c, flight_bytes(cap));
    if (!f) return false;
    struct tcp_flight *old = c->fl;
    if (!old) {
        flight_init(c, f, cap);
        c->fl = f;
        return true;
    }
    *f = *old;
    for (unsigned i = 0; i < old->seg_count; i++)
        f->segs[i] = *tcp_seg_at(c, i);
    f->seg_cap = cap;
    f->seg_head = 0;
    c->fl = f;
    tcp_block_free(c, old, flight_bytes(old->seg_cap));
    return true;
}

/* Bytes of an out-of-order table with room for `cap` blocks. */
static size_t ooo_bytes(unsigned cap)
{
    return sizeof(struct tcp_ooo_table) + (size_t)cap * sizeof(struct tcp_ooo);
}

static bool grow_ooo(struct synack_tcp *c, unsigned cap)
{
    struct tcp_ooo_table *t = tcp_block_alloc(c, ooo_bytes(cap));
    if (!t) return false;
    struct tcp_ooo_table *old = c->ooo;
    if (old) {
        memcpy(t, old, ooo_bytes(old->n)); /* the counts and the blocks in use */
        tcp_block_free(c, old, ooo_bytes(old->cap));
    } else {
        memset(t, 0, sizeof *t);
    }
    t->cap = cap;
    c->ooo = t;
    return true;
}

/* The next size of a table that is full: twice what it has (8 entries at first), at most
 * `limit`; 0 when it may not grow. */
static unsigned table_next(unsigned cap, unsigned limit)
{
    if (cap >= limit) return 0;
    unsigned n = cap ? 2 * cap : 8;
    return n < limit ? n : limit;
}

/* Records the flight block has room for, and holds (0 without one). */
static unsigned seg_cap(const struct synack_tcp *c)
{
    return c->fl ? c->fl->seg_cap : 0;
}

bool tcp_segs_room(struct synack_tcp *c)
{
    if (tcp_seg_count(c) < seg_cap(c)) return true;
    unsigned n = table_next(seg_cap(c), tcp_seg_cap(c->sndq.cap));
    return n && grow_segs(c, n);
}

unsigned tcp_segs_room_n(struct synack_tcp *c, unsigned n)
{
    while (seg_cap(c) - tcp_seg_count(c) < n) {
        unsigned next = table_next(seg_cap(c), tcp_seg_cap(c->sndq.cap));
        if (!next || !grow_segs(c, next)) break;
    }
    unsigned free_slots = seg_cap(c) - tcp_seg_count(c);
    return free_slots < n ? free_slots : n;
}

bool tcp_ooo_room(struct synack_tcp *c)
{
    unsigned cap = c->ooo ? c->ooo->cap : 0;
    if (tcp_ooo_count(c) < cap) return true;
    unsigned n = table_next(cap, TCP_OOO_BLOCKS(c->rcvq.cap));
    return n && grow_ooo(c, n);
}

void tcp_sndbuf_tune(struct synack_tcp *c, synack_time_t now)
{
    if (!(c->flags & TCP_F_SND_LIMITED)) return;
    c->flags &= ~(uint32_t)TCP_F_SND_LIMITED;
    size_t cap = c->sndq.cap, target = 2 * (size_t)c->cc.cwnd;
    if (cap >= c->sndbuf_max || target <= cap || tcp_mem_pressure(c)) return;
    size_t n = next_size(cap, target, c->sndbuf_max);
    if (!grow_ring(c, &c->sndq, n)) return; /* the scoreboard may follow */
    TCP_COUNT(c, sndbuf_grown);
    /* The room is new: whoever waits to write may. */
    c->flags |= TCP_F_WANT_WRITABLE;
    tcp_writable_event(c, now);
}

/* How far the receive buffer may grow: rcvbuf_max, and no more than the window field can
 * offer (65535 unless both ends scale: RFC 7323 §2.2). */
static size_t rcvbuf_limit(const struct synack_tcp *c)
{
    uint8_t shift = (c->flags & TCP_F_WSCALE) ? c->rcv_wscale : 0;
    size_t field = (size_t)TCP_MAX_WINDOW << shift;
    return c->rcvbuf_max < field ? c->rcvbuf_max : field;
}

/* What the application read in `span`, taken to one round trip of `rtt` (<= span) at the
 * same rate (copied and rtt below 2^32: the product fits 64 bits). */
static size_t per_round_trip(uint32_t copied, synack_time_t span, synack_time_t rtt)
{
    while (rtt > UINT32_MAX) {
        span >>= 1;
        rtt >>= 1;
    }
    return (size_t)((uint64_t)copied * rtt / span);
}

/* Whether the shortest round trip is out of date: the route grew longer (a reroute, a
 * handover). The window that filled the old path then holds the reading to the window
 * over the new round trip, and the reading per shortest round trip, below the window,
 * never grows it (docs/PERFORMANCE.md, "A route that grows longer"). Two signs, both
 * needed, TCP_RCV_RTT_LONGER_RUN times in a row:
 * - a sample over TCP_RCV_RTT_LONGER times the shortest. The window's own queue does not
 *   make them: the buffer grows to about twice the path's product plus the slow-start
 *   allowance, 3.3 products at 100 Mbit/s and 20 ms with no queue limit (docs/
 *   PERFORMANCE.md), so a window's worth takes about three times the shortest round trip
 *   while the path is what it was. The margin is not wide: a shortest sample below the
 *   path's round trip (above) narrows it, and runs with no queue limit, where it is
 *   narrowest, raised nothing;
 * - ended by a segment whose TSecr tells as long a round trip. A loss makes samples long
 *   (the hole holds rcv_nxt until it is filled), and so does a sender whose congestion
 *   window, not ours, is the limit: neither makes the echo long while the sender sends as
 *   the ACKs come. Some echoes are long without a longer route: the first segment after a
 *   retransmission timeout, or after the sender paused, echoes the ACK before the wait,
 *   and with data both ways the peer's delayed ACK time is in it (RFC 7323 §4.3); a run
 *   of such segments, each ending a sample, is what a longer route makes and they rarely
 *   do. Without timestamps the estimate is never raised.
 * A queue that the window filled on a path that has since grown shorter, deeper than
 * three of the old round trips, also makes long samples and long echoes: then the
 * estimate is raised once, and the buffer grows about twice again, within rcvbuf_max.
 * It is raised to the last sample or echo, the shorter, and the best reading goes with
 * the old path: the new one's is learnt afresh, with the slow-start allowance. */
static void rcv_rtt_longer(struct synack_tcp *c, synack_time_t sample, synack_time_t echo)
{
    if (sample / TCP_RCV_RTT_LONGER <= c->rcv_rtt || echo / TCP_RCV_RTT_LONGER <= c->rcv_rtt) {
        c->rcv_rtt_longer = 0;
        return;
    }
    if (++c->rcv_rtt_longer < TCP_RCV_RTT_LONGER_RUN) return;
    c->rcv_rtt_longer = 0;
    c->rcv_rtt = sample < echo ? sample : echo;
    c->drs_last = 0;
    TCP_COUNT(c, rcv_rtt_raised);
}

/* At least the round trip a segment's TSecr tells (RFC 7323 §4.3: it echoes the TSval of
 * the ACK that let it go, so about a round trip ago for a sender that sends as ACKs come),
 * in whole milliseconds of our TSval clock less one for its ticks; 0 where there is no echo
 * (tcp_ts_echo_age) or it is under 2 ms. */
static synack_time_t echo_rtt(const struct synack_tcp *c, bool has_ts, uint32_t ts_ecr,
                              synack_time_t now)
{
    int64_t ticks = tcp_ts_echo_age(c, has_ts, ts_ecr, now);
    return ticks >= 2 ? (synack_time_t)(ticks - 1) * SYNACK_MS(1) : 0;
}

void tcp_rcv_rtt_measure(struct synack_tcp *c, bool has_ts, uint32_t ts_ecr, synack_time_t now)
{
    if (c->rcvq.cap >= rcvbuf_limit(c)) return;
    if (c->rcv_rtt_at != SYNACK_NEVER) {
        if (seq_lt(c->rcv_nxt, c->rcv_rtt_edge)) return;
        synack_time_t sample = now > c->rcv_rtt_at ? now - c->rcv_rtt_at : 0;
        /* Lower at once: a longer sample is most often the sender not filling the window,
         * or the window larger than the path holds, so that a window's worth takes longer
         * than a round trip; taking those would make the window grow the estimate that
         * grows the window, and fill every queue on the path. */
        if (sample && (c->rcv_rtt == 0 || sample < c->rcv_rtt)) {
            /* The best reading per round trip, to the new round trip's scale. */
            if (c->rcv_rtt) c->drs_last = (uint32_t)per_round_trip(c->drs_last, c->rcv_rtt, sample);
            c->rcv_rtt = sample;
            c->rcv_rtt_longer = 0;
        } else if (sample) {
            rcv_rtt_longer(c, sample, echo_rtt(c, has_ts, ts_ecr, now));
        }
    }
    uint32_t known = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    c->rcv_rtt_edge = c->rcv_nxt + (known > c->rcv_mss ? known : c->rcv_mss);
    c->rcv_rtt_at = now;
}

/* Ends an interval of reading that began `span` ago (at least a round trip). What the
 * application reads at the instant an interval ends counts in the next one: an interval
 * holds the reads from its start up to, not including, its end. Counted in it, with a
 * clock that moves once per round, the read that ends it is the next round's (after a
 * growth, the larger window's), and its bytes were taken in the time of the round before.
 * `held`: the application, not the path, kept the sender waiting (tcp_rcvbuf_tune). */
static void rcvbuf_interval(struct synack_tcp *c, synack_time_t span, bool held, synack_time_t now)
{
    size_t cap = c->rcvq.cap;
    /* An application that reads on its own schedule, less often than a round trip (a
     * tick, a batch, a disk write between reads), drains a full buffer each time while the
     * sender waits on the closed window: its rate is the buffer over its period, whatever
     * the path, and only a larger buffer raises it. So there the reading is what it read
     * in the interval, as Linux takes it, not scaled to the round trip (which would never
     * grow such a buffer: twice the buffer times round trip over period is less than the
     * buffer once the period passes two round trips). */
    size_t rate = per_round_trip(c->drs_copied, span, c->rcv_rtt), last = c->drs_last;
    /* ... as long as a larger buffer still pays: the rate (as read per shortest round
     * trip) beats the best before by an eighth. Where the application's period is its own
     * work on what it reads (a loop whose rounds take as long as the bytes they move), a
     * larger buffer lengthens the period as much, and the rate levels off. */
    bool whole = held && rate > last + last / 8;
    size_t copied = whole ? c->drs_copied : rate;
    /* Twice a round trip's reading (the interval's rate times the shortest round trip, as
     * the comment at the top says why), and a few segments for the receiver's SWS avoidance
     * (RFC 1122 §4.2.3.3), which holds back the last part of the buffer. Where the reading
     * beats the best before (a sender in slow start), the growth is carried one round trip
     * on (up to doubling): the new window reaches the sender half a round trip later, and
     * one that only matched the last round trip would hold a doubling sender to half again
     * per round trip. Not over a held interval's whole bytes: twice them is growth enough
     * (the rate rises with the buffer there, not per round trip). */
    size_t target = 2 * copied + 4 * (size_t)c->rcv_mss;
    if (!whole && last && rate > last)
        target += target * (rate > 2 * last ? last : rate - last) / last;
    c->drs_at = now;
    if (rate > last) c->drs_last = (uint32_t)rate;
    c->drs_copied = 0;
    if (target <= cap || tcp_mem_pressure(c)) return;
    size_t size = next_size(cap, target, rcvbuf_limit(c));
    if (!grow_ring(c, &c->rcvq, size)) return; /* the block table may follow */
    TCP_COUNT(c, rcvbuf_grown);
}

void tcp_rcvbuf_tune(struct synack_tcp *c, size_t n, synack_time_t now)
{
    size_t cap = c->rcvq.cap, max = rcvbuf_limit(c);
    if (cap >= max) return;
    if (c->drs_at == SYNACK_NEVER) c->drs_at = now;
    synack_time_t span = now - c->drs_at;
    if (c->rcv_rtt != 0 && span >= c->rcv_rtt) {
        /* The application held the sender: the window it offered is used up (less than a
         * segment left), and no data has come since for half the interval or more. The
         * time is that of the data that reached the edge of the window offered before
         * (the receiver's running RTT measurement begins there: tcp_rcv_rtt_measure), not
         * of the last segment: zero-window probes, pure ACKs and keepalives keep coming
         * while the sender waits. Where the path is the limit the bytes are read as they
         * come, the window reopening with each read; in a loop whose round trip is its
         * own time they come and are read at the same instant. */
        bool closed = !seq_gt(c->rcv_adv, c->rcv_nxt + c->rcv_mss);
        bool held = closed && c->rcv_rtt_at != SYNACK_NEVER && now > c->rcv_rtt_at &&
                    now - c->rcv_rtt_at >= span / 2;
        rcvbuf_interval(c, span, held, now);
    }
    c->drs_copied = n < UINT32_MAX - c->drs_copied ? c->drs_copied + (uint32_t)n : UINT32_MAX;
}

bool tcp_ring_storage(struct synack_tcp *c, struct ring *r)
{
    if (r->buf || r->cap == 0) return true;
    uint8_t *storage = tcp_block_alloc(c, r->cap);
    if (!storage) return false;
    r->buf = storage;
    return true;
}

size_t tcp_sndbuf_size(const struct synack_tcp *c)
{
    return c->sndq.cap < c->sndbuf_max ? c->sndq.cap : c->sndbuf_max;
}

size_t tcp_rcvbuf_size(const struct synack_tcp *c)
{
    return c->rcvq.cap < c->rcvbuf_max ? c->rcvq.cap : c->rcvbuf_max;
}

/* What a buffer of `size` bytes holding `len` has room for (none while it holds more). */
static size_t room_under(size_t size, size_t len)
{
    return len < size ? size - len : 0;
}

size_t tcp_snd_room(const struct synack_tcp *c)
{
    return room_under(tcp_sndbuf_size(c), ring_len(&c->sndq));
}

size_t tcp_rcv_room(const struct synack_tcp *c)
{
    return room_under(tcp_rcvbuf_size(c), ring_len(&c->rcvq));
}

int synack_tcp_set_bufsize(struct synack_tcp *c, size_t sndbuf, size_t rcvbuf)
{
    if (!c || sndbuf > SYNACK_BUFSIZE_MAX || rcvbuf > SYNACK_BUFSIZE_MAX) return SYNACK_ERR_INVAL;
    if (c->flags & TCP_F_DEAD) return SYNACK_ERR_STATE;
    /* RFC 7323 §2.3: the shift was fixed in our SYN; the window field, scaled by it, is the
     * most a receive buffer can offer. */
    size_t field = (size_t)TCP_MAX_WINDOW << c->rcv_wscale;
    if (rcvbuf > field) rcvbuf = field;
    /* A window is a multiple of 2^shift: a buffer of less than a few units could offer
     * nothing and never be read (as for the starting size, tcp_rcv_wscale). */
    size_t floor = (size_t)16 << c->rcv_wscale;
    if (rcvbuf && rcvbuf < floor) rcvbuf = floor;
    /* The scoreboard and the block table follow the buffers' sizes as they fill. */
    if (sndbuf > c->sndq.cap && !grow_ring(c, &c->sndq, sndbuf)) return SYNACK_ERR_NOMEM;
    if (rcvbuf > c->rcvq.cap && !grow_ring(c, &c->rcvq, rcvbuf)) return SYNACK_ERR_NOMEM;
    /* A writer waiting for room after a larger size learns it at the next ACK
     * (release_sndq); the socket layer re-reads readiness itself. */
    if (sndbuf) c->sndbuf_max = sndbuf;
    if (rcvbuf) {
        c->rcvbuf_max = rcvbuf;
        /* A larger window is news for the peer; a smaller one never takes back the edge
         * already offered (tcp_rcv_window, RFC 9293 §3.8.6.2.2). */
        if (tcp_is_synchronized(c->state) && tcp_should_update_window(c)) tcp_schedule_output(c);
    }
    return 0;
}

/* A buffer that holds nothing gives its storage back and keeps its size: the next byte
 * brings storage of that size again (tcp_ring_storage), as for a new connection. */
static void release_ring(struct synack_tcp *c, struct ring *r)
{
    tcp_block_free(c, r->buf, r->cap);
    r->buf = NULL;
    r->head = 0;
}

void tcp_storage_release(struct synack_tcp *c)
{
    /* The send buffer once every byte is acknowledged, unless synack_tcp_send_borrow has
     * lent its room to a caller who has not committed yet. */
    if (c->sndq.buf && ring_len(&c->sndq) == 0 && c->sndq_lent == 0) release_ring(c, &c->sndq);
    /* The receive buffer once the application has read everything and nothing waits out of
     * order past the tail (those bytes live in the same storage). */
    if (c->rcvq.buf && ring_len(&c->rcvq) == 0 && tcp_ooo_count(c) == 0) release_ring(c, &c->rcvq);
    if (c->fl && tcp_flight_is_over(c)) {
        bool timers = c->fl->tlp_at != SYNACK_NEVER || c->fl->reorder_at != SYNACK_NEVER;
        tcp_block_free(c, c->fl, flight_bytes(c->fl->seg_cap));
        c->fl = NULL;
        c->flags &= ~(uint32_t)TCP_F_PMTU_REPAIR; /* its holes are all acknowledged */
        if (timers) tcp_timer_update(c);
    }
    if (c->ooo && c->ooo->n == 0) {
        tcp_block_free(c, c->ooo, ooo_bytes(c->ooo->cap));
        c->ooo = NULL;
    }
}

void tcp_conn_free(struct synack_tcp *c)
{
    if (c->fl) tcp_block_free(c, c->fl, flight_bytes(c->fl->seg_cap));
    if (c->ooo) tcp_block_free(c, c->ooo, ooo_bytes(c->ooo->cap));
    tcp_block_free(c, c->sndq.buf, c->sndq.cap);
    tcp_block_free(c, c->rcvq.buf, c->rcvq.cap);
    tcp_block_free(c, c->rare, sizeof *c->rare);
    tcp_block_free(c, c->cc.cubic, sizeof *c->cc.cubic);
    alloc_free(c->env->cfg, c);
}
