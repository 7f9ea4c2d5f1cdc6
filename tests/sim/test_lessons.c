/* The lessons of `synack demo --scenario`: each act run through lesson_record (the code the
 * demo runs) and checked for the events its lesson is about, as the ladder labels them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lesson.h"

#define CLIENT 0
#define SERVER 1

struct run {
    struct lesson_log log;
    struct scenario_result r;
};

static struct run *record(const char *name, size_t act)
{
    const struct lesson *l = lesson_find(name);
    if (!l) fail_msg("no lesson '%s'", name);
    struct run *run = calloc(1, sizeof *run);
    assert_non_null(run);
    char err[256] = "";
    if (lesson_record(l, act, &run->log, &run->r, err, sizeof err) != 0)
        fail_msg("%s act %zu: %s", name, act, err);
    return run;
}

static void run_free(struct run *run)
{
    lesson_log_free(&run->log);
    free(run);
}

static const struct annotated *pkt_at(const struct run *run, size_t i)
{
    const struct lesson_event *e = &run->log.ev[i];
    return e->is_state || e->call ? NULL : &e->pkt;
}

/* The index of the first call `call` of `side` at or after `from`, or run->log.n. */
static size_t find_call(const struct run *run, int side, const char *call, size_t from)
{
    for (size_t i = from; i < run->log.n; i++) {
        const struct lesson_event *e = &run->log.ev[i];
        if (e->call && e->side == side && strcmp(e->call, call) == 0) return i;
    }
    return run->log.n;
}

static bool is_sent(const struct annotated *x, int side)
{
    return x && x->kind == SYNACK_SIM_SENT && x->side == side;
}

/* Segments `side` sent with every bit of `notes`. */
static size_t count_notes(const struct run *run, int side, unsigned notes)
{
    size_t n = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, side) && (x->notes & notes) == notes) n++;
    }
    return n;
}

/* The first segment `side` sent with all of `flags` set, or NULL. */
static const struct annotated *first_sent(const struct run *run, int side, uint8_t flags)
{
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, side) && (x->seg.flags & flags) == flags) return x;
    }
    return NULL;
}

static bool passes_through(const struct scenario_side *s, enum synack_state st)
{
    for (size_t i = 0; i < s->nstates; i++)
        if (s->states[i] == st) return true;
    return false;
}

/* Every lesson is told in both languages and found by its name; names are unique. */
static void lessons_are_complete(void **state)
{
    (void)state;
    assert_true(lesson_count() >= 19);
    for (size_t i = 0; i < lesson_count(); i++) {
        const struct lesson *l = lesson_at(i);
        assert_ptr_equal(lesson_find(l->name), l);
        assert_true(l->nacts >= 1 && l->nacts <= LESSON_MAX_ACTS);
        for (int lang = 0; lang < LESSON_LANG_COUNT; lang++) {
            assert_true(l->title[lang] && l->title[lang][0]);
            assert_true(l->explain[lang] && strlen(l->explain[lang]) > 100);
            for (size_t a = 0; a < l->nacts; a++)
                assert_true(l->nacts == 1 || l->acts[a].caption[lang][0]);
        }
    }
    assert_null(lesson_find("no-such-lesson"));
    enum lesson_lang lang;
    assert_int_equal(lesson_lang_parse("zh", &lang), 0);
    assert_int_equal(lang, LESSON_ZH);
    assert_int_equal(lesson_lang_parse("fr", &lang), -1);
}

/* Both SYNs carry MSS, window scale, SACK-permitted and timestamps; the third segment is
 * the bare ACK that completes the handshake. */
