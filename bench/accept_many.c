/*
 * Many connections arriving at one listener before the application accepts any: N peers
 * each send a SYN, then each completes its handshake (so all N wait in the accept queue),
 * then the application accepts all N. Wall-clock nanoseconds per connection for each N, the
 * stack alone (no simulator; the packets are built before the clock starts). With O(1)
 * queues the cost per connection stays flat as N grows; with queues walked to their end it
 * grows with N. Then the cost of asking whether a port nobody holds may be bound (1,000
 * times; bind and listen ask it) with the N connections open. One markdown row per N, for
 * docs/PERFORMANCE.md.
 *   build/bench/accept_many [--exchange BYTES] [--echo ROUNDS] [--batch K] [--idle] [N...]
 *                                      (default N: 1000 10000 50000)
 *
 * --exchange BYTES: then each peer sends BYTES (at most 1400: one segment), the application
 * reads them and sends as many back, and the peer acknowledges them: every connection
 * idle, all it held drained. A second table gives the memory the stack holds for them:
 * the bytes its allocator (counting, through synack_config.alloc) has live for the
 * connections, per connection, against what the stack said at its creation, and
 * conn_bytes + conn_storage / N from synack_stack_stats.
 * --echo ROUNDS: then ROUNDS rounds of a 64-byte request and a 64-byte answer on each
 * connection in turn (the peer's request, the application's recv and send, the peer's
 * ACK): nanoseconds per round trip, packets built inside the timed loop.
 * --batch K: the echo's packets go in through synack_stack_input_batch, K at a time: the
 * requests of K connections arrive together, the application answers each, then their K
 * ACKs arrive together (without it, one synack_stack_input per packet, as a link that reads
 * one packet at a time would).
 * --idle: after the SYNs, the stack is left idle while its demux table is still being
 * resized (when the last SYN began a resize: N one more than a quarter of a power of two,
 * 524289 for the largest), and its timers are run at each deadline a few milliseconds
 * away, as an event loop would: how many calls end the resize and the wall time of each
 * (demux.c, DEMUX_IDLE_AFTER). A line of its own before the table row.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/synack.h>

#include "wire/wire.h"

/* A counting allocator: live bytes, each block prefixed with its size. */
struct counted {
    size_t live;
};

static void *counted_alloc(void *ctx, size_t size)
{
    size_t *p = malloc(size + sizeof(max_align_t));
    if (!p) return NULL;
    *p = size;
    ((struct counted *)ctx)->live += size;
    return (char *)p + sizeof(max_align_t);
}

