/*
 * synack drivers: everything around the core that touches a file, a device, a library
 * beyond libc, or simulates a network.
 *
 * Sections: pcap capture, network simulator, links (the common seam), TUN, UDP
 * encapsulation, the in-process link, fault injection and capture around any link, the
 * event loop.
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

/* Exported from the shared library, as the declarations of synack.h. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- pcap capture ------------------------------------------------------------------------ */

/*
 * A capture file of bare IPv4 and IPv6 packets (LINKTYPE_RAW) with nanosecond
 * timestamps, written through libpcap. The file depends only on the packets and times
 * written: the same sequence gives a byte-identical file (no wall clock, no host name,
 * timezone 0).
 * Nanosecond precision (magic a1b23c4d) because virtual time has nanosecond steps that a
 * microsecond file would merge; tcpdump, Wireshark and libpcap >= 1.5 read it.
 */
struct synack_pcap;

/* Creates (or truncates) the file at `path` and writes the pcap file header.
 * `err`/`errcap` (optional, NULL/0 allowed) receive a sentence saying why it failed.
 * Errors: INVAL (NULL out or path), IO (the file cannot be created), NOMEM. */
int synack_pcap_open(struct synack_pcap **out, const char *path, char *err, size_t errcap);

/* Appends one packet (the IP packet itself, no link header), stamped with `t`
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
 * `from` whose destination node holds the packet's destination address (IPv4 or IPv6, read
 * by synack_packet_addrs). Packets without such a link, or too short to carry an address,
 * are counted (synack_sim_stats.no_route) and dropped.
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
 * Only `addrs` is required; a NULL `input` discards what arrives, a NULL `output` never
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
    /* The node's addresses (IPv4 and IPv6, up to SYNACK_MAX_ADDRS): writes up to `cap` of
     * them into `out` and returns how many it wrote. Read once, when the node is added. */
    size_t (*addrs)(void *ctx, struct synack_addr *out, size_t cap);
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
    /* From this time on (when not 0) every packet offered is dropped (DROPPED, counted
     * in dropped_list): a cut cable, which neither end is told of. */
    synack_time_t cut_at;
    /* From this time on (when not 0) the one-way delay is `reroute_latency`, not `latency`:
     * a route change, which neither end is told of. A packet never arrives before one
     * offered before it (unless `reorder` held that one back), so on a shorter route it
     * waits for the packets still on the longer one. */
    synack_time_t reroute_at;
    synack_time_t reroute_latency;
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
    uint64_t dropped_list;    /* drop list, and cut_at */
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
 * Returns the node index (0, 1, ...), or INVAL (NULL sim/ops, no addrs callback), NOMEM. */
int synack_sim_add_node(struct synack_sim *sim, const struct synack_sim_node_ops *ops, void *ctx);

/* Adds a synack stack as a node (its input/output/next_deadline/handle_timers/addrs).
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

/* ---- links: the seam between a stack and a real (or wrapped) network ------------------ */

/*
 * A link carries bare IPv4 and IPv6 packets between one stack and the world: a TUN
 * device, a UDP socket (encapsulation), the embedding program itself (in-process), or a
 * wrapper around another link (fault injection, capture).
 * Polymorphism is a vtable: every link begins with `const struct synack_link_ops *ops`.
 *
 * Links never block: recv returns AGAIN when nothing is waiting, send drops (and counts)
 * what the OS will not take at once. Times are passed in (the event loop reads the
 * clock); a link that holds packets back (fault delay, rate) says when it next has work
 * through next_deadline, and is polled then.
 */
struct synack_link;

/* Counters every link keeps (all monotonically increasing). */
struct synack_link_stats {
    uint64_t rx_packets, rx_bytes; /* packets handed out by recv */
    uint64_t tx_packets, tx_bytes; /* packets accepted by send and passed on */
    uint64_t rx_errors; /* reads that failed, or runts/oversize that were dropped (in-process
                           link: pushes refused) */
    uint64_t tx_errors; /* writes the OS refused or cut short (packet dropped; in-process
                           link: sends refused, for a full queue or a bad length) */
    /* UDP only: ICMP errors the kernel reported about datagrams sent earlier (port
     * unreachable while the peer is not running yet, ...). Nothing was dropped here: the
     * datagram had already left (a send they interrupted is tried again). */
    uint64_t icmp_errors;
    /* UDP only: packets refused because they exceed the path MTU the kernel knows (also in
     * tx_errors). For each, the stack is handed a fragmentation-needed or packet-too-big
     * message (below). */
    uint64_t too_big;
    /* Fault wrapper only: what it did to packets, both directions together. */
    uint64_t lost, duplicated, corrupted, reordered, delayed, rate_drops;
    /* Capture wrapper only: packets the capture file failed to take (disk full, ...). */
    uint64_t capture_errors;
    /* TUN with offloads only (synack_tun_config.offload): packets whose virtio-net header
     * lied about lengths or offsets, or put a partial checksum anywhere but the TCP or UDP
     * Checksum field (synack_vnet_parse refused it), said UDP_L4 where USO was not granted,
     * or held UDP datagrams that do not cut (synack_uso_datagram; also in rx_errors);
     * packets that came merged (GRO) or unsegmented (GSO), longer than the MTU, as one TCP
     * segment or as UDP datagrams to cut; packets whose transport checksum the kernel vouched for
     * (partial or verified) and the stack did not compute. Sent: TCP segments longer than the MTU
     * and joined UDP datagrams left for the kernel to cut (GSO TCPV4/TCPV6, UDP_L4), packets whose
     * checksum the kernel finishes. */
    uint64_t rx_offload_bad, rx_gso_packets, rx_csum_vouched;
    uint64_t tx_gso_packets, tx_csum_partial;
    /* TUN with USO only: UDP datagrams cut from the packets that came uncut (GSO UDP_L4,
     * also in rx_gso_packets), each handed out as a packet of its own (in rx_packets). */
    uint64_t rx_uso_datagrams;
    /* Multi-queue wire only: packets sent from this queue that the steering hash gave to a
     * different queue index on the other side (0 when every flow's ports were chosen to
     * steer to the stack that opened it). */
    uint64_t steered_across;
};