static void lesson_handshake(void **state)
{
    (void)state;
    struct run *run = record("handshake", 0);
    assert_true(run->r.completed);
    const struct annotated *syn = first_sent(run, CLIENT, SYNACK_TCP_SYN);
    const struct annotated *synack = first_sent(run, SERVER, SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    assert_non_null(syn);
    assert_non_null(synack);
    for (const struct annotated *x = syn; x; x = x == syn ? synack : NULL) {
        assert_true(x->seg.has_mss && x->seg.has_wscale && x->extra.sack_permitted &&
                    x->seg.has_ts);
        assert_int_equal(x->rel_seq, 0);
    }
    assert_int_equal(synack->rel_ack, 1);
    size_t sent = 0;
    for (size_t i = 0; i < run->log.n && sent < 3; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (!x || x->kind != SYNACK_SIM_SENT) continue;
        if (++sent == 3) {
            assert_int_equal(x->side, CLIENT);
            assert_int_equal(x->seg.flags, SYNACK_TCP_ACK);
            assert_int_equal(x->seg.payload_len, 0);
        }
    }
    run_free(run);
}

/* Act 1: the client closes first and waits in TIME_WAIT, the server passes CLOSE_WAIT and
 * LAST_ACK; act 2 the other way round. */
static void lesson_close(void **state)
{
    (void)state;
    for (size_t act = 0; act < 2; act++) {
        struct run *run = record("close", act);
        assert_true(run->r.completed);
        const struct scenario_side *active = act == 0 ? &run->r.client : &run->r.server;
        const struct scenario_side *passive = act == 0 ? &run->r.server : &run->r.client;
        assert_true(passes_through(active, SYNACK_FIN_WAIT_1));
        assert_true(passes_through(active, SYNACK_FIN_WAIT_2));
        assert_true(passes_through(active, SYNACK_TIME_WAIT));
        assert_true(passes_through(passive, SYNACK_CLOSE_WAIT));
        assert_true(passes_through(passive, SYNACK_LAST_ACK));
        assert_false(passes_through(passive, SYNACK_TIME_WAIT));
        run_free(run);
    }
}

/* The client's last ACK is lost; the server retransmits its FIN; the FIN arrives while the
 * client is in TIME_WAIT, and the client's ACK from TIME_WAIT lets the server close. */
static void lesson_time_wait(void **state)
{
    (void)state;
    struct run *run = record("time-wait", 0);
    assert_true(run->r.completed);
    assert_int_equal(run->r.lost, 1);
    assert_int_equal(count_notes(run, SERVER, NOTE_RETRANSMISSION), 1);
    bool fin_in_time_wait = false, answered = false;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (x && x->kind == SYNACK_SIM_DELIVERED && x->side == SERVER &&
            (x->seg.flags & SYNACK_TCP_FIN) && x->rx_state == SYNACK_TIME_WAIT)
            fin_in_time_wait = true;
        if (fin_in_time_wait && is_sent(x, CLIENT) && (x->notes & NOTE_FROM_TIME_WAIT) &&
            x->seg.flags == SYNACK_TCP_ACK && x->rel_ack == 2)
            answered = true;
    }
    assert_true(fin_in_time_wait);
    assert_true(answered);
    assert_true(passes_through(&run->r.server, SYNACK_LAST_ACK));
    assert_int_equal(run->r.server.err, 0);
    run_free(run);
}

/* Three copies of the data lost: three retransmissions by the timer, each after twice the
 * wait of the one before. */
static void lesson_retransmission(void **state)
{
    (void)state;
    struct run *run = record("retransmission", 0);
    assert_true(run->r.completed);
    synack_time_t t[4];
    size_t n = 0;
    for (size_t i = 0; i < run->log.n && n < 4; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, CLIENT) && x->seg.payload_len > 0) t[n++] = x->t;
    }
    assert_int_equal(n, 4);
    assert_int_equal(count_notes(run, CLIENT, NOTE_RETRANSMISSION), 3);
    for (size_t k = 1; k < 3; k++) {
        synack_time_t before = t[k] - t[k - 1], after = t[k + 1] - t[k];
        if (after < 2 * before - SYNACK_MS(5) || after > 2 * before + SYNACK_MS(5))
            fail_msg("RTO %zu: %.3f ms after %.3f ms, not twice", k, after / 1e6, before / 1e6);
    }
    assert_true(run->r.client.info.counters.rto_expiries >= 3);
    run_free(run);
}

/* One data segment lost: duplicate ACKs carrying SACK blocks, the third of them before the
 * retransmission, which no timeout caused. */
static void lesson_fast_retransmit(void **state)
{
    (void)state;
    struct run *run = record("fast-retransmit", 0);
    assert_true(run->r.completed);
    unsigned dups_before = 0;
    bool rtx = false;
    for (size_t i = 0; i < run->log.n && !rtx; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, SERVER) && (x->notes & NOTE_DUP_ACK)) {
            assert_true(x->extra.sack_count > 0);
            dups_before = x->dup_ack;
        }
        if (is_sent(x, CLIENT) && (x->notes & NOTE_RETRANSMISSION)) rtx = true;
    }
    assert_true(rtx);
    assert_true(dups_before >= 3);
    assert_int_equal(count_notes(run, CLIENT, NOTE_RETRANSMISSION), 1);
    assert_true(run->r.client.info.counters.fast_retransmits >= 1);
    assert_int_equal(run->r.client.info.counters.rto_expiries, 0);
    run_free(run);
}

