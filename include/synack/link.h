/*
 * synack drivers: everything around the core that touches a file, a device, a library
 * beyond libc, or simulates a network.
 *
 * Sections: pcap capture, network simulator. (TUN, UDP encapsulation and the event loop
 * get their own sections.)
 *
 * Conventions are those of synack.h: 0 or a negative SYNACK_ERR_*, synack_ssize for a
 * length-or-error, times in nanoseconds.
 */
#ifndef SYNACK_LINK_H
#define SYNACK_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack/synack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pcap capture ------------------------------------------------------------------------ */

/*
 * A capture file of bare IPv4 packets (LINKTYPE_RAW) with nanosecond timestamps, written
 * through libpcap. The file depends only on the packets and times written: the same
 * sequence gives a byte-identical file (no wall clock, no host name, timezone 0).
 * Nanosecond precision (magic a1b23c4d) because virtual time has nanosecond steps that a
 * microsecond file would merge; tcpdump, Wireshark and libpcap >= 1.5 read it.
 */
struct synack_pcap;

/* Creates (or truncates) the file at `path` and writes the pcap file header.
 * `err`/`errcap` (optional, NULL/0 allowed) receive a sentence saying why it failed.
 * Errors: INVAL (NULL out or path), IO (the file cannot be created), NOMEM. */
int synack_pcap_open(struct synack_pcap **out, const char *path, char *err, size_t errcap);

/* Appends one packet (the IPv4 packet itself, no link header), stamped with `t`
 * nanoseconds since the epoch of the file (virtual time 0 is 1970-01-01 00:00:00).
 * Errors: INVAL (NULL, len 0 or > 65535), IO (the stream reports a write error). */
int synack_pcap_write(struct synack_pcap *p, const uint8_t *pkt, size_t len, synack_time_t t);

/* Flushes and closes the file and frees `p`. NULL is allowed.
 * Errors: IO when buffered data could not be written (disk full, ...). */
int synack_pcap_close(struct synack_pcap *p);

/* ---- network simulator --------------------------------------------------------------------- */

/*
 * A discrete-event network: nodes joined by unidirectional links, driven by virtual time.
 *
 * Time starts at 0 and only moves when synack_sim_step()/synack_sim_run_until() jump it
 * to the earliest pending thing: a packet arriving at the end of a link, or a node's
 * timer deadline. A step does exactly that one thing, so a long transfer over a slow
 * path costs only the events it contains, not the time it spans.
 *
 * Routing: a packet output by node `from` goes over the first link (lowest index) from
 * `from` whose destination node's address equals the packet's IPv4 destination (bytes
 * 16..19, big-endian). Packets without such a link, or shorter than 20 bytes, are counted
 * (synack_sim_stats.no_route) and dropped.
 *
 * Randomness: every impairment draw comes from a PCG stream per link, derived from the
 * simulator's seed and the link's index, and every offered packet consumes the same
 * draws whatever the link's parameters. So: the same seed and the same calls give the
 * same schedule; adding a link does not change the draws of the links added before it;
 * turning on (say) duplication does not change which packets are lost.
 *
 * Memory: packet buffers come from pools of three sizes (256, 2048 and
 * SYNACK_SIM_MAX_PACKET bytes) that grow in chunks and are reused, so a run in steady
 * state does not allocate per packet, and a packet in flight costs about its own size.
 *
 * Nothing here reads the clock, touches the network or keeps global state; many
 * simulators can live in one process.
 */

/* Largest packet a node may output into the simulator (a jumbo frame). Nodes are given
 * buffers of exactly this size, so a stack whose MTU is larger gets SYNACK_ERR_BUFSZ. */
#define SYNACK_SIM_MAX_PACKET 9000

struct synack_sim;

/* What the simulator needs from a node. `ctx` is the pointer given to add_node.
 * Only `addr` is required; a NULL `input` discards what arrives, a NULL `output` never
 * sends, a NULL `next_deadline`/`handle_timers` has no timers. The callbacks must not
 * call back into the simulator. */
struct synack_sim_node_ops {
    /* A packet arrived at virtual time `now`. The bytes are valid only during the call.
     * The return value is ignored (a stack returns MALFORMED for corrupted packets). */
    int (*input)(void *ctx, const uint8_t *pkt, size_t len, synack_time_t now);
    /* Writes the next packet to send into `buf` (`cap` bytes) and returns its length, or
     * SYNACK_ERR_AGAIN when there is nothing to send. Any other negative value, 0, or a
     * length above `cap` is counted in synack_sim_stats.output_errors and ends the drain
     * of that node for this round. */
    synack_ssize (*output)(void *ctx, uint8_t *buf, size_t cap, synack_time_t now);
    /* Earliest time handle_timers has work; SYNACK_NEVER when none. A time already past
     * is run at the current time. */
    synack_time_t (*next_deadline)(void *ctx);
    /* Runs every timer due at or before `now`. */
    void (*handle_timers)(void *ctx, synack_time_t now);
    /* The node's IPv4 address (host byte order). Read once, when the node is added. */
    uint32_t (*addr)(void *ctx);
};

