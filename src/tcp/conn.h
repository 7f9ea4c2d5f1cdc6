/*
 * The TCB (RFC 9293 §3.3.1) and the TCP engine's internal interface.
 */
#ifndef SYNACK_TCP_CONN_H
#define SYNACK_TCP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "base/list.h"
#include "base/ring.h"
#include "base/seq.h"
#include "base/timers.h"
#include "ip/icmp_error.h"
#include "tcp/cc.h"
#include "tcp/env.h"
#include "wire/wire.h"

/* RFC 9293 §3.7.1: the MSS assumed when the peer sends no MSS option. */
#define TCP_DEFAULT_MSS 536
/* RFC 8200 §5 and RFC 9293 §3.7.1: without an MSS option an IPv6 peer takes 1280 - 60. */
#define TCP_DEFAULT_MSS6 1220

/* Bytes of IP and TCP header (no options) in front of a segment's data: 40 over IPv4,
 * 60 over IPv6 (RFC 9293 §3.7.1, RFC 8200 §8.3). */
static inline uint16_t tcp_ip_overhead(enum synack_family family)
{
    return (uint16_t)(wire_ip_header_len(family) + WIRE_TCP_HDR_LEN);
}
/* The MSS to assume of a peer that sent none (RFC 9293 §3.7.1: 536; 1220 over IPv6). */
static inline uint16_t tcp_default_mss(enum synack_family family)
{
    return family == SYNACK_AF_INET6 ? TCP_DEFAULT_MSS6 : TCP_DEFAULT_MSS;
}
/* The window field without scaling (RFC 9293 §3.1). */
#define TCP_MAX_WINDOW 65535u
/* RFC 7323 §2.3: the shift is at most 14, so a window up to 2^30 bytes. */
#define TCP_MAX_WSCALE 14
#define TCP_MAX_BUF (1u << 30)
/* RFC 5681 §3.2 / RFC 6675: duplicate ACKs (or SACKed segments above a hole) that signal
 * a loss. */
#define TCP_DUPTHRESH 3
/* Out-of-order blocks the receiver keeps (each also a candidate SACK block): enough for
 * a hole every other 512 bytes of the buffer, as a drop-tail queue overflowing in slow
 * start loses every other segment; at most 4096, so that a hostile peer's tiny segments
 * cannot make each insertion cost more than that. */
#define TCP_OOO_BLOCKS(rcvbuf)                                                                     \
    ((unsigned)((rcvbuf) / 1024 + 16 < 4096 ? (rcvbuf) / 1024 + 16 : 4096))
/* RFC 8985 §7.2: worst-case delayed-ACK time added to the PTO when one segment is out. */
#define TCP_WC_DELACK SYNACK_MS(200)
/* RFC 7323 §5.5: TS.Recent older than 24 days is no longer trusted by PAWS. */
#define TCP_PAWS_IDLE SYNACK_S(24ull * 24 * 3600)
/* RFC 7323 §5.4: a timestamp clock ticks at least once a second. */
#define TCP_TS_SLOWEST_TICK SYNACK_S(1)

/* One transmitted segment in the sender's scoreboard (RFC 6675 §3, RFC 8985 §5.2). */
enum {
    TCP_SEG_SACKED = 1u << 0,       /* the peer SACKed every byte of it */
    TCP_SEG_LOST = 1u << 1,         /* deemed lost (dupthresh, RFC 6675 IsLost, RACK, RTO) */
    TCP_SEG_RETRANS = 1u << 2,      /* retransmitted since it was last marked lost */
    TCP_SEG_FIN = 1u << 3,          /* carries our FIN (the last sequence number of len) */
    TCP_SEG_EVER_RETRANS = 1u << 4, /* sent more than once (Karn, RFC 6298 §3) */
    TCP_SEG_PROBE = 1u << 5,        /* a zero-window probe byte (RFC 9293 §3.8.6.1) */
};
struct tcp_seg {
    uint32_t seq, len;       /* sequence space [seq, seq + len), FIN included */
    synack_time_t xmit_time; /* latest transmission (RFC 8985 §5.2 Segment.xmit_ts) */
    uint64_t delivered;      /* c->delivered when it was sent (delivery rate) */
    synack_time_t delivered_time;
    uint32_t flags;
};

/* A block of out-of-order data held by the receiver. */
struct tcp_ooo {
    uint32_t left, right; /* [left, right) in sequence space */
    uint32_t stamp;       /* when it last grew: SACK reports the newest first */
};
/* The receiver's out-of-order blocks above rcv_nxt, in sequence order (RFC 2018 §4 keeps
 * them for SACK; `stamp` orders them by recency), with their counts: one block through
 * tcp_block_alloc, from the first block to the last one filled (tcp_storage_release), so
 * that a connection with nothing out of order keeps none of it. The bytes themselves sit
 * in rcvq's storage beyond its in-order tail. */
struct tcp_ooo_table {
    unsigned n, cap;      /* blocks held, and room */
    uint32_t stamp;       /* the latest block's stamp */
    uint32_t bytes;       /* bytes held in the blocks */
    struct tcp_ooo blk[]; /* `cap` of them, the first `n` in use */
};

/* Loss-recovery state of the sender. */
enum tcp_recovery {
    TCP_RS_OPEN = 0, /* no loss being repaired */
    TCP_RS_RECOVERY, /* fast recovery: RFC 6675 (SACK) or RFC 6582 (NewReno) */
    TCP_RS_LOSS,     /* after an RTO, until everything sent before it is acknowledged */
};

/* Per-connection flags. */
enum {
    TCP_F_PASSIVE = 1u << 0,        /* created by a listener (passive open) */
    TCP_F_RELEASED = 1u << 1,       /* the application closed or aborted it: free at CLOSED */
    TCP_F_FIN_QUEUED = 1u << 2,     /* shutdown/close: send FIN at fin_seq after the data */
    TCP_F_ACK_NOW = 1u << 3,        /* an ACK must go out at the next output */
    TCP_F_RCV_FIN = 1u << 4,        /* the peer's FIN was received (rcv_nxt counts it) */
    TCP_F_ACCEPTED = 1u << 5,       /* taken from the accept queue by the application */
    TCP_F_IN_ACCEPTQ = 1u << 6,     /* waiting in its listener's accept queue */
    TCP_F_RTT_TIMING = 1u << 7,     /* rtt_start times our SYN, unretransmitted, until the
                                       ACK of ISS + 1 (tcp_syn_timing_stop ends it) */
    TCP_F_SND_WND_SET = 1u << 8,    /* snd_wnd has been taken from a segment */
    TCP_F_PROBE = 1u << 9,          /* persist timer fired: send one byte past a zero window */
    TCP_F_WANT_WRITABLE = 1u << 10, /* send() found or left the buffer full: report space */
    TCP_F_NODELAY = 1u << 11,       /* Nagle off */
    TCP_F_SACK = 1u << 12,          /* SACK permitted both ways (RFC 2018 §2) */
    TCP_F_TS = 1u << 13,            /* timestamps negotiated (RFC 7323 §3.2) */
    TCP_F_WSCALE = 1u << 14,        /* window scaling negotiated (RFC 7323 §2.2) */
    TCP_F_TLP = 1u << 15,           /* the PTO timer fired: send one tail loss probe */
    TCP_F_TLP_OUT = 1u << 16,       /* a TLP is unacknowledged (RFC 8985 §7.3) */
    TCP_F_REORDER_SEEN = 1u << 17,  /* RACK saw reordering (RFC 8985 §6.2 step 3) */
    TCP_F_KEEPALIVE = 1u << 18,     /* keepalive timer fired: send one probe */
    TCP_F_DSACK = 1u << 19,      /* the next ACK reports the rare block's dsack_left..right first */
    TCP_F_OOO_FIN = 1u << 20,    /* the peer's FIN arrived past a hole, at ooo_fin_seq */
    TCP_F_RTX_NOW = 1u << 21,    /* recovery began: retransmit the first lost segment now */
    TCP_F_PMTU_NO_DF = 1u << 22, /* the path MTU hit its floor: send without DF (RFC 1191 §3) */
    TCP_F_PMTU_REPAIR = 1u << 23,    /* resending what a smaller path MTU dropped, up to
                                        pmtu_recover (RFC 1191 §6.4) */
    TCP_F_DEAD = 1u << 24,           /* unlinked and waiting in the env's dead list to be
                                        freed when the current public call returns */
    TCP_F_ORPHAN = 1u << 25,         /* released and still sending or closing: in the env's
                                        orphan list */
    TCP_F_TW_FULL = 1u << 26,        /* found the TIME_WAIT table full (counted once) */
    TCP_F_REUSEADDR = 1u << 27,      /* SO_REUSEADDR (SYNACK_BIND_REUSEADDR): its listener's,
                                        or synack_tcp_set_reuseaddr; its TIME_WAIT record
                                        keeps it (tcp_bind_conflicts) */
    TCP_F_SND_LIMITED = 1u << 29,    /* send() found the buffer full since the last ACK:
                                        the send buffer may grow (autotune.c) */
    TCP_F_SIMOPEN_SYNACK = 1u << 28, /* a simultaneous open's SYN-ACK is due: it repeats our
                                        SYN's sequence number but is no retransmission */
    TCP_F_COUNTS_LOST = 1u << 30,    /* the allocator refused the rare block (struct
                                        tcp_rare): some counts were the stack's alone */
};
/* SYN-SENT over a TIME-WAIT it took over: ts_recent is the old incarnation's TS.Recent,
 * ts_recent_time when that TIME-WAIT last heard or answered the peer, and the peer's SYN
 * must come above it (tcp_reuse_ts_ok). A macro: an enumeration constant must fit an int. */
