/*
 * The cost of a spoofed SYN to the stack alone (no simulator): a listener (backlog 128)
 * takes N SYNs from random sources spaced 1/RATE apart in virtual time, each answer drained
 * at once, and the wall-clock time per SYN and the stack's peak memory are printed for each
 * rate and cookie mode. The SYNs are built before the clock starts (N x 65 bytes of memory).
 * One markdown row per case, for docs/PERFORMANCE.md.
 *   build/bench/synflood [N]     (default 1000000 SYNs per case)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/synack.h>

#include "base/rand.h"
#include "wire/wire.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(uint64_t rate, enum synack_syncookies mode, uint64_t n)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(0xc6120002u);
    cfg.syncookies = mode;
    struct synack_stack *s;
    struct synack_listener *l;
    if (synack_stack_new(&s, &cfg) ||
        synack_tcp_listen(s, &(struct synack_endpoint){.port = 80}, 128, NULL, &l))
        exit(1);
    struct rand_pcg rng;
    rand_seed(&rng, 1, 2);
    /* The SYNs are built before the clock starts, as a link hands the stack packets that
     * arrived in memory: what is timed is the stack's work alone, not the attacker's (and
     * not reading back at once bytes the builder has just stored one at a time, which no
     * link does). */
    enum { SLOT = 64 };
    uint8_t *pkts = malloc(n * SLOT), out[2048];
    uint8_t *lens = malloc(n);
    if (!pkts || !lens) exit(1);
    for (uint64_t i = 0; i < n; i++) {
        struct wire_ip_repr ip = {.src = synack_addr_v4(0xc6130000u | (1 + rand_u32(&rng) % 65534)),
                                  .dst = cfg.addrs[0],
                                  .ttl = 64};
        struct wire_tcp_repr t = {.src_port = (uint16_t)(1024 + rand_u32(&rng) % 60000),
                                  .dst_port = 80,
                                  .seq = rand_u32(&rng),
                                  .flags = WIRE_TCP_SYN,
                                  .window = 64240,
                                  .has_mss = true,
                                  .mss = 1460};
        lens[i] = (uint8_t)wire_packet_emit(&ip, &t, pkts + i * SLOT, SLOT);
        if (lens[i] == 0) exit(1);
    }
    size_t peak = 0;
    struct synack_event ev;
    double t0 = wall();
    for (uint64_t i = 0; i < n; i++) {
        synack_time_t now = SYNACK_S(1) + i * 1000000000ull / rate;
        synack_stack_handle_timers(s, now);
        synack_stack_input(s, pkts + i * SLOT, lens[i], now);
        while (synack_stack_output(s, out, sizeof out, now) > 0) {
        }
        while (synack_stack_next_event(s, &ev) == 0) {
        }
        if ((i & 1023) == 0) {
            struct synack_stack_stats st;
            synack_stack_stats(s, &st);
            size_t bytes =
                st.conns * st.conn_bytes + st.conn_storage + st.time_wait * st.time_wait_bytes;
            if (bytes > peak) peak = bytes;
        }
    }
    double dt = wall() - t0;
    free(pkts);
    free(lens);
    struct synack_counters c;
    synack_stack_counters(s, &c);
    printf("| %llu | %s | %llu | %.0f | %.1f | %llu | %llu |\n", (unsigned long long)rate,
           synack_syncookies_name(mode), (unsigned long long)n, dt * 1e9 / (double)n,
           (double)peak / 1048576.0, (unsigned long long)c.syncookies_sent,
           (unsigned long long)c.drops[SYNACK_DROP_SYN_QUEUE_FULL]);
    synack_stack_free(s);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    if (argc > 1) {
        char *end = NULL;
        n = strtoull(argv[1], &end, 10);
        if (argc > 2 || argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' || n == 0) {
            fprintf(stderr,
                    "usage: %s [N]\n  N: spoofed SYNs per case, a positive integer "
                    "(default 1000000)\n",
                    argv[0]);
            return 2;
        }
    }
    static const uint64_t rates[] = {10000, 100000, 1000000, 10000000};
    printf("| spoofed SYN/s | syncookies | SYNs | ns per SYN | peak MiB | cookies sent | "
           "syn-queue-full drops |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        run(rates[i], SYNACK_SYNCOOKIES_OVERFLOW, n);
        run(rates[i], SYNACK_SYNCOOKIES_NEVER, n);
    }
    return 0;
}
