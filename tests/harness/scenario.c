#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#define SCENARIO_CLIENT_PORT 40000 /* only for simultaneous open: both ends need to know */
#define CHUNK 16384
#define SAMPLE_FIRST_INTERVAL SYNACK_US(100) /* doubles each time the buffer fills */

/* A deterministic byte stream: what the client sends and what the server expects. */
struct stream {
    uint64_t x; /* splitmix64 state, seeded from the run's seed */
    uint8_t buf[CHUNK];
    size_t off, len;
    const uint8_t *fixed;    /* the client's messages, when it sends them (else NULL) */
    uint64_t pos, fixed_len; /* the next byte of `fixed`, and its length */
};

static void stream_init(struct stream *s, uint64_t seed)
{
    struct synack_rng rng;
    synack_rng_seed(&rng, seed, 0x7061796c6f6164ull /* "payload" */);
    s->x = synack_rng_next_u64(&rng);
    s->off = s->len = 0;
}

/* splitmix64 (Steele, Lea and Flood, 2014): eight bytes of payload per step, inlined, where
 * a call into the stack's PCG per four bytes cost the demo more than its TCP did. */
static uint64_t stream_next64(struct stream *s)
{
    uint64_t z = (s->x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void stream_fill(struct stream *s, uint64_t remaining)
{
    if (s->off < s->len) return;
    s->len = remaining < CHUNK ? (size_t)remaining : CHUNK;
    if (s->fixed) {
        if (s->len > s->fixed_len - s->pos) s->len = (size_t)(s->fixed_len - s->pos);
        memcpy(s->buf, s->fixed + s->pos, s->len);
        s->pos += s->len;
    } else {
        /* Eight bytes of the stream per step (in memory order); the buffer's size is a
         * multiple of 8, so the last step fits whole even where len is not. */
        _Static_assert(CHUNK % 8 == 0, "stream_fill writes whole steps");
        for (size_t i = 0; i < s->len; i += 8) {
            uint64_t w = stream_next64(s);
            memcpy(s->buf + i, &w, 8);
        }
    }
    s->off = 0;
}

/* The digest of a byte stream: FNV-1a 64 over its 64-bit words (each eight bytes read in
 * the machine's byte order, the last partial word zero-padded), dealt round-robin to four
 * lanes so four multiplies run side by side (byte-wise FNV-1a costs one multiply per byte,
 * one after another), the lanes and the length folded together at the end. The same stream
 * gives the same digest however it is cut into calls. */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define DIGEST_LANES 4

struct digest {
    uint64_t h[DIGEST_LANES], len;
    uint8_t word[8]; /* the bytes of the word not yet complete */
};

static void digest_init(struct digest *d)
{
    *d = (struct digest){.h = {FNV_OFFSET, FNV_OFFSET, FNV_OFFSET, FNV_OFFSET}};
}

static uint64_t digest_word(uint64_t h, const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return (h ^ w) * FNV_PRIME;
}

/* The lane of the word that starts at stream offset `at` (a multiple of 8). */
static size_t digest_lane(uint64_t at)
{
    return (size_t)(at / 8 % DIGEST_LANES);
}

static void digest_add(struct digest *d, const uint8_t *p, size_t n)
{
    size_t have = (size_t)(d->len % 8);
    uint64_t at = d->len - have; /* where the pending word starts */
    d->len += n;
    if (have > 0) { /* complete the pending word first */
        size_t take = n < 8 - have ? n : 8 - have;
        memcpy(d->word + have, p, take);
        p += take;
        n -= take;
        if (have + take < 8) return;
        d->h[digest_lane(at)] = digest_word(d->h[digest_lane(at)], d->word);
        at += 8;
    }
    for (; n >= 8 && digest_lane(at) != 0; p += 8, n -= 8, at += 8)
        d->h[digest_lane(at)] = digest_word(d->h[digest_lane(at)], p);
    uint64_t h0 = d->h[0], h1 = d->h[1], h2 = d->h[2], h3 = d->h[3]; /* in registers */
    for (; n >= 8 * DIGEST_LANES; p += 8 * DIGEST_LANES, n -= 8 * DIGEST_LANES) {
        h0 = digest_word(h0, p);
        h1 = digest_word(h1, p + 8);
        h2 = digest_word(h2, p + 16);
        h3 = digest_word(h3, p + 24);
    }
    d->h[0] = h0, d->h[1] = h1, d->h[2] = h2, d->h[3] = h3;
    at = d->len - n - (d->len - n) % 8; /* n bytes remain: whole words first */
    for (; n >= 8; p += 8, n -= 8, at += 8)
        d->h[digest_lane(at)] = digest_word(d->h[digest_lane(at)], p);
    memcpy(d->word, p, n);
}

static uint64_t digest_final(const struct digest *d)
{
    struct digest t = *d;
    size_t have = (size_t)(t.len % 8);
    if (have > 0) {
        memset(t.word + have, 0, 8 - have);
        size_t lane = digest_lane(t.len - have);
        t.h[lane] = digest_word(t.h[lane], t.word);
    }
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < DIGEST_LANES; i++)
        h = (h ^ t.h[i]) * FNV_PRIME;
    return (h ^ t.len) * FNV_PRIME;
}

struct side {
    char tag;
    struct run *run;
    struct scenario_side *out;
    struct synack_stack *stack;
    struct synack_tcp *conn;
    uint64_t conn_id; /* of `conn`, to recognise its CLOSED event */
    struct synack_listener *listener;
    bool connected;
    /* The application's close is a shutdown (the same segments on the wire), so the
     * connection stays ours to inspect until it reaches CLOSED; then we release it. */
    bool shut;      /* we called shutdown: the FIN follows the queued data */
    bool released;  /* we called close: the pointer is the stack's now */
    bool peer_done; /* recv returned 0: the peer's FIN and every byte before it arrived */
    /* The heartbeat: when the other end was last heard (or the connection opened), and
     * the bytes of a PING or PONG read so far. */
    bool hb_started;
    synack_time_t heard_at;
    uint8_t hb_msg[4];
    size_t hb_len;
};

/* The client's congestion state over time (see struct scenario_sample). samples[n - 1]
 * is the open interval; interval k starts at t0 + k * interval. */
struct sampler {
    struct scenario_sample *samples;
    size_t cap, n;
    synack_time_t t0, interval;
    bool on, done;
};

struct run {
    const struct scenario_opts *o;
    struct scenario_result *r;
    struct synack_sim *sim;
    struct side client, server;
    int client_node;
    bool seen_data; /* the client's first data segment went out (r->first_data_sent) */
    struct sampler sampler;
    struct stream tx, expect;
    uint64_t total; /* bytes the client sends: opts.bytes, or its messages */
    uint8_t *messages;
    uint64_t message_end[SCENARIO_MAX_MESSAGES]; /* offset after each message */
    uint64_t written;
    synack_time_t connected_at; /* the client's connection, for paced messages */
    synack_time_t next_read;    /* opts.server_read_every: the server's next read */
    bool mismatch;
    struct digest sent, received; /* of the client's stream, as written and as read */
};

/* ---- the congestion-state samples -------------------------------------------------------- */

static bool sampler_is_enabled(const struct run *run)
{
    return run->o->samples && run->o->samples_cap >= 2;
}

/* Halves the number of samples: the interval doubles and neighbours merge. */
static void sampler_compact(struct sampler *s)
{
    size_t m = 0;
    for (size_t i = 0; i < s->n; i += 2, m++) {
        struct scenario_sample merged = s->samples[i];
        if (i + 1 < s->n) {
            const struct scenario_sample *b = &s->samples[i + 1];
            merged.cwnd = b->cwnd;
            merged.ssthresh = b->ssthresh;
            merged.srtt = b->srtt;
            merged.pipe = b->pipe;
            merged.delivered = b->delivered;
            merged.phase = b->phase;
            merged.phases |= b->phases;
            if (b->cwnd_min < merged.cwnd_min) merged.cwnd_min = b->cwnd_min;
            if (b->cwnd_max > merged.cwnd_max) merged.cwnd_max = b->cwnd_max;
        }
        s->samples[m] = merged;
    }
    s->n = m;
    s->interval *= 2;
}

/* Makes the sample whose interval holds `t` the open one, and returns it. */
static struct scenario_sample *sampler_seek(struct sampler *s, synack_time_t t)
{
    uint64_t k = t > s->t0 ? (t - s->t0) / s->interval : 0;
    while (k >= s->cap) {
        sampler_compact(s);
        k = t > s->t0 ? (t - s->t0) / s->interval : 0;
    }
    if (k < s->n - 1) k = s->n - 1; /* never reopen a closed interval */
    while (s->n - 1 < k) {
        /* Intervals without an observation carry the state on. */
        struct scenario_sample next = s->samples[s->n - 1];
        next.t = s->t0 + (synack_time_t)s->n * s->interval;
        next.cwnd_min = next.cwnd_max = next.cwnd;
        next.phases = 1u << next.phase;
        s->samples[s->n++] = next;
    }
    return &s->samples[s->n - 1];
}

static void sample_set_cc(struct scenario_sample *x, uint32_t cwnd, uint32_t ssthresh,
                          enum synack_cc_phase phase)
{
    x->cwnd = cwnd;
    x->ssthresh = ssthresh;
    x->phase = phase;
    x->phases |= 1u << phase;
    if (cwnd < x->cwnd_min) x->cwnd_min = cwnd;
    if (cwnd > x->cwnd_max) x->cwnd_max = cwnd;
}

static void sample_set_info(struct scenario_sample *x, const struct synack_tcp_info *info)
{
    x->srtt = info->srtt;
    x->pipe = info->pipe;
    x->delivered = info->delivered;
}

/* An observation of the client's connection at `t`; `ev` is its CC event, or NULL. */
static void sampler_observe(struct run *run, synack_time_t t, const struct synack_event *ev)
{
    struct sampler *s = &run->sampler;
    struct side *sd = &run->client;
    if (!s->on || s->done || !sd->conn || sd->released) return;
    struct synack_tcp_info info;
    if (synack_tcp_info(sd->conn, &info) < 0) return;
    if (s->n == 0) {
        s->t0 = t;
        s->samples[0] = (struct scenario_sample){
            .t = t, .cwnd_min = info.cwnd, .cwnd_max = info.cwnd, .phase = info.phase};
        s->n = 1;
    }
    struct scenario_sample *x = sampler_seek(s, t);
    if (ev)
        sample_set_cc(x, ev->cwnd, ev->ssthresh, ev->new_phase);
    else
        sample_set_cc(x, info.cwnd, info.ssthresh, info.phase);
    sample_set_info(x, &info);
}

/* After each simulator step: one look per interval is enough between CC events. */
static void sampler_poll(struct run *run)
{
    struct sampler *s = &run->sampler;
    if (!s->on || s->done) return;
    synack_time_t now = synack_sim_now(run->sim);
    if (now >= s->t0 + (synack_time_t)s->n * s->interval) sampler_observe(run, now, NULL);
}

static void sampler_start(struct run *run, synack_time_t t)
{
    if (!sampler_is_enabled(run) || run->sampler.on) return;
    run->sampler = (struct sampler){.samples = run->o->samples,
                                    .cap = run->o->samples_cap,
                                    .interval = SAMPLE_FIRST_INTERVAL,
                                    .on = true};
    sampler_observe(run, t, NULL);
}

/* The client's FIN is acknowledged (or the connection ended): the data transfer is over. */
static void sampler_stop(struct run *run, synack_time_t t)
{
    if (!run->sampler.on || run->sampler.done) return;
    sampler_observe(run, t, NULL);
    run->sampler.done = true;
}

static bool state_is_send_done(enum synack_state s)
{
    return s == SYNACK_FIN_WAIT_2 || s == SYNACK_TIME_WAIT || s == SYNACK_CLOSED;
}

static void record_state(struct side *sd, enum synack_state from, enum synack_state to,
                         synack_time_t t)
{
    struct scenario_side *o = sd->out;
    if (o->nstates == 0) o->states[o->nstates++] = from;
    if (o->nstates < SCENARIO_MAX_STATES && o->states[o->nstates - 1] != to)
        o->states[o->nstates++] = to;
    const struct scenario_opts *opts = sd->run->o;
    if (opts->on_state) opts->on_state(opts->state_ctx, sd->tag, from, to, t);
}

static void side_adopt(struct side *sd, struct synack_tcp *c)
{
    struct synack_tcp_info info;
    sd->conn = c;
    sd->conn_id = synack_tcp_id(c);
    synack_tcp_info(c, &info);
    sd->out->iss = info.iss;
    sd->out->port = info.local_port;
    const struct scenario_opts *o = sd->run->o;
    if (o->fix_sndbuf || o->fix_rcvbuf)
        sd->out->bufsize_rc = synack_tcp_set_bufsize(c, o->fix_sndbuf, o->fix_rcvbuf);
}

/* opts.watch_buffers: the largest sizes each open connection's buffers have had. */
static void buffers_watch(struct side *sd)
{
    struct synack_tcp_info info;
    if (!sd->conn || sd->released || synack_tcp_info(sd->conn, &info) < 0) return;
    if (info.sndbuf > sd->out->sndbuf_peak) sd->out->sndbuf_peak = info.sndbuf;
    if (info.rcvbuf > sd->out->rcvbuf_peak) sd->out->rcvbuf_peak = info.rcvbuf;
}

/* Tells the caller of a socket call an application made: `rc` is what it returned (the
 * bytes for send and recv). */
static void side_call(const struct side *sd, const char *call, int rc, synack_time_t now)
{
    const struct scenario_opts *o = sd->run->o;
    if (o->on_call) o->on_call(o->call_ctx, sd->tag, call, rc, now);
}

/* The application is done with its side: shutdown sends the FIN after the queued data,
 * as close would; the pointer stays ours until CLOSED so tcp_info can still be read. */
static void side_close(struct side *sd, synack_time_t now)
{
    if (!sd->conn || sd->released || sd->shut) return;
    sd->shut = true;
    bool half = sd->tag == 'c' && sd->run->o->server_bytes; /* it goes on reading */
    side_call(sd, half ? "shutdown(SHUT_WR)" : "close()", synack_tcp_shutdown(sd->conn, now), now);
}

/* Keeps the connection's final tcp_info in the result. */
static void side_snapshot(struct side *sd)
{
    if (!sd->conn || sd->released) return;
    if (synack_tcp_info(sd->conn, &sd->out->info) == 0) sd->out->has_info = true;
}

static void side_event(struct side *sd, const struct synack_event *ev, synack_time_t now)
{
    bool mine = ev->conn_id == sd->conn_id && sd->conn;
    bool sender = mine && sd->tag == 'c';
    switch (ev->type) {
    case SYNACK_EV_STATE:
        record_state(sd, ev->old_state, ev->new_state, ev->time);
        if (sender && state_is_send_done(ev->new_state)) sampler_stop(sd->run, ev->time);
        break;
    case SYNACK_EV_CONNECTED:
        if (ev->conn_id == sd->conn_id) sd->connected = true;
        if (ev->conn_id == sd->conn_id && sd->tag == 'c') sd->run->connected_at = ev->time;
        if (sender) sampler_start(sd->run, ev->time);
        break;
    case SYNACK_EV_CC:
        if (sender) sampler_observe(sd->run, ev->time, ev);
        break;
    case SYNACK_EV_ACCEPTABLE: {
        struct synack_tcp *c;
        if (!sd->conn && sd->listener && synack_tcp_accept(sd->listener, &c) == 0) {
            side_call(sd, "accept()", 0, now);
            side_adopt(sd, c);
            sd->connected = true;
        }
        break;
    }
    case SYNACK_EV_ERROR:
        if (ev->conn_id == sd->conn_id && !sd->out->err) sd->out->err = ev->err;
        break;
    case SYNACK_EV_CLOSED:
        if (ev->conn_id != sd->conn_id) break;
        sd->out->closed = true;
        if (sender) sampler_stop(sd->run, ev->time);
        if (!sd->released) {
            side_snapshot(sd);
            sd->released = true;
            synack_tcp_close(sd->conn, now); /* frees the CLOSED connection */
        }
        break;
    default:
        break;
    }
}

static void drain_events(struct run *run, struct side *sd)
{
    struct synack_event ev;
    synack_time_t now = synack_sim_now(run->sim);
    while (synack_stack_next_event(sd->stack, &ev) == 0)
        side_event(sd, &ev, now);
}

/* When message k may be written: k intervals after the client's connection opened. */
static synack_time_t message_due(const struct run *run, size_t k)
{
    return run->connected_at + (synack_time_t)k * run->o->message_interval;
}

/* The client writes as much of the stream as the send buffer takes. */
static void client_write(struct run *run, synack_time_t now)
{
    struct side *sd = &run->client;
    uint64_t total = run->total;
    while (sd->connected && !sd->released && run->written < total) {
        stream_fill(&run->tx, total - run->written);
        size_t want = run->tx.len - run->tx.off;
        for (size_t k = 0; k < run->o->nmessages; k++) { /* one send() per message */
            if (run->message_end[k] <= run->written) continue;
            if (now < message_due(run, k)) want = 0; /* not yet: a paced writer */
            if (run->message_end[k] - run->written < want)
                want = (size_t)(run->message_end[k] - run->written);
            break;
        }
        if (want == 0) break;
        synack_ssize n = synack_tcp_send(sd->conn, run->tx.buf + run->tx.off, want, now);
        if (n <= 0) break;
        side_call(sd, "send()", (int)n, now);
        run->tx.off += (size_t)n;
        run->written += (uint64_t)n;
        digest_add(&run->sent, run->tx.buf + run->tx.off - n, (size_t)n);
        run->r->bytes_sent += (uint64_t)n;
    }
}

/* Takes n bytes the application read: the server checks each against the expected
 * stream, then they are digested and counted. */
static void side_take(struct run *run, struct side *sd, const uint8_t *data, size_t n,
                      synack_time_t now)
{
    struct scenario_result *r = run->r;
    if (sd->tag != 's') { /* the server's reply is counted, not checked */
        r->reply_received += (uint64_t)n;
        return;
    }
    for (size_t i = 0; i < n;) { /* a run of the expected stream at a time */
        stream_fill(&run->expect, UINT64_MAX);
        size_t k = run->expect.len - run->expect.off;
        if (k > n - i) k = n - i;
        const uint8_t *want = run->expect.buf + run->expect.off;
        if (!run->mismatch && memcmp(want, data + i, k) != 0) {
            size_t j = 0;
            while (want[j] == data[i + j])
                j++;
            run->mismatch = true;
            r->first_mismatch = r->bytes_received + i + j;
        }
        run->expect.off += k;
        i += k;
    }
    if (run->o->on_read) run->o->on_read(run->o->read_ctx, data, n, now);
    digest_add(&run->received, data, n);
    r->bytes_received += (uint64_t)n;
    r->last_data_read = now;
}

/* Reads what arrived, at most CHUNK bytes per call as a recv() into a CHUNK buffer would,
 * in place (synack_tcp_recv_borrow): the bytes are checked and digested where the stack
 * holds them, not copied out first. */
static void side_read(struct run *run, struct side *sd, synack_time_t now)
{
    if (sd->tag == 's' && now < run->o->server_read_from) return; /* a slow reader */
    synack_time_t every = run->o->server_read_every;
    if (sd->tag == 's' && every) { /* a reader on its own period */
        if (now < run->next_read) return;
        run->next_read = now - now % every + every;
    }
    while (sd->conn && !sd->released && !sd->peer_done) {
        struct synack_piece p[2];
        synack_ssize n = synack_tcp_recv_borrow(sd->conn, p);
        if (n > CHUNK) n = CHUNK;
        if (n >= 0) side_call(sd, "recv()", (int)n, now);
        if (n == 0) sd->peer_done = true;
        if (n <= 0) break;
        size_t first = p[0].len < (size_t)n ? p[0].len : (size_t)n;
        side_take(run, sd, p[0].data, first, now);
        if ((size_t)n > first) side_take(run, sd, p[1].data, (size_t)n - first, now);
        synack_tcp_recv_commit(sd->conn, (size_t)n, now);
    }
}

/* The server's answer on a half-closed connection: as much as the send buffer takes. */
static void server_write(struct run *run, synack_time_t now)
{
    struct side *sd = &run->server;
    uint8_t buf[CHUNK];
    memset(buf, 'r', sizeof buf);
    while (sd->conn && !sd->released && run->r->reply_sent < run->o->server_bytes) {
        uint64_t left = run->o->server_bytes - run->r->reply_sent;
        synack_ssize n = synack_tcp_send(sd->conn, buf, left < CHUNK ? (size_t)left : CHUNK, now);
        if (n <= 0) break;
        side_call(sd, "send()", (int)n, now);
        run->r->reply_sent += (uint64_t)n;
    }
}

/* Has everything the side sent been acknowledged? (A half-closed server's answer is seen
 * going out in CLOSE_WAIT before its FIN.) */
static bool side_is_drained(const struct side *sd)
{
    struct synack_tcp_info info;
    if (!sd->conn || sd->released || synack_tcp_info(sd->conn, &info) < 0) return true;
    return info.send_queued == 0;
}

/* SO_LINGER 0: the connection ends with a RST, queued data thrown away. */
static void side_abort(struct side *sd, synack_time_t now)
{
    if (!sd->conn || sd->released) return;
    side_snapshot(sd);
    sd->released = true;
    sd->out->closed = true;
    synack_tcp_abort(sd->conn, now);
    side_call(sd, "close() with SO_LINGER 0", 0, now);
}

/* The default story: the client closes once it has written everything (or aborts), the
 * server once it has read the client's FIN (and written its answer). */
static void app_step_client_first(struct run *run, bool all_written, synack_time_t now)
{
    const struct scenario_opts *o = run->o;
    if (all_written && now >= o->client_close_at) {
        if (o->client_aborts)
            side_abort(&run->client, now);
        else
            side_close(&run->client, now);
    }
    if (run->server.peer_done) {
        server_write(run, now);
        if (run->r->reply_sent == o->server_bytes && side_is_drained(&run->server))
            side_close(&run->server, now);
    }
}

/* A server restarting while its old connection waits in TIME_WAIT: the old listener goes,
 * a new one asks for the same port. */
static void server_restart(struct run *run, synack_time_t now)
{
    const struct scenario_opts *o = run->o;
    struct side *sd = &run->server;
    if (!o->restart || run->r->restarted || !sd->conn || sd->released ||
        synack_tcp_state(sd->conn) != SYNACK_TIME_WAIT)
        return;
    run->r->restarted = true;
    if (sd->listener) {
        synack_listener_close(sd->listener, now);
        side_call(sd, "close(the listening socket)", 0, now);
    }
    sd->listener = NULL;
    struct synack_endpoint ep = {scenario_addr(o->ipv6, true), SCENARIO_SERVER_PORT};
    unsigned flags = o->restart_reuseaddr ? SYNACK_BIND_REUSEADDR : 0;
    struct synack_listener *l = NULL;
    int rc = synack_tcp_listen_flags(sd->stack, &ep, 16, flags, sd, &l);
    run->r->restart_rc = rc;
    if (rc == 0) sd->listener = l;
    side_call(sd, flags ? "listen(port 80, SO_REUSEADDR)" : "listen(port 80)", rc, now);
}

/* ---- the application heartbeat ----------------------------------------------------------- */

/* When the client writes its next PING. */
static synack_time_t heartbeat_ping_due(const struct run *run)
{
    return run->connected_at + (run->client.out->heartbeats_sent + 1) * run->o->heartbeat_interval;
}

/* When `sd` gives the other end up: heartbeat_misses intervals after it last heard it. */
static synack_time_t heartbeat_deadline(const struct run *run, const struct side *sd)
{
    return sd->heard_at + (synack_time_t)run->o->heartbeat_misses * run->o->heartbeat_interval;
}

static bool heartbeat_is_running(const struct side *sd)
{
    return sd->hb_started && sd->conn && !sd->released;
}

/* The client's PING or the server's PONG (the call's text a literal: callers keep it). */
static void heartbeat_send(struct side *sd, synack_time_t now)
{
    bool ping = sd->tag == 'c';
    const char *word = ping ? "PING" : "PONG";
    synack_ssize n = synack_tcp_send(sd->conn, (const uint8_t *)word, 4, now);
    side_call(sd, ping ? "send(\"PING\")" : "send(\"PONG\")", (int)n, now);
    if (n == 4) sd->out->heartbeats_sent++;
}

/* Reads what arrived, four bytes a message; the server answers each PING with a PONG. */
static void heartbeat_read(struct run *run, struct side *sd, synack_time_t now)
{
    const char *expect = sd->tag == 's' ? "PING" : "PONG";
    while (!sd->peer_done) {
        synack_ssize n = synack_tcp_recv(sd->conn, sd->hb_msg + sd->hb_len, 4 - sd->hb_len, now);
        if (n >= 0) side_call(sd, "recv()", (int)n, now);
        if (n == 0) sd->peer_done = true;
        if (n <= 0) break;
        sd->hb_len += (size_t)n;
        if (sd->hb_len < 4) continue;
        sd->hb_len = 0;
        if (memcmp(sd->hb_msg, expect, 4) != 0) {
            run->mismatch = true;
            continue;
        }
        sd->out->heartbeats_heard++;
        sd->heard_at = now;
        if (sd->tag == 's') heartbeat_send(sd, now);
    }
}

/* One end of the heartbeat: what arrived, the other end given up after heartbeat_misses
 * silent intervals, and (the client) a PING when one is due. */
static void heartbeat_step(struct run *run, struct side *sd, synack_time_t now)
{
    if (!sd->connected || !sd->conn || sd->released) return;
    if (!sd->hb_started) {
        sd->hb_started = true;
        sd->heard_at = now;
    }
    heartbeat_read(run, sd, now);
    if (now >= heartbeat_deadline(run, sd)) {
        sd->out->dead_at = now;
        side_abort(sd, now);
        return;
    }
    if (sd->tag == 'c' && now >= heartbeat_ping_due(run)) heartbeat_send(sd, now);
}

/* The heartbeat's next PING and deadlines, for app_wake_time. */
static synack_time_t heartbeat_wake_time(const struct run *run)
{
    synack_time_t wake = SYNACK_NEVER;
    if (heartbeat_is_running(&run->client)) {
        wake = heartbeat_ping_due(run);
        synack_time_t d = heartbeat_deadline(run, &run->client);
        if (d < wake) wake = d;
    }
    if (heartbeat_is_running(&run->server) && heartbeat_deadline(run, &run->server) < wake)
        wake = heartbeat_deadline(run, &run->server);
    return wake;
}

/* Who closes when: the scenario's choreography. */
static void app_step(struct run *run)
{
    const struct scenario_opts *o = run->o;
    synack_time_t now = synack_sim_now(run->sim);
    if (o->heartbeat_interval) { /* PING and PONG until an end gives the other up */
        heartbeat_step(run, &run->server, now);
        heartbeat_step(run, &run->client, now);
        return;
    }
    client_write(run, now);
    side_read(run, &run->server, now);
    side_read(run, &run->client, now);
    /* Nobody closes before the handshake is done: a zero-byte demo still shows it. */
    bool all_written = run->client.connected && run->written == run->total;
    bool all_received = run->r->bytes_received == run->total;
    if (o->simultaneous_close) {
        if (all_written && all_received && run->server.connected) {
            side_close(&run->client, now);
            side_close(&run->server, now);
        }
    } else if (o->server_closes) {
        if (all_received) side_close(&run->server, now);
        if (run->client.peer_done) side_close(&run->client, now);
    } else {
        app_step_client_first(run, all_written, now);
    }
    server_restart(run, now);
}

/* The next time the applications act by the clock, not by an event: 0 for none. */
static synack_time_t app_wake_time(const struct run *run, synack_time_t now)
{
    const struct scenario_opts *o = run->o;
    synack_time_t wake = 0;
    if (o->server_read_from > now) wake = o->server_read_from;
    if (o->server_read_every && run->next_read > now && (!wake || run->next_read < wake))
        wake = run->next_read;
    if (o->client_close_at > now && (!wake || o->client_close_at < wake)) wake = o->client_close_at;
    synack_time_t beat = o->heartbeat_interval ? heartbeat_wake_time(run) : SYNACK_NEVER;
    if (beat > now && beat != SYNACK_NEVER && (!wake || beat < wake)) wake = beat;
    for (size_t k = 0; o->message_interval && run->client.connected && k < o->nmessages; k++) {
        synack_time_t due = message_due(run, k);
        if (due > now && (!wake || due < wake)) wake = due;
        if (due > now) break;
    }
    return wake;
}

void scenario_opts_default(struct scenario_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bytes = 64 * 1024;
    o->delay = SYNACK_MS(10);
    o->rate_bps = 100000000; /* 100 Mbit/s: segments leave one after another */
    o->seed = 1;
    o->cc = SYNACK_CC_CUBIC;
    o->sack = true;
    o->timestamps = true;
    o->window_scale = true;
}

struct synack_addr scenario_addr(bool ipv6, bool server)
{
    if (!ipv6) return synack_addr_v4(server ? 0xc6120002u : 0xc6120001u);
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = server ? 2 : 1};
    return synack_addr_v6(b);
}

