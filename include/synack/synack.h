/*
 * synack: a deterministic, sans-I/O TCP/IP engine: IPv4 and IPv6, TCP and UDP.
 *
 * Packets and the current time go in; packets, events and the next deadline come out.
 * The core makes no system call, reads no clock, draws no hidden random number and keeps
 * no mutable global: the same configuration and the same sequence of (packet, now) calls
 * give byte-identical output.
 *
 * Conventions
 *   - Functions return 0 or a negative SYNACK_ERR_* code; lengths are synack_ssize, a
 *     length or a negative SYNACK_ERR_*. synack_strerror() turns a code into text.
 *   - Addresses and ports are in host byte order.
 *   - `now` is monotonic nanoseconds from any origin; it never goes backwards.
 *   - Input is never retained: the stack copies what it keeps before it returns.
 */
#ifndef SYNACK_H
#define SYNACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function declared in synack's public headers belongs to its ABI: it is exported
 * from the shared libraries whatever -fvisibility they are built with, while the libraries'
 * internal functions stay hidden (cmake/install.cmake builds them so; tests/install/
 * symbols.sh checks both). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- time, lengths, errors ------------------------------------------------------------ */

typedef uint64_t synack_time_t; /* monotonic nanoseconds */
#define SYNACK_NEVER UINT64_MAX
#define SYNACK_US(x) ((synack_time_t)(x)*1000ull)
#define SYNACK_MS(x) ((synack_time_t)(x)*1000000ull)
#define SYNACK_S(x) ((synack_time_t)(x)*1000000000ull)

typedef ptrdiff_t synack_ssize; /* a length, or a negative SYNACK_ERR_* */

enum synack_err {
    SYNACK_OK = 0,
    SYNACK_ERR_INVAL = -1,       /* an argument is out of range or NULL */
    SYNACK_ERR_NOMEM = -2,       /* allocation failed */
    SYNACK_ERR_AGAIN = -3,       /* nothing to do now: no data, no space, no packet */
    SYNACK_ERR_ADDRINUSE = -4,   /* the local port (or 4-tuple) is taken */
    SYNACK_ERR_NOTCONN = -5,     /* the connection is not (yet) synchronized */
    SYNACK_ERR_CONNREFUSED = -6, /* the peer answered our SYN with a RST */
    SYNACK_ERR_CONNRESET = -7,   /* the peer reset an established connection */
    SYNACK_ERR_TIMEDOUT = -8,    /* retransmissions ran out */
    SYNACK_ERR_SHUTDOWN = -9,    /* send after shutdown(write) or close */
    SYNACK_ERR_STATE = -10,      /* the call is not valid in the connection's state */
    SYNACK_ERR_BUFSZ = -11,      /* the caller's buffer is too small for one packet */
    SYNACK_ERR_NOPORTS = -12,    /* no ephemeral port is free for that destination */
    SYNACK_ERR_ABORTED = -13,    /* the local application aborted the connection */
    SYNACK_ERR_MALFORMED = -14,  /* an input packet was malformed and dropped (counted) */
    SYNACK_ERR_IO = -15,         /* a driver's file or device operation failed (see its message) */
    SYNACK_ERR_UNREACH = -16,    /* ICMP said the peer cannot be reached (network or host
                                    unreachable, time exceeded): reported instead of TIMEDOUT
                                    when the connection then times out (RFC 1122 §4.2.3.9) */
    SYNACK_ERR_CONNLIMIT = -17,  /* the stack already holds max_conns connections */
    SYNACK_ERR_MSGSIZE = -18,    /* a UDP datagram longer than IP can carry (65507 bytes of
                                    data over IPv4, 65527 over IPv6) */
    SYNACK_ERR_STEERED = -19,    /* the 4-tuple asked for steers to another stack's queue
                                    (synack_config.steer_queues): its packets would not come
                                    back to this stack */
};

/* A sentence a person can act on, for any SYNACK_ERR_* code. Never NULL. */
const char *synack_strerror(int err);

/* ---- addresses ------------------------------------------------------------------------ */

/* The address families the stack speaks. The values are the IP version numbers. */
enum synack_family {
    SYNACK_AF_NONE = 0,  /* no address; as a listener's address: every address of both families */
    SYNACK_AF_INET = 4,  /* IPv4 (RFC 791) */
    SYNACK_AF_INET6 = 6, /* IPv6 (RFC 8200) */
};

/* An IPv4 or IPv6 address. `bytes` holds it in network byte order: an IPv4 address in
 * bytes[0..3] with bytes[4..15] zero, an IPv6 address in all 16. Two addresses are equal
 * when synack_addr_eq says so (or memcmp: unused bytes are always zero). A zeroed struct is
 * "no address" (SYNACK_AF_NONE). The all-zero address of a family (0.0.0.0, ::) is that
 * family's wildcard. */
struct synack_addr {
    uint8_t family; /* enum synack_family */
    uint8_t bytes[16];
};

/* An address and a port (host byte order). */
struct synack_endpoint {
    struct synack_addr addr;
    uint16_t port;
};

/* Room for any formatted address ("ffff:...:255.255.255.255" is 45 chars) with its NUL,
 * and for any formatted endpoint ("[" address "]:65535"). */
#define SYNACK_ADDR_STRLEN 46
#define SYNACK_ENDPOINT_STRLEN 54

/* IPv4 address from a host-order integer: synack_addr_v4(0xc6120001) is 198.18.0.1. */
struct synack_addr synack_addr_v4(uint32_t host_order);
/* IPv6 address from its 16 bytes in network order. */
struct synack_addr synack_addr_v6(const uint8_t bytes[16]);
/* The wildcard (all-zero) address of `family`; SYNACK_AF_NONE gives the zeroed struct. */
struct synack_addr synack_addr_any(enum synack_family family);
/* The IPv4 address as a host-order integer (0 for anything but IPv4). */
uint32_t synack_addr_v4_value(const struct synack_addr *a);
/* Same family and same bytes. */
bool synack_addr_eq(const struct synack_addr *a, const struct synack_addr *b);
/* True for SYNACK_AF_NONE and for the wildcard of either family. */
bool synack_addr_is_any(const struct synack_addr *a);
/* True when `a` could be a single host's unicast address (RFC 1122 §3.2.1.3, RFC 4291
 * §2.4): not a wildcard, not loopback (127/8, ::1), not multicast (224/4, ff00::/8), not
 * the limited broadcast, not 0/8, not an IPv4-mapped IPv6 address (::ffff:0:0/96). */
bool synack_addr_is_unicast(const struct synack_addr *a);
/* Same address and port. */
bool synack_endpoint_eq(const struct synack_endpoint *a, const struct synack_endpoint *b);

/* Parses what people type: dotted IPv4 ("198.18.0.1", four decimal parts 0-255, no
 * leading zeros beyond a lone 0), or IPv6 text per RFC 4291 §2.2 ("2001:db8::1",
 * "::ffff:198.18.0.1", hex groups of 1-4 digits, one "::" at most), optionally inside
 * brackets ("[2001:db8::1]"). Returns 0, or SYNACK_ERR_INVAL (out untouched). */
int synack_addr_parse(const char *text, struct synack_addr *out);
/* Parses "198.18.0.1:80", "[2001:db8::1]:80", or an address alone (port 0 then). A bare
 * IPv6 address with no brackets is an address without a port ("2001:db8::1" is not
 * "2001:db8:" port 1). Ports are decimal 0-65535. Returns 0 or SYNACK_ERR_INVAL. */
int synack_endpoint_parse(const char *text, struct synack_endpoint *out);
/* Writes `a` as text into `out` (always NUL-terminated when cap > 0): dotted IPv4, or IPv6
 * in the RFC 5952 form (lower case, the longest run of two or more zero groups as "::",
 * the first one on a tie; IPv4-mapped addresses end in dotted IPv4); "-" for
 * SYNACK_AF_NONE. Returns the length of the text (which may exceed cap - 1 when cut). */
size_t synack_addr_format(const struct synack_addr *a, char *out, size_t cap);
/* "198.18.0.1:80" or "[2001:db8::1]:80". Returns the length, as synack_addr_format. */
size_t synack_endpoint_format(const struct synack_endpoint *e, char *out, size_t cap);

/* ---- states ----------------------------------------------------------------------------- */

/* RFC 9293 §3.3.2, the 11 states. */
enum synack_state {
    SYNACK_CLOSED = 0,
    SYNACK_LISTEN,
    SYNACK_SYN_SENT,
    SYNACK_SYN_RECEIVED,
    SYNACK_ESTABLISHED,
    SYNACK_FIN_WAIT_1,
    SYNACK_FIN_WAIT_2,
    SYNACK_CLOSE_WAIT,
    SYNACK_CLOSING,
    SYNACK_LAST_ACK,
    SYNACK_TIME_WAIT,
    SYNACK_STATE_COUNT
};

/* "ESTABLISHED", "SYN_SENT", ... */
const char *synack_state_name(enum synack_state s);

/* ---- drop reasons and counters -------------------------------------------------------- */