struct synack_link_ops {
    const char *kind; /* "tun", "udp", "inproc", "mqwire", "fault", "pcap" */
    /* Copies the next arrived packet into `buf` and returns its length; AGAIN when none
     * is waiting; BUFSZ when `cap` is too small (the packet is dropped and counted);
     * IO on a failed read (counted; the link stays usable unless it says otherwise). */
    synack_ssize (*recv)(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now);
    /* Sends one packet (copied before return). 0, or IO/AGAIN when the OS refused it
     * (counted in tx_errors; the packet is dropped, as a router would). */
    int (*send)(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now);
    /* A file descriptor that polls readable when recv may have a packet; -1 if none. */
    int (*fd)(const struct synack_link *l);
    /* When the link next has work of its own (a held packet to release either way);
     * SYNACK_NEVER when none. Packets released for the stack are then read with recv. */
    synack_time_t (*next_deadline)(const struct synack_link *l);
    /* Sends held outgoing packets that are due at `now`. May be NULL (nothing held). */
    void (*poll)(struct synack_link *l, synack_time_t now);
    /* Largest IP packet the link carries without fragmentation: the stack's MTU. */
    unsigned (*mtu)(const struct synack_link *l);
    /* Counters of this link (a wrapper reports its own, not the inner link's). */
    void (*stats)(const struct synack_link *l, struct synack_link_stats *out);
    /* Closes descriptors and frees the link; a wrapper frees the link it wraps too. */
    void (*free)(struct synack_link *l);
    /* Optional, both or neither: batched sending, for a link that can hand the OS several
     * packets in one call (the UDP link: sendmmsg). queue takes one packet (copied before
     * return) to leave with the next flush, after every packet queued or sent before it;
     * a link whose batch is full sends it first. It returns 0, or what send would when the
     * packet cannot be queued and was sent (or refused) at once; the fate of a queued
     * packet is counted by the flush that sends it, as send counts its own. flush sends
     * what queue holds, in order. NULL (the default of a designated initializer, so links
     * written before these existed keep working): synack_link_queue is send and
     * synack_link_flush does nothing. send itself still sends at once, after what is
     * queued. */
    int (*queue)(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now);
    void (*flush)(struct synack_link *l, synack_time_t now);
    /* Optional: recv, telling also what the link vouches for in the packet: *input_flags
     * gets the SYNACK_INPUT_* flags to hand to synack_stack_input_flags (0 when none). A
     * link whose packets may be longer than its MTU (TUN with offloads: up to 65535 bytes)
     * needs a buffer of 65535 bytes. NULL: synack_link_recv_offload is recv with flags 0.
     * Plain recv of such a link hands out packets that need no flag (it finishes a partial
     * checksum itself), so a wrapper that knows nothing of this stays correct. */
    synack_ssize (*recv_offload)(struct synack_link *l, uint8_t *buf, size_t cap,
                                 unsigned *input_flags, synack_time_t now);
    /* Optional, both or neither: transmit offloads. tx_offloads says what the link finishes
     * of what it is sent (SYNACK_TX_* bits for synack_stack_output_offload; it may change
     * while the link lives, so it is asked every output pass). send_offload sends one packet
     * as send does, finishing what `meta` says (a partial checksum, a segment to cut), after
     * what is queued. NULL (the default): the link finishes nothing, and is sent whole
     * packets only. A wrapper that looks at or alters packets (capture, fault injection)
     * leaves them NULL: it would see partial checksums and unsegmented segments. */
    unsigned (*tx_offloads)(const struct synack_link *l);
    int (*send_offload)(struct synack_link *l, const uint8_t *pkt, size_t len,
                        const struct synack_tx_meta *meta, synack_time_t now);
};

struct synack_link {
    const struct synack_link_ops *ops;
};

/* Thin helpers over the vtable (NULL-safe where it makes sense: free(NULL) is a no-op,
 * a NULL poll is skipped, a NULL next_deadline is SYNACK_NEVER). */
synack_ssize synack_link_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now);
int synack_link_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now);
int synack_link_fd(const struct synack_link *l);
synack_time_t synack_link_next_deadline(const struct synack_link *l);
void synack_link_poll(struct synack_link *l, synack_time_t now);
unsigned synack_link_mtu(const struct synack_link *l);
void synack_link_stats(const struct synack_link *l, struct synack_link_stats *out);
void synack_link_free(struct synack_link *l);
/* Batched sending (the ops above): queue is send for a link without it; flush of a link
 * without it does nothing. */
int synack_link_queue(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now);
void synack_link_flush(struct synack_link *l, synack_time_t now);
/* recv with the flags the link vouches for (the op above); a link without it: recv, with
 * *input_flags 0. */
synack_ssize synack_link_recv_offload(struct synack_link *l, uint8_t *buf, size_t cap,
                                      unsigned *input_flags, synack_time_t now);
/* The SYNACK_TX_* work link `l` finishes (the op above; 0 for a link without it). */
unsigned synack_link_tx_offloads(const struct synack_link *l);
/* send_offload (the op above). A link without it is sent the packet as it is when `meta`
 * asks for nothing, and otherwise refuses it with INVAL, counting nothing (the stack leaves
 * work only to a link that said it takes it). */
int synack_link_send_offload(struct synack_link *l, const uint8_t *pkt, size_t len,
                             const struct synack_tx_meta *meta, synack_time_t now);

/* The work between one stack and its link, shared by every event loop that joins them
 * (synack_loop, the socket layer's runtime); `buf` is a packet buffer of `cap` bytes, at
 * least the stack's MTU.
 *
 * synack_link_drain sends every packet the stack wants to send now into the link (which
 * counts and drops what the OS does not take, as a router would): it queues each
 * (synack_link_queue) and flushes once at the end, so a link that batches sends the whole
 * pass in as few system calls as it can. A link with transmit offloads
 * (synack_link_tx_offloads) is handed what synack_stack_output_offload writes for it,
 * with synack_link_send_offload.
 *
 * synack_link_pump runs what is due at `now` without waiting: sends the link's held
 * packets when its deadline has come; hands up to SYNACK_LOOP_BATCH arrived packets to the
 * stack (synack_link_recv_offload, then synack_stack_input_flags: a packet the link vouches
 * for is not checksummed again), taking the stack's answer to each before reading the next (RFC
 * 5681 §4.2 asks for an ACK at least every second full-sized segment; one drain per batch would
 * fold them into one), the answers queued and flushed together after the last input; then runs the
 * stack's due timers, after the input, so an ACK that arrived in time cancels a retransmission
 * rather than racing it. The link is read even when its descriptor did not poll readable: a wrapper
 * may release packets it held. Returns 0, or SYNACK_ERR_IO when the link failed on its first read
 * (the caller counts such turns: a device deleted under it stays readable and fails every read). */
void synack_link_drain(struct synack_link *link, struct synack_stack *stack, uint8_t *buf,
                       size_t cap, synack_time_t now);
int synack_link_pump(struct synack_link *link, struct synack_stack *stack, uint8_t *buf, size_t cap,
                     synack_time_t now);

/* ---- TUN ------------------------------------------------------------------------------- */