/* The slow reader's window closes; the sender probes it; the reader's window update opens
 * it again and every byte arrives. */
static void lesson_flow_control(void **state)
{
    (void)state;
    struct run *run = record("flow-control", 0);
    assert_true(run->r.completed);
    int step = 0; /* 1: zero window seen, 2: a probe after it, 3: the update after that */
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (step == 0 && is_sent(x, SERVER) && (x->notes & NOTE_ZERO_WINDOW)) step = 1;
        if (step == 1 && is_sent(x, CLIENT) && (x->notes & NOTE_WINDOW_PROBE)) step = 2;
        if (step == 2 && is_sent(x, SERVER) && (x->notes & NOTE_WINDOW_UPDATE)) step = 3;
    }
    assert_int_equal(step, 3);
    assert_true(count_notes(run, CLIENT, NOTE_WINDOW_PROBE) >= 2);
    assert_true(run->r.client.info.counters.window_probes >= 2);
    run_free(run);
}

/* Both SYNs leave before either arrives; each SYN-ACK repeats its SYN and is told apart from
 * a retransmission, by the ladder and by the stacks' counters. */
static void lesson_simultaneous_open(void **state)
{
    (void)state;
    struct run *run = record("simultaneous-open", 0);
    assert_true(run->r.completed);
    const struct annotated *c = first_sent(run, CLIENT, SYNACK_TCP_SYN);
    const struct annotated *s = first_sent(run, SERVER, SYNACK_TCP_SYN);
    assert_non_null(c);
    assert_non_null(s);
    assert_int_equal(c->seg.flags, SYNACK_TCP_SYN);
    assert_int_equal(s->seg.flags, SYNACK_TCP_SYN);
    assert_int_equal(count_notes(run, CLIENT, NOTE_SIMOPEN_SYNACK), 1);
    assert_int_equal(count_notes(run, SERVER, NOTE_SIMOPEN_SYNACK), 1);
    assert_int_equal(count_notes(run, CLIENT, NOTE_RETRANSMISSION), 0);
    assert_int_equal(count_notes(run, SERVER, NOTE_RETRANSMISSION), 0);
    assert_int_equal(run->r.retransmissions, 0);
    assert_true(passes_through(&run->r.client, SYNACK_SYN_RECEIVED));
    assert_true(passes_through(&run->r.server, SYNACK_SYN_RECEIVED));
    run_free(run);
}

/* Both FINs leave before either arrives: both ends pass CLOSING and TIME_WAIT. */
static void lesson_simultaneous_close(void **state)
{
    (void)state;
    struct run *run = record("simultaneous-close", 0);
    assert_true(run->r.completed);
    const struct annotated *c = first_sent(run, CLIENT, SYNACK_TCP_FIN);
    const struct annotated *s = first_sent(run, SERVER, SYNACK_TCP_FIN);
    assert_non_null(c);
    assert_non_null(s);
    assert_int_equal(c->t, s->t);
    for (int side = 0; side < 2; side++) {
        const struct scenario_side *x = side ? &run->r.server : &run->r.client;
        assert_true(passes_through(x, SYNACK_CLOSING));
        assert_true(passes_through(x, SYNACK_TIME_WAIT));
    }
    run_free(run);
}

/* After the client's FIN the server still sends its answer, which arrives while the client
 * is in FIN_WAIT_2; then the server's FIN. */