/* Why an incoming packet or segment was dropped. Every drop is counted by reason. */
enum synack_drop {
    SYNACK_DROP_NONE = 0,
    /* IPv4 */
    SYNACK_DROP_IP_TRUNCATED,  /* shorter than 20 bytes or than IHL*4 */
    SYNACK_DROP_IP_VERSION,    /* version field is neither 4 nor 6 (or not 4 where IPv4 is
                                  parsed, not 6 where IPv6 is) */
    SYNACK_DROP_IP_IHL,        /* IHL < 5 */
    SYNACK_DROP_IP_TOTAL_LEN,  /* total length < IHL*4 or > bytes received */
    SYNACK_DROP_IP_CHECKSUM,   /* header checksum wrong */
    SYNACK_DROP_IP_FRAGMENT,   /* a fragment where a whole segment was expected (a parse of
                                  one packet, synack_format_packet); the stack reassembles
                                  fragments and counts their drops as frag-* */
    SYNACK_DROP_IP_PROTOCOL,   /* neither TCP nor ICMP */
    SYNACK_DROP_IP_NOT_LOCAL,  /* destination is not this stack's address */
    SYNACK_DROP_IP_BAD_SOURCE, /* source is broadcast, multicast or 0.0.0.0 */
    /* TCP header */
    SYNACK_DROP_TCP_TRUNCATED,   /* shorter than 20 bytes */
    SYNACK_DROP_TCP_DATA_OFFSET, /* data offset < 5 or past the end of the segment */
    SYNACK_DROP_TCP_OPTION,      /* option length 0 or 1, or running past the header */
    SYNACK_DROP_TCP_CHECKSUM,    /* checksum over pseudo-header + segment wrong */
    SYNACK_DROP_TCP_FLAGS,       /* impossible flags: SYN+FIN, SYN+RST */
    SYNACK_DROP_TCP_PORT_ZERO,   /* source or destination port 0 */
    /* TCP processing */
    SYNACK_DROP_NO_SOCKET,         /* no connection or listener: answered with RST if allowed */
    SYNACK_DROP_SYN_QUEUE_FULL,    /* listener's half-open queue is full */
    SYNACK_DROP_ACCEPT_QUEUE_FULL, /* listener's accept queue is full */
    SYNACK_DROP_LISTEN_BAD,        /* ACK/RST/no-SYN segment to a listener */
    SYNACK_DROP_UNACCEPTABLE,      /* sequence number outside the receive window (acked,
                                      within the invalid-ACK rate limit; its ACK field is
                                      never used, RFC 9293 §3.10.7.4 first check) */
    SYNACK_DROP_BAD_ACK,           /* ACK of data never sent, or too old (RFC 5961 §5) */
    SYNACK_DROP_RST_INVALID,       /* RST outside the window, or in window but not exact */
    SYNACK_DROP_SYN_IN_WINDOW,     /* SYN in a synchronized state (challenge ACK sent) */
    SYNACK_DROP_NO_ACK,            /* segment without ACK in a synchronized state */
    SYNACK_DROP_SYN_SENT_BAD,      /* segment not acceptable in SYN_SENT */
    SYNACK_DROP_NO_MEMORY,         /* a connection could not be allocated */
    SYNACK_DROP_MEM_BUDGET,        /* out-of-order data not kept: the stack holds mem_budget
                                      bytes of data */
    SYNACK_DROP_CONN_LIMIT,        /* a SYN found the stack at max_conns (and no SYN cookie
                                      could answer it) */
    SYNACK_DROP_RCV_BUFFER,        /* data beyond the receive buffer */
    SYNACK_DROP_PAWS,              /* RFC 7323 §5: timestamp older than TS.Recent (acked,
                                      within the invalid-ACK rate limit) */
    SYNACK_DROP_TIME_WAIT_RST,     /* RFC 1337: an acceptable RST in TIME_WAIT is ignored, so
                                      an old duplicate cannot cut the 2*MSL wait short */
    /* ICMP (RFC 792) */
    SYNACK_DROP_ICMP_TRUNCATED,  /* shorter than the 8-byte ICMP header */
    SYNACK_DROP_ICMP_CHECKSUM,   /* checksum over the whole ICMP message wrong */
    SYNACK_DROP_ICMP_QUOTE,      /* an error message without a whole IPv4 header (version 4,
                                    IHL >= 5) and 8 bytes of the datagram it returns */
    SYNACK_DROP_ICMP_IGNORED,    /* a message we take no action on: source quench (RFC 6633),
                                    redirect, echo reply, timestamp, ...; or a fragmentation-
                                    needed that does not lower the path MTU (RFC 1191 §3) */
    SYNACK_DROP_ICMP_NO_CONN,    /* an error about no connection of ours: not TCP from this
                                    address, unknown 4-tuple, TIME_WAIT */
    SYNACK_DROP_ICMP_BLIND,      /* RFC 5927 §4.1: the returned sequence number is outside
                                    SND.UNA =< SEQ < SND.NXT (spoofed or stale) */
    SYNACK_DROP_ICMP_QUEUE_FULL, /* an echo reply (or ICMP error) found the bounded queue of
                                    ICMP messages to send full */
    /* IPv6 (RFC 8200) */
    SYNACK_DROP_IP6_TRUNCATED,   /* shorter than the 40-byte header, or Payload Length past the
                                    bytes received */
    SYNACK_DROP_IP6_EXT_HEADER,  /* an extension header that runs past the packet, a hop-by-hop
                                    header not first (RFC 8200 §4.3), an option running past
                                    its header, or a chain longer than the stack walks */
    SYNACK_DROP_IP6_OPTION,      /* an unrecognized option whose type says discard (RFC 8200
                                    §4.2: high bits 01, 10, 11; answered with a parameter
                                    problem for 10 and 11 as the RFC says) */
    SYNACK_DROP_IP6_NEXT_HEADER, /* an unrecognized Next Header (RFC 8200 §4: answered with an
                                    ICMPv6 parameter problem, code 1), or No Next Header (59) */
    SYNACK_DROP_IP6_ROUTING,     /* a routing header of an unknown or deprecated type (RFC 5095:
                                    type 0) with segments left (RFC 8200 §4.4: parameter
                                    problem, code 0) */
    /* IP fragments (RFC 791 §3.2, RFC 815, RFC 8200 §4.5, RFC 5722) */
    SYNACK_DROP_FRAG_MALFORMED, /* a fragment whose length is not a multiple of 8 while more
                                   follow, that ends past 65535 bytes, or contradicts the end
                                   already known */
    SYNACK_DROP_FRAG_OVERLAP,   /* fragments that overlap: the whole datagram is dropped (RFC
                                   5722 §4; IPv4 likewise, against overlap attacks) */
    SYNACK_DROP_FRAG_TIMEOUT,   /* a datagram not completed within the reassembly timeout
                                   (RFC 8200 §4.5: 60 s; RFC 791: 15 s or more), counted once
                                   per datagram */
    SYNACK_DROP_FRAG_EVICTED,   /* an incomplete datagram evicted, oldest first, to keep the
                                   reassembly memory within its cap */
    /* UDP (RFC 768) */
    SYNACK_DROP_UDP_TRUNCATED,  /* shorter than the 8-byte header, or a Length field below 8
                                   or past the IP payload */
    SYNACK_DROP_UDP_CHECKSUM,   /* checksum over pseudo-header + datagram wrong, or zero over
                                   IPv6 (RFC 8200 §8.1: mandatory) */
    SYNACK_DROP_UDP_NO_SOCKET,  /* no UDP socket bound to the port: answered with a port
                                   unreachable within the ICMP error rate limit */
    SYNACK_DROP_UDP_QUEUE_FULL, /* the socket's receive queue was full (RFC 8085 §3.1.5 lets
                                   a receiver drop): the datagram is dropped */
    SYNACK_DROP_COUNT
};

/* "ip-checksum", "tcp-data-offset", ... */
const char *synack_drop_name(enum synack_drop d);

/* Counters kept per connection and summed per stack. All monotonically increasing. */
struct synack_counters {
    uint64_t segs_in;                   /* TCP segments accepted for processing */
    uint64_t segs_out;                  /* TCP segments emitted */
    uint64_t bytes_in;                  /* payload bytes received in sequence */
    uint64_t bytes_out;                 /* payload bytes sent, retransmissions included */
    uint64_t retransmits;               /* segments sent again: RTO or otherwise (not the
                                           SYN-ACK of a simultaneous open, which repeats
                                           the SYN's sequence number by rule) */
    uint64_t rto_expiries;              /* retransmission timer expiries */
    uint64_t dup_acks;                  /* duplicate ACKs received */
    uint64_t out_of_order;              /* in-window segments that were not at rcv_nxt */
    uint64_t challenge_acks;            /* RFC 5961 challenge ACKs sent */
    uint64_t challenge_acks_suppressed; /* ... and not sent because of the rate limit */
    uint64_t invalid_acks_suppressed;   /* ACKs owed to an unacceptable or PAWS-failing segment
                                           and not sent because of invalid_ack_interval */
    uint64_t mss_raised;                /* peers' MSS options below min_snd_mss, raised to it */
    uint64_t rsts_in;                   /* acceptable RSTs received */
    uint64_t rsts_out;                  /* RSTs sent */
    uint64_t fast_retransmits;          /* RFC 5681 §3.2 / RFC 6675: dupthresh or SACK loss */
    uint64_t recoveries;                /* fast-recovery episodes entered */
    uint64_t rack_losses;               /* segments RACK (RFC 8985 §6) marked lost */
    uint64_t tlp_probes;                /* RFC 8985 §7 tail loss probes sent */
    uint64_t sack_blocks_in;            /* SACK blocks received (RFC 2018) */
    uint64_t dsacks_in;                 /* D-SACK blocks received (RFC 2883) */
    uint64_t dsacks_out;                /* D-SACK blocks sent */
    uint64_t delayed_acks;              /* ACKs sent by the delayed-ACK timer */
    uint64_t keepalive_probes;          /* RFC 1122 §4.2.3.6 keepalive probes sent */
    uint64_t window_probes;             /* RFC 9293 §3.8.6.1 zero-window probes sent */
    uint64_t icmp_in;                   /* stack only: well-formed ICMP messages received */
    uint64_t icmp_out;                  /* stack only: ICMP messages sent */
    uint64_t icmp_echo_replies;         /* stack only: echo replies sent (RFC 1122 §3.2.2.6) */
    uint64_t icmp_errors_delivered;     /* ICMP errors that passed the RFC 5927 checks and were
                                           taken by their connection (soft error remembered,
                                           hard error applied, path MTU lowered) */
    uint64_t pmtu_decreases;            /* RFC 1191: fragmentation needed lowered the path MTU */
    uint64_t frags_reassembled;         /* stack only: datagrams rebuilt from fragments */
    uint64_t udp_in;                    /* UDP datagrams queued to a socket (and per socket) */
    uint64_t udp_out;                   /* UDP datagrams sent (and per socket) */
    uint64_t udp_icmp_errors;           /* ICMP errors about a socket's datagrams (and per
                                           socket) */
    uint64_t frags_out;                 /* stack only: fragments sent (a datagram larger than
                                           the MTU: an echo reply, a UDP datagram) */
    /* Resources (stack only unless noted). */
    uint64_t time_wait_records;        /* released connections that spent TIME_WAIT as a record */
    uint64_t time_wait_overflows;      /* ... that stayed whole because max_time_wait was reached */
    uint64_t time_wait_reused;         /* 4-tuples in TIME_WAIT taken over by an outgoing
                                          connection (time_wait_reuse) */
    uint64_t orphans_reset;            /* oldest orphans reset because max_orphans was reached */
    uint64_t fin_wait2_timeouts;       /* released connections reset after fin_wait2_timeout */
    uint64_t zero_window_timeouts;     /* released connections that gave up probing a zero window
                                         after data_retries probes */
    uint64_t syncookies_sent;          /* SYN-ACKs carrying a SYN cookie (no state kept) */
    uint64_t syncookies_validated;     /* ACKs whose cookie checked out: a connection was made */
    uint64_t syncookies_rejected;      /* ACKs to a listener taken for a cookie that did not check
                                          out (forged, replayed too late, corrupted): answered with
                                          RST as any ACK to a listener */
    uint64_t mem_budget_waits;         /* send() calls held back (AGAIN, or one segment's worth)
                                          because the stack held mem_budget bytes */
    uint64_t sndbuf_grown;             /* send buffers grown by autotuning (sndbuf_max) */
    uint64_t rcvbuf_grown;             /* receive buffers grown by autotuning (rcvbuf_max) */
    uint64_t rcv_rtt_raised;           /* times a receiver raised the round trip its
                                          autotuning uses (synack_tcp_info's rcv_rtt) because
                                          the route grew longer: three samples in a row and
                                          their timestamp echoes over four times it */
    uint64_t events_dropped;           /* events lost because the event queue was full (it held
                                          events_max) or could not grow (synack_stack_stats'
                                          events_nomem) */
    uint64_t ctl_queue_drops;          /* TCB-less segments (RSTs, TIME_WAIT ACKs, SYN-ACKs with a
                                          cookie) not sent because their queue was full: 64
                                          answers to segments that found no connection, 64 +
                                          max_conns RSTs of connections that ended */
    uint64_t drops[SYNACK_DROP_COUNT]; /* drops by reason */
};