static void counted_free(void *ctx, void *ptr)
{
    size_t *p = (size_t *)(void *)((char *)ptr - sizeof(max_align_t));
    ((struct counted *)ctx)->live -= *p;
    free(p);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { SLOT = 64, PEER_ISS = 1000 };

/* The peer at client index i: 198.19.x.y:(1024 + i % 60000). */
static void peer_of(uint32_t i, struct wire_ip_repr *ip, struct wire_tcp_repr *t,
                    const struct synack_addr *server)
{
    *ip = (struct wire_ip_repr){
        .src = synack_addr_v4(0xc6130000u | (1 + i / 60000)), .dst = *server, .ttl = 64};
    *t = (struct wire_tcp_repr){
        .src_port = (uint16_t)(1024 + i % 60000), .dst_port = 80, .seq = PEER_ISS, .window = 65535};
}

static void drain_events(struct synack_stack *s)
{
    struct synack_event ev;
    while (synack_stack_next_event(s, &ev) == 0) {
    }
}

/* Peer i's segment of `len` bytes of `data` at `seq`, acknowledging `ack`, built into `pkt`;
 * returns its length. */
static size_t peer_packet(const struct synack_addr *server, uint32_t i, uint32_t seq, uint32_t ack,
                          const uint8_t *data, size_t len, uint8_t *pkt, size_t cap)
{
    struct wire_ip_repr ip;
    struct wire_tcp_repr t;
    peer_of(i, &ip, &t, server);
    t.flags = WIRE_TCP_ACK | (len ? WIRE_TCP_PSH : 0);
    t.seq = seq;
    t.ack = ack;
    t.payload = data;
    t.payload_len = len;
    return wire_packet_emit(&ip, &t, pkt, cap);
}

/* The application on connection c reads `len` bytes and sends as many back. */
static void app_echo(struct synack_tcp *c, size_t len, synack_time_t now)
{
    uint8_t buf[2048];
    if (synack_tcp_recv(c, buf, sizeof buf, now) != (synack_ssize)len ||
        synack_tcp_send(c, buf, len, now) != (synack_ssize)len) {
        fprintf(stderr, "accept_many: a connection did not take its %zu bytes\n", len);
        exit(1);
    }
}

enum { MAX_BATCH = 64 };
static size_t batch; /* --batch: packets per synack_stack_input_batch; 0: one input call each */
static int idle;     /* --idle: time the timers' steps of a resize left to an idle stack */

/* Whatever the stack has to send, taken and discarded (the peer's side is scripted). */
static void discard_output(struct synack_stack *s, synack_time_t now)
{
    uint8_t out[2048];
    while (synack_stack_output(s, out, sizeof out, now) > 0) {
    }
}

/* The `k` packets of `rx` into the stack, then what it sends back is discarded. */
static void deliver(struct synack_stack *s, const struct synack_rx *rx, size_t k, synack_time_t now)
{
    if (batch)
        synack_stack_input_batch(s, rx, k, now);
    else
        for (size_t j = 0; j < k; j++)
            synack_stack_input(s, rx[j].pkt, rx[j].len, now);
    discard_output(s, now);
}

/* One request of `len` bytes and its answer on each connection, then the peer's ACK; with
 * --batch, the requests of `batch` connections arrive together, each is answered, then their
 * ACKs arrive together. */
static void round_trips(struct synack_stack *s, const struct synack_addr *server,
                        struct synack_tcp **conns, const uint32_t *iss, uint32_t n, size_t done,
                        size_t len, synack_time_t now)
{
    static const uint8_t data[1400];
    static uint8_t pkts[MAX_BATCH][2048];
    struct synack_rx rx[MAX_BATCH];
    size_t per = batch ? batch : 1;
    for (uint32_t i = 0; i < n; i += (uint32_t)per) {
        size_t k = n - i < per ? n - i : per;
        uint32_t peer = PEER_ISS + 1 + (uint32_t)done;
        for (size_t j = 0; j < k; j++) {
            uint32_t ours = iss[i + j] + 1 + (uint32_t)done;
            rx[j] = (struct synack_rx){.pkt = pkts[j]};
            rx[j].len = peer_packet(server, i + (uint32_t)j, peer, ours, data, len, pkts[j],
                                    sizeof pkts[j]);
        }
        deliver(s, rx, k, now);
        for (size_t j = 0; j < k; j++)
            app_echo(conns[i + j], len, now);
        drain_events(s);
        discard_output(s, now); /* the answers go out */
        for (size_t j = 0; j < k; j++) {
            uint32_t ours = iss[i + j] + 1 + (uint32_t)done;
            rx[j].len = peer_packet(server, i + (uint32_t)j, peer + (uint32_t)len,
                                    ours + (uint32_t)len, NULL, 0, pkts[j], sizeof pkts[j]);
        }
        deliver(s, rx, k, now);
    }
}

static size_t exchange_bytes, echo_rounds;

#define BIND_CHECKS 1000u

static void run(uint32_t n)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(0xc6120002u);
    cfg.max_conns = n + 16;
    cfg.syncookies = SYNACK_SYNCOOKIES_NEVER;
    struct counted mem = {0};
    if (exchange_bytes) {
        cfg.alloc = counted_alloc;
        cfg.free = counted_free;
        cfg.alloc_ctx = &mem;
    }
    struct synack_stack *s;
    struct synack_listener *l;
    if (synack_stack_new(&s, &cfg) ||
        synack_tcp_listen(s, &(struct synack_endpoint){.port = 80}, n, NULL, &l)) {
        fprintf(stderr, "accept_many: cannot set up a stack for %u connections\n", n);
        exit(1);
    }
    size_t created = mem.live;
    uint8_t *syns = malloc((size_t)n * SLOT), *acks = malloc((size_t)n * SLOT), *lens = malloc(n);
    uint32_t *iss = malloc((size_t)n * sizeof *iss);
    if (!syns || !acks || !lens || !iss) exit(1);
    for (uint32_t i = 0; i < n; i++) {
        struct wire_ip_repr ip;
        struct wire_tcp_repr t;
        peer_of(i, &ip, &t, &cfg.addrs[0]);
        t.flags = WIRE_TCP_SYN;
        t.has_mss = true;
        t.mss = 1460;
        lens[i] = (uint8_t)wire_packet_emit(&ip, &t, syns + (size_t)i * SLOT, SLOT);
    }
    uint8_t out[2048];
    struct synack_event ev;
    synack_time_t now = SYNACK_S(1);
    /* The SYN-ACKs' ISSs are needed to build the ACKs: the SYN phase is timed on its own. */
    double t0 = wall();
    for (uint32_t i = 0; i < n; i++) {
        synack_stack_input(s, syns + (size_t)i * SLOT, lens[i], now);
        synack_ssize m;
        while ((m = synack_stack_output(s, out, sizeof out, now)) > 0) {
            struct wire_ip_repr ip;
            struct wire_tcp_repr t;
            if (wire_packet_parse(out, (size_t)m, &ip, &t) == SYNACK_DROP_NONE &&
                t.flags == (WIRE_TCP_SYN | WIRE_TCP_ACK))
                iss[i] = t.seq; /* the answer to peer i's SYN */
        }
        drain_events(s);
    }
    double t_syn = wall() - t0;
    if (idle) {
        /* Each deadline within a few milliseconds is the resize's (the SYN-ACKs' are a
         * second away); its calls, timed one by one. */
        unsigned calls = 0;
        double slowest = 0, all = 0;
        for (synack_time_t d; (d = synack_stack_next_deadline(s)) <= now + SYNACK_MS(5);) {
            now = d;
            double c0 = wall();
            synack_stack_handle_timers(s, now);
            double dt = wall() - c0;
            all += dt;
            if (dt > slowest) slowest = dt;
            calls++;
        }
        printf("idle resize at %u connections: %u timer calls a millisecond apart, %.1f us "
               "each on average, the slowest %.1f us\n",
               n, calls, calls ? all * 1e6 / calls : 0.0, slowest * 1e6);
    }
    for (uint32_t i = 0; i < n; i++) {
        struct wire_ip_repr ip;
        struct wire_tcp_repr t;
        peer_of(i, &ip, &t, &cfg.addrs[0]);
        t.flags = WIRE_TCP_ACK;
        t.seq = PEER_ISS + 1;
        t.ack = iss[i] + 1;
        lens[i] = (uint8_t)wire_packet_emit(&ip, &t, acks + (size_t)i * SLOT, SLOT);
    }
    t0 = wall();
    for (uint32_t i = 0; i < n; i++) {
        synack_stack_input(s, acks + (size_t)i * SLOT, lens[i], now);
        while (synack_stack_output(s, out, sizeof out, now) > 0) {
        }
        while (synack_stack_next_event(s, &ev) == 0) {
        }
    }
    double t_ack = wall() - t0;
    t0 = wall();
    uint32_t accepted = 0;
    struct synack_tcp **conns = malloc((size_t)n * sizeof *conns), *c;
    if (!conns) exit(1);
    while (synack_tcp_accept(l, &c) == 0)
        conns[accepted < n ? accepted++ : n - 1] = c;
    double t_accept = wall() - t0;
    if (accepted != n) {
        fprintf(stderr, "accept_many: %u of %u connections accepted\n", accepted, n);
        exit(1);
    }
    /* What bind (the socket layer's bind, listen) costs with n connections open: a check of
     * a port nobody holds, BIND_CHECKS of them. */
    t0 = wall();
    for (unsigned k = 0; k < BIND_CHECKS; k++) {
        struct synack_endpoint free_port = {.port = (uint16_t)(1000 + k)};
        if (synack_tcp_bind_check(s, &free_port, 0) != 0) {
            fprintf(stderr, "accept_many: port %u reported in use\n", 1000 + k);
            exit(1);
        }
    }
    double t_bind = wall() - t0;
    if (!exchange_bytes)
        printf("| %u | %.0f | %.0f | %.0f | %.0f |\n", n, t_syn * 1e9 / n, t_ack * 1e9 / n,
               t_accept * 1e9 / n, t_bind * 1e9 / BIND_CHECKS);
    if (exchange_bytes) {
        /* The accept queue is FIFO: conns[i] is peer i's. */
        size_t accepted_live = mem.live;
        round_trips(s, &cfg.addrs[0], conns, iss, n, 0, exchange_bytes, now);
        drain_events(s);
        struct synack_stack_stats st;
        synack_stack_stats(s, &st);
        double t_echo = 0;
        if (echo_rounds) {
            t0 = wall();
            for (size_t r = 0; r < echo_rounds; r++)
                round_trips(s, &cfg.addrs[0], conns, iss, n, exchange_bytes + 64 * r, 64, now);
            t_echo = wall() - t0;
        }
        printf("| %u | %zu | %.0f | %.0f | %zu | %.1f | %.0f |\n", n, exchange_bytes,
               (double)(accepted_live - created) / n, (double)(mem.live - created) / n,
               st.conn_bytes, (double)st.conn_storage / n,
               echo_rounds ? t_echo * 1e9 / ((double)n * (double)echo_rounds) : 0.0);
    }
    free(conns);
    free(syns);
    free(acks);
    free(lens);
    free(iss);
    synack_stack_free(s);
}