#define TCP_F_TS_FLOOR (1u << 31)

/* What a connection keeps of events most connections never see: its counters other than
 * the six the TCB holds, and state that only such events move, each counted when it
 * happens so that the block is there whenever the state is: the RFC 5961 §7 challenge-ACK
 * budget and the invalid-ACK rate limit (each answer to an invalid segment is counted,
 * sent or suppressed), RACK's reordering multiplier (only a D-SACK, which is counted,
 * raises it); besides, the D-SACK to report and keepalive or user-timeout settings of the
 * connection's own (tcp_ka_idle...), which bring the block if it is not there. It comes with the
 * first such event (tcp_rare_get, tcp_rare_alloc) and goes with the TCB, counted in conn_storage:
 * an idle connection that never saw one holds its TCB alone. */
#define TCP_RARE_COUNTS (sizeof(struct synack_counters) / sizeof(uint64_t))
_Static_assert(sizeof(struct synack_counters) % sizeof(uint64_t) == 0, "counters are uint64_t");
struct tcp_rare {
    /* synack_counters' fields by index (offset / 8), in 32 bits: what this block counts
     * are rare events of one connection (retransmissions, resets, drops), which stop at
     * UINT32_MAX rather than wrap. The six the TCB holds stay 0 here. Half the size of a
     * copy of synack_counters, which a half-open connection of a SYN flood brings with its
     * first retransmitted SYN-ACK. */
    uint32_t counts[TCP_RARE_COUNTS];
    synack_time_t challenge_window; /* start of the current challenge-ACK second, or NEVER */
    uint64_t challenge_windows;     /* challenge-ACK seconds begun so far */
    unsigned challenge_left;        /* challenge ACKs left in it (a random budget) */
    /* Answers to invalid segments (Linux's invalid-ACK rate limit, which challenge ACKs
     * share): every invalid segment is counted, so the block is there to hold the time. */
    synack_time_t oow_ack_at; /* last ACK sent for one, SYNACK_NEVER before the first */
    /* RFC 8985 §6.2 step 4: RACK's reordering window is reo_wnd_mult * min_RTT / 4. The
     * multiplier starts at 1 and only a D-SACK raises it; a D-SACK is counted (dsacks_in),
     * so the block is there whenever the multiplier is above 1. Without the block it
     * stays 1, the RFC's starting window. */
    synack_time_t rack_dsack_time; /* when a D-SACK last widened the window (0: never) */
    uint8_t rack_reo_mult;         /* 1..16; 0 reads as 1 */
    uint8_t rack_reo_recoveries;   /* recoveries since it was last widened (16: back to 1) */
    /* RFC 2883: the duplicate the next ACK reports first, with TCP_F_DSACK. A D-SACK is
     * advice to the sender: without the block none is reported. */
    uint32_t dsack_left, dsack_right;
    /* Settings a connection was given of its own (synack_tcp_set_keepalive,
     * synack_tcp_set_user_timeout) where they differ from the stack's configuration, which
     * every other connection reads (tcp_ka_idle...): all four with `own`. */
    struct {
        synack_time_t ka_idle, ka_interval; /* RFC 1122 §4.2.3.6 */
        synack_time_t user_timeout;         /* RFC 5482 (0: none) */
        unsigned ka_count;
        bool own;
    } opts;
};
/* The rare block, allocated now if the connection has none; NULL when the allocator
 * refuses it (nothing else is marked: the caller says what is lost). */
struct tcp_rare *tcp_rare_alloc(struct synack_tcp *c);
/* RACK's reordering-window multiplier (RFC 8985 §6.2 step 4): 1 unless a D-SACK raised it. */
static inline unsigned tcp_rack_reo_mult(const struct tcp_rare *r)
{
    return r && r->rack_reo_mult ? r->rack_reo_mult : 1;
}

/* What the sender keeps while it has data or a FIN in flight: the scoreboard (one record
 * per transmitted segment from SND.UNA, RFC 6675 §3, RFC 8985 §5.2) with what its records
 * add up to, and the state of loss detection and recovery that means something only while
 * there is something to lose. One block, allocated through tcp_block_alloc with the first
 * record (tcp_segs_room) and grown with the table; tcp_storage_release gives it back once
 * every record is acknowledged, recovery is over and no tail loss probe is out, so an idle
 * connection holds its TCB alone. Each field starts afresh with the next flight
 * (tcp_flight_init) from values that act as the old ones would have: nothing below
 * SND.UNA can be lost, reordered or probed any more. What must outlive a flight stays in
 * the TCB: RACK's min RTT and reordering window, the RTT estimator, the backoff, the
 * counts of delivered bytes. If the allocator refuses the block, no new segment goes out
 * (the caller must not send what it cannot record); the data waits in the send buffer
 * and the next send, ACK or timer tries again. */
struct tcp_flight {
    synack_time_t tlp_at;         /* probe timeout, PTO (RFC 8985 §7.2) */
    synack_time_t reorder_at;     /* RACK reordering timer (RFC 8985 §6.3) */
    synack_time_t una_since;      /* when snd_una last advanced (or data first went out): the
                                     user timeout (RFC 5482) counts from it */
    synack_time_t rack_xmit_ts;   /* RFC 8985 §6.1 RACK.xmit_ts (0: nothing delivered yet) */
    synack_time_t rack_rtt;       /* RACK.rtt */
    synack_time_t delivered_time; /* when the delivered count last moved (delivery rate) */
    uint64_t delivery_rate;       /* the latest sample, bytes per second (synack_tcp_info) */
    /* The scoreboard ring's indices and what its records add up to. */
    unsigned seg_cap, seg_head, seg_count;
    uint32_t sacked_bytes;  /* SACKed and not cumulatively acked */
    uint32_t lost_bytes;    /* marked lost, not SACKed */
    uint32_t retrans_bytes; /* retransmitted (since marked lost), not SACKed */
    unsigned sacked_segs, lost_segs, retrans_segs;
    unsigned lost_pending_segs; /* lost and not yet retransmitted */
    uint32_t dup_bytes;         /* without SACK: an MSS per duplicate ACK (RFC 6582 inflation) */
    unsigned dupacks;           /* consecutive duplicate ACKs (RFC 5681 §3.2) */
    uint32_t lt_bytes;          /* sent by limited transmit since the last new ACK (RFC 3042) */
    uint32_t recover;           /* RFC 6582 "recover" / RFC 6675 RecoveryPoint */
    uint32_t snd_sml;           /* end of the last short segment sent (Nagle, Minshall) */
    uint32_t rack_end_seq;      /* RACK.end_seq */
    uint32_t rack_fack;         /* highest sequence delivered (RFC 8985 §6.2 step 3) */
    uint32_t tlp_end_seq;       /* TLP.end_seq (RFC 8985 §7.3) */
    uint32_t pmtu_recover;      /* SND.NXT when fragmentation-needed last marked segments lost:
                                   holes below it are that repair's, not congestion */
    bool recover_set;           /* `recover` was set in this flight */
    struct tcp_seg segs[];      /* seg_cap records, a ring from seg_head */
};