/* Impairments of one unidirectional link. A packet offered to the link goes through, in
 * order: drop-tail queue, serialization, drop list, random loss, latency + jitter,
 * corruption, reordering, duplication. Probabilities are in [0, 1]. */
struct synack_sim_link_params {
    synack_time_t latency; /* one-way propagation delay */
    /* Extra delay drawn uniformly from [0, jitter] per packet. Jitter alone never reorders:
     * a packet never arrives before the one offered before it (unless that one was held
     * back by `reorder`). */
    synack_time_t jitter;
    /* Bits per second; 0 is infinitely fast. A packet of `len` bytes keeps the link busy
     * for len*8/rate_bps seconds (rounded up to a whole nanosecond) after the previous
     * one has finished; it then propagates for latency + jitter. */
    uint64_t rate_bps;
    /* Bytes that may wait for the serializer (the packet being serialized does not
     * count); 0 is unlimited. Drop-tail: a packet that does not fit is dropped. A packet
     * offered to an idle link is never dropped. Ignored when rate_bps is 0. */
    size_t queue_bytes;
    double loss; /* probability that a packet is lost on the wire (after serialization) */
    /* Packet numbers (1-based, counted per link in the order packets are offered, queue
     * drops included) that are always dropped, in any order. The list is copied. */
    const uint64_t *drop_list;
    size_t drop_count;
    double dup;                  /* probability that a packet is delivered twice */
    double reorder;              /* probability that a packet is held back ... */
    synack_time_t reorder_delay; /* ... by this much, so later packets overtake it */
    double corrupt;              /* probability that one random bit is flipped */
};

/* A clean link: latency 10 ms, reorder_delay 10 ms (used only when reorder > 0),
 * everything else 0 (no jitter, infinite rate, unlimited queue, no impairment). */
void synack_sim_link_params_default(struct synack_sim_link_params *p);

/* What happened to a packet, as told to the observer. */
enum synack_sim_packet_kind {
    SYNACK_SIM_SENT,       /* offered to a link (always first, before any fate below) */
    SYNACK_SIM_DELIVERED,  /* handed to the destination node's input */
    SYNACK_SIM_LOST,       /* random loss (`loss`) */
    SYNACK_SIM_DROPPED,    /* its number is in the drop list */
    SYNACK_SIM_QUEUE_FULL, /* drop-tail: the queue had no room */
    SYNACK_SIM_CORRUPTED,  /* one bit flipped; it is still delivered (pkt: corrupted bytes) */
    SYNACK_SIM_DUPLICATED, /* a second copy will be delivered */
    SYNACK_SIM_REORDERED,  /* held back by reorder_delay */
    SYNACK_SIM_NO_ROUTE,   /* output by a node but no link leads to its destination */
};

/* "sent", "delivered", "lost", ... Never NULL. */
const char *synack_sim_packet_kind_name(enum synack_sim_packet_kind kind);

/* Flags of a DELIVERED event: what happened to this copy on the way. */
#define SYNACK_SIM_F_CORRUPTED 0x1u /* a bit was flipped */
#define SYNACK_SIM_F_DUPLICATE 0x2u /* this is the extra copy of a duplicated packet */
#define SYNACK_SIM_F_REORDERED 0x4u /* it was held back by reorder_delay */

struct synack_sim_packet {
    enum synack_sim_packet_kind kind;
    int link;           /* link index; -1 for NO_ROUTE */
    int from, to;       /* node indices; `to` is -1 for NO_ROUTE */
    uint64_t number;    /* 1-based number of the packet on its link; 0 for NO_ROUTE */
    synack_time_t time; /* virtual time of the event (offer time, or arrival for DELIVERED) */
    unsigned flags;     /* SYNACK_SIM_F_* (DELIVERED only) */
    const uint8_t *pkt; /* the bytes, valid only during the call */
    size_t len;
};

/* Called synchronously from inside the simulator; it must not call the simulator. */
typedef void (*synack_sim_observer_fn)(void *ctx, const struct synack_sim_packet *ev);

/* Counters of one link. All monotonically increasing. */
struct synack_sim_link_stats {
    uint64_t offered;         /* packets offered (SENT) */
    uint64_t delivered;       /* copies delivered, extra copies of duplicates included */
    uint64_t lost;            /* random loss */
    uint64_t dropped_list;    /* drop list */
    uint64_t queue_drops;     /* drop-tail */
    uint64_t duplicated;      /* packets that got an extra copy */
    uint64_t corrupted;       /* packets with a flipped bit */
    uint64_t reordered;       /* packets held back */
    uint64_t bytes;           /* bytes offered */
    uint64_t bytes_delivered; /* bytes delivered, extra copies included */
};