/* ---- congestion control --------------------------------------------------------------- */

/* The congestion controller of a connection (per stack default, per connection choice). */
enum synack_cc {
    SYNACK_CC_CUBIC = 0, /* RFC 9438 (the default) */
    SYNACK_CC_NEWRENO,   /* RFC 5681 with appropriate byte counting (RFC 3465) */
    SYNACK_CC_COUNT
};
/* "cubic", "newreno". */
const char *synack_cc_name(enum synack_cc cc);
/* Parses "cubic" / "newreno" into `out`: 0, or INVAL. */
int synack_cc_parse(const char *name, enum synack_cc *out);

/* Where the sender is in its congestion-control cycle. */
enum synack_cc_phase {
    SYNACK_PHASE_SLOW_START = 0, /* cwnd < ssthresh: cwnd grows by what is acked */
    SYNACK_PHASE_CONG_AVOID,     /* cwnd >= ssthresh: about one MSS per RTT (or CUBIC) */
    SYNACK_PHASE_RECOVERY,       /* fast recovery after fast retransmit (RFC 6675 / 6582) */
    SYNACK_PHASE_LOSS,           /* recovering after a retransmission timeout */
    SYNACK_PHASE_COUNT
};
/* "slow-start", "congestion-avoidance", "recovery", "loss". */
const char *synack_cc_phase_name(enum synack_cc_phase p);

/* ---- configuration -------------------------------------------------------------------- */

/* RFC 4987 §3.6 SYN cookies: when a listener answers a SYN without keeping state. */
enum synack_syncookies {
    SYNACK_SYNCOOKIES_OVERFLOW = 0, /* when the SYN queue is full or the stack is at max_conns
                                       (the default, as Linux's tcp_syncookies=1) */
    SYNACK_SYNCOOKIES_ALWAYS,       /* for every SYN (no half-open state at all) */
    SYNACK_SYNCOOKIES_NEVER,        /* never: a SYN that finds the queue full is dropped */
    SYNACK_SYNCOOKIES_COUNT
};
/* "overflow", "always", "never". */
const char *synack_syncookies_name(enum synack_syncookies m);
/* Parses those names into `out`: 0, or INVAL. */
int synack_syncookies_parse(const char *name, enum synack_syncookies *out);

/* How many addresses one stack holds. */
#define SYNACK_MAX_ADDRS 8

struct synack_config {
    struct synack_addr addrs[SYNACK_MAX_ADDRS]; /* this stack's addresses, IPv4 and IPv6 in
                                          any mix: at least one; unused slots zeroed
                                          (SYNACK_AF_NONE). Each must be unicast
                                          (synack_addr_is_unicast) and appear once. The first
                                          of a family is the source of connections to that
                                          family that name no local address */
    uint16_t mtu;                      /* interface MTU; the MSS offered is mtu - 40 over IPv4,
                                          mtu - 60 over IPv6 (at least 1280 with an IPv6
                                          address, RFC 8200 §5) */
    uint16_t pmtu_min;                 /* the lowest path MTU an ICMP fragmentation-needed can set
                                          (576, RFC 1122 §3.3.3; at least 68, RFC 1191 §3; used as
                                          min(pmtu_min, mtu)). A report below it sets the path MTU
                                          to it and stops setting DF (RFC 1191 §3) */
    uint8_t ttl;                       /* IPv4 TTL of emitted packets (default 64) */
    uint64_t seed;                     /* seeds every random choice the stack makes (ports) */
    uint8_t isn_secret[16];            /* RFC 6528 key for the ISN hash */
    size_t max_conns;                  /* connections (not listeners) the stack can hold;
                                          also bounds the demux table, which grows with the
                                          connections held: at most the first power of two
                                          at or above 4 x max_conns buckets of 8 bytes */
    size_t sndbuf;                     /* send buffer per connection, bytes (64 KiB): what a
                                          connection starts with, and keeps unless sndbuf_max
                                          is larger */
    size_t rcvbuf;                     /* receive buffer per connection, bytes (64 KiB, max 1 GiB):
                                          what a connection starts with, and keeps unless
                                          rcvbuf_max is larger; without window scaling at most
                                          65535 of it is offered */
    size_t sndbuf_max;                 /* autotuning: the send buffer grows to twice the
                                          congestion window while the application fills it,
                                          up to this (16 MiB); at most sndbuf: fixed size */
    size_t rcvbuf_max;                 /* autotuning: the receive buffer grows to twice what
                                          the application read in one round trip, up to this
                                          (16 MiB; the window scale offered covers it); at most
                                          rcvbuf: fixed size. Growth stops at mem_budget */
    synack_time_t msl;                 /* maximum segment lifetime; TIME_WAIT lasts 2*msl (30 s) */
    synack_time_t rto_initial;         /* RFC 6298 (2.1): 1 s */
    synack_time_t rto_min;             /* lower bound of the RTO (200 ms, as Linux's; RFC
                                          6298 (2.4) says 1 s, a SHOULD) */
    synack_time_t rto_max;             /* upper bound of the backed-off RTO (60 s) */
    unsigned syn_retries;              /* SYN / SYN-ACK retransmissions before giving up (6) */
    enum synack_syncookies syncookies; /* RFC 4987 §3.6 (OVERFLOW). The cookie is the ISS of
                                     the SYN-ACK: a 27-bit MAC of the 4-tuple, the peer's ISN,
                                     the MSS (one of 8 values) and the options, under a key
                                     that changes every 32 s; valid for 32 to 64 s. With
                                     timestamps, window scale and SACK-permitted ride in the
                                     low bits of the SYN-ACK's TSval; without them a cookie
                                     connection has neither */
    size_t max_time_wait;              /* TIME_WAIT records (128 bytes each, no connection
                                          slot) the stack keeps for released connections (16384,
                                          the default ephemeral range: a client that closes first
                                          keeps each port's TIME_WAIT as a record; raise it with
                                          max_conns). Beyond it a released connection spends
                                          TIME_WAIT whole, in its slot (counted) */
    synack_time_t time_wait_reuse;     /* an outgoing connection (connect, ephemeral port or
                                          not) may take over a 4-tuple in TIME_WAIT on our side
                                          once this long has passed since that TIME_WAIT last
                                          sent or received a segment, if the old connection had
                                          timestamps (RFC 6191's rules seen from the side that
                                          closed first, as Linux's tcp_tw_reuse). The new ISS
                                          starts above the old sequence space, our TSvals above
                                          the old ones, and the peer's SYN must carry a TSval
                                          above the old connection's TS.Recent (else it is
                                          dropped, counted PAWS, until a second after the
                                          TIME_WAIT last heard the peer). 64 ms: one tick of
                                          our TSval clock would do (the least it may be, 1
                                          ms), but a peer answering with a SYN cookie rounds
                                          its TSval down by up to 63 ticks (Linux and synack
                                          keep options in its low 6 bits), which 64 ms of a
                                          1 ms clock covers. Linux waits 1 s. 0: never */
    size_t mem_budget;                 /* bytes of data the stack holds at most in all send and
                                          receive buffers and out-of-order queues (0: no budget; the
                                          buffers, sndbuf + rcvbuf per connection, bound it anyway).
                                          At the budget, receive windows stop growing (the right
                                          edge already offered stays: RFC 9293 §3.8.6.2.2),
                                          out-of-order data is dropped (counted), and send() takes
                                          no more than one segment on a connection with nothing
                                          queued (AGAIN otherwise, with WRITABLE later) */
    size_t max_orphans;                /* released connections still sending or closing (512);
                                          when one more is released the oldest is reset (counted) */
    synack_time_t fin_wait2_timeout;   /* a released connection in FIN_WAIT_2 whose peer never
                                       sends its FIN is reset after this long (60 s, Linux's
                                       tcp_fin_timeout); 0: never */
    synack_time_t keepalive_idle;      /* RFC 1122 §4.2.3.6 keepalive for every new connection (0:
                                          off, the RFC's default; synack_tcp_set_keepalive changes
                                          one connection) ... */
    synack_time_t keepalive_interval;  /* ... probe interval (75 s) ... */
    unsigned keepalive_count;          /* ... and unanswered probes before TIMEDOUT (9) */
    unsigned data_retries;             /* data / FIN retransmissions before giving up (15) */
    unsigned challenge_ack_limit; /* RFC 5961 §7: challenge ACKs per second, per connection (10);
                                     each second's budget lies in [ceil(limit/2),
                                     ceil(limit/2) + limit), drawn by a keyed hash of the
                                     connection and the second, so what one connection sees
                                     says nothing of another (the lesson of CVE-2016-5696,
                                     where one budget per stack was a side channel). 0 sends
                                     none */
    synack_time_t invalid_ack_interval; /* per connection, at most one ACK per interval in
                                     answer to segments that fail the acceptability test or
                                     PAWS, and challenge ACKs, like Linux's
                                     tcp_invalid_ratelimit (500 ms): spoofed segments can
                                     neither fake duplicate ACKs nor reflect a flood. 0: no
                                     limit */
    uint16_t min_snd_mss;               /* floor on the MSS taken from a peer's SYN (48, Linux's
                                           tcp_min_snd_mss): a peer cannot make us send 1-byte
                                           segments. Every IPv4 host accepts 576-byte datagrams
                                           (RFC 791, RFC 9293 §3.7.1), so the floor never exceeds
                                           what a conforming peer takes; at least 1 */
    size_t max_udp;                     /* UDP sockets the stack can hold (64) */
    size_t udp_rcvbuf;                  /* receive queue per UDP socket, bytes of data (64 KiB,
                                           at most 1 GiB); a datagram that does not fit is
                                           dropped (counted udp-queue-full); at most
                                           udp_rcvbuf / 64 datagrams */
    size_t udp_sndbuf;                  /* UDP datagrams waiting in the stack to be sent, bytes
                                           of packets for all sockets together (64 KiB, at most
                                           1 GiB); a send that does not fit gets AGAIN */
    size_t frag_mem;                    /* IP reassembly (RFC 791 §3.2, RFC 8200 §4.5): bytes the
                                           datagrams in progress may hold together (256 KiB); past
                                           it the oldest are evicted (counted frag-evicted). A
                                           datagram not whole after 30 s (IPv4) or 60 s (IPv6) is
                                           dropped (frag-timeout) */
    unsigned icmp_error_limit;          /* ICMP errors (protocol unreachable) sent per second, per
                                           stack (100; RFC 1812 §4.3.2.8); 0 sends none. Echo
                                           replies are bounded by a queue instead */
    uint16_t ephemeral_lo;              /* ephemeral port range (RFC 6335: 49152-65535) */
    uint16_t ephemeral_hi;
    /* Flow steering, for several stacks that share their addresses, one per core: a link
     * with steer_queues queues hands each arriving packet to queue
     * synack_steer_packet(steer_key, steer_queues, ...), the same for both directions of a
     * flow. A connection is then only reachable from the stack of its queue, so this
     * stack's outgoing TCP connections take only ephemeral ports whose 4-tuple steers to
     * steer_queue, and a connect from an explicit port that steers elsewhere fails with
     * STEERED. Listeners need nothing: a SYN arrives at the stack whose queue it steers to.
     * 0 or 1 (the default): no steering. At most SYNACK_STEER_MAX_QUEUES; steer_queue <
     * steer_queues. UDP sockets choose their port before they know the peer, so they are
     * not steered. A multi-queue TUN (synack_tun_open_queues) steers by
     * synack_flow_queue_xor: set steer_hash to SYNACK_STEER_XOR there. */
    unsigned steer_queues;
    unsigned steer_queue;
    uint8_t steer_key[16]; /* the hash key every stack and the link share */
    /* Which hash: SYNACK_STEER_SIPHASH (the default, keyed: what the multi-queue wire
     * uses) or SYNACK_STEER_XOR (synack_flow_queue_xor: unkeyed, what the steering program
     * of a multi-queue TUN computes in the kernel). */
    int steer_hash;
    /* Options offered in our SYN (each used only if the peer offers it too). */
    bool window_scale; /* RFC 7323 §2 (on) */
    bool timestamps;   /* RFC 7323 §3 timestamps and PAWS (on) */
    bool sack;         /* RFC 2018 SACK, with D-SACK (RFC 2883) (on) */
    /* Sending and acknowledging. */
    enum synack_cc cc;            /* default controller for new connections (CUBIC) */
    unsigned init_cwnd;           /* initial window in segments, RFC 6928 (10) */
    bool nodelay;                 /* default for new connections: Nagle off (false) */
    synack_time_t delack_timeout; /* RFC 5681 §4.2 / RFC 1122 §4.2.3.2 delayed ACK (40 ms);
                                     0 acknowledges every segment at once */
    bool rack;                    /* RFC 8985 RACK-TLP loss detection (on) */
    /* TCP segmentation offload (synack_stack_output_offload with SYNACK_TX_TSO4/6): the
     * largest IP packet one TCP segment left for the link to cut may make, headers
     * included (65535, the default and the most an IPv4 Total Length carries); 0, or less than
     * two full segments and their headers, never leaves one to cut */
    uint32_t gso_max_size;
    /* Allocator hooks; NULL means malloc/free. */
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
};