/* An interface address: an address and the length of its subnet's prefix (1-32 for IPv4,
 * 1-128 for IPv6). A zeroed one (family SYNACK_AF_NONE) is no address. */
struct synack_ifaddr {
    struct synack_addr addr;
    unsigned prefix;
};

/* How many addresses the kernel's side of a TUN device can be given at once. */
#define SYNACK_TUN_HOST_ADDRS 2

struct synack_tun_config {
    /* Device name (IFNAMSIZ-1 chars at most); created if absent. A "%d" in it ("syn%d")
     * lets the kernel pick the first free number: synack_tun_name() says which. */
    const char *ifname;
    /* The kernel's side: up to SYNACK_TUN_HOST_ADDRS addresses of either family, at most
     * one of them IPv4 (it becomes the device's primary address, replacing one it had);
     * unused slots zeroed. When any is set the device is given them, its MTU set to
     * `mtu`, and brought up, so one call makes a working path; when none is, the device is
     * only attached (someone else configures it). For an IPv6 address, IPv6 is turned on
     * for the device (its disable_ipv6 sysctl set to 0) and the address goes on without
     * duplicate address detection (IFA_F_NODAD; RFC 4862 §5.4 allows it, and a
     * point-to-point link to us has no one else to collide with), and synack_tun_open
     * returns once the kernel takes packets sent to it (its local route is in, at most 2 s
     * later); the device's MTU must then be at least 1280 (RFC 8200 §5). */
    struct synack_ifaddr host_addrs[SYNACK_TUN_HOST_ADDRS];
    unsigned mtu; /* 0: leave the device's MTU as it is (1500 for a new device) */
    /* Offloads (SYNACK_TUN_OFFLOAD_*): AUTO (0, the default) opens the device with a
     * virtio-net header on every packet (IFF_VNET_HDR) and asks the kernel for checksum
     * offload and TCP and UDP segmentation offload (TUNSETOFFLOAD: TUN_F_CSUM | TUN_F_TSO4 |
     * TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6, or as much of it as the kernel takes), so that
     * it hands the stack TCP segments it merged (GRO) or never split, up to 64 KiB, and UDP
     * datagrams, with checksums it vouches for (a UDP_SEGMENT send uncut, which the link cuts
     * into its datagrams), and takes from the stack TCP and UDP checksums to finish and
     * segments of up to 64 KiB to cut, TCP's and, with USO, UDP's (synack_link_tx_offloads); when
     * the kernel refuses the header, the link reads and writes plain packets. OFF: plain packets
     * (IFF_TUN | IFF_NO_PI), as before offloads existed. REQUIRE: as AUTO, but synack_tun_open
     * fails when the kernel refuses them. */
    int offload;
};

#define SYNACK_TUN_OFFLOAD_AUTO 0
#define SYNACK_TUN_OFFLOAD_OFF 1
#define SYNACK_TUN_OFFLOAD_REQUIRE 2

/* The offloads the kernel took for TUN link `l`: SYNACK_TUN_OFFLOADED_* bits (0 when the link
 * reads plain packets, or `l` is NULL or not a TUN link). */
#define SYNACK_TUN_OFFLOADED_VNET_HDR 0x1u /* every packet carries a virtio-net header */
#define SYNACK_TUN_OFFLOADED_CSUM 0x2u     /* TUN_F_CSUM: partial checksums in and out */
#define SYNACK_TUN_OFFLOADED_TSO4 0x4u     /* TUN_F_TSO4: IPv4 TCP up to 64 KiB */
#define SYNACK_TUN_OFFLOADED_TSO6 0x8u     /* TUN_F_TSO6: IPv6 TCP up to 64 KiB */
/* TUN_F_USO4 | TUN_F_USO6 (Linux 6.2 and later): UDP datagrams a kernel socket sent in one
 * go (UDP_SEGMENT) come uncut, up to 64 KiB, and the link cuts them (synack_uso_datagram);
 * the other way, the link takes the stack's datagrams joined for the kernel to cut
 * (SYNACK_TX_USO) */
#define SYNACK_TUN_OFFLOADED_USO 0x10u
unsigned synack_tun_offloads(const struct synack_link *l);

/* Opens /dev/net/tun with IFF_TUN | IFF_NO_PI (bare IP packets, no header), creates or
 * attaches `ifname`, configures the kernel side as `cfg` says, and makes the descriptor
 * non-blocking. IPv4 and IPv6 packets are told apart by their version nibble and both go
 * to the stack, including what the kernel sends on its own when the device comes up (IPv6
 * router solicitations and MLD reports to multicast addresses: the stack drops them as not
 * its own, counted ip-not-local). A read of another version, or of nothing, is dropped and
 * counted in rx_errors. `err` receives a sentence a person can act on ("no permission to
 * open /dev/net/tun: run as root or give the program CAP_NET_ADMIN", "device IFNAME is in
 * use by another process", "/dev/net/tun does not exist: load the tun module (modprobe
 * tun)"). The kernel's side is configured with interface ioctls (IPv4 address, netmask,
 * MTU, IFF_UP), an rtnetlink RTM_NEWADDR for each IPv6 address, and the device's
 * /proc/sys/net/ipv6/conf/IFNAME/disable_ipv6.
 * Errors: INVAL, IO, NOMEM. */
int synack_tun_open(struct synack_link **out, const struct synack_tun_config *cfg, char *err,
                    size_t errcap);

/* One stack per core over one TUN device: opens `queues` descriptors of one multi-queue
 * device (IFF_MULTI_QUEUE), out[0] .. out[queues-1], each a TUN link of its own, configured
 * as synack_tun_open configures one (the header and offloads the first queue got hold for
 * all). With more than one queue it installs a steering program (TUNSETSTEERINGEBPF, a
 * socket-filter BPF program; needs CAP_BPF or root) that hands each packet the kernel sends
 * to the queue synack_flow_queue_xor gives its flow. Run one stack per queue, all with the
 * same addresses, stack i configured with steer_queues = queues, steer_queue = i and
 * steer_hash = SYNACK_STEER_XOR: its outgoing connections then take only ports whose flow
 * comes back to queue i, and a connection the kernel opens arrives whole at the stack of
 * its queue. (Without the program the kernel would choose by its sockets' random transmit
 * hash, which no stack can predict and which changes after a retransmission timeout.) A
 * wrapper (fault, capture) may wrap each queue's link. The device is given its addresses
 * and brought up only once the program is in. With `queues` 1 it is a plain single-queue
 * device, as synack_tun_open opens. Free the queues' links together: the kernel numbers
 * the queues left after one is closed anew, and the program's numbers would no longer be
 * the stacks'. Freeing every queue's link deletes a device this call created.
 * Errors: INVAL (queues 0 or above SYNACK_TUN_MAX_QUEUES, or as synack_tun_open), IO (with
 * `err`: a queue that would not open, a program the kernel refused), NOMEM; on error no
 * link is left open. */
