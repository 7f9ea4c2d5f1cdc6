/*
 * The `synack http` engine against synack clients over the simulator: real files in a
 * temporary root, real request bytes, every response parsed and its body compared with
 * the file. Each test leaves http-<test>.pcap in the build directory when it fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "httpd.h"
#include "synack/link.h"

#define CLIENT_ADDR 0xc6120001u /* 198.18.0.1 */
#define SERVER_ADDR 0xc6120002u /* 198.18.0.2 */
#define MAX_CLIENTS 64
#define MAX_STEPS 20000000u

struct client {
    struct synack_tcp *tcp;
    uint64_t id;
    bool used, connected, eof, closed, released;
    int err;
    bool keep_open_on_eof; /* do not close when the server's FIN arrives */
    size_t abort_after;    /* reset the connection once this many bytes arrived (0: never) */
    size_t close_after;    /* close (FIN) once this many bytes arrived (0: never) */
    char kinds[64];        /* 'G' or 'H' per request sent: HEAD responses have no body */
    char *req;             /* request bytes still to send */
    size_t req_len, req_off;
    uint8_t *resp; /* everything received */
    size_t resp_len, resp_cap;
};

struct fixture {
    char base[64], root[96], pcap[256];
    bool passed;
    struct synack_sim *sim;
    struct synack_stack *server, *client;
    struct httpd *h;
    struct client cl[MAX_CLIENTS];
    unsigned logged; /* log lines */
    int last_log_status;
    char last_log[256];
    bool client_sndbuf_fixed; /* the client's send buffer stays at 64 KiB (no autotuning) */
};

/* ---- files ------------------------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail_msg("create %s: %s", path, strerror(errno));
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) fail_msg("write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

static void rootf(const struct fixture *f, char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", f->root, name);
}

static void put(const struct fixture *f, const char *name, const char *text)
{
    char p[256];
    rootf(f, p, sizeof p, name);
    write_file(p, text, strlen(text));
}

/* Deterministic bytes that differ at every offset in a way a shift would show. */
static uint8_t *pattern(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len ? len : 1);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        b[i] = (uint8_t)(x >> 24);
    }
    return b;
}

static void put_pattern(const struct fixture *f, const char *name, size_t len, uint32_t seed)
{
    char p[256];
    rootf(f, p, sizeof p, name);
    uint8_t *b = pattern(len, seed);
    write_file(p, b, len);
    free(b);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- the network ------------------------------------------------------------------------- */

/* The server stack as a node whose deadline includes the engine's (idle timeouts). */
static int srv_input(void *ctx, const uint8_t *pkt, size_t len, synack_time_t now)
{
    struct fixture *f = ctx;
    return synack_stack_input(f->server, pkt, len, now);
}

static synack_ssize srv_output(void *ctx, uint8_t *buf, size_t cap, synack_time_t now)
{
    struct fixture *f = ctx;
    return synack_stack_output(f->server, buf, cap, now);
}

static synack_time_t srv_deadline(void *ctx)
{
    struct fixture *f = ctx;
    synack_time_t a = synack_stack_next_deadline(f->server), b = httpd_next_deadline(f->h);
    return a < b ? a : b;
}

static void srv_timers(void *ctx, synack_time_t now)
{
    struct fixture *f = ctx;
    synack_stack_handle_timers(f->server, now);
}

static size_t srv_addrs(void *ctx, struct synack_addr *out, size_t cap)
{
    (void)ctx;
    if (cap == 0) return 0;
    out[0] = synack_addr_v4(SERVER_ADDR);
    return 1;
}

static void on_log(void *ctx, const struct httpd_log_entry *e)
{
    struct fixture *f = ctx;
    f->logged++;
    f->last_log_status = e->status;
    snprintf(f->last_log, sizeof f->last_log, "%s %s %d %llu", e->method, e->target, e->status,
             (unsigned long long)e->length);
}

static struct synack_stack *make_stack(uint32_t addr, bool sndbuf_fixed)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    if (sndbuf_fixed) cfg.sndbuf_max = 0;
    cfg.addrs[0] = synack_addr_v4(addr);
    cfg.seed = addr;
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)(addr + i);
    struct synack_stack *s = NULL;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

/* Builds the network: client and server 5 ms apart at 100 Mbit/s, `loss` each way. */
static void start_net(struct fixture *f, const struct httpd_config *given, double loss)
{
    struct httpd_config cfg;
    if (given)
        cfg = *given;
    else
        httpd_config_default(&cfg);
    cfg.root = f->root;
    cfg.log = on_log;
    cfg.log_ctx = f;
    f->server = make_stack(SERVER_ADDR, false);
    f->client = make_stack(CLIENT_ADDR, f->client_sndbuf_fixed);
    char err[256] = "";
    if (httpd_new(&f->h, f->server, &cfg, err, sizeof err) != 0) fail_msg("httpd_new: %s", err);
    assert_int_equal(synack_sim_new(&f->sim, 7), 0);
    static const struct synack_sim_node_ops ops = {.input = srv_input,
                                                   .output = srv_output,
                                                   .next_deadline = srv_deadline,
                                                   .handle_timers = srv_timers,
                                                   .addrs = srv_addrs};
    int sn = synack_sim_add_node(f->sim, &ops, f);
    int cn = synack_sim_add_stack(f->sim, f->client);
    assert_true(sn >= 0 && cn >= 0);
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = SYNACK_MS(5);
    p.rate_bps = 100000000;
    p.loss = loss;
    assert_true(synack_sim_add_link(f->sim, cn, sn, &p) >= 0);
    assert_true(synack_sim_add_link(f->sim, sn, cn, &p) >= 0);
    assert_int_equal(synack_sim_capture(f->sim, f->pcap), 0);
}

static struct client *client_by_id(struct fixture *f, uint64_t id)
{
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (f->cl[i].used && f->cl[i].id == id) return &f->cl[i];
    return NULL;
}

