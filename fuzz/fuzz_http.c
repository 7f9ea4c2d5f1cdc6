/*
 * The HTTP server engine (apps/httpd.c) on bytes from a client: the input is what a
 * client sends over one connection, cut into segments by length bytes, with the clock
 * moved and the client's ACKs sent between them, so requests, pipelining, bodies to skip,
 * timeouts and lingering are all reached. The server serves a small directory made once per
 * process (a file, a subdirectory, a file with an odd name). Also httpd_target_to_path on
 * the raw input. Checked: no crash or sanitizer report; the server always frees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "httpd.h"

static char dir[64];

static void remove_root(void)
{
    static const char *const names[] = {"sub/a b%.txt", "sub", "index.html", ""};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
}

static const char *root_dir(void)
{
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "/tmp/synack-fuzz-http-%ld", (long)getpid());
    atexit(remove_root);
    mkdir(dir, 0700);
    char path[128];
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        for (int i = 0; i < 2000; i++)
            fputs("<p>synack</p>\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/sub/a b%%.txt", dir);
    f = fopen(path, "w");
    if (f) {
        fputs("odd name\n", f);
        fclose(f);
    }
    return dir;
}

/* The client's ACK of everything the server sent, with a window. */
static void client_ack(struct fz_peer *p, struct fz_tuple *t, uint32_t seq, uint16_t wnd)
{
    struct wire_tcp_repr a = {.src_port = t->rport,
                              .dst_port = t->lport,
                              .seq = seq,
                              .ack = t->stack_nxt,
                              .flags = WIRE_TCP_ACK,
                              .window = wnd};
    fz_send(p, &a);
}

static void pump(struct fz_peer *p, struct httpd *h)
{
    struct synack_event ev;
    for (int k = 0; k < 4; k++) {
        while (synack_stack_next_event(p->s, &ev) == 0)
            httpd_on_event(h, &ev, p->now);
        httpd_pump(h, p->now);
        fz_drain(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    httpd_target_to_path((const char *)data, size, path, sizeof path);
    struct fz_peer p;
    memset(&p, 0, sizeof p);
    fz_peer_addrs(&p, false);
    struct fz_mem mem;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(FZ_LOCAL);
    cfg.delack_timeout = 0;
    fz_mem_hook(&cfg, &mem, 64u << 20);
    if (synack_stack_new(&p.s, &cfg) != 0) abort();
    p.now = SYNACK_S(1000);
    struct httpd_config hc;
    httpd_config_default(&hc);
    hc.root = root_dir();
    hc.max_conns = 4;
    struct httpd *h;
    if (httpd_new(&h, p.s, &hc, NULL, 0) != 0) abort();
    fz_handshake(&p, hc.port, 40000, false, false, -1);
    struct fz_tuple *t = fz_tuple(&p, hc.port, 40000);
    uint32_t seq = 7000u + 40000 + 1;
    pump(&p, h);
    struct fz_in in = {data, size};
    for (int r = 0; r < 2000 && in.n > 0; r++) {
        uint8_t ctl = fz_u8(&in);
        size_t n;
        const uint8_t *d = fz_bytes(&in, (size_t)(ctl & 0x3f) * 8 + 1, &n);
        if (ctl & 0x40) p.now += (ctl & 0x80) ? SYNACK_S(25) : SYNACK_MS(10);
        synack_stack_handle_timers(p.s, p.now);
        struct wire_tcp_repr seg = {.src_port = t->rport,
                                    .dst_port = t->lport,
                                    .seq = seq,
                                    .ack = t->stack_nxt,
                                    .flags = (uint8_t)(WIRE_TCP_ACK | WIRE_TCP_PSH |
                                                       ((ctl & 0xc0) == 0xc0 ? WIRE_TCP_FIN : 0)),
                                    .window = 65535,
                                    .payload = d,
                                    .payload_len = n};
        fz_send(&p, &seg);
        seq += (uint32_t)n + ((seg.flags & WIRE_TCP_FIN) ? 1u : 0u);
        pump(&p, h);
        client_ack(&p, t, seq, (ctl & 0x80) ? 0 : 65535);
        pump(&p, h);
        if (seg.flags & WIRE_TCP_FIN) break;
    }
    httpd_free(h, p.now);
    fz_drain(&p);
    synack_stack_free(p.s);
    if (mem.live != 0) {
        fprintf(stderr, "fuzz_http: the stack left %zu bytes behind\n", mem.live);
        abort();
    }
    return 0;
}