static int make_stack(struct run *run, struct side *sd, bool server, char *err, size_t errcap)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = scenario_addr(run->o->ipv6, server);
    /* The seeds of the IPv4 runs stay what they were (the addresses' low words). */
    uint32_t key = server ? 0xc6120002u : 0xc6120001u;
    cfg.seed = run->o->seed ^ key;
    cfg.cc = run->o->cc;
    cfg.sack = run->o->sack;
    cfg.timestamps = run->o->timestamps;
    cfg.window_scale = run->o->window_scale;
    /* A size given is a size fixed, as SO_SNDBUF and SO_RCVBUF fix Linux's. */
    if (run->o->sndbuf) {
        cfg.sndbuf = run->o->sndbuf;
        cfg.sndbuf_max = 0;
    }
    if (run->o->rcvbuf) {
        cfg.rcvbuf = run->o->rcvbuf;
        cfg.rcvbuf_max = 0;
    } else if (!cfg.window_scale && cfg.rcvbuf > 65535)
        cfg.rcvbuf = 65535; /* the default is 64 KiB: one byte more than the field holds */
    /* Each stack its own ISN key, derived from the seed so runs repeat exactly. */
    struct synack_rng k;
    synack_rng_seed(&k, run->o->seed, key);
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)synack_rng_next_u32(&k);
    if (run->o->tune) run->o->tune(&cfg, server);
    run->r->sndbuf = cfg.sndbuf;
    run->r->rcvbuf = cfg.rcvbuf;
    run->r->sndbuf_max = cfg.sndbuf_max > cfg.sndbuf ? cfg.sndbuf_max : cfg.sndbuf;
    run->r->rcvbuf_max = cfg.rcvbuf_max > cfg.rcvbuf ? cfg.rcvbuf_max : cfg.rcvbuf;
    int rc = synack_stack_new(&sd->stack, &cfg);
    if (rc < 0) {
        snprintf(err, errcap, "cannot create a stack: %s", synack_strerror(rc));
        return rc;
    }
    sd->out->addr = cfg.addrs[0];
    return 0;
}