/* The fields are laid out by use, so that what a request/response round trip touches
 * (input of a segment with data and ACK, the application's read and write, output of the
 * reply, its ACK) sits together in the first 428 bytes, within seven cache lines of 64
 * bytes counted from the start of the TCB, and what it never touches (the sequence numbers
 * of the ends, the lists of the connection's life, the rare block, the idle connection's
 * counts) in the last 84, from the end of line 6:
 *   0 demux and state: the hash chain, the 4-tuple, state, flags, env, the RTO backoff;
 *   1 receive side: RCV.NXT and the window edge, timestamps, SND.UNA/NXT, rcvq;
 *   2 send side: the send window, sndq, what the buffers hold, the segment sizes, errors;
 *   3 deadlines: the heap node, every timer (the SYN's RTT start shares a field with two
 *     of them), the flight block, the output list;
 *   4 the four counters every segment moves, the last arrival, id and user (events);
 *   5 congestion control, the RTT estimator, the delivered count;
 *   6 receive-buffer autotuning, buffer maxima, retries.
 * Within a line, fields go by width so that nothing pads them; an idle connection costs
 * its TCB alone, 512 bytes on LP64 (docs/PERFORMANCE.md). The allocator aligns a TCB to 16
 * bytes, not 64, so the lines are the TCB's own; the hot part spans seven or eight of the
 * machine's. Flags that stand alone are one-bit fields, and so are the window shifts. */
struct synack_tcp {
    /* ---- line 0: demux and state ---- */
    struct synack_tcp *hash_next; /* 4-tuple demux chain */
    struct tcp_env *env;
    uint32_t flags;
    uint16_t local_port, remote_port;
    struct synack_addr local_addr, remote_addr;
    uint8_t state;    /* enum synack_state */
    uint8_t recovery; /* enum tcp_recovery */
    uint8_t phase;    /* enum synack_cc_phase: last phase reported by SYNACK_EV_CC */
    /* RFC 7323 §2.3: a shift is at most 14 (TCP_MAX_WSCALE), which four bits hold. */
    uint8_t snd_wscale : 4; /* shift for the peer's window field */
    uint8_t rcv_wscale : 4; /* shift for ours */
    bool in_out_list : 1;
    bool cwnd_limited : 1; /* the last send was stopped by cwnd, not the app */
    bool tlp_retrans : 1;  /* the outstanding TLP was a retransmission */
    bool tlp_dsack : 1;    /* a D-SACK arrived while it was out */
    bool have_rtt : 1;
    bool persist : 1; /* rto_at is the persist timer (zero window, nothing in flight) */
    /* Receiver RTT samples in a row far longer than rcv_rtt, echoes too (autotune.c,
     * rcv_rtt_longer: the route may have grown longer), up to TCP_RCV_RTT_LONGER_RUN. */
    uint8_t rcv_rtt_longer : 2;
    uint8_t backoff; /* RFC 6298 (5.5): doublings of the RTO since the last RTT sample (§5);
                        at most 16 */

    /* ---- line 1: receive side ---- */
    /* Receive sequence space (RFC 9293 §3.3.1, Figure 4; IRS is with the cold fields). */
    uint32_t rcv_nxt;
    uint32_t rcv_adv;     /* right edge last advertised: rcv_nxt + window (never shrinks) */
    uint32_t rcv_unacked; /* in-order bytes received since our last ACK */
    /* Options (RFC 7323, RFC 2018). */
    uint32_t ts_offset;     /* RFC 7323 §5.4: per-connection random TSval offset */
    uint32_t ts_recent;     /* RFC 7323 §4.3 TS.Recent */
    uint32_t last_ack_sent; /* RFC 7323 §4.3 Last.ACK.sent */
    /* Send sequence space (RFC 9293 §3.3.1, Figure 3). snd_nxt is the RFC's SND.NXT, the
     * highest sequence sent plus one. */
    uint32_t snd_una, snd_nxt;
    struct ring rcvq;             /* in-order data the application has not read */
    synack_time_t ts_recent_time; /* when TS.Recent was taken (RFC 7323 §5.5) */

    /* ---- line 2: send side ---- */
    /* snd_rtx matters only during the handshake: it is ISS while our SYN must be (re)sent;
     * data is retransmitted from the scoreboard (the flight block), and snd_rtx then just
     * follows snd_nxt. */
    uint32_t snd_wnd, snd_wl1, snd_wl2, snd_rtx;
    uint32_t max_snd_wnd; /* largest window the peer ever offered (RFC 5961 §5.2) */
    uint32_t sndq_seq;    /* sequence number of the first byte held in sndq */
    uint32_t sndq_lent;   /* room synack_tcp_send_borrow lent, for the commit to check */
    uint32_t mem_held;    /* what this connection counts in the env's mem_held (its buffers'
                             and out-of-order bytes: under 3 * 2^30) */
    struct ring sndq;     /* unacknowledged and unsent data, from sndq_seq */
    uint16_t eff_mss;     /* payload per full segment: snd_mss less fixed options */
    uint16_t rcv_mss;     /* the MSS we offer: MTU - 40 */
    uint16_t rcv_seg_max; /* largest segment seen: "full-sized" (RFC 5681 §4.2) */
    int8_t soft_err;      /* RFC 1122 §4.2.3.9: the last ICMP error that did not abort (UNREACH;
                             CONNREFUSED for a hard one once synchronized) since data was last
                             acknowledged; a timeout reports it, not TIMEDOUT */
    int8_t err;           /* SYNACK_ERR_* the connection failed with, or 0 */

    /* ---- line 3: deadlines ---- */
    struct timer_node timer; /* in the env's deadline heap; at = earliest of below */
    /* Timers: each a deadline, SYNACK_NEVER when idle (ARCHITECTURE: the TCB's timers);
     * the probe timeout and RACK's reordering timer are the flight block's. */
    synack_time_t rto_at; /* retransmission (also persist while the window is 0) */
    /* One of three at a time, by state: each deadline is SYNACK_NEVER again when its
     * state is left, and rtt_start, which is no deadline, means something only with
     * TCP_F_RTT_TIMING, which only a SYN going out sets and everything that ends the
     * timing or sets a deadline here clears (tcp_syn_timing_stop). */
    union {
        synack_time_t timewait_at; /* in TIME_WAIT: 2*MSL */
        synack_time_t finwait2_at; /* in FIN_WAIT_2: a released connection's limit
                                      (fin_wait2_timeout) */
        synack_time_t rtt_start;   /* with TCP_F_RTT_TIMING (a handshake): when our SYN
                                      went, unretransmitted (RFC 6298 §3, Karn) */
    };
    synack_time_t delack_at;    /* delayed ACK (RFC 5681 §4.2) */
    synack_time_t keepalive_at; /* next keepalive probe (RFC 1122 §4.2.3.6) */
    /* What the sender keeps while data is in flight: the scoreboard and the state of its
     * loss detection (struct tcp_flight); NULL when nothing is. */
    struct tcp_flight *fl;
    struct synack_tcp *out_next; /* output-pending list, with in_out_list */

    /* ---- line 4: counters, arrivals, events ---- */
    /* The connection's own counters (synack_tcp_info), besides the stack's: here the four
     * that every segment moves, in 64 bits, and below the two that an idle connection
     * moves (the delayed ACK after the last data, keepalive probes); the rest, which most
     * connections never move, in the rare block (tcp_count). */
    uint64_t segs_in, segs_out, bytes_in, bytes_out;
    synack_time_t last_rcv; /* last segment from the peer (keepalive counts from it) */
    uint64_t id;
    void *user;
    /* Receiver: out-of-order blocks (struct tcp_ooo_table); NULL when none is held. */
    struct tcp_ooo_table *ooo;

    /* ---- line 5: congestion control, RTT, delivered bytes ---- */
    struct tcp_cc cc;
    /* RFC 6298 state. */
    synack_time_t srtt, rttvar, rto;
    /* RACK (RFC 8985 §6.1): what outlives a flight (the reordering window's multiplier,
     * which only a D-SACK moves, is in the rare block). */
    synack_time_t min_rtt;
    /* Bytes delivered so far (synack_tcp_info); the latest delivery-rate sample is the
     * flight block's. */
    uint64_t delivered;

    /* ---- line 6: autotuning, retries ---- */
    /* Autotuning (autotune.c): the buffers, the scoreboard and the out-of-order table are
     * allocated apart from the TCB, with their first use, and grow with it. */
    synack_time_t rcv_rtt;    /* the receiver's round trip (0: no sample yet) */
    synack_time_t rcv_rtt_at; /* when the running measurement began (NEVER: none): the
                                 arrival of data that reached the edge it had offered */
    synack_time_t drs_at;     /* start of the application's current read interval */
    uint32_t rcv_rtt_edge;    /* the receiver's RTT measurement ends when rcv_nxt reaches this */
    uint32_t drs_copied;      /* bytes the application read since drs_at (saturates) */
    /* Buffers (autotune.c). Sizes are at most TCP_MAX_BUF (2^30): 32 bits hold them. */
    uint32_t sndbuf_max, rcvbuf_max; /* how far they may grow (no further than they are:
                                        fixed); synack_tcp_set_bufsize sets them, and they may
                                        then be below the storage's size (tcp_sndbuf_size) */
    unsigned retries;                /* expiries since the peer was last heard acknowledging */