static void serve(struct fixture *f)
{
    synack_time_t now = synack_sim_now(f->sim);
    struct synack_event ev;
    while (synack_stack_next_event(f->server, &ev) == 0)
        httpd_on_event(f->h, &ev, now);
    httpd_pump(f->h, now);
}

static void client_io(struct client *c, synack_time_t now)
{
    if (!c->connected || c->released) return;
    while (c->req_off < c->req_len) {
        synack_ssize n = synack_tcp_send(c->tcp, (const uint8_t *)c->req + c->req_off,
                                         c->req_len - c->req_off, now);
        if (n <= 0) break;
        c->req_off += (size_t)n;
    }
    for (;;) {
        if (c->resp_cap - c->resp_len < 65536) {
            c->resp_cap = c->resp_cap ? 2 * c->resp_cap : 262144;
            c->resp = realloc(c->resp, c->resp_cap);
            assert_non_null(c->resp);
        }
        synack_ssize n = synack_tcp_recv(c->tcp, c->resp + c->resp_len, 65536, now);
        if (n == 0) c->eof = true;
        if (n <= 0) break;
        c->resp_len += (size_t)n;
    }
    if (c->abort_after && c->resp_len >= c->abort_after) {
        c->released = true;
        synack_tcp_abort(c->tcp, now);
    } else if ((c->close_after && c->resp_len >= c->close_after) ||
               (c->eof && !c->keep_open_on_eof)) {
        c->released = true;
        synack_tcp_close(c->tcp, now);
    }
}

static void clients(struct fixture *f)
{
    synack_time_t now = synack_sim_now(f->sim);
    struct synack_event ev;
    while (synack_stack_next_event(f->client, &ev) == 0) {
        struct client *c = client_by_id(f, ev.conn_id);
        if (!c) continue;
        if (ev.type == SYNACK_EV_CONNECTED) c->connected = true;
        if (ev.type == SYNACK_EV_ERROR) c->err = ev.err;
        if (ev.type == SYNACK_EV_CLOSED) {
            c->closed = true;
            if (!c->released) {
                c->released = true;
                synack_tcp_close(c->tcp, now); /* frees the CLOSED connection */
            }
        }
    }
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (f->cl[i].used) client_io(&f->cl[i], now);
}

typedef bool (*pred_fn)(struct fixture *f, void *arg);

/* Steps the network until `pred` holds or virtual time passes `limit`. */
static bool run_until(struct fixture *f, pred_fn pred, void *arg, synack_time_t limit)
{
    for (unsigned steps = 0; steps < MAX_STEPS; steps++) {
        serve(f);
        clients(f);
        if (pred && pred(f, arg)) return true;
        synack_time_t next = synack_sim_next_time(f->sim);
        if (next > limit) {
            synack_sim_flush(f->sim);
            next = synack_sim_next_time(f->sim);
        }
        int rc = next > limit ? synack_sim_run_until(f->sim, limit) : synack_sim_step(f->sim);
        if (rc == SYNACK_ERR_STATE) fail_msg("simulator: %s", synack_sim_error(f->sim));
        if (next > limit || rc == SYNACK_ERR_AGAIN) {
            serve(f);
            clients(f);
            return pred ? pred(f, arg) : true;
        }
    }
    fail_msg("no end after %u steps", MAX_STEPS);
    return false;
}

/* Runs for `d` more virtual time. */
static void run_for(struct fixture *f, synack_time_t d)
{
    run_until(f, NULL, NULL, synack_sim_now(f->sim) + d);
}

static void client_add_request(struct client *c, const char *req)
{
    size_t n = strlen(req);
    c->req = realloc(c->req, c->req_len + n);
    assert_non_null(c->req);
    memcpy(c->req + c->req_len, req, n);
    c->req_len += n;
}

/* Opens a client connection that will send `req` (raw bytes, may be NULL). */
static struct client *client_open(struct fixture *f, const char *req, const char *kinds)
{
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &f->cl[i];
        if (c->used) continue;
        memset(c, 0, sizeof *c);
        c->used = true;
        snprintf(c->kinds, sizeof c->kinds, "%s", kinds ? kinds : "");
        if (req) client_add_request(c, req);
        synack_time_t now = synack_sim_now(f->sim);
        assert_int_equal(synack_tcp_connect(f->client, &SYNACK_TEST_EP(SERVER_ADDR, 80),
                                            &SYNACK_TEST_EP(0, 0), c, &c->tcp, now),
                         0);
        c->id = synack_tcp_id(c->tcp);
        return c;
    }
    fail_msg("too many clients");
    return NULL;
}

/* Queues one more request ('G' or 'H' response kind) on an open client. */
static void client_more(struct client *c, const char *req, char kind)
{
    size_t k = strlen(c->kinds);
    assert_true(k + 1 < sizeof c->kinds);
    c->kinds[k] = kind;
    c->kinds[k + 1] = '\0';
    client_add_request(c, req);
}

/* ---- responses --------------------------------------------------------------------------- */

struct resp {
    int status;
    const char *hdr; /* the header block, from the status line through the empty line */
    size_t hdr_len;
    bool has_length;
    uint64_t length;
    const uint8_t *body;
    size_t body_len;
};

/* The value of header `name` in `r` copied into `out` ("" and false if absent). */
static bool header(const struct resp *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    const char *p = memchr(r->hdr, '\n', r->hdr_len);
    const char *end = r->hdr + r->hdr_len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl && v[vl - 1] == '\r') vl--;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol;
    }
    return false;
}