static int add_links(struct run *run, int cnode, int snode, char *err, size_t errcap)
{
    const struct scenario_opts *o = run->o;
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = o->delay;
    p.rate_bps = o->rate_bps;
    p.queue_bytes = o->queue_bytes;
    p.loss = o->loss;
    p.drop_list = o->drop_client_to_server;
    p.drop_count = o->drop_c2s_count;
    p.cut_at = o->links_cut_at;
    p.reroute_at = o->reroute_at;
    p.reroute_latency = o->reroute_delay;
    int rc = synack_sim_add_link(run->sim, cnode, snode, &p);
    if (rc >= 0) {
        p.drop_list = o->drop_server_to_client;
        p.drop_count = o->drop_s2c_count;
        rc = synack_sim_add_link(run->sim, snode, cnode, &p);
    }
    if (rc < 0) snprintf(err, errcap, "cannot add a link: %s", synack_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* Is this the client's first segment that carries data? (goodput starts there) */
static bool is_first_data(struct run *run, const struct synack_sim_packet *ev)
{
    if (run->seen_data || ev->from != run->client_node) return false;
    struct synack_segment seg;
    if (synack_segment_parse(ev->pkt, ev->len, &seg) != SYNACK_DROP_NONE) return false;
    return seg.payload_len > 0;
}

/* Counts segments and losses, then hands the event to the caller's observer. */
static void run_observer(void *ctx, const struct synack_sim_packet *ev)
{
    struct run *run = ctx;
    if (ev->kind == SYNACK_SIM_SENT && is_first_data(run, ev)) {
        run->seen_data = true;
        run->r->first_data_sent = ev->time;
    }
    if (ev->kind == SYNACK_SIM_SENT)
        run->r->segments++;
    else if (ev->kind == SYNACK_SIM_LOST || ev->kind == SYNACK_SIM_DROPPED ||
             ev->kind == SYNACK_SIM_QUEUE_FULL)
        run->r->lost++;
    if (run->o->observer) run->o->observer(run->o->observer_ctx, ev);
}

static int open_connections(struct run *run, char *err, size_t errcap)
{
    const struct scenario_opts *o = run->o;
    struct synack_tcp *c;
    int rc;
    struct synack_endpoint client = {scenario_addr(o->ipv6, false), SCENARIO_CLIENT_PORT};
    struct synack_endpoint server = {scenario_addr(o->ipv6, true), SCENARIO_SERVER_PORT};
    if (o->simultaneous_open) {
        /* Both ends are active: each connects to the other's known port at time 0. */
        rc = synack_tcp_connect(run->client.stack, &server, &client, &run->client, &c, 0);
        side_call(&run->client, "connect()", rc, 0);
        if (rc == 0) {
            side_adopt(&run->client, c);
            rc = synack_tcp_connect(run->server.stack, &client, &server, &run->server, &c, 0);
            side_call(&run->server, "connect()", rc, 0);
            if (rc == 0) side_adopt(&run->server, c);
        }
    } else {
        unsigned flags = o->listen_plain ? 0 : SYNACK_BIND_REUSEADDR;
        rc = o->no_listener ? 0
                            : synack_tcp_listen_flags(run->server.stack, &server, 16, flags,
                                                      &run->server, &run->server.listener);
        if (!o->no_listener) side_call(&run->server, "listen()", rc, 0);
        if (rc == 0) {
            rc = synack_tcp_connect(run->client.stack, &server, NULL, &run->client, &c, 0);
            side_call(&run->client, "connect()", rc, 0);
            if (rc == 0) side_adopt(&run->client, c);
        }
    }
    if (rc < 0) snprintf(err, errcap, "cannot open the connection: %s", synack_strerror(rc));
    return rc;
}

static void run_loop(struct run *run)
{
    synack_time_t limit = run->o->max_sim_time ? run->o->max_sim_time : SCENARIO_MAX_SIM_TIME;
    /* Bounded in virtual time and in steps, whatever the stacks do. */
    for (uint64_t steps = 0; steps < 200000000ull; steps++) {
        drain_events(run, &run->client);
        drain_events(run, &run->server);
        app_step(run);
        drain_events(run, &run->client);
        drain_events(run, &run->server);
        if (run->client.out->closed && run->server.out->closed) break;
        synack_sim_flush(run->sim); /* what the application just queued goes on the wire */
        synack_time_t next = synack_sim_next_time(run->sim);
        synack_time_t wake = app_wake_time(run, synack_sim_now(run->sim));
        if (wake && wake <= limit && (next == SYNACK_NEVER || wake < next)) {
            if (synack_sim_run_until(run->sim, wake) != 0) break;
            continue;
        }
        if (next != SYNACK_NEVER && next > limit) run->r->hit_time_limit = true;
        if (next == SYNACK_NEVER || next > limit) break;
        if (synack_sim_step(run->sim) != 0) break;
        sampler_poll(run);
        if (run->o->watch_buffers) {
            buffers_watch(&run->client);
            buffers_watch(&run->server);
        }
        if (run->o->on_progress && steps % SCENARIO_PROGRESS_STEPS == 0)
            run->o->on_progress(run->o->progress_ctx, run->r->bytes_received, run->total,
                                synack_sim_now(run->sim));
    }
}

static void finish_result(struct run *run)
{
    const struct scenario_opts *o = run->o;
    struct scenario_result *r = run->r;
    r->sim_time = synack_sim_now(run->sim);
    sampler_stop(run, r->sim_time); /* a run that stopped before the FIN was acked */
    side_snapshot(&run->client);
    side_snapshot(&run->server);
    r->nsamples = run->sampler.n;
    r->sample_interval = run->sampler.interval;
    synack_stack_counters(run->client.stack, &r->client.counters);
    synack_stack_counters(run->server.stack, &r->server.counters);
    r->retransmissions = r->client.counters.retransmits + r->server.counters.retransmits;
    r->digest_sent = digest_final(&run->sent);
    r->digest_received = digest_final(&run->received);
    r->intact = !run->mismatch && r->bytes_received == r->bytes_sent &&
                r->digest_received == r->digest_sent;
    r->completed = r->intact && r->bytes_sent == run->total && r->client.closed &&
                   r->server.closed && !r->client.err && !r->server.err &&
                   r->reply_received == o->server_bytes;
    if (r->bytes_received > 0 && r->last_data_read > r->first_data_sent) {
        r->transfer_time = r->last_data_read - r->first_data_sent;
        r->goodput_bps = (double)r->bytes_received * 8e9 / (double)r->transfer_time;
    }
}

/* The client's bytes when it sends messages: each message's letter, after its length when
 * framed. Both streams (what is sent, what is expected) read them. */
static int messages_build(struct run *run)
{
    const struct scenario_opts *o = run->o;
    if (o->nmessages > SCENARIO_MAX_MESSAGES) return -1;
    uint64_t total = 0;
    for (size_t k = 0; k < o->nmessages; k++) {
        if (o->message_sizes[k] == 0 || o->message_sizes[k] > 65535) return -1;
        total += o->message_sizes[k] + (o->framed ? 2 : 0);
        run->message_end[k] = total;
    }
    run->messages = malloc((size_t)total);
    if (!run->messages) return -1;
    uint8_t *p = run->messages;
    for (size_t k = 0; k < o->nmessages; k++) {
        size_t len = o->message_sizes[k];
        if (o->framed) p += frame_prefix(p, len);
        memset(p, 'A' + (int)(k % 26), len);
        p += len;
    }
    run->total = total;
    run->tx.fixed = run->expect.fixed = run->messages;
    run->tx.fixed_len = run->expect.fixed_len = total;
    return 0;
}

int scenario_run(const struct scenario_opts *o, struct scenario_result *r, char *err, size_t errcap)
{
    struct run *run = calloc(1, sizeof *run); /* large: not on the stack */
    if (!run) {
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    memset(r, 0, sizeof *r);
    digest_init(&run->sent);
    digest_init(&run->received);
    run->o = o;
    run->r = r;
    run->client = (struct side){.tag = 'c', .run = run, .out = &r->client};
    run->server = (struct side){.tag = 's', .run = run, .out = &r->server};
    stream_init(&run->tx, o->seed);
    stream_init(&run->expect, o->seed);
    run->total = o->bytes;
    if (o->nmessages && messages_build(run) < 0) {
        snprintf(err, errcap, "bad messages: at most %d, each 1 to 65535 bytes",
                 SCENARIO_MAX_MESSAGES);
        free(run);
        return SYNACK_ERR_INVAL;
    }
    int rc = synack_sim_new(&run->sim, o->seed);
    if (rc < 0) {
        snprintf(err, errcap, "cannot create the simulator: %s", synack_strerror(rc));
        free(run);
        return rc;
    }
    int cnode = -1, snode = -1;
    rc = make_stack(run, &run->client, false, err, errcap);
    if (rc == 0) rc = make_stack(run, &run->server, true, err, errcap);
    if (rc == 0 && (cnode = synack_sim_add_stack(run->sim, run->client.stack)) >= 0 &&
        (snode = synack_sim_add_stack(run->sim, run->server.stack)) >= 0)
        rc = add_links(run, cnode, snode, err, errcap);
    run->client_node = cnode;
    if (rc == 0 && o->pcap && (rc = synack_sim_capture(run->sim, o->pcap)) < 0)
        snprintf(err, errcap, "%s", synack_sim_error(run->sim));
    if (rc == 0) {
        synack_sim_set_observer(run->sim, run_observer, run);
        rc = open_connections(run, err, errcap);
    }
    if (rc == 0) {
        run_loop(run);
        finish_result(run);
    }
    synack_sim_free(run->sim); /* closes the capture file */
    synack_stack_free(run->client.stack);
    synack_stack_free(run->server.stack);
    free(run->messages);
    free(run);
    return rc;
}