    /* ---- cold: what a round trip does not touch (from the end of line 6) ---- */
    uint32_t iss, irs;
    uint32_t fin_seq;     /* sequence number of our FIN, valid with TCP_F_FIN_QUEUED */
    uint32_t ooo_fin_seq; /* with TCP_F_OOO_FIN (a bare FIN needs no out-of-order block) */
    uint32_t drs_last;    /* the most the application read in a round trip (autotune.c) */
    struct synack_tcp *all_prev, *all_next; /* every connection of the env */
    /* One list at a time: a connection in a listener's queue has not been accepted, so
     * the application cannot have released it, and only a released one is an orphan. */
    union {
        struct list_node lq;     /* with `listener`: in its SYN queue or accept queue */
        struct list_node orphan; /* with TCP_F_ORPHAN: in the env's orphans */
    };
    struct synack_listener *listener; /* for passive opens until accepted */
    struct tcp_rare *rare;
    uint32_t delayed_acks, keepalive_probes; /* the idle connection's two, which stop at
                                                UINT32_MAX */
    unsigned ka_sent;                        /* keepalive probes unanswered */
    uint16_t snd_mss; /* RFC 9293 §3.7.1: min(peer's MSS or 536, path MTU - 40) */
    uint16_t pmtu;    /* RFC 1191: path MTU estimate, from the interface MTU; only ICMP
                         fragmentation-needed lowers it, never below min(pmtu_min, mtu) */
};

/* The layout above on LP64: what a round trip touches in seven lines, the cold part after
 * it; and the whole in 512 bytes (issue 13: an idle connection costs at most 512). */
_Static_assert(sizeof(void *) != 8 || offsetof(struct synack_tcp, iss) <= 7 * 64,
               "the TCB's hot part is lines 0-6");
_Static_assert(sizeof(void *) != 8 || sizeof(struct synack_tcp) <= 512,
               "an idle connection costs at most 512 bytes");
/* The narrow fields hold what they are given: every SYNACK_ERR_* (err, soft_err), every
 * window shift (snd_wscale, rcv_wscale: RFC 7323 §2.3). */
_Static_assert(SYNACK_ERR_STEERED >= INT8_MIN, "a SYNACK_ERR_* code fits the TCB's 8 bits");
_Static_assert(TCP_MAX_WSCALE < 16, "a window shift fits the TCB's 4 bits");

/* Ends the timing of our SYN (TCP_F_RTT_TIMING), if it runs: the storage rtt_start shares
 * with the TIME-WAIT and FIN-WAIT-2 deadlines reads SYNACK_NEVER again. */
static inline void tcp_syn_timing_stop(struct synack_tcp *c)
{
    if (!(c->flags & TCP_F_RTT_TIMING)) return;
    c->flags &= ~(uint32_t)TCP_F_RTT_TIMING;
    c->rtt_start = SYNACK_NEVER;
}

/* A connection in TIME-WAIT that the application has released: what RFC 9293 §3.10.7.4
 * needs for the rest of 2*MSL (acknowledge a retransmitted FIN, refuse old duplicates,
 * let a new SYN reopen the 4-tuple), without the TCB, its buffers or its slot. */
struct tcp_tw {
    /* What a lookup reads comes first: the chain link and the ports share the record's
     * first 16 bytes (one cache line whatever malloc's 16-byte alignment), so a chain entry
     * that does not match costs one miss, not two; the addresses follow. */
    struct tcp_tw *hash_next;
    uint16_t local_port, remote_port;
    uint8_t rcv_wscale;
    bool ts;        /* timestamps were negotiated */
    bool reuseaddr; /* the connection had TCP_F_REUSEADDR (tcp_bind_conflicts) */
    struct synack_addr local_addr, remote_addr;
    uint32_t snd_nxt, rcv_nxt;
    uint32_t ts_recent, ts_offset; /* RFC 7323 §4.3 TS.Recent; our TSval offset */
    uint32_t rcv_wnd;              /* bytes last offered */
    struct list_node node;         /* in the env's TIME-WAIT list, in expiry order */
    uint64_t id;                   /* the connection's: its CLOSED events carry it */
    void *user;
    synack_time_t expires;        /* end of 2*MSL */
    synack_time_t ts_recent_time; /* RFC 7323 §5.5 */
    synack_time_t oow_ack_at;     /* last answer to an invalid segment (invalid_ack_interval) */
};

struct synack_listener {
    struct synack_listener *next; /* in the env's listener list */
    struct tcp_env *env;
    uint64_t id;
    void *user;
    struct synack_addr addr; /* bound: an address of the stack, its family's wildcard, or
                                SYNACK_AF_NONE for every address of both families */
    uint16_t port;
    bool reuseaddr; /* SYNACK_BIND_REUSEADDR: given to the connections it makes */
    unsigned backlog;
    unsigned syn_count, accept_count;
    /* Connections through their `lq` node. O(1) insert, append and remove, so thousands
     * waiting cost no more per handshake than a few (with singly linked queues accepting
     * many at once was quadratic: docs/PERFORMANCE.md). */
    struct list synq;    /* half-open (SYN_RECEIVED), newest first */
    struct list acceptq; /* established, oldest first */
};

/* ---- tcp/demux.c ---- */
/* The keyed hash of a 4-tuple that every table of TCP is indexed by. */
uint64_t tcp_tuple_hash(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                        const struct synack_addr *raddr, uint16_t rport);
int tcp_demux_init(struct tcp_env *e);
void tcp_demux_free(struct tcp_env *e);
/* Moves a step of a resize under way (demux.c), for each segment that arrives. */
void tcp_demux_step(struct tcp_env *e);
/* A resize under way that no traffic moved for a while: when the timers should move a step
 * (NEVER: none under way), and that step, if due at `now` (demux.c, DEMUX_IDLE_AFTER). */
synack_time_t tcp_demux_deadline(const struct tcp_env *e);
void tcp_demux_idle(struct tcp_env *e, synack_time_t now);
struct synack_tcp *tcp_demux_find(const struct tcp_env *e, const struct synack_addr *laddr,
                                  uint16_t lport, const struct synack_addr *raddr, uint16_t rport);
/* Hints for a segment about to arrive (synack_stack_input_batch): tcp_demux_prefetch hashes
 * the 4-tuple `h` holds (its local and remote address and port), keeps the hash in `h` (valid
 * from then on) for tcp_tuple_hash to answer from once `h` is the env's hint, and starts
 * loading the tuple's demux bucket into the cache; tcp_demux_prefetch_conn, a little later,
 * reads that bucket and starts loading the connection at its head. Neither changes what
 * any lookup finds; both only save waiting later. */
void tcp_demux_prefetch(const struct tcp_env *e, struct tcp_hint *h);
void tcp_demux_prefetch_conn(const struct tcp_env *e, const struct tcp_hint *h);
void tcp_demux_insert(struct tcp_env *e, struct synack_tcp *c);
void tcp_demux_remove(struct tcp_env *e, struct synack_tcp *c);
/* The listener a SYN to (local, port) reaches: the one bound to that address, else to its
 * family's wildcard, else to every address; NULL if none. */
struct synack_listener *tcp_listener_find(const struct tcp_env *e, const struct synack_addr *local,
                                          uint16_t port);
/* The per-port count of holders (env.h, port_holders): a connection or TIME-WAIT record
 * that has just entered e->all or the TIME-WAIT list takes its port, and gives it back as
 * it leaves. */
void tcp_port_hold(struct tcp_env *e, uint16_t port);
void tcp_port_release(struct tcp_env *e, uint16_t port);
/* Linux's bind rule (synack_tcp_bind_check): true when binding `port` on `addr` (an address,
 * a family's wildcard, or SYNACK_AF_NONE for both families), with SO_REUSEADDR or not, would
 * overlap a listener, a connection not CLOSED (orphans included) or a TIME_WAIT record
 * holding that port. It walks the listeners, then the connections and records only when
 * the port has holders (the per-port count, once there is one: see demux.c). */
bool tcp_bind_conflicts(const struct tcp_env *e, const struct synack_addr *addr, uint16_t port,
                        bool reuseaddr);
/* What holds a 4-tuple in TIME-WAIT that an outgoing connection may take over: a record
 * or a released connection (at most one of the two set), or neither. */
struct tcp_tuple_holder {
    struct tcp_tw *tw;
    struct synack_tcp *c;
};
/* Whether the 4-tuple steers to this stack's queue (synack_config.steer_queues): always
 * true without steering. */
bool tcp_steers_here(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                     const struct synack_addr *raddr, uint16_t rport);
/* RFC 6056 §3.3.3: an ephemeral port for (laddr, raddr, rport) that steers here, no listener holds
 * and whose 4-tuple tcp_tuple_claim gives (free, or in a TIME-WAIT `h` may take over), or 0 if none
 * is. */
