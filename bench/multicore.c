/*
 * One stack per core: N threads, each running one client stack and one server stack on
 * queue i of a multi-queue wire (drivers/mqwire), every stack steered (steer_queues = N,
 * steer_queue = i), so each flow stays on its thread at both ends and no lock is taken on
 * the packet path. The same work per thread is run with 1 thread and with N; the figure is
 * the aggregate rate with N over the rate with 1 (the goal: >= 1.8 with 2 cores).
 *
 *   build/bench/multicore [--threads N] [--mb M] [--conns C] [--mtu U] [--runs R]
 *                         [--ring BYTES] [--bufmax BYTES]
 *       bulk: one connection per thread sends M MiB (default 512) one way at MTU U (default
 *       1500); churn: C connections per thread (default 50000), each a connect, a 64-byte
 *       request, a 64-byte response, the server closing first (its TIME_WAIT is the
 *       server's, so the client's ports never run out). R runs of each (default 3); the
 *       median is reported. --ring: each of the wire's rings (default 1 MiB); --bufmax:
 *       autotuning bounded (sndbuf_max, rcvbuf_max), as bench/bulk's option.
 *
 * Prints markdown rows: mode, threads, aggregate rate, and the ratio to one thread. The
 * steered_across counters of every link are checked to be 0 (else the run is void).
 * Every loop is bounded by its work and by a deadline of 120 s per run.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/link.h>
#include <synack/synack.h>

#include "util.h"

enum { MSG = 64, DEADLINE_S = 120, MAX_THREADS = 64, MAX_RUNS = 15 };

static size_t ring_bytes = 1u << 20, bufmax;

static const uint8_t key[16] = {0x5e, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

static void die(const char *what, int rc)
{
    bench_die("multicore", what, rc);
}

/* Aligned to a cache line: each thread writes its own counters per connection, and a
 * neighbour sharing the line would pay for it (a bench artifact, not the stack's). */
struct worker {
    _Alignas(64) struct synack_mqwire *w;
    unsigned queues, queue, mtu;
    struct synack_stack *cli, *srv;
    struct synack_listener *l;
    struct synack_link *lc, *ls;
    uint8_t *pkt;
    size_t pktcap;
    /* work */
    bool churn;
    unsigned long long bytes; /* bulk: to send */
    unsigned long conns;      /* churn: to complete */
    /* results */
    unsigned long long moved;
    unsigned long done;
    synack_time_t deadline;
};

static struct synack_stack *stack_new(const struct worker *k, uint32_t addr)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a = synack_addr_v4(addr);
    synack_config_add_addr(&cfg, &a);
    cfg.mtu = k->mtu;
    if (bufmax) cfg.sndbuf_max = cfg.rcvbuf_max = bufmax;
    cfg.steer_queues = k->queues;
    cfg.steer_queue = k->queue;
    memcpy(cfg.steer_key, key, sizeof key);
    struct synack_stack *s;
    int rc = synack_stack_new(&s, &cfg);
    if (rc) die("stack", rc);
    return s;
}

/* Hands `stack` every packet waiting on `l`; how many there were. */
static unsigned take(struct worker *k, struct synack_link *l, struct synack_stack *stack,
                     synack_time_t now)
{
    unsigned n = 0;
    synack_ssize len;
    while ((len = synack_link_recv(l, k->pkt, k->pktcap, now)) > 0) {
        synack_stack_input(stack, k->pkt, (size_t)len, now);
        n++;
    }
    if (now >= synack_stack_next_deadline(stack)) synack_stack_handle_timers(stack, now);
    return n;
}

/* Moves packets through this thread's two links until neither stack has any to send. */
static void pump(struct worker *k)
{
    for (int quiet = 0; quiet < 2;) {
        synack_time_t now = mono_ns();
        synack_link_drain(k->lc, k->cli, k->pkt, k->pktcap, now);
        synack_link_drain(k->ls, k->srv, k->pkt, k->pktcap, now);
        unsigned moved = take(k, k->ls, k->srv, now) + take(k, k->lc, k->cli, now);
        drain_events(k->cli);
        drain_events(k->srv);
        quiet = moved == 0 ? quiet + 1 : 0;
    }
}

static bool late(const struct worker *k)
{
    return mono_ns() > k->deadline;
}