/* Parses the response at `p`: the bytes it takes, or 0 if it is not all there. */
static size_t parse_resp(const uint8_t *p, size_t len, bool head, struct resp *r)
{
    memset(r, 0, sizeof *r);
    if (!p || len == 0) return 0;
    const char *s = (const char *)p;
    const char *end = memmem(s, len, "\r\n\r\n", 4);
    if (!end) return 0;
    r->hdr = s;
    r->hdr_len = (size_t)(end - s) + 4;
    if (r->hdr_len < 12 || memcmp(s, "HTTP/1.1 ", 9) != 0) fail_msg("bad status line");
    r->status = atoi(s + 9);
    char v[64];
    if (header(r, "Content-Length", v, sizeof v)) {
        r->has_length = true;
        r->length = strtoull(v, NULL, 10);
    }
    if (!r->has_length) fail_msg("response %d without Content-Length", r->status);
    size_t body = head ? 0 : (size_t)r->length;
    if (len - r->hdr_len < body) return 0;
    r->body = p + r->hdr_len;
    r->body_len = body;
    return r->hdr_len + body;
}

/* The k-th complete response of `c` (0-based); false if not (yet) there. */
static bool nth_resp(const struct client *c, size_t k, struct resp *r)
{
    size_t off = 0;
    for (size_t i = 0; i <= k; i++) {
        if (i >= strlen(c->kinds)) return false;
        size_t used = parse_resp(c->resp + off, c->resp_len - off, c->kinds[i] == 'H', r);
        if (!used) return false;
        off += used;
    }
    return true;
}

struct want_resp {
    struct client *c;
    size_t count;
};

static bool has_responses(struct fixture *f, void *arg)
{
    (void)f;
    struct want_resp *w = arg;
    struct resp r;
    return nth_resp(w->c, w->count - 1, &r) || w->c->closed || w->c->err;
}

static bool is_eof_or_closed(struct fixture *f, void *arg)
{
    (void)f;
    struct client *c = arg;
    return c->eof || c->closed || c->err;
}

/* Waits for `count` responses of `c` (30 s of virtual time at most). */
static void wait_responses(struct fixture *f, struct client *c, size_t count)
{
    struct want_resp w = {c, count};
    run_until(f, has_responses, &w, synack_sim_now(f->sim) + SYNACK_S(30));
    struct resp r;
    if (!nth_resp(c, count - 1, &r))
        fail_msg("expected %zu responses, have %zu bytes, eof %d err %d", count, c->resp_len,
                 c->eof, c->err);
}

static void wait_eof(struct fixture *f, struct client *c)
{
    run_until(f, is_eof_or_closed, c, synack_sim_now(f->sim) + SYNACK_S(30));
    assert_true(c->eof || c->closed);
}

static void expect_body(const struct resp *r, const void *want, size_t len)
{
    assert_int_equal(r->length, len);
    assert_int_equal(r->body_len, len);
    assert_memory_equal(r->body, want, len);
}

static void expect_file(const struct resp *r, size_t len, uint32_t seed)
{
    uint8_t *b = pattern(len, seed);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, len);
    assert_memory_equal(r->body, b, len);
    free(b);
}

static void expect_header(const struct resp *r, const char *name, const char *want)
{
    char v[256];
    if (!header(r, name, v, sizeof v)) fail_msg("no %s header", name);
    if (strcmp(v, want) != 0) fail_msg("%s: expected '%s', got '%s'", name, want, v);
}

static void expect_no_header(const struct resp *r, const char *name)
{
    char v[256];
    if (header(r, name, v, sizeof v)) fail_msg("unexpected %s: %s", name, v);
}

/* One request on a new connection; returns its client with the response parsed. */
static struct client *fetch(struct fixture *f, const char *req, char kind, struct resp *r)
{
    char kinds[2] = {kind, '\0'};
    struct client *c = client_open(f, req, kinds);
    wait_responses(f, c, 1);
    assert_true(nth_resp(c, 0, r));
    return c;
}

static struct client *get(struct fixture *f, const char *target, struct resp *r)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 198.18.0.2\r\n\r\n", target);
    return fetch(f, req, 'G', r);
}

static void server_stats(struct fixture *f, struct httpd_stats *st)
{
    httpd_stats(f->h, st);
}

/* ---- fixture ----------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->base, sizeof f->base, "/tmp/synack-http-XXXXXX");
    if (!mkdtemp(f->base)) return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->base);
    if (mkdir(f->root, 0755) < 0) return -1;
    *state = f;
    char p[256];
    put(f, "index.html", "<h1>root index</h1>\n");
    put(f, "hello.txt", "hello, world\n");
    put(f, "style.css", "body{}\n");
    put(f, "data.xyz", "unknown\n");
    put(f, "empty.txt", "");
    put_pattern(f, "pic.png", 300, 1);
    put_pattern(f, "mid.bin", 256 * 1024, 2);
    rootf(f, p, sizeof p, "sub");
    mkdir(p, 0755);
    put(f, "sub/index.html", "<h1>sub index</h1>\n");
    rootf(f, p, sizeof p, "emptydir");
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/secret.txt", f->base);
    write_file(p, "TOP SECRET\n", 11);
    rootf(f, p, sizeof p, "link-out");
    if (symlink("../secret.txt", p) < 0) return -1;
    char target[256];
    snprintf(target, sizeof target, "%s/secret.txt", f->base);
    rootf(f, p, sizeof p, "link-abs");
    if (symlink(target, p) < 0) return -1;
    rootf(f, p, sizeof p, "link-in");
    if (symlink("hello.txt", p) < 0) return -1;
    rootf(f, p, sizeof p, "dirlink-out");
    if (symlink("..", p) < 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        free(f->cl[i].req);
        free(f->cl[i].resp);
    }
    synack_sim_free(f->sim);
    httpd_free(f->h, 0);
    synack_stack_free(f->server);
    synack_stack_free(f->client);
    nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (f->passed) unlink(f->pcap);
    free(f);
    return 0;
}

static struct fixture *fix(void **state, const char *name)
{
    struct fixture *f = *state;
    snprintf(f->pcap, sizeof f->pcap, "%s/http-%s.pcap", SYNACK_BUILD_DIR, name);
    return f;
}

#define FIX() fix(state, __func__)
#define PASS() (f->passed = true)

/* ---- tests ------------------------------------------------------------------------------- */