#define SYNACK_TUN_MAX_QUEUES 64u
int synack_tun_open_queues(struct synack_link **out, unsigned queues,
                           const struct synack_tun_config *cfg, char *err, size_t errcap);

/* The real name of the device of TUN link `l` (with a "%d" of the configured name filled
 * in), valid until the link is freed; NULL when `l` is NULL or not a TUN link (a wrapper
 * around one included). */
const char *synack_tun_name(const struct synack_link *l);

/* ---- the virtio-net header (virtio 1.1 §5.1.6) ------------------------------------------ */

/*
 * What a TUN device opened with IFF_VNET_HDR puts before every packet, and takes before
 * every packet written to it: struct virtio_net_hdr of virtio 1.1 §5.1.6, without
 * num_buffers (the device's header size is set to these 10 bytes, TUNSETVNETHDRSZ), its
 * 16-bit fields little-endian (TUNSETVNETLE; virtio 1.1 §5.1.6 "le16"). Offsets count from
 * the first byte of the IP packet (a TUN device has no link-layer header).
 * Parsed and emitted here, apart from any descriptor, so tests and the fuzzer reach it.
 */
#define SYNACK_VNET_HDR_LEN 10

/* flags (virtio 1.1 §5.1.6) */
#define SYNACK_VNET_F_NEEDS_CSUM 0x1u /* checksum partial: finish from csum_start */
#define SYNACK_VNET_F_DATA_VALID 0x2u /* checksum verified by the sender (receive side) */
/* gso_type (virtio 1.1 §5.1.6); ECN is a bit on top of a type */
#define SYNACK_VNET_GSO_NONE 0
#define SYNACK_VNET_GSO_TCPV4 1
#define SYNACK_VNET_GSO_UDP 3
#define SYNACK_VNET_GSO_TCPV6 4
#define SYNACK_VNET_GSO_UDP_L4 5 /* virtio 1.2 §5.1.6: UDP datagrams to cut, either family */
#define SYNACK_VNET_GSO_ECN 0x80u

struct synack_vnet_hdr {
    uint8_t flags;        /* SYNACK_VNET_F_* */
    uint8_t gso_type;     /* SYNACK_VNET_GSO_*, maybe with SYNACK_VNET_GSO_ECN */
    uint16_t hdr_len;     /* headers to repeat in each segment: a hint (§5.1.6.2.2) */
    uint16_t gso_size;    /* payload bytes per segment when gso_type is not NONE */
    uint16_t csum_start;  /* where the partial sum starts (NEEDS_CSUM) */
    uint16_t csum_offset; /* where, after csum_start, the checksum field is (NEEDS_CSUM) */
};

/* Why synack_vnet_parse refused a header. */
enum synack_vnet_error {
    SYNACK_VNET_OK = 0,
    SYNACK_VNET_TRUNCATED,     /* no packet after the header */
    SYNACK_VNET_CSUM_RANGE,    /* NEEDS_CSUM with the checksum field not inside the packet */
    SYNACK_VNET_GSO_TYPE,      /* a gso_type other than NONE, TCPV4, TCPV6 (with ECN), UDP_L4 */
    SYNACK_VNET_GSO_SIZE,      /* a GSO type with gso_size 0 */
    SYNACK_VNET_GSO_CSUM,      /* a GSO type without NEEDS_CSUM */
    SYNACK_VNET_GSO_FAMILY,    /* TCPV4 on a packet that is not IPv4, TCPV6 not IPv6,
                                  UDP_L4 neither */
    SYNACK_VNET_HDR_LEN_RANGE, /* hdr_len past the end of the packet */
    SYNACK_VNET_CSUM_PLACE,    /* NEEDS_CSUM with the field inside the packet but not the
                                  packet's TCP or UDP Checksum (TCP's with a TCP GSO type,
                                  UDP's with UDP_L4) */
};

/* "truncated", "csum-range", ... for a synack_vnet_error. Never NULL. */
const char *synack_vnet_error_name(enum synack_vnet_error e);

/* Parses the header `hdr` (SYNACK_VNET_HDR_LEN bytes, as read before the packet) into `out`, and
 * checks it against the packet it came with (`pkt`, `pkt_len` bytes; none is TRUNCATED): with
 * NEEDS_CSUM the 2-byte field at csum_start + csum_offset lies within the packet and is the
 * Checksum field of the TCP or UDP datagram the packet carries whole
 * (synack_checksum_place_is_valid; TCP's for a TCP GSO type, UDP's for UDP_L4), so a link vouches
 * for no sum the kernel did not leave partial where the stack reads it; a GSO type is TCPV4 or
 * TCPV6 on a packet of the matching IP version, or UDP_L4 on IPv4 or IPv6 (the old UDP
 * fragmentation type, UFO, is refused: we never ask for it), with gso_size > 0 and NEEDS_CSUM (a
 * packet left for segmentation has no final checksum: each segment will have its own); hdr_len does
 * not exceed the packet (its exact value is only a hint: a device "MUST NOT rely on hdr_len to be
 * correct", §5.1.6.2.2). Unknown flag bits are ignored (§5.1.6.2.2), as are csum_start and
 * csum_offset without NEEDS_CSUM, and gso_size without a GSO type. Returns SYNACK_VNET_OK and fills
 * `out`, or the reason (`out` then unspecified). */
enum synack_vnet_error synack_vnet_parse(const uint8_t hdr[SYNACK_VNET_HDR_LEN], const uint8_t *pkt,
                                         size_t pkt_len, struct synack_vnet_hdr *out);

/* The header that goes before `pkt` (`len` bytes, as synack_stack_output_offload wrote it)
 * for what `meta` leaves to the kernel (virtio 1.1 §5.1.6.2): all zero for a whole packet;
 * NEEDS_CSUM with csum_start and csum_offset for a partial checksum; for a segment to cut
 * also gso_type TCPV4 or TCPV6 (the packet's IP version), or UDP_L4 for joined UDP
 * datagrams (csum_offset 6, RFC 768's Checksum field), gso_size and hdr_len. 0, or
 * SYNACK_ERR_INVAL (`out` zeroed or unspecified) when `meta` does not fit the packet: the
 * checksum field not inside it, a segment to cut without a partial checksum, hdr_len past
 * its end, an IP version other than 4 and 6. */
int synack_vnet_hdr_for_tx(const struct synack_tx_meta *meta, const uint8_t *pkt, size_t len,
                           struct synack_vnet_hdr *out);

