#include "attack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/link.h>

#define SPOOF_NET 0xc6130000u /* 198.19.0.0/16: nobody there answers */
#define CHUNK 16384

static synack_time_t min_time(synack_time_t a, synack_time_t b)
{
    return a < b ? a : b;
}

/* The listener's endpoint and the legitimate client's address. */
static struct synack_endpoint attack_server_ep(void)
{
    return (struct synack_endpoint){synack_addr_v4(ATTACK_SERVER_ADDR), ATTACK_SERVER_PORT};
}

static struct synack_addr attack_client_addr(void)
{
    return synack_addr_v4(ATTACK_CLIENT_ADDR);
}

static int make_stack(struct synack_stack **out, uint32_t addr, uint64_t seed,
                      const struct synack_config *tweak, char *err, size_t errcap)
{
    struct synack_config cfg = *tweak;
    cfg.addrs[0] = synack_addr_v4(addr);
    cfg.seed = seed ^ addr;
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)((seed >> (8 * (i % 8))) ^ (addr >> (i % 4)) ^ (i * 37));
    int rc = synack_stack_new(out, &cfg);
    if (rc < 0) snprintf(err, errcap, "cannot create a stack: %s", synack_strerror(rc));
    return rc;
}

/* ---- the attacker: a simulator node that sends spoofed packets on a schedule ---- */

struct attacker {
    struct synack_rng rng;
    synack_time_t start;
    uint64_t rate;  /* packets per second */
    uint64_t total; /* packets to send */
    uint64_t sent, due;
    /* what to send */
    bool flood;            /* SYNs from random sources; else blind packets to targets */
    const uint32_t *ports; /* blind: the client-side ports of the targets */
    unsigned ntargets;
    uint64_t per_kind[BLIND_KINDS];
};

static synack_time_t attacker_time_of(const struct attacker *a, uint64_t i)
{
    return a->start + (synack_time_t)(i * 1000000000ull / a->rate);
}

static size_t attacker_addrs(void *ctx, struct synack_addr *out, size_t cap)
{
    (void)ctx;
    if (cap == 0) return 0;
    out[0] = synack_addr_v4(ATTACK_ATTACKER_ADDR);
    return 1;
}

static synack_time_t attacker_next_deadline(void *ctx)
{
    const struct attacker *a = ctx;
    if (a->rate == 0 || a->sent + a->due >= a->total) return SYNACK_NEVER;
    return attacker_time_of(a, a->sent + a->due);
}

static void attacker_handle_timers(void *ctx, synack_time_t now)
{
    struct attacker *a = ctx;
    while (a->rate && a->sent + a->due < a->total && attacker_time_of(a, a->sent + a->due) <= now)
        a->due++;
}

/* A SYN from a random spoofed host, as `hping3 -S --rand-source` sends them. */
static void build_flood_syn(struct attacker *a, struct synack_segment *t)
{
    uint32_t r = synack_rng_next_u32(&a->rng);
    t->src = synack_addr_v4(SPOOF_NET | (1 + r % 65534));
    t->dst = synack_addr_v4(ATTACK_SERVER_ADDR);
    t->src_port = (uint16_t)(1024 + synack_rng_below(&a->rng, 64511));
    t->dst_port = ATTACK_SERVER_PORT;
    t->seq = synack_rng_next_u32(&a->rng);
    t->flags = SYNACK_TCP_SYN;
    t->window = 64240;
    t->has_mss = true;
    t->mss = 1460;
}

/* A blind packet: a target connection and a direction at random, sequence and
 * acknowledgment numbers at random; the kinds take turns. */
