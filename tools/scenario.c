#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"

#define SCENARIO_CLIENT_PORT 40000 /* only for simultaneous open: both ends need to know */
#define CHUNK 16384

/* A deterministic byte stream: what the client sends and what the server expects. */
struct stream {
    struct rand_pcg rng;
    uint8_t buf[CHUNK];
    size_t off, len;
};

static void stream_init(struct stream *s, uint64_t seed)
{
    rand_seed(&s->rng, seed, 0x7061796c6f6164ull /* "payload" */);
    s->off = s->len = 0;
}

static void stream_fill(struct stream *s, uint64_t remaining)
{
    if (s->off < s->len) return;
    s->len = remaining < CHUNK ? (size_t)remaining : CHUNK;
    for (size_t i = 0; i < s->len; i++)
        s->buf[i] = (uint8_t)rand_u32(&s->rng);
    s->off = 0;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ull

struct side {
    char tag;
    struct run *run;
    struct scenario_side *out;
    struct synack_stack *stack;
    struct synack_tcp *conn;
    uint64_t conn_id; /* of `conn`, to recognise its CLOSED event */
    struct synack_listener *listener;
    bool connected;
    bool released;  /* we called close: the pointer is the stack's now */
    bool peer_done; /* recv returned 0: the peer's FIN and every byte before it arrived */
};

struct run {
    const struct scenario_opts *o;
    struct scenario_result *r;
    struct synack_sim *sim;
    struct side client, server;
    struct stream tx, expect;
    uint64_t written;
    bool mismatch;
    uint8_t rxbuf[CHUNK];
};

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
}

static void side_close(struct side *sd, synack_time_t now)
{
    if (!sd->conn || sd->released) return;
    sd->released = true;
    synack_tcp_close(sd->conn, now);
}