int main(int argc, char **argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--idle") == 0) {
            idle = 1;
            i++;
            continue;
        }
        if (i + 1 == argc) break;
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--exchange") == 0 && v > 0 && v <= 1400)
            exchange_bytes = v;
        else if (strcmp(argv[i], "--echo") == 0)
            echo_rounds = v;
        else if (strcmp(argv[i], "--batch") == 0 && v > 0 && v <= MAX_BATCH)
            batch = v;
        else
            break;
        i += 2;
    }
    if (echo_rounds && !exchange_bytes) exchange_bytes = 1024;
    if (exchange_bytes)
        printf("| connections | bytes each way | live bytes per connection, accepted | after "
               "the exchange, drained | conn_bytes | conn_storage per connection | ns per "
               "64-byte round trip |\n|---|---|---|---|---|---|---|\n");
    else
        printf("| connections | ns per SYN | ns per completing ACK | ns per accept | ns per bind "
               "check of a free port |\n"
               "|---|---|---|---|---|\n");
    if (i == argc) {
        run(1000);
        run(10000);
        run(50000);
        return 0;
    }
    for (; i < argc; i++) {
        char *end = NULL;
        unsigned long n = strtoul(argv[i], &end, 10);
        if (*end != '\0' || n == 0 || n > 1000000) {
            fprintf(
                stderr,
                "usage: %s [--exchange BYTES] [--echo ROUNDS] [--batch K] [--idle] [N...]  (each N "
                "from 1 to 1000000, BYTES from 1 to 1400, K from 1 to %d)\n",
                argv[0], MAX_BATCH);
            return 2;
        }
        run((uint32_t)n);
    }
    return 0;
}