static struct synack_tcp *open_pair(struct worker *k, struct synack_tcp **srv)
{
    struct synack_endpoint server = {synack_addr_v4(0xc6120002u), 80};
    struct synack_tcp *c;
    int rc = synack_tcp_connect(k->cli, &server, NULL, NULL, &c, mono_ns());
    if (rc) die("connect", rc);
    while ((rc = synack_tcp_accept(k->l, srv)) == SYNACK_ERR_AGAIN && !late(k))
        pump(k);
    if (rc) die("accept", rc);
    return c;
}

static void read_exactly(struct worker *k, struct synack_tcp *c, size_t want)
{
    uint8_t buf[MSG];
    size_t got = 0;
    while (got < want && !late(k)) {
        synack_ssize n = synack_tcp_recv(c, buf, want - got, mono_ns());
        if (n > 0)
            got += (size_t)n;
        else
            pump(k);
    }
    if (got != want) die("a message did not arrive", SYNACK_ERR_TIMEDOUT);
}

static void run_churn(struct worker *k)
{
    uint8_t msg[MSG];
    memset(msg, 'q', sizeof msg);
    for (; k->done < k->conns && !late(k); k->done++) {
        struct synack_tcp *s, *c = open_pair(k, &s);
        if (synack_tcp_send(c, msg, MSG, mono_ns()) != MSG) die("request", SYNACK_ERR_AGAIN);
        pump(k);
        read_exactly(k, s, MSG);
        if (synack_tcp_send(s, msg, MSG, mono_ns()) != MSG) die("response", SYNACK_ERR_AGAIN);
        pump(k);
        read_exactly(k, c, MSG);
        synack_tcp_close(s, mono_ns());
        pump(k);
        uint8_t b;
        while (synack_tcp_recv(c, &b, 1, mono_ns()) == SYNACK_ERR_AGAIN && !late(k))
            pump(k);
        synack_tcp_close(c, mono_ns());
        pump(k);
    }
}

static void run_bulk(struct worker *k)
{
    struct synack_tcp *s, *c = open_pair(k, &s);
    static const uint8_t zeros[1 << 16];
    uint8_t *buf = malloc(1 << 16);
    if (!buf) die("buffer", SYNACK_ERR_NOMEM);
    unsigned long long sent = 0;
    while (k->moved < k->bytes && !late(k)) {
        while (sent < k->bytes) {
            size_t n = k->bytes - sent < sizeof zeros ? (size_t)(k->bytes - sent) : sizeof zeros;
            synack_ssize m = synack_tcp_send(c, zeros, n, mono_ns());
            if (m <= 0) break;
            sent += (unsigned long long)m;
        }
        synack_time_t now = mono_ns();
        synack_link_drain(k->lc, k->cli, k->pkt, k->pktcap, now);
        synack_link_pump(k->ls, k->srv, k->pkt, k->pktcap, now);
        synack_ssize n;
        while ((n = synack_tcp_recv(s, buf, 1 << 16, now)) > 0)
            k->moved += (unsigned long long)n;
        synack_link_drain(k->ls, k->srv, k->pkt, k->pktcap, now);
        synack_link_pump(k->lc, k->cli, k->pkt, k->pktcap, now);
        drain_events(k->cli);
        drain_events(k->srv);
    }
    free(buf);
    synack_tcp_abort(c, mono_ns());
    synack_tcp_abort(s, mono_ns());
    pump(k);
}

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    if (k->churn)
        run_churn(k);
    else
        run_bulk(k);
    return NULL;
}