/* Writes `h` as SYNACK_VNET_HDR_LEN bytes into `out` (little-endian fields). */
void synack_vnet_emit(const struct synack_vnet_hdr *h, uint8_t out[SYNACK_VNET_HDR_LEN]);

/* ---- UDP encapsulation ------------------------------------------------------------------ */

/* Each IP packet of the stack (IPv4 or IPv6, whatever the outer family) travels as the
 * whole payload of one UDP datagram from local to peer, over IPv4 or IPv6: the peer's
 * family decides. Datagrams from any other source are dropped and counted in rx_errors.
 *
 * Batches. recv reads every datagram waiting, up to a batch, with one recvmmsg and hands
 * them out one per call; while some wait, the socket may no longer poll readable, so
 * next_deadline is the time of that read (a loop reading SYNACK_LOOP_BATCH packets per
 * turn, as synack_link_pump does, empties each batch it starts). queue and flush (the
 * link ops) send the packets of one output pass with one sendmmsg; send sends at once. A
 * batch is SYNACK_LOOP_BATCH datagrams of the largest MTU (path_mtu_max less the outer
 * headers), fewer when that would exceed 1 MiB each way, allocated when the link is
 * opened. A datagram larger than that MTU is dropped, counted in rx_errors: configure
 * both ends with the same path_mtu_max.
 *
 * Offloads (no_offload below): packets of one length in a row in an output pass leave as
 * one UDP GSO train, and the socket takes merged datagrams (UDP GRO). Its receive batch is
 * then 16 buffers of a whole datagram's worth (1 MiB), each holding one datagram or many
 * merged, handed out one by one: traffic the kernel does not merge takes one recvmmsg per
 * 16 datagrams rather than per 64. */
struct synack_udp_config {
    /* Our end. Its address may be SYNACK_AF_NONE or the wildcard of the peer's family (any
     * local address), or else one of this host's addresses of the peer's family; its port
     * must be set (the peer sends to it). */
    struct synack_endpoint local;
    struct synack_endpoint peer; /* a unicast or loopback address and a port, both set */
    /* mtu() is min(path MTU to the peer as the kernel knows it (IP_MTU / IPV6_MTU of the
     * connected socket), path_mtu_max) less the outer headers, 28 bytes over IPv4 (20 + UDP
     * 8) or 48 over IPv6 (40 + 8), so no datagram needs fragmenting, and never more than
     * a UDP datagram carries (65507 bytes over IPv4, 65527 over IPv6). 0 means 1500 (an
     * Ethernet path, even on loopback). */
    unsigned path_mtu_max;
    /* SO_RCVBUF / SO_SNDBUF asked of the kernel; 0 means 4 MiB, so a burst of a full
     * window does not overflow the socket. Root (CAP_NET_ADMIN) gets what it asks; anyone
     * else gets at most net.core.rmem_max / wmem_max (often 208 KiB), and a fast transfer
     * then loses bursts: synack_udp_sockbuf() says what was granted. */
    unsigned sockbuf;
    /* true: one datagram per packet each way, without the segmentation offloads (UDP GSO:
     * consecutive packets of one length leave as one UDP_SEGMENT message that the kernel
     * cuts; UDP GRO: datagrams the kernel merged arrive in one buffer). false (the
     * default): each is used where the kernel has it (Linux 4.18 and 5.0 on). */
    bool no_offload;
};

/* Binds and connects the UDP socket (non-blocking; an IPv6 socket is IPV6_V6ONLY). Every
 * datagram goes unfragmented (IPv4: DF set, IP_PMTUDISC_DO; IPv6: IPV6_PMTUDISC_DO, RFC
 * 8201: the source never fragments for a path it knows); one the kernel refuses as larger
 * than the path MTU it knows (after a router's fragmentation-needed or packet too big, or
 * a route change) is dropped, counted in tx_errors and too_big, and send returns IO; the
 * next recv then hands the stack the ICMP message a router would have sent about the
 * inner packet, by its family (synack_packet_too_big: RFC 1191 §4 destination
 * unreachable, fragmentation needed, or RFC 4443 §3.2 packet too big; next-hop MTU the
 * new mtu(), from the packet's destination to its source, quoting its start), so it
 * lowers its MSS. One such message waits at a time (a newer one replaces it); while it
 * waits next_deadline is the time of the refused send, so a loop reads it at once; one
 * announcing the same MTU as the last one read waits 10 ms.
 * Errors: INVAL (with `err`: incomplete, or local and peer of different families), IO
 * (with `err`: "address 127.0.0.1:9000 is in use", "address [::1]:9000 is in use", ...),
 * NOMEM. */
int synack_udp_open(struct synack_link **out, const struct synack_udp_config *cfg, char *err,
                    size_t errcap);
/* One stack per core over UDP encapsulation needs no steering: N links on N pairs of ports
 * are N independent paths, each joining stack i at one end to stack i at the other, and a
 * connection stays on the path it was opened on. (Steering, synack_config.steer_queues, is
 * for a link that spreads one stream of packets over queues: the multi-queue wire, a
 * multi-queue TUN.) */

/* The socket buffer sizes of UDP link `l` as the kernel reported them after they were set
 * (getsockopt SO_RCVBUF / SO_SNDBUF). Linux doubles the size it grants, the extra half
 * being for its bookkeeping, and reports the doubled value: root asking 4 MiB sees 8 MiB,
 * anyone else sees at most 2 * net.core.rmem_max (wmem_max). Either pointer may be NULL.
 * Errors: INVAL (`l` NULL or not a UDP link; a wrapper around one included). */
int synack_udp_sockbuf(const struct synack_link *l, unsigned *rcvbuf, unsigned *sndbuf);

/* Of UDP link `l`'s icmp_errors, how many were port unreachables (ECONNREFUSED): no process
 * holds the peer's port. With nothing ever received (rx_packets 0) the other end of the
 * link is not running, which an application may report at once as a refusal. (A function,
 * not a field of synack_link_stats, which callers allocate: the struct keeps its size.)
 * Errors: INVAL (`l` NULL or not a UDP link; a wrapper around one included). */
int synack_udp_refused(const struct synack_link *l, uint64_t *out);

/* System calls UDP link `l` has made to move packets: recvmmsg calls (`rx_calls`) and
 * sendmmsg calls (`tx_calls`), those that failed or found nothing included. Either
 * pointer may be NULL. Errors: INVAL (`l` NULL or not a UDP link; a wrapper around one
 * included). */
int synack_udp_calls(const struct synack_link *l, uint64_t *rx_calls, uint64_t *tx_calls);

