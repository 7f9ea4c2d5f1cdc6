/*
 * What the fuzz targets share (shared/FUZZING.md): a reader over the input, a counting
 * allocator with a cap (unbounded growth is a finding, not a slow run), and a scripted peer
 * that builds valid packets and learns, from what the stack sends, where each 4-tuple's
 * sequence numbers are, so that the fuzzer's small numbers land inside windows.
 */
#ifndef SYNACK_FUZZ_COMMON_H
#define SYNACK_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

#include "testaddr.h"
#include "wire/wire.h"

/* libFuzzer's entry point; fuzz/replay.c calls it for every corpus file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- input ---- */
struct fz_in {
    const uint8_t *p;
    size_t n;
};
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
/* Up to `max` bytes (fewer at the end of the input); *len says how many. */
const uint8_t *fz_bytes(struct fz_in *in, size_t max, size_t *len);

/* "fuzz_TARGET: WHAT" on stderr and abort() unless `ok`: a property the target checks. */
void fz_check(const char *target, bool ok, const char *what);

/* Makes an IPv4 header's Total Length the packet's length and its header checksum right, so
 * that a parser looks past them; anything that is not an IPv4 header whose IHL fits is left
 * alone. */
void fz_repair_ipv4_header(uint8_t *pkt, size_t len);

/* ---- memory: the stack's allocator hooks ---- */
struct fz_mem {
    size_t live, peak, cap;
};
/* Sets cfg->alloc/free/alloc_ctx to count into `m`; the run aborts past m->cap bytes. */
void fz_mem_hook(struct synack_config *cfg, struct fz_mem *m, size_t cap);

/* ---- the scripted peer ---- */
#define FZ_LOCAL 0xc6120001u  /* 198.18.0.1: the stack under test */
#define FZ_REMOTE 0xc6120002u /* 198.18.0.2: the peer */
#define FZ_TUPLES 16

/* What the peer knows of one 4-tuple, learnt from the stack's segments. */
struct fz_tuple {
    bool used;
    uint16_t lport, rport; /* the stack's port, the peer's port */
    uint32_t stack_nxt;    /* highest SEQ + LEN the stack sent: what the peer would ACK */
    uint32_t peer_nxt;     /* the stack's last ACK: the peer's next sequence number */
    uint32_t stack_tsval;  /* the stack's last TSval (the peer echoes it) */
    uint32_t peer_tsval;   /* the TSval the peer sends next (grows) */
    uint16_t stack_wnd;
};

struct fz_peer {
    struct synack_stack *s;
    synack_time_t now;
    struct synack_addr local, remote; /* the stack's address and the peer's: one family */
    struct fz_tuple t[FZ_TUPLES];
    uint64_t out_packets;
    unsigned tx; /* SYNACK_TX_* the output is taken with, as a link with those offloads */
};

/* The tuple for (lport, rport), created if new (NULL when the table is full). */
struct fz_tuple *fz_tuple(struct fz_peer *p, uint16_t lport, uint16_t rport);
/* FZ_LOCAL / FZ_REMOTE, or 2001:db8::1 / 2001:db8::2: the run's family. */
void fz_peer_addrs(struct fz_peer *p, bool v6);
/* Sends `seg` from the peer (p->remote -> p->local), checksums correct. */
int fz_send(struct fz_peer *p, struct wire_tcp_repr *seg);
/* Pulls every packet the stack has (synack_stack_output_offload with p->tx, the partial
 * checksums finished as the link would), learning from each (and answering nothing). Aborts
 * when a segment left for the link to cut is not at least two pieces with a partial sum. */
void fz_drain(struct fz_peer *p);
/* What the peer learns from one packet the stack sent (fz_drain does it for each). */
void fz_learn(struct fz_peer *p, const uint8_t *pkt, size_t len);
/* Takes every queued event; returns how many ACCEPTABLE ones came. */
unsigned fz_events(struct fz_peer *p);
/* A whole handshake from the peer's port `rport` to the stack's `lport` (a listener
 * there): SYN (with the options given), the stack's SYN-ACK, the ACK. */
void fz_handshake(struct fz_peer *p, uint16_t lport, uint16_t rport, bool ts, bool sack,
                  int wscale);

#endif
