/*
 * The ladder diagram of `synack demo`: every segment of the simulated run as an arrow
 * between the client's line (left) and the server's (right), labelled with what it is in
 * TCP's story (tests/harness/annotate.h), its options, and each side's state changes next
 * to the packet that caused them. Long runs keep the first and the last lines.
 */
#ifndef SYNACK_LADDER_H
#define SYNACK_LADDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "annotate.h"
#include "progress.h"

#define LADDER_TAIL 24 /* lines kept at the end */

struct ladder_line {
    synack_time_t t;
    char text[240];
};

struct ladder {
    FILE *out; /* where the lines go: stdout (ladder_init), or the demo's page */
    bool quiet;
    bool ipv6;   /* the ends' addresses in the header */
    bool zh;     /* the labels in Chinese */
    bool states; /* print state changes on the ladder */
    bool edges;  /* label bare ACKs with the window they offer, [ack, right edge) */
    struct annotator a;
    struct progress *bar; /* a progress line on the terminal, erased before each line, or NULL */
    int handshake_step;   /* last handshake step labelled (0..3) */
    unsigned syn_sides;   /* bit per side that sent a bare SYN */
    int close_step;       /* last close step labelled (0..4) */
    int fin_side[2];      /* which side sent the first and the second FIN (-1: none) */
    uint32_t fin_seq[2];
    uint64_t total;       /* lines seen */
    synack_time_t last_t; /* of the last line: lines never go back in time */
    uint64_t elided;
    /* The tail ring: the last LADDER_TAIL lines of a long transfer. */
    struct ladder_line tail[LADDER_TAIL];
    size_t tail_len, tail_head;
};

/* `zh`: the labels in Chinese (TCP's names, flags and states as they are). */
void ladder_init(struct ladder *L, bool quiet, bool ipv6, bool zh);
/* A synack_sim_observer_fn: ctx is the ladder. */
void ladder_observe(void *ctx, const struct synack_sim_packet *ev);
/* The scenario's on_state: ctx is the ladder. */
void ladder_state(void *ctx, char side, enum synack_state from, enum synack_state to,
                  synack_time_t t);
/* A line of `text` on side `side`'s line (0 client, 1 server) at `t`: a socket call. */
void ladder_note(struct ladder *L, int side, synack_time_t t, const char *text);
/* The scenario's on_call: a socket call as a mark on its side's line. ctx is the ladder. */
void ladder_call(void *ctx, char side, const char *call, int rc, synack_time_t t);
/* Prints the kept tail of a long ladder. */
void ladder_flush(struct ladder *L);
/* The notation, printed under a ladder (in Chinese when `zh`). */
void ladder_legend(bool zh);

#endif
