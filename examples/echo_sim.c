/*
 * Echo over the simulator: a client and the echo server of echo.c on two synack stacks
 * joined by a simulated network, in one process and one thread. The client sends BYTES of
 * pseudo-random data (100000 unless told), half-closes, reads the echo and checks it byte
 * by byte as it comes.
 *
 *   echo_sim [BYTES [LOSS%]]          e.g.  echo_sim 1000000 2
 *
 * The path is 10 ms each way at 10 Mbit/s, losing LOSS% of the packets each way. Time is
 * virtual: the simulator jumps to the next thing that happens (a packet arriving, a timer
 * due), so seconds of simulated transfer take milliseconds. Same arguments, same run.
 * The exit status is 0 only when every byte came back as it was sent.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/link.h>

#include "echo.h"

struct client {
    struct synack_tcp *tcp;
    uint64_t id;
    const uint8_t *data;
    size_t len, sent, received; /* received: bytes of echo read, each equal to data's */
    bool shut;                  /* our FIN is queued: all of data was taken */
    bool done;                  /* the end: the server's FIN, a failure or a difference */
    int err;                    /* the connection's error, or 0 */
    bool differs;               /* a byte of the echo was not the byte sent */
};

/* Everything the client can do now: hand the stack what its send buffer takes (and
 * half-close after the last byte: the FIN tells the server there is no more), then read
 * what came back and compare it with what was sent. */
static void client_pump(struct client *c, synack_time_t now)
{
    while (c->sent < c->len) {
        synack_ssize n = synack_tcp_send(c->tcp, c->data + c->sent, c->len - c->sent, now);
        if (n < 0) break; /* NOTCONN: still connecting; AGAIN: buffer full; errors: below */
        c->sent += (size_t)n;
    }
    if (c->sent == c->len && !c->shut) c->shut = synack_tcp_shutdown(c->tcp, now) == 0;
    uint8_t buf[4096];
    synack_ssize n;
    while ((n = synack_tcp_recv(c->tcp, buf, sizeof buf, now)) > 0) {
        size_t k = (size_t)n;
        if (k > c->len - c->received || memcmp(buf, c->data + c->received, k) != 0) {
            c->differs = c->done = true;
            return;
        }
        c->received += k;
    }
    if (n == SYNACK_ERR_AGAIN || n == SYNACK_ERR_NOTCONN) return; /* more will come */
    c->err = (int)n; /* 0: the server's FIN, all read */
    c->done = true;
}

static void client_on_event(struct client *c, const struct synack_event *ev, synack_time_t now)
{
    if (ev->conn_id != c->id || c->done) return;
    switch (ev->type) {
    case SYNACK_EV_CONNECTED:
    case SYNACK_EV_WRITABLE:
    case SYNACK_EV_READABLE:
    case SYNACK_EV_PEER_CLOSED:
    case SYNACK_EV_ERROR:
        client_pump(c, now);
        break;
    default: /* STATE, CC: nothing to do */
        break;
    }
}

/* Ends the program when a call that sets things up fails. */
static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "echo_sim: %s: %s\n", what, synack_strerror(rc));
        exit(1);
    }
}

/* A stack with one address. The seed picks its ephemeral ports; a program on a real
 * network also draws cfg.isn_secret at random (RFC 6528), as tun_echo.c does. */
static struct synack_stack *stack_at(const char *addr, uint64_t seed)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.seed = seed;
    struct synack_addr a;
    check(synack_addr_parse(addr, &a), addr);
    check(synack_config_add_addr(&cfg, &a), addr);
    struct synack_stack *st;
    check(synack_stack_new(&st, &cfg), "stack");
    return st;
}

/* A link from node `from` to node `to`: 10 ms, 10 Mbit/s, a 64 KiB queue, `loss`. */
static void add_link(struct synack_sim *sim, int from, int to, double loss)
{
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p); /* 10 ms, no impairment */
    p.rate_bps = 10 * 1000 * 1000;
    p.queue_bytes = 64 * 1024;
    p.loss = loss;
    check(synack_sim_add_link(sim, from, to, &p), "link");
}

int main(int argc, char **argv)
{
    size_t len = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    double loss = argc > 2 ? atof(argv[2]) / 100 : 0;
    if (argc > 3 || len == 0 || !(loss >= 0 && loss < 1)) {
        fprintf(stderr, "usage: echo_sim [BYTES [LOSS%%]]   (BYTES > 0, LOSS%% below 100)\n");
        return 2;
    }
    uint8_t *data = malloc(len);
    if (!data) {
        fprintf(stderr, "echo_sim: no memory for %zu bytes\n", len);
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift64: data where a misplaced byte shows */
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }

    /* Two stacks, each a node of the simulator, and a path between them. */
    struct synack_stack *cs = stack_at("198.18.0.1", 1), *ss = stack_at("198.18.0.2", 2);
    struct synack_sim *sim;
    check(synack_sim_new(&sim, 42), "simulator"); /* 42: the seed of the losses */
    int cn = synack_sim_add_stack(sim, cs), sn = synack_sim_add_stack(sim, ss);
    check(cn < 0 ? cn : sn, "simulator node");
    add_link(sim, cn, sn, loss);
    add_link(sim, sn, cn, loss);

    /* The applications: the echo server on one stack, the client on the other. */
    struct echo_server *server;
    check(echo_server_new(&server, ss, 7), "listen");
    struct synack_endpoint to;
    check(synack_endpoint_parse("198.18.0.2:7", &to), "address");
    struct client c = {.data = data, .len = len};
    check(synack_tcp_connect(cs, &to, NULL, NULL, &c.tcp, 0), "connect");
    c.id = synack_tcp_id(c.tcp);
    printf("echo_sim: %zu bytes to 198.18.0.2:7, 10 ms each way at 10 Mbit/s, %g%% loss\n", len,
           loss * 100);

    /* The loop: one thing happens in the network, then each application hears of it. */
    while (!c.done) {
        check(synack_sim_step(sim), "simulator"); /* AGAIN: nothing at all left to happen */
        synack_time_t now = synack_sim_now(sim);
        struct synack_event ev;
        while (synack_stack_next_event(ss, &ev) == 0)
            echo_server_on_event(server, &ev, now);
        while (synack_stack_next_event(cs, &ev) == 0)
            client_on_event(&c, &ev, now);
    }

    synack_time_t now = synack_sim_now(sim);
    bool ok = !c.differs && c.err == 0 && c.received == len;
    if (c.differs)
        printf("echo_sim: the echo differs from what was sent after byte %zu\n", c.received);
    else if (c.err < 0)
        printf("echo_sim: the connection failed: %s\n", synack_strerror(c.err));
    else if (!ok)
        printf("echo_sim: the echo ended after %zu of %zu bytes\n", c.received, len);
    else
        printf("echo_sim: %zu bytes sent, %zu bytes back, byte-exact, in %.3f s of virtual time\n",
               len, c.received, (double)now / 1e9);
    struct synack_sim_link_stats there, back; /* links 0 and 1, in the order added */
    synack_sim_link_stats(sim, 0, &there);
    synack_sim_link_stats(sim, 1, &back);
    printf("echo_sim: the path carried %" PRIu64 " packets and lost %" PRIu64 "\n",
           there.offered + back.offered,
           there.lost + back.lost + there.queue_drops + back.queue_drops);
    synack_tcp_close(c.tcp, now);
    echo_server_free(server, now);
    synack_sim_free(sim);
    synack_stack_free(cs);
    synack_stack_free(ss);
    free(data);
    return ok ? 0 : 1;
}
