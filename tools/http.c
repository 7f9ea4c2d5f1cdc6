/* `synack http`: the static file server of httpd.c on a TUN device or UDP encapsulation,
 * driven by the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "httpd.h"
#include "netopt.h"

static const char http_usage[] =
    "usage: synack http --root DIR [--port PORT] [-4|-6] [options] --addr ADDR/PREFIX\n"
    "\n"
    "A small HTTP/1.1 static file server on synack: GET and HEAD of the files under DIR\n"
    "(a directory serves its index.html), Content-Length and Content-Type on every\n"
    "response, persistent connections (HTTP/1.1 by default, HTTP/1.0 with keep-alive) and\n"
    "pipelining, many connections at once. 400 for a malformed request, 404 for a missing\n"
    "file, 405 (with Allow: GET, HEAD) for other methods. No path leaves DIR: \"..\" is\n"
    "refused and symlinks that lead out of DIR are not followed.\n"
    "\n"
    "  --root DIR            the directory to serve (required)\n"
    "  --port PORT           the port to listen on, of every --addr: IPv4 and IPv6 when the\n"
    "                        stack has both (default 80)\n"
    "  -4, -6                listen on the stack's IPv4 or IPv6 address only\n"
    "  --idle SECS           close a connection that makes no progress for SECS seconds\n"
    "                        (default 60; 0: never). Slow clients are bounded besides: a\n"
    "                        request's headers must all arrive within 20 s of their first\n"
    "                        byte (else 408 and close), and a client that does not close\n"
    "                        after the last response is reset 10 s after it has all of it,\n"
    "                        or once it has sent 1 MiB more\n"
    "  --no-symlinks         follow no symlink at all, not even one inside DIR\n"
    "  -v                    one line per request on stderr (\"GET /x 200 20971520\"), and\n"
    "                        counters at exit; -vv adds every connection's state changes\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "examples:\n"
    "  synack http --root /srv/www --link tun:tun0 --addr 198.18.0.2/24 \\\n"
    "      --tun-host-addr 198.18.0.1/24        (then: curl http://198.18.0.2/)\n"
    "  synack http --root /srv/www --link tun:tun0 --addr 198.18.0.2/24 \\\n"
    "      --tun-host-addr 198.18.0.1/24 --addr 2001:db8::2/64 --tun-host-addr 2001:db8::1/64\n"
    "                                           (then: curl -g 'http://[2001:db8::2]/')\n"
    "\n"
    "It runs until SIGINT or SIGTERM, then resets the connections still open and exits 0.\n"
    "Exit status 1 when the link, the root or the port cannot be opened, 2 for bad usage.\n";

struct http_opts {
    struct net_opts net;
    const char *root;
    uint16_t port;
    enum synack_family family; /* -4, -6: that family's address only; SYNACK_AF_NONE: all */
    synack_time_t idle;
    bool no_symlinks;
};

struct http {
    struct http_opts *o;
    struct net_env env;
    struct httpd *h;
};

/* ---- options -------------------------------------------------------------------------------- */

/* The options of http itself, at argv[*i]. 1 consumed, 0 not ours, 2 bad value. */
static int parse_http_option(struct http_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "--no-symlinks") == 0) {
        o->no_symlinks = true;
        (*i)++;
        return 1;
    }
    if (strcmp(a, "-4") == 0 || strcmp(a, "-6") == 0) {
        enum synack_family f = a[1] == '4' ? SYNACK_AF_INET : SYNACK_AF_INET6;
        if (o->family != SYNACK_AF_NONE && o->family != f)
            return cli_fail("http", "-4 and -6 exclude each other: give one, or neither for both");
        o->family = f;
        (*i)++;
        return 1;
    }
    if (strcmp(a, "--root") != 0 && strcmp(a, "--port") != 0 && strcmp(a, "--idle") != 0) return 0;
    if (!v) return cli_fail("http", "%s needs a value (see synack http --help)", a);
    *i += 2;
    if (strcmp(a, "--root") == 0) {
        o->root = v;
    } else if (strcmp(a, "--port") == 0) {
        uint64_t p;
        if (cli_parse_u64(v, &p) < 0 || p < 1 || p > 65535)
            return cli_fail("http", "--port wants a port from 1 to 65535, not '%s'", v);
        o->port = (uint16_t)p;
    } else {
        double d;
        if (cli_parse_double(v, 0, 86400, &d) < 0)
            return cli_fail("http", "--idle wants seconds from 0 to 86400, not '%s'", v);
        o->idle = (synack_time_t)(d * 1e9);
    }
    return 1;
}

/* Fills `o` from argv; 0, -1 for --help (printed), or the exit status of a bad usage. */
static int parse_args(struct http_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    net_opts_default(&o->net);
    o->port = 80;
    o->idle = SYNACK_S(60);
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(http_usage, net_opts_help);
            return -1;
        }
        int rc = net_opts_parse(&o->net, "http", argc, argv, &i);
        if (rc < 0) return 2;
        if (rc > 0) continue;
        rc = parse_http_option(o, argc, argv, &i);
        if (rc == 2) return 2;
        if (rc == 1) continue;
        if (a[0] == '-') return cli_fail("http", "unknown option '%s' (see synack http --help)", a);
        return cli_fail("http", "unexpected argument '%s' (see synack http --help)", a);
    }
    if (!o->root) return cli_fail("http", "--root DIR is required (see synack http --help)");
    return net_opts_check_family(&o->net, "http", o->family == SYNACK_AF_INET ? "-4" : "-6",
                                 o->family);
}