uint16_t tcp_ephemeral_port(struct tcp_env *e, const struct synack_addr *laddr,
                            const struct synack_addr *raddr, uint16_t rport, synack_time_t now,
                            struct tcp_tuple_holder *h);

/* ---- tcp/input.c ---- */
/* Processes one parsed segment addressed to this stack. */
void tcp_input(struct tcp_env *e, const struct wire_ip_repr *ip, const struct wire_tcp_repr *seg,
               synack_time_t now);

/* ---- tcp/output.c ---- */
/* Builds the next segment `c` wants to send into `buf` (an IP packet); returns its
 * length, 0 if the connection has nothing to send, or SYNACK_ERR_BUFSZ. `tx`: the
 * SYNACK_TX_* work the link does (synack_stack_output_offload), so the checksum may be left
 * partial and full segments of new data joined into one the link cuts; `meta` says what
 * was left (zeroed when nothing). */
synack_ssize tcp_output(struct synack_tcp *c, uint8_t *buf, size_t cap, unsigned tx,
                        struct synack_tx_meta *meta, synack_time_t now);
/* The receive window to advertise now (RFC 9293 §3.8.6.2.2: never shrinks the edge). */
uint32_t tcp_rcv_window(const struct synack_tcp *c);

/* After the application read: whether the larger window is worth a window update; if so
 * marks the connection to send one. */
bool tcp_should_update_window(struct synack_tcp *c);

/* ---- tcp/timer.c ---- */
/* The deadlines that live in the flight block: SYNACK_NEVER without one. */
static inline synack_time_t tcp_tlp_at(const struct synack_tcp *c)
{
    return c->fl ? c->fl->tlp_at : SYNACK_NEVER;
}
static inline synack_time_t tcp_reorder_at(const struct synack_tcp *c)
{
    return c->fl ? c->fl->reorder_at : SYNACK_NEVER;
}
/* Recomputes the connection's earliest deadline in the env's heap. */
void tcp_timer_update(struct synack_tcp *c);
/* Runs the connection's due timers. */
void tcp_timer_expired(struct synack_tcp *c, synack_time_t now);
/* (Re)starts the retransmission timer at now + rto (RFC 6298 (5.1), (5.3)). */
void tcp_rto_arm(struct synack_tcp *c, synack_time_t now);
void tcp_rto_stop(struct synack_tcp *c);
/* Stops every timer of the connection. */
void tcp_timers_clear(struct synack_tcp *c);
/* Received text not acknowledged yet: ACK now, or arm the delayed-ACK timer. */
void tcp_delack_schedule(struct synack_tcp *c, bool immediate, synack_time_t now);
/* Restarts the keepalive idle period after hearing from the peer (RFC 1122 §4.2.3.6). */
void tcp_keepalive_reset(struct synack_tcp *c, synack_time_t now);
/* RFC 9293 §3.8.6.1: arms the persist timer when data waits behind a zero window and
 * nothing is in flight to bring a window update back. */
void tcp_persist_check(struct synack_tcp *c, synack_time_t now);
/* Enters TIME_WAIT and starts the 2*MSL timer (RFC 9293 §3.10.7.4, eighth step). A released
 * connection becomes a TIME_WAIT record and is destroyed (check TCP_F_DEAD after). */
void tcp_enter_time_wait(struct synack_tcp *c, synack_time_t now);
/* Arms the FIN_WAIT_2 limit of a released connection (fin_wait2_timeout). */
void tcp_finwait2_arm(struct synack_tcp *c, synack_time_t now);
/* RFC 6298 (5.7): raises the RTO to 3 s if the SYN had to be retransmitted without an RTT
 * sample; ends the SYN's backoff either way. */
void tcp_rto_after_handshake(struct synack_tcp *c);
/* RFC 6298 (2.2)/(2.3): feeds one RTT measurement. */
void tcp_rtt_sample(struct synack_tcp *c, synack_time_t rtt);

/* ---- tcp/conn.c ---- */
/* The one place where a connection changes state; queues SYNACK_EV_STATE. */
void tcp_set_state(struct synack_tcp *c, enum synack_state next, synack_time_t now);
/* The window scale we offer for a receive buffer that can grow to cfg->rcvbuf_max, or is
 * cfg->rcvbuf (0 without scaling). */
uint8_t tcp_rcv_wscale(const struct synack_config *cfg);
/* RFC 7323 §5.4: the TSval offset of a 4-tuple. */
uint32_t tcp_ts_offset(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                       const struct synack_addr *raddr, uint16_t rport);
/* Our TSval at `now`: a clock of milliseconds, offset per connection (RFC 7323 §5.4). */
static inline uint32_t tcp_tsval(const struct synack_tcp *c, synack_time_t now)
{
    return (uint32_t)(now / SYNACK_MS(1)) + c->ts_offset;
}
/* How many ticks of that clock ago we sent the TSval a segment echoes (RFC 7323 §4.3), or
 * -1: no timestamps, a TSecr of 0 (unset: outside ACKs, §3.2), or one from the future. */
static inline int64_t tcp_ts_echo_age(const struct synack_tcp *c, bool has_ts, uint32_t ts_ecr,
                                      synack_time_t now)
{
    if (!(c->flags & TCP_F_TS) || !has_ts || ts_ecr == 0) return -1;
    uint32_t ticks = tcp_tsval(c, now) - ts_ecr;
    return ticks > 0x7fffffffu ? -1 : (int64_t)ticks;
}
/* Brings the env's count of held data up to date with this connection's buffers and
 * out-of-order queue (mem_budget), after giving back the storage of what is empty
 * (tcp_storage_release). Called at the end of every input, send, receive and close, so
 * storage follows what the connection holds. `now` is the call's time (the storage
 * cache's deadline counts from it). No-op on a dead connection. */
void tcp_mem_sync(struct synack_tcp *c, synack_time_t now);
/* True when the env's connections hold mem_budget bytes of data or more. */
bool tcp_mem_pressure(const struct synack_tcp *c);
/* ---- tcp/autotune.c ---- */
/* Scoreboard records for a send buffer of `sndbuf` bytes: one per segment of 256 bytes or
 * more in flight; smaller segments just mean fewer in flight. */
unsigned tcp_seg_cap(size_t sndbuf);
/* After an ACK: the send buffer grows to twice cwnd if the application found it full. */
void tcp_sndbuf_tune(struct synack_tcp *c, synack_time_t now);
/* SYNACK_EV_WRITABLE, if send() found the buffer full since the last one. */
void tcp_writable_event(struct synack_tcp *c, synack_time_t now);
/* After the application read n bytes: once per receiver round trip, the receive buffer
 * grows to twice what it reads per round trip (dynamic right-sizing: its reading rate
 * times the shortest round trip, or what it read in the interval where it held the
 * sender waiting). */
void tcp_rcvbuf_tune(struct synack_tcp *c, size_t n, synack_time_t now);
/* In-order data arrived: the receiver's round trip, from the time a window's worth takes.
 * `has_ts`, `ts_ecr`: the segment's timestamp option (its TSecr tells a round trip too,
 * read only when a sample ends that is not shorter). The estimate goes
 * down with any shorter sample; it is raised, to the shorter of the last sample and its
 * echo, once TCP_RCV_RTT_LONGER_RUN samples in a row, and their echoes, were over
 * TCP_RCV_RTT_LONGER times it (autotune.c, rcv_rtt_longer). */
#define TCP_RCV_RTT_LONGER 4
#define TCP_RCV_RTT_LONGER_RUN 3
_Static_assert(TCP_RCV_RTT_LONGER_RUN <= 3, "the run is counted in rcv_rtt_longer's 2 bits");
void tcp_rcv_rtt_measure(struct synack_tcp *c, bool has_ts, uint32_t ts_ecr, synack_time_t now);
/* Room for one more scoreboard record / out-of-order block, growing the table if it is
 * full and may grow (up to what sndq's / rcvq's size can need); false when it may not or
 * the allocator refused. */
bool tcp_segs_room(struct synack_tcp *c);
/* Room for up to `n` more scoreboard records, growing the table as far as it may: how many
 * fit (at most `n`). */
unsigned tcp_segs_room_n(struct synack_tcp *c, unsigned n);
bool tcp_ooo_room(struct synack_tcp *c);
/* Gives the buffer `r` (c->sndq or c->rcvq) its storage if it has none yet; false when the
 * allocator refused. */
bool tcp_ring_storage(struct synack_tcp *c, struct ring *r);
/* A buffer's size now: its storage, or less where synack_tcp_set_bufsize fixed a smaller
 * size than the storage it had (the maximum; autotuning never grows storage past it). */
