/*
 * The TCB (RFC 9293 §3.3.1) and the TCP engine's internal interface.
 */
#ifndef SYNACK_TCP_CONN_H
#define SYNACK_TCP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/synack.h>

#include "base/ring.h"
#include "base/seq.h"
#include "base/timers.h"
#include "wire/wire.h"

struct synack_stack;

/* RFC 9293 §3.7.1: the MSS assumed when the peer sends no MSS option. */
#define TCP_DEFAULT_MSS 536
/* Without window scaling (its own issue) the window field caps the receive window. */
#define TCP_MAX_WINDOW 65535u

/* Per-connection flags. */
enum {
    TCP_F_PASSIVE = 1u << 0,        /* created by a listener (passive open) */
    TCP_F_RELEASED = 1u << 1,       /* the application closed or aborted it: free at CLOSED */
    TCP_F_FIN_QUEUED = 1u << 2,     /* shutdown/close: send FIN at fin_seq after the data */
    TCP_F_ACK_NOW = 1u << 3,        /* an ACK must go out at the next output */
    TCP_F_RCV_FIN = 1u << 4,        /* the peer's FIN was received (rcv_nxt counts it) */
    TCP_F_ACCEPTED = 1u << 5,       /* taken from the accept queue by the application */
    TCP_F_IN_ACCEPTQ = 1u << 6,     /* waiting in its listener's accept queue */
    TCP_F_RTT_TIMING = 1u << 7,     /* rtt_seq/rtt_start time an unretransmitted segment */
    TCP_F_SND_WND_SET = 1u << 8,    /* snd_wnd has been taken from a segment */
    TCP_F_PROBE = 1u << 9,          /* persist timer fired: send one byte past a zero window */
    TCP_F_WANT_WRITABLE = 1u << 10, /* send() found the buffer full: report space freed */
};

struct synack_tcp {
    struct timer_node timer;      /* in the stack's deadline heap; at = earliest of below */
    struct synack_tcp *hash_next; /* 4-tuple demux chain */
    struct synack_tcp *all_prev, *all_next; /* every connection the stack allocated */
    struct synack_tcp *out_next;            /* output-pending list */
    bool in_out_list;
    struct synack_tcp *lq_next; /* listener's SYN queue or accept queue */
    struct synack_stack *stack;
    struct synack_listener *listener; /* for passive opens until accepted */
    uint64_t id;
    void *user;
    uint32_t flags;
    int err; /* SYNACK_ERR_* the connection failed with, or 0 */
    enum synack_state state;

    uint32_t local_addr, remote_addr;
    uint16_t local_port, remote_port;

    /* Send sequence space (RFC 9293 §3.3.1, Figure 3). snd_nxt is the RFC's SND.NXT, the
     * highest sequence sent plus one; snd_rtx is where retransmission resumes after an
     * RTO (snd_una <= snd_rtx <= snd_nxt; equal to snd_nxt when nothing is to resend). */
    uint32_t iss, snd_una, snd_nxt, snd_rtx, snd_wl1, snd_wl2;
    uint32_t snd_wnd;
    uint32_t max_snd_wnd; /* largest window the peer ever offered (RFC 5961 §5.2) */
    uint32_t fin_seq;     /* sequence number of our FIN, valid with TCP_F_FIN_QUEUED */
    uint32_t sndq_seq;    /* sequence number of the first byte held in sndq */

    /* Receive sequence space (RFC 9293 §3.3.1, Figure 4). */
    uint32_t irs, rcv_nxt;
    uint32_t rcv_adv; /* right edge last advertised: rcv_nxt + window (never shrinks) */

    uint16_t snd_mss; /* RFC 9293 §3.7.1: min(peer's MSS or 536, our MTU - 40) */
    uint16_t rcv_mss; /* the MSS we offer: MTU - 40 */

    struct ring sndq; /* unacknowledged and unsent data, from sndq_seq */
    struct ring rcvq; /* in-order data the application has not read */

    /* Timers: each a deadline, SYNACK_NEVER when idle (ARCHITECTURE: the TCB's timers). */
    synack_time_t rto_at;      /* retransmission (also persist while the window is 0) */
    synack_time_t timewait_at; /* 2*MSL in TIME_WAIT */

    /* RFC 6298 state. */
    synack_time_t srtt, rttvar, rto;
    bool have_rtt;
    unsigned backoff; /* RFC 6298 (5.5): doublings of the RTO since the last progress */
    unsigned retries; /* expiries since the peer was last heard acknowledging */
    bool persist;     /* rto_at is the persist timer (zero window, nothing in flight) */
    uint32_t rtt_seq; /* ACK of this sequence number completes the timed sample */
    synack_time_t rtt_start;

    struct synack_counters counters;
};

struct synack_listener {
    struct synack_listener *next; /* in the stack's listener list */
    struct synack_stack *stack;
    uint64_t id;
    void *user;
    uint16_t port;
    unsigned backlog;
    unsigned syn_count, accept_count;
    struct synack_tcp *synq;    /* half-open (SYN_RECEIVED), newest first */
    struct synack_tcp *acceptq; /* established, oldest first */
};

/* ---- tcp/input.c ---- */
/* Processes one parsed segment addressed to this stack. */
void tcp_input(struct synack_stack *s, const struct wire_ipv4_repr *ip,
               const struct wire_tcp_repr *seg, synack_time_t now);

/* ---- tcp/output.c ---- */
/* Builds the next segment `c` wants to send into `buf` (an IPv4 packet); returns its
 * length, 0 if the connection has nothing to send, or SYNACK_ERR_BUFSZ. */