#define SYNACK_STEER_MAX_QUEUES 1024u
#define SYNACK_STEER_SIPHASH 0
#define SYNACK_STEER_XOR 1

/* A hash of the flow between `a` and `b` (a SipHash under `key`) that is the same whichever
 * endpoint is named first, so both directions of a flow get one value. a and b must be of
 * one family. */
uint32_t synack_flow_hash(const uint8_t key[16], const struct synack_endpoint *a,
                          const struct synack_endpoint *b);
/* The queue (0 .. queues-1) the flow between `a` and `b` steers to; 0 when queues <= 1. */
unsigned synack_flow_queue(const uint8_t key[16], unsigned queues, const struct synack_endpoint *a,
                           const struct synack_endpoint *b);
/* The queue of the flow between `a` and `b` by a hash a kernel's BPF program computes
 * (synack_tun_open_queues installs one): h = the XOR of the two addresses' 32-bit words
 * (one each for IPv4, four each for IPv6, each read big-endian) and the two ports; then
 * ((h * 0x9e3779b1) mod 2^32 >> 16) mod queues. Symmetric and unkeyed: a peer can aim
 * its flows at one queue, which costs balance, not correctness. 0 when queues <= 1. */
unsigned synack_flow_queue_xor(unsigned queues, const struct synack_endpoint *a,
                               const struct synack_endpoint *b);
/* The queue an IP packet steers to: a TCP or UDP packet by its 4-tuple; an ICMP or ICMPv6
 * error by the 4-tuple of the packet it quotes, so it reaches the stack of that flow (by
 * the quoted addresses alone when the quote is of a fragment); a fragment (which may carry
 * no ports), another protocol, or an ICMP message that is no error or does not parse by
 * its own two addresses (port 0); anything unreadable (too short, not IP) to queue 0.
 * Reads only what `len` covers. 0 when queues <= 1. */
unsigned synack_steer_packet(const uint8_t key[16], unsigned queues, const uint8_t *pkt,
                             size_t len);

/* Fills `cfg` with the defaults listed above; addrs is empty and must be set. */
void synack_config_default(struct synack_config *cfg);
/* Adds `addr` to cfg->addrs: 0, INVAL (not unicast, already there), or NOMEM (all
 * SYNACK_MAX_ADDRS slots are taken). */
int synack_config_add_addr(struct synack_config *cfg, const struct synack_addr *addr);

/* ---- the stack -------------------------------------------------------------------------- */

struct synack_stack;
struct synack_tcp;      /* one connection */
struct synack_listener; /* one listening port with its backlog */

/* Creates a stack. Errors: INVAL (no address; an address not unicast or given twice; mtu
 * < 68, or < 1280 with an IPv6 address; pmtu_min < 68; bad buffer sizes; time_wait_reuse
 * neither 0 nor at least 1 ms), NOMEM. */
int synack_stack_new(struct synack_stack **out, const struct synack_config *cfg);
/* Frees the stack and every connection and listener it holds. NULL is allowed. */
void synack_stack_free(struct synack_stack *stack);

/* The stack's first address of `family` (see synack_config.addrs), or NULL if it has none. */
const struct synack_addr *synack_stack_addr(const struct synack_stack *stack,
                                            enum synack_family family);

/* Copies up to `cap` of the stack's addresses into `out`, in configuration order, and
 * returns how many it holds (at most SYNACK_MAX_ADDRS). */
size_t synack_stack_addrs(const struct synack_stack *stack, struct synack_addr *out, size_t cap);

/* Hands one IPv4 or IPv6 packet to the stack: TCP segments go to their connection; ICMP echo
 * requests are answered (RFC 792, RFC 1122 §3.2.2.6) and ICMP errors go to the connection
 * that sent the datagram they return (RFC 1122 §4.2.3.9, RFC 5927, RFC 1191). Malformed
 * packets are counted by reason and dropped.
 * Returns 0, or SYNACK_ERR_MALFORMED when the packet was dropped as malformed (counted). */
int synack_stack_input(struct synack_stack *stack, const uint8_t *pkt, size_t len,
                       synack_time_t now);

/* What the link that read a packet vouches for, for synack_stack_input_flags. */
/* The TCP or UDP checksum need not be verified: the link's driver verified it (virtio 1.1
 * §5.1.6.3.1 VIRTIO_NET_HDR_F_DATA_VALID), or the packet never crossed a wire and its sum
 * was left partial for a device to finish (VIRTIO_NET_HDR_F_NEEDS_CSUM, §5.1.6.2), so
 * verifying it would drop a good packet. It covers a whole datagram only: a fragment is
 * reassembled and its datagram's checksum verified as always. The IPv4 header checksum and
 * ICMP's are verified all the same (the kernel completes both). Never set it for bytes
 * whose origin nobody vouches for. */
#define SYNACK_INPUT_CSUM_VERIFIED 0x1u
#define SYNACK_INPUT_FLAGS_ALL 0x1u /* every flag this version knows */

/* synack_stack_input for a packet its link vouches for in part: `flags` is 0 or a set of
 * SYNACK_INPUT_* (0 is synack_stack_input). The packet may be longer than the stack's MTU,
 * up to 65535 bytes: a TCP segment the kernel merged (GRO) or left for a device to segment
 * (GSO) is taken as one segment.
 * Returns 0, SYNACK_ERR_MALFORMED as synack_stack_input, or SYNACK_ERR_INVAL (NULL stack or
 * packet, a flag this version does not know). */
int synack_stack_input_flags(struct synack_stack *stack, const uint8_t *pkt, size_t len,
                             unsigned flags, synack_time_t now);

/* One packet of a batch for synack_stack_input_batch: its bytes and what its link vouches
 * for (SYNACK_INPUT_* flags, 0 for none). */
struct synack_rx {
    const uint8_t *pkt;
    size_t len;
    unsigned flags;
};

/* Hands `n` packets to the stack in order: exactly what `n` calls of synack_stack_input_flags
 * would do, packet by packet (the same connections, answers, events, counters and trace),
 * except that the stack first starts loading the connection state of several packets into
 * the processor's cache, so that at many connections their waits for memory overlap
 * instead of following one another (docs/PERFORMANCE.md, "A round trip at a million
 * connections"). For a link that reads several packets at a time.
 * Returns how many were taken (the others were dropped as malformed and counted), or
 * SYNACK_ERR_INVAL, taking none, for a NULL stack, a NULL `rx` with `n` > 0, or an entry
 * with a NULL packet or a flag this version does not know. */
synack_ssize synack_stack_input_batch(struct synack_stack *stack, const struct synack_rx *rx,
                                      size_t n, synack_time_t now);

/* Finishes a checksum a sender left partial (virtio 1.1 §5.1.6.2: VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * the one's-complement sum (RFC 1071) of bytes `start` to `len` of `pkt`, whose field at
 * `start + offset` holds the pseudo-header's sum, complemented and stored in that field in
 * network order. For a link that reads such packets and hands them on without
 * SYNACK_INPUT_CSUM_VERIFIED. Returns 0, or SYNACK_ERR_INVAL (NULL packet, or the field not
 * within the packet: start + offset + 2 > len). */
int synack_checksum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset);

/* UDP segmentation offload, received (virtio 1.2 §5.1.6: VIRTIO_NET_HDR_GSO_UDP_L4; what
 * Linux's UDP_SEGMENT sends): `pkt` (`len` bytes) is one IPv4 or IPv6 packet whose UDP
 * datagram carries the payloads of several, `gso_size` bytes each (the last may be
 * shorter). Writes datagram `index` (from 0) into `out` as a packet of its own: the IP and
 * UDP headers of `pkt` with this datagram's lengths (RFC 791 Total Length and header
 * checksum, with the Identification advanced by `index` as Linux's segmentation does it;
 * RFC 8200 Payload Length; RFC 768 Length), and its UDP checksum whole when `finish`, else
 * partial (the pseudo-header's sum, virtio 1.1 §5.1.6.2) for a link that vouches for it.
 * The Length and Checksum of `pkt`'s own UDP header are not read. Returns the datagram's
 * length; 0 when `index` is past the last datagram; SYNACK_ERR_BUFSZ when `cap` is too
 * small for it; SYNACK_ERR_INVAL when `pkt` is not such a packet (its IP header does not
 * parse, it is a fragment, it carries anything but UDP right after a fixed header (IPv4
 * options and IPv6 extension headers are refused), its UDP datagram has no payload) or
 * `gso_size` is 0. */