size_t tcp_sndbuf_size(const struct synack_tcp *c);
size_t tcp_rcvbuf_size(const struct synack_tcp *c);
/* The bytes a buffer takes now: its size less what it holds (0 while it holds more). */
size_t tcp_snd_room(const struct synack_tcp *c);
size_t tcp_rcv_room(const struct synack_tcp *c);
/* Gives back the storage of what holds nothing: the send buffer once all it held is
 * acknowledged (and none of its room is lent to synack_tcp_send_borrow), the receive
 * buffer once the application has read everything and nothing is out of order, the
 * flight block (scoreboard) once the flight is over (tcp_flight_is_over) and the
 * out-of-order table once empty. Sizes stay: storage of the same size
 * comes back with the next byte or record. An idle connection then holds its TCB alone. */
void tcp_storage_release(struct synack_tcp *c);
/* Frees the buffers' and the tables' storage, then the TCB. */
void tcp_conn_free(struct synack_tcp *c);
/* Allocates / frees a block of a connection beyond its TCB, counted in conn_storage. */
void *tcp_block_alloc(struct synack_tcp *c, size_t size);
void tcp_block_free(struct synack_tcp *c, void *p, size_t size);
/* Frees what the storage cache holds past what it keeps, once its deadline has come and
 * it served no allocation since the deadline was set (else sets it again). */
void tcp_store_trim(struct tcp_env *e, synack_time_t now);
/* Frees every block of the storage cache (with the stack). */
void tcp_store_free(struct tcp_env *e);

/* Bytes one connection allocates when it is made: its TCB (the rest comes with use). */
size_t tcp_conn_bytes(const struct synack_config *cfg);
/* Allocates a connection in CLOSED (or LISTEN for a passive open) with its buffers; NULL at
 * max_conns or when the allocator fails. */
struct synack_tcp *tcp_conn_new(struct tcp_env *e, const struct synack_addr *local_addr,
                                uint16_t local_port, const struct synack_addr *remote_addr,
                                uint16_t remote_port);
/* Enters CLOSED for good: stops timers, records `err` (0 for a normal close), queues the
 * ERROR and CLOSED events, and destroys the connection if the application released it.
 * The memory stays valid until the public call returns (see tcp_conn_destroy), so a caller
 * may still read `c` afterwards, but it must not arm anything on it. No-op on a dead one. */
void tcp_conn_finish(struct synack_tcp *c, int err, synack_time_t now);
/* Without events (stack teardown, a half-open connection reset back to LISTEN): unlinks
 * the connection from the demux, the timers, the output list and its listener, and hands it
 * to the env's dead list; tcp_reap() frees it when the public call that got here
 * returns. No-op on a dead one. */
void tcp_conn_destroy(struct synack_tcp *c);
/* Puts the connection on the output list: the stack's output calls reach it through
 * tcp_conns_output. */
void tcp_schedule_output(struct synack_tcp *c);
/* RFC 6528: the ISN for this 4-tuple at `now`. */
uint32_t tcp_isn(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                 const struct synack_addr *raddr, uint16_t rport, synack_time_t now);
/* Sends <SEQ=seq><ACK=ack><CTL=flags> without a TCB (RSTs for closed ports, bad ACKs). */
void tcp_send_rst(struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                  const struct synack_addr *raddr, uint16_t rport, uint32_t seq, uint32_t ack,
                  bool with_ack);
/* Ends a synchronized connection with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, then
 * tcp_conn_finish(c, err): abort, close with unread data, data after close, a released
 * connection given up, a listener closed over its queues. Every such RST leaves, however
 * many connections end between two output calls (tcp_ctl_push_owed). */
void tcp_conn_reset(struct synack_tcp *c, int err, synack_time_t now);
/* RFC 9293 §3.7.1: the MSS to send with, from the peer's SYN (536 without the option). */
uint16_t tcp_peer_mss(struct synack_tcp *c, const struct wire_tcp_repr *syn);
/* Takes the options of the peer's SYN (RFC 7323, RFC 2018, RFC 9293 §3.7.1): MSS, window
 * scale, SACK-permitted, timestamps; sets the effective MSS and the initial cwnd. */
void tcp_negotiate(struct synack_tcp *c, const struct wire_tcp_repr *syn, synack_time_t now);
/* RFC 5961 §7: true if a challenge ACK may be sent now: invalid_ack_interval since the last
 * answer to an invalid segment, and the connection's random per-second budget not spent.
 * Counts either way. */
bool tcp_challenge_ack_allowed(struct synack_tcp *c, synack_time_t now);
/* True if an ACK may answer a segment that failed the acceptability test or PAWS now
 * (invalid_ack_interval); counts invalid_acks_suppressed when not. */
bool tcp_invalid_ack_allowed(struct synack_tcp *c, synack_time_t now);
/* Increment a counter on the connection and on its stack (the env's counters). A counter
 * other than the six the TCB holds goes to the connection's rare block, allocated with
 * the first of them; if the allocator refuses it, the stack still counts, the connection
 * is marked TCP_F_COUNTS_LOST (synack_tcp_info's counters_lost) and the next such count
 * tries again. */
#define TCP_COUNT(c, field) tcp_count((c), offsetof(struct synack_counters, field))
void tcp_count(struct synack_tcp *c, size_t offset);
void tcp_count_drop(struct synack_tcp *c, enum synack_drop reason);
/* The connection's rare block, allocated now if it has none (TCP_F_COUNTS_LOST and NULL
 * when the allocator refuses it). */
struct tcp_rare *tcp_rare_get(struct synack_tcp *c);
/* CUBIC's state (struct tcp_cubic), allocated now if the controller wants it and has none
 * (tcp_cc_wants_state): called before a congestion signal and before an ACK outside slow
 * start, so that only a connection that leaves slow start carries it. If the allocator
 * refuses it, CUBIC follows its Reno-friendly window (cc.h) and the next call tries again. */
void tcp_cc_state_get(struct synack_tcp *c);
/* The connection's own counters as synack_tcp_info reports them. */
void tcp_counters_get(const struct synack_tcp *c, struct synack_counters *out);

/* Sets snd_mss and the effective MSS (less the 12 bytes of timestamps when they are on). */
void tcp_set_snd_mss(struct synack_tcp *c, uint16_t mss);
/* Keepalive (RFC 1122 §4.2.3.6) and user timeout (RFC 5482): the connection's own
 * settings if it was given some that differ from the stack's (in the rare block), else the
 * configuration's (which has no user timeout). */
static inline bool tcp_has_own_opts(const struct synack_tcp *c)
{
    return c->rare && c->rare->opts.own;
}
static inline synack_time_t tcp_ka_idle(const struct synack_tcp *c)
{
    return tcp_has_own_opts(c) ? c->rare->opts.ka_idle : c->env->cfg->keepalive_idle;
}
static inline synack_time_t tcp_ka_interval(const struct synack_tcp *c)
{
    return tcp_has_own_opts(c) ? c->rare->opts.ka_interval : c->env->cfg->keepalive_interval;
}
static inline unsigned tcp_ka_count(const struct synack_tcp *c)
{
    return tcp_has_own_opts(c) ? c->rare->opts.ka_count : c->env->cfg->keepalive_count;
}
static inline synack_time_t tcp_user_timeout(const struct synack_tcp *c)
{
    return tcp_has_own_opts(c) ? c->rare->opts.user_timeout : 0;
}
/* The error a connection that timed out reports: an ICMP soft error it heard since data
 * was last acknowledged (RFC 1122 §4.2.3.9, RFC 5461), else TIMEDOUT. */
static inline int tcp_timeout_err(const struct synack_tcp *c)
{
    return c->soft_err ? c->soft_err : SYNACK_ERR_TIMEDOUT;
}

/* ---- tcp/icmp.c: ICMP errors and Path MTU Discovery ---- */
/* An ICMP error message whose returned datagram may be one of our TCP segments: finds the
 * connection by the returned 4-tuple, checks the returned sequence number (RFC 5927 §4.1),
 * and applies it: soft errors are remembered, hard ones abort an opening connection, a
 * too-big message lowers the path MTU and resends what was too big (RFC 1191, RFC 8201).
 * Counts the message as delivered or dropped (by reason). */
void tcp_icmp_input(struct tcp_env *e, const struct ip_icmp_error *q, synack_time_t now);

/* ---- tcp/timewait.c: TIME-WAIT records ---- */
/* Sets up the env's TIME-WAIT table. */
int tcp_tw_init(struct tcp_env *e);
/* Frees every record and the table. */
void tcp_tw_free_all(struct tcp_env *e);
/* A released connection in TIME-WAIT becomes a record: the ACK it owes goes out from the
 * record, and the connection is destroyed (no events: the record reports CLOSED at the end
 * of 2*MSL). When the table is full the connection stays as it is (counted). Returns true
 * if it became a record. */