/* Counters of the whole simulator. */
struct synack_sim_stats {
    uint64_t steps;          /* things done: deliveries plus timer runs */
    uint64_t no_route;       /* packets output that matched no link */
    uint64_t output_errors;  /* bad return values from a node's output */
    uint64_t nomem_drops;    /* packets dropped because a buffer could not be allocated */
    uint64_t capture_errors; /* packets the capture file failed to take */
};

/* Creates an empty simulator at virtual time 0. `seed` feeds every random draw.
 * Errors: INVAL (NULL out), NOMEM. */
int synack_sim_new(struct synack_sim **out, uint64_t seed);

/* Frees the simulator, the packets still in flight and its links; closes the capture
 * file (flushing it). The nodes themselves belong to the caller. NULL is allowed. */
void synack_sim_free(struct synack_sim *sim);

/* Adds a node; `ops` is copied, `ctx` is kept and passed to every callback.
 * Returns the node index (0, 1, ...), or INVAL (NULL sim/ops, no addr callback), NOMEM. */
int synack_sim_add_node(struct synack_sim *sim, const struct synack_sim_node_ops *ops, void *ctx);

/* Adds a synack stack as a node (its input/output/next_deadline/handle_timers/addr).
 * The stack stays the caller's and must outlive the simulator's use of it.
 * Returns the node index, or INVAL, NOMEM. */
int synack_sim_add_stack(struct synack_sim *sim, struct synack_stack *stack);

/* Adds a unidirectional link from node `from` to node `to` with the impairments `p`
 * (NULL means synack_sim_link_params_default()). Returns the link index (0, 1, ...), or
 * INVAL (bad node index, a probability outside [0, 1]), NOMEM. */
int synack_sim_add_link(struct synack_sim *sim, int from, int to,
                        const struct synack_sim_link_params *p);

/* Puts every packet the nodes want to send onto the links, at the current time: each
 * node in index order, its output called until AGAIN. step and run_until do this
 * themselves; call it to get packets onto the wire without advancing time. */
void synack_sim_flush(struct synack_sim *sim);

/* Flushes, then jumps to the earliest pending thing and does it: delivers one packet
 * (arrivals in time order, then in the order they were put on links) or runs one node's
 * timers (in node index order), packets before timers at the same instant; then flushes
 * again. Returns 0 if it did something, SYNACK_ERR_AGAIN if nothing at all is pending,
 * SYNACK_ERR_STATE (with synack_sim_error()) when 2^24 steps in a row happened without
 * time moving: a node whose deadline does not move past `now` after handle_timers. */
int synack_sim_step(struct synack_sim *sim);

/* Steps while the next pending thing is at or before `t`, then sets the time to `t`.
 * Errors: INVAL (`t` before the current time), STATE (as for step). */
int synack_sim_run_until(struct synack_sim *sim, synack_time_t t);

/* The current virtual time. */
synack_time_t synack_sim_now(const struct synack_sim *sim);

/* The earliest pending arrival or node deadline (not before now), SYNACK_NEVER if none.
 * Packets the nodes have not output yet are not known until the next flush. */
synack_time_t synack_sim_next_time(const struct synack_sim *sim);

/* Sets (or with NULL fn, removes) the observer told about every packet event. */
void synack_sim_set_observer(struct synack_sim *sim, synack_sim_observer_fn fn, void *ctx);

/* Copies the counters of link `link` into `out`. Errors: INVAL (bad index or NULL). */
int synack_sim_link_stats(const struct synack_sim *sim, int link,
                          struct synack_sim_link_stats *out);

/* Copies the simulator-wide counters into `out`. */
void synack_sim_stats(const struct synack_sim *sim, struct synack_sim_stats *out);

/* Writes every packet put on any link, at the moment it is offered (before queue drop or
 * loss; duplicates once; the bytes as output, before corruption), to one pcap file at
 * `path`, stamped with virtual time. A capture already open is closed first; a NULL path
 * just closes it (flushing the file). Errors: IO with synack_sim_error() saying why
 * (the file cannot be created), NOMEM. */
int synack_sim_capture(struct synack_sim *sim, const char *path);

/* Like synack_sim_capture, for one link only: the packets offered to `link`, in a file of
 * their own. Any number of links can be captured at once, alongside the whole-network
 * capture. Errors: INVAL (bad index), IO (the file cannot be created), NOMEM. */
int synack_sim_capture_link(struct synack_sim *sim, int link, const char *path);

/* A sentence about the last error the simulator reported, or "" if none. Never NULL. */
const char *synack_sim_error(const struct synack_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