synack_ssize synack_uso_datagram(const uint8_t *pkt, size_t len, size_t gso_size, size_t index,
                                 bool finish, uint8_t *out, size_t cap);

/* Whether a partial checksum's place as a link's header gives it (virtio 1.1 §5.1.6.2:
 * csum_start, csum_offset) is where the packet's own headers put the transport checksum:
 * for `pkt` (`len` bytes), an IPv4 or IPv6 packet carrying a whole TCP or UDP datagram,
 * `start` is where that header begins (after the IP header and every extension header,
 * RFC 8200 §4) and `offset` is its Checksum field's (16 for TCP, RFC 9293 §3.1; 6 for UDP,
 * RFC 768), the field within the datagram. False for a partial checksum anywhere else: in
 * a fragment, or over any other protocol. A packet whose IP header does not parse is true:
 * its place cannot be judged, and synack_stack_input drops and counts it all the same. For
 * a link to check before it vouches for a NEEDS_CSUM packet (SYNACK_INPUT_CSUM_VERIFIED). */
bool synack_checksum_place_is_valid(const uint8_t *pkt, size_t len, size_t start, size_t offset);

/* Writes the next packet the stack wants to send into `buf` and returns its length (a TCP
 * segment, or an ICMP message such as an echo reply);
 * SYNACK_ERR_AGAIN when there is nothing to send; SYNACK_ERR_BUFSZ when `cap` is smaller
 * than the MTU. Call until AGAIN after every input, timer run or application call. */
synack_ssize synack_stack_output(struct synack_stack *stack, uint8_t *buf, size_t cap,
                                 synack_time_t now);

/* What a link finishes for the stack on transmit (synack_link_tx_offloads): the bits a
 * caller passes to synack_stack_output_offload. */
/* The link completes a TCP or UDP checksum left partial (virtio 1.1 §5.1.6.2,
 * VIRTIO_NET_HDR_F_NEEDS_CSUM): the field holds the pseudo-header's sum, folded and not
 * complemented, and the link (or the kernel behind it) sums the rest, sending a UDP sum
 * that comes to zero as all ones (RFC 768, RFC 8200 §8.1; synack_checksum_complete does). */
#define SYNACK_TX_CSUM 0x1u
/* The link cuts an IPv4 (TSO4) or IPv6 (TSO6) TCP segment longer than the MSS into
 * segments of gso_size payload bytes each, as TCP segmentation offload does
 * (VIRTIO_NET_HDR_GSO_TCPV4 / _TCPV6): every piece takes the header of the whole, with its
 * sequence number advanced, the IPv4 identification advanced by one per piece, and PSH and
 * FIN only on the last piece. Only with SYNACK_TX_CSUM (each piece needs its own sum). */
#define SYNACK_TX_TSO4 0x2u
#define SYNACK_TX_TSO6 0x4u
/* The link cuts a UDP packet of either family into datagrams of gso_size payload bytes each
 * (the last may have fewer), as UDP segmentation offload does (virtio 1.2 §5.1.6.2,
 * VIRTIO_NET_HDR_GSO_UDP_L4; Linux's UDP_SEGMENT): every datagram takes the header of the
 * whole with its own IP and UDP lengths, the IPv4 identification advanced by one per
 * datagram, and its own checksum. Only with SYNACK_TX_CSUM. A link that carries the packet
 * to a stack must cut it first (synack_uso_datagram): a stack takes it as one datagram. */
#define SYNACK_TX_USO 0x8u
#define SYNACK_TX_ALL 0xfu /* every bit this version knows */

/* How a packet of synack_stack_output_offload is to be finished by its link. All zero: a
 * whole packet with complete checksums, as synack_stack_output writes. */
struct synack_tx_meta {
    bool csum_partial;    /* the TCP or UDP checksum is partial (SYNACK_TX_CSUM) */
    uint16_t csum_start;  /* with csum_partial: where the sum starts (the transport header,
                             from the first byte of the IP packet) */
    uint16_t csum_offset; /* with csum_partial: the checksum field, after csum_start (16,
                             TCP's; 6, UDP's) */
    uint16_t gso_size;    /* 0, or a TCP segment to cut into pieces of gso_size payload bytes
                             (SYNACK_TX_TSO4/6; the payload is at least two of them), or
                             UDP datagrams joined into one packet, gso_size payload bytes each
                             but the last (SYNACK_TX_USO; at least two of them) */
    uint16_t hdr_len;     /* with gso_size: IP and TCP (or UDP) header bytes, which each piece
                             repeats */
};

/* synack_stack_output for a link that finishes some of the work (`tx`: SYNACK_TX_* bits the link
 * takes; 0 is synack_stack_output). With SYNACK_TX_CSUM the checksums of TCP segments and of UDP
 * datagrams that leave whole are left partial (those of UDP fragments, ICMP, TCB-less RSTs and the
 * IPv4 header are whole); with SYNACK_TX_TSO4/6 too, a TCP connection may write up to config
 * gso_max_size bytes (and `cap`) as one segment where it would have written several full-sized ones
 * at once, under the same congestion window, peer's window and Nagle as they: the link's pieces are
 * byte for byte the segments synack_stack_output would have written (RFC 9293 §3.7.1: none exceeds
 * the MSS), and the connection accounts for each piece as for a segment of its own (RFC 5681, RFC
 * 6298, RFC 8985); with SYNACK_TX_USO and SYNACK_TX_CSUM, UDP datagrams queued one after
 * another by one socket to one destination, as many payload bytes each, may leave as one
 * packet (at most 64 of them, within gso_max_size and `cap`) whose cutting gives back byte for
 * byte the datagrams synack_stack_output would have written. `meta` says what the link must
 * finish (zeroed when nothing). Returns as synack_stack_output, or SYNACK_ERR_INVAL (NULL
 * meta, an unknown bit). */
synack_ssize synack_stack_output_offload(struct synack_stack *stack, uint8_t *buf, size_t cap,
                                         unsigned tx, struct synack_tx_meta *meta,
                                         synack_time_t now);

/* The earliest time at which synack_stack_handle_timers() has work; SYNACK_NEVER if none.
 * O(1) whatever the number of connections. */
synack_time_t synack_stack_next_deadline(const struct synack_stack *stack);

/* Runs every timer due at or before `now` (retransmission, TIME_WAIT, ...). */
void synack_stack_handle_timers(struct synack_stack *stack, synack_time_t now);

/* Stack-wide counters: drops of packets that reached no connection, plus the sum of the
 * counters of every connection ever held. */
void synack_stack_counters(const struct synack_stack *stack, struct synack_counters *out);

/* What the stack holds now, against its limits. */
struct synack_stack_stats {
    size_t conns, max_conns;         /* connections allocated (held or not) */
    size_t half_open;                /* SYN_RECEIVED connections of listeners */
    size_t time_wait, max_time_wait; /* TIME_WAIT records */
    size_t orphans, max_orphans;     /* released connections still sending or closing */
    size_t listeners;
    size_t events_queued, events_cap; /* events waiting to be taken, and room for them now:
                                         the queue starts small, doubles with what is
                                         pending, up to events_max, and goes back to its
                                         first size once emptied */
    size_t events_max;                /* the most events the queue holds: past it (or when it
                                         cannot grow) events are dropped, counted in
                                         synack_counters' events_dropped */
    size_t events_nomem;              /* of those dropped, the events lost because the
                                         allocator refused to grow the queue (here, not in
                                         synack_counters, whose copy in every TCB would grow) */
    size_t mem_held, mem_budget;      /* data held in buffers and out-of-order queues */
    size_t conn_bytes;                /* bytes allocated per connection when it is made: its
                                         TCB; the rest comes with use (conn_storage) */
    size_t conn_storage;              /* bytes allocated now for all connections' send and
                                         receive buffers, scoreboards and out-of-order tables
                                         (beyond conns * conn_bytes): each comes with its first
                                         byte or record, grows with autotuning, and is given
                                         back when it holds nothing again, so an idle
                                         connection adds nothing here; and the block of a
                                         connection's rarer counters (synack_tcp_info), which
                                         comes with the first of them and stays with it */
    size_t storage_cached;            /* bytes of blocks that drained buffers gave back, kept
                                         for the next buffer of their size: at most 32 blocks
                                         and 64 MiB (or mem_budget) together, of which what
                                         is past 4 blocks and 2 MiB goes back to the allocator
                                         once the cache has served nothing for 1 s (a deadline
                                         of the stack's); the rest is freed with the stack */
    size_t time_wait_bytes;           /* bytes per TIME_WAIT record */
    size_t frag_bytes, frag_mem;      /* IP reassembly: bytes charged by the datagrams in
                                         progress, against the cap (frag_mem) */
    size_t frag_datagrams;            /* datagrams being reassembled */
};
void synack_stack_stats(const struct synack_stack *stack, struct synack_stack_stats *out);

/* Calls `fn` for every IPv4 packet that enters (dir 'i') or leaves (dir 'o') the stack, with
 * the packet bytes: TCP segments and ICMP messages alike (synack_format_packet prints both).
 * Input rejected by the wire checks (malformed, not for us, neither TCP nor ICMP) is
 * reported with dir 'i' and `drop` set; drops decided later (by TCP or ICMP processing) are
 * counted but reported as accepted input. A packet written for a link that finishes it
 * (synack_stack_output_offload) is shown as written: its TCP checksum partial, and a segment
 * the link cuts shown whole. */
typedef void (*synack_trace_fn)(void *ctx, char dir, const uint8_t *pkt, size_t len,
                                enum synack_drop drop, synack_time_t now);
void synack_stack_set_trace(struct synack_stack *stack, synack_trace_fn fn, void *ctx);

/* ---- events ------------------------------------------------------------------------------ */

enum synack_event_type {
    SYNACK_EV_STATE,       /* a connection changed state: old_state -> new_state */
    SYNACK_EV_CONNECTED,   /* connect() completed (ESTABLISHED) */
    SYNACK_EV_ACCEPTABLE,  /* a listener has a connection waiting in its accept queue */
    SYNACK_EV_READABLE,    /* new in-order data can be read */
    SYNACK_EV_WRITABLE,    /* send buffer space was freed after a send found the buffer full
                              or filled it */
    SYNACK_EV_PEER_CLOSED, /* the peer's FIN arrived: recv() returns 0 once data is read */
    SYNACK_EV_ERROR,       /* the connection failed: err is CONNREFUSED (RST, or ICMP port or
                              protocol unreachable while opening), CONNRESET, TIMEDOUT,
                              UNREACH (timed out after an ICMP soft error) or ABORTED */
    SYNACK_EV_CLOSED,      /* the connection reached CLOSED; after this it may be freed */
    SYNACK_EV_CC,          /* congestion-control phase changed: old_phase -> new_phase */
    /* UDP sockets report READABLE (a datagram waits where none did), WRITABLE (room in the
     * send queue after a send got AGAIN) and ERROR (an ICMP error about a datagram the
     * socket sent: err CONNREFUSED for port unreachable, UNREACH otherwise); conn_id is the
     * socket's id, user its user pointer. */
};