static void side_event(struct side *sd, const struct synack_event *ev, synack_time_t now)
{
    switch (ev->type) {
    case SYNACK_EV_STATE:
        record_state(sd, ev->old_state, ev->new_state, ev->time);
        break;
    case SYNACK_EV_CONNECTED:
        if (ev->conn_id == sd->conn_id) sd->connected = true;
        break;
    case SYNACK_EV_ACCEPTABLE: {
        struct synack_tcp *c;
        if (!sd->conn && synack_tcp_accept(sd->listener, &c) == 0) {
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
        if (!sd->released) {
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

/* The client writes as much of the stream as the send buffer takes. */
static void client_write(struct run *run, synack_time_t now)
{
    struct side *sd = &run->client;
    uint64_t total = run->o->bytes;
    while (sd->connected && !sd->released && run->written < total) {
        stream_fill(&run->tx, total - run->written);
        synack_ssize n =
            synack_tcp_send(sd->conn, run->tx.buf + run->tx.off, run->tx.len - run->tx.off, now);
        if (n <= 0) break;
        run->tx.off += (size_t)n;
        run->written += (uint64_t)n;
        run->r->digest_sent = fnv1a(run->r->digest_sent, run->tx.buf + run->tx.off - n, (size_t)n);
        run->r->bytes_sent += (uint64_t)n;
    }
}

/* Reads what arrived; the server checks every byte against the expected stream. */
static void side_read(struct run *run, struct side *sd, synack_time_t now)
{
    while (sd->conn && !sd->released && !sd->peer_done) {
        synack_ssize n = synack_tcp_recv(sd->conn, run->rxbuf, sizeof run->rxbuf, now);
        if (n == 0) sd->peer_done = true;
        if (n <= 0) break;
        if (sd->tag != 's') continue; /* the server sends no data: nothing to check on the client */
        struct scenario_result *r = run->r;
        for (size_t i = 0; i < (size_t)n; i++) {
            stream_fill(&run->expect, UINT64_MAX);
            if (!run->mismatch && run->expect.buf[run->expect.off] != run->rxbuf[i]) {
                run->mismatch = true;
                r->first_mismatch = r->bytes_received + i;
            }
            run->expect.off++;
        }
        r->digest_received = fnv1a(r->digest_received, run->rxbuf, (size_t)n);
        r->bytes_received += (uint64_t)n;
    }
}

/* Who closes when: the scenario's choreography. */
static void app_step(struct run *run)
{
    const struct scenario_opts *o = run->o;
    synack_time_t now = synack_sim_now(run->sim);
    client_write(run, now);
    side_read(run, &run->server, now);
    side_read(run, &run->client, now);
    /* Nobody closes before the handshake is done: a zero-byte demo still shows it. */
    bool all_written = run->client.connected && run->written == o->bytes;
    bool all_received = run->r->bytes_received == o->bytes;
    if (o->simultaneous_close) {
        if (all_written && all_received && run->server.connected) {
            side_close(&run->client, now);
            side_close(&run->server, now);
        }
    } else if (o->server_closes) {
        if (all_received) side_close(&run->server, now);
        if (run->client.peer_done) side_close(&run->client, now);
    } else {
        if (all_written) side_close(&run->client, now);
        if (run->server.peer_done) side_close(&run->server, now);
    }
}

void scenario_opts_default(struct scenario_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bytes = 64 * 1024;
    o->delay = SYNACK_MS(10);
    o->rate_bps = 100000000; /* 100 Mbit/s: segments leave one after another */
    o->seed = 1;
}

static int make_stack(struct run *run, struct side *sd, uint32_t addr, char *err, size_t errcap)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addr = addr;
    cfg.seed = run->o->seed ^ addr;
    /* Each stack its own ISN key, derived from the seed so runs repeat exactly. */
    struct rand_pcg k;
    rand_seed(&k, run->o->seed, addr);
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)rand_u32(&k);
    int rc = synack_stack_new(&sd->stack, &cfg);
    if (rc < 0) {
        snprintf(err, errcap, "cannot create a stack: %s", synack_strerror(rc));
        return rc;
    }
    sd->out->addr = addr;
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
    int rc = synack_sim_add_link(run->sim, cnode, snode, &p);
    if (rc >= 0) {
        p.drop_list = o->drop_server_to_client;
        p.drop_count = o->drop_s2c_count;
        rc = synack_sim_add_link(run->sim, snode, cnode, &p);
    }
    if (rc < 0) snprintf(err, errcap, "cannot add a link: %s", synack_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* Counts segments and losses, then hands the event to the caller's observer. */
static void run_observer(void *ctx, const struct synack_sim_packet *ev)
{
    struct run *run = ctx;
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
    if (o->simultaneous_open) {
        /* Both ends are active: each connects to the other's known port at time 0. */
        rc = synack_tcp_connect(run->client.stack, SCENARIO_SERVER_ADDR, SCENARIO_SERVER_PORT,
                                SCENARIO_CLIENT_PORT, &run->client, &c, 0);
        if (rc == 0) {
            side_adopt(&run->client, c);
            rc = synack_tcp_connect(run->server.stack, SCENARIO_CLIENT_ADDR, SCENARIO_CLIENT_PORT,
                                    SCENARIO_SERVER_PORT, &run->server, &c, 0);
            if (rc == 0) side_adopt(&run->server, c);
        }
    } else {
        rc = synack_tcp_listen(run->server.stack, SCENARIO_SERVER_PORT, 16, &run->server,
                               &run->server.listener);
        if (rc == 0) {
            rc = synack_tcp_connect(run->client.stack, SCENARIO_SERVER_ADDR, SCENARIO_SERVER_PORT,
                                    0, &run->client, &c, 0);
            if (rc == 0) side_adopt(&run->client, c);
        }
    }
    if (rc < 0) snprintf(err, errcap, "cannot open the connection: %s", synack_strerror(rc));
    return rc;
}

static void run_loop(struct run *run)
{
    synack_time_t limit = run->o->max_sim_time ? run->o->max_sim_time : SYNACK_S(3600);
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
        if (next == SYNACK_NEVER || next > limit) break;
        if (synack_sim_step(run->sim) != 0) break;
    }
}

int scenario_run(const struct scenario_opts *o, struct scenario_result *r, char *err, size_t errcap)
{
    struct run *run = calloc(1, sizeof *run); /* large: not on the stack */
    if (!run) {
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    memset(r, 0, sizeof *r);
    r->digest_sent = r->digest_received = FNV_OFFSET;
    run->o = o;
    run->r = r;
    run->client = (struct side){.tag = 'c', .run = run, .out = &r->client};
    run->server = (struct side){.tag = 's', .run = run, .out = &r->server};
    stream_init(&run->tx, o->seed);
    stream_init(&run->expect, o->seed);
    int rc = synack_sim_new(&run->sim, o->seed);
    if (rc < 0) {
        snprintf(err, errcap, "cannot create the simulator: %s", synack_strerror(rc));
        free(run);
        return rc;
    }
    int cnode = -1, snode = -1;
    rc = make_stack(run, &run->client, SCENARIO_CLIENT_ADDR, err, errcap);
    if (rc == 0) rc = make_stack(run, &run->server, SCENARIO_SERVER_ADDR, err, errcap);
    if (rc == 0 && (cnode = synack_sim_add_stack(run->sim, run->client.stack)) >= 0 &&
        (snode = synack_sim_add_stack(run->sim, run->server.stack)) >= 0)
        rc = add_links(run, cnode, snode, err, errcap);
    if (rc == 0 && o->pcap && (rc = synack_sim_capture(run->sim, o->pcap)) < 0)
        snprintf(err, errcap, "%s", synack_sim_error(run->sim));
    if (rc == 0) {
        synack_sim_set_observer(run->sim, run_observer, run);
        rc = open_connections(run, err, errcap);
    }
    if (rc == 0) {
        run_loop(run);
        r->sim_time = synack_sim_now(run->sim);
        synack_stack_counters(run->client.stack, &r->client.counters);
        synack_stack_counters(run->server.stack, &r->server.counters);
        r->retransmissions = r->client.counters.retransmits + r->server.counters.retransmits;
        r->intact = !run->mismatch && r->bytes_received == r->bytes_sent &&
                    r->digest_received == r->digest_sent;
        r->completed = r->intact && r->bytes_sent == o->bytes && r->client.closed &&
                       r->server.closed && !r->client.err && !r->server.err;
    }
    synack_sim_free(run->sim); /* closes the capture file */
    synack_stack_free(run->client.stack);
    synack_stack_free(run->server.stack);
    free(run);
    return rc;
}
