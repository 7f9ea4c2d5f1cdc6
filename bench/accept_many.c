/*
 * Many connections arriving at one listener before the application accepts any: N peers
 * each send a SYN, then each completes its handshake (so all N wait in the accept queue),
 * then the application accepts all N. Wall-clock nanoseconds per connection for each N, the
 * stack alone (no simulator; the packets are built before the clock starts). With O(1)
 * queues the cost per connection stays flat as N grows; with queues walked to their end it
 * grows with N. One markdown row per N, for docs/PERFORMANCE.md.
 *   build/bench/accept_many [N...]     (default 1000 10000 50000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/synack.h>

#include "wire/wire.h"

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

static void run(uint32_t n)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(0xc6120002u);
    cfg.max_conns = n + 16;
    cfg.syncookies = SYNACK_SYNCOOKIES_NEVER;
    struct synack_stack *s;
    struct synack_listener *l;
    if (synack_stack_new(&s, &cfg) ||
        synack_tcp_listen(s, &(struct synack_endpoint){.port = 80}, n, NULL, &l)) {
        fprintf(stderr, "accept_many: cannot set up a stack for %u connections\n", n);
        exit(1);
    }
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
    }
    double t_syn = wall() - t0;
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
    struct synack_tcp *c;
    while (synack_tcp_accept(l, &c) == 0)
        accepted++;
    double t_accept = wall() - t0;
    if (accepted != n) {
        fprintf(stderr, "accept_many: %u of %u connections accepted\n", accepted, n);
        exit(1);
    }
    printf("| %u | %.0f | %.0f | %.0f |\n", n, t_syn * 1e9 / n, t_ack * 1e9 / n,
           t_accept * 1e9 / n);
    free(syns);
    free(acks);
    free(lens);
    free(iss);
    synack_stack_free(s);
}

int main(int argc, char **argv)
{
    printf("| connections | ns per SYN | ns per completing ACK | ns per accept |\n"
           "|---|---|---|---|\n");
    if (argc == 1) {
        run(1000);
        run(10000);
        run(50000);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        unsigned long n = strtoul(argv[i], &end, 10);
        if (*end != '\0' || n == 0 || n > 1000000) {
            fprintf(stderr, "usage: %s [N...]  (each N from 1 to 1000000)\n", argv[0]);
            return 2;
        }
        run((uint32_t)n);
    }
    return 0;
}