struct synack_event {
    enum synack_event_type type;
    uint64_t conn_id;                          /* unique per stack, never reused */
    void *user;                                /* the connection's (or listener's) user pointer */
    struct synack_listener *listener;          /* ACCEPTABLE: valid while the listener is open */
    enum synack_state old_state, new_state;    /* for STATE */
    int err;                                   /* for ERROR */
    enum synack_cc_phase old_phase, new_phase; /* for CC */
    uint32_t cwnd, ssthresh;                   /* for CC: after the change, bytes */
    synack_time_t time;
};

/* Pops the oldest queued event into `ev`: 0, or SYNACK_ERR_AGAIN when none is queued.
 * Events are queued while packets and timers are processed and never delivered by calling
 * back into the application. A connection pointer must not be used after the application
 * has called synack_tcp_close()/abort() on it; `conn_id` and `user` stay valid to read. */
int synack_stack_next_event(struct synack_stack *stack, struct synack_event *ev);

/* True when synack_stack_next_event has an event to hand out. A peek: nothing is taken. */
bool synack_stack_has_events(const struct synack_stack *stack);

/* How many events have been queued since the stack was made (an event dropped because the
 * queue was full is not counted); never decreases. Two readings differ exactly when events
 * were queued between them: an event loop compares the readings around its application's
 * turn to learn whether the application's own calls (a close, an abort) queued events that
 * it has not seen yet. */
uint64_t synack_stack_events_queued(const struct synack_stack *stack);

/* ---- TCP: listeners ------------------------------------------------------------------- */

/* Flags of the bind rules (SO_REUSEADDR, ...), for synack_tcp_bind_check and
 * synack_tcp_listen_flags.
 *
 * A TCP endpoint holds its local port on its local address for as long as it exists: a
 * listener; a connection in any state but CLOSED, orphans included (released by the
 * application, still closing); a TIME_WAIT record, to the end of its 2*MSL. TIME_WAIT
 * waits so that the peer's retransmitted FIN still finds our ACK and the old connection's
 * delayed segments die before a new one takes its 4-tuple (RFC 9293 §3.3.2 "TIME-WAIT",
 * §3.6 Figure 12; §3.4.1: segments of an earlier incarnation must not be taken for a later
 * one's). Binding port P on address A then conflicts (ADDRINUSE) with every holder of P
 * whose address overlaps A: the same address; either one its family's wildcard (0.0.0.0,
 * or :: with SYNACK_AF_INET6, which is IPv6 only); either one SYNACK_AF_NONE, every
 * address of both families (a dual-stack ::). The one exception is Linux's SO_REUSEADDR
 * for TCP (inet_csk_bind_conflict):
 *
 * SYNACK_BIND_REUSEADDR: no conflict with a holder that has the flag too and is not a
 *   listener; a listener holds its port alone whatever the flags. A connection a listener
 *   accepts takes its listener's flag (Linux clones the listening socket); an active open
 *   takes it from synack_tcp_set_reuseaddr; a TIME_WAIT record keeps its connection's. This
 *   is what lets a server that restarts listen again while the connections of its last run
 *   close or wait in TIME_WAIT, and why every server sets SO_REUSEADDR: the new listener
 *   takes only new 4-tuples, and a SYN reopens a 4-tuple in TIME_WAIT only as RFC 1122
 *   §4.2.2.13 allows, so 2*MSL still protects each old connection. Both sides must ask:
 *   an old server without the flag still blocks a new one that has it (as Linux does).
 *
 * These rules are for bind and listen. synack_tcp_connect checks only its 4-tuple, and
 * the ephemeral port it picks avoids only 4-tuples and listeners (RFC 6056); a 4-tuple in
 * TIME_WAIT on our side is taken over by an outgoing connection when
 * synack_config.time_wait_reuse says it is safe. */
#define SYNACK_BIND_REUSEADDR 0x1u

/* Would a TCP socket bound to `local` (port not 0) with `flags` conflict with what the
 * stack holds (the rules above)? Nothing is bound or kept: a socket layer asks at bind()
 * and keeps its own bound sockets that neither listen nor connect yet. Returns 0,
 * ADDRINUSE, or INVAL (NULL, port 0, a flag not defined above, an address that is not the
 * stack's nor a wildcard). The IPv6 wildcard `::` with SYNACK_AF_INET6 family means IPv6
 * only; SYNACK_AF_NONE means both families. */
int synack_tcp_bind_check(const struct synack_stack *stack, const struct synack_endpoint *local,
                          unsigned flags);

/* Opens a listener on `local` (CLOSED -> LISTEN): local->port (not 0) on local->addr, which
 * is one of the stack's addresses, the wildcard of a family (0.0.0.0 or ::: every address
 * of that family), or SYNACK_AF_NONE (every address of both families). `flags` are the
 * SYNACK_BIND_* flags: the listener is refused when synack_tcp_bind_check would say
 * ADDRINUSE, and keeps SYNACK_BIND_REUSEADDR, which the connections it accepts and their
 * TIME_WAIT records inherit. A SYN goes to the most specific listener of its port.
 * `backlog` bounds both the queue of half-open connections (SYN_RECEIVED) and the accept
 * queue; a SYN that finds either full is dropped and counted. Errors: INVAL (port 0,
 * backlog 0, a flag not defined, an address that is not the stack's), ADDRINUSE (a
 * listener of the port whose addresses overlap these; a connection or TIME_WAIT record of
 * the port, unless both it and `flags` have SYNACK_BIND_REUSEADDR), NOMEM. */
int synack_tcp_listen_flags(struct synack_stack *stack, const struct synack_endpoint *local,
                            unsigned backlog, unsigned flags, void *user,
                            struct synack_listener **out);

/* synack_tcp_listen_flags with SYNACK_BIND_REUSEADDR: the listener of a server that sets
 * SO_REUSEADDR, as nc and every real server do, so that a restarted server (netcat, the
 * HTTP server, the examples) listens again while its old connections close or wait in
 * TIME_WAIT. A connection the application opened without the flag still blocks it. */
int synack_tcp_listen(struct synack_stack *stack, const struct synack_endpoint *local,
                      unsigned backlog, void *user, struct synack_listener **out);

/* Takes the oldest established connection from the accept queue. AGAIN if it is empty. */
int synack_tcp_accept(struct synack_listener *l, struct synack_tcp **out);

/* Closes the listener (LISTEN -> CLOSED); connections not yet accepted are reset. */
void synack_listener_close(struct synack_listener *l, synack_time_t now);

/* RFC 9293 §3.10.2 SEND in LISTEN with a foreign socket: the listener becomes an active
 * connection to `remote` from its own port (LISTEN -> SYN_SENT; from its own address, or
 * the stack's first address of the remote's family when it is bound to a wildcard), keeping
 * its id and user pointer; `l` is gone afterwards. BSD sockets have no such call; it is
 * here because the RFC's state diagram has the arc. Errors: INVAL; STATE when connections
 * are half-open or waiting to be accepted; ADDRINUSE (also a 4-tuple in TIME_WAIT);
 * STEERED (the 4-tuple steers to another stack's queue, synack_config.steer_queues);
 * CONNLIMIT (max_conns reached); NOMEM (the listener is kept). */
int synack_listener_connect(struct synack_listener *l, const struct synack_endpoint *remote,
                            struct synack_tcp **out, synack_time_t now);

/* ---- TCP: connections ----------------------------------------------------------------- */

/* Active open (CLOSED -> SYN_SENT) to `remote` (an IPv4 or IPv6 address and a port, not 0).
 * `local` may be NULL; its address, if not a wildcard, is one of the stack's addresses of
 * the remote's family (else the stack's first of that family is used), and its port 0
 * picks an ephemeral port (RFC 6056). With no address bound and every ephemeral port of
 * that first address taken toward `remote`, the stack's further addresses of the family
 * are tried in turn, and later unbound connects start from the one that last had a port. A
 * 4-tuple in TIME_WAIT on our side is taken over when
 * synack_config.time_wait_reuse allows (its TIME_WAIT ends then: TIME_WAIT -> CLOSED for
 * the old connection). Completion is reported by SYNACK_EV_CONNECTED, or
 * SYNACK_EV_ERROR with CONNREFUSED, TIMEDOUT or UNREACH. Errors: INVAL (no address of the
 * remote's family, a local address not the stack's, a remote that is not unicast),
 * ADDRINUSE (the 4-tuple is in use, or in a TIME_WAIT not yet safe to reuse), NOPORTS
 * (every port of every address of the family), STEERED (an explicit port whose 4-tuple
 * steers to another queue, see synack_config.steer_queues; an ephemeral port is always one
 * that steers to this stack), CONNLIMIT (the stack holds max_conns connections), NOMEM. */
int synack_tcp_connect(struct synack_stack *stack, const struct synack_endpoint *remote,
                       const struct synack_endpoint *local, void *user, struct synack_tcp **out,
                       synack_time_t now);

/* Queues up to `len` bytes; returns how many were taken (maybe fewer: buffer full), or
 * AGAIN (buffer full), SHUTDOWN (after shutdown/close), NOTCONN (still opening),
 * CONNRESET/TIMEDOUT/... (the connection failed). A call that leaves the buffer full (fewer
 * taken, AGAIN, or all of it taken into the last of the room) is followed by
 * SYNACK_EV_WRITABLE once acknowledgments free space. */
synack_ssize synack_tcp_send(struct synack_tcp *c, const uint8_t *data, size_t len,
                             synack_time_t now);

/* Reads up to `len` in-order bytes; 0 at end of stream (peer's FIN, all data read);
 * AGAIN when no data yet; the connection's error once it has failed. */
synack_ssize synack_tcp_recv(struct synack_tcp *c, uint8_t *data, size_t len, synack_time_t now);

/* Zero copy: a connection's buffers lent to the caller, in place, in one or two pieces
 * (the second where the storage wraps; len 0 when there is none). A lent piece is valid
 * until the next call into the stack for this connection or its stack (anything that
 * takes `now`, input included): autotuning may move the buffers.
 *
 * synack_tcp_send_borrow lends the room the next send could take (what synack_tcp_send
 * would take of an unlimited write), to be written and then queued with
 * synack_tcp_send_commit(c, n), n at most what was lent: the same as synack_tcp_send of
 * those n bytes, without copying them. It fails as synack_tcp_send does (AGAIN when the
 * buffer is full, which arms SYNACK_EV_WRITABLE). synack_tcp_recv_borrow lends the bytes
 * ready to read, and synack_tcp_recv_commit(c, n) consumes the first n of them as
 * synack_tcp_recv of n bytes would, window updates included; it fails as synack_tcp_recv
 * does (0 at end of stream, AGAIN with nothing yet). A commit of more than was lent is
 * INVAL. */