static void lesson_half_close(void **state)
{
    (void)state;
    struct run *run = record("half-close", 0);
    assert_true(run->r.completed);
    assert_int_equal(run->r.reply_received, 8000);
    size_t in_fin_wait = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (x && x->kind == SYNACK_SIM_DELIVERED && x->side == SERVER && x->seg.payload_len &&
            (x->rx_state == SYNACK_FIN_WAIT_1 || x->rx_state == SYNACK_FIN_WAIT_2))
            in_fin_wait++;
    }
    assert_true(in_fin_wait >= 2);
    const struct annotated *cfin = first_sent(run, CLIENT, SYNACK_TCP_FIN);
    const struct annotated *sfin = first_sent(run, SERVER, SYNACK_TCP_FIN);
    assert_true(cfin && sfin && cfin->t < sfin->t);
    assert_int_equal(sfin->seg.payload_len, 0); /* the server closed after its answer */
    /* The calls on the ladder: the client's shutdown, then the server's end of stream, its
     * send of the answer and its close, and the client's reads of the answer. */
    size_t shut = find_call(run, CLIENT, "shutdown(SHUT_WR)", 0);
    size_t send = find_call(run, SERVER, "send()", shut);
    size_t close = find_call(run, SERVER, "close()", send);
    assert_true(shut < send && send < close && close < run->log.n);
    assert_true(find_call(run, CLIENT, "recv()", send) < close);
    run_free(run);
}

/* Act 1: a RST answers a SYN to a closed port, connect fails CONNREFUSED. Act 2: the
 * client aborts after its data was acknowledged: a RST, no FIN, CONNRESET at the server. */
static void lesson_rst(void **state)
{
    (void)state;
    struct run *run = record("rst", 0);
    const struct annotated *rst = first_sent(run, SERVER, SYNACK_TCP_RST);
    assert_non_null(rst);
    assert_true(rst->rel_ack_known && rst->rel_ack == 1);
    assert_null(first_sent(run, SERVER, SYNACK_TCP_SYN));
    assert_int_equal(run->r.client.err, SYNACK_ERR_CONNREFUSED);
    run_free(run);

    run = record("rst", 1);
    assert_true(find_call(run, CLIENT, "close() with SO_LINGER 0", 0) < run->log.n);
    assert_non_null(first_sent(run, CLIENT, SYNACK_TCP_RST));
    assert_null(first_sent(run, CLIENT, SYNACK_TCP_FIN));
    assert_null(first_sent(run, SERVER, SYNACK_TCP_RST));
    assert_int_equal(run->r.bytes_received, 100);
    assert_int_equal(run->r.server.err, SYNACK_ERR_CONNRESET);
    assert_false(passes_through(&run->r.client, SYNACK_TIME_WAIT));
    assert_false(passes_through(&run->r.server, SYNACK_TIME_WAIT));
    run_free(run);
}

/* The idle connection is probed every keepalive interval and each probe is answered. */
static void lesson_keepalive(void **state)
{
    (void)state;
    struct run *run = record("keepalive", 0);
    assert_true(run->r.completed);
    size_t probes = 0, answers = 0;
    bool waiting = false;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, CLIENT) && (x->notes & NOTE_KEEPALIVE)) {
            assert_int_equal(x->seg.payload_len, 0);
            assert_int_equal(x->rel_seq, 0); /* SND.NXT - 1 */
            probes++;
            waiting = true;
        } else if (waiting && x && x->kind == SYNACK_SIM_DELIVERED && x->side == SERVER &&
                   x->seg.flags == SYNACK_TCP_ACK) {
            answers++;
            waiting = false;
        }
    }
    assert_true(probes >= 2);
    assert_int_equal(answers, probes);
    run_free(run);
}

/* The time of the last segment of `side` carrying data that was delivered, or 0. */
static synack_time_t last_data_delivered(const struct run *run, int side)
{
    synack_time_t t = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (x && x->kind == SYNACK_SIM_DELIVERED && x->side == side && x->seg.payload_len) t = x->t;
    }
    return t;
}

/* The application heartbeat, keepalive off: PING and PONG (4 bytes each, their words
 * checked by the reader) cross until the path is cut; after it nothing arrives, and each
 * end gives the other up exactly MISSES intervals after it last heard it, long before
 * keepalive (10 s idle + 3 probes 5 s apart) of the first act would have. */