/* The root must be a directory we can open, checked before any device is touched. */
static int check_root(const char *root)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "synack http: --root %s: %s\n", root,
                errno == ENOTDIR ? "not a directory" : strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}

/* ---- logging ----------------------------------------------------------------------------- */

static void http_log(void *ctx, const struct httpd_log_entry *e)
{
    struct http *s = ctx;
    if (!s->env.verbose) return;
    char client[SYNACK_ENDPOINT_STRLEN];
    struct synack_endpoint ep = {e->addr, e->port};
    synack_endpoint_format(&ep, client, sizeof client);
    fprintf(stderr, "synack http: %s %s %s %d %" PRIu64 "\n", client, e->method, e->target,
            e->status, e->length);
}

static void http_on_accept(void *ctx, struct synack_tcp *t)
{
    struct http *s = ctx;
    if (s->env.verbose > 1) net_env_name_conn(&s->env, t);
}

static void http_summary(const struct http *s)
{
    if (!s->env.verbose || !s->h) return;
    struct httpd_stats st;
    httpd_stats(s->h, &st);
    fprintf(stderr,
            "synack http: %" PRIu64 " connections (%" PRIu64 " refused, %" PRIu64
            " reset by peers, %" PRIu64 " idle timeouts, %" PRIu64 " request timeouts, %" PRIu64
            " reset lingering, %" PRIu64 " open at exit), %" PRIu64 " responses (2xx %" PRIu64
            ", 4xx %" PRIu64 ", 5xx %" PRIu64 "), %" PRIu64 " bytes sent\n",
            st.accepted, st.refused, st.resets, st.timeouts, st.request_timeouts, st.linger_resets,
            st.open_conns, st.requests, st.status_2xx, st.status_4xx, st.status_5xx, st.bytes_sent);
}

/* "http://198.18.0.2:80/ and http://[2001:db8::2]:80/": where the server listens. */
static void http_urls(const struct http_opts *o, char *out, size_t cap)
{
    static const enum synack_family families[] = {SYNACK_AF_INET, SYNACK_AF_INET6};
    size_t n = 0;
    out[0] = 0;
    for (size_t k = 0; k < 2; k++) {
        const struct synack_ifaddr *a = net_opts_addr(&o->net, families[k]);
        if (!a || (o->family != SYNACK_AF_NONE && o->family != families[k])) continue;
        if (n >= cap) break;
        struct synack_endpoint e = {a->addr, o->port};
        char text[SYNACK_ENDPOINT_STRLEN];
        synack_endpoint_format(&e, text, sizeof text);
        n += (size_t)snprintf(out + n, cap - n, "%shttp://%s/", n ? " and " : "", text);
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* Every turn: the stack's events to the engine, then one pump. */
static void http_turn(void *ctx, synack_time_t now)
{
    struct http *s = ctx;
    struct synack_event ev;
    while (synack_stack_next_event(s->env.stack, &ev) == 0) {
        if (s->env.verbose > 1) net_env_log_event(&s->env, &ev);
        httpd_on_event(s->h, &ev, now);
    }
    httpd_pump(s->h, now);
}

static int http_run(struct http *s)
{
    const struct http_opts *o = s->o;
    if (net_env_watch_signals(&s->env)) return 1;
    struct httpd_config cfg;
    httpd_config_default(&cfg);
    cfg.root = o->root;
    cfg.port = o->port;
    cfg.family = o->family;
    cfg.idle_timeout = o->idle;
    cfg.symlinks = !o->no_symlinks;
    cfg.epoch_offset = synack_loop_epoch_offset(s->env.loop);
    cfg.log = http_log;
    cfg.on_accept = http_on_accept;
    cfg.log_ctx = s;
    char err[256];
    int rc = httpd_new(&s->h, s->env.stack, &cfg, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "synack http: %s\n", err);
        return 1;
    }
    synack_loop_set_turn(s->env.loop, http_turn, s);
    char urls[2 * (SYNACK_ENDPOINT_STRLEN + 16)];
    http_urls(o, urls, sizeof urls);
    fprintf(stderr, "synack http: serving %s on %s (%s)\n", o->root, urls, o->net.link);
    while (!s->env.signal) {
        synack_time_t now = synack_loop_now(s->env.loop);
        synack_time_t due = httpd_next_deadline(s->h);
        synack_time_t wait = due == SYNACK_NEVER ? SYNACK_NEVER : due > now ? due - now : 0;
        rc = synack_loop_run_once(s->env.loop, wait);
        if (rc < 0) return net_env_loop_failed(&s->env, rc);
    }
    return 0;
}

int cmd_http(int argc, char **argv)
{
    struct http_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (check_root(o.root)) return 1;
    struct http s;
    memset(&s, 0, sizeof s);
    s.o = &o;
    rc = net_env_open(&s.env, &o.net, "http");
    if (rc) return rc;
    rc = http_run(&s);
    http_summary(&s);
    synack_loop_set_turn(s.env.loop, NULL, NULL);
    httpd_free(s.h, synack_loop_now(s.env.loop)); /* RSTs for what is still open */
    net_env_close(&s.env);                        /* sends them, frees the chain */
    return rc;
}