struct synack_piece {
    uint8_t *data;
    size_t len;
};
synack_ssize synack_tcp_send_borrow(struct synack_tcp *c, struct synack_piece piece[2]);
synack_ssize synack_tcp_send_commit(struct synack_tcp *c, size_t n, synack_time_t now);
synack_ssize synack_tcp_recv_borrow(struct synack_tcp *c, struct synack_piece piece[2]);
int synack_tcp_recv_commit(struct synack_tcp *c, size_t n, synack_time_t now);

/* Half-close: stop sending, send FIN after queued data (ESTABLISHED -> FIN_WAIT_1,
 * CLOSE_WAIT -> LAST_ACK); receiving goes on. Errors: NOTCONN, STATE. */
int synack_tcp_shutdown(struct synack_tcp *c, synack_time_t now);

/* Closes the connection and releases it to the stack: queued data is sent, then a FIN
 * (RFC 9293 §3.10.4); if received data was left unread a RST is sent instead
 * (RFC 9293 §3.10.4, RFC 2525 §2.17). The pointer must not be used afterwards. */
void synack_tcp_close(struct synack_tcp *c, synack_time_t now);

/* Sends a RST (where the state calls for one), drops the connection and releases it.
 * Each aborted connection's RST goes out at the next synack_stack_output calls, however
 * many are aborted in between (up to max_conns + 64 waiting). */
void synack_tcp_abort(struct synack_tcp *c, synack_time_t now);

/* RFC 1122 §4.2.3.4 Nagle: on unless `nodelay`. Any time. */
int synack_tcp_set_nodelay(struct synack_tcp *c, bool nodelay);

/* Sets (or clears) SYNACK_BIND_REUSEADDR on a connection: an active open whose socket was
 * bound with SO_REUSEADDR, or an accepted one whose flag the application changes. Its
 * TIME_WAIT record keeps it; it decides only whether a later bind or listen with the flag
 * may share the connection's port (synack_tcp_bind_check). Any time; NULL is ignored. */
void synack_tcp_set_reuseaddr(struct synack_tcp *c, bool on);

/* Chooses the congestion controller (any time; the new one starts from the current cwnd
 * and ssthresh). Errors: INVAL. */
int synack_tcp_set_cc(struct synack_tcp *c, enum synack_cc cc);

/* RFC 1122 §4.2.3.6 keepalive, off by default: after `idle` without any segment from the
 * peer, send a probe every `interval`; after `count` unanswered probes the connection
 * fails with TIMEDOUT. `idle` 0 turns keepalive off. A connection reads the configuration's
 * keepalive_* unless given settings of its own; those take a small part of the
 * connection's memory that comes on demand. Errors: INVAL (interval 0 or count 0 with idle
 * set), NOMEM (settings that differ from the configuration's, and no memory to keep them:
 * the connection keeps the ones it had). */
int synack_tcp_set_keepalive(struct synack_tcp *c, synack_time_t idle, synack_time_t interval,
                             unsigned count);

/* RFC 9293 §3.8.3 / RFC 5482 user timeout: if sent data stays unacknowledged this long, the
 * connection fails with TIMEDOUT (whatever the retry count). 0 (the default) turns it off.
 * Errors: INVAL, NOMEM (as synack_tcp_set_keepalive: a timeout is the connection's own). */
int synack_tcp_set_user_timeout(struct synack_tcp *c, synack_time_t timeout);

/* Fixes a connection's send and receive buffer sizes, bytes, as SO_SNDBUF and SO_RCVBUF
 * fix Linux's (without doubling): 0 leaves that buffer as it is. A size set becomes the
 * buffer's maximum and autotuning stops for that buffer (sndbuf_max, rcvbuf_max in
 * synack_config are the stack-wide defaults). A buffer smaller than the size grows to it at
 * once; one larger keeps its storage and every byte it holds, and takes new ones (send()
 * for the send buffer, a window offered for the receive buffer) only once it holds fewer
 * than the size. The right edge of a window already offered never moves left (RFC 9293
 * §3.8.6.2.2): a smaller receive size shows as a window that stops opening. The receive
 * size is clamped to what the window scale chosen in our SYN can offer (65535 << shift,
 * RFC 7323 §2.3; the shift covers the configuration's rcvbuf_max, or rcvbuf) and raised to
 * 16 units of that scale (a smaller buffer could offer no window). synack_tcp_info reports
 * the sizes in force. Any state; calls before ESTABLISHED apply to the connection to come.
 * Errors: INVAL (NULL, or a size above 1 GiB: SYNACK_BUFSIZE_MAX), NOMEM (a buffer could not
 * grow; nothing changed, though the other buffer may have grown), STATE (the connection was
 * released). */
#define SYNACK_BUFSIZE_MAX ((size_t)1 << 30)
int synack_tcp_set_bufsize(struct synack_tcp *c, size_t sndbuf, size_t rcvbuf);

/* A snapshot of one connection, like Linux's TCP_INFO. */
struct synack_tcp_info {
    enum synack_state state;
    struct synack_addr local_addr, remote_addr;
    uint16_t local_port, remote_port;
    uint32_t iss, irs, snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
    uint16_t snd_mss;       /* the MSS we send with (peer's MSS, or 536 over IPv4 and 1220
                               over IPv6; <= pmtu - 40 or pmtu - 60) */
    uint16_t rcv_mss;       /* the MSS we offered */
    uint16_t snd_eff_mss;   /* payload of a full segment: snd_mss less timestamps (12) */
    uint16_t pmtu;          /* path MTU estimate: the interface MTU, lowered by ICMP
                               fragmentation-needed (RFC 1191); snd_mss <= pmtu - 40 */
    bool pmtu_no_df;        /* the path MTU hit pmtu_min: packets go without DF (RFC 1191 §3) */
    int soft_err;           /* what the last ICMP error that did not abort said (UNREACH;
                               CONNREFUSED for a port or protocol unreachable once
                               synchronized) since data was last acknowledged, or 0: what a
                               timeout would report instead of TIMEDOUT (RFC 1122 §4.2.3.9) */
    synack_time_t rto;      /* current retransmission timeout */
    unsigned backoff;       /* consecutive retransmissions of the oldest segment */
    size_t bytes_in_flight; /* snd_nxt - snd_una */
    size_t send_queued;     /* bytes in the send buffer, acked or not */
    size_t recv_queued;     /* bytes ready to read */
    size_t sndbuf, rcvbuf;  /* the buffers' sizes now: they start at the configuration's sndbuf
                               and rcvbuf and grow toward sndbuf_max and rcvbuf_max (autotuning),
                               or are what synack_tcp_set_bufsize fixed */
    uint64_t rcv_rtt;       /* the receiver's round-trip estimate that paces the receive
                               buffer's growth, ns (0: none yet or no autotuning) */
    int err;                /* the error the connection failed with, or 0 */
    /* Options negotiated in the handshake. */
    bool sack, timestamps, window_scale;
    uint8_t snd_wscale, rcv_wscale; /* shift applied to the peer's / our window field */
    bool nodelay;
    /* Congestion control and loss recovery. */
    enum synack_cc cc;
    enum synack_cc_phase phase;
    uint32_t cwnd, ssthresh;             /* bytes */
    synack_time_t srtt, rttvar, min_rtt; /* 0 before the first sample */
    size_t pipe;                         /* RFC 6675 §4 estimate of bytes in the network */
    unsigned sacked_segs;                /* segments the peer has SACKed above snd_una */
    unsigned lost_segs;                  /* segments marked lost and not yet retransmitted */
    unsigned retrans_segs;               /* retransmitted segments still unacknowledged */
    unsigned ooo_blocks;                 /* out-of-order blocks held by the receiver */
    uint64_t delivery_rate; /* bytes per second, from the latest acknowledged segment of
                               the data in flight; 0 when nothing is (an idle connection
                               keeps no sample) */
    uint64_t delivered;     /* bytes acknowledged (cumulatively or by SACK) so far */
    struct synack_counters counters;
    bool counters_lost; /* the allocator refused the connection the block that holds its
                           rarer counters (all but segs and bytes in and out, delayed_acks
                           and keepalive_probes) when one was
                           first counted: some counts are missing here (not in the stack's
                           counters); the next one tries again */
};
int synack_tcp_info(const struct synack_tcp *c, struct synack_tcp_info *out);

enum synack_state synack_tcp_state(const struct synack_tcp *c);
uint64_t synack_tcp_id(const struct synack_tcp *c);
void synack_tcp_set_user(struct synack_tcp *c, void *user);

/* ---- UDP (RFC 768) ------------------------------------------------------------------------ */

struct synack_udp; /* one UDP socket */

/* Opens a UDP socket bound to `local` (socket + bind): an address of the stack, the wildcard of a
 * family (0.0.0.0, ::), or SYNACK_AF_NONE for every address of both families; port 0 picks an
 * ephemeral port. A datagram goes to the socket bound most specifically to its destination
 * (a connected socket first). Errors: INVAL (an address that is not the stack's),
 * ADDRINUSE (a socket of the port whose addresses overlap these), NOPORTS, CONNLIMIT
 * (max_udp sockets), NOMEM. */
int synack_udp_bind(struct synack_stack *stack, const struct synack_endpoint *local, void *user,
                    struct synack_udp **out);

/* Connects the socket to `remote` (RFC 8085 §5.1 calls this a "connected" socket): sends
 * without a destination go there, only its datagrams are received, and ICMP errors about
 * what it sent are reported by the next send or recv. NULL disconnects. Errors: INVAL (not
 * unicast, or the socket's address of another family). */
int synack_udp_connect(struct synack_udp *u, const struct synack_endpoint *remote);

/* Sends one datagram of `len` bytes to `to` (NULL: the connected peer), from the socket's
 * address or the stack's first address of the destination's family. A datagram larger
 * than the MTU leaves in fragments (IPv4 without DF, IPv6 with a Fragment header; one such
 * datagram at a time). The checksum is always computed (RFC 8200 §8.1 requires it over
 * IPv6; RFC 8085 §3.4 asks it over IPv4): by the stack, or for a datagram that leaves
 * whole by a link that finishes checksums (SYNACK_TX_CSUM). Returns len, or: NOTCONN (no `to` and
 * not connected), INVAL, MSGSIZE, AGAIN (the send queue, or the stack's fragmenting slot, is full:
 * WRITABLE follows), CONNREFUSED / UNREACH (a connected socket's pending ICMP error, reported
 * once). */
synack_ssize synack_udp_send(struct synack_udp *u, const uint8_t *data, size_t len,
                             const struct synack_endpoint *to, synack_time_t now);

/* Takes the oldest queued datagram: copies min(len, cap) bytes into `buf`, fills `from`
 * (may be NULL) and returns the datagram's whole length (longer than cap: the rest was
 * discarded, as recvfrom truncates). AGAIN when none waits; a connected socket's pending
 * ICMP error (reported once) comes first. */
synack_ssize synack_udp_recv(struct synack_udp *u, uint8_t *buf, size_t cap,
                             struct synack_endpoint *from, synack_time_t now);

/* Closes the socket; queued datagrams it received are dropped, those it sent still go. */
void synack_udp_close(struct synack_udp *u);

