/*
 * What a learner needs to know about each packet of a two-stack run: which side sent it,
 * its sequence numbers relative to each side's ISN, and what it is in TCP's story (a
 * retransmission, the nth duplicate ACK, a zero window, a window update, a window probe,
 * a keepalive). `synack demo` draws its ladder from these views and the lesson tests
 * count them, so what a test asserts is what the ladder shows.
 *
 * The annotator only watches the links (a simulator observer) and the state changes the
 * scenario reports; it never looks inside a stack.
 */
#ifndef SYNACK_ANNOTATE_H
#define SYNACK_ANNOTATE_H

#include <stdbool.h>
#include <stdint.h>

#include <synack/link.h>
#include <synack/synack.h>

/* What a segment is, beyond its flags (bits of annotated.notes). */
enum {
    NOTE_RETRANSMISSION = 1u << 0, /* sequence space its sender had sent before */
    NOTE_DUP_ACK = 1u << 1,        /* same ACK, same window, data outstanding: see dup_ack */
    NOTE_ZERO_WINDOW = 1u << 2,    /* advertises a window of 0: the receiver's buffer is full */
    NOTE_WINDOW_UPDATE = 1u << 3,  /* a bare ACK whose only news is a larger window */
    NOTE_WINDOW_PROBE = 1u << 4,   /* data sent into the peer's zero window (persist timer) */
    NOTE_KEEPALIVE = 1u << 5,      /* SND.NXT - 1, no data, on an idle connection */
    NOTE_SIMOPEN_SYNACK = 1u << 6, /* a simultaneous open's SYN-ACK: repeats the SYN's
                                      sequence number, is no retransmission */
    NOTE_FROM_TIME_WAIT = 1u << 7, /* sent by a side in TIME_WAIT (the ACK of a FIN again) */
    NOTE_FILLS_WINDOW = 1u << 8,   /* data that reaches the right edge the peer last offered */
};

/* One packet event of the links, annotated. */
struct annotated {
    enum synack_sim_packet_kind kind; /* SENT, DELIVERED, or a loss (LOST, DROPPED, QUEUE_FULL) */
    synack_time_t t;
    uint64_t number;           /* of the packet on its link */
    int side;                  /* who sent it: 0 the client, 1 the server */
    struct synack_segment seg; /* payload points into the packet: valid only during the call */
    struct synack_segment_extra extra; /* SACK-permitted and the SACK blocks */
    uint32_t rel_seq, rel_ack;         /* relative to the sender's and the receiver's ISN */
    uint32_t rel_edge;                 /* ACKs: ack + the window scaled, relative to the receiver's
                                          ISN: the right edge of what the receiver may be sent */
    bool rel_ack_known;                /* the receiver's ISN was seen */
    unsigned notes;                    /* NOTE_* (SENT only) */
    unsigned dup_ack;                  /* with NOTE_DUP_ACK: 1 for the first duplicate, ... */
    enum synack_state rx_state;        /* DELIVERED: the receiver's state when it arrived */
};

struct annotator {
    uint32_t iss[2];
    bool have_iss[2];
    uint32_t max_end[2]; /* highest sequence number sent + 1, per side */
    bool sent_any[2];
    bool sent_synack[2];
    bool sent_syn[2];
    int wscale[2];    /* the shift each side offered in its SYN, -1 before / without */
    uint32_t edge[2]; /* the right edge each side last offered (absolute sequence) */
    bool have_edge[2];
    uint32_t last_ack[2]; /* the last ACK field each side sent (bare ACKs and data) */
    uint16_t last_win[2]; /* and its window field */
    bool have_last[2];
    unsigned dups[2];     /* duplicate ACKs in a row */
    uint16_t seen_win[2]; /* the window field of the last segment delivered to each side */
    bool have_seen_win[2];
    enum synack_state state[2];
    /* The last packet delivered to each side: what a state change at that instant answers. */
    synack_time_t delivered_t[2];
    uint8_t delivered_flags[2];
    bool have_delivered[2];
};

void annotator_init(struct annotator *a);

/* Annotates one simulator event into `out`. Returns false for events a ladder skips
 * (not TCP, duplicated, reordered, ...). */
bool annotator_packet(struct annotator *a, const struct synack_sim_packet *ev,
                      struct annotated *out);

/* What caused a state change, as far as the links and the applications show. */
enum annotate_cause {
    CAUSE_NONE,            /* another timer, or nothing seen */
    CAUSE_CONNECT,         /* CLOSED -> SYN_SENT */
    CAUSE_LISTEN,          /* -> LISTEN */
    CAUSE_LISTENER_CLOSES, /* LISTEN -> CLOSED */
    CAUSE_APP_CLOSES,      /* -> FIN_WAIT_1 or LAST_ACK */
    CAUSE_ABORT,           /* CLOSED with no RST arriving and not from a closing state */
    CAUSE_ARRIVING,        /* the segment delivered to that side at that instant */
    CAUSE_2MSL,            /* TIME_WAIT's 2*MSL expiring */
};

/* A state change of side `side` (0 client, 1 server) at `t`: records it and returns what
 * caused it. With CAUSE_ARRIVING, *flags (when not NULL) is the arriving segment's. */
enum annotate_cause annotator_state(struct annotator *a, int side, enum synack_state from,
                                    enum synack_state to, synack_time_t t, uint8_t *flags);

/* "mss 1460, wscale 7, sackOK, TS", "SACK 2897-4345", ... the options of `x` worth
 * showing, the SACK blocks relative to the data sender's ISN. */
size_t annotate_options(const struct annotator *a, const struct annotated *x, char *out,
                        size_t cap);

#endif