bool tcp_tw_adopt(struct synack_tcp *c, synack_time_t now);
/* The record for a 4-tuple, or NULL. */
struct tcp_tw *tcp_tw_find(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                           const struct synack_addr *raddr, uint16_t rport);
/* RFC 9293 §3.10.7.4 in TIME-WAIT for a segment that matched record `tw`. */
void tcp_tw_input(struct tcp_env *e, struct tcp_tw *tw, const struct wire_ip_repr *ip,
                  const struct wire_tcp_repr *seg, synack_time_t now);
/* The earliest end of 2*MSL among the records, or SYNACK_NEVER. */
static inline synack_time_t tcp_tw_next_deadline(const struct tcp_env *e)
{
    const struct tcp_tw *first = LIST_ENTRY(e->tw_list.head, struct tcp_tw, node);
    return first ? first->expires : SYNACK_NEVER;
}
/* Ends the records whose 2*MSL is over by `now` (TIME_WAIT -> CLOSED). */
void tcp_tw_expire(struct tcp_env *e, synack_time_t now);
/* RFC 1122 §4.2.2.13, RFC 6191: whether a SYN may reopen a 4-tuple in TIME-WAIT whose
 * receive side ended at `rcv_nxt` (timestamps: `ts_on`, TS.Recent `ts_recent`). */
bool tcp_tw_syn_may_reopen(const struct wire_tcp_repr *seg, uint32_t rcv_nxt, bool ts_on,
                           uint32_t ts_recent);
/* Whether an outgoing connection may have the 4-tuple: 0 with `h` empty when nothing holds
 * it; 0 with `h` set when a TIME-WAIT holds it that the new connection may take over
 * (synack_config.time_wait_reuse: timestamps on, our clock past the old incarnation; the
 * peer's is checked at its SYN); ADDRINUSE when a connection, or a TIME-WAIT not yet safe to reuse,
 * does. */
int tcp_tuple_claim(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                    const struct synack_addr *raddr, uint16_t rport, synack_time_t now,
                    struct tcp_tuple_holder *h);
/* What a new incarnation takes from the TIME-WAIT whose 4-tuple it took over. */
struct tcp_reuse {
    uint32_t snd_nxt;    /* the new ISS must exceed it (RFC 1122 §4.2.2.13) */
    uint32_t ts_recent;  /* the old incarnation's TS.Recent: the peer's SYN must exceed it */
    synack_time_t heard; /* when the TIME-WAIT last received or answered a segment */
};
/* Ends the TIME-WAIT that `h` holds, if any, as the end of 2*MSL would (TIME_WAIT ->
 * CLOSED, counted time_wait_reused), and says in *r what the new incarnation must start
 * above. False when `h` held nothing. */
bool tcp_tuple_take(struct tcp_env *e, struct tcp_tuple_holder *h, synack_time_t now,
                    struct tcp_reuse *r);
/* Whether the peer's SYN `seg` may open a connection in SYN-SENT that took over a TIME-WAIT
 * (TCP_F_TS_FLOOR): see timewait.c. */
bool tcp_reuse_ts_ok(const struct synack_tcp *c, const struct wire_tcp_repr *seg,
                     synack_time_t now);
/* An ISS above `floor` if one is given: `iss` itself, or floor + 1. */
static inline uint32_t tcp_iss_above(uint32_t iss, const uint32_t *floor)
{
    return floor && seq_leq(iss, *floor) ? *floor + 1 : iss;
}

/* ---- tcp/syncookie.c: SYN cookies (RFC 4987 §3.6) ---- */
/* Answers the SYN `seg` with a SYN-ACK whose ISS is a cookie, keeping no state. */
void tcp_cookie_send_synack(struct synack_listener *l, const struct wire_ip_repr *ip,
                            const struct wire_tcp_repr *seg, synack_time_t now);
/* An ACK (no SYN, no RST) reached listener `l` with no connection for it: if cookies may be
 * out and SEG.ACK - 1 is a valid one, rebuilds the half-open connection the SYN would have
 * made (SYN_RECEIVED, its SYN-ACK sent) and returns it for the ACK to complete the
 * handshake; else NULL (counted rejected when it was checked). *dropped says the cookie
 * was valid but the connection could not be made now (accept queue full, max_conns, no
 * memory: counted): the segment is dropped without the listener's RST. */
struct synack_tcp *tcp_cookie_open(struct synack_listener *l, const struct wire_ip_repr *ip,
                                   const struct wire_tcp_repr *seg, synack_time_t now,
                                   bool *dropped);

/* ---- orphans (tcp/user.c) ---- */
/* Unlinks a connection from the orphan list if it is there. */
void tcp_orphan_remove(struct synack_tcp *c);

/* ---- tcp/user.c ---- */
/* RFC 9293 §3.10.1 OPEN, active, from `laddr` (one of the stack's addresses, chosen by the
 * stack) and `lport` (0: an ephemeral port) to `remote`. NOPORTS, ADDRINUSE (the 4-tuple is
 * a connection's, or a TIME-WAIT's that tcp_tuple_claim will not give yet), CONNLIMIT,
 * NOMEM. */
int tcp_connect(struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                const struct synack_endpoint *remote, void *user, struct synack_tcp **out,
                synack_time_t now);
/* Active open of a fresh TCB: ISS, SYN queued, SYN-SENT. `reuse`, when the 4-tuple was
 * taken over from TIME-WAIT: the ISS starts above its SND.NXT and the peer's SYN must carry
 * a TSval above its TS.Recent (TCP_F_TS_FLOOR). */
void tcp_active_open(struct synack_tcp *c, const struct tcp_reuse *reuse, synack_time_t now);

/* ---- tcp/listen.c ---- */
/* RFC 9293 §3.10.1 OPEN, passive, on (addr, port): `addr` is one of the stack's addresses,
 * its family's wildcard or SYNACK_AF_NONE for both families (the stack checked which);
 * `reuseaddr` is SO_REUSEADDR, given to the connections it accepts. ADDRINUSE when
 * tcp_bind_conflicts says so, NOMEM. */
int tcp_listen(struct tcp_env *e, const struct synack_addr *addr, uint16_t port, unsigned backlog,
               bool reuseaddr, void *user, struct synack_listener **out);
/* RFC 9293 §3.10.2 SEND in LISTEN with a foreign socket: the listener becomes an active
 * connection to `remote` from `laddr` (the stack's choice; NULL when it has none: INVAL).
 * STATE while it holds half-open or queued connections; ADDRINUSE, CONNLIMIT, NOMEM. */
int tcp_listener_connect(struct synack_listener *l, const struct synack_addr *laddr,
                         const struct synack_endpoint *remote, struct synack_tcp **out,
                         synack_time_t now);
/* A SYN reached a listener: creates the half-open connection (LISTEN -> SYN_RECEIVED). */
/* `iss_floor`, if not NULL, is a sequence number the new ISS must exceed (a connection
 * reopened from TIME_WAIT, RFC 1122 §4.2.2.13). */
void tcp_listen_input(struct synack_listener *l, const struct wire_ip_repr *ip,
                      const struct wire_tcp_repr *seg, synack_time_t now,
                      const uint32_t *iss_floor);
/* Makes the half-open connection of a SYN (or of a SYN rebuilt from a cookie) with ISS
 * `iss`: in the listener's SYN queue, options negotiated, SYN_RECEIVED. NULL when no
 * connection can be allocated. */
struct synack_tcp *tcp_listen_child(struct synack_listener *l, const struct wire_ip_repr *ip,
                                    const struct wire_tcp_repr *syn, uint32_t iss,
                                    synack_time_t now);
/* True if a SYN arriving now would get a connection (queues and connection limit);
 * `frees_one` when a connection is about to be freed to make room. */
bool tcp_listen_has_room(const struct synack_listener *l, bool frees_one);
/* A passive connection became ESTABLISHED: moves it to the accept queue. Returns false if
 * the accept queue is full (the caller drops the segment and stays in SYN_RECEIVED). */
bool tcp_listen_established(struct synack_tcp *c, synack_time_t now);
/* Unlinks a passive connection from its listener's queues. */
void tcp_listen_unlink(struct synack_tcp *c);

/* ---- tcp/scoreboard.c: the sender's record of transmitted segments ---- */
/* Records in flight (0 without a flight block). */
static inline unsigned tcp_seg_count(const struct synack_tcp *c)
{
    return c->fl ? c->fl->seg_count : 0;
}
/* Whether the flight block may go: no record left (every byte and FIN sent is
 * acknowledged), no recovery episode and no tail loss probe outstanding. */