static void build_blind(struct attacker *a, struct synack_segment *t, uint8_t *payload)
{
    unsigned kind = (unsigned)(a->sent % BLIND_KINDS);
    uint32_t port = a->ports[synack_rng_below(&a->rng, a->ntargets)];
    bool to_server = synack_rng_next_u32(&a->rng) & 1;
    t->src = synack_addr_v4(to_server ? ATTACK_CLIENT_ADDR : ATTACK_SERVER_ADDR);
    t->dst = synack_addr_v4(to_server ? ATTACK_SERVER_ADDR : ATTACK_CLIENT_ADDR);
    t->src_port = (uint16_t)(to_server ? port : ATTACK_SERVER_PORT);
    t->dst_port = (uint16_t)(to_server ? ATTACK_SERVER_PORT : port);
    t->seq = synack_rng_next_u32(&a->rng);
    t->ack = synack_rng_next_u32(&a->rng);
    t->window = (uint16_t)synack_rng_next_u32(&a->rng);
    /* A timestamp option with a random TSval: half of them pass PAWS (RFC 7323 §5.3
     * compares modulo 2^32), so timestamps alone do not turn the attack away. */
    t->has_ts = true;
    t->ts_val = synack_rng_next_u32(&a->rng);
    t->ts_ecr = synack_rng_next_u32(&a->rng);
    switch (kind) {
    case BLIND_RST:
        t->flags =
            (uint8_t)(SYNACK_TCP_RST | ((synack_rng_next_u32(&a->rng) & 1) ? SYNACK_TCP_ACK : 0));
        break;
    case BLIND_SYN:
        t->flags = SYNACK_TCP_SYN;
        break;
    case BLIND_DATA:
        t->flags = SYNACK_TCP_ACK | SYNACK_TCP_PSH;
        t->payload_len = 1 + synack_rng_below(&a->rng, 64);
        for (size_t i = 0; i < t->payload_len; i++)
            payload[i] = (uint8_t)synack_rng_next_u32(&a->rng);
        t->payload = payload;
        break;
    default:
        t->flags = SYNACK_TCP_ACK;
        break;
    }
    a->per_kind[kind]++;
}

static synack_ssize attacker_output(void *ctx, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct attacker *a = ctx;
    (void)now;
    struct synack_segment t = {.ttl = 64, .df = true};
    uint8_t payload[64];
    if (a->due == 0) return SYNACK_ERR_AGAIN;
    if (a->flood)
        build_flood_syn(a, &t);
    else
        build_blind(a, &t, payload);
    a->due--;
    a->sent++;
    size_t n = synack_segment_emit(&t, buf, cap);
    return n ? (synack_ssize)n : SYNACK_ERR_BUFSZ;
}

static int add_attacker(struct synack_sim *sim, struct attacker *a)
{
    static const struct synack_sim_node_ops ops = {.output = attacker_output,
                                                   .next_deadline = attacker_next_deadline,
                                                   .handle_timers = attacker_handle_timers,
                                                   .addrs = attacker_addrs};
    return synack_sim_add_node(sim, &ops, a);
}

