/* The stack: the owner of the engines. It parses what arrives and hands it to TCP, UDP or
 * ICMP; it embeds the TCP engine's environment (tcp/env.h) and lends it its configuration,
 * counters and event queue; it owns the addresses, the UDP sockets, ICMP, fragments and
 * the events. Internal. */
#ifndef SYNACK_STACK_H
#define SYNACK_STACK_H

#include <synack/synack.h>

#include "base/addr.h"
#include "base/evq.h"
#include "ip/frag.h"
#include "ip/icmp_error.h"
#include "tcp/conn.h"
#include "udp/udp.h"

/* Slots of the event queue at first, and besides those its connections, TIME-WAIT records
 * and UDP sockets can fill. */
#define STACK_EVQ_MIN 256

/* An ICMP message waiting to be sent (an echo reply, a protocol unreachable): the whole
 * message is built into its slot of the queue's storage when it is queued. */
struct stack_icmp_msg {
    struct synack_addr src, dst;
    uint8_t tos;
    uint8_t type;
    uint16_t len; /* bytes of the ICMP message in the slot */
};

/* Bounded: an echo flood between two output calls costs this many slots, no more. */
#define STACK_ICMPQ_CAP 8
/* RFC 1812 §4.3.2.3: an ICMP error returns as much of the datagram as fits in 576 bytes. */
#define STACK_ICMP_ERR_MAX 576

/* The largest datagram the stack sends in fragments: what 16-bit length fields carry. */
#define STACK_BIG_MAX 65535u

/* A datagram larger than the MTU on its way out, one fragment per output call. */
struct stack_big {
    uint8_t *buf;             /* STACK_BIG_MAX bytes, allocated at first use */
    size_t len;               /* bytes of the datagram's data; 0: idle */
    struct wire_ip_repr ip;   /* its header (proto, addresses, id) */
    struct ip_frag_plan plan; /* which piece goes next */
};

/* A path MTU learnt from a packet too big (stack/pmtu.c); mtu 0: a free slot. */
struct stack_pmtu_entry {
    struct synack_addr dst;
    uint16_t mtu;
    synack_time_t expires;
};
#define STACK_PMTU_ENTRIES 16
/* RFC 8201 §4: no increase sooner than 5 minutes after a decrease; 10 recommended. */
#define STACK_PMTU_AGE SYNACK_S(600)

struct synack_stack {
    struct synack_config cfg;
    /* The TCP engine's environment (tcp/env.h): what the stack lends it (the config, the
     * counters, the events and the fields marked "lent" here) and TCP's own tables. */
    struct tcp_env tcp;
    uint64_t next_id;    /* lent: ids of connections, listeners and UDP sockets; never reused */
    uint16_t ip_id;      /* lent: the next IPv4 identification */
    size_t connect_from; /* cfg.addrs index an unbound connect tries first (tcp_api.c) */
    uint8_t *scratch;    /* one MTU, to build a packet in (UDP's) */
    /* ICMP messages to send, oldest first; slot i is icmpq_bytes + i * (mtu - 20). */
    struct stack_icmp_msg icmpq[STACK_ICMPQ_CAP];
    uint8_t *icmpq_bytes;
    size_t icmpq_head, icmpq_len;
    /* RFC 1812 §4.3.2.8 / RFC 1122 §3.2.2: ICMP errors sent in the current one-second window. */
    synack_time_t icmp_err_window_start;
    unsigned icmp_err_count;

    /* Events handed out by synack_stack_next_event (what it drops is counted in its
     * `dropped` and `nomem`, reported as events_dropped and, in the stats, events_nomem). */
    struct evq events;

    /* Lent: RFC 6056 §3.3.3 (Algorithm 3), a per-stack counter added to a keyed hash
     * offset, for TCP's and UDP's ephemeral ports. */
    uint32_t port_counter;

    /* UDP: the sockets, and the datagrams they sent waiting for synack_stack_output
     * (each a 2-byte length and a whole packet). */
    struct synack_udp *udp_socks;
    size_t nudp;
    struct ring udp_txq;
    uint8_t *udp_txq_buf;

    /* IP: fragments being reassembled, and a large datagram leaving in fragments. */
    struct ip_reasm reasm;
    struct stack_big big;
    struct stack_pmtu_entry pmtu[STACK_PMTU_ENTRIES]; /* for datagrams outside TCP */

    struct synack_counters counters;
    synack_trace_fn trace;
    void *trace_ctx;
};

/* The stack whose TCP environment `e` is. */
static inline struct synack_stack *stack_of(struct tcp_env *e)
{
    return (struct synack_stack *)((char *)e - offsetof(struct synack_stack, tcp));
}

void *stack_alloc(struct synack_stack *s, size_t size);
void stack_free(struct synack_stack *s, void *p);
void stack_count_drop(struct synack_stack *s, enum synack_drop reason);

/* ---- stack/addr.c ---- */
/* The first of the stack's addresses of `family`, or NULL. */
const struct synack_addr *stack_addr_of(const struct synack_stack *s, enum synack_family family);
/* The source address for a connection to `remote` from `bound` (NULL, a wildcard, or one
 * of the stack's addresses): `bound` itself if it names one, else the stack's first
 * address of the remote's family. INVAL when there is none or the families differ. */