/* What UDP link `l`'s segmentation offloads did (synack_udp_config.no_offload). */
struct synack_udp_offload_stats {
    bool gso;               /* trains are sent (UDP_SEGMENT): asked for, and not refused */
    bool gro;               /* merged datagrams are taken (UDP_GRO) */
    bool gso_refused;       /* asked for, and the kernel refused it (at open, or a train) */
    bool gro_refused;       /* asked for, and the kernel refused it at open */
    uint64_t gso_trains;    /* messages of more than one datagram sent */
    uint64_t gso_datagrams; /* the datagrams in them */
    uint64_t gro_buffers;   /* buffers received holding more than one datagram */
    uint64_t gro_datagrams; /* the datagrams in them */
};
/* Fills `out`. Errors: INVAL (`l` NULL or not a UDP link; a wrapper around one included;
 * `out` NULL). */
int synack_udp_offload(const struct synack_link *l, struct synack_udp_offload_stats *out);

/* ---- the multi-queue wire ----------------------------------------------------------------- */

/*
 * Two hosts of N stacks each (one stack per core), joined in memory by a wire with N queues
 * a side: the link of side s, queue i (synack_mqwire_link) carries the packets of that
 * side's stack i. A packet it sends goes to the other side's queue
 * synack_steer_packet(key, N, packet), which both directions of a flow share. Configure
 * stack i of each side with steer_queues = N, steer_queue = i and steer_key = key: its
 * outgoing connections then take only ports that steer back to it, and a listener on every
 * stack of a side receives each SYN on the stack of its flow. So every connection lives on
 * one stack at each end, and no packet of it crosses to another queue (steered_across
 * counts those that do).
 *
 * Threads. No lock: each (sending queue, receiving queue) pair has its own ring, written by
 * the sending link's thread and read by the receiving link's thread. Each link must be used
 * by one thread at a time (the one that runs its stack); different links may be used
 * concurrently. A link's fd is an eventfd that polls readable while a packet waits for the
 * link (also for a loop that reads a batch, not until AGAIN); it is only kept once fd has
 * been asked for, and then costs a write(2) per push into an empty ring: a loop that polls
 * without sleeping never pays a system call per packet. Free the wire once no thread uses
 * any of its links.
 *
 * Full rings. A send that does not fit is dropped and counted in tx_errors (AGAIN), as a
 * router drops what its queue cannot take; TCP recovers.
 */
struct synack_mqwire;

struct synack_mqwire_config {
    unsigned queues; /* N: 1 to SYNACK_STEER_MAX_QUEUES */
    uint8_t key[16]; /* the steering key (the stacks' steer_key) */
    unsigned mtu;    /* largest packet, and what mtu() reports: 68-65535; 0 means 1500 */
    /* Transmit offloads, on unless this is set: memory does not corrupt what it carries,
     * so the links take packets with TCP and UDP checksums left partial and TSO segments of
     * up to 64 KiB (SYNACK_TX_CSUM, SYNACK_TX_TSO4 and SYNACK_TX_TSO6), and hand them to
     * the receiving stack vouched for (synack_link_recv_offload) and whole, as a TUN device hands
     * its merged segments; a plain recv (a capture wrapped around a queue's link) gets the checksum
     * finished. Set it to carry only whole packets of at most mtu. */
    bool no_offload;
    size_t ring_bytes; /* bytes of each of the 2 x N x N rings: a power of two holding two
                          largest packets (65535 bytes with offloads, else mtu), at most
                          SYNACK_MQWIRE_MAX_RING; 0 means 1 MiB
                          (pages are committed as they are first written) */
};

#define SYNACK_MQWIRE_MAX_RING ((size_t)1 << 30)

/* Creates a wire. Errors: INVAL (NULL argument, queues 0 or too many, mtu or ring_bytes out
 * of range), NOMEM, IO (no eventfd: the process is out of descriptors). */
int synack_mqwire_new(struct synack_mqwire **out, const struct synack_mqwire_config *cfg);
/* The link of side `side` (0 or 1), queue `queue`; NULL when out of range. The wire owns
 * it: synack_link_free on it does nothing, synack_mqwire_free frees it. */
struct synack_link *synack_mqwire_link(struct synack_mqwire *w, unsigned side, unsigned queue);
/* Frees the wire, its rings and its links. NULL is allowed. */
void synack_mqwire_free(struct synack_mqwire *w);

/* ---- the in-process link ------------------------------------------------------------------ */

/*
 * A link whose far end is the embedding program itself: it hands packets in
 * (synack_inproc_push) and takes the stack's packets out (synack_inproc_pull), each with a
 * time. For a test that plays the peer packet by packet (write the peer's SYN, read
 * synack's SYN-ACK, ...), and for a program that carries the packets its own way (its own
 * transport, a shared-memory ring, a radio). The link parses nothing: any bytes of 1 to
 * mtu are carried, so a test can hand the stack malformed packets too.
 *
 * Two queues, bounded in packets (and optionally bytes) each way:
 *   - towards the stack: push copies the packet in with the time `at` it arrives; the
 *     link's recv hands it out only once its `now` >= `at`, and next_deadline is the
 *     earliest `at` waiting (so an event loop sleeps until then). Packets arrive in order
 *     of `at`, packets of equal `at` in the order pushed: a harness schedules arrivals,
 *     and one pushed with an earlier `at` overtakes those pushed before it (reordering).
 *     `at` is in the time of the stack's side (the `now` given to recv; for
 *     synack_loop, synack_loop_now()): 0 means "at once", which is what a program
 *     forwarding packets as they come passes;
 *   - from the stack: send copies the packet in, stamped with the `now` of the send; pull
 *     takes the oldest out with that time.
 * Both queues are allocated whole when the link is opened (packets x mtu bytes each way;
 * the OS commits pages only as they are first used) and never per packet.
 *
 * Full queues. A push that does not fit is refused (AGAIN, counted in rx_errors) so the
 * embedder knows; it may retry after the stack has read. A send that does not fit is
 * dropped as a router drops what its queue cannot take (AGAIN, counted in tx_errors): the
 * stack's own retransmission recovers, and an embedder that does not pull is never able
 * to block the stack.
 *
 * Threads. push, pull and every operation of the link's vtable but free may be called
 * from any thread at any time: one mutex guards both queues, the counters and the wake-up
 * state, and is held only to copy one packet in or out. The intended split is the stack
 * and its event loop on one thread (recv, send, next_deadline through the loop) and the
 * embedder on another (push, pull); the stack itself stays single-threaded and lock-free,
 * touched only from its own thread. mtu never changes and needs no lock. synack_link_free
 * must be called once no other thread uses the link (after joining it).
 *
 * Waking the two sides without polling:
 *   - the stack's side: the link's fd is an eventfd (non-blocking, close-on-exec). A push
 *     makes it readable, and it stays so until a recv returns AGAIN (which empties it), so
 *     a loop that reads until AGAIN never spins. It also wakes for a push whose `at` is
 *     still ahead: that push may have moved next_deadline earlier than the time a sleeping
 *     loop armed, so the loop must wake to read it (one recv returns AGAIN, the new
 *     deadline is armed). No push between that AGAIN and the next sleep goes unseen: the
 *     test of the queue and the emptying of the eventfd happen under the mutex, and a
 *     push after them makes the fd readable again. A wake-up costs one write(2) per push
 *     that finds the fd empty, not one per packet. Poll the fd; never read it (the link
 *     keeps its state);
 *   - the embedder's side: the `on_send` hook of the configuration, called on the
 *     stack's thread after each packet it queues. A hook and not a second eventfd
 *     because it costs nothing when unused (a test that pulls after each step needs no
 *     wake-up), lets a single-threaded program forward the packet at once (it may pull
 *     from inside the hook), and becomes an eventfd, a condition variable or a pipe in a
 *     few lines for a program with its own event loop; an fd would cost a system call
 *     per packet, or a protocol of when to read it, for every embedder alike.
 */