/* One run of `threads` threads: the aggregate rate (bytes/s or connections/s). */
static double run(unsigned threads, bool churn, unsigned long long bytes, unsigned long conns,
                  unsigned mtu)
{
    struct synack_mqwire_config wc = {.queues = threads, .mtu = mtu, .ring_bytes = ring_bytes};
    memcpy(wc.key, key, sizeof key);
    struct synack_mqwire *w;
    int rc = synack_mqwire_new(&w, &wc);
    if (rc) die("wire", rc);
    struct worker *k = aligned_alloc(64, threads * sizeof *k);
    if (k) memset(k, 0, threads * sizeof *k);
    pthread_t *t = calloc(threads, sizeof *t);
    if (!k || !t) die("workers", SYNACK_ERR_NOMEM);
    for (unsigned q = 0; q < threads; q++) {
        struct worker *x = &k[q];
        x->w = w;
        x->queues = threads;
        x->queue = q;
        x->mtu = mtu;
        x->churn = churn;
        x->bytes = bytes;
        x->conns = conns;
        x->pktcap = 65536; /* TSO segments, with the wire's offloads */
        x->pkt = malloc(x->pktcap);
        if (!x->pkt) die("packet buffer", SYNACK_ERR_NOMEM);
        x->cli = stack_new(x, 0xc6120001u);
        x->srv = stack_new(x, 0xc6120002u);
        struct synack_endpoint local = {synack_addr_v4(0xc6120002u), 80};
        if ((rc = synack_tcp_listen(x->srv, &local, 128, NULL, &x->l))) die("listen", rc);
        x->lc = synack_mqwire_link(w, 0, q);
        x->ls = synack_mqwire_link(w, 1, q);
    }
    synack_time_t t0 = mono_ns();
    for (unsigned q = 0; q < threads; q++) {
        k[q].deadline = t0 + (synack_time_t)DEADLINE_S * 1000000000ull;
        if (pthread_create(&t[q], NULL, worker_main, &k[q])) die("thread", 0);
    }
    for (unsigned q = 0; q < threads; q++)
        pthread_join(t[q], NULL);
    double secs = (double)(mono_ns() - t0) / 1e9, total = 0;
    for (unsigned q = 0; q < threads; q++) {
        if (churn && k[q].done < conns) die("churn did not finish", SYNACK_ERR_TIMEDOUT);
        if (!churn && k[q].moved < bytes) die("bulk did not finish", SYNACK_ERR_TIMEDOUT);
        total += churn ? (double)k[q].done : (double)k[q].moved;
        for (unsigned side = 0; side < 2; side++) {
            struct synack_link_stats st;
            synack_link_stats(synack_mqwire_link(w, side, q), &st);
            if (st.steered_across) die("a packet crossed to another queue", SYNACK_ERR_INVAL);
        }
        synack_stack_free(k[q].cli);
        synack_stack_free(k[q].srv);
        free(k[q].pkt);
    }
    free(k);
    free(t);
    synack_mqwire_free(w);
    return total / secs;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(unsigned threads, bool churn, unsigned long long bytes, unsigned long conns,
                     unsigned mtu, unsigned runs)
{
    double v[MAX_RUNS];
    for (unsigned r = 0; r < runs; r++)
        v[r] = run(threads, churn, bytes, conns, mtu);
    qsort(v, runs, sizeof v[0], cmp);
    return v[runs / 2];
}

int main(int argc, char **argv)
{
    unsigned threads = 2, mtu = 1500, runs = 3;
    unsigned long long mb = 512;
    unsigned long conns = 50000;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "multicore: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--threads"))
            threads = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--mb"))
            mb = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--conns"))
            conns = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--mtu"))
            mtu = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--runs"))
            runs = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--ring"))
            ring_bytes = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--bufmax"))
            bufmax = strtoul(v, NULL, 10);
        else {
            fprintf(stderr,
                    "usage: multicore [--threads N] [--mb M] [--conns C] [--mtu U] [--runs R] "
                    "[--ring BYTES] [--bufmax BYTES]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > MAX_THREADS || runs < 1 || runs > MAX_RUNS || mb == 0 ||
        conns == 0 || mtu < 1280 || mtu > 65535) {
        fprintf(stderr, "multicore: threads 1-%d, runs 1-%d, mb and conns > 0, mtu 1280-65535\n",
                MAX_THREADS, MAX_RUNS);
        return 2;
    }
    unsigned long long bytes = mb << 20;
    printf("| mode | threads | aggregate | per thread | vs 1 thread |\n|---|---|---|---|---|\n");
    double b1 = median(1, false, bytes, conns, mtu, runs);
    double bn = median(threads, false, bytes, conns, mtu, runs);
    printf("| bulk, MTU %u | 1 | %.2f Gbit/s | %.2f | 1.00 |\n", mtu, b1 * 8 / 1e9, b1 * 8 / 1e9);
    printf("| bulk, MTU %u | %u | %.2f Gbit/s | %.2f | %.2f |\n", mtu, threads, bn * 8 / 1e9,
           bn * 8 / 1e9 / threads, bn / b1);
    double c1 = median(1, true, bytes, conns, mtu, runs);
    double cn = median(threads, true, bytes, conns, mtu, runs);
    printf("| churn | 1 | %.0f conn/s | %.0f | 1.00 |\n", c1, c1);
    printf("| churn | %u | %.0f conn/s | %.0f | %.2f |\n", threads, cn, cn / threads, cn / c1);
    return 0;
}