static void lesson_heartbeat(void **state)
{
    (void)state;
    struct run *run = record("keepalive", 1);
    assert_int_equal(count_notes(run, CLIENT, NOTE_KEEPALIVE), 0);
    assert_true(run->r.intact); /* every message read was "PING" or "PONG" */
    size_t pings = 0, pongs = 0, delivered_late = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct lesson_event *e = &run->log.ev[i];
        const struct annotated *x = pkt_at(run, i);
        if (e->call && strcmp(e->call, "send(\"PING\")") == 0 && e->side == CLIENT) pings++;
        if (e->call && strcmp(e->call, "send(\"PONG\")") == 0 && e->side == SERVER) pongs++;
        if (is_sent(x, SERVER) && x->seg.payload_len) assert_int_equal(x->seg.payload_len, 4);
        if (is_sent(x, CLIENT) && x->seg.payload_len) assert_int_equal(x->seg.payload_len, 4);
        if (x && x->kind == SYNACK_SIM_DELIVERED && x->t >= LESSON_HEARTBEAT_CUT_AT)
            delivered_late++;
    }
    synack_time_t span = LESSON_HEARTBEAT_MISSES * LESSON_HEARTBEAT_INTERVAL;
    assert_int_equal(delivered_late, 0);
    assert_int_equal(pings, run->r.client.heartbeats_sent);
    assert_int_equal(pongs, run->r.server.heartbeats_sent);
    assert_int_equal(run->r.server.heartbeats_heard, 2); /* the PINGs of 2 s and 4 s */
    assert_int_equal(run->r.client.heartbeats_heard, 2);
    assert_int_equal(pongs, 2);
    assert_true(pings > 2); /* the client went on writing into the dead path */
    synack_time_t last_pong = last_data_delivered(run, SERVER);
    synack_time_t last_ping = last_data_delivered(run, CLIENT);
    assert_true(last_pong > 0 && last_pong < LESSON_HEARTBEAT_CUT_AT);
    assert_int_equal(run->r.client.dead_at, last_pong + span);
    assert_int_equal(run->r.server.dead_at, last_ping + span);
    assert_true(run->r.client.dead_at < SYNACK_S(10 + 3 * 5));
    size_t abort = find_call(run, CLIENT, "close() with SO_LINGER 0", 0);
    assert_true(abort < run->log.n);
    assert_int_equal(run->log.ev[abort].t, run->r.client.dead_at);
    assert_true(find_call(run, SERVER, "close() with SO_LINGER 0", 0) < run->log.n);
    run_free(run);
}

/* The server offers MSS 960, the client 1460; the client's segments hold at most 948 bytes
 * (960 less the timestamp option). */
static void lesson_mss(void **state)
{
    (void)state;
    struct run *run = record("mss", 0);
    assert_true(run->r.completed);
    const struct annotated *syn = first_sent(run, CLIENT, SYNACK_TCP_SYN);
    const struct annotated *synack = first_sent(run, SERVER, SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    assert_true(syn && syn->seg.has_mss && syn->seg.mss == 1460);
    assert_true(synack && synack->seg.has_mss && synack->seg.mss == 960);
    size_t largest = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, CLIENT) && x->seg.payload_len > largest) largest = x->seg.payload_len;
    }
    assert_int_equal(largest, 948);
    run_free(run);
}

/* Slow start until the queue overflows, recovery, congestion avoidance, and another loss
 * and recovery after it (the sawtooth); cwnd falls to about half at the first loss, and no
 * timeout restarts slow start. */
static void lesson_congestion(void **state)
{
    (void)state;
    struct run *run = record("congestion", 0);
    assert_true(run->r.completed);
    const struct scenario_sample *x = run->log.samples;
    size_t n = run->r.nsamples;
    assert_true(n > 10);
    assert_int_equal(x[0].phase, SYNACK_PHASE_SLOW_START);
    int step = 0; /* 1 recovery, 2 avoidance after it, 3 recovery again */
    uint32_t peak = 0, trough = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned p = x[i].phases;
        if (step == 0 && x[i].cwnd_max > peak) peak = x[i].cwnd_max;
        if (step == 0 && (p & (1u << SYNACK_PHASE_RECOVERY))) step = 1;
        if (step == 1 && (p & (1u << SYNACK_PHASE_CONG_AVOID))) {
            step = 2;
            trough = x[i].cwnd_min;
        }
        if (step == 2 && (p & (1u << SYNACK_PHASE_RECOVERY))) step = 3;
        assert_false(p & (1u << SYNACK_PHASE_LOSS));
    }
    assert_int_equal(step, 3);
    assert_true(trough < peak * 6 / 10);
    assert_true(run->r.client.info.counters.recoveries >= 2);
    assert_int_equal(run->r.client.info.counters.rto_expiries, 0);
    run_free(run);
}