struct synack_inproc_config {
    /* Largest packet carried either way, and what mtu() reports (the stack's MTU): 68
     * (RFC 791 §3.2) to 65535; 0 means 1500. */
    unsigned mtu;
    /* Packets the queue towards the stack holds (pushed, not yet received): 1 to
     * SYNACK_INPROC_MAX_PACKETS; 0 means 256 (five 64 KiB windows of 1500-byte packets). */
    size_t rx_packets;
    /* Bytes of packets that queue holds at most; 0: no bound but rx_packets x mtu. When
     * set, at least mtu (a full-sized packet must fit in an empty queue). */
    size_t rx_bytes;
    /* The same for the queue from the stack (sent, not yet pulled). */
    size_t tx_packets;
    size_t tx_bytes;
    /* Called after each packet the stack's send has queued, on the thread that called
     * send (the stack's, inside its output drain), with the mutex released: `l` is this
     * link and `waiting` the packets now waiting to be pulled, this one included (1: the
     * queue was empty before it, so a consumer that pulls until AGAIN needs waking only
     * then). It may call synack_inproc_pull and synack_inproc_push; it must not call into
     * the stack, the link's vtable or synack_link_free. NULL: no hook. */
    void (*on_send)(void *ctx, struct synack_link *l, size_t waiting);
    void *on_send_ctx;
};

/* The most packets one queue of an in-process link holds. */
#define SYNACK_INPROC_MAX_PACKETS 65536u

/* Opens an in-process link (kind "inproc") with `cfg` (copied; NULL means every default).
 * Errors: INVAL (NULL out; mtu outside 68-65535; a packet bound above
 * SYNACK_INPROC_MAX_PACKETS; a byte bound below mtu), NOMEM, IO (no eventfd: the
 * process is out of descriptors). */
int synack_inproc_open(struct synack_link **out, const struct synack_inproc_config *cfg);

/* Hands the stack a packet: `len` bytes at `pkt` are copied, and the link's recv hands
 * them out once its `now` >= `at` (0: at once), in order of `at` (then of pushing).
 * Makes the link's fd readable. Safe from any thread.
 * Errors: INVAL (`l` NULL or not an in-process link; a wrapper around one is not one:
 * push to the pointer synack_inproc_open gave, which stays valid while the wrapper
 * lives), and, counted in rx_errors: INVAL (`pkt` NULL, `len` 0 or above mtu, `at`
 * SYNACK_NEVER), AGAIN (the queue towards the stack is full: nothing was queued). */
int synack_inproc_push(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t at);

/* Takes the oldest packet the stack sent: copies it into `buf` (`cap` bytes), stores the
 * `now` of the send in `*sent_at` (if not NULL) and returns its length. A buffer of mtu
 * bytes always suffices. Safe from any thread.
 * Errors: INVAL (`l` NULL or not an in-process link; `buf` NULL), AGAIN (nothing to
 * pull), BUFSZ (`cap` is smaller than the packet: it stays queued, first in line, so the
 * caller can retry with a buffer of mtu bytes; nothing is counted). */
synack_ssize synack_inproc_pull(struct synack_link *l, uint8_t *buf, size_t cap,
                                synack_time_t *sent_at);

/* ---- fault injection around any link ------------------------------------------------------ */

/* Impairments applied to each direction separately (outgoing: stack -> inner link;
 * incoming: inner link -> stack). Probabilities in [0, 1]. */
struct synack_fault_params {
    double loss;         /* drop the packet */
    synack_time_t delay; /* hold every packet this long */
    double reorder;      /* hold a packet back by reorder_delay extra, so others pass */
    synack_time_t reorder_delay;
    double dup;         /* deliver a second copy */
    double corrupt;     /* flip one random bit */
    uint64_t rate_bps;  /* 0: unlimited; else serialize at this rate ... */
    size_t queue_bytes; /* ... with a drop-tail queue this big (0: 2 * 64 KiB) */
};

/* Held packets (delay, reorder, rate) occupy at most this many bytes of buffers (headers
 * included) in each direction; a packet that would exceed it is dropped and counted in
 * tx_errors (outgoing: send returns AGAIN, as an OS without room would) or rx_errors
 * (incoming). */
#define SYNACK_FAULT_HELD_MAX (32u << 20)
/* All packet buffers of one wrapper, held in either direction or kept free for reuse,
 * come to at most this many bytes, whatever the parameters and the mix of packet sizes:
 * free buffers are given back to make room before a new one is made. */
#define SYNACK_FAULT_MEM_MAX (2u * SYNACK_FAULT_HELD_MAX)

/* Zero impairment; reorder_delay 10 ms. */
void synack_fault_params_default(struct synack_fault_params *p);

/* Wraps `inner` (taking ownership of it). Every draw comes from a PCG stream derived from
 * `seed` and the direction, so a seed fixes the fate of the n-th packet each way.
 * Errors: INVAL (NULL, probability outside [0, 1]), NOMEM; inner is freed on any error. */
int synack_fault_wrap(struct synack_link **out, struct synack_link *inner,
                      const struct synack_fault_params *p, uint64_t seed);

/* ---- capture around any link -------------------------------------------------------------- */

/* Wraps `inner` (taking ownership): every packet the stack sends and every packet handed
 * to the stack is written to the pcap file `path` (format as synack_pcap_open), stamped
 * with `now + epoch_offset` so that a monotonic clock becomes wall-clock time in the
 * file. Put it between the stack and a fault wrapper to capture what the stack really
 * saw and sent. Errors: INVAL, IO (with `err`), NOMEM (inner is freed on any error). */