/* Links a <-> b with `p` both ways (b -> a only if `both`). */
static int link_nodes(struct synack_sim *sim, int a, int b, const struct synack_sim_link_params *p,
                      bool both, char *err, size_t errcap)
{
    int rc = synack_sim_add_link(sim, a, b, p);
    if (rc >= 0 && both) rc = synack_sim_add_link(sim, b, a, p);
    if (rc < 0) snprintf(err, errcap, "cannot add a link: %s", synack_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* ===================================== SYN flood ====================================== */

void flood_opts_default(struct flood_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 1000000;
    o->duration = SYNACK_S(1);
    o->clients = 1000;
    o->client_window = SYNACK_S(1);
    o->cookies = SYNACK_SYNCOOKIES_OVERFLOW;
    o->backlog = 128;
    o->delay = SYNACK_MS(10);
    o->max_time = SYNACK_S(300);
    o->seed = 1;
}

enum fc_state { FC_WAITING, FC_CONNECTING, FC_DONE, FC_FAILED };

struct fclient {
    synack_time_t start, done_at;
    struct synack_tcp *c;
    enum fc_state state;
};

struct flood {
    const struct flood_opts *o;
    struct flood_result *r;
    struct synack_sim *sim;
    struct synack_stack *client, *server;
    struct synack_listener *listener;
    struct fclient *fc;
    unsigned next_start; /* clients are started in order of their start time */
    unsigned finished;
    struct attacker atk;
};

static int by_start(const void *a, const void *b)
{
    const struct fclient *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void flood_client_events(struct flood *f)
{
    struct synack_event ev;
    synack_time_t now = synack_sim_now(f->sim);
    while (synack_stack_next_event(f->client, &ev) == 0) {
        struct fclient *c = ev.user;
        if (!c) continue;
        switch (ev.type) {
        case SYNACK_EV_CONNECTED:
            if (c->state != FC_CONNECTING) break;
            c->state = FC_DONE;
            c->done_at = now;
            f->finished++;
            synack_tcp_close(c->c, now); /* the handshake is what is measured */
            c->c = NULL;
            break;
        case SYNACK_EV_ERROR:
            if (c->state != FC_CONNECTING) break;
            c->state = FC_FAILED;
            f->finished++;
            break;
        case SYNACK_EV_CLOSED:
            if (c->c) {
                synack_tcp_close(c->c, now);
                c->c = NULL;
            }
            break;
        default:
            break;
        }
    }
}

static void flood_server_events(struct flood *f)
{
    struct synack_event ev;
    synack_time_t now = synack_sim_now(f->sim);
    while (synack_stack_next_event(f->server, &ev) == 0) {
        if (ev.type != SYNACK_EV_ACCEPTABLE) continue;
        struct synack_tcp *c;
        while (synack_tcp_accept(f->listener, &c) == 0)
            synack_tcp_close(c, now);
    }
}

static void flood_start_clients(struct flood *f)
{
    synack_time_t now = synack_sim_now(f->sim);
    struct synack_endpoint server = attack_server_ep();
    while (f->next_start < f->o->clients && f->fc[f->next_start].start <= now) {
        struct fclient *c = &f->fc[f->next_start++];
        int rc = synack_tcp_connect(f->client, &server, NULL, c, &c->c, now);
        c->state = rc == 0 ? FC_CONNECTING : FC_FAILED;
        if (rc != 0) f->finished++;
    }
}

static void flood_track(struct flood *f)
{
    struct synack_stack_stats st;
    synack_stack_stats(f->server, &st);
    struct flood_result *r = f->r;
    if (st.half_open > r->peak_half_open) r->peak_half_open = st.half_open;
    if (st.conns > r->peak_conns) r->peak_conns = st.conns;
    if (st.time_wait > r->peak_time_wait) r->peak_time_wait = st.time_wait;
    size_t bytes = st.conns * st.conn_bytes + st.conn_storage + st.time_wait * st.time_wait_bytes;
    if (bytes > r->peak_bytes) {
        r->peak_bytes = bytes;
        r->peak_storage = st.conn_storage;
    }
    r->conn_bytes = st.conn_bytes;
}

static void flood_loop(struct flood *f)
{
    const struct flood_opts *o = f->o;
    synack_time_t flood_end = o->rate ? o->duration : 0;
    for (;;) {
        flood_client_events(f);
        flood_server_events(f);
        flood_start_clients(f);
        flood_client_events(f);
        synack_sim_flush(f->sim);
        flood_track(f);
        synack_time_t now = synack_sim_now(f->sim);
        if (f->finished == o->clients && now >= flood_end) break;
        synack_time_t next = synack_sim_next_time(f->sim);
        synack_time_t wake = f->next_start < o->clients ? f->fc[f->next_start].start : SYNACK_NEVER;
        synack_time_t t = min_time(next, wake);
        if (t == SYNACK_NEVER || t > o->max_time) break;
        int rc = wake <= next ? synack_sim_run_until(f->sim, wake) : synack_sim_step(f->sim);
        if (rc != 0) break;
    }
}

static int cmp_time(const void *a, const void *b)
{
    synack_time_t x = *(const synack_time_t *)a, y = *(const synack_time_t *)b;
    return x < y ? -1 : x > y;
}

static void flood_finish(struct flood *f)
{
    struct flood_result *r = f->r;
    r->clients = f->o->clients;
    synack_time_t *t = malloc((f->o->clients + 1) * sizeof *t);
    size_t n = 0;
    for (unsigned i = 0; i < f->o->clients; i++) {
        const struct fclient *c = &f->fc[i];
        if (c->state == FC_DONE) {
            r->completed++;
            if (t) t[n++] = c->done_at - c->start;
        } else if (c->state == FC_FAILED) {
            r->failed++;
        }
    }
    if (t && n) {
        qsort(t, n, sizeof *t, cmp_time);
        r->connect_p50 = t[(n - 1) * 50 / 100];
        r->connect_p90 = t[(n - 1) * 90 / 100];
        r->connect_p99 = t[(n - 1) * 99 / 100];
        r->connect_max = t[n - 1];
    }
    free(t);
    r->spoofed = f->atk.sent;
    synack_stack_counters(f->server, &r->server);
    r->sim_time = synack_sim_now(f->sim);
    struct synack_sim_stats ss;
    synack_sim_stats(f->sim, &ss);
    r->steps = ss.steps;
}

static int flood_setup(struct flood *f, char *err, size_t errcap)
{
    const struct flood_opts *o = f->o;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.max_conns = o->clients + 16;
    cfg.max_time_wait = o->clients + 16;
    int rc = make_stack(&f->client, ATTACK_CLIENT_ADDR, o->seed, &cfg, err, errcap);
    if (rc < 0) return rc;
    synack_config_default(&cfg);
    cfg.syncookies = o->cookies;
    cfg.max_time_wait = o->clients + 16;
    rc = make_stack(&f->server, ATTACK_SERVER_ADDR, o->seed, &cfg, err, errcap);
    if (rc < 0) return rc;
    rc = synack_sim_new(&f->sim, o->seed);
    if (rc < 0) {
        snprintf(err, errcap, "cannot create the simulator: %s", synack_strerror(rc));
        return rc;
    }
    int cn = synack_sim_add_stack(f->sim, f->client);
    int sn = synack_sim_add_stack(f->sim, f->server);
    int an = add_attacker(f->sim, &f->atk);
    if (cn < 0 || sn < 0 || an < 0) {
        snprintf(err, errcap, "cannot add a node to the simulator");
        return SYNACK_ERR_NOMEM;
    }
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = o->delay;
    rc = link_nodes(f->sim, cn, sn, &p, true, err, errcap);
    p.latency = SYNACK_MS(1);
    if (rc == 0) rc = link_nodes(f->sim, an, sn, &p, false, err, errcap);
    if (rc == 0 && o->pcap && (rc = synack_sim_capture(f->sim, o->pcap)) < 0)
        snprintf(err, errcap, "%s", synack_sim_error(f->sim));
    if (rc == 0) {
        struct synack_endpoint server = attack_server_ep();
        rc = synack_tcp_listen(f->server, &server, o->backlog, NULL, &f->listener);
        if (rc < 0) snprintf(err, errcap, "cannot listen: %s", synack_strerror(rc));
    }
    return rc;
}

int flood_run(const struct flood_opts *o, struct flood_result *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    if (o->backlog == 0 || o->clients > 16000) {
        snprintf(err, errcap, "backlog must be at least 1 and clients at most 16000");
        return SYNACK_ERR_INVAL;
    }
    struct flood f = {.o = o, .r = r};
    f.fc = calloc(o->clients + 1, sizeof *f.fc);
    if (!f.fc) {
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    struct synack_rng rng;
    synack_rng_seed(&rng, o->seed, 0x636c69656e7473ull /* "clients" */);
    for (unsigned i = 0; i < o->clients; i++)
        f.fc[i].start = o->client_window
                            ? (synack_time_t)(synack_rng_unit(&rng) * (double)o->client_window)
                            : 0;
    qsort(f.fc, o->clients, sizeof *f.fc, by_start);
    synack_rng_seed(&f.atk.rng, o->seed, 0x666c6f6f64ull /* "flood" */);
    f.atk.flood = true;
    f.atk.rate = o->rate;
    f.atk.total = o->rate ? (uint64_t)((double)o->rate * (double)o->duration / 1e9) : 0;
    int rc = flood_setup(&f, err, errcap);
    if (rc == 0) {
        flood_loop(&f);
        flood_finish(&f);
    }
    synack_sim_free(f.sim);
    synack_stack_free(f.client);
    synack_stack_free(f.server);
    free(f.fc);
    return rc;
}

/* ================================== blind injection =================================== */

void blind_opts_default(struct blind_opts *o)
{
    memset(o, 0, sizeof *o);
    o->conns = 4;
    o->bytes = 16u << 20;
    o->delay = SYNACK_MS(10);
    o->rate_bps = 100000000;
    o->queue_bytes = 256 * 1024;
    o->per_kind = 10000;
    o->inject_rate = 8000;
    o->max_time = SYNACK_S(600);
    o->seed = 1;
}

/* A deterministic byte stream per connection: the writer's and the reader's copy. */
struct stream {
    struct synack_rng rng;
    uint8_t buf[CHUNK];
    size_t off, len;
};

static void stream_init(struct stream *s, uint64_t seed, unsigned conn)
{
    synack_rng_seed(&s->rng, seed, 0x626c696e64ull + conn);
    s->off = s->len = 0;
}

/* The next bytes of the stream, at least one and at most `max`; *n says how many. */
static const uint8_t *stream_next(struct stream *s, size_t max, size_t *n)
{
    if (s->off == s->len) {
        for (size_t i = 0; i < CHUNK; i += 4) {
            uint32_t x = synack_rng_next_u32(&s->rng);
            memcpy(s->buf + i, &x, 4);
        }
        s->off = 0;
        s->len = CHUNK;
    }
    *n = s->len - s->off < max ? s->len - s->off : max;
    const uint8_t *p = s->buf + s->off;
    return p;
}

struct pair {
    unsigned idx;
    struct synack_tcp *cc, *sc; /* client's and server's connection (NULL once released) */
    uint64_t cc_id, sc_id;
    uint32_t port; /* the client's port */
    bool established, shut, eof, client_closed, server_closed, failed;
    uint64_t written, read;
    struct stream tx, rx;
};

struct blind {
    const struct blind_opts *o;
    struct blind_result *r;
    struct synack_sim *sim;
    struct synack_stack *client, *server;
    struct synack_listener *listener;
    struct pair *p;
    uint32_t *ports;
    unsigned established;
    bool injecting, control_sent;
    struct pair *control_pair; /* the connection the control RST went to */
    synack_time_t first_data, last_read, control_at;
    struct attacker atk;
    uint8_t buf[CHUNK];
};

static struct pair *pair_by_port(struct blind *b, uint16_t port)
{
    for (unsigned i = 0; i < b->o->conns; i++)
        if (b->p[i].port == port) return &b->p[i];
    return NULL;
}

static void pair_fail(struct blind *b, struct pair *p)
{
    (void)b;
    p->failed = true;
}

static void pair_write(struct blind *b, struct pair *p, synack_time_t now)
{
    while (p->cc && p->established && p->written < b->o->bytes) {
        size_t n;
        uint64_t left = b->o->bytes - p->written;
        const uint8_t *d = stream_next(&p->tx, left < CHUNK ? (size_t)left : CHUNK, &n);
        synack_ssize w = synack_tcp_send(p->cc, d, n, now);
        if (w <= 0) break;
        if (b->first_data == 0) b->first_data = now;
        p->tx.off += (size_t)w;
        p->written += (uint64_t)w;
    }
    if (p->cc && p->written == b->o->bytes && !p->shut) {
        synack_tcp_shutdown(p->cc, now);
        p->shut = true;
    }
}

static void pair_read(struct blind *b, struct pair *p, synack_time_t now)
{
    while (p->sc) {
        synack_ssize n = synack_tcp_recv(p->sc, b->buf, sizeof b->buf, now);
        if (n == 0) {
            if (!p->eof) {
                p->eof = true;
                synack_tcp_close(p->sc, now); /* every byte read: the server closes too */
                p->sc = NULL;
            }
            return;
        }
        if (n < 0) return;
        for (synack_ssize i = 0; i < n;) {
            size_t m;
            const uint8_t *e = stream_next(&p->rx, (size_t)(n - i), &m);
            for (size_t k = 0; k < m; k++)
                if (e[k] != b->buf[i + (synack_ssize)k]) b->r->bytes_wrong++;
            p->rx.off += m;
            i += (synack_ssize)m;
        }
        p->read += (uint64_t)n;
        b->r->bytes_received += (uint64_t)n;
        b->last_read = now;
    }
}

static void blind_start_injection(struct blind *b, synack_time_t now)
{
    for (unsigned i = 0; i < b->o->conns; i++)
        b->ports[i] = b->p[i].port;
    b->atk.ports = b->ports;
    b->atk.ntargets = b->o->conns;
    b->atk.start = now;
    b->atk.rate = b->o->inject_rate;
    b->atk.total = (uint64_t)b->o->per_kind * BLIND_KINDS;
    b->injecting = true;
    /* The control RST goes 0.5 s into the injection, to a connection still carrying data. */
    b->control_at = now + SYNACK_MS(500);
}

static void blind_client_events(struct blind *b)
{
    struct synack_event ev;
    synack_time_t now = synack_sim_now(b->sim);
    while (synack_stack_next_event(b->client, &ev) == 0) {
        struct pair *p = ev.user;
        if (!p || ev.conn_id != p->cc_id) continue;
        switch (ev.type) {
        case SYNACK_EV_CONNECTED:
            p->established = true;
            if (++b->established == b->o->conns && b->o->per_kind) blind_start_injection(b, now);
            break;
        case SYNACK_EV_ERROR:
            pair_fail(b, p);
            break;
        case SYNACK_EV_PEER_CLOSED:
        case SYNACK_EV_CLOSED:
            if (p->cc && (ev.type == SYNACK_EV_CLOSED || p->shut)) {
                synack_tcp_close(p->cc, now);
                p->cc = NULL;
            }
            if (ev.type == SYNACK_EV_CLOSED) p->client_closed = true;
            break;
        default:
            break;
        }
    }
}

static void blind_server_events(struct blind *b)
{
    struct synack_event ev;
    synack_time_t now = synack_sim_now(b->sim);
    while (synack_stack_next_event(b->server, &ev) == 0) {
        if (ev.type == SYNACK_EV_ACCEPTABLE) {
            struct synack_tcp *c;
            while (synack_tcp_accept(b->listener, &c) == 0) {
                struct synack_tcp_info info;
                synack_tcp_info(c, &info);
                struct pair *p = pair_by_port(b, info.remote_port);
                if (!p || p->sc) {
                    synack_tcp_abort(c, now);
                    continue;
                }
                p->sc = c;
                p->sc_id = synack_tcp_id(c);
                synack_tcp_set_user(c, p);
            }
            continue;
        }
        struct pair *p = ev.user;
        if (!p || ev.conn_id != p->sc_id) continue;
        if (ev.type == SYNACK_EV_ERROR) pair_fail(b, p);
        if (ev.type == SYNACK_EV_CLOSED) {
            p->server_closed = true;
            if (p->sc) {
                synack_tcp_close(p->sc, now);
                p->sc = NULL;
            }
        }
    }
}

static void blind_control(struct blind *b, synack_time_t now)
{
    if (!b->o->control || b->control_sent || !b->injecting || now < b->control_at) return;
    b->control_sent = true;
    struct pair *p = NULL;
    for (unsigned i = 0; i < b->o->conns && !p; i++)
        if (b->p[i].sc && !b->p[i].eof && !b->p[i].failed) p = &b->p[i];
    if (!p) return; /* every transfer is over: nothing to reset */
    b->control_pair = p;
    struct synack_tcp_info info;
    synack_tcp_info(p->sc, &info);
    /* What a blind attacker cannot know: the server's RCV.NXT, at the very moment the RST
     * arrives (so it goes straight into the server's stack: on a link, data in flight
     * would move RCV.NXT first and make it a challenge-ACK case, RFC 5961 §3.2). */
    struct synack_segment rst = {.src = attack_client_addr(),
                                 .dst = synack_addr_v4(ATTACK_SERVER_ADDR),
                                 .ttl = 64,
                                 .df = true,
                                 .src_port = (uint16_t)p->port,
                                 .dst_port = ATTACK_SERVER_PORT,
                                 .seq = info.rcv_nxt,
                                 .flags = SYNACK_TCP_RST};
    uint8_t pkt[64];
    size_t n = synack_segment_emit(&rst, pkt, sizeof pkt);
    synack_stack_input(b->server, pkt, n, now);
}

static bool blind_done(const struct blind *b)
{
    for (unsigned i = 0; i < b->o->conns; i++) {
        const struct pair *p = &b->p[i];
        if (!p->failed && !(p->client_closed && p->server_closed)) return false;
    }
    return true;
}

static void blind_loop(struct blind *b)
{
    for (uint64_t steps = 0; steps < 400000000ull; steps++) {
        synack_time_t now = synack_sim_now(b->sim);
        blind_client_events(b);
        blind_server_events(b);
        for (unsigned i = 0; i < b->o->conns; i++) {
            pair_write(b, &b->p[i], now);
            pair_read(b, &b->p[i], now);
        }
        blind_control(b, now);
        blind_client_events(b);
        blind_server_events(b);
        synack_sim_flush(b->sim);
        if (blind_done(b)) break;
        synack_time_t next = synack_sim_next_time(b->sim);
        synack_time_t wake =
            b->o->control && !b->control_sent && b->injecting ? b->control_at : SYNACK_NEVER;
        synack_time_t t = min_time(next, wake);
        if (t == SYNACK_NEVER || t > b->o->max_time) break;
        int rc = wake <= next ? synack_sim_run_until(b->sim, wake) : synack_sim_step(b->sim);
        if (rc != 0) break;
    }
}

static int blind_setup(struct blind *b, char *err, size_t errcap)
{
    const struct blind_opts *o = b->o;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.sndbuf = cfg.rcvbuf = 1u << 20; /* enough for the bandwidth-delay product */
    int rc = make_stack(&b->client, ATTACK_CLIENT_ADDR, o->seed, &cfg, err, errcap);
    if (rc == 0) rc = make_stack(&b->server, ATTACK_SERVER_ADDR, o->seed, &cfg, err, errcap);
    if (rc == 0 && (rc = synack_sim_new(&b->sim, o->seed)) < 0)
        snprintf(err, errcap, "cannot create the simulator: %s", synack_strerror(rc));
    if (rc < 0) return rc;
    int cn = synack_sim_add_stack(b->sim, b->client);
    int sn = synack_sim_add_stack(b->sim, b->server);
    int an = add_attacker(b->sim, &b->atk);
    if (cn < 0 || sn < 0 || an < 0) {
        snprintf(err, errcap, "cannot add a node to the simulator");
        return SYNACK_ERR_NOMEM;
    }
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = o->delay;
    p.rate_bps = o->rate_bps;
    p.queue_bytes = o->queue_bytes;
    rc = link_nodes(b->sim, cn, sn, &p, true, err, errcap);
    /* The attacker's own links: unlimited, so its packets do not queue behind the data. */
    synack_sim_link_params_default(&p);
    p.latency = SYNACK_MS(1);
    if (rc == 0) rc = link_nodes(b->sim, an, sn, &p, false, err, errcap);
    if (rc == 0) rc = link_nodes(b->sim, an, cn, &p, false, err, errcap);
    if (rc == 0 && o->pcap && (rc = synack_sim_capture(b->sim, o->pcap)) < 0)
        snprintf(err, errcap, "%s", synack_sim_error(b->sim));
    struct synack_endpoint server = attack_server_ep();
    if (rc == 0 &&
        (rc = synack_tcp_listen(b->server, &server, o->conns + 4, NULL, &b->listener)) < 0)
        snprintf(err, errcap, "cannot listen: %s", synack_strerror(rc));
    for (unsigned i = 0; rc == 0 && i < o->conns; i++) {
        struct pair *pr = &b->p[i];
        pr->idx = i;
        stream_init(&pr->tx, o->seed, i);
        stream_init(&pr->rx, o->seed, i);
        rc = synack_tcp_connect(b->client, &server, NULL, pr, &pr->cc, 0);
        if (rc < 0) {
            snprintf(err, errcap, "cannot connect: %s", synack_strerror(rc));
            break;
        }
        struct synack_tcp_info info;
        synack_tcp_info(pr->cc, &info);
        pr->port = info.local_port;
        pr->cc_id = synack_tcp_id(pr->cc);
    }
    return rc;
}

static void blind_finish(struct blind *b)
{
    struct blind_result *r = b->r;
    r->conns = b->o->conns;
    for (unsigned i = 0; i < b->o->conns; i++) {
        const struct pair *p = &b->p[i];
        r->bytes_sent += p->written;
        if (p->failed)
            r->reset++;
        else if (p->client_closed && p->server_closed && p->read == b->o->bytes)
            r->completed++;
        else
            r->stalled++;
    }
    if (b->o->control) r->control_reset = b->control_pair && b->control_pair->failed;
    for (int k = 0; k < BLIND_KINDS; k++)
        r->injected[k] = b->atk.per_kind[k];
    if (b->last_read > b->first_data) {
        r->transfer_time = b->last_read - b->first_data;
        r->goodput_bps = (double)r->bytes_received * 8e9 / (double)r->transfer_time;
    }
    synack_stack_counters(b->client, &r->client);
    synack_stack_counters(b->server, &r->server);
    r->sim_time = synack_sim_now(b->sim);
}

int blind_run(const struct blind_opts *o, struct blind_result *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    if (o->conns == 0 || o->conns > 1000 || (o->per_kind && o->inject_rate == 0)) {
        snprintf(err, errcap, "conns must be 1 to 1000, and the injection rate above 0");
        return SYNACK_ERR_INVAL;
    }
    struct blind *b = calloc(1, sizeof *b);
    struct pair *p = calloc(o->conns, sizeof *p);
    uint32_t *ports = calloc(o->conns, sizeof *ports);
    if (!b || !p || !ports) {
        free(b);
        free(p);
        free(ports);
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    b->o = o;
    b->r = r;
    b->p = p;
    b->ports = ports;
    synack_rng_seed(&b->atk.rng, o->seed, 0x626c696e64ull /* "blind" */);
    int rc = blind_setup(b, err, errcap);
    if (rc == 0) {
        blind_loop(b);
        blind_finish(b);
    }
    synack_sim_free(b->sim);
    synack_stack_free(b->client);
    synack_stack_free(b->server);
    free(ports);
    free(p);
    free(b);
    return rc;
}