struct synack_udp_info {
    struct synack_endpoint local, remote; /* remote: port 0 when not connected */
    size_t queued, queued_bytes;          /* datagrams waiting to be read, and their data */
    int pending_err;                      /* the error the next send/recv reports, or 0 */
    struct synack_counters counters;      /* udp_in, udp_out, udp_icmp_errors, drops */
};
int synack_udp_info(const struct synack_udp *u, struct synack_udp_info *out);
uint64_t synack_udp_id(const struct synack_udp *u);

/* ---- listing a stack's sockets (what `ss` shows) ------------------------------------- */

/* What one entry of synack_stack_each_socket describes. */
enum synack_sock_kind {
    SYNACK_SOCK_TCP_LISTENER,  /* a listener (state LISTEN) */
    SYNACK_SOCK_TCP,           /* a connection, any state but LISTEN; held by the application,
                                  waiting in a listener's queues, or an orphan */
    SYNACK_SOCK_TCP_TIME_WAIT, /* a TIME_WAIT record of a released connection (no TCB) */
    SYNACK_SOCK_UDP,           /* a UDP socket */
};

/* One socket of a stack, as synack_stack_each_socket hands it out. */
struct synack_sock_info {
    enum synack_sock_kind kind;
    uint64_t id; /* the connection's, listener's or UDP socket's id (synack_tcp_id); a
                    TIME_WAIT record keeps the id of its connection */
    /* SYNACK_SOCK_TCP: released by the application (closed) and still sending or closing. */
    bool orphan;
    /* SYNACK_SOCK_TCP_LISTENER: connections half-open (SYN_RECEIVED) and established
     * waiting for synack_tcp_accept, and the backlog that bounds each queue. */
    unsigned syn_queue, accept_queue, backlog;
    /* SYNACK_SOCK_TCP_TIME_WAIT: when its 2*MSL ends (a time of the stack's clock). */
    synack_time_t expires;
    /* The TCP kinds. A connection: all of synack_tcp_info. A listener: state LISTEN,
     * local_addr (an address, a family's wildcard, or SYNACK_AF_NONE for both families)
     * and local_port, the rest 0. A TIME_WAIT record: state TIME_WAIT, both addresses and
     * ports, snd_nxt, rcv_nxt, rcv_wnd, timestamps and rcv_wscale, the rest 0. */
    struct synack_tcp_info tcp;
    struct synack_udp_info udp; /* SYNACK_SOCK_UDP: all of synack_udp_info */
};

/* Called for each socket; a nonzero return stops the walk and is what
 * synack_stack_each_socket returns. */
typedef int (*synack_sock_fn)(void *ctx, const struct synack_sock_info *info);

/* Calls `fn` once for each socket of the stack, in this order: listeners, connections
 * (TCBs in any state, orphans included), TIME_WAIT records (the next to end first), UDP
 * sockets. Reads only: `fn` must not change the stack (no call that takes a
 * non-const stack, connection, listener or UDP socket of it) until the walk returns; `info`
 * is valid only during the call. Returns 0 once every socket was visited, the first nonzero
 * value `fn` returned, or SYNACK_ERR_INVAL (stack or fn NULL). */
int synack_stack_each_socket(const struct synack_stack *stack, synack_sock_fn fn, void *ctx);

/* ---- seeded random numbers ----------------------------------------------------------- */

/* A seeded PCG32 generator (O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014: XSH-RR output on a
 * 64-bit LCG), for what drives the stack rather than what it is: the simulator's and the
 * fault wrapper's impairments, test scenarios, attackers. The same seed and stream give
 * the same numbers on every machine, so a seeded run replays exactly. Not for secrets;
 * the stack itself draws nothing from it (its keys come from synack_config). */
struct synack_rng {
    uint64_t state; /* private: set by synack_rng_seed, advanced by every draw */
    uint64_t inc;   /* private: odd, selects the stream */
};

/* Starts `r` at `seed` on stream `stream`: two streams of one seed are unrelated. */
void synack_rng_seed(struct synack_rng *r, uint64_t seed, uint64_t stream);
/* The next 32 random bits. */
uint32_t synack_rng_next_u32(struct synack_rng *r);
/* The next 64 random bits: two 32-bit draws, the first one high. */
uint64_t synack_rng_next_u64(struct synack_rng *r);
/* Uniform in [0, bound) without modulo bias (one or more 32-bit draws); bound 0 returns 0
 * and draws nothing. */
uint32_t synack_rng_below(struct synack_rng *r, uint32_t bound);
/* Uniform in [0, 1) with 53 random bits (one 64-bit draw). */
double synack_rng_unit(struct synack_rng *r);

/* ---- sequence numbers ----------------------------------------------------------------- */

/* RFC 9293 §3.4: sequence numbers wrap, so they compare modulo 2^32: a is before b when
 * the signed distance from a to b is positive. Meaningful for numbers less than 2^31
 * apart, as every pair inside a window is. */
static inline bool synack_seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool synack_seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline bool synack_seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline bool synack_seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

/* ---- packets: inspect and build (drivers, tools, tests) -------------------------------- */

/* TCP header flags (RFC 9293 §3.1). */
#define SYNACK_TCP_FIN 0x01
#define SYNACK_TCP_SYN 0x02
#define SYNACK_TCP_RST 0x04
#define SYNACK_TCP_PSH 0x08
#define SYNACK_TCP_ACK 0x10
#define SYNACK_TCP_URG 0x20
#define SYNACK_TCP_ECE 0x40
#define SYNACK_TCP_CWR 0x80

/* One TCP segment in an IPv4 or IPv6 packet, as code outside the stack sees it: a
 * simulator observer, a tool that draws the ladder, an attacker that forges segments. The
 * stack's own parser and builder do the work, so what parses here is what the stack
 * accepts. */
struct synack_segment {
    struct synack_addr src, dst; /* both of one family: it decides the IP header */
    uint8_t ttl;                 /* IPv4 time to live / IPv6 hop limit */
    bool df;                     /* IPv4 don't fragment (IPv6 has no such bit) */
    uint16_t src_port, dst_port; /* never 0 */
    uint32_t seq, ack;           /* ack is meaningful with SYNACK_TCP_ACK */
    uint8_t flags;               /* SYNACK_TCP_* */
    uint16_t window;             /* the field as sent: not scaled */
    /* Options, each absent unless its has_ flag is set: MSS (RFC 9293 §3.7.1), window scale
     * (RFC 7323 §2), timestamps (RFC 7323 §3). */
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    const uint8_t *payload; /* parse: points into the packet; emit: copied from here */
    size_t payload_len;
};

/* Parses `len` bytes of IPv4 or IPv6 carrying TCP into `out` with the checks the stack applies to
 * input (header lengths, checksums, options, impossible flags) but not the destination.
 * Returns SYNACK_DROP_NONE, or why the stack would drop it (SYNACK_DROP_IP_PROTOCOL for a
 * packet that is not TCP, an ICMP message say); `out` is filled only on success. Options
 * other than the three above (SACK-permitted, SACK blocks) are checked but not reported. */
enum synack_drop synack_segment_parse(const uint8_t *pkt, size_t len, struct synack_segment *out);

#define SYNACK_SEGMENT_MAX_SACK 4
/* What synack_segment_parse_capture reports beside struct synack_segment. */
struct synack_segment_extra {
    bool checksum_ok;    /* false: the TCP checksum was wrong and the segment parsed anyway */
    bool sack_permitted; /* the SACK-permitted option (RFC 2018 §2) */
    uint8_t sack_count;  /* SACK blocks (RFC 2018 §3) in sack[], 0..SYNACK_SEGMENT_MAX_SACK */
    struct {
        uint32_t left, right; /* [left, right) in sequence space */
    } sack[SYNACK_SEGMENT_MAX_SACK];
};

/* synack_segment_parse for a capture file (`synack trace`): every check but the TCP
 * checksum's. A host that offloads checksums to its NIC captures its own segments before
 * the checksum is filled in, so a wrong one is reported in extra->checksum_ok, not
 * dropped. `extra` also gets the SACK options. Returns as synack_segment_parse; `out` and
 * `extra` are filled only on success. */
enum synack_drop synack_segment_parse_capture(const uint8_t *pkt, size_t len,
                                              struct synack_segment *out,
                                              struct synack_segment_extra *extra);

/* Writes `seg` as an IPv4 packet (20-byte header, TOS and IP ID 0) or an IPv6 one (40
 * bytes, traffic class and flow label 0), by the family of seg->src; urgent pointer 0; TCP
 * options in the stack's own order and padding; checksums filled in, into `buf`. Returns
 * the packet's length, or 0 when it does not fit in `cap`, is longer than IP allows, has
 * a payload_len but no payload, or its addresses are not of one family. */
size_t synack_segment_emit(const struct synack_segment *seg, uint8_t *buf, size_t cap);

/* "[S.]": TCP flags as tcpdump prints them (F S R P . U E W, "." for ACK; "[none]" for
 * none), into `out` (always NUL-terminated). Returns the length written. */
size_t synack_format_tcp_flags(char *out, size_t cap, uint8_t flags);

/* The source and destination addresses of an IPv4 or IPv6 packet, read from its fixed
 * header (what a link needs to route it; nothing else is checked). Either pointer may be
 * NULL. Returns 0, or SYNACK_ERR_MALFORMED when the packet is shorter than its fixed header
 * or its version is neither 4 nor 6. */
int synack_packet_addrs(const uint8_t *pkt, size_t len, struct synack_addr *src,
                        struct synack_addr *dst);

/* Builds into `out` the message a router would send when `pkt` (an IPv4 or IPv6 packet) is
 * larger than the next hop's MTU `mtu`: ICMP destination unreachable, fragmentation needed
 * (RFC 792, RFC 1191 §4) or ICMPv6 packet too big (RFC 4443 §3.2), from the packet's
 * destination (standing in for the router) to its source, quoting as much of `pkt` as the
 * rules allow (IPv4: header and 8 bytes; IPv6: up to 1280 bytes in all). For links that
 * learn of a too-big packet without a router's message (a UDP socket's EMSGSIZE).
 * Returns the length, or 0 when `pkt` has no whole IP header and 8 bytes after it, or
 * `cap` is too small. */
size_t synack_packet_too_big(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len,
                             uint32_t mtu);
/* ---- formatting ------------------------------------------------------------------------- */

/* Formats one IPv4 or IPv6 packet (told apart by the version nibble) as a tcpdump-style line
 * into `out` (always NUL-terminated): TCP, UDP, ICMP and ICMPv6, e.g.
 *   198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460], length 0
 *   2001:db8::2 > 2001:db8::1: ICMP6, echo request, id 7, seq 1, length 64
 *   198.18.0.1.5000 > 198.18.0.2.53: UDP, length 12
 * An IPv6 fragment is printed as one; a malformed packet is described by its drop reason.
 * Returns the length written. */
size_t synack_format_packet(char *out, size_t cap, const uint8_t *pkt, size_t len);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