int stack_source_addr(const struct synack_stack *s, const struct synack_addr *bound,
                      const struct synack_addr *remote, struct synack_addr *out);
/* True when `a` is one of the stack's addresses. */
bool stack_addr_is_local(const struct synack_stack *s, const struct synack_addr *a);
/* Both checks of an arriving packet's addresses in one pass: whether its source and its
 * destination are addresses of the stack. Inline: it runs for every packet. */
static inline void stack_addr_locality(const struct synack_stack *s, const struct synack_addr *src,
                                       const struct synack_addr *dst, bool *src_local,
                                       bool *dst_local)
{
    bool is_src = false, is_dst = false;
    /* synack_stack_new packed the addresses to the front: the first empty slot ends them. */
    for (size_t i = 0; i < SYNACK_MAX_ADDRS && s->cfg.addrs[i].family != SYNACK_AF_NONE; i++) {
        is_src |= addr_eq(&s->cfg.addrs[i], src);
        is_dst |= addr_eq(&s->cfg.addrs[i], dst);
    }
    *src_local = is_src;
    *dst_local = is_dst;
}

/* ---- stack/pmtu.c ---- */
/* The MTU for a datagram (not TCP) to `dst`: the link's, or less when a packet too big
 * lowered it within the last STACK_PMTU_AGE. */
unsigned stack_pmtu_get(struct synack_stack *s, const struct synack_addr *dst, synack_time_t now);
/* A packet too big said `mtu` for IPv6 destination `dst`: lowers its path MTU (to 1280 at
 * the least; never raises it) and returns true, counted in pmtu_decreases; false when
 * nothing changed (IPv4, or not lower). */
bool stack_pmtu_lower(struct synack_stack *s, const struct synack_addr *dst, uint32_t mtu,
                      synack_time_t now);

/* ---- stack/ip.c ---- */
int stack_ip_init(struct synack_stack *s);
void stack_ip_free(struct synack_stack *s);
/* Hands a fragment (ip->frag.present) to reassembly. SYNACK_DROP_NONE: the datagram is
 * whole, and *ip, *payload, *len now describe it (valid until the next reassembly call);
 * SYNACK_DROP_COUNT: held, nothing to do yet; any other reason: dropped (counted), with
 * *problem saying whether an ICMPv6 parameter problem is owed (RFC 8200 §4.5). */
enum synack_drop stack_ip_reassemble(struct synack_stack *s, struct wire_ip_repr *ip,
                                     const uint8_t **payload, size_t *len,
                                     struct wire_ip_problem *problem, synack_time_t now);
/* Drops the datagrams whose reassembly timed out, answering with ICMP time exceeded where
 * their first fragment came (RFC 1122 §3.3.2, RFC 8200 §4.5). */
void stack_ip_expire(struct synack_stack *s, synack_time_t now);
synack_time_t stack_ip_next_deadline(const struct synack_stack *s);
/* Adds the reassembler's own counts (timeouts, evictions) to a copy of the counters. */
void stack_ip_counters(const struct synack_stack *s, struct synack_counters *out);
void stack_ip_stats(const struct synack_stack *s, struct synack_stack_stats *out);
/* The buffer (STACK_BIG_MAX bytes) to build a large datagram's data in, or NULL when one
 * is still leaving or the memory is not there. */
uint8_t *stack_big_buffer(struct synack_stack *s);
/* Sends the `len` bytes written into stack_big_buffer as one datagram with header `ip`
 * (addresses, proto, tos, ttl), in fragments no larger than `mtu` (the link's, or the path
 * MTU stack_pmtu_get knows); false (the buffer freed) when `len` is 0 or it cannot be
 * planned. Call it after every stack_big_buffer. */
bool stack_big_commit(struct synack_stack *s, const struct wire_ip_repr *ip, size_t len,
                      unsigned mtu);
bool stack_big_busy(const struct synack_stack *s);
/* Writes the next fragment: its length, 0 when none waits, or SYNACK_ERR_BUFSZ. */
synack_ssize stack_big_output(struct synack_stack *s, uint8_t *buf, size_t cap, synack_time_t now);

/* ---- stack/icmp.c ---- */
/* An ICMP or ICMPv6 error, classified, to the transport of the datagram it returns: a UDP
 * socket or a TCP connection. */
void stack_icmp_error_deliver(struct synack_stack *s, const struct ip_icmp_error *e,
                              synack_time_t now);
/* The ICMP queue's slots: each holds one message (ICMP or ICMPv6) built in place. */
size_t stack_icmpq_slot_size(const struct synack_stack *s, enum synack_family family);
/* The next free slot to build a message in, or NULL (counted ICMP_QUEUE_FULL) when full. */
uint8_t *stack_icmpq_slot(struct synack_stack *s);
/* Queues the `len`-byte message just built in stack_icmpq_slot, from `src` to `dst`. */
void stack_icmpq_commit(struct synack_stack *s, const struct synack_addr *src,
                        const struct synack_addr *dst, uint8_t tos, uint8_t type, size_t len);