int synack_pcap_wrap(struct synack_link **out, struct synack_link *inner, const char *path,
                     synack_time_t epoch_offset, char *err, size_t errcap);

/* ---- memory: large blocks on transparent huge pages --------------------------------------- */

/* An allocator for synack_config's alloc and free hooks. A block of at least `threshold`
 * bytes (0: 2 MiB) is a mapping of its own, aligned to 2 MiB and rounded up to a multiple
 * of it, advised MADV_HUGEPAGE, so that the kernel backs it with transparent huge pages
 * where it can (THP "always" or "madvise" in /sys/kernel/mm/transparent_hugepage/enabled;
 * with "never" the advice is ignored and the block works on 4 KiB pages): a buffer that
 * grows to megabytes then costs a page fault and a TLB entry per 2 MiB, not per 4 KiB
 * (docs/PERFORMANCE.md, "In-memory bulk"). Smaller blocks, the TCBs among them, come from
 * malloc. Thread-safe: several stacks on several threads may share one. */
struct synack_hugealloc;

struct synack_hugealloc_stats {
    size_t blocks;         /* large blocks mapped now */
    size_t bytes;          /* their mappings' bytes (each rounded up to 2 MiB) */
    uint64_t maps, unmaps; /* large blocks mapped and unmapped so far */
    uint64_t map_failures; /* large blocks refused (mmap, or growing the table of them,
                              failed): the stack saw NOMEM */
};

/* Makes an allocator. 0, INVAL (NULL out) or NOMEM. A threshold below 2 MiB is taken, but
 * every block at or past it still takes a 2 MiB mapping, which a huge page backs once it is
 * touched: up to 2 MiB of memory for each such block, however small. */
int synack_hugealloc_new(struct synack_hugealloc **out, size_t threshold);
/* Sets cfg's alloc, free and alloc_ctx to `h`. */
void synack_hugealloc_use(struct synack_hugealloc *h, struct synack_config *cfg);
/* The hooks themselves (ctx is the allocator). */
void *synack_hugealloc_alloc(void *ctx, size_t size);
void synack_hugealloc_release(void *ctx, void *p);
void synack_hugealloc_stats(struct synack_hugealloc *h, struct synack_hugealloc_stats *out);
/* Frees the allocator, after every stack that used it: large blocks still out are
 * unmapped with it. NULL is nothing. */
void synack_hugealloc_delete(struct synack_hugealloc *h);

/* ---- the event loop -------------------------------------------------------------------- */

/*
 * An epoll loop joining one stack to one link, and serving other descriptors (stdin,
 * stdout, files, sockets). It is the only code in synack that reads the real clock
 * (CLOCK_MONOTONIC). Each turn it:
 *   0. drains the stack's output into the link (what the application did between turns,
 *      such as a connect before the first turn, is sent before the loop sleeps);
 *   1. waits until the link's fd or a served fd is ready, or the earliest of the stack's
 *      and the link's deadlines (never longer than max_wait of synack_loop_run_once); it
 *      does not wait at all when stack events were queued after the turn hook was last
 *      called (by the hook's own calls: a close in SYN_SENT queues CLOSED at once, and
 *      nothing else would wake the loop) and are still unread, so the hook sees them now;
 *   2. polls the link when its deadline has passed (so packets it releases are read in
 *      this turn), then reads up to SYNACK_LOOP_BATCH packets from it into the stack,
 *      taking what the stack answers to each before reading the next (an ACK every
 *      second segment, RFC 5681 §4.2, not one per batch) and sending the answers
 *      together after the last (synack_link_pump);
 *   3. runs the stack's timers when their deadline has passed (after input, so an ACK
 *      that just arrived cancels a retransmission instead of racing it);
 *   4. calls the callbacks of ready descriptors;
 *   5. calls the turn hook (the application: events, send, recv);
 *   6. drains the stack's output into the link.
 */
#define SYNACK_LOOP_BATCH 64

struct synack_loop;

#define SYNACK_LOOP_IN 0x1u  /* readable (or hung up / error: the callback finds out) */
#define SYNACK_LOOP_OUT 0x2u /* writable */

typedef void (*synack_loop_fd_fn)(void *ctx, int fd, unsigned ready, synack_time_t now);
typedef void (*synack_loop_turn_fn)(void *ctx, synack_time_t now);

/* Creates a loop over `stack` and `link` (both stay the caller's). Errors: INVAL, NOMEM,
 * IO (epoll could not be created). */
int synack_loop_new(struct synack_loop **out, struct synack_stack *stack, struct synack_link *link);
void synack_loop_free(struct synack_loop *loop);

/* Reads CLOCK_MONOTONIC, in nanoseconds. */
synack_time_t synack_loop_now(const struct synack_loop *loop);
/* CLOCK_REALTIME - CLOCK_MONOTONIC now: add to a loop time to get time since the epoch
 * (for capture files). A property of the machine's clocks, not of a loop: `loop` may be
 * NULL, so a capture can be set up before the loop exists. */
synack_time_t synack_loop_epoch_offset(const struct synack_loop *loop);

/* Serves `fd` for `events` (SYNACK_LOOP_IN/OUT); `fn` is called with what is ready.
 * Regular files never poll (epoll refuses them): they are reported ready every turn.
 * Errors: INVAL, NOMEM, IO. */
int synack_loop_add_fd(struct synack_loop *loop, int fd, unsigned events, synack_loop_fd_fn fn,
                       void *ctx);
/* Changes the events watched for `fd` (0 pauses it). Errors: INVAL (not served), IO. */
int synack_loop_mod_fd(struct synack_loop *loop, int fd, unsigned events);
/* Stops serving `fd` (does not close it). */
void synack_loop_del_fd(struct synack_loop *loop, int fd);

/* The hook called once per turn, after packets, timers and descriptors. It should read the
 * stack's events (synack_stack_next_event): those its own calls queue make the next turn
 * come at once (step 1). */
void synack_loop_set_turn(struct synack_loop *loop, synack_loop_turn_fn fn, void *ctx);

/* One turn, waiting at most `max_wait` ns (SYNACK_NEVER: as long as needed).
 * Errors: IO (epoll_wait failed other than by EINTR, timerfd_settime failed to arm the
 * wake-up for a deadline, or the link's recv has failed with IO in every one of the last
 * 1000 turns: a TUN device deleted under the loop). */
int synack_loop_run_once(struct synack_loop *loop, synack_time_t max_wait);
/* Turns until synack_loop_stop() is called (from a callback or the hook). Returns 0, or
 * the first error of run_once. */
int synack_loop_run(struct synack_loop *loop);
void synack_loop_stop(struct synack_loop *loop);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