static void get_returns_file(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    get(f, "/hello.txt", &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello, world\n", 13);
    expect_header(&r, "Content-Type", "text/plain; charset=utf-8");
    expect_no_header(&r, "Connection"); /* HTTP/1.1 keeps the connection */
    expect_no_header(&r, "Date");       /* no epoch offset: the engine has no clock */
    assert_string_equal(f->last_log, "GET /hello.txt 200 13");
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.status_2xx, 1);
    PASS();
}

static void get_empty_file(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *c = get(f, "/empty.txt", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.length, 0);
    client_more(c, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 'G');
    wait_responses(f, c, 2);
    assert_true(nth_resp(c, 1, &r));
    expect_body(&r, "hello, world\n", 13);
    PASS();
}

static void head_returns_headers_only(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *c = fetch(f, "HEAD /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n", 'H', &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.length, 256 * 1024);
    run_for(f, SYNACK_S(2));
    assert_int_equal(c->resp_len, r.hdr_len); /* not one body byte */
    /* The connection is still in step: the next response parses where it should. */
    client_more(c, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 'G');
    wait_responses(f, c, 2);
    assert_true(nth_resp(c, 1, &r));
    expect_body(&r, "hello, world\n", 13);
    PASS();
}

static void keepalive_sequential_requests(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *c = get(f, "/hello.txt", &r);
    client_more(c, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n", 'G');
    wait_responses(f, c, 2);
    client_more(c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 'G');
    wait_responses(f, c, 3);
    assert_true(nth_resp(c, 0, &r));
    expect_body(&r, "hello, world\n", 13);
    assert_true(nth_resp(c, 1, &r));
    expect_body(&r, "body{}\n", 7);
    assert_true(nth_resp(c, 2, &r));
    expect_body(&r, "<h1>root index</h1>\n", 20);
    assert_false(c->eof);
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.requests, 3);
    PASS();
}