/* Messages written with one send() each come out of read() glued and split; the
 * length-prefix decoder gives back each message whole. */
static void lesson_sticky_packets(void **state)
{
    (void)state;
    struct run *run = record("sticky-packets", 0);
    assert_true(run->r.completed);
    const struct lesson_reads *rd = run->log.reads;
    assert_non_null(rd);
    struct scenario_opts o;
    lesson_setup(lesson_find("sticky-packets"), 0, &o);
    bool glued = false, split = false;
    char what[200];
    for (size_t i = 0; i < rd->n; i++) {
        lesson_read_describe(&o, &rd->read[i], what, sizeof what);
        if (strstr(what, "glued")) glued = true;
        if (strstr(what, "split")) split = true;
    }
    assert_true(glued);
    assert_true(split);
    assert_true(rd->n < o.nmessages); /* fewer reads than writes */
    assert_int_equal(rd->ndecoded, o.nmessages);
    for (size_t k = 0; k < o.nmessages; k++)
        assert_int_equal(rd->decoded[k], o.message_sizes[k]);
    assert_true(rd->decoded_intact);
    run_free(run);
}

/* The decoder takes a stream in any pieces, one byte at a time included. */
static void framing_decoder_any_pieces(void **state)
{
    (void)state;
    static struct frame_decoder d;
    uint8_t stream[2 + 3 + 2 + 1 + 2 + 300];
    size_t n = frame_prefix(stream, 3);
    memcpy(stream + n, "abc", 3);
    n += 3;
    n += frame_prefix(stream + n, 1);
    stream[n++] = 'x';
    n += frame_prefix(stream + n, 300);
    memset(stream + n, 'y', 300);
    n += 300;
    frame_decoder_init(&d);
    size_t got = 0;
    for (size_t i = 0; i < n; i++)
        got += frame_decoder_push(&d, stream + i, 1, NULL, NULL);
    assert_int_equal(got, 3);
    frame_decoder_init(&d);
    assert_int_equal(frame_decoder_push(&d, stream, n, NULL, NULL), 3);
    assert_int_equal(frame_decoder_push(&d, stream, 4, NULL, NULL), 0); /* a part: held */
    assert_int_equal(frame_decoder_push(&d, stream + 4, 1, NULL, NULL), 1);
}

/* The server restarts while its old connection waits in TIME_WAIT: listen() is refused
 * without SO_REUSEADDR and accepted with it; either way the old connection closes cleanly. */
static void lesson_reuseaddr(void **state)
{
    (void)state;
    for (size_t act = 0; act < 2; act++) {
        struct run *run = record("reuseaddr", act);
        assert_true(run->r.completed);
        assert_true(run->r.restarted);
        assert_int_equal(run->r.restart_rc, act == 0 ? SYNACK_ERR_ADDRINUSE : 0);
        assert_true(passes_through(&run->r.server, SYNACK_TIME_WAIT));
        run_free(run);
    }
}

/* The sender never sends past the right edge the receiver offered, reaches it again and
 * again, and the edge moves forward as the receiver reads. */
static void lesson_sliding_window(void **state)
{
    (void)state;
    struct run *run = record("sliding-window", 0);
    assert_true(run->r.completed);
    uint32_t edge = 0;
    size_t moves = 0;
    for (size_t i = 0; i < run->log.n; i++) {
        const struct annotated *x = pkt_at(run, i);
        if (is_sent(x, SERVER) && (x->seg.flags & SYNACK_TCP_ACK)) {
            if (edge && x->rel_edge > edge) moves++;
            if (x->rel_edge > edge) edge = x->rel_edge;
        }
        if (is_sent(x, CLIENT) && x->seg.payload_len)
            assert_true(x->rel_seq + x->seg.payload_len <= edge);
    }
    assert_true(count_notes(run, CLIENT, NOTE_FILLS_WINDOW) >= 3);
    assert_true(moves >= 4);
    run_free(run);
}

/* The same two losses: UDP never delivers the two datagrams and every other arrives one
 * delay after it left; TCP delivers every byte, the messages after each hole held back
 * and read together once it is filled. */