static inline bool tcp_flight_is_over(const struct synack_tcp *c)
{
    return tcp_seg_count(c) == 0 && c->recovery == TCP_RS_OPEN && !(c->flags & TCP_F_TLP_OUT);
}
/* Record `i` from SND.UNA; i < tcp_seg_count(c). */
static inline struct tcp_seg *tcp_seg_at(const struct synack_tcp *c, unsigned i)
{
    return &c->fl->segs[(c->fl->seg_head + i) % c->fl->seg_cap];
}
/* Records a first transmission of [seq, seq + len). Returns false if the scoreboard is
 * full (the caller must not send). */
bool tcp_seg_push(struct synack_tcp *c, uint32_t seq, uint32_t len, uint32_t flags,
                  synack_time_t now);
void tcp_seg_mark_lost(struct synack_tcp *c, struct tcp_seg *g);
/* Marks a record lost even if SACKed (the left edge after an RTO, RFC 2018 §8). */
void tcp_seg_unsack_lost(struct synack_tcp *c, struct tcp_seg *g);
/* Splits record `i` into its first `len` bytes and the rest (a new record after it, which
 * keeps the FIN); both keep the flags and times. Returns false (nothing changes) if the
 * scoreboard is full or `len` is not inside the record. */
bool tcp_seg_split(struct synack_tcp *c, unsigned i, uint32_t len);
/* The position of record `g` from SND.UNA (for tcp_seg_at). */
static inline unsigned tcp_seg_index(const struct synack_tcp *c, const struct tcp_seg *g)
{
    const struct tcp_flight *f = c->fl;
    return (unsigned)(((size_t)(g - f->segs) + f->seg_cap - f->seg_head) % f->seg_cap);
}
/* Extends a record to `len` (the probe byte resent with the data after it). */
void tcp_seg_grow(struct synack_tcp *c, struct tcp_seg *g, uint32_t len, uint32_t flags);
void tcp_seg_mark_retrans(struct synack_tcp *c, struct tcp_seg *g, synack_time_t now);
/* Frees every record wholly below `ack` (trimming a partly acked one). Returns the bytes
 * newly delivered (not SACKed before); feeds RACK and the delivery rate, and gives the
 * RTT of the newest never-retransmitted record in *rtt (0 if none), and the latest
 * transmission time among the records it freed in *last_xmit. */
uint32_t tcp_segs_ack(struct synack_tcp *c, uint32_t ack, synack_time_t now, synack_time_t *rtt,
                      synack_time_t *last_xmit);
/* Applies the SACK blocks of an ACK (RFC 2018 §3, RFC 2883). Returns newly SACKed bytes;
 * *dsack is set if the first block reports a duplicate. */
uint32_t tcp_segs_sack(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now,
                       bool *dsack);
/* RFC 6675 §4 IsLost over the scoreboard: marks records lost. Returns how many. */
unsigned tcp_segs_detect_sack_loss(struct synack_tcp *c);
/* RFC 8985 §6.2 step 5: marks records lost by time; returns how many, and arms the
 * reordering timer for the rest. */
unsigned tcp_rack_detect_loss(struct synack_tcp *c, synack_time_t now);
/* Marks every unSACKed record lost (after an RTO, RFC 6675 §5.1). */
void tcp_segs_mark_all_lost(struct synack_tcp *c);
/* The first record to retransmit (lost, not yet retransmitted), or NULL. */
struct tcp_seg *tcp_segs_next_lost(const struct synack_tcp *c);
/* Records lost and not yet retransmitted (for synack_tcp_info). */
unsigned tcp_segs_lost_unsent(const struct synack_tcp *c);
/* RFC 6675 §4 SetPipe: bytes in the network. */
uint32_t tcp_pipe(const struct synack_tcp *c);

/* ---- tcp/reasm.c: the receiver's out-of-order data and SACK blocks ---- */
/* Out-of-order blocks held, and their bytes (0 without a table). */
static inline unsigned tcp_ooo_count(const struct synack_tcp *c)
{
    return c->ooo ? c->ooo->n : 0;
}
static inline uint32_t tcp_ooo_bytes(const struct synack_tcp *c)
{
    return c->ooo ? c->ooo->bytes : 0;
}
/* Takes in-window text at `seq` (>= rcv_nxt). Returns bytes newly appended in order
 * (rcv_nxt advances by it); sets *ooo if the text went out of order or filled a hole,
 * and records a duplicate for D-SACK. */
uint32_t tcp_reasm_input(struct synack_tcp *c, uint32_t seq, const uint8_t *data, uint32_t len,
                         bool *immediate);
/* RFC 2883: a duplicate [left, right) arrived; report it in the next ACK. */
void tcp_reasm_note_duplicate(struct synack_tcp *c, uint32_t left, uint32_t right);
/* Fills up to `max` SACK blocks for an outgoing ACK: a pending D-SACK first (RFC 2883
 * §4), then the block holding the latest segment, then the others by recency (RFC 2018 §4). */
unsigned tcp_reasm_sack_blocks(struct synack_tcp *c, struct wire_tcp_sack_block *out, unsigned max);

/* ---- tcp/recovery.c: ACK processing for loss recovery and congestion control ---- */
/* Everything an acceptable ACK means for the sender: SACK, RACK, dupacks, recovery,
 * congestion control, RTT, timers. `seg` is the ACK. */
void tcp_recovery_on_ack(struct synack_tcp *c, const struct wire_tcp_repr *seg, synack_time_t now);
/* Loss detected: enter fast recovery (RFC 6675 §5 step (4), RFC 6582 §3.2 step 2). */
void tcp_recovery_enter(struct synack_tcp *c, synack_time_t now);
/* The retransmission timer expired with data outstanding (RFC 6298 (5.4)-(5.6)). */
void tcp_recovery_on_rto(struct synack_tcp *c, synack_time_t now);
/* Arms or stops the probe timeout after a send or an ACK (RFC 8985 §7.2). */
void tcp_tlp_arm(struct synack_tcp *c, synack_time_t now);
/* Reports a congestion-control phase change as SYNACK_EV_CC. */
void tcp_phase_update(struct synack_tcp *c, synack_time_t now);
/* The right edge of the peer's window: SND.WND counts from the SEG.ACK it came with
 * (SND.WL2). An ACK whose window is not taken (an old segment, RFC 9293 §3.10.7.4) still
 * moves SND.UNA, and SND.UNA + SND.WND would then run past what the peer offered. */
static inline uint32_t tcp_snd_wnd_end(const struct synack_tcp *c)
{
    return c->snd_wl2 + c->snd_wnd;
}
/* Bytes sent but not cumulatively acknowledged. */
static inline uint32_t tcp_flight(const struct synack_tcp *c)
{
    return c->snd_nxt - c->snd_una;
}

/* The sequence space a segment occupies: data plus one for SYN and one for FIN. */
static inline uint32_t tcp_seg_len(const struct wire_tcp_repr *seg)
{
    return (uint32_t)seg->payload_len + ((seg->flags & WIRE_TCP_SYN) ? 1u : 0u) +
           ((seg->flags & WIRE_TCP_FIN) ? 1u : 0u);
}

/* RFC 9293 §3.10.7.4, first check: whether a segment occupying `len` sequence numbers from
 * `seq` is acceptable to a receiver at RCV.NXT `nxt` with window `wnd`. One deviation, as
 * Linux's tcp_sequence(): a zero-length segment exactly at the right edge (RCV.NXT +
 * RCV.WND) is acceptable. A sender that filled our window sends its pure ACKs there; the
 * table's strict bound would throw their ACK fields away until the hole before them is
 * repaired, and two ends that each throw the other's ACKs away can wait for ever. It adds
 * one sequence number to what a blind attacker may hit. */
static inline bool tcp_seq_acceptable(uint32_t seq, uint32_t len, uint32_t nxt, uint32_t wnd)
{
    if (len == 0) return seq_in(seq, nxt, nxt + wnd) || seq == nxt + wnd;
    if (wnd == 0) return false;
    return seq_in(seq, nxt, nxt + wnd) || seq_in(seq + len - 1, nxt, nxt + wnd);
}

/* A retransmission of the peer's FIN, the one RCV.NXT already counts: in TIME-WAIT it
 * restarts 2*MSL. Only that one: a FIN anywhere else would let a blind attacker keep the
 * 4-tuple in TIME-WAIT for ever. */
static inline bool tcp_is_old_fin(const struct wire_tcp_repr *seg, uint32_t rcv_nxt)
{
    return (seg->flags & WIRE_TCP_FIN) && seg->seq + (uint32_t)seg->payload_len + 1 == rcv_nxt;
}

/* Synchronized states: our SYN and theirs have both been seen (RFC 9293 §3.5). */
static inline bool tcp_is_synchronized(enum synack_state s)
{
    return s >= SYNACK_ESTABLISHED;
}

#endif
