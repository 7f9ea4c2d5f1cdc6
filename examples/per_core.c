/* One stack per core: two hosts of N stacks each (N threads, one client stack and one
 * server stack per thread), joined by the multi-queue wire. Every stack is configured to
 * steer (steer_queues, steer_queue, steer_key), so each thread's client connections take
 * ports whose packets come back to its own queue, and the server stack on that queue
 * accepts them: no packet crosses to another thread, and nothing is locked on the way.
 *
 *   build/examples/per_core [THREADS] [CONNECTIONS]     (defaults 2 and 4 per thread)
 *
 * Each connection sends 64 KiB that its server checks byte by byte. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/link.h>
#include <synack/synack.h>

#define MAX_THREADS 16
#define MAX_CONNS 64
#define BYTES 65536
#define PORT 80

static const uint8_t key[16] = "core-per-thread";

struct host_pair {
    unsigned queue, queues, conns;
    struct synack_link *client_link, *server_link;
    struct synack_stack *client, *server;
    struct synack_listener *listener;
    struct synack_tcp *out[MAX_CONNS], *in[MAX_CONNS];
    size_t sent[MAX_CONNS], got[MAX_CONNS];
    unsigned accepted, finished;
    int error; /* a synack error, or 1 for a wrong byte */
};

static synack_time_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000u + (synack_time_t)ts.tv_nsec;
}

static uint8_t byte_at(size_t i)
{
    return (uint8_t)(i * 31 + (i >> 8));
}

static struct synack_stack *steered_stack(const struct host_pair *h, const char *addr)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a;
    synack_addr_parse(addr, &a);
    synack_config_add_addr(&cfg, &a);
    cfg.steer_queues = h->queues;
    cfg.steer_queue = h->queue;
    memcpy(cfg.steer_key, key, sizeof key);
    struct synack_stack *s = NULL;
    if (synack_stack_new(&s, &cfg) != 0) return NULL;
    return s;
}

/* One turn: packets in, the application's reads and writes, packets out, timers. */
static void turn(struct host_pair *h)
{
    static _Thread_local uint8_t pkt[65536], buf[16384]; /* pkt: a TSO segment */
    synack_time_t now = now_ns();
    synack_link_pump(h->client_link, h->client, pkt, sizeof pkt, now);
    synack_link_pump(h->server_link, h->server, pkt, sizeof pkt, now);
    struct synack_tcp *c;
    while (h->accepted < h->conns && synack_tcp_accept(h->listener, &c) == 0)
        h->in[h->accepted++] = c;
    for (unsigned i = 0; i < h->conns; i++) {
        while (h->out[i] && h->sent[i] < BYTES) { /* the client writes */
            size_t n = BYTES - h->sent[i] < sizeof buf ? BYTES - h->sent[i] : sizeof buf;
            for (size_t k = 0; k < n; k++)
                buf[k] = byte_at(h->sent[i] + k);
            synack_ssize w = synack_tcp_send(h->out[i], buf, n, now);
            if (w <= 0) break;
            if ((h->sent[i] += (size_t)w) == BYTES) {
                synack_tcp_close(h->out[i], now);
                h->out[i] = NULL;
            }
        }
        synack_ssize r;
        while (i < h->accepted && h->in[i] &&
               (r = synack_tcp_recv(h->in[i], buf, sizeof buf, now)) >= 0) {
            for (synack_ssize k = 0; k < r; k++)
                if (buf[k] != byte_at(h->got[i] + (size_t)k)) h->error = 1;
            h->got[i] += (size_t)r;
            if (r == 0) { /* the client's FIN, after all its bytes */
                h->finished += h->got[i] == BYTES;
                synack_tcp_close(h->in[i], now);
                h->in[i] = NULL;
            }
        }
    }
    synack_link_drain(h->client_link, h->client, pkt, sizeof pkt, now);
    synack_link_drain(h->server_link, h->server, pkt, sizeof pkt, now);
    struct synack_event ev;
    while (synack_stack_next_event(h->client, &ev) == 0) {
    }
    while (synack_stack_next_event(h->server, &ev) == 0) {
    }
}

static void *run(void *arg)
{
    struct host_pair *h = arg;
    struct synack_endpoint server = {.port = PORT};
    synack_addr_parse("198.18.0.2", &server.addr);
    for (unsigned i = 0; i < h->conns && !h->error; i++) {
        int rc = synack_tcp_connect(h->client, &server, NULL, NULL, &h->out[i], now_ns());
        if (rc) h->error = rc;
    }
    synack_time_t give_up = now_ns() + SYNACK_S(10);
    while (!h->error && h->finished < h->conns && now_ns() < give_up)
        turn(h);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    unsigned conns = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
    if (threads < 1 || threads > MAX_THREADS || conns < 1 || conns > MAX_CONNS) {
        fprintf(stderr, "usage: per_core [THREADS 1-%d] [CONNECTIONS 1-%d]\n", MAX_THREADS,
                MAX_CONNS);
        return 2;
    }
    struct synack_mqwire_config wc = {.queues = threads};
    memcpy(wc.key, key, sizeof key);
    struct synack_mqwire *wire;
    int rc = synack_mqwire_new(&wire, &wc);
    if (rc) {
        fprintf(stderr, "per_core: wire: %s\n", synack_strerror(rc));
        return 1;
    }
    static struct host_pair h[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (unsigned q = 0; q < threads; q++) {
        h[q] = (struct host_pair){.queue = q, .queues = threads, .conns = conns};
        h[q].client_link = synack_mqwire_link(wire, 0, q);
        h[q].server_link = synack_mqwire_link(wire, 1, q);
        h[q].client = steered_stack(&h[q], "198.18.0.1");
        h[q].server = steered_stack(&h[q], "198.18.0.2");
        struct synack_endpoint local = {.port = PORT};
        synack_addr_parse("198.18.0.2", &local.addr);
        if (!h[q].client || !h[q].server ||
            synack_tcp_listen(h[q].server, &local, MAX_CONNS, NULL, &h[q].listener) != 0) {
            fprintf(stderr, "per_core: cannot set up queue %u\n", q);
            return 1;
        }
    }
    for (unsigned q = 0; q < threads; q++)
        pthread_create(&t[q], NULL, run, &h[q]);
    int status = 0;
    for (unsigned q = 0; q < threads; q++) {
        pthread_join(t[q], NULL);
        struct synack_link_stats a, b;
        synack_link_stats(h[q].client_link, &a);
        synack_link_stats(h[q].server_link, &b);
        printf("queue %u: %u connections opened, %u accepted, %u delivered byte-exact; "
               "packets to another queue: %llu\n",
               q, conns, h[q].accepted, h[q].finished,
               (unsigned long long)(a.steered_across + b.steered_across));
        if (h[q].error || h[q].finished != conns || a.steered_across + b.steered_across) status = 1;
        synack_stack_free(h[q].client);
        synack_stack_free(h[q].server);
    }
    synack_mqwire_free(wire);
    if (status == 0) printf("every flow stayed on the thread that opened it\n");
    return status;
}
