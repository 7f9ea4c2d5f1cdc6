/*
 * Segment-level TCP fixture: one synack stack at 198.18.0.1 and a scripted peer at
 * 198.18.0.2. The test plays the peer: it sends hand-built segments at time T and expects
 * exactly these segments back, or nothing (smoltcp's send!/recv! style, ARCHITECTURE.md).
 */
#ifndef SYNACK_TCPFIX_H
#define SYNACK_TCPFIX_H

#include <synack/synack.h>

#include "harness.h"
#include "wire/wire.h"

#define FIX_LOCAL 0xc6120001u  /* 198.18.0.1: the stack under test */
#define FIX_REMOTE 0xc6120002u /* 198.18.0.2: the scripted peer */
/* With an IPv6 stack (fix_use_ipv6): 2001:db8::1 and 2001:db8::2. */
#define FIX_LOCAL6_LAST 1
#define FIX_REMOTE6_LAST 2
#define FIX_LPORT 80
#define FIX_RPORT 40000
#define FIX_PEER_ISS 1000u
#define FIX_MAX_EVENTS 256

struct fix {
    struct synack_stack *s;
    struct synack_addr local, remote; /* the stack's address and the scripted peer's */
    struct synack_config cfg;
    synack_time_t now;
    struct synack_tcp *c;      /* the connection under test */
    struct synack_listener *l; /* the listener, for passive opens */
    uint16_t lport, rport;     /* the connection's ports (lport is the stack's) */
    uint32_t iss;              /* the stack's ISS, learned from its SYN */
    uint32_t peer_nxt;         /* the peer's next sequence number */
    uint32_t peer_ack;         /* what the peer acknowledges (the stack's next seq) */
    uint16_t peer_wnd;         /* the window fix_send advertises (65535) */
    uint16_t peer_mss;         /* the MSS option of the peer's SYN or SYN-ACK; 0: none */
    /* Options the scripted peer offers in its SYN (none by default, so the tests of other
     * rules see plain segments): */
    int peer_wscale;            /* window-scale shift offered, or -1 for no option */
    bool peer_sack;             /* SACK-permitted */
    bool peer_ts;               /* timestamps: then fix_send adds TSval = peer_tsval, TSecr = */
    uint32_t peer_tsval;        /* the last TSval the stack sent (last_tsval) */
    uint32_t last_tsval;        /* TSval of the last segment fix_recv returned */
    uint8_t last_payload[2048]; /* payload of the last segment fix_recv returned */
    struct synack_event events[FIX_MAX_EVENTS];
    size_t nevents;
};

/* 2001:db8::LAST. */
struct synack_addr fix_addr6(uint8_t last);
/* A tweak (or part of one) that makes the fixture IPv6: the stack at 2001:db8::1, the
 * peer at 2001:db8::2. */
void fix_use_ipv6(struct synack_config *cfg);
/* A stack with the default configuration except what `tweak` changes (may be NULL). The
 * stack's address is FIX_LOCAL and the peer's FIX_REMOTE unless the tweak gives the stack
 * an IPv6 address first (fix_use_ipv6). */
void fix_init(struct fix *f, void (*tweak)(struct synack_config *));
void fix_free(struct fix *f);

/* The peer sends one segment: ports, flags, seq, ack, window, payload. */
void fix_send(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack, const void *data,
              size_t len);
/* A bare ACK from the peer: <SEQ=peer_nxt><ACK=ack>. */
void fix_peer_ack(struct fix *f, uint32_t ack);
/* Queues n bytes of 'r' on the connection (all must fit the send buffer). */
void fix_queue(struct fix *f, size_t n);
/* The connection's synack_tcp_info. */
struct synack_tcp_info fix_info(struct fix *f);
/* Asserts the stack's next deadline is exactly `at`. */
void fix_expect_deadline(struct fix *f, synack_time_t at);
/* A bare ACK from the peer carrying SACK blocks: blocks[2i], blocks[2i+1] = left, right. */
void fix_send_sack(struct fix *f, uint32_t ack, const uint32_t *blocks, unsigned nblocks);
/* Like fix_send with full control over the repr (options). */
void fix_send_repr(struct fix *f, struct wire_tcp_repr *seg);
/* Sends raw packet bytes; returns synack_stack_input's result. */
int fix_send_raw(struct fix *f, const uint8_t *pkt, size_t len);
/* The peer sends one IP packet of f->local's family carrying `body`: `ip` gives the protocol
 * and, when wanted, the identification and fragment fields; the source (f->remote), the
 * destination (f->local), TTL 64 and the payload length are filled in. Returns
 * synack_stack_input's result. */