static void pipelined_answered_in_order(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct client *c = client_open(f,
                                   "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n",
                                   "GHGGG");
    wait_responses(f, c, 5);
    struct resp r;
    assert_true(nth_resp(c, 0, &r));
    expect_body(&r, "hello, world\n", 13);
    assert_true(nth_resp(c, 1, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.length, 7);
    assert_true(nth_resp(c, 2, &r));
    assert_int_equal(r.status, 404);
    assert_true(nth_resp(c, 3, &r));
    expect_file(&r, 256 * 1024, 2);
    assert_true(nth_resp(c, 4, &r));
    expect_body(&r, "body{}\n", 7);
    PASS();
}

static bool has_bytes(struct fixture *f, void *arg)
{
    return f->cl[0].resp_len >= *(size_t *)arg;
}

static void connection_close_honoured(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    /* Requests sent behind the one that closes, some after the server has answered,
     * are never read: the response must still arrive whole, ended by a FIN and not cut
     * short by a RST (RFC 9112 §9.6). */
    struct client *c = client_open(f,
                                   "GET /mid.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                   "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                                   "G");
    size_t some = 20000;
    run_until(f, has_bytes, &some, SYNACK_S(30));
    client_add_request(c, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_responses(f, c, 1);
    assert_true(nth_resp(c, 0, &r));
    expect_file(&r, 256 * 1024, 2);
    expect_header(&r, "Connection", "close");
    wait_eof(f, c);
    run_for(f, SYNACK_S(1));
    assert_int_equal(c->err, 0);                           /* a FIN, not a RST */
    assert_int_equal(c->resp_len, r.hdr_len + r.body_len); /* nothing after it */
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    PASS();
}

static void http10_closes_unless_keepalive(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *a = fetch(f, "GET /hello.txt HTTP/1.0\r\n\r\n", 'G', &r);
    expect_body(&r, "hello, world\n", 13);
    expect_header(&r, "Connection", "close");
    wait_eof(f, a);

    struct client *b =
        fetch(f, "GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 'G', &r);
    expect_header(&r, "Connection", "keep-alive");
    run_for(f, SYNACK_S(1));
    assert_false(b->eof);
    client_more(b, "GET /style.css HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 'G');
    wait_responses(f, b, 2);
    assert_true(nth_resp(b, 1, &r));
    expect_body(&r, "body{}\n", 7);
    PASS();
}

static void missing_file_is_404(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *c = get(f, "/nope.txt", &r);
    assert_int_equal(r.status, 404);
    expect_body(&r, "404 Not Found\n", 14);
    assert_string_equal(f->last_log, "GET /nope.txt 404 14");
    /* A 404 keeps the connection. */
    client_more(c, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 'G');
    wait_responses(f, c, 2);
    assert_true(nth_resp(c, 1, &r));
    assert_int_equal(r.status, 200);
    PASS();
}

static void other_methods_are_405(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    /* A body with Content-Length is skipped: the GET behind it is answered. */
    struct client *c =
        client_open(f,
                    "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                    "GET /x HTTP"
                    "PUT /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                    "DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                    "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GGGGG");
    wait_responses(f, c, 5);
    struct resp r;
    for (size_t i = 0; i < 4; i++) {
        assert_true(nth_resp(c, i, &r));
        assert_int_equal(r.status, 405);
        expect_header(&r, "Allow", "GET, HEAD");
    }
    assert_true(nth_resp(c, 4, &r));
    expect_body(&r, "hello, world\n", 13);
    PASS();
}

static void huge_body_on_405_closes(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    struct client *c =
        fetch(f, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\nsome of the body",
              'G', &r);
    assert_int_equal(r.status, 405);
    expect_header(&r, "Connection", "close");
    wait_eof(f, c);
    PASS();
}

/* Each request on its own connection: `status` and then the server's FIN. */
static void expect_status_and_close(struct fixture *f, const char *req, int status)
{
    struct resp r;
    struct client *c = fetch(f, req, 'G', &r);
    if (r.status != status) fail_msg("%d instead of %d for: %s", r.status, status, req);
    expect_header(&r, "Connection", "close");
    wait_eof(f, c);
}

static void malformed_requests_are_400(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /hello.txt\r\n\r\n",
        "GET  /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /hello.txt HTTP/1.1 \r\nHost: x\r\n\r\n",
        "get /hello.txt http/1.1\r\nHost: x\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length:\r\n\r\n",
        ("GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
         "Transfer-Encoding: chunked\r\n\r\n"),
        "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_status_and_close(f, bad[i], 400);
    expect_status_and_close(f, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_status_and_close(
        f, "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
    /* Still serving, and every connection was released. */
    struct resp r;
    struct client *c = get(f, "/hello.txt", &r);
    assert_int_equal(r.status, 200);
    synack_tcp_close(c->tcp, synack_sim_now(f->sim));
    c->released = true;
    run_for(f, SYNACK_S(2));
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    PASS();
}

static void oversize_headers_are_400(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    char *req = malloc(12 * 1024);
    assert_non_null(req);
    /* Just inside the bound: served. */
    int n = snprintf(req, 12 * 1024, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(req + n, 'a', 7900);
    strcpy(req + n + 7900, "\r\n\r\n");
    assert_true(strlen(req) < HTTPD_REQUEST_MAX);
    struct resp r;
    fetch(f, req, 'G', &r);
    assert_int_equal(r.status, 200);
    /* Past it: 400 and the connection closes. */
    memset(req + n, 'a', 10000);
    strcpy(req + n + 10000, "\r\n\r\n");
    expect_status_and_close(f, req, 400);
    free(req);
    PASS();
}

static bool body_has_secret(const struct client *c)
{
    return c->resp_len && memmem(c->resp, c->resp_len, "TOP SECRET", 10) != NULL;
}

static void escapes_refused(struct fixture *f)
{
    static const struct {
        const char *target;
        int status;
    } cases[] = {
        {"/../secret.txt", 400},
        {"/../../../../../../etc/passwd", 400},
        {"/%2e%2e/secret.txt", 400},
        {"/%2E%2E%2fsecret.txt", 400},
        {"/sub/..%2f..%2fsecret.txt", 400},
        {"/sub/%2e%2e/%2e%2e/secret.txt", 400},
        {"/sub/../hello.txt", 400}, /* ".." is refused, never resolved */
        {"/hello.txt%00.html", 400},
        {"/%00", 400},
        {"http://x/../secret.txt", 400},
        {"http://x/%2e%2e/secret.txt", 400},
        {"/link-out", 404},
        {"/link-abs", 404},
        {"/dirlink-out/secret.txt", 404},
        {"/dirlink-out/root/hello.txt", 404},
        {"//etc/passwd", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r;
        struct client *c = get(f, cases[i].target, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: %d instead of %d", cases[i].target, r.status, cases[i].status);
        assert_false(body_has_secret(c));
    }
    /* What is inside the root still works through the same spellings. */
    static const char *const ok[] = {"/./hello.txt", "//hello.txt", "http://x/hello.txt",
                                     "/hello.txt?x=/../../secret.txt", "/%68ello.txt"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct resp r;
        get(f, ok[i], &r);
        if (r.status != 200) fail_msg("%s: %d instead of 200", ok[i], r.status);
        expect_body(&r, "hello, world\n", 13);
    }
}

static void path_escapes_refused(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    escapes_refused(f);
    PASS();
}

static void path_escapes_refused_without_openat2(void **state)
{
    struct fixture *f = FIX();
    struct httpd_config cfg;
    httpd_config_default(&cfg);
    cfg.symlinks = false; /* component by component with O_NOFOLLOW */
    start_net(f, &cfg, 0);
    escapes_refused(f);
    struct resp r;
    get(f, "/link-in", &r);
    assert_int_equal(r.status, 404); /* no symlink is followed at all */
    PASS();
}

static bool have_openat2(void)
{
    struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
    if (fd >= 0) close((int)fd);
    return fd >= 0 || errno != ENOSYS;
}

static void symlink_inside_root_followed(void **state)
{
    struct fixture *f = FIX();
    if (!have_openat2()) {
        PASS();
        skip(); /* the kernel has no openat2: symlinks are refused, as tested above */
    }
    start_net(f, NULL, 0);
    struct resp r;
    get(f, "/link-in", &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello, world\n", 13);
    PASS();
}

static void directory_serves_index(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    struct resp r;
    get(f, "/", &r);
    expect_body(&r, "<h1>root index</h1>\n", 20);
    expect_header(&r, "Content-Type", "text/html; charset=utf-8");
    get(f, "/sub/", &r);
    expect_body(&r, "<h1>sub index</h1>\n", 19);
    get(f, "/sub", &r);
    expect_body(&r, "<h1>sub index</h1>\n", 19);
    get(f, "/emptydir/", &r);
    assert_int_equal(r.status, 404);
    PASS();
}

static void content_type_by_extension(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    static const struct {
        const char *target, *type;
    } cases[] = {
        {"/index.html", "text/html; charset=utf-8"}, {"/style.css", "text/css; charset=utf-8"},
        {"/hello.txt", "text/plain; charset=utf-8"}, {"/pic.png", "image/png"},
        {"/data.xyz", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r;
        get(f, cases[i].target, &r);
        assert_int_equal(r.status, 200);
        expect_header(&r, "Content-Type", cases[i].type);
    }
    assert_string_equal(httpd_content_type("A.PNG"), "image/png");
    assert_string_equal(httpd_content_type("noext"), "application/octet-stream");
    assert_string_equal(httpd_content_type("dir.d/file"), "application/octet-stream");
    assert_string_equal(httpd_content_type("x.tar.gz"), "application/gzip");
    PASS();
}

static void large_file(struct fixture *f, double loss)
{
    put_pattern(f, "big.bin", 6 * 1024 * 1024 + 123, 9);
    start_net(f, NULL, loss);
    struct resp r;
    get(f, "/big.bin", &r);
    expect_file(&r, 6 * 1024 * 1024 + 123, 9);
    assert_string_equal(f->last_log, "GET /big.bin 200 6291579");
}

static void large_file_byte_exact(void **state)
{
    struct fixture *f = FIX();
    large_file(f, 0);
    PASS();
}

static void large_file_with_loss_byte_exact(void **state)
{
    struct fixture *f = FIX();
    large_file(f, 0.02);
    struct synack_sim_link_stats ls;
    assert_int_equal(synack_sim_link_stats(f->sim, 1, &ls), 0);
    assert_true(ls.lost > 0); /* the loss really happened and was repaired */
    PASS();
}

static bool all_have_one(struct fixture *f, void *arg)
{
    size_t n = *(size_t *)arg;
    for (size_t i = 0; i < n; i++) {
        struct resp r;
        if (!nth_resp(&f->cl[i], 0, &r) && !f->cl[i].err) return false;
    }
    return true;
}

static void concurrent_connections_served_together(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    size_t n = 40;
    for (size_t i = 0; i < n; i++)
        client_open(f, "GET /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n", "G");
    run_until(f, all_have_one, &n, SYNACK_S(60));
    for (size_t i = 0; i < n; i++) {
        struct resp r;
        assert_true(nth_resp(&f->cl[i], 0, &r));
        expect_file(&r, 256 * 1024, 2);
    }
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.accepted, n);
    /* Served side by side: a one-at-a-time server would never have two in progress. */
    assert_true(st.max_sending >= n / 2);
    PASS();
}

static void max_conns_resets_extra(void **state)
{
    struct fixture *f = FIX();
    struct httpd_config cfg;
    httpd_config_default(&cfg);
    cfg.max_conns = 2;
    start_net(f, &cfg, 0);
    struct client *a = client_open(f, NULL, "");
    struct client *b = client_open(f, NULL, "");
    run_for(f, SYNACK_S(1));
    struct client *c = client_open(f, NULL, "");
    run_for(f, SYNACK_S(1));
    assert_int_equal(a->err, 0);
    assert_int_equal(b->err, 0);
    assert_int_equal(c->err, SYNACK_ERR_CONNRESET);
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.open_conns, 2);
    PASS();
}

static void idle_clients_time_out(void **state)
{
    struct fixture *f = FIX();
    int fds = count_fds();
    /* The idle timeout alone: the request and linger bounds have tests of their own. */
    struct httpd_config cfg;
    httpd_config_default(&cfg);
    cfg.request_timeout = 0;
    cfg.linger_timeout = 0;
    start_net(f, &cfg, 0);
    struct client *quiet = client_open(f, NULL, "");
    struct client *partial = client_open(f, "GET /hello.txt HTT", "G");
    quiet->keep_open_on_eof = true; /* it never closes: the server must end it */
    run_for(f, SYNACK_S(59));
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 2);
    assert_false(quiet->eof);
    run_for(f, SYNACK_S(2));
    assert_true(quiet->eof);   /* closed gracefully after 60 s */
    assert_true(partial->eof); /* the partial request too */
    assert_int_equal(quiet->err, 0);
    run_for(f, SYNACK_S(62));
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    assert_true(st.timeouts >= 3);                      /* two closes, one reset */
    assert_int_equal(quiet->err, SYNACK_ERR_CONNRESET); /* it lingered too long */
    assert_int_equal(httpd_next_deadline(f->h), SYNACK_NEVER);
    struct resp r;
    get(f, "/hello.txt", &r);
    assert_int_equal(r.status, 200);
    synack_sim_free(f->sim);
    f->sim = NULL;
    httpd_free(f->h, 0);
    f->h = NULL;
    assert_int_equal(count_fds(), fds); /* no file or root descriptor left open */
    PASS();
}

/* Sends `text` one byte every `gap`, as a slow (or hostile) client would. */
static void trickle(struct fixture *f, struct client *c, const char *text, synack_time_t gap)
{
    for (const char *p = text; *p; p++) {
        char one[2] = {*p, '\0'};
        client_add_request(c, one);
        run_for(f, gap);
    }
}

/* Every byte is progress for the idle timeout, so without a bound of its own a request
 * trickled a byte a second would hold its connection for ever. The bound runs from the
 * first byte of each request: a slow request inside it is served, on the same connection
 * the next one that takes too long gets 408 and a close. */
static void request_timeout_bounds_trickled_headers(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0); /* request_timeout 20 s, idle_timeout 60 s */
    struct client *c = client_open(f, NULL, "GG");
    run_for(f, SYNACK_S(1));
    trickle(f, c, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", SYNACK_MS(400)); /* 14 s */
    wait_responses(f, c, 1);
    struct resp r;
    assert_true(nth_resp(c, 0, &r));
    expect_body(&r, "hello, world\n", 13);
    /* The second request: a byte a second, never finished. Not cut short for 19 s... */
    struct httpd_stats st;
    trickle(f, c, "GET /hello.txt HTTP", SYNACK_S(1));
    assert_false(nth_resp(c, 1, &r));
    server_stats(f, &st);
    assert_int_equal(st.request_timeouts, 0);
    assert_int_equal(st.open_conns, 1);
    /* ... but answered 408 once 20 s have passed since its first byte. */
    trickle(f, c, "/1.1\r\nX: ", SYNACK_S(1));
    assert_true(nth_resp(c, 1, &r));
    assert_int_equal(r.status, 408);
    expect_header(&r, "Connection", "close");
    assert_int_equal(f->last_log_status, 408);
    server_stats(f, &st);
    assert_int_equal(st.request_timeouts, 1);
    wait_eof(f, c);
    run_for(f, SYNACK_S(2));
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    assert_int_equal(st.timeouts, 0); /* the idle timeout never came into it */
    PASS();
}

/* A client that has the whole response and our FIN but neither closes nor stops sending:
 * without a bound of its own the linger would drop its bytes for ever. */
static void linger_bounded_in_time(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0); /* linger_timeout 10 s, idle_timeout 60 s */
    struct resp r;
    struct client *c =
        client_open(f, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "G");
    c->keep_open_on_eof = true;
    wait_responses(f, c, 1);
    assert_true(nth_resp(c, 0, &r));
    expect_body(&r, "hello, world\n", 13);
    wait_eof(f, c); /* the server's FIN: it lingers from here */
    trickle(f, c, "abcdefgh", SYNACK_S(1));
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(c->err, 0); /* 8 s: still lingering */
    assert_int_equal(st.open_conns, 1);
    trickle(f, c, "ijklmnop", SYNACK_S(1));
    assert_int_equal(c->err, SYNACK_ERR_CONNRESET);
    server_stats(f, &st);
    assert_int_equal(st.linger_resets, 1);
    assert_int_equal(st.open_conns, 0);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(httpd_next_deadline(f->h), SYNACK_NEVER);
    PASS();
}

/* The same client sending a flood instead: reset after HTTPD_LINGER_DROP_MAX bytes, long
 * before linger_timeout. */
static void linger_bounded_in_bytes(void **state)
{
    struct fixture *f = FIX();
    /* A send buffer that cannot take the whole flood, so that the client is seen cut off
     * before it handed over all of it (one that grew would take it all at once). */
    f->client_sndbuf_fixed = true;
    start_net(f, NULL, 0);
    struct client *c =
        client_open(f, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "G");
    c->keep_open_on_eof = true;
    size_t flood = 2 * HTTPD_LINGER_DROP_MAX;
    c->req = realloc(c->req, c->req_len + flood);
    assert_non_null(c->req);
    memset(c->req + c->req_len, 'x', flood);
    c->req_len += flood;
    run_for(f, SYNACK_S(3)); /* 2 MiB take 0.2 s at 100 Mbit/s; linger_timeout is 10 s */
    assert_int_equal(c->err, SYNACK_ERR_CONNRESET);
    assert_true(c->req_off < c->req_len); /* cut off before it had sent it all */
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.linger_resets, 1);
    assert_int_equal(st.open_conns, 0);
    PASS();
}

static void client_gone_mid_response(struct fixture *f, bool reset)
{
    put_pattern(f, "big.bin", 4 * 1024 * 1024, 3);
    int fds = count_fds();
    start_net(f, NULL, 0);
    struct client *c = client_open(f, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", "G");
    if (reset)
        c->abort_after = 100 * 1024;
    else
        c->close_after = 100 * 1024;
    run_for(f, SYNACK_S(20));
    assert_true(c->released);
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    assert_true(st.bytes_sent < 4 * 1024 * 1024); /* it stopped sending */
    /* Not wedged: the next client is served. */
    struct resp r;
    struct client *d = get(f, "/hello.txt", &r);
    expect_body(&r, "hello, world\n", 13);
    synack_tcp_close(d->tcp, synack_sim_now(f->sim));
    d->released = true;
    run_for(f, SYNACK_S(2));
    server_stats(f, &st);
    assert_int_equal(st.open_conns, 0);
    synack_sim_free(f->sim);
    f->sim = NULL;
    httpd_free(f->h, 0);
    f->h = NULL;
    assert_int_equal(count_fds(), fds);
}

static void client_reset_mid_response(void **state)
{
    struct fixture *f = FIX();
    client_gone_mid_response(f, true);
    PASS();
}

static void client_close_mid_response(void **state)
{
    struct fixture *f = FIX();
    client_gone_mid_response(f, false);
    PASS();
}

static bool has_reply_or_eof(struct fixture *f, void *arg)
{
    (void)f;
    struct client *c = arg;
    return c->resp_len > 0 || c->eof || c->closed || c->err;
}

/* Valid requests with random bytes overwritten: whatever the server makes of them, it
 * answers or closes, never crashes (the sanitizers watch), and ends with nothing open. */
static void mutated_requests_never_wedge(void **state)
{
    struct fixture *f = FIX();
    start_net(f, NULL, 0);
    static const char *const base[] = {
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "HEAD /sub/ HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
        "GET http://x/%68ello.txt?q=1 HTTP/1.1\r\nHost: x\r\nX: a, b\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nhi",
    };
    static const char alphabet[] = " \r\n:%./?#\t\x00\x7f\xff"
                                   "aG0";
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        char req[256];
        const char *b = base[round % 4];
        size_t len = strlen(b);
        memcpy(req, b, len);
        x = x * 1664525u + 1013904223u;
        for (unsigned k = 0; k < 1 + (x >> 29); k++) {
            x = x * 1664525u + 1013904223u;
            size_t pos = (x >> 8) % len;
            x = x * 1664525u + 1013904223u;
            req[pos] = alphabet[(x >> 8) % (sizeof alphabet - 1)];
        }
        struct client *c = client_open(f, NULL, "G");
        c->req = malloc(len);
        assert_non_null(c->req);
        memcpy(c->req, req, len); /* may hold NULs: not a C string */
        c->req_len = len;
        run_until(f, has_reply_or_eof, c, synack_sim_now(f->sim) + SYNACK_S(2));
        if (!c->released) {
            c->released = true;
            synack_tcp_close(c->tcp, synack_sim_now(f->sim));
        }
        run_for(f, SYNACK_MS(50));
        c->used = false; /* the slot is reused; its buffers are freed below */
        free(c->req);
        free(c->resp);
        c->req = NULL;
        c->resp = NULL;
    }
    run_for(f, SYNACK_S(130)); /* incomplete requests reach their idle timeout */
    struct httpd_stats st;
    server_stats(f, &st);
    assert_int_equal(st.accepted, 300);
    assert_int_equal(st.open_conns, 0);
    assert_true(st.status_4xx > 0 && st.status_2xx > 0);
    struct resp r;
    get(f, "/hello.txt", &r);
    expect_body(&r, "hello, world\n", 13);
    PASS();
}

static void date_header_from_epoch_offset(void **state)
{
    struct fixture *f = FIX();
    struct httpd_config cfg;
    httpd_config_default(&cfg);
    cfg.epoch_offset = SYNACK_S(784111777); /* RFC 9110 §5.6.7's example date */
    start_net(f, &cfg, 0);
    struct resp r;
    get(f, "/hello.txt", &r);
    assert_true(synack_sim_now(f->sim) < SYNACK_S(1));
    expect_header(&r, "Date", "Sun, 06 Nov 1994 08:49:37 GMT");
    PASS();
}

static void target_to_path_rules(void **state)
{
    struct fixture *f = FIX();
    static const struct {
        const char *target, *path;
    } ok[] = {
        {"/a/b", "a/b"},         {"/", "."},
        {"/a//b/./c/", "a/b/c"}, {"/%41%62", "Ab"},
        {"http://h", "."},       {"http://h/x?y", "x"},
        {"HTTP://h/x", "x"},     {"/...", "..."},
        {"/a?/../b", "a"},       {"/caf%C3%A9", "caf\xc3\xa9"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int rc = httpd_target_to_path(ok[i].target, strlen(ok[i].target), out, sizeof out);
        if (rc != 0) fail_msg("%s: %d", ok[i].target, rc);
        assert_string_equal(out, ok[i].path);
    }
    static const char *const bad[] = {"*",      "x",         "/a%2",  "/a%2F", "/%00",
                                      "/..",    "/a/../b",   "/%2e.", "/a#b",  "http:///x",
                                      "/a\x01", "/\xc3\xa9", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (httpd_target_to_path(bad[i], strlen(bad[i]), out, sizeof out) != 400)
            fail_msg("'%s' was accepted as '%s'", bad[i], out);
    /* The result must fit. */
    assert_int_equal(httpd_target_to_path("/abcdef", 7, out, 4), 400);
    assert_int_equal(httpd_target_to_path("/abc", 4, out, 4), 0);
    PASS();
}

static void bad_config_refused(void **state)
{
    struct fixture *f = FIX();
    struct synack_stack *s = make_stack(SERVER_ADDR, false);
    struct httpd *h = NULL;
    struct httpd_config cfg;
    char err[256] = "";
    httpd_config_default(&cfg);
    assert_int_equal(httpd_new(&h, s, &cfg, err, sizeof err), SYNACK_ERR_INVAL); /* no root */
    cfg.root = "/nonexistent-synack-root";
    assert_int_equal(httpd_new(&h, s, &cfg, err, sizeof err), SYNACK_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent-synack-root"));
    cfg.root = f->root;
    assert_int_equal(httpd_new(&h, s, &cfg, err, sizeof err), 0);
    struct httpd *h2 = NULL;
    assert_int_equal(httpd_new(&h2, s, &cfg, err, sizeof err), SYNACK_ERR_ADDRINUSE);
    assert_non_null(strstr(err, "80"));
    httpd_free(h, 0);
    synack_stack_free(s);
    PASS();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(get_returns_file, setup, teardown),
    cmocka_unit_test_setup_teardown(get_empty_file, setup, teardown),
    cmocka_unit_test_setup_teardown(head_returns_headers_only, setup, teardown),
    cmocka_unit_test_setup_teardown(keepalive_sequential_requests, setup, teardown),
    cmocka_unit_test_setup_teardown(pipelined_answered_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(connection_close_honoured, setup, teardown),
    cmocka_unit_test_setup_teardown(http10_closes_unless_keepalive, setup, teardown),
    cmocka_unit_test_setup_teardown(missing_file_is_404, setup, teardown),
    cmocka_unit_test_setup_teardown(other_methods_are_405, setup, teardown),
    cmocka_unit_test_setup_teardown(huge_body_on_405_closes, setup, teardown),
    cmocka_unit_test_setup_teardown(malformed_requests_are_400, setup, teardown),
    cmocka_unit_test_setup_teardown(oversize_headers_are_400, setup, teardown),
    cmocka_unit_test_setup_teardown(path_escapes_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(path_escapes_refused_without_openat2, setup, teardown),
    cmocka_unit_test_setup_teardown(symlink_inside_root_followed, setup, teardown),
    cmocka_unit_test_setup_teardown(directory_serves_index, setup, teardown),
    cmocka_unit_test_setup_teardown(content_type_by_extension, setup, teardown),
    cmocka_unit_test_setup_teardown(large_file_byte_exact, setup, teardown),
    cmocka_unit_test_setup_teardown(large_file_with_loss_byte_exact, setup, teardown),
    cmocka_unit_test_setup_teardown(concurrent_connections_served_together, setup, teardown),
    cmocka_unit_test_setup_teardown(max_conns_resets_extra, setup, teardown),
    cmocka_unit_test_setup_teardown(idle_clients_time_out, setup, teardown),
    cmocka_unit_test_setup_teardown(request_timeout_bounds_trickled_headers, setup, teardown),
    cmocka_unit_test_setup_teardown(linger_bounded_in_time, setup, teardown),
    cmocka_unit_test_setup_teardown(linger_bounded_in_bytes, setup, teardown),
    cmocka_unit_test_setup_teardown(client_reset_mid_response, setup, teardown),
    cmocka_unit_test_setup_teardown(client_close_mid_response, setup, teardown),
    cmocka_unit_test_setup_teardown(mutated_requests_never_wedge, setup, teardown),
    cmocka_unit_test_setup_teardown(date_header_from_epoch_offset, setup, teardown),
    cmocka_unit_test_setup_teardown(target_to_path_rules, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_config_refused, setup, teardown),
};

SYNACK_TEST_MAIN("http", tests)