static void lesson_tcp_vs_udp(void **state)
{
    (void)state;
    const struct lesson *l = lesson_find("tcp-vs-udp");
    struct udp_story_opts uo;
    struct udp_story_result ur;
    char err[256];
    lesson_udp_setup(l, 0, &uo);
    assert_int_equal(udp_story_run(&uo, &ur, err, sizeof err), 0);
    assert_int_equal(ur.sent, 10);
    assert_int_equal(ur.received, 8);
    assert_true(ur.in_order);
    for (unsigned k = 0; k < 10; k++) {
        if (k == 2 || k == 5)
            assert_int_equal(ur.arrived_at[k], 0);
        else
            assert_int_equal(ur.arrived_at[k] - ur.sent_at[k], uo.delay);
    }

    struct run *run = record("tcp-vs-udp", 1);
    assert_true(run->r.completed);
    assert_int_equal(run->r.bytes_received, 10000);
    assert_int_equal(run->r.retransmissions, 2);
    const struct lesson_reads *rd = run->log.reads;
    size_t held = 0;
    for (size_t i = 0; i < rd->n; i++)
        if (rd->read[i].len >= 3000) held++; /* a message and the ones that waited for it */
    assert_int_equal(held, 2);
    run_free(run);
}

/* The forged SYNs fill the SYN queue and the real clients' SYNs are dropped with theirs;
 * with SYN cookies every real client gets in and the queue's overflow costs no state. */
static void lesson_syn_flood(void **state)
{
    (void)state;
    const struct lesson *l = lesson_find("syn-flood");
    struct flood_opts o;
    struct flood_result r;
    char err[256];
    lesson_flood_setup(l, 0, &o);
    assert_int_equal(flood_run(&o, &r, err, sizeof err), 0);
    assert_int_equal(r.peak_half_open, o.backlog);
    assert_true(r.server.drops[SYNACK_DROP_SYN_QUEUE_FULL] > 0);
    assert_true(r.completed < r.clients / 2);
    assert_int_equal(r.server.syncookies_sent, 0);

    lesson_flood_setup(l, 1, &o);
    assert_int_equal(flood_run(&o, &r, err, sizeof err), 0);
    assert_int_equal(r.completed, r.clients);
    assert_true(r.server.syncookies_sent > 0);
    assert_int_equal(r.server.syncookies_validated, r.clients);
    assert_int_equal(r.server.drops[SYNACK_DROP_SYN_QUEUE_FULL], 0);
}

/* TCP inside UDP: the outer datagrams lost are not resent by UDP, the inner TCP resends
 * their segments and every byte arrives; the inner MSS leaves room for the outer headers. */
static void lesson_reliable_udp(void **state)
{
    (void)state;
    struct tunnel_opts o;
    struct tunnel_result r;
    char err[256];
    lesson_tunnel_setup(lesson_find("reliable-udp"), 0, &o);
    assert_int_equal(tunnel_run(&o, &r, err, sizeof err), 0);
    assert_true(r.completed);
    assert_int_equal(r.bytes_received, o.bytes);
    assert_int_equal(r.datagrams_lost, 2);
    assert_true(r.inner_retransmits >= 2);
    assert_int_equal(r.inner_mss, TUNNEL_INNER_MTU - 40);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lessons_are_complete),
    cmocka_unit_test(lesson_handshake),
    cmocka_unit_test(lesson_close),
    cmocka_unit_test(lesson_time_wait),
    cmocka_unit_test(lesson_retransmission),
    cmocka_unit_test(lesson_fast_retransmit),
    cmocka_unit_test(lesson_flow_control),
    cmocka_unit_test(lesson_simultaneous_open),
    cmocka_unit_test(lesson_simultaneous_close),
    cmocka_unit_test(lesson_half_close),
    cmocka_unit_test(lesson_rst),
    cmocka_unit_test(lesson_keepalive),
    cmocka_unit_test(lesson_heartbeat),
    cmocka_unit_test(lesson_mss),
    cmocka_unit_test(lesson_congestion),
    cmocka_unit_test(lesson_sticky_packets),
    cmocka_unit_test(framing_decoder_any_pieces),
    cmocka_unit_test(lesson_reuseaddr),
    cmocka_unit_test(lesson_sliding_window),
    cmocka_unit_test(lesson_tcp_vs_udp),
    cmocka_unit_test(lesson_syn_flood),
    cmocka_unit_test(lesson_reliable_udp),
};

SYNACK_TEST_MAIN("lessons", tests)