int fix_send_ip(struct fix *f, struct wire_ip_repr ip, const void *body, size_t len);

/* The peer's SYN (with its window and, unless peer_mss is 0, its MSS option); with
 * `ack_ours`, a SYN-ACK of the stack's SYN. Advances peer_nxt past it. */
void fix_peer_syn(struct fix *f, bool ack_ours);

/* Pulls the stack's next packet; returns false if it has none. */
bool fix_recv(struct fix *f, struct wire_tcp_repr *out);
/* Asserts the next packet's flags, seq and ack (ack checked only with ACK set), and that it
 * carries no payload. */
void fix_expect(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack);
/* Like fix_expect for a segment with `len` payload bytes (f->last_payload holds them). */
void fix_expect_data(struct fix *f, uint8_t flags, uint32_t seq, uint32_t ack, size_t len);
/* Asserts the stack has nothing to send. */
void fix_expect_none(struct fix *f);
/* Moves time forward by dt and runs due timers. */
void fix_advance(struct fix *f, synack_time_t dt);
/* Moves time to the stack's next deadline and runs it. */
void fix_run_next_timer(struct fix *f);

/* Collects queued events into f->events; returns how many were added. */
size_t fix_events(struct fix *f);
/* True if the events seen so far contain a STATE event from -> to. */
bool fix_saw_transition(struct fix *f, enum synack_state from, enum synack_state to);
/* True if the events seen so far contain an event of `type` (and err, if err != 0). */
bool fix_saw_event(struct fix *f, enum synack_event_type type, int err);
/* The counter of drops for `reason`, stack-wide. */
uint64_t fix_drops(struct fix *f, enum synack_drop reason);

/* Fixtures that reach a state through real segments. The connection is f->c. */
void fix_syn_sent(struct fix *f);                  /* connect(): SYN out */
void fix_established_active(struct fix *f);        /* connect + SYN-ACK + our ACK */
void fix_syn_received_passive(struct fix *f);      /* listen + peer SYN + our SYN-ACK */
void fix_established_passive(struct fix *f);       /* ... + peer ACK, accepted */
void fix_syn_received_simultaneous(struct fix *f); /* SYN out, peer SYN, our SYN-ACK */
void fix_fin_wait_1(struct fix *f);                /* established, shutdown(): FIN out */
void fix_fin_wait_2(struct fix *f);                /* ... + peer ACKs our FIN */
void fix_close_wait(struct fix *f);                /* established, peer FIN, our ACK */
void fix_last_ack(struct fix *f);                  /* ... + close(): FIN out */
void fix_closing(struct fix *f);                   /* FIN out, peer FIN crosses it */
void fix_time_wait(struct fix *f);                 /* FIN_WAIT_2 + peer FIN */
/* The peer at `rport` connects to f->l (SYN, our SYN-ACK, its ACK) and the application
 * accepts: f->c, f->rport, f->peer_nxt and f->peer_ack describe that connection after. */
void fix_accept_peer(struct fix *f, uint16_t rport);
/* The application closes f->c first (f->c is NULL after) and the peer answers with ACK
 * and FIN: the released connection is in TIME_WAIT (a record, unless the table is full). */
void fix_server_closes_first(struct fix *f);

/* ---- ICMP (tests/tcp/test_icmp.c) ---- */

/* Sends the ICMP message `m` inside an IPv4 packet from `src` to `dst`; returns
 * synack_stack_input's result. */
int fix_send_icmp(struct fix *f, uint32_t src, uint32_t dst, const struct wire_icmp_repr *m);
/* Sends, from `from` (the peer, or a router), an ICMP error of `type`/`code` (with `mtu` for
 * fragmentation needed) returning a segment the stack sent on f's connection: an IPv4 header
 * 198.18.0.1 -> 198.18.0.2 with Total Length `total_len`, and the first 8 bytes of a TCP
 * header <lport, rport, seq>. Returns synack_stack_input's result. */
int fix_send_icmp_error(struct fix *f, uint32_t from, uint8_t type, uint8_t code, uint16_t mtu,
                        uint32_t seq, uint16_t total_len);
/* Pulls the stack's next packet without parsing it; returns its length, 0 if none. */
size_t fix_recv_raw(struct fix *f, uint8_t *buf, size_t cap);
/* Pulls the stack's next packet, which must be an IP packet of either family from f->local
 * to f->remote carrying `proto`: its header in *ip (the upper layer starts at
 * buf + ip->header_len); returns its length. */
size_t fix_recv_ip(struct fix *f, uint8_t *buf, size_t cap, uint8_t proto, struct wire_ip_repr *ip);

#endif
