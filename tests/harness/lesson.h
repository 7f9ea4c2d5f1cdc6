/*
 * The lessons of `synack demo --scenario NAME`: each a story on the demo's simulated path
 * (tests/harness/scenario.c) told to show one thing about TCP, with an explanation in
 * English and in Chinese. A lesson has one or two acts (`close` shows the client closing
 * first, then the server). The demo prints each act's ladder; tests/sim/test_lessons.c
 * runs the same acts through lesson_record() and asserts that the events of the lesson
 * happen, so the ladder a learner reads is the one the tests check.
 */
#ifndef SYNACK_LESSON_H
#define SYNACK_LESSON_H

#include <stddef.h>

#include "annotate.h"
#include "attack.h"
#include "framing.h"
#include "scenario.h"
#include "tunnel.h"
#include "udpstory.h"

#define LESSON_MAX_ACTS 2

enum lesson_lang { LESSON_EN, LESSON_ZH, LESSON_LANG_COUNT };

struct lesson_act {
    const char *caption[LESSON_LANG_COUNT];      /* one line above the act's ladder */
    void (*setup)(struct scenario_opts *o);      /* on top of scenario_opts_default */
    void (*udp_setup)(struct udp_story_opts *o); /* instead: a UDP act (udp_story_run) */
    void (*flood_setup)(struct flood_opts *o);   /* instead: a SYN flood (flood_run) */
    void (*tunnel_setup)(struct tunnel_opts *o); /* instead: TCP over UDP (tunnel_run) */
};

struct lesson {
    const char *name;                       /* what --scenario takes */
    const char *title[LESSON_LANG_COUNT];   /* one line */
    const char *explain[LESSON_LANG_COUNT]; /* printed under the ladder; lines end in \n */
    struct lesson_act acts[LESSON_MAX_ACTS];
    size_t nacts;
    bool cwnd_plot;    /* the story is the client's cwnd over time: plotted, not laddered */
    bool window_edges; /* the ladder gives each bare ACK's window as [left, right) */
};

#define LESSON_SAMPLES 240 /* cwnd samples of a cwnd_plot lesson */

/* The keepalive lesson's second act: a PING every interval, the path cut at CUT_AT, each
 * end giving the other up after MISSES silent intervals. */
#define LESSON_HEARTBEAT_INTERVAL SYNACK_S(2)
#define LESSON_HEARTBEAT_MISSES 3
#define LESSON_HEARTBEAT_CUT_AT SYNACK_S(5)

/* Every lesson, in teaching order. */
size_t lesson_count(void);
const struct lesson *lesson_at(size_t i);
/* The lesson called `name`, or NULL. */
const struct lesson *lesson_find(const char *name);
/* "en" or "zh" into `out`: 0, or -1 for another name. */
int lesson_lang_parse(const char *name, enum lesson_lang *out);

/* Fills `o` with the defaults and act `act` of lesson `l` on top. */
void lesson_setup(const struct lesson *l, size_t act, struct scenario_opts *o);
/* The same for a UDP act (acts[act].udp_setup set), a SYN flood (flood_setup) and TCP over
 * UDP (tunnel_setup). */
void lesson_udp_setup(const struct lesson *l, size_t act, struct udp_story_opts *o);
void lesson_flood_setup(const struct lesson *l, size_t act, struct flood_opts *o);
void lesson_tunnel_setup(const struct lesson *l, size_t act, struct tunnel_opts *o);

/* What a run of one act showed: every packet event annotated and every state change. */
struct lesson_event {
    bool is_state;
    const char *call;     /* a socket call ("close()", ...; see scenario_opts.on_call), or NULL */
    int rc;               /* the call's result */
    struct annotated pkt; /* neither a state nor a call; pkt.seg.payload is NULL */
    int side;             /* a state or a call: 0 client, 1 server */
    enum synack_state from, to;
    synack_time_t t;
};

#define LESSON_MAX_READS 64

/* The server application's reads of a lesson whose client sends messages, and what the
 * length-prefix decoder made of them (when framed). */
struct lesson_reads {
    struct lesson_read {
        synack_time_t t;
        uint64_t off; /* of its first byte in the stream */
        size_t len;
    } read[LESSON_MAX_READS];
    size_t n;
    uint64_t total;
    struct frame_decoder dec;
    size_t decoded[SCENARIO_MAX_MESSAGES]; /* each decoded message's length */
    size_t ndecoded;
    bool decoded_intact; /* every decoded message is one letter, the next one's */
};

void lesson_reads_init(struct lesson_reads *rd);
/* A scenario_opts.on_read: ctx is a struct lesson_reads. */
void lesson_reads_on_read(void *ctx, const uint8_t *data, size_t n, synack_time_t t);
/* What read `i` holds, in `o`'s messages: "message 1 whole", "messages 2 and 3 whole (glued),
 * the start of 4 (split)", ... */
void lesson_read_describe(const struct scenario_opts *o, const struct lesson_read *rd, char *out,
                          size_t cap);

struct lesson_log {
    struct annotator a;
    struct lesson_event *ev;
    size_t n, cap;
    struct scenario_sample *samples; /* cwnd_plot lessons: LESSON_SAMPLES of them */
    struct lesson_reads *reads;      /* lessons with messages */
};

/* Runs act `act` of `l` (lesson_setup, then scenario_run) recording into `log`, which the
 * caller frees with lesson_log_free. Returns scenario_run's result, or INVAL for an act
 * that is not TCP. */
int lesson_record(const struct lesson *l, size_t act, struct lesson_log *log,
                  struct scenario_result *r, char *err, size_t errcap);
void lesson_log_free(struct lesson_log *log);

#endif