/* An echo reply of `len` bytes, built in stack_big_buffer, to the request `req` (0: it
 * could not be built): sent in fragments, or dropped (counted ICMP_QUEUE_FULL). */
void stack_icmp_big_reply(struct synack_stack *s, const struct wire_ip_repr *req, uint8_t proto,
                          size_t len);
/* RFC 1812 §4.3.2.8, RFC 4443 §2.4 (f): true (and counted against the budget) when one more
 * ICMP or ICMPv6 error may go out in the current second (icmp_error_limit). */
bool stack_icmp_error_allowed(struct synack_stack *s, synack_time_t now);
/* A well-formed ICMP message for this stack: answers echo requests, hands errors about our
 * TCP segments to tcp_icmp_input, counts and drops the rest. */
void stack_icmp_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                      const struct wire_icmp_repr *icmp, synack_time_t now);
/* RFC 1122 §3.2.2.1: answers a datagram of a protocol we do not run (`pkt`, addressed to us
 * from a unicast source, a first fragment, not ICMP) with a protocol unreachable, within the
 * rate limit. */
void stack_icmp_proto_unreach(struct synack_stack *s, const uint8_t *pkt,
                              const struct wire_ip_repr *ip, synack_time_t now);
/* RFC 1122 §4.1.3.1 / RFC 792: port unreachable about the datagram `pkt` (`len` bytes,
 * header parsed into `ip`) of a port no socket holds, either family, within the rate
 * limit. */
void stack_icmp_port_unreach(struct synack_stack *s, const uint8_t *pkt, size_t len,
                             const struct wire_ip_repr *ip, synack_time_t now);
/* RFC 792 time exceeded, code 1 (fragment reassembly time exceeded), about a datagram whose
 * first fragment (`first`, its data `data`) arrived but not the rest, within the ICMP error
 * rate limit. */
void stack_icmp_reasm_timeout(struct synack_stack *s, const struct wire_ip_repr *first,
                              const uint8_t *data, size_t len, synack_time_t now);
/* ---- stack/udp.c ---- */
int stack_udp_init(struct synack_stack *s);
void stack_udp_free(struct synack_stack *s);
/* A UDP datagram for us: to its socket's queue, or a port unreachable about `pkt` (NULL for
 * a reassembled datagram: nothing is sent). */
void stack_udp_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                     const struct wire_udp_repr *d, const uint8_t *pkt, size_t pkt_len,
                     synack_time_t now);
/* An ICMP or ICMPv6 error about a UDP datagram we sent (classified as for TCP). */
void stack_udp_icmp_error(struct synack_stack *s, const struct ip_icmp_error *e, synack_time_t now);
/* Writes the oldest queued UDP packet: its length, 0 if none, or SYNACK_ERR_BUFSZ. With
 * SYNACK_TX_CSUM in `tx` its checksum is left partial and `meta` says where (virtio 1.1
 * §5.1.6.2); otherwise it is finished here. */
synack_ssize stack_udp_output(struct synack_stack *s, uint8_t *buf, size_t cap, unsigned tx,
                              struct synack_tx_meta *meta, synack_time_t now);
bool stack_udp_has_output(const struct synack_stack *s);
/* Room was freed (the send queue drained, or the fragmenting slot): every socket whose send
 * got AGAIN gets WRITABLE. */
void stack_udp_wake_writers(struct synack_stack *s, synack_time_t now);

/* ---- stack/icmp6.c ---- */
/* A well-formed ICMPv6 message for this stack: echo answered, errors to TCP (RFC 4443). */
void stack_icmp6_input(struct synack_stack *s, const struct wire_ip_repr *ip,
                       const struct wire_icmp6_repr *icmp, synack_time_t now);
/* RFC 8200 §4, §4.5: a parameter problem about `pkt` (`len` bytes, header parsed into
 * `about`) as `problem` says, if RFC 4443 §2.4 (e) and the rate limit allow. */
void stack_icmp6_param_problem(struct synack_stack *s, const uint8_t *pkt, size_t len,
                               const struct wire_ip_repr *about,
                               const struct wire_ip_problem *problem, synack_time_t now);
/* RFC 4443 §3.1: destination unreachable, port unreachable (code 4), about `pkt`. */
void stack_icmp6_port_unreach(struct synack_stack *s, const uint8_t *pkt, size_t len,
                              const struct wire_ip_repr *about, synack_time_t now);
/* RFC 8200 §4.5: time exceeded (code 1) about a reassembly that timed out after its first
 * fragment (`first`, its data) came. */
void stack_icmp6_reasm_timeout(struct synack_stack *s, const struct wire_ip_repr *first,
                               const uint8_t *data, size_t len, synack_time_t now);

/* Writes the oldest queued ICMP message as a packet: its length, 0 if none is queued, or
 * SYNACK_ERR_BUFSZ. */
synack_ssize stack_icmp_output(struct synack_stack *s, uint8_t *buf, size_t cap, synack_time_t now);

#endif