synack_ssize tcp_output(struct synack_tcp *c, uint8_t *buf, size_t cap, synack_time_t now);
/* The receive window to advertise now (RFC 9293 §3.8.6.2.2: never shrinks the edge). */
uint32_t tcp_rcv_window(const struct synack_tcp *c);

/* After the application read: whether the larger window is worth a window update; if so
 * marks the connection to send one. */
bool tcp_should_update_window(struct synack_tcp *c);

/* ---- tcp/timer.c ---- */
/* Recomputes the connection's earliest deadline in the stack's heap. */
void tcp_timer_update(struct synack_tcp *c);
/* Runs the connection's due timers. */
void tcp_timer_expired(struct synack_tcp *c, synack_time_t now);
/* (Re)starts the retransmission timer at now + rto (RFC 6298 (5.1), (5.3)). */
void tcp_rto_arm(struct synack_tcp *c, synack_time_t now);
void tcp_rto_stop(struct synack_tcp *c);
/* RFC 9293 §3.8.6.1: arms the persist timer when data waits behind a zero window and
 * nothing is in flight to bring a window update back. */
void tcp_persist_check(struct synack_tcp *c, synack_time_t now);
/* Enters TIME_WAIT and starts the 2*MSL timer (RFC 9293 §3.10.7.4, eighth step). */
void tcp_enter_time_wait(struct synack_tcp *c, synack_time_t now);
/* RFC 6298 (5.7): raises the RTO to 3 s if the SYN had to be retransmitted. */
void tcp_rto_after_handshake(struct synack_tcp *c);
/* RFC 6298 (2.2)/(2.3): feeds one RTT measurement. */
void tcp_rtt_sample(struct synack_tcp *c, synack_time_t rtt);

/* ---- tcp/conn.c ---- */
/* The one place where a connection changes state; queues SYNACK_EV_STATE. */
void tcp_set_state(struct synack_tcp *c, enum synack_state next, synack_time_t now);
/* Allocates a connection in CLOSED (or LISTEN for a passive open) with its buffers. */
struct synack_tcp *tcp_conn_new(struct synack_stack *s, uint32_t local_addr, uint16_t local_port,
                                uint32_t remote_addr, uint16_t remote_port);
/* Enters CLOSED for good: stops timers, records `err` (0 for a normal close), queues the
 * ERROR and CLOSED events, and frees the connection if the application released it. */
void tcp_conn_finish(struct synack_tcp *c, int err, synack_time_t now);
/* Frees without events (stack teardown, a half-open connection reset back to LISTEN). */
void tcp_conn_destroy(struct synack_tcp *c);
/* Asks the stack to call tcp_output for this connection. */
void tcp_schedule_output(struct synack_tcp *c);
/* RFC 6528: the ISN for this 4-tuple at `now`. */
uint32_t tcp_isn(const struct synack_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                 uint16_t rport, synack_time_t now);
/* Sends <SEQ=seq><ACK=ack><CTL=flags> without a TCB (RSTs for closed ports, aborts). */
void tcp_send_rst(struct synack_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                  uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack);
/* RFC 9293 §3.7.1: the MSS to send with, from the peer's SYN (536 without the option). */
uint16_t tcp_peer_mss(const struct synack_tcp *c, const struct wire_tcp_repr *syn);
/* RFC 5961 §7: true if a challenge ACK may be sent now (rate limit), counting either way. */
bool tcp_challenge_ack_allowed(struct synack_tcp *c, synack_time_t now);
/* Increment a counter on the connection and on its stack. */
#define TCP_COUNT(c, field) tcp_count((c), offsetof(struct synack_counters, field))
void tcp_count(struct synack_tcp *c, size_t offset);
void tcp_count_drop(struct synack_tcp *c, enum synack_drop reason);

/* ---- tcp/user.c ---- */
/* Active open of a fresh TCB: ISS, SYN queued, SYN-SENT. */
void tcp_active_open(struct synack_tcp *c, synack_time_t now);

/* ---- tcp/listen.c ---- */
/* A SYN reached a listener: creates the half-open connection (LISTEN -> SYN_RECEIVED). */
/* `iss_floor`, if not NULL, is a sequence number the new ISS must exceed (a connection
 * reopened from TIME_WAIT, RFC 1122 §4.2.2.13). */
void tcp_listen_input(struct synack_listener *l, const struct wire_ipv4_repr *ip,
                      const struct wire_tcp_repr *seg, synack_time_t now,
                      const uint32_t *iss_floor);
/* True if a SYN arriving now would get a connection (queues and connection limit);
 * `frees_one` when a connection is about to be freed to make room. */
bool tcp_listen_has_room(const struct synack_listener *l, bool frees_one);
/* A passive connection became ESTABLISHED: moves it to the accept queue. Returns false if
 * the accept queue is full (the caller drops the segment and stays in SYN_RECEIVED). */
bool tcp_listen_established(struct synack_tcp *c, synack_time_t now);
/* Unlinks a passive connection from its listener's queues. */
void tcp_listen_unlink(struct synack_tcp *c);

/* The sequence space a segment occupies: data plus one for SYN and one for FIN. */
static inline uint32_t tcp_seg_len(const struct wire_tcp_repr *seg)
{
    return (uint32_t)seg->payload_len + ((seg->flags & WIRE_TCP_SYN) ? 1u : 0u) +
           ((seg->flags & WIRE_TCP_FIN) ? 1u : 0u);
}

/* Synchronized states: our SYN and theirs have both been seen (RFC 9293 §3.5). */
static inline bool tcp_is_synchronized(enum synack_state s)
{
    return s >= SYNACK_ESTABLISHED;
}

#endif
